//! The clean model: hierarchy, station sizes, turnout and shares with nested random
//! effects, multinomial counts (see the module docs of [`crate::simulate`]).

use super::{Purpose, SimConfig, Simulation, Truth, candidate_name, col, commission_label, region_label, rng_for};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Gamma, StandardNormal};
use rayon::prelude::*;

/// Stations per block; each block has its own random stream (part of the output's
/// definition: changing it changes every simulated election).
pub const CHUNK: usize = 4096;

pub(crate) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Binomial(n, p) with `p` clamped into [0, 1] (NaN → 0). Exact: for a small mean
/// (`n·p < 8`, e.g. ballots not returned, early voting) by counting geometric gaps
/// between successes (one logarithm per success, much cheaper than BINV's `powf`),
/// otherwise rand_distr's BTPE.
#[inline]
pub(crate) fn binom(rng: &mut ChaCha8Rng, n: u32, p: f64) -> u32 {
    // NaN and p ≤ 0 give 0.
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p < 0.5 && (n as f64) * p < 8.0 {
        // Failures before the next success ~ Geometric(p) = floor(ln U / ln(1 − p)).
        let lq = (-p).ln_1p();
        let mut k = 0u32;
        let mut pos = 0u64;
        loop {
            let u: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
            pos += (u.ln() / lq) as u64 + 1;
            if pos > n as u64 {
                return k;
            }
            k += 1;
        }
    }
    match Binomial::new(n as u64, p) {
        Ok(b) => b.sample(rng) as u32,
        Err(_) => 0,
    }
}

#[inline]
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Effects drawn once, serially: per region and per commission.
struct Effects {
    turnout_r: Vec<f64>,
    turnout_c: Vec<f64>,
    share_r: Vec<f64>,
    share_c: Vec<f64>,
    /// `[region * others + j]`, `[commission * others + j]` for other candidate `j`.
    others_r: Vec<f64>,
    others_c: Vec<f64>,
}

/// Builds the hierarchy and the clean protocols.
pub(crate) fn generate(cfg: &SimConfig) -> Simulation {
    let n = cfg.stations;
    let k = cfg.candidates;
    let regions = cfg.regions;
    let mut h = rng_for(cfg.seed, Purpose::Hierarchy, 0);

    let (commission_start, commission_region, region_labels, commission_labels) = match &cfg.hierarchy {
        None => {
            let cpr = cfg.commissions_per_region();
            let n_comm = regions * cpr;
            // Commission sizes: 1 station each, the rest shared in proportion to Gamma(3)
            // weights (cumulative rounding, so the sizes add up exactly).
            let gamma = Gamma::new(3.0, 1.0).expect("valid gamma");
            let weights: Vec<f64> = (0..n_comm).map(|_| gamma.sample(&mut h)).collect();
            let total_w: f64 = weights.iter().sum();
            let spare = (n - n_comm) as f64;
            let mut commission_start = Vec::with_capacity(n_comm + 1);
            let mut cum = 0.0;
            for (c, w) in weights.iter().enumerate() {
                commission_start.push(c + (spare * cum / total_w).round() as usize);
                cum += w;
            }
            commission_start.push(n);
            let commission_region: Vec<u32> = (0..n_comm).map(|c| (c / cpr) as u32).collect();
            let region_labels: Vec<String> = (0..regions).map(|r| region_label(r, regions)).collect();
            let commission_labels: Vec<String> =
                (0..n_comm).map(|c| commission_label(c / cpr, c % cpr, regions, cpr)).collect();
            (commission_start, commission_region, region_labels, commission_labels)
        }
        Some(given) => {
            // A given hierarchy (validated): its sizes and labels as they are.
            let mut commission_start = Vec::with_capacity(given.commission_stations.len() + 1);
            let mut at = 0;
            for &m in &given.commission_stations {
                commission_start.push(at);
                at += m;
            }
            commission_start.push(at);
            (
                commission_start,
                given.commission_region.clone(),
                given.region_labels.clone(),
                given.commission_labels.clone(),
            )
        }
    };
    let n_comm = commission_region.len();
    let mut station_commission = vec![0u32; n];
    for c in 0..n_comm {
        station_commission[commission_start[c]..commission_start[c + 1]].fill(c as u32);
    }

    let others = k - 1;
    let mut draw = |count: usize, sd: f64| -> Vec<f64> { (0..count).map(|_| sd * normal(&mut h)).collect() };
    let fx = Effects {
        turnout_r: draw(regions, cfg.turnout.sd[0]),
        turnout_c: draw(n_comm, cfg.turnout.sd[1]),
        share_r: draw(regions, cfg.leader_share.sd[0]),
        share_c: draw(n_comm, cfg.leader_share.sd[1]),
        others_r: draw(regions * others, cfg.others_sd[0]),
        others_c: draw(n_comm * others, cfg.others_sd[1]),
    };

    // Size mixture: cumulative weights, log-medians.
    let wsum: f64 = cfg.size.iter().map(|c| c.weight).sum();
    let mut acc = 0.0;
    let size_cum: Vec<f64> = cfg
        .size
        .iter()
        .map(|c| {
            acc += c.weight / wsum;
            acc
        })
        .collect();

    let width = col::FIXED + k;
    let mut rows = vec![0u32; n * width];
    rows.par_chunks_mut(width * CHUNK).enumerate().for_each(|(chunk, block)| {
        let mut shares = vec![0.0f64; k];
        // One stream per fixed block of CHUNK stations: the draws of station s depend
        // on the seed and s only, never on the thread that runs the block.
        let mut rng = rng_for(cfg.seed, Purpose::Clean, chunk as u64);
        for (o, row) in block.chunks_exact_mut(width).enumerate() {
            let s = chunk * CHUNK + o;
            let c = station_commission[s] as usize;
            let r = commission_region[c] as usize;
            station(cfg, &fx, &size_cum, s, r, c, &mut rng, &mut shares, row);
        }
    });

    Simulation {
        config: cfg.clone(),
        candidates: (0..k).map(candidate_name).collect(),
        region_labels,
        commission_labels,
        commission_region,
        station_commission,
        commission_start,
        rows,
        truth: vec![Truth::default(); n],
        notes: Vec::new(),
    }
}

/// One clean protocol.
#[allow(clippy::too_many_arguments)]
fn station(
    cfg: &SimConfig,
    fx: &Effects,
    size_cum: &[f64],
    s: usize,
    r: usize,
    c: usize,
    rng: &mut ChaCha8Rng,
    shares: &mut [f64],
    row: &mut [u32],
) {
    let k = cfg.candidates;
    let others = k - 1;
    // Registered voters: pick a component, draw its log-normal, clamp.
    let u: f64 = rng.random();
    let comp = size_cum.iter().position(|&q| u < q).unwrap_or(size_cum.len() - 1);
    let sc = cfg.size[comp];
    let z = normal(rng);
    let n_reg = (sc.median.ln() + sc.log_sd * z).exp().round();
    let n_reg = n_reg.clamp(cfg.size_min as f64, cfg.size_max as f64) as u32;
    // Given sizes replace the mixture's draw (which is still made, so that every other
    // draw of the station stays where it was).
    let n_reg = match cfg.registered.as_deref() {
        None => n_reg,
        Some(super::Registered::Given(v)) => v[s],
        Some(super::Registered::Pool(v)) => v[rng.random_range(0..v.len())],
    };

    let t = sigmoid(logit(cfg.turnout.centre) + fx.turnout_r[r] + fx.turnout_c[c] + cfg.turnout.sd[2] * normal(rng));
    let lead =
        sigmoid(logit(cfg.leader_share.centre) + fx.share_r[r] + fx.share_c[c] + cfg.leader_share.sd[2] * normal(rng));
    shares[0] = lead;
    let mut wsum = 0.0;
    let mut base = 1.0;
    for j in 0..others {
        let e = fx.others_r[r * others + j] + fx.others_c[c * others + j] + cfg.others_sd[2] * normal(rng);
        let w = base * e.exp();
        shares[j + 1] = w;
        wsum += w;
        base *= cfg.others_decay;
    }
    for s in &mut shares[1..] {
        *s *= (1.0 - lead) / wsum;
    }

    let b = binom(rng, n_reg, t);
    let p_out = (cfg.outside * (0.6 * normal(rng)).exp()).min(0.5);
    let outside = binom(rng, b, p_out);
    let early = binom(rng, b - outside, cfg.early);
    let on_day = b - outside - early;
    let portable = outside - binom(rng, outside, cfg.not_returned);
    let stationary = early + on_day - binom(rng, early + on_day, cfg.not_returned);
    let boxes = portable + stationary;
    let p_inv = (cfg.invalid * (0.5 * normal(rng)).exp()).min(0.5);
    let invalid = binom(rng, boxes, p_inv);
    let valid = boxes - invalid;
    let received = n_reg.div_ceil(10) * 10;

    row[col::REGISTERED] = n_reg;
    row[col::RECEIVED] = received;
    row[col::ISSUED_EARLY] = early;
    row[col::ISSUED_ON_DAY] = on_day;
    row[col::ISSUED_OUTSIDE] = outside;
    row[col::CANCELLED] = received - b;
    row[col::PORTABLE] = portable;
    row[col::STATIONARY] = stationary;
    row[col::INVALID] = invalid;
    row[col::VALID] = valid;
    row[col::LOST] = 0;
    row[col::UNACCOUNTED] = 0;
    // Multinomial(valid, shares) as sequential binomials.
    let mut left = valid;
    let mut p_left = 1.0;
    for j in 0..k - 1 {
        let x = if p_left > 0.0 { binom(rng, left, shares[j] / p_left) } else { 0 };
        row[col::FIXED + j] = x;
        left -= x;
        p_left -= shares[j];
    }
    row[col::FIXED + k - 1] = left;
}
