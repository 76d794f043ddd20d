//! Charts (plotters), each as PNG and SVG, at publication quality: a title, a subtitle
//! saying what was drawn, labelled axes with units, and the data file's name.
//!
//! One file per chart family; [`style`] holds the font, colours and frame, [`text`] the
//! bitmap text fix, [`data`] the per-station numbers. [`all`] draws every chart that the
//! analysis can feed, in parallel.

pub mod commissions;
pub mod data;
pub mod digits;
pub mod fingerprint;
pub mod mixture;
pub mod histograms;
pub mod multiples;
pub mod regions;
pub mod scatter;
pub mod style;
pub mod text;
pub mod compare;

use crate::analysis::Analysis;
use crate::error::{Error, Result};
use data::Data;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Every chart tallyscope draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chart {
    /// Turnout at 0.1 pp bins, by stations and by voters, integer percentages marked.
    TurnoutFine,
    /// Leader share at 0.1 pp bins, by stations and by voters, integer percentages marked.
    ShareFine,
    /// Turnout at 1 pp bins, by stations and by voters.
    Turnout,
    /// Leader share at 1 pp bins, by stations and by voters.
    Share,
    /// Turnout × leader share 2-D histogram (viridis, log scale) and the fitted Klimek model.
    Fingerprint,
    /// The same histogram beside Mebane's fitted finite mixture (simulated), with
    /// `analyze --mixture` only.
    Mixture,
    /// Last-digit frequencies against uniform, with 95% intervals.
    LastDigits,
    /// Second-digit (2BL) frequencies against the expected ones, with 95% intervals.
    SecondDigits,
    /// Integer-percentage excess per region with the null's interval.
    IntegerRegions,
    /// Turnout against leader share, one point per station (sampled when large).
    Scatter,
    /// Turnout histograms of the top regions by score.
    RegionMultiples,
    /// The top commissions' scores, by evidence.
    Commissions,
}

/// File format of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
    /// From a file name's extension (`.png` or `.svg`, any case).
    pub fn from_path(p: &Path) -> Option<Format> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "png" => Some(Format::Png),
            "svg" => Some(Format::Svg),
            _ => None,
        }
    }
}

impl Chart {
    pub const ALL: [Chart; 12] = [
        Chart::TurnoutFine,
        Chart::ShareFine,
        Chart::Turnout,
        Chart::Share,
        Chart::Fingerprint,
        Chart::Mixture,
        Chart::LastDigits,
        Chart::SecondDigits,
        Chart::IntegerRegions,
        Chart::Scatter,
        Chart::RegionMultiples,
        Chart::Commissions,
    ];

    /// Name on the command line and in file names.
    pub fn key(self) -> &'static str {
        match self {
            Chart::TurnoutFine => "turnout-fine",
            Chart::ShareFine => "share-fine",
            Chart::Turnout => "turnout",
            Chart::Share => "share",
            Chart::Fingerprint => "fingerprint",
            Chart::Mixture => "mixture",
            Chart::LastDigits => "last-digits",
            Chart::SecondDigits => "second-digits",
            Chart::IntegerRegions => "integer-regions",
            Chart::Scatter => "scatter",
            Chart::RegionMultiples => "region-multiples",
            Chart::Commissions => "commissions",
        }
    }

    pub fn from_key(s: &str) -> Option<Chart> {
        Chart::ALL.iter().copied().find(|c| c.key() == s)
    }

    /// One line on what the chart shows (for `plot --help` and the report).
    pub fn describe(self) -> &'static str {
        match self {
            Chart::TurnoutFine => "turnout at 0.1 pp bins, by stations and by voters; integer percentages marked",
            Chart::ShareFine => "leader's share at 0.1 pp bins, by stations and by voters; integer percentages marked",
            Chart::Turnout => "turnout at 1 pp bins, by stations and by voters",
            Chart::Share => "leader's share at 1 pp bins, by stations and by voters",
            Chart::Fingerprint => "turnout × leader share 2-D histogram (viridis, log scale) beside the fitted Klimek et al. model",
            Chart::Mixture => "turnout × leader share 2-D histogram beside Mebane's fitted finite mixture, simulated from its parameters (only with analyze --mixture)",
            Chart::LastDigits => "last-digit frequencies against the test's exact per-station null, with 95% intervals (all candidates pooled; the leader)",
            Chart::SecondDigits => "second-digit (2BL) frequencies against the expected ones, with 95% intervals",
            Chart::IntegerRegions => "integer-percentage excess stations per region, with the null's 95% interval",
            Chart::Scatter => "turnout against leader share, one point per station (a seeded sample when large)",
            Chart::RegionMultiples => "turnout histograms of the top regions by score",
            Chart::Commissions => "the top commissions' scores, stacked by evidence",
        }
    }

    /// Whether the chart needs the fingerprint model fit (drawn without it, it shows only
    /// the observed histogram).
    pub fn wants_fingerprint(self) -> bool {
        self == Chart::Fingerprint
    }

    /// Why the chart cannot be drawn from this analysis, if it cannot.
    pub fn unavailable(self, a: &Analysis, d: &Data) -> Option<String> {
        let e = a.election();
        match self {
            Chart::LastDigits | Chart::SecondDigits => {
                let t = if self == Chart::LastDigits { "digits.last.chi2.pooled" } else { "digits.2bl.chi2.pooled" };
                if a.nation(t).is_none() { Some("the digit tests did not run on this file".into()) } else { None }
            }
            Chart::IntegerRegions => match &a.integer {
                None => Some("the integer-percentage test did not run on this file".into()),
                Some(r) if !r.regions.iter().any(|x| x.test == "integer.either") => {
                    Some("the file has no regions (no hierarchy level)".into())
                }
                _ => None,
            },
            Chart::RegionMultiples => {
                if e.levels.is_empty() {
                    Some("the file has no regions (no hierarchy level)".into())
                } else {
                    d.missing.clone()
                }
            }
            Chart::Mixture => {
                if a.mixture.is_none() { Some("the finite mixture was not fitted (analyze --mixture)".into()) } else { None }
            }
            Chart::Commissions => {
                if a.commissions.is_empty() { Some("the file has no commissions (no hierarchy level)".into()) } else { None }
            }
            _ => d.missing.clone(),
        }
    }

    /// Size in pixels (PNG) and user units (SVG).
    pub fn size(self, a: &Analysis) -> (u32, u32) {
        match self {
            Chart::TurnoutFine | Chart::ShareFine | Chart::Turnout | Chart::Share => (1400, 1000),
            Chart::Fingerprint | Chart::Mixture => (1400, 760),
            Chart::LastDigits | Chart::SecondDigits => (1400, 700),
            Chart::Scatter => (1000, 1000),
            Chart::RegionMultiples => (1400, 1050),
            Chart::IntegerRegions => {
                let rows = a.integer.as_ref().map_or(0, |r| r.regions.iter().filter(|x| x.test == "integer.either").count());
                (1400, 260 + 26 * rows.min(regions::MAX_ROWS).max(regions::LEGEND_ROWS) as u32)
            }
            Chart::Commissions => (1400, 260 + 30 * commissions::rows(&a.commissions) as u32),
        }
    }
}

/// What a chart function gets.
pub struct Ctx<'a> {
    pub a: &'a Analysis,
    pub data: &'a Data,
    /// The data file's name (no directories), for titles and the footer.
    pub source: String,
    /// Linear rather than log colour scale on the fingerprint.
    pub linear: bool,
    /// `plot --width/--height`: the size instead of the chart's own.
    pub size: Option<(u32, u32)>,
    /// `plot --title`: the title instead of the chart's own.
    pub title: Option<String>,
    /// `plot --panel N`: only the N-th panel (1-based) of a two-panel chart.
    pub panel: Option<usize>,
}

impl<'a> Ctx<'a> {
    pub fn new(a: &'a Analysis, data: &'a Data) -> Ctx<'a> {
        let source = Path::new(&a.read.file).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| a.read.file.clone());
        // "results.csv.zip:results.csv" (a file inside an archive): the inner name says it.
        let source = match source.split_once(".zip:") {
            Some((_, inner)) if !inner.is_empty() => inner.to_string(),
            _ => source,
        };
        Ctx { a, data, source, linear: false, size: None, title: None, panel: None }
    }
    /// The frame around the chart (title, subtitle, footer), with `--title` when given.
    pub fn frame<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
        subtitle: &str,
    ) -> std::result::Result<DrawingArea<DB, Shift>, style::DrawingAreaErrorKind<DB::ErrorType>> {
        style::frame(root, self.title.as_deref().unwrap_or(title), subtitle, &self.source)
    }
    /// The panels to draw of a chart with `n` panels: all, or the one `--panel` names.
    pub fn panels(&self, n: usize) -> Vec<usize> {
        match self.panel {
            Some(k) if (1..=n).contains(&k) => vec![k - 1],
            _ => (0..n).collect(),
        }
    }
    pub fn leader(&self) -> &str {
        self.a.leader.as_deref().or(self.data.leader.as_deref()).unwrap_or("the leader")
    }
}

/// The result type of chart functions.
pub type DrawResult<DB> = std::result::Result<(), style::DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_on<DB: DrawingBackend>(kind: Chart, root: &DrawingArea<DB, Shift>, cx: &Ctx) -> DrawResult<DB> {
    match kind {
        Chart::TurnoutFine => histograms::draw(root, cx, histograms::Var::Turnout, 0.1),
        Chart::ShareFine => histograms::draw(root, cx, histograms::Var::Share, 0.1),
        Chart::Turnout => histograms::draw(root, cx, histograms::Var::Turnout, 1.0),
        Chart::Share => histograms::draw(root, cx, histograms::Var::Share, 1.0),
        Chart::Fingerprint => fingerprint::draw(root, cx),
        Chart::Mixture => mixture::draw(root, cx),
        Chart::LastDigits => digits::draw(root, cx, digits::Place::Last),
        Chart::SecondDigits => digits::draw(root, cx, digits::Place::Second),
        Chart::IntegerRegions => regions::draw(root, cx),
        Chart::Scatter => scatter::draw(root, cx),
        Chart::RegionMultiples => multiples::draw(root, cx),
        Chart::Commissions => commissions::draw(root, cx),
    }
}

fn failed(kind: Chart, e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("drawing chart {}: {e}", kind.key()))
}

/// Draws one chart into memory: PNG bytes or SVG text.
pub fn render(kind: Chart, cx: &Ctx, format: Format) -> Result<Vec<u8>> {
    style::fonts();
    if let Some(why) = kind.unavailable(cx.a, cx.data) {
        return Err(Error::Usage(format!("chart {}: {why}", kind.key())));
    }
    let (w, h) = cx.size.unwrap_or_else(|| kind.size(cx.a));
    match format {
        Format::Png => {
            let mut buf = vec![255u8; w as usize * h as usize * 3];
            {
                let root = text::Crisp { inner: BitMapBackend::with_buffer(&mut buf, (w, h)) }.into_drawing_area();
                draw_on(kind, &root, cx).map_err(|e| failed(kind, e))?;
                root.present().map_err(|e| failed(kind, e))?;
            }
            encode_png(&buf, w, h).map_err(|e| failed(kind, e))
        }
        Format::Svg => {
            let mut s = String::new();
            {
                let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
                draw_on(kind, &root, cx).map_err(|e| failed(kind, e))?;
                root.present().map_err(|e| failed(kind, e))?;
            }
            // The text was measured with the embedded DejaVu Sans: name it, with fallbacks
            // that carry Cyrillic, rather than the bare "sans-serif" plotters writes.
            Ok(s.replace("font-family=\"sans-serif\"", &format!("font-family=\"{SVG_FONTS}\"")).into_bytes())
        }
    }
}

/// The font list SVG text names: the embedded font first (DejaVu Sans, Cyrillic included),
/// then fonts with Cyrillic that most systems have.
pub const SVG_FONTS: &str = "DejaVu Sans, Noto Sans, Liberation Sans, Arial, sans-serif";

/// RGB buffer → PNG. "Fast" compression (fdeflate): charts are flat colour, so it is
/// within a few percent of the default level's size at a fraction of the time.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut wr = enc.write_header()?;
        wr.write_image_data(rgb)?;
        wr.finish()?;
    }
    Ok(out)
}

/// Draws one chart to `path`.
pub fn draw(kind: Chart, a: &Analysis, format: Format, path: &Path) -> Result<()> {
    let d = Data::new(a.election(), leader_index(a));
    let cx = Ctx::new(a, &d);
    let bytes = render(kind, &cx, format)?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path.display().to_string(), e))
}

/// The analysis' leader as a candidate index.
pub fn leader_index(a: &Analysis) -> Option<usize> {
    let e = a.election();
    a.leader.as_ref().and_then(|l| e.candidates.iter().position(|c| c == l))
}

/// One chart file written by [`render_all`].
#[derive(Debug, Clone)]
pub struct Drawn {
    pub chart: Chart,
    pub format: Format,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Draws every chart the analysis can feed into `dir` (created if missing) as
/// `KIND.png` and `KIND.svg`, in parallel, and keeps the bytes (the report inlines
/// them). Charts that cannot be drawn (no regions, no digits …) are listed with the
/// reason in the second value.
pub fn render_all(a: &Analysis, dir: &Path) -> Result<(Vec<Drawn>, Vec<(Chart, String)>)> {
    use rayon::prelude::*;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let d = Data::new(a.election(), leader_index(a));
    let cx = Ctx::new(a, &d);
    let mut skipped = Vec::new();
    let mut jobs = Vec::new();
    for c in Chart::ALL {
        match c.unavailable(a, &d) {
            Some(why) => skipped.push((c, why)),
            None => jobs.extend([(c, Format::Png), (c, Format::Svg)]),
        }
    }
    let drawn = jobs
        .par_iter()
        .map(|&(chart, format)| {
            let bytes = render(chart, &cx, format)?;
            let path = dir.join(format!("{}.{}", chart.key(), format.ext()));
            std::fs::write(&path, &bytes).map_err(|e| Error::io(path.display().to_string(), e))?;
            Ok(Drawn { chart, format, path, bytes })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((drawn, skipped))
}

/// Draws every chart the analysis can feed into `dir` as PNG and SVG; returns the paths.
pub fn all(a: &Analysis, dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(render_all(a, dir)?.0.into_iter().map(|d| d.path).collect())
}
