//! Ingest and check on the three real Russian federal elections (../shared/data/ru).
//! Known facts from the data's README; violation counts from an independent Python
//! recount, tests/independent/check_ru.py (its output is quoted at each assertion).

mod common;

use tallyscope::checks::{self, Rule};
use tallyscope::ingest::{self, Options};
use tallyscope::model::{Role, Special};

fn load(name: &str) -> Option<tallyscope::ingest::Ingested> {
    let p = common::ru_data(name)?;
    Some(ingest::load(&p, &Options::default()).expect("real file loads with no flags"))
}

fn facts(name: &str, stations: usize, registered: u64, leader: &str, abroad: usize) {
    let Some(ing) = load(name) else { return };
    let e = &ing.election;
    assert_eq!(e.len(), stations);
    assert_eq!(e.total(Role::Registered), Some(registered));
    assert_eq!(e.candidates[e.leader().unwrap()], leader);
    assert!(ing.report.balanced());
    assert_eq!(ing.report.rows_in_file, stations as u64);
    assert_eq!(e.levels.len(), 2);
    assert_eq!(e.levels[0].name, "region");
    assert_eq!(e.levels[1].name, "commission");
    assert_eq!(ing.report.layout, "Russian CEC protocol, wide (one row per station)");
    // Every protocol role is recognised in all three wordings.
    for r in Role::ALL {
        assert!(e.has(r), "{name}: role {} not recognised", r.key());
    }
    // Abroad: regions "Зарубежная территория" (2011) or "99 …"/"98 …" (2012, 2018);
    // counted with Python over the same rule.
    assert_eq!(e.special.iter().filter(|s| **s == Some(Special::Abroad)).count(), abroad);
}

#[test]
fn inspect_2011() {
    facts("2011.csv.zip", 95_225, 109_229_337, "6. Всероссийская политическая партия \"ЕДИНАЯ РОССИЯ\"", 376);
}

#[test]
fn inspect_2012() {
    facts("2012.csv.zip", 95_415, 109_860_331, "Путин Владимир Владимирович", 385);
}

#[test]
fn inspect_2018() {
    facts("2018.csv.zip", 97_699, 109_008_428, "Путин Владимир Владимирович", 400);
}

fn counts(name: &str, boxes: usize, identical: usize) {
    let Some(ing) = load(name) else { return };
    let r = checks::run(&ing.election);
    assert!(r.not_run.is_empty());
    assert_eq!(r.count(Rule::IssuedLeRegistered), 0);
    assert_eq!(r.count(Rule::BoxesLeIssued), boxes);
    assert_eq!(r.count(Rule::ValidPlusInvalid), 0);
    assert_eq!(r.count(Rule::VotesSumValid), 0);
    assert_eq!(r.count(Rule::BallotBalance), 0);
    assert_eq!(r.count(Rule::DuplicateId), 0);
    assert_eq!(r.count(Rule::IdenticalProtocol), identical);
}

#[test]
fn check_2018() {
    // check_ru.py: 97699 {'boxes_le_issued': 6, 'duplicate_id': 0, 'identical_protocol': 13}
    counts("2018.csv.zip", 6, 13);
}

#[test]
fn check_2011_2012() {
    // check_ru.py: 95225 {'boxes_le_issued': 18, 'duplicate_id': 0, 'identical_protocol': 20}
    counts("2011.csv.zip", 18, 20);
    // check_ru.py: 95415 {'boxes_le_issued': 13, 'duplicate_id': 0, 'identical_protocol': 27}
    counts("2012.csv.zip", 13, 27);
}

#[test]
fn check_cli_reports_lines() {
    let Some(p) = common::ru_data("2018.csv.zip") else { return };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("v.csv");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tallyscope"))
        .args(["check", p.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "violations found → exit 1");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("boxes_le_issued                 6"), "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6 + 13);
    // Every row names a real line of the file (2 ..= 97,700) and a rule.
    for r in &rows {
        let line: u64 = r[0].parse().unwrap();
        assert!((2..=97_700).contains(&line));
    }
    let boxes: Vec<_> = rows.iter().filter(|r| &r[4] == "boxes_le_issued").collect();
    assert_eq!(boxes.len(), 6);
    for r in boxes {
        let gap: i64 = r[8].parse().unwrap();
        assert!(gap > 0);
    }
}
