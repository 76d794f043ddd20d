//! Issue 9, output safety: names that come from the input (regions, commissions,
//! stations, candidates, level column names) are neutralised in every CSV that
//! `analyze` and `check` write, so a spreadsheet shows `=HYPERLINK(…)` as text instead
//! of running it (CSV formula injection). A cell that starts with `=`, `+`, `-`, `@`,
//! tab or CR must be a number we wrote, or start with the apostrophe of `safe_cell`.

use std::process::Command;

const HOSTILE: &str = "region,+lvl,commission,station,registered,issued,in_boxes,invalid,valid,=cmd|' /C calc'!A0,@SUM(1+1),-Bob
\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",+a,+1+1,@st,1000,600,600,10,590,400,100,90
\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",+a,+1+1,-2,800,900,500,5,495,300,100,95
North,\"\tb\",\"\rc\",=3,800,500,500,5,495,300,100,95
North,\"\tb\",\"\rc\",=3,800,500,500,5,495,300,100,95
";

fn dangerous(cell: &str) -> bool {
    matches!(cell.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')) && cell.parse::<f64>().is_err()
}

fn assert_safe(path: &std::path::Path) -> usize {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(path).unwrap();
    let mut cells = 0;
    for (k, rec) in rdr.records().enumerate() {
        for cell in rec.unwrap().iter() {
            assert!(!dangerous(cell), "{}: record {}: cell {cell:?} would run as a formula", path.display(), k + 1);
            cells += 1;
        }
    }
    cells
}

#[test]
fn every_csv_output_neutralises_names() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("hostile.csv");
    std::fs::write(&p, HOSTILE).unwrap();
    let out = d.path().join("out");
    let bin = env!("CARGO_BIN_EXE_tallyscope");
    let o = Command::new(bin)
        .args(["analyze", "-q", "--no-fingerprint", "--out", out.to_str().unwrap(), p.to_str().unwrap()])
        .args(["--region", "region", "--level", "+lvl", "--commission", "commission", "--station", "station"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut files = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let f = entry.unwrap().path();
        if f.extension().is_some_and(|x| x == "csv") {
            assert!(assert_safe(&f) > 0, "{} is empty", f.display());
            files += 1;
        }
    }
    assert_eq!(files, 5, "tests, stations, commissions, regions, violations");
    // The hostile names are there, neutralised, not dropped.
    let stations = std::fs::read_to_string(out.join("stations.csv")).unwrap();
    assert!(stations.contains("'=HYPERLINK"), "{stations}");
    assert!(stations.contains("'+lvl"), "{stations}");
    let violations = std::fs::read_to_string(out.join("violations.csv")).unwrap();
    assert!(violations.contains("'-2"), "{violations}");
    assert!(violations.contains("'=3"), "the duplicate id is named: {violations}");

    // `check` writes the same violations CSV to stdout.
    let o = Command::new(bin).args(["check", p.to_str().unwrap(), "--level", "+lvl", "-o"]).arg(d.path().join("v.csv")).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(assert_safe(&d.path().join("v.csv")) > 0);
}
