//! The service as clients see it: the real binary (`paperfeed demo`, the bundled sample)
//! over a real socket. One server per test binary; tests only read what others cannot change
//! or work on their own accounts and papers.

mod web_support;

use std::sync::OnceLock;

use serde_json::Value;
use web_support::{Client, Server, fake_arxiv_env};

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start("demo", None, &fake_arxiv_env()))
}

fn client() -> Client {
    server().client()
}

fn get_json(path: &str) -> (u16, Value) {
    let r = client().get(path);
    assert!(
        r.header("content-type").starts_with("application/json"),
        "{path}: {} {}",
        r.status,
        r.body
    );
    (r.status, r.json())
}

fn assert_error(path: &str, status: u16, code: &str) {
    let (s, v) = get_json(path);
    assert_eq!(s, status, "{path}: {v}");
    assert_eq!(v["error"]["code"], code, "{path}: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e["paper"]["id"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn daily_papers_default_day_paging_and_ranges() {
    let (s, latest) = get_json("/api/daily_papers");
    assert_eq!(s, 200);
    let entries = latest.as_array().unwrap();
    assert!(!entries.is_empty());
    let day = entries[0]["paper"]["submittedOnDailyAt"].as_str().unwrap()[..10].to_string();
    for e in entries {
        assert!(
            e["paper"]["submittedOnDailyAt"]
                .as_str()
                .unwrap()
                .starts_with(&day)
        );
        assert!(e["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(e["title"], e["paper"]["title"]);
        assert!(e["paper"]["authors"][0]["name"].is_string());
        assert_eq!(e["paper"]["authors"][0]["hidden"], false);
        assert!(e["paper"]["upvotes"].is_u64());
        assert_eq!(e["numComments"], 0);
    }
    let (_, same) = get_json(&format!("/api/daily_papers?date={day}"));
    assert_eq!(ids(&same), ids(&latest));

    // The featured day of a real Hugging Face pick, in its day, week and month.
    for q in ["date=2025-02-26", "week=2025-W09", "month=2025-02"] {
        let (s, v) = get_json(&format!("/api/daily_papers?{q}&limit=100"));
        assert_eq!(s, 200);
        assert!(
            ids(&v).contains(&"2502.17092".to_string()),
            "{q}: {:?}",
            ids(&v)
        );
    }
    // Paging: p counts pages of `limit`, exactly.
    let (_, all) = get_json("/api/daily_papers?month=2025-03&limit=6");
    let (_, p0) = get_json("/api/daily_papers?month=2025-03&limit=3&p=0");
    let (_, p1) = get_json("/api/daily_papers?month=2025-03&limit=3&p=1");
    assert_eq!(ids(&all).len(), 6);
    assert_eq!([ids(&p0), ids(&p1)].concat(), ids(&all));
    let (_, trending) = get_json("/api/daily_papers?month=2025-03&sort=trending&limit=100");
    let (_, newest) = get_json("/api/daily_papers?month=2025-03&limit=100");
    let mut a = ids(&trending);
    let mut b = ids(&newest);
    a.sort();
    b.sort();
    assert_eq!(a, b, "trending reorders the same entries");

    for (q, code) in [
        ("limit=101", "invalid_parameter"),
        ("limit=0", "invalid_parameter"),
        ("limit=ten", "invalid_parameter"),
        ("p=-1", "invalid_parameter"),
        ("date=2025-02-30", "invalid_date"),
        ("date=yesterday", "invalid_date"),
        ("week=2025-W99", "invalid_week"),
        ("month=2025-13", "invalid_month"),
        ("sort=best", "invalid_parameter"),
        ("submitter=no%20spaces", "invalid_parameter"),
        ("date=2025-02-26&week=2025-W09", "invalid_parameter"),
    ] {
        assert_error(&format!("/api/daily_papers?{q}"), 400, code);
    }
}

#[test]
fn paper_info_takes_any_spelling_and_errors_are_json() {
    for spelling in ["2503.12067", "2503.12067v2", "arXiv:2503.12067"] {
        let (s, p) = get_json(&format!("/api/papers/{spelling}"));
        assert_eq!(s, 200, "{spelling}");
        assert_eq!(p["id"], "2503.12067");
        assert_eq!(
            p["title"],
            "A Comprehensive Survey on Knowledge Distillation"
        );
        assert_eq!(p["authors"].as_array().unwrap().len(), 11);
        assert_eq!(p["categories"][0], "cs.CV");
        assert!(
            p["summary"]
                .as_str()
                .unwrap()
                .starts_with("Deep Neural Networks (DNNs)")
        );
    }
    assert_error("/api/papers/2501.99999", 404, "not_found");
    assert_error("/api/papers/not-an-id", 400, "invalid_id");
    assert_error("/api/papers/2513.12345", 400, "invalid_id");
    assert_error("/api/no/such/route", 404, "not_found");
    let r = client().send("DELETE", "/api/daily_papers", &[], None);
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    let r = client().send("PUT", "/api/papers/2503.12067/similar", &[], None);
    assert_eq!(r.status, 405, "{}", r.body);
}

/// Short searches run on the async worker, long pages and pasted text on the blocking pool
/// (`AppState::on_engine`): both give the same ranking.
#[test]
fn light_and_heavy_searches_rank_alike() {
    let ids = |v: &serde_json::Value| -> Vec<String> {
        let hits = v["hits"].as_array().unwrap().iter();
        hits.map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    };
    for mode in ["bm25", "semantic", "hybrid"] {
        let (s, light) = get_json(&format!(
            "/api/search?q=graph+learning&mode={mode}&limit=20"
        ));
        assert_eq!(s, 200, "{light}");
        let (s, heavy) = get_json(&format!(
            "/api/search?q=graph+learning&mode={mode}&limit=80"
        ));
        assert_eq!(s, 200, "{heavy}");
        let (light, heavy) = (ids(&light), ids(&heavy));
        assert_eq!(light.len(), 20, "{mode}");
        assert_eq!(heavy.len(), 80, "{mode}");
        assert_eq!(light[..], heavy[..20], "{mode}");
        let (_, deep) = get_json(&format!(
            "/api/search?q=graph+learning&mode={mode}&limit=20&offset=60"
        ));
        assert_eq!(ids(&deep)[..], heavy[60..], "{mode}");
    }
}

#[test]
fn search_api_modes_filters_and_exact_limits() {
    for mode in ["bm25", "semantic", "hybrid"] {
        let (s, v) = get_json(&format!(
            "/api/search?q=knowledge+distillation&mode={mode}&limit=7"
        ));
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["mode"], mode);
        assert_eq!(v["hits"].as_array().unwrap().len(), 7, "{mode}");
        assert_eq!(
            v["semanticComplete"], true,
            "the demo embeds everything first"
        );
    }
    let (_, v) = get_json("/api/search?q=knowledge+distillation&mode=bm25&limit=3");
    let top = &v["hits"][0];
    assert!(
        top["titleHtml"].as_str().unwrap().contains("<mark>"),
        "{top}"
    );
    // Filters: categories and dates hold for every hit.
    let (_, v) =
        get_json("/api/search?q=transformer&category=eess&from=2025-06-01&to=2025-12-31&limit=20");
    for h in v["hits"].as_array().unwrap() {
        assert!(
            h["categories"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c.as_str().unwrap().starts_with("eess")),
            "{h}"
        );
        let d = &h["publishedAt"].as_str().unwrap()[..10];
        assert!(("2025-06-01"..="2025-12-31").contains(&d), "{h}");
    }
    // Paging by offset is exact and disjoint.
    let (_, a) = get_json("/api/search?q=graph&mode=bm25&limit=4");
    let (_, b) = get_json("/api/search?q=graph&mode=bm25&limit=2&offset=2");
    assert_eq!(a["hits"][2]["id"], b["hits"][0]["id"]);
    for q in [
        "limit=101",
        "mode=fuzzy",
        "sort=best",
        "from=2025-02-30",
        "offset=x",
    ] {
        assert_error(
            &format!("/api/search?q=x&{q}"),
            400,
            if q.starts_with("from") {
                "invalid_date"
            } else {
                "invalid_parameter"
            },
        );
    }
    // Hugging Face's paper search honours `limit` exactly and rejects more than 100.
    let (s, v) = get_json("/api/papers/search?q=diffusion+models&limit=3");
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert!(v[0]["paper"]["id"].is_string() && v[0]["title"].is_string());
    assert_error(
        "/api/papers/search?q=x&limit=1000",
        400,
        "invalid_parameter",
    );
}

/// `/api/search` lists hits from what the search index stores, not from the store: every
/// field must still be the store's, and a vote must reach it within a few index passes.
#[test]
fn search_api_hits_match_the_store_and_follow_votes() {
    let (_, v) = get_json("/api/search?q=vision+language+model&limit=10");
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 10, "{v}");
    for h in hits {
        let id = h["id"].as_str().unwrap();
        let (_, p) = get_json(&format!("/api/papers/{id}"));
        assert_eq!(h["title"], p["title"], "{id}");
        assert_eq!(h["categories"], p["categories"], "{id}");
        assert_eq!(h["publishedAt"], p["publishedAt"], "{id}");
        assert_eq!(h["upvotes"], p["upvotes"], "{id}");
        let names: Vec<&Value> = p["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["name"])
            .collect();
        let hit_names: Vec<&Value> = h["authors"].as_array().unwrap().iter().collect();
        assert_eq!(hit_names, names, "{id}");
    }
    // Without snippets the same hits come with the same fields.
    let (_, plain) = get_json("/api/search?q=vision+language+model&limit=10&snippets=false");
    let plain = plain["hits"].as_array().unwrap();
    assert_eq!(plain.len(), 10);
    for (h, p) in hits.iter().zip(plain) {
        assert_eq!(h["id"], p["id"]);
        assert_eq!(h["title"], p["title"]);
        assert_eq!(h["authors"], p["authors"]);
        assert!(p.get("snippetHtml").is_none(), "{p}");
    }
    let id = hits[3]["id"].as_str().unwrap().to_string();
    let before = hits[3]["upvotes"].as_u64().unwrap();
    let mut c = client();
    assert_eq!(
        c.sign_up("search_voter", "a long enough secret").status,
        303
    );
    let csrf = c.csrf();
    let r = c.post_form(
        &format!("/papers/{id}/vote"),
        &[("csrf", &csrf), ("up", "1")],
        &[],
    );
    assert_eq!(r.status, 303);
    let seen = |id: &str| -> Option<u64> {
        let (_, v) = get_json(&format!("/api/search?q={id}&mode=bm25&limit=1"));
        let hit = &v["hits"][0];
        (hit["id"] == id).then(|| hit["upvotes"].as_u64().unwrap())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = seen(&id).expect("an id search pins the paper");
        if now == before + 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the index still says {now} upvotes for {id}, the store {}",
            upvotes(&id)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn similar_markdown_openapi_and_feeds() {
    let (s, v) = get_json("/api/papers/2503.12067/similar?limit=3");
    assert_eq!(s, 200);
    let sims = v.as_array().unwrap();
    assert_eq!(sims.len(), 3);
    assert!(sims.iter().all(|x| x["id"] != "2503.12067"));
    assert_error("/api/papers/2501.99999/similar", 404, "not_found");

    let md = client().get("/papers/2503.12067.md");
    assert_eq!(md.status, 200);
    assert!(md.header("content-type").starts_with("text/markdown"));
    assert!(
        md.body
            .starts_with("# A Comprehensive Survey on Knowledge Distillation\n")
    );
    assert!(
        md.body
            .contains("**Authors:** Amir M. Mansourian, Rozhan Ahmadi")
    );
    assert!(md.body.contains("https://arxiv.org/abs/2503.12067"));
    assert!(md.body.contains("## Abstract"));
    assert_eq!(client().get("/papers/2501.99999.md").status, 404);

    let (s, doc) = get_json("/api/openapi.json");
    assert_eq!(s, 200);
    for p in [
        "/api/daily_papers",
        "/api/papers/{id}",
        "/api/papers/search",
        "/api/search",
    ] {
        assert!(doc["paths"][p].is_object(), "{p}");
    }

    for (path, mime) in [
        ("/feeds/daily.rss", "application/rss+xml"),
        ("/feeds/daily.atom", "application/atom+xml"),
        ("/feeds/trending.rss", "application/rss+xml"),
        ("/feeds/search.atom?q=distillation", "application/atom+xml"),
    ] {
        let r = client().get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").starts_with(mime), "{path}");
        assert!(r.body.contains("/papers/"), "{path}");
    }
    assert_eq!(client().get("/feeds/nope.rss").status, 404);
    assert_eq!(client().get("/feeds/search.rss").status, 400);
}

#[test]
fn pages_show_what_a_reader_needs_and_escape_everything() {
    let home = client().get("/");
    assert_eq!(home.status, 200);
    assert!(home.header("content-type").starts_with("text/html"));
    assert!(home.body.contains("Daily Papers —"));
    assert!(
        home.body
            .contains(r#"rel="alternate" type="application/rss+xml""#)
    );
    assert!(home.body.contains("/static/htmx.min.js"));
    assert!(home.header("set-cookie").contains("pf_csrf="));

    let day = client().get("/papers/date/2025-02-26");
    assert!(
        day.body
            .contains("Shakti-VLMs: Scalable Vision-Language Models for Enterprise AI")
    );
    assert!(day.body.contains("authors"), "author count shown");
    for path in ["/papers/week/2025-W09", "/papers/month/2025-02"] {
        let r = client().get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.contains("Shakti-VLMs"), "{path}");
    }
    let march = client().get("/papers/date/2025-03-18");
    assert!(
        march
            .body
            .contains("A Comprehensive Survey on Knowledge Distillation")
    );
    assert!(march.body.contains("11 authors"));
    assert!(march.body.contains(r#"rel="next""#));

    let trending = client().get("/trending");
    assert_eq!(trending.status, 200);
    assert!(trending.body.contains("Trending papers"));

    let search = client().get("/search?q=knowledge+distillation&mode=hybrid");
    assert_eq!(search.status, 200);
    assert!(search.body.contains("<mark>"), "highlighted snippet");
    assert!(search.body.contains(r#"<option value="hybrid" selected>"#));

    let paper = client().get("/papers/2503.12067");
    assert_eq!(paper.status, 200);
    assert!(
        paper
            .body
            .contains("<h1>A Comprehensive Survey on Knowledge Distillation</h1>")
    );
    assert!(paper.body.contains("https://arxiv.org/pdf/2503.12067"));
    assert!(paper.body.contains("Similar papers"));

    // A real abstract with raw `<` and `>` ("achieve >0.69 AUROC with <9% trainable").
    let raw = client().get("/papers/2512.21508");
    assert!(
        raw.body.contains("&#62;0.69 AUROC with &#60;9% trainable")
            || raw.body.contains("&gt;0.69 AUROC with &lt;9% trainable"),
        "escaped"
    );
    assert!(!raw.body.contains("with <9% trainable"));

    let bad = client().get("/papers/date/2025-02-30");
    assert_eq!(bad.status, 400);
    assert!(bad.header("content-type").starts_with("text/html"));
    assert_eq!(client().get("/papers/2501.99999").status, 404);
    assert_eq!(client().get("/no-such-page").status, 404);
    let css = client().get("/static/style.css");
    assert_eq!(css.status, 200);
    assert!(css.body.contains("prefers-color-scheme: dark"));
}

fn upvotes(id: &str) -> u64 {
    get_json(&format!("/api/papers/{id}")).1["upvotes"]
        .as_u64()
        .unwrap()
}

#[test]
fn accounts_votes_csrf_and_tokens() {
    let id = "2512.21508";
    let mut c = client();
    let r = c.sign_up("voter_one", "correct horse battery");
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(c.cookies.contains_key("pf_session"));
    assert!(r.header("set-cookie").contains("HttpOnly"));
    assert!(r.header("set-cookie").contains("SameSite=Lax"));
    let again = client().sign_up("VOTER_ONE", "another password");
    assert_eq!(again.status, 409, "names are case-insensitive");

    let before = upvotes(id);
    let path = format!("/papers/{id}/vote");
    let forged = c.post_form(&path, &[("up", "1")], &[]);
    assert_eq!(forged.status, 403, "no CSRF token");
    let csrf = c.csrf();
    let r = c.post_form(&path, &[("csrf", &csrf), ("up", "1")], &[]);
    assert_eq!(r.status, 303);
    assert_eq!(upvotes(id), before + 1);
    // Voting twice is still one vote; htmx gets the button back.
    let r = c.post_form(
        &path,
        &[("csrf", &csrf), ("up", "1")],
        &[("HX-Request", "true")],
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"aria-pressed="true""#), "{}", r.body);
    assert!(
        r.body
            .contains(&format!(r#"<span class="count">{}</span>"#, before + 1))
    );
    let r = c.post_form(
        &path,
        &[("csrf", &csrf), ("up", "0")],
        &[("HX-Request", "true")],
    );
    assert!(r.body.contains(r#"aria-pressed="false""#));
    assert_eq!(upvotes(id), before);

    // Visitors are sent to log in.
    let mut anon = client();
    anon.get("/");
    let acsrf = anon.csrf();
    let r = anon.post_form(&path, &[("csrf", &acsrf)], &[]);
    assert_eq!(r.status, 303);
    assert!(r.header("location").starts_with("/login?next="));

    // The JSON API: a cookie session needs the CSRF header, a bearer token does not.
    let api = format!("/api/papers/{id}/vote");
    assert_eq!(c.send("POST", &api, &[], None).status, 403);
    let r = c.send("POST", &api, &[("X-CSRF-Token", &csrf)], None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["upvoted"], true);
    assert_eq!(anon.send("POST", &api, &[], None).status, 401);
    let body = br#"{"username": "voter_one", "password": "wrong"}"#;
    let r = anon.send(
        "POST",
        "/api/auth/token",
        &[("Content-Type", "application/json")],
        Some(body),
    );
    assert_eq!(r.status, 401);
    let body = br#"{"username": "voter_one", "password": "correct horse battery"}"#;
    let r = anon.send(
        "POST",
        "/api/auth/token",
        &[("Content-Type", "application/json")],
        Some(body),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let mut fresh = client();
    let r = fresh.send("DELETE", &api, &[("Authorization", &bearer)], None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["upvotes"].as_u64().unwrap(), before);
    let r = fresh.send("POST", &api, &[("Authorization", "Bearer 0000")], None);
    assert_eq!(r.status, 401);

    // Wrong password, then logout ends the session.
    let mut other = client();
    other.get("/login");
    let ocsrf = other.csrf();
    let r = other.post_form(
        "/login",
        &[
            ("csrf", &ocsrf),
            ("username", "voter_one"),
            ("password", "nope nope"),
        ],
        &[],
    );
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Wrong username or password"));
    let r = c.post_form("/logout", &[("csrf", &csrf)], &[]);
    assert_eq!(r.status, 303);
    let home = c.get("/");
    assert!(home.body.contains("Log in"));
}

#[test]
fn submitting_fetches_unknown_papers_from_arxiv() {
    let mut c = client();
    assert_eq!(c.sign_up("submitter_one", "a long password").status, 303);
    let csrf = c.csrf();
    let r = c.post_form(
        "/submit",
        &[
            ("csrf", &csrf),
            ("paper", "https://arxiv.org/abs/1605.08386v1"),
        ],
        &[],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), "/papers/1605.08386");
    let (_, p) = get_json("/api/papers/1605.08386");
    assert_eq!(p["title"], "Heat-bath random walks with Markov bases");
    assert_eq!(p["submittedOnDailyBy"]["user"], "submitter_one");
    let (_, mine) = get_json("/api/daily_papers?submitter=submitter_one");
    assert_eq!(ids(&mine), vec!["1605.08386".to_string()]);
    assert_eq!(mine[0]["submittedBy"]["user"], "submitter_one");

    let r = c.post_form("/submit", &[("csrf", &csrf), ("paper", "2501.99999")], &[]);
    assert_eq!(r.status, 404);
    assert!(r.body.contains("arXiv has no paper 2501.99999"));
    let r = c.post_form("/submit", &[("csrf", &csrf), ("paper", "not an id")], &[]);
    assert_eq!(r.status, 400);
    let r = c.post_form(
        "/submit",
        &[("csrf", "forged"), ("paper", "2503.12067")],
        &[],
    );
    assert_eq!(r.status, 403);
}
