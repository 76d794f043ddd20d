//! Replays the fuzz targets' seed corpus and every minimised crasher
//! (`fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`) through the targets' own
//! bodies (`fuzz/bodies.rs`) in a normal `cargo test`, so what the fuzzer once found
//! stays fixed without libFuzzer or nightly flags. The long runs are in fuzz/README.md.

#[path = "../fuzz/bodies.rs"]
mod bodies;

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep") {
                let b = std::fs::read(&p).unwrap();
                out.push((p, b));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn ingest_csv_corpus() {
    let all = inputs("ingest_csv");
    assert!(all.len() >= 9, "seed corpus missing: {} files", all.len());
    for (p, b) in &all {
        eprintln!("{}", p.display());
        bodies::ingest(b);
    }
}

#[test]
fn mapping_corpus() {
    let all = inputs("mapping");
    assert!(all.len() >= 4, "seed corpus missing: {} files", all.len());
    for (p, b) in &all {
        eprintln!("{}", p.display());
        bodies::mapping(b);
    }
}

/// The seeds reach the paths they were written for: the bodies accept them (they are
/// not all trivially rejected), so the replay is not a test that cannot fail.
#[test]
fn seeds_are_read() {
    let ok = inputs("ingest_csv")
        .iter()
        .filter(|(_, b)| {
            let opts = tallyscope::ingest::Options { skip_bad_rows: b[0] & 1 == 1, ..Default::default() };
            b[0] & 2 == 0 && tallyscope::ingest::load_bytes("s.csv", b[1..].to_vec(), &opts).is_ok()
        })
        .count();
    assert!(ok >= 4, "{ok} wide seeds read");
}
