//! Small multiples: the turnout histogram (1 pp bins, stations) of each of the top
//! regions by score, with the national histogram scaled to the region's station count as
//! a grey outline, so a region's second peak near 100% or its comb of integer spikes
//! stands out against the country.

use super::style::{self, GRID, MAIN, NULL, TICK};
use super::{Ctx, DrawResult, data};
use crate::rank::units::UnitScore;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Panels drawn (4 columns × 3 rows).
pub const PANELS: usize = 12;

/// The units drawn: regions (or the top level's units) by score, highest first.
pub fn top_units<'a>(cx: &Ctx<'a>) -> Vec<&'a UnitScore> {
    let a = cx.a;
    let pool: Vec<&UnitScore> = if a.regions.is_empty() { a.commissions.iter().filter(|u| u.level == 0).collect() } else { a.regions.iter().collect() };
    let mut v = crate::rank::units::sorted(pool);
    v.truncate(PANELS);
    v
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx) -> DrawResult<DB> {
    let d = cx.data;
    let units = top_units(cx);
    let title = format!("Turnout in the top regions by score — {}", cx.source);
    let subtitle = format!(
        "stations per 1 pp turnout bin (N ≥ 100, C > 0); grey: the national histogram scaled to the region's stations; score = evidence points (see the ranking)"
    );
    let area = cx.frame(root, &title, &subtitle)?;
    let (_, national) = data::histogram(&d.turnout, None, 1.0, false);
    let nat_total: f64 = national.iter().sum::<f64>().max(1.0);
    let cells = area.split_evenly((3, 4));
    for (k, cell) in cells.iter().enumerate() {
        let Some(u) = units.get(k) else { continue };
        let sel: Vec<f64> = d.region.iter().zip(&d.turnout).filter(|(r, _)| **r == u.unit).map(|(_, &t)| t).collect();
        let (centres, h) = data::histogram(&sel, None, 1.0, false);
        let n: f64 = h.iter().sum();
        let scaled: Vec<f64> = national.iter().map(|x| x * n / nat_total).collect();
        let ymax = h.iter().chain(&scaled).cloned().fold(0.0, f64::max).max(1.0) * 1.1;
        let name = u.path.last().map(String::as_str).unwrap_or("");
        let cap = format!("{} — score {:.0}", style::clip_words(name, 26), u.score);
        let bottom = k >= 8;
        let left = k % 4 == 0;
        let mut chart = ChartBuilder::on(cell)
            .margin(6)
            .margin_right(12)
            .caption(cap, style::bold(TICK))
            .x_label_area_size(if bottom { 44 } else { 24 })
            .y_label_area_size(if left { 66 } else { 48 })
            .build_cartesian_2d(0f64..100f64, 0f64..ymax)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(6)
            .y_labels(4)
            .x_label_formatter(&|v| format!("{v:.0}%"))
            .y_label_formatter(&|v| style::compact(*v))
            .label_style(style::text(TICK - 3))
            .axis_desc_style(style::text(TICK))
            .disable_x_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT);
        if bottom {
            mesh.x_desc("Turnout, %");
        }
        if left {
            mesh.y_desc("Stations");
        }
        mesh.draw()?;
        chart.draw_series(centres.iter().zip(&h).filter(|(_, y)| **y > 0.0).map(|(&c, &y)| Rectangle::new([(c - 0.5, 0.0), (c + 0.5, y)], MAIN.filled())))?;
        chart.draw_series(std::iter::once(PathElement::new(
            centres.iter().zip(&scaled).map(|(&c, &y)| (c, y)).collect::<Vec<_>>(),
            NULL.stroke_width(2),
        )))?;
        let note = format!("{} stations", crate::export::thousands(n as u64));
        chart.draw_series(std::iter::once(
            EmptyElement::at((2.0, ymax)) + Text::new(note, (0, 4), style::text(TICK - 3).color(&style::MUTED)),
        ))?;
    }
    if units.is_empty() {
        style::message(&area, "no regions with scores in this file")?;
    }
    Ok(())
}
