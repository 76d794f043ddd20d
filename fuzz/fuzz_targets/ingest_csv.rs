#![no_main]
//! Arbitrary bytes as a protocol file, through `ingest::load_bytes` (the code path of
//! `load`), then the arithmetic checks on whatever was read.

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::ingest(data));
