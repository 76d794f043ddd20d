//! Integer-percentage test (Kobak et al.): hand-worked cases, exact null vs Monte Carlo,
//! the published Russia 2018 numbers, an independent numpy implementation, calibration and
//! power. Run with `cargo test --release --test integer`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tallyscope::stats::common::{pb_sf_exact, saddlepoint_sf};
use tallyscope::stats::integer::*;

/// Loads a Russian file from ../shared/data/ru. Absent file: panic with a clear message,
/// unless TALLYSCOPE_SKIP_DATA=1, in which case say loudly that the test was skipped.
fn data(name: &str) -> Option<tallyscope::Election> {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru").join(name);
    if !p.exists() {
        if std::env::var("TALLYSCOPE_SKIP_DATA").as_deref() == Ok("1") {
            eprintln!("\n******** SKIPPED: {} is absent and TALLYSCOPE_SKIP_DATA=1 ********\n", p.display());
            return None;
        }
        panic!(
            "{} is absent: this test checks published numbers on it (set TALLYSCOPE_SKIP_DATA=1 to skip)",
            p.display()
        );
    }
    Some(tallyscope::ingest::load(&p, &tallyscope::ingest::Options::default()).expect("load").election)
}

/// Relative accuracy of the station probabilities: the pmf comes from a table of ln k!
/// (a few ulps of ln n!, see `IntegerNull`), so sums of many terms are good to ~1e-12.
const REL: f64 = 1e-12;

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: got {a}, expected {b} ± {tol}");
}

// ---------------------------------------------------------------------------------------
// Hand-worked

#[test]
fn station_probabilities_by_hand() {
    let b = Bins::new(0.05, 1);
    // n = 3, x = 1: 100k/3 = 0, 33.3, 66.7, 100 → k ∈ {0, 3}: (2/3)³ + (1/3)³ = 9/27 = 1/3
    close(integer_probability(1, 3, &b), 1.0 / 3.0, REL, "n=3");
    // n = 8, x = 2 (p = 1/4): 12.5k is integer iff k even: (1 + (1 − 2p)⁸)/2 = 257/512
    close(integer_probability(2, 8, &b), 257.0 / 512.0, REL, "n=8");
    // n = 7, x = 3: only 0% and 100%: (4/7)⁷ + (3/7)⁷
    close(integer_probability(3, 7, &b), (4f64 / 7.0).powi(7) + (3f64 / 7.0).powi(7), REL, "n=7");
    // n = 20: every k is a multiple of 5% → 1; with period 10: k even → (1 + (1−2p)^20)/2
    close(integer_probability(5, 20, &b), 1.0, REL, "n=20");
    close(integer_probability(5, 20, &Bins::new(0.05, 10)), (1.0 + 0.5f64.powi(20)) / 2.0, REL, "n=20 period 10");
    // n = 60, p = 1/2: 5k/3 integer iff 3 | k: by roots of unity (1 + 2·2⁻⁶⁰)/3
    close(integer_probability(30, 60, &b), (1.0 + 2.0 * 0.5f64.powi(60)) / 3.0, REL, "n=60");
    // n = 400, p = 1/2: k/4 integer iff 4 | k: 1/4 + 2⁻²⁰¹
    close(integer_probability(200, 400, &b), 0.25, REL, "n=400");
    // degenerate: x = 0 → always 0% (integer)
    close(integer_probability(0, 137, &b), 1.0, 0.0, "x=0");
}

/// A 7-station table worked out by hand. Columns N, B, C, v:
///
/// | st | N    | B   | C   | v   | fate                     | T hit | S hit | p_T        | p_S              |
/// |----|------|-----|-----|-----|--------------------------|-------|-------|------------|------------------|
/// | A  | 100  | 60  | 60  | 30  | in                       | 60% ✓ | 50% ✓ | 1 (N=100)  | (1+2·2⁻⁶⁰)/3     |
/// | B  | 200  | 101 | 100 | 37  | in                       | 50.5 ✗| 37% ✓ | 1/2 (k even)| 1 (C=100)       |
/// | C  | 1000 | 999 | 999 | 500 | T = .999 > .99           |       |       |            |                  |
/// | D  | 99   | 50  | 50  | 20  | N < 100                  |       |       |            |                  |
/// | E  | 500  | 0   | 0   | 0   | C = 0                    |       |       |            |                  |
/// | F  | 300  | 150 | 150 | 149 | S = .993 > .99           |       |       |            |                  |
/// | G  | 400  | 200 | 200 | 100 | in                       | 50% ✓ | 50% ✓ | 1/4 (4 | k)| 1/2 (k even)     |
///
/// turnout: observed 2, mean 1 + .5 + .25 = 1.75, var 0 + .25 + .1875 = .4375,
///   P(X ≥ 2) = 1 − P(B and G both miss) = 1 − .5·.75 = .625.
/// leader: observed 3, mean 1/3 + 1 + 1/2 = 11/6, var 2/9 + 0 + 1/4 = 17/36, P(X ≥ 3) = 1/3·1·1/2 = 1/6.
/// either: p_E = 1, 1, 1 − .75·.5 = .625; observed 3, mean 2.625, var .234375, P = .625.
/// voters-weighted turnout: observed 100 + 400 = 500, mean 100 + 100 + 100 = 300,
///   var 200²·.25 + 400²·.1875 = 40000 → sd 200.
#[test]
fn seven_stations_by_hand() {
    let n = [100u32, 200, 1000, 99, 500, 300, 400];
    let b = [60u32, 101, 999, 50, 0, 150, 200];
    let c = [60u32, 100, 999, 50, 0, 150, 200];
    let v = [30u32, 37, 500, 20, 0, 149, 100];
    let region = [0u32, 0, 0, 0, 1, 1, 1];
    let labels = vec!["one".to_string(), "two".to_string()];
    let input = Input {
        registered: &n,
        turnout_numerator: &b,
        in_boxes: &c,
        leader: &v,
        special: None,
        region: Some((&region, &labels)),
        commission: Some((&region, &labels)),
        turnout_definition: TurnoutNumerator::Issued,
        leader_name: "L",
    };
    let r = run(&input, &IntegerOptions::default());
    assert_eq!(r.included, 3);
    assert_eq!(
        r.excluded,
        Exclusions { abroad: 0, electronic: 0, special: 0, no_ballots: 1, small: 1, high_turnout: 1, high_share: 1 }
    );
    let t = &r.turnout;
    assert_eq!(t.statistic, 2.0);
    close(t.null_mean.unwrap(), 1.75, REL, "turnout mean");
    close(t.null_sd.unwrap(), 0.4375f64.sqrt(), REL, "turnout sd");
    close(t.p.unwrap(), 0.625, REL, "turnout p");
    close(t.effect.unwrap(), 0.25, REL, "turnout excess");
    let s = &r.leader_share;
    assert_eq!(s.statistic, 3.0);
    close(s.null_mean.unwrap(), 11.0 / 6.0, REL, "leader mean");
    close(s.null_sd.unwrap(), (17.0f64 / 36.0).sqrt(), REL, "leader sd");
    close(s.p.unwrap(), 1.0 / 6.0, REL, "leader p");
    let e = &r.either;
    assert_eq!(e.statistic, 3.0);
    close(e.null_mean.unwrap(), 2.625, REL, "either mean");
    close(e.null_sd.unwrap(), 0.234375f64.sqrt(), REL, "either sd");
    close(e.p.unwrap(), 0.625, REL, "either p");
    let w = r.weighted.iter().find(|x| x.test == "integer.turnout.voters").unwrap();
    assert_eq!(w.statistic, 500.0);
    close(w.null_mean.unwrap(), 300.0, 1e-10, "weighted mean");
    close(w.null_sd.unwrap(), 200.0, 1e-10, "weighted sd");
    // per region: region "one" holds A and B, "two" holds G
    let r1 = r.regions.iter().find(|x| x.test == "integer.turnout" && x.scope == "region:one").unwrap();
    assert_eq!((r1.statistic, r1.n), (1.0, 2));
    close(r1.p.unwrap(), 1.0, REL, "region one turnout p (A always integer)");
    let r2 = r.regions.iter().find(|x| x.test == "integer.turnout" && x.scope == "region:two").unwrap();
    close(r2.p.unwrap(), 0.25, REL, "region two turnout p");
    // BH over the two regions: p = (1, .25) → q = (1, .5)
    close(r2.q.unwrap(), 0.5, REL, "region two q");
    close(r1.q.unwrap(), 1.0, REL, "region one q");
    // per commission (here the same partition): the same numbers under "commission:",
    // with their own BH family
    let c2 = r.commissions.iter().find(|x| x.test == "integer.turnout" && x.scope == "commission:two").unwrap();
    close(c2.p.unwrap(), 0.25, REL, "commission two turnout p");
    close(c2.q.unwrap(), 0.5, REL, "commission two q");
    assert_eq!(r.commissions.len(), r.regions.len());
    // the result serialises
    let js = serde_json::to_string(&r).unwrap();
    assert!(js.contains("\"integer.either\""));
}

// ---------------------------------------------------------------------------------------
// p-value method

/// The saddlepoint tail (used for large n) against the exact DP on heterogeneous p_i like
/// the real ones (0.05–0.5, some p = 1), from the centre to p ≈ 1e-200.
#[test]
fn saddlepoint_matches_exact_poisson_binomial() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for &n in &[40usize, 300, 3000] {
        let mut p: Vec<f64> = (0..n).map(|_| 0.05 + 0.45 * rng.random::<f64>().powi(3)).collect();
        p[0] = 1.0;
        p[1] = 0.0;
        let mean: f64 = p.iter().sum();
        let sd: f64 = p.iter().map(|x| x * (1.0 - x)).sum::<f64>().sqrt();
        let mut worst: f64 = 0.0;
        for z in [-2.0, -0.5, 0.0, 0.3, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0] {
            let k = (mean + z * sd).ceil().max(0.0) as u64;
            let e = pb_sf_exact(&p, k);
            if e < 1e-200 || e == 0.0 {
                continue;
            }
            let (s, _) = saddlepoint_sf(&p, None, k as f64, true);
            let rel = (s / e - 1.0).abs();
            worst = worst.max(rel);
            assert!(rel < 0.02, "n={n} k={k}: exact {e:e}, saddlepoint {s:e}");
        }
        eprintln!("saddlepoint vs exact DP, n = {n}: worst relative error {worst:.2e}");
    }
}

// ---------------------------------------------------------------------------------------
// Exact null vs Monte Carlo

#[test]
fn exact_null_agrees_with_monte_carlo_on_simulated_data() {
    let s = Synthetic::generate(5_000, 11, 0.0);
    let draws = 2000;
    let o = IntegerOptions { mc: Some((draws, 5)), regions: false, weighted: false, ..Default::default() };
    let r = run(&s.input(), &o);
    for t in [&r.turnout, &r.leader_share, &r.either] {
        let (m, sd) = (t.null_mean.unwrap(), t.null_sd.unwrap());
        let (mm, msd) = (t.extra["mc_mean"], t.extra["mc_sd"]);
        let se = sd / (draws as f64).sqrt();
        eprintln!("{}: exact mean {m:.2} sd {sd:.3}; MC mean {mm:.2} sd {msd:.3}", t.test);
        assert!((mm - m).abs() < 4.0 * se, "{}: MC mean {mm} vs exact {m} (se {se})", t.test);
        // SE of a sample sd ≈ sd/√(2D) = 1.6%: allow 5 SE
        assert!((msd / sd - 1.0).abs() < 0.08, "{}: MC sd {msd} vs exact {sd}", t.test);
    }
}

#[test]
fn monte_carlo_is_deterministic_for_any_thread_count() {
    let s = Synthetic::generate(2_000, 3, 0.0);
    let o = IntegerOptions { mc: Some((64, 99)), regions: false, weighted: false, ..Default::default() };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| run(&s.input(), &o));
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| run(&s.input(), &o));
    let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(|| run(&s.input(), &o));
    for (a, b) in [(&one, &two), (&one, &three)] {
        assert_eq!(a.either.extra, b.either.extra);
        assert_eq!(a.turnout.extra, b.turnout.extra);
        assert_eq!(a.either.null_mean, b.either.null_mean);
    }
}

// ---------------------------------------------------------------------------------------
// Published numbers: Russia 2018

/// Kobak, Shpilkin & Pshenichnikov (Significance 2018), their repository's Monte Carlo with
/// 1,000 draws: excess integer stations for "turnout or leader's result" 1708.8, null sd
/// 116.5. Their MC mean has SE ≈ 116.5/√1000 ≈ 3.68, so we must agree within ±11.1; the sd
/// of their sd estimate is ≈ 116.5/√2000 ≈ 2.6 (±8 at 3 SE).
///
/// Turnout definition: B/N (ballots issued / registered), as in DESIGN.md and in Kobak et
/// al.'s code (`given / voters`), reproduces it: excess 1709.31, sd 117.35. C/N (ballots in
/// boxes / registered) does not: excess 1622.3 (23 SE away) — the leader share is v/C in both.
#[test]
fn published_kobak_2018() {
    let Some(e) = data("2018.csv.zip") else { return };
    let r = analyze(&e, &IntegerOptions::default()).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&[&r.turnout, &r.leader_share, &r.either]).unwrap());
    assert_eq!(r.turnout_definition, TurnoutNumerator::Issued);
    let x = &r.either;
    let se = 116.5 / 1000f64.sqrt();
    assert!((x.effect.unwrap() - 1708.8).abs() <= 3.0 * se, "excess {} vs published 1708.8", x.effect.unwrap());
    assert!((x.null_sd.unwrap() - 116.5).abs() <= 8.0, "sd {} vs published 116.5", x.null_sd.unwrap());
    // our own exact values, pinned (regression)
    close(x.effect.unwrap(), 1709.31, 0.01, "2018 either excess");
    close(x.null_sd.unwrap(), 117.35, 0.01, "2018 either sd");
    assert!(x.p.unwrap() < 1e-40);

    // C/N does not reproduce the published number
    let c = analyze(&e, &IntegerOptions { turnout: Some(TurnoutNumerator::InBoxes), ..Default::default() }).unwrap();
    assert!((c.either.effect.unwrap() - 1708.8).abs() > 10.0 * se, "C/N excess {}", c.either.effect.unwrap());
}

/// tests/independent/integer_mc.py (numpy, 1,000 draws, seed 1) on the same file printed:
///
/// ```text
/// file ../shared/data/ru/2018.csv.zip: 91112 stations included of 97699 (400 abroad)
/// turnout  observed  10539  mc mean    9241.41  excess   1297.59  sd   93.19
/// leader   observed  10113  mc mean    9257.62  excess    855.38  sd   88.62
/// either   observed  19264  mc mean   17557.40  excess   1706.60  sd  122.86
/// draws 1000 seed 1; load 0.74 s; analysis + Monte Carlo 30.27 s
/// ```
///
/// Observed counts must be identical; exact means within 4 MC standard errors of the
/// numpy MC means, exact sds within 3 SE (≈ sd/√2000) of the numpy sds.
#[test]
fn agrees_with_independent_numpy_monte_carlo() {
    let Some(e) = data("2018.csv.zip") else { return };
    let r = analyze(&e, &IntegerOptions::default()).unwrap();
    assert_eq!(r.included, 91112);
    assert_eq!(r.excluded.abroad, 400);
    let py = [(10539.0, 9241.41, 93.19), (10113.0, 9257.62, 88.62), (19264.0, 17557.40, 122.86)];
    for (t, (obs, m, sd)) in [&r.turnout, &r.leader_share, &r.either].into_iter().zip(py) {
        assert_eq!(t.statistic, obs, "{} observed", t.test);
        let mine = t.null_sd.unwrap();
        close(t.null_mean.unwrap(), m, 4.0 * mine / 1000f64.sqrt(), &format!("{} mean vs numpy", t.test));
        close(mine, sd, 3.0 * mine / 2000f64.sqrt(), &format!("{} sd vs numpy", t.test));
    }
}

/// Our own Monte Carlo mode on 2018 against the exact null (300 draws to keep it quick).
#[test]
fn monte_carlo_mode_on_2018() {
    let Some(e) = data("2018.csv.zip") else { return };
    let draws = 300;
    let o = IntegerOptions { mc: Some((draws, 2018)), regions: false, weighted: false, ..Default::default() };
    let r = analyze(&e, &o).unwrap();
    for t in [&r.turnout, &r.leader_share, &r.either] {
        let sd = t.null_sd.unwrap();
        eprintln!("{}: exact mean {:.2} sd {:.2}; MC mean {:.2} sd {:.2}", t.test, t.null_mean.unwrap(), sd, t.extra["mc_mean"], t.extra["mc_sd"]);
        close(t.extra["mc_mean"], t.null_mean.unwrap(), 4.0 * sd / (draws as f64).sqrt(), &format!("{} MC mean", t.test));
        assert!((t.extra["mc_sd"] / sd - 1.0).abs() < 0.2);
        // observed is far above every draw
        assert!(t.extra["mc_p"] <= 1.0 / (draws as f64 + 1.0) + 1e-12);
    }
}

#[test]
fn regions_and_weights_on_2018() {
    let Some(e) = data("2018.csv.zip") else { return };
    let r = analyze(&e, &IntegerOptions::default()).unwrap();
    assert_eq!(r.weighted.len(), 9);
    for w in &r.weighted {
        assert!(w.p.unwrap() >= 0.0 && w.p.unwrap() <= 1.0 && w.null_sd.unwrap() > 0.0, "{w:?}");
    }
    let either: Vec<_> = r.regions.iter().filter(|x| x.test == "integer.either").collect();
    assert!(either.len() > 80, "{} regions", either.len());
    assert!(either.iter().all(|x| x.q.is_some() && x.q.unwrap() >= x.p.unwrap() - 1e-15));
    // regional observed counts and means add up to the national ones
    let obs: f64 = either.iter().map(|x| x.statistic).sum();
    let mean: f64 = either.iter().map(|x| x.null_mean.unwrap()).sum();
    assert_eq!(obs, r.either.statistic);
    close(mean, r.either.null_mean.unwrap(), 1e-6, "sum of regional means");
    let mut top: Vec<_> = either.iter().map(|x| (x.q.unwrap(), x.scope.clone(), x.effect.unwrap())).collect();
    top.sort_by(|a, b| a.0.total_cmp(&b.0));
    eprintln!("regions with most significant excess (q, region, excess): {:?}", &top[..5]);
    assert!(top.iter().filter(|x| x.0 < 0.05).count() >= 5);
}

/// Wall time of the whole exact test (nation, weights, regions) on 2018; the budget in
/// the issue is 0.2 s on two idle cores (see benches/integer.rs). The assertion here is
/// loose because tests share the machine.
#[test]
fn speed_on_2018() {
    let Some(e) = data("2018.csv.zip") else { return };
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t0 = Instant::now();
        let r = analyze(&e, &IntegerOptions::default()).unwrap();
        best = best.min(t0.elapsed().as_secs_f64());
        assert_eq!(r.either.statistic, 19264.0);
    }
    eprintln!("integer test on 2018 (best of 5): {:.3} s", best);
    if !cfg!(debug_assertions) {
        assert!(best < 1.0, "{best} s");
    }
}

// ---------------------------------------------------------------------------------------
// Calibration and power

/// Clean synthetic elections (2,000 stations each, 1,000 replicates): the rejection rate at
/// α = 0.05 must lie in [0.03, 0.07] for turnout, leader and either (SE of a rate at 1,000
/// replicates ≈ 0.007).
#[test]
fn calibration_on_clean_elections() {
    use rayon::prelude::*;
    let reps = 1000;
    let o = IntegerOptions { regions: false, weighted: false, ..Default::default() };
    let rej: Vec<[bool; 3]> = (0..reps)
        .into_par_iter()
        .map(|k| {
            let s = Synthetic::generate(2_000, 1_000 + k as u64, 0.0);
            let r = run(&s.input(), &o);
            [r.turnout.p.unwrap() < 0.05, r.leader_share.p.unwrap() < 0.05, r.either.p.unwrap() < 0.05]
        })
        .collect();
    for (j, name) in ["turnout", "leader", "either"].iter().enumerate() {
        let rate = rej.iter().filter(|x| x[j]).count() as f64 / reps as f64;
        eprintln!("type-I rate at 0.05, {name}: {rate:.3}");
        assert!((0.03..=0.07).contains(&rate), "{name}: rate {rate}");
    }
}

/// 2% of 10,000 stations with turnout and leader share rounded to integer percentages:
/// detected (either, α = 0.05) in at least 90% of 100 replicates.
#[test]
fn power_against_rounded_stations() {
    use rayon::prelude::*;
    let reps = 100;
    let o = IntegerOptions { regions: false, weighted: false, ..Default::default() };
    let res: Vec<(bool, f64)> = (0..reps)
        .into_par_iter()
        .map(|k| {
            let s = Synthetic::generate(10_000, 50_000 + k as u64, 0.02);
            let r = run(&s.input(), &o);
            (r.either.p.unwrap() < 0.05, r.either.z().unwrap())
        })
        .collect();
    let power = res.iter().filter(|x| x.0).count() as f64 / reps as f64;
    let mean_z = res.iter().map(|x| x.1).sum::<f64>() / reps as f64;
    eprintln!("power at 2% rounded stations of 10,000: {power:.2} (mean z {mean_z:.1})");
    assert!(power >= 0.9, "power {power}");
}

#[test]
#[ignore]
fn probe_timing() {
    let Some(e) = data("2018.csv.zip") else { return };
    for (reg, w) in [(false, false), (true, false), (false, true), (true, true)] {
        let o = IntegerOptions { regions: reg, weighted: w, ..Default::default() };
        let mut best = f64::INFINITY;
        let c0 = cpu_seconds();
        for _ in 0..10 {
            let t0 = Instant::now();
            let _r = analyze(&e, &o).unwrap();
            best = best.min(t0.elapsed().as_secs_f64());
        }
        let cpu = (cpu_seconds() - c0) / 10.0;
        eprintln!("regions {reg} weighted {w}: best wall {best:.3} s, CPU per run {cpu:.3} s");
    }
}

/// user + system CPU seconds of this process (Linux /proc; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    if f.len() < 13 {
        return 0.0;
    }
    (f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0)) / 100.0
}

/// Times our Monte Carlo mode with the papers' 1,000 draws (for the numpy comparison).
#[test]
#[ignore]
fn probe_mc_1000() {
    let Some(e) = data("2018.csv.zip") else { return };
    let o = IntegerOptions { mc: Some((1000, 1)), regions: false, weighted: false, ..Default::default() };
    let t0 = Instant::now();
    let r = analyze(&e, &o).unwrap();
    eprintln!("MC 1000 draws on 2018: {:.2} s wall", t0.elapsed().as_secs_f64());
    for t in [&r.turnout, &r.leader_share, &r.either] {
        eprintln!("{}: exact mean {:.2} sd {:.2}; MC mean {:.2} sd {:.2} excess {:.2}", t.test, t.null_mean.unwrap(), t.null_sd.unwrap(), t.extra["mc_mean"], t.extra["mc_sd"], t.extra["mc_excess"]);
    }
}
