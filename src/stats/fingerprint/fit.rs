//! The Klimek fit: common-random-number simulations, the criterion, the coarse stage, the
//! honest-parameter search and the final stage (module docs of [`super`], "The fit").

use super::*;

// ---------------------------------------------------------------------------------------
// Common-random-number simulations and the fit
// ---------------------------------------------------------------------------------------

/// SplitMix64 finaliser: decorrelates seeds derived from (seed, replicate, simulation).
pub(super) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn sub_seed(seed: u64, a: u64, b: u64) -> u64 {
    splitmix(splitmix(splitmix(seed) ^ a.wrapping_mul(0xD1B5_4A32_D192_ED03)) ^ b.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7))
}

/// Standard normal CDF.
#[inline]
pub(super) fn norm_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile.
#[inline]
pub(super) fn norm_inv(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p.clamp(1e-300, 1.0 - 1e-16))
}

/// One simulation's parameter-free random numbers, stations sorted by their uniform `u`
/// (module docs, "common random numbers"). The honest turnout of station `j` under
/// `(τ, σ_τ)` is `τ + σ_τ zt[j]` when that lies in [0, 1], else the inverse-CDF draw of
/// the truncated normal at the uniform `wt[j]`; this mixture is exactly the truncated
/// normal (the in-range part has density ∝ φ, and the out-of-range mass is spread ∝ φ over
/// [0, 1]), and it moves continuously with the parameters for all stations but the few
/// that cross a boundary. Likewise the share (`zv`, `wv`) and the incremental intensity
/// `|θ zi|` truncated to [0, 1] (`wi`). The extreme intensity `xe` has no free parameter.
pub(super) struct Base {
    pub(super) u: Vec<f64>,
    pub(super) n: Vec<f64>,
    pub(super) zt: Vec<f64>,
    pub(super) zv: Vec<f64>,
    pub(super) zi: Vec<f64>,
    pub(super) wt: Vec<f64>,
    pub(super) wv: Vec<f64>,
    pub(super) wi: Vec<f64>,
    pub(super) xe: Vec<f64>,
}

pub(super) fn draw_base(registered: &[u32], seed: u64) -> Base {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = registered.len();
    let mut raw: Vec<[f64; 8]> = Vec::with_capacity(m);
    for _ in 0..m {
        raw.push([
            rng.random::<f64>(),
            std_normal(&mut rng),
            std_normal(&mut rng),
            std_normal(&mut rng),
            rng.random::<f64>(),
            rng.random::<f64>(),
            rng.random::<f64>(),
            (1.0 - (EXTREME_SD * std_normal(&mut rng)).abs()).max(0.0),
        ]);
    }
    let mut order: Vec<u32> = (0..m as u32).collect();
    order.sort_unstable_by(|&a, &b| raw[a as usize][0].total_cmp(&raw[b as usize][0]).then(a.cmp(&b)));
    let col = |c: usize| order.iter().map(|&i| raw[i as usize][c]).collect::<Vec<f64>>();
    Base {
        u: col(0),
        n: order.iter().map(|&i| registered[i as usize] as f64).collect(),
        zt: col(1),
        zv: col(2),
        zi: col(3),
        wt: col(4),
        wv: col(5),
        wi: col(6),
        xe: col(7),
    }
}

/// `Normal(mu, sd)` truncated to [0, 1] from `(z, w)` (see [`Base`]).
pub(super) struct Trunc {
    pub(super) mu: f64,
    pub(super) sd: f64,
    pub(super) a: f64,
    pub(super) b: f64,
}

impl Trunc {
    pub(super) fn new(mu: f64, sd: f64) -> Self {
        let sd = sd.max(1e-9);
        Trunc { mu, sd, a: norm_cdf(-mu / sd), b: norm_cdf((1.0 - mu) / sd) }
    }
    #[inline]
    pub(super) fn at(&self, z: f64, w: f64) -> f64 {
        let x = self.mu + self.sd * z;
        if (0.0..=1.0).contains(&x) {
            x
        } else {
            (self.mu + self.sd * norm_inv(self.a + w * (self.b - self.a))).clamp(0.0, 1.0)
        }
    }
}

pub(super) const NONE: u32 = u32::MAX;

/// Bins and weights of one simulation's stations in one state.
pub(super) struct StateBins {
    pub(super) b: Vec<u32>,
    pub(super) w: Vec<f64>,
}

/// One simulation realised at given honest parameters and α: every station's bin in each
/// of the three states (honest, incremental, extreme), in `u` order.
pub(super) struct SimBins {
    pub(super) honest: StateBins,
    pub(super) inc: StateBins,
    pub(super) ext: StateBins,
}

/// Stations with `u ≥ u_max` get only their honest state (the incremental and extreme
/// vectors stop there: no threshold of the caller reaches them).
pub(super) fn realize(d: &Base, h: &HonestParams, alpha: f64, bins: usize, weighting: Weighting, u_max: f64) -> SimBins {
    let m = d.n.len();
    let m_fraud = d.u.partition_point(|&u| u < u_max);
    let tt = Trunc::new(h.tau, h.sigma_tau);
    let tv = Trunc::new(h.nu, h.sigma_nu);
    let theta = h.theta.max(1e-9);
    let pi = norm_cdf(1.0 / theta) - 0.5;
    let mk = || StateBins { b: Vec::with_capacity(m), w: Vec::with_capacity(m) };
    let (mut hs, mut is, mut es) = (mk(), mk(), mk());
    let push = |s: &mut StateBins, n: f64, t: f64, v: f64, x: f64| {
        let (bb, ww) = reported(n, t, v, x, alpha);
        if bb <= 0.0 {
            s.b.push(NONE);
            s.w.push(0.0);
        } else {
            s.b.push((bin_of(bb / n, bins) * bins + bin_of(ww / bb, bins)) as u32);
            s.w.push(match weighting {
                Weighting::Stations => 1.0,
                Weighting::Voters => bb,
            });
        }
    };
    for j in 0..m {
        let t = tt.at(d.zt[j], d.wt[j]);
        let v = tv.at(d.zv[j], d.wv[j]);
        let xi = {
            let x = (theta * d.zi[j]).abs();
            if x <= 1.0 { x } else { (theta * norm_inv(0.5 + d.wi[j] * pi)).clamp(0.0, 1.0) }
        };
        push(&mut hs, d.n[j], t, v, 0.0);
        if j < m_fraud {
            push(&mut is, d.n[j], t, v, xi);
            push(&mut es, d.n[j], t, v, d.xe[j]);
        }
    }
    SimBins { honest: hs, inc: is, ext: es }
}

/// Running `D = Σ (obs − h)²` with `h` the mean simulated histogram.
pub(super) struct Running<'a> {
    pub(super) obs: &'a [f64],
    /// Per-bin weights of the criterion.
    pub(super) wt: &'a [f64],
    /// Simulation-variance correction: `D` includes `− c Σ w_b h_b` (module docs).
    pub(super) c: f64,
    pub(super) h: Vec<f64>,
    pub(super) d: f64,
}

impl Running<'_> {
    #[inline]
    pub(super) fn add(&mut self, b: u32, delta: f64) {
        if b == NONE || delta == 0.0 {
            return;
        }
        let b = b as usize;
        let r = self.obs[b] - self.h[b];
        self.d += self.wt[b] * delta * (delta - 2.0 * r - self.c);
        self.h[b] += delta;
    }
    #[inline]
    pub(super) fn mv(&mut self, b0: u32, w0: f64, b1: u32, w1: f64) {
        if b0 == b1 {
            self.add(b0, w1 - w0);
        } else {
            self.add(b0, -w0);
            self.add(b1, w1);
        }
    }
}

/// Mean histogram of the honest states of `sims`.
pub(super) fn honest_mean(sims: &[SimBins], nb: usize) -> Vec<f64> {
    let k = 1.0 / sims.len() as f64;
    let mut h = vec![0.0; nb];
    for s in sims {
        for (&b, &w) in s.honest.b.iter().zip(&s.honest.w) {
            if b != NONE {
                h[b as usize] += w * k;
            }
        }
    }
    h
}

/// `D(f_i)` for `f_i = 0, step, 2·step, …` up to `min(fi_hi, 1 − f_e)`, at fixed `f_e` (module docs).
pub(super) fn sweep(obs: &[f64], wt: &[f64], wbar: f64, base: &[f64], sims: &[SimBins], us: &[&[f64]], fe: f64, step: f64, fi_hi: f64) -> Vec<f64> {
    let kinv = 1.0 / sims.len() as f64;
    let c = wbar * kinv;
    let mut r = Running { obs, wt, c, h: base.to_vec(), d: 0.0 };
    r.d = weighted_sq(obs, &r.h, wt) - c * r.h.iter().zip(wt).map(|(h, w)| h * w).sum::<f64>();
    let mut ptr = vec![0usize; sims.len()];
    for (k, s) in sims.iter().enumerate() {
        let u = us[k];
        while ptr[k] < u.len() && u[ptr[k]] < fe {
            let j = ptr[k];
            r.mv(s.honest.b[j], s.honest.w[j] * kinv, s.ext.b[j], s.ext.w[j] * kinv);
            ptr[k] += 1;
        }
    }
    let g_max = ((fi_hi.min(1.0 - fe)) / step + 1e-9).floor() as usize;
    let mut out = Vec::with_capacity(g_max + 1);
    for g in 0..=g_max {
        let thr = fe + g as f64 * step;
        for (k, s) in sims.iter().enumerate() {
            let u = us[k];
            while ptr[k] < u.len() && u[ptr[k]] < thr {
                let j = ptr[k];
                r.mv(s.honest.b[j], s.honest.w[j] * kinv, s.inc.b[j], s.inc.w[j] * kinv);
                ptr[k] += 1;
            }
        }
        out.push(r.d);
    }
    out
}

/// Mean simulated histogram at `(f_i, f_e)` (exact recomputation, for reporting).
pub(super) fn mean_hist(sims: &[SimBins], us: &[&[f64]], nb: usize, fi: f64, fe: f64) -> Vec<f64> {
    let k = 1.0 / sims.len() as f64;
    let mut h = vec![0.0; nb];
    for (s, u) in sims.iter().zip(us) {
        for j in 0..u.len() {
            let st = if u[j] < fe {
                &s.ext
            } else if u[j] < fe + fi {
                &s.inc
            } else {
                &s.honest
            };
            if st.b[j] != NONE {
                h[st.b[j] as usize] += st.w[j] * k;
            }
        }
    }
    h
}

/// The fit's criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// `Σ_b (observed − simulated)²` (the paper's sum of squared bin differences).
    LeastSquares,
    /// `Σ_b (observed − simulated)² / var_b`, `var_b` from the smoothed observed histogram
    /// (module docs; the default).
    #[default]
    SmoothedChi2,
}

/// How α is treated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlphaMode {
    Fixed(f64),
    /// Fitted over this grid (refined at the midpoints next to the coarse optimum).
    Grid(Vec<f64>),
}

/// Options of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitOptions {
    /// Bins per axis (100: 1 pp, as Klimek et al.).
    pub bins: usize,
    /// The model is fitted on at most this many stations: a seeded random subsample when
    /// the election is larger (the fit's cost grows with the stations simulated, its
    /// precision is limited by model misfit long before 250,000 stations; Klimek et al.
    /// fitted ~95,000). The observed fingerprint in the output then is the subsample's.
    pub max_stations: usize,
    pub weighting: Weighting,
    /// Simulations averaged per evaluation in the final stage.
    pub sims: usize,
    /// Simulations used in the coarse stage and in the honest-parameter search (the first
    /// ones of the same draws).
    pub coarse_sims: usize,
    pub alpha: AlphaMode,
    pub theta: ThetaRule,
    /// Distance minimised between observed and mean simulated histograms.
    pub criterion: Criterion,
    /// Largest `f_e` searched.
    pub fe_max: f64,
    pub fe_coarse_step: f64,
    pub fe_fine_step: f64,
    /// Resolution of `f_i`.
    pub fi_step: f64,
    /// Half-width of the `f_i` window of the fine stage around the coarse optimum.
    pub fi_window: f64,
    /// Coordinate-descent passes over the honest parameters `(τ, ν, σ_τ, σ_ν)` with
    /// `f_i`, `f_e` profiled out (0: the paper's raw KDE estimates are used as they are).
    pub honest_passes: usize,
    /// First step of that search (halved on every later pass), in share/turnout units.
    pub honest_step: f64,
    /// Honest parameters `(τ, σ_τ, ν, σ_ν)` given instead of estimated (sensitivity
    /// checks; θ still follows the rule at this ν). `None`: estimated.
    pub honest_fixed: Option<(f64, f64, f64, f64)>,
    /// Bootstrap replicates (0: none).
    pub bootstrap: usize,
    /// Simulations per evaluation in the final stage of each bootstrap refit.
    pub bootstrap_sims: usize,
    /// Central interval level of the bootstrap (0.95).
    pub level: f64,
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            bins: 100,
            max_stations: 250_000,
            weighting: Weighting::Stations,
            sims: 8,
            coarse_sims: 3,
            alpha: AlphaMode::Fixed(2.0),
            theta: ThetaRule::SqrtRightRms,
            criterion: Criterion::SmoothedChi2,
            fe_max: 0.25,
            fe_coarse_step: 0.01,
            fe_fine_step: 0.002,
            fi_step: 0.001,
            fi_window: 0.1,
            honest_passes: 2,
            honest_step: 0.008,
            honest_fixed: None,
            bootstrap: 0,
            bootstrap_sims: 4,
            level: 0.95,
            seed: 20_120_924,
        }
    }
}

/// The fitted fraud parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FraudFit {
    pub f_i: f64,
    pub f_e: f64,
    pub alpha: f64,
    /// `Σ (observed − fitted)²` over the bins.
    pub distance: f64,
    /// `distance / Σ observed²`.
    pub distance_rel: f64,
    /// Distance of the honest model (`f_i = f_e = 0`).
    pub distance_honest: f64,
}

/// Bootstrap summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapSummary {
    pub replicates: usize,
    pub level: f64,
    pub f_i_ci: (f64, f64),
    pub f_e_ci: (f64, f64),
    pub alpha_ci: (f64, f64),
    pub f_i_sd: f64,
    pub f_e_sd: f64,
    /// `(f_i, f_e, α)` of every replicate, in replicate order.
    pub samples: Vec<(f64, f64, f64)>,
}

/// Everything the fingerprint produces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FingerprintResult {
    pub n: usize,
    pub basis: TurnoutBasis,
    pub leader: Option<String>,
    pub excluded: Exclusions,
    /// Honest parameters of the model at the fit (fitted jointly with `f_i`, `f_e`).
    pub honest_params: HonestParams,
    /// The raw estimates from the observed data (the paper's τ, σ_τ, ν, σ_ν, θ), the
    /// starting point of the joint fit.
    pub honest_params_raw: HonestParams,
    pub fit: FraudFit,
    pub bootstrap: Option<BootstrapSummary>,
    /// Observed fingerprint at the fit's resolution and weights.
    pub observed: Histogram2d,
    /// Mean simulated fingerprint at the fitted parameters.
    pub fitted: Histogram2d,
    /// Mean simulated fingerprint at `f_i = f_e = 0` (honest counterfactual).
    pub honest: Histogram2d,
    pub options: FitOptions,
    pub notes: Vec<String>,
}

pub(super) struct CoreFit {
    pub(super) raw: HonestParams,
    pub(super) h: HonestParams,
    pub(super) fit: FraudFit,
    pub(super) fitted: Vec<f64>,
    pub(super) honest: Vec<f64>,
}

pub(super) fn validate(o: &FitOptions) -> Result<()> {
    if o.bins == 0 || o.bins > 4096 {
        return Err(Error::usage("fingerprint: bins must be in 1..=4096"));
    }
    if o.sims == 0 || o.coarse_sims == 0 || o.bootstrap_sims == 0 {
        return Err(Error::usage("fingerprint: the number of simulations must be positive"));
    }
    if !(o.fi_step > 0.0 && o.fe_coarse_step > 0.0 && o.fe_fine_step > 0.0 && o.fi_window > 0.0 && o.honest_step > 0.0) {
        return Err(Error::usage("fingerprint: grid steps must be positive"));
    }
    if !(0.0..1.0).contains(&o.fe_max) {
        return Err(Error::usage("fingerprint: fe_max must be in [0, 1)"));
    }
    if !(o.level > 0.0 && o.level < 1.0) {
        return Err(Error::usage("fingerprint: the interval level must be in (0, 1)"));
    }
    match &o.alpha {
        AlphaMode::Fixed(a) if *a > 0.0 => {}
        AlphaMode::Grid(g) if !g.is_empty() && g.iter().all(|a| *a > 0.0) => {}
        _ => return Err(Error::usage("fingerprint: α must be positive (and the grid non-empty)")),
    }
    Ok(())
}

/// `Σ w (a − b)²`.
pub(super) fn weighted_sq(a: &[f64], b: &[f64], w: &[f64]) -> f64 {
    a.iter().zip(b).zip(w).map(|((x, y), w)| w * (x - y) * (x - y)).sum()
}

/// Per-bin weights of the fit criterion (module docs): 1 for [`Criterion::LeastSquares`];
/// for [`Criterion::SmoothedChi2`], `1 / (w̄ (s_b + w̄))` with `s_b` the observed histogram
/// blurred by a Gaussian of 1.5 bins (separable, truncated at 4 sd) and `w̄ = Σw²/Σw` the
/// station weights' size (1 for station weights), i.e. the inverse of an estimate of the
/// bin's sampling variance that does not follow the bin's own noise.
pub(super) fn criterion_weights(st: &Stations, o: &FitOptions, obs: &[f64]) -> (Vec<f64>, f64) {
    let nb = obs.len();
    let bins = o.bins;
    let wbar = match st.weights(o.weighting) {
        None => 1.0,
        Some(w) => {
            let (s1, s2) = w.iter().fold((0.0, 0.0), |(a, b), x| (a + x, b + x * x));
            if s1 > 0.0 { s2 / s1 } else { 1.0 }
        }
    };
    if o.criterion == Criterion::LeastSquares {
        return (vec![1.0; nb], wbar);
    }
    let sd = 1.5;
    let r = (4.0 * sd) as isize;
    let k: Vec<f64> = (-r..=r).map(|i| (-0.5 * (i as f64 / sd).powi(2)).exp()).collect();
    let ks: f64 = k.iter().sum();
    let blur = |src: &[f64], stride: usize, len: usize, other: usize, ostride: usize| -> Vec<f64> {
        let mut out = vec![0.0; nb];
        for a in 0..other {
            for i in 0..len {
                let mut acc = 0.0;
                for (j, kk) in k.iter().enumerate() {
                    let p = i as isize + j as isize - r;
                    if p >= 0 && (p as usize) < len {
                        acc += kk * src[a * ostride + p as usize * stride];
                    }
                }
                out[a * ostride + i * stride] = acc / ks;
            }
        }
        out
    };
    // along share (contiguous), then along turnout
    let s1 = blur(obs, 1, bins, bins, bins);
    let s2 = blur(&s1, bins, bins, bins, 1);
    (s2.iter().map(|s| 1.0 / (wbar * (s.max(0.0) + wbar))).collect(), wbar)
}

/// θ by `rule` from the observed shares, given ν: `(θ, RMS(v − ν) over v > ν)`.
pub(super) fn theta_for(share: &[f64], nu: f64, rule: ThetaRule) -> (f64, f64) {
    let (mut s, mut k) = (0.0, 0usize);
    for &v in share {
        if v > nu {
            s += (v - nu) * (v - nu);
            k += 1;
        }
    }
    let right = if k == 0 { 0.0 } else { (s / k as f64).sqrt() };
    let theta = match rule {
        ThetaRule::SqrtRightRms => right.sqrt(),
        ThetaRule::RightRms => right,
        ThetaRule::Fixed(t) => t,
    };
    (theta, right)
}

pub(super) fn fe_grid(lo: f64, hi: f64, step: f64, fe_max: f64) -> Vec<f64> {
    let lo = lo.max(0.0);
    let hi = hi.min(fe_max);
    if hi < lo {
        return vec![lo.min(fe_max)];
    }
    let n = ((hi - lo) / step + 1e-9).floor() as usize;
    (0..=n).map(|k| lo + k as f64 * step).collect()
}

/// Best `(f_e, f_i, D)` over `fes` × `f_i ∈ [fi_lo, fi_hi]` (step `step`) for one set of
/// realised simulations. Ties go to the first (smallest `f_e`, then `f_i`).
pub(super) fn profile(obs: &[f64], wt: &[f64], wbar: f64, sims: &[SimBins], us: &[&[f64]], fes: &[f64], step: f64, fi_lo: f64, fi_hi: f64) -> (f64, f64, f64) {
    let base = honest_mean(sims, obs.len());
    let res: Vec<(f64, f64, f64)> = fes
        .par_iter()
        .map(|&fe| {
            let ds = sweep(obs, wt, wbar, &base, sims, us, fe, step, fi_hi);
            let g0 = ((fi_lo.max(0.0) / step) + 1e-9).floor() as usize;
            let (g, d) = ds
                .iter()
                .enumerate()
                .skip(g0.min(ds.len().saturating_sub(1)))
                .fold((0usize, f64::INFINITY), |acc, (g, &d)| if d < acc.1 { (g, d) } else { acc });
            (fe, g as f64 * step, d)
        })
        .collect();
    res.into_iter().fold((0.0, 0.0, f64::INFINITY), |acc, r| if r.2 < acc.2 { r } else { acc })
}

/// Realises `bases` at `h`, `alpha` (in parallel, in order).
pub(super) fn realize_all(bases: &[Base], h: &HonestParams, alpha: f64, o: &FitOptions, u_max: f64) -> Vec<SimBins> {
    let u_max = u_max + 1e-9;
    bases.par_iter().map(|d| realize(d, h, alpha, o.bins, o.weighting, u_max)).collect()
}

/// The joint fit (module docs): coarse grid at the raw honest parameters, coordinate
/// descent over `(τ, ν, σ_τ, σ_ν)` with `(f_e, f_i)` profiled, final fine stage with
/// `sims_n` simulations. `seed_of(k)` is the seed of simulation k.
pub(super) fn fit_core(st: &Stations, o: &FitOptions, sims_n: usize, seed_of: &(dyn Fn(u64) -> u64 + Sync)) -> CoreFit {
    let bins = o.bins;
    let nb = bins * bins;
    let obs = station_histogram(st, o.weighting, bins).counts;
    let (wt, wbar) = criterion_weights(st, o, &obs);
    let mut raw = estimate_honest(&st.turnout, &st.share, o.theta);
    if let Some((tau, sigma_tau, nu, sigma_nu)) = o.honest_fixed {
        let (theta, right_rms) = theta_for(&st.share, nu, o.theta);
        raw = HonestParams { tau, sigma_tau, nu, sigma_nu, theta, right_rms, ..raw };
    }
    let coarse_n = o.coarse_sims.min(sims_n);
    let bases: Vec<Base> = (0..sims_n as u64).into_par_iter().map(|k| draw_base(&st.registered, seed_of(k))).collect();
    let us: Vec<&[f64]> = bases.iter().map(|d| d.u.as_slice()).collect();
    let alphas: Vec<f64> = match &o.alpha {
        AlphaMode::Fixed(a) => vec![*a],
        AlphaMode::Grid(g) => g.clone(),
    };
    // coarse stage: every α of the grid, every f_e of the coarse grid, all of f_i
    let coarse_fes = fe_grid(0.0, o.fe_max, o.fe_coarse_step, o.fe_max);
    let mut coarse = Vec::with_capacity(alphas.len());
    for &alpha in &alphas {
        let sims = realize_all(&bases[..coarse_n], &raw, alpha, o, 1.0);
        coarse.push(profile(&obs, &wt, wbar, &sims, &us[..coarse_n], &coarse_fes, o.fi_step, 0.0, 1.0));
    }
    // honest-parameter search: coordinate descent on the profile distance, at α
    let descend = |alpha0: f64, fe0: f64, fi0: f64, d_start: f64| -> (HonestParams, f64, f64, f64) {
        let mut h = raw;
        if o.honest_passes == 0 {
            return (h, fe0, fi0, d_start);
        }
        let share = &st.share;
        let with_nu = |mut h: HonestParams| {
            let (theta, right) = theta_for(share, h.nu, o.theta);
            h.theta = theta;
            h.right_rms = right;
            h
        };
        h = with_nu(h);
        let eval = |h: &HonestParams, fe0: f64, fi0: f64| -> (f64, f64, f64) {
            let fes = fe_grid(fe0 - 2.0 * o.fe_fine_step, fe0 + 2.0 * o.fe_fine_step, o.fe_fine_step, o.fe_max);
            let sims = realize_all(&bases[..coarse_n], h, alpha0, o, fes[fes.len() - 1] + fi0 + 0.5 * o.fi_window);
            profile(&obs, &wt, wbar, &sims, &us[..coarse_n], &fes, o.fi_step, fi0 - 0.5 * o.fi_window, fi0 + 0.5 * o.fi_window)
        };
        // bounds: modes within 0.1 of the raw ones, spreads within a factor 3
        let clamp = |k: usize, x: f64| -> f64 {
            match k {
                0 => x.clamp((raw.tau - 0.1).max(0.02), (raw.tau + 0.1).min(0.98)),
                1 => x.clamp((raw.nu - 0.1).max(0.02), (raw.nu + 0.1).min(0.98)),
                2 => x.clamp((raw.sigma_tau / 3.0).max(0.005), (raw.sigma_tau * 3.0).max(0.02)),
                _ => x.clamp((raw.sigma_nu / 3.0).max(0.005), (raw.sigma_nu * 3.0).max(0.02)),
            }
        };
        let get = |h: &HonestParams, k: usize| [h.tau, h.nu, h.sigma_tau, h.sigma_nu][k];
        let set = |h: &HonestParams, k: usize, x: f64| {
            let mut g = *h;
            match k {
                0 => g.tau = x,
                1 => g.nu = x,
                2 => g.sigma_tau = x,
                _ => g.sigma_nu = x,
            }
            with_nu(g)
        };
        let (mut fe_c, mut fi_c, mut d0) = eval(&h, fe0, fi0);
        let mut step = o.honest_step;
        for _pass in 0..o.honest_passes {
            let h_pass = h;
            for k in 0..4 {
                let x0 = get(&h, k);
                let xm = clamp(k, x0 - step);
                let xp = clamp(k, x0 + step);
                let hm = set(&h, k, xm);
                let hp = set(&h, k, xp);
                let (rm, rp) = rayon::join(|| eval(&hm, fe_c, fi_c), || eval(&hp, fe_c, fi_c));
                let mut cands = vec![(x0, (fe_c, fi_c, d0)), (xm, rm), (xp, rp)];
                // parabola through the three points (equal spacing unless clamped)
                let denom = rm.2 - 2.0 * d0 + rp.2;
                if denom > 0.0 && xp - x0 > 0.0 && x0 - xm > 0.0 {
                    let shift = (0.5 * step * (rm.2 - rp.2) / denom).clamp(-2.0 * step, 2.0 * step);
                    let xv = clamp(k, x0 + shift);
                    if (xv - x0).abs() > 1e-4 && (xv - xm).abs() > 1e-4 && (xv - xp).abs() > 1e-4 {
                        cands.push((xv, eval(&set(&h, k, xv), fe_c, fi_c)));
                    }
                }
                let (xb, rb) = cands.into_iter().fold((x0, (fe_c, fi_c, f64::INFINITY)), |acc, c| if c.1.2 < acc.1.2 { c } else { acc });
                h = set(&h, k, xb);
                (fe_c, fi_c, d0) = rb;
            }
            // pattern move (Hooke & Jeeves): the modes and the fraud share lie on a ridge
            // (fraud with small x looks like a shifted honest peak) that coordinate steps
            // climb slowly; try the pass's displacement once and twice more, in parallel
            let disp: Vec<f64> = (0..4).map(|k| get(&h, k) - get(&h_pass, k)).collect();
            let moved = disp.iter().any(|d| d.abs() > 1e-9);
            if moved {
                let along = |m: f64| {
                    let mut g = h;
                    for (k, d) in disp.iter().enumerate() {
                        g = set(&g, k, clamp(k, get(&g, k) + m * d));
                    }
                    g
                };
                let (h1, h2) = (along(1.0), along(2.0));
                let (r1, r2) = rayon::join(|| eval(&h1, fe_c, fi_c), || eval(&h2, fe_c, fi_c));
                if r2.2 < d0 && r2.2 <= r1.2 {
                    h = h2;
                    (fe_c, fi_c, d0) = r2;
                } else if r1.2 < d0 {
                    h = h1;
                    (fe_c, fi_c, d0) = r1;
                }
            }
            // shrink the step once the search stops travelling
            if disp.iter().all(|d| d.abs() < 0.75 * step) {
                step *= 0.5;
            }
        }
        (h, fe_c, fi_c, d0)
    };
    // α fitted: the search runs at every grid value (the coarse choice, made at the raw
    // honest parameters, can be wrong) and the best is kept
    let mut best: Option<(usize, HonestParams, f64, f64, f64)> = None;
    for (a, &alpha) in alphas.iter().enumerate() {
        let (h, fe, fi, d) = descend(alpha, coarse[a].0, coarse[a].1, coarse[a].2);
        if best.as_ref().is_none_or(|b| d < b.4) {
            best = Some((a, h, fe, fi, d));
        }
    }
    let (ca, h, fe0, fi0, _) = best.expect("at least one α");
    let alpha0 = alphas[ca];
    // final stage: all simulations, fine f_e grid around the optimum, α and its grid
    // neighbours' midpoints
    let mut fine_alphas = vec![alpha0];
    if alphas.len() > 1 {
        if ca > 0 {
            fine_alphas.push(0.5 * (alphas[ca - 1] + alphas[ca]));
        }
        if ca + 1 < alphas.len() {
            fine_alphas.push(0.5 * (alphas[ca] + alphas[ca + 1]));
        }
    }
    let fes = fe_grid(fe0 - o.fe_coarse_step, fe0 + o.fe_coarse_step, o.fe_fine_step, o.fe_max);
    let mut fbest: Option<(f64, f64, f64, f64, Vec<SimBins>)> = None;
    for &alpha in &fine_alphas {
        let sims = realize_all(&bases, &h, alpha, o, fes[fes.len() - 1] + fi0 + o.fi_window);
        let (fe, fi, d) = profile(&obs, &wt, wbar, &sims, &us, &fes, o.fi_step, fi0 - o.fi_window, fi0 + o.fi_window);
        if fbest.as_ref().is_none_or(|b| d < b.3) {
            fbest = Some((alpha, fe, fi, d, sims));
        }
    }
    let (alpha, fe, fi, _, sims) = fbest.expect("at least one α");
    let fitted = mean_hist(&sims, &us, nb, fi, fe);
    let honest = honest_mean(&sims, nb);
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let distance = sq(&obs, &fitted);
    let norm: f64 = obs.iter().map(|x| x * x).sum();
    let fit = FraudFit {
        f_i: fi,
        f_e: fe,
        alpha,
        distance,
        distance_rel: if norm > 0.0 { distance / norm } else { 0.0 },
        distance_honest: sq(&obs, &honest),
    };
    CoreFit { raw, h, fit, fitted, honest }
}
