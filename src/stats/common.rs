//! Helpers shared by the statistical tests: normal tails that stay accurate far out, and
//! the Poisson-binomial distribution (a sum of independent, non-identical Bernoulli
//! variables), which is the exact null of every "count the stations that …" test.
//!
//! # Which Poisson-binomial tail, and why
//!
//! * [`pb_sf_exact`]: the exact distribution by dynamic programming (add one Bernoulli at a
//!   time). Cost `O(n · support)`; the support is trimmed to the entries above 1e-300, so it
//!   stays near `μ ± 38σ`. Used whenever that work is small (regions, tests, small files).
//! * [`pb_sf_saddlepoint`]: the Lugannani–Rice saddlepoint approximation with Daniels'
//!   (1987) second continuity correction for lattice variables. Its relative error is
//!   `O(n^{-3/2})` uniformly over the tail — unlike the normal approximation, whose relative
//!   error blows up at large `z` — and it costs a few passes over the `p_i`. Used for large
//!   `n` (a national run: 80,000 stations). The test suite checks it against the exact DP
//!   (relative error well below 1% from the centre out to p ≈ 1e-100).
//!
//! [`pb_sf`] picks between the two. Weighted sums `Σ w_i X_i` (voters, ballots, …) use the
//! continuous form of the saddlepoint approximation ([`weighted_sf`]).

use statrs::function::erf::erfc;

const SQRT_2: f64 = std::f64::consts::SQRT_2;

/// Standard normal upper tail `P(Z > z)`, accurate far into the tail (via `erfc`).
pub fn norm_sf(z: f64) -> f64 {
    0.5 * erfc(z / SQRT_2)
}

/// The `p`-quantile of sorted values by linear interpolation between order statistics
/// (Hyndman & Fan's type 7, R's default); NaN when there are none. The one definition the
/// bootstrap intervals and the ranking's clean-side references use.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = p * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Standard normal density.
pub fn norm_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// How a p-value was obtained (printed in the notes of a result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TailMethod {
    /// Exact Poisson-binomial by dynamic programming.
    ExactDp,
    /// Lugannani–Rice saddlepoint approximation (continuity-corrected for counts).
    Saddlepoint,
    /// The answer is 0 or 1 by counting alone (observed beyond what the null can produce).
    Degenerate,
}

impl TailMethod {
    pub fn describe(self) -> &'static str {
        match self {
            TailMethod::ExactDp => "p-value: exact Poisson-binomial (dynamic programming)",
            TailMethod::Saddlepoint => {
                "p-value: Poisson-binomial tail by Lugannani-Rice saddlepoint approximation (Daniels' continuity correction)"
            }
            TailMethod::Degenerate => "p-value: degenerate (observed outside the null's support)",
        }
    }
}

/// Exact pmf of `Σ Bernoulli(p_i)`, returned as `(offset, pmf)` where `pmf[j] = P(X = offset + j)`.
/// Entries below 1e-300 at either end are trimmed as they arise (their mass is far below
/// double precision of anything we report).
pub fn pb_pmf_exact(p: &[f64]) -> (usize, Vec<f64>) {
    const TINY: f64 = 1e-300;
    let mut off = 0usize;
    let mut d: Vec<f64> = Vec::with_capacity(1024);
    d.push(1.0);
    for &pi in p {
        let pi = if pi.is_finite() { pi.clamp(0.0, 1.0) } else { 0.0 };
        if pi == 0.0 {
            continue;
        }
        if pi == 1.0 {
            off += 1;
            continue;
        }
        let q = 1.0 - pi;
        d.push(0.0);
        for j in (1..d.len()).rev() {
            d[j] = d[j] * q + d[j - 1] * pi;
        }
        d[0] *= q;
        // trim both ends
        let lo = d.iter().position(|&x| x > TINY).unwrap_or(0);
        if lo > 0 {
            d.drain(..lo);
            off += lo;
        }
        while d.len() > 1 && *d.last().unwrap() <= TINY {
            d.pop();
        }
    }
    (off, d)
}

/// Exact `P(X ≥ k)` for `X = Σ Bernoulli(p_i)` (dynamic programming; see module docs).
///
/// The DP keeps the pmf only below `k` and collects everything that reaches `k` in one
/// absorbing cell (mass at `k` or above never comes back down): the tail is that cell,
/// a sum of non-negative terms (no cancellation), at a cost `O(n · min(k, support))`
/// instead of the whole support's. The calibration's commissions and small regions, whose
/// observed counts sit a few units above zero, were ten times that cost before
/// (`pb_pmf_exact` over `μ ± 38σ`). Entries below 1e-300 are trimmed at both ends, as in
/// [`pb_pmf_exact`]; the tail is normalised by the mass kept, as before.
pub fn pb_sf_exact(p: &[f64], k: u64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut ones = 0u64;
    for &pi in p {
        if pi.is_finite() && pi >= 1.0 {
            ones += 1;
        }
    }
    if k <= ones {
        return 1.0;
    }
    // threshold on the sum of the non-degenerate terms
    let k = (k - ones) as usize;
    let mut lo = 0usize; // d[j] = P(S = lo + j), for lo + j < k
    let mut d: Vec<f64> = Vec::with_capacity(k.min(1024));
    d.push(1.0);
    let mut upper = 0.0f64; // P(S ≥ k)
    for &pi in p {
        let pi = if pi.is_finite() { pi.clamp(0.0, 1.0) } else { 0.0 };
        if pi == 0.0 || pi == 1.0 {
            continue;
        }
        let q = 1.0 - pi;
        if d.is_empty() {
            break;
        }
        if lo + d.len() == k {
            // the top cell's step up lands in the absorbing cell
            upper += d[d.len() - 1] * pi;
        } else {
            d.push(0.0);
        }
        for j in (1..d.len()).rev() {
            d[j] = d[j] * q + d[j - 1] * pi;
        }
        d[0] *= q;
        let first = d.iter().position(|&x| x > TINY).unwrap_or(d.len());
        if first > 0 {
            d.drain(..first);
            lo += first;
        }
        while d.last().is_some_and(|&x| x <= TINY) {
            d.pop();
        }
    }
    let lower: f64 = d.iter().sum();
    let tot = upper + lower;
    if !(tot > 0.0) {
        // every cell trimmed below 1e-300: the whole mass lies at or above k
        return if lo >= k { 1.0 } else { 0.0 };
    }
    if upper <= lower { upper / tot } else { 1.0 - lower / tot }
}

/// Per-term constants of the cumulant generating function: `ln q_i` and `logit p_i`.
/// Terms with `p ∈ {0, 1}` are constants and are handled by the caller.
struct Cgf<'a> {
    lq: Vec<f64>,
    logit: Vec<f64>,
    w: Option<Vec<f64>>,
    /// shift from terms with p = 1: Σ w_i
    ones: f64,
    _p: std::marker::PhantomData<&'a ()>,
}

impl<'a> Cgf<'a> {
    fn new(p: &'a [f64], w: Option<&'a [f64]>) -> Self {
        let mut lq = Vec::with_capacity(p.len());
        let mut logit = Vec::with_capacity(p.len());
        let mut ww = w.map(|_| Vec::with_capacity(p.len()));
        let mut ones = 0.0;
        for (i, &pi) in p.iter().enumerate() {
            let wi = w.map_or(1.0, |w| w[i]);
            if pi >= 1.0 {
                ones += wi;
                continue;
            }
            if pi <= 0.0 || wi == 0.0 {
                continue;
            }
            let q = (-pi).ln_1p();
            lq.push(q);
            logit.push(pi.ln() - q);
            if let Some(v) = ww.as_mut() {
                v.push(wi);
            }
        }
        Cgf { lq, logit, w: ww, ones, _p: std::marker::PhantomData }
    }

    /// `K'(s), K''(s)` only (the Newton iterations need no `K`).
    fn eval12(&self, s: f64) -> (f64, f64) {
        let mut k1 = self.ones;
        let mut k2 = 0.0;
        match &self.w {
            None => {
                for lg in &self.logit {
                    let t = 1.0 / (1.0 + (-(lg + s)).exp());
                    k1 += t;
                    k2 += t * (1.0 - t);
                }
            }
            Some(w) => {
                for (lg, wi) in self.logit.iter().zip(w) {
                    let t = 1.0 / (1.0 + (-(lg + s * wi)).exp());
                    k1 += wi * t;
                    k2 += wi * wi * t * (1.0 - t);
                }
            }
        }
        (k1, k2)
    }

    /// `K(s), K'(s), K''(s)` of `Σ w_i X_i`.
    fn eval(&self, s: f64) -> (f64, f64, f64) {
        let mut k0 = s * self.ones;
        let mut k1 = self.ones;
        let mut k2 = 0.0;
        match &self.w {
            None => {
                for (lq, lg) in self.lq.iter().zip(&self.logit) {
                    let d = lg + s;
                    let e = (-d.abs()).exp();
                    // softplus(d) = ln(1 + e^d); sigmoid(d) = 1 / (1 + e^{-d})
                    k0 += lq + d.max(0.0) + e.ln_1p();
                    let t = if d >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                    k1 += t;
                    k2 += t * (1.0 - t);
                }
            }
            Some(w) => {
                for ((lq, lg), wi) in self.lq.iter().zip(&self.logit).zip(w) {
                    let d = lg + s * wi;
                    let e = (-d.abs()).exp();
                    k0 += lq + d.max(0.0) + e.ln_1p();
                    let t = if d >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                    k1 += wi * t;
                    k2 += wi * wi * t * (1.0 - t);
                }
            }
        }
        (k0, k1, k2)
    }
}

/// Solves `K'(s) = x` (K' is increasing); `x` must lie strictly inside the support.
/// Newton's method, safeguarded by a bracket that starts as a half-line (the root has the
/// sign of `x − mean`) and is tightened by every evaluation; while one side is still
/// open, a step that leaves the bracket is replaced by doubling towards the open side.
fn solve_saddle(c: &Cgf, x: f64, mean: f64, var: f64) -> f64 {
    let (mut lo, mut hi) = if x > mean { (0.0, f64::INFINITY) } else { (f64::NEG_INFINITY, 0.0) };
    let mut s = (x - mean) / var.max(1e-300);
    for _ in 0..400 {
        let (k1, k2) = c.eval12(s);
        let f = k1 - x;
        if f > 0.0 {
            hi = s;
        } else {
            lo = s;
        }
        let mut next = if k2 > 0.0 { s - f / k2 } else { f64::NAN };
        if !(next > lo && next < hi) {
            next = if hi.is_infinite() {
                if s > 0.0 { 2.0 * s } else { 1.0 / var.sqrt().max(1e-300) }
            } else if lo.is_infinite() {
                if s < 0.0 { 2.0 * s } else { -1.0 / var.sqrt().max(1e-300) }
            } else {
                0.5 * (lo + hi)
            };
        }
        if (next - s).abs() <= 1e-13 * (1.0 + s.abs()) {
            return next;
        }
        s = next;
    }
    s
}

/// Saddlepoint `P(S ≥ x)` for `S = Σ w_i X_i`, `X_i ~ Bernoulli(p_i)` independent.
///
/// `lattice = true` (unit weights, integer `x`): Daniels' second continuity correction,
/// the target is `x − ½` and `u = 2 sinh(ŝ/2) √K''(ŝ)`. Otherwise the continuous form
/// `u = ŝ √K''(ŝ)`. Returns `(p, method)`.
pub fn saddlepoint_sf(p: &[f64], w: Option<&[f64]>, x: f64, lattice: bool) -> (f64, TailMethod) {
    let (mut mean, mut var, mut k3) = (0.0, 0.0, 0.0);
    let (mut min_s, mut max_s) = (0.0, 0.0);
    for (i, &pi) in p.iter().enumerate() {
        let wi = w.map_or(1.0, |w| w[i]);
        let v = pi * (1.0 - pi);
        mean += wi * pi;
        var += wi * wi * v;
        k3 += wi * wi * wi * v * (1.0 - 2.0 * pi);
        // support of S
        if pi >= 1.0 {
            min_s += wi;
            max_s += wi;
        } else if pi > 0.0 {
            min_s += wi.min(0.0);
            max_s += wi.max(0.0);
        }
    }
    let target = if lattice { x - 0.5 } else { x };
    if target <= min_s {
        return (1.0, TailMethod::Degenerate);
    }
    if target >= max_s {
        // continuous form at the very top: P(S = max) = Π over positive weights of p_i
        let at_top = !lattice && target == max_s;
        let pr = if at_top {
            p.iter().enumerate().filter(|&(i, _)| w.map_or(1.0, |w| w[i]) > 0.0).map(|(_, &pi)| pi).product()
        } else {
            0.0
        };
        return (pr, TailMethod::Degenerate);
    }
    let sd = var.sqrt();
    let z = (target - mean) / sd;
    if z.abs() < 1e-4 {
        // Lugannani–Rice is 0/0 at the mean; its limit is the Edgeworth term.
        let gamma = k3 / (var * sd);
        return (0.5 - gamma / (6.0 * (2.0 * std::f64::consts::PI).sqrt()), TailMethod::Saddlepoint);
    }
    let c = Cgf::new(p, w);
    let s = solve_saddle(&c, target, mean, var);
    let (k0, _, k2) = c.eval(s);
    let r2 = 2.0 * (s * target - k0);
    let wv = s.signum() * r2.max(0.0).sqrt();
    let u = if lattice { 2.0 * (s / 2.0).sinh() * k2.sqrt() } else { s * k2.sqrt() };
    let sf = norm_sf(wv) + norm_pdf(wv) * (1.0 / u - 1.0 / wv);
    (sf.clamp(0.0, 1.0), TailMethod::Saddlepoint)
}

/// Work (inner-loop steps) above which [`pb_sf`] switches from the exact DP to the
/// saddlepoint approximation.
pub const EXACT_DP_BUDGET: f64 = 2.0e5;

/// `P(X ≥ k)` for `X = Σ Bernoulli(p_i)`: exact DP when cheap, saddlepoint otherwise.
pub fn pb_sf(p: &[f64], k: u64) -> (f64, TailMethod) {
    let n = p.iter().filter(|&&x| x > 0.0 && x < 1.0).count() as f64;
    let var: f64 = p.iter().map(|&x| x * (1.0 - x)).sum();
    let width = (80.0 * var.sqrt() + 100.0).min(n + 1.0);
    let ones = p.iter().filter(|&&x| x >= 1.0).count() as u64;
    let pos = p.iter().filter(|&&x| x > 0.0).count() as u64;
    if k <= ones {
        return (1.0, TailMethod::Degenerate);
    }
    if k > pos {
        return (0.0, TailMethod::Degenerate);
    }
    if n * width <= EXACT_DP_BUDGET {
        (pb_sf_exact(p, k), TailMethod::ExactDp)
    } else {
        saddlepoint_sf(p, None, k as f64, true)
    }
}

/// `P(Σ w_i X_i ≥ x)` for non-negative weights (continuous saddlepoint approximation).
pub fn weighted_sf(p: &[f64], w: &[f64], x: f64) -> (f64, TailMethod) {
    saddlepoint_sf(p, Some(w), x, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Type 7 by hand: 1, 2, 3, 4 at 0.5 → 2.5, at 0.25 → 1 + 0.75 = 1.75, at 1 → 4; one
    /// value is every quantile; none is NaN (R: quantile(1:4, c(.25, .5, 1)) = 1.75 2.5 4).
    #[test]
    fn quantile_type_7_by_hand() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!((quantile_sorted(&v, 0.25), quantile_sorted(&v, 0.5), quantile_sorted(&v, 1.0), quantile_sorted(&v, 0.0)), (1.75, 2.5, 4.0, 1.0));
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);
        assert!(quantile_sorted(&[], 0.5).is_nan());
    }

    #[test]
    fn exact_dp_small() {
        // X = B(0.5) + B(0.2): P(0)=0.4, P(1)=0.5*0.8+0.5*0.2=0.5, P(2)=0.1
        let (off, d) = pb_pmf_exact(&[0.5, 0.2]);
        assert_eq!(off, 0);
        assert!((d[0] - 0.4).abs() < 1e-15 && (d[1] - 0.5).abs() < 1e-15 && (d[2] - 0.1).abs() < 1e-15);
        assert!((pb_sf_exact(&[0.5, 0.2], 1) - 0.6).abs() < 1e-15);
        assert!((pb_sf_exact(&[0.5, 0.2], 2) - 0.1).abs() < 1e-15);
        assert_eq!(pb_sf_exact(&[0.5, 0.2], 3), 0.0);
        assert_eq!(pb_sf_exact(&[1.0, 0.2], 1), 1.0);
    }

    /// The truncated DP with its absorbing cell against the whole pmf summed (an
    /// independent route through the same distribution): the tails agree to 1e-12
    /// relative wherever the tail is above 1e-250, for small and large p, certain ones
    /// and zeros mixed in, from far below the mean to beyond the support.
    #[test]
    fn truncated_dp_against_whole_pmf() {
        let tail = |p: &[f64], k: u64| -> f64 {
            let (off, d) = pb_pmf_exact(p);
            let k = k as usize;
            if k <= off {
                return 1.0;
            }
            d.iter().skip(k - off).sum::<f64>() / d.iter().sum::<f64>()
        };
        let mut checked = 0;
        for (n, scale) in [(5usize, 0.5), (36, 0.03), (400, 0.02), (1500, 0.3), (3000, 0.01)] {
            let mut p: Vec<f64> = (0..n).map(|i| scale * (0.2 + 1.6 * ((i * 7919 % 101) as f64 / 100.0))).map(|x: f64| x.min(0.999)).collect();
            p[0] = 1.0;
            p[1] = 0.0;
            let mean: f64 = p.iter().sum();
            let sd: f64 = p.iter().map(|x| x * (1.0 - x)).sum::<f64>().sqrt();
            for z in [-40.0, -5.0, -1.0, 0.0, 0.5, 2.0, 6.0, 15.0, 60.0] {
                let k = (mean + z * sd).max(0.0).round() as u64;
                let (a, b) = (pb_sf_exact(&p, k), tail(&p, k));
                if b > 1e-250 {
                    assert!((a / b - 1.0).abs() < 1e-12, "n={n} k={k}: truncated {a:e}, whole {b:e}");
                    checked += 1;
                } else {
                    assert!(a < 1e-240, "n={n} k={k}: {a:e} where the whole pmf gives {b:e}");
                }
            }
            assert_eq!(pb_sf_exact(&p, n as u64), 0.0, "beyond the support (one p is 0)");
        }
        assert!(checked >= 35, "{checked}");
    }

    #[test]
    fn saddlepoint_binomial() {
        // identical p: Binomial(400, 0.1); P(X ≥ 60) = 6.3599e-4 (R: pbinom(59,400,.1,lower=FALSE)
        // = 0.0006359...). Check against the exact DP instead of a pasted constant.
        let p = vec![0.1; 400];
        for k in [30u64, 40, 45, 50, 60, 80, 100] {
            let e = pb_sf_exact(&p, k);
            let (s, _) = saddlepoint_sf(&p, None, k as f64, true);
            assert!((s / e - 1.0).abs() < 0.01, "k={k}: exact {e} saddle {s}");
        }
    }

    #[test]
    fn degenerate_tails() {
        // nothing observed: P(S ≥ 0) = 1, lattice or not
        assert_eq!(saddlepoint_sf(&[0.3, 0.2], None, 0.0, true).0, 1.0);
        assert_eq!(saddlepoint_sf(&[0.3, 0.2], Some(&[2.0, 3.0]), 0.0, false).0, 1.0);
        assert_eq!(saddlepoint_sf(&[], Some(&[]), 0.0, false).0, 1.0);
        // all hit (continuous form): P = Π p_i
        assert!((saddlepoint_sf(&[0.3, 0.2], Some(&[2.0, 3.0]), 5.0, false).0 - 0.06).abs() < 1e-15);
        // beyond the support
        assert_eq!(saddlepoint_sf(&[0.3, 0.2], None, 3.0, true).0, 0.0);
        assert_eq!(pb_sf(&[0.3, 0.2], 3).0, 0.0);
        assert_eq!(pb_sf(&[], 0).0, 1.0);
    }

    #[test]
    fn weighted_against_exact() {
        // 300 Bernoullis with integer weights 1..=20: exact distribution of the weighted sum
        // by DP over totals, against the continuous saddlepoint approximation (evaluated
        // half a unit below the integer threshold, the natural continuity correction).
        let n = 300;
        let p: Vec<f64> = (0..n).map(|i| 0.05 + 0.4 * ((i * 37 % 101) as f64 / 100.0)).collect();
        let w: Vec<f64> = (0..n).map(|i| (1 + i * 13 % 20) as f64).collect();
        let total = w.iter().sum::<f64>() as usize;
        let mut d = vec![0.0f64; total + 1];
        d[0] = 1.0;
        let mut top = 0usize;
        for i in 0..n {
            let wi = w[i] as usize;
            for s in (0..=top).rev() {
                let v = d[s];
                d[s + wi] += v * p[i];
                d[s] = v * (1.0 - p[i]);
            }
            top += wi;
        }
        let mean: f64 = p.iter().zip(&w).map(|(p, w)| p * w).sum();
        let sd: f64 = p.iter().zip(&w).map(|(p, w)| w * w * p * (1.0 - p)).sum::<f64>().sqrt();
        for z in [0.5, 1.0, 2.0, 3.0, 5.0, 7.0] {
            let x = (mean + z * sd).ceil() as usize;
            let exact: f64 = d[x..].iter().sum();
            let (a, _) = weighted_sf(&p, &w, x as f64 - 0.5);
            assert!((a / exact - 1.0).abs() < 0.05, "z={z}: saddlepoint {a:e} vs exact {exact:e}");
        }
    }

    #[test]
    fn norm_tail() {
        assert!((norm_sf(0.0) - 0.5).abs() < 1e-15);
        // statrs' erfc is good to ~1e-10 relative, plenty for p-values
        assert!((norm_sf(1.959963984540054) / 0.025 - 1.0).abs() < 1e-9, "{}", norm_sf(1.959963984540054));
        // P(Z > 10) = 7.619853024160527e-24
        assert!((norm_sf(10.0) / 7.619853024160527e-24 - 1.0).abs() < 1e-9);
    }
}

/// The stations a test uses: every station but those set aside by default (abroad and
/// electronic unless included; institutions, ships, mobile, designated and partly
/// published stations always), with the counts set aside `(abroad, electronic,
/// special)` and a note about them pushed onto `notes`.
pub fn ordinary_stations(
    e: &crate::model::Election,
    include_abroad: bool,
    include_electronic: bool,
    notes: &mut Vec<String>,
) -> (Vec<usize>, (usize, usize, usize)) {
    use crate::model::Special;
    let (mut ab, mut el, mut sp) = (0, 0, 0);
    let special = e.special.len() == e.len();
    let stations: Vec<usize> = (0..e.len())
        .filter(|&i| match if special { e.special[i] } else { None } {
            Some(Special::Abroad) if !include_abroad => {
                ab += 1;
                false
            }
            Some(Special::Electronic) if !include_electronic => {
                el += 1;
                false
            }
            Some(s) if s.is_institutional() => {
                sp += 1;
                false
            }
            _ => true,
        })
        .collect();
    if ab + el + sp > 0 {
        notes.push(format!(
            "set aside: {ab} stations abroad, {el} electronic pseudo-stations, {sp} special stations (institutions, ships, mobile, partly published)"
        ));
    }
    (stations, (ab, el, sp))
}
