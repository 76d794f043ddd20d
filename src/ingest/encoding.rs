//! Text encodings: UTF-8 stays the zero-copy fast path; anything else is decoded to
//! UTF-8 once, before CSV parsing, so the rest of the pipeline only ever sees UTF-8.
//!
//! Order of decisions (first match wins):
//! 1. `--encoding NAME` forces a WHATWG label (`windows-1251`, `cp1250`, `latin2`,
//!    `koi8-r`, `utf-16le`, …); a byte-order mark of that same encoding is removed.
//! 2. A byte-order mark: UTF-8 (EF BB BF), UTF-16LE (FF FE), UTF-16BE (FE FF).
//! 3. Valid UTF-8: used as it is, no copy. UTF-16 without a mark is valid UTF-8 with a
//!    NUL every other byte; the side the NULs fall on says LE or BE.
//! 4. Otherwise `chardetng` (Firefox's detector) guesses among the legacy encodings from
//!    the first megabyte of non-UTF-8 text; `encoding_rs` decodes.
//!
//! Why these crates: `encoding_rs` is the decoder of Firefox (every WHATWG encoding,
//! SIMD fast paths, no unsafe surprises in decoding malformed input) and `chardetng`
//! is Firefox's detector for unlabeled legacy text, trained on exactly the
//! Cyrillic / Central-European / Western single-byte confusions protocol files have.

use crate::error::{Error, InputError, Result};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// How the text was decoded, for the read report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The WHATWG name of the encoding (`UTF-8`, `windows-1251`, `UTF-16LE`, …).
    pub encoding: &'static str,
    /// True when tallyscope chose it (byte-order mark, NUL pattern or detection);
    /// false when UTF-8 was simply valid or `--encoding` named it.
    pub detected: bool,
    /// How it was chosen, in words (`byte-order mark`, `detected`, `--encoding`, …).
    pub how: &'static str,
    pub had_bom: bool,
    /// Bytes that are not valid in the encoding were replaced by U+FFFD.
    pub replaced: bool,
}

/// Labels shown when `--encoding` names an unknown one.
pub const EXAMPLES: &str = "utf-8, windows-1251 (cp1251), koi8-r, windows-1250 (cp1250), iso-8859-2 (latin2), \
     windows-1252 (cp1252, latin1), utf-16le, utf-16be";

/// The encoding for a user's label (`--encoding`), any label the WHATWG Encoding
/// Standard knows, case-insensitive (`CP1251`, `Windows-1251`, `latin2`, `utf-16`).
pub fn for_label(label: &str) -> Result<&'static Encoding> {
    let l = label.trim();
    // A few spellings people type that WHATWG does not list.
    let alias = match l.to_ascii_lowercase().replace('_', "-").as_str() {
        "cp-1251" | "win1251" | "win-1251" => "windows-1251",
        "cp-1250" | "win1250" | "win-1250" => "windows-1250",
        "cp-1252" | "win1252" | "win-1252" => "windows-1252",
        "utf8" => "utf-8",
        "utf16" | "utf-16" => "utf-16le",
        "utf16le" => "utf-16le",
        "utf16be" => "utf-16be",
        "koi8r" => "koi8-r",
        _ => "",
    };
    let l = if alias.is_empty() { l } else { alias };
    Encoding::for_label_no_replacement(l.as_bytes()).ok_or_else(|| {
        Error::usage(format!(
            "--encoding {label:?}: unknown encoding; expected a WHATWG encoding label, e.g. {EXAMPLES}"
        ))
    })
}

/// Turns `bytes` into UTF-8 in place (no copy when they already are UTF-8), removing a
/// byte-order mark. `forced`: the `--encoding` choice.
pub fn decode(name: &str, bytes: &mut Vec<u8>, forced: Option<&'static Encoding>) -> Result<Decoded> {
    if let Some(enc) = forced {
        return decode_forced(name, bytes, enc);
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
        check_utf8(name, bytes, "the file starts with a UTF-8 byte-order mark")?;
        return Ok(Decoded { encoding: UTF_8.name(), detected: false, how: "byte-order mark", had_bom: true, replaced: false });
    }
    for (bom, enc) in [(&b"\xFF\xFE"[..], UTF_16LE), (&b"\xFE\xFF"[..], UTF_16BE)] {
        if bytes.starts_with(bom) {
            let replaced = transcode(bytes, enc, bom.len());
            return Ok(Decoded { encoding: enc.name(), detected: true, how: "byte-order mark", had_bom: true, replaced });
        }
    }
    // Before the UTF-8 check: UTF-16 of "ó" (F3 00) is not valid UTF-8.
    if let Some(enc) = utf16_by_nuls(bytes) {
        let replaced = transcode(bytes, enc, 0);
        return Ok(Decoded { encoding: enc.name(), detected: true, how: "NUL pattern", had_bom: false, replaced });
    }
    let Err(e) = std::str::from_utf8(bytes) else {
        return Ok(Decoded { encoding: UTF_8.name(), detected: false, how: "valid UTF-8", had_bom: false, replaced: false });
    };
    if let Some(what) = binary(bytes) {
        return Err(not_text(name, what).into());
    }
    let enc = detect(bytes, e.valid_up_to());
    let replaced = transcode(bytes, enc, 0);
    Ok(Decoded { encoding: enc.name(), detected: true, how: "detected", had_bom: false, replaced })
}

fn decode_forced(name: &str, bytes: &mut Vec<u8>, enc: &'static Encoding) -> Result<Decoded> {
    let bom: &[u8] = if enc == UTF_8 {
        b"\xEF\xBB\xBF"
    } else if enc == UTF_16LE {
        b"\xFF\xFE"
    } else if enc == UTF_16BE {
        b"\xFE\xFF"
    } else {
        b""
    };
    let had_bom = !bom.is_empty() && bytes.starts_with(bom);
    if enc == UTF_8 {
        if had_bom {
            bytes.drain(..3);
        }
        check_utf8(name, bytes, "--encoding utf-8 was given")?;
        return Ok(Decoded { encoding: enc.name(), detected: false, how: "--encoding", had_bom, replaced: false });
    }
    let replaced = transcode(bytes, enc, if had_bom { bom.len() } else { 0 });
    Ok(Decoded { encoding: enc.name(), detected: false, how: "--encoding", had_bom, replaced })
}

/// Replaces `bytes` (from `skip` on) by their UTF-8 decoding; true when some bytes were
/// malformed and replaced by U+FFFD.
fn transcode(bytes: &mut Vec<u8>, enc: &'static Encoding, skip: usize) -> bool {
    let (text, replaced) = enc.decode_without_bom_handling(&bytes[skip..]);
    *bytes = text.into_owned().into_bytes();
    replaced
}

/// UTF-8 with an error naming the first bad bytes, for the cases where the file must be
/// UTF-8 (after a UTF-8 byte-order mark, or `--encoding utf-8`).
fn check_utf8(name: &str, bytes: &[u8], because: &str) -> Result<()> {
    let Err(e) = std::str::from_utf8(bytes) else { return Ok(()) };
    let at = e.valid_up_to();
    let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64;
    let bad: String = bytes[at..bytes.len().min(at + 4)].iter().map(|b| format!("{b:02X} ")).collect();
    let guess = detect(bytes, at);
    Err(InputError::new(
        name,
        format!(
            "bytes {bad}at byte offset {at} are not UTF-8, but {because}; the text looks like {}: \
             read it with `--encoding {}`",
            guess.name(),
            guess.name().to_ascii_lowercase()
        ),
    )
    .line(line)
    .into())
}

/// UTF-16 without a byte-order mark: ASCII text in UTF-16 has a NUL in every other byte
/// (the high byte of each unit: odd offsets in LE, even offsets in BE).
pub fn utf16_by_nuls(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1 << 16) & !1];
    if head.len() < 4 {
        return None;
    }
    let units = head.len() / 2;
    let even = head.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    // Many units of a CSV are ASCII (digits, delimiters, line ends) even in Cyrillic or
    // Greek text; demand a clear one-sided pattern.
    if odd * 5 >= units && even * 50 < units {
        Some(UTF_16LE)
    } else if even * 5 >= units && odd * 50 < units {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Guesses a legacy encoding from the first 128 KiB of text (and the 128 KiB from the
/// line of the first invalid UTF-8 byte, offset `at`, when that is further in).
pub fn detect(bytes: &[u8], at: usize) -> &'static Encoding {
    // chardetng runs at about 10 MB/s; 128 KiB of text (a header and a few hundred rows)
    // is plenty for single-byte encodings and costs ~10 ms.
    const WINDOW: usize = 128 << 10;
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let first = &bytes[..bytes.len().min(WINDOW)];
    if at > WINDOW {
        det.feed(first, false);
        // Start the second window at a line start so no character is cut in two.
        let from = bytes[..at].iter().rposition(|&b| b == b'\n').map(|p| p + 1).unwrap_or(at);
        det.feed(&bytes[from..bytes.len().min(from + WINDOW)], true);
    } else {
        det.feed(first, true);
    }
    let enc = det.guess(None, chardetng::Utf8Detection::Deny);
    // KOI8-U is KOI8-R plus Ukrainian letters in eight box-drawing positions; for text
    // without those bytes (Russian) the two decode alike, and KOI8-R is the name people know.
    if enc == encoding_rs::KOI8_U && !bytes[..bytes.len().min(WINDOW)].iter().any(|b| KOI8_U_ONLY.contains(b)) {
        return encoding_rs::KOI8_R;
    }
    enc
}

/// The bytes where KOI8-U has Ukrainian letters and KOI8-R box drawing.
const KOI8_U_ONLY: [u8; 8] = [0xA4, 0xA6, 0xA7, 0xAD, 0xB4, 0xB6, 0xB7, 0xBD];

/// A file that is not text at all: names it when its magic number is known.
fn binary(bytes: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document: extract the table to CSV first (e.g. with tabula or pdftotext -layout)"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive: unpack it and name the CSV or spreadsheet inside"),
        (b"Rar!\x1A\x07", "a RAR archive: unpack it and name the CSV or spreadsheet inside"),
        (b"BZh", "a bzip2 archive: unpack it (bunzip2) and name the file inside"),
        (b"\xFD7zXZ\x00", "an xz archive: unpack it (unxz) and name the file inside"),
        (b"\x28\xB5\x2F\xFD", "a zstd archive: unpack it (unzstd) and name the file inside"),
    ];
    for (magic, what) in KNOWN {
        if bytes.starts_with(magic) {
            return Some(what);
        }
    }
    let head = &bytes[..bytes.len().min(1 << 16)];
    // Control bytes other than tab, line feed, carriage return, form feed and escape do
    // not occur in text of any single-byte encoding.
    let ctrl = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)).count();
    if ctrl * 100 > head.len() || (ctrl > 0 && head.contains(&0)) {
        Some("binary data, not text")
    } else {
        None
    }
}

pub(crate) fn not_text(name: &str, what: &str) -> InputError {
    InputError::new(
        name,
        format!(
            "the file is {what}; expected a CSV text file (any common encoding), a spreadsheet \
             (.xlsx, .xls, .ods), or a .zip / .gz holding one"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(label: &str, text: &str) -> Vec<u8> {
        let e = Encoding::for_label(label.as_bytes()).unwrap();
        let (b, _, bad) = e.encode(text);
        assert!(!bad, "{text} not representable in {label}");
        b.into_owned()
    }

    fn roundtrip(label_in: &str, text: &str, want: &str) {
        let mut b = enc(label_in, text);
        let d = decode("t.csv", &mut b, None).unwrap();
        assert_eq!(d.encoding, want, "{text}");
        assert!(d.detected);
        assert_eq!(String::from_utf8(b).unwrap(), text);
    }

    #[test]
    fn short_cyrillic_1251_and_koi8() {
        for t in [
            "Число избирателей, включенных в список;Число недействительных бюллетеней\n1;2\n",
            "Кількість виборців,Область\n100,Київ\n",
            "УИК;Число избирателей\n",
        ] {
            roundtrip("windows-1251", t, "windows-1251");
            roundtrip("koi8-r", t.replace(['і', 'ї'], "и").as_str(), "KOI8-R");
        }
    }

    #[test]
    fn short_central_european() {
        roundtrip("windows-1250", "Liczba wyborców uprawnionych do głosowania;Gmina\n10;Łódź\n", "windows-1250");
        roundtrip("windows-1250", "Počet voličů v seznamu,Obec\n5,Příbram\n", "windows-1250");
        roundtrip("windows-1250", "Głosy ważne,Świętokrzyskie,Śląsk\n", "windows-1250");
        // ISO-8859-2 differs from 1250 in ś, ą, š, ž, ź … at A0–BF.
        roundtrip("iso-8859-2", "Głosy ważne,Świętokrzyskie,Śląsk,źródło\n", "ISO-8859-2");
    }

    #[test]
    fn short_western() {
        roundtrip("windows-1252", "Électeurs inscrits;Votants;Département\n1;2;Côte-d'Or\n", "windows-1252");
        roundtrip("windows-1252", "Wahlberechtigte,Gemeinde\n100,München\n", "windows-1252");
    }

    #[test]
    fn utf8_is_untouched_and_not_copied() {
        let mut b = "Число,A\n1,2\n".as_bytes().to_vec();
        let p = b.as_ptr();
        let d = decode("t", &mut b, None).unwrap();
        assert_eq!((d.encoding, d.detected), ("UTF-8", false));
        assert_eq!(b.as_ptr(), p);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let t = "station,Кількість\n1,2\n";
        let le: Vec<u8> = t.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let be: Vec<u8> = t.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        for (bytes, want, bom) in [
            ([&b"\xFF\xFE"[..], &le].concat(), "UTF-16LE", true),
            ([&b"\xFE\xFF"[..], &be].concat(), "UTF-16BE", true),
            (le.clone(), "UTF-16LE", false),
            (be.clone(), "UTF-16BE", false),
        ] {
            let mut b = bytes;
            let d = decode("t", &mut b, None).unwrap();
            assert_eq!((d.encoding, d.had_bom), (want, bom));
            assert_eq!(String::from_utf8(b).unwrap(), t);
        }
    }

    #[test]
    fn forced_and_labels() {
        assert_eq!(for_label("CP1251").unwrap().name(), "windows-1251");
        assert_eq!(for_label("latin2").unwrap().name(), "ISO-8859-2");
        assert_eq!(for_label("utf16").unwrap().name(), "UTF-16LE");
        let e = for_label("klingon").unwrap_err().to_string();
        assert!(e.contains("unknown encoding") && e.contains("windows-1251"), "{e}");
        // KOI8-R bytes forced as KOI8-R even where detection might hesitate.
        let mut b = enc("koi8-r", "Да\n");
        let d = decode("t", &mut b, Some(for_label("koi8-r").unwrap())).unwrap();
        assert_eq!((d.encoding, d.detected), ("KOI8-R", false));
        assert_eq!(b, "Да\n".as_bytes());
        // Forced UTF-8 on 1251 bytes: an error that names the likely encoding.
        let mut b = enc("windows-1251", "Число избирателей\n");
        let e = decode("t", &mut b, Some(UTF_8)).unwrap_err().to_string();
        assert!(e.contains("not UTF-8") && e.contains("--encoding windows-1251"), "{e}");
    }

    #[test]
    fn binary_is_not_text() {
        let mut b = b"%PDF-1.7\n\xE2\xE3\xCF\xD3\n".to_vec();
        assert!(decode("t", &mut b, None).unwrap_err().to_string().contains("PDF"));
        let mut b: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(decode("t", &mut b, None).unwrap_err().to_string().contains("binary data"));
    }
}
