//! Digits, their classical (uniform / Benford) expectations, and the classical tests.

#![allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// Digits and the expected frequencies

/// Last digit of `c`.
#[inline]
pub fn last_digit(c: u32) -> usize {
    (c % 10) as usize
}

/// Second digit from the left (`None` for `c < 10`).
#[inline]
pub fn second_digit(c: u32) -> Option<usize> {
    if c < 10 {
        return None;
    }
    let mut x = c;
    while x >= 100 {
        x /= 10;
    }
    Some((x % 10) as usize)
}

/// Last-but-one (tens) digit (`None` for `c < 10`).
#[inline]
pub fn penultimate_digit(c: u32) -> Option<usize> {
    (c >= 10).then_some(((c / 10) % 10) as usize)
}

/// Penultimate-digit chi-square per candidate and pooled (9 df against uniform).
pub fn penultimate_results(tallies: &[[u64; 10]], names: &[String], scope: &str, min: u32) -> Vec<TestResult> {
    let mut pooled = [0u64; 10];
    for h in tallies {
        for d in 0..10 {
            pooled[d] += h[d];
        }
    }
    let mut out = Vec::new();
    for (name, h) in names.iter().zip(tallies).chain(std::iter::once((&"pooled".to_string(), &pooled))) {
        let n: u64 = h.iter().sum();
        if n == 0 {
            continue;
        }
        let (x, p) = chi2_uniform(h);
        let mut r = TestResult::new(format!("digits.penultimate.chi2.{name}"), scope, x, n as usize);
        r.null_mean = Some(9.0);
        r.null_sd = Some(18f64.sqrt());
        r.p = Some(p);
        r.effect = Some((x / n as f64).sqrt());
        for d in 0..10 {
            r.extra.insert(format!("d{d}"), h[d] as f64 / n as f64);
        }
        r.notes.push(format!(
            "penultimate (tens) digit of counts >= {min} against uniform, Pearson chi-square 9 df (Beber & Scacco 2012 style); VALID ONLY where counts spread over many hundreds: below ~100 the tens digit is not uniform by arithmetic alone, and stations of similar, few-hundred sizes make it reject clean elections often; read it with its calibrated rate"
        ));
        out.push(r);
    }
    out
}

/// Second-digit Benford frequencies `q_d = Σ_{k=1..9} log10(1 + 1/(10k + d))`.
pub fn benford_second() -> [f64; 10] {
    let mut q = [0.0; 10];
    for (d, qd) in q.iter_mut().enumerate() {
        *qd = (1..=9).map(|k| (1.0 + 1.0 / (10 * k + d) as f64).log10()).sum();
    }
    q
}

/// Mean of the second-digit Benford distribution (4.187).
pub fn benford_second_mean() -> f64 {
    benford_second().iter().enumerate().map(|(d, q)| d as f64 * q).sum()
}

pub(super) fn mean_var_of(probs: &[f64; 10]) -> (f64, f64) {
    let m: f64 = probs.iter().enumerate().map(|(d, q)| d as f64 * q).sum();
    let v: f64 = probs.iter().enumerate().map(|(d, q)| (d as f64 - m).powi(2) * q).sum();
    (m, v)
}

// ---------------------------------------------------------------------------------------
// Test statistics and their classical p-values

/// Pearson chi-square of `obs` against probabilities `probs` (summing to 1) and its upper
/// tail p with `k − 1` degrees of freedom. Returns `(statistic, p)`; `(NaN, NaN)` when
/// there are no observations.
pub fn chi2_gof(obs: &[u64], probs: &[f64]) -> (f64, f64) {
    let n: u64 = obs.iter().sum();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let n = n as f64;
    let x: f64 = obs.iter().zip(probs).map(|(&o, &p)| (o as f64 - n * p).powi(2) / (n * p)).sum();
    let df = (obs.len() - 1) as f64;
    (x, chi2_sf(x, df))
}

/// Upper tail of χ²(df).
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    ChiSquared::new(df).expect("df > 0").sf(x)
}

/// Chi-square of ten digit counts against the uniform distribution (9 df).
pub fn chi2_uniform(obs: &[u64; 10]) -> (f64, f64) {
    chi2_gof(obs, &[0.1; 10])
}

/// `ln P(X = k)`, `X ~ Binomial(n, p)`.
pub fn binom_ln_pmf(k: u64, n: u64, p: f64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    let (kf, nf) = (k as f64, n as f64);
    let mut l = ln_gamma(nf + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(nf - kf + 1.0);
    if k > 0 {
        l += kf * p.ln();
    }
    if k < n {
        l += (nf - kf) * (-p).ln_1p();
    }
    l
}

/// `P(X ≤ k)`, `X ~ Binomial(n, p)` (regularised incomplete beta).
pub fn binom_cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n {
        1.0
    } else {
        beta_reg((n - k) as f64, k as f64 + 1.0, 1.0 - p)
    }
}

/// `P(X ≥ k)`, `X ~ Binomial(n, p)`.
pub fn binom_sf_ge(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        1.0
    } else if k > n {
        0.0
    } else {
        beta_reg(k as f64, (n - k + 1) as f64, p)
    }
}

/// Exact two-sided binomial test, "minlike" rule: the probability of all outcomes no more
/// likely than the observed one (relative tolerance 1e-7), as R's `binom.test` and scipy's
/// `binomtest(k, n, p).pvalue`.
pub fn binom_test_two_sided(k: u64, n: u64, p: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let np = n as f64 * p;
    let d = binom_ln_pmf(k, n, p);
    let lim = d + (1e-7f64).ln_1p();
    if (k as f64 - np).abs() < 1e-12 {
        return 1.0;
    }
    let pv = if (k as f64) < np {
        // smallest x ≥ ceil(np) with pmf(x) ≤ pmf(k)·(1+1e-7): pmf decreasing there
        let (mut lo, mut hi) = (np.ceil() as u64, n);
        if binom_ln_pmf(hi, n, p) > lim {
            binom_cdf(k, n, p)
        } else {
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if binom_ln_pmf(mid, n, p) <= lim { hi = mid } else { lo = mid + 1 }
            }
            binom_cdf(k, n, p) + binom_sf_ge(lo, n, p)
        }
    } else {
        // largest x ≤ floor(np) with pmf(x) ≤ lim: pmf increasing there
        let (mut lo, mut hi) = (0u64, np.floor() as u64);
        if binom_ln_pmf(0, n, p) > lim {
            binom_sf_ge(k, n, p)
        } else {
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if binom_ln_pmf(mid, n, p) <= lim { lo = mid } else { hi = mid - 1 }
            }
            binom_cdf(lo, n, p) + binom_sf_ge(k, n, p)
        }
    };
    pv.min(1.0)
}

/// Two-pair last-digit tallies: of `n` counts (≥ 10), how many end in a repeated pair
/// (`11`, `22`, …) and how many in an adjacent pair (`|a − b| = 1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PairTally {
    pub n: u64,
    pub repeated: u64,
    pub adjacent: u64,
}

impl PairTally {
    #[inline]
    pub fn add(&mut self, c: u32) {
        let a = (c / 10) % 10;
        let b = c % 10;
        self.n += 1;
        self.repeated += (a == b) as u64;
        self.adjacent += (a.abs_diff(b) == 1) as u64;
    }
}

/// Share of the 100 last-two-digit pairs that are repeated (0.10) and adjacent (0.18), by
/// enumeration.
pub fn pair_expectations() -> (f64, f64) {
    let mut t = PairTally::default();
    for c in 100..200u32 {
        t.add(c);
    }
    (t.repeated as f64 / 100.0, t.adjacent as f64 / 100.0)
}

