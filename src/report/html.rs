//! `report.html`: one self-contained file. Styles are inline, charts are PNG data URIs,
//! there is no script and no external resource, so it opens offline, mails as one
//! attachment and prints (a print style sheet drops the colours of the screen layout and
//! keeps figures and table rows whole).

use super::{Block, Cell, Doc};
use base64::Engine;
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`,
/// `"` and `'`. Every piece of text in the report passes through here.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { --ink:#1e1e1e; --muted:#5f5f5f; --rule:#dedede; --accent:#d6451e; --band:#f5f6f8; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, Arial, sans-serif; color: var(--ink);
       max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 18px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--rule); }
h3 { font-size: 17px; margin: 22px 0 8px; }
p.note { color: var(--muted); font-size: 14px; }
.wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 14px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--rule); }
th { background: var(--band); font-weight: 600; }
td small { display: block; color: var(--muted); font-size: 12px; margin-top: 2px; }
td.mark { color: var(--accent); font-weight: 600; }
td.n { white-space: nowrap; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 14px; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 18px 0 26px; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: 14px; margin-top: 4px; }
pre { background: var(--band); padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
ul.summary { font-size: 16px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  figure, tr { break-inside: avoid; }
  .wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  figure img { border: none; }
}
@page { margin: 16mm 14mm; }
"#;

fn cell(out: &mut String, tag: &str, c: &Cell) {
    // Short values (numbers, p-values) do not wrap.
    let short = c.note.is_empty() && c.text.chars().count() <= 12;
    let class = match (c.mark, short) {
        (true, true) => " class=\"mark n\"",
        (true, false) => " class=\"mark\"",
        (false, true) => " class=\"n\"",
        (false, false) => "",
    };
    let _ = write!(out, "<{tag}{class}>{}", escape(&c.text));
    if !c.note.is_empty() {
        let _ = write!(out, "<small>{}</small>", escape(&c.note));
    }
    let _ = write!(out, "</{tag}>");
}

/// The report as one HTML document.
pub fn render(doc: &Doc) -> String {
    let mut o = String::with_capacity(1 << 20);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"sub\">{}</p>\n",
        escape(&doc.title),
        escape(&doc.title),
        escape(&doc.subtitle)
    );
    let mut first_list = true;
    for b in &doc.blocks {
        match b {
            Block::Heading(level, t) => {
                let l = (*level).clamp(2, 4);
                let _ = writeln!(o, "<h{l}>{}</h{l}>", escape(t));
            }
            Block::Para(t) => {
                let _ = writeln!(o, "<p>{}</p>", escape(t));
            }
            Block::Note(t) => {
                let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(t));
            }
            Block::List(items) => {
                let class = if first_list { " class=\"summary\"" } else { "" };
                first_list = false;
                let _ = write!(o, "<ul{class}>");
                for i in items {
                    let _ = write!(o, "<li>{}</li>", escape(i));
                }
                let _ = writeln!(o, "</ul>");
            }
            Block::Facts(f) => {
                o.push_str("<dl>");
                for (k, v) in f {
                    let _ = write!(o, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
                }
                o.push_str("</dl>\n");
            }
            Block::Table { head, rows } => {
                o.push_str("<div class=\"wrap\"><table><thead><tr>");
                for h in head {
                    cell(&mut o, "th", &Cell::from(h.as_str()));
                }
                o.push_str("</tr></thead><tbody>\n");
                for r in rows {
                    o.push_str("<tr>");
                    for c in r {
                        cell(&mut o, "td", c);
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</tbody></table></div>\n");
            }
            Block::Chart { chart, png, files } => {
                let _ = write!(o, "<figure id=\"chart-{}\">", escape(chart.key()));
                if let Some(bytes) = png {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                    let _ = write!(o, "<img alt=\"{}\" src=\"data:image/png;base64,{b64}\"/>", escape(chart.describe()));
                }
                let links: Vec<String> = files.iter().map(|f| format!("<a href=\"{0}\">{0}</a>", escape(f))).collect();
                let _ = writeln!(o, "<figcaption>{} — {}</figcaption></figure>", escape(&capitalise(chart.describe())), links.join(", "));
            }
            Block::Code(t) => {
                let _ = writeln!(o, "<pre><code>{}</code></pre>", escape(t));
            }
        }
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(escape("a & b \"c\" 'd'"), "a &amp; b &quot;c&quot; &#39;d&#39;");
        assert_eq!(escape("Москва № 5"), "Москва № 5");
        // Already-escaped text is escaped again (it is data, not markup).
        assert_eq!(escape("&lt;"), "&amp;lt;");
    }
    #[test]
    fn hostile_text_never_reaches_the_page_raw() {
        let doc = Doc {
            title: "<b>t</b>".into(),
            subtitle: "\"><img src=x onerror=alert(1)>".into(),
            blocks: vec![
                Block::Para("<script>alert(1)</script>".into()),
                Block::Table { head: vec!["<th>".into()], rows: vec![vec![Cell { text: "<i>".into(), note: "</td>".into(), mark: true }]] },
                Block::Facts(vec![("<k>".into(), "<v>".into())]),
                Block::Code("</pre><script>".into()),
            ],
        };
        let html = render(&doc);
        for raw in ["<script>", "<b>t", "<img src=x", "<i>", "<k>", "<v>", "</pre><script>", "<th><"] {
            assert!(!html.contains(raw), "raw {raw:?} in output");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script"), "the report has no scripts at all");
    }
}
