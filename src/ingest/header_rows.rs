//! Where the header is: title rows above it, and two-row (merged) headers.
//!
//! Commission spreadsheets and some CSV exports carry one to five rows of title text
//! ("Results of the presidential election, 12 July 2020") above the real header, and
//! some have a two-row header: group labels over merged cells ("Candidates" over five
//! columns) above a row of names. [`prepare`] looks at the first [`LOOK`] records and
//! finds the header row:
//!
//! * the table's width `W` is the most common count of non-empty cells among the rows
//!   (rows with at least two, ties to the wider);
//! * the header is the first row with at least 80% of `W` non-empty cells, mostly not
//!   numbers, and a row with numbers (data) right after it;
//! * a two-row header is a row of labels (no numbers) whose cells, with the row under it
//!   (also no numbers, and data after it), cover 80% of `W`; or two such full rows. The
//!   upper row's blank cells inherit the label to their left (merged cells; in an xlsx
//!   or xls the real merged regions are used when the row has any), and each column is
//!   named "Upper Lower" (or whichever exists).
//!
//! When nothing is recognised, or the first row is the header, the bytes are left
//! exactly as they are (a plain CSV pays for parsing [`LOOK`] records, nothing else).
//! Otherwise the title rows (and the upper header row) are blanked **without changing
//! the number of line feeds before any data row**, so every later message names the
//! file's true line (the spreadsheet's true row): the CSV reader skips blank lines, and
//! line numbers are counted as line feeds ([`super::LineCounter`]).

use super::source::{Merge, Source};

/// How many records are looked at.
pub const LOOK: usize = 30;
/// The header must start within this many records (1–5 title rows, blank rows, two header rows).
const MAX_START: usize = 10;

/// What [`prepare`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRows {
    /// The delimiter to read with (re-detected past title rows when not given).
    pub delimiter: u8,
    /// Records (non-blank rows) above the header that were skipped.
    pub title_rows: u64,
    /// 1, or 2 for a combined two-row header.
    pub header_rows: u64,
    /// 1-based line of the (first) header row.
    pub header_line: u64,
    /// The combined names of a two-row header.
    pub names: Option<Vec<String>>,
    /// Sentences for the report ("skipped 2 title rows …").
    pub notes: Vec<String>,
}

struct Row {
    cells: Vec<String>,
    /// Byte where the record's first field starts.
    start: usize,
    /// 0-based physical line of `start`.
    line: u64,
    nonempty: usize,
    numeric: usize,
}

impl Row {
    fn cell(&self, c: usize) -> &str {
        self.cells.get(c).map(|s| s.as_str()).unwrap_or("")
    }
}

/// Finds the header in `src.bytes` and rewrites the bytes above it (see the module
/// doc). The delimiter is the source's own when it has one (a spreadsheet's CSV is
/// comma-separated whatever `--delimiter` says), else `delimiter` (`--delimiter` or the
/// mapping file), else detected.
pub fn prepare(src: &mut Source, delimiter: Option<u8>) -> HeaderRows {
    let known = src.delimiter.or(delimiter);
    let d0 = known.unwrap_or_else(|| super::detect_delimiter(&src.bytes));
    let first = analyse(&src.bytes, d0, &src.merges);
    let found = match first {
        Some(f) if f.skip == 0 && f.rows == 1 => return plain(d0),
        Some(f) if known.is_some() => Some((d0, f)),
        None if known.is_some() => return plain(d0),
        _ => {
            // The first line was not the header: it may be a title, and the delimiter was
            // guessed from it. Take the delimiter under which the widest table appears.
            let mut best = first.map(|f| (d0, f));
            for d in [b',', b';', b'\t', b'|'] {
                if d == d0 {
                    continue;
                }
                if let Some(f) = analyse(&src.bytes, d, &src.merges) {
                    if best.as_ref().is_none_or(|(_, b)| f.width > b.width) {
                        best = Some((d, f));
                    }
                }
            }
            best
        }
    };
    let Some((d, f)) = found else { return plain(d0) };
    if f.skip == 0 && f.rows == 1 {
        return plain(d);
    }
    let mut notes = Vec::new();
    if f.skip > 0 {
        notes.push(format!(
            "skipped {} title row{} above the header (line {}): {}",
            f.skip,
            if f.skip == 1 { "" } else { "s" },
            f.header_line + 1,
            f.titles.iter().map(|t| format!("\"{}\"", crate::error::shorten(t, 60))).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(names) = &f.names {
        notes.push(format!(
            "the header is two rows (lines {} and {}), combined into one: {}",
            f.header_line + 1,
            f.header_line + 2,
            names.iter().take(6).map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                + if names.len() > 6 { ", …" } else { "" }
        ));
    }
    apply(&mut src.bytes, d, &f);
    HeaderRows {
        delimiter: d,
        title_rows: f.skip as u64,
        header_rows: f.rows as u64,
        header_line: f.header_line + 1,
        names: f.names,
        notes,
    }
}

fn plain(d: u8) -> HeaderRows {
    HeaderRows { delimiter: d, title_rows: 0, header_rows: 1, header_line: 1, names: None, notes: Vec::new() }
}

#[derive(Debug, Clone)]
struct Found {
    width: usize,
    /// Records above the header.
    skip: usize,
    /// Header rows: 1 or 2.
    rows: usize,
    /// 0-based line of the header's first row.
    header_line: u64,
    /// Byte where the (first) header row starts, and where the row after the header starts.
    header_start: usize,
    data_start: usize,
    names: Option<Vec<String>>,
    titles: Vec<String>,
}

/// A number as it appears in a protocol cell: digits with optional sign, thousands
/// separators, decimal point or comma, percent sign.
fn numeric(s: &str) -> bool {
    let mut digits = 0;
    for c in s.chars() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '\u{a0}' | '\u{202f}' | '\'' | ',' | '.' | '%' | '+' | '-' => {}
            _ => return false,
        }
    }
    digits > 0
}

fn read_rows(bytes: &[u8], delimiter: u8) -> Vec<Row> {
    let mut rdr = super::csv_reader(bytes, delimiter);
    let mut rec = csv::ByteRecord::new();
    let mut rows = Vec::new();
    let (mut pos, mut line) = (0usize, 0u64);
    while rows.len() < LOOK {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            _ => break,
        }
        let Some(p) = rec.position() else { break };
        let mut start = (p.byte() as usize).min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        line += bytes[pos.min(start)..start].iter().filter(|&&b| b == b'\n').count() as u64;
        pos = start;
        let cells: Vec<String> = rec.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
        let nonempty = cells.iter().filter(|c| !c.is_empty()).count();
        let numeric = cells.iter().filter(|c| numeric(c)).count();
        rows.push(Row { cells, start, line, nonempty, numeric });
    }
    rows
}

/// The header as this delimiter shows it, or None when no row qualifies.
fn analyse(bytes: &[u8], delimiter: u8, merges: &[Merge]) -> Option<Found> {
    let rows = read_rows(bytes, delimiter);
    // The typical width: the modal non-empty count of rows with at least two cells.
    let mut freq = std::collections::BTreeMap::<usize, usize>::new();
    for r in rows.iter().filter(|r| r.nonempty >= 2) {
        *freq.entry(r.nonempty).or_default() += 1;
    }
    let width = freq.iter().max_by_key(|(w, n)| (**n, **w)).map(|(w, _)| *w)?;
    let wide = |n: usize| n * 10 >= width * 8;
    let mostly_text = |r: &Row| r.nonempty > 0 && r.numeric * 2 <= r.nonempty;
    // A header row of a pair: no numbers at all (a data row of many text columns is
    // mostly text, but has its counts).
    let labels = |r: &Row| r.nonempty > 0 && r.numeric == 0;
    let data = |i: usize| rows.get(i).is_some_and(|r| r.numeric >= 1);
    let data_follows = |i: usize| (i..i + 3).any(data);
    let title_like = |r: &Row| {
        r.nonempty <= 3
            && r.nonempty * 2 < width
            && r.cells.iter().enumerate().all(|(c, s)| s.is_empty() || c < 3)
            && (r.nonempty == 1 || r.cells.iter().any(|s| s.chars().count() >= 20 || has_year(s)))
    };
    for h in 0..rows.len().min(MAX_START) {
        let r = &rows[h];
        let pair = |upper: usize| {
            let names = combine(&rows[upper], &rows[upper + 1], merges);
            Some(Found {
                width,
                skip: upper,
                rows: 2,
                header_line: rows[upper].line,
                header_start: rows[upper].start,
                data_start: rows.get(upper + 2)?.start,
                names: Some(names),
                titles: rows[..upper].iter().map(title_text).collect(),
            })
        };
        if wide(r.nonempty) && mostly_text(r) {
            if labels(r) && rows.get(h + 1).is_some_and(|l| labels(l) && wide(l.nonempty)) && data(h + 2) {
                return pair(h);
            }
            if data_follows(h + 1) {
                return Some(Found {
                    width,
                    skip: h,
                    rows: 1,
                    header_line: r.line,
                    header_start: r.start,
                    data_start: rows.get(h + 1).map_or(bytes.len(), |n| n.start),
                    names: None,
                    titles: rows[..h].iter().map(title_text).collect(),
                });
            }
        } else if labels(r) && !title_like(r) {
            if let Some(l) = rows.get(h + 1) {
                let union = (0..r.cells.len().max(l.cells.len()))
                    .filter(|&c| !r.cell(c).is_empty() || !l.cell(c).is_empty())
                    .count();
                if labels(l) && wide(union) && data_follows(h + 2) {
                    return pair(h);
                }
            }
        }
    }
    None
}

fn has_year(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(4).enumerate().any(|(i, w)| {
        w.iter().all(u8::is_ascii_digit)
            && (w.starts_with(b"19") || w.starts_with(b"20"))
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
    })
}

fn title_text(r: &Row) -> String {
    r.cells.iter().filter(|c| !c.is_empty()).cloned().collect::<Vec<_>>().join(" ")
}

/// One name per column from an upper row of group labels and a lower row of names.
fn combine(upper: &Row, lower: &Row, merges: &[Merge]) -> Vec<String> {
    let n = upper.cells.len().max(lower.cells.len());
    let in_row: Vec<&Merge> = merges.iter().filter(|m| m.row as u64 == upper.line && m.c1 > m.c0).collect();
    let mut inherited = Vec::with_capacity(n);
    let mut last = "";
    for c in 0..n {
        let u = upper.cell(c);
        if !u.is_empty() {
            last = u;
            inherited.push(u.to_string());
        } else if !in_row.is_empty() {
            // Real merged regions known: only a cell inside one inherits its label.
            let m = in_row.iter().find(|m| (m.c0 as usize) < c && c <= m.c1 as usize);
            inherited.push(m.map(|m| upper.cell(m.c0 as usize).to_string()).unwrap_or_default());
        } else {
            inherited.push(last.to_string());
        }
    }
    inherited
        .into_iter()
        .enumerate()
        .map(|(c, u)| {
            let l = lower.cell(c);
            let s = match (u.is_empty(), l.is_empty()) {
                (false, false) if u != l => format!("{u} {l}"),
                (false, _) => u,
                (true, _) => l.to_string(),
            };
            s.replace(['\r', '\n'], " ")
        })
        .collect()
}

/// Blanks the rows above the header (title rows, and the upper row of a two-row header)
/// keeping every line feed, and writes a two-row header's combined names in its place.
fn apply(bytes: &mut Vec<u8>, delimiter: u8, f: &Found) {
    match &f.names {
        None => {
            // In place: every byte above the header but the line feeds becomes '\r', a
            // line end the CSV reader skips and the line counter does not count.
            for b in &mut bytes[..f.header_start] {
                if *b != b'\n' {
                    *b = b'\r';
                }
            }
        }
        Some(names) => {
            let feeds = |s: &[u8]| s.iter().filter(|&&b| b == b'\n').count();
            // The combined header goes on the lower row's line; the data keeps its lines.
            let lower_start = {
                let after_upper = &bytes[f.header_start..f.data_start];
                // The lower row starts after the upper row's line feed(s); count them.
                let mut rdr = super::csv_reader(after_upper, delimiter);
                let mut rec = csv::ByteRecord::new();
                let _ = rdr.read_byte_record(&mut rec);
                let _ = rdr.read_byte_record(&mut rec);
                let p = rec.position().map_or(0, |p| p.byte() as usize).min(after_upper.len());
                let mut s = p;
                while s < after_upper.len() && matches!(after_upper[s], b'\r' | b'\n') {
                    s += 1;
                }
                f.header_start + s
            };
            let mut w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
            let _ = w.write_record(names);
            let mut header = w.into_inner().unwrap_or_default();
            while matches!(header.last(), Some(b'\n' | b'\r')) {
                header.pop();
            }
            let mut out = Vec::with_capacity(bytes.len() + header.len());
            out.resize(feeds(&bytes[..lower_start]), b'\n');
            out.extend_from_slice(&header);
            out.resize(out.len() + feeds(&bytes[lower_start..f.data_start]), b'\n');
            out.extend_from_slice(&bytes[f.data_start..]);
            *bytes = out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        super::super::source::from_bytes("t.csv".into(), text.as_bytes().to_vec(), "plain").unwrap()
    }

    fn lines_of(bytes: &[u8], d: u8) -> Vec<(u64, Vec<String>)> {
        let mut rdr = super::super::csv_reader(bytes, d);
        let mut lc = super::super::LineCounter::default();
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let l = lc.line_of(&rec, bytes);
            out.push((l, rec.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()));
        }
        out
    }

    #[test]
    fn plain_csv_untouched() {
        let text = "region,station,registered,valid,A,B\nN,1,100,90,50,40\nN,2,100,90,50,40\n";
        let mut s = src(text);
        let h = prepare(&mut s, None);
        assert_eq!(h, plain(b','));
        assert_eq!(s.bytes, text.as_bytes());
    }

    #[test]
    fn title_rows_blanked_lines_kept() {
        let text = "Results of the presidential election, 12 July 2020\n\"Central commission; preliminary\"\n\r\nregion;station;registered;valid;A;B\r\nN;1;100;90;50;40\r\nN;2;100;90;50;40\r\n";
        let mut s = src(text);
        let h = prepare(&mut s, None);
        assert_eq!((h.delimiter, h.title_rows, h.header_rows, h.header_line), (b';', 2, 1, 4));
        assert!(h.notes[0].contains("skipped 2 title rows"), "{:?}", h.notes);
        let recs = lines_of(&s.bytes, b';');
        assert_eq!(recs[0].0, 4);
        assert_eq!(recs[0].1[0], "region");
        assert_eq!((recs[1].0, recs[2].0), (5, 6));
    }

    #[test]
    fn two_row_header_with_blank_merged_cells() {
        let text = "Results 2020\nregion,station,registered,Candidates,,\n,,,Ivanov,Petrov,Sidorov\nN,1,100,50,30,20\nN,2,100,50,30,20\n";
        let mut s = src(text);
        let h = prepare(&mut s, None);
        assert_eq!((h.title_rows, h.header_rows, h.header_line), (1, 2, 2));
        let recs = lines_of(&s.bytes, b',');
        assert_eq!(recs[0].0, 3);
        assert_eq!(recs[0].1, ["region", "station", "registered", "Candidates Ivanov", "Candidates Petrov", "Candidates Sidorov"]);
        assert_eq!((recs[1].0, recs[2].0), (4, 5));
    }

    #[test]
    fn two_full_rows_and_known_merges() {
        // Lower row full; upper row has groups; a merge list says where "Lines" ends.
        let text = "Lines,,,Candidates,\nstation,registered,valid,Ivanov,Petrov\n1,100,90,50,40\n";
        let mut s = src(text);
        s.merges = vec![Merge { row: 0, c0: 0, c1: 1 }, Merge { row: 0, c0: 3, c1: 4 }];
        let h = prepare(&mut s, None);
        assert_eq!(h.names.unwrap(), ["Lines station", "Lines registered", "valid", "Candidates Ivanov", "Candidates Petrov"]);
        let recs = lines_of(&s.bytes, b',');
        assert_eq!((recs[0].0, recs[1].0), (2, 3));
    }

    #[test]
    fn data_row_of_text_is_not_a_header() {
        // Many text columns and few counts: the first data row is mostly text but has numbers.
        let text = "region,district,town,address,name,station,valid\nN,D,T,Main St,School,1,90\nN,D,T,Oak St,Club,2,80\n";
        let mut s = src(text);
        assert_eq!(prepare(&mut s, None), plain(b','));
        assert_eq!(s.bytes, text.as_bytes());
    }

    #[test]
    fn numeric_names_and_unknown_shapes_leave_bytes_alone() {
        for text in ["1,2,3\n4,5,6\n", "a\nb\n", "x,y\n", "station,valid,A,B\n1,10,5\n"] {
            let mut s = src(text);
            prepare(&mut s, None);
            assert_eq!(s.bytes, text.as_bytes(), "{text}");
        }
    }
}
