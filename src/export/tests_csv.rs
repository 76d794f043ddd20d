//! `tests.csv` (and `tests.json`): one row per test × unit, the same columns for every method.

use super::{Exporter, par_write, safe_cell};
use crate::analysis::Analysis;

pub struct TestsCsv;

pub const COLUMNS: [&str; 17] = [
    "test",
    "scope",
    "n",
    "statistic",
    "null_mean",
    "null_sd",
    "z",
    "p",
    "q",
    "calibrated_alpha",
    "effect",
    "baseline_median",
    "baseline_low",
    "baseline_high",
    "baseline_share_at_or_above",
    "baseline_replicates",
    "notes",
];

/// The clean-replicate baseline columns of a row ([`crate::calibrate::baselines`]): median,
/// low, high, share at or above the statistic, replicates (empty without one).
pub fn baseline_cells(r: &crate::stats::TestResult) -> [Option<f64>; 5] {
    match crate::calibrate::baselines::Baseline::of(r) {
        Some(b) => [Some(b.median), Some(b.low), Some(b.high), Some(b.at_or_above), Some(b.replicates as f64)],
        None => [None; 5],
    }
}

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
                let b = baseline_cells(r);
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
                    &num(b[0]),
                    &num(b[1]),
                    &num(b[2]),
                    &num(b[3]),
                    &num(b[4]),
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
