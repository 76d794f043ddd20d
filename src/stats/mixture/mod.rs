//! Mebane's finite-mixture fraud model, fitted by a deterministic EM, with a fraud
//! probability per station (issue 23).
//!
//! The peers: Mebane's finite mixture (the likelihood version of Klimek et al.'s model in
//! EFToolkit, `ComputeFiniteMixtureModel`, fitted by a genetic optimiser) and its Bayesian
//! form in `eforensics` (Ferrari, McAlister, Mebane & Wu 2020; R + JAGS, about half an
//! hour of MCMC on a few thousand units). The Klimek fit ([`crate::stats::fingerprint`])
//! matches histograms and gives nation-level fractions only; this is its per-station
//! cousin, and reuses its conventions: the same stations (its [`fingerprint::Selection`]
//! rules: no stations abroad, electronic or institutional, `C > 0`, `N ≥ 100`, `V > 0`),
//! the same turnout `T = B/N` (or `C/N`), the same winner share `S = W/V`, the same
//! leader (the national leader unless one is given), its extreme magnitude
//! `1 − |N(0, 0.075)|` and its `α` (stolen = manufactured fraction to the power α).
//!
//! # The model
//!
//! Station `i` has `N_i` registered voters and reports turnout `t_i` and winner share
//! `s_i` (proportions kept within `[½/N, 1 − ½/N]` and `[½/V, 1 − ½/V]`: a logit needs
//! them inside `(0, 1)`). Its **clean** values `(t⁰, s⁰)` are logit-normal and
//! independent:
//!
//! ```text
//! logit t⁰ ~ N(τ_r, σ_τ²),   logit s⁰ ~ N(ν_r, σ_ν²),
//! ```
//!
//! **Regions' clean centres.** `τ_r`, `ν_r` are the centres of the station's region `r`
//! (regions with at least [`model::MIN_GROUP`] = 50 selected stations; the others pooled
//! into one), the spreads common. Differences between regions are taken as honest, as in
//! the clean baselines ([`crate::calibrate::baselines`]): with one national centre a clean
//! simulated election (region effects of sd 0.35 on the logit) fitted `f_i` = 1.0, the
//! fraud components serving as the shape of a mixture of regions, and Russia 2011 0.28.
//! (EFToolkit and eforensics fit one centre, or covariates, per call.) `τ`, `ν` reported
//! are the station-weighted means of the centres.
//!
//! With probability `f_i` the station has **incremental** fraud, with probability `f_e`
//! **extreme** fraud, else none. Fraud of magnitude `x` manufactures a fraction `x` of the
//! non-voters into votes for the winner and steals a fraction `y = x^α` of the opponents'
//! votes (Klimek et al.'s and Mebane's map; `α` splits manufactured from stolen: α = 1
//! steals as much as it manufactures, α large steals little):
//!
//! ```text
//! t = t⁰ + x (1 − t⁰),     s t = t⁰ s⁰ + x (1 − t⁰) + x^α t⁰ (1 − s⁰).
//! ```
//!
//! Incremental magnitudes are a half-normal of scale `θ ≥ 0.1` truncated to `(0.05, 0.7)`
//! (below 5% of the non-voters fraud is not told apart from the clean spread: with
//! magnitudes down to 0 and θ free, a clean simulated election fitted `f_i` = 0.41 at
//! θ = 0.065, along a flat ridge; so `f_i` counts stations falsified at least that much);
//! extreme magnitudes `1 − |N(0, 0.075)|` truncated to `(0.7, 1)` (eforensics splits
//! incremental from extreme at `k = 0.7`; Klimek's extreme law). Both are **discretised**
//! on fixed grids ([`model::GRID_INCREMENTAL`] = 16 midpoints of width 0.041;
//! [`model::GRID_EXTREME`] = 28 points with `1 − x` evenly spaced in `log(1 − x)` from
//! 5·10⁻⁵ to 0.3, because near `x = 1` the clean values behind a station move with
//! `log(1 − x)`), the weights `π_g(θ) ∝ exp(−x_g²/2θ²)` and
//! `ρ_h ∝ (1 − x_h) exp(−(1 − x_h)²/2·0.075²)` (the mass per unit of `log(1 − x)`)
//! normalised on their grids. Given `x`, the map is
//! invertible: `t⁰ = (t − x)/(1 − x)`, `s⁰ = (s t − x(1 − t⁰) − x^α t⁰)/(t⁰(1 − x^α))`,
//! with Jacobian `|∂(t⁰, s⁰)/∂(t, s)| = t / ((1 − x) t⁰ (1 − x^α))`, so the likelihood of a
//! station is the finite sum
//!
//! ```text
//! L_i = (1 − f_i − f_e) φ(t_i, s_i)
//!     + f_i Σ_g π_g(θ) φ(t⁰_ig, s⁰_ig) J_ig + f_e Σ_h ρ_h φ(t⁰_ih, s⁰_ih) J_ih,
//! ```
//!
//! `φ` the logit-normal density (`N(logit t⁰; τ, σ_τ) N(logit s⁰; ν, σ_ν) / (t⁰(1 − t⁰)
//! s⁰(1 − s⁰))`), a term dropped where no clean station in `(0, 1)²` maps to `(t_i, s_i)`
//! (e.g. extreme fraud of magnitude 0.95 at a turnout of 0.9). The parameters are
//! `(τ, σ_τ, ν, σ_ν, f_i, f_e, θ, α)`.
//!
//! # The fit
//!
//! **EM over stations × grid points.** The responsibility `r_ik` of component `k` (clean,
//! each incremental and each extreme grid point) at station `i` is its term of `L_i`
//! divided by `L_i`. Given them, the complete-data log-likelihood separates:
//! `f_i = Σ_i Σ_g r_ig / n`, `f_e = Σ_i Σ_h r_ih / n`; the clean parameters are the
//! responsibility-weighted means (per region) and pooled sd of the reconstructed clean logits
//! `logit t⁰_ik`, `logit s⁰_ik` (closed form: the Jacobian does not depend on them); `θ`
//! maximises `Σ_g R_g log π_g(θ)` (`R_g` the summed responsibilities, a one-dimensional
//! golden-section search). `α` changes the inversion itself, so it is updated apart, at
//! each convergence of the others: a golden-section search over `log α` ∈ [ln 0.25, ln 8]
//! of the α-dependent part of the complete-data log-likelihood (the fraud components'
//! terms, responsibilities held: a generalised EM step, kept only when the observed
//! log-likelihood rises), then EM resumes until α moves by less than 1%. EM's slow
//! crawl along the ridge between `f_i` and the clean spread is accelerated by SQUAREM
//! (Varadhan & Roland 2008, scheme S3, with the log-likelihood as merit: an extrapolation
//! that lowers it is dropped). The clean logits, log Jacobians and
//! feasibility of every (station, grid point) are computed once per `α` and kept as f32
//! (54 MB at 100,000 stations); an iteration is then one parallel pass of a few
//! multiplications and one `exp` per station and grid point, the E-step and the M-step's
//! sums together, reduced in fixed chunk order (the fit is identical for any number of
//! threads).
//!
//! **Starts and convergence.** [`MixtureOptions::starts`] starts (default 4) at spread
//! values of `(f_i, f_e, θ)` with the clean parameters at the median and scaled MAD of the
//! observed logits and `α = 2`; each runs [`EmOptions::start_iter`] E-steps (on an even
//! subsample of [`em::START_STATIONS`] stations when the file is larger), the best
//! is carried on until the log-likelihood gains less than `tol·n` per iteration (and α
//! has stopped moving). Reported: iterations, converged, every start's log-likelihood
//! after its first iterations, the final log-likelihood.
//!
//! # Uncertainty
//!
//! A nonparametric bootstrap over stations ([`MixtureOptions::bootstrap`] replicates,
//! default 19 in the battery): each resample is refitted by EM from the file's estimate
//! (α refitted too); percentile intervals. Starting at the estimate understates the
//! spread of a likelihood with several maxima; the starts' log-likelihoods say whether
//! there were rivals.
//!
//! # Per station
//!
//! At the fitted parameters: `P(incremental) = Σ_g r_ig`, `P(extreme) = Σ_h r_ih`, and the
//! expected votes manufactured `N Σ_k r_ik x_k (1 − t⁰_ik)` and stolen
//! `N Σ_k r_ik x_k^α t⁰_ik (1 − s⁰_ik)` (the model counts in proportions of `N`; the stolen
//! votes are of the ballots, which differ from the valid votes by the invalid ones).
//!
//! # What differs from EFToolkit and eforensics
//!
//! * **Logit-normal, not normal or binomial.** Klimek's and EFToolkit's honest model is a
//!   truncated normal of the proportions; eforensics offers binomial and quasi-binomial
//!   (logistic) forms and recommends the latter for overdispersion. Here the clean
//!   proportions are logit-normal with a free spread, which absorbs the overdispersion;
//!   the binomial noise of each station's own count (`1/(N t(1 − t))` on the logit scale,
//!   0.004 at N = 1,000 against a spread of 0.1–0.2) is not modelled apart.
//! * **No covariates**, and one set of clean parameters per fit (eforensics regresses τ,
//!   ν and the fraud probabilities on covariates); regions are fitted separately instead.
//! * **Magnitudes on a grid**, integrated exactly over it, instead of MCMC draws
//!   (eforensics) or continuous integration (Mebane): a magnitude between grid points is
//!   represented by its neighbours (steps 0.044 in `x`, 0.32 in `log(1 − x)`).
//! * **One magnitude for manufactured and stolen votes**, tied by `α` (Klimek, Mebane's
//!   likelihood model), where eforensics draws the two separately.
//! * **EM, not a genetic optimiser or MCMC**: deterministic, about a second at 100,000
//!   stations where the peers take minutes to an hour.
//!
//! # Calibration
//!
//! A clean election gives `f_i`, `f_e` near zero only when it is logit-normal; real clean
//! elections are not (regions differ, turnout is skewed), and the mixture takes such
//! shape as incremental fraud, as the Klimek fit does. So, like the Klimek fit's, its
//! `f_i`, `f_e` get clean-replicate baselines ([`crate::calibrate::baselines`]).

#[allow(unused_imports)]
use {
    crate::error::{Error, Result},
    crate::model::{Election, Role, Special},
    crate::stats::{TestResult, fingerprint},
    rand::{Rng, RngExt, SeedableRng},
    rand_chacha::ChaCha8Rng,
    rand_distr::StandardNormal,
    rayon::prelude::*,
    serde::Serialize,
};

mod bootstrap;
mod em;
pub mod model;
mod simulated;

pub use bootstrap::MixtureBootstrap;
pub use em::{EmOptions, EmRun, START_STATIONS};
pub use model::{Class, Data, Draw, Grid, K, Params, draw, forward, invert, log_density, station_log_lik};
use {em::*, model::*};

/// Fewest stations a fit needs (the nation; a region needs [`MixtureOptions::min_region`]).
pub const MIN_STATIONS: usize = 100;

/// Per-station posterior of the fitted model (f32: 16 bytes a station).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StationPosterior {
    pub p_incremental: f32,
    pub p_extreme: f32,
    /// Expected votes manufactured and stolen.
    pub manufactured: f32,
    pub stolen: f32,
}

/// Settings of [`fit`] / [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixtureOptions {
    pub em: EmOptions,
    /// Starts of the EM (the best after [`EmOptions::start_iter`] iterations goes on).
    pub starts: usize,
    /// Bootstrap replicates (0: no intervals).
    pub bootstrap: usize,
    /// Central interval level.
    pub level: f64,
    pub seed: u64,
    /// Regions with at least this many selected stations are fitted apart (0: none).
    pub min_region: usize,
}

impl Default for MixtureOptions {
    fn default() -> Self {
        MixtureOptions { em: EmOptions::default(), starts: 4, bootstrap: 0, level: 0.95, seed: 20_260_101, min_region: 1000 }
    }
}

/// One region's fit (no interval).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionFit {
    pub region: String,
    pub n: usize,
    pub params: Params,
    pub loglik: f64,
    pub converged: bool,
}

/// Everything the mixture produces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixtureResult {
    pub n: usize,
    pub leader: Option<String>,
    pub params: Params,
    pub loglik: f64,
    /// Log-likelihood of the clean model alone (`f_i = f_e = 0`, clean parameters refitted).
    pub loglik_clean: f64,
    pub iterations: usize,
    pub converged: bool,
    pub starts: usize,
    /// Each start's log-likelihood per station after its first E-steps (on the
    /// subsample the starts are compared on).
    pub start_loglik: Vec<f64>,
    pub bootstrap: Option<MixtureBootstrap>,
    pub regions: Vec<RegionFit>,
    /// Expected votes manufactured and stolen, summed over the stations.
    pub votes_manufactured: f64,
    pub votes_stolen: f64,
    /// Per election station (`None`: not selected), for the ranking and stations.csv.
    #[serde(skip)]
    pub stations: Vec<Option<StationPosterior>>,
    /// The selected stations' data (for the report's charts), in the fit's order, with
    /// their clean-centre groups.
    #[serde(skip)]
    pub data: Data,
    /// Each clean-centre group's offsets of `τ`, `ν` from the national ones.
    #[serde(skip)]
    pub clean_centres: Vec<(f64, f64)>,
    pub options: MixtureOptions,
    pub notes: Vec<String>,
}

fn validate(o: &MixtureOptions) -> Result<()> {
    if !(o.level > 0.0 && o.level < 1.0) {
        return Err(Error::usage("mixture: the interval level must be in (0, 1)"));
    }
    if o.em.max_iter == 0 || !(o.em.tol > 0.0) {
        return Err(Error::usage("mixture: max_iter and tol must be positive"));
    }
    if let Some(a) = o.em.alpha {
        if !(a > 0.0 && a.is_finite()) {
            return Err(Error::usage("mixture: a fixed alpha must be positive"));
        }
    }
    Ok(())
}

/// The stations of the fit (the fingerprint's rules, module docs), with their indices and
/// regions.
pub fn select(e: &Election, sel: &fingerprint::Selection) -> Result<Data> {
    let n = e.get(Role::Registered).ok_or_else(|| Error::usage("mixture: the file has no registered-voter counts (N); turnout needs them"))?;
    let num = e
        .get(Role::Issued)
        .or_else(|| e.get(Role::InBoxes))
        .ok_or_else(|| Error::usage("mixture: the file has neither issued ballots (B) nor ballots in the boxes (C)"))?;
    let c = e.get(Role::InBoxes).unwrap_or(num);
    let leader = match sel.leader.or_else(|| e.leader()) {
        Some(l) if l < e.votes.len() => l,
        Some(l) => return Err(Error::usage(format!("mixture: no candidate number {l}"))),
        None => return Err(Error::usage("mixture: the file has no candidates")),
    };
    let valid = e.valid_or_sum();
    let w = &e.votes[leader];
    let region = e.levels.first().filter(|_| e.levels.len() >= 2).map(|l| &l.code);
    let mut d = Data::default();
    for i in 0..e.len() {
        match e.special.get(i).copied().flatten() {
            Some(Special::Abroad) if !sel.include_abroad => continue,
            Some(Special::Electronic) if !sel.include_electronic => continue,
            Some(sp) if sp.is_institutional() => continue,
            _ => {}
        }
        if c[i] == 0 || n[i] < sel.min_registered.max(1) || valid[i] == 0 || num[i] == 0 {
            continue;
        }
        d.push(i, n[i] as f64, num[i] as f64, valid[i] as f64, (w[i] as u64).min(valid[i]) as f64, region.map_or(u32::MAX, |r| r[i]));
    }
    Ok(d)
}

/// Fits the mixture to `d` (module docs): EM from several starts, the clean-only fit
/// beside it, the bootstrap when asked, regions apart. `stations` is the length of the
/// election (`d.index` points into it); `region_names` the top level's labels.
pub fn fit(d: &Data, o: &MixtureOptions, stations: usize, region_names: &[String]) -> Result<MixtureResult> {
    validate(o)?;
    if d.len() < MIN_STATIONS {
        return Err(Error::usage(format!("mixture: {} stations pass the inclusion rules; the fit needs at least {MIN_STATIONS}", d.len())));
    }
    let grid = Grid::new();
    // Stations in a canonical order (region, turnout, share, registered; ties are the
    // same data): the EM's sums, its start subsample and the bootstrap's draws then do not
    // depend on the file's row order (tests/props.rs `invariant_to_row_order`: sums in
    // another order moved f_i by 3·10⁻⁴ relative through the convergence tolerance).
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by(|&a, &b| {
        d.region[a]
            .cmp(&d.region[b])
            .then(d.turnout[a].total_cmp(&d.turnout[b]))
            .then(d.share[a].total_cmp(&d.share[b]))
            .then(d.registered[a].total_cmp(&d.registered[b]))
    });
    let mut dg = d.subset(&order);
    dg.assign_groups();
    let d = &dg;
    let (run, start_loglik, mut pre) = fit_em(d, &grid, &o.em, o.starts);
    let p = run.params;
    let cen = run.centres.clone();
    // The clean model alone (f_i = f_e = 0): its maximum likelihood is one EM step from
    // anywhere (the group means and the pooled spread of the observed logits).
    let loglik_clean = {
        let q = Params { f_i: 0.0, f_e: 0.0, ..p };
        let c = em::run(d, &mut pre, q, cen.clone(), &grid, &EmOptions { alpha: Some(p.alpha), squarem: false, ..o.em.clone() }, 4);
        c.loglik
    };
    let post = posteriors(d, &pre, &p, &cen, &grid);
    drop(pre);
    let mut stations_out = vec![None; stations];
    let (mut man, mut sto) = (0.0, 0.0);
    for (k, sp) in post.iter().enumerate() {
        if let Some(slot) = stations_out.get_mut(d.index[k] as usize) {
            *slot = Some(*sp);
        }
        man += sp.manufactured as f64;
        sto += sp.stolen as f64;
    }
    let bootstrap = (o.bootstrap > 0).then(|| bootstrap::bootstrap(d, &p, &cen, &grid, o));
    // Regions with enough stations, from the nation's estimate, α held at the nation's.
    let mut regions = Vec::new();
    if o.min_region > 0 && !region_names.is_empty() {
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); region_names.len()];
        for (k, &r) in d.region.iter().enumerate() {
            if let Some(m) = members.get_mut(r as usize) {
                m.push(k);
            }
        }
        // one start (the nation's estimate at the region's centre), at most 150 E-steps:
        // a region's fit is a description beside the nation's, not worth the nation's cost
        let em_r = EmOptions { alpha: Some(p.alpha), max_iter: 150, ..o.em.clone() };
        for (r, idx) in members.iter().enumerate() {
            if idx.len() < o.min_region.max(MIN_STATIONS) {
                continue;
            }
            let mut sub = d.subset(idx);
            sub.group.clear();
            let mut pre = Pre::new(&sub, &grid, p.alpha);
            let (dt, ds) = (cen.tau.get(d.group[idx[0]] as usize).copied().unwrap_or(0.0), cen.nu.get(d.group[idx[0]] as usize).copied().unwrap_or(0.0));
            let at_region = Params { tau: p.tau + dt, nu: p.nu + ds, ..p };
            let best = em::run(&sub, &mut pre, at_region, em::Centres::zero(1), &grid, &em_r, em_r.max_iter);
            regions.push(RegionFit { region: region_names[r].clone(), n: idx.len(), params: best.params, loglik: best.loglik, converged: best.converged });
        }
    }
    let mut notes = vec![
        "Mebane's finite mixture (Klimek et al.'s fraud map as a likelihood), logit-normal clean turnout and winner share, incremental magnitudes half-normal(theta) on (0, 0.7), extreme 1 - |N(0, 0.075)| on (0.7, 1), both on fixed grids; stolen fraction = magnitude^alpha".to_string(),
        format!(
            "fit: EM (SQUAREM-accelerated) over stations x grid points from {} starts ({} E-steps each, best carried on), alpha by generalised-EM golden-section steps; {} E-steps, {}, log-likelihood {:.1} (clean model alone {:.1})",
            o.starts,
            o.em.start_iter,
            run.iterations,
            if run.converged { "converged" } else { "NOT converged (iteration cap)" },
            run.loglik,
            loglik_clean
        ),
        format!(
            "clean logit turnout N({:.3}, {:.3}), clean logit share N({:.3}, {:.3}); incremental scale theta {:.3}; alpha {:.2}",
            p.tau, p.sigma_tau, p.nu, p.sigma_nu, p.theta, p.alpha
        ),
    ];
    if let Some(b) = &bootstrap {
        notes.push(format!(
            "uncertainty: {} bootstrap replicates over stations, each refitted by EM from the estimate ({} converged), percentile {:.0}% intervals",
            b.replicates,
            b.converged,
            100.0 * b.level
        ));
    }
    Ok(MixtureResult {
        n: d.len(),
        leader: None,
        params: p,
        loglik: run.loglik,
        loglik_clean,
        iterations: run.iterations,
        converged: run.converged,
        starts: o.starts,
        start_loglik,
        bootstrap,
        regions,
        votes_manufactured: man,
        votes_stolen: sto,
        stations: stations_out,
        data: d.clone(),
        clean_centres: cen.tau.iter().zip(&cen.nu).map(|(&a, &b)| (a, b)).collect(),
        options: o.clone(),
        notes,
    })
}

/// [`select`] then [`fit`] on an election.
pub fn analyze(e: &Election, sel: &fingerprint::Selection, o: &MixtureOptions) -> Result<MixtureResult> {
    let d = select(e, sel)?;
    let names = if e.levels.len() >= 2 { e.scope_labels(0) } else { Vec::new() };
    let mut r = fit(&d, o, e.len(), &names)?;
    r.leader = sel.leader.or_else(|| e.leader()).and_then(|l| e.candidates.get(l).cloned());
    Ok(r)
}

impl MixtureResult {
    /// The fit as common [`TestResult`]s: `mixture.f_incremental`, `mixture.f_extreme`,
    /// `mixture.alpha` for the nation (statistic = estimate; `extra`: `ci_low`, `ci_high`,
    /// `boot_sd` with the bootstrap, the other parameters, `loglik`, `iterations`,
    /// `converged`), and `mixture.f_incremental` / `mixture.f_extreme` per fitted region.
    /// Estimates, not tests: no null, no p-value.
    pub fn test_results(&self) -> Vec<TestResult> {
        let p = &self.params;
        let b = self.bootstrap.as_ref();
        let mk = |name: &str, scope: &str, value: f64, n: usize, q: &Params, ci: Option<(f64, f64)>, sd: Option<f64>| {
            let mut r = TestResult::new(name, scope, value, n);
            r.effect = Some(value);
            for (k, v) in [
                ("f_incremental", q.f_i),
                ("f_extreme", q.f_e),
                ("alpha", q.alpha),
                ("theta", q.theta),
                ("tau_logit", q.tau),
                ("sigma_tau_logit", q.sigma_tau),
                ("nu_logit", q.nu),
                ("sigma_nu_logit", q.sigma_nu),
            ] {
                r.extra.insert(k.into(), v);
            }
            if let Some((lo, hi)) = ci {
                r.extra.insert("ci_low".into(), lo);
                r.extra.insert("ci_high".into(), hi);
            }
            if let Some(sd) = sd {
                r.extra.insert("boot_sd".into(), sd);
            }
            r
        };
        let mut out = Vec::new();
        for (name, value, ci, sd) in [
            ("mixture.f_incremental", p.f_i, b.map(|b| b.f_i_ci), b.map(|b| b.f_i_sd)),
            ("mixture.f_extreme", p.f_e, b.map(|b| b.f_e_ci), b.map(|b| b.f_e_sd)),
            ("mixture.alpha", p.alpha, b.map(|b| b.alpha_ci), b.map(|b| b.alpha_sd)),
        ] {
            let mut r = mk(name, "nation", value, self.n, p, ci, sd);
            r.extra.insert("loglik".into(), self.loglik);
            r.extra.insert("loglik_clean".into(), self.loglik_clean);
            r.extra.insert("iterations".into(), self.iterations as f64);
            r.extra.insert("converged".into(), if self.converged { 1.0 } else { 0.0 });
            if let Some(b) = b {
                r.extra.insert("bootstrap_replicates".into(), b.replicates as f64);
                r.extra.insert("ci_level".into(), b.level);
            }
            r.notes = self.notes.clone();
            r.notes.push(match b {
                Some(_) => "finite-mixture fit (Mebane): an estimate with a bootstrap interval, not a test (no p-value)".into(),
                None => "finite-mixture fit (Mebane): an estimate, not a test (no p-value), and no bootstrap interval".into(),
            });
            out.push(r);
        }
        for rf in &self.regions {
            let scope = format!("region:{}", rf.region);
            for (name, value) in [("mixture.f_incremental", rf.params.f_i), ("mixture.f_extreme", rf.params.f_e)] {
                let mut r = mk(name, &scope, value, rf.n, &rf.params, None, None);
                r.extra.insert("converged".into(), if rf.converged { 1.0 } else { 0.0 });
                r.notes.push(format!("finite-mixture fit of the region alone (alpha held at the nation's {:.2}): an estimate, no interval", self.params.alpha));
                out.push(r);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
