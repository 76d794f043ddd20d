//! Spreadsheets (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) read with `calamine` and
//! turned into CSV bytes in memory, so the rest of the pipeline is the CSV pipeline.
//!
//! **Row N of the sheet is line N of the CSV**, so every later message ("line 12")
//! names the spreadsheet's row: blank rows above the used range and wholly blank rows
//! inside it become empty lines (which the CSV reader skips, and the line counter
//! counts), and a line break inside a cell becomes a space (a quoted line break would
//! shift every later row by one).
//!
//! Cells: integers (stored as floats, `1234.0`) as `1234`; other numbers as they are
//! (the count parser then rejects `12.5` with its line and column); text trimmed; dates
//! as `YYYY-MM-DD[ HH:MM:SS]`; booleans as `TRUE`/`FALSE`; `#N/A` as empty (a missing
//! value); other error cells (`#DIV/0!`, `#REF!`, …) as their text, so a count cell
//! holding one is reported where it is.

use super::source::Merge;
use crate::error::{InputError, Result};
use calamine::{Data, Range, Reader, Sheets};
use std::io::Cursor;

/// The spreadsheet formats, recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Xlsx => "xlsx",
            Kind::Xlsb => "xlsb",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
        }
    }
}

/// One sheet as CSV.
#[derive(Debug)]
pub struct Converted {
    /// Comma-separated UTF-8, one line per sheet row (row 1 = line 1).
    pub csv: Vec<u8>,
    /// The sheet read.
    pub sheet: String,
    /// Every sheet of the workbook, in order.
    pub sheets: Vec<String>,
    /// Horizontal merged regions in the first rows (for two-row headers).
    pub merges: Vec<Merge>,
    /// What the user should know ("3 sheets have data; read "Results" …").
    pub notes: Vec<String>,
}

/// Reads the sheet `want` (a name, or a 1-based number; default: the first visible
/// sheet with data) of a workbook. Never panics: a reader failure on damaged data is an
/// error naming the file.
pub fn to_csv(name: &str, bytes: Vec<u8>, kind: Kind, want: Option<&str>) -> Result<Converted> {
    // A backstop for this module's own code; calamine's calls are guarded one by one.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| convert(name, bytes, kind, want))) {
        Ok(r) => r,
        Err(_) => Err(damaged(name, kind, "the spreadsheet reader failed on its contents").into()),
    }
}

thread_local! {
    /// Set while a calamine call runs on this thread: its panics are not printed.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs one calamine call. calamine asserts on some malformed files (the fuzzer found
/// `assert_eq!(len % 4, 0)` in its OLE2 reader on a damaged .xls); such a panic becomes
/// an error naming the file, and its "thread panicked" message is not printed. Other
/// panics, on any thread, still reach the previous hook (and a fuzzer's).
fn guarded<T>(name: &str, kind: Kind, f: impl FnOnce() -> Result<T>) -> Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    match r {
        Ok(r) => r,
        Err(_) => Err(damaged(name, kind, "its structure is malformed (the reader gave up on it)").into()),
    }
}

fn damaged(name: &str, kind: Kind, e: impl std::fmt::Display) -> InputError {
    InputError::new(
        name,
        format!(
            "cannot read the spreadsheet ({}): {e}; the file may be damaged or incomplete: download it again, \
             or open it in a spreadsheet program and save the sheet as CSV",
            kind.name()
        ),
    )
}

fn open(name: &str, bytes: Vec<u8>, kind: Kind) -> Result<Sheets<Cursor<Vec<u8>>>> {
    let cur = Cursor::new(bytes);
    let r: std::result::Result<Sheets<_>, String> = match kind {
        Kind::Xlsx => calamine::Xlsx::new(cur).map(Sheets::Xlsx).map_err(|e| e.to_string()),
        Kind::Xlsb => calamine::Xlsb::new(cur).map(Sheets::Xlsb).map_err(|e| e.to_string()),
        Kind::Ods => calamine::Ods::new(cur).map(Sheets::Ods).map_err(|e| e.to_string()),
        Kind::Xls => match calamine::Xls::new(cur.clone()) {
            Ok(x) => Ok(Sheets::Xls(x)),
            // An encrypted .xlsx is an OLE2 file too (an "EncryptedPackage" stream):
            // the xlsx reader recognises it and says so.
            Err(e) => match calamine::Xlsx::new(cur) {
                Ok(x) => Ok(Sheets::Xlsx(x)),
                Err(e2) if e2.to_string().to_lowercase().contains("password") => Err(e2.to_string()),
                Err(_) => Err(e.to_string()),
            },
        },
    };
    r.map_err(|e| {
        if e.to_lowercase().contains("password") {
            InputError::new(
                name,
                "the spreadsheet is password-protected (encrypted); expected an unprotected workbook: \
                 open it with the password and save a copy without one (or save the sheet as CSV)",
            )
            .into()
        } else {
            damaged(name, kind, e).into()
        }
    })
}

fn has_data(r: &Range<Data>) -> bool {
    r.used_cells().any(|(_, _, c)| !cell_text(c).is_empty())
}

fn convert(name: &str, bytes: Vec<u8>, kind: Kind, want: Option<&str>) -> Result<Converted> {
    let mut wb = guarded(name, kind, || open(name, bytes, kind))?;
    let meta: Vec<(String, bool)> = wb
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == calamine::SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible == calamine::SheetVisible::Visible))
        .collect();
    let sheets: Vec<String> = meta.iter().map(|m| m.0.clone()).collect();
    let listed = || sheets.iter().enumerate().map(|(i, s)| format!("{} \"{s}\"", i + 1)).collect::<Vec<_>>().join(", ");
    if sheets.is_empty() {
        return Err(InputError::new(name, format!("the spreadsheet ({}) has no worksheet; expected a sheet with a table", kind.name())).into());
    }
    let load = |wb: &mut Sheets<Cursor<Vec<u8>>>, s: &str| {
        guarded(name, kind, || wb.worksheet_range(s).map_err(|e| damaged(name, kind, format!("sheet \"{s}\": {e}")).into()))
    };
    let mut notes = Vec::new();
    let (sheet, range) = match want {
        Some(w) => {
            let w = w.trim();
            let by_name = sheets.iter().find(|s| s.as_str() == w).or_else(|| sheets.iter().find(|s| s.trim().eq_ignore_ascii_case(w)));
            let pick = by_name.cloned().or_else(|| {
                w.parse::<usize>().ok().filter(|&k| k >= 1 && k <= sheets.len()).map(|k| sheets[k - 1].clone())
            });
            let Some(s) = pick else {
                return Err(InputError::new(
                    name,
                    format!("--sheet {w:?}: no such sheet; the workbook has {}: {} (name one, or give its number)", sheets.len(), listed()),
                )
                .into());
            };
            let r = load(&mut wb, &s)?;
            if !has_data(&r) {
                return Err(InputError::new(name, format!("sheet \"{s}\" is empty; expected a table (the workbook's sheets: {})", listed())).into());
            }
            (s, r)
        }
        None => {
            let mut chosen: Option<(String, Range<Data>)> = None;
            let mut others = Vec::new();
            for (s, visible) in &meta {
                if !visible {
                    continue;
                }
                let r = load(&mut wb, s)?;
                if has_data(&r) {
                    if chosen.is_none() {
                        chosen = Some((s.clone(), r));
                    } else {
                        others.push(s.clone());
                    }
                }
            }
            let Some((s, r)) = chosen else {
                return Err(InputError::new(name, format!("no sheet of the spreadsheet has data; expected a table (sheets: {})", listed())).into());
            };
            if !others.is_empty() {
                notes.push(format!(
                    "{} sheets have data; read the first, \"{s}\"; the others: {} (choose one with --sheet NAME or NUMBER)",
                    others.len() + 1,
                    others.iter().map(|o| format!("\"{o}\"")).collect::<Vec<_>>().join(", ")
                ));
            }
            (s, r)
        }
    };
    #[allow(deprecated)]
    let merges = guarded(name, kind, || {
        Ok(match &mut wb {
            Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(&sheet).unwrap_or_default(),
            Sheets::Xls(x) => x.worksheet_merge_cells(&sheet).unwrap_or_default(), // the one xls API
            _ => Vec::new(),
        })
    })
    .unwrap_or_default(); // merged regions only refine header names: never fatal
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let merges = merges
        .into_iter()
        .filter(|m| m.start.0 == m.end.0 && m.end.1 > m.start.1 && m.start.0 < row0 + 64 && m.start.1 >= col0)
        .map(|m| Merge { row: m.start.0, c0: m.start.1 - col0, c1: m.end.1 - col0 })
        .collect();
    Ok(Converted { csv: write_csv(&range), sheet, sheets, merges, notes })
}

/// The range as CSV, one line per sheet row from row 1.
pub fn write_csv(range: &Range<Data>) -> Vec<u8> {
    let (row0, _) = range.start().unwrap_or((0, 0));
    let (h, w) = range.get_size();
    let mut out = vec![b'\n'; row0 as usize];
    out.reserve(h * w * 6);
    let out = Shared(std::rc::Rc::new(std::cell::RefCell::new(out)));
    let mut wtr = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out.clone());
    let mut cells: Vec<String> = Vec::with_capacity(w);
    for row in range.rows() {
        cells.clear();
        cells.extend(row.iter().map(cell_text));
        if cells.iter().all(|c| c.is_empty()) {
            // A blank line: skipped by the reader, counted by the line counter.
            let _ = wtr.flush();
            out.0.borrow_mut().push(b'\n');
        } else {
            let _ = wtr.write_record(&cells);
        }
    }
    let _ = wtr.flush();
    drop(wtr);
    std::mem::take(&mut *out.0.borrow_mut())
}

/// The csv writer's output, shared so a blank line can be put between its records
/// (the writer itself writes `""` for an empty record).
#[derive(Clone)]
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One cell as CSV text (see the module doc).
pub fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::String(s) => {
            let t = s.trim();
            if t.contains(['\n', '\r']) { t.replace("\r\n", " ").replace(['\n', '\r'], " ") } else { t.to_string() }
        }
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(d) => {
            let v = d.as_f64();
            if d.is_duration() { float_text(v) } else { excel_date(v) }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(calamine::CellErrorType::NA) => String::new(),
        Data::Error(e) => e.to_string(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        (f as i64).to_string()
    } else {
        f.to_string()
    }
}

/// An Excel serial date (1900 system: day 1 = 1900-01-01, with Excel's phantom
/// 1900-02-29) as ISO text.
fn excel_date(v: f64) -> String {
    if !v.is_finite() || !(0.0..3e6).contains(&v) {
        return float_text(v);
    }
    let days = v.floor() as i64;
    let secs = ((v - v.floor()) * 86_400.0).round() as i64;
    // Serial 60 is the non-existent 1900-02-29; after it, day 0 is 1899-12-30.
    let unix_days = days - 25_569 + if days < 60 { 1 } else { 0 };
    let (y, m, d) = civil_from_days(unix_days);
    if secs == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        let s = secs.min(86_399);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        assert_eq!(cell_text(&Data::Float(1234.0)), "1234");
        assert_eq!(cell_text(&Data::Float(12.5)), "12.5");
        assert_eq!(cell_text(&Data::Int(-3)), "-3");
        assert_eq!(cell_text(&Data::String("  Ivanov\nI. I. ".into())), "Ivanov I. I.");
        assert_eq!(cell_text(&Data::Error(calamine::CellErrorType::NA)), "");
        assert_eq!(cell_text(&Data::Error(calamine::CellErrorType::Div0)), "#DIV/0!");
        assert_eq!(cell_text(&Data::Bool(true)), "TRUE");
        assert_eq!(excel_date(44_024.0), "2020-07-12");
        assert_eq!(excel_date(44_024.5), "2020-07-12 12:00:00");
        assert_eq!(excel_date(1.0), "1900-01-01");
    }

    #[test]
    fn rows_are_lines() {
        let mut r: Range<Data> = Range::new((2, 1), (5, 3));
        r.set_value((2, 1), Data::String("Title, with comma".into()));
        r.set_value((3, 1), Data::String("station".into()));
        r.set_value((3, 2), Data::String("valid".into()));
        r.set_value((5, 1), Data::Float(1.0));
        r.set_value((5, 2), Data::Float(90.0));
        let csv = String::from_utf8(write_csv(&r)).unwrap();
        assert_eq!(csv, "\n\n\"Title, with comma\",,\nstation,valid,\n\n1,90,\n");
    }
}
