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
///   na = ["***"]                 # more "no data" values
///   where = ["KOLO=1"]           # one round or race of a stacked file
///   encoding = "windows-1250"    # as --encoding (the flag wins)
///   sheet = "Results"            # as --sheet
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
    let ing = args.input.load_any()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&ing)).expect("JSON of plain values"));
    } else {
        print!("{}", to_text(&ing));
        report_rows(&ing.report);
    }
    Ok(0)
}

/// The columns that identify a station: its hierarchy path and its own column(s).
pub fn station_key(ing: &Ingested) -> Vec<String> {
    let mut k: Vec<String> = ing.election.levels.iter().map(|l| format!("\"{}\"", l.column)).collect();
    for c in &ing.report.columns {
        if c.used_as == "station" || c.used_as == "station_name" {
            k.push(format!("\"{}\"", c.name));
        }
    }
    if ing.report.columns.iter().all(|c| c.used_as != "station") {
        k.push("line number".into());
    }
    k
}

/// A wide read that looks like a long file: one count column and text columns that
/// name candidates (or offices). Returns the command to try.
pub fn looks_long(ing: &Ingested) -> Option<String> {
    let r = &ing.report;
    if r.layout.starts_with("long") || ing.election.candidates.len() > 1 {
        return None;
    }
    let text: Vec<&str> = r
        .columns
        .iter()
        .filter(|c| c.used_as == "ignored" && c.how.contains("text"))
        .map(|c| c.name.as_str())
        .collect();
    // Candidate-name columns by the words of their header, most telling first.
    let named = |words: &[&str]| {
        words.iter().find_map(|w| {
            text.iter().find(|t| crate::ingest::recognise::normalise(t).split(' ').any(|x| x.starts_with(w)))
        })
    };
    let cand = named(&["candidat", "kandydat", "kandidat", "кандидат", "choice", "option", "party", "parti", "партия", "list", "name"])?;
    let votes = ing.election.candidates.first().map(|s| s.as_str()).unwrap_or("votes");
    let mut key: Vec<&str> = ing.election.levels.iter().map(|l| l.column.as_str()).collect();
    key.extend(r.columns.iter().filter(|c| c.used_as == "station").map(|c| c.name.as_str()));
    let filter = r.splits.iter().find(|s| s.values.len() > 1).map(|s| {
        let top = s.values.iter().max_by_key(|v| v.1).map(|v| v.0.as_str()).unwrap_or("");
        format!(" --where \"{}={}\"", s.column, top)
    });
    Some(format!(
        "try  tallyscope inspect FILE --long --candidate-column \"{cand}\" --votes-column \"{votes}\" --station \"{}\"{}",
        if key.is_empty() { "COL1,COL2".to_string() } else { key.join(",") },
        filter.unwrap_or_default()
    ))
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
        "encoding": r.encoding,
        "encoding_how": r.encoding_how,
        "encoding_detected": r.encoding_detected,
        "sheet": r.sheet,
        "sheets": r.sheets,
        "title_rows_skipped": r.title_rows_skipped,
        "header_rows": r.header_rows,
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
        "special": Special::ALL.iter().map(|&k| (k.key().to_string(), json!(e.special.iter().filter(|s| **s == Some(k)).count()))).collect::<serde_json::Map<_, _>>(),
        "levels": e.levels.iter().map(|l| json!({"name": l.name, "column": l.column, "units": l.n_units()})).collect::<Vec<_>>(),
        "station_key": station_key(ing),
        "splits": r.splits,
        "dropped_columns": r.dropped_columns,
        "partial_stations": r.partial_stations,
        "empty_votes_as_zero": r.empty_votes_as_zero,
        "notes": r.notes,
        "looks_long": looks_long(ing),
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
    let enc = if r.encoding.is_empty() { "UTF-8".to_string() } else { r.encoding.clone() };
    let how = if r.encoding_how.is_empty() || r.encoding_how == "valid UTF-8" { String::new() } else { format!(" ({})", r.encoding_how) };
    let _ = writeln!(
        s,
        "file        {} ({}, delimiter '{}', {}{}{})",
        r.file,
        r.container,
        r.delimiter,
        enc,
        if r.bom { " with BOM" } else { "" },
        how
    );
    if !r.sheet.is_empty() {
        let others: Vec<&str> = r.sheets.iter().filter(|x| **x != r.sheet).map(|x| x.as_str()).collect();
        let _ = writeln!(
            s,
            "sheet       \"{}\"{}",
            r.sheet,
            if others.is_empty() { String::new() } else { format!(" (others: {}; pick one with --sheet)", others.iter().map(|o| format!("\"{o}\"")).collect::<Vec<_>>().join(", ")) }
        );
    }
    if r.title_rows_skipped > 0 || r.header_rows > 1 {
        let _ = writeln!(
            s,
            "header      line {}{}{}",
            r.title_rows_skipped + 1,
            if r.title_rows_skipped > 0 { format!(", after {} title row(s)", r.title_rows_skipped) } else { String::new() },
            if r.header_rows > 1 { format!("; {} header rows combined (merged cells)", r.header_rows) } else { String::new() }
        );
    }
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
    let kinds: Vec<String> = Special::ALL
        .iter()
        .filter_map(|&k| {
            let c = e.special.iter().filter(|x| **x == Some(k)).count();
            (c > 0).then(|| format!("{} {}", thousands(c as u64), k.key()))
        })
        .collect();
    let _ = writeln!(
        s,
        "stations    {}{}",
        thousands(e.len() as u64),
        if kinds.is_empty() {
            " (no special stations)".to_string()
        } else {
            format!(" ({} set aside from the statistics: {})", kinds.join(", "), "see `Special stations` in the report")
        }
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
        } else if !e.has(role) {
            let _ = writeln!(s, "  {label:<16} dropped: {} empty (or filled on too few stations)", cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(" + "));
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
        Some(_) => {
            let _ = writeln!(s, "  {:<12} {:>8}        (key: {})", "station", thousands(e.len() as u64), station_key(ing).join(" / "));
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
    for sp in &r.splits {
        let vals: Vec<String> = sp.values.iter().take(8).map(|(v, c)| format!("\"{v}\" ({} rows)", thousands(*c))).collect();
        let first = sp.values.first().map(|v| v.0.as_str()).unwrap_or("");
        if sp.filtered {
            let _ = writeln!(s, "\nrounds/races: column \"{}\" holds {}; --where picked one", sp.column, vals.join(", "));
        } else if sp.values.len() > 1 {
            let _ = writeln!(
                s,
                "\nrounds/races: column \"{}\" splits the file into {} elections: {}\n  pick one:        --where \"{}={}\"\n  or each in turn: tallyscope analyze FILE --split-by \"{}\" --out DIR",
                sp.column,
                sp.values.len(),
                vals.join(", "),
                sp.column,
                first,
                sp.column
            );
        }
    }
    if !r.dropped_columns.is_empty() {
        let _ = writeln!(s, "\ndropped columns ({})", r.dropped_columns.len());
        for d in &r.dropped_columns {
            let _ = writeln!(s, "  {d}");
        }
    }
    if r.partial_stations > 0 {
        let _ = writeln!(
            s,
            "\nnote: {} stations published their protocol in part (a line is empty, '-' or 'NA'): rules that need the missing line are not checked there, and the statistics set them aside",
            thousands(r.partial_stations)
        );
    }
    if r.empty_votes_as_zero > 0 {
        let _ = writeln!(s, "\nnote: {} empty candidate cells on published protocols read as 0 votes (a party not on the ballot there)", thousands(r.empty_votes_as_zero));
    }
    for n in &r.notes {
        let _ = writeln!(s, "\nnote: {n}");
    }
    if let Some(hint) = looks_long(ing) {
        let _ = writeln!(s, "\nthis file looks long (one row per station × candidate), not wide: {hint}");
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
