//! The estimate as the battery reports it: [`fit`] with its bootstrap over stations, the
//! notes, the subsample of large files and the common [`TestResult`] rows.

use super::*;

use crate::stats::common::quantile_sorted as quantile;

/// Fits the Klimek model to selected stations (module docs), with the bootstrap when
/// `opts.bootstrap > 0`.
pub fn fit(st: &Stations, opts: &FitOptions) -> Result<FingerprintResult> {
    validate(opts)?;
    if st.len() < 50 {
        return Err(Error::usage(format!("fingerprint: {} stations pass the inclusion rules; the fit needs at least 50", st.len())));
    }
    let seed = opts.seed;
    let core = fit_core(st, opts, opts.sims, &|k| sub_seed(seed, 0, k));
    let raw = core.raw;
    let bootstrap = if opts.bootstrap > 0 {
        let m = st.len();
        let samples: Vec<(f64, f64, f64)> = (1..=opts.bootstrap as u64)
            .into_par_iter()
            .map(|b| {
                let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, b, u64::MAX));
                let idx: Vec<usize> = (0..m).map(|_| rng.random_range(0..m)).collect();
                let sub = st.subset(&idx);
                // the whole estimator again: raw KDE estimates of the resample, coarse
                // grid, honest-parameter search, final stage (fewer simulations)
                let c = fit_core(&sub, opts, opts.bootstrap_sims.max(opts.coarse_sims.min(opts.sims)), &|k| sub_seed(seed, b, k));
                (c.fit.f_i, c.fit.f_e, c.fit.alpha)
            })
            .collect();
        let lo = (1.0 - opts.level) / 2.0;
        let ci = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
            let mut v: Vec<f64> = samples.iter().map(f).collect();
            v.sort_unstable_by(f64::total_cmp);
            (quantile(&v, lo), quantile(&v, 1.0 - lo))
        };
        let sd = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
            let v: Vec<f64> = samples.iter().map(f).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            if v.len() < 2 { 0.0 } else { (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt() }
        };
        Some(BootstrapSummary {
            replicates: opts.bootstrap,
            level: opts.level,
            f_i_ci: ci(&|s| s.0),
            f_e_ci: ci(&|s| s.1),
            alpha_ci: ci(&|s| s.2),
            f_i_sd: sd(&|s| s.0),
            f_e_sd: sd(&|s| s.1),
            samples,
        })
    } else {
        None
    };
    let observed = station_histogram(st, opts.weighting, opts.bins);
    let mk = |counts: Vec<f64>| {
        let total = counts.iter().sum();
        Histogram2d { bins_t: opts.bins, bins_s: opts.bins, weighting: opts.weighting, counts, total }
    };
    let h = core.h;
    let mut notes = vec![
        match st.basis {
            TurnoutBasis::Issued => "turnout T = B/N (ballots issued / registered)".to_string(),
            TurnoutBasis::InBoxes => "turnout T = C/N (ballots in the boxes / registered): the file has no issued ballots".to_string(),
            TurnoutBasis::Given => "turnout T = B/N from the given counts".to_string(),
        },
        "winner share = v_leader / V (valid votes), as Klimek et al.; the model's share is W/B".to_string(),
        format!(
            "inclusion: C > 0, N >= 100, V > 0; left out: {} abroad, {} electronic, {} with C = 0, {} with N < 100, {} with V = 0; {} kept with turnout > 1 (clamped into the last bin)",
            st.excluded.abroad, st.excluded.electronic, st.excluded.no_ballots, st.excluded.small, st.excluded.no_valid, st.excluded.turnout_above_one
        ),
        format!(
            "raw tau, nu: first local maxima above 0.3 (prominence >= {MIN_PROMINENCE} of the peak) of Gaussian KDEs, bandwidths 0.9 min(sd, IQR/1.34) n^(-1/7) = {:.4} (turnout), {:.4} (share)",
            raw.bandwidth_turnout, raw.bandwidth_share
        ),
        format!(
            "theta = {:.4} by rule {:?} (RMS of v - nu over v > nu = {:.4}, at the fitted nu)",
            h.theta, opts.theta, h.right_rms
        ),
        format!(
            "fit: least squares over {}x{} bins ({:?} weights), mean of {} common-random-number simulations ({} in the coarse stage and the honest-parameter search), coarse f_e step {} then {}, f_i step {}; alpha {}",
            opts.bins,
            opts.bins,
            opts.weighting,
            opts.sims,
            opts.coarse_sims.min(opts.sims),
            opts.fe_coarse_step,
            opts.fe_fine_step,
            opts.fi_step,
            match &opts.alpha {
                AlphaMode::Fixed(a) => format!("fixed at {a}"),
                AlphaMode::Grid(g) => format!("fitted over {g:?} (+ midpoints next to the coarse optimum)"),
            }
        ),
        format!("seed {}", opts.seed),
    ];
    if opts.honest_passes > 0 {
        notes.push(format!(
            "honest parameters fitted jointly with f_i, f_e (departs from Klimek et al., who fix them at the KDE modes and left-side RMS): {} coordinate-descent passes from raw tau {:.4} nu {:.4} sigma_tau {:.4} sigma_nu {:.4} to tau {:.4} nu {:.4} sigma_tau {:.4} sigma_nu {:.4}",
            opts.honest_passes, raw.tau, raw.nu, raw.sigma_tau, raw.sigma_nu, h.tau, h.nu, h.sigma_tau, h.sigma_nu
        ));
    } else {
        notes.push("honest parameters fixed at the raw KDE modes and left-side RMS (the paper's estimator)".into());
    }
    if !raw.tau_is_local_max {
        notes.push("tau: no prominent local maximum above 0.3; the highest point above 0.3 was used".into());
    }
    if !raw.nu_is_local_max {
        notes.push("nu: no prominent local maximum above 0.3; the highest point above 0.3 was used".into());
    }
    if let Some(b) = &bootstrap {
        notes.push(format!(
            "uncertainty: {} bootstrap replicates over stations, each redoing the whole estimator (raw KDE estimates, coarse grid, honest-parameter search, final stage with {} simulations), percentile {:.0}% intervals",
            b.replicates,
            opts.bootstrap_sims.max(opts.coarse_sims.min(opts.sims)),
            100.0 * b.level
        ));
    }
    Ok(FingerprintResult {
        n: st.len(),
        basis: st.basis,
        leader: st.leader.clone(),
        excluded: st.excluded.clone(),
        honest_params: h,
        honest_params_raw: raw,
        fit: core.fit,
        bootstrap,
        observed,
        fitted: mk(core.fitted),
        honest: mk(core.honest),
        options: opts.clone(),
        notes,
    })
}

/// [`select`] then [`fit`].
pub fn analyze(e: &Election, sel: &Selection, opts: &FitOptions) -> Result<FingerprintResult> {
    fit_capped(select(e, sel)?, opts)
}

/// [`fit`] on at most `opts.max_stations` of `st` (a seeded random subsample when there
/// are more, noted): what [`analyze`] fits after the selection.
pub fn fit_capped(st: Stations, opts: &FitOptions) -> Result<FingerprintResult> {
    if st.len() <= opts.max_stations {
        return fit(&st, opts);
    }
    // A seeded subsample (partial Fisher–Yates), kept in station order.
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(opts.seed, 0x5AB5, 0));
    let mut idx: Vec<usize> = (0..st.len()).collect();
    for k in 0..opts.max_stations {
        let j = rng.random_range(k..idx.len());
        idx.swap(k, j);
    }
    idx.truncate(opts.max_stations);
    idx.sort_unstable();
    let mut r = fit(&st.subset(&idx), opts)?;
    r.notes.push(format!(
        "fitted on a seeded random subsample of {} of the {} selected stations (FitOptions::max_stations)",
        opts.max_stations,
        st.len()
    ));
    Ok(r)
}

impl FingerprintResult {
    /// The fit as common [`TestResult`]s: `fingerprint.f_incremental`,
    /// `fingerprint.f_extreme` and `fingerprint.alpha` (statistic = fitted value; `extra`:
    /// bootstrap bounds `ci_low`/`ci_high`/`boot_sd`, the honest parameters `tau`, `nu`,
    /// `sigma_tau`, `sigma_nu`, `theta`, and `alpha`, `distance`, `distance_rel`,
    /// `distance_honest`). Estimates, not tests: no null, no p-value.
    pub fn test_results(&self, scope: &str) -> Vec<TestResult> {
        let h = &self.honest_params;
        let f = &self.fit;
        let mk = |name: &str, value: f64, ci: Option<(f64, f64)>, sd: Option<f64>| {
            let mut r = TestResult::new(name, scope, value, self.n);
            r.effect = Some(value);
            for (k, v) in [
                ("tau", h.tau),
                ("sigma_tau", h.sigma_tau),
                ("nu", h.nu),
                ("sigma_nu", h.sigma_nu),
                ("theta", h.theta),
                ("alpha", f.alpha),
                ("f_incremental", f.f_i),
                ("f_extreme", f.f_e),
                ("distance", f.distance),
                ("distance_rel", f.distance_rel),
                ("distance_honest", f.distance_honest),
            ] {
                r.extra.insert(k.to_string(), v);
            }
            if let Some((lo, hi)) = ci {
                r.extra.insert("ci_low".into(), lo);
                r.extra.insert("ci_high".into(), hi);
            }
            if let Some(sd) = sd {
                r.extra.insert("boot_sd".into(), sd);
            }
            if let Some(b) = &self.bootstrap {
                r.extra.insert("bootstrap_replicates".into(), b.replicates as f64);
                r.extra.insert("ci_level".into(), b.level);
            }
            r.notes = self.notes.clone();
            r.notes.push(match &self.bootstrap {
                Some(_) => "Klimek et al. (2012) model fit: an estimate with a bootstrap interval, not a test (no p-value)".into(),
                None => "Klimek et al. (2012) model fit: an estimate, not a test (no p-value), and no bootstrap interval (FitOptions::bootstrap = 0)".into(),
            });
            r
        };
        let b = self.bootstrap.as_ref();
        let mut out = vec![
            mk("fingerprint.f_incremental", f.f_i, b.map(|b| b.f_i_ci), b.map(|b| b.f_i_sd)),
            mk("fingerprint.f_extreme", f.f_e, b.map(|b| b.f_e_ci), b.map(|b| b.f_e_sd)),
        ];
        if matches!(self.options.alpha, AlphaMode::Grid(_)) {
            out.push(mk("fingerprint.alpha", f.alpha, b.map(|b| b.alpha_ci), None));
        }
        out
    }
}
