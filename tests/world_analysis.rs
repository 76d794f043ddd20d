//! The whole analysis on real clean elections (Poland 2020, both rounds, read with no
//! flags from `../shared/data/world/`): no false alarms. A clean election's stations are
//! not flagged en masse, no applicable nation-level test rejects at p < 0.001, and at
//! most 5% of regions reject any test at q < 0.05. "Applicable" is the inline
//! calibration's verdict on clean replicates of the file (40 replicates here).

mod common;

use common::world_data;
use tallyscope::analysis::{self, Options};
use tallyscope::ingest;

fn analyse(name: &str) -> Option<analysis::Analysis> {
    let p = world_data(name)?;
    let ing = ingest::load(&p, &ingest::Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    Some(analysis::run(ing, &Options { calibration_reps: 40, fingerprint: false, ..Default::default() }))
}

#[test]
fn poland_2020_raises_no_false_alarms() {
    for round in ["round1", "round2"] {
        let Some(a) = analyse(&format!("poland-2020-pres/{round}-wyniki_gl_na_kand_po_obwodach_utf8.csv.zip")) else { return };
        // Flagged on statistical evidence: a broken protocol (arithmetic beyond a counting
        // slip) is a fact that `check` reports, not a statistical alarm, so it is counted
        // apart (stations.csv lists it as "broken: …" among the reasons, and a station
        // flagged by it alone has less than the threshold left without it). The PKW's own
        // figures break the ballot balance by more than a slip at about 0.5% of stations.
        // The issue asks at most 0.5% flagged on statistical evidence. Measured: round 1
        // 74 of 27,225 (0.27%), round 2 31 of 27,227 (0.11%), since the peer looks count
        // once and stations inherit their commission's displacement through its q-value
        // (before: 111, 0.41%, and 57, 0.21%; and before a station's departure from the
        // nation counted only when stations of its size depart too: 145 and 117).
        let flagged = a.stations_ranked.iter().filter(|s| s.flagged_on_statistics(a.flag_threshold)).count();
        eprintln!("{round}: {flagged} of {} stations flagged on statistical evidence", a.stations);
        assert!(
            flagged as f64 <= 0.005 * a.stations as f64,
            "{round}: {flagged} of {} stations flagged on statistical evidence (at most 0.5% on a clean election)",
            a.stations
        );
        let all = a.stations_ranked.iter().filter(|s| s.flagged).count();
        assert!(all as f64 <= 0.012 * a.stations as f64, "{round}: {all} flagged in all");
        // The report's ranking finding counts the same statistical flags and names the
        // protocol-only ones apart, so a clean election does not read as an alarm (round 2:
        // "31 of 27,227 … on statistical evidence … 140 more … on broken protocol
        // arithmetic alone", strength none).
        let f = tallyscope::report::findings::findings(&a).into_iter().find(|f| f.title == "Stations and commissions out of line").expect("ranking finding");
        let n = |k: usize| k.to_string().as_bytes().rchunks(3).rev().map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(",");
        assert!(f.shows.starts_with(&format!("{} of {} stations", n(flagged), n(a.stations))), "{round}: {}", f.shows);
        assert!(f.shows.contains("on statistical evidence") && (all == flagged || f.shows.contains(&format!("{} more are flagged on broken protocol arithmetic alone", n(all - flagged)))), "{round}: {}", f.shows);
        assert_eq!(f.strength, tallyscope::report::findings::Strength::None, "{round}: {}", f.shows);
        // Shpilkin's anomalous votes carry their clean-replicate baseline in the same
        // columns as the other estimates (tests.csv, summary.json, the report's reading),
        // on the adjusted scale: the replicates' own estimates minus their mean.
        let r = a.nation("shpilkin.anomalous_votes").expect("Shpilkin's estimate");
        let b = tallyscope::calibrate::baselines::Baseline::of(r).unwrap_or_else(|| panic!("{round}: Shpilkin's estimate has no baseline columns"));
        assert!(b.replicates >= 10 && b.low <= b.median && b.median <= b.high && b.low < 0.0 && b.high > 0.0, "{round}: {b:?}");
        assert_eq!(b.observed, r.statistic);
        let applicable = |r: &tallyscope::stats::TestResult, level: &str| {
            a.calibration.as_ref().is_none_or(|c| !c.not_applicable(&r.test, level))
        };
        let rejecting: Vec<String> = a
            .results
            .iter()
            .filter(|r| r.scope == "nation" && r.p.is_some_and(|p| p < 0.001) && applicable(r, "nation"))
            .map(|r| format!("{} p = {:.2e}", r.test, r.p.unwrap()))
            .collect();
        assert!(rejecting.is_empty(), "{round}: applicable nation-level tests rejecting at p < 0.001: {rejecting:?}");
        // Region-level results: the share of (test, region) pairs rejecting at q < 0.05
        // (each test's q is BH over its regions) among applicable tests.
        let regional: Vec<&tallyscope::stats::TestResult> =
            a.results.iter().filter(|r| r.scope.starts_with("region:") && r.q.is_some() && applicable(r, "region")).collect();
        let rejecting: Vec<String> =
            regional.iter().filter(|r| r.q.is_some_and(|q| q < 0.05)).map(|r| format!("{} {}", r.test, r.scope)).collect();
        assert!(
            rejecting.len() as f64 <= 0.05 * regional.len() as f64,
            "{round}: {} of {} region-level results reject at q < 0.05: {rejecting:?}",
            rejecting.len(),
            regional.len()
        );
    }
}
