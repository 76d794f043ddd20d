//! Finite-mixture speed (issue 23): one fit (4 starts, α fitted, no bootstrap) of 100,000
//! stations drawn from the model itself (f_i 0.1, f_e 0.01), and of Russia 2018 when
//! `../shared/data/ru/2018.csv.zip` is present (skipped with a loud message otherwise):
//! the nation alone (`ru2018/fit`) and what `analyze --mixture` runs (`ru2018/fit_regions`:
//! the nation and its regions with at least 1,000 stations, no bootstrap).
//! Target: 100,000 stations in at most 1 s on the 2-core machine, regions included.
//! Run: `cargo bench --bench mixture -- --quick`.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::path::Path;
use tallyscope::stats::mixture::{self, Data, MixtureOptions, Params};

fn synthetic(m: usize) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n: Vec<u32> = (0..m).map(|_| rng.random_range(100..3000)).collect();
    let p = Params { tau: 0.2, sigma_tau: 0.35, nu: 0.1, sigma_nu: 0.4, f_i: 0.1, f_e: 0.01, theta: 0.25, alpha: 2.0 };
    let d = mixture::draw(&p, &n, 2);
    Data::from_counts(&d.registered, &d.ballots, &d.ballots, &d.winner, 100)
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixture");
    g.sample_size(10);
    let d = synthetic(100_000);
    let o = MixtureOptions::default();
    g.bench_function("synthetic_100k/fit", |b| b.iter(|| mixture::fit(black_box(&d), &o, d.len(), &[]).unwrap()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if path.exists() {
        let e = tallyscope::ingest::load(&path, &Default::default()).unwrap().election;
        let o = MixtureOptions { min_region: 0, ..Default::default() };
        let st = mixture::select(&e, &Default::default()).unwrap();
        g.bench_function("ru2018/fit", |b| b.iter(|| mixture::fit(black_box(&st), &o, e.len(), &[]).unwrap()));
        // as `analyze --mixture` (mixture::analyze): the regions' labels, regions fitted
        let names = e.scope_labels(0);
        let o = MixtureOptions::default();
        g.bench_function("ru2018/fit_regions", |b| b.iter(|| mixture::fit(black_box(&st), &o, e.len(), &names).unwrap()));
    } else {
        eprintln!("\n!!!!!! SKIPPED Russia 2018 bench: {} not found !!!!!!\n", path.display());
    }
    g.finish();
}

criterion_group!(mixture_benches, benches);
criterion_main!(mixture_benches);
