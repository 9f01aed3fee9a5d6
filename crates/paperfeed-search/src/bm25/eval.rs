//! Relevance evaluation on BEIR-layout collections: loading `corpus.jsonl`,
//! `queries.<split>.jsonl` and `qrels.<split>.tsv`, and the trec_eval metrics nDCG@k (graded
//! gains) and Recall@k.
//!
//! It mirrors the anchors' protocol (`shared/anchors/common.py`): a document's text is its
//! title, a newline and its text; a query-by-example query (one with a `paper_id`) must not
//! retrieve its own paper, whose judgement is dropped from the qrels; the mean is over every
//! judged query. Nothing here depends on the index, so it can move to an `eval` module.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use serde::Deserialize;

use crate::SearchError;

/// A corpus document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeirDoc {
    /// `_id`.
    pub id: String,
    /// `title` (may be empty).
    pub title: String,
    /// `text` (may be empty).
    pub text: String,
}

/// A query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeirQuery {
    /// `_id`.
    pub id: String,
    /// Title (if any), a newline, and text: what is searched for.
    pub text: String,
    /// For query-by-example: the query's own paper, excluded from its ranking.
    pub exclude: Option<String>,
}

/// Judgements: query id to document id to graded relevance.
pub type Qrels = HashMap<String, HashMap<String, i32>>;

/// A loaded collection split.
#[derive(Debug, Clone)]
pub struct BeirSet {
    /// The corpus, in file order.
    pub docs: Vec<BeirDoc>,
    /// The split's queries, in file order.
    pub queries: Vec<BeirQuery>,
    /// The split's judgements, without each query-by-example query's own paper.
    pub qrels: Qrels,
}

#[derive(Deserialize)]
struct RawDoc {
    #[serde(rename = "_id")]
    id: IdValue,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct RawQuery {
    #[serde(rename = "_id")]
    id: IdValue,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    paper_id: Option<IdValue>,
}

/// BEIR ids are strings, but some collections write numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Str(String),
    Int(i64),
}

impl IdValue {
    fn into_string(self) -> String {
        match self {
            IdValue::Str(s) => s,
            IdValue::Int(n) => n.to_string(),
        }
    }
}

/// Title and text joined as the anchors do: `title + "\n" + text`, trimmed, or the title
/// alone when there is no text.
pub fn doc_text(title: &str, text: &str) -> String {
    let (t, x) = (title.trim(), text.trim());
    if x.is_empty() {
        t.to_string()
    } else {
        format!("{t}\n{x}").trim().to_string()
    }
}

impl BeirSet {
    /// Loads `folder/corpus.jsonl`, `folder/queries.<split>.jsonl` and
    /// `folder/qrels.<split>.tsv` (with a header line).
    pub fn load(folder: &Path, split: &str) -> Result<Self, SearchError> {
        let corpus_path = folder.join("corpus.jsonl");
        let mut docs = Vec::new();
        for (n, line) in read(&corpus_path)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let raw: RawDoc = serde_json::from_str(line)
                .map_err(|e| bad(&corpus_path, format!("line {}: {e}", n + 1)))?;
            docs.push(BeirDoc {
                id: raw.id.into_string(),
                title: raw.title.unwrap_or_default(),
                text: raw.text.unwrap_or_default(),
            });
        }
        let queries_path = folder.join(format!("queries.{split}.jsonl"));
        let mut queries = Vec::new();
        for (n, line) in read(&queries_path)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let raw: RawQuery = serde_json::from_str(line)
                .map_err(|e| bad(&queries_path, format!("line {}: {e}", n + 1)))?;
            queries.push(BeirQuery {
                id: raw.id.into_string(),
                text: doc_text(
                    raw.title.as_deref().unwrap_or(""),
                    raw.text.as_deref().unwrap_or(""),
                ),
                exclude: raw.paper_id.map(IdValue::into_string),
            });
        }
        let exclude: HashMap<&str, &str> = queries
            .iter()
            .filter_map(|q| q.exclude.as_deref().map(|e| (q.id.as_str(), e)))
            .collect();
        let qrels_path = folder.join(format!("qrels.{split}.tsv"));
        let mut qrels: Qrels = HashMap::new();
        for (n, line) in read(&qrels_path)?.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(qid), Some(did), Some(score), None) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                return Err(bad(
                    &qrels_path,
                    format!("line {}: expected 3 columns", n + 1),
                ));
            };
            let score: i32 = score
                .trim()
                .parse()
                .map_err(|e| bad(&qrels_path, format!("line {}: score: {e}", n + 1)))?;
            if exclude.get(qid) == Some(&did) {
                continue;
            }
            qrels
                .entry(qid.to_string())
                .or_default()
                .insert(did.to_string(), score);
        }
        Ok(BeirSet {
            docs,
            queries,
            qrels,
        })
    }
}

/// nDCG@k as trec_eval's `ndcg_cut.k`: gain is the graded relevance (linear), discount
/// `log2(rank + 1)`, the ideal ranking is built from all the query's judgements.
pub fn ndcg_at(ranked: &[String], judged: &HashMap<String, i32>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| f64::from(judged.get(d).copied().unwrap_or(0)) / (i as f64 + 2.0).log2())
        .sum();
    let mut ideal: Vec<i32> = judged.values().copied().filter(|&r| r > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &r)| f64::from(r) / (i as f64 + 2.0).log2())
        .sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Recall@k as trec_eval's `recall.k`: the share of relevant (relevance > 0) documents found
/// in the top k.
pub fn recall_at(ranked: &[String], judged: &HashMap<String, i32>, k: usize) -> f64 {
    let relevant = judged.values().filter(|&&r| r > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| judged.get(*d).is_some_and(|&r| r > 0))
        .count();
    found as f64 / relevant as f64
}

/// Mean metrics over the judged queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Mean nDCG@10.
    pub ndcg_at_10: f64,
    /// Mean Recall@100.
    pub recall_at_100: f64,
    /// Judged queries averaged over.
    pub queries: usize,
}

/// Mean nDCG@10 and Recall@100 of `runs` (query id to ranked document ids, best first) over
/// every query in `qrels`; a judged query without a run scores 0.
pub fn evaluate(runs: &HashMap<String, Vec<String>>, qrels: &Qrels) -> Metrics {
    let empty = Vec::new();
    let (mut ndcg, mut recall) = (0.0, 0.0);
    for (qid, judged) in qrels {
        let ranked = runs.get(qid).unwrap_or(&empty);
        ndcg += ndcg_at(ranked, judged, 10);
        recall += recall_at(ranked, judged, 100);
    }
    let n = qrels.len();
    let mean = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
    Metrics {
        ndcg_at_10: mean(ndcg),
        recall_at_100: mean(recall),
        queries: n,
    }
}

fn read(path: &Path) -> Result<String, SearchError> {
    fs::read_to_string(path).map_err(|source| SearchError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn bad(path: &Path, message: String) -> SearchError {
    SearchError::Dataset {
        path: path.display().to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(pairs: &[(&str, i32)]) -> HashMap<String, i32> {
        pairs.iter().map(|(d, r)| (d.to_string(), *r)).collect()
    }

    fn ids(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_matches_hand_computation() {
        let j = judged(&[("a", 3), ("b", 1), ("c", 0)]);
        // ideal: 3/log2(2) + 1/log2(3)
        let idcg = 3.0 + 1.0 / 3f64.log2();
        let cases: &[(&[&str], f64)] = &[
            (&["a", "b"], 1.0),
            (&["b", "a"], (1.0 + 3.0 / 3f64.log2()) / idcg),
            (&["x", "a"], (3.0 / 3f64.log2()) / idcg),
            (&["c", "x"], 0.0),
            (&[], 0.0),
        ];
        for (ranked, want) in cases {
            let got = ndcg_at(&ids(ranked), &j, 10);
            assert!((got - want).abs() < 1e-12, "{ranked:?}: {got} vs {want}");
        }
        // Cut-off: a relevant document at rank 11 does not count.
        let mut long = ids(&["x"; 10]);
        long.push("a".into());
        assert_eq!(ndcg_at(&long, &j, 10), 0.0);
    }

    #[test]
    fn recall_counts_relevant_only() {
        let j = judged(&[("a", 2), ("b", 1), ("c", 0)]);
        assert_eq!(recall_at(&ids(&["a", "c"]), &j, 100), 0.5);
        assert_eq!(recall_at(&ids(&["b", "a"]), &j, 1), 0.5);
        assert_eq!(recall_at(&ids(&["a"]), &judged(&[("a", 0)]), 100), 0.0);
    }

    #[test]
    fn evaluate_averages_over_judged_queries() {
        let mut qrels: Qrels = HashMap::new();
        qrels.insert("q1".into(), judged(&[("a", 1)]));
        qrels.insert("q2".into(), judged(&[("b", 1)]));
        let mut runs = HashMap::new();
        runs.insert("q1".to_string(), ids(&["a"]));
        // q2 has no run: it counts as 0.
        let m = evaluate(&runs, &qrels);
        assert_eq!(m.queries, 2);
        assert!((m.ndcg_at_10 - 0.5).abs() < 1e-12);
        assert!((m.recall_at_100 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn doc_text_joins_like_the_anchors() {
        assert_eq!(doc_text(" T ", " x "), "T\nx");
        assert_eq!(doc_text("T", "  "), "T");
        assert_eq!(doc_text("", "x"), "x");
    }

    #[test]
    fn load_drops_the_query_paper_judgement() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(
            p.join("corpus.jsonl"),
            "{\"_id\": \"1\", \"title\": \"A\", \"text\": \"x\"}\n{\"_id\": 2, \"title\": \"B\"}\n",
        )
        .unwrap();
        fs::write(
            p.join("queries.dev.jsonl"),
            "{\"_id\": \"q\", \"paper_id\": \"1\", \"title\": \"A\", \"text\": \"x\"}\n",
        )
        .unwrap();
        fs::write(
            p.join("qrels.dev.tsv"),
            "query-id\tcorpus-id\tscore\nq\t1\t3\nq\t2\t2\n",
        )
        .unwrap();
        let set = BeirSet::load(p, "dev").unwrap();
        assert_eq!(set.docs.len(), 2);
        assert_eq!(set.docs[1].id, "2");
        assert_eq!(set.queries[0].text, "A\nx");
        assert_eq!(set.queries[0].exclude.as_deref(), Some("1"));
        assert_eq!(set.qrels["q"], judged(&[("2", 2)]));

        fs::write(p.join("qrels.dev.tsv"), "h\nq\t1\n").unwrap();
        assert!(matches!(
            BeirSet::load(p, "dev"),
            Err(SearchError::Dataset { .. })
        ));
    }
}
