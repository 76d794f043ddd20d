//! Getting the bytes: a plain file, a `.zip` holding one CSV, a gzipped file, or stdin.
//! Also the byte-level checks that come before CSV parsing: byte-order mark and UTF-8.

use crate::error::{Error, InputError, Result};
use std::io::Read;
use std::path::Path;

/// The decoded text of one input, ready for the CSV reader.
pub struct Source {
    /// How the file is named in messages (`a.zip:inner.csv` for zip members).
    pub name: String,
    /// `plain`, `zip`, `gzip` or `stdin`.
    pub container: &'static str,
    /// UTF-8 bytes with the byte-order mark removed.
    pub bytes: Vec<u8>,
    pub had_bom: bool,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// Reads `path` (`-` for stdin) and unpacks it when it is a zip or gzip archive,
/// recognised by content, not by name.
pub fn open(path: &Path) -> Result<Source> {
    let shown = path.display().to_string();
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).map_err(|e| Error::io("<stdin>", e))?;
        return from_bytes("<stdin>".into(), buf, "stdin");
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::io(&shown, e))?;
    if meta.is_dir() {
        return Err(InputError::new(
            &shown,
            "is a directory; expected a CSV file (plain, .zip or .gz) or - for standard input",
        )
        .into());
    }
    let buf = std::fs::read(path).map_err(|e| Error::io(&shown, e))?;
    from_bytes(shown, buf, "plain")
}

/// Like [`open`] for bytes already in memory; `name` is used in messages.
pub fn from_bytes(name: String, buf: Vec<u8>, container: &'static str) -> Result<Source> {
    if buf.starts_with(ZIP_MAGIC) || buf.starts_with(ZIP_EMPTY_MAGIC) {
        return unzip(name, buf);
    }
    if buf.starts_with(GZIP_MAGIC) {
        let mut out = Vec::with_capacity(buf.len() * 4);
        flate2::read::MultiGzDecoder::new(&buf[..])
            .read_to_end(&mut out)
            .map_err(|e| InputError::new(&name, format!("cannot decompress gzip data: {e}")))?;
        return finish(name, out, "gzip");
    }
    finish(name, buf, container)
}

fn unzip(name: String, buf: Vec<u8>) -> Result<Source> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&buf))
        .map_err(|e| InputError::new(&name, format!("cannot read zip archive: {e}")))?;
    let mut members = Vec::new();
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
        }
    }
    match members.len() {
        0 => Err(InputError::new(
            &name,
            "zip archive holds no CSV file (.csv, .tsv or .txt); expected exactly one",
        )
        .into()),
        1 => {
            let (i, member) = members.pop().expect("one member");
            let mut f = archive
                .by_index(i)
                .map_err(|e| InputError::new(&name, format!("cannot read {member} in zip: {e}")))?;
            let mut out = Vec::with_capacity(f.size() as usize);
            f.read_to_end(&mut out)
                .map_err(|e| InputError::new(&name, format!("cannot decompress {member}: {e}")))?;
            finish(format!("{name}:{member}"), out, "zip")
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

fn finish(name: String, mut bytes: Vec<u8>, container: &'static str) -> Result<Source> {
    let had_bom = bytes.starts_with(b"\xEF\xBB\xBF");
    if had_bom {
        bytes.drain(..3);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(InputError::new(
            &name,
            "file is UTF-16 (byte-order mark FF FE / FE FF); convert it to UTF-8, e.g. \
             `iconv -f UTF-16 -t UTF-8 in.csv > out.csv`",
        )
        .into());
    }
    if let Err(e) = std::str::from_utf8(&bytes) {
        let at = e.valid_up_to();
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64;
        let bad: String = bytes[at..bytes.len().min(at + 4)].iter().map(|b| format!("{b:02X} ")).collect();
        let guess = guess_encoding(&bytes);
        return Err(InputError::new(
            &name,
            format!(
                "bytes {}at byte offset {at} are not UTF-8; the file looks like {guess}: convert it, \
                 e.g. `iconv -f {} -t UTF-8 in.csv > out.csv`",
                bad,
                guess.split(' ').next().unwrap_or("CP1251")
            ),
        )
        .line(line)
        .into());
    }
    Ok(Source { name, container, bytes, had_bom })
}

/// A rough guess of a legacy 8-bit encoding, to make the conversion advice concrete.
fn guess_encoding(bytes: &[u8]) -> &'static str {
    let high: Vec<u8> = bytes.iter().copied().filter(|&b| b >= 0x80).take(4096).collect();
    if high.is_empty() {
        return "CP1251 (Windows Cyrillic) or Latin-1";
    }
    // CP1251 puts Cyrillic letters at C0–FF; KOI8-R too but with lowercase at C0–DF.
    let cyr = high.iter().filter(|&&b| b >= 0xC0).count() as f64 / high.len() as f64;
    if cyr > 0.8 {
        "CP1251 (Windows Cyrillic; KOI8-R is the other common one)"
    } else {
        "ISO-8859-1 or CP1252 (Western European)"
    }
}
