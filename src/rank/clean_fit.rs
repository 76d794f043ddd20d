//! The clean cluster of a level's units when a part of them moved together: a
//! two-component normal mixture fitted to the units' means, one group (region) at a
//! time but with a shared clean spread and a shared shift.
//!
//! A falsification decided per commission moves a third to a half of a region's
//! commissions by about the same amount. The clean-side quartile of
//! [`super::displacement`] stays in the clean cluster, but it cannot tell the clean
//! cluster's spread from the distance between the clusters: at half moved by 2–3 sd the
//! quartile sits on the clean cluster's median, the values below it give a spread 1.4
//! times the clean one and a centre one sd too high, so a moved commission's z is about
//! halved (measured on transfer-commissions at 0.5: falsified commissions' median
//! displacement z 1.7–1.9, clean ones' 0.5–1.1). Modelled instead: in group `g`, a unit's
//! value `y` (turned so that the falsification raises it) is
//! `(1 − π_g)·N(μ_g, σ²) + π_g·N(μ_g + δ, σ²)`, `δ ≥ 0` and `σ` shared by the level's
//! groups (the falsification is one scheme, the clean variation one country's), `μ_g`
//! and `π_g` per group. Fitted by EM from the clean-side estimate. The fit is used only
//! when it is supported: the moved cluster at least [`MIN_SEPARATION`] clean sds away and
//! the likelihood ratio against one normal per group (shared σ) beyond
//! [`MIN_LR_PER_PARAMETER`] per added parameter. Otherwise (a clean election, where a
//! mixture would only cut a normal in two) the clean-side estimate stands.

/// The fit: clean centre of each group and the shared clean sd.
#[derive(Debug, Clone)]
pub struct CleanFit {
    /// Clean-cluster centre `μ_g` per group index.
    pub centre: Vec<f64>,
    /// Shared clean sd `σ` (the units' total: between-unit and sampling).
    pub sd: f64,
    /// Shared shift `δ` of the moved cluster and each group's moved share `π_g`.
    pub shift: f64,
    pub moved: Vec<f64>,
}

/// Fewest clean sds between the clusters for the fit to be used: closer clusters are one
/// normal cut in two as often as two clusters.
pub const MIN_SEPARATION: f64 = 2.0;
/// Least twice-log-likelihood gain per added parameter (`π_g` per group and `δ`) for the
/// fit to be used: 3 (a χ² with `G + 1` degrees of freedom passes that only rarely
/// when `G` is 10 or more: at `G = 20`, 63 against a 0.999 quantile of 49.6).
pub const MIN_LR_PER_PARAMETER: f64 = 3.0;
/// EM iterations (the fit starts next to the answer; 200 is ample).
const ITER: usize = 200;

fn ln_phi(x: f64, var: f64) -> f64 {
    -0.5 * (x * x / var + var.ln() + std::f64::consts::LN_2 + std::f64::consts::PI.ln())
}

/// Fits the mixture to `y` (values grouped by `group`, indices `0..n_groups`), starting
/// from each group's clean-side centre `start` and the level's clean-side sd `sd0`.
/// `None` when the fit is not supported (see the module docs).
pub fn fit(y: &[f64], group: &[usize], start: &[f64], sd0: f64) -> Option<CleanFit> {
    let ng = start.len();
    let n = y.len();
    if n < 20 || !(sd0 > 0.0) {
        return None;
    }
    let mut count = vec![0usize; ng];
    for &g in group {
        count[g] += 1;
    }
    let (mut mu, mut var, mut delta) = (start.to_vec(), sd0 * sd0, 2.0 * sd0);
    let mut pi = vec![0.3f64; ng];
    let mut r = vec![0.0f64; n];
    let mut loglik = 0.0;
    let (mut sum, mut rs) = (vec![0.0f64; ng], vec![0.0f64; ng]);
    for _ in 0..ITER {
        // E-step: responsibility of the moved cluster.
        loglik = 0.0;
        for u in 0..n {
            let g = group[u];
            let a = (1.0 - pi[g]).max(1e-12).ln() + ln_phi(y[u] - mu[g], var);
            let b = pi[g].max(1e-12).ln() + ln_phi(y[u] - mu[g] - delta, var);
            let m = a.max(b);
            let s = m + ((a - m).exp() + (b - m).exp()).ln();
            loglik += s;
            r[u] = (b - s).exp();
        }
        // M-step: μ_g = mean of y − r·δ; δ = Σ r (y − μ) / Σ r; σ² pooled; π_g = mean r.
        sum.fill(0.0);
        rs.fill(0.0);
        for u in 0..n {
            sum[group[u]] += y[u] - r[u] * delta;
            rs[group[u]] += r[u];
        }
        for g in 0..ng {
            if count[g] > 0 {
                mu[g] = sum[g] / count[g] as f64;
                pi[g] = (rs[g] / count[g] as f64).clamp(1e-6, 1.0 - 1e-6);
            }
        }
        let (num, den) = (0..n).fold((0.0, 0.0), |(a, b), u| (a + r[u] * (y[u] - mu[group[u]]), b + r[u]));
        delta = if den > 1e-9 { (num / den).max(0.0) } else { 0.0 };
        let ss: f64 = (0..n).map(|u| {
            let d = y[u] - mu[group[u]];
            (1.0 - r[u]) * d * d + r[u] * (d - delta).powi(2)
        }).sum();
        var = (ss / n as f64).max(1e-12);
    }
    // One normal per group with a shared σ: the group means and the pooled variance.
    let mut mean = vec![0.0f64; ng];
    for u in 0..n {
        mean[group[u]] += y[u] / count[group[u]] as f64;
    }
    let var1 = ((0..n).map(|u| (y[u] - mean[group[u]]).powi(2)).sum::<f64>() / n as f64).max(1e-12);
    let loglik1: f64 = (0..n).map(|u| ln_phi(y[u] - mean[group[u]], var1)).sum();
    let used = count.iter().filter(|&&c| c > 0).count();
    let sd = var.sqrt();
    let supported = delta >= MIN_SEPARATION * sd && 2.0 * (loglik - loglik1) >= MIN_LR_PER_PARAMETER * (used + 1) as f64;
    supported.then_some(CleanFit { centre: mu, sd, shift: delta, moved: pi })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    fn groups(moved: f64, shift: f64, seed: u64) -> (Vec<f64>, Vec<usize>, Vec<f64>, Vec<bool>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (unit, region) = (Normal::new(0.0, 0.2).unwrap(), Normal::new(0.0, 0.3).unwrap());
        let (mut y, mut g, mut eff, mut f) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..20 {
            let a: f64 = region.sample(&mut rng);
            eff.push(a);
            for j in 0..37 {
                let m = (j as f64) < moved * 37.0;
                y.push(a + unit.sample(&mut rng) + if m { shift } else { 0.0 });
                g.push(k);
                f.push(m);
            }
        }
        (y, g, eff, f)
    }

    /// Half of every group moved by 3 sd (0.6): each clean centre within one clean sd
    /// (0.2) of the mean of its group's clean units (the most the data say about it;
    /// their own standard error is 0.047), 0.07 on average and no bias beyond 0.04 (the
    /// clean-side quartile's centre is about 0.19 too high here, in every group); the sd
    /// within 20% of 0.2 and the shift within 20% of 0.6.
    #[test]
    fn finds_the_clean_cluster_under_half_moved() {
        for seed in 1..=3 {
            let (y, g, eff, moved) = groups(0.5, 0.6, seed);
            let start: Vec<f64> = eff.iter().map(|a| a + 0.15).collect(); // a biased start
            let f = fit(&y, &g, &start, 0.28).expect("supported");
            let (mut total, mut bias) = (0.0, 0.0);
            for k in 0..eff.len() {
                let clean: Vec<f64> = (0..y.len()).filter(|&u| g[u] == k && !moved[u]).map(|u| y[u]).collect();
                let m = clean.iter().sum::<f64>() / clean.len() as f64;
                assert!((f.centre[k] - m).abs() < 0.2, "seed {seed} group {k}: centre {} vs the clean units' mean {m}", f.centre[k]);
                total += (f.centre[k] - m).abs();
                bias += f.centre[k] - m;
            }
            let ng = eff.len() as f64;
            assert!(total / ng < 0.07 && (bias / ng).abs() < 0.04, "seed {seed}: mean error {}, bias {}", total / ng, bias / ng);
            assert!((f.sd - 0.2).abs() < 0.04, "seed {seed}: sd {}", f.sd);
            assert!((f.shift - 0.6).abs() < 0.12, "seed {seed}: shift {}", f.shift);
        }
    }

    /// Nothing moved: the fit is not used (a normal is not two clusters).
    #[test]
    fn clean_groups_are_not_a_mixture() {
        for seed in 1..=10 {
            let (y, g, eff, _) = groups(0.0, 0.0, seed);
            assert!(fit(&y, &g, &eff, 0.2).is_none(), "seed {seed}");
        }
    }
}
