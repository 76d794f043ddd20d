//! `tallyscope inspect FILE`: what was recognised in a file, before any analysis.

use super::input::{InputArgs, report_rows};
use crate::export::thousands;
use crate::ingest::Ingested;
use crate::model::{Role, Special};
use crate::Result;
use serde_json::{Value, json};

/// Show what tallyscope recognised in a protocol file.
///
/// Prints the layout, the row accounting (every data row is a station, an unpublished
/// protocol, or a skipped row), each role and the column(s) mapped to it and why,
/// the hierarchy levels with their unit counts, and the candidates with national totals
/// and the leader. Run it first on any new file; if a role is wrong or missing, name
/// the column with a flag (--registered COL, --issued COL1,COL2, --candidates …) or a
/// mapping file (--mapping map.toml) with the same keys:
///
///   registered = "Registered voters"
///   issued = ["Issued early", "Issued on the day"]
///   in_boxes = ["Portable", "Stationary"]
///   valid = "Valid"
///   invalid = "Invalid"
///   candidates = ["Smith", "Jones"]
///   region = "Oblast"
///   commission = "District"
///   station = "Precinct"
///   ignore = ["comment"]
///   [long]
///   station = ["county", "precinct"]
///   candidate = "candidate"
///   votes = "votes"
///   where = ["office=President"]
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print JSON instead of text (keys: stations, registered_total, leader, roles, …).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let ing = args.input.load()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&ing)).expect("JSON of plain values"));
    } else {
        print!("{}", to_text(&ing));
        report_rows(&ing.report);
    }
    Ok(0)
}

fn role_columns(ing: &Ingested, role: Role) -> Vec<&str> {
    ing.report.columns.iter().filter(|c| c.used_as == role.key()).map(|c| c.name.as_str()).collect()
}

pub fn to_json(ing: &Ingested) -> Value {
    let e = &ing.election;
    let r = &ing.report;
    let totals = e.candidate_totals();
    let leader = e.leader();
    let mut roles = serde_json::Map::new();
    for role in Role::ALL {
        let cols = role_columns(ing, role);
        roles.insert(role.key().into(), if cols.is_empty() { Value::Null } else { json!(cols) });
    }
    let station_cols: Vec<&str> =
        r.columns.iter().filter(|c| c.used_as == "station").map(|c| c.name.as_str()).collect();
    roles.insert("station".into(), if station_cols.is_empty() { Value::Null } else { json!(station_cols) });
    json!({
        "file": r.file,
        "container": r.container,
        "delimiter": r.delimiter,
        "bom": r.bom,
        "layout": r.layout,
        "stations": e.len(),
        "registered_total": e.total(Role::Registered),
        "leader": leader.map(|j| e.candidates[j].clone()),
        "roles": roles,
        "rows": {
            "in_file": r.rows_in_file,
            "used": r.rows_used,
            "unpublished": r.rows_unpublished,
            "filtered": r.rows_filtered,
            "skipped": r.rows_skipped,
            "skips": r.skips,
        },
        "special": {
            "abroad": e.special.iter().filter(|s| **s == Some(Special::Abroad)).count(),
            "electronic": e.special.iter().filter(|s| **s == Some(Special::Electronic)).count(),
        },
        "levels": e.levels.iter().map(|l| json!({"name": l.name, "column": l.column, "units": l.n_units()})).collect::<Vec<_>>(),
        "candidates": e.candidates.iter().zip(&totals).enumerate().map(|(j, (c, t))| json!({"name": c, "votes": t, "leader": Some(j) == leader})).collect::<Vec<_>>(),
        "totals": Role::ALL.iter().map(|&ro| (ro.key().to_string(), json!(e.total(ro)))).collect::<serde_json::Map<_, _>>(),
        "columns": r.columns,
        "unpublished": e.unpublished,
        "missing_pairs_as_zero": r.missing_pairs_as_zero,
    })
}

pub fn to_text(ing: &Ingested) -> String {
    use std::fmt::Write;
    let e = &ing.election;
    let r = &ing.report;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "file        {} ({}, delimiter '{}', {})",
        r.file,
        r.container,
        r.delimiter,
        if r.bom { "UTF-8 with BOM" } else { "UTF-8" }
    );
    let _ = writeln!(s, "layout      {}", r.layout);
    let _ = write!(
        s,
        "rows        {} data rows: {} used, {} unpublished (no counts), {} skipped",
        thousands(r.rows_in_file),
        thousands(r.rows_used),
        thousands(r.rows_unpublished),
        thousands(r.rows_skipped)
    );
    if r.rows_filtered > 0 {
        let _ = write!(s, ", {} filtered out by --where", thousands(r.rows_filtered));
    }
    s.push('\n');
    let abroad = e.special.iter().filter(|x| **x == Some(Special::Abroad)).count();
    let electronic = e.special.iter().filter(|x| **x == Some(Special::Electronic)).count();
    let _ = writeln!(
        s,
        "stations    {} (abroad: {}, electronic/pseudo: {})",
        thousands(e.len() as u64),
        thousands(abroad as u64),
        thousands(electronic as u64)
    );
    match e.total(Role::Registered) {
        Some(t) => {
            let _ = writeln!(s, "registered  {}", thousands(t));
        }
        None => {
            let _ = writeln!(s, "registered  absent (turnout cannot be computed)");
        }
    }
    let _ = writeln!(s, "\nroles");
    for role in Role::ALL {
        let cols = role_columns(ing, role);
        let label = if role.symbol().is_empty() { role.key().to_string() } else { format!("{} ({})", role.key(), role.symbol()) };
        if cols.is_empty() {
            let _ = writeln!(s, "  {label:<16} absent");
        } else {
            let how = ing.report.columns.iter().find(|c| c.used_as == role.key()).map(|c| c.how.as_str()).unwrap_or("");
            let total = e.total(role).map(thousands).unwrap_or_default();
            let _ = writeln!(s, "  {label:<16} {total:>14}  {}  [{how}]", cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(" + "));
        }
    }
    let _ = writeln!(s, "\nhierarchy");
    for l in &e.levels {
        let _ = writeln!(s, "  {:<12} {:>8} units  (column \"{}\")", l.name, thousands(l.n_units() as u64), l.column);
    }
    match r.columns.iter().find(|c| c.used_as == "station") {
        Some(c) => {
            let _ = writeln!(s, "  {:<12} {:>8}        (column \"{}\")", "station id", thousands(e.len() as u64), c.name);
        }
        None => {
            let _ = writeln!(s, "  station id   absent: stations are named by their line number");
        }
    }
    let totals = e.candidate_totals();
    let all: u64 = totals.iter().sum();
    let leader = e.leader();
    let _ = writeln!(s, "\ncandidates ({})", e.candidates.len());
    let w = e.candidates.iter().map(|c| c.chars().count()).max().unwrap_or(10).min(60);
    for (j, c) in e.candidates.iter().enumerate() {
        let name = c.as_str();
        let pad = w.saturating_sub(name.chars().count());
        let _ = writeln!(
            s,
            "  {name}{} {:>14} {:>7.2}%{}",
            " ".repeat(pad),
            thousands(totals[j]),
            if all > 0 { 100.0 * totals[j] as f64 / all as f64 } else { 0.0 },
            if Some(j) == leader { "  <- leader" } else { "" }
        );
    }
    let ignored: Vec<_> = r.columns.iter().filter(|c| c.used_as == "ignored").collect();
    if !ignored.is_empty() {
        let _ = writeln!(s, "\nignored columns ({})", ignored.len());
        for c in ignored {
            let _ = writeln!(s, "  \"{}\": {}", c.name, c.how);
        }
    }
    if r.missing_pairs_as_zero > 0 {
        let _ = writeln!(
            s,
            "\nnote: {} station × candidate pairs had no row and count as 0 votes",
            thousands(r.missing_pairs_as_zero)
        );
    }
    s
}
