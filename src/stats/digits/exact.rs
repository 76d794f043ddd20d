//! The exact per-station digit null (issue: "digit tests that hold where counts are small").
//!
//! # The model
//!
//! By default (`DigitNull::BetaBinomial`) a candidate count's null is the posterior
//! predictive of its commission's beta prior, `BetaBinomial(n_i, a₀ + x_i, b₀ + n_i − x_i)`
//! ([`super::prior`], which says why: the plug-in below doubles the spread around the
//! filter, a bias that shows on national files), laid out by `pmf_betabin_into`; the
//! rest of this section describes the plug-in (`DigitNull::Plugin`, and the turnout
//! numerator's null in both), whose arithmetic the default shares.
//!
//! Station `i`'s count is `X_i ~ Binomial(n_i, p̂_i)`, independently, with `n_i` the
//! station's relevant total (valid votes `V`, or the sum of the candidates' votes where `V`
//! is missing, for candidate counts; registered voters `N` for the turnout numerator) and
//! **the station's own** `p̂_i = x_i / n_i`, as the integer-percentage test (Kobak,
//! Shpilkin & Pshenichnikov 2016) redraws each station. Why the station's own `p̂` and not
//! one shrunk toward its commission: the question is about *digits*, i.e. local
//! arithmetic, not about shares. Centring each station's null on its own count makes the
//! expected digit frequencies those of counts of this size (a station with 12 votes for a
//! minor candidate expects its last digit near 2 and its counts ≥ 10 to favour low last
//! digits, by arithmetic alone), whatever the shares are between stations. A commission
//! `p` would replace each station's spread by a binomial one: real stations scatter more
//! than that between each other (overdispersion), and the digit distribution of small
//! counts depends on that spread, so the shrunk null would fail where counts are small,
//! which is exactly where the uniform null fails.
//!
//! # Filters, exactly
//!
//! The tests count digits of counts `≥ min` only (10 by default). Each station contributes
//! its probability `g_i = P(X_i ≥ min)` of passing the filter and its unconditional
//! probabilities `P_id = P(X_i ≥ min, digit(X_i) = d)` (so `Σ_d P_id = g_i`); every station
//! is used, whatever its own count, so that the filter is applied to the model as it is to
//! the data (no pile-up of the null at the threshold). The expected share of digit `d` is
//! `e_d = Σ_i P_id / Σ_i g_i`, and the observed tally `O` is compared with `e · O_tot`,
//! `O_tot` the number of observed counts that passed the filter: the statistic is built on
//! `Y_d = O_d − e_d O_tot`, whose mean under the model is exactly zero and whose covariance
//! is exact (stations independent, each a categorical variable over the ten digits and
//! "filtered out"):
//!
//! `Cov(Y) = Σ_i Cov(Z_i)`, `Z_i = δ_{digit} − e` if `X_i ≥ min`, else 0, i.e.
//! `Cov(Y) = diag(E) − E eᵀ − e Eᵀ + G e eᵀ − [S − H eᵀ − e Hᵀ + G₂ e eᵀ]`
//! with `E = Σ_i P_i`, `S = Σ_i P_i P_iᵀ`, `H = Σ_i g_i P_i`, `G = Σ_i g_i`, `G₂ = Σ_i g_i²`.
//!
//! # Statistics and p-values (with either covariance)
//!
//! * chi-square (last digits, second digits): `Q = Yᵀ Cov(Y)⁺ Y` (generalised inverse from
//!   the eigen-decomposition, eigenvalues below 1e-10 of the largest dropped), χ² with
//!   `df = rank` (9 wherever stations vary); the asymptotic distribution of a quadratic
//!   form in the Poisson-multinomial's covariance. Pearson's `Σ (O − E)²/E` would not be
//!   χ²(9) here: stations with different digit distributions make the multinomial
//!   covariance wrong.
//! * means (`last.mean`, `_2BL`) and shares (`last.05`, `pct05.*`, repeated and adjacent pairs): the linear
//!   statistic `wᵀ Y` (`w` the digit values or the indicator of the digits counted), divided
//!   by its exact sd `√(wᵀ Cov(Y) w)`, two-sided normal.
//!
//! # Model or sandwich covariance (the default: sandwich)
//!
//! The model covariance above treats each station's expected digits `P_i` as fixed, but
//! they are computed from the station's own count: where the binomial spread `σ_i` is not
//! wide against the digit's period (second digits: cells 10 or 100 counts wide; last two
//! digits: period 100; rounded percentages: period `5·n/100`), `P_i` follows the observed
//! digit and `Y` varies less than the model says, so the tests turn conservative
//! (measured on clean `digits::sim` elections, 200 replicates of 5,000 stations: 2BL of the
//! leader 1%, `_2BL` 1%). The sandwich covariance `Σ_i z_i z_iᵀ`, with
//! `z_i = (a_i − P_i) − e (b_i − g_i)` the station's centred contribution (`a_i` its
//! observed digit indicators, `b_i` whether it passed the filter; `Σ_i z_i = Y`), is
//! consistent whatever that dependence, as long as stations are independent; it is the
//! default for every test on [`SANDWICH_MIN_COUNTS`] counts or more (same replicates: 2BL
//! 5%, `_2BL` 6.5%, and every other test in [0.03, 0.07]); below that the model covariance
//! (the sandwich of a few dozen counts is far too small). The model-covariance p is kept
//! as `extra.p_model`.
//!
//! # The digit probabilities
//!
//! `P(X = k)` by the ratio recursion outward from the mode `k = x` (the pmf is
//! log-concave, so the mass beyond a term `t` with next ratio `r < 1` is below
//! `t·r/(1 − r)`; a side stops when that bound falls under 1e-16 of the sum so far),
//! starting from Loader's `dbinom` ([`crate::stats::integer::ln_binom_pmf`]), and summed by
//! residue (last digit, last two digits) and by second-digit cell. Where the station's
//! `σ = √(n p̂ q̂)` exceeds [`UNIFORM_SIGMA`] and the count is far above the filter, the last
//! digit is uniform to far below 1e-12 (`|φ(2πm/10)| ≤ exp(−2σ² sin²(πm/10))`), but the
//! second digit and the pairs still need the sum, so the walk is always done.

#![allow(unused_imports)]
use super::*;
use super::prior::Prior;
use crate::stats::integer::ln_binom_pmf;

/// Above this `σ` the last digit of a binomial is uniform to `exp(−2σ²·sin²(π/10)) < 1e-12`
/// (documented, used by the tests' hand computation).
pub const UNIFORM_SIGMA: f64 = 12.0;

/// Visits `(k, P(X = k))` for `X ~ Binomial(n, x/n)` over all `k` carrying mass (see the
/// module docs). `x ≤ n`.
#[inline]
pub fn walk_binomial(n: u64, x: u64, mut f: impl FnMut(u64, f64)) {
    if x == 0 || x >= n {
        f(x.min(n), 1.0);
        return;
    }
    let p = x as f64 / n as f64;
    let q = (n - x) as f64 / n as f64;
    let t0 = ln_binom_pmf(x, n, p, q).exp();
    f(x, t0);
    let mut acc = t0;
    let pq = p / q;
    // upwards
    let mut t = t0;
    let mut k = x;
    while k < n {
        let r = (n - k) as f64 / (k + 1) as f64 * pq;
        t *= r;
        k += 1;
        f(k, t);
        acc += t;
        if r < 1.0 && t * r / (1.0 - r) < 1e-16 * acc {
            break;
        }
    }
    // downwards
    let qp = q / p;
    let mut t = t0;
    let mut k = x;
    while k > 0 {
        let r = k as f64 / (n - k + 1) as f64 * qp;
        t *= r;
        k -= 1;
        f(k, t);
        acc += t;
        if r < 1.0 && t * r / (1.0 - r) < 1e-16 * acc {
            break;
        }
    }
}

/// Second significant digit of `k ≥ 10` from a table (counts below 2^17), else computed.
#[inline]
fn second_of(k: u64) -> usize {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| (0..1u32 << 17).map(|c| second_digit(c).unwrap_or(0) as u8).collect());
    if k < (1 << 17) { t[k as usize] as usize } else { second_digit(k.min(u32::MAX as u64) as u32).unwrap_or(0) }
}

/// Flags of the last two digits `r = k mod 100`: bit 0 repeated (`a = b`), bit 1 adjacent.
const PAIR_FLAGS: [u8; 100] = {
    let mut t = [0u8; 100];
    let mut r = 0;
    while r < 100 {
        let (a, b) = (r / 10, r % 10);
        if a == b {
            t[r] |= 1;
        }
        if a + 1 == b || b + 1 == a {
            t[r] |= 2;
        }
        r += 1;
    }
    t
};

/// One station's exact digit probabilities for one count (unconditional: `P(X ≥ min,
/// digit = d)`), see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StationDigits {
    /// `P(X ≥ min, last digit = d)`.
    pub last: [f64; 10],
    /// `P(X ≥ min2, second digit = d)`, `min2 = max(10, min)`.
    pub second: [f64; 10],
    /// `P(X ≥ min2, last two digits repeated)`, `… adjacent`.
    pub pairs: [f64; 2],
    /// `P(X ≥ min2)`.
    pub g2: f64,
    /// `P(round(100·X/n) ends in 0 or 5)` (filled when asked).
    pub p05: f64,
}

impl StationDigits {
    /// `P(X ≥ min)`.
    pub fn g(&self) -> f64 {
        self.last.iter().sum()
    }
}

/// The exact digit probabilities of `X ~ Binomial(n, x/n)`; `pct`: also the probability
/// that `round(100·X/n)` ends in 0 or 5.
///
/// The pmf is laid out once in a buffer (the terms of [`walk_binomial`]) and summed by
/// blocks rather than term by term: residues mod 100 by whole blocks of 100 (last digits
/// and pairs fold from them), second digits by runs of `10^(m−2)` equal second digits,
/// and the 0/5 percentages by the intervals of `k` that round to a multiple of 5.
pub fn station_digits(x: u64, n: u64, min: u32, pct: bool) -> StationDigits {
    station_digits_with(x, n, min, pct, None)
}

/// As [`station_digits`], for the plug-in null (`prior = None`) or the posterior
/// predictive `BetaBinomial(n, a₀ + x, b₀ + n − x)` of a commission prior `Beta(a₀, b₀)`
/// ([`super::prior`]).
pub fn station_digits_with(x: u64, n: u64, min: u32, pct: bool, prior: Option<Prior>) -> StationDigits {
    let n = n.max(x);
    let min = min as u64;
    let min2 = min.max(10);
    let mut s = StationDigits::default();
    if n < min && !pct {
        return s;
    }
    PMF.with(|cell| {
        let mut cell = cell.borrow_mut();
        let laid = match prior {
            None => pmf_into(n, x, &mut cell),
            Some(p) => pmf_betabin_into(n, p.a + x as f64, if p.b > 0.0 { p.b + (n - x) as f64 } else { 0.0 }, &mut cell),
        };
        let buf = &cell[laid.start..laid.end];
        let lo = laid.lo;
        let hi = lo + buf.len() as u64; // exclusive
        // counts in [min, min2) (only when min < 10): one by one
        for k in lo.max(min)..hi.min(min2) {
            s.last[(k % 10) as usize] += buf[(k - lo) as usize];
        }
        let from = lo.max(min2);
        if from < hi {
            let tail = &buf[(from - lo) as usize..];
            // residues mod 100 by whole blocks (no branch per term), folded to the last
            // digits (ten at a time) and the pairs
            let res = residues::<100>(tail, from);
            let mut last = [0.0f64; 10];
            for c in res.chunks_exact(10) {
                for (l, &v) in last.iter_mut().zip(c) {
                    *l += v;
                }
            }
            for (l, v) in s.last.iter_mut().zip(last) {
                *l += v;
            }
            s.pairs[0] = REPEATED.iter().map(|&r| res[r]).sum();
            s.pairs[1] = ADJACENT.iter().map(|&r| res[r]).sum();
            if hi <= 100 {
                // counts 10–99 only: the second digit is the last
                s.second = last;
            } else {
                add_second_digits(&mut s.second, tail, from);
            }
        }
        if pct {
            s.p05 = p05_of(buf, lo, n);
        }
        if laid.scale != 1.0 {
            let c = laid.scale;
            s.last.iter_mut().chain(s.second.iter_mut()).chain(s.pairs.iter_mut()).for_each(|v| *v *= c);
            s.p05 *= c;
        }
        s.g2 = s.second.iter().sum();
    });
    s
}

/// `P(round(100·X/n) ends in 0 or 5)` for `X ~ Binomial(n, x/n)`.
pub fn station_p05(x: u64, n: u64) -> f64 {
    let n = n.max(x).max(1);
    PMF.with(|cell| {
        let mut cell = cell.borrow_mut();
        let laid = pmf_into(n, x, &mut cell);
        p05_of(&cell[laid.start..laid.end], laid.lo, n)
    })
}

thread_local! {
    /// Per-thread buffer of [`pmf_into`] and [`pmf_betabin_into`] (grown, never shrunk).
    static PMF: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where a walk laid out its terms: `P(X = k)` for `k = lo + i` is `buf[start + i] · scale`
/// for `i < end − start`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Laid {
    lo: u64,
    start: usize,
    end: usize,
    /// The normalising factor the terms still need (1 for the binomial, whose walk starts
    /// from the exact pmf at the mode).
    scale: f64,
}

/// Walks one side of a log-concave pmf away from the mode's term `t0`. Step `j` (step 0
/// leaves the mode) multiplies the term by the ratio `num/den` of `ratio(j)`, whose last
/// two values are a fraction `bnum/bden` bounding every later ratio; terms go to `out` in
/// walk order (`REV`: from its end backwards). Stops when the bound puts the mass beyond
/// the last term under 1e-16 of `acc0` plus the side's mass so far (the rule of
/// [`walk_binomial`], `t·r/(1 − r) < 1e-16·acc` with `r = bnum/bden`, multiplied out;
/// checked every fourth term, so a side may run up to three terms further), or when `out`
/// is full. Returns the terms written and their sum.
///
/// Four terms per round with one division: the running products of the four ratios are
/// `n₀/d₀`, `n₀n₁/(d₀d₁)`, … all over the one reciprocal `1/(d₀d₁d₂d₃)` (the factors stay
/// far inside f64's range: each is below n²), the terms are the round's first term times
/// them (the chain through `t` is one multiplication per round; the division does not wait
/// on it), and they are written into a slice sized beforehand (no growth check per term).
#[inline(always)]
fn walk_side<const REV: bool>(t0: f64, acc0: f64, out: &mut [f64], ratio: impl Fn(f64) -> [f64; 4]) -> (usize, f64) {
    let len = out.len();
    let at = |j: usize| if REV { len - 1 - j } else { j };
    let stop = |t: f64, acc: f64, [_, _, bn, bd]: [f64; 4]| bn < bd && t * bn < 1e-16 * (acc0 + acc) * (bd - bn);
    let (mut t, mut acc, mut j) = (t0, 0.0, 0usize);
    while j + 4 <= len {
        let jf = j as f64;
        let [n0, d0, ..] = ratio(jf);
        let [n1, d1, ..] = ratio(jf + 1.0);
        let [n2, d2, ..] = ratio(jf + 2.0);
        let last = ratio(jf + 3.0);
        let [n3, d3, ..] = last;
        let (d01, d23, n01) = (d0 * d1, d2 * d3, n0 * n1);
        // the round's ratio products do not wait on `t` (the division overlaps the
        // previous round); `t` meets them in one multiplication each
        let inv = 1.0 / (d01 * d23);
        let (q1, q2) = (n0 * (d1 * d23) * inv, n01 * d23 * inv);
        let (q3, q4) = ((n01 * n2) * d3 * inv, (n01 * (n2 * n3)) * inv);
        let (t1, t2, t3, t4) = (t * q1, t * q2, t * q3, t * q4);
        out[at(j)] = t1;
        out[at(j + 1)] = t2;
        out[at(j + 2)] = t3;
        out[at(j + 3)] = t4;
        acc += (t1 + t2) + (t3 + t4);
        t = t4;
        j += 4;
        if stop(t, acc, last) {
            return (j, acc);
        }
    }
    while j < len {
        let q = ratio(j as f64);
        t *= q[0] / q[1];
        out[at(j)] = t;
        acc += t;
        j += 1;
        if stop(t, acc, q) {
            break;
        }
    }
    (j, acc)
}

/// Lays out the two sides of a pmf around its mode `k0` (term `t0` there) into `buf`:
/// `up(j)` / `down(j)` are [`walk_side`]'s ratios away from the mode, `sd` the
/// distribution's standard deviation, which sizes the room (12 sd + 64 terms a side: a
/// log-concave pmf falls below 1e-16 of its mass well within it; where it does not, the
/// room is doubled and the walk redone).
#[inline(always)]
fn lay_out(n: u64, k0: u64, t0: f64, sd: f64, buf: &mut Vec<f64>, up: impl Fn(f64) -> [f64; 4] + Copy, down: impl Fn(f64) -> [f64; 4] + Copy) -> (Laid, f64) {
    let mut reach = (12.0 * sd + 64.0).min(u32::MAX as f64) as u64;
    loop {
        let (ru, rd) = (reach.min(n - k0) as usize, reach.min(k0) as usize);
        if buf.len() < rd + 1 + ru {
            buf.resize(rd + 1 + ru, 0.0);
        }
        buf[rd] = t0;
        let (below, above) = buf.split_at_mut(rd);
        let (nu, acc_u) = walk_side::<false>(t0, t0, &mut above[1..1 + ru], up);
        let (nd, acc_d) = walk_side::<true>(t0, t0 + acc_u, below, down);
        let full_u = nu == ru && (ru as u64) < n - k0;
        let full_d = nd == rd && (rd as u64) < k0;
        if !(full_u || full_d) || reach >= n {
            let laid = Laid { lo: k0 - nd as u64, start: rd - nd, end: rd + 1 + nu, scale: 1.0 };
            return (laid, t0 + acc_u + acc_d);
        }
        reach = reach.saturating_mul(2);
    }
}

/// Lays out `P(X = k)` for `X ~ Binomial(n, x/n)` over the `k` carrying mass (the walk of
/// [`walk_binomial`], from the exact pmf at `k = x`; [`walk_side`] says how it is arranged
/// for speed), in increasing `k`, into `buf`.
fn pmf_into(n: u64, x: u64, buf: &mut Vec<f64>) -> Laid {
    if buf.is_empty() {
        buf.push(0.0);
    }
    if x == 0 || x >= n {
        buf[0] = 1.0;
        return Laid { lo: x.min(n), start: 0, end: 1, scale: 1.0 };
    }
    let p = x as f64 / n as f64;
    let q = (n - x) as f64 / n as f64;
    let t0 = ln_binom_pmf(x, n, p, q).exp();
    // up: r = (n − k)p / ((k + 1)q) from k = x; down: r = kq / ((n − k + 1)p) from k = x
    let (ua, ub) = ((n - x) as f64 * p, (x + 1) as f64 * q);
    let (da, db) = (x as f64 * q, (n - x + 1) as f64 * p);
    let up = move |j: f64| {
        let (num, den) = (ua - j * p, ub + j * q);
        [num, den, num, den]
    };
    let down = move |j: f64| {
        let (num, den) = (da - j * q, db + j * p);
        [num, den, num, den]
    };
    lay_out(n, x, t0, (n as f64 * p * q).sqrt(), buf, up, down).0
}

/// Lays out `P(X = k)` of `X ~ BetaBinomial(n, a, b)` in increasing `k` into `buf`, as
/// [`pmf_into`] does for the binomial. The walk starts at 1.0 at the mode (`0` when
/// `a < 1`, `n` when `b < 1`, else the mean rounded) and the terms' sum is the normalising
/// constant (no gamma functions: the walk covers all but 1e-16 of the mass), returned as
/// [`Laid::scale`] for the sums made of the terms.
/// Ratios: up `P(k+1)/P(k) = (n−k)(k+a) / ((k+1)(n−k−1+b))`, down
/// `P(k−1)/P(k) = k(n−k+b) / ((n−k+1)(k−1+a))`. The pmf is log-concave for `a, b ≥ 1`
/// (the ratios fall along each side, so the geometric bound of the stopping rule holds);
/// `a < 1` happens only at a zero count with a weak prior, where the pmf falls from `k = 0`
/// and the ratio's second factor `(n−k)/(n−k−1+b)`, which does fall, bounds every later
/// ratio (and symmetrically for `b < 1`).
fn pmf_betabin_into(n: u64, a: f64, b: f64, buf: &mut Vec<f64>) -> Laid {
    if buf.is_empty() {
        buf.push(0.0);
    }
    if a <= 0.0 || n == 0 {
        buf[0] = 1.0;
        return Laid { lo: 0, start: 0, end: 1, scale: 1.0 };
    }
    if b <= 0.0 {
        buf[0] = 1.0;
        return Laid { lo: n, start: 0, end: 1, scale: 1.0 };
    }
    let nf = n as f64;
    let k0 = if a < 1.0 {
        0
    } else if b < 1.0 {
        n
    } else {
        ((nf * a / (a + b)).round() as u64).min(n)
    };
    let kf = k0 as f64;
    // up: numerator (n−k)(k+a), denominator (k+1)(n−k−1+b), k = k0 + j
    let (ua, ub, uc, ud) = (nf - kf, kf + a, kf + 1.0, nf - kf - 1.0 + b);
    // (the bound where a < 1: max(r, x1/x4) = x1·max(ub + j, uc + j) / (x4·(uc + j)))
    let up = move |j: f64| {
        let (x1, x2, x3, x4) = (ua - j, ub + j, uc + j, ud - j);
        let (num, den) = (x1 * x2, x3 * x4);
        if a < 1.0 { [num, den, x1 * x2.max(x3), den] } else { [num, den, num, den] }
    };
    // down: numerator k(n−k+b), denominator (n−k+1)(k−1+a), k = k0 − j
    let (da, db, dc, dd) = (kf, nf - kf + b, nf - kf + 1.0, kf - 1.0 + a);
    let down = move |j: f64| {
        let (x1, x2, x3, x4) = (da - j, db + j, dc + j, dd - j);
        let (num, den) = (x1 * x2, x3 * x4);
        if b < 1.0 { [num, den, x1 * x2.max(x3), den] } else { [num, den, num, den] }
    };
    let m = a / (a + b);
    let sd = (nf * m * (1.0 - m) * (a + b + nf) / (a + b + 1.0)).sqrt();
    let (mut laid, total) = lay_out(n, k0, 1.0, sd, buf, up, down);
    laid.scale = 1.0 / total;
    laid
}

/// Sum with four accumulators (the terms are independent; one chain would wait on each add).
#[inline]
fn sum4(v: &[f64]) -> f64 {
    let mut a = [0.0f64; 4];
    let mut c = v.chunks_exact(4);
    for q in &mut c {
        a[0] += q[0];
        a[1] += q[1];
        a[2] += q[2];
        a[3] += q[3];
    }
    let r: f64 = c.remainder().iter().sum();
    (a[0] + a[1]) + (a[2] + a[3]) + r
}

/// The terms `t[i]` of counts `k = from + i` summed by `k mod N`, whole blocks of `N` at a
/// time (no branch per term).
#[inline]
fn residues<const N: usize>(t: &[f64], from: u64) -> [f64; N] {
    let mut res = [0.0f64; N];
    let r0 = (from % N as u64) as usize;
    let head = ((N - r0) % N).min(t.len());
    for (i, &v) in t[..head].iter().enumerate() {
        res[r0 + i] += v;
    }
    let mut blocks = t[head..].chunks_exact(N);
    for b in &mut blocks {
        for (r, &v) in res.iter_mut().zip(b) {
            *r += v;
        }
    }
    for (r, &v) in res.iter_mut().zip(blocks.remainder()) {
        *r += v;
    }
    res
}

/// Residues `r = 10a + b` of the last two digits with `a = b` (repeated) and `|a − b| = 1`
/// (adjacent), as [`PAIR_FLAGS`] marks them.
const REPEATED: [usize; 10] = [0, 11, 22, 33, 44, 55, 66, 77, 88, 99];
const ADJACENT: [usize; 18] = [1, 10, 12, 21, 23, 32, 34, 43, 45, 54, 56, 65, 67, 76, 78, 87, 89, 98];

/// Adds the terms `t[i]` of counts `k = from + i ≥ 10` to their second significant digit:
/// within a decade `[10^m, 10^(m+1))` the second digit is `⌊k / 10^(m−1)⌋ mod 10`, constant
/// on runs of `10^(m−1)` counts and rising by one from run to run.
fn add_second_digits(second: &mut [f64; 10], t: &[f64], from: u64) {
    debug_assert!(from >= 10 || t.is_empty());
    let hi = from + t.len() as u64;
    let mut k = from;
    let mut w = 1u64; // run length 10^(m-1) of the decade holding k
    while k / w >= 100 {
        w *= 10;
    }
    while k < hi {
        let decade_end = (100 * w).min(hi);
        let mut d = ((k / w) % 10) as usize;
        if w == 1 {
            let r = residues::<10>(&t[(k - from) as usize..(decade_end - from) as usize], d as u64);
            for (s, v) in second.iter_mut().zip(r) {
                *s += v;
            }
        } else {
            let mut run_end = (k / w + 1) * w;
            while k < decade_end {
                let e = run_end.min(decade_end);
                second[d] += sum4(&t[(k - from) as usize..(e - from) as usize]);
                k = e;
                d = if d == 9 { 0 } else { d + 1 };
                run_end += w;
            }
        }
        k = decade_end;
        w *= 10;
    }
}

/// `Σ P(X = k)` over the `k` whose `round(100·k/n)` is a multiple of 5: for each such
/// `j`, the counts with `round(100k/n) = ⌊(200k + n)/2n⌋ = j` are
/// `⌈(2j − 1)n/200⌉ ≤ k < ⌈(2j + 1)n/200⌉`.
fn p05_of(buf: &[f64], lo: u64, n: u64) -> f64 {
    let hi = lo + buf.len() as u64; // exclusive
    let start = |j: u64| -> u64 { if j == 0 { 0 } else { ((2 * j - 1) * n).div_ceil(200) } };
    let mut j = round_pct_u64(lo, n);
    j += (5 - j % 5) % 5;
    let mut s = 0.0;
    loop {
        let a = start(j).max(lo);
        if a >= hi {
            break;
        }
        let b = start(j + 1).min(hi);
        if b > a {
            s += sum4(&buf[(a - lo) as usize..(b - lo) as usize]);
        }
        j += 5;
    }
    s
}

#[inline]
fn round_pct_u64(x: u64, n: u64) -> u64 {
    (200 * x + n) / (2 * n)
}

/// The null of the shares of `K` categories among the counts that pass a filter, summed
/// over independent stations (module docs): `E`, `S`, `H`, `G`, `G₂`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareNull<const K: usize> {
    pub e: [f64; K],
    /// `S = Σ P Pᵀ`, upper triangle (`s[a][b]`, `a ≤ b`).
    pub s: [[f64; K]; K],
    pub h: [f64; K],
    pub g: f64,
    pub g2: f64,
    /// Stations added.
    pub m: u64,
    /// The empirical (sandwich) sums: `U = Σ u uᵀ`, `W = Σ v u`, `V₂ = Σ v²` with
    /// `u_i = a_i − P_i` (observed indicators minus their model probabilities) and
    /// `v_i = b_i − g_i` (observed inclusion minus its probability). `U` is kept as
    /// `X = Σ (a aᵀ − a Pᵀ − P aᵀ)` (`U = X + S`): the indicators are sparse, so a station
    /// costs one outer product (`S`, upper triangle only), not two.
    pub u: [[f64; K]; K],
    pub w: [f64; K],
    pub v2: f64,
}

impl<const K: usize> Default for ShareNull<K> {
    fn default() -> Self {
        ShareNull { e: [0.0; K], s: [[0.0; K]; K], h: [0.0; K], g: 0.0, g2: 0.0, m: 0, u: [[0.0; K]; K], w: [0.0; K], v2: 0.0 }
    }
}

impl<const K: usize> ShareNull<K> {
    /// Adds a station with category probabilities `p` (unconditional) and filter
    /// probability `g ≥ Σ p`; `obs`: the observed category indicators (zero when the
    /// observed count does not pass the filter) and `inc` whether it passes (0 or 1).
    #[inline]
    pub fn add(&mut self, p: &[f64; K], g: f64, obs: &[f64; K], inc: f64) {
        if g <= 0.0 && inc == 0.0 {
            return;
        }
        let v = inc - g;
        for a in 0..K {
            self.e[a] += p[a];
            self.h[a] += g * p[a];
            self.w[a] += v * (obs[a] - p[a]);
            if p[a] != 0.0 {
                let pa = p[a];
                for b in a..K {
                    self.s[a][b] += pa * p[b];
                }
            }
            if obs[a] != 0.0 {
                let oa = obs[a];
                for b in 0..K {
                    self.u[a][b] += oa * (obs[b] - p[b]);
                    self.u[b][a] -= p[b] * oa;
                }
            }
        }
        self.g += g;
        self.g2 += g * g;
        self.v2 += v * v;
        self.m += 1;
    }

    pub fn merge(&mut self, o: &ShareNull<K>) {
        for a in 0..K {
            self.e[a] += o.e[a];
            self.h[a] += o.h[a];
            self.w[a] += o.w[a];
            for b in 0..K {
                self.s[a][b] += o.s[a][b];
                self.u[a][b] += o.u[a][b];
            }
        }
        self.g += o.g;
        self.g2 += o.g2;
        self.v2 += o.v2;
        self.m += o.m;
    }

    /// `S[a][b]` (stored as its upper triangle).
    #[inline]
    fn s_at(&self, a: usize, b: usize) -> f64 {
        if a <= b { self.s[a][b] } else { self.s[b][a] }
    }

    /// Expected shares `e_d = E_d / G` among the counts that pass the filter.
    pub fn shares(&self) -> [f64; K] {
        let mut e = self.e;
        if self.g > 0.0 {
            for x in e.iter_mut() {
                *x /= self.g;
            }
        }
        e
    }

    /// `Cov(Y)`, `Y = O − e·O_tot` (module docs).
    pub fn cov(&self) -> [[f64; K]; K] {
        let e = self.shares();
        let mut c = [[0.0; K]; K];
        for a in 0..K {
            for b in 0..K {
                let diag = if a == b { self.e[a] } else { 0.0 };
                let first = diag - self.e[a] * e[b] - e[a] * self.e[b] + self.g * e[a] * e[b];
                let second = self.s_at(a, b) - self.h[a] * e[b] - e[a] * self.h[b] + self.g2 * e[a] * e[b];
                c[a][b] = first - second;
            }
        }
        c
    }

    /// `Y = O − e·O_tot` with `O_tot` = `total` (the observed counts passing the filter;
    /// for categories that exhaust the filter, `Σ O`).
    pub fn y(&self, obs: &[u64; K], total: u64) -> [f64; K] {
        let e = self.shares();
        let mut y = [0.0; K];
        for a in 0..K {
            y[a] = obs[a] as f64 - e[a] * total as f64;
        }
        y
    }

    /// The empirical (sandwich) covariance of `Y`: `Σ_i z_i z_iᵀ` with
    /// `z_i = u_i − e v_i` the station's centred contribution (`Σ z_i = Y`). It accounts for
    /// the dependence of each station's expected digits on its own count, which the
    /// model covariance ignores (see the module docs).
    pub fn cov_sandwich(&self) -> [[f64; K]; K] {
        let e = self.shares();
        let mut c = [[0.0; K]; K];
        for a in 0..K {
            for b in 0..K {
                let u = self.u[a][b] + self.s_at(a, b);
                c[a][b] = u - e[a] * self.w[b] - self.w[a] * e[b] + self.v2 * e[a] * e[b];
            }
        }
        c
    }

    fn cov_of(&self, robust: bool) -> [[f64; K]; K] {
        if robust { self.cov_sandwich() } else { self.cov() }
    }

    /// Linear statistic `wᵀY` and its null sd.
    pub fn linear(&self, obs: &[u64; K], total: u64, w: &[f64; K]) -> (f64, f64) {
        self.linear_with(obs, total, w, false)
    }

    /// [`linear`](Self::linear) with the model (`robust = false`) or sandwich covariance.
    pub fn linear_with(&self, obs: &[u64; K], total: u64, w: &[f64; K], robust: bool) -> (f64, f64) {
        let y = self.y(obs, total);
        let c = self.cov_of(robust);
        let t: f64 = (0..K).map(|a| w[a] * y[a]).sum();
        let mut v = 0.0;
        for a in 0..K {
            for b in 0..K {
                v += w[a] * c[a][b] * w[b];
            }
        }
        (t, v.max(0.0).sqrt())
    }

    /// `Q = Yᵀ Cov(Y)⁺ Y` and the rank of `Cov(Y)` (its degrees of freedom).
    pub fn quadratic(&self, obs: &[u64; K], total: u64) -> (f64, usize) {
        self.quadratic_with(obs, total, false)
    }

    /// [`quadratic`](Self::quadratic) with the model or the sandwich covariance.
    pub fn quadratic_with(&self, obs: &[u64; K], total: u64, robust: bool) -> (f64, usize) {
        let y = self.y(obs, total);
        let c = self.cov_of(robust);
        let (vals, vecs) = jacobi_eigen(c);
        let top = vals.iter().cloned().fold(0.0f64, f64::max);
        let mut q = 0.0;
        let mut rank = 0;
        for k in 0..K {
            if vals[k] > 1e-10 * top && vals[k] > 0.0 {
                let proj: f64 = (0..K).map(|a| vecs[a][k] * y[a]).sum();
                q += proj * proj / vals[k];
                rank += 1;
            }
        }
        (q, rank)
    }
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: eigenvalues
/// and eigenvectors (columns).
pub fn jacobi_eigen<const K: usize>(mut a: [[f64; K]; K]) -> ([f64; K], [[f64; K]; K]) {
    let mut v = [[0.0; K]; K];
    for i in 0..K {
        v[i][i] = 1.0;
    }
    for _sweep in 0..60 {
        let mut off = 0.0;
        let mut diag = 0.0;
        for i in 0..K {
            diag += a[i][i] * a[i][i];
            for j in (i + 1)..K {
                off += a[i][j] * a[i][j];
            }
        }
        if off <= 1e-30 * diag.max(1e-300) {
            break;
        }
        for p in 0..K {
            for q in (p + 1)..K {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..K {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..K {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for k in 0..K {
                    let (vkp, vkq) = (v[k][p], v[k][q]);
                    v[k][p] = c * vkp - s * vkq;
                    v[k][q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut vals = [0.0; K];
    for i in 0..K {
        vals[i] = a[i][i];
    }
    (vals, v)
}

/// The exact nulls of one unit (region, commission, nation).
#[derive(Debug, Clone, Default)]
pub struct ExactUnit {
    /// Per candidate: last digits of counts `≥ min` and second digits of counts `≥ min2`.
    pub last: Vec<ShareNull<10>>,
    pub second: Vec<ShareNull<10>>,
    /// Last-two-digit pairs (repeated, adjacent) of counts `≥ min2`, pooled over candidates.
    pub pairs: ShareNull<2>,
    /// Turnout percentages and the focus candidate's percentages ending in 0 or 5.
    pub p05_turnout: ShareNull<1>,
    pub p05_share: ShareNull<1>,
}

impl ExactUnit {
    pub fn new(k: usize) -> ExactUnit {
        ExactUnit { last: vec![ShareNull::default(); k], second: vec![ShareNull::default(); k], ..Default::default() }
    }
    /// Back to zero, in place (no allocation).
    pub fn clear(&mut self) {
        for x in self.last.iter_mut().chain(self.second.iter_mut()) {
            *x = ShareNull::default();
        }
        self.pairs = ShareNull::default();
        self.p05_turnout = ShareNull::default();
        self.p05_share = ShareNull::default();
    }
    pub fn merge(&mut self, o: &ExactUnit) {
        for (a, b) in self.last.iter_mut().zip(&o.last) {
            a.merge(b);
        }
        for (a, b) in self.second.iter_mut().zip(&o.second) {
            a.merge(b);
        }
        self.pairs.merge(&o.pairs);
        self.p05_turnout.merge(&o.p05_turnout);
        self.p05_share.merge(&o.p05_share);
    }
    /// Pooled over candidates.
    pub fn pooled_last(&self) -> ShareNull<10> {
        let mut s = ShareNull::default();
        for x in &self.last {
            s.merge(x);
        }
        s
    }
    pub fn pooled_second(&self) -> ShareNull<10> {
        let mut s = ShareNull::default();
        for x in &self.second {
            s.merge(x);
        }
        s
    }

    /// Adds one station: the candidates' counts `votes[j]` out of `den`, the focus
    /// candidate `focus`, `min` the last-digit filter, `pct_share` whether the station
    /// enters `pct05.share`; `turnout`: `(B, N)` when it enters `pct05.turnout`.
    ///
    /// `priors`: the candidates' commission priors (the posterior-predictive null of
    /// [`super::prior`]), or `None` for the plug-in `Binomial(den, x/den)`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_station(&mut self, votes: impl Iterator<Item = u32>, den: u64, focus: usize, min: u32, pct_share: bool, turnout: Option<(u32, u32)>, priors: Option<&[Prior]>) {
        for (j, x) in votes.enumerate() {
            let prior = priors.map(|p| p[j]);
            // A zero count's null is a point mass at 0 under the plug-in null (and under a
            // prior without votes for the candidate): nothing to add but the percentage.
            if x == 0 && prior.is_none_or(|p| p.a <= 0.0) {
                if pct_share && j == focus {
                    // round(0) = 0 ends in 0 with certainty
                    self.p05_share.add(&[1.0], 1.0, &[1.0], 1.0);
                }
                continue;
            }
            let want_pct = pct_share && j == focus;
            let s = station_digits_with(x as u64, den, min, want_pct, prior);
            let (i1, i2) = (x >= min, x >= min.max(10));
            let mut a = [0.0; 10];
            if i1 {
                a[(x % 10) as usize] = 1.0;
            }
            self.last[j].add(&s.last, s.g(), &a, i1 as u8 as f64);
            let mut a = [0.0; 10];
            let mut pa = [0.0; 2];
            if i2 {
                a[second_of(x as u64)] = 1.0;
                let f = PAIR_FLAGS[(x % 100) as usize];
                pa = [(f & 1) as f64, ((f >> 1) & 1) as f64];
            }
            self.second[j].add(&s.second, s.g2, &a, i2 as u8 as f64);
            self.pairs.add(&s.pairs, s.g2, &pa, i2 as u8 as f64);
            if want_pct {
                let o = (round_pct_u64(x as u64, den.max(x as u64)) % 5 == 0) as u8 as f64;
                self.p05_share.add(&[s.p05], 1.0, &[o], 1.0);
            }
        }
        if let Some((b, n)) = turnout {
            let o = (round_pct_u64(b as u64, n.max(1) as u64) % 5 == 0) as u8 as f64;
            self.p05_turnout.add(&[station_p05(b as u64, n as u64)], 1.0, &[o], 1.0);
        }
    }
}

/// Two-sided normal p of a linear statistic with its null sd (1 when the sd is 0 and the
/// statistic is 0, 0 when the sd is 0 and it is not).
pub fn linear_p(t: f64, sd: f64) -> f64 {
    if sd > 0.0 {
        (2.0 * norm_sf((t / sd).abs())).min(1.0)
    } else if t.abs() < 1e-9 {
        1.0
    } else {
        0.0
    }
}

/// Fewest counts (passing the filter) for the sandwich covariance; below, the model
/// covariance (the sandwich from a few dozen counts, a few of them carrying most of the
/// variance, is far too small: a minor Polish candidate with 24 counts ≥ 10 got
/// χ² = 1,201 from it). The model covariance errs on the conservative side.
pub const SANDWICH_MIN_COUNTS: u64 = 500;

/// Whether a statistic on `total` counts uses the sandwich covariance.
pub fn robust_for(total: u64) -> bool {
    total >= SANDWICH_MIN_COUNTS
}

/// The default p of a digit chi-square against its exact null (sandwich covariance from
/// [`SANDWICH_MIN_COUNTS`] counts, model below; as the battery's `digits.last.chi2.*` and
/// `digits.2bl.chi2.*`).
pub fn exact_chi2_p(null: &ShareNull<10>, h: &[u64; 10]) -> f64 {
    let n: u64 = h.iter().sum();
    let (q, df) = null.quadratic_with(h, n, robust_for(n));
    if df == 0 { 1.0 } else { chi2_sf(q, df as f64) }
}

/// The default p of a linear digit statistic (a mean or a share) against its exact null
/// (sandwich covariance, two-sided normal), as the battery's.
pub fn exact_linear_p<const K: usize>(null: &ShareNull<K>, obs: &[u64; K], total: u64, w: &[f64; K]) -> f64 {
    let (y, sd) = null.linear_with(obs, total, w, robust_for(total));
    linear_p(y, sd)
}

/// The exact nulls of a whole election's ordinary stations in one unit (every station,
/// no set-asides), in parallel: what the battery's national pass computes, for the bench
/// and the tests.
pub fn exact_election(e: &Election, focus: usize, min_count: u32, min_denominator: u32, null: super::DigitNull) -> ExactUnit {
    let k = e.votes.len();
    let den = e.valid_or_sum();
    let all: Vec<usize> = (0..e.len()).collect();
    let priors = (null == super::DigitNull::BetaBinomial)
        .then(|| super::prior::StationPriors::fit(e, &all, &|i| den[i].max(e.votes.iter().map(|v| v[i] as u64).sum())));
    let (b, nreg) = (e.get(Role::Issued).or(e.get(Role::InBoxes)), e.get(Role::Registered));
    let md = min_denominator.max(1);
    (0..e.len())
        .into_par_iter()
        .fold(
            || ExactUnit::new(k),
            |mut u, i| {
                let turnout = match (b, nreg) {
                    (Some(b), Some(n)) if n[i] >= md => Some((b[i].min(n[i]), n[i])),
                    _ => None,
                };
                let sum: u64 = e.votes.iter().map(|v| v[i] as u64).sum();
                let pct = den[i] >= md as u64 && den[i] <= u32::MAX as u64;
                u.add_station(e.votes.iter().map(|v| v[i]), den[i].max(sum), focus, min_count, pct, turnout, priors.as_ref().map(|p| p.at(i)));
                u
            },
        )
        .reduce(
            || ExactUnit::new(k),
            |mut a, b| {
                a.merge(&b);
                a
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block sums agree with the term-by-term sums over the walk (the definition):
    /// last digits of counts ≥ min, second digits, pairs and `P(X ≥ 10)` of counts ≥ 10,
    /// and the 0/5 percentages by division, for small, large, edge and filtered cases.
    #[test]
    fn block_sums_agree_with_term_by_term() {
        let cases = [(1u64, 2u64, 1u32), (3, 1000, 10), (7, 60, 3), (12, 400, 10), (64, 64, 10), (99, 450, 10), (150, 600, 10), (480, 1300, 10), (1500, 2100, 10), (2817, 4000, 25), (12_345, 30_000, 10), (5, 5, 0), (0, 9, 0), (20, 21, 10), (11, 2000, 10)];
        for &(x, n, min) in &cases {
            let s = station_digits(x, n, min, true);
            let (min, min2) = (min as u64, (min as u64).max(10));
            let mut r = StationDigits::default();
            walk_binomial(n, x, |k, t| {
                if k >= min {
                    r.last[(k % 10) as usize] += t;
                }
                if k >= min2 {
                    r.second[second_of(k)] += t;
                    r.g2 += t;
                    let f = PAIR_FLAGS[(k % 100) as usize];
                    r.pairs[0] += (f & 1) as f64 * t;
                    r.pairs[1] += ((f >> 1) & 1) as f64 * t;
                }
                if round_pct_u64(k, n.max(1)) % 5 == 0 {
                    r.p05 += t;
                }
            });
            let close = |a: f64, b: f64| (a - b).abs() < 1e-14;
            for d in 0..10 {
                assert!(close(s.last[d], r.last[d]), "last {d} x {x} n {n}: {} {}", s.last[d], r.last[d]);
                assert!(close(s.second[d], r.second[d]), "second {d} x {x} n {n}: {} {}", s.second[d], r.second[d]);
            }
            assert!(close(s.pairs[0], r.pairs[0]) && close(s.pairs[1], r.pairs[1]), "pairs x {x} n {n}");
            assert!(close(s.g2, r.g2) && close(s.p05, r.p05), "g2/p05 x {x} n {n}: {} {} {} {}", s.g2, r.g2, s.p05, r.p05);
            assert!(close(station_p05(x, n), r.p05));
        }
        // by hand: 81/200 = 40.5% rounds half up to 41 (not 0/5); 9/200 = 4.5% -> 5
        assert!(round_pct_u64(81, 200) == 41 && round_pct_u64(9, 200) == 5);
        // second digits across decade and run boundaries, against the digit of each count
        for (from, len) in [(10u64, 5usize), (95, 20), (990, 30), (9_990, 1_200), (99_950, 200), (123, 1)] {
            let t: Vec<f64> = (0..len).map(|i| 1.0 + i as f64).collect();
            let mut got = [0.0; 10];
            add_second_digits(&mut got, &t, from);
            let mut want = [0.0; 10];
            for (i, v) in t.iter().enumerate() {
                want[second_of(from + i as u64)] += v;
            }
            assert_eq!(got, want, "from {from} len {len}");
        }
        for r in 0..100 {
            assert_eq!(PAIR_FLAGS[r] & 1 != 0, REPEATED.contains(&r));
            assert_eq!(PAIR_FLAGS[r] & 2 != 0, ADJACENT.contains(&r));
        }
    }

    /// The beta-binomial walk against the textbook pmf
    /// `C(n, k)·B(k + a, n − k + b)/B(a, b)` from log-gammas (statrs, an independent
    /// implementation), term by term, including the weak-prior shapes `a < 1` (a zero
    /// count: the pmf falls from 0) and `b < 1`, and the degenerate `a = 0`.
    #[test]
    fn betabin_walk_matches_the_textbook_pmf() {
        use statrs::function::gamma::ln_gamma;
        let lbeta = |a: f64, b: f64| ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
        let lchoose = |n: u64, k: u64| ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0);
        let cases = [(1000u64, 15.0, 2985.0), (1000, 0.6, 800.0), (1000, 800.0, 0.4), (40, 2.5, 3.5), (2500, 300.5, 1200.0), (7, 1.0, 1.0), (3000, 12.0, 9000.0), (120, 0.05, 3.0)];
        let mut cell = Vec::new();
        for &(n, a, b) in &cases {
            let laid = pmf_betabin_into(n, a, b, &mut cell);
            let (lo, c) = (laid.lo, laid.scale);
            let buf: Vec<f64> = cell[laid.start..laid.end].iter().map(|v| v * c).collect();
            let mut total = 0.0;
            for k in 0..=n {
                let want = (lchoose(n, k) + lbeta(k as f64 + a, (n - k) as f64 + b) - lbeta(a, b)).exp();
                let got = if k >= lo && k < lo + buf.len() as u64 { buf[(k - lo) as usize] } else { 0.0 };
                total += want;
                // the log-gamma reference carries ~1e-15 of ~2e4: 1e-11 relative
                assert!((got - want).abs() < 1e-9 * want.max(1e-4), "n {n} a {a} b {b} k {k}: {got} vs {want}");
            }
            assert!((total - 1.0).abs() < 1e-9, "n {n} a {a} b {b}: textbook total {total}");
            assert!((buf.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        }
        let laid = pmf_betabin_into(50, 0.0, 10.0, &mut cell);
        assert_eq!((laid.lo, &cell[laid.start..laid.end], laid.scale), (0, &[1.0][..], 1.0));
    }
}
