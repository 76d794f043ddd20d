//! Shared by the integration tests: where the real data lives.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data/ru/NAME` relative to the repository root. When it is absent the test
/// fails with a clear message, unless `TALLYSCOPE_SKIP_DATA=1`, in which case it says
/// loudly that it was skipped and returns `None`.
pub fn ru_data(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ru").join(name);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("TALLYSCOPE_SKIP_DATA").as_deref() == Ok("1") {
        eprintln!("SKIPPED: {} is absent and TALLYSCOPE_SKIP_DATA=1; this test checked nothing", p.display());
        return None;
    }
    panic!(
        "real data {} is absent: these tests read the Russian files from ../shared/data/ru beside the repository; \
         set TALLYSCOPE_SKIP_DATA=1 to skip them knowingly",
        p.display()
    );
}

/// `../shared/data/world/NAME` relative to the repository root, with the same rule as
/// [`ru_data`]: a clear failure when absent, a loud skip with `TALLYSCOPE_SKIP_DATA=1`.
pub fn world_data(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/world").join(name);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("TALLYSCOPE_SKIP_DATA").as_deref() == Ok("1") {
        eprintln!("SKIPPED: {} is absent and TALLYSCOPE_SKIP_DATA=1; this test checked nothing", p.display());
        return None;
    }
    panic!(
        "real data {} is absent: these tests read the world files from ../shared/data/world beside the repository; \
         set TALLYSCOPE_SKIP_DATA=1 to skip them knowingly",
        p.display()
    );
}
