//! Integer-percentage test: the exact null on Russia 2018 (when ../shared/data/ru is
//! present) and on 1,000,000 synthetic stations. `cargo bench --bench integer`.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tallyscope::stats::integer::{IntegerOptions, Synthetic, analyze, run};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("integer");
    g.sample_size(20);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if path.exists() {
        let e = tallyscope::ingest::load(&path, &tallyscope::ingest::Options::default()).unwrap().election;
        let full = IntegerOptions::default();
        let nation = IntegerOptions { regions: false, commissions: false, weighted: false, ..Default::default() };
        g.bench_function("ru2018_nation", |b| b.iter(|| analyze(&e, &nation).unwrap()));
        g.bench_function("ru2018_full", |b| b.iter(|| analyze(&e, &full).unwrap()));
    } else {
        eprintln!("*** {} absent: 2018 benchmarks skipped ***", path.display());
    }
    let s = Synthetic::generate(1_000_000, 1, 0.0);
    let nation = IntegerOptions { regions: false, commissions: false, weighted: false, ..Default::default() };
    g.sample_size(10);
    g.bench_function("synthetic_1m_nation", |b| b.iter(|| run(&s.input(), &nation)));
    g.bench_function("synthetic_1m_full", |b| b.iter(|| run(&s.input(), &IntegerOptions::default())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
