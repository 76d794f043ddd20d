//! Synthetic clean (and digit-invented) elections, for tests, calibration and benches.

use super::*;
use rand_distr::{Beta, Gamma, LogNormal};

/// Station sizes.
#[derive(Debug, Clone, Copy)]
pub enum Sizes {
    /// Log-normal with this median and log-sd (clamped to [50, 20,000]): a long right tail.
    LogNormal { median: f64, sigma: f64 },
    /// Uniform between two bounds (inclusive).
    Uniform { lo: u32, hi: u32 },
}

/// Generator settings.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub stations: usize,
    pub sizes: Sizes,
    /// Turnout ~ Beta(a, b) per station.
    pub turnout: (f64, f64),
    /// Dirichlet-like national concentrations of the candidates' shares (leader first);
    /// each station draws `Gamma(alpha_j · concentration)` and normalises.
    pub shares: Vec<f64>,
    pub concentration: f64,
    pub regions: usize,
    /// Share of stations whose every count gets a human-invented last digit.
    pub invented: f64,
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            stations: 2000,
            sizes: Sizes::LogNormal { median: 1000.0, sigma: 0.5 },
            turnout: (6.0, 4.0),
            shares: vec![0.6, 0.25, 0.1, 0.05],
            concentration: 50.0,
            regions: 20,
            invented: 0.0,
            seed: 1,
        }
    }
}

/// Human-chosen last digits (0 and 5 favoured, as in Beber & Scacco's experiments):
/// P(0) = 0.25, P(5) = 0.20, the other eight 0.06875 each.
pub const HUMAN_LAST: [f64; 10] = [0.25, 0.06875, 0.06875, 0.06875, 0.06875, 0.20, 0.06875, 0.06875, 0.06875, 0.06875];

/// Generates an election (stations ordinary, no specials; `invented` flags in the return).
pub fn generate(o: &SimOptions) -> (Election, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let k = o.shares.len();
    let ln = match o.sizes {
        Sizes::LogNormal { median, sigma } => Some(LogNormal::new(median.ln(), sigma).unwrap()),
        _ => None,
    };
    let bt = Beta::new(o.turnout.0, o.turnout.1).unwrap();
    let gam: Vec<Gamma<f64>> = o.shares.iter().map(|&a| Gamma::new(a * o.concentration, 1.0).unwrap()).collect();
    let mut reg = Vec::with_capacity(o.stations);
    let mut iss = Vec::with_capacity(o.stations);
    let mut votes = vec![Vec::with_capacity(o.stations); k];
    let mut code = Vec::with_capacity(o.stations);
    let mut inv = Vec::with_capacity(o.stations);
    let mut probs = vec![0.0; k];
    let mut out = vec![0u64; k];
    for i in 0..o.stations {
        let n: u64 = match o.sizes {
            Sizes::LogNormal { .. } => (ln.unwrap().sample(&mut rng).round() as u64).clamp(50, 20_000),
            Sizes::Uniform { lo, hi } => rng.random_range(lo as u64..=hi as u64),
        };
        let t: f64 = bt.sample(&mut rng);
        let b = Binomial::new(n, t).unwrap().sample(&mut rng);
        let mut s = 0.0;
        for j in 0..k {
            probs[j] = gam[j].sample(&mut rng).max(1e-300);
            s += probs[j];
        }
        for p in probs.iter_mut() {
            *p /= s;
        }
        multinomial(&mut rng, b, &probs, &mut out);
        let invented = o.invented > 0.0 && rng.random::<f64>() < o.invented;
        for j in 0..k {
            let mut c = out[j];
            if invented {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let mut d = 9;
                for (dd, &p) in HUMAN_LAST.iter().enumerate() {
                    acc += p;
                    if u < acc {
                        d = dd;
                        break;
                    }
                }
                c = c - c % 10 + d as u64;
            }
            votes[j].push(c as u32);
        }
        reg.push(n as u32);
        iss.push(b as u32);
        code.push((i % o.regions.max(1)) as u32);
        inv.push(invented);
    }
    let mut e = Election {
        source: "simulated".into(),
        candidates: (0..k).map(|j| format!("C{j}")).collect(),
        votes,
        special: vec![None; o.stations],
        station: (0..o.stations).map(|i| i.to_string()).collect(),
        line: (0..o.stations as u64).collect(),
        ..Default::default()
    };
    let valid: Vec<u32> = (0..o.stations).map(|i| e.votes.iter().map(|v| v[i]).sum()).collect();
    e.counts[Role::Registered.index()] = Some(reg);
    e.counts[Role::Issued.index()] = Some(iss);
    e.counts[Role::Valid.index()] = Some(valid);
    e.levels = vec![crate::model::Level {
        name: "region".into(),
        column: "region".into(),
        labels: (0..o.regions.max(1)).map(|r| format!("R{r:02}")).collect(),
        parent: Vec::new(),
        code,
    }];
    (e, inv)
}
