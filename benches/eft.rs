//! `tallyscope eft` (issue 21): EFToolkit's table with 1,000 bootstrap resamples per unit,
//! on Russia 2018 by region (all leaders) and on 100,000 simulated stations.
//! Reads `../shared/data/ru/2018.csv.zip` (from the repository root) when present and
//! says so on stderr when it is absent. `cargo bench --bench eft`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tallyscope::stats::eft::{self, EftOptions};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("eft");
    g.sample_size(10);
    let sim = tallyscope::simulate::simulate(&tallyscope::simulate::SimConfig::demo(100_000, 1)).unwrap().election();
    g.bench_function("sim100k_region_1000_reps", |b| b.iter(|| eft::run(black_box(&sim), &EftOptions::default()).unwrap()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if path.exists() {
        let e = tallyscope::ingest::load(&path, &tallyscope::ingest::Options::default()).unwrap().election;
        let o = EftOptions::default();
        let a = eft::run(&e, &o).unwrap();
        let b = eft::run(&e, &o).unwrap();
        assert_eq!(format!("{:?}", a.rows), format!("{:?}", b.rows), "same seed, same table");
        g.bench_function("ru2018_region_1000_reps", |b| b.iter(|| eft::run(black_box(&e), &o).unwrap()));
    } else {
        eprintln!("*** {} absent: Russia 2018 bench skipped (synthetic only) ***", path.display());
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
