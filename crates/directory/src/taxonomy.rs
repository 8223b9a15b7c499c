//! Taxonomies and their hierarchical terms, including the shipped needs taxonomy.
//! Rule for filtering: a filter by a term matches services tagged with that term or any descendant.

use std::collections::HashMap;

use serde::Deserialize;

use crate::model::{Taxonomy, TaxonomyTerm};
use crate::validate::is_uuid;

/// The needs taxonomy shipped with Pathways (stable UUIDs; see the file's `_notes`).
pub const NEEDS_JSON: &str = include_str!("../taxonomy/needs.json");

/// A problem in a taxonomy file.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TaxonomyError {
    /// The file is not valid JSON of the expected shape.
    #[error(
        "taxonomy file is not valid: {0}; expected {{\"taxonomy\": {{...}}, \"terms\": [...]}}"
    )]
    Parse(String),
    /// An id is not a UUID.
    #[error("taxonomy term {position}: id `{id}` is not a UUID")]
    BadId {
        /// 1-based position in the file.
        position: usize,
        /// The offending id.
        id: String,
    },
    /// Two terms or taxonomies share an id.
    #[error("taxonomy id `{0}` is used twice; every taxonomy and term needs its own UUID")]
    Duplicate(String),
    /// A parent_id names no known term.
    #[error("taxonomy term `{id}`: parent_id `{parent}` is not a term in this set")]
    UnknownParent {
        /// The child term.
        id: String,
        /// The missing parent.
        parent: String,
    },
    /// Following parent_id links comes back to the same term.
    #[error("taxonomy term `{0}` is its own ancestor; parent_id links must form a tree")]
    Cycle(String),
}

#[derive(Deserialize)]
struct TaxonomyFile {
    taxonomy: Taxonomy,
    terms: Vec<TaxonomyTerm>,
}

/// A validated set of taxonomies and terms with parent/child links resolved.
#[derive(Debug, Clone)]
pub struct TermSet {
    taxonomies: Vec<Taxonomy>,
    terms: Vec<TaxonomyTerm>,
    by_id: HashMap<String, usize>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
}

impl TermSet {
    /// The shipped needs taxonomy.
    pub fn needs() -> TermSet {
        TermSet::from_json(NEEDS_JSON).expect("the shipped needs taxonomy is checked by tests")
    }

    /// Parses a taxonomy file in the shipped format (`{"taxonomy": {...}, "terms": [...]}`).
    pub fn from_json(text: &str) -> Result<TermSet, TaxonomyError> {
        let file: TaxonomyFile =
            serde_json::from_str(text).map_err(|e| TaxonomyError::Parse(e.to_string()))?;
        TermSet::new(vec![file.taxonomy], file.terms)
    }

    /// Builds a set from taxonomies and terms, checking ids, parents and the absence of cycles.
    pub fn new(
        taxonomies: Vec<Taxonomy>,
        terms: Vec<TaxonomyTerm>,
    ) -> Result<TermSet, TaxonomyError> {
        let mut by_id = HashMap::new();
        for (i, t) in terms.iter().enumerate() {
            if !is_uuid(&t.id) {
                return Err(TaxonomyError::BadId {
                    position: i + 1,
                    id: t.id.clone(),
                });
            }
            if by_id.insert(t.id.clone(), i).is_some() {
                return Err(TaxonomyError::Duplicate(t.id.clone()));
            }
        }
        for (i, t) in taxonomies.iter().enumerate() {
            if !is_uuid(&t.id) {
                return Err(TaxonomyError::BadId {
                    position: i + 1,
                    id: t.id.clone(),
                });
            }
            if by_id.contains_key(&t.id) {
                return Err(TaxonomyError::Duplicate(t.id.clone()));
            }
        }
        let mut parent = vec![None; terms.len()];
        let mut children = vec![Vec::new(); terms.len()];
        for (i, t) in terms.iter().enumerate() {
            if let Some(p) = &t.parent_id {
                let pi = *by_id.get(p).ok_or_else(|| TaxonomyError::UnknownParent {
                    id: t.id.clone(),
                    parent: p.clone(),
                })?;
                parent[i] = Some(pi);
                children[pi].push(i);
            }
        }
        for (i, t) in terms.iter().enumerate() {
            let mut steps = 0;
            let mut cur = parent[i];
            while let Some(p) = cur {
                steps += 1;
                if p == i || steps > terms.len() {
                    return Err(TaxonomyError::Cycle(t.id.clone()));
                }
                cur = parent[p];
            }
        }
        Ok(TermSet {
            taxonomies,
            terms,
            by_id,
            parent,
            children,
        })
    }

    /// All taxonomies.
    pub fn taxonomies(&self) -> &[Taxonomy] {
        &self.taxonomies
    }

    /// A taxonomy by id.
    pub fn taxonomy(&self, id: &str) -> Option<&Taxonomy> {
        self.taxonomies.iter().find(|t| t.id == id)
    }

    /// All terms, parents before their children, in file order.
    pub fn terms(&self) -> &[TaxonomyTerm] {
        &self.terms
    }

    /// A term by id.
    pub fn get(&self, id: &str) -> Option<&TaxonomyTerm> {
        self.by_id.get(id).map(|&i| &self.terms[i])
    }

    /// A term by its code (the `term` field, e.g. `domestic-abuse` in the needs taxonomy).
    pub fn by_code(&self, code: &str) -> Option<&TaxonomyTerm> {
        self.terms.iter().find(|t| t.term.as_deref() == Some(code))
    }

    /// Whether a term id is known.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Position of a term in [`TermSet::terms`].
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Terms without a parent.
    pub fn roots(&self) -> impl Iterator<Item = &TaxonomyTerm> {
        self.terms
            .iter()
            .enumerate()
            .filter(|(i, _)| self.parent[*i].is_none())
            .map(|(_, t)| t)
    }

    /// Direct children of a term.
    pub fn children(&self, id: &str) -> Vec<&TaxonomyTerm> {
        match self.by_id.get(id) {
            Some(&i) => self.children[i].iter().map(|&c| &self.terms[c]).collect(),
            None => Vec::new(),
        }
    }

    /// Indices of a term and all its ancestors (the term first, the root last).
    pub fn ancestors_and_self_idx(&self, idx: usize) -> Vec<usize> {
        let mut out = vec![idx];
        let mut cur = self.parent[idx];
        while let Some(p) = cur {
            out.push(p);
            cur = self.parent[p];
        }
        out
    }

    /// Indices of a term and all its descendants.
    pub fn descendants_and_self_idx(&self, idx: usize) -> Vec<usize> {
        let mut out = vec![idx];
        let mut i = 0;
        while i < out.len() {
            out.extend_from_slice(&self.children[out[i]]);
            i += 1;
        }
        out
    }

    /// Ids of a term and all its descendants; empty if the term is unknown.
    pub fn descendants_and_self(&self, id: &str) -> Vec<&str> {
        match self.by_id.get(id) {
            Some(&i) => self
                .descendants_and_self_idx(i)
                .into_iter()
                .map(|d| self.terms[d].id.as_str())
                .collect(),
            None => Vec::new(),
        }
    }

    /// The filtering rule: a filter on `filter_id` matches a service tagged `tagged_id` when the
    /// tagged term is the filter term or one of its descendants (never an ancestor or sibling).
    pub fn filter_matches(&self, filter_id: &str, tagged_id: &str) -> bool {
        match (self.by_id.get(filter_id), self.by_id.get(tagged_id)) {
            (Some(&f), Some(&t)) => self.ancestors_and_self_idx(t).contains(&f),
            _ => false,
        }
    }

    /// The taxonomy id of a term: its own `taxonomy_id`, else the only taxonomy in the set.
    pub fn taxonomy_id_of<'a>(&'a self, term: &'a TaxonomyTerm) -> Option<&'a str> {
        term.taxonomy_id.as_deref().or_else(|| {
            if self.taxonomies.len() == 1 {
                Some(self.taxonomies[0].id.as_str())
            } else {
                None
            }
        })
    }
}
