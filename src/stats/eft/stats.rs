//! EFT's statistics of one sample of stations (`NPAnal`, `sobyanin_sukhovolsky`,
//! `correlation_coef`), as one pass of sums so that a bootstrap replicate costs one walk
//! over its indices. Definitions: the module docs of [`super`].

use super::Stat;
use super::data::{NA, Obs};

/// Centres for the sums of one variable (its full-sample means), so that the power sums of
/// a replicate stay well conditioned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shift {
    pub pct: f64,
    pub share: f64,
    pub turnout: f64,
}

impl Shift {
    /// Means of the finite values of a variable over `obs` (stride `k`, offset `v`).
    pub fn of(obs: &[Obs], k: usize, v: usize) -> Shift {
        let mut a = Sums::default();
        let zero = Shift::default();
        for row in obs.chunks_exact(k) {
            a.add(&row[v], row[0].raw, 1, &zero);
        }
        let m = |s: f64, n: u64| if n > 0 { s / n as f64 } else { 0.0 };
        Shift { pct: m(a.p1, a.np), share: m(a.ry, a.nr), turnout: m(a.rx, a.nr) }
    }
}

/// Running sums of one variable over a sample (with repetition).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums {
    n_last: u64,
    sum_last: u64,
    n05: u64,
    n_second: u64,
    sum_second: u64,
    n_p05: u64,
    k_p05: u64,
    // percentages (capped, non-NaN), centred on Shift::pct
    np: u64,
    p1: f64,
    p2: f64,
    p3: f64,
    p4: f64,
    // finite shares, for the mean share of Sobyanin
    ns: u64,
    s1: f64,
    // complete (share, turnout) pairs, centred
    nr: u64,
    rx: f64,
    ry: f64,
    rxx: f64,
    rxy: f64,
    ryy: f64,
}

impl Sums {
    /// Adds station `o` `w` times (its multiplicity in a resample); `turnout` is the
    /// station's uncapped turnout (the regressor of Sobyanin and Correlation).
    #[inline]
    pub fn add(&mut self, o: &Obs, turnout: f64, w: u32, c: &Shift) {
        let wi = w as u64;
        if o.last != NA {
            self.n_last += wi;
            self.sum_last += wi * o.last as u64;
            self.n05 += wi * (o.last == 0 || o.last == 5) as u64;
        }
        if o.second != NA {
            self.n_second += wi;
            self.sum_second += wi * o.second as u64;
        }
        if o.p05 != NA {
            self.n_p05 += wi;
            self.k_p05 += wi * o.p05 as u64;
        }
        let wf = w as f64;
        if !o.pct.is_nan() {
            let x = o.pct - c.pct;
            let x2 = x * x;
            self.np += wi;
            self.p1 += wf * x;
            self.p2 += wf * x2;
            self.p3 += wf * x2 * x;
            self.p4 += wf * x2 * x2;
        }
        if o.raw.is_finite() {
            let y = o.raw - c.share;
            self.ns += wi;
            self.s1 += wf * y;
            if turnout.is_finite() {
                let x = turnout - c.turnout;
                self.nr += wi;
                self.rx += wf * x;
                self.ry += wf * y;
                self.rxx += wf * x * x;
                self.rxy += wf * x * y;
                self.ryy += wf * y * y;
            }
        }
    }

    /// The statistics in [`Stat::ALL`] order, NaN for R's `NA` (DipT always NaN: it is not
    /// a function of the sums). `candidate`: whether Sobyanin and Correlation apply.
    pub fn finish(&self, c: &Shift, candidate: bool) -> [f64; 9] {
        let mut out = [f64::NAN; 9];
        let div = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { f64::NAN };
        out[Stat::SecondDigit.index()] = div(self.sum_second, self.n_second);
        out[Stat::LastC.index()] = div(self.sum_last, self.n_last);
        out[Stat::C05s.index()] = div(self.n05, self.n_last);
        out[Stat::P05s.index()] = div(self.k_p05, self.n_p05);
        if self.np > 0 {
            let n = self.np as f64;
            let d = self.p1 / n;
            let m2 = self.p2 - n * d * d;
            let m3 = self.p3 - 3.0 * d * self.p2 + 3.0 * d * d * self.p1 - n * d * d * d;
            let m4 = self.p4 - 4.0 * d * self.p3 + 6.0 * d * d * self.p2 - 4.0 * d * d * d * self.p1 + n * d * d * d * d;
            // moments::skewness and ::kurtosis are 0/0 = NaN when all values are equal;
            // the centred sums leave rounding dust there, so a relative zero is zero.
            if m2 > 1e-13 * self.p2.max(f64::MIN_POSITIVE) {
                out[Stat::Skew.index()] = (m3 / n) / (m2 / n).powf(1.5);
                out[Stat::Kurt.index()] = n * m4 / (m2 * m2);
            }
        }
        if candidate && self.nr >= 2 {
            let n = self.nr as f64;
            let sxx = self.rxx - self.rx * self.rx / n;
            let sxy = self.rxy - self.rx * self.ry / n;
            let syy = self.ryy - self.ry * self.ry / n;
            let xdeg = sxx <= 1e-12 * self.rxx.max(f64::MIN_POSITIVE);
            let ydeg = syy <= 1e-12 * self.ryy.max(f64::MIN_POSITIVE);
            if !xdeg {
                let mean_share = c.share + self.s1 / self.ns as f64;
                out[Stat::Sobyanin.index()] = sxy / sxx - mean_share;
                if !ydeg {
                    out[Stat::Correlation.index()] = sxy / (sxx * syy).sqrt();
                }
            }
        }
        out
    }
}
