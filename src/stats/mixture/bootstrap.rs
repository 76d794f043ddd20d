//! Intervals: a nonparametric bootstrap over stations, each replicate refitted by EM from
//! the file's estimate (module docs of [`super`], "Uncertainty").

use super::*;

/// Bootstrap summary of `f_i`, `f_e`, `α`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixtureBootstrap {
    pub replicates: usize,
    pub level: f64,
    pub f_i_ci: (f64, f64),
    pub f_e_ci: (f64, f64),
    pub alpha_ci: (f64, f64),
    pub f_i_sd: f64,
    pub f_e_sd: f64,
    pub alpha_sd: f64,
    /// Replicates whose EM converged.
    pub converged: usize,
}

use crate::stats::common::quantile_sorted as quantile;

fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// `reps` resamples of the stations with replacement, each refitted from `est` (one
/// start: the estimate; α refitted unless fixed), percentile intervals. Replicate `b`
/// draws from ChaCha8 seeded by `(seed, b)`; replicates run one after another (each fit
/// is parallel inside), so the result is the same for any number of threads.
pub(super) fn bootstrap(d: &Data, est: &Params, cen: &em::Centres, grid: &Grid, o: &MixtureOptions) -> MixtureBootstrap {
    let m = d.len();
    let mut samples = Vec::with_capacity(o.bootstrap);
    let mut converged = 0;
    let em = EmOptions { max_iter: o.em.max_iter.min(500), ..o.em.clone() };
    for b in 0..o.bootstrap as u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(o.seed ^ 0xB007_0000_0000_0000 ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let idx: Vec<usize> = (0..m).map(|_| rng.random_range(0..m)).collect();
        let sub = d.subset(&idx);
        let mut pre = em::Pre::new(&sub, grid, est.alpha);
        let r = em::run(&sub, &mut pre, *est, cen.clone(), grid, &em, em.max_iter);
        converged += usize::from(r.converged);
        samples.push((r.params.f_i, r.params.f_e, r.params.alpha));
    }
    let lo = (1.0 - o.level) / 2.0;
    let col = |f: fn(&(f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (fi, fe, al) = (col(|s| s.0), col(|s| s.1), col(|s| s.2));
    MixtureBootstrap {
        replicates: o.bootstrap,
        level: o.level,
        f_i_ci: (quantile(&fi, lo), quantile(&fi, 1.0 - lo)),
        f_e_ci: (quantile(&fe, lo), quantile(&fe, 1.0 - lo)),
        alpha_ci: (quantile(&al, lo), quantile(&al, 1.0 - lo)),
        f_i_sd: sd(&fi),
        f_e_sd: sd(&fe),
        alpha_sd: sd(&al),
        converged,
    }
}
