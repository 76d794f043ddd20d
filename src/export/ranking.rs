//! The ranked lists: `stations.csv`/`.json`, `commissions.csv`/`.json`,
//! `regions.csv`/`.json`, sorted by score, every row with its reasons in plain words.

use super::{Exporter, safe_cell};
use crate::analysis::Analysis;
use crate::rank::{self, units::UnitScore};
use crate::model::Role;
use serde_json::json;

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.2}", 100.0 * v)).unwrap_or_default()
}

pub struct StationsCsv;
pub struct StationsJson;

/// One ranked station as a JSON value (also used by the report).
pub fn station_json(a: &Analysis, e: &crate::Election, rank_no: usize, i: usize) -> serde_json::Value {
    let s = &a.stations_ranked[i];
    let mut h = serde_json::Map::new();
    for (l, label) in e.levels.iter().zip(e.path(i)) {
        h.insert(l.name.clone(), json!(label));
    }
    json!({
        "rank": rank_no,
        "station": e.station[i],
        "line": e.line[i],
        "hierarchy": h,
        "registered": e.get(Role::Registered).map(|v| v[i]),
        "issued": e.get(Role::Issued).map(|v| v[i]),
        "in_boxes": e.get(Role::InBoxes).map(|v| v[i]),
        "valid": e.get(Role::Valid).map(|v| v[i]),
        "turnout": s.turnout,
        "leader_share": s.share,
        "score": s.score,
        "flagged": s.flagged,
        "reasons": s.reasons(),
        // The evidence worth listing; weaker pieces are in the score but not listed.
        "evidence": s.evidence.iter().filter(|x| x.points >= rank::REASON_POINTS).collect::<Vec<_>>(),
    })
}

fn station_rows(a: &Analysis, e: &crate::Election) -> csv::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head: Vec<String> = vec!["rank".into(), "station".into()];
    for l in &e.levels {
        head.push(safe_cell(&l.name).into_owned());
    }
    head.extend(
        ["line", "registered", "issued", "in_boxes", "valid", "leader_votes", "turnout_pct", "leader_share_pct", "score", "flagged", "reasons"]
            .map(String::from),
    );
    w.write_record(&head)?;
    let leader = e.leader();
    let opt = |r: Role, i: usize| e.get(r).map(|v| v[i].to_string()).unwrap_or_default();
    for (k, &i) in rank::order(&a.stations_ranked).iter().enumerate() {
        let s = &a.stations_ranked[i];
        let mut row: Vec<String> = vec![(k + 1).to_string(), safe_cell(&e.station[i]).into_owned()];
        row.extend(e.path(i).into_iter().map(|p| safe_cell(p).into_owned()));
        row.push(e.line[i].to_string());
        row.push(opt(Role::Registered, i));
        row.push(opt(Role::Issued, i));
        row.push(opt(Role::InBoxes, i));
        row.push(opt(Role::Valid, i));
        row.push(leader.map(|j| e.votes[j][i].to_string()).unwrap_or_default());
        row.push(pct(s.turnout));
        row.push(pct(s.share));
        row.push(format!("{:.3}", s.score));
        row.push(s.flagged.to_string());
        row.push(safe_cell(&s.reasons()).into_owned());
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

impl Exporter for StationsCsv {
    fn file_name(&self) -> &'static str {
        "stations.csv"
    }
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        station_rows(a, a.election()).map_err(std::io::Error::other)
    }
}

impl Exporter for StationsJson {
    fn file_name(&self) -> &'static str {
        "stations.json"
    }
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        let e = a.election();
        let rows: Vec<serde_json::Value> =
            rank::order(&a.stations_ranked).iter().enumerate().map(|(k, &i)| station_json(a, e, k + 1, i)).collect();
        serde_json::to_vec(&rows).map_err(std::io::Error::other)
    }
}

fn unit_sorted(v: &[UnitScore]) -> Vec<&UnitScore> {
    let mut s: Vec<&UnitScore> = v.iter().collect();
    s.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
    s
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

fn unit_json(a: &Analysis, units: &[UnitScore]) -> std::io::Result<Vec<u8>> {
    let e = a.election();
    let rows: Vec<serde_json::Value> = unit_sorted(units)
        .into_iter()
        .enumerate()
        .map(|(k, u)| {
            let mut h = serde_json::Map::new();
            for (l, p) in e.levels.iter().zip(&u.path) {
                h.insert(l.name.clone(), json!(p));
            }
            json!({
                "rank": k + 1,
                "hierarchy": h,
                "stations": u.stations,
                "flagged": u.flagged,
                "median_turnout": u.median_turnout,
                "median_leader_share": u.median_share,
                "score": u.score,
                "reasons": u.reasons(),
                "evidence": u.evidence,
            })
        })
        .collect();
    serde_json::to_vec_pretty(&rows).map_err(std::io::Error::other)
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
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        let units = if self.regions { &a.regions } else { &a.commissions };
        if self.json { unit_json(a, units) } else { unit_csv(a, units) }
    }
}
