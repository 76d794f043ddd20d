//! Reading published protocols into the columnar [`Election`] model.
//!
//! **Why the csv crate and not polars here.** Measured on this project's 2-core machines
//! (`../shared/BUILD-NOTES.md`): the csv crate's `ByteRecord` path parses at
//! ~560 MB/s on one thread with ~8 MB of working memory, against ~600 MB/s and ~1.4 GB
//! peak for polars' eager reader, which also returns every count as `i64` and loses the
//! per-row line numbers that our error messages need ("file:line: column …: value …").
//! At 100k stations every reader takes 12–40 ms, so parsing is not where polars would
//! earn its ~3-minute build cost and 25 MB of binary; its group-bys and Parquet output
//! belong to later stages if they need them.
//!
//! The pipeline: [`source::open`] (file / zip / gzip / stdin / spreadsheet, BOM,
//! encoding) → [`header_rows::prepare`] (delimiter, title rows, two-row headers) →
//! [`plan::build`] (flags, mapping file, [`recognise`] rules) → the wide or long row
//! loop, which fills the model and counts every row: each data row ends up as a
//! station, an unpublished protocol, a filtered-out row (long format `--where`) or a
//! skipped bad row (`--skip-bad-rows`), and the report says how many.

pub mod encoding;
pub mod header_rows;
pub mod long;
pub mod mapping;
pub mod number;
pub mod plan;
pub mod profile;
pub mod recognise;
pub mod filter;
pub mod source;
pub mod spreadsheet;
mod wide;

pub use mapping::Mapping;

use crate::error::{InputError, Result};
use crate::model::Election;
use serde::Serialize;
use std::path::Path;

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub mapping: Mapping,
    /// Turn unreadable rows into counted, reported skips instead of an error.
    pub skip_bad_rows: bool,
    /// Long format: one row per station × candidate.
    pub long: bool,
    /// `--encoding`: a WHATWG label (`windows-1251`, `cp1250`, `utf-16le`, …); default:
    /// UTF-8, or detected when the bytes are not UTF-8.
    pub encoding: Option<String>,
    /// `--sheet`: a spreadsheet's sheet by name or 1-based number; default: the first
    /// sheet with data.
    pub sheet: Option<String>,
}

/// One column of the file and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnUse {
    /// 1-based column number.
    pub index: usize,
    pub name: String,
    /// Role key, `candidate`, `level:NAME`, `station`, `ignored`, …
    pub used_as: String,
    /// Why: named by a flag, recognised by which rule, or why ignored.
    pub how: String,
}

/// A row that could not be read and was skipped (`--skip-bad-rows`).
#[derive(Debug, Clone, Serialize)]
pub struct Skip {
    pub line: u64,
    pub reason: String,
}

/// What reading did: the accounting that lets a reader check nothing was lost.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ReadReport {
    pub file: String,
    pub container: String,
    pub bom: bool,
    pub delimiter: String,
    pub layout: String,
    /// Data rows in the file (not counting the header or blank lines).
    pub rows_in_file: u64,
    /// Rows that became (part of) a station's protocol.
    pub rows_used: u64,
    /// Rows whose counts were all empty: protocols not published.
    pub rows_unpublished: u64,
    /// Long format: rows excluded by `--where`.
    pub rows_filtered: u64,
    /// Rows skipped as unreadable (`--skip-bad-rows`).
    pub rows_skipped: u64,
    /// The first skipped rows with their reasons (at most 50 kept).
    pub skips: Vec<Skip>,
    /// Every skipped row counted by the kind of its reason (numbers in the reason
    /// written as N): the counts add up to `rows_skipped`.
    pub skip_reasons: std::collections::BTreeMap<String, u64>,
    pub columns: Vec<ColumnUse>,
    /// Long format: station × candidate pairs with no row, counted as 0 votes.
    pub missing_pairs_as_zero: u64,
    /// Wide format: empty candidate cells on published protocols, read as 0 votes (a
    /// party not on the ballot in that district).
    pub empty_votes_as_zero: u64,
    /// Stations whose protocol misses a line the tests need (set aside, see `Special::Partial`).
    pub partial_stations: u64,
    /// Columns dropped because they were empty on every row (or nearly: a role left
    /// on too few stations), with why.
    pub dropped_columns: Vec<String>,
    /// Columns that split the file into several elections (round, race), with their
    /// values and row counts.
    pub splits: Vec<SplitColumn>,
    // --- source layer (src/ingest/source.rs, encoding.rs, spreadsheet.rs, header_rows.rs) ---
    /// The text encoding read (WHATWG name: `UTF-8`, `windows-1251`, `UTF-16LE`, …).
    pub encoding: String,
    /// True when tallyscope chose it (byte-order mark, NUL pattern, detection); false
    /// for plain UTF-8, `--encoding`, and spreadsheets.
    pub encoding_detected: bool,
    /// How: `valid UTF-8`, `byte-order mark`, `NUL pattern`, `detected`, `--encoding`, `spreadsheet`.
    pub encoding_how: String,
    /// A spreadsheet's sheet that was read (empty for text files), and all its sheets.
    pub sheet: String,
    pub sheets: Vec<String>,
    /// Rows of title text above the header that were skipped.
    pub title_rows_skipped: u64,
    /// Rows the header spans: 1, or 2 for a combined two-row header.
    pub header_rows: u64,
    /// Choices the reader made that a user should know (which sheet, which zip member,
    /// title rows skipped, a two-row header combined, undecodable bytes).
    pub notes: Vec<String>,
}

/// A round or race column and what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct SplitColumn {
    pub column: String,
    pub values: Vec<(String, u64)>,
    /// True when `--where` picked one value of it.
    pub filtered: bool,
}

impl Ingested {
    /// An error when the file stacks several rounds or races and none was picked:
    /// analysing them as one election would mix them.
    pub fn ensure_one_election(&self) -> Result<()> {
        for s in &self.report.splits {
            if !s.filtered && s.values.len() > 1 {
                let vals: Vec<String> = s.values.iter().take(6).map(|(v, c)| format!("\"{v}\" ({c} rows)")).collect();
                let first = s.values.first().map(|v| v.0.clone()).unwrap_or_default();
                return Err(InputError::new(
                    &self.report.file,
                    format!(
                        "the file stacks {} rounds or races in this column ({}): pick one with --where \"{}={}\", \
                         or analyse each as its own election with --split-by \"{}\"",
                        s.values.len(),
                        vals.join(", "),
                        s.column,
                        first,
                        s.column
                    ),
                )
                .column(s.column.clone())
                .into());
            }
        }
        Ok(())
    }
}

impl ReadReport {
    /// The accounting identity every read satisfies.
    pub fn balanced(&self) -> bool {
        self.rows_used + self.rows_unpublished + self.rows_filtered + self.rows_skipped == self.rows_in_file
            && self.skip_reasons.values().sum::<u64>() == self.rows_skipped
    }
    pub(crate) fn skip(&mut self, line: u64, e: &InputError) {
        self.rows_skipped += 1;
        *self.skip_reasons.entry(reason_kind(&e.message)).or_default() += 1;
        if self.skips.len() < 50 {
            self.skips.push(Skip { line, reason: e.to_string() });
        }
    }
}

/// The kind of a row error, for counting skips: the message up to its first `;` or `:`
/// with every number written as N ("row has N fields but the header has N").
pub fn reason_kind(message: &str) -> String {
    let head = message.split([';', ':']).next().unwrap_or(message).trim();
    head.split(' ')
        .map(|w| if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit() || b == b',') { "N" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An election read from a file, with the report of how it was read.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub election: Election,
    pub report: ReadReport,
}

/// Reads a protocol file (`-` for stdin; zip, gzip and spreadsheets recognised by content).
pub fn load(path: &Path, opts: &Options) -> Result<Ingested> {
    let src = source::open_with(path, &opts.read_as()?)?;
    load_source(src, opts)
}

/// The values of one column and how many rows hold each (for `--split-by`).
pub fn column_values(path: &Path, opts: &Options, column: &str) -> Result<Vec<(String, u64)>> {
    let src = source::open_with(path, &opts.read_as()?)?;
    let delimiter = match opts.mapping.delimiter_byte()? {
        Some(d) => d,
        None => detect_delimiter(&src.bytes),
    };
    let (names, _) = header_and_sample(&src.name, &src.bytes, delimiter)?;
    let h = plan::Header { file: &src.name, names };
    let col = h.find("--split-by", column)?;
    Ok(filter::value_counts(&src.bytes, delimiter, col))
}

/// Reads protocols already in memory; `name` is used in messages.
pub fn load_bytes(name: &str, bytes: Vec<u8>, opts: &Options) -> Result<Ingested> {
    let src = source::from_bytes_with(name.to_string(), bytes, "plain", &opts.read_as()?)?;
    load_source(src, opts)
}

impl Options {
    /// The encoding and sheet choices for [`source::open_with`]; an unknown encoding
    /// label is a usage error listing examples.
    /// The flags win over the mapping file's `encoding` and `sheet`.
    pub fn read_as(&self) -> Result<source::ReadAs> {
        let label = self.encoding.as_deref().or(self.mapping.encoding.as_deref());
        let encoding = label.map(encoding::for_label).transpose()?;
        Ok(source::ReadAs { encoding, sheet: self.sheet.clone().or_else(|| self.mapping.sheet.clone()) })
    }
}

pub fn load_source(mut src: source::Source, opts: &Options) -> Result<Ingested> {
    let name = src.name.clone();
    if src.bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(InputError::new(&name, "file is empty; expected a header line and one row per station").into());
    }
    // Title rows above the header and two-row headers (header_rows.rs); also picks the
    // delimiter (a spreadsheet's own, else --delimiter, else detected past title rows).
    let rows = header_rows::prepare(&mut src, opts.mapping.delimiter_byte()?);
    let delimiter = rows.delimiter;
    let mut report = ReadReport {
        file: name.clone(),
        container: src.container.to_string(),
        bom: src.had_bom,
        delimiter: match delimiter {
            b'\t' => "tab".into(),
            d => (d as char).to_string(),
        },
        encoding: src.encoding.to_string(),
        encoding_detected: src.encoding_detected,
        encoding_how: src.encoding_how.to_string(),
        sheet: src.sheet.clone().unwrap_or_default(),
        sheets: std::mem::take(&mut src.sheets),
        title_rows_skipped: rows.title_rows,
        header_rows: rows.header_rows,
        notes: [std::mem::take(&mut src.notes), rows.notes].concat(),
        ..Default::default()
    };
    let long = opts.long || opts.mapping.long.is_some();
    let read = if long {
        long::read(&name, &src.bytes, delimiter, opts, &mut report)
    } else {
        wide::read(&name, &src.bytes, delimiter, opts, &mut report)
    };
    // The readers see the header as their first line ("line 1" in their messages); title
    // rows are blanked, not removed, so every other line number is already the file's.
    // A message about line 1 is about the header: give the header's own line.
    let election = read.map_err(|e| match e {
        crate::Error::Input(mut ie) if ie.line == Some(1) && rows.header_line > 1 => {
            ie.line = Some(rows.header_line);
            crate::Error::Input(ie)
        }
        other => other,
    })?;
    debug_assert!(report.balanced(), "row accounting: {report:?}");
    Ok(Ingested { election, report })
}

/// The most columns a header may have. Real protocol tables have tens to a few hundred
/// (one per protocol line and candidate); a header of a million "columns" is a wrong
/// delimiter or not a table, and every column costs memory downstream.
pub const MAX_COLUMNS: usize = 10_000;

/// Picks the most frequent of `,` `;` tab `|` in the first line (outside quotes).
pub fn detect_delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in bytes.iter().take(1 << 20) {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(k) = cands.iter().position(|&c| c == b) {
                    counts[k] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|&k| (counts[k], std::cmp::Reverse(k))).unwrap_or(0);
    if counts[best] == 0 { b',' } else { cands[best] }
}

/// CSV reader settings shared by both layouts. `flexible`: ragged rows are reported by
/// us, with the line and the field counts, not by the csv crate.
pub(crate) fn csv_reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Header names as text (the bytes are known to be UTF-8); empty names become "column N".
pub(crate) fn header_names(rec: &csv::ByteRecord) -> Vec<String> {
    rec.iter()
        .enumerate()
        .map(|(i, f)| {
            let s = String::from_utf8_lossy(f).trim().to_string();
            if s.is_empty() { format!("column {}", i + 1) } else { s }
        })
        .collect()
}

/// Reads the header and a sample of rows; errors for a file that is only a header.
pub(crate) fn header_and_sample(
    name: &str,
    bytes: &[u8],
    delimiter: u8,
) -> Result<(Vec<String>, Vec<csv::ByteRecord>)> {
    let mut rdr = csv_reader(bytes, delimiter);
    let mut rec = csv::ByteRecord::new();
    let got = rdr.read_byte_record(&mut rec).map_err(|e| csv_error(name, e))?;
    if !got {
        return Err(InputError::new(name, "file is empty; expected a header line").into());
    }
    if rec.len() > MAX_COLUMNS {
        return Err(InputError::new(
            name,
            format!(
                "the header has {} columns; a protocol table has at most {} (one per protocol line and \
                 candidate): wrong delimiter (--delimiter), or not a protocol file?",
                crate::numfmt::thousands(rec.len() as u64),
                crate::numfmt::thousands(MAX_COLUMNS as u64)
            ),
        )
        .line(1)
        .into());
    }
    if let Some(c) = rec.iter().position(|f| f.contains(&0)) {
        return Err(InputError::new(name, "header contains a NUL byte (0x00): a damaged or binary file; expected text")
            .line(1)
            .column(format!("column {}", c + 1))
            .into());
    }
    let names = plan::dedupe_header(header_names(&rec));
    let mut sample = Vec::new();
    while sample.len() < 200 {
        let mut r = csv::ByteRecord::new();
        match rdr.read_byte_record(&mut r) {
            Ok(true) => sample.push(r),
            Ok(false) => break,
            Err(_) => break, // reported with its line by the main loop
        }
    }
    if sample.is_empty() {
        return Err(InputError::new(name, "the file has a header but no data rows; expected one row per station")
            .line(1)
            .into());
    }
    Ok((names, sample))
}

pub(crate) fn csv_error(name: &str, e: csv::Error) -> crate::Error {
    let line = e.position().map(|p| p.line());
    let mut err = InputError::new(name, format!("cannot parse CSV: {e}"));
    err.line = line;
    err.into()
}

/// What is wrong with a record before any cell is read, as (column index, message):
/// a field count unlike the header's (with the likely cause: the file ends mid-row, a
/// different delimiter on this row, an unterminated quote) or a NUL byte in a field.
/// `at_end_unterminated`: the record is the last one and the file has no line end after it.
pub(crate) fn row_problem(
    rec: &csv::ByteRecord,
    want: usize,
    line: u64,
    delimiter: u8,
    at_end_unterminated: bool,
) -> Option<(Option<usize>, String)> {
    if rec.len() != want {
        return Some((None, ragged(rec, want, line, delimiter, at_end_unterminated)));
    }
    rec.iter().position(|f| f.contains(&0)).map(|c| {
        (Some(c), "contains a NUL byte (0x00): a damaged or binary file; expected text".to_string())
    })
}

/// The 1-based line where each record starts. The csv crate's own `position().line()`
/// is one short after a CRLF line end (the record's position is taken before the `\n`
/// of the previous `\r\n` is consumed), so every CRLF file's messages named the line
/// above the bad one; this counts line feeds up to the record's first byte instead,
/// incrementally (one pass over the file in all).
#[derive(Default)]
pub(crate) struct LineCounter {
    pos: usize,
    line: u64,
}

impl LineCounter {
    pub fn line_of(&mut self, rec: &csv::ByteRecord, bytes: &[u8]) -> u64 {
        let Some(p) = rec.position() else { return 0 };
        // Skip the line ends (and blank lines) the reader passed over before the record.
        let mut start = (p.byte() as usize).min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.pos {
            self.pos = 0;
            self.line = 0;
        }
        self.line += bytes[self.pos..start].iter().filter(|&&b| b == b'\n').count() as u64;
        self.pos = start;
        self.line + 1
    }
}

/// True when the reader has just returned the file's last record and no line end follows it.
pub(crate) fn ends_mid_row(rdr: &csv::Reader<&[u8]>, bytes: &[u8]) -> bool {
    rdr.position().byte() as usize >= bytes.len() && !matches!(bytes.last(), Some(b'\n' | b'\r'))
}

/// A message for a record whose field count differs from the header's.
fn ragged(rec: &csv::ByteRecord, want: usize, line: u64, delimiter: u8, at_end_unterminated: bool) -> String {
    if let Some(f) = rec.iter().position(|f| f.contains(&b'\n')) {
        let lines = rec.get(f).map(|x| x.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0);
        return format!(
            "field {} is a quoted value that runs from line {line} over {lines} more lines: probably an unterminated quote (\"); \
             expected {want} fields on one line",
            f + 1
        );
    }
    let got = rec.len();
    if got < want && at_end_unterminated {
        return format!(
            "the file ends in the middle of this row: {got} of {want} fields and no line end (a truncated download or copy?)"
        );
    }
    if got < want {
        // The same row split by another delimiter would have the header's field count.
        for other in [b',', b';', b'\t', b'|'] {
            let extra: usize = rec.iter().map(|f| f.iter().filter(|&&b| b == other).count()).sum();
            if other != delimiter && extra > 0 && got + extra == want {
                let show = |d: u8| if d == b'\t' { "tab".to_string() } else { format!("'{}'", d as char) };
                return format!(
                    "row is separated by {} but the header by {}: {got} fields where the header has {want} \
                     (mixed delimiters; re-export the file with one delimiter)",
                    show(other),
                    show(delimiter)
                );
            }
        }
    }
    format!(
        "row has {got} fields but the header has {want}: {} (a stray delimiter or quote?)",
        if got > want { "too many fields" } else { "too few fields" }
    )
}
