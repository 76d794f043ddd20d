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

/// The finite mixture's nation estimates with their intervals and the fit's diagnostics
/// (`null` when it did not run); the clean baselines of `f_i`, `f_e` when the baselines ran.
fn mixture_block(a: &Analysis) -> Value {
    let Some(m) = &a.mixture else { return Value::Null };
    let b = m.bootstrap.as_ref();
    let est = |test: &str, value: f64, ci: Option<(f64, f64)>| {
        let baseline = a.nation(test).and_then(crate::calibrate::baselines::Baseline::of);
        json!({
            "estimate": value,
            "ci95": ci.map(|(lo, hi)| [lo, hi]),
            "clean_baseline": baseline,
        })
    };
    let p = &m.params;
    json!({
        "stations": m.n,
        "leader": m.leader,
        "f_incremental": est("mixture.f_incremental", p.f_i, b.map(|b| b.f_i_ci)),
        "f_extreme": est("mixture.f_extreme", p.f_e, b.map(|b| b.f_e_ci)),
        "alpha": est("mixture.alpha", p.alpha, b.map(|b| b.alpha_ci)),
        "interval": b.map(|b| json!({"method": "bootstrap over stations, percentile", "replicates": b.replicates, "level": b.level, "converged": b.converged})),
        "theta": p.theta,
        "clean_logit": {"tau": p.tau, "sigma_tau": p.sigma_tau, "nu": p.nu, "sigma_nu": p.sigma_nu},
        "converged": m.converged,
        "iterations": m.iterations,
        "starts": m.starts,
        "start_loglik_per_station": m.start_loglik,
        "loglik": m.loglik,
        "loglik_clean_model": m.loglik_clean,
        "votes_manufactured": m.votes_manufactured,
        "votes_stolen": m.votes_stolen,
        "regions": m.regions.iter().map(|r| json!({"region": r.region, "stations": r.n, "f_incremental": r.params.f_i, "f_extreme": r.params.f_e, "converged": r.converged})).collect::<Vec<_>>(),
        "notes": m.notes,
    })
}

impl Exporter for SummaryJson {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }
    fn write_to(&self, a: &Analysis, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut integer = Map::new();
        for (key, test) in [("either", "integer.either"), ("turnout", "integer.turnout"), ("leader", "integer.leader")] {
            if let Some(r) = a.nation(test) {
                integer.insert(key.into(), count_block(r));
            }
        }
        // Coarse vote shares (Rozenas) beside the 0.1 pp integer peaks: both count round
        // results, at simple fractions and at whole percentages respectively.
        if let Some(r) = &a.rozenas {
            let mut coarse = Map::new();
            for c in &r.ratios {
                let key = c.test.trim_start_matches("rozenas.").to_string();
                let mut b = a.nation(&c.test).map(count_block).unwrap_or(Value::Null);
                if let Value::Object(m) = &mut b {
                    m.insert("ratio".into(), json!(c.ratio));
                    m.insert("p_exact".into(), json!(c.result.p_exact));
                    m.insert("draws".into(), json!(c.result.draws));
                    m.insert("fractions".into(), json!(c.result.fractions));
                    if let Some(s) = &c.spikes {
                        m.insert("spikes".into(), json!({
                            "observed": s.result.observed, "expected": s.result.null_mean, "sd": s.result.null_sd,
                            "p": s.result.p, "p_exact": s.result.p_exact, "mixture": s.mixture,
                            "misfit_ks": s.misfit_ks, "misfit_p": s.misfit_p, "misfit_chi2_deciles": s.misfit_chi2,
                            "fractions": s.result.fractions,
                        }));
                    }
                }
                coarse.insert(key, b);
            }
            coarse.insert("max_denominator".into(), json!(r.max_denominator));
            coarse.insert("sigma_logit".into(), json!(r.sigma));
            coarse.insert("notes".into(), json!(r.notes));
            integer.insert("coarse_fractions".into(), Value::Object(coarse));
        }
        // Nation and region rows here; the commission rows (tens of thousands on a
        // national file) live in tests.csv / tests.json only.
        let (commission_rows, tests): (Vec<&crate::stats::TestResult>, Vec<&crate::stats::TestResult>) =
            a.results.iter().partition(|r| r.scope.starts_with("commission:"));
        let v = json!({
            "tallyscope_version": env!("CARGO_PKG_VERSION"),
            "file": a.read.file,
            "read": a.read,
            "stations": a.stations,
            "leader": a.leader,
            "check": a.check,
            "integer": integer,
            "tests": tests,
            "tests_per_commission": {
                "rows": commission_rows.len(),
                "in": ["tests.csv", "tests.json"],
            },
            "mixture": mixture_block(a),
            "calibration": a.calibration,
            "calibration_skipped": a.calibration_skipped,
            // The clean model and replicate counts of the baselines; each estimate's own
            // baseline is in its row's `extra.baseline_*` (calibrate::baselines).
            "baselines": a.baselines,
            "reconciliation": crate::analysis::reconcile::reconcile(a),
            "timings_seconds": a.timings.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        });
        serde_json::to_writer_pretty(&mut *w, &v).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    }
}
