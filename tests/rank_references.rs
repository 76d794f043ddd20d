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
const SCENARIOS: [&str; 16] = [
    "stuffing:0.05:0.3",
    "transfer:0.05:0.2",
    "integer:0.02:5",
    "extreme:0.01:0.95",
    "invented:0.02:0.8",
    "copy:0.01",
    "arithmetic:0.01:0.05",
    "transfer-commissions:0.3:0.5:city",
    "transfer-commissions:0.4:0.5:city",
    "transfer-commissions:0.5:0.5:city",
    "transfer-commissions:0.4:0.3",
    "stuffing-commissions:0.3:0.3:city",
    "stuffing-commissions:0.4:0.3:city",
    "stuffing-commissions:0.5:0.3:city",
    "stuffing-commissions:0.4:0.2",
    "transfer-commissions:0.33:0.5:city",
];

/// The score of every station, commission and region is the sum of the points of its
/// evidence (stations: listed pieces plus the "minor evidence" sum), and the points
/// shown in the reasons add up to the score to their rounding.
#[test]
fn score_is_the_sum_of_its_reasons() {
    let demo = SimConfig::demo(20_000, 3);
    let sim = simulate::simulate(&demo).unwrap();
    let opt = analysis::Options { fingerprint: false, bootstrap: 0, digit_draws: 0, ..Default::default() };
    let a = analysis::run_election(Arc::new(sim.election()), Default::default(), &opt);
    let shown = |text: &str| -> (f64, usize) {
        // Points are the bracketed numbers at the end of each reason: "... [2.3]".
        let mut sum = 0.0;
        let mut k = 0;
        for part in text.split("; ") {
            if let Some(x) = part.rsplit_once('[').and_then(|(_, r)| r.strip_suffix(']')).and_then(|x| x.parse::<f64>().ok()) {
                sum += x;
                k += 1;
            }
        }
        (sum, k)
    };
    for s in &a.stations_ranked {
        let sum = s.minor_points + s.evidence.iter().map(|e| e.points).sum::<f64>();
        assert!((s.score - sum).abs() < 1e-9, "station {}: score {} vs {sum}", s.station, s.score);
        let (shown, k) = shown(&s.reasons());
        assert!((s.score - shown).abs() <= 0.05 * k as f64 + 0.05 + 1e-9, "station {}: score {} shown {shown}: {}", s.station, s.score, s.reasons());
        // "; " separates reasons: no reason's own text contains it (one part per piece).
        let parts = if s.reasons().is_empty() { 0 } else { s.reasons().split("; ").count() };
        assert_eq!(parts, s.evidence.len() + usize::from(s.minor_points >= 0.05), "station {}: {}", s.station, s.reasons());
        let inherited: f64 = s.evidence.iter().filter(|e| matches!(e.kind, rank::Kind::Commission | rank::Kind::Region)).map(|e| e.points).sum();
        assert!(inherited <= s.inherited_points + 1e-9);
    }
    for u in a.commissions.iter().chain(&a.regions) {
        let sum: f64 = u.evidence.iter().map(|e| e.points).sum();
        assert!((u.score - sum).abs() < 1e-9, "{:?}: score {} vs {sum}", u.path, u.score);
        let (shown, k) = shown(&u.reasons());
        assert!((u.score - shown).abs() <= 0.05 * k as f64 + 0.05 + 1e-9, "{:?}: score {} shown {shown}: {}", u.path, u.score, u.reasons());
    }
}

/// Clean simulated elections: at most 0.5% of stations flagged (measured 0.05–0.2%
/// before the peer looks counted once and inheritance went through q-values; 0.000% at
/// seeds 1–3 of `table` since).
#[test]
fn clean_flagged_share_at_most_half_a_percent() {
    for seed in [21u64, 22, 23] {
        let (a, _) = run(&[], 30_000, seed);
        let f = a.stations_ranked.iter().filter(|x| x.flagged).count() as f64 / a.stations_ranked.len() as f64;
        eprintln!("clean seed {seed}: {:.3}% flagged", 100.0 * f);
        assert!(f <= 0.005, "seed {seed}: {f}");
    }
}

/// The station-level kinds: the score ranks the falsified stations at least as well as
/// the plain winner's share (fixed seeds, 30,000 stations). Single-station transfers were
/// below it (transfer:0.05:0.2 seeds 1–3: 0.703/0.676/0.674 against the share's
/// 0.692/0.692/0.704: a commission's chance displacement passed points to all its
/// stations, and a clean station's chance turnout added to every share) until the peer
/// looks counted once and stations inherited a commission's displacement through its
/// q-value (now 0.769/0.739/0.725). Invented protocols change digits, not levels: both
/// AUCs are at chance (±0.03).
#[test]
fn station_kinds_not_below_the_winners_share() {
    for spec in &SCENARIOS[..7] {
        for seed in [1u64, 2] {
            let (a, sim) = run(&[spec], 30_000, seed);
            let (s, w) = aucs(&a, &sim);
            eprintln!("{spec} seed {seed}: score AUC {s:.3}, winner's share {w:.3}");
            // invented protocols change digits, not levels: both are at chance (±0.03).
            let tol = if spec.starts_with("invented") { 0.03 } else { 0.0 };
            assert!(s + tol >= w, "{spec} seed {seed}: score {s} below the winner's share {w}");
        }
    }
}

/// The whole-commission scenarios of the issue: votes moved from the runner-up to the
/// winner (turnout unchanged) or ballots stuffed, in whole commissions, the capital's
/// first, at 0.3, 0.4 and 0.5 of the stations.
const WHOLE: [&str; 6] = [
    "transfer-commissions:0.3:0.5:city",
    "transfer-commissions:0.4:0.5:city",
    "transfer-commissions:0.5:0.5:city",
    "stuffing-commissions:0.3:0.3:city",
    "stuffing-commissions:0.4:0.3:city",
    "stuffing-commissions:0.5:0.3:city",
];

/// Whole-commission falsification like the real case, three seeds each. Score AUC
/// at fe79043 → 5c2f72a (clean-side quartile) → 078e0bd (two-cluster clean reference, the
/// region's clean centre against the other regions', the transfer look ungated) → now
/// (peer looks counted once, inheritance through the commission's q-value, the
/// turnout–share relation against the nation's commissions), and the winner's share:
///
/// | scenario | seed 1 | seed 2 | seed 3 |
/// | --- | --- | --- | --- |
/// | transfer 0.3 | 0.769 → 0.811 → 0.869 → 0.863 (0.703) | 0.842 → 0.825 → 0.910 → 0.908 (0.796) | 0.838 → 0.835 → 0.919 → 0.917 (0.777) |
/// | transfer 0.4 | 0.760 → 0.802 → 0.881 → 0.877 (0.706) | 0.697 → 0.803 → 0.911 → 0.910 (0.789) | 0.794 → 0.827 → 0.924 → 0.923 (0.783) |
/// | transfer 0.5 | 0.608 → 0.749 → 0.881 → 0.878 (0.712) | 0.568 → 0.764 → 0.901 → 0.903 (0.771) | 0.603 → 0.740 → 0.930 → 0.929 (0.774) |
/// | stuffing 0.3 | 0.738 → 0.807 → 0.827 → 0.872 (0.674) | 0.812 → 0.839 → 0.858 → 0.859 (0.771) | 0.809 → 0.845 → 0.877 → 0.933 (0.747) |
/// | stuffing 0.4 | 0.690 → 0.783 → 0.831 → 0.864 (0.679) | 0.749 → 0.822 → 0.874 → 0.883 (0.761) | 0.755 → 0.849 → 0.899 → 0.928 (0.744) |
/// | stuffing 0.5 | 0.632 → 0.772 → 0.850 → 0.870 (0.689) | 0.625 → 0.788 → 0.889 → 0.897 (0.745) | 0.634 → 0.800 → 0.890 → 0.921 (0.739) |
///
/// Outside the list (not asserted), 078e0bd → now (share): transfer-commissions:0.4:0.3
/// 0.635 → 0.637 (0.624), 0.665 → 0.661 (0.649), 0.694 → 0.695 (0.671);
/// stuffing-commissions:0.4:0.2 0.648 → 0.678 (0.641), 0.673 → 0.708 (0.661),
/// 0.719 → 0.744 (0.668); transfer-commissions:0.33:0.5:city 0.877/0.903/0.921.
///
/// The capital (a fifth of the falsified stations at 0.3), falsified throughout, is
/// ordinary against its own region, and against the other regions it shows only as far
/// as its honest level lets it. What found it: stuffed at one rate, its stations' share
/// falls as their turnout rises (the lowest turnout got the most ballots), a relation
/// that needs no honest reference level ([`tallyscope::rank::displacement::relation_z`]).
/// A transferred capital has no such relation; its level against the other regions is
/// what is left. A ceiling, from the simulator's truth (tests outside the suite): each
/// commission's mean measured from the median of its region's truly clean commissions,
/// in the right signature, ranks the stations at 0.99 (transfer) and 0.97–0.985
/// (stuffing). Asserted: at least 0.82 everywhere and 0.05 above the winner's share.
#[test]
fn whole_commission_scenarios_found() {
    for spec in WHOLE {
        for seed in 1..=3u64 {
            let (a, sim) = run(&[spec], 30_000, seed);
            let (s, w) = aucs(&a, &sim);
            eprintln!("{spec} seed {seed}: score AUC {s:.3}, winner's share {w:.3}");
            assert!(s >= 0.82 && s >= w + 0.05, "{spec} seed {seed}: score {s}, share {w}");
        }
    }
}

/// The acceptance target: AUC ≥ 0.85 on every whole-commission scenario and never
/// below the winner's share on any scenario of the simulator's kinds (invented protocols:
/// within 0.03, both at chance). Met at 6323166: lowest whole-commission AUC 0.859
/// (stuffing-commissions 0.3 seed 2), lowest margin over the share 0.021
/// (transfer:0.05:0.2 seed 3, 0.725 against 0.704). It was not met before
/// (stuffing-commissions 0.3 and 0.4 seed 1: 0.827, 0.831; transfer:0.05:0.2 seeds 2
/// and 3: 0.676, 0.674 against 0.692, 0.704).
#[test]
fn whole_commission_target() {
    for spec in WHOLE.iter().chain(&SCENARIOS[..7]) {
        for seed in 1..=3u64 {
            let (a, sim) = run(&[spec], 30_000, seed);
            let (s, w) = aucs(&a, &sim);
            eprintln!("{spec} seed {seed}: score AUC {s:.3}, winner's share {w:.3}");
            let target = if spec.contains("-commissions") { 0.85 } else { 0.0 };
            let tol = if spec.starts_with("invented") { 0.03 } else { 0.0 };
            assert!(s >= target && s + tol >= w, "{spec} seed {seed}: score {s}, share {w}");
        }
    }
}

/// The table of the closing note: `TS_TABLE=1 cargo test --release --test rank_references table -- --nocapture`.
#[test]
fn table() {
    if std::env::var("TS_TABLE").is_err() {
        return;
    }
    let n: usize = std::env::var("TS_N").ok().and_then(|x| x.parse().ok()).unwrap_or(30_000);
    let only = std::env::var("TS_ONLY").unwrap_or_default();
    for spec in SCENARIOS.iter().filter(|s| only.is_empty() || only.split(',').any(|o| s.starts_with(o))) {
        let mut line = format!("{spec:<38}");
        for seed in 1..=3 {
            let (a, sim) = run(&[spec], n, seed);
            let (s, w) = aucs(&a, &sim);
            line += &format!("  seed {seed}: score {s:.3} share {w:.3}");
        }
        eprintln!("{line}");
    }
    let mut line = format!("{:<38}", "clean: flagged share (alone)");
    let mut all = Vec::new();
    let mut own = Vec::new();
    for seed in 1..=3 {
        let (a, _) = run(&[], n, seed);
        let f = a.stations_ranked.iter().filter(|x| x.flagged).count() as f64 / a.stations_ranked.len() as f64;
        let g = a.stations_ranked.iter().filter(|x| x.flagged_alone).count() as f64 / a.stations_ranked.len() as f64;
        line += &format!("  seed {seed}: {:.3}% ({:.3}%)", 100.0 * f, 100.0 * g);
        all.extend(a.stations_ranked.iter().map(|x| x.score));
        own.extend(a.stations_ranked.iter().map(|x| x.score - x.inherited_points));
    }
    eprintln!("{line}");
    for v in [&mut all, &mut own] {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[(p * (v.len() - 1) as f64) as usize];
        eprintln!("clean score quantiles: 0.99 {:.2} 0.995 {:.2} 0.998 {:.2} 0.999 {:.2} 0.9995 {:.2}", q(0.99), q(0.995), q(0.998), q(0.999), q(0.9995));
    }
    let _ = rank::order;
}

