//! Ingest speed: Russia 2018 (97,699 stations, zipped) and 1,000,000 synthetic stations,
//! next to the raw csv-crate parse of the same bytes (the floor any reader pays).
//! Run: `cargo bench --bench ingest`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use tallyscope::ingest::{self, Options, source};

fn synthetic(stations: usize) -> Vec<u8> {
    let mut s = String::with_capacity(stations * 80);
    s.push_str("region,commission,station,registered,issued,in_boxes,invalid,valid,Alice,Bob,Clara,Dan\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for i in 0..stations {
        let n = 200 + next(2500);
        let b = n * (40 + next(50)) / 100;
        let inv = next(b / 40 + 1);
        let v = b - inv;
        let a = v * (40 + next(30)) / 100;
        let bo = (v - a) / 2;
        let c = (v - a - bo) / 2;
        let d = v - a - bo - c;
        s.push_str(&format!(
            "Region {:02},Commission {:02}-{:03},{},{n},{b},{b},{inv},{v},{a},{bo},{c},{d}\n",
            i / 12_000,
            i / 12_000,
            (i / 400) % 1000,
            i + 1
        ));
    }
    s.into_bytes()
}

fn raw_parse(bytes: &[u8]) -> u64 {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let mut fields = 0u64;
    while rdr.read_byte_record(&mut rec).unwrap() {
        fields += rec.len() as u64;
    }
    fields
}

fn benches(c: &mut Criterion) {
    let ru = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru/2018.csv.zip");
    if ru.exists() {
        let src = source::open(&ru).unwrap();
        let unzipped = src.bytes.clone();
        let mut g = c.benchmark_group("russia_2018");
        g.throughput(Throughput::Bytes(unzipped.len() as u64));
        g.sample_size(20);
        g.bench_function("load_zip_file", |b| b.iter(|| ingest::load(black_box(&ru), &Options::default()).unwrap()));
        g.bench_function("load_unzipped_bytes", |b| {
            b.iter(|| ingest::load_bytes("2018.csv", black_box(unzipped.clone()), &Options::default()).unwrap())
        });
        g.bench_function("raw_csv_parse", |b| b.iter(|| raw_parse(black_box(&unzipped))));
        g.finish();
    } else {
        eprintln!("SKIPPED russia_2018 benches: {} is absent", ru.display());
    }
    let big = synthetic(1_000_000);
    let mut g = c.benchmark_group("synthetic_1m");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.sample_size(10);
    g.bench_function("load_bytes", |b| {
        b.iter(|| ingest::load_bytes("synthetic.csv", black_box(big.clone()), &Options::default()).unwrap())
    });
    g.bench_function("raw_csv_parse", |b| b.iter(|| raw_parse(black_box(&big))));
    g.finish();
}

criterion_group!(ingest_benches, benches);
criterion_main!(ingest_benches);
