//! Shape of the turnout and leader-share distributions (DESIGN.md §3 "Shape" and
//! "Turnout–share regressions"): moments, Hartigan's dip test of unimodality, the
//! correlation of turnout with the leader's share (Myagkov, Ordeshook & Shakin 2009),
//! and the Sobyanin–Sukhovolsky slope.
//!
//! All of these also arise from honest heterogeneity (rural areas vote more and vote
//! differently; regions differ): they describe, they do not convict, and every result
//! carries that note. The dip test's null is the uniform distribution (the least
//! favourable unimodal one, Hartigan & Hartigan 1985), so its p-value is conservative for
//! other unimodal shapes; with tens of thousands of stations it rejects for any real
//! election whose regions differ, which is why it is reported as a description.
//!
//! Station selection, as for the fingerprint (Klimek et al. 2012): `C > 0`, `N ≥ 100`,
//! stations abroad and electronic pseudo-stations left out (counted in the notes).
//! Turnout `T = B/N` (`C/N` when the file has no issued ballots); leader share
//! `S = v_leader / V` (valid votes, or the sum of candidate votes when V is absent).

use super::TestResult;
use crate::model::{Election, Role};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Mean, standard deviation, skewness and (non-excess) kurtosis, weighted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub skewness: f64,
    /// Non-excess kurtosis (3 for a normal distribution).
    pub kurtosis: f64,
}

/// Population moments (divisor Σw, as `moments::skewness`/`kurtosis` in R and
/// `scipy.stats.skew/kurtosis(bias=True)`); `w = None` for equal weights.
pub fn moments(x: &[f64], w: Option<&[f64]>) -> Moments {
    let n = x.len();
    let wsum: f64 = match w {
        Some(w) => w.iter().sum(),
        None => n as f64,
    };
    let wi = |i: usize| w.map_or(1.0, |w| w[i]);
    let mean = (0..n).map(|i| wi(i) * x[i]).sum::<f64>() / wsum;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let d = x[i] - mean;
        let d2 = d * d;
        m2 += wi(i) * d2;
        m3 += wi(i) * d2 * d;
        m4 += wi(i) * d2 * d2;
    }
    m2 /= wsum;
    m3 /= wsum;
    m4 /= wsum;
    Moments { n, mean, sd: m2.sqrt(), skewness: m3 / m2.powf(1.5), kurtosis: m4 / (m2 * m2) }
}

/// Weighted Pearson correlation.
pub fn pearson(x: &[f64], y: &[f64], w: Option<&[f64]>) -> f64 {
    let n = x.len();
    let wi = |i: usize| w.map_or(1.0, |w| w[i]);
    let ws: f64 = (0..n).map(wi).sum();
    let mx = (0..n).map(|i| wi(i) * x[i]).sum::<f64>() / ws;
    let my = (0..n).map(|i| wi(i) * y[i]).sum::<f64>() / ws;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += wi(i) * dx * dy;
        sxx += wi(i) * dx * dx;
        syy += wi(i) * dy * dy;
    }
    sxy / (sxx * syy).sqrt()
}

/// Ordinary least squares `y = a + b·x`: returns `(b, se(b))`.
pub fn ols_slope(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
    }
    let b = sxy / sxx;
    let a = my - b * mx;
    let rss: f64 = x.iter().zip(y).map(|(xi, yi)| (yi - a - b * xi).powi(2)).sum();
    let se = (rss / (n - 2.0) / sxx).sqrt();
    (b, se)
}

/// Hartigan's dip of a sorted sample: the largest distance between the empirical
/// distribution function and the closest unimodal distribution function, in units of
/// probability (between 1/(2n) and 1/4). Also the modal interval as indices.
///
/// The algorithm is AS 217 (P. M. Hartigan 1985, Applied Statistics 34:320–325), with
/// M. Maechler's fixes (1994: termination for unimodal data; 2003: Yong Lu's correction
/// of a misplaced parenthesis in the GCM distance): it alternates between the greatest
/// convex minorant (GCM) left of the modal interval and the least concave majorant (LCM)
/// right of it, narrowing the interval until the GCM–LCM gap no longer exceeds the dip.
/// Checked against R's `diptest::dip` on hand-made samples in the tests.
pub fn dip_sorted(x: &[f64]) -> (f64, usize, usize) {
    let n = x.len();
    if n < 4 || x[n - 1] == x[0] {
        return (0.0, 0, n.saturating_sub(1));
    }
    // 1-based arrays as in the published algorithm keep the index arithmetic legible.
    let xv = |i: usize| x[i - 1];
    // mn[j]: predecessor of j on the GCM of x[1..j]; mj[k]: successor on the LCM of x[k..n].
    let mut mn = vec![0usize; n + 1];
    mn[1] = 1;
    for j in 2..=n {
        mn[j] = j - 1;
        loop {
            let a = mn[j];
            let b = mn[a];
            if a == 1 || (xv(j) - xv(a)) * ((a - b) as f64) < (xv(a) - xv(b)) * ((j - a) as f64) {
                break;
            }
            mn[j] = b;
        }
    }
    let mut mj = vec![0usize; n + 1];
    mj[n] = n;
    for k in (1..n).rev() {
        mj[k] = k + 1;
        loop {
            let a = mj[k];
            let b = mj[a];
            // (x_k − x_a)(a − b) < (x_a − x_b)(k − a), with signed index differences.
            if a == n || (xv(k) - xv(a)) * (a as f64 - b as f64) < (xv(a) - xv(b)) * (k as f64 - a as f64) {
                break;
            }
            mj[k] = b;
        }
    }
    let (mut low, mut high) = (1usize, n);
    let mut dip = 1.0f64; // in units of 1/n until the end
    let mut gcm = vec![0usize; n + 2];
    let mut lcm = vec![0usize; n + 2];
    loop {
        // Change points of the GCM from high down to low, and of the LCM from low up to high.
        gcm[1] = high;
        let mut ic = 1;
        while gcm[ic] > low {
            gcm[ic + 1] = mn[gcm[ic]];
            ic += 1;
        }
        let icx = ic;
        lcm[1] = low;
        ic = 1;
        while lcm[ic] < high {
            lcm[ic + 1] = mj[lcm[ic]];
            ic += 1;
        }
        let icv = ic;
        let (mut ig, mut ih) = (icx, icv);
        let (mut ix, mut iv) = (icx - 1, 2usize);
        // Largest vertical distance between GCM and LCM on [low, high].
        let mut d = 0.0f64;
        if icx != 2 || icv != 2 {
            loop {
                let gx = gcm[ix];
                let lv = lcm[iv];
                if gx > lv {
                    let g1 = gcm[ix + 1];
                    let dx = (lv as f64 - g1 as f64 + 1.0)
                        - (xv(lv) - xv(g1)) * (gx as f64 - g1 as f64) / (xv(gx) - xv(g1));
                    iv += 1;
                    if dx >= d {
                        d = dx;
                        ig = ix + 1;
                        ih = iv - 1;
                    }
                } else {
                    let l1 = lcm[iv - 1];
                    let dx = (xv(gx) - xv(l1)) * (lv as f64 - l1 as f64) / (xv(lv) - xv(l1))
                        - (gx as f64 - l1 as f64 - 1.0);
                    ix -= 1;
                    if dx >= d {
                        d = dx;
                        ig = ix + 1;
                        ih = iv;
                    }
                }
                if ix < 1 {
                    ix = 1;
                }
                if iv > icv {
                    iv = icv;
                }
                if gcm[ix] == lcm[iv] {
                    break;
                }
            }
        } else {
            d = 1.0;
        }
        if d < dip {
            break;
        }
        // Dip of the GCM on [low, gcm[ig]] and of the LCM on [lcm[ih], high].
        let mut dip_l = 0.0f64;
        for j in ig..icx {
            let mut t_max = 1.0f64;
            let (jb, je) = (gcm[j + 1], gcm[j]);
            if je - jb > 1 && xv(je) != xv(jb) {
                let c = (je - jb) as f64 / (xv(je) - xv(jb));
                for jr in jb..=je {
                    let t = (jr - jb + 1) as f64 - (xv(jr) - xv(jb)) * c;
                    t_max = t_max.max(t);
                }
            }
            dip_l = dip_l.max(t_max);
        }
        let mut dip_u = 0.0f64;
        for k in ih..icv {
            let mut t_max = 1.0f64;
            let (kb, ke) = (lcm[k], lcm[k + 1]);
            if ke - kb > 1 && xv(ke) != xv(kb) {
                let c = (ke - kb) as f64 / (xv(ke) - xv(kb));
                for kr in kb..=ke {
                    let t = (xv(kr) - xv(kb)) * c - (kr as f64 - kb as f64 - 1.0);
                    t_max = t_max.max(t);
                }
            }
            dip_u = dip_u.max(t_max);
        }
        dip = dip.max(dip_l.max(dip_u));
        if low == gcm[ig] && high == lcm[ih] {
            break;
        }
        low = gcm[ig];
        high = lcm[ih];
    }
    (dip / (2.0 * n as f64), low - 1, high - 1)
}

/// Dip test p-value: P(√m·D_m ≥ √n·D_obs) for uniform samples of size
/// m = min(n, `ref_n`), by `reps` seeded simulations (parallel, deterministic).
/// √n·D converges in distribution under the uniform null (Hartigan & Hartigan 1985), so
/// a reference size of a few thousand gives the large-n tail without simulating 10⁵
/// points per draw; p = (1 + #{≥}) / (reps + 1).
pub fn dip_pvalue(dip: f64, n: usize, reps: usize, ref_n: usize, seed: u64) -> f64 {
    let m = n.min(ref_n).max(4);
    let target = dip * (n as f64).sqrt();
    let hits = dip_null_sample(m, reps, seed).iter().filter(|&&d| d >= target).count();
    (1 + hits) as f64 / (reps + 1) as f64
}

/// `reps` seeded draws of √m·D_m under the uniform null, in draw order.
pub fn dip_null_sample(m: usize, reps: usize, seed: u64) -> Vec<f64> {
    (0..reps)
        .into_par_iter()
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut u: Vec<f64> = (0..m).map(|_| rng.random::<f64>()).collect();
            u.sort_by(f64::total_cmp);
            dip_sorted(&u).0 * (m as f64).sqrt()
        })
        .collect()
}

/// Reference size of the tabulated null ([`DIP_TABLE`]).
pub const DIP_TABLE_M: usize = 4000;
/// Draws behind the table, and how many of the sorted draws each stored value stands for.
pub const DIP_TABLE_REPS: usize = 20_000;
pub const DIP_TABLE_THIN: usize = 5;
/// Seed of the tabulated draws.
pub const DIP_TABLE_SEED: u64 = 0x0D1B_7AB1E;

/// The null distribution of √m·D_m at m = [`DIP_TABLE_M`]: every [`DIP_TABLE_THIN`]-th of
/// [`DIP_TABLE_REPS`] sorted draws of [`dip_null_sample`] (seed [`DIP_TABLE_SEED`]), made by
/// `cargo test --release --lib -- --ignored regenerate_dip_table` and checked against fresh
/// draws by `dip_table_matches_fresh_draws`. The same role as the `qDiptab` table of R's
/// `diptest` package (Maechler), but computed by this crate's own dip.
static DIP_TABLE_TEXT: &str = include_str!("dip_null_4000.txt");

fn dip_table() -> &'static [f64] {
    static T: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let v: Vec<f64> = DIP_TABLE_TEXT
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.trim().parse().expect("dip_null_4000.txt holds one number per line"))
            .collect();
        assert_eq!(v.len(), DIP_TABLE_REPS / DIP_TABLE_THIN, "dip_null_4000.txt is complete");
        v
    })
}

/// Dip p-value from the tabulated null, for n ≥ [`DIP_TABLE_M`]:
/// p = (1 + #{draws ≥ √n·D}) / (reps + 1), the count read off the thinned table (exact to
/// within [`DIP_TABLE_THIN`] draws, i.e. ±0.00025 in p).
pub fn dip_pvalue_table(dip: f64, n: usize) -> f64 {
    let t = dip_table();
    let target = dip * (n as f64).sqrt();
    let below = t.partition_point(|&d| d < target);
    let hits = (t.len() - below) * DIP_TABLE_THIN;
    (1 + hits) as f64 / (DIP_TABLE_REPS + 1) as f64
}

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct ShapeOptions {
    pub leader: Option<usize>,
    pub dip_reps: usize,
    pub dip_ref_n: usize,
    pub seed: u64,
}

impl Default for ShapeOptions {
    fn default() -> Self {
        ShapeOptions { leader: None, dip_reps: 500, dip_ref_n: DIP_TABLE_M, seed: 20_121_009 }
    }
}

/// Per-station turnout, leader share and electorate for the stations the shape tests use.
pub struct Selection {
    pub turnout: Vec<f64>,
    pub share: Vec<f64>,
    pub registered: Vec<f64>,
    pub leader_votes: Vec<f64>,
    pub other_votes: Vec<f64>,
    pub notes: Vec<String>,
}

/// Klimek-style selection (see the module docs); `None` without registered voters.
pub fn select(e: &Election, leader: usize) -> Option<Selection> {
    select_counts(e, leader).map(|(s, _, _)| s)
}

/// The selection, the station indices it kept, and notes on what it left out.
pub fn select_counts(e: &Election, leader: usize) -> Option<(Selection, Vec<usize>, Vec<String>)> {
    let reg = e.get(Role::Registered)?;
    let (num, basis) = match e.get(Role::Issued) {
        Some(b) => (b, "turnout = issued / registered (B/N)"),
        None => (e.get(Role::InBoxes)?, "turnout = ballots in boxes / registered (C/N): the file has no issued ballots"),
    };
    let sums = e.vote_sums();
    let boxes: Vec<u64> = match e.get(Role::InBoxes) {
        Some(c) => c.iter().map(|&x| x as u64).collect(),
        None => sums.clone(),
    };
    let valid = e.valid_or_sum();
    let lv = &e.votes[leader];
    let mut s = Selection {
        turnout: vec![],
        share: vec![],
        registered: vec![],
        leader_votes: vec![],
        other_votes: vec![],
        notes: vec![basis.into()],
    };
    let mut idx = Vec::new();
    let (mut small, mut empty, mut special) = (0, 0, 0);
    for i in 0..e.len() {
        if e.special[i].is_some() {
            special += 1;
            continue;
        }
        if boxes[i] == 0 || valid[i] == 0 {
            empty += 1;
            continue;
        }
        if reg[i] < 100 {
            small += 1;
            continue;
        }
        s.turnout.push((num[i] as f64 / reg[i] as f64).min(1.0));
        s.share.push(lv[i] as f64 / valid[i] as f64);
        s.registered.push(reg[i] as f64);
        s.leader_votes.push(lv[i] as f64);
        s.other_votes.push((sums[i] - lv[i] as u64) as f64);
        idx.push(i);
    }
    s.notes.push(format!(
        "leader share = votes for {} / valid votes; stations used: {} (left out: {special} abroad or electronic, {empty} with no ballots, {small} with fewer than 100 registered)",
        e.candidates[leader],
        s.turnout.len()
    ));
    let notes = s.notes.clone();
    Some((s, idx, notes))
}

/// The shape battery at national level.
pub fn run(e: &Election, opt: &ShapeOptions) -> Vec<TestResult> {
    let mut out = Vec::new();
    let Some(leader) = opt.leader.or_else(|| e.leader()) else { return out };
    let Some(sel) = select(e, leader) else { return out };
    let n = sel.turnout.len();
    if n < 10 {
        return out;
    }
    let caveat = "describes the distribution; honest heterogeneity between areas produces it too";
    for (name, x) in [("turnout", &sel.turnout), ("leader_share", &sel.share)] {
        for (wname, w) in [("stations", None), ("voters", Some(sel.registered.as_slice()))] {
            let m = moments(x, w);
            let mut r = TestResult::new(format!("shape.{name}.skewness.{wname}"), "nation", m.skewness, n);
            r.extra.insert("mean".into(), m.mean);
            r.extra.insert("sd".into(), m.sd);
            r.notes = sel.notes.clone();
            r.notes.push(caveat.into());
            out.push(r);
            let mut r = TestResult::new(format!("shape.{name}.kurtosis.{wname}"), "nation", m.kurtosis, n);
            r.null_mean = Some(3.0);
            r.notes = vec!["non-excess kurtosis (3 for a normal distribution)".into(), caveat.into()];
            out.push(r);
        }
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        let (d, lo, hi) = dip_sorted(&sorted);
        let tabulated = n >= DIP_TABLE_M && opt.dip_ref_n == DIP_TABLE_M;
        let p = if tabulated { dip_pvalue_table(d, n) } else { dip_pvalue(d, n, opt.dip_reps, opt.dip_ref_n, opt.seed) };
        let mut r = TestResult::new(format!("shape.{name}.dip"), "nation", d, n);
        r.p = Some(p);
        r.extra.insert("modal_low".into(), sorted[lo]);
        r.extra.insert("modal_high".into(), sorted[hi]);
        r.notes = vec![
            if tabulated {
                format!("Hartigan's dip test of unimodality; null: uniform (least favourable unimodal), p from {DIP_TABLE_REPS} tabulated simulations of sqrt(n)*dip at n = {DIP_TABLE_M}")
            } else {
                format!(
                    "Hartigan's dip test of unimodality; null: uniform (least favourable unimodal), p from {} simulations of sqrt(n)*dip at n = {}",
                    opt.dip_reps,
                    n.min(opt.dip_ref_n)
                )
            },
            "a multimodal turnout distribution suggests a mixture (e.g. a group of stations with inflated turnout) but regional differences produce it too".into(),
        ];
        out.push(r);
    }
    for (wname, w) in [("stations", None), ("voters", Some(sel.registered.as_slice()))] {
        let rho = pearson(&sel.turnout, &sel.share, w);
        let mut r = TestResult::new(format!("shape.corr_turnout_share.{wname}"), "nation", rho, n);
        r.notes = vec![
            "Pearson correlation of turnout with the leader's share; stuffing pushes both up together (Myagkov, Ordeshook & Shakin 2009)".into(),
            caveat.into(),
        ];
        out.push(r);
    }
    // Sobyanin–Sukhovolsky: leader votes / registered regressed on turnout.
    let y: Vec<f64> = sel.turnout.iter().zip(&sel.share).map(|(t, s)| t * s).collect();
    let (b, se) = ols_slope(&sel.turnout, &y);
    let mut r = TestResult::new("shape.sobyanin_slope", "nation", b, n);
    r.null_mean = Some(1.0);
    r.extra.insert("se".into(), se);
    r.notes = vec![
        "Sobyanin-Sukhovolsky: slope of leader votes per registered voter on turnout (leader share × turnout, issued ballots as the turnout basis); a slope above 1 means the leader gains more votes than the turnout adds voters".into(),
        caveat.into(),
    ];
    out.push(r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moments checked against scipy.stats (bias=True):
    /// x = [1, 2, 2, 3, 9]: mean 3.4, sd (population) 2.8705, skew 1.3747, kurtosis 3.1669 (non-excess).
    #[test]
    fn moments_by_hand() {
        let m = moments(&[1.0, 2.0, 2.0, 3.0, 9.0], None);
        assert!((m.mean - 3.4).abs() < 1e-12);
        // variance = ((2.4² + 1.4² + 1.4² + 0.4² + 5.6²)/5) = (5.76+1.96+1.96+0.16+31.36)/5 = 8.24
        assert!((m.sd - 8.24f64.sqrt()).abs() < 1e-12);
        // m3 = (−13.824 − 2.744 − 2.744 − 0.064 + 175.616)/5 = 31.248; skew = 31.248 / 8.24^1.5
        assert!((m.skewness - 31.248 / 8.24f64.powf(1.5)).abs() < 1e-12);
        // m4 = (33.1776 + 3.8416 + 3.8416 + 0.0256 + 983.4496)/5 = 204.8672; kurt = m4 / 8.24²
        assert!((m.kurtosis - 204.8672 / (8.24 * 8.24)).abs() < 1e-9);
        // Weights 2 on one point equal repeating it.
        let a = moments(&[1.0, 2.0, 3.0, 9.0], Some(&[1.0, 2.0, 1.0, 1.0]));
        assert!((a.skewness - m.skewness).abs() < 1e-12);
    }

    #[test]
    fn pearson_and_slope() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [2.0, 4.0, 6.0, 8.5];
        // by hand: mx 2.5, my 5.125; sxy = 1.5·3.125+0.5·1.125+0.5·0.875+1.5·3.375 = 10.75; sxx = 5
        let (b, _) = ols_slope(&x, &y);
        assert!((b - 2.15).abs() < 1e-12);
        // syy = 9.765625 + 1.265625 + 0.765625 + 11.390625 = 23.1875; r = 10.75/sqrt(5·23.1875)
        assert!((pearson(&x, &y, None) - 10.75 / (5.0f64 * 23.1875).sqrt()).abs() < 1e-12);
    }

    /// Values from R 4.3, diptest 0.77: `dip(c(1,2,3,4,5))` = 0.1 (= 1/(2n));
    /// a clearly bimodal sample of two equal clusters has dip close to 1/4.
    #[test]
    fn dip_known_values() {
        let (d, _, _) = dip_sorted(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((d - 0.1).abs() < 1e-12, "{d}");
        // Two far clusters of 50 points each: the dip approaches 1/4 as clusters tighten.
        let mut x: Vec<f64> = (0..50).map(|i| i as f64 * 0.001).chain((0..50).map(|i| 10.0 + i as f64 * 0.001)).collect();
        x.sort_by(f64::total_cmp);
        let (d, _, _) = dip_sorted(&x);
        assert!(d > 0.24 && d <= 0.25, "{d}");
        // A uniform grid is unimodal: dip = 1/(2n).
        let g: Vec<f64> = (0..200).map(|i| i as f64).collect();
        assert!((dip_sorted(&g).0 - 1.0 / 400.0).abs() < 1e-12);
    }

    /// Cross-checked with Python's `diptest` 0.10 (a separate wrapping of the C code):
    /// `diptest.dipstat(np.sort([((i*37)%101)/101 + (1.5 if i%3==0 else 0) for i in range(60)]))`
    /// = 0.061245674740484445, and for 45 points `((i*53)%97)/97` plus 25 points
    /// `2 + ((i*7)%11)/11`: 0.09577301283802239.
    #[test]
    fn dip_matches_python_diptest() {
        let mut x: Vec<f64> =
            (0..60).map(|i| ((i * 37) % 101) as f64 / 101.0 + if i % 3 == 0 { 1.5 } else { 0.0 }).collect();
        x.sort_by(f64::total_cmp);
        assert!((dip_sorted(&x).0 - 0.061245674740484445).abs() < 1e-12);
        let mut y: Vec<f64> = (0..45)
            .map(|i| ((i * 53) % 97) as f64 / 97.0)
            .chain((0..25).map(|i| 2.0 + ((i * 7) % 11) as f64 / 11.0))
            .collect();
        y.sort_by(f64::total_cmp);
        assert!((dip_sorted(&y).0 - 0.09577301283802239).abs() < 1e-12);
    }

    #[test]
    fn dip_test_calibrated_and_powerful() {
        // Uniform samples: p-values roughly uniform → rejection rate near 0.05.
        let mut rej = 0;
        let reps = 200;
        for r in 0..reps {
            let mut rng = ChaCha8Rng::seed_from_u64(1000 + r);
            let mut u: Vec<f64> = (0..500).map(|_| rng.random::<f64>()).collect();
            u.sort_by(f64::total_cmp);
            let d = dip_sorted(&u).0;
            if dip_pvalue(d, 500, 200, 500, r) < 0.05 {
                rej += 1;
            }
        }
        let rate = rej as f64 / reps as f64;
        assert!((0.02..=0.09).contains(&rate), "uniform rejection rate {rate}");
        // A mixture of two normals 4 sd apart, n = 500: rejected.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut x: Vec<f64> = (0..500)
            .map(|i| {
                let z: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng);
                z + if i % 2 == 0 { 0.0 } else { 4.0 }
            })
            .collect();
        x.sort_by(f64::total_cmp);
        let d = dip_sorted(&x).0;
        assert!(dip_pvalue(d, 500, 200, 500, 1) < 0.01, "bimodal dip {d}");
    }

    /// Writes `dip_null_4000.txt` (run once; the file is committed).
    #[test]
    #[ignore]
    fn regenerate_dip_table() {
        let mut d = dip_null_sample(DIP_TABLE_M, DIP_TABLE_REPS, DIP_TABLE_SEED);
        d.sort_by(f64::total_cmp);
        let mut out = format!(
            "# sqrt(m)*dip of uniform samples, m = {DIP_TABLE_M}: every {DIP_TABLE_THIN}th of {DIP_TABLE_REPS} sorted draws\n# (shape::dip_null_sample, seed {DIP_TABLE_SEED:#x}); regenerate: cargo test --release --lib -- --ignored regenerate_dip_table\n"
        );
        for v in d.iter().skip(DIP_TABLE_THIN - 1).step_by(DIP_TABLE_THIN) {
            out.push_str(&format!("{v:.7}\n"));
        }
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/stats/dip_null_4000.txt"), out).unwrap();
    }

    /// The table agrees with fresh draws (other seed): the 50/90/95/99% quantiles of 2,000
    /// fresh draws lie within their Monte Carlo error of the table's.
    #[test]
    fn dip_table_matches_fresh_draws() {
        let t = dip_table();
        let q = |v: &[f64], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        let mut fresh = dip_null_sample(DIP_TABLE_M, 2000, 99);
        fresh.sort_by(f64::total_cmp);
        for p in [0.5, 0.9, 0.95, 0.99] {
            let (a, b) = (q(t, p), q(&fresh, p));
            assert!((a - b).abs() / a < 0.04, "quantile {p}: table {a}, fresh {b}");
        }
        // p-values from the table: the 0.95 quantile gives p ≈ 0.05, the median ≈ 0.5.
        let n = 10_000;
        let p95 = dip_pvalue_table(q(t, 0.95) / (n as f64).sqrt(), n);
        assert!((p95 - 0.05).abs() < 0.002, "{p95}");
        let p50 = dip_pvalue_table(q(t, 0.5) / (n as f64).sqrt(), n);
        assert!((p50 - 0.5).abs() < 0.002, "{p50}");
        assert_eq!(dip_pvalue_table(1.0, n), 1.0 / (DIP_TABLE_REPS + 1) as f64);
        assert_eq!(dip_pvalue_table(0.0, n), 1.0);
    }

    /// Tabulated p-values against the independent `diptest` 0.12.0 (Python port of R's
    /// `diptest`, p interpolated in Maechler's qDiptab): tests/independent/dip_pvalues.py,
    /// n = 6000. Agreement within 0.02 absolute (both are Monte Carlo tables; ours has
    /// 20,000 draws at m = 4000, qDiptab interpolates between its n and p grid points).
    #[test]
    fn dip_table_matches_python_diptest() {
        let n = 6000;
        for (d, p) in [
            (0.0049247941, 0.473310),
            (0.0046171233, 0.593561),
            (0.0076304911, 0.020506),
            (0.0062252096, 0.136126),
            (0.0083226360, 0.007375),
            (0.0067798266, 0.069119),
            (0.0050730631, 0.418687),
            (0.0061545725, 0.147779),
            (0.0042862556, 0.725288),
            (0.0041011448, 0.795243),
            (0.0027517694, 0.994402),
            (0.0048171509, 0.514000),
        ] {
            let ours = dip_pvalue_table(d, n);
            assert!((ours - p).abs() < 0.02 && (ours / p).ln().abs() < 0.35, "dip {d}: ours {ours}, diptest {p}");
        }
    }
}
