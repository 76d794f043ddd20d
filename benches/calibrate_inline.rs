//! Inline calibration (issue 7): the fast binomial sampler against rand_distr's, one
//! full-size replicate, and the whole run at the default 200 replicates on Russia 2018
//! (when ../shared/data/ru is present; the budget is ≤ 1.5 s added to `analyze`).
//! `cargo bench --bench calibrate_inline`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Binomial, Distribution};
use tallyscope::calibrate::inline::{self, InlineOptions};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("calibrate_inline");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for (n, p) in [(1500u32, 0.62), (800, 0.15), (300, 0.02)] {
        g.bench_function(format!("binomial_fast_{n}_{p}"), |b| b.iter(|| inline::binomial(&mut rng, black_box(n), black_box(p))));
        g.bench_function(format!("binomial_rand_distr_{n}_{p}"), |b| {
            b.iter(|| Binomial::new(black_box(n) as u64, black_box(p)).unwrap().sample(&mut rng))
        });
    }
    g.bench_function("overdispersed_800", |b| b.iter(|| inline::overdispersed(&mut rng, black_box(800), -1.5, 0.3)));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if path.exists() {
        let e = tallyscope::ingest::load(&path, &tallyscope::ingest::Options::default()).unwrap().election;
        g.sample_size(10);
        g.bench_function("ru2018_draw_one_replicate", |b| {
            let m = inline::Model::fit(&e, None).unwrap();
            let (mut x, mut y) = (Vec::new(), Vec::new());
            b.iter(|| m.draw(&mut rng, &mut x, &mut y))
        });
        // what a replicate without digit tests draws: ballots and the leader's votes
        g.bench_function("ru2018_draw_one_fast_replicate", |b| {
            let m = inline::Model::fit(&e, None).unwrap();
            let (mut x, mut y) = (Vec::new(), Vec::new());
            b.iter(|| m.draw_some(&mut rng, &mut x, &mut y, false))
        });
        // the digit replicates alone, then 34 fast ones on top: a fast replicate costs
        // (40 − 6)⁻¹ of the difference
        g.bench_function("ru2018_6_digit_replicates", |b| b.iter(|| inline::run(&e, None, &InlineOptions { reps: inline::DIGIT_REPS, ..Default::default() })));
        g.bench_function("ru2018_40_replicates", |b| b.iter(|| inline::run(&e, None, &InlineOptions { reps: 40, ..Default::default() })));
        g.bench_function("ru2018_default_200_replicates", |b| b.iter(|| inline::run(&e, None, &InlineOptions::default())));
    } else {
        eprintln!("*** {} absent: 2018 benchmarks skipped ***", path.display());
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
