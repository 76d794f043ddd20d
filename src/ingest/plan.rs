//! From a header (plus the user's mapping and a sample of rows) to a column plan: what
//! every column is used for, and why. Every decision is recorded for `inspect`.

use super::profile::Profile;
use super::recognise::rules::Then;
use super::recognise::{Guess, Part, classify, role_of, summable};
use super::{ColumnUse, Mapping};
use crate::error::{Error, InputError, Result};
use crate::model::Role;

/// What one column feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Role(Role),
    Candidate(usize),
    Level(usize),
    /// The name beside a level's code ("District name" beside "District code"): part
    /// of the unit's label.
    LevelLabel(usize),
    Station,
    /// The station's name beside its number: part of its label.
    StationName,
    /// Station type (ordinary, hospital, abroad, …) or a special-station flag.
    StationType,
    SpecialFlag,
    /// A column that splits the file into several elections (round, race).
    Split,
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
    /// Per level: the column holding the units' names beside their codes.
    pub level_labels: Vec<Option<usize>>,
    /// The column holding the station's name beside its number.
    pub station_name: Option<usize>,
    /// Issued-ballot columns that are postal ballots (also in `roles[Issued]`).
    pub postal: Vec<usize>,
    pub station_type: Option<usize>,
    pub special_flag: Option<usize>,
    /// Columns that split the file into several elections (round, race).
    pub splits: Vec<usize>,
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

/// Header names made unique: a name that repeats ("logic check" three times in the
/// Georgian CEC files) gets " (column N)" after its second and later copies, so each
/// column can still be named; `Header::find` says so when a flag names the repeated one.
pub(crate) fn dedupe_header(mut names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    for i in 0..names.len() {
        if !seen.insert(names[i].clone()) {
            names[i] = format!("{} (column {})", names[i], i + 1);
            seen.insert(names[i].clone());
        }
    }
    names
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
        Target::Level(_) | Target::LevelLabel(_) => "a hierarchy level".into(),
        Target::Station | Target::StationName => "the station id".into(),
        Target::StationType | Target::SpecialFlag => "the station type".into(),
        Target::Split => "a round or race column".into(),
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
        // Several columns make a composite key ("county,precinct"), joined with " / ".
        for s in &h.expand(vec![s.clone()]) {
            let i = h.find("--station", s)?;
            if a.targets[i] != Target::Level(0) {
                a.set(i, Target::Station, "named (--station)".into(), "--station")?;
            }
            station.push(i);
        }
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

    // 2. Recognition of everything not named (rules in `recognise::rules`).
    let hierarchy_named = m.region.is_some() || m.commission.is_some() || !m.levels.is_empty();
    let na = m.na.clone().unwrap_or_default();
    let profiles: Vec<Profile> = (0..n).map(|i| Profile::of(sample.iter().filter_map(|r| r.get(i)), &na)).collect();
    let empty_in_sample = |i: usize| profiles[i].nonempty == 0;
    let mut auto_roles: [Vec<usize>; 9] = Default::default();
    let mut extras_registered: Vec<usize> = Vec::new();
    let mut postal = Vec::new();
    let mut ballots_generic = Vec::new();
    let mut lang_votes: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut unrecognised = Vec::new();
    // Level candidates: (rank, base word, part, column).
    let mut auto_levels: Vec<(u8, &'static str, String, Part, usize)> = Vec::new();
    let mut station_cols: Vec<(Part, usize)> = Vec::new();
    let (mut station_type, mut special_flag, mut splits) = (None, None, Vec::new());
    for i in 0..n {
        if a.targets[i] != Target::Ignored || ignored_by_user[i] {
            continue;
        }
        let unnamed = h.names[i] == format!("column {}", i + 1);
        let Some(rec) = (if unnamed { None } else { classify(&h.names[i]) }) else {
            if unnamed && profiles[i].nonempty > 0 && profiles[i].row_number {
                a.how[i] = "ignored: an unnamed column of row numbers".into();
            } else if unnamed && empty_in_sample(i) {
                a.how[i] = "ignored: an unnamed, empty column".into();
            } else {
                unrecognised.push(i);
            }
            continue;
        };
        let why = rec.why.clone();
        match rec.guess {
            Guess::Line(t) => match t {
                Then::Role(_) | Then::RegisteredExtra | Then::IssuedPostal => {
                    let r = role_of(t).expect("a role");
                    *lang_votes.entry(rec.lang).or_default() += 1;
                    if explicit_roles[r.index()] {
                        a.how[i] = format!("ignored: looks like {} ({why}) but that role was named", r.key());
                    } else {
                        auto_roles[r.index()].push(i);
                        a.how[i] = match t {
                            Then::RegisteredExtra => format!("recognised ({why}): a supplementary voter list, summed into registered"),
                            Then::IssuedPostal => format!("recognised ({why}): postal ballots, summed into issued and kept apart for the ballot balance"),
                            _ => format!("recognised ({why})"),
                        };
                        if t == Then::RegisteredExtra {
                            extras_registered.push(i);
                        }
                        if t == Then::IssuedPostal {
                            postal.push(i);
                        }
                    }
                }
                Then::Ballots => ballots_generic.push((i, why)),
                Then::Blank => a.how[i] = format!("ignored: blank ballots ({why}), a protocol line kept apart from the candidates"),
                Then::OtherLine => a.how[i] = format!("ignored: a protocol line tallyscope does not use ({why})"),
                Then::NotCount(what) => a.how[i] = format!("ignored: {what} ({why})"),
                Then::Split => {
                    a.set(i, Target::Split, format!("split ({why}): a round or race; pick one with --where or --split-by"), "recognition")?;
                    splits.push(i);
                }
                Then::StationType => {
                    if station_type.is_none() {
                        a.set(i, Target::StationType, format!("station type ({why}): special stations are set aside"), "recognition")?;
                        station_type = Some(i);
                    } else {
                        a.how[i] = format!("ignored: a second station-type column ({why})");
                    }
                }
                Then::SpecialFlag => {
                    if special_flag.is_none() {
                        a.set(i, Target::SpecialFlag, format!("special-station flag ({why}): stations where it is filled in are set aside"), "recognition")?;
                        special_flag = Some(i);
                    } else {
                        a.how[i] = format!("ignored: a second special-station column ({why})");
                    }
                }
            },
            Guess::Level { rank, name, base, part } => {
                if hierarchy_named {
                    a.how[i] = format!("ignored: looks like the {name} level ({why}), but the hierarchy was named by flags");
                } else {
                    // A level empty on every row is dropped after the read (`drop_empty_levels`).
                    auto_levels.push((rank, name, base, part, i));
                    a.how[i] = format!("recognised ({why})");
                }
            }
            Guess::Station(part) => {
                if !station.is_empty() {
                    a.how[i] = format!("ignored: looks like the station ({why}), but the station was named");
                } else {
                    station_cols.push((part, i));
                    a.how[i] = format!("recognised ({why})");
                }
            }
        }
    }
    // Generic "ballots": received when the values are round (packs), else cast.
    for (i, why) in ballots_generic {
        let (role, what) = if profiles[i].looks_received() && auto_roles[Role::Received.index()].is_empty() && !explicit_roles[Role::Received.index()] {
            (Some(Role::Received), "ballots received: its non-zero values are multiples of 10, as packs of ballots are")
        } else if auto_roles[Role::InBoxes.index()].is_empty() && !explicit_roles[Role::InBoxes.index()] {
            (Some(Role::InBoxes), "ballots cast: its values are not the round numbers of ballots received in packs")
        } else {
            (None, "")
        };
        match role {
            Some(r) => {
                auto_roles[r.index()].push(i);
                a.how[i] = format!("recognised ({why}): {what}");
            }
            None => a.how[i] = format!("ignored: ballots ({why}), but received and cast are both taken"),
        }
    }
    // The station: a code (or a plain column) identifies it; a name beside it labels it.
    let mut station_name = None;
    if station.is_empty() && !station_cols.is_empty() {
        let id = station_cols.iter().find(|c| c.0 != Part::Name).or(station_cols.first()).expect("non-empty").1;
        a.set(id, Target::Station, a.how[id].clone(), "recognition")?;
        station.push(id);
        if let Some(&(_, nm)) = station_cols.iter().find(|c| c.1 != id && c.0 == Part::Name) {
            a.set(nm, Target::StationName, format!("{}: the station's name, part of its label", a.how[nm]), "recognition")?;
            station_name = Some(nm);
        }
        for &(_, c) in &station_cols {
            if c != id && Some(c) != station_name {
                a.how[c] = format!("ignored: another station column ({}) is already used", h.names[id]);
            }
        }
    }
    // Levels: one per (rank, level word); a code and a name of one level make one
    // level; two level words of one rank are ordered by column, the later finer.
    let mut level_labels_auto: Vec<(u8, String, usize, Option<usize>)> = Vec::new();
    {
        let mut groups: Vec<(u8, &'static str, String, Vec<(Part, usize)>)> = Vec::new();
        for (rank, name, base, part, i) in auto_levels {
            match groups.iter_mut().find(|g| g.0 == rank && g.2 == base) {
                Some(g) => g.3.push((part, i)),
                None => groups.push((rank, name, base, vec![(part, i)])),
            }
        }
        // Order by rank, then by first column; bump ranks that repeat.
        groups.sort_by_key(|g| (g.0, g.3[0].1));
        let mut used_ranks: Vec<u8> = Vec::new();
        for (rank, name, _base, cols) in groups {
            let mut rank = rank;
            while used_ranks.contains(&rank) {
                rank += 5;
            }
            used_ranks.push(rank);
            let id = cols.iter().find(|c| c.0 != Part::Name).or(cols.first()).expect("non-empty").1;
            let label = cols.iter().find(|c| c.1 != id && c.0 == Part::Name).map(|c| c.1);
            for &(_, c) in &cols {
                if c != id && Some(c) != label {
                    a.how[c] = format!("ignored: the {name} level already has a column ({})", h.names[id]);
                }
            }
            let out_name = if rank == 20 && name == "municipality" && normalise_is_commission(&h.names[id]) { "commission" } else { name };
            // Two levels of one kind (Poland's OKW and powiat are both districts) are
            // told apart by their column's header.
            let out_name = if level_labels_auto.iter().any(|l| l.1 == out_name) { h.names[id].to_lowercase() } else { out_name.to_string() };
            level_labels_auto.push((rank, out_name, id, label));
        }
    }
    let mut level_labels_by_col: std::collections::HashMap<usize, usize> = Default::default();
    for (rank, name, id, label) in level_labels_auto {
        a.set(id, Target::Level(0), a.how[id].clone(), "recognition")?;
        levels.push((rank, name, id));
        if let Some(l) = label {
            a.set(l, Target::LevelLabel(0), format!("{}: the units' names beside their codes", a.how[l]), "recognition")?;
            level_labels_by_col.insert(id, l);
        }
    }
    for role in Role::ALL {
        let found = &auto_roles[role.index()];
        let extras = found.iter().filter(|i| extras_registered.contains(i) || postal.contains(i)).count();
        if found.len() > 1 && (!summable(role) || (role == Role::Registered && found.len() - extras > 1)) {
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

    // 3. Candidates: named, or the block of remaining count columns.
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
            let mut counts = Vec::new();
            for &i in &unrecognised {
                match profiles[i].not_counts() {
                    Some(why) => a.how[i] = format!("ignored: {why}"),
                    None => counts.push(i),
                }
            }
            // The block: the longest run of count columns in file order, passing over
            // columns empty in the sample; ties go to the later run (candidates come
            // after the protocol lines).
            let mut runs: Vec<Vec<usize>> = Vec::new();
            let mut cur: Vec<usize> = Vec::new();
            for i in 0..n {
                if counts.contains(&i) {
                    cur.push(i);
                } else if !(empty_in_sample(i) && a.targets[i] == Target::Ignored) && !cur.is_empty() {
                    runs.push(std::mem::take(&mut cur));
                }
            }
            if !cur.is_empty() {
                runs.push(cur);
            }
            let best = runs.iter().enumerate().max_by_key(|(k, r)| (r.len(), *k)).map(|(k, _)| k);
            for (k, run) in runs.iter().enumerate() {
                for &i in run {
                    let main = Some(k) == best;
                    if !main && profiles[i].binary {
                        a.how[i] = "ignored: a flag (only 0 and 1) outside the block of candidate columns".into();
                    } else if !main && runs[best.expect("a best run")].len() >= 2 {
                        let b = &runs[best.expect("a best run")];
                        a.how[i] = format!(
                            "ignored: a count column outside the block of candidates (\"{}\" … \"{}\"): probably a protocol line tallyscope does not know; name it with --candidates if it is a candidate",
                            h.names[b[0]],
                            h.names[*b.last().expect("non-empty")]
                        );
                    } else {
                        let how = if empty_in_sample(i) {
                            "recognised (a remaining column, empty in the sample: dropped if empty in the whole file)"
                        } else {
                            "recognised (a remaining column of counts)"
                        };
                        a.set(i, Target::Candidate(0), how.into(), "recognition")?;
                        candidates.push((h.names[i].clone(), i));
                    }
                }
            }
        }
        if candidates.is_empty() && a.targets.iter().all(|t| !matches!(t, Target::Role(_))) {
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
    // Filter columns are read but not mapped.
    for k in m.filters()?.keys() {
        let i = h.find("--where", k)?;
        if a.targets[i] == Target::Ignored {
            a.how[i] = "filter (--where)".into();
        }
    }

    levels.sort_by_key(|l| l.0);
    let mut level_out = Vec::new();
    let mut level_labels = Vec::new();
    for (k, (_, name, i)) in levels.iter().enumerate() {
        a.targets[*i] = Target::Level(k);
        level_out.push((name.clone(), *i));
        let label = level_labels_by_col.get(i).copied();
        if let Some(l) = label {
            a.targets[l] = Target::LevelLabel(k);
        }
        level_labels.push(label);
    }
    let mut roles: [Vec<usize>; 9] = Default::default();
    for (i, t) in a.targets.iter().enumerate() {
        if let Target::Role(r) = t {
            roles[r.index()].push(i);
        }
    }
    let postal: Vec<usize> = postal.into_iter().filter(|i| a.targets[*i] == Target::Role(Role::Issued)).collect();
    let columns = (0..n)
        .map(|i| ColumnUse {
            index: i + 1,
            name: h.names[i].clone(),
            used_as: match a.targets[i] {
                Target::Role(r) => r.key().to_string(),
                Target::Candidate(_) => "candidate".into(),
                Target::Level(k) => format!("level:{}", level_out[k].0),
                Target::LevelLabel(k) => format!("level_name:{}", level_out[k].0),
                Target::Station => "station".into(),
                Target::StationName => "station_name".into(),
                Target::StationType => "station_type".into(),
                Target::SpecialFlag => "special_flag".into(),
                Target::Split => "split".into(),
                Target::LongCandidate => "candidate_name".into(),
                Target::LongVotes => "votes".into(),
                Target::Ignored => "ignored".into(),
            },
            how: a.how[i].clone(),
        })
        .collect();
    let lang = lang_votes.iter().max_by_key(|(l, c)| (**c, std::cmp::Reverse(**l))).map(|(l, _)| *l);
    let layout = if long {
        "long format (one row per station × candidate)".to_string()
    } else {
        match lang {
            Some("ru") => "Russian CEC protocol, wide (one row per station)".to_string(),
            Some(l) => format!("wide (one row per station), protocol lines recognised by the {} rules", language_name(l)),
            None => "wide, candidates only (no protocol lines recognised)".to_string(),
        }
    };
    Ok(Plan {
        targets: a.targets,
        levels: level_out,
        station,
        candidates,
        roles,
        columns,
        layout,
        level_labels,
        station_name,
        postal,
        station_type,
        special_flag,
        splits,
    })
}

fn language_name(code: &str) -> &'static str {
    match code {
        "ru" => "Russian",
        "uk" => "Ukrainian",
        "kk" => "Kazakh",
        "pl" => "Polish",
        "cs/sk" => "Czech/Slovak",
        "ka" => "Georgian",
        "en" => "English",
        "es/pt" => "Spanish/Portuguese",
        "fr" => "French",
        "de" => "German",
        _ => "generic",
    }
}

/// A level header that names a commission (TIK, "territorial commission") keeps the
/// name "commission" in the output, as Russian files always had.
fn normalise_is_commission(h: &str) -> bool {
    let n = super::recognise::normalise(h);
    matches!(n.as_str(), "tik" | "тик" | "commission" | "territorial commission")
}
