//! The `tallyscope` binary: parse the command line, call the library, map the outcome
//! to an exit status (0 clean, 1 findings, 2 input or usage error).

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = tallyscope::cli::Cli::parse();
    let code = match tallyscope::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tallyscope: error: {e}");
            2
        }
    };
    std::process::exit(code);
}
