//! `tallyscope compare OFFICIAL OBSERVED`: official results against observers' records.

use super::input::{InputArgs, report_rows};
use crate::compare::{self, Mode, ObservedOptions};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Compare official results with what observers recorded at the stations.
///
/// OFFICIAL is any protocol file `analyze` reads (same recognition, flags and mapping).
/// OBSERVED is a second file, one row per observed station, with the figures the
/// observers collected there. Its columns are matched to the official candidates and
/// protocol lines by name (ignoring case, spaces and punctuation: "candidate a" matches
/// "Candidate A"), then by the same recognition rules as protocol files ("Valid ballots"
/// is `valid`); name the others with --observed-column OBS=TARGET or --observed-mapping.
/// Rows are joined on the station key: the official station column, found by name in
/// OBSERVED, or --join OFFICIAL_COL=OBSERVED_COL (repeat for a composite key, e.g.
/// --join region=Oblast --join station=UIK).
///
/// WHAT THE OBSERVED FIGURES ARE (--observed-as)
///   copy     the protocol as signed at the count (a photo or certified copy): every
///            difference from the published figure is an alteration after the count.
///   minimum  confirmed lower bounds (photographed ballots, voters who confirmed their
///            vote): an official figure BELOW the observed one is impossible; the
///            shortfall is the smallest number of votes taken from that candidate.
///   sample   a parallel vote tabulation: true counts at a random sample of stations.
///            Each candidate's national share is estimated with a margin of error (the
///            NDI quick-count method, Estok, Nevitte & Cowan 2002; --strata LEVEL for
///            a sample stratified by region) and an official share outside it is
///            flagged; differences at the sampled stations are listed as for copy.
///
/// NOTHING IS SILENT. Stations in one file only, keys that appear twice, keys that match
/// only once zero padding and spaces are ignored ("0012" vs "12": --normalise-keys joins
/// them), observed columns that match nothing, negative or non-numeric observed figures
/// (an error naming file, line, column and value; --skip-bad-cells lists them and goes
/// on) — each is counted, printed and kept in summary.json. An empty cell is "not
/// observed", never 0.
///
/// WRITES INTO --out DIR
///   discrepancies.csv  one row per station × field in discrepancy: station, region,
///                      commission (the official levels), field, official, observed,
///                      difference (official − observed), official_line, observed_line
///   stations.csv       every joined station: fields compared, fields differing, votes
///                      moved (minimum: votes taken at least)
///   summary.json       join accounting, column matching, counts, votes moved per
///                      candidate (gained, lost, net; from whom to whom), PVT estimates
///   compare.png/.svg   official vs observed votes per candidate, and votes moved
/// and prints the outcome in plain words on stderr.
///
/// EXAMPLE (simulated, ground truth known)
///   tallyscope simulate -o e.csv --truth t.csv --fraud transfer:0.05 \
///       --observers 0.2 --observer-kind copy          # also writes e.observed.csv
///   tallyscope compare e.csv e.observed.csv --out cmp
///
/// Exit status: 0 no discrepancy, 1 discrepancies (or an official share outside the
/// PVT margin), 2 input or usage error.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// The observers' file (CSV, spreadsheet, zip or gzip, as for OFFICIAL).
    #[arg(value_name = "OBSERVED")]
    pub observed: PathBuf,
    /// What the observed figures are: copy, minimum or sample (see above).
    #[arg(long, value_enum, default_value_t = Mode::Copy, value_name = "KIND", help_heading = "Comparison")]
    pub observed_as: Mode,
    /// Output directory (created if missing; its three files are overwritten).
    #[arg(long, short, default_value = "tallyscope-compare", value_name = "DIR", help_heading = "Comparison")]
    pub out: PathBuf,
    /// Join key: an official column (the station column or a hierarchy column) and the
    /// observed column holding the same thing. Repeat, or separate with commas, for a
    /// composite key.
    #[arg(long, value_name = "OFFICIAL_COL=OBSERVED_COL", value_delimiter = ',', help_heading = "Comparison")]
    pub join: Vec<String>,
    /// Join keys that differ only by zero padding or spaces ("0012" = "12", "№ 5" = "№5").
    #[arg(long, alias = "normalize-keys", help_heading = "Comparison")]
    pub normalise_keys: bool,
    /// An observed column and what it holds: an official candidate's name, a protocol
    /// line key (registered, issued, in_boxes, valid, invalid, …) or "ignore". Repeatable.
    #[arg(long, value_name = "OBS=TARGET", help_heading = "Comparison")]
    pub observed_column: Vec<String>,
    /// Mapping file for the observed columns (TOML, or JSON if it ends in .json): a
    /// [columns] table, e.g. "Ballots for Smith (photo)" = "Smith". Flags override it.
    #[arg(long, value_name = "FILE", help_heading = "Comparison")]
    pub observed_mapping: Option<PathBuf>,
    /// sample: the official hierarchy level the sample was stratified by (e.g. region).
    #[arg(long, value_name = "LEVEL", help_heading = "Comparison")]
    pub strata: Option<String>,
    /// sample: confidence of the margins of error.
    #[arg(long, default_value_t = 0.95, value_name = "P", help_heading = "Comparison")]
    pub confidence: f64,
    /// List unreadable observed cells (negative, not a number) and leave them out,
    /// instead of stopping at the first.
    #[arg(long, help_heading = "Comparison")]
    pub skip_bad_cells: bool,
    /// Text encoding of the observed file (as --encoding).
    #[arg(long, value_name = "NAME", help_heading = "Comparison")]
    pub observed_encoding: Option<String>,
    /// Delimiter of the observed file (as --delimiter).
    #[arg(long, value_name = "CHAR", help_heading = "Comparison")]
    pub observed_delimiter: Option<String>,
    /// Sheet of an observed spreadsheet (as --sheet).
    #[arg(long, value_name = "NAME|NUMBER", help_heading = "Comparison")]
    pub observed_sheet: Option<String>,
    /// Skip the chart (compare.png, compare.svg: official vs observed votes per candidate,
    /// and the votes each gained or lost).
    #[arg(long, help_heading = "Comparison")]
    pub no_chart: bool,
    /// Print nothing but errors.
    #[arg(long, short, help_heading = "Comparison")]
    pub quiet: bool,
}

fn pair(flag: &str, s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => Ok((a.trim().to_string(), b.trim().to_string())),
        _ => Err(Error::usage(format!("{flag} \"{s}\": expected LEFT=RIGHT, e.g. {flag} station=UIK"))),
    }
}

/// The observed-file options of `compare` (shared with `analyze --observed`).
pub fn observed_options(
    join: &[String],
    columns: &[String],
    mapping: Option<&std::path::Path>,
    na: &[String],
    skip_bad_cells: bool,
) -> Result<ObservedOptions> {
    let mut o = ObservedOptions { na: na.to_vec(), skip_bad_cells, ..Default::default() };
    if let Some(m) = mapping {
        o.add_mapping_file(m)?;
    }
    for j in join {
        o.join.push(pair("--join", j)?);
    }
    for c in columns {
        o.columns.push(pair("--observed-column", c)?);
    }
    Ok(o)
}

pub fn run(args: Args) -> Result<i32> {
    let (ing, obs, c) = compute(&args)?;
    let e = &ing.election;
    let mut files = crate::export::compare::write_all(&args.out, &c, e, &obs)?;
    if !args.no_chart {
        files.extend(crate::render::compare::write(&c, e, &args.out)?);
    }
    if !args.quiet {
        for (n, w) in &c.unmatched_columns {
            eprintln!("tallyscope: {}: column \"{n}\" not compared: {w}", obs.file);
        }
        for b in &c.bad_cells {
            eprintln!("tallyscope: {}:{}: column \"{}\": value \"{}\": {} (left out)", obs.file, b.line, b.column, b.value, b.message);
        }
        for n in &obs.notes {
            eprintln!("tallyscope: {}: note: {n}", obs.file);
        }
        eprint!("{}", compare::words::summary(&c, e));
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        eprintln!("wrote {}", names.join(", "));
    }
    Ok(c.exit_code())
}

/// Reads both files, joins and compares them (what [`run`] writes out; the library
/// facade [`crate::api::compare`] returns it).
pub fn compute(args: &Args) -> Result<(crate::ingest::Ingested, compare::Observed, compare::Comparison)> {
    if !(args.confidence > 0.5 && args.confidence < 1.0) {
        return Err(Error::usage(format!("--confidence {}: expected a probability between 0.5 and 1, e.g. 0.95", args.confidence)));
    }
    let ing = args.input.load()?;
    if !args.quiet {
        report_rows(&ing.report);
    }
    let e = &ing.election;
    let mut oo = observed_options(&args.join, &args.observed_column, args.observed_mapping.as_deref(), &args.input.na, args.skip_bad_cells)?;
    oo.encoding = args.observed_encoding.clone();
    oo.delimiter = args.observed_delimiter.clone();
    oo.sheet = args.observed_sheet.clone();
    let strata = match &args.strata {
        None => None,
        Some(s) => {
            if args.observed_as != Mode::Sample {
                return Err(Error::usage("--strata is for --observed-as sample"));
            }
            let want = compare::read::compact(s);
            match e.levels.iter().position(|l| compare::read::compact(&l.name) == want || compare::read::compact(&l.column) == want) {
                Some(k) => Some(k),
                None => {
                    let names: Vec<&str> = e.levels.iter().map(|l| l.name.as_str()).collect();
                    return Err(Error::usage(format!(
                        "--strata \"{s}\": not a hierarchy level of the official file; its levels: {}",
                        crate::ingest::plan::list(&names, 8)
                    )));
                }
            }
        }
    };
    let obs = compare::read::load(&args.observed, e, &ing.report.columns, &oo)?;
    let j = compare::join::join(e, &obs, args.normalise_keys);
    if j.pairs.is_empty() {
        let ex_off = e.station.first().cloned().unwrap_or_default();
        let ex_obs = obs.keys.first().cloned().unwrap_or_default();
        return Err(Error::usage(format!(
            "no observed station joins an official one (key {}; official keys look like \"{ex_off}\", observed ones like \"{ex_obs}\"){}",
            j.report.key.join(", "),
            if j.report.near_match_count > 0 { "; with --normalise-keys some would" } else { "" }
        )));
    }
    let c = compare::compare(e, &obs, &j, &compare::Options { mode: args.observed_as, strata, confidence: args.confidence })?;
    Ok((ing, obs, c))
}
