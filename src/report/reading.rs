//! Plain-language readings of test results: one line saying what the number is, and a
//! verdict that respects the test's calibration.

use crate::export::thousands;
use crate::numfmt::signed;

/// Measured accuracy of the headline anomalous-vote estimate on simulated elections
/// (docs/recovery.md, `cargo run --release --example recovery`); printed with the estimate.
pub const SHPILKIN_ACCURACY: &str = "in simulation (docs/recovery.md) this estimate recovers extreme fraud and heavy ballot stuffing within about 6%, light stuffing (30% of non-voters) only at 30–70%, and does not see votes moved from other candidates evenly across turnout; its 95% interval held 0 in every simulated clean election and the injected votes in 95–100% of stuffed and extreme ones (its upper end allows for the light-stuffing shortfall)";

/// Measured recovery of the fingerprint fit's fractions (docs/recovery.md).
pub const FINGERPRINT_ACCURACY: &str = "in simulation (docs/recovery.md) f_i tracks heavy stuffing (60% of non-voters) but stays near 0 for light stuffing, vote transfers and extreme fraud of intensity 0.8, and f_e shows extreme fraud of intensity 0.95 at about half its true fraction: read the fractions as an order of magnitude, never as a count";
use crate::stats::TestResult;

pub use crate::stats::NOT_APPLICABLE_ALPHA;

/// Whether the test is not applicable to data shaped like this ([`TestResult::not_applicable`]).
pub fn not_applicable(r: &TestResult) -> bool {
    r.not_applicable()
}

/// A calibrated type-I rate with its standard error: "5.5% ± 1.6" (points), or the rate
/// alone when no error is known.
pub fn fmt_rate(rate: f64, se: Option<f64>) -> String {
    match se.filter(|s| s.is_finite()) {
        Some(s) => format!("{:.1}% ± {:.1}", 100.0 * rate, 100.0 * s),
        None => format!("{:.1}%", 100.0 * rate),
    }
}

pub fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) => crate::numfmt::p_value(p),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn num(x: f64) -> String {
    crate::numfmt::number(x)
}

/// The verdict: how to read the p-value (or why not to).
pub fn verdict(r: &TestResult) -> String {
    if let Some(a) = r.calibrated_alpha.filter(|_| not_applicable(r)) {
        return format!("not applicable here: it rejects {} of clean elections shaped like this one at the 5% level", pct(a));
    }
    match r.p {
        None => "descriptive (no p-value)".into(),
        Some(p) if p < 0.001 => "far outside what the null allows".into(),
        Some(p) if p < 0.05 => "outside what the null usually gives (5% level)".into(),
        Some(_) => "consistent with the null".into(),
    }
}

/// One line saying what was measured, with its clean-replicate baseline when it has one
/// ([`crate::calibrate::baselines`]; an estimate that should have one says it has none).
pub fn reading(r: &TestResult) -> String {
    use crate::calibrate::baselines::{Baseline, has_baseline, short};
    let line = reading_core(r);
    let f: &dyn Fn(f64) -> String = if r.test.starts_with("fingerprint.f_") { &pct } else { &short };
    match Baseline::of(r) {
        Some(b) => format!("{line}; {}", b.words(f)),
        None if has_baseline(&r.test) && r.scope == "nation" => format!("{line}; no clean baseline and no interval"),
        None => line,
    }
}

/// The fingerprint headline's baselines: "f_i: clean elections like this file give …;
/// f_e: …", or that there is none.
pub fn fingerprint_baselines(fi: Option<&TestResult>, fe: Option<&TestResult>) -> String {
    use crate::calibrate::baselines::Baseline;
    let w = |name: &str, r: Option<&TestResult>| match r.and_then(Baseline::of) {
        Some(b) => format!("{name}: {}", b.words(&pct)),
        None => format!("{name}: no clean baseline and no interval"),
    };
    format!("{}; {}", w("f_i", fi), w("f_e", fe))
}

fn reading_core(r: &TestResult) -> String {
    let t = r.test.as_str();
    let m = r.null_mean;
    let z = r.z().map(|z| format!(", z = {z:.1}")).unwrap_or_default();
    if let Some(rest) = t.strip_prefix("integer.") {
        let mut parts = rest.splitn(2, '.');
        let what = match parts.next() {
            Some("turnout") => "turnout",
            Some("leader") => "the leader's share",
            _ => "turnout or the leader's share",
        };
        let e = m.unwrap_or(0.0);
        return match parts.next() {
            None => format!(
                "{} stations have {what} on an integer percentage; {} expected by chance (excess {:+.0}{z})",
                num(r.statistic),
                num(e),
                r.statistic - e
            ),
            Some(w) => format!(
                "the same weighted by {}: {} against {} expected{z}",
                w.replace('_', " "),
                num(r.statistic),
                num(e)
            ),
        };
    }
    if let Some(c) = t.strip_prefix("digits.last.chi2.") {
        let who = if c == "pooled" { "all candidates' counts".to_string() } else { format!("{c}'s counts") };
        return format!("last digits of {who} against the exact per-station null: χ² = {:.1} (9 df, {} counts)", r.statistic, thousands(r.n as u64));
    }
    if let Some(c) = t.strip_prefix("digits.2bl.chi2.") {
        let who = if c == "pooled" { "all candidates' counts".to_string() } else { format!("{c}'s counts") };
        return format!("second digits of {who}: χ² = {:.1} against the expected frequencies ({} counts)", r.statistic, thousands(r.n as u64));
    }
    match t {
        "digits.last.repeated" => format!("{} of counts end in two equal digits ({} expected)", pct(r.statistic), m.map(pct).unwrap_or_else(|| "10%".into())),
        "digits.last.adjacent" => format!("{} of counts end in two adjacent digits ({} expected)", pct(r.statistic), m.map(pct).unwrap_or_else(|| "18%".into())),
        "digits.last.mean" => format!("mean last digit of the leader's counts {:.3} ({} expected)", r.statistic, m.map(|m| format!("{m:.3}")).unwrap_or_else(|| "4.5".into())),
        "digits.last.05" => format!("{} of the leader's counts end in 0 or 5 ({} expected)", pct(r.statistic), m.map(pct).unwrap_or_else(|| "20%".into())),
        "digits.pct05.turnout" => format!("{} of rounded turnout percentages end in 0 or 5 ({} expected)", pct(r.statistic), m.map(pct).unwrap_or_else(|| "20%".into())),
        "digits.pct05.share" => format!("{} of the leader's rounded percentages end in 0 or 5 ({} expected)", pct(r.statistic), m.map(pct).unwrap_or_else(|| "20%".into())),
        "digits._2BL" => format!("mean second digit of the leader's counts {:.3} ({} under Benford)", r.statistic, m.map(|m| format!("{m:.3}")).unwrap_or_default()),
        "fingerprint.f_incremental" => format!("the Klimek model puts {} of stations under incremental fraud; {FINGERPRINT_ACCURACY}", pct(r.statistic)),
        "fingerprint.f_extreme" => format!("the Klimek model puts {} of stations under extreme fraud", pct(r.statistic)),
        "shpilkin.anomalous_votes" => shpilkin_reading(r),
        "shape.sobyanin_slope" => format!("slope of leader votes / registered on turnout: {:.2} (above 1: the leader gains more votes than turnout adds)", r.statistic),
        _ if t.contains("corr_turnout_share") => format!("correlation of turnout and the leader's share: r = {:.3}", r.statistic),
        _ if t.contains("dip") => format!("Hartigan's dip statistic {:.4} (unimodality)", r.statistic),
        _ if t.contains("skew") || t.contains("Skew") => format!("skewness {:.3} (0 for a symmetric distribution)", r.statistic),
        _ if t.contains("kurt") || t.contains("Kurt") => format!("kurtosis {:.3} (3 for a normal distribution)", r.statistic),
        _ => match m {
            Some(m) => format!("statistic {} against {} expected{z}", num(r.statistic), num(m)),
            None => format!("statistic {}", num(r.statistic)),
        },
    }
}

/// The anomalous-vote headline: signed (a negative estimate is printed, not clamped to 0),
/// against the clean baseline when it ran, with its measured accuracy.
pub fn shpilkin_reading(r: &TestResult) -> String {
    let ci = match (r.extra.get("ci_low"), r.extra.get("ci_high")) {
        (Some(a), Some(b)) => format!(" (95% interval {} to {})", signed(*a), signed(*b)),
        _ => String::new(),
    };
    match r.extra.get("raw_anomalous") {
        Some(raw) => {
            let none = r.extra.get("ci_low").is_some_and(|&a| a <= 0.0);
            format!(
                "{} votes for the leader beyond what clean elections shaped like this file give{ci}{}; differences between regions are taken as honest (a region-wide falsification is not counted): Shpilkin's raw statistic, which counts them, is {}; {SHPILKIN_ACCURACY}",
                signed(r.statistic),
                if none { ": no anomalous votes beyond honest variation" } else { "" },
                signed(*raw)
            )
        }
        None => format!(
            "{} votes for the leader beyond the ratio at the clean turnout peak{ci}, with no clean baseline: clean elections give millions either way",
            signed(r.statistic)
        ),
    }
}

/// The families of tests, in report order: (test-name prefix, heading, what fraud the
/// family can and cannot see).
pub const FAMILIES: [(&str, &str, &str); 5] = [
    (
        "integer.",
        "Integer percentages (Kobak, Shpilkin & Pshenichnikov 2016)",
        "Sees protocols rounded or written to integer percentages of turnout or of the leader's share. Blind to stuffing that does not aim at round numbers.",
    ),
    (
        "digits.",
        "Digits: last digits (Beber & Scacco 2012), second digits (2BL, Mebane) and the Election Forensics Toolkit's statistics",
        "Sees numbers invented by people (favoured last digits, too few repeats). Blind to proportional ballot stuffing, which leaves digits uniform. Small counts break last-digit uniformity by arithmetic alone; the classical Benford null rejects clean elections of similar-sized stations, so it is descriptive.",
    ),
    (
        "fingerprint.",
        "Election fingerprint (Klimek, Yegorov, Hanel & Thurner 2012)",
        "Sees heavy ballot stuffing and extreme fraud: turnout and the leader's share rising together toward 100%. The fitted fractions depend on the model's honest shape; in simulation f_i tracks stuffing of 60% of non-voters, misses stuffing of 30% and vote transfers entirely, and f_e sees about half of extreme fraud at 95% intensity (docs/recovery.md).",
    ),
    (
        "shape.",
        "Shape of the distributions",
        "Descriptive: skewness, kurtosis, unimodality and the turnout–share relation. Honest heterogeneity (rural and urban areas) moves all of them without any fraud.",
    ),
    (
        "shpilkin.",
        "Anomalous votes (Shpilkin)",
        "Sees votes for the leader that rise with turnout beyond the ratio below the clean turnout peak, measured against clean elections simulated with this file's commissions (so honest differences between areas are not counted). Recovers extreme fraud and heavy stuffing within about 6% in simulation, light stuffing at 30–70%; blind to votes moved evenly across turnout (docs/recovery.md). An honest tendency of high-turnout stations within a commission to favour the leader would still be counted.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_journalist_writes_them() {
        // grouped from 1,000 (one decimal kept below 10,000), the sign kept (it was lost
        // above 10,000: -104,027 printed as 104,027)
        assert_eq!([num(1827.0), num(1834.8), num(1834.96), num(-104_027.0), num(974.0), num(920.7), num(-8.0)], [
            "1,827", "1,834.8", "1,835.0", "-104,027", "974", "920.7", "-8"
        ]);
    }

    #[test]
    fn readings_and_verdicts() {
        let mut r = TestResult::new("integer.either", "nation", 974.0, 5000);
        r.null_mean = Some(920.7);
        r.null_sd = Some(27.0);
        r.p = Some(0.0264);
        assert_eq!(
            reading(&r),
            "974 stations have turnout or the leader's share on an integer percentage; 920.7 expected by chance (excess +53, z = 2.0)"
        );
        assert_eq!(verdict(&r), "outside what the null usually gives (5% level)");
        r.calibrated_alpha = Some(0.11);
        assert!(not_applicable(&r));
        assert!(verdict(&r).starts_with("not applicable here: it rejects 11.0%"), "{}", verdict(&r));
        r.calibrated_alpha = Some(0.05);
        assert!(!not_applicable(&r));
        r.p = None;
        assert_eq!(verdict(&r), "descriptive (no p-value)");
        let c = TestResult::new("digits.last.05", "nation", 0.1963, 100);
        assert_eq!(reading(&c), "19.6% of the leader's counts end in 0 or 5 (20% expected)");
    }
}
