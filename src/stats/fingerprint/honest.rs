//! The honest parameters from the data (kernel density modes, left-side spreads) and the
//! Klimek model of one station.

use super::*;

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

pub(super) fn bandwidth_rate(x: &[f64], rate: f64) -> f64 {
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
pub(super) fn estimate_honest_with(turnout: &[f64], share: &[f64], rule: ThetaRule, bw: Option<(f64, f64)>) -> HonestParams {
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
pub(super) fn std_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> f64 {
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
pub(super) fn round_nonneg(x: f64) -> f64 {
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
