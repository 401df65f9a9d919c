//! LeCaRD: its query file and BM25 runs under both protocols.

use crate::error::{HarnessError, Result};
use leian_eval::{Protocol, Qrels, Run};
use leian_index::{CaseIndex, Filters, SearchRequest};
use leian_ingest::{lecard_case_id, CaseId};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// A LeCaRD query: its id, facts and (when the file has them) the judge's charges.
#[derive(Debug, Clone, PartialEq)]
pub struct LecardQuery {
    pub id: String,
    pub fact: String,
    pub charges: Vec<String>,
}

#[derive(Deserialize)]
struct QueryRecord {
    id: serde_json::Value,
    fact: String,
    #[serde(default)]
    charges: Vec<String>,
}

/// Reads a LeCaRD queries file (`{id, fact, charges}` a line); a bad line is an error
/// naming `file:line`.
pub fn read_queries(path: &Path) -> Result<Vec<LecardQuery>> {
    let text = std::fs::read_to_string(path).map_err(|source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_queries(&text, path)
}

/// [`read_queries`] of text already read.
pub fn parse_queries(text: &str, path: &Path) -> Result<Vec<LecardQuery>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let q: QueryRecord = serde_json::from_str(line).map_err(|e| HarnessError::BadRecord {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("bad query record: {e}"),
        })?;
        let id = match q.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        out.push(LecardQuery {
            id,
            fact: q.fact,
            charges: q.charges,
        });
    }
    Ok(out)
}

/// The LeCaRD candidates an index holds (`lecard:` ids); an error when there are none.
pub fn corpus_ids(index: &CaseIndex) -> Result<Vec<CaseId>> {
    let ids: Vec<CaseId> = index
        .all_ids()?
        .into_iter()
        .filter(|id| id.as_str().starts_with("lecard:"))
        .collect();
    if ids.is_empty() {
        return Err(HarnessError::MissingData(
            "the index holds no LeCaRD candidates: ingest lecard/candidates.jsonl first".into(),
        ));
    }
    Ok(ids)
}

/// What one query ranks under a protocol: its labelled candidates (paper) or every
/// candidate, top 100 (corpus).
pub fn pool_of(
    labels: &HashMap<String, u8>,
    corpus: &[CaseId],
    protocol: Protocol,
) -> (Vec<CaseId>, usize) {
    match protocol {
        Protocol::Paper => (
            labels.keys().map(|c| lecard_case_id(c)).collect(),
            labels.len(),
        ),
        Protocol::Corpus => (corpus.to_vec(), 100),
    }
}

/// The raw candidate id of a `lecard:` case id (as the qrels write it).
pub fn raw_id(id: &CaseId) -> String {
    id.as_str()
        .strip_prefix("lecard:")
        .unwrap_or(id.as_str())
        .to_string()
}

/// A BM25 run of the index's own query plan over the labelled queries.
pub fn bm25_run(
    index: &CaseIndex,
    queries: &[LecardQuery],
    qrels: &Qrels,
    protocol: Protocol,
    corpus: &[CaseId],
) -> Result<Run> {
    let mut run: Run = HashMap::new();
    let corpus_rank: HashMap<String, usize> = corpus
        .iter()
        .enumerate()
        .map(|(i, id)| (raw_id(id), i))
        .collect();
    for q in queries {
        let Some(labels) = qrels.by_query.get(&q.id) else {
            continue;
        };
        let (ids, top_k) = pool_of(labels, corpus, protocol);
        let hits = index.search(&SearchRequest {
            text: q.fact.clone(),
            filters: Filters {
                ids: Some(ids),
                ..Filters::default()
            },
            top_k,
            offset: 0,
            snippets: false,
        })?;
        let mut ranked: Vec<String> = hits.iter().map(|h| raw_id(&h.id)).collect();
        if protocol == Protocol::Paper {
            // the protocol ranks all 30: those sharing no term with the query follow, in
            // candidate order (as a BM25 that scores them 0 would leave them)
            let seen: std::collections::HashSet<String> = ranked.iter().cloned().collect();
            let mut rest: Vec<String> = labels
                .keys()
                .filter(|c| !seen.contains(*c))
                .cloned()
                .collect();
            rest.sort_by_key(|c| corpus_rank.get(c.as_str()).copied().unwrap_or(usize::MAX));
            ranked.extend(rest);
        }
        run.insert(q.id.clone(), ranked);
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_a_bad_line_names_its_place() {
        let text = "{\"id\": 7, \"fact\": \"某甲盗窃。\", \"charges\": [\"盗窃罪\"]}\n\n{\"id\": \"x\", \"fact\": \"某乙诈骗。\"}\n";
        let q = parse_queries(text, Path::new("q.jsonl")).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!((q[0].id.as_str(), q[0].charges.len()), ("7", 1));
        assert!(q[1].charges.is_empty());
        let err = parse_queries("{\"id\": 1}\n{oops", Path::new("q.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("q.jsonl:1:"), "{err}");
    }

    #[test]
    fn pools_follow_the_protocol() {
        let labels: HashMap<String, u8> = [("1".to_string(), 3), ("2".to_string(), 0)].into();
        let corpus = vec![
            lecard_case_id("1"),
            lecard_case_id("2"),
            lecard_case_id("3"),
        ];
        let (paper, k) = pool_of(&labels, &corpus, Protocol::Paper);
        assert_eq!((paper.len(), k), (2, 2));
        let (all, k) = pool_of(&labels, &corpus, Protocol::Corpus);
        assert_eq!((all.len(), k), (3, 100));
        assert_eq!(raw_id(&lecard_case_id("3")), "3");
    }
}
