//! Issue 15: clean-replicate baselines of the estimates without a p-value
//! (`calibrate::baselines`). On clean simulated elections each observed estimate falls
//! inside its baseline's prediction range about as often as the range promises; on
//! simulated stuffing the estimates that stuffing moves fall above it; the baseline
//! reaches summary.json and tests.csv.

use std::sync::Arc;
use tallyscope::calibrate::baselines::{self, Baseline};
use tallyscope::simulate::{self, SimConfig};
use tallyscope::stats::{TestResult, fingerprint, shape};

fn election(stations: usize, seed: u64, spec: Option<&str>) -> tallyscope::Election {
    let frauds = spec.map(|s| vec![s.parse().expect("valid spec")]).unwrap_or_default();
    simulate::simulate(&SimConfig { stations, seed, frauds, ..SimConfig::default() }).expect("simulation").election()
}

/// The battery's national rows for the shape estimates and (if asked) the fingerprint,
/// with the baselines attached.
fn observed_with_baselines(e: &tallyscope::Election, seed: u64, fp_reps: usize) -> (Vec<TestResult>, baselines::Baselines) {
    let mut rows = shape::run(e, &shape::ShapeOptions::default());
    let fo = fingerprint::FitOptions { seed, ..Default::default() };
    if fp_reps > 0 {
        rows.extend(fingerprint::analyze(e, &fingerprint::Selection::default(), &fo).expect("fit").test_results("nation"));
    }
    let o = baselines::Options { reps: baselines::REPLICATES, fingerprint_reps: fp_reps, seed, fingerprint: (fp_reps > 0).then_some(fo), mixture_reps: 0, mixture: None, leader: None };
    let b = baselines::run(e, &o).expect("baselines ran");
    b.apply(&mut rows);
    (rows, b)
}

const TESTS: [&str; 11] = [
    "shape.turnout.skewness.stations",
    "shape.turnout.kurtosis.stations",
    "shape.turnout.skewness.voters",
    "shape.turnout.kurtosis.voters",
    "shape.leader_share.skewness.stations",
    "shape.leader_share.kurtosis.stations",
    "shape.leader_share.skewness.voters",
    "shape.leader_share.kurtosis.voters",
    "shape.corr_turnout_share.stations",
    "shape.corr_turnout_share.voters",
    "shape.sobyanin_slope",
];

/// 20 clean elections of 20,000 stations: each shape estimate inside its 95% range (39
/// replicates) in at least 16 of 20 (a true 95% gives fewer than 16 with probability
/// 1.6%), and all of them together in at least 88%; the fingerprint fractions (9 refits
/// on 5 of the seeds: a 80% range) inside in at least 4 of 5 each.
#[test]
fn clean_elections_fall_inside() {
    let seeds = 1..=20u64;
    let mut inside = vec![0usize; TESTS.len()];
    let mut fp_inside = [0usize; 2];
    let mut fp_runs = 0;
    for seed in seeds.clone() {
        let e = election(20_000, seed, None);
        let fp = if seed <= 5 { 9 } else { 0 };
        let (rows, b) = observed_with_baselines(&e, seed, fp);
        assert_eq!(b.replicates, 39);
        for (k, t) in TESTS.iter().enumerate() {
            let r = rows.iter().find(|r| r.test == *t).expect(t);
            let base = Baseline::of(r).unwrap_or_else(|| panic!("{t} has no baseline"));
            assert_eq!(base.replicates, 39);
            assert!((base.coverage - 0.95).abs() < 1e-12);
            let ok = base.low <= r.statistic && r.statistic <= base.high;
            eprintln!("seed {seed} {t}: {:.4} in [{:.4}, {:.4}] median {:.4}: {ok}", r.statistic, base.low, base.high, base.median);
            inside[k] += ok as usize;
        }
        if fp > 0 {
            fp_runs += 1;
            for (k, t) in ["fingerprint.f_incremental", "fingerprint.f_extreme"].iter().enumerate() {
                let r = rows.iter().find(|r| r.test == *t).expect(t);
                let base = Baseline::of(r).unwrap_or_else(|| panic!("{t} has no baseline"));
                assert_eq!(base.replicates, 9);
                let ok = base.low <= r.statistic && r.statistic <= base.high;
                eprintln!("seed {seed} {t}: {:.4} in [{:.4}, {:.4}]: {ok}", r.statistic, base.low, base.high);
                fp_inside[k] += ok as usize;
            }
        }
    }
    let n = seeds.count();
    eprintln!("inside per estimate (of {n}): {inside:?}; fingerprint (of {fp_runs}): {fp_inside:?}");
    for (k, t) in TESTS.iter().enumerate() {
        assert!(inside[k] >= 16, "{t}: inside its clean baseline in {} of {n} clean elections", inside[k]);
    }
    let all: usize = inside.iter().sum();
    assert!(all as f64 >= 0.88 * (n * TESTS.len()) as f64, "{all} of {}", n * TESTS.len());
    assert!(fp_inside.iter().all(|&k| k + 1 >= fp_runs), "{fp_inside:?} of {fp_runs}");
}

/// Stuffing (20% of stations, half of their non-voters, all for the leader): turnout
/// skewness, the turnout–share correlation, the Sobyanin slope and f_i all above every
/// clean replicate, in each of 5 seeds.
#[test]
fn stuffing_falls_above() {
    for seed in 1..=5u64 {
        let e = election(20_000, seed, Some("stuffing:0.2:0.5"));
        let (rows, _) = observed_with_baselines(&e, seed, 9);
        for t in ["shape.turnout.skewness.stations", "shape.corr_turnout_share.stations", "shape.corr_turnout_share.voters", "shape.sobyanin_slope", "fingerprint.f_incremental"] {
            let r = rows.iter().find(|r| r.test == t).expect(t);
            let b = Baseline::of(r).expect("a baseline");
            eprintln!("seed {seed} {t}: {:.4} vs clean median {:.4} [{:.4}, {:.4}], {:.3} at or above", r.statistic, b.median, b.low, b.high, b.at_or_above);
            assert!(r.statistic > b.high && b.at_or_above == 0.0, "seed {seed} {t}: {:.4} not above [{:.4}, {:.4}]", r.statistic, b.low, b.high);
        }
    }
}

/// The fields on a small simulated election through `analyze`'s path: summary.json rows
/// carry `extra.baseline_*` equal to the baseline of the replicates' values, tests.csv the
/// five columns, the report's reading says it; and a run without baselines says it has
/// none.
#[test]
fn fields_in_summary_and_tests_csv() {
    let e = Arc::new(election(3_000, 7, None));
    // the finite mixture is off by default (`analyze --mixture`): on here, with its baselines
    let opt = tallyscope::analysis::Options { bootstrap: 0, digit_draws: 0, fingerprint_baseline_reps: 9, mixture: true, ..Default::default() };
    let a = tallyscope::analysis::run_election(e.clone(), Default::default(), &opt);
    let b = a.baselines.as_ref().expect("baselines ran");
    assert_eq!((b.replicates, b.fingerprint_replicates), (39, 9));
    // the finite mixture is refitted on the first 19 (3,000 stations: within its budget)
    assert_eq!(b.mixture_replicates, 19);
    let dir = std::env::temp_dir().join(format!("tallyscope-baselines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    tallyscope::export::write(&tallyscope::export::summary_json::SummaryJson, &a, &dir).unwrap();
    tallyscope::export::write(&tallyscope::export::tests_csv::TestsCsv, &a, &dir).unwrap();
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(j["baselines"]["replicates"], 39);
    assert_eq!(j["baselines"]["fingerprint_replicates"], 9);
    let rows = j["tests"].as_array().unwrap();
    let row = |t: &str| rows.iter().find(|r| r["test"] == t && r["scope"] == "nation").unwrap_or_else(|| panic!("{t}"));
    for t in ["shape.corr_turnout_share.stations", "fingerprint.f_incremental", "fingerprint.f_extreme", "digits.skew.turnout", "mixture.f_incremental", "mixture.f_extreme"] {
        let r = row(t);
        let want = Baseline::new(r["statistic"].as_f64().unwrap(), b.values(if t == "digits.skew.turnout" { "shape.turnout.skewness.stations" } else { t }).unwrap()).unwrap();
        let x = &r["extra"];
        // serde_json's default float parser may be one ulp off
        let close = |k: &str, v: f64| assert!((x[k].as_f64().unwrap() - v).abs() <= 1e-12 * v.abs().max(1e-300), "{t} {k}: {} against {v}", x[k]);
        close("baseline_median", want.median);
        close("baseline_low", want.low);
        close("baseline_high", want.high);
        close("baseline_at_or_above", want.at_or_above);
        close("baseline_replicates", want.replicates as f64);
        assert!(r["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with("clean baseline from")), "{t}");
    }
    // the dip tests have p-values: no baseline
    assert!(row("shape.turnout.dip")["extra"].get("baseline_median").is_none());
    let mut csv = csv::Reader::from_path(dir.join("tests.csv")).unwrap();
    let head: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    let col = |c: &str| head.iter().position(|h| h == c).unwrap_or_else(|| panic!("no column {c}"));
    let (m, lo, hi, ge, k) = (col("baseline_median"), col("baseline_low"), col("baseline_high"), col("baseline_share_at_or_above"), col("baseline_replicates"));
    let mut seen = 0;
    for rec in csv.records() {
        let rec = rec.unwrap();
        if &rec[1] != "nation" {
            continue;
        }
        let r = a.results.iter().find(|r| r.test == rec[0] && r.scope == "nation").unwrap();
        match Baseline::of(r) {
            Some(bb) => {
                seen += 1;
                assert_eq!(rec[m].parse::<f64>().unwrap(), bb.median);
                assert_eq!(rec[lo].parse::<f64>().unwrap(), bb.low);
                assert_eq!(rec[hi].parse::<f64>().unwrap(), bb.high);
                assert_eq!(rec[ge].parse::<f64>().unwrap(), bb.at_or_above);
                assert_eq!(rec[k].parse::<f64>().unwrap(), bb.replicates as f64);
            }
            None => assert!(rec[m].is_empty() && rec[k].is_empty(), "{}", &rec[0]),
        }
    }
    // 11 shape estimates, the fingerprint's f_i and f_e, the two EFT turnout moments, the
    // mixture's f_i and f_e, Shpilkin's anomalous votes (its replicates on the adjusted scale)
    assert_eq!(seen, 18);
    let fi = a.nation("fingerprint.f_incremental").unwrap();
    assert!(tallyscope::report::reading::reading(fi).contains("clean elections like this file give"), "{}", tallyscope::report::reading::reading(fi));
    // without baselines the fingerprint's reading says it has no interval
    let none = tallyscope::analysis::run_election(e, Default::default(), &tallyscope::analysis::Options { baseline_reps: 0, ..opt });
    assert!(none.baselines.is_none());
    let fi = none.nation("fingerprint.f_incremental").unwrap();
    assert!(tallyscope::report::reading::reading(fi).contains("no clean baseline and no interval"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Measures the cost on Russia 2018 (not a timed test: prints; run with `--ignored`).
#[test]
#[ignore]
fn measure_russia_2018() {
    let path = std::path::Path::new("../shared/data/ru/2018.csv.zip");
    if !path.exists() {
        eprintln!("SKIPPED: {} is absent", path.display());
        return;
    }
    let ing = tallyscope::ingest::load(path, &Default::default()).unwrap();
    let e = ing.election;
    for fp in [0usize, 1, 10] {
        let t = std::time::Instant::now();
        let cpu0 = cpu();
        let o = baselines::Options { fingerprint_reps: fp, ..Default::default() };
        let b = baselines::run(&e, &o).unwrap();
        eprintln!("fingerprint refits {fp} ({} done): wall {:.2} s, CPU {:.2} s", b.fingerprint_replicates, t.elapsed().as_secs_f64(), cpu() - cpu0);
    }
}

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    (f.get(11).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0) + f.get(12).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0)) / 100.0
}

/// The clean model's scatters on a simulated clean election against the simulator's
/// (printed; run with `--ignored`).
#[test]
#[ignore]
fn print_model_scatter() {
    let e = election(20_000, 1, None);
    let b = baselines::run(&e, &baselines::Options { fingerprint: None, fingerprint_reps: 0, ..Default::default() }).unwrap();
    let c = SimConfig::default();
    eprintln!("model: turnout station {:.3} commission {:.3}; share station {:.3} commission {:.3}", b.sd_turnout, b.sd_commission_turnout, b.sd_share, b.sd_commission_share);
    eprintln!("simulator: turnout {:?}; share {:?}", c.turnout.sd, c.leader_share.sd);
}
