//! The one place that writes an analysis folder: every table in the chosen formats,
//! `violations.csv`, the charts and the report; and the national table printed after a
//! run. `analyze` (one file), its batch mode (several files, `batch.rs`) and `demo` call it.

use crate::analysis::Analysis;
use crate::error::{Error, Result};
use crate::export::{self, thousands};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The files an analysis folder holds (every table in every format, the report), besides
/// `charts/` and `observed/`; a batch run's top folder adds `INDEX_FILES`.
pub const RUN_FILES: [&str; 17] = [
    "summary.json",
    "tests.csv",
    "tests.json",
    "tests.parquet",
    "stations.csv",
    "stations.json",
    "stations.parquet",
    "commissions.csv",
    "commissions.json",
    "commissions.parquet",
    "regions.csv",
    "regions.json",
    "regions.parquet",
    "violations.csv",
    "report.html",
    "report.md",
    "index.html",
];

/// Makes `dir` ready for one run: created if missing; an error in words if it is a file;
/// when it holds a previous run (its `summary.json` or a batch's `index.json`), that run's
/// known files are removed — the tables, the report, `charts/*.png|svg`, `observed/`, a
/// batch's index and sub-folders — so that the folder never mixes two runs. Files the
/// user put there are left alone. Returns the removed paths (said on stderr by the caller).
pub fn prepare_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(format!(
            "{} is a file, not a folder: the results are written into a folder (name a new or existing folder with --out)",
            dir.display()
        )));
    }
    let mut removed = Vec::new();
    if dir.is_dir() {
        clear_run(dir, &mut removed, 0)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    Ok(removed)
}

fn remove_file(p: &Path, removed: &mut Vec<PathBuf>) -> Result<()> {
    std::fs::remove_file(p).map_err(|e| Error::io(p.display().to_string(), e))?;
    removed.push(p.to_path_buf());
    Ok(())
}

/// Removes the files of `sub` whose extension is one of `exts`, then `sub` if empty.
fn clear_sub(sub: &Path, keep: impl Fn(&str) -> bool, removed: &mut Vec<PathBuf>) -> Result<()> {
    if !sub.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(sub).map_err(|e| Error::io(sub.display().to_string(), e))? {
        let p = entry.map_err(|e| Error::io(sub.display().to_string(), e))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if p.is_file() && !keep(&name) {
            remove_file(&p, removed)?;
        }
    }
    let _ = std::fs::remove_dir(sub); // only when empty
    Ok(())
}

fn clear_run(dir: &Path, removed: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    let single = dir.join("summary.json").is_file();
    let batch = dir.join("index.json").is_file();
    if !single && !batch {
        return Ok(());
    }
    for f in RUN_FILES.iter().chain(["index.csv", "index.json"].iter()) {
        let p = dir.join(f);
        if p.is_file() {
            remove_file(&p, removed)?;
        }
    }
    let charts: Vec<String> = crate::render::Chart::ALL.iter().flat_map(|c| ["png", "svg"].map(|x| format!("{}.{x}", c.key()))).collect();
    clear_sub(&dir.join("charts"), |n| !charts.iter().any(|c| c == n), removed)?;
    let observed = ["csv", "json", "png", "svg"];
    clear_sub(&dir.join("observed"), |n| !observed.iter().any(|x| n.ends_with(&format!(".{x}"))), removed)?;
    // A batch's sub-folders: each one election's run.
    if batch && depth == 0 {
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir.display().to_string(), e))? {
            let p = entry.map_err(|e| Error::io(dir.display().to_string(), e))?.path();
            if p.is_dir() && p.join("summary.json").is_file() {
                clear_run(&p, removed, depth + 1)?;
                let _ = std::fs::remove_dir(&p);
            }
        }
    }
    Ok(())
}

/// Says on stderr what [`prepare_dir`] removed.
pub fn say_removed(dir: &Path, removed: &[PathBuf]) {
    if !removed.is_empty() {
        eprintln!("tallyscope: {} held a previous run: removed its {} files before writing this one", dir.display(), removed.len());
    }
}

/// Writes every exporter's file (tables in `formats`) and `violations.csv` into `dir`
/// (created if missing), then, with `charts`, the charts and the report. A caller that
/// owns the folder calls [`prepare_dir`] first, so that no file of an earlier run stays.
pub fn write_outputs(a: &Analysis, dir: &std::path::Path, formats: &[export::Format], charts: bool) -> Result<Vec<PathBuf>> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(format!("{} is a file, not a folder: the results are written into a folder", dir.display())));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    use rayon::prelude::*;
    let mut written: Vec<PathBuf> =
        export::for_formats(formats).par_iter().map(|ex| export::write(ex.as_ref(), a, dir)).collect::<Result<_>>()?;
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
        Some(p) => crate::numfmt::p_value(p),
    }
}

/// The national results as a readable table.
pub fn table(a: &Analysis) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {} stations, leader: {}", a.read.file, thousands(a.stations as u64), a.leader.as_deref().unwrap_or("-"));
    let _ = writeln!(s, "\nprotocol checks\n{}", a.check);
    // Columns sized by display width (comfy-table: Cyrillic and names past 40 characters
    // stay aligned); one number style per column: statistic and expected as the readings
    // print them (grouped thousands), z to 2 decimals, p to 3 significant digits.
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    t.set_header(["test (nation)", "statistic", "expected", "z", "p", "type-I rate on clean data like this"]);
    let mut not_applicable = 0;
    // per-fraction coarse-share rows are summarised below the table
    for r in a.results.iter().filter(|r| r.scope == "nation" && !(r.test.starts_with("rozenas.") && r.test.contains('/'))) {
        let cal = match (r.p, r.calibrated_alpha) {
            (None, _) => String::new(),
            (Some(_), None) if r.notes.iter().any(|n| n == crate::calibrate::inline::RESAMPLED_NOTE) => "own resampled null".into(),
            (Some(_), None) => "not measured".into(),
            (Some(_), Some(c)) if a.calibration.as_ref().is_some_and(|k| k.not_applicable(&r.test, "nation")) => {
                not_applicable += 1;
                format!("{}  NOT APPLICABLE HERE", crate::report::reading::fmt_rate(c, r.extra.get("calibrated_alpha_se").copied()))
            }
            (Some(_), Some(c)) => crate::report::reading::fmt_rate(c, r.extra.get("calibrated_alpha_se").copied()),
        };
        t.add_row([
            r.test.clone(),
            crate::numfmt::number(r.statistic),
            r.null_mean.map(crate::numfmt::number).unwrap_or_else(|| "-".into()),
            r.z().map(|z| format!("{z:.2}")).unwrap_or_else(|| "-".into()),
            fmt_p(r.p),
            cal,
        ]);
    }
    for k in 1..=4 {
        if let Some(c) = t.column_mut(k) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    let _ = writeln!(s, "\n{}", t.lines().map(|l| l.trim_end().to_string()).collect::<Vec<_>>().join("\n"));
    if not_applicable > 0 {
        let _ = writeln!(
            s,
            "\n{not_applicable} test(s) reject more than {:.0}% of clean elections simulated like this file at α = 0.05: their p-values do not hold here and are not used as evidence in the ranking.",
            100.0 * crate::calibrate::NOT_APPLICABLE_ABOVE
        );
    }
    match &a.calibration {
        Some(c) => {
            let _ = writeln!(
                s,
                "type-I rates: {} clean replicates of this file (seed {}; --calibration-reps R for more, --no-calibration for none)",
                c.reps, c.seed
            );
        }
        None => {
            let _ = writeln!(
                s,
                "type-I rates not measured: {} (--calibration-reps R runs R clean replicates of this file)",
                a.calibration_skipped.as_deref().unwrap_or("--no-calibration")
            );
        }
    }
    for t in ["integer.turnout", "integer.leader", "integer.either"] {
        if let Some(r) = a.nation(t).filter(|r| r.extra.contains_key("mc_draws")) {
            let _ = writeln!(
                s,
                "{t}: Monte Carlo ({:.0} draws) expected {:.1}, sd {:.1}, p {}; exact null: expected {:.1}, sd {:.1}",
                r.extra["mc_draws"],
                r.extra["mc_mean"],
                r.extra["mc_sd"],
                fmt_p(Some(r.extra["mc_p"])),
                r.null_mean.unwrap_or(f64::NAN),
                r.null_sd.unwrap_or(f64::NAN)
            );
        }
    }
    if let Some(rz) = &a.rozenas {
        let _ = writeln!(s, "\ncoarse vote shares (Rozenas; k/d with d <= {}; per-fraction q-values):", rz.max_denominator);
        for c in &rz.ratios {
            let t = &c.result;
            let flagged: Vec<String> = t
                .fractions
                .iter()
                .filter(|f| f.q < 0.05)
                .map(|f| format!("{} ({:+.0}, q {})", f.fraction, f.observed as f64 - f.null_mean, fmt_p(Some(f.q))))
                .collect();
            let _ = writeln!(
                s,
                "  {}: {} stations vs {:.0} ± {:.0} expected, p {}; fractions with q < 0.05: {}",
                c.ratio,
                t.observed,
                t.null_mean,
                t.null_sd,
                fmt_p(Some(t.p)),
                if flagged.is_empty() { "none".into() } else { flagged.join(", ") }
            );
        }
    }
    if let Some(r) = a.nation("shpilkin.anomalous_votes") {
        let _ = writeln!(
            s,
            "\nanomalous votes (Shpilkin): {}\n  clean turnout {:.0}%, clean leader share {:.1}%\n  {}\n",
            crate::report::reading::shpilkin_reading(r),
            100.0 * r.extra["clean_turnout"],
            100.0 * r.extra["clean_leader_share"],
            crate::stats::shpilkin::ASSUMPTION
        );
    }
    s
}
