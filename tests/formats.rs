//! The world's published formats: legacy encodings, UTF-16, spreadsheets, title rows and
//! two-row headers, read with no flags (but `--sheet` where it is the point), from the
//! synthetic fixtures of `fixtures/world/` (made by `fixtures/world/make_fixtures.py`).
//!
//! Assertions are on what does not depend on role recognition (which columns become
//! which role is another module's business): the decoded header names, the station
//! count, and counts read through an explicit mapping.

use std::io::Write;
use std::path::{Path, PathBuf};
use tallyscope::ingest::mapping::Cols;
use tallyscope::ingest::{self, Ingested, Mapping, Options};
use tallyscope::model::Role;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/world").join(name)
}

fn load(name: &str) -> Ingested {
    ingest::load(&fixture(name), &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load_err(path: &Path, opts: &Options) -> String {
    match ingest::load(path, opts) {
        Ok(_) => panic!("{}: expected an error", path.display()),
        Err(e) => e.to_string(),
    }
}

fn names(ing: &Ingested) -> Vec<&str> {
    ing.report.columns.iter().map(|c| c.name.as_str()).collect()
}

/// Options naming station, registered and candidates explicitly.
fn mapped(station: &str, registered: &str, candidates: &[&str]) -> Options {
    let mut m = Mapping { station: Some(station.into()), ..Default::default() };
    m.set_role(Role::Registered, Cols::One(registered.into()));
    m.candidates = Some(candidates.iter().map(|s| s.to_string()).collect());
    Options { mapping: m, ..Default::default() }
}

fn load_mapped(name: &str, opts: &Options) -> Ingested {
    ingest::load(&fixture(name), opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn windows_1251_russian_ukrainian() {
    let ing = load("ru_1251.csv");
    let r = &ing.report;
    assert_eq!((r.encoding.as_str(), r.encoding_detected, r.encoding_how.as_str()), ("windows-1251", true, "detected"));
    assert_eq!(r.delimiter, ";");
    assert_eq!(names(&ing), [
        "Регион",
        "УИК",
        "Число избирателей, включенных в список",
        "Число действительных избирательных бюллетеней",
        "Шевченко Тарас",
        "Іваненко Євгенія",
    ]);
    assert_eq!(ing.election.len(), 4);
    assert_eq!((r.title_rows_skipped, r.header_rows), (0, 1));
    let m = mapped("УИК", "Число избирателей, включенных в список", &["Шевченко Тарас", "Іваненко Євгенія"]);
    let e = load_mapped("ru_1251.csv", &m).election;
    assert_eq!(e.total(Role::Registered), Some(1500 + 1200 + 800 + 950));
    assert_eq!(e.candidate_totals(), [600 + 450 + 300 + 320, 400 + 450 + 400 + 300]);
    assert_eq!(e.station, ["101", "102", "201", "202"]);
    assert_eq!(e.line, [2, 3, 4, 5]);
}

#[test]
fn windows_1250_polish_and_czech() {
    let pl = load("pl_1250.csv");
    assert_eq!(pl.report.encoding, "windows-1250");
    assert!(pl.report.encoding_detected);
    assert_eq!(names(&pl), [
        "Gmina",
        "Nr obwodu",
        "Liczba wyborców uprawnionych do głosowania",
        "Głosy ważne",
        "Kowalski Jan",
        "Wiśniewska Żaneta",
    ]);
    assert_eq!(pl.election.len(), 3);
    let m = mapped("Nr obwodu", "Liczba wyborców uprawnionych do głosowania", &["Kowalski Jan", "Wiśniewska Żaneta"]);
    let e = load_mapped("pl_1250.csv", &m).election;
    assert_eq!(e.total(Role::Registered), Some(4700));
    assert_eq!(e.candidate_totals(), [1650, 1650]);

    let cz = load("cz_1250.csv");
    assert_eq!(cz.report.encoding, "windows-1250");
    assert_eq!(cz.report.delimiter, ",");
    assert_eq!(names(&cz), ["Obec", "Okrsek", "Počet voličů v seznamu", "Platné hlasy", "Dvořák Jiří", "Řezníčková Šárka"]);
    let m = mapped("Okrsek", "Počet voličů v seznamu", &["Dvořák Jiří", "Řezníčková Šárka"]);
    let e = load_mapped("cz_1250.csv", &m).election;
    assert_eq!(e.total(Role::Registered), Some(3100));
    assert_eq!(e.candidate_totals(), [1060, 1040]);
}

#[test]
fn utf16le_with_bom_tab_separated() {
    let ing = load("fr_utf16le.csv");
    let r = &ing.report;
    assert_eq!((r.encoding.as_str(), r.encoding_detected, r.bom), ("UTF-16LE", true, true));
    assert_eq!(r.delimiter, "tab");
    assert_eq!(names(&ing), ["Département", "Bureau", "Inscrits", "Exprimés", "Mme Dupré", "M. Lefèvre"]);
    let m = mapped("Bureau", "Inscrits", &["Mme Dupré", "M. Lefèvre"]);
    let e = load_mapped("fr_utf16le.csv", &m).election;
    assert_eq!(e.len(), 3);
    assert_eq!(e.total(Role::Registered), Some(2700));
    assert_eq!(e.candidate_totals(), [1100, 850]);
}

#[test]
fn forced_encoding_overrides_detection() {
    // The 1251 file forced as KOI8-R decodes to other letters: the flag wins, and says so.
    let opts = Options { encoding: Some("koi8-r".into()), ..Default::default() };
    let ing = ingest::load(&fixture("ru_1251.csv"), &opts).unwrap();
    assert_eq!((ing.report.encoding.as_str(), ing.report.encoding_detected), ("KOI8-R", false));
    assert_ne!(names(&ing)[0], "Регион");
    let opts = Options { encoding: Some("cp1251".into()), ..Default::default() };
    let ing = ingest::load(&fixture("ru_1251.csv"), &opts).unwrap();
    assert_eq!((ing.report.encoding.as_str(), ing.report.encoding_how.as_str()), ("windows-1251", "--encoding"));
    assert_eq!(names(&ing)[0], "Регион");
    let e = load_err(&fixture("ru_1251.csv"), &Options { encoding: Some("cp-9999".into()), ..Default::default() });
    assert!(e.contains("--encoding \"cp-9999\": unknown encoding") && e.contains("windows-1251"), "{e}");
    let e = load_err(&fixture("ru_1251.csv"), &Options { encoding: Some("utf-8".into()), ..Default::default() });
    assert!(e.contains("ru_1251.csv:1:") && e.contains("not UTF-8") && e.contains("--encoding windows-1251"), "{e}");
}

#[test]
fn utf8_report_and_json() {
    let ing = ingest::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/small.csv")), &Options::default()).unwrap();
    let r = &ing.report;
    assert_eq!((r.encoding.as_str(), r.encoding_detected, r.title_rows_skipped, r.header_rows), ("UTF-8", false, 0, 1));
    assert!(r.notes.is_empty() && r.sheet.is_empty() && r.sheets.is_empty());
    let j = serde_json::to_value(r).unwrap();
    for k in ["encoding", "encoding_detected", "encoding_how", "sheet", "sheets", "title_rows_skipped", "header_rows", "notes"] {
        assert!(j.get(k).is_some(), "ReadReport serialises {k}");
    }
}

#[test]
fn title_row_and_two_row_header_csv() {
    let ing = load("title_two_row.csv");
    let r = &ing.report;
    assert_eq!((r.title_rows_skipped, r.header_rows), (1, 2));
    assert_eq!(names(&ing), [
        "Region",
        "Station",
        "Registered",
        "Ballots Valid",
        "Ballots Invalid",
        "Candidates Green",
        "Candidates Blue",
        "Candidates Red",
    ]);
    assert!(r.notes.iter().any(|n| n.contains("skipped 1 title row") && n.contains("Results of the regional election")), "{:?}", r.notes);
    assert!(r.notes.iter().any(|n| n.contains("two rows (lines 2 and 3)")), "{:?}", r.notes);
    let m = mapped("Station", "Registered", &["Candidates Green", "Candidates Blue", "Candidates Red"]);
    let e = load_mapped("title_two_row.csv", &m).election;
    assert_eq!(e.len(), 4);
    assert_eq!(e.candidate_totals(), [1100, 900, 800]);
    // Line numbers are the file's: data starts on line 4.
    assert_eq!(e.line, [4, 5, 6, 7]);
}

#[test]
fn title_rows_keep_true_line_numbers_in_errors() {
    let text = std::fs::read_to_string(fixture("title_two_row.csv")).unwrap().replace("South,3,1200,1000,8", "South,3,12x0,1000,8");
    let e = ingest::load_bytes("t.csv", text.into_bytes(), &Options::default()).unwrap_err().to_string();
    assert!(e.starts_with("t.csv:6: column \"Registered\": value \"12x0\""), "{e}");
}

#[test]
fn xlsx_titles_merged_two_row_header_floats_and_text() {
    let ing = load("results_titles.xlsx");
    let r = &ing.report;
    assert_eq!(r.container, "xlsx");
    assert_eq!(r.sheet, "Results");
    assert_eq!(r.sheets, ["Results", "Notes", "Empty"]);
    assert_eq!((r.title_rows_skipped, r.header_rows), (2, 2));
    assert_eq!(r.encoding_how, "spreadsheet");
    assert!(r.notes.iter().any(|n| n.contains("2 sheets have data") && n.contains("\"Notes\"")), "{:?}", r.notes);
    assert_eq!(names(&ing), [
        "Region",
        "Station",
        "Registered voters",
        "Ballots in boxes",
        "Valid ballots",
        "Invalid ballots",
        "Candidates Ivanov",
        "Candidates Petrov",
        "Candidates Sidorov",
    ]);
    let m = mapped("Station", "Registered voters", &["Candidates Ivanov", "Candidates Petrov", "Candidates Sidorov"]);
    let e = load_mapped("results_titles.xlsx", &m).election;
    assert_eq!(e.len(), 4);
    assert_eq!(e.station, ["N-01", "N-02", "S-01", "S-02"]);
    assert_eq!(e.total(Role::Registered), Some(1500 + 1200 + 800 + 950));
    // 1500.0 stored as a float reads as 1500; Petrov's 417 at N-02 is stored as text.
    assert_eq!(e.votes[1], [300, 417, 250, 200]);
    assert_eq!(e.candidate_totals(), [1620, 1167, 433]);
    // Sheet rows are lines: the first data row is row 5.
    assert_eq!(e.line, [5, 6, 7, 8]);
}

#[test]
fn spreadsheet_ignores_a_text_delimiter_flag() {
    // `--delimiter ';'` given for a batch of files must not split a spreadsheet's cells.
    let opts = Options { mapping: Mapping { delimiter: Some(";".into()), ..Default::default() }, ..Default::default() };
    let ing = ingest::load(&fixture("results_titles.xlsx"), &opts).unwrap();
    assert_eq!(ing.report.delimiter, ",");
    assert_eq!(ing.election.len(), 4);
}

#[test]
fn xlsx_error_names_the_sheet_row() {
    let e = load_err(&fixture("bad_float.xlsx"), &Options::default());
    assert!(e.contains("bad_float.xlsx:6: column \"Candidates Petrov\": value \"12.5\""), "{e}");
}

#[test]
fn xlsx_sheet_choice() {
    let opts = |s: &str| Options { sheet: Some(s.into()), ..Default::default() };
    let e = load_err(&fixture("results_titles.xlsx"), &opts("Nope"));
    assert!(e.contains("--sheet \"Nope\": no such sheet") && e.contains("1 \"Results\", 2 \"Notes\", 3 \"Empty\""), "{e}");
    let e = load_err(&fixture("results_titles.xlsx"), &opts("3"));
    assert!(e.contains("sheet \"Empty\" is empty"), "{e}");
    let e = load_err(&fixture("results_titles.xlsx"), &opts("empty"));
    assert!(e.contains("sheet \"Empty\" is empty"), "{e}");
    // By number and by name, with no note about other sheets.
    for s in ["1", "Results"] {
        let ing = ingest::load(&fixture("results_titles.xlsx"), &opts(s)).unwrap();
        assert_eq!(ing.report.sheet, "Results");
        assert!(!ing.report.notes.iter().any(|n| n.contains("sheets have data")));
    }
    // The notes sheet has no table.
    assert!(ingest::load(&fixture("results_titles.xlsx"), &opts("Notes")).is_err());
}

#[test]
fn ods_with_title_and_blank_row() {
    let ing = load("wyniki.ods");
    let r = &ing.report;
    assert_eq!((r.container.as_str(), r.sheet.as_str()), ("ods", "Wyniki"));
    assert_eq!((r.title_rows_skipped, r.header_rows), (1, 1));
    assert_eq!(names(&ing), ["Gmina", "Obwód", "Liczba wyborców uprawnionych do głosowania", "Głosy ważne", "Kowalski Jan", "Nowak Anna"]);
    let m = mapped("Obwód", "Liczba wyborców uprawnionych do głosowania", &["Kowalski Jan", "Nowak Anna"]);
    let e = load_mapped("wyniki.ods", &m).election;
    assert_eq!(e.len(), 3);
    assert_eq!(e.candidate_totals(), [1650, 1650]);
    assert_eq!(e.line, [4, 5, 6]);
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opt = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, data) in members {
            z.start_file(*name, opt).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn spreadsheets_inside_zip_and_from_bytes() {
    let xlsx = std::fs::read(fixture("results_titles.xlsx")).unwrap();
    let ing = ingest::load_bytes("a.zip", zip_of(&[("results.xlsx", &xlsx)]), &Options::default()).unwrap();
    assert_eq!((ing.report.file.as_str(), ing.report.container.as_str()), ("a.zip:results.xlsx", "zip (xlsx)"));
    assert_eq!(ing.election.len(), 4);
    // Recognised by content, whatever the name (stdin has none).
    let ing = ingest::load_bytes("<stdin>", std::fs::read(fixture("wyniki.ods")).unwrap(), &Options::default()).unwrap();
    assert_eq!(ing.report.container, "ods");
    // A CSV and a spreadsheet: the CSV is read, and a note says so.
    let csv = std::fs::read(fixture("title_two_row.csv")).unwrap();
    let ing = ingest::load_bytes("b.zip", zip_of(&[("r.csv", &csv), ("r.xlsx", &xlsx)]), &Options::default()).unwrap();
    assert_eq!(ing.report.file, "b.zip:r.csv");
    assert!(ing.report.notes.iter().any(|n| n.contains("also holds r.xlsx") && n.contains("read the CSV file r.csv")), "{:?}", ing.report.notes);
    // Two spreadsheets and no CSV: ask.
    let e = ingest::load_bytes("c.zip", zip_of(&[("a.xlsx", &xlsx), ("b.ods", &xlsx)]), &Options::default()).unwrap_err().to_string();
    assert!(e.contains("zip archive holds 2 spreadsheets (a.xlsx, b.ods)"), "{e}");
}

#[test]
fn damaged_and_foreign_files_are_errors_not_panics() {
    let err = |name: &str, bytes: Vec<u8>| ingest::load_bytes(name, bytes, &Options::default()).unwrap_err().to_string();
    let xlsx = std::fs::read(fixture("results_titles.xlsx")).unwrap();
    // Truncated: the zip directory is gone.
    let e = err("t.xlsx", xlsx[..xlsx.len() * 2 / 3].to_vec());
    assert!(e.starts_with("t.xlsx:") && e.contains("cannot read zip archive"), "{e}");
    // A workbook whose parts are garbage.
    let bad = zip_of(&[("xl/workbook.xml", b"<workbook><sheets><sheet name=\"S\" r:id=\"rId9\"/>"), ("[Content_Types].xml", b"<")]);
    let e = err("g.xlsx", bad);
    assert!(e.starts_with("g.xlsx: ") && e.contains("spreadsheet (xlsx)"), "{e}");
    // OLE2 magic with nothing valid after it.
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.extend(std::iter::repeat_n(0u8, 600));
    let e = err("o.xls", ole);
    assert!(e.starts_with("o.xls: ") && e.contains("cannot read the spreadsheet (xls)"), "{e}");
    // Password-protected: an OLE2 file with an EncryptedPackage stream, named as such.
    let e = load_err(&fixture("encrypted.xlsx"), &Options::default());
    assert!(e.contains("encrypted.xlsx: the spreadsheet is password-protected"), "{e}");
    // Not a table at all.
    let e = err("r.pdf", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n".to_vec());
    assert!(e.contains("r.pdf: the file is a PDF document") && e.contains("expected a CSV text file"), "{e}");
    let e = err("w.docx", zip_of(&[("word/document.xml", b"<w/>")]));
    assert!(e.contains("Word or PowerPoint document"), "{e}");
    let e = err("b.bin", (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect());
    assert!(e.contains("not text") || e.contains("binary"), "{e}");
}
