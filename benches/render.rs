//! Chart and report speed on a simulated election of 100,000 stations (the demo's model,
//! seed 7, with its fraud): every chart as PNG and SVG in parallel (what `analyze` adds),
//! each chart alone, and the report; the whole set and the report also on Russia 2018
//! (when present) and on 1,000,000 simulated stations. Run: `cargo bench --bench render`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use tallyscope::analysis::{self, Options};
use tallyscope::render::{self, Chart, Format, data::Data};
use tallyscope::simulate::{self, SimConfig};

fn simulated(stations: usize) -> analysis::Analysis {
    let sim = simulate::simulate(&SimConfig::demo(stations, 7)).unwrap();
    let mut read = tallyscope::ingest::ReadReport::default();
    read.file = format!("simulated-{stations}.csv");
    analysis::run_election(Arc::new(sim.election()), read, &Options { seed: 7, ..Default::default() })
}

/// Every chart (PNG and SVG, in parallel) and the report, as `analyze` draws them.
fn whole(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, a: &analysis::Analysis, dir: &std::path::Path) {
    g.bench_function("all_charts_png_svg", |b| b.iter(|| render::render_all(black_box(a), dir).unwrap()));
    let (drawn, skipped) = render::render_all(a, dir).unwrap();
    assert!(skipped.is_empty(), "charts not drawn: {skipped:?}");
    let meta = tallyscope::report::Meta { command: format!("tallyscope analyze {}", a.read.file) };
    g.bench_function("report_html_md", |b| b.iter(|| tallyscope::report::write(black_box(a), dir, &drawn, &skipped, &meta).unwrap()));
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if p.exists() {
        let a = analysis::run(tallyscope::ingest::load(&p, &Default::default()).unwrap(), &Options::default());
        let mut g = c.benchmark_group("render_ru2018");
        g.sample_size(10);
        whole(&mut g, &a, dir.path());
        g.finish();
    } else {
        eprintln!("*** render bench: {} absent, 2018 benches SKIPPED ***", p.display());
    }
    {
        let a = simulated(1_000_000);
        let mut g = c.benchmark_group("render_1m");
        g.sample_size(10);
        whole(&mut g, &a, dir.path());
        g.finish();
    }
    let a = simulated(100_000);
    let mut g = c.benchmark_group("render_100k");
    g.sample_size(10);
    whole(&mut g, &a, dir.path());
    let d = Data::new(a.election(), render::leader_index(&a));
    g.bench_function("data", |b| b.iter(|| Data::new(black_box(a.election()), render::leader_index(&a))));
    let cx = render::Ctx::new(&a, &d);
    for chart in Chart::ALL {
        for format in [Format::Png, Format::Svg] {
            g.bench_function(format!("{}.{}", chart.key(), format.ext()), |b| b.iter(|| render::render(chart, black_box(&cx), format).unwrap()));
        }
    }
    g.finish();
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
