//! Mebane's finite mixture beside the data: the observed turnout × winner-share histogram
//! of the stations the mixture fitted, and the fitted model's, simulated from its
//! parameters (each station's electorate and region, four draws each), on one colour scale
//! ([`super::fingerprint`]'s panels). Drawn only when the mixture was fitted.

use super::fingerprint::{Scale, colour_bar, panel};
use super::style;
use super::{Ctx, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Draws per station of the simulated panel.
const REPS: usize = 4;

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx) -> DrawResult<DB> {
    let Some(m) = cx.a.mixture.as_ref() else {
        return style::message(root, "the finite mixture was not fitted (analyze --mixture)");
    };
    let observed = m.observed_fingerprint();
    let model = m.simulated_fingerprint(REPS, m.options.seed);
    let total = observed.total;
    let max = |h: &crate::stats::fingerprint::Histogram2d| h.counts.iter().cloned().fold(0.0, f64::max);
    let hi = max(&observed).max(if model.total > 0.0 { max(&model) * total / model.total } else { 0.0 });
    let hi = if hi > 0.0 { hi } else { 1.0 };
    let lo = 0.5 * observed.counts.iter().cloned().filter(|&c| c > 0.0).fold(f64::INFINITY, f64::min);
    let lo = if lo.is_finite() && lo < hi { lo } else { hi / 10.0 };
    let sc = Scale { log: !cx.linear, lo, hi };
    let title = format!("Finite mixture (Mebane): observed and fitted — {}", cx.source);
    let high = m.stations.iter().flatten().filter(|s| s.p_incremental + s.p_extreme >= 0.9).count();
    let subtitle = format!(
        "{} stations; 1 pp cells; model: {REPS} draws per station at the fitted parameters and its region's clean centre, scaled to the observed total; {} at P(fraud) ≥ 0.9",
        crate::export::thousands(m.n as u64),
        crate::export::thousands(high as u64)
    );
    let area = cx.frame(root, &title, &subtitle)?;
    let (w, _) = area.dim_in_pixel();
    let (plots, bar) = area.split_horizontally(w.saturating_sub(150));
    let x_desc = "Turnout (ballots / registered), %";
    let y_desc = format!("{}'s share of valid votes, %", style::clip(cx.leader(), 40));
    let halves = plots.split_evenly((1, 2));
    let p = &m.params;
    let caps = ["Observed".to_string(), format!("Fitted model: f_i = {:.3}, f_e = {:.4}, α = {:.2}", p.f_i, p.f_e, p.alpha)];
    for k in cx.panels(2) {
        let area = if cx.panel.is_some() { &plots } else { &halves[k] };
        let h = if k == 0 { &observed } else { &model };
        panel(area, h, total, &sc, &caps[k], x_desc, &y_desc)?;
    }
    colour_bar(&bar, &sc, "stations per cell")
}
