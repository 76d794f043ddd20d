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

use super::{TypeIRow, Verdict, level_of, replicate_seed};
use crate::model::{Election, Role};
use crate::simulate::like::{Estimator, components};
use crate::stats::TestResult;
use crate::stats::common::{self, norm_sf};
use crate::stats::digits::{self, PairTally, round_pct};
use crate::stats::integer::{Bins, IntegerNull};
use crate::stats::shape;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

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
        InlineOptions { reps: 200, seed: 20_260_301, alpha: 0.05, threshold: 0.08, full_draws: false }
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

// ---------------------------------------------------------------------------------------
// The fast binomial sampler

/// Standard normal deviate (rand_distr's ziggurat).
#[inline]
fn normal<R: Rng>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// `Binomial(n, p)` (see the module docs): exact inversion for a small mean, a
/// Cornish–Fisher-corrected normal otherwise. `p` outside (0, 1) or NaN gives 0 or `n`.
#[inline]
pub fn binomial<R: Rng>(rng: &mut R, n: u32, p: f64) -> u32 {
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    let nf = n as f64;
    let mean = nf * p;
    if mean < INVERSION_MEAN {
        // cdf inversion from 0; pmf(0) = q^n ≥ 2^{-2·16}·… here, no underflow.
        let q = 1.0 - p;
        let r = p / q;
        let mut f = if n <= i32::MAX as u32 { q.powi(n as i32) } else { (nf * (-p).ln_1p()).exp() };
        let mut u: f64 = rng.random::<f64>();
        let mut k = 0u32;
        while u >= f {
            u -= f;
            if k >= n {
                return n; // round-off at the very end of the cdf
            }
            let inv = if ((k + 1) as usize) < RECIPROCAL.len() { RECIPROCAL[(k + 1) as usize] } else { 1.0 / (k + 1) as f64 };
            f *= r * (n - k) as f64 * inv;
            k += 1;
            if f <= 0.0 {
                break;
            }
        }
        return k;
    }
    let q = 1.0 - p;
    let var = mean * q;
    let sd = var.sqrt();
    let g = (1.0 - 2.0 * p) / sd; // skewness
    let ku = (1.0 - 6.0 * p * q) / var; // excess kurtosis
    let z = normal(rng);
    let z2 = z * z;
    let w = z + g / 6.0 * (z2 - 1.0) + ku / 24.0 * (z2 * z - 3.0 * z) - g * g / 36.0 * (2.0 * z2 * z - 5.0 * z);
    // clamped first, then truncated: floor for a non-negative value (no libm call)
    (mean + (var - 1.0 / 12.0).sqrt() * w + 0.5).clamp(0.0, nf) as u32
}

/// `Binomial(n, p)` with `logit p ~ Normal(l, sd)`: exactly (a logit-normal draw, then
/// [`binomial`]) when the mean of the smaller tail is below [`INVERSION_MEAN`]; otherwise
/// one normal draw with the mixture's variance `n p̄q̄ + n(n−1)(p̄q̄·sd)²` (delta method,
/// `p̄ = sigmoid(l)`), the binomial part's skewness (Cornish–Fisher) and Sheppard's
/// correction. Large counts' digits and the tests on them depend on this distribution only
/// through its smoothness and spread.
#[inline]
pub fn overdispersed<R: Rng>(rng: &mut R, n: u32, l: f64, sd: f64) -> u32 {
    let p = sigmoid(l);
    let nf = n as f64;
    let q = 1.0 - p;
    if nf * p.min(q) < INVERSION_MEAN {
        let pp = sigmoid(l + sd * normal(rng));
        return binomial(rng, n, pp);
    }
    let vb = nf * p * q;
    let vo = nf * (nf - 1.0) * (p * q * sd).powi(2);
    let var = vb + vo;
    let g = (1.0 - 2.0 * p) * vb / (var * var.sqrt());
    let z = normal(rng);
    let w = z + g / 6.0 * (z * z - 1.0);
    (nf * p + (var - 1.0 / 12.0).sqrt() * w + 0.5).clamp(0.0, nf) as u32
}

#[inline]
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[inline]
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Empirical logit and its binomial variance (as `simulate::like`).
#[inline]
fn elogit(x: u64, n: u64) -> (f64, f64) {
    let p = (x as f64 + 0.5) / (n as f64 + 1.0);
    (logit(p), 1.0 / ((n as f64 + 1.0) * p * (1.0 - p)))
}

// ---------------------------------------------------------------------------------------
// The model

/// The clean model of one file (see the module docs).
#[derive(Debug, Clone)]
pub struct Model {
    /// Simulated stations (indices into the election), in order of registered voters then
    /// ballots in boxes (then file order).
    pub stations: Vec<usize>,
    /// Per simulated station: region (0 without hierarchy) and commission.
    region: Vec<u32>,
    comm: Vec<u32>,
    n_regions: usize,
    /// Registered voters (0 when absent), ballots in boxes (integer test's share
    /// denominator), shape's box count, valid votes (share denominator), total of votes.
    reg: Vec<u32>,
    boxes_int: Vec<u32>,
    boxes_shape: Vec<u64>,
    valid: Vec<u64>,
    total: Vec<u32>,
    has_turnout: bool,
    has_integer: bool,
    /// Commission logits of turnout and of the conditional shares (`[c * (k−1) + j]`).
    lt: Vec<f64>,
    ls: Vec<f64>,
    sd_t: f64,
    sd_s: Vec<f64>,
    /// Draw order of the candidates (decreasing national votes).
    order: Vec<usize>,
    k: usize,
    leader: usize,
    summary: ModelSummary,
}

/// Expected ratio per commission with the region (then nation) fallback, as logits.
fn commission_logits(num: &[f64], den: &[f64], cnt: &[usize], comm_region: &[u32], n_regions: usize) -> (Vec<f64>, usize) {
    let mut rn = vec![0.0; n_regions];
    let mut rd = vec![0.0; n_regions];
    for c in 0..num.len() {
        rn[comm_region[c] as usize] += num[c];
        rd[comm_region[c] as usize] += den[c];
    }
    let (tn, td): (f64, f64) = (rn.iter().sum(), rd.iter().sum());
    let clamp = |x: f64| x.clamp(1e-6, 1.0 - 1e-6);
    let nat = if td > 0.0 { clamp(tn / td) } else { 0.5 };
    let mut small = 0;
    let l = (0..num.len())
        .map(|c| {
            let r = comm_region[c] as usize;
            let p = if cnt[c] >= MIN_COMMISSION && den[c] > 0.0 {
                clamp(num[c] / den[c])
            } else {
                small += 1;
                if rd[r] > 0.0 { clamp(rn[r] / rd[r]) } else { nat }
            };
            logit(p)
        })
        .collect();
    (l, small)
}

/// Robust station-level logit sd of `(x, n)` pairs per commission (`n ≥ min_n`).
fn station_sd(pairs: &[(u64, u64, u32)], min_n: u64, comm_region: &[u32], n_regions: usize) -> Option<f64> {
    let (mut y, mut w, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for &(x, n, cm) in pairs {
        if n >= min_n {
            let (a, b) = elogit(x.min(n), n);
            y.push(a);
            w.push(b);
            c.push(cm as usize);
        }
    }
    if y.len() < 10 {
        return None;
    }
    let cr: Vec<usize> = comm_region.iter().map(|&r| r as usize).collect();
    Some(components(&y, &w, &c, &cr, n_regions, Estimator::Robust).sd_robust[2])
}

impl Model {
    /// Fits the model to `e` (leader: candidate index; `None` = most votes).
    pub fn fit(e: &Election, leader: Option<usize>) -> Option<Model> {
        let k = e.votes.len();
        if k == 0 || e.is_empty() {
            return None;
        }
        let leader = leader.filter(|&j| j < k).or_else(|| e.leader())?;
        let special = e.special.len() == e.len();
        let mut stations: Vec<usize> = (0..e.len()).filter(|&i| !special || e.special[i].is_none()).collect();
        // Simulated in order of (registered voters, ballots in boxes): the integer null's memo
        // is read per denominator, so neighbours share its cache lines. Ties by the station's
        // unit labels and id, then file order: the same protocols in another row order get
        // the same draws (the props test shuffles rows).
        let reg = e.get(Role::Registered);
        let boxes = e.get(Role::InBoxes);
        let labels = |i: usize| -> Vec<&str> { e.levels.iter().map(|l| l.labels[l.code[i] as usize].as_str()).collect() };
        stations.sort_by(|&a, &b| {
            (reg.map_or(0, |r| r[a]), boxes.map_or(0, |c| c[a]))
                .cmp(&(reg.map_or(0, |r| r[b]), boxes.map_or(0, |c| c[b])))
                .then_with(|| labels(a).cmp(&labels(b)))
                .then_with(|| e.station[a].cmp(&e.station[b]))
                .then(a.cmp(&b))
        });
        if stations.is_empty() {
            return None;
        }
        // Hierarchy.
        let (region_full, comm_full): (Vec<u32>, Vec<u32>) = match e.levels.len() {
            0 => (vec![0; e.len()], (0..e.len()).map(|i| (i / 40) as u32).collect()),
            1 => (e.levels[0].code.clone(), e.levels[0].code.clone()),
            n => (e.levels[0].code.clone(), e.levels[n - 1].code.clone()),
        };
        let n_regions = if e.levels.is_empty() { 1 } else { e.levels[0].n_units() };
        let n_comm = comm_full.iter().map(|&c| c as usize + 1).max().unwrap_or(1);
        let mut comm_region = vec![0u32; n_comm];
        let mut cnt = vec![0usize; n_comm];
        for &i in &stations {
            comm_region[comm_full[i] as usize] = region_full[i];
            cnt[comm_full[i] as usize] += 1;
        }
        let region: Vec<u32> = stations.iter().map(|&i| region_full[i]).collect();
        let comm: Vec<u32> = stations.iter().map(|&i| comm_full[i]).collect();
        // Denominators.
        let reg_col = e.get(Role::Registered);
        let num_col = e.get(Role::Issued).or(e.get(Role::InBoxes));
        let has_turnout = reg_col.is_some() && num_col.is_some();
        let reg: Vec<u32> = stations.iter().map(|&i| reg_col.map_or(0, |r| r[i])).collect();
        let sums = e.vote_sums();
        let valid_all = e.valid_or_sum();
        let boxes_int_col: Option<Vec<u32>> = match e.get(Role::InBoxes) {
            Some(c) => Some(c.to_vec()),
            None => match (e.get(Role::Valid), e.get(Role::Invalid)) {
                (Some(v), Some(i)) => Some(v.iter().zip(i).map(|(&a, &b)| a.saturating_add(b)).collect()),
                _ => None,
            },
        };
        let has_integer = has_turnout && boxes_int_col.is_some();
        let boxes_int: Vec<u32> = stations.iter().map(|&i| boxes_int_col.as_ref().map_or(0, |c| c[i])).collect();
        let boxes_shape: Vec<u64> = stations
            .iter()
            .map(|&i| e.get(Role::InBoxes).map_or(sums[i], |c| c[i] as u64))
            .collect();
        let valid: Vec<u64> = stations.iter().map(|&i| valid_all[i]).collect();
        let total: Vec<u32> = stations.iter().map(|&i| sums[i].min(u32::MAX as u64) as u32).collect();
        let mut small_commissions = 0;
        // Turnout.
        let (lt, sd_t) = if has_turnout {
            let b = num_col.unwrap();
            let (mut num, mut den) = (vec![0.0; n_comm], vec![0.0; n_comm]);
            let mut pairs = Vec::with_capacity(stations.len());
            for (s, &i) in stations.iter().enumerate() {
                if reg[s] > 0 {
                    let x = b[i].min(reg[s]);
                    num[comm[s] as usize] += x as f64;
                    den[comm[s] as usize] += reg[s] as f64;
                    pairs.push((x as u64, reg[s] as u64, comm[s]));
                }
            }
            let (l, small) = commission_logits(&num, &den, &cnt, &comm_region, n_regions);
            small_commissions = small;
            (l, station_sd(&pairs, 100, &comm_region, n_regions).unwrap_or(0.0))
        } else {
            (vec![0.0; n_comm], 0.0)
        };
        // Shares, sequentially.
        let totals = e.candidate_totals();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| totals[b].cmp(&totals[a]).then(a.cmp(&b)));
        if let Some(pos) = order.iter().position(|&j| j == leader) {
            order.remove(pos);
            order.insert(0, leader);
        }
        let kk = k.saturating_sub(1);
        let mut ls = vec![0.0; n_comm * kk];
        let mut sd_s = vec![0.0; kk];
        let mut left: Vec<u64> = total.iter().map(|&t| t as u64).collect();
        let mut share_sd = Vec::with_capacity(k);
        for (jj, &j) in order.iter().enumerate().take(kk) {
            let (mut num, mut den) = (vec![0.0; n_comm], vec![0.0; n_comm]);
            let mut pairs = Vec::with_capacity(stations.len());
            for (s, &i) in stations.iter().enumerate() {
                let v = (e.votes[j][i] as u64).min(left[s]);
                num[comm[s] as usize] += v as f64;
                den[comm[s] as usize] += left[s] as f64;
                pairs.push((v, left[s], comm[s]));
                left[s] -= v;
            }
            let (l, _) = commission_logits(&num, &den, &cnt, &comm_region, n_regions);
            for c in 0..n_comm {
                ls[c * kk + jj] = l[c];
            }
            let sd = station_sd(&pairs, 50, &comm_region, n_regions);
            sd_s[jj] = sd.unwrap_or(0.0);
            share_sd.push((e.candidates[j].clone(), sd));
        }
        if let Some(&last) = order.last() {
            share_sd.push((e.candidates[last].clone(), None));
        }
        let summary = ModelSummary {
            stations: stations.len(),
            regions: n_regions,
            commissions: cnt.iter().filter(|&&c| c > 0).count(),
            small_commissions: small_commissions.min(cnt.iter().filter(|&&c| c > 0 && c < MIN_COMMISSION).count()),
            turnout_sd: has_turnout.then_some(sd_t),
            share_sd,
        };
        Some(Model {
            stations,
            region,
            comm,
            n_regions,
            reg,
            boxes_int,
            boxes_shape,
            valid,
            total,
            has_turnout,
            has_integer,
            lt,
            ls,
            sd_t,
            sd_s,
            order,
            k,
            leader,
            summary,
        })
    }

    pub fn summary(&self) -> &ModelSummary {
        &self.summary
    }

    /// Draws one replicate's ballots (turnout numerator) and votes (`votes[s * k + j]`, file
    /// order of candidates) for every simulated station.
    pub fn draw<R: Rng>(&self, rng: &mut R, ballots: &mut Vec<u32>, votes: &mut Vec<u32>) {
        self.draw_some(rng, ballots, votes, true)
    }

    /// As [`Model::draw`]; with `all = false` only the ballots and the leader's votes (the
    /// first of the sequential draws), the others' left at 0: all that the replicates
    /// without digit tests read (the integer and shape tests), at two draws per station
    /// instead of one per candidate.
    pub fn draw_some<R: Rng>(&self, rng: &mut R, ballots: &mut Vec<u32>, votes: &mut Vec<u32>, all: bool) {
        let k = self.k;
        let kk = k.saturating_sub(1);
        let drawn = if all { kk } else { kk.min(1) };
        ballots.clear();
        votes.clear();
        votes.resize(self.stations.len() * k, 0);
        for s in 0..self.stations.len() {
            let c = self.comm[s] as usize;
            let n = self.reg[s];
            let b = if self.has_turnout && n > 0 {
                let t = sigmoid(self.lt[c] + self.sd_t * normal(rng));
                binomial(rng, n, t)
            } else {
                0
            };
            ballots.push(b);
            let row = &mut votes[s * k..(s + 1) * k];
            let mut left = self.total[s];
            for jj in 0..drawn {
                let l = self.ls[c * kk + jj];
                let sd = self.sd_s[jj];
                let x = if left == 0 {
                    0
                } else if jj == 0 || sd == 0.0 {
                    // the leader (the focus of the share tests): logit-normal, then binomial
                    let p = if sd > 0.0 { sigmoid(l + sd * normal(rng)) } else { sigmoid(l) };
                    binomial(rng, left, p)
                } else {
                    overdispersed(rng, left, l, sd)
                };
                row[self.order[jj]] = x;
                left -= x;
            }
            if drawn == kk {
                row[self.order[kk]] = left;
            }
        }
    }

    /// The window of numerators a station can draw (for the integer memo): turnout for
    /// `which = 0`, leader votes for `which = 1`.
    fn window(&self, s: usize, which: usize) -> (u32, u32) {
        let c = self.comm[s] as usize;
        let (n, l, sd) = if which == 0 {
            (self.reg[s], self.lt[c], self.sd_t)
        } else if self.k <= 1 {
            // one candidate: every vote is the leader's
            return (self.total[s], self.total[s]);
        } else {
            (self.total[s], self.ls[c * self.k.saturating_sub(1)], self.sd_s.first().copied().unwrap_or(0.0))
        };
        let (lo, hi) = (sigmoid(l - 5.0 * sd), sigmoid(l + 5.0 * sd));
        let spread = 6.0 * (n as f64 / 4.0).sqrt() + 2.0;
        let a = (n as f64 * lo - spread).floor().max(0.0) as u32;
        let b = (n as f64 * hi + spread).ceil().min(n as f64) as u32;
        (a, b)
    }
}

// ---------------------------------------------------------------------------------------
// The memo of integer null probabilities

/// `P(Binomial(n, x/n) lands in an integer bin)` per `(n, x)`, filled on demand with
/// [`IntegerNull::probability`]; `f32` bits, `u32::MAX` = not yet computed.
struct Memo {
    engine: IntegerNull,
    /// Per denominator `n`: (first numerator, cells).
    tables: Vec<Option<(u32, Vec<AtomicU32>)>>,
    evaluations: std::sync::atomic::AtomicUsize,
}

/// Largest denominator given a memo table (larger ones are evaluated directly).
const MEMO_MAX_N: u32 = 200_000;

impl Memo {
    fn new(windows: impl Iterator<Item = (u32, u32, u32)>) -> Memo {
        let mut range: Vec<Option<(u32, u32)>> = Vec::new();
        let mut max_n = 0u32;
        for (n, a, b) in windows {
            max_n = max_n.max(n);
            if n > MEMO_MAX_N || a > b {
                continue;
            }
            if range.len() <= n as usize {
                range.resize(n as usize + 1, None);
            }
            let r = &mut range[n as usize];
            *r = Some(match *r {
                None => (a, b),
                Some((x, y)) => (x.min(a), y.max(b)),
            });
        }
        let tables = range
            .into_iter()
            .map(|r| r.map(|(a, b)| (a, (a..=b).map(|_| AtomicU32::new(u32::MAX)).collect())))
            .collect();
        Memo { engine: IntegerNull::new(Bins::new(0.05, 1), max_n as u64 + 1), tables, evaluations: Default::default() }
    }

    #[inline]
    fn get(&self, x: u32, n: u32) -> f64 {
        if let Some(Some((a, cells))) = self.tables.get(n as usize)
            && x >= *a
            && let Some(cell) = cells.get((x - a) as usize)
        {
            let v = cell.load(Ordering::Relaxed);
            if v != u32::MAX {
                return f32::from_bits(v) as f64;
            }
            let p = self.engine.probability(x as u64, n as u64) as f32;
            cell.store(p.to_bits(), Ordering::Relaxed);
            self.evaluations.fetch_add(1, Ordering::Relaxed);
            return p as f64;
        }
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        self.engine.probability(x as u64, n as u64) as f32 as f64
    }
}

// ---------------------------------------------------------------------------------------
// Test keys

/// Which (test, level) each p-value belongs to: indices into the row list.
struct Keys {
    names: Vec<(String, &'static str)>,
    index: HashMap<(String, &'static str), usize>,
}

impl Keys {
    fn new() -> Keys {
        Keys { names: Vec::new(), index: HashMap::new() }
    }
    fn id(&mut self, test: &str, level: &'static str) -> usize {
        if let Some(&i) = self.index.get(&(test.to_string(), level)) {
            return i;
        }
        self.names.push((test.to_string(), level));
        self.index.insert((test.to_string(), level), self.names.len() - 1);
        self.names.len() - 1
    }
}

/// Key indices of one level.
struct LevelKeys {
    int_t: usize,
    int_s: usize,
    int_e: usize,
    weighted: Vec<usize>, // [weight × {t, s, e}] (nation only)
    last: Vec<usize>,     // per candidate (file order), then pooled
    repeated: usize,
    adjacent: usize,
    lastc: usize,
    c05s: usize,
    p05s: usize,
    p05s_share: usize,
    b2bl_mean: usize,
    b2bl: Vec<usize>, // per candidate, then pooled (classical Benford p)
    // digits: the default p of `digits._2BL` and `digits.2bl.chi2.*` (exact per-station null)
    b2bl_mean_exact: usize,
    b2bl_exact: Vec<usize>,
    dip_t: usize,
    dip_s: usize,
}

fn level_keys(keys: &mut Keys, cands: &[String], level: &'static str) -> LevelKeys {
    let nation = level == "nation";
    let int_t = keys.id("integer.turnout", level);
    let int_s = keys.id("integer.leader", level);
    let int_e = keys.id("integer.either", level);
    let mut weighted = Vec::new();
    if nation {
        for w in ["voters", "ballots", "leader_votes"] {
            for t in ["turnout", "leader", "either"] {
                weighted.push(keys.id(&format!("integer.{t}.{w}"), level));
            }
        }
    }
    let mut last: Vec<usize> = cands.iter().map(|c| keys.id(&format!("digits.last.chi2.{c}"), level)).collect();
    last.push(keys.id("digits.last.chi2.pooled", level));
    let repeated = keys.id("digits.last.repeated", level);
    let adjacent = keys.id("digits.last.adjacent", level);
    let lastc = keys.id("digits.last.mean", level);
    let c05s = keys.id("digits.last.05", level);
    let b2bl_mean = keys.id("digits._2BL#p_benford", level);
    let p05s = keys.id("digits.pct05.turnout", level);
    let p05s_share = keys.id("digits.pct05.share", level);
    let mut b2bl: Vec<usize> = cands.iter().map(|c| keys.id(&format!("digits.2bl.chi2.{c}#p_benford"), level)).collect();
    b2bl.push(keys.id("digits.2bl.chi2.pooled#p_benford", level));
    let b2bl_mean_exact = keys.id("digits._2BL", level);
    let mut b2bl_exact: Vec<usize> = cands.iter().map(|c| keys.id(&format!("digits.2bl.chi2.{c}"), level)).collect();
    b2bl_exact.push(keys.id("digits.2bl.chi2.pooled", level));
    let (dip_t, dip_s) = if nation {
        (keys.id("shape.turnout.dip", level), keys.id("shape.leader_share.dip", level))
    } else {
        (usize::MAX, usize::MAX)
    };
    LevelKeys {
        int_t,
        int_s,
        int_e,
        weighted,
        last,
        repeated,
        adjacent,
        lastc,
        c05s,
        p05s,
        p05s_share,
        b2bl_mean,
        b2bl,
        b2bl_mean_exact,
        b2bl_exact,
        dip_t,
        dip_s,
    }
}

// ---------------------------------------------------------------------------------------
// p-values as the battery computes them, screened where the exact form is costly

/// Upper tail `P(S ≥ obs)` by the normal approximation with the Edgeworth skewness term
/// (lattice: continuity-corrected).
fn edgeworth_sf(obs: f64, mean: f64, var: f64, k3: f64, lattice: bool) -> f64 {
    if var <= 0.0 {
        return if obs <= mean { 1.0 } else { 0.0 };
    }
    let sd = var.sqrt();
    let z = ((if lattice { obs - 0.5 } else { obs }) - mean) / sd;
    let g = k3 / (var * sd);
    let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (norm_sf(z) + phi * g / 6.0 * (z * z - 1.0)).clamp(0.0, 1.0)
}

/// Whether an approximate p is far enough from α (a factor 3) that no approximation error
/// of this kind can change the decision.
#[inline]
fn decided(p: f64, alpha: f64) -> bool {
    p < alpha / 3.0 || p > 3.0 * alpha
}

/// Two-sided normal p (`digits.last.mean`).
fn z_two_sided(z: f64) -> f64 {
    (2.0 * norm_sf(z.abs())).min(1.0)
}

// ---------------------------------------------------------------------------------------
// One replicate

/// Digit tallies of one scope (the battery's `Tally`, without the shape columns).
#[derive(Clone)]
struct DigitTally {
    last: Vec<[u64; 10]>,
    second: Vec<[u64; 10]>,
    pairs: PairTally,
    pct_t: [u64; 10],
    pct_s: [u64; 10],
    /// The exact per-station nulls (`digits::exact`), as the battery's.
    exact: digits::ExactUnit,
}

impl DigitTally {
    fn new(k: usize) -> Self {
        DigitTally {
            last: vec![[0; 10]; k],
            second: vec![[0; 10]; k],
            pairs: PairTally::default(),
            pct_t: [0; 10],
            pct_s: [0; 10],
            exact: digits::ExactUnit::new(k),
        }
    }
    fn clear(&mut self) {
        for h in self.last.iter_mut().chain(self.second.iter_mut()) {
            *h = [0; 10];
        }
        self.pairs = PairTally::default();
        self.pct_t = [0; 10];
        self.pct_s = [0; 10];
        self.exact.clear();
    }
    fn add(&mut self, o: &DigitTally) {
        for (a, b) in self.last.iter_mut().zip(&o.last).chain(self.second.iter_mut().zip(&o.second)) {
            for d in 0..10 {
                a[d] += b[d];
            }
        }
        self.pairs.n += o.pairs.n;
        self.pairs.repeated += o.pairs.repeated;
        self.pairs.adjacent += o.pairs.adjacent;
        for d in 0..10 {
            self.pct_t[d] += o.pct_t[d];
            self.pct_s[d] += o.pct_s[d];
        }
        self.exact.merge(&o.exact);
    }
}

/// Second digit of `c ≥ 10` from a table for small counts.
struct SecondDigit(Vec<u8>);

impl SecondDigit {
    const MAX: u32 = 1 << 16;
    fn new() -> Self {
        SecondDigit((0..Self::MAX).map(|c| digits::second_digit(c).unwrap_or(0) as u8).collect())
    }
    #[inline]
    fn get(&self, c: u32) -> usize {
        if c < Self::MAX { self.0[c as usize] as usize } else { digits::second_digit(c).unwrap_or(0) }
    }
}

/// Per-replicate buffers (reused across the replicates a thread runs).
struct Work {
    ballots: Vec<u32>,
    votes: Vec<u32>,
    /// Digit tallies (digit replicates only, allocated on the first): the scope being
    /// tallied (one commission, or region, at a time) and each region's sum.
    digit: Option<(DigitTally, Vec<DigitTally>)>,
    // integer: per included station
    int_region: Vec<u32>,
    int_comm: Vec<u32>,
    pt: Vec<f64>,
    ps: Vec<f64>,
    pe: Vec<f64>,
    ht: Vec<bool>,
    hs: Vec<bool>,
    he: Vec<bool>,
    w: [Vec<f64>; 3],
    dip_t: Vec<f64>,
    dip_s: Vec<f64>,
    sub_p: Vec<f64>,
    sub_h: Vec<bool>,
}

impl Work {
    fn new() -> Work {
        Work {
            ballots: Vec::new(),
            votes: Vec::new(),
            digit: None,
            int_region: Vec::new(),
            int_comm: Vec::new(),
            pt: Vec::new(),
            ps: Vec::new(),
            pe: Vec::new(),
            ht: Vec::new(),
            hs: Vec::new(),
            he: Vec::new(),
            w: [Vec::new(), Vec::new(), Vec::new()],
            dip_t: Vec::new(),
            dip_s: Vec::new(),
            sub_p: Vec::new(),
            sub_h: Vec::new(),
        }
    }
}

/// Everything fixed across replicates.
struct Ctx<'a> {
    m: &'a Model,
    memo: Option<Memo>,
    bins: Bins,
    second: SecondDigit,
    nation: LevelKeys,
    region: Option<LevelKeys>,
    /// Members of each region among the integer test's included stations are found per
    /// replicate; the region count.
    regions: usize,
    /// Per commission (the battery's lowest level, when the file has two levels or more):
    /// the integer tests and the brief digit tests, as the battery runs them there; the
    /// commission count and each commission's region. Digit tallies are then kept per
    /// commission and summed into regions and the nation.
    commission: Option<LevelKeys>,
    commissions: usize,
    comm_region: Vec<u32>,
    /// Simulated stations (positions in `Model::stations`) grouped by the digit tallies'
    /// scope: commission with two levels or more, else region, else one group.
    by_scope: Vec<Vec<u32>>,
    benford: [f64; 10],
    benford_mean: f64,
    benford_var: f64,
    /// Uniform-null dip draws for samples below the tabulated size: (m, sorted draws).
    dip_null: std::sync::Mutex<HashMap<usize, std::sync::Arc<Vec<f64>>>>,
    alpha: f64,
    full_draws: bool,
}

const DIGITS: [f64; 10] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
const IS05: [f64; 10] = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];

impl Ctx<'_> {
    /// The battery's dip p-value (shape::run's default options).
    fn dip_p(&self, x: &mut [f64]) -> Option<f64> {
        let n = x.len();
        if n < 10 {
            return None;
        }
        x.sort_unstable_by(f64::total_cmp);
        let (d, _, _) = shape::dip_sorted(x);
        let o = shape::ShapeOptions::default();
        if n >= shape::DIP_TABLE_M {
            return Some(shape::dip_pvalue_table(d, n));
        }
        // shape::dip_pvalue(d, n, reps, ref_n, seed) = the same draws, counted.
        let m = n.min(o.dip_ref_n).max(4);
        let draws = {
            let mut g = self.dip_null.lock().expect("no panic while held");
            g.entry(m).or_insert_with(|| std::sync::Arc::new(shape::dip_null_sample(m, o.dip_reps, o.seed))).clone()
        };
        let target = d * (n as f64).sqrt();
        let hits = draws.iter().filter(|&&v| v >= target).count();
        Some((1 + hits) as f64 / (o.dip_reps + 1) as f64)
    }

    /// Integer count test of stations `idx` (all when `None`): (key, p) pushed.
    fn integer_p(&self, p: &[f64], h: &[bool], idx: Option<&[usize]>, w: &mut Work) -> Option<f64> {
        w.sub_p.clear();
        w.sub_h.clear();
        match idx {
            Some(ix) => {
                for &i in ix {
                    w.sub_p.push(p[i]);
                    w.sub_h.push(h[i]);
                }
            }
            None => {
                w.sub_p.extend_from_slice(p);
                w.sub_h.extend_from_slice(h);
            }
        }
        if w.sub_p.is_empty() {
            return None;
        }
        let obs = w.sub_h.iter().filter(|&&x| x).count() as u64;
        let (mut mean, mut var, mut k3) = (0.0, 0.0, 0.0);
        for &q in &w.sub_p {
            let v = q * (1.0 - q);
            mean += q;
            var += v;
            k3 += v * (1.0 - 2.0 * q);
        }
        if var > 25.0 {
            let approx = edgeworth_sf(obs as f64, mean, var, k3, true);
            if decided(approx, self.alpha) {
                return Some(approx);
            }
        }
        Some(common::pb_sf(&w.sub_p, obs).0)
    }

    fn weighted_p(&self, p: &[f64], h: &[bool], wt: &[f64]) -> Option<f64> {
        if p.is_empty() {
            return None;
        }
        let (mut obs, mut mean, mut var, mut k3) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..p.len() {
            let (q, x) = (p[i], wt[i]);
            let v = q * (1.0 - q);
            if h[i] {
                obs += x;
            }
            mean += x * q;
            var += x * x * v;
            k3 += x * x * x * v * (1.0 - 2.0 * q);
        }
        let approx = edgeworth_sf(obs, mean, var, k3, false);
        if var > 0.0 && decided(approx, self.alpha) {
            return Some(approx);
        }
        Some(common::weighted_sf(p, wt, obs).0)
    }

    /// Digit tests of one scope, as `digits::unit_results` (`brief`: commissions, pooled
    /// chi-squares only).
    fn digit_ps(&self, t: &DigitTally, lk: &LevelKeys, brief: bool, out: &mut Vec<(u32, f64)>) {
        let k = self.m.k;
        let mut push = |key: usize, p: f64| out.push((key as u32, p));
        let mut pooled = [0u64; 10];
        let mut pooled2 = [0u64; 10];
        for j in 0..=k {
            let h = if j < k {
                for d in 0..10 {
                    pooled[d] += t.last[j][d];
                }
                t.last[j]
            } else {
                pooled
            };
            if h.iter().sum::<u64>() > 0 && (!brief || j == k) {
                let null = if j < k { t.exact.last[j].clone() } else { t.exact.pooled_last() };
                push(lk.last[j], digits::exact_chi2_p(&null, &h));
            }
            let h2 = if j < k {
                for d in 0..10 {
                    pooled2[d] += t.second[j][d];
                }
                t.second[j]
            } else {
                pooled2
            };
            if h2.iter().sum::<u64>() > 0 && (!brief || j == k) {
                push(lk.b2bl[j], digits::chi2_gof(&h2, &self.benford).1);
                let null = if j < k { t.exact.second[j].clone() } else { t.exact.pooled_second() };
                push(lk.b2bl_exact[j], digits::exact_chi2_p(&null, &h2));
            }
        }
        let pr = &t.pairs;
        if pr.n > 0 {
            let obs = [pr.repeated, pr.adjacent];
            push(lk.repeated, digits::exact_linear_p(&t.exact.pairs, &obs, pr.n, &[1.0, 0.0]));
            push(lk.adjacent, digits::exact_linear_p(&t.exact.pairs, &obs, pr.n, &[0.0, 1.0]));
        }
        let f = self.m.leader;
        let hl = &t.last[f];
        let nl: u64 = hl.iter().sum();
        if nl > 0 {
            let null = &t.exact.last[f];
            push(lk.lastc, digits::exact_linear_p(null, hl, nl, &DIGITS));
            push(lk.c05s, digits::exact_linear_p(null, hl, nl, &IS05));
        }
        let h2 = &t.second[f];
        let n2: u64 = h2.iter().sum();
        if n2 > 0 {
            let nf = n2 as f64;
            let mean = h2.iter().zip(DIGITS).map(|(&h, d)| h as f64 * d).sum::<f64>() / nf;
            push(lk.b2bl_mean, z_two_sided((mean - self.benford_mean) / (self.benford_var / nf).sqrt()));
            push(lk.b2bl_mean_exact, digits::exact_linear_p(&t.exact.second[f], h2, n2, &DIGITS));
        }
        for (key, h, null) in [(lk.p05s, &t.pct_t, &t.exact.p05_turnout), (lk.p05s_share, &t.pct_s, &t.exact.p05_share)] {
            let n: u64 = h.iter().sum();
            if n > 0 {
                push(key, digits::exact_linear_p(null, &[h[0] + h[5]], n, &[1.0]));
            }
        }
    }

    /// Adds station `s` (a position in `Model::stations`) of a replicate to a digit tally,
    /// with its exact per-station nulls, as the battery's `digits::exact_units`.
    fn tally_station(&self, s: usize, ballots: &[u32], votes: &[u32], t: &mut DigitTally) {
        let m = self.m;
        let k = m.k;
        let row = &votes[s * k..(s + 1) * k];
        for (j, &c) in row.iter().enumerate() {
            if c >= 10 {
                t.last[j][(c % 10) as usize] += 1;
                t.second[j][self.second.get(c)] += 1;
                t.pairs.add(c);
            }
        }
        let (n, b) = (m.reg[s], ballots[s]);
        let turnout_in = m.has_turnout && n >= 100;
        if turnout_in {
            t.pct_t[(round_pct(b, n) % 10) as usize] += 1;
        }
        let den = m.valid[s];
        let share_in = den >= 100 && den <= u32::MAX as u64;
        if share_in {
            t.pct_s[(round_pct(row[m.leader], den as u32) % 10) as usize] += 1;
        }
        let sum: u64 = row.iter().map(|&x| x as u64).sum();
        t.exact.add_station(row.iter().copied(), den.max(sum), m.leader, 10, share_in, turnout_in.then_some((b.min(n), n)));
    }

    /// The digit tests of one replicate: each scope (commission, or region) tallied on its
    /// own into one reused tally, its p-values taken at once (commissions: the brief
    /// battery), then summed into its region and the nation. Memory: one tally per region,
    /// not per commission (2,700 commissions' exact nulls were 80 MB per thread).
    fn digit_replicate(&self, ballots: &[u32], votes: &[u32], w: &mut Work, out: &mut Vec<(u32, f64)>) {
        let k = self.m.k;
        let (one, regs) = w.digit.get_or_insert_with(|| (DigitTally::new(k), vec![DigitTally::new(k); self.regions.max(1)]));
        let any = |t: &DigitTally| t.last.iter().any(|h| h.iter().sum::<u64>() > 0) || t.pct_t.iter().sum::<u64>() > 0;
        let mut nat = DigitTally::new(k);
        for r in regs.iter_mut() {
            r.clear();
        }
        for (scope, members) in self.by_scope.iter().enumerate() {
            one.clear();
            for &s in members {
                self.tally_station(s as usize, ballots, votes, one);
            }
            match (&self.commission, &self.region) {
                (Some(ck), _) => {
                    if any(one) {
                        self.digit_ps(one, ck, true, out);
                    }
                    regs[self.comm_region[scope] as usize].add(one);
                }
                (None, Some(rk)) => {
                    if any(one) {
                        self.digit_ps(one, rk, false, out);
                    }
                    nat.add(one);
                }
                (None, None) => nat.add(one),
            }
        }
        if self.commission.is_some() {
            for r in regs.iter() {
                if let Some(rk) = &self.region {
                    if any(r) {
                        self.digit_ps(r, rk, false, out);
                    }
                }
                nat.add(r);
            }
        }
        self.digit_ps(&nat, &self.nation, false, out);
    }

    /// One replicate: its (key, p) pairs.
    fn replicate(&self, r: usize, seed: u64, w: &mut Work) -> Vec<(u32, f64)> {
        let m = self.m;
        let k = m.k;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(replicate_seed(seed, r));
        let with_digits = r < DIGIT_REPS;
        let (mut ballots, mut votes) = (std::mem::take(&mut w.ballots), std::mem::take(&mut w.votes));
        m.draw_some(&mut rng, &mut ballots, &mut votes, with_digits || self.full_draws);
        w.int_region.clear();
        w.int_comm.clear();
        for v in [&mut w.pt, &mut w.ps, &mut w.pe, &mut w.dip_t, &mut w.dip_s] {
            v.clear();
        }
        for v in [&mut w.ht, &mut w.hs, &mut w.he] {
            v.clear();
        }
        for v in w.w.iter_mut() {
            v.clear();
        }
        let max_t = 990_000u64;
        for s in 0..m.stations.len() {
            let row = &votes[s * k..(s + 1) * k];
            let n = m.reg[s];
            let b = ballots[s];
            let v = row[m.leader];
            let den = m.valid[s];
            // integer test
            if let Some(memo) = &self.memo {
                let c = m.boxes_int[s];
                let (nn, bb, cc, vv) = (n as u64, b as u64, c as u64, v as u64);
                if c > 0 && n >= 100 && bb * 1_000_000 <= max_t * nn && vv * 1_000_000 <= max_t * cc {
                    let pt = memo.get(b, n);
                    let ps = memo.get(v, c);
                    let (ht, hs) = (self.bins.hit(bb, nn), self.bins.hit(vv, cc));
                    w.pt.push(pt);
                    w.ps.push(ps);
                    w.pe.push(1.0 - (1.0 - pt) * (1.0 - ps));
                    w.ht.push(ht);
                    w.hs.push(hs);
                    w.he.push(ht || hs);
                    w.w[0].push(n as f64);
                    w.w[1].push(b as f64);
                    w.w[2].push(v as f64);
                    w.int_region.push(m.region[s]);
                    w.int_comm.push(m.comm[s]);
                }
            }
            // shape selection
            if r % DIP_EVERY == 0 && m.has_turnout && m.boxes_shape[s] > 0 && den > 0 && n >= 100 {
                w.dip_t.push((b as f64 / n as f64).min(1.0));
                w.dip_s.push(v as f64 / den as f64);
            }
        }
        let mut out = Vec::with_capacity(64 + self.regions * 40);
        // integer, nation then weighted
        let lk = &self.nation;
        if self.memo.is_some() {
            let (pt, ps, pe) = (std::mem::take(&mut w.pt), std::mem::take(&mut w.ps), std::mem::take(&mut w.pe));
            let (ht, hs, he) = (std::mem::take(&mut w.ht), std::mem::take(&mut w.hs), std::mem::take(&mut w.he));
            let sets: [(&[f64], &[bool]); 3] = [(&pt, &ht), (&ps, &hs), (&pe, &he)];
            for (key, (p, h)) in [lk.int_t, lk.int_s, lk.int_e].into_iter().zip(sets) {
                if let Some(pv) = self.integer_p(p, h, None, w) {
                    out.push((key as u32, pv));
                }
            }
            for (wi, wt) in w.w.iter().enumerate() {
                for (ti, (p, h)) in sets.iter().enumerate() {
                    if let Some(pv) = self.weighted_p(p, h, wt) {
                        out.push((lk.weighted[wi * 3 + ti] as u32, pv));
                    }
                }
            }
            // Per region, then per commission: the included stations of each unit.
            let members_of = |codes: &[u32], units: usize| {
                let mut m: Vec<Vec<usize>> = vec![Vec::new(); units];
                for (i, &c) in codes.iter().enumerate() {
                    m[c as usize].push(i);
                }
                m
            };
            let groups: Vec<(&LevelKeys, Vec<Vec<usize>>)> =
                [(self.region.as_ref(), &w.int_region, self.regions), (self.commission.as_ref(), &w.int_comm, self.commissions)]
                    .into_iter()
                    .filter_map(|(keys, codes, units)| keys.map(|k| (k, members_of(codes, units))))
                    .collect();
            for (uk, members) in &groups {
                for mem in members.iter().filter(|m| !m.is_empty()) {
                    for (key, (p, h)) in [uk.int_t, uk.int_s, uk.int_e].into_iter().zip(sets) {
                        if let Some(pv) = self.integer_p(p, h, Some(mem), w) {
                            out.push((key as u32, pv));
                        }
                    }
                }
            }
            (w.pt, w.ps, w.pe, w.ht, w.hs, w.he) = (pt, ps, pe, ht, hs, he);
        }
        // digits, on the first DIGIT_REPS only: nation, each region, each commission
        if with_digits {
            self.digit_replicate(&ballots, &votes, w, &mut out);
        }
        // dips, on every DIP_EVERY-th replicate
        if r % DIP_EVERY == 0 {
            if let Some(p) = self.dip_p(&mut w.dip_t) {
                out.push((lk.dip_t as u32, p));
            }
            if let Some(p) = self.dip_p(&mut w.dip_s) {
                out.push((lk.dip_s as u32, p));
            }
        }
        w.ballots = ballots;
        w.votes = votes;
        out
    }
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
