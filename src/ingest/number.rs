//! Parsing one protocol count from a CSV cell, with errors that say what was wrong.

/// Why a cell is not a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountError {
    Negative,
    Fractional,
    TooLarge,
    Separator,
    Scientific,
    NotNumber,
}

impl CountError {
    pub fn explain(self) -> &'static str {
        match self {
            CountError::Negative => "negative count; expected a whole number ≥ 0",
            CountError::Fractional => "fractional count; expected a whole number of ballots or votes",
            CountError::TooLarge => "count too large; expected a whole number below 4,294,967,296 per station",
            CountError::Separator => {
                "number with a thousands separator; expected plain digits (remove the separator, or re-export the file without number formatting)"
            }
            CountError::Scientific => {
                "number in scientific notation; expected a whole number in plain digits (re-export the file without number formatting)"
            }
            CountError::NotNumber => "not a number; expected a whole number of ballots or votes",
        }
    }
}

/// `Ok(None)` for an empty cell (only spaces), `Ok(Some(n))` for a count.
/// Accepts surrounding spaces, a leading `+`, and a zero fraction (`12.0`), which
/// spreadsheet exports produce and which lose nothing.
#[inline]
pub fn parse_count(cell: &[u8]) -> Result<Option<u32>, CountError> {
    let s = cell.trim_ascii();
    if s.is_empty() {
        return Ok(None);
    }
    // Fast path: plain digits.
    if s.len() <= 9 && s.iter().all(u8::is_ascii_digit) {
        let mut v = 0u32;
        for &b in s {
            v = v * 10 + (b - b'0') as u32;
        }
        return Ok(Some(v));
    }
    slow(s).map(Some)
}

#[cold]
fn slow(s: &[u8]) -> Result<u32, CountError> {
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err(CountError::NotNumber);
    }
    if is_scientific(body) {
        return Err(CountError::Scientific);
    }
    let (int, frac) = match body.iter().position(|&b| b == b'.' || b == b',') {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
        // "1 234", "1 234" (no-break space), "1'234"
        let digits_and_seps = body
            .iter()
            .all(|&b| b.is_ascii_digit() || b == b' ' || b == b'\'' || b == 0xC2 || b == 0xA0);
        if digits_and_seps && body.iter().any(u8::is_ascii_digit) {
            return Err(CountError::Separator);
        }
        return Err(CountError::NotNumber);
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.iter().all(u8::is_ascii_digit) {
            return Err(CountError::NotNumber);
        }
        if body.contains(&b',') && f.len() == 3 {
            return Err(CountError::Separator); // "1,234"
        }
        if f.iter().any(|&b| b != b'0') {
            return Err(if neg { CountError::Negative } else { CountError::Fractional });
        }
    }
    let mut v: u64 = 0;
    for &b in int {
        v = v * 10 + (b - b'0') as u64;
        if v > u32::MAX as u64 {
            return Err(if neg { CountError::Negative } else { CountError::TooLarge });
        }
    }
    if neg && v > 0 {
        return Err(CountError::Negative);
    }
    Ok(v as u32)
}

/// `1e3`, `1.5E+02`, `2,5e-1`: digits, an optional fraction, `e`/`E`, a signed exponent.
fn is_scientific(s: &[u8]) -> bool {
    let Some(e) = s.iter().position(|&b| b == b'e' || b == b'E') else { return false };
    let (mant, exp) = (&s[..e], &s[e + 1..]);
    let exp = exp.strip_prefix(b"+").or_else(|| exp.strip_prefix(b"-")).unwrap_or(exp);
    let mut seps = 0;
    let mant_ok = mant.iter().any(u8::is_ascii_digit)
        && mant.iter().all(|&b| {
            seps += (b == b'.' || b == b',') as usize;
            b.is_ascii_digit() || b == b'.' || b == b','
        })
        && seps <= 1;
    mant_ok && !exp.is_empty() && exp.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(parse_count(b"0"), Ok(Some(0)));
        assert_eq!(parse_count(b" 1234 "), Ok(Some(1234)));
        assert_eq!(parse_count(b"+7"), Ok(Some(7)));
        assert_eq!(parse_count(b"12.0"), Ok(Some(12)));
        assert_eq!(parse_count(b"4294967295"), Ok(Some(u32::MAX)));
        assert_eq!(parse_count(b""), Ok(None));
        assert_eq!(parse_count(b"   "), Ok(None));
        assert_eq!(parse_count(b"-0"), Ok(Some(0)));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_count(b"-3"), Err(CountError::Negative));
        assert_eq!(parse_count(b"12.5"), Err(CountError::Fractional));
        assert_eq!(parse_count(b"4294967296"), Err(CountError::TooLarge));
        assert_eq!(parse_count(b"99999999999999999999"), Err(CountError::TooLarge));
        assert_eq!(parse_count(b"abc"), Err(CountError::NotNumber));
        assert_eq!(parse_count(b"1e3"), Err(CountError::Scientific));
        assert_eq!(parse_count(b"1.5E+02"), Err(CountError::Scientific));
        assert_eq!(parse_count(b"e3"), Err(CountError::NotNumber));
        assert_eq!(parse_count(b"1e"), Err(CountError::NotNumber));
        assert_eq!(parse_count(b"1.2.3e4"), Err(CountError::NotNumber));
        assert_eq!(parse_count(b"1 234"), Err(CountError::Separator));
        assert_eq!(parse_count(b"1,234"), Err(CountError::Separator));
        assert_eq!(parse_count(b"+"), Err(CountError::NotNumber));
    }
}
