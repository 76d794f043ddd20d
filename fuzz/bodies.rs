//! The bodies of the fuzz targets, shared with `tests/fuzz_corpus.rs`, which replays the
//! seed corpus and every minimised crasher through the same code in a normal
//! `cargo test`. A body may return errors; it must never panic, and whatever it reads
//! must satisfy the row accounting.
#![allow(dead_code)]

use tallyscope::ingest::{self, Mapping, Options, mapping::LongSpec};

/// The first byte picks the options (skip bad rows; wide or long layout); the rest is
/// the file.
pub fn ingest(data: &[u8]) {
    let (flags, bytes) = match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    };
    let mut opts = Options { skip_bad_rows: flags & 1 == 1, ..Default::default() };
    if flags & 2 == 2 {
        opts.long = true;
        opts.mapping.long = Some(LongSpec {
            station: vec!["station".into()],
            candidate: Some("candidate".into()),
            votes: Some("votes".into()),
            filters: if flags & 4 == 4 { vec!["office=P".into()] } else { Vec::new() },
        });
    }
    read_and_check(bytes.to_vec(), &opts);
}

fn read_and_check(bytes: Vec<u8>, opts: &Options) {
    match ingest::load_bytes("fuzz.csv", bytes, opts) {
        Ok(ing) => {
            let r = &ing.report;
            assert!(r.balanced(), "row accounting does not add up: {r:?}");
            assert!(!ing.election.is_empty(), "an Ok read has at least one station");
            if !opts.long {
                assert_eq!(ing.election.len() as u64, r.rows_used, "wide: one station per used row");
            }
            let rep = tallyscope::checks::run(&ing.election);
            let _ = rep.summary().to_string();
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
        }
    }
}

/// A small wide file whose columns a fuzzed mapping may name.
pub const FIXED_CSV: &[u8] = b"region,commission,station,registered,issued,in_boxes,invalid,valid,Alice,Bob\n\
North,N-1,1,1000,600,600,10,590,400,190\n\
North,N-1,2,800,500,500,5,495,300,195\n";

/// The first byte says TOML or JSON; the rest is the mapping text. A mapping that
/// parses is applied to [`FIXED_CSV`].
pub fn mapping(data: &[u8]) {
    let (flag, rest) = match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let json = flag & 1 == 1;
    match Mapping::parse("fuzz.map", text, json) {
        Ok(m) => {
            let _ = m.delimiter_byte();
            let _ = m.filters();
            let opts = Options { mapping: m, skip_bad_rows: flag & 2 == 2, long: false, ..Default::default() };
            read_and_check(FIXED_CSV.to_vec(), &opts);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
}
