//! Joining official stations with observed rows on the station key, with the whole
//! accounting: every official station and every observed row ends up joined, in one
//! file only, or under a duplicate key, and each list is kept (DESIGN.md §4a).
//!
//! Keys are compared exactly. Keys that differ only by zero padding or spaces ("0012"
//! and "12", "УИК № 5" and "УИК №5") are the commonest join error between files from
//! different hands: without `normalise` they are counted and shown as near matches
//! (with the flag that joins them); with it, every key is normalised first
//! ([`normalise_key`]) and the stations joined only thanks to it are counted.

use super::read::{KeyPart, Observed};
use crate::model::Election;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// A key and the line(s) where it is.
#[derive(Debug, Clone, Serialize)]
pub struct KeyLines {
    pub key: String,
    pub lines: Vec<u64>,
}

/// An official and an observed key that are equal once normalised.
#[derive(Debug, Clone, Serialize)]
pub struct NearMatch {
    pub official: String,
    pub official_line: u64,
    pub observed: String,
    pub observed_line: u64,
}

/// What the join did, every count with its list.
#[derive(Debug, Clone, Serialize, Default)]
pub struct JoinReport {
    pub official_file: String,
    pub observed_file: String,
    /// Official key columns → observed key columns, as "official=observed".
    pub key: Vec<String>,
    pub normalised: bool,
    pub official_stations: usize,
    pub observed_rows: usize,
    pub joined: usize,
    /// Official stations with no observed row (expected for a partial observation).
    pub only_official: usize,
    /// Observed rows with no official station: a key typo, or a station missing from
    /// the official file.
    pub only_observed: Vec<KeyLines>,
    /// Observed rows at a station whose official protocol was not published.
    pub observed_unpublished: Vec<KeyLines>,
    /// Keys that appear more than once in a file: left out of the comparison.
    pub duplicate_official: Vec<KeyLines>,
    pub duplicate_observed: Vec<KeyLines>,
    /// Without `normalise`: keys that would join once normalised. With it: stations that
    /// joined only thanks to it.
    pub near_matches: Vec<NearMatch>,
    pub near_match_count: usize,
    /// Observed rows whose key cells were all empty.
    pub rows_without_key: Vec<u64>,
}

/// The joined pairs: `(official station index, observed row index)`, in official order.
#[derive(Debug, Clone)]
pub struct Join {
    pub pairs: Vec<(usize, usize)>,
    pub report: JoinReport,
}

/// Spaces removed and leading zeros of every run of digits dropped ("УИК № 0012" →
/// "УИК№12"); the parts of a composite key stay apart.
pub fn normalise_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut prev_digit = false;
    let mut pending_zero = false;
    for c in k.chars() {
        if c.is_whitespace() {
            continue;
        }
        if c.is_ascii_digit() {
            if !prev_digit && c == '0' {
                pending_zero = true; // a leading zero: dropped unless the run is all zeros
                continue;
            }
            prev_digit = true;
            pending_zero = false;
            out.push(c);
        } else {
            if pending_zero {
                out.push('0');
                pending_zero = false;
            }
            prev_digit = false;
            out.push(c);
        }
    }
    if pending_zero {
        out.push('0');
    }
    out
}

/// The official key of every station, built from the same parts as the observed key.
pub fn official_keys(e: &Election, parts: &[(KeyPart, Vec<String>)]) -> Vec<String> {
    (0..e.len())
        .map(|i| {
            let mut k = String::new();
            for (p, (part, _)) in parts.iter().enumerate() {
                if p > 0 {
                    k.push_str(" | ");
                }
                match part {
                    KeyPart::Station => k.push_str(e.station[i].trim()),
                    KeyPart::Level(l) => {
                        let lv = &e.levels[*l];
                        k.push_str(lv.labels[lv.code[i] as usize].trim());
                    }
                }
            }
            k
        })
        .collect()
}

/// Index of keys (normalised or not) → their positions.
fn index(keys: &[String], norm: bool) -> FxHashMap<String, Vec<usize>> {
    let mut m: FxHashMap<String, Vec<usize>> = FxHashMap::default();
    m.reserve(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let k = if norm { normalise_key(k) } else { k.clone() };
        m.entry(k).or_default().push(i);
    }
    m
}

/// Joins `official` with `observed` on the key parts `observed` was read with.
pub fn join(official: &Election, observed: &Observed, normalise: bool) -> Join {
    let off_keys = official_keys(official, &observed.key_parts);
    let off_ix = index(&off_keys, normalise);
    let obs_ix = index(&observed.keys, normalise);
    let mut rep = JoinReport {
        official_file: official.source.clone(),
        observed_file: observed.file.clone(),
        key: observed
            .key_parts
            .iter()
            .map(|(p, cols)| {
                let o = match p {
                    KeyPart::Station => "station".to_string(),
                    KeyPart::Level(k) => official.levels[*k].name.clone(),
                };
                format!("{o}={}", cols.join("+"))
            })
            .collect(),
        normalised: normalise,
        official_stations: official.len(),
        observed_rows: observed.keys.len(),
        rows_without_key: observed.rows_without_key.clone(),
        ..Default::default()
    };
    let mut pairs = Vec::new();
    let mut only_official_idx: Vec<usize> = Vec::new();
    for (k, idx) in &off_ix {
        if idx.len() > 1 {
            rep.duplicate_official.push(KeyLines { key: k.clone(), lines: idx.iter().map(|&i| official.line[i]).collect() });
            continue;
        }
        match obs_ix.get(k) {
            Some(o) if o.len() == 1 => pairs.push((idx[0], o[0])),
            Some(_) => {} // duplicate observed key: listed below
            None => only_official_idx.push(idx[0]),
        }
    }
    // Unpublished official protocols, by key (only the station part can be rebuilt).
    let unpublished: FxHashMap<String, u64> = if observed.key_parts.len() == 1 && observed.key_parts[0].0 == KeyPart::Station {
        official
            .unpublished
            .iter()
            .map(|u| (if normalise { normalise_key(&u.station) } else { u.station.trim().to_string() }, u.line))
            .collect()
    } else {
        FxHashMap::default()
    };
    let mut only_observed_idx: Vec<usize> = Vec::new();
    for (k, idx) in &obs_ix {
        if idx.len() > 1 {
            rep.duplicate_observed.push(KeyLines { key: k.clone(), lines: idx.iter().map(|&i| observed.lines[i]).collect() });
            continue;
        }
        if !off_ix.contains_key(k) {
            if unpublished.contains_key(k) {
                rep.observed_unpublished.push(KeyLines { key: k.clone(), lines: vec![observed.lines[idx[0]]] });
            } else {
                only_observed_idx.push(idx[0]);
            }
        }
    }
    pairs.sort_unstable();
    rep.joined = pairs.len();
    rep.only_official = only_official_idx.len();
    only_observed_idx.sort_unstable();
    rep.only_observed =
        only_observed_idx.iter().map(|&i| KeyLines { key: observed.keys[i].clone(), lines: vec![observed.lines[i]] }).collect();
    rep.duplicate_official.sort_by_key(|d| d.lines[0]);
    rep.duplicate_observed.sort_by_key(|d| d.lines[0]);
    rep.observed_unpublished.sort_by_key(|d| d.lines[0]);

    if normalise {
        // Stations joined only thanks to normalisation.
        for &(o, s) in &pairs {
            if off_keys[o] != observed.keys[s] {
                rep.near_match_count += 1;
                if rep.near_matches.len() < 50 {
                    rep.near_matches.push(NearMatch {
                        official: off_keys[o].clone(),
                        official_line: official.line[o],
                        observed: observed.keys[s].clone(),
                        observed_line: observed.lines[s],
                    });
                }
            }
        }
    } else {
        // One-sided keys that would join once normalised.
        let mut norm_off: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for &i in &only_official_idx {
            norm_off.entry(normalise_key(&off_keys[i])).or_default().push(i);
        }
        for &s in &only_observed_idx {
            if let Some(v) = norm_off.get(&normalise_key(&observed.keys[s]))
                && v.len() == 1
            {
                rep.near_match_count += 1;
                if rep.near_matches.len() < 50 {
                    rep.near_matches.push(NearMatch {
                        official: off_keys[v[0]].clone(),
                        official_line: official.line[v[0]],
                        observed: observed.keys[s].clone(),
                        observed_line: observed.lines[s],
                    });
                }
            }
        }
    }
    Join { pairs, report: rep }
}

impl JoinReport {
    /// Everything about the join a reader must know, one sentence each (empty when the
    /// join is clean). Printed by `compare` and kept in summary.json.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let ex = |v: &[KeyLines]| {
            v.iter()
                .take(5)
                .map(|k| {
                    let l: Vec<String> = k.lines.iter().map(|l| l.to_string()).collect();
                    format!("\"{}\" (line {})", k.key, l.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.near_match_count > 0 {
            let e = &self.near_matches[0];
            if self.normalised {
                w.push(format!(
                    "{} stations joined only after normalising keys (zero padding, spaces), e.g. official \"{}\" (line {}) with observed \"{}\" (line {})",
                    self.near_match_count, e.official, e.official_line, e.observed, e.observed_line
                ));
            } else {
                w.push(format!(
                    "{} observed stations match an official station only if zero padding and spaces in keys are ignored, e.g. observed \"{}\" (line {}) and official \"{}\" (line {}): rerun with --normalise-keys to join them",
                    self.near_match_count, e.observed, e.observed_line, e.official, e.official_line
                ));
            }
        }
        if !self.only_observed.is_empty() {
            w.push(format!(
                "{} observed stations have no official station with that key: {}{}",
                self.only_observed.len(),
                ex(&self.only_observed),
                if self.only_observed.len() > 5 { ", …" } else { "" }
            ));
        }
        if !self.observed_unpublished.is_empty() {
            w.push(format!(
                "{} observed stations have no published official protocol: {}",
                self.observed_unpublished.len(),
                ex(&self.observed_unpublished)
            ));
        }
        if !self.duplicate_official.is_empty() {
            w.push(format!(
                "{} keys appear more than once in the official file and are not compared: {}{} (a composite key may be needed: --join region=…,station=…)",
                self.duplicate_official.len(),
                ex(&self.duplicate_official),
                if self.duplicate_official.len() > 5 { ", …" } else { "" }
            ));
        }
        if !self.duplicate_observed.is_empty() {
            w.push(format!(
                "{} keys appear more than once in the observed file and are not compared: {}{}",
                self.duplicate_observed.len(),
                ex(&self.duplicate_observed),
                if self.duplicate_observed.len() > 5 { ", …" } else { "" }
            ));
        }
        if !self.rows_without_key.is_empty() {
            let l: Vec<String> = self.rows_without_key.iter().take(5).map(|l| l.to_string()).collect();
            w.push(format!("{} observed rows have an empty station key and are not joined: lines {}", self.rows_without_key.len(), l.join(", ")));
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_key;

    #[test]
    fn normalisation_drops_padding_and_spaces_only() {
        assert_eq!(normalise_key("0012"), "12");
        assert_eq!(normalise_key(" 12 "), "12");
        assert_eq!(normalise_key("УИК № 0005"), "УИК№5");
        assert_eq!(normalise_key("0"), "0");
        assert_eq!(normalise_key("000"), "0");
        assert_eq!(normalise_key("100"), "100");
        assert_eq!(normalise_key("07-003"), "7-3");
        assert_eq!(normalise_key("A0B"), "A0B");
        assert_ne!(normalise_key("12"), normalise_key("120"));
    }
}
