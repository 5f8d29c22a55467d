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

use crate::align::Passage;

/// Union-find over passage indices.
struct Forest {
    parent: Vec<usize>,
}

impl Forest {
    fn new(n: usize) -> Self {
        Forest {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, x: usize, y: usize) {
        let (rx, ry) = (self.find(x), self.find(y));
        if rx != ry {
            // The smaller index becomes the root: deterministic.
            let (lo, hi) = if rx < ry { (rx, ry) } else { (ry, rx) };
            self.parent[hi] = lo;
        }
    }
}

/// Group passages into clusters and number both.
///
/// Two passages join one cluster when they link the same two documents, or
/// when their spans overlap in a document they share (so a story reprinted
/// by five outlets is one cluster with five witnesses). Clusters are
/// numbered by number of documents (most first), then by their first
/// passage; `passages[i].cluster` is set accordingly. `passages` must
/// already be in report order with `id == index`.
pub fn cluster_passages(passages: &mut [Passage]) -> Vec<Cluster> {
    let mut forest = Forest::new(passages.len());
    // Same document pair.
    let mut by_pair: Vec<(usize, usize, usize)> = passages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.a.doc, p.b.doc, i))
        .collect();
    by_pair.sort_unstable();
    for w in by_pair.windows(2) {
        if (w[0].0, w[0].1) == (w[1].0, w[1].1) {
            forest.union(w[0].2, w[1].2);
        }
    }
    // Overlapping spans in one document.
    let mut spans: Vec<(usize, usize, usize, usize)> = Vec::with_capacity(passages.len() * 2);
    for (i, p) in passages.iter().enumerate() {
        spans.push((p.a.doc, p.a.start, p.a.end, i));
        spans.push((p.b.doc, p.b.start, p.b.end, i));
    }
    spans.sort_unstable();
    let mut reach: Option<(usize, usize, usize)> = None; // (doc, end, passage)
    for &(doc, start, end, i) in &spans {
        match reach {
            Some((d, e, j)) if d == doc && start < e => {
                forest.union(i, j);
                if end > e {
                    reach = Some((doc, end, i));
                }
            }
            _ => reach = Some((doc, end, i)),
        }
    }
    // Collect groups.
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..passages.len() {
        let r = forest.find(i);
        groups.entry(r).or_default().push(i);
    }
    let mut clusters: Vec<Cluster> = groups
        .into_values()
        .map(|members| {
            let mut docs: Vec<usize> = members
                .iter()
                .flat_map(|&i| [passages[i].a.doc, passages[i].b.doc])
                .collect();
            docs.sort_unstable();
            docs.dedup();
            Cluster {
                id: 0,
                docs,
                passages: members,
                provenance: None,
            }
        })
        .collect();
    clusters.sort_by_key(|c| (std::cmp::Reverse(c.docs.len()), c.passages[0]));
    for (id, c) in clusters.iter_mut().enumerate() {
        c.id = id;
        for &p in &c.passages {
            passages[p].cluster = id;
        }
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::Witness;

    fn p(id: usize, a: (usize, usize, usize), b: (usize, usize, usize)) -> Passage {
        Passage {
            id,
            cluster: 0,
            similarity: 1.0,
            tokens: 10,
            a: Witness {
                doc: a.0,
                start: a.1,
                end: a.2,
            },
            b: Witness {
                doc: b.0,
                start: b.1,
                end: b.2,
            },
        }
    }

    #[test]
    fn overlapping_spans_join() {
        let mut ps = vec![
            p(0, (0, 0, 100), (1, 50, 150)),
            p(1, (1, 120, 200), (2, 0, 80)),
            p(2, (3, 0, 100), (4, 0, 100)),
            p(3, (0, 500, 600), (1, 900, 1000)),
        ];
        let cs = cluster_passages(&mut ps);
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].docs, vec![0, 1, 2]);
        assert_eq!(cs[0].passages, vec![0, 1, 3]);
        assert_eq!(cs[1].docs, vec![3, 4]);
        assert_eq!(ps[2].cluster, 1);
    }
}
