//! wiretrace: find reused text across news outlets and name where it came from.
#![deny(missing_docs)]

mod align;
mod cluster;
mod corpus;
mod error;
mod provenance;
mod quotes;

pub use align::{Passage, Witness};
pub use cluster::Cluster;
pub use corpus::{read_corpus, Corpus, Document, ReadOptions, Skipped};
pub use error::{Error, Result};
pub use provenance::{attribute, Provenance};
pub use quotes::{audit_quotes, QuoteGroup, QuoteOccurrence};
