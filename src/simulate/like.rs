//! Clean elections "shaped like" a real one (DESIGN.md §3 "Calibration before
//! conclusions"): the simulator's [`SimConfig`] with the file's own station sizes and
//! hierarchy, and turnout / leader-share distributions estimated from it.
//!
//! # What is taken from the file
//!
//! **Stations.** Every published station that is not special (abroad, electronic) and
//! has registered voters `N > 0`; the others are counted in [`Shape::set_aside`].
//!
//! **Hierarchy.** Top level = region, lowest level = commission (intermediate levels are
//! folded: a commission is identified by its whole path). One level only: it is taken as
//! the commission level inside a single region. No hierarchy: one region, commissions of
//! 40 consecutive stations. Stations are regrouped commission by commission (the
//! simulator numbers them in that order).
//!
//! **Station sizes.** With [`LikeOptions::stations`] = `None`, the file's `N` exactly, in
//! the file's commissions ([`Registered::Given`]); with `Some(n)`, `n` stations in a
//! generated hierarchy with the file's number of regions and mean commission size, each
//! drawing its `N` from the file's sizes with replacement ([`Registered::Pool`]).
//!
//! # Estimates (logit scale, method of moments)
//!
//! Station logits `y = logit((x + ½)/(n + 1))` of turnout `B/N` (`C/N` without issued
//! ballots; stations with `N ≥ 100`) and of the leader's share of valid votes `v/V`
//! (stations with `V ≥ 50`). The simulator's model is
//! `y = μ + a_region + b_commission + e_station + binomial noise`, so with
//! `w_i ≈ 1 / ((n_i + 1) p_i (1 − p_i))` the binomial variance of station `i`:
//!
//! * centre: `μ̂` = median of the station logits (the simulator's centre is the median
//!   station's value; the median, not the mean, because a tail of falsified stations at
//!   95–100% turnout pulls the mean up: Russia 2018's turnout logits have mean ↔ 0.758,
//!   median ↔ 0.676);
//! * station: `σ̂²_e` = pooled within-commission variance (divisor `Σ (n_c − 1)`) minus the
//!   mean `w_i` (the simulator adds its own binomial noise);
//! * commission: unweighted means `ȳ_c` have variance `v_c = σ²_c + (σ²_e + w̄_c)/n_c`;
//!   within region `r` with `C_r` commissions, `E Σ_c (ȳ_c − ȳ_r)² = (C_r − 1)/C_r Σ_c v_c`,
//!   hence `σ̂²_c = [Σ_r SS_r − Σ_r (C_r − 1)/C_r Σ_c (σ̂²_e + w̄_c)/n_c] / Σ_r (C_r − 1)`;
//! * region: region means `m_r` (unweighted over commissions) have variance
//!   `σ²_r + u_r` with `u_r = Σ_c v̂_c / C_r²`; `E Σ_r (m_r − m̄)² = (R − 1)/R Σ_r (σ²_r + u_r)`,
//!   hence `σ̂²_r = [SS − (R − 1)/R Σ_r u_r] / (R − 1)`.
//!
//! Each is clamped at 0 and at the simulator's bound 5. This is the classical
//! unweighted-means nested ANOVA ([`Estimator::Moments`]); it is unbiased under the model
//! but not robust: fraud in the file (a tail of 99% turnouts) widens the spreads. On
//! Russia 2018 it matches the sd of the turnout logits (1.20 real, 1.24 simulated) but a
//! normal with that sd has an interquartile range of 0.35 where the file's is 0.22.
//!
//! The default, [`Estimator::Robust`], is the same decomposition with every variance of
//! a sum of squares replaced by the square of a scaled median absolute deviation
//! (`1.4826·MAD`, consistent for the normal): within-commission residuals
//! `(y − ȳ_c)·√(n_c/(n_c − 1))`, commission-mean deviations
//! `(ȳ_c − ȳ_r)·√(C_r/(C_r − 1))`, region means around their median; the same binomial
//! and lower-level noise terms (their means) are subtracted. It describes the core of
//! the distribution, the file's honest part if fraud is confined to a minority of
//! stations, which is what a clean simulation should look like.
//!
//! **Candidates:** the file's count (2‥200), the leader first; the others' weights
//! `decay^j` with `log decay` the least-squares slope (through the origin) of
//! `log(share_j / share_1)` on `j` for the others sorted by national votes. The others'
//! random-effect sds keep their defaults. **Invalid** share = national `I/C`;
//! **ballots not returned** = national `(B − C)/B`, both clamped to [0, 0.5]; the split
//! of issued ballots (early, outside) keeps the defaults (files sum it).

use super::{Hierarchy, LogitEffects, Registered, SimConfig};
use crate::model::{Election, Role};
use crate::{Error, Result};
use serde::Serialize;
use std::sync::Arc;

/// How the variance components are estimated (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Scaled MADs: the core of the distribution (default).
    #[default]
    Robust,
    /// Unweighted-means nested ANOVA (method of moments): matches the variances.
    Moments,
}

/// How to shape the simulation.
#[derive(Debug, Clone, Default)]
pub struct LikeOptions {
    pub estimator: Estimator,
    /// Leader's candidate index; default: most votes nationally.
    pub leader: Option<usize>,
    /// `None`: the file's stations, sizes and hierarchy as they are. `Some(n)`: `n`
    /// stations with sizes resampled from the file (see the module docs).
    pub stations: Option<usize>,
    /// Seed of the returned config.
    pub seed: u64,
}

/// One quantity's estimates (logit scale).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Components {
    /// Inverse logit of the median station logit.
    pub centre: f64,
    /// Region, commission, station sds used (the station one net of binomial noise).
    pub sd: [f64; 3],
    /// The same by the method of moments and robustly (whichever was not used is shown
    /// for comparison).
    pub sd_moments: [f64; 3],
    pub sd_robust: [f64; 3],
    /// Standard deviation of the station logits as observed (all sources, with noise).
    pub observed_sd: f64,
    /// Mean binomial variance of a station logit that was subtracted.
    pub binomial_var: f64,
    /// Stations used.
    pub n: usize,
}

/// What was estimated from the file, and how the simulation was set up.
#[derive(Debug, Clone, Serialize)]
pub struct Shape {
    pub source: String,
    /// Stations kept (simulated with `stations: None`).
    pub stations: usize,
    /// Stations left out: special (abroad, electronic) or without registered voters.
    pub set_aside: usize,
    pub regions: usize,
    pub commissions: usize,
    pub leader: String,
    pub candidates: usize,
    pub turnout: Components,
    pub leader_share: Components,
    pub others_decay: f64,
    pub invalid: f64,
    pub not_returned: f64,
    /// Registered-voter quantiles of the kept stations: 1, 10, 25, 50, 75, 90, 99 %.
    pub registered_quantiles: Vec<(f64, f64)>,
    pub notes: Vec<String>,
}

/// Stations per generated commission when the file has no commission level.
const CHUNK_COMMISSION: usize = 40;

/// `p`-quantile of sorted values (lower nearest rank).
pub fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)]
}

/// The quantiles [`Shape::registered_quantiles`] reports.
pub const QUANTILES: [f64; 7] = [0.01, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99];

/// Empirical logit and its binomial variance.
#[inline]
fn elogit(x: u64, n: u64) -> (f64, f64) {
    let p = (x as f64 + 0.5) / (n as f64 + 1.0);
    ((p / (1.0 - p)).ln(), 1.0 / ((n as f64 + 1.0) * p * (1.0 - p)))
}

/// Variance components by the unweighted-means nested ANOVA of the module docs.
/// `y`, `w`: station logits and binomial variances; `comm`: commission index per
/// station (0‥n_comm), `comm_region`: region of each commission.
pub fn components(
    y: &[f64],
    w: &[f64],
    comm: &[usize],
    comm_region: &[usize],
    n_regions: usize,
    estimator: Estimator,
) -> Components {
    let n = y.len();
    let n_comm = comm_region.len();
    if n == 0 {
        return Components {
            centre: f64::NAN,
            sd: [0.0; 3],
            sd_moments: [0.0; 3],
            sd_robust: [0.0; 3],
            observed_sd: f64::NAN,
            binomial_var: f64::NAN,
            n: 0,
        };
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let observed_var = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
    let mean_w = w.iter().sum::<f64>() / n as f64;
    let mut cnt = vec![0usize; n_comm];
    let mut sum = vec![0.0; n_comm];
    let mut wsum = vec![0.0; n_comm];
    for i in 0..n {
        cnt[comm[i]] += 1;
        sum[comm[i]] += y[i];
        wsum[comm[i]] += w[i];
    }
    let cmean: Vec<f64> = (0..n_comm).map(|c| if cnt[c] > 0 { sum[c] / cnt[c] as f64 } else { 0.0 }).collect();
    // Station: pooled within-commission variance minus the binomial part.
    let mut ss_w = 0.0;
    for i in 0..n {
        ss_w += (y[i] - cmean[comm[i]]).powi(2);
    }
    let df_w: usize = cnt.iter().map(|&m| m.saturating_sub(1)).sum();
    let s2_e = if df_w > 0 { (ss_w / df_w as f64 - mean_w).max(0.0) } else { 0.0 };
    // Commission within region.
    let mut regions: Vec<Vec<usize>> = vec![Vec::new(); n_regions];
    for c in 0..n_comm {
        if cnt[c] > 0 {
            regions[comm_region[c]].push(c);
        }
    }
    let noise_c = |c: usize| (s2_e + wsum[c] / cnt[c] as f64) / cnt[c] as f64;
    let (mut ss_c, mut expect_c, mut df_c) = (0.0, 0.0, 0usize);
    for cs in &regions {
        let k = cs.len();
        if k < 2 {
            continue;
        }
        let m = cs.iter().map(|&c| cmean[c]).sum::<f64>() / k as f64;
        ss_c += cs.iter().map(|&c| (cmean[c] - m).powi(2)).sum::<f64>();
        expect_c += (k - 1) as f64 / k as f64 * cs.iter().map(|&c| noise_c(c)).sum::<f64>();
        df_c += k - 1;
    }
    let s2_c = if df_c > 0 { ((ss_c - expect_c) / df_c as f64).max(0.0) } else { 0.0 };
    // Region.
    let used: Vec<&Vec<usize>> = regions.iter().filter(|cs| !cs.is_empty()).collect();
    let rr = used.len();
    let s2_r = if rr >= 2 {
        let m_r: Vec<f64> = used.iter().map(|cs| cs.iter().map(|&c| cmean[c]).sum::<f64>() / cs.len() as f64).collect();
        let u_r: Vec<f64> = used
            .iter()
            .map(|cs| cs.iter().map(|&c| s2_c + noise_c(c)).sum::<f64>() / (cs.len() * cs.len()) as f64)
            .collect();
        let mbar = m_r.iter().sum::<f64>() / rr as f64;
        let ss = m_r.iter().map(|m| (m - mbar).powi(2)).sum::<f64>();
        ((ss - (rr - 1) as f64 / rr as f64 * u_r.iter().sum::<f64>()) / (rr - 1) as f64).max(0.0)
    } else {
        0.0
    };
    let sd_moments = [s2_r.sqrt().min(5.0), s2_c.sqrt().min(5.0), s2_e.sqrt().min(5.0)];

    // Robust: the same decomposition with squared scaled MADs.
    let mut res = Vec::with_capacity(n);
    for i in 0..n {
        let m = cnt[comm[i]];
        if m >= 2 {
            res.push((y[i] - cmean[comm[i]]) * (m as f64 / (m - 1) as f64).sqrt());
        }
    }
    let r2_e = if res.is_empty() { 0.0 } else { (mad2(&mut res) - mean_w).max(0.0) };
    let noise_rc = |c: usize| (r2_e + wsum[c] / cnt[c] as f64) / cnt[c] as f64;
    let (mut dev, mut noise) = (Vec::new(), Vec::new());
    for cs in &regions {
        let k = cs.len();
        if k < 2 {
            continue;
        }
        let m = cs.iter().map(|&c| cmean[c]).sum::<f64>() / k as f64;
        for &c in cs {
            dev.push((cmean[c] - m) * (k as f64 / (k - 1) as f64).sqrt());
            noise.push(noise_rc(c));
        }
    }
    let r2_c = if dev.is_empty() { 0.0 } else { (mad2(&mut dev) - noise.iter().sum::<f64>() / noise.len() as f64).max(0.0) };
    let r2_r = if rr >= 2 {
        let mut m_r: Vec<f64> =
            used.iter().map(|cs| cs.iter().map(|&c| cmean[c]).sum::<f64>() / cs.len() as f64).collect();
        let u: f64 = used
            .iter()
            .map(|cs| cs.iter().map(|&c| r2_c + noise_rc(c)).sum::<f64>() / (cs.len() * cs.len()) as f64)
            .sum::<f64>()
            / rr as f64;
        (mad2(&mut m_r) - u).max(0.0)
    } else {
        0.0
    };
    let sd_robust = [r2_r.sqrt().min(5.0), r2_c.sqrt().min(5.0), r2_e.sqrt().min(5.0)];

    let mut sorted = y.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = quantile_sorted(&sorted, 0.5);
    Components {
        centre: 1.0 / (1.0 + (-median).exp()),
        sd: match estimator {
            Estimator::Robust => sd_robust,
            Estimator::Moments => sd_moments,
        },
        sd_moments,
        sd_robust,
        observed_sd: observed_var.sqrt(),
        binomial_var: mean_w,
        n,
    }
}

/// Squared scaled MAD (`(1.4826·median|x − median x|)²`); sorts `x`.
fn mad2(x: &mut [f64]) -> f64 {
    x.sort_by(f64::total_cmp);
    let med = quantile_sorted(x, 0.5);
    let mut d: Vec<f64> = x.iter().map(|v| (v - med).abs()).collect();
    d.sort_by(f64::total_cmp);
    (1.4826 * quantile_sorted(&d, 0.5)).powi(2)
}

/// A clean [`SimConfig`] shaped like `e`, with what was estimated.
pub fn like(e: &Election, opt: &LikeOptions) -> Result<(SimConfig, Shape)> {
    let reg = e
        .get(Role::Registered)
        .ok_or_else(|| Error::usage("simulating like a file needs its registered-voters column (N)"))?;
    let (turn_num, turn_basis) = match e.get(Role::Issued) {
        Some(b) => (b, "turnout = issued / registered (B/N)"),
        None => (
            e.get(Role::InBoxes)
                .ok_or_else(|| Error::usage("simulating like a file needs ballots issued (B) or in boxes (C)"))?,
            "turnout = ballots in boxes / registered (C/N): the file has no issued ballots",
        ),
    };
    if e.candidates.len() < 2 {
        return Err(Error::usage("simulating like a file needs at least two candidates"));
    }
    let leader = match opt.leader {
        Some(j) if j < e.candidates.len() => j,
        Some(j) => return Err(Error::usage(format!("no candidate number {j}"))),
        None => e.leader().expect("candidates exist"),
    };
    let valid = e.valid_or_sum();
    let lv = &e.votes[leader];

    // Kept stations and their (region, commission) keys.
    let kept: Vec<usize> = (0..e.len()).filter(|&i| e.special[i].is_none() && reg[i] > 0).collect();
    if kept.is_empty() {
        return Err(Error::usage("simulating like a file: no station with registered voters (N > 0)"));
    }
    let set_aside = e.len() - kept.len();
    let mut notes = vec![turn_basis.to_string()];
    let (region_of, comm_of, region_labels_src, comm_labels_src): (Vec<u32>, Vec<u32>, Vec<String>, Vec<String>) =
        match e.levels.len() {
            0 => {
                notes.push(format!("no hierarchy in the file: one region, commissions of {CHUNK_COMMISSION} consecutive stations"));
                let n_c = e.len().div_ceil(CHUNK_COMMISSION);
                (
                    vec![0; e.len()],
                    (0..e.len()).map(|i| (i / CHUNK_COMMISSION) as u32).collect(),
                    vec!["Region 01".into()],
                    (0..n_c).map(|c| format!("Commission {:03}", c + 1)).collect(),
                )
            }
            1 => {
                notes.push(format!("one hierarchy level ({}): taken as commissions in a single region", e.levels[0].name));
                (vec![0; e.len()], e.levels[0].code.clone(), vec!["Region 01".into()], e.levels[0].labels.clone())
            }
            k => {
                if k > 2 {
                    notes.push(format!(
                        "{k} hierarchy levels: regions = {}, commissions = {} (intermediate levels folded)",
                        e.levels[0].name,
                        e.levels[k - 1].name
                    ));
                }
                (
                    e.levels[0].code.clone(),
                    e.levels[k - 1].code.clone(),
                    e.levels[0].labels.clone(),
                    e.levels[k - 1].labels.clone(),
                )
            }
        };
    // Order: by region, then commission, then file order.
    let mut order = kept.clone();
    order.sort_by_key(|&i| (region_of[i], comm_of[i], i));
    // Dense re-indexing of the regions and commissions that have kept stations.
    let mut region_labels = Vec::new();
    let mut commission_labels = Vec::new();
    let mut commission_region = Vec::new();
    let mut commission_stations: Vec<usize> = Vec::new();
    let mut station_comm = Vec::with_capacity(order.len()); // dense commission of order[k]
    let mut last: Option<(u32, u32)> = None;
    for &i in &order {
        let key = (region_of[i], comm_of[i]);
        if last.map(|l| l.0) != Some(key.0) {
            region_labels.push(region_labels_src[key.0 as usize].clone());
        }
        if last != Some(key) {
            commission_labels.push(comm_labels_src[key.1 as usize].clone());
            commission_region.push((region_labels.len() - 1) as u32);
            commission_stations.push(0);
        }
        *commission_stations.last_mut().expect("pushed") += 1;
        station_comm.push(commission_labels.len() - 1);
        last = Some(key);
    }
    let n_regions = region_labels.len();
    let n_comm = commission_labels.len();

    // Logits for the variance components.
    let comm_region_us: Vec<usize> = commission_region.iter().map(|&r| r as usize).collect();
    let (mut ty, mut tw, mut tc) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sy, mut sw, mut sc) = (Vec::new(), Vec::new(), Vec::new());
    for (k, &i) in order.iter().enumerate() {
        let n = reg[i] as u64;
        let b = (turn_num[i] as u64).min(n);
        if n >= 100 {
            let (y, w) = elogit(b, n);
            ty.push(y);
            tw.push(w);
            tc.push(station_comm[k]);
        }
        let v = valid[i];
        if v >= 50 {
            let (y, w) = elogit((lv[i] as u64).min(v), v);
            sy.push(y);
            sw.push(w);
            sc.push(station_comm[k]);
        }
    }
    if ty.len() < 10 || sy.len() < 10 {
        return Err(Error::usage(format!(
            "simulating like a file needs at least 10 stations with N ≥ 100 and V ≥ 50 (found {} and {})",
            ty.len(),
            sy.len()
        )));
    }
    let turnout = components(&ty, &tw, &tc, &comm_region_us, n_regions, opt.estimator);
    let leader_share = components(&sy, &sw, &sc, &comm_region_us, n_regions, opt.estimator);
    notes.push(format!(
        "estimates from {} stations with N ≥ 100 (turnout) and {} with V ≥ 50 (leader share), {} on empirical logits",
        turnout.n,
        leader_share.n,
        match opt.estimator {
            Estimator::Robust => "scaled MADs in a nested decomposition",
            Estimator::Moments => "unweighted-means nested ANOVA (method of moments)",
        }
    ));

    // Others' decay: slope through the origin of log(share_j / share_1) on j.
    let totals = e.candidate_totals();
    let mut others: Vec<f64> =
        (0..totals.len()).filter(|&j| j != leader).map(|j| totals[j] as f64).collect();
    others.sort_by(|a, b| b.total_cmp(a));
    let first = others[0].max(1.0);
    let (mut num, mut den) = (0.0, 0.0);
    for (j, &o) in others.iter().enumerate().skip(1) {
        num += j as f64 * (o.max(first * 1e-6) / first).ln();
        den += (j * j) as f64;
    }
    let others_decay = if den > 0.0 { (num / den).exp().clamp(0.01, 1.0) } else { 1.0 };
    let candidates = e.candidates.len().clamp(2, super::MAX_CANDIDATES);
    if candidates != e.candidates.len() {
        notes.push(format!("{} candidates, simulated with {candidates}", e.candidates.len()));
    }

    let ratio = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if b > 0 => Some(a as f64 / b as f64),
        _ => None,
    };
    let d = SimConfig::default();
    let invalid = ratio(e.total(Role::Invalid), e.total(Role::InBoxes)).map(|x| x.clamp(0.0, 0.5)).unwrap_or(d.invalid);
    let not_returned = match (e.total(Role::Issued), e.total(Role::InBoxes)) {
        (Some(b), Some(c)) if b > 0 => (b.saturating_sub(c) as f64 / b as f64).clamp(0.0, 0.5),
        _ => d.not_returned,
    };

    let mut sizes: Vec<f64> = order.iter().map(|&i| reg[i] as f64).collect();
    sizes.sort_by(f64::total_cmp);
    let registered_quantiles = QUANTILES.iter().map(|&p| (p, quantile_sorted(&sizes, p))).collect();
    let given: Vec<u32> = order.iter().map(|&i| reg[i]).collect();

    let base = SimConfig {
        candidates,
        seed: opt.seed,
        turnout: LogitEffects { centre: turnout.centre, sd: turnout.sd },
        leader_share: LogitEffects { centre: leader_share.centre, sd: leader_share.sd },
        others_decay,
        invalid,
        not_returned,
        ..d
    };
    let cfg = match opt.stations {
        None => SimConfig {
            stations: order.len(),
            regions: n_regions,
            hierarchy: Some(Arc::new(Hierarchy {
                region_labels,
                commission_labels,
                commission_region,
                commission_stations,
            })),
            registered: Some(Arc::new(Registered::Given(given))),
            ..base
        },
        Some(n) => {
            let regions = n_regions.min(n).max(1);
            let mean_comm = order.len() as f64 / n_comm as f64;
            let cpr = ((n as f64 / regions as f64 / mean_comm).round() as usize).max(1);
            let cpr = cpr.min(n / regions).max(1);
            notes.push(format!(
                "{n} stations in {regions} generated regions of {cpr} commissions (the file's mean of {mean_comm:.1} stations per commission); registered voters resampled from the file's {} stations",
                order.len()
            ));
            SimConfig {
                stations: n,
                regions,
                commissions_per_region: Some(cpr),
                registered: Some(Arc::new(Registered::Pool(given))),
                ..base
            }
        }
    };
    cfg.validate()?;
    let shape = Shape {
        source: e.source.clone(),
        stations: order.len(),
        set_aside,
        regions: n_regions,
        commissions: n_comm,
        leader: e.candidates[leader].clone(),
        candidates,
        turnout,
        leader_share,
        others_decay,
        invalid,
        not_returned,
        registered_quantiles,
        notes,
    };
    Ok((cfg, shape))
}
