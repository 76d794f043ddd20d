//! The election fingerprint (Klimek et al. 2012): a 2-D histogram of turnout × the
//! leader's share of valid votes at 1 pp bins, coloured with viridis on a log scale
//! (or linear) with a colour bar, beside the fitted model's histogram on the same scale.

use super::style::{self, AXIS, GRID, INK, MUTED, TICK};
use super::{Ctx, DrawResult};
use crate::stats::fingerprint::{self as fp, Histogram2d};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Colour scale: cells are coloured by their count (stations or voters per cell, the
/// model's mean counts scaled to the observed total); on the log scale from half the
/// smallest observed non-empty cell (so model cells below that are left white) to the
/// largest cell.
pub(super) struct Scale {
    pub(super) log: bool,
    pub(super) lo: f64,
    pub(super) hi: f64,
}

impl Scale {
    /// Position in [0, 1] of a cell count `v`; `None`: not drawn.
    fn t(&self, v: f64) -> Option<f64> {
        if v <= 0.0 || (self.log && v < self.lo) {
            return None;
        }
        Some(if self.log { (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()) } else { v / self.hi }.clamp(0.0, 1.0))
    }
}

pub(super) fn panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, h: &Histogram2d, scale_to: f64, sc: &Scale, caption: &str, x_desc: &str, y_desc: &str) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .margin_right(20)
        .caption(caption, style::bold(AXIS - 2))
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..100f64, 0f64..100f64)?;
    chart
        .configure_mesh()
        .x_labels(11)
        .y_labels(11)
        .x_label_formatter(&|v| format!("{v:.0}%"))
        .y_label_formatter(&|v| format!("{v:.0}%"))
        .label_style(style::text(TICK))
        .axis_desc_style(style::text(AXIS))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .bold_line_style(GRID.mix(0.6))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let k = if h.total > 0.0 { scale_to / h.total } else { 0.0 };
    let (wt, ws) = (100.0 / h.bins_t as f64, 100.0 / h.bins_s as f64);
    chart.draw_series((0..h.bins_t).flat_map(|t| (0..h.bins_s).map(move |s| (t, s))).filter_map(|(t, s)| {
        let c = sc.t(k * h.get(t, s))?;
        let (x, y) = (t as f64 * wt, s as f64 * ws);
        Some(Rectangle::new([(x, y), (x + wt, y + ws)], style::viridis(c).filled()))
    }))?;
    Ok(())
}

pub(super) fn colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, sc: &Scale, unit: &str) -> DrawResult<DB> {
    let st = style::text(TICK).color(&MUTED);
    area.draw(&Text::new(unit.to_string(), (6, 4), st.clone()))?;
    area.draw(&Text::new(if sc.log { "(log scale)" } else { "(linear scale)" }.to_string(), (6, 24), st))?;
    let body = area.margin(56, 64, 6, 0);
    let steps = 128;
    let fmt = |v: &f64| if *v >= 10.0 || *v == v.round() { style::compact(v.round()) } else { format!("{v:.1}") };
    let colours = (0..steps).map(|k| (k as f64 / steps as f64, (k + 1) as f64 / steps as f64));
    if sc.log {
        let mut chart = ChartBuilder::on(&body).y_label_area_size(0).right_y_label_area_size(80).build_cartesian_2d(0f64..1f64, (sc.lo..sc.hi).log_scale())?;
        chart.configure_mesh().disable_x_axis().disable_x_mesh().disable_y_mesh().y_labels(8).y_label_formatter(&fmt).label_style(style::text(TICK)).draw()?;
        let at = |a: f64| (sc.lo.ln() + a * (sc.hi.ln() - sc.lo.ln())).exp();
        chart.draw_series(colours.map(|(a, b)| Rectangle::new([(0.0, at(a)), (1.0, at(b))], style::viridis(a).filled())))?;
        chart.draw_series(std::iter::once(Rectangle::new([(0.0, sc.lo), (1.0, sc.hi)], INK.stroke_width(1))))?;
    } else {
        let mut chart = ChartBuilder::on(&body).y_label_area_size(0).right_y_label_area_size(80).build_cartesian_2d(0f64..1f64, 0f64..sc.hi)?;
        chart.configure_mesh().disable_x_axis().disable_x_mesh().disable_y_mesh().y_labels(6).y_label_formatter(&fmt).label_style(style::text(TICK)).draw()?;
        chart.draw_series(colours.map(|(a, b)| Rectangle::new([(0.0, a * sc.hi), (1.0, b * sc.hi)], style::viridis(a).filled())))?;
        chart.draw_series(std::iter::once(Rectangle::new([(0.0, 0.0), (1.0, sc.hi)], INK.stroke_width(1))))?;
    }
    Ok(())
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx) -> DrawResult<DB> {
    let d = cx.data;
    let fit = cx.a.fingerprint.as_ref();
    let observed = match fit {
        Some(f) => f.observed.clone(),
        None => {
            let t: Vec<f64> = d.turnout.iter().map(|t| t.min(1.0)).collect();
            fp::histogram(&t, &d.share_v, None, 100, 100)
        }
    };
    let basis = match fit.map(|f| f.basis) {
        Some(fp::TurnoutBasis::InBoxes) => "in the boxes",
        Some(fp::TurnoutBasis::Issued) => "issued",
        _ => d.turnout_basis,
    };
    let total = observed.total;
    let mut hi = observed.counts.iter().cloned().fold(0.0, f64::max);
    let lo = 0.5 * observed.counts.iter().cloned().filter(|&c| c > 0.0).fold(f64::INFINITY, f64::min);
    if let Some(f) = fit.filter(|f| f.fitted.total > 0.0) {
        hi = hi.max(f.fitted.counts.iter().cloned().fold(0.0, f64::max) * total / f.fitted.total);
    }
    let hi = if hi > 0.0 { hi } else { 1.0 };
    let lo = if lo.is_finite() && lo < hi { lo } else { hi / 10.0 };
    let sc = Scale { log: !cx.linear, lo, hi };
    let unit = if observed.weighting == fp::Weighting::Voters { "voters per cell" } else { "stations per cell" };
    let title = format!("Election fingerprint — {}", cx.source);
    let n = fit.map_or(observed.total as usize, |f| f.n);
    let subtitle = format!(
        "{} stations (N ≥ 100, C > 0; abroad/electronic set aside); 1 pp × 1 pp cells; the model's cells scaled to the observed total; Klimek et al. 2012",
        crate::export::thousands(n as u64)
    );
    let area = cx.frame(root, &title, &subtitle)?;
    let (w, _) = area.dim_in_pixel();
    let (plots, bar) = area.split_horizontally(w.saturating_sub(150));
    let x_desc = format!("Turnout (ballots {basis} / registered), %");
    let y_desc = format!("{}'s share of valid votes, %", style::clip(cx.leader(), 40));
    match fit {
        Some(f) => {
            let halves = plots.split_evenly((1, 2));
            panel(&halves[0], &observed, total, &sc, "Observed", &x_desc, &y_desc)?;
            let cap = format!("Fitted model: f_i = {:.3}, f_e = {:.4}", f.fit.f_i, f.fit.f_e);
            panel(&halves[1], &f.fitted, total, &sc, &cap, &x_desc, &y_desc)?;
        }
        None => {
            let (w2, _) = plots.dim_in_pixel();
            let (left, right) = plots.split_horizontally(w2 / 2);
            panel(&left, &observed, total, &sc, "Observed", &x_desc, &y_desc)?;
            style::message(&right, "model not fitted (run without --no-fingerprint)")?;
        }
    }
    colour_bar(&bar, &sc, unit)
}
