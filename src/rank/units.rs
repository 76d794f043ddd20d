//! Commission and region scores from aggregated evidence (DESIGN.md §4). Each piece of
//! evidence is `−log10 p` points, as for stations, and is listed with its contribution:
//!
//! | evidence | p |
//! | --- | --- |
//! | `flagged_stations` | binomial upper tail of the unit's count of stations flagged on their own evidence (not on what they inherit from the unit) at the clean rate (0.01% since the threshold is 5.5; `analysis::rank_stage`) |
//! | `displacement` | the unit as a whole against its peer units ([`super::displacement`]): turnout, leader share, stuffing and transfer signatures of the weighted mean logits, the strongest, Bonferroni-corrected; commissions against the other commissions of their region and against every commission of the nation |
//! | `spread` | the same tail of the z of `ln(Q/(n − 1))`, `Q = Σ w (x − x̄)²`, against the level's median, `√(2/(n − 1) + η²)` in the denominator (8 stations or more) |
//! | `turnout_share_correlation` | one-sided Fisher-z test of Pearson's r among the unit's stations (10 or more) |
//! | other tests | their per-unit p (integer-percentage excess, pooled last digit, `digits.pct05.turnout`), when the inline calibration did not find them not applicable at that level |
//!
//! Station logits `x` are weighed by `w = 1/(σ² + b)`, `b = 1/(den·p̄(1 − p̄))` the
//! binomial noise of the station's count and `σ²` the level's extra-binomial station
//! variance (median over units of 5 stations or more): a unit of small stations is
//! neither more spread out nor further from its peers than its sizes explain. `τ²` and
//! `η²` (between-unit heterogeneity of means and of spreads) are robust: the scaled MAD²
//! of the units' deviations minus the median sampling variance. The spread catches a
//! unit where part of the stations were altered (a mixture); the means one where all were
//! altered, though an honest high-turnout unit looks the same (measured in
//! `tests/rank.rs`).

use super::{StationScore, fmt_p, median_mad, points};
use crate::model::Election;
use crate::stats::common::norm_sf;
use rayon::prelude::*;
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
    /// The evidence of at least [`super::REASON_POINTS`], strongest first, each with its
    /// points, then the weaker pieces summed as one "minor evidence" reason: the points
    /// shown add up to the score.
    pub fn reasons(&self) -> String {
        let mut ev: Vec<&UnitEvidence> = self.evidence.iter().filter(|e| e.points >= super::REASON_POINTS).collect();
        ev.sort_by(|a, b| b.points.total_cmp(&a.points));
        let mut out: Vec<String> = ev.iter().map(|e| format!("{} [{:.1}]", e.text, e.points)).collect();
        let minor: Vec<&UnitEvidence> = self.evidence.iter().filter(|e| e.points < super::REASON_POINTS).collect();
        let sum: f64 = minor.iter().map(|e| e.points).sum();
        if sum >= 0.05 {
            out.push(format!("minor evidence ({} pieces below {} points each) [{sum:.1}]", minor.len(), super::REASON_POINTS));
        }
        out.join("; ")
    }
}

/// The units by score, highest first (ties by unit code): the order of every ranked list.
pub fn sorted<'a, I: IntoIterator<Item = &'a UnitScore>>(units: I) -> Vec<&'a UnitScore> {
    let mut v: Vec<&UnitScore> = units.into_iter().collect();
    v.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.unit.cmp(&y.unit)));
    v
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
/// elections on their own evidence (the threshold's calibration: 0.0001 in `analysis::rank_stage`).
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
    // Location and spread of each unit's stations on the logit scale, where honest area
    // effects act additively (a 10-point rise means more at 80% than at 50%).
    let reg = e.get(crate::model::Role::Registered);
    let valid = e.valid_or_sum();
    let lt = moments(&members, |i| stations[i].turnout, |i| reg.map_or(1.0, |r| r[i] as f64));
    let ls = moments(&members, |i| stations[i].share, |i| valid[i] as f64);
    let disp = super::displacement::displacement(e, level, &members, stations);
    let spr_t = spread_z(&lt);
    let spr_s = spread_z(&ls);
    (0..nu)
        .into_par_iter()
        .map(|u| {
            let m = &members[u];
            // Flagged on their own evidence: a station flagged for what it inherits from
            // this unit would count the unit's displacement twice.
            let flagged = m.iter().filter(|&&i| stations[i].flagged_alone).count();
            let mut ev = Vec::new();
            if !m.is_empty() {
                let p = binom_sf(flagged, m.len(), base_rate);
                ev.push(UnitEvidence {
                    name: "flagged_stations".into(),
                    points: points(p),
                    text: format!("{flagged} of {} stations flagged (p = {} at the clean rate {:.2}%)", m.len(), fmt_p(p), 100.0 * base_rate),
                });
            }
            // The unit as a whole against its peer units (rank::displacement): turnout,
            // leader share, stuffing and transfer signatures, the strongest once.
            if let Some(d) = &disp[u] {
                ev.push(UnitEvidence { name: "displacement".into(), points: d.points, text: d.text.clone() });
            }
            // Stations of the unit more spread out than a unit's stations usually are: a
            // part of the unit altered and the rest not (a mixture) widens the spread.
            let mut best: Option<(f64, String)> = None;
            for (zz, what, m) in [(spr_t[u], "turnout", &lt[u]), (spr_s[u], "leader share", &ls[u])] {
                if let (Some(z), Some(m)) = (zz, m) {
                    if z > 0.0 && best.as_ref().is_none_or(|b| z > b.0) {
                        best = Some((z, format!(
                            "{what} more spread out among its stations than their sizes and the level's other units explain (z = {z:.1}, {} stations)",
                            m.n
                        )));
                    }
                }
            }
            if let Some((z, text)) = best {
                ev.push(UnitEvidence { name: "spread".into(), points: points((2.0 * norm_sf(z)).min(1.0)), text });
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

/// Stations' values of one unit on the logit scale. Each station's logit carries its
/// count's binomial noise `b = 1/(den·p̄(1 − p̄))` besides the level's extra-binomial
/// station variance `σ²`; stations are weighed by `1/(σ² + b)`, so a unit of small
/// stations is neither more spread out nor more extreme than its sizes explain.
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    pub(crate) n: usize,
    /// Weighted mean logit and its sampling variance `1/Σw`.
    pub(crate) mean: f64,
    pub(crate) se2: f64,
    /// `Σ w (x − mean)²`: about χ²(n − 1) when the unit's stations are alike.
    pub(crate) q: f64,
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(0.005, 0.995);
    (p / (1.0 - p)).ln()
}

/// Per unit: the logit moments of ratio `f` (denominator `den`) over its stations
/// (`None` below 2 stations).
pub(crate) fn moments(members: &[Vec<usize>], f: impl Fn(usize) -> Option<f64>, den: impl Fn(usize) -> f64) -> Vec<Option<Moments>> {
    // (logit, denominator) per unit, and the binomial factor at the unit's mean ratio.
    let obs: Vec<Vec<(f64, f64)>> =
        members.iter().map(|m| m.iter().filter_map(|&i| Some((logit(f(i)?), den(i).max(1.0)))).collect()).collect();
    let binom = |x: &[(f64, f64)]| -> (f64, Vec<f64>) {
        let mean = x.iter().map(|v| v.0).sum::<f64>() / x.len() as f64;
        let p = (1.0 / (1.0 + (-mean).exp())).clamp(0.005, 0.995);
        (mean, x.iter().map(|v| 1.0 / (v.1 * p * (1.0 - p))).collect())
    };
    // The level's station variance beyond the binomial: median over units of 5 or more.
    let extra: Vec<f64> = obs
        .iter()
        .filter(|x| x.len() >= 5)
        .map(|x| {
            let (mean, b) = binom(x);
            let var = x.iter().map(|v| (v.0 - mean).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0);
            var - b.iter().sum::<f64>() / b.len() as f64
        })
        .collect();
    let sigma2 = if extra.is_empty() { 0.01 } else { median_mad(&extra).0.max(0.0025) };
    obs.iter()
        .map(|x| {
            if x.len() < 2 {
                return None;
            }
            let (_, b) = binom(x);
            let w: Vec<f64> = b.iter().map(|b| 1.0 / (sigma2 + b)).collect();
            let sw: f64 = w.iter().sum();
            let mean = x.iter().zip(&w).map(|(v, w)| w * v.0).sum::<f64>() / sw;
            let q = x.iter().zip(&w).map(|(v, w)| w * (v.0 - mean).powi(2)).sum::<f64>();
            Some(Moments { n: x.len(), mean, se2: 1.0 / sw, q })
        })
        .collect()
}

/// Median of `sorted` with one element equal to `x` left out (`x` must be in it); `None`
/// below 3 left. The same number as sorting the others and taking their median.
pub(crate) fn median_without(sorted: &[f64], x: f64) -> Option<f64> {
    let pos = sorted.partition_point(|v| v.total_cmp(&x).is_lt());
    debug_assert!(pos < sorted.len() && sorted[pos] == x);
    let n = sorted.len().checked_sub(1)?;
    if n < 3 {
        return None;
    }
    let at = |i: usize| if i < pos { sorted[i] } else { sorted[i + 1] };
    Some(if n % 2 == 1 { at(n / 2) } else { 0.5 * (at(n / 2 - 1) + at(n / 2)) })
}

/// z of each unit's within-unit spread against the level's: `d = ln(Q/(n − 1))` with its
/// sampling variance `2/(n − 1)` plus the between-unit heterogeneity of spreads
/// (robust, as in [`location_z`]), centred on the median `d`. Units of 8 or more stations.
fn spread_z(m: &[Option<Moments>]) -> Vec<Option<f64>> {
    let d: Vec<Option<(f64, f64)>> = m
        .iter()
        .map(|x| {
            let x = x.as_ref()?;
            let df = x.n as f64 - 1.0;
            (x.n >= 8 && x.q > 0.0).then(|| ((x.q / df).ln(), 2.0 / df))
        })
        .collect();
    let vals: Vec<f64> = d.iter().flatten().map(|v| v.0).collect();
    if vals.len() < 5 {
        return vec![None; m.len()];
    }
    let (centre, mad) = median_mad(&vals);
    let samp: Vec<f64> = d.iter().flatten().map(|v| v.1).collect();
    let eta2 = (mad * mad - median_mad(&samp).0).max(0.0);
    d.iter().map(|v| v.map(|(x, s2)| (x - centre) / (s2 + eta2).sqrt())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leave-one-out medians against sorting the rest.
    #[test]
    fn median_without_matches_sorting_the_rest() {
        let v = [0.3, -1.0, 2.5, 0.3, 7.0, 1.1, -0.2];
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        for (i, &x) in v.iter().enumerate() {
            let rest: Vec<f64> = v.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &y)| y).collect();
            assert_eq!(median_without(&s, x), Some(median_mad(&rest).0), "leaving out {x}");
            let even: Vec<f64> = s[1..].to_vec();
            if even.contains(&x) {
                let rest: Vec<f64> = { let mut r = even.clone(); let k = r.iter().position(|&y| y == x).unwrap(); r.remove(k); r };
                assert_eq!(median_without(&even, x), Some(median_mad(&rest).0));
            }
        }
        assert_eq!(median_without(&[1.0, 2.0, 3.0], 2.0), None);
    }

    /// Two units of five stations, computed by hand (Python, the formulas of the module
    /// docs): σ² = median of the units' extra-binomial variances = 0.0414969…, then the
    /// weighted means, their variances `1/Σw` and `Q`.
    #[test]
    fn moments_by_hand() {
        let data = [(0.5, 100.0), (0.6, 400.0), (0.7, 100.0), (0.55, 900.0), (0.65, 50.0), (0.4, 200.0), (0.45, 200.0), (0.5, 200.0), (0.42, 200.0), (0.48, 200.0)];
        let members = vec![(0..5).collect::<Vec<usize>>(), (5..10).collect()];
        let m = moments(&members, |i| Some(data[i].0), |i| data[i].1);
        let expect = [(0.37403267790112077, 0.01370626401197256, 5.5222366876647415), (-0.20179038070138064, 0.01234024231928381, 1.809743894941237)];
        for (got, want) in m.iter().zip(expect) {
            let got = got.as_ref().unwrap();
            assert_eq!(got.n, 5);
            assert!((got.mean - want.0).abs() < 1e-12, "{} {}", got.mean, want.0);
            assert!((got.se2 - want.1).abs() < 1e-12, "{} {}", got.se2, want.1);
            assert!((got.q - want.2).abs() < 1e-9, "{} {}", got.q, want.2);
        }
    }

    /// Units of small stations are not "spread out" for their binomial noise alone, and a
    /// unit half of whose stations moved up is.
    #[test]
    fn spread_sees_mixtures_not_small_stations() {
        use rand::SeedableRng;
        use rand_distr::{Binomial, Distribution, Normal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let eff = Normal::new(0.0, 0.3).unwrap();
        let (mut ratio, mut den, mut members) = (Vec::new(), Vec::new(), Vec::new());
        for u in 0..60 {
            let size = if u % 2 == 0 { 60u64 } else { 2000 }; // alternate small / large units
            let mut m = Vec::new();
            for s in 0..40 {
                let shift = if u == 59 && s % 2 == 0 { 1.0 } else { 0.0 };
                let x: f64 = eff.sample(&mut rng) + shift;
                let p = 1.0 / (1.0 + (-x).exp());
                let k = Binomial::new(size, p).unwrap().sample(&mut rng);
                m.push(ratio.len());
                ratio.push(k as f64 / size as f64);
                den.push(size as f64);
            }
            members.push(m);
        }
        let m = moments(&members, |i| Some(ratio[i]), |i| den[i]);
        let z = spread_z(&m);
        let small: Vec<f64> = (0..58).step_by(2).map(|u| z[u].unwrap()).collect();
        let large: Vec<f64> = (1..58).step_by(2).map(|u| z[u].unwrap()).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean(&small) - mean(&large)).abs() < 0.6, "small {} large {}", mean(&small), mean(&large));
        assert!(z[59].unwrap() > 3.0, "mixture z {:?}", z[59]);
        assert!(small.iter().chain(&large).all(|&x| x < 3.0), "{small:?} {large:?}");
    }
}
