//! Integer percentages (Kobak, Shpilkin & Pshenichnikov 2016, Annals of Applied Statistics
//! 10(1):54–73; Significance 2016, 2018, 2020). DESIGN.md §3.
//!
//! A station is *integer* for a ratio `x/n` when `|100·x/n − m| ≤ h` for an integer `m`
//! that is a multiple of `period` (h = 0.05 pp by default: bins 0.1 pp wide centred on the
//! integers). Counted for turnout `T = B/N`, for the leader's share `S = v/C`, and for
//! "either". Inclusion as in the papers: `C > 0`, `N ≥ 100`, `T ≤ 0.99`, `S ≤ 0.99`;
//! stations abroad and electronic pseudo-stations are set aside by default and counted.
//!
//! # The null, computed exactly
//!
//! Kobak et al. redraw each station's numerator as `Binomial(n, x/n)`, independently, and
//! count integer stations over 1,000 Monte Carlo draws. The count is a sum of independent
//! Bernoulli variables, one per station, with success probability
//! `p_i = P(Binomial(n, x/n) lands in an integer bin) = Σ_{k qualifying} pmf(k)`,
//! a finite sum. So the null mean is `Σ p_i` and the variance `Σ p_i (1 − p_i)` — exactly,
//! without simulation noise. "Either" uses two independent draws: `1 − (1 − p_T)(1 − p_S)`.
//! Weighted variants (voters, ballots, leader votes): mean `Σ w_i p_i`, variance
//! `Σ w_i² p_i (1 − p_i)`.
//!
//! The pmf is evaluated in log space from a table of `ln k!` (each entry from Stirling's
//! series with Loader's remainders, as in R's `dbinom`, so accurate to a few ulps); the
//! first term of each bin costs one `exp`, the others follow by the ratio recursion. The
//! result is good to ~1e-12 relative (tested against a brute-force sum of Loader's
//! `dbinom` over all `k`).
//! Every integer bin 0 … 100 counts; bins are visited outwards from the mode and a side
//! stops once a rigorous bound on all the mass beyond it (the pmf is log-concave, so the
//! tail beyond term `t` with next-term ratio `r < 1` is below `t·r/(1−r)`) falls under
//! 1e-14 of the sum so far.
//!
//! p-values: the Poisson-binomial upper tail `P(X ≥ observed)`, see
//! [`crate::stats::common`] (exact DP for small inputs, saddlepoint otherwise; weighted
//! variants use the continuous saddlepoint approximation). A Monte Carlo mode (seeded
//! ChaCha8, one stream per draw, parallel over draws, so identical for any thread count)
//! reproduces the papers' procedure as a cross-check.
//!
//! # Turnout definition and Kobak et al.'s numbers
//!
//! Kobak et al.'s code computes turnout as ballots issued / registered (`B/N`) and the
//! leader's share as leader votes / ballots in boxes (`v/C`, with `C` = valid + invalid),
//! which is also DESIGN.md's definition and our default. `TurnoutNumerator::InBoxes`
//! (`C/N`) is offered for files without an issued line and for comparison.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use rayon::prelude::*;
use serde::Serialize;

use super::TestResult;
use super::common::{TailMethod, pb_sf, weighted_sf};
use crate::model::{Election, Role, Special};

/// Numerator of turnout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnoutNumerator {
    /// `B`: ballots issued (DESIGN.md; Kobak et al.).
    Issued,
    /// `C`: ballots found in boxes (valid + invalid).
    InBoxes,
}

impl TurnoutNumerator {
    pub fn label(self) -> &'static str {
        match self {
            TurnoutNumerator::Issued => "B/N (ballots issued / registered voters)",
            TurnoutNumerator::InBoxes => "C/N (ballots in boxes / registered voters)",
        }
    }
}

/// Settings of the integer-percentage test. `Default` is the papers' setting.
#[derive(Debug, Clone, Serialize)]
pub struct IntegerOptions {
    /// Half-width of an integer bin, in percentage points (0.05).
    pub half_width: f64,
    /// The rounded percentage must be a multiple of this (1, 5 or 10).
    pub period: u32,
    /// Minimum registered voters `N` (100).
    pub min_registered: u32,
    /// Maximum turnout (0.99).
    pub max_turnout: f64,
    /// Maximum leader share (0.99).
    pub max_share: f64,
    /// Keep stations abroad (default: set aside and counted).
    pub include_abroad: bool,
    /// Keep electronic-voting pseudo-stations (default: set aside and counted).
    pub include_electronic: bool,
    /// Turnout numerator; `None` = ballots issued where the file has them, else in boxes.
    pub turnout: Option<TurnoutNumerator>,
    /// Leader candidate index; `None` = most votes nationally.
    pub leader: Option<usize>,
    /// Monte Carlo cross-check: `(draws, seed)`.
    pub mc: Option<(usize, u64)>,
    /// Per-region runs (top hierarchy level) with BH q-values.
    pub regions: bool,
    /// Per-commission runs (lowest level above stations, if distinct from regions),
    /// with BH q-values across commissions.
    pub commissions: bool,
    /// Weighted variants (voters, ballots, leader votes).
    pub weighted: bool,
}

impl Default for IntegerOptions {
    fn default() -> Self {
        IntegerOptions {
            half_width: 0.05,
            period: 1,
            min_registered: 100,
            max_turnout: 0.99,
            max_share: 0.99,
            include_abroad: false,
            include_electronic: false,
            turnout: None,
            leader: None,
            mc: None,
            regions: true,
            commissions: true,
            weighted: true,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bins

/// Half-width is held as an exact rational `hw_micro / 10⁶` pp, so that the station test
/// and the pmf sums agree exactly at bin edges (e.g. 100·1001/2000 = 50.05 is in).
#[derive(Debug, Clone, Copy)]
pub struct Bins {
    hw_micro: i64,
    period: u32,
}

impl Bins {
    /// `half_width` in percentage points (0 < h < 0.5), `period` ≥ 1.
    pub fn new(half_width: f64, period: u32) -> Bins {
        assert!(half_width > 0.0 && half_width < 0.5, "half-width must be in (0, 0.5) percentage points");
        assert!(period >= 1, "period must be at least 1");
        Bins { hw_micro: (half_width * 1e6).round() as i64, period }
    }

    /// Is `x/n` integer (within the half-width of a multiple of `period` percent)?
    #[inline]
    pub fn hit(&self, x: u64, n: u64) -> bool {
        if n == 0 {
            return false;
        }
        // i64 is exact here for n, x < 2³²: |100x − m n|·10⁶ ≤ 4.3·10¹⁷
        debug_assert!(n <= u32::MAX as u64 && x <= u32::MAX as u64);
        let (x, n) = (x as i64, n as i64);
        let m = (200 * x + n) / (2 * n); // round half up of 100x/n
        if m % self.period as i64 != 0 {
            return false;
        }
        (100 * x - m * n).abs() * 1_000_000 <= self.hw_micro * n
    }

    /// Qualifying `k` of bin `m` for denominator `n`: `[lo, hi]` (empty when lo > hi).
    #[inline]
    fn range(&self, m: i64, n: u64) -> (i64, i64) {
        // exact in i64 for n < 2³²: 10⁶·100·n < 4.3·10¹⁷
        let n = n as i64;
        let a = 1_000_000 * m * n - self.hw_micro * n; // 10⁸·k ≥ a
        let b = 1_000_000 * m * n + self.hw_micro * n; // 10⁸·k ≤ b
        const D: i64 = 100_000_000;
        let lo = if a <= 0 { 0 } else { (a + D - 1) / D };
        let hi = if b < 0 { -1 } else { (b / D).min(n) };
        (lo, hi)
    }
}

// ---------------------------------------------------------------------------------------
// Binomial pmf (Loader 2000, as R's dbinom)

/// `ln(n!) − ln(√(2π n) (n/e)^n)`, the Stirling remainder.
fn stirlerr(n: u64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    // exact values for n = 0..15 (from ln n! summed in extended care; R's sferr_halves)
    const SMALL: [f64; 16] = [
        0.0, // n = 0 (unused)
        0.0810614667953272582196702,
        0.0413406959554092940938221,
        0.02767792568499833914878929,
        0.02079067210376509311152277,
        0.01664469118982119216319487,
        0.01387612882307074799874573,
        0.01189670994589177009505572,
        0.010411265261972096497478567,
        0.009255462182712732917728637,
        0.008330563433362871256469318,
        0.007573675487951840794972024,
        0.006942840107209529865664152,
        0.006408994188004207068439631,
        0.005951370112758847735624416,
        0.005554733551962801371038690,
    ];
    if n <= 15 {
        return SMALL[n as usize];
    }
    let n = n as f64;
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// `x ln(x/np) + np − x`, computed without cancellation.
fn bd0(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        for j in 1..1000 {
            ej *= v2;
            let s1 = s + ej / (2 * j + 1) as f64;
            if s1 == s {
                return s1;
            }
            s = s1;
        }
        s
    } else {
        x * (x / np).ln() + np - x
    }
}

/// `ln P(Binomial(n, p) = x)`, `q = 1 − p` given separately for precision.
pub fn ln_binom_pmf(x: u64, n: u64, p: f64, q: f64) -> f64 {
    if x > n {
        return f64::NEG_INFINITY;
    }
    if p <= 0.0 {
        return if x == 0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if q <= 0.0 {
        return if x == n { 0.0 } else { f64::NEG_INFINITY };
    }
    let nf = n as f64;
    if x == 0 {
        if n == 0 {
            return 0.0;
        }
        return if p < 0.1 { -bd0(nf, nf * q) - nf * p } else { nf * q.ln() };
    }
    if x == n {
        return if q < 0.1 { -bd0(nf, nf * p) - nf * q } else { nf * p.ln() };
    }
    let xf = x as f64;
    let lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(xf, nf * p) - bd0(nf - xf, nf * q);
    let lf = (2.0 * std::f64::consts::PI).ln() + xf.ln() + (-xf / nf).ln_1p();
    lc - 0.5 * lf
}

/// `ln k!` for `k = 0..=max`, each entry accurate to a few ulps (Stirling's series with
/// Loader's remainders, not a running sum).
fn ln_factorials(max: u64) -> Vec<f64> {
    let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let mut lf = Vec::with_capacity(max as usize + 1);
    let mut acc = 0.0f64;
    for k in 0..=max {
        if k <= 15 {
            if k > 0 {
                acc += (k as f64).ln();
            }
            lf.push(acc);
        } else {
            let kf = k as f64;
            lf.push((kf + 0.5) * kf.ln() - kf + half_ln_2pi + stirlerr(k));
        }
    }
    lf
}

/// The per-station null probability engine: a bin layout plus a table of `ln k!`.
///
/// `ln pmf(k) = ln n! − ln k! − ln (n−k)! + k ln p + (n−k) ln q` from the table costs a few
/// flops; its absolute error is a few ulps of `ln n!` (≈ 1e-11 for n = 10⁴), i.e. relative
/// error ≈ 1e-10 on each term — far below anything a test reports. (The slower
/// [`ln_binom_pmf`], Loader's algorithm, is the reference the tests compare against.)
#[derive(Debug, Clone)]
pub struct IntegerNull {
    bins: Bins,
    lf: Vec<f64>,
}

impl IntegerNull {
    /// Engine for denominators up to `max_n`.
    pub fn new(bins: Bins, max_n: u64) -> IntegerNull {
        IntegerNull { bins, lf: ln_factorials(max_n) }
    }

    pub fn bins(&self) -> &Bins {
        &self.bins
    }

    /// `P(Binomial(n, x/n) lands in an integer bin)`: the station's null probability `p_i`.
    pub fn probability(&self, x: u64, n: u64) -> f64 {
        let bins = &self.bins;
        if n == 0 {
            return 0.0;
        }
        if x == 0 || x >= n {
            // degenerate draw: always the observed value
            return if bins.hit(x.min(n), n) { 1.0 } else { 0.0 };
        }
        assert!((n as usize) < self.lf.len(), "IntegerNull built for n ≤ {}, asked for {n}", self.lf.len() - 1);
        let lf = &self.lf;
        let p = x as f64 / n as f64;
        let q = (n - x) as f64 / n as f64;
        let nf = n as f64;
        let lr = p.ln() - q.ln();
        let c0 = lf[n as usize] + nf * q.ln();
        let lnpmf = |k: i64| c0 - lf[k as usize] - lf[(n as i64 - k) as usize] + k as f64 * lr;
        let mode = (((nf + 1.0) * p).floor() as u64).min(n) as i64;
        // Bins are visited outwards from the mode's; a side stops when a rigorous bound on
        // all the mass beyond the current bin falls below TAIL × the sum so far.
        const TAIL: f64 = 1e-14;
        let per = bins.period as i64;
        let top = 100 / per * per;
        let mc = ((100.0 * mode as f64 / nf / per as f64).round() as i64 * per).clamp(0, top);
        let mut sum = 0.0f64;
        // upwards from mc: terms increase towards the mode, so a bin above the mode has its
        // largest term at `lo`; below the mode, at `hi`.
        let mut m = mc;
        while m <= 100 {
            let (lo, hi) = bins.range(m, n);
            if lo <= hi {
                let mut t = lnpmf(lo).exp();
                let mut s = t;
                for k in lo..hi {
                    t *= (n as i64 - k) as f64 / (k + 1) as f64 * (p / q);
                    s += t;
                }
                sum += s;
                if lo > mode {
                    // everything above `hi` is below t·r/(1−r), r = pmf(hi+1)/pmf(hi)
                    // (the ratio only falls further out: the pmf is log-concave)
                    let r = (n as i64 - hi) as f64 / (hi + 1) as f64 * (p / q);
                    if t == 0.0 || (r < 1.0 && t * r / (1.0 - r) < TAIL * sum) {
                        break;
                    }
                }
            }
            m += per;
        }
        let mut m = mc - per;
        while m >= 0 {
            let (lo, hi) = bins.range(m, n);
            if lo <= hi {
                let mut t = lnpmf(hi).exp();
                let mut s = t;
                for k in (lo + 1..=hi).rev() {
                    // pmf(k−1) = pmf(k) · k / (n − k + 1) · q/p
                    t *= k as f64 / (n as i64 - k + 1) as f64 * (q / p);
                    s += t;
                }
                sum += s;
                if hi < mode {
                    let r = lo as f64 / (n as i64 - lo + 1) as f64 * (q / p);
                    if t == 0.0 || (r < 1.0 && t * r / (1.0 - r) < TAIL * sum) {
                        break;
                    }
                }
            }
            m -= per;
        }
        sum.min(1.0)
    }
}

/// `P(Binomial(n, x/n) lands in an integer bin)` for one station (builds a table of size
/// `n`; use [`IntegerNull`] for many stations).
pub fn integer_probability(x: u64, n: u64, bins: &Bins) -> f64 {
    IntegerNull::new(*bins, n).probability(x, n)
}

/// Reference implementation for tests: sums the pmf over every qualifying `k` in `0..=n`.
pub fn integer_probability_bruteforce(x: u64, n: u64, bins: &Bins) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let p = x as f64 / n as f64;
    let q = (n - x.min(n)) as f64 / n as f64;
    (0..=n).filter(|&k| bins.hit(k, n)).map(|k| ln_binom_pmf(k, n, p, q).exp()).sum()
}

// ---------------------------------------------------------------------------------------
// Input and report

/// Plain-slice input: one entry per station.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// `N`.
    pub registered: &'a [u32],
    /// Turnout numerator (`B`, or `C` on fallback).
    pub turnout_numerator: &'a [u32],
    /// `C` (valid + invalid), denominator of the leader share.
    pub in_boxes: &'a [u32],
    /// Leader votes `v`.
    pub leader: &'a [u32],
    /// Special status per station (abroad, electronic); `None` = all ordinary.
    pub special: Option<&'a [Option<Special>]>,
    /// Region of each station and the region labels (for per-region runs).
    pub region: Option<(&'a [u32], &'a [String])>,
    /// Commission (the level just above stations, when there are at least two levels)
    /// of each station and the labels (for per-commission runs).
    pub commission: Option<(&'a [u32], &'a [String])>,
    /// What the turnout numerator is (for the output).
    pub turnout_definition: TurnoutNumerator,
    /// Leader's name (for the output).
    pub leader_name: &'a str,
}

/// Stations set aside, by the first rule they fail (in this order).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Exclusions {
    pub abroad: usize,
    pub electronic: usize,
    /// Institutions, ships, mobile, designated and partly published stations.
    pub special: usize,
    /// `C = 0`.
    pub no_ballots: usize,
    /// `N < min_registered`.
    pub small: usize,
    /// `T > max_turnout` (includes `B > N`).
    pub high_turnout: usize,
    /// `S > max_share` (includes `v > C`).
    pub high_share: usize,
}

/// Per-station detail for the ranking (DESIGN.md §4): which ratio landed on an integer and
/// how likely that was under the binomial null.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct StationInteger {
    /// Station index in the election.
    pub index: usize,
    pub hit_turnout: bool,
    pub hit_leader: bool,
    pub p_turnout: f64,
    pub p_leader: f64,
}

/// Everything the integer test found.
#[derive(Debug, Clone, Serialize)]
pub struct IntegerReport {
    pub turnout_definition: TurnoutNumerator,
    pub leader: String,
    pub half_width: f64,
    pub period: u32,
    /// Stations in the input.
    pub stations: usize,
    /// Stations analysed.
    pub included: usize,
    pub excluded: Exclusions,
    /// `integer.turnout`, station weights.
    pub turnout: TestResult,
    /// `integer.leader`, station weights.
    pub leader_share: TestResult,
    /// `integer.either`, station weights.
    pub either: TestResult,
    /// `integer.{turnout,leader,either}.{voters,ballots,leader_votes}`.
    pub weighted: Vec<TestResult>,
    /// Per-region `integer.{turnout,leader,either}` with BH q-values within each test.
    pub regions: Vec<TestResult>,
    /// Per-commission results (scope `commission:<region>/<label>`), q-values across
    /// commissions. Empty in `Analysis::integer`: `analysis` moves them into its results.
    pub commissions: Vec<TestResult>,
    /// Per included station.
    #[serde(skip)]
    pub station: Vec<StationInteger>,
    pub notes: Vec<String>,
}

impl IntegerReport {
    /// All results, national first.
    pub fn results(&self) -> Vec<TestResult> {
        let mut v = vec![self.turnout.clone(), self.leader_share.clone(), self.either.clone()];
        v.extend(self.weighted.iter().cloned());
        v.extend(self.regions.iter().cloned());
        v.extend(self.commissions.iter().cloned());
        v
    }

    /// As [`results`](Self::results), moving the per-commission rows out (they are
    /// most of the rows: 750,000 at 10 million stations) instead of copying them;
    /// `commissions` is empty afterwards.
    pub fn take_results(&mut self) -> Vec<TestResult> {
        let commissions = std::mem::take(&mut self.commissions);
        let mut v = self.results();
        v.extend(commissions);
        v
    }
}

/// Runs the test on an election: reads the slices, then [`run`].
pub fn analyze(e: &Election, opts: &IntegerOptions) -> crate::Result<IntegerReport> {
    use crate::Error;
    let registered = e
        .get(Role::Registered)
        .ok_or_else(|| Error::Usage("integer test: the file has no registered-voters column (N)".into()))?;
    let boxes_owned;
    let in_boxes: &[u32] = match e.get(Role::InBoxes) {
        Some(c) => c,
        None => match (e.get(Role::Valid), e.get(Role::Invalid)) {
            (Some(v), Some(i)) => {
                boxes_owned = v.iter().zip(i).map(|(&a, &b)| a.saturating_add(b)).collect::<Vec<u32>>();
                &boxes_owned
            }
            _ => {
                return Err(Error::Usage(
                    "integer test: the file has neither ballots-in-boxes (C) nor valid and invalid columns".into(),
                ));
            }
        },
    };
    let leader_idx = match opts.leader {
        Some(j) if j < e.votes.len() => j,
        Some(j) => return Err(Error::Usage(format!("integer test: no candidate number {j}"))),
        None => e.leader().ok_or_else(|| Error::Usage("integer test: the file has no candidate columns".into()))?,
    };
    let mut notes = Vec::new();
    let (def, num) = match opts.turnout {
        Some(TurnoutNumerator::InBoxes) => (TurnoutNumerator::InBoxes, in_boxes),
        Some(TurnoutNumerator::Issued) => match e.get(Role::Issued) {
            Some(b) => (TurnoutNumerator::Issued, b),
            None => {
                return Err(Error::Usage("integer test: turnout B/N asked for, but the file has no ballots-issued column".into()));
            }
        },
        None => match e.get(Role::Issued) {
            Some(b) => (TurnoutNumerator::Issued, b),
            None => {
                notes.push("the file has no ballots-issued line: turnout is C/N (ballots in boxes / registered)".into());
                (TurnoutNumerator::InBoxes, in_boxes)
            }
        },
    };
    let region = e.levels.first().map(|l| (l.code.as_slice(), l.labels.as_slice()));
    // Commission scopes carry their region (labels repeat across regions).
    let commission_labels = if e.levels.len() >= 2 { e.scope_labels(e.levels.len() - 1) } else { Vec::new() };
    let commission = if e.levels.len() >= 2 { e.levels.last().map(|l| (l.code.as_slice(), commission_labels.as_slice())) } else { None };
    let special = if e.special.len() == e.len() { Some(e.special.as_slice()) } else { None };
    let input = Input {
        registered,
        turnout_numerator: num,
        in_boxes,
        leader: &e.votes[leader_idx],
        special,
        region,
        commission,
        turnout_definition: def,
        leader_name: &e.candidates[leader_idx],
    };
    let mut r = run(&input, opts);
    notes.append(&mut r.notes);
    r.notes = notes;
    Ok(r)
}

/// The test on plain slices.
pub fn run(input: &Input, opts: &IntegerOptions) -> IntegerReport {
    let bins = Bins::new(opts.half_width, opts.period);
    let n_all = input.registered.len();
    // ---- inclusion
    let mut ex = Exclusions::default();
    let mut inc: Vec<usize> = Vec::with_capacity(n_all);
    let max_t = (opts.max_turnout * 1e6).round() as u64;
    let max_s = (opts.max_share * 1e6).round() as u64;
    for i in 0..n_all {
        match input.special.and_then(|s| s[i]) {
            Some(Special::Abroad) if !opts.include_abroad => {
                ex.abroad += 1;
                continue;
            }
            Some(Special::Electronic) if !opts.include_electronic => {
                ex.electronic += 1;
                continue;
            }
            // Hospitals, prisons, ships, partly published protocols: never ordinary.
            Some(s) if s.is_institutional() => {
                ex.special += 1;
                continue;
            }
            _ => {}
        }
        let (nn, b, c, v) = (
            input.registered[i] as u64,
            input.turnout_numerator[i] as u64,
            input.in_boxes[i] as u64,
            input.leader[i] as u64,
        );
        if c == 0 {
            ex.no_ballots += 1;
        } else if nn < opts.min_registered as u64 || nn == 0 {
            ex.small += 1;
        } else if b * 1_000_000 > max_t * nn {
            ex.high_turnout += 1;
        } else if v * 1_000_000 > max_s * c {
            ex.high_share += 1;
        } else {
            inc.push(i);
        }
    }
    // ---- per-station probabilities (parallel over stations)
    let max_n = inc
        .iter()
        .map(|&i| (input.registered[i] as u64).max(input.in_boxes[i] as u64))
        .max()
        .unwrap_or(0);
    let engine = IntegerNull::new(bins, max_n);
    let station: Vec<StationInteger> = inc
        .par_iter()
        .with_min_len(256)
        .map(|&i| {
            let (nn, b, c, v) = (
                input.registered[i] as u64,
                input.turnout_numerator[i] as u64,
                input.in_boxes[i] as u64,
                input.leader[i] as u64,
            );
            StationInteger {
                index: i,
                hit_turnout: bins.hit(b, nn),
                hit_leader: bins.hit(v, c),
                p_turnout: engine.probability(b, nn),
                p_leader: engine.probability(v, c),
            }
        })
        .collect();
    let pt: Vec<f64> = station.iter().map(|s| s.p_turnout).collect();
    let ps: Vec<f64> = station.iter().map(|s| s.p_leader).collect();
    let pe: Vec<f64> = station.iter().map(|s| 1.0 - (1.0 - s.p_turnout) * (1.0 - s.p_leader)).collect();
    let ht: Vec<bool> = station.iter().map(|s| s.hit_turnout).collect();
    let hs: Vec<bool> = station.iter().map(|s| s.hit_leader).collect();
    let he: Vec<bool> = station.iter().map(|s| s.hit_turnout || s.hit_leader).collect();

    let common_notes = |what: &str| -> Vec<String> {
        vec![
            format!(
                "{what}; integer = within {} pp of a multiple of {}%; turnout = {}; leader share = v/C, leader {}",
                opts.half_width,
                opts.period,
                input.turnout_definition.label(),
                input.leader_name
            ),
            "null: each station's numerator redrawn Binomial(n, x/n) independently; mean and sd exact (sums of binomial pmf terms)".into(),
        ]
    };

    // ---- national, station weights (the three tests in parallel)
    let specs: [(&str, &[f64], &[bool], &str); 3] = [
        ("integer.turnout", &pt, &ht, "stations whose turnout is an integer percentage"),
        ("integer.leader", &ps, &hs, "stations whose leader share is an integer percentage"),
        ("integer.either", &pe, &he, "stations whose turnout or leader share is an integer percentage"),
    ];
    let mut national: Vec<TestResult> = specs
        .par_iter()
        .map(|(name, p, h, what)| {
            let mut r = count_result(name, "nation", p, h);
            r.notes.extend(common_notes(what));
            r
        })
        .collect();

    // ---- Monte Carlo cross-check
    if let Some((draws, seed)) = opts.mc {
        let mc = monte_carlo(input, &inc, &bins, draws, seed);
        for (k, r) in national.iter_mut().enumerate() {
            let xs: Vec<f64> = mc.iter().map(|d| d[k] as f64).collect();
            let mean = xs.iter().sum::<f64>() / draws as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws as f64 - 1.0).max(1.0);
            let ge = xs.iter().filter(|&&x| x >= r.statistic).count();
            r.extra.insert("mc_draws".into(), draws as f64);
            r.extra.insert("mc_seed".into(), seed as f64);
            r.extra.insert("mc_mean".into(), mean);
            r.extra.insert("mc_sd".into(), var.sqrt());
            r.extra.insert("mc_excess".into(), r.statistic - mean);
            r.extra.insert("mc_p".into(), (1 + ge) as f64 / (draws + 1) as f64);
        }
    }
    let mut national = national.into_iter();
    let turnout = national.next().unwrap();
    let leader_share = national.next().unwrap();
    let either = national.next().unwrap();

    // ---- weighted variants
    let mut weighted = Vec::new();
    if opts.weighted {
        let w_voters: Vec<f64> = inc.iter().map(|&i| input.registered[i] as f64).collect();
        let w_ballots: Vec<f64> = inc.iter().map(|&i| input.turnout_numerator[i] as f64).collect();
        let w_leader: Vec<f64> = inc.iter().map(|&i| input.leader[i] as f64).collect();
        let ws: [(&str, &Vec<f64>); 3] = [("voters", &w_voters), ("ballots", &w_ballots), ("leader_votes", &w_leader)];
        let mut jobs = Vec::new();
        for (wname, w) in ws.iter() {
            for (name, p, h, what) in specs.iter() {
                jobs.push((format!("{name}.{wname}"), *p, *h, w.as_slice(), *what, *wname));
            }
        }
        weighted = jobs
            .par_iter()
            .map(|(name, p, h, w, what, wname)| {
                let mut r = weighted_result(name, "nation", p, h, w);
                r.notes.extend(common_notes(what));
                r.notes.push(format!("weights: {wname}"));
                r
            })
            .collect();
    }

    // ---- per region and per commission
    let all: [(&[f64], &[bool]); 3] = [(&pt, &ht), (&ps, &hs), (&pe, &he)];
    let per_unit = |unit: Option<(&[u32], &[String])>, prefix: &str| -> Vec<TestResult> {
        let Some((codes, labels)) = unit else { return Vec::new() };
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); labels.len()];
        for (j, s) in station.iter().enumerate() {
            members[codes[s.index] as usize].push(j);
        }
        let mut jobs = Vec::new();
        for (k, (name, _, _, _)) in specs.iter().enumerate() {
            for (u, m) in members.iter().enumerate() {
                if !m.is_empty() {
                    jobs.push((k, *name, u, m));
                }
            }
        }
        let mut out: Vec<TestResult> = jobs
            .par_iter()
            .map(|&(k, name, u, m)| {
                let p: Vec<f64> = m.iter().map(|&j| all[k].0[j]).collect();
                let h: Vec<bool> = m.iter().map(|&j| all[k].1[j]).collect();
                count_result(name, &format!("{prefix}:{}", labels[u]), &p, &h)
            })
            .collect();
        // BH within each test
        for name in ["integer.turnout", "integer.leader", "integer.either"] {
            let idx: Vec<usize> = (0..out.len()).filter(|&i| out[i].test == name).collect();
            let p: Vec<Option<f64>> = idx.iter().map(|&i| out[i].p).collect();
            for (&i, q) in idx.iter().zip(super::fdr::bh_opt(&p)) {
                out[i].q = q;
            }
        }
        out
    };
    let regions = if opts.regions { per_unit(input.region, "region") } else { Vec::new() };
    let commissions = if opts.commissions { per_unit(input.commission, "commission") } else { Vec::new() };

    let mut notes = Vec::new();
    notes.push(format!(
        "included {} of {} stations (C > 0, N ≥ {}, T ≤ {}, S ≤ {}); set aside: {} abroad, {} electronic, {} special, {} with C = 0, {} with N < {}, {} with T > {}, {} with S > {}",
        inc.len(),
        n_all,
        opts.min_registered,
        opts.max_turnout,
        opts.max_share,
        ex.abroad,
        ex.electronic,
        ex.special,
        ex.no_ballots,
        ex.small,
        opts.min_registered,
        ex.high_turnout,
        opts.max_turnout,
        ex.high_share,
        opts.max_share
    ));
    IntegerReport {
        turnout_definition: input.turnout_definition,
        leader: input.leader_name.to_string(),
        half_width: opts.half_width,
        period: opts.period,
        stations: n_all,
        included: inc.len(),
        excluded: ex,
        turnout,
        leader_share,
        either,
        weighted,
        regions,
        commissions,
        station,
        notes,
    }
}

/// Station-count result: observed, exact null mean/sd, Poisson-binomial p.
fn count_result(name: &str, scope: &str, p: &[f64], hit: &[bool]) -> TestResult {
    let obs = hit.iter().filter(|&&h| h).count();
    let mean: f64 = p.iter().sum();
    let var: f64 = p.iter().map(|&x| x * (1.0 - x)).sum();
    let (pv, method) = pb_sf(p, obs as u64);
    let mut r = TestResult::new(name, scope, obs as f64, p.len());
    r.null_mean = Some(mean);
    r.null_sd = Some(var.sqrt());
    r.p = Some(pv);
    r.effect = Some(obs as f64 - mean);
    r.extra.insert("observed".into(), obs as f64);
    r.extra.insert("expected".into(), mean);
    r.extra.insert("excess".into(), obs as f64 - mean);
    r.extra.insert("sd".into(), var.sqrt());
    if let Some(z) = r.z() {
        r.extra.insert("z".into(), z);
    }
    r.notes.push(method.describe().into());
    r
}

/// Weighted result: `Σ w·hit` against `Σ w p`, sd `√Σ w² p(1−p)`, saddlepoint p.
fn weighted_result(name: &str, scope: &str, p: &[f64], hit: &[bool], w: &[f64]) -> TestResult {
    let obs: f64 = hit.iter().zip(w).filter(|(h, _)| **h).map(|(_, w)| w).sum();
    let mean: f64 = p.iter().zip(w).map(|(p, w)| p * w).sum();
    let var: f64 = p.iter().zip(w).map(|(p, w)| w * w * p * (1.0 - p)).sum();
    let (pv, method) = weighted_sf(p, w, obs);
    let mut r = TestResult::new(name, scope, obs, p.len());
    r.null_mean = Some(mean);
    r.null_sd = Some(var.sqrt());
    r.p = Some(pv);
    r.effect = Some(obs - mean);
    r.extra.insert("observed".into(), obs);
    r.extra.insert("expected".into(), mean);
    r.extra.insert("excess".into(), obs - mean);
    r.extra.insert("sd".into(), var.sqrt());
    if let Some(z) = r.z() {
        r.extra.insert("z".into(), z);
    }
    let m = if method == TailMethod::Degenerate { method } else { TailMethod::Saddlepoint };
    r.notes.push(match m {
        TailMethod::Degenerate => m.describe().into(),
        _ => "p-value: weighted Poisson-binomial tail by Lugannani-Rice saddlepoint approximation (continuous form)".into(),
    });
    r
}

/// Monte Carlo draws of the null: per draw, the counts `[turnout, leader, either]`.
/// Draw `d` uses ChaCha8 seeded with `seed`, stream `d`: the result is the same for any
/// number of threads.
pub fn monte_carlo(input: &Input, inc: &[usize], bins: &Bins, draws: usize, seed: u64) -> Vec<[u64; 3]> {
    let dist: Vec<(u64, Binomial, u64, Binomial)> = inc
        .iter()
        .map(|&i| {
            let nn = input.registered[i] as u64;
            let b = input.turnout_numerator[i] as u64;
            let c = input.in_boxes[i] as u64;
            let v = input.leader[i] as u64;
            (
                nn,
                Binomial::new(nn, b as f64 / nn as f64).expect("binomial parameters"),
                c,
                Binomial::new(c, v as f64 / c as f64).expect("binomial parameters"),
            )
        })
        .collect();
    (0..draws)
        .into_par_iter()
        .map(|d| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(d as u64);
            let mut c = [0u64; 3];
            for (nn, bt, cc, bs) in &dist {
                let kt = bt.sample(&mut rng);
                let ks = bs.sample(&mut rng);
                let a = bins.hit(kt, *nn);
                let b = bins.hit(ks, *cc);
                c[0] += a as u64;
                c[1] += b as u64;
                c[2] += (a || b) as u64;
            }
            c
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Synthetic stations (tests and benches)

/// Synthetic clean stations for tests, calibration and benches: `N` log-normal around
/// 1,500 (≥ 100), turnout ~ Beta(6, 4), leader share ~ Beta(5, 5) per station, counts
/// binomial; `C = B`; 20 regions. A fraction `rounded` of stations has its turnout and leader
/// votes rounded to the nearest integer percentage (the fraud the test looks for).
#[derive(Debug, Clone)]
pub struct Synthetic {
    pub registered: Vec<u32>,
    pub issued: Vec<u32>,
    pub in_boxes: Vec<u32>,
    pub leader: Vec<u32>,
    pub region: Vec<u32>,
    pub region_labels: Vec<String>,
    /// Which stations were rounded.
    pub rounded: Vec<bool>,
}

impl Synthetic {
    pub fn generate(stations: usize, seed: u64, rounded: f64) -> Synthetic {
        use rand::RngExt;
        use rand_distr::{Beta, LogNormal};
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let size = LogNormal::new(1500f64.ln(), 0.45).unwrap();
        let bt = Beta::new(6.0, 4.0).unwrap();
        let bs = Beta::new(5.0, 5.0).unwrap();
        let mut s = Synthetic {
            registered: Vec::with_capacity(stations),
            issued: Vec::with_capacity(stations),
            in_boxes: Vec::with_capacity(stations),
            leader: Vec::with_capacity(stations),
            region: Vec::with_capacity(stations),
            region_labels: (0..20).map(|r| format!("R{r:02}")).collect(),
            rounded: Vec::with_capacity(stations),
        };
        for i in 0..stations {
            let n = (size.sample(&mut rng).round() as u64).clamp(100, 20_000);
            let t: f64 = bt.sample(&mut rng);
            let sh: f64 = bs.sample(&mut rng);
            let mut b = Binomial::new(n, t).unwrap().sample(&mut rng);
            if b == 0 {
                b = 1;
            }
            let mut v = Binomial::new(b, sh).unwrap().sample(&mut rng);
            let r = rounded > 0.0 && rng.random::<f64>() < rounded;
            if r {
                let mt = (100.0 * b as f64 / n as f64).round();
                b = ((mt / 100.0 * n as f64).round() as u64).clamp(1, n);
                let ms = (100.0 * v as f64 / b as f64).round();
                v = ((ms / 100.0 * b as f64).round() as u64).min(b);
            }
            s.registered.push(n as u32);
            s.issued.push(b as u32);
            s.in_boxes.push(b as u32);
            s.leader.push(v as u32);
            s.region.push((i % 20) as u32);
            s.rounded.push(r);
        }
        s
    }

    pub fn input(&self) -> Input<'_> {
        Input {
            registered: &self.registered,
            turnout_numerator: &self.issued,
            in_boxes: &self.in_boxes,
            leader: &self.leader,
            special: None,
            region: Some((&self.region, &self.region_labels)),
            commission: None,
            turnout_definition: TurnoutNumerator::Issued,
            leader_name: "leader",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_edges() {
        let b = Bins::new(0.05, 1);
        assert!(b.hit(1001, 2000)); // 50.05 exactly: in (closed bin)
        assert!(b.hit(999, 2000)); // 49.95
        assert!(!b.hit(1003, 2000)); // 50.15
        assert!(b.hit(0, 7));
        assert!(b.hit(7, 7));
        assert!(!b.hit(1, 7)); // 14.2857
        assert!(b.hit(1, 100));
        let b5 = Bins::new(0.05, 5);
        assert!(b5.hit(50, 100) && b5.hit(55, 100) && !b5.hit(51, 100));
        let b10 = Bins::new(0.05, 10);
        assert!(b10.hit(600, 1000) && !b10.hit(650, 1000) && b10.hit(6001, 10000));
        // the ranges agree with hit() for every k
        for n in [1u64, 7, 13, 100, 199, 1000, 2000, 2001, 3333] {
            for bins in [b, b5, b10] {
                let mut from_ranges = vec![false; n as usize + 1];
                for m in (0..=100).step_by(bins.period as usize) {
                    let (lo, hi) = bins.range(m, n);
                    for k in lo..=hi {
                        from_ranges[k as usize] = true;
                    }
                }
                for k in 0..=n {
                    assert_eq!(from_ranges[k as usize], bins.hit(k, n), "n={n} k={k} period={}", bins.period);
                }
            }
        }
    }

    #[test]
    fn pmf_matches_direct() {
        // ln pmf against a direct product formula on small n
        for n in [1u64, 2, 5, 17, 40] {
            for x0 in 1..n {
                let p = x0 as f64 / n as f64;
                let q = 1.0 - p;
                let mut c = 1.0f64;
                for k in 0..=n {
                    let direct = c * p.powi(k as i32) * q.powi((n - k) as i32);
                    let l = ln_binom_pmf(k, n, p, q).exp();
                    assert!((l - direct).abs() <= 1e-13 * direct.max(1e-300) + 1e-300, "n={n} k={k}: {l} vs {direct}");
                    c = c * (n - k) as f64 / (k + 1) as f64;
                }
            }
        }
        // a large case against statrs' ln_gamma-free identity: sum of pmf = 1
        let (n, p) = (100_000u64, 0.37);
        let s: f64 = (0..=n).map(|k| ln_binom_pmf(k, n, p, 1.0 - p).exp()).sum();
        assert!((s - 1.0).abs() < 1e-12, "{s}");
    }

    #[test]
    fn probability_matches_bruteforce() {
        for bins in [Bins::new(0.05, 1), Bins::new(0.05, 5), Bins::new(0.05, 10), Bins::new(0.2, 1)] {
            for &(x, n) in &[
                (1u64, 3u64),
                (3, 7),
                (50, 100),
                (57, 137),
                (600, 1000),
                (601, 1000),
                (1234, 2011),
                (5, 2000),
                (1995, 2000),
                (41_234, 100_003),
                (3, 250_000),
            ] {
                let a = integer_probability(x, n, &bins);
                let b = integer_probability_bruteforce(x, n, &bins);
                assert!((a - b).abs() <= 1e-14 + 1e-9 * b, "x={x} n={n} period={}: {a} vs {b}", bins.period);
            }
        }
    }
}
