//! Protocol arithmetic: the control relations of DESIGN.md §2, checked per station.
//!
//! | rule | relation | needs |
//! | --- | --- | --- |
//! | `issued_le_registered` | B ≤ N | registered, issued |
//! | `boxes_le_issued` | C ≤ B (more ballots in boxes than issued: a stuffing trace) | issued, in_boxes |
//! | `valid_plus_invalid` | V + I = C | valid, invalid, in_boxes |
//! | `votes_sum_valid` | Σ v_j = V | valid |
//! | `ballot_balance` | received = issued + cancelled + lost − unaccounted (lost, unaccounted: 0 when absent) | received, issued, cancelled |
//! | `duplicate_id` | a station id appears twice within its lowest hierarchy unit (its whole path: region / … / municipality; nationally without levels) | — |
//! | `identical_protocol` | the same vote vector as another station of the same commission (lowest level), with ≥ 30 votes in all | — |
//!
//! Identical vectors are compared within a commission because copying is done there,
//! and because across a whole nation small, lopsided vectors coincide by chance (Russia
//! 2018: 310 nationwide coincidences at ≥ 30 votes, almost all between distant regions
//! with 2–3 non-zero candidates; within commissions: see the `check_ru` test).
//!
//! A rule whose roles the file lacks is not run, and the report says so. Counts are
//! non-negative integers by construction (ingest rejects anything else).

use crate::model::{Election, Role};
use serde::Serialize;
// FxHash: these maps hold one key per station (10⁷ at national scale with history);
// SipHash's DoS resistance buys nothing for keys read from a file we analyse.
use rustc_hash::FxHashMap as HashMap;
use std::fmt;

/// An arithmetic violation off by at most this many ballots, or by at most
/// [`SLIP_SHARE`] of the larger side, is a counting slip in the summary's headline and in
/// the ranking (still listed, with its gap, in violations.csv).
pub const SLIP_BALLOTS: i64 = 2;
/// See [`SLIP_BALLOTS`]: half a percent (5 ballots in 1,000) — the size of a recount's
/// usual correction, far below what stuffing or a rewritten protocol leaves.
pub const SLIP_SHARE: f64 = 0.005;

/// True when `v` is an arithmetic violation small enough to be a counting slip.
pub fn is_slip(v: &Violation) -> bool {
    if matches!(v.rule, Rule::DuplicateId | Rule::IdenticalProtocol) {
        return false;
    }
    let g = v.gap.abs();
    g <= SLIP_BALLOTS || (g as f64) <= SLIP_SHARE * v.left.abs().max(v.right.abs()) as f64
}

/// Identical vote vectors with fewer votes than this are not reported as violations.
pub const IDENTICAL_MIN_VOTES: u64 = 30;
/// Vote vectors with fewer votes than this are not compared at all; the groups of at
/// least this many votes ([`Report::identical`]) feed the ranking, which weighs each
/// match by its chance probability (two tiny stations agree easily and score little).
pub const IDENTICAL_COMPARE_MIN_VOTES: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    IssuedLeRegistered,
    BoxesLeIssued,
    ValidPlusInvalid,
    VotesSumValid,
    BallotBalance,
    DuplicateId,
    IdenticalProtocol,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::IssuedLeRegistered,
        Rule::BoxesLeIssued,
        Rule::ValidPlusInvalid,
        Rule::VotesSumValid,
        Rule::BallotBalance,
        Rule::DuplicateId,
        Rule::IdenticalProtocol,
    ];
    pub fn key(self) -> &'static str {
        match self {
            Rule::IssuedLeRegistered => "issued_le_registered",
            Rule::BoxesLeIssued => "boxes_le_issued",
            Rule::ValidPlusInvalid => "valid_plus_invalid",
            Rule::VotesSumValid => "votes_sum_valid",
            Rule::BallotBalance => "ballot_balance",
            Rule::DuplicateId => "duplicate_id",
            Rule::IdenticalProtocol => "identical_protocol",
        }
    }
    /// The relation that must hold, in the symbols of DESIGN.md §1.
    pub fn relation(self) -> &'static str {
        match self {
            Rule::IssuedLeRegistered => "B <= N (issued <= registered)",
            Rule::BoxesLeIssued => "C <= B (in boxes <= issued)",
            Rule::ValidPlusInvalid => "V + I = C (valid + invalid = in boxes)",
            Rule::VotesSumValid => "sum of votes = V (valid)",
            Rule::BallotBalance => "received = issued + cancelled + lost - unaccounted",
            Rule::DuplicateId => "station id unique within its hierarchy path",
            Rule::IdenticalProtocol => "no other station of the commission has the same vote vector",
        }
    }
    fn needs(self) -> &'static [Role] {
        match self {
            Rule::IssuedLeRegistered => &[Role::Registered, Role::Issued],
            Rule::BoxesLeIssued => &[Role::Issued, Role::InBoxes],
            Rule::ValidPlusInvalid => &[Role::Valid, Role::Invalid, Role::InBoxes],
            Rule::VotesSumValid => &[Role::Valid],
            Rule::BallotBalance => &[Role::Received, Role::Issued, Role::Cancelled],
            Rule::DuplicateId | Rule::IdenticalProtocol => &[],
        }
    }
}

/// One broken relation at one station: `left` should relate to `right` as the rule says;
/// `gap = left − right`. For `duplicate_id` and `identical_protocol`, `other` is the
/// first station with the same id / vector, and left/right are 0.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub station: usize,
    pub rule: Rule,
    pub left: i64,
    pub right: i64,
    pub gap: i64,
    pub other: Option<usize>,
}

/// Everything `check` found.
#[derive(Debug, Clone)]
pub struct Report {
    pub stations: usize,
    pub violations: Vec<Violation>,
    /// Rules not run, with the roles the file lacks.
    pub not_run: Vec<(Rule, Vec<Role>)>,
    /// Groups of identical vote vectors within a commission, of at least
    /// [`IDENTICAL_COMPARE_MIN_VOTES`] votes (those of [`IDENTICAL_MIN_VOTES`] or more are
    /// also violations); searched once here for the check and the ranking.
    pub identical: Vec<IdenticalGroup>,
}

/// Per-rule counts: what `check` prints on stderr and `demo` in its summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub stations: usize,
    pub stations_with_violations: usize,
    /// Of those, stations whose every violation is an arithmetic one off by at most
    /// [`SLIP_BALLOTS`] ballots: counting slips, listed like every violation but told
    /// apart in the headline (real protocols have them: 642 of 903 stations breaking a
    /// rule in Poland's 2020 first round, by the PKW's own published figures).
    pub stations_with_slips_only: usize,
    /// (rule key, relation, violations, stations checked or "not run: lacks …").
    pub rules: Vec<RuleCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleCount {
    pub rule: Rule,
    pub relation: &'static str,
    pub run: bool,
    pub violations: usize,
    pub note: String,
}

impl Report {
    pub fn count(&self, rule: Rule) -> usize {
        self.violations.iter().filter(|v| v.rule == rule).count()
    }
    pub fn summary(&self) -> Summary {
        let mut with = vec![false; self.stations];
        let mut beyond_slip = vec![false; self.stations];
        for v in &self.violations {
            with[v.station] = true;
            if !is_slip(v) {
                beyond_slip[v.station] = true;
            }
        }
        let slips_only = with.iter().zip(&beyond_slip).filter(|(w, b)| **w && !**b).count();
        let rules = Rule::ALL
            .iter()
            .map(|&r| {
                let missing = self.not_run.iter().find(|x| x.0 == r);
                RuleCount {
                    rule: r,
                    relation: r.relation(),
                    run: missing.is_none(),
                    violations: self.count(r),
                    note: match missing {
                        Some((_, roles)) => format!(
                            "not run: the file has no {}",
                            roles.iter().map(|r| r.key()).collect::<Vec<_>>().join(", ")
                        ),
                        None => String::new(),
                    },
                }
            })
            .collect();
        Summary {
            stations: self.stations,
            stations_with_violations: with.iter().filter(|&&b| b).count(),
            stations_with_slips_only: slips_only,
            rules,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<22} {:>10}  relation", "rule", "violations")?;
        for r in &self.rules {
            if r.run {
                writeln!(f, "{:<22} {:>10}  {}", r.rule.key(), r.violations, r.relation)?;
            } else {
                writeln!(f, "{:<22} {:>10}  {} ({})", r.rule.key(), "-", r.relation, r.note)?;
            }
        }
        write!(
            f,
            "{} of {} stations break at least one rule",
            self.stations_with_violations, self.stations
        )?;
        if self.stations_with_slips_only > 0 {
            write!(
                f,
                " ({} of them only by counting slips of at most {SLIP_BALLOTS} ballots or 0.5%; {} beyond that)",
                self.stations_with_slips_only,
                self.stations_with_violations - self.stations_with_slips_only
            )?;
        }
        Ok(())
    }
}

/// Runs every control relation the file's roles allow.
pub fn run(e: &Election) -> Report {
    let n = e.len();
    let mut violations = Vec::new();
    let mut not_run = Vec::new();
    for rule in Rule::ALL {
        let missing: Vec<Role> = rule.needs().iter().copied().filter(|r| !e.has(*r)).collect();
        if !missing.is_empty() {
            not_run.push((rule, missing));
        }
    }
    let runs = |r: Rule| !not_run.iter().any(|x| x.0 == r);
    let col = |r: Role| e.get(r);
    let zero = vec![0u32; n];
    let (reg, iss, boxes, val, inv) =
        (col(Role::Registered), col(Role::Issued), col(Role::InBoxes), col(Role::Valid), col(Role::Invalid));
    let (rec, canc) = (col(Role::Received), col(Role::Cancelled));
    let lost = col(Role::Lost).unwrap_or(&zero);
    let unacc = col(Role::Unaccounted).unwrap_or(&zero);
    let sums = e.vote_sums();
    let postal = e.issued_postal.as_deref();
    // A station whose protocol misses a line (published in part) is not checked on the
    // rules that need that line; the others still run.
    let (reg, iss, boxes, val, inv, rec, canc) = (reg, iss, boxes, val, inv, rec, canc);
    let has = |i: usize, r: Role| !e.is_missing(i, r);

    for i in 0..n {
        let mut push = |rule, left: i64, right: i64| {
            violations.push(Violation { station: i, rule, left, right, gap: left - right, other: None })
        };
        let (reg, iss, boxes, val, inv, rec, canc) = (
            reg.filter(|_| has(i, Role::Registered)),
            iss.filter(|_| has(i, Role::Issued)),
            boxes.filter(|_| has(i, Role::InBoxes)),
            val.filter(|_| has(i, Role::Valid)),
            inv.filter(|_| has(i, Role::Invalid)),
            rec.filter(|_| has(i, Role::Received)),
            canc.filter(|_| has(i, Role::Cancelled)),
        );
        if let (Some(n_), Some(b)) = (reg, iss) {
            if b[i] > n_[i] {
                push(Rule::IssuedLeRegistered, b[i] as i64, n_[i] as i64);
            }
        }
        if let (Some(b), Some(c)) = (iss, boxes) {
            if c[i] > b[i] {
                push(Rule::BoxesLeIssued, c[i] as i64, b[i] as i64);
            }
        }
        if let (Some(v), Some(inv), Some(c)) = (val, inv, boxes) {
            let l = v[i] as i64 + inv[i] as i64;
            if l != c[i] as i64 {
                push(Rule::ValidPlusInvalid, l, c[i] as i64);
            }
        }
        if let Some(v) = val {
            if sums[i] != v[i] as u64 {
                push(Rule::VotesSumValid, sums[i] as i64, v[i] as i64);
            }
        }
        if let (Some(rc), Some(b), Some(cn)) = (rec, iss, canc) {
            // Postal ballots are issued from outside the station's own stock.
            let from_stock = b[i] as i64 - postal.map_or(0, |p| p[i] as i64);
            let r = from_stock + cn[i] as i64 + lost[i] as i64 - unacc[i] as i64;
            if rc[i] as i64 != r {
                push(Rule::BallotBalance, rc[i] as i64, r);
            }
        }
    }
    if runs(Rule::DuplicateId) {
        // A station is its whole path: the lowest level's units are path-unique (a
        // unit is its parent plus its label), so its code and the station column
        // identify the station. Station numbers that restart in every municipality
        // are not duplicates; no claim is made above the lowest level the file names.
        let unit = e.levels.last().map(|l| &l.code);
        let mut first: HashMap<(u32, &str), usize> = HashMap::with_capacity_and_hasher(n, Default::default());
        for i in 0..n {
            let key = (unit.map_or(0, |c| c[i]), e.station[i].as_str());
            if let Some(&j) = first.get(&key) {
                violations.push(Violation { station: i, rule: Rule::DuplicateId, left: 0, right: 0, gap: 0, other: Some(j) });
            } else {
                first.insert(key, i);
            }
        }
    }
    let identical = if e.votes.is_empty() { Vec::new() } else { identical_vote_groups(e, &sums, IDENTICAL_COMPARE_MIN_VOTES) };
    if runs(Rule::IdenticalProtocol) {
        // A group's members share one total, so the check's groups are those of enough votes.
        for g in identical.iter().filter(|g| g.total >= IDENTICAL_MIN_VOTES) {
            let first = g.members[0] as usize;
            for &i in &g.members[1..] {
                violations.push(Violation {
                    station: i as usize,
                    rule: Rule::IdenticalProtocol,
                    left: 0,
                    right: 0,
                    gap: 0,
                    other: Some(first),
                });
            }
        }
    }
    violations.sort_by_key(|v| (v.station, v.rule));
    Report { stations: n, violations, not_run, identical }
}

/// Stations of one commission (the lowest level above stations; the whole file without
/// hierarchy) with the same vote vector.
#[derive(Debug, Clone, PartialEq)]
pub struct IdenticalGroup {
    /// Station indices, in file order (at least two).
    pub members: Vec<u32>,
    /// The vote vector's total.
    pub total: u64,
    /// Stations of the commission with this total and at least the minimum of votes,
    /// the members included: how many a chance match could have come from.
    pub same_total: usize,
}

/// Groups of identical vote vectors within a commission, among stations with at least
/// `min_votes` votes (`sums`: [`Election::vote_sums`]); in order of their first member.
///
/// Sorts one 24-byte key per station — (commission, total, hash of the vector, index) —
/// so that equal vectors of a commission are neighbours, then compares neighbours'
/// vectors in full (a hash collision splits into separate groups). At 10⁷ stations a
/// hash map keyed by the vectors themselves cost gigabytes of allocations.
pub fn identical_vote_groups(e: &Election, sums: &[u64], min_votes: u64) -> Vec<IdenticalGroup> {
    use rayon::prelude::*;
    use std::hash::{Hash, Hasher};
    let n = e.len();
    let unit = e.levels.last().map(|l| &l.code);
    let mut keys: Vec<(u32, u64, u64, u32)> = (0..n)
        .into_par_iter()
        .filter(|&i| sums[i] >= min_votes)
        .map(|i| {
            let mut h = rustc_hash::FxHasher::default();
            for col in &e.votes {
                col[i].hash(&mut h);
            }
            let index = u32::try_from(i).expect("station indices fit in u32 (the hierarchy codes are u32 too)");
            (unit.map_or(0, |c| c[i]), sums[i], h.finish(), index)
        })
        .collect();
    keys.par_sort_unstable();
    let same_vector = |a: u32, b: u32| e.votes.iter().all(|col| col[a as usize] == col[b as usize]);
    let mut groups = Vec::new();
    for total_run in keys.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        if total_run.len() < 2 {
            continue;
        }
        for hash_run in total_run.chunk_by(|x, y| x.2 == y.2) {
            let mut rest: Vec<u32> = hash_run.iter().map(|x| x.3).collect();
            while rest.len() >= 2 {
                let head = rest[0];
                let (members, other): (Vec<u32>, Vec<u32>) = rest.iter().partition(|&&i| same_vector(head, i));
                rest = other;
                if members.len() >= 2 {
                    groups.push(IdenticalGroup { members, total: total_run[0].1, same_total: total_run.len() });
                }
            }
        }
    }
    groups.sort_by_key(|g| g.members[0]);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seven hand-made stations in two commissions; the groups worked out by hand.
    #[test]
    fn identical_groups_by_hand() {
        let mut e = Election::default();
        e.station = (1..=7).map(|i| i.to_string()).collect();
        e.line = (2..=8).collect();
        e.special = vec![None; 7];
        e.candidates = vec!["A".into(), "B".into()];
        //            st: 0   1   2   3   4   5   6
        e.votes = vec![vec![20, 20, 10, 20, 20, 2, 2], vec![10, 10, 20, 10, 10, 1, 1]];
        // commission:    0   0   0   1   0   0   0
        e.levels = vec![crate::model::Level {
            name: "commission".into(),
            column: "commission".into(),
            labels: vec!["C1".into(), "C2".into()],
            parent: vec![],
            code: vec![0, 0, 0, 1, 0, 0, 0],
        }];
        // (20,10) at 0, 1, 4 of commission 0 (station 3 is in commission 1); the other
        // total-30 station of commission 0 is 2 (10,20): 4 stations with total 30.
        // (2,1) at 5 and 6 has 3 votes: a group only with a minimum of 3 or less.
        let g = identical_vote_groups(&e, &e.vote_sums(), 5);
        assert_eq!(g, vec![IdenticalGroup { members: vec![0, 1, 4], total: 30, same_total: 4 }]);
        let g = identical_vote_groups(&e, &e.vote_sums(), 3);
        assert_eq!(g.len(), 2);
        assert_eq!(g[1], IdenticalGroup { members: vec![5, 6], total: 3, same_total: 2 });
        // The check keeps the groups of 5 votes or more for the ranking, and reports
        // (30 votes or more) each later member against the first.
        let r = run(&e);
        assert_eq!(r.identical, vec![IdenticalGroup { members: vec![0, 1, 4], total: 30, same_total: 4 }]);
        let got: Vec<(usize, Option<usize>)> =
            r.violations.iter().filter(|v| v.rule == Rule::IdenticalProtocol).map(|v| (v.station, v.other)).collect();
        assert_eq!(got, vec![(1, Some(0)), (4, Some(0))]);
    }

    /// Four hand-made stations; expected violations worked out by hand in the comments.
    #[test]
    fn hand_checked() {
        let mut e = Election::default();
        e.station = vec!["1".into(), "2".into(), "3".into(), "1".into()];
        e.line = vec![2, 3, 4, 5];
        // station:            1    2    3    4("1" again)
        let reg = vec![100, 100, 100, 200];
        let iss = vec![80, 101, 50, 150]; // st2: B 101 > N 100
        let boxes = vec![80, 90, 60, 150]; // st3: C 60 > B 50
        let val = vec![78, 88, 58, 140];
        let inv = vec![2, 2, 2, 5]; // st4: 140 + 5 = 145 ≠ 150
        e.counts[Role::Registered.index()] = Some(reg);
        e.counts[Role::Issued.index()] = Some(iss);
        e.counts[Role::InBoxes.index()] = Some(boxes);
        e.counts[Role::Valid.index()] = Some(val);
        e.counts[Role::Invalid.index()] = Some(inv);
        e.candidates = vec!["A".into(), "B".into()];
        // sums: 78 ✓, 88 ✓, 57 ≠ 58 at st3, 140 ✓ — and st1 and st4 identical? no: (50,28) vs (100,40)
        e.votes = vec![vec![50, 60, 30, 100], vec![28, 28, 27, 40]];
        e.special = vec![None; 4];
        let r = run(&e);
        let got: Vec<(usize, Rule, i64)> = r.violations.iter().map(|v| (v.station, v.rule, v.gap)).collect();
        assert_eq!(
            got,
            vec![
                (1, Rule::IssuedLeRegistered, 1),
                (2, Rule::BoxesLeIssued, 10),
                (2, Rule::VotesSumValid, -1),
                (3, Rule::ValidPlusInvalid, -5),
                (3, Rule::DuplicateId, 0),
            ]
        );
        assert_eq!(r.violations[4].other, Some(0));
        // Ballot balance lacks received and cancelled.
        assert_eq!(r.not_run.len(), 1);
        assert_eq!(r.not_run[0].0, Rule::BallotBalance);
        let s = r.summary();
        assert_eq!(s.stations_with_violations, 3);
    }

    #[test]
    fn identical_needs_enough_votes() {
        let mut e = Election::default();
        e.station = (0..4).map(|i| i.to_string()).collect();
        e.candidates = vec!["A".into(), "B".into()];
        // st0 = st1 with 40 votes (flagged); st2 = st3 with 10 votes (too small to tell).
        e.votes = vec![vec![30, 30, 6, 6], vec![10, 10, 4, 4]];
        e.special = vec![None; 4];
        let r = run(&e);
        assert_eq!(r.count(Rule::IdenticalProtocol), 1);
        assert_eq!(r.violations[0].station, 1);
        assert_eq!(r.violations[0].other, Some(0));
    }
}
