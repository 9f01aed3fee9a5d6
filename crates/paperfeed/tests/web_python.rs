//! Real clients against the real binary: the `huggingface_hub` Python client, feedparser, and
//! headless Chromium driven by selenium. They need the venv of `scripts/setup-test-env.sh`
//! (found through `PAPERFEED_TEST_PYTHON`); without it these tests fail, naming the script.

mod web_support;

use std::sync::OnceLock;

use web_support::{Server, fake_arxiv_env, run_python, test_python};

const SUBMITTER: &str = "hf_submitter";

/// The demo server, with one paper submitted by [`SUBMITTER`] (fetched from the recorded
/// arXiv API) for the `submitter` filter.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        test_python();
        let server = Server::start("demo", None, &fake_arxiv_env());
        let mut c = server.client();
        assert_eq!(c.sign_up(SUBMITTER, "submitter password").status, 303);
        let csrf = c.csrf();
        let r = c.post_form("/submit", &[("csrf", &csrf), ("paper", "1605.08386")], &[]);
        assert_eq!(r.status, 303, "{}", r.body);
        server
    })
}

#[test]
fn huggingface_hub_client_works_unchanged() {
    run_python(
        "hf_client.py",
        server(),
        &[("PAPERFEED_SUBMITTER", SUBMITTER)],
    );
}

#[test]
fn feedparser_reads_every_feed() {
    run_python("feeds.py", server(), &[]);
}

#[test]
fn chromium_daily_page_search_paper_and_upvote() {
    run_python("browser.py", server(), &[]);
}
