//! The top commissions by score, each bar stacked by the evidence that makes up the
//! score (points = −log10 p per piece of evidence; `rank::units`).

use super::regions::row_labels;
use super::style::{self, AXIS, GRID, TICK};
use super::{Ctx, DrawResult};
use crate::rank::units::UnitScore;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Most rows drawn.
pub const MAX_ROWS: usize = 25;

/// Evidence names as readers should see them.
pub fn evidence_label(name: &str) -> &str {
    match name {
        "flagged_stations" => "flagged stations",
        "means_vs_peers" => "turnout / share vs peer units",
        "spread" => "spread among its stations",
        "turnout_share_correlation" => "turnout–share correlation",
        other => other,
    }
}

/// The kinds of evidence with points among `shown`, in order of first appearance.
pub fn kinds<'a>(shown: &[&'a UnitScore]) -> Vec<&'a str> {
    let mut kinds: Vec<&str> = Vec::new();
    for u in shown {
        for e in &u.evidence {
            if e.points > 0.0 && !kinds.contains(&e.name.as_str()) {
                kinds.push(&e.name);
            }
        }
    }
    kinds
}

/// Rows of the chart: the commissions, or the legend's entries when there are more of
/// them (the legend sits in the lower right, beside the shortest bars, not above them).
pub fn rows(units: &[UnitScore]) -> usize {
    let shown = top(units, MAX_ROWS);
    shown.len().max(kinds(&shown).len() + 1)
}

/// The commissions drawn, by score, highest first.
pub fn top(units: &[UnitScore], k: usize) -> Vec<&UnitScore> {
    let mut v = crate::rank::units::sorted(units);
    v.truncate(k);
    v
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx) -> DrawResult<DB> {
    let shown = top(&cx.a.commissions, MAX_ROWS);
    let n = shown.len();
    let title = format!("Top commissions by score — {}", cx.source);
    let subtitle = format!(
        "{} of {} commissions; score = Σ −log10 p over the evidence, stacked by kind; evidence to look into, not a verdict",
        n,
        crate::export::thousands(cx.a.commissions.len() as u64)
    );
    let area = cx.frame(root, &title, &subtitle)?;
    let kinds = kinds(&shown);
    let rows = shown.len().max(kinds.len() + 1);
    // Room in the lower right for the legend (about 36% of the width, one row per entry):
    // the bars of the rows beside it, with their value labels, end before it.
    let beside = shown.iter().skip(rows.saturating_sub(kinds.len() + 1)).map(|u| u.score).fold(0.0, f64::max);
    let hi = (shown.iter().map(|u| u.score).fold(0.0, f64::max).max(1.0) * 1.3).max(beside * 2.3);
    let mut chart = ChartBuilder::on(&area)
        .margin(8)
        .margin_right(24)
        .x_label_area_size(56)
        .y_label_area_size(430)
        .build_cartesian_2d(0f64..hi, -0.5f64..rows as f64 - 0.5)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(0)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(style::text(TICK))
        .axis_desc_style(style::text(AXIS))
        .x_desc("Score (points = −log10 p)")
        .disable_y_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()?;
    let y = |k: usize| (rows - 1 - k) as f64;
    for (c, kind) in kinds.iter().enumerate() {
        let colour = style::category(c);
        let bars = shown.iter().enumerate().filter_map(|(k, u)| {
            // Start of this kind's segment: the points of the kinds before it.
            let before: f64 = u.evidence.iter().filter(|e| e.points > 0.0 && kinds[..c].contains(&e.name.as_str())).map(|e| e.points).sum();
            let own: f64 = u.evidence.iter().filter(|e| e.points > 0.0 && e.name == *kind).map(|e| e.points).sum();
            (own > 0.0).then(|| Rectangle::new([(before, y(k) - 0.34), (before + own, y(k) + 0.34)], colour.filled()))
        });
        chart
            .draw_series(bars)?
            .label(evidence_label(kind).to_string())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], colour.filled()));
    }
    let vs = style::text(TICK - 2).color(&style::MUTED).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(shown.iter().enumerate().map(|(k, u)| {
        EmptyElement::at((u.score, y(k))) + Text::new(format!("{:.1} ({}/{} flagged)", u.score, u.flagged, u.stations), (6, 0), vs.clone())
    }))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(style::text(TICK))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .draw()?;
    let x0 = chart.backend_coord(&(0.0, 0.0)).0 - 10;
    let labels: Vec<(i32, String)> =
        shown.iter().enumerate().map(|(k, u)| (chart.backend_coord(&(0.0, y(k))).1, style::clip_words(&u.path.join(" / "), 52))).collect();
    row_labels(root, x0, &labels)
}
