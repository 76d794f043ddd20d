//! Synthetic national elections with fraud injected into known stations (DESIGN.md §5).
//!
//! The simulator is both the demo that needs no download and the yardstick of every
//! detector: it writes protocols in the layout `ingest` recognises without flags, and a
//! ground-truth file saying which stations were falsified, how, and by how much.
//!
//! # The clean model
//!
//! **Hierarchy.** `regions` regions, each with `commissions_per_region` district
//! commissions (default: about 40 stations per commission). Commission sizes vary:
//! commission `c` gets a share of the stations proportional to a Gamma(3, 1) weight
//! (every commission has at least one station), so regions vary in size too. Stations
//! are numbered 1‥n nationally, in region then commission order.
//!
//! **Station size** (registered voters `N`): a mixture of three log-normals, clamped to
//! [3, 20 000]:
//!
//! | share | kind | median | log-sd |
//! | --- | --- | --- | --- |
//! | 70 % | urban | 1 700 | 0.35 |
//! | 26 % | rural | 600 | 0.55 |
//! | 4 % | tiny (hospitals, remote villages) | 50 | 0.60 |
//!
//! giving a median near 1 430, about 3.5 % of stations below 100 and about 4 % above
//! 3 000, a long right tail like real protocol files.
//!
//! **Turnout and the leader's share** are logit-normal with nested random effects:
//! `logit t_i = logit(turnout) + a_region + b_commission + e_station`, each effect
//! Normal(0, sd) with sds (0.35, 0.25, 0.30) for turnout around a centre of 0.55, and
//! `logit s_i = logit(leader_share) + …` with sds (0.30, 0.20, 0.25) around 0.60. The
//! centre is the median station's value (the mean of the logits), not the mean of the
//! ratios. Turnout and share are independent in a clean election.
//!
//! **Other candidates** share `1 − s_i` in proportion to weights `0.55^(j−1)·exp(u)`
//! (candidate B largest), with `u` the sum of region, commission and station effects,
//! Normal(0, 0.30), Normal(0, 0.20), Normal(0, 0.15).
//!
//! **Counts.** Ballots issued `B ~ Binomial(N, t_i)`; of them issued outside the
//! station (portable boxes) `~ Binomial(B, p_out)` with `p_out = 0.06·exp(0.6 z)`
//! (capped at 0.5), issued early `~ Binomial(rest, 0.01)`, the remainder on the day.
//! A few voters take their ballot away: not returned `~ Binomial(·, 0.001)` separately
//! from the portable and the stationary stream, so ballots in boxes `C ≤ B`. Invalid
//! `I ~ Binomial(C, p_inv)` with `p_inv = 0.015·exp(0.5 z)` (capped at 0.5), valid
//! `V = C − I`. Votes are multinomial over the shares (sequential binomials, the last
//! candidate takes the remainder), so `Σ v_j = V`. Ballots received are `N` rounded up
//! to a multiple of 10, cancelled = received − issued, lost = unaccounted = 0. Every
//! control relation of DESIGN.md §2 holds at every clean station.
//!
//! # Fraud
//!
//! See [`fraud`] and [`FraudKind`]: stuffing, transfer, integer, extreme, invented, copy,
//! arithmetic. Each spec picks `round(fraction × stations in scope)` stations among
//! those in scope where the kind can change something, not yet given another kind;
//! specs are applied in the order given and a station receives at most one kind. All
//! kinds but `arithmetic` keep every control relation true.
//!
//! # Determinism
//!
//! Clean draws come from ChaCha8 keyed by the seed, one stream per fixed block of
//! [`clean::CHUNK`] stations (so station `k`'s draws depend on the seed and `k` only);
//! hierarchy effects are drawn serially first; fraud selection uses its own keyed generator per
//! spec and fraud draws use a third key with stream `k`. Output is therefore the same
//! bytes for one seed whatever the number of threads, and a clean run and a dirty run
//! with the same seed differ exactly at the stations listed in the truth.

pub mod clean;
pub mod fraud;
pub mod like;
pub mod observers;
pub mod write;

pub use fraud::{FraudKind, FraudSpec, Scope};

use crate::model::{Election, Level, Role};
use crate::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Column offsets in a detailed protocol row (the simulator's own row-major table);
/// the order is the order of the protocol CSV's columns after `station`.
pub mod col {
    pub const REGISTERED: usize = 0;
    pub const RECEIVED: usize = 1;
    pub const ISSUED_EARLY: usize = 2;
    pub const ISSUED_ON_DAY: usize = 3;
    pub const ISSUED_OUTSIDE: usize = 4;
    pub const CANCELLED: usize = 5;
    pub const PORTABLE: usize = 6;
    pub const STATIONARY: usize = 7;
    pub const INVALID: usize = 8;
    pub const VALID: usize = 9;
    pub const LOST: usize = 10;
    pub const UNACCOUNTED: usize = 11;
    /// Number of fixed columns; candidate `j`'s votes are at `FIXED + j`.
    pub const FIXED: usize = 12;
    /// CSV names of the fixed columns, in order.
    pub const NAMES: [&str; FIXED] = [
        "registered",
        "received",
        "issued_early",
        "issued_on_day",
        "issued_outside",
        "cancelled",
        "portable_boxes",
        "stationary_boxes",
        "invalid",
        "valid",
        "lost",
        "unaccounted",
    ];
}

/// Ballots issued `B` of a detailed row.
#[inline]
pub fn issued(r: &[u32]) -> u32 {
    r[col::ISSUED_EARLY] + r[col::ISSUED_ON_DAY] + r[col::ISSUED_OUTSIDE]
}
/// Ballots in boxes `C` of a detailed row.
#[inline]
pub fn in_boxes(r: &[u32]) -> u32 {
    r[col::PORTABLE] + r[col::STATIONARY]
}
/// Turnout `B/N` (None when `N = 0`).
pub fn turnout(r: &[u32]) -> Option<f64> {
    (r[col::REGISTERED] > 0).then(|| issued(r) as f64 / r[col::REGISTERED] as f64)
}
/// Leader share `v_0 / C` (Kobak's denominator; None when `C = 0`).
pub fn leader_share(r: &[u32]) -> Option<f64> {
    let c = in_boxes(r);
    (c > 0).then(|| r[col::FIXED] as f64 / c as f64)
}

/// Parameters of a logit-normal quantity with region, commission and station effects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogitEffects {
    /// The median station's value (inverse logit of the mean logit), in (0, 1).
    pub centre: f64,
    /// Standard deviations of the region, commission and station effects (logit scale).
    pub sd: [f64; 3],
}

/// One log-normal component of the station-size mixture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeComponent {
    pub weight: f64,
    pub median: f64,
    pub log_sd: f64,
}

/// Everything the simulator needs. `SimConfig::default()` is the documented model.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub stations: usize,
    pub candidates: usize,
    pub regions: usize,
    /// Commissions per region; `None` = about 40 stations per commission.
    pub commissions_per_region: Option<usize>,
    pub seed: u64,
    /// Station-size mixture (weights need not sum to 1) and clamp range.
    pub size: Vec<SizeComponent>,
    pub size_min: u32,
    pub size_max: u32,
    pub turnout: LogitEffects,
    /// Leader's (candidate A's) share of valid votes.
    pub leader_share: LogitEffects,
    /// Relative weight of candidate `j+1` among the others is `others_decay^j`.
    pub others_decay: f64,
    /// Sds of region, commission and station effects on the others' log-weights.
    pub others_sd: [f64; 3],
    /// Mean share of ballots in boxes that are invalid.
    pub invalid: f64,
    /// Mean share of ballots issued outside the station (portable boxes).
    pub outside: f64,
    /// Share of the remaining ballots issued early.
    pub early: f64,
    /// Probability that a voter takes the ballot away (issued but not in a box).
    pub not_returned: f64,
    pub frauds: Vec<FraudSpec>,
    /// A given region > commission structure instead of the generated one (see
    /// [`Hierarchy`]); `None` = generated from `regions` and `commissions_per_region`.
    pub hierarchy: Option<std::sync::Arc<Hierarchy>>,
    /// Registered voters given instead of drawn from the `size` mixture (see
    /// [`Registered`]); `None` = the mixture.
    pub registered: Option<std::sync::Arc<Registered>>,
}

/// A given hierarchy (e.g. a real election's, see [`like`]): commissions grouped by
/// region, region by region, each with its number of stations. With it, `regions` must
/// equal `region_labels.len()`, `stations` the sum of `commission_stations`, and
/// `commissions_per_region` is ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Hierarchy {
    pub region_labels: Vec<String>,
    pub commission_labels: Vec<String>,
    /// Region of each commission; non-decreasing (commissions of a region are adjacent).
    pub commission_region: Vec<u32>,
    /// Stations of each commission (each ≥ 1).
    pub commission_stations: Vec<usize>,
}

/// Registered voters given instead of the size mixture.
#[derive(Debug, Clone, PartialEq)]
pub enum Registered {
    /// Station `k` gets `N = v[k]` exactly (`v.len()` must equal `stations`).
    Given(Vec<u32>),
    /// Each station draws its `N` uniformly from the pool (resampling with replacement).
    Pool(Vec<u32>),
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            stations: 10_000,
            candidates: 5,
            regions: 20,
            commissions_per_region: None,
            seed: 1,
            size: vec![
                SizeComponent { weight: 0.70, median: 1700.0, log_sd: 0.35 },
                SizeComponent { weight: 0.26, median: 600.0, log_sd: 0.55 },
                SizeComponent { weight: 0.04, median: 50.0, log_sd: 0.60 },
            ],
            size_min: 3,
            size_max: 20_000,
            turnout: LogitEffects { centre: 0.55, sd: [0.35, 0.25, 0.30] },
            leader_share: LogitEffects { centre: 0.60, sd: [0.30, 0.20, 0.25] },
            others_decay: 0.55,
            others_sd: [0.30, 0.20, 0.15],
            invalid: 0.015,
            outside: 0.06,
            early: 0.01,
            not_returned: 0.001,
            frauds: Vec::new(),
            hierarchy: None,
            registered: None,
        }
    }
}

impl SimConfig {
    /// The fraud mix of `tallyscope demo`, as `--fraud` specs. Concentrated specs come
    /// first so that they get their full share (a station receives one kind at most):
    /// Region 07 stuffed heavily, Region 12 rounding its numbers, plus a national mix.
    pub const DEMO_FRAUDS: [&'static str; 9] = [
        "stuffing:0.4:0.5@region=Region 07",
        "integer:0.3:5@region=Region 12",
        "stuffing:0.03:0.3",
        "transfer:0.02:0.2",
        "integer:0.01:5",
        "extreme:0.005:0.95",
        "invented:0.005:0.8",
        "copy:0.002",
        "arithmetic:0.002:0.05",
    ];

    /// The demo election: `stations` stations in 25 regions, 5 candidates, the
    /// default clean model and [`Self::DEMO_FRAUDS`].
    pub fn demo(stations: usize, seed: u64) -> SimConfig {
        SimConfig {
            stations,
            regions: 25,
            seed,
            frauds: Self::DEMO_FRAUDS.iter().map(|s| s.parse().expect("the demo specs are valid")).collect(),
            ..SimConfig::default()
        }
    }
}

/// Stations per commission when `commissions_per_region` is not given.
pub const STATIONS_PER_COMMISSION: usize = 40;
/// Largest number of stations accepted (ids and memory stay reasonable).
pub const MAX_STATIONS: usize = 50_000_000;
/// Largest number of candidates accepted.
pub const MAX_CANDIDATES: usize = 200;

impl SimConfig {
    /// Number of commissions actually used.
    pub fn commissions(&self) -> usize {
        match &self.hierarchy {
            Some(h) => h.commission_labels.len(),
            None => self.regions * self.commissions_per_region(),
        }
    }

    /// Commissions per region actually used (with a given [`Hierarchy`]: the mean, rounded).
    pub fn commissions_per_region(&self) -> usize {
        if let Some(h) = &self.hierarchy {
            return (h.commission_labels.len() as f64 / h.region_labels.len().max(1) as f64).round().max(1.0) as usize;
        }
        self.commissions_per_region.unwrap_or_else(|| {
            let per_region = self.stations / self.regions.max(1);
            ((per_region as f64 / STATIONS_PER_COMMISSION as f64).round() as usize).max(1)
        })
    }

    /// Rejects impossible configurations with a message naming the parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::usage(m));
        if self.stations == 0 || self.stations > MAX_STATIONS {
            return bad(format!("--stations {}: must be between 1 and {MAX_STATIONS}", self.stations));
        }
        if self.candidates < 2 || self.candidates > MAX_CANDIDATES {
            return bad(format!("--candidates {}: must be between 2 and {MAX_CANDIDATES}", self.candidates));
        }
        if self.regions == 0 || self.regions > self.stations {
            return bad(format!(
                "--regions {}: must be between 1 and the number of stations ({})",
                self.regions, self.stations
            ));
        }
        if let Some(h) = &self.hierarchy {
            let nc = h.commission_labels.len();
            if h.region_labels.len() != self.regions
                || h.commission_region.len() != nc
                || h.commission_stations.len() != nc
                || nc == 0
            {
                return bad(format!(
                    "given hierarchy: {} regions (config says {}), {} commission labels, {} commission regions, {} commission sizes",
                    h.region_labels.len(),
                    self.regions,
                    nc,
                    h.commission_region.len(),
                    h.commission_stations.len()
                ));
            }
            if h.commission_stations.iter().sum::<usize>() != self.stations || h.commission_stations.contains(&0) {
                return bad(format!(
                    "given hierarchy: commission sizes must be ≥ 1 and add up to the {} stations",
                    self.stations
                ));
            }
            if h.commission_region.windows(2).any(|w| w[0] > w[1])
                || h.commission_region.iter().any(|&r| r as usize >= self.regions)
            {
                return bad("given hierarchy: commissions must be grouped by region, in region order".into());
            }
            if self.frauds.iter().any(|f| matches!(f.scope, Scope::Region(_))) {
                return bad("--fraud …@region= is not supported with a given hierarchy yet (use @commission=)".into());
            }
        }
        match self.registered.as_deref() {
            Some(Registered::Given(v)) if v.len() != self.stations => {
                return bad(format!("given registered voters: {} values for {} stations", v.len(), self.stations));
            }
            Some(Registered::Pool(v)) if v.is_empty() => {
                return bad("registered-voter pool is empty".into());
            }
            _ => {}
        }
        let cpr = self.commissions_per_region();
        if self.hierarchy.is_none() && (cpr == 0 || cpr.saturating_mul(self.regions) > self.stations) {
            return bad(format!(
                "--commissions {cpr}: {cpr} commissions in each of {} regions need at least {} stations, \
                 got {}",
                self.regions,
                cpr.saturating_mul(self.regions),
                self.stations
            ));
        }
        for (name, e) in [("--turnout", &self.turnout), ("--leader-share", &self.leader_share)] {
            if !(e.centre > 0.0 && e.centre < 1.0) {
                return bad(format!("{name} {}: must be strictly between 0 and 1", e.centre));
            }
            if e.sd.iter().any(|s| !(*s >= 0.0 && *s <= 5.0)) {
                return bad(format!("{name}-sd {:?}: each sd must be between 0 and 5 (logit scale)", e.sd));
            }
        }
        for (name, p) in [
            ("--invalid", self.invalid),
            ("outside", self.outside),
            ("early", self.early),
            ("not_returned", self.not_returned),
        ] {
            if !(0.0..=0.5).contains(&p) {
                return bad(format!("{name} {p}: must be between 0 and 0.5"));
            }
        }
        if !(self.others_decay > 0.0 && self.others_decay <= 1.0) {
            return bad(format!("others_decay {}: must be in (0, 1]", self.others_decay));
        }
        if self.others_sd.iter().any(|s| !(*s >= 0.0 && *s <= 5.0)) {
            return bad(format!("others_sd {:?}: each sd must be between 0 and 5", self.others_sd));
        }
        if self.size.is_empty()
            || self
                .size
                .iter()
                .any(|c| !(c.weight >= 0.0 && c.median >= 1.0 && c.log_sd >= 0.0 && c.median.is_finite()))
            || self.size.iter().map(|c| c.weight).sum::<f64>() <= 0.0
        {
            return bad("station-size mixture: weights ≥ 0 (not all 0), medians ≥ 1, log-sds ≥ 0".into());
        }
        if self.size_min == 0 || self.size_min > self.size_max {
            return bad(format!("station sizes: need 1 ≤ min ({}) ≤ max ({})", self.size_min, self.size_max));
        }
        Ok(())
    }
}

/// Per-station ground truth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// The kind injected, `None` for a clean station.
    pub fraud: Option<FraudKind>,
    /// The kind's size (see [`FraudKind`]); 0 for clean stations.
    pub intensity: f64,
    /// Turnout `B/N` and leader share `v_0/C` before the fraud (fraud stations only).
    pub before: Option<(Option<f64>, Option<f64>)>,
    /// Free-text detail without commas, e.g. `turnout=75%;share=80%`, `copied_from=123`.
    pub detail: String,
}

/// A simulated election: the detailed protocol table, the hierarchy and the truth.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub config: SimConfig,
    /// Candidate names, leader (candidate 0) first.
    pub candidates: Vec<String>,
    pub region_labels: Vec<String>,
    pub commission_labels: Vec<String>,
    /// Region of each commission.
    pub commission_region: Vec<u32>,
    /// Commission of each station; stations are sorted by commission.
    pub station_commission: Vec<u32>,
    /// First station of each commission, plus `stations` at the end.
    pub commission_start: Vec<usize>,
    /// Row-major protocols: `width()` counts per station (see [`col`]).
    pub rows: Vec<u32>,
    pub truth: Vec<Truth>,
    /// What could not be done as asked (too few eligible stations, copies without source).
    pub notes: Vec<String>,
}

impl Simulation {
    pub fn len(&self) -> usize {
        self.station_commission.len()
    }
    pub fn is_empty(&self) -> bool {
        self.station_commission.is_empty()
    }
    /// Counts per station row.
    pub fn width(&self) -> usize {
        col::FIXED + self.candidates.len()
    }
    /// Station `k`'s detailed row.
    pub fn row(&self, k: usize) -> &[u32] {
        let w = self.width();
        &self.rows[k * w..(k + 1) * w]
    }
    /// The published id of station `k` (1-based, unique nationally).
    pub fn station_id(k: usize) -> u64 {
        k as u64 + 1
    }
    pub fn region_of(&self, k: usize) -> usize {
        self.commission_region[self.station_commission[k] as usize] as usize
    }
    /// Stations per fraud kind, in [`FraudKind::ALL`] order.
    pub fn fraud_counts(&self) -> Vec<(FraudKind, usize)> {
        FraudKind::ALL.iter().map(|&k| (k, self.truth.iter().filter(|t| t.fraud == Some(k)).count())).collect()
    }

    /// The election as ingest would build it from the protocol CSV.
    pub fn election(&self) -> Election {
        let n = self.len();
        let w = self.width();
        let mut counts: [Option<Vec<u32>>; 9] = Default::default();
        let col_of = |f: &dyn Fn(&[u32]) -> u32| -> Vec<u32> { self.rows.chunks_exact(w).map(f).collect() };
        counts[Role::Registered.index()] = Some(col_of(&|r| r[col::REGISTERED]));
        counts[Role::Received.index()] = Some(col_of(&|r| r[col::RECEIVED]));
        counts[Role::Issued.index()] = Some(col_of(&|r| issued(r)));
        counts[Role::Cancelled.index()] = Some(col_of(&|r| r[col::CANCELLED]));
        counts[Role::InBoxes.index()] = Some(col_of(&|r| in_boxes(r)));
        counts[Role::Invalid.index()] = Some(col_of(&|r| r[col::INVALID]));
        counts[Role::Valid.index()] = Some(col_of(&|r| r[col::VALID]));
        counts[Role::Lost.index()] = Some(col_of(&|r| r[col::LOST]));
        counts[Role::Unaccounted.index()] = Some(col_of(&|r| r[col::UNACCOUNTED]));
        let votes = (0..self.candidates.len()).map(|j| col_of(&|r| r[col::FIXED + j])).collect();
        Election {
            source: "simulated".into(),
            levels: vec![
                Level {
                    name: "region".into(),
                    column: "region".into(),
                    labels: self.region_labels.clone(),
                    parent: Vec::new(),
                    code: self.station_commission.iter().map(|&c| self.commission_region[c as usize]).collect(),
                },
                Level {
                    name: "commission".into(),
                    column: "commission".into(),
                    labels: self.commission_labels.clone(),
                    parent: self.commission_region.clone(),
                    code: self.station_commission.clone(),
                },
            ],
            station: (0..n).map(|k| Self::station_id(k).to_string()).collect(),
            line: (0..n as u64).map(|k| k + 2).collect(),
            counts,
            candidates: self.candidates.clone(),
            votes,
            special: vec![None; n],
            unpublished: Vec::new(),
            missing: Vec::new(),
            issued_postal: None,
            missing_votes: Vec::new(),
        }
    }
}

/// Candidate names: "Candidate A", "Candidate B", … "Candidate Z", "Candidate AA", …
pub fn candidate_name(j: usize) -> String {
    let mut letters = Vec::new();
    let mut x = j + 1;
    while x > 0 {
        x -= 1;
        letters.push(b'A' + (x % 26) as u8);
        x /= 26;
    }
    letters.reverse();
    format!("Candidate {}", String::from_utf8_lossy(&letters))
}

/// Region label, e.g. "Region 07" (zero-padded to the width of the largest number, ≥ 2).
pub fn region_label(r: usize, regions: usize) -> String {
    let w = digits(regions).max(2);
    format!("Region {:0w$}", r + 1)
}

/// Commission label, e.g. "Commission 07-003".
pub fn commission_label(r: usize, c_in_region: usize, regions: usize, per_region: usize) -> String {
    let wr = digits(regions).max(2);
    let wc = digits(per_region).max(3);
    format!("Commission {:0wr$}-{:0wc$}", r + 1, c_in_region + 1)
}

fn digits(mut x: usize) -> usize {
    let mut d = 1;
    while x >= 10 {
        x /= 10;
        d += 1;
    }
    d
}

/// SplitMix64 finaliser: spreads a seed over 64 bits.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE5_E9B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Independent random streams, one key per purpose.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    Hierarchy = 1,
    Clean = 2,
    Select = 3,
    Fraud = 4,
}

/// The generator for `purpose` and stream `k` (a station index or a spec index).
pub(crate) fn rng_for(seed: u64, purpose: Purpose, k: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(purpose as u64)));
    rng.set_stream(k);
    rng
}

/// Simulates an election: clean protocols, then the frauds of `cfg.frauds`.
pub fn simulate(cfg: &SimConfig) -> Result<Simulation> {
    cfg.validate()?;
    let mut sim = clean::generate(cfg);
    let plan = fraud::select(&sim, &cfg.frauds)?;
    fraud::apply(&mut sim, plan);
    Ok(sim)
}

#[cfg(test)]
mod tests;
