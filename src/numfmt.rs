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

/// A number as the report and the terminal print it: grouped from 1,000 (one decimal kept
/// below 10,000 unless whole), one decimal from 100, three below.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let r = x.abs();
    if r >= 1e4 || (r >= 1000.0 && x == x.round()) {
        format!("{sign}{}", thousands(r.round() as u64))
    } else if r >= 1000.0 {
        // one decimal, thousands grouped: 1,834.8
        let t = (r * 10.0).round() as u64;
        format!("{sign}{}.{}", thousands(t / 10), t % 10)
    } else if x == x.round() {
        format!("{x:.0}")
    } else if r >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// `x` rounded to 3 significant digits (p-values in tests.json and summary.json: the
/// digits beyond are noise of the approximation, not information).
pub fn sig3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.2e}").parse().unwrap_or(x)
}

/// A p-value for people: 3 significant digits, in scientific notation below 0.001
/// (`1.10e-45`, `0.0516`, `0.317`).
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        return format!("{p}");
    }
    if p == 0.0 {
        return "0".into();
    }
    if p < 1e-3 {
        return format!("{p:.2e}");
    }
    let decimals = (2 - p.log10().floor() as i32).max(0) as usize;
    format!("{p:.decimals$}")
}

/// A p-value for tables read by programs (tests.csv): scientific notation, 3 significant
/// digits (`1.10e-45`, `3.17e-1`); parses as a float everywhere.
pub fn p_sci(p: f64) -> String {
    if p == 0.0 || !p.is_finite() { format!("{p}") } else { format!("{p:.2e}") }
}

/// serde: an optional p-value written with 3 significant digits.
pub fn ser_p<S: serde::Serializer>(p: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(v) => s.serialize_some(&sig3(*v)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn p_values_keep_three_significant_digits() {
        assert_eq!(p_value(1.1051e-45), "1.11e-45");
        assert_eq!(p_value(0.05163), "0.0516");
        assert_eq!(p_value(0.31664), "0.317");
        assert_eq!(p_value(0.0009996), "1.00e-3");
        assert_eq!(p_value(1.0), "1.00");
        assert_eq!(p_sci(1.1051e-45), "1.11e-45");
        assert_eq!(p_sci(0.31664), "3.17e-1");
        assert_eq!(p_sci(0.31664).parse::<f64>().unwrap(), 0.317);
        assert_eq!(sig3(0.000000000000000000000000000000000000000000001105177), 1.11e-45);
        assert_eq!(serde_json::to_string(&sig3(1.1051e-45)).unwrap(), "1.11e-45");
        assert_eq!(number(9241.0795), "9,241.1");
        assert_eq!(number(17555.0), "17,555");
    }
}
