//! Chart and report speed on a simulated election of 100,000 stations (the demo's model,
//! seed 7, with its fraud): every chart as PNG and SVG in parallel (what `analyze` adds),
//! each chart alone, and the report. Run: `cargo bench --bench render`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use tallyscope::analysis::{self, Options};
use tallyscope::render::{self, Chart, Format, data::Data};
use tallyscope::simulate::{self, SimConfig};

fn benches(c: &mut Criterion) {
    let sim = simulate::simulate(&SimConfig::demo(100_000, 7)).unwrap();
    let mut read = tallyscope::ingest::ReadReport::default();
    read.file = "simulated-100k.csv".into();
    let a = analysis::run_election(Arc::new(sim.election()), read, &Options { seed: 7, ..Default::default() });
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("render_100k");
    g.sample_size(10);
    g.bench_function("all_charts_png_svg", |b| b.iter(|| render::render_all(black_box(&a), dir.path()).unwrap()));
    let (drawn, skipped) = render::render_all(&a, dir.path()).unwrap();
    assert!(skipped.is_empty(), "charts not drawn: {skipped:?}");
    let meta = tallyscope::report::Meta { command: "tallyscope analyze simulated-100k.csv".into() };
    g.bench_function("report_html_md", |b| b.iter(|| tallyscope::report::write(black_box(&a), dir.path(), &drawn, &skipped, &meta).unwrap()));
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
