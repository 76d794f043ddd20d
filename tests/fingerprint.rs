//! Election fingerprints (Klimek et al. 2012): parameter recovery on elections generated
//! from the model itself, hand-checked histograms, KDE modes, determinism across thread
//! counts, and the Russian elections of 2011, 2012 and 2018.
//!
//! Run: `cargo test --release --test fingerprint -- --nocapture` (prints the fits).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StandardNormal};
#[allow(unused_imports)]
use std::time::Duration;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tallyscope::stats::fingerprint::{self, AlphaMode, FitOptions, Selection, Stations};

/// Parameters of the yardstick generator.
#[derive(Clone, Copy, Debug)]
struct Truth {
    tau: f64,
    sigma_tau: f64,
    nu: f64,
    sigma_nu: f64,
    theta: f64,
    f_i: f64,
    f_e: f64,
    alpha: f64,
    /// Share of invalid ballots (V = B − invalid).
    invalid: f64,
}

const BASE: Truth = Truth {
    tau: 0.55,
    sigma_tau: 0.09,
    nu: 0.5,
    sigma_nu: 0.1,
    // what the default θ rule (sqrt of the right-side RMS) gives on honest data: sqrt(0.1)
    theta: 0.316,
    f_i: 0.0,
    f_e: 0.0,
    alpha: 2.0,
    invalid: 0.0,
};

/// An election drawn from the Klimek model, written independently of the library:
/// `m` stations with log-normal electorates (median 1,100, floor 100), honest turnout and
/// share from truncated normals, fraud as Klimek et al. (incremental |N(0, θ)| with
/// probability f_i, extreme 1 − |N(0, 0.075)| with probability f_e), counts rounded.
fn klimek_election(seed: u64, m: usize, p: Truth) -> Stations {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let size = Normal::new((1100f64).ln(), 0.6).unwrap();
    let trunc = |rng: &mut ChaCha8Rng, mu: f64, sd: f64| loop {
        let z: f64 = StandardNormal.sample(rng);
        let x = mu + sd * z;
        if (0.0..=1.0).contains(&x) {
            break x;
        }
    };
    let (mut nn, mut bb, mut vv, mut ww) = (vec![], vec![], vec![], vec![]);
    for _ in 0..m {
        let n = (size.sample(&mut rng).exp().round() as u32).max(100);
        let t = trunc(&mut rng, p.tau, p.sigma_tau);
        let v = trunc(&mut rng, p.nu, p.sigma_nu);
        let u: f64 = rng.random();
        let x = if u < p.f_e {
            let z: f64 = StandardNormal.sample(&mut rng);
            (1.0 - (0.075 * z).abs()).max(0.0)
        } else if u < p.f_e + p.f_i {
            loop {
                let z: f64 = StandardNormal.sample(&mut rng);
                let x = (p.theta * z).abs();
                if x <= 1.0 {
                    break x;
                }
            }
        } else {
            0.0
        };
        let nf = n as f64;
        let b = (nf * (t + x * (1.0 - t))).round();
        let w = (nf * (t * v + x * (1.0 - t) + x.powf(p.alpha) * (1.0 - v) * t)).round().min(b);
        let inv = (b * p.invalid).round().min(b - w);
        nn.push(n);
        bb.push(b as u32);
        vv.push((b - inv) as u32);
        ww.push(w as u32);
    }
    Stations::from_counts(&nn, &bb, &vv, &ww, 100)
}

fn data_path(year: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/data/ru/{year}.csv.zip"))
}

fn load(year: u32) -> Option<tallyscope::Election> {
    let p = data_path(year);
    if !p.exists() {
        if std::env::var("TALLYSCOPE_SKIP_DATA").as_deref() == Ok("1") {
            eprintln!("\n!!!!!! SKIPPED: {} not found (TALLYSCOPE_SKIP_DATA=1) !!!!!!\n", p.display());
            return None;
        }
        panic!("{} not found; set TALLYSCOPE_SKIP_DATA=1 to skip the real-data checks", p.display());
    }
    Some(tallyscope::ingest::load(&p, &tallyscope::ingest::Options::default()).unwrap().election)
}

/// The Klimek model's θ is not free: it is read off the right side of the observed share
/// distribution (θ = sqrt(RMS(v − ν) over v > ν), the library's default rule). An election
/// "from the model" therefore uses the θ that this rule returns on the election itself:
/// the fixed point θ = sqrt(RMS_right(election generated with θ)), found by iteration on
/// the same seed (4 rounds change θ by < 0.001).
fn self_consistent(seed: u64, m: usize, p: Truth) -> (Stations, f64) {
    let mut theta = p.sigma_nu.sqrt();
    let mut st = klimek_election(seed, m, Truth { theta, ..p });
    for _ in 0..5 {
        let right: Vec<f64> = st.share.iter().filter(|v| **v > p.nu).map(|v| (v - p.nu).powi(2)).collect();
        theta = (right.iter().sum::<f64>() / right.len() as f64).sqrt().sqrt();
        st = klimek_election(seed, m, Truth { theta, ..p });
    }
    (st, theta)
}

fn fit_default(st: &Stations, seed: u64) -> fingerprint::FingerprintResult {
    fingerprint::fit(st, &FitOptions { seed, ..FitOptions::default() }).unwrap()
}

/// Recovery on elections drawn from the model: f_i ∈ {0, 0.05, 0.10, 0.30} ×
/// f_e ∈ {0, 0.02, 0.05}, seeds 1–3 each (36 elections of 50,000 stations), default fit
/// options with fit seed 100 + seed. Issue 4: every f_i and f_e within ±0.03.
#[test]
fn recovers_injected_fraud() {
    let mut worst: (f64, f64) = (0.0, 0.0);
    for fi in [0.0, 0.05, 0.10, 0.30] {
        for fe in [0.0, 0.02, 0.05] {
            for seed in 1..=3u64 {
                let (st, theta) = self_consistent(seed, 50_000, Truth { f_i: fi, f_e: fe, ..BASE });
                let t0 = Instant::now();
                let r = fit_default(&st, 100 + seed);
                println!(
                    "truth f_i {fi:.2} f_e {fe:.2} (θ {theta:.3}) seed {seed}: fitted f_i {:.3} f_e {:.3}  (τ {:.3} ν {:.3} σ_τ {:.3} σ_ν {:.3} θ {:.3}; raw τ {:.3} ν {:.3}) {:?}",
                    r.fit.f_i, r.fit.f_e, r.honest_params.tau, r.honest_params.nu, r.honest_params.sigma_tau, r.honest_params.sigma_nu, r.honest_params.theta,
                    r.honest_params_raw.tau, r.honest_params_raw.nu, t0.elapsed()
                );
                worst.0 = worst.0.max((r.fit.f_i - fi).abs());
                worst.1 = worst.1.max((r.fit.f_e - fe).abs());
            }
        }
    }
    println!("largest errors: f_i {:.3}, f_e {:.3}", worst.0, worst.1);
    assert!(worst.0 <= 0.03, "f_i off by {}", worst.0);
    assert!(worst.1 <= 0.03, "f_e off by {}", worst.1);
}

/// With invalid ballots (V = 0.98 B, which the model does not have: its share is W/B).
/// α fixed at the truth (2): within ±0.03 (measured f_i 0.101, f_e 0.016).
/// α fitted over {1, 2, 4}: KNOWN GAP. The invalid ballots shift the observed shares and
/// α = 1 fits them better than the true α = 2 even after the honest-parameter search at
/// every grid value; measured f_i 0.061, f_e 0.020, α 1 (seed 11, fit seed 5). Asserted:
/// f_e within ±0.03, fraud detected (f_i > 0.03); the f_i error is printed.
#[test]
fn recovers_with_invalid_ballots_and_fitted_alpha() {
    let (st, _) = self_consistent(11, 50_000, Truth { f_i: 0.10, f_e: 0.02, invalid: 0.02, ..BASE });
    let r = fingerprint::fit(&st, &FitOptions { seed: 5, ..FitOptions::default() }).unwrap();
    println!("invalid 2%, α = 2 fixed: f_i {:.3} f_e {:.3}", r.fit.f_i, r.fit.f_e);
    assert!((r.fit.f_i - 0.10).abs() <= 0.03 && (r.fit.f_e - 0.02).abs() <= 0.03);
    let o = FitOptions { alpha: AlphaMode::Grid(vec![1.0, 2.0, 4.0]), seed: 5, ..FitOptions::default() };
    let r = fingerprint::fit(&st, &o).unwrap();
    println!("invalid 2%, α fitted: f_i {:.3} f_e {:.3} α {} (known gap: f_i low, α picked 1)", r.fit.f_i, r.fit.f_e, r.fit.alpha);
    assert!((r.fit.f_e - 0.02).abs() <= 0.03 && r.fit.f_i > 0.03);
}

/// The paper's raw estimator (no honest-parameter correction) is biased low on f_i under
/// its own model: documented here with numbers rather than hidden.
#[test]
fn raw_estimator_bias_is_measured() {
    let (st, _) = self_consistent(1, 50_000, Truth { f_i: 0.10, f_e: 0.02, ..BASE });
    let raw = fingerprint::fit(&st, &FitOptions { honest_passes: 0, ..FitOptions::default() }).unwrap();
    let cor = fit_default(&st, FitOptions::default().seed);
    println!("raw f_i {:.3} f_e {:.3}; corrected f_i {:.3} f_e {:.3}", raw.fit.f_i, raw.fit.f_e, cor.fit.f_i, cor.fit.f_e);
    assert!(raw.fit.f_i < cor.fit.f_i);
    assert!((raw.fit.f_e - 0.02).abs() <= 0.01);
}

/// Hand-checked: 6 stations, 4×4 bins (bin width 0.25).
/// N=200,B=50,V=50,W=10: T=0.25,S=0.2 → (1,0); N=100,B=99,V=90,W=90: T=0.99,S=1 → (3,3);
/// N=400,B=200,V=100,W=50: T=0.5,S=0.5 → (2,2); N=100,B=0: dropped (C = 0);
/// N=99: dropped (N < 100); N=100,B=110,V=110,W=55: T=1.1 clamped,S=0.5 → (3,2), counted.
#[test]
fn small_histogram_by_hand() {
    let st = Stations::from_counts(&[200, 100, 400, 100, 99, 100], &[50, 99, 200, 0, 50, 110], &[50, 90, 100, 0, 50, 110], &[10, 90, 50, 0, 10, 55], 100);
    assert_eq!(st.len(), 4);
    assert_eq!(st.excluded.no_ballots, 1);
    assert_eq!(st.excluded.small, 1);
    assert_eq!(st.excluded.turnout_above_one, 1);
    let h = fingerprint::station_histogram(&st, fingerprint::Weighting::Stations, 4);
    let mut want = vec![0.0; 16];
    want[4] = 1.0;
    want[3 * 4 + 3] = 1.0;
    want[2 * 4 + 2] = 1.0;
    want[3 * 4 + 2] = 1.0;
    assert_eq!(h.counts, want);
    let hv = fingerprint::station_histogram(&st, fingerprint::Weighting::Voters, 4);
    assert_eq!(hv.get(2, 2), 200.0);
    assert_eq!(hv.get(3, 2), 110.0);
    assert_eq!(hv.total, 50.0 + 99.0 + 200.0 + 110.0);
}

/// KDE mode on known samples: the first local maximum above 0.3 is found even when a
/// higher peak lies to its right, and a peak below 0.3 is ignored.
#[test]
fn kde_mode_bimodal() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut x = vec![];
    for i in 0..60_000 {
        let z: f64 = StandardNormal.sample(&mut rng);
        x.push(match i % 10 {
            0..=1 => 0.15 + 0.04 * z, // 20% below 0.3: ignored
            2..=4 => 0.45 + 0.05 * z, // 30%: the first mode above 0.3
            _ => 0.78 + 0.05 * z,     // 50%: the highest peak
        });
    }
    let (m, h) = fingerprint::kde_mode(&x, 0.3);
    assert!((m - 0.45).abs() < 0.01, "mode {m} (bandwidth {h})");
    // unimodal normal: the mode is the mean
    let y: Vec<f64> = (0..50_000).map(|_| { let z: f64 = StandardNormal.sample(&mut rng); 0.6 + 0.1 * z }).collect();
    let (m, _) = fingerprint::kde_mode(&y, 0.3);
    assert!((m - 0.6).abs() < 0.01, "mode {m}");
}

/// Same seed → identical result with 1 and 2 threads (bootstrap included).
#[test]
fn deterministic_across_thread_counts() {
    let (st, _) = self_consistent(4, 8_000, Truth { f_i: 0.1, f_e: 0.02, ..BASE });
    let o = FitOptions { bootstrap: 6, seed: 77, ..FitOptions::default() };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| fingerprint::fit(&st, &o).unwrap())
    };
    let a = run(1);
    let b = run(2);
    assert_eq!(a, b);
    assert!(a.bootstrap.as_ref().unwrap().samples.len() == 6);
    let c = fingerprint::fit(&st, &FitOptions { seed: 78, ..o.clone() }).unwrap();
    assert_ne!(a.bootstrap.unwrap().samples, c.bootstrap.unwrap().samples);
}

/// Russia 2011 (Duma) and 2012 (President) against Klimek et al. (2012, PNAS), and 2018.
///
/// Expectations and their sources: the paper's Fig. 4 shows for both Russian elections a
/// fitted fingerprint with a large incremental-fraud smear and an extreme-fraud cluster at
/// (100 %, 100 %), far from the honest counterfactual. From memory of its table of fitted
/// parameters (not verified against the paper here, so not asserted as numbers): Russia
/// 2011 f_i ≈ 0.64, f_e ≈ 0.03; Russia 2012 f_i ≈ 0.39, f_e ≈ 0.02. Asserted: f_i clearly
/// above 0 (> 0.2), f_e > 0.005, the honest model fitting far worse than the fraud model,
/// and 2011's f_i at least 2012's minus 0.05 (the paper's order, with a margin because our
/// 2012 value is the uncertain one). 2018 is printed only.
#[test]
fn russia_2011_2012_2018() {
    let mut fi = vec![];
    for year in [2011u32, 2012, 2018] {
        let Some(e) = load(year) else { return };
        let st = fingerprint::select(&e, &Selection::default()).unwrap();
        let t0 = Instant::now();
        let r = fingerprint::fit(&st, &FitOptions::default()).unwrap();
        let t_fit = t0.elapsed();
        let t0 = Instant::now();
        let rb = fingerprint::fit(&st, &FitOptions { bootstrap: 20, ..FitOptions::default() }).unwrap();
        let t_boot = t0.elapsed();
        let b = rb.bootstrap.as_ref().unwrap();
        println!(
            "Russia {year}: n {} (abroad {}), f_i {:.3} [{:.3}, {:.3}], f_e {:.3} [{:.3}, {:.3}], α {}, τ {:.3}/{:.3} ν {:.3}/{:.3} σ_τ {:.3} σ_ν {:.3} θ {:.3} (raw/model), D_honest/D {:.2}; fit {:?}, fit + 20 bootstrap {:?}",
            r.n, r.excluded.abroad, r.fit.f_i, b.f_i_ci.0, b.f_i_ci.1, r.fit.f_e, b.f_e_ci.0, b.f_e_ci.1, r.fit.alpha,
            r.honest_params_raw.tau, r.honest_params.tau, r.honest_params_raw.nu, r.honest_params.nu,
            r.honest_params.sigma_tau, r.honest_params.sigma_nu, r.honest_params.theta,
            r.fit.distance_honest / r.fit.distance, t_fit, t_boot
        );
        assert_eq!(rb.fit, r.fit, "the bootstrap does not change the point estimate");
        let tr = r.test_results("nation");
        assert_eq!(tr[0].test, "fingerprint.f_incremental");
        assert_eq!(tr[0].statistic, r.fit.f_i);
        if year != 2018 {
            assert!(r.fit.f_i > 0.2, "{year}: f_i {}", r.fit.f_i);
            assert!(r.fit.f_e > 0.005, "{year}: f_e {}", r.fit.f_e);
            assert!(r.fit.distance_honest > 2.0 * r.fit.distance);
            assert!(r.excluded.abroad > 0);
        }
        fi.push(r.fit.f_i);
    }
    assert!(fi[0] >= fi[1] - 0.05, "2011 f_i {} vs 2012 {}", fi[0], fi[1]);
}

#[test]
#[ignore]
fn explore_recovery() {
    for (fi, fe) in [(0.10, 0.02), (0.0, 0.0), (0.3, 0.05)] {
        for seed in 1..=3u64 {
            let (st, th) = self_consistent(seed, 40_000, Truth { f_i: fi, f_e: fe, ..BASE });
            println!("θ fixpoint {th:.4}");
            for alpha in [AlphaMode::Fixed(2.0), FitOptions::default().alpha] {
                let o = FitOptions { alpha: alpha.clone(), seed: 100 + seed, ..FitOptions::default() };
                let t0 = Instant::now();
                let r = fingerprint::fit(&st, &o).unwrap();
                println!(
                    "truth ({fi},{fe}) seed {seed} {:?}: f_i {:.3} f_e {:.3} α {} θ {:.3} τ {:.3} ν {:.3} στ {:.3} σν {:.3} D_rel {:.4} in {:?}",
                    alpha, r.fit.f_i, r.fit.f_e, r.fit.alpha, r.honest_params.theta, r.honest_params.tau, r.honest_params.nu,
                    r.honest_params.sigma_tau, r.honest_params.sigma_nu, r.fit.distance_rel, t0.elapsed()
                );
            }
        }
    }
}

#[test]
#[ignore]
fn explore_real() {
    for year in [2011u32, 2012, 2018] {
        let Some(e) = load(year) else { return };
        let st = fingerprint::select(&e, &Selection::default()).unwrap();
        for alpha in [AlphaMode::Fixed(2.0), FitOptions::default().alpha] {
            let o = FitOptions { alpha: alpha.clone(), ..FitOptions::default() };
            let t0 = Instant::now();
            let r = fingerprint::fit(&st, &o).unwrap();
            println!(
                "{year} n={} {:?}: f_i {:.3} f_e {:.3} α {} θ {:.3} τ {:.3} ν {:.3} στ {:.3} σν {:.3} D_rel {:.4} D_honest/D {:.2} in {:?}",
                r.n, alpha, r.fit.f_i, r.fit.f_e, r.fit.alpha, r.honest_params.theta, r.honest_params.tau, r.honest_params.nu,
                r.honest_params.sigma_tau, r.honest_params.sigma_nu, r.fit.distance_rel, r.fit.distance_honest / r.fit.distance, t0.elapsed()
            );
        }
    }
}

#[test]
#[ignore]
fn explore_passes() {
    let passes: usize = std::env::var("FP_PASSES").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let step: f64 = std::env::var("FP_STEP").ok().and_then(|s| s.parse().ok()).unwrap_or(0.008);
    let csims: usize = std::env::var("FP_CSIMS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    for (fi, fe) in [(0.30, 0.0), (0.10, 0.0), (0.10, 0.02), (0.05, 0.05)] {
        for seed in 1..=3u64 {
            let (st, _) = self_consistent(seed, 50_000, Truth { f_i: fi, f_e: fe, ..BASE });
            let t0 = Instant::now();
            let fixed = if std::env::var("FP_TRUTH").is_ok() { Some((0.55, 0.09, 0.5, 0.1)) } else { None };
            let o = FitOptions { seed: 100 + seed, honest_fixed: fixed, honest_passes: passes, honest_step: step, coarse_sims: csims, ..FitOptions::default() };
            let r = fingerprint::fit(&st, &o).unwrap();
            println!(
                "truth {fi:.2} {fe:.2} seed {seed}: f_i {:.3} f_e {:.3} τ {:.4} ν {:.4} σ_τ {:.4} σ_ν {:.4} D {:.0} {:?}",
                r.fit.f_i, r.fit.f_e, r.honest_params.tau, r.honest_params.nu, r.honest_params.sigma_tau, r.honest_params.sigma_nu, r.fit.distance, t0.elapsed()
            );
        }
    }
}

/// Seed-to-seed spread of the default fit on the real files (prints; FP_YEARS, FP_SEEDS).
#[test]
#[ignore]
fn explore_seeds_real() {
    let years: Vec<u32> = std::env::var("FP_YEARS").unwrap_or("2018".into()).split(',').map(|s| s.parse().unwrap()).collect();
    let nseeds: u64 = std::env::var("FP_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    for year in years {
        let Some(e) = load(year) else { return };
        let st = fingerprint::select(&e, &Selection::default()).unwrap();
        let mut v = vec![];
        for seed in 0..nseeds {
            let t0 = Instant::now();
            let r = fingerprint::fit(&st, &FitOptions { seed: 1000 + seed, ..FitOptions::default() }).unwrap();
            println!(
                "{year} seed {seed}: n {} f_i {:.3} f_e {:.3} τ {:.4}/{:.4} ν {:.4}/{:.4} σ_τ {:.4} σ_ν {:.4} θ {:.3} D_rel {:.4} D_h/D {:.2} {:?}",
                r.n, r.fit.f_i, r.fit.f_e, r.honest_params_raw.tau, r.honest_params.tau, r.honest_params_raw.nu, r.honest_params.nu,
                r.honest_params.sigma_tau, r.honest_params.sigma_nu, r.honest_params.theta, r.fit.distance_rel,
                r.fit.distance_honest / r.fit.distance, t0.elapsed()
            );
            v.push((r.fit.f_i, r.fit.f_e));
        }
        let sd = |f: &dyn Fn(&(f64, f64)) -> f64| {
            let m = v.iter().map(f).sum::<f64>() / v.len() as f64;
            (m, (v.iter().map(|x| (f(x) - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt())
        };
        println!("{year}: f_i mean {:.3} sd {:.4}; f_e mean {:.3} sd {:.4}", sd(&|x| x.0).0, sd(&|x| x.0).1, sd(&|x| x.1).0, sd(&|x| x.1).1);
    }
}

#[test]
#[ignore]
fn explore_alpha_invalid() {
    for (inv, grid) in [(0.02, false), (0.0, true), (0.02, true)] {
        let (st, _) = self_consistent(11, 50_000, Truth { f_i: 0.10, f_e: 0.02, invalid: inv, ..BASE });
        let alpha = if grid { AlphaMode::Grid(vec![1.0, 2.0, 4.0]) } else { AlphaMode::Fixed(2.0) };
        let r = fingerprint::fit(&st, &FitOptions { alpha, seed: 5, ..FitOptions::default() }).unwrap();
        println!("invalid {inv} grid {grid}: f_i {:.3} f_e {:.3} α {} τ {:.4} ν {:.4}", r.fit.f_i, r.fit.f_e, r.fit.alpha, r.honest_params.tau, r.honest_params.nu);
    }
}
