//! Commission and region scores from aggregated evidence (DESIGN.md §4): the share of
//! flagged stations, the unit's turnout and leader share against its peer units, the
//! turnout–share correlation inside it, and the per-unit p-values of other tests
//! (integer-percentage excess, digit tests) passed in by the caller. Each piece of
//! evidence is `−log10 p` points, as for stations, and is listed with its contribution.

use super::{StationScore, fmt_p, median_mad, points};
use crate::model::Election;
use crate::stats::common::norm_sf;
use serde::Serialize;

/// One piece of evidence against a unit.
#[derive(Debug, Clone, Serialize)]
pub struct UnitEvidence {
    pub name: String,
    pub points: f64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitScore {
    /// Level index in `Election::levels`.
    pub level: usize,
    pub unit: u32,
    /// Labels from the top level down to this unit.
    pub path: Vec<String>,
    pub stations: usize,
    pub flagged: usize,
    pub median_turnout: Option<f64>,
    pub median_share: Option<f64>,
    pub score: f64,
    pub evidence: Vec<UnitEvidence>,
}

impl UnitScore {
    pub fn reasons(&self) -> String {
        let mut ev: Vec<&UnitEvidence> = self.evidence.iter().filter(|e| e.points >= super::REASON_POINTS).collect();
        ev.sort_by(|a, b| b.points.total_cmp(&a.points));
        ev.iter().map(|e| format!("{} [{:.1}]", e.text, e.points)).collect::<Vec<_>>().join("; ")
    }
}

/// Per-unit p-values of another test, indexed by unit code (None: not run there).
pub struct UnitTest {
    /// Short name used in the reasons ("integer-percentage excess").
    pub name: String,
    pub p: Vec<Option<f64>>,
    pub q: Vec<Option<f64>>,
    /// What the test saw in the unit, for the reason text ("+12.3 integer stations").
    pub detail: Vec<String>,
}

/// Upper tail of Binomial(n, p) at k: P(X ≥ k).
fn binom_sf(k: usize, n: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    use statrs::distribution::{Binomial, DiscreteCDF};
    match Binomial::new(p, n as u64) {
        Ok(b) => b.sf(k as u64 - 1),
        Err(_) => 1.0,
    }
}

/// Labels from the top level down to `unit` of `level`.
pub fn unit_path(e: &Election, level: usize, unit: u32) -> Vec<String> {
    let mut path = Vec::new();
    let mut u = unit;
    for k in (0..=level).rev() {
        let l = &e.levels[k];
        path.push(l.labels[u as usize].clone());
        if k > 0 {
            u = l.parent[u as usize];
        }
    }
    path.reverse();
    path
}

/// Scores every unit of `level`. `base_rate` is the share of stations flagged on clean
/// elections (the threshold's calibration, 0.001 by default).
pub fn units(e: &Election, level: usize, stations: &[StationScore], base_rate: f64, tests: &[UnitTest]) -> Vec<UnitScore> {
    let l = &e.levels[level];
    let nu = l.n_units();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nu];
    for i in 0..e.len() {
        if e.special[i].is_none() {
            members[l.code[i] as usize].push(i);
        }
    }
    let med = |m: &[usize], f: &dyn Fn(&StationScore) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = m.iter().filter_map(|&i| f(&stations[i])).collect();
        if v.is_empty() { None } else { Some(median_mad(&v).0) }
    };
    let mt: Vec<Option<f64>> = members.iter().map(|m| med(m, &|s| s.turnout)).collect();
    let ms: Vec<Option<f64>> = members.iter().map(|m| med(m, &|s| s.share)).collect();
    // Peers of a unit: the units of the same parent (all units at the top level, or when
    // the parent has fewer than 5 others). The centre is the peers' median; the spread
    // is pooled over the whole level (1.4826 × the median absolute deviation of every
    // unit from its peers' centre), because 10–20 peers give a MAD too noisy to divide by.
    let parent_of = |u: usize| if level > 0 { l.parent[u] as i64 } else { -1 };
    let centre = |vals: &[Option<f64>], u: usize| -> Option<f64> {
        let v: Vec<f64> = (0..nu).filter(|&k| parent_of(k) == parent_of(u) && k != u).filter_map(|k| vals[k]).collect();
        let v = if v.len() >= 5 { v } else { (0..nu).filter(|&k| k != u).filter_map(|k| vals[k]).collect() };
        if v.len() < 3 { None } else { Some(median_mad(&v).0) }
    };
    let pooled = |vals: &[Option<f64>]| -> (Vec<Option<f64>>, f64) {
        let c: Vec<Option<f64>> = (0..nu).map(|u| centre(vals, u)).collect();
        let dev: Vec<f64> = (0..nu).filter_map(|u| Some(vals[u]? - c[u]?)).collect();
        let scale = if dev.len() >= 3 {
            let abs: Vec<f64> = dev.iter().map(|d| d.abs()).collect();
            1.4826 * median_mad(&abs).0
        } else {
            0.0
        };
        (c, scale)
    };
    // On the logit scale, where honest area effects act additively (a 10-point rise means
    // more at 80% than at 50%).
    let logit = |v: &[Option<f64>]| -> Vec<Option<f64>> {
        v.iter().map(|x| x.map(|p| { let p = p.clamp(0.005, 0.995); (p / (1.0 - p)).ln() })).collect()
    };
    let (lt, ls) = (logit(&mt), logit(&ms));
    let (ct, st) = pooled(&lt);
    let (cs, ss) = pooled(&ls);
    (0..nu)
        .map(|u| {
            let m = &members[u];
            let flagged = m.iter().filter(|&&i| stations[i].flagged).count();
            let mut ev = Vec::new();
            if !m.is_empty() {
                let p = binom_sf(flagged, m.len(), base_rate);
                ev.push(UnitEvidence {
                    name: "flagged_stations".into(),
                    points: points(p),
                    text: format!("{flagged} of {} stations flagged (p = {} at the clean rate {:.1}%)", m.len(), fmt_p(p), 100.0 * base_rate),
                });
            }
            // The unit's median turnout and leader share against its peer units. Stuffing
            // moves both together, so the joint (Stouffer) z is the stronger evidence when
            // both rise; the larger of the single and joint surprises is counted, once.
            let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
            let z_of = |vals: &[Option<f64>], c: &[Option<f64>], scale: f64| -> Option<(f64, f64, f64)> {
                let (x, pm) = (vals[u]?, c[u]?);
                if scale > 0.0 { Some(((x - pm) / scale, expit(x), expit(pm))) } else { None }
            };
            let (zt, zs) = (z_of(&lt, &ct, st), z_of(&ls, &cs, ss));
            let mut best: Option<(f64, String)> = None;
            let mut consider = |z: f64, text: String| {
                if z > 0.0 && best.as_ref().is_none_or(|b| z > b.0) {
                    best = Some((z, text));
                }
            };
            if let Some((z, x, pm)) = zt {
                consider(z, format!("median turnout {:.1}% vs peer units' {:.1}% (z = {z:.1})", 100.0 * x, 100.0 * pm));
            }
            if let Some((z, x, pm)) = zs {
                consider(z, format!("median leader share {:.1}% vs peer units' {:.1}% (z = {z:.1})", 100.0 * x, 100.0 * pm));
            }
            if let (Some((a, xt, pt)), Some((b, xs, ps))) = (zt, zs) {
                if a > 0.0 && b > 0.0 {
                    let z = (a + b) / std::f64::consts::SQRT_2;
                    consider(z, format!(
                        "median turnout {:.1}% and leader share {:.1}% both above peer units' ({:.1}%, {:.1}%; joint z = {z:.1})",
                        100.0 * xt, 100.0 * xs, 100.0 * pt, 100.0 * ps
                    ));
                }
            }
            if let Some((z, text)) = best {
                ev.push(UnitEvidence { name: "medians_vs_peers".into(), points: points(norm_sf(z) / 0.5), text });
            }
            // Turnout–share correlation among the unit's stations (one-sided Fisher z test).
            let pairs: Vec<(f64, f64)> = m.iter().filter_map(|&i| Some((stations[i].turnout?, stations[i].share?))).collect();
            if pairs.len() >= 10 {
                let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
                let r = crate::stats::shape::pearson(&x, &y, None);
                if r.is_finite() && r > 0.0 {
                    let z = r.clamp(-0.999_999, 0.999_999).atanh() * ((x.len() as f64 - 3.0).sqrt());
                    let p = norm_sf(z);
                    ev.push(UnitEvidence {
                        name: "turnout_share_correlation".into(),
                        points: points(p),
                        text: format!("turnout and leader share rise together (r = {r:.2}, p = {})", fmt_p(p)),
                    });
                }
            }
            for t in tests {
                if let Some(Some(p)) = t.p.get(u) {
                    let q = t.q.get(u).copied().flatten();
                    ev.push(UnitEvidence {
                        name: t.name.clone(),
                        points: points(*p),
                        text: format!(
                            "{}: {} (p = {}{})",
                            t.name,
                            t.detail.get(u).map(String::as_str).unwrap_or(""),
                            fmt_p(*p),
                            q.map(|q| format!(", q = {}", fmt_p(q))).unwrap_or_default()
                        ),
                    });
                }
            }
            let score = ev.iter().map(|e| e.points).sum();
            UnitScore {
                level,
                unit: u as u32,
                path: unit_path(e, level, u as u32),
                stations: m.len(),
                flagged,
                median_turnout: mt[u],
                median_share: ms[u],
                score,
                evidence: ev,
            }
        })
        .collect()
}
