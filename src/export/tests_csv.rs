//! `tests.csv` (and `tests.json`): one row per test × unit, the same columns for every method.

use super::{Exporter, safe_cell};
use crate::analysis::Analysis;

pub struct TestsCsv;

pub const COLUMNS: [&str; 12] =
    ["test", "scope", "n", "statistic", "null_mean", "null_sd", "z", "p", "q", "calibrated_alpha", "effect", "notes"];

fn num(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v}"),
        Some(v) => format!("{v}"), // NaN / inf are written as such, never silently blank
        None => String::new(),
    }
}

impl Exporter for TestsCsv {
    fn file_name(&self) -> &'static str {
        "tests.csv"
    }
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(COLUMNS)?;
        for r in &a.results {
            w.write_record([
                safe_cell(&r.test).into_owned(),
                safe_cell(&r.scope).into_owned(),
                r.n.to_string(),
                num(Some(r.statistic)),
                num(r.null_mean),
                num(r.null_sd),
                num(r.z()),
                num(r.p),
                num(r.q),
                num(r.calibrated_alpha),
                num(r.effect),
                safe_cell(&r.notes.join(" | ")).into_owned(),
            ])?;
        }
        w.into_inner().map_err(|e| e.into_error())
    }
}

/// `tests.json`: the same rows as `tests.csv`, as a JSON array (with `extra` values).
pub struct TestsJson;

impl Exporter for TestsJson {
    fn file_name(&self) -> &'static str {
        "tests.json"
    }
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        serde_json::to_vec(&a.results).map_err(std::io::Error::other)
    }
}
