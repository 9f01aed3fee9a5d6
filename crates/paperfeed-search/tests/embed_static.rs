//! The bundled static embedding model and `StaticEmbedder::from_dir`: parity with the Python
//! reference (`tools/bundled-model/static_ref.py`), identity stability, table formats, and inputs
//! that must not panic.

use std::path::{Path, PathBuf};

use paperfeed_search::SearchError;
use paperfeed_search::embed::Embedder;
use paperfeed_search::embed::static_model::{BUNDLED_NAME, StaticEmbedder};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::Deserialize;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/static-minilm-arxiv-v1")
}

#[derive(Deserialize)]
struct Fixture {
    dims: usize,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    text: String,
    token_ids: Vec<u32>,
    vector: Vec<f32>,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/static_parity.json");
    let bytes = std::fs::read(&path).expect("parity fixture present");
    serde_json::from_slice(&bytes).expect("parity fixture parses")
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let n = norm(a) * norm(b);
    if n == 0.0 { 0.0 } else { dot(a, b) / n }
}

#[test]
fn bundled_matches_python_reference_on_real_abstracts() {
    let model = StaticEmbedder::bundled().unwrap();
    let fx = fixture();
    assert_eq!(fx.dims, model.identity().dimensions);
    assert!(fx.cases.len() >= 10);
    let texts: Vec<&str> = fx.cases.iter().map(|c| c.text.as_str()).collect();
    let batch = model.embed_documents(&texts).unwrap();
    for (case, got) in fx.cases.iter().zip(&batch) {
        assert_eq!(
            model.token_ids(&case.text).unwrap(),
            case.token_ids,
            "token ids differ for {}",
            case.id
        );
        let c = cosine(got, &case.vector);
        assert!(c >= 0.999, "{}: cosine {c} with the reference", case.id);
        // The query path (single text, caller's buffer) must agree with the batch path exactly.
        let q = model.embed_query(&case.text).unwrap();
        assert_eq!(&q, got, "{}: query and document paths differ", case.id);
    }
}

#[test]
fn bundled_identity_is_stable_and_recorded_in_provenance() {
    let a = StaticEmbedder::bundled().unwrap();
    let b = StaticEmbedder::bundled().unwrap();
    assert_eq!(a.identity(), b.identity());
    assert_eq!(a.identity().key(), b.identity().key());
    let id = a.identity();
    assert_eq!(id.name, BUNDLED_NAME);
    assert_eq!(id.weights_sha256.len(), 64);
    assert!(id.weights_sha256.chars().all(|c| c.is_ascii_hexdigit()));

    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model_dir().join("config.json")).unwrap()).unwrap();
    let recorded = &config["paperfeed"];
    assert_eq!(
        recorded["identity_sha256"].as_str(),
        Some(id.weights_sha256.as_str())
    );
    assert_eq!(config["hidden_dim"].as_u64(), Some(id.dimensions as u64));
    assert_eq!(config["max_length"].as_u64(), Some(id.max_tokens as u64));
}

#[test]
fn from_dir_on_the_committed_folder_equals_bundled() {
    let bundled = StaticEmbedder::bundled().unwrap();
    let loaded = StaticEmbedder::from_dir(model_dir()).unwrap();
    assert_eq!(
        loaded.identity().weights_sha256,
        bundled.identity().weights_sha256
    );
    assert_eq!(loaded.identity().name, "static:static-minilm-arxiv-v1");
    let text = "Sparse attention for long-document summarisation";
    assert_eq!(
        loaded.embed_query(text).unwrap(),
        bundled.embed_query(text).unwrap()
    );
}

/// The bundled int8 table and per-token weights, dequantised: `rows x dims` f32 and the tokenizer.
fn dequantised_bundled() -> (Vec<f32>, usize, usize) {
    let bytes = std::fs::read(model_dir().join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let emb = st.tensor("embeddings").unwrap();
    assert_eq!(emb.dtype(), Dtype::I8);
    let (rows, dims) = (emb.shape()[0], emb.shape()[1]);
    let w = st.tensor("weights").unwrap();
    let weights: Vec<f32> = w
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let table = emb
        .data()
        .chunks_exact(dims)
        .zip(&weights)
        .flat_map(|(row, &s)| row.iter().map(move |&b| f32::from(b as i8) * s))
        .collect();
    (table, rows, dims)
}

fn write_model(dir: &Path, tensors: Vec<(&str, TensorView<'_>)>, config: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let bytes = safetensors::serialize(tensors, None).unwrap();
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    std::fs::copy(
        model_dir().join("tokenizer.json"),
        dir.join("tokenizer.json"),
    )
    .unwrap();
    std::fs::write(dir.join("config.json"), config).unwrap();
}

fn assert_same_vectors(a: &StaticEmbedder, b: &StaticEmbedder) {
    for case in fixture().cases {
        let (x, y) = (
            a.embed_query(&case.text).unwrap(),
            b.embed_query(&case.text).unwrap(),
        );
        let c = cosine(&x, &y);
        assert!(
            c >= 0.9999 || (norm(&x) == 0.0 && norm(&y) == 0.0),
            "{}: {c}",
            case.id
        );
    }
}

#[test]
fn from_dir_reads_f32_and_f16_tables_without_weights() {
    let (table, rows, dims) = dequantised_bundled();
    let bundled = StaticEmbedder::bundled().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    let f32_bytes: Vec<u8> = table.iter().flat_map(|x| x.to_le_bytes()).collect();
    let f32_dir = tmp.path().join("f32-model");
    write_model(
        &f32_dir,
        vec![(
            "embeddings",
            TensorView::new(Dtype::F32, vec![rows, dims], &f32_bytes).unwrap(),
        )],
        r#"{"normalize": true, "max_length": 512}"#,
    );
    let f32_model = StaticEmbedder::from_dir(&f32_dir).unwrap();
    assert_eq!(f32_model.identity().name, "static:f32-model");
    assert_ne!(
        f32_model.identity().weights_sha256,
        bundled.identity().weights_sha256
    );
    assert_same_vectors(&f32_model, &bundled);

    let f16_bytes: Vec<u8> = table
        .iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect();
    let f16_dir = tmp.path().join("f16-model");
    write_model(
        &f16_dir,
        vec![(
            "embeddings",
            TensorView::new(Dtype::F16, vec![rows, dims], &f16_bytes).unwrap(),
        )],
        // No max_length: model2vec's default of 512 applies.
        r#"{"normalize": true}"#,
    );
    let f16_model = StaticEmbedder::from_dir(&f16_dir).unwrap();
    assert_eq!(f16_model.identity().max_tokens, 512);
    assert_same_vectors(&f16_model, &bundled);
}

#[test]
fn from_dir_follows_a_token_mapping() {
    // Store the rows in reverse order and map each token to its moved row: same vectors.
    let (table, rows, dims) = dequantised_bundled();
    let reversed: Vec<u8> = table
        .chunks_exact(dims)
        .rev()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let mapping: Vec<u8> = (0..rows as i64)
        .map(|t| rows as i64 - 1 - t)
        .flat_map(i64::to_le_bytes)
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    write_model(
        tmp.path(),
        vec![
            (
                "embeddings",
                TensorView::new(Dtype::F32, vec![rows, dims], &reversed).unwrap(),
            ),
            (
                "mapping",
                TensorView::new(Dtype::I64, vec![rows], &mapping).unwrap(),
            ),
        ],
        r#"{"normalize": true, "max_length": 512}"#,
    );
    let mapped = StaticEmbedder::from_dir(tmp.path()).unwrap();
    assert_same_vectors(&mapped, &StaticEmbedder::bundled().unwrap());
}

#[test]
fn from_dir_reports_missing_and_malformed_folders() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        StaticEmbedder::from_dir(tmp.path().join("nope")),
        Err(SearchError::Io { .. })
    ));

    let bad_config = tmp.path().join("bad-config");
    std::fs::create_dir_all(&bad_config).unwrap();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(model_dir().join(f), bad_config.join(f)).unwrap();
    }
    std::fs::write(bad_config.join("config.json"), "{not json").unwrap();
    assert!(matches!(
        StaticEmbedder::from_dir(&bad_config),
        Err(SearchError::ModelLoad { .. })
    ));

    // A table smaller than the vocabulary would index out of bounds: refused at load.
    let small = tmp.path().join("small-table");
    let bytes = vec![0u8; 4 * 8 * 4];
    write_model(
        &small,
        vec![(
            "embeddings",
            TensorView::new(Dtype::F32, vec![8, 4], &bytes).unwrap(),
        )],
        "{}",
    );
    let err = StaticEmbedder::from_dir(&small).unwrap_err();
    assert!(err.to_string().contains("table covers 8"), "{err}");

    let no_tensor = tmp.path().join("no-embeddings");
    let other = vec![0u8; 4];
    write_model(
        &no_tensor,
        vec![(
            "other",
            TensorView::new(Dtype::F32, vec![1], &other).unwrap(),
        )],
        "{}",
    );
    let err = StaticEmbedder::from_dir(&no_tensor).unwrap_err();
    assert!(err.to_string().contains("no `embeddings` tensor"), "{err}");

    let garbage = tmp.path().join("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    std::fs::write(garbage.join("model.safetensors"), b"\x05\x00\x00").unwrap();
    std::fs::copy(
        model_dir().join("tokenizer.json"),
        garbage.join("tokenizer.json"),
    )
    .unwrap();
    std::fs::write(garbage.join("config.json"), "{}").unwrap();
    assert!(matches!(
        StaticEmbedder::from_dir(&garbage),
        Err(SearchError::ModelLoad { .. })
    ));
}

#[test]
fn odd_inputs_do_not_panic_and_give_unit_or_zero_vectors() {
    let model = StaticEmbedder::bundled().unwrap();
    let dims = model.identity().dimensions;
    let huge = "transformer attention ".repeat(60_000);
    let one_huge_word = "é".repeat(100_000);
    let whitespace_then_text = format!("{}graph neural networks", " ".repeat(20_000));
    let texts = [
        "",
        " ",
        "\n\t\r  \u{a0}\u{2003}",
        "\u{0}\u{1}\u{7f}",
        "🙂🙂🙂",
        "日本語 テキスト 検索",
        "Ω(n log n) lower bound ∀ε>0",
        "a",
        huge.as_str(),
        one_huge_word.as_str(),
        whitespace_then_text.as_str(),
    ];
    let docs = model.embed_documents(&texts).unwrap();
    assert_eq!(docs.len(), texts.len());
    for (t, v) in texts.iter().zip(&docs) {
        assert_eq!(v.len(), dims);
        assert!(v.iter().all(|x| x.is_finite()));
        let n = norm(v);
        assert!(
            n == 0.0 || (n - 1.0).abs() < 1e-4,
            "norm {n} for {:?}",
            &t[..t.len().min(30)]
        );
        assert_eq!(&model.embed_query(t).unwrap(), v);
    }
    // Nothing to average: the zero vector, which scores 0 against everything.
    assert_eq!(norm(&docs[0]), 0.0);
    assert_eq!(norm(&docs[1]), 0.0);
    // Words in other scripts that the vocabulary knows still embed.
    assert!(norm(&docs[5]) > 0.99);
    // Long inputs are truncated to max_tokens, not rejected.
    assert_eq!(
        model.token_ids(&huge).unwrap().len(),
        model.identity().max_tokens
    );
    assert!(model.embed_documents(&[]).unwrap().is_empty());
}

#[test]
fn embed_into_rejects_a_wrong_sized_buffer() {
    let model = StaticEmbedder::bundled().unwrap();
    let mut short = vec![0.0; 3];
    assert!(matches!(
        model.embed_into("x", &mut short),
        Err(SearchError::Embed(_))
    ));
    let mut ok = vec![1.0; model.identity().dimensions];
    model.embed_into("", &mut ok).unwrap();
    assert!(ok.iter().all(|&x| x == 0.0), "buffer must be overwritten");
}

#[test]
fn related_papers_are_closer_than_unrelated_ones() {
    let model = StaticEmbedder::bundled().unwrap();
    let v = model
        .embed_documents(&[
            "Graph neural networks for predicting molecular properties",
            "Message passing networks on molecules for drug discovery",
            "A survey of medieval French poetry and its metre",
        ])
        .unwrap();
    assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1);
}
