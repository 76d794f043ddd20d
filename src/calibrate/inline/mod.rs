//! Calibration next to every p-value (issue 7; DESIGN.md §3 "Calibration before
//! conclusions"): while `analyze` runs its battery, simulate clean elections with the
//! file's **own** stations (registered voters, ballots in boxes, valid votes) and
//! hierarchy, recompute the p-values of every test that has a cheap replicate path, and
//! measure each test's type-I rate at α (default 0.05). A test whose rate exceeds the
//! threshold (default 0.08 = 1.6·α, as [`super::Options::threshold`]) is "not applicable
//! here": its null does not hold for data shaped like this file.
//!
//! Unlike `tallyscope calibrate` (the full battery on each replicate, about 0.6 s per
//! 100,000-station replicate), replicates here are **full size** but cheap: a clean model
//! fitted once, one pass over the stations per replicate, and only the test statistics
//! (the tallies, sums and p-value functions of the battery), not the battery itself.
//! Calibrating on small sub-elections would hide what matters: a digit test's bias from
//! stations of similar size grows with the number of stations.
//!
//! # The clean model (fitted once, [`Model`])
//!
//! Every station keeps its registered voters `N` (the turnout denominator), its ballots in
//! boxes `C` and valid votes `V` (the share denominators), its total of candidate votes,
//! and its place in the hierarchy (region = top level, commission = lowest level). Stations
//! abroad and electronic pseudo-stations are left out, as every test leaves them out.
//!
//! * **Expected turnout** of a station: its commission's ratio `ΣB/ΣN`; for a commission of
//!   fewer than [`MIN_COMMISSION`] stations, its region's (the nation's without regions).
//! * **Expected shares**, sequentially (the multinomial as conditional binomials, candidates
//!   in decreasing order of national votes, the leader first): candidate `j`'s share of the
//!   votes left after the candidates before it, `Σv_j / Σleft_j`, per commission with the
//!   same fallback.
//! * **Honest heterogeneity between stations** (without it every test rejects): on the logit
//!   scale, station values scatter around their commission's with a standard deviation
//!   `σ`, estimated robustly per quantity by [`crate::simulate::like::components`]
//!   ([`Estimator::Robust`]: scaled MAD of within-commission residuals of the empirical
//!   station logits, minus the mean binomial variance). Turnout from stations with
//!   `N ≥ 100`, each conditional share from stations with `≥ 50` votes left.
//!
//! Between-commission heterogeneity is taken as the file has it, honest or not: the
//! calibration asks whether a test's null holds *given* this file's sizes and commission
//! structure, i.e. whether it can tell station-level anomalies from what a clean election
//! with this structure does. A test of the national distribution's shape (the dip tests)
//! rejecting on such clean elections means its rejection on the file says nothing about
//! fraud.
//!
//! Per replicate and station: turnout `t = sigmoid(logit t_c + σ_T Z)`,
//! `B ~ Binomial(N, t)`; then for the candidates in order
//! `p = sigmoid(logit p_cj + σ_j Z)`, `v_j ~ Binomial(left, p)`, the last candidate taking
//! the remainder. Denominators (`N`, `C`, `V`) and the total of votes are the file's: the
//! tests' own nulls condition on them too. `B` stands for ballots issued (in boxes when the
//! file has no issued line), as in the battery.
//!
//! # The binomial sampler ([`binomial`])
//!
//! Exact inversion (sequential search of the cdf from 0, pmf by the ratio recursion) when
//! the mean of the smaller tail `n·min(p, 1 − p)` is below [`INVERSION_MEAN`]; otherwise a
//! normal draw through the second-order Cornish–Fisher expansion (skewness `γ = (1−2p)/σ`,
//! excess kurtosis `κ = (1 − 6pq)/σ²`), with Sheppard's correction (the continuous
//! variable's variance is `σ² − 1/12`, so that rounding to the nearest integer restores
//! `σ²`), rounded and clamped to `[0, n]`. On this path `σ² ≥ 8`; the total variation
//! distance to the exact binomial, computed numerically, is 7e-4 at mean 10, 3e-4 at mean
//! 15, 1e-4 at variances of 16 to 240, and the last-digit frequencies differ by at most
//! 2e-4 at mean 10 and 1.5e-5 above variance 24 (a 0.2-sd shift of one digit's share over
//! 100,000 counts: invisible to the tests). It costs one normal deviate; rand_distr's BTPE costs
//! several times more (measured in `benches/calibrate_inline.rs`). Mean, variance and a
//! chi-square goodness of fit are checked in `tests/calibrate_inline.rs`.
//!
//! # Tests replicated, with the battery's functions
//!
//! At national level and per region (pooled over regions: level `region`), exactly as
//! `stats::digits`, `stats::integer` and `stats::shape` compute them (the integer tests
//! also per commission, pooled at level `commission`, when the file has two levels or
//! more, as the battery runs them):
//!
//! * every digit test's default p, against the exact per-station binomial null
//!   (`digits::exact`: each replicate's stations get their own `ExactUnit`, the same
//!   functions [`digits::exact_chi2_p`] and [`digits::exact_linear_p`] as the battery):
//!   `digits.last.chi2.<candidate>`, `.pooled`, `digits.last.repeated`, `.adjacent`,
//!   `digits.last.mean`, `digits.last.05`, `digits.pct05.turnout`, `digits.pct05.share`,
//!   `digits.2bl.chi2.<candidate>`, `.pooled`, `digits._2BL`;
//! * the classical Benford p of `digits.2bl.chi2.<candidate>`/`.pooled` and of
//!   `digits._2BL` (`extra.p_benford`, descriptive in the battery): rows named
//!   `TEST#p_benford`, put beside it as `extra.calibrated_alpha_benford`;
//! * `integer.turnout`, `.leader`, `.either`, nationally also weighted by voters, ballots
//!   and leader votes, with the **exact** binomial null: each station's probability
//!   `P(Binomial(n, x/n) lands in an integer bin)` is [`integer::IntegerNull::probability`],
//!   the battery's own function, memoised per `(n, x)` across replicates (a pure function,
//!   so the cache does not depend on which thread fills it; stored as `f32`, relative error
//!   6e-8), because evaluating it afresh costs about 0.3 µs per station and ratio, 60 ms per
//!   replicate. p-values: a normal approximation with the Edgeworth skewness term decides
//!   replicates whose p is far from α (below α/3 or above 3·α: the approximation is used only
//!   where its error is a few percent of p, at variances above 25); the others get the battery's
//!   [`common::pb_sf`] / [`common::weighted_sf`], so every rejection is decided as the
//!   battery would decide it;
//! * `shape.turnout.dip`, `shape.leader_share.dip`: Hartigan's dip of the replicate's
//!   station values, p from [`shape::dip_pvalue_table`] (n ≥ 4000) or from the battery's
//!   simulated null ([`shape::dip_null_sample`], drawn once with the battery's seed).
//!
//! Not replicated: tests whose null is itself resampled from the data (Rozenas'
//! `rozenas.*`; the resampled 2BL p, now a descriptive column): each replicate would
//! need its own resampling. They get no `calibrated_alpha` and a note saying why; their
//! calibration on clean simulated elections is asserted in the test suite.
//!
//! # Verdicts
//!
//! Per (test, level): rejections `#{p ≤ α}`, p-values counted (replicates, times regions at
//! level `region` or commissions at level `commission`), rate, 95% Clopper–Pearson interval, verdict as
//! [`super::type_one`]: "not applicable here" when the **point** rate exceeds the threshold
//! (issue 7's rule; the interval is reported beside it: with 200 replicates a test whose
//! true rate is 0.05 lands above 0.08 by chance about 2% of the time) and the rejections
//! are significantly more than α (one-sided binomial at 5%, which matters with the few
//! dozen replicates of the default budget, [`auto_reps`]), "conservative" when
//! the whole interval lies below α, "ok" otherwise.
//!
//! # Cost (measured, `benches/calibrate_inline.rs`, tests/calibrate_inline.rs)
//!
//! Two kinds of replicate. The first [`DIGIT_REPS`] draw every candidate and compute the
//! digit tests with their exact per-station nulls (one binomial walk per station and
//! count, as the battery's): about 1.5 CPU-s each on Russia 2018 (97,299 stations
//! simulated, 8 candidates), ten times the rest. Every other replicate draws only the
//! ballots and the leader's votes ([`Model::draw_some`]: the integer and shape tests read
//! nothing else, and the leader is the first of the sequential draws, so its law is the
//! same), 36 ms of CPU on the same file (was 117 ms drawing every candidate and tallying
//! digits no test read; criterion, loaded machine: draws 16 ms against 105 ms). The default
//! replicate count is sized on that second kind ([`auto_reps`]): 200 on Russia 2018.
//! Memory: one digit tally per region plus the commission being tallied (was one per
//! commission per thread, 80 MB each on Russia).
//!
//! Issue 19's wall-time targets are **not** met: on a loaded 2-core machine (load 7–8),
//! `analyze` Russia 2018 with 200 replicates took 22–23 CPU-s against 8–8.7 CPU-s for the
//! 2026-11-29 build's 36, and 4.4–5.3 CPU-s without calibration against 2.8–3.0; the
//! difference is the exact digit nulls (in the battery and in the six digit replicates).
//! Peak memory is 247–266 MB (was 700 MB).
//!
//! # Determinism
//!
//! Replicate `r` draws from its own Xoshiro256++ stream seeded by
//! [`super::replicate_seed`]`(seed, r)`, stations in a fixed order; replicates run in parallel
//! (rayon) and are collected in order, so the numbers are the same for any thread count.

// The submodules take these with `use super::*`.
#[allow(unused_imports)]
use {
    super::{TypeIRow, Verdict, level_of, replicate_seed},
    crate::model::{Election, Role},
    crate::simulate::like::{Estimator, components},
    crate::stats::TestResult,
    crate::stats::common::{self, norm_sf},
    crate::stats::digits::{self, PairTally, round_pct},
    crate::stats::integer::{Bins, IntegerNull},
    crate::stats::shape,
    rand::rngs::Xoshiro256PlusPlus,
    rand::{Rng, RngExt, SeedableRng},
    rand_distr::{Distribution, StandardNormal},
    rayon::prelude::*,
    serde::Serialize,
    std::collections::HashMap,
    std::sync::atomic::{AtomicU32, Ordering},
};

mod model;
mod replicate;
mod sampler;

pub use model::*;
use replicate::*;
pub use sampler::*;

/// A commission with fewer stations takes its region's expected turnout and shares.
pub const MIN_COMMISSION: usize = 5;
/// The exact per-station digit nulls cost about 0.85 CPU-s per replicate of 100,000
/// stations (each station's digit probabilities and covariance, per candidate), ten times
/// the rest of a replicate: they are replicated on the first `DIGIT_REPS` replicates
/// only. Six replicates tell a grossly invalid null (a rate of 0.5 gives 3 of 6
/// rejections, p = 0.002 against α = 0.05) from a valid one, not 8% from 5%; the
/// calibration test suite measures the fine rates on simulated elections.
pub const DIGIT_REPS: usize = 6;

/// The dip tests (a sort and Hartigan's algorithm on every station's value, about 5 ms
/// per replicate and variable at 100,000 stations) run on every `DIP_EVERY`-th replicate.
pub const DIP_EVERY: usize = 5;
/// Below this mean of the smaller tail the binomial sampler inverts the cdf exactly.
pub const INVERSION_MEAN: f64 = 16.0;

/// `1/k` for the inversion's pmf recursion (a multiplication instead of a division).
static RECIPROCAL: [f64; 64] = {
    let mut t = [0.0; 64];
    let mut k = 1;
    while k < 64 {
        t[k] = 1.0 / k as f64;
        k += 1;
    }
    t
};

/// Settings of the inline calibration.
#[derive(Debug, Clone, Serialize)]
pub struct InlineOptions {
    /// Replicates (clean elections of the file's full size).
    pub reps: usize,
    pub seed: u64,
    /// Level at which a rejection is counted.
    pub alpha: f64,
    /// Rate above which a test is "not applicable here".
    pub threshold: f64,
    /// Every replicate draws every candidate, as before the replicates without digit tests
    /// drew only ballots and the leader (the same law for what they read; kept so the tests
    /// can hold the fast path against it). Off by default.
    #[serde(skip)]
    pub full_draws: bool,
    /// The exact digit null's station model, as the battery's ([`digits::DigitNull`]).
    pub digit_null: digits::DigitNull,
    /// Replicates that run the digit tests (the first ones; [`DIGIT_REPS`] by default,
    /// at most `reps`): the tests raise it to measure the digit tests' fine rates.
    pub digit_reps: usize,
}

/// Work budget of the default calibration, in station-draws (stations × 4 per replicate:
/// a replicate without digit tests draws ballots and the leader's votes and reads the
/// integer memo twice per station; the [`DIGIT_REPS`] digit replicates are a fixed cost on
/// top): 200 replicates of Russia 2018's 97,299 stations fit (36 ms of CPU per replicate
/// measured on the 2-core development machine, 3.6 s of wall for 200 on 2 cores).
pub const AUTO_BUDGET: f64 = 8.0e7;
/// Wall time of [`AUTO_BUDGET`] on the 2-core machine it was measured on.
pub const AUTO_SECONDS: f64 = 3.6;
/// Fewest replicates the default runs; below, the file is too large for the default
/// budget and calibration is skipped with a note (`--calibration-reps R` runs it).
pub const AUTO_MIN_REPS: usize = 30;
/// Most replicates the default runs (small files): a true rate of 5% is then measured
/// ± 1.5 points.
pub const AUTO_MAX_REPS: usize = 200;

/// The default replicate count for `e`: as many as [`AUTO_BUDGET`] allows, at most
/// [`AUTO_MAX_REPS`]; when fewer than [`AUTO_MIN_REPS`] fit, why the calibration is
/// skipped. A function of the file alone, so the figures are reproducible with the seed
/// on any machine.
pub fn auto_reps(e: &Election) -> std::result::Result<usize, String> {
    let work = e.len().max(1) as f64 * 4.0;
    let r = ((AUTO_BUDGET / work).floor() as usize).min(AUTO_MAX_REPS);
    if r >= AUTO_MIN_REPS {
        return Ok(r);
    }
    Err(format!(
        "{} stations exceed the default budget ({AUTO_MIN_REPS} replicates would take over {:.0} s)",
        e.len(),
        AUTO_SECONDS * AUTO_MIN_REPS as f64 * work / AUTO_BUDGET
    ))
}

impl Default for InlineOptions {
    fn default() -> Self {
        InlineOptions { reps: 200, seed: 20_260_301, alpha: 0.05, threshold: 0.08, full_draws: false, digit_null: digits::DigitNull::default(), digit_reps: DIGIT_REPS }
    }
}

/// What the clean model took from the file (for the report).
#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    /// Stations simulated (not abroad, not electronic).
    pub stations: usize,
    pub regions: usize,
    pub commissions: usize,
    /// Commissions below [`MIN_COMMISSION`] stations, given their region's expectations.
    pub small_commissions: usize,
    /// Station-level logit sd of turnout (`None` without registered voters or ballots).
    pub turnout_sd: Option<f64>,
    /// Candidates in the order of the sequential draws, with the station-level logit sd of
    /// each one's share of the votes left (the last one takes the remainder: no sd).
    pub share_sd: Vec<(String, Option<f64>)>,
}

/// The result: one row per (test, level), and what was not replicated.
#[derive(Debug, Clone, Serialize)]
pub struct InlineCalibration {
    pub reps: usize,
    pub seed: u64,
    pub alpha: f64,
    pub threshold: f64,
    pub model: ModelSummary,
    /// Nation rows first (the battery's order), then the region rows.
    pub rows: Vec<TypeIRow>,
    /// (test or family, why it has no inline calibration).
    pub not_replicated: Vec<(String, String)>,
    /// Integer null probabilities evaluated (the rest came from the memo). Not serialised:
    /// two threads may both fill the same entry, so the count varies from run to run.
    #[serde(skip)]
    pub integer_evaluations: usize,
    /// Wall time (not serialised: summary.json stays byte-identical across runs; the
    /// time is in its `timings_seconds.calibration`).
    #[serde(skip)]
    pub seconds: f64,
}

/// Why resampled-null tests are not replicated inline.
pub const RESAMPLED_NOTE: &str = "no inline calibration: its null is resampled from the data itself (each replicate would need its own resampling); its type-I rate on clean simulated elections is asserted in the test suite";

fn resampled_null(test: &str) -> bool {
    test.starts_with("rozenas.")
}

impl InlineCalibration {
    pub fn rows(&self) -> &[TypeIRow] {
        &self.rows
    }

    /// The row of `test` at `level` ("nation", "region", "commission").
    pub fn row(&self, test: &str, level: &str) -> Option<&TypeIRow> {
        self.rows.iter().find(|r| r.test == test && r.level == level)
    }

    /// Whether `test` at `level` rejects more than the threshold of clean elections shaped
    /// like the file.
    pub fn not_applicable(&self, test: &str, level: &str) -> bool {
        self.row(test, level).is_some_and(|r| r.verdict == Verdict::NotApplicable)
    }

    /// Fills `calibrated_alpha` of every result whose test was replicated at its level,
    /// notes "not applicable here" where the rate exceeds the threshold, puts the
    /// classical Benford p's rate in `extra.calibrated_alpha_benford`, and notes why
    /// resampled-null tests have none. Returns how many `calibrated_alpha` were filled.
    pub fn apply(&self, results: &mut [TestResult]) -> usize {
        let index: HashMap<(&str, &str), &TypeIRow> =
            self.rows.iter().map(|r| ((r.test.as_str(), r.level.as_str()), r)).collect();
        let mut filled = 0;
        for res in results.iter_mut() {
            let level = level_of(&res.scope).to_string();
            if let Some(row) = index.get(&(res.test.as_str(), level.as_str())) {
                row.fill(&mut res.calibrated_alpha, &mut res.extra);
                // The verdict, for readers of the result alone (the report): 1 = not
                // applicable here, 0 = applicable.
                res.extra.insert("not_applicable".into(), (row.verdict == Verdict::NotApplicable) as u8 as f64);
                if row.verdict == Verdict::NotApplicable {
                    res.notes.push(na_note(row, self.alpha, ""));
                }
                filled += 1;
            }
            let benford = format!("{}#p_benford", res.test);
            if let Some(row) = index.get(&(benford.as_str(), level.as_str())) {
                res.extra.insert("calibrated_alpha_benford".into(), row.rate());
                if row.verdict == Verdict::NotApplicable {
                    res.notes.push(na_note(row, self.alpha, "classical Benford p (p_benford) "));
                }
            }
            if res.p.is_some() && res.calibrated_alpha.is_none() && resampled_null(&res.test) {
                res.notes.push(RESAMPLED_NOTE.into());
            }
        }
        filled
    }
}

fn na_note(row: &TypeIRow, alpha: f64, what: &str) -> String {
    let r = &row.rates[0];
    format!(
        "{what}not applicable here: rejects {:.1}% (95% CI {:.1}–{:.1}%) of clean elections simulated with this file's stations at α = {alpha} ({} replicates)",
        100.0 * r.rate,
        100.0 * r.lo,
        100.0 * r.hi,
        row.replicates
    )
}


/// Runs the inline calibration of `e` (independent of the battery: it can run beside it).
/// `leader`: the candidate the battery's focus tests use (`None` = most votes).
pub fn run(e: &Election, leader: Option<usize>, opt: &InlineOptions) -> InlineCalibration {
    let t0 = std::time::Instant::now();
    let not_replicated = vec![
        ("rozenas.*".to_string(), RESAMPLED_NOTE.to_string()),
    ];
    let empty = |model: ModelSummary| InlineCalibration {
        reps: opt.reps,
        seed: opt.seed,
        alpha: opt.alpha,
        threshold: opt.threshold,
        model,
        rows: Vec::new(),
        not_replicated: not_replicated.clone(),
        integer_evaluations: 0,
        seconds: t0.elapsed().as_secs_f64(),
    };
    let Some(m) = Model::fit(e, leader) else {
        return empty(ModelSummary {
            stations: 0,
            regions: 0,
            commissions: 0,
            small_commissions: 0,
            turnout_sd: None,
            share_sd: Vec::new(),
        });
    };
    if opt.reps == 0 {
        return empty(m.summary.clone());
    }
    let regions = if e.levels.is_empty() { 0 } else { m.n_regions };
    let mut keys = Keys::new();
    let nation = level_keys(&mut keys, &e.candidates, "nation");
    let region = (regions > 0).then(|| level_keys(&mut keys, &e.candidates, "region"));
    // The battery runs the integer tests per commission (the lowest level) when the file
    // has two levels or more; so does the calibration, with the same exact null per unit.
    let commission = (e.levels.len() >= 2).then(|| level_keys(&mut keys, &e.candidates, "commission"));
    let commissions = if commission.is_some() { e.levels[e.levels.len() - 1].n_units() } else { 0 };
    let mut comm_region = vec![0u32; commissions];
    if commission.is_some() {
        for s in 0..m.stations.len() {
            comm_region[m.comm[s] as usize] = m.region[s];
        }
    }
    let n_scopes = if commission.is_some() { commissions } else { regions.max(1) };
    let mut by_scope: Vec<Vec<u32>> = vec![Vec::new(); n_scopes];
    for s in 0..m.stations.len() {
        let scope = if commission.is_some() {
            m.comm[s] as usize
        } else if regions > 0 {
            m.region[s] as usize
        } else {
            0
        };
        by_scope[scope].push(s as u32);
    }
    let memo = m.has_integer.then(|| {
        Memo::new((0..m.stations.len()).flat_map(|s| {
            let (a, b) = m.window(s, 0);
            let (c, d) = m.window(s, 1);
            [(m.reg[s], a, b), (m.boxes_int[s], c, d.min(m.boxes_int[s]))]
        }))
    });
    let benford = digits::benford_second();
    let bm: f64 = benford.iter().enumerate().map(|(d, q)| d as f64 * q).sum();
    let bv: f64 = benford.iter().enumerate().map(|(d, q)| (d as f64 - bm).powi(2) * q).sum();
    let (scope_region, scope_regions) = if commission.is_some() { (comm_region.clone(), regions.max(1)) } else { (vec![0; n_scopes], 1) };
    let cx = Ctx {
        m: &m,
        memo,
        bins: Bins::new(0.05, 1),
        second: SecondDigit::new(),
        nation,
        region,
        regions,
        commission,
        commissions,
        comm_region,
        by_scope,
        benford,
        benford_mean: bm,
        benford_var: bv,
        dip_null: Default::default(),
        alpha: opt.alpha,
        full_draws: opt.full_draws,
        digit_null: opt.digit_null,
        digit_reps: opt.digit_reps,
        scope_region,
        scope_regions,
    };
    let reps: Vec<Vec<(u32, f64)>> = (0..opt.reps)
        .into_par_iter()
        .map_init(Work::new, |w, r| cx.replicate(r, opt.seed, w))
        .collect();
    // Aggregate in replicate order.
    let nk = keys.names.len();
    let (mut rej, mut n, mut psum, mut in_rep) = (vec![0usize; nk], vec![0usize; nk], vec![0.0; nk], vec![0usize; nk]);
    for rep in &reps {
        let mut seen = vec![false; nk];
        for &(key, p) in rep {
            let i = key as usize;
            if !p.is_finite() {
                continue;
            }
            n[i] += 1;
            psum[i] += p;
            seen[i] = true;
            if p <= opt.alpha {
                rej[i] += 1;
            }
        }
        for (c, s) in in_rep.iter_mut().zip(seen) {
            *c += s as usize;
        }
    }
    let rows = (0..nk)
        .filter(|&i| n[i] > 0)
        .map(|i| {
            let rate = super::Rate::new(opt.alpha, rej[i], n[i]);
            let verdict = super::verdict(&rate, opt.threshold);
            TypeIRow {
                test: keys.names[i].0.clone(),
                level: keys.names[i].1.to_string(),
                replicates: in_rep[i],
                rates: vec![rate],
                verdict,
                mean_p: psum[i] / n[i] as f64,
            }
        })
        .collect();
    let integer_evaluations = cx.memo.as_ref().map_or(0, |mm| mm.evaluations.load(Ordering::Relaxed));
    InlineCalibration {
        reps: opt.reps,
        seed: opt.seed,
        alpha: opt.alpha,
        threshold: opt.threshold,
        model: m.summary.clone(),
        rows,
        not_replicated,
        integer_evaluations,
        seconds: t0.elapsed().as_secs_f64(),
    }
}
