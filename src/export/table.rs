//! The result tables as typed columns: the one description that the column-oriented
//! formats (Parquet) write, so that `stations`, `commissions`, `regions` and `tests` join
//! other data in DuckDB, Spark or pandas with their types intact (counts as integers,
//! percentages as doubles, missing values as nulls, not empty strings).

use crate::analysis::Analysis;
use crate::model::Role;
use crate::rank::units::UnitScore;

/// One typed, nullable column.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Text(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

/// A table: named columns of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.columns.first().map(|c| c.values.len()).unwrap_or(0)
    }
    fn push(&mut self, name: impl Into<String>, values: Values) {
        let mut name = name.into();
        // Column names must be unique (a hierarchy level could be called "score").
        while self.columns.iter().any(|c| c.name == name) {
            name.push('_');
        }
        self.columns.push(Column { name, values });
    }
}

/// The ranked stations, in rank order (the columns of `stations.csv`).
pub fn stations(a: &Analysis) -> Table {
    let e = a.election();
    let order = &a.station_order;
    let mut t = Table { columns: Vec::new() };
    t.push("rank", Values::Int((1..=order.len() as i64).map(Some).collect()));
    t.push("station", Values::Text(order.iter().map(|&i| Some(e.station[i].clone())).collect()));
    for l in &e.levels {
        t.push(l.name.clone(), Values::Text(order.iter().map(|&i| Some(l.labels[l.code[i] as usize].clone())).collect()));
    }
    t.push("line", Values::Int(order.iter().map(|&i| Some(e.line[i] as i64)).collect()));
    for (name, role) in [("registered", Role::Registered), ("issued", Role::Issued), ("in_boxes", Role::InBoxes), ("valid", Role::Valid)] {
        t.push(name, Values::Int(order.iter().map(|&i| e.get(role).map(|v| v[i] as i64)).collect()));
    }
    let leader = a.leader.as_ref().and_then(|l| e.candidates.iter().position(|c| c == l));
    t.push("leader_votes", Values::Int(order.iter().map(|&i| leader.map(|j| e.votes[j][i] as i64)).collect()));
    let s = |i: usize| &a.stations_ranked[i];
    t.push("turnout_pct", Values::Float(order.iter().map(|&i| s(i).turnout.map(|x| 100.0 * x)).collect()));
    t.push("leader_share_pct", Values::Float(order.iter().map(|&i| s(i).share.map(|x| 100.0 * x)).collect()));
    for (name, f) in crate::export::ranking::MIXTURE_COLUMNS {
        t.push(name, Values::Float(order.iter().map(|&i| a.mixture_at(i).map(f)).collect()));
    }
    t.push("score", Values::Float(order.iter().map(|&i| Some(s(i).score)).collect()));
    t.push("flagged", Values::Bool(order.iter().map(|&i| Some(s(i).flagged)).collect()));
    t.push("reasons", Values::Text(order.iter().map(|&i| Some(s(i).reasons())).collect()));
    t
}

/// Units (commissions or regions) sorted by score (the columns of `commissions.csv`).
pub fn units(a: &Analysis, units: &[UnitScore]) -> Table {
    let e = a.election();
    let sorted = crate::rank::units::sorted(units);
    let depth = sorted.first().map(|u| u.level + 1).unwrap_or(0);
    let mut t = Table { columns: Vec::new() };
    t.push("rank", Values::Int((1..=sorted.len() as i64).map(Some).collect()));
    for (k, l) in e.levels.iter().take(depth).enumerate() {
        t.push(l.name.clone(), Values::Text(sorted.iter().map(|u| u.path.get(k).cloned()).collect()));
    }
    t.push("stations", Values::Int(sorted.iter().map(|u| Some(u.stations as i64)).collect()));
    t.push("flagged", Values::Int(sorted.iter().map(|u| Some(u.flagged as i64)).collect()));
    t.push("median_turnout_pct", Values::Float(sorted.iter().map(|u| u.median_turnout.map(|x| 100.0 * x)).collect()));
    t.push("median_leader_share_pct", Values::Float(sorted.iter().map(|u| u.median_share.map(|x| 100.0 * x)).collect()));
    t.push("score", Values::Float(sorted.iter().map(|u| Some(u.score)).collect()));
    t.push("reasons", Values::Text(sorted.iter().map(|u| Some(u.reasons())).collect()));
    t
}

/// Every test × scope (the columns of `tests.csv`).
pub fn tests(a: &Analysis) -> Table {
    let r = &a.results;
    let f = |g: &dyn Fn(&crate::stats::TestResult) -> Option<f64>| Values::Float(r.iter().map(g).collect());
    let mut t = Table { columns: Vec::new() };
    t.push("test", Values::Text(r.iter().map(|x| Some(x.test.clone())).collect()));
    t.push("scope", Values::Text(r.iter().map(|x| Some(x.scope.clone())).collect()));
    t.push("n", Values::Int(r.iter().map(|x| Some(x.n as i64)).collect()));
    t.push("statistic", f(&|x| Some(x.statistic)));
    t.push("null_mean", f(&|x| x.null_mean));
    t.push("null_sd", f(&|x| x.null_sd));
    t.push("z", f(&|x| x.z()));
    t.push("p", f(&|x| x.p));
    t.push("q", f(&|x| x.q));
    t.push("calibrated_alpha", f(&|x| x.calibrated_alpha));
    t.push("effect", f(&|x| x.effect));
    for (i, name) in ["baseline_median", "baseline_low", "baseline_high", "baseline_share_at_or_above", "baseline_replicates"].into_iter().enumerate() {
        t.push(name, f(&|x| super::tests_csv::baseline_cells(x)[i]));
    }
    t.push("notes", Values::Text(r.iter().map(|x| Some(x.notes.join(" | "))).collect()));
    t
}
