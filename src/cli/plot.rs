//! `tallyscope plot KIND FILE -o chart.svg|png`: one chart.

use super::input::{InputArgs, report_rows};
use crate::analysis;
use crate::error::{Error, Result};
use crate::render::{self, Chart, Format, data::Data};
use clap::builder::{PossibleValue, PossibleValuesParser};
use std::path::PathBuf;

/// Draw one chart of an election as PNG or SVG (the format follows the file extension).
///
/// Runs the part of the analysis the chart needs (the fingerprint model is fitted only
/// for `fingerprint`), then draws it with the embedded DejaVu Sans font: the same chart
/// `analyze` writes into DIR/charts/. Every chart has a title, labelled axes with units
/// and the data file's name.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which chart.
    #[arg(value_name = "KIND", value_parser = kinds())]
    pub kind: String,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output file: .png or .svg.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// The leader's column or name (default: the candidate with most votes nationally).
    #[arg(long, value_name = "NAME")]
    pub leader: Option<String>,
    /// Seed of every randomised procedure.
    #[arg(long, default_value_t = 20_260_101, value_name = "S")]
    pub seed: u64,
    /// Linear instead of log colour scale (fingerprint).
    #[arg(long)]
    pub linear: bool,
}

fn kinds() -> PossibleValuesParser {
    PossibleValuesParser::new(Chart::ALL.iter().map(|c| PossibleValue::new(c.key()).help(c.describe())))
}

pub fn run(args: Args) -> Result<i32> {
    let kind = Chart::from_key(&args.kind).ok_or_else(|| Error::usage(format!("unknown chart kind {}", args.kind)))?;
    let format = Format::from_path(&args.output).ok_or_else(|| {
        Error::usage(format!("--output {}: the file name must end in .png or .svg", args.output.display()))
    })?;
    let ing = args.input.load()?;
    report_rows(&ing.report);
    let leader = match &args.leader {
        None => None,
        Some(name) => Some(
            ing.election
                .candidates
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| Error::usage(format!("--leader \"{name}\": no such candidate")))?,
        ),
    };
    let opt = analysis::Options {
        leader,
        seed: args.seed,
        bootstrap: 0,
        fingerprint: kind.wants_fingerprint(),
        fingerprint_bootstrap: 0,
        digit_draws: if kind == Chart::SecondDigits { analysis::Options::default().digit_draws } else { 0 },
        baseline_reps: 0,
        ..Default::default()
    };
    let a = analysis::run(ing, &opt);
    let d = Data::new(a.election(), render::leader_index(&a));
    let mut cx = render::Ctx::new(&a, &d);
    cx.linear = args.linear;
    let bytes = render::render(kind, &cx, format)?;
    std::fs::write(&args.output, bytes).map_err(|e| Error::io(args.output.display().to_string(), e))?;
    eprintln!("tallyscope: wrote {} ({})", args.output.display(), kind.describe());
    Ok(0)
}
