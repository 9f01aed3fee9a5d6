//! Code repository links found in abstracts and comments.
//!
//! Authors write them in every shape: `https://github.com/OUC-VAS/TSOM.`,
//! `github.com/foo/bar.git`, `(https://gitlab.com/a/b)`, `\url{https://github.com/x/y}`. They
//! are normalised to `https://github.com/owner/repo` and deduplicated case-insensitively (the
//! hosts treat owner and repository names case-insensitively), first spelling kept.

use std::sync::LazyLock;

use regex::Regex;

static REPO_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:https?://)?(?:www\.)?(github\.com|gitlab\.com)/([A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)/([A-Za-z0-9_.-]+)",
    )
    .expect("static regex")
});

/// Path segments on github.com / gitlab.com that are site pages, not owners.
const NOT_OWNERS: &[&str] = &[
    "about",
    "features",
    "topics",
    "orgs",
    "settings",
    "marketplace",
    "explore",
    "sponsors",
    "login",
    "join",
    "pricing",
    "collections",
    "trending",
    "users",
    "search",
    "apps",
];

/// Every repository URL in `texts`, normalised, in order of first appearance, deduplicated.
pub fn extract_code_links<'a, I>(texts: I) -> Vec<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out: Vec<String> = Vec::new();
    for text in texts.into_iter().filter(|t| mentions_repo_host(t)) {
        for cap in REPO_URL.captures_iter(text) {
            let whole = cap.get(0).expect("match");
            // `user.github.com/x` or `foo-github.com/...` are other hosts.
            if let Some(prev) = text[..whole.start()].chars().last()
                && (prev.is_ascii_alphanumeric() || prev == '.' || prev == '-' || prev == '@')
            {
                continue;
            }
            let host = cap[1].to_ascii_lowercase();
            let owner = &cap[2];
            let mut repo = cap[3].trim_end_matches(['.', '-', '_']);
            if let Some(stripped) = repo
                .strip_suffix(".git")
                .or_else(|| repo.strip_suffix(".GIT"))
            {
                repo = stripped;
            }
            let repo = repo.trim_end_matches('.');
            if repo.is_empty() || NOT_OWNERS.contains(&owner.to_ascii_lowercase().as_str()) {
                continue;
            }
            let url = format!("https://{host}/{owner}/{repo}");
            if !out.iter().any(|u| u.eq_ignore_ascii_case(&url)) {
                out.push(url);
            }
        }
    }
    out
}

/// True when `text` contains `github.com` or `gitlab.com` in any case. The regex has no literal
/// prefix to skip ahead to (optional scheme, case-insensitive), so it scans every byte of every
/// abstract; this check finds the rare texts worth scanning at memchr speed.
fn mentions_repo_host(text: &str) -> bool {
    let b = text.as_bytes();
    text.match_indices('.').any(|(i, _)| {
        i >= 6
            && (b[i - 6..i].eq_ignore_ascii_case(b"github")
                || b[i - 6..i].eq_ignore_ascii_case(b"gitlab"))
            && b.get(i + 1..i + 4)
                .is_some_and(|com| com.eq_ignore_ascii_case(b"com"))
    })
}

/// Normalises one URL the way [`extract_code_links`] would, or `None` if it is not a
/// repository URL.
pub fn normalize_repo_url(url: &str) -> Option<String> {
    extract_code_links([url]).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_normalises() {
        let cases: &[(&str, &[&str])] = &[
            (
                "The code has been released at https://github.com/OUC-VAS/TSOM.",
                &["https://github.com/OUC-VAS/TSOM"],
            ),
            (
                "see github.com/foo/bar.git for code",
                &["https://github.com/foo/bar"],
            ),
            ("(https://gitlab.com/a/b)", &["https://gitlab.com/a/b"]),
            ("\\url{https://github.com/x/y}", &["https://github.com/x/y"]),
            (
                "http://www.github.com/x/y/tree/main/src",
                &["https://github.com/x/y"],
            ),
            (
                "https://GitHub.com/Foo/Bar and https://github.com/foo/bar",
                &["https://github.com/Foo/Bar"],
            ),
            (
                "two: https://github.com/a/b, https://github.com/c/d.",
                &["https://github.com/a/b", "https://github.com/c/d"],
            ),
            (
                "https://github.com/owner/my.repo.name",
                &["https://github.com/owner/my.repo.name"],
            ),
            ("pages https://jcorsetti.github.io/oryon are not repos", &[]),
            ("https://github.com/features/copilot", &[]),
            ("mail me at someone@github.com/x", &[]),
            ("no code here", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(extract_code_links([*text]), *want, "links in {text:?}");
        }
    }

    #[test]
    fn dedup_across_fields() {
        let links = extract_code_links([
            "Code: https://github.com/a/b",
            "Comment: github.com/A/B.git",
        ]);
        assert_eq!(links, vec!["https://github.com/a/b"]);
    }
}
