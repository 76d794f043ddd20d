//! The basic bootstrap interval of R's `boot::boot.ci(type = "basic")`, with `boot`'s
//! `norm.inter` quantiles (Davison & Hinkley 1997, eq. 5.8), and its inversion into a
//! p-value against a null value.

use statrs::distribution::{ContinuousCDF, Normal};

fn qnorm(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// `norm.inter(t, alpha)` on the finite replicates `sorted` (ascending): the order
/// statistic at `(R+1)·alpha`, interpolated on the normal-quantile scale when that rank is
/// not whole; the extreme order statistics beyond the ends.
pub fn norm_inter(sorted: &[f64], alpha: f64) -> f64 {
    let r = sorted.len();
    let rk = (r as f64 + 1.0) * alpha;
    let k = rk.trunc() as usize;
    if k == 0 {
        return sorted[0];
    }
    if k >= r {
        return sorted[r - 1];
    }
    if k as f64 == rk {
        return sorted[k - 1];
    }
    let (t1, t2, t3) = (qnorm(alpha), qnorm(k as f64 / (r as f64 + 1.0)), qnorm((k as f64 + 1.0) / (r as f64 + 1.0)));
    let (tk, tk1) = (sorted[k - 1], sorted[k]);
    tk + (t1 - t2) / (t3 - t2) * (tk1 - tk)
}

/// The basic interval `(2t₀ − q(1−α/2), 2t₀ − q(α/2))` from the replicates `t` (any
/// order; non-finite ones dropped, as `boot.ci` does). `None` when `t₀` is not finite, no
/// replicate is, or all are equal (`boot.ci`: "All values of t are equal").
pub fn basic_ci(t0: f64, t: &[f64], alpha: f64) -> Option<(f64, f64)> {
    if !t0.is_finite() {
        return None;
    }
    let mut s: Vec<f64> = t.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let eps = 1e-8f64.min(mean / 1e6);
    if s.iter().all(|x| (x - mean).abs() < eps) {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let hi_q = norm_inter(&s, 1.0 - alpha / 2.0);
    let lo_q = norm_inter(&s, alpha / 2.0);
    Some((2.0 * t0 - hi_q, 2.0 * t0 - lo_q))
}

/// Two-sided p of the null value `theta0` by inverting the basic interval: the interval
/// at level `1 − a` excludes `theta0` when `2t₀ − theta0` lies beyond the replicates'
/// `a/2` or `1 − a/2` quantile, so `p = 2·min(1 + #{t* ≤ x}, 1 + #{t* ≥ x}) / (R + 1)`
/// with `x = 2t₀ − theta0`, capped at 1.
pub fn basic_p(t0: f64, t: &[f64], theta0: f64) -> Option<f64> {
    if !t0.is_finite() {
        return None;
    }
    let x = 2.0 * t0 - theta0;
    let (mut below, mut above, mut r) = (0usize, 0usize, 0usize);
    for &v in t.iter().filter(|v| v.is_finite()) {
        r += 1;
        below += (v <= x) as usize;
        above += (v >= x) as usize;
    }
    if r == 0 {
        return None;
    }
    Some((2.0 * (1 + below.min(above)) as f64 / (r + 1) as f64).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_rank_takes_the_order_statistic() {
        // R = 39: (R+1)·0.025 = 1 and (R+1)·0.975 = 39, whole ranks
        let t: Vec<f64> = (1..=39).map(|x| x as f64).collect();
        assert_eq!(norm_inter(&t, 0.025), 1.0);
        assert_eq!(norm_inter(&t, 0.975), 39.0);
        assert_eq!(basic_ci(20.0, &t, 0.05), Some((1.0, 39.0)));
    }

    #[test]
    fn interpolates_on_the_normal_scale() {
        // R = 1000: rank 975.975 between the 975th and 976th
        let t: Vec<f64> = (1..=1000).map(|x| x as f64).collect();
        let q = norm_inter(&t, 0.975);
        let w = (qnorm(0.975) - qnorm(975.0 / 1001.0)) / (qnorm(976.0 / 1001.0) - qnorm(975.0 / 1001.0));
        assert!((q - (975.0 + w)).abs() < 1e-12 && w > 0.9 && w < 1.0, "{q} {w}");
    }

    #[test]
    fn equal_replicates_give_no_interval() {
        assert_eq!(basic_ci(0.2, &[0.2; 50], 0.05), None);
        assert_eq!(basic_ci(f64::NAN, &[0.1, 0.2], 0.05), None);
        assert_eq!(basic_p(0.2, &[0.2; 9], 0.2), Some(1.0));
        assert!(basic_p(0.5, &[0.49, 0.5, 0.51, 0.52], 0.2).unwrap() <= 0.4);
    }
}
