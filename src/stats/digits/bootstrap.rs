//! Percentile bootstrap of a mean of digits (exact nonparametric bootstrap via the multinomial).

#![allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// Bootstrap of a mean of digits (exact nonparametric bootstrap via the multinomial)

/// Draws a multinomial tally of `n` items over `probs` (conditional binomials).
pub(super) fn multinomial<R: rand::Rng>(rng: &mut R, n: u64, probs: &[f64], out: &mut [u64]) {
    let mut left = n;
    let mut mass = 1.0f64;
    let k = probs.len();
    for j in 0..k {
        if left == 0 {
            out[j] = 0;
            continue;
        }
        if j == k - 1 || mass <= 0.0 {
            out[j] = left;
            left = 0;
            continue;
        }
        let pj = (probs[j] / mass).clamp(0.0, 1.0);
        let x = if pj >= 1.0 {
            left
        } else if pj <= 0.0 {
            0
        } else {
            Binomial::new(left, pj).expect("binomial").sample(rng)
        };
        out[j] = x;
        left -= x;
        mass -= probs[j];
    }
}

/// Percentile bootstrap interval (level `1 − alpha`) of the mean of `Σ value_d · tally_d / n`.
/// Resampling `n` items with replacement from a tally over ten values is a multinomial draw
/// with the observed shares, so each replicate costs ten binomial draws whatever `n` is.
pub fn bootstrap_mean_ci(tally: &[u64; 10], values: &[f64; 10], reps: usize, alpha: f64, seed: u64, stream: u64) -> (f64, f64) {
    let n: u64 = tally.iter().sum();
    if n == 0 || reps == 0 {
        return (f64::NAN, f64::NAN);
    }
    // merge digits with the same value (0/5 indicators: two categories, one binomial draw)
    let mut vals: Vec<f64> = Vec::new();
    let mut probs: Vec<f64> = Vec::new();
    for d in 0..10 {
        if tally[d] == 0 {
            continue;
        }
        match vals.iter().position(|&v| v == values[d]) {
            Some(k) => probs[k] += tally[d] as f64 / n as f64,
            None => {
                vals.push(values[d]);
                probs.push(tally[d] as f64 / n as f64);
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let mut out = [0u64; 10];
    let k = vals.len();
    let mut m: Vec<f64> = (0..reps)
        .map(|_| {
            multinomial(&mut rng, n, &probs, &mut out[..k]);
            out[..k].iter().zip(&vals).map(|(&o, v)| o as f64 * v).sum::<f64>() / n as f64
        })
        .collect();
    m.sort_by(f64::total_cmp);
    (quantile_sorted(&m, alpha / 2.0), quantile_sorted(&m, 1.0 - alpha / 2.0))
}

// type 7 (R's default)
pub(super) use crate::stats::common::quantile_sorted;

