//! Last-digit tests (Beber & Scacco 2012), second-digit Benford (2BL, Mebane) and the
//! Election Forensics Toolkit's digit statistics, nationally and per unit. DESIGN.md §3.
//!
//! # The default null: exact, per station ([`exact`])
//!
//! Every digit test's p-value comes from the stations' own count models: each candidate
//! count redrawn from the posterior predictive `BetaBinomial(n, a₀ + x, b₀ + n − x)` of a
//! beta prior fitted per commission and candidate ([`prior`]: the plug-in
//! `Binomial(n, x/n)` of earlier versions, `DigitNull::Plugin`, doubled each count's spread
//! and rejected clean replicates of national files for small candidates), the turnout
//! numerator as `Binomial(N, B/N)` (`n` = valid votes for candidate counts, registered
//! voters `N` for the turnout numerator), its digit probabilities summed exactly from the pmf, the
//! filters (`counts ≥ min_count`, `≥ 10` for second digits and pairs) applied to the model
//! as to the data, and the statistic built on `Y = O − e·O_tot` (observed tallies minus the
//! expected shares times the observed number of counts) with the sandwich covariance
//! `Σ_i z_i z_iᵀ` of the stations' centred contributions: chi-squares are `Yᵀ Cov⁺ Y`
//! (χ² with df = rank, 9), means and shares two-sided normal. Why the station's own
//! `p̂` and why the sandwich rather than the model covariance: see [`exact`]. The uniform
//! and Benford versions stay as descriptive columns (`extra.p_uniform`,
//! `extra.chi2_uniform`, `extra.p_benford`, `extra.chi2_benford`), and so does the
//! resampled 2BL null (`extra.p_resampled`, `extra.chi2_resampled`); `extra.p_model` is
//! the exact null with the model covariance. Measured type-I rates: `tests/digits.rs`.
//!
//! Caveat: the sandwich covariance is estimated from the unit's own stations; in units of
//! a few dozen stations (commissions) it is noisy and the chi-squares' χ² reference is
//! loose there.
//!
//! # What is computed (test names)
//!
//! On the vote counts of every candidate at the included stations (stations abroad and
//! electronic pseudo-stations are set aside by default and counted in the notes):
//!
//! * `digits.last.chi2.<candidate>`, `digits.last.chi2.pooled`: Pearson chi-square of the
//!   last digits of counts `≥ min_count` (default 10) against the uniform distribution,
//!   9 degrees of freedom (Beber & Scacco 2012). Extra: the ten digit shares `d0`…`d9`.
//! * `digits.last.repeated`, `digits.last.adjacent` (pooled over candidates): share of counts
//!   `≥ max(10, min_count)` whose last two digits are equal (expected 10/100) or differ by one
//!   (`|a − b| = 1`: 18 of the 100 pairs, checked by enumeration in the tests); exact
//!   two-sided binomial test (the "minlike" rule of R's `binom.test` and scipy's
//!   `binomtest`); the one-sided "fewer than expected" p (Beber & Scacco's direction for
//!   invented numbers) is in `extra.p_less`.
//! * Digit statistics in the style of Mebane's Election Forensics Toolkit (EFT), for the
//!   focus candidate (the national leader unless chosen). They differ from EFT's on purpose
//!   and so do not carry EFT's names (EFT's own definitions, under EFT's names, are
//!   `tallyscope eft`, [`crate::stats::eft`]): `digits.last.mean` (mean last digit, 4.5;
//!   EFT's `LastC` takes all counts, zeros included, here counts `>= min_count`, default
//!   10), `digits.last.05` (share of counts ending in 0 or 5, 0.2; EFT's `C05s`, same
//!   filter difference), `digits._2BL` (mean second digit of counts `>= 10`, 4.187 — the
//!   same definition as EFT's `_2BL`, so it keeps the name; `null_mean` the classical
//!   Benford one, `extra.mean_exact` the exact null's), `digits.pct05.turnout` (share of
//!   rounded turnout percentages `round(100·B/N)` whose last digit is 0 or 5, 0.2; EFT's
//!   `P05s` on turnout takes every denominator and rounds half to even, here denominators
//!   `>= min_denominator` and half up), `digits.pct05.share` (the same for the candidate's
//!   percentage `round(100·v/V)`), and the shape columns `digits.skew.turnout`,
//!   `digits.kurt.turnout`, `digits.skew.share`, `digits.kurt.share` (population skewness
//!   and non-excess kurtosis like EFT's `Skew`/`Kurt`, but on the stations with
//!   denominators `>= min_denominator`; descriptive: heterogeneous regions move them
//!   without any fraud). Means carry a
//!   percentile bootstrap interval (`extra.ci_lo`, `extra.ci_hi`, `bootstrap` resamples,
//!   seeded). Percentages need a denominator `≥ min_denominator` (default 100): below that
//!   percentages are coarse and land on multiples of 5 by arithmetic alone.
//! * `digits.penultimate.chi2.<candidate>`, `digits.penultimate.chi2.pooled` (opt-in,
//!   `DigitOptions::penultimate`, `analyze --penultimate`): Pearson chi-square (9 df) of the
//!   last-but-one (tens) digit of counts `≥ min_penultimate` (default 100) against uniform.
//!   Validity: the tens digit is uniform only when counts spread smoothly over many
//!   hundreds; counts below 100 are excluded by requirement (their tens digit is the
//!   leading digit, Benford-like), and even above it stations of similar few-hundred sizes
//!   make it reject clean elections (DESIGN.md §3): read it with its calibrated rate
//!   (measured in `tests/digits.rs`).
//! * `digits.2bl.chi2.<candidate>`, `digits.2bl.chi2.pooled`: second digits of counts `≥ 10`.
//!   The statistic is the chi-square against the **resampled null**'s expected frequencies
//!   and the p-value is the resampled one (below). The classical Benford chi-square and its
//!   χ²(9) p-value are kept as descriptive columns (`extra.chi2_benford`,
//!   `extra.p_benford`): on clean elections whose stations have similar sizes the classical
//!   null rejects most of the time (measured in `tests/digits.rs`).
//!
//! # The resampled 2BL null (issue 7)
//!
//! "Is the second digit anomalous *given the shape of these counts*?" Every positive count
//! `c` is jittered on the log10 scale, `c* = round(c · 10^(σ Z))`, `Z ~ N(0, 1)`, with the
//! documented jitter scale `σ = 0.15` (a 41% multiplicative spread). The scale is a
//! compromise measured on clean simulated elections (stations of 100–900 voters, 10,000
//! stations, pooled and leader counts, 100 replicates, B = 99): a count's second digit
//! follows a period of one leading-digit block (ten cells: `log10 2 = 0.30` wide at
//! mantissa 1, 0.046 at mantissa 9), so a narrow jitter leaves the expected digit tracking
//! the count's own digit and the test turns conservative (σ = 0.05: the mean test rejected
//! 0–2.5%, the chi-square 2.5–4%), while a wide jitter blurs the shape and over-rejects
//! (σ = 0.2: 8–10%). At σ = 0.1 the chi-square rejected 5–8% and the mean test 2%; at 0.15,
//! 5–7% and 4–5%. The expected second-digit frequencies `e_d` under the
//! jitter are computed exactly (normal-cdf sums over the cells), counts that jitter across
//! the `≥ 10` threshold in either direction included. The statistic is
//! `T = Σ_d (O_d − n e_d)² / (n e_d)`; the null distribution of `T` comes from `B`
//! (default 499) jittered replicates of the whole set of counts, and
//! `p = (1 + #{T* ≥ T}) / (B + 1)`. The same draws give a two-sided resampled p for the
//! mean second digit (`digits._2BL`: `p`, with `extra.mean_resampled`, `extra.sd_resampled`). Replicate `b` uses ChaCha8 with
//! the seed and stream `b`, so the result is identical for any number of threads.
//! Replicates group equal counts and draw their digit tallies as one multinomial, so a
//! draw costs O(distinct counts), not O(counts).
//!
//! The same machinery is available for last digits ([`Place::Last`]): it answers the known
//! failure of the naive last-digit test on small counts (minor candidates with tens of votes,
//! whose last digits are not uniform by arithmetic alone).
//!
//! # Per unit
//!
//! Everything is also computed per region (level 0) and, on request, per commission
//! (level 1), with Benjamini–Hochberg q-values among the units of the same level for each
//! test (EFT prints the same table without any correction).


mod bootstrap;
mod classical;
pub mod exact;
pub mod prior;
mod resampled;
pub mod sim;

pub use bootstrap::*;
pub use classical::*;
pub use exact::*;
pub use resampled::*;

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::beta::beta_reg;
use statrs::function::gamma::ln_gamma;

use super::TestResult;
use super::common::norm_sf;
use super::fdr::bh_opt;
use crate::model::{Election, Role};

// ---------------------------------------------------------------------------------------
// Options, tallies and the analysis of an election

/// Settings. `Default` is the literature's setting.
#[derive(Debug, Clone, Serialize)]
pub struct DigitOptions {
    /// Minimum count for last-digit tests (10). Second-digit tests use `max(10, min_count)`.
    pub min_count: u32,
    /// Minimum denominator (`N` for turnout, `V` for shares) for `digits.pct05.*` (100).
    pub min_denominator: u32,
    /// Focus candidate of the EFT statistics (`None` = national leader).
    pub candidate: Option<usize>,
    pub include_abroad: bool,
    pub include_electronic: bool,
    /// Per-region results (level 0).
    pub regions: bool,
    /// Per-commission results (the lowest level above stations), off by default: the
    /// pooled and focus-candidate tests only (last digits pooled, repeated, adjacent,
    /// last.mean, last.05, _2BL, pct05.turnout, 2BL pooled), without bootstrap intervals.
    pub commissions: bool,
    /// Bootstrap resamples for the intervals of the means (1000; 0 = none).
    pub bootstrap: usize,
    /// Interval level `1 − alpha` (alpha = 0.05).
    pub alpha: f64,
    /// Resampled 2BL null nationally (`draws = 0` switches it off).
    pub resample: ResampleOptions,
    /// Replicates of the resampled 2BL null per unit (default 0: per-unit 2BL then gets no
    /// p-value, only the descriptive Benford one; 199 costs about 8 s on Russia 2018's
    /// regions on 2 cores).
    pub unit_draws: usize,
    /// Bootstrap resamples per unit (200: 85 regions × 5 intervals stay fast).
    pub unit_bootstrap: usize,
    /// Opt-in penultimate-digit test (`digits.penultimate.chi2.*`), see the module docs.
    pub penultimate: bool,
    /// Smallest count whose penultimate digit is tested (100).
    pub min_penultimate: u32,
    pub seed: u64,
    /// The exact null's model of a station's count ([`prior`]): the posterior predictive
    /// of a commission beta prior (default) or the plug-in binomial at the station's own
    /// share (the null of earlier versions, biased where counts are small and stations many).
    pub null: DigitNull,
}

/// The model of a station's count in the exact digit null (module docs of [`prior`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DigitNull {
    /// `BetaBinomial(n, a₀ + x, b₀ + n − x)`, `Beta(a₀, b₀)` the commission's prior.
    #[default]
    BetaBinomial,
    /// `Binomial(n, x/n)`.
    Plugin,
}

impl Default for DigitOptions {
    fn default() -> Self {
        DigitOptions {
            min_count: 10,
            min_denominator: 100,
            candidate: None,
            include_abroad: false,
            include_electronic: false,
            regions: true,
            commissions: false,
            bootstrap: 1000,
            alpha: 0.05,
            resample: ResampleOptions::default(),
            unit_draws: 0,
            unit_bootstrap: 200,
            penultimate: false,
            min_penultimate: 100,
            seed: 20180318,
            null: DigitNull::default(),
        }
    }
}

/// Digit tallies of one unit.
#[derive(Debug, Clone)]
pub struct Tally {
    /// `last[j]`: last digits of candidate `j`'s counts `≥ min_count`.
    pub last: Vec<[u64; 10]>,
    /// `second[j]`: second digits of candidate `j`'s counts `≥ max(10, min_count)`.
    pub second: Vec<[u64; 10]>,
    /// Last-two-digit pairs, pooled over candidates.
    pub pairs: PairTally,
    /// `penult[j]`: penultimate digits of candidate `j`'s counts `≥ min_penultimate`
    /// (filled only when the test is asked for).
    pub penult: Vec<[u64; 10]>,
    /// Last digits of `round(100·B/N)` (N ≥ min_denominator).
    pub pct_turnout: [u64; 10],
    /// Last digits of `round(100·v/V)` of the focus candidate (V ≥ min_denominator).
    pub pct_share: [u64; 10],
    /// Turnout and focus share per station, for the shape columns.
    pub turnout: Vec<f64>,
    pub share: Vec<f64>,
    /// The exact per-station nulls of this unit's counts ([`exact`]).
    pub exact: ExactUnit,
}

impl Tally {
    fn new(k: usize) -> Tally {
        Tally {
            last: vec![[0; 10]; k],
            second: vec![[0; 10]; k],
            pairs: PairTally::default(),
            penult: vec![[0; 10]; k],
            pct_turnout: [0; 10],
            pct_share: [0; 10],
            turnout: Vec::new(),
            share: Vec::new(),
            // filled by the caller (`exact_units`, or per unit as its results are taken)
            exact: ExactUnit::default(),
        }
    }
}

/// `round(100·x/n)` with halves rounded up, in integers.
#[inline]
pub fn round_pct(x: u32, n: u32) -> u64 {
    (200 * x as u64 + n as u64) / (2 * n as u64)
}

/// Everything the digit tests found.
#[derive(Debug, Clone, Serialize)]
pub struct DigitReport {
    pub candidates: Vec<String>,
    pub focus: String,
    pub min_count: u32,
    pub stations: usize,
    pub included: usize,
    pub excluded_abroad: usize,
    pub excluded_electronic: usize,
    /// Institutions, ships, mobile, designated and partly published stations.
    pub excluded_special: usize,
    /// National results.
    pub nation: Vec<TestResult>,
    /// Per-region results, q-values among regions per test.
    pub regions: Vec<TestResult>,
    /// Per-commission results (when asked), q-values among commissions per test.
    pub commissions: Vec<TestResult>,
    /// National resampled nulls (per candidate, then pooled).
    pub resampled: Vec<(String, Resampled)>,
    pub notes: Vec<String>,
}

impl DigitReport {
    pub fn results(&self) -> Vec<TestResult> {
        let mut v = self.nation.clone();
        v.extend(self.regions.iter().cloned());
        v.extend(self.commissions.iter().cloned());
        v
    }
    /// As [`results`](Self::results), without copying.
    pub fn into_results(self) -> Vec<TestResult> {
        let mut v = self.nation;
        v.extend(self.regions);
        v.extend(self.commissions);
        v
    }
    /// The national result of a test.
    pub fn get(&self, test: &str) -> Option<&TestResult> {
        self.nation.iter().find(|r| r.test == test)
    }
}

struct Ctx<'a> {
    e: &'a Election,
    stations: Vec<usize>,
    focus: usize,
    turnout_num: Option<&'a [u32]>,
    registered: Option<&'a [u32]>,
    share_den: Vec<u64>,
    /// The commission priors of the exact null (`None`: the plug-in null).
    priors: Option<prior::StationPriors>,
    o: &'a DigitOptions,
}

/// The exact per-station nulls of every unit: one binomial walk per station and count.
/// Stations are grouped by unit first and each unit summed on its own (in parallel over
/// units; a unit of many stations, such as the nation, over chunks of its stations), so
/// memory is one `ExactUnit` per unit: per-chunk copies of every unit were 650 MB for
/// Russia's 2,700 commissions.
fn exact_units(cx: &Ctx, units: usize, unit_of: &(dyn Fn(usize) -> usize + Sync)) -> Vec<ExactUnit> {
    if units == 1 {
        return vec![exact_of(cx, &cx.stations)];
    }
    members_of(cx, units, unit_of).par_iter().map(|m| exact_of(cx, m)).collect()
}

/// The stations of each unit.
fn members_of(cx: &Ctx, units: usize, unit_of: &dyn Fn(usize) -> usize) -> Vec<Vec<usize>> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); units];
    for &i in &cx.stations {
        members[unit_of(i)].push(i);
    }
    members
}

/// The exact nulls of a set of stations (over chunks in parallel when it is large).
fn exact_of(cx: &Ctx, members: &[usize]) -> ExactUnit {
    const CHUNK: usize = 4096;
    let k = cx.e.votes.len();
    let md = cx.o.min_denominator.max(1);
    let add = |u: &mut ExactUnit, i: usize| {
        let den = cx.share_den[i];
        let turnout = match (cx.turnout_num, cx.registered) {
            (Some(b), Some(n)) if n[i] >= md => Some((b[i].min(n[i]), n[i])),
            _ => None,
        };
        let pct_share = den >= md as u64 && den <= u32::MAX as u64;
        let sum: u64 = cx.e.votes.iter().map(|v| v[i] as u64).sum();
        u.add_station(cx.e.votes.iter().map(|v| v[i]), den.max(sum), cx.focus, cx.o.min_count, pct_share, turnout, cx.priors.as_ref().map(|p| p.at(i)));
    };
    if members.len() <= CHUNK {
        let mut u = ExactUnit::new(k);
        members.iter().for_each(|&i| add(&mut u, i));
        return u;
    }
    members
        .par_chunks(CHUNK)
        .map(|ch| {
            let mut u = ExactUnit::new(k);
            ch.iter().for_each(|&i| add(&mut u, i));
            u
        })
        .reduce_with(|mut a, b| {
            a.merge(&b);
            a
        })
        .unwrap_or_else(|| ExactUnit::new(k))
}

/// Whether a unit has any count the digit tests read (units without are left out).
fn has_counts(t: &Tally) -> bool {
    t.last.iter().any(|h| h.iter().sum::<u64>() > 0) || !t.turnout.is_empty()
}

/// The random streams of the commissions' resampled nulls start here (the regions' at 0).
const COMMISSION_STREAMS: u64 = 1 << 24;

/// The digit results of commission `u` (the brief battery), its exact null in `tu`.
fn commission_unit(cx: &Ctx, tu: &Tally, u: usize, members: &[usize], names: &[String]) -> Vec<TestResult> {
    let o = cx.o;
    let rs = if o.unit_draws > 0 {
        let ro = ResampleOptions { draws: o.unit_draws, jitter_sd: o.resample.jitter_sd, seed: o.resample.seed ^ ((COMMISSION_STREAMS + u as u64) << 20) };
        resampled_set(cx, members, &ro)
    } else {
        Vec::new()
    };
    unit_results(cx, tu, &format!("commission:{}", names[u]), COMMISSION_STREAMS + u as u64 + 1, &rs, true)
}

/// The region (unit of the first level) of every unit of `level`, through the levels'
/// parents; `None` where a parent is missing.
fn region_of_units(e: &Election, level: usize) -> Option<Vec<usize>> {
    let l = e.levels.get(level)?;
    (0..l.n_units()).map(|u| e.ancestor(level, u, 0)).collect()
}

fn tally_counts(cx: &Ctx, units: usize, unit_of: &dyn Fn(usize) -> usize) -> Vec<Tally> {
    let k = cx.e.votes.len();
    let mut t: Vec<Tally> = (0..units).map(|_| Tally::new(k)).collect();
    let min = cx.o.min_count;
    let min2 = min.max(10);
    let md = cx.o.min_denominator.max(1);
    for &i in &cx.stations {
        let u = &mut t[unit_of(i)];
        for j in 0..k {
            let c = cx.e.votes[j][i];
            if c >= min {
                u.last[j][last_digit(c)] += 1;
            }
            if c >= min2 {
                u.second[j][second_digit(c).unwrap()] += 1;
                u.pairs.add(c);
            }
            if cx.o.penultimate && c >= cx.o.min_penultimate.max(10) {
                u.penult[j][penultimate_digit(c).unwrap()] += 1;
            }
        }
        if let (Some(b), Some(n)) = (cx.turnout_num, cx.registered) {
            if n[i] >= md {
                u.pct_turnout[(round_pct(b[i], n[i]) % 10) as usize] += 1;
                u.turnout.push(b[i] as f64 / n[i] as f64);
            }
        }
        let den = cx.share_den[i];
        if den >= md as u64 && den <= u32::MAX as u64 {
            let v = cx.e.votes[cx.focus][i];
            u.pct_share[(round_pct(v, den as u32) % 10) as usize] += 1;
            u.share.push(v as f64 / den as f64);
        }
    }
    t
}

const DIGITS: [f64; 10] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
const IS05: [f64; 10] = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];

fn z_two_sided(z: f64) -> f64 {
    (2.0 * norm_sf(z.abs())).min(1.0)
}

/// Population skewness and non-excess kurtosis.
pub fn skew_kurt(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.len() < 3 {
        return (f64::NAN, f64::NAN);
    }
    let m = x.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &v in x {
        let d = v - m;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    (m3 / m2.powf(1.5), m4 / (m2 * m2))
}

/// A chi-square row against the exact per-station null: statistic `Q = Y'Cov(Y)^+Y`,
/// `df` = rank, observed shares `d0..d9`, expected shares `e0..e9`.
fn exact_chi2(test: String, scope: &str, h: &[u64; 10], n: u64, null: &ShareNull<10>, robust: bool) -> TestResult {
    let (q, df) = null.quadratic_with(h, n, robust);
    let (qo, dfo) = null.quadratic_with(h, n, !robust);
    let mut r = TestResult::new(test, scope, q, n as usize);
    if robust {
        r.extra.insert("p_model".into(), if dfo == 0 { 1.0 } else { chi2_sf(qo, dfo as f64) });
    }
    r.null_mean = Some(df as f64);
    r.null_sd = Some((2.0 * df as f64).sqrt());
    r.p = Some(if df == 0 { 1.0 } else { chi2_sf(q, df as f64) });
    r.effect = Some((q / n as f64).sqrt());
    r.extra.insert("df".into(), df as f64);
    let e = null.shares();
    for d in 0..10 {
        r.extra.insert(format!("d{d}"), h[d] as f64 / n as f64);
        r.extra.insert(format!("e{d}"), e[d]);
    }
    r
}

/// The results of one unit. `stream` separates the bootstrap streams of units.
/// Each candidate's digit histogram by name (none when `brief`), then their sum as
/// "pooled", last.
fn per_and_pooled(names: &[String], hists: &[[u64; 10]], brief: bool) -> Vec<(String, [u64; 10])> {
    let mut pooled = [0u64; 10];
    for h in hists {
        for d in 0..10 {
            pooled[d] += h[d];
        }
    }
    let mut per: Vec<(String, [u64; 10])> =
        if brief { Vec::new() } else { names.iter().cloned().zip(hists.iter().copied()).collect() };
    per.push(("pooled".into(), pooled));
    per
}

/// The battery on one unit's tallies. `brief` (commissions): the pooled and focus-candidate
/// tests only (no per-candidate chi-squares, no moments), without bootstrap intervals.
fn unit_results(cx: &Ctx, t: &Tally, scope: &str, stream: u64, resampled: &[(String, Option<Resampled>)], brief: bool) -> Vec<TestResult> {
    let o = cx.o;
    let names = &cx.e.candidates;
    let mut out = Vec::new();
    let benford = benford_second();
    let (bmean, bvar) = mean_var_of(&benford);
    let reps = if brief { 0 } else if stream == 0 { o.bootstrap } else { o.unit_bootstrap };
    let boot = |tally: &[u64; 10], values: &[f64; 10], s: u64| -> (f64, f64) {
        bootstrap_mean_ci(tally, values, reps, o.alpha, o.seed, stream * 16 + s)
    };
    let add_ci = |r: &mut TestResult, ci: (f64, f64)| {
        if ci.0.is_finite() {
            r.extra.insert("ci_lo".into(), ci.0);
            r.extra.insert("ci_hi".into(), ci.1);
        }
    };
    // ---- last-digit chi-square per candidate and pooled
    let per = per_and_pooled(names, &t.last, brief);
    let pooled_last = t.exact.pooled_last();
    for (j, (name, h)) in per.iter().enumerate() {
        let n: u64 = h.iter().sum();
        if n == 0 {
            continue;
        }
        let null = if name == "pooled" && j + 1 == per.len() { &pooled_last } else { &t.exact.last[j] };
        let (x, p) = chi2_uniform(h);
        let mut r = exact_chi2(format!("digits.last.chi2.{name}"), scope, h, n, null, robust_for(n));
        r.extra.insert("chi2_uniform".into(), x);
        r.extra.insert("p_uniform".into(), p);
        r.notes.push(format!(
            "last digits of counts >= {}: p from the exact per-station binomial null (each count redrawn as Binomial(n, x/n), n = valid votes; statistic Y'Cov(Y)^+Y, chi-square with df = rank); chi2_uniform/p_uniform: Pearson against uniform, 9 df (Beber & Scacco 2012), descriptive (small counts favour low digits by arithmetic alone)",
            o.min_count
        ));
        out.push(r);
    }
    // ---- penultimate digits (opt-in)
    if o.penultimate {
        out.extend(penultimate_results(&t.penult, names, scope, o.min_penultimate));
    }
    // ---- repeated and adjacent last-two digits
    let pr = &t.pairs;
    if pr.n > 0 {
        let pn = &t.exact.pairs;
        let e = pn.shares();
        for (c, (name, k, p0)) in [("repeated", pr.repeated, 0.10), ("adjacent", pr.adjacent, 0.18)].into_iter().enumerate() {
            let nf = pr.n as f64;
            let mut w = [0.0; 2];
            w[c] = 1.0;
            let (y, sd) = pn.linear(&[pr.repeated, pr.adjacent], pr.n, &w);
            let (yr, sdr) = pn.linear_with(&[pr.repeated, pr.adjacent], pr.n, &w, robust_for(pr.n));
            let mut r = TestResult::new(format!("digits.last.{name}"), scope, k as f64 / nf, pr.n as usize);
            r.null_mean = Some(e[c]);
            r.null_sd = Some(sdr / nf);
            r.p = Some(linear_p(yr, sdr));
            r.extra.insert("p_model".into(), linear_p(y, sd));
            r.effect = Some(k as f64 / nf - e[c]);
            r.extra.insert("count".into(), k as f64);
            r.extra.insert("p_less".into(), if sdr > 0.0 { norm_sf(-yr / sdr) } else { f64::NAN });
            r.extra.insert("p_uniform".into(), binom_test_two_sided(k, pr.n, p0));
            r.extra.insert("p_less_uniform".into(), binom_cdf(k, pr.n, p0));
            r.notes.push(format!(
                "share of counts >= {} whose last two digits are {} (uniform: {p0}); p two-sided normal against the exact per-station binomial null (null_mean), p_less one-sided fewer; p_uniform: exact binomial against {p0}, descriptive",
                o.min_count.max(10),
                if name == "repeated" { "equal" } else { "adjacent, |a-b| = 1" }
            ));
            out.push(r);
        }
    }
    // ---- EFT statistics for the focus candidate
    let f = cx.focus;
    let fname = &names[f];
    let hl = &t.last[f];
    let nl: u64 = hl.iter().sum();
    if nl > 0 {
        let nf = nl as f64;
        let mean = hl.iter().zip(DIGITS).map(|(&h, d)| h as f64 * d).sum::<f64>() / nf;
        let null = &t.exact.last[f];
        let (m0, _) = mean_var_of(&null.shares());
        let (y, sd) = null.linear(hl, nl, &DIGITS);
        let (yr, sdr) = null.linear_with(hl, nl, &DIGITS, robust_for(nl));
        let mut r = TestResult::new("digits.last.mean", scope, mean, nl as usize);
        r.null_mean = Some(m0);
        r.null_sd = Some(sdr / nf);
        r.p = Some(linear_p(yr, sdr));
        r.extra.insert("p_model".into(), linear_p(y, sd));
        r.effect = Some(mean - m0);
        r.extra.insert("p_uniform".into(), z_two_sided((mean - 4.5) / (8.25 / nf).sqrt()));
        add_ci(&mut r, boot(hl, &DIGITS, 0));
        r.notes.push(format!("mean last digit of {fname}'s counts >= {} (uniform: 4.5; unlike EFT's LastC, which takes all counts, zeros included); p two-sided normal against the exact per-station binomial null (null_mean, null_sd); p_uniform against 4.5, descriptive", o.min_count));
        out.push(r);
        let k = hl[0] + hl[5];
        let e05 = null.shares()[0] + null.shares()[5];
        let (y, sd) = null.linear(hl, nl, &IS05);
        let (yr, sdr) = null.linear_with(hl, nl, &IS05, robust_for(nl));
        let mut r = TestResult::new("digits.last.05", scope, k as f64 / nf, nl as usize);
        r.null_mean = Some(e05);
        r.null_sd = Some(sdr / nf);
        r.p = Some(linear_p(yr, sdr));
        r.extra.insert("p_model".into(), linear_p(y, sd));
        r.effect = Some(k as f64 / nf - e05);
        r.extra.insert("p_uniform".into(), binom_test_two_sided(k, nl, 0.2));
        add_ci(&mut r, boot(hl, &IS05, 1));
        r.notes.push(format!("share of {fname}'s counts >= {} ending in 0 or 5 (uniform: 0.2; unlike EFT's C05s, which takes all counts, zeros included); p two-sided normal against the exact per-station binomial null; p_uniform: exact binomial against 0.2, descriptive", o.min_count));
        out.push(r);
    }
    let h2 = &t.second[f];
    let n2: u64 = h2.iter().sum();
    if n2 > 0 {
        let nf = n2 as f64;
        let mean = h2.iter().zip(DIGITS).map(|(&h, d)| h as f64 * d).sum::<f64>() / nf;
        let mut r = TestResult::new("digits._2BL", scope, mean, n2 as usize);
        r.null_mean = Some(bmean);
        r.null_sd = Some((bvar / nf).sqrt());
        r.effect = Some(mean - bmean);
        let p_benford = z_two_sided((mean - bmean) / (bvar / nf).sqrt());
        r.extra.insert("p_benford".into(), p_benford);
        let null = &t.exact.second[f];
        let (y, sd) = null.linear(h2, n2, &DIGITS);
        let (yr, sdr) = null.linear_with(h2, n2, &DIGITS, robust_for(n2));
        let (m0, _) = mean_var_of(&null.shares());
        r.p = Some(linear_p(yr, sdr));
        r.extra.insert("p_model".into(), linear_p(y, sd));
        r.extra.insert("mean_exact".into(), m0);
        r.extra.insert("sd_exact".into(), sdr / nf);
        add_ci(&mut r, boot(h2, &DIGITS, 2));
        match resampled.iter().find(|(n, _)| n == fname).and_then(|(_, x)| x.as_ref()) {
            Some(rs) => {
                r.extra.insert("p_resampled".into(), rs.p_mean);
                r.extra.insert("mean_resampled".into(), rs.mean_expected);
                r.extra.insert("sd_resampled".into(), rs.mean_null_sd);
                r.notes.push(format!(
                    "_2BL (EFT's definition): mean second digit of {fname}'s counts >= 10; p two-sided normal against the exact per-station binomial null (mean_exact, sd_exact); p_resampled from the log10-jitter null ({} replicates, sd {}) and null_mean/null_sd/p_benford (classical Benford, 4.187) descriptive",
                    rs.draws, rs.jitter_sd
                ));
            }
            None => r.notes.push(format!(
                "_2BL (EFT's definition): mean second digit of {fname}'s counts >= 10; p two-sided normal against the exact per-station binomial null (mean_exact, sd_exact); p_benford (classical Benford, 4.187) descriptive"
            )),
        }
        out.push(r);
    }
    for (name, h, what, null) in [
        ("digits.pct05.turnout", &t.pct_turnout, "turnout percentages round(100*B/N)", &t.exact.p05_turnout),
        ("digits.pct05.share", &t.pct_share, "focus-candidate percentages round(100*v/V)", &t.exact.p05_share),
    ] {
        let n: u64 = h.iter().sum();
        if n == 0 {
            continue;
        }
        let nf = n as f64;
        let k = h[0] + h[5];
        let (y, sd) = null.linear(&[k], n, &[1.0]);
        let (yr, sdr) = null.linear_with(&[k], n, &[1.0], robust_for(n));
        let e05 = null.shares()[0];
        let mut r = TestResult::new(name, scope, k as f64 / nf, n as usize);
        r.null_mean = Some(e05);
        r.null_sd = Some(sdr / nf);
        r.p = Some(linear_p(yr, sdr));
        r.extra.insert("p_model".into(), linear_p(y, sd));
        r.extra.insert("p_uniform".into(), binom_test_two_sided(k, n, 0.2));
        r.effect = Some(k as f64 / nf - e05);
        add_ci(&mut r, boot(h, &IS05, if name == "digits.pct05.turnout" { 3 } else { 4 }));
        r.notes.push(format!(
            "share of {what} ending in 0 or 5 (uniform: 0.2), denominators >= {}, rounded half up (unlike EFT's P05s: every denominator, R's half-to-even rounding); p two-sided normal against the exact per-station binomial null (numerator redrawn as Binomial(n, x/n)); p_uniform: exact binomial against 0.2, descriptive",
            o.min_denominator
        ));
        out.push(r);
    }
    for (what, x) in [("turnout", &t.turnout), ("share", &t.share)] {
        if x.len() < 3 || brief {
            continue;
        }
        let (s, k) = skew_kurt(x);
        let nf = x.len() as f64;
        for (name, v, m, sd) in [("skew", s, 0.0, (6.0 / nf).sqrt()), ("kurt", k, 3.0, (24.0 / nf).sqrt())] {
            let mut r = TestResult::new(format!("digits.{name}.{what}"), scope, v, x.len());
            r.null_mean = Some(m);
            r.null_sd = Some(sd);
            r.effect = Some(v - m);
            r.notes.push(format!(
                "{name} of the {what} distribution (population moments; kurtosis non-excess), denominators >= {} (unlike EFT's Skew/Kurt: every denominator); normal-theory reference, descriptive (heterogeneity moves it without fraud), no p",
                o.min_denominator
            ));
            out.push(r);
        }
    }
    // ---- 2BL chi-square per candidate and pooled
    let per2 = per_and_pooled(names, &t.second, brief);
    let pooled_second = t.exact.pooled_second();
    for (j, (name, h)) in per2.iter().enumerate() {
        let n: u64 = h.iter().sum();
        if n == 0 {
            continue;
        }
        let null = if j + 1 == per2.len() { &pooled_second } else { &t.exact.second[j] };
        let (xb, pb) = chi2_gof(h, &benford);
        let mut r = exact_chi2(format!("digits.2bl.chi2.{name}"), scope, h, n, null, robust_for(n));
        let rs = resampled.iter().find(|(n2, _)| n2 == name).and_then(|(_, x)| x.as_ref());
        if let Some(rs) = rs {
            r.extra.insert("chi2_resampled".into(), rs.chi2);
            r.extra.insert("p_resampled".into(), rs.p_chi2);
        }
        r.notes.push(format!(
            "2BL: second digits of counts >= 10; p from the exact per-station binomial null (each count redrawn as Binomial(n, x/n); Y'Cov(Y)^+Y, chi-square with df = rank); {}chi2_benford/p_benford: the classical Benford test, descriptive (rejects clean elections of similar-sized stations)",
            rs.map(|rs| format!("chi2_resampled/p_resampled: the log10-jitter resampled null (sd {}, {} replicates), descriptive; ", rs.jitter_sd, rs.draws)).unwrap_or_default()
        ));
        r.extra.insert("chi2_benford".into(), xb);
        r.extra.insert("p_benford".into(), pb);
        out.push(r);
    }
    out
}

/// Resampled 2BL nulls of one set of stations: per candidate (named) and pooled.
fn resampled_set(cx: &Ctx, stations: &[usize], ro: &ResampleOptions) -> Vec<(String, Option<Resampled>)> {
    if ro.draws == 0 {
        return Vec::new();
    }
    let sets: Vec<Vec<u32>> = cx.e.votes.iter().map(|col| stations.iter().map(|&i| col[i]).collect()).collect();
    let keys: Vec<u64> = cx.e.candidates.iter().map(|c| set_key(c)).collect();
    let r = resampled_nulls_keyed(sets, &keys, cx.o.min_count, Place::Second, ro);
    cx.e.candidates.iter().cloned().chain(std::iter::once("pooled".to_string())).zip(r).collect()
}

fn fill_q_by_test(results: &mut [TestResult]) {
    let mut by: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in results.iter().enumerate() {
        by.entry(r.test.clone()).or_default().push(i);
    }
    for idx in by.values() {
        let p: Vec<Option<f64>> = idx.iter().map(|&i| results[i].p).collect();
        for (&i, q) in idx.iter().zip(bh_opt(&p)) {
            results[i].q = q;
        }
    }
}

/// Runs every digit test on an election.
pub fn analyze(e: &Election, o: &DigitOptions) -> crate::Result<DigitReport> {
    use crate::Error;
    if e.votes.is_empty() {
        return Err(Error::Usage("digit tests: the file has no candidate columns".into()));
    }
    let focus = match o.candidate {
        Some(j) if j < e.votes.len() => j,
        Some(j) => return Err(Error::Usage(format!("digit tests: no candidate number {j}"))),
        None => e.leader().unwrap_or(0),
    };
    let mut notes = Vec::new();
    let (stations, (ab, el, sp)) = super::common::ordinary_stations(e, o.include_abroad, o.include_electronic, &mut notes);
    let registered = e.get(Role::Registered);
    let turnout_num = match e.get(Role::Issued) {
        Some(b) => Some(b),
        None => {
            if e.get(Role::InBoxes).is_some() {
                notes.push("no ballots-issued line: pct05.turnout uses C/N".into());
            }
            e.get(Role::InBoxes)
        }
    };
    if registered.is_none() || turnout_num.is_none() {
        notes.push("no registered voters or ballots: pct05.turnout and turnout shape not computed".into());
    }
    let share_den = e.valid_or_sum();
    let priors = match o.null {
        DigitNull::BetaBinomial => {
            let den = |i: usize| share_den[i].max(e.votes.iter().map(|v| v[i] as u64).sum());
            Some(prior::StationPriors::fit(e, &stations, &den))
        }
        DigitNull::Plugin => None,
    };
    let cx = Ctx { e, stations, focus, turnout_num, registered, share_den, priors, o };
    // nation
    // The exact nulls are additive over stations: with regions, one pass per region and
    // the nation as their sum (one binomial walk per station and count in all).
    // Commissions (the lowest level above stations) hang under one region each: their
    // exact nulls are computed first, one commission at a time within each region, and
    // summed in commission order into the region's, which the nation sums in turn — one
    // binomial walk per station and count for all three scopes (was two: a pass for the
    // regions and another for the commissions), and only the commissions being worked on
    // hold one (Russia's 2,700 would be 80 MB).
    let comm_level = e.levels.len().checked_sub(1).filter(|&l| l >= 1 && o.commissions && o.regions);
    let regions_of = comm_level.and_then(|cl| region_of_units(e, cl));
    let mut commission_results: Option<Vec<TestResult>> = None;
    let region_exact: Option<Vec<ExactUnit>> = match (e.levels.first(), comm_level, &regions_of) {
        (Some(rl), Some(cl), Some(region_of)) => {
            let l = &e.levels[cl];
            let mut by_region: Vec<Vec<(usize, Tally)>> = (0..rl.n_units()).map(|_| Vec::new()).collect();
            for (u, t) in tally_counts(&cx, l.n_units(), &|i| l.code[i] as usize).into_iter().enumerate() {
                by_region[region_of[u]].push((u, t));
            }
            let members = members_of(&cx, l.n_units(), &|i| l.code[i] as usize);
            let names = e.scope_labels(cl);
            let k = e.votes.len();
            let per_region: Vec<(ExactUnit, Vec<(usize, Vec<TestResult>)>)> = by_region
                .into_par_iter()
                .map(|comms| {
                    let mut acc = ExactUnit::new(k);
                    let mut res = Vec::new();
                    for (u, mut tu) in comms {
                        tu.exact = exact_of(&cx, &members[u]);
                        acc.merge(&tu.exact);
                        if has_counts(&tu) {
                            res.push((u, commission_unit(&cx, &tu, u, &members[u], &names)));
                        }
                    }
                    (acc, res)
                })
                .collect();
            let mut res: Vec<(usize, Vec<TestResult>)> = Vec::new();
            let mut exact = Vec::with_capacity(per_region.len());
            for (x, r) in per_region {
                exact.push(x);
                res.extend(r);
            }
            res.sort_by_key(|(u, _)| *u);
            let mut flat: Vec<TestResult> = res.into_iter().flat_map(|(_, r)| r).collect();
            fill_q_by_test(&mut flat);
            commission_results = Some(flat);
            Some(exact)
        }
        _ => match e.levels.first() {
            Some(l) if o.regions => Some(exact_units(&cx, l.n_units(), &|i| l.code[i] as usize)),
            _ => None,
        },
    };
    let mut nat = tally_counts(&cx, 1, &|_| 0);
    nat[0].exact = match &region_exact {
        Some(r) => {
            let mut x = ExactUnit::new(e.votes.len());
            for u in r {
                x.merge(u);
            }
            x
        }
        None => exact_units(&cx, 1, &|_| 0).pop().expect("one unit"),
    };
    let mut region_exact = region_exact;
    let resampled = resampled_set(&cx, &cx.stations, &o.resample);
    let nation = unit_results(&cx, &nat[0], "nation", 0, &resampled, false);
    // units
    // `brief`: the commissions' shorter battery (see `unit_results`).
    let mut unit_run = |level: usize, kind: &str, base: u64, brief: bool| -> Vec<TestResult> {
        let Some(l) = e.levels.get(level) else { return Vec::new() };
        let units = l.n_units();
        // Regions have their exact nulls already (summed into the nation); other levels
        // get each unit's as its results are taken.
        let (t, lazy) = match (level, region_exact.take()) {
            (0, Some(x)) => {
                let mut t = tally_counts(&cx, units, &|i| l.code[i] as usize);
                for (u, x) in t.iter_mut().zip(x) {
                    u.exact = x;
                }
                (t, false)
            }
            _ => (tally_counts(&cx, units, &|i| l.code[i] as usize), true),
        };
        let members = members_of(&cx, units, &|i| l.code[i] as usize);
        let names = e.scope_labels(level);
        let label = |u: usize| -> String { format!("{kind}:{}", names[u]) };
        let mut res: Vec<TestResult> = t
            .into_par_iter()
            .enumerate()
            .filter(|(_, tu)| has_counts(tu))
            .map(|(u, mut tu)| {
                if lazy {
                    tu.exact = exact_of(&cx, &members[u]);
                }
                let rs = if o.unit_draws > 0 {
                    let ro = ResampleOptions {
                        draws: o.unit_draws,
                        jitter_sd: o.resample.jitter_sd,
                        seed: o.resample.seed ^ ((base + u as u64) << 20),
                    };
                    resampled_set(&cx, &members[u], &ro)
                } else {
                    Vec::new()
                };
                unit_results(&cx, &tu, &label(u), base + u as u64 + 1, &rs, brief)
            })
            .flatten_iter()
            .collect();
        fill_q_by_test(&mut res);
        res
    };
    let regions = if o.regions { unit_run(0, "region", 0, false) } else { Vec::new() };
    // Commissions: the lowest level above stations, as the integer test's.
    let commissions = match commission_results {
        Some(r) => r,
        None if o.commissions && e.levels.len() >= 2 => unit_run(e.levels.len() - 1, "commission", COMMISSION_STREAMS, true),
        None => Vec::new(),
    };
    Ok(DigitReport {
        candidates: e.candidates.clone(),
        focus: e.candidates[focus].clone(),
        min_count: o.min_count,
        stations: e.len(),
        included: cx.stations.len(),
        excluded_abroad: ab,
        excluded_electronic: el,
        excluded_special: sp,
        nation,
        regions,
        commissions,
        resampled: resampled.into_iter().filter_map(|(n, r)| r.map(|r| (n, r))).collect(),
        notes,
    })
}

