//! What every chart shares: the embedded font, sizes, colours, the colour map, and the
//! frame (title, subtitle, provenance footer) drawn around each chart.
//!
//! **Font.** DejaVu Sans (regular and bold) from the `dejavu` crate is embedded in the
//! binary and registered with plotters as `sans-serif`, so charts render headless on a
//! machine with no system fonts, Cyrillic included. The fonts are under the Bitstream Vera
//! licence (DejaVu changes public domain); its text ships in `NOTICE`.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor, register_font};
use std::sync::Once;

pub use plotters::drawing::DrawingAreaErrorKind;

/// The font family name every chart uses (registered by [`fonts`]).
pub const FAMILY: &str = "sans-serif";

/// Title, subtitle, axis description, tick label and annotation sizes, in pixels.
pub const TITLE: u32 = 30;
pub const SUBTITLE: u32 = 18;
pub const AXIS: u32 = 20;
pub const TICK: u32 = 16;
pub const NOTE: u32 = 15;

/// Main series colour (a blue that prints well in grey too).
pub const MAIN: RGBColor = RGBColor(52, 101, 164);
/// Integer-percentage bins, flagged units, the observed value against its null.
pub const ACCENT: RGBColor = RGBColor(214, 69, 30);
/// Null bands and reference lines.
pub const NULL: RGBColor = RGBColor(120, 120, 120);
pub const GRID: RGBColor = RGBColor(225, 225, 225);
pub const INK: RGBColor = RGBColor(30, 30, 30);
pub const MUTED: RGBColor = RGBColor(95, 95, 95);

/// Registers the embedded DejaVu Sans with plotters (once per process).
pub fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped by the crate; failure would be a
        // packaging bug, and drawing reports FontUnavailable in that case.
        let _ = register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Regular text of `size` px.
pub fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

/// Bold text of `size` px.
pub fn bold(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().style(FontStyle::Bold).color(&INK)
}

/// Viridis (perceptually uniform, readable in grey and by colour-blind readers) at `t` in [0, 1].
pub fn viridis(t: f64) -> RGBColor {
    let c = colorous::VIRIDIS.eval_continuous(t.clamp(0.0, 1.0));
    RGBColor(c.r, c.g, c.b)
}

/// A categorical palette (Tableau 10) for stacked evidence.
pub fn category(k: usize) -> RGBColor {
    let c = colorous::TABLEAU10[k % colorous::TABLEAU10.len()];
    RGBColor(c.r, c.g, c.b)
}

/// Shortens a label to at most `max` characters (whole characters, not bytes: region
/// names are Cyrillic), with an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Shortens a label to at most `max` characters at a word boundary (a space, hyphen or
/// slash) when one lies in the second half, with an ellipsis: names are cut between
/// words, not inside one.
pub fn clip_words(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().take(max.saturating_sub(1)).collect();
    let cut = chars.iter().rposition(|c| matches!(c, ' ' | '-' | '/')).filter(|&k| k >= max / 2);
    let head: String = match cut {
        Some(k) => chars[..k].iter().collect::<String>().trim_end_matches([' ', '-', '/', ',']).to_string(),
        None => chars.iter().collect(),
    };
    format!("{head}…")
}

/// Draws the white background, the title, the subtitle and the provenance footer
/// ("file · tallyscope VERSION"), and returns the area left for the chart.
pub fn frame<'a, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    source: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (w, h) = root.dim_in_pixel();
    // Title and subtitle shortened (with an ellipsis) to the width: never cut by the edge.
    let fit = |s: &str, st: &TextStyle| -> String {
        let max = w.saturating_sub(40);
        let mut n = s.chars().count();
        let mut t = s.to_string();
        while n > 8 && root.estimate_text_size(&t, st).map_or(false, |(tw, _)| tw > max) {
            n -= 2;
            t = clip(s, n);
        }
        t
    };
    root.draw(&Text::new(fit(title, &bold(TITLE)), (24, 14), bold(TITLE)))?;
    root.draw(&Text::new(fit(subtitle, &text(SUBTITLE)), (24, 14 + TITLE as i32 + 8), text(SUBTITLE).color(&MUTED)))?;
    let foot = format!("data: {source} · tallyscope {}", env!("CARGO_PKG_VERSION"));
    let fs = text(NOTE).color(&MUTED).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Right,
        plotters::style::text_anchor::VPos::Bottom,
    ));
    root.draw(&Text::new(foot, (w as i32 - 16, h as i32 - 8), fs))?;
    let top = 14 + TITLE + 8 + SUBTITLE + 16;
    Ok(root.margin(top, NOTE + 16, 8, 16))
}

/// A centred message in place of a chart that has nothing to show.
pub fn message<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, msg: &str) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = area.dim_in_pixel();
    let st = text(AXIS).color(&MUTED).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Center,
    ));
    area.draw(&Text::new(msg.to_string(), (w as i32 / 2, h as i32 / 2), st))
}

/// Thousands separators for labels: 12345 → "12,345".
pub fn thousands_f(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let s = crate::export::thousands(x.abs().round() as u64);
    if x < -0.5 { format!("−{s}") } else { s }
}

/// Compact axis numbers: 1,234 / 12.5k / 3.2M.
pub fn compact(x: f64) -> String {
    let a = x.abs();
    let sign = if x < 0.0 { "−" } else { "" };
    if a >= 1e6 {
        format!("{sign}{}M", trim(a / 1e6))
    } else if a >= 1e4 || (a >= 1e3 && (a / 100.0).fract() == 0.0) {
        format!("{sign}{}k", trim(a / 1e3))
    } else if a == a.round() {
        format!("{sign}{}", crate::export::thousands(a as u64))
    } else {
        format!("{sign}{}", trim(a))
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_cut_between_words() {
        assert_eq!(super::clip_words("Республика Башкортостан", 26), "Республика Башкортостан");
        assert_eq!(super::clip_words("Ханты-Мансийский автономный округ — Югра", 26), "Ханты-Мансийский…");
        assert_eq!(super::clip_words("Кабардино-Балкарская Республика", 26), "Кабардино-Балкарская…");
        // no boundary in the second half: cut inside, as before
        assert_eq!(super::clip_words("Abcdefghijklmnopqrstuvwxyz0123", 10), "Abcdefghi…");
    }

    use super::*;
    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("Москва", 10), "Москва");
        assert_eq!(clip("Московская область", 8), "Московс…");
        assert_eq!(clip("Московская область", 8).chars().count(), 8);
    }
    #[test]
    fn compact_numbers() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(1234.0), "1,234");
        assert_eq!(compact(5000.0), "5k");
        assert_eq!(compact(12_500.0), "12.5k");
        assert_eq!(compact(3_200_000.0), "3.2M");
        assert_eq!(compact(-20_000.0), "−20k");
        assert_eq!(compact(0.5), "0.5");
        assert_eq!(thousands_f(-1234.4), "−1,234");
    }
    #[test]
    fn viridis_ends() {
        // Viridis runs from dark purple (#440154) to yellow (#fde725).
        assert_eq!(viridis(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), RGBColor(0xfd, 0xe7, 0x25));
    }
}
