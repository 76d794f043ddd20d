//! The library facade of the Python package (`python/`): reading an election from a path
//! or from CSV text held in memory, with the column mapping given as the mapping file's
//! keys; the analysis and simulation options parsed by the very flags of
//! `tallyscope analyze` and `tallyscope simulate` (same defaults, same checks, same
//! messages); and the result tables as typed columns.
//!
//! Nothing here knows Python: the bindings in `python/src/` only convert these values
//! (and hand the tables to polars as Arrow). Everything the command line does with the
//! same input and options, this does with the same functions, so results are identical.

use crate::analysis::{self, Analysis};
use crate::cli::{self, Cli, Command};
use crate::error::{Error, Result};
use crate::export::table::{Column, Table, Values};
use crate::ingest::{self, Ingested, Mapping};
use clap::Parser;
use std::path::Path;

/// How to read: the mapping's keys as JSON (`{"registered": "N", "issued": ["B1", "B2"],
/// "long": {"station": ["county", "precinct"], …}}`, the keys of a mapping file, see
/// [`crate::ingest::mapping`]), overlaid on a mapping file if one is named, plus the
/// reader's switches. `what` names the keywords' origin in messages (e.g. `read()`).
pub fn read_options(
    what: &str,
    mapping_json: &str,
    mapping_file: Option<&Path>,
    skip_bad_rows: bool,
    encoding: Option<String>,
    sheet: Option<String>,
) -> Result<ingest::Options> {
    let keywords = Mapping::parse(what, mapping_json, true)?;
    let mapping = match mapping_file {
        Some(p) => Mapping::from_file(p)?.overlay(keywords),
        None => keywords,
    };
    if let Some(e) = &encoding {
        ingest::encoding::for_label(e)?; // a usage error before any file is read
    }
    Ok(ingest::Options { long: mapping.long.is_some(), mapping, skip_bad_rows, encoding, sheet })
}

/// Reads a protocol file as `analyze` does (refusing a stacked file or one without
/// candidates, with the same messages).
pub fn read_path(path: &Path, opts: &ingest::Options) -> Result<Ingested> {
    cli::input::analysable(ingest::load(path, opts)?)
}

/// Reads protocols held in memory as CSV text (a DataFrame written out by the caller);
/// `name` stands for the file in messages.
pub fn read_bytes(name: &str, bytes: Vec<u8>, opts: &ingest::Options) -> Result<Ingested> {
    cli::input::analysable(ingest::load_bytes(name, bytes, opts)?)
}

/// `tallyscope inspect --json` of an election read.
pub fn inspect_json(ing: &Ingested) -> String {
    cli::inspect::to_json(ing).to_string()
}

/// Parses `tallyscope <command> <args…>` with the command line's own parser.
fn parse(args: &[&str]) -> Result<Command> {
    let argv = std::iter::once("tallyscope").chain(args.iter().copied());
    Cli::try_parse_from(argv).map(|c| c.command).map_err(|e| Error::usage(e.render().to_string().trim_end().to_string()))
}

/// The analysis options of `tallyscope analyze FILE <flags…>` on this election: `flags`
/// are the command line's (`["--seed", "7", "--no-calibration"]`), parsed by its own
/// parser, so defaults and messages are the command line's.
/// `file` names the source in messages.
pub fn analysis_options(file: &str, e: &crate::Election, flags: &[String]) -> Result<analysis::Options> {
    let mut argv: Vec<&str> = vec!["analyze", file];
    argv.extend(flags.iter().map(String::as_str));
    match parse(&argv)? {
        Command::Analyze(args) if !args.is_batch() => cli::analyze::options(&args, e),
        _ => Err(Error::usage("analyze: one election at a time here (no --split-by or more files)")),
    }
}

/// The checks, the battery and the ranking, as `analyze` runs them.
pub fn analyze(ing: Ingested, opt: &analysis::Options) -> Analysis {
    analysis::run(ing, opt)
}

/// `summary.json` of an analysis.
pub fn summary_json(a: &Analysis) -> Vec<u8> {
    use crate::export::Exporter;
    crate::export::summary_json::SummaryJson.serialize(a).expect("writing into memory cannot fail")
}

/// Writes the analysis folder `analyze --out DIR` writes (tables in `formats`,
/// `violations.csv`, and with `charts` the charts and the report); returns the files.
pub fn write_folder(a: &Analysis, dir: &Path, formats: &[&str], charts: bool) -> Result<Vec<std::path::PathBuf>> {
    use clap::ValueEnum;
    let formats = formats
        .iter()
        .map(|f| crate::export::Format::from_str(f, true).map_err(|_| Error::usage(format!("format \"{f}\": expected csv, json or parquet"))))
        .collect::<Result<Vec<_>>>()?;
    cli::folder::write_outputs(a, dir, &formats, charts)
}

/// Draws one chart (`tallyscope plot KIND`) of the analysis to `path` (.png or .svg).
pub fn plot(a: &Analysis, kind: &str, path: &Path) -> Result<()> {
    use crate::render::{Chart, Format};
    let chart = Chart::from_key(kind).ok_or_else(|| {
        Error::usage(format!(
            "unknown chart kind \"{kind}\"; kinds: {}",
            Chart::ALL.iter().map(|c| c.key()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let format = Format::from_path(path)
        .ok_or_else(|| Error::usage(format!("{}: the file name must end in .png or .svg", path.display())))?;
    if let Some(why) = chart.unavailable(a, &crate::render::data::Data::new(a.election(), crate::render::leader_index(a))) {
        return Err(Error::usage(format!("chart {kind} cannot be drawn for this election: {why}")));
    }
    crate::render::draw(chart, a, format, path)
}

/// The cells of one column of a result table: typed values, or a list of texts per row
/// (a station's reasons, a test's notes).
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    Values(Values),
    Lists(Vec<Vec<String>>),
}

/// A result table whose text lists are lists (`reasons`, `notes`), not joined text.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    pub columns: Vec<(String, Cells)>,
}

/// [`table`] with the `reasons` of the ranked lists as lists of pieces of evidence
/// ([`split_reasons`]) and the `notes` of `tests` as the tests' own lists of notes.
pub fn typed_table(a: &Analysis, name: &str) -> Result<Typed> {
    let t = table(a, name)?;
    let columns = t
        .columns
        .into_iter()
        .map(|Column { name: col, values }| {
            let cells = match (name, col.as_str(), values) {
                ("tests", "notes", _) => Cells::Lists(a.results.iter().map(|r| r.notes.clone()).collect()),
                ("stations" | "commissions" | "regions", "reasons", Values::Text(v)) => Cells::Lists(
                    v.iter().map(|s| s.as_deref().map(split_reasons).unwrap_or_default().into_iter().map(String::from).collect()).collect(),
                ),
                (_, _, values) => Cells::Values(values),
            };
            (col, cells)
        })
        .collect();
    Ok(Typed { columns })
}

/// The names of the result tables of [`table`].
pub const TABLES: [&str; 5] = ["tests", "stations", "commissions", "regions", "violations"];

/// One result table as typed columns: `tests`, `stations`, `commissions` and `regions`
/// as in the Parquet output ([`crate::export::table`]), `violations` as
/// `violations.csv` with typed columns.
pub fn table(a: &Analysis, name: &str) -> Result<Table> {
    Ok(match name {
        "tests" => crate::export::table::tests(a),
        "stations" => crate::export::table::stations(a),
        "commissions" => crate::export::table::units(a, &a.commissions),
        "regions" => crate::export::table::units(a, &a.regions),
        "violations" => violations(a.election(), &a.check_report),
        _ => return Err(Error::usage(format!("no table \"{name}\"; tables: {}", TABLES.join(", ")))),
    })
}

/// The protocol checks' violations (the columns of `violations.csv`, typed: `left`,
/// `right` and `gap` are null for the relations between stations).
pub fn violations(e: &crate::Election, r: &crate::checks::Report) -> Table {
    let v = &r.violations;
    let text = |f: &dyn Fn(&crate::checks::Violation) -> Option<String>| Values::Text(v.iter().map(f).collect());
    let mut columns = vec![
        Column { name: "line".into(), values: Values::Int(v.iter().map(|x| Some(e.line[x.station] as i64)).collect()) },
        Column { name: "station".into(), values: text(&|x| Some(e.station[x.station].clone())) },
    ];
    for l in &e.levels {
        let mut name = l.name.clone();
        while columns.iter().any(|c| c.name == name) {
            name.push('_');
        }
        columns.push(Column { name, values: text(&|x| Some(l.labels[l.code[x.station] as usize].clone())) });
    }
    let relational = |x: &crate::checks::Violation| matches!(x.rule, crate::checks::Rule::DuplicateId | crate::checks::Rule::IdenticalProtocol);
    let num = |f: &dyn Fn(&crate::checks::Violation) -> i64| Values::Int(v.iter().map(|x| (!relational(x)).then(|| f(x))).collect());
    for (name, values) in [
        ("rule", text(&|x| Some(x.rule.key().to_string()))),
        ("relation", text(&|x| Some(x.rule.relation().to_string()))),
        ("left", num(&|x| x.left)),
        ("right", num(&|x| x.right)),
        ("gap", num(&|x| x.gap)),
        ("other_station", text(&|x| x.other.map(|j| e.station[j].clone()))),
        ("other_line", Values::Int(v.iter().map(|x| x.other.map(|j| e.line[j] as i64)).collect())),
    ] {
        let mut name = name.to_string();
        while columns.iter().any(|c| c.name == name) {
            name.push('_');
        }
        columns.push(Column { name, values });
    }
    Table { columns }
}

/// The pieces of evidence of a `reasons` cell, in order: the cell is the pieces
/// (`TEXT [POINTS]`, points with one decimal) joined by `"; "`, so it splits only after
/// such a bracket, never inside a piece's own text.
pub fn split_reasons(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    let mut k = 0;
    while let Some(p) = s[k..].find("]; ").map(|p| p + k) {
        // The bracket before: `[`, an optional `-`, digits, `.`, one digit, `]`.
        let head = &s[start..=p];
        let ends_with_points = head.rfind('[').is_some_and(|o| {
            let inner = &head[o + 1..head.len() - 1];
            let digits = inner.strip_prefix('-').unwrap_or(inner);
            matches!(digits.split_once('.'), Some((i, f)) if !i.is_empty() && i.bytes().all(|c| c.is_ascii_digit()) && f.len() == 1 && f.bytes().all(|c| c.is_ascii_digit()))
        });
        if ends_with_points {
            out.push(&s[start..=p]);
            start = p + 3;
        }
        k = p + 3;
        if k >= b.len() {
            break;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// `tallyscope simulate -o … <flags…>`: the protocols and the ground truth as CSV text
/// (the files the command writes), and its one-paragraph summary.
pub fn simulate(flags: &[String]) -> Result<(Vec<u8>, Vec<u8>, String)> {
    let mut argv: Vec<&str> = vec!["simulate", "-o", "protocols.csv"];
    argv.extend(flags.iter().map(String::as_str));
    let Command::Simulate(args) = parse(&argv)? else { unreachable!("parsed as simulate") };
    let sim = crate::simulate::simulate(&args.config())?;
    let mut protocols = Vec::new();
    crate::simulate::write::write_protocols(&sim, &mut protocols).map_err(|e| Error::io("<memory>", e))?;
    let mut truth = Vec::new();
    crate::simulate::write::write_truth(&sim, &mut truth).map_err(|e| Error::io("<memory>", e))?;
    Ok((protocols, truth, cli::simulate::summary(&sim)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_split_after_points_only() {
        let s = "turnout 98% [2.5]; a text; with [a] bracket [1.0]; minor evidence [-0.3]";
        assert_eq!(split_reasons(s), ["turnout 98% [2.5]", "a text; with [a] bracket [1.0]", "minor evidence [-0.3]"]);
        assert!(split_reasons("").is_empty());
        assert_eq!(split_reasons("one [12.0]"), ["one [12.0]"]);
        assert_eq!(split_reasons(s).join("; "), s);
    }

    fn small() -> Ingested {
        let opts = read_options("test", "{}", None, false, None, None).unwrap();
        read_path(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/small.csv")), &opts).unwrap()
    }

    /// No flags: the options `tallyscope analyze FILE` uses (the command line's defaults).
    #[test]
    fn default_options_are_the_command_lines() {
        let ing = small();
        let o = analysis_options(&ing.report.file, &ing.election, &[]).unwrap();
        assert_eq!(o.seed, 20_260_101);
        assert_eq!(o.bootstrap, 100);
        assert_eq!(o.calibration_reps, analysis::AUTO_REPS);
        assert!(o.fingerprint);
        let o = analysis_options(&ing.report.file, &ing.election, &["--no-calibration".into(), "--seed".into(), "7".into()]).unwrap();
        assert_eq!((o.calibration_reps, o.seed), (0, 7));
        let e = analysis_options(&ing.report.file, &ing.election, &["--leader".into(), "Nobody".into()]).unwrap_err().to_string();
        assert!(e.contains("--leader \"Nobody\": no such candidate") && e.contains("\"Alice Archer\""), "{e}");
    }

    #[test]
    fn keywords_are_checked_like_a_mapping_file() {
        let e = read_options("read()", r#"{"registred": "N"}"#, None, false, None, None).unwrap_err().to_string();
        assert!(e.contains("registred"), "{e}");
        let o = read_options("read()", r#"{"registered": "N", "long": {"station": ["s"], "candidate": "c", "votes": "v"}}"#, None, false, None, None).unwrap();
        assert!(o.long);
    }

    #[test]
    fn violations_table_matches_the_check() {
        let ing = small();
        let r = crate::checks::run(&ing.election);
        let t = violations(&ing.election, &r);
        assert_eq!(t.rows(), r.violations.len());
        assert_eq!(t.rows(), 2, "fixtures/small.csv has two deliberate violations");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(&names[..2], ["line", "station"]);
        assert!(names.ends_with(&["rule", "relation", "left", "right", "gap", "other_station", "other_line"]));
    }
}
