//! Ranking quality on simulated elections with ground truth (issue 5), through the
//! full analysis path.

use std::sync::Arc;
use tallyscope::analysis;
use tallyscope::rank::{self, roc_auc};
use tallyscope::simulate::{self, SimConfig};

fn run(specs: &[&str], stations: usize, seed: u64) -> (Vec<rank::StationScore>, simulate::Simulation) {
    let cfg = SimConfig {
        stations,
        seed,
        frauds: specs.iter().map(|s| s.parse().unwrap()).collect(),
        ..SimConfig::default()
    };
    let sim = simulate::simulate(&cfg).unwrap();
    // The full analysis path, so the integer test's per-station evidence is included.
    let opt = analysis::Options { fingerprint: false, bootstrap: 0, digit_draws: 0, ..Default::default() };
    let a = analysis::run_election(Arc::new(sim.election()), Default::default(), &opt);
    (a.stations_ranked, sim)
}

#[test]
fn clean_flag_rate() {
    let mut flagged = 0;
    let mut total = 0;
    let mut all: Vec<f64> = Vec::new();
    for seed in 1..=4 {
        let (s, _) = run(&[], 50_000, seed);
        flagged += s.iter().filter(|x| x.flagged).count();
        total += s.len();
        all.extend(s.iter().map(|x| x.score));
    }
    all.sort_by(f64::total_cmp);
    let q = |p: f64| all[(p * (all.len() - 1) as f64) as usize];
    eprintln!("clean: flagged {flagged} of {total}; score quantiles 0.99 {:.2} 0.995 {:.2} 0.999 {:.2} 0.9999 {:.2}", q(0.99), q(0.995), q(0.999), q(0.9999));
    let rate = flagged as f64 / total as f64;
    // At most 0.2% of a clean election's stations flagged. Measured 0.0115% since a
    // station's departure from the nation counts only beyond 2 points
    // (NATION_BASELINE_POINTS: on Poland 2020's first round the nation's east-west
    // divide alone flagged 136 clean stations at 0); it was about 0.1% before.
    assert!(rate <= 0.002, "clean flagged rate {rate}");
}

#[test]
fn auc_per_kind() {
    // Measured 0.912 for stuffing since commissions are measured against the clean side
    // of their region (0.932 before; 0.95+ before stations carried their commission's
    // displacement at all): chance points of a clean station's commission add to every
    // score, the price of finding commissions falsified at 0.4-0.5 of the stations
    // (transfer-commissions:0.5 AUC 0.57-0.61 -> 0.74-0.76, rank_references).
    for (spec, min_auc) in [
        ("stuffing:0.05:0.3", 0.90),
        ("extreme:0.01:0.95", 0.95),
        // Landings weighed above a one-in-ten baseline (rank::INTEGER_BASELINE_POINTS):
        // measured 0.869 here (0.929 before the commission and nation evidence; 0.84 when
        // only landings with p < 0.01 counted).
        ("integer:0.02:5", 0.85),
        ("arithmetic:0.01:0.05", 0.99),
        ("copy:0.01", 0.99),
    ] {
        let (s, sim) = run(&[spec], 40_000, 7);
        let truth: Vec<bool> = sim.truth.iter().map(|t| t.fraud.is_some()).collect();
        let score: Vec<f64> = s.iter().map(|x| x.score).collect();
        let auc = roc_auc(&score, &truth);
        let k = s.len() / 100;
        let top = rank::order(&s);
        let prec = top[..k].iter().filter(|&&i| truth[i]).count() as f64 / k as f64;
        eprintln!("{spec}: AUC {auc:.4}, precision@1% {prec:.3}, positives {}", truth.iter().filter(|&&t| t).count());
        assert!(auc >= min_auc, "{spec}: AUC {auc}");
    }
}



/// Commission ranking (issue 5): fraud concentrated in 3 of 200 commissions puts those 3
/// in the top 5 of the commission list, for five seeds and four kinds of fraud. The three
/// are picked among commissions of 30 stations or more (the simulator's commissions range
/// from under 10 to over 100 stations; 30% of a 9-station commission is 3 stations, which
/// no commission-level evidence can tell from chance).
///
/// Measured and not asserted (run with `TS_KINDS=... TS_NOASSERT=1` to see the ranks):
/// `integer:0.3:5` puts one of the 15 at rank 8 (9 rounded stations of 31), and
/// `stuffing:0.5:0.3` (half the stations, +12 points of turnout) 14 of 15 in the top 5 and
/// one at rank 30; `integer:0.3:1` four of 15 outside the top 5 (ranks 6, 8, 12, 17); stuffing of *every* station of a
/// commission at intensity 0.3 ranked them 2nd–74th before the commission's displacement
/// was measured against the nation as well as its region (rank::displacement; see
/// tests/rank_references.rs for whole-commission scenarios); `transfer:0.5:0.2`
/// (turnout unchanged) ranked them anywhere (2nd–158th).
#[test]
fn concentrated_fraud_tops_the_commission_list() {
    let kinds = std::env::var("TS_KINDS").unwrap_or_else(|_| "stuffing:0.3:0.6,extreme:0.3:0.95,integer:0.5:5,copy:0.3".into());
    let verbose = std::env::var("TS_VERBOSE").is_ok();
    for seed in 11..=15u64 {
        // 10 regions × 20 commissions, 8,000 stations (about 40 per commission).
        let base = SimConfig { stations: 8_000, regions: 10, commissions_per_region: Some(20), seed, ..SimConfig::default() };
        let clean = simulate::simulate(&base).unwrap().election();
        let l = clean.levels.last().unwrap();
        let mut size = vec![0usize; l.n_units()];
        for &c in &l.code {
            size[c as usize] += 1;
        }
        assert_eq!(size.len(), 200);
        let targets: Vec<String> = [27usize, 93, 158]
            .iter()
            .map(|&start| {
                let c = (start..start + 200).map(|c| c % 200).find(|&c| size[c] >= 30).unwrap();
                l.labels[c].clone()
            })
            .collect();
        for kind in kinds.split(',') {
            let frauds = targets.iter().map(|c| format!("{kind}@commission={c}").parse().unwrap()).collect();
            let sim = simulate::simulate(&SimConfig { frauds, ..base.clone() }).unwrap();
            let injected = sim.truth.iter().filter(|t| t.fraud.is_some()).count();
            assert!(injected >= 3 * 9, "{kind}: only {injected} stations altered");
            let opt = analysis::Options { fingerprint: false, bootstrap: 0, digit_draws: 0, ..Default::default() };
            let a = analysis::run_election(Arc::new(sim.election()), Default::default(), &opt);
            let list = rank::units::sorted(&a.commissions);
            let pos: Vec<usize> = targets.iter().map(|t| list.iter().position(|u| u.path.last().unwrap() == t).unwrap() + 1).collect();
            eprintln!(
                "{kind} seed {seed}: the 3 at ranks {pos:?} of {}; top scores {:?}",
                list.len(),
                list.iter().take(6).map(|u| (u.score * 10.0).round() / 10.0).collect::<Vec<_>>()
            );
            if verbose {
                for u in list.iter().take(6) {
                    eprintln!("   {:.1} {} {}", u.score, u.path.last().unwrap(), u.reasons());
                }
                for t in &targets {
                    let u = list.iter().find(|u| u.path.last().unwrap() == t).unwrap();
                    eprintln!(" * {:.1} {t} {:?}", u.score, u.evidence.iter().map(|e| format!("{} {:.2}: {}", e.name, e.points, e.text)).collect::<Vec<_>>());
                }
            }
            if std::env::var("TS_NOASSERT").is_err() {
                for (t, p) in targets.iter().zip(&pos) {
                    assert!(*p <= 5, "{kind} seed {seed}: {t} ranked {p}, not in the top 5");
                }
            }
        }
    }
}
