//! Real files of other countries (`../shared/data/world/`, see its README and each
//! folder's SOURCE.txt), read with no flags as a new user would: what was recognised,
//! and the protocol checks on clean elections. The expected totals are the SOURCE
//! notes' own figures (checked there against the commissions' published results).

mod common;

use common::world_data;
use tallyscope::checks;
use tallyscope::ingest::{self, Ingested, Options};
use tallyscope::model::{Role, Special};

fn load(name: &str) -> Option<Ingested> {
    let p = world_data(name)?;
    Some(ingest::load(&p, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}")))
}

/// The column each role came from, by header.
fn cols(ing: &Ingested, used_as: &str) -> Vec<String> {
    ing.report.columns.iter().filter(|c| c.used_as == used_as).map(|c| c.name.clone()).collect()
}

fn share(ing: &Ingested, name: &str) -> f64 {
    let t = ing.election.candidate_totals();
    let j = ing.election.candidates.iter().position(|c| c == name).unwrap_or_else(|| panic!("no candidate {name}"));
    100.0 * t[j] as f64 / t.iter().sum::<u64>() as f64
}

#[test]
fn poland_2020_both_rounds_read_with_no_flags() {
    for (round, cands) in [
        ("round1-wyniki_gl_na_kand_po_obwodach_utf8.csv.zip", 11usize),
        ("round2-wyniki_gl_na_kand_po_obwodach_utf8.csv.zip", 2),
    ] {
        let Some(ing) = load(&format!("poland-2020-pres/{round}")) else { return };
        let e = &ing.election;
        assert_eq!(e.candidates.len(), cands, "{round}: {:?}", e.candidates);
        assert!(e.candidates.iter().all(|c| c.chars().any(|ch| ch.is_uppercase()) && !c.starts_with("Liczba") && !c.starts_with("Kod")));
        assert_eq!(cols(&ing, "registered"), ["Liczba wyborców uprawnionych do głosowania"]);
        assert_eq!(cols(&ing, "issued"), ["Liczba wyborców, którym wydano karty do głosowania", "Liczba wyborców, którym wysłano pakiety wyborcze"]);
        assert_eq!(cols(&ing, "in_boxes"), ["Liczba kart wyjętych z urny"]);
        assert_eq!(cols(&ing, "invalid"), ["Liczba kart nieważnych", "Liczba głosów nieważnych"]);
        assert_eq!(cols(&ing, "valid"), ["Liczba głosów ważnych oddanych łącznie na wszystkich kandydatów"]);
        assert_eq!(cols(&ing, "received"), ["Komisje obwodowe otrzymały kart do głosowania"]);
        assert_eq!(cols(&ing, "cancelled"), ["Nie wykorzystano kart do głosowania"]);
        assert!(e.issued_postal.is_some());
        // Hierarchy: voivodeship > OKW > powiat > gmina, station number within.
        let levels: Vec<&str> = e.levels.iter().map(|l| l.column.as_str()).collect();
        assert_eq!(levels, ["Województwo", "Nr OKW", "Powiat", "Gmina"]);
        assert_eq!(e.levels[0].n_units(), 16);
        // The 4 rows of '-' are unpublished protocols (bases abroad), not errors.
        assert_eq!(ing.report.rows_unpublished, 4);
        // Special stations from "Typ obwodu": abroad, hospitals, care homes, prisons, ships.
        let count = |k: Special| e.special.iter().filter(|s| **s == Some(k)).count();
        assert!(count(Special::Abroad) >= 160, "abroad {}", count(Special::Abroad));
        assert!(count(Special::Institution) > 1_500, "institutions {}", count(Special::Institution));
        assert!((5..=8).contains(&count(Special::Ship)), "ships {}", count(Special::Ship));
        // No identity violation: station numbers restart in every gmina.
        let rep = checks::run(e);
        assert_eq!(rep.count(checks::Rule::DuplicateId), 0);
        let sum = rep.summary();
        // Published discrepancies of 1–2 ballots are common in the PKW data (counting
        // slips); beyond that, fewer than 1% of stations break a rule.
        let beyond = sum.stations_with_violations - sum.stations_with_slips_only;
        assert!((beyond as f64) < 0.01 * e.len() as f64, "{round}: {beyond} of {} stations break a rule by more than 2 ballots", e.len());
        assert_eq!(rep.count(checks::Rule::ValidPlusInvalid), 0, "V + I = C holds with both invalid lines summed");
        assert_eq!(rep.count(checks::Rule::VotesSumValid), 0);
        assert_eq!(rep.count(checks::Rule::IssuedLeRegistered), 0);
    }
    // Official result of round 2 (PKW): Duda 51.03%, Trzaskowski 48.97%.
    if let Some(ing) = load("poland-2020-pres/round2-wyniki_gl_na_kand_po_obwodach_utf8.csv.zip") {
        assert!((share(&ing, "Andrzej Sebastian DUDA") - 51.03).abs() < 0.01);
    }
}

#[test]
fn georgia_files_read_with_no_flags() {
    for (file, n, leader, leader_share) in [
        ("2012_official_party_list.csv.zip", 3_696, "41 “ბიძინა ივანიშვილი – ქართული ოცნება”", 54.97),
        ("2013_official_pres.csv.zip", 3_707, "41 - Giorgi Margvelashvili", 62.12),
        ("2016_official_parl_party.csv.zip", 3_668, "41 - Georgian Dream", 48.68),
    ] {
        let Some(ing) = load(&format!("georgia-cec/{file}")) else { return };
        let e = &ing.election;
        assert_eq!(e.len() + ing.report.rows_unpublished as usize, n, "{file}");
        assert!((share(&ing, leader) - leader_share).abs() < 0.01, "{file}: {}", share(&ing, leader));
        // Registered = main list + special list; ballots signed for = issued.
        assert_eq!(cols(&ing, "registered").len(), 2, "{file}");
        assert!(e.has(Role::Registered) && e.has(Role::Issued) && e.has(Role::Invalid), "{file}");
        // No snapshot, check or id column among the candidates: they are numbered lists.
        assert!(e.candidates.iter().all(|c| c.chars().next().is_some_and(|ch| ch.is_ascii_digit())), "{file}: {:?}", e.candidates);
        // Empty columns (region, district name, often valid votes) are dropped, not levels.
        assert_eq!(e.levels.len(), 1, "{file}: {:?}", e.levels.iter().map(|l| &l.column).collect::<Vec<_>>());
        assert!(ing.report.dropped_columns.iter().any(|d| d.contains("empty on every row")) || e.has(Role::Valid));
    }
    if let Some(ing) = load("georgia-cec/2013_official_pres.csv.zip") {
        let rep = checks::run(&ing.election);
        let sum = rep.summary();
        assert!((sum.stations_with_violations as f64) < 0.01 * ing.election.len() as f64, "{sum}");
        assert_eq!(rep.count(checks::Rule::DuplicateId), 0);
    }
}

#[test]
fn uganda_and_albania_read_with_no_flags() {
    let Some(ing) = load("uganda-uedp/uganda_2021_pres_by_station.csv.zip") else { return };
    let e = &ing.election;
    assert_eq!(e.candidates.len(), 11, "{:?}", e.candidates);
    assert!(!e.candidates.iter().any(|c| c.starts_with("column") || c.contains("Reg") || c.contains("Votes")));
    assert_eq!(cols(&ing, "registered"), ["Reg.Voters"]);
    assert_eq!(cols(&ing, "valid"), ["Valid Votes"]);
    assert_eq!(cols(&ing, "invalid"), ["Invalid Votes"]);
    let levels: Vec<&str> = e.levels.iter().map(|l| l.column.as_str()).collect();
    assert_eq!(levels, ["District", "Constituency", "Subcounty", "Parish"]);
    assert_eq!(e.total(Role::Registered), Some(18_103_603));

    let Some(ing) = load("uganda-uedp/uganda_2016_pres_by_station.csv.zip") else { return };
    let e = &ing.election;
    assert_eq!(e.candidates.len(), 8, "{:?}", e.candidates);
    assert_eq!(cols(&ing, "station"), ["Stn_no_2016"]);
    assert_eq!(cols(&ing, "station_name"), ["Station_string_2016"]);
    assert_eq!(e.levels.len(), 4);
    assert!(checks::run(e).count(checks::Rule::DuplicateId) == 0);

    let Some(ing) = load("uganda-uedp/uganda_2011_pres_by_station.csv.zip") else { return };
    assert_eq!(ing.election.candidates.len(), 8, "{:?}", ing.election.candidates);
    assert_eq!(cols(&ing, "cancelled"), ["SPOILT"]);
    assert_eq!(cols(&ing, "invalid"), ["INVALID"]);

    let Some(ing) = load("uganda-uedp/uganda_2021_nullified_stations.csv.zip") else { return };
    assert_eq!(ing.election.len(), 83);
    assert_eq!(cols(&ing, "registered"), ["VOTERS"]);
    assert!(ing.election.candidates.is_empty());

    // Albania 2013 (EFToolkit's example): unnamed row index, NA cells, 66 party columns.
    let Some(ing) = load("albania-parl2013/Albania2013.csv.zip") else { return };
    let e = &ing.election;
    assert_eq!(e.len(), 5_508);
    assert_eq!(e.candidates.len(), 66);
    assert!(e.candidates.iter().all(|c| c.starts_with('C')));
    assert_eq!(cols(&ing, "registered"), ["Registered"]);
    assert_eq!(cols(&ing, "in_boxes"), ["Ballots"]);
    assert_eq!(e.levels[0].column, "Prefectures");
    assert_eq!(e.levels[0].n_units(), 12);
    // SOURCE.txt: PS 41.59%, PD 30.80% of party votes.
    assert!((share(&ing, "C035") - 41.59).abs() < 0.01);
}
