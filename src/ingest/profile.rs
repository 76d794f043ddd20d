//! What a column's values say about it, from a sample of rows: the checks that keep
//! codes, row numbers, flags, shares and text out of the candidates when the header
//! alone does not tell (DESIGN.md §1; the issue "Codes taken for candidates").
//!
//! | check | evidence in the sampled values | decision |
//! | --- | --- | --- |
//! | text | most values are not numbers | ignored: text |
//! | share | most numbers have a non-zero fraction or a `%` | ignored: a share or percentage |
//! | zero-padded | most numbers start with `0` ("020101", "01") | ignored: a code |
//! | row number | each value is the previous plus one, over ≥ 10 rows | ignored: a row number |
//! | code | values never fall over ≥ 20 rows, with repeats (sorted codes: 1,1,1,2,2,…) | ignored: a code that rises with the row order |
//! | flag | only 0 and 1, outside the block of candidate columns | ignored: a flag |
//! | empty | no value in the sample | kept provisionally; dropped when empty in the whole file |
//!
//! Vote counts never rise with the row order over twenty stations, are whole numbers,
//! and are not written with leading zeros; the checks are safe for them.

use super::number::{CountError, parse_count};

/// Cells that mean "no data": empty after trimming, or one of these (any case).
pub const MISSING_TOKENS: &[&str] = &["-", "–", "—", "n/a", "na", "n.a.", "#n/a", "null", "none", "nan", ".."];

/// True when a cell holds no data (empty, or a missing-data token, or one of the
/// user's `--na` values).
pub fn is_missing(cell: &[u8], extra: &[String]) -> bool {
    let s = cell.trim_ascii();
    if s.is_empty() {
        return true;
    }
    if s.len() > 8 {
        return false;
    }
    let Ok(t) = std::str::from_utf8(s) else { return false };
    MISSING_TOKENS.iter().any(|m| t.eq_ignore_ascii_case(m)) || extra.iter().any(|m| t == m.trim())
}

/// The sampled values of one column, summarised.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub nonempty: usize,
    pub counts: usize,
    pub shares: usize,
    pub text: usize,
    pub zero_padded: usize,
    pub binary: bool,
    pub row_number: bool,
    pub rising: bool,
    pub distinct: usize,
    /// Non-zero counts that are multiples of 10 (ballots come in packs).
    pub round10: usize,
    pub nonzero: usize,
}

impl Profile {
    pub fn of<'a>(cells: impl Iterator<Item = &'a [u8]>, na: &[String]) -> Profile {
        let mut p = Profile { binary: true, ..Default::default() };
        let mut vals: Vec<u64> = Vec::new();
        for cell in cells {
            if is_missing(cell, na) {
                continue;
            }
            p.nonempty += 1;
            let s = cell.trim_ascii();
            match parse_count(s) {
                Ok(Some(v)) => {
                    p.counts += 1;
                    vals.push(v as u64);
                    if s.len() > 1 && s[0] == b'0' && s.iter().all(u8::is_ascii_digit) {
                        p.zero_padded += 1;
                    }
                    if v > 1 {
                        p.binary = false;
                    }
                    if v > 0 {
                        p.nonzero += 1;
                        if v % 10 == 0 {
                            p.round10 += 1;
                        }
                    }
                }
                Ok(None) => {}
                Err(CountError::Fractional) | Err(CountError::Negative) => {
                    p.shares += 1;
                    p.binary = false;
                }
                Err(CountError::NotNumber) if s.ends_with(b"%") => {
                    p.shares += 1;
                    p.binary = false;
                }
                Err(CountError::NotNumber) => {
                    p.text += 1;
                    p.binary = false;
                }
                Err(_) => {
                    p.counts += 1;
                    p.binary = false;
                }
            }
        }
        if vals.is_empty() {
            p.binary = false;
        }
        p.row_number = vals.len() >= 10 && vals.windows(2).all(|w| w[1] == w[0] + 1);
        p.rising = vals.len() >= 20 && vals.windows(2).all(|w| w[1] >= w[0]);
        let mut d = vals.clone();
        d.sort_unstable();
        d.dedup();
        p.distinct = d.len();
        if p.rising && (p.distinct < 3 || p.distinct * 2 >= vals.len()) {
            p.rising = false;
        }
        p
    }

    /// Why this column is not a column of counts, if it is not (the flag check needs
    /// the block of candidates and is made by the plan).
    pub fn not_counts(&self) -> Option<String> {
        if self.text > self.counts + self.shares {
            return Some(format!("text, not counts ({} of {} sampled values)", self.text, self.nonempty));
        }
        if self.shares * 2 > self.nonempty {
            return Some(format!("a share or percentage, not a count ({} of {} sampled values have a fraction or %)", self.shares, self.nonempty));
        }
        if self.zero_padded * 2 > self.counts {
            return Some(format!("a code: {} of {} sampled values are zero-padded (\"01\")", self.zero_padded, self.counts));
        }
        if self.row_number {
            return Some("a row number: each value is the previous one plus one".into());
        }
        if self.rising {
            return Some(format!(
                "a code: its {} sampled values never fall down the file and repeat ({} distinct), as sorted codes do and vote counts never do",
                self.counts, self.distinct
            ));
        }
        None
    }

    /// Mostly whole numbers whose non-zero values are multiples of 10: ballots received
    /// in packs, not ballots cast.
    pub fn looks_received(&self) -> bool {
        self.nonzero >= 5 && self.round10 * 10 >= self.nonzero * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prof(vals: &[&str]) -> Profile {
        Profile::of(vals.iter().map(|s| s.as_bytes()), &[])
    }

    #[test]
    fn codes_and_counts() {
        let rows: Vec<String> = (1..=30).map(|i| i.to_string()).collect();
        let r: Vec<&str> = rows.iter().map(|s| s.as_str()).collect();
        assert!(prof(&r).not_counts().unwrap().contains("row number"));
        let codes: Vec<String> = (0..40).map(|i| (1 + i / 7).to_string()).collect();
        let c: Vec<&str> = codes.iter().map(|s| s.as_str()).collect();
        assert!(prof(&c).not_counts().unwrap().contains("never fall"));
        assert!(prof(&["020101", "020101", "020102"]).not_counts().unwrap().contains("zero-padded"));
        assert!(prof(&["12.5%", "13.1", "40.0"]).not_counts().unwrap().contains("share"));
        assert!(prof(&["APAC", "GULU", "3"]).not_counts().unwrap().contains("text"));
        // Votes: up and down.
        assert_eq!(prof(&["120", "87", "301", "0", "45", "45", "9"]).not_counts(), None);
        assert!(prof(&["0", "1", "0", "0", "1"]).binary);
        assert!(!prof(&["0", "1", "2"]).binary);
        assert!(is_missing(b" - ", &[]));
        assert!(is_missing(b"NA", &[]));
        assert!(is_missing("—".as_bytes(), &[]));
        assert!(!is_missing(b"0", &[]));
        assert!(is_missing(b"***", &["***".to_string()]));
        assert!(prof(&["1350", "1150", "1500", "1000", "1200", "1250"]).looks_received());
        assert!(!prof(&["983", "919", "1002", "455", "877", "1250"]).looks_received());
    }
}
