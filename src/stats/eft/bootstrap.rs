//! The table: point values, the bootstrap over stations within each unit (rayon,
//! deterministic for a seed), the intervals, DipT and the BH q-values.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::data::{self, EftData};
use super::dip::DipNull;
use super::interval::{basic_ci, basic_p};
use super::stats::{Shift, Sums};
use super::{EftCell, EftOptions, EftRow, EftTable, Stat};
use crate::Result;
use crate::model::Election;
use crate::stats::fdr::bh_opt;

thread_local! {
    static MULT: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Units of at least this many stations run their replicates in parallel.
const PARALLEL_UNIT: usize = 2000;

/// FNV-1a of a unit's label: its bootstrap stream does not depend on the unit's position.
fn label_key(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One replicate of unit `u`: the statistics of every variable on `n` stations drawn with
/// replacement (stream `b` of the unit's generator). The draws are tallied into each
/// station's multiplicity first, so the passes over the stations are sequential (a unit of
/// 100,000 stations × 3 variables is 7 MB: random access would wait on memory). One pass
/// per variable keeps its sums in registers, and stations drawn 0 times go through the
/// sums with weight 0 rather than a branch that the random multiplicities would mispredict.
fn replicate(d: &EftData, u: usize, shifts: &[Shift], seed: u64, b: usize, mult: &mut Vec<u32>) -> Vec<[f64; 9]> {
    let obs = &d.obs[u];
    let k = d.labels[u].len();
    let n = d.units[u].1.len();
    if n == 0 {
        return vec![[f64::NAN; 9]; k];
    }
    mult.clear();
    mult.resize(n, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ label_key(&d.units[u].0));
    rng.set_stream(b as u64);
    for _ in 0..n {
        mult[rng.random_range(0..n as u32) as usize] += 1;
    }
    (0..k)
        .map(|v| {
            let c = shifts[v];
            let mut s = Sums::default();
            for (row, &w) in obs.chunks_exact(k).zip(mult.iter()) {
                s.add(&row[v], row[0].raw, w, &c);
            }
            s.finish(&c, v > 0)
        })
        .collect()
}

/// Computes EFT's table for `e` (see the module docs of [`super`]).
pub fn run(e: &Election, o: &EftOptions) -> Result<EftTable> {
    let d = data::prepare(e, o.level, &o.variables)?;
    let nu = d.units.len();

    // Point values and DipT per unit and variable.
    let shifts: Vec<Vec<Shift>> =
        (0..nu).map(|u| (0..d.labels[u].len()).map(|v| Shift::of(&d.obs[u], d.labels[u].len(), v)).collect()).collect();
    let dip_inputs: Vec<Vec<Vec<f64>>> = (0..nu)
        .map(|u| {
            let k = d.labels[u].len();
            (0..k).map(|v| d.obs[u].iter().skip(v).step_by(k).map(|x| x.raw).filter(|x| x.is_finite()).collect()).collect()
        })
        .collect();
    let null = DipNull::new(dip_inputs.iter().flatten().map(|x| x.len()), o.dip_reps, o.seed ^ 0xD1B7_E57A);
    let dips: Vec<Vec<Option<f64>>> = dip_inputs
        .into_par_iter()
        .map(|vars| vars.into_iter().map(|mut x| (!x.is_empty()).then(|| null.p_value(&mut x))).collect())
        .collect();
    let points: Vec<Vec<[f64; 9]>> = (0..nu)
        .map(|u| {
            let k = d.labels[u].len();
            let mut s = vec![Sums::default(); k];
            for row in d.obs[u].chunks_exact(k) {
                for v in 0..k {
                    s[v].add(&row[v], row[0].raw, 1, &shifts[u][v]);
                }
            }
            (0..k).map(|v| s[v].finish(&shifts[u][v], v > 0)).collect()
        })
        .collect();

    // Bootstrap and cells, unit by unit (in parallel); a large unit's replicates run in
    // parallel too. Only the units in flight hold their replicates.
    let cells: Vec<Vec<[EftCell; 9]>> = (0..nu)
        .into_par_iter()
        .map(|u| {
            let k = d.labels[u].len();
            // One multiplicity buffer per thread, reused: rayon's map_init would allocate one
            // per split, and the kernel zeroing those fresh pages cost a fifth of the run.
            let rep = |b: usize| MULT.with_borrow_mut(|buf| replicate(&d, u, &shifts[u], o.seed, b, buf));
            let reps: Vec<Vec<[f64; 9]>> = if d.units[u].1.len() >= PARALLEL_UNIT {
                (0..o.reps).into_par_iter().map(rep).collect()
            } else {
                (0..o.reps).map(rep).collect()
            };
            let mut column: Vec<f64> = Vec::with_capacity(o.reps);
            (0..k)
                .map(|v| {
                    let mut cells = [EftCell::default(); 9];
                    for s in Stat::ALL {
                        let c = &mut cells[s.index()];
                        if s == Stat::DipT {
                            c.value = dips[u][v];
                            c.p = dips[u][v];
                            continue;
                        }
                        let t0 = points[u][v][s.index()];
                        if !t0.is_finite() {
                            continue;
                        }
                        c.value = Some(t0);
                        if o.reps > 0 {
                            column.clear();
                            column.extend(reps.iter().map(|r| r[v][s.index()]));
                            if let Some((lo, hi)) = basic_ci(t0, &column, o.alpha) {
                                c.lo = Some(lo);
                                c.hi = Some(hi);
                                c.p = basic_p(t0, &column, s.null());
                            }
                        }
                    }
                    cells
                })
                .collect()
        })
        .collect();

    let mut rows: Vec<(usize, usize, EftRow)> = Vec::new(); // (family, unit, row)
    for u in 0..nu {
        for v in 0..d.labels[u].len() {
            let cells = cells[u][v];
            let fam = if v == 0 { 0 } else { v.min(d.families.len() - 1) };
            rows.push((fam, u, EftRow { unit: d.units[u].0.clone(), variable: d.labels[u][v].clone(), family: d.families[fam].clone(), n: d.units[u].1.len(), cells }));
        }
    }
    rows.sort_by_key(|(f, u, _)| (*f, *u));

    // BH across the units of the level (unit 0 is the nation, alone), per variable family
    // and statistic.
    for fam in 0..d.families.len() {
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].0 == fam && rows[i].1 != 0).collect();
        for s in Stat::ALL {
            let p: Vec<Option<f64>> = idx.iter().map(|&i| rows[i].2.cells[s.index()].p).collect();
            for (&i, q) in idx.iter().zip(bh_opt(&p)) {
                rows[i].2.cells[s.index()].q = q;
            }
        }
    }
    for (_, _, r) in rows.iter_mut().filter(|(_, u, _)| *u == 0) {
        for c in r.cells.iter_mut() {
            c.q = c.p;
        }
    }
    let rows: Vec<EftRow> = rows.into_iter().map(|(_, _, r)| r).collect();
    Ok(EftTable { rows, level: d.level.clone(), reps: o.reps, seed: o.seed, alpha: o.alpha, notes: d.notes })
}
