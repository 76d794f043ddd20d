//! Field-by-field comparison of joined stations, and the accounting of votes moved.
//!
//! **copy / sample** (the observed figure is the count): at each station the
//! difference `d_j = official_j − observed_j` per candidate says who gained and who
//! lost. Votes lost by some candidates and gained by others are *moved*: the matched
//! part, `min(Σ d⁺, Σ d⁻)`, is split between every loser → gainer pair in proportion to
//! the loser's loss and the gainer's gain (the smallest flow consistent with the
//! station's figures when one side is a single candidate, which is the common case).
//! Gains with no matching loss are votes *added* (ballots that were not counted: a
//! stuffing trace); losses with no matching gain are votes *removed*. A station's
//! `votes_moved` is `max(Σ d⁺, Σ d⁻)`: every vote whose candidate changed, was added or
//! was removed.
//!
//! **minimum** (the observed figure is a confirmed lower bound): only an official
//! figure below it is a discrepancy, and `observed − official` summed over candidates
//! is the smallest number of votes that must have been taken from them (to whom is not
//! known: the bound says nothing about the others).

use super::{Field, Mode, Observed, join::Join};
use crate::model::Election;
use serde::Serialize;

/// One station × field in discrepancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discrepancy {
    /// Official station index.
    pub station: usize,
    /// Observed row index.
    pub row: usize,
    /// Index into `Comparison::fields`.
    pub field: usize,
    pub official: u32,
    pub observed: u32,
}

impl Discrepancy {
    pub fn difference(&self) -> i64 {
        self.official as i64 - self.observed as i64
    }
}

/// One joined station.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StationRow {
    pub station: usize,
    pub row: usize,
    /// Fields with a figure on both sides.
    pub compared: u16,
    pub differing: u16,
    /// copy/sample: votes whose candidate changed, added or removed (see the module
    /// doc); minimum: the smallest number of votes taken from candidates.
    pub votes_moved: u64,
}

/// Votes moved, summed over stations. Candidates are indexed as in the official file.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Flows {
    /// Per candidate: votes gained (official above observed) and lost, summed over stations.
    pub gained: Vec<u64>,
    pub lost: Vec<u64>,
    /// `from[l][g]`: votes moved from candidate `l` to `g` (copy/sample; rounded sums
    /// of proportional splits).
    pub moved: Vec<Vec<f64>>,
    /// Per candidate: votes gained with no candidate losing them (added ballots).
    pub added: Vec<f64>,
    /// Per candidate: votes lost with no candidate gaining them.
    pub removed: Vec<f64>,
    /// minimum: per candidate, official below the confirmed figure, summed.
    pub shortfall: Vec<u64>,
    /// Σ station votes_moved.
    pub total: u64,
    /// Per candidate, over the station × candidate cells compared: official and observed sums.
    pub official_compared: Vec<u64>,
    pub observed_compared: Vec<u64>,
}

pub struct Diff {
    pub stations: Vec<StationRow>,
    pub discrepancies: Vec<Discrepancy>,
    pub flows: Flows,
    pub cells_compared: u64,
    pub cells_not_observed: u64,
    pub cells_official_missing: u64,
}

/// Compares every joined pair.
pub fn run(e: &Election, obs: &Observed, j: &Join, mode: Mode) -> Diff {
    let k = e.candidates.len();
    let mut flows = Flows {
        gained: vec![0; k],
        lost: vec![0; k],
        moved: vec![vec![0.0; k]; k],
        added: vec![0.0; k],
        removed: vec![0.0; k],
        shortfall: vec![0; k],
        total: 0,
        official_compared: vec![0; k],
        observed_compared: vec![0; k],
    };
    let mut stations = Vec::with_capacity(j.pairs.len());
    let mut discrepancies = Vec::new();
    let (mut compared_all, mut not_obs, mut off_missing) = (0u64, 0u64, 0u64);
    let mut d = vec![0i64; k];
    let mut seen = vec![false; k];
    for &(i, r) in &j.pairs {
        let mut row = StationRow { station: i, row: r, compared: 0, differing: 0, votes_moved: 0 };
        d.iter_mut().for_each(|x| *x = 0);
        seen.iter_mut().for_each(|x| *x = false);
        for (fi, f) in obs.fields.iter().enumerate() {
            let Some(o) = obs.values[fi][r] else {
                not_obs += 1;
                continue;
            };
            let Some(off) = f.official(e, i) else {
                off_missing += 1;
                continue;
            };
            row.compared += 1;
            compared_all += 1;
            let bad = match mode {
                Mode::Copy | Mode::Sample => off != o,
                Mode::Minimum => off < o,
            };
            if bad {
                row.differing += 1;
                discrepancies.push(Discrepancy { station: i, row: r, field: fi, official: off, observed: o });
            }
            if let Field::Candidate(c) = *f {
                d[c] = off as i64 - o as i64;
                seen[c] = true;
                flows.official_compared[c] += off as u64;
                flows.observed_compared[c] += o as u64;
            }
        }
        match mode {
            Mode::Minimum => {
                let mut s = 0u64;
                for c in 0..k {
                    if seen[c] && d[c] < 0 {
                        flows.shortfall[c] += (-d[c]) as u64;
                        s += (-d[c]) as u64;
                    }
                }
                row.votes_moved = s;
            }
            Mode::Copy | Mode::Sample => {
                let g: i64 = d.iter().filter(|&&x| x > 0).sum();
                let l: i64 = -d.iter().filter(|&&x| x < 0).sum::<i64>();
                if g > 0 || l > 0 {
                    let matched = g.min(l) as f64;
                    for c in 0..k {
                        if d[c] > 0 {
                            flows.gained[c] += d[c] as u64;
                            flows.added[c] += d[c] as f64 * (1.0 - matched / g as f64);
                        } else if d[c] < 0 {
                            flows.lost[c] += (-d[c]) as u64;
                            flows.removed[c] += (-d[c]) as f64 * (1.0 - matched / l as f64);
                        }
                    }
                    if matched > 0.0 {
                        for from in 0..k {
                            if d[from] >= 0 {
                                continue;
                            }
                            for to in 0..k {
                                if d[to] > 0 {
                                    flows.moved[from][to] += matched * (-d[from]) as f64 / l as f64 * d[to] as f64 / g as f64;
                                }
                            }
                        }
                    }
                    row.votes_moved = g.max(l) as u64;
                }
            }
        }
        flows.total += row.votes_moved;
        stations.push(row);
    }
    Diff {
        stations,
        discrepancies,
        flows,
        cells_compared: compared_all,
        cells_not_observed: not_obs,
        cells_official_missing: off_missing,
    }
}
