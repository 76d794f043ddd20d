//! `compare` against ground truth (simulated elections with observers' records) and
//! against hand-written join problems (fixtures/compare/).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use tallyscope::compare::{self, Mode, ObservedOptions};
use tallyscope::ingest::{self, Ingested};
use tallyscope::simulate::observers::{self, ObserverKind, Observation};
use tallyscope::simulate::{self, SimConfig, Simulation, col, write};

// ---------- simulated elections, through the library ----------

fn simulate(stations: usize, seed: u64, frauds: &[&str]) -> Simulation {
    let cfg = SimConfig {
        stations,
        seed,
        frauds: frauds.iter().map(|s| s.parse().unwrap()).collect(),
        ..SimConfig::default()
    };
    simulate::simulate(&cfg).unwrap()
}

/// The official file as `analyze` reads it, and the observers' file as `compare` reads it.
fn read_both(sim: &Simulation, obs: &Observation) -> (Ingested, compare::Observed) {
    let mut p = Vec::new();
    write::write_protocols(sim, &mut p).unwrap();
    let ing = ingest::load_bytes("e.csv", p, &ingest::Options::default()).unwrap();
    let mut o = Vec::new();
    observers::write_observed(sim, obs, &mut o).unwrap();
    let observed =
        compare::read::from_bytes("e.observed.csv", &o, b',', None, &ing.election, &ing.report.columns, &ObservedOptions::default())
            .unwrap();
    (ing, observed)
}

fn run(ing: &Ingested, observed: &compare::Observed, mode: Mode, strata: Option<usize>) -> compare::Comparison {
    let j = compare::join::join(&ing.election, observed, false);
    compare::compare(&ing.election, observed, &j, &compare::Options { mode, strata, confidence: 0.95 }).unwrap()
}

/// Official station index → simulator station index (ids are 1-based, in order).
fn sim_index(ing: &Ingested, i: usize) -> usize {
    ing.election.station[i].parse::<usize>().unwrap() - 1
}

#[test]
fn copy_finds_exactly_the_falsified_observed_stations() {
    let sim = simulate(
        10_000,
        11,
        &["transfer:0.03:0.2", "stuffing:0.03:0.3", "integer:0.02:5", "invented:0.01:0.8", "copy:0.005", "arithmetic:0.005:0.05"],
    );
    let obs = observers::observe(&sim, 0.25, ObserverKind::Copy).unwrap();
    let (ing, observed) = read_both(&sim, &obs);
    let c = run(&ing, &observed, Mode::Copy, None);

    assert_eq!(c.join.joined, 2_500);
    assert_eq!(c.join.only_official, 7_500);
    assert!(c.join.only_observed.is_empty() && c.join.duplicate_observed.is_empty() && c.join.near_match_count == 0);
    // Every protocol line and candidate was matched (registered … unaccounted, 5 candidates).
    assert_eq!(c.fields.len(), 9 + 5, "fields: {:?}", c.fields);
    assert!(observed.unmatched.is_empty(), "{:?}", observed.unmatched);

    let falsified: BTreeSet<usize> = obs.stations.iter().copied().filter(|&s| sim.truth[s].fraud.is_some()).collect();
    let found: BTreeSet<usize> = c.stations.iter().filter(|s| s.differing > 0).map(|s| sim_index(&ing, s.station)).collect();
    assert!(falsified.len() > 150, "too few falsified observed stations to mean anything: {}", falsified.len());
    assert_eq!(found, falsified, "copy must find exactly the falsified observed stations");

    // Votes moved, against the truth: A's gain is the sum of (published − true) for A.
    let mut gained_a = 0u64;
    let mut lost_b = 0u64;
    for (t, &s) in obs.stations.iter().enumerate() {
        let d = sim.row(s)[col::FIXED] as i64 - obs.row(t)[col::FIXED] as i64;
        gained_a += d.max(0) as u64;
        let db = sim.row(s)[col::FIXED + 1] as i64 - obs.row(t)[col::FIXED + 1] as i64;
        lost_b += (-db).max(0) as u64;
    }
    assert!(gained_a > 0 && lost_b > 0);
    assert_eq!(c.flows.gained[0], gained_a);
    assert_eq!(c.flows.lost[1], lost_b);
    // Moved from B to A plus B's votes removed to nowhere is all B lost.
    let b_out: f64 = c.flows.moved[1].iter().sum::<f64>() + c.flows.removed[1];
    assert!((b_out - lost_b as f64).abs() < 1e-6 * lost_b as f64 + 1e-6, "{b_out} vs {lost_b}");
    assert_eq!(c.exit_code(), 1);
}

#[test]
fn copy_of_a_clean_election_finds_nothing() {
    let sim = simulate(3_000, 5, &[]);
    let obs = observers::observe(&sim, 0.5, ObserverKind::Copy).unwrap();
    let (ing, observed) = read_both(&sim, &obs);
    let c = run(&ing, &observed, Mode::Copy, None);
    assert_eq!(c.join.joined, 1_500);
    assert!(c.discrepancies.is_empty());
    assert_eq!(c.flows.total, 0);
    assert_eq!(c.cells_compared, 1_500 * 14);
    assert_eq!(c.exit_code(), 0);
}

#[test]
fn minimum_finds_exactly_the_stations_pushed_below_the_confirmed_figure() {
    let sim = simulate(10_000, 12, &["transfer:0.08:0.3", "stuffing:0.05:0.3"]);
    let obs = observers::observe(&sim, 0.3, ObserverKind::Minimum).unwrap();
    let (ing, observed) = read_both(&sim, &obs);
    let c = run(&ing, &observed, Mode::Minimum, None);
    assert_eq!(c.fields.len(), 5, "minimum records carry the candidates only");

    // Ground truth: the official figure is below the confirmed one for some candidate.
    let k = sim.candidates.len();
    let mut expected = BTreeSet::new();
    let mut shortfall = 0u64;
    for (t, &s) in obs.stations.iter().enumerate() {
        let mut below = false;
        for j in 0..k {
            let off = sim.row(s)[col::FIXED + j];
            let conf = obs.row(t)[j];
            if off < conf {
                below = true;
                shortfall += (conf - off) as u64;
            }
        }
        if below {
            // Only a falsified station can be below a bound taken from its true count.
            assert_eq!(sim.truth[s].fraud.map(|f| f.name()), Some("transfer"), "station {s}");
            expected.insert(s);
        }
    }
    let found: BTreeSet<usize> = c.stations.iter().filter(|s| s.differing > 0).map(|s| sim_index(&ing, s.station)).collect();
    assert!(expected.len() > 30, "too few stations below a bound: {}", expected.len());
    assert_eq!(found, expected);
    assert_eq!(c.flows.total, shortfall);
    // Candidate A only gains from a transfer: never below its bound.
    assert_eq!(c.flows.shortfall[0], 0);
    // Stuffing adds votes for A and takes none: no stuffed station is found.
    assert!(found.iter().all(|&s| sim.truth[s].fraud.map(|f| f.name()) != Some("stuffing")));
}

/// True national shares of a simulated election (the clean protocols: here, the official ones).
fn shares(sim: &Simulation) -> Vec<f64> {
    let k = sim.candidates.len();
    let mut t = vec![0u64; k];
    for s in 0..sim.len() {
        for j in 0..k {
            t[j] += sim.row(s)[col::FIXED + j] as u64;
        }
    }
    let all: u64 = t.iter().sum();
    t.iter().map(|&x| x as f64 / all as f64).collect()
}

/// Runs `reps` PVT replicates of `n` stations (simple random, or stratified by region
/// with proportional allocation) and returns how often each candidate's interval covers
/// the true share.
fn coverage(sim: &Simulation, n: usize, reps: usize, stratified: bool) -> Vec<f64> {
    use rand::SeedableRng;
    let k = sim.candidates.len();
    let truth = shares(sim);
    let regions = sim.region_labels.len();
    let stratum: Vec<usize> = (0..sim.len()).map(|s| if stratified { sim.region_of(s) } else { 0 }).collect();
    let n_strata = if stratified { regions } else { 1 };
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_strata];
    for s in 0..sim.len() {
        members[stratum[s]].push(s);
    }
    let sizes: Vec<u64> = members.iter().map(|m| m.len() as u64).collect();
    let mut covered = vec![0usize; k];
    for r in 0..reps {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1_000 + r as u64);
        let mut acc = compare::pvt::Accumulator::new(n_strata, k);
        for (h, m) in members.iter().enumerate() {
            let nh = ((n as f64 * m.len() as f64 / sim.len() as f64).round() as usize).max(2);
            for t in observers::choose(&mut rng, m.len(), nh) {
                let s = m[t];
                acc.add(h, (0..k).map(|j| sim.row(s)[col::FIXED + j]));
            }
        }
        for (j, (est, _, margin)) in acc.finish(&sizes, 0.95).into_iter().enumerate() {
            if (est - truth[j]).abs() <= margin {
                covered[j] += 1;
            }
        }
    }
    covered.iter().map(|&c| c as f64 / reps as f64).collect()
}

#[test]
fn sample_covers_the_true_share_in_about_95_percent_of_200_replicates() {
    let sim = simulate(20_000, 21, &[]);
    let srs = coverage(&sim, 400, 200, false);
    let strat = coverage(&sim, 400, 200, true);
    eprintln!("PVT coverage over 200 replicates of 400 stations, per candidate: simple {srs:?}, stratified by region {strat:?}");
    // 200 replicates at 95%: sd 1.5 pp; the leader's share is the one a PVT is about.
    for cov in [&srs, &strat] {
        assert!((0.91..=0.985).contains(&cov[0]), "leader coverage {cov:?}");
        let mean: f64 = cov.iter().sum::<f64>() / cov.len() as f64;
        assert!((0.92..=0.98).contains(&mean), "mean coverage {mean} ({cov:?})");
    }
}

#[test]
fn sample_flags_a_falsified_national_result_and_not_a_clean_one() {
    // 30% of stations move 30% of every rival's votes to A: ~3 pp nationally.
    let sim = simulate(10_000, 31, &["transfer:0.3:0.3"]);
    let obs = observers::observe(&sim, 0.05, ObserverKind::Sample).unwrap();
    let (ing, observed) = read_both(&sim, &obs);
    let region = ing.election.levels.iter().position(|l| l.name == "region").unwrap();
    for strata in [None, Some(region)] {
        let c = run(&ing, &observed, Mode::Sample, strata);
        let p = c.pvt.as_ref().unwrap();
        assert_eq!(p.sampled, 500);
        assert!(p.flagged(), "{p:?}");
        let a = &p.candidates[0];
        assert!(a.outside_all_candidates && a.official > a.high, "A: {a:?}");
        // The estimate is near the true share (not the official one).
        let truth = shares(&observers_clean(&sim));
        assert!((a.estimate - truth[0]).abs() < 2.5 * a.standard_error, "estimate {} truth {}", a.estimate, truth[0]);
        // The sampled stations that were falsified are listed too.
        let falsified = obs.stations.iter().filter(|&&s| sim.truth[s].fraud.is_some()).count();
        assert_eq!(c.stations_differing(), falsified);
        assert_eq!(c.exit_code(), 1);
    }
    let clean = simulate(10_000, 31, &[]);
    let obs = observers::observe(&clean, 0.05, ObserverKind::Sample).unwrap();
    let (ing, observed) = read_both(&clean, &obs);
    let c = run(&ing, &observed, Mode::Sample, None);
    assert!(!c.pvt.as_ref().unwrap().flagged(), "{:?}", c.pvt);
    assert_eq!(c.exit_code(), 0);
}

/// The clean election of the same configuration (the observers' truth).
fn observers_clean(sim: &Simulation) -> Simulation {
    let cfg = SimConfig { frauds: Vec::new(), ..sim.config.clone() };
    simulate::simulate(&cfg).unwrap()
}

// ---------- hand-written join problems, through the binary ----------

struct Out {
    code: i32,
    stderr: String,
    summary: serde_json::Value,
    discrepancies: String,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/compare").join(name)
}

fn compare_cli(observed: &str, extra: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tallyscope"))
        .arg("compare")
        .arg(fixture("official.csv"))
        .arg(fixture(observed))
        .arg("--out")
        .arg(dir.path())
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary = std::fs::read_to_string(dir.path().join("summary.json"))
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(serde_json::Value::Null);
    let discrepancies = std::fs::read_to_string(dir.path().join("discrepancies.csv")).unwrap_or_default();
    Out { code: out.status.code().unwrap(), stderr, summary, discrepancies }
}

#[test]
fn zero_padded_keys_are_said_and_joined_with_the_flag() {
    let o = compare_cli("observed_padding.csv", &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "2 observed stations match an official station only if zero padding and spaces in keys are ignored, \
             e.g. observed \"001\" (line 2) and official \"1\" (line 2): rerun with --normalise-keys to join them"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(o.summary["join"]["joined"], 2);
    assert_eq!(o.summary["join"]["near_match_count"], 2);
    assert_eq!(o.summary["join"]["only_observed"].as_array().unwrap().len(), 2);

    let o = compare_cli("observed_padding.csv", &["--normalise-keys"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.summary["join"]["joined"], 4);
    assert_eq!(o.summary["join"]["only_observed"].as_array().unwrap().len(), 0);
    assert!(o.stderr.contains("2 stations joined only after normalising keys (zero padding, spaces)"), "{}", o.stderr);
    // Station 4: official Anna Nowak 300, observed 250.
    assert_eq!(
        o.discrepancies,
        "station,region,commission,field,official,observed,difference,official_line,observed_line\n\
         4,North,N-2,Anna Nowak,300,250,50,5,5\n\
         4,North,N-2,Piotr Kowal,150,200,-50,5,5\n"
    );
    assert_eq!(o.summary["flows"][0]["from"], "Piotr Kowal");
    assert_eq!(o.summary["flows"][0]["votes"], 50.0);
}

#[test]
fn duplicate_keys_are_listed_and_left_out() {
    let o = compare_cli("observed_duplicates.csv", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "2 keys appear more than once in the observed file and are not compared: \"2\" (line 3, 4), \"5\" (line 5, 6)"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(o.summary["join"]["joined"], 2); // stations 1 and 6
    assert_eq!(o.summary["join"]["duplicate_observed"][0]["lines"], serde_json::json!([3, 4]));
    // Matched by name ignoring case.
    assert_eq!(o.summary["fields"][0]["observed_columns"][0], "anna nowak");
    assert!(o.stderr.contains("No discrepancy"), "{}", o.stderr);
}

#[test]
fn one_sided_stations_are_counted_and_listed() {
    let o = compare_cli("observed_one_sided.csv", &[]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("2 observed stations have no official station with that key: \"12\" (line 4), \"13\" (line 5)"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("Joined 2 of 4 observed stations with the official file (8 official stations; 6 not observed)."), "{}", o.stderr);
    assert_eq!(o.summary["join"]["only_official"], 6);
    assert_eq!(o.summary["stations_differing"], 1);
    assert!(o.discrepancies.contains("7,South,S-2,Anna Nowak,320,300,20,8,3\n"), "{}", o.discrepancies);
}

#[test]
fn unmatched_columns_are_named_with_why() {
    let o = compare_cli("observed_unmatched.csv", &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("column \"Piotr K.\" not compared: matches no official candidate or protocol line"), "{}", o.stderr);
    assert!(o.stderr.contains("column \"observer\" not compared"), "{}", o.stderr);
    assert!(
        o.stderr.contains("column \"issued_early\" not compared: recognised as issued"),
        "{}",
        o.stderr
    );
    assert_eq!(o.summary["unmatched_columns"].as_array().unwrap().len(), 3);
    // "Valid ballots" is valid by the recognition rules; station 3 has 680 observed, 700 official.
    let fields: Vec<&str> = o.summary["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["Anna Nowak", "valid"]);
    assert!(o.discrepancies.contains("3,North,N-2,valid,700,680,20,4,3\n"), "{}", o.discrepancies);

    // Naming the column fixes it.
    let o = compare_cli("observed_unmatched.csv", &["--observed-column", "Piotr K.=Piotr Kowal", "--observed-column", "observer=ignore"]);
    assert_eq!(o.summary["unmatched_columns"].as_array().unwrap().len(), 1);
    assert_eq!(o.summary["fields"].as_array().unwrap().len(), 3);
}

#[test]
fn negative_and_non_numeric_observed_figures_are_errors_never_coerced() {
    let o = compare_cli("observed_bad_cells.csv", &[]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains(
            "observed_bad_cells.csv:3: column \"Anna Nowak\": value \"-250\": negative count; expected a whole number ≥ 0 \
             (1 more such cells, on lines 4)"
        ),
        "{}",
        o.stderr
    );
    let o = compare_cli("observed_bad_cells.csv", &["--skip-bad-cells"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(":4: column \"Piotr Kowal\": value \"two hundred\": not a number"), "{}", o.stderr);
    assert_eq!(o.summary["bad_cells"].as_array().unwrap().len(), 2);
    // The bad cells are not observed, not zero: 6 cells, 2 left out.
    assert_eq!(o.summary["cells_compared"], 4);
    assert_eq!(o.summary["cells_not_observed"], 2);
}

#[test]
fn minimum_reports_official_below_confirmed_only() {
    let o = compare_cli("observed_minimum.csv", &["--observed-as", "minimum"]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.discrepancies,
        "station,region,commission,field,official,observed,difference,official_line,observed_line\n\
         5,South,S-1,Piotr Kowal,300,320,-20,6,3\n\
         6,South,S-1,Piotr Kowal,250,260,-10,7,4\n"
    );
    assert_eq!(o.summary["votes_moved_total"], 30);
    assert_eq!(o.summary["cells_not_observed"], 1);
    assert!(o.stderr.contains("At least 30 votes must have been taken from candidates"), "{}", o.stderr);
}

#[test]
fn no_key_in_common_is_an_error_naming_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("obs.csv");
    std::fs::write(&p, "precinct code,Anna Nowak\n1,400\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tallyscope"))
        .args(["compare", fixture("official.csv").to_str().unwrap(), p.to_str().unwrap(), "--out"])
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}"); // "precinct code" is recognised as the station id
    assert!(err.contains("station key: official column \"station\" joined with observed column \"precinct code\""), "{err}");

    std::fs::write(&p, "where,Anna Nowak\n1,400\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tallyscope"))
        .args(["compare", fixture("official.csv").to_str().unwrap(), p.to_str().unwrap(), "--out"])
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("cannot find the station key"), "{err}");
    assert!(err.contains("--join station=OBSERVED_COL"), "{err}");
}

// ---------- analyze --observed, through the binary ----------

#[test]
fn analyze_with_observed_ranks_discrepancies_first_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = env!("CARGO_BIN_EXE_tallyscope");
    let st = Command::new(bin)
        .current_dir(d)
        .args(["simulate", "--stations", "2000", "--seed", "4", "-o", "e.csv", "--truth", "t.csv", "--fraud", "transfer:0.05:0.3"])
        .args(["--observers", "0.5", "--observer-kind", "copy"])
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert!(String::from_utf8_lossy(&st.stderr).contains("observers (copy) at 1000 stations: e.observed.csv"));
    let out = Command::new(bin)
        .current_dir(d)
        .args(["analyze", "e.csv", "--observed", "e.observed.csv", "--out", "an", "-q", "--no-calibration", "--no-fingerprint"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("an/observed/summary.json")).unwrap()).unwrap();
    let differing = summary["stations_differing"].as_u64().unwrap() as usize;
    // Ground truth: transferred stations among the observed ones (fraud truth, 1000 observed).
    let truth = std::fs::read_to_string(d.join("t.csv")).unwrap();
    let observed_ids: BTreeSet<String> = std::fs::read_to_string(d.join("e.observed.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().to_string())
        .collect();
    let falsified_observed =
        truth.lines().skip(1).filter(|l| l.contains(",transfer,") && observed_ids.contains(l.split(',').next().unwrap())).count();
    assert!(differing > 20);
    assert_eq!(differing, falsified_observed);
    // The stations in discrepancy head the ranking, each with its reason and columns.
    let stations = std::fs::read_to_string(d.join("an/stations.csv")).unwrap();
    let mut lines = stations.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&head[head.len() - 3..], ["observed_fields_compared", "observed_fields_differing", "observed_votes_moved"]);
    for l in lines.clone().take(differing) {
        assert!(l.contains("votes for Candidate A;") && l.contains("on the observers' copy of the protocol"), "{l}");
        assert!(!l.ends_with(",0,0") && !l.ends_with(",,,"), "{l}");
    }
    // the commissions count those stations among their flagged ones
    let comm = std::fs::read_to_string(d.join("an/commissions.csv")).unwrap();
    let mut rows = comm.lines();
    let col = rows.next().unwrap().split(',').position(|h| h == "flagged").expect("a flagged column");
    let comm_flagged: usize = rows.map(|l| l.split(',').nth(col).unwrap().parse::<usize>().unwrap()).sum();
    assert!(comm_flagged >= differing, "commissions count {comm_flagged} flagged stations, {differing} differ from the observers' copy");
    let after = lines.nth(differing).unwrap();
    assert!(!after.contains("observers' copy"), "{after}");
    let report = std::fs::read_to_string(d.join("an/report.html")).unwrap();
    assert!(report.contains("Official results against observers&#39; records"));
    // and the first lines of the report say it before any statistic
    let top = report.find("Joined 1,000 of 1,000 observed stations").expect("a finding on the observers' records");
    assert!(top < report.find("What this shows").map(|w| report[w..].find("Round percentages").map_or(usize::MAX, |r| w + r)).unwrap_or(usize::MAX), "the observers' finding comes first");
    assert!(top < report.find("The file and what was recognised").unwrap(), "in the summary, before the details");
    assert!(report.contains(&format!("At {differing} of 1,000 joined stations an official figure differs")), "report lacks the count");
}
