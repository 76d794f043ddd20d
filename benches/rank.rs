//! The ranking stage of `analyze` (station scores, then commissions and regions) on
//! Russia 2018 (when ../shared/data/ru is present) and on 1,000,000 simulated stations.
//! Issue 5 asks for at most 0.3 s on 2018 (release, 2 cores). `cargo bench --bench rank`.

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tallyscope::analysis::{self, Options};
use tallyscope::model::Election;

/// The battery without the costly parts the ranking does not read, then the ranking alone.
fn setup(e: Election) -> (Arc<Election>, analysis::Analysis) {
    let e = Arc::new(e);
    let opt = Options { fingerprint: false, bootstrap: 0, digit_draws: 0, ..Default::default() };
    let a = analysis::run_election(e.clone(), Default::default(), &opt);
    (e, a)
}

fn bench_one(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &str, e: Election) {
    let (e, a) = setup(e);
    let leader = e.leader();
    c.bench_function(name, |b| {
        // The period-5 integer run inside the loop, as before it moved beside the battery.
        b.iter(|| {
            let int5 = analysis::integer5(&e, leader);
            analysis::rank_stage(&e, leader, &a.check_report, a.integer.as_ref(), int5.as_ref(), a.mixture.as_ref(), &a.results, a.calibration.as_ref(), None)
        })
    });
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("rank");
    g.sample_size(10);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if path.exists() {
        let e = tallyscope::ingest::load(&path, &tallyscope::ingest::Options::default()).unwrap().election;
        bench_one(&mut g, "ru2018", e);
    } else {
        eprintln!("*** {} absent: the 2018 benchmark is skipped ***", path.display());
    }
    let cfg = tallyscope::simulate::SimConfig { stations: 1_000_000, seed: 1, ..Default::default() };
    let e = tallyscope::simulate::simulate(&cfg).unwrap().election();
    bench_one(&mut g, "simulated_1m", e);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
