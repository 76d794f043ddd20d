//! Shape and Shpilkin's anomalous-vote estimate on real data and on simulated clean data.

mod common;

use tallyscope::ingest::{self, Options};
use tallyscope::stats::{shape, shpilkin};

fn load(name: &str) -> Option<tallyscope::Election> {
    let p = common::ru_data(name)?;
    Some(ingest::load(&p, &Options::default()).unwrap().election)
}

fn get<'a>(r: &'a [tallyscope::stats::TestResult], test: &str) -> &'a tallyscope::stats::TestResult {
    r.iter().find(|x| x.test == test && x.scope == "nation").unwrap_or_else(|| panic!("no {test}"))
}

#[test]
fn shpilkin_russia_order_of_magnitude() {
    for (name, lo, hi) in [("2018.csv.zip", 5e6, 20e6), ("2012.csv.zip", 5e6, 20e6), ("2011.csv.zip", 5e6, 20e6)] {
        let Some(e) = load(name) else { return };
        let t = std::time::Instant::now();
        let r = shpilkin::run(&e, &shpilkin::ShpilkinOptions::default());
        let a = get(&r, "shpilkin.anomalous_votes");
        eprintln!(
            "{name}: anomalous {:.0} [{:.0}, {:.0}], clean turnout {:.2}, clean share {:.3}, stuffing {:.0}, switching {:.0} ({:?})",
            a.statistic, a.extra["ci_low"], a.extra["ci_high"], a.extra["clean_turnout"], a.extra["clean_leader_share"],
            a.extra["stuffing"], a.extra["switching"], t.elapsed()
        );
        // Press figures for Russian federal elections are in the millions (2018: about 10 M).
        assert!(a.statistic > lo && a.statistic < hi, "{name}: {}", a.statistic);
        assert!(a.extra["ci_low"] < a.statistic && a.statistic < a.extra["ci_high"]);
        assert!(a.extra["clean_turnout"] < a.extra["official_turnout"]);
    }
}

#[test]
fn shape_russia_2018() {
    let Some(e) = load("2018.csv.zip") else { return };
    let r = shape::run(&e, &shape::ShapeOptions::default());
    for x in &r {
        eprintln!("{} = {:.4} p={:?}", x.test, x.statistic, x.p);
    }
    // Turnout and leader share rise together in Russia 2018 (Kobak et al.; Klimek et al.).
    assert!(get(&r, "shape.corr_turnout_share.stations").statistic > 0.4);
    assert!(get(&r, "shape.sobyanin_slope").statistic > 1.0);
    // With ~95k stations the dip test rejects unimodality of the turnout distribution.
    assert!(get(&r, "shape.turnout.dip").p.unwrap() < 0.01);
}
