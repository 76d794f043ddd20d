//! The recovery study's core, shared by `examples/recovery.rs` (the full grid, writes
//! docs/recovery.md) and `tests/estimates_recovery.rs` (a small grid, asserted): simulate
//! an election with known fraud, run the estimates the report prints, compare with the
//! truth.
#![allow(dead_code)]

use tallyscope::calibrate::shpilkin as baseline;
use tallyscope::simulate::{self, FraudKind, SimConfig, col};
use tallyscope::stats::{fingerprint, shpilkin};

/// One simulated election and what the estimates said about it.
#[derive(Debug, Clone)]
pub struct Run {
    pub seed: u64,
    /// Votes the fraud added to the leader: Σ (leader after − leader before).
    pub injected: f64,
    /// Headline: votes added beyond the clean baseline and its 95% interval.
    pub adjusted: f64,
    pub low: f64,
    pub high: f64,
    /// Votes added before the clean baseline; Shpilkin's raw anomalous votes and their
    /// bootstrap interval (what the report printed before issue 16).
    pub raw: f64,
    /// Shpilkin's L − r·O as published (switched votes counted 1 + r times).
    pub raw_anomalous: f64,
    pub raw_low: f64,
    pub raw_high: f64,
    /// Fingerprint fit (when asked) and the true fractions among the stations it fits.
    pub f_i: Option<f64>,
    pub f_e: Option<f64>,
    pub true_incremental: f64,
    pub true_extreme: f64,
}

/// Simulates `stations` stations with `spec` (None = clean) at `seed` and runs the estimates.
pub fn run_one(stations: usize, seed: u64, spec: Option<&str>, with_fingerprint: bool) -> Run {
    let frauds = spec.map(|s| vec![s.parse().expect("valid spec")]).unwrap_or_default();
    let cfg = SimConfig { stations, seed, ..SimConfig::default() };
    let clean = simulate::simulate(&cfg).expect("clean simulation");
    let sim = simulate::simulate(&SimConfig { frauds, ..cfg }).expect("simulation");
    let w = sim.width();
    // The clean draws do not depend on the fraud specs: the difference is the fraud's.
    let injected: f64 = (0..sim.len()).map(|k| sim.rows[k * w + col::FIXED] as f64 - clean.rows[k * w + col::FIXED] as f64).sum();
    let (mut inc, mut ext, mut fitted) = (0usize, 0usize, 0usize);
    for k in 0..sim.len() {
        if sim.row(k)[col::REGISTERED] < 100 {
            continue;
        }
        fitted += 1;
        match sim.truth[k].fraud {
            Some(FraudKind::Stuffing | FraudKind::Transfer) => inc += 1,
            Some(FraudKind::Extreme) => ext += 1,
            _ => {}
        }
    }
    let e = sim.election();
    let opt = shpilkin::ShpilkinOptions { bootstrap: 100, seed, ..Default::default() };
    let r = baseline::run(&e, &opt, baseline::DEFAULT_REPLICATES);
    let n = r.iter().find(|x| x.scope == "nation").expect("a national estimate");
    let (f_i, f_e) = if with_fingerprint {
        let fo = fingerprint::FitOptions { seed, ..Default::default() };
        match fingerprint::analyze(&e, &fingerprint::Selection::default(), &fo) {
            Ok(f) => (Some(f.fit.f_i), Some(f.fit.f_e)),
            Err(_) => (None, None),
        }
    } else {
        (None, None)
    };
    Run {
        seed,
        injected,
        adjusted: n.statistic,
        low: n.extra["ci_low"],
        high: n.extra["ci_high"],
        raw: n.extra["raw"],
        raw_anomalous: n.extra["raw_anomalous"],
        raw_low: n.extra["raw_ci_low"],
        raw_high: n.extra["raw_ci_high"],
        f_i,
        f_e,
        true_incremental: inc as f64 / fitted.max(1) as f64,
        true_extreme: ext as f64 / fitted.max(1) as f64,
    }
}

/// Bias and coverage of one scenario's runs.
#[derive(Debug, Clone)]
pub struct Summary {
    pub runs: usize,
    pub injected: f64,
    /// Mean of (estimate − injected), adjusted and raw.
    pub bias: f64,
    pub raw_bias: f64,
    /// Root-mean-square error of the adjusted estimate.
    pub rmse: f64,
    /// Share of runs whose 95% interval holds the injected votes.
    pub coverage: f64,
    pub raw_coverage: f64,
    /// Mean interval half-width.
    pub half_width: f64,
    /// Fingerprint: mean fitted and true fractions.
    pub f_i: Option<f64>,
    pub f_e: Option<f64>,
    pub true_incremental: f64,
    pub true_extreme: f64,
}

pub fn summarize(runs: &[Run]) -> Summary {
    let k = runs.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Run) -> f64| runs.iter().map(f).sum::<f64>() / k;
    let fp = |f: &dyn Fn(&Run) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = runs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    Summary {
        runs: runs.len(),
        injected: mean(&|r| r.injected),
        bias: mean(&|r| r.adjusted - r.injected),
        raw_bias: mean(&|r| r.raw_anomalous - r.injected),
        rmse: mean(&|r| (r.adjusted - r.injected).powi(2)).sqrt(),
        coverage: mean(&|r| (r.low <= r.injected && r.injected <= r.high) as u8 as f64),
        raw_coverage: mean(&|r| (r.raw_low <= r.injected && r.injected <= r.raw_high) as u8 as f64),
        half_width: mean(&|r| (r.high - r.low) / 2.0),
        f_i: fp(&|r| r.f_i),
        f_e: fp(&|r| r.f_e),
        true_incremental: mean(&|r| r.true_incremental),
        true_extreme: mean(&|r| r.true_extreme),
    }
}
