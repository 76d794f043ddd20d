//! Issue 23: Mebane's finite mixture on the simulator's elections (calibration of the
//! per-station probabilities, clean elections) and on Russia 2011 (the published
//! Mebane–Kalinin and Klimek figures beside it). Recovery on data drawn from the model
//! itself is in the unit tests (`src/stats/mixture/tests.rs`, the recovery table).

mod common;

use tallyscope::simulate::{self, SimConfig};
use tallyscope::stats::fingerprint::Selection;
use tallyscope::stats::mixture::{self, MixtureOptions, MixtureResult};

fn sim(stations: usize, seed: u64, specs: &[&str]) -> simulate::Simulation {
    let frauds = specs.iter().map(|s| s.parse().expect("valid spec")).collect();
    simulate::simulate(&SimConfig { stations, seed, frauds, ..SimConfig::default() }).expect("simulation")
}

fn fit(s: &simulate::Simulation) -> MixtureResult {
    let t = std::time::Instant::now();
    let r = mixture::analyze(&s.election(), &Selection::default(), &MixtureOptions::default()).expect("fit");
    eprintln!(
        "  fit: f_i {:.4} f_e {:.4} alpha {:.2} theta {:.3} ({} E-steps, converged {}, {:.2} s, {} regions)",
        r.params.f_i,
        r.params.f_e,
        r.params.alpha,
        r.params.theta,
        r.iterations,
        r.converged,
        t.elapsed().as_secs_f64(),
        r.regions.len()
    );
    r
}

/// Clean simulated elections (nested logit-normal region, commission and station effects,
/// binomial counts): f_i and f_e near zero, and few stations with a high posterior.
/// Measured (seeds 1–3, 30,000 stations): see the printout.
#[test]
fn clean_simulated_elections_give_no_fraud() {
    for seed in 1..=3u64 {
        let s = sim(30_000, seed, &[]);
        let r = fit(&s);
        let high = r.stations.iter().flatten().filter(|p| p.p_incremental + p.p_extreme >= 0.8).count();
        eprintln!("clean seed {seed}: {high} stations at P >= 0.8");
        assert!(r.converged);
        assert!(r.params.f_i < 0.05, "seed {seed}: f_i {}", r.params.f_i);
        assert!(r.params.f_e < 0.001, "seed {seed}: f_e {}", r.params.f_e);
        assert!((high as f64) < 0.002 * r.n as f64, "seed {seed}: {high}");
    }
}

/// Calibration of the posterior: stations binned by P(incremental) + P(extreme), the
/// share truly falsified per bin (pooled over seeds 1–3, 30,000 stations each), on the
/// simulator's stuffing (a fixed fraction of the non-voters stuffed for the leader: the
/// model's manufactured votes with nothing stolen) with extreme fraud, and stuffing alone.
/// Measured (stuffing:0.1:0.4 + extreme:0.01:0.95; f_i fitted 0.22–0.24 for a true 0.10):
///
/// | P | 0–.1 | .1–.2 | .2–.3 | .3–.4 | .4–.5 | .5–.6 | .6–.7 | .7–.8 | .8–.9 | .9–1 |
/// | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
/// | falsified | 0.000 | 0.002 | 0.023 | 0.090 | 0.192 | 0.337 | 0.502 | 0.660 | 0.819 | 0.954 |
///
/// The high bins are calibrated; below 0.6 the posterior overstates (the simulator's
/// stuffing is one fixed magnitude and steals nothing, the model's a half-normal with
/// stolen votes, and `f_i` comes out about twice the truth). Asserted: the 0.8–0.9 bin in
/// [0.7, 0.95], the 0.9–1 bin at least 0.85, each bin from 0.7 on within 0.1 of its
/// midpoint, and the shares rising from bin to bin.
#[test]
fn posterior_is_calibrated_on_simulated_fraud() {
    for specs in [&["stuffing:0.1:0.4", "extreme:0.01:0.95"][..], &["stuffing:0.05:0.3"][..]] {
        let mut bins = [(0usize, 0usize); 10];
        for seed in 1..=3u64 {
            let s = sim(30_000, seed, specs);
            let r = fit(&s);
            for (i, p) in r.stations.iter().enumerate() {
                let Some(p) = p else { continue };
                let b = (((p.p_incremental + p.p_extreme) as f64 * 10.0) as usize).min(9);
                bins[b].0 += 1;
                bins[b].1 += usize::from(s.truth[i].fraud.is_some());
            }
        }
        eprintln!("{specs:?}: bin, stations, share falsified");
        for (b, (n, pos)) in bins.iter().enumerate() {
            let share = if *n > 0 { *pos as f64 / *n as f64 } else { f64::NAN };
            eprintln!("  {:.1}-{:.1}: {n:>6} {share:.3}", b as f64 / 10.0, (b + 1) as f64 / 10.0);
        }
        let share = |b: usize| bins[b].1 as f64 / bins[b].0.max(1) as f64;
        for b in 7..10 {
            if bins[b].0 >= 100 {
                assert!((share(b) - (b as f64 + 0.5) / 10.0).abs() <= 0.1, "{specs:?} bin {b}: {}", share(b));
            }
        }
        for b in 1..10 {
            if bins[b].0 >= 100 && bins[b - 1].0 >= 100 {
                assert!(share(b) > share(b - 1), "{specs:?}: bin {b} {} not above bin {} {}", share(b), b - 1, share(b - 1));
            }
        }
        if bins[8].0 >= 100 {
            assert!((0.7..=0.95).contains(&share(8)), "{specs:?}: 0.8-0.9 bin {}", share(8));
        }
        if bins[9].0 >= 100 {
            assert!(share(9) >= 0.85, "{specs:?}: 0.9-1 bin {}", share(9));
        }
    }
}

/// Russia 2011 (State Duma): the fit beside Mebane–Kalinin's published f_i ≈ 0.12,
/// f_e ≈ 0.003 and the Klimek fit's f_i ≈ 0.64. Printed, and asserted only loosely (the
/// three are different models; see the module docs and the closing note).
#[test]
fn russia_2011() {
    let Some(p) = common::ru_data("2011.csv.zip") else { return };
    let e = tallyscope::ingest::load(&p, &Default::default()).expect("loads").election;
    let t = std::time::Instant::now();
    let r = mixture::analyze(&e, &Selection::default(), &MixtureOptions { bootstrap: 9, ..Default::default() }).expect("fit");
    let b = r.bootstrap.as_ref().unwrap();
    eprintln!(
        "Russia 2011: {} stations, f_i {:.4} [{:.4}, {:.4}], f_e {:.4} [{:.4}, {:.4}], alpha {:.2} [{:.2}, {:.2}], theta {:.3}, clean logit turnout N({:.3}, {:.3}) share N({:.3}, {:.3}); {} E-steps, converged {}, {:.1} s; manufactured {:.0}, stolen {:.0}",
        r.n, r.params.f_i, b.f_i_ci.0, b.f_i_ci.1, r.params.f_e, b.f_e_ci.0, b.f_e_ci.1, r.params.alpha, b.alpha_ci.0, b.alpha_ci.1, r.params.theta,
        r.params.tau, r.params.sigma_tau, r.params.nu, r.params.sigma_nu, r.iterations, r.converged, t.elapsed().as_secs_f64(), r.votes_manufactured, r.votes_stolen
    );
    for rf in r.regions.iter().take(100) {
        eprintln!("  {}: n {} f_i {:.3} f_e {:.4}", rf.region, rf.n, rf.params.f_i, rf.params.f_e);
    }
    assert!(r.params.f_i > 0.05 && r.params.f_i < 0.95, "f_i {}", r.params.f_i);
    assert!(r.params.f_e > 0.0005 && r.params.f_e < 0.1, "f_e {}", r.params.f_e);
}
