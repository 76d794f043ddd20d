//! `tallyscope eft`: EFToolkit's `BasicElectionForensics` table with EFT's definitions.
//!
//! The hand-written fixture `fixtures/eft/hand.csv` (12 stations, 2 regions) exercises
//! zeros (a candidate with 0 votes, a station of all zeros: 0/0), `NA` cells (a candidate's
//! votes, registered voters, ballots cast), small denominators (3 and 9 ballots), ballots
//! above the registered voters (the cap at 1), and R's half-to-even rounding (81/200 =
//! 40.5% → 40; 25/200 = 12.5% → 12). Its expected point values come from an independent
//! standard-library Python script, `fixtures/eft/expected.py` (string digits as R's
//! `as.character`, Python's `round`, two-pass moments), written to
//! `fixtures/eft/expected.csv`; several are also derived by hand below.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_eft(file: &Path, extra: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tallyscope"))
        .arg("eft")
        .arg(file)
        .args(extra)
        .arg("-o")
        .arg(out)
        .output()
        .expect("run tallyscope")
}

const HAND_FLAGS: [&str; 12] =
    ["--registered", "registered", "--issued", "ballots", "--candidate-columns", "A,B", "--region", "region", "--station", "station", "--candidates", "A,B"];

fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let head = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (head, rows)
}

fn col(head: &[String], name: &str) -> usize {
    head.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {head:?}"))
}

fn hand_table(extra: &[&str]) -> (Vec<String>, Vec<Vec<String>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    let mut flags: Vec<&str> = HAND_FLAGS.to_vec();
    flags.extend_from_slice(extra);
    let o = run_eft(&root().join("fixtures/eft/hand.csv"), &flags, &out);
    assert!(o.status.success(), "eft failed: {}", String::from_utf8_lossy(&o.stderr));
    let (h, r) = read_csv(&out);
    (h, r, dir)
}

fn value(head: &[String], rows: &[Vec<String>], unit: &str, var: &str, stat: &str) -> Option<f64> {
    let row = rows.iter().find(|r| r[0] == unit && r[1] == var).unwrap_or_else(|| panic!("no row {unit} × {var}"));
    let s = &row[col(head, stat)];
    (!s.is_empty()).then(|| s.parse().unwrap())
}

#[test]
fn fixture_matches_eft_definitions_cell_for_cell() {
    let (head, rows, _d) = hand_table(&["--reps", "0"]);
    let (eh, erows) = read_csv(&root().join("fixtures/eft/expected.csv"));
    assert_eq!(rows.len(), erows.len(), "one row per unit × variable");
    let mut checked = 0;
    for (r, e) in rows.iter().zip(&erows) {
        assert_eq!((&r[0], &r[1], &r[2]), (&e[0], &e[1], &e[2]), "row order and n (EFT's Obs)");
        for stat in &eh[3..] {
            let got = &r[col(&head, stat)];
            let want = &e[col(&eh, stat)];
            match (got.is_empty(), want.is_empty()) {
                (true, true) => {}
                (false, false) => {
                    let (g, w): (f64, f64) = (got.parse().unwrap(), want.parse().unwrap());
                    assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{} × {} {stat}: got {g}, want {w}", r[0], r[1]);
                }
                _ => panic!("{} × {} {stat}: got {got:?}, want {want:?} (NA must match NA)", r[0], r[1]),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9 * 8);

    let v = |u: &str, var: &str, s: &str| value(&head, &rows, u, var, s);
    // By hand. North turnout: ballots 81, 3, 100, 120, 9, 1234.
    //   LastC (1+3+0+0+9+4)/6; C05s {100, 120} 2/6; _2BL second digits of 81,100,120,1234: 1,0,2,2.
    assert_eq!(v("North", "turnout", "LastC"), Some(17.0 / 6.0));
    assert_eq!(v("North", "turnout", "C05s"), Some(2.0 / 6.0));
    assert_eq!(v("North", "turnout", "_2BL"), Some(1.25));
    //   P05s over the 5 stations with registered voters (N4's is NA): 81/200 = 40.5% -> 40
    //   (R's half to even; half up would give 41), 3/8 -> 38, 100/150 -> 67, 9/20 -> 45,
    //   1234/1000 capped at 1 -> 100: 3 of 5 (half up: 2 of 5).
    assert_eq!(v("North", "turnout", "P05s"), Some(0.6));
    // North A: N3's cell is NA, so counts 40, 0, 60, 4, 1000 (the zero counts).
    assert_eq!(v("North", "A", "LastC"), Some(0.8));
    assert_eq!(v("North", "A", "C05s"), Some(0.8));
    assert_eq!(v("North", "A", "_2BL"), Some(0.0));
    // South A: S1's ballots are NA (its votes still count for the digits), S2 is 0/0.
    //   Shares: 125/240 -> 52, 25/200 = 12.5% -> 12, 85/125 -> 68, 81/200 = 40.5% -> 40: 1 of 4.
    assert_eq!(v("South", "A", "P05s"), Some(0.25));
    assert_eq!(v("South", "A", "LastC"), Some(16.0 / 6.0));
    // South turnout: two values (0.8, 0.5) twice each: symmetric, kurtosis 1 (non-excess).
    assert!(v("South", "turnout", "Skew").unwrap().abs() < 1e-12);
    assert!((v("South", "turnout", "Kurt").unwrap() - 1.0).abs() < 1e-12);
    // Sobyanin and Correlation are for candidates only (EFT).
    assert_eq!(v("National", "turnout", "Sobyanin"), None);
    assert_eq!(v("National", "turnout", "Correlation"), None);
    // DipT: a p-value wherever there are values (the dip itself is checked against R's
    // diptest in src/stats/shape.rs); fewer than 4 values give p = 1, as dip.test.
    for r in &rows {
        let p: f64 = r[col(&head, "DipT")].parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "{r:?}");
    }
    // No interval without replicates.
    assert!(rows.iter().all(|r| r[col(&head, "LastC_lo")].is_empty()));
}

#[test]
fn intervals_are_seeded_and_basic() {
    let (head, a, _d1) = hand_table(&["--reps", "300", "--seed", "11"]);
    let (_, b, _d2) = hand_table(&["--reps", "300", "--seed", "11"]);
    let (_, c, _d3) = hand_table(&["--reps", "300", "--seed", "12"]);
    assert_eq!(a, b, "same seed, same table");
    assert_ne!(a, c, "another seed, other intervals");
    let (_, p, _d4) = hand_table(&["--reps", "0"]);
    for (r, r0) in a.iter().zip(&p) {
        for s in ["_2BL", "LastC", "P05s", "C05s", "Skew", "Kurt", "Sobyanin", "Correlation"] {
            assert_eq!(r[col(&head, s)], r0[col(&head, s)], "point values do not depend on the bootstrap");
            let (lo, hi) = (&r[col(&head, &format!("{s}_lo"))], &r[col(&head, &format!("{s}_hi"))]);
            if !lo.is_empty() {
                assert!(lo.parse::<f64>().unwrap() <= hi.parse::<f64>().unwrap(), "{r:?}");
            }
        }
    }
    let v = |u: &str, var: &str, s: &str| value(&head, &a, u, var, s);
    // Every South ballots count ends in 0 or 5: every replicate's C05s is 1, and boot.ci
    // gives no interval when all replicates are equal.
    assert_eq!(v("South", "turnout", "C05s"), Some(1.0));
    assert_eq!(v("South", "turnout", "C05s_lo"), None);
    assert!(v("National", "A", "LastC_lo").is_some());
    // DipT has no interval (a p-value).
    assert!(a.iter().all(|r| r[col(&head, "DipT_lo")].is_empty()));
}

#[test]
fn markdown_and_html_beside_the_csv_and_clear_errors() {
    let (_, _, d) = hand_table(&["--reps", "50"]);
    let md = std::fs::read_to_string(d.path().join("t.md")).unwrap();
    let html = std::fs::read_to_string(d.path().join("t.html")).unwrap();
    assert!(md.contains("| unit | variable | n | _2BL | LastC | P05s | C05s | Skew | Kurt | DipT | Sobyanin | Correlation |"));
    assert!(md.contains("| North | turnout | 6 |"));
    assert!(html.contains("<th>Correlation</th>") && html.contains("Benjamini"));
    // An unknown candidate names the file and the candidates read.
    let dir = tempfile::tempdir().unwrap();
    let mut flags = HAND_FLAGS.to_vec();
    *flags.last_mut().unwrap() = "A,Z";
    let o = run_eft(&root().join("fixtures/eft/hand.csv"), &flags, &dir.path().join("x.csv"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("hand.csv") && err.contains("\"Z\"") && err.contains("\"B\""), "{err}");
}

#[test]
fn all_leaders_by_unit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("l.csv");
    let o = run_eft(&root().join("fixtures/eft/hand.csv"), &HAND_FLAGS[..10], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, rows) = read_csv(&out);
    let vars: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    // A leads the nation (1335 to 1232) and North (1104 to 388); B leads South (554 to 436).
    assert!(vars.contains(&("National", "AllLeaders (A)")));
    assert!(vars.contains(&("North", "AllLeaders (A)")));
    assert!(vars.contains(&("South", "AllLeaders (B)")));
}

/// Albania 2013 by prefecture: the published EFToolkit README values (copied into the
/// data's SOURCE.txt) for the turnout row: n, _2BL, C05s, P05s, Skew, Kurt to EFT's 3
/// decimals, and BERAT's DipT (0.651) to Monte Carlo precision.
#[test]
fn albania_2013_matches_eftoolkit_readme() {
    let Some(p) = common::world_data("albania-parl2013/Albania2013.csv.zip") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alb.csv");
    let flags = ["--registered", "Registered", "--issued", "Ballots", "--region", "Prefectures", "--candidates", "C035,C050", "--reps", "0"];
    let o = run_eft(&p, &flags, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (head, rows) = read_csv(&out);
    // unit, n, _2BL, C05s, P05s, Skew, Kurt
    let published: [(&str, usize, f64, f64, f64, f64, f64); 6] = [
        ("BERAT", 300, 4.244, 0.217, 0.197, 0.261, 3.474),
        ("DIBER", 258, 4.167, 0.225, 0.221, 1.685, 4.954),
        ("DURRES", 444, 4.572, 0.194, 0.173, 1.354, 3.211),
        ("ELBASAN", 516, 4.345, 0.196, 0.217, 1.5, 4.086),
        ("FIER", 558, 4.373, 0.181, 0.208, 1.582, 4.572),
        ("GJIROKASTER", 237, 4.549, 0.228, 0.287, 0.72, 2.166),
    ];
    let mut agree = 0;
    let mut cells = 0;
    for (unit, n, b2, c05, p05, sk, ku) in published {
        let row = rows.iter().find(|r| r[0] == unit && r[1] == "turnout").unwrap_or_else(|| panic!("no {unit}"));
        assert_eq!(row[2], n.to_string(), "{unit} n");
        for (s, want) in [("_2BL", b2), ("C05s", c05), ("P05s", p05), ("Skew", sk), ("Kurt", ku)] {
            let got: f64 = row[col(&head, s)].parse().unwrap();
            cells += 1;
            if (got - want).abs() < 0.0005 + 1e-9 {
                agree += 1;
            } else {
                eprintln!("Albania {unit} {s}: eft {got:.4}, EFToolkit README {want}");
            }
        }
    }
    eprintln!("Albania 2013 turnout rows: {agree} of {cells} published cells agree to 3 decimals");
    assert_eq!(agree, cells);
    let dip: f64 = rows.iter().find(|r| r[0] == "BERAT" && r[1] == "turnout").unwrap()[col(&head, "DipT")].parse().unwrap();
    assert!((dip - 0.651).abs() < 0.05, "BERAT DipT {dip} (EFToolkit 0.651)");
}

/// Russia 2018 by region: the same seed gives the same table (the bench times it).
#[test]
fn russia_2018_same_seed_same_table() {
    let Some(p) = common::ru_data("2018.csv.zip") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    for out in [&a, &b] {
        let o = run_eft(&p, &["--reps", "100", "--seed", "3"], out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(x, y);
    let (_, rows) = read_csv(&a);
    assert!(rows.len() > 2 * 80, "turnout and leader rows for the nation and every region: {}", rows.len());
}
