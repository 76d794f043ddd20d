//! Simulator speed: 1,000,000 stations generated in memory (clean, and with the demo's
//! fraud mix), and the protocol + truth CSVs formatted and written (to a sink, so the
//! disk does not count). Run: `cargo bench --bench simulate`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tallyscope::simulate::{self, SimConfig, write};

const N: usize = 1_000_000;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    let clean = SimConfig { stations: N, ..SimConfig::default() };
    g.bench_function("generate 1M clean", |b| b.iter(|| black_box(simulate::simulate(&clean).unwrap())));
    let demo = SimConfig::demo(N, 2026);
    g.bench_function("generate 1M demo fraud mix", |b| b.iter(|| black_box(simulate::simulate(&demo).unwrap())));
    let sim = simulate::simulate(&demo).unwrap();
    g.bench_function("write 1M protocols", |b| b.iter(|| write::write_protocols(&sim, std::io::sink()).unwrap()));
    g.bench_function("write 1M truth", |b| b.iter(|| write::write_truth(&sim, std::io::sink()).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
