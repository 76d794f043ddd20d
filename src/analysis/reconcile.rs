//! The `reconciliation` block of `summary.json`: where every row of the file went and,
//! for each test family, which stations its inclusion rule kept and why it left the
//! others out, so a reader can check that nothing was silently dropped.
//!
//! Two identities hold and are stated (`balanced`):
//! - rows: `read = used + unpublished + filtered + skipped`, and the skips by reason add
//!   up to `skipped`; in the wide layout `used = stations analysed` (long: several rows
//!   per station);
//! - per test family: `included + Σ excluded = stations analysed`.
//!
//! The counts come from each method's own report where it keeps one (integer,
//! fingerprint), from its own selection function (shape and Shpilkin's anomalous votes:
//! `shape::select_counts`), and for the digit tests from the special-station rule they
//! apply (abroad and electronic stations left out).

use super::Analysis;
use crate::model::Special;
use crate::stats::shape;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rows {
    pub read: u64,
    pub used: u64,
    pub unpublished: u64,
    pub filtered: u64,
    pub skipped: u64,
    /// Skipped rows by the kind of their reason.
    pub skipped_by_reason: BTreeMap<String, u64>,
    pub stations_analysed: usize,
    pub layout: String,
    pub balanced: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Family {
    /// Test-name prefixes this inclusion rule applies to.
    pub tests: Vec<&'static str>,
    /// The inclusion rule in words.
    pub rule: String,
    /// Whether the family ran; when it did not, every station is excluded with the reason.
    pub run: bool,
    pub stations: usize,
    pub included: usize,
    /// Stations left out, by reason (each station once, at the first rule it fails).
    pub excluded: BTreeMap<String, usize>,
    pub balanced: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reconciliation {
    pub rows: Rows,
    pub tests: Vec<Family>,
    /// Every identity above holds.
    pub balanced: bool,
}

fn family(tests: Vec<&'static str>, rule: &str, stations: usize, included: usize, excluded: Vec<(&str, usize)>) -> Family {
    let excluded: BTreeMap<String, usize> = excluded.into_iter().filter(|x| x.1 > 0).map(|(k, v)| (k.to_string(), v)).collect();
    let balanced = included + excluded.values().sum::<usize>() == stations;
    Family { tests, rule: rule.to_string(), run: true, stations, included, excluded, balanced }
}

fn not_run(tests: Vec<&'static str>, rule: &str, stations: usize, why: String) -> Family {
    let mut f = family(tests, rule, stations, 0, vec![(&format!("not run: {why}"), stations)]);
    f.run = false;
    f
}

/// The reconciliation of one analysis.
pub fn reconcile(a: &Analysis) -> Reconciliation {
    let e = a.election();
    let n = e.len();
    let r = &a.read;
    let rows = Rows {
        read: r.rows_in_file,
        used: r.rows_used,
        unpublished: r.rows_unpublished,
        filtered: r.rows_filtered,
        skipped: r.rows_skipped,
        skipped_by_reason: r.skip_reasons.clone(),
        stations_analysed: n,
        layout: r.layout.clone(),
        // An election built in memory (simulation) has no read report: nothing to balance.
        balanced: r.balanced() && (r.rows_in_file == 0 || r.layout.contains("long") || r.rows_used == n as u64),
    };
    let skipped_why = |name: &str| {
        a.skipped.iter().find(|s| s.0 == name).map(|s| s.1.clone()).unwrap_or_else(|| "not requested".to_string())
    };
    let special = |k: Special| (0..n).filter(|&i| e.special.get(i).copied().flatten() == Some(k)).count();
    let (abroad, electronic) = (special(Special::Abroad), special(Special::Electronic));
    let mut tests = Vec::new();

    tests.push(family(vec!["check."], "every station (a rule whose columns the file lacks is not run)", n, n, vec![]));

    let rule = "not abroad, not electronic; C > 0; N >= minimum registered; turnout and leader share not above their maxima";
    tests.push(match &a.integer {
        Some(ir) => {
            let x = &ir.excluded;
            family(vec!["integer."], rule, ir.stations, ir.included, vec![
                ("abroad", x.abroad),
                ("electronic", x.electronic),
                ("special stations (institutions, ships, mobile, partly published)", x.special),
                ("no ballots in the boxes (C = 0)", x.no_ballots),
                ("too few registered voters", x.small),
                ("turnout above the maximum (includes B > N)", x.high_turnout),
                ("leader share above the maximum (includes v > C)", x.high_share),
            ])
        }
        None => not_run(vec!["integer."], rule, n, skipped_why("integer")),
    });

    let rule = "not abroad, not electronic; C > 0; N >= 100; V > 0 (turnout above 1 is kept, clamped)";
    tests.push(match &a.fingerprint {
        Some(f) => {
            let x = &f.excluded;
            family(vec!["fingerprint."], rule, n, f.n, vec![
                ("abroad", x.abroad),
                ("electronic", x.electronic),
                ("special stations (institutions, ships, mobile, partly published)", x.special),
                ("no ballots in the boxes (C = 0)", x.no_ballots),
                ("fewer than 100 registered", x.small),
                ("no valid votes (V = 0)", x.no_valid),
            ])
        }
        None => not_run(vec!["fingerprint."], rule, n, skipped_why("fingerprint")),
    });

    let rule = "not abroad or electronic; ballots in the boxes and valid votes > 0; N >= 100";
    let shape_tests = vec!["shape.", "shpilkin."];
    let leader = a.leader.as_ref().and_then(|l| e.candidates.iter().position(|c| c == l));
    tests.push(match leader.and_then(|l| shape::select_counts(e, l)) {
        Some((_, idx, _)) => {
            let mut kept = vec![false; n];
            for &i in &idx {
                kept[i] = true;
            }
            // The method's order: special, then empty (no ballots or no valid votes), then small.
            let sums = e.vote_sums();
            let valid = e.valid_or_sum();
            let boxes = e.get(crate::model::Role::InBoxes);
            let (mut sp, mut empty, mut small) = (0, 0, 0);
            for i in (0..n).filter(|&i| !kept[i]) {
                if e.special.get(i).copied().flatten().is_some() {
                    sp += 1;
                } else if boxes.map_or(sums[i] == 0, |c| c[i] == 0) || valid[i] == 0 {
                    empty += 1;
                } else {
                    small += 1;
                }
            }
            family(shape_tests, rule, n, idx.len(), vec![
                ("abroad or electronic", sp),
                ("no ballots or no valid votes", empty),
                ("fewer than 100 registered", small),
            ])
        }
        None => not_run(shape_tests, rule, n, "needs registered voters, ballots and a leader".into()),
    });

    let rule = "not abroad, not electronic (then each count enters a digit test when it is large enough)";
    tests.push(if a.results.iter().any(|t| t.test.starts_with("digits.")) {
        family(vec!["digits."], rule, n, n - abroad - electronic, vec![("abroad", abroad), ("electronic", electronic)])
    } else {
        not_run(vec!["digits."], rule, n, skipped_why("digits"))
    });

    let balanced = rows.balanced && tests.iter().all(|t| t.balanced);
    Reconciliation { rows, tests, balanced }
}
