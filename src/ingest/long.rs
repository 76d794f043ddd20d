//! The long layout: one row per station × candidate (as many commissions publish),
//! optionally filtered to one race with `--where COL=VALUE`. It becomes the same model
//! as a wide file. Protocol lines (registered, issued, …) may be columns repeated on
//! each of a station's rows; they must agree between rows. A candidate with no row at
//! a station is counted as 0 votes there (and the report says how many such pairs).

use super::number::parse_count;
use super::plan::{self, Header, Target};
use super::wide::{Interner, finish_levels};
use super::{Options, ReadReport, csv_error, csv_reader, ends_mid_row, header_and_sample, row_problem};
use crate::error::{Error, InputError, Result};
use crate::model::{Count, Election, Role, Unpublished};
use std::collections::HashMap;

pub(crate) fn read(name: &str, bytes: &[u8], delimiter: u8, opts: &Options, report: &mut ReadReport) -> Result<Election> {
    let (names, sample) = header_and_sample(name, bytes, delimiter)?;
    let header = Header { file: name, names };
    let plan = plan::build(&header, &opts.mapping, &sample, true)?;
    drop(sample);
    report.layout = plan.layout.clone();
    report.columns = plan.columns.clone();
    if plan.station.is_empty() {
        return Err(Error::usage(
            "long format needs the station key: --station COL (several columns: --station county,precinct)",
        ));
    }
    let ncols = header.names.len();
    let cand_col = plan.targets.iter().position(|t| *t == Target::LongCandidate).expect("plan has it");
    let votes_col = plan.targets.iter().position(|t| *t == Target::LongVotes).expect("plan has it");
    let filters = super::filter::resolve(&header, &opts.mapping, bytes, delimiter, &mut report.notes)?;
    let role_cols: Vec<(usize, Role)> = plan
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| if let Target::Role(r) = t { Some((i, *r)) } else { None })
        .collect();
    for r in Role::ALL {
        if plan.roles[r.index()].len() > 1 {
            return Err(Error::usage(format!(
                "long format: role {} maps to several columns; name one column per role",
                r.key()
            )));
        }
    }

    let mut key_index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut station = Vec::new();
    let mut lines = Vec::new();
    let mut interners: Vec<Interner> =
        plan.levels.iter().map(|(n, c)| Interner::new(n, &header.names[*c])).collect();
    let mut role_vals: Vec<[Option<(u32, u64)>; 9]> = Vec::new();
    let mut cand_index: HashMap<String, usize> = HashMap::new();
    let mut candidates: Vec<String> = Vec::new();
    let mut votes: Vec<Vec<Count>> = Vec::new();
    let mut seen: Vec<Vec<u64>> = Vec::new(); // line where (candidate, station) was read, 0 = none
    let mut unpublished = Vec::new();
    let mut key = Vec::new();

    let mut rdr = csv_reader(bytes, delimiter);
    let mut rec = csv::ByteRecord::new();
    rdr.read_byte_record(&mut rec).map_err(|e| csv_error(name, e))?;
    let mut lines_at = super::LineCounter::default();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(name, e)),
        }
        report.rows_in_file += 1;
        let line = lines_at.line_of(&rec, bytes);
        let at = |c: usize, v: &[u8], msg: String| {
            InputError::new(name, msg)
                .line(line)
                .column(header.names[c].clone())
                .value(String::from_utf8_lossy(v).into_owned())
        };
        if let Some((col, msg)) = row_problem(&rec, ncols, line, delimiter, ends_mid_row(&rdr, bytes)) {
            let e = match col {
                Some(c) => at(c, &rec[c], msg),
                None => InputError::new(name, msg).line(line),
            };
            if opts.skip_bad_rows {
                report.skip(line, &e);
                continue;
            }
            return Err(e.into());
        }
        if !super::filter::passes(&rec, &filters) {
            report.rows_filtered += 1;
            continue;
        }
        let v = match parse_count(&rec[votes_col]) {
            Ok(Some(v)) => v,
            Ok(None) => {
                report.rows_unpublished += 1;
                unpublished.push(Unpublished {
                    line,
                    station: plan.station.iter().map(|&c| String::from_utf8_lossy(&rec[c]).trim().to_string()).collect::<Vec<_>>().join(" / "),
                    hierarchy: plan.levels.iter().map(|(_, c)| String::from_utf8_lossy(&rec[*c]).trim().to_string()).collect(),
                });
                continue;
            }
            Err(k) => {
                let e = at(votes_col, &rec[votes_col], k.explain().into());
                if opts.skip_bad_rows {
                    report.skip(line, &e);
                    continue;
                }
                return Err(e.into());
            }
        };
        // Role cells: parse before touching the model, so a skipped row leaves no trace.
        let mut roles_here: [Option<u32>; 9] = [None; 9];
        let mut bad = None;
        for &(c, r) in &role_cols {
            match parse_count(&rec[c]) {
                Ok(x) => roles_here[r.index()] = x,
                Err(k) => {
                    bad.get_or_insert_with(|| at(c, &rec[c], k.explain().into()));
                }
            }
        }
        if let Some(e) = bad {
            if opts.skip_bad_rows {
                report.skip(line, &e);
                continue;
            }
            return Err(e.into());
        }
        key.clear();
        for (k, &c) in plan.station.iter().enumerate() {
            if k > 0 {
                key.extend_from_slice(b" / ");
            }
            key.extend_from_slice(rec[c].trim_ascii());
        }
        let cname = String::from_utf8_lossy(rec[cand_col].trim_ascii()).into_owned();
        if cname.is_empty() {
            let e = at(cand_col, b"", "empty candidate name; expected the name of a candidate, party or option".into());
            if opts.skip_bad_rows {
                report.skip(line, &e);
                continue;
            }
            return Err(e.into());
        }
        let s = match key_index.get(&key) {
            Some(&s) => s,
            None => {
                let s = station.len();
                key_index.insert(key.clone(), s);
                station.push(String::from_utf8_lossy(&key).into_owned());
                lines.push(line);
                let mut parent = 0;
                for (k, (_, c)) in plan.levels.iter().enumerate() {
                    parent = interners[k].code(parent, &rec[*c]);
                    interners[k].level.code.push(parent);
                }
                role_vals.push([None; 9]);
                for (vv, ss) in votes.iter_mut().zip(seen.iter_mut()) {
                    vv.push(0);
                    ss.push(0);
                }
                s
            }
        };
        // Hierarchy must not change between rows of one station.
        for (k, (lname, c)) in plan.levels.iter().enumerate() {
            let code = interners[k].level.code[s] as usize;
            if interners[k].level.labels[code].as_bytes() != rec[*c].trim_ascii() {
                let e = at(*c, &rec[*c], format!(
                    "station \"{}\" is in {lname} \"{}\" on line {} but here in another; a station's rows must agree on its hierarchy",
                    station[s], interners[k].level.labels[code], lines[s]
                ));
                return Err(e.into());
            }
        }
        for &(c, r) in &role_cols {
            if let Some(x) = roles_here[r.index()] {
                match role_vals[s][r.index()] {
                    None => role_vals[s][r.index()] = Some((x, line)),
                    Some((y, l0)) if y != x => {
                        return Err(at(c, &rec[c], format!(
                            "station \"{}\" has {} = {y} on line {l0} but {x} here; a protocol line repeated on a station's rows must agree",
                            station[s], r.key()
                        )).into());
                    }
                    _ => {}
                }
            }
        }
        let j = match cand_index.get(&cname) {
            Some(&j) => j,
            None => {
                let j = candidates.len();
                cand_index.insert(cname.clone(), j);
                candidates.push(cname.clone());
                votes.push(vec![0; station.len()]);
                seen.push(vec![0; station.len()]);
                j
            }
        };
        if seen[j][s] != 0 {
            return Err(at(cand_col, cname.as_bytes(), format!(
                "second row for station \"{}\" and candidate \"{cname}\" (first on line {}); if the file splits votes by mode or round, pick one with --where COL=VALUE",
                station[s], seen[j][s]
            )).into());
        }
        seen[j][s] = line;
        votes[j][s] = v;
        report.rows_used += 1;
    }
    let n = station.len();
    if n == 0 {
        return Err(InputError::new(
            name,
            format!(
                "no station could be read: {} rows, {} filtered out by --where, {} with empty votes, {} skipped",
                report.rows_in_file, report.rows_filtered, report.rows_unpublished, report.rows_skipped
            ),
        )
        .into());
    }
    report.missing_pairs_as_zero = seen.iter().map(|c| c.iter().filter(|&&l| l == 0).count() as u64).sum();
    let mut counts: [Option<Vec<Count>>; 9] = Default::default();
    for &(c, r) in &role_cols {
        let mut col = Vec::with_capacity(n);
        for s in 0..n {
            match role_vals[s][r.index()] {
                Some((x, _)) => col.push(x),
                None => {
                    return Err(InputError::new(
                        name,
                        format!("station \"{}\" has no value for {} on any of its rows", station[s], r.key()),
                    )
                    .line(lines[s])
                    .column(header.names[c].clone())
                    .into());
                }
            }
        }
        counts[r.index()] = Some(col);
    }
    let top_is_region = plan.levels.first().is_some_and(|l| l.0 == "region");
    let (mut levels, special) = finish_levels(interners, top_is_region, counts[Role::Registered.index()].as_deref(), n);
    let dropped = super::wide::drop_empty_levels(&mut levels, n);
    if dropped > 0 {
        report.dropped_columns.push(format!("{dropped} hierarchy column(s) empty on every row: not used as levels"));
    }
    Ok(Election { source: name.to_string(), levels, station, line: lines, counts, candidates, votes, special, unpublished, missing: Vec::new(), issued_postal: None, missing_votes: Vec::new() })
}
