//! Ingest speed: Russia 2018 (97,699 stations, zipped) and 1,000,000 synthetic stations,
//! next to the raw csv-crate parse of the same bytes (the floor any reader pays).
//! Also the source layer: decoding a Windows-1251 file of Russia 2018's size, and a
//! 100,000-row xlsx read through calamine (`encodings` and `spreadsheet` groups).
//! Run: `cargo bench --bench ingest` (one group: `cargo bench --bench ingest -- encodings`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use tallyscope::ingest::{self, Options, source};

/// A seeded xorshift64 draw in `0..m`: the synthetic files' counts, the same on every run.
fn xorshift(mut x: u64) -> impl FnMut(u64) -> u64 {
    move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    }
}

fn synthetic(stations: usize) -> Vec<u8> {
    let mut s = String::with_capacity(stations * 80);
    s.push_str("region,commission,station,registered,issued,in_boxes,invalid,valid,Alice,Bob,Clara,Dan\n");
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
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

/// A Russian-style table in UTF-8: Cyrillic header and hierarchy names, like a CEC export.
fn synthetic_cyrillic(stations: usize) -> String {
    let mut s = String::with_capacity(stations * 330);
    s.push_str(
        "Регион;ТИК;УИК;Число избирателей, включенных в список;Число бюллетеней, выданных в день голосования;\
         Число бюллетеней в стационарных ящиках;Число недействительных бюллетеней;Число действительных бюллетеней;\
         Бабурин Сергей Николаевич;Грудинин Павел Николаевич;Жириновский Владимир Вольфович;Путин Владимир Владимирович\n",
    );
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    for i in 0..stations {
        let n = 200 + next(2500);
        let b = n * (40 + next(50)) / 100;
        let inv = next(b / 40 + 1);
        let v = b - inv;
        let a = v / 10;
        let bo = v / 5;
        let c = v / 20;
        let d = v - a - bo - c;
        s.push_str(&format!(
            "Республика Северная Осетия - Алания {:02};Территориальная избирательная комиссия Моздокского района {:03};\
             УИК №{};{n};{b};{b};{inv};{v};{a};{bo};{c};{d}\n",
            i / 1200,
            (i / 40) % 1000,
            i + 1
        ));
    }
    s
}

/// A one-sheet xlsx (inline strings, stored zip members) of `stations` rows.
fn synthetic_xlsx(stations: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let mut sheet = String::with_capacity(stations * 420);
    sheet.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#);
    let text = synthetic(stations);
    for (r, line) in String::from_utf8(text).unwrap().lines().enumerate() {
        let _ = write!(sheet, r#"<row r="{}">"#, r + 1);
        for f in line.split(',') {
            if r > 0 && f.bytes().all(|b| b.is_ascii_digit()) {
                let _ = write!(sheet, "<c><v>{f}</v></c>");
            } else {
                let _ = write!(sheet, r#"<c t="inlineStr"><is><t>{f}</t></is></c>"#);
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let parts: [(&str, &str); 5] = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Results" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#),
        ("xl/worksheets/sheet1.xml", &sheet),
    ];
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opt = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, data) in parts {
            z.start_file(name, opt).unwrap();
            z.write_all(data.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
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

    // Windows-1251 of Russia 2018's size (about 100,000 rows, 32 MB as UTF-8).
    let utf8 = synthetic_cyrillic(100_000);
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(&utf8);
    let cp1251 = cp1251.into_owned();
    let utf8 = utf8.into_bytes();
    let mut g = c.benchmark_group("encodings");
    g.throughput(Throughput::Bytes(cp1251.len() as u64));
    g.sample_size(10);
    g.bench_function("detect_1251", |b| b.iter(|| ingest::encoding::detect(black_box(&cp1251), 0)));
    g.bench_function("decode_1251", |b| {
        b.iter(|| {
            let mut v = black_box(cp1251.clone());
            ingest::encoding::decode("x.csv", &mut v, None).unwrap()
        })
    });
    g.bench_function("decode_utf8_same_table", |b| {
        b.iter(|| {
            let mut v = black_box(utf8.clone());
            ingest::encoding::decode("x.csv", &mut v, None).unwrap()
        })
    });
    g.bench_function("load_bytes_1251", |b| {
        b.iter(|| ingest::load_bytes("x.csv", black_box(cp1251.clone()), &Options::default()).unwrap())
    });
    g.bench_function("load_bytes_utf8_same_table", |b| {
        b.iter(|| ingest::load_bytes("x.csv", black_box(utf8.clone()), &Options::default()).unwrap())
    });
    g.finish();

    let xlsx = synthetic_xlsx(100_000);
    let mut g = c.benchmark_group("spreadsheet");
    g.throughput(Throughput::Bytes(xlsx.len() as u64));
    g.sample_size(10);
    g.bench_function("load_xlsx_100k", |b| {
        b.iter(|| ingest::load_bytes("x.xlsx", black_box(xlsx.clone()), &Options::default()).unwrap())
    });
    g.finish();
}

criterion_group!(ingest_benches, benches);
criterion_main!(ingest_benches);
