//! Rozenas' coarse-share test on Russia 2018 (when present) and on a 100,000-station
//! simulated election: the default run (leader share + turnout, B = 999) and its parts;
//! the default run also on 1,000,000 simulated stations.
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tallyscope::stats::rozenas::*;

fn parts(c: &mut Criterion, name: &str, e: &tallyscope::Election) {
    let mut g = c.benchmark_group(format!("rozenas/{name}"));
    g.sample_size(10);
    g.bench_function("default_leader+turnout_B999", |b| b.iter(|| analyze(e, &RozenasOptions::default()).unwrap()));
    g.bench_function("leader_only_B999", |b| {
        b.iter(|| analyze(e, &RozenasOptions { turnout: false, ..Default::default() }).unwrap())
    });
    let cb = e.get(tallyscope::Role::InBoxes).unwrap();
    let l = e.leader().unwrap();
    let (x, n): (Vec<u32>, Vec<u32>) =
        (0..e.len()).filter(|&i| cb[i] > 0 && e.votes[l][i] <= cb[i]).map(|i| (e.votes[l][i], cb[i])).unzip();
    let fr = Fractions::new(10);
    g.bench_function("leader_null_table", |b| b.iter(|| perturbation_null(&x, &n, 0.1, &fr)));
    let t = perturbation_null(&x, &n, 0.1, &fr);
    let q: Vec<f64> = (0..t.stations()).map(|s| t.total(s)).collect();
    g.bench_function("leader_999_draws", |b| b.iter(|| draw_null(q.iter().copied(), &DrawOptions { draws: 999, seed: 1 })));
    g.bench_function("spikes_leader", |b| {
        b.iter(|| analyze(e, &RozenasOptions { turnout: false, draws: 0, spikes: true, ..Default::default() }).unwrap())
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if p.exists() {
        let e = tallyscope::ingest::load(&p, &tallyscope::ingest::Options::default()).unwrap().election;
        parts(c, "2018", &e);
    } else {
        eprintln!("*** rozenas bench: {} absent, 2018 benches SKIPPED ***", p.display());
    }
    let cfg = tallyscope::simulate::SimConfig { stations: 100_000, seed: 3, ..Default::default() };
    let e = tallyscope::simulate::simulate(&cfg).unwrap().election();
    parts(c, "simulated_100k", &e);
    let cfg = tallyscope::simulate::SimConfig { stations: 1_000_000, seed: 3, ..Default::default() };
    let e = tallyscope::simulate::simulate(&cfg).unwrap().election();
    let mut g = c.benchmark_group("rozenas/simulated_1m");
    g.sample_size(10);
    g.bench_function("default_leader+turnout_B999", |b| b.iter(|| analyze(&e, &RozenasOptions::default()).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
