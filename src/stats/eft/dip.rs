//! DipT's p-value: Hartigan's dip ([`crate::stats::shape::dip_sorted`]) against the
//! uniform null, as `diptest::dip.test` does, but from this crate's own simulations instead
//! of `diptest`'s `qDiptab`: `√m·D_m` is simulated at a grid of sizes `m` (`dip_reps` draws
//! each, seeded) and the p of a sample of `n` is interpolated between the two grid sizes
//! around `n`, linearly in `1/√m` (the scale on which `√m·D_m` converges); from 4,000 on,
//! the tabulated null of [`crate::stats::shape::dip_pvalue_table`]. Fewer than 4 values:
//! dip 0, p 1 (as `dip.test`).

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::stats::shape::{DIP_TABLE_M, dip_null_sample, dip_pvalue_table, dip_sorted};

/// Simulated sizes below [`DIP_TABLE_M`].
pub const GRID: [usize; 25] =
    [4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000];

/// The grid sizes around `n` (equal when `n` is on the grid); `None` from [`DIP_TABLE_M`] on
/// or below 4.
fn bracket(n: usize) -> Option<(usize, usize)> {
    if !(4..DIP_TABLE_M).contains(&n) {
        return None;
    }
    let i = GRID.partition_point(|&m| m <= n) - 1;
    let lo = GRID[i];
    let hi = if lo == n { n } else { GRID.get(i + 1).copied().unwrap_or(DIP_TABLE_M) };
    Some((lo, hi))
}

/// Sorted null draws of `√m·D_m` for every grid size that some `n` needs.
pub struct DipNull {
    draws: BTreeMap<usize, Vec<f64>>,
}

impl DipNull {
    pub fn new(ns: impl Iterator<Item = usize>, reps: usize, seed: u64) -> DipNull {
        let mut need: Vec<usize> = ns.filter_map(bracket).flat_map(|(a, b)| [a, b]).filter(|&m| m < DIP_TABLE_M).collect();
        need.sort_unstable();
        need.dedup();
        let draws = need
            .into_par_iter()
            .map(|m| {
                let mut d = dip_null_sample(m, reps.max(1), seed ^ (m as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
                d.sort_by(f64::total_cmp);
                (m, d)
            })
            .collect();
        DipNull { draws }
    }

    fn p_at(&self, m: usize, z: f64) -> f64 {
        if m >= DIP_TABLE_M {
            // the table's statistic is √m·D, as z is
            return dip_pvalue_table(z / (DIP_TABLE_M as f64).sqrt(), DIP_TABLE_M);
        }
        let d = &self.draws[&m];
        let hits = d.len() - d.partition_point(|&x| x < z);
        (1 + hits) as f64 / (d.len() + 1) as f64
    }

    /// Dip p of a sample (finite values, any order).
    pub fn p_value(&self, x: &mut [f64]) -> f64 {
        let n = x.len();
        if n < 4 {
            return 1.0;
        }
        x.sort_by(f64::total_cmp);
        let dip = dip_sorted(x).0;
        if n >= DIP_TABLE_M {
            return dip_pvalue_table(dip, n);
        }
        let z = dip * (n as f64).sqrt();
        let (a, b) = bracket(n).expect("4 <= n < DIP_TABLE_M");
        let pa = self.p_at(a, z);
        if a == b {
            return pa;
        }
        let pb = self.p_at(b, z);
        let s = |m: usize| 1.0 / (m as f64).sqrt();
        let w = (s(a) - s(n)) / (s(a) - s(b));
        pa + w * (pb - pa)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets() {
        assert_eq!(bracket(3), None);
        assert_eq!(bracket(4), Some((4, 4)));
        assert_eq!(bracket(11), Some((10, 12)));
        assert_eq!(bracket(3500), Some((3000, 4000)));
        assert_eq!(bracket(4000), None);
    }

    #[test]
    fn bimodal_rejects_and_uniform_does_not() {
        let null = DipNull::new([200usize].into_iter(), 400, 7);
        let mut two: Vec<f64> = (0..200).map(|i| if i % 2 == 0 { 0.1 + i as f64 * 1e-4 } else { 0.9 - i as f64 * 1e-4 }).collect();
        assert!(null.p_value(&mut two) < 0.01);
        let mut flat: Vec<f64> = (0..200).map(|i| (i as f64 + 0.5) / 200.0).collect();
        assert!(null.p_value(&mut flat) > 0.5);
    }
}

#[cfg(test)]
mod interpolation {
    use super::*;
    use crate::stats::shape::dip_pvalue;

    /// Between grid sizes the interpolated p agrees with a direct simulation at the
    /// sample's own size (n = 444, between 300 and 500).
    #[test]
    fn interpolated_p_matches_direct_simulation() {
        let n = 444;
        let mut x: Vec<f64> = (0..n).map(|i| { let u = (i as f64 + 0.5) / n as f64; u * u * (1.3 - u) + if i % 7 == 0 { 0.2 } else { 0.0 } }).collect();
        let null = DipNull::new([n].into_iter(), 4000, 3);
        let p = null.p_value(&mut x.clone());
        x.sort_by(f64::total_cmp);
        let d = dip_sorted(&x).0;
        let direct = dip_pvalue(d, n, 4000, n, 5);
        assert!((p - direct).abs() < 0.03, "interpolated {p}, direct {direct}");
    }
}
