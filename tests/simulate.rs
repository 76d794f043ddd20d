//! Issue 3: the simulator. A clean election passes `check`; its turnout and share
//! distributions have the configured centres and spreads; each fraud kind changes
//! exactly the stations listed in the truth, in the stated direction and size;
//! `arithmetic` stations are exactly the ones `check` reports; same seed → same bytes
//! on 1 and 2 threads; `demo` produces its folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use tallyscope::checks::{self, Rule};
use tallyscope::simulate::{self, FraudKind, FraudSpec, SimConfig, Simulation, col, in_boxes, issued};

fn cfg(n: usize, seed: u64) -> SimConfig {
    SimConfig { stations: n, seed, ..SimConfig::default() }
}

fn with(kind: FraudKind, fraction: f64, n: usize, seed: u64) -> SimConfig {
    SimConfig { frauds: vec![FraudSpec::new(kind, fraction, kind.default_intensity())], ..cfg(n, seed) }
}

fn arithmetic_rule(r: Rule) -> bool {
    !matches!(r, Rule::DuplicateId | Rule::IdenticalProtocol)
}

#[test]
fn clean_election_passes_check_in_memory_and_through_the_csv() {
    let sim = simulate::simulate(&cfg(60_000, 21)).unwrap();
    let report = checks::run(&sim.election());
    assert_eq!(report.stations, 60_000);
    assert!(report.not_run.is_empty(), "{:?}", report.not_run);
    assert!(report.violations.is_empty(), "{:?}", &report.violations[..report.violations.len().min(5)]);

    // The CSV is recognised without flags and reads back to the same election.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.csv");
    simulate::write::write_protocols(&sim, std::fs::File::create(&p).unwrap()).unwrap();
    let ing = tallyscope::ingest::load(&p, &Default::default()).unwrap();
    let e = ing.election;
    let mine = sim.election();
    assert_eq!(e.len(), 60_000);
    assert_eq!(e.candidates, mine.candidates);
    assert_eq!(e.station, mine.station);
    assert_eq!(e.counts, mine.counts);
    assert_eq!(e.votes, mine.votes);
    assert_eq!(e.levels.len(), 2);
    assert_eq!(e.levels[1].labels, mine.levels[1].labels);
    assert!(e.special.iter().all(|s| s.is_none()));
    assert!(checks::run(&e).violations.is_empty());
}

/// Mean and variance of a sample.
fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0))
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Turnout `B/N` and A's share of valid votes, on the logit scale, at stations with
/// N ≥ 1000 (so neither ratio is 0 or 1), with each station's binomial variance of the
/// logit by the delta method, `1 / (n·p·(1 − p))`, and its commission.
struct Logits {
    commission: Vec<u32>,
    t: Vec<f64>,
    t_binvar: Vec<f64>,
    s: Vec<f64>,
    s_binvar: Vec<f64>,
}

fn logits(sim: &Simulation) -> Logits {
    let mut l = Logits { commission: vec![], t: vec![], t_binvar: vec![], s: vec![], s_binvar: vec![] };
    for k in 0..sim.len() {
        let r = sim.row(k);
        let (n, b, v, a) = (r[col::REGISTERED] as f64, issued(r) as f64, r[col::VALID] as f64, r[col::FIXED] as f64);
        if n < 1000.0 || b == 0.0 || b == n || a == 0.0 || a == v {
            continue;
        }
        let (t, s) = (b / n, a / v);
        l.commission.push(sim.station_commission[k]);
        l.t.push(logit(t));
        l.t_binvar.push(1.0 / (n * t * (1.0 - t)));
        l.s.push(logit(s));
        l.s_binvar.push(1.0 / (v * s * (1.0 - s)));
    }
    l
}

/// Pooled within-commission variance.
fn within(values: &[f64], group: &[u32]) -> f64 {
    let mut g: BTreeMap<u32, (f64, f64, usize)> = BTreeMap::new();
    for (v, c) in values.iter().zip(group) {
        let e = g.entry(*c).or_default();
        e.0 += v;
        e.1 += v * v;
        e.2 += 1;
    }
    let (mut ss, mut df) = (0.0, 0usize);
    for (s, s2, n) in g.values() {
        ss += s2 - s * s / *n as f64;
        df += n - 1;
    }
    ss / df as f64
}

#[test]
fn clean_turnout_and_share_have_the_configured_centres_and_spreads() {
    // Many regions so the region-level variance is estimated well.
    let c = SimConfig { stations: 200_000, regions: 100, seed: 5, ..SimConfig::default() };
    let sim = simulate::simulate(&c).unwrap();
    let l = logits(&sim);
    let n = l.t.len() as f64;
    assert!(n > 120_000.0, "{n} stations with N ≥ 1000");
    let cpr = c.commissions_per_region() as f64;
    for (name, x, binvar, e) in
        [("turnout", &l.t, &l.t_binvar, c.turnout), ("share", &l.s, &l.s_binvar, c.leader_share)]
    {
        let [sr, sc, ss] = e.sd;
        let bv = binvar.iter().sum::<f64>() / n;
        let (mean, var) = moments(x);

        // Centre: the mean logit is logit(centre). Its sampling sd is dominated by the
        // R region effects: sqrt(sr²/R + sc²/(R·cpr) + (ss² + bv)/n); unequal region sizes
        // inflate it a little (×1.2 allowed). Tolerance: 4 sd.
        let sd_mean = 1.2 * (sr * sr / 100.0 + sc * sc / (100.0 * cpr) + (ss * ss + bv) / n).sqrt();
        assert!(
            (mean - logit(e.centre)).abs() < 4.0 * sd_mean,
            "{name}: mean logit {mean:.4}, expected {:.4} ± {:.4}",
            logit(e.centre),
            4.0 * sd_mean
        );

        // Station spread: the pooled within-commission variance estimates ss² + the mean
        // binomial variance; its sd is about sqrt(2/df)·(ss² + bv). Tolerance: 4 sd.
        let w = within(x, &l.commission);
        let expect_w = ss * ss + bv;
        let sd_w = (2.0 / (n - 100.0 * cpr)).sqrt() * expect_w;
        assert!((w - expect_w).abs() < 4.0 * sd_w, "{name}: within-commission var {w:.5}, expected {expect_w:.5}");

        // Total spread: sr² + sc² + ss² + bv. The estimate's sd is dominated by the region
        // component, sr²·sqrt(2/(R−1)), plus the commission one, sc²·sqrt(2/(R·cpr)).
        // Tolerance: 4 sd.
        let expect_t = sr * sr + sc * sc + ss * ss + bv;
        let sd_t = sr * sr * (2.0f64 / 99.0).sqrt() + sc * sc * (2.0 / (100.0 * cpr)).sqrt();
        assert!(
            (var - expect_t).abs() < 4.0 * sd_t,
            "{name}: total var {var:.4}, expected {expect_t:.4} ± {:.4}",
            4.0 * sd_t
        );
    }
    // Invalid ballots: 1.5 % of ballots in boxes on average (station p = 0.015·exp(0.5 z)
    // has mean 0.015·e^{0.125} = 0.0170). Ratio of sums over 200k stations: ±3 %.
    let (mut inv, mut boxes) = (0u64, 0u64);
    for k in 0..sim.len() {
        inv += sim.row(k)[col::INVALID] as u64;
        boxes += in_boxes(sim.row(k)) as u64;
    }
    let ratio = inv as f64 / boxes as f64;
    assert!((ratio - 0.0170).abs() < 0.0170 * 0.03, "invalid share {ratio}");
}

/// Clean and dirty runs of one seed, the stations changed, and those listed in the truth.
fn pair(kind: FraudKind, fraction: f64) -> (Simulation, Simulation, BTreeSet<usize>) {
    let clean = simulate::simulate(&cfg(40_000, 9)).unwrap();
    let dirty = simulate::simulate(&with(kind, fraction, 40_000, 9)).unwrap();
    let changed: BTreeSet<usize> = (0..dirty.len()).filter(|&k| clean.row(k) != dirty.row(k)).collect();
    let listed: BTreeSet<usize> = (0..dirty.len()).filter(|&k| dirty.truth[k].fraud.is_some()).collect();
    assert_eq!(changed, listed, "{kind}: changed stations differ from the truth");
    assert!(dirty.truth.iter().all(|t| t.fraud.is_none() || t.fraud == Some(kind)));
    // Non-arithmetic kinds keep every control relation.
    let report = checks::run(&dirty.election());
    let arith: Vec<_> = report.violations.iter().filter(|v| arithmetic_rule(v.rule)).collect();
    if kind != FraudKind::Arithmetic {
        assert!(arith.is_empty(), "{kind}: {:?}", &arith[..arith.len().min(3)]);
    }
    (clean, dirty, listed)
}

#[test]
fn stuffing_adds_the_stated_share_of_non_voters_to_the_leader() {
    let (clean, dirty, listed) = pair(FraudKind::Stuffing, 0.05);
    assert_eq!(listed.len(), 2000); // round(0.05 × 40 000)
    for &k in &listed {
        let (a, b) = (clean.row(k), dirty.row(k));
        let added = ((0.3 * (a[col::REGISTERED] - issued(a)) as f64).round() as u32).max(1);
        assert_eq!(issued(b) - issued(a), added);
        assert_eq!(in_boxes(b) - in_boxes(a), added);
        assert_eq!(b[col::VALID] - a[col::VALID], added);
        assert_eq!(b[col::FIXED] - a[col::FIXED], added);
        assert_eq!(&b[col::FIXED + 1..], &a[col::FIXED + 1..]);
        let t = &dirty.truth[k];
        let (t0, s0) = t.before.unwrap();
        assert!(simulate::turnout(b).unwrap() > t0.unwrap());
        assert!(simulate::leader_share(b).unwrap() >= s0.unwrap());
        assert_eq!(t.intensity, 0.3);
    }
}

#[test]
fn transfer_moves_the_stated_share_and_keeps_turnout() {
    let (clean, dirty, listed) = pair(FraudKind::Transfer, 0.05);
    assert_eq!(listed.len(), 2000);
    for &k in &listed {
        let (a, b) = (clean.row(k), dirty.row(k));
        assert_eq!(&a[..col::FIXED], &b[..col::FIXED], "counts other than votes unchanged");
        let moved: u32 = (1..5).map(|j| ((0.2 * a[col::FIXED + j] as f64).round()) as u32).sum();
        let gain = b[col::FIXED] - a[col::FIXED];
        if moved > 0 {
            assert_eq!(gain, moved);
            for j in 1..5 {
                let m = (0.2 * a[col::FIXED + j] as f64).round() as u32;
                assert_eq!(a[col::FIXED + j] - b[col::FIXED + j], m);
            }
        } else {
            assert_eq!(gain, 1, "at least one vote moves");
        }
    }
}

#[test]
fn integer_lands_exactly_on_multiples_of_five_percent() {
    let (clean, dirty, listed) = pair(FraudKind::Integer, 0.05);
    assert_eq!(listed.len(), 2000);
    let (mut n_t, mut n_s) = (0, 0);
    for &k in &listed {
        let (a, b) = (clean.row(k), dirty.row(k));
        let d = &dirty.truth[k].detail;
        assert!(!d.is_empty());
        for part in d.split(';') {
            let (what, pct) = part.split_once('=').unwrap();
            if pct == "+1vote" {
                continue;
            }
            let p: f64 = pct.trim_end_matches('%').parse().unwrap();
            let (x, n) = match what {
                "turnout" => {
                    n_t += 1;
                    assert!(issued(b) > issued(a));
                    (issued(b), b[col::REGISTERED])
                }
                "share" => {
                    n_s += 1;
                    assert!(b[col::FIXED] > a[col::FIXED]);
                    (b[col::FIXED], in_boxes(b))
                }
                other => panic!("{other}"),
            };
            let r = 100.0 * x as f64 / n as f64;
            assert!((r - p).abs() <= 0.05 + 1e-9, "station {k}: {r} vs {p}");
            assert_eq!(p % 5.0, 0.0);
        }
        // Nothing goes down: the rounding is always upward for the leader.
        assert!(issued(b) >= issued(a) && b[col::FIXED] >= a[col::FIXED]);
    }
    // 3/4 of stations target turnout and 3/4 share (both for half): expect 1500 each, ±5 sd.
    assert!((n_t as f64 - 1500.0).abs() < 5.0 * (2000.0f64 * 0.75 * 0.25).sqrt() + 20.0, "{n_t}");
    assert!((n_s as f64 - 1500.0).abs() < 5.0 * (2000.0f64 * 0.75 * 0.25).sqrt() + 60.0, "{n_s}");
}

#[test]
fn extreme_pushes_turnout_and_share_towards_one() {
    let (clean, dirty, listed) = pair(FraudKind::Extreme, 0.02);
    assert_eq!(listed.len(), 800);
    for &k in &listed {
        let (a, b) = (clean.row(k), dirty.row(k));
        let x = dirty.truth[k].intensity;
        assert!((0.5..=1.0).contains(&x));
        let n = a[col::REGISTERED];
        let add = (x * (n - issued(a)) as f64).round() as u32;
        if add > 0 {
            assert_eq!(issued(b) - issued(a), add);
        }
        // 1 − T' = (1 − x)(1 − T) up to rounding of one ballot.
        let lhs = 1.0 - issued(b) as f64 / n as f64;
        let rhs = (1.0 - x) * (1.0 - issued(a) as f64 / n as f64);
        assert!((lhs - rhs).abs() <= 1.0 / n as f64 + 1e-12);
        if n >= 300 {
            assert!(simulate::turnout(b).unwrap() > 0.9 && simulate::leader_share(b).unwrap() > 0.85, "station {k}");
        }
    }
}

/// Share of counts ≥ 10 whose last digit is 0 or 5.
fn c05(sim: &Simulation, stations: &BTreeSet<usize>) -> f64 {
    let (mut hit, mut all) = (0, 0);
    for &k in stations {
        for &v in &sim.row(k)[col::FIXED..] {
            if v >= 10 {
                all += 1;
                hit += (v % 5 == 0) as usize;
            }
        }
    }
    hit as f64 / all as f64
}

#[test]
fn invented_protocols_favour_zero_and_five() {
    let (clean, dirty, listed) = pair(FraudKind::Invented, 0.05);
    assert_eq!(listed.len(), 2000);
    // Clean: 0.2. Invented: 0.8 × (0.28 + 0.22) + 0.2 × 0.2 = 0.44. About 9 000 counts
    // each, sd ≈ 0.005: thresholds are > 10 sd from either value's neighbour.
    let before = c05(&clean, &listed);
    let after = c05(&dirty, &listed);
    assert!((before - 0.2).abs() < 0.03, "clean last.05 {before}");
    assert!(after > 0.38, "invented last.05 {after}");
    for &k in &listed {
        let b = dirty.row(k);
        assert!(issued(b) <= b[col::REGISTERED]);
    }
}

#[test]
fn copy_duplicates_a_clean_protocol_of_the_same_commission() {
    let (_clean, dirty, listed) = pair(FraudKind::Copy, 0.01);
    assert!(listed.len() >= 395 && listed.len() <= 400, "{}", listed.len());
    let report = checks::run(&dirty.election());
    let flagged: BTreeSet<usize> =
        report.violations.iter().filter(|v| v.rule == Rule::IdenticalProtocol).map(|v| v.station).collect();
    let mut sources = BTreeSet::new();
    for &k in &listed {
        let d = &dirty.truth[k].detail;
        let id: usize = d.strip_prefix("copied_from=").unwrap().split(';').next().unwrap().parse().unwrap();
        let src = id - 1;
        assert!(dirty.truth[src].fraud.is_none());
        assert_eq!(dirty.station_commission[src], dirty.station_commission[k]);
        assert_eq!(&dirty.row(src)[col::FIXED..], &dirty.row(k)[col::FIXED..]);
        assert_eq!(dirty.row(src)[col::VALID], dirty.row(k)[col::VALID]);
        sources.insert(src);
    }
    // check flags the later station of each identical pair (vectors of ≥ 30 votes):
    // every flagged station is a copy or a source.
    assert!(flagged.iter().all(|k| listed.contains(k) || sources.contains(k)));
    assert!(flagged.len() as f64 > 0.8 * listed.len() as f64, "{} flagged", flagged.len());
}

#[test]
fn arithmetic_stations_are_exactly_those_check_reports() {
    let (_clean, dirty, listed) = pair(FraudKind::Arithmetic, 0.05);
    assert_eq!(listed.len(), 2000);
    let report = checks::run(&dirty.election());
    let mut by_station: BTreeMap<usize, Vec<(Rule, i64)>> = BTreeMap::new();
    for v in report.violations.iter().filter(|v| arithmetic_rule(v.rule)) {
        by_station.entry(v.station).or_default().push((v.rule, v.gap));
    }
    assert_eq!(by_station.keys().copied().collect::<BTreeSet<_>>(), listed);
    let mut kinds = [0usize; 2];
    for (k, rules) in by_station {
        let d = &dirty.truth[k].detail;
        let excess: i64 = d.split("excess=").nth(1).unwrap().parse().unwrap();
        assert_eq!(rules.len(), 1, "{rules:?}");
        if d.starts_with("rule=in_boxes>issued") {
            kinds[0] += 1;
            assert_eq!(rules[0], (Rule::BoxesLeIssued, excess));
        } else {
            kinds[1] += 1;
            assert_eq!(rules[0], (Rule::VotesSumValid, excess));
        }
    }
    // Half each: 1000 ± 5 sd (sd = sqrt(2000/4) ≈ 22).
    assert!(kinds[0].abs_diff(1000) < 112, "{kinds:?}");
}

#[test]
fn concentrated_fraud_stays_in_its_region() {
    let mut c = cfg(20_000, 3);
    c.frauds = vec!["stuffing:0.5:0.4@region=Region 04".parse().unwrap(), "transfer:0.01".parse().unwrap()];
    let sim = simulate::simulate(&c).unwrap();
    let region4 = (0..sim.len()).filter(|&k| sim.region_of(k) == 3).count();
    let stuffed: Vec<usize> = (0..sim.len()).filter(|&k| sim.truth[k].fraud == Some(FraudKind::Stuffing)).collect();
    assert_eq!(stuffed.len(), (0.5 * region4 as f64).round() as usize);
    assert!(stuffed.iter().all(|&k| sim.region_of(k) == 3));
    assert_eq!(sim.truth.iter().filter(|t| t.fraud == Some(FraudKind::Transfer)).count(), 200);
}

#[test]
fn spec_parser_errors_are_clear() {
    for (bad, needle) in [
        ("bribery:0.1", "unknown fraud kind \"bribery\"; kinds are stuffing, transfer"),
        ("stuffing", "expected kind:fraction[:intensity[:city]]"),
        ("stuffing:2", "fraction \"2\": must be a number in (0, 1]"),
        ("stuffing:0.1:-1", "stuffing intensity -1: must be in (0, 1]"),
        ("integer:0.1:0.5", "whole percentage step between 1 and 50"),
        ("stuffing:0.1@county=A", "must be region or commission"),
    ] {
        let e = bad.parse::<FraudSpec>().unwrap_err();
        assert!(e.contains(needle), "{bad}: {e}");
    }
    let ok: FraudSpec = "extreme:0.2:0.9@region=Region 07".parse().unwrap();
    assert_eq!(ok.to_string(), "extreme:0.2:0.9@region=Region 07");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tallyscope"))
}

fn simulate_to(dir: &Path, tag: &str, seed: &str, threads: &str) -> (Vec<u8>, Vec<u8>) {
    let (e, t) = (dir.join(format!("{tag}.csv")), dir.join(format!("{tag}-truth.csv")));
    let out = bin()
        .env("RAYON_NUM_THREADS", threads)
        .args(["simulate", "--stations", "30000", "--seed", seed, "--fraud", "stuffing:0.05:0.3"])
        .args(["--fraud", "integer:0.01", "--fraud", "extreme:0.01", "--fraud", "invented:0.01"])
        .args(["--fraud", "copy:0.01", "--fraud", "arithmetic:0.01", "--fraud", "transfer:0.02@region=Region 02"])
        .arg("-o")
        .arg(&e)
        .arg("--truth")
        .arg(&t)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    (std::fs::read(e).unwrap(), std::fs::read(t).unwrap())
}

#[test]
fn same_seed_same_bytes_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let a = simulate_to(dir.path(), "a", "42", "1");
    let b = simulate_to(dir.path(), "b", "42", "2");
    assert!(a.0 == b.0, "protocols differ between 1 and 2 threads");
    assert!(a.1 == b.1, "truth differs between 1 and 2 threads");
    let c = simulate_to(dir.path(), "c", "43", "2");
    assert!(a.0 != c.0 && a.1 != c.1, "different seeds gave the same files");
    // The truth lists every station once.
    assert_eq!(a.1.iter().filter(|&&x| x == b'\n').count(), 30_001);
}

#[test]
fn bad_flags_are_usage_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x.csv");
    for (args, needle) in [
        (vec!["--fraud", "stufing:0.1"], "unknown fraud kind \"stufing\""),
        (vec!["--fraud", "stuffing:0.1@region=Region 99"], "no region \"Region 99\""),
        (vec!["--stations", "0"], "--stations 0"),
        (vec!["--candidates", "1"], "--candidates 1"),
        (vec!["--turnout", "1.5"], "--turnout 1.5"),
        (vec!["--turnout-sd", "0.1,0.2"], "expected three numbers"),
        (vec!["--stations", "100", "--regions", "200"], "--regions 200"),
    ] {
        let out = bin().arg("simulate").args(&args).arg("-o").arg(&o).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = bin()
        .args(["simulate", "--stations", "10", "--regions", "1", "-o", "/nonexistent-dir/x.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/x.csv"));
}

#[test]
fn demo_writes_its_folder_and_check_finds_the_arithmetic_stations() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = bin().arg("demo").arg("--out").arg(&out_dir).args(["--stations", "20000"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for f in ["election.csv", "truth.csv", "violations.csv", "README.txt"] {
        assert!(out_dir.join(f).is_file(), "{f} missing; {err}");
    }
    let readme = std::fs::read_to_string(out_dir.join("README.txt")).unwrap();
    assert!(readme.contains("OPEN FIRST") && readme.contains("violations.csv"));
    // Stations of the violations CSV with an arithmetic rule = truth's arithmetic stations.
    let truth = std::fs::read_to_string(out_dir.join("truth.csv")).unwrap();
    let arith: BTreeSet<&str> = truth
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(3) == Some("arithmetic"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(arith.len(), 40); // round(0.002 × 20 000)
    let viol = std::fs::read_to_string(out_dir.join("violations.csv")).unwrap();
    let head: Vec<&str> = viol.lines().next().unwrap().split(',').collect();
    let (st, rule) =
        (head.iter().position(|h| *h == "station").unwrap(), head.iter().position(|h| *h == "rule").unwrap());
    let found: BTreeSet<&str> = viol
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[rule] != "identical_protocol" && c[rule] != "duplicate_id")
        .map(|c| c[st])
        .collect();
    assert_eq!(found, arith);
}
