//! Stage 5: group passages into clusters of the same reused text.

use serde::Serialize;

use crate::provenance::Provenance;

/// One reused text and every document that carries it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cluster {
    /// Number of the cluster, in report order.
    pub id: usize,
    /// Indices of the witness documents in [`crate::Report::documents`], ascending.
    pub docs: Vec<usize>,
    /// Ids of the passages that make up the cluster, ascending.
    pub passages: Vec<usize>,
    /// Who had it first, when the provenance pass ran.
    pub provenance: Option<Provenance>,
}
