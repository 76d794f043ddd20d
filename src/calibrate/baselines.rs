//! Clean-replicate **baselines** for the estimates printed without a p-value (issue 15):
//! the Klimek fingerprint fit's `f_i` and `f_e`, the skewness and kurtosis of the turnout
//! and leader-share distributions, the turnout–share correlation and the
//! Sobyanin–Sukhovolsky slope. Each such row of the battery gets, beside its value, what
//! clean elections shaped like the file give: "clean elections like this file give 0.41
//! (95% of them 0.30 to 0.55); this file: 0.55 (0 of 39 clean replicates at or above it)".
//! (Shpilkin's anomalous votes have their own baseline, [`super::shpilkin`], which this
//! module's model comes from.)
//!
//! # Which clean model, and why
//!
//! Two clean models of the file exist:
//!
//! * the **inline calibration's** ([`super::inline::Model`]) keeps every *commission's*
//!   ratios of turnout and shares as the file has them and redraws stations around them.
//!   It asks "does this test's null hold given the file's commissions?", which is right
//!   for type-I rates of station-level tests; for these estimates it is wrong: a
//!   falsification decided per commission (the chair signs every protocol) would be
//!   copied into every clean replicate, and the baseline would absorb it (the first
//!   Shpilkin baseline, built that way, absorbed 9.8 of Russia 2018's 10.2 M);
//! * the **region-kept model** of [`super::shpilkin::CleanModel`] keeps each *region's*
//!   median turnout and share (so honest differences between regions are not counted),
//!   draws new commission effects with the commission scatter measured on the file, and
//!   takes turnout and share as unrelated within a region. This is the model used here,
//!   for every estimate: the fingerprint's tail, a right-skewed turnout and a positive
//!   turnout–share correlation are exactly what stuffing within regions makes, and what
//!   this model's replicates do not make.
//!
//! What the baseline cannot know (as for Shpilkin's): fraud decided per region moves the
//! region's medians and is taken as honest; an honest tendency of high-turnout
//! commissions within a region to favour the leader (rural areas) is counted.
//!
//! # The replicates
//!
//! [`CleanModel::draw_counts`]: every station of the shape selection (`C > 0`, `N ≥ 100`,
//! no stations abroad or electronic) keeps its registered voters, region, commission and
//! ratio of candidate votes to ballots, and draws its ballots and the leader's votes
//! **exactly** from the logit-normal binomial (Shpilkin's replicates use a normal
//! approximation of it that keeps a count's mean and variance but not the logit-normal's
//! skewness, which the moments here measure; so these replicates are drawn apart, from
//! their own streams, and Shpilkin's figures are unchanged). On each replicate the
//! battery's own functions ([`shape::moments`], [`shape::pearson`], [`shape::ols_slope`],
//! [`fingerprint::fit_capped`] with the options of the file's fit) compute the estimates.
//!
//! # The interval
//!
//! With `K` replicates sorted, `[x_(j), x_(K+1−j)]` with `j = ⌊0.025 (K + 1)⌋` (at least 1)
//! holds a further clean election of the same law with probability `(K + 1 − 2j)/(K + 1)`
//! (exchangeability; no shape assumed): 95% exactly at the default `K = 39`
//! ([`REPLICATES`]), where it is the range of the replicates. With fewer replicates the
//! words give the range with its own probability instead of "95%".
//!
//! # Cost (measured with `tests/baselines.rs` `measure_russia_2018`, loaded 2-core machine)
//!
//! The shape replicates cost one pass over the stations each (two normal and two binomial
//! draws per station): 39 replicates of Russia 2018's 93,239 stations took 0.56 CPU-s.
//! The fingerprint fit costs about one fit of the file per replicate (0.6–0.7 CPU-s on
//! Russia 2018: 10 refits 6.7 CPU-s), so it runs on the first [`FINGERPRINT_REPLICATES`]
//! replicates only, within [`FINGERPRINT_BUDGET`] (Russia 2018: 10 refits, whose range holds
//! 82% of clean elections; Poland 2020: 19, 90%), and its words say so. `analyze` Russia
//! 2018 went from 16.6 to 26.0 CPU-s (user time, both runs on the same loaded machine).
//!
//! # What it shows (measured; the numbers are in the commit messages)
//!
//! On the simulator's clean elections every shape estimate fell inside its 95% range in all
//! 20 of 20 seeds (the range is conservative there: the model's region centres are fitted
//! to the same file). On Russia 2018 the Klimek fit's `f_i` = 0.509 lies inside what clean
//! replicates give (0.44 to 0.52): differences between regions alone make the model see
//! half the stations as incremental fraud, so `f_i` says nothing there; the turnout
//! skewness (0.41 against −0.05 to 0.05) and the turnout–share correlation (0.57 against
//! 0.43 to 0.48) lie above every clean replicate. On Poland 2020 (clean), several moments
//! also lie outside (turnout kurtosis 3.42 against 2.90 to 3.10, the correlation −0.25
//! against 0.00 to 0.07, in the direction opposite to stuffing): within-region structure
//! that the model does not keep (towns vote more and differently) moves them; they remain
//! descriptions, not tests.

use crate::calibrate::shpilkin::fit_file;
use crate::model::Election;
use crate::stats::TestResult;
use crate::stats::fingerprint::{self, AlphaMode, FitOptions};
use crate::stats::mixture::{self, MixtureOptions};
use crate::stats::shape::{moments, ols_slope, pearson};
use crate::stats::shpilkin::Stations;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// Default clean replicates of the shape estimates: the range of 39 is a 95% prediction
/// interval.
pub const REPLICATES: usize = 39;
/// Default replicates refitted by the Klimek model (the first ones of the same draws).
pub const FINGERPRINT_REPLICATES: usize = 19;
/// Work budget of the shape replicates, in station-draws (stations × replicates): a file
/// too large for [`REPLICATES`] gets fewer, down to [`MIN_REPLICATES`], then none (noted).
pub const BUDGET: f64 = 1.0e7;
/// Fewest replicates worth a baseline (their range is a 90% prediction interval).
pub const MIN_REPLICATES: usize = 19;
/// Default replicates refitted by the finite mixture (the first ones of the same draws).
pub const MIXTURE_REPLICATES: usize = 19;
/// Work budget of the mixture refits, in stations fitted (stations × refits), as
/// [`FINGERPRINT_BUDGET`]: all 19 up to 52,631 stations, 10 on Russia 2018; fewer than 9
/// fit: no mixture baseline (noted).
pub const MIXTURE_BUDGET: f64 = 1.0e6;
/// Work budget of the fingerprint refits, in stations fitted (stations × refits): 10 refits
/// of Russia 2018's 93,239 stations (about 0.9 CPU-s each, measured), all 19 up to
/// 52,631 stations; fewer than 9 fit: no fingerprint baseline (noted).
pub const FINGERPRINT_BUDGET: f64 = 1.0e6;

/// What clean replicates give for one estimate, against the file's value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baseline {
    pub observed: f64,
    pub median: f64,
    /// The prediction range (module docs): `low`..`high` holds a further clean election
    /// with probability `coverage`.
    pub low: f64,
    pub high: f64,
    pub coverage: f64,
    /// Share of the replicates at or above the observed value.
    pub at_or_above: f64,
    pub replicates: usize,
}

impl Baseline {
    /// From the file's value and the replicates' (non-finite ones left out); `None` with
    /// fewer than 2 replicates or a non-finite observed value.
    pub fn new(observed: f64, values: &[f64]) -> Option<Baseline> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.len() < 2 || !observed.is_finite() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let k = v.len();
        let j = ((((k + 1) as f64) * 0.025).floor() as usize).clamp(1, k / 2);
        let median = if k % 2 == 1 { v[k / 2] } else { 0.5 * (v[k / 2 - 1] + v[k / 2]) };
        let at = v.iter().filter(|&&x| x >= observed).count();
        Some(Baseline {
            observed,
            median,
            low: v[j - 1],
            high: v[k - j],
            coverage: (k + 1 - 2 * j) as f64 / (k + 1) as f64,
            at_or_above: at as f64 / k as f64,
            replicates: k,
        })
    }

    /// "clean elections like this file give 0.41 (95% of them 0.30 to 0.55); this file: 0.55
    /// (0 of 39 clean replicates at or above it)", numbers through `f` (with fewer
    /// replicates: "(82% of them 0.44 to 0.52: the range of 10 replicates)").
    pub fn words(&self, f: &dyn Fn(f64) -> String) -> String {
        let range = if self.coverage >= 0.95 - 1e-9 {
            format!("95% of them {} to {}", f(self.low), f(self.high))
        } else {
            format!("{:.0}% of them {} to {}: the range of {} replicates", 100.0 * self.coverage, f(self.low), f(self.high), self.replicates)
        };
        let at = (self.at_or_above * self.replicates as f64).round() as usize;
        format!(
            "clean elections like this file give {} ({range}); this file: {} ({at} of {} clean replicates at or above it)",
            f(self.median),
            f(self.observed),
            self.replicates
        )
    }

    /// The baseline into `r.extra` (`baseline_median`, `baseline_low`, `baseline_high`,
    /// `baseline_coverage`, `baseline_at_or_above`, `baseline_replicates`) and its words
    /// into the notes.
    pub fn attach(&self, r: &mut TestResult) {
        self.insert(r);
        r.notes.push(format!(
            "clean baseline from {} replicates of the region-kept clean model (each region's median turnout and leader share kept, commission and station scatter redrawn as measured on the file; calibrate::baselines): differences between regions count as honest",
            self.replicates
        ));
    }

    /// The baseline's values into `r.extra` only (the keys [`Baseline::of`] reads), for an
    /// estimate whose notes say where its replicates come from.
    pub fn insert(&self, r: &mut TestResult) {
        for (k, v) in [
            ("baseline_median", self.median),
            ("baseline_low", self.low),
            ("baseline_high", self.high),
            ("baseline_coverage", self.coverage),
            ("baseline_at_or_above", self.at_or_above),
            ("baseline_replicates", self.replicates as f64),
        ] {
            r.extra.insert(k.into(), v);
        }
    }

    /// The baseline read back from a row's `extra` (as [`Baseline::attach`] wrote it).
    pub fn of(r: &TestResult) -> Option<Baseline> {
        let g = |k: &str| r.extra.get(k).copied();
        Some(Baseline {
            observed: r.statistic,
            median: g("baseline_median")?,
            low: g("baseline_low")?,
            high: g("baseline_high")?,
            coverage: g("baseline_coverage")?,
            at_or_above: g("baseline_at_or_above")?,
            replicates: g("baseline_replicates")? as usize,
        })
    }
}

/// Three decimals, or thousands grouped from 10,000 on.
pub fn short(x: f64) -> String {
    if x.abs() >= 1e4 { crate::numfmt::signed(x) } else { format!("{x:.3}") }
}

/// Settings of [`run`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Shape replicates (at most; [`BUDGET`] may lower it). 0: no baselines.
    pub reps: usize,
    /// Fingerprint refits (the first replicates; at most `reps`). 0: none.
    pub fingerprint_reps: usize,
    pub seed: u64,
    /// The options of the file's fingerprint fit (`None`: the fit did not run, no refits).
    pub fingerprint: Option<FitOptions>,
    /// Mixture refits (the first replicates; at most `reps`) and the options of the file's
    /// mixture fit (`None`: it did not run).
    pub mixture_reps: usize,
    pub mixture: Option<MixtureOptions>,
    pub leader: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reps: REPLICATES,
            fingerprint_reps: FINGERPRINT_REPLICATES,
            seed: 20_260_101,
            fingerprint: Some(FitOptions::default()),
            mixture_reps: MIXTURE_REPLICATES,
            mixture: Some(MixtureOptions::default()),
            leader: None,
        }
    }
}

/// The replicates' values of every estimate (applied to the battery's rows by
/// [`Baselines::apply`]).
#[derive(Debug, Clone, Serialize)]
pub struct Baselines {
    pub replicates: usize,
    pub fingerprint_replicates: usize,
    pub mixture_replicates: usize,
    pub seed: u64,
    /// The clean model's scatters (logit scale): station and commission, turnout and share.
    pub sd_turnout: f64,
    pub sd_share: f64,
    pub sd_commission_turnout: f64,
    pub sd_commission_share: f64,
    /// Why a part did not run (budget, no registered voters …).
    pub notes: Vec<String>,
    /// (test, value on each replicate, in replicate order).
    #[serde(skip)]
    pub values: Vec<(String, Vec<f64>)>,
    /// Wall time of the whole and of the fingerprint refits (not serialised: summary.json
    /// stays byte-identical across runs; both are in its `timings_seconds`).
    #[serde(skip)]
    pub seconds: f64,
    #[serde(skip)]
    pub seconds_fingerprint: f64,
    #[serde(skip)]
    pub seconds_mixture: f64,
}

/// The shape estimates of one set of stations (registered `nn`, ballots `b`, candidate
/// votes `v`, leader `l`), with the battery's selection (`C > 0`, `V > 0`) and names.
pub fn shape_values(nn: &[f64], b: &[u32], v: &[u32], l: &[u32]) -> Vec<(&'static str, f64)> {
    let (mut t, mut s, mut w) = (Vec::with_capacity(nn.len()), Vec::with_capacity(nn.len()), Vec::with_capacity(nn.len()));
    for i in 0..nn.len() {
        if b[i] > 0 && v[i] > 0 && nn[i] > 0.0 {
            t.push((b[i] as f64 / nn[i]).min(1.0));
            s.push(l[i] as f64 / v[i] as f64);
            w.push(nn[i]);
        }
    }
    let mut out = Vec::with_capacity(11);
    if t.len() < 10 {
        return out;
    }
    let names = [
        ["shape.turnout.skewness.stations", "shape.turnout.kurtosis.stations", "shape.turnout.skewness.voters", "shape.turnout.kurtosis.voters"],
        ["shape.leader_share.skewness.stations", "shape.leader_share.kurtosis.stations", "shape.leader_share.skewness.voters", "shape.leader_share.kurtosis.voters"],
    ];
    for (x, nm) in [(&t, names[0]), (&s, names[1])] {
        let m = moments(x, None);
        let mw = moments(x, Some(&w));
        out.extend([(nm[0], m.skewness), (nm[1], m.kurtosis), (nm[2], mw.skewness), (nm[3], mw.kurtosis)]);
    }
    out.push(("shape.corr_turnout_share.stations", pearson(&t, &s, None)));
    out.push(("shape.corr_turnout_share.voters", pearson(&t, &s, Some(&w))));
    let y: Vec<f64> = t.iter().zip(&s).map(|(a, b)| a * b).collect();
    out.push(("shape.sobyanin_slope", ols_slope(&t, &y).0));
    out
}

/// Refits of one model (`wanted`, of `stations` each) within `budget` stations fitted;
/// fewer than 9 fit: none. A note says when the budget cut them.
fn refits_within(on: bool, wanted: usize, stations: usize, budget: f64, what: &str, notes: &mut Vec<String>) -> usize {
    if !on {
        return 0;
    }
    let mut k = wanted.min((budget / stations.max(1) as f64).floor() as usize);
    if k < wanted {
        if k < 9 {
            k = 0;
        }
        notes.push(format!("{what} baseline on {k} refits of the clean replicates ({wanted} would exceed the budget of {budget} stations fitted)"));
    }
    k
}

/// Draws the clean replicates of `e` and computes every estimate on each (module docs).
pub fn run(e: &Election, opt: &Options) -> Option<Baselines> {
    let t0 = Instant::now();
    if opt.reps == 0 {
        return None;
    }
    let leader = opt.leader.or_else(|| e.leader())?;
    let (st, model): (Stations, _) = fit_file(e, leader)?;
    let n = st.registered.len();
    let mut notes = Vec::new();
    let reps = opt.reps.min((BUDGET / n.max(1) as f64).floor() as usize);
    if reps < MIN_REPLICATES.min(opt.reps) || reps < 2 {
        notes.push(format!(
            "no clean baselines: {} stations exceed the default budget of {} station-draws ({} replicates would fit, {} needed)",
            n, BUDGET, reps, MIN_REPLICATES
        ));
        return Some(Baselines { replicates: 0, fingerprint_replicates: 0, mixture_replicates: 0, seed: opt.seed, sd_turnout: model.sd_turnout, sd_share: model.sd_share, sd_commission_turnout: model.sd_commission_turnout, sd_commission_share: model.sd_commission_share, notes, values: Vec::new(), seconds: t0.elapsed().as_secs_f64(), seconds_fingerprint: 0.0, seconds_mixture: 0.0 });
    }
    let fit_n = opt.fingerprint.as_ref().map_or(0, |f| n.min(f.max_stations));
    let fp_reps = refits_within(opt.fingerprint.is_some(), opt.fingerprint_reps.min(reps), fit_n, FINGERPRINT_BUDGET, "fingerprint", &mut notes);
    let mix_reps = refits_within(opt.mixture.is_some(), opt.mixture_reps.min(reps), n, MIXTURE_BUDGET, "mixture", &mut notes);
    // Refits without bootstrap or regions; the replicates' fits run one at a time inside
    // the replicates' parallel loop.
    let mo = opt.mixture.as_ref().map(|m| MixtureOptions { bootstrap: 0, min_region: 0, ..m.clone() });
    let mix_seconds = std::sync::Mutex::new(0.0f64);
    let fo = opt.fingerprint.as_ref().map(|f| FitOptions { bootstrap: 0, ..f.clone() });
    let seed = opt.seed ^ 0x15ba_5e11_0000_0015;
    let fp_seconds = std::sync::Mutex::new(0.0f64);
    type PerRep = (Vec<(&'static str, f64)>, Option<(f64, f64, f64)>, Option<(f64, f64)>);
    let per_rep: Vec<PerRep> = (0..reps)
        .into_par_iter()
        .map(|k| {
            let (mut b, mut v, mut l) = (Vec::new(), Vec::new(), Vec::new());
            model.draw_counts(&st, seed, k, &mut b, &mut v, &mut l);
            let shape = shape_values(&st.registered, &b, &v, &l);
            let fp = match &fo {
                Some(fo) if k < fp_reps => {
                    let t = Instant::now();
                    let nn: Vec<u32> = st.registered.iter().map(|&x| x as u32).collect();
                    let s = fingerprint::Stations::from_counts(&nn, &b, &v, &l, 100);
                    let r = fingerprint::fit_capped(s, fo).ok().map(|f| (f.fit.f_i, f.fit.f_e, f.fit.alpha));
                    *fp_seconds.lock().expect("no panics while holding it") += t.elapsed().as_secs_f64();
                    r
                }
                _ => None,
            };
            let mix = match &mo {
                Some(mo) if k < mix_reps => {
                    let t = Instant::now();
                    let nn: Vec<u32> = st.registered.iter().map(|&x| x as u32).collect();
                    let d = mixture::Data::from_counts(&nn, &b, &v, &l, 100);
                    let r = mixture::fit(&d, mo, nn.len(), &[]).ok().map(|m| (m.params.f_i, m.params.f_e));
                    *mix_seconds.lock().expect("no panics while holding it") += t.elapsed().as_secs_f64();
                    r
                }
                _ => None,
            };
            (shape, fp, mix)
        })
        .collect();
    let mut values: Vec<(String, Vec<f64>)> = Vec::new();
    for (shape, _, _) in &per_rep {
        for &(name, x) in shape {
            match values.iter_mut().find(|(t, _)| t == name) {
                Some((_, v)) => v.push(x),
                None => values.push((name.to_string(), vec![x])),
            }
        }
    }
    let fits: Vec<(f64, f64, f64)> = per_rep.iter().filter_map(|(_, f, _)| *f).collect();
    let mixes: Vec<(f64, f64)> = per_rep.iter().filter_map(|(_, _, m)| *m).collect();
    if !mixes.is_empty() {
        values.push(("mixture.f_incremental".into(), mixes.iter().map(|f| f.0).collect()));
        values.push(("mixture.f_extreme".into(), mixes.iter().map(|f| f.1).collect()));
    }
    if !fits.is_empty() {
        values.push(("fingerprint.f_incremental".into(), fits.iter().map(|f| f.0).collect()));
        values.push(("fingerprint.f_extreme".into(), fits.iter().map(|f| f.1).collect()));
        if matches!(fo.as_ref().map(|f| &f.alpha), Some(AlphaMode::Grid(_))) {
            values.push(("fingerprint.alpha".into(), fits.iter().map(|f| f.2).collect()));
        }
    }
    Some(Baselines {
        replicates: reps,
        fingerprint_replicates: fits.len(),
        mixture_replicates: mixes.len(),
        seed: opt.seed,
        sd_turnout: model.sd_turnout,
        sd_share: model.sd_share,
        sd_commission_turnout: model.sd_commission_turnout,
        sd_commission_share: model.sd_commission_share,
        notes,
        values,
        seconds: t0.elapsed().as_secs_f64(),
        seconds_fingerprint: fp_seconds.into_inner().expect("no panics while holding it"),
        seconds_mixture: mix_seconds.into_inner().expect("no panics while holding it"),
    })
}

impl Baselines {
    /// The replicates' values of `test`, if it was replicated.
    pub fn values(&self, test: &str) -> Option<&[f64]> {
        self.values.iter().find(|(t, _)| t == test).map(|(_, v)| v.as_slice())
    }

    /// Attaches the baseline of every replicated estimate to its national row of
    /// `results` ([`Baseline::attach`]); the EFT-style `digits.skew.turnout` and
    /// `digits.kurt.turnout` get the shape rows' when they are the same number (the same
    /// stations). Returns how many rows got one.
    pub fn apply(&self, results: &mut [TestResult]) -> usize {
        let stat = |results: &[TestResult], t: &str| results.iter().find(|r| r.scope == "nation" && r.test == t).map(|r| r.statistic);
        let aliases: Vec<(&str, &str, Option<f64>)> = [("digits.skew.turnout", "shape.turnout.skewness.stations"), ("digits.kurt.turnout", "shape.turnout.kurtosis.stations")]
            .into_iter()
            .map(|(a, b)| (a, b, stat(results, b)))
            .collect();
        let mut done = 0;
        for r in results.iter_mut().filter(|r| r.scope == "nation") {
            let source = match aliases.iter().find(|(a, _, _)| *a == r.test) {
                Some(&(_, b, Some(x))) if (x - r.statistic).abs() <= 1e-9 * x.abs().max(1.0) => b.to_string(),
                Some(_) => continue,
                None => r.test.clone(),
            };
            let Some(v) = self.values(&source) else { continue };
            if let Some(b) = Baseline::new(r.statistic, v) {
                b.attach(r);
                done += 1;
            }
        }
        done
    }
}

/// Whether `test` is one of the estimates this module gives a baseline (for readers that
/// want to say "no baseline" when it is missing).
pub fn has_baseline(test: &str) -> bool {
    test.starts_with("fingerprint.") || test == "mixture.f_incremental" || test == "mixture.f_extreme" || (test.starts_with("shape.") && !test.ends_with(".dip")) || test == "digits.skew.turnout" || test == "digits.kurt.turnout"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::shape;

    /// Hand-checked: 39 values 1..=39, observed 30: median 20, range 1–39 (j = 1, coverage
    /// 38/40 = 0.95), 10 of 39 at or above 30.
    #[test]
    fn baseline_by_hand() {
        let v: Vec<f64> = (1..=39).map(|x| x as f64).collect();
        let b = Baseline::new(30.0, &v).unwrap();
        assert_eq!((b.median, b.low, b.high, b.replicates), (20.0, 1.0, 39.0, 39));
        assert!((b.coverage - 0.95).abs() < 1e-12);
        assert!((b.at_or_above - 10.0 / 39.0).abs() < 1e-12);
        assert!(b.words(&short).contains("give 20.000 (95% of them 1.000 to 39.000); this file: 30.000 (10 of 39 clean replicates at or above it)"), "{}", b.words(&short));
        // 79 values: j = 2, range 2–78, coverage 76/80
        let v: Vec<f64> = (1..=79).map(|x| x as f64).collect();
        let b = Baseline::new(100.0, &v).unwrap();
        assert_eq!((b.low, b.high, b.at_or_above), (2.0, 78.0, 0.0));
        assert!((b.coverage - 0.95).abs() < 1e-12);
        // 19 values: the range, a 90% prediction range, said so
        let v: Vec<f64> = (0..19).map(|x| x as f64 / 10.0).collect();
        let b = Baseline::new(0.0, &v).unwrap();
        assert!((b.coverage - 0.9).abs() < 1e-12);
        assert_eq!(b.at_or_above, 1.0);
        let w = b.words(&short);
        assert!(w.contains("(90% of them 0.000 to 1.800: the range of 19 replicates)") && w.contains("19 of 19"), "{w}");
        assert!(Baseline::new(f64::NAN, &v).is_none() && Baseline::new(1.0, &[1.0]).is_none());
    }

    /// `shape_values` gives what `shape::run` gives on the same stations.
    #[test]
    fn shape_values_match_the_battery() {
        let nn: Vec<f64> = (0..200).map(|i| 100.0 + (i * 37 % 900) as f64).collect();
        let b: Vec<u32> = nn.iter().enumerate().map(|(i, &n)| (n * (0.3 + 0.5 * ((i * 13 % 17) as f64 / 17.0))) as u32).collect();
        let v: Vec<u32> = b.iter().map(|&x| x - x / 50).collect();
        let l: Vec<u32> = v.iter().enumerate().map(|(i, &x)| (x as f64 * (0.2 + 0.6 * ((i * 7 % 11) as f64 / 11.0))) as u32).collect();
        let got = shape_values(&nn, &b, &v, &l);
        let t: Vec<f64> = (0..200).map(|i| b[i] as f64 / nn[i]).collect();
        let s: Vec<f64> = (0..200).map(|i| l[i] as f64 / v[i] as f64).collect();
        let want = shape::moments(&t, Some(&nn)).kurtosis;
        let g = |n: &str| got.iter().find(|x| x.0 == n).unwrap().1;
        assert_eq!(g("shape.turnout.kurtosis.voters"), want);
        assert_eq!(g("shape.corr_turnout_share.stations"), shape::pearson(&t, &s, None));
        assert_eq!(got.len(), 11);
    }
}
