//! Fingerprint speed: the 2-D histogram and one Klimek fit (no bootstrap) on Russia 2018
//! (skipped with a loud message when the file is absent) and on 1,000,000 synthetic stations.
//! Run: `cargo bench --bench fingerprint`.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::path::Path;
use tallyscope::stats::fingerprint::{self, FitOptions, ModelParams, Selection, Stations, Weighting};

fn synthetic(m: usize) -> Stations {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let p = ModelParams { tau: 0.55, sigma_tau: 0.09, nu: 0.5, sigma_nu: 0.1, theta: 0.39, f_i: 0.1, f_e: 0.02, alpha: 2.0 };
    let (mut n, mut b, mut v, mut w) = (vec![], vec![], vec![], vec![]);
    for _ in 0..m {
        let nn: u32 = rng.random_range(100..3000);
        if let Some((t, s, bb)) = fingerprint::simulate_station(&mut rng, nn, &p) {
            n.push(nn);
            b.push(bb as u32);
            v.push(bb as u32);
            w.push((s * bb).round() as u32);
            let _ = t;
        }
    }
    Stations::from_counts(&n, &b, &v, &w, 100)
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("fingerprint");
    g.sample_size(10);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if path.exists() {
        let e = tallyscope::ingest::load(&path, &Default::default()).unwrap().election;
        let st = fingerprint::select(&e, &Selection::default()).unwrap();
        g.bench_function("ru2018/histogram", |b| b.iter(|| fingerprint::station_histogram(black_box(&st), Weighting::Stations, 100)));
        g.bench_function("ru2018/fit", |b| b.iter(|| fingerprint::fit(black_box(&st), &FitOptions::default()).unwrap()));
    } else {
        eprintln!("\n!!!!!! SKIPPED Russia 2018 benches: {} not found !!!!!!\n", path.display());
    }
    let st = synthetic(1_000_000);
    g.bench_function("synthetic_1m/histogram", |b| b.iter(|| fingerprint::station_histogram(black_box(&st), Weighting::Stations, 100)));
    g.bench_function("synthetic_1m/fit", |b| b.iter(|| fingerprint::fit(black_box(&st), &FitOptions::default()).unwrap()));
    g.finish();
}

criterion_group!(fp, benches);
criterion_main!(fp);
