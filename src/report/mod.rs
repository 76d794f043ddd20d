//! The report: `report.html` (one self-contained file: charts inlined as PNG data URIs,
//! styles inline, no scripts, no network; readable on a laptop and printable) and
//! `report.md` (the same text, with links to the chart files).
//!
//! The content is built once as a small document model ([`Block`]s of plain text) and
//! written by [`html`] and [`markdown`], which escape every piece of text: names in the
//! input (regions, candidates, station ids, the file name) reach the output only through
//! [`html::escape`] or [`markdown::escape`].

pub mod findings;
pub mod html;
pub mod markdown;
pub mod observed;
pub mod reading;

use crate::analysis::Analysis;
use crate::error::{Error, Result};
use crate::export::thousands;
use crate::model::Role;
use crate::rank;
use crate::render::{Chart, Drawn, Format};
use std::path::{Path, PathBuf};

/// Rows of each top list.
pub const TOP: usize = 20;

/// One table cell: the text and an optional secondary line (a caveat), shown smaller.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub note: String,
    /// Draw attention (a significant result, a violation).
    pub mark: bool,
    /// Greyed: a test not applicable here, whose numbers must not be read as evidence.
    pub dim: bool,
    /// Further detail folded away (HTML `<details>`; Markdown prints it as a note).
    pub more: String,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, ..Default::default() }
    }
}
impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell { text: text.to_string(), ..Default::default() }
    }
}

/// A piece of the report. All text is plain (unescaped).
#[derive(Debug, Clone)]
pub enum Block {
    /// Level 2 or 3.
    Heading(u8, String),
    Para(String),
    /// A secondary paragraph (caveats, definitions).
    Note(String),
    List(Vec<String>),
    /// `(label, value)` pairs.
    Facts(Vec<(String, String)>),
    Table { head: Vec<String>, rows: Vec<Vec<Cell>> },
    /// Text folded away under a one-line summary (HTML `<details>`).
    Fold { summary: String, text: String },
    /// The summary's findings; the chart of each is linked when it was drawn.
    Findings(Vec<findings::Finding>),
    /// A chart: its PNG (inlined in HTML) and the files' names relative to the report.
    Chart { chart: Chart, png: Option<Vec<u8>>, files: Vec<String> },
    Code(String),
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Doc {
    pub title: String,
    pub subtitle: String,
    pub blocks: Vec<Block>,
}

/// How the run was invoked, for "how to reproduce".
#[derive(Debug, Clone)]
pub struct Meta {
    /// The command line, shell-quoted.
    pub command: String,
}

impl Meta {
    /// This process' command line.
    pub fn from_env() -> Meta {
        let args: Vec<String> = std::env::args().collect();
        let mut parts = Vec::with_capacity(args.len());
        for (k, a) in args.iter().enumerate() {
            let a = if k == 0 { Path::new(a).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| a.clone()) } else { a.clone() };
            parts.push(shell_quote(&a));
        }
        Meta { command: parts.join(" ") }
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "-_./=:,@+%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn file_section(a: &Analysis, b: &mut Vec<Block>) {
    let e = a.election();
    let r = &a.read;
    b.push(Block::Heading(2, "The file and what was recognised".into()));
    let mut facts = vec![
        ("File".to_string(), r.file.clone()),
        ("Container, layout".to_string(), format!("{}, {} (delimiter {:?}{})", r.container, r.layout, r.delimiter, if r.bom { ", BOM" } else { "" })),
        (
            "Rows".to_string(),
            format!(
                "{} data rows: {} used, {} unpublished protocols, {} filtered out, {} skipped as unreadable{}",
                thousands(r.rows_in_file),
                thousands(r.rows_used),
                thousands(r.rows_unpublished),
                thousands(r.rows_filtered),
                thousands(r.rows_skipped),
                if r.balanced() { " (all accounted for)" } else { " (DO NOT ADD UP)" }
            ),
        ),
        ("Stations".to_string(), thousands(a.stations as u64)),
    ];
    // Special stations: how many of each kind, and that the statistics set them aside
    // (a small hospital ward at 100% turnout is not evidence of fraud).
    let kinds: Vec<String> = crate::model::Special::ALL
        .iter()
        .filter_map(|&k| {
            let c = e.special.iter().filter(|s| **s == Some(k)).count();
            (c > 0).then(|| format!("{} {}", thousands(c as u64), k.describe()))
        })
        .collect();
    if !kinds.is_empty() {
        facts.push((
            "Special stations".into(),
            format!(
                "{}: set aside from the statistical tests (their turnout and shares follow other laws); still checked for protocol arithmetic and listed in stations.csv",
                kinds.join("; ")
            ),
        ));
    }
    if r.missing_pairs_as_zero > 0 {
        facts.push(("Long format".into(), format!("{} station × candidate pairs with no row, counted as 0", thousands(r.missing_pairs_as_zero))));
    }
    facts.push(("Leader".into(), a.leader.clone().unwrap_or_else(|| "—".into())));
    b.push(Block::Facts(facts));
    // Protocol lines and their source columns.
    let mut rows = Vec::new();
    for role in Role::ALL {
        let cols: Vec<&str> = r.columns.iter().filter(|c| c.used_as == role.key()).map(|c| c.name.as_str()).collect();
        let found = e.has(role);
        rows.push(vec![
            Cell::from(format!("{}{}", role.key(), if role.symbol().is_empty() { String::new() } else { format!(" ({})", role.symbol()) })),
            Cell { text: if found { cols.join(" + ") } else { "not in the file".into() }, mark: !found, ..Default::default() },
        ]);
    }
    b.push(Block::Heading(3, "Protocol lines".into()));
    b.push(Block::Table { head: vec!["line".into(), "source column(s)".into()], rows });
    if !e.levels.is_empty() {
        b.push(Block::Heading(3, "Hierarchy".into()));
        let rows = e.levels.iter().map(|l| vec![Cell::from(l.name.clone()), Cell::from(l.column.clone()), Cell::from(thousands(l.n_units() as u64))]).collect();
        b.push(Block::Table { head: vec!["level".into(), "column".into(), "units".into()], rows });
    }
    let totals = e.candidate_totals();
    let sum: u64 = totals.iter().sum();
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by(|&x, &y| totals[y].cmp(&totals[x]).then(x.cmp(&y)));
    b.push(Block::Heading(3, format!("Candidates ({})", e.candidates.len())));
    let rows = order
        .iter()
        .map(|&j| {
            vec![
                Cell::from(e.candidates[j].clone()),
                Cell::from(thousands(totals[j])),
                Cell::from(if sum > 0 { format!("{:.2}%", 100.0 * totals[j] as f64 / sum as f64) } else { "—".into() }),
            ]
        })
        .collect();
    b.push(Block::Table { head: vec!["candidate".into(), "votes".into(), "share of candidate votes".into()], rows });
    let ignored: Vec<String> = r.columns.iter().filter(|c| c.used_as == "ignored").map(|c| format!("column {} \"{}\": {}", c.index, c.name, c.how)).collect();
    if !ignored.is_empty() {
        b.push(Block::Note(format!("{} column(s) not used:", ignored.len())));
        b.push(Block::List(ignored));
    }
    if !r.skips.is_empty() {
        b.push(Block::Note("Rows skipped as unreadable (first ones):".into()));
        b.push(Block::List(r.skips.iter().map(|s| format!("line {}: {}", s.line, s.reason)).collect()));
    }
}

fn check_section(a: &Analysis, b: &mut Vec<Block>) {
    let c = &a.check;
    b.push(Block::Heading(2, "Protocol arithmetic".into()));
    let run = c.rules.iter().filter(|r| r.run).count();
    let ran = if run == c.rules.len() {
        format!("all {run} rules ran")
    } else {
        format!("only {run} of {} rules could run (the others need protocol lines the file lacks: they checked nothing)", c.rules.len())
    };
    b.push(Block::Para(format!(
        "{} of {} stations break at least one control relation; {ran}. Every violation, with its line in the input, is in violations.csv.",
        thousands(c.stations_with_violations as u64),
        thousands(c.stations as u64)
    )));
    let rows = c
        .rules
        .iter()
        .map(|r| {
            vec![
                Cell::from(r.rule.key()),
                Cell::from(r.relation),
                if r.run {
                    Cell { text: thousands(r.violations as u64), mark: r.violations > 0, ..Default::default() }
                } else {
                    Cell { text: "not run".into(), note: r.note.clone(), ..Default::default() }
                },
            ]
        })
        .collect();
    b.push(Block::Table { head: vec!["rule".into(), "relation".into(), "violations".into()], rows });
}

/// The notes every row of a family shares (said once, folded under the family's heading)
/// and each row's own remainder. Notes are split at "; ", the way they are joined.
fn split_notes(rs: &[&crate::stats::TestResult]) -> (Vec<String>, Vec<Vec<String>>) {
    let parts: Vec<Vec<String>> = rs.iter().map(|r| r.notes.iter().flat_map(|n| n.split("; ")).map(str::to_string).collect()).collect();
    let common: Vec<String> = match parts.first() {
        Some(first) if parts.len() > 1 => first.iter().filter(|p| parts.iter().all(|q| q.contains(p))).cloned().collect(),
        _ => Vec::new(),
    };
    let own = parts
        .into_iter()
        .map(|ps| ps.into_iter().filter(|p| !common.contains(p) && !p.starts_with("not applicable here")).collect())
        .collect();
    (common, own)
}

fn tests_section(a: &Analysis, b: &mut Vec<Block>) {
    b.push(Block::Heading(2, "The tests".into()));
    b.push(Block::Note(
        "Each row: what was measured and how to read its p-value; the method notes are folded under each family and each row. A test's calibrated α (its measured false-positive rate on clean elections simulated with this file's station sizes) is shown next to p when a calibration ran; a test that rejects too many of them is not applicable here, and is listed greyed at the end. Evidence of an anomaly is not proof of fraud.".into(),
    ));
    let mut na_rows: Vec<Vec<Cell>> = Vec::new();
    for (prefix, heading, sees) in reading::FAMILIES {
        let rs: Vec<&crate::stats::TestResult> = a.results.iter().filter(|r| r.scope == "nation" && r.test.starts_with(prefix)).collect();
        let skipped: Vec<&(String, String)> = a.skipped.iter().filter(|(m, _)| prefix.starts_with(m.as_str())).collect();
        if rs.is_empty() && skipped.is_empty() {
            continue;
        }
        b.push(Block::Heading(3, heading.into()));
        b.push(Block::Note(sees.into()));
        for (m, why) in skipped {
            b.push(Block::Para(format!("Not run ({m}): {why}")));
        }
        if rs.is_empty() {
            continue;
        }
        let (common, own) = split_notes(&rs);
        if !common.is_empty() {
            b.push(Block::Fold { summary: "How these tests are computed".into(), text: common.join("; ") });
        }
        let mut rows = Vec::new();
        for (r, own) in rs.iter().zip(own) {
            let more = own.join("; ");
            if reading::not_applicable(r) {
                na_rows.push(vec![
                    Cell { text: r.test.clone(), dim: true, ..Default::default() },
                    Cell { text: reading::reading(r), note: reading::verdict(r), dim: true, more, ..Default::default() },
                    Cell { text: format!("{} (not meaningful here)", reading::fmt_p(r.p)), dim: true, ..Default::default() },
                    Cell {
                        text: r.calibrated_alpha.map(|x| reading::fmt_rate(x, r.extra.get("calibrated_alpha_se").copied())).unwrap_or_else(|| "—".into()),
                        dim: true,
                        ..Default::default()
                    },
                ]);
                continue;
            }
            rows.push(vec![
                Cell::from(r.test.clone()),
                Cell { text: format!("{}: {}", reading::reading(r), reading::verdict(r)), more, ..Default::default() },
                Cell { text: reading::fmt_p(r.p), mark: r.p.is_some_and(|p| p < 0.05), ..Default::default() },
                Cell::from(r.calibrated_alpha.map(|x| reading::fmt_rate(x, r.extra.get("calibrated_alpha_se").copied())).unwrap_or_else(|| "—".into())),
            ]);
        }
        if !rows.is_empty() {
            b.push(Block::Table { head: vec!["test".into(), "reading".into(), "p".into(), "calibrated α".into()], rows });
        }
    }
    let others: Vec<&(String, String)> = a.skipped.iter().filter(|(m, _)| !reading::FAMILIES.iter().any(|(p, _, _)| p.starts_with(m.as_str()))).collect();
    for (m, why) in others {
        b.push(Block::Para(format!("Not run ({m}): {why}")));
    }
    if !na_rows.is_empty() {
        b.push(Block::Heading(3, format!("Not applicable here ({} tests)", na_rows.len())));
        b.push(Block::Note(
            "These tests reject too many clean elections simulated with this file's stations: their p-values would mislead, so they are not read as evidence either way. Shown for completeness.".into(),
        ));
        b.push(Block::Table { head: vec!["test".into(), "reading".into(), "p".into(), "calibrated α".into()], rows: na_rows });
    }
}

/// Which tests see which fraud, measured with the simulator (`power_national.json`,
/// written by the command it names; `tests/report.rs` re-measures its claims).
pub const POWER_NATIONAL: &str = include_str!("power_national.json");

/// The power table of [`POWER_NATIONAL`].
pub fn power_national() -> crate::calibrate::PowerSummary {
    serde_json::from_str(POWER_NATIONAL).expect("power_national.json is written by calibrate --power-summary")
}

/// The command that measured the power table, without where its output was written
/// (a path in the source tree means nothing to a reader of a report).
fn power_source(source: &str) -> String {
    let mut out = Vec::new();
    let mut skip = false;
    for w in source.split_whitespace() {
        if skip {
            skip = false;
            continue;
        }
        if w == "--power-summary" {
            skip = true;
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

/// A test of the simulator's elections named without the simulator's candidate names:
/// "digits.last.chi2.Candidate A" is the leader's test (the simulator's candidate A is the
/// leader and beneficiary), any other candidate a rival's.
fn simulated_test_name(t: &str) -> String {
    match t.rsplit_once(".Candidate ") {
        Some((family, "A")) => format!("{family} of the leader"),
        Some((family, _)) => format!("{family} of a rival"),
        None => t.to_string(),
    }
}

fn power_section(b: &mut Vec<Block>) {
    let p = power_national();
    b.push(Block::Heading(2, "Which tests see which fraud".into()));
    b.push(Block::Note(format!(
        "Measured with the simulator, not on this file: clean and falsified national elections of the simulator's default shape ({}), each kind of fraud at a realistic intensity. A test is listed when its null held on the clean replicates and it rejected at α = {} in at least {:.0}% of the falsified ones. Tests whose null failed on the clean replicates are counted apart: their rejections say nothing about fraud. For numbers on data shaped like this file, run `tallyscope calibrate FILE --power`.",
        power_source(&p.source),
        p.alpha,
        100.0 * crate::calibrate::SEES_POWER
    )));
    let rows = p
        .kinds
        .iter()
        .map(|k| {
            let sees = if k.sees.is_empty() {
                "no test with a p-value: the estimates without one (fingerprint fit, anomalous votes) and the ranking are what see it".to_string()
            } else {
                k.sees.iter().map(|(t, r)| format!("{} ({:.0}%)", simulated_test_name(t), 100.0 * r)).collect::<Vec<_>>().join(", ")
            };
            vec![
                Cell { text: k.kind.clone(), note: k.spec.clone(), ..Default::default() },
                Cell {
                    text: sees,
                    note: if k.invalid_rejecting > 0 { format!("{} more reject but are not valid on clean data of this shape", k.invalid_rejecting) } else { String::new() },
                    mark: k.sees.is_empty(),
                    ..Default::default()
                },
                Cell::from(format!("{:.3}", k.ranking_auc)),
                Cell::from(format!("{:.0}%", 100.0 * k.precision_top1)),
            ]
        })
        .collect();
    b.push(Block::Table {
        head: vec!["fraud kind".into(), "tests that see it (power)".into(), "ranking ROC AUC".into(), "falsified among the top 1%".into()],
        rows,
    });
}

fn charts_section(drawn: &[Drawn], skipped: &[(Chart, String)], b: &mut Vec<Block>) {
    b.push(Block::Heading(2, "Charts".into()));
    for c in Chart::ALL {
        let mine: Vec<&Drawn> = drawn.iter().filter(|d| d.chart == c).collect();
        if mine.is_empty() {
            continue;
        }
        let png = mine.iter().find(|d| d.format == Format::Png).map(|d| d.bytes.clone());
        let files = mine.iter().map(|d| format!("charts/{}.{}", c.key(), d.format.ext())).collect();
        b.push(Block::Chart { chart: c, png, files });
    }
    if !skipped.is_empty() {
        b.push(Block::Note("Not drawn:".into()));
        b.push(Block::List(skipped.iter().map(|(c, why)| format!("{}: {why}", c.key())).collect()));
    }
}

fn ranking_section(a: &Analysis, b: &mut Vec<Block>) {
    let e = a.election();
    b.push(Block::Heading(2, "Stations and commissions to look at".into()));
    b.push(Block::Note(format!(
        "Scores add named evidence, each piece worth −log10 of a one-sided p-value; a station is flagged at a score of {} or more (at most about 0.1% of the stations of clean simulated elections; 0.00–0.02% measured). Evidence to look into, not a verdict: honest stations can be unusual. Full lists: stations.csv, commissions.csv, regions.csv.",
        rank::FLAG_THRESHOLD
    )));
    let flagged = a.stations_ranked.iter().filter(|s| s.flagged).count();
    b.push(Block::Heading(3, format!("Top {} of {} stations ({} flagged)", TOP.min(e.len()), thousands(e.len() as u64), thousands(flagged as u64))));
    let rows = a.station_order
        .iter()
        .take(TOP)
        .enumerate()
        .map(|(k, &i)| {
            let st = &a.stations_ranked[i];
            vec![
                Cell::from(format!("{}", k + 1)),
                Cell { text: format!("{:.1}", st.score), mark: st.flagged, ..Default::default() },
                Cell::from(e.describe(i)),
                Cell::from(format!("{}", e.line[i])),
                Cell::from(st.reasons()),
            ]
        })
        .collect();
    b.push(Block::Table { head: vec!["#".into(), "score".into(), "station".into(), "line".into(), "reasons".into()], rows });
    if !a.commissions.is_empty() {
        let top = crate::render::commissions::top(&a.commissions, TOP);
        b.push(Block::Heading(3, format!("Top {} of {} commissions", top.len(), thousands(a.commissions.len() as u64))));
        let rows = top
            .iter()
            .enumerate()
            .map(|(k, u)| {
                vec![
                    Cell::from(format!("{}", k + 1)),
                    Cell::from(format!("{:.1}", u.score)),
                    Cell::from(u.path.join(" / ")),
                    Cell::from(format!("{} ({} flagged)", u.stations, u.flagged)),
                    Cell::from(u.reasons()),
                ]
            })
            .collect();
        b.push(Block::Table { head: vec!["#".into(), "score".into(), "commission".into(), "stations".into(), "reasons".into()], rows });
    }
}

fn reproduce_section(a: &Analysis, meta: &Meta, b: &mut Vec<Block>) {
    b.push(Block::Heading(2, "How to reproduce".into()));
    b.push(Block::Para(format!(
        "tallyscope {} with seed {}: the same file, version and seed give the same numbers. The command:",
        env!("CARGO_PKG_VERSION"),
        a.seed
    )));
    b.push(Block::Code(meta.command.clone()));
    // Wall times are not printed here (they are in summary.json's timings block): the
    // same command on the same file gives a byte-identical report.
}

/// Builds the report's content.
pub fn build(a: &Analysis, drawn: &[Drawn], skipped: &[(Chart, String)], meta: &Meta) -> Doc {
    let name = Path::new(&a.read.file).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| a.read.file.clone());
    let mut blocks = Vec::new();
    // "What this shows": each finding with its strength, what it can and cannot mean and
    // its chart (linked only when drawn in this run); the details follow.
    blocks.push(Block::Heading(2, "What this shows".into()));
    let mut fs = findings::findings(a);
    for f in &mut fs {
        if f.chart.is_some_and(|c| !drawn.iter().any(|d| d.chart == c)) {
            f.chart = None;
        }
    }
    blocks.push(Block::Findings(fs));
    blocks.push(Block::Note(findings::STRENGTHS.into()));
    file_section(a, &mut blocks);
    check_section(a, &mut blocks);
    tests_section(a, &mut blocks);
    power_section(&mut blocks);
    charts_section(drawn, skipped, &mut blocks);
    observed::section(a, &mut blocks);
    ranking_section(a, &mut blocks);
    reproduce_section(a, meta, &mut blocks);
    Doc {
        title: format!("tallyscope report: {name}"),
        subtitle: format!("Election forensics on {} polling-station protocols; leader: {}", thousands(a.stations as u64), a.leader.as_deref().unwrap_or("—")),
        blocks,
    }
}

/// Writes `report.html` and `report.md` into `dir`.
pub fn write(a: &Analysis, dir: &Path, drawn: &[Drawn], skipped: &[(Chart, String)], meta: &Meta) -> Result<Vec<PathBuf>> {
    let doc = build(a, drawn, skipped, meta);
    let mut out = Vec::new();
    for (name, text) in [("report.html", html::render(&doc)), ("report.md", markdown::render(&doc))] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| Error::io(p.display().to_string(), e))?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("e.csv"), "e.csv");
        assert_eq!(shell_quote("--out=dir/x"), "--out=dir/x");
        assert_eq!(shell_quote("my file.csv"), "'my file.csv'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
