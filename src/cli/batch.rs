//! `tallyscope analyze A B C --out DIR`: several elections in one run, each into its own
//! sub-folder, and an index comparing them (as the year-by-year comparisons of Kobak,
//! Shpilkin & Pshenichnikov).

use super::analyze::{Args, options};
use super::folder::{table, write_outputs};
use super::input::report_rows;
use crate::analysis::{self, Analysis};
use crate::error::{Error, Result};
use crate::export::thousands;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One election's line of the index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexRow {
    pub file: String,
    /// Sub-folder of the output directory holding this election's results.
    pub folder: String,
    pub stations: usize,
    pub registered: Option<u64>,
    pub turnout_pct: Option<f64>,
    pub leader: Option<String>,
    pub leader_share_pct: Option<f64>,
    /// Integer-percentage test, "turnout or leader's result" (stations).
    pub integer_observed: Option<f64>,
    pub integer_expected: Option<f64>,
    pub integer_excess: Option<f64>,
    pub integer_sd: Option<f64>,
    pub integer_p: Option<f64>,
    /// Shpilkin's anomalous votes and their 95% interval.
    pub anomalous_votes: Option<f64>,
    pub anomalous_low: Option<f64>,
    pub anomalous_high: Option<f64>,
    /// Klimek et al. fit.
    pub f_incremental: Option<f64>,
    pub f_extreme: Option<f64>,
    pub flagged_stations: usize,
    pub stations_with_violations: usize,
    pub seconds: f64,
}

/// Folder names for the files: the file name without `.csv`, `.zip`, `.gz`, made unique.
pub fn folders(files: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in files {
        let mut name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "stdin".into());
        for ext in [".gz", ".zip", ".csv", ".tsv", ".txt"] {
            if let Some(s) = name.strip_suffix(ext) {
                name = s.to_string();
            }
        }
        let base: String = name.chars().map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        let base = if base.is_empty() || base.starts_with('.') { format!("election{base}") } else { base };
        let mut name = base.clone();
        let mut k = 2;
        while out.contains(&name) {
            name = format!("{base}-{k}");
            k += 1;
        }
        out.push(name);
    }
    out
}

/// A folder name for a `--split-by` value: letters, digits, `-`, `_` and `.` kept.
fn folder_name(s: &str) -> String {
    let n: String = s.chars().map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if n.is_empty() || n.starts_with('.') { format!("election{n}") } else { n }
}

fn row(a: &Analysis, folder: &str, seconds: f64) -> IndexRow {
    let e = a.election();
    let reg = e.get(crate::model::Role::Registered).map(|v| v.iter().map(|&x| x as u64).sum::<u64>());
    let ballots = e.get(crate::model::Role::Issued).or(e.get(crate::model::Role::InBoxes)).map(|v| v.iter().map(|&x| x as u64).sum::<u64>());
    let leader = a.leader.as_ref().and_then(|l| e.candidates.iter().position(|c| c == l));
    let sums = e.vote_sums();
    let all_votes: u64 = sums.iter().sum();
    let share = leader.map(|j| e.votes[j].iter().map(|&x| x as u64).sum::<u64>() as f64 / all_votes.max(1) as f64 * 100.0);
    let int = a.nation("integer.either");
    let shp = a.nation("shpilkin.anomalous_votes");
    let fp = a.fingerprint.as_ref();
    IndexRow {
        file: a.read.file.clone(),
        folder: folder.to_string(),
        stations: a.stations,
        registered: reg,
        turnout_pct: reg.zip(ballots).map(|(r, b)| 100.0 * b as f64 / r.max(1) as f64),
        leader: a.leader.clone(),
        leader_share_pct: share,
        integer_observed: int.map(|r| r.statistic),
        integer_expected: int.and_then(|r| r.null_mean),
        integer_excess: int.and_then(|r| r.effect.or_else(|| r.null_mean.map(|m| r.statistic - m))),
        integer_sd: int.and_then(|r| r.null_sd),
        integer_p: int.and_then(|r| r.p),
        anomalous_votes: shp.map(|r| r.statistic),
        anomalous_low: shp.and_then(|r| r.extra.get("ci_low").copied()),
        anomalous_high: shp.and_then(|r| r.extra.get("ci_high").copied()),
        f_incremental: fp.map(|f| f.fit.f_i),
        f_extreme: fp.map(|f| f.fit.f_e),
        flagged_stations: a.stations_ranked.iter().filter(|s| s.flagged).count(),
        stations_with_violations: a.check.stations_with_violations,
        seconds,
    }
}

pub fn run(args: Args) -> Result<i32> {
    if args.observed.is_some() {
        return Err(Error::usage("--observed compares one official file: analyse it alone, without more files or --split-by"));
    }
    let t0 = Instant::now();
    // Jobs: one per file, or with --split-by one per value of that column of the file.
    let mut files = vec![args.input.file.clone()];
    files.extend(args.more.iter().cloned());
    let mut filters: Vec<Option<String>> = vec![None; files.len()];
    let mut names = folders(&files);
    if let Some(col) = &args.split_by {
        if files.len() > 1 {
            return Err(Error::usage("--split-by takes one file: it analyses each value of the column as its own election"));
        }
        let values = crate::ingest::column_values(&args.input.file, &args.input.options()?, col)?;
        if values.is_empty() {
            return Err(Error::usage(format!("--split-by \"{col}\": the file has no data rows")));
        }
        if values.len() > 50 {
            return Err(Error::usage(format!(
                "--split-by \"{col}\": {} distinct values; expected a round or race column with a few (use --where {col}=VALUE for one)",
                values.len()
            )));
        }
        eprintln!(
            "tallyscope: --split-by \"{col}\": {} elections: {}",
            values.len(),
            values.iter().map(|(v, c)| format!("\"{v}\" ({c} rows)")).collect::<Vec<_>>().join(", ")
        );
        files = vec![args.input.file.clone(); values.len()];
        filters = values.iter().map(|(v, _)| Some(format!("{col}={v}"))).collect();
        names = values.iter().map(|(v, _)| folder_name(&format!("{col}-{v}"))).collect();
    }
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 0 {
        return Err(Error::usage("analyze with several files or --split-by: standard input (-) cannot be one of them"));
    }
    let removed = super::folder::prepare_dir(&args.out)?;
    super::folder::say_removed(&args.out, &removed);
    let bar = super::progress::bar(Some(files.len() as u64), "files analysed", args.quiet);
    bar.set_message("batch");
    // Files in parallel: each analysis is parallel inside too; rayon shares the cores.
    let jobs: Vec<(&PathBuf, &String, &Option<String>)> = files.iter().zip(&names).zip(&filters).map(|((f, n), w)| (f, n, w)).collect();
    let done: Vec<Result<(Analysis, f64)>> = jobs
        .par_iter()
        .map(|&(f, name, filter)| {
            let t = Instant::now();
            let mut input = args.input.clone();
            input.file = f.clone();
            if let Some(w) = filter {
                input.filters.push(w.clone());
            }
            let ing = input.load()?;
            report_rows(&ing.report);
            let mut one = Args { input, more: Vec::new(), split_by: None, ..args.clone() };
            one.out = args.out.join(name);
            let opt = options(&one, &ing.election)?;
            let a = analysis::run(ing, &opt);
            write_outputs(&a, &one.out, &one.format, !one.no_charts)?;
            bar.inc(1);
            Ok((a, t.elapsed().as_secs_f64()))
        })
        .collect();
    bar.finish_and_clear();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for ((r, f), name) in done.into_iter().zip(&files).zip(&names) {
        match r {
            Ok((a, secs)) => {
                if !args.quiet {
                    println!("== {} ({}/)", f.display(), name);
                    print!("{}", table(&a));
                }
                rows.push(row(&a, name, secs));
            }
            Err(e) => {
                eprintln!("tallyscope: {}: not analysed: {e}", f.display());
                failed.push(f.display().to_string());
            }
        }
    }
    let written = write_index(&rows, &args.out)?;
    eprintln!(
        "tallyscope: analysed {} of {} files in {:.2} s; wrote {} sub-folders and {}",
        rows.len(),
        files.len(),
        t0.elapsed().as_secs_f64(),
        rows.len(),
        written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    if !failed.is_empty() {
        return Err(Error::usage(format!("{} of {} files could not be analysed: {}", failed.len(), files.len(), failed.join(", "))));
    }
    Ok(0)
}

fn io(p: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(p.display().to_string(), e)
}

/// Writes `index.csv`, `index.json` and `index.html` into `dir`.
pub fn write_index(rows: &[IndexRow], dir: &Path) -> Result<Vec<PathBuf>> {
    let csv_p = dir.join("index.csv");
    let mut w = csv::Writer::from_path(&csv_p).map_err(|e| Error::io(csv_p.display().to_string(), std::io::Error::other(e)))?;
    for r in rows {
        let mut r = r.clone();
        r.file = crate::export::safe_cell(&r.file).into_owned();
        r.leader = r.leader.map(|l| crate::export::safe_cell(&l).into_owned());
        w.serialize(r).map_err(|e| Error::io(csv_p.display().to_string(), std::io::Error::other(e)))?;
    }
    w.flush().map_err(io(&csv_p))?;
    let json_p = dir.join("index.json");
    let mut j = serde_json::to_vec_pretty(rows).map_err(|e| Error::io(json_p.display().to_string(), std::io::Error::other(e)))?;
    j.push(b'\n');
    std::fs::write(&json_p, j).map_err(io(&json_p))?;
    let html_p = dir.join("index.html");
    std::fs::write(&html_p, index_html(rows)).map_err(io(&html_p))?;
    Ok(vec![csv_p, json_p, html_p])
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.filter(|v| v.is_finite()).map(f).unwrap_or_else(|| "–".into())
}

/// The comparison page: one row per election, and the integer-percentage excess per
/// election as bars with ±2 null standard deviations (self-contained, no network).
pub fn index_html(rows: &[IndexRow]) -> String {
    use std::fmt::Write;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tallyscope: {} elections compared</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:75em}}table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ccc;padding:.3em .6em;text-align:right}}td:first-child,th:first-child{{text-align:left}}caption{{text-align:left;font-weight:bold;margin:.5em 0}}.note{{color:#555;max-width:60em}}</style></head><body>\n<h1>{} elections compared</h1>\n",
        rows.len(),
        rows.len()
    );
    h.push_str("<table><caption>One row per election; each name links to its own report.</caption>\n<tr><th>election</th><th>stations</th><th>turnout %</th><th>leader</th><th>leader share %</th><th>integer-percentage excess (± sd)</th><th>p</th><th>anomalous votes (95% interval)</th><th>f<sub>i</sub></th><th>f<sub>e</sub></th><th>flagged stations</th><th>stations with violations</th></tr>\n");
    for r in rows {
        let folder = escape_html(&r.folder);
        let _ = writeln!(
            h,
            "<tr><td><a href=\"{folder}/report.html\">{}</a><br><small>{folder}/</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&r.file),
            thousands(r.stations as u64),
            opt(r.turnout_pct, |v| format!("{v:.1}")),
            escape_html(r.leader.as_deref().unwrap_or("–")),
            opt(r.leader_share_pct, |v| format!("{v:.1}")),
            match (r.integer_excess, r.integer_sd) {
                (Some(x), Some(sd)) => format!("{x:+.0} ± {sd:.0}"),
                _ => "–".into(),
            },
            opt(r.integer_p, |p| if p < 1e-4 { format!("{p:.1e}") } else { format!("{p:.4}") }),
            match (r.anomalous_votes, r.anomalous_low, r.anomalous_high) {
                (Some(v), Some(lo), Some(hi)) => format!("{} ({} to {})", crate::numfmt::signed(v), crate::numfmt::signed(lo), crate::numfmt::signed(hi)),
                (Some(v), _, _) => crate::numfmt::signed(v),
                _ => "–".into(),
            },
            opt(r.f_incremental, |v| format!("{v:.3}")),
            opt(r.f_extreme, |v| format!("{v:.3}")),
            thousands(r.flagged_stations as u64),
            thousands(r.stations_with_violations as u64),
        );
    }
    h.push_str("</table>\n");
    h.push_str(&excess_svg(rows));
    h.push_str("<p class=\"note\">Integer-percentage excess: stations whose turnout or leader share is a whole percentage, minus the number the binomial null expects (Kobak, Shpilkin &amp; Pshenichnikov 2016, 2018); whiskers ±2 null standard deviations. Anomalous votes: the leader's votes beyond what clean elections simulated with each file's own commissions give (Shpilkin's method against a clean baseline; it assumes the leader-to-others ratio would not depend on turnout within a commission; in simulation it recovers extreme fraud and heavy stuffing within about 6%, light stuffing at 30–70%, and does not see votes moved evenly across turnout: docs/recovery.md). Read each election's report for the caveats and the calibration of every test.</p>\n</body></html>\n");
    h
}

/// Bars of the integer excess per election, ±2 sd whiskers, as inline SVG.
fn excess_svg(rows: &[IndexRow]) -> String {
    use std::fmt::Write;
    let pts: Vec<(&str, f64, f64)> =
        rows.iter().filter_map(|r| Some((r.folder.as_str(), r.integer_excess?, r.integer_sd.unwrap_or(0.0)))).collect();
    if pts.is_empty() {
        return String::new();
    }
    let (w, h, left, bottom, top) = (160.0 * pts.len() as f64 + 80.0, 320.0, 70.0, 60.0, 30.0);
    let hi = pts.iter().map(|p| p.1 + 2.0 * p.2).fold(0.0f64, f64::max).max(1.0);
    let lo = pts.iter().map(|p| p.1 - 2.0 * p.2).fold(0.0f64, f64::min);
    let y = |v: f64| top + (hi - v) / (hi - lo) * (h - top - bottom);
    let mut s = String::new();
    let _ = write!(s, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"integer-percentage excess per election\" font-family=\"sans-serif\" font-size=\"12\">");
    let _ = write!(s, "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">Excess integer-percentage stations per election (±2 sd)</text>", w / 2.0);
    let _ = write!(s, "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>", w - 10.0, y(0.0), y(0.0));
    let _ = write!(s, "<text x=\"14\" y=\"{:.1}\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\">stations (observed − expected)</text>", (h - bottom + top) / 2.0, (h - bottom + top) / 2.0);
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let _ = write!(s, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}</text><line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>", left - 6.0, y(v) + 4.0, v, w - 10.0, y(v), y(v));
    }
    for (i, (name, ex, sd)) in pts.iter().enumerate() {
        let x0 = left + 20.0 + 160.0 * i as f64;
        let (ya, yb) = (y(ex.max(0.0)), y(ex.min(0.0)));
        let _ = write!(s, "<rect x=\"{x0:.1}\" y=\"{ya:.1}\" width=\"100\" height=\"{:.1}\" fill=\"#3b6ea8\"/>", (yb - ya).max(0.5));
        let xc = x0 + 50.0;
        let _ = write!(s, "<line x1=\"{xc:.1}\" x2=\"{xc:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000\"/>", y(ex + 2.0 * sd), y(ex - 2.0 * sd));
        let _ = write!(s, "<text x=\"{xc:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", h - bottom + 18.0, escape_html(name));
        let _ = write!(s, "<text x=\"{xc:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:+.0}</text>", y(ex.max(0.0)) - 6.0, ex);
    }
    s.push_str("</svg></figure>\n");
    s
}
