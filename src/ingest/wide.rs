//! The wide layout: one row per station, one column per protocol line and candidate.

use super::number::parse_count;
use super::plan::{self, Header, Plan, Target};
use super::recognise::is_abroad;
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

pub(crate) fn read(name: &str, bytes: &[u8], delimiter: u8, opts: &Options, report: &mut ReadReport) -> Result<Election> {
    let (names, sample) = header_and_sample(name, bytes, delimiter)?;
    let header = Header { file: name, names };
    let plan: Plan = plan::build(&header, &opts.mapping, &sample, false)?;
    drop(sample);
    report.layout = plan.layout.clone();
    report.columns = plan.columns.clone();
    let ncols = header.names.len();
    let ncand = plan.candidates.len();

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

    // Per-row scratch: role values (summed) and candidate values.
    let role_cols: Vec<(usize, Role)> = plan
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| if let Target::Role(r) = t { Some((i, *r)) } else { None })
        .collect();
    let cand_cols: Vec<usize> = plan.candidates.iter().map(|c| c.1).collect();
    let mut role_vals: [u32; 9];
    let mut cand_vals = vec![0u32; ncand];

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

        // Counts first: a row with no counts at all is an unpublished protocol.
        let mut err: Option<InputError> = None;
        let mut empty = 0usize;
        let mut empty_at = None;
        role_vals = [0; 9];
        for &(c, r) in &role_cols {
            let cell = &rec[c];
            match parse_count(cell) {
                Ok(Some(v)) => match role_vals[r.index()].checked_add(v) {
                    Some(s) => role_vals[r.index()] = s,
                    None => {
                        err.get_or_insert_with(|| fail(Some(c), Some(cell), format!("sum of the {} columns exceeds 4,294,967,295", r.key())));
                    }
                },
                Ok(None) => {
                    empty += 1;
                    empty_at.get_or_insert(c);
                }
                Err(k) => {
                    err.get_or_insert_with(|| fail(Some(c), Some(cell), k.explain().into()));
                }
            }
        }
        for (j, &c) in cand_cols.iter().enumerate() {
            let cell = &rec[c];
            match parse_count(cell) {
                Ok(Some(v)) => cand_vals[j] = v,
                Ok(None) => {
                    empty += 1;
                    empty_at.get_or_insert(c);
                    cand_vals[j] = 0;
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
        if err.is_none() && empty > 0 {
            let c = empty_at.expect("an empty cell was seen");
            err = Some(fail(
                Some(c),
                Some(b""),
                format!(
                    "empty cell; expected a count ({} of this row's {ncounts} count cells are empty; a row with all of them empty is read as an unpublished protocol)",
                    empty
                ),
            ));
        }
        if let Some(e) = err {
            if opts.skip_bad_rows {
                report.skip(line, &e);
                continue;
            }
            return Err(e.into());
        }

        // Station id and hierarchy.
        let id = match plan.station.first() {
            Some(&c) => String::from_utf8_lossy(rec[c].trim_ascii()).into_owned(),
            None => format!("line {line}"),
        };
        let mut parent = 0u32;
        for (k, (_, c)) in plan.levels.iter().enumerate() {
            parent = interners[k].code(parent, &rec[*c]);
            interners[k].level.code.push(parent);
        }
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
        report.rows_used += 1;
    }
    let n = station.len();
    if n == 0 {
        return Err(InputError::new(
            name,
            format!(
                "no station could be read: {} rows, {} unpublished (all counts empty), {} skipped{}",
                report.rows_in_file,
                report.rows_unpublished,
                report.rows_skipped,
                report.skips.first().map(|s| format!("; first skip: {}", shorten(&s.reason, 200))).unwrap_or_default()
            ),
        )
        .into());
    }
    let top_is_region = plan.levels.first().is_some_and(|l| l.0 == "region");
    let (levels, special) = finish_levels(interners, top_is_region, counts[Role::Registered.index()].as_deref(), n);
    Ok(Election {
        source: name.to_string(),
        levels,
        station,
        line: lines,
        counts,
        candidates: plan.candidates.into_iter().map(|c| c.0).collect(),
        votes,
        special,
        unpublished,
    })
}
