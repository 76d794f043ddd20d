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

// The submodules take these with `use super::*`.
#[allow(unused_imports)]
use {
    super::TestResult,
    crate::error::{Error, Result},
    crate::model::{Election, Role, Special},
    rand::{RngExt, SeedableRng},
    rand_chacha::ChaCha8Rng,
    rand_distr::{Distribution, StandardNormal},
    rayon::prelude::*,
    serde::Serialize,
};

/// Standard deviation of `|Normal(0, ·)|` in extreme fraud (Klimek et al.: `x = 1 − |N(0, 0.075)|`).
pub const EXTREME_SD: f64 = 0.075;

mod estimate;
mod fit;
mod histogram;
mod honest;
mod select;

pub use estimate::*;
pub use fit::*;
pub use histogram::*;
pub use honest::*;
pub use select::*;

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
