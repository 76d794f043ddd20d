//! Issue 9, reconciliation: `summary.json` says where every row went and, per test
//! family, which stations its inclusion rule kept and why it left the others out; the
//! totals add up. Checked on a hand-written file with deliberately skipped rows (every
//! number below counted by hand from the fixture) and on a simulated election (where
//! the included counts are cross-checked against each method's own `n`).

use std::process::Command;
use tallyscope::analysis::{self, reconcile};
use tallyscope::ingest;
use tallyscope::simulate::{self, SimConfig};

const FIXTURE: &str = "region,commission,station,registered,issued,in_boxes,invalid,valid,Alice,Bob
North,N-1,1,1000,600,600,10,590,400,190
North,N-1,2,800,5OO,500,5,495,300,195
North,N-1,3,800,500,500,5,495,300,195
North,N-1,4,800,500,500,5,495,300
North,N-1,5,,,,,,,
North,N-1,6,50,0,0,0,0,0,0
North,N-2,8,60,40,40,0,40,30,10
North,N-2,9,800,-5,500,5,495,300,195
Abroad,A-1,7,800,500,500,5,495,300,195
";

fn family<'a>(r: &'a serde_json::Value, prefix: &str) -> &'a serde_json::Value {
    r["tests"].as_array().unwrap().iter().find(|f| f["tests"][0] == prefix).unwrap_or_else(|| panic!("no family {prefix}"))
}

#[test]
fn fixture_with_skipped_rows_adds_up() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("in.csv");
    std::fs::write(&p, FIXTURE).unwrap();
    let out = d.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_tallyscope"))
        .args(["analyze", "-q", "--skip-bad-rows", "--out", out.to_str().unwrap(), p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let r = &j["reconciliation"];
    // 9 data rows: stations 1, 3, 6, 8, 7 read; 2 ("5OO") and 9 ("-5") unreadable; 4 ragged;
    // 5 unpublished.
    assert_eq!(r["rows"]["read"], 9);
    assert_eq!(r["rows"]["used"], 5);
    assert_eq!(r["rows"]["stations_analysed"], 5);
    assert_eq!(j["stations"], 5);
    assert_eq!(r["rows"]["unpublished"], 1);
    assert_eq!(r["rows"]["skipped"], 3);
    assert_eq!(
        r["rows"]["skipped_by_reason"],
        serde_json::json!({"not a number": 1, "negative count": 1, "row has N fields but the header has N": 1})
    );
    assert_eq!(r["rows"]["balanced"], true);
    // Checks: every station.
    assert_eq!(family(r, "check.")["included"], 5);
    // Integer: 7 abroad, 6 has C = 0, 8 has N = 60 below the minimum; 1 and 3 kept.
    let f = family(r, "integer.");
    assert_eq!(f["included"], 2);
    assert_eq!(f["excluded"], serde_json::json!({"abroad": 1, "no ballots in the boxes (C = 0)": 1, "too few registered voters": 1}));
    // Shape and anomalous votes: the same three out, each for the same reason.
    let f = family(r, "shape.");
    assert_eq!(f["included"], 2);
    assert_eq!(
        f["excluded"],
        serde_json::json!({"abroad or electronic": 1, "no ballots or no valid votes": 1, "fewer than 100 registered": 1})
    );
    // Digits: only the abroad station is out.
    let f = family(r, "digits.");
    assert_eq!(f["included"], 4);
    assert_eq!(f["excluded"], serde_json::json!({"abroad": 1}));
    // Fingerprint needs 50 stations: not run, all five counted as excluded with the reason.
    let f = family(r, "fingerprint.");
    assert_eq!(f["run"], false);
    assert_eq!(f["included"], 0);
    let why = f["excluded"].as_object().unwrap();
    assert_eq!(why.len(), 1);
    assert!(why.keys().next().unwrap().contains("needs at least 50"), "{why:?}");
    assert_eq!(why.values().next().unwrap(), 5);
    for f in r["tests"].as_array().unwrap() {
        let excl: u64 = f["excluded"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(f["included"].as_u64().unwrap() + excl, 5, "{f}");
        assert_eq!(f["balanced"], true);
    }
    assert_eq!(r["balanced"], true);
}

#[test]
fn simulated_election_adds_up_and_matches_each_method() {
    // Small stations exist in the simulator's mixture (4% "tiny", median 50), so the
    // N >= 100 rules exclude a few hundred of these 5,000 stations.
    let sim = simulate::simulate(&SimConfig { stations: 5_000, seed: 9, ..SimConfig::default() }).unwrap();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("sim.csv");
    simulate::write::write_protocols(&sim, std::fs::File::create(&p).unwrap()).unwrap();
    let ing = ingest::load(&p, &Default::default()).unwrap();
    let opt = analysis::Options { bootstrap: 10, digit_draws: 9, ..Default::default() };
    let a = analysis::run(ing, &opt);
    let r = reconcile::reconcile(&a);
    assert!(r.balanced, "{r:#?}");
    assert_eq!(r.rows.read, 5_000);
    assert_eq!(r.rows.used, 5_000);
    assert_eq!(r.rows.skipped, 0);
    assert_eq!(r.rows.stations_analysed, 5_000);
    let fam = |p: &str| r.tests.iter().find(|f| f.tests[0] == p).unwrap();
    for f in &r.tests {
        assert!(f.run, "{f:?}");
        assert_eq!(f.stations, 5_000);
        assert_eq!(f.included + f.excluded.values().sum::<usize>(), 5_000, "{f:?}");
    }
    // Cross-checks against the methods' own counts.
    let small = fam("shape.").excluded.get("fewer than 100 registered").copied().unwrap_or(0);
    assert!(small > 50 && small < 500, "{small}");
    assert_eq!(fam("shape.").included, a.nation("shpilkin.anomalous_votes").unwrap().n);
    assert_eq!(fam("integer.").included, a.nation("integer.either").unwrap().n);
    assert_eq!(fam("fingerprint.").included, a.fingerprint.as_ref().unwrap().n);
    assert_eq!(fam("digits.").included, 5_000);
}
