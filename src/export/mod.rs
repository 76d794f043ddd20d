//! Writing results: shared helpers for the CSV and JSON writers and for terminal tables.

/// `1234567` → `"1,234,567"` for tables meant for people.
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

/// Neutralises spreadsheet formula injection: a text cell that starts with `=`, `+`, `-`,
/// `@`, tab or carriage return gets a leading apostrophe, so a region called
/// `=HYPERLINK(…)` is shown as text, not run, when the CSV is opened in a spreadsheet.
/// Numbers we write ourselves never pass through here.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn thousands_and_safety() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(109008428), "109,008,428");
        assert_eq!(safe_cell("=1+1"), "'=1+1");
        assert_eq!(safe_cell("Region 1"), "Region 1");
    }
}
