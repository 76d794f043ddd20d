//! Turnout against the leader's share of valid votes, one translucent point per station;
//! above [`MAX_POINTS`] stations a seeded uniform sample is drawn (the subtitle says so),
//! which keeps the SVG small and the density readable.

use super::style::{self, AXIS, GRID, MAIN, TICK};
use super::{Ctx, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

/// Most points drawn.
pub const MAX_POINTS: usize = 10_000;

/// Indices into the selected stations to draw (all, or a seeded sample in order).
pub fn chosen(n: usize) -> Vec<usize> {
    if n <= MAX_POINTS {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(super::data::JITTER_SEED);
    let mut v = sample(&mut rng, n, MAX_POINTS).into_vec();
    v.sort_unstable();
    v
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx) -> DrawResult<DB> {
    let d = cx.data;
    let idx = chosen(d.len());
    let title = format!("Turnout and leader's share — {}", cx.source);
    let sampled = if idx.len() < d.len() {
        format!("a seeded sample of {} of the {} stations drawn", crate::export::thousands(idx.len() as u64), crate::export::thousands(d.len() as u64))
    } else {
        d.inclusion()
    };
    let r = cx.a.nation("shape.corr_turnout_share.stations").map(|r| format!("; Pearson r = {:.2}", r.statistic)).unwrap_or_default();
    let subtitle = format!("one point per station; {sampled}{r}");
    let area = cx.frame(root, &title, &subtitle)?;
    let mut chart = ChartBuilder::on(&area)
        .margin(8)
        .margin_right(24)
        .x_label_area_size(56)
        .y_label_area_size(84)
        // A point or two beyond 0 and 100: stations at 100% turnout or share are drawn whole.
        .build_cartesian_2d(-1.5f64..101.5f64, -1.5f64..101.5f64)?;
    chart
        .configure_mesh()
        .x_labels(11)
        .y_labels(11)
        .x_label_formatter(&|v| format!("{v:.0}%"))
        .y_label_formatter(&|v| format!("{v:.0}%"))
        .label_style(style::text(TICK))
        .axis_desc_style(style::text(AXIS))
        .x_desc(format!("Turnout (ballots {} / registered), %", d.turnout_basis))
        .y_desc(format!("{}'s share of valid votes, %", style::clip(cx.leader(), 40)))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()?;
    let dot = MAIN.mix(0.28).filled();
    chart.draw_series(idx.iter().filter(|&&i| d.turnout[i] <= 1.0).map(|&i| Circle::new((100.0 * d.turnout[i], 100.0 * d.share_v[i]), 2, dot)))?;
    Ok(())
}
