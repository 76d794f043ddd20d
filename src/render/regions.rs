//! Integer-percentage excess per region (Kobak et al.): for each region, the number of
//! stations whose turnout or leader share lands on an integer percentage, minus the
//! number the binomial null expects, with the null's 95% interval (±1.96 sd) as a grey
//! band. The regions with the largest z come first; BH q < 0.05 in orange.

use super::style::{self, ACCENT, AXIS, GRID, INK, MAIN, NULL, TICK};
use super::{Ctx, DrawResult};
use crate::stats::TestResult;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Most rows drawn.
pub const MAX_ROWS: usize = 40;
/// Rows the legend needs (it sits in the lower right, beside the smallest excesses).
pub const LEGEND_ROWS: usize = 4;

/// Draws `labels` right-aligned at pixel column `x`, at the vertical pixel centres `ys`.
pub fn row_labels<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, x: i32, rows: &[(i32, String)]) -> DrawResult<DB> {
    let st = style::text(TICK).pos(Pos::new(HPos::Right, VPos::Center));
    for (y, s) in rows {
        root.draw(&Text::new(s.clone(), (x, *y), st.clone()))?;
    }
    Ok(())
}

/// The rows: per-region `integer.either`, by z, largest first.
pub fn rows(results: &[TestResult]) -> Vec<&TestResult> {
    let mut v: Vec<&TestResult> = results.iter().filter(|r| r.test == "integer.either" && r.scope.starts_with("region:")).collect();
    v.sort_by(|a, b| b.z().unwrap_or(f64::NEG_INFINITY).total_cmp(&a.z().unwrap_or(f64::NEG_INFINITY)).then(a.scope.cmp(&b.scope)));
    v
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx) -> DrawResult<DB> {
    let all = cx.a.integer.as_ref().map(|r| rows(&r.regions)).unwrap_or_default();
    let shown: Vec<&TestResult> = all.iter().take(MAX_ROWS).copied().collect();
    let n = shown.len();
    let title = format!("Integer-percentage stations per region — {}", cx.source);
    let which = if all.len() > n { format!("the {n} regions of {} with the largest z", all.len()) } else { format!("all {n} regions, largest z first") };
    // The nation-level test's calibration speaks for its per-region runs: when it is not
    // applicable here, no region is marked significant.
    let na = cx.a.nation("integer.either").is_some_and(|r| r.not_applicable());
    let subtitle = if na {
        format!("turnout or leader share within ±0.05 pp of an integer %; observed − binomial null's mean; {which}; grey: test not applicable here (it rejects too many clean elections like this one)")
    } else {
        format!("turnout or leader share within ±0.05 pp of an integer %; observed − binomial null's mean; {which}; orange: BH q < 0.05")
    };
    let area = cx.frame(root, &title, &subtitle)?;
    let excess = |r: &TestResult| r.statistic - r.null_mean.unwrap_or(r.statistic);
    let band = |r: &TestResult| 1.96 * r.null_sd.unwrap_or(0.0);
    let lo = shown.iter().map(|r| excess(r).min(-band(r))).fold(0.0, f64::min);
    let hi = shown.iter().map(|r| excess(r).max(band(r))).fold(0.0, f64::max);
    let pad = 0.12 * (hi - lo).max(1.0);
    let rows = n.max(LEGEND_ROWS);
    // Room in the lower right for the legend (about 40% of the width): the rows beside it
    // end, with their value labels, before it.
    let xmin = lo - pad * 0.3;
    let beside = shown.iter().skip(rows.saturating_sub(LEGEND_ROWS)).map(|r| excess(r).max(band(r))).fold(0.0, f64::max);
    let xmax = (hi + pad).max(xmin + (beside - xmin) / 0.42);
    let label_w = 330;
    let mut chart = ChartBuilder::on(&area)
        .margin(8)
        .margin_right(24)
        .x_label_area_size(56)
        .y_label_area_size(label_w)
        .build_cartesian_2d(xmin..xmax, -0.5f64..rows as f64 - 0.5)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(0)
        .x_label_formatter(&|v| style::compact(*v))
        .label_style(style::text(TICK))
        .axis_desc_style(style::text(AXIS))
        .x_desc("Excess integer stations (observed − expected)")
        .disable_y_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()?;
    let y = |k: usize| (rows - 1 - k) as f64;
    chart
        .draw_series(shown.iter().enumerate().map(|(k, r)| Rectangle::new([(-band(r), y(k) - 0.4), (band(r), y(k) + 0.4)], NULL.mix(0.2).filled())))?
        .label("null's 95% interval")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], NULL.mix(0.2).filled()));
    let significant = |r: &TestResult| !na && r.q.is_some_and(|q| q < 0.05);
    let plain = if na { NULL } else { MAIN };
    chart
        .draw_series(
            shown.iter().enumerate().filter(|(_, r)| !significant(r)).map(|(k, r)| Rectangle::new([(0.0, y(k) - 0.3), (excess(r), y(k) + 0.3)], plain.filled())),
        )?
        .label(if na { "excess stations (test not applicable here)" } else { "excess stations" })
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], plain.filled()));
    let marked = chart.draw_series(
        shown.iter().enumerate().filter(|(_, r)| significant(r)).map(|(k, r)| Rectangle::new([(0.0, y(k) - 0.3), (excess(r), y(k) + 0.3)], ACCENT.filled())),
    )?;
    if !na {
        marked.label("excess stations, BH q < 0.05").legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], ACCENT.filled()));
    }
    chart.draw_series(std::iter::once(PathElement::new(vec![(0.0, (rows - n) as f64 - 0.5), (0.0, rows as f64 - 0.5)], INK.stroke_width(1))))?;
    // Value at the end of each bar: the excess and z.
    let vs = style::text(TICK - 2).color(&style::MUTED).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(shown.iter().enumerate().map(|(k, r)| {
        let x = excess(r).max(band(r));
        let z = r.z().map(|z| format!(", z = {z:.1}")).unwrap_or_default();
        EmptyElement::at((x, y(k))) + Text::new(format!("{:+.0}{z}", excess(r)), (6, 0), vs.clone())
    }))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(style::text(TICK))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .draw()?;
    let x0 = chart.backend_coord(&(xmin, 0.0)).0 - 10;
    let labels: Vec<(i32, String)> = shown
        .iter()
        .enumerate()
        .map(|(k, r)| (chart.backend_coord(&(0.0, y(k))).1, style::clip_words(r.scope.trim_start_matches("region:"), 34)))
        .collect();
    row_labels(root, x0, &labels)
}
