//! The fingerprint's stations: the inclusion rules and what they left out (module docs of
//! [`super`], "What is computed").

use super::*;

// ---------------------------------------------------------------------------------------
// Station selection
// ---------------------------------------------------------------------------------------

/// Weights of the 2-D histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// One per station (Klimek et al.).
    #[default]
    Stations,
    /// Voters: the turnout numerator (ballots issued, or in the boxes) of each station;
    /// in the simulation, the simulated ballots.
    Voters,
}

/// Which count the turnout is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnoutBasis {
    /// `T = B/N`, ballots issued.
    Issued,
    /// `T = C/N`, ballots in the boxes (the file has no issued ballots).
    InBoxes,
    /// Counts given directly (synthetic data, [`Stations::from_counts`]).
    Given,
}

/// Which stations enter the fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The winner (candidate index); `None`: the national leader.
    pub leader: Option<usize>,
    /// Keep stations abroad (left out by default, counted).
    pub include_abroad: bool,
    /// Keep electronic-voting pseudo-stations (left out by default, counted).
    pub include_electronic: bool,
    /// Minimum registered voters `N` (Klimek et al.: 100).
    pub min_registered: u32,
}

impl Default for Selection {
    fn default() -> Self {
        Selection { leader: None, include_abroad: false, include_electronic: false, min_registered: 100 }
    }
}

/// How many stations each inclusion rule set aside (each station counted once, at the
/// first rule it fails, in this order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exclusions {
    pub abroad: usize,
    pub electronic: usize,
    /// Institutions, ships, mobile, designated and partly published stations.
    pub special: usize,
    /// `C = 0` (no ballots in the boxes).
    pub no_ballots: usize,
    /// `N < min_registered`.
    pub small: usize,
    /// `V = 0` (no valid votes: no share).
    pub no_valid: usize,
    /// Kept, but with turnout above 1 (`B > N`): clamped into the last bin.
    pub turnout_above_one: usize,
}

/// The stations of a fingerprint: plain per-station columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Stations {
    /// `N_i`, registered voters.
    pub registered: Vec<u32>,
    /// Turnout `T_i` (may exceed 1 on faulty protocols; the histogram clamps it).
    pub turnout: Vec<f64>,
    /// Winner share `v_leader / V`.
    pub share: Vec<f64>,
    /// Voters (turnout numerator), the weight of [`Weighting::Voters`].
    pub voters: Vec<f64>,
    pub basis: TurnoutBasis,
    /// Winner's name, when known.
    pub leader: Option<String>,
    pub excluded: Exclusions,
}

impl Stations {
    pub fn len(&self) -> usize {
        self.registered.len()
    }
    pub fn is_empty(&self) -> bool {
        self.registered.is_empty()
    }

    /// From raw counts (registered `N`, ballots `B`, valid `V`, winner votes `W`), applying
    /// `B > 0`, `N ≥ min_registered`, `V > 0`. Turnout `B/N`, share `W/V`.
    pub fn from_counts(registered: &[u32], ballots: &[u32], valid: &[u32], winner: &[u32], min_registered: u32) -> Stations {
        let mut s = Stations {
            registered: Vec::with_capacity(registered.len()),
            turnout: Vec::with_capacity(registered.len()),
            share: Vec::with_capacity(registered.len()),
            voters: Vec::with_capacity(registered.len()),
            basis: TurnoutBasis::Given,
            leader: None,
            excluded: Exclusions::default(),
        };
        for i in 0..registered.len() {
            s.push_checked(registered[i], ballots[i], ballots[i], valid[i] as u64, winner[i] as u64, min_registered);
        }
        s
    }

    pub(super) fn push_checked(&mut self, n: u32, num: u32, c: u32, v: u64, w: u64, min_n: u32) {
        if c == 0 {
            self.excluded.no_ballots += 1;
        } else if n < min_n || n == 0 {
            self.excluded.small += 1;
        } else if v == 0 {
            self.excluded.no_valid += 1;
        } else {
            let t = num as f64 / n as f64;
            if t > 1.0 {
                self.excluded.turnout_above_one += 1;
            }
            self.registered.push(n);
            self.turnout.push(t);
            self.share.push((w as f64 / v as f64).min(1.0));
            self.voters.push(num as f64);
        }
    }

    /// A bootstrap resample (stations `idx`).
    pub(super) fn subset(&self, idx: &[usize]) -> Stations {
        Stations {
            registered: idx.iter().map(|&i| self.registered[i]).collect(),
            turnout: idx.iter().map(|&i| self.turnout[i]).collect(),
            share: idx.iter().map(|&i| self.share[i]).collect(),
            voters: idx.iter().map(|&i| self.voters[i]).collect(),
            basis: self.basis,
            leader: self.leader.clone(),
            excluded: self.excluded.clone(),
        }
    }

    pub(super) fn weights(&self, w: Weighting) -> Option<&[f64]> {
        match w {
            Weighting::Stations => None,
            Weighting::Voters => Some(&self.voters),
        }
    }
}

/// Reads the fingerprint's stations from an election (see the module docs for the rules).
pub fn select(e: &Election, sel: &Selection) -> Result<Stations> {
    let n = e
        .get(Role::Registered)
        .ok_or_else(|| Error::usage("fingerprint: the file has no registered-voter counts (N); turnout needs them"))?;
    let (num, basis) = match (e.get(Role::Issued), e.get(Role::InBoxes)) {
        (Some(b), _) => (b, TurnoutBasis::Issued),
        (None, Some(c)) => (c, TurnoutBasis::InBoxes),
        (None, None) => {
            return Err(Error::usage("fingerprint: the file has neither issued ballots (B) nor ballots in the boxes (C)"));
        }
    };
    let c = e.get(Role::InBoxes).unwrap_or(num);
    let leader = match sel.leader.or_else(|| e.leader()) {
        Some(l) if l < e.votes.len() => l,
        Some(l) => return Err(Error::usage(format!("fingerprint: no candidate number {l}"))),
        None => return Err(Error::usage("fingerprint: the file has no candidates")),
    };
    let valid = e.valid_or_sum();
    let w = &e.votes[leader];
    let mut s = Stations {
        registered: Vec::with_capacity(e.len()),
        turnout: Vec::with_capacity(e.len()),
        share: Vec::with_capacity(e.len()),
        voters: Vec::with_capacity(e.len()),
        basis,
        leader: e.candidates.get(leader).cloned(),
        excluded: Exclusions::default(),
    };
    for i in 0..e.len() {
        match e.special.get(i).copied().flatten() {
            Some(Special::Abroad) if !sel.include_abroad => {
                s.excluded.abroad += 1;
                continue;
            }
            Some(Special::Electronic) if !sel.include_electronic => {
                s.excluded.electronic += 1;
                continue;
            }
            // Hospitals, prisons, ships, partly published protocols: never ordinary.
            Some(sp) if sp.is_institutional() => {
                s.excluded.special += 1;
                continue;
            }
            _ => {}
        }
        s.push_checked(n[i], num[i], c[i], valid[i], w[i] as u64, sel.min_registered);
    }
    Ok(s)
}
