//! Observers' records as ranking evidence (`analyze --observed`, issue 18).
//!
//! A published figure that differs from the protocol signed at the count (copy, or a
//! PVT's count at a sampled station), or lies below a confirmed figure (minimum), is not
//! a probability but a documented alteration: it weighs [`OBSERVED_POINTS`], more than
//! any statistical evidence and than a broken control relation (6), so such stations
//! head the list, each with its reason in plain words ("official 120 votes for X; 253
//! recorded by observers at the station"). A commission gets the same weight once for
//! each tenfold of its stations in discrepancy (`10 · (1 + log10 n)`).

use super::units::{UnitEvidence, UnitScore};
use super::{Kind, StationScore};
use crate::compare::{Comparison, Mode};
use crate::model::Election;

/// Points of a station whose published figures differ from the observers' record.
pub const OBSERVED_POINTS: f64 = 10.0;

/// The reason of station `i`: its first discrepancies, in words.
fn text(c: &Comparison, e: &Election, ds: &[&crate::compare::Discrepancy]) -> String {
    let what = match c.mode {
        Mode::Copy => "on the observers' copy of the protocol",
        Mode::Minimum => "confirmed by observers at the station (a lower bound)",
        Mode::Sample => "in the observers' count at the station",
    };
    // Candidates' votes first (what the reader asks about), largest difference first.
    let mut ds = ds.to_vec();
    ds.sort_by_key(|d| (matches!(c.fields[d.field], crate::compare::Field::Role(_)), std::cmp::Reverse(d.difference().unsigned_abs())));
    let mut parts: Vec<String> = ds
        .iter()
        .take(3)
        .map(|d| {
            let f = c.fields[d.field];
            match f {
                crate::compare::Field::Candidate(j) => format!(
                    "official {} votes for {}; {} {what}",
                    d.official, e.candidates[j], d.observed
                ),
                crate::compare::Field::Role(r) => format!("official {} {}; {} {what}", r.key(), d.official, d.observed),
            }
        })
        .collect();
    if ds.len() > 3 {
        parts.push(format!("and {} more figures", ds.len() - 3));
    }
    parts.join("; ")
}

/// Adds the observers' evidence to station and unit scores, re-flags at `threshold`;
/// returns the number of stations it touched. The caller re-sorts the station order.
pub fn apply(
    e: &Election,
    stations: &mut [StationScore],
    commissions: &mut [UnitScore],
    c: &Comparison,
    threshold: f64,
) -> usize {
    let mut touched = 0;
    let mut k = 0;
    let d = &c.discrepancies;
    // per commission: stations in discrepancy, and those the evidence newly flags
    let mut per_unit: std::collections::HashMap<u32, (usize, usize)> = Default::default();
    let level = e.levels.len().checked_sub(1);
    while k < d.len() {
        let i = d[k].station;
        let mut end = k;
        while end < d.len() && d[end].station == i {
            end += 1;
        }
        let ds: Vec<&crate::compare::Discrepancy> = d[k..end].iter().collect();
        let s = &mut stations[i];
        s.evidence.push(super::Evidence { kind: Kind::Observed, points: OBSERVED_POINTS, text: text(c, e, &ds) });
        s.score += OBSERVED_POINTS;
        // a commission counts its stations flagged on their own evidence (`flagged_alone`)
        let newly = !s.flagged_alone;
        s.flagged = s.score >= threshold;
        s.flagged_alone = true;
        touched += 1;
        if let Some(l) = level {
            let u = per_unit.entry(e.levels[l].code[i]).or_default();
            u.0 += 1;
            u.1 += newly as usize;
        }
        k = end;
    }
    for u in commissions.iter_mut() {
        if let Some(&(n, newly)) = per_unit.get(&u.unit) {
            u.flagged += newly;
            let pts = OBSERVED_POINTS * (1.0 + (n as f64).log10());
            u.evidence.push(UnitEvidence {
                name: "observed".into(),
                points: pts,
                text: format!("{n} of its stations' published figures differ from the observers' records"),
            });
            u.score += pts;
        }
    }
    touched
}
