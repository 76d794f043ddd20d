//! `tallyscope check FILE`: protocol arithmetic, every violation with file and line.

use super::input::{InputArgs, report_rows};
use crate::checks::{self, Report};
use crate::error::{Error, Result};
use crate::export::safe_cell;
use crate::model::Election;
use std::io::Write;
use std::path::PathBuf;

/// Check each protocol's arithmetic (control relations).
///
/// Rules (symbols: N registered, B issued, C in boxes, V valid, I invalid):
///   issued_le_registered   B <= N
///   boxes_le_issued        C <= B   (more ballots in boxes than issued: a stuffing trace)
///   valid_plus_invalid     V + I = C
///   votes_sum_valid        sum of candidate votes = V
///   ballot_balance         received = issued + cancelled + lost - unaccounted
///   duplicate_id           a station id twice in one region
///   identical_protocol     the same vote vector as another station of the same
///                          commission (vectors of >= 30 votes)
/// A rule whose columns the file lacks is not run, and the summary says so.
///
/// Every violation is written as a CSV row (file line, station, hierarchy, rule,
/// relation, left side, right side, gap = left - right, the other station for
/// duplicates) to stdout or to -o FILE; a per-rule summary goes to stderr.
///
/// Exit status: 0 no violations, 1 violations found, 2 input or usage error.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Write the violations CSV here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<i32> {
    let ing = args.input.load()?;
    report_rows(&ing.report);
    let report = checks::run(&ing.election);
    match &args.output {
        Some(p) => {
            let f = std::fs::File::create(p).map_err(|e| Error::io(p.display().to_string(), e))?;
            write_violations(&ing.election, &report, std::io::BufWriter::new(f))
                .map_err(|e| Error::io(p.display().to_string(), e))?;
        }
        None => {
            let out = std::io::stdout().lock();
            write_violations(&ing.election, &report, std::io::BufWriter::new(out))
                .map_err(|e| Error::io("<stdout>", e))?;
        }
    }
    let summary = report.summary();
    eprintln!("{}: {} stations checked\n{summary}", ing.report.file, summary.stations);
    Ok(if report.violations.is_empty() { 0 } else { 1 })
}

/// The violations CSV: one row per violation, in station order.
/// What is wrong at the station, in words and its own numbers (the `relation` column says
/// what must hold; this says how it fails).
pub fn problem(e: &Election, v: &checks::Violation) -> String {
    use checks::Rule::*;
    let other = |j: usize| format!("station {} (line {})", e.station[j], e.line[j]);
    match v.rule {
        IssuedLeRegistered => format!("{} ballots issued to {} registered voters: {} more than registered", v.left, v.right, v.gap),
        BoxesLeIssued => format!("{} ballots in the boxes but only {} issued: {} more in the boxes than were issued", v.left, v.right, v.gap),
        ValidPlusInvalid => format!("valid + invalid = {} but {} ballots in the boxes: off by {:+}", v.left, v.right, v.gap),
        VotesSumValid => format!("the candidates' votes add up to {} but {} valid ballots: off by {:+}", v.left, v.right, v.gap),
        BallotBalance => format!("{} ballots received but issued + cancelled + lost − unaccounted = {}: off by {:+}", v.left, v.right, v.gap),
        DuplicateId => match v.other {
            Some(j) => format!("the same station id as {} in the same place of the hierarchy", other(j)),
            None => "a station id used twice in the same place of the hierarchy".into(),
        },
        IdenticalProtocol => match v.other {
            Some(j) => format!("the same votes for every candidate as {} of the same commission", other(j)),
            None => "the same votes for every candidate as another station of the same commission".into(),
        },
    }
}

pub fn write_violations<W: Write>(e: &Election, r: &Report, w: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(w);
    let mut head: Vec<String> = vec!["line".into(), "station".into()];
    head.extend(e.levels.iter().map(|l| safe_cell(&l.name).into_owned()));
    head.extend(["rule", "relation", "left", "right", "gap", "other_station", "other_line", "problem"].map(String::from));
    w.write_record(&head)?;
    for v in &r.violations {
        let i = v.station;
        let mut row: Vec<String> = vec![e.line[i].to_string(), safe_cell(&e.station[i]).into_owned()];
        row.extend(e.path(i).into_iter().map(|p| safe_cell(p).into_owned()));
        row.push(v.rule.key().into());
        row.push(v.rule.relation().into());
        let rel = matches!(v.rule, checks::Rule::DuplicateId | checks::Rule::IdenticalProtocol);
        for x in [v.left, v.right, v.gap] {
            row.push(if rel { String::new() } else { x.to_string() });
        }
        match v.other {
            Some(j) => {
                row.push(safe_cell(&e.station[j]).into_owned());
                row.push(e.line[j].to_string());
            }
            None => {
                row.push(String::new());
                row.push(String::new());
            }
        }
        row.push(safe_cell(&problem(e, v)).into_owned());
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}
