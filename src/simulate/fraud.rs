//! Fraud injection: kinds, the `--fraud` SPEC syntax, station selection and the edits.
//!
//! SPEC: `kind:fraction[:intensity[:city]][@region=NAME|@commission=NAME]`, e.g.
//! `stuffing:0.05:0.3`, `integer:0.01:5`, `extreme:0.2:0.95@region=Region 07`,
//! `copy:0.5@commission=Commission 03-002`, `transfer-commissions:0.33:0.5:city`.
//! The `*-commissions` kinds falsify whole commissions (every station of each chosen
//! commission) until `fraction` of the stations in scope are reached; `:city` chooses the
//! commissions of the largest region (the capital) first. `fraction` is the share of the stations in
//! scope (the nation, the region or the commission) that get the kind; NAME is a label
//! as written in the protocols ("Region 07", "Commission 07-003") or its number ("7",
//! "07-003"). What `intensity` means depends on the kind (see [`FraudKind`]).

use super::{Purpose, Simulation, Truth, col, in_boxes, issued, leader_share, rng_for, turnout};
use crate::{Error, Result};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;

/// The kinds of fraud the simulator injects. Candidate A (index 0) is the beneficiary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FraudKind {
    /// Ballots of a fraction `intensity` (default 0.3) of the non-voters `N − B` are
    /// added for the leader: issued (on the day), stationary box, valid and the leader's
    /// votes all rise by `max(1, round(intensity·(N − B)))`; turnout and share rise.
    Stuffing,
    /// A fraction `intensity` (default 0.2) of every other candidate's votes is moved to
    /// the leader (at least one vote); turnout unchanged, share rises.
    Transfer,
    /// Kobak-style rounding: turnout `B/N`, the leader's share `v/C`, or both (a quarter,
    /// a quarter, half of the stations) are raised to the nearest multiple of
    /// `intensity` percent (default 5; an integer 1‥50) above the current value that
    /// the station's size can hit within 0.05 pp. Turnout is raised by stuffing ballots
    /// for the leader, share by moving votes from the others.
    Integer,
    /// Klimek's extreme fraud: with `x = clamp(intensity + Normal(0, 0.02), 0.5, 1)`
    /// (default intensity 0.95; the truth records each station's `x`), `x·(N − B)`
    /// ballots are stuffed and a fraction `x` of the others' votes moved: turnout and
    /// share near 100%.
    Extreme,
    /// A person writes the protocol: each count ≥ 10 (candidates, invalid, issued
    /// outside) gets, with probability `intensity` (default 0.8), a last digit drawn
    /// from a human distribution (0: 28%, 5: 22%, others 3–9%); boxes, valid and
    /// issued are derived so that every relation still holds.
    Invented,
    /// The protocol of another clean station of the same commission is copied (all
    /// counts but registered, received and cancelled; the whole protocol when the
    /// source issued more ballots than the target has voters): identical vote vectors.
    /// No intensity (1).
    Copy,
    /// The arithmetic does not add up (half the stations each): ballots in boxes exceed
    /// ballots issued (extra ballots in the stationary box counted as valid for the
    /// leader), or the leader's votes raised so that `Σ v ≠ V`. The gap is
    /// `max(1, round(intensity·B))` (default 0.05), resp. `intensity·V`.
    Arithmetic,
    /// A falsification decided per commission: a fraction `intensity` (default 0.3) of
    /// the runner-up's (candidate B's) votes moved to the leader at every station of
    /// whole commissions (at least one vote); turnout and invalid ballots unchanged.
    TransferCommissions,
    /// Stuffing (as [`FraudKind::Stuffing`], default 0.3 of the non-voters) at every
    /// station of whole commissions.
    StuffingCommissions,
}

impl FraudKind {
    pub const ALL: [FraudKind; 9] = [
        FraudKind::Stuffing,
        FraudKind::Transfer,
        FraudKind::Integer,
        FraudKind::Extreme,
        FraudKind::Invented,
        FraudKind::Copy,
        FraudKind::Arithmetic,
        FraudKind::TransferCommissions,
        FraudKind::StuffingCommissions,
    ];

    /// Kinds that falsify whole commissions rather than single stations.
    pub fn whole_commissions(self) -> bool {
        matches!(self, FraudKind::TransferCommissions | FraudKind::StuffingCommissions)
    }

    pub fn name(self) -> &'static str {
        match self {
            FraudKind::Stuffing => "stuffing",
            FraudKind::Transfer => "transfer",
            FraudKind::Integer => "integer",
            FraudKind::Extreme => "extreme",
            FraudKind::Invented => "invented",
            FraudKind::Copy => "copy",
            FraudKind::Arithmetic => "arithmetic",
            FraudKind::TransferCommissions => "transfer-commissions",
            FraudKind::StuffingCommissions => "stuffing-commissions",
        }
    }

    pub fn from_name(s: &str) -> Option<FraudKind> {
        FraudKind::ALL.iter().copied().find(|k| k.name().eq_ignore_ascii_case(s.trim()))
    }

    pub fn default_intensity(self) -> f64 {
        match self {
            FraudKind::Stuffing => 0.3,
            FraudKind::Transfer => 0.2,
            FraudKind::Integer => 5.0,
            FraudKind::Extreme => 0.95,
            FraudKind::Invented => 0.8,
            FraudKind::Copy => 1.0,
            FraudKind::Arithmetic => 0.05,
            FraudKind::TransferCommissions => 0.3,
            FraudKind::StuffingCommissions => 0.3,
        }
    }

    /// `Err` explains the accepted range.
    pub fn check_intensity(self, x: f64) -> std::result::Result<(), String> {
        let ok = match self {
            FraudKind::Integer => (1.0..=50.0).contains(&x) && x.fract() == 0.0,
            FraudKind::Extreme => (0.5..=1.0).contains(&x),
            FraudKind::Copy => x == 1.0,
            _ => x > 0.0 && x <= 1.0,
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            FraudKind::Integer => format!(
                "integer intensity {x}: must be a whole percentage step between 1 and 50 (e.g. 5 rounds to \
                 multiples of 5%)"
            ),
            FraudKind::Extreme => format!("extreme intensity {x}: must be between 0.5 and 1 (how close to 100%)"),
            FraudKind::Copy => format!("copy takes no intensity (got {x}); write copy:FRACTION"),
            k => format!("{} intensity {x}: must be in (0, 1]", k.name()),
        })
    }

    fn names() -> String {
        FraudKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for FraudKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a spec applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Nation,
    Region(String),
    Commission(String),
}

/// One `--fraud` spec.
#[derive(Debug, Clone, PartialEq)]
pub struct FraudSpec {
    pub kind: FraudKind,
    /// Share of the stations in scope, in (0, 1].
    pub fraction: f64,
    pub intensity: f64,
    pub scope: Scope,
    /// Whole-commission kinds only: choose the commissions of the largest region in
    /// scope first (`:city`).
    pub city: bool,
}

impl FraudSpec {
    pub fn new(kind: FraudKind, fraction: f64, intensity: f64) -> Self {
        FraudSpec { kind, fraction, intensity, scope: Scope::Nation, city: false }
    }
    pub fn within(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
}

const SYNTAX: &str = "expected kind:fraction[:intensity[:city]][@region=NAME|@commission=NAME], e.g. stuffing:0.05:0.3";

impl FromStr for FraudSpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        let (body, scope) = match s.split_once('@') {
            None => (s, Scope::Nation),
            Some((body, sc)) => {
                let Some((key, name)) = sc.split_once('=') else {
                    return Err(format!("scope \"@{sc}\": {SYNTAX}"));
                };
                let name = name.trim();
                if name.is_empty() {
                    return Err(format!("scope \"@{sc}\": the name after '=' is empty"));
                }
                let scope = match key.trim().to_ascii_lowercase().as_str() {
                    "region" => Scope::Region(name.to_string()),
                    "commission" => Scope::Commission(name.to_string()),
                    other => return Err(format!("scope \"{other}\": must be region or commission")),
                };
                (body, scope)
            }
        };
        let parts: Vec<&str> = body.split(':').map(str::trim).collect();
        if parts.len() < 2 || parts.len() > 4 || parts[0].is_empty() {
            return Err(SYNTAX.to_string());
        }
        let kind = FraudKind::from_name(parts[0])
            .ok_or_else(|| format!("unknown fraud kind \"{}\"; kinds are {}", parts[0], FraudKind::names()))?;
        let fraction: f64 = parts[1].parse().ok().filter(|f: &f64| *f > 0.0 && *f <= 1.0).ok_or_else(|| {
            format!("fraction \"{}\": must be a number in (0, 1], the share of stations in scope", parts[1])
        })?;
        let intensity = match parts.get(2) {
            None => kind.default_intensity(),
            Some(x) => x
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("intensity \"{x}\": not a number"))?,
        };
        kind.check_intensity(intensity)?;
        let city = match parts.get(3) {
            None => false,
            Some(x) if x.eq_ignore_ascii_case("city") && kind.whole_commissions() => true,
            Some(x) if x.eq_ignore_ascii_case("city") => {
                return Err(format!("\":city\" applies to whole-commission kinds only (transfer-commissions, stuffing-commissions), not {kind}"));
            }
            Some(x) => return Err(format!("\"{x}\": the fourth part can only be \"city\"; {SYNTAX}")),
        };
        Ok(FraudSpec { kind, fraction, intensity, scope, city })
    }
}

impl fmt::Display for FraudSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.kind, self.fraction, self.intensity)?;
        if self.city {
            f.write_str(":city")?;
        }
        match &self.scope {
            Scope::Nation => Ok(()),
            Scope::Region(n) => write!(f, "@region={n}"),
            Scope::Commission(n) => write!(f, "@commission={n}"),
        }
    }
}

/// Stations chosen for each kind.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `(station, kind, intensity)`, at most one entry per station.
    pub picks: Vec<(usize, FraudKind, f64)>,
    pub notes: Vec<String>,
}

/// Station range `[lo, hi)` of a scope.
fn resolve(sim: &Simulation, spec: &FraudSpec) -> Result<(usize, usize)> {
    let cpr = sim.commission_labels.len() / sim.region_labels.len();
    let n = sim.len();
    let matches = |label: &str, name: &str, prefix: &str| {
        label.eq_ignore_ascii_case(name)
            || label.strip_prefix(prefix).is_some_and(|rest| rest == name)
            || match (label.strip_prefix(prefix).map(str::parse::<u64>), name.parse::<u64>()) {
                (Some(Ok(a)), Ok(b)) => a == b,
                _ => false,
            }
    };
    match &spec.scope {
        Scope::Nation => Ok((0, n)),
        Scope::Region(name) => {
            let r = sim.region_labels.iter().position(|l| matches(l, name, "Region ")).ok_or_else(|| {
                Error::usage(format!(
                    "--fraud {spec}: no region \"{name}\"; regions are \"{}\" … \"{}\"",
                    sim.region_labels[0],
                    sim.region_labels[sim.region_labels.len() - 1]
                ))
            })?;
            Ok((sim.commission_start[r * cpr], sim.commission_start[(r + 1) * cpr]))
        }
        Scope::Commission(name) => {
            let c = sim.commission_labels.iter().position(|l| matches(l, name, "Commission ")).ok_or_else(|| {
                Error::usage(format!(
                    "--fraud {spec}: no commission \"{name}\"; commissions are \"{}\" … \"{}\"",
                    sim.commission_labels[0],
                    sim.commission_labels[sim.commission_labels.len() - 1]
                ))
            })?;
            Ok((sim.commission_start[c], sim.commission_start[c + 1]))
        }
    }
}

fn others(row: &[u32]) -> u64 {
    row[col::FIXED + 1..].iter().map(|&v| v as u64).sum()
}

/// Can `kind` change station `s`'s clean protocol?
fn eligible(sim: &Simulation, kind: FraudKind, s: usize) -> bool {
    let r = sim.row(s);
    let (n, b) = (r[col::REGISTERED], issued(r));
    match kind {
        FraudKind::Stuffing | FraudKind::StuffingCommissions => n > b,
        FraudKind::Transfer => others(r) > 0,
        FraudKind::TransferCommissions => r[col::FIXED + 1] > 0,
        FraudKind::Integer | FraudKind::Extreme => n > b || others(r) > 0,
        FraudKind::Invented => r[col::FIXED] >= 10,
        FraudKind::Copy => {
            let c = sim.station_commission[s] as usize;
            sim.commission_start[c + 1] - sim.commission_start[c] >= 2
        }
        FraudKind::Arithmetic => true,
    }
}

/// Picks the stations of every spec (serially, one seeded generator per spec).
pub fn select(sim: &Simulation, specs: &[FraudSpec]) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut taken = vec![false; sim.len()];
    for (i, spec) in specs.iter().enumerate() {
        spec.kind.check_intensity(spec.intensity).map_err(|m| Error::usage(format!("--fraud {spec}: {m}")))?;
        if !(spec.fraction > 0.0 && spec.fraction <= 1.0) {
            return Err(Error::usage(format!("--fraud {spec}: fraction must be in (0, 1]")));
        }
        let (lo, hi) = resolve(sim, spec)?;
        let want = (spec.fraction * (hi - lo) as f64).round() as usize;
        if spec.kind.whole_commissions() {
            select_commissions(sim, spec, i, (lo, hi), want, &mut taken, &mut plan);
            continue;
        }
        let mut pool: Vec<usize> = (lo..hi).filter(|&s| !taken[s] && eligible(sim, spec.kind, s)).collect();
        if pool.len() < want {
            plan.notes.push(format!(
                "--fraud {spec}: asked for {want} stations, only {} in scope were eligible and free",
                pool.len()
            ));
        }
        let got = want.min(pool.len());
        let mut rng = rng_for(sim.config.seed, Purpose::Select, i as u64);
        for t in 0..got {
            let j = rng.random_range(t..pool.len());
            pool.swap(t, j);
            taken[pool[t]] = true;
            plan.picks.push((pool[t], spec.kind, spec.intensity));
        }
    }
    plan.picks.sort_by_key(|p| p.0);
    Ok(plan)
}

/// Whole commissions for `spec`: commissions inside `[lo, hi)` in random order (with
/// `city`, those of the largest region in scope first, in random order), each adding its
/// free eligible stations, until `want` stations are reached.
fn select_commissions(sim: &Simulation, spec: &FraudSpec, i: usize, (lo, hi): (usize, usize), want: usize, taken: &mut [bool], plan: &mut Plan) {
    let nc = sim.commission_labels.len();
    let mut comms: Vec<usize> = (0..nc).filter(|&c| sim.commission_start[c] >= lo && sim.commission_start[c + 1] <= hi).collect();
    let mut rng = rng_for(sim.config.seed, Purpose::Select, i as u64);
    for t in 0..comms.len() {
        let j = rng.random_range(t..comms.len());
        comms.swap(t, j);
    }
    if spec.city {
        let mut size = vec![0usize; sim.region_labels.len()];
        for &c in &comms {
            size[sim.commission_region[c] as usize] += sim.commission_start[c + 1] - sim.commission_start[c];
        }
        // Largest region; ties to the first.
        let big = (0..size.len()).max_by(|&a, &b| size[a].cmp(&size[b]).then(b.cmp(&a))).unwrap_or(0);
        // Stable: the capital's commissions first, each group in its random order.
        comms.sort_by_key(|&c| sim.commission_region[c] as usize != big);
    }
    let mut got = 0;
    for c in comms {
        if got >= want {
            break;
        }
        for s in sim.commission_start[c]..sim.commission_start[c + 1] {
            if !taken[s] && eligible(sim, spec.kind, s) {
                taken[s] = true;
                plan.picks.push((s, spec.kind, spec.intensity));
                got += 1;
            }
        }
    }
    if got < want {
        plan.notes.push(format!("--fraud {spec}: asked for {want} stations, only {got} in scope were eligible and free"));
    }
}

/// Applies the plan: records the truth and edits the protocols.
pub fn apply(sim: &mut Simulation, plan: Plan) {
    let seed = sim.config.seed;
    let w = sim.width();
    sim.notes.extend(plan.notes);
    for &(s, kind, x) in &plan.picks {
        let r = sim.row(s);
        sim.truth[s] = Truth {
            fraud: Some(kind),
            intensity: x,
            before: Some((turnout(r), leader_share(r))),
            detail: String::new(),
        };
    }
    // Copy sources: a clean station of the same commission whose ballots fit the target's list.
    let mut copies: Vec<(usize, usize)> = Vec::new();
    let mut no_source = 0;
    for &(s, kind, _) in &plan.picks {
        if kind != FraudKind::Copy {
            continue;
        }
        let c = sim.station_commission[s] as usize;
        let target = sim.row(s);
        let pool: Vec<usize> = (sim.commission_start[c]..sim.commission_start[c + 1])
            .filter(|&q| {
                let src = sim.row(q);
                sim.truth[q].fraud.is_none() && src[col::FIXED..] != target[col::FIXED..]
            })
            .collect();
        if pool.is_empty() {
            sim.truth[s] = Truth::default();
            no_source += 1;
            continue;
        }
        let mut rng = rng_for(seed, Purpose::Fraud, s as u64);
        let q = pool[rng.random_range(0..pool.len())];
        copies.push((s, q));
    }
    if no_source > 0 {
        sim.notes.push(format!(
            "copy: {no_source} selected stations had no clean station in their commission to copy from and stay clean"
        ));
    }

    let k = sim.candidates.len();
    sim.rows.par_chunks_mut(w).zip(sim.truth.par_iter_mut()).enumerate().for_each(|(s, (row, truth))| {
        let Some(kind) = truth.fraud else { return };
        let mut rng = rng_for(seed, Purpose::Fraud, s as u64);
        let x = truth.intensity;
        match kind {
            FraudKind::Stuffing => {
                let (n, b) = (row[col::REGISTERED], issued(row));
                let add = ((x * (n - b) as f64).round() as u32).max(1);
                stuff(row, add);
            }
            FraudKind::Transfer => {
                transfer_fraction(row, k, x);
            }
            FraudKind::StuffingCommissions => {
                let (n, b) = (row[col::REGISTERED], issued(row));
                let add = ((x * (n - b) as f64).round() as u32).max(1);
                stuff(row, add);
                truth.detail = "whole_commission".into();
            }
            FraudKind::TransferCommissions => {
                // From the runner-up (candidate B) only: the leader up, one rival down.
                let v = row[col::FIXED + 1];
                let m = ((x * v as f64).round() as u32).clamp(1, v);
                row[col::FIXED + 1] -= m;
                row[col::FIXED] += m;
                truth.detail = format!("whole_commission;moved={m}");
            }
            FraudKind::Integer => truth.detail = integer(row, k, x as u32, &mut rng),
            FraudKind::Extreme => {
                let z: f64 = StandardNormal.sample(&mut rng);
                let xi = ((x + 0.02 * z).clamp(0.5, 1.0) * 10_000.0).round() / 10_000.0;
                truth.intensity = xi;
                let (n, b) = (row[col::REGISTERED], issued(row));
                let add = (xi * (n - b) as f64).round() as u32;
                stuff(row, add);
                let moved = transfer_fraction_raw(row, k, xi);
                if add == 0 && moved == 0 {
                    if n > b {
                        stuff(row, 1);
                    } else {
                        move_to_leader(row, k, 1);
                    }
                }
            }
            FraudKind::Invented => invented(row, k, x, &mut rng),
            FraudKind::Copy => {}
            FraudKind::Arithmetic => {
                if rng.random::<bool>() {
                    // more ballots in boxes than issued
                    let b = issued(row);
                    let gap0 = b - in_boxes(row);
                    let add = ((x * b as f64).round() as u32).max(gap0 + 1);
                    row[col::STATIONARY] += add;
                    row[col::VALID] += add;
                    row[col::FIXED] += add;
                    truth.detail = format!("rule=in_boxes>issued;excess={}", add - gap0);
                } else {
                    let add = ((x * row[col::VALID] as f64).round() as u32).max(1);
                    row[col::FIXED] += add;
                    truth.detail = format!("rule=votes!=valid;excess={add}");
                }
            }
        }
    });

    for (s, q) in copies {
        let (n, rec) = (sim.rows[s * w + col::REGISTERED], sim.rows[s * w + col::RECEIVED]);
        sim.rows.copy_within(q * w..(q + 1) * w, s * w);
        let row = &mut sim.rows[s * w..(s + 1) * w];
        let whole = issued(row) > n;
        if !whole {
            row[col::REGISTERED] = n;
            row[col::RECEIVED] = rec;
            row[col::CANCELLED] = rec - issued(row);
        }
        // When the source issued more ballots than the target has voters, the whole
        // protocol (registered voters included) is duplicated.
        sim.truth[s].detail =
            format!("copied_from={}{}", Simulation::station_id(q), if whole { ";whole_protocol" } else { "" });
    }
}

/// Adds `add` ballots, all valid votes for the leader, issued on the day.
fn stuff(row: &mut [u32], add: u32) {
    row[col::ISSUED_ON_DAY] += add;
    row[col::STATIONARY] += add;
    row[col::VALID] += add;
    row[col::FIXED] += add;
    row[col::CANCELLED] = row[col::RECEIVED].saturating_sub(issued(row));
}

/// Moves `round(x·v_j)` from each other candidate to the leader; returns the total moved.
fn transfer_fraction_raw(row: &mut [u32], k: usize, x: f64) -> u32 {
    let mut moved = 0;
    for j in 1..k {
        let m = (x * row[col::FIXED + j] as f64).round() as u32;
        row[col::FIXED + j] -= m;
        moved += m;
    }
    row[col::FIXED] += moved;
    moved
}

/// As [`transfer_fraction_raw`], moving at least one vote.
fn transfer_fraction(row: &mut [u32], k: usize, x: f64) {
    if transfer_fraction_raw(row, k, x) == 0 {
        move_to_leader(row, k, 1);
    }
}

/// Moves `d` votes (≤ the others' total) from the others to the leader, roughly in
/// proportion to their votes.
fn move_to_leader(row: &mut [u32], k: usize, d: u32) {
    let total = others(row);
    if total == 0 || d == 0 {
        return;
    }
    let d = (d as u64).min(total) as u32;
    let mut left = d;
    for j in 1..k {
        let v = row[col::FIXED + j];
        let t = ((d as u64 * v as u64).div_ceil(total) as u32).min(v).min(left);
        row[col::FIXED + j] -= t;
        left -= t;
    }
    for j in 1..k {
        let t = row[col::FIXED + j].min(left);
        row[col::FIXED + j] -= t;
        left -= t;
    }
    row[col::FIXED] += d - left;
}

/// Smallest multiple `p` of `step` percent with `x' = round(p·n/100)` in `(x, max_x]` and
/// `|100·x'/n − p| ≤ 0.05`; returns `(x', p)`.
pub(crate) fn integer_target(x: u32, n: u32, step: u32, max_x: u32) -> Option<(u32, u32)> {
    if n == 0 || step == 0 {
        return None;
    }
    let n64 = n as u64;
    for m in 0..=100 / step {
        let p = (m * step) as u64;
        let xp = (p * n64 + 50) / 100;
        if xp <= x as u64 {
            continue;
        }
        if xp > max_x as u64 {
            break;
        }
        // |100·x'/n − p| ≤ 0.05  ⇔  |2000·x' − 20·p·n| ≤ n
        if (2000 * xp).abs_diff(20 * p * n64) <= n64 {
            return Some((xp as u32, p as u32));
        }
    }
    None
}

/// Kobak-style rounding of turnout and/or leader share; returns the truth detail.
fn integer(row: &mut [u32], k: usize, step: u32, rng: &mut ChaCha8Rng) -> String {
    let u: f64 = rng.random();
    let (want_t, want_s) = if u < 0.25 {
        (true, false)
    } else if u < 0.5 {
        (false, true)
    } else {
        (true, true)
    };
    let share_target = |row: &[u32]| {
        let c = in_boxes(row);
        let lead = row[col::FIXED];
        integer_target(lead, c, step, (lead as u64 + others(row)).min(c as u64) as u32)
    };
    let turnout_target = |row: &[u32]| integer_target(issued(row), row[col::REGISTERED], step, row[col::REGISTERED]);
    // Fall back to the other ratio when the one asked for cannot move.
    let (do_t, do_s) = match (want_t, want_s) {
        (true, false) if turnout_target(row).is_none() => (false, true),
        (false, true) if share_target(row).is_none() => (true, false),
        other => other,
    };
    let mut parts = Vec::new();
    if do_t && let Some((b, p)) = turnout_target(row) {
        stuff(row, b - issued(row));
        parts.push(format!("turnout={p}%"));
    }
    if do_s && let Some((v, p)) = share_target(row) {
        let d = v - row[col::FIXED];
        move_to_leader(row, k, d);
        parts.push(format!("share={p}%"));
    }
    if parts.is_empty() {
        // Neither target reachable at this step (tiny station): the nearest whole percent.
        if let Some((b, p)) = integer_target(issued(row), row[col::REGISTERED], 1, row[col::REGISTERED]) {
            stuff(row, b - issued(row));
            parts.push(format!("turnout={p}%"));
        } else {
            move_to_leader(row, k, 1);
            parts.push("share=+1vote".to_string());
        }
    }
    parts.join(";")
}

/// Human last digits: 0 and 5 favoured (Beber & Scacco's experiments).
const HUMAN_DIGITS: [f64; 10] = [0.28, 0.05, 0.07, 0.06, 0.04, 0.22, 0.05, 0.08, 0.06, 0.09];

fn human_digit(rng: &mut ChaCha8Rng) -> u32 {
    let mut u: f64 = rng.random();
    for (d, p) in HUMAN_DIGITS.iter().enumerate() {
        if u < *p {
            return d as u32;
        }
        u -= p;
    }
    0
}

fn humanize(v: u32, p: f64, rng: &mut ChaCha8Rng) -> u32 {
    if v >= 10 && rng.random::<f64>() < p { v - v % 10 + human_digit(rng) } else { v }
}

/// A protocol written by a person; every relation still holds.
fn invented(row: &mut [u32], k: usize, p: f64, rng: &mut ChaCha8Rng) {
    let n = row[col::REGISTERED];
    let orig: Vec<u32> = row[col::FIXED..].to_vec();
    for j in 0..k {
        row[col::FIXED + j] = humanize(row[col::FIXED + j], p, rng);
    }
    if row[col::FIXED..] == orig[..] {
        let l = row[col::FIXED];
        let c = in_boxes(row);
        row[col::FIXED] = if !l.is_multiple_of(10) {
            l - l % 10
        } else if c + 5 <= n {
            l + 5
        } else {
            l - 5
        };
    }
    let mut invalid = humanize(row[col::INVALID], p, rng);
    let mut votes: u64 = row[col::FIXED..].iter().map(|&v| v as u64).sum();
    // Keep C ≤ N: take any excess from the leader, then invalid, then the others.
    let mut excess = (votes + invalid as u64).saturating_sub(n as u64) as u32;
    let t = excess.min(row[col::FIXED]);
    row[col::FIXED] -= t;
    excess -= t;
    let t = excess.min(invalid);
    invalid -= t;
    excess -= t;
    for j in 1..k {
        let t = excess.min(row[col::FIXED + j]);
        row[col::FIXED + j] -= t;
        excess -= t;
    }
    votes = row[col::FIXED..].iter().map(|&v| v as u64).sum();
    let valid = votes as u32;
    let c = valid + invalid;
    let outside = humanize(row[col::ISSUED_OUTSIDE], p, rng).min(c);
    let early = row[col::ISSUED_EARLY].min(c - outside);
    row[col::ISSUED_OUTSIDE] = outside;
    row[col::ISSUED_EARLY] = early;
    row[col::ISSUED_ON_DAY] = c - outside - early;
    row[col::PORTABLE] = outside;
    row[col::STATIONARY] = c - outside;
    row[col::INVALID] = invalid;
    row[col::VALID] = valid;
    row[col::CANCELLED] = row[col::RECEIVED] - c;
}
