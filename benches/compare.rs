//! `compare` on 100,000 simulated stations, every one observed (copy): reading the
//! observers' CSV (already in memory), matching its columns, joining on the station key
//! and comparing 14 fields per station; and the PVT estimate from a 5% sample.
//! Issue 18 asks for at most 1 s. `cargo bench --bench compare`.

use criterion::{Criterion, criterion_group, criterion_main};
use tallyscope::compare::{self, Mode, ObservedOptions};
use tallyscope::simulate::observers::{self, ObserverKind};
use tallyscope::simulate::{self, SimConfig, write};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compare");
    g.sample_size(10);
    let cfg = SimConfig {
        stations: 100_000,
        seed: 1,
        frauds: vec!["transfer:0.05:0.2".parse().unwrap(), "stuffing:0.05:0.3".parse().unwrap()],
        ..Default::default()
    };
    let sim = simulate::simulate(&cfg).unwrap();
    let mut p = Vec::new();
    write::write_protocols(&sim, &mut p).unwrap();
    let ing = tallyscope::ingest::load_bytes("e.csv", p, &Default::default()).unwrap();
    for (name, kind, fraction, mode) in
        [("copy_100k_all_observed", ObserverKind::Copy, 1.0, Mode::Copy), ("sample_100k_5pct", ObserverKind::Sample, 0.05, Mode::Sample)]
    {
        let obs = observers::observe(&sim, fraction, kind).unwrap();
        let mut bytes = Vec::new();
        observers::write_observed(&sim, &obs, &mut bytes).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let o = compare::read::from_bytes(
                    "e.observed.csv",
                    &bytes,
                    b',',
                    None,
                    &ing.election,
                    &ing.report.columns,
                    &ObservedOptions::default(),
                )
                .unwrap();
                let j = compare::join::join(&ing.election, &o, false);
                compare::compare(&ing.election, &o, &j, &compare::Options { mode, ..Default::default() }).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
