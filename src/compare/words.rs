//! The comparison in plain words: what `compare` prints and the report section reads.

use super::{Comparison, Mode};
use crate::model::Election;
use crate::numfmt::thousands;

/// A few paragraphs: the join, the discrepancies, the votes moved, the estimates.
pub fn summary(c: &Comparison, e: &Election) -> String {
    let j = &c.join;
    let mut s = format!(
        "Joined {} of {} observed stations with the official file ({} official stations; {} not observed).\n",
        thousands(j.joined as u64),
        thousands(j.observed_rows as u64),
        thousands(j.official_stations as u64),
        thousands(j.only_official as u64),
    );
    for w in j.warnings() {
        s.push_str("Note: ");
        s.push_str(&w);
        s.push('\n');
    }
    let n_diff = c.stations_differing();
    let what = match c.mode {
        Mode::Copy => "the observers' copy of the protocol",
        Mode::Minimum => "the figures confirmed by observers",
        Mode::Sample => "the observers' count",
    };
    if c.discrepancies.is_empty() {
        s.push_str(&format!(
            "No discrepancy: at every one of the {} joined stations the official figures agree with {what} ({} figures compared).\n",
            thousands(j.joined as u64),
            thousands(c.cells_compared)
        ));
    } else {
        let rel = if c.mode == Mode::Minimum { "is below" } else { "differs from" };
        s.push_str(&format!(
            "At {} of {} joined stations an official figure {rel} {what}: {} figures in all.\n",
            thousands(n_diff as u64),
            thousands(j.joined as u64),
            thousands(c.discrepancies.len() as u64)
        ));
        // The largest one, as a sentence.
        if let Some(d) = c.discrepancies.iter().max_by_key(|d| (d.difference().unsigned_abs(), std::cmp::Reverse(d.station))) {
            let (o, b) = (thousands(d.official as u64), thousands(d.observed as u64));
            let what = match c.fields[d.field] {
                super::Field::Candidate(j) => format!("official {o} votes for {}, observed {b}", e.candidates[j]),
                super::Field::Role(r) => format!("official {} {o}, observed {b}", r.key()),
            };
            s.push_str(&format!(
                "Largest: {} — {what} (line {} of the official file, line {} of the observed).\n",
                e.describe(d.station),
                e.line[d.station],
                c.join_observed_line(d.row)
            ));
        }
        let fl = &c.flows;
        match c.mode {
            Mode::Minimum => {
                s.push_str(&format!(
                    "At least {} votes must have been taken from candidates (official below the confirmed figure):",
                    thousands(fl.total)
                ));
                for (k, &v) in fl.shortfall.iter().enumerate() {
                    if v > 0 {
                        s.push_str(&format!(" {} {};", e.candidates[k], thousands(v)));
                    }
                }
                s.pop();
                s.push_str(".\n");
            }
            _ => {
                s.push_str(&format!("Votes changed between the count and publication: {}.\n", thousands(fl.total)));
                for (k, name) in e.candidates.iter().enumerate() {
                    if fl.gained[k] > 0 || fl.lost[k] > 0 {
                        let net = fl.gained[k] as i64 - fl.lost[k] as i64;
                        s.push_str(&format!(
                            "  {name}: +{} / −{} (net {}{})\n",
                            thousands(fl.gained[k]),
                            thousands(fl.lost[k]),
                            if net >= 0 { "+" } else { "−" },
                            thousands(net.unsigned_abs())
                        ));
                    }
                }
                let mut moves: Vec<(usize, usize, f64)> = Vec::new();
                for (a, row) in fl.moved.iter().enumerate() {
                    for (b, &v) in row.iter().enumerate() {
                        if v >= 0.5 {
                            moves.push((a, b, v));
                        }
                    }
                }
                moves.sort_by(|x, y| y.2.total_cmp(&x.2));
                for (a, b, v) in moves.iter().take(6) {
                    s.push_str(&format!(
                        "  moved from {} to {}: {}\n",
                        e.candidates[*a],
                        e.candidates[*b],
                        thousands(v.round() as u64)
                    ));
                }
                let added: f64 = fl.added.iter().sum();
                let removed: f64 = fl.removed.iter().sum();
                if added >= 0.5 {
                    s.push_str(&format!("  added with no candidate losing them (ballots not in the count): {}\n", thousands(added.round() as u64)));
                }
                if removed >= 0.5 {
                    s.push_str(&format!("  removed with no candidate gaining them: {}\n", thousands(removed.round() as u64)));
                }
            }
        }
    }
    if let Some(p) = &c.pvt {
        s.push_str(&format!(
            "Parallel vote tabulation: {} sampled stations of {}{}; shares with {:.0}% margins of error:\n",
            thousands(p.sampled),
            thousands(p.stations),
            if p.strata_level.is_empty() { String::new() } else { format!(", stratified by {} ({} strata)", p.strata_level, p.strata.len()) },
            p.confidence * 100.0
        ));
        for x in &p.candidates {
            s.push_str(&format!(
                "  {}: estimate {:.2}% ± {:.2} pp, official {:.2}%{}\n",
                x.candidate,
                100.0 * x.estimate,
                100.0 * x.margin,
                100.0 * x.official,
                if x.outside_all_candidates {
                    format!(" — OUTSIDE the margin, even allowing for {} candidates tested at once (z = {:.1})", p.candidates.len(), x.z)
                } else if x.outside {
                    format!(" — outside the margin (z = {:.1}), but not beyond chance with {} candidates tested (|z| ≤ {:.2})", x.z, p.candidates.len(), p.z_critical_all_candidates)
                } else {
                    String::new()
                }
            ));
        }
        for n in &p.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        if p.flagged() {
            s.push_str("The official result lies outside the sample's margin of error: the published totals are not what a random sample of counts says.\n");
        } else {
            s.push_str("No official share lies outside its margin once every candidate is tested together: the official result is consistent with the sample.\n");
        }
    }
    s
}

impl Comparison {
    /// The observed file's line of row `r` (kept in the station rows).
    fn join_observed_line(&self, r: usize) -> u64 {
        self.observed_lines.get(r).copied().unwrap_or(0)
    }
}
