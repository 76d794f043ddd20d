//! `tallyscope eft` outputs: the table as CSV (every value at full precision), Markdown and
//! a self-contained HTML page (EFT's layout: a row of values, below it the intervals;
//! cells coloured by whether the interval excludes the null, with BH q-values across the
//! units of the level).

use std::fmt::Write as _;

use super::safe_cell;
use crate::report::html::escape;
use crate::stats::eft::{EftCell, EftRow, EftTable, Stat};

fn num(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The CSV: `unit`, `variable`, `n`, then each statistic by EFT name with `<name>_lo`
/// and `<name>_hi`; empty cells for R's `NA` (and for DipT's interval: a p-value has none).
pub fn csv(t: &EftTable) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["unit".to_string(), "variable".into(), "n".into()];
    for s in Stat::ALL {
        head.push(s.name().into());
        head.push(format!("{}_lo", s.name()));
        head.push(format!("{}_hi", s.name()));
    }
    w.write_record(&head)?;
    for r in &t.rows {
        let mut rec = vec![safe_cell(&r.unit).into_owned(), safe_cell(&r.variable).into_owned(), r.n.to_string()];
        for c in &r.cells {
            rec.push(num(c.value));
            rec.push(num(c.lo));
            rec.push(num(c.hi));
        }
        w.write_record(&rec)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

fn r3(x: f64) -> String {
    // EFT prints round(x, 3)
    let s = format!("{:.3}", x);
    if s == "-0.000" { "0.000".into() } else { s }
}

/// How a cell reads: significant after BH, excluded before BH only, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Bh,
    Raw,
    None,
}

pub fn mark(c: &EftCell, s: Stat, alpha: f64) -> Mark {
    if c.q.is_some_and(|q| q < alpha) {
        Mark::Bh
    } else if c.excludes_null(s) || (s == Stat::DipT && c.p.is_some_and(|p| p < alpha)) {
        Mark::Raw
    } else {
        Mark::None
    }
}

fn interval(c: &EftCell) -> String {
    match (c.lo, c.hi) {
        (Some(lo), Some(hi)) => format!("({}, {})", r3(lo), r3(hi)),
        _ => String::new(),
    }
}

fn legend(t: &EftTable) -> String {
    let unit = if t.level.is_empty() { "units".to_string() } else { format!("{}s", t.level) };
    format!(
        "Election Forensics Toolkit table (EFToolkit's BasicElectionForensics, EFT's definitions). \
         Under each value its basic bootstrap interval ({} resamples of the stations, seed {}). \
         Nulls: _2BL 4.187, LastC 4.5, P05s 0.2, C05s 0.2, Skew 0, Kurt 3, Sobyanin 0, Correlation 0; DipT is a p-value. \
         Marked cells: the interval excludes the null (DipT: p < {a}) after a Benjamini–Hochberg correction across the {unit} \
         for each variable and statistic (q < {a}); lighter marks: before the correction only.",
        t.reps,
        t.seed,
        a = t.alpha
    )
}

/// The Markdown table: `**x**` for BH-significant cells, `*x*` for uncorrected ones.
pub fn markdown(t: &EftTable) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# EFT table\n\n{}\n", legend(t));
    for n in &t.notes {
        let _ = writeln!(s, "- {n}");
    }
    if !t.notes.is_empty() {
        s.push('\n');
    }
    s.push_str("| unit | variable | n |");
    for st in Stat::ALL {
        let _ = write!(s, " {} |", st.name());
    }
    s.push_str("\n|---|---|---:|");
    for _ in Stat::ALL {
        s.push_str("---:|");
    }
    s.push('\n');
    let md = |x: &str| x.replace('|', "\\|");
    for r in &t.rows {
        let _ = write!(s, "| {} | {} | {} |", md(&r.unit), md(&r.variable), r.n);
        for st in Stat::ALL {
            let c = &r.cells[st.index()];
            let v = c.value.map(r3).unwrap_or_else(|| "--".into());
            let _ = match mark(c, st, t.alpha) {
                Mark::Bh => write!(s, " **{v}** |"),
                Mark::Raw => write!(s, " *{v}* |"),
                Mark::None => write!(s, " {v} |"),
            };
        }
        s.push_str("\n|  |  |  |");
        for st in Stat::ALL {
            let _ = write!(s, " {} |", interval(&r.cells[st.index()]));
        }
        s.push('\n');
    }
    s
}

fn html_row(s: &mut String, r: &EftRow, alpha: f64, band: bool) {
    let cls = if band { " class=\"band\"" } else { "" };
    let _ = write!(s, "<tr{cls}><th rowspan=\"2\">{}</th><th rowspan=\"2\">{}</th><td rowspan=\"2\">{}</td>", escape(&r.unit), escape(&r.variable), r.n);
    for st in Stat::ALL {
        let c = &r.cells[st.index()];
        let v = c.value.map(r3).unwrap_or_else(|| "--".into());
        let m = match mark(c, st, alpha) {
            Mark::Bh => " class=\"bh\"",
            Mark::Raw => " class=\"raw\"",
            Mark::None => "",
        };
        let title = c.q.map(|q| format!(" title=\"p {:.4}, BH q {:.4}\"", c.p.unwrap_or(f64::NAN), q)).unwrap_or_default();
        let _ = write!(s, "<td{m}{title}>{v}</td>");
    }
    let _ = write!(s, "</tr>\n<tr{cls}>");
    for st in Stat::ALL {
        let _ = write!(s, "<td class=\"ci\">{}</td>", interval(&r.cells[st.index()]));
    }
    s.push_str("</tr>\n");
}

/// A self-contained HTML page (no script, no external resource).
pub fn html(t: &EftTable) -> String {
    let mut s = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>EFT table</title>\n<style>\n\
         body{font:14px/1.45 system-ui,\"DejaVu Sans\",Arial,sans-serif;color:#1e1e1e;margin:2em}\n\
         table{border-collapse:collapse}th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4;text-align:right}\n\
         th{text-align:left}td.ci{color:#5f5f5f;font-size:12px}tr.band{background:#f5f6f8}\n\
         td.bh{background:#d6451e;color:#fff;font-weight:600}td.raw{background:#f6d5c8}\n\
         </style></head><body>\n<h1>EFT table</h1>\n",
    );
    let _ = writeln!(s, "<p>{}</p>", escape(&legend(t)));
    if !t.notes.is_empty() {
        s.push_str("<ul>");
        for n in &t.notes {
            let _ = write!(s, "<li>{}</li>", escape(n));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<p><span style=\"background:#d6451e;color:#fff;padding:0 4px\">significant after BH</span> \
                <span style=\"background:#f6d5c8;padding:0 4px\">before BH only</span></p>\n<table>\n<thead><tr><th>unit</th><th>variable</th><th>n</th>");
    for st in Stat::ALL {
        let _ = write!(s, "<th>{}</th>", st.name());
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for (i, r) in t.rows.iter().enumerate() {
        html_row(&mut s, r, t.alpha, i % 2 == 1);
    }
    s.push_str("</tbody></table>\n</body></html>\n");
    s
}
