//! The fingerprint itself: the 2-D turnout × share histogram.

use super::*;

// ---------------------------------------------------------------------------------------
// 2-D histogram
// ---------------------------------------------------------------------------------------

/// A turnout × share histogram on [0, 1]², `bins_t × bins_s` equal bins; bin `k` of an axis
/// holds `[k/bins, (k+1)/bins)`, the last bin also holds 1 (and anything above, clamped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram2d {
    pub bins_t: usize,
    pub bins_s: usize,
    pub weighting: Weighting,
    /// Row-major: `counts[t_bin * bins_s + s_bin]`.
    pub counts: Vec<f64>,
    /// Sum of all counts.
    pub total: f64,
}

/// Bin of `x` on `[0, 1]` with `bins` equal bins (clamped at both ends).
#[inline]
pub fn bin_of(x: f64, bins: usize) -> usize {
    if !(x > 0.0) {
        return 0;
    }
    ((x * bins as f64) as usize).min(bins - 1)
}

impl Histogram2d {
    pub fn zeros(bins_t: usize, bins_s: usize, weighting: Weighting) -> Self {
        Histogram2d { bins_t, bins_s, weighting, counts: vec![0.0; bins_t * bins_s], total: 0.0 }
    }
    /// Count of the bin at turnout bin `t`, share bin `s`.
    pub fn get(&self, t: usize, s: usize) -> f64 {
        self.counts[t * self.bins_s + s]
    }
    /// Flat index of the bin holding `(turnout, share)`.
    #[inline]
    pub fn index(&self, turnout: f64, share: f64) -> usize {
        bin_of(turnout, self.bins_t) * self.bins_s + bin_of(share, self.bins_s)
    }
    /// Lower edges of the turnout bins.
    pub fn t_edges(&self) -> Vec<f64> {
        (0..=self.bins_t).map(|k| k as f64 / self.bins_t as f64).collect()
    }
    pub fn s_edges(&self) -> Vec<f64> {
        (0..=self.bins_s).map(|k| k as f64 / self.bins_s as f64).collect()
    }
    /// Marginal over share (one value per turnout bin).
    pub fn turnout_marginal(&self) -> Vec<f64> {
        self.counts.chunks(self.bins_s).map(|r| r.iter().sum()).collect()
    }
    /// Marginal over turnout (one value per share bin).
    pub fn share_marginal(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.bins_s];
        for r in self.counts.chunks(self.bins_s) {
            for (a, b) in m.iter_mut().zip(r) {
                *a += b;
            }
        }
        m
    }
    /// `Σ (self − other)²` over the bins.
    pub fn sq_distance(&self, other: &Histogram2d) -> f64 {
        self.counts.iter().zip(&other.counts).map(|(a, b)| (a - b) * (a - b)).sum()
    }
}

/// The fingerprint of `(turnout, share)` pairs, `w = None` for station weights.
pub fn histogram(turnout: &[f64], share: &[f64], w: Option<&[f64]>, bins_t: usize, bins_s: usize) -> Histogram2d {
    assert!(bins_t > 0 && bins_s > 0, "histogram needs at least one bin per axis");
    let weighting = if w.is_some() { Weighting::Voters } else { Weighting::Stations };
    let mut h = Histogram2d::zeros(bins_t, bins_s, weighting);
    for i in 0..turnout.len() {
        let wi = w.map_or(1.0, |w| w[i]);
        let k = h.index(turnout[i], share[i]);
        h.counts[k] += wi;
        h.total += wi;
    }
    h
}

/// The fingerprint of selected stations.
pub fn station_histogram(st: &Stations, weighting: Weighting, bins: usize) -> Histogram2d {
    let mut h = histogram(&st.turnout, &st.share, st.weights(weighting), bins, bins);
    h.weighting = weighting;
    h
}

// ---------------------------------------------------------------------------------------
