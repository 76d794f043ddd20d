//! Calibration before conclusions (DESIGN.md §3): how often each test rejects clean
//! elections shaped like the data (type-I rate), and how often it rejects elections with
//! each kind of fraud injected (power), with the ranking's ROC AUC and precision.
//!
//! # Type I
//!
//! `R` clean elections are simulated from one [`SimConfig`] (a preset, or one shaped like
//! the user's file by [`crate::simulate::like`]), replicate `r` with seed
//! [`replicate_seed`]`(master, r)`; each is analysed by [`analysis::run_election`] and
//! every result that has a p-value is counted, generically by test name, so a method added
//! to the battery is calibrated without any change here. For each test at national scope
//! (and, pooled over units, at each lower level: `region`, `commission`) the table gives
//! the rejections `#{p ≤ α}` at each α, the rate and its 95% Clopper–Pearson interval,
//! and a verdict at the first α:
//!
//! * **not applicable here**: rate > `not_applicable_above` (default 1.6·α, i.e. 0.08 at
//!   α = 0.05, issue 7): the test's null does not hold for data shaped like this, its
//!   p-values are too small, and it must not count as evidence;
//! * **conservative**: the interval lies wholly below α (it rejects less than it says:
//!   its p-values are valid, but it has less power than its nominal level suggests);
//! * **ok** otherwise.
//!
//! The point rate must exceed the threshold (issue 7's rule) *and* the rejections must be
//! significantly more than α (one-sided binomial test at 5%): with few replicates a
//! valid test lands above 1.6·α by chance (R = 50: about 10% of the time; R = 100, 9
//! rejections: 6%), and the second condition keeps such chance out of the verdict. The
//! interval is printed with it; a decision should rest on a few hundred replicates.
//! Pooled rates at region level treat the units of a replicate as independent; their
//! intervals are somewhat too narrow if a test's regional results are correlated.
//!
//! # Power
//!
//! For each [`FraudSpec`] (defaults [`DEFAULT_POWER_SPECS`], realistic intensities), the
//! same replicate seeds with the spec injected (common random numbers: replicate `r` of
//! every kind differs from clean replicate `r` exactly at the falsified stations). Per
//! national test the rejection rate at α; "any protocol violation" as a pseudo-test
//! (arithmetic is found by the checks, not by a p-value); the ranking's ROC AUC of the
//! station score against the truth, and the precision among the top 1% of stations
//! (`ceil(n/100)` by score): its mean, sd and minimum over replicates.
//!
//! # Determinism
//!
//! Replicates run in parallel (rayon) and are collected in replicate order; every random
//! draw is keyed by the master seed and the replicate number, so the numbers are the same
//! for any number of threads.

pub mod baselines;
pub mod inline;
pub mod shpilkin;

use crate::analysis;
use crate::model::Election;
use crate::rank;
use crate::simulate::{self, FraudKind, FraudSpec, SimConfig, splitmix64};
use crate::stats::TestResult;
use crate::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// A test whose type-I rate at α = 0.05 on clean data shaped like the user's exceeds this
/// is "not applicable here" (issue 7).
pub const NOT_APPLICABLE_ABOVE: f64 = 0.08;

/// Fraud specs of the power table: each kind at a realistic intensity.
pub const DEFAULT_POWER_SPECS: [&str; 7] = [
    "stuffing:0.05:0.3",
    "transfer:0.05:0.2",
    "integer:0.02:5",
    "extreme:0.01:0.95",
    "invented:0.05:0.8",
    "copy:0.01",
    "arithmetic:0.01:0.05",
];

/// The default power specs, parsed.
pub fn default_power_specs() -> Vec<FraudSpec> {
    DEFAULT_POWER_SPECS.iter().map(|s| s.parse().expect("the default specs are valid")).collect()
}

/// Settings of a calibration run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Clean replicates.
    pub reps: usize,
    /// Master seed: replicate seeds and analysis seeds derive from it.
    pub seed: u64,
    /// Significance levels; the first one decides the verdict and the power table.
    pub alphas: Vec<f64>,
    /// Rate above which a test is "not applicable here"; `None` = 1.6 × the first α.
    pub not_applicable_above: Option<f64>,
    /// The analysis run on each replicate (its seed is replaced per replicate). Keep it
    /// cheap: the default has no bootstrap.
    pub analysis: analysis::Options,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reps: 200,
            seed: 20_260_301,
            alphas: vec![0.05, 0.01],
            not_applicable_above: None,
            analysis: analysis::Options { bootstrap: 0, ..Default::default() },
        }
    }
}

impl Options {
    pub fn alpha(&self) -> f64 {
        self.alphas.first().copied().unwrap_or(0.05)
    }
    pub fn threshold(&self) -> f64 {
        self.not_applicable_above.unwrap_or(1.6 * self.alpha())
    }
    fn validate(&self) -> Result<()> {
        if self.reps == 0 {
            return Err(Error::usage("--reps: at least one replicate"));
        }
        if self.alphas.is_empty() || self.alphas.iter().any(|a| !(*a > 0.0 && *a < 1.0)) {
            return Err(Error::usage(format!("--alpha {:?}: each must be in (0, 1)", self.alphas)));
        }
        Ok(())
    }
}

/// Seed of replicate `r` under master seed `master` (the simulation's seed; the
/// analysis gets `splitmix64` of it).
pub fn replicate_seed(master: u64, r: usize) -> u64 {
    splitmix64(splitmix64(master ^ 0xCA1B_0000_0000_0000) ^ r as u64)
}

/// The three verdicts of the type-I table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "ok")]
    Ok,
    #[serde(rename = "conservative")]
    Conservative,
    #[serde(rename = "not applicable here")]
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Conservative => "conservative",
            Verdict::NotApplicable => "not applicable here",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rejections at one α.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rate {
    pub alpha: f64,
    pub rejections: usize,
    /// p-values counted (replicates × units where the test gave a p).
    pub n: usize,
    pub rate: f64,
    /// 95% Clopper–Pearson interval of the rate.
    pub lo: f64,
    pub hi: f64,
}

impl Rate {
    pub fn new(alpha: f64, rejections: usize, n: usize) -> Rate {
        let (lo, hi) = clopper_pearson(rejections, n, 0.05);
        Rate { alpha, rejections, n, rate: if n > 0 { rejections as f64 / n as f64 } else { f64::NAN }, lo, hi }
    }

    /// Standard error of the rate, `√(r̃(1 − r̃)/n)` with `r̃ = (rejections + 1)/(n + 2)`
    /// (so that 0 of 6 reads "0% ± 10", not "± 0"): the "± 1.6" of "5.5% ± 1.6". Pooled
    /// levels count every unit's p as one trial.
    pub fn se(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let r = (self.rejections as f64 + 1.0) / (self.n as f64 + 2.0);
        (r * (1.0 - r) / self.n as f64).sqrt()
    }
}

/// One row of the type-I table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeIRow {
    pub test: String,
    /// "nation", or a lower level pooled over its units ("region", "commission").
    pub level: String,
    /// Replicates in which the test gave at least one p-value.
    pub replicates: usize,
    /// One per α of [`Options::alphas`], in order.
    pub rates: Vec<Rate>,
    /// Verdict at the first α.
    pub verdict: Verdict,
    /// Mean p-value (0.5 for a valid continuous test).
    pub mean_p: f64,
}

impl TypeIRow {
    /// The measured type-I rate at the first α (the `calibrated_alpha` of a result).
    pub fn rate(&self) -> f64 {
        self.rates[0].rate
    }

    /// Puts the rate beside a result (its `calibrated_alpha` and `extra`, passed as fields:
    /// the callers look the row up by the result's own name): the rate, its standard error
    /// and the replicates it was measured on (both calibrations, full and inline).
    pub fn fill(&self, calibrated_alpha: &mut Option<f64>, extra: &mut std::collections::BTreeMap<String, f64>) {
        *calibrated_alpha = Some(self.rate());
        extra.insert("calibrated_alpha_se".into(), self.rates[0].se());
        extra.insert("calibration_replicates".into(), self.replicates as f64);
    }
}

/// A short description of the simulated elections.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// "preset national", "like FILE" …
    pub name: String,
    pub stations: usize,
    pub regions: usize,
    pub commissions: usize,
    pub candidates: usize,
    /// Median and 10/90% quantiles of registered voters in replicate 0.
    pub registered_p10_p50_p90: [f64; 3],
}

impl Setting {
    pub fn of(name: &str, cfg: &SimConfig) -> Result<Setting> {
        // Replicate 0's sizes describe the setting (sizes do not depend on fraud).
        let sim = simulate::simulate(&SimConfig { frauds: Vec::new(), ..cfg.clone() })?;
        let mut n: Vec<f64> = (0..sim.len()).map(|k| sim.row(k)[simulate::col::REGISTERED] as f64).collect();
        n.sort_by(f64::total_cmp);
        let q = |p| simulate::like::quantile_sorted(&n, p);
        Ok(Setting {
            name: name.to_string(),
            stations: cfg.stations,
            regions: cfg.regions,
            commissions: cfg.commissions(),
            candidates: cfg.candidates,
            registered_p10_p50_p90: [q(0.1), q(0.5), q(0.9)],
        })
    }
}

/// The type-I calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub setting: Setting,
    pub reps: usize,
    pub seed: u64,
    pub alphas: Vec<f64>,
    pub not_applicable_above: f64,
    /// Nation rows first, in the battery's order, then pooled lower levels.
    pub rows: Vec<TypeIRow>,
    /// Mean share of stations the ranking flags on clean data (target 0.05–0.2%).
    pub clean_flagged_share: f64,
    /// Share of clean replicates with at least one protocol violation (should be 0).
    pub clean_violation_rate: f64,
    pub seconds: f64,
}

impl Calibration {
    /// The row of `test` at `level` ("nation", "region", …).
    pub fn row(&self, test: &str, level: &str) -> Option<&TypeIRow> {
        self.rows.iter().find(|r| r.test == test && r.level == level)
    }

    /// Fills `calibrated_alpha` of every result whose test was calibrated at its level
    /// (national rows for "nation", pooled rows for "region:…" and so on), and adds a note
    /// to those measured "not applicable here". Returns how many were filled.
    pub fn apply(&self, results: &mut [TestResult]) -> usize {
        let index: HashMap<(&str, &str), &TypeIRow> =
            self.rows.iter().map(|r| ((r.test.as_str(), r.level.as_str()), r)).collect();
        let mut filled = 0;
        for res in results.iter_mut() {
            let level = level_of(&res.scope);
            if let Some(row) = index.get(&(res.test.as_str(), level)) {
                row.fill(&mut res.calibrated_alpha, &mut res.extra);
                if row.verdict == Verdict::NotApplicable {
                    res.notes.push(format!(
                        "not applicable here: rejects {:.1}% ± {:.1} of clean simulated elections shaped like this data at α = {} ({} replicates)",
                        100.0 * row.rate(),
                        100.0 * row.rates[0].se(),
                        row.rates[0].alpha,
                        row.replicates
                    ));
                }
                filled += 1;
            }
        }
        filled
    }
}

/// One row of a power table: a test's rejection rate under one fraud spec.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PowerRow {
    pub test: String,
    pub rate: Rate,
}

/// Mean, sd and minimum over replicates.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
}

impl Spread {
    fn of(v: &[f64]) -> Spread {
        let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Spread { mean: f64::NAN, sd: f64::NAN, min: f64::NAN };
        }
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        Spread { mean: m, sd, min: v.iter().copied().fold(f64::INFINITY, f64::min) }
    }
}

/// Power against one fraud spec.
#[derive(Debug, Clone, Serialize)]
pub struct Power {
    pub kind: String,
    pub spec: String,
    pub reps: usize,
    pub alpha: f64,
    /// Mean number of falsified stations per replicate.
    pub fraud_stations: f64,
    /// Every national test with a p-value, in the battery's order, then
    /// `checks.any_violation` (share of replicates with a broken control relation).
    pub tests: Vec<PowerRow>,
    /// ROC AUC of the station score against the truth.
    pub auc: Spread,
    /// Share of falsified stations among the top 1% by score.
    pub precision_top1: Spread,
}

impl Power {
    pub fn rate(&self, test: &str) -> Option<f64> {
        self.tests.iter().find(|r| r.test == test).map(|r| r.rate.rate)
    }
}

/// Everything `tallyscope calibrate` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub type_i: Calibration,
    /// Empty unless power was asked for.
    pub power: Vec<Power>,
    pub power_seconds: f64,
}

/// The verdict on a rate (see the module docs): not applicable when the point rate exceeds
/// `threshold` and the rejections are significantly more than α (one-sided binomial, 5%);
/// conservative when the whole 95% interval lies below α; ok otherwise. The same rule for
/// `tallyscope calibrate` and for the inline calibration of `analyze`.
pub fn verdict(r: &Rate, threshold: f64) -> Verdict {
    let above = crate::stats::digits::binom_sf_ge(r.rejections as u64, r.n as u64, r.alpha) < 0.05;
    if r.rate > threshold && above {
        Verdict::NotApplicable
    } else if r.hi < r.alpha {
        Verdict::Conservative
    } else {
        Verdict::Ok
    }
}

/// Power at least this is "sees this kind of fraud" in [`PowerSummary`].
pub const SEES_POWER: f64 = 0.5;

/// Which tests see which fraud (the report's table): per fraud spec, the national tests
/// whose null held on the clean replicates (verdict ok or conservative at α) and that
/// rejected in at least [`SEES_POWER`] of the fraud replicates, strongest first, with
/// the ranking's quality. Tests whose null failed are counted, not listed: their
/// "power" is their false-positive rate. Written by `calibrate --power --power-summary`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PowerSummary {
    /// What was simulated and how (the command line that produced it).
    pub source: String,
    pub alpha: f64,
    pub type_i_reps: usize,
    pub kinds: Vec<KindPower>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct KindPower {
    pub kind: String,
    pub spec: String,
    pub reps: usize,
    /// (test, power), power ≥ [`SEES_POWER`], strongest first (ties by name).
    pub sees: Vec<(String, f64)>,
    /// Tests rejecting as often here whose null did not hold on clean replicates.
    pub invalid_rejecting: usize,
    pub ranking_auc: f64,
    pub precision_top1: f64,
}

impl Report {
    pub fn power_summary(&self, source: &str) -> PowerSummary {
        let alpha = self.type_i.alphas.first().copied().unwrap_or(0.05);
        let valid = |test: &str| -> bool {
            match self.type_i.row(test, "nation") {
                Some(r) => r.verdict != Verdict::NotApplicable,
                // The protocol check: its type-I rate is the share of clean replicates
                // with a violation (chance identical protocols of tiny stations: ~1%).
                None => test == "checks.any_violation" && self.type_i.clean_violation_rate <= alpha,
            }
        };
        let kinds = self
            .power
            .iter()
            .map(|p| {
                // Rozenas' per-fraction rows ("rozenas.leader.1/2") are parts of rozenas.*.
                let rows: Vec<&PowerRow> = p.tests.iter().filter(|r| !r.test.contains('/') && r.rate.rate >= SEES_POWER).collect();
                let mut sees: Vec<(String, f64)> = rows.iter().filter(|r| valid(&r.test)).map(|r| (r.test.clone(), r.rate.rate)).collect();
                sees.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                KindPower {
                    kind: p.kind.clone(),
                    spec: p.spec.clone(),
                    reps: p.reps,
                    invalid_rejecting: rows.len() - sees.len(),
                    sees,
                    ranking_auc: p.auc.mean,
                    precision_top1: p.precision_top1.mean,
                }
            })
            .collect();
        PowerSummary { source: source.to_string(), alpha, type_i_reps: self.type_i.reps, kinds }
    }
}

/// "nation", or the level of a unit scope ("region:Region 01" → "region").
pub fn level_of(scope: &str) -> &str {
    match scope.split_once(':') {
        Some((l, _)) => l,
        None => scope,
    }
}

/// Two-sided `1 − conf` Clopper–Pearson interval of `x` successes in `n`.
pub fn clopper_pearson(x: usize, n: usize, conf: f64) -> (f64, f64) {
    use statrs::function::beta::inv_beta_reg;
    if n == 0 {
        return (0.0, 1.0);
    }
    let (xf, nf) = (x as f64, n as f64);
    let lo = if x == 0 { 0.0 } else { inv_beta_reg(xf, nf - xf + 1.0, conf / 2.0) };
    let hi = if x == n { 1.0 } else { inv_beta_reg(xf + 1.0, nf - xf, 1.0 - conf / 2.0) };
    (lo, hi)
}

/// What one replicate contributes.
#[derive(Debug, Clone)]
struct Rep {
    /// (test, level, p) for every result with a p-value.
    p: Vec<(String, String, f64)>,
    stations: usize,
    flagged: usize,
    violation: bool,
    fraud_stations: usize,
    auc: Option<f64>,
    precision: Option<f64>,
}

fn one(cfg: &SimConfig, r: usize, opt: &Options, frauds: &[FraudSpec]) -> Result<Rep> {
    let seed = replicate_seed(opt.seed, r);
    let c = SimConfig { seed, frauds: frauds.to_vec(), ..cfg.clone() };
    let sim = simulate::simulate(&c)?;
    let e: Election = sim.election();
    let aopt = analysis::Options { seed: splitmix64(seed), baseline_reps: 0, ..opt.analysis.clone() };
    let a = analysis::run_election(Arc::new(e), Default::default(), &aopt);
    let p = a
        .results
        .iter()
        .filter_map(|t| t.p.filter(|p| p.is_finite()).map(|p| (t.test.clone(), level_of(&t.scope).to_string(), p)))
        .collect();
    let n = a.stations_ranked.len();
    let truth: Vec<bool> = sim.truth.iter().map(|t| t.fraud.is_some()).collect();
    let fraud_stations = truth.iter().filter(|&&t| t).count();
    let (auc, precision) = if fraud_stations > 0 && fraud_stations < n && n == truth.len() {
        let score: Vec<f64> = a.stations_ranked.iter().map(|s| s.score).collect();
        let k = n.div_ceil(100).max(1);
        let top = &a.station_order;
        let hits = top[..k].iter().filter(|&&i| truth[a.stations_ranked[i].station.min(n - 1)]).count();
        (Some(rank::roc_auc(&score, &truth)), Some(hits as f64 / k as f64))
    } else {
        (None, None)
    };
    Ok(Rep {
        p,
        stations: n,
        flagged: a.stations_ranked.iter().filter(|s| s.flagged).count(),
        violation: a.check.stations_with_violations > 0,
        fraud_stations,
        auc,
        precision,
    })
}

/// Runs `reps` replicates in parallel, in replicate order.
fn replicates(
    cfg: &SimConfig,
    reps: usize,
    opt: &Options,
    frauds: &[FraudSpec],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Rep>> {
    (0..reps)
        .into_par_iter()
        .map(|r| {
            let out = one(cfg, r, opt, frauds);
            tick();
            out
        })
        .collect()
}

/// Tests in order of first appearance (replicate order, then result order).
fn first_seen<'a>(reps: &'a [Rep], level: Option<&str>) -> Vec<(&'a str, &'a str)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for rep in reps {
        for (t, l, _) in &rep.p {
            if level.is_none_or(|x| x == l) && seen.insert((t.as_str(), l.as_str())) {
                out.push((t.as_str(), l.as_str()));
            }
        }
    }
    out
}

/// The type-I calibration of `cfg` (its frauds are ignored). `tick` is called once per
/// replicate (for a progress bar).
pub fn type_one(name: &str, cfg: &SimConfig, opt: &Options, tick: &(dyn Fn() + Sync)) -> Result<Calibration> {
    opt.validate()?;
    let clean = SimConfig { frauds: Vec::new(), ..cfg.clone() };
    clean.validate()?;
    let t0 = std::time::Instant::now();
    let reps = replicates(&clean, opt.reps, opt, &[], tick)?;
    let mut keys = first_seen(&reps, Some("nation"));
    let mut lower: Vec<_> = first_seen(&reps, None).into_iter().filter(|(_, l)| *l != "nation").collect();
    lower.sort_by_key(|&(t, l)| (l != "region", l, t));
    keys.extend(lower);
    let mut idx: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        idx.insert(*k, i);
    }
    let na = opt.alphas.len();
    let mut rej = vec![vec![0usize; na]; keys.len()];
    let mut n = vec![0usize; keys.len()];
    let mut psum = vec![0.0; keys.len()];
    let mut in_rep = vec![0usize; keys.len()];
    for rep in &reps {
        let mut seen = vec![false; keys.len()];
        for (t, l, p) in &rep.p {
            let i = idx[&(t.as_str(), l.as_str())];
            n[i] += 1;
            psum[i] += p;
            seen[i] = true;
            for (a, &alpha) in opt.alphas.iter().enumerate() {
                if *p <= alpha {
                    rej[i][a] += 1;
                }
            }
        }
        for (c, s) in in_rep.iter_mut().zip(seen) {
            *c += s as usize;
        }
    }
    let thr = opt.threshold();
    let rows = keys
        .iter()
        .enumerate()
        .map(|(i, (t, l))| {
            let rates: Vec<Rate> = opt.alphas.iter().enumerate().map(|(a, &al)| Rate::new(al, rej[i][a], n[i])).collect();
            let r0 = &rates[0];
            let verdict = verdict(r0, thr);
            TypeIRow {
                test: t.to_string(),
                level: l.to_string(),
                replicates: in_rep[i],
                rates,
                verdict,
                mean_p: psum[i] / n[i].max(1) as f64,
            }
        })
        .collect();
    let flagged: f64 = reps.iter().map(|r| r.flagged as f64 / r.stations.max(1) as f64).sum::<f64>() / reps.len() as f64;
    let viol = reps.iter().filter(|r| r.violation).count() as f64 / reps.len() as f64;
    Ok(Calibration {
        setting: Setting::of(name, &clean)?,
        reps: opt.reps,
        seed: opt.seed,
        alphas: opt.alphas.clone(),
        not_applicable_above: thr,
        rows,
        clean_flagged_share: flagged,
        clean_violation_rate: viol,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Power of every national test and quality of the ranking against each spec, `reps`
/// replicates each (seeds as the clean replicates: common random numbers).
pub fn power(
    cfg: &SimConfig,
    specs: &[FraudSpec],
    reps: usize,
    opt: &Options,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Power>> {
    opt.validate()?;
    if reps == 0 {
        return Err(Error::usage("--power-reps: at least one replicate"));
    }
    let alpha = opt.alpha();
    let mut out = Vec::new();
    for spec in specs {
        let c = SimConfig { frauds: vec![spec.clone()], ..cfg.clone() };
        c.validate()?;
        let rs = replicates(&c, reps, opt, std::slice::from_ref(spec), tick)?;
        let keys = first_seen(&rs, Some("nation"));
        let mut tests: Vec<PowerRow> = keys
            .iter()
            .map(|&(t, _)| {
                let ps: Vec<f64> =
                    rs.iter().flat_map(|r| r.p.iter().filter(|(a, l, _)| a == t && l == "nation").map(|x| x.2)).collect();
                PowerRow { test: t.to_string(), rate: Rate::new(alpha, ps.iter().filter(|&&p| p <= alpha).count(), ps.len()) }
            })
            .collect();
        tests.push(PowerRow {
            test: "checks.any_violation".into(),
            rate: Rate::new(alpha, rs.iter().filter(|r| r.violation).count(), rs.len()),
        });
        let auc: Vec<f64> = rs.iter().filter_map(|r| r.auc).collect();
        let prec: Vec<f64> = rs.iter().filter_map(|r| r.precision).collect();
        out.push(Power {
            kind: spec.kind.name().to_string(),
            spec: spec.to_string(),
            reps,
            alpha,
            fraud_stations: rs.iter().map(|r| r.fraud_stations as f64).sum::<f64>() / rs.len() as f64,
            tests,
            auc: Spread::of(&auc),
            precision_top1: Spread::of(&prec),
        });
    }
    Ok(out)
}

/// Type I, then (with `power_reps > 0`) power against `specs`.
pub fn run(
    name: &str,
    cfg: &SimConfig,
    opt: &Options,
    specs: &[FraudSpec],
    power_reps: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Report> {
    let type_i = type_one(name, cfg, opt, tick)?;
    let t = std::time::Instant::now();
    let power = if power_reps > 0 && !specs.is_empty() { power(cfg, specs, power_reps, opt, tick)? } else { Vec::new() };
    Ok(Report { type_i, power, power_seconds: t.elapsed().as_secs_f64() })
}

/// Presets of `tallyscope calibrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The simulator's default model (median ~1,430 voters, 3.5% below 100).
    National,
    /// Stations of 100–900 voters (issue 7's setting, where digit nulls break).
    SmallStations,
    /// Stations of 1,500–5,000 voters.
    LargeStations,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::National, Preset::SmallStations, Preset::LargeStations];
    pub fn name(self) -> &'static str {
        match self {
            Preset::National => "national",
            Preset::SmallStations => "small-stations",
            Preset::LargeStations => "large-stations",
        }
    }
    pub fn from_name(s: &str) -> Option<Preset> {
        Preset::ALL.iter().copied().find(|p| p.name() == s)
    }
    /// Default stations per replicate.
    pub fn default_stations(self) -> usize {
        20_000
    }
    /// The clean config: `stations` stations, regions scaled (20 at 20,000; at least 2).
    pub fn config(self, stations: usize) -> SimConfig {
        let regions = (stations / 1000).clamp(2, 20).min(stations.max(1));
        let d = SimConfig { stations, regions, ..SimConfig::default() };
        use simulate::SizeComponent as S;
        match self {
            Preset::National => d,
            // log-uniform-ish on [100, 900]: median 300, wide log-sd, clamped.
            Preset::SmallStations => SimConfig {
                size: vec![S { weight: 1.0, median: 300.0, log_sd: 0.55 }],
                size_min: 100,
                size_max: 900,
                ..d
            },
            Preset::LargeStations => SimConfig {
                size: vec![S { weight: 1.0, median: 2700.0, log_sd: 0.35 }],
                size_min: 1500,
                size_max: 5000,
                ..d
            },
        }
    }
}

/// Fraud kinds in the order of [`FraudKind::ALL`] that `specs` covers (for table columns).
pub fn kinds(specs: &[FraudSpec]) -> Vec<FraudKind> {
    FraudKind::ALL.iter().copied().filter(|k| specs.iter().any(|s| s.kind == *k)).collect()
}
