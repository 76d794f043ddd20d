//! Fast CSV writers: rows are formatted into byte buffers by hand (no `fmt`), chunks
//! in parallel with rayon, then written in order, a bounded batch at a time. The bytes
//! do not depend on the number of threads.
//!
//! Protocols: `region,commission,station,registered,received,issued_early,issued_on_day,
//! issued_outside,cancelled,portable_boxes,stationary_boxes,invalid,valid,lost,unaccounted,
//! <candidates…>`.
//!
//! Truth: `station,region,commission,fraud,intensity,turnout_before,turnout_after,
//! leader_share_before,leader_share_after,detail`; turnout is `B/N` (issued over
//! registered), leader share `v_A/C` (candidate A over ballots in boxes, Kobak's
//! denominator), both with 4 decimals, empty when the denominator is 0. `fraud`,
//! `intensity` and `detail` are empty for clean stations; their before = after.

use super::{Simulation, col, leader_share, turnout};
use rayon::prelude::*;
use std::io::{self, Write};

/// Stations per formatted chunk, and chunks per batch held in memory at once.
const CHUNK: usize = 8192;
const BATCH: usize = 32;

const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal digits of `v`.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = 20;
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `x` in [0, ∞) with 4 decimals ("0.5312").
fn push_ratio(out: &mut Vec<u8>, x: Option<f64>) {
    let Some(x) = x else { return };
    let m = (x * 10_000.0).round() as u64;
    push_u64(out, m / 10_000);
    out.push(b'.');
    let f = m % 10_000;
    for d in [1000, 100, 10, 1] {
        out.push(b'0' + (f / d % 10) as u8);
    }
}

/// Formats `[lo, hi)` stations in parallel chunks and writes them in order.
fn write_parallel<W, F>(sim: &Simulation, w: &mut W, format: F) -> io::Result<()>
where
    W: Write,
    F: Fn(usize, &mut Vec<u8>) + Sync,
{
    let n = sim.len();
    let n_chunks = n.div_ceil(CHUNK);
    let mut first = 0;
    while first < n_chunks {
        let last = (first + BATCH).min(n_chunks);
        let bufs: Vec<Vec<u8>> = (first..last)
            .into_par_iter()
            .map(|c| {
                let lo = c * CHUNK;
                let hi = (lo + CHUNK).min(n);
                let mut out = Vec::with_capacity((hi - lo) * 96);
                for s in lo..hi {
                    format(s, &mut out);
                }
                out
            })
            .collect();
        for b in &bufs {
            w.write_all(b)?;
        }
        first = last;
    }
    Ok(())
}

/// "Region 01,Commission 01-003," for each commission.
fn prefixes(sim: &Simulation) -> Vec<Vec<u8>> {
    sim.commission_labels
        .iter()
        .zip(&sim.commission_region)
        .map(|(c, &r)| format!("{},{},", sim.region_labels[r as usize], c).into_bytes())
        .collect()
}

/// Writes the protocol CSV (header + one row per station).
pub fn write_protocols<W: Write>(sim: &Simulation, mut w: W) -> io::Result<()> {
    let mut header = String::from("region,commission,station");
    for name in col::NAMES.iter().map(|s| s.to_string()).chain(sim.candidates.iter().cloned()) {
        header.push(',');
        header.push_str(&name);
    }
    header.push('\n');
    w.write_all(header.as_bytes())?;
    let pre = prefixes(sim);
    let width = sim.width();
    write_parallel(sim, &mut w, |s, out| {
        out.extend_from_slice(&pre[sim.station_commission[s] as usize]);
        push_u64(out, Simulation::station_id(s));
        for &v in &sim.rows[s * width..(s + 1) * width] {
            out.push(b',');
            push_u64(out, v as u64);
        }
        out.push(b'\n');
    })?;
    w.flush()
}

/// Writes the ground-truth CSV (header + one row per station).
pub fn write_truth<W: Write>(sim: &Simulation, mut w: W) -> io::Result<()> {
    w.write_all(
        b"station,region,commission,fraud,intensity,turnout_before,turnout_after,\
          leader_share_before,leader_share_after,detail\n",
    )?;
    // "Region 01,Commission 01-003," is reordered to "station,Region 01,Commission 01-003,".
    let pre = prefixes(sim);
    write_parallel(sim, &mut w, |s, out| {
        push_u64(out, Simulation::station_id(s));
        out.push(b',');
        out.extend_from_slice(&pre[sim.station_commission[s] as usize]);
        let t = &sim.truth[s];
        let row = sim.row(s);
        let after = (turnout(row), leader_share(row));
        let before = t.before.unwrap_or(after);
        if let Some(k) = t.fraud {
            out.extend_from_slice(k.name().as_bytes());
            out.push(b',');
            out.extend_from_slice(format!("{}", t.intensity).as_bytes());
        } else {
            out.push(b',');
        }
        out.push(b',');
        push_ratio(out, before.0);
        out.push(b',');
        push_ratio(out, after.0);
        out.push(b',');
        push_ratio(out, before.1);
        out.push(b',');
        push_ratio(out, after.1);
        out.push(b',');
        out.extend_from_slice(t.detail.as_bytes());
        out.push(b'\n');
    })?;
    w.flush()
}
