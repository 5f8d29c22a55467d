//! Report writers for other tools: passages as CSV (one row per passage
//! pair, RFC 4180) and the provenance graph as Graphviz DOT. The graph model
//! here is shared with the HTML report, so the SVG and the DOT file show the
//! same nodes and edges.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use crate::report::excerpt;
use crate::scan::Report;

/// One node of the provenance graph: a document, or a source outside the
/// corpus (a wire service named as origin).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Main label: the outlet, the document id, or the external source.
    pub label: String,
    /// Second line: the document id (when the outlet is the label), the
    /// publication date, or "external source".
    pub sub: String,
    /// True for an origin outside the corpus.
    pub external: bool,
}

/// One edge: `from` is closer to the origin than `to`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Edge {
    /// Index into [`Graph::nodes`].
    pub from: usize,
    /// Index into [`Graph::nodes`].
    pub to: usize,
    /// The receiving side credits the origin (in every cluster the edge
    /// stands for).
    pub credited: bool,
    /// Clusters the edge comes from, ascending.
    pub clusters: Vec<usize>,
}

/// The provenance graph of a report.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Graph {
    /// Nodes in order of first appearance (cluster order).
    pub nodes: Vec<Node>,
    /// Edges in order of first appearance.
    pub edges: Vec<Edge>,
    /// Clusters with a provenance verdict that were left out (beyond the
    /// limit asked for).
    pub omitted_clusters: usize,
}

/// Build the provenance graph from the first `max_clusters` clusters that
/// have a verdict: the external origin points at the witness closest to it,
/// and that witness points at each derived witness. An edge is credited
/// when its receiving witness credits the origin.
pub(crate) fn provenance_graph(report: &Report, max_clusters: usize) -> Graph {
    let by_id: HashMap<&str, usize> = report
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    let mut graph = Graph::default();
    let mut doc_node: HashMap<usize, usize> = HashMap::new();
    let mut ext_node: HashMap<String, usize> = HashMap::new();
    let mut edge_at: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut used = 0;

    for c in &report.clusters {
        let Some(p) = &c.provenance else { continue };
        let Some(&closest) = by_id.get(p.closest_to_origin.as_str()) else {
            continue;
        };
        if used == max_clusters {
            graph.omitted_clusters += 1;
            continue;
        }
        used += 1;
        let mut node_of_doc = |graph: &mut Graph, d: usize| -> usize {
            *doc_node.entry(d).or_insert_with(|| {
                let doc = &report.documents[d];
                let (label, sub) = match &doc.outlet {
                    Some(o) => (o.clone(), doc.id.clone()),
                    None => (doc.id.clone(), doc.published.clone().unwrap_or_default()),
                };
                graph.nodes.push(Node {
                    label,
                    sub,
                    external: false,
                });
                graph.nodes.len() - 1
            })
        };
        let credits = |id: &str| p.credits_origin.get(id).copied().unwrap_or(false);
        let mut add_edge = |graph: &mut Graph, from: usize, to: usize, credited: bool| {
            if from == to {
                return;
            }
            match edge_at.get(&(from, to)) {
                Some(&e) => {
                    let edge = &mut graph.edges[e];
                    edge.credited &= credited;
                    if edge.clusters.last() != Some(&c.id) {
                        edge.clusters.push(c.id);
                    }
                }
                None => {
                    edge_at.insert((from, to), graph.edges.len());
                    graph.edges.push(Edge {
                        from,
                        to,
                        credited,
                        clusters: vec![c.id],
                    });
                }
            }
        };

        let closest_node = node_of_doc(&mut graph, closest);
        if p.origin_is_external && !p.origin.is_empty() {
            let ext = *ext_node.entry(p.origin.clone()).or_insert_with(|| {
                graph.nodes.push(Node {
                    label: p.origin.clone(),
                    sub: "external source".to_string(),
                    external: true,
                });
                graph.nodes.len() - 1
            });
            add_edge(&mut graph, ext, closest_node, credits(&p.closest_to_origin));
        } else if let Some(&origin) = by_id.get(p.origin.as_str())
            && origin != closest
        {
            let origin_node = node_of_doc(&mut graph, origin);
            add_edge(
                &mut graph,
                origin_node,
                closest_node,
                credits(&p.closest_to_origin),
            );
        }
        for d in &p.derived {
            let Some(&di) = by_id.get(d.as_str()) else {
                continue;
            };
            let dn = node_of_doc(&mut graph, di);
            add_edge(&mut graph, closest_node, dn, credits(d));
        }
    }
    graph
}

/// Quote one CSV field per RFC 4180: in double quotes, with inner quotes
/// doubled, when it holds a comma, a quote, CR or LF.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A cell taken from the articles or their metadata, made safe for
/// spreadsheets: one starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return would be run as a formula by Excel, LibreOffice or Google Sheets
/// (CSV injection), so it gets a leading apostrophe, which they show as
/// text and do not display.
fn text_cell(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

/// An excerpt without the typographic quotes the text report puts around it.
fn plain_excerpt(text: &str, max: usize) -> String {
    let e = excerpt(text, max);
    let e = e.strip_prefix('“').unwrap_or(&e);
    e.strip_suffix('”').unwrap_or(e).to_string()
}

/// The column names of [`write_csv`], in order.
pub(crate) const CSV_COLUMNS: [&str; 16] = [
    "passage",
    "cluster",
    "doc_a",
    "outlet_a",
    "published_a",
    "start_a",
    "end_a",
    "doc_b",
    "outlet_b",
    "published_b",
    "start_b",
    "end_b",
    "similarity",
    "tokens",
    "excerpt_a",
    "excerpt_b",
];

/// Write the passages as CSV (RFC 4180: header row, CRLF line ends, fields
/// quoted when needed): one row per passage pair with its id, cluster, both
/// documents (id, outlet, published date, byte span), similarity, aligned
/// tokens and a one-line excerpt of each side. Offsets are UTF-8 byte
/// offsets into the document texts, as in the JSON report.
pub fn write_csv(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    write_row(out, CSV_COLUMNS.iter().map(|s| s.to_string()))?;
    for p in &report.passages {
        let mut row: Vec<String> = vec![p.id.to_string(), p.cluster.to_string()];
        for w in [&p.a, &p.b] {
            let (id, outlet, published) = match report.documents.get(w.doc) {
                Some(d) => (
                    d.id.clone(),
                    d.outlet.clone().unwrap_or_default(),
                    d.published.clone().unwrap_or_default(),
                ),
                None => Default::default(),
            };
            row.extend([
                text_cell(id),
                text_cell(outlet),
                text_cell(published),
                w.start.to_string(),
                w.end.to_string(),
            ]);
        }
        row.push(format!("{:.3}", p.similarity));
        row.push(p.tokens.to_string());
        for w in [&p.a, &p.b] {
            let text = match report.documents.get(w.doc) {
                Some(d) => d.load_text().map_err(std::io::Error::other)?,
                None => std::borrow::Cow::Borrowed(""),
            };
            let text = text.get(w.start..w.end).unwrap_or("");
            row.push(text_cell(plain_excerpt(text, 110)));
        }
        write_row(out, row.into_iter())?;
    }
    Ok(())
}

fn write_row(out: &mut dyn Write, fields: impl Iterator<Item = String>) -> std::io::Result<()> {
    let line: Vec<String> = fields.map(|f| csv_field(&f)).collect();
    out.write_all(line.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

/// Escape a string for a double-quoted Graphviz ID: backslashes and quotes
/// are escaped, line breaks become `\n`, other control characters are
/// dropped.
pub(crate) fn dot_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Write the provenance graph as a Graphviz digraph: one node per document
/// that takes part in a provenance verdict, one (box3d) node per external
/// origin such as a wire service, and an edge from the witness closest to
/// the origin (or from the external origin) to each derived witness.
/// Credited reuse is drawn solid green, uncredited reuse dashed red.
pub fn write_dot(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let g = provenance_graph(report, usize::MAX);
    writeln!(out, "digraph wiretrace {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f6f8fa\", fontname=\"Helvetica\"];"
    )?;
    writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=10];")?;
    for (i, n) in g.nodes.iter().enumerate() {
        let label = if n.sub.is_empty() {
            dot_escape(&n.label)
        } else {
            format!("{}\\n{}", dot_escape(&n.label), dot_escape(&n.sub))
        };
        if n.external {
            writeln!(
                out,
                "  n{i} [label=\"{label}\", shape=box3d, fillcolor=\"#fff8c5\"];"
            )?;
        } else {
            writeln!(out, "  n{i} [label=\"{label}\"];")?;
        }
    }
    for e in &g.edges {
        let clusters: Vec<String> = e.clusters.iter().map(|c| format!("#{c}")).collect();
        let (style, color, what) = if e.credited {
            ("solid", "#1a7f37", "credited")
        } else {
            ("dashed", "#cf222e", "uncredited")
        };
        writeln!(
            out,
            "  n{} -> n{} [style={style}, color=\"{color}\", label=\"{what} {}\"];",
            e.from,
            e.to,
            dot_escape(&clusters.join(" "))
        )?;
    }
    writeln!(out, "}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn dot_escaping() {
        assert_eq!(dot_escape(r#"a "b" \c"#), r#"a \"b\" \\c"#);
        assert_eq!(dot_escape("x\ny\u{7}"), "x\\ny");
    }

    #[test]
    fn cells_from_articles_are_not_formulas() {
        assert_eq!(text_cell("Reuters".into()), "Reuters");
        assert_eq!(text_cell("=1+1".into()), "'=1+1");
        assert_eq!(
            text_cell("-- said the minister".into()),
            "'-- said the minister"
        );
        assert_eq!(text_cell("@home".into()), "'@home");
        assert_eq!(text_cell(String::new()), "");
        // Through the whole writer: an outlet and a document id that would
        // be formulas (passage excerpts start at a word, so they cannot).
        let story = "-2+3 people were hurt when the Haqqani commander, speaking on \
            condition of anonymity, viewed her efforts with scepticism and said by \
            telephone from an undisclosed location that talks would fail again.";
        let mut a = crate::corpus::Document::new("a", story);
        a.outlet = Some("=HYPERLINK(\"http://x\")".into());
        let b = crate::corpus::Document::new("@b", format!("{story} More."));
        let corpus = crate::corpus::Corpus::from_documents(vec![a, b]);
        let report = crate::scan::scan(corpus, &crate::scan::Settings::default()).unwrap();
        assert_eq!(report.passages.len(), 1);
        let mut out = Vec::new();
        write_csv(&report, &mut out).unwrap();
        let csv = String::from_utf8(out).unwrap();
        let row = csv.lines().nth(1).unwrap();
        assert!(row.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "{row}");
        assert!(row.contains(",'@b,"), "{row}");
        assert!(!row.contains(",=") && !row.contains(",@"), "{row}");
    }

    #[test]
    fn excerpt_without_marks() {
        assert_eq!(plain_excerpt("a  b", 10), "a b");
    }
}
