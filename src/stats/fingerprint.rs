//! Election fingerprints (Klimek, Yegorov, Hanel & Thurner 2012, PNAS 109(41):16469–16473,
//! with its Supporting Information; DESIGN.md §3 "Election fingerprints").
//!
//! # What is computed
//!
//! * The **fingerprint**: a 2-D histogram of turnout × winner share ([`histogram`],
//!   [`Histogram2d`]), 1 pp bins by default, weighted by stations or by voters.
//!   Turnout `T = B/N` (issued ballots over registered voters), or `C/N` (ballots in the
//!   boxes) when the file has no issued ballots — [`Stations::basis`] and the notes say
//!   which. Winner share `S = v_leader / V` (valid votes, or the sum of candidate votes when
//!   V is absent), as Klimek et al. Inclusion as in the paper: `C > 0` (ballots in the boxes;
//!   `B` when C is absent), `N ≥ 100`; also `V > 0` (a share needs a denominator). Stations
//!   abroad and electronic pseudo-stations are left out by default and counted
//!   ([`Exclusions`]). A turnout above 1 (`B > N`, a protocol error) is kept and clamped
//!   into the last bin, and counted.
//!
//! * The **Klimek model** ([`ModelParams`], [`simulate_station`]), per station with its own
//!   electorate `N_i`:
//!   - honest turnout `t ~ Normal(τ, σ_τ)` and honest winner share `v ~ Normal(ν, σ_ν)`,
//!     both truncated to [0, 1] (by rejection);
//!   - fraud intensity `x`: with probability `f_i` (incremental fraud) `x ~ |Normal(0, θ)|`
//!     truncated to [0, 1]; with probability `f_e` (extreme fraud) `x = 1 − |Normal(0, 0.075)|`;
//!     otherwise `x = 0`;
//!   - reported ballots `B = round(N − N(1 − x)(1 − t))`, winner votes
//!     `W = round(N [t v + x (1 − t) + x^α (1 − v) t])`; simulated turnout `B/N`, share `W/B`
//!     (the model has no invalid ballots; the observed share uses V, which differs from B by
//!     the invalid ballots, 1–2 % in Russia). Rounding to whole ballots with each station's
//!     own `N_i` reproduces the small-denominator texture of the observed histogram.
//!     A simulated station with `B = 0` is dropped, as `C > 0` drops it from the data.
//!
//! * **Honest parameters from the data** ([`HonestParams`], [`estimate_honest`]):
//!   `τ`, `ν` are the first local maxima above 0.3 of a Gaussian kernel density estimate of
//!   the observed turnout / share (station-weighted). *Bandwidth rule*: Silverman's constant
//!   with the mode-estimation rate, `h = 0.9 · min(sd, IQR/1.34) · n^(−1/7)`
//!   ([`mode_bandwidth`]; why not `n^(−1/5)`: see there), floored at 0.002; the density is
//!   evaluated on a 0.001 grid over [0, 1] after linear binning.
//!   *Local maximum*: a grid point higher than its left neighbour and not lower than its
//!   right one, whose topographic prominence is at least 5 % of the density's global maximum
//!   (this discards the ripples that spikes at round percentages leave in the KDE). If no
//!   such maximum lies above 0.3, the highest point above 0.3 is taken (and noted).
//!   `σ_τ = RMS(t − τ)` over stations with `t < τ` and `v < ν`; `σ_ν = RMS(v − ν)` over
//!   `v < ν` (the left sides, which fraud does not reach).
//!   *θ, our reconstruction*: the paper draws the fraud intensity "from the right side of the
//!   share distribution". The default [`ThetaRule::SqrtRightRms`] takes
//!   `θ = sqrt(RMS(v − ν) over v > ν)`, the published reconstruction DESIGN.md cites; with a
//!   typical honest spread of 0.1 this gives θ ≈ 0.3, i.e. incremental fraud that moves a
//!   station by tens of percentage points, which is what the smeared "comet tail" of the
//!   Russian fingerprints needs. [`ThetaRule::RightRms`] (θ = the RMS itself) and
//!   [`ThetaRule::Fixed`] are offered for sensitivity checks.
//!
//! * **The fit** ([`fit`]): the model's parameters minimise a distance between the observed
//!   histogram and the mean of `sims` simulated ones (DESIGN.md: "a distance between the
//!   observed and simulated 2-D histograms … averaged over several simulations with common
//!   random numbers"). Three stages:
//!   1. *Coarse*: honest parameters at the raw estimates above; `α` over its grid (unless
//!      fixed), `f_e` on a 0.01 grid, `f_i` on all of [0, 1 − f_e] at step 0.001, with
//!      `coarse_sims` simulations.
//!   2. *Honest parameters fitted jointly* (`honest_passes`, default 2): coordinate descent
//!      over `(τ, ν, σ_τ, σ_ν)`, started at the raw estimates, on the **profile** distance
//!      (for each candidate, `f_i`, `f_e` are re-optimised in a window around the current
//!      optimum), with `coarse_sims` simulations; per coordinate a ±step pair and the vertex
//!      of the parabola through the three values; after each pass a Hooke–Jeeves pattern
//!      move (the pass's displacement once and twice); the step (`honest_step`, 0.008)
//!      halves once a pass stops travelling. Bounds: modes within 0.1 of the raw ones,
//!      spreads within a factor 3. θ follows its rule at the current ν (always from the
//!      observed shares).
//!   3. *Final*: all `sims` simulations, `f_e` on a `fe_fine_step` grid within one coarse
//!      step of the optimum, `f_i` within `fi_window`, and, when `α` is fitted, the
//!      midpoints to its grid neighbours. With `α` fitted, stage 2 runs at every grid value
//!      of `α` (from that value's coarse optimum; the coarse choice, made at the raw honest
//!      parameters, can be wrong) and the best is kept: it costs one search per grid value.
//!
//!   **Why the honest parameters are fitted (departure from the paper).** Klimek et al. fix
//!   τ, ν at KDE modes and σ_τ, σ_ν at left-side RMS values. Under the model itself these
//!   are biased whenever there is fraud (incremental stations with small `x` sit just
//!   right of the honest peak and pull the modes up), and `f_i` is very sensitive to them
//!   (0.006 in τ moves `f_i` by ≈ 0.035): the paper's estimator gives `f_i` ≈ 0.07 for a
//!   true 0.10. An earlier version corrected the modes by indirect inference (matching the
//!   simulated KDE modes to the observed ones); that inherits the KDE mode's sampling noise
//!   and left a low bias of 0.02–0.04. Fitting them by the same distance uses every station
//!   and is consistent under the model. The raw estimates are still computed (the start,
//!   reported as `honest_params_raw`); `honest_passes = 0` gives the paper's estimator.
//!   On real data the model is not exact and the fitted modes move along a ridge with `f_i`
//!   (Russia 2011: τ 0.532 raw → ≈ 0.52 fitted): the fitted honest parameters are reported
//!   next to the raw ones.
//!
//!   **Criterion (departure from the paper's plain sum of squares).** Default
//!   [`Criterion::SmoothedChi2`]: `D = Σ_b w_b [(o_b − m_b)² − w̄ m_b / K]` with
//!   `w_b = 1 / (w̄ (s_b + w̄))`, `s_b` the observed histogram blurred by a Gaussian of 1.5
//!   bins, `w̄ = Σw²/Σw` of the station weights (1 for station weights), `K` simulations.
//!   The weights are inverse estimated sampling variances (Pearson-like, but taken from the
//!   smoothed data so that a bin's weight does not follow its own noise): the plain sum of
//!   squares is dominated by the noisy bins of the honest peak and leaves a long, flat
//!   ridge between the modes and `f_i` (measured with fitted modes: `f_i` 0.07–0.10 for a
//!   true 0.10). The `− w̄ m_b / K` term removes the expected simulation variance of the mean
//!   histogram, which would otherwise favour concentrated (less fraudulent) fits.
//!   [`Criterion::LeastSquares`] is the paper's criterion (with the same correction, nearly
//!   constant for it). [`FraudFit::distance`] always reports the plain sum of squares.
//!
//!   **Common random numbers.** Every simulation draws once, per station: a uniform `u`
//!   (fraud class), standard normals for turnout, share and incremental intensity, three
//!   uniforms for inverse-CDF fallbacks, and the extreme intensity (`Base`). Honest turnout
//!   is `τ + σ_τ z` when in [0, 1], else the inverse-CDF draw of the truncated normal at the
//!   station's uniform (this mixture is exactly the truncated normal), so the simulated
//!   histogram moves continuously with τ, σ_τ, ν, σ_ν, θ. A station is extreme when
//!   `u < f_e`, incremental when `f_e ≤ u < f_e + f_i`, honest otherwise; with stations
//!   sorted by `u`, raising `f_i` flips stations from honest to incremental in a fixed
//!   order, so `D` along a whole line of `f_i` costs one pass with O(1) updates per flip.
//!
//! * **Uncertainty**: a nonparametric bootstrap over stations (`bootstrap` replicates):
//!   each replicate resamples stations with replacement and reruns the **whole** estimator
//!   (raw estimates, coarse stage, honest-parameter search, final stage with
//!   `bootstrap_sims` simulations and its own random numbers), so the interval includes the
//!   uncertainty of the honest parameters and the simulation noise; percentile intervals.
//!   Replicates run in parallel (rayon); each draws from its own ChaCha8 stream seeded from
//!   (seed, replicate, simulation), and every reduction is done in a fixed order, so results
//!   are identical for any number of threads. A replicate costs about one fit.
//!
//! * **Honest counterfactual**: the mean simulated histogram at `f_i = f_e = 0` with the
//!   fitted honest parameters (Klimek et al. Fig. 4, right column).

use super::TestResult;
use crate::error::{Error, Result};
use crate::model::{Election, Role, Special};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

/// Standard deviation of `|Normal(0, ·)|` in extreme fraud (Klimek et al.: `x = 1 − |N(0, 0.075)|`).
pub const EXTREME_SD: f64 = 0.075;

// ---------------------------------------------------------------------------------------
// Station selection
// ---------------------------------------------------------------------------------------

/// Weights of the 2-D histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// One per station (Klimek et al.).
    #[default]
    Stations,
    /// Voters: the turnout numerator (ballots issued, or in the boxes) of each station;
    /// in the simulation, the simulated ballots.
    Voters,
}

/// Which count the turnout is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnoutBasis {
    /// `T = B/N`, ballots issued.
    Issued,
    /// `T = C/N`, ballots in the boxes (the file has no issued ballots).
    InBoxes,
    /// Counts given directly (synthetic data, [`Stations::from_counts`]).
    Given,
}

/// Which stations enter the fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The winner (candidate index); `None`: the national leader.
    pub leader: Option<usize>,
    /// Keep stations abroad (left out by default, counted).
    pub include_abroad: bool,
    /// Keep electronic-voting pseudo-stations (left out by default, counted).
    pub include_electronic: bool,
    /// Minimum registered voters `N` (Klimek et al.: 100).
    pub min_registered: u32,
}

impl Default for Selection {
    fn default() -> Self {
        Selection { leader: None, include_abroad: false, include_electronic: false, min_registered: 100 }
    }
}

/// How many stations each inclusion rule set aside (each station counted once, at the
/// first rule it fails, in this order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exclusions {
    pub abroad: usize,
    pub electronic: usize,
    /// Institutions, ships, mobile, designated and partly published stations.
    pub special: usize,
    /// `C = 0` (no ballots in the boxes).
    pub no_ballots: usize,
    /// `N < min_registered`.
    pub small: usize,
    /// `V = 0` (no valid votes: no share).
    pub no_valid: usize,
    /// Kept, but with turnout above 1 (`B > N`): clamped into the last bin.
    pub turnout_above_one: usize,
}

/// The stations of a fingerprint: plain per-station columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Stations {
    /// `N_i`, registered voters.
    pub registered: Vec<u32>,
    /// Turnout `T_i` (may exceed 1 on faulty protocols; the histogram clamps it).
    pub turnout: Vec<f64>,
    /// Winner share `v_leader / V`.
    pub share: Vec<f64>,
    /// Voters (turnout numerator), the weight of [`Weighting::Voters`].
    pub voters: Vec<f64>,
    pub basis: TurnoutBasis,
    /// Winner's name, when known.
    pub leader: Option<String>,
    pub excluded: Exclusions,
}

impl Stations {
    pub fn len(&self) -> usize {
        self.registered.len()
    }
    pub fn is_empty(&self) -> bool {
        self.registered.is_empty()
    }

    /// From raw counts (registered `N`, ballots `B`, valid `V`, winner votes `W`), applying
    /// `B > 0`, `N ≥ min_registered`, `V > 0`. Turnout `B/N`, share `W/V`.
    pub fn from_counts(registered: &[u32], ballots: &[u32], valid: &[u32], winner: &[u32], min_registered: u32) -> Stations {
        let mut s = Stations {
            registered: Vec::with_capacity(registered.len()),
            turnout: Vec::with_capacity(registered.len()),
            share: Vec::with_capacity(registered.len()),
            voters: Vec::with_capacity(registered.len()),
            basis: TurnoutBasis::Given,
            leader: None,
            excluded: Exclusions::default(),
        };
        for i in 0..registered.len() {
            s.push_checked(registered[i], ballots[i], ballots[i], valid[i] as u64, winner[i] as u64, min_registered);
        }
        s
    }

    fn push_checked(&mut self, n: u32, num: u32, c: u32, v: u64, w: u64, min_n: u32) {
        if c == 0 {
            self.excluded.no_ballots += 1;
        } else if n < min_n || n == 0 {
            self.excluded.small += 1;
        } else if v == 0 {
            self.excluded.no_valid += 1;
        } else {
            let t = num as f64 / n as f64;
            if t > 1.0 {
                self.excluded.turnout_above_one += 1;
            }
            self.registered.push(n);
            self.turnout.push(t);
            self.share.push((w as f64 / v as f64).min(1.0));
            self.voters.push(num as f64);
        }
    }

    /// A bootstrap resample (stations `idx`).
    fn subset(&self, idx: &[usize]) -> Stations {
        Stations {
            registered: idx.iter().map(|&i| self.registered[i]).collect(),
            turnout: idx.iter().map(|&i| self.turnout[i]).collect(),
            share: idx.iter().map(|&i| self.share[i]).collect(),
            voters: idx.iter().map(|&i| self.voters[i]).collect(),
            basis: self.basis,
            leader: self.leader.clone(),
            excluded: self.excluded.clone(),
        }
    }

    fn weights(&self, w: Weighting) -> Option<&[f64]> {
        match w {
            Weighting::Stations => None,
            Weighting::Voters => Some(&self.voters),
        }
    }
}

/// Reads the fingerprint's stations from an election (see the module docs for the rules).
pub fn select(e: &Election, sel: &Selection) -> Result<Stations> {
    let n = e
        .get(Role::Registered)
        .ok_or_else(|| Error::usage("fingerprint: the file has no registered-voter counts (N); turnout needs them"))?;
    let (num, basis) = match (e.get(Role::Issued), e.get(Role::InBoxes)) {
        (Some(b), _) => (b, TurnoutBasis::Issued),
        (None, Some(c)) => (c, TurnoutBasis::InBoxes),
        (None, None) => {
            return Err(Error::usage("fingerprint: the file has neither issued ballots (B) nor ballots in the boxes (C)"));
        }
    };
    let c = e.get(Role::InBoxes).unwrap_or(num);
    let leader = match sel.leader.or_else(|| e.leader()) {
        Some(l) if l < e.votes.len() => l,
        Some(l) => return Err(Error::usage(format!("fingerprint: no candidate number {l}"))),
        None => return Err(Error::usage("fingerprint: the file has no candidates")),
    };
    let valid = e.valid_or_sum();
    let w = &e.votes[leader];
    let mut s = Stations {
        registered: Vec::with_capacity(e.len()),
        turnout: Vec::with_capacity(e.len()),
        share: Vec::with_capacity(e.len()),
        voters: Vec::with_capacity(e.len()),
        basis,
        leader: e.candidates.get(leader).cloned(),
        excluded: Exclusions::default(),
    };
    for i in 0..e.len() {
        match e.special.get(i).copied().flatten() {
            Some(Special::Abroad) if !sel.include_abroad => {
                s.excluded.abroad += 1;
                continue;
            }
            Some(Special::Electronic) if !sel.include_electronic => {
                s.excluded.electronic += 1;
                continue;
            }
            // Hospitals, prisons, ships, partly published protocols: never ordinary.
            Some(sp) if sp.is_institutional() => {
                s.excluded.special += 1;
                continue;
            }
            _ => {}
        }
        s.push_checked(n[i], num[i], c[i], valid[i], w[i] as u64, sel.min_registered);
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------
// 2-D histogram
// ---------------------------------------------------------------------------------------

/// A turnout × share histogram on [0, 1]², `bins_t × bins_s` equal bins; bin `k` of an axis
/// holds `[k/bins, (k+1)/bins)`, the last bin also holds 1 (and anything above, clamped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram2d {
    pub bins_t: usize,
    pub bins_s: usize,
    pub weighting: Weighting,
    /// Row-major: `counts[t_bin * bins_s + s_bin]`.
    pub counts: Vec<f64>,
    /// Sum of all counts.
    pub total: f64,
}

/// Bin of `x` on `[0, 1]` with `bins` equal bins (clamped at both ends).
#[inline]
pub fn bin_of(x: f64, bins: usize) -> usize {
    if !(x > 0.0) {
        return 0;
    }
    ((x * bins as f64) as usize).min(bins - 1)
}

impl Histogram2d {
    pub fn zeros(bins_t: usize, bins_s: usize, weighting: Weighting) -> Self {
        Histogram2d { bins_t, bins_s, weighting, counts: vec![0.0; bins_t * bins_s], total: 0.0 }
    }
    /// Count of the bin at turnout bin `t`, share bin `s`.
    pub fn get(&self, t: usize, s: usize) -> f64 {
        self.counts[t * self.bins_s + s]
    }
    /// Flat index of the bin holding `(turnout, share)`.
    #[inline]
    pub fn index(&self, turnout: f64, share: f64) -> usize {
        bin_of(turnout, self.bins_t) * self.bins_s + bin_of(share, self.bins_s)
    }
    /// Lower edges of the turnout bins.
    pub fn t_edges(&self) -> Vec<f64> {
        (0..=self.bins_t).map(|k| k as f64 / self.bins_t as f64).collect()
    }
    pub fn s_edges(&self) -> Vec<f64> {
        (0..=self.bins_s).map(|k| k as f64 / self.bins_s as f64).collect()
    }
    /// Marginal over share (one value per turnout bin).
    pub fn turnout_marginal(&self) -> Vec<f64> {
        self.counts.chunks(self.bins_s).map(|r| r.iter().sum()).collect()
    }
    /// Marginal over turnout (one value per share bin).
    pub fn share_marginal(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.bins_s];
        for r in self.counts.chunks(self.bins_s) {
            for (a, b) in m.iter_mut().zip(r) {
                *a += b;
            }
        }
        m
    }
    /// `Σ (self − other)²` over the bins.
    pub fn sq_distance(&self, other: &Histogram2d) -> f64 {
        self.counts.iter().zip(&other.counts).map(|(a, b)| (a - b) * (a - b)).sum()
    }
}

/// The fingerprint of `(turnout, share)` pairs, `w = None` for station weights.
pub fn histogram(turnout: &[f64], share: &[f64], w: Option<&[f64]>, bins_t: usize, bins_s: usize) -> Histogram2d {
    assert!(bins_t > 0 && bins_s > 0, "histogram needs at least one bin per axis");
    let weighting = if w.is_some() { Weighting::Voters } else { Weighting::Stations };
    let mut h = Histogram2d::zeros(bins_t, bins_s, weighting);
    for i in 0..turnout.len() {
        let wi = w.map_or(1.0, |w| w[i]);
        let k = h.index(turnout[i], share[i]);
        h.counts[k] += wi;
        h.total += wi;
    }
    h
}

/// The fingerprint of selected stations.
pub fn station_histogram(st: &Stations, weighting: Weighting, bins: usize) -> Histogram2d {
    let mut h = histogram(&st.turnout, &st.share, st.weights(weighting), bins, bins);
    h.weighting = weighting;
    h
}

// ---------------------------------------------------------------------------------------
// Kernel density and modes
// ---------------------------------------------------------------------------------------

/// Silverman's rule of thumb, `0.9 · min(sd, IQR/1.34) · n^(−1/5)` (the sd alone when the
/// IQR is 0), floored at 0.002. (Density-optimal; [`mode_bandwidth`] is what the modes use.)
pub fn silverman_bandwidth(x: &[f64]) -> f64 {
    bandwidth_rate(x, -0.2)
}

/// Bandwidth for locating a mode: Silverman's constant with the rate `n^(−1/7)`, which is
/// the MSE-optimal rate for estimating the mode of a density (Parzen 1962; Romano 1988),
/// instead of the density-optimal `n^(−1/5)`. With `n^(−1/5)` the mode of a normal honest
/// peak (σ = 0.1) wanders by ≈ 0.01 at 40,000 stations, which is enough to bias `f_i`;
/// with `n^(−1/7)` it wanders by ≈ 0.003. Floored at 0.002.
pub fn mode_bandwidth(x: &[f64]) -> f64 {
    bandwidth_rate(x, -1.0 / 7.0)
}

fn bandwidth_rate(x: &[f64], rate: f64) -> f64 {
    let n = x.len();
    if n < 2 {
        return 0.05;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let sd = (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt();
    let mut s = x.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let q = |p: f64| {
        let h = p * (n - 1) as f64;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        s[lo] + (h - lo as f64) * (s[hi] - s[lo])
    };
    let iqr = q(0.75) - q(0.25);
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    (0.9 * spread * (n as f64).powf(rate)).max(0.002)
}

/// A Gaussian kernel density on a regular grid over [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kde {
    pub bandwidth: f64,
    /// Grid points `k / (len − 1)`.
    pub grid: Vec<f64>,
    pub density: Vec<f64>,
}

/// Number of grid points of [`kde`] (step 0.001).
pub const KDE_GRID: usize = 1001;

/// Gaussian KDE of `x` (clamped to [0, 1]) on a 0.001 grid, by linear binning and direct
/// convolution with the kernel truncated at 5 bandwidths.
pub fn kde(x: &[f64], bandwidth: f64) -> Kde {
    let g = KDE_GRID;
    let step = 1.0 / (g - 1) as f64;
    let mut mass = vec![0.0; g];
    for &v in x {
        let p = v.clamp(0.0, 1.0) / step;
        let lo = (p.floor() as usize).min(g - 1);
        let fr = p - lo as f64;
        mass[lo] += 1.0 - fr;
        if lo + 1 < g {
            mass[lo + 1] += fr;
        }
    }
    let r = ((5.0 * bandwidth / step).ceil() as usize).max(1);
    let kern: Vec<f64> = (0..=r).map(|k| (-0.5 * (k as f64 * step / bandwidth).powi(2)).exp()).collect();
    let norm = 1.0 / (x.len().max(1) as f64 * bandwidth * (2.0 * std::f64::consts::PI).sqrt());
    let mut density = vec![0.0; g];
    for (j, d) in density.iter_mut().enumerate() {
        let lo = j.saturating_sub(r);
        let hi = (j + r).min(g - 1);
        let mut acc = 0.0;
        for (i, m) in mass.iter().enumerate().take(hi + 1).skip(lo) {
            if *m != 0.0 {
                acc += m * kern[i.abs_diff(j)];
            }
        }
        *d = acc * norm;
    }
    Kde { bandwidth, grid: (0..g).map(|k| k as f64 * step).collect(), density }
}

/// First local maximum of `k` above `lower` with prominence ≥ `min_prominence` × the global
/// maximum (see the module docs). Returns `(location, found_a_local_maximum)`.
pub fn first_mode_above(k: &Kde, lower: f64, min_prominence: f64) -> (f64, bool) {
    let d = &k.density;
    let g = d.len();
    let top = d.iter().cloned().fold(0.0, f64::max);
    for j in 1..g {
        if k.grid[j] <= lower {
            continue;
        }
        let right_ok = j + 1 >= g || d[j] >= d[j + 1];
        if !(d[j] > d[j - 1] && right_ok) {
            continue;
        }
        let mut lmin = d[j];
        for i in (0..j).rev() {
            if d[i] > d[j] {
                break;
            }
            lmin = lmin.min(d[i]);
        }
        let mut rmin = d[j];
        for &v in d.iter().skip(j + 1) {
            if v > d[j] {
                break;
            }
            rmin = rmin.min(v);
        }
        if d[j] - lmin.max(rmin) >= min_prominence * top {
            return (k.grid[j], true);
        }
    }
    // fallback: highest point above `lower` (or anywhere)
    let (mut best, mut bv) = (None, f64::NEG_INFINITY);
    for j in 0..g {
        if k.grid[j] > lower && d[j] > bv {
            bv = d[j];
            best = Some(j);
        }
    }
    let j = best.unwrap_or_else(|| (0..g).max_by(|&a, &b| d[a].total_cmp(&d[b])).unwrap_or(0));
    (k.grid[j], false)
}

/// The mode Klimek et al. use: first local maximum above `lower` (0.3) of a KDE with
/// [`mode_bandwidth`]. Returns `(mode, bandwidth)`.
pub fn kde_mode(x: &[f64], lower: f64) -> (f64, f64) {
    let h = mode_bandwidth(x);
    (first_mode_above(&kde(x, h), lower, MIN_PROMINENCE).0, h)
}

/// Prominence threshold of a KDE mode, as a fraction of the density's maximum.
pub const MIN_PROMINENCE: f64 = 0.05;

// ---------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------

/// How θ (the spread of incremental fraud intensities) is taken from the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThetaRule {
    /// `θ = sqrt(RMS(v − ν) over v > ν)` (DESIGN.md's published reconstruction).
    #[default]
    SqrtRightRms,
    /// `θ = RMS(v − ν) over v > ν`.
    RightRms,
    Fixed(f64),
}

/// Honest parameters read off the observed distributions (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HonestParams {
    pub tau: f64,
    pub sigma_tau: f64,
    pub nu: f64,
    pub sigma_nu: f64,
    pub theta: f64,
    /// RMS of `v − ν` over `v > ν` (what θ is built from).
    pub right_rms: f64,
    pub bandwidth_turnout: f64,
    pub bandwidth_share: f64,
    /// Whether τ / ν were proper local maxima (false: the fallback was used).
    pub tau_is_local_max: bool,
    pub nu_is_local_max: bool,
}

/// Estimates τ, σ_τ, ν, σ_ν, θ from observed turnout and share (station-weighted).
pub fn estimate_honest(turnout: &[f64], share: &[f64], rule: ThetaRule) -> HonestParams {
    estimate_honest_with(turnout, share, rule, None)
}

/// As [`estimate_honest`], with given `(turnout, share)` bandwidths (`None`: by [`mode_bandwidth`]).
fn estimate_honest_with(turnout: &[f64], share: &[f64], rule: ThetaRule, bw: Option<(f64, f64)>) -> HonestParams {
    let tc: Vec<f64> = turnout.iter().map(|t| t.clamp(0.0, 1.0)).collect();
    let (ht, hs) = bw.unwrap_or_else(|| (mode_bandwidth(&tc), mode_bandwidth(share)));
    let (tau, tl) = first_mode_above(&kde(&tc, ht), 0.3, MIN_PROMINENCE);
    let (nu, nl) = first_mode_above(&kde(share, hs), 0.3, MIN_PROMINENCE);
    let rms = |it: &mut dyn Iterator<Item = f64>| {
        let (mut s, mut k) = (0.0, 0usize);
        for d in it {
            s += d * d;
            k += 1;
        }
        if k == 0 { 0.0 } else { (s / k as f64).sqrt() }
    };
    let sigma_tau = rms(&mut tc.iter().zip(share).filter(|(t, v)| **t < tau && **v < nu).map(|(t, _)| t - tau));
    let sigma_nu = rms(&mut share.iter().filter(|v| **v < nu).map(|v| v - nu));
    let right_rms = rms(&mut share.iter().filter(|v| **v > nu).map(|v| v - nu));
    let theta = match rule {
        ThetaRule::SqrtRightRms => right_rms.sqrt(),
        ThetaRule::RightRms => right_rms,
        ThetaRule::Fixed(t) => t,
    };
    HonestParams {
        tau,
        sigma_tau,
        nu,
        sigma_nu,
        theta,
        right_rms,
        bandwidth_turnout: ht,
        bandwidth_share: hs,
        tau_is_local_max: tl,
        nu_is_local_max: nl,
    }
}

/// Parameters of the Klimek model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelParams {
    pub tau: f64,
    pub sigma_tau: f64,
    pub nu: f64,
    pub sigma_nu: f64,
    pub theta: f64,
    pub f_i: f64,
    pub f_e: f64,
    pub alpha: f64,
}

impl ModelParams {
    pub fn honest(h: &HonestParams, alpha: f64) -> Self {
        ModelParams {
            tau: h.tau,
            sigma_tau: h.sigma_tau,
            nu: h.nu,
            sigma_nu: h.sigma_nu,
            theta: h.theta,
            f_i: 0.0,
            f_e: 0.0,
            alpha,
        }
    }
}

#[inline]
fn std_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// `Normal(mu, sd)` truncated to [0, 1], by rejection (at most 1000 tries, then clamped).
pub fn trunc_normal01<R: rand::Rng + ?Sized>(rng: &mut R, mu: f64, sd: f64) -> f64 {
    if sd > 0.0 {
        for _ in 0..1000 {
            let x = mu + sd * std_normal(rng);
            if (0.0..=1.0).contains(&x) {
                return x;
            }
        }
    }
    mu.clamp(0.0, 1.0)
}

/// `|Normal(0, sd)|` truncated to [0, 1].
pub fn trunc_half_normal01<R: rand::Rng + ?Sized>(rng: &mut R, sd: f64) -> f64 {
    if sd > 0.0 {
        for _ in 0..1000 {
            let x = (sd * std_normal(rng)).abs();
            if x <= 1.0 {
                return x;
            }
        }
    }
    0.0
}

/// Reported `(B, W)` of a station with electorate `n`, honest turnout `t`, honest share `v`,
/// fraud intensity `x` (DESIGN.md formulas, rounded to whole ballots).
#[inline]
pub fn reported(n: f64, t: f64, v: f64, x: f64, alpha: f64) -> (f64, f64) {
    let b = round_nonneg(n - n * (1.0 - x) * (1.0 - t));
    let xa = if x == 0.0 {
        0.0
    } else if alpha == 1.0 {
        x
    } else if alpha == 2.0 {
        x * x
    } else {
        x.powf(alpha)
    };
    let w = round_nonneg(n * (t * v + x * (1.0 - t) + xa * (1.0 - v) * t)).min(b);
    (b, w)
}

/// `x.round()` for `0 ≤ x < 2^52` (half away from zero) without a libm call: the
/// truncating conversion is a single instruction on every x86-64.
#[inline]
fn round_nonneg(x: f64) -> f64 {
    if x <= 0.0 { 0.0 } else { (x + 0.5) as i64 as f64 }
}

/// One station of the model: returns `(turnout, share, ballots)`, `None` when no ballot was
/// cast (`B = 0`).
pub fn simulate_station<R: rand::Rng + ?Sized>(rng: &mut R, n: u32, p: &ModelParams) -> Option<(f64, f64, f64)> {
    let t = trunc_normal01(rng, p.tau, p.sigma_tau);
    let v = trunc_normal01(rng, p.nu, p.sigma_nu);
    let u: f64 = rng.random();
    let x = if u < p.f_e {
        (1.0 - (EXTREME_SD * std_normal(rng)).abs()).max(0.0)
    } else if u < p.f_e + p.f_i {
        trunc_half_normal01(rng, p.theta)
    } else {
        0.0
    };
    let nf = n as f64;
    let (b, w) = reported(nf, t, v, x, p.alpha);
    if b <= 0.0 { None } else { Some((b / nf, w / b, b)) }
}

// ---------------------------------------------------------------------------------------
// Common-random-number simulations and the fit
// ---------------------------------------------------------------------------------------

/// SplitMix64 finaliser: decorrelates seeds derived from (seed, replicate, simulation).
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn sub_seed(seed: u64, a: u64, b: u64) -> u64 {
    splitmix(splitmix(splitmix(seed) ^ a.wrapping_mul(0xD1B5_4A32_D192_ED03)) ^ b.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7))
}

/// Standard normal CDF.
#[inline]
fn norm_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile.
#[inline]
fn norm_inv(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p.clamp(1e-300, 1.0 - 1e-16))
}

/// One simulation's parameter-free random numbers, stations sorted by their uniform `u`
/// (module docs, "common random numbers"). The honest turnout of station `j` under
/// `(τ, σ_τ)` is `τ + σ_τ zt[j]` when that lies in [0, 1], else the inverse-CDF draw of
/// the truncated normal at the uniform `wt[j]`; this mixture is exactly the truncated
/// normal (the in-range part has density ∝ φ, and the out-of-range mass is spread ∝ φ over
/// [0, 1]), and it moves continuously with the parameters for all stations but the few
/// that cross a boundary. Likewise the share (`zv`, `wv`) and the incremental intensity
/// `|θ zi|` truncated to [0, 1] (`wi`). The extreme intensity `xe` has no free parameter.
struct Base {
    u: Vec<f64>,
    n: Vec<f64>,
    zt: Vec<f64>,
    zv: Vec<f64>,
    zi: Vec<f64>,
    wt: Vec<f64>,
    wv: Vec<f64>,
    wi: Vec<f64>,
    xe: Vec<f64>,
}

fn draw_base(registered: &[u32], seed: u64) -> Base {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = registered.len();
    let mut raw: Vec<[f64; 8]> = Vec::with_capacity(m);
    for _ in 0..m {
        raw.push([
            rng.random::<f64>(),
            std_normal(&mut rng),
            std_normal(&mut rng),
            std_normal(&mut rng),
            rng.random::<f64>(),
            rng.random::<f64>(),
            rng.random::<f64>(),
            (1.0 - (EXTREME_SD * std_normal(&mut rng)).abs()).max(0.0),
        ]);
    }
    let mut order: Vec<u32> = (0..m as u32).collect();
    order.sort_unstable_by(|&a, &b| raw[a as usize][0].total_cmp(&raw[b as usize][0]).then(a.cmp(&b)));
    let col = |c: usize| order.iter().map(|&i| raw[i as usize][c]).collect::<Vec<f64>>();
    Base {
        u: col(0),
        n: order.iter().map(|&i| registered[i as usize] as f64).collect(),
        zt: col(1),
        zv: col(2),
        zi: col(3),
        wt: col(4),
        wv: col(5),
        wi: col(6),
        xe: col(7),
    }
}

/// `Normal(mu, sd)` truncated to [0, 1] from `(z, w)` (see [`Base`]).
struct Trunc {
    mu: f64,
    sd: f64,
    a: f64,
    b: f64,
}

impl Trunc {
    fn new(mu: f64, sd: f64) -> Self {
        let sd = sd.max(1e-9);
        Trunc { mu, sd, a: norm_cdf(-mu / sd), b: norm_cdf((1.0 - mu) / sd) }
    }
    #[inline]
    fn at(&self, z: f64, w: f64) -> f64 {
        let x = self.mu + self.sd * z;
        if (0.0..=1.0).contains(&x) {
            x
        } else {
            (self.mu + self.sd * norm_inv(self.a + w * (self.b - self.a))).clamp(0.0, 1.0)
        }
    }
}

const NONE: u32 = u32::MAX;

/// Bins and weights of one simulation's stations in one state.
struct StateBins {
    b: Vec<u32>,
    w: Vec<f64>,
}

/// One simulation realised at given honest parameters and α: every station's bin in each
/// of the three states (honest, incremental, extreme), in `u` order.
struct SimBins {
    honest: StateBins,
    inc: StateBins,
    ext: StateBins,
}

/// Stations with `u ≥ u_max` get only their honest state (the incremental and extreme
/// vectors stop there: no threshold of the caller reaches them).
fn realize(d: &Base, h: &HonestParams, alpha: f64, bins: usize, weighting: Weighting, u_max: f64) -> SimBins {
    let m = d.n.len();
    let m_fraud = d.u.partition_point(|&u| u < u_max);
    let tt = Trunc::new(h.tau, h.sigma_tau);
    let tv = Trunc::new(h.nu, h.sigma_nu);
    let theta = h.theta.max(1e-9);
    let pi = norm_cdf(1.0 / theta) - 0.5;
    let mk = || StateBins { b: Vec::with_capacity(m), w: Vec::with_capacity(m) };
    let (mut hs, mut is, mut es) = (mk(), mk(), mk());
    let push = |s: &mut StateBins, n: f64, t: f64, v: f64, x: f64| {
        let (bb, ww) = reported(n, t, v, x, alpha);
        if bb <= 0.0 {
            s.b.push(NONE);
            s.w.push(0.0);
        } else {
            s.b.push((bin_of(bb / n, bins) * bins + bin_of(ww / bb, bins)) as u32);
            s.w.push(match weighting {
                Weighting::Stations => 1.0,
                Weighting::Voters => bb,
            });
        }
    };
    for j in 0..m {
        let t = tt.at(d.zt[j], d.wt[j]);
        let v = tv.at(d.zv[j], d.wv[j]);
        let xi = {
            let x = (theta * d.zi[j]).abs();
            if x <= 1.0 { x } else { (theta * norm_inv(0.5 + d.wi[j] * pi)).clamp(0.0, 1.0) }
        };
        push(&mut hs, d.n[j], t, v, 0.0);
        if j < m_fraud {
            push(&mut is, d.n[j], t, v, xi);
            push(&mut es, d.n[j], t, v, d.xe[j]);
        }
    }
    SimBins { honest: hs, inc: is, ext: es }
}

/// Running `D = Σ (obs − h)²` with `h` the mean simulated histogram.
struct Running<'a> {
    obs: &'a [f64],
    /// Per-bin weights of the criterion.
    wt: &'a [f64],
    /// Simulation-variance correction: `D` includes `− c Σ w_b h_b` (module docs).
    c: f64,
    h: Vec<f64>,
    d: f64,
}

impl Running<'_> {
    #[inline]
    fn add(&mut self, b: u32, delta: f64) {
        if b == NONE || delta == 0.0 {
            return;
        }
        let b = b as usize;
        let r = self.obs[b] - self.h[b];
        self.d += self.wt[b] * delta * (delta - 2.0 * r - self.c);
        self.h[b] += delta;
    }
    #[inline]
    fn mv(&mut self, b0: u32, w0: f64, b1: u32, w1: f64) {
        if b0 == b1 {
            self.add(b0, w1 - w0);
        } else {
            self.add(b0, -w0);
            self.add(b1, w1);
        }
    }
}

/// Mean histogram of the honest states of `sims`.
fn honest_mean(sims: &[SimBins], nb: usize) -> Vec<f64> {
    let k = 1.0 / sims.len() as f64;
    let mut h = vec![0.0; nb];
    for s in sims {
        for (&b, &w) in s.honest.b.iter().zip(&s.honest.w) {
            if b != NONE {
                h[b as usize] += w * k;
            }
        }
    }
    h
}

/// `D(f_i)` for `f_i = 0, step, 2·step, …` up to `min(fi_hi, 1 − f_e)`, at fixed `f_e` (module docs).
fn sweep(obs: &[f64], wt: &[f64], wbar: f64, base: &[f64], sims: &[SimBins], us: &[&[f64]], fe: f64, step: f64, fi_hi: f64) -> Vec<f64> {
    let kinv = 1.0 / sims.len() as f64;
    let c = wbar * kinv;
    let mut r = Running { obs, wt, c, h: base.to_vec(), d: 0.0 };
    r.d = weighted_sq(obs, &r.h, wt) - c * r.h.iter().zip(wt).map(|(h, w)| h * w).sum::<f64>();
    let mut ptr = vec![0usize; sims.len()];
    for (k, s) in sims.iter().enumerate() {
        let u = us[k];
        while ptr[k] < u.len() && u[ptr[k]] < fe {
            let j = ptr[k];
            r.mv(s.honest.b[j], s.honest.w[j] * kinv, s.ext.b[j], s.ext.w[j] * kinv);
            ptr[k] += 1;
        }
    }
    let g_max = ((fi_hi.min(1.0 - fe)) / step + 1e-9).floor() as usize;
    let mut out = Vec::with_capacity(g_max + 1);
    for g in 0..=g_max {
        let thr = fe + g as f64 * step;
        for (k, s) in sims.iter().enumerate() {
            let u = us[k];
            while ptr[k] < u.len() && u[ptr[k]] < thr {
                let j = ptr[k];
                r.mv(s.honest.b[j], s.honest.w[j] * kinv, s.inc.b[j], s.inc.w[j] * kinv);
                ptr[k] += 1;
            }
        }
        out.push(r.d);
    }
    out
}

/// Mean simulated histogram at `(f_i, f_e)` (exact recomputation, for reporting).
fn mean_hist(sims: &[SimBins], us: &[&[f64]], nb: usize, fi: f64, fe: f64) -> Vec<f64> {
    let k = 1.0 / sims.len() as f64;
    let mut h = vec![0.0; nb];
    for (s, u) in sims.iter().zip(us) {
        for j in 0..u.len() {
            let st = if u[j] < fe {
                &s.ext
            } else if u[j] < fe + fi {
                &s.inc
            } else {
                &s.honest
            };
            if st.b[j] != NONE {
                h[st.b[j] as usize] += st.w[j] * k;
            }
        }
    }
    h
}

/// The fit's criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// `Σ_b (observed − simulated)²` (the paper's sum of squared bin differences).
    LeastSquares,
    /// `Σ_b (observed − simulated)² / var_b`, `var_b` from the smoothed observed histogram
    /// (module docs; the default).
    #[default]
    SmoothedChi2,
}

/// How α is treated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlphaMode {
    Fixed(f64),
    /// Fitted over this grid (refined at the midpoints next to the coarse optimum).
    Grid(Vec<f64>),
}

/// Options of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitOptions {
    /// Bins per axis (100: 1 pp, as Klimek et al.).
    pub bins: usize,
    /// The model is fitted on at most this many stations: a seeded random subsample when
    /// the election is larger (the fit's cost grows with the stations simulated, its
    /// precision is limited by model misfit long before 250,000 stations; Klimek et al.
    /// fitted ~95,000). The observed fingerprint in the output then is the subsample's.
    pub max_stations: usize,
    pub weighting: Weighting,
    /// Simulations averaged per evaluation in the final stage.
    pub sims: usize,
    /// Simulations used in the coarse stage and in the honest-parameter search (the first
    /// ones of the same draws).
    pub coarse_sims: usize,
    pub alpha: AlphaMode,
    pub theta: ThetaRule,
    /// Distance minimised between observed and mean simulated histograms.
    pub criterion: Criterion,
    /// Largest `f_e` searched.
    pub fe_max: f64,
    pub fe_coarse_step: f64,
    pub fe_fine_step: f64,
    /// Resolution of `f_i`.
    pub fi_step: f64,
    /// Half-width of the `f_i` window of the fine stage around the coarse optimum.
    pub fi_window: f64,
    /// Coordinate-descent passes over the honest parameters `(τ, ν, σ_τ, σ_ν)` with
    /// `f_i`, `f_e` profiled out (0: the paper's raw KDE estimates are used as they are).
    pub honest_passes: usize,
    /// First step of that search (halved on every later pass), in share/turnout units.
    pub honest_step: f64,
    /// Honest parameters `(τ, σ_τ, ν, σ_ν)` given instead of estimated (sensitivity
    /// checks; θ still follows the rule at this ν). `None`: estimated.
    pub honest_fixed: Option<(f64, f64, f64, f64)>,
    /// Bootstrap replicates (0: none).
    pub bootstrap: usize,
    /// Simulations per evaluation in the final stage of each bootstrap refit.
    pub bootstrap_sims: usize,
    /// Central interval level of the bootstrap (0.95).
    pub level: f64,
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            bins: 100,
            max_stations: 250_000,
            weighting: Weighting::Stations,
            sims: 8,
            coarse_sims: 3,
            alpha: AlphaMode::Fixed(2.0),
            theta: ThetaRule::SqrtRightRms,
            criterion: Criterion::SmoothedChi2,
            fe_max: 0.25,
            fe_coarse_step: 0.01,
            fe_fine_step: 0.002,
            fi_step: 0.001,
            fi_window: 0.1,
            honest_passes: 2,
            honest_step: 0.008,
            honest_fixed: None,
            bootstrap: 0,
            bootstrap_sims: 4,
            level: 0.95,
            seed: 20_120_924,
        }
    }
}

/// The fitted fraud parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FraudFit {
    pub f_i: f64,
    pub f_e: f64,
    pub alpha: f64,
    /// `Σ (observed − fitted)²` over the bins.
    pub distance: f64,
    /// `distance / Σ observed²`.
    pub distance_rel: f64,
    /// Distance of the honest model (`f_i = f_e = 0`).
    pub distance_honest: f64,
}

/// Bootstrap summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapSummary {
    pub replicates: usize,
    pub level: f64,
    pub f_i_ci: (f64, f64),
    pub f_e_ci: (f64, f64),
    pub alpha_ci: (f64, f64),
    pub f_i_sd: f64,
    pub f_e_sd: f64,
    /// `(f_i, f_e, α)` of every replicate, in replicate order.
    pub samples: Vec<(f64, f64, f64)>,
}

/// Everything the fingerprint produces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FingerprintResult {
    pub n: usize,
    pub basis: TurnoutBasis,
    pub leader: Option<String>,
    pub excluded: Exclusions,
    /// Honest parameters of the model at the fit (fitted jointly with `f_i`, `f_e`).
    pub honest_params: HonestParams,
    /// The raw estimates from the observed data (the paper's τ, σ_τ, ν, σ_ν, θ), the
    /// starting point of the joint fit.
    pub honest_params_raw: HonestParams,
    pub fit: FraudFit,
    pub bootstrap: Option<BootstrapSummary>,
    /// Observed fingerprint at the fit's resolution and weights.
    pub observed: Histogram2d,
    /// Mean simulated fingerprint at the fitted parameters.
    pub fitted: Histogram2d,
    /// Mean simulated fingerprint at `f_i = f_e = 0` (honest counterfactual).
    pub honest: Histogram2d,
    pub options: FitOptions,
    pub notes: Vec<String>,
}

struct CoreFit {
    raw: HonestParams,
    h: HonestParams,
    fit: FraudFit,
    fitted: Vec<f64>,
    honest: Vec<f64>,
}

fn validate(o: &FitOptions) -> Result<()> {
    if o.bins == 0 || o.bins > 4096 {
        return Err(Error::usage("fingerprint: bins must be in 1..=4096"));
    }
    if o.sims == 0 || o.coarse_sims == 0 || o.bootstrap_sims == 0 {
        return Err(Error::usage("fingerprint: the number of simulations must be positive"));
    }
    if !(o.fi_step > 0.0 && o.fe_coarse_step > 0.0 && o.fe_fine_step > 0.0 && o.fi_window > 0.0 && o.honest_step > 0.0) {
        return Err(Error::usage("fingerprint: grid steps must be positive"));
    }
    if !(0.0..1.0).contains(&o.fe_max) {
        return Err(Error::usage("fingerprint: fe_max must be in [0, 1)"));
    }
    if !(o.level > 0.0 && o.level < 1.0) {
        return Err(Error::usage("fingerprint: the interval level must be in (0, 1)"));
    }
    match &o.alpha {
        AlphaMode::Fixed(a) if *a > 0.0 => {}
        AlphaMode::Grid(g) if !g.is_empty() && g.iter().all(|a| *a > 0.0) => {}
        _ => return Err(Error::usage("fingerprint: α must be positive (and the grid non-empty)")),
    }
    Ok(())
}

/// `Σ w (a − b)²`.
fn weighted_sq(a: &[f64], b: &[f64], w: &[f64]) -> f64 {
    a.iter().zip(b).zip(w).map(|((x, y), w)| w * (x - y) * (x - y)).sum()
}

/// Per-bin weights of the fit criterion (module docs): 1 for [`Criterion::LeastSquares`];
/// for [`Criterion::SmoothedChi2`], `1 / (w̄ (s_b + w̄))` with `s_b` the observed histogram
/// blurred by a Gaussian of 1.5 bins (separable, truncated at 4 sd) and `w̄ = Σw²/Σw` the
/// station weights' size (1 for station weights), i.e. the inverse of an estimate of the
/// bin's sampling variance that does not follow the bin's own noise.
fn criterion_weights(st: &Stations, o: &FitOptions, obs: &[f64]) -> (Vec<f64>, f64) {
    let nb = obs.len();
    let bins = o.bins;
    let wbar = match st.weights(o.weighting) {
        None => 1.0,
        Some(w) => {
            let (s1, s2) = w.iter().fold((0.0, 0.0), |(a, b), x| (a + x, b + x * x));
            if s1 > 0.0 { s2 / s1 } else { 1.0 }
        }
    };
    if o.criterion == Criterion::LeastSquares {
        return (vec![1.0; nb], wbar);
    }
    let sd = 1.5;
    let r = (4.0 * sd) as isize;
    let k: Vec<f64> = (-r..=r).map(|i| (-0.5 * (i as f64 / sd).powi(2)).exp()).collect();
    let ks: f64 = k.iter().sum();
    let blur = |src: &[f64], stride: usize, len: usize, other: usize, ostride: usize| -> Vec<f64> {
        let mut out = vec![0.0; nb];
        for a in 0..other {
            for i in 0..len {
                let mut acc = 0.0;
                for (j, kk) in k.iter().enumerate() {
                    let p = i as isize + j as isize - r;
                    if p >= 0 && (p as usize) < len {
                        acc += kk * src[a * ostride + p as usize * stride];
                    }
                }
                out[a * ostride + i * stride] = acc / ks;
            }
        }
        out
    };
    // along share (contiguous), then along turnout
    let s1 = blur(obs, 1, bins, bins, bins);
    let s2 = blur(&s1, bins, bins, bins, 1);
    (s2.iter().map(|s| 1.0 / (wbar * (s.max(0.0) + wbar))).collect(), wbar)
}

/// θ by `rule` from the observed shares, given ν: `(θ, RMS(v − ν) over v > ν)`.
fn theta_for(share: &[f64], nu: f64, rule: ThetaRule) -> (f64, f64) {
    let (mut s, mut k) = (0.0, 0usize);
    for &v in share {
        if v > nu {
            s += (v - nu) * (v - nu);
            k += 1;
        }
    }
    let right = if k == 0 { 0.0 } else { (s / k as f64).sqrt() };
    let theta = match rule {
        ThetaRule::SqrtRightRms => right.sqrt(),
        ThetaRule::RightRms => right,
        ThetaRule::Fixed(t) => t,
    };
    (theta, right)
}

fn fe_grid(lo: f64, hi: f64, step: f64, fe_max: f64) -> Vec<f64> {
    let lo = lo.max(0.0);
    let hi = hi.min(fe_max);
    if hi < lo {
        return vec![lo.min(fe_max)];
    }
    let n = ((hi - lo) / step + 1e-9).floor() as usize;
    (0..=n).map(|k| lo + k as f64 * step).collect()
}

/// Best `(f_e, f_i, D)` over `fes` × `f_i ∈ [fi_lo, fi_hi]` (step `step`) for one set of
/// realised simulations. Ties go to the first (smallest `f_e`, then `f_i`).
fn profile(obs: &[f64], wt: &[f64], wbar: f64, sims: &[SimBins], us: &[&[f64]], fes: &[f64], step: f64, fi_lo: f64, fi_hi: f64) -> (f64, f64, f64) {
    let base = honest_mean(sims, obs.len());
    let res: Vec<(f64, f64, f64)> = fes
        .par_iter()
        .map(|&fe| {
            let ds = sweep(obs, wt, wbar, &base, sims, us, fe, step, fi_hi);
            let g0 = ((fi_lo.max(0.0) / step) + 1e-9).floor() as usize;
            let (g, d) = ds
                .iter()
                .enumerate()
                .skip(g0.min(ds.len().saturating_sub(1)))
                .fold((0usize, f64::INFINITY), |acc, (g, &d)| if d < acc.1 { (g, d) } else { acc });
            (fe, g as f64 * step, d)
        })
        .collect();
    res.into_iter().fold((0.0, 0.0, f64::INFINITY), |acc, r| if r.2 < acc.2 { r } else { acc })
}

/// Realises `bases` at `h`, `alpha` (in parallel, in order).
fn realize_all(bases: &[Base], h: &HonestParams, alpha: f64, o: &FitOptions, u_max: f64) -> Vec<SimBins> {
    let u_max = u_max + 1e-9;
    bases.par_iter().map(|d| realize(d, h, alpha, o.bins, o.weighting, u_max)).collect()
}

/// The joint fit (module docs): coarse grid at the raw honest parameters, coordinate
/// descent over `(τ, ν, σ_τ, σ_ν)` with `(f_e, f_i)` profiled, final fine stage with
/// `sims_n` simulations. `seed_of(k)` is the seed of simulation k.
fn fit_core(st: &Stations, o: &FitOptions, sims_n: usize, seed_of: &(dyn Fn(u64) -> u64 + Sync)) -> CoreFit {
    let bins = o.bins;
    let nb = bins * bins;
    let obs = station_histogram(st, o.weighting, bins).counts;
    let (wt, wbar) = criterion_weights(st, o, &obs);
    let mut raw = estimate_honest(&st.turnout, &st.share, o.theta);
    if let Some((tau, sigma_tau, nu, sigma_nu)) = o.honest_fixed {
        let (theta, right_rms) = theta_for(&st.share, nu, o.theta);
        raw = HonestParams { tau, sigma_tau, nu, sigma_nu, theta, right_rms, ..raw };
    }
    let coarse_n = o.coarse_sims.min(sims_n);
    let bases: Vec<Base> = (0..sims_n as u64).into_par_iter().map(|k| draw_base(&st.registered, seed_of(k))).collect();
    let us: Vec<&[f64]> = bases.iter().map(|d| d.u.as_slice()).collect();
    let alphas: Vec<f64> = match &o.alpha {
        AlphaMode::Fixed(a) => vec![*a],
        AlphaMode::Grid(g) => g.clone(),
    };
    // coarse stage: every α of the grid, every f_e of the coarse grid, all of f_i
    let coarse_fes = fe_grid(0.0, o.fe_max, o.fe_coarse_step, o.fe_max);
    let mut coarse = Vec::with_capacity(alphas.len());
    for &alpha in &alphas {
        let sims = realize_all(&bases[..coarse_n], &raw, alpha, o, 1.0);
        coarse.push(profile(&obs, &wt, wbar, &sims, &us[..coarse_n], &coarse_fes, o.fi_step, 0.0, 1.0));
    }
    // honest-parameter search: coordinate descent on the profile distance, at α
    let descend = |alpha0: f64, fe0: f64, fi0: f64, d_start: f64| -> (HonestParams, f64, f64, f64) {
        let mut h = raw;
        if o.honest_passes == 0 {
            return (h, fe0, fi0, d_start);
        }
        let share = &st.share;
        let with_nu = |mut h: HonestParams| {
            let (theta, right) = theta_for(share, h.nu, o.theta);
            h.theta = theta;
            h.right_rms = right;
            h
        };
        h = with_nu(h);
        let eval = |h: &HonestParams, fe0: f64, fi0: f64| -> (f64, f64, f64) {
            let fes = fe_grid(fe0 - 2.0 * o.fe_fine_step, fe0 + 2.0 * o.fe_fine_step, o.fe_fine_step, o.fe_max);
            let sims = realize_all(&bases[..coarse_n], h, alpha0, o, fes[fes.len() - 1] + fi0 + 0.5 * o.fi_window);
            profile(&obs, &wt, wbar, &sims, &us[..coarse_n], &fes, o.fi_step, fi0 - 0.5 * o.fi_window, fi0 + 0.5 * o.fi_window)
        };
        // bounds: modes within 0.1 of the raw ones, spreads within a factor 3
        let clamp = |k: usize, x: f64| -> f64 {
            match k {
                0 => x.clamp((raw.tau - 0.1).max(0.02), (raw.tau + 0.1).min(0.98)),
                1 => x.clamp((raw.nu - 0.1).max(0.02), (raw.nu + 0.1).min(0.98)),
                2 => x.clamp((raw.sigma_tau / 3.0).max(0.005), (raw.sigma_tau * 3.0).max(0.02)),
                _ => x.clamp((raw.sigma_nu / 3.0).max(0.005), (raw.sigma_nu * 3.0).max(0.02)),
            }
        };
        let get = |h: &HonestParams, k: usize| [h.tau, h.nu, h.sigma_tau, h.sigma_nu][k];
        let set = |h: &HonestParams, k: usize, x: f64| {
            let mut g = *h;
            match k {
                0 => g.tau = x,
                1 => g.nu = x,
                2 => g.sigma_tau = x,
                _ => g.sigma_nu = x,
            }
            with_nu(g)
        };
        let (mut fe_c, mut fi_c, mut d0) = eval(&h, fe0, fi0);
        let mut step = o.honest_step;
        for _pass in 0..o.honest_passes {
            let h_pass = h;
            for k in 0..4 {
                let x0 = get(&h, k);
                let xm = clamp(k, x0 - step);
                let xp = clamp(k, x0 + step);
                let hm = set(&h, k, xm);
                let hp = set(&h, k, xp);
                let (rm, rp) = rayon::join(|| eval(&hm, fe_c, fi_c), || eval(&hp, fe_c, fi_c));
                let mut cands = vec![(x0, (fe_c, fi_c, d0)), (xm, rm), (xp, rp)];
                // parabola through the three points (equal spacing unless clamped)
                let denom = rm.2 - 2.0 * d0 + rp.2;
                if denom > 0.0 && xp - x0 > 0.0 && x0 - xm > 0.0 {
                    let shift = (0.5 * step * (rm.2 - rp.2) / denom).clamp(-2.0 * step, 2.0 * step);
                    let xv = clamp(k, x0 + shift);
                    if (xv - x0).abs() > 1e-4 && (xv - xm).abs() > 1e-4 && (xv - xp).abs() > 1e-4 {
                        cands.push((xv, eval(&set(&h, k, xv), fe_c, fi_c)));
                    }
                }
                let (xb, rb) = cands.into_iter().fold((x0, (fe_c, fi_c, f64::INFINITY)), |acc, c| if c.1.2 < acc.1.2 { c } else { acc });
                h = set(&h, k, xb);
                (fe_c, fi_c, d0) = rb;
            }
            // pattern move (Hooke & Jeeves): the modes and the fraud share lie on a ridge
            // (fraud with small x looks like a shifted honest peak) that coordinate steps
            // climb slowly; try the pass's displacement once and twice more, in parallel
            let disp: Vec<f64> = (0..4).map(|k| get(&h, k) - get(&h_pass, k)).collect();
            let moved = disp.iter().any(|d| d.abs() > 1e-9);
            if moved {
                let along = |m: f64| {
                    let mut g = h;
                    for (k, d) in disp.iter().enumerate() {
                        g = set(&g, k, clamp(k, get(&g, k) + m * d));
                    }
                    g
                };
                let (h1, h2) = (along(1.0), along(2.0));
                let (r1, r2) = rayon::join(|| eval(&h1, fe_c, fi_c), || eval(&h2, fe_c, fi_c));
                if r2.2 < d0 && r2.2 <= r1.2 {
                    h = h2;
                    (fe_c, fi_c, d0) = r2;
                } else if r1.2 < d0 {
                    h = h1;
                    (fe_c, fi_c, d0) = r1;
                }
            }
            // shrink the step once the search stops travelling
            if disp.iter().all(|d| d.abs() < 0.75 * step) {
                step *= 0.5;
            }
        }
        (h, fe_c, fi_c, d0)
    };
    // α fitted: the search runs at every grid value (the coarse choice, made at the raw
    // honest parameters, can be wrong) and the best is kept
    let mut best: Option<(usize, HonestParams, f64, f64, f64)> = None;
    for (a, &alpha) in alphas.iter().enumerate() {
        let (h, fe, fi, d) = descend(alpha, coarse[a].0, coarse[a].1, coarse[a].2);
        if best.as_ref().is_none_or(|b| d < b.4) {
            best = Some((a, h, fe, fi, d));
        }
    }
    let (ca, h, fe0, fi0, _) = best.expect("at least one α");
    let alpha0 = alphas[ca];
    // final stage: all simulations, fine f_e grid around the optimum, α and its grid
    // neighbours' midpoints
    let mut fine_alphas = vec![alpha0];
    if alphas.len() > 1 {
        if ca > 0 {
            fine_alphas.push(0.5 * (alphas[ca - 1] + alphas[ca]));
        }
        if ca + 1 < alphas.len() {
            fine_alphas.push(0.5 * (alphas[ca] + alphas[ca + 1]));
        }
    }
    let fes = fe_grid(fe0 - o.fe_coarse_step, fe0 + o.fe_coarse_step, o.fe_fine_step, o.fe_max);
    let mut fbest: Option<(f64, f64, f64, f64, Vec<SimBins>)> = None;
    for &alpha in &fine_alphas {
        let sims = realize_all(&bases, &h, alpha, o, fes[fes.len() - 1] + fi0 + o.fi_window);
        let (fe, fi, d) = profile(&obs, &wt, wbar, &sims, &us, &fes, o.fi_step, fi0 - o.fi_window, fi0 + o.fi_window);
        if fbest.as_ref().is_none_or(|b| d < b.3) {
            fbest = Some((alpha, fe, fi, d, sims));
        }
    }
    let (alpha, fe, fi, _, sims) = fbest.expect("at least one α");
    let fitted = mean_hist(&sims, &us, nb, fi, fe);
    let honest = honest_mean(&sims, nb);
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let distance = sq(&obs, &fitted);
    let norm: f64 = obs.iter().map(|x| x * x).sum();
    let fit = FraudFit {
        f_i: fi,
        f_e: fe,
        alpha,
        distance,
        distance_rel: if norm > 0.0 { distance / norm } else { 0.0 },
        distance_honest: sq(&obs, &honest),
    };
    CoreFit { raw, h, fit, fitted, honest }
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = p * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Fits the Klimek model to selected stations (module docs), with the bootstrap when
/// `opts.bootstrap > 0`.
pub fn fit(st: &Stations, opts: &FitOptions) -> Result<FingerprintResult> {
    validate(opts)?;
    if st.len() < 50 {
        return Err(Error::usage(format!("fingerprint: {} stations pass the inclusion rules; the fit needs at least 50", st.len())));
    }
    let seed = opts.seed;
    let core = fit_core(st, opts, opts.sims, &|k| sub_seed(seed, 0, k));
    let raw = core.raw;
    let bootstrap = if opts.bootstrap > 0 {
        let m = st.len();
        let samples: Vec<(f64, f64, f64)> = (1..=opts.bootstrap as u64)
            .into_par_iter()
            .map(|b| {
                let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, b, u64::MAX));
                let idx: Vec<usize> = (0..m).map(|_| rng.random_range(0..m)).collect();
                let sub = st.subset(&idx);
                // the whole estimator again: raw KDE estimates of the resample, coarse
                // grid, honest-parameter search, final stage (fewer simulations)
                let c = fit_core(&sub, opts, opts.bootstrap_sims.max(opts.coarse_sims.min(opts.sims)), &|k| sub_seed(seed, b, k));
                (c.fit.f_i, c.fit.f_e, c.fit.alpha)
            })
            .collect();
        let lo = (1.0 - opts.level) / 2.0;
        let ci = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
            let mut v: Vec<f64> = samples.iter().map(f).collect();
            v.sort_unstable_by(f64::total_cmp);
            (quantile(&v, lo), quantile(&v, 1.0 - lo))
        };
        let sd = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
            let v: Vec<f64> = samples.iter().map(f).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            if v.len() < 2 { 0.0 } else { (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt() }
        };
        Some(BootstrapSummary {
            replicates: opts.bootstrap,
            level: opts.level,
            f_i_ci: ci(&|s| s.0),
            f_e_ci: ci(&|s| s.1),
            alpha_ci: ci(&|s| s.2),
            f_i_sd: sd(&|s| s.0),
            f_e_sd: sd(&|s| s.1),
            samples,
        })
    } else {
        None
    };
    let observed = station_histogram(st, opts.weighting, opts.bins);
    let mk = |counts: Vec<f64>| {
        let total = counts.iter().sum();
        Histogram2d { bins_t: opts.bins, bins_s: opts.bins, weighting: opts.weighting, counts, total }
    };
    let h = core.h;
    let mut notes = vec![
        match st.basis {
            TurnoutBasis::Issued => "turnout T = B/N (ballots issued / registered)".to_string(),
            TurnoutBasis::InBoxes => "turnout T = C/N (ballots in the boxes / registered): the file has no issued ballots".to_string(),
            TurnoutBasis::Given => "turnout T = B/N from the given counts".to_string(),
        },
        "winner share = v_leader / V (valid votes), as Klimek et al.; the model's share is W/B".to_string(),
        format!(
            "inclusion: C > 0, N >= 100, V > 0; left out: {} abroad, {} electronic, {} with C = 0, {} with N < 100, {} with V = 0; {} kept with turnout > 1 (clamped into the last bin)",
            st.excluded.abroad, st.excluded.electronic, st.excluded.no_ballots, st.excluded.small, st.excluded.no_valid, st.excluded.turnout_above_one
        ),
        format!(
            "raw tau, nu: first local maxima above 0.3 (prominence >= {MIN_PROMINENCE} of the peak) of Gaussian KDEs, bandwidths 0.9 min(sd, IQR/1.34) n^(-1/7) = {:.4} (turnout), {:.4} (share)",
            raw.bandwidth_turnout, raw.bandwidth_share
        ),
        format!(
            "theta = {:.4} by rule {:?} (RMS of v - nu over v > nu = {:.4}, at the fitted nu)",
            h.theta, opts.theta, h.right_rms
        ),
        format!(
            "fit: least squares over {}x{} bins ({:?} weights), mean of {} common-random-number simulations ({} in the coarse stage and the honest-parameter search), coarse f_e step {} then {}, f_i step {}; alpha {}",
            opts.bins,
            opts.bins,
            opts.weighting,
            opts.sims,
            opts.coarse_sims.min(opts.sims),
            opts.fe_coarse_step,
            opts.fe_fine_step,
            opts.fi_step,
            match &opts.alpha {
                AlphaMode::Fixed(a) => format!("fixed at {a}"),
                AlphaMode::Grid(g) => format!("fitted over {g:?} (+ midpoints next to the coarse optimum)"),
            }
        ),
        format!("seed {}", opts.seed),
    ];
    if opts.honest_passes > 0 {
        notes.push(format!(
            "honest parameters fitted jointly with f_i, f_e (departs from Klimek et al., who fix them at the KDE modes and left-side RMS): {} coordinate-descent passes from raw tau {:.4} nu {:.4} sigma_tau {:.4} sigma_nu {:.4} to tau {:.4} nu {:.4} sigma_tau {:.4} sigma_nu {:.4}",
            opts.honest_passes, raw.tau, raw.nu, raw.sigma_tau, raw.sigma_nu, h.tau, h.nu, h.sigma_tau, h.sigma_nu
        ));
    } else {
        notes.push("honest parameters fixed at the raw KDE modes and left-side RMS (the paper's estimator)".into());
    }
    if !raw.tau_is_local_max {
        notes.push("tau: no prominent local maximum above 0.3; the highest point above 0.3 was used".into());
    }
    if !raw.nu_is_local_max {
        notes.push("nu: no prominent local maximum above 0.3; the highest point above 0.3 was used".into());
    }
    if let Some(b) = &bootstrap {
        notes.push(format!(
            "uncertainty: {} bootstrap replicates over stations, each redoing the whole estimator (raw KDE estimates, coarse grid, honest-parameter search, final stage with {} simulations), percentile {:.0}% intervals",
            b.replicates,
            opts.bootstrap_sims.max(opts.coarse_sims.min(opts.sims)),
            100.0 * b.level
        ));
    }
    Ok(FingerprintResult {
        n: st.len(),
        basis: st.basis,
        leader: st.leader.clone(),
        excluded: st.excluded.clone(),
        honest_params: h,
        honest_params_raw: raw,
        fit: core.fit,
        bootstrap,
        observed,
        fitted: mk(core.fitted),
        honest: mk(core.honest),
        options: opts.clone(),
        notes,
    })
}

/// [`select`] then [`fit`].
pub fn analyze(e: &Election, sel: &Selection, opts: &FitOptions) -> Result<FingerprintResult> {
    fit_capped(select(e, sel)?, opts)
}

/// [`fit`] on at most `opts.max_stations` of `st` (a seeded random subsample when there
/// are more, noted): what [`analyze`] fits after the selection.
pub fn fit_capped(st: Stations, opts: &FitOptions) -> Result<FingerprintResult> {
    if st.len() <= opts.max_stations {
        return fit(&st, opts);
    }
    // A seeded subsample (partial Fisher–Yates), kept in station order.
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(opts.seed, 0x5AB5, 0));
    let mut idx: Vec<usize> = (0..st.len()).collect();
    for k in 0..opts.max_stations {
        let j = rng.random_range(k..idx.len());
        idx.swap(k, j);
    }
    idx.truncate(opts.max_stations);
    idx.sort_unstable();
    let mut r = fit(&st.subset(&idx), opts)?;
    r.notes.push(format!(
        "fitted on a seeded random subsample of {} of the {} selected stations (FitOptions::max_stations)",
        opts.max_stations,
        st.len()
    ));
    Ok(r)
}

impl FingerprintResult {
    /// The fit as common [`TestResult`]s: `fingerprint.f_incremental`,
    /// `fingerprint.f_extreme` and `fingerprint.alpha` (statistic = fitted value; `extra`:
    /// bootstrap bounds `ci_low`/`ci_high`/`boot_sd`, the honest parameters `tau`, `nu`,
    /// `sigma_tau`, `sigma_nu`, `theta`, and `alpha`, `distance`, `distance_rel`,
    /// `distance_honest`). Estimates, not tests: no null, no p-value.
    pub fn test_results(&self, scope: &str) -> Vec<TestResult> {
        let h = &self.honest_params;
        let f = &self.fit;
        let mk = |name: &str, value: f64, ci: Option<(f64, f64)>, sd: Option<f64>| {
            let mut r = TestResult::new(name, scope, value, self.n);
            r.effect = Some(value);
            for (k, v) in [
                ("tau", h.tau),
                ("sigma_tau", h.sigma_tau),
                ("nu", h.nu),
                ("sigma_nu", h.sigma_nu),
                ("theta", h.theta),
                ("alpha", f.alpha),
                ("f_incremental", f.f_i),
                ("f_extreme", f.f_e),
                ("distance", f.distance),
                ("distance_rel", f.distance_rel),
                ("distance_honest", f.distance_honest),
            ] {
                r.extra.insert(k.to_string(), v);
            }
            if let Some((lo, hi)) = ci {
                r.extra.insert("ci_low".into(), lo);
                r.extra.insert("ci_high".into(), hi);
            }
            if let Some(sd) = sd {
                r.extra.insert("boot_sd".into(), sd);
            }
            if let Some(b) = &self.bootstrap {
                r.extra.insert("bootstrap_replicates".into(), b.replicates as f64);
                r.extra.insert("ci_level".into(), b.level);
            }
            r.notes = self.notes.clone();
            r.notes.push(match &self.bootstrap {
                Some(_) => "Klimek et al. (2012) model fit: an estimate with a bootstrap interval, not a test (no p-value)".into(),
                None => "Klimek et al. (2012) model fit: an estimate, not a test (no p-value), and no bootstrap interval (FitOptions::bootstrap = 0)".into(),
            });
            r
        };
        let b = self.bootstrap.as_ref();
        let mut out = vec![
            mk("fingerprint.f_incremental", f.f_i, b.map(|b| b.f_i_ci), b.map(|b| b.f_i_sd)),
            mk("fingerprint.f_extreme", f.f_e, b.map(|b| b.f_e_ci), b.map(|b| b.f_e_sd)),
        ];
        if matches!(self.options.alpha, AlphaMode::Grid(_)) {
            out.push(mk("fingerprint.alpha", f.alpha, b.map(|b| b.alpha_ci), None));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_hand_checked() {
        // 4×4 bins of width 0.25; (T, S) pairs and their bins worked out by hand:
        // (0.10, 0.10) → (0, 0); (0.25, 0.50) → (1, 2) (lower edges belong to the bin);
        // (0.99, 0.74) → (3, 2); (1.00, 1.00) → (3, 3) (1 goes into the last bin);
        // (1.20, 0.30) → (3, 1) (turnout above 1 clamped); (0.0, 0.0) → (0, 0).
        let t = [0.10, 0.25, 0.99, 1.00, 1.20, 0.0];
        let s = [0.10, 0.50, 0.74, 1.00, 0.30, 0.0];
        let h = histogram(&t, &s, None, 4, 4);
        assert_eq!(h.total, 6.0);
        assert_eq!(h.get(0, 0), 2.0);
        assert_eq!(h.get(1, 2), 1.0);
        assert_eq!(h.get(3, 2), 1.0);
        assert_eq!(h.get(3, 3), 1.0);
        assert_eq!(h.get(3, 1), 1.0);
        assert_eq!(h.counts.iter().filter(|&&c| c > 0.0).count(), 5);
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let hw = histogram(&t, &s, Some(&w), 4, 4);
        assert_eq!(hw.get(0, 0), 7.0);
        assert_eq!(hw.total, 21.0);
        assert_eq!(hw.turnout_marginal(), vec![7.0, 2.0, 0.0, 12.0]);
        assert_eq!(hw.share_marginal(), vec![7.0, 5.0, 5.0, 4.0]);
    }

    #[test]
    fn reported_formulas() {
        // N = 1000, t = 0.5, v = 0.4, x = 0: B = 500, W = 200.
        assert_eq!(reported(1000.0, 0.5, 0.4, 0.0, 2.0), (500.0, 200.0));
        // x = 0.5, α = 2: B = 1000 − 1000·0.5·0.5 = 750;
        // W = 1000·(0.2 + 0.5·0.5 + 0.25·0.6·0.5) = 1000·(0.2 + 0.25 + 0.075) = 525.
        assert_eq!(reported(1000.0, 0.5, 0.4, 0.5, 2.0), (750.0, 525.0));
        // x = 1: everything goes to the winner.
        assert_eq!(reported(1000.0, 0.5, 0.4, 1.0, 3.0), (1000.0, 1000.0));
    }

    #[test]
    fn sweep_matches_recomputation() {
        // D along the f_i line from O(1) updates equals the recomputed histogram distance.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n: Vec<u32> = (0..3000).map(|_| rng.random_range(100..2000)).collect();
        let h = HonestParams {
            tau: 0.5,
            sigma_tau: 0.1,
            nu: 0.5,
            sigma_nu: 0.1,
            theta: 0.3,
            right_rms: 0.09,
            bandwidth_turnout: 0.01,
            bandwidth_share: 0.01,
            tau_is_local_max: true,
            nu_is_local_max: true,
        };
        let bins = 20;
        let bases: Vec<Base> = (0..3).map(|k| draw_base(&n, k)).collect();
        let sr: Vec<SimBins> = bases.iter().map(|d| realize(d, &h, 2.0, bins, Weighting::Voters, 2.0)).collect();
        let us: Vec<&[f64]> = bases.iter().map(|d| d.u.as_slice()).collect();
        let obs: Vec<f64> = (0..bins * bins).map(|i| (i % 7) as f64 * 300.0).collect();
        let base = honest_mean(&sr, bins * bins);
        let fe = 0.03;
        let wt: Vec<f64> = (0..bins * bins).map(|i| 1.0 / (1.0 + (i % 5) as f64)).collect();
        let ds = sweep(&obs, &wt, 2.5, &base, &sr, &us, fe, 0.01, 1.0);
        for g in [0usize, 10, 37, 97] {
            let m = mean_hist(&sr, &us, bins * bins, g as f64 * 0.01, fe);
            let d: f64 = obs.iter().zip(&m).zip(&wt).map(|((a, b), w)| w * ((a - b) * (a - b) - 2.5 / 3.0 * b)).sum();
            assert!((ds[g] - d).abs() <= 1e-9 * d.max(1.0), "g={g}: {} vs {d}", ds[g]);
        }
    }

    #[test]
    fn prominence_ignores_ripples() {
        // density rising to a peak at 0.6 with a tiny ripple at 0.4: the ripple is skipped.
        let grid: Vec<f64> = (0..KDE_GRID).map(|k| k as f64 / 1000.0).collect();
        let density: Vec<f64> = grid
            .iter()
            .map(|&x| (-(x - 0.6f64).powi(2) / 0.01).exp() + 0.01 * (-(x - 0.4f64).powi(2) / 0.00005).exp())
            .collect();
        let k = Kde { bandwidth: 0.01, grid, density };
        let (m, ok) = first_mode_above(&k, 0.3, MIN_PROMINENCE);
        assert!(ok);
        assert!((m - 0.6).abs() < 0.002, "{m}");
        // without the prominence rule the ripple would be the first maximum
        let (m0, _) = first_mode_above(&k, 0.3, 0.0);
        assert!((m0 - 0.4).abs() < 0.01, "{m0}");
    }
}
