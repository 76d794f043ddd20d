//! The main job: protocol checks plus the statistical battery on one election, as one
//! value that the exporters, the ranking and the report read.
//!
//! Methods run concurrently (each is parallel inside too); each method's wall time is
//! kept for the `timings` block of `summary.json`.

use crate::checks::{self, Summary};
use crate::ingest::{Ingested, ReadReport};
use crate::stats::{self, TestResult, shape, shpilkin};
use std::time::Instant;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Candidate index of the leader; default: most votes nationally.
    pub leader: Option<usize>,
    /// Seed of every randomised procedure (bootstraps, Monte Carlo nulls).
    pub seed: u64,
    /// Bootstrap replicates of the anomalous-vote interval.
    pub bootstrap: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { leader: None, seed: 20_260_101, bootstrap: 100 }
    }
}

/// Everything `analyze` computed.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub read: ReadReport,
    pub stations: usize,
    pub leader: Option<String>,
    pub check: Summary,
    pub check_report: checks::Report,
    /// Every test × scope, nation first.
    pub results: Vec<TestResult>,
    /// (method, seconds).
    pub timings: Vec<(String, f64)>,
}

impl Analysis {
    /// The national result of `test`, if it was run.
    pub fn nation(&self, test: &str) -> Option<&TestResult> {
        self.results.iter().find(|r| r.test == test && r.scope == "nation")
    }
}

fn timed<T>(name: &str, f: impl FnOnce() -> T) -> (T, (String, f64)) {
    let t = Instant::now();
    let v = f();
    (v, (name.to_string(), t.elapsed().as_secs_f64()))
}

/// Runs the checks and the battery.
pub fn run(ing: &Ingested, opt: &Options) -> Analysis {
    let e = &ing.election;
    let leader = opt.leader.or_else(|| e.leader());
    let timings = std::sync::Mutex::new(Vec::new());
    let log = |t: (String, f64)| timings.lock().expect("no panics while holding it").push(t);
    let mut check_report = None;
    let (mut shape_r, mut shp_r) = (Vec::new(), Vec::new());
    rayon::scope(|s| {
        s.spawn(|_| {
            let (v, t) = timed("check", || checks::run(e));
            check_report = Some(v);
            log(t);
        });
        s.spawn(|_| {
            let (v, t) = timed("shape", || {
                shape::run(e, &shape::ShapeOptions { leader, seed: opt.seed, ..Default::default() })
            });
            shape_r = v;
            log(t);
        });
        s.spawn(|_| {
            let (v, t) = timed("shpilkin", || {
                shpilkin::run(e, &shpilkin::ShpilkinOptions { leader, bootstrap: opt.bootstrap, seed: opt.seed })
            });
            shp_r = v;
            log(t);
        });
    });
    let check_report = check_report.expect("check ran");
    let mut timings = timings.into_inner().expect("no panics while holding it");
    timings.sort_by(|a, b| a.0.cmp(&b.0));
    let mut results = Vec::new();
    results.extend(shape_r);
    results.extend(shp_r);
    // BH q-values among the per-region results of each test.
    let mut tests: Vec<String> = results.iter().filter(|r| r.scope != "nation").map(|r| r.test.clone()).collect();
    tests.sort();
    tests.dedup();
    for t in tests {
        let idx: Vec<usize> =
            (0..results.len()).filter(|&i| results[i].test == t && results[i].scope != "nation").collect();
        let mut sub: Vec<TestResult> = idx.iter().map(|&i| results[i].clone()).collect();
        stats::fill_q(&mut sub);
        for (k, &i) in idx.iter().enumerate() {
            results[i].q = sub[k].q;
        }
    }
    Analysis {
        read: ing.report.clone(),
        stations: e.len(),
        leader: leader.map(|j| e.candidates[j].clone()),
        check: check_report.summary(),
        check_report,
        results,
        timings,
    }
}
