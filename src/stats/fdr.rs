//! Benjamini–Hochberg false-discovery-rate q-values (DESIGN.md §3, "Multiple testing").
//!
//! For `m` p-values sorted increasingly `p_(1) ≤ … ≤ p_(m)`, the BH-adjusted value is
//! `q_(i) = min_{j ≥ i} min(1, m·p_(j) / j)`, exactly as R's
//! `p.adjust(p, method = "BH")`. Tied p-values get the same q (the running minimum from
//! the top makes this automatic). Missing values (`NaN`, `None`) are left out of `m` and
//! come back as missing, as in R with `na.rm`-style handling (`p.adjust` excludes `NA`
//! from `n` by default).

/// BH q-values; `NaN` inputs give `NaN` outputs and do not count towards `m`.
pub fn bh(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let m = idx.len();
    let mut q = vec![f64::NAN; p.len()];
    if m == 0 {
        return q;
    }
    // decreasing p; stable so equal p keep input order (irrelevant to the values)
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut running = f64::INFINITY;
    for (r, &i) in idx.iter().enumerate() {
        let rank = m - r; // 1-based rank in increasing order
        let v = (m as f64 / rank as f64 * p[i]).min(1.0);
        running = running.min(v);
        q[i] = running;
    }
    q
}

/// BH q-values for optional p-values; `None` (and `NaN`) stay `None` and are not counted.
pub fn bh_opt(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let raw: Vec<f64> = p.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
    bh(&raw).into_iter().map(|q| if q.is_nan() { None } else { Some(q) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            if y.is_nan() {
                assert!(x.is_nan(), "{a:?} vs {b:?}");
            } else {
                assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn by_hand() {
        // m = 4, p sorted = 0.01, 0.02, 0.03, 0.5
        // m p / rank = 0.04, 0.04, 0.04, 0.5 → running min from the top = 0.04,0.04,0.04,0.5
        close(&bh(&[0.03, 0.5, 0.01, 0.02]), &[0.04, 0.5, 0.04, 0.04]);
        // single value is unchanged
        close(&bh(&[0.2]), &[0.2]);
        // capped at 1
        close(&bh(&[0.9, 0.8]), &[0.9, 0.9]);
        close(&bh(&[]), &[]);
    }

    #[test]
    fn against_r() {
        // R's p.adjust(method = "BH") is `pmin(1, cummin(n / i * p[o]))[order(o)]` with
        // o = order(p, decreasing = TRUE). R is not installed on this machine, so these
        // values were produced by that exact expression transcribed to Python, and checked by
        // hand: sorted p = 1e-4, .005, .01, .03, .04, .04, .2, .5; m p/rank = .0008, .02,
        // .02667, .06, .064, .05333, .22857, .5; running min from the top gives
        // > p <- c(0.01, 0.04, 0.03, 0.005, 0.5, 0.04, 0.2, 0.0001); p.adjust(p, "BH")
        // [1] 0.02666667 0.05333333 0.05333333 0.02000000 0.50000000 0.05333333 0.22857143 0.00080000
        let p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04, 0.2, 0.0001];
        let r = [0.08 / 3.0, 0.16 / 3.0, 0.16 / 3.0, 0.02, 0.5, 0.16 / 3.0, 1.6 / 7.0, 0.0008];
        close(&bh(&p), &r);
    }

    #[test]
    fn ties_and_missing() {
        // ties: all equal → all equal to p (m p / m)
        close(&bh(&[0.03, 0.03, 0.03]), &[0.03, 0.03, 0.03]);
        // R: p.adjust(c(0.01, NA, 0.02, NaN, 0.04), "BH") → 0.03 NA 0.03 NaN 0.04 (m = 3)
        close(&bh(&[0.01, f64::NAN, 0.02, f64::NAN, 0.04]), &[0.03, f64::NAN, 0.03, f64::NAN, 0.04]);
        let q = bh_opt(&[Some(0.01), None, Some(0.02)]);
        assert_eq!(q[1], None);
        assert!((q[0].unwrap() - 0.02).abs() < 1e-15 && (q[2].unwrap() - 0.02).abs() < 1e-15);
    }
}
