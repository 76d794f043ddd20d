//! The files of `compare`: `discrepancies.csv`, `stations.csv`, `summary.json`.

use super::safe_cell;
use crate::compare::{Comparison, Mode, Observed};
use crate::error::{Error, Result};
use crate::model::Election;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

fn create(p: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    std::fs::File::create(p)
        .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| Error::io(p.display().to_string(), e))
}

/// Writes the three files into `dir` (created if missing); returns their paths.
pub fn write_all(dir: &Path, c: &Comparison, e: &Election, obs: &Observed) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|er| Error::io(dir.display().to_string(), er))?;
    let mut out = Vec::new();
    let p = dir.join("discrepancies.csv");
    write_discrepancies(c, e, create(&p)?).map_err(|er| Error::io(p.display().to_string(), er))?;
    out.push(p);
    let p = dir.join("stations.csv");
    write_stations(c, e, create(&p)?).map_err(|er| Error::io(p.display().to_string(), er))?;
    out.push(p);
    let p = dir.join("summary.json");
    let mut w = create(&p)?;
    serde_json::to_writer_pretty(&mut w, &summary(c, e, obs))
        .map_err(std::io::Error::other)
        .and_then(|_| w.write_all(b"\n"))
        .and_then(|_| w.flush())
        .map_err(|er| Error::io(p.display().to_string(), er))?;
    out.push(p);
    Ok(out)
}

fn head(e: &Election, rest: &[&str]) -> Vec<String> {
    let mut h = vec!["station".to_string()];
    h.extend(e.levels.iter().map(|l| safe_cell(&l.name).into_owned()));
    h.extend(rest.iter().map(|s| s.to_string()));
    h
}

fn ident(e: &Election, i: usize) -> Vec<String> {
    let mut row = vec![safe_cell(&e.station[i]).into_owned()];
    row.extend(e.path(i).into_iter().map(|p| safe_cell(p).into_owned()));
    row
}

/// One row per station × field in discrepancy.
pub fn write_discrepancies<W: Write>(c: &Comparison, e: &Election, w: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(w);
    w.write_record(head(e, &["field", "official", "observed", "difference", "official_line", "observed_line"]))?;
    let names: Vec<String> = c.fields.iter().map(|f| safe_cell(&f.name(e)).into_owned()).collect();
    for d in &c.discrepancies {
        let mut row = ident(e, d.station);
        row.push(names[d.field].clone());
        row.push(d.official.to_string());
        row.push(d.observed.to_string());
        row.push(d.difference().to_string());
        row.push(e.line[d.station].to_string());
        row.push(c.observed_lines[d.row].to_string());
        w.write_record(&row)?;
    }
    w.flush()
}

/// One row per joined station.
pub fn write_stations<W: Write>(c: &Comparison, e: &Election, w: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(w);
    let moved = if c.mode == Mode::Minimum { "votes_taken_at_least" } else { "votes_moved" };
    w.write_record(head(e, &["official_line", "observed_line", "fields_compared", "fields_differing", moved]))?;
    for s in &c.stations {
        let mut row = ident(e, s.station);
        row.push(e.line[s.station].to_string());
        row.push(c.observed_lines[s.row].to_string());
        row.push(s.compared.to_string());
        row.push(s.differing.to_string());
        row.push(s.votes_moved.to_string());
        w.write_record(&row)?;
    }
    w.flush()
}

#[derive(Serialize)]
struct CandidateVotes {
    candidate: String,
    official_total: u64,
    /// Sums over the stations where this candidate's votes were compared.
    official_at_compared_stations: u64,
    observed_at_compared_stations: u64,
    gained: u64,
    lost: u64,
    net: i64,
    added: f64,
    removed: f64,
    /// minimum: official below the confirmed figure, summed.
    taken_at_least: u64,
}

#[derive(Serialize)]
struct Flow {
    from: String,
    to: String,
    votes: f64,
}

#[derive(Serialize)]
struct FieldCount {
    field: String,
    observed_columns: Vec<String>,
    stations_differing: u64,
    official_minus_observed: i64,
}

/// The summary.json document.
pub fn summary(c: &Comparison, e: &Election, obs: &Observed) -> serde_json::Value {
    let k = e.candidates.len();
    let totals = e.candidate_totals();
    let fl = &c.flows;
    let per_candidate: Vec<CandidateVotes> = (0..k)
        .map(|j| CandidateVotes {
            candidate: e.candidates[j].clone(),
            official_total: totals[j],
            official_at_compared_stations: fl.official_compared[j],
            observed_at_compared_stations: fl.observed_compared[j],
            gained: fl.gained[j],
            lost: fl.lost[j],
            net: fl.gained[j] as i64 - fl.lost[j] as i64,
            added: round1(fl.added[j]),
            removed: round1(fl.removed[j]),
            taken_at_least: fl.shortfall[j],
        })
        .collect();
    let mut flows = Vec::new();
    for a in 0..k {
        for b in 0..k {
            if fl.moved[a][b] > 0.0 {
                flows.push(Flow { from: e.candidates[a].clone(), to: e.candidates[b].clone(), votes: round1(fl.moved[a][b]) });
            }
        }
    }
    let mut per_field: Vec<FieldCount> = c
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| FieldCount {
            field: f.name(e),
            observed_columns: obs.field_columns[i].clone(),
            stations_differing: 0,
            official_minus_observed: 0,
        })
        .collect();
    for d in &c.discrepancies {
        per_field[d.field].stations_differing += 1;
        per_field[d.field].official_minus_observed += d.difference();
    }
    serde_json::json!({
        "mode": c.mode,
        "official_file": c.join.official_file,
        "observed_file": c.join.observed_file,
        "exit_code": c.exit_code(),
        "join": c.join,
        "join_warnings": c.join.warnings(),
        "observed_columns": obs.columns,
        "unmatched_columns": c.unmatched_columns.iter().map(|(n, w)| serde_json::json!({"column": n, "why": w})).collect::<Vec<_>>(),
        "observed_rows_in_file": obs.rows_in_file,
        "bad_cells": c.bad_cells,
        "notes": obs.notes,
        "stations_joined": c.stations.len(),
        "stations_differing": c.stations_differing(),
        "discrepancies": c.discrepancies.len(),
        "cells_compared": c.cells_compared,
        "cells_not_observed": c.cells_not_observed,
        "cells_official_missing": c.cells_official_missing,
        "fields": per_field,
        "votes_moved_total": fl.total,
        "votes_per_candidate": per_candidate,
        "flows": flows,
        "pvt": c.pvt,
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
