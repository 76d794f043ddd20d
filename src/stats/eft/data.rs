//! What EFT's table reads from an election: the units, the variables, and per station
//! and variable the digits and percentages the statistics need (EFT's `bootAnalT` /
//! `bootAnalV` inputs), with `NA` kept apart per variable.

use crate::model::{Election, Role};
use crate::{Error, Result};

/// Which units get rows besides the nation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitLevel {
    /// The nation only.
    Nation,
    /// The top level of the hierarchy.
    Region,
    /// The lowest level above the stations.
    Commission,
}

/// Which candidates get rows (the turnout row always does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableChoice {
    /// Named candidates (column names or candidate names as read).
    Named(Vec<String>),
    /// EFT's "All Leaders": each unit's own leader.
    AllLeaders,
}

/// "Not available" marker of the digit fields of [`Obs`].
pub const NA: u8 = u8::MAX;

/// One station's inputs for one variable.
#[derive(Debug, Clone, Copy)]
pub struct Obs {
    /// Last digit of the count ([`NA`] when the count is missing).
    pub last: u8,
    /// Second digit of the count ([`NA`] when missing or below 10).
    pub second: u8,
    /// 1 when `round(100·pct)` ends in 0 or 5, 0 when not, [`NA`] without a percentage.
    pub p05: u8,
    /// Percentage capped at 1 (NaN when missing or 0/0): P05s, Skew, Kurt.
    pub pct: f64,
    /// Uncapped ratio (NaN when missing or 0/0; may be infinite): DipT, and the share of
    /// Sobyanin/Correlation. The turnout variable's `raw` is the station's turnout, the
    /// regressor of Sobyanin and Correlation.
    pub raw: f64,
}

/// Last digit of a count.
pub fn last_digit(c: u32) -> u8 {
    (c % 10) as u8
}

/// Second digit of a count written in decimal; `None` below 10 (one digit).
pub fn second_digit(c: u32) -> Option<u8> {
    if c < 10 {
        return None;
    }
    let mut x = c;
    while x >= 100 {
        x /= 10;
    }
    Some((x % 10) as u8)
}

/// R's `round(x, 0)`: to the nearest integer, halves to even (on the double as it is).
pub fn r_round(x: f64) -> f64 {
    x.round_ties_even()
}

/// EFT's P05s indicator for a percentage `p` (a ratio, capped): whether
/// `round(p·100, 0)` ends in 0 or 5; `None` for NaN.
pub fn p05(p: f64) -> Option<bool> {
    if p.is_nan() {
        return None;
    }
    let r = r_round(p * 100.0);
    // r is a whole number in [0, 100] after the cap (negative counts do not exist)
    let d = (r.abs() % 10.0) as u8;
    Some(d == 0 || d == 5)
}

/// `num / den` as R computes it on counts (`NaN` for 0/0, `Inf` for x/0).
pub fn ratio(num: u32, den: u32) -> f64 {
    num as f64 / den as f64
}

/// EFT's cap: `ifelse(p >= 1, 1, p)` (NaN stays NaN).
pub fn cap(p: f64) -> f64 {
    if p >= 1.0 { 1.0 } else { p }
}

/// One station's observation of a count `c` over a denominator `d` (either may be missing).
pub fn observe(c: Option<u32>, d: Option<u32>) -> Obs {
    let raw = match (c, d) {
        (Some(c), Some(d)) => ratio(c, d),
        _ => f64::NAN,
    };
    let pct = cap(raw);
    Obs {
        last: c.map_or(NA, last_digit),
        second: c.and_then(second_digit).unwrap_or(NA),
        p05: p05(pct).map_or(NA, |b| b as u8),
        pct,
        raw,
    }
}

/// The election as EFT's table reads it.
#[derive(Debug, Clone)]
pub struct EftData {
    /// Units: (label, stations), the nation first.
    pub units: Vec<(String, Vec<u32>)>,
    /// Variable labels per unit (`labels[u][k]`), and their families.
    pub labels: Vec<Vec<String>>,
    pub families: Vec<String>,
    /// `obs[u]`: the unit's stations × variables, station-major (`obs[u][i * k + v]`).
    pub obs: Vec<Vec<Obs>>,
    pub notes: Vec<String>,
    /// Level name (empty for the nation only).
    pub level: String,
}

impl EftData {
    pub fn n_vars(&self) -> usize {
        self.families.len()
    }
}

/// Ballots cast (EFT's `TotalVotes`): issued, else in boxes, else valid.
fn ballots(e: &Election) -> Option<(Role, &[u32])> {
    [Role::Issued, Role::InBoxes, Role::Valid].into_iter().find_map(|r| e.get(r).map(|v| (r, v)))
}

fn candidate_index(e: &Election, name: &str) -> Result<usize> {
    if let Some(j) = e.candidates.iter().position(|c| c == name) {
        return Ok(j);
    }
    let lower = name.to_lowercase();
    let hits: Vec<usize> = (0..e.candidates.len()).filter(|&j| e.candidates[j].to_lowercase() == lower).collect();
    match hits.as_slice() {
        [j] => Ok(*j),
        _ => Err(Error::Usage(format!(
            "{}: no candidate column \"{name}\"; candidates read: {}",
            e.source,
            e.candidates.iter().take(20).map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn leader_of(e: &Election, stations: &[u32]) -> Option<usize> {
    let totals: Vec<u64> = e.votes.iter().map(|v| stations.iter().map(|&i| v[i as usize] as u64).sum()).collect();
    (0..totals.len()).max_by(|&a, &b| totals[a].cmp(&totals[b]).then(b.cmp(&a)))
}

/// Reads the units, variables and observations of `e`.
pub fn prepare(e: &Election, level: UnitLevel, choice: &VariableChoice) -> Result<EftData> {
    let mut notes = Vec::new();
    let n = e.len();
    let (brole, b) = ballots(e).ok_or_else(|| {
        Error::Usage(format!("{}: no ballots-cast column (issued, in boxes or valid ballots): EFT's table needs TotalVotes", e.source))
    })?;
    notes.push(format!("ballots cast (TotalVotes): the {} column", brole.key()));
    let reg = e.get(Role::Registered);
    if reg.is_none() {
        notes.push("no registered-voters column: turnout percentages, P05s/Skew/Kurt/DipT of turnout, Sobyanin and Correlation are NA".into());
    }
    let b_at = |i: usize| (!e.is_missing(i, brole)).then(|| b[i]);
    let n_at = |i: usize| reg.and_then(|r| (!e.is_missing(i, Role::Registered)).then(|| r[i]));
    let mut vote_missing: Vec<Vec<bool>> = vec![Vec::new(); e.candidates.len()];
    for (j, m) in e.missing_votes.iter().enumerate() {
        if !m.is_empty() {
            vote_missing[j] = vec![false; n];
            for &i in m {
                vote_missing[j][i as usize] = true;
            }
        }
    }
    let v_at = |j: usize, i: usize| (!vote_missing[j].get(i).copied().unwrap_or(false)).then(|| e.votes[j][i]);

    // Units: the nation, then the level's units by label.
    let mut units: Vec<(String, Vec<u32>)> = vec![("National".to_string(), (0..n as u32).collect())];
    let level_index = match level {
        UnitLevel::Nation => None,
        UnitLevel::Region => (!e.levels.is_empty()).then_some(0),
        UnitLevel::Commission => e.levels.len().checked_sub(1),
    };
    let level_name = match level_index {
        Some(l) => {
            let labels = e.scope_labels(l);
            let mut members: Vec<Vec<u32>> = vec![Vec::new(); labels.len()];
            for (i, &c) in e.levels[l].code.iter().enumerate() {
                members[c as usize].push(i as u32);
            }
            let mut order: Vec<usize> = (0..labels.len()).filter(|&u| !members[u].is_empty()).collect();
            order.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
            for u in order {
                units.push((labels[u].clone(), std::mem::take(&mut members[u])));
            }
            e.levels[l].name.clone()
        }
        None => {
            if level != UnitLevel::Nation {
                notes.push("the file has no hierarchy level: national row only".into());
            }
            String::new()
        }
    };

    // Variables: turnout, then the candidates (per unit for all leaders).
    let fixed: Option<Vec<usize>> = match choice {
        VariableChoice::Named(names) => Some(names.iter().map(|s| candidate_index(e, s)).collect::<Result<_>>()?),
        VariableChoice::AllLeaders => None,
    };
    let mut families = vec!["turnout".to_string()];
    match &fixed {
        Some(js) => families.extend(js.iter().map(|&j| e.candidates[j].clone())),
        None if !e.candidates.is_empty() => families.push("AllLeaders".into()),
        None => notes.push("no candidate columns: turnout rows only".into()),
    }
    let mut labels = Vec::with_capacity(units.len());
    let mut obs = Vec::with_capacity(units.len());
    for (_, st) in &units {
        let cands: Vec<usize> = match &fixed {
            Some(js) => js.clone(),
            None => leader_of(e, st).into_iter().collect(),
        };
        let mut lab = vec!["turnout".to_string()];
        for &j in &cands {
            lab.push(if fixed.is_some() { e.candidates[j].clone() } else { format!("AllLeaders ({})", e.candidates[j]) });
        }
        let k = 1 + cands.len();
        let mut o = Vec::with_capacity(st.len() * k);
        for &i in st {
            let i = i as usize;
            let (bi, ni) = (b_at(i), n_at(i));
            o.push(observe(bi, ni));
            for &j in &cands {
                o.push(observe(v_at(j, i), bi));
            }
        }
        labels.push(lab);
        obs.push(o);
    }
    Ok(EftData { units, labels, families, obs, notes, level: level_name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_as_written() {
        assert_eq!(second_digit(9), None);
        assert_eq!(second_digit(0), None);
        assert_eq!(second_digit(10), Some(0));
        assert_eq!(second_digit(47), Some(7));
        assert_eq!(second_digit(100_000), Some(0)); // EFT on a double: "1e+05" -> "e" (NA)
        assert_eq!(last_digit(100_000), 0); // EFT on a double: "1e+05" -> 5
        assert_eq!(second_digit(u32::MAX), Some(2));
    }

    #[test]
    fn r_rounding_is_half_even_on_the_double() {
        assert_eq!(p05(81.0 / 200.0), Some(true)); // 40.5 -> 40
        assert_eq!(p05(9.0 / 200.0), Some(false)); // 4.5 -> 4 (half up: 5)
        assert_eq!(p05(3.0 / 8.0), Some(false)); // 37.5 -> 38
        assert_eq!(p05(1.0), Some(true));
        assert_eq!(p05(f64::NAN), None);
        assert_eq!(cap(f64::INFINITY), 1.0);
        assert!(cap(f64::NAN).is_nan());
    }
}
