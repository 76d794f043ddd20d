//! Ranking against several references (commission, region, nation, size class) and
//! whole-commission falsifications: the scenarios of the issue "a real falsification,
//! with proof per station" (a third of the protocols falsified by whole commissions,
//! mostly in the capital, votes moved from the runner-up to the winner, turnout left
//! alone), measured against the plain winner's share.

use std::sync::Arc;
use tallyscope::analysis;
use tallyscope::rank::{self, roc_auc};
use tallyscope::simulate::{self, SimConfig};

fn run(specs: &[&str], stations: usize, seed: u64) -> (analysis::Analysis, simulate::Simulation) {
    let cfg = SimConfig { stations, seed, frauds: specs.iter().map(|s| s.parse().unwrap()).collect(), ..SimConfig::default() };
    let sim = simulate::simulate(&cfg).unwrap();
    let opt = analysis::Options { fingerprint: false, bootstrap: 0, digit_draws: 0, ..Default::default() };
    let a = analysis::run_election(Arc::new(sim.election()), Default::default(), &opt);
    (a, sim)
}

/// (AUC of the score, AUC of the plain winner's share of valid votes).
fn aucs(a: &analysis::Analysis, sim: &simulate::Simulation) -> (f64, f64) {
    let truth: Vec<bool> = sim.truth.iter().map(|t| t.fraud.is_some()).collect();
    let score: Vec<f64> = a.stations_ranked.iter().map(|x| x.score).collect();
    let share: Vec<f64> = a.stations_ranked.iter().map(|x| x.share.unwrap_or(0.0)).collect();
    (roc_auc(&score, &truth), roc_auc(&share, &truth))
}

/// Every kind of the simulator at a typical size, and the whole-commission scenarios.
const SCENARIOS: [&str; 12] = [
    "stuffing:0.05:0.3",
    "transfer:0.05:0.2",
    "integer:0.02:5",
    "extreme:0.01:0.95",
    "invented:0.02:0.8",
    "copy:0.01",
    "arithmetic:0.01:0.05",
    "transfer-commissions:0.33:0.5:city",
    "transfer-commissions:0.4:0.3",
    "transfer-commissions:0.5:0.4:city",
    "stuffing-commissions:0.33:0.3:city",
    "stuffing-commissions:0.4:0.2",
];

/// The table of the closing note: `TS_TABLE=1 cargo test --release --test rank_references table -- --nocapture`.
#[test]
fn table() {
    if std::env::var("TS_TABLE").is_err() {
        return;
    }
    let n: usize = std::env::var("TS_N").ok().and_then(|x| x.parse().ok()).unwrap_or(30_000);
    for spec in SCENARIOS {
        let mut line = format!("{spec:<38}");
        for seed in 1..=3 {
            let (a, sim) = run(&[spec], n, seed);
            let (s, w) = aucs(&a, &sim);
            line += &format!("  seed {seed}: score {s:.3} share {w:.3}");
        }
        eprintln!("{line}");
    }
    let mut line = format!("{:<38}", "clean: flagged share");
    for seed in 1..=3 {
        let (a, _) = run(&[], n, seed);
        let f = a.stations_ranked.iter().filter(|x| x.flagged).count() as f64 / a.stations_ranked.len() as f64;
        line += &format!("  seed {seed}: {:.4}%", 100.0 * f);
    }
    eprintln!("{line}");
    let _ = rank::order;
}
