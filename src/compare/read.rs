//! Reading the observers' file and matching its columns to the official fields.
//!
//! The bytes come through ingest's source layer (plain, zip, gzip, spreadsheets, any
//! common encoding, title rows above the header), so an observers' file is read the way
//! a protocol file is. Its columns are then matched, in this order, the first that
//! decides winning:
//!
//! 1. the user's `--observed-column OBS=TARGET` or `--observed-mapping FILE`
//!    (TARGET: a candidate's name, a role key such as `valid`, or `ignore`);
//! 2. the name, ignoring case, spaces and punctuation, equals an official candidate's;
//! 3. it equals a role key (`registered`, `issued`, `in_boxes`, …) of a line the
//!    official file has, or the name of the official column that line came from;
//! 4. ingest's recognition rules ([`crate::ingest::recognise`]) give it a role the
//!    official file has ("Number of valid ballots" → `valid`).
//!
//! A column matched by none is listed as unmatched with why, never used silently. A
//! line the official file sums from several columns (ballots issued early, on the day,
//! outside) is compared only when the observed file has all of them, or one column
//! for the whole line. Cells are counts as in a protocol; an empty cell (or `-`, `NA`)
//! is "not observed"; a negative or non-numeric figure is an error naming file, line,
//! column and value, or, with `skip_bad_cells`, a listed cell left out of the comparison
//! — never read as some other number.

use super::Field;
use crate::error::{Error, InputError, Result};
use crate::ingest::recognise::{self, Guess};
use crate::ingest::{self, ColumnUse, number, profile, source};
use crate::model::{Election, Role};
use serde::Serialize;
use std::path::Path;

/// How to read the observed file and match it.
#[derive(Debug, Clone, Default)]
pub struct ObservedOptions {
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    /// `--join OFFICIAL_COL=OBSERVED_COL` pairs, in key order (empty: the official
    /// station column(s), found by name in the observed file).
    pub join: Vec<(String, String)>,
    /// `--observed-column OBS=TARGET` and the mapping file's entries.
    pub columns: Vec<(String, String)>,
    /// More "no data" cell values.
    pub na: Vec<String>,
    /// List unreadable cells and leave them out instead of stopping.
    pub skip_bad_cells: bool,
}

impl ObservedOptions {
    /// Reads a mapping file: TOML (or JSON when the name ends in `.json`) whose
    /// `[columns]` table maps observed column names to targets, e.g.
    /// `[columns]` / `"Ballots for Smith (photo)" = "Smith"` / `"Valid ballots" = "valid"`.
    pub fn add_mapping_file(&mut self, path: &Path) -> Result<()> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&name, e))?;
        let v: serde_json::Value = if name.ends_with(".json") {
            serde_json::from_str(&text).map_err(|e| InputError::new(&name, format!("not valid JSON: {e}")))?
        } else {
            let t: toml::Value = toml::from_str(&text).map_err(|e| InputError::new(&name, format!("not valid TOML: {e}")))?;
            serde_json::to_value(t).map_err(|e| InputError::new(&name, e.to_string()))?
        };
        let Some(cols) = v.get("columns").and_then(|c| c.as_object()) else {
            return Err(InputError::new(
                &name,
                "expected a [columns] table mapping observed column names to official candidates or role keys \
                 (\"Ballots for Smith\" = \"Smith\", \"Valid\" = \"valid\", \"Notes\" = \"ignore\")",
            )
            .into());
        };
        for (k, t) in cols {
            let Some(t) = t.as_str() else {
                return Err(InputError::new(&name, "expected a text value (a candidate's name, a role key or \"ignore\")")
                    .column(k.clone())
                    .into());
            };
            self.columns.push((k.clone(), t.to_string()));
        }
        Ok(())
    }
}

/// Which official figure a key part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    /// The official station id (all its columns, joined as ingest joins them).
    Station,
    /// The label of official hierarchy level `k`.
    Level(usize),
}

/// An observed cell that is not a count: listed, never coerced.
#[derive(Debug, Clone, Serialize)]
pub struct BadCell {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

/// What became of one observed column.
pub type ColumnMatch = ColumnUse;

/// The observers' file, read and matched.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub file: String,
    /// Official key parts and the observed columns giving each (several observed
    /// columns for the station part are joined with " / ").
    pub key_parts: Vec<(KeyPart, Vec<String>)>,
    /// The observed key of each row (parts joined with " | ").
    pub keys: Vec<String>,
    /// 1-based line of each row.
    pub lines: Vec<u64>,
    /// Fields matched, their observed column(s), and values `[field][row]` (`None`:
    /// not observed at that station).
    pub fields: Vec<Field>,
    pub field_columns: Vec<Vec<String>>,
    pub values: Vec<Vec<Option<u32>>>,
    /// Every column and what became of it.
    pub columns: Vec<ColumnMatch>,
    /// Columns that match no official field (name, why).
    pub unmatched: Vec<(String, String)>,
    pub bad_cells: Vec<BadCell>,
    /// Rows whose key cells are all empty: not joined, listed by line.
    pub rows_without_key: Vec<u64>,
    pub rows_in_file: u64,
    pub notes: Vec<String>,
}

/// Compact form of a header for matching: lower case, letters and digits only.
pub fn compact(h: &str) -> String {
    recognise::normalise(h).replace(' ', "")
}

/// Reads `path` and matches it to `official` (whose columns were read as `official_columns`).
pub fn load(path: &Path, official: &Election, official_columns: &[ColumnUse], opts: &ObservedOptions) -> Result<Observed> {
    let encoding = opts.encoding.as_deref().map(ingest::encoding::for_label).transpose()?;
    let mut src = source::open_with(path, &source::ReadAs { encoding, sheet: opts.sheet.clone() })?;
    let delim = match opts.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(d) => return Err(Error::usage(format!("--observed-delimiter \"{d}\": expected one character or 'tab'"))),
    };
    if src.bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(InputError::new(&src.name, "file is empty; expected a header line and one row per observed station").into());
    }
    let rows = ingest::header_rows::prepare(&mut src, delim);
    from_bytes(&src.name, &src.bytes, rows.delimiter, rows.names, official, official_columns, opts)
}

/// Reads already-decoded CSV bytes (tests, benches); `names` overrides the header row.
pub fn from_bytes(
    name: &str,
    bytes: &[u8],
    delimiter: u8,
    names: Option<Vec<String>>,
    official: &Election,
    official_columns: &[ColumnUse],
    opts: &ObservedOptions,
) -> Result<Observed> {
    let mut rdr = ingest::csv_reader(bytes, delimiter);
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(|e| ingest::csv_error(name, e))? {
        return Err(InputError::new(name, "file is empty; expected a header line").into());
    }
    let header = ingest::plan::dedupe_header(names.unwrap_or_else(|| ingest::header_names(&rec)));
    let width = header.len();
    let mut obs = Observed { file: name.to_string(), ..Default::default() };
    let m = match_columns(name, &header, official, official_columns, opts)?;
    obs.key_parts = m.key_parts.clone();
    obs.fields = m.fields.iter().map(|f| f.0).collect();
    obs.field_columns = m.fields.iter().map(|f| f.1.iter().map(|&c| header[c].clone()).collect()).collect();
    obs.columns = m.columns;
    obs.unmatched = m.unmatched;
    obs.notes = m.notes;
    obs.values = vec![Vec::new(); obs.fields.len()];

    let mut lines = ingest::LineCounter::default();
    let mut key = String::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ingest::csv_error(name, e)),
        }
        let line = lines.line_of(&rec, bytes);
        if rec.iter().all(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        obs.rows_in_file += 1;
        let unterminated = ingest::ends_mid_row(&rdr, bytes);
        if let Some((col, msg)) = ingest::row_problem(&rec, width, line, delimiter, unterminated) {
            let mut e = InputError::new(name, msg).line(line);
            if let Some(c) = col {
                e = e.column(header[c].clone());
            }
            return Err(e.into());
        }
        key.clear();
        let mut any = false;
        for (p, (_, cols)) in m.key_cols.iter().enumerate() {
            if p > 0 {
                key.push_str(" | ");
            }
            for (q, &c) in cols.iter().enumerate() {
                if q > 0 {
                    key.push_str(" / ");
                }
                let cell = String::from_utf8_lossy(rec[c].trim_ascii());
                any |= !cell.is_empty();
                key.push_str(&cell);
            }
        }
        if !any {
            obs.rows_without_key.push(line);
            continue;
        }
        obs.keys.push(key.clone());
        obs.lines.push(line);
        for (f, (_, cols)) in m.fields.iter().enumerate() {
            let mut sum: Option<u64> = None;
            for &c in cols {
                let cell = &rec[c];
                if profile::is_missing(cell, &opts.na) {
                    continue;
                }
                match number::parse_count(cell) {
                    Ok(Some(v)) => *sum.get_or_insert(0) += v as u64,
                    Ok(None) => {}
                    Err(e) => {
                        obs.bad_cells.push(BadCell {
                            line,
                            column: header[c].clone(),
                            value: String::from_utf8_lossy(cell).into_owned(),
                            message: e.explain().to_string(),
                        });
                        sum = None;
                        break;
                    }
                }
            }
            obs.values[f].push(sum.map(|s| s.min(u32::MAX as u64) as u32));
        }
    }
    if let Some(b) = obs.bad_cells.first()
        && !opts.skip_bad_cells
    {
        let more = obs.bad_cells.len() - 1;
        let tail = if more > 0 {
            let l: Vec<String> = obs.bad_cells[1..].iter().take(5).map(|b| b.line.to_string()).collect();
            format!(" ({more} more such cells, on lines {}{})", l.join(", "), if more > 5 { ", …" } else { "" })
        } else {
            String::new()
        };
        return Err(InputError::new(
            name,
            format!(
                "{}{tail}; an observed figure is never guessed: correct the file, or --skip-bad-cells to leave such cells \
                 out of the comparison (they are listed in summary.json)",
                b.message
            ),
        )
        .line(b.line)
        .column(b.column.clone())
        .value(b.value.clone())
        .into());
    }
    if obs.keys.is_empty() {
        return Err(InputError::new(name, "no row with a station key; expected one row per observed station").line(1).into());
    }
    Ok(obs)
}

struct Matched {
    key_parts: Vec<(KeyPart, Vec<String>)>,
    key_cols: Vec<(KeyPart, Vec<usize>)>,
    fields: Vec<(Field, Vec<usize>)>,
    columns: Vec<ColumnMatch>,
    unmatched: Vec<(String, String)>,
    notes: Vec<String>,
}

fn find(file: &str, header: &[String], flag: &str, want: &str) -> Result<usize> {
    if let Some(i) = header.iter().position(|h| h == want) {
        return Ok(i);
    }
    let c = compact(want);
    let loose: Vec<usize> = (0..header.len()).filter(|&i| compact(&header[i]) == c).collect();
    if loose.len() == 1 {
        return Ok(loose[0]);
    }
    let names: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
    Err(InputError::new(
        file,
        format!("{flag} \"{want}\": no such column; the header has {}", ingest::plan::list(&names, 12)),
    )
    .line(1)
    .into())
}

/// The official key: which parts, from which official columns.
fn official_key(official: &Election, official_columns: &[ColumnUse], join: &[(String, String)]) -> Result<Vec<(KeyPart, Vec<String>)>> {
    let station_cols: Vec<&ColumnUse> = official_columns.iter().filter(|c| c.used_as == "station").collect();
    if join.is_empty() {
        if station_cols.is_empty() {
            return Err(Error::usage(format!(
                "{}: no station column was recognised in the official file, so there is no key to join on: \
                 name one with --station COL, or join on other columns with --join OFFICIAL_COL=OBSERVED_COL",
                official.source
            )));
        }
        return Ok(vec![(KeyPart::Station, station_cols.iter().map(|c| c.name.clone()).collect())]);
    }
    let mut parts: Vec<(KeyPart, Vec<String>)> = Vec::new();
    for (off, obs) in join {
        let c = compact(off);
        let col = official_columns.iter().find(|u| u.name == *off).or_else(|| official_columns.iter().find(|u| compact(&u.name) == c));
        let part = match col {
            Some(u) if u.used_as == "station" => KeyPart::Station,
            Some(u) if u.used_as.starts_with("level:") => {
                let lname = &u.used_as["level:".len()..];
                match official.levels.iter().position(|l| l.name == lname) {
                    Some(k) => KeyPart::Level(k),
                    None => return Err(Error::usage(format!("--join \"{off}\": level \"{lname}\" is not in the official election"))),
                }
            }
            Some(u) => {
                return Err(Error::usage(format!(
                    "--join \"{off}={obs}\": the official column \"{}\" was read as {}; a key must be the station column or a \
                     hierarchy column (region, commission): {}",
                    u.name,
                    u.used_as,
                    key_columns_list(official_columns)
                )));
            }
            None => {
                return Err(Error::usage(format!(
                    "--join \"{off}={obs}\": no such column in the official file; key columns there: {}",
                    key_columns_list(official_columns)
                )));
            }
        };
        match parts.iter_mut().find(|p| p.0 == part) {
            Some(p) => p.1.push(obs.clone()),
            None => parts.push((part, vec![obs.clone()])),
        }
    }
    // The official station id is all its columns joined: the observed side must give as many.
    if let Some(p) = parts.iter().find(|p| p.0 == KeyPart::Station)
        && p.1.len() != station_cols.len()
    {
        let names: Vec<&str> = station_cols.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::usage(format!(
            "--join: the official station id is made of {} column(s), {}, joined; name an observed column for each, in that order",
            station_cols.len(),
            ingest::plan::list(&names, 6)
        )));
    }
    // Observed columns are what the user named; return them in place of the official names.
    Ok(parts)
}

fn key_columns_list(cols: &[ColumnUse]) -> String {
    let v: Vec<&str> =
        cols.iter().filter(|c| c.used_as == "station" || c.used_as.starts_with("level:")).map(|c| c.name.as_str()).collect();
    if v.is_empty() { "none".into() } else { ingest::plan::list(&v, 8) }
}

fn match_columns(
    file: &str,
    header: &[String],
    official: &Election,
    official_columns: &[ColumnUse],
    opts: &ObservedOptions,
) -> Result<Matched> {
    let mut notes = Vec::new();
    // --- the key ---
    let official_parts = official_key(official, official_columns, &opts.join)?;
    let mut key_cols: Vec<(KeyPart, Vec<usize>)> = Vec::new();
    if opts.join.is_empty() {
        let (part, names) = &official_parts[0];
        let mut cols = Vec::new();
        for n in names {
            let c = compact(n);
            match header.iter().position(|h| compact(h) == c) {
                Some(i) => cols.push(i),
                None => break,
            }
        }
        if cols.len() != names.len() {
            // Fall back to the recognition rules: one column recognised as a station id.
            let rec: Vec<usize> = (0..header.len())
                .filter(|&i| matches!(recognise::classify(&header[i]).map(|r| r.guess), Some(Guess::Station(p)) if p != recognise::Part::Name))
                .collect();
            if names.len() == 1 && rec.len() == 1 {
                notes.push(format!(
                    "station key: official column \"{}\" joined with observed column \"{}\" (recognised as a station id)",
                    names[0], header[rec[0]]
                ));
                cols = rec;
            } else {
                let hn: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
                let on: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
                return Err(InputError::new(
                    file,
                    format!(
                        "cannot find the station key: the official key is {}, and no observed column has that name; \
                         name it with --join {}=OBSERVED_COL (observed columns: {})",
                        ingest::plan::list(&on, 4),
                        names[0],
                        ingest::plan::list(&hn, 12)
                    ),
                )
                .line(1)
                .into());
            }
        }
        key_cols.push((*part, cols));
    } else {
        for (part, obs_names) in &official_parts {
            let mut cols = Vec::new();
            for n in obs_names {
                cols.push(find(file, header, "--join", n)?);
            }
            key_cols.push((*part, cols));
        }
    }
    let is_key = |i: usize| key_cols.iter().any(|(_, c)| c.contains(&i));

    // --- user-named columns ---
    let mut target: Vec<Option<(Field, String)>> = vec![None; header.len()];
    let mut ignored: Vec<bool> = vec![false; header.len()];
    for (obs, t) in &opts.columns {
        let i = find(file, header, "--observed-column", obs)?;
        if t.eq_ignore_ascii_case("ignore") {
            ignored[i] = true;
            continue;
        }
        let f = field_named(official, t).ok_or_else(|| {
            Error::usage(format!(
                "--observed-column \"{obs}={t}\": \"{t}\" is neither an official candidate ({}) nor a protocol line the \
                 official file has ({}), nor \"ignore\"",
                ingest::plan::list(&official.candidates.iter().map(|s| s.as_str()).collect::<Vec<_>>(), 8),
                roles_list(official)
            ))
        })?;
        target[i] = Some((f, "named by --observed-column / --observed-mapping".into()));
    }

    // --- by name, then by recognition ---
    let cand_compact: Vec<String> = official.candidates.iter().map(|c| compact(c)).collect();
    let mut via_official_name: Vec<bool> = vec![false; header.len()];
    let mut context: Vec<Option<String>> = vec![None; header.len()];
    let mut why_not: Vec<String> = vec![String::new(); header.len()];
    for i in 0..header.len() {
        if target[i].is_some() || ignored[i] || is_key(i) {
            continue;
        }
        let c = compact(&header[i]);
        if let Some(j) = cand_compact.iter().position(|x| *x == c) {
            target[i] = Some((Field::Candidate(j), "same name as the official candidate".into()));
            continue;
        }
        if let Some(r) = Role::ALL.iter().copied().find(|r| compact(r.key()) == c && official.has(*r)) {
            target[i] = Some((Field::Role(r), "role key".into()));
            continue;
        }
        if let Some(u) = official_columns.iter().find(|u| compact(&u.name) == c)
            && let Some(r) = Role::from_key(&u.used_as)
            && official.has(r)
        {
            target[i] = Some((Field::Role(r), format!("same name as the official column read as {}", r.key())));
            via_official_name[i] = true;
            continue;
        }
        match recognise::classify(&header[i]) {
            Some(rc) => match rc.guess {
                Guess::Line(t) => match recognise::role_of(t) {
                    Some(r) if official.has(r) => target[i] = Some((Field::Role(r), rc.why.clone())),
                    Some(r) => why_not[i] = format!("recognised as {} ({}), which the official file does not have", r.key(), rc.why),
                    None => why_not[i] = format!("recognised as not a compared figure ({})", rc.why),
                },
                Guess::Level { name, .. } => context[i] = Some(format!("level:{name}")),
                Guess::Station(_) => context[i] = Some("station".into()),
            },
            None => {
                why_not[i] = "matches no official candidate or protocol line".into();
            }
        }
    }

    // --- group by field; summed roles must be complete ---
    let mut fields: Vec<(Field, Vec<usize>)> = Vec::new();
    let mut unmatched: Vec<(String, String)> = Vec::new();
    let mut taken: Vec<Option<String>> = vec![None; header.len()];
    for i in 0..header.len() {
        let Some((f, _)) = &target[i] else { continue };
        match fields.iter_mut().find(|x| x.0 == *f) {
            Some(x) => {
                let summable = matches!(f, Field::Role(r) if recognise::summable(*r));
                if summable {
                    x.1.push(i);
                } else {
                    taken[i] = Some(format!("{} is already matched by column \"{}\"", f.name(official), header[x.1[0]]));
                }
            }
            None => fields.push((*f, vec![i])),
        }
    }
    fields.retain(|(f, cols)| {
        let Field::Role(r) = f else { return true };
        if !cols.iter().all(|&c| via_official_name[c]) {
            return true;
        }
        let off: Vec<&str> = official_columns.iter().filter(|u| u.used_as == r.key()).map(|u| u.name.as_str()).collect();
        if off.len() > cols.len() {
            for &c in cols {
                taken[c] = Some(format!(
                    "the official {} is the sum of {}; this file has only {} of them, so it is not compared",
                    r.key(),
                    ingest::plan::list(&off, 6),
                    cols.len()
                ));
            }
            false
        } else {
            true
        }
    });
    let mut columns = Vec::with_capacity(header.len());
    for i in 0..header.len() {
        let (used_as, how) = if let Some((p, _)) = key_cols.iter().find(|(_, c)| c.contains(&i)) {
            let what = match p {
                KeyPart::Station => "station".to_string(),
                KeyPart::Level(k) => official.levels[*k].name.clone(),
            };
            ("key".to_string(), format!("join key ({what})"))
        } else if ignored[i] {
            ("ignored".into(), "named by --observed-column …=ignore".into())
        } else if let Some(t) = &taken[i] {
            unmatched.push((header[i].clone(), t.clone()));
            ("unmatched".into(), t.clone())
        } else if let Some((f, why)) = &target[i] {
            (f.name(official), why.clone())
        } else if let Some(c) = &context[i] {
            (c.clone(), "identifies the station; not compared".into())
        } else {
            unmatched.push((header[i].clone(), why_not[i].clone()));
            ("unmatched".into(), why_not[i].clone())
        };
        columns.push(ColumnUse { index: i + 1, name: header[i].clone(), used_as, how });
    }
    if fields.is_empty() {
        let hn: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
        return Err(InputError::new(
            file,
            format!(
                "no observed column matches an official candidate ({}) or protocol line ({}); observed columns: {}; \
                 name them with --observed-column OBS=TARGET or --observed-mapping FILE",
                ingest::plan::list(&official.candidates.iter().map(|s| s.as_str()).collect::<Vec<_>>(), 8),
                roles_list(official),
                ingest::plan::list(&hn, 12)
            ),
        )
        .line(1)
        .into());
    }
    let key_parts = key_cols.iter().map(|(p, c)| (*p, c.iter().map(|&i| header[i].clone()).collect())).collect();
    Ok(Matched { key_parts, key_cols, fields, columns, unmatched, notes })
}

fn roles_list(e: &Election) -> String {
    Role::ALL.iter().filter(|r| e.has(**r)).map(|r| r.key()).collect::<Vec<_>>().join(", ")
}

/// A candidate (exact name, then compact) or a role key the official file has.
fn field_named(e: &Election, t: &str) -> Option<Field> {
    if let Some(j) = e.candidates.iter().position(|c| c == t) {
        return Some(Field::Candidate(j));
    }
    let c = compact(t);
    if let Some(j) = e.candidates.iter().position(|x| compact(x) == c) {
        return Some(Field::Candidate(j));
    }
    Role::from_key(t.trim()).filter(|r| e.has(*r)).map(Field::Role)
}
