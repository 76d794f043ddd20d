//! A unit (commission or region) as a whole against the units around it: is its whole
//! distribution displaced, not only spread? A falsification decided per commission
//! (its chair signs every protocol) moves every station of the commission together;
//! against its own commission such a station looks ordinary, so the commission itself is
//! compared with the other commissions of its region, and each region with the nation.
//! Stations inherit their commission's and region's displacement (see [`super::stations`]):
//! the three comparisons — station against commission, commission against region, region
//! against nation — are the nested parts of a station's departure from the nation, about
//! independent on a clean election, so their points add up.
//!
//! Four looks at the unit's weighted mean logits (moments and random-effects z of
//! [`super::units`]), one-sided:
//!
//! | signature | z | when |
//! | --- | --- | --- |
//! | turnout up | `z_T` | |
//! | leader share up | `z_S` | |
//! | stuffing | `(z_T + z_S)/√2` | both up |
//! | transfer | `(z_S − z_R)/√2` | the leader up, the runner-up's share of the opponents' votes down (`z_R < 0`), turnout and invalid ballots ordinary (`|z| <` [`ORDINARY_Z`]) |
//!
//! The strongest counts once, at `p = min(1, 4·Φ̄(z))` (Bonferroni over the four looks).
//! The runner-up's share *of the opponents' votes* is used rather than of all votes: it
//! does not fall when the leader rises honestly (it is independent of the leader's share
//! in the simulator's clean model), and it falls when the runner-up's votes are moved to
//! the leader.

use super::StationScore;
use super::median_mad;
use super::units::{Moments, median_without, moments};
use crate::model::{Election, Role};
use crate::stats::common::norm_sf;

/// Looks at one question (turnout, share, stuffing, transfer): the Bonferroni factor.
pub const LOOKS: f64 = 2.0;
/// Turnout and invalid ballots count as ordinary for the transfer signature below this |z|.
pub const ORDINARY_Z: f64 = 2.0;

/// The strongest displacement of one unit.
#[derive(Debug, Clone)]
pub struct Displacement {
    /// The signature's z.
    pub z: f64,
    /// `−log10 min(1, LOOKS·Φ̄(z))`.
    pub points: f64,
    /// The signature and its numbers in plain words.
    pub text: String,
}

/// Non-special stations of each unit of `level`.
pub fn members(e: &Election, level: usize) -> Vec<Vec<usize>> {
    let l = &e.levels[level];
    let mut m: Vec<Vec<usize>> = vec![Vec::new(); l.n_units()];
    for i in 0..e.len() {
        if e.special[i].is_none() {
            m[l.code[i] as usize].push(i);
        }
    }
    m
}

/// Per unit of `level`: its strongest displacement against its peer units (the other
/// units of its parent, or every unit of the level when the parent has 5 others or
/// fewer, or at the top level), `None` when no signature is up.
pub fn displacement(e: &Election, level: usize, members: &[Vec<usize>], stations: &[StationScore]) -> Vec<Option<Displacement>> {
    let l = &e.levels[level];
    let nu = l.n_units();
    if level == 0 {
        return against(e, members, stations, &vec![-1; nu], &format!("the nation's other {}s", l.name), 1.0, false);
    }
    // Against the other units of its parent, and against every unit of the level (the
    // parent may be falsified throughout, as a capital was): the stronger, Bonferroni × 2.
    let parent: Vec<i64> = (0..nu).map(|u| l.parent[u] as i64).collect();
    let (unit, up) = (&l.name, &e.levels[level - 1].name);
    let (a, b) = rayon::join(
        || against(e, members, stations, &parent, &format!("the other {unit}s of its {up}"), 2.0, true),
        || against(e, members, stations, &vec![-1; nu], &format!("every {unit} of the nation"), 2.0, false),
    );
    a.into_iter()
        .zip(b)
        .map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => Some(if b.z > a.z { b } else { a }),
            (a, b) => a.or(b),
        })
        .collect()
}

/// [`displacement`] against one set of peers (`parent`: the peer group of each unit, -1
/// for all), points at `p = min(1, refs·LOOKS·Φ̄(z))`.
fn against(e: &Election, members: &[Vec<usize>], stations: &[StationScore], parent: &[i64], peers: &str, refs: f64, one_sided: bool) -> Vec<Option<Displacement>> {
    let nu = members.len();
    let side = |s: f64| if one_sided { s } else { 0.0 };
    let reg = e.get(Role::Registered);
    let valid = e.valid_or_sum();
    let s = stations;
    let ((lt, ls), (lr, li)) = rayon::join(
        || {
            rayon::join(
                || location_z(&moments(members, |i| s[i].turnout, |i| reg.map_or(1.0, |r| r[i] as f64)), parent, side(1.0)),
                || location_z(&moments(members, |i| s[i].share, |i| valid[i] as f64), parent, side(1.0)),
            )
        },
        || {
            rayon::join(
                // Denominator: the opponents' votes, V·(1 − leader share).
                || {
                    let opp = |i: usize| valid[i] as f64 * (1.0 - s[i].share.unwrap_or(0.0));
                    location_z(&moments(members, |i| s[i].rival_share.filter(|_| opp(i) >= super::MIN_OPPONENT_VOTES), opp), parent, side(-1.0))
                },
                || location_z(&moments(members, |i| s[i].invalid_share, |i| valid[i] as f64 / (1.0 - s[i].invalid_share.unwrap_or(0.0)).max(0.5)), parent, 0.0),
            )
        },
    );
    let expit = |x: f64| 100.0 / (1.0 + (-x).exp());
    (0..nu)
        .map(|u| {
            let mut best: Option<(f64, String)> = None;
            let mut consider = |z: f64, text: &dyn Fn() -> String| {
                if z > 0.0 && best.as_ref().is_none_or(|b| z > b.0) {
                    best = Some((z, text()));
                }
            };
            let (zt, zs, zr, zi) = (lt[u], ls[u], lr[u], li[u]);
            if let Some((z, x, c)) = zt {
                consider(z, &|| format!("mean turnout {:.1}% vs peer units' {:.1}% (z = {z:.1})", expit(x), expit(c)));
            }
            if let Some((z, x, c)) = zs {
                consider(z, &|| format!("mean leader share {:.1}% vs peer units' {:.1}% (z = {z:.1})", expit(x), expit(c)));
            }
            if let (Some((a, xt, ct)), Some((b, xs, cs))) = (zt, zs) {
                if a > 0.0 && b > 0.0 {
                    let z = (a + b) / std::f64::consts::SQRT_2;
                    consider(z, &|| {
                        format!(
                            "stuffing: mean turnout {:.1}% and leader share {:.1}% both above peer units' ({:.1}%, {:.1}%, joint z = {z:.1})",
                            expit(xt),
                            expit(xs),
                            expit(ct),
                            expit(cs)
                        )
                    });
                }
            }
            if let (Some((a, xs, cs)), Some((b, xr, cr))) = (zs, zr) {
                let ordinary = |v: Option<(f64, f64, f64)>| v.is_none_or(|v| v.0.abs() < ORDINARY_Z);
                if a > 0.0 && b < 0.0 && ordinary(zt) && ordinary(zi) {
                    let z = (a - b) / std::f64::consts::SQRT_2;
                    consider(z, &|| {
                        format!(
                            "transfer: mean leader share {:.1}% up (peer units' {:.1}%) and the runner-up's share of the opponents' votes {:.1}% down (peer units' {:.1}%), turnout and invalid ordinary (joint z = {z:.1})",
                            expit(xs),
                            expit(cs),
                            expit(xr),
                            expit(cr)
                        )
                    });
                }
            }
            best.map(|(z, text)| Displacement { z, points: super::points((refs * LOOKS * norm_sf(z)).min(1.0)), text: text.replace("peer units'", peers) })
        })
        .collect()
}

/// Fewest peers for the shorth centre and the one-sided spread: below it the median and
/// both sides (with 20 regions, the shorth sits on a chance cluster and half of the
/// deviations from it underestimate the spread).
pub const MIN_SHORTH: usize = 20;

/// Midpoint of the shortest window holding ⌊n/2⌋ + 1 of the `sorted` values (the
/// shorth): a centre that stays on the bulk when up to half of the values were moved the
/// same way, where the median follows them part of the way.
fn shorth(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let h = n / 2 + 1;
    let mut best = (f64::INFINITY, 0.5 * (sorted[0] + sorted[n - 1]));
    for i in 0..=n - h {
        let w = sorted[i + h - 1] - sorted[i];
        if w < best.0 {
            best = (w, 0.5 * (sorted[i] + sorted[i + h - 1]));
        }
    }
    best.1
}

/// Random-effects z of each unit's mean against its peers (units of the same parent, or
/// all units when the parent has 5 others or fewer): `(mean − centre) / √(τ² + 1/Σw)`.
/// Returns (z, mean, centre) per unit.
///
/// Falsification decided per commission moves many units the same way, and a third of
/// them moved drags the median and doubles the MAD. So when the evidence sought is
/// one-sided (`side` +1: up, −1: down), the centre is the peers' shorth (groups of 10
/// or more; else the median of the others) and the between-unit spread `τ²` comes from
/// the deviations on the *other* side only (scaled MAD² of those deviations minus the
/// median sampling variance). `side` 0: the median without the unit and both sides.
pub(crate) fn location_z(m: &[Option<Moments>], parent: &[i64], side: f64) -> Vec<Option<(f64, f64, f64)>> {
    let nu = m.len();
    let mut groups: std::collections::HashMap<i64, Vec<f64>> = Default::default();
    let mut all = Vec::new();
    for (u, x) in m.iter().enumerate() {
        if let Some(x) = x {
            groups.entry(parent[u]).or_default().push(x.mean);
            all.push(x.mean);
        }
    }
    for v in groups.values_mut().chain(std::iter::once(&mut all)) {
        v.sort_by(f64::total_cmp);
    }
    let short = |v: &Vec<f64>| (side != 0.0 && v.len() >= MIN_SHORTH).then(|| shorth(v));
    let group_shorth: std::collections::HashMap<i64, Option<f64>> = groups.iter().map(|(k, v)| (*k, short(v))).collect();
    let all_shorth = short(&all);
    let centre: Vec<Option<f64>> = (0..nu)
        .map(|u| {
            let x = m[u].as_ref()?.mean;
            let (peers, sh) = match groups.get(&parent[u]).filter(|p| p.len() > 5) {
                Some(p) => (p, group_shorth[&parent[u]]),
                None => (&all, all_shorth),
            };
            sh.or_else(|| median_without(peers, x))
        })
        .collect();
    let dev: Vec<f64> = (0..nu).filter_map(|u| Some(m[u].as_ref()?.mean - centre[u]?)).collect();
    if dev.len() < 3 {
        return vec![None; nu];
    }
    // One side only where the level has enough units for it.
    let one_side = side != 0.0 && dev.len() >= 2 * MIN_SHORTH;
    let mut abs: Vec<f64> = dev.iter().filter(|&&d| !one_side || d * side <= 0.0).map(|d| d.abs()).collect();
    if abs.len() < 3 {
        abs = dev.iter().map(|d| d.abs()).collect();
    }
    let total = (1.4826 * median_mad(&abs).0).powi(2);
    let samp: Vec<f64> = m.iter().flatten().map(|x| x.se2).collect();
    let tau2 = (total - median_mad(&samp).0).max(0.0);
    (0..nu)
        .map(|u| {
            let x = m[u].as_ref()?;
            let c = centre[u]?;
            let se2 = tau2 + x.se2;
            if !(se2 > 0.0) {
                return None;
            }
            Some(((x.mean - c) / se2.sqrt(), x.mean, c))
        })
        .collect()
}
