//! Last-digit (Beber & Scacco) and second-digit (2BL, Mebane) bar charts: observed
//! frequencies of each digit, all candidates pooled and for the leader, against the
//! expected frequency with its 95% binomial interval (`e ± 1.96·√(e(1 − e)/n)`).
//! Expected shares are the test's own null (`extra.e0…e9`: the exact per-station null of
//! [`crate::stats::digits::prior`], the one its p-value uses), so a dot outside the band is what the p-value measures;
//! uniform (last) or Benford (second) is drawn as a descriptive reference. Without `e0…e9`
//! (older results) uniform or Benford is the expectation. A test the calibration marks not
//! applicable here is drawn greyed, with those words and no "outside" markers.
//! The numbers come from the digit tests' results (`extra.d0…d9`, `e0…e9`).

use super::style::{self, ACCENT, AXIS, GRID, INK, MAIN, NULL, TICK};
use super::{Ctx, DrawResult};
use crate::stats::TestResult;
use crate::stats::digits::benford_second;
use plotters::coord::Shift;
use plotters::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Last,
    Second,
}

/// Observed and expected shares of the ten digits and the number of counts.
pub struct Digits {
    pub observed: [f64; 10],
    pub expected: [f64; 10],
    pub n: usize,
    /// Whether `expected` is the test's own null (`e0…e9`) rather than uniform / Benford.
    pub resampled: bool,
}

impl Digits {
    pub fn from_result(r: &TestResult, place: Place) -> Option<Digits> {
        let mut observed = [0.0; 10];
        for (d, o) in observed.iter_mut().enumerate() {
            *o = *r.extra.get(&format!("d{d}"))?;
        }
        let mut e = [0.0; 10];
        let mut ok = true;
        for (d, x) in e.iter_mut().enumerate() {
            match r.extra.get(&format!("e{d}")) {
                Some(v) => *x = *v,
                None => ok = false,
            }
        }
        let (expected, resampled) = match (ok, place) {
            (true, _) => (e, true),
            (false, Place::Last) => ([0.1; 10], false),
            (false, Place::Second) => (benford_second(), false),
        };
        Some(Digits { observed, expected, n: r.n, resampled })
    }

    /// The 95% interval of digit `d`'s share under the expected frequencies.
    pub fn interval(&self, d: usize) -> (f64, f64) {
        let e = self.expected[d];
        let half = 1.96 * (e * (1.0 - e) / self.n.max(1) as f64).sqrt();
        ((e - half).max(0.0), e + half)
    }
}

fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
    }
}

/// Draws one panel. `na`: the test is not applicable here (greyed, no "outside" markers).
fn panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, dg: &Digits, caption: &str, place: Place, with_y: bool, na: Option<String>) -> DrawResult<DB> {
    // A dot plot on a zoomed axis (bars from zero would hide differences of a few tenths
    // of a point); the headroom at the top holds the legend.
    let classical = if place == Place::Second { benford_second() } else { [0.1; 10] };
    let with_benford = dg.resampled;
    let reference = |d: usize| if with_benford { classical[d] } else { dg.expected[d] };
    let lo = (0..10).map(|d| dg.observed[d].min(dg.interval(d).0).min(reference(d))).fold(f64::INFINITY, f64::min);
    let hi = (0..10).map(|d| dg.observed[d].max(dg.interval(d).1).max(reference(d))).fold(0.0, f64::max);
    let span = (hi - lo).max(0.005);
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .margin_right(20)
        .caption(caption, style::bold(AXIS - 2))
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d(-0.5f64..9.5f64, (lo - 0.1 * span).max(0.0)..(hi + 0.75 * span))?;
    chart
        .configure_mesh()
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&|v| format!("{:.0}", v.round()))
        .y_label_formatter(&|v| format!("{:.1}%", 100.0 * v))
        .label_style(style::text(TICK))
        .axis_desc_style(style::text(AXIS))
        .x_desc(if place == Place::Last { "Last digit" } else { "Second digit" })
        .y_desc(if with_y { "Share of counts, %" } else { "" })
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()?;
    let outside = |d: usize| {
        let (lo, hi) = dg.interval(d);
        dg.observed[d] < lo || dg.observed[d] > hi
    };
    // Expected share (black tick) and its 95% interval (grey band).
    chart
        .draw_series((0..10).map(|d| {
            let (lo, hi) = dg.interval(d);
            let x = d as f64;
            Rectangle::new([(x - 0.3, lo), (x + 0.3, hi)], NULL.mix(0.35).filled())
        }))?
        .label("95% interval of the expected share")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], NULL.mix(0.35).filled()));
    let exp_label = match (place, dg.resampled) {
        (_, true) => "expected: the test's null (exact, per station)",
        (Place::Last, false) => "expected: uniform, 10%",
        (Place::Second, false) => "expected: Benford",
    };
    chart
        .draw_series((0..10).map(|d| {
            let x = d as f64;
            PathElement::new(vec![(x - 0.3, dg.expected[d]), (x + 0.3, dg.expected[d])], INK.stroke_width(3))
        }))?
        .label(exp_label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], INK.stroke_width(3)));
    if with_benford {
        chart
            .draw_series((0..10).map(|d| Circle::new((d as f64, classical[d]), 5, INK.stroke_width(1))))?
            .label(if place == Place::Second { "Benford (descriptive)" } else { "uniform, 10% (descriptive)" })
            .legend(|(x, y)| Circle::new((x + 8, y), 4, INK.stroke_width(1)));
    }
    if let Some(why) = na {
        // The calibration says this test's null does not hold on data like this: no
        // "outside" colour, every dot the same grey.
        chart
            .draw_series((0..10).map(|d| Circle::new((d as f64, dg.observed[d]), 7, NULL.filled())))?
            .label(format!("observed; {why}"))
            .legend(|(x, y)| Circle::new((x + 8, y), 6, NULL.filled()));
    } else {
        chart
            .draw_series((0..10).filter(|&d| !outside(d)).map(|d| Circle::new((d as f64, dg.observed[d]), 7, MAIN.filled())))?
            .label("observed")
            .legend(|(x, y)| Circle::new((x + 8, y), 6, MAIN.filled()));
        chart
            .draw_series((0..10).filter(|&d| outside(d)).map(|d| Circle::new((d as f64, dg.observed[d]), 7, ACCENT.filled())))?
            .label("observed, outside the 95% interval")
            .legend(|(x, y)| Circle::new((x + 8, y), 6, ACCENT.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperMiddle)
        .label_font(style::text(TICK))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .draw()?;
    Ok(())
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, cx: &Ctx, place: Place) -> DrawResult<DB> {
    let a = cx.a;
    let (family, title) = match place {
        Place::Last => ("digits.last.chi2", "Last digits of vote counts"),
        Place::Second => ("digits.2bl.chi2", "Second digits of vote counts (2BL)"),
    };
    let leader = cx.leader().to_string();
    let pooled = a.nation(&format!("{family}.pooled"));
    let lead = a.nation(&format!("{family}.{leader}"));
    let min = if place == Place::Last { "counts ≥ 10; Beber & Scacco 2012" } else { "counts ≥ 10; Mebane's 2BL" };
    let subtitle = format!("{min}; orange: outside the 95% interval of the test's null; grey dots: test not applicable here; abroad/electronic stations set aside");
    let area = cx.frame(root, &format!("{title} — {}", cx.source), &subtitle)?;
    let shown = cx.panels(2);
    let halves = if shown.len() == 1 { vec![area.clone(), area] } else { area.split_evenly((1, 2)) };
    for (k, (r, who)) in [(pooled, "All candidates pooled".to_string()), (lead, style::clip(&leader, 40))].into_iter().enumerate() {
        if !shown.contains(&k) {
            continue;
        }
        let Some(r) = r else {
            style::message(&halves[k], "not computed")?;
            continue;
        };
        let Some(dg) = Digits::from_result(r, place) else {
            style::message(&halves[k], "no digit frequencies in this result")?;
            continue;
        };
        let na = r.not_applicable().then(|| match r.calibrated_alpha {
            Some(a) => format!("not applicable here (rejects {:.0}% of clean elections like this)", 100.0 * a),
            None => "not applicable here".to_string(),
        });
        let cap = if na.is_some() {
            format!("{who}: n = {}, not applicable here", crate::export::thousands(dg.n as u64))
        } else {
            format!("{who}: n = {}, χ² = {:.1}, p = {}", crate::export::thousands(dg.n as u64), r.statistic, fmt_p(r.p))
        };
        panel(&halves[k], &dg, &cap, place, k == 0 || shown.len() == 1, na)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn interval_is_the_binomial_one() {
        // n = 10,000 counts, e = 0.1: half-width 1.96·√(0.09/10,000) = 0.00588.
        let dg = Digits { observed: [0.1; 10], expected: [0.1; 10], n: 10_000, resampled: false };
        let (lo, hi) = dg.interval(3);
        assert!((lo - 0.09412).abs() < 1e-5 && (hi - 0.10588).abs() < 1e-5, "{lo} {hi}");
    }
    fn svg_of(dg: &Digits, na: Option<String>) -> String {
        super::super::style::fonts();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (700, 700)).into_drawing_area();
            panel(&root, dg, "caption", Place::Last, true, na).unwrap();
            root.present().unwrap();
        }
        svg
    }

    #[test]
    fn a_test_not_applicable_here_is_greyed_without_outside_markers() {
        // Digit 0 far outside its interval: orange when the test applies.
        let mut observed = [0.095; 10];
        observed[0] = 0.145;
        let dg = Digits { observed, expected: [0.1; 10], n: 100_000, resampled: false };
        let accent = format!("#{:02X}{:02X}{:02X}", ACCENT.0, ACCENT.1, ACCENT.2);
        let applies = svg_of(&dg, None);
        assert!(applies.contains(&accent), "an outside dot is drawn in the accent colour");
        assert!(applies.contains("outside the 95% interval"));
        let na = svg_of(&dg, Some("not applicable here (rejects 40% of clean elections like this)".into()));
        assert!(!na.contains(&accent), "no accent colour on a test that is not applicable");
        assert!(!na.contains("outside the 95% interval"), "no outside marker in the legend");
        assert!(na.contains("not applicable here (rejects 40%"), "the words are on the chart");
    }

    #[test]
    fn last_digits_are_read_against_the_tests_own_null() {
        let mut r = TestResult::new("digits.last.chi2.pooled", "nation", 3.0, 500);
        for d in 0..10 {
            r.extra.insert(format!("d{d}"), 0.1);
        }
        assert_eq!(Digits::from_result(&r, Place::Last).unwrap().expected, [0.1; 10], "uniform without e0..e9");
        for d in 0..10 {
            r.extra.insert(format!("e{d}"), if d == 0 { 0.19 } else { 0.09 });
        }
        let dg = Digits::from_result(&r, Place::Last).unwrap();
        assert!(dg.resampled && (dg.expected[0] - 0.19).abs() < 1e-12, "the exact null's shares, as the p-value uses");
    }

    #[test]
    fn second_digits_fall_back_to_benford() {
        let mut r = TestResult::new("digits.2bl.chi2.pooled", "nation", 3.0, 500);
        for d in 0..10 {
            r.extra.insert(format!("d{d}"), 0.1);
        }
        let dg = Digits::from_result(&r, Place::Second).unwrap();
        assert!(!dg.resampled);
        assert!((dg.expected[0] - 0.11968).abs() < 1e-4, "Benford q0 = 0.11968");
        r.extra.insert("e0".into(), 0.2);
        for d in 1..10 {
            r.extra.insert(format!("e{d}"), 0.8 / 9.0);
        }
        assert!(Digits::from_result(&r, Place::Second).unwrap().resampled);
    }
}
