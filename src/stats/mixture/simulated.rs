//! The fitted model's fingerprint, simulated: what the report's mixture chart draws beside
//! the observed turnout × winner-share histogram of the same stations.

use super::*;
use crate::stats::fingerprint::{Histogram2d, histogram};

impl MixtureResult {
    /// Turnout × winner-share histogram (1 pp cells) of the fitted stations as observed.
    pub fn observed_fingerprint(&self) -> Histogram2d {
        histogram(&self.data.turnout, &self.data.share, None, 100, 100)
    }

    /// The same histogram for `reps` draws per fitted station from the fitted model
    /// ([`draw`]: the station's electorate, its region's clean centre, the fitted spreads,
    /// fraud with probabilities `f_i`, `f_e`, the fitted magnitude laws and `α`), counts
    /// rounded as a protocol's are; seeded, so the same picture every run. Each cell holds
    /// `reps` times the stations' expected count.
    pub fn simulated_fingerprint(&self, reps: usize, seed: u64) -> Histogram2d {
        let d = &self.data;
        let groups = d.groups();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups];
        for i in 0..d.len() {
            let g = d.group.get(i).copied().unwrap_or(0) as usize;
            members[g.min(groups - 1)].push(d.registered[i] as u32);
        }
        let (mut t, mut s) = (Vec::with_capacity(d.len() * reps), Vec::with_capacity(d.len() * reps));
        for (g, reg) in members.iter().enumerate() {
            if reg.is_empty() {
                continue;
            }
            let (dt, ds) = self.clean_centres.get(g).copied().unwrap_or((0.0, 0.0));
            let p = Params { tau: self.params.tau + dt, nu: self.params.nu + ds, ..self.params };
            let reg: Vec<u32> = reg.iter().flat_map(|&n| std::iter::repeat_n(n, reps)).collect();
            let dr = draw(&p, &reg, seed ^ (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for i in 0..reg.len() {
                let (n, b, w) = (dr.registered[i] as f64, dr.ballots[i] as f64, dr.winner[i] as f64);
                if b > 0.0 {
                    t.push((b / n).clamp(0.5 / n, 1.0 - 0.5 / n));
                    s.push((w / b).clamp(0.5 / b, 1.0 - 0.5 / b));
                }
            }
        }
        histogram(&t, &s, None, 100, 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fitted to a draw from the model, the simulated fingerprint matches the observed one
    /// (same cells filled, a small total variation distance), and is deterministic.
    #[test]
    fn simulated_matches_observed_on_the_models_own_data() {
        let truth = Params { tau: 0.2, sigma_tau: 0.35, nu: 0.1, sigma_nu: 0.4, f_i: 0.15, f_e: 0.02, theta: 0.2, alpha: 2.0 };
        let n: Vec<u32> = (0..20_000).map(|i| 300 + (i * 37 % 2500) as u32).collect();
        let dr = draw(&truth, &n, 3);
        let d = Data::from_counts(&dr.registered, &dr.ballots, &dr.ballots, &dr.winner, 100);
        let r = fit(&d, &MixtureOptions::default(), n.len(), &[]).unwrap();
        let (o, m) = (r.observed_fingerprint(), r.simulated_fingerprint(4, 1));
        assert_eq!(m, r.simulated_fingerprint(4, 1));
        let tv: f64 = o.counts.iter().zip(&m.counts).map(|(a, b)| (a / o.total - b / m.total).abs()).sum::<f64>() / 2.0;
        eprintln!("total variation {tv:.3}");
        // two independent 1 pp histograms of 20,000 stations differ by about 0.2 here
        assert!(tv < 0.3, "{tv}");
        // the extreme corner is populated in both
        let corner = |h: &Histogram2d| (95..100).flat_map(|a| (95..100).map(move |b| (a, b))).map(|(a, b)| h.get(a, b)).sum::<f64>() / h.total;
        assert!(corner(&o) > 0.005 && corner(&m) > 0.005, "{} {}", corner(&o), corner(&m));
    }
}
