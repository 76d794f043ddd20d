//! `tallyscope rank FILE`: the top of the ranked station and commission lists.

use super::input::{InputArgs, report_rows};
use crate::analysis::{self, Analysis};
use crate::export::thousands;
use crate::rank;
use crate::Result;

/// Print the stations and commissions with the most evidence against them.
///
/// Runs exactly the analysis of `analyze FILE` with its default options (the inline
/// calibration included, which decides which tests may count as evidence), so the scores
/// and the order are those of analyze's stations.csv and commissions.csv; it prints the
/// top of the lists instead of writing files (`analyze --top N` prints the same lists).
/// Each station's score adds up named evidence, each piece worth -log10 of a one-sided
/// p-value: turnout or leader share far from its commission, its region and the nation,
/// the top-right corner of the fingerprint, an integer percentage its size makes
/// improbable, broken arithmetic, an identical protocol. A station is flagged at a score
/// of 5.5 or more, which flags about 0.1% of stations of clean simulated elections.
/// Commissions and regions are scored from aggregated evidence: the share of flagged
/// stations, their displacement against peer units, the spread among their stations,
/// the turnout–share correlation inside them, integer-percentage excess.
///
/// The reasons are evidence to look into, not a verdict: honest stations can be unusual.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// How many rows of each list to print.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,
    /// Seed of every randomised procedure.
    #[arg(long, default_value_t = 20_260_101, value_name = "S")]
    pub seed: u64,
    /// Score at which a station is flagged (default 5.5, about 0.1% of clean stations).
    #[arg(long, value_name = "SCORE")]
    pub flag_threshold: Option<f64>,
}

pub fn run(args: Args) -> Result<i32> {
    let ing = args.input.load()?;
    report_rows(&ing.report);
    // analyze's own options with its defaults, so the ranking is analyze's.
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        a: super::analyze::Args,
    }
    let mut d = <Defaults as clap::Parser>::try_parse_from(["analyze", "-"]).map_err(|e| crate::error::Error::usage(e.to_string()))?;
    d.a.input = args.input.clone();
    d.a.seed = args.seed;
    d.a.flag_threshold = args.flag_threshold;
    let mut opt = super::analyze::options(&d.a, &ing.election)?;
    // the clean baselines of the estimates do not enter the ranking: not paid for here
    opt.baseline_reps = 0;
    opt.fingerprint_baseline_reps = 0;
    let a = analysis::run(ing, &opt);
    print!("{}", top_lists(&a, args.top));
    Ok(0)
}

/// The top `n` stations and commissions as text.
pub fn top_lists(a: &Analysis, n: usize) -> String {
    use std::fmt::Write;
    let e = a.election();
    let mut s = String::new();
    let flagged = a.stations_ranked.iter().filter(|x| x.flagged).count();
    let _ = writeln!(
        s,
        "top {} of {} stations ({} flagged at score >= {}):",
        n.min(e.len()),
        thousands(e.len() as u64),
        thousands(flagged as u64),
        a.flag_threshold
    );
    for (k, &i) in a.station_order.iter().take(n).enumerate() {
        let st = &a.stations_ranked[i];
        let _ = writeln!(s, "{:>4}. {:>6.1}  {} (line {})\n        {}", k + 1, st.score, e.describe(i), e.line[i], st.reasons());
    }
    if !a.commissions.is_empty() {
        let c = rank::units::sorted(&a.commissions);
        let _ = writeln!(s, "\ntop {} of {} commissions:", n.min(c.len()), thousands(c.len() as u64));
        for (k, u) in c.iter().take(n).enumerate() {
            let _ = writeln!(s, "{:>4}. {:>6.1}  {} ({} stations, {} flagged)\n        {}", k + 1, u.score, u.path.join(" / "), u.stations, u.flagged, u.reasons());
        }
    }
    s
}
