//! Batch analysis (several files in one run, with an index) and the table formats
//! (`--format csv,json,parquet`): the Parquet tables hold the same rows and values as
//! the CSV ones. (pyarrow 26 also read them: tests/independent/parquet_check.py.)

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tallyscope"))
}

fn simulate(dir: &Path, name: &str, seed: u64, fraud: &[&str]) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut c = bin();
    c.args(["simulate", "--stations", "3000", "--regions", "6", "--seed", &seed.to_string(), "-o"]).arg(&p);
    for f in fraud {
        c.args(["--fraud", f]);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    p
}

fn read_parquet(p: &Path) -> (Vec<String>, Vec<Vec<Field>>) {
    let r = SerializedFileReader::new(std::fs::File::open(p).unwrap()).unwrap();
    let names = r.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.name().to_string()).collect();
    let rows = r.get_row_iter(None).unwrap().map(|row| row.unwrap().get_column_iter().map(|(_, f)| f.clone()).collect()).collect();
    (names, rows)
}

#[test]
fn batch_writes_one_folder_per_file_and_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let a = simulate(dir.path(), "clean.csv", 1, &[]);
    let b = simulate(dir.path(), "stuffed.csv", 2, &["stuffing:0.1:0.4", "integer:0.03:5"]);
    let out = dir.path().join("out");
    let o = bin().arg("analyze").arg(&a).arg(&b).arg("--out").arg(&out).args(["-q", "--no-fingerprint", "--format", "csv,parquet"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for sub in ["clean", "stuffed"] {
        for f in ["summary.json", "tests.csv", "stations.csv", "stations.parquet", "tests.parquet", "commissions.parquet", "regions.parquet"] {
            assert!(out.join(sub).join(f).is_file(), "{sub}/{f} missing");
        }
        assert!(!out.join(sub).join("stations.json").exists(), "json was not asked for");
    }
    let mut idx = csv::Reader::from_path(out.join("index.csv")).unwrap();
    let head = idx.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = idx.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |r: &csv::StringRecord, name: &str| -> String { r[head.iter().position(|h| h == name).unwrap()].to_string() };
    assert_eq!(col(&rows[0], "folder"), "clean");
    assert_eq!(col(&rows[1], "folder"), "stuffed");
    assert_eq!(col(&rows[0], "stations"), "3000");
    // The stuffed election has more flagged stations and a larger integer excess.
    let num = |r: &csv::StringRecord, n: &str| col(r, n).parse::<f64>().unwrap();
    assert!(num(&rows[1], "flagged_stations") > 5.0 * num(&rows[0], "flagged_stations").max(1.0));
    assert!(num(&rows[1], "integer_excess") > num(&rows[0], "integer_excess") + 30.0);
    // Same numbers as each election's own summary.json.
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("stuffed/summary.json")).unwrap()).unwrap();
    assert_eq!(s["integer"]["either"]["observed"].as_f64().unwrap(), num(&rows[1], "integer_observed"));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("href=\"stuffed/report.html\"") && html.contains("<svg"));
}

#[test]
fn parquet_tables_match_the_csv_tables() {
    let dir = tempfile::tempdir().unwrap();
    let a = simulate(dir.path(), "e.csv", 7, &["stuffing:0.05:0.3"]);
    let out = dir.path().join("out");
    let o = bin().arg("analyze").arg(&a).arg("--out").arg(&out).args(["-q", "--no-fingerprint", "--format", "parquet,csv"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for table in ["stations", "commissions", "regions", "tests"] {
        let mut c = csv::Reader::from_path(out.join(format!("{table}.csv"))).unwrap();
        let head: Vec<String> = c.headers().unwrap().iter().map(String::from).collect();
        let csv_rows: Vec<csv::StringRecord> = c.records().map(Result::unwrap).collect();
        let (names, rows) = read_parquet(&out.join(format!("{table}.parquet")));
        assert_eq!(names, head, "{table}: columns");
        assert_eq!(rows.len(), csv_rows.len(), "{table}: rows");
        for (pr, cr) in rows.iter().zip(&csv_rows).take(200) {
            for (k, f) in pr.iter().enumerate() {
                let c = &cr[k];
                match f {
                    Field::Null => assert!(c.is_empty(), "{table}.{}: null vs {c:?}", names[k]),
                    Field::Long(v) => assert_eq!(c, v.to_string(), "{table}.{}", names[k]),
                    Field::Bool(v) => assert_eq!(c, v.to_string(), "{table}.{}", names[k]),
                    Field::Double(v) => {
                        let x: f64 = c.parse().unwrap_or_else(|_| panic!("{table}.{}: {c:?}", names[k]));
                        // CSV rounds percentages to 0.01 and scores to 0.001.
                        assert!((x - v).abs() <= 0.006 * v.abs().max(1.0), "{table}.{}: csv {x} vs parquet {v}", names[k]);
                    }
                    Field::Str(v) => assert_eq!(c.trim_start_matches('\''), v.as_str(), "{table}.{}", names[k]),
                    other => panic!("unexpected parquet field {other:?}"),
                }
            }
        }
    }
}

/// `stations.csv`'s leader columns follow `--leader`: the votes and the share are the
/// named candidate's, and agree with each other (share = votes / valid, to the 0.01%
/// the file prints). The votes column used to be the most-voted candidate's whatever
/// `--leader` said.
#[test]
fn station_leader_columns_follow_the_leader_flag() {
    let dir = tempfile::tempdir().unwrap();
    let f = simulate(dir.path(), "e.csv", 3, &[]);
    let out = dir.path().join("out");
    let o = bin()
        .arg("analyze")
        .arg(&f)
        .arg("--out")
        .arg(&out)
        .args(["-q", "--no-charts", "--no-calibration", "--no-fingerprint", "--format", "csv", "--leader", "Candidate B"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Candidate B's votes per station, from the input file, by line number.
    let mut input = csv::Reader::from_path(&f).unwrap();
    let ih = input.headers().unwrap().clone();
    let b = ih.iter().position(|h| h == "Candidate B").expect("simulated files name Candidate B");
    let votes_b: Vec<String> = input.records().map(|r| r.unwrap()[b].to_string()).collect();
    let mut st = csv::Reader::from_path(out.join("stations.csv")).unwrap();
    let h = st.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut checked = 0;
    for r in st.records().map(Result::unwrap) {
        let line: usize = r[at("line")].parse().unwrap();
        assert_eq!(r[at("leader_votes")], votes_b[line - 2], "line {line}");
        let (v, valid): (f64, f64) = (r[at("leader_votes")].parse().unwrap(), r[at("valid")].parse().unwrap());
        if valid > 0.0 {
            let share: f64 = r[at("leader_share_pct")].parse().unwrap();
            assert!((share - 100.0 * v / valid).abs() <= 0.005 + 1e-9, "line {line}: {share} vs {v}/{valid}");
            checked += 1;
        }
    }
    assert!(checked > 2900, "{checked}");
}
