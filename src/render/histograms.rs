//! Turnout and leader-share histograms, by stations (top panel) and by voters (bottom),
//! at 0.1 pp bins (integer-percentage bins marked, numerators jittered; Kobak et al.) or
//! at 1 pp bins.

use super::style::{self, ACCENT, AXIS, GRID, MAIN, TICK};
use super::{Ctx, DrawResult, data};
use plotters::coord::Shift;
use plotters::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    Turnout,
    Share,
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx, var: Var, width: f64) -> DrawResult<DB> {
    let d = cx.data;
    let fine = width < 1.0;
    let (what, x_desc) = match var {
        Var::Turnout => ("Turnout", format!("Turnout: ballots {} / registered voters, %", d.turnout_basis)),
        Var::Share => ("Leader's share", format!("{}'s share of ballots in the boxes (v/C), %", style::clip(cx.leader(), 60))),
    };
    let x: &[f64] = match (var, fine) {
        (Var::Turnout, true) => &d.turnout_jit,
        (Var::Turnout, false) => &d.turnout,
        (Var::Share, true) => &d.share_jit,
        (Var::Share, false) => &d.share_c,
    };
    let bin = if fine { "0.1 pp" } else { "1 pp" };
    let title = format!("{what} at {bin} bins — {}", cx.source);
    let mut subtitle = d.inclusion();
    // The x range cropped to the data (issue 20: a turnout between 40% and 100% drawn on
    // 0–100% leaves half the chart empty): from the 0.1% to the 99.9% quantile, out to
    // whole 5 pp, at least 20 pp wide; stations outside it are counted in the subtitle.
    let (xlo, xhi) = data_range(x);
    let outside = x.iter().filter(|&&v| v.is_finite() && v <= 1.0 && (100.0 * v < xlo || 100.0 * v > xhi)).count();
    if outside > 0 {
        subtitle.push_str(&format!("; {} outside {xlo:.0}–{xhi:.0}% not shown", crate::export::thousands(outside as u64)));
    }
    if fine {
        subtitle.push_str("; numerators jittered ±0.5 (Kobak et al.); bins centred on integer % in orange");
    }
    if d.above_one > 0 && var == Var::Turnout {
        subtitle.push_str(&format!("; {} above 100% not shown", d.above_one));
    }
    let area = cx.frame(root, &title, &subtitle)?;
    let shown = cx.panels(2);
    let panels = if shown.len() == 1 { vec![area.clone(), area] } else { area.split_evenly((2, 1)) };
    for (k, panel) in panels.iter().enumerate() {
        if !shown.contains(&k) {
            continue;
        }
        let by_voters = k == 1;
        let (centres, h) = data::histogram(x, by_voters.then_some(d.voters.as_slice()), width, fine);
        let ymax = h.iter().cloned().fold(0.0, f64::max).max(1.0) * 1.08;
        let y_desc = if by_voters { format!("Voters per {bin} bin") } else { format!("Stations per {bin} bin") };
        let mut chart = ChartBuilder::on(panel)
            .margin(8)
            .margin_right(24)
            .x_label_area_size(if by_voters || shown.len() == 1 { 56 } else { 36 })
            .y_label_area_size(96)
            .build_cartesian_2d(xlo..xhi, 0f64..ymax)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(((xhi - xlo) / 5.0) as usize + 1)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.0}%"))
            .y_label_formatter(&|v| style::compact(*v))
            .label_style(style::text(TICK))
            .axis_desc_style(style::text(AXIS))
            .y_desc(y_desc)
            .disable_x_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT);
        if by_voters || shown.len() == 1 {
            mesh.x_desc(x_desc.clone());
        }
        mesh.draw()?;
        let half = width / 2.0;
        let is_integer = |c: f64| fine && (c - c.round()).abs() < 1e-6;
        chart
            .draw_series(
                centres
                    .iter()
                    .zip(&h)
                    .filter(|&(&c, &y)| y > 0.0 && !is_integer(c))
                    .map(|(&c, &y)| Rectangle::new([(c - half, 0.0), (c + half, y)], MAIN.filled())),
            )?
            .label(if by_voters { format!("voters (ballots {})", d.turnout_basis) } else { "polling stations".to_string() })
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], MAIN.filled()));
        if fine {
            chart
                .draw_series(
                    centres
                        .iter()
                        .zip(&h)
                        .filter(|&(&c, &y)| y > 0.0 && is_integer(c))
                        .map(|(&c, &y)| Rectangle::new([(c - half, 0.0), (c + half, y)], ACCENT.filled())),
                )?
                .label("bins centred on an integer percentage (±0.05 pp)")
                .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], ACCENT.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(style::text(TICK))
            .background_style(WHITE.mix(0.9))
            .border_style(GRID)
            .draw()?;
    }
    Ok(())
}

/// The x range, in %, of a histogram of shares `x` (in [0, 1]): the 0.1% and 99.9%
/// quantiles of the finite values, widened to whole 5 pp, at least 20 pp wide, within 0–100.
pub fn data_range(x: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if v.len() < 2 {
        return (0.0, 100.0);
    }
    let q = |v: &mut Vec<f64>, p: f64| {
        let k = ((v.len() - 1) as f64 * p).round() as usize;
        100.0 * *v.select_nth_unstable_by(k, f64::total_cmp).1
    };
    let lo = (q(&mut v, 0.001) / 5.0).floor() * 5.0;
    let hi = (q(&mut v, 0.999) / 5.0).ceil() * 5.0;
    let (mut lo, mut hi) = (lo.clamp(0.0, 100.0), hi.clamp(0.0, 100.0));
    if hi - lo < 20.0 {
        let mid = 0.5 * (lo + hi);
        lo = (mid - 10.0).max(0.0);
        hi = (lo + 20.0).min(100.0);
        lo = hi - 20.0;
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::data_range;
    #[test]
    fn the_range_is_cropped_to_the_data() {
        // Turnout from 40% to 100% (Russia-like): 40–100, not 0–100.
        let x: Vec<f64> = (0..10_000).map(|k| 0.4 + 0.6 * k as f64 / 9_999.0).collect();
        assert_eq!(data_range(&x), (40.0, 100.0));
        // A narrow band is widened to 20 pp, within 0–100.
        assert_eq!(data_range(&[0.61, 0.62, 0.63, 0.64]), (52.5, 72.5));
        assert_eq!(data_range(&[0.01, 0.02, 0.03]), (0.0, 20.0));
        // A few outliers (0.05% of stations) do not stretch it.
        let mut y: Vec<f64> = (0..10_000).map(|k| 0.5 + 0.3 * k as f64 / 9_999.0).collect();
        y.extend([0.01, 0.02, 0.03, 0.04, 0.05]);
        assert_eq!(data_range(&y), (50.0, 80.0));
        assert_eq!(data_range(&[f64::NAN]), (0.0, 100.0));
    }
}
