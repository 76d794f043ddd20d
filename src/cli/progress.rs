//! Progress on long work, on stderr, only when stderr is a terminal (pipes, CI logs and
//! `2>file` stay clean) and never with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A bar of `total` steps (`None`: a spinner), hidden when not attended.
pub fn bar(total: Option<u64>, what: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = match total {
        Some(n) => {
            let b = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {prefix}, {elapsed} (eta {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            b
        }
        None => {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
            b.enable_steady_tick(Duration::from_millis(120));
            b
        }
    };
    b.set_prefix(what.to_string());
    b
}
