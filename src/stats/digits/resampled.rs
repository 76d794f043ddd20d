//! The resampled null (jitter on the log10 scale), see the module docs of `digits`.

#![allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// The resampled null (jitter on the log10 scale)

/// Which digit a resampled null is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// Second digit from the left (2BL).
    Second,
    /// Last digit.
    Last,
}

/// Settings of the resampled null.
#[derive(Debug, Clone, Serialize)]
pub struct ResampleOptions {
    /// Replicates `B` (499).
    pub draws: usize,
    /// Jitter standard deviation on the log10 scale (0.15: see the module docs).
    pub jitter_sd: f64,
    pub seed: u64,
}

impl Default for ResampleOptions {
    fn default() -> Self {
        ResampleOptions { draws: 499, jitter_sd: 0.15, seed: 20180318 }
    }
}

/// What the resampled null found.
#[derive(Debug, Clone, Serialize)]
pub struct Resampled {
    pub place: Place,
    /// Observed digit tallies of counts `≥ min_count`.
    pub observed: [u64; 10],
    pub n: u64,
    /// Expected digit frequencies under the jitter (exact).
    pub expected: [f64; 10],
    /// `Σ (O − n e)² / (n e)`.
    pub chi2: f64,
    pub chi2_null_mean: f64,
    pub chi2_null_sd: f64,
    /// `(1 + #{T* ≥ T}) / (B + 1)`.
    pub p_chi2: f64,
    /// Observed mean digit, its expectation under the jitter, and the two-sided resampled p.
    pub mean: f64,
    pub mean_expected: f64,
    pub mean_null_sd: f64,
    pub p_mean: f64,
    pub draws: usize,
    pub jitter_sd: f64,
}

/// Standard normal cdf.
#[inline]
pub(super) fn phi(z: f64) -> f64 {
    norm_sf(-z)
}

/// Category probabilities of `round(c · 10^(σZ))` for one count: digits 0–9 of results
/// `≥ min`, and (index 10) results below `min`.
pub(super) fn jitter_probs(c: u32, min: u32, place: Place, sd: f64) -> [f64; 11] {
    let mut p = [0.0; 11];
    let l = (c as f64).log10();
    let f = |x: f64| -> f64 { if x <= 0.0 { 0.0 } else { phi((x.log10() - l) / sd) } };
    let below = f(min as f64 - 0.5);
    p[10] = below;
    let w = 8.0 * sd;
    let lo_a = ((c as f64) * 10f64.powf(-w)).floor().max(min as f64) as u64;
    let hi_a = ((c as f64) * 10f64.powf(w)).ceil() as u64;
    if lo_a > hi_a {
        return p;
    }
    match place {
        Place::Second => {
            let mut a = lo_a;
            let mut prev = f(a as f64 - 0.5);
            if a == min as u64 {
                prev = below;
            }
            while a <= hi_a {
                // cell containing a: same leading two digits
                let mut w10 = 1u64;
                while a / w10 >= 100 {
                    w10 *= 10;
                }
                let lead = a / w10;
                let end = (lead + 1) * w10 - 1;
                let cur = f(end as f64 + 0.5);
                p[(lead % 10) as usize] += cur - prev;
                prev = cur;
                a = end + 1;
            }
        }
        Place::Last => {
            let spread = c as f64 * sd * std::f64::consts::LN_10;
            if spread > 30.0 && (min as f64) < (c as f64) * 10f64.powf(-w) {
                // the jitter spans many periods of ten: last digits uniform to ~e^{-170}
                for d in 0..10 {
                    p[d] = (1.0 - below) / 10.0;
                }
                return p;
            }
            let mut prev = if lo_a == min as u64 { below } else { f(lo_a as f64 - 0.5) };
            for a in lo_a..=hi_a {
                let cur = f(a as f64 + 0.5);
                p[(a % 10) as usize] += cur - prev;
                prev = cur;
            }
        }
    }
    p
}

pub(super) struct Group {
    pub(super) mult: u64,
    cum: [f64; 11],
    probs: [f64; 11],
}

pub(super) fn digit_of(c: u32, place: Place) -> Option<usize> {
    match place {
        Place::Second => second_digit(c),
        Place::Last => Some(last_digit(c)),
    }
}

pub(super) fn chi2_against(obs: &[u64; 10], e: &[f64; 10]) -> (f64, f64, u64) {
    let n: u64 = obs.iter().sum();
    if n == 0 {
        return (f64::NAN, f64::NAN, 0);
    }
    let nf = n as f64;
    let mut x = 0.0;
    let mut s = 0.0;
    for d in 0..10 {
        if e[d] > 0.0 {
            x += (obs[d] as f64 - nf * e[d]).powi(2) / (nf * e[d]);
        }
        s += d as f64 * obs[d] as f64;
    }
    (x, s / nf, n)
}

/// The prepared null of one set of counts: observed tallies, grouped draw tables and the
/// (unnormalised) expected digit mass.
pub(super) struct Prepared {
    observed: [u64; 10],
    groups: Vec<Group>,
    exp_mass: [f64; 10],
}

pub(super) fn prepare(mut v: Vec<u32>, min: u32, place: Place, sd: f64) -> Prepared {
    v.retain(|&c| c > 0);
    v.sort_unstable();
    let mut observed = [0u64; 10];
    let mut groups: Vec<Group> = Vec::new();
    let mut exp = [0.0f64; 10];
    let floor = (min as f64 - 0.5) * 10f64.powf(-9.0 * sd);
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        let mut j = i;
        while j < v.len() && v[j] == c {
            j += 1;
        }
        let m = (j - i) as u64;
        if c >= min {
            observed[digit_of(c, place).unwrap()] += m;
        }
        if (c as f64) >= floor {
            let probs = jitter_probs(c, min, place, sd);
            let mut cum = [0.0; 11];
            let mut acc = 0.0;
            for k in 0..11 {
                acc += probs[k];
                cum[k] = acc;
            }
            for d in 0..10 {
                exp[d] += m as f64 * probs[d];
            }
            groups.push(Group { mult: m, cum, probs });
        }
        i = j;
    }
    Prepared { observed, groups, exp_mass: exp }
}

pub(super) fn draw_tally(rng: &mut ChaCha8Rng, groups: &[Group], tally: &mut [u64; 10]) {
    let mut out = [0u64; 11];
    for g in groups {
        if g.mult <= 12 {
            for _ in 0..g.mult {
                let u: f64 = rng.random::<f64>() * g.cum[10];
                let k = g.cum.iter().position(|&x| u < x).unwrap_or(10);
                if k < 10 {
                    tally[k] += 1;
                }
            }
        } else {
            multinomial(rng, g.mult, &g.probs, &mut out);
            for d in 0..10 {
                tally[d] += out[d];
            }
        }
    }
}

pub(super) fn finish(place: Place, observed: [u64; 10], mass: [f64; 10], stats: &[(f64, f64)], o: &ResampleOptions) -> Option<Resampled> {
    let n: u64 = observed.iter().sum();
    let tot: f64 = mass.iter().sum();
    if n == 0 || tot <= 0.0 {
        return None;
    }
    let mut exp = mass;
    for e in exp.iter_mut() {
        *e /= tot;
    }
    let (t, mean, _) = chi2_against(&observed, &exp);
    let (mean_e, _) = mean_var_of(&exp);
    let b = stats.len();
    let (mut ge_t, mut ge_m) = (0usize, 0usize);
    let (mut s1, mut s2, mut m2) = (0.0, 0.0, 0.0);
    for &(x, m) in stats {
        ge_t += (x >= t - 1e-9 * t.abs()) as usize;
        ge_m += ((m - mean_e).abs() >= (mean - mean_e).abs() - 1e-12) as usize;
        s1 += x;
        s2 += x * x;
        m2 += (m - mean_e).powi(2);
    }
    let bf = b.max(1) as f64;
    let cm = s1 / bf;
    Some(Resampled {
        place,
        observed,
        n,
        expected: exp,
        chi2: t,
        chi2_null_mean: cm,
        chi2_null_sd: (s2 / bf - cm * cm).max(0.0).sqrt(),
        p_chi2: (1 + ge_t) as f64 / (b + 1) as f64,
        mean,
        mean_expected: mean_e,
        mean_null_sd: (m2 / bf).sqrt(),
        p_mean: (1 + ge_m) as f64 / (b + 1) as f64,
        draws: b,
        jitter_sd: o.jitter_sd,
    })
}

/// Resampled nulls for several sets of counts at once (e.g. one per candidate), with the
/// same replicates; the last element of the answer is the pooled set (all sets together),
/// whose replicate tallies are the sums of the sets' (the jitter is independent per count,
/// so this is exactly the pooled null). Each set holds all its counts, small ones included
/// (they can jitter above the threshold). `None` where no count reaches the threshold.
pub fn resampled_nulls(sets: Vec<Vec<u32>>, min_count: u32, place: Place, o: &ResampleOptions) -> Vec<Option<Resampled>> {
    let keys: Vec<u64> = (0..sets.len() as u64).collect();
    resampled_nulls_keyed(sets, &keys, min_count, place, o)
}

/// A stable key for a named set (FNV-1a of the name), so that a candidate's draws
/// depend on its name, not on its column's position in the file.
pub fn set_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// [`resampled_nulls`] with the random stream of set `s` keyed by `keys[s]`: each set's
/// replicates depend on the seed, its key and the replicate number only, so the
/// per-candidate and pooled nulls are the same whatever the order of the sets
/// (candidate columns) in the file.
pub fn resampled_nulls_keyed(
    sets: Vec<Vec<u32>>,
    keys: &[u64],
    min_count: u32,
    place: Place,
    o: &ResampleOptions,
) -> Vec<Option<Resampled>> {
    assert_eq!(keys.len(), sets.len(), "one key per set");
    let min = match place {
        Place::Second => min_count.max(10),
        Place::Last => min_count.max(1),
    };
    let prep: Vec<Prepared> = sets.into_par_iter().map(|v| prepare(v, min, place, o.jitter_sd)).collect();
    let k = prep.len();
    let mut pooled_obs = [0u64; 10];
    let mut pooled_mass = [0.0f64; 10];
    for p in &prep {
        for d in 0..10 {
            pooled_obs[d] += p.observed[d];
            pooled_mass[d] += p.exp_mass[d];
        }
    }
    let norm = |m: &[f64; 10]| -> [f64; 10] {
        let t: f64 = m.iter().sum();
        let mut e = *m;
        if t > 0.0 {
            for x in e.iter_mut() {
                *x /= t;
            }
        }
        e
    };
    let exps: Vec<[f64; 10]> = prep.iter().map(|p| norm(&p.exp_mass)).collect();
    let pooled_exp = norm(&pooled_mass);
    // per draw: (chi2, mean) of every set, then of the pooled set
    let draws: Vec<Vec<(f64, f64)>> = (0..o.draws)
        .into_par_iter()
        .map(|b| {
            let mut pooled = [0u64; 10];
            let mut row = Vec::with_capacity(k + 1);
            for (s, p) in prep.iter().enumerate() {
                let mut rng = ChaCha8Rng::seed_from_u64(o.seed ^ crate::simulate::splitmix64(keys[s]));
                rng.set_stream(b as u64);
                let mut tally = [0u64; 10];
                draw_tally(&mut rng, &p.groups, &mut tally);
                for d in 0..10 {
                    pooled[d] += tally[d];
                }
                let (x, m, _) = chi2_against(&tally, &exps[s]);
                row.push((x, m));
            }
            let (x, m, _) = chi2_against(&pooled, &pooled_exp);
            row.push((x, m));
            row
        })
        .collect();
    let mut out = Vec::with_capacity(k + 1);
    for s in 0..=k {
        let st: Vec<(f64, f64)> = draws.iter().map(|r| r[s]).collect();
        let (obs, mass) = if s < k { (prep[s].observed, prep[s].exp_mass) } else { (pooled_obs, pooled_mass) };
        out.push(finish(place, obs, mass, &st, o));
    }
    out
}

/// The resampled null for the digits at `place` of the counts `≥ min_count` among `counts`
/// (all counts, small ones included: they can jitter above the threshold). See the module
/// docs. `None` when no count reaches `min_count`.
pub fn resampled_null(counts: impl IntoIterator<Item = u32>, min_count: u32, place: Place, o: &ResampleOptions) -> Option<Resampled> {
    resampled_nulls(vec![counts.into_iter().collect()], min_count, place, o).pop().flatten()
}

