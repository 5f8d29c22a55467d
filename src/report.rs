//! Stage 7: write a [`Report`] as readable text or as JSON (the report
//! contract in `shared/spec/report-contract.md`).

use serde::Serialize;
use std::io::Write;

use crate::align::Passage;
use crate::corpus::Document;
use crate::provenance::Provenance;
use crate::quotes::QuoteGroup;
use crate::scan::Report;

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

/// Write the report as one JSON object (pretty-printed, newline-terminated).
pub fn write_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let id = |d: usize| report.documents[d].id.as_str();
    let witness = |w: &crate::align::Witness| JsonWitness {
        doc: id(w.doc),
        start: w.start,
        end: w.end,
    };
    let mut json = PrettyObject::new(out)?;
    json.field("version", &1)?;
    json.field("offsets", "utf8-bytes")?;
    json.documents_field("documents", &report.documents)?;
    json.field("skipped", &report.skipped)?;
    json.field("warnings", &report.warnings)?;
    json.seq_field("passages", &report.passages, |p| JsonPassage {
        id: p.id,
        cluster: p.cluster,
        similarity: p.similarity,
        tokens: p.tokens,
        a: witness(&p.a),
        b: witness(&p.b),
    })?;
    json.seq_field("clusters", &report.clusters, |c| JsonCluster {
        id: c.id,
        docs: c.docs.iter().map(|&d| id(d)).collect(),
        passages: &c.passages,
        provenance: c.provenance.as_ref(),
    })?;
    json.seq_field("quotes", &report.quotes, |q| q)?;
    json.field("stats", &report.stats)?;
    json.finish()
}

/// A JSON object written field by field, byte for byte as
/// `serde_json::to_writer_pretty` writes it (two-space indents), and then
/// a newline. The elements of a long array are rendered on all threads, a
/// window of them at a time, and written in order, each window while the
/// next is rendered: rendering is most of the cost of a large report, and
/// one thread rendering it was the last serial stage of a run (15–20 ms of
/// a 170 ms `dedup` of Reuters); writing a window before rendering the
/// next left the other threads idle meanwhile (Reuters `dedup --out`, 30
/// alternated runs: median 127.0 → 123.0 ms). Written through a 1 MiB
/// buffer: many small writes through `dyn Write` cost more than the
/// serializing itself; only two windows of rendered elements are held,
/// never the whole text.
pub(crate) struct PrettyObject<'a> {
    out: std::io::BufWriter<&'a mut dyn Write>,
    fields: usize,
}

/// Elements rendered by one task of [`PrettyObject::seq_field`].
const RENDER_CHUNK: usize = 1024;
/// Tasks rendered before their text is written (so at most twice this
/// many times [`RENDER_CHUNK`] elements are held rendered).
const RENDER_WINDOW: usize = 16;

impl<'a> PrettyObject<'a> {
    /// Start the object.
    pub(crate) fn new(out: &'a mut dyn Write) -> std::io::Result<Self> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        out.write_all(b"{")?;
        Ok(PrettyObject { out, fields: 0 })
    }

    /// Start the next field, `name` (a plain identifier, written as is).
    fn key(&mut self, name: &str) -> std::io::Result<()> {
        let sep: &[u8] = if self.fields == 0 { b"\n" } else { b",\n" };
        self.fields += 1;
        self.out.write_all(sep)?;
        write!(self.out, "  \"{name}\": ")
    }

    /// A field whose value is rendered on this thread.
    pub(crate) fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> std::io::Result<()> {
        self.key(name)?;
        render(&mut self.out, value, 1)
    }

    /// A field whose value is the array of `each(item)` for every item,
    /// rendered in parallel.
    pub(crate) fn seq_field<'s, T: Sync, V: Serialize>(
        &mut self,
        name: &str,
        items: &'s [T],
        each: impl Fn(&'s T) -> V + Sync,
    ) -> std::io::Result<()> {
        self.seq_field_with(name, items, |item, text| render(text, &each(item), 2))
    }

    /// The array of the documents, each written by [`document_json`]
    /// (the same bytes as through `serde_json`, in under half the
    /// instructions).
    pub(crate) fn documents_field(
        &mut self,
        name: &str,
        documents: &[crate::Document],
    ) -> std::io::Result<()> {
        self.seq_field_with(name, documents, |d, text| {
            document_json(d, text);
            Ok(())
        })
    }

    /// A field whose value is the array of the items, each appended to the
    /// rendered text by `write` (as an element two levels deep), in
    /// parallel.
    fn seq_field_with<'s, T: Sync>(
        &mut self,
        name: &str,
        items: &'s [T],
        write: impl Fn(&'s T, &mut Vec<u8>) -> std::io::Result<()> + Sync,
    ) -> std::io::Result<()> {
        use rayon::prelude::*;
        self.key(name)?;
        if items.is_empty() {
            return self.out.write_all(b"[]");
        }
        self.out.write_all(b"[")?;
        let chunks: Vec<&'s [T]> = items.chunks(RENDER_CHUNK).collect();
        let render_window = |w: usize, window: &[&'s [T]]| {
            window
                .par_iter()
                .enumerate()
                .map(|(c, chunk)| {
                    let mut text = Vec::new();
                    for (i, item) in chunk.iter().enumerate() {
                        let first = w == 0 && c == 0 && i == 0;
                        text.extend_from_slice(if first { b"\n    " } else { b",\n    " });
                        write(item, &mut text)?;
                    }
                    Ok(text)
                })
                .collect::<std::io::Result<Vec<Vec<u8>>>>()
        };
        // Each window is written on this thread while the next one is
        // rendered on the others (the writer need not be `Send`).
        let mut written: Vec<Vec<u8>> = Vec::new();
        for (w, window) in chunks.chunks(RENDER_WINDOW).enumerate() {
            let mut rendered = Ok(Vec::new());
            let out = &mut self.out;
            let wrote = rayon::in_place_scope(|scope| {
                scope.spawn(|_| rendered = render_window(w, window));
                written.iter().try_for_each(|text| out.write_all(text))
            });
            wrote?;
            written = rendered?;
        }
        for text in &written {
            self.out.write_all(text)?;
        }
        self.out.write_all(b"\n  ]")
    }

    /// End the object (and the text, with a newline) and flush it.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        let end: &[u8] = if self.fields == 0 { b"}\n" } else { b"\n}\n" };
        self.out.write_all(end)?;
        self.out.flush()
    }
}

/// Append `d` as `serde_json`'s pretty printer writes it as an element of
/// an array that is a field of the report (two levels deep), byte for
/// byte: the fields in declaration order, absent options left out.
fn document_json(d: &crate::Document, out: &mut Vec<u8>) {
    // `id` comes first and is always there: every later key follows a
    // comma.
    let key = |out: &mut Vec<u8>, name: &str| {
        out.extend_from_slice(b",\n      \"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\": ");
    };
    let optional = [
        ("outlet", &d.outlet),
        ("published", &d.published),
        ("url", &d.url),
        ("title", &d.title),
    ];
    out.extend_from_slice(b"{\n      \"id\": ");
    json_str(out, &d.id);
    key(out, "path");
    json_str(out, &d.path);
    for (name, value) in optional {
        if let Some(v) = value {
            key(out, name);
            json_str(out, v);
        }
    }
    key(out, "bytes");
    out.extend_from_slice(crate::decimal(d.bytes as u64, &mut [0; 20]).as_bytes());
    key(out, "status");
    json_str(out, &d.status);
    if let Some(v) = &d.encoding {
        key(out, "encoding");
        json_str(out, v);
    }
    out.extend_from_slice(b"\n    }");
}

/// Append `s` as a JSON string, escaped as `serde_json` escapes it: `"`,
/// `\\` and the control characters (the usual five by their short
/// escapes, the others as `\u00XX`); everything else as it is.
fn json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = s.as_bytes();
    while let Some(p) = crate::corpus::json_special(rest) {
        out.extend_from_slice(&rest[..p]);
        match rest[p] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]),
        }
        rest = &rest[p + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Render `value` as pretty JSON nested `depth` levels deep (its inner
/// lines indented as they would be there; the first line is not).
fn render<T: Serialize + ?Sized>(
    out: &mut impl Write,
    value: &T,
    depth: usize,
) -> std::io::Result<()> {
    use serde_json::ser::{Formatter, PrettyFormatter};
    let mut formatter = PrettyFormatter::new();
    // Each array opened (on nothing) takes the formatter one level in, as
    // an enclosing array or object would.
    for _ in 0..depth {
        formatter.begin_array(&mut std::io::sink())?;
    }
    let mut ser = serde_json::Serializer::with_formatter(out, formatter);
    value.serialize(&mut ser).map_err(std::io::Error::from)
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

    proptest::proptest! {
        #[test]
        fn documents_are_written_as_serde_json_writes_them(
            fields in proptest::collection::vec(
                proptest::option::of("[\\x00-\\x7f\"\\\\a-z“é\u{7f}\u{2028}\u{1F600}]{0,12}"),
                7,
            ),
            bytes in proptest::num::usize::ANY,
            decoded in proptest::bool::ANY,
        ) {
            let mut d = crate::Document::new(
                fields[0].clone().unwrap_or_default(),
                "",
            );
            d.path = fields[1].clone().unwrap_or_default();
            d.outlet = fields[2].clone();
            d.published = fields[3].clone();
            d.url = fields[4].clone();
            d.title = fields[5].clone();
            d.encoding = fields[6].clone();
            d.bytes = bytes;
            if decoded {
                d.status = std::borrow::Cow::Borrowed("decoded");
            }
            let mut ours = Vec::new();
            document_json(&d, &mut ours);
            let mut theirs = Vec::new();
            render(&mut theirs, &d, 2).unwrap();
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
        }
    }

    #[test]
    fn counts_and_excerpts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1204), "1,204");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(excerpt("a  b\nc", 10), "“a b c”");
        let e = excerpt(&"word ".repeat(100), 30);
        assert!(e.contains(" … "));
    }

    #[derive(Serialize)]
    struct Item {
        n: usize,
        name: String,
        tags: Vec<&'static str>,
        nested: Option<Vec<Vec<u8>>>,
    }

    fn item(n: usize) -> Item {
        Item {
            n,
            // Escapes, and non-ASCII text.
            name: format!("“{n}”\t\"q\"\\"),
            tags: if n.is_multiple_of(3) {
                vec![]
            } else {
                vec!["a", "b"]
            },
            nested: n.is_multiple_of(2).then(|| vec![vec![], vec![n as u8]]),
        }
    }

    #[test]
    fn an_object_written_field_by_field_is_what_serde_json_writes() {
        #[derive(Serialize)]
        struct Whole<'a> {
            version: u32,
            none: &'a [Item],
            one: &'a [Item],
            many: &'a [Item],
            last: &'a Item,
        }
        // Past one window of chunks, and not a multiple of a chunk.
        let items: Vec<Item> = (0..RENDER_CHUNK * RENDER_WINDOW * 2 + 77)
            .map(item)
            .collect();
        let whole = Whole {
            version: 1,
            none: &[],
            one: &items[..1],
            many: &items,
            last: &items[5],
        };
        let mut want = serde_json::to_vec_pretty(&whole).unwrap();
        want.push(b'\n');
        let mut got = Vec::new();
        let mut json = PrettyObject::new(&mut got).unwrap();
        json.field("version", &1).unwrap();
        json.seq_field("none", &items[..0], |i| i).unwrap();
        json.seq_field("one", &items[..1], |i| i).unwrap();
        json.seq_field("many", &items, |i| i).unwrap();
        json.field("last", &items[5]).unwrap();
        json.finish().unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );

        let mut empty = Vec::new();
        PrettyObject::new(&mut empty).unwrap().finish().unwrap();
        assert_eq!(empty, b"{}\n");
    }

    #[test]
    fn the_json_report_is_what_serde_json_writes_of_the_contract() {
        // The report's fields in the contract's order, serialized whole.
        #[derive(Serialize)]
        struct Whole<'a> {
            version: u32,
            offsets: &'static str,
            documents: &'a [Document],
            skipped: &'a [crate::corpus::Skipped],
            warnings: &'a [String],
            passages: Vec<JsonPassage<'a>>,
            clusters: Vec<JsonCluster<'a>>,
            quotes: &'a [QuoteGroup],
            stats: &'a crate::scan::ScanStats,
        }
        let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds");
        let corpus = crate::read_corpus(&[seeds.into()], &Default::default()).unwrap();
        let report = crate::scan(corpus, &Default::default()).unwrap();
        assert!(!report.passages.is_empty() && !report.quotes.is_empty());
        let id = |d: usize| report.documents[d].id.as_str();
        let whole = Whole {
            version: 1,
            offsets: "utf8-bytes",
            documents: &report.documents,
            skipped: &report.skipped,
            warnings: &report.warnings,
            passages: report
                .passages
                .iter()
                .map(|p| JsonPassage {
                    id: p.id,
                    cluster: p.cluster,
                    similarity: p.similarity,
                    tokens: p.tokens,
                    a: JsonWitness {
                        doc: id(p.a.doc),
                        start: p.a.start,
                        end: p.a.end,
                    },
                    b: JsonWitness {
                        doc: id(p.b.doc),
                        start: p.b.start,
                        end: p.b.end,
                    },
                })
                .collect(),
            clusters: report
                .clusters
                .iter()
                .map(|c| JsonCluster {
                    id: c.id,
                    docs: c.docs.iter().map(|&d| id(d)).collect(),
                    passages: &c.passages,
                    provenance: c.provenance.as_ref(),
                })
                .collect(),
            quotes: &report.quotes,
            stats: &report.stats,
        };
        let mut want = serde_json::to_vec_pretty(&whole).unwrap();
        want.push(b'\n');
        let mut got = Vec::new();
        write_json(&report, &mut got).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }
}
