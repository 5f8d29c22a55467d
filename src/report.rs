//! Stage 7: write a [`Report`] as readable text or as JSON (the report
//! contract in `shared/spec/report-contract.md`).

use serde::Serialize;
use std::io::Write;

use crate::align::Passage;
use crate::corpus::{Document, Skipped};
use crate::provenance::Provenance;
use crate::quotes::QuoteGroup;
use crate::scan::{Report, ScanStats};

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    offsets: &'static str,
    documents: &'a [Document],
    skipped: &'a [Skipped],
    warnings: &'a [String],
    passages: JsonPassages<'a>,
    clusters: JsonClusters<'a>,
    quotes: &'a [QuoteGroup],
    stats: &'a ScanStats,
}

#[derive(Serialize)]
struct JsonWitness<'a> {
    doc: &'a str,
    start: usize,
    end: usize,
}

#[derive(Serialize)]
struct JsonPassage<'a> {
    id: usize,
    cluster: usize,
    similarity: f64,
    tokens: usize,
    a: JsonWitness<'a>,
    b: JsonWitness<'a>,
}

#[derive(Serialize)]
struct JsonCluster<'a> {
    id: usize,
    docs: Vec<&'a str>,
    passages: &'a [usize],
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<&'a Provenance>,
}

/// A report's passages as the contract has them (document ids for
/// indices), made one at a time as they are written: gathered first, at a
/// million documents they took some 120 MB.
struct JsonPassages<'a>(&'a Report);

impl Serialize for JsonPassages<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let witness = |w: &crate::align::Witness| JsonWitness {
            doc: report.documents[w.doc].id.as_str(),
            start: w.start,
            end: w.end,
        };
        s.collect_seq(report.passages.iter().map(|p| JsonPassage {
            id: p.id,
            cluster: p.cluster,
            similarity: p.similarity,
            tokens: p.tokens,
            a: witness(&p.a),
            b: witness(&p.b),
        }))
    }
}

/// A report's clusters as the contract has them, one at a time as they
/// are written (as [`JsonPassages`]).
struct JsonClusters<'a>(&'a Report);

impl Serialize for JsonClusters<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        s.collect_seq(report.clusters.iter().map(|c| {
            JsonCluster {
                id: c.id,
                docs: c
                    .docs
                    .iter()
                    .map(|&d| report.documents[d].id.as_str())
                    .collect(),
                passages: &c.passages,
                provenance: c.provenance.as_ref(),
            }
        }))
    }
}

/// Write the report as one JSON object (pretty-printed, newline-terminated).
pub fn write_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let json = JsonReport {
        version: 1,
        offsets: "utf8-bytes",
        documents: &report.documents,
        skipped: &report.skipped,
        warnings: &report.warnings,
        passages: JsonPassages(report),
        clusters: JsonClusters(report),
        quotes: &report.quotes,
        stats: &report.stats,
    };
    write_pretty_json(&json, out)
}

/// Write `value` as pretty JSON and a newline, through a 1 MiB buffer:
/// many small writes through `dyn Write` cost more than the serializing
/// itself, and the whole text in memory would cost its size again (a few
/// hundred MB for a large corpus).
pub(crate) fn write_pretty_json<T: Serialize>(
    value: &T,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut buf = std::io::BufWriter::with_capacity(1 << 20, out);
    serde_json::to_writer_pretty(&mut buf, value)?;
    buf.write_all(b"\n")?;
    buf.flush()
}

/// Write the report as text for people: per cluster its documents, its
/// provenance verdict and each passage side by side with excerpts; then the
/// quote audit; then skipped inputs and a one-line account.
pub fn write_text(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let docs = &report.documents;
    writeln!(
        out,
        "wiretrace: {}, {}, {}",
        plural(docs.len(), "document"),
        plural(report.clusters.len(), "cluster"),
        plural(report.passages.len(), "passage")
    )?;
    for c in &report.clusters {
        writeln!(out)?;
        writeln!(
            out,
            "Cluster {} · {} · {}",
            c.id,
            plural(c.docs.len(), "document"),
            plural(c.passages.len(), "passage")
        )?;
        for &d in &c.docs {
            writeln!(out, "  {}", describe(&docs[d]))?;
        }
        if let Some(p) = &c.provenance
            && !p.summary.is_empty()
        {
            writeln!(out, "  {}", p.summary)?;
        }
        for &pid in &c.passages {
            write_passage(report, &report.passages[pid], out)?;
        }
    }
    if !report.quotes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Quotations shared by several documents")?;
        for q in &report.quotes {
            write_quote(report, q, out)?;
        }
    }
    if !report.skipped.is_empty() {
        writeln!(out)?;
        writeln!(out, "Skipped inputs")?;
        for s in &report.skipped {
            writeln!(out, "  {}: {}", s.path, s.reason)?;
        }
    }
    if !report.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "Warnings")?;
        for w in &report.warnings {
            writeln!(out, "  {w}")?;
        }
    }
    writeln!(out)?;
    let tail = if report.skipped.is_empty() {
        ""
    } else {
        " (see above)"
    };
    writeln!(
        out,
        "read {}, skipped {}{}",
        plural(docs.len(), "document"),
        count(report.skipped.len()),
        tail
    )
}

fn write_passage(report: &Report, p: &Passage, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "  Passage {}: {} tokens, similarity {:.2}",
        p.id, p.tokens, p.similarity
    )?;
    for w in [&p.a, &p.b] {
        let d = &report.documents[w.doc];
        let text = d.load_text().map_err(std::io::Error::other)?;
        writeln!(
            out,
            "    {} [{}..{}] {}",
            d.id,
            w.start,
            w.end,
            excerpt(text.get(w.start..w.end).unwrap_or(""), 110)
        )?;
    }
    Ok(())
}

fn write_quote(report: &Report, q: &QuoteGroup, out: &mut dyn Write) -> std::io::Result<()> {
    let mut flags = Vec::new();
    if q.uncredited_reuse {
        flags.push("uncredited reuse");
    }
    if q.speaker_mismatch {
        flags.push("speaker mismatch");
    }
    if q.altered_wording {
        flags.push("altered wording");
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", flags.join(", "))
    };
    writeln!(out, "  Q{} {}{}", q.id, excerpt(&q.text, 90), flags)?;
    for o in &q.occurrences {
        let label = report
            .documents
            .iter()
            .find(|d| d.id == o.doc)
            .map(|d| d.label().to_string())
            .unwrap_or_default();
        let credit = if o.outlet_credited.is_empty() {
            "credits no one".to_string()
        } else {
            format!("credits {}", o.outlet_credited.join(", "))
        };
        writeln!(
            out,
            "    {} ({}): speaker {}; {}",
            o.doc,
            label,
            o.speaker.as_deref().unwrap_or("not named"),
            credit
        )?;
    }
    Ok(())
}

fn describe(d: &Document) -> String {
    let mut s = d.id.clone();
    if let Some(o) = &d.outlet {
        s.push_str(&format!(" · {o}"));
    }
    if let Some(p) = &d.published {
        s.push_str(&format!(" · {p}"));
    }
    s
}

/// A one-line excerpt of at most about `max` characters: the start and the
/// end of the text, whitespace collapsed.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let flat: Vec<&str> = text.split_whitespace().collect();
    let flat = flat.join(" ");
    let chars: Vec<char> = flat.chars().collect();
    if chars.len() <= max {
        return format!("“{flat}”");
    }
    let head: String = chars[..max * 2 / 3].iter().collect();
    let tail: String = chars[chars.len() - max / 3..].iter().collect();
    format!("“{} … {}”", head.trim_end(), tail.trim_start())
}

/// "1 document", "1,204 documents".
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", count(n))
    }
}

/// 1204 → "1,204".
pub(crate) fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_excerpts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1204), "1,204");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(excerpt("a  b\nc", 10), "“a b c”");
        let e = excerpt(&"word ".repeat(100), 30);
        assert!(e.contains(" … "));
    }
}
