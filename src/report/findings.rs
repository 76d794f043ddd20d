//! The report's first section, "What this shows": each finding in plain words with its
//! strength, what it can and cannot mean, and the one chart that shows it. The details
//! (every test, every number) follow in the later sections.
//!
//! Strength, one rule for every statistical finding with a calibrated p-value: **strong**
//! at p < 0.001, **some** at p < 0.05, **none** above; **not applicable here** when the
//! calibration measured the test rejecting too many clean elections shaped like this file
//! (`TestResult::not_applicable`), or when it could not run. The anomalous-vote estimate
//! has no p-value: it is **strong** when its 95% interval against clean replicates of the
//! file excludes zero (it held zero in every simulated clean election, docs/recovery.md),
//! **none** otherwise, and not applicable without a clean baseline. The ranking is read
//! against the share of stations it flags on clean simulated elections (about 0.1%).
//! Broken protocol arithmetic is at most **some**: clean elections have clerical slips.

use super::html::capitalise;
use super::reading;
use crate::analysis::Analysis;
use crate::export::thousands;
use crate::numfmt::signed;
use crate::render::Chart;
use crate::stats::TestResult;

/// How much a finding weighs as evidence of manipulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    Strong,
    Some,
    None,
    NotApplicable,
}

impl Strength {
    pub fn label(self) -> &'static str {
        match self {
            Strength::Strong => "strong",
            Strength::Some => "some",
            Strength::None => "none",
            Strength::NotApplicable => "not applicable here",
        }
    }
    /// A CSS-safe key.
    pub fn key(self) -> &'static str {
        match self {
            Strength::Strong => "strong",
            Strength::Some => "some",
            Strength::None => "none",
            Strength::NotApplicable => "na",
        }
    }
    /// From a calibrated p-value.
    pub fn of_p(p: f64) -> Strength {
        if p < 0.001 {
            Strength::Strong
        } else if p < 0.05 {
            Strength::Some
        } else {
            Strength::None
        }
    }
}

/// One finding of the summary.
#[derive(Debug, Clone)]
pub struct Finding {
    pub title: String,
    pub strength: Strength,
    /// What was found, in one or two sentences with the numbers.
    pub shows: String,
    pub can_mean: String,
    pub cannot_mean: String,
    /// The chart that shows it (drawn in this run), else where to look.
    pub chart: Option<Chart>,
    pub see: String,
}

/// The explanation of the strength words, printed under the findings.
pub const STRENGTHS: &str = "Strength of each finding as evidence of manipulation: strong = a calibrated test far outside what clean elections give (p < 0.001), or an estimate whose 95% interval against clean elections simulated like this file excludes zero; some = outside at the 5% level (broken protocol arithmetic counts as some at most: clean elections have clerical slips); none = what clean elections give; not applicable here = the test rejects too many clean elections shaped like this file (its p-value would mislead), or it could not run. Statistical evidence points at anomalies, not at their cause: none of it proves fraud, and honest elections can be unusual.";

fn p_text(r: &TestResult) -> String {
    reading::fmt_p(r.p)
}

/// Strength of a group of tests read together: not applicable when every one of them is;
/// else from the smallest p among the applicable ones, Bonferroni-corrected for their number.
fn group(rs: &[&TestResult]) -> Strength {
    let ok: Vec<f64> = rs.iter().filter(|r| !r.not_applicable()).filter_map(|r| r.p).collect();
    if ok.is_empty() {
        return Strength::NotApplicable;
    }
    let m = ok.iter().copied().fold(1.0, f64::min);
    Strength::of_p((m * ok.len() as f64).min(1.0))
}

fn arithmetic(a: &Analysis) -> Finding {
    let c = &a.check;
    let run: Vec<_> = c.rules.iter().filter(|r| r.run).collect();
    let not_run: Vec<&str> = c.rules.iter().filter(|r| !r.run).map(|r| r.rule.key()).collect();
    let k = c.stations_with_violations;
    let share = if c.stations > 0 { k as f64 / c.stations as f64 } else { 0.0 };
    let strength = if run.is_empty() {
        Strength::NotApplicable
    } else if k == 0 {
        Strength::None
    } else {
        // Never "strong": clean elections have clerical slips too (Poland 2020, round 2:
        // 3.1% of stations, most of them the ballot balance), so a broken relation is a
        // fact about a protocol, not a measure of manipulation.
        Strength::Some
    };
    let ran = if not_run.is_empty() {
        format!("all {} rules ran", c.rules.len())
    } else {
        format!("{} of {} rules ran; not run for lack of protocol lines: {}", run.len(), c.rules.len(), not_run.join(", "))
    };
    let shows = if run.is_empty() {
        format!("No rule could run: the file lacks the protocol lines they compare ({ran}).")
    } else {
        let worst: Vec<String> = run.iter().filter(|r| r.violations > 0).map(|r| format!("{} {}", thousands(r.violations as u64), r.rule.key())).collect();
        format!(
            "{} of {} stations ({}) break at least one control relation of the protocol{} ({ran}).",
            thousands(k as u64),
            thousands(c.stations as u64),
            pct(share),
            if worst.is_empty() { String::new() } else { format!(": {}", worst.join(", ")) }
        )
    };
    Finding {
        title: "Protocol arithmetic".into(),
        strength,
        shows,
        can_mean: "A protocol whose numbers do not add up was filled in wrongly or changed after the count; identical protocols in one commission may be copied.".into(),
        cannot_mean: "Whether an error is clerical or deliberate; a rule that could not run checked nothing, so \"0 violations\" there means nothing.".into(),
        chart: None,
        see: "violations.csv (every violation with its line in the file)".into(),
    }
}

fn integer(a: &Analysis) -> Option<Finding> {
    let r = a.nation("integer.either")?;
    let strength = if r.not_applicable() { Strength::NotApplicable } else { r.p.map(Strength::of_p).unwrap_or(Strength::NotApplicable) };
    let shows = if strength == Strength::NotApplicable {
        format!("{}. {}.", capitalise(&reading::reading(r)), reading::verdict(r))
    } else {
        format!("{} (p = {}).", capitalise(&reading::reading(r)), p_text(r))
    };
    Some(Finding {
        title: "Round percentages".into(),
        strength,
        shows,
        can_mean: "More stations report a turnout or a leader's share of exactly 60%, 70%, 80% … than chance gives: protocols written to a target rather than counted (Kobak, Shpilkin & Pshenichnikov 2016).".into(),
        cannot_mean: "Which stations did it (most stations on a round number got there by chance), or how many votes were added; it is blind to fraud that does not aim at round numbers.".into(),
        chart: Some(Chart::IntegerRegions),
        see: String::new(),
    })
}

fn digits(a: &Analysis, family: &str, title: &str, chart: Chart, can: &str, cannot: &str) -> Option<Finding> {
    let pooled = a.nation(&format!("{family}.pooled"));
    let leader = a.leader.as_deref().and_then(|l| a.nation(&format!("{family}.{l}")));
    let rs: Vec<&TestResult> = [pooled, leader].into_iter().flatten().collect();
    if rs.is_empty() {
        return None;
    }
    let parts: Vec<String> = rs
        .iter()
        .map(|r| {
            let who = if r.test.ends_with(".pooled") { "all candidates pooled".to_string() } else { format!("the leader ({})", a.leader.as_deref().unwrap_or("")) };
            if r.not_applicable() {
                format!("{who}: not applicable here")
            } else {
                format!("{who}: χ² = {:.1}, p = {}", r.statistic, p_text(r))
            }
        })
        .collect();
    Some(Finding {
        title: title.into(),
        strength: group(&rs),
        shows: format!("{} (against each station's exact null, which allows for small counts and for how much a candidate's share varies between the stations of one commission).", capitalise(&parts.join("; "))),
        can_mean: can.into(),
        cannot_mean: cannot.into(),
        chart: Some(chart),
        see: String::new(),
    })
}

fn anomalous(a: &Analysis) -> Option<Finding> {
    let r = a.nation("shpilkin.anomalous_votes")?;
    let baseline = r.extra.contains_key("raw_anomalous");
    let lo = r.extra.get("ci_low").copied();
    let strength = if !baseline {
        Strength::NotApplicable
    } else if lo.is_some_and(|l| l > 0.0) {
        Strength::Strong
    } else {
        Strength::None
    };
    let ci = match (lo, r.extra.get("ci_high")) {
        (Some(l), Some(h)) => format!(" (95% interval {} to {})", signed(l), signed(*h)),
        _ => String::new(),
    };
    let shows = match r.extra.get("raw_anomalous") {
        Some(raw) => format!(
            "{} votes for the leader beyond what clean elections simulated with this file's regions and commissions give{ci}. Shpilkin's raw figure, which also counts every difference between regions, is {}.",
            signed(r.statistic),
            signed(*raw)
        ),
        None => format!(
            "Shpilkin's raw figure is {} votes, but no clean baseline was computed (calibration off), and clean elections give millions either way: not read as evidence.",
            signed(r.statistic)
        ),
    };
    let fit = a
        .fingerprint
        .as_ref()
        .map(|f| {
            format!(
                " The fingerprint fit puts f_i = {:.3} and f_e = {:.4} (an order of magnitude, not a count; {}).",
                f.fit.f_i,
                f.fit.f_e,
                reading::fingerprint_baselines(a.nation("fingerprint.f_incremental"), a.nation("fingerprint.f_extreme"))
            )
        })
        .unwrap_or_default();
    Some(Finding {
        title: "Votes rising with turnout (anomalous votes)".into(),
        strength,
        shows: format!("{shows}{fit}"),
        can_mean: "Ballots added for the leader where turnout is high (ballot stuffing, rewritten protocols): in simulation the estimate recovers heavy stuffing and extreme fraud within about 6%.".into(),
        cannot_mean: "Fraud spread over whole regions (taken as honest regional difference), votes moved evenly across turnout, or light stuffing in full; an honest tendency of high-turnout stations to favour the leader would also be counted.".into(),
        chart: Some(Chart::Fingerprint),
        see: String::new(),
    })
}

/// Mebane's finite mixture: the fitted shares of incremental and extreme fraud against
/// their clean baselines, and the stations it gives the highest probability. An estimate
/// without a p-value: **strong** when `f_i` or `f_e` lies above every clean replicate,
/// **none** inside their range, not applicable without a baseline.
fn mixture(a: &Analysis) -> Option<Finding> {
    let m = a.mixture.as_ref()?;
    let fi = a.nation("mixture.f_incremental");
    let fe = a.nation("mixture.f_extreme");
    let base = |r: Option<&TestResult>| r.and_then(crate::calibrate::baselines::Baseline::of);
    let (bi, be) = (base(fi), base(fe));
    let strength = match (bi, be) {
        (None, None) => Strength::NotApplicable,
        _ if bi.is_some_and(|b| b.observed > b.high) || be.is_some_and(|b| b.observed > b.high) => Strength::Strong,
        _ => Strength::None,
    };
    let words = |b: Option<crate::calibrate::baselines::Baseline>, f: &dyn Fn(f64) -> String| {
        b.map(|b| format!("clean elections like this file give {} ({} to {})", f(b.median), f(b.low), f(b.high))).unwrap_or_else(|| "no clean baseline".into())
    };
    let ci = |lo_hi: Option<(f64, f64)>, digits: usize| lo_hi.map(|(l, h)| format!(", 95% interval {l:.digits$} to {h:.digits$}")).unwrap_or_default();
    let b = m.bootstrap.as_ref();
    let mut order: Vec<usize> = (0..m.stations.len()).filter(|&i| m.stations[i].is_some()).collect();
    let p = |i: usize| m.stations[i].map(|s| s.p_incremental + s.p_extreme).unwrap_or(0.0);
    order.sort_by(|&x, &y| p(y).total_cmp(&p(x)).then(x.cmp(&y)));
    let e = a.election();
    let top: Vec<String> = order
        .iter()
        .take(5)
        .filter_map(|&i| m.stations[i].map(|s| format!("{} ({})", e.describe(i), crate::rank::mixture_text(&s).trim_start_matches("mixture: "))))
        .collect();
    let high = order.iter().filter(|&&i| p(i) >= 0.9).count();
    Some(Finding {
        title: "Stations the fraud mixture model classes as falsified (Mebane's finite mixture)".into(),
        strength,
        shows: format!(
            "The model puts f_i = {:.3}{} ({}) and f_e = {:.4}{} ({}); {} stations at a probability of fraud of 0.9 or more, about {} votes manufactured and {} stolen in expectation. Highest: {}.",
            m.params.f_i,
            ci(b.map(|b| b.f_i_ci), 3),
            words(bi, &|x| format!("{x:.3}")),
            m.params.f_e,
            ci(b.map(|b| b.f_e_ci), 4),
            words(be, &|x| format!("{x:.4}")),
            thousands(high as u64),
            thousands(m.votes_manufactured.max(0.0).round() as u64),
            thousands(m.votes_stolen.max(0.0).round() as u64),
            if top.is_empty() { "none".to_string() } else { top.join("; ") }
        ),
        can_mean: "Stations whose turnout and leader share sit where ballots added for the leader (incremental) or nearly all non-voters and opponents turned into the leader's votes (extreme) would put them, given the clean spread of their region.".into(),
        cannot_mean: "A count of falsified stations: honest high-turnout, high-share places look the same to the model, and its shares depend on what it takes as clean spread (differences between regions are taken as honest).".into(),
        chart: Some(Chart::Mixture),
        see: "stations.csv (p_incremental, p_extreme, votes_manufactured, votes_stolen), summary.json (mixture)".into(),
    })
}

fn ranking(a: &Analysis) -> Finding {
    let n = a.stations_ranked.len();
    let k = a.stations_ranked.iter().filter(|s| s.flagged).count();
    // the protocol finding reports the broken protocols; this one the statistical flags
    let k_stat = a.stations_ranked.iter().filter(|s| s.flagged_on_statistics(a.flag_threshold)).count();
    let share = if n > 0 { k_stat as f64 / n as f64 } else { 0.0 };
    let strength = if n == 0 {
        Strength::NotApplicable
    } else if share > 0.01 {
        Strength::Strong
    } else if share > 0.003 {
        Strength::Some
    } else {
        Strength::None
    };
    let top = crate::render::commissions::top(&a.commissions, 1);
    let top = top.first().map(|u| format!(" The commission with the most evidence: {} ({} of its {} stations flagged).", u.path.join(" / "), u.flagged, u.stations)).unwrap_or_default();
    Finding {
        title: "Stations and commissions out of line".into(),
        strength,
        shows: format!(
            "{} of {} stations ({}) are flagged by the ranking on statistical evidence; clean simulated elections flag at most about 0.1% (0.00–0.02% measured).{}{top}",
            thousands(k_stat as u64),
            thousands(n as u64),
            pct(share),
            if k > k_stat { format!(" {} more are flagged on broken protocol arithmetic alone (see the protocol finding).", thousands((k - k_stat) as u64)) } else { String::new() }
        ),
        can_mean: "Where to look first: stations whose turnout, shares, digits or protocol depart from their commission, their region and the nation, each reason named.".into(),
        cannot_mean: "That any one station was falsified: honest stations can be unusual, and a flag is a reason to look, not a verdict.".into(),
        chart: Some(Chart::Commissions),
        see: "stations.csv, commissions.csv".into(),
    }
}

fn observed(a: &Analysis) -> Option<Finding> {
    let c = a.observed.as_deref()?;
    let words = crate::compare::words::summary(c, a.election());
    let lines: Vec<&str> = words.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).collect();
    Some(Finding {
        title: "Official results against observers' records".into(),
        strength: if c.discrepancies.is_empty() { Strength::None } else { Strength::Strong },
        shows: lines.join(" "),
        can_mean: "A published figure that differs from the observers' record of the same protocol: the strongest evidence here, station by station.".into(),
        cannot_mean: "Anything about the stations the observers did not cover.".into(),
        chart: None,
        see: "the section \"Official results against observers' records\"".into(),
    })
}

/// The findings, strongest first (not applicable last), each family once.
pub fn findings(a: &Analysis) -> Vec<Finding> {
    let mut f: Vec<Finding> = Vec::new();
    f.extend(observed(a));
    f.push(arithmetic(a));
    f.extend(integer(a));
    f.extend(anomalous(a));
    f.extend(mixture(a));
    f.extend(digits(
        a,
        "digits.last.chi2",
        "Last digits of vote counts",
        Chart::LastDigits,
        "Numbers written by people rather than counted: people favour some final digits (Beber & Scacco 2012).",
        "Ballot stuffing in proportion, which leaves last digits as they are; a clean result does not clear a file.",
    ));
    f.extend(digits(
        a,
        "digits.2bl.chi2",
        "Second digits of vote counts",
        Chart::SecondDigits,
        "A departure of the second digits from what counts of these sizes give, which some manipulations leave (Mebane's 2BL).",
        "Which manipulation it was; honest elections depart from Benford's law, so only the per-station null is read.",
    ));
    f.push(ranking(a));
    // Stable: equal strengths keep the order above.
    f.sort_by_key(|x| x.strength);
    f
}

fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 { format!("{:.2}%", 100.0 * x) } else { format!("{:.1}%", 100.0 * x) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_of_a_group_skips_tests_that_are_not_applicable() {
        let mut a = TestResult::new("digits.last.chi2.pooled", "nation", 60.0, 1000);
        a.p = Some(1e-9);
        let mut b = TestResult::new("digits.last.chi2.X", "nation", 10.0, 1000);
        b.p = Some(0.3);
        assert_eq!(group(&[&a, &b]), Strength::Strong);
        a.calibrated_alpha = Some(0.5);
        assert_eq!(group(&[&a, &b]), Strength::None, "the rejecting test is not applicable: only b is read");
        b.calibrated_alpha = Some(0.4);
        assert_eq!(group(&[&a, &b]), Strength::NotApplicable);
        // Bonferroni over two: p = 0.03 alone is "some", 0.03 × 2 = 0.06 is "none".
        let (mut c, mut d) = (b.clone(), b.clone());
        c.calibrated_alpha = None;
        d.calibrated_alpha = None;
        c.p = Some(0.03);
        assert_eq!(group(&[&c]), Strength::Some);
        assert_eq!(group(&[&c, &d]), Strength::None);
        assert!(Strength::Strong < Strength::Some && Strength::None < Strength::NotApplicable, "sort order: strongest first");
    }
}
