//! Number formatting for text meant for people, below every stage that writes
//! messages (ingest, stats, rank): `export` re-exports it, so no lower layer has to
//! reach up into `export` for a comma.

/// A signed whole number with thousands separators: `-1234.4` → `"−1,234"`, `0.3` → `"0"`
/// (estimates that can be negative are printed as they are, never clamped at 0).
pub fn signed(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let s = thousands(x.abs().round() as u64);
    if x <= -0.5 { format!("−{s}") } else { s }
}

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
