#![no_main]
//! Arbitrary text as a mapping file (TOML and JSON), and a parsed mapping applied to a
//! small fixed file.

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::mapping(data));
