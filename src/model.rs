//! The in-memory election: a columnar station table (struct of arrays), the hierarchy
//! above the stations, and the candidates.
//!
//! Everything downstream (checks, statistics, ranking, rendering) reads plain slices
//! from here; nothing in this module does I/O. Counts are `u32` per station (the
//! largest real station is far below 4·10⁹; ingest rejects larger values with a clear
//! error) and `u64` for totals.

use serde::Serialize;

/// One protocol count per station.
pub type Count = u32;

/// The protocol lines of DESIGN.md §1 that a file may carry. Each is optional: many
/// commissions publish no registered-voter count, some no ballot balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `N`: registered voters on the list at close.
    Registered,
    /// Ballots received by the station commission.
    Received,
    /// `B`: ballots issued to voters (early + in the station + outside), summed.
    Issued,
    /// Ballots cancelled (unused).
    Cancelled,
    /// `C`: ballots found in boxes (portable + stationary), summed.
    InBoxes,
    /// `I`: invalid ballots.
    Invalid,
    /// `V`: valid ballots.
    Valid,
    /// Ballots lost.
    Lost,
    /// Ballots not accounted for at receipt.
    Unaccounted,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Registered,
        Role::Received,
        Role::Issued,
        Role::Cancelled,
        Role::InBoxes,
        Role::Invalid,
        Role::Valid,
        Role::Lost,
        Role::Unaccounted,
    ];

    /// The name used in flags, mapping files, JSON output and the simulator's headers.
    pub fn key(self) -> &'static str {
        match self {
            Role::Registered => "registered",
            Role::Received => "received",
            Role::Issued => "issued",
            Role::Cancelled => "cancelled",
            Role::InBoxes => "in_boxes",
            Role::Invalid => "invalid",
            Role::Valid => "valid",
            Role::Lost => "lost",
            Role::Unaccounted => "unaccounted",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Role::Registered => "N",
            Role::Issued => "B",
            Role::InBoxes => "C",
            Role::Valid => "V",
            Role::Invalid => "I",
            _ => "",
        }
    }

    pub fn from_key(s: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.key() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// One level of the hierarchy above the stations (region, district commission, …).
///
/// Units are identified by their whole path: commission "1" of region A and
/// commission "1" of region B are two units. `code[i]` is station `i`'s unit.
#[derive(Debug, Clone, Default)]
pub struct Level {
    /// What this level is called in the output ("region", "commission", …).
    pub name: String,
    /// The source column(s) it came from.
    pub column: String,
    /// Label of each unit, as published.
    pub labels: Vec<String>,
    /// Unit of the level above (empty for the top level).
    pub parent: Vec<u32>,
    /// Unit of each station.
    pub code: Vec<u32>,
}

impl Level {
    pub fn n_units(&self) -> usize {
        self.labels.len()
    }
    /// Stations per unit.
    pub fn sizes(&self) -> Vec<usize> {
        let mut n = vec![0usize; self.labels.len()];
        for &c in &self.code {
            n[c as usize] += 1;
        }
        n
    }
}

/// A station whose row carried no counts at all: its protocol was not published.
/// Counted and reported, not treated as an error and not part of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Unpublished {
    pub line: u64,
    pub station: String,
    pub hierarchy: Vec<String>,
}

/// Stations set aside from the statistics by default, counted and reported: they are
/// not ordinary polling stations, so their turnout and vote shares follow other laws
/// (a hospital ward at 100% turnout, a ship's crew, a partly published protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Special {
    /// Abroad (embassies, bases), from the region's name or the station type.
    Abroad,
    /// An electronic-voting or other pseudo-station (more than 50,000 registered).
    Electronic,
    /// A closed institution: hospital, care home, prison, military unit, student
    /// hostel, sanatorium (from the file's station-type column).
    Institution,
    /// A ship at sea.
    Ship,
    /// A temporary or mobile station.
    Mobile,
    /// Marked special by the file itself (a filled-in "special precinct" column, or a
    /// station type no rule names).
    Designated,
    /// A protocol published in part: a line the tests need is missing (empty, `-`, `NA`).
    Partial,
}

impl Special {
    pub const ALL: [Special; 7] =
        [Special::Abroad, Special::Electronic, Special::Institution, Special::Ship, Special::Mobile, Special::Designated, Special::Partial];

    pub fn key(self) -> &'static str {
        match self {
            Special::Abroad => "abroad",
            Special::Electronic => "electronic",
            Special::Institution => "institution",
            Special::Ship => "ship",
            Special::Mobile => "mobile",
            Special::Designated => "designated",
            Special::Partial => "partial",
        }
    }

    /// What it means, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Special::Abroad => "stations abroad",
            Special::Electronic => "electronic-voting pseudo-stations (over 50,000 registered)",
            Special::Institution => "stations in closed institutions (hospitals, care homes, prisons, military units, hostels)",
            Special::Ship => "stations on ships",
            Special::Mobile => "temporary or mobile stations",
            Special::Designated => "stations the file marks as special",
            Special::Partial => "protocols published in part (a line the tests need is missing)",
        }
    }

    /// Set aside by the statistics unless the user includes them (`--include-abroad`
    /// and `--include-electronic` for the first two; the others with `--include-special`).
    pub fn is_institutional(self) -> bool {
        !matches!(self, Special::Abroad | Special::Electronic)
    }
}

/// The election: one row per published protocol, stored as columns.
#[derive(Debug, Clone, Default)]
pub struct Election {
    /// Where it came from (a path, "<stdin>", "simulated").
    pub source: String,
    /// Hierarchy levels, top first (e.g. region, commission).
    pub levels: Vec<Level>,
    /// Station id as published ("123", "УИК №123").
    pub station: Vec<String>,
    /// Source line (1-based, header = line 1) where each station's row starts
    /// (long format: its first row).
    pub line: Vec<u64>,
    /// Protocol lines, indexed by `Role::index()`; `None` when the file lacks the role.
    pub counts: [Option<Vec<Count>>; 9],
    /// Candidate / party / option names, in file order.
    pub candidates: Vec<String>,
    /// `votes[j][i]`: votes for candidate `j` at station `i`.
    pub votes: Vec<Vec<Count>>,
    /// Stations with a special status (abroad, electronic), `None` for ordinary ones.
    pub special: Vec<Option<Special>>,
    /// Rows with no counts at all.
    pub unpublished: Vec<Unpublished>,
    /// Per station, a bit per role (`1 << Role::index()`) whose cell was empty in the
    /// file (a partly published protocol); empty when no cell was missing. Checks skip
    /// the rules that need a missing line at that station.
    pub missing: Vec<u16>,
    /// Postal ballots sent out by the commission, per station, where the file has them:
    /// already summed into `Issued`, and taken out of it for the ballot balance (they do
    /// not come from the ballots the station received).
    pub issued_postal: Option<Vec<Count>>,
    /// `missing_votes[j]`: the stations (ascending) whose cell for candidate `j` was empty
    /// or `NA` in the file. Those counts read as 0 in `votes` (the battery's convention);
    /// `eft` leaves the candidate out at those stations, as R's `NA` does. Empty (no inner
    /// vectors) when no candidate cell was missing.
    pub missing_votes: Vec<Vec<u32>>,
}

impl Election {
    /// The name of each unit of `level` in test scopes (`region:NAME`,
    /// `commission:NAME`): its label below the top level's, joined by `/` from the top
    /// ("Region 07/Commission 07-003"), because commissions of different regions share
    /// names in real files (13 pairs in Russia 2018).
    /// The unit of level `to` (at or above `level`) that unit `unit` of `level` lies in,
    /// through the levels' parents; `None` where a parent is missing.
    pub fn ancestor(&self, level: usize, unit: usize, to: usize) -> Option<usize> {
        let mut u = unit;
        for k in (to + 1..=level).rev() {
            u = *self.levels.get(k)?.parent.get(u)? as usize;
        }
        (u < self.levels.get(to)?.n_units()).then_some(u)
    }

    pub fn scope_labels(&self, level: usize) -> Vec<String> {
        let Some(l) = self.levels.get(level) else { return Vec::new() };
        (0..l.n_units())
            .map(|u| {
                let mut parts = vec![l.labels[u].as_str()];
                let mut unit = u;
                for k in (1..=level).rev() {
                    let Some(&p) = self.levels[k].parent.get(unit) else { break };
                    unit = p as usize;
                    parts.push(self.levels[k - 1].labels[unit].as_str());
                }
                parts.reverse();
                parts.join("/")
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.station.len()
    }
    pub fn is_empty(&self) -> bool {
        self.station.is_empty()
    }
    pub fn get(&self, role: Role) -> Option<&[Count]> {
        self.counts[role.index()].as_deref()
    }
    pub fn has(&self, role: Role) -> bool {
        self.counts[role.index()].is_some()
    }
    /// True when station `i`'s cell for `role` was empty in the file.
    pub fn is_missing(&self, i: usize, role: Role) -> bool {
        self.missing.get(i).is_some_and(|m| m & (1 << role.index()) != 0)
    }
    /// Sum of a role over all stations.
    pub fn total(&self, role: Role) -> Option<u64> {
        self.get(role).map(|v| v.iter().map(|&x| x as u64).sum())
    }
    /// National vote totals per candidate.
    pub fn candidate_totals(&self) -> Vec<u64> {
        self.votes.iter().map(|v| v.iter().map(|&x| x as u64).sum()).collect()
    }
    /// Index of the candidate with most votes nationally (first on ties); `None` without candidates.
    pub fn leader(&self) -> Option<usize> {
        let t = self.candidate_totals();
        (0..t.len()).max_by(|&a, &b| t[a].cmp(&t[b]).then(b.cmp(&a)))
    }
    /// Valid votes `V` where published, else the sum of candidate votes.
    pub fn valid_or_sum(&self) -> Vec<u64> {
        match self.get(Role::Valid) {
            Some(v) => v.iter().map(|&x| x as u64).collect(),
            None => self.vote_sums(),
        }
    }
    /// `Σ_j v_j` per station.
    pub fn vote_sums(&self) -> Vec<u64> {
        let mut s = vec![0u64; self.len()];
        for col in &self.votes {
            for (a, &v) in s.iter_mut().zip(col) {
                *a += v as u64;
            }
        }
        s
    }
    /// Labels of station `i`'s units, top level first.
    pub fn path(&self, i: usize) -> Vec<&str> {
        self.levels.iter().map(|l| l.labels[l.code[i] as usize].as_str()).collect()
    }
    /// A human-readable location: "Region / Commission / station 12".
    pub fn describe(&self, i: usize) -> String {
        let mut s = self.path(i).join(" / ");
        if !s.is_empty() {
            s.push_str(" / ");
        }
        s.push_str("station ");
        s.push_str(&self.station[i]);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two regions with a commission of the same name each: distinct scope names.
    #[test]
    fn scope_labels_keep_same_named_commissions_apart() {
        let level = |name: &str, labels: &[&str], parent: Vec<u32>, code: Vec<u32>| Level {
            name: name.into(),
            column: name.into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            parent,
            code,
        };
        let e = Election {
            source: "hand".into(),
            levels: vec![
                level("region", &["North", "South"], vec![], vec![0, 0, 1]),
                level("commission", &["Central", "Harbour", "Central"], vec![0, 0, 1], vec![0, 1, 2]),
                level("subcommission", &["1"], vec![2], vec![0, 0, 0]),
            ],
            station: vec!["1".into(), "2".into(), "3".into()],
            line: vec![2, 3, 4],
            counts: Default::default(),
            candidates: vec![],
            votes: vec![],
            special: vec![],
            unpublished: vec![],
            missing: vec![],
            issued_postal: None,
            missing_votes: Vec::new(),
        };
        assert_eq!(e.scope_labels(0), ["North", "South"]);
        assert_eq!(e.scope_labels(1), ["North/Central", "North/Harbour", "South/Central"]);
        assert_eq!(e.scope_labels(2), ["South/Central/1"]);
        assert!(e.scope_labels(3).is_empty());
    }
}
