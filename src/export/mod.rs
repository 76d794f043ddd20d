//! Writing results: one [`Exporter`] per file format (as hyperfine's `src/export/`), and
//! shared helpers for CSV cells and terminal tables.

pub mod compare;
pub mod eft;
pub mod parquet;
pub mod ranking;
pub mod summary_json;
pub mod table;
pub mod tests_csv;

use crate::analysis::Analysis;
use crate::error::{Error, Result};
use std::path::Path;

/// One output file of `analyze`.
pub trait Exporter {
    /// The file name inside the output directory.
    fn file_name(&self) -> &'static str;
    /// Writes the file's bytes to `w`; exporters of station-sized lists stream them
    /// ([`par_write`], [`json_lines`]: bounded memory at 10⁷ stations).
    fn write_to(&self, a: &Analysis, w: &mut dyn std::io::Write) -> std::io::Result<()>;
    /// The file's bytes in memory (tests, small files).
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.write_to(a, &mut v)?;
        Ok(v)
    }
}

/// Formats of the result tables (`stations`, `commissions`, `regions`, `tests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated, UTF-8, one header line; text cells safe to open in a spreadsheet.
    Csv,
    /// JSON arrays of objects (stations carry their evidence as a list).
    Json,
    /// Apache Parquet, typed nullable columns (DuckDB, Spark, pandas, polars).
    Parquet,
}

/// The default formats: CSV and JSON.
pub const DEFAULT_FORMATS: [Format; 2] = [Format::Csv, Format::Json];

/// Every exporter `analyze` writes with the default formats.
pub fn all() -> Vec<Box<dyn Exporter + Send + Sync>> {
    for_formats(&DEFAULT_FORMATS)
}

/// `summary.json` (always) and the result tables in each of `formats`.
pub fn for_formats(formats: &[Format]) -> Vec<Box<dyn Exporter + Send + Sync>> {
    use parquet::{Parquet, Which};
    let mut v: Vec<Box<dyn Exporter + Send + Sync>> = vec![Box::new(summary_json::SummaryJson)];
    for f in formats {
        match f {
            Format::Csv => {
                v.push(Box::new(tests_csv::TestsCsv));
                v.push(Box::new(ranking::StationsCsv));
                v.push(Box::new(ranking::Units { regions: false, json: false }));
                v.push(Box::new(ranking::Units { regions: true, json: false }));
            }
            Format::Json => {
                v.push(Box::new(tests_csv::TestsJson));
                v.push(Box::new(ranking::StationsJson));
                v.push(Box::new(ranking::Units { regions: false, json: true }));
                v.push(Box::new(ranking::Units { regions: true, json: true }));
            }
            Format::Parquet => {
                for w in [Which::Tests, Which::Stations, Which::Commissions, Which::Regions] {
                    v.push(Box::new(Parquet(w)));
                }
            }
        }
    }
    v
}

/// Serialises and writes one exporter's file into `dir`.
pub fn write(ex: &dyn Exporter, a: &Analysis, dir: &Path) -> Result<std::path::PathBuf> {
    let p = dir.join(ex.file_name());
    let t = std::time::Instant::now();
    let f = std::fs::File::create(&p).map_err(|e| Error::io(p.display().to_string(), e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    ex.write_to(a, &mut w)
        .and_then(|_| std::io::Write::flush(&mut w))
        .map_err(|e| Error::io(p.display().to_string(), e))?;
    if std::env::var_os("TALLYSCOPE_PHASES").is_some() {
        eprintln!("  {}: {:.3} s", ex.file_name(), t.elapsed().as_secs_f64());
    }
    Ok(p)
}

/// Rows per parallel chunk when serialising station- and test-sized lists (10⁷ stations
/// make gigabytes of rows).
const CHUNK: usize = 4096;

/// Chunks serialised in parallel before they are written out: bounds the memory of a
/// 10⁷-row list to a window of `CHUNK × WINDOW` rows.
const WINDOW: usize = 32;

/// Serialises `rows` in parallel chunks with `f` (`f(index of the chunk's first row,
/// rows, buffer)`) and writes the buffers to `w` in order, a window at a time, so the
/// output is the same for any number of threads and memory stays bounded.
pub(crate) fn par_write<'a, T: Sync>(
    rows: &'a [T],
    w: &mut dyn std::io::Write,
    f: impl Fn(usize, &'a [T], &mut Vec<u8>) -> std::io::Result<()> + Sync,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    for (wi, window) in rows.chunks(CHUNK * WINDOW).enumerate() {
        let bufs: Vec<Vec<u8>> = window
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, idx)| {
                let mut buf = Vec::with_capacity(idx.len() * 256);
                f(wi * CHUNK * WINDOW + c * CHUNK, idx, &mut buf)?;
                Ok(buf)
            })
            .collect::<std::io::Result<_>>()?;
        for b in bufs {
            w.write_all(&b)?;
        }
    }
    Ok(())
}

/// Writes `rows` as a JSON array, one element per line (`[` row `,` … `]`; `[]` when
/// empty): `elements(index of the chunk's first row, chunk)` turns each chunk of rows
/// into the values to serialise, in parallel ([`par_write`]).
pub(crate) fn json_lines<'a, T: Sync, R: serde::Serialize>(
    rows: &'a [T],
    out: &mut dyn std::io::Write,
    elements: impl Fn(usize, &'a [T]) -> Vec<R> + Sync,
) -> std::io::Result<()> {
    out.write_all(b"[")?;
    par_write(rows, out, |first, chunk, buf| {
        for (k, r) in elements(first, chunk).iter().enumerate() {
            buf.extend_from_slice(if first + k > 0 { b",\n" } else { b"\n" });
            serde_json::to_writer(&mut *buf, r).map_err(std::io::Error::other)?;
        }
        Ok(())
    })?;
    out.write_all(if rows.is_empty() { b"]" } else { b"\n]\n" })
}

pub use crate::numfmt::thousands;

/// Neutralises spreadsheet formula injection: a text cell that starts with `=`, `+`, `-`,
/// `@`, tab or carriage return gets a leading apostrophe, so a region called
/// `=HYPERLINK(…)` is shown as text, not run, when the CSV is opened in a spreadsheet.
/// Numbers we write ourselves never pass through here.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn thousands_and_safety() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(109008428), "109,008,428");
        assert_eq!(safe_cell("=1+1"), "'=1+1");
        assert_eq!(safe_cell("Region 1"), "Region 1");
    }
}
