//! `report.md`: the report's text in Markdown, with links to the chart files (images are
//! not inlined). Text from the input is escaped so it shows as written: Markdown
//! punctuation is backslash-escaped and `<`, `>`, `&` become entities (Markdown viewers
//! pass raw HTML through).

use super::{Block, Cell, Doc};
use std::fmt::Write;

/// Escapes `s` for Markdown text and table cells.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn cell(c: &Cell) -> String {
    let mut s = escape(&c.text);
    if c.mark {
        s = format!("**{s}**");
    }
    if !c.note.is_empty() {
        let _ = write!(s, "<br>*{}*", escape(&c.note));
    }
    if !c.more.is_empty() {
        let _ = write!(s, "<br>*{}*", escape(&c.more));
    }
    s
}

pub fn render(doc: &Doc) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n\n{}\n", escape(&doc.title), escape(&doc.subtitle));
    for b in &doc.blocks {
        match b {
            Block::Heading(l, t) => {
                let _ = writeln!(o, "{} {}\n", "#".repeat((*l).clamp(2, 4) as usize), escape(t));
            }
            Block::Para(t) => {
                let _ = writeln!(o, "{}\n", escape(t));
            }
            Block::Note(t) => {
                let _ = writeln!(o, "*{}*\n", escape(t));
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(o, "- {}", escape(i));
                }
                o.push('\n');
            }
            Block::Facts(f) => {
                for (k, v) in f {
                    let _ = writeln!(o, "- **{}**: {}", escape(k), escape(v));
                }
                o.push('\n');
            }
            Block::Table { head, rows } => {
                let _ = writeln!(o, "| {} |", head.iter().map(|h| escape(h)).collect::<Vec<_>>().join(" | "));
                let _ = writeln!(o, "|{}", " --- |".repeat(head.len()));
                for r in rows {
                    let _ = writeln!(o, "| {} |", r.iter().map(cell).collect::<Vec<_>>().join(" | "));
                }
                o.push('\n');
            }
            Block::Chart { chart, files, .. } => {
                let png = files.iter().find(|f| f.ends_with(".png"));
                if let Some(p) = png {
                    let _ = writeln!(o, "![{}]({p})\n", escape(chart.describe()));
                }
                let links: Vec<String> = files.iter().map(|f| format!("[{f}]({f})")).collect();
                let _ = writeln!(o, "*{}* — {}\n", escape(chart.describe()), links.join(", "));
            }
            Block::Fold { summary, text } => {
                let _ = writeln!(o, "*{}:* {}\n", escape(summary), escape(text));
            }
            Block::Findings(fs) => {
                for f in fs {
                    let _ = writeln!(o, "- **{}: {}.** {}", escape(f.strength.label()), escape(&f.title), escape(&f.shows));
                    let _ = writeln!(o, "  *Can mean:* {} *Cannot mean:* {}", escape(&f.can_mean), escape(&f.cannot_mean));
                    let mut see = Vec::new();
                    if let Some(c) = f.chart {
                        see.push(format!("[charts/{0}.png](charts/{0}.png)", c.key()));
                    }
                    if !f.see.is_empty() {
                        see.push(escape(&f.see));
                    }
                    if !see.is_empty() {
                        let _ = writeln!(o, "  *See:* {}", see.join("; "));
                    }
                }
                o.push('\n');
            }
            Block::Code(t) => {
                let fence = if t.contains("```") { "~~~~" } else { "```" };
                let _ = writeln!(o, "{fence}\n{t}\n{fence}\n");
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn escapes_markdown_and_html() {
        assert_eq!(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(escape("a|b *c* [d](e) _f_"), "a\\|b \\*c\\* \\[d\\](e) \\_f\\_");
        assert_eq!(escape("Москва"), "Москва");
    }
}
