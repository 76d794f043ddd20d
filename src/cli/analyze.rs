//! `tallyscope analyze FILE --out DIR`: checks plus the statistical battery.

use super::input::{InputArgs, report_rows};
use crate::analysis::{self, Analysis};
use crate::error::{Error, Result};
use crate::export::{self, thousands};
use std::path::PathBuf;
use std::time::Instant;

/// Run the protocol checks and the statistical battery on one election.
///
/// Writes into DIR:
///   summary.json    what was read, the check summary, every test (integer.either,
///                   integer.turnout, integer.leader hold the headline integer-percentage
///                   numbers: observed, expected, excess, sd, p)
///   tests.csv       one row per test × unit: statistic, null mean and sd, z, p, BH q,
///                   calibrated type-I rate, effect, notes
///   violations.csv  every broken control relation, with its line in the input
///   report.html     the whole report in one self-contained file (charts inlined, no
///                   network): what was read, checks, every test with a plain reading
///                   and its caveat, the charts, the top stations and commissions
///   report.md       the same text in Markdown, linking the chart files
///   charts/         every chart as PNG and SVG (see `tallyscope plot --help`)
/// and prints a readable table of the national results on stdout.
///
/// Every randomised procedure (bootstrap intervals, simulated nulls) takes --seed:
/// the same file with the same seed gives byte-identical output.
///
/// Read a p-value with its notes: tests of shape and turnout–share relations describe
/// the data (honest heterogeneity produces them too); the notes say which null was used.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output directory (created if missing; files in it are overwritten).
    #[arg(long, short, default_value = "tallyscope-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Seed of every randomised procedure.
    #[arg(long, default_value_t = 20_260_101, value_name = "S")]
    pub seed: u64,
    /// The leader's column or name (default: the candidate with most votes nationally).
    #[arg(long, value_name = "NAME")]
    pub leader: Option<String>,
    /// Bootstrap replicates for intervals (anomalous votes).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub bootstrap: usize,
    /// Skip the Klimek et al. fingerprint model fit (about a second on 100,000 stations).
    #[arg(long)]
    pub no_fingerprint: bool,
    /// Bootstrap replicates for the fingerprint fit's interval (each costs about a fit).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fingerprint_bootstrap: usize,
    /// Replicates of the resampled second-digit (2BL) null; 0 keeps only the classical
    /// Benford p-value, which is descriptive (clean elections fail it).
    #[arg(long, default_value_t = 99, value_name = "B")]
    pub digit_draws: usize,
    /// Also print the top N stations and commissions with their reasons.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Print nothing on stdout.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the charts (DIR/charts/*.png, *.svg) and the report (report.html, report.md).
    #[arg(long)]
    pub no_charts: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let t0 = Instant::now();
    let ing = args.input.load()?;
    report_rows(&ing.report);
    let leader = match &args.leader {
        None => None,
        Some(name) => Some(ing.election.candidates.iter().position(|c| c == name).ok_or_else(|| {
            Error::usage(format!(
                "--leader \"{name}\": no such candidate; candidates are: {}",
                ing.election.candidates.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
            ))
        })?),
    };
    let opt = analysis::Options {
        leader,
        seed: args.seed,
        bootstrap: args.bootstrap,
        fingerprint: !args.no_fingerprint,
        fingerprint_bootstrap: args.fingerprint_bootstrap,
        digit_draws: args.digit_draws,
    };
    let a = analysis::run(ing, &opt);
    let written = write_outputs_with(&a, &args.out, !args.no_charts)?;
    if !args.quiet {
        print!("{}", table(&a));
        if let Some(n) = args.top {
            print!("\n{}", super::rank::top_lists(&a, n));
        }
    }
    eprintln!(
        "tallyscope: analysed {} stations in {:.2} s; wrote {}",
        thousands(a.stations as u64),
        t0.elapsed().as_secs_f64(),
        written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(0)
}

/// Writes every exporter's file and `violations.csv`, then the charts and the report,
/// into `dir` (created if missing).
pub fn write_outputs(a: &Analysis, dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    write_outputs_with(a, dir, true)
}

/// [`write_outputs`], with or without the charts and the report.
pub fn write_outputs_with(a: &Analysis, dir: &std::path::Path, charts: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    use rayon::prelude::*;
    let mut written: Vec<PathBuf> =
        export::all().par_iter().map(|ex| export::write(ex.as_ref(), a, dir)).collect::<Result<_>>()?;
    let v = dir.join("violations.csv");
    let f = std::fs::File::create(&v).map_err(|e| Error::io(v.display().to_string(), e))?;
    super::check::write_violations(a.election(), &a.check_report, std::io::BufWriter::new(f))
        .map_err(|e| Error::io(v.display().to_string(), e))?;
    written.push(v);
    // ---- charts and the report (issue 6), after the other outputs
    if charts {
        written.extend(write_report(a, dir)?);
    }
    Ok(written)
}

/// Draws every chart into `dir/charts/` (PNG and SVG, in parallel) and writes
/// `report.html` and `report.md` into `dir`; returns the charts directory and the reports.
pub fn write_report(a: &Analysis, dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    let t = Instant::now();
    let charts = dir.join("charts");
    let (drawn, skipped) = crate::render::render_all(a, &charts)?;
    let mut written = vec![charts];
    written.extend(crate::report::write(a, dir, &drawn, &skipped, &crate::report::Meta::from_env())?);
    eprintln!("tallyscope: drew {} chart files and the report in {:.2} s", drawn.len(), t.elapsed().as_secs_f64());
    Ok(written)
}

fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        Some(p) => format!("{p:.4}"),
    }
}

/// The national results as a readable table.
pub fn table(a: &Analysis) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {} stations, leader: {}", a.read.file, thousands(a.stations as u64), a.leader.as_deref().unwrap_or("-"));
    let _ = writeln!(s, "\nprotocol checks\n{}", a.check);
    let _ = writeln!(s, "\n{:<40} {:>14} {:>12} {:>8} {:>9}", "test (nation)", "statistic", "expected", "z", "p");
    for r in a.results.iter().filter(|r| r.scope == "nation") {
        let _ = writeln!(
            s,
            "{:<40} {:>14} {:>12} {:>8} {:>9}",
            r.test,
            if r.statistic.abs() >= 1e4 { thousands(r.statistic.round() as u64) } else { format!("{:.4}", r.statistic) },
            r.null_mean.map(|m| if m.abs() >= 1e4 { thousands(m.round() as u64) } else { format!("{m:.4}") }).unwrap_or_else(|| "-".into()),
            r.z().map(|z| format!("{z:.2}")).unwrap_or_else(|| "-".into()),
            fmt_p(r.p)
        );
    }
    if let Some(r) = a.nation("shpilkin.anomalous_votes") {
        let _ = writeln!(
            s,
            "\nanomalous votes (Shpilkin): {} (95% CI {} to {}); clean turnout {:.0}%, clean leader share {:.1}%\n  {}\n",
            thousands(r.statistic.max(0.0).round() as u64),
            r.extra.get("ci_low").map(|x| thousands(x.max(0.0).round() as u64)).unwrap_or_else(|| "-".into()),
            r.extra.get("ci_high").map(|x| thousands(x.max(0.0).round() as u64)).unwrap_or_else(|| "-".into()),
            100.0 * r.extra["clean_turnout"],
            100.0 * r.extra["clean_leader_share"],
            crate::stats::shpilkin::ASSUMPTION
        );
    }
    s
}
