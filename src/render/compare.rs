//! The chart of `compare`: per candidate, official against observed votes over the
//! stations compared (left), and the votes each gained or lost between the record and
//! the publication (right; `minimum`: the votes below the confirmed figures).

use super::style::{self, ACCENT, AXIS, GRID, MAIN, TICK};
use crate::compare::{Comparison, Mode};
use crate::error::{Error, Result};
use crate::model::Election;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const W: u32 = 1400;
const H: u32 = 760;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Comparison, e: &Election, source: &str) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let k = e.candidates.len();
    let fl = &c.flows;
    let title = "Official results against observers' records";
    let sub = format!(
        "{} joined stations, {} in discrepancy; observed as {}",
        c.join.joined,
        c.stations_differing(),
        c.mode.key()
    );
    let area = style::frame(root, title, &sub, source)?;
    let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
    let names: Vec<String> = e.candidates.iter().map(|n| style::clip(n, 18)).collect();
    // Bars centred on 0, 1, … k−1; a name only at those ticks.
    let label = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 && *x >= -1e-6 { names.get(x.round() as usize).cloned().unwrap_or_default() } else { String::new() }
    };
    // Left: official vs observed votes at the compared stations.
    let ymax = fl.official_compared.iter().chain(&fl.observed_compared).copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let mut ch = ChartBuilder::on(&left)
        .margin(8)
        .x_label_area_size(56)
        .y_label_area_size(96)
        .build_cartesian_2d(-0.5f64..k as f64 - 0.5, 0f64..ymax)?;
    ch.configure_mesh()
        .x_labels(k + 1)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| style::compact(*v))
        .label_style(style::text(TICK))
        .axis_desc_style(style::text(AXIS))
        .y_desc("Votes at the stations compared")
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()?;
    let observed_label = if c.mode == Mode::Minimum { "confirmed by observers (lower bound)" } else { "recorded by observers" };
    ch.draw_series((0..k).map(|j| Rectangle::new([(j as f64 - 0.4, 0.0), (j as f64 - 0.02, fl.official_compared[j] as f64)], ACCENT.filled())))?
        .label("official")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], ACCENT.filled()));
    ch.draw_series((0..k).map(|j| Rectangle::new([(j as f64 + 0.02, 0.0), (j as f64 + 0.4, fl.observed_compared[j] as f64)], MAIN.filled())))?
        .label(observed_label)
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], MAIN.filled()));
    ch.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(style::text(TICK))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .draw()?;
    // Right: net change per candidate (official − observed).
    let net: Vec<f64> = match c.mode {
        Mode::Minimum => fl.shortfall.iter().map(|&x| -(x as f64)).collect(),
        _ => (0..k).map(|j| fl.gained[j] as f64 - fl.lost[j] as f64).collect(),
    };
    let m = net.iter().fold(1.0f64, |a, &x| a.max(x.abs())) * 1.15;
    let mut ch = ChartBuilder::on(&right)
        .margin(8)
        .x_label_area_size(56)
        .y_label_area_size(96)
        .build_cartesian_2d(-0.5f64..k as f64 - 0.5, -m..m)?;
    ch.configure_mesh()
        .x_labels(k + 1)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| style::compact(*v))
        .label_style(style::text(TICK))
        .axis_desc_style(style::text(AXIS))
        .y_desc(if c.mode == Mode::Minimum { "Votes below the confirmed figures" } else { "Votes gained (+) or lost (−), official − observed" })
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()?;
    ch.draw_series((0..k).map(|j| {
        let col = if net[j] >= 0.0 { ACCENT } else { MAIN };
        Rectangle::new([(j as f64 - 0.3, 0.0), (j as f64 + 0.3, net[j])], col.filled())
    }))?;
    Ok(())
}

/// Writes `compare.png` and `compare.svg` into `dir`.
pub fn write(c: &Comparison, e: &Election, dir: &Path) -> Result<Vec<PathBuf>> {
    style::fonts();
    let source = Path::new(&c.join.official_file).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let failed = |x: String| Error::usage(format!("chart compare: {x}"));
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (W, H)).into_drawing_area();
        draw(&root, c, e, &source).map_err(|x| failed(x.to_string()))?;
        root.present().map_err(|x| failed(x.to_string()))?;
    }
    let mut buf = vec![255u8; W as usize * H as usize * 3];
    {
        let root = super::text::Crisp { inner: BitMapBackend::with_buffer(&mut buf, (W, H)) }.into_drawing_area();
        draw(&root, c, e, &source).map_err(|x| failed(x.to_string()))?;
        root.present().map_err(|x| failed(x.to_string()))?;
    }
    let png = super::encode_png(&buf, W, H).map_err(|x| failed(x.to_string()))?;
    let mut out = Vec::new();
    for (name, bytes) in [("compare.svg", s.into_bytes()), ("compare.png", png)] {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|x| Error::io(p.display().to_string(), x))?;
        out.push(p);
    }
    Ok(out)
}
