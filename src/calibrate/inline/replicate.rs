//! One replicate: the memo of integer null probabilities, the test keys, and the tallies
//! and p-values of every replicated test (module docs of [`super`], "Tests replicated").

use super::*;

// The memo of integer null probabilities

/// `P(Binomial(n, x/n) lands in an integer bin)` per `(n, x)`, filled on demand with
/// [`IntegerNull::probability`]; `f32` bits, `u32::MAX` = not yet computed.
pub(super) struct Memo {
    pub(super) engine: IntegerNull,
    /// Per denominator `n`: (first numerator, cells).
    pub(super) tables: Vec<Option<(u32, Vec<AtomicU32>)>>,
    pub(super) evaluations: std::sync::atomic::AtomicUsize,
}

/// Largest denominator given a memo table (larger ones are evaluated directly).
pub(super) const MEMO_MAX_N: u32 = 200_000;

impl Memo {
    pub(super) fn new(windows: impl Iterator<Item = (u32, u32, u32)>) -> Memo {
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
    pub(super) fn get(&self, x: u32, n: u32) -> f64 {
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
pub(super) struct Keys {
    pub(super) names: Vec<(String, &'static str)>,
    pub(super) index: HashMap<(String, &'static str), usize>,
}

impl Keys {
    pub(super) fn new() -> Keys {
        Keys { names: Vec::new(), index: HashMap::new() }
    }
    pub(super) fn id(&mut self, test: &str, level: &'static str) -> usize {
        if let Some(&i) = self.index.get(&(test.to_string(), level)) {
            return i;
        }
        self.names.push((test.to_string(), level));
        self.index.insert((test.to_string(), level), self.names.len() - 1);
        self.names.len() - 1
    }
}

/// Key indices of one level.
pub(super) struct LevelKeys {
    pub(super) int_t: usize,
    pub(super) int_s: usize,
    pub(super) int_e: usize,
    pub(super) weighted: Vec<usize>, // [weight × {t, s, e}] (nation only)
    pub(super) last: Vec<usize>,     // per candidate (file order), then pooled
    pub(super) repeated: usize,
    pub(super) adjacent: usize,
    pub(super) lastc: usize,
    pub(super) c05s: usize,
    pub(super) p05s: usize,
    pub(super) p05s_share: usize,
    pub(super) b2bl_mean: usize,
    pub(super) b2bl: Vec<usize>, // per candidate, then pooled (classical Benford p)
    // digits: the default p of `digits._2BL` and `digits.2bl.chi2.*` (exact per-station null)
    pub(super) b2bl_mean_exact: usize,
    pub(super) b2bl_exact: Vec<usize>,
    pub(super) dip_t: usize,
    pub(super) dip_s: usize,
}

pub(super) fn level_keys(keys: &mut Keys, cands: &[String], level: &'static str) -> LevelKeys {
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
pub(super) fn edgeworth_sf(obs: f64, mean: f64, var: f64, k3: f64, lattice: bool) -> f64 {
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
pub(super) fn decided(p: f64, alpha: f64) -> bool {
    p < alpha / 3.0 || p > 3.0 * alpha
}

/// Two-sided normal p (`digits.last.mean`).
pub(super) fn z_two_sided(z: f64) -> f64 {
    (2.0 * norm_sf(z.abs())).min(1.0)
}

// ---------------------------------------------------------------------------------------
// One replicate

/// Digit tallies of one scope (the battery's `Tally`, without the shape columns).
#[derive(Clone)]
pub(super) struct DigitTally {
    pub(super) last: Vec<[u64; 10]>,
    pub(super) second: Vec<[u64; 10]>,
    pub(super) pairs: PairTally,
    pub(super) pct_t: [u64; 10],
    pub(super) pct_s: [u64; 10],
    /// The exact per-station nulls (`digits::exact`), as the battery's.
    pub(super) exact: digits::ExactUnit,
}

impl DigitTally {
    pub(super) fn new(k: usize) -> Self {
        DigitTally {
            last: vec![[0; 10]; k],
            second: vec![[0; 10]; k],
            pairs: PairTally::default(),
            pct_t: [0; 10],
            pct_s: [0; 10],
            exact: digits::ExactUnit::new(k),
        }
    }
    pub(super) fn clear(&mut self) {
        for h in self.last.iter_mut().chain(self.second.iter_mut()) {
            *h = [0; 10];
        }
        self.pairs = PairTally::default();
        self.pct_t = [0; 10];
        self.pct_s = [0; 10];
        self.exact.clear();
    }
    pub(super) fn add(&mut self, o: &DigitTally) {
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
pub(super) struct SecondDigit(Vec<u8>);

impl SecondDigit {
    const MAX: u32 = 1 << 16;
    pub(super) fn new() -> Self {
        SecondDigit((0..Self::MAX).map(|c| digits::second_digit(c).unwrap_or(0) as u8).collect())
    }
    #[inline]
    pub(super) fn get(&self, c: u32) -> usize {
        if c < Self::MAX { self.0[c as usize] as usize } else { digits::second_digit(c).unwrap_or(0) }
    }
}

/// Per-replicate buffers (reused across the replicates a thread runs).
pub(super) struct Work {
    pub(super) ballots: Vec<u32>,
    pub(super) votes: Vec<u32>,
    /// Digit tallies (digit replicates only, allocated on the first): the scope being
    /// tallied (one commission, or region, at a time) and each region's sum.
    pub(super) digit: Option<(DigitTally, Vec<DigitTally>)>,
    /// Each scope's moments and priors of the digit null (`[scope * k + j]`), per replicate.
    pub(super) digit_moments: Vec<digits::prior::Moments>,
    pub(super) digit_priors: Vec<digits::prior::Prior>,
    // integer: per included station
    pub(super) int_region: Vec<u32>,
    pub(super) int_comm: Vec<u32>,
    pub(super) pt: Vec<f64>,
    pub(super) ps: Vec<f64>,
    pub(super) pe: Vec<f64>,
    pub(super) ht: Vec<bool>,
    pub(super) hs: Vec<bool>,
    pub(super) he: Vec<bool>,
    pub(super) w: [Vec<f64>; 3],
    pub(super) dip_t: Vec<f64>,
    pub(super) dip_s: Vec<f64>,
    pub(super) sub_p: Vec<f64>,
    pub(super) sub_h: Vec<bool>,
}

impl Work {
    pub(super) fn new() -> Work {
        Work {
            ballots: Vec::new(),
            votes: Vec::new(),
            digit: None,
            digit_moments: Vec::new(),
            digit_priors: Vec::new(),
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
pub(super) struct Ctx<'a> {
    pub(super) m: &'a Model,
    pub(super) memo: Option<Memo>,
    pub(super) bins: Bins,
    pub(super) second: SecondDigit,
    pub(super) nation: LevelKeys,
    pub(super) region: Option<LevelKeys>,
    /// Members of each region among the integer test's included stations are found per
    /// replicate; the region count.
    pub(super) regions: usize,
    /// Per commission (the battery's lowest level, when the file has two levels or more):
    /// the integer tests and the brief digit tests, as the battery runs them there; the
    /// commission count and each commission's region. Digit tallies are then kept per
    /// commission and summed into regions and the nation.
    pub(super) commission: Option<LevelKeys>,
    pub(super) commissions: usize,
    pub(super) comm_region: Vec<u32>,
    /// Simulated stations (positions in `Model::stations`) grouped by the digit tallies'
    /// scope: commission with two levels or more, else region, else one group.
    pub(super) by_scope: Vec<Vec<u32>>,
    pub(super) benford: [f64; 10],
    pub(super) benford_mean: f64,
    pub(super) benford_var: f64,
    /// Uniform-null dip draws for samples below the tabulated size: (m, sorted draws).
    pub(super) dip_null: std::sync::Mutex<HashMap<usize, std::sync::Arc<Vec<f64>>>>,
    pub(super) alpha: f64,
    pub(super) full_draws: bool,
    /// The exact digit null's station model (the battery's option).
    pub(super) digit_null: digits::DigitNull,
    /// Replicates that run the digit tests (the first ones).
    pub(super) digit_reps: usize,
    /// Each scope's region for the digit null's priors (their small-scope fallback), and
    /// the region count (one region when the scopes are regions or the nation).
    pub(super) scope_region: Vec<u32>,
    pub(super) scope_regions: usize,
}

pub(super) const DIGITS: [f64; 10] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
pub(super) const IS05: [f64; 10] = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];

impl Ctx<'_> {
    /// The battery's dip p-value (shape::run's default options).
    pub(super) fn dip_p(&self, x: &mut [f64]) -> Option<f64> {
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
    pub(super) fn integer_p(&self, p: &[f64], h: &[bool], idx: Option<&[usize]>, w: &mut Work) -> Option<f64> {
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

    pub(super) fn weighted_p(&self, p: &[f64], h: &[bool], wt: &[f64]) -> Option<f64> {
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
    pub(super) fn digit_ps(&self, t: &DigitTally, lk: &LevelKeys, brief: bool, out: &mut Vec<(u32, f64)>) {
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
    /// `priors`: the station's scope's priors of the candidates (beta-binomial null).
    pub(super) fn tally_station(&self, s: usize, ballots: &[u32], votes: &[u32], t: &mut DigitTally, priors: Option<&[digits::prior::Prior]>) {
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
        t.exact.add_station(row.iter().copied(), den.max(sum), m.leader, 10, share_in, turnout_in.then_some((b.min(n), n)), priors);
    }

    /// The digit tests of one replicate: each scope (commission, or region) tallied on its
    /// own into one reused tally, its p-values taken at once (commissions: the brief
    /// battery), then summed into its region and the nation. Memory: one tally per region,
    /// not per commission (2,700 commissions' exact nulls were 80 MB per thread).
    pub(super) fn digit_replicate(&self, ballots: &[u32], votes: &[u32], w: &mut Work, out: &mut Vec<(u32, f64)>) {
        let k = self.m.k;
        let (one, regs) = w.digit.get_or_insert_with(|| (DigitTally::new(k), vec![DigitTally::new(k); self.regions.max(1)]));
        let any = |t: &DigitTally| t.last.iter().any(|h| h.iter().sum::<u64>() > 0) || t.pct_t.iter().sum::<u64>() > 0;
        let mut nat = DigitTally::new(k);
        for r in regs.iter_mut() {
            r.clear();
        }
        // The commission priors of the beta-binomial null, from this replicate's counts
        // (as the battery fits them from the file's).
        let with_priors = self.digit_null == digits::DigitNull::BetaBinomial;
        if with_priors {
            let m = self.m;
            w.digit_moments.clear();
            w.digit_moments.resize(self.by_scope.len() * k, Default::default());
            for (scope, members) in self.by_scope.iter().enumerate() {
                let mom = &mut w.digit_moments[scope * k..(scope + 1) * k];
                for &s in members {
                    let s = s as usize;
                    let row = &votes[s * k..(s + 1) * k];
                    let n = m.valid[s].max(row.iter().map(|&x| x as u64).sum());
                    for (mj, &x) in mom.iter_mut().zip(row) {
                        mj.add(x as u64, n);
                    }
                }
            }
            w.digit_priors = digits::prior::fit(&w.digit_moments, k, &self.scope_region, self.scope_regions);
        }
        let priors = &w.digit_priors;
        for (scope, members) in self.by_scope.iter().enumerate() {
            one.clear();
            let pr = with_priors.then(|| &priors[scope * k..(scope + 1) * k]);
            for &s in members {
                self.tally_station(s as usize, ballots, votes, one, pr);
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
    pub(super) fn replicate(&self, r: usize, seed: u64, w: &mut Work) -> Vec<(u32, f64)> {
        let m = self.m;
        let k = m.k;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(replicate_seed(seed, r));
        let with_digits = r < self.digit_reps;
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
        // digits, on the first `digit_reps` only: nation, each region, each commission
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
