//! Embedding storage: freshness follows the paper text, models never share vectors.

mod common;

use common::{id, sample_papers, temp_store};
use paperfeed_core::{ArxivId, Paper};
use paperfeed_store::{ModelKey, SqliteStore, Store, StoreError};
use serde_json::json;

type Vectors = Vec<(ArxivId, Vec<f32>)>;

fn model_a() -> ModelKey {
    ModelKey("bge-small-en-v1.5@5c38ec7c|384|cls".into())
}

fn model_b() -> ModelKey {
    ModelKey("all-MiniLM-L6-v2@8b3219a9|4|mean".into())
}

/// A deterministic vector per paper and model size, so reads can be checked exactly.
fn vector(p: &ArxivId, dims: usize, salt: f32) -> Vec<f32> {
    let seed = p.as_str().bytes().map(f32::from).sum::<f32>();
    (0..dims)
        .map(|i| (seed + i as f32) * 0.001 + salt)
        .collect()
}

async fn setup(n: usize) -> (tempfile::TempDir, SqliteStore, Vec<Paper>) {
    let (dir, store) = temp_store().await;
    let mut papers: Vec<Paper> = sample_papers().into_iter().take(n).collect();
    store.upsert_papers(papers.clone()).await.unwrap();
    store
        .register_model(
            &model_a(),
            &json!({"name": "bge-small-en-v1.5", "dims": 384}),
        )
        .await
        .unwrap();
    store
        .register_model(&model_b(), &json!({"name": "all-MiniLM-L6-v2", "dims": 4}))
        .await
        .unwrap();
    papers.sort_by(|a, b| a.id.cmp(&b.id));
    (dir, store, papers)
}

async fn all_vectors(store: &SqliteStore, model: &ModelKey, page: u32) -> Vectors {
    let mut out: Vectors = Vec::new();
    loop {
        let after = out.last().map(|(i, _)| i.clone());
        let batch = store
            .embeddings_after(model, after.as_ref(), page)
            .await
            .unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

#[tokio::test]
async fn embedding_follows_the_text_of_each_paper() {
    let (_dir, store, papers) = setup(40).await;
    let a = model_a();
    assert_eq!(store.count_needing_embedding(&a).await.unwrap(), 40);
    let first = store.papers_needing_embedding(&a, None, 15).await.unwrap();
    assert_eq!(first, papers[..15].to_vec(), "id order");

    let vectors: Vec<(ArxivId, Vec<f32>)> = first
        .iter()
        .map(|p| (p.id.clone(), vector(&p.id, 384, 0.0)))
        .collect();
    store.put_embeddings(&a, vectors.clone()).await.unwrap();
    assert_eq!(store.count_needing_embedding(&a).await.unwrap(), 25);
    assert_eq!(
        store.papers_needing_embedding(&a, None, 100).await.unwrap(),
        papers[15..].to_vec()
    );
    // Reading on after a batch's last id.
    assert_eq!(
        store
            .papers_needing_embedding(&a, Some(&papers[20].id), 100)
            .await
            .unwrap(),
        papers[21..].to_vec()
    );
    assert_eq!(all_vectors(&store, &a, 4).await, vectors);

    // A new title makes the vector stale; a new comment does not.
    let mut retitled = papers[2].clone();
    retitled.version = 2;
    retitled.title = format!("{} (revised)", retitled.title);
    let mut recommented = papers[3].clone();
    recommented.version = 2;
    recommented.comment = Some("camera-ready, 14 pages".into());
    let mut reabstracted = papers[4].clone();
    reabstracted.version = 2;
    reabstracted.abstract_text.push_str(" We release our code.");
    store
        .upsert_papers(vec![retitled.clone(), recommented, reabstracted.clone()])
        .await
        .unwrap();
    assert_eq!(store.count_needing_embedding(&a).await.unwrap(), 27);
    let stale = store.papers_needing_embedding(&a, None, 2).await.unwrap();
    assert_eq!(
        stale.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        [retitled.id.clone(), reabstracted.id.clone()]
    );
    assert_eq!(stale[0].title, retitled.title);
    // Re-embedding the new text makes it current again.
    store
        .put_embeddings(
            &a,
            vec![(retitled.id.clone(), vector(&retitled.id, 384, 1.0))],
        )
        .await
        .unwrap();
    assert_eq!(store.count_needing_embedding(&a).await.unwrap(), 26);

    // Deleted papers need nothing and have no vectors to serve.
    store
        .delete_papers(vec![papers[0].id.clone(), papers[39].id.clone()])
        .await
        .unwrap();
    assert_eq!(store.count_needing_embedding(&a).await.unwrap(), 25);
    let served = all_vectors(&store, &a, 100).await;
    assert_eq!(served.len(), 14);
    assert!(served.iter().all(|(i, _)| *i != papers[0].id));
}

#[tokio::test]
async fn vectors_of_two_models_never_mix() {
    let (_dir, store, papers) = setup(20).await;
    let (a, b) = (model_a(), model_b());
    let va: Vec<_> = papers[..10]
        .iter()
        .map(|p| (p.id.clone(), vector(&p.id, 384, 0.0)))
        .collect();
    let vb: Vec<_> = papers[5..]
        .iter()
        .map(|p| (p.id.clone(), vector(&p.id, 4, 0.5)))
        .collect();
    store.put_embeddings(&a, va.clone()).await.unwrap();
    store.put_embeddings(&b, vb.clone()).await.unwrap();

    assert_eq!(all_vectors(&store, &a, 3).await, va);
    assert_eq!(all_vectors(&store, &b, 3).await, vb);
    assert_eq!(store.count_needing_embedding(&a).await.unwrap(), 10);
    assert_eq!(store.count_needing_embedding(&b).await.unwrap(), 5);
    assert_eq!(
        store.stats().await.unwrap().embeddings,
        vec![(b.0.clone(), 15), (a.0.clone(), 10)]
    );

    // Switching to B: A's vectors go, B's stay untouched.
    assert_eq!(store.drop_other_embeddings(&b).await.unwrap(), 10);
    assert!(all_vectors(&store, &a, 3).await.is_empty());
    assert_eq!(all_vectors(&store, &b, 3).await, vb);
    assert_eq!(store.count_needing_embedding(&a).await.unwrap(), 20);
    assert_eq!(
        store.stats().await.unwrap().embeddings,
        vec![(b.0.clone(), 15)]
    );
}

#[tokio::test]
async fn bad_vectors_are_rejected_whole() {
    let (_dir, store, papers) = setup(5).await;
    let a = model_a();
    store
        .put_embeddings(
            &a,
            vec![(papers[0].id.clone(), vector(&papers[0].id, 384, 0.0))],
        )
        .await
        .unwrap();

    let cases: Vec<(&str, ModelKey, Vectors)> = vec![
        (
            "wrong dimensions",
            a.clone(),
            vec![
                (papers[1].id.clone(), vector(&papers[1].id, 384, 0.0)),
                (papers[2].id.clone(), vector(&papers[2].id, 383, 0.0)),
            ],
        ),
        ("empty", a.clone(), vec![(papers[1].id.clone(), Vec::new())]),
        (
            "NaN",
            a.clone(),
            vec![(papers[1].id.clone(), vec![f32::NAN; 384])],
        ),
        (
            "unregistered model",
            ModelKey("nope".into()),
            vec![(papers[1].id.clone(), vec![0.5; 4])],
        ),
        (
            "unknown paper",
            a.clone(),
            vec![(id("2501.99999"), vec![0.5; 384])],
        ),
    ];
    for (what, model, vectors) in cases {
        let err = store.put_embeddings(&model, vectors).await.unwrap_err();
        let expected = match what {
            "unregistered model" => matches!(err, StoreError::UnknownModel(_)),
            "unknown paper" => matches!(err, StoreError::UnknownPaper(_)),
            _ => matches!(err, StoreError::InvalidEmbedding { .. }),
        };
        assert!(expected, "{what}: {err:?}");
        // Nothing of a rejected call is kept, not even its valid vectors.
        assert_eq!(all_vectors(&store, &a, 10).await.len(), 1, "{what}");
    }
}
