//! `summary.json`: what was read, what `check` found, and every test result, with the
//! headline integer-percentage numbers under `integer.{either,turnout,leader}`.

use super::Exporter;
use crate::analysis::Analysis;
use serde_json::{Map, Value, json};

pub struct SummaryJson;

/// `{observed, expected, excess, sd, z, p}` of a count test.
pub fn count_block(r: &crate::stats::TestResult) -> Value {
    json!({
        "observed": r.statistic,
        "expected": r.null_mean,
        "excess": r.effect.or_else(|| r.null_mean.map(|m| r.statistic - m)),
        "sd": r.null_sd,
        "z": r.z(),
        "p": r.p,
        "calibrated_alpha": r.calibrated_alpha,
        "n": r.n,
        "notes": r.notes,
    })
}

impl Exporter for SummaryJson {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }
    fn serialize(&self, a: &Analysis) -> std::io::Result<Vec<u8>> {
        let mut integer = Map::new();
        for (key, test) in [("either", "integer.either"), ("turnout", "integer.turnout"), ("leader", "integer.leader")] {
            if let Some(r) = a.nation(test) {
                integer.insert(key.into(), count_block(r));
            }
        }
        let v = json!({
            "tallyscope_version": env!("CARGO_PKG_VERSION"),
            "file": a.read.file,
            "read": a.read,
            "stations": a.stations,
            "leader": a.leader,
            "check": a.check,
            "integer": integer,
            "tests": a.results,
            "reconciliation": crate::analysis::reconcile::reconcile(a),
            "timings_seconds": a.timings.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        });
        let mut out = serde_json::to_vec_pretty(&v).map_err(std::io::Error::other)?;
        out.push(b'\n');
        Ok(out)
    }
}
