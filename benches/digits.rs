//! Digit tests on Russia 2018 (when present) and on 1,000,000 synthetic stations.
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tallyscope::stats::digits::sim::{SimOptions, generate};
use tallyscope::stats::digits::*;

fn fast() -> DigitOptions {
    DigitOptions { resample: ResampleOptions { draws: 0, ..Default::default() }, regions: false, ..Default::default() }
}

fn bench(c: &mut Criterion) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if p.exists() {
        let e = tallyscope::ingest::load(&p, &tallyscope::ingest::Options::default()).unwrap().election;
        c.bench_function("digits/2018/nation", |b| b.iter(|| analyze(&e, &fast()).unwrap()));
        // the exact per-station nulls alone (one binomial walk per station and count)
        let focus = e.leader().unwrap_or(0);
        c.bench_function("digits/2018/exact_nulls", |b| b.iter(|| exact_election(&e, focus, 10, 100, DigitNull::BetaBinomial)));
        c.bench_function("digits/2018/exact_nulls_plugin", |b| b.iter(|| exact_election(&e, focus, 10, 100, DigitNull::Plugin)));
        c.bench_function("digits/2018/nation+regions", |b| b.iter(|| analyze(&e, &DigitOptions { regions: true, ..fast() }).unwrap()));
        let mut g = c.benchmark_group("digits/2018/resampled");
        g.sample_size(10);
        g.bench_function("2bl_B499_nation", |b| b.iter(|| analyze(&e, &DigitOptions { regions: false, ..Default::default() }).unwrap()));
        g.finish();
    } else {
        eprintln!("*** digits bench: {} absent, 2018 benches SKIPPED ***", p.display());
    }
    let (e, _) = generate(&SimOptions { stations: 1_000_000, seed: 3, ..Default::default() });
    let mut g = c.benchmark_group("digits/synthetic_1M");
    g.sample_size(10);
    g.bench_function("nation", |b| b.iter(|| analyze(&e, &fast()).unwrap()));
    g.bench_function("nation+regions", |b| b.iter(|| analyze(&e, &DigitOptions { regions: true, ..fast() }).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
