//! `BertEmbedder` on the real all-MiniLM-L6-v2 against sentence-transformers' own vectors
//! (`tests/fixtures/bert/reference.json`, made by `make_reference.py` there), and loading the
//! same model through a Hugging Face cache folder, offline.
//!
//! Needs the model: `scripts/fetch-minilm.sh` puts it where these tests look
//! (`PAPERFEED_MINILM_DIR`, default `target/models/all-MiniLM-L6-v2`).

use std::path::{Path, PathBuf};

use paperfeed_search::SearchError;
use paperfeed_search::embed::Embedder;
use paperfeed_search::embed::bert::{
    BertEmbedder, BertOptions, HubOptions, Precision, load_embedder,
};
use serde::Deserialize;

const MINILM_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

fn model_dir() -> PathBuf {
    let dir = std::env::var_os("PAPERFEED_MINILM_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/models/all-MiniLM-L6-v2"),
        PathBuf::from,
    );
    assert!(
        dir.join("model.safetensors").is_file(),
        "all-MiniLM-L6-v2 is not in {}: run scripts/fetch-minilm.sh (or point PAPERFEED_MINILM_DIR at a copy)",
        dir.display()
    );
    dir
}

fn load(max_tokens: Option<usize>, threads: Option<usize>) -> BertEmbedder {
    let options = BertOptions {
        max_tokens,
        threads,
        ..BertOptions::default()
    };
    BertEmbedder::from_dir(model_dir(), options).expect("model loads")
}

#[derive(Deserialize)]
struct Reference {
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
    text: String,
    tokens: std::collections::HashMap<String, usize>,
    vectors: std::collections::HashMap<String, Vec<f32>>,
}

fn reference() -> Reference {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bert/reference.json");
    let json = std::fs::read_to_string(&path).expect("reference.json");
    serde_json::from_str(&json).expect("reference.json parses")
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn vectors_match_sentence_transformers_at_256_and_128_tokens() {
    let reference = reference();
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    for max in [256usize, 128] {
        let model = load(Some(max), None);
        let got = model.embed_documents(&texts).expect("embeds");
        let mut worst = (1.0f64, "");
        for (item, v) in reference.items.iter().zip(&got) {
            assert_eq!(
                model.count_tokens(&item.text).expect("tokenises"),
                item.tokens[&max.to_string()],
                "token count of {} at {max}",
                item.id
            );
            let norm: f64 = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            assert!(
                (norm - 1.0).abs() < 1e-5,
                "{} not unit length: {norm}",
                item.id
            );
            let c = cosine(v, &item.vectors[&max.to_string()]);
            if c < worst.0 {
                worst = (c, &item.id);
            }
        }
        assert!(
            worst.0 >= 0.999,
            "max_tokens {max}: cosine {} for {}",
            worst.0,
            worst.1
        );
        eprintln!(
            "max_tokens {max}: worst cosine to sentence-transformers {:.7} ({})",
            worst.0, worst.1
        );
    }
}

#[test]
fn int8_vectors_stay_close_to_sentence_transformers() {
    let reference = reference();
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    for max in [256usize, 128] {
        let options = BertOptions {
            max_tokens: Some(max),
            precision: Precision::Int8,
            ..BertOptions::default()
        };
        let model = BertEmbedder::from_dir(model_dir(), options).expect("loads");
        assert_eq!(
            model.identity().name,
            "sentence-transformers/all-MiniLM-L6-v2+int8"
        );
        let got = model.embed_documents(&texts).expect("embeds");
        let cosines: Vec<f64> = reference
            .items
            .iter()
            .zip(&got)
            .map(|(item, v)| cosine(v, &item.vectors[&max.to_string()]))
            .collect();
        let worst = cosines.iter().cloned().fold(1.0, f64::min);
        let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
        eprintln!(
            "int8 max_tokens {max}: cosine to sentence-transformers worst {worst:.5}, mean {mean:.5}"
        );
        assert!(worst >= 0.99, "int8 at {max} tokens: worst cosine {worst}");
    }
}

#[test]
fn identity_names_the_model_and_its_weights() {
    let model = load(None, None);
    let id = model.identity();
    assert_eq!(id.name, "sentence-transformers/all-MiniLM-L6-v2");
    assert_eq!(id.weights_sha256, MINILM_SHA256);
    assert_eq!((id.dimensions, id.max_tokens), (384, 256));
    assert_eq!(id.pooling, "mean+l2");
    // A lower limit is a different identity; a higher one is capped at the model's own.
    assert_eq!(load(Some(128), None).identity().max_tokens, 128);
    assert_eq!(load(Some(10_000), None).identity().max_tokens, 256);
    assert_ne!(load(Some(128), None).identity().key(), id.key());
}

#[test]
fn packing_does_not_leak_between_inputs() {
    // Inputs share one packed batch; each must come out as if embedded alone, whatever its
    // neighbours, batch split and thread count.
    let reference = reference();
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    let one_thread = load(Some(128), Some(1));
    let together = one_thread.embed_documents(&texts).expect("embeds");
    let small_batches = BertEmbedder::from_dir(
        model_dir(),
        BertOptions {
            max_tokens: Some(128),
            threads: Some(2),
            batch_tokens: 100,
            ..BertOptions::default()
        },
    )
    .expect("loads")
    .embed_documents(&texts)
    .expect("embeds");
    for (i, text) in texts.iter().enumerate() {
        let alone = one_thread.embed_query(text).expect("embeds");
        assert!(
            cosine(&alone, &together[i]) > 0.999_999,
            "input {i} alone vs packed"
        );
        assert!(
            cosine(&small_batches[i], &together[i]) > 0.999_999,
            "input {i} batching"
        );
    }
}

#[test]
fn odd_inputs_embed_without_error() {
    let model = load(Some(128), None);
    let huge = "graph neural networks ".repeat(50_000);
    let spaces = format!("{}{}", " ".repeat(10_000), "transformers");
    let inputs = [
        "",
        "   ",
        "\u{0}\u{7f}",
        "数学 ∑ 𝔼[x] — naïve café",
        &huge,
        &spaces,
    ];
    let got = model.embed_documents(&inputs).expect("embeds");
    assert_eq!(got.len(), inputs.len());
    for (v, input) in got.iter().zip(inputs) {
        assert_eq!(v.len(), 384);
        assert!(
            v.iter().all(|x| x.is_finite()),
            "non-finite vector for {:?}",
            &input[..input.len().min(20)]
        );
    }
    // The long input is cut before tokenising; that must not change its vector.
    let prefix = &huge[..2000];
    let cut = model.embed_query(prefix).expect("embeds");
    assert!(cosine(&cut, &got[4]) > 0.999_999);
    assert_eq!(model.count_tokens(&huge).expect("tokenises"), 128);
    // Leading whitespace is nothing to BERT's tokenizer, even past the cut.
    let plain = model.embed_query("transformers").expect("embeds");
    assert!(cosine(&plain, &got[5]) > 0.999_999);
    assert!(model.embed_documents(&[]).expect("embeds").is_empty());
}

/// Lays out `dir`'s files the way `huggingface_hub` caches them: blobs, a snapshot of links
/// named after the commit, and `refs/main` holding the commit.
fn fake_hub_cache(cache: &Path, model_id: &str, commit: &str, dir: &Path) {
    let repo = cache.join(format!("models--{}", model_id.replace('/', "--")));
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(repo.join("refs")).expect("mkdir");
    std::fs::create_dir_all(repo.join("blobs")).expect("mkdir");
    std::fs::write(repo.join("refs/main"), commit).expect("write ref");
    for file in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "README.md",
        "1_Pooling/config.json",
    ] {
        let link = snapshot.join(file);
        std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
        let blob = repo.join("blobs").join(file.replace('/', "_"));
        std::os::unix::fs::symlink(dir.join(file).canonicalize().expect("model file"), &blob)
            .expect("blob link");
        std::os::unix::fs::symlink(&blob, &link).expect("snapshot link");
    }
}

#[test]
fn loads_from_a_hugging_face_cache_offline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let id = "sentence-transformers/all-MiniLM-L6-v2";
    let commit = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf";
    fake_hub_cache(tmp.path(), id, commit, &model_dir());
    let hub = HubOptions {
        cache_dir: Some(tmp.path().to_path_buf()),
        offline: Some(true),
        endpoint: None,
    };
    let options = BertOptions {
        max_tokens: Some(128),
        ..BertOptions::default()
    };
    let from_hub =
        BertEmbedder::from_hub_with(id, None, &hub, options.clone()).expect("loads from cache");
    let from_dir = BertEmbedder::from_dir(model_dir(), options.clone()).expect("loads");
    assert_eq!(from_hub.identity(), from_dir.identity());
    let text = "Sparse attention for long documents";
    let a = from_hub.embed_query(text).expect("embeds");
    let b = from_dir.embed_query(text).expect("embeds");
    assert_eq!(a, b);

    // A commit hash as revision, with no ref naming it.
    let pinned = BertEmbedder::from_hub_with(id, Some(commit), &hub, options.clone())
        .expect("loads by commit");
    assert_eq!(pinned.identity(), from_dir.identity());

    // Offline and not cached: a clear error, no network.
    let err = BertEmbedder::from_hub_with("BAAI/bge-small-en-v1.5", None, &hub, options.clone())
        .expect_err("not cached");
    let SearchError::ModelLoad { message, .. } = err else {
        panic!("wrong error {err}")
    };
    assert!(message.contains("HF_HUB_OFFLINE"), "{message}");
}

#[test]
fn load_embedder_takes_a_folder_or_an_id() {
    let dir = model_dir();
    let spec = dir.to_str().expect("utf-8 path");
    let model = load_embedder(spec, BertOptions::default()).expect("loads a folder");
    assert_eq!(model.identity().dimensions, 384);
    for bad in ["./no/such/folder", "/no/such/folder", "a/b/c"] {
        match load_embedder(bad, BertOptions::default()) {
            Err(SearchError::ModelLoad { message, .. }) => {
                assert!(message.contains("no such folder"), "{bad}: {message}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn missing_files_are_load_errors_not_panics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = model_dir();
    for file in [
        "config.json",
        "tokenizer.json",
        "modules.json",
        "sentence_bert_config.json",
    ] {
        std::fs::copy(src.join(file), tmp.path().join(file)).expect("copy");
    }
    std::fs::create_dir(tmp.path().join("1_Pooling")).expect("mkdir");
    std::fs::copy(
        src.join("1_Pooling/config.json"),
        tmp.path().join("1_Pooling/config.json"),
    )
    .expect("copy");
    let err = BertEmbedder::from_dir(tmp.path(), BertOptions::default()).expect_err("no weights");
    assert!(
        err.to_string().contains("model.safetensors is missing"),
        "{err}"
    );
    // Truncated weights.
    let bytes = std::fs::read(src.join("model.safetensors")).expect("read");
    std::fs::write(
        tmp.path().join("model.safetensors"),
        &bytes[..bytes.len() / 2],
    )
    .expect("write");
    let err = BertEmbedder::from_dir(tmp.path(), BertOptions::default()).expect_err("bad weights");
    assert!(matches!(err, SearchError::ModelLoad { .. }), "{err}");
}
