//! The EM fit (module docs of [`super`], "The fit"): precomputed clean values per station
//! and grid point, E-step and M-step in one parallel pass, several starts.

use super::*;

/// Stations per chunk of the parallel passes: the chunks' sums are added in chunk order,
/// so a fit is identical for any number of threads.
const CHUNK: usize = 2048;

/// Per station, its feasible components only (those that can produce it): component
/// index, the logits of the clean values and the log Jacobian less the logit transform's
/// (`log J − log t₀(1 − t₀) − log s₀(1 − s₀)`). Typically 15–20 of the 45 components are
/// feasible (extreme fraud cannot produce a station at 55% turnout); f32 values.
pub(super) struct Pre {
    /// Clean-centre group of each station ([`Data::group`]; all 0 when not assigned).
    pub(super) group: Vec<u32>,
    pub(super) groups: usize,
    /// Station `i`'s entries are `off[i]..off[i + 1]`.
    pub(super) off: Vec<u32>,
    pub(super) k: Vec<u8>,
    pub(super) lt: Vec<f32>,
    pub(super) ls: Vec<f32>,
    pub(super) c: Vec<f32>,
}

impl Pre {
    pub(super) fn new(d: &Data, grid: &Grid, alpha: f64) -> Pre {
        let n = d.len();
        let y: Vec<f64> = grid.x.iter().map(|&x| if x == 0.0 { 0.0 } else { x.powf(alpha) }).collect();
        type Part = (Vec<u32>, Vec<u8>, Vec<f32>, Vec<f32>, Vec<f32>);
        let parts: Vec<Part> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|ci| {
                let range = ci * CHUNK..((ci + 1) * CHUNK).min(n);
                let cap = range.len() * 20;
                let mut part: Part = (Vec::with_capacity(range.len()), Vec::with_capacity(cap), Vec::with_capacity(cap), Vec::with_capacity(cap), Vec::with_capacity(cap));
                for i in range {
                    let (t, s) = (d.turnout[i], d.share[i]);
                    let mut cnt = 0u32;
                    for k in 0..K {
                        if let Some((t0, s0, lj)) = invert(t, s, grid.x[k], y[k]) {
                            part.1.push(k as u8);
                            part.2.push(logit(t0) as f32);
                            part.3.push(logit(s0) as f32);
                            part.4.push((lj - (t0 * (1.0 - t0)).ln() - (s0 * (1.0 - s0)).ln()) as f32);
                            cnt += 1;
                        }
                    }
                    part.0.push(cnt);
                }
                part
            })
            .collect();
        let total: usize = parts.iter().map(|p| p.1.len()).sum();
        let group = if d.group.len() == n { d.group.clone() } else { vec![0; n] };
        let groups = group.iter().map(|&g| g as usize + 1).max().unwrap_or(1);
        let mut pre = Pre { group, groups, off: Vec::with_capacity(n + 1), k: Vec::with_capacity(total), lt: Vec::with_capacity(total), ls: Vec::with_capacity(total), c: Vec::with_capacity(total) };
        pre.off.push(0);
        let mut acc = 0u32;
        for (cnt, k, lt, ls, c) in parts {
            for x in cnt {
                acc += x;
                pre.off.push(acc);
            }
            pre.k.extend(k);
            pre.lt.extend(lt);
            pre.ls.extend(ls);
            pre.c.extend(c);
        }
        pre
    }

    fn len(&self) -> usize {
        self.off.len() - 1
    }
}

/// Sums of one E-step pass: log-likelihood, responsibilities per component, and the
/// responsibility-weighted moments of the clean logits.
#[derive(Clone)]
pub(super) struct Sums {
    pub(super) loglik: f64,
    pub(super) r: [f64; K],
    pub(super) stt: f64,
    pub(super) sss: f64,
    /// Per clean-centre group: Σ r·logit t⁰, Σ r·logit s⁰, stations.
    pub(super) gt: Vec<f64>,
    pub(super) gs: Vec<f64>,
    pub(super) gn: Vec<f64>,
}

impl Sums {
    fn zero(groups: usize) -> Sums {
        Sums { loglik: 0.0, r: [0.0; K], stt: 0.0, sss: 0.0, gt: vec![0.0; groups], gs: vec![0.0; groups], gn: vec![0.0; groups] }
    }
    fn add(&mut self, o: &Sums) {
        self.loglik += o.loglik;
        for k in 0..K {
            self.r[k] += o.r[k];
        }
        self.stt += o.stt;
        self.sss += o.sss;
        for g in 0..self.gt.len() {
            self.gt[g] += o.gt[g];
            self.gs[g] += o.gs[g];
            self.gn[g] += o.gn[g];
        }
    }
}

/// The clean centres of the groups (regions), as offsets from the national `τ`, `ν`
/// (module docs, "Regions' clean centres").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Centres {
    pub tau: Vec<f64>,
    pub nu: Vec<f64>,
}

impl Centres {
    pub(super) fn zero(groups: usize) -> Centres {
        Centres { tau: vec![0.0; groups], nu: vec![0.0; groups] }
    }
    #[inline]
    fn at(&self, g: u32) -> (f64, f64) {
        (self.tau.get(g as usize).copied().unwrap_or(0.0), self.nu.get(g as usize).copied().unwrap_or(0.0))
    }
}

/// Per-component log terms that do not depend on the station: prior weight and the
/// normal densities' constants.
fn constants(p: &Params, grid: &Grid) -> [f64; K] {
    let mut c = grid.log_prior(p);
    let k0 = -p.sigma_tau.ln() - p.sigma_nu.ln() - std::f64::consts::TAU.ln();
    c.iter_mut().for_each(|v| *v += k0);
    c
}

/// Responsibilities of station `i`'s feasible entries into `r[..m]` (the same order as
/// its entries), returns its log-likelihood. Entries more than 40 below the station's
/// largest term get responsibility 0 (e⁻⁴⁰ ≈ 4·10⁻¹⁸ of it).
#[inline]
fn station(pre: &Pre, i: usize, p: &Params, cen: &Centres, lc: &[f64; K], r: &mut [f64; K]) -> f64 {
    let (it, is) = (1.0 / p.sigma_tau, 1.0 / p.sigma_nu);
    let (dt, ds) = cen.at(pre.group[i]);
    let (tau, nu) = (p.tau + dt, p.nu + ds);
    let (a, b) = (pre.off[i] as usize, pre.off[i + 1] as usize);
    let mut m = f64::NEG_INFINITY;
    for (j, e) in (a..b).enumerate() {
        let zt = (pre.lt[e] as f64 - tau) * it;
        let zs = (pre.ls[e] as f64 - nu) * is;
        let l = pre.c[e] as f64 + lc[pre.k[e] as usize] - 0.5 * (zt * zt + zs * zs);
        r[j] = l;
        if l > m {
            m = l;
        }
    }
    if m == f64::NEG_INFINITY {
        // no component reaches the station (the clean one always does; kept safe)
        r[..b - a].iter_mut().for_each(|v| *v = 0.0);
        return -1e3;
    }
    let mut sum = 0.0;
    for v in r[..b - a].iter_mut() {
        let d = *v - m;
        *v = if d > -40.0 { d.exp() } else { 0.0 };
        sum += *v;
    }
    let inv = 1.0 / sum;
    r[..b - a].iter_mut().for_each(|v| *v *= inv);
    m + sum.ln()
}

/// One E-step pass over all stations (parallel, fixed-order reduction).
pub(super) fn e_step(pre: &Pre, p: &Params, cen: &Centres, grid: &Grid) -> Sums {
    let lc = constants(p, grid);
    let n = pre.len();
    let parts: Vec<Sums> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ci| {
            let mut s = Sums::zero(pre.groups);
            let mut r = [0.0; K];
            for i in ci * CHUNK..((ci + 1) * CHUNK).min(n) {
                s.loglik += station(pre, i, p, cen, &lc, &mut r);
                let g = pre.group[i] as usize;
                s.gn[g] += 1.0;
                let a = pre.off[i] as usize;
                for (j, e) in (a..pre.off[i + 1] as usize).enumerate() {
                    let w = r[j];
                    if w > 0.0 {
                        s.r[pre.k[e] as usize] += w;
                        let (x, y) = (pre.lt[e] as f64, pre.ls[e] as f64);
                        s.gt[g] += w * x;
                        s.stt += w * x * x;
                        s.gs[g] += w * y;
                        s.sss += w * y * y;
                    }
                }
            }
            s
        })
        .collect();
    let mut total = Sums::zero(pre.groups);
    for s in &parts {
        total.add(s);
    }
    total
}

/// The observed-data log-likelihood at `p` (one pass).
pub(super) fn log_lik(pre: &Pre, p: &Params, cen: &Centres, grid: &Grid) -> f64 {
    e_step(pre, p, cen, grid).loglik
}

/// Golden-section maximum of `f` on `[a, b]`.
pub(super) fn golden_max(f: &dyn Fn(f64) -> f64, mut a: f64, mut b: f64, tol: f64) -> f64 {
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while (b - a).abs() > tol {
        if fc >= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    0.5 * (a + b)
}

/// The M-step from one pass's sums: closed form for the mixture weights and the clean
/// logit-normals, a one-dimensional maximisation for θ (`α` is updated apart).
pub(super) fn m_step(s: &Sums, p: &Params, cen: &Centres, grid: &Grid, n: f64) -> (Params, Centres) {
    let ri: f64 = s.r[1..1 + GRID_INCREMENTAL].iter().sum();
    let re: f64 = s.r[1 + GRID_INCREMENTAL..].iter().sum();
    // Each group's centre is its responsibility-weighted mean of the clean logits (every
    // station's responsibilities sum to 1); the national τ, ν their station-weighted mean;
    // the spread is around the group centres.
    let tau = s.gt.iter().sum::<f64>() / n;
    let nu = s.gs.iter().sum::<f64>() / n;
    let (mut bt, mut bs) = (0.0, 0.0);
    let mut next = cen.clone();
    for g in 0..s.gn.len() {
        if s.gn[g] > 0.0 {
            let (mt, ms) = (s.gt[g] / s.gn[g], s.gs[g] / s.gn[g]);
            bt += s.gt[g] * mt;
            bs += s.gs[g] * ms;
            next.tau[g] = mt - tau;
            next.nu[g] = ms - nu;
        }
    }
    let sigma_tau = ((s.stt - bt) / n).max(1e-8).sqrt().max(1e-3);
    let sigma_nu = ((s.sss - bs) / n).max(1e-8).sqrt().max(1e-3);
    // θ maximises Σ_g R_g log π_g(θ) (the magnitude's share of the complete-data
    // log-likelihood), on the log scale.
    let theta = if ri > 1e-9 {
        let rg = &s.r[1..1 + GRID_INCREMENTAL];
        let q = |lt: f64| -> f64 {
            let li = grid.log_incremental(lt.exp());
            rg.iter().zip(&li).map(|(r, l)| r * l).sum()
        };
        golden_max(&q, THETA_RANGE.0.ln(), THETA_RANGE.1.ln(), 1e-4).exp()
    } else {
        p.theta
    };
    (Params { tau, sigma_tau, nu, sigma_nu, f_i: ri / n, f_e: re / n, theta, alpha: p.alpha }, next)
}

/// Settings of the EM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmOptions {
    /// Largest number of EM iterations of the chosen start.
    pub max_iter: usize,
    /// Convergence: log-likelihood gain per station below this.
    pub tol: f64,
    /// Iterations every start runs before the best one is carried on.
    pub start_iter: usize,
    /// α fitted (`None`) or fixed.
    pub alpha: Option<f64>,
    /// SQUAREM acceleration (off: plain EM, for checks).
    pub squarem: bool,
}

impl Default for EmOptions {
    fn default() -> Self {
        EmOptions { max_iter: 400, tol: 1e-8, start_iter: 12, alpha: None, squarem: true }
    }
}

/// One EM run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmRun {
    pub params: Params,
    pub centres: Centres,
    pub loglik: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// The α step (generalised EM): with the responsibilities at `p` held, maximise over α
/// (golden section on `log α`) the α-dependent part of the complete-data log-likelihood,
/// `Q(α) = Σ_ik r_ik [log φ(t⁰_ik(α), s⁰_ik(α)) + log J_ik(α)]` over the fraud components
/// with `r_ik > 10⁻⁶` (the clean component does not depend on α); `pre` is rebuilt at the
/// new α and the step kept only if the observed log-likelihood rose.
fn alpha_step(d: &Data, pre: &mut Pre, p: &mut Params, cen: &Centres, grid: &Grid, first: bool) {
    if p.f_i + p.f_e < 1e-6 {
        return;
    }
    let lc = constants(p, grid);
    let pairs: Vec<(u32, u8, f64)> = (0..d.len())
        .into_par_iter()
        .with_min_len(CHUNK)
        .flat_map_iter(|i| {
            let mut r = [0.0; K];
            station(pre, i, p, cen, &lc, &mut r);
            let a = pre.off[i] as usize;
            (a..pre.off[i + 1] as usize)
                .enumerate()
                .filter(|&(j, e)| pre.k[e] > 0 && r[j] > 1e-6)
                .map(|(j, e)| (i as u32, pre.k[e], r[j]))
                .collect::<Vec<_>>()
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    let q = |la: f64| -> f64 {
        let a = la.exp();
        pairs
            .par_chunks(CHUNK)
            .map(|ch| {
                ch.iter()
                    .map(|&(i, k, r)| {
                        let x = grid.x[k as usize];
                        let (dt, ds) = cen.at(pre.group[i as usize]);
                        let q = Params { tau: p.tau + dt, nu: p.nu + ds, ..*p };
                        r * log_density(d.turnout[i as usize], d.share[i as usize], x, x.powf(a), &q).max(-1e6)
                    })
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum()
    };
    let cur = log_lik(pre, p, cen, grid);
    // the whole range the first time, then around the current α
    let (lo, hi) = if first { (ALPHA_RANGE.0.ln(), ALPHA_RANGE.1.ln()) } else { ((p.alpha.ln() - 0.5).max(ALPHA_RANGE.0.ln()), (p.alpha.ln() + 0.5).min(ALPHA_RANGE.1.ln())) };
    let a = golden_max(&q, lo, hi, 0.01).exp();
    let cand = Pre::new(d, grid, a);
    if log_lik(&cand, &Params { alpha: a, ..*p }, cen, grid) > cur {
        *pre = cand;
        p.alpha = a;
    }
}

/// The parameters SQUAREM extrapolates, on scales where a straight line stays sensible.
fn to_vec(p: &Params) -> [f64; 7] {
    [p.tau, p.nu, p.sigma_tau.ln(), p.sigma_nu.ln(), p.f_i, p.f_e, p.theta.ln()]
}

fn from_vec(v: &[f64; 7], alpha: f64) -> Option<Params> {
    let p = Params { tau: v[0], nu: v[1], sigma_tau: v[2].exp(), sigma_nu: v[3].exp(), f_i: v[4], f_e: v[5], theta: v[6].exp().clamp(THETA_RANGE.0, THETA_RANGE.1), alpha };
    let ok = [p.tau, p.nu, p.sigma_tau, p.sigma_nu].iter().all(|x| x.is_finite()) && p.sigma_tau >= 1e-3 && p.sigma_nu >= 1e-3;
    (ok && p.f_i >= 0.0 && p.f_e >= 0.0 && p.f_i + p.f_e < 1.0).then_some(p)
}

/// Runs EM from `p` for at most `iters` E-steps, accelerated by SQUAREM (Varadhan &
/// Roland 2008, scheme S3 with the log-likelihood as merit: two EM steps, an extrapolation
/// along their differences, one stabilising EM step; an extrapolation that lowers the
/// log-likelihood is dropped for the plain second step). α, when fitted, is updated at
/// convergence (at most 5 times) and the EM resumed while it moves by more than 1%.
pub(super) fn run(d: &Data, pre: &mut Pre, mut p: Params, mut cen: Centres, grid: &Grid, o: &EmOptions, iters: usize) -> EmRun {
    if cen.tau.len() != pre.groups {
        cen = Centres::zero(pre.groups);
    }
    let n = d.len() as f64;
    let mut it = 0;
    let mut converged = false;
    let mut alpha_steps = 0;
    let mut last = f64::NEG_INFINITY;
    while it < iters {
        // one SQUAREM cycle
        let s0 = e_step(pre, &p, &cen, grid);
        let (p1, c1) = m_step(&s0, &p, &cen, grid, n);
        let s1 = e_step(pre, &p1, &c1, grid);
        let (p2, c2) = m_step(&s1, &p1, &c1, grid, n);
        it += 2;
        let (v0, v1, v2) = (to_vec(&p), to_vec(&p1), to_vec(&p2));
        let r: Vec<f64> = (0..7).map(|j| v1[j] - v0[j]).collect();
        let v: Vec<f64> = (0..7).map(|j| v2[j] - 2.0 * v1[j] + v0[j]).collect();
        let (rr, vv) = (r.iter().map(|x| x * x).sum::<f64>(), v.iter().map(|x| x * x).sum::<f64>());
        let mut next = (p2, c2);
        let mut ll_next = s1.loglik;
        if vv > 0.0 && rr > 0.0 && o.squarem {
            let a = -(rr / vv).sqrt();
            if a < -1.0 {
                let mut ext = [0.0; 7];
                for j in 0..7 {
                    ext[j] = v0[j] - 2.0 * a * r[j] + a * a * v[j];
                }
                if let Some(pe) = from_vec(&ext, p.alpha) {
                    let se = e_step(pre, &pe, &next.1, grid);
                    it += 1;
                    if se.loglik.is_finite() && se.loglik >= s1.loglik {
                        next = m_step(&se, &pe, &next.1, grid, n);
                        ll_next = se.loglik;
                    }
                }
            }
        }
        let gain = ll_next - last.max(s0.loglik);
        last = ll_next;
        (p, cen) = next;
        if gain.abs() < o.tol * n {
            if o.alpha.is_none() && alpha_steps < 5 {
                alpha_steps += 1;
                let before = p.alpha;
                alpha_step(d, pre, &mut p, &cen, grid, alpha_steps == 1);
                if (p.alpha / before).ln().abs() > 0.01 {
                    last = f64::NEG_INFINITY;
                    continue;
                }
            }
            converged = true;
            break;
        }
    }
    let loglik = log_lik(pre, &p, &cen, grid);
    EmRun { params: p, centres: cen, loglik, iterations: it, converged }
}

/// Robust starting values of the clean parameters: the median of the observed logits
/// per group and nationally, and the scaled MAD of the deviations from the group medians
/// (fraud moves the right tail, the median little).
pub(super) fn clean_start(d: &Data) -> (f64, f64, f64, f64, Centres) {
    let n = d.len();
    let group = if d.group.len() == n { d.group.clone() } else { vec![0; n] };
    let groups = group.iter().map(|&g| g as usize + 1).max().unwrap_or(1);
    let lt: Vec<f64> = d.turnout.iter().map(|&t| logit(t)).collect();
    let ls: Vec<f64> = d.share.iter().map(|&s| logit(s)).collect();
    let (tau, _) = crate::rank::median_mad(&lt);
    let (nu, _) = crate::rank::median_mad(&ls);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups];
    for (i, &g) in group.iter().enumerate() {
        members[g as usize].push(i);
    }
    let mut cen = Centres::zero(groups);
    let (mut dt, mut ds) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (g, m) in members.iter().enumerate() {
        if m.is_empty() {
            continue;
        }
        let (mt, _) = crate::rank::median_mad(&m.iter().map(|&i| lt[i]).collect::<Vec<_>>());
        let (ms, _) = crate::rank::median_mad(&m.iter().map(|&i| ls[i]).collect::<Vec<_>>());
        cen.tau[g] = mt - tau;
        cen.nu[g] = ms - nu;
        dt.extend(m.iter().map(|&i| lt[i] - mt));
        ds.extend(m.iter().map(|&i| ls[i] - ms));
    }
    let (_, st) = crate::rank::median_mad(&dt);
    let (_, sn) = crate::rank::median_mad(&ds);
    (tau, st.max(0.02), nu, sn.max(0.02), cen)
}

/// The starts: fraud shares and magnitude scale at a spread of values, clean parameters
/// at [`clean_start`], α at 2 (Klimek et al.'s) unless fixed.
pub(super) fn starts(d: &Data, n_starts: usize, alpha: Option<f64>) -> (Vec<Params>, Centres) {
    let (tau, sigma_tau, nu, sigma_nu, cen) = clean_start(d);
    let a = alpha.unwrap_or(2.0);
    let fraud = [(0.05, 0.005, 0.15), (0.3, 0.02, 0.3), (0.01, 0.001, 0.08), (0.6, 0.05, 0.2), (0.15, 0.01, 0.5), (0.02, 0.05, 0.1)];
    let ps = fraud
        .iter()
        .cycle()
        .take(n_starts.max(1))
        .map(|&(f_i, f_e, theta)| Params { tau, sigma_tau, nu, sigma_nu, f_i, f_e, theta, alpha: a })
        .collect();
    (ps, cen)
}

/// Stations the starts are compared on: an even subsample of larger files.
pub const START_STATIONS: usize = 10_000;

/// Every start for `start_iter` E-steps (on an even subsample of [`START_STATIONS`] when
/// the file is larger), then the best on to convergence on every station. Returns the
/// final run, each start's log-likelihood after its first E-steps (per station), and the
/// precomputed arrays at the final α.
pub(super) fn fit_em(d: &Data, grid: &Grid, o: &EmOptions, n_starts: usize) -> (EmRun, Vec<f64>, Pre) {
    let a0 = o.alpha.unwrap_or(2.0);
    let short = EmOptions { alpha: Some(a0), ..o.clone() };
    let sub;
    let ds = if d.len() > START_STATIONS {
        let idx: Vec<usize> = (0..START_STATIONS).map(|j| j * d.len() / START_STATIONS).collect();
        sub = d.subset(&idx);
        &sub
    } else {
        d
    };
    let mut pre = Pre::new(ds, grid, a0);
    let mut best: Option<(f64, Params, Centres)> = None;
    let mut start_ll = Vec::new();
    let (ps, cen0) = starts(d, n_starts, o.alpha);
    for p0 in ps {
        let r = run(ds, &mut pre, p0, cen0.clone(), grid, &short, o.start_iter);
        start_ll.push(r.loglik / ds.len() as f64);
        if best.as_ref().is_none_or(|b| r.loglik > b.0) {
            best = Some((r.loglik, r.params, r.centres));
        }
    }
    let (_, p, cen) = best.expect("at least one start");
    if ds.len() != d.len() {
        pre = Pre::new(d, grid, a0);
    }
    let mut r = run(d, &mut pre, p, cen, grid, o, o.max_iter);
    r.iterations += o.start_iter * n_starts.max(1) * ds.len() / d.len();
    (r, start_ll, pre)
}

/// Per-station posteriors at `p`: (P(incremental), P(extreme), expected manufactured
/// votes `N Σ r_k x_k (1 − t₀k)`, expected stolen votes `N Σ r_k x_k^α t₀k (1 − s₀k)`).
pub(super) fn posteriors(d: &Data, pre: &Pre, p: &Params, cen: &Centres, grid: &Grid) -> Vec<StationPosterior> {
    let lc = constants(p, grid);
    let y: Vec<f64> = grid.x.iter().map(|&x| if x == 0.0 { 0.0 } else { x.powf(p.alpha) }).collect();
    (0..d.len())
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|i| {
            let mut r = [0.0; K];
            station(pre, i, p, cen, &lc, &mut r);
            let (mut pi, mut pe, mut man, mut sto) = (0.0, 0.0, 0.0, 0.0);
            let a = pre.off[i] as usize;
            for (j, e) in (a..pre.off[i + 1] as usize).enumerate() {
                let k = pre.k[e] as usize;
                if k == 0 || r[j] <= 0.0 {
                    continue;
                }
                if k <= GRID_INCREMENTAL {
                    pi += r[j];
                } else {
                    pe += r[j];
                }
                let t0 = logistic(pre.lt[e] as f64);
                let s0 = logistic(pre.ls[e] as f64);
                man += r[j] * grid.x[k] * (1.0 - t0);
                sto += r[j] * y[k] * t0 * (1.0 - s0);
            }
            let n = d.registered[i];
            StationPosterior { p_incremental: pi as f32, p_extreme: pe as f32, manufactured: (n * man) as f32, stolen: (n * sto) as f32 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pass's log-likelihood equals the direct per-station sum of
    /// [`model::station_log_lik`] (f32 storage: to 1e-5 relative).
    #[test]
    fn pass_matches_direct_likelihood() {
        let p = Params { tau: 0.3, sigma_tau: 0.35, nu: 0.2, sigma_nu: 0.4, f_i: 0.2, f_e: 0.03, theta: 0.2, alpha: 1.7 };
        let n: Vec<u32> = (0..3000).map(|i| 300 + (i * 37 % 2000) as u32).collect();
        let dr = draw(&p, &n, 5);
        let d = Data::from_counts(&dr.registered, &dr.ballots, &dr.ballots, &dr.winner, 1);
        let grid = Grid::new();
        let pre = Pre::new(&d, &grid, p.alpha);
        let fast = log_lik(&pre, &p, &Centres::zero(1), &grid);
        let direct: f64 = (0..d.len()).map(|i| station_log_lik(d.turnout[i], d.share[i], &p, &grid)).sum();
        assert!((fast - direct).abs() < 1e-5 * direct.abs(), "{fast} vs {direct}");
    }

    #[test]
    fn golden_by_hand() {
        let x = golden_max(&|x: f64| -(x - 0.3) * (x - 0.3), 0.0, 1.0, 1e-8);
        assert!((x - 0.3).abs() < 1e-6);
    }

    /// EM never lowers the log-likelihood (α fixed: pure EM).
    #[test]
    fn em_is_monotone() {
        let p = Params { tau: 0.1, sigma_tau: 0.3, nu: 0.0, sigma_nu: 0.35, f_i: 0.15, f_e: 0.02, theta: 0.25, alpha: 2.0 };
        let n: Vec<u32> = (0..4000).map(|i| 500 + (i * 53 % 1500) as u32).collect();
        let dr = draw(&p, &n, 9);
        let d = Data::from_counts(&dr.registered, &dr.ballots, &dr.ballots, &dr.winner, 1);
        let grid = Grid::new();
        let pre = Pre::new(&d, &grid, 2.0);
        let (ps, mut c) = starts(&d, 1, Some(2.0));
        let mut q = ps[0];
        let mut last = f64::NEG_INFINITY;
        for _ in 0..40 {
            let s = e_step(&pre, &q, &c, &grid);
            assert!(s.loglik >= last - 1e-6 * s.loglik.abs(), "{} < {last}", s.loglik);
            last = s.loglik;
            (q, c) = m_step(&s, &q, &c, &grid, d.len() as f64);
        }
    }
}
