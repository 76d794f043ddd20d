//! Observers' records of a simulated election, for `compare` to be tested against
//! ground truth (issue 18).
//!
//! The simulator knows each station's protocol before any fraud: a clean run with the
//! same seed differs from the dirty one exactly at the stations in the truth (see the
//! module docs of [`super`]), so the records are taken from `clean::generate` of the
//! same configuration.
//!
//! * `copy`: a random `fraction` of the stations; each record is the whole true
//!   protocol (what was signed at the count, before falsification).
//! * `minimum`: a random `fraction` of the stations; for each candidate a random share
//!   of the true votes is confirmed: `Binomial(v_j, p)` with `p ~ U(0.3, 0.9)` per
//!   station (photographed ballots, voters who confirmed their vote). Candidate columns only.
//! * `sample`: a simple random sample of `round(fraction × n)` stations (a PVT); each
//!   record is the true protocol.
//!
//! The stations are drawn without replacement by a generator keyed by the seed and the
//! kind, so the same seed gives the same file.

use super::{Simulation, clean, col, splitmix64};
use crate::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{self, Write};

/// What the observers hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObserverKind {
    /// The protocol as signed at the count.
    Copy,
    /// Confirmed lower bounds of each candidate's votes.
    Minimum,
    /// True protocols at a simple random sample of stations (a PVT).
    Sample,
}

impl ObserverKind {
    pub fn key(self) -> &'static str {
        match self {
            ObserverKind::Copy => "copy",
            ObserverKind::Minimum => "minimum",
            ObserverKind::Sample => "sample",
        }
    }
}

/// The observers' records.
#[derive(Debug, Clone)]
pub struct Observation {
    pub kind: ObserverKind,
    /// Observed stations, in station order.
    pub stations: Vec<usize>,
    /// Row-major records: `width` values per observed station (copy, sample: the full
    /// protocol row as in [`col`]; minimum: one per candidate).
    pub rows: Vec<u32>,
    pub width: usize,
}

impl Observation {
    pub fn row(&self, k: usize) -> &[u32] {
        &self.rows[k * self.width..(k + 1) * self.width]
    }
}

/// Draws `m` of `0..n` without replacement (partial Fisher–Yates), sorted.
pub fn choose(rng: &mut ChaCha8Rng, n: usize, m: usize) -> Vec<usize> {
    let m = m.min(n);
    let mut pool: Vec<usize> = (0..n).collect();
    for t in 0..m {
        let j = rng.random_range(t..n);
        pool.swap(t, j);
    }
    pool.truncate(m);
    pool.sort_unstable();
    pool
}

/// The observers' records of `sim` (see the module doc).
pub fn observe(sim: &Simulation, fraction: f64, kind: ObserverKind) -> Result<Observation> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::usage(format!("--observers {fraction}: expected a share of the stations in (0, 1], e.g. 0.2")));
    }
    let clean = clean::generate(&sim.config);
    let n = sim.len();
    let m = ((fraction * n as f64).round() as usize).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(sim.config.seed ^ 0x0b5e_7e45 ^ (kind as u64) << 40));
    let stations = choose(&mut rng, n, m);
    let k = sim.candidates.len();
    let (width, rows) = match kind {
        ObserverKind::Copy | ObserverKind::Sample => {
            let w = clean.width();
            let mut rows = Vec::with_capacity(m * w);
            for &s in &stations {
                rows.extend_from_slice(clean.row(s));
            }
            (w, rows)
        }
        ObserverKind::Minimum => {
            let mut rows = Vec::with_capacity(m * k);
            for &s in &stations {
                let p: f64 = 0.3 + 0.6 * rng.random::<f64>();
                for j in 0..k {
                    rows.push(clean::binom(&mut rng, clean.row(s)[col::FIXED + j], p));
                }
            }
            (k, rows)
        }
    };
    Ok(Observation { kind, stations, rows, width })
}

/// Writes the observed CSV: `region,commission,station,` then the protocol columns
/// (copy, sample) or the candidates (minimum).
pub fn write_observed<W: Write>(sim: &Simulation, obs: &Observation, mut w: W) -> io::Result<()> {
    let mut header = String::from("region,commission,station");
    let names: Vec<String> = match obs.kind {
        ObserverKind::Minimum => sim.candidates.clone(),
        _ => col::NAMES.iter().map(|s| s.to_string()).chain(sim.candidates.iter().cloned()).collect(),
    };
    for n in &names {
        header.push(',');
        header.push_str(n);
    }
    header.push('\n');
    w.write_all(header.as_bytes())?;
    let mut out = Vec::with_capacity(128);
    for (t, &s) in obs.stations.iter().enumerate() {
        out.clear();
        let c = sim.station_commission[s] as usize;
        out.extend_from_slice(sim.region_labels[sim.commission_region[c] as usize].as_bytes());
        out.push(b',');
        out.extend_from_slice(sim.commission_labels[c].as_bytes());
        out.push(b',');
        super::write::push_u64(&mut out, Simulation::station_id(s));
        for &v in obs.row(t) {
            out.push(b',');
            super::write::push_u64(&mut out, v as u64);
        }
        out.push(b'\n');
        w.write_all(&out)?;
    }
    w.flush()
}
