//! Unit tests of the simulator that need nothing outside this module (the integration
//! tests in `tests/simulate.rs` use `checks` and the binary).

use super::fraud::integer_target;
use super::*;

/// The control relations of DESIGN.md §2 on a detailed row; returns the broken ones.
fn broken(r: &[u32]) -> Vec<&'static str> {
    let mut v = Vec::new();
    let (n, b, c) = (r[col::REGISTERED], issued(r), in_boxes(r));
    if b > n {
        v.push("B<=N");
    }
    if c > b {
        v.push("C<=B");
    }
    if r[col::VALID] + r[col::INVALID] != c {
        v.push("V+I=C");
    }
    if r[col::FIXED..].iter().map(|&x| x as u64).sum::<u64>() != r[col::VALID] as u64 {
        v.push("sum=V");
    }
    if r[col::RECEIVED] as u64 != b as u64 + r[col::CANCELLED] as u64 + r[col::LOST] as u64 - r[col::UNACCOUNTED] as u64
    {
        v.push("received");
    }
    v
}

fn cfg(n: usize, seed: u64) -> SimConfig {
    SimConfig { stations: n, seed, ..SimConfig::default() }
}

#[test]
fn clean_rows_satisfy_every_relation() {
    let sim = simulate(&cfg(20_000, 7)).unwrap();
    for s in 0..sim.len() {
        assert!(broken(sim.row(s)).is_empty(), "station {s}: {:?} {:?}", broken(sim.row(s)), sim.row(s));
    }
    assert!(sim.truth.iter().all(|t| t.fraud.is_none()));
}

#[test]
fn station_sizes_have_the_documented_shape() {
    let sim = simulate(&cfg(100_000, 3)).unwrap();
    let mut n: Vec<u32> = (0..sim.len()).map(|s| sim.row(s)[col::REGISTERED]).collect();
    n.sort_unstable();
    let median = n[n.len() / 2];
    let tiny = n.iter().filter(|&&x| x < 100).count() as f64 / n.len() as f64;
    let big = n.iter().filter(|&&x| x > 3000).count() as f64 / n.len() as f64;
    // Mixture CDF: median ≈ 1 430, P(N<100) ≈ 0.035, P(N>3000) ≈ 0.036.
    assert!((1350..=1500).contains(&median), "median {median}");
    assert!((0.025..0.045).contains(&tiny), "tiny {tiny}");
    assert!((0.025..0.05).contains(&big), "big {big}");
}

#[test]
fn hierarchy_labels_and_sizes() {
    let sim =
        simulate(&SimConfig { stations: 1000, regions: 5, commissions_per_region: Some(4), ..cfg(0, 1) }).unwrap();
    assert_eq!(sim.region_labels[0], "Region 01");
    assert_eq!(sim.commission_labels[5], "Commission 02-002");
    assert_eq!(sim.commission_start.len(), 21);
    assert_eq!(*sim.commission_start.last().unwrap(), 1000);
    assert!(sim.commission_start.windows(2).all(|w| w[1] > w[0]));
    let e = sim.election();
    assert_eq!(e.len(), 1000);
    assert_eq!(e.levels[1].parent[5], 1);
    assert_eq!(e.leader(), Some(0));
    assert_eq!(candidate_name(0), "Candidate A");
    assert_eq!(candidate_name(26), "Candidate AA");
}

#[test]
fn spec_parser_accepts_and_rejects() {
    let s: FraudSpec = "stuffing:0.05:0.3".parse().unwrap();
    assert_eq!(s, FraudSpec::new(FraudKind::Stuffing, 0.05, 0.3));
    let s: FraudSpec = "integer:0.01@region=Region 03".parse().unwrap();
    assert_eq!(s.intensity, 5.0);
    assert_eq!(s.scope, Scope::Region("Region 03".into()));
    let s: FraudSpec = " Copy:0.2 @commission=01-002".parse().unwrap();
    assert_eq!((s.kind, s.intensity), (FraudKind::Copy, 1.0));
    let s: FraudSpec = "transfer-commissions:0.33:0.5:city".parse().unwrap();
    assert_eq!((s.kind, s.fraction, s.intensity, s.city), (FraudKind::TransferCommissions, 0.33, 0.5, true));
    assert_eq!(s.to_string(), "transfer-commissions:0.33:0.5:city");
    assert_eq!(s.to_string().parse::<FraudSpec>().unwrap(), s);
    for (bad, needle) in [
        ("stufing:0.1", "unknown fraud kind \"stufing\""),
        ("stuffing", "expected kind:fraction"),
        ("stuffing:0.1:0.2:3:4", "expected kind:fraction"),
        ("stuffing:0.1:0.2:3", "the fourth part can only be"),
        ("stuffing:0.1:0.2:city", "whole-commission kinds only"),
        ("stuffing:1.5", "fraction \"1.5\""),
        ("stuffing:0", "fraction \"0\""),
        ("stuffing:x", "fraction \"x\""),
        ("stuffing:0.1:abc", "intensity \"abc\""),
        ("stuffing:0.1:2", "stuffing intensity 2"),
        ("integer:0.1:2.5", "whole percentage step"),
        ("extreme:0.1:0.2", "between 0.5 and 1"),
        ("copy:0.1:0.5", "copy takes no intensity"),
        ("stuffing:0.1@district=3", "scope \"district\""),
        ("stuffing:0.1@region=", "is empty"),
        ("stuffing:0.1@region", "scope \"@region\""),
    ] {
        let e = bad.parse::<FraudSpec>().unwrap_err();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}

#[test]
fn unknown_scope_is_a_usage_error() {
    let mut c = cfg(1000, 1);
    c.frauds.push("stuffing:0.1@region=Region 99".parse().unwrap());
    let e = simulate(&c).unwrap_err().to_string();
    assert!(e.contains("no region \"Region 99\"") && e.contains("Region 20"), "{e}");
    c.frauds = vec!["stuffing:0.5@region=3".parse().unwrap()];
    let sim = simulate(&c).unwrap();
    assert!((0..sim.len()).filter(|&s| sim.truth[s].fraud.is_some()).all(|s| sim.region_of(s) == 2));
}

#[test]
fn integer_targets_are_exact() {
    // 925/1234 = 74.959 % → within 0.05 pp of 75
    assert_eq!(integer_target(900, 1234, 5, 1234), Some((926, 75)));
    assert_eq!(integer_target(50, 100, 5, 100), Some((55, 55)));
    // 333 voters: 30 % → 100/333 = 30.03 %
    assert_eq!(integer_target(90, 333, 10, 333), Some((100, 30)));
    assert_eq!(integer_target(100, 100, 5, 100), None);
    for n in [7u32, 33, 99, 101, 257, 999, 1001, 2500] {
        for x in 0..n.min(200) {
            if let Some((xp, p)) = integer_target(x, n, 1, n) {
                assert!(xp > x && xp <= n);
                assert!((100.0 * xp as f64 / n as f64 - p as f64).abs() <= 0.05 + 1e-12);
            }
        }
    }
}

fn bytes(sim: &Simulation) -> (Vec<u8>, Vec<u8>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    write::write_protocols(sim, &mut a).unwrap();
    write::write_truth(sim, &mut b).unwrap();
    (a, b)
}

fn all_kinds() -> Vec<FraudSpec> {
    FraudKind::ALL.iter().map(|&k| FraudSpec::new(k, 0.02, k.default_intensity())).collect()
}

#[test]
fn same_bytes_on_one_and_two_threads() {
    let mut c = cfg(30_000, 11);
    c.frauds = all_kinds();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| bytes(&simulate(&c).unwrap()))
    };
    let one = run(1);
    let two = run(2);
    assert!(one == two, "output differs between 1 and 2 threads");
    c.seed = 12;
    assert!(bytes(&simulate(&c).unwrap()).0 != one.0);
}

#[test]
fn frauds_change_exactly_their_stations_and_keep_relations() {
    let clean = simulate(&cfg(40_000, 5)).unwrap();
    // Station kinds together (copy needs clean sources in its commission, which the
    // whole-commission kinds would take), then the whole-commission kinds together.
    let (station, whole): (Vec<FraudSpec>, Vec<FraudSpec>) = all_kinds().into_iter().partition(|s| !s.kind.whole_commissions());
    for specs in [station, whole] {
        let mut c = cfg(40_000, 5);
        c.frauds = specs;
        let dirty = simulate(&c).unwrap();
        let mut per_kind = std::collections::BTreeMap::new();
        for s in 0..dirty.len() {
            let changed = clean.row(s) != dirty.row(s);
            let kind = dirty.truth[s].fraud;
            assert_eq!(changed, kind.is_some(), "station {s} kind {kind:?}");
            if let Some(k) = kind {
                *per_kind.entry(k).or_insert(0) += 1;
                let b = broken(dirty.row(s));
                if k == FraudKind::Arithmetic {
                    assert!(b == ["C<=B"] || b == ["sum=V"], "{b:?}");
                } else {
                    assert!(b.is_empty(), "station {s} {k}: {b:?}");
                }
            }
        }
        for k in c.frauds.iter().map(|s| s.kind) {
            let got = *per_kind.get(&k).unwrap_or(&0);
            if k.whole_commissions() {
                // Whole commissions: at least the 800 asked, less than one more commission.
                assert!((800..1100).contains(&got), "{k}: {got}");
                // Every eligible station of a touched commission has the kind.
                for cm in 0..dirty.commission_labels.len() {
                    let r = dirty.commission_start[cm]..dirty.commission_start[cm + 1];
                    let n = r.clone().filter(|&s| dirty.truth[s].fraud == Some(k)).count();
                    let others = r.clone().filter(|&s| dirty.truth[s].fraud.is_some_and(|x| x != k)).count();
                    assert!(n == 0 || n + others >= r.len() - 1, "{k}: commission {cm} has {n} of {} stations", r.len());
                }
            } else {
                assert_eq!(got, 800, "{k}");
            }
        }
    }
}

#[test]
fn writers_produce_the_documented_header() {
    let sim = simulate(&SimConfig { stations: 50, regions: 2, candidates: 3, ..cfg(0, 1) }).unwrap();
    let (p, t) = bytes(&sim);
    let p = String::from_utf8(p).unwrap();
    let mut lines = p.lines();
    assert_eq!(
        lines.next().unwrap(),
        "region,commission,station,registered,received,issued_early,issued_on_day,issued_outside,cancelled,\
         portable_boxes,stationary_boxes,invalid,valid,lost,unaccounted,Candidate A,Candidate B,Candidate C"
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&first[..3], &["Region 01", "Commission 01-001", "1"]);
    assert_eq!(first.len(), 18);
    let nums: Vec<u32> = first[3..].iter().map(|x| x.parse().unwrap()).collect();
    assert_eq!(nums, sim.row(0));
    assert_eq!(p.lines().count(), 51);
    let t = String::from_utf8(t).unwrap();
    assert!(t.starts_with("station,region,commission,fraud,intensity,turnout_before,"));
    let row1: Vec<&str> = t.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row1.len(), 10);
    assert_eq!(row1[3], "");
    assert_eq!(row1[5], row1[6]);
    let mut buf = Vec::new();
    for v in [0u64, 9, 10, 99, 100, 12345, 4_294_967_295] {
        buf.clear();
        write::push_u64(&mut buf, v);
        assert_eq!(String::from_utf8_lossy(&buf), v.to_string());
    }
}

#[test]
fn small_mean_binomial_has_binomial_moments() {
    // The geometric-gap path (n·p < 8): mean n·p and variance n·p·(1−p). With m draws the
    // sample mean has sd sqrt(npq/m) and the sample variance sd ≈ npq·sqrt(2/m) (nearly
    // normal counts at these means; Poisson-like at the smallest, where the fourth
    // moment adds ≈ 1/npq, allowed for by the factor 2). Tolerance: 4 sd.
    let mut rng = rng_for(1, Purpose::Clean, 99);
    let m = 200_000;
    for (n, p) in [(700u32, 0.001f64), (300, 0.02), (2000, 0.0035), (50, 0.1)] {
        let x: Vec<f64> = (0..m).map(|_| clean::binom(&mut rng, n, p) as f64).collect();
        let mean = x.iter().sum::<f64>() / m as f64;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (m - 1) as f64;
        let (mu, s2) = (n as f64 * p, n as f64 * p * (1.0 - p));
        assert!((mean - mu).abs() < 4.0 * (s2 / m as f64).sqrt(), "n={n} p={p}: mean {mean} vs {mu}");
        let sd_var = s2 * (2.0 / m as f64).sqrt() * 2.0 * (1.0 + 1.0 / s2).sqrt();
        assert!((var - s2).abs() < 4.0 * sd_var, "n={n} p={p}: var {var} vs {s2}");
        assert!(x.iter().all(|&v| v <= n as f64));
    }
}
