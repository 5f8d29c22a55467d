//! Write a [`Report`] as one self-contained HTML page: inline CSS, no
//! scripts, no external assets, readable offline and printable.
//!
//! The page holds a summary (counts, skipped inputs, warnings), the
//! provenance graph as inline SVG, one section per cluster (documents,
//! provenance verdict, each passage side by side with word-level
//! differences marked) and the quote audit table. Every string taken from a
//! document or its metadata goes through [`escape`], and a Content Security
//! Policy forbids scripts as a second line of defence.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;

use crate::align::Passage;
use crate::corpus::Document;
use crate::quotes::QuoteGroup;
use crate::report::{count, excerpt, plural};
use crate::report_csv::{Graph, provenance_graph};
use crate::scan::Report;
use crate::text::{Token, tokens};

/// Clusters shown directly; the rest go inside a `<details>` element.
const OPEN_CLUSTERS: usize = 50;
/// Passages shown directly per cluster; the rest go inside `<details>`.
const OPEN_PASSAGES: usize = 20;
/// Documents listed directly per cluster.
const OPEN_DOCS: usize = 30;
/// Quote groups shown directly in the audit table.
const OPEN_QUOTES: usize = 100;
/// Skipped inputs and warnings listed directly.
const OPEN_ITEMS: usize = 50;
/// Clusters drawn in the SVG graph (the DOT output has them all).
const GRAPH_CLUSTERS: usize = 60;
/// Largest LCS table for the word diff, in cells; larger spans fall back
/// to marking words the other side does not hold at all.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// Escape text for HTML element content and attribute values:
/// `& < > " '` become character references.
pub(crate) fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root { --ok: #1a7f37; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
  max-width: 1200px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.1rem; margin: 0 0 .4rem; }
h4 { font-size: .95rem; margin: .8rem 0 .3rem; }
.muted { color: var(--muted); }
.counts { display: flex; gap: 1rem; flex-wrap: wrap; padding: 0; list-style: none; }
.counts li { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .4rem .8rem; }
.counts b { font-size: 1.2rem; display: block; }
section.cluster { border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
.verdict { background: var(--soft); border-left: 4px solid #8250df; padding: .5rem .8rem; margin: .5rem 0; }
.conf { display: inline-block; width: 8rem; height: .6rem; background: var(--line); border-radius: 3px; vertical-align: middle; }
.conf span { display: block; height: 100%; background: #8250df; border-radius: 3px; }
.evidence { font-size: .85rem; margin: .3rem 0 0; }
.credit-yes { color: var(--ok); font-weight: 600; }
.credit-no { color: var(--bad); font-weight: 600; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; }
.col { border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.wit { background: var(--soft); border-bottom: 1px solid var(--line); padding: .3rem .6rem; font-size: .85rem; }
.txt { white-space: pre-wrap; overflow-wrap: anywhere; padding: .5rem .6rem; margin: 0; font-size: .9rem; }
del.w { background: #ffebe9; color: #82071e; text-decoration: line-through; text-decoration-color: var(--bad); }
ins.w { background: #dafbe1; color: #044f1e; text-decoration: underline; text-decoration-color: var(--ok); }
.keys del.w, .keys ins.w { padding: 0 .2rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--soft); }
.flag { display: inline-block; background: #fff8c5; border: 1px solid #d4a72c; border-radius: 4px; padding: 0 .3rem; margin: 0 .2rem .2rem 0; font-size: .8rem; }
.graph { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; padding: .5rem; }
details > summary { cursor: pointer; color: #0969da; margin: .4rem 0; }
code { font-size: .85em; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  section.cluster, .passage, tr { break-inside: avoid; }
  .graph { overflow: visible; border: none; }
  details > summary { color: inherit; }
}
"#;

/// Write the report as one self-contained HTML page (UTF-8): summary,
/// provenance graph (inline SVG), clusters with side-by-side passages and
/// word-level differences, and the quote audit. Nothing is fetched from the
/// network and the page holds no scripts; all document text and metadata
/// is HTML-escaped.
pub fn write_html(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    page(report, &mut h);
    out.write_all(h.as_bytes())
}

fn page(report: &Report, h: &mut String) {
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>wiretrace report</title>\n<style>");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n");
    summary(report, h);
    graph_section(report, h);
    clusters_section(report, h);
    quotes_section(report, h);
    documents_section(report, h);
    h.push_str("</body>\n</html>\n");
}

fn summary(report: &Report, h: &mut String) {
    h.push_str("<header>\n<h1>wiretrace report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">{}, {}, {}; read {}, skipped {}.</p>",
        plural(report.documents.len(), "document"),
        plural(report.clusters.len(), "cluster"),
        plural(report.passages.len(), "passage"),
        plural(report.documents.len(), "document"),
        count(report.skipped.len())
    );
    h.push_str("<ul class=\"counts\">\n");
    for (n, what) in [
        (report.documents.len(), "documents"),
        (report.clusters.len(), "clusters"),
        (report.passages.len(), "passages"),
        (report.quotes.len(), "shared quotations"),
        (report.skipped.len(), "skipped inputs"),
    ] {
        let _ = writeln!(h, "<li><b>{}</b>{what}</li>", count(n));
    }
    h.push_str("</ul>\n</header>\n");
    if !report.skipped.is_empty() {
        h.push_str("<h2 id=\"skipped\">Skipped inputs</h2>\n");
        let items: Vec<String> = report
            .skipped
            .iter()
            .map(|s| {
                format!(
                    "<li><code>{}</code>: {}</li>",
                    escape(&s.path),
                    escape(&s.reason)
                )
            })
            .collect();
        list_with_more(h, &items, OPEN_ITEMS, "skipped inputs");
    }
    if !report.warnings.is_empty() {
        h.push_str("<h2 id=\"warnings\">Warnings</h2>\n");
        let items: Vec<String> = report
            .warnings
            .iter()
            .map(|w| format!("<li>{}</li>", escape(w)))
            .collect();
        list_with_more(h, &items, OPEN_ITEMS, "warnings");
    }
}

/// A `<ul>` of the first `open` items, and the rest in a `<details>`.
fn list_with_more(h: &mut String, items: &[String], open: usize, what: &str) {
    h.push_str("<ul>\n");
    for i in items.iter().take(open) {
        h.push_str(i);
        h.push('\n');
    }
    h.push_str("</ul>\n");
    if items.len() > open {
        let _ = writeln!(
            h,
            "<details><summary>{} more {what}</summary>\n<ul>",
            count(items.len() - open)
        );
        for i in &items[open..] {
            h.push_str(i);
            h.push('\n');
        }
        h.push_str("</ul>\n</details>\n");
    }
}

fn graph_section(report: &Report, h: &mut String) {
    let g = provenance_graph(report, GRAPH_CLUSTERS);
    if g.nodes.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"graph\">Provenance graph</h2>\n");
    h.push_str(
        "<p class=\"muted\">Arrows run from the likely origin (or the witness closest \
         to it) to the documents that derive from it.</p>\n",
    );
    if g.omitted_clusters > 0 {
        let _ = writeln!(
            h,
            "<p class=\"muted\">The graph shows the {} largest clusters; {} more are \
             left out here (<code>--format dot</code> writes the whole graph).</p>",
            count(GRAPH_CLUSTERS),
            count(g.omitted_clusters)
        );
    }
    h.push_str("<div class=\"graph\">\n");
    svg(&g, h);
    h.push_str("</div>\n");
}

const NODE_W: usize = 210;
const NODE_H: usize = 44;
const COL_GAP: usize = 110;
const ROW_GAP: usize = 22;
const TOP: usize = 64;
const LEFT: usize = 16;

/// Cut `s` to at most `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Draw the graph left to right: each node in the column one past its
/// furthest predecessor (cycles are cut after as many rounds as nodes).
fn svg(g: &Graph, h: &mut String) {
    let n = g.nodes.len();
    let mut layer = vec![0usize; n];
    for _ in 0..n {
        let mut changed = false;
        for e in &g.edges {
            if layer[e.to] < layer[e.from] + 1 && layer[e.from] < n {
                layer[e.to] = layer[e.from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let cols = layer.iter().copied().max().unwrap_or(0) + 1;
    let (row, rows) = tree_rows(g, &layer);
    let pos = |i: usize| {
        (
            LEFT + layer[i] * (NODE_W + COL_GAP),
            TOP + row[i] * (NODE_H + ROW_GAP),
        )
    };
    let width = (LEFT * 2 + cols * NODE_W + (cols - 1) * COL_GAP).max(560);
    let height = TOP + rows * (NODE_H + ROW_GAP) + 8;
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"provenance graph\" \
         font-family=\"Helvetica, Arial, sans-serif\">"
    );
    h.push_str(
        "<defs>\
<marker id=\"arrow-ok\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1a7f37\"/></marker>\
<marker id=\"arrow-bad\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#cf222e\"/></marker>\
</defs>\n",
    );
    // Legend.
    h.push_str(
        "<g class=\"legend\" font-size=\"12\">\
<line x1=\"16\" y1=\"18\" x2=\"56\" y2=\"18\" stroke=\"#1a7f37\" stroke-width=\"2\" marker-end=\"url(#arrow-ok)\"/>\
<text x=\"62\" y=\"22\">credited reuse</text>\
<line x1=\"170\" y1=\"18\" x2=\"210\" y2=\"18\" stroke=\"#cf222e\" stroke-width=\"2\" stroke-dasharray=\"6 4\" marker-end=\"url(#arrow-bad)\"/>\
<text x=\"216\" y=\"22\">uncredited reuse</text>\
<rect x=\"340\" y=\"8\" width=\"22\" height=\"16\" rx=\"4\" fill=\"#f6f8fa\" stroke=\"#57606a\"/>\
<text x=\"368\" y=\"22\">document</text>\
<rect x=\"440\" y=\"8\" width=\"22\" height=\"16\" rx=\"4\" fill=\"#fff8c5\" stroke=\"#9a6700\" stroke-width=\"2\"/>\
<text x=\"468\" y=\"22\">external source</text>\
</g>\n",
    );
    for e in &g.edges {
        let (x1, y1) = pos(e.from);
        let (x2, y2) = pos(e.to);
        let (sx, sy) = (x1 + NODE_W, y1 + NODE_H / 2);
        let (tx, ty) = (x2, y2 + NODE_H / 2);
        let (color, dash, marker, what) = if e.credited {
            ("#1a7f37", "", "arrow-ok", "credited")
        } else {
            (
                "#cf222e",
                " stroke-dasharray=\"6 4\"",
                "arrow-bad",
                "uncredited",
            )
        };
        let clusters: Vec<String> = e.clusters.iter().map(|c| format!("#{c}")).collect();
        let clusters = clip(&clusters.join(" "), 24);
        // A cubic curve; edges to the same or an earlier column loop below.
        let path = if tx > sx {
            let mid = (sx + tx) / 2;
            format!("M{sx},{sy} C{mid},{sy} {mid},{ty} {tx},{ty}")
        } else {
            let low = sy.max(ty) + NODE_H;
            format!(
                "M{sx},{sy} C{},{low} {},{low} {tx},{ty}",
                sx + 60,
                tx.saturating_sub(60)
            )
        };
        let _ = writeln!(
            h,
            "<g><title>{what} reuse, cluster {clusters}</title><path d=\"{path}\" fill=\"none\" \
             stroke=\"{color}\" stroke-width=\"2\"{dash} marker-end=\"url(#{marker})\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{color}\" text-anchor=\"end\">{what} {clusters}</text></g>",
            tx.saturating_sub(12),
            ty.saturating_sub(6),
        );
    }
    for (i, node) in g.nodes.iter().enumerate() {
        let (x, y) = pos(i);
        let (fill, stroke, sw) = if node.external {
            ("#fff8c5", "#9a6700", 2)
        } else {
            ("#f6f8fa", "#57606a", 1)
        };
        let _ = writeln!(
            h,
            "<g class=\"node{}\"><title>{}{}{}</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"6\" fill=\"{fill}\" \
             stroke=\"{stroke}\" stroke-width=\"{sw}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"600\">{}</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#57606a\">{}</text></g>",
            if node.external { " external" } else { "" },
            escape(&node.label),
            if node.sub.is_empty() { "" } else { " — " },
            escape(&node.sub),
            x + 8,
            y + 18,
            escape(&clip(&node.label, 28)),
            x + 8,
            y + 35,
            escape(&clip(&node.sub, 32)),
        );
    }
    h.push_str("</svg>\n");
}

/// Rows for a left-to-right tree drawing: depth first from each root (a
/// node nothing points at, in order of appearance), a leaf takes the next
/// free row and a node the row of its first child placed under it, so a
/// chain stays on one line. A slot already taken in a column gets a fresh
/// row. Returns each node's row and the number of rows.
fn tree_rows(g: &Graph, layer: &[usize]) -> (Vec<usize>, usize) {
    let n = g.nodes.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut has_parent = vec![false; n];
    for e in &g.edges {
        children[e.from].push(e.to);
        has_parent[e.to] = true;
    }
    let mut row = vec![usize::MAX; n];
    let mut taken: HashSet<(usize, usize)> = HashSet::new();
    let mut next = 0;
    let roots = (0..n)
        .filter(|&v| !has_parent[v])
        .chain((0..n).filter(|&v| has_parent[v]));
    for root in roots {
        if row[root] != usize::MAX {
            continue;
        }
        // Iterative depth-first walk; a node is placed after its children.
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        row[root] = usize::MAX - 1; // on the stack
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if let Some(&c) = children[v].get(*k) {
                *k += 1;
                if row[c] == usize::MAX {
                    row[c] = usize::MAX - 1;
                    stack.push((c, 0));
                }
                continue;
            }
            stack.pop();
            let first_child = children[v]
                .iter()
                .map(|&c| row[c])
                .find(|&r| r < usize::MAX - 1);
            let r = match first_child {
                Some(r) if !taken.contains(&(layer[v], r)) => r,
                _ => {
                    next += 1;
                    next - 1
                }
            };
            taken.insert((layer[v], r));
            row[v] = r;
        }
    }
    (row, next.max(1))
}

fn describe(d: &Document) -> String {
    let mut s = format!("<b>{}</b>", escape(&d.id));
    if let Some(o) = &d.outlet {
        let _ = write!(s, " · {}", escape(o));
    }
    if let Some(p) = &d.published {
        let _ = write!(s, " · {}", escape(p));
    }
    if let Some(t) = &d.title {
        let _ = write!(s, " · <i>{}</i>", escape(t));
    }
    s
}

fn clusters_section(report: &Report, h: &mut String) {
    if report.clusters.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"clusters\">Clusters</h2>\n");
    h.push_str(
        "<p class=\"keys muted\">Largest first. In each passage, words only in the left text are \
         <del class=\"w\">struck out</del>, words only in the right text are \
         <ins class=\"w\">underlined</ins>; the rest is shared.</p>\n",
    );
    for c in report.clusters.iter().take(OPEN_CLUSTERS) {
        cluster(report, c, h);
    }
    if report.clusters.len() > OPEN_CLUSTERS {
        let _ = writeln!(
            h,
            "<details><summary>{} more clusters</summary>",
            count(report.clusters.len() - OPEN_CLUSTERS)
        );
        for c in &report.clusters[OPEN_CLUSTERS..] {
            cluster(report, c, h);
        }
        h.push_str("</details>\n");
    }
}

fn cluster(report: &Report, c: &crate::cluster::Cluster, h: &mut String) {
    let _ = writeln!(
        h,
        "<section class=\"cluster\" id=\"cluster-{}\">\n<h3>Cluster {} · {} · {}</h3>",
        c.id,
        c.id,
        plural(c.docs.len(), "document"),
        plural(c.passages.len(), "passage")
    );
    let docs: Vec<String> = c
        .docs
        .iter()
        .filter_map(|&d| report.documents.get(d))
        .map(|d| format!("<li>{}</li>", describe(d)))
        .collect();
    list_with_more(h, &docs, OPEN_DOCS, "documents");
    if let Some(p) = &c.provenance {
        h.push_str("<div class=\"verdict\">\n");
        if !p.summary.is_empty() {
            let _ = writeln!(h, "<p><b>{}</b></p>", escape(&p.summary));
        }
        let conf = p.confidence.clamp(0.0, 1.0);
        let _ = writeln!(
            h,
            "<p>Origin: <b>{}</b>{} · closest to origin: <code>{}</code> · confidence {:.2} \
             <span class=\"conf\"><span style=\"width:{:.0}%\"></span></span></p>",
            escape(&p.origin),
            if p.origin_is_external {
                " (outside the corpus)"
            } else {
                ""
            },
            escape(&p.closest_to_origin),
            conf,
            conf * 100.0
        );
        if !p.credits_origin.is_empty() {
            h.push_str("<p>Credits the origin: ");
            let parts: Vec<String> = p
                .credits_origin
                .iter()
                .map(|(id, yes)| {
                    if *yes {
                        format!(
                            "<code>{}</code> <span class=\"credit-yes\">yes</span>",
                            escape(id)
                        )
                    } else {
                        format!(
                            "<code>{}</code> <span class=\"credit-no\">no</span>",
                            escape(id)
                        )
                    }
                })
                .collect();
            h.push_str(&parts.join(" · "));
            h.push_str("</p>\n");
        }
        if !p.evidence.is_empty() {
            h.push_str("<details open><summary>Evidence</summary>\n<ul class=\"evidence\">\n");
            for e in &p.evidence {
                let _ = writeln!(h, "<li>{}</li>", escape(e));
            }
            h.push_str("</ul>\n</details>\n");
        }
        h.push_str("</div>\n");
    }
    let passages: Vec<&Passage> = c
        .passages
        .iter()
        .filter_map(|&i| report.passages.get(i))
        .collect();
    for p in passages.iter().take(OPEN_PASSAGES) {
        passage(report, p, h);
    }
    if passages.len() > OPEN_PASSAGES {
        let _ = writeln!(
            h,
            "<details><summary>{} more passages</summary>",
            count(passages.len() - OPEN_PASSAGES)
        );
        for p in &passages[OPEN_PASSAGES..] {
            passage(report, p, h);
        }
        h.push_str("</details>\n");
    }
    h.push_str("</section>\n");
}

fn passage(report: &Report, p: &Passage, h: &mut String) {
    // Texts moved out of memory on reading are read back; one that cannot
    // be says so in its place.
    let side = |w: &crate::align::Witness| {
        let d = report.documents.get(w.doc);
        let text = match d.map(|d| d.load_text()) {
            Some(Ok(t)) => t.get(w.start..w.end).unwrap_or("").to_string(),
            Some(Err(e)) => format!("(text not available: {e})"),
            None => String::new(),
        };
        (d, text)
    };
    let (da, ta) = side(&p.a);
    let (db, tb) = side(&p.b);
    let (ta, tb) = (ta.as_str(), tb.as_str());
    let (marks_a, marks_b) = word_diff(ta, tb);
    let removed = marks_a.iter().filter(|m| m.1).count();
    let added = marks_b.iter().filter(|m| m.1).count();
    let _ = writeln!(
        h,
        "<div class=\"passage\" id=\"passage-{}\">\n<h4>Passage {} · {} tokens · similarity {:.2} · \
         {} only left, {} only right</h4>\n<div class=\"cols\">",
        p.id,
        p.id,
        count(p.tokens),
        p.similarity,
        plural(removed, "word"),
        plural(added, "word")
    );
    for (d, w, text, marks, tag) in [
        (da, &p.a, ta, &marks_a, "del"),
        (db, &p.b, tb, &marks_b, "ins"),
    ] {
        let head = match d {
            Some(d) => describe(d),
            None => "(unknown document)".to_string(),
        };
        let _ = writeln!(
            h,
            "<div class=\"col\"><div class=\"wit\">{head} · bytes {}..{}</div>",
            w.start, w.end
        );
        h.push_str("<p class=\"txt\">");
        render_marked(text, marks, tag, h);
        h.push_str("</p></div>\n");
    }
    h.push_str("</div>\n</div>\n");
}

/// A token's byte range in its span, and whether the other span lacks it.
type Mark = (Token, bool);

/// Word-level difference of two spans: for each token of each side, is it
/// missing from the other side? Tokens are compared by their normalized
/// hash (`U.S.`/`US` and case differences count as equal). The longest
/// common subsequence is computed after trimming the common head and tail;
/// when the rest is too large for a table, a token is marked when the other
/// side does not contain it anywhere.
pub(crate) fn word_diff(a: &str, b: &str) -> (Vec<Mark>, Vec<Mark>) {
    let ta = tokens(a);
    let tb = tokens(b);
    let mut ma: Vec<Mark> = ta.iter().map(|&t| (t, false)).collect();
    let mut mb: Vec<Mark> = tb.iter().map(|&t| (t, false)).collect();
    let head = ta
        .iter()
        .zip(&tb)
        .take_while(|(x, y)| x.hash == y.hash)
        .count();
    let tail = ta[head..]
        .iter()
        .rev()
        .zip(tb[head..].iter().rev())
        .take_while(|(x, y)| x.hash == y.hash)
        .count();
    let xa = &ta[head..ta.len() - tail];
    let xb = &tb[head..tb.len() - tail];
    let (n, m) = (xa.len(), xb.len());
    if n == 0 || m == 0 {
        for k in 0..n {
            ma[head + k].1 = true;
        }
        for k in 0..m {
            mb[head + k].1 = true;
        }
        return (ma, mb);
    }
    if (n + 1).saturating_mul(m + 1) > MAX_DIFF_CELLS {
        let in_a: HashSet<u64> = xa.iter().map(|t| t.hash).collect();
        let in_b: HashSet<u64> = xb.iter().map(|t| t.hash).collect();
        for (k, t) in xa.iter().enumerate() {
            ma[head + k].1 = !in_b.contains(&t.hash);
        }
        for (k, t) in xb.iter().enumerate() {
            mb[head + k].1 = !in_a.contains(&t.hash);
        }
        return (ma, mb);
    }
    // lcs[i * (m + 1) + j]: LCS length of xa[i..] and xb[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if xa[i].hash == xb[j].hash {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if xa[i].hash == xb[j].hash {
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] {
            ma[head + i].1 = true;
            i += 1;
        } else {
            mb[head + j].1 = true;
            j += 1;
        }
    }
    for k in i..n {
        ma[head + k].1 = true;
    }
    for k in j..m {
        mb[head + k].1 = true;
    }
    (ma, mb)
}

/// Render `text` escaped, with each run of marked tokens (and the text
/// between them) wrapped in `<tag class="w">`.
fn render_marked(text: &str, marks: &[Mark], tag: &str, h: &mut String) {
    let mut at = 0;
    let mut k = 0;
    while k < marks.len() {
        if !marks[k].1 {
            k += 1;
            continue;
        }
        let start = marks[k].0.start as usize;
        let mut end = marks[k].0.end as usize;
        while k + 1 < marks.len() && marks[k + 1].1 {
            k += 1;
            end = marks[k].0.end as usize;
        }
        k += 1;
        if let (Some(before), Some(run)) = (text.get(at..start), text.get(start..end)) {
            h.push_str(&escape(before));
            let _ = write!(h, "<{tag} class=\"w\">{}</{tag}>", escape(run));
            at = end;
        }
    }
    h.push_str(&escape(text.get(at..).unwrap_or("")));
}

fn quotes_section(report: &Report, h: &mut String) {
    if report.quotes.is_empty() {
        return;
    }
    let by_id: HashMap<&str, &Document> = report
        .documents
        .iter()
        .map(|d| (d.id.as_str(), d))
        .collect();
    h.push_str("<h2 id=\"quotes\">Quotations shared by several documents</h2>\n");
    let head = "<table class=\"quotes\">\n<thead><tr><th>#</th><th>Quotation</th><th>Document</th>\
                <th>Outlet</th><th>Speaker</th><th>Credits</th><th>Flags</th></tr></thead>\n<tbody>\n";
    h.push_str(head);
    for q in report.quotes.iter().take(OPEN_QUOTES) {
        quote_rows(q, &by_id, h);
    }
    h.push_str("</tbody>\n</table>\n");
    if report.quotes.len() > OPEN_QUOTES {
        let _ = writeln!(
            h,
            "<details><summary>{} more quotations</summary>",
            count(report.quotes.len() - OPEN_QUOTES)
        );
        h.push_str(head);
        for q in &report.quotes[OPEN_QUOTES..] {
            quote_rows(q, &by_id, h);
        }
        h.push_str("</tbody>\n</table>\n</details>\n");
    }
}

fn quote_rows(q: &QuoteGroup, by_id: &HashMap<&str, &Document>, h: &mut String) {
    let mut flags = String::new();
    for (on, what) in [
        (q.uncredited_reuse, "uncredited reuse"),
        (q.speaker_mismatch, "speaker mismatch"),
        (q.altered_wording, "altered wording"),
    ] {
        if on {
            let _ = write!(flags, "<span class=\"flag\">{what}</span>");
        }
    }
    let span = q.occurrences.len().max(1);
    for (k, o) in q.occurrences.iter().enumerate() {
        h.push_str("<tr>");
        if k == 0 {
            let _ = write!(
                h,
                "<td rowspan=\"{span}\">Q{}</td><td rowspan=\"{span}\">{}</td>",
                q.id,
                escape(&excerpt(&q.text, 160))
            );
        }
        let outlet = by_id
            .get(o.doc.as_str())
            .and_then(|d| d.outlet.as_deref())
            .unwrap_or("");
        let credits = if o.outlet_credited.is_empty() {
            "<span class=\"credit-no\">no one</span>".to_string()
        } else {
            escape(&o.outlet_credited.join(", "))
        };
        let _ = write!(
            h,
            "<td><code>{}</code></td><td>{}</td><td>{}</td><td>{credits}</td>",
            escape(&o.doc),
            escape(outlet),
            escape(o.speaker.as_deref().unwrap_or("not named")),
        );
        if k == 0 {
            let _ = write!(h, "<td rowspan=\"{span}\">{flags}</td>");
        }
        h.push_str("</tr>\n");
    }
}

fn documents_section(report: &Report, h: &mut String) {
    if report.documents.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h2 id=\"documents\">Documents</h2>\n<details><summary>All {} read</summary>\n\
         <table><thead><tr><th>Id</th><th>Outlet</th><th>Published</th><th>Path</th>\
         <th>Bytes</th><th>Status</th></tr></thead>\n<tbody>",
        plural(report.documents.len(), "document")
    );
    for d in &report.documents {
        let status = match &d.encoding {
            Some(e) => format!("{} ({})", escape(&d.status), escape(e)),
            None => escape(&d.status),
        };
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>",
            escape(&d.id),
            escape(d.outlet.as_deref().unwrap_or("")),
            escape(d.published.as_deref().unwrap_or("")),
            escape(&d.path),
            count(d.bytes),
        );
    }
    h.push_str("</tbody></table>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Corpus, Settings, scan};

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape(r#"<img src=x onerror="alert('1')">"#),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;"
        );
        assert_eq!(escape("a & b </textarea>"), "a &amp; b &lt;/textarea&gt;");
        assert_eq!(escape("plain – ünïcode"), "plain – ünïcode");
    }

    #[test]
    fn diff_marks_changed_words() {
        let a = "Pakistani militants attacked the post on Monday, officials said.";
        let b = "Pakistani terrorists attacked the post on Monday, officials said.";
        let (ma, mb) = word_diff(a, b);
        let changed = |text: &str, m: &[Mark]| -> Vec<String> {
            m.iter()
                .filter(|x| x.1)
                .map(|x| text[x.0.start as usize..x.0.end as usize].to_string())
                .collect()
        };
        assert_eq!(changed(a, &ma), vec!["militants"]);
        assert_eq!(changed(b, &mb), vec!["terrorists"]);
        let mut h = String::new();
        render_marked(b, &mb, "ins", &mut h);
        assert_eq!(
            h,
            "Pakistani <ins class=\"w\">terrorists</ins> attacked the post on Monday, officials said."
        );
    }

    #[test]
    fn diff_of_identical_and_empty() {
        let (ma, mb) = word_diff("same words here", "Same words HERE");
        assert!(ma.iter().chain(&mb).all(|m| !m.1));
        let (ma, mb) = word_diff("", "new words");
        assert!(ma.is_empty());
        assert!(mb.iter().all(|m| m.1));
    }

    #[test]
    fn graph_layout_survives_cycles() {
        use crate::report_csv::{Edge, Node};
        let node = |l: &str| Node {
            label: l.to_string(),
            sub: String::new(),
            external: false,
        };
        let edge = |from, to| Edge {
            from,
            to,
            credited: false,
            clusters: vec![0],
        };
        let g = Graph {
            nodes: vec![node("a"), node("b"), node("c")],
            edges: vec![edge(0, 1), edge(1, 2), edge(2, 0)],
            omitted_clusters: 0,
        };
        let mut h = String::new();
        svg(&g, &mut h);
        assert_eq!(h.matches("<rect x=").count(), 3 + 2);
        assert_eq!(h.matches("<g><title>uncredited").count(), 3);
        let layer = vec![0, 1, 2];
        let (rows, n) = tree_rows(&g, &layer);
        assert_eq!(n, 1);
        assert_eq!(rows, vec![0, 0, 0]);
    }

    #[test]
    fn hostile_document_is_escaped() {
        let shared = "The council met on Tuesday <script>alert(1)</script> and voted \
            <img src=x onerror=alert(1)> to close the </textarea> old bridge across the river \
            after engineers warned that its supports had cracked during the winter floods.";
        let mut a = crate::Document::new("a", format!("First. {shared}"));
        a.outlet = Some("<script>alert('outlet')</script>".to_string());
        let mut b = crate::Document::new("b", format!("Second! {shared} More."));
        b.outlet = Some("\"><img src=x onerror=alert(2)>".to_string());
        let corpus = Corpus {
            documents: vec![a, b],
            skipped: vec![crate::Skipped {
                path: "<svg onload=alert(3)>.txt".to_string(),
                reason: "not text & \"binary\"".to_string(),
            }],
            warnings: vec!["manifest row <b>7</b>".to_string()],
        };
        let report = scan(corpus, &Settings::default()).unwrap();
        assert_eq!(report.passages.len(), 1);
        let mut out = Vec::new();
        write_html(&report, &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("</textarea>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;script&gt;alert(&#39;outlet&#39;)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
        assert!(html.contains(
            "<code>&lt;svg onload=alert(3)&gt;.txt</code>: not text &amp; &quot;binary&quot;"
        ));
        assert!(html.contains("manifest row &lt;b&gt;7&lt;/b&gt;"));
        assert!(!html.contains("<b>7"));
    }
}
