//! The ranked lists: `stations.csv`/`.json`, `commissions.csv`/`.json`,
//! `regions.csv`/`.json`, sorted by score, every row with its reasons in plain words.

use super::{Exporter, par_write, safe_cell};
use crate::analysis::Analysis;
use crate::rank::{self, units::UnitScore};
use crate::model::Role;

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.2}", 100.0 * v)).unwrap_or_default()
}

/// The finite mixture's columns of the stations tables (empty where the station was not
/// fitted): posterior probabilities to 4 decimals, expected votes to 1.
pub const MIXTURE_COLUMNS: [(&str, fn(crate::stats::mixture::StationPosterior) -> f64); 4] = [
    ("p_incremental", |m| round_to(m.p_incremental as f64, 4)),
    ("p_extreme", |m| round_to(m.p_extreme as f64, 4)),
    ("votes_manufactured", |m| round_to(m.manufactured as f64, 1)),
    ("votes_stolen", |m| round_to(m.stolen as f64, 1)),
];

fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub struct StationsCsv;
pub struct StationsJson;

/// The hierarchy of a station as a JSON object `{level name: label}`.
struct Hierarchy<'a> {
    levels: &'a [crate::model::Level],
    path: Vec<&'a str>,
}

impl serde::Serialize for Hierarchy<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.path.len()))?;
        for (l, p) in self.levels.iter().zip(&self.path) {
            m.serialize_entry(&l.name, p)?;
        }
        m.end()
    }
}

/// One ranked station: a row of `stations.json`, and of `stations.csv` (with `leader_votes`).
#[derive(serde::Serialize)]
pub struct StationRow<'a> {
    rank: usize,
    station: &'a str,
    line: u64,
    hierarchy: Hierarchy<'a>,
    registered: Option<u32>,
    issued: Option<u32>,
    in_boxes: Option<u32>,
    valid: Option<u32>,
    /// The leader's votes (stations.csv only; filled by [`gather`]).
    #[serde(skip)]
    leader_votes: Option<u32>,
    turnout: Option<f64>,
    leader_share: Option<f64>,
    /// The finite mixture's posterior (absent where the station was not fitted).
    #[serde(skip_serializing_if = "Option::is_none")]
    p_incremental: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p_extreme: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    votes_manufactured: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    votes_stolen: Option<f64>,
    score: f64,
    flagged: bool,
    reasons: String,
    /// The evidence worth listing; weaker pieces are in the score but not listed.
    evidence: Vec<&'a rank::Evidence>,
}

/// One ranked station, ready to serialise.
pub fn station_row<'a>(a: &'a Analysis, e: &'a crate::Election, rank_no: usize, i: usize) -> StationRow<'a> {
    let s = &a.stations_ranked[i];
    let get = |r: Role| e.get(r).map(|v| v[i]);
    let m = a.mixture_at(i);
    let col = |k: usize| m.map(MIXTURE_COLUMNS[k].1);
    StationRow {
        rank: rank_no,
        station: &e.station[i],
        line: e.line[i],
        hierarchy: Hierarchy { levels: &e.levels, path: e.path(i) },
        registered: get(Role::Registered),
        issued: get(Role::Issued),
        in_boxes: get(Role::InBoxes),
        valid: get(Role::Valid),
        leader_votes: None,
        turnout: s.turnout,
        leader_share: s.share,
        p_incremental: col(0),
        p_extreme: col(1),
        votes_manufactured: col(2),
        votes_stolen: col(3),
        score: s.score,
        flagged: s.flagged,
        reasons: s.reasons(),
        evidence: s.evidence.iter().collect(),
    }
}

/// The rows of a chunk of the rank order (`idx`, the first at rank `first + 1`), read
/// before any is formatted: the stations are scattered over the columns, and a tight
/// loop of loads lets the processor overlap their cache misses, which formatting each
/// row as it is read did not (at 10⁷ stations the rank order took stations.csv from 5 s
/// in file order to 11 s).
fn gather<'a>(a: &'a Analysis, e: &'a crate::Election, first: usize, idx: &[usize]) -> Vec<StationRow<'a>> {
    // The leader the analysis used (`--leader`, else the most votes).
    let leader = a.leader.as_ref().and_then(|name| e.candidates.iter().position(|c| c == name));
    idx.iter()
        .enumerate()
        .map(|(k, &i)| StationRow { leader_votes: leader.map(|j| e.votes[j][i]), ..station_row(a, e, first + k + 1, i) })
        .collect()
}

/// One ranked station as a JSON value.
pub fn station_json(a: &Analysis, e: &crate::Election, rank_no: usize, i: usize) -> serde_json::Value {
    serde_json::to_value(station_row(a, e, rank_no, i)).expect("a station row always serialises")
}

fn station_rows(a: &Analysis, e: &crate::Election, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut head: Vec<String> = vec!["rank".into(), "station".into()];
    for l in &e.levels {
        head.push(safe_cell(&l.name).into_owned());
    }
    head.extend(
        [
            "line",
            "registered",
            "issued",
            "in_boxes",
            "valid",
            "leader_votes",
            "turnout_pct",
            "leader_share_pct",
            "p_incremental",
            "p_extreme",
            "votes_manufactured",
            "votes_stolen",
            "score",
            "flagged",
            "reasons",
        ]
        .map(String::from),
    );
    // `analyze --observed`: each station's comparison with the observers' record.
    let observed = a.observed.as_deref().map(|c| {
        let mut at = vec![u32::MAX; e.len()];
        for (k, s) in c.stations.iter().enumerate() {
            at[s.station] = k as u32;
        }
        (c, at)
    });
    if observed.is_some() {
        head.extend(["observed_fields_compared", "observed_fields_differing", "observed_votes_moved"].map(String::from));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&head)?;
    out.write_all(&w.into_inner().map_err(|e| e.into_error())?)?;
    par_write(&a.station_order, out, |first, idx, buf| {
        use std::fmt::Write;
        // Fields go straight to the CSV writer (it quotes where needed), counts through
        // itoa, decimals through one reused buffer: no allocation per field.
        let mut w = csv::WriterBuilder::new().from_writer(buf);
        let mut num = itoa::Buffer::new();
        let mut text = String::with_capacity(64);
        let mut fixed = |w: &mut csv::Writer<&mut Vec<u8>>, x: Option<f64>, digits: usize| -> csv::Result<()> {
            text.clear();
            if let Some(v) = x {
                let _ = write!(text, "{v:.digits$}");
            }
            w.write_field(text.as_bytes())
        };
        for (r, &station) in gather(a, e, first, idx).into_iter().zip(idx) {
            w.write_field(num.format(r.rank))?;
            w.write_field(safe_cell(r.station).as_bytes())?;
            for p in &r.hierarchy.path {
                w.write_field(safe_cell(p).as_bytes())?;
            }
            w.write_field(num.format(r.line))?;
            for c in [r.registered, r.issued, r.in_boxes, r.valid, r.leader_votes] {
                match c {
                    Some(v) => w.write_field(num.format(v))?,
                    None => w.write_field(b"")?,
                }
            }
            fixed(&mut w, r.turnout.map(|v| 100.0 * v), 2)?;
            fixed(&mut w, r.leader_share.map(|v| 100.0 * v), 2)?;
            fixed(&mut w, r.p_incremental, 4)?;
            fixed(&mut w, r.p_extreme, 4)?;
            fixed(&mut w, r.votes_manufactured, 1)?;
            fixed(&mut w, r.votes_stolen, 1)?;
            fixed(&mut w, Some(r.score), 3)?;
            w.write_field(if r.flagged { "true" } else { "false" })?;
            w.write_field(safe_cell(&r.reasons).as_bytes())?;
            if let Some((c, at)) = &observed {
                match c.stations.get(at[station] as usize) {
                    Some(s) => {
                        w.write_field(num.format(s.compared))?;
                        w.write_field(num.format(s.differing))?;
                        w.write_field(num.format(s.votes_moved))?;
                    }
                    None => {
                        for _ in 0..3 {
                            w.write_field(b"")?;
                        }
                    }
                }
            }
            w.write_record(None::<&[u8]>)?;
        }
        w.flush()
    })
}

impl Exporter for StationsCsv {
    fn file_name(&self) -> &'static str {
        "stations.csv"
    }
    fn write_to(&self, a: &Analysis, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        station_rows(a, a.election(), w)
    }
}

impl Exporter for StationsJson {
    fn file_name(&self) -> &'static str {
        "stations.json"
    }
    fn write_to(&self, a: &Analysis, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        super::json_lines(&a.station_order, w, |first, idx| gather(a, a.election(), first, idx))
    }
}

fn unit_sorted(v: &[UnitScore]) -> Vec<&UnitScore> {
    crate::rank::units::sorted(v)
}

fn unit_csv(a: &Analysis, units: &[UnitScore]) -> std::io::Result<Vec<u8>> {
    let e = a.election();
    let mut w = csv::Writer::from_writer(Vec::new());
    let depth = units.first().map(|u| u.level + 1).unwrap_or(0);
    let mut head: Vec<String> = vec!["rank".into()];
    head.extend(e.levels.iter().take(depth).map(|l| safe_cell(&l.name).into_owned()));
    head.extend(["stations", "flagged", "median_turnout_pct", "median_leader_share_pct", "score", "reasons"].map(String::from));
    w.write_record(&head)?;
    for (k, u) in unit_sorted(units).into_iter().enumerate() {
        let mut row = vec![(k + 1).to_string()];
        row.extend(u.path.iter().map(|p| safe_cell(p).into_owned()));
        row.push(u.stations.to_string());
        row.push(u.flagged.to_string());
        row.push(pct(u.median_turnout));
        row.push(pct(u.median_share));
        row.push(format!("{:.3}", u.score));
        row.push(safe_cell(&u.reasons()).into_owned());
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// One ranked unit in `commissions.json` / `regions.json`.
#[derive(serde::Serialize)]
struct UnitRow<'a> {
    rank: usize,
    hierarchy: Hierarchy<'a>,
    stations: usize,
    flagged: usize,
    median_turnout: Option<f64>,
    median_leader_share: Option<f64>,
    score: f64,
    reasons: String,
    evidence: &'a [crate::rank::units::UnitEvidence],
}

/// Streams the units as a JSON array, one unit per line (250,000 commissions at 10⁷
/// stations).
fn unit_json(a: &Analysis, units: &[UnitScore], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let e = a.election();
    super::json_lines(&unit_sorted(units), out, |first, chunk| {
        chunk
            .iter()
            .enumerate()
            .map(|(k, u)| UnitRow {
                rank: first + k + 1,
                hierarchy: Hierarchy { levels: &e.levels, path: u.path.iter().map(String::as_str).collect() },
                stations: u.stations,
                flagged: u.flagged,
                median_turnout: u.median_turnout,
                median_leader_share: u.median_share,
                score: u.score,
                reasons: u.reasons(),
                evidence: &u.evidence,
            })
            .collect()
    })
}

/// A ranked list of units: commissions (the level just above stations) or regions,
/// as CSV or JSON.
pub struct Units {
    pub regions: bool,
    pub json: bool,
}

impl Exporter for Units {
    fn file_name(&self) -> &'static str {
        match (self.regions, self.json) {
            (false, false) => "commissions.csv",
            (false, true) => "commissions.json",
            (true, false) => "regions.csv",
            (true, true) => "regions.json",
        }
    }
    fn write_to(&self, a: &Analysis, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let units = if self.regions { &a.regions } else { &a.commissions };
        if self.json { unit_json(a, units, w) } else { w.write_all(&unit_csv(a, units)?) }
    }
}
