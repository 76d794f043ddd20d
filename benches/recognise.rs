//! Recognition speed: the rule tables applied to headers of many languages, and the
//! whole read of a real world file (Poland 2020 round 1, 27,229 rows, 44 columns) where
//! recognition, value profiling and the row loop run together.
//! Run: `cargo bench --bench recognise`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use tallyscope::ingest::{self, Options, recognise};

const HEADERS: &[&str] = &[
    "Число избирателей, включенных в список избирателей",
    "Число избирательных бюллетеней, выданных в помещении для голосования в день голосования",
    "Число недействительных избирательных бюллетеней",
    "Кількість виборців, внесених до списку виборців на виборчій дільниці",
    "Кількість виборчих бюлетенів, визнаних недійсними",
    "Liczba wyborców uprawnionych do głosowania",
    "Liczba wyborców, którym wysłano pakiety wyborcze",
    "W tym z powodu postawienia znaku „X” obok nazwiska dwóch lub większej liczby kandydatów",
    "Liczba głosów ważnych oddanych łącznie na wszystkich kandydatów",
    "VOL_SEZNAM",
    "ODEVZ_OBAL",
    "HLASY_01",
    "ერთიან სიაში ამომრჩეველთა რაოდენობა",
    "აქტივობა 12 საათი",
    "Reg.Voters",
    "Inv.Votes",
    "votes by 17",
    "DISTRICT CODE",
    "Dist_name_2016",
    "Polling Station",
    "Numer obwodu",
    "Typ obwodu",
    "Votos válidos",
    "Exprimés",
    "Wahlberechtigte",
    "41 - Georgian Dream",
    "Yoweri Museveni Tibuhaburwa Kaguta",
    "Andrzej Sebastian DUDA",
];

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("recognise");
    g.bench_function("classify_28_headers", |b| {
        b.iter(|| HEADERS.iter().filter(|h| recognise::classify(black_box(h)).is_some()).count())
    });
    let pl = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/world/poland-2020-pres/round1-wyniki_gl_na_kand_po_obwodach_utf8.csv.zip");
    if pl.exists() {
        let src = ingest::source::open(&pl).unwrap();
        let bytes = src.bytes.clone();
        g.sample_size(20);
        g.bench_function("load_poland_2020_round1", |b| {
            b.iter(|| ingest::load_bytes("pl.csv", black_box(bytes.clone()), &Options::default()).unwrap())
        });
    } else {
        eprintln!("SKIPPED load_poland_2020_round1: {} is absent", pl.display());
    }
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
