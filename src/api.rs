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

/// Text cells laid end to end: cell `k` is `data[offsets[k]..offsets[k + 1]]`
/// (Arrow's large-string layout, so the bindings hand it over without a copy per cell);
/// `valid[k]` is false for a null cell (`valid` empty: none is null).
///
/// Invariant the Python bindings rely on (they skip Arrow's UTF-8 validation): `data` is
/// valid UTF-8, built only by appending whole `&str`s; `offsets` starts at 0, never
/// decreases, ends at `data.len()` and falls on the boundaries between those strings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlatText {
    pub data: Vec<u8>,
    pub offsets: Vec<i64>,
    pub valid: Vec<bool>,
}

impl FlatText {
    pub fn from_cells<'a>(cells: impl IntoIterator<Item = Option<&'a str>>) -> FlatText {
        let mut t = FlatText { data: Vec::new(), offsets: vec![0], valid: Vec::new() };
        let mut nulls = false;
        for c in cells {
            t.data.extend_from_slice(c.unwrap_or("").as_bytes());
            t.offsets.push(t.data.len() as i64);
            nulls |= c.is_none();
            t.valid.push(c.is_some());
        }
        if !nulls {
            t.valid.clear();
        }
        t
    }
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Cell `k` (`None` when null).
    pub fn get(&self, k: usize) -> Option<&str> {
        if self.valid.get(k) == Some(&false) {
            return None;
        }
        std::str::from_utf8(&self.data[self.offsets[k] as usize..self.offsets[k + 1] as usize]).ok()
    }
}

/// A list of texts per row: row `r` holds items `rows[r]..rows[r + 1]` of `items`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatLists {
    pub items: FlatText,
    pub rows: Vec<i64>,
}

impl FlatLists {
    /// Row `r`'s items.
    pub fn row(&self, r: usize) -> Vec<&str> {
        (self.rows[r] as usize..self.rows[r + 1] as usize).map(|k| self.items.get(k).unwrap_or("")).collect()
    }

    /// The lists of `rows`, each `items(row)`, built in parallel chunks and laid end to
    /// end in order (the same result for any number of threads).
    pub fn build<T: Sync>(rows: &[T], items: impl Fn(&T, &mut dyn FnMut(&str)) + Sync) -> FlatLists {
        use rayon::prelude::*;
        let parts: Vec<(Vec<u8>, Vec<i64>, Vec<i64>)> = rows
            .par_chunks(4096)
            .map(|chunk| {
                let (mut data, mut ends, mut counts) = (Vec::new(), Vec::new(), Vec::with_capacity(chunk.len()));
                for r in chunk {
                    let mut n = 0;
                    items(r, &mut |s: &str| {
                        data.extend_from_slice(s.as_bytes());
                        ends.push(data.len() as i64);
                        n += 1;
                    });
                    counts.push(n);
                }
                (data, ends, counts)
            })
            .collect();
        let total: usize = parts.iter().map(|p| p.0.len()).sum();
        let mut out = FlatLists { items: FlatText { data: Vec::with_capacity(total), offsets: vec![0], valid: Vec::new() }, rows: vec![0] };
        for (data, ends, counts) in parts {
            let base = out.items.data.len() as i64;
            out.items.data.extend_from_slice(&data);
            out.items.offsets.extend(ends.iter().map(|e| e + base));
            for c in counts {
                let last = *out.rows.last().expect("starts with 0");
                out.rows.push(last + c);
            }
        }
        out
    }
}

/// The cells of one column of a result table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// Numbers and booleans (`Values::Text` is never here: text is [`Cells::Text`]).
    Values(Values),
    Text(FlatText),
    /// A list of texts per row (a station's reasons, a test's notes).
    Lists(FlatLists),
}

impl Cells {
    /// Numbers and booleans as they are, text laid flat.
    pub fn from_values(v: Values) -> Cells {
        match v {
            Values::Text(t) => Cells::Text(FlatText::from_cells(t.iter().map(|s| s.as_deref()))),
            v => Cells::Values(v),
        }
    }
}

/// A result table with text laid flat and lists as lists (`reasons`, `notes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    pub columns: Vec<(String, Cells)>,
}

/// [`table`] as the bindings hand it over: the columns of the Parquet output, with the
/// `reasons` of the ranked lists as lists of pieces of evidence ([`split_reasons`]) and
/// the `notes` of `tests` as each test's own list. The stations table, national-sized,
/// is built here in parallel ([`typed_stations`]); the others from [`table`].
pub fn typed_table(a: &Analysis, name: &str) -> Result<Typed> {
    if name == "stations" {
        return Ok(typed_stations(a));
    }
    let t = table(a, name)?;
    let columns = t
        .columns
        .into_iter()
        .map(|Column { name: col, values }| {
            let cells = match (name, col.as_str(), values) {
                ("tests", "notes", _) => Cells::Lists(FlatLists::build(&a.results, |r, push| r.notes.iter().for_each(|n| push(n)))),
                ("commissions" | "regions", "reasons", Values::Text(v)) => Cells::Lists(FlatLists::build(&v, |s, push| {
                    if let Some(s) = s {
                        split_reasons(s).into_iter().for_each(&mut *push)
                    }
                })),
                (_, _, values) => Cells::from_values(values),
            };
            (col, cells)
        })
        .collect();
    Ok(Typed { columns })
}

/// The stations table of [`crate::export::table::stations`] (same columns, same
/// values; asserted by a test), built without a `String` per cell and with the reasons
/// formatted and split in parallel: it is the one national-sized table (97,699 rows on
/// Russia 2018, reasons included about 24 MB).
pub fn typed_stations(a: &Analysis) -> Typed {
    use crate::model::Role;
    let e = a.election();
    let order = &a.station_order;
    let s = |i: usize| &a.stations_ranked[i];
    let mut columns: Vec<(String, Cells)> = Vec::new();
    let mut push = |name: &str, cells: Cells| {
        let mut name = name.to_string();
        while columns.iter().any(|c| c.0 == name) {
            name.push('_');
        }
        columns.push((name, cells));
    };
    push("rank", Cells::Values(Values::Int((1..=order.len() as i64).map(Some).collect())));
    push("station", Cells::Text(FlatText::from_cells(order.iter().map(|&i| Some(e.station[i].as_str())))));
    for l in &e.levels {
        push(&l.name, Cells::Text(FlatText::from_cells(order.iter().map(|&i| Some(l.labels[l.code[i] as usize].as_str())))));
    }
    push("line", Cells::Values(Values::Int(order.iter().map(|&i| Some(e.line[i] as i64)).collect())));
    for (name, role) in [("registered", Role::Registered), ("issued", Role::Issued), ("in_boxes", Role::InBoxes), ("valid", Role::Valid)] {
        push(name, Cells::Values(Values::Int(order.iter().map(|&i| e.get(role).map(|v| v[i] as i64)).collect())));
    }
    let leader = a.leader.as_ref().and_then(|l| e.candidates.iter().position(|c| c == l));
    push("leader_votes", Cells::Values(Values::Int(order.iter().map(|&i| leader.map(|j| e.votes[j][i] as i64)).collect())));
    push("turnout_pct", Cells::Values(Values::Float(order.iter().map(|&i| s(i).turnout.map(|x| 100.0 * x)).collect())));
    push("leader_share_pct", Cells::Values(Values::Float(order.iter().map(|&i| s(i).share.map(|x| 100.0 * x)).collect())));
    for (name, f) in crate::export::ranking::MIXTURE_COLUMNS {
        push(name, Cells::Values(Values::Float(order.iter().map(|&i| a.mixture_at(i).map(f)).collect())));
    }
    push("score", Cells::Values(Values::Float(order.iter().map(|&i| Some(s(i).score)).collect())));
    push("flagged", Cells::Values(Values::Bool(order.iter().map(|&i| Some(s(i).flagged)).collect())));
    push("reasons", Cells::Lists(FlatLists::build(order, |&i, out| s(i).for_each_reason(&mut *out))));
    Typed { columns }
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

/// What [`simulate`] returns: the files `tallyscope simulate` writes, in memory.
pub struct Simulated {
    /// The protocols (`-o FILE`).
    pub protocols: Vec<u8>,
    /// The ground truth (`--truth FILE`).
    pub truth: Vec<u8>,
    /// With `--observers F`: the observers' records (`NAME.observed.csv`).
    pub observed: Option<Vec<u8>>,
    /// The summary it prints.
    pub summary: String,
}

/// `tallyscope simulate -o … <flags…>` without writing: the protocols, the ground truth
/// and (with `--observers`) the observers' records as CSV text, and its summary.
pub fn simulate(flags: &[String]) -> Result<Simulated> {
    let mut argv: Vec<&str> = vec!["simulate", "-o", "protocols.csv"];
    argv.extend(flags.iter().map(String::as_str));
    let Command::Simulate(args) = parse(&argv)? else { unreachable!("parsed as simulate") };
    let sim = crate::simulate::simulate(&args.config())?;
    let mem = |e: std::io::Error| Error::io("<memory>", e);
    let mut protocols = Vec::new();
    crate::simulate::write::write_protocols(&sim, &mut protocols).map_err(mem)?;
    let mut truth = Vec::new();
    crate::simulate::write::write_truth(&sim, &mut truth).map_err(mem)?;
    let observed = match args.observers {
        Some(f) => {
            let obs = crate::simulate::observers::observe(&sim, f, args.observer_kind)?;
            let mut v = Vec::new();
            crate::simulate::observers::write_observed(&sim, &obs, &mut v).map_err(mem)?;
            Some(v)
        }
        None => None,
    };
    Ok(Simulated { protocols, truth, observed, summary: cli::simulate::summary(&sim) })
}

/// What [`compare`] returns: the files `tallyscope compare` writes, in memory.
pub struct Compared {
    /// `discrepancies.csv`: one row per station × field that differs.
    pub discrepancies: Vec<u8>,
    /// `stations.csv`: one row per joined station.
    pub stations: Vec<u8>,
    /// `summary.json`.
    pub summary: String,
    /// The summary `compare` prints.
    pub words: String,
    /// The command's exit status: 0 no discrepancy, 1 discrepancies.
    pub exit_code: i32,
}

/// `tallyscope compare OFFICIAL OBSERVED <flags…>` without writing: the tables and the
/// summary it would write, from the command line's own parser and functions.
pub fn compare(official: &Path, observed: &Path, flags: &[String]) -> Result<Compared> {
    let (o, b) = (official.display().to_string(), observed.display().to_string());
    let mut argv: Vec<&str> = vec!["compare", &o, &b, "--quiet", "--no-chart"];
    argv.extend(flags.iter().map(String::as_str));
    let Command::Compare(args) = parse(&argv)? else { unreachable!("parsed as compare") };
    let (ing, obs, c) = cli::compare::compute(&args)?;
    let e = &ing.election;
    let mut discrepancies = Vec::new();
    crate::export::compare::write_discrepancies(&c, e, &mut discrepancies).map_err(|er| Error::io("<memory>", er))?;
    let mut stations = Vec::new();
    crate::export::compare::write_stations(&c, e, &mut stations).map_err(|er| Error::io("<memory>", er))?;
    Ok(Compared {
        discrepancies,
        stations,
        summary: crate::export::compare::summary(&c, e, &obs).to_string(),
        words: crate::compare::words::summary(&c, e),
        exit_code: c.exit_code(),
    })
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

    /// The parallel stations table holds what the Parquet output's does, column by column.
    #[test]
    fn typed_stations_equal_the_export_table() {
        let ing = small();
        let a = analyze(ing, &analysis::Options::default());
        let t = crate::export::table::stations(&a);
        let typed = typed_stations(&a);
        assert_eq!(typed.columns.len(), t.columns.len());
        assert!(a.stations_ranked.iter().any(|s| !s.evidence.is_empty()), "the fixture has stations with reasons");
        for ((name, cells), c) in typed.columns.iter().zip(&t.columns) {
            assert_eq!(name, &c.name);
            match (cells, &c.values) {
                (Cells::Values(v), w) => assert_eq!(v, w, "{name}"),
                (Cells::Text(f), Values::Text(w)) => {
                    assert_eq!(f.len(), w.len());
                    for (k, x) in w.iter().enumerate() {
                        assert_eq!(f.get(k), x.as_deref(), "{name} row {k}");
                    }
                }
                (Cells::Lists(l), Values::Text(w)) => {
                    for (k, x) in w.iter().enumerate() {
                        assert_eq!(&l.row(k).join("; "), x.as_deref().unwrap_or(""), "{name} row {k}");
                    }
                }
                _ => panic!("{name}: kinds differ"),
            }
        }
    }

    #[test]
    fn flat_lists_keep_order_across_chunks() {
        let rows: Vec<usize> = (0..10_000).collect();
        let l = FlatLists::build(&rows, |&r, push| (0..r % 3).for_each(|k| push(&format!("{r}.{k}"))));
        assert_eq!(l.rows.len(), 10_001);
        assert_eq!(l.row(0), Vec::<&str>::new());
        assert_eq!(l.row(5), ["5.0", "5.1"]);
        assert_eq!(l.row(9_998), ["9998.0", "9998.1"]);
        let t = FlatText::from_cells([Some("a"), None, Some("")]);
        assert_eq!((t.get(0), t.get(1), t.get(2)), (Some("a"), None, Some("")));
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
