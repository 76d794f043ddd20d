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
td.dim { color: var(--muted); background: #f3f3f3; }
td.dim small { color: var(--muted); }
details { margin: 4px 0; } details > summary { cursor: pointer; color: var(--muted); font-size: 13px; }
details.fold { margin: 0 0 8px; font-size: 14px; } details.fold > div { color: var(--muted); padding: 4px 0 0 14px; }
td details small { display: block; }
.findings { margin: 8px 0 14px; }
.finding { border-left: 5px solid var(--rule); padding: 6px 12px; margin: 0 0 12px; background: #fafafa; }
.finding h3 { margin: 0 0 4px; font-size: 17px; }
.finding p { margin: 2px 0; }
.finding .meaning { font-size: 14px; }
.finding .meaning b { font-weight: 600; }
.badge { display: inline-block; min-width: 8.5em; font-size: 13px; font-weight: 600; padding: 1px 8px; margin-right: 8px; border-radius: 3px; text-align: center; }
.s-strong { border-left-color: var(--accent); } .s-strong .badge { background: var(--accent); color: #fff; }
.s-some { border-left-color: #c98a00; } .s-some .badge { background: #f3d27a; color: #3a2a00; }
.s-none { border-left-color: #9bb7d4; } .s-none .badge { background: #e3ecf5; color: #24415f; }
.s-na { border-left-color: #cfcfcf; color: var(--muted); background: #f3f3f3; } .s-na .badge { background: #e2e2e2; color: #555; }
td.n { white-space: nowrap; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 14px; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 18px 0 26px; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: 14px; margin-top: 4px; }
pre { background: var(--band); padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  figure, tr { break-inside: avoid; }
  .wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  figure img { border: none; }
  .finding { break-inside: avoid; }
  td details { display: none; }
}
@page { margin: 16mm 14mm; }
"#;

fn cell(out: &mut String, tag: &str, c: &Cell) {
    // Short values (numbers, p-values) do not wrap.
    let short = c.note.is_empty() && c.more.is_empty() && c.text.chars().count() <= 12;
    let classes: Vec<&str> = [(c.mark && !c.dim, "mark"), (c.dim, "dim"), (short, "n")].iter().filter(|(on, _)| *on).map(|(_, k)| *k).collect();
    if classes.is_empty() {
        let _ = write!(out, "<{tag}>{}", escape(&c.text));
    } else {
        let _ = write!(out, "<{tag} class=\"{}\">{}", classes.join(" "), escape(&c.text));
    }
    if !c.note.is_empty() {
        let _ = write!(out, "<small>{}</small>", escape(&c.note));
    }
    if !c.more.is_empty() {
        let _ = write!(out, "<details><summary>method</summary><small>{}</small></details>", escape(&c.more));
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
    for b in &doc.blocks {
        match b {
            Block::Heading(level, t) => {
                let l = (*level).clamp(2, 4);
                if l == 2 {
                    // An anchor per section (ASCII slug of the fixed section titles).
                    let _ = writeln!(o, "<h2 id=\"{}\">{}</h2>", slug(t), escape(t));
                } else {
                    let _ = writeln!(o, "<h{l}>{}</h{l}>", escape(t));
                }
            }
            Block::Para(t) => {
                let _ = writeln!(o, "<p>{}</p>", escape(t));
            }
            Block::Note(t) => {
                let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(t));
            }
            Block::List(items) => {
                o.push_str("<ul>");
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
            Block::Fold { summary, text } => {
                let _ = writeln!(o, "<details class=\"fold\"><summary>{}</summary><div>{}</div></details>", escape(summary), escape(text));
            }
            Block::Findings(fs) => {
                o.push_str("<section class=\"findings\">\n");
                for f in fs {
                    let _ = write!(
                        o,
                        "<div class=\"finding s-{}\"><h3><span class=\"badge\">{}</span>{}</h3><p>{}</p><p class=\"meaning\"><b>Can mean:</b> {} <b>Cannot mean:</b> {}</p>",
                        f.strength.key(),
                        escape(f.strength.label()),
                        escape(&f.title),
                        escape(&f.shows),
                        escape(&f.can_mean),
                        escape(&f.cannot_mean)
                    );
                    let mut see = Vec::new();
                    if let Some(c) = f.chart {
                        see.push(format!("<a href=\"#chart-{0}\">chart: {0}</a>", escape(c.key())));
                    }
                    if !f.see.is_empty() {
                        see.push(escape(&f.see));
                    }
                    if !see.is_empty() {
                        let _ = write!(o, "<p class=\"meaning\"><b>See:</b> {}</p>", see.join("; "));
                    }
                    o.push_str("</div>\n");
                }
                o.push_str("</section>\n");
            }
        }
    }
    o.push_str("</body>\n</html>\n");
    o
}

/// A section anchor: lower-case ASCII letters and digits, the rest as single hyphens.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

pub(super) fn capitalise(s: &str) -> String {
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
                Block::Table { head: vec!["<th>".into()], rows: vec![vec![Cell { text: "<i>".into(), note: "</td>".into(), mark: true, dim: false, more: "<b>".into() }]] },
                Block::Facts(vec![("<k>".into(), "<v>".into())]),
                Block::Code("</pre><script>".into()),
                Block::Fold { summary: "<s>".into(), text: "<u>".into() },
            ],
        };
        let html = render(&doc);
        for raw in ["<script>", "<b>t", "<img src=x", "<i>", "<k>", "<v>", "</pre><script>", "<th><", "<b>", "<s>", "<u>"] {
            assert!(!html.contains(raw), "raw {raw:?} in output");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script"), "the report has no scripts at all");
    }
}
