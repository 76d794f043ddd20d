//! Official results against what observers recorded at the station (DESIGN.md §4a).
//!
//! Statistics can only say that numbers look made up; an observer's record can show
//! that a published figure is not the one counted. Three kinds of record, three rules:
//!
//! * **copy** — the protocol as signed at the count (a photograph or certified copy).
//!   Every difference between it and the published figure is an alteration made after
//!   the count: a discrepancy is `official ≠ observed`.
//! * **minimum** — confirmed lower bounds: ballots for a candidate photographed at the
//!   count, voters who confirmed their vote. The true figure is at least the bound, so a
//!   discrepancy is `official < observed`, and `observed − official` votes, summed over
//!   candidates, is the smallest number that must have been taken from them.
//! * **sample** — a parallel vote tabulation (PVT, "quick count"): observers' counts at
//!   a random, optionally stratified, sample of stations. Each candidate's national
//!   share is estimated from the sample with a margin of error, and an official share
//!   outside it is questioned; station-level differences at the sampled stations are
//!   listed as for `copy`. The method is the standard one of the quick-count handbooks:
//!   M. Estok, N. Nevitte & G. Cowan, *The Quick Count and Election Observation: An NDI
//!   Handbook for Civic Organizations and Political Parties* (NDI, Washington DC, 2002),
//!   ch. 5 (statistical principles: a random sample of polling stations, each
//!   candidate's share estimated from the sampled votes with its margin of error, the
//!   official result compared with that interval). Stations are the sampling units
//!   (clusters of voters), so the share is a ratio estimator, `r = Σ y / Σ x` (votes
//!   for the candidate over valid votes at the sampled stations, stratum totals
//!   weighted by the stratum's station count when stratified), and its variance is the
//!   linearised cluster-sample variance
//!   `var(r) = Σ_h N_h² (1 − n_h/N_h) s²_{e,h} / n_h / X̂²`, `e = y − r x`
//!   (Cochran, *Sampling Techniques*, 3rd ed., 1977, §6.11 combined ratio estimate),
//!   which reduces to the handbook's `p(1−p)/n` when every station has one voter.
//!
//! Joining two files per station is where errors hide, so nothing is silent here
//! ([`join`]): stations in one file only, duplicate keys, keys that match only once
//! zero padding and spaces are ignored (said, and `--normalise-keys` applies it),
//! observed columns that match no official field, negative or unreadable observed
//! figures (listed, never coerced) — each is counted and listed in the summary.
//!
//! Layers: [`read`] reads the observed file through ingest's source layer (encodings,
//! spreadsheets, title rows) and matches its columns to the official election's fields
//! by name, then by ingest's recognition rules; [`join`] joins on the station key;
//! [`diff`] compares field by field and accounts the votes moved; [`pvt`] estimates
//! shares from a sample. Nothing here writes files or prints: `export::compare` and
//! `cli::compare` do.

pub mod diff;
pub mod join;
pub mod pvt;
pub mod read;
pub mod words;

use crate::model::{Election, Role};
use serde::Serialize;

pub use diff::{Discrepancy, Flows, StationRow};
pub use join::{Join, JoinReport};
pub use pvt::Pvt;
pub use read::{Observed, ObservedOptions};

/// What the observed figures are (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The protocol as signed at the count: every difference is a discrepancy.
    Copy,
    /// Confirmed lower bounds: an official figure below the observed one is a discrepancy.
    Minimum,
    /// A parallel vote tabulation on a random sample of stations: shares estimated with
    /// their margins of error, plus the station-level differences.
    Sample,
}

impl Mode {
    pub fn key(self) -> &'static str {
        match self {
            Mode::Copy => "copy",
            Mode::Minimum => "minimum",
            Mode::Sample => "sample",
        }
    }
}

/// One comparable figure of a protocol: a protocol line or a candidate's votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Role(Role),
    /// Index into the official election's candidates.
    Candidate(usize),
}

impl Field {
    /// The name used in the output: a role key (`issued`) or the candidate's name.
    pub fn name(self, e: &Election) -> String {
        match self {
            Field::Role(r) => r.key().to_string(),
            Field::Candidate(j) => e.candidates[j].clone(),
        }
    }

    /// The official figure at station `i`; `None` when the official file lacks it there.
    #[inline]
    pub fn official(self, e: &Election, i: usize) -> Option<u32> {
        match self {
            Field::Role(r) => {
                if e.is_missing(i, r) {
                    None
                } else {
                    e.get(r).map(|v| v[i])
                }
            }
            Field::Candidate(j) => e.votes.get(j).map(|v| v[i]),
        }
    }
}

/// How to compare.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// `sample`: the official hierarchy level whose units are the strata (`None`: a
    /// simple random sample of all stations).
    pub strata: Option<usize>,
    /// `sample`: confidence of the margins of error (0.95).
    pub confidence: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { mode: Mode::Copy, strata: None, confidence: 0.95 }
    }
}

/// The whole comparison: join accounting, station rows, discrepancies, votes moved
/// and, for `sample`, the estimates.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub mode: Mode,
    pub join: JoinReport,
    /// One row per joined station, in official order.
    pub stations: Vec<StationRow>,
    /// One per station × field in discrepancy, in official station order then field order.
    pub discrepancies: Vec<Discrepancy>,
    /// Fields compared, in observed column order.
    pub fields: Vec<Field>,
    pub flows: Flows,
    /// Station × field pairs compared, and skipped because either side had no figure.
    pub cells_compared: u64,
    pub cells_not_observed: u64,
    pub cells_official_missing: u64,
    pub pvt: Option<Pvt>,
    /// The observed file's line of each observed row.
    pub observed_lines: Vec<u64>,
    /// Observed cells left out as unreadable (`--skip-bad-cells`).
    pub bad_cells: Vec<read::BadCell>,
    /// Observed columns that match no official field (name, why).
    pub unmatched_columns: Vec<(String, String)>,
}

impl Comparison {
    /// Stations with at least one discrepancy.
    pub fn stations_differing(&self) -> usize {
        self.stations.iter().filter(|s| s.differing > 0).count()
    }
    /// Exit status: 1 when a discrepancy was found or (sample) an official share falls
    /// outside its margin of error, else 0.
    pub fn exit_code(&self) -> i32 {
        let pvt_flag = self.pvt.as_ref().is_some_and(|p| p.flagged());
        if self.discrepancies.is_empty() && !pvt_flag { 0 } else { 1 }
    }
}

/// Compares `observed` with `official` (already joined by [`join::join`]).
pub fn compare(official: &Election, observed: &Observed, j: &Join, opts: &Options) -> crate::Result<Comparison> {
    let d = diff::run(official, observed, j, opts.mode);
    let pvt = match opts.mode {
        Mode::Sample => Some(pvt::from_join(official, observed, j, opts.strata, opts.confidence)?),
        _ => None,
    };
    Ok(Comparison {
        mode: opts.mode,
        join: j.report.clone(),
        stations: d.stations,
        discrepancies: d.discrepancies,
        fields: observed.fields.clone(),
        flows: d.flows,
        cells_compared: d.cells_compared,
        cells_not_observed: d.cells_not_observed,
        cells_official_missing: d.cells_official_missing,
        pvt,
        observed_lines: observed.lines.clone(),
        bad_cells: observed.bad_cells.clone(),
        unmatched_columns: observed.unmatched.clone(),
    })
}
