//! Last-digit and 2BL tests (src/stats/digits/): numbers against scipy, the expectations
//! against their formulas, calibration and power on simulated elections, and Russia 2018.
//!
//! Independent numbers come from `python3 tests/independent/digits.py` (scipy 1.17.1,
//! numpy 2.4.6); its output is quoted next to each assertion.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use tallyscope::stats::digits::sim::{SimOptions, Sizes, generate};
use tallyscope::stats::digits::*;
use tallyscope::stats::digits::prior::Prior;

fn close(a: f64, b: f64, rel: f64) {
    assert!((a - b).abs() <= rel * b.abs().max(1e-300), "{a} vs {b} (rel {rel})");
}

// ---------------------------------------------------------------------------------------
// Hand-made cases checked against scipy

#[test]
fn chi_square_matches_scipy() {
    // scipy: chi2 uniform: stat=42.9230769231 p=2.22682622422e-06
    let (x, p) = chi2_uniform(&[30, 12, 9, 11, 10, 25, 8, 10, 7, 8]);
    close(x, 42.9230769231, 1e-10);
    close(p, 2.22682622422e-06, 1e-8);
    // scipy: chi2 benford: stat=0.39476271985 p=0.999989033179
    let (x, p) = chi2_gof(&[120, 110, 108, 105, 100, 98, 95, 92, 90, 82], &benford_second());
    close(x, 0.39476271985, 1e-9);
    close(p, 0.999989033179, 1e-10);
}

#[test]
fn binomial_test_matches_scipy() {
    // scipy.stats.binomtest(k, n, p).pvalue and binom.cdf(k, n, p)
    let cases = [
        (31, 400, 0.10, 0.155769797716, 0.0745789271723),
        (52, 400, 0.18, 0.00907716343146, 0.00432649836296),
        (90, 400, 0.18, 0.0225515575935, 0.990580351868),
        (3, 10, 0.2, 0.429574656, 0.8791261184),
        (150, 1000, 0.2, 5.35468953457e-05, 2.6443381909e-05),
        (250, 1000, 0.2, 0.000122629835096, 0.999949295463),
        (80000, 800000, 0.1, 1.0, 0.500941619558),
        (79000, 800000, 0.1, 0.000191084302646, 9.52280319665e-05),
    ];
    for (k, n, p, two, less) in cases {
        // statrs' regularised incomplete beta is good to ~1e-7 relative at n ~ 10^6
        // (0.5009414943 vs scipy/boost 0.500941619558), 1e-9 at n ~ 10^3
        let tol = if n > 100_000 { 1e-6 } else { 1e-8 };
        close(binom_test_two_sided(k, n, p), two, tol);
        close(binom_cdf(k, n, p), less, tol);
    }
}

#[test]
fn benford_second_digit_expectations() {
    let q = benford_second();
    // the formula, written out again
    for (d, &qd) in q.iter().enumerate() {
        let f: f64 = (1..=9).map(|k| (1.0 + 1.0 / (10.0 * k as f64 + d as f64)).log10()).sum();
        close(qd, f, 1e-15);
    }
    // published (Mebane 2006, Table 1; Nigrini): .120 .114 .109 .104 .100 .097 .093 .090 .088 .085
    let published = [0.120, 0.114, 0.109, 0.104, 0.100, 0.097, 0.093, 0.090, 0.088, 0.085];
    for d in 0..10 {
        assert!((q[d] - published[d]).abs() < 0.0005 + 1e-12, "q{d} = {}", q[d]);
    }
    // scipy/numpy: 0.119679268597 … 0.084997352058, mean 4.187389706929
    close(q[0], 0.119679268597, 1e-11);
    close(q[9], 0.084997352058, 1e-11);
    close(q.iter().sum::<f64>(), 1.0, 1e-14);
    close(benford_second_mean(), 4.187389706929, 1e-12);
    assert_eq!(format!("{:.3}", benford_second_mean()), "4.187");
}

#[test]
fn pair_expectations_by_enumeration() {
    // all 100 last-two-digit pairs (a, b)
    let (mut rep, mut adj) = (0, 0);
    for a in 0..10i32 {
        for b in 0..10i32 {
            rep += (a == b) as i32;
            adj += ((a - b).abs() == 1) as i32;
        }
    }
    assert_eq!((rep, adj), (10, 18));
    let (r, a) = pair_expectations();
    assert_eq!((r, a), (0.10, 0.18));
}

#[test]
fn digit_helpers() {
    assert_eq!(second_digit(9), None);
    assert_eq!(second_digit(10), Some(0));
    assert_eq!(second_digit(19), Some(9));
    assert_eq!(second_digit(1234), Some(2));
    assert_eq!(second_digit(4_000_000_000), Some(0));
    assert_eq!(last_digit(1235), 5);
    assert_eq!(round_pct(1, 8), 13); // 12.5 → 13 (halves up)
    assert_eq!(round_pct(2, 3), 67);
    assert_eq!(round_pct(500, 1000), 50);
    let mut t = PairTally::default();
    for c in [11, 12, 123, 1000, 98, 77] {
        t.add(c);
    }
    // 11 rep, 12 adj, 123 (2,3) adj, 1000 (0,0) rep, 98 adj, 77 rep
    assert_eq!((t.n, t.repeated, t.adjacent), (6, 3, 3));
}

#[test]
fn bootstrap_interval_is_seeded_and_sane() {
    let tally = [30, 12, 9, 11, 10, 25, 8, 10, 7, 8];
    let v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let a = bootstrap_mean_ci(&tally, &v, 2000, 0.05, 7, 0);
    let b = bootstrap_mean_ci(&tally, &v, 2000, 0.05, 7, 0);
    assert_eq!(a, b);
    // mean 474/130 = 3.646, sd of digits 2.879, n = 130: normal interval
    // 3.646 ± 1.96·0.2525 = [3.151, 4.141]; measured [3.177, 4.154]
    assert!((a.0 - 3.151).abs() < 0.05 && (a.1 - 4.141).abs() < 0.05, "{a:?}");
}

#[test]
fn resampled_null_is_identical_for_any_thread_count() {
    let (e, _) = generate(&SimOptions { stations: 3000, seed: 5, ..Default::default() });
    let ro = ResampleOptions { draws: 99, jitter_sd: 0.1, seed: 11 };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| resampled_nulls(e.votes.clone(), 10, Place::Second, &ro))
    };
    let (a, b) = (run(1), run(2));
    for (x, y) in a.iter().zip(&b) {
        let (x, y) = (x.as_ref().unwrap(), y.as_ref().unwrap());
        assert_eq!((x.chi2, x.p_chi2, x.p_mean, x.chi2_null_mean), (y.chi2, y.p_chi2, y.p_mean, y.chi2_null_mean));
    }
    // the expected frequencies are a probability vector
    close(a[0].as_ref().unwrap().expected.iter().sum::<f64>(), 1.0, 1e-12);
}

// ---------------------------------------------------------------------------------------
// Calibration and power on simulated elections

fn last_tally(v: &[u32], min: u32) -> [u64; 10] {
    let mut h = [0u64; 10];
    for &c in v {
        if c >= min {
            h[last_digit(c)] += 1;
        }
    }
    h
}

/// Clean elections, 2,000 stations of lognormal size (median 1,000, long tail), turnout
/// Beta(6, 4), shares Dirichlet-like around (0.6, 0.25, 0.1, 0.05): the leader's naive
/// last-digit chi-square rejects at ≈ α. Measured: 0.041 (1,000 replicates).
#[test]
fn calibration_last_digit_leader() {
    let t0 = Instant::now();
    let reps = 1000;
    let mut rej = [0usize; 4];
    for s in 0..reps {
        let (e, _) = generate(&SimOptions { seed: 7000 + s, ..Default::default() });
        for j in 0..4 {
            rej[j] += (chi2_uniform(&last_tally(&e.votes[j], 10)).1 < 0.05) as usize;
        }
    }
    let rate: Vec<f64> = rej.iter().map(|&r| r as f64 / reps as f64).collect();
    eprintln!("last-digit chi-square rejection rates at alpha 0.05 (leader, 25%, 10%, 5%): {rate:?} in {:?}", t0.elapsed());
    assert!((0.03..=0.07).contains(&rate[0]), "leader {rate:?}");
    assert!((0.03..=0.07).contains(&rate[1]), "second {rate:?}");
    // the known failure: a 5% candidate (tens of votes per station) fails the naive test
    // most of the time (measured 0.655)
    assert!(rate[3] > 0.5, "{rate:?}");
}

/// Small counts break last-digit uniformity: a 90% leader and minor candidates with tens
/// of votes (shares 5%, 3%, 2%). Measured: 0.645, 0.985, 1.0 (400 replicates).
#[test]
fn small_counts_overreject() {
    let reps = 400;
    let mut rej = [0usize; 4];
    for s in 0..reps {
        let (e, _) = generate(&SimOptions { seed: 9000 + s, shares: vec![0.9, 0.05, 0.03, 0.02], ..Default::default() });
        for j in 0..4 {
            rej[j] += (chi2_uniform(&last_tally(&e.votes[j], 10)).1 < 0.05) as usize;
        }
    }
    let rate: Vec<f64> = rej.iter().map(|&r| r as f64 / reps as f64).collect();
    eprintln!("small counts: rejection rates (90%, 5%, 3%, 2%): {rate:?}");
    assert!(rate[1] > 0.5 && rate[2] > 0.9 && rate[3] > 0.95, "{rate:?}");
}

/// Issue 7: on clean elections with stations of 100–900 voters the classical 2BL rejects far
/// above α, the resampled 2BL stays in [0.03, 0.07]. Pooled counts of all candidates,
/// 10,000 stations; 400 replicates with B = 99 (p on a 1/100 grid: P(p ≤ 0.05) = 0.05
/// exactly under the null). Measured at σ = 0.15: classical 0.91, resampled chi-square
/// 0.045, resampled mean 0.045 (with 200 replicates: 0.915, 0.06, 0.04).
#[test]
fn classical_2bl_fails_resampled_holds() {
    let t0 = Instant::now();
    let reps = 400;
    let (mut classical, mut resampled, mut resampled_mean) = (0usize, 0usize, 0usize);
    for s in 0..reps {
        let (e, _) = generate(&SimOptions {
            seed: 1000 + s,
            stations: 10_000,
            sizes: Sizes::Uniform { lo: 100, hi: 900 },
            ..Default::default()
        });
        let ro = ResampleOptions { draws: 99, jitter_sd: ResampleOptions::default().jitter_sd, seed: s };
        let all: Vec<u32> = e.votes.concat();
        let r = resampled_null(all, 10, Place::Second, &ro).unwrap();
        classical += (chi2_gof(&r.observed, &benford_second()).1 < 0.05) as usize;
        resampled += (r.p_chi2 <= 0.05) as usize;
        resampled_mean += (r.p_mean <= 0.05) as usize;
    }
    let (c, r, m) = (classical as f64 / reps as f64, resampled as f64 / reps as f64, resampled_mean as f64 / reps as f64);
    eprintln!("2BL on clean 100-900 elections: classical {c}, resampled chi2 {r}, resampled mean {m} ({:?})", t0.elapsed());
    assert!(c > 0.8, "classical {c}");
    assert!((0.03..=0.07).contains(&r), "resampled {r}");
    assert!((0.03..=0.07).contains(&m), "resampled mean {m}");
}

/// Power: 5% of 20,000 stations with human-invented last digits (0 and 5 favoured) are
/// detected by the leader's last-digit chi-square and by `digits.last.05`.
#[test]
fn power_invented_digits() {
    let reps = 100;
    let (mut chi, mut c05) = (0usize, 0usize);
    for s in 0..reps {
        let (e, inv) = generate(&SimOptions { seed: 20_000 + s, stations: 20_000, invented: 0.05, ..Default::default() });
        assert!(inv.iter().filter(|&&x| x).count() > 800);
        let h = last_tally(&e.votes[0], 10);
        chi += (chi2_uniform(&h).1 < 0.05) as usize;
        let n: u64 = h.iter().sum();
        c05 += (binom_test_two_sided(h[0] + h[5], n, 0.2) < 0.05) as usize;
    }
    let (pc, p5) = (chi as f64 / reps as f64, c05 as f64 / reps as f64);
    eprintln!("power at 5% invented stations (20,000 stations): chi2 {pc}, last.05 {p5}");
    assert!(pc >= 0.9 && p5 >= 0.9, "{pc} {p5}");
}

// ---------------------------------------------------------------------------------------
// Russia 2018

fn data(name: &str) -> Option<tallyscope::Election> {
    let p = common::ru_data(name)?;
    Some(tallyscope::ingest::load(&p, &tallyscope::ingest::Options::default()).expect("load").election)
}

#[test]
fn russia_2018() {
    let Some(e) = data("2018.csv.zip") else { return };
    // fast part: everything but the resampled nulls
    let fast = DigitOptions { resample: ResampleOptions { draws: 0, ..Default::default() }, regions: false, ..Default::default() };
    let _ = analyze(&e, &fast).unwrap(); // warm-up
    let t0 = Instant::now();
    let r = analyze(&e, &fast).unwrap();
    let t_nation = t0.elapsed();
    let with_regions = DigitOptions { regions: true, ..fast.clone() };
    let t0 = Instant::now();
    let rr = analyze(&e, &with_regions).unwrap();
    let t_regions = t0.elapsed();
    let t0 = Instant::now();
    let full = analyze(&e, &DigitOptions { regions: false, ..Default::default() }).unwrap();
    let t_resampled = t0.elapsed();
    eprintln!("timings: nation {t_nation:?}, nation + 85 regions {t_regions:?}, nation with resampled 2BL (B = 499) {t_resampled:?}");
    for x in &full.nation {
        eprintln!(
            "{:48} n={:6} stat={:.5} p={:?} p_benford={:?} ci=[{:?}, {:?}]",
            x.test,
            x.n,
            x.statistic,
            x.p,
            x.extra.get("p_benford"),
            x.extra.get("ci_lo"),
            x.extra.get("ci_hi")
        );
    }
    assert_eq!((r.included, r.excluded_abroad), (97_299, 400));
    // The exact per-station nulls dominate: 0.56 s in the bench (digits/2018/exact_nulls,
    // 2 shared cores); ~12 ms before them. Generous bound: other tests run in parallel.
    assert!(t_nation.as_secs_f64() < 3.0, "{t_nation:?}");
    let p = |name: &str| r.get(name).unwrap_or_else(|| panic!("{name}")).p.unwrap();
    // DESIGN.md: every minor candidate fails the naive (uniform) chi-square, now the
    // descriptive p_uniform: all seven minor candidates p < 1e-30; the leader does not
    // reject (chi2 13.10, p 0.158). The exact per-station null (the default p, the
    // posterior predictive of each commission's beta prior, stats::digits::prior): Putin
    // 10.78 (p 0.291); Grudinin, Zhirinovsky, Sobchak, Titov, Yavlinsky p > 0.35; Baburin
    // 20.5 (p 0.015) and Suraykin 31.8 (p 2e-4), whose counts are mostly below 10. The
    // plug-in null Binomial(n, x/n) (`DigitNull::Plugin`) gave them p 5e-50 and 7e-89: its
    // spread, doubled around the filter count ≥ 10, rejected 6 of 6 clean replicates shaped
    // like this file (tests/calibrate_inline.rs measures the default's rates: 0.070, 0.050).
    let putin = "Путин Владимир Владимирович";
    let plugin = analyze(&e, &DigitOptions { null: DigitNull::Plugin, ..fast.clone() }).unwrap();
    for c in &e.candidates {
        let t = r.get(&format!("digits.last.chi2.{c}")).unwrap();
        let old = plugin.get(&format!("digits.last.chi2.{c}")).unwrap().p.unwrap();
        if c == putin {
            close(t.extra["chi2_uniform"], 13.101538, 1e-6);
            assert!((t.extra["p_uniform"] - 0.158).abs() < 0.001);
            assert!((t.p.unwrap() - 0.291).abs() < 0.001, "{:?}", t.p);
            assert!((old - 0.317).abs() < 0.001, "{old}");
            assert_eq!(t.n, 97_028);
        } else {
            assert!(t.extra["p_uniform"] < 1e-30, "{c}: {:?}", t.extra["p_uniform"]);
            if c.starts_with("Бабурин") {
                assert!((t.p.unwrap() - 0.0149).abs() < 0.0005 && old < 1e-40, "{c}: {:?} {old}", t.p);
            } else if c.starts_with("Сурайкин") {
                assert!((1e-4..4e-4).contains(&t.p.unwrap()) && old < 1e-80, "{c}: {:?} {old}", t.p);
            } else {
                assert!(t.p.unwrap() > 0.35, "{c}: {:?}", t.p);
            }
        }
    }
    assert!(r.get("digits.last.chi2.pooled").unwrap().extra["p_uniform"] < 1e-300);
    // pooled: 0.053 (the plug-in 9e-10)
    assert!((p("digits.last.chi2.pooled") - 0.0526).abs() < 0.0005, "{}", p("digits.last.chi2.pooled"));
    assert!((1e-10..1e-8).contains(&plugin.get("digits.last.chi2.pooled").unwrap().p.unwrap()));
    // repeated 0.1117 and adjacent 0.2175 of 376,617 counts ≥ 10: both above expectation
    // (small counts again: minor candidates' counts 10–20 are "adjacent"/"repeated" often)
    let rep = r.get("digits.last.repeated").unwrap();
    let adj = r.get("digits.last.adjacent").unwrap();
    assert_eq!(rep.n, 376_617);
    assert!((rep.statistic - 0.11172).abs() < 1e-4 && (adj.statistic - 0.21751).abs() < 1e-4);
    // EFT statistics of the leader
    let lastc = r.get("digits.last.mean").unwrap();
    assert!((lastc.statistic - 4.47999).abs() < 1e-4);
    assert!((lastc.extra["p_uniform"] - 0.030).abs() < 0.001);
    assert!((p("digits.last.mean") - 0.0815).abs() < 0.001, "{}", p("digits.last.mean"));
    assert!((r.get("digits.last.05").unwrap().statistic - 0.20213).abs() < 1e-4);
    let p05 = r.get("digits.pct05.turnout").unwrap();
    assert!((p05.statistic - 0.21894).abs() < 1e-4 && p05.extra["p_uniform"] < 1e-40, "{p05:?}");
    // the exact null of each station's rounded turnout: still rejects (p 7e-13)
    assert!(p05.p.unwrap() < 1e-10, "{p05:?}");
    let m2 = r.get("digits._2BL").unwrap();
    assert!((m2.statistic - 4.01544).abs() < 1e-4);
    assert!(m2.extra["p_benford"] < 1e-70);
    // the resampled 2BL: the classical Benford p of every candidate is tiny (< 1e-20); the
    // resampled p (σ = 0.15, B = 499) is ≤ 0.05 for Putin, Grudinin, Zhirinovsky, Baburin,
    // Suraykin and pooled, not for Sobchak, Titov, Yavlinsky (see the report: the minor
    // candidates' small-count shapes are not preserved by a 0.15 jitter)
    for (name, rs) in &full.resampled {
        let (_, pb) = chi2_gof(&rs.observed, &benford_second());
        assert!(pb < 1e-20, "{name} {pb}");
    }
    let small_p: Vec<&str> = full.resampled.iter().filter(|(_, x)| x.p_chi2 <= 0.05).map(|(n, _)| n.as_str()).collect();
    eprintln!("resampled 2BL p <= 0.05: {small_p:?}");
    assert_eq!(small_p.len(), 6, "{small_p:?}");
    // regions: q-values filled, 85 units
    let regions: Vec<_> = rr.regions.iter().filter(|x| x.test == "digits.last.chi2.pooled").collect();
    assert_eq!(regions.len(), 85);
    assert!(regions.iter().all(|x| x.q.is_some()));
    // per commission runs (no bootstrap, to stay fast) and labels commissions by region
    let com = analyze(&e, &DigitOptions { regions: false, commissions: true, unit_bootstrap: 0, ..fast.clone() }).unwrap();
    let n_com = com.commissions.iter().filter(|x| x.test == "digits.last.chi2.pooled").count();
    eprintln!("commissions with a pooled last-digit result: {n_com}; first scope {}", com.commissions[0].scope);
    assert!(n_com > 2000 && com.commissions[0].scope.starts_with("commission:") && com.commissions[0].scope.contains('/'));
}

// ---------------------------------------------------------------------------------------
// Penultimate digit (opt-in)

#[test]
fn penultimate_by_hand() {
    // counts 100 111 125 230 345 1009 2015 (99 and 50 are below 100, not tested):
    // tens digits 0 1 2 3 4 0 1 → tally (2, 2, 1, 1, 1, 0, 0, 0, 0, 0), n = 7, expected 0.7
    // chi2 = (2·1.3² + 3·0.3² + 5·0.7²)/0.7 = 6.1/0.7 = 8.714285714
    // scipy.stats.chisquare: statistic=8.714285714285714 pvalue=0.46405518234650855
    let counts = [100u32, 111, 125, 230, 345, 1009, 2015, 99, 50];
    let mut h = [0u64; 10];
    for c in counts.into_iter().filter(|&c| c >= 100) {
        h[penultimate_digit(c).unwrap()] += 1;
    }
    assert_eq!(h, [2, 2, 1, 1, 1, 0, 0, 0, 0, 0]);
    assert_eq!(penultimate_digit(9), None);
    let r = penultimate_results(&[h], &["A".to_string()], "nation", 100);
    assert_eq!(r.len(), 2); // A and pooled
    assert_eq!(r[0].test, "digits.penultimate.chi2.A");
    close(r[0].statistic, 8.714285714285714, 1e-12);
    close(r[0].p.unwrap(), 0.46405518234650855, 1e-9);
    assert_eq!(r[1].test, "digits.penultimate.chi2.pooled");
    // through analyze: off by default, on when asked; counts < 100 left out
    let (e, _) = generate(&SimOptions { stations: 500, seed: 3, ..Default::default() });
    let off = analyze(&e, &DigitOptions { regions: false, resample: ResampleOptions { draws: 0, ..Default::default() }, ..Default::default() }).unwrap();
    assert!(off.get("digits.penultimate.chi2.pooled").is_none());
    let on = analyze(&e, &DigitOptions { penultimate: true, regions: false, resample: ResampleOptions { draws: 0, ..Default::default() }, ..Default::default() }).unwrap();
    let want: usize = e.votes.iter().flatten().filter(|&&c| c >= 100).count();
    assert_eq!(on.get("digits.penultimate.chi2.pooled").unwrap().n, want);
}

fn penult_tally(v: &[u32]) -> [u64; 10] {
    let mut h = [0u64; 10];
    for &c in v.iter().filter(|&&c| c >= 100) {
        h[penultimate_digit(c).unwrap()] += 1;
    }
    h
}

/// Calibration: the leader's penultimate-digit chi-square on clean elections with large
/// stations (1,000–3,000 voters, leader counts in the hundreds to thousands) holds α; with
/// stations of 100–900 voters (leader counts of a few hundred, similar sizes) it does not.
/// Measured (400 replicates of 3,000 stations): 0.0475 and 1.0.
#[test]
fn penultimate_calibration() {
    let reps = 400;
    let (mut large, mut small) = (0usize, 0usize);
    for s in 0..reps {
        let (e, _) = generate(&SimOptions { seed: 40_000 + s, stations: 3000, sizes: Sizes::Uniform { lo: 1000, hi: 3000 }, ..Default::default() });
        large += (chi2_uniform(&penult_tally(&e.votes[0])).1 < 0.05) as usize;
        let (e, _) = generate(&SimOptions { seed: 50_000 + s, stations: 3000, sizes: Sizes::Uniform { lo: 100, hi: 900 }, ..Default::default() });
        small += (chi2_uniform(&penult_tally(&e.votes[0])).1 < 0.05) as usize;
    }
    let (l, sm) = (large as f64 / reps as f64, small as f64 / reps as f64);
    eprintln!("penultimate digit, leader, type-I at 0.05: stations 1000-3000: {l}; stations 100-900: {sm}");
    assert!((0.03..=0.07).contains(&l), "large {l}");
    // the validity note's reason, measured: 1.0 (every replicate rejects)
    assert!(sm > 0.9, "small {sm}");
}

/// Per-commission digit runs through `analyze` (issue 4, item 7): invented last digits in
/// one commission of 200 give that commission the smallest pooled last-digit q, below
/// 0.01, and few others reach 0.05 (BH across the 200).
#[test]
fn per_commission_runs_find_the_invented_commission() {
    use std::sync::Arc;
    use tallyscope::simulate::{self, SimConfig};
    let target = "Commission 04-011";
    let cfg = SimConfig {
        stations: 8_000,
        regions: 10,
        commissions_per_region: Some(20),
        seed: 3,
        frauds: vec![format!("invented:1:0.8@commission={target}").parse().unwrap()],
        ..SimConfig::default()
    };
    let sim = simulate::simulate(&cfg).unwrap();
    let opt = tallyscope::analysis::Options { fingerprint: false, bootstrap: 0, digit_draws: 0, ..Default::default() };
    let a = tallyscope::analysis::run_election(Arc::new(sim.election()), Default::default(), &opt);
    let rows: Vec<_> = a.results.iter().filter(|r| r.test == "digits.last.chi2.pooled" && r.scope.starts_with("commission:")).collect();
    assert_eq!(rows.len(), 200);
    let hit = rows.iter().find(|r| r.scope == format!("commission:Region 04/{target}")).expect("the target's row");
    let q = hit.q.unwrap();
    assert!(q < 0.01, "target q {q}");
    let min_other = rows.iter().filter(|r| r.scope != hit.scope).filter_map(|r| r.q).fold(1.0, f64::min);
    assert!(q < min_other, "target q {q}, another commission's {min_other}");
    let others_05 = rows.iter().filter(|r| r.scope != hit.scope && r.q.is_some_and(|q| q <= 0.05)).count();
    eprintln!("target q {q:.2e}; smallest other q {min_other:.3}; others at q <= 0.05: {others_05}");
    assert!(others_05 <= 2, "{others_05}");
    // The commission list carries it as evidence.
    let u = a.commissions.iter().find(|u| u.path.last().map(String::as_str) == Some(target)).unwrap();
    assert!(u.evidence.iter().any(|e| e.name == "last-digit chi-square (pooled)" && e.points > 2.0), "{:?}", u.evidence);
}

// ---------------------------------------------------------------------------------------
// The exact per-station null (issue: digit tests that hold where counts are small)

/// Options for the calibration loops: no resampling, no bootstrap, nation only.
fn exact_only() -> DigitOptions {
    DigitOptions { resample: ResampleOptions { draws: 0, ..Default::default() }, regions: false, bootstrap: 0, ..Default::default() }
}

/// Type-I rates at α = 0.05 of every national digit test with a p over `reps` clean elections.
fn type_one(reps: u64, make: &dyn Fn(u64) -> tallyscope::Election) -> BTreeMap<String, (usize, usize, usize)> {
    type_one_with(reps, make, &exact_only())
}

/// As [`type_one`] with the given options.
fn type_one_with(reps: u64, make: &dyn Fn(u64) -> tallyscope::Election, o: &DigitOptions) -> BTreeMap<String, (usize, usize, usize)> {
    let mut rej: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut sw: BTreeMap<String, usize> = BTreeMap::new();
    for s in 0..reps {
        let e = make(s);
        let r = analyze(&e, o).unwrap();
        for t in &r.nation {
            let Some(p) = t.p else { continue };
            let x = rej.entry(t.test.clone()).or_default();
            x.0 += (p <= 0.05) as usize;
            x.1 += 1;
            let old = t.extra.get("p_uniform").or(t.extra.get("p_benford")).copied().unwrap_or(f64::NAN);
            x.2 += (old <= 0.05) as usize;
            *sw.entry(t.test.clone()).or_default() += (t.extra.get("p_model").copied().unwrap_or(f64::NAN) <= 0.05) as usize;
        }
    }
    eprintln!("model covariance (descriptive p_model): {:?}", sw.iter().map(|(k, v)| (k.clone(), *v as f64 / reps as f64)).collect::<Vec<_>>());
    rej
}

fn print_rates(what: &str, rej: &BTreeMap<String, (usize, usize, usize)>) {
    for (t, (k, n, old)) in rej {
        eprintln!("{what}: {t:32} exact {:.3}  uniform/Benford {:.3}  ({n})", *k as f64 / *n as f64, *old as f64 / *n as f64);
    }
}

/// Each rate consistent with 0.05 within its Monte Carlo error (two-sided exact binomial
/// p ≥ 0.05/m over the m tests: at 600 replicates about [0.024, 0.078]), and their mean in
/// [0.04, 0.06]. Why not "each in [0.03, 0.07]": at 600 replicates an exact null's rate
/// leaves that window with probability 0.024 per test, so one of 17 tests does a third of
/// the time by chance (the plug-in null passed it at these seeds; the beta-binomial one
/// has the pooled 2BL at 43 of 600).
fn assert_rates(rej: &BTreeMap<String, (usize, usize, usize)>) {
    let m = rej.len() as f64;
    let inside = rej.values().filter(|(k, n, _)| (0.03..=0.07).contains(&(*k as f64 / *n as f64))).count();
    eprintln!("{inside} of {} rates in [0.03, 0.07]", rej.len());
    for (t, (k, n, _)) in rej {
        let p = common::binomial_two_sided_p(*k, *n, 0.05);
        assert!(p >= 0.05 / m, "{t}: {k}/{n}, p = {p:.2e} against 0.05");
    }
    let mean = rej.values().map(|(k, n, _)| *k as f64 / *n as f64).sum::<f64>() / m;
    assert!((0.04..=0.06).contains(&mean), "mean rate {mean}");
}

/// Every digit test's exact null holds on clean elections with small counts (`digits::sim`:
/// 2,000 stations of lognormal size, median 1,000; shares around (0.6, 0.25, 0.1, 0.05),
/// so the 5% candidate has tens of votes per station), 600 replicates: each rate within
/// its Monte Carlo error of 0.05 ([`assert_rates`]; measured: 16 of 17 in [0.03, 0.07],
/// the pooled 2BL 0.072). The uniform null of the 5% candidate rejects almost always
/// (printed).
#[test]
fn exact_null_calibrated_on_clean_elections() {
    let t0 = Instant::now();
    let rej = type_one(600, &|s| generate(&SimOptions { seed: 40_000 + s, ..Default::default() }).0);
    print_rates("digits::sim 2000", &rej);
    eprintln!("{:?}", t0.elapsed());
    assert_rates(&rej);
}

/// The same on `tallyscope simulate`'s clean elections (5 candidates, logit-normal
/// effects by region, commission and station; 5,000 stations, 300 replicates).
#[test]
fn exact_null_calibrated_on_simulated_elections() {
    use tallyscope::simulate::{SimConfig, simulate};
    let t0 = Instant::now();
    let rej = type_one(300, &|s| simulate(&SimConfig { stations: 5_000, seed: 50_000 + s, ..SimConfig::default() }).unwrap().election());
    print_rates("simulate 5000", &rej);
    eprintln!("{:?}", t0.elapsed());
    assert_rates(&rej);
}

/// `P(Binomial(n, x/n) = k)` by the textbook formula, for the hand computations.
fn pmf_direct(k: u64, n: u64, x: u64) -> f64 {
    let p = x as f64 / n as f64;
    let mut c = 1.0f64;
    for i in 0..k {
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    c * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32)
}

/// The exact null on a 3-station fixture, against a hand computation: station A 1 of 2
/// votes (P(X=1) = 1/2, P(X=2) = 1/4), B 2 of 3 (P = 6/27, 12/27, 8/27 for 1, 2, 3), C 10 of
/// 10 (certain). Filter `X ≥ 1`: E = (1, 1/2 + 6/27, 1/4 + 12/27, 8/27, 0, …),
/// G = 3/4 + 26/27 + 1; e = E/G. Var(wᵀY) = Σ_i Var(wᵀZ_i), `Z_i = (δ_digit − e)·1(X_i ≥ 1)`,
/// enumerated outcome by outcome.
#[test]
fn exact_null_by_hand() {
    let st = [(1u64, 2u64), (2, 3), (10, 10)];
    let mut null = ShareNull::<10>::default();
    for &(x, n) in &st {
        let s = station_digits(x, n, 1, false);
        let a = {
            let mut a = [0.0; 10];
            a[(x % 10) as usize] = 1.0;
            a
        };
        null.add(&s.last, s.g(), &a, 1.0);
    }
    let e_hand = [1.0, 0.5 + 6.0 / 27.0, 0.25 + 12.0 / 27.0, 8.0 / 27.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let g_hand = 0.75 + 26.0 / 27.0 + 1.0;
    for d in 0..10 {
        assert!((null.e[d] - e_hand[d]).abs() < 1e-14, "E{d} {} {}", null.e[d], e_hand[d]);
        assert!((null.shares()[d] - e_hand[d] / g_hand).abs() < 1e-14);
    }
    assert!((null.g - g_hand).abs() < 1e-14);
    let e: Vec<f64> = e_hand.iter().map(|x| x / g_hand).collect();
    let w = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let mut var = 0.0;
    for &(x, n) in &st {
        // outcomes k = 0..=n: wᵀZ = (w_d − wᵀe)·1(k ≥ 1)
        let we: f64 = w.iter().zip(&e).map(|(a, b)| a * b).sum();
        let (mut m1, mut m2) = (0.0, 0.0);
        for k in 0..=n {
            let pk = pmf_direct(k, n, x);
            let z = if k >= 1 { w[(k % 10) as usize] - we } else { 0.0 };
            m1 += pk * z;
            m2 += pk * z * z;
        }
        var += m2 - m1 * m1;
    }
    // observed: digits 1, 2, 0 of the three counts
    let obs = [1u64, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    let (t, sd) = null.linear(&obs, 3, &w);
    let t_hand = 0.0 + 1.0 + 2.0 - 3.0 * w.iter().zip(&e).map(|(a, b)| a * b).sum::<f64>();
    assert!((t - t_hand).abs() < 1e-12, "{t} {t_hand}");
    assert!((sd * sd - var).abs() < 1e-12, "{} {var}", sd * sd);
}

/// The exact null against a Monte Carlo of the same model (20,000 draws of every station
/// of a fixture as Binomial(n, x/n)): expected digit counts (last, second, pairs, pct05 of
/// the shares) within 4 Monte Carlo standard errors, and the variances of the linear
/// statistics (mean last digit, share of 0/5, mean second digit, repeated pairs) within 5%
/// (the Monte Carlo variance's relative sd is √(2/20,000) = 1%). The same for the
/// default null, the posterior predictive of a commission prior (`stats::digits::prior`):
/// each station's count drawn as `p ~ Beta(a₀ + x, b₀ + n − x)`, then `Binomial(n, p)`
/// (rand_distr's samplers, independent of the pmf walk), zero counts included.
#[test]
fn exact_null_matches_monte_carlo() {
    monte_carlo_check(None);
    // a commission prior of share 0.04 and strength 600 (a₀ = 24, b₀ = 576)
    monte_carlo_check(Some(Prior { a: 24.0, b: 576.0 }));
    // a weak prior (strength 5: the posterior leans on the count; a₀ < 1 at zero counts)
    monte_carlo_check(Some(Prior { a: 0.4, b: 4.6 }));
}

fn monte_carlo_check(prior: Option<Prior>) {
    use rand::SeedableRng;
    use rand_distr::{Beta, Binomial, Distribution};
    eprintln!("prior {prior:?}");
    let st: Vec<(u64, u64)> = vec![(12, 400), (35, 900), (7, 60), (150, 600), (3, 1000), (10, 11), (480, 1300), (1500, 2100), (25, 120), (64, 64), (99, 450), (11, 2000), (0, 700)];
    let mut null = ExactUnit::new(1);
    let mut p05 = 0.0;
    for &(x, n) in &st {
        null.add_station(std::iter::once(x as u32), n, 0, 10, true, None, prior.as_ref().map(std::slice::from_ref));
        p05 += match prior {
            None => station_p05(x, n),
            Some(p) => station_digits_with(x, n, 10, true, Some(p)).p05,
        };
    }
    let last = &null.last[0];
    let second = &null.second[0];
    let draws = 20_000;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(77);
    let mut sum_last = [0.0f64; 10];
    let mut sum_second = [0.0f64; 10];
    let (mut sum_pairs, mut sum_p05) = ([0.0f64; 2], 0.0);
    let (e_last, e_second, e_pairs) = (last.shares(), second.shares(), null.pairs.shares());
    let mut stats: Vec<[f64; 4]> = Vec::new();
    for _ in 0..draws {
        let (mut hl, mut h2, mut pr) = ([0u64; 10], [0u64; 10], PairTally::default());
        let mut k05 = 0.0;
        for &(x, n) in &st {
            let p = match prior {
                None => x as f64 / n as f64,
                Some(pr) => Beta::new(pr.a + x as f64, pr.b + (n - x) as f64).unwrap().sample(&mut rng),
            };
            let k = Binomial::new(n, p).unwrap().sample(&mut rng) as u32;
            if k >= 10 {
                hl[last_digit(k)] += 1;
                h2[second_digit(k).unwrap()] += 1;
                pr.add(k);
            }
            k05 += (round_pct(k, n as u32) % 5 == 0) as u8 as f64;
        }
        for d in 0..10 {
            sum_last[d] += hl[d] as f64;
            sum_second[d] += h2[d] as f64;
        }
        sum_pairs[0] += pr.repeated as f64;
        sum_pairs[1] += pr.adjacent as f64;
        sum_p05 += k05;
        let nl: u64 = hl.iter().sum();
        let n2: u64 = h2.iter().sum();
        let y_mean: f64 = (0..10).map(|d| d as f64 * (hl[d] as f64 - e_last[d] * nl as f64)).sum();
        let y05 = (hl[0] + hl[5]) as f64 - (e_last[0] + e_last[5]) * nl as f64;
        let y2: f64 = (0..10).map(|d| d as f64 * (h2[d] as f64 - e_second[d] * n2 as f64)).sum();
        let yr = pr.repeated as f64 - e_pairs[0] * pr.n as f64;
        stats.push([y_mean, y05, y2, yr]);
    }
    let dr = draws as f64;
    let check = |what: &str, mc_sum: f64, exact: f64, var_one: f64| {
        let se = (var_one / dr).sqrt().max(1e-9);
        eprintln!("{what}: exact {exact:.5}, Monte Carlo {:.5} (se {se:.5})", mc_sum / dr);
        assert!((mc_sum / dr - exact).abs() < 4.0 * se, "{what}: exact {exact}, MC {}", mc_sum / dr);
    };
    for d in 0..10 {
        // a count is a sum of independent Bernoullis: variance ≤ its mean
        check(&format!("last d{d}"), sum_last[d], last.e[d], last.e[d]);
        check(&format!("second d{d}"), sum_second[d], second.e[d], second.e[d]);
    }
    check("repeated", sum_pairs[0], null.pairs.e[0], null.pairs.e[0]);
    check("adjacent", sum_pairs[1], null.pairs.e[1], null.pairs.e[1]);
    check("pct05.share", sum_p05, p05, p05);
    assert!((null.p05_share.e[0] - p05).abs() < 1e-12);
    let digits = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let is05 = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    let zero = [0u64; 10];
    let exact_var = [
        last.linear(&zero, 0, &digits).1.powi(2),
        last.linear(&zero, 0, &is05).1.powi(2),
        second.linear(&zero, 0, &digits).1.powi(2),
        null.pairs.linear(&[0, 0], 0, &[1.0, 0.0]).1.powi(2),
    ];
    for (c, what) in ["mean last digit", "share 0/5", "mean second digit", "repeated pairs"].iter().enumerate() {
        let m = stats.iter().map(|s| s[c]).sum::<f64>() / dr;
        let v = stats.iter().map(|s| (s[c] - m).powi(2)).sum::<f64>() / (dr - 1.0);
        eprintln!("{what}: mean {m:.4} (0 exact), variance exact {:.4}, Monte Carlo {v:.4}", exact_var[c]);
        assert!((v / exact_var[c] - 1.0).abs() < 0.05, "{what}: {v} vs {}", exact_var[c]);
        assert!(m.abs() < 4.0 * (v / dr).sqrt(), "{what}: mean {m}");
    }
}

/// Power per fraud kind of `tallyscope simulate` (20,000 stations, 40 replicates each): the
/// rejection rate at α = 0.05 of each national digit test, with the exact null (the
/// default p) and with the uniform / Benford null it replaces (`p_uniform`, `p_benford`),
/// printed as a table. The uniform rates are not powers at α: on these clean elections the
/// uniform pooled test rejects 88% and last.05 8.7% (`exact_null_calibrated_on_simulated_elections`).
/// Measured (40 replicates, invented:0.02:0.8): pooled last digits 0.70 (uniform 1.0),
/// last.05 0.275 (0.475), the leader's last digits 0.125 (0.175): the exact null centred on
/// each station's own count explains part of an invented digit at small counts as
/// arithmetic, a loss the lead should weigh (see the closing note). Asserted: the pooled
/// exact test still finds 2% invented protocols at least half of the time.
#[test]
fn power_by_fraud_kind() {
    use tallyscope::simulate::{SimConfig, simulate};
    let reps = 40;
    for spec in ["invented:0.02:0.8", "invented:0.005:0.8", "integer:0.05:5", "copy:0.02"] {
        let make = |s: u64| {
            simulate(&SimConfig { stations: 20_000, seed: 60_000 + s, frauds: vec![spec.parse().unwrap()], ..SimConfig::default() })
                .unwrap()
                .election()
        };
        let rej = type_one(reps, &make);
        print_rates(&format!("power {spec}"), &rej);
        if std::env::var("TS_PLUGIN").is_ok() {
            print_rates(&format!("power {spec} (plug-in null)"), &type_one_with(reps, &make, &DigitOptions { null: DigitNull::Plugin, ..exact_only() }));
        }
        if spec == "invented:0.02:0.8" {
            let (k, n, _) = rej["digits.last.chi2.pooled"];
            assert!(2 * k >= n, "pooled last digits: {k}/{n}");
        }
    }
}

/// Many stations and a small candidate (2.5%: counts of 10–40), where the binomial
/// smoothing of each count's null could show (printed; 100 replicates of 25,000 stations).
/// Measured: every rate in [0.01, 0.09] (last.mean 0.01, _2BL 0.09), the 2.5% candidate's last
/// digits 0.05 (uniform null 1.0). A second-order (Richardson) correction of the smoothing,
/// `2·P[Bin(n, x/n)] − P[Bin(2n, x/n) − x]`, was tried and changed nothing measurable here.
#[test]
#[ignore = "measurement, about a minute"]
fn exact_null_small_candidate_many_stations() {
    let rej = type_one(100, &|s| {
        generate(&SimOptions { seed: 70_000 + s, stations: 25_000, shares: vec![0.5, 0.3, 0.175, 0.025], ..Default::default() }).0
    });
    print_rates("digits::sim 25000 small", &rej);
}
