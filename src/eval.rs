//! Score a JSON report against ground truth: PAN-style passage measures,
//! document-pair precision and recall, and provenance accuracy.
//!
//! Truth comes in two formats, told apart by their fields:
//! - the generator's `truth.json` (see [`crate::generate`]): `passages` with
//!   `original`, `copy`, `original_span`, `copy_span`, and `clusters` with
//!   `original` and `docs`;
//! - a gold file like `tests/data/seeds-gold.json`: `reuse` entries whose
//!   passages are quoted strings (their spans are found by substring search
//!   in the documents the report names, read from their `path`), and
//!   `provenance` entries naming `closest_to_origin`.
//!
//! Passage measures follow Potthast et al. (2010), over bytes of both
//! documents of a case. A *case* is a truth passage pair; a *detection* is a
//! reported passage; a detection detects a case when it links the same two
//! documents and overlaps the case's span in both.
//! - precision: mean over detections of the share of their bytes that lie
//!   in cases they detect;
//! - recall: mean over cases of the share of their bytes covered by
//!   detections of them;
//! - granularity: mean number of detections per detected case (1 is ideal);
//! - plagdet = F1 / log2(1 + granularity).
//!
//! Detections between two documents of one truth cluster that are not a
//! truth case (two reprints of the same wire story) are neither right nor
//! wrong and are left out of passage precision; detections between
//! documents of different clusters count as wrong.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A pair of spans in two documents.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    docs: (String, String),
    spans: ((usize, usize), (usize, usize)),
}

impl Pair {
    /// The same pair with documents in id order.
    fn ordered(self) -> Pair {
        if self.docs.0 <= self.docs.1 {
            self
        } else {
            Pair {
                docs: (self.docs.1, self.docs.0),
                spans: (self.spans.1, self.spans.0),
            }
        }
    }

    fn len(&self) -> usize {
        (self.spans.0.1 - self.spans.0.0) + (self.spans.1.1 - self.spans.1.0)
    }
}

/// The scores, as printed by `wiretrace eval`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evaluation {
    /// Truth passage cases.
    pub cases: usize,
    /// Reported passages scored (see the module doc for which are left out).
    pub detections: usize,
    /// Passage precision (bytes).
    pub precision: f64,
    /// Passage recall (bytes).
    pub recall: f64,
    /// Detections per detected case.
    pub granularity: f64,
    /// F1 / log2(1 + granularity).
    pub plagdet: f64,
    /// Truth document pairs with a reported passage, over all truth pairs.
    pub pair_recall: f64,
    /// Reported document pairs inside one truth cluster, over all reported pairs.
    pub pair_precision: f64,
    /// Truth clusters whose best-matching reported cluster names the right
    /// `closest_to_origin`, over truth clusters with an in-corpus original.
    pub provenance_accuracy: f64,
    /// Truth clusters scored for provenance.
    pub provenance_clusters: usize,
}

/// Score `report` (a `wiretrace scan --format json` report) against `truth`.
/// `read_text` gives a document's text from its report `path` (used only for
/// gold files that quote passages as strings).
pub fn evaluate(
    truth: &Value,
    report: &Value,
    read_text: &dyn Fn(&str) -> Option<String>,
) -> Result<Evaluation, String> {
    let (cases, clusters) = if truth.get("reuse").is_some() {
        gold_truth(truth, report, read_text)?
    } else {
        generator_truth(truth)?
    };
    let detections = report_passages(report)?;
    let cluster_of: BTreeMap<&str, usize> = clusters
        .iter()
        .enumerate()
        .flat_map(|(i, (_, docs))| docs.iter().map(move |d| (d.as_str(), i)))
        .collect();
    let same_cluster = |a: &str, b: &str| matches!((cluster_of.get(a), cluster_of.get(b)), (Some(x), Some(y)) if x == y);
    let case_pairs: BTreeSet<(String, String)> = cases.iter().map(|c| c.docs.clone()).collect();

    // Detections that are scored.
    let scored: Vec<&Pair> = detections
        .iter()
        .filter(|d| case_pairs.contains(&d.docs) || !same_cluster(&d.docs.0, &d.docs.1))
        .collect();
    // Cases and detections by document pair, so that each is matched only
    // against its own pair's (linear in the report, not quadratic).
    let cases_of = by_docs(cases.iter());
    let scored_of = by_docs(scored.iter().copied());
    let mut recall_sum = 0.0;
    let mut detected = 0usize;
    let mut granularity_sum = 0usize;
    for c in &cases {
        let hits = overlapping(&scored_of, c);
        if !hits.is_empty() {
            detected += 1;
            granularity_sum += hits.len();
        }
        let covered = covered(c.spans.0, hits.iter().map(|d| d.spans.0))
            + covered(c.spans.1, hits.iter().map(|d| d.spans.1));
        recall_sum += covered as f64 / c.len().max(1) as f64;
    }
    let mut precision_sum = 0.0;
    for d in &scored {
        let hits = overlapping(&cases_of, d);
        let covered = covered(d.spans.0, hits.iter().map(|c| c.spans.0))
            + covered(d.spans.1, hits.iter().map(|c| c.spans.1));
        precision_sum += covered as f64 / d.len().max(1) as f64;
    }
    let precision = if scored.is_empty() {
        1.0
    } else {
        precision_sum / scored.len() as f64
    };
    let recall = if cases.is_empty() {
        1.0
    } else {
        recall_sum / cases.len() as f64
    };
    let granularity = if detected == 0 {
        1.0
    } else {
        granularity_sum as f64 / detected as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };

    // Document pairs.
    let reported_pairs: BTreeSet<(String, String)> =
        detections.iter().map(|d| d.docs.clone()).collect();
    let pair_recall = if case_pairs.is_empty() {
        1.0
    } else {
        case_pairs.intersection(&reported_pairs).count() as f64 / case_pairs.len() as f64
    };
    let pair_precision = if reported_pairs.is_empty() {
        1.0
    } else {
        reported_pairs
            .iter()
            .filter(|(a, b)| same_cluster(a, b))
            .count() as f64
            / reported_pairs.len() as f64
    };

    // Provenance.
    let (right, scored_clusters) = provenance_hits(report, &clusters);
    Ok(Evaluation {
        cases: cases.len(),
        detections: scored.len(),
        precision: round(precision),
        recall: round(recall),
        granularity: round(granularity),
        plagdet: round(f1 / (1.0 + granularity).log2()),
        pair_recall: round(pair_recall),
        pair_precision: round(pair_precision),
        provenance_accuracy: if scored_clusters == 0 {
            1.0
        } else {
            round(right as f64 / scored_clusters as f64)
        },
        provenance_clusters: scored_clusters,
    })
}

/// Span pairs grouped by their document pair.
type ByDocs<'a> = BTreeMap<&'a (String, String), Vec<&'a Pair>>;

fn by_docs<'a>(pairs: impl Iterator<Item = &'a Pair>) -> ByDocs<'a> {
    let mut of: ByDocs<'a> = BTreeMap::new();
    for p in pairs {
        of.entry(&p.docs).or_default().push(p);
    }
    of
}

/// The pairs of `of` on `p`'s documents whose spans overlap `p`'s in both.
fn overlapping<'a>(of: &ByDocs<'a>, p: &Pair) -> Vec<&'a Pair> {
    of.get(&p.docs)
        .into_iter()
        .flatten()
        .copied()
        .filter(|q| overlap(q.spans.0, p.spans.0) > 0 && overlap(q.spans.1, p.spans.1) > 0)
        .collect()
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn overlap(a: (usize, usize), b: (usize, usize)) -> usize {
    a.1.min(b.1).saturating_sub(a.0.max(b.0))
}

/// Bytes of `span` covered by the union of `others`.
fn covered(span: (usize, usize), others: impl Iterator<Item = (usize, usize)>) -> usize {
    let mut parts: Vec<(usize, usize)> = others
        .map(|o| (o.0.max(span.0), o.1.min(span.1)))
        .filter(|p| p.0 < p.1)
        .collect();
    parts.sort_unstable();
    let (mut total, mut reach) = (0, span.0);
    for (s, e) in parts {
        let s = s.max(reach);
        if e > s {
            total += e - s;
            reach = e;
        }
    }
    total
}

type Clusters = Vec<(Option<String>, Vec<String>)>;

/// The strings of a JSON array (anything else is skipped).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(str::to_string))
        .collect()
}

fn span(v: &Value) -> Option<(usize, usize)> {
    Some((v.get(0)?.as_u64()? as usize, v.get(1)?.as_u64()? as usize))
}

fn generator_truth(truth: &Value) -> Result<(Vec<Pair>, Clusters), String> {
    let bad = |what: &str| format!("truth file: {what}");
    let mut cases = Vec::new();
    for p in truth["passages"]
        .as_array()
        .ok_or_else(|| bad("no \"passages\" array"))?
    {
        let (Some(o), Some(c)) = (p["original"].as_str(), p["copy"].as_str()) else {
            return Err(bad("a passage lacks \"original\" or \"copy\""));
        };
        let (Some(so), Some(sc)) = (span(&p["original_span"]), span(&p["copy_span"])) else {
            return Err(bad("a passage lacks a span"));
        };
        cases.push(
            Pair {
                docs: (o.to_string(), c.to_string()),
                spans: (so, sc),
            }
            .ordered(),
        );
    }
    let mut clusters = Vec::new();
    for c in truth["clusters"]
        .as_array()
        .ok_or_else(|| bad("no \"clusters\" array"))?
    {
        let docs: Vec<String> = strings(&c["docs"]);
        clusters.push((c["original"].as_str().map(str::to_string), docs));
    }
    Ok((cases, clusters))
}

fn gold_truth(
    truth: &Value,
    report: &Value,
    read_text: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Pair>, Clusters), String> {
    let paths: BTreeMap<&str, &str> = report["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d["id"].as_str()?, d["path"].as_str()?)))
        .collect();
    let text_of = |id: &str| -> Result<String, String> {
        let path = paths
            .get(id)
            .ok_or_else(|| format!("gold names {id}, which the report does not hold"))?;
        read_text(path).ok_or_else(|| format!("cannot read {path}"))
    };
    let mut cases = Vec::new();
    let mut clusters: Clusters = Vec::new();
    for r in truth["reuse"].as_array().into_iter().flatten() {
        let docs: Vec<String> = strings(&r["docs"]);
        if docs.len() != 2 {
            return Err("gold reuse entries must name two documents".into());
        }
        let (ta, tb) = (text_of(&docs[0])?, text_of(&docs[1])?);
        for p in r["passages"].as_array().into_iter().flatten() {
            let find = |text: &str, doc: &str| -> Result<(usize, usize), String> {
                let needle = p[doc].as_str().ok_or("gold passage without text")?;
                let s = text
                    .find(needle)
                    .ok_or_else(|| format!("gold passage not found in {doc}"))?;
                Ok((s, s + needle.len()))
            };
            let spans = (find(&ta, &docs[0])?, find(&tb, &docs[1])?);
            cases.push(
                Pair {
                    docs: (docs[0].clone(), docs[1].clone()),
                    spans,
                }
                .ordered(),
            );
        }
        clusters.push((None, docs));
    }
    for g in truth["provenance"].as_array().into_iter().flatten() {
        let docs: Vec<String> = strings(&g["docs"]);
        if let Some(c) = clusters.iter_mut().find(|c| c.1 == docs) {
            c.0 = g["closest_to_origin"].as_str().map(str::to_string);
        }
    }
    Ok((cases, clusters))
}

fn report_passages(report: &Value) -> Result<Vec<Pair>, String> {
    let mut out = Vec::new();
    for p in report["passages"]
        .as_array()
        .ok_or("report: no \"passages\" array")?
    {
        let w = |side: &str| -> Option<(String, (usize, usize))> {
            let x = &p[side];
            Some((
                x["doc"].as_str()?.to_string(),
                (x["start"].as_u64()? as usize, x["end"].as_u64()? as usize),
            ))
        };
        let (Some((da, sa)), Some((db, sb))) = (w("a"), w("b")) else {
            return Err("report: a passage lacks a or b".into());
        };
        out.push(
            Pair {
                docs: (da, db),
                spans: (sa, sb),
            }
            .ordered(),
        );
    }
    Ok(out)
}

/// (right, scored): truth clusters with an original whose best-matching
/// reported cluster names it as `closest_to_origin`.
fn provenance_hits(report: &Value, clusters: &Clusters) -> (usize, usize) {
    let reported: Vec<(BTreeSet<&str>, Option<&str>)> = report["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let docs = c["docs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (docs, c["provenance"]["closest_to_origin"].as_str())
        })
        .collect();
    // Reported clusters by document, to count overlaps without comparing
    // every truth cluster with every reported one.
    let mut holding: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (rd, _)) in reported.iter().enumerate() {
        for d in rd {
            holding.entry(d).or_default().push(i);
        }
    }
    let (mut right, mut scored) = (0, 0);
    for (original, docs) in clusters {
        let Some(original) = original else { continue };
        scored += 1;
        let mut shared: BTreeMap<usize, usize> = BTreeMap::new();
        for d in docs {
            for &i in holding.get(d.as_str()).into_iter().flatten() {
                *shared.entry(i).or_default() += 1;
            }
        }
        // The reported cluster sharing the most documents (at least two);
        // on a tie, the last one.
        let best = shared
            .into_iter()
            .filter(|&(_, n)| n >= 2)
            .fold(None, |best: Option<(usize, usize)>, (i, n)| match best {
                Some((_, m)) if m > n => best,
                _ => Some((i, n)),
            })
            .map(|(i, n)| (n, reported[i].1));
        if let Some((_, Some(closest))) = best
            && closest == original
        {
            right += 1;
        }
    }
    (right, scored)
}

/// The evaluation as text, one measure a line.
pub fn format_evaluation(e: &Evaluation) -> String {
    format!(
        "passages: {} truth cases, {} detections scored\n  precision {:.4}  recall {:.4}  granularity {:.4}  plagdet {:.4}\ndocument pairs: precision {:.4}  recall {:.4}\nprovenance: closest_to_origin right in {:.4} of {} clusters\n",
        e.cases,
        e.detections,
        e.precision,
        e.recall,
        e.granularity,
        e.plagdet,
        e.pair_precision,
        e.pair_recall,
        e.provenance_accuracy,
        e.provenance_clusters
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(passages: Value, clusters: Value) -> Value {
        json!({"documents": [], "passages": passages, "clusters": clusters})
    }

    #[test]
    fn perfect_and_fragmented_detections() {
        let truth = json!({"passages": [{"original": "w", "copy": "c", "original_span": [0, 100], "copy_span": [10, 110]}],
                           "clusters": [{"original": "w", "docs": ["w", "c"]}]});
        let exact = report(
            json!([{"a": {"doc": "c", "start": 10, "end": 110}, "b": {"doc": "w", "start": 0, "end": 100}}]),
            json!([{"docs": ["c", "w"], "provenance": {"closest_to_origin": "w"}}]),
        );
        let e = evaluate(&truth, &exact, &|_| None).unwrap();
        assert_eq!(
            (e.precision, e.recall, e.granularity, e.plagdet),
            (1.0, 1.0, 1.0, 1.0)
        );
        assert_eq!(
            (e.pair_precision, e.pair_recall, e.provenance_accuracy),
            (1.0, 1.0, 1.0)
        );
        // Two halves: full recall, granularity 2, plagdet 1/log2(3).
        let halves = report(
            json!([{"a": {"doc": "w", "start": 0, "end": 50}, "b": {"doc": "c", "start": 10, "end": 60}},
                   {"a": {"doc": "w", "start": 50, "end": 100}, "b": {"doc": "c", "start": 60, "end": 110}},
                   {"a": {"doc": "c", "start": 500, "end": 600}, "b": {"doc": "x", "start": 0, "end": 100}}]),
            json!([{"docs": ["c", "w"], "provenance": {"closest_to_origin": "c"}}]),
        );
        let e = evaluate(&truth, &halves, &|_| None).unwrap();
        assert_eq!(e.recall, 1.0);
        assert_eq!(e.granularity, 2.0);
        assert!((e.precision - 2.0 / 3.0).abs() < 1e-3, "{e:?}");
        assert_eq!(e.pair_precision, 0.5);
        assert_eq!(e.provenance_accuracy, 0.0);
    }

    #[test]
    fn bad_truth_is_an_error() {
        assert!(
            evaluate(
                &json!({"passages": 3}),
                &report(json!([]), json!([])),
                &|_| None
            )
            .is_err()
        );
    }
}
