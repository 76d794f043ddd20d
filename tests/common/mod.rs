//! Shared by the integration tests: where the real data lives.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data/ru/NAME` relative to the repository root. When it is absent the test
/// fails with a clear message, unless `TALLYSCOPE_SKIP_DATA=1`, in which case it says
/// loudly that it was skipped and returns `None`.
pub fn ru_data(name: &str) -> Option<PathBuf> {
    shared_data("ru", name)
}

/// `../shared/data/world/NAME`, with the same rule as [`ru_data`].
pub fn world_data(name: &str) -> Option<PathBuf> {
    shared_data("world", name)
}

fn shared_data(folder: &str, name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(folder).join(name);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("TALLYSCOPE_SKIP_DATA").as_deref() == Ok("1") {
        // Past the test harness's capture, so `cargo test` shows what did not run.
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "SKIPPED: {} is absent and TALLYSCOPE_SKIP_DATA=1; this test checked nothing", p.display());
        return None;
    }
    panic!(
        "real data {} is absent: these tests read ../shared/data/{folder} beside the repository; \
         set TALLYSCOPE_SKIP_DATA=1 to skip them knowingly",
        p.display()
    );
}

/// Two-sided exact binomial p of `k` successes in `n` trials against a rate `rate`
/// (twice the smaller tail, at most 1): whether a measured type-I rate agrees with α
/// within its Monte Carlo error.
pub fn binomial_two_sided_p(k: usize, n: usize, rate: f64) -> f64 {
    use statrs::distribution::{Binomial, DiscreteCDF};
    let b = Binomial::new(rate, n as u64).expect("0 ≤ rate ≤ 1");
    let lo = b.cdf(k as u64);
    let hi = if k == 0 { 1.0 } else { 1.0 - b.cdf(k as u64 - 1) };
    (2.0 * lo.min(hi)).min(1.0)
}

/// A zip archive of `members` (name, bytes), stored uncompressed: spreadsheets and CSVs
/// inside a zip, built in the test (no binary fixture in the repository).
pub fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opt = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, data) in members {
            z.start_file(*name, opt).unwrap();
            std::io::Write::write_all(&mut z, data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}
