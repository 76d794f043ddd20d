//! Charts and the report, end to end through the binary: `simulate` an election with
//! fraud concentrated in one region, give that region and a candidate hostile names,
//! `analyze` it, then check every chart file (PNG decodes at the expected size with ink;
//! SVG is well-formed with the same size and many drawing elements), the escaping of
//! names in report.html / report.md / SVG, and the report in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tallyscope");
const HOSTILE_REGION: &str = "<script>alert(1)</script>";
const HOSTILE_CANDIDATE: &str = "<img src=x onerror=alert(2)>";

/// The analysed election, built once for all tests of this file.
fn fixture() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("election.csv");
        let st = Command::new(BIN)
            .args(["simulate", "--stations", "3000", "--seed", "11", "-o"])
            .arg(&csv)
            .args(["--fraud", "extreme:0.3@region=Region 01", "--fraud", "integer:0.03:5"])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        // Hostile names: the region with the fraud (so it tops the lists) and a candidate.
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(text.contains("Region 01") && text.contains("Candidate B"));
        let text = text.replace("Region 01", HOSTILE_REGION).replace("Candidate B", HOSTILE_CANDIDATE);
        std::fs::write(&csv, text).unwrap();
        let out = Command::new(BIN).arg("analyze").arg(&csv).arg("-o").arg(dir.path().join("out")).arg("-q").output().unwrap();
        assert!(out.status.success(), "analyze failed: {}", String::from_utf8_lossy(&out.stderr));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("drew 22 chart files and the report"), "stderr: {err}");
        dir
    })
    .path()
}

fn out() -> PathBuf {
    fixture().join("out")
}

const KINDS: [&str; 11] = [
    "turnout-fine",
    "share-fine",
    "turnout",
    "share",
    "fingerprint",
    "last-digits",
    "second-digits",
    "integer-regions",
    "scatter",
    "region-multiples",
    "commissions",
];

/// Width and height of the fixed-size charts (the bar charts' height grows with rows).
fn expected_size(kind: &str) -> Option<(u32, u32)> {
    match kind {
        "turnout-fine" | "share-fine" | "turnout" | "share" => Some((1400, 1000)),
        "fingerprint" | "mixture" => Some((1400, 760)),
        "last-digits" | "second-digits" => Some((1400, 700)),
        "scatter" => Some((1000, 1000)),
        "region-multiples" => Some((1400, 1050)),
        _ => None,
    }
}

struct Png {
    w: u32,
    h: u32,
    rgb: Vec<[u8; 3]>,
}

fn decode_png(path: &Path) -> Png {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut dec = png::Decoder::new(std::io::BufReader::new(f));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    assert!(ch >= 3, "{}: colour type {:?}", path.display(), info.color_type);
    let rgb = buf[..info.buffer_size()].chunks(ch).map(|p| [p[0], p[1], p[2]]).collect();
    Png { w: info.width, h: info.height, rgb }
}

/// Share of pixels that differ from the most common colour (the background).
fn ink_share(p: &Png) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for px in &p.rgb {
        *counts.entry(*px).or_insert(0usize) += 1;
    }
    let bg = counts.values().max().copied().unwrap_or(0);
    1.0 - bg as f64 / p.rgb.len() as f64
}

fn distinct_colours(p: &Png) -> usize {
    p.rgb.iter().collect::<std::collections::HashSet<_>>().len()
}

/// Checks that `s` is well-formed XML as far as tags go (every opened element is closed
/// in order; comments, declarations and self-closing tags allowed) and returns the tag
/// names in document order.
fn xml_tags(s: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").expect("unterminated comment");
            rest = &rest[end + 3..];
            continue;
        }
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("closing </{name}> with nothing open"));
            assert_eq!(open, name.trim(), "mismatched closing tag");
            continue;
        }
        let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
        names.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    names
}

fn attr_u32(svg: &str, name: &str) -> u32 {
    let root = &svg[svg.find("<svg").expect("no <svg> element")..];
    let root = &root[..root.find('>').unwrap()];
    let key = format!(" {name}=\"");
    let at = root.find(&key).unwrap_or_else(|| panic!("<svg> has no {name}")) + key.len();
    root[at..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn every_chart_is_a_valid_png_and_svg_of_the_expected_size() {
    let charts = out().join("charts");
    let mut files: Vec<String> = std::fs::read_dir(&charts).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files.len(), 2 * KINDS.len(), "files: {files:?}");
    for kind in KINDS {
        let png = decode_png(&charts.join(format!("{kind}.png")));
        match expected_size(kind) {
            Some(size) => assert_eq!((png.w, png.h), size, "{kind}.png size"),
            None => assert!(png.w == 1400 && png.h >= 400 && png.h <= 2000, "{kind}.png is {}x{}", png.w, png.h),
        }
        // Ink: axes, text, bars. The sparsest chart (last digits) inks about 3% of its
        // pixels; a blank or text-only chart would be well below 1%.
        let ink = ink_share(&png);
        assert!(ink > 0.015, "{kind}.png: only {:.2}% of pixels differ from the background", 100.0 * ink);
        assert!(distinct_colours(&png) > 20, "{kind}.png: {} colours", distinct_colours(&png));

        let svg = std::fs::read_to_string(charts.join(format!("{kind}.svg"))).unwrap();
        let tags = xml_tags(&svg);
        assert_eq!(tags.first().map(String::as_str), Some("svg"), "{kind}.svg root");
        assert_eq!((attr_u32(&svg, "width"), attr_u32(&svg, "height")), (png.w, png.h), "{kind}.svg size differs from the PNG");
        let drawing = tags.iter().filter(|t| matches!(t.as_str(), "rect" | "circle" | "polyline" | "polygon" | "path" | "line")).count();
        let texts = tags.iter().filter(|t| *t == "text").count();
        assert!(drawing > 30, "{kind}.svg: {drawing} drawing elements");
        assert!(texts > 10, "{kind}.svg: {texts} text elements (title, axes, ticks)");
    }
}

#[test]
fn names_from_the_input_are_escaped_everywhere() {
    let html = std::fs::read_to_string(out().join("report.html")).unwrap();
    let md = std::fs::read_to_string(out().join("report.md")).unwrap();
    let esc_region = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let esc_cand = "&lt;img src=x onerror=alert(2)&gt;";
    for (name, text) in [("report.html", &html), ("report.md", &md)] {
        assert!(!text.contains(HOSTILE_REGION), "{name} holds the raw region name");
        assert!(!text.contains("<img src=x"), "{name} holds the raw candidate name");
        assert!(!text.to_lowercase().contains("<script"), "{name} has a script tag");
        assert!(text.contains(esc_cand), "{name} lacks the escaped candidate name");
    }
    // The region's stations carry the fraud, so it appears in the top lists.
    assert!(html.contains(esc_region), "report.html lacks the escaped region name");
    assert!(md.contains(esc_region), "report.md lacks the escaped region name");
    // SVG text is escaped by plotters' SVG backend; check it stays so.
    for kind in ["integer-regions", "commissions", "region-multiples"] {
        let svg = std::fs::read_to_string(out().join("charts").join(format!("{kind}.svg"))).unwrap();
        assert!(!svg.contains(HOSTILE_REGION), "{kind}.svg holds the raw region name");
        assert!(svg.contains("&lt;script&gt;alert(1)"), "{kind}.svg lacks the (escaped, perhaps shortened) region name");
    }
}

#[test]
fn report_is_self_contained() {
    let html = std::fs::read_to_string(out().join("report.html")).unwrap();
    // Well-formed as XML too (void elements are written self-closed).
    xml_tags(&html);
    // Every image is inline; nothing is fetched.
    let imgs = html.matches("<img ").count();
    assert_eq!(imgs, KINDS.len(), "one inline PNG per chart");
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), imgs);
    for bad in ["<link", "<script", "http://", "https://", "@import", "url("] {
        assert!(!html.contains(bad), "report.html contains {bad:?}");
    }
    for section in ["The file and what was recognised", "Protocol arithmetic", "The tests", "Charts", "Stations and commissions to look at", "How to reproduce"] {
        assert!(html.contains(section), "missing section {section}");
    }
    assert!(html.contains("seed 20260101"), "the seed is in the reproduce section");
    assert!(html.contains("@media print"), "print styles");
    let md = std::fs::read_to_string(out().join("report.md")).unwrap();
    for kind in KINDS {
        assert!(md.contains(&format!("(charts/{kind}.png)")) && md.contains(&format!("(charts/{kind}.svg)")), "report.md links {kind}");
    }
}

/// The finite mixture's chart (issue 23: the fitted model beside the observed fingerprint)
/// is drawn and in the report only with `analyze --mixture`: absent from the default run
/// above, present in a run of the same file with the mixture on, where the chart shows two
/// filled panels.
#[test]
fn mixture_chart_only_with_the_mixture() {
    let html = std::fs::read_to_string(out().join("report.html")).unwrap();
    assert!(!html.contains("id=\"chart-mixture\"") && !out().join("charts/mixture.png").exists(), "mixture chart without --mixture");
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("out");
    let run = Command::new(BIN).arg("analyze").arg(fixture().join("election.csv")).args(["--mixture", "--no-calibration", "-q", "-o"]).arg(&o).output().unwrap();
    assert!(run.status.success(), "analyze --mixture failed: {}", String::from_utf8_lossy(&run.stderr));
    let html = std::fs::read_to_string(o.join("report.html")).unwrap();
    assert!(html.contains("id=\"chart-mixture\""), "no mixture chart in the report");
    assert!(html.contains("href=\"#chart-mixture\""), "the mixture finding does not point at its chart");
    let png = decode_png(&o.join("charts/mixture.png"));
    assert_eq!((png.w, png.h), (1400, 760));
    // two panels of viridis cells: much ink, many colours
    assert!(ink_share(&png) > 0.1 && distinct_colours(&png) > 100, "ink {} colours {}", ink_share(&png), distinct_colours(&png));
    let svg = std::fs::read_to_string(o.join("charts/mixture.svg")).unwrap();
    assert!(svg.contains("Fitted model: f_i = "), "the model panel's caption");
}

#[test]
fn plot_draws_one_chart_in_the_format_of_the_extension() {
    let csv = fixture().join("election.csv");
    let dir = tempfile::tempdir().unwrap();
    for ext in ["png", "svg"] {
        let path = dir.path().join(format!("digits.{ext}"));
        let st = Command::new(BIN).args(["plot", "last-digits"]).arg(&csv).arg("-o").arg(&path).stderr(Stdio::null()).status().unwrap();
        assert!(st.success());
        let bytes = std::fs::read(&path).unwrap();
        if ext == "png" {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
            let png = decode_png(&path);
            assert_eq!((png.w, png.h), (1400, 700));
        } else {
            let svg = String::from_utf8(bytes).unwrap();
            assert!(xml_tags(&svg).iter().filter(|t| *t == "circle").count() >= 20, "two panels of ten observed dots");
        }
    }
    // For a paper: size, title, one panel; SVG text names the embedded font with fallbacks.
    let svg_path = dir.path().join("one.svg");
    let st = Command::new(BIN)
        .args(["plot", "turnout"])
        .arg(&csv)
        .arg("-o")
        .arg(&svg_path)
        .args(["--width", "900", "--height", "500", "--panel", "1", "--title", "Явка на участках"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!((attr_u32(&svg, "width"), attr_u32(&svg, "height")), (900, 500));
    assert!(svg.contains("Явка на участках"), "the title given");
    assert!(!svg.contains("Turnout at 1 pp bins"), "not the chart's own title");
    assert!(svg.contains("polling stations") && !svg.contains("voters (ballots"), "one panel: stations, not voters");
    assert!(svg.contains("font-family=\"DejaVu Sans, ") && !svg.contains("font-family=\"sans-serif\""), "SVG names the embedded font");
    let o = Command::new(BIN).args(["plot", "scatter"]).arg(&csv).arg("-o").arg(dir.path().join("x.png")).args(["--panel", "2"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has one panel"));
    // An unknown extension or kind is a usage error (exit status 2) that says why.
    let out = Command::new(BIN).args(["plot", "scatter"]).arg(&csv).arg("-o").arg(dir.path().join("x.jpg")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".png or .svg"));
    let out = Command::new(BIN).args(["plot", "pie"]).arg(&csv).arg("-o").arg(dir.path().join("x.png")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("turnout-fine"), "the error lists the kinds");
}

/// Chromium as the PATH finds it (as `.ci/run` does): a PATH without it is a machine
/// without it, and the test says it was not run.
fn chromium() -> Option<PathBuf> {
    let out = Command::new("sh").args(["-c", "command -v chromium || command -v chromium-browser"]).output().ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// Runs Chromium headless with `extra` flags on `url`; returns (stdout, stderr). Output
/// goes to files, not pipes: Chromium logs a lot, and a full pipe would block it.
fn run_chromium(bin: &Path, profile: &Path, extra: &[&str], url: &str) -> (String, String) {
    let (o, e) = (profile.with_extension("out"), profile.with_extension("err"));
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (read(&o), read(&e))
}

#[test]
fn report_renders_in_headless_chromium_without_console_errors() {
    let Some(bin) = chromium() else {
        // The README's test command must pass on a fresh machine with only Rust, so a
        // missing browser is a loud skip there; CI installs Chromium and sets
        // TALLYSCOPE_REQUIRE_BROWSER=1, where a missing browser is a failure.
        if std::env::var("TALLYSCOPE_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "chromium is not installed but TALLYSCOPE_REQUIRE_BROWSER=1: this test opens report.html in \
                 headless Chromium (Debian: apt-get install -y --no-install-recommends chromium)"
            );
        }
        // Straight to the process's stderr, past the test harness's capture, so that
        // `cargo test` shows that this test did not run.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED report_renders_in_headless_chromium_without_console_errors: chromium is not installed, so \
             report.html was not opened in a browser (this test checked nothing). Install it (Debian: apt-get \
             install -y --no-install-recommends chromium) to run it; CI does, with TALLYSCOPE_REQUIRE_BROWSER=1"
        );
        return;
    };
    let report = out().join("report.html");
    let url = format!("file://{}", report.canonicalize().unwrap().display());
    let work = tempfile::tempdir().unwrap();
    let shot = work.path().join("shot.png");
    let (_, err) = run_chromium(&bin, &work.path().join("p1"), &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2000"], &url);
    assert!(shot.exists(), "no screenshot; chromium said:\n{err}");
    let console: Vec<&str> = err.lines().filter(|l| l.contains("Uncaught") || l.contains(":CONSOLE") || l.contains("Not allowed to load")).collect();
    assert!(console.is_empty(), "console errors:\n{}", console.join("\n"));
    let png = decode_png(&shot);
    assert_eq!((png.w, png.h), (1280, 2000));
    // Not blank: text and tables ink a good part of the first screen, in many shades.
    let lum: Vec<f64> = png.rgb.iter().map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64).collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    assert!(var > 100.0, "screenshot looks blank: luminance variance {var:.1}");
    assert!(ink_share(&png) > 0.03, "screenshot inks {:.2}% of pixels", 100.0 * ink_share(&png));
    // The DOM after load: every chart image decoded (naturalWidth is not observable
    // here, but the elements are there) and the headings rendered.
    let (dom, err) = run_chromium(&bin, &work.path().join("p2"), &["--dump-dom"], &url);
    assert!(dom.contains("<h1>tallyscope report: election.csv</h1>"), "DOM:\n{}\nstderr:\n{err}", &dom[..dom.len().min(2000)]);
    assert_eq!(dom.matches("<img ").count(), KINDS.len());
    assert!(!dom.contains(HOSTILE_REGION));

    // Layout and colours as the browser computes them: a copy of the report with a probe
    // script (the report itself has none) that writes what it measured into the page.
    let probe = probe_report(&bin, &work.path().join("p3"), &report, 1400);
    eprintln!("browser probe at 1400 px: {probe}");
    let field = |k: &str| -> String {
        let key = format!("\"{k}\":");
        let at = probe.find(&key).unwrap_or_else(|| panic!("probe lacks {k}: {probe}")) + key.len();
        probe[at..].split([',', '}']).next().unwrap().trim_matches('"').to_string()
    };
    assert_eq!(field("first_h2"), "What this shows", "the summary section comes first");
    assert!(field("findings").parse::<usize>().unwrap() >= 4, "findings in the summary: {probe}");
    assert_eq!(field("images_decoded"), KINDS.len().to_string(), "every chart decoded: {probe}");
    assert_eq!(field("too_wide"), "0", "charts or tables wider than the page: {probe}");
    assert_eq!(field("page_overflow"), "0", "the page scrolls sideways: {probe}");
    assert!(field("na_cells").parse::<usize>().unwrap() > 0, "the fixture has tests not applicable here, shown greyed: {probe}");
    assert_eq!(field("red_on_na"), "0", "red text on a not-applicable row or finding: {probe}");
    assert!(field("red_elsewhere").parse::<usize>().unwrap() > 0, "the probe sees red where it is meant (significant p-values): {probe}");
}

/// Opens a copy of `report` with a probe script in headless Chromium at `width` px and
/// returns the JSON the script wrote: the first section's title, the number of findings,
/// decoded images, elements wider than the page, sideways overflow, greyed
/// (not-applicable) cells and findings, and red text inside them and elsewhere.
fn probe_report(bin: &Path, profile: &Path, report: &Path, width: u32) -> String {
    const PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  var W = document.documentElement.clientWidth;
  var red = function (el) {
    var m = getComputedStyle(el).color.match(/\d+/g).map(Number);
    return m[0] > 150 && m[1] < 120 && m[2] < 120;
  };
  var na = Array.from(document.querySelectorAll('td.dim, .finding.s-na'));
  var naRed = 0;
  na.forEach(function (el) { [el].concat(Array.from(el.querySelectorAll('*'))).forEach(function (x) { if (red(x) && x.textContent.trim()) naRed++; }); });
  var redElse = Array.from(document.querySelectorAll('td')).filter(function (x) { return !x.classList.contains('dim') && red(x) && x.textContent.trim(); }).length;
  var wide = Array.from(document.querySelectorAll('img, table, figure, pre')).filter(function (x) {
    var r = x.getBoundingClientRect();
    var box = x.closest('.wrap') ? x.closest('.wrap').getBoundingClientRect() : r;
    return box.right > W + 1 || box.left < -1;
  }).length;
  var imgs = Array.from(document.images).filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var h2 = document.querySelector('h2');
  var out = {first_h2: h2 ? h2.textContent : '', findings: document.querySelectorAll('.finding').length,
    images_decoded: imgs, too_wide: wide, page_overflow: document.documentElement.scrollWidth > W ? 1 : 0,
    na_cells: na.length, red_on_na: naRed, red_elsewhere: redElse};
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;
    let html = std::fs::read_to_string(report).unwrap();
    let copy = report.with_file_name("report-probe.html");
    std::fs::write(&copy, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let url = format!("file://{}", copy.canonicalize().unwrap().display());
    let (dom, err) = run_chromium(bin, profile, &["--dump-dom", "--virtual-time-budget=5000", &format!("--window-size={width},2000")], &url);
    let _ = std::fs::remove_file(&copy);
    let at = dom.find("<pre id=\"probe\">").unwrap_or_else(|| panic!("the probe did not run; stderr:\n{err}"));
    let rest = &dom[at + "<pre id=\"probe\">".len()..];
    rest[..rest.find("</pre>").unwrap()].replace("&quot;", "\"")
}

/// The report's "which tests see which fraud" table (`src/report/power_national.json`,
/// written by `calibrate --power --power-summary`) re-measured with fewer replicates:
/// every test it lists with power of 80% or more still rejects in at least half of 12
/// falsified replicates, its null does not fail grossly on 40 clean ones (rate below
/// 0.2; the table's 200 replicates decided validity), and the ranking's AUC
/// agrees within 0.03. The report shows the table.
#[test]
fn power_table_of_the_report_holds_when_measured_again() {
    use tallyscope::calibrate::{self, Preset};
    let table = tallyscope::report::power_national();
    assert_eq!(table.kinds.len(), 7, "every kind of the simulator");
    assert!(table.source.contains("--power-summary"), "{}", table.source);
    let integer = table.kinds.iter().find(|k| k.kind == "integer").unwrap();
    assert!(integer.sees.iter().any(|(t, p)| t == "integer.either" && *p >= 0.8), "{:?}", integer.sees);
    let p = Preset::from_name("national").unwrap();
    let opt = calibrate::Options {
        reps: 40,
        seed: 7,
        alphas: vec![0.05],
        not_applicable_above: None,
        analysis: tallyscope::analysis::Options { bootstrap: 0, fingerprint: false, ..Default::default() },
    };
    let r = calibrate::run("preset national", &p.config(20_000), &opt, &calibrate::default_power_specs(), 12, &|| ()).unwrap();
    for k in &table.kinds {
        let again = r.power.iter().find(|q| q.kind == k.kind).unwrap();
        for (t, was) in k.sees.iter().filter(|(t, p)| *p >= 0.8 && !t.starts_with("fingerprint")) {
            let now = again.rate(t).unwrap_or(0.0);
            eprintln!("{:<11} {t:<40} {was:.2} -> {now:.2}", k.kind);
            assert!(now >= 0.5, "{}: {t} power {was} in the table, {now} measured again", k.kind);
            // 40 clean replicates only refute a gross failure of the null: a valid test
            // at a true 6% (last digits of candidate B: 12 of 200 in the table's run)
            // shows 6 of 40 about 4% of the time.
            if let Some(row) = r.type_i.row(t, "nation") {
                assert!(row.rate() < 0.2, "{t}: null failed on clean replicates ({}, {:?})", row.rate(), row.verdict);
            }
        }
        assert!((again.auc.mean - k.ranking_auc).abs() < 0.03, "{}: AUC {} vs {}", k.kind, again.auc.mean, k.ranking_auc);
    }
    let html = std::fs::read_to_string(out().join("report.html")).unwrap();
    assert!(html.contains("Which tests see which fraud") && html.contains("integer.either ("), "power table missing from the report");
}

/// An `--out` folder holds one run: rerunning with other options removes the earlier
/// run's report and charts (and says so) but leaves the user's own files; `--out` naming
/// a file is an error in words (exit status 2), not "File exists (os error 17)".
#[test]
fn out_folder_holds_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let run = |extra: &[&str]| {
        let o = Command::new(BIN).args(["analyze", "fixtures/small.csv", "-q", "--no-calibration", "--out"]).arg(&out).args(extra).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let first = run(&[]);
    assert!(!first.contains("previous run"), "{first}");
    assert!(out.join("report.html").is_file() && out.join("charts/last-digits.png").is_file());
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let second = run(&["--no-charts", "--format", "csv"]);
    assert!(second.contains("held a previous run: removed its"), "{second}");
    assert!(!out.join("report.html").exists(), "the earlier run's report stays beside the new tables");
    assert!(!out.join("charts").exists(), "the earlier run's charts stay");
    assert!(!out.join("stations.json").exists(), "the earlier run's JSON stays beside the new CSV");
    assert!(out.join("summary.json").is_file() && out.join("stations.csv").is_file());
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine", "a file of the user's is left alone");
    let o = Command::new(BIN).args(["analyze", "fixtures/small.csv", "-q", "--out"]).arg(out.join("notes.txt")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is a file, not a folder") && !err.contains("os error"), "{err}");
}

/// `rank` runs analyze's analysis with analyze's defaults: its top stations and scores
/// are the first rows of analyze's stations.csv (they differed when rank skipped the
/// calibration and the fingerprint).
#[test]
fn rank_prints_the_ranking_analyze_writes() {
    let csv = fixture().join("election.csv");
    let o = Command::new(BIN).args(["rank", "--top", "5"]).arg(&csv).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let stations = std::fs::read_to_string(out().join("stations.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(stations.as_bytes());
    let head = rdr.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (line, score) = (col("line"), col("score"));
    let rows: Vec<csv::StringRecord> = rdr.records().take(5).map(|r| r.unwrap()).collect();
    for (k, r) in rows.iter().enumerate() {
        let s: f64 = r[score].parse().unwrap();
        let want = format!("{:>4}. {:>6.1}", k + 1, s);
        let got = text.lines().find(|l| l.trim_start().starts_with(&format!("{}.", k + 1))).unwrap_or_else(|| panic!("no row {} in:\n{text}", k + 1));
        assert!(got.starts_with(&want) || got.contains(&format!("{s:.1}")), "rank row {}: {got:?}, analyze: score {s}", k + 1);
        assert!(got.contains(&format!("(line {})", &r[line])), "rank row {} is not analyze's station at line {}: {got}", k + 1, &r[line]);
    }
}
