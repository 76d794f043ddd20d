//! The wide layout: one row per station, one column per protocol line and candidate.

use super::number::parse_count;
use super::plan::{self, Header, Plan, Target};
use super::profile::is_missing;
use super::recognise::{is_abroad, station_kind};
use super::{Options, ReadReport, csv_error, csv_reader, ends_mid_row, header_and_sample, row_problem};
use crate::error::{InputError, Result, shorten};
use crate::model::{Count, Election, Level, Role, Special, Unpublished};
use std::collections::HashMap;

/// Above this many registered voters a "station" is an electronic-voting or other
/// pseudo-station, not a room with a ballot box (the largest real stations hold a few
/// thousand voters).
pub const ELECTRONIC_REGISTERED: u32 = 50_000;

/// Interns hierarchy labels into codes; a unit is its whole path (parent code + label).
/// Rows of real files come grouped by commission, so the previous row's answer is
/// checked first and the hash map is consulted only when the label changes.
#[derive(Default)]
pub(crate) struct Interner {
    map: HashMap<(u32, Box<[u8]>), u32>,
    last: Option<(u32, Vec<u8>, u32)>,
    pub level: Level,
}

impl Interner {
    pub fn new(name: &str, column: &str) -> Self {
        Interner { level: Level { name: name.into(), column: column.into(), ..Default::default() }, ..Default::default() }
    }
    pub fn code(&mut self, parent: u32, label: &[u8]) -> u32 {
        let label = label.trim_ascii();
        if let Some((p, l, c)) = &self.last {
            if *p == parent && l.as_slice() == label {
                return *c;
            }
        }
        let next = self.level.labels.len() as u32;
        let code = *self.map.entry((parent, label.into())).or_insert(next);
        if code == next {
            self.level.labels.push(String::from_utf8_lossy(label).into_owned());
            self.level.parent.push(parent);
        }
        self.last = Some((parent, label.to_vec(), code));
        code
    }
}

pub(crate) fn finish_levels(interners: Vec<Interner>, top_is_region: bool, registered: Option<&[Count]>, n: usize) -> (Vec<Level>, Vec<Option<Special>>) {
    let levels: Vec<Level> = interners.into_iter().map(|i| i.level).collect();
    let mut special = vec![None; n];
    if top_is_region {
        if let Some(top) = levels.first() {
            let abroad: Vec<bool> = top.labels.iter().map(|l| is_abroad(l)).collect();
            for (s, &c) in special.iter_mut().zip(&top.code) {
                if abroad[c as usize] {
                    *s = Some(Special::Abroad);
                }
            }
        }
    }
    if let Some(reg) = registered {
        for (s, &r) in special.iter_mut().zip(reg) {
            if r > ELECTRONIC_REGISTERED && s.is_none() {
                *s = Some(Special::Electronic);
            }
        }
    }
    (levels, special)
}

/// Drops the levels whose every label is empty (a column left blank: Georgia's
/// "region", a long file's all-empty "district") and re-derives the parents of the
/// levels below; returns how many were dropped.
pub(crate) fn drop_empty_levels(levels: &mut Vec<Level>, n: usize) -> usize {
    let before = levels.len();
    levels.retain(|l| !l.labels.iter().all(|x| x.is_empty()));
    let dropped = before - levels.len();
    if dropped > 0 {
        // A unit's parent is the unit of the level above at any of its stations (units
        // are path-unique, so all its stations agree).
        if let Some(top) = levels.first_mut() {
            top.parent.clear();
        }
        for k in 1..levels.len() {
            let mut parent = vec![0u32; levels[k].labels.len()];
            for i in 0..n {
                parent[levels[k].code[i] as usize] = levels[k - 1].code[i];
            }
            levels[k].parent = parent;
        }
    }
    dropped
}

pub(crate) fn read(name: &str, bytes: &[u8], delimiter: u8, opts: &Options, report: &mut ReadReport) -> Result<Election> {
    let (names, sample) = header_and_sample(name, bytes, delimiter)?;
    let header = Header { file: name, names };
    let plan: Plan = plan::build(&header, &opts.mapping, &sample, false)?;
    drop(sample);
    report.layout = plan.layout.clone();
    report.columns = plan.columns.clone();
    let ncols = header.names.len();
    let ncand = plan.candidates.len();
    let na = opts.mapping.na.clone().unwrap_or_default();
    let filters = super::filter::resolve(&header, &opts.mapping, bytes, delimiter, &mut report.notes)?;

    // Estimated rows, to allocate once.
    let est = (bytes.len() / (ncols * 4).max(16)).min(20_000_000);
    let mut counts: [Option<Vec<Count>>; 9] = Default::default();
    for r in Role::ALL {
        if !plan.roles[r.index()].is_empty() {
            counts[r.index()] = Some(Vec::with_capacity(est));
        }
    }
    let mut votes: Vec<Vec<Count>> = (0..ncand).map(|_| Vec::with_capacity(est)).collect();
    let mut station = Vec::with_capacity(est);
    let mut lines = Vec::with_capacity(est);
    let mut interners: Vec<Interner> =
        plan.levels.iter().map(|(n, c)| Interner::new(n, &header.names[*c])).collect();
    let mut unpublished = Vec::new();
    let mut missing: Vec<u16> = Vec::new();
    // Per candidate, the stations whose cell was empty or NA (read as 0 in `votes`).
    let mut missing_votes: Vec<Vec<u32>> = vec![Vec::new(); ncand];
    let mut postal: Option<Vec<Count>> = (!plan.postal.is_empty()).then(|| Vec::with_capacity(est));
    let mut kinds: Vec<Option<Special>> = Vec::new();
    // Station types: each distinct value once, and each station's value.
    let mut type_values: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut type_index: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut type_of: Vec<u32> = Vec::new();
    let mut split_counts: Vec<Vec<(String, u64)>> = vec![Vec::new(); plan.splits.len()];

    // Per-row scratch: role values (summed) and candidate values.
    let role_cols: Vec<(usize, Role)> = plan
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| if let Target::Role(r) = t { Some((i, *r)) } else { None })
        .collect();
    let cand_cols: Vec<usize> = plan.candidates.iter().map(|c| c.1).collect();
    // Cells filled in per count column (roles, then candidates), to drop empty columns.
    let mut filled_roles = vec![0u64; role_cols.len()];
    let mut filled_cands = vec![0u64; ncand];
    let mut role_vals: [u32; 9];
    let mut role_seen: u16;
    let mut role_empty: u16;
    let mut cand_vals = vec![0u32; ncand];
    let mut cand_filled = vec![false; ncand];
    let mut cand_missing: Vec<usize> = Vec::new();
    let mut role_filled = vec![false; role_cols.len()];
    let mut label = Vec::with_capacity(64);

    let mut rdr = csv_reader(bytes, delimiter);
    let mut rec = csv::ByteRecord::new();
    rdr.read_byte_record(&mut rec).map_err(|e| csv_error(name, e))?; // header
    let mut lines_at = super::LineCounter::default();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // The csv crate only fails here on I/O or UTF-8 problems, both excluded
                // earlier; report rather than assume.
                return Err(csv_error(name, e));
            }
        }
        report.rows_in_file += 1;
        let line = lines_at.line_of(&rec, bytes);
        let fail = |col: Option<usize>, value: Option<&[u8]>, msg: String| -> InputError {
            let mut e = InputError::new(name, msg).line(line);
            if let Some(c) = col {
                e = e.column(header.names[c].clone());
            }
            if let Some(v) = value {
                e = e.value(String::from_utf8_lossy(v).into_owned());
            }
            e
        };
        if let Some((col, msg)) = row_problem(&rec, ncols, line, delimiter, ends_mid_row(&rdr, bytes)) {
            let e = fail(col, col.map(|c| &rec[c]), msg);
            if opts.skip_bad_rows {
                report.skip(line, &e);
                continue;
            }
            return Err(e.into());
        }
        for (k, &c) in plan.splits.iter().enumerate() {
            let v = rec[c].trim_ascii();
            match split_counts[k].iter_mut().find(|(x, _)| x.as_bytes() == v) {
                Some(e) => e.1 += 1,
                None => split_counts[k].push((String::from_utf8_lossy(v).into_owned(), 1)),
            }
        }
        if !filters.is_empty() && !super::filter::passes(&rec, &filters) {
            report.rows_filtered += 1;
            continue;
        }

        // Counts first: a row with no counts at all is an unpublished protocol.
        let mut err: Option<InputError> = None;
        let mut empty = 0usize;
        role_vals = [0; 9];
        role_seen = 0;
        role_empty = 0;
        role_filled.iter_mut().for_each(|f| *f = false);
        for (k, &(c, r)) in role_cols.iter().enumerate() {
            let cell = &rec[c];
            match parse_count(cell) {
                Ok(Some(v)) => {
                    role_filled[k] = true;
                    role_seen |= 1 << r.index();
                    match role_vals[r.index()].checked_add(v) {
                        Some(s) => role_vals[r.index()] = s,
                        None => {
                            err.get_or_insert_with(|| fail(Some(c), Some(cell), format!("sum of the {} columns exceeds 4,294,967,295", r.key())));
                        }
                    }
                }
                Ok(None) => {
                    empty += 1;
                    role_empty |= 1 << r.index();
                }
                Err(_) if is_missing(cell, &na) => {
                    empty += 1;
                    role_empty |= 1 << r.index();
                }
                Err(k) => {
                    err.get_or_insert_with(|| fail(Some(c), Some(cell), k.explain().into()));
                }
            }
        }
        let mut cand_empty = 0u64;
        cand_missing.clear();
        cand_filled.iter_mut().for_each(|f| *f = false);
        for (j, &c) in cand_cols.iter().enumerate() {
            let cell = &rec[c];
            match parse_count(cell) {
                Ok(Some(v)) => {
                    cand_vals[j] = v;
                    cand_filled[j] = true;
                }
                Ok(None) => {
                    empty += 1;
                    cand_empty += 1;
                    cand_vals[j] = 0;
                    cand_missing.push(j);
                }
                Err(_) if is_missing(cell, &na) => {
                    empty += 1;
                    cand_empty += 1;
                    cand_vals[j] = 0;
                    cand_missing.push(j);
                }
                Err(k) => {
                    err.get_or_insert_with(|| fail(Some(c), Some(cell), k.explain().into()));
                }
            }
        }
        let ncounts = role_cols.len() + cand_cols.len();
        if err.is_none() && empty == ncounts {
            report.rows_unpublished += 1;
            unpublished.push(Unpublished {
                line,
                station: plan.station.first().map(|&c| String::from_utf8_lossy(&rec[c]).trim().to_string()).unwrap_or_default(),
                hierarchy: plan.levels.iter().map(|(_, c)| String::from_utf8_lossy(&rec[*c]).trim().to_string()).collect(),
            });
            continue;
        }
        if let Some(e) = err {
            if opts.skip_bad_rows {
                report.skip(line, &e);
                continue;
            }
            return Err(e.into());
        }
        // A role summed over several columns is missing only when all of them are.
        let row_missing = role_empty & !role_seen;
        report.empty_votes_as_zero += cand_empty;
        for (k, f) in filled_roles.iter_mut().enumerate() {
            *f += role_filled[k] as u64;
        }
        for (j, f) in filled_cands.iter_mut().enumerate() {
            *f += cand_filled[j] as u64;
        }

        // Station id and hierarchy: a level's code with its name beside it, if any.
        let id = match plan.station.first() {
            Some(&c) => {
                let mut id = String::from_utf8_lossy(rec[c].trim_ascii()).into_owned();
                for &c2 in &plan.station[1..] {
                    id.push_str(" / ");
                    id.push_str(&String::from_utf8_lossy(rec[c2].trim_ascii()));
                }
                if let Some(nc) = plan.station_name {
                    let nm = rec[nc].trim_ascii();
                    if !nm.is_empty() && nm != rec[c].trim_ascii() {
                        if !id.is_empty() {
                            id.push(' ');
                        }
                        id.push_str(&String::from_utf8_lossy(nm));
                    }
                }
                id
            }
            None => match plan.station_name {
                Some(nc) => String::from_utf8_lossy(rec[nc].trim_ascii()).into_owned(),
                None => format!("line {line}"),
            },
        };
        let mut parent = 0u32;
        for (k, (_, c)) in plan.levels.iter().enumerate() {
            label.clear();
            label.extend_from_slice(rec[*c].trim_ascii());
            if let Some(Some(lc)) = plan.level_labels.get(k) {
                let nm = rec[*lc].trim_ascii();
                if !nm.is_empty() && nm != label.as_slice() {
                    if !label.is_empty() {
                        label.push(b' ');
                    }
                    label.extend_from_slice(nm);
                }
            }
            parent = interners[k].code(parent, &label);
            interners[k].level.code.push(parent);
        }
        let s = station.len();
        station.push(id);
        lines.push(line);
        for r in Role::ALL {
            if let Some(v) = counts[r.index()].as_mut() {
                v.push(role_vals[r.index()]);
            }
        }
        for (j, v) in votes.iter_mut().enumerate() {
            v.push(cand_vals[j]);
        }
        if row_missing != 0 {
            missing.resize(s, 0);
            missing.push(row_missing);
        }
        for &j in &cand_missing {
            missing_votes[j].push(s as u32);
        }
        if let Some(p) = postal.as_mut() {
            let mut t = 0u32;
            for &c in &plan.postal {
                if let Ok(Some(v)) = parse_count(&rec[c]) {
                    t = t.saturating_add(v);
                }
            }
            p.push(t);
        }
        // Special stations from the file: a type column, a filled-in special flag.
        let mut kind = None;
        if let Some(tc) = plan.station_type {
            let v = rec[tc].trim_ascii();
            let t = match type_index.get(v) {
                Some(&t) => t,
                None => {
                    let t = type_values.len() as u32;
                    type_index.insert(v.to_vec(), t);
                    type_values.push((v.to_vec(), 0));
                    t
                }
            };
            type_values[t as usize].1 += 1;
            type_of.push(t);
        }
        if let Some(fc) = plan.special_flag {
            let v = rec[fc].trim_ascii();
            if kind.is_none() && !is_missing(v, &na) && v != b"0" && !v.eq_ignore_ascii_case(b"no") && !v.eq_ignore_ascii_case(b"false") {
                kind = Some(Special::Designated);
            }
        }
        if kind.is_some() {
            kinds.resize(s, None);
            kinds.push(kind);
        }
        report.rows_used += 1;
    }
    let n = station.len();
    if n == 0 {
        return Err(InputError::new(
            name,
            format!(
                "no station could be read: {} rows, {} unpublished (all counts empty), {} filtered out by --where, {} skipped{}",
                report.rows_in_file,
                report.rows_unpublished,
                report.rows_filtered,
                report.rows_skipped,
                report.skips.first().map(|s| format!("; first skip: {}", shorten(&s.reason, 200))).unwrap_or_default()
            ),
        )
        .into());
    }
    // Splits: what each round/race column holds.
    for (k, &c) in plan.splits.iter().enumerate() {
        report.splits.push(super::SplitColumn {
            column: header.names[c].clone(),
            values: std::mem::take(&mut split_counts[k]),
            filtered: filters.iter().any(|f| f.column == c),
        });
    }
    // Station types: each value's kind by the rules; a value no rule names is the
    // ordinary station when it is the most common one, a special station otherwise.
    kinds.resize(n, None);
    if plan.station_type.is_some() {
        let commonest = (0..type_values.len()).max_by_key(|&t| type_values[t].1);
        let mut unknown = Vec::new();
        let kind_of: Vec<Option<Special>> = (0..type_values.len())
            .map(|t| {
                let v = String::from_utf8_lossy(&type_values[t].0).into_owned();
                match station_kind(&v) {
                    Some(k) => k,
                    None if Some(t) == commonest || v.is_empty() => None,
                    None => {
                        unknown.push(format!("\"{v}\" ({})", type_values[t].1));
                        Some(Special::Designated)
                    }
                }
            })
            .collect();
        for (i, &t) in type_of.iter().enumerate() {
            if kinds[i].is_none() {
                kinds[i] = kind_of[t as usize];
            }
        }
        if !unknown.is_empty() {
            report.notes.push(format!(
                "station types no rule names, set aside as special stations: {}",
                unknown.into_iter().take(8).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    missing.resize(n, 0);

    // Columns empty on every row are dropped; a role left on fewer than half of the
    // stations is dropped too (tests on the others would be a biased subset).
    let mut drop_role = [false; 9];
    for (k, &(c, r)) in role_cols.iter().enumerate() {
        if filled_roles[k] == 0 {
            report.dropped_columns.push(format!("\"{}\" ({}): empty on every row", header.names[c], r.key()));
        }
    }
    for r in Role::ALL {
        let cols: Vec<usize> = (0..role_cols.len()).filter(|&k| role_cols[k].1 == r).collect();
        if cols.is_empty() {
            continue;
        }
        let present = missing.iter().filter(|m| **m & (1 << r.index()) == 0).count();
        if cols.iter().all(|&k| filled_roles[k] == 0) {
            drop_role[r.index()] = true;
        } else if present * 2 < n {
            drop_role[r.index()] = true;
            report.dropped_columns.push(format!(
                "{} ({}): filled in on only {} of {} stations, too few to use",
                plan::list(&cols.iter().map(|&k| header.names[role_cols[k].0].as_str()).collect::<Vec<_>>(), 3),
                r.key(),
                present,
                n
            ));
        }
        if drop_role[r.index()] {
            counts[r.index()] = None;
            for m in missing.iter_mut() {
                *m &= !(1 << r.index());
            }
            if r == Role::Issued {
                postal = None;
            }
        }
    }
    let mut cand_names: Vec<String> = plan.candidates.iter().map(|c| c.0.clone()).collect();
    let keep: Vec<bool> = filled_cands.iter().map(|&f| f > 0).collect();
    if keep.iter().any(|k| !k) {
        let mut k = 0;
        cand_names.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        let mut k = 0;
        votes.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        let mut k = 0;
        missing_votes.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        for (j, &c) in cand_cols.iter().enumerate() {
            if !keep[j] {
                report.dropped_columns.push(format!("\"{}\" (candidate): empty on every row", header.names[c]));
                report.empty_votes_as_zero = report.empty_votes_as_zero.saturating_sub(n as u64);
            }
        }
    }
    // Stations whose protocol misses a line the tests use are set aside.
    let mut partial = 0u64;
    for (i, m) in missing.iter().enumerate() {
        if *m != 0 {
            partial += 1;
            if kinds[i].is_none() {
                kinds[i] = Some(Special::Partial);
            }
        }
    }
    report.partial_stations = partial;
    if missing.iter().all(|m| *m == 0) {
        missing = Vec::new();
    }

    let top_is_region = plan.levels.first().is_some_and(|l| l.0 == "region");
    let (mut levels, mut special) = finish_levels(interners, top_is_region, counts[Role::Registered.index()].as_deref(), n);
    for (s, k) in special.iter_mut().zip(kinds) {
        if k.is_some() && s.is_none() {
            *s = k;
        }
    }
    let dropped = drop_empty_levels(&mut levels, n);
    if dropped > 0 {
        report.dropped_columns.push(format!("{dropped} hierarchy column(s) empty on every row: not used as levels"));
    }
    Ok(Election {
        source: name.to_string(),
        levels,
        station,
        line: lines,
        counts,
        candidates: cand_names,
        votes,
        special,
        unpublished,
        missing,
        issued_postal: postal,
        missing_votes: if missing_votes.iter().all(|m| m.is_empty()) { Vec::new() } else { missing_votes },
    })
}
