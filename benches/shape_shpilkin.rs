//! Shape battery (moments, dip with its tabulated null, correlations) and Shpilkin's
//! anomalous votes with a 100-replicate bootstrap, on Russia 2018 (when
//! ../shared/data/ru is present) and on 1,000,000 simulated stations.
//! `cargo bench --bench shape_shpilkin`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::Path;
use tallyscope::simulate::{SimConfig, simulate};
use tallyscope::stats::{shape, shpilkin};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("shape_shpilkin");
    g.sample_size(10);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    let mut elections = Vec::new();
    if path.exists() {
        elections.push(("ru2018", tallyscope::ingest::load(&path, &tallyscope::ingest::Options::default()).unwrap().election));
    } else {
        eprintln!("*** {} absent: 2018 benchmarks skipped ***", path.display());
    }
    let cfg = SimConfig { stations: 1_000_000, seed: 5, ..Default::default() };
    elections.push(("sim1m", simulate(&cfg).unwrap().election()));
    for (name, e) in &elections {
        g.bench_function(format!("{name}_shape"), |b| b.iter(|| shape::run(e, &shape::ShapeOptions::default())));
        let o = shpilkin::ShpilkinOptions { bootstrap: 100, ..Default::default() };
        g.bench_function(format!("{name}_shpilkin_b100"), |b| b.iter(|| shpilkin::run(e, &o)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
