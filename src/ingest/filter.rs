//! `--where COL=VALUE`: the rows of one round or race, in wide and long files alike.
//!
//! The filter column's values are counted first (one pass over that column), so that a
//! value that matches nothing is an error that lists the values that exist, near
//! misses first, instead of "790,283 rows filtered out"; a value that matches only when
//! case is ignored (`office=president` for "President") is used with a note.

use super::plan::Header;
use super::{csv_reader, Mapping};
use crate::error::{InputError, Result};
use std::collections::HashMap;

/// One resolved filter: the column and the exact value (as bytes) rows must hold.
#[derive(Debug, Clone)]
pub struct Filter {
    pub column: usize,
    pub value: Vec<u8>,
}

/// Counts of each value of column `col` (trimmed), in first-seen order.
pub fn value_counts(bytes: &[u8], delimiter: u8, col: usize) -> Vec<(String, u64)> {
    let mut rdr = csv_reader(bytes, delimiter);
    let mut rec = csv::ByteRecord::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut out: Vec<(String, u64)> = Vec::new();
    let mut first = true;
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        if first {
            first = false;
            continue;
        }
        let Some(v) = rec.get(col) else { continue };
        let v = v.trim_ascii();
        match index.get(v) {
            Some(&k) => out[k].1 += 1,
            None => {
                index.insert(v.to_vec(), out.len());
                out.push((String::from_utf8_lossy(v).into_owned(), 1));
            }
        }
    }
    out
}

/// Resolves the mapping's filters against the file; `notes` receives what was done.
pub(crate) fn resolve(h: &Header, m: &Mapping, bytes: &[u8], delimiter: u8, notes: &mut Vec<String>) -> Result<Vec<Filter>> {
    let mut out = Vec::new();
    for (k, want) in m.filters()? {
        let col = h.find("--where", &k)?;
        let counts = value_counts(bytes, delimiter, col);
        if counts.iter().any(|(v, _)| *v == want) {
            out.push(Filter { column: col, value: want.into_bytes() });
            continue;
        }
        let loose: Vec<&(String, u64)> = counts.iter().filter(|(v, _)| v.to_lowercase() == want.to_lowercase()).collect();
        if loose.len() == 1 {
            notes.push(format!(
                "--where {k}={want}: no row has exactly \"{want}\"; using \"{}\" ({} rows), which differs only in case",
                loose[0].0, loose[0].1
            ));
            out.push(Filter { column: col, value: loose[0].0.clone().into_bytes() });
            continue;
        }
        let mut by: Vec<&(String, u64)> = counts.iter().collect();
        let w = want.to_lowercase();
        by.sort_by_key(|(v, c)| {
            let l = v.to_lowercase();
            (!(l.contains(&w) || w.contains(&l)), std::cmp::Reverse(*c))
        });
        let shown: Vec<String> = by.iter().take(10).map(|(v, c)| format!("\"{v}\" ({c} rows)")).collect();
        return Err(InputError::new(
            h.file,
            format!(
                "--where {k}={want}: no row has that value in column \"{}\"; it holds {} distinct values, e.g. {}{}",
                h.names[col],
                counts.len(),
                shown.join(", "),
                if counts.len() > 10 { ", …" } else { "" }
            ),
        )
        .column(h.names[col].clone())
        .into());
    }
    Ok(out)
}

/// True when the record passes every filter.
#[inline]
pub fn passes(rec: &csv::ByteRecord, filters: &[Filter]) -> bool {
    filters.iter().all(|f| rec.get(f.column).is_some_and(|v| v.trim_ascii() == f.value.as_slice()))
}
