//! `tallyscope analyze FILE --out DIR`: checks plus the statistical battery.

use super::input::{InputArgs, report_rows};
use crate::analysis::{self, Analysis};
use crate::error::{Error, Result};
use crate::export::{self, thousands};
use std::path::PathBuf;
use std::time::Instant;

/// Run the protocol checks and the statistical battery on one election, or on several.
///
/// Several files (`analyze A.csv.zip B.csv.zip C.csv.zip --out DIR`) are analysed in one
/// run, in parallel as far as the cores allow, with the same options: each into its own
/// sub-folder DIR/<file name>/, plus DIR/index.html, index.csv and index.json comparing
/// them (turnout, leader, integer-percentage excess, anomalous votes, fingerprint fit,
/// flagged stations, protocol violations).
///
/// Mebane's finite-mixture fraud model runs with `--mixture` (off by default: on Russia
/// 2018 the fit with its region fits costs about 5 s of wall time, its clean baselines
/// about 50 CPU-s more): f_i, f_e and alpha with bootstrap intervals
/// (`--mixture-bootstrap N`) in summary.json
/// (`mixture`) and tests.csv (`mixture.*`), each station's probabilities of incremental
/// and extreme fraud with its expected manufactured and stolen votes in stations.csv
/// (p_incremental, p_extreme, votes_manufactured, votes_stolen), and a "mixture" reason
/// in the ranking.
///
/// Writes into DIR:
///   summary.json    what was read, the check summary, every test (integer.either,
///                   integer.turnout, integer.leader hold the headline integer-percentage
///                   numbers: observed, expected, excess, sd, p)
///   tests.csv       one row per test × unit: statistic, null mean and sd, z, p, BH q,
///                   calibrated type-I rate, effect, notes
///   violations.csv  every broken control relation, with its line in the input
///   stations, commissions, regions (.csv/.json/.parquet by --format) the ranked lists
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
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// More protocol files to analyse in the same run (batch): each gets its own
    /// sub-folder of DIR and DIR/index.html compares them.
    #[arg(value_name = "MORE")]
    pub more: Vec<PathBuf>,
    /// Analyse each value of COL as its own election, in one batch run: a file that
    /// stacks rounds (KOLO, round, tour) or races. One sub-folder per value, and
    /// DIR/index.html comparing them. (One value alone: --where COL=VALUE.)
    #[arg(long, value_name = "COL")]
    pub split_by: Option<String>,
    /// Formats of the result tables (stations, commissions, regions, tests); summary.json
    /// is always written. Repeat or separate with commas: --format csv,parquet. Sizes grow
    /// with the stations: at a million, stations.json is 312 MB, stations.csv 97 MB and
    /// stations.parquet 48 MB (tests: 142 / 84 / 10 MB); at 10 million the default csv,json
    /// writes 6.7 GB, so --format csv or parquet is the lighter choice there.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = export::DEFAULT_FORMATS, value_name = "FMT")]
    pub format: Vec<export::Format>,
    /// Output directory (created if missing). It holds one run: the files of an earlier
    /// run there (tables, report, charts, observed/, a batch's index and sub-folders) are
    /// removed first, and said so; other files are left alone.
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
    /// Fit Mebane's finite mixture (per-station probabilities of incremental and extreme
    /// fraud: stations.csv's p_incremental, p_extreme, votes_manufactured, votes_stolen,
    /// the ranking's "mixture" reason, summary.json's `mixture`, the report's finding).
    /// Off by default while it is slow: about 5 s on Russia 2018's 93,000 stations (the
    /// nation and 37 regions), and its clean baselines (with the calibration) about 5 s of
    /// CPU per refit, 10 refits.
    #[arg(long)]
    pub mixture: bool,
    /// Bootstrap replicates for the finite mixture's intervals of f_i, f_e and alpha (each
    /// costs about a fit warm-started at the estimate; 0: no interval; 19 give a 95%
    /// percentile interval of modest precision).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub mixture_bootstrap: usize,
    /// Replicates of the resampled second-digit (2BL) null; 0 keeps only the classical
    /// Benford p-value, which is descriptive (clean elections fail it).
    #[arg(long, default_value_t = 99, value_name = "B")]
    pub digit_draws: usize,
    /// Cross-check the integer-percentage test's exact null with N seeded Monte Carlo
    /// draws (Kobak et al.'s method: redraw every station binomially, count integer
    /// stations); the draws' mean, sd and p are printed and saved next to the exact ones.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub mc: usize,
    /// Coarse vote shares (Rozenas 2017): largest denominator d of a fraction k/d that
    /// counts as coarse (1/2, 2/3, 3/4 … with d ≤ this).
    #[arg(long, default_value_t = 10, value_name = "D")]
    pub max_denominator: u32,
    /// Monte Carlo draws B of the coarse-share null (p = (1 + #{T* ≥ T})/(B + 1)).
    #[arg(long, default_value_t = 999, value_name = "B")]
    pub rozenas_draws: usize,
    /// Whose shares the coarse-share test checks: the leader's, or every candidate's.
    #[arg(long, value_enum, default_value_t = crate::stats::rozenas::Coarse::Leader, value_name = "WHO")]
    pub coarse_candidates: crate::stats::rozenas::Coarse,
    /// Above this many stations the coarse-share test runs on a seeded random subset of
    /// this size (0 = always every station; its cost is about 3 µs per station).
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub coarse_max_stations: usize,
    /// Also run the coarse-share test against the `spikes` package's beta-binomial
    /// mixture null (fitted by EM; with a misfit diagnostic; slower).
    #[arg(long)]
    pub spikes: bool,
    /// Also run the penultimate-digit test (Beber & Scacco-style, counts ≥ 100 only:
    /// below that the last-but-one digit is not uniform by arithmetic alone).
    #[arg(long)]
    pub penultimate: bool,
    /// Score at which a station is flagged (default 5.5: the 0.999 quantile of clean
    /// simulated scores, so at most about 0.1% of a clean election's stations; 0.00–0.02%
    /// measured; each point is a factor 10 in improbability).
    #[arg(long, value_name = "SCORE")]
    pub flag_threshold: Option<f64>,
    /// Clean elections simulated with this file's own stations, hierarchy and spreads, to
    /// measure each test's type-I rate at α = 0.05 and print it beside the p-value; a
    /// test rejecting more than 8% of them (and significantly more than 5%) is "not
    /// applicable here" and gives no evidence to the ranking. Default: as many replicates
    /// as 80 million station-draws allow, at most 200 (200 on Russia 2018's 97,699
    /// stations; skipped with a note above 666,666 stations, where 30 would not fit).
    #[arg(long, value_name = "R")]
    pub calibration_reps: Option<usize>,
    /// Skip the clean replicates even if --calibration-reps is given: the tests' type-I
    /// rates and the clean baselines of the estimates without a p-value (fingerprint
    /// f_i/f_e, skewness, kurtosis, correlations, Sobyanin's slope: on Russia 2018 about
    /// 6 CPU-s, mostly the fingerprint's refits). Shpilkin's headline keeps its own clean
    /// baseline (20 replicates, under 0.5 s).
    #[arg(long)]
    pub no_calibration: bool,
    /// Also print the top N stations and commissions with their reasons.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Print nothing on stdout.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the charts (DIR/charts/*.png, *.svg) and the report (report.html, report.md).
    #[arg(long)]
    pub no_charts: bool,
    /// Keep stations abroad in the statistical tests (set aside by default, as they
    /// follow other laws). Published tables that include them (Kobak, Shpilkin &
    /// Pshenichnikov's integer-excess figures) are reproduced with it.
    #[arg(long)]
    pub include_abroad: bool,
    /// The exact digit null's model of each station's count: `beta-binomial` (the
    /// posterior predictive of a beta prior fitted per commission and candidate; holds on
    /// national files where counts are small) or `plugin` (`Binomial(n, x/n)` at the
    /// station's own share, as before version 0.x: biased for small candidates on tens of
    /// thousands of stations). See docs/methods or `stats::digits::prior`.
    #[arg(long, value_enum, default_value_t = crate::stats::digits::DigitNull::BetaBinomial, value_name = "MODEL")]
    pub digit_null: crate::stats::digits::DigitNull,
    /// Observers' records of some stations (see `tallyscope compare --help`): every
    /// discrepancy becomes the strongest evidence in the station and commission ranking,
    /// report.html gets a section, stations.csv three columns, and DIR/observed/ the
    /// files and chart of `compare`.
    #[arg(long, value_name = "FILE", help_heading = "Observers' records")]
    pub observed: Option<PathBuf>,
    /// What the observed figures are: copy, minimum or sample.
    #[arg(long, value_enum, default_value_t = crate::compare::Mode::Copy, value_name = "KIND", help_heading = "Observers' records")]
    pub observed_as: crate::compare::Mode,
    /// Join key, as `compare --join` (OFFICIAL_COL=OBSERVED_COL; repeat for a composite key).
    #[arg(long, value_name = "OFFICIAL_COL=OBSERVED_COL", value_delimiter = ',', help_heading = "Observers' records")]
    pub observed_join: Vec<String>,
    /// An observed column and what it holds, as `compare --observed-column`.
    #[arg(long, value_name = "OBS=TARGET", help_heading = "Observers' records")]
    pub observed_column: Vec<String>,
    /// Mapping file for the observed columns, as `compare --observed-mapping`.
    #[arg(long, value_name = "FILE", help_heading = "Observers' records")]
    pub observed_mapping: Option<PathBuf>,
    /// Join keys that differ only by zero padding or spaces.
    #[arg(long, alias = "normalize-keys", help_heading = "Observers' records")]
    pub normalise_keys: bool,
}

/// `--observed`: reads the observers' file, compares, and returns the comparison with
/// the observed table (folded into the analysis by [`fold_observed`]).
fn compare_observed(args: &Args, path: &std::path::Path, ing: &crate::ingest::Ingested) -> Result<(crate::compare::Comparison, crate::compare::Observed)> {
    use crate::compare;
    let oo = super::compare::observed_options(&args.observed_join, &args.observed_column, args.observed_mapping.as_deref(), &args.input.na, false)?;
    let obs = compare::read::load(path, &ing.election, &ing.report.columns, &oo)?;
    let j = compare::join::join(&ing.election, &obs, args.normalise_keys);
    if j.pairs.is_empty() {
        return Err(Error::usage(format!("--observed {}: no observed station joins an official one (key {})", path.display(), j.report.key.join(", "))));
    }
    let c = compare::compare(&ing.election, &obs, &j, &compare::Options { mode: args.observed_as, ..Default::default() })?;
    Ok((c, obs))
}

/// Adds the comparison to the ranking and the analysis, writes DIR/observed/.
fn fold_observed(a: &mut Analysis, c: crate::compare::Comparison, obs: &crate::compare::Observed, out: &std::path::Path, quiet: bool) -> Result<()> {
    let e = a.election.clone();
    crate::rank::observed::apply(&e, &mut a.stations_ranked, &mut a.commissions, &c, a.flag_threshold);
    a.station_order = crate::rank::order(&a.stations_ranked);
    crate::export::compare::write_all(&out.join("observed"), &c, &e, obs)?;
    crate::render::compare::write(&c, &e, &out.join("observed"))?;
    if !quiet {
        eprint!("{}", crate::compare::words::summary(&c, &e));
    }
    a.observed = Some(std::sync::Arc::new(c));
    Ok(())
}

impl Args {
    /// Several files, or one split by a column: the batch run (`batch.rs`).
    pub fn is_batch(&self) -> bool {
        !self.more.is_empty() || self.split_by.is_some()
    }
}

/// One file into one folder (several: [`super::batch::run`], chosen by `cli::run`).
pub fn run(args: Args) -> Result<i32> {
    let t0 = Instant::now();
    // The folder holds one run: refuse a file, clear an earlier run's files, before reading.
    let removed = super::folder::prepare_dir(&args.out)?;
    super::folder::say_removed(&args.out, &removed);
    let bar = super::progress::bar(None, "", args.quiet);
    bar.set_message(format!("reading {}", args.input.file.display()));
    let ing = args.input.load()?;
    report_rows(&ing.report);
    let opt = options(&args, &ing.election)?;
    let observed = match &args.observed {
        Some(p) => Some(compare_observed(&args, p, &ing)?),
        None => None,
    };
    let t1 = Instant::now();
    analysis::phase_memory("read");
    bar.set_message(format!("analysing {} stations", thousands(ing.election.len() as u64)));
    let done = std::sync::Mutex::new(Vec::<String>::new());
    let mut a = analysis::run_with_progress(ing, &opt, &|m| {
        let mut d = done.lock().expect("no panics while holding it");
        d.push(m.to_string());
        bar.set_message(format!("analysing: done {}", d.join(", ")));
    });
    if let Some((c, obs)) = observed {
        fold_observed(&mut a, c, &obs, &args.out, args.quiet)?;
    }
    let t2 = Instant::now();
    analysis::phase_memory("analysis");
    bar.set_message("writing results");
    let written = super::folder::write_outputs(&a, &args.out, &args.format, !args.no_charts)?;
    bar.finish_and_clear();
    if std::env::var_os("TALLYSCOPE_PHASES").is_some() {
        eprintln!("phases: read {:.3} s, analysis {:.3} s, write {:.3} s", (t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64(), t2.elapsed().as_secs_f64());
    }
    if !args.quiet {
        print!("{}", super::folder::table(&a));
        if let Some(n) = args.top {
            print!("\n{}", super::rank::top_lists(&a, n));
        }
    }
    // A method the user asked for by name that did not run says why (the report lists it too).
    if args.mixture && a.mixture.is_none() {
        let why = a.skipped.iter().find(|(m, _)| m == "mixture").map_or("not fitted", |(_, w)| w.as_str());
        eprintln!("tallyscope: --mixture: the finite mixture was not fitted: {why}");
    }
    eprintln!(
        "tallyscope: analysed {} stations in {:.2} s; wrote {}",
        thousands(a.stations as u64),
        t0.elapsed().as_secs_f64(),
        written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(0)
}

/// The analysis options the flags ask for, on this election (`--leader` is a name).
pub fn options(args: &Args, e: &crate::Election) -> Result<analysis::Options> {
    let leader = match &args.leader {
        None => None,
        Some(name) => Some(e.candidates.iter().position(|c| c == name).ok_or_else(|| {
            Error::usage(format!(
                "--leader \"{name}\": no such candidate in {}; candidates are: {}",
                args.input.file.display(),
                e.candidates.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
            ))
        })?),
    };
    Ok(analysis::Options {
        leader,
        seed: args.seed,
        bootstrap: args.bootstrap,
        fingerprint: !args.no_fingerprint,
        fingerprint_bootstrap: args.fingerprint_bootstrap,
        mixture: args.mixture,
        mixture_bootstrap: args.mixture_bootstrap,
        digit_draws: args.digit_draws,
        mc: args.mc,
        coarse: crate::stats::rozenas::RozenasOptions {
            max_denominator: args.max_denominator,
            draws: args.rozenas_draws,
            candidates: args.coarse_candidates,
            max_stations: args.coarse_max_stations,
            spikes: args.spikes,
            ..Default::default()
        },
        penultimate: args.penultimate,
        flag_threshold: args.flag_threshold,
        calibration_reps: if args.no_calibration { 0 } else { args.calibration_reps.unwrap_or(analysis::AUTO_REPS) },
        include_abroad: args.include_abroad,
        digit_null: args.digit_null,
        baseline_reps: if args.no_calibration { 0 } else { crate::calibrate::baselines::REPLICATES },
        fingerprint_baseline_reps: if args.no_calibration { 0 } else { crate::calibrate::baselines::FINGERPRINT_REPLICATES },
        mixture_baseline_reps: if args.no_calibration { 0 } else { crate::calibrate::baselines::MIXTURE_REPLICATES },
        ..Default::default()
    })
}

