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
//! * **The fit** ([`fit`]): `f_i`, `f_e` (and `α`, on a grid, unless fixed) minimise
//!   `D = Σ_bins (observed − mean simulated)²` over the 2-D histogram, the simulated one
//!   averaged over `sims` simulations with **common random numbers**: every simulation
//!   draws, once, each station's honest `t, v`, an incremental intensity, an extreme
//!   intensity and a uniform `u`; a station is extreme when `u < f_e`, incremental when
//!   `f_e ≤ u < f_e + f_i`, honest otherwise. With the stations of every simulation sorted by
//!   `u`, raising `f_i` only flips stations from honest to incremental in a fixed order, so
//!   `D` along a whole line of `f_i` (step 0.001, all of [0, 1 − f_e]) costs one pass over
//!   the stations with O(1) updates of `D` per flip. The search is a coarse grid over
//!   (`α`, `f_e`) with few simulations, then a fine grid (step `fe_fine_step`) around the
//!   coarse optimum with all simulations (and, when `α` is fitted, the midpoints to its grid
//!   neighbours), where `f_i` is searched within `fi_window` of the coarse optimum;
//!   `f_i` is resolved to `fi_step` (0.001) on every line.
//!
//! * **Honest-parameter correction** (`honest_rounds`, default 3): on elections drawn from
//!   the model itself the raw modes are pulled towards the fraud (incremental stations with
//!   small `x` sit just right of the honest peak) and `f_i` comes out biased low (measured:
//!   0.05–0.07 for a true 0.10). Each round simulates the fitted model, computes the same
//!   statistics (KDE modes with the observed data's bandwidths, left-side RMS) on its
//!   output, shifts τ, ν and rescales σ_τ, σ_ν by the observed − simulated discrepancy
//!   (indirect inference), and refits around the previous optimum. `honest_rounds = 0`
//!   gives the paper's raw estimator; both sets are reported.
//!
//! * **Uncertainty**: a nonparametric bootstrap over stations: resample stations with
//!   replacement, re-estimate the raw honest parameters, apply the main fit's correction
//!   (held fixed, to keep the bootstrap affordable), refit with the fine stage around the
//!   main optimum; percentile intervals.
//!   Replicates run in parallel (rayon); each draws from its own ChaCha8 stream seeded from
//!   (seed, replicate, simulation), and every reduction is done in a fixed order, so results
//!   are identical for any number of threads.
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

/// As [`estimate_honest`], with given `(turnout, share)` bandwidths (the correction rounds
/// smooth the simulated data exactly as the observed data).
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
    let b = (n - n * (1.0 - x) * (1.0 - t)).round();
    let xa = if x == 0.0 { 0.0 } else if alpha == 1.0 { x } else { x.powf(alpha) };
    let w = (n * (t * v + x * (1.0 - t) + xa * (1.0 - v) * t)).round().min(b);
    (b, w)
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

/// One simulation's draws, stations sorted by their uniform `u`.
struct Draws {
    u: Vec<f64>,
    n: Vec<f64>,
    t: Vec<f64>,
    v: Vec<f64>,
    xi: Vec<f64>,
    xe: Vec<f64>,
}

fn draw(registered: &[u32], h: &HonestParams, seed: u64) -> Draws {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = registered.len();
    let mut u = Vec::with_capacity(m);
    let mut t = Vec::with_capacity(m);
    let mut v = Vec::with_capacity(m);
    let mut xi = Vec::with_capacity(m);
    let mut xe = Vec::with_capacity(m);
    for _ in 0..m {
        t.push(trunc_normal01(&mut rng, h.tau, h.sigma_tau));
        v.push(trunc_normal01(&mut rng, h.nu, h.sigma_nu));
        xi.push(trunc_half_normal01(&mut rng, h.theta));
        xe.push((1.0 - (EXTREME_SD * std_normal(&mut rng)).abs()).max(0.0));
        u.push(rng.random::<f64>());
    }
    let mut order: Vec<u32> = (0..m as u32).collect();
    order.sort_unstable_by(|&a, &b| u[a as usize].total_cmp(&u[b as usize]).then(a.cmp(&b)));
    let pick = |x: &[f64]| order.iter().map(|&i| x[i as usize]).collect::<Vec<f64>>();
    Draws {
        n: order.iter().map(|&i| registered[i as usize] as f64).collect(),
        t: pick(&t),
        v: pick(&v),
        xi: pick(&xi),
        xe: pick(&xe),
        u: pick(&u),
    }
}

const NONE: u32 = u32::MAX;

/// Bins and weights of one simulation's stations in each of the three states.
struct StateBins {
    b: Vec<u32>,
    w: Vec<f64>,
}

struct SimBins<'a> {
    honest: &'a StateBins,
    inc: StateBins,
    ext: StateBins,
}

fn state_bins(d: &Draws, x: Option<&[f64]>, alpha: f64, bins: usize, weighting: Weighting) -> StateBins {
    let m = d.n.len();
    let mut b = Vec::with_capacity(m);
    let mut w = Vec::with_capacity(m);
    for j in 0..m {
        let xx = x.map_or(0.0, |x| x[j]);
        let (bb, ww) = reported(d.n[j], d.t[j], d.v[j], xx, alpha);
        if bb <= 0.0 {
            b.push(NONE);
            w.push(0.0);
            continue;
        }
        b.push((bin_of(bb / d.n[j], bins) * bins + bin_of(ww / bb, bins)) as u32);
        w.push(match weighting {
            Weighting::Stations => 1.0,
            Weighting::Voters => bb,
        });
    }
    StateBins { b, w }
}

/// Running `D = Σ (obs − h)²` with `h` the mean simulated histogram.
struct Running<'a> {
    obs: &'a [f64],
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
        self.d += delta * (delta - 2.0 * r);
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
fn honest_mean(sims: &[&SimBins<'_>], nb: usize) -> Vec<f64> {
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
fn sweep(obs: &[f64], base: &[f64], sims: &[&SimBins<'_>], us: &[&[f64]], fe: f64, step: f64, fi_hi: f64) -> Vec<f64> {
    let kinv = 1.0 / sims.len() as f64;
    let mut r = Running { obs, h: base.to_vec(), d: 0.0 };
    r.d = obs.iter().zip(&r.h).map(|(o, h)| (o - h) * (o - h)).sum();
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
fn mean_hist(sims: &[&SimBins<'_>], us: &[&[f64]], nb: usize, fi: f64, fe: f64) -> Vec<f64> {
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
    pub weighting: Weighting,
    /// Simulations averaged per evaluation in the fine stage.
    pub sims: usize,
    /// Simulations used in the coarse stage (the first ones of the same draws).
    pub coarse_sims: usize,
    pub alpha: AlphaMode,
    pub theta: ThetaRule,
    /// Largest `f_e` searched.
    pub fe_max: f64,
    pub fe_coarse_step: f64,
    pub fe_fine_step: f64,
    /// Resolution of `f_i`.
    pub fi_step: f64,
    /// Half-width of the `f_i` window of the fine stage around the coarse optimum.
    pub fi_window: f64,
    /// Rounds of the honest-parameter correction (0: the paper's raw modes and spreads).
    pub honest_rounds: usize,
    /// Bootstrap replicates (0: none).
    pub bootstrap: usize,
    /// Simulations per evaluation inside bootstrap refits.
    pub bootstrap_sims: usize,
    /// Central interval level of the bootstrap (0.95).
    pub level: f64,
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            bins: 100,
            weighting: Weighting::Stations,
            sims: 6,
            coarse_sims: 3,
            alpha: AlphaMode::Fixed(2.0),
            theta: ThetaRule::SqrtRightRms,
            fe_max: 0.25,
            fe_coarse_step: 0.01,
            fe_fine_step: 0.002,
            fi_step: 0.001,
            fi_window: 0.1,
            honest_rounds: 3,
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
    /// Honest parameters of the model at the fit (after the correction rounds).
    pub honest_params: HonestParams,
    /// The raw estimates from the observed data (the paper's τ, σ_τ, ν, σ_ν, θ).
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
    h: HonestParams,
    sim_stats: HonestParams,
    start: (usize, f64, f64),
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
    if !(o.fi_step > 0.0 && o.fe_coarse_step > 0.0 && o.fe_fine_step > 0.0 && o.fi_window > 0.0) {
        return Err(Error::usage("fingerprint: grid steps must be positive"));
    }
    if !(0.0..1.0).contains(&o.fe_max) {
        return Err(Error::usage("fingerprint: fe_max must be in [0, 1)"));
    }
    match &o.alpha {
        AlphaMode::Fixed(a) if *a > 0.0 => {}
        AlphaMode::Grid(g) if !g.is_empty() && g.iter().all(|a| *a > 0.0) => {}
        _ => return Err(Error::usage("fingerprint: α must be positive (and the grid non-empty)")),
    }
    Ok(())
}

/// The search (module docs). `sims` simulations, `seed_of(k)` the seed of simulation k.
fn fit_core(
    st: &Stations,
    o: &FitOptions,
    sims_n: usize,
    seed_of: &(dyn Fn(u64) -> u64 + Sync),
    h: HonestParams,
    start: Option<(usize, f64, f64)>,
) -> CoreFit {
    let bins = o.bins;
    let nb = bins * bins;
    let obs = station_histogram(st, o.weighting, bins).counts;
    let draws: Vec<Draws> = (0..sims_n as u64).into_par_iter().map(|k| draw(&st.registered, &h, seed_of(k))).collect();
    let us: Vec<&[f64]> = draws.iter().map(|d| d.u.as_slice()).collect();
    let honest_states: Vec<StateBins> =
        draws.par_iter().map(|d| state_bins(d, None, 1.0, bins, o.weighting)).collect();
    let make = |alpha: f64, upto: usize| -> Vec<(StateBins, StateBins)> {
        draws[..upto]
            .par_iter()
            .map(|d| {
                (state_bins(d, Some(&d.xi), alpha, bins, o.weighting), state_bins(d, Some(&d.xe), alpha, bins, o.weighting))
            })
            .collect()
    };
    // assemble SimBins views (honest states shared across α)
    struct Set<'a> {
        alpha: f64,
        sims: Vec<SimBins<'a>>,
    }
    let build = |alpha: f64, upto: usize| -> Set {
        let ie = make(alpha, upto);
        let sims = ie
            .into_iter()
            .zip(&honest_states)
            .map(|((inc, ext), hs)| SimBins { honest: hs, inc, ext })
            .collect();
        Set { alpha, sims }
    };
    let fe_grid = |lo: f64, hi: f64, step: f64| -> Vec<f64> {
        let n = ((hi - lo) / step + 1e-9).floor() as usize;
        (0..=n).map(|k| lo + k as f64 * step).filter(|f| *f <= o.fe_max + 1e-12).collect()
    };
    // (alpha index in sets, fe, fi, d); f_i searched on [fi_lo, fi_hi]
    let search = |sets: &[Set], fes: &[f64], upto: usize, fi_lo: f64, fi_hi: f64| -> (usize, f64, f64, f64) {
        let bases: Vec<Vec<f64>> = sets
            .par_iter()
            .map(|s| honest_mean(&s.sims[..upto].iter().collect::<Vec<_>>(), nb))
            .collect();
        let jobs: Vec<(usize, f64)> = (0..sets.len()).flat_map(|a| fes.iter().map(move |&f| (a, f))).collect();
        let res: Vec<(usize, f64, f64, f64)> = jobs
            .par_iter()
            .map(|&(a, fe)| {
                let sims: Vec<&SimBins> = sets[a].sims[..upto].iter().collect();
                let ds = sweep(&obs, &bases[a], &sims, &us[..upto], fe, o.fi_step, fi_hi);
                let g0 = ((fi_lo / o.fi_step) + 1e-9).floor() as usize;
                let (g, d) = ds
                    .iter()
                    .enumerate()
                    .skip(g0.min(ds.len().saturating_sub(1)))
                    .fold((0usize, f64::INFINITY), |acc, (g, &d)| if d < acc.1 { (g, d) } else { acc });
                (a, fe, g as f64 * o.fi_step, d)
            })
            .collect();
        res.into_iter().fold((0, 0.0, 0.0, f64::INFINITY), |acc, r| if r.3 < acc.3 { r } else { acc })
    };
    let alphas: Vec<f64> = match &o.alpha {
        AlphaMode::Fixed(a) => vec![*a],
        AlphaMode::Grid(g) => g.clone(),
    };
    let coarse_n = o.coarse_sims.min(sims_n);
    // coarse stage
    let (ca, cfe, cfi) = match start {
        Some(s) => s,
        None => {
            let coarse_sets: Vec<Set> = alphas.iter().map(|&a| build(a, coarse_n)).collect();
            let (ca, cfe, cfi, _) = search(&coarse_sets, &fe_grid(0.0, o.fe_max, o.fe_coarse_step), coarse_n, 0.0, 1.0);
            (ca, cfe, cfi)
        }
    };
    // fine stage
    let mut fine_sets: Vec<Set> = Vec::new();
    let mut fine_alphas = vec![alphas[ca]];
    if alphas.len() > 1 {
        if ca > 0 {
            fine_alphas.push(0.5 * (alphas[ca - 1] + alphas[ca]));
        }
        if ca + 1 < alphas.len() {
            fine_alphas.push(0.5 * (alphas[ca] + alphas[ca + 1]));
        }
    }
    for &a in &fine_alphas {
        fine_sets.push(build(a, sims_n));
    }
    let lo = (cfe - o.fe_coarse_step).max(0.0);
    let hi = (cfe + o.fe_coarse_step).min(o.fe_max);
    let (fa, fe, fi, fd) =
        search(&fine_sets, &fe_grid(lo, hi, o.fe_fine_step), sims_n, (cfi - o.fi_window).max(0.0), cfi + o.fi_window);
    let best = &fine_sets[fa];
    // the grid index of the best α, for a later round's start (midpoints map to the nearest)
    let alpha_idx = (0..alphas.len())
        .min_by(|&a, &b| (alphas[a] - best.alpha).abs().total_cmp(&(alphas[b] - best.alpha).abs()))
        .unwrap_or(0);
    let _ = fd;
    let sims: Vec<&SimBins> = best.sims.iter().collect();
    // simulated (turnout, share) at the optimum, pooled over up to 4 simulations, for the
    // honest-parameter correction
    let pool = sims_n.min(4);
    let mut sim_t = Vec::with_capacity(pool * st.len());
    let mut sim_s = Vec::with_capacity(pool * st.len());
    for d in &draws[..pool] {
        for j in 0..d.u.len() {
            let x = if d.u[j] < fe {
                d.xe[j]
            } else if d.u[j] < fe + fi {
                d.xi[j]
            } else {
                0.0
            };
            let (b, w) = reported(d.n[j], d.t[j], d.v[j], x, best.alpha);
            if b > 0.0 {
                sim_t.push(b / d.n[j]);
                sim_s.push(w / b);
            }
        }
    }
    let sim_stats = estimate_honest_with(&sim_t, &sim_s, o.theta, Some((h.bandwidth_turnout, h.bandwidth_share)));
    let fitted = mean_hist(&sims, &us, nb, fi, fe);
    let honest = honest_mean(&sims, nb);
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let distance = sq(&obs, &fitted);
    let norm: f64 = obs.iter().map(|x| x * x).sum();
    let fit = FraudFit {
        f_i: fi,
        f_e: fe,
        alpha: best.alpha,
        distance,
        distance_rel: if norm > 0.0 { distance / norm } else { 0.0 },
        distance_honest: sq(&obs, &honest),
    };
    CoreFit { h, fit, fitted, honest, sim_stats, start: (alpha_idx, fe, fi) }
}

/// One indirect-inference step: shift the modes and rescale the left-side spreads so that
/// the model's output reproduces the observed statistics (θ is kept as the rule gives it).
fn correct(h: &HonestParams, obs: &HonestParams, sim: &HonestParams) -> HonestParams {
    let ratio = |a: f64, b: f64| if b > 0.0 && a > 0.0 { a / b } else { 1.0 };
    HonestParams {
        tau: (h.tau + obs.tau - sim.tau).clamp(0.0, 1.0),
        sigma_tau: h.sigma_tau * ratio(obs.sigma_tau, sim.sigma_tau),
        nu: (h.nu + obs.nu - sim.nu).clamp(0.0, 1.0),
        sigma_nu: h.sigma_nu * ratio(obs.sigma_nu, sim.sigma_nu),
        ..*h
    }
}

/// Raw estimates, then `o.honest_rounds` corrections, each followed by a refit started at
/// the previous optimum (fine stage only).
fn fit_rounds(st: &Stations, o: &FitOptions, sims_n: usize, seed_of: &(dyn Fn(u64) -> u64 + Sync)) -> (HonestParams, CoreFit) {
    let raw = estimate_honest(&st.turnout, &st.share, o.theta);
    let mut c = fit_core(st, o, sims_n, seed_of, raw, None);
    for _ in 0..o.honest_rounds {
        let h = correct(&c.h, &raw, &c.sim_stats);
        c = fit_core(st, o, sims_n, seed_of, h, Some(c.start));
    }
    (raw, c)
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
    let (raw, core) = fit_rounds(st, opts, opts.sims, &|k| sub_seed(seed, 0, k));
    let (h_main, start_main) = (core.h, core.start);
    let bootstrap = if opts.bootstrap > 0 {
        let m = st.len();
        let samples: Vec<(f64, f64, f64)> = (1..=opts.bootstrap as u64)
            .into_par_iter()
            .map(|b| {
                let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, b, u64::MAX));
                let idx: Vec<usize> = (0..m).map(|_| rng.random_range(0..m)).collect();
                let sub = st.subset(&idx);
                // raw estimates of the resample, moved by the main fit's correction (held
                // fixed), then the fine stage started at the main optimum
                let r = estimate_honest(&sub.turnout, &sub.share, opts.theta);
                let hb = HonestParams {
                    tau: (r.tau + h_main.tau - raw.tau).clamp(0.0, 1.0),
                    sigma_tau: r.sigma_tau * h_main.sigma_tau / raw.sigma_tau.max(1e-12),
                    nu: (r.nu + h_main.nu - raw.nu).clamp(0.0, 1.0),
                    sigma_nu: r.sigma_nu * h_main.sigma_nu / raw.sigma_nu.max(1e-12),
                    ..r
                };
                let c = fit_core(&sub, opts, opts.bootstrap_sims, &|k| sub_seed(seed, b, k), hb, Some(start_main));
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
            "tau, nu: first local maxima above 0.3 (prominence >= {MIN_PROMINENCE} of the peak) of Gaussian KDEs, bandwidths 0.9 min(sd, IQR/1.34) n^(-1/7) = {:.4} (turnout), {:.4} (share)",
            h.bandwidth_turnout, h.bandwidth_share
        ),
        format!(
            "theta = {:.4} by rule {:?} (RMS of v - nu over v > nu = {:.4})",
            h.theta, opts.theta, h.right_rms
        ),
        format!(
            "fit: least squares over {}x{} bins ({:?} weights), mean of {} common-random-number simulations, coarse f_e step {} then {}, f_i step {}; alpha {}",
            opts.bins,
            opts.bins,
            opts.weighting,
            opts.sims,
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
    if opts.honest_rounds > 0 {
        notes.push(format!(
            "honest parameters corrected in {} rounds so that the fitted model's output has the observed modes and left-side spreads (indirect inference): raw tau {:.4} nu {:.4} sigma_tau {:.4} sigma_nu {:.4} -> model tau {:.4} nu {:.4} sigma_tau {:.4} sigma_nu {:.4}",
            opts.honest_rounds, raw.tau, raw.nu, raw.sigma_tau, raw.sigma_nu, h.tau, h.nu, h.sigma_tau, h.sigma_nu
        ));
    }
    if !h.tau_is_local_max {
        notes.push("tau: no prominent local maximum above 0.3; the highest point above 0.3 was used".into());
    }
    if !h.nu_is_local_max {
        notes.push("nu: no prominent local maximum above 0.3; the highest point above 0.3 was used".into());
    }
    if let Some(b) = &bootstrap {
        notes.push(format!(
            "uncertainty: {} bootstrap replicates over stations (honest parameters re-estimated on each resample and moved by the main fit's correction; fine-stage refit around the main optimum, {} simulations each), percentile {:.0}% intervals",
            b.replicates,
            opts.bootstrap_sims,
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
    let st = select(e, sel)?;
    fit(&st, opts)
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
            r.notes.push("Klimek et al. (2012) model fit: an estimate with a bootstrap interval, not a test (no p-value)".into());
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
        let draws: Vec<Draws> = (0..3).map(|k| draw(&n, &h, k)).collect();
        let hon: Vec<StateBins> = draws.iter().map(|d| state_bins(d, None, 1.0, bins, Weighting::Voters)).collect();
        let sims: Vec<SimBins> = draws
            .iter()
            .zip(&hon)
            .map(|(d, hs)| SimBins {
                honest: hs,
                inc: state_bins(d, Some(&d.xi), 2.0, bins, Weighting::Voters),
                ext: state_bins(d, Some(&d.xe), 2.0, bins, Weighting::Voters),
            })
            .collect();
        let sr: Vec<&SimBins> = sims.iter().collect();
        let us: Vec<&[f64]> = draws.iter().map(|d| d.u.as_slice()).collect();
        let obs: Vec<f64> = (0..bins * bins).map(|i| (i % 7) as f64 * 300.0).collect();
        let base = honest_mean(&sr, bins * bins);
        let fe = 0.03;
        let ds = sweep(&obs, &base, &sr, &us, fe, 0.01, 1.0);
        for g in [0usize, 10, 37, 97] {
            let m = mean_hist(&sr, &us, bins * bins, g as f64 * 0.01, fe);
            let d: f64 = obs.iter().zip(&m).map(|(a, b)| (a - b) * (a - b)).sum();
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
