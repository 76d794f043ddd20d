//! The report section "Official results against observers' records" (`analyze --observed`).

use super::{Block, Cell};
use crate::analysis::Analysis;
use crate::compare::Mode;
use crate::export::thousands;

/// Rows of the discrepancy table.
const TOP: usize = 20;

/// The section: the comparison in plain words, the largest discrepancies, the PVT table.
pub fn section(a: &Analysis, b: &mut Vec<Block>) {
    let Some(c) = a.observed.as_deref() else { return };
    let e = a.election();
    b.push(Block::Heading(2, "Official results against observers' records".into()));
    b.push(Block::Note(match c.mode {
        Mode::Copy => "The observers hold the protocol as signed at the count: every difference is a figure changed after the count.",
        Mode::Minimum => "The observers hold confirmed lower bounds (photographed ballots, voters who confirmed their vote): an official figure below one is impossible.",
        Mode::Sample => "The observers counted at a random sample of stations (a parallel vote tabulation; Estok, Nevitte & Cowan 2002): the sample estimates each share with a margin of error.",
    }.into()));
    for para in crate::compare::words::summary(c, e).lines() {
        let t = para.trim();
        if !t.is_empty() {
            b.push(Block::Para(t.to_string()));
        }
    }
    if !c.discrepancies.is_empty() {
        let mut ds: Vec<&crate::compare::Discrepancy> = c.discrepancies.iter().collect();
        ds.sort_by_key(|d| (std::cmp::Reverse(d.difference().unsigned_abs()), d.station, d.field));
        b.push(Block::Heading(3, format!("Largest of {} discrepancies (all in observed/discrepancies.csv)", thousands(ds.len() as u64))));
        let rows = ds
            .iter()
            .take(TOP)
            .map(|d| {
                vec![
                    Cell::from(e.describe(d.station)),
                    Cell::from(c.fields[d.field].name(e)),
                    Cell::from(thousands(d.official as u64)),
                    Cell::from(thousands(d.observed as u64)),
                    Cell { text: format!("{:+}", d.difference()), mark: true, ..Default::default() },
                    Cell::from(format!("{} / {}", e.line[d.station], c.observed_lines[d.row])),
                ]
            })
            .collect();
        b.push(Block::Table {
            head: ["station", "field", "official", "observed", "difference", "lines (official / observed)"].map(String::from).to_vec(),
            rows,
        });
    }
    if let Some(p) = &c.pvt {
        let rows = p
            .candidates
            .iter()
            .map(|x| {
                vec![
                    Cell::from(x.candidate.clone()),
                    Cell::from(format!("{:.2}%", 100.0 * x.estimate)),
                    Cell::from(format!("± {:.2} pp", 100.0 * x.margin)),
                    Cell { text: format!("{:.2}%", 100.0 * x.official), mark: x.outside_all_candidates, ..Default::default() },
                    Cell::from(format!("{:.1}", x.z)),
                ]
            })
            .collect();
        b.push(Block::Heading(3, "Parallel vote tabulation".into()));
        b.push(Block::Table { head: ["candidate", "estimate", "margin", "official", "z"].map(String::from).to_vec(), rows });
    }
}
