//! The model itself: the stations' data, the parameters, the fraud-magnitude grid, the
//! inversion of the fraud map with its Jacobian, and draws from the model (module docs of
//! [`super`], "The model").

use super::*;

/// Upper end of the incremental magnitudes, lower end of the extreme ones (eforensics'
/// `k = 0.7`).
pub const K_SPLIT: f64 = 0.7;
/// Lower end of the incremental magnitudes: fraud that moves a station by less than 5% of
/// its non-voters is not told apart from the clean spread (measured: with magnitudes
/// down to 0 a clean simulated election fitted `f_i` 0.41 at θ 0.065 without converging,
/// the likelihood flat along `f_i`); `f_i` counts stations falsified at least that much.
pub const X_MIN: f64 = 0.05;
/// Grid points of the incremental magnitude on `(0, K_SPLIT)`.
pub const GRID_INCREMENTAL: usize = 16;
/// Grid points of the extreme magnitude on `(K_SPLIT, 1)`, equally spaced in `log(1 − x)`
/// from [`EXTREME_D_MIN`] to `1 − K_SPLIT`.
pub const GRID_EXTREME: usize = 28;
/// Smallest `1 − x` of the extreme grid: a station at 100% turnout with 10,000 registered
/// sits at `1 − t = 0.5/N = 5·10⁻⁵`, and under extreme fraud of magnitude `x` only
/// `1 − x > 1 − t` reaches it.
pub const EXTREME_D_MIN: f64 = 5e-5;
/// Components per station: clean, then the incremental grid, then the extreme grid.
pub const K: usize = 1 + GRID_INCREMENTAL + GRID_EXTREME;
/// Scale of the extreme magnitude `x = 1 − |N(0, 0.075)|` (Klimek et al., as
/// [`crate::stats::fingerprint::EXTREME_SD`]).
pub const EXTREME_SD: f64 = crate::stats::fingerprint::EXTREME_SD;
/// Bounds of the incremental scale θ and of α in the M-step.
pub const THETA_RANGE: (f64, f64) = (0.1, 2.0);
pub const ALPHA_RANGE: (f64, f64) = (0.25, 8.0);

/// The selected stations as the model sees them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Data {
    /// Station index in the election (or in the given counts).
    pub index: Vec<u32>,
    /// Registered voters `N`.
    pub registered: Vec<f64>,
    /// Turnout `B/N`, kept within `[0.5/N, 1 − 0.5/N]` (a proportion of 0 or 1 has no logit).
    pub turnout: Vec<f64>,
    /// Winner share `W/V`, kept within `[0.5/V, 1 − 0.5/V]`.
    pub share: Vec<f64>,
    /// Unit of the top level (region) of each station, `u32::MAX` without one.
    pub region: Vec<u32>,
    /// Clean-centre group of each station ([`Data::assign_groups`]): its region's when the
    /// region has at least [`MIN_GROUP`] stations, else one pooled group. Empty: one group.
    pub group: Vec<u32>,
}

/// Fewest stations of a region with its own clean centre.
pub const MIN_GROUP: usize = 50;

impl Data {
    pub fn len(&self) -> usize {
        self.index.len()
    }
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// One station: `n` registered, `b` turnout numerator, `v` valid votes, `w` winner's
    /// votes. The caller applies the inclusion rules (`b > 0`, `n > 0`, `v > 0`).
    pub(super) fn push(&mut self, index: usize, n: f64, b: f64, v: f64, w: f64, region: u32) {
        let t = (b / n).clamp(0.5 / n, 1.0 - 0.5 / n);
        let s = (w / v).clamp(0.5 / v, 1.0 - 0.5 / v);
        self.index.push(index as u32);
        self.registered.push(n);
        self.turnout.push(t);
        self.share.push(s);
        self.region.push(region);
    }

    /// From raw counts (registered `N`, ballots `B`, valid `V`, winner `W`), with the
    /// fingerprint's rules `B > 0`, `N ≥ min_registered`, `V > 0`.
    pub fn from_counts(registered: &[u32], ballots: &[u32], valid: &[u32], winner: &[u32], min_registered: u32) -> Data {
        let mut d = Data::default();
        for i in 0..registered.len() {
            let n = registered[i];
            if ballots[i] > 0 && n >= min_registered.max(1) && valid[i] > 0 {
                d.push(i, n as f64, ballots[i] as f64, valid[i] as f64, winner[i].min(valid[i]) as f64, u32::MAX);
            }
        }
        d
    }

    /// Gives every region with at least [`MIN_GROUP`] stations its own clean-centre group
    /// and pools the others (and stations without a region) into one.
    pub fn assign_groups(&mut self) {
        let mut count: std::collections::BTreeMap<u32, usize> = Default::default();
        for &r in &self.region {
            *count.entry(r).or_default() += 1;
        }
        let mut id: std::collections::BTreeMap<u32, u32> = Default::default();
        let mut next = 0u32;
        for (&r, &c) in &count {
            if r != u32::MAX && c >= MIN_GROUP {
                id.insert(r, next);
                next += 1;
            }
        }
        let pooled = next;
        self.group = self.region.iter().map(|r| id.get(r).copied().unwrap_or(pooled)).collect();
        // no pooled stations: no empty group
        if !self.group.contains(&pooled) {
            self.group.iter_mut().for_each(|g| *g = (*g).min(pooled.saturating_sub(1)));
        }
    }

    /// Number of clean-centre groups.
    pub fn groups(&self) -> usize {
        self.group.iter().map(|&g| g as usize + 1).max().unwrap_or(1)
    }

    /// The stations `idx` (a bootstrap resample or a region).
    pub fn subset(&self, idx: &[usize]) -> Data {
        Data {
            group: if self.group.is_empty() { Vec::new() } else { idx.iter().map(|&i| self.group[i]).collect() },
            index: idx.iter().map(|&i| self.index[i]).collect(),
            registered: idx.iter().map(|&i| self.registered[i]).collect(),
            turnout: idx.iter().map(|&i| self.turnout[i]).collect(),
            share: idx.iter().map(|&i| self.share[i]).collect(),
            region: idx.iter().map(|&i| self.region[i]).collect(),
        }
    }
}

/// The model's parameters. `tau`, `nu` and the sigmas are on the logit scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Mean and sd of the clean turnout's logit.
    pub tau: f64,
    pub sigma_tau: f64,
    /// Mean and sd of the clean winner share's logit.
    pub nu: f64,
    pub sigma_nu: f64,
    /// Shares of stations with incremental and extreme fraud.
    pub f_i: f64,
    pub f_e: f64,
    /// Scale of the incremental magnitude (half-normal, truncated to `(0, K_SPLIT)`).
    pub theta: f64,
    /// Stolen fraction of the opponents' votes = manufactured fraction `x` to the power α.
    pub alpha: f64,
}

/// The fraud-magnitude grid: `x` of every component (0 for the clean one) and `x^α`.
#[derive(Debug, Clone)]
pub struct Grid {
    pub x: [f64; K],
    /// Log of the extreme magnitude's weights (normalised on its grid); 0 elsewhere.
    pub log_extreme: [f64; K],
}

impl Default for Grid {
    fn default() -> Self {
        Grid::new()
    }
}

impl Grid {
    /// Incremental: midpoints `x_g = 0.05 + (g − ½)·0.65/G`. Extreme: `d_h = 1 − x_h` equally
    /// spaced in `log d` from [`EXTREME_D_MIN`] to 0.3, weights the half-normal density of
    /// `d` times `d` (its mass per unit of `log d`). Near `x = 1` the clean turnout behind a
    /// station, `t⁰ = 1 − (1 − t)/d`, moves one for one with `log d` on the logit scale, so
    /// an even grid in `log d` (step 0.32, about the clean spread) integrates it as well as
    /// the Riemann sum of a Gaussian does; an even grid in `x` missed the stations at
    /// 99.8% turnout (measured: their log-likelihood 25–85 too low).
    pub fn new() -> Grid {
        let mut x = [0.0; K];
        let mut log_extreme = [0.0; K];
        for g in 0..GRID_INCREMENTAL {
            x[1 + g] = X_MIN + (g as f64 + 0.5) * (K_SPLIT - X_MIN) / GRID_INCREMENTAL as f64;
        }
        let mut w = [0.0; GRID_EXTREME];
        let (l0, l1) = (EXTREME_D_MIN.ln(), (1.0 - K_SPLIT).ln());
        for h in 0..GRID_EXTREME {
            let d = (l0 + (l1 - l0) * h as f64 / (GRID_EXTREME - 1) as f64).exp();
            x[1 + GRID_INCREMENTAL + h] = 1.0 - d;
            w[h] = -0.5 * (d / EXTREME_SD).powi(2) + d.ln();
        }
        let lse = log_sum_exp(&w);
        for h in 0..GRID_EXTREME {
            log_extreme[1 + GRID_INCREMENTAL + h] = w[h] - lse;
        }
        Grid { x, log_extreme }
    }

    /// Log weights of the incremental grid at scale θ (a half-normal discretised on the
    /// grid and normalised there).
    pub fn log_incremental(&self, theta: f64) -> [f64; GRID_INCREMENTAL] {
        let mut w = [0.0; GRID_INCREMENTAL];
        for g in 0..GRID_INCREMENTAL {
            w[g] = -0.5 * (self.x[1 + g] / theta).powi(2);
        }
        let lse = log_sum_exp(&w);
        w.iter_mut().for_each(|v| *v -= lse);
        w
    }

    /// Log prior weight of every component: `log(1 − f_i − f_e)`, `log f_i + log π_g(θ)`,
    /// `log f_e + log ρ_h`.
    pub fn log_prior(&self, p: &Params) -> [f64; K] {
        let mut out = [0.0; K];
        let ln = |v: f64| if v > 0.0 { v.ln() } else { f64::NEG_INFINITY };
        out[0] = ln(1.0 - p.f_i - p.f_e);
        let li = self.log_incremental(p.theta);
        for g in 0..GRID_INCREMENTAL {
            out[1 + g] = ln(p.f_i) + li[g];
        }
        for h in 1 + GRID_INCREMENTAL..K {
            out[h] = ln(p.f_e) + self.log_extreme[h];
        }
        out
    }
}

pub(super) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

pub(super) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

pub(super) fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The clean values behind an observed station under a fraud magnitude `x` (stolen
/// fraction `y = x^α`): `(t₀, s₀, log J)` with `t₀ = (t − x)/(1 − x)`,
/// `s₀ = (s t − x(1 − t₀) − y t₀) / (t₀ (1 − y))` and `J = t / ((1 − x) t₀ (1 − y))` the
/// Jacobian of `(t, s) ↦ (t₀, s₀)`; `None` when no clean station in `(0, 1)²` maps there.
/// `x = 0` is the clean component (`J = 1`).
#[inline]
pub fn invert(t: f64, s: f64, x: f64, y: f64) -> Option<(f64, f64, f64)> {
    if x == 0.0 {
        return Some((t, s, 0.0));
    }
    let t0 = (t - x) / (1.0 - x);
    if t0 <= 1e-9 {
        return None;
    }
    let s0 = (s * t - x * (1.0 - t0) - y * t0) / (t0 * (1.0 - y));
    if !(s0 > 1e-9 && s0 < 1.0 - 1e-9) {
        return None;
    }
    Some((t0, s0, t.ln() - (1.0 - x).ln() - t0.ln() - (1.0 - y).ln()))
}

/// The reported turnout and winner share (of the ballots) of a clean station `(t, s)`
/// under fraud magnitude `x` and stolen fraction `y`: `t' = t + x(1 − t)`,
/// `s' = [t s + x(1 − t) + y t (1 − s)] / t'` (the inverse of [`invert`]).
pub fn forward(t: f64, s: f64, x: f64, y: f64) -> (f64, f64) {
    let t1 = t + x * (1.0 - t);
    (t1, (t * s + x * (1.0 - t) + y * t * (1.0 - s)) / t1)
}

/// Log density of the observed `(t, s)` under component magnitude `x` (stolen `y`), given
/// the clean parameters (no prior weight): the logit-normal density of the clean values
/// times the Jacobian. `−∞` where the inversion fails.
pub fn log_density(t: f64, s: f64, x: f64, y: f64, p: &Params) -> f64 {
    match invert(t, s, x, y) {
        None => f64::NEG_INFINITY,
        Some((t0, s0, lj)) => {
            let zt = (logit(t0) - p.tau) / p.sigma_tau;
            let zs = (logit(s0) - p.nu) / p.sigma_nu;
            lj - (t0 * (1.0 - t0)).ln() - (s0 * (1.0 - s0)).ln() - 0.5 * (zt * zt + zs * zs)
                - p.sigma_tau.ln()
                - p.sigma_nu.ln()
                - std::f64::consts::TAU.ln()
        }
    }
}

/// Log-likelihood of one station under the mixture, computed directly (for tests and
/// checks; the EM uses the precomputed arrays of [`super::em`]).
pub fn station_log_lik(t: f64, s: f64, p: &Params, grid: &Grid) -> f64 {
    let prior = grid.log_prior(p);
    let v: Vec<f64> = (0..K).map(|k| prior[k] + log_density(t, s, grid.x[k], grid.x[k].powf(p.alpha), p)).collect();
    log_sum_exp(&v)
}

/// What a draw from the model knows about each station.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Clean,
    Incremental,
    Extreme,
}

/// A draw from the model with its truth per station.
#[derive(Debug, Clone)]
pub struct Draw {
    pub registered: Vec<u32>,
    /// Ballots (the model has no invalid ballots: valid = ballots).
    pub ballots: Vec<u32>,
    pub winner: Vec<u32>,
    pub class: Vec<Class>,
    /// The fraud magnitude `x` (0 when clean).
    pub magnitude: Vec<f64>,
    /// Votes manufactured (`N x (1 − t)`) and stolen (`N x^α t (1 − s)`), before rounding.
    pub manufactured: Vec<f64>,
    pub stolen: Vec<f64>,
}

/// Draws stations from the model with the given electorates (seeded ChaCha8): clean
/// `logit t ~ N(τ, σ_τ)`, `logit s ~ N(ν, σ_ν)`; incremental with probability `f_i`,
/// `x ~ |N(0, θ)|` truncated to `(X_MIN, K_SPLIT)` (continuous, not on the grid); extreme with
/// probability `f_e`, `x = 1 − |N(0, 0.075)|` truncated to `(K_SPLIT, 1)`; counts
/// `B = round(N t')`, `W = round(N t' s')` ([`forward`]).
pub fn draw(p: &Params, registered: &[u32], seed: u64) -> Draw {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = registered.len();
    let mut d = Draw {
        registered: registered.to_vec(),
        ballots: Vec::with_capacity(n),
        winner: Vec::with_capacity(n),
        class: Vec::with_capacity(n),
        magnitude: Vec::with_capacity(n),
        manufactured: Vec::with_capacity(n),
        stolen: Vec::with_capacity(n),
    };
    for &nn in registered {
        let z1: f64 = rng.sample(StandardNormal);
        let z2: f64 = rng.sample(StandardNormal);
        let t = logistic(p.tau + p.sigma_tau * z1);
        let s = logistic(p.nu + p.sigma_nu * z2);
        let u: f64 = rng.random();
        let (class, x) = if u < p.f_e {
            loop {
                let z: f64 = rng.sample(StandardNormal);
                let x = 1.0 - (z * EXTREME_SD).abs();
                if x > K_SPLIT && x < 1.0 {
                    break (Class::Extreme, x);
                }
            }
        } else if u < p.f_e + p.f_i {
            loop {
                let z: f64 = rng.sample(StandardNormal);
                let x = (z * p.theta).abs();
                if x > X_MIN && x < K_SPLIT {
                    break (Class::Incremental, x);
                }
            }
        } else {
            (Class::Clean, 0.0)
        };
        let y = x.powf(p.alpha);
        let (t1, s1) = forward(t, s, x, y);
        let nf = nn as f64;
        let b = (nf * t1).round().min(nf);
        let w = (nf * t1 * s1).round().min(b);
        d.ballots.push(b as u32);
        d.winner.push(w as u32);
        d.class.push(class);
        d.magnitude.push(x);
        d.manufactured.push(nf * x * (1.0 - t));
        d.stolen.push(nf * y * t * (1.0 - s));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_by_hand() {
        let g = Grid::new();
        // incremental midpoints 0.0703125, 0.1109375, …, 0.6796875; extreme 1 − 5e-5 … 0.7
        assert!((g.x[1] - 0.0703125).abs() < 1e-12 && (g.x[GRID_INCREMENTAL] - 0.6796875).abs() < 1e-12);
        assert!((g.x[1 + GRID_INCREMENTAL] - 0.99995).abs() < 1e-12 && (g.x[K - 1] - 0.7).abs() < 1e-12);
        let e: f64 = (1 + GRID_INCREMENTAL..K).map(|h| g.log_extreme[h].exp()).sum();
        assert!((e - 1.0).abs() < 1e-12);
        let i: f64 = g.log_incremental(0.2).iter().map(|v| v.exp()).sum();
        assert!((i - 1.0).abs() < 1e-12);
        // θ large: nearly uniform on the grid
        let li = g.log_incremental(100.0);
        assert!((li[0] - li[GRID_INCREMENTAL - 1]).abs() < 1e-4);
    }

    /// `invert` undoes `forward`, and its Jacobian matches a finite-difference one.
    #[test]
    fn inversion_and_jacobian() {
        for &(t, s, x, a) in &[(0.5, 0.4, 0.3, 2.0), (0.62, 0.55, 0.1, 1.0), (0.3, 0.8, 0.9, 3.0), (0.7, 0.2, 0.05, 0.5)] {
            let y = f64::powf(x, a);
            let (t1, s1) = forward(t, s, x, y);
            let (t0, s0, lj) = invert(t1, s1, x, y).unwrap();
            assert!((t0 - t).abs() < 1e-12 && (s0 - s).abs() < 1e-12, "{t0} {s0}");
            // |det ∂(t0, s0)/∂(t1, s1)| by central differences
            let h = 1e-6;
            let f = |a: f64, b: f64| {
                let (p, q, _) = invert(a, b, x, y).unwrap();
                (p, q)
            };
            let (a1, b1) = f(t1 + h, s1);
            let (a2, b2) = f(t1 - h, s1);
            let (c1, d1) = f(t1, s1 + h);
            let (c2, d2) = f(t1, s1 - h);
            let det = ((a1 - a2) * (d1 - d2) - (b1 - b2) * (c1 - c2)) / (4.0 * h * h);
            assert!((det.abs().ln() - lj).abs() < 1e-6, "{} vs {lj}", det.abs().ln());
        }
        assert!(invert(0.2, 0.5, 0.3, 0.09).is_none(), "turnout below the manufactured share");
    }

    /// Log density by hand: clean component at t = 0.5, s = 0.6, τ = 0, ν = logit 0.5 = 0,
    /// σ = 0.5, 0.25. logit(0.6) = 0.405465; z_t = 0, z_s = 1.621860;
    /// log f = −log(0.25) − log(0.24) − ½·1.621860² − ln 0.5 − ln 0.25 − ln 2π
    ///       = 1.386294 + 1.427116 − 1.315215 + 0.693147 + 1.386294 − 1.837877 = 1.739760.
    /// (scipy: `norm.logpdf(0, 0, .5) + norm.logpdf(logit(.6), 0, .25) - log(.25) - log(.24)`
    /// = 1.7397597.)
    #[test]
    fn density_by_hand() {
        let p = Params { tau: 0.0, sigma_tau: 0.5, nu: 0.0, sigma_nu: 0.25, f_i: 0.0, f_e: 0.0, theta: 0.1, alpha: 2.0 };
        let l = log_density(0.5, 0.6, 0.0, 0.0, &p);
        assert!((l - 1.7397597).abs() < 1e-6, "{l}");
        // with f_i = f_e = 0 the mixture is the clean density
        assert!((station_log_lik(0.5, 0.6, &p, &Grid::new()) - l).abs() < 1e-12);
    }

    /// The mixture density integrates to about 1 over (0,1)² (midpoint rule on a fine
    /// grid): the Jacobians are right and no component leaks mass.
    #[test]
    fn mixture_density_integrates_to_one() {
        let p = Params { tau: 0.2, sigma_tau: 0.4, nu: 0.1, sigma_nu: 0.4, f_i: 0.3, f_e: 0.1, theta: 0.2, alpha: 2.0 };
        let g = Grid::new();
        let m = 1200;
        let h = 1.0 / m as f64;
        let mut total = 0.0;
        for a in 0..m {
            for b in 0..m {
                total += station_log_lik((a as f64 + 0.5) * h, (b as f64 + 0.5) * h, &p, &g).exp() * h * h;
            }
        }
        assert!((total - 1.0).abs() < 0.01, "{total}");
    }
}
