//! Getting the bytes: a plain file, a `.zip` holding one CSV or spreadsheet, a gzipped
//! file, a spreadsheet (`.xlsx`, `.xls`, `.ods`, `.xlsb`), or stdin, each recognised by
//! content, not by name. Text in any common encoding is decoded to UTF-8 here
//! ([`super::encoding`]); a spreadsheet's sheet becomes CSV here ([`super::spreadsheet`]).

use super::encoding;
use super::spreadsheet::{self, Kind};
use crate::error::{Error, InputError, Result};
use std::io::Read;
use std::path::Path;

/// The decoded text of one input, ready for the CSV reader.
pub struct Source {
    /// How the file is named in messages (`a.zip:inner.csv` for zip members).
    pub name: String,
    /// `plain`, `zip`, `gzip`, `stdin`, `xlsx`, `xls`, `ods`, `xlsb`, or `zip (xlsx)` … for
    /// a spreadsheet inside a zip.
    pub container: &'static str,
    /// UTF-8 bytes with the byte-order mark removed.
    pub bytes: Vec<u8>,
    pub had_bom: bool,
    /// The encoding the text was read in (WHATWG name: `UTF-8`, `windows-1251`, …).
    pub encoding: &'static str,
    /// True when tallyscope chose the encoding (byte-order mark, NUL pattern, detection).
    pub encoding_detected: bool,
    /// How: `valid UTF-8`, `byte-order mark`, `NUL pattern`, `detected`, `--encoding`,
    /// `spreadsheet`.
    pub encoding_how: &'static str,
    /// The sheet read, and all the workbook's sheets (empty for text files).
    pub sheet: Option<String>,
    pub sheets: Vec<String>,
    /// Known horizontal merged regions of a spreadsheet's first rows (header finding).
    pub merges: Vec<Merge>,
    /// The delimiter when the source fixes it (a spreadsheet's CSV is comma-separated).
    pub delimiter: Option<u8>,
    /// Choices made that the user should know about (which sheet, which zip member, …).
    pub notes: Vec<String>,
}

/// A horizontal merged region of a spreadsheet: on 0-based line `row`, columns
/// `c0..=c1` (0-based, in the CSV's columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub row: u32,
    pub c0: u32,
    pub c1: u32,
}

/// How to read: the user's `--encoding` and `--sheet`.
#[derive(Debug, Clone, Default)]
pub struct ReadAs {
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub sheet: Option<String>,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// OLE2 compound file: `.xls` (and password-protected `.xlsx`).
const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The longest physical line accepted. A protocol row is a few hundred bytes (a header
/// of 10,000 columns is well under 1 MiB); a longer "line" is a file without line
/// breaks, or not a table at all, and reading stops there instead of holding gigabytes.
pub const MAX_LINE: usize = 16 << 20;

/// Reads `path` (`-` for stdin) and unpacks it when it is a zip or gzip archive,
/// recognised by content, not by name. Reading stops with an error at the first line
/// longer than [`MAX_LINE`], so memory stays bounded on a file of one endless line.
pub fn open(path: &Path) -> Result<Source> {
    open_with(path, &ReadAs::default())
}

/// [`open`] with an encoding or sheet chosen by the user.
pub fn open_with(path: &Path, how: &ReadAs) -> Result<Source> {
    let shown = path.display().to_string();
    if path.as_os_str() == "-" {
        let buf = read_text("<stdin>", std::io::stdin().lock(), 1 << 20, "cannot read")?;
        return from_bytes_with("<stdin>".into(), buf, "stdin", how);
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::io(&shown, e))?;
    if meta.is_dir() {
        return Err(InputError::new(
            &shown,
            "is a directory; expected a CSV file (plain, .zip or .gz), a spreadsheet (.xlsx, .xls, .ods) \
             or - for standard input",
        )
        .into());
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(&shown, e))?;
    let buf = read_text(&shown, f, meta.len().min(256 << 20) as usize, "cannot read")?;
    from_bytes_with(shown, buf, "plain", how)
}

/// Counts physical lines as bytes go by and fails on one longer than [`MAX_LINE`].
#[derive(Default)]
struct LineGuard {
    /// Bytes since the last line end.
    run: usize,
    /// Line ends seen.
    ends: u64,
}

impl LineGuard {
    fn feed(&mut self, name: &str, chunk: &[u8]) -> Result<()> {
        let mut parts = chunk.split(|&b| b == b'\n');
        let first = parts.next().unwrap_or(&[]);
        self.run += first.len();
        self.check(name)?;
        for p in parts {
            self.ends += 1;
            self.run = p.len();
            self.check(name)?;
        }
        Ok(())
    }
    fn check(&self, name: &str) -> Result<()> {
        if self.run <= MAX_LINE {
            return Ok(());
        }
        Err(InputError::new(
            name,
            format!(
                "the line is longer than {} MiB without a line end; expected a header line and one short row per \
                 station (a file without line breaks, or not a CSV table?)",
                MAX_LINE >> 20
            ),
        )
        .line(self.ends + 1)
        .into())
    }
}

/// Reads everything from `r`, failing early at a line longer than [`MAX_LINE`].
fn read_text(name: &str, mut r: impl Read, capacity: usize, failing: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(capacity);
    let mut guard = LineGuard::default();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InputError::new(name, format!("{failing}: {e}")).into()),
        };
        guard.feed(name, &chunk[..n])?;
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(out)
}

/// Like [`open`] for bytes already in memory; `name` is used in messages.
pub fn from_bytes(name: String, buf: Vec<u8>, container: &'static str) -> Result<Source> {
    from_bytes_with(name, buf, container, &ReadAs::default())
}

/// [`from_bytes`] with an encoding or sheet chosen by the user.
pub fn from_bytes_with(name: String, buf: Vec<u8>, container: &'static str, how: &ReadAs) -> Result<Source> {
    if buf.starts_with(ZIP_MAGIC) || buf.starts_with(ZIP_EMPTY_MAGIC) {
        return unzip(name, buf, how);
    }
    if buf.starts_with(OLE2_MAGIC) {
        return sheet(name, buf, Kind::Xls, "xls", how);
    }
    if buf.starts_with(GZIP_MAGIC) {
        let gz = flate2::read::MultiGzDecoder::new(&buf[..]);
        let out = read_text(&name, gz, buf.len().saturating_mul(4).min(256 << 20), "cannot decompress gzip data")?;
        return finish(name, out, "gzip", how);
    }
    LineGuard::default().feed(&name, &buf)?;
    finish(name, buf, container, how)
}

/// A spreadsheet's chosen sheet as a CSV source.
fn sheet(name: String, buf: Vec<u8>, kind: Kind, container: &'static str, how: &ReadAs) -> Result<Source> {
    let c = spreadsheet::to_csv(&name, buf, kind, how.sheet.as_deref())?;
    let mut notes = c.notes;
    if let Some(e) = how.encoding {
        notes.push(format!("--encoding {} does not apply to a spreadsheet (its cells are Unicode); ignored", e.name()));
    }
    Ok(Source {
        name,
        container,
        bytes: c.csv,
        had_bom: false,
        encoding: "UTF-8",
        encoding_detected: false,
        encoding_how: "spreadsheet",
        sheet: Some(c.sheet),
        sheets: c.sheets,
        merges: c.merges,
        delimiter: Some(b','),
        notes,
    })
}

/// What a zip archive is: a spreadsheet (xlsx, xlsb and ods are zip files), or None
/// for an archive of files.
fn zip_kind(name: &str, archive: &mut zip::ZipArchive<std::io::Cursor<&Vec<u8>>>) -> Result<Option<Kind>> {
    let has = |a: &zip::ZipArchive<_>, n: &str| a.index_for_name(n).is_some();
    if has(archive, "xl/workbook.xml") {
        return Ok(Some(Kind::Xlsx));
    }
    if has(archive, "xl/workbook.bin") {
        return Ok(Some(Kind::Xlsb));
    }
    if let Some(i) = archive.index_for_name("mimetype") {
        let mut mime = String::new();
        if let Ok(mut f) = archive.by_index(i) {
            let _ = (&mut f).take(200).read_to_string(&mut mime);
        }
        let mime = mime.trim();
        if mime == "application/vnd.oasis.opendocument.spreadsheet" {
            return Ok(Some(Kind::Ods));
        }
        if mime.starts_with("application/vnd.oasis.opendocument") {
            return Err(InputError::new(
                name,
                format!("the file is an OpenDocument file of type {mime}, not a spreadsheet; expected a CSV file or a spreadsheet (.ods, .xlsx, .xls)"),
            )
            .into());
        }
    }
    if has(archive, "word/document.xml") || has(archive, "ppt/presentation.xml") {
        return Err(InputError::new(
            name,
            "the file is a Word or PowerPoint document, not a spreadsheet; expected a CSV file or a spreadsheet \
             (.xlsx, .xls, .ods): copy the table into a spreadsheet and save it",
        )
        .into());
    }
    Ok(None)
}

/// A spreadsheet member of a zip archive, by its name.
fn sheet_kind_by_name(lower: &str) -> Option<Kind> {
    if lower.ends_with(".xlsx") || lower.ends_with(".xlsm") {
        Some(Kind::Xlsx)
    } else if lower.ends_with(".xlsb") {
        Some(Kind::Xlsb)
    } else if lower.ends_with(".xls") {
        Some(Kind::Xls)
    } else if lower.ends_with(".ods") {
        Some(Kind::Ods)
    } else {
        None
    }
}

fn unzip(name: String, buf: Vec<u8>, how: &ReadAs) -> Result<Source> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&buf)).map_err(|e| {
        InputError::new(&name, format!("cannot read zip archive: {e}; the file is damaged or incomplete (download it again?)"))
    })?;
    if let Some(kind) = zip_kind(&name, &mut archive)? {
        drop(archive);
        return sheet(name, buf, kind, kind.name(), how);
    }
    let mut members = Vec::new();
    let mut books = Vec::new();
    for i in 0..archive.len() {
        let f = archive
            .by_index_raw(i)
            .map_err(|e| InputError::new(&name, format!("cannot read zip archive: {e}")))?;
        if f.is_dir() {
            continue;
        }
        let n = f.name().map(|n| n.to_string()).unwrap_or_else(|_| format!("member {i}"));
        let base = n.rsplit('/').next().unwrap_or(&n);
        if base.starts_with('.') || n.starts_with("__MACOSX/") {
            continue; // macOS resource forks and hidden files
        }
        let lower = n.to_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".tsv") || lower.ends_with(".txt") {
            members.push((i, n));
        } else if let Some(k) = sheet_kind_by_name(&lower) {
            books.push((i, n, k));
        }
    }
    if members.is_empty() && books.len() == 1 {
        let (i, member, kind) = books.pop().expect("one member");
        let mut f = archive
            .by_index(i)
            .map_err(|e| InputError::new(&name, format!("cannot read {member} in zip: {e}")))?;
        let shown = format!("{name}:{member}");
        let mut out = Vec::with_capacity((f.size() as usize).min(256 << 20));
        f.read_to_end(&mut out).map_err(|e| InputError::new(&shown, format!("cannot decompress: {e}")))?;
        let container = match kind {
            Kind::Xlsx => "zip (xlsx)",
            Kind::Xlsb => "zip (xlsb)",
            Kind::Xls => "zip (xls)",
            Kind::Ods => "zip (ods)",
        };
        return sheet(shown, out, kind, container, how);
    }
    if members.is_empty() && books.len() > 1 {
        return Err(InputError::new(
            &name,
            format!(
                "zip archive holds {} spreadsheets ({}); expected exactly one: unpack it and name the file",
                books.len(),
                books.iter().map(|m| m.1.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
        .into());
    }
    match members.len() {
        0 => Err(InputError::new(
            &name,
            "zip archive holds no CSV file (.csv, .tsv or .txt) or spreadsheet (.xlsx, .xls, .ods); expected exactly one",
        )
        .into()),
        1 => {
            let (i, member) = members.pop().expect("one member");
            let mut f = archive
                .by_index(i)
                .map_err(|e| InputError::new(&name, format!("cannot read {member} in zip: {e}")))?;
            let shown = format!("{name}:{member}");
            let cap = (f.size() as usize).min(256 << 20);
            let out = read_text(&shown, &mut f, cap, "cannot decompress")?;
            let mut src = finish(shown, out, "zip", how)?;
            if !books.is_empty() {
                src.notes.push(format!(
                    "the zip archive also holds {}; read the CSV file {member} (to read a spreadsheet instead, unpack it and name it)",
                    books.iter().map(|m| m.1.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            Ok(src)
        }
        _ => Err(InputError::new(
            &name,
            format!(
                "zip archive holds {} CSV files ({}); expected exactly one: unpack it and name the file",
                members.len(),
                members.iter().map(|m| m.1.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
        .into()),
    }
}

fn finish(name: String, mut bytes: Vec<u8>, container: &'static str, how: &ReadAs) -> Result<Source> {
    let d = encoding::decode(&name, &mut bytes, how.encoding)?;
    // Valid UTF-8 full of NULs that are not UTF-16's pattern: not text.
    if d.encoding == "UTF-8" {
        let head = &bytes[..bytes.len().min(1 << 16)];
        let nuls = head.iter().filter(|&&b| b == 0).count();
        if nuls * 5 > head.len() {
            return Err(encoding::not_text(
                &name,
                &format!("binary data, not text ({nuls} of the first {} bytes are NUL, 0x00)", head.len()),
            )
            .into());
        }
    }
    let mut notes = Vec::new();
    if d.replaced {
        notes.push(format!(
            "some bytes are not valid {} and were read as U+FFFD (�); if names look wrong, name the encoding with --encoding",
            d.encoding
        ));
    }
    if let Some(s) = &how.sheet {
        notes.push(format!("--sheet {s:?} applies to spreadsheets only; this is a text file: ignored"));
    }
    Ok(Source {
        name,
        container,
        bytes,
        had_bom: d.had_bom,
        encoding: d.encoding,
        encoding_detected: d.detected,
        encoding_how: d.how,
        sheet: None,
        sheets: Vec::new(),
        merges: Vec::new(),
        delimiter: None,
        notes,
    })
}
