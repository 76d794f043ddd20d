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

/// The longest physical line accepted. A protocol row is a few hundred bytes (a header
/// of 10,000 columns is well under 1 MiB); a longer "line" is a file without line
/// breaks, or not a table at all, and reading stops there instead of holding gigabytes.
pub const MAX_LINE: usize = 16 << 20;

/// Reads `path` (`-` for stdin) and unpacks it when it is a zip or gzip archive,
/// recognised by content, not by name. Reading stops with an error at the first line
/// longer than [`MAX_LINE`], so memory stays bounded on a file of one endless line.
pub fn open(path: &Path) -> Result<Source> {
    let shown = path.display().to_string();
    if path.as_os_str() == "-" {
        let buf = read_text("<stdin>", std::io::stdin().lock(), 1 << 20, "cannot read")?;
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
    let f = std::fs::File::open(path).map_err(|e| Error::io(&shown, e))?;
    let buf = read_text(&shown, f, meta.len().min(256 << 20) as usize, "cannot read")?;
    from_bytes(shown, buf, "plain")
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
    if buf.starts_with(ZIP_MAGIC) || buf.starts_with(ZIP_EMPTY_MAGIC) {
        return unzip(name, buf);
    }
    if buf.starts_with(GZIP_MAGIC) {
        let gz = flate2::read::MultiGzDecoder::new(&buf[..]);
        let out = read_text(&name, gz, buf.len().saturating_mul(4).min(256 << 20), "cannot decompress gzip data")?;
        return finish(name, out, "gzip");
    }
    LineGuard::default().feed(&name, &buf)?;
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
            let shown = format!("{name}:{member}");
            let cap = (f.size() as usize).min(256 << 20);
            let out = read_text(&shown, &mut f, cap, "cannot decompress")?;
            finish(shown, out, "zip")
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
    // UTF-16 text without a byte-order mark is valid UTF-8 with a NUL every other byte.
    let head = &bytes[..bytes.len().min(1 << 16)];
    let nuls = head.iter().filter(|&&b| b == 0).count();
    if nuls * 5 > head.len() {
        return Err(InputError::new(
            &name,
            format!(
                "{nuls} of the first {} bytes are NUL (0x00): the file looks like UTF-16 without a byte-order mark \
                 (or is binary); expected UTF-8 text: convert it, e.g. `iconv -f UTF-16LE -t UTF-8 in.csv > out.csv`",
                head.len()
            ),
        )
        .into());
    }
    Ok(Source { name, container, bytes, had_bom })
}

/// A rough guess of a legacy 8-bit encoding, to make the conversion advice concrete.
/// Cyrillic in CP1251 (or KOI8-R) is whole words of bytes ≥ 0xC0; Western European
/// text in Latin-1 has accented letters (also mostly ≥ 0xC0) one at a time between
/// ASCII letters ("M\xFCnchen"), so runs of high bytes tell them apart.
fn guess_encoding(bytes: &[u8]) -> &'static str {
    let mut high = 0usize;
    let mut cyr = 0usize;
    let mut in_runs = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x80 {
            continue;
        }
        high += 1;
        cyr += (b >= 0xC0) as usize;
        let prev = i > 0 && bytes[i - 1] >= 0x80;
        let next = bytes.get(i + 1).is_some_and(|&n| n >= 0x80);
        in_runs += (prev || next) as usize;
        if high == 4096 {
            break;
        }
    }
    if high == 0 {
        return "CP1251 (Windows Cyrillic) or Latin-1";
    }
    if cyr * 10 > high * 8 && in_runs * 10 > high * 6 {
        "CP1251 (Windows Cyrillic; KOI8-R is the other common one)"
    } else {
        "ISO-8859-1 or CP1252 (Western European)"
    }
}
