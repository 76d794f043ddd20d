//! Ranked anomaly lists (DESIGN.md §4): a score per station built from named,
//! explainable evidence, and per-commission / per-region scores built from aggregated
//! evidence. No opaque model: every point of a score comes from one line of evidence,
//! and every row carries its reasons in plain words.
//!
//! **Points.** Each piece of evidence is turned into the surprise `−log10 p` of a
//! one-sided tail probability, so evidence of different kinds adds up on one scale and
//! is weighed by its statistical strength (a small station's 90% turnout is less
//! surprising than a large one's, because its own binomial noise enters the spread):
//!
//! | evidence | p | when |
//! | --- | --- | --- |
//! | leader share above peers | normal upper tail of the robust z, relative to ½ (0 points at z = 0) | z > 0 (listed as a reason from z ≈ 2) |
//! | stuffing against peers | the same at the joint z `(z_T + z_S)/√2` | both z > 0 |
//! | turnout above peers | the same, less [`TURNOUT_ALONE_BASELINE_POINTS`] | z > 0; of these three peer looks only the strongest counts |
//! | top-right corner | fixed 10⁻³ | turnout ≥ 95% and share ≥ 95% where the peers' median turnout is below 80% |
//! | integer percentage | the exact probability that a binomial redraw lands on an integer percentage (a multiple of 5% when it landed on one; Kobak et al.), product over turnout and share | that probability is below [`INTEGER_MAX_P`] |
//! | arithmetic violation | fixed 10⁻⁶ per broken rule | `check` reports it |
//! | identical protocol | multinomial chance of the match (capped at 10⁻⁶) | same vote vector as another station of its commission (≥ 5 votes) |
//! | transfer against peers | normal tail of the runner-up's robust z (its share of the opponents' votes, down), relative to ½ | leader share z > 0, turnout and invalid z within ±2 |
//! | against the nation and stations like it | the stronger of the stuffing `(z_T + z_S)/√2` and transfer `(z_S − z_R)/√2` signatures, each against every ordinary station and against the ordinary stations of its size class ([`size_classes`]: quintiles of registered voters), counted at the weaker of the two references, relative to ½, less [`NATION_BASELINE_POINTS`] | z > 0 |
//! | its commission as a whole | the commission's [`displacement`] (against the other commissions of its region, plus [`displacement::PARENT_WEIGHT`] × its region's clean centre against the other regions' clean centres, or [`displacement::NATION_WEIGHT`] × the commission against every commission of the nation where regions are too small for a clean centre), (plus its stations' turnout–share relation against the nation's commissions, [`displacement::relation_z`]), as the surprise `−log10 q` of its Benjamini–Hochberg q-value among the level's units (`p = 10^−points`; [`inherited_q`]), at most [`INHERIT_MAX_POINTS`] | a signature up |
//!
//! **References.** A station is compared with its commission (the peers below), with
//! the nation, with the stations of its size across the nation (the file's station-type
//! column sets special stations aside before any comparison; no file read so far tells
//! urban from rural, so size is the only "kind" used), and through its commission with
//! its region: a commission falsified
//! throughout moves with its stations, so that a station that looks like its commission
//! is not cleared by that. Each reason names its reference. The score is the sum of the
//! points of the reasons listed ([`StationScore::reasons`] shows each reason's points and
//! the weaker pieces summed as one "minor evidence" reason).
//!
//! **Robust z.** `z = (x − median) / √((1.4826·MAD)² + x̃(1 − x̃)/n_i)` over the peers:
//! the station's commission when it has at least [`MIN_PEERS`] ordinary stations, else
//! its region, else the nation; `x̃` is the peers' median and `n_i` the station's
//! registered voters (turnout) or valid votes (share), so the station's own binomial noise
//! widens its spread. The peers' scaled MAD is shrunk toward the level's pooled one (with
//! the weight of [`SHRINK_PEERS`] stations): a dozen peers give too noisy a MAD to divide by.
//!
//! **Flagged.** A station is flagged when its score reaches [`FLAG_THRESHOLD`], chosen on
//! simulated clean elections so that about 0.1% of stations are flagged (5.5: the
//! 0.999 quantile of clean scores over 3 × 30,000 stations, 5.48; it was 3.2 before the
//! commission and nation evidence were added) (see the
//! `rank` integration tests for the measured rate). Since the peer looks count once and
//! inheritance goes through the commission's q-value, clean scores are lower (0.999
//! quantile 3.6 over seeds 1–3 of tests/rank_references.rs `table`): the threshold, kept
//! at 5.5, flags none of those clean stations, and Poland 2020 74 and 31 stations of
//! 27,225 on statistical evidence (round 1, round 2; 111 and 57 before).

pub mod clean_fit;
pub mod displacement;
pub mod observed;
pub mod units;

use crate::checks::{self, Rule};
use crate::model::{Election, Role};
use crate::stats::common::norm_sf;
use rayon::prelude::*;
use serde::Serialize;

/// Fewest ordinary stations a peer group needs before falling back a level up.
pub const MIN_PEERS: usize = 8;
/// An integer-percentage landing counts as evidence only when its probability (product
/// over turnout and share; multiples of 5% weighed by the chance of landing on one) is
/// below this.
pub const INTEGER_MAX_P: f64 = 0.1;
/// Points an integer landing loses before it counts: a landing is weighed against what
/// one station in ten shows by chance (p = 0.1 ⇒ 0 points, p = 0.01 ⇒ 1 point), so the
/// many chance landings of clean stations stay small next to a peer-group z.
pub const INTEGER_BASELINE_POINTS: f64 = 1.0;
/// Weight, in stations, of the pooled spread when shrinking a peer group's spread.
pub const SHRINK_PEERS: f64 = 20.0;
/// Evidence weaker than this (a z below about 2) adds to the score but is not listed
/// among the reasons.
pub const REASON_POINTS: f64 = 1.3;
/// Score at or above which a station is flagged.
pub const FLAG_THRESHOLD: f64 = 5.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Arithmetic,
    Identical,
    Turnout,
    Share,
    Corner,
    Integer,
    /// The stuffing signature against the station's peers: turnout and the leader's
    /// share up together (joint z).
    Stuffing,
    /// The transfer signature against the station's peers: leader share up, the
    /// runner-up's share of the opponents' votes down, turnout and invalid ordinary.
    Transfer,
    /// Inherited: the station's commission as a whole departs from its region.
    Commission,
    /// Inherited: the station's region as a whole departs from the nation (only where
    /// the election has a single level of units).
    Region,
    /// The station against every ordinary station of the nation: the stuffing or transfer
    /// signature (see [`displacement`]), for a station whose commission and region
    /// moved with it.
    Nation,
    /// Mebane's finite mixture ([`crate::stats::mixture`]) puts the station among the
    /// falsified ones with high posterior probability.
    Mixture,
    /// A published figure differs from the observers' record at the station
    /// (`analyze --observed`, see [`observed`]): the strongest evidence there is.
    Observed,
}

/// One piece of evidence against a station.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub kind: Kind,
    /// `−log10 p`.
    pub points: f64,
    /// The reason in plain words.
    pub text: String,
}

/// A station's score and what put it there.
#[derive(Debug, Clone, Serialize)]
pub struct StationScore {
    pub station: usize,
    pub score: f64,
    pub flagged: bool,
    pub turnout: Option<f64>,
    pub share: Option<f64>,
    /// The runner-up's share of the opponents' votes, `v_r / (V − v_leader)`.
    pub rival_share: Option<f64>,
    /// Invalid ballots' share of the ballots counted, `I / (V + I)`.
    pub invalid_share: Option<f64>,
    /// Points inherited from the station's commission and region ([`Kind::Commission`],
    /// [`Kind::Region`]): part of the score.
    pub inherited_points: f64,
    /// Flagged on its own evidence, without what it inherits (what a unit's count of
    /// flagged stations uses, so that a unit's displacement is not counted twice).
    pub flagged_alone: bool,
    /// The evidence worth reading: pieces of at least [`REASON_POINTS`], in the order found.
    pub evidence: Vec<Evidence>,
    /// Points of the weaker pieces (a peer z below about 2, a chance-sized identical
    /// protocol …): in the score, not listed. Kept as a sum, not as text: at 10⁷
    /// stations their reasons were gigabytes nobody reads.
    pub minor_points: f64,
}

impl StationScore {
    /// Flagged on statistical evidence: what is left of the score without the listed points
    /// of broken protocol arithmetic ([`Kind::Arithmetic`]) still reaches `threshold`. A
    /// broken protocol is a fact `check` reports, not a statistical alarm; clean
    /// simulations calibrate the statistical part.
    pub fn flagged_on_statistics(&self, threshold: f64) -> bool {
        self.flagged && self.score - self.evidence.iter().filter(|e| e.kind == Kind::Arithmetic).map(|e| e.points).sum::<f64>() >= threshold
    }

    /// Adds a piece of evidence: listed with its text (built only then) when it reaches
    /// [`REASON_POINTS`], otherwise counted in [`minor_points`](Self::minor_points).
    pub fn add(&mut self, kind: Kind, points: f64, text: impl FnOnce() -> String) {
        if points >= REASON_POINTS {
            self.evidence.push(Evidence { kind, points, text: text() });
        } else {
            self.minor_points += points;
        }
    }

    /// The evidence worth reading (at least [`REASON_POINTS`]), strongest first, each
    /// with its points, then the weaker pieces as one "minor evidence" reason: the points
    /// shown add up to the score (to their rounding).
    pub fn reasons(&self) -> String {
        let mut out = String::new();
        self.for_each_reason(|piece| {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(piece);
        });
        out
    }

    /// The pieces of [`reasons`](Self::reasons), one at a time, in its order (a list
    /// column is built from them without joining and splitting the text). Each piece is
    /// written into one buffer per thread: `f` must not call this again.
    pub fn for_each_reason(&self, mut f: impl FnMut(&str)) {
        thread_local! {
            static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        BUF.with(|cell| {
            let mut buf = cell.borrow_mut();
            let mut piece = |e: &Evidence| {
                buf.clear();
                buf.push_str(&e.text);
                push_points(&mut buf, e.points);
                f(&buf);
            };
            // strongest first (a stable sort, as before); most stations have none or one
            match self.evidence.len() {
                0 => {}
                1 => piece(&self.evidence[0]),
                _ => {
                    let mut ev: Vec<&Evidence> = self.evidence.iter().collect();
                    ev.sort_by(|a, b| b.points.total_cmp(&a.points));
                    ev.into_iter().for_each(&mut piece);
                }
            }
            if self.minor_points >= 0.05 {
                static MINOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                buf.clear();
                buf.push_str(MINOR.get_or_init(|| format!("minor evidence (pieces below {REASON_POINTS} points each)")));
                push_points(&mut buf, self.minor_points);
                f(&buf);
            }
        });
    }
}

/// Appends `" [x]"` with `x` to one decimal, the same text as `format!(" [{x:.1}]")`:
/// by integer tenths where `10·x` is not within 1e-6 of a half (where the rounding of the
/// product could differ from the formatter's exact decimal rounding, the formatter
/// decides). Reasons of a national file format ~130,000 points (issue 22's stations table).
fn push_points(buf: &mut String, x: f64) {
    use std::fmt::Write;
    let y = x * 10.0;
    let frac = y - y.floor();
    if x.is_finite() && y.abs() < 1e15 && (frac - 0.5).abs() > 1e-6 {
        let t = y.round() as i64;
        let (sign, a) = if t < 0 { ("-", -t) } else { ("", t) };
        // `{:.1}` prints -0.0 as "-0.0": a negative x rounding to 0 keeps its sign
        let sign = if t == 0 && x.is_sign_negative() { "-" } else { sign };
        let _ = write!(buf, " [{sign}{}.{}]", a / 10, a % 10);
    } else {
        let _ = write!(buf, " [{x:.1}]");
    }
}

/// Options for [`stations`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub leader: Option<usize>,
    /// Per-station probability that a binomial redraw of turnout / leader share lands on
    /// an integer percentage (from the integer test), and whether the station did.
    pub integer: Option<IntegerHits>,
    /// Score threshold for "flagged" (default [`FLAG_THRESHOLD`]).
    pub threshold: Option<f64>,
    /// The finite mixture's posterior per station (`None`: not fitted there).
    pub mixture: Option<Vec<Option<crate::stats::mixture::StationPosterior>>>,
}

/// Per-station integer-percentage evidence, indexed by station (None = not eligible).
#[derive(Debug, Clone, Default)]
pub struct IntegerHits {
    pub turnout: Vec<Option<(bool, f64)>>,
    pub share: Vec<Option<(bool, f64)>>,
}

/// Median by selection (linear time; the same number as sorting): the pooled spreads
/// take the median of every station's deviation, 10 million of them at national scale.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (lower, mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *mid;
    if n % 2 == 1 {
        hi
    } else {
        let lo = lower.iter().copied().max_by(f64::total_cmp).expect("n >= 2");
        0.5 * (lo + hi)
    }
}

/// Median and scaled MAD (1.4826·MAD) of `v`.
pub fn median_mad(v: &[f64]) -> (f64, f64) {
    let mut a = v.to_vec();
    let m = median(&mut a);
    let mut d: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    (m, 1.4826 * median(&mut d))
}

/// Peer statistics of a ratio per station ([`peer_stats`]): each station's peer level
/// and, per level, each group's (median, shrunk scaled MAD). One byte per station rather
/// than the statistics themselves: 10⁷ stations made that 640 MB at the ranking's peak.
pub(crate) struct Peers<'a> {
    /// Index into `levels` of each station's peer group; `u8::MAX`: none.
    level_of: Vec<u8>,
    /// (level name, unit of each station (`None`: the nation), statistics per unit).
    levels: Vec<(&'static str, Option<&'a [u32]>, Vec<Option<(f64, f64)>>)>,
}

impl Peers<'_> {
    /// (median, scaled MAD, "nation") of every ordinary station.
    pub(crate) fn nation(&self) -> Option<(f64, f64, &'static str)> {
        let (name, _, stats) = self.levels.last()?;
        let (m, s) = stats.first().copied().flatten()?;
        Some((m, s, name))
    }

    /// (median, scaled MAD, peer-group name) of station `i`'s peers.
    pub(crate) fn get(&self, i: usize) -> Option<(f64, f64, &'static str)> {
        let (name, code, stats) = self.levels.get(self.level_of[i] as usize)?;
        let (m, s) = stats[code.map_or(0, |c| c[i] as usize)]?;
        Some((m, s, name))
    }
}

/// Peer statistics of a ratio per station: the station's commission when it has at least
/// [`MIN_PEERS`] ordinary stations, else its region, else the nation.
pub(crate) fn peer_stats<'a>(e: &'a Election, x: &[Option<f64>]) -> Peers<'a> {
    let n = e.len();
    let mut levels: Vec<(&'static str, Option<&'a [u32]>, usize)> = Vec::new();
    if let Some(l) = e.levels.last() {
        levels.push(("commission", Some(&l.code[..]), l.n_units()));
    }
    if e.levels.len() >= 2 {
        let l = &e.levels[0];
        levels.push(("region", Some(&l.code[..]), l.n_units()));
    }
    levels.push(("nation", None, 1));
    let mut out = Peers { level_of: vec![u8::MAX; n], levels: Vec::new() };
    for (li, (name, code, units)) in levels.into_iter().enumerate() {
        let unit = |i: usize| code.map_or(0, |c| c[i] as usize);
        let mut groups: Vec<Vec<f64>> = vec![Vec::new(); units];
        for i in 0..n {
            if let (Some(v), None) = (x[i], e.special[i]) {
                groups[unit(i)].push(v);
            }
        }
        let local: Vec<Option<(f64, f64)>> = groups
            .iter()
            .map(|g| if g.len() >= MIN_PEERS || name == "nation" && !g.is_empty() { Some(median_mad(g)) } else { None })
            .collect();
        // A MAD from a dozen peers is noisy, and dividing by an underestimate inflates z:
        // shrink each group's spread toward the level's pooled spread (the scaled MAD of
        // every station's deviation from its group median), with the weight of
        // SHRINK_PEERS pseudo-peers.
        let mut devs: Vec<f64> = Vec::new();
        for i in 0..n {
            if let (Some(v), None, Some((m, _))) = (x[i], e.special[i], local[unit(i)]) {
                devs.push((v - m).abs());
            }
        }
        let pooled = if devs.is_empty() { 0.0 } else { 1.4826 * median_mad(&devs).0 };
        drop(devs);
        let stats: Vec<Option<(f64, f64)>> = local
            .iter()
            .zip(&groups)
            .map(|(l, g)| {
                l.map(|(m, s)| {
                    let k = g.len() as f64;
                    (m, ((k * s * s + SHRINK_PEERS * pooled * pooled) / (k + SHRINK_PEERS)).sqrt())
                })
            })
            .collect();
        for i in 0..n {
            if out.level_of[i] != u8::MAX || x[i].is_none() {
                continue;
            }
            if stats[unit(i)].is_some() {
                out.level_of[i] = li as u8;
            }
        }
        out.levels.push((name, code, stats));
    }
    out
}

/// Size classes of "stations like it": the ordinary stations' registered voters cut at
/// their quintiles, so every class holds a fifth of the stations whatever the country's
/// sizes (Poland's median station has 1,062 voters, Russia's about 1,500).
pub const SIZE_CLASSES: usize = 5;

/// Each station's size class (`u8::MAX`: none, no registered count) and each class's
/// label ("1,040–1,620 registered").
pub(crate) fn size_classes(e: &Election, reg: Option<&[u32]>) -> (Vec<u8>, Vec<String>) {
    let n = e.len();
    let Some(reg) = reg else { return (vec![u8::MAX; n], Vec::new()) };
    let mut sizes: Vec<u32> = (0..n).filter(|&i| e.special[i].is_none() && reg[i] > 0).map(|i| reg[i]).collect();
    if sizes.len() < SIZE_CLASSES * MIN_CLASS {
        return (vec![u8::MAX; n], Vec::new());
    }
    sizes.sort_unstable();
    // Upper bounds (exclusive) of the first SIZE_CLASSES − 1 classes.
    let cuts: Vec<u32> = (1..SIZE_CLASSES).map(|k| sizes[k * sizes.len() / SIZE_CLASSES]).collect();
    let class = (0..n).map(|i| if reg[i] > 0 { cuts.partition_point(|&c| c <= reg[i]) as u8 } else { u8::MAX }).collect();
    let t = |x: u32| crate::numfmt::thousands(x as u64);
    let labels = (0..SIZE_CLASSES)
        .map(|k| match k {
            0 => format!("under {} registered", t(cuts[0])),
            _ if k == SIZE_CLASSES - 1 => format!("{} registered or more", t(cuts[k - 1])),
            _ => format!("{}–{} registered", t(cuts[k - 1]), t(cuts[k] - 1)),
        })
        .collect();
    (class, labels)
}

/// Fewest ordinary stations a size class needs to serve as a reference.
pub const MIN_CLASS: usize = 50;

/// (median, scaled MAD) of `x` over the ordinary stations of each size class.
pub(crate) fn class_stats(e: &Election, x: &[Option<f64>], class: &[u8]) -> Vec<Option<(f64, f64)>> {
    let mut groups: Vec<Vec<f64>> = vec![Vec::new(); SIZE_CLASSES];
    for i in 0..e.len() {
        if let (Some(v), None, Some(g)) = (x[i], e.special[i], groups.get_mut(class[i] as usize)) {
            g.push(v);
        }
    }
    groups.iter().map(|g| (g.len() >= MIN_CLASS).then(|| median_mad(g))).collect()
}

/// A p-value for people: 0.0004, 3.1e-07.
pub fn fmt_p(p: f64) -> String {
    if p >= 0.001 { format!("{p:.4}") } else { format!("{p:.1e}") }
}

pub(crate) fn points(p: f64) -> f64 {
    -(p.max(1e-300)).log10()
}

/// Scores every station. Stations abroad and electronic pseudo-stations get only the
/// arithmetic and identical-protocol evidence.
pub fn stations(e: &Election, check: &checks::Report, opt: &Options) -> Vec<StationScore> {
    let n = e.len();
    let threshold = opt.threshold.unwrap_or(FLAG_THRESHOLD);
    let leader = opt.leader.or_else(|| e.leader());
    let reg = e.get(Role::Registered);
    let num = e.get(Role::Issued).or_else(|| e.get(Role::InBoxes));
    let valid = e.valid_or_sum();
    let turnout: Vec<Option<f64>> = (0..n)
        .map(|i| match (reg, num) {
            (Some(r), Some(b)) if r[i] > 0 => Some((b[i] as f64 / r[i] as f64).min(1.5)),
            _ => None,
        })
        .collect();
    let share: Vec<Option<f64>> = (0..n)
        .map(|i| match leader {
            Some(j) if valid[i] > 0 => Some(e.votes[j][i] as f64 / valid[i] as f64),
            _ => None,
        })
        .collect();
    // The runner-up: most votes nationally after the leader.
    let totals = e.candidate_totals();
    let rival = leader.and_then(|l| (0..totals.len()).filter(|&j| j != l).max_by(|&a, &b| totals[a].cmp(&totals[b]).then(b.cmp(&a))));
    let rival_share: Vec<Option<f64>> = (0..n)
        .map(|i| {
            let (l, r) = (leader?, rival?);
            let opp = valid[i].checked_sub(e.votes[l][i] as u64).filter(|&o| o > 0)?;
            Some((e.votes[r][i] as f64 / opp as f64).min(1.0))
        })
        .collect();
    let invalid = e.get(Role::Invalid);
    let invalid_share: Vec<Option<f64>> = (0..n)
        .map(|i| {
            let inv = invalid?[i] as u64;
            let c = inv + valid[i];
            (c > 0).then(|| inv as f64 / c as f64)
        })
        .collect();
    let mut out: Vec<StationScore> = (0..n)
        .map(|i| StationScore {
            station: i,
            score: 0.0,
            flagged: false,
            turnout: turnout[i],
            share: share[i],
            rival_share: rival_share[i],
            invalid_share: invalid_share[i],
            inherited_points: 0.0,
            flagged_alone: false,
            evidence: Vec::new(),
            minor_points: 0.0,
        })
        .collect();
    // Peer medians of turnout, share, the runner-up's share of the opponents and the
    // invalid share, and the identical-protocol search, side by side.
    let (((peers_t, peers_s), (peers_r, peers_i)), ()) = rayon::join(
        || {
            rayon::join(
                || rayon::join(|| peer_stats(e, &turnout), || peer_stats(e, &share)),
                || rayon::join(|| peer_stats(e, &rival_share), || peer_stats(e, &invalid_share)),
            )
        },
        || identical_protocols(e, &check.identical, &mut out),
    );
    // Stations like it: the size class's medians across the nation (the nation's where
    // the class is too small).
    let (class, class_label) = size_classes(e, reg);
    let (cls_t, cls_s, cls_r, cls_i) =
        (class_stats(e, &turnout, &class), class_stats(e, &share, &class), class_stats(e, &rival_share, &class), class_stats(e, &invalid_share, &class));
    for v in &check.violations {
        // A broken relation off by one or two ballots is a counting slip (real protocols
        // have many: 642 of 27,225 Polish stations in 2020): counted, weighed at one point,
        // never enough alone to flag a station; a larger gap weighs 6 points.
        let slip = !matches!(v.rule, Rule::DuplicateId) && crate::checks::is_slip(v);
        let text = match (v.rule, v.other) {
            // Identical protocols are weighed by their chance probability below, for
            // every vector size, not at the fixed weight of arithmetic.
            (Rule::IdenticalProtocol, _) => continue,
            (Rule::DuplicateId, Some(j)) => format!("station id used twice within its hierarchy path (also on line {})", e.line[j]),
            _ if slip => format!("counting slip: {} ({} vs {}, gap {:+})", v.rule.relation(), v.left, v.right, v.gap),
            _ => format!("broken: {} ({} vs {}, gap {:+})", v.rule.relation(), v.left, v.right, v.gap),
        };
        out[v.station].add(Kind::Arithmetic, if slip { 1.0 } else { 6.0 }, || text);
    }
    out.par_iter_mut().enumerate().for_each(|(i, s)| {
        if e.special[i].is_some() {
            return;
        }
        let size_t = reg.map(|r| r[i] as f64).unwrap_or(0.0);
        let size_s = valid[i] as f64;
        let z_of = |x: Option<f64>, peer: Option<(f64, f64, &'static str)>, size: f64| -> Option<(f64, f64, f64, &'static str)> {
            let (x, (m, s, name)) = (x?, peer?);
            let binom = if size > 0.0 { m.clamp(0.01, 0.99) * (1.0 - m.clamp(0.01, 0.99)) / size } else { 0.0 };
            let sd = (s * s + binom).sqrt();
            if sd <= 0.0 {
                return None;
            }
            Some(((x - m) / sd, x, m, name))
        };
        let zt = z_of(turnout[i], peers_t.get(i), size_t);
        let zs = z_of(share[i], peers_s.get(i), size_s);
        // Transfer: the runner-up's share of the opponents' votes down while the leader's
        // share is up, turnout and invalid ballots ordinary (the rival's points only: the
        // leader's rise is counted above).
        let size_r = valid[i] as f64 * (1.0 - share[i].unwrap_or(0.0));
        // The runner-up's share of a handful of opponents' votes says nothing (and a
        // peer median of 100% leaves no binomial spread): from MIN_OPPONENT_VOTES on.
        let rival_i = rival_share[i].filter(|_| size_r >= MIN_OPPONENT_VOTES);
        let zr = z_of(rival_i, peers_r.get(i), size_r);
        let zi = z_of(invalid_share[i], peers_i.get(i), valid[i] as f64 + invalid.map_or(0.0, |v| v[i] as f64));
        let ordinary = |z: Option<(f64, f64, f64, &'static str)>| z.is_none_or(|z| z.0.abs() < displacement::ORDINARY_Z);
        if let (Some((a, _, _, _)), Some((b, x, m, name))) = (zs, zr) {
            if a > 0.0 && b < 0.0 && ordinary(zt) && ordinary(zi) {
                s.add(Kind::Transfer, points(norm_sf(-b) / 0.5), || {
                    format!("transfer: runner-up's share of the opponents' votes {:.1}% vs {name} median {:.1}% (z = {b:.1}) while the leader's share is up and turnout and invalid ordinary", 100.0 * x, 100.0 * m)
                });
            }
        }
        // Against its peers the strongest of three looks counts once: the leader's share
        // up; the stuffing signature (turnout and the leader's share up together, joint z);
        // turnout up alone, less TURNOUT_ALONE_BASELINE_POINTS (see there).
        let up = |z: Option<(f64, f64, f64, &'static str)>| z.filter(|z| z.0 > 0.0);
        let share_look = up(zs).map(|z| (points(norm_sf(z.0) / 0.5), z));
        let turnout_look = up(zt).map(|z| (points(norm_sf(z.0) / 0.5) - TURNOUT_ALONE_BASELINE_POINTS, z));
        let joint_look = up(zt).zip(up(zs)).map(|(t, sh)| {
            let z = (t.0 + sh.0) / std::f64::consts::SQRT_2;
            (points(norm_sf(z) / 0.5), t, sh, z)
        });
        let (p_share, p_turnout) = (share_look.map_or(0.0, |l| l.0), turnout_look.map_or(0.0, |l| l.0));
        if let Some((p, (a, xt, mt, name), (b, xs, ms, _), z)) = joint_look.filter(|j| j.0 > 0.0 && j.0 >= p_share && j.0 >= p_turnout) {
            s.add(Kind::Stuffing, p, || {
                format!("stuffing: turnout {:.1}% and leader share {:.1}% both above the {name} medians {:.1}%, {:.1}% (z = {a:.1} and {b:.1}, joint z = {z:.1})", 100.0 * xt, 100.0 * xs, 100.0 * mt, 100.0 * ms)
            });
        } else if let Some((p, (z, x, m, name))) = share_look.filter(|l| l.0 > 0.0 && l.0 >= p_turnout) {
            s.add(Kind::Share, p, || format!("leader share {:.1}% vs {name} median {:.1}% (z = {z:.1})", 100.0 * x, 100.0 * m));
        } else if let Some((p, (z, x, m, name))) = turnout_look.filter(|l| l.0 > 0.0) {
            s.add(Kind::Turnout, p, || {
                format!("turnout {:.1}% vs {name} median {:.1}% (z = {z:.1}) with the leader's share not up as much (counted {TURNOUT_ALONE_BASELINE_POINTS} point less)", 100.0 * x, 100.0 * m)
            });
        }
        // Against the nation: the stuffing (turnout and share up) or the transfer
        // signature (share up, runner-up down, turnout and invalid ordinary), the
        // stronger, less NATION_BASELINE_POINTS.
        // Against the nation and against the stations of its size class across the
        // nation, the signature counts at the weaker of the two: a departure that either
        // reference explains is not evidence (on Poland 2020's first round the largest
        // size class is the cities, whose leader share is 36% against 52% nationwide, so
        // large rural stations depart from their size class by geography alone).
        let c = class[i] as usize;
        let class_ref = |stats: &[Option<(f64, f64)>]| stats.get(c).copied().flatten().map(|(m, s)| (m, s, "size class"));
        let sig = |rt: Option<(f64, f64, &'static str)>, rs, rr, ri| -> Option<(f64, String)> {
            let nt = z_of(turnout[i], rt, size_t);
            let ns = z_of(share[i], rs, size_s);
            let nr = z_of(rival_i, rr, size_r);
            let ni = z_of(invalid_share[i], ri, valid[i] as f64 + invalid.map_or(0.0, |v| v[i] as f64));
            let mut best: Option<(f64, String)> = None;
            if let (Some((a, xt, mt, _)), Some((b, xs, ms, _))) = (nt, ns) {
                if a > 0.0 && b > 0.0 {
                    let z = (a + b) / std::f64::consts::SQRT_2;
                    best = Some((z, format!("stuffing signature: turnout {:.1}% and leader share {:.1}% vs medians {:.1}%, {:.1}% (joint z = {z:.1})", 100.0 * xt, 100.0 * xs, 100.0 * mt, 100.0 * ms)));
                }
            }
            if let (Some((a, xs, ms, _)), Some((b, xr, mr, _))) = (ns, nr) {
                let z = (a - b) / std::f64::consts::SQRT_2;
                if a > 0.0 && b < 0.0 && ordinary(nt) && ordinary(ni) && best.as_ref().is_none_or(|x| z > x.0) {
                    best = Some((z, format!("transfer signature: leader share {:.1}% (median {:.1}%) and runner-up's share of the opponents' votes {:.1}% (median {:.1}%), turnout and invalid ordinary (joint z = {z:.1})", 100.0 * xs, 100.0 * ms, 100.0 * xr, 100.0 * mr)));
                }
            }
            best
        };
        let nation = sig(peers_t.nation(), peers_s.nation(), peers_r.nation(), peers_i.nation());
        let like = match (class_ref(&cls_t), class_ref(&cls_s)) {
            (None, None) => None,
            _ => Some(sig(class_ref(&cls_t), class_ref(&cls_s), class_ref(&cls_r), class_ref(&cls_i))),
        };
        let best = match (nation, like) {
            (Some((zn, tn)), None) => Some((zn, format!("against the nation: {tn}"))),
            (Some((zn, tn)), Some(Some((zc, tc)))) => {
                let label = class_label.get(c).map(String::as_str).unwrap_or("");
                Some((zn.min(zc), format!("against the nation: {tn}, and against stations of its size nationwide ({label}): {tc} (counted at the weaker)")))
            }
            _ => None,
        };
        if let Some((z, text)) = best {
            let pts = points(norm_sf(z) / 0.5) - NATION_BASELINE_POINTS;
            if pts > 0.0 {
                s.add(Kind::Nation, pts, || text);
            }
        }
        if let (Some(t), Some(sh), Some((_, _, mt, name))) = (turnout[i], share[i], zt) {
            if t >= 0.95 && sh >= 0.95 && mt < 0.80 {
                s.add(Kind::Corner, 3.0, || {
                    format!("top-right corner: turnout {:.1}% and leader share {:.1}% where the {name} median turnout is {:.1}%", 100.0 * t, 100.0 * sh, 100.0 * mt)
                });
            }
        }
        if let Some(Some(m)) = opt.mixture.as_ref().and_then(|v| v.get(i)) {
            let pts = mixture_points(m);
            if pts > 0.0 {
                s.add(Kind::Mixture, pts, || mixture_text(m));
            }
        }
        if let Some(hits) = &opt.integer {
            let turnout_hit = hits.turnout.get(i).copied().flatten().filter(|h| h.0).map(|h| h.1);
            let share_hit = hits.share.get(i).copied().flatten().filter(|h| h.0).map(|h| h.1);
            // A single integer percentage is what one station in ten shows by chance:
            // only an improbable landing counts.
            let p = turnout_hit.unwrap_or(1.0) * share_hit.unwrap_or(1.0);
            if (turnout_hit.is_some() || share_hit.is_some()) && p < INTEGER_MAX_P {
                s.add(Kind::Integer, (points(p) - INTEGER_BASELINE_POINTS).max(0.0), || {
                    let mut what = Vec::new();
                    if turnout_hit.is_some() {
                        what.push(format!("turnout exactly {:.1}%", 100.0 * turnout[i].unwrap_or(0.0)));
                    }
                    if share_hit.is_some() {
                        what.push("leader share an integer percentage of the ballots in boxes".to_string());
                    }
                    format!("{} (p = {} for a station of {} voters)", what.join(" and "), fmt_p(p), crate::numfmt::thousands(size_t as u64))
                });
            }
        }
    });
    for s in &mut out {
        s.flagged_alone = s.minor_points + s.evidence.iter().map(|e| e.points).sum::<f64>() >= threshold;
    }
    inherit(e, &mut out);
    // Every station, those set aside above too (they carry the checks' evidence).
    for s in &mut out {
        s.score = s.minor_points + s.evidence.iter().map(|e| e.points).sum::<f64>();
        s.flagged = s.score >= threshold;
    }
    out
}

/// Weight of the finite mixture's evidence: `MIXTURE_WEIGHT × (−log10(1 − P))` points,
/// `P = P(incremental) + P(extreme)`, at most [`MIXTURE_MAX_POINTS`]. The posterior is
/// not a p-value: it says how the fitted model would classify the station, and it reads
/// the same turnout and share that the peer z-scores read, so it is weighed as a
/// supplement (P = 0.9 gives 0.5 points at weight 0.5, P = 0.99 one point).
pub const MIXTURE_WEIGHT: f64 = 0.5;
/// Most points the mixture gives a station.
pub const MIXTURE_MAX_POINTS: f64 = 1.5;

/// Points of the mixture's posterior ([`MIXTURE_WEIGHT`]).
pub fn mixture_points(m: &crate::stats::mixture::StationPosterior) -> f64 {
    let p = (m.p_incremental as f64 + m.p_extreme as f64).clamp(0.0, 1.0);
    (MIXTURE_WEIGHT * -(1.0 - p).max(1e-12).log10()).min(MIXTURE_MAX_POINTS)
}

/// "mixture: P(incremental) = 0.93, about 180 votes manufactured" (the larger of the two
/// kinds named; stolen votes when there are any).
pub fn mixture_text(m: &crate::stats::mixture::StationPosterior) -> String {
    let (kind, p) = if m.p_extreme > m.p_incremental { ("extreme", m.p_extreme) } else { ("incremental", m.p_incremental) };
    let man = crate::numfmt::thousands(m.manufactured.max(0.0).round() as u64);
    let stolen = m.stolen.max(0.0).round() as u64;
    let stolen = if stolen >= 1 { format!(" and {} stolen", crate::numfmt::thousands(stolen)) } else { String::new() };
    format!("mixture: P({kind}) = {p:.2}, about {man} votes manufactured{stolen}")
}

/// Points a station's turnout above its peers loses when the leader's share is not up
/// with it (the turnout look alone; with the share up the stuffing look counts it in
/// full): extra ballots shared by every candidate in proportion favour nobody, and honest
/// turnout varies more between stations than shares do. The peer looks (share up,
/// stuffing, turnout alone) count once, the strongest: summed, as before, a clean
/// station's chance turnout added to every share, and the share's evidence of a transfer
/// (share up, turnout ordinary) drowned in it (transfer:0.05:0.2, tests/rank_references.rs,
/// seeds 1–3: the score's AUC 0.70/0.68/0.67 below the plain share's 0.69/0.69/0.70).
pub const TURNOUT_ALONE_BASELINE_POINTS: f64 = 1.0;

/// Fewest opponents' votes (valid votes not for the leader) for the runner-up's share of
/// them to count at a station.
pub const MIN_OPPONENT_VOTES: f64 = 30.0;

/// Most points a station inherits from its commission: its commission's displacement
/// ranks it, but does not flag it alone (at the threshold 5.5 it needs 2.5 points of its
/// own). At 6 (enough to flag alone) a clean simulated election flagged 0.00–0.24% of
/// its stations (seeds 1–3 of `table`; one commission displaced by chance) against
/// 0.01–0.02% at 3, with every AUC of `table` within 0.003, and Poland 2020's first
/// round flagged 144 stations (0.53%) on statistical evidence against 111 (0.41%) at 3.
/// The price: on Russia 2018 the stations of its most displaced commissions are no
/// longer flagged on their commission's evidence alone (flagged stations 8,300 at 6,
/// 1,750 at 3); those commissions head the commission list, and their stations still
/// rank above their region's. (Measured with the fixed 0.5-point deduction used before
/// [`inherited_q`]; with the q-value a commission's displacement rarely passes more than
/// 3 points: 3 to 8 changed no AUC of `table` by more than 0.008, before the turnout–share relation.)
pub const INHERIT_MAX_POINTS: f64 = 3.0;

/// Points a station's departure from the nation loses before it counts: 2, i.e. only a
/// departure beyond p ≈ 0.01 counts. At 0 (the first measurement, tests/rank_references.rs)
/// it found a capital whose whole region moved with it best (transfer-commissions seed 2:
/// AUC 0.847 against 0.796 at 2), but a real clean election's geography is not a
/// simulator's: on Poland 2020's first round the east-west divide alone flagged 136
/// stations through it, and 0.75% of stations on statistical evidence at 1 (0.53% at 2).
pub const NATION_BASELINE_POINTS: f64 = 2.0;

/// Stations inherit a unit's displacement as the surprise of its Benjamini–Hochberg
/// q-value among the units of its level, `−log10 q` (at most [`INHERIT_MAX_POINTS`]),
/// not of its own p: a commission is one of hundreds, and the displacement one of them
/// shows by chance is no evidence against its stations. Where a third of the commissions
/// were falsified their small p-values stay small as q-values (q ≈ p/0.3) and pass
/// nearly all their points on; where a few single stations were falsified and no
/// commission moved, every q is near 1 and nothing is passed on. The fixed deduction
/// used before (0.5 points, one unit in three by chance) could not be both: at 0.5 the
/// commissions' chance displacements drowned single falsified stations
/// (transfer:0.05:0.2 below the winner's share), at 1.0 whole-commission falsifications
/// lost too much (AUC 0.72–0.80). Measured in tests/rank_references.rs.
fn inherited_q(d: &[Option<displacement::Displacement>], members: &[Vec<usize>]) -> Vec<f64> {
    // p of each unit with stations (no signature up: p = 1), Benjamini–Hochberg step-up.
    let p: Vec<Option<f64>> = d.iter().zip(members).map(|(d, m)| (!m.is_empty()).then(|| d.as_ref().map_or(1.0, |d| 10f64.powf(-d.points).min(1.0)))).collect();
    let mut idx: Vec<usize> = (0..p.len()).filter(|&u| p[u].is_some()).collect();
    idx.sort_by(|&a, &b| p[a].unwrap_or(1.0).total_cmp(&p[b].unwrap_or(1.0)).then(a.cmp(&b)));
    let n = idx.len() as f64;
    let mut q = vec![1.0; p.len()];
    let mut run = 1.0f64;
    for (k, &u) in idx.iter().enumerate().rev() {
        run = run.min(p[u].unwrap_or(1.0) * n / (k + 1) as f64);
        q[u] = run;
    }
    q
}

/// Each ordinary station inherits its commission's displacement against the other
/// commissions of its region, and its region's against the nation
/// ([`displacement`]), as the surprise of its q-value ([`inherited_q`]).
fn inherit(e: &Election, out: &mut [StationScore]) {
    let nl = e.levels.len();
    let levels: Vec<(usize, Kind, &str)> = match nl {
        0 => Vec::new(),
        1 => vec![(0, Kind::Region, "unit")],
        _ => vec![(nl - 1, Kind::Commission, "commission")],
    };
    for (level, kind, what) in levels {
        let members = displacement::members(e, level);
        let d = displacement::displacement(e, level, &members, out);
        let q = inherited_q(&d, &members);
        let units = members.iter().filter(|m| !m.is_empty()).count();
        let code = &e.levels[level].code;
        let peers = if level == 0 { "the nation" } else { "its peers" };
        out.par_iter_mut().enumerate().for_each(|(i, s)| {
            if e.special[i].is_some() {
                return;
            }
            let u = code[i] as usize;
            if let Some(d) = &d[u] {
                let pts = points(q[u]).min(INHERIT_MAX_POINTS);
                if pts > 0.0 {
                    s.inherited_points += pts;
                    s.add(kind, pts, || {
                        format!(
                            "its {what} as a whole departs from {peers}: {} ({:.1} points, q = {} among {units} {what}s, at most {INHERIT_MAX_POINTS} points)",
                            d.text,
                            d.points,
                            fmt_p(q[u])
                        )
                    });
                }
            }
        });
    }
}

/// Identical vote vectors within a commission, weighed by how likely a chance match is:
/// `p = pmf(v) × (m − 1)`, the multinomial probability of the vector under the
/// commission's pooled vote shares times the number of other stations of the commission
/// with the same number of votes `m − 1` (a union bound over the stations it could have
/// matched). Large vectors get the full 6 points; two tiny stations with 12 votes each
/// that agree get little. Vectors of fewer than [`checks::IDENTICAL_COMPARE_MIN_VOTES`] (5) votes are not compared.
fn identical_protocols(e: &Election, groups: &[checks::IdenticalGroup], out: &mut [StationScore]) {
    use statrs::function::gamma::ln_gamma;
    let Some(level) = e.levels.last() else { return };
    let k = e.votes.len();
    // Commission vote shares.
    let mut tot = vec![vec![0.0f64; k]; level.n_units()];
    for i in 0..e.len() {
        for j in 0..k {
            tot[level.code[i] as usize][j] += e.votes[j][i] as f64;
        }
    }
    for g in groups {
        let head = g.members[0] as usize;
        let t = &tot[level.code[head] as usize];
        let all: f64 = t.iter().sum();
        let mut ln = ln_gamma(g.total as f64 + 1.0);
        for (j, col) in e.votes.iter().enumerate() {
            let x = col[head];
            let p = (t[j] / all).max(1e-9);
            ln += x as f64 * p.ln() - ln_gamma(x as f64 + 1.0);
        }
        let others = (g.same_total - 1).max(1);
        let p = (ln.exp() * others as f64).min(1.0);
        let pts = points(p).min(6.0);
        // A station is in one group at most, so this is its only identical evidence.
        for &i in &g.members {
            let twin = g.members.iter().copied().find(|&x| x != i).expect("two members") as usize;
            out[i as usize].add(Kind::Identical, pts, || {
                format!(
                    "identical vote vector ({} votes) to station {} of the same commission (line {}, chance match p = {})",
                    g.total,
                    e.station[twin],
                    e.line[twin],
                    fmt_p(p)
                )
            });
        }
    }
}

/// Station indices sorted by score (highest first; ties by file order).
pub fn order(scores: &[StationScore]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    // The index breaks ties, so the unstable (parallel) sort gives the one order.
    idx.par_sort_unstable_by(|&a, &b| scores[b].score.total_cmp(&scores[a].score).then(a.cmp(&b)));
    idx
}

/// Area under the ROC curve of `score` against `truth` (ties count one half):
/// the probability that a random positive outscores a random negative.
pub fn roc_auc(score: &[f64], truth: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..score.len()).collect();
    idx.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    // Mann–Whitney U with midranks.
    let mut rank_sum = 0.0;
    let mut k = 0;
    while k < idx.len() {
        let mut j = k;
        while j + 1 < idx.len() && score[idx[j + 1]] == score[idx[k]] {
            j += 1;
        }
        let mid = (k + j) as f64 / 2.0 + 1.0;
        for &i in &idx[k..=j] {
            if truth[i] {
                rank_sum += mid;
            }
        }
        k = j + 1;
    }
    let pos = truth.iter().filter(|&&t| t).count() as f64;
    let neg = truth.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_mad_by_hand() {
        // [1, 2, 3, 4, 100]: median 3, |dev| = [2,1,0,1,97] → MAD 1 → 1.4826
        let (m, s) = median_mad(&[1.0, 2.0, 3.0, 4.0, 100.0]);
        assert_eq!(m, 3.0);
        assert!((s - 1.4826).abs() < 1e-12);
    }

    /// The mixture's reason and points by hand: P = 0.93 + 0.0 → 0.5 × −log10(0.07) =
    /// 0.577 points; P = 0.9999 → capped at MIXTURE_MAX_POINTS.
    #[test]
    fn mixture_reason_by_hand() {
        use crate::stats::mixture::StationPosterior;
        let m = StationPosterior { p_incremental: 0.93, p_extreme: 0.0, manufactured: 180.4, stolen: 0.3 };
        assert_eq!(mixture_text(&m), "mixture: P(incremental) = 0.93, about 180 votes manufactured");
        assert!((mixture_points(&m) - MIXTURE_WEIGHT * -(0.07f64).log10()).abs() < 1e-6);
        let e = StationPosterior { p_incremental: 0.01, p_extreme: 0.9899, manufactured: 1234.0, stolen: 56.0 };
        assert_eq!(mixture_text(&e), "mixture: P(extreme) = 0.99, about 1,234 votes manufactured and 56 stolen");
        assert_eq!(mixture_points(&e), MIXTURE_MAX_POINTS.min(MIXTURE_WEIGHT * 4.0));
        assert_eq!(mixture_points(&StationPosterior { p_incremental: 0.0, p_extreme: 0.0, manufactured: 0.0, stolen: 0.0 }), 0.0);
    }

    #[test]
    fn auc_by_hand() {
        // positives 0.9, 0.4; negatives 0.5, 0.1, 0.4: pairs won 3 + 1.5 (tie) of 6 → 0.75
        let auc = roc_auc(&[0.9, 0.4, 0.5, 0.1, 0.4], &[true, true, false, false, false]);
        assert!((auc - 0.75).abs() < 1e-12, "{auc}");
    }
}

#[cfg(test)]
mod points_text_tests {
    /// `push_points` writes exactly what `{:.1}` writes, near halves, at signs, zeros and
    /// large values (the formatter is the reference).
    #[test]
    fn push_points_is_the_formatter() {
        let mut xs: Vec<f64> = vec![0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.95, 1.05, 2.5, -0.04, -0.05, -0.06, -1.25, 9.95, 99.95, 1e6 + 0.05, 123456.789, f64::NAN, f64::INFINITY];
        let mut z: u64 = 7;
        for _ in 0..200_000 {
            z = z.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (z >> 11) as f64 / (1u64 << 53) as f64;
            xs.push((u - 0.2) * 60.0);
            xs.push(((u * 2000.0).round() / 100.0) - 3.0);
        }
        for x in xs {
            let mut s = String::new();
            super::push_points(&mut s, x);
            assert_eq!(s, format!(" [{x:.1}]"), "{x:e}");
        }
    }
}
