//! `tests.csv` (and `tests.json`): one row per test × unit, the same columns for every method.

use super::{Exporter, par_write, safe_cell};
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
    /// Streams the rows (3 million at 10⁷ stations: one per test and commission).
    fn write_to(&self, a: &Analysis, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(COLUMNS)?;
        out.write_all(&w.into_inner().map_err(|e| e.into_error())?)?;
        par_write(&a.results, out, |_, rows, buf| {
            let mut w = csv::Writer::from_writer(buf);
            for r in rows {
                w.write_record([
                    safe_cell(&r.test).as_ref(),
                    safe_cell(&r.scope).as_ref(),
                    &r.n.to_string(),
                    &num(Some(r.statistic)),
                    &num(r.null_mean),
                    &num(r.null_sd),
                    &num(r.z()),
                    &r.p.map(crate::numfmt::p_sci).unwrap_or_default(),
                    &r.q.map(crate::numfmt::p_sci).unwrap_or_default(),
                    &num(r.calibrated_alpha),
                    &num(r.effect),
                    safe_cell(&r.notes.join(" | ")).as_ref(),
                ])?;
            }
            w.flush()
        })
    }
}

/// `tests.json`: the same rows as `tests.csv`, as a JSON array (with `extra` values),
/// one row per line.
pub struct TestsJson;

impl Exporter for TestsJson {
    fn file_name(&self) -> &'static str {
        "tests.json"
    }
    fn write_to(&self, a: &Analysis, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        super::json_lines(&a.results, out, |_, chunk| chunk.iter().collect())
    }
}
