//! Correct text on bitmaps: a drawing-backend wrapper that lays out and rasterises text
//! itself.
//!
//! plotters 0.3.7's `ab_glyph` text path places each glyph's bitmap at the pen position
//! without its left side bearing, and snaps the pen to whole pixels per glyph: narrow
//! glyphs with wide bearings ("i", "l", "r") end up too far left and words show gaps
//! ("distributi on"); it also puts the baseline half a size below the box top, so text
//! sits high. [`Crisp`] wraps any backend and replaces `draw_text` and
//! `estimate_text_size` with a layout that keeps sub-pixel pen positions, kerning and
//! bearings (ab_glyph's positioned glyphs) and puts the baseline at the font's ascent.
//! Everything else is passed through. SVG output does not need it (the viewer lays out
//! `<text>` elements).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind, FontStyle,
    FontTransform,
};
use std::sync::OnceLock;

fn font(style: FontStyle) -> &'static FontRef<'static> {
    static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
    static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
    let (cell, bytes) = match style {
        FontStyle::Bold => (&BOLD, dejavu::sans::bold()),
        _ => (&REGULAR, dejavu::sans::regular()),
    };
    cell.get_or_init(|| FontRef::try_from_slice(bytes).expect("the dejavu crate ships valid TrueType fonts"))
}

/// Width of `text` and the line height (ascent − descent) at `size` px.
pub fn measure(text: &str, size: f64, style: FontStyle) -> (f32, f32) {
    let f = font(style).as_scaled(PxScale::from(size as f32));
    let mut x = 0f32;
    let mut prev = None;
    for c in text.chars() {
        let g = f.glyph_id(c);
        if let Some(p) = prev {
            x += f.kern(p, g);
        }
        x += f.h_advance(g);
        prev = Some(g);
    }
    (x, f.ascent() - f.descent())
}

/// A backend whose text is laid out properly (see the module docs).
pub struct Crisp<B> {
    pub inner: B,
}

impl<B: DrawingBackend> DrawingBackend for Crisp<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }
    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, path: I, style: &S) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, vert: I, style: &S) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(&self, text: &str, style: &S) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (w, h) = measure(text, style.size(), style.style());
        Ok((w.ceil() as u32, h.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let size = style.size() as f32;
        let f = font(style.style()).as_scaled(PxScale::from(size));
        let (w, h) = measure(text, style.size(), style.style());
        // Offset of the layout box's top-left corner from the anchor, before rotation.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -w / 2.0,
            HPos::Right => -w,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -h / 2.0,
            VPos::Bottom => -h,
        };
        let trans = style.transform();
        let (width, height) = self.get_size();
        let baseline = dy + f.ascent();
        let mut pen = dx;
        let mut prev = None;
        let mut pixels: Vec<(i32, i32, f32)> = Vec::new();
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                pen += f.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(PxScale::from(size), point(pen, baseline));
            pen += f.h_advance(id);
            if let Some(outline) = font(style.style()).outline_glyph(glyph) {
                let b = outline.px_bounds();
                let (x0, y0) = (b.min.x as i32, b.min.y as i32);
                outline.draw(|x, y, cov| pixels.push((x0 + x as i32, y0 + y as i32, cov)));
            }
        }
        for (x, y, cov) in pixels {
            if cov <= 0.0 {
                continue;
            }
            let (tx, ty) = match trans {
                FontTransform::None => (x, y),
                FontTransform::Rotate90 => (-y, x),
                FontTransform::Rotate180 => (-x, -y),
                FontTransform::Rotate270 => (y, -x),
            };
            let (px, py) = (pos.0 + tx, pos.1 + ty);
            if px >= 0 && py >= 0 && (px as u32) < width && (py as u32) < height {
                let c = BackendColor { alpha: color.alpha * cov.min(1.0) as f64, rgb: color.rgb };
                self.inner.draw_pixel((px, py), c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    /// Columns that hold ink, as runs of [start, end) in a row-summed bitmap.
    fn ink_runs(buf: &[u8], w: usize, h: usize) -> Vec<(usize, usize)> {
        let col_ink: Vec<bool> = (0..w).map(|x| (0..h).any(|y| buf[3 * (y * w + x)] < 128)).collect();
        let mut runs = Vec::new();
        let mut start = None;
        for (x, &ink) in col_ink.iter().enumerate() {
            match (ink, start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    runs.push((s, x));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            runs.push((s, w));
        }
        runs
    }

    fn render_with(text: &str, crisp: bool, size: u32) -> (Vec<u8>, usize, usize) {
        crate::render::style::fonts();
        let (w, h) = (400usize, 60usize);
        let mut buf = vec![255u8; w * h * 3];
        {
            let style = ("sans-serif", size).into_font().color(&BLACK);
            let bm = BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32));
            if crisp {
                let root = Crisp { inner: bm }.into_drawing_area();
                root.draw(&Text::new(text.to_string(), (10, 10), style)).unwrap();
                root.present().unwrap();
            } else {
                let root = bm.into_drawing_area();
                root.draw(&Text::new(text.to_string(), (10, 10), style)).unwrap();
                root.present().unwrap();
            }
        }
        (buf, w, h)
    }

    fn render(text: &str) -> (Vec<u8>, usize, usize) {
        render_with(text, true, 32)
    }

    #[test]
    fn left_side_bearings_are_kept() {
        // The cause of "distributi on": plotters 0.3.7 draws each glyph's bitmap at the pen
        // position, dropping its left side bearing (and truncating the pen to whole pixels),
        // so glyphs whose bearing differs from their neighbours' shift. "|" has a wide
        // bearing (about 0.11 em: 3.6 px at 32 px): with `Crisp` its ink starts that far
        // right of the anchor; plotters' own path starts it at the anchor. If the second
        // assertion fails after a plotters upgrade, the upstream bug is fixed and `Crisp`
        // may be dropped.
        let f = font(FontStyle::Normal).as_scaled(PxScale::from(32.0));
        let lsb = f.h_side_bearing(f.glyph_id('|'));
        assert!(lsb > 3.0, "bearing {lsb}");
        let first_ink = |crisp: bool| {
            let (buf, w, h) = render_with("|", crisp, 32);
            ink_runs(&buf, w, h)[0].0 as f32
        };
        let ours = first_ink(true);
        assert!((ours - (10.0 + lsb)).abs() <= 1.0, "ink at {ours}, expected 10 + {lsb}");
        let theirs = first_ink(false);
        assert!(theirs < 10.0 + lsb - 2.0, "plotters' own path now keeps the bearing (ink at {theirs})");
    }

    #[test]
    fn letters_inside_a_word_are_evenly_spaced() {
        // "distribution": with the bearing bug, "i" is drawn flush left of its advance and
        // leaves a gap before the next letter wider than the gap between words. Measured
        // here: the largest gap between ink runs inside the word stays below the width
        // of a space at this size (~10 px at 32 px DejaVu Sans).
        let (buf, w, h) = render("distribution");
        let runs = ink_runs(&buf, w, h);
        assert!(runs.len() >= 8, "expected separate letters, got runs {runs:?}");
        let gaps: Vec<usize> = runs.windows(2).map(|r| r[1].0 - r[0].1).collect();
        let space = measure(" ", 32.0, FontStyle::Normal).0;
        assert!(gaps.iter().all(|&g| (g as f32) < 0.6 * space), "gaps {gaps:?} vs space {space}");
        // And the word is as wide as its advances say, less the side bearings of "d" and
        // "n" (about 2–3 px each at this size).
        let (adv, _) = measure("distribution", 32.0, FontStyle::Normal);
        let inked = (runs.last().unwrap().1 - runs[0].0) as f32;
        assert!(inked <= adv && inked > adv - 8.0, "inked {inked} vs advance {adv}");
    }

    #[test]
    fn cyrillic_has_glyphs() {
        // Every letter of a Cyrillic word draws ink (no .notdef boxes of equal width:
        // "Ш" is wider than "г").
        let (buf, w, h) = render("Шгж");
        let runs = ink_runs(&buf, w, h);
        assert_eq!(runs.len(), 3, "runs {runs:?}");
        assert!(runs[0].1 - runs[0].0 > runs[1].1 - runs[1].0);
    }

    #[test]
    fn text_sits_below_its_anchor_top() {
        // Anchored at the top (y = 10), a capital's ink starts below y = 10 and ends above
        // y = 10 + line height.
        let (buf, w, h) = render("H");
        let rows: Vec<usize> = (0..h).filter(|&y| (0..w).any(|x| buf[3 * (y * w + x)] < 128)).collect();
        let (_, lh) = measure("H", 32.0, FontStyle::Normal);
        assert!(*rows.first().unwrap() >= 10, "{rows:?}");
        assert!((*rows.last().unwrap() as f32) < 10.0 + lh, "{rows:?}");
    }
}
