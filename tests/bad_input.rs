//! The bad-input catalogue of issue 2: every problem is a clear error naming file, line,
//! column and value (exit status 2), or, with --skip-bad-rows, a counted skip. Never a
//! panic. Also the good-input variants real files come in (BOM, CRLF, delimiters, zip,
//! gzip, stdin, long format, mapping files).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HEAD: &str = "region,commission,station,registered,issued,in_boxes,invalid,valid,Alice,Bob";
const ROW1: &str = "North,N-1,1,1000,600,600,10,590,400,190";
const ROW2: &str = "North,N-1,2,800,500,500,5,495,300,195";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tallyscope"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("binary runs");
    if let Some(b) = stdin {
        child.stdin.take().unwrap().write_all(b).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    };
    assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
    out
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs `inspect` on `bytes` and expects exit 2 with every fragment in the message.
fn expect_error(bytes: &[u8], extra: &[&str], fragments: &[&str]) -> String {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "in.csv", bytes);
    let mut args = vec!["inspect", p.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args, None);
    assert_eq!(o.code, 2, "expected exit 2, got {}; stderr: {}", o.code, o.stderr);
    for f in fragments {
        assert!(o.stderr.contains(f), "message lacks {f:?}: {}", o.stderr);
    }
    o.stderr
}

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut s = rows.join("\n");
    s.push('\n');
    s.into_bytes()
}

#[test]
fn empty_file() {
    expect_error(b"", &[], &["in.csv: file is empty", "header line"]);
    expect_error(b"\n\n  \n", &[], &["file is empty"]);
}

#[test]
fn header_only() {
    expect_error(&csv(&[HEAD]), &[], &["in.csv:1:", "header but no data rows"]);
}

#[test]
fn missing_required_role() {
    // A named column that is not there: the message lists near matches.
    expect_error(&csv(&[HEAD, ROW1]), &["--registered", "Registred"], &[
        "--registered \"Registred\": no such column",
        "the header has 10 columns",
    ]);
    expect_error(&csv(&[HEAD, ROW1]), &["--valid", "valid ballots"], &["did you mean \"valid\""]);
    // No candidate columns left at all: `inspect` shows the file (a list of nullified
    // stations with their voters is a real file), every analysing command refuses.
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "in.csv", &csv(&["region,station,registered,valid", "A,1,100,50"]));
    let o = run(&["inspect", p.to_str().unwrap()], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("candidates (0)"), "{}", o.stdout);
    let o = run(&["check", p.to_str().unwrap()], None);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no candidate columns") && o.stderr.contains("--candidates"), "{}", o.stderr);
    // Long format without the columns it needs.
    expect_error(&csv(&["station,candidate,votes", "1,A,10"]), &["--long", "--votes-column", "votes"], &[
        "--long needs --candidate-column",
    ]);
}

#[test]
fn two_columns_one_role() {
    // By mistake, one column named for two roles.
    expect_error(&csv(&[HEAD, ROW1]), &["--valid", "Alice", "--invalid", "Alice"], &[
        "column \"Alice\" is mapped twice",
    ]);
    // Two columns that both look like registered voters.
    expect_error(
        &csv(&["station,registered,Registered voters,valid,A", "1,100,100,50,50"]),
        &[],
        &["2 columns look like role registered", "\"registered\", \"Registered voters\"", "--registered"],
    );
    // Flags may name only one column for a single-column role.
    expect_error(&csv(&[HEAD, ROW1]), &["--valid", "valid,invalid"], &["only issued and in-boxes ballots are summed"]);
}

#[test]
fn non_numeric_count() {
    expect_error(&csv(&[HEAD, ROW1, "North,N-1,2,800,5OO,500,5,495,300,195"]), &[], &[
        "in.csv:3: column \"issued\": value \"5OO\": not a number",
    ]);
}

#[test]
fn negative_count() {
    expect_error(&csv(&[HEAD, ROW1, "North,N-1,2,800,500,500,5,495,-3,195"]), &[], &[
        "in.csv:3: column \"Alice\": value \"-3\": negative count",
    ]);
}

#[test]
fn fractional_count() {
    // A fractional cell in a column of counts is an error with its line; a column whose
    // values are mostly fractions is a share, not a candidate (see `ingest::profile`).
    expect_error(&csv(&[HEAD, ROW1, ROW2, "North,N-1,2,800,500,500,5,495,300.5,195"]), &[], &[
        "in.csv:4: column \"Alice\": value \"300.5\": fractional count",
    ]);
}

#[test]
fn count_beyond_u32() {
    expect_error(&csv(&[HEAD, "North,N-1,2,4294967296,500,500,5,495,300,195"]), &[], &[
        "in.csv:2: column \"registered\": value \"4294967296\": count too large",
    ]);
}

#[test]
fn empty_cell() {
    // An empty count cell is a protocol published in part, not an unreadable row: the
    // station is read, counted and set aside from the statistics, and the rules that
    // need the missing line are not checked there.
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "in.csv", &csv(&[HEAD, ROW1, "North,N-1,2,800,,500,5,495,300,195"]));
    let o = run(&["inspect", p.to_str().unwrap()], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("1 stations published their protocol in part"), "{}", o.stdout);
    assert!(o.stdout.contains("1 partial"), "{}", o.stdout);
    let o = run(&["check", p.to_str().unwrap()], None);
    assert_eq!(o.code, 0, "no violation from a missing line: {}", o.stderr);
}

#[test]
fn ragged_rows() {
    expect_error(&csv(&[HEAD, ROW1, "North,N-1,2,800,500,500,5,495,300,195,17"]), &[], &[
        "in.csv:3:",
        "11 fields but the header has 10: too many fields",
    ]);
    expect_error(&csv(&[HEAD, "North,N-1,2,800,500,500,5,495,300", ROW2]), &[], &[
        "in.csv:2:",
        "9 fields but the header has 10: too few fields",
    ]);
}

#[test]
fn unterminated_quote() {
    expect_error(&csv(&[HEAD, ROW1, "\"North,N-1,2,800,500,500,5,495,300,195", ROW2, ROW2]), &[], &[
        "in.csv:3:",
        "unterminated quote",
    ]);
}

#[test]
fn duplicate_header_names() {
    // A repeated name (Georgia's CEC files repeat "logic check") is kept apart by its
    // column number, so every column can still be named.
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "in.csv", &csv(&["station,valid,Alice,Alice", "1,10,5,5"]));
    let o = run(&["inspect", p.to_str().unwrap()], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("Alice (column 4)"), "{}", o.stdout);
}

#[test]
fn non_utf8_is_decoded_or_named() {
    // "Число избирателей" in CP1251: detected and decoded; forcing UTF-8 is an error that
    // names the encoding the bytes look like.
    let mut b = b"station,".to_vec();
    b.extend_from_slice(&[0xD7, 0xE8, 0xF1, 0xEB, 0xEE, 0x20, 0xE8, 0xE7, 0xE1, 0xE8, 0xF0, 0xE0, 0xF2, 0xE5, 0xEB, 0xE5, 0xE9]);
    b.extend_from_slice(b",A\n1,100,50\n");
    let j = inspect_json(&b, "in.csv", &[]);
    assert!(j["columns"].to_string().contains("Число избирателей"), "{j}");
    expect_error(&b, &["--encoding", "utf-8"], &["in.csv:1:", "not UTF-8", "--encoding windows-1251"]);
    expect_error(&b, &["--encoding", "klingon"], &["--encoding \"klingon\": unknown encoding", "windows-1251", "koi8-r"]);
}

#[test]
fn zip_with_no_csv_or_several() {
    expect_error(&common::zip_of(&[("readme.md", b"hello")]), &[], &["zip archive holds no CSV file"]);
    let c = csv(&[HEAD, ROW1]);
    expect_error(&common::zip_of(&[("a.csv", &c), ("b.csv", &c)]), &[], &["zip archive holds 2 CSV files (a.csv, b.csv)"]);
}

#[test]
fn directory_instead_of_file() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&["inspect", d.path().to_str().unwrap()], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("is a directory; expected a CSV file"), "{}", o.stderr);
    let o = run(&["inspect", "/nonexistent/x.csv"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("/nonexistent/x.csv: No such file or directory"), "{}", o.stderr);
}

#[test]
fn skip_bad_rows_counts_and_reports() {
    let d = tempfile::tempdir().unwrap();
    let bytes = csv(&[
        HEAD,
        ROW1,
        "North,N-1,2,800,5OO,500,5,495,300,195", // line 3: not a number
        ROW2.replace(",2,", ",3,").as_str(),
        "North,N-1,4,800,500,500,5,495,300", // line 5: ragged
        "North,N-1,5,,,,,,,",                // line 6: unpublished protocol
        ROW2.replace(",2,", ",6,").as_str(),
    ]);
    let p = file(d.path(), "in.csv", &bytes);
    // Without the flag: an error at the first bad row.
    let o = run(&["inspect", p.to_str().unwrap()], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("in.csv:3: column \"issued\""), "{}", o.stderr);
    // With it: counted skips, and the accounting adds up.
    let o = run(&["inspect", "--json", "--skip-bad-rows", p.to_str().unwrap()], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(j["stations"], 3);
    assert_eq!(j["rows"]["in_file"], 6);
    assert_eq!(j["rows"]["used"], 3);
    assert_eq!(j["rows"]["skipped"], 2);
    assert_eq!(j["rows"]["unpublished"], 1);
    assert_eq!(j["rows"]["skips"][0]["line"], 3);
    assert_eq!(j["rows"]["skips"][1]["line"], 5);
    assert!(j["rows"]["skips"][1]["reason"].as_str().unwrap().contains("too few fields"));
    assert_eq!(j["unpublished"][0]["line"], 6);
    // Text mode reports skips on stderr.
    let o = run(&["inspect", "--skip-bad-rows", p.to_str().unwrap()], None);
    assert!(o.stderr.contains("skipped 2 unreadable rows of 6"), "{}", o.stderr);
    assert!(o.stderr.contains("1 rows have no counts at all"), "{}", o.stderr);
}

#[test]
fn unpublished_rows_are_not_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "in.csv", &csv(&[HEAD, ROW1, "North,N-1,9,,,,,,,", ROW2]));
    let o = run(&["inspect", "--json", p.to_str().unwrap()], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(j["stations"], 2);
    assert_eq!(j["rows"]["unpublished"], 1);
    assert_eq!(j["unpublished"][0]["station"], "9");
}

// ---- good input in the shapes real files come in ----

fn inspect_json(bytes: &[u8], name: &str, extra: &[&str]) -> serde_json::Value {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), name, bytes);
    let mut args = vec!["inspect", "--json", p.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args, None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap()
}

#[test]
fn bom_crlf_semicolon_tab() {
    let base = csv(&[HEAD, ROW1, ROW2]);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(&String::from_utf8(base.clone()).unwrap().replace('\n', "\r\n").into_bytes());
    let j = inspect_json(&bom, "bom.csv", &[]);
    assert_eq!(j["stations"], 2);
    assert_eq!(j["bom"], true);
    assert_eq!(j["registered_total"], 1800);
    assert_eq!(j["roles"]["region"], serde_json::Value::Null); // region is a level, not a role
    assert_eq!(j["levels"][0]["name"], "region");
    let semi = String::from_utf8(base.clone()).unwrap().replace(',', ";");
    let j = inspect_json(semi.as_bytes(), "semi.csv", &[]);
    assert_eq!(j["delimiter"], ";");
    assert_eq!(j["leader"], "Alice");
    let tab = String::from_utf8(base).unwrap().replace(',', "\t");
    let j = inspect_json(tab.as_bytes(), "tab.csv", &[]);
    assert_eq!(j["delimiter"], "tab");
    assert_eq!(j["registered_total"], 1800);
}

#[test]
fn gzip_zip_and_stdin() {
    let base = csv(&[HEAD, ROW1, ROW2]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&base).unwrap();
    let j = inspect_json(&gz.finish().unwrap(), "x.csv.gz", &[]);
    assert_eq!(j["container"], "gzip");
    assert_eq!(j["stations"], 2);
    let j = inspect_json(&common::zip_of(&[("__MACOSX/._x.csv", b"junk"), ("data/x.csv", &base)]), "x.zip", &[]);
    assert_eq!(j["container"], "zip");
    assert_eq!(j["registered_total"], 1800);
    let o = run(&["inspect", "--json", "-"], Some(&base));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(j["file"], "<stdin>");
    assert_eq!(j["stations"], 2);
}

#[test]
fn flags_and_mapping_file() {
    let bytes = csv(&[
        "Oblast;TIK;UIK;Voters;Early;OnDay;Box;Bad;Good;Ann;Ben",
        "A;1;1;1000;100;500;600;10;590;400;190",
        "A;1;2;800;0;500;500;5;495;300;195",
    ]);
    let flags = [
        "--region", "Oblast", "--commission", "TIK", "--station", "UIK", "--registered", "Voters", "--issued",
        "Early,OnDay", "--in-boxes", "Box", "--invalid", "Bad", "--valid", "Good",
    ];
    let j = inspect_json(&bytes, "f.csv", &flags);
    assert_eq!(j["roles"]["issued"], serde_json::json!(["Early", "OnDay"]));
    assert_eq!(j["totals"]["issued"], 1100);
    assert_eq!(j["leader"], "Ann");
    assert_eq!(j["levels"][1]["name"], "commission");
    let d = tempfile::tempdir().unwrap();
    let m = file(
        d.path(),
        "map.toml",
        b"region = \"Oblast\"\ncommission = \"TIK\"\nstation = \"UIK\"\nregistered = \"Voters\"\nissued = [\"Early\", \"OnDay\"]\nin_boxes = \"Box\"\ninvalid = \"Bad\"\nvalid = \"Good\"\n",
    );
    let j2 = inspect_json(&bytes, "f.csv", &["--mapping", m.to_str().unwrap()]);
    assert_eq!(j2["roles"], j["roles"]);
    assert_eq!(j2["totals"], j["totals"]);
    // A broken mapping file names its line.
    let bad = file(d.path(), "bad.toml", b"registered = \"Voters\"\nvaild = \"Good\"\n");
    let o = run(&["inspect", "--mapping", bad.to_str().unwrap(), d.path().join("f.csv").to_str().unwrap()], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("bad.toml:2: invalid mapping file (TOML)"), "{}", o.stderr);
}

#[test]
fn long_format_with_where() {
    let bytes = csv(&[
        "county,precinct,office,candidate,votes,registered",
        "C1,P1,President,Ann,50,200",
        "C1,P1,President,Ben,30,200",
        "C1,P1,Senate,Zed,70,200",
        "C1,P2,President,Ann,20,150",
        "C1,P2,President,Ben,40,150",
        "C2,P1,President,Ben,5,90",
    ]);
    let j = inspect_json(&bytes, "l.csv", &[
        "--long", "--station", "county,precinct", "--candidate-column", "candidate", "--votes-column", "votes",
        "--where", "office=President", "--region", "county",
    ]);
    assert_eq!(j["stations"], 3);
    assert_eq!(j["leader"], "Ben");
    assert_eq!(j["registered_total"], 440);
    assert_eq!(j["rows"]["filtered"], 1);
    assert_eq!(j["rows"]["used"], 5);
    assert_eq!(j["missing_pairs_as_zero"], 1); // Ann has no row at C2/P1
    // Disagreeing repeated protocol lines are an error naming both lines.
    let bad = csv(&["precinct,candidate,votes,registered", "P1,Ann,5,100", "P1,Ben,5,101"]);
    expect_error(&bad, &["--long", "--station", "precinct", "--candidate-column", "candidate", "--votes-column", "votes"], &[
        "in.csv:3: column \"registered\": value \"101\"",
        "registered = 100 on line 2 but 101 here",
    ]);
}

// ---- issue 9: the hostile-input catalogue ----

/// Runs `analyze` on `bytes` and returns summary.json; every p, q and calibrated α in
/// tests.csv must be in [0, 1] and the reconciliation must balance.
fn analyze_ok(bytes: &[u8], extra: &[&str]) -> serde_json::Value {
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "in.csv", bytes);
    let out = d.path().join("out");
    let mut args = vec!["analyze", "-q", "--bootstrap", "10", "--digit-draws", "9", "--out", out.to_str().unwrap(), p.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args, None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for t in j["tests"].as_array().unwrap() {
        for k in ["p", "q", "calibrated_alpha"] {
            if let Some(x) = t[k].as_f64() {
                assert!((0.0..=1.0).contains(&x), "{} {}: {k} = {x}", t["test"], t["scope"]);
            }
        }
    }
    assert_eq!(j["reconciliation"]["balanced"], true, "{}", j["reconciliation"]);
    j
}

#[test]
fn huge_fields() {
    // A 1 MB count: a located error whose value is shortened, not a megabyte on the screen.
    let big = "9".repeat(1 << 20);
    let msg = expect_error(&csv(&[HEAD, &format!("North,N-1,2,800,500,500,5,495,{big},195")]), &[], &[
        "in.csv:2: column \"Alice\": value \"9999",
        "(1048576 bytes in all)",
        "count too large",
    ]);
    assert!(msg.len() < 1000, "{} bytes of message", msg.len());
    // A 1 MB region name is a label like any other.
    let name = "R".repeat(1 << 20);
    let j = inspect_json(&csv(&[HEAD, &ROW1.replace("North", &name), ROW2]), "big.csv", &[]);
    assert_eq!(j["stations"], 2);
    // A 20 MB field is past the 16 MiB line limit: an error naming the line.
    let huge = "7".repeat(20 << 20);
    expect_error(&csv(&[HEAD, ROW1, &format!("North,N-1,3,{huge},500,500,5,495,300,195")]), &[], &[
        "in.csv:3:",
        "longer than 16 MiB without a line end",
    ]);
}

#[test]
fn million_column_header() {
    let head: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
    let row = vec!["1"; 1_000_000].join(",");
    let t = std::time::Instant::now();
    expect_error(&csv(&[&head.join(","), &row]), &[], &[
        "in.csv:1:",
        "the header has 1,000,000 columns; a protocol table has at most 10,000",
        "--delimiter",
    ]);
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
}

#[test]
fn nul_bytes() {
    expect_error(&csv(&[HEAD, ROW1, "North,N-1,2,80\u{0}0,500,500,5,495,300,195"]), &[], &[
        "in.csv:3: column \"registered\": value \"80\\00\": contains a NUL byte (0x00)",
    ]);
    // In a label, too: a NUL is never part of a real name.
    expect_error(&csv(&[HEAD, "Nor\u{0}th,N-1,2,800,500,500,5,495,300,195"]), &[], &[
        "in.csv:2: column \"region\"",
        "NUL byte",
    ]);
    expect_error(&csv(&["station,valid,A\u{0}", "1,2,2"]), &[], &["in.csv:1:", "header contains a NUL byte"]);
    // With --skip-bad-rows the row is a counted skip.
    let j = inspect_json(&csv(&[HEAD, ROW1, "North,N-1,2,80\u{0}0,500,500,5,495,300,195"]), "n.csv", &["--skip-bad-rows"]);
    assert_eq!(j["rows"]["skipped"], 1);
    assert_eq!(j["stations"], 1);
}

#[test]
fn utf16_with_and_without_bom() {
    let text = String::from_utf8(csv(&[HEAD, ROW1])).unwrap();
    let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    for b in [[&[0xFF, 0xFE][..], &le].concat(), [&[0xFE, 0xFF][..], &be].concat(), le.clone(), be.clone()] {
        let j = inspect_json(&b, "u16.csv", &[]);
        assert_eq!(j["stations"], 1);
        assert_eq!(j["registered_total"], 1000);
    }
}

#[test]
fn latin1_bytes() {
    // "München" and "Köln" in ISO-8859-1 (Windows-1252): decoded; forced UTF-8 names the line.
    let mut b = b"region,station,registered,valid,A\nM".to_vec();
    b.extend_from_slice(b"\xFCnchen,1,100,50,50\nK\xF6ln,2,100,50,50\n");
    let j = inspect_json(&b, "l1.csv", &[]);
    assert_eq!(j["stations"], 2);
    expect_error(&b, &["--encoding", "utf8"], &["in.csv:2:", "bytes FC 6E 63 68", "not UTF-8", "windows-1252"]);
}

#[test]
fn file_ends_mid_row() {
    let mut b = csv(&[HEAD, ROW1]);
    b.extend_from_slice(b"North,N-1,2,800,50");
    expect_error(&b, &[], &["in.csv:3:", "the file ends in the middle of this row: 5 of 10 fields and no line end"]);
    // Ending after a complete last row without a newline is fine.
    let mut b = csv(&[HEAD, ROW1]);
    b.extend_from_slice(ROW2.as_bytes());
    assert_eq!(inspect_json(&b, "x.csv", &[])["stations"], 2);
    // A short row in the middle is still "too few fields".
    expect_error(&csv(&[HEAD, "North,N-1,2,800,50", ROW2]), &[], &["in.csv:2:", "too few fields"]);
}

#[test]
fn mixed_delimiters() {
    expect_error(&csv(&[HEAD, ROW1, &ROW2.replace(',', ";")]), &[], &[
        "in.csv:3:",
        "row is separated by ';' but the header by ','",
        "mixed delimiters",
    ]);
    expect_error(&csv(&[HEAD, &ROW2.replace(',', "\t")]), &[], &["separated by tab but the header by ','"]);
}

#[test]
fn thousands_separators() {
    for (cell, shown) in [("\"1 234\"", "1 234"), ("\"1,234\"", "1,234"), ("1\u{a0}234", "1\\u{a0}234"), ("1'234", "1'234")] {
        expect_error(&csv(&[HEAD, &format!("North,N-1,2,{cell},500,500,5,495,300,195")]), &[], &[
            &format!("in.csv:2: column \"registered\": value \"{shown}\": number with a thousands separator"),
        ]);
    }
}

#[test]
fn leading_plus_and_zero_fraction_are_read() {
    let j = inspect_json(&csv(&[HEAD, "North,N-1,2,+800,500,500,5,495.0,+300,195"]), "p.csv", &[]);
    assert_eq!(j["registered_total"], 800);
    assert_eq!(j["totals"]["valid"], 495);
    expect_error(&csv(&[HEAD, "North,N-1,2,++800,500,500,5,495,300,195"]), &[], &["value \"++800\": not a number"]);
}

#[test]
fn scientific_notation() {
    for v in ["1e3", "1.5E+02", "8E2"] {
        expect_error(&csv(&[HEAD, &format!("North,N-1,2,{v},500,500,5,495,300,195")]), &[], &[
            &format!("in.csv:2: column \"registered\": value \"{v}\": number in scientific notation"),
        ]);
    }
}

#[test]
fn crlf_errors_name_the_right_line_and_value() {
    let b = String::from_utf8(csv(&[HEAD, ROW1, "North,N-1,2,800,x,500,5,495,300,195"])).unwrap().replace('\n', "\r\n");
    // The csv crate's own line numbers are one short after CRLF line ends: every row
    // of a Windows file used to be reported on the line above.
    expect_error(b.as_bytes(), &[], &["in.csv:3: column \"issued\": value \"x\": not a number"]);
    // Blank lines are passed over but counted.
    let b = format!("{HEAD}\r\n{ROW1}\r\n\r\n\r\nNorth,N-1,2,800,x,500,5,495,300,195\r\n");
    expect_error(b.as_bytes(), &[], &["in.csv:5: column \"issued\""]);
    // The line of a station in the outputs is right too: `check` names line 3.
    let b = String::from_utf8(csv(&[HEAD, ROW1, "North,N-1,2,800,900,500,5,495,300,195"])).unwrap().replace('\n', "\r\n");
    let d = tempfile::tempdir().unwrap();
    let p = file(d.path(), "w.csv", b.as_bytes());
    let o = run(&["check", p.to_str().unwrap()], None);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let first = o.stdout.lines().nth(1).unwrap();
    assert!(first.starts_with("3,2,North,N-1,issued_le_registered"), "{first}");
}

#[test]
fn station_with_zero_registered_voters() {
    let j = analyze_ok(&csv(&[HEAD, ROW1, ROW2, "North,N-1,3,0,0,0,0,0,0,0"]), &[]);
    assert_eq!(j["stations"], 3);
    let r = &j["reconciliation"];
    let integer = r["tests"].as_array().unwrap().iter().find(|f| f["tests"][0] == "integer.").unwrap();
    assert_eq!(integer["excluded"]["no ballots in the boxes (C = 0)"], 1);
}

#[test]
fn all_stations_identical() {
    let mut rows = vec![HEAD.to_string()];
    rows.extend((1..=60).map(|i| format!("North,N-1,{i},1000,600,600,10,590,400,190")));
    let rows: Vec<&str> = rows.iter().map(|s| s.as_str()).collect();
    let j = analyze_ok(&csv(&rows), &[]);
    assert_eq!(j["stations"], 60);
    // 59 stations repeat the first one's vote vector.
    let ident = j["check"]["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "identical_protocol").unwrap();
    assert_eq!(ident["violations"], 59);
}

#[test]
fn one_station_only() {
    let j = analyze_ok(&csv(&[HEAD, ROW1]), &[]);
    assert_eq!(j["stations"], 1);
    assert_eq!(j["leader"], "Alice");
}

#[test]
fn one_candidate_only() {
    let j = analyze_ok(
        &csv(&[
            "region,commission,station,registered,issued,in_boxes,invalid,valid,Alice",
            "North,N-1,1,1000,600,600,10,590,590",
            "North,N-1,2,800,500,500,5,495,495",
        ]),
        &[],
    );
    assert_eq!(j["stations"], 2);
    assert_eq!(j["leader"], "Alice");
}

/// A reader of `len` bytes of "1," with no line end, produced lazily.
struct OneLine {
    left: u64,
}

impl std::io::Read for OneLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize & !1;
        for pair in buf[..n].chunks_exact_mut(2) {
            pair.copy_from_slice(b"1,");
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A 2 GiB file of one line through standard input, under a 1 GiB address-space limit:
/// reading stops at 16 MiB with a clear message, quickly; the writer sees the pipe close.
#[test]
fn two_gigabytes_of_one_line_on_stdin() {
    let bin = env!("CARGO_BIN_EXE_tallyscope");
    let t = std::time::Instant::now();
    let mut child = Command::new("sh")
        .args(["-c", &format!("ulimit -v 1048576 && exec '{bin}' inspect -")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let copied = std::io::copy(&mut OneLine { left: 2 << 30 }, &mut stdin);
        copied.err().map(|e| e.kind())
    });
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("<stdin>:1: the line is longer than 16 MiB without a line end"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{err}");
    assert_eq!(writer.join().unwrap(), Some(std::io::ErrorKind::BrokenPipe), "the reader stopped early");
    assert!(t.elapsed().as_secs() < 30, "took {:?}", t.elapsed());
}

/// The same as a 2 GiB file on disk (sparse: no disk space used), also under 1 GiB.
#[test]
fn two_gigabyte_file_of_one_line() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.csv");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(2 << 30).unwrap();
    let bin = env!("CARGO_BIN_EXE_tallyscope");
    let o = Command::new("sh")
        .args(["-c", &format!("ulimit -v 1048576 && exec '{bin}' inspect '{}'", p.display())])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("big.csv:1: the line is longer than 16 MiB"), "{err}");
}
