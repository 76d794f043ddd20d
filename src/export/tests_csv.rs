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
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.write_to(a, &mut v)?;
        Ok(v)
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
                    &num(r.p),
                    &num(r.q),
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
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.write_to(a, &mut v)?;
        Ok(v)
    }
    fn write_to(&self, a: &Analysis, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        json_lines(&a.results, out, |_, r, buf| serde_json::to_writer(buf, r).map_err(std::io::Error::other))
    }
}

/// Writes `rows` as a JSON array, one element per line (`[` row `,` … `]`), serialising
/// in parallel chunks ([`par_write`]; `f(position, row, buffer)`); `[]` when empty.
pub(crate) fn json_lines<T: Sync>(
    rows: &[T],
    out: &mut dyn std::io::Write,
    f: impl Fn(usize, &T, &mut Vec<u8>) -> std::io::Result<()> + Sync,
) -> std::io::Result<()> {
    out.write_all(b"[")?;
    par_write(rows, out, |first, chunk, buf| {
        for (k, r) in chunk.iter().enumerate() {
            buf.extend_from_slice(if first + k > 0 { b",\n" } else { b"\n" });
            f(first + k, r, buf)?;
        }
        Ok(())
    })?;
    out.write_all(if rows.is_empty() { b"]" } else { b"\n]\n" })
}
