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
/// and the data file's name. For a paper: --width/--height set the size, --title the
/// title, --panel N one panel of a two-panel chart. SVG text names DejaVu Sans (the font
/// the charts are laid out with) and fallbacks with Cyrillic.
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
    /// Width in pixels (PNG) or user units (SVG), instead of the chart's own (100–8000).
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(100..=8000))]
    pub width: Option<u32>,
    /// Height in pixels or user units, instead of the chart's own (100–8000).
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(100..=8000))]
    pub height: Option<u32>,
    /// The chart's title, instead of its own (which names the chart and the file).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Only one panel of a two-panel chart: turnout, share, turnout-fine, share-fine
    /// (1 stations, 2 voters); last-digits, second-digits (1 all candidates pooled,
    /// 2 the leader).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub panel: Option<u32>,
}

fn kinds() -> PossibleValuesParser {
    PossibleValuesParser::new(Chart::ALL.iter().map(|c| PossibleValue::new(c.key()).help(c.describe())))
}

pub fn run(args: Args) -> Result<i32> {
    let kind = Chart::from_key(&args.kind).ok_or_else(|| Error::usage(format!("unknown chart kind {}", args.kind)))?;
    let format = Format::from_path(&args.output).ok_or_else(|| {
        Error::usage(format!("--output {}: the file name must end in .png or .svg", args.output.display()))
    })?;
    if args.panel.is_some()
        && !matches!(kind, Chart::Turnout | Chart::Share | Chart::TurnoutFine | Chart::ShareFine | Chart::LastDigits | Chart::SecondDigits)
    {
        return Err(Error::usage(format!(
            "--panel: chart {} has one panel (two-panel charts: turnout, share, turnout-fine, share-fine, last-digits, second-digits)",
            kind.key()
        )));
    }
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
    let own = kind.size(&a);
    if args.width.is_some() || args.height.is_some() {
        cx.size = Some((args.width.unwrap_or(own.0), args.height.unwrap_or(own.1)));
    }
    cx.title = args.title.clone();
    cx.panel = args.panel.map(|p| p as usize);
    let bytes = render::render(kind, &cx, format)?;
    std::fs::write(&args.output, bytes).map_err(|e| Error::io(args.output.display().to_string(), e))?;
    eprintln!("tallyscope: wrote {} ({})", args.output.display(), kind.describe());
    Ok(0)
}
