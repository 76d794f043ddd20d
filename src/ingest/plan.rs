//! From a header (plus the user's mapping and a sample of rows) to a column plan: what
//! every column is used for, and why. Every decision is recorded for `inspect`.

use super::number::{CountError, parse_count};
use super::recognise::{Guess, classify, summable};
use super::{ColumnUse, Mapping};
use crate::error::{Error, InputError, Result};
use crate::model::Role;

/// What one column feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Role(Role),
    Candidate(usize),
    Level(usize),
    Station,
    /// Long format only: the candidate-name and votes columns, and filter columns.
    LongCandidate,
    LongVotes,
    Ignored,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub targets: Vec<Target>,
    /// Levels top first: output name and column index.
    pub levels: Vec<(String, usize)>,
    pub station: Vec<usize>,
    pub candidates: Vec<(String, usize)>,
    pub roles: [Vec<usize>; 9],
    pub columns: Vec<ColumnUse>,
    pub layout: String,
}

pub(crate) struct Header<'a> {
    pub file: &'a str,
    pub names: Vec<String>,
}

impl Header<'_> {
    pub fn find(&self, flag: &str, name: &str) -> Result<usize> {
        if let Some(i) = self.names.iter().position(|h| h == name) {
            return Ok(i);
        }
        // Forgive case and surrounding spaces, but only when unambiguous.
        let want = name.trim().to_lowercase();
        let loose: Vec<usize> =
            (0..self.names.len()).filter(|&i| self.names[i].trim().to_lowercase() == want).collect();
        if loose.len() == 1 {
            return Ok(loose[0]);
        }
        let near: Vec<&str> = self
            .names
            .iter()
            .filter(|h| {
                let h = h.to_lowercase();
                !want.is_empty() && (h.contains(&want) || want.contains(&h))
            })
            .map(|s| s.as_str())
            .take(5)
            .collect();
        let hint = if near.is_empty() {
            format!(
                "the header has {} columns: {}",
                self.names.len(),
                list(&self.names.iter().map(|s| s.as_str()).collect::<Vec<_>>(), 12)
            )
        } else {
            format!("did you mean {}?", list(&near, 5))
        };
        Err(InputError::new(self.file, format!("{flag} \"{name}\": no such column in the header; {hint}"))
            .line(1)
            .into())
    }
}

impl Header<'_> {
    /// Flag values naming several columns: a value that is a column name is kept whole
    /// (Russian headers contain commas); otherwise it is split on commas.
    pub fn expand(&self, items: Vec<String>) -> Vec<String> {
        let mut out = Vec::new();
        for it in items {
            if self.names.iter().any(|h| *h == it) || !it.contains(',') {
                out.push(it);
            } else {
                out.extend(it.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
            }
        }
        out
    }
}

pub fn list(items: &[&str], max: usize) -> String {
    let mut s: Vec<String> = items.iter().take(max).map(|x| format!("\"{x}\"")).collect();
    if items.len() > max {
        s.push(format!("… ({} more)", items.len() - max));
    }
    s.join(", ")
}

/// Checks header names: duplicates are an error (a column could not be named).
pub(crate) fn check_header(file: &str, names: &[String]) -> Result<()> {
    let mut seen = std::collections::HashMap::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = seen.insert(n.as_str(), i) {
            return Err(InputError::new(
                file,
                format!(
                    "duplicate column name: columns {} and {} are both called \"{}\"; column names must be unique (rename one)",
                    j + 1,
                    i + 1,
                    crate::error::shorten(n, 60)
                ),
            )
            .line(1)
            .column(n.clone())
            .into());
        }
    }
    Ok(())
}

struct Assign<'a> {
    h: &'a Header<'a>,
    targets: Vec<Target>,
    how: Vec<String>,
}

impl Assign<'_> {
    fn set(&mut self, i: usize, t: Target, how: String, flag: &str) -> Result<()> {
        if self.targets[i] != Target::Ignored && self.targets[i] != t {
            return Err(InputError::new(
                self.h.file,
                format!(
                    "column \"{}\" is mapped twice: to {} and, by {flag}, to {}; a column can feed one role only",
                    self.h.names[i],
                    describe(self.targets[i]),
                    describe(t)
                ),
            )
            .line(1)
            .column(self.h.names[i].clone())
            .into());
        }
        self.targets[i] = t;
        self.how[i] = how;
        Ok(())
    }
}

fn describe(t: Target) -> String {
    match t {
        Target::Role(r) => format!("role {}", r.key()),
        Target::Candidate(_) => "a candidate".into(),
        Target::Level(_) => "a hierarchy level".into(),
        Target::Station => "the station id".into(),
        Target::LongCandidate => "the candidate-name column".into(),
        Target::LongVotes => "the votes column".into(),
        Target::Ignored => "nothing".into(),
    }
}

/// Builds the plan. `sample` holds up to a few hundred data rows, used only to tell
/// count columns (candidates) from text columns.
pub(crate) fn build(h: &Header, m: &Mapping, sample: &[csv::ByteRecord], long: bool) -> Result<Plan> {
    let n = h.names.len();
    let mut a = Assign { h, targets: vec![Target::Ignored; n], how: vec![String::new(); n] };
    let mut explicit_roles = [false; 9];
    let mut levels: Vec<(u8, String, usize)> = Vec::new();

    // 1. What the user named.
    for role in Role::ALL {
        if let Some(cols) = m.role(role) {
            let cols = h.expand(cols.clone().into_vec());
            if cols.len() > 1 && !summable(role) {
                return Err(Error::usage(format!(
                    "--{}: {} columns given, but only issued and in-boxes ballots are summed over several columns",
                    role.key().replace('_', "-"),
                    cols.len()
                )));
            }
            for c in cols {
                let flag = format!("--{}", role.key().replace('_', "-"));
                let i = h.find(&flag, &c)?;
                a.set(i, Target::Role(role), format!("named ({flag})"), &flag)?;
            }
            explicit_roles[role.index()] = true;
        }
    }
    if let Some(r) = &m.region {
        let i = h.find("--region", r)?;
        a.set(i, Target::Level(0), "named (--region)".into(), "--region")?;
        levels.push((0, "region".into(), i));
    }
    for (k, l) in m.levels.iter().enumerate() {
        let i = h.find("--level", l)?;
        a.set(i, Target::Level(0), "named (--level)".into(), "--level")?;
        levels.push((1 + k as u8, l.clone(), i));
    }
    if let Some(c) = &m.commission {
        let i = h.find("--commission", c)?;
        a.set(i, Target::Level(0), "named (--commission)".into(), "--commission")?;
        levels.push((100, "commission".into(), i));
    }
    let mut station = Vec::new();
    let long_station: Vec<String> = m.long.as_ref().map(|l| l.station.clone()).unwrap_or_default();
    if long && !long_station.is_empty() {
        for s in &h.expand(long_station.clone()) {
            let i = h.find("--station", s)?;
            // A key column may also be a hierarchy level (county in county + precinct).
            if a.targets[i] != Target::Level(0) {
                a.set(i, Target::Station, "named (--station)".into(), "--station")?;
            }
            station.push(i);
        }
    } else if let Some(s) = &m.station {
        let i = h.find("--station", s)?;
        a.set(i, Target::Station, "named (--station)".into(), "--station")?;
        station.push(i);
    }
    if long {
        let l = m.long.clone().unwrap_or_default();
        let c = l.candidate.ok_or_else(|| {
            Error::usage("--long needs --candidate-column COL (the column holding candidate names)")
        })?;
        let v = l.votes.ok_or_else(|| Error::usage("--long needs --votes-column COL (the column holding vote counts)"))?;
        let ci = h.find("--candidate-column", &c)?;
        a.set(ci, Target::LongCandidate, "named (--candidate-column)".into(), "--candidate-column")?;
        let vi = h.find("--votes-column", &v)?;
        a.set(vi, Target::LongVotes, "named (--votes-column)".into(), "--votes-column")?;
    }
    let mut explicit_candidates = Vec::new();
    if let Some(cs) = &m.candidates {
        if long {
            return Err(Error::usage("--candidates is for wide files; in long format candidates come from --candidate-column"));
        }
        for c in &h.expand(cs.clone()) {
            let i = h.find("--candidates", c)?;
            a.set(i, Target::Candidate(0), "named (--candidates)".into(), "--candidates")?;
            explicit_candidates.push(i);
        }
    }
    let mut ignored_by_user = vec![false; n];
    for c in &m.ignore {
        let i = h.find("--ignore", c)?;
        if a.targets[i] != Target::Ignored {
            return Err(Error::usage(format!("--ignore \"{c}\": that column is also mapped to {}", describe(a.targets[i]))));
        }
        ignored_by_user[i] = true;
        a.how[i] = "ignored (--ignore)".into();
    }

    // 2. Recognition of everything not named.
    let mut auto_roles: [Vec<usize>; 9] = Default::default();
    let mut layout_votes = (0usize, 0usize); // (russian lines, english lines)
    let mut unrecognised = Vec::new();
    for i in 0..n {
        if a.targets[i] != Target::Ignored || ignored_by_user[i] {
            continue;
        }
        match classify(&h.names[i]) {
            Some(Guess::Role(r, why)) => {
                if why.starts_with("Russian") {
                    layout_votes.0 += 1;
                } else {
                    layout_votes.1 += 1;
                }
                if explicit_roles[r.index()] {
                    a.how[i] = format!("ignored: looks like {} ({why}) but that role was named", r.key());
                } else {
                    auto_roles[r.index()].push(i);
                    a.how[i] = format!("recognised ({why})");
                }
            }
            Some(Guess::Level(rank, name)) => {
                let taken = levels.iter().any(|l| l.1 == name) || (rank == 0 && m.region.is_some()) || (rank == 2 && m.commission.is_some());
                if taken {
                    a.how[i] = format!("ignored: looks like the {name} level, which was named");
                } else {
                    if let Some(prev) = levels.iter().find(|l| l.0 == rank) {
                        return Err(InputError::new(
                            h.file,
                            format!(
                                "two columns look like the {name} level: \"{}\" and \"{}\"; name one with --{name} or --ignore the other",
                                h.names[prev.2], h.names[i]
                            ),
                        )
                        .line(1)
                        .into());
                    }
                    a.set(i, Target::Level(0), format!("recognised (header \"{}\")", h.names[i]), "recognition")?;
                    levels.push((rank, name.into(), i));
                }
            }
            Some(Guess::Station) => {
                if station.is_empty() {
                    a.set(i, Target::Station, "recognised (station id header)".into(), "recognition")?;
                    station.push(i);
                } else {
                    a.how[i] = "ignored: looks like a station id, but one is already mapped".into();
                }
            }
            Some(Guess::OtherLine(why)) => a.how[i] = format!("ignored: {why}"),
            Some(Guess::NotCount(why)) => a.how[i] = format!("ignored: {why}"),
            None => unrecognised.push(i),
        }
    }
    for role in Role::ALL {
        let found = &auto_roles[role.index()];
        if found.len() > 1 && !summable(role) {
            return Err(InputError::new(
                h.file,
                format!(
                    "{} columns look like role {}: {}; name the right one with --{}",
                    found.len(),
                    role.key(),
                    list(&found.iter().map(|&i| h.names[i].as_str()).collect::<Vec<_>>(), 5),
                    role.key().replace('_', "-")
                ),
            )
            .line(1)
            .into());
        }
        for &i in found {
            a.set(i, Target::Role(role), a.how[i].clone(), "recognition")?;
        }
    }

    // 3. Candidates: named, or every remaining column of counts.
    let mut candidates = Vec::new();
    if !long {
        if m.candidates.is_some() {
            for &i in &explicit_candidates {
                candidates.push((h.names[i].clone(), i));
            }
            for &i in &unrecognised {
                a.how[i] = "ignored: not among --candidates".into();
            }
        } else {
            for &i in &unrecognised {
                let (mut num, mut text) = (0usize, 0usize);
                for r in sample {
                    if let Some(cell) = r.get(i) {
                        match parse_count(cell) {
                            Ok(Some(_)) => num += 1,
                            Ok(None) => {}
                            // "12.5", "-3", "1 234": a count column with a bad cell, which
                            // the row loop reports with its line.
                            Err(CountError::NotNumber) => text += 1,
                            Err(_) => num += 1,
                        }
                    }
                }
                if text > num {
                    a.how[i] = format!("ignored: text, not counts ({text} of {} sampled values)", num + text);
                } else {
                    a.set(i, Target::Candidate(0), "recognised (a remaining column of counts)".into(), "recognition")?;
                    candidates.push((h.names[i].clone(), i));
                }
            }
        }
        if candidates.is_empty() {
            return Err(InputError::new(
                h.file,
                "no candidate columns: after the protocol lines and hierarchy, no column of vote counts is left; \
                 name them with --candidates COL1,COL2,… (or check the delimiter with --delimiter)",
            )
            .line(1)
            .into());
        }
        for (j, (_, i)) in candidates.iter().enumerate() {
            a.targets[*i] = Target::Candidate(j);
        }
    } else {
        for &i in &unrecognised {
            a.how[i] = "ignored: not a recognised column (long format)".into();
        }
    }
    // Filter columns (long) are read but not mapped.
    if long {
        for k in m.filters()?.keys() {
            let i = h.find("--where", k)?;
            if a.targets[i] == Target::Ignored {
                a.how[i] = "filter (--where)".into();
            }
        }
    }

    levels.sort_by_key(|l| l.0);
    let mut level_out = Vec::new();
    for (k, (_, name, i)) in levels.iter().enumerate() {
        a.targets[*i] = Target::Level(k);
        level_out.push((name.clone(), *i));
    }
    let mut roles: [Vec<usize>; 9] = Default::default();
    for (i, t) in a.targets.iter().enumerate() {
        if let Target::Role(r) = t {
            roles[r.index()].push(i);
        }
    }
    let columns = (0..n)
        .map(|i| ColumnUse {
            index: i + 1,
            name: h.names[i].clone(),
            used_as: match a.targets[i] {
                Target::Role(r) => r.key().to_string(),
                Target::Candidate(_) => "candidate".into(),
                Target::Level(k) => format!("level:{}", level_out[k].0),
                Target::Station => "station".into(),
                Target::LongCandidate => "candidate_name".into(),
                Target::LongVotes => "votes".into(),
                Target::Ignored => "ignored".into(),
            },
            how: a.how[i].clone(),
        })
        .collect();
    let layout = if long {
        "long format (one row per station × candidate)".to_string()
    } else if layout_votes.0 > layout_votes.1 {
        "Russian CEC protocol, wide (one row per station)".to_string()
    } else if layout_votes.1 > 0 {
        "generic wide (one row per station, English headers)".to_string()
    } else {
        "wide, candidates only (no protocol lines recognised)".to_string()
    };
    Ok(Plan { targets: a.targets, levels: level_out, station, candidates, roles, columns, layout })
}
