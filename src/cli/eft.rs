//! `tallyscope eft FILE -o table.csv`: the Election Forensics Toolkit's table.

use super::input::InputArgs;
use crate::error::{Error, Result};
use crate::export::{eft as out, thousands};
use crate::stats::eft::{self, EftOptions, UnitLevel, VariableChoice};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The Election Forensics Toolkit's table (EFToolkit's BasicElectionForensics), with
/// EFT's own definitions, fast.
///
/// One row per unit × variable: the nation ("National") and each unit of --level, for
/// the variable "turnout" (digits of the ballots cast, percentages of ballots cast over
/// registered voters) and for each candidate (digits of the votes, percentages of the
/// votes over the ballots cast). Statistics, by EFT's names:
///   _2BL         mean second digit of the counts >= 10        (Benford: 4.187)
///   LastC        mean last digit of all counts, zeros too     (uniform: 4.5)
///   P05s         share of round(100 x percentage) ending in 0 or 5, R's rounding
///                (half to even: 40.5 -> 40), every denominator  (0.2)
///   C05s         share of all counts ending in 0 or 5          (0.2)
///   Skew, Kurt   skewness and (non-excess) kurtosis of the percentages (0, 3)
///   DipT         p-value of Hartigan's dip test of unimodality
///   Sobyanin     slope of share on turnout minus the mean share (candidates)
///   Correlation  correlation of share and turnout (candidates)
/// Percentages are capped at 1 as in EFT. A missing cell (empty, NA, -) leaves that
/// variable out for that station, not the station.
///
/// Each statistic but DipT gets a basic bootstrap interval (R's boot.ci type "basic"),
/// --reps resamples of the unit's stations; the same --seed gives the same table.
///
/// Writes FILE.csv (-o), and beside it FILE.md and FILE.html, where a cell is marked
/// when its interval excludes the null after a Benjamini–Hochberg correction across the
/// units (EFT colours uncorrected cells).
///
///   tallyscope eft Albania2013.csv --level region --candidates C035,C050 -o alb.csv
///   tallyscope eft ru2018.csv.zip --all-leaders --reps 1000 --seed 7 -o ru.csv
///
/// Definitions, NA handling and the EFT bugs not copied: the module docs of
/// tallyscope::stats::eft (cargo doc). Column mapping flags are as for `analyze`, except
/// that the candidate columns and extra hierarchy levels are --candidate-columns and
/// --extra-level here (--candidates and --level choose rows).
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
#[command(mut_arg("candidates", |a| a.long("candidate-columns")))]
#[command(mut_arg("level", |a| a.long("extra-level")))]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Units that get rows besides the nation: nation (none), region (the top level of
    /// the hierarchy), commission (the level just above the stations).
    #[arg(long = "level", id = "eft_level", value_enum, default_value_t = Level::Region)]
    pub unit_level: Level,
    /// Candidates that get rows, by column name (comma-separated). Default: --all-leaders.
    #[arg(long = "candidates", id = "eft_candidates", value_delimiter = ',', value_name = "A,B", conflicts_with = "all_leaders")]
    pub rows_for: Vec<String>,
    /// One candidate row per unit: the unit's own leader (EFT's "All Leaders"). The default.
    #[arg(long)]
    pub all_leaders: bool,
    /// Bootstrap resamples per unit (EFT's R); 0 gives the values without intervals.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub reps: usize,
    /// Simulations of the dip test's uniform null per reference size.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub dip_reps: usize,
    /// Seed of the bootstrap and the dip simulations.
    #[arg(long, default_value_t = 20_151_025, value_name = "S")]
    pub seed: u64,
    /// Interval level 1 − ALPHA, and the BH level of the marks.
    #[arg(long, default_value_t = 0.05, value_name = "ALPHA")]
    pub alpha: f64,
    /// The CSV to write; the .md and .html go beside it.
    #[arg(long, short, default_value = "eft.csv", value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    Nation,
    Region,
    Commission,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::Io { path: path.display().to_string(), source: e })
}

pub fn run(args: Args) -> Result<i32> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(Error::Usage(format!("--alpha {}: must lie between 0 and 1", args.alpha)));
    }
    let t0 = Instant::now();
    let ing = args.input.load()?;
    for n in &ing.report.notes {
        eprintln!("tallyscope: {}: note: {n}", ing.report.file);
    }
    let e = &ing.election;
    let o = EftOptions {
        level: match args.unit_level {
            Level::Nation => UnitLevel::Nation,
            Level::Region => UnitLevel::Region,
            Level::Commission => UnitLevel::Commission,
        },
        variables: if args.rows_for.is_empty() { VariableChoice::AllLeaders } else { VariableChoice::Named(args.rows_for.clone()) },
        reps: args.reps,
        dip_reps: args.dip_reps,
        seed: args.seed,
        alpha: args.alpha,
    };
    let t = eft::run(e, &o)?;
    let csv = out::csv(&t).map_err(|err| Error::Io { path: args.out.display().to_string(), source: err })?;
    write(&args.out, &csv)?;
    let md = args.out.with_extension("md");
    let html = args.out.with_extension("html");
    write(&md, out::markdown(&t).as_bytes())?;
    write(&html, out::html(&t).as_bytes())?;
    for n in &t.notes {
        eprintln!("tallyscope: {}: {n}", ing.report.file);
    }
    let units = t.rows.iter().map(|r| r.unit.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    println!(
        "EFT table: {} rows ({} units incl. the nation, {} stations), {} bootstrap resamples, {:.2} s\nwrote {}, {}, {}",
        t.rows.len(),
        units,
        thousands(e.len() as u64),
        args.reps,
        t0.elapsed().as_secs_f64(),
        args.out.display(),
        md.display(),
        html.display()
    );
    Ok(0)
}
