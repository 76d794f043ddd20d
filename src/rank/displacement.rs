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
//! | transfer | `(z_S − z_R)/√2` | always (the projection on the transfer direction: the leader up, the runner-up's share of the opponents' votes down) |
//!
//! The strongest counts once, at `p = min(1, LOOKS·Φ̄(z))`. The transfer look is not
//! gated on the signs of `z_S`, `z_R` nor on an ordinary turnout, as the station-level
//! signature is: a commission is 40 stations, its mean is measured to a few hundredths,
//! and what spreads it is the commission's own honest effect, so a falsified commission
//! whose honest turnout or share happens to sit a little low would lose the look (on
//! transfer-commissions at 0.3 and 0.5, seeds 1–3, the gated look ranked the stations
//! 0.01–0.04 lower in AUC). A stuffed commission's transfer z is below its stuffing z.
//!
//! A commission gets the points against the other commissions of its region plus
//! [`PARENT_WEIGHT`] times those of its region's clean centre against the other regions'
//! clean centres (where the regions are too small for one: [`NATION_WEIGHT`] times the
//! commission's against every commission of the nation). Centres and spreads of the one-sided looks come from the
//! clean side of the peers, so that a third to a half of the commissions falsified the
//! same way do not become the reference: the clean-side quartile ([`CLEAN_SIDE_Q`]) and,
//! where the peers hold two clusters, the clean one of a two-cluster fit
//! ([`super::clean_fit`]).
//! Besides its level, a unit's stations' turnout–share relation is compared with every
//! unit of the level in the nation ([`relation_z`]): the leader's share falling as
//! turnout rises is what stuffing at one rate throughout a commission leaves, whatever
//! the commission's honest level, so it finds a capital falsified throughout that its
//! level does not. Its points beyond [`RELATION_BASELINE_POINTS`] add to the level's.
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
/// Turnout and invalid ballots count as ordinary for the station-level transfer signature
/// below this |z| ([`super::stations`]; the commission-level look is not gated, see above).
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
    let (d, rel) = rayon::join(|| level_displacement(e, level, members, stations), || relation_z(members, stations));
    let unit = &e.levels[level].name;
    d.into_iter()
        .zip(rel)
        .map(|(d, r)| {
            // The relation's points beyond RELATION_BASELINE_POINTS add to the level's.
            let rel = r.map(|(z, x, c)| (z, super::points(norm_sf(z)) - RELATION_BASELINE_POINTS, x, c)).filter(|r| r.1 > 0.0);
            let Some((z, pts, x, c)) = rel else { return d };
            let text = format!(
                "the leader's share falls as turnout rises among its stations (r = {:.2} against {:.2} at the {unit}s of the nation, z = {z:.1}, {:.1} points less {RELATION_BASELINE_POINTS} as chance), as ballots added for a set share of each station's non-voters make it",
                x.tanh(),
                c.tanh(),
                pts + RELATION_BASELINE_POINTS
            );
            Some(match d {
                Some(d) => Displacement { z: d.z.max(z), points: d.points + pts, text: format!("{}, and {text}", d.text) },
                None => Displacement { z, points: pts, text },
            })
        })
        .collect()
}

/// Points the turnout–share relation ([`relation_z`]) loses before it adds to a unit's
/// displacement: a relation that one unit in ten shows by chance adds nothing. Added to
/// the displacement of the unit's level, as the nested parts are (the relation among a
/// unit's stations is about independent of its level on a clean election). Measured on
/// the scenarios of tests/rank_references.rs (seeds 1–3): without the deduction,
/// transfer-commissions:0.4:0.3 fell below the winner's share at seed 2 (0.643 against
/// 0.649) and transfer:0.05:0.2 to within 0.01 of it at seed 3; counted instead as the
/// stronger of the two looks (Bonferroni ×2), stuffing-commissions:0.3:0.3:city seed 2
/// lost 0.01 (0.840) and transfer-commissions:0.4:0.3 fell below the share.
pub const RELATION_BASELINE_POINTS: f64 = 1.0;

/// Fewest stations with turnout and share for a unit's turnout–share relation.
pub const MIN_RELATION: usize = 10;

/// Per unit: how far the relation between its stations' turnout and leader's share
/// (Pearson r on the logit scale, Fisher's `atanh r` with sampling variance `1/(n − 3)`)
/// falls below that of every unit of the level across the nation, as the
/// random-effects z of [`location_z`] with the centre and spread from the clean (upper)
/// side; `(z, atanh r, centre)`, z > 0 for a relation below the centre.
///
/// Stuffing at one rate for a whole commission (Klimek et al.'s ballots for a share `x`
/// of each station's non-voters, `x(1 − t)`, with `x` set by the commission) gives the
/// stations with the lowest honest turnout the most ballots: their share rises most, so
/// among the commission's stations the leader's share falls as turnout rises, whatever
/// the commission's honest level (measured on stuffing-commissions:0.3:0.3:city, seed 1:
/// mean r −0.42 in the capital's falsified commissions, −0.39 in the others, 0.00 in the
/// clean ones). The level of a unit falsified throughout (the capital) is ordinary against
/// its region and, against the other regions, only as far as its honest level allows:
/// the relation needs no honest reference level. It is compared with every unit of the
/// nation, not with the unit's region (the capital's units are all alike). Honest
/// geography also shapes the relation (cities vote more and differently); a relation
/// common across the nation is the centre, not evidence.
pub fn relation_z(members: &[Vec<usize>], stations: &[StationScore]) -> Vec<Option<(f64, f64, f64)>> {
    let logit = |p: f64| {
        let p = p.clamp(0.005, 0.995);
        (p / (1.0 - p)).ln()
    };
    let m: Vec<Option<Moments>> = members
        .iter()
        .map(|m| {
            let (x, y): (Vec<f64>, Vec<f64>) = m.iter().filter_map(|&i| Some((logit(stations[i].turnout?), logit(stations[i].share?)))).unzip();
            if x.len() < MIN_RELATION {
                return None;
            }
            let r = crate::stats::shape::pearson(&x, &y, None);
            r.is_finite().then(|| Moments { n: x.len(), mean: r.clamp(-0.999, 0.999).atanh(), se2: 1.0 / (x.len() as f64 - 3.0), q: 0.0 })
        })
        .collect();
    let nu = m.len();
    let (z, _) = location_z(&m, &vec![-1; nu], -1.0);
    z.into_iter().map(|z| z.map(|(z, x, c)| (-z, x, c))).collect()
}

/// [`displacement`] without the turnout–share relation: the unit against the other units of its parent, and its parent against the nation.
fn level_displacement(e: &Election, level: usize, members: &[Vec<usize>], stations: &[StationScore]) -> Vec<Option<Displacement>> {
    let l = &e.levels[level];
    let nu = l.n_units();
    if level == 0 {
        return against(e, members, stations, &vec![-1; nu], &format!("the nation's other {}s", l.name), 1.0, false).0;
    }
    // Against the other units of its parent, and the parent as a whole against the
    // nation: the parent's clean centre against the other parents' clean centres where
    // the parents are big enough for one (a capital falsified throughout shows there,
    // not against its own region), else the unit against every unit of the level. The
    // points of the first plus NATION_WEIGHT times those of the second, each Bonferroni
    // over its looks only.
    let parent: Vec<i64> = (0..nu).map(|u| l.parent[u] as i64).collect();
    let (unit, up) = (&l.name, &e.levels[level - 1].name);
    let (a, g) = against(e, members, stations, &parent, &format!("the other {unit}s of its {up}"), 1.0, true);
    let b = if g.iter().all(Option::is_some) {
        g.into_iter().map(|g| g.flatten().map(|d| (d, format!("its {up}'s clean centre against the other {up}s'"), PARENT_WEIGHT))).collect::<Vec<_>>()
    } else {
        let (b, _) = against(e, members, stations, &vec![-1; nu], &format!("every {unit} of the nation"), 1.0, true);
        g.into_iter().zip(b).map(|(g, b)| match g {
            Some(g) => g.map(|d| (d, format!("its {up}'s clean centre against the other {up}s'"), PARENT_WEIGHT)),
            None => b.map(|d| (d, "against the nation".to_string(), NATION_WEIGHT)),
        }).collect()
    };
    a.into_iter()
        .zip(b)
        .map(|(a, b)| match (a, b) {
            (Some(a), Some((b, what, w))) => {
                let pb = w * b.points;
                Some(Displacement { z: a.z.max(b.z), points: a.points + pb, text: format!("{} ({:.1} points), and {what} ({w} × {:.1} points): {}", a.text, a.points, b.points, b.text) })
            }
            (Some(a), None) => Some(a),
            (None, Some((b, what, w))) => Some(Displacement { z: b.z, points: w * b.points, text: format!("{what} ({w} × {:.1} points): {}", b.points, b.text) }),
            (None, None) => None,
        })
        .collect()
}

/// Weight of the parent's clean centre against the other parents' clean centres, added
/// to the unit's displacement against the other units of its parent. Against its parent
/// alone a region falsified throughout (the capital) shows nothing; against the other
/// regions it shows as honest geography of the same size does too. The two comparisons
/// are the nested parts of the unit's departure from the nation (about independent on a
/// clean election), so they add at full weight: on the whole-commission scenarios
/// (tests/rank_references.rs, seeds 1–3) 1 against 0.5 raised the score's AUC by
/// 0.00–0.05 (the capital's stations against the clean ones: 0.60–0.72 → 0.69–0.86 on
/// transfer-commissions) and lowered transfer:0.05:0.2 by 0.006–0.012.
pub const PARENT_WEIGHT: f64 = 1.0;

/// Weight of a unit's displacement against every unit of the nation, where the parents
/// have no clean centre to compare (too few units each, or too few parents: Poland's
/// gminas). That reference's spread holds the regions' and honest geography shows in it
/// as much as fraud: measured on simulated whole-commission falsifications at 0.3–0.5
/// of the stations (a prototype of the commission-level scores, 30,000 stations, seeds
/// 1–3) the parent's z plus half the nation's ranked the falsified commissions at AUC
/// 0.86–0.94, the stronger of the two at 0.72–0.93; at weight 0.25 the station score's
/// AUCs were 0.00–0.04 lower. At 1, Poland 2020's first round flagged 178 stations
/// (0.65%) against 113 at 0.5.
pub const NATION_WEIGHT: f64 = 0.5;

/// [`displacement`] against one set of peers (`parent`: the peer group of each unit, -1
/// for all), points at `p = min(1, refs·LOOKS·Φ̄(z))`.
#[allow(clippy::type_complexity)]
fn against(e: &Election, members: &[Vec<usize>], stations: &[StationScore], parent: &[i64], peers: &str, refs: f64, one_sided: bool) -> (Vec<Option<Displacement>>, Vec<Option<Option<Displacement>>>) {
    let nu = members.len();
    let side = |s: f64| if one_sided { s } else { 0.0 };
    let reg = e.get(Role::Registered);
    let valid = e.valid_or_sum();
    let s = stations;
    let ((lt, ls), lr) = rayon::join(
        || {
            rayon::join(
                || location_z(&moments(members, |i| s[i].turnout, |i| reg.map_or(1.0, |r| r[i] as f64)), parent, side(1.0)),
                || location_z(&moments(members, |i| s[i].share, |i| valid[i] as f64), parent, side(1.0)),
            )
        },
        // Denominator: the opponents' votes, V·(1 − leader share).
        || {
            let opp = |i: usize| valid[i] as f64 * (1.0 - s[i].share.unwrap_or(0.0));
            location_z(&moments(members, |i| s[i].rival_share.filter(|_| opp(i) >= super::MIN_OPPONENT_VOTES), opp), parent, side(-1.0))
        },
    );
    let unit = (0..nu).map(|u| strongest(lt.0[u], ls.0[u], lr.0[u], refs, peers)).collect();
    // The parent's clean centre against the other parents' (None where the parent has
    // none: too few units for a clean-side centre, or too few parents).
    let group = (0..nu)
        .map(|u| (lt.1[u].is_some() || ls.1[u].is_some()).then(|| strongest(lt.1[u], ls.1[u], lr.1[u], refs, "the other groups' clean centres")))
        .collect();
    (unit, group)
}

/// The strongest of the looks (turnout, leader share, stuffing, transfer) at one unit's
/// z of turnout, leader share and the runner-up's share of the opponents' votes, each `(z, value, centre)` on the logit scale; points at
/// `p = min(1, refs·LOOKS·Φ̄(z))`.
type Z = Option<(f64, f64, f64)>;
fn strongest(zt: Z, zs: Z, zr: Z, refs: f64, peers: &str) -> Option<Displacement> {
    let expit = |x: f64| 100.0 / (1.0 + (-x).exp());
    let mut best: Option<(f64, String)> = None;
    let mut consider = |z: f64, text: &dyn Fn() -> String| {
        if z > 0.0 && best.as_ref().is_none_or(|b| z > b.0) {
            best = Some((z, text()));
        }
    };
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
        // The transfer direction: the leader's share up and the runner-up's share of the
        // opponents' votes down, their z combined whatever the signs and whatever the
        // turnout (see the module docs).
        if let (Some((a, xs, cs)), Some((b, xr, cr))) = (zs, zr) {
            let z = (a - b) / std::f64::consts::SQRT_2;
            consider(z, &|| {
                format!(
                    "transfer: mean leader share {:.1}% (peer units' {:.1}%, z = {a:.1}) and the runner-up's share of the opponents' votes {:.1}% (peer units' {:.1}%, z = {b:.1}), joint z = {z:.1}",
                    expit(xs),
                    expit(cs),
                    expit(xr),
                    expit(cr)
                )
            });
        }
        best.map(|(z, text)| Displacement { z, points: super::points((refs * LOOKS * norm_sf(z)).min(1.0)), text: text.replace("peer units'", peers) })
}

/// Fewest peers for the lower-quartile centre and spread (below it: the median of the
/// others and both sides; with 20 regions a quartile of 5 units says little).
pub const MIN_SHORTH: usize = 20;

/// The quantile, on the clean side, that a one-sided look centres on: a falsification
/// decided per commission moves up to half of the units of a region the same way, which
/// drags the median and, at half, sends the shortest half (the shorth used before) onto
/// the falsified cluster as often as onto the clean one (transfer-commissions at 0.5:
/// commission AUC 0.51–0.55). The lower quartile stays in the clean cluster as long as
/// fewer than three quarters of the peers moved.
pub const CLEAN_SIDE_Q: f64 = 0.25;
/// `Φ⁻¹(1 − CLEAN_SIDE_Q)`: how far a clean normal's quartile lies below its centre, in sd.
const Z_Q: f64 = 0.674_489_750_196_081_7;
/// `Φ⁻¹(1 − CLEAN_SIDE_Q/2) − Φ⁻¹(1 − CLEAN_SIDE_Q)`: the median distance, in sd, of the
/// values below a clean normal's quartile from that quartile (Q(1/8) is their median).
const Z_TAIL: f64 = 1.150_349_380_376_008 - Z_Q;

/// Quantile `q` of `sorted` (linear interpolation between order statistics).
use crate::stats::common::quantile_sorted as quantile;

/// Random-effects z of each unit's mean against its peers (units of the same parent, or
/// all units when the parent has 5 others or fewer): `(mean − centre) / √(τ² + 1/Σw)`.
/// Returns (z, mean, centre) per unit.
///
/// Falsification decided per commission moves many units the same way: a third to a
/// half of them moved drags the median and doubles the MAD. So when the evidence sought
/// is one-sided (`side` +1: up, −1: down), the centre and spread come from the clean
/// side only: in groups of [`MIN_SHORTH`] or more, with `y = side·x`, the spread `s` is
/// the median distance of the values below the group's lower quartile `Q` from it
/// (pooled over the level's groups) divided by its clean-normal value ([`Z_TAIL`] sd),
/// and the centre `Q + Z_Q·s` — both exact for a clean normal group, and moved by at most
/// about one `s` when half of the group moved far. Smaller groups: the median of the
/// others, and the spread from the deviations on the other side. `τ² = s² −` the median
/// sampling variance. `side` 0: the median without the unit and both sides.
pub(crate) fn location_z(m: &[Option<Moments>], parent: &[i64], side: f64) -> (Vec<Option<(f64, f64, f64)>>, Vec<Option<(f64, f64, f64)>>) {
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
    // Clean-side quartile (in the direction `side`) of every group big enough, and the
    // level's clean-side spread from the values below those quartiles.
    let lower_q = |v: &Vec<f64>| -> Option<f64> {
        (side != 0.0 && v.len() >= MIN_SHORTH).then(|| if side > 0.0 { quantile(v, CLEAN_SIDE_Q) } else { quantile(v, 1.0 - CLEAN_SIDE_Q) })
    };
    let group_q: std::collections::HashMap<i64, Option<f64>> = groups.iter().map(|(k, v)| (*k, lower_q(v))).collect();
    let all_q = lower_q(&all);
    let peers_of = |u: usize| -> (&Vec<f64>, Option<f64>) {
        match groups.get(&parent[u]).filter(|p| p.len() > 5) {
            Some(p) => (p, group_q[&parent[u]]),
            None => (&all, all_q),
        }
    };
    let mut tail: Vec<f64> = Vec::new();
    let mut seen: std::collections::HashSet<i64> = Default::default();
    for u in 0..nu {
        if m[u].is_none() {
            continue;
        }
        let key = if groups.get(&parent[u]).is_some_and(|p| p.len() > 5) { parent[u] } else { i64::MIN };
        if !seen.insert(key) {
            continue;
        }
        if let (p, Some(q)) = peers_of(u) {
            tail.extend(p.iter().map(|x| side * (q - x)).filter(|d| *d > 0.0));
        }
    }
    let clean_sd = (tail.len() >= 10).then(|| median_mad(&tail).0 / Z_TAIL);
    let centre: Vec<Option<f64>> = (0..nu)
        .map(|u| {
            let x = m[u].as_ref()?.mean;
            let (peers, q) = peers_of(u);
            match (q, clean_sd) {
                (Some(q), Some(sd)) => Some(q + side * Z_Q * sd),
                _ => median_without(peers, x),
            }
        })
        .collect();
    // Where a part of the units moved together, the clean cluster fitted as one
    // component of a two-cluster mixture ([`super::clean_fit`]) replaces the clean-side
    // centre and spread of the groups big enough for a quartile.
    let mut centre = centre;
    let mut fitted_sd = None;
    if let Some(sd0) = clean_sd.filter(|_| side != 0.0) {
        let mut index: std::collections::HashMap<i64, usize> = Default::default();
        let (mut y, mut g, mut start, mut who) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for u in 0..nu {
            let (Some(x), Some(c)) = (m[u].as_ref(), centre[u]) else { continue };
            if !groups.get(&parent[u]).is_some_and(|p| p.len() > 5) || group_q[&parent[u]].is_none() {
                continue;
            }
            let next = index.len();
            let k = *index.entry(parent[u]).or_insert(next);
            if k == start.len() {
                start.push(side * c);
            }
            y.push(side * x.mean);
            g.push(k);
            who.push(u);
        }
        // Several groups only: one group is the whole level, whose clusters are honest
        // geography as often as not (Poland 2020's gminas: cities and countryside, a
        // "moved" cluster of 48% two sds up in the leader's share).
        let fitted = if start.len() >= MIN_GROUPS { super::clean_fit::fit(&y, &g, &start, sd0) } else { None };
        if let Some(f) = fitted {
            for (&u, &k) in who.iter().zip(&g) {
                centre[u] = Some(side * f.centre[k]);
            }
            fitted_sd = Some(f.sd);
        }
    }
    let clean_sd = fitted_sd.or(clean_sd);
    let dev: Vec<f64> = (0..nu).filter_map(|u| Some(m[u].as_ref()?.mean - centre[u]?)).collect();
    if dev.len() < 3 {
        return (vec![None; nu], vec![None; nu]);
    }
    let total = match clean_sd {
        Some(sd) => sd * sd,
        None => {
            // One side only where the level has enough units for it.
            let one_side = side != 0.0 && dev.len() >= 2 * MIN_SHORTH;
            let mut abs: Vec<f64> = dev.iter().filter(|&&d| !one_side || d * side <= 0.0).map(|d| d.abs()).collect();
            if abs.len() < 3 {
                abs = dev.iter().map(|d| d.abs()).collect();
            }
            (1.4826 * median_mad(&abs).0).powi(2)
        }
    };
    let samp: Vec<f64> = m.iter().flatten().map(|x| x.se2).collect();
    let tau2 = (total - median_mad(&samp).0).max(0.0);
    let unit = (0..nu)
        .map(|u| {
            let x = m[u].as_ref()?;
            let c = centre[u]?;
            let se2 = tau2 + x.se2;
            if !(se2 > 0.0) {
                return None;
            }
            Some(((x.mean - c) / se2.sqrt(), x.mean, c))
        })
        .collect();
    (unit, group_z(&centre, parent, &groups, &group_q))
}

/// Fewest groups with a clean centre for comparing those centres.
pub const MIN_GROUPS: usize = 6;

/// Each group's clean centre (the centre its units are measured from) against the other
/// groups' clean centres: `(c_g − median) / (1.4826·MAD)` over the groups big enough for
/// a clean-side centre, given to each of the group's units as `(z, c_g, median)`. A
/// region falsified throughout (the capital) has its clean centre where its falsified
/// commissions are, so within the region it shows nothing; against the other regions'
/// clean centres (not their means, which their own falsified commissions raise) it
/// does, as honest geography of the same size does too.
fn group_z(centre: &[Option<f64>], parent: &[i64], groups: &std::collections::HashMap<i64, Vec<f64>>, group_q: &std::collections::HashMap<i64, Option<f64>>) -> Vec<Option<(f64, f64, f64)>> {
    let nu = centre.len();
    let mut at: std::collections::HashMap<i64, f64> = Default::default();
    for u in 0..nu {
        let big = groups.get(&parent[u]).is_some_and(|p| p.len() > 5) && group_q.get(&parent[u]).is_some_and(|q| q.is_some());
        if let (true, Some(c)) = (big, centre[u]) {
            at.entry(parent[u]).or_insert(c);
        }
    }
    if at.len() < MIN_GROUPS {
        return vec![None; nu];
    }
    let v: Vec<f64> = at.values().copied().collect();
    let (med, mad) = median_mad(&v);
    let sd = 1.4826 * mad;
    if !(sd > 0.0) {
        return vec![None; nu];
    }
    (0..nu).map(|u| at.get(&parent[u]).map(|&c| ((c - med) / sd, c, med))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_by_hand() {
        // Positions q·(n − 1): 0.25·4 = 1 → 2; 0.3·4 = 1.2 → 2 + 0.2·(3 − 2) = 2.2.
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&v, 0.25), 2.0);
        assert!((quantile(&v, 0.3) - 2.2).abs() < 1e-12);
        assert_eq!(quantile(&v, 1.0), 10.0);
        // The constants are Φ⁻¹(0.75) and Φ⁻¹(0.875) − Φ⁻¹(0.75) (scipy.stats.norm.ppf).
        assert!((Z_Q - 0.6744897501960817).abs() < 1e-15);
        assert!((Z_TAIL - (1.1503493803760079 - 0.6744897501960817)).abs() < 1e-15);
    }

    /// 20 groups of 40 units, unit means Normal(group effect, 0.2), sampling variance
    /// 0.0004. Clean: the one-sided z has about mean 0 and sd 1 (centre and spread from
    /// the clean side are exact for a clean normal). Half of every group moved up by 0.8
    /// (4 sd, a whole-commission falsification at 0.5): the two-cluster fit finds the
    /// clean half, whose z then has about mean 0 and sd 1 again, and the moved half a z
    /// near 4. (The shorth centre used first sat on the moved half as often as not,
    /// giving the moved half z ≈ 0; the clean-side quartile alone gives the moved half
    /// z ≈ 2.1 and the clean one ≈ −0.7, see below.) The group effects of both
    /// elections compared with each other: about mean 0 and sd 1.
    #[test]
    fn clean_side_centre_survives_half_the_units_moved() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let unit = Normal::new(0.0, 0.2).unwrap();
        let group = Normal::new(0.0, 0.5).unwrap();
        for moved in [false, true] {
            let (mut m, mut parent, mut fraud) = (Vec::new(), Vec::new(), Vec::new());
            for g in 0..20 {
                let a: f64 = group.sample(&mut rng);
                for k in 0..40 {
                    let f = moved && k % 2 == 0;
                    let mean = a + unit.sample(&mut rng) + if f { 0.8 } else { 0.0 };
                    m.push(Some(Moments { n: 40, mean, se2: 0.0004, q: 39.0 }));
                    parent.push(g as i64);
                    fraud.push(f);
                }
            }
            let z: Vec<f64> = location_z(&m, &parent, 1.0).0.into_iter().map(|x| x.unwrap().0).collect();
            let clean: Vec<f64> = z.iter().zip(&fraud).filter(|x| !*x.1).map(|x| *x.0).collect();
            let mean = clean.iter().sum::<f64>() / clean.len() as f64;
            let sd = (clean.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / clean.len() as f64).sqrt();
            if !moved {
                assert!(mean.abs() < 0.25 && (sd - 1.0).abs() < 0.2, "clean z: mean {mean}, sd {sd}");
            } else {
                // By hand, without the fit: the quartile sits near the clean half's
                // median, the values below it give s ≈ 0.674σ/0.4758 = 1.42σ and the
                // centre ≈ 0.96σ, so a moved unit's z ≈ (4 − 0.96)/1.42 ≈ 2.1 and a clean
                // one's ≈ −0.7. With the fit: 4 and 0.
                let moved_z: Vec<f64> = z.iter().zip(&fraud).filter(|x| *x.1).map(|x| *x.0).collect();
                let med = |v: &[f64]| { let mut v = v.to_vec(); v.sort_by(f64::total_cmp); v[v.len() / 2] };
                assert!(med(&moved_z) > 3.4, "moved units' median z {}", med(&moved_z));
                assert!(mean.abs() < 0.25 && (sd - 1.0).abs() < 0.2, "clean z under half moved: mean {mean}, sd {sd}");
            }
            // The groups' clean centres against each other (20 groups: sd of the sd ≈ 0.16).
            let g: Vec<f64> = location_z(&m, &parent, 1.0).1.iter().step_by(40).map(|x| x.unwrap().0).collect();
            let gm = g.iter().sum::<f64>() / g.len() as f64;
            let gsd = (g.iter().map(|x| (x - gm).powi(2)).sum::<f64>() / g.len() as f64).sqrt();
            assert!(gm.abs() < 0.5 && (gsd - 1.0).abs() < 0.45, "moved {moved}: group z mean {gm}, sd {gsd}");
        }
    }

    /// One group (the whole level) holding two clusters is not fitted: its clusters are
    /// honest geography as often as not. The same 800 units as above, half moved, in one
    /// group: the clean-side quartile's z (moved ≈ 2.1, clean ≈ −0.7, by hand above).
    #[test]
    fn one_group_keeps_the_clean_side_quartile() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let unit = Normal::new(0.0, 0.2).unwrap();
        let m: Vec<Option<Moments>> = (0..800).map(|k| Some(Moments { n: 40, mean: unit.sample(&mut rng) + if k % 2 == 0 { 0.8 } else { 0.0 }, se2: 0.0004, q: 39.0 })).collect();
        let z: Vec<f64> = location_z(&m, &vec![-1; 800], 1.0).0.into_iter().map(|x| x.unwrap().0).collect();
        let med = |v: Vec<f64>| { let mut v = v; v.sort_by(f64::total_cmp); v[v.len() / 2] };
        let moved = med(z.iter().step_by(2).copied().collect());
        let clean = med(z.iter().skip(1).step_by(2).copied().collect());
        assert!((1.6..2.8).contains(&moved) && (-1.1..-0.3).contains(&clean), "moved {moved}, clean {clean}");
    }
}
