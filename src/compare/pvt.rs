//! Parallel vote tabulation: each candidate's national share estimated from observers'
//! counts at a random sample of stations, with its margin of error (Estok, Nevitte &
//! Cowan 2002, the NDI quick-count handbook; see the module documentation of
//! [`super`] for the estimator and its variance).
//!
//! Per candidate `j`, with `y` the candidate's votes and `x` the valid votes (sum over
//! candidates) at a sampled station, and strata `h` of `N_h` stations of which `n_h`
//! were sampled:
//! `r_j = Σ_h N_h ȳ_h / Σ_h N_h x̄_h`,
//! `var(r_j) = Σ_h N_h² (1 − n_h/N_h) s²_{e,h}/n_h / X̂²` with `e = y − r_j x`,
//! margin = `z_{(1+confidence)/2} · sqrt(var)`. One pass over the sample keeps the
//! per-stratum moments (`Σx, Σx², Σy, Σy², Σxy`), so 200 replicates of a few hundred
//! stations take microseconds each. An official share outside `r_j ± margin` is flagged.

use super::{Field, Observed, join::Join};
use crate::error::{Error, Result};
use crate::model::Election;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// One stratum: its official stations and how many were sampled.
#[derive(Debug, Clone, Serialize)]
pub struct Stratum {
    pub label: String,
    pub stations: u64,
    pub sampled: u64,
}

/// One candidate's estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub candidate: String,
    pub estimate: f64,
    pub standard_error: f64,
    pub margin: f64,
    pub low: f64,
    pub high: f64,
    pub official: f64,
    /// (official − estimate) / standard error.
    pub z: f64,
    /// The official share lies outside estimate ± margin.
    pub outside: bool,
    /// It lies outside the margin widened for testing every candidate at once
    /// (Bonferroni: `z_{1 − α/(2k)}`), which is what flags the result: with five
    /// candidates, one of five 95% intervals misses the true share in about 23% of
    /// honest elections.
    pub outside_all_candidates: bool,
}

/// The PVT result.
#[derive(Debug, Clone, Serialize)]
pub struct Pvt {
    pub confidence: f64,
    pub z_critical: f64,
    /// The critical value for all candidates at once (Bonferroni).
    pub z_critical_all_candidates: f64,
    pub sampled: u64,
    pub stations: u64,
    /// Name of the stratifying level; empty for a simple random sample.
    pub strata_level: String,
    pub strata: Vec<Stratum>,
    pub candidates: Vec<Estimate>,
    pub notes: Vec<String>,
}

impl Pvt {
    /// True when some official share lies outside its margin of error, adjusted for
    /// testing every candidate ([`Estimate::outside_all_candidates`]).
    pub fn flagged(&self) -> bool {
        self.candidates.iter().any(|c| c.outside_all_candidates)
    }
}

/// Per-stratum moments of the sample.
#[derive(Debug, Clone)]
pub struct Accumulator {
    k: usize,
    n: Vec<u64>,
    sx: Vec<f64>,
    sxx: Vec<f64>,
    /// `[h * k + j]`
    sy: Vec<f64>,
    syy: Vec<f64>,
    sxy: Vec<f64>,
}

impl Accumulator {
    pub fn new(strata: usize, candidates: usize) -> Self {
        let z = |m: usize| vec![0.0; m];
        Accumulator {
            k: candidates,
            n: vec![0; strata],
            sx: z(strata),
            sxx: z(strata),
            sy: z(strata * candidates),
            syy: z(strata * candidates),
            sxy: z(strata * candidates),
        }
    }

    /// Adds one sampled station: its stratum and its votes per candidate.
    #[inline]
    pub fn add(&mut self, stratum: usize, votes: impl Iterator<Item = u32> + Clone) {
        let x: f64 = votes.clone().map(|v| v as f64).sum();
        self.n[stratum] += 1;
        self.sx[stratum] += x;
        self.sxx[stratum] += x * x;
        let b = stratum * self.k;
        for (j, v) in votes.enumerate() {
            let y = v as f64;
            self.sy[b + j] += y;
            self.syy[b + j] += y * y;
            self.sxy[b + j] += x * y;
        }
    }

    /// Per candidate `(estimate, standard error, margin)`, given each stratum's official
    /// station count.
    pub fn finish(&self, stratum_sizes: &[u64], confidence: f64) -> Vec<(f64, f64, f64)> {
        let zc = z_critical(confidence);
        let strata = self.n.len();
        let mut out = Vec::with_capacity(self.k);
        // X̂ = Σ N_h x̄_h over sampled strata.
        let mut xhat = 0.0;
        for h in 0..strata {
            if self.n[h] > 0 {
                xhat += stratum_sizes[h] as f64 * self.sx[h] / self.n[h] as f64;
            }
        }
        for j in 0..self.k {
            let mut yhat = 0.0;
            for h in 0..strata {
                if self.n[h] > 0 {
                    yhat += stratum_sizes[h] as f64 * self.sy[h * self.k + j] / self.n[h] as f64;
                }
            }
            let r = if xhat > 0.0 { yhat / xhat } else { f64::NAN };
            let mut v = 0.0;
            for h in 0..strata {
                let n = self.n[h] as f64;
                if self.n[h] < 2 {
                    continue;
                }
                let b = h * self.k + j;
                // Σe = Σy − rΣx;  Σe² = Σy² − 2rΣxy + r²Σx²
                let se = self.sy[b] - r * self.sx[h];
                let see = self.syy[b] - 2.0 * r * self.sxy[b] + r * r * self.sxx[h];
                let s2 = ((see - se * se / n) / (n - 1.0)).max(0.0);
                let nh = stratum_sizes[h] as f64;
                let fpc = (1.0 - n / nh).max(0.0);
                v += nh * nh * fpc * s2 / n;
            }
            let sd = if xhat > 0.0 { v.sqrt() / xhat } else { f64::NAN };
            out.push((r, sd, zc * sd));
        }
        out
    }

    /// Stations sampled per stratum.
    pub fn sampled(&self) -> &[u64] {
        &self.n
    }
}

/// The two-sided normal critical value for `confidence` (1.96 for 0.95).
pub fn z_critical(confidence: f64) -> f64 {
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    n.inverse_cdf(0.5 + confidence.clamp(0.5, 0.999_999) / 2.0)
}

/// Builds the estimates from the stations in `j` (every candidate must be matched;
/// stations with a candidate not observed are left out, counted in a note).
pub fn from_join(e: &Election, obs: &Observed, j: &Join, strata: Option<usize>, confidence: f64) -> Result<Pvt> {
    let k = e.candidates.len();
    let mut col = vec![usize::MAX; k];
    for (fi, f) in obs.fields.iter().enumerate() {
        if let Field::Candidate(c) = f {
            col[*c] = fi;
        }
    }
    let missing: Vec<&str> = (0..k).filter(|&c| col[c] == usize::MAX).map(|c| e.candidates[c].as_str()).collect();
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "{}: --observed-as sample estimates every candidate's share, so it needs every candidate's votes; no observed column \
             for {} (name them with --observed-column OBS=CANDIDATE)",
            obs.file,
            crate::ingest::plan::list(&missing, 8)
        )));
    }
    let (labels, code): (Vec<String>, Vec<u32>) = match strata {
        Some(l) => (e.levels[l].labels.clone(), e.levels[l].code.clone()),
        None => (vec!["all stations".into()], vec![0; e.len()]),
    };
    let mut sizes = vec![0u64; labels.len()];
    for &c in &code {
        sizes[c as usize] += 1;
    }
    let mut acc = Accumulator::new(labels.len(), k);
    let mut incomplete = 0u64;
    for &(i, r) in &j.pairs {
        if col.iter().any(|&fi| obs.values[fi][r].is_none()) {
            incomplete += 1;
            continue;
        }
        acc.add(code[i] as usize, col.iter().map(|&fi| obs.values[fi][r].unwrap_or(0)));
    }
    let totals = e.candidate_totals();
    let all: u64 = totals.iter().sum();
    let official: Vec<f64> = totals.iter().map(|&t| if all > 0 { t as f64 / all as f64 } else { f64::NAN }).collect();
    let est = acc.finish(&sizes, confidence);
    let mut notes = Vec::new();
    if incomplete > 0 {
        notes.push(format!("{incomplete} joined stations lack some candidate's observed votes and are not in the estimate"));
    }
    let empty: Vec<&str> = (0..labels.len()).filter(|&h| acc.n[h] == 0).map(|h| labels[h].as_str()).collect();
    if !empty.is_empty() {
        notes.push(format!(
            "{} strata have no sampled station ({}): the estimate covers the other strata only",
            empty.len(),
            crate::ingest::plan::list(&empty, 5)
        ));
    }
    let single = (0..labels.len()).filter(|&h| acc.n[h] == 1).count();
    if single > 0 {
        notes.push(format!("{single} strata have one sampled station: their variance cannot be estimated and is left out, so margins are too narrow"));
    }
    let sampled: u64 = acc.n.iter().sum();
    if sampled < 2 {
        return Err(Error::usage(format!(
            "{}: --observed-as sample needs at least 2 sampled stations with every candidate observed; found {sampled}",
            obs.file
        )));
    }
    let zc = z_critical(confidence);
    let zall = z_critical(1.0 - (1.0 - confidence) / k.max(1) as f64);
    let candidates = (0..k)
        .map(|c| {
            let (r, sd, m) = est[c];
            let z = if sd > 0.0 { (official[c] - r) / sd } else { 0.0 };
            Estimate {
                candidate: e.candidates[c].clone(),
                estimate: r,
                standard_error: sd,
                margin: m,
                low: r - m,
                high: r + m,
                official: official[c],
                z,
                outside: (official[c] - r).abs() > m,
                outside_all_candidates: (official[c] - r).abs() > zall * sd,
            }
        })
        .collect();
    Ok(Pvt {
        confidence,
        z_critical: zc,
        z_critical_all_candidates: zall,
        sampled,
        stations: e.len() as u64,
        strata_level: strata.map(|l| e.levels[l].name.clone()).unwrap_or_default(),
        strata: (0..labels.len()).map(|h| Stratum { label: labels[h].clone(), stations: sizes[h], sampled: acc.n[h] }).collect(),
        candidates,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four stations of ten valid votes sampled from 100: r = 20/40, residuals 1, 0, 2, −3,
    /// s²ₑ = 14/3, var(r) = (1 − 4/100)·s²ₑ/(4·10²) = 0.0112 (Cochran's SRS ratio variance).
    #[test]
    fn ratio_estimate_and_variance_by_hand() {
        let mut acc = Accumulator::new(1, 2);
        for (a, b) in [(6, 4), (5, 5), (7, 3), (2, 8)] {
            acc.add(0, [a, b].into_iter());
        }
        let est = acc.finish(&[100], 0.95);
        let (r, sd, m) = est[0];
        assert!((r - 0.5).abs() < 1e-12);
        assert!((sd - 0.0112f64.sqrt()).abs() < 1e-12, "{sd}");
        assert!((m - 1.959_963_984_540_054 * sd).abs() < 1e-9);
        // The other candidate mirrors it.
        assert!((est[1].0 - 0.5).abs() < 1e-12 && (est[1].1 - sd).abs() < 1e-12);
    }

    /// Every station sampled: the estimate is the true share and the margin is 0.
    #[test]
    fn a_census_has_no_margin() {
        let mut acc = Accumulator::new(2, 2);
        acc.add(0, [6u32, 4].into_iter());
        acc.add(0, [1u32, 9].into_iter());
        acc.add(1, [30u32, 10].into_iter());
        acc.add(1, [0u32, 5].into_iter());
        let est = acc.finish(&[2, 2], 0.95);
        assert!((est[0].0 - 37.0 / 65.0).abs() < 1e-12);
        assert_eq!(est[0].2, 0.0);
    }

    #[test]
    fn critical_values() {
        assert!((z_critical(0.95) - 1.959_964).abs() < 1e-5);
        assert!((z_critical(0.99) - 2.575_829).abs() < 1e-5);
    }
}
