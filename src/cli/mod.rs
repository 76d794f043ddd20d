//! Command-line interface: one file per subcommand, each with an `Args` struct (clap
//! derive) and a `run(args) -> Result<i32>` returning the exit status.

use clap::{Parser, Subcommand};

pub mod analyze;
pub mod batch;
pub mod calibrate;
pub mod check;
pub mod compare;
pub mod demo;
pub mod eft;
pub mod folder;
pub mod input;
pub mod inspect;
pub mod plot;
pub mod progress;
pub mod rank;
pub mod simulate;

/// Election forensics on polling-station protocols.
///
/// Reads the per-station results that election commissions publish (CSV, zipped or
/// gzipped CSV, wide or long format), checks each protocol's arithmetic and looks for
/// the traces of ballot stuffing, rounding and copying.
///
/// Start with `tallyscope demo` (a simulated election analysed end to end), then
/// `tallyscope inspect FILE` to see what tallyscope recognised in your file.
///
/// Exit status: 0 clean, 1 findings (e.g. `check` found violations), 2 input or usage error.
#[derive(Debug, Parser)]
#[command(name = "tallyscope", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Inspect(inspect::Args),
    Analyze(analyze::Args),
    Check(check::Args),
    Compare(compare::Args),
    Rank(rank::Args),
    Simulate(simulate::Args),
    Calibrate(calibrate::Args),
    Demo(demo::Args),
    Plot(plot::Args),
    Eft(eft::Args),
}

pub fn run(cli: Cli) -> crate::Result<i32> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Analyze(a) if a.is_batch() => batch::run(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Check(a) => check::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Rank(a) => rank::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Eft(a) => eft::run(a),
    }
}
