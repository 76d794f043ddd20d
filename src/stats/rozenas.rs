//! Coarse vote shares: Rozenas' resampled kernel density test (Rozenas 2017, "Detecting
//! Election Fraud from Irregularities in Vote-Share Distributions", Political Analysis
//! 25(1):41–56; R package `spikes`). DESIGN.md §3.
//!
//! # What is counted
//!
//! A station's ratio `x/n` is *coarse* when it equals a fraction `k/d` with
//! `2 ≤ d ≤ max_denominator` (default 10) and `0 < k < d`, decided in integers:
//! `g = gcd(x, n)`, the reduced fraction is `(x/g)/(n/g)`, coarse iff `2 ≤ n/g ≤ D`
//! (equivalently `x·d == k·n` for the reduced `k/d`). The 0 and 1 shares (`d = 1`) are not
//! counted: unanimous and empty results are the business of the fingerprint and extreme
//! fraud, and a candidate's zero is no round number. The statistic `T` is the number of
//! coarse stations; the per-fraction table splits it by reduced fraction (`1/2`, `1/3`,
//! `2/3`, …, `9/10`: 31 fractions for `D = 10`).
//!
//! Ratios (test names): `rozenas.leader` — the leader's votes over ballots in boxes
//! `v/C` (as the integer-percentage test and Kobak et al.; the Russian commissions publish
//! percentages of that denominator, so a falsifier aiming at a round figure aims at it;
//! `ShareDenominator::Valid` gives `v/V`, falling back to the vote sum); with
//! `Coarse::All` also `rozenas.share.<candidate>` for every candidate; and
//! `rozenas.turnout` — ballots issued over registered voters `B/N` (falling back to
//! `C/N`), which `spikes` analyses alongside the vote share. Per fraction:
//! `rozenas.leader.2/3` etc. (scope `nation`). Stations abroad and electronic
//! pseudo-stations are set aside by default and counted in the notes; stations with
//! `n = 0` or `x > n` cannot be tested and are counted too.
//!
//! # The null: perturb on the logit scale, redraw binomially
//!
//! Small stations land on `1/2`, `2/3` … by arithmetic alone; the null keeps each station's
//! size and (nearly) its share and asks how often a station of that size lands on a coarse
//! fraction. For station `i` with `x_i` of `n_i`:
//!
//! 1. `λ_i = logit((x_i + ½)/(n_i + 1))` (the ½ keeps 0 and `n` finite and near-unanimous
//!    stations near 0 or 1);
//! 2. perturb: `π̃_i = expit(λ_i + σ Z)`, `Z ~ N(0, 1)`;
//! 3. redraw: `x*_i ~ Binomial(n_i, π̃_i)`; `T* = #{i : x*_i/n_i coarse}`.
//!
//! **Bandwidth `σ = 0.1` on the logit scale** (±2.4 pp at a 60% share). The binomial
//! redraw already spreads a station over a few `1/√n`; the perturbation adds a fixed-width
//! smoothing so that a spike of large stations sitting exactly on a fraction (where the
//! binomial spread is narrowest) is not re-created by the null, and so that the null's
//! expectation at `k/d` reflects the density of shares *near* `k/d`, not at it — Rozenas'
//! "kernel" idea. Wider kernels blur the share distribution itself and bias the count at
//! fractions near its mode; `σ = 0.1` is small against the spread of station shares in
//! real and simulated elections (logit sd 0.3–0.6). Calibration (type-I rate at α = 0.05
//! on clean simulated elections with small and with large stations) and power are
//! measured in `tests/rozenas.rs`.
//!
//! # Computing it: exact per-station probabilities, then draws
//!
//! `T*` depends on `x*_i` only through *which* coarse fraction (if any) it hits, so the
//! draw of `(Z, x*_i)` can be integrated out: for each coarse lattice point `m = n k/d`
//! (integral only when `d | n`),
//! `q_{i,m} = E_Z[ Binomial(m; n, expit(λ_i + σZ)) ]`, a one-dimensional integral computed
//! by 6-point Gauss–Hermite quadrature centred on the product of the perturbation's normal
//! and the normal approximation of the binomial likelihood in logit space (the integrand
//! ratio is smooth, so the rule is accurate to ~1e-7 relative; tested against scipy's
//! adaptive quadrature). Points whose probability by that normal approximation is below
//! 1e-13 are skipped (all of them together are worth < 1e-7 of a station on 100,000). Given the data, stations are independent, so:
//!
//! * null mean `Σ q_i` and sd `√Σ q_i(1 − q_i)` are exact (`q_i = Σ_m q_{i,m}`);
//! * the national p-value is the Monte Carlo one the method defines,
//!   `p = (1 + #{T* ≥ T}) / (B + 1)`, from `B` draws (default 999) of the station
//!   indicators with exactly these probabilities (ChaCha8, stream `b` for draw `b`, in
//!   parallel: identical for any thread count); a draw costs `O(Σ q_i)`, not `O(stations)`
//!   (stations bucketed by `q_i` in powers of two, geometric skips, thinning). The exact
//!   Poisson-binomial tail of the same null is in `extra.p_exact` (saddlepoint or DP, see
//!   [`crate::stats::common`]) as a check;
//! * per fraction: observed, null mean and sd (exact), `z`, the Poisson-binomial p (not
//!   limited to `1/(B+1)`) and the Benjamini–Hochberg q among the fractions of that ratio.
//!   Per-fraction excesses are exploratory: read the q-values, not raw z.
//!
//! # The `spikes` variant: a beta-binomial mixture null (option)
//!
//! [`fit_mixture`] fits a `K`-component (default 3) beta-binomial mixture to `(x_i, n_i)`
//! by EM (E-step: responsibilities; M-step: Minka's fixed-point update of each component's
//! `α, β`, which increases the weighted likelihood; weights in closed form), on at most
//! 10,000 stations drawn with the seed. The null then draws `x*_i` from the fitted
//! mixture with the station's `n_i` (no dependence on its own share, as `spikes` resamples
//! from the fitted model), so `q_{i,m} = Σ_c w_c BB(m; n_i, α_c, β_c)` exactly. Its results
//! are `rozenas.spikes.leader` (etc.). **Misfit diagnostic**: the randomized probability
//! integral transform `u_i = F(x_i − 1) + V·f(x_i)` under the fitted mixture is uniform
//! when the model describes the shares; `rozenas.spikes.misfit.leader` gives the
//! Kolmogorov–Smirnov distance `D` of the `u_i` from uniform with its asymptotic p and the
//! chi-square of their deciles; `p < 0.001` is flagged in the notes — the mixture's
//! coarse-share expectations are then not to be trusted (a smooth mixture of a few
//! components rarely fits 100,000 real stations; this is why the perturbation null is the
//! default).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use statrs::function::gamma::{digamma, ln_gamma};

use super::TestResult;
use super::common::pb_sf;
use super::fdr::bh;
use crate::model::{Election, Role};

// ---------------------------------------------------------------------------------------
// Fractions

/// The reduced fractions `k/d`, `0 < k < d`, `2 ≤ d ≤ D`, in increasing value, with an
/// index lookup.
#[derive(Debug, Clone)]
pub struct Fractions {
    max_d: u32,
    /// `(k, d)` in increasing `k/d`.
    pub list: Vec<(u32, u32)>,
    /// `index[d][k]`: position in `list` (u16::MAX where not reduced).
    index: Vec<Vec<u16>>,
}

pub fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

impl Fractions {
    pub fn new(max_d: u32) -> Fractions {
        let mut list: Vec<(u32, u32)> = Vec::new();
        for d in 2..=max_d {
            for k in 1..d {
                if gcd(k as u64, d as u64) == 1 {
                    list.push((k, d));
                }
            }
        }
        // k1/d1 < k2/d2 ⇔ k1 d2 < k2 d1
        list.sort_by(|a, b| (a.0 as u64 * b.1 as u64).cmp(&(b.0 as u64 * a.1 as u64)));
        let mut index = vec![Vec::new(); max_d as usize + 1];
        for d in 2..=max_d as usize {
            index[d] = vec![u16::MAX; d];
        }
        for (i, &(k, d)) in list.iter().enumerate() {
            index[d as usize][k as usize] = i as u16;
        }
        Fractions { max_d, list, index }
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// `"k/d"`.
    pub fn label(&self, f: usize) -> String {
        format!("{}/{}", self.list[f].0, self.list[f].1)
    }
    /// The coarse fraction `x/n` equals, if any (exact integer arithmetic).
    pub fn classify(&self, x: u32, n: u32) -> Option<usize> {
        if n == 0 || x == 0 || x >= n {
            return None;
        }
        let g = gcd(x as u64, n as u64);
        let d = n as u64 / g;
        if d > self.max_d as u64 {
            return None;
        }
        let k = x as u64 / g;
        Some(self.index[d as usize][k as usize] as usize)
    }
    /// Every coarse lattice point of a station of size `n`: `(fraction, m = n k/d)`.
    pub fn points(&self, n: u32, mut f: impl FnMut(usize, u32)) {
        for d in 2..=self.max_d.min(n) {
            if n % d != 0 {
                continue;
            }
            let step = n / d;
            for k in 1..d {
                let i = self.index[d as usize][k as usize];
                if i != u16::MAX {
                    f(i as usize, step * k);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Per-station null probabilities

/// Probabilists' Gauss–Hermite rule, 6 nodes, weights normalised to sum to 1
/// (`numpy.polynomial.hermite_e.hermegauss(6)`, weights / √(2π)).
const GH_X: [f64; 6] = [-3.324257433552119, -1.8891758777537107, -0.6167065901925941, 0.6167065901925941, 1.8891758777537107, 3.324257433552119];
const GH_W: [f64; 6] = [0.0025557844020562487, 0.08861574604191451, 0.4088284695560293, 0.4088284695560293, 0.08861574604191451, 0.0025557844020562487];

#[inline]
fn softplus(y: f64) -> f64 {
    if y > 0.0 { y + (-y).exp().ln_1p() } else { y.exp().ln_1p() }
}

/// `ln k!` for `k = 0..=max` (statrs' `ln_gamma`, ~1e-15 relative).
pub fn ln_factorials(max: u32) -> Vec<f64> {
    (0..=max as u64).map(|k| ln_gamma(k as f64 + 1.0)).collect()
}

/// `P(x* = m)` with `x* ~ Binomial(n, expit(λ + σZ))`, `Z ~ N(0, 1)`, for `0 < m < n`
/// (see the module docs). `lf` is a table of `ln k!` up to at least `n`.
pub fn perturbed_pmf(m: u32, n: u32, lambda: f64, sigma: f64, lf: &[f64]) -> f64 {
    debug_assert!(m > 0 && m < n);
    let (mf, nf) = (m as f64, n as f64);
    let ln_c = lf[n as usize] - lf[m as usize] - lf[(n - m) as usize];
    let ln_pmf = |y: f64| ln_c + mf * y - nf * softplus(y);
    if sigma <= 0.0 {
        return ln_pmf(lambda).exp();
    }
    // normal approximation of the binomial likelihood in y = logit p
    let mu_b = (mf / (nf - mf)).ln();
    let v_b = 1.0 / mf + 1.0 / (nf - mf);
    let s2 = 1.0 / (1.0 / v_b + 1.0 / (sigma * sigma));
    let mu = s2 * (mu_b / v_b + lambda / (sigma * sigma));
    let s = s2.sqrt();
    let c = (s / sigma).ln();
    let h = 0.5 / (sigma * sigma);
    let mut acc = 0.0;
    for (t, w) in GH_X.iter().zip(GH_W) {
        let y = mu + s * t;
        let d = y - lambda;
        // pmf(y) φ_σ(y − λ) / N(y; μ, s²)
        acc += w * (ln_pmf(y) - d * d * h + 0.5 * t * t + c).exp();
    }
    acc
}

/// Per-station coarse probabilities in flat form: station `s` owns entries
/// `start[s]..start[s + 1]` of `frac` / `q`.
#[derive(Debug, Clone, Default)]
pub struct NullTable {
    pub start: Vec<u32>,
    pub frac: Vec<u16>,
    pub q: Vec<f64>,
}

impl NullTable {
    fn from_rows(rows: Vec<Vec<(u16, f64)>>) -> NullTable {
        let mut t = NullTable { start: Vec::with_capacity(rows.len() + 1), ..Default::default() };
        t.start.push(0);
        for r in rows {
            for (f, q) in r {
                t.frac.push(f);
                t.q.push(q);
            }
            t.start.push(t.q.len() as u32);
        }
        t
    }
    pub fn stations(&self) -> usize {
        self.start.len() - 1
    }
    /// `q_i = Σ_m q_{i,m}` of station `s`.
    pub fn total(&self, s: usize) -> f64 {
        self.q[self.start[s] as usize..self.start[s + 1] as usize].iter().sum()
    }
}

const TAU: f64 = std::f64::consts::TAU;
/// `ln 1e-13`: lattice points whose approximate probability is below this are skipped.
const PRUNE: f64 = -29.933606208922594;

/// The perturbation null's table for stations `(x_i, n_i)`.
pub fn perturbation_null(x: &[u32], n: &[u32], sigma: f64, fr: &Fractions) -> NullTable {
    let max_n = n.iter().copied().max().unwrap_or(0);
    let lf = ln_factorials(max_n);
    let rows: Vec<Vec<(u16, f64)>> = x
        .par_iter()
        .zip(n.par_iter())
        .with_min_len(512)
        .map(|(&xi, &ni)| {
            let mut row = Vec::new();
            let lambda = ((xi as f64 + 0.5) / (ni as f64 - xi as f64 + 0.5)).ln();
            fr.points(ni, |f, m| {
                let (mf, nf) = (m as f64, ni as f64);
                // normal approximation in logit space: skip points below ~1e-13
                let v = 1.0 / mf + 1.0 / (nf - mf) + sigma * sigma;
                let d = (mf / (nf - mf)).ln() - lambda;
                if (nf / (mf * (nf - mf))).ln() - 0.5 * (TAU * v).ln() - d * d / (2.0 * v) < PRUNE {
                    return;
                }
                let q = perturbed_pmf(m, ni, lambda, sigma, &lf);
                if q > 0.0 {
                    row.push((f as u16, q));
                }
            });
            row
        })
        .collect();
    NullTable::from_rows(rows)
}

// ---------------------------------------------------------------------------------------
// The test given a null table

/// Settings of the draws.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DrawOptions {
    pub draws: usize,
    pub seed: u64,
}

/// One row of the per-fraction table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FractionRow {
    /// `"k/d"`.
    pub fraction: String,
    pub value: f64,
    pub observed: u64,
    pub null_mean: f64,
    pub null_sd: f64,
    pub z: Option<f64>,
    /// Poisson-binomial `P(T_f ≥ observed)` under the null.
    pub p: f64,
    /// BH q among the fractions of this ratio.
    pub q: f64,
}

/// The national test on one ratio.
#[derive(Debug, Clone, Serialize)]
pub struct CoarseTest {
    /// Observed coarse stations.
    pub observed: u64,
    pub stations: usize,
    /// Exact null mean and sd.
    pub null_mean: f64,
    pub null_sd: f64,
    /// `(1 + #{T* ≥ T}) / (B + 1)`.
    pub p: f64,
    /// Poisson-binomial tail of the same null.
    pub p_exact: f64,
    pub mc_mean: f64,
    pub mc_sd: f64,
    pub draws: usize,
    pub fractions: Vec<FractionRow>,
}

/// Observed fraction per station.
pub fn classify_all(x: &[u32], n: &[u32], fr: &Fractions) -> Vec<Option<usize>> {
    x.iter().zip(n).map(|(&a, &b)| fr.classify(a, b)).collect()
}

/// `B` draws of `T* = Σ_i Bernoulli(q_i)`. Stations are bucketed by `q_i` in
/// `(2^-(k+1), 2^-k]`; within a bucket of bound `u`, candidates are visited by geometric
/// skips of rate `u` and accepted with probability `q_i / u ≥ ½` (thinning), so a draw
/// costs `O(Σ q_i + buckets)`. Draw `b` uses ChaCha8 with the seed and stream `b`;
/// buckets are sorted by `q`, so the draws do not depend on the order of the stations.
pub fn draw_null(q: impl IntoIterator<Item = f64>, o: &DrawOptions) -> Vec<u32> {
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); 64];
    for q in q {
        if q > 0.0 {
            let k = ((-q.log2()).floor().max(0.0) as usize).min(63);
            buckets[k].push(q.min(1.0));
        }
    }
    let buckets: Vec<(f64, f64, Vec<f64>)> = buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(k, mut b)| {
            // Sorted: a draw depends on the multiset of q_i, not on the stations' row
            // order (the same file with its rows shuffled gives the same p).
            b.sort_by(f64::total_cmp);
            let u = 0.5f64.powi(k as i32);
            (u, 1.0 / (-u).ln_1p(), b)
        })
        .collect();
    (0..o.draws)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
            rng.set_stream(b as u64);
            let mut hits = 0u32;
            for (u, inv_ln1u, st) in &buckets {
                if *u >= 1.0 {
                    for &q in st {
                        hits += (rng.random::<f64>() < q) as u32;
                    }
                    continue;
                }
                let len = st.len() as f64;
                let mut j = 0.0f64;
                loop {
                    let r: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
                    j += (r.ln() * inv_ln1u).floor();
                    if j >= len {
                        break;
                    }
                    hits += (rng.random::<f64>() * u < st[j as usize]) as u32;
                    j += 1.0;
                }
            }
            hits
        })
        .collect()
}

/// The test of observed fractions `obs` against the null table `t`.
pub fn test_against(obs: &[Option<usize>], t: &NullTable, fr: &Fractions, o: &DrawOptions) -> CoarseTest {
    let nf = fr.len();
    let mut observed_f = vec![0u64; nf];
    for f in obs.iter().flatten() {
        observed_f[*f] += 1;
    }
    let observed: u64 = observed_f.iter().sum();
    // exact moments, total and per fraction
    let mut per_f: Vec<Vec<f64>> = vec![Vec::new(); nf];
    let mut tot = Vec::with_capacity(t.stations());
    for s in 0..t.stations() {
        let (a, e) = (t.start[s] as usize, t.start[s + 1] as usize);
        let mut qs = 0.0;
        for k in a..e {
            per_f[t.frac[k] as usize].push(t.q[k]);
            qs += t.q[k];
        }
        if qs > 0.0 {
            tot.push(qs.min(1.0));
        }
    }
    let moments = |v: &[f64]| -> (f64, f64) {
        let m: f64 = v.iter().sum();
        let var: f64 = v.iter().map(|q| q * (1.0 - q)).sum();
        (m, var.sqrt())
    };
    let (null_mean, null_sd) = moments(&tot);
    let p_exact = pb_sf(&tot, observed).0;
    let draws = draw_null(tot.iter().copied(), o);
    let b = draws.len();
    let ge = draws.iter().filter(|&&d| d as u64 >= observed).count();
    let (s1, s2) = draws.iter().fold((0.0, 0.0), |(a, c), &d| (a + d as f64, c + (d as f64).powi(2)));
    let bf = b.max(1) as f64;
    let mc_mean = s1 / bf;
    let mc_sd = (s2 / bf - mc_mean * mc_mean).max(0.0).sqrt();
    let ps: Vec<f64> = (0..nf).map(|f| pb_sf(&per_f[f], observed_f[f]).0).collect();
    let qs = bh(&ps);
    let fractions = (0..nf)
        .map(|f| {
            let (m, sd) = moments(&per_f[f]);
            FractionRow {
                fraction: fr.label(f),
                value: fr.list[f].0 as f64 / fr.list[f].1 as f64,
                observed: observed_f[f],
                null_mean: m,
                null_sd: sd,
                z: (sd > 0.0).then(|| (observed_f[f] as f64 - m) / sd),
                p: ps[f],
                q: qs[f],
            }
        })
        .collect();
    CoarseTest {
        observed,
        stations: obs.len(),
        null_mean,
        null_sd,
        p: (1 + ge) as f64 / (b + 1) as f64,
        p_exact,
        mc_mean,
        mc_sd,
        draws: b,
        fractions,
    }
}

/// Rozenas' test with the perturbation null on plain slices (`x ≤ n`, `n > 0` assumed;
/// see [`analyze`] for the inclusion rules).
pub fn perturbation_test(x: &[u32], n: &[u32], max_denominator: u32, sigma: f64, o: &DrawOptions) -> CoarseTest {
    let fr = Fractions::new(max_denominator);
    let t = perturbation_null(x, n, sigma, &fr);
    test_against(&classify_all(x, n, &fr), &t, &fr, o)
}

// ---------------------------------------------------------------------------------------
// The spikes variant: beta-binomial mixture fitted by EM

/// A fitted beta-binomial mixture.
#[derive(Debug, Clone, Serialize)]
pub struct Mixture {
    pub weight: Vec<f64>,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    /// Log-likelihood of the fitting sample at the end.
    pub loglik: f64,
    pub iterations: usize,
    pub converged: bool,
    /// Stations used for the fit.
    pub fitted_on: usize,
}

/// `ln BB(x; n, α, β)` given `ln C(n, x)`.
#[inline]
fn ln_bb(x: f64, n: f64, a: f64, b: f64, ln_c: f64) -> f64 {
    ln_c + ln_gamma(x + a) + ln_gamma(n - x + b) - ln_gamma(n + a + b) - (ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b))
}

/// Fits a `k`-component beta-binomial mixture to `(x_i, n_i)` by EM (module docs).
pub fn fit_mixture(x: &[u32], n: &[u32], k: usize, seed: u64) -> Mixture {
    const MAX_FIT: usize = 10_000;
    const MAX_ITER: usize = 300;
    let mut idx: Vec<usize> = (0..x.len()).filter(|&i| n[i] > 0).collect();
    if idx.len() > MAX_FIT {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for t in 0..MAX_FIT {
            let j = rng.random_range(t..idx.len());
            idx.swap(t, j);
        }
        idx.truncate(MAX_FIT);
        idx.sort_unstable();
    }
    let xs: Vec<f64> = idx.iter().map(|&i| x[i] as f64).collect();
    let ns: Vec<f64> = idx.iter().map(|&i| n[i] as f64).collect();
    let lc: Vec<f64> = xs.iter().zip(&ns).map(|(&a, &b)| ln_gamma(b + 1.0) - ln_gamma(a + 1.0) - ln_gamma(b - a + 1.0)).collect();
    let m = xs.len();
    let k = k.max(1);
    // initial components: share quantile groups, moderate precision
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| (xs[a] / ns[a]).total_cmp(&(xs[b] / ns[b])));
    let mut weight = vec![1.0 / k as f64; k];
    let mut alpha = vec![1.0; k];
    let mut beta = vec![1.0; k];
    for c in 0..k {
        let g = &order[c * m / k..((c + 1) * m / k).max(c * m / k + 1).min(m.max(1))];
        let mu = if m == 0 { 0.5 } else { g.iter().map(|&i| (xs[i] + 0.5) / (ns[i] + 1.0)).sum::<f64>() / g.len() as f64 };
        alpha[c] = mu * 50.0;
        beta[c] = (1.0 - mu) * 50.0;
    }
    let mut resp = vec![0.0; m * k];
    let mut loglik = f64::NEG_INFINITY;
    let mut converged = false;
    let mut iterations = 0;
    for it in 0..MAX_ITER {
        iterations = it + 1;
        // E-step
        let lw: Vec<f64> = weight.iter().map(|w| w.max(1e-300).ln()).collect();
        let ll: f64 = resp
            .par_chunks_mut(k)
            .enumerate()
            .map(|(i, r)| {
                let mut mx = f64::NEG_INFINITY;
                for c in 0..k {
                    r[c] = lw[c] + ln_bb(xs[i], ns[i], alpha[c], beta[c], lc[i]);
                    mx = mx.max(r[c]);
                }
                let s: f64 = r.iter().map(|v| (v - mx).exp()).sum();
                for v in r.iter_mut() {
                    *v = (*v - mx).exp() / s;
                }
                mx + s.ln()
            })
            .sum();
        if m == 0 {
            break;
        }
        if (ll - loglik).abs() <= 1e-8 * ll.abs() {
            loglik = ll;
            converged = true;
            break;
        }
        loglik = ll;
        // M-step
        for c in 0..k {
            let (a, b) = (alpha[c], beta[c]);
            let (ra, rb, rd, w) = (0..m)
                .into_par_iter()
                .with_min_len(1024)
                .map(|i| {
                    let r = resp[i * k + c];
                    if r < 1e-12 {
                        return (0.0, 0.0, 0.0, r);
                    }
                    (
                        r * (digamma(xs[i] + a) - digamma(a)),
                        r * (digamma(ns[i] - xs[i] + b) - digamma(b)),
                        r * (digamma(ns[i] + a + b) - digamma(a + b)),
                        r,
                    )
                })
                .reduce(|| (0.0, 0.0, 0.0, 0.0), |p, q| (p.0 + q.0, p.1 + q.1, p.2 + q.2, p.3 + q.3));
            weight[c] = w / m as f64;
            if rd > 0.0 {
                alpha[c] = (a * ra / rd).clamp(1e-3, 1e7);
                beta[c] = (b * rb / rd).clamp(1e-3, 1e7);
            }
        }
    }
    Mixture { weight, alpha, beta, loglik, iterations, converged, fitted_on: m }
}

/// The mixture null's table: `q_{i,m} = Σ_c w_c BB(m; n_i, α_c, β_c)`.
pub fn mixture_null(n: &[u32], mix: &Mixture, fr: &Fractions) -> NullTable {
    let k = mix.weight.len();
    let lb: Vec<f64> = (0..k).map(|c| ln_gamma(mix.alpha[c]) + ln_gamma(mix.beta[c]) - ln_gamma(mix.alpha[c] + mix.beta[c])).collect();
    let rows: Vec<Vec<(u16, f64)>> = n
        .par_iter()
        .with_min_len(512)
        .map(|&ni| {
            let nf = ni as f64;
            let mut row = Vec::new();
            let lgn: Vec<f64> = (0..k).map(|c| ln_gamma(nf + mix.alpha[c] + mix.beta[c])).collect();
            let lfn = ln_gamma(nf + 1.0);
            fr.points(ni, |f, m| {
                let mf = m as f64;
                let ln_c = lfn - ln_gamma(mf + 1.0) - ln_gamma(nf - mf + 1.0);
                let q: f64 = (0..k)
                    .map(|c| {
                        mix.weight[c]
                            * (ln_c + ln_gamma(mf + mix.alpha[c]) + ln_gamma(nf - mf + mix.beta[c]) - lgn[c] - lb[c]).exp()
                    })
                    .sum();
                if q > 0.0 {
                    row.push((f as u16, q));
                }
            });
            row
        })
        .collect();
    NullTable::from_rows(rows)
}

/// Randomized PIT values `F(x − 1) + V f(x)` of every station under the mixture.
pub fn mixture_pit(x: &[u32], n: &[u32], mix: &Mixture, seed: u64) -> Vec<f64> {
    let k = mix.weight.len();
    (0..x.len())
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let (xf, nf) = (x[i] as f64, n[i] as f64);
            let ln_c = ln_gamma(nf + 1.0) - ln_gamma(xf + 1.0) - ln_gamma(nf - xf + 1.0);
            let (mut below, mut at) = (0.0, 0.0);
            for c in 0..k {
                let (a, b, w) = (mix.alpha[c], mix.beta[c], mix.weight[c]);
                let f0 = ln_bb(xf, nf, a, b, ln_c).exp();
                // pmf ratio f(j+1)/f(j) = (n−j)(j+α) / ((j+1)(n−j−1+β))
                let mean = nf * a / (a + b);
                let (lo, hi);
                if xf <= mean {
                    // lower tail: sum f(x−1), f(x−2), … downwards
                    let (mut s, mut f, mut j) = (0.0, f0, xf);
                    while j > 0.0 {
                        f *= j * (nf - j + b) / ((nf - j + 1.0) * (j - 1.0 + a));
                        j -= 1.0;
                        s += f;
                        if f < 1e-17 * s {
                            break;
                        }
                    }
                    lo = s;
                    hi = 0.0;
                } else {
                    // upper tail: f(x+1), … then F(x−1) = 1 − f(x) − upper
                    let (mut s, mut f, mut j) = (0.0, f0, xf);
                    while j < nf {
                        f *= (nf - j) * (j + a) / ((j + 1.0) * (nf - j - 1.0 + b));
                        j += 1.0;
                        s += f;
                        if f < 1e-17 * s {
                            break;
                        }
                    }
                    lo = (1.0 - f0 - s).max(0.0);
                    hi = s;
                }
                let _ = hi;
                below += w * lo;
                at += w * f0;
            }
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            let v: f64 = rng.random();
            (below + v * at).clamp(0.0, 1.0)
        })
        .collect()
}

/// Kolmogorov–Smirnov distance of `u` from Uniform(0, 1), its asymptotic p, and the
/// chi-square (9 df) of the deciles.
pub fn uniformity(u: &[f64]) -> (f64, f64, f64) {
    let mut s = u.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    if s.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut d: f64 = 0.0;
    let mut dec = [0u64; 10];
    for (i, &v) in s.iter().enumerate() {
        d = d.max((i as f64 + 1.0) / n - v).max(v - i as f64 / n);
        dec[((v * 10.0) as usize).min(9)] += 1;
    }
    let l = (n.sqrt() + 0.12 + 0.11 / n.sqrt()) * d;
    let mut p = 0.0;
    for j in 1..=100 {
        let t = 2.0 * (if j % 2 == 1 { 1.0 } else { -1.0 }) * (-2.0 * (j * j) as f64 * l * l).exp();
        p += t;
        if t.abs() < 1e-17 {
            break;
        }
    }
    let e = n / 10.0;
    let chi2: f64 = dec.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
    (d, p.clamp(0.0, 1.0), chi2)
}

// ---------------------------------------------------------------------------------------
// On an election

/// Which candidates' shares are tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Coarse {
    /// The leader only.
    #[default]
    Leader,
    /// The leader, then every candidate (`rozenas.share.<candidate>`).
    All,
}

/// Denominator of vote shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ShareDenominator {
    /// Ballots in boxes `C` (valid + invalid); falls back to valid votes.
    #[default]
    InBoxes,
    /// Valid votes `V` (falls back to the sum of candidate votes).
    Valid,
}

/// Settings. `Default` is the documented setting.
#[derive(Debug, Clone, Serialize)]
pub struct RozenasOptions {
    /// Largest denominator `d` of a coarse fraction (10).
    pub max_denominator: u32,
    /// Monte Carlo draws `B` of the national p (999).
    pub draws: usize,
    /// Perturbation sd on the logit scale (0.1).
    pub sigma: f64,
    pub seed: u64,
    pub leader: Option<usize>,
    pub candidates: Coarse,
    pub turnout: bool,
    pub denominator: ShareDenominator,
    /// Also run the `spikes` beta-binomial mixture null with its misfit diagnostic.
    pub spikes: bool,
    /// Components of the mixture (3).
    pub spikes_components: usize,
    pub include_abroad: bool,
    pub include_electronic: bool,
    /// Above this many stations the test runs on a seeded random subset of this size
    /// (0 = always all): the perturbation null costs ~3 µs per station, 30 CPU-s at
    /// 10 million, while a million stations already detect 2% integer fraud with power
    /// near 1. The subset is chosen by a hash of each station's labels and id with the
    /// seed, so it does not depend on row order; the output says so.
    pub max_stations: usize,
}

impl Default for RozenasOptions {
    fn default() -> Self {
        RozenasOptions {
            max_denominator: 10,
            draws: 999,
            sigma: 0.1,
            seed: 20_170_101,
            leader: None,
            candidates: Coarse::Leader,
            turnout: true,
            denominator: ShareDenominator::InBoxes,
            spikes: false,
            spikes_components: 3,
            include_abroad: false,
            include_electronic: false,
            max_stations: 1_000_000,
        }
    }
}

/// One ratio's results.
#[derive(Debug, Clone, Serialize)]
pub struct CoarseRatio {
    /// Test name (`rozenas.leader`, `rozenas.turnout`, `rozenas.share.<name>`).
    pub test: String,
    /// What the ratio is, e.g. `"leader share v/C (Путин …)"`.
    pub ratio: String,
    /// Stations not testable for this ratio (`n = 0` or `x > n`).
    pub untestable: usize,
    pub result: CoarseTest,
    /// The `spikes` mixture null, when asked for.
    pub spikes: Option<SpikesResult>,
}

/// The `spikes` variant of one ratio.
#[derive(Debug, Clone, Serialize)]
pub struct SpikesResult {
    pub mixture: Mixture,
    pub result: CoarseTest,
    /// KS distance of the randomized PIT from uniform, its p, decile chi-square.
    pub misfit_ks: f64,
    pub misfit_p: f64,
    pub misfit_chi2: f64,
}

/// Everything the coarse-share test found.
#[derive(Debug, Clone, Serialize)]
pub struct RozenasReport {
    pub max_denominator: u32,
    pub sigma: f64,
    pub draws: usize,
    pub stations: usize,
    pub excluded_abroad: usize,
    pub excluded_electronic: usize,
    /// Institutions, ships, mobile, designated and partly published stations.
    pub excluded_special: usize,
    pub ratios: Vec<CoarseRatio>,
    pub notes: Vec<String>,
}

fn national_row(test: &str, what: &str, r: &CoarseTest, o: &RozenasOptions, null: &str) -> TestResult {
    let mut t = TestResult::new(test, "nation", r.observed as f64, r.stations);
    t.null_mean = Some(r.null_mean);
    t.null_sd = Some(r.null_sd);
    t.p = Some(r.p);
    t.effect = Some(r.observed as f64 - r.null_mean);
    t.extra.insert("p_exact".into(), r.p_exact);
    t.extra.insert("mc_mean".into(), r.mc_mean);
    t.extra.insert("mc_sd".into(), r.mc_sd);
    t.extra.insert("draws".into(), r.draws as f64);
    t.extra.insert("max_denominator".into(), o.max_denominator as f64);
    t.notes.push(format!(
        "Rozenas (2017) coarse {what}: stations whose ratio is exactly k/d, 2 <= d <= {} (exact integer arithmetic); {null}; p = (1 + #(T* >= T))/(B + 1), B = {}; p_exact = Poisson-binomial tail of the same null; per-fraction rows are exploratory (read their BH q)",
        o.max_denominator, r.draws
    ));
    t
}

fn fraction_rows(test: &str, r: &CoarseTest) -> Vec<TestResult> {
    r.fractions
        .iter()
        .filter(|f| f.observed > 0 || f.null_mean > 0.0)
        .map(|f| {
            let mut t = TestResult::new(format!("{test}.{}", f.fraction), "nation", f.observed as f64, r.stations);
            t.null_mean = Some(f.null_mean);
            t.null_sd = Some(f.null_sd);
            t.p = Some(f.p);
            t.q = Some(f.q);
            t.effect = Some(f.observed as f64 - f.null_mean);
            t.extra.insert("value".into(), f.value);
            if let Some(z) = f.z {
                t.extra.insert("z".into(), z);
            }
            t.notes.push(format!(
                "stations exactly at {}; p = Poisson-binomial tail of the {test} null; q = BH among the fractions",
                f.fraction
            ));
            t
        })
        .collect()
}

impl RozenasReport {
    /// National and per-fraction rows of every ratio (and the `spikes` variant).
    pub fn results(&self) -> Vec<TestResult> {
        let o = RozenasOptions { max_denominator: self.max_denominator, ..Default::default() };
        let mut v = Vec::new();
        for r in &self.ratios {
            let null = format!("null: shares perturbed on the logit scale (sd {}) and counts redrawn binomially", self.sigma);
            let mut t = national_row(&r.test, &r.ratio, &r.result, &o, &null);
            t.extra.insert("sigma".into(), self.sigma);
            v.push(t);
            v.extend(fraction_rows(&r.test, &r.result));
            if let Some(s) = &r.spikes {
                let name = r.test.replacen("rozenas.", "rozenas.spikes.", 1);
                let null = format!(
                    "null: the spikes package's beta-binomial mixture ({} components, EM on {} stations), counts drawn with each station's n",
                    s.mixture.weight.len(),
                    s.mixture.fitted_on
                );
                let mut t = national_row(&name, &r.ratio, &s.result, &o, &null);
                t.extra.insert("misfit_ks".into(), s.misfit_ks);
                if s.misfit_p < 0.001 {
                    t.notes.push(format!(
                        "MISFIT: the mixture does not describe the shares (randomized PIT not uniform: KS distance {:.3}, p {:.1e}): its coarse-share expectations are unreliable here",
                        s.misfit_ks, s.misfit_p
                    ));
                }
                if !s.mixture.converged {
                    t.notes.push(format!("EM stopped after {} iterations before converging (relative log-likelihood change > 1e-8)", s.mixture.iterations));
                }
                v.push(t);
                v.extend(fraction_rows(&name, &s.result));
                let mut m = TestResult::new(name.replacen("rozenas.spikes.", "rozenas.spikes.misfit.", 1), "nation", s.misfit_ks, r.result.stations);
                m.p = Some(s.misfit_p);
                m.extra.insert("chi2_deciles".into(), s.misfit_chi2);
                m.extra.insert("loglik".into(), s.mixture.loglik);
                m.extra.insert("iterations".into(), s.mixture.iterations as f64);
                m.notes.push(
                    "misfit of the beta-binomial mixture: Kolmogorov-Smirnov distance of the randomized PIT from uniform (asymptotic p); chi2_deciles = chi-square (9 df) of PIT deciles".into(),
                );
                v.push(m);
            }
        }
        v
    }
    /// A ratio's results by test name.
    pub fn get(&self, test: &str) -> Option<&CoarseRatio> {
        self.ratios.iter().find(|r| r.test == test)
    }
}

/// Runs the coarse-share tests on an election.
/// At most `max` of `stations` (all when `max` is 0 or not exceeded): those with the
/// smallest `splitmix64(seed ^ hash(labels, id))`, in file order, with a note.
fn subsample(e: &Election, stations: Vec<usize>, max: usize, seed: u64, notes: &mut Vec<String>) -> Vec<usize> {
    use std::hash::{Hash, Hasher};
    if max == 0 || stations.len() <= max {
        return stations;
    }
    let key = |i: usize| {
        let mut h = rustc_hash::FxHasher::default();
        for l in &e.levels {
            l.labels[l.code[i] as usize].hash(&mut h);
        }
        e.station[i].hash(&mut h);
        crate::simulate::splitmix64(seed ^ h.finish())
    };
    let mut keyed: Vec<(u64, usize)> = stations.iter().map(|&i| (key(i), i)).collect();
    let total = keyed.len();
    keyed.select_nth_unstable(max - 1);
    let mut kept: Vec<usize> = keyed[..max].iter().map(|&(_, i)| i).collect();
    kept.sort_unstable();
    notes.push(format!(
        "tested on a seeded random {} of the {} stations (max_stations; the counts below are the subset's)",
        crate::numfmt::thousands(max as u64),
        crate::numfmt::thousands(total as u64)
    ));
    kept
}

pub fn analyze(e: &Election, o: &RozenasOptions) -> crate::Result<RozenasReport> {
    use crate::Error;
    if !(2..=100).contains(&o.max_denominator) {
        return Err(Error::Usage(format!("coarse shares: --max-denominator {} must be between 2 and 100", o.max_denominator)));
    }
    if e.votes.is_empty() {
        return Err(Error::Usage("coarse shares: the file has no candidate columns".into()));
    }
    let leader = match o.leader {
        Some(j) if j < e.votes.len() => j,
        Some(j) => return Err(Error::Usage(format!("coarse shares: no candidate number {j}"))),
        None => e.leader().unwrap_or(0),
    };
    let mut notes = Vec::new();
    let (stations, (ab, el, sp)) = super::common::ordinary_stations(e, o.include_abroad, o.include_electronic, &mut notes);
    let stations = subsample(e, stations, o.max_stations, o.seed, &mut notes);
    // share denominator
    let valid = e.valid_or_sum();
    let (den, den_label): (Vec<u64>, &str) = match (o.denominator, e.get(Role::InBoxes)) {
        (ShareDenominator::InBoxes, Some(c)) => (c.iter().map(|&v| v as u64).collect(), "v/C"),
        (ShareDenominator::InBoxes, None) => match (e.get(Role::Valid), e.get(Role::Invalid)) {
            (Some(v), Some(i)) => (v.iter().zip(i).map(|(&a, &b)| a as u64 + b as u64).collect(), "v/C"),
            _ => {
                notes.push("no ballots-in-boxes column: shares are of valid votes (v/V)".into());
                (valid, "v/V")
            }
        },
        (ShareDenominator::Valid, _) => (valid, "v/V"),
    };
    let mut ratios_in: Vec<(String, String, Vec<u64>, Vec<u64>)> = Vec::new();
    let col = |v: &[u32]| stations.iter().map(|&i| v[i] as u64).collect::<Vec<u64>>();
    let den_s: Vec<u64> = stations.iter().map(|&i| den[i]).collect();
    ratios_in.push((
        "rozenas.leader".into(),
        format!("leader share {den_label} ({})", e.candidates[leader]),
        col(&e.votes[leader]),
        den_s.clone(),
    ));
    if o.candidates == Coarse::All {
        for (j, name) in e.candidates.iter().enumerate() {
            ratios_in.push((format!("rozenas.share.{name}"), format!("share {den_label} of {name}"), col(&e.votes[j]), den_s.clone()));
        }
    }
    if o.turnout {
        if let Some(nr) = e.get(Role::Registered) {
            let (num, lab) = match e.get(Role::Issued) {
                Some(b) => (b, "turnout B/N"),
                None => match e.get(Role::InBoxes) {
                    Some(c) => (c, "turnout C/N (no ballots-issued column)"),
                    None => (nr, ""),
                },
            };
            if !lab.is_empty() {
                ratios_in.push(("rozenas.turnout".into(), lab.into(), col(num), col(nr)));
            }
        } else {
            notes.push("no registered-voters column: rozenas.turnout not computed".into());
        }
    }
    let fr = Fractions::new(o.max_denominator);
    let mut ratios = Vec::new();
    for (r_i, (test, what, x, n)) in ratios_in.into_iter().enumerate() {
        let keep: Vec<usize> = (0..x.len()).filter(|&i| n[i] > 0 && x[i] <= n[i] && n[i] <= u32::MAX as u64).collect();
        let untestable = x.len() - keep.len();
        let xs: Vec<u32> = keep.iter().map(|&i| x[i] as u32).collect();
        let ns: Vec<u32> = keep.iter().map(|&i| n[i] as u32).collect();
        let dro = DrawOptions { draws: o.draws, seed: o.seed ^ ((r_i as u64) << 40) };
        let obs = classify_all(&xs, &ns, &fr);
        let table = perturbation_null(&xs, &ns, o.sigma, &fr);
        let result = test_against(&obs, &table, &fr, &dro);
        let spikes = o.spikes.then(|| {
            let mix = fit_mixture(&xs, &ns, o.spikes_components, o.seed ^ 0x5b1e);
            let t = mixture_null(&ns, &mix, &fr);
            let res = test_against(&obs, &t, &fr, &DrawOptions { seed: dro.seed ^ 0x5b1e, ..dro });
            let (ks, p, chi2) = uniformity(&mixture_pit(&xs, &ns, &mix, o.seed));
            SpikesResult { mixture: mix, result: res, misfit_ks: ks, misfit_p: p, misfit_chi2: chi2 }
        });
        if untestable > 0 {
            notes.push(format!("{test}: {untestable} stations with n = 0 or x > n not tested"));
        }
        ratios.push(CoarseRatio { test, ratio: what, untestable, result, spikes });
    }
    Ok(RozenasReport {
        max_denominator: o.max_denominator,
        sigma: o.sigma,
        draws: o.draws,
        stations: stations.len(),
        excluded_abroad: ab,
        excluded_electronic: el,
        excluded_special: sp,
        ratios,
        notes,
    })
}

