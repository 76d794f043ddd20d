//! The main job: protocol checks plus the statistical battery on one election, as one
//! value that the exporters, the ranking and the report read.
//!
//! Methods run concurrently (each is parallel inside too); each method's wall time is
//! kept for the `timings` block of `summary.json`.

pub mod reconcile;

use crate::checks::{self, Summary};
use crate::ingest::{Ingested, ReadReport};
use crate::rank::{self, StationScore, units::{self, UnitScore, UnitTest}};
use crate::stats::{self, TestResult, digits, fingerprint, integer, mixture, rozenas, shape, shpilkin};
use crate::model::Election;
use std::sync::Arc;
use std::time::Instant;

/// `Options::calibration_reps` for "as many replicates as the default budget allows".
pub const AUTO_REPS: usize = usize::MAX;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Candidate index of the leader; default: most votes nationally.
    pub leader: Option<usize>,
    /// Seed of every randomised procedure (bootstraps, Monte Carlo nulls).
    pub seed: u64,
    /// Bootstrap replicates of the anomalous-vote interval.
    pub bootstrap: usize,
    /// Bootstrap replicates of the fingerprint fit's interval (0: no interval; each
    /// replicate costs about a fit).
    pub fingerprint_bootstrap: usize,
    /// Fit the Klimek et al. fingerprint model (about a second on 100,000 stations).
    pub fingerprint: bool,
    /// Fit Mebane's finite mixture ([`mixture`]): per-station fraud probabilities for the
    /// ranking and stations.csv.
    pub mixture: bool,
    /// Bootstrap replicates of the mixture's intervals (each costs about a fit).
    pub mixture_bootstrap: usize,
    /// Replicates of the resampled 2BL null (0: classical Benford p only, descriptive).
    pub digit_draws: usize,
    /// Monte Carlo draws cross-checking the integer test's exact null (0: none).
    pub mc: usize,
    /// Rozenas' coarse-share test (its `leader` and `seed` are taken from these options).
    pub coarse: rozenas::RozenasOptions,
    /// Run the opt-in penultimate-digit test (valid for counts ≥ 100 only).
    pub penultimate: bool,
    /// Score at which a station is flagged (default [`rank::FLAG_THRESHOLD`]).
    pub flag_threshold: Option<f64>,
    /// Clean replicates of the file for the type-I rate beside every p-value
    /// ([`crate::calibrate::inline`]); 0 skips the calibration, [`AUTO_REPS`] takes
    /// [`crate::calibrate::inline::auto_reps`] of the file (the command line's default).
    pub calibration_reps: usize,
    /// Keep stations abroad in the statistical tests (set aside by default), as some
    /// published tables do (Kobak et al.'s integer-excess figures include them).
    pub include_abroad: bool,
    /// Clean replicates of the baselines of the estimates without a p-value
    /// ([`crate::calibrate::baselines`]; 0: none).
    pub baseline_reps: usize,
    /// Of them, how many the Klimek fingerprint model is refitted on (0: no fingerprint
    /// baseline).
    pub fingerprint_baseline_reps: usize,
    /// Of them, how many the finite mixture is refitted on (0: no mixture baseline).
    pub mixture_baseline_reps: usize,
    /// The exact digit null's model of a station's count (the calibration replicates it).
    pub digit_null: digits::DigitNull,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            leader: None,
            seed: 20_260_101,
            bootstrap: 100,
            fingerprint_bootstrap: 0,
            fingerprint: true,
            // off by default while it costs seconds on a national file (cli/analyze.rs)
            mixture: false,
            mixture_bootstrap: 0,
            digit_draws: 99,
            mc: 0,
            coarse: Default::default(),
            penultimate: false,
            flag_threshold: None,
            calibration_reps: 0,
            include_abroad: false,
            baseline_reps: crate::calibrate::baselines::REPLICATES,
            fingerprint_baseline_reps: crate::calibrate::baselines::FINGERPRINT_REPLICATES,
            mixture_baseline_reps: crate::calibrate::baselines::MIXTURE_REPLICATES,
            digit_null: Default::default(),
        }
    }
}

/// Everything `analyze` computed.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The election analysed (shared, not copied, with whoever else holds it).
    pub election: Arc<Election>,
    pub read: ReadReport,
    pub stations: usize,
    pub leader: Option<String>,
    pub check: Summary,
    pub check_report: checks::Report,
    /// The integer-percentage test in full (per-station detail feeds the ranking);
    /// `None` when the file lacks what it needs (the reason is in `skipped`).
    pub integer: Option<integer::IntegerReport>,
    /// The fingerprint fit in full (histograms for the charts).
    pub fingerprint: Option<fingerprint::FingerprintResult>,
    /// The finite-mixture fit with its per-station posteriors.
    pub mixture: Option<mixture::MixtureResult>,
    /// Rozenas' coarse-share test with its per-fraction tables.
    pub rozenas: Option<rozenas::RozenasReport>,
    /// The inline calibration (type-I rates on clean replicates of this file), if run.
    pub calibration: Option<crate::calibrate::inline::InlineCalibration>,
    /// Why it did not run, when the default budget skipped it (`None` otherwise).
    pub calibration_skipped: Option<String>,
    /// Clean-replicate baselines of the estimates without a p-value, if run (already
    /// attached to their rows of `results`).
    pub baselines: Option<crate::calibrate::baselines::Baselines>,
    /// Station scores, in station order.
    pub stations_ranked: Vec<StationScore>,
    /// Station indices by score, highest first ([`rank::order`] of `stations_ranked`),
    /// sorted once for every writer.
    pub station_order: Vec<usize>,
    /// The score at which stations were flagged.
    pub flag_threshold: f64,
    /// Scores of the units of the lowest level above stations (commissions) and of the
    /// top level (regions); empty without hierarchy.
    pub commissions: Vec<UnitScore>,
    pub regions: Vec<UnitScore>,
    /// Methods not run, with the reason (e.g. no registered-voter column).
    pub skipped: Vec<(String, String)>,
    /// Every test × scope, nation first.
    pub results: Vec<TestResult>,
    /// (method, seconds).
    pub timings: Vec<(String, f64)>,
    /// The seed every randomised procedure used (`Options::seed`), for the report.
    pub seed: u64,
    /// Official figures against observers' records (`analyze --observed`), already
    /// folded into the ranking by [`rank::observed::apply`].
    pub observed: Option<Arc<crate::compare::Comparison>>,
}

impl Analysis {
    pub fn election(&self) -> &Election {
        &self.election
    }
    /// The finite mixture's posterior at station `i` (`None`: not fitted there).
    pub fn mixture_at(&self, i: usize) -> Option<mixture::StationPosterior> {
        self.mixture.as_ref().and_then(|m| m.stations.get(i).copied().flatten())
    }
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

/// Runs the checks and the battery on a file that was read.
pub fn run(ing: Ingested, opt: &Options) -> Analysis {
    run_election(Arc::new(ing.election), ing.report, opt)
}

/// As [`run`], calling `progress(method)` as each method finishes (for progress bars).
pub fn run_with_progress(ing: Ingested, opt: &Options, progress: &(dyn Fn(&str) + Sync)) -> Analysis {
    run_election_with(Arc::new(ing.election), ing.report, opt, progress)
}

/// Runs the checks and the battery on an election in memory (simulations, libraries).
pub fn run_election(election: Arc<Election>, read: ReadReport, opt: &Options) -> Analysis {
    run_election_with(election, read, opt, &|_| {})
}

/// As [`run_election`], calling `progress(method)` as each method finishes.
pub fn run_election_with(election: Arc<Election>, read: ReadReport, opt: &Options, progress: &(dyn Fn(&str) + Sync)) -> Analysis {
    let e: &Election = &election;
    let leader = opt.leader.or_else(|| e.leader());
    let timings = std::sync::Mutex::new(Vec::new());
    let log = |t: (String, f64)| {
        progress(&t.0);
        timings.lock().expect("no panics while holding it").push(t)
    };
    let mut check_report = None;
    let (mut shape_r, mut shp_r) = (Vec::new(), Vec::new());
    let mut int_r = None;
    let mut int5_r = None;
    let mut fp_r = None;
    let mut mix_r = None;
    let mut dig_r = None;
    let mut roz_r = None;
    let mut cal_r = None;
    let mut base_r = None;
    let (reps, calibration_skipped) = match opt.calibration_reps {
        AUTO_REPS => match crate::calibrate::inline::auto_reps(e) {
            Ok(r) => (r, None),
            Err(why) => (0, Some(why)),
        },
        r => (r, None),
    };
    let t_battery = Instant::now();
    rayon::scope(|s| {
        if reps > 0 {
            s.spawn(|_| {
                let (v, t) = timed("calibration", || {
                    let o = crate::calibrate::inline::InlineOptions { reps, seed: opt.seed, digit_null: opt.digit_null, ..Default::default() };
                    crate::calibrate::inline::run(e, leader, &o)
                });
                cal_r = Some(v);
                log(t);
            });
        }
        if opt.baseline_reps > 0 {
            s.spawn(|_| {
                let (v, t) = timed("baselines", || {
                    // The fingerprint is refitted with the file's own fit options; not
                    // when the fit keeps stations abroad (the replicates never do).
                    let fit = (opt.fingerprint && opt.fingerprint_baseline_reps > 0 && !opt.include_abroad)
                        .then(|| fingerprint::FitOptions { bootstrap: 0, seed: opt.seed, ..Default::default() });
                    crate::calibrate::baselines::run(
                        e,
                        &crate::calibrate::baselines::Options {
                            reps: opt.baseline_reps,
                            fingerprint_reps: opt.fingerprint_baseline_reps,
                            seed: opt.seed,
                            fingerprint: fit,
                            // as the fingerprint: not when the fit keeps stations abroad
                            mixture_reps: opt.mixture_baseline_reps,
                            mixture: (opt.mixture && opt.mixture_baseline_reps > 0 && !opt.include_abroad)
                                .then(|| mixture::MixtureOptions { seed: opt.seed, ..Default::default() }),
                            leader,
                        },
                    )
                });
                base_r = Some(v);
                log(t);
            });
        }
        s.spawn(|_| {
            let (v, t) = timed("rozenas", || {
                rozenas::analyze(e, &rozenas::RozenasOptions { leader, seed: opt.seed, include_abroad: opt.include_abroad, ..opt.coarse.clone() })
            });
            roz_r = Some(v);
            log(t);
        });
        s.spawn(|_| {
            let (v, t) = timed("digits", || {
                let mut o = digits::DigitOptions { candidate: leader, seed: opt.seed, bootstrap: 200, commissions: true, include_abroad: opt.include_abroad, null: opt.digit_null, ..Default::default() };
                o.resample.draws = opt.digit_draws;
                o.resample.seed = opt.seed;
                o.penultimate = opt.penultimate;
                digits::analyze(e, &o)
            });
            dig_r = Some(v);
            log(t);
        });
        if opt.fingerprint {
            s.spawn(|_| {
                let (v, t) = timed("fingerprint", || {
                    let fo = fingerprint::FitOptions { bootstrap: opt.fingerprint_bootstrap, seed: opt.seed, ..Default::default() };
                    fingerprint::analyze(e, &fingerprint::Selection { leader, include_abroad: opt.include_abroad, ..Default::default() }, &fo)
                });
                fp_r = Some(v);
                log(t);
            });
        }
        if opt.mixture {
            s.spawn(|_| {
                let (v, t) = timed("mixture", || {
                    let mo = mixture::MixtureOptions { bootstrap: opt.mixture_bootstrap, seed: opt.seed, ..Default::default() };
                    mixture::analyze(e, &fingerprint::Selection { leader, include_abroad: opt.include_abroad, ..Default::default() }, &mo)
                });
                mix_r = Some(v);
                log(t);
            });
        }
        s.spawn(|_| {
            let (v, t) = timed("integer", || {
                integer::analyze(e, &integer::IntegerOptions { leader, mc: (opt.mc > 0).then_some((opt.mc, opt.seed)), include_abroad: opt.include_abroad, ..Default::default() })
            });
            // The ranking's landings on multiples of 5%, while the other methods run.
            if v.is_ok() {
                int5_r = integer5(e, leader);
            }
            int_r = Some(v);
            log(t);
        });
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
                // Measured against clean replicates shaped like the file (issue 16).
                crate::calibrate::shpilkin::run(
                    e,
                    &shpilkin::ShpilkinOptions { leader, bootstrap: opt.bootstrap, seed: opt.seed },
                    crate::calibrate::shpilkin::DEFAULT_REPLICATES,
                )
            });
            shp_r = v;
            log(t);
        });
    });
    let battery_wall = t_battery.elapsed().as_secs_f64();
    let t_collect = Instant::now();
    let check_report = check_report.expect("check ran");
    let mut timings = timings.into_inner().expect("no panics while holding it");
    timings.sort_by(|a, b| a.0.cmp(&b.0));
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    let integer = match int_r.expect("integer ran") {
        Ok(mut r) => {
            // The per-commission rows move into `results` (Analysis::integer keeps the rest).
            results.extend(r.take_results());
            Some(r)
        }
        Err(err) => {
            skipped.push(("integer".to_string(), err.to_string()));
            None
        }
    };
    match dig_r.expect("digits ran") {
        Ok(d) => results.extend(d.into_results()),
        Err(err) => skipped.push(("digits".to_string(), err.to_string())),
    }
    let rozenas = match roz_r.expect("rozenas ran") {
        Ok(r) => {
            results.extend(r.results());
            Some(r)
        }
        Err(err) => {
            skipped.push(("rozenas".to_string(), err.to_string()));
            None
        }
    };
    let fingerprint = match fp_r {
        Some(Ok(f)) => {
            results.extend(f.test_results("nation"));
            Some(f)
        }
        Some(Err(err)) => {
            skipped.push(("fingerprint".to_string(), err.to_string()));
            None
        }
        None => None,
    };
    let mixture = match mix_r {
        Some(Ok(m)) => {
            results.extend(m.test_results());
            Some(m)
        }
        Some(Err(err)) => {
            skipped.push(("mixture".to_string(), err.to_string()));
            None
        }
        None => None,
    };
    results.extend(shape_r);
    results.extend(shp_r);
    // What clean replicates of the file give for each estimate without a p-value.
    let baselines = base_r.flatten();
    if let Some(b) = &baselines {
        b.apply(&mut results);
        timings.push(("baselines_fingerprint_fits".into(), b.seconds_fingerprint));
        timings.push(("baselines_mixture_fits".into(), b.seconds_mixture));
    }
    // The type-I rate on clean replicates of this file beside each p-value; a test that
    // is not applicable here gets a note and gives no evidence to the ranking.
    let calibration = cal_r;
    if let Some(c) = &calibration {
        c.apply(&mut results);
    }
    // BH q-values within each family: one test at one level (the regions, or the
    // commissions), never mixing levels.
    let mut families: std::collections::BTreeMap<(&str, &str), Vec<usize>> = Default::default();
    for (i, r) in results.iter().enumerate().filter(|(_, r)| r.scope != "nation") {
        let level = r.scope.split(':').next().unwrap_or("");
        families.entry((r.test.as_str(), level)).or_default().push(i);
    }
    use rayon::prelude::*;
    let families: Vec<&Vec<usize>> = families.values().collect();
    let q: Vec<(usize, Option<f64>)> = families
        .par_iter()
        .flat_map_iter(|idx| {
            let p: Vec<Option<f64>> = idx.iter().map(|&i| results[i].p).collect();
            idx.iter().copied().zip(stats::fdr::bh_opt(&p)).collect::<Vec<_>>()
        })
        .collect();
    for (i, q) in q {
        results[i].q = q;
    }
    phase_memory("battery");
    timings.push(("battery_wall".into(), battery_wall));
    timings.push(("collect".into(), t_collect.elapsed().as_secs_f64()));
    // Ranking: station evidence, then units.
    let t = Instant::now();
    let Ranked { stations: stations_ranked, commissions, regions } =
        rank_stage(e, leader, &check_report, integer.as_ref(), int5_r.as_ref(), mixture.as_ref(), &results, calibration.as_ref(), opt.flag_threshold);
    let station_order = rank::order(&stations_ranked);
    timings.push(("rank".into(), t.elapsed().as_secs_f64()));
    phase_memory("rank");
    progress("rank");
    Analysis {
        election: election.clone(),
        stations_ranked,
        station_order,
        flag_threshold: opt.flag_threshold.unwrap_or(rank::FLAG_THRESHOLD),
        commissions,
        regions,
        read,
        stations: e.len(),
        leader: leader.map(|j| e.candidates[j].clone()),
        check: check_report.summary(),
        check_report,
        integer,
        fingerprint,
        mixture,
        rozenas,
        calibration,
        calibration_skipped,
        baselines,
        skipped,
        results,
        timings,
        seed: opt.seed,
        observed: None,
    }
}

/// With `TALLYSCOPE_PHASES` set (profiling), prints the resident and peak memory after a
/// phase (Linux `/proc/self/status`; nothing elsewhere).
pub fn phase_memory(after: &str) {
    if std::env::var_os("TALLYSCOPE_PHASES").is_none() {
        return;
    }
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else { return };
    let kb = |key: &str| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok());
    if let (Some(rss), Some(hwm)) = (kb("VmRSS:"), kb("VmHWM:")) {
        eprintln!("memory after {after}: resident {:.2} GiB, peak {:.2} GiB", rss / 1048576.0, hwm / 1048576.0);
    }
}

/// The integer test at period 5 (landings on multiples of 5%), nation only, for the
/// ranking ([`rank_stage`]'s `integer5`).
pub fn integer5(e: &Election, leader: Option<usize>) -> Option<integer::IntegerReport> {
    integer::analyze(e, &integer::IntegerOptions { leader, period: 5, regions: false, commissions: false, weighted: false, ..Default::default() }).ok()
}

/// The ranked lists (file order; sort with [`rank::order`] and [`units::sorted`]).
pub struct Ranked {
    pub stations: Vec<StationScore>,
    pub commissions: Vec<UnitScore>,
    pub regions: Vec<UnitScore>,
}

/// The ranking stage of [`run_election`]: station scores from the checks and the integer
/// test's per-station landings, then commission and region scores from them and from the
/// per-unit results of the battery. Tests the inline calibration found not applicable at
/// a level give no evidence there. Public for `benches/rank.rs`.
pub fn rank_stage(
    e: &Election,
    leader: Option<usize>,
    check_report: &checks::Report,
    integer: Option<&integer::IntegerReport>,
    // Its period-5 run ([`integer5`]), for landings on multiples of 5%.
    integer5: Option<&integer::IntegerReport>,
    // The finite mixture's per-station posteriors ([`rank::Kind::Mixture`]).
    mixture: Option<&mixture::MixtureResult>,
    results: &[TestResult],
    calibration: Option<&crate::calibrate::inline::InlineCalibration>,
    threshold: Option<f64>,
) -> Ranked {
    // Integer hits for the ranking: a hit on a multiple of 5% is weighed by the
    // probability of landing on a multiple of 5, a hit elsewhere by that of any integer.
    let not_applicable = |test: &str, level: &str| calibration.is_some_and(|c| c.not_applicable(test, level));
    let integer_usable = !not_applicable("integer.either", "nation");
    let hits = integer.filter(|_| integer_usable).map(|r| {
        let mut h = rank::IntegerHits { turnout: vec![None; e.len()], share: vec![None; e.len()] };
        for s in &r.station {
            h.turnout[s.index] = Some((s.hit_turnout, s.p_turnout));
            h.share[s.index] = Some((s.hit_leader, s.p_leader));
        }
        for s in integer5.iter().flat_map(|r| &r.station) {
            if s.hit_turnout {
                h.turnout[s.index] = Some((true, s.p_turnout));
            }
            if s.hit_leader {
                h.share[s.index] = Some((true, s.p_leader));
            }
        }
        h
    });
    let mixture = mixture.map(|m| m.stations.clone());
    let stations_ranked = rank::stations(e, &check_report, &rank::Options { leader, integer: hits, threshold, mixture });
    let unit_tests = |level: usize| -> Vec<UnitTest> {
        // Per-unit results of other tests, matched to units by their scope label.
        let l = &e.levels[level];
        let prefix = if level == 0 { "region:" } else { "commission:" };
        let names = e.scope_labels(level);
        let mut out = Vec::new();
        for (test, name) in [
            ("integer.either", "integer-percentage excess"),
            ("digits.last.chi2.pooled", "last-digit chi-square (pooled)"),
            ("digits.pct05.turnout", "turnout percentages ending in 0 or 5"),
        ] {
            if not_applicable(test, if level == 0 { "region" } else { "commission" }) {
                continue;
            }
            let mut ut = UnitTest { name: name.into(), p: vec![None; l.n_units()], q: vec![None; l.n_units()], detail: vec![String::new(); l.n_units()] };
            let index: std::collections::HashMap<&str, usize> =
                names.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
            let mut any = false;
            for r in results.iter().filter(|r| r.test == test && r.scope.starts_with(prefix)) {
                if let Some(&u) = index.get(&r.scope[prefix.len()..]) {
                    ut.p[u] = r.p;
                    ut.q[u] = r.q;
                    ut.detail[u] = match r.effect {
                        Some(x) if test.starts_with("integer") => format!("{x:+.1} stations"),
                        _ => format!("statistic {:.3}", r.statistic),
                    };
                    any = true;
                }
            }
            if any {
                out.push(ut);
            }
        }
        out
    };
    // The share of stations flagged on their own evidence (`flagged_alone`) on clean
    // simulated elections at rank::FLAG_THRESHOLD: measured 0.003–0.010% (3 × 30,000
    // stations, tests/rank_references.rs `table`); 0.01% keeps it conservative.
    let base = 0.0001;
    let (commissions, regions) = rayon::join(
        || match e.levels.len() {
            0 => Vec::new(),
            n => units::units(e, n - 1, &stations_ranked, base, &unit_tests(n - 1)),
        },
        || if e.levels.len() >= 2 { units::units(e, 0, &stations_ranked, base, &unit_tests(0)) } else { Vec::new() },
    );
    Ranked { stations: stations_ranked, commissions, regions }
}
