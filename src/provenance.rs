//! Stage 6a: name the likely original of each cluster.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::align::Passage;
use crate::cluster::Cluster;
use crate::corpus::Document;

/// The provenance verdict for one cluster (see the JSON report contract).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Provenance {
    /// The likely original: an outlet or wire service (possibly outside the
    /// corpus), or a document id inside it.
    pub origin: String,
    /// True when `origin` is not a document of the corpus.
    pub origin_is_external: bool,
    /// Id of the witness closest to the origin.
    pub closest_to_origin: String,
    /// Ids of the other witnesses, which derive from it.
    pub derived: Vec<String>,
    /// Per witness id: does it credit `origin`?
    pub credits_origin: BTreeMap<String, bool>,
    /// 0..1; lowered when signals conflict.
    pub confidence: f64,
    /// Each signal that went into the verdict, with its byte span.
    pub evidence: Vec<String>,
    /// The verdict as one plain sentence.
    pub summary: String,
}

/// Work out the provenance of `cluster`.
pub fn attribute(cluster: &Cluster, passages: &[Passage], documents: &[Document]) -> Provenance {
    let _ = passages;
    let first = cluster.docs.first().map(|&d| documents[d].id.clone()).unwrap_or_default();
    Provenance {
        origin: first.clone(),
        origin_is_external: false,
        closest_to_origin: first,
        derived: cluster.docs.iter().skip(1).map(|&d| documents[d].id.clone()).collect(),
        credits_origin: BTreeMap::new(),
        confidence: 0.0,
        evidence: Vec::new(),
        summary: String::new(),
    }
}
