//! The per-station numbers the charts draw, read once from the election.
//!
//! Inclusion (as the integer-percentage test and the fingerprint, DESIGN.md §3): stations
//! abroad and electronic pseudo-stations are set aside, and a station needs `N ≥ 100`
//! registered voters, ballots in the boxes (`C > 0`) and valid votes (`V > 0`).
//! Turnout is `B/N` (ballots issued; `C/N` when the file has no issued line). The leader's
//! share is `v/C` on the histograms (the integer test's definition, Kobak et al.) and
//! `v/V` on the fingerprint and the scatter (Klimek et al.); each axis says which.
//!
//! **Jitter.** Fine (0.1 pp) histograms of ratios of small integers show spikes at simple
//! fractions (1/2, 2/3 …) by arithmetic alone. As Kobak et al. do for plotting, the
//! numerators get U(−0.5, 0.5) noise before binning (seeded with [`JITTER_SEED`], so the
//! charts are reproducible); integer peaks from large stations survive it.

use crate::model::{Election, Role, Special};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seed of the plotting jitter.
pub const JITTER_SEED: u64 = 20_160_101;
/// Smallest station drawn.
pub const MIN_REGISTERED: u32 = 100;

/// Selected stations, one entry per station in every vector.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Station index in the election.
    pub index: Vec<usize>,
    /// Top-level unit code (region), if the file has a hierarchy.
    pub region: Vec<u32>,
    /// Turnout B/N (or C/N), in [0, ∞).
    pub turnout: Vec<f64>,
    /// Leader share of ballots in the boxes, v/C.
    pub share_c: Vec<f64>,
    /// Leader share of valid votes, v/V.
    pub share_v: Vec<f64>,
    /// Jittered turnout and share (v/C) for the 0.1 pp histograms.
    pub turnout_jit: Vec<f64>,
    pub share_jit: Vec<f64>,
    /// Voters: ballots issued (or in the boxes).
    pub voters: Vec<f64>,
    /// "issued" or "in the boxes": the turnout numerator.
    pub turnout_basis: &'static str,
    pub leader: Option<String>,
    /// Stations in the election, and those set aside by each rule.
    pub stations: usize,
    pub special: usize,
    pub small: usize,
    pub empty: usize,
    /// Selected stations with turnout above 100% (drawn in no histogram).
    pub above_one: usize,
    /// Why there is nothing (no N column, …), when `index` is empty.
    pub missing: Option<String>,
}

impl Data {
    pub fn len(&self) -> usize {
        self.index.len()
    }
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Reads the stations of `e`; `leader` is the candidate index (default: most votes).
    pub fn new(e: &Election, leader: Option<usize>) -> Data {
        let mut d = Data { stations: e.len(), turnout_basis: "issued", ..Default::default() };
        let Some(n) = e.get(Role::Registered) else {
            d.missing = Some("the file has no registered-voter column (N), so no turnout".into());
            return d;
        };
        let (num, basis) = match (e.get(Role::Issued), e.get(Role::InBoxes)) {
            (Some(b), _) => (b, "issued"),
            (None, Some(c)) => (c, "in the boxes"),
            (None, None) => {
                d.missing = Some("the file has neither ballots issued (B) nor ballots in the boxes (C)".into());
                return d;
            }
        };
        d.turnout_basis = basis;
        let Some(lead) = leader.or_else(|| e.leader()) else {
            d.missing = Some("the file has no candidate columns".into());
            return d;
        };
        d.leader = e.candidates.get(lead).cloned();
        let valid = e.valid_or_sum();
        let boxes: Vec<u64> = match e.get(Role::InBoxes) {
            Some(c) => c.iter().map(|&x| x as u64).collect(),
            None => match e.get(Role::Invalid) {
                Some(inv) => valid.iter().zip(inv).map(|(&v, &i)| v + i as u64).collect(),
                None => valid.clone(),
            },
        };
        let w = &e.votes[lead];
        let region = e.levels.first().map(|l| l.code.as_slice());
        let mut rng = ChaCha8Rng::seed_from_u64(JITTER_SEED);
        for i in 0..e.len() {
            if e.special.get(i).copied().flatten().is_some_and(|s| matches!(s, Special::Abroad | Special::Electronic)) {
                d.special += 1;
                continue;
            }
            if n[i] < MIN_REGISTERED {
                d.small += 1;
                continue;
            }
            if boxes[i] == 0 || valid[i] == 0 {
                d.empty += 1;
                continue;
            }
            let (nf, bf, cf, vf, lf) = (n[i] as f64, num[i] as f64, boxes[i] as f64, valid[i] as f64, w[i] as f64);
            let t = bf / nf;
            if t > 1.0 {
                d.above_one += 1;
            }
            d.index.push(i);
            d.region.push(region.map_or(0, |r| r[i]));
            d.turnout.push(t);
            d.share_c.push((lf / cf).min(1.0));
            d.share_v.push((lf / vf).min(1.0));
            d.turnout_jit.push(((bf + rng.random::<f64>() - 0.5) / nf).max(0.0));
            d.share_jit.push(((lf + rng.random::<f64>() - 0.5) / cf).clamp(0.0, 1.0));
            d.voters.push(bf);
        }
        d
    }

    /// One line on what was drawn, for subtitles.
    pub fn inclusion(&self) -> String {
        let mut s = format!(
            "{} of {} stations (N ≥ {MIN_REGISTERED}, C > 0",
            crate::export::thousands(self.len() as u64),
            crate::export::thousands(self.stations as u64)
        );
        if self.special > 0 {
            s.push_str(&format!("; {} abroad/electronic set aside", crate::export::thousands(self.special as u64)));
        }
        s.push(')');
        s
    }
}

/// Counts of `x` (in [0, 1]) in bins of `width` percentage points centred on multiples of
/// `width` when `centred` (bin k holds [k·w − w/2, k·w + w/2)), else starting at them
/// (bin k holds [k·w, (k+1)·w)). Values above 100% are left out. Returns (bin centres in
/// %, weights).
pub fn histogram(x: &[f64], w: Option<&[f64]>, width: f64, centred: bool) -> (Vec<f64>, Vec<f64>) {
    let bins = (100.0 / width).round() as usize + usize::from(centred);
    let mut h = vec![0.0; bins];
    for (i, &v) in x.iter().enumerate() {
        let p = 100.0 * v / width;
        let k = if centred { p.round() } else { p.floor() };
        if !(k >= 0.0) {
            continue;
        }
        let mut k = k as usize;
        if !centred && k == bins && p <= bins as f64 {
            k = bins - 1; // exactly 100% belongs to the last bin
        }
        if k < bins && v <= 1.0 {
            h[k] += w.map_or(1.0, |w| w[i]);
        }
    }
    let centres = (0..bins).map(|k| if centred { k as f64 * width } else { (k as f64 + 0.5) * width }).collect();
    (centres, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_centred_on_integers_hold_the_integer_test_window() {
        // 0.1 pp centred bins: 50.04% is in the 50.0 bin, 50.06% in 50.1 (the integer
        // test's |100x − round(100x)| ≤ 0.05 window), 100% in the last bin.
        let (c, h) = histogram(&[0.5004, 0.5006, 1.0, 0.0, 1.2], None, 0.1, true);
        assert_eq!(c.len(), 1001);
        assert_eq!(h[500], 1.0);
        assert_eq!(h[501], 1.0);
        assert_eq!(h[1000], 1.0);
        assert_eq!(h[0], 1.0);
        assert_eq!(h.iter().sum::<f64>(), 4.0, "120% is left out");
        assert!((c[500] - 50.0).abs() < 1e-9);
    }

    #[test]
    fn one_point_bins_and_weights() {
        let (c, h) = histogram(&[0.555, 0.559, 1.0], Some(&[2.0, 3.0, 7.0]), 1.0, false);
        assert_eq!(c.len(), 100);
        assert_eq!(h[55], 5.0);
        assert_eq!(h[99], 7.0);
        assert!((c[55] - 55.5).abs() < 1e-9);
    }

    #[test]
    fn selection_sets_aside_small_and_special_stations() {
        let mut e = Election::default();
        e.station = vec!["1".into(), "2".into(), "3".into(), "4".into()];
        e.line = vec![2, 3, 4, 5];
        e.special = vec![None, None, Some(Special::Abroad), None];
        let mut counts: [Option<Vec<u32>>; 9] = Default::default();
        counts[Role::Registered.index()] = Some(vec![1000, 50, 1000, 1000]);
        counts[Role::Issued.index()] = Some(vec![600, 40, 500, 0]);
        counts[Role::InBoxes.index()] = Some(vec![600, 40, 500, 0]);
        counts[Role::Valid.index()] = Some(vec![590, 40, 500, 0]);
        e.counts = counts;
        e.candidates = vec!["A".into(), "B".into()];
        e.votes = vec![vec![300, 20, 400, 0], vec![290, 20, 100, 0]];
        let d = Data::new(&e, None);
        assert_eq!(d.index, vec![0]);
        assert_eq!((d.small, d.special, d.empty), (1, 1, 1));
        assert!((d.turnout[0] - 0.6).abs() < 1e-12);
        assert!((d.share_c[0] - 0.5).abs() < 1e-12);
        assert!((d.share_v[0] - 300.0 / 590.0).abs() < 1e-12);
        assert!((d.turnout_jit[0] - 0.6).abs() <= 0.5 / 1000.0);
    }
}
