//! Statistical battery (DESIGN.md §3). One file per method.
//!
//! Every method returns [`TestResult`]s — one per test × scope (the nation, a region, a
//! commission) — so exporters, the ranking and the report treat all methods alike
//! (DESIGN.md §6). Methods take plain slices (or an [`crate::Election`] that they read
//! slices from) and do no I/O.

use std::collections::BTreeMap;

use serde::Serialize;

pub mod common;
pub mod fdr;
pub mod integer;
pub mod fingerprint;
pub mod digits;
pub mod eft;
pub mod shape;
pub mod shpilkin;
pub mod rozenas;
pub mod mixture;

/// The common result of one statistical test on one unit.
///
/// Only `test`, `scope`, `statistic` and `n` are always meaningful; the rest are `None`
/// when a method has no such notion (a descriptive statistic has no p-value).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TestResult {
    /// Machine name of the test, dotted by family: `integer.either`, `integer.turnout.voters`,
    /// `digits.last.pooled`, …
    pub test: String,
    /// Which unit: `"nation"`, `"region:NAME"`, `"commission:REGION/NAME"`.
    pub scope: String,
    /// The observed statistic (a count, a chi-square, a mean …).
    pub statistic: f64,
    /// Mean of the statistic under the test's null.
    pub null_mean: Option<f64>,
    /// Standard deviation of the statistic under the null.
    pub null_sd: Option<f64>,
    /// p-value (one-sided in the direction the test names, e.g. "more integer stations").
    /// Written to JSON with 3 significant digits (`numfmt::ser_p`).
    #[serde(serialize_with = "crate::numfmt::ser_p")]
    pub p: Option<f64>,
    /// Benjamini–Hochberg q-value among the results of the same test at the same level
    /// (filled by the caller or by the method for its per-unit runs).
    #[serde(serialize_with = "crate::numfmt::ser_p")]
    pub q: Option<f64>,
    /// Measured type-I rate at α = 0.05 on clean elections shaped like the data (DESIGN.md
    /// §3 "Calibration before conclusions"); `None` until a calibration run fills it.
    pub calibrated_alpha: Option<f64>,
    /// Effect size in the statistic's units (e.g. excess stations = observed − null mean).
    pub effect: Option<f64>,
    /// Number of units (stations) the statistic was computed on.
    pub n: usize,
    /// Further named numbers a method wants to expose (z, Monte Carlo mean, …).
    pub extra: BTreeMap<String, f64>,
    /// Human-readable notes: definitions used, fallbacks taken, methods of the p-value.
    pub notes: Vec<String>,
}

/// A calibrated type-I rate above this (at α = 0.05) marks a test as not applicable to
/// data shaped like this (DESIGN.md §3, "Calibration before conclusions").
pub const NOT_APPLICABLE_ALPHA: f64 = 0.08;

impl TestResult {
    /// Whether the test's measured false-positive rate on clean elections like this one is
    /// too high for its p-value to mean what it says: the inline calibration's verdict
    /// (`extra.not_applicable`, which also asks that the rate be significantly above α), else
    /// the rate against [`NOT_APPLICABLE_ALPHA`]. The report and the charts both ask this,
    /// so a chart never marks "outside" what the report calls not applicable.
    pub fn not_applicable(&self) -> bool {
        match self.extra.get("not_applicable") {
            Some(&v) => v > 0.5,
            None => self.calibrated_alpha.is_some_and(|a| a > NOT_APPLICABLE_ALPHA),
        }
    }

    /// A result with only the required fields set.
    pub fn new(test: impl Into<String>, scope: impl Into<String>, statistic: f64, n: usize) -> Self {
        TestResult {
            test: test.into(),
            scope: scope.into(),
            statistic,
            null_mean: None,
            null_sd: None,
            p: None,
            q: None,
            calibrated_alpha: None,
            effect: None,
            n,
            extra: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// `(statistic − null_mean) / null_sd`, when both are known and the sd is positive.
    pub fn z(&self) -> Option<f64> {
        match (self.null_mean, self.null_sd) {
            (Some(m), Some(s)) if s > 0.0 => Some((self.statistic - m) / s),
            _ => None,
        }
    }
}

/// Fills `q` of every result with the BH q-value among `results` (missing p stay missing).
pub fn fill_q(results: &mut [TestResult]) {
    let p: Vec<Option<f64>> = results.iter().map(|r| r.p).collect();
    for (r, q) in results.iter_mut().zip(fdr::bh_opt(&p)) {
        r.q = q;
    }
}
