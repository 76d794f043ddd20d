//! The binomial samplers of the replicates (module docs of [`super`], "The binomial sampler").

use super::*;

// ---------------------------------------------------------------------------------------
// The fast binomial sampler

/// Standard normal deviate (rand_distr's ziggurat).
#[inline]
pub(super) fn normal<R: Rng>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// `Binomial(n, p)` (see the module docs): exact inversion for a small mean, a
/// Cornish–Fisher-corrected normal otherwise. `p` outside (0, 1) or NaN gives 0 or `n`.
#[inline]
pub fn binomial<R: Rng>(rng: &mut R, n: u32, p: f64) -> u32 {
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    let nf = n as f64;
    let mean = nf * p;
    if mean < INVERSION_MEAN {
        // cdf inversion from 0; pmf(0) = q^n ≥ 2^{-2·16}·… here, no underflow.
        let q = 1.0 - p;
        let r = p / q;
        let mut f = if n <= i32::MAX as u32 { q.powi(n as i32) } else { (nf * (-p).ln_1p()).exp() };
        let mut u: f64 = rng.random::<f64>();
        let mut k = 0u32;
        while u >= f {
            u -= f;
            if k >= n {
                return n; // round-off at the very end of the cdf
            }
            let inv = if ((k + 1) as usize) < RECIPROCAL.len() { RECIPROCAL[(k + 1) as usize] } else { 1.0 / (k + 1) as f64 };
            f *= r * (n - k) as f64 * inv;
            k += 1;
            if f <= 0.0 {
                break;
            }
        }
        return k;
    }
    let q = 1.0 - p;
    let var = mean * q;
    let sd = var.sqrt();
    let g = (1.0 - 2.0 * p) / sd; // skewness
    let ku = (1.0 - 6.0 * p * q) / var; // excess kurtosis
    let z = normal(rng);
    let z2 = z * z;
    let w = z + g / 6.0 * (z2 - 1.0) + ku / 24.0 * (z2 * z - 3.0 * z) - g * g / 36.0 * (2.0 * z2 * z - 5.0 * z);
    // clamped first, then truncated: floor for a non-negative value (no libm call)
    (mean + (var - 1.0 / 12.0).sqrt() * w + 0.5).clamp(0.0, nf) as u32
}

/// `Binomial(n, p)` with `logit p ~ Normal(l, sd)`: exactly (a logit-normal draw, then
/// [`binomial`]) when the mean of the smaller tail is below [`INVERSION_MEAN`]; otherwise
/// one normal draw with the mixture's variance `n p̄q̄ + n(n−1)(p̄q̄·sd)²` (delta method,
/// `p̄ = sigmoid(l)`), the binomial part's skewness (Cornish–Fisher) and Sheppard's
/// correction. Large counts' digits and the tests on them depend on this distribution only
/// through its smoothness and spread.
#[inline]
pub fn overdispersed<R: Rng>(rng: &mut R, n: u32, l: f64, sd: f64) -> u32 {
    let p = sigmoid(l);
    let nf = n as f64;
    let q = 1.0 - p;
    if nf * p.min(q) < INVERSION_MEAN {
        let pp = sigmoid(l + sd * normal(rng));
        return binomial(rng, n, pp);
    }
    let vb = nf * p * q;
    let vo = nf * (nf - 1.0) * (p * q * sd).powi(2);
    let var = vb + vo;
    let g = (1.0 - 2.0 * p) * vb / (var * var.sqrt());
    let z = normal(rng);
    let w = z + g / 6.0 * (z * z - 1.0);
    (nf * p + (var - 1.0 / 12.0).sqrt() * w + 0.5).clamp(0.0, nf) as u32
}

#[inline]
pub(super) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[inline]
pub(super) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Empirical logit and its binomial variance (as `simulate::like`).
#[inline]
pub(super) fn elogit(x: u64, n: u64) -> (f64, f64) {
    let p = (x as f64 + 0.5) / (n as f64 + 1.0);
    (logit(p), 1.0 / ((n as f64 + 1.0) * p * (1.0 - p)))
}
