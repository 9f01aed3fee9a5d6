//! Hugging Face daily papers: the `/api/daily_papers` array shape and the real
//! `featured-*.jsonl` lines.

use std::io::Cursor;
use std::path::Path;

use chrono::{NaiveDate, TimeZone, Utc};
use paperfeed_core::{Paper, Submission};
use paperfeed_ingest::input::open_input;
use paperfeed_ingest::{BadRecord, Position, Record, hfdaily};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/hfdaily/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

type Outcome = (Position, Result<(Paper, Submission), BadRecord>);

fn outcomes<R: std::io::BufRead>(reader: R) -> Vec<Outcome> {
    hfdaily::read(reader, "test")
        .map(|item| {
            let (pos, rec) = item.expect("input readable");
            let rec = rec.map(|r| match r {
                Record::Featured { paper, submission } => (*paper, submission),
                other => panic!("{pos}: unexpected {other:?}"),
            });
            (pos, rec)
        })
        .collect()
}

fn featured(path: &str) -> Vec<(Paper, Submission)> {
    let input = open_input(Path::new(&fixture(path))).unwrap();
    outcomes(input)
        .into_iter()
        .map(|(pos, rec)| rec.unwrap_or_else(|bad| panic!("{pos}: {bad}")))
        .collect()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn daily_papers_array() {
    let entries = featured("daily_papers.json");
    assert_eq!(entries.len(), 3);

    let (paper, sub) = &entries[0];
    assert_eq!(paper.id.as_str(), "2510.01174");
    assert_eq!(
        paper.title,
        "Code2Video: A Code-centric Paradigm for Educational Video Generation"
    );
    let names: Vec<_> = paper.authors.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["Yanzhe Chen", "Kevin Qinghong Lin", "Mike Zheng Shou"]
    );
    assert!(
        paper
            .abstract_text
            .starts_with("While recent generative models advance pixel-space video synthesis")
    );
    assert_eq!(
        paper.published,
        Some(Utc.with_ymd_and_hms(2025, 10, 1, 16, 51, 59).unwrap())
    );
    assert_eq!(paper.code_links, ["https://github.com/showlab/Code2Video"]);
    assert_eq!(sub.paper, paper.id);
    assert_eq!(
        sub.day,
        day(2025, 10, 2),
        "the day it entered the feed, not the arXiv day"
    );
    assert_eq!(
        sub.at,
        Utc.with_ymd_and_hms(2025, 10, 2, 1, 47, 12).unwrap() + chrono::Duration::milliseconds(93)
    );
    assert_eq!(
        sub.submitted_by.as_ref().map(|u| u.as_str()),
        Some("kevinqhlin")
    );
    assert_eq!(sub.external_upvotes, 88);

    let (nsa, sub) = &entries[1];
    assert_eq!(nsa.id.as_str(), "2510.02295");
    assert!(
        nsa.code_links.is_empty(),
        "a project page that is not a repository is no code link"
    );
    assert_eq!(sub.day, day(2025, 10, 3));
    assert_eq!(
        sub.submitted_by.as_ref().map(|u| u.as_str()),
        Some("akhaliq")
    );
    assert_eq!(sub.external_upvotes, 23);

    let (padt, sub) = &entries[2];
    assert_eq!(padt.authors.len(), 14);
    assert_eq!(
        padt.code_links,
        ["https://github.com/Gorilla-Lab-SCUT/PaDT"]
    );
    assert_eq!(
        sub.submitted_by, None,
        "`Yongyi.Su` is not a valid user name"
    );
    assert_eq!(sub.external_upvotes, 5);
}

#[test]
fn real_featured_lines() {
    let entries = featured("featured-300.jsonl");
    assert_eq!(entries.len(), 300);
    let (paper, sub) = &entries[0];
    assert_eq!(paper.id.as_str(), "2401.04925");
    assert_eq!(
        paper.title,
        "The Impact of Reasoning Step Length on Large Language Models"
    );
    assert_eq!(paper.authors.len(), 1);
    assert_eq!(paper.authors[0].name, "Mingyu Jin");
    assert_eq!(sub.day, day(2024, 1, 11));
    assert_eq!(sub.at, Utc.with_ymd_and_hms(2024, 1, 11, 0, 0, 0).unwrap());
    assert_eq!((sub.submitted_by.as_ref(), sub.external_upvotes), (None, 0));
    let (pixart, _) = &entries[2];
    assert_eq!(
        pixart.title,
        "PIXART-δ: Fast and Controllable Image Generation with Latent Consistency Models"
    );
}

#[test]
fn compact_array_and_concatenated_arrays_number_records_across() {
    let text = std::fs::read_to_string(fixture("daily_papers.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let compact = serde_json::to_string(&value).unwrap();
    let two = format!("{compact}\n{compact}\n");
    let got = outcomes(Cursor::new(two));
    let positions: Vec<_> = got.iter().map(|(p, r)| (*p, r.is_ok())).collect();
    let want: Vec<_> = (1..=6).map(|n| (Position::Record(n), true)).collect();
    assert_eq!(positions, want);
}

#[test]
fn a_broken_element_is_one_bad_record() {
    let text = r#"  [
      {"paper": {"id": "2510.01174", "title": "A", "submittedOnDailyAt": "2025-10-02T01:47:12.093Z", "upvotes": 3}},
      {"paper": {"id": "2510.99999x", "title": "B, with [brackets] and \"quotes\" {}", "submittedOnDailyAt": "2025-10-02T00:00:00Z"}},
      {"paper": {"id": "2510.02295", "title": "C", "submittedOnDailyAt": "2025-02-30T00:00:00Z"}},
      {"paper": {"id": "2510.02295", "title": "D"}},
      {"paper": {"id": "2510.02295", "title": "E", "submittedOnDailyAt": "2025-10-03T00:00:00Z"}} }},
      {"paper": {"id": "2510.01954", "title": "F", "submittedOnDailyAt": "2025-10-03T00:00:00Z", "upvotes": -4}}
    ]"#;
    let got = outcomes(Cursor::new(text));
    let summary: Vec<_> = got
        .iter()
        .map(|(pos, r)| match r {
            Ok((p, s)) => format!("{pos}: {} {} {}", p.title, s.day, s.external_upvotes),
            Err(_) => format!("{pos}: bad"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "record 1: A 2025-10-02 3",
            "record 2: bad",
            "record 3: bad",
            "record 4: bad",
            "record 5: bad",
            "record 6: F 2025-10-03 0",
        ]
    );
    let reasons: Vec<_> = got
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .map(|b| b.reason.as_str())
        .collect();
    assert!(
        reasons[0].contains("not an arXiv identifier"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("invalid date"), "{reasons:?}");
    assert!(reasons[2].starts_with("no feed day"), "{reasons:?}");
    assert!(reasons[3].starts_with("invalid JSON"), "{reasons:?}");
}

#[test]
fn truncated_array_keeps_what_came_before() {
    let text = r#"[{"id": "2401.04925", "hf_daily_date": "2024-01-11", "title": "T", "first_author": "A"},
                   {"id": "2401.05033", "hf_daily_date": "2024-01-11", "tit"#;
    let got = outcomes(Cursor::new(text));
    assert_eq!(got.len(), 2);
    assert!(got[0].1.is_ok());
    assert!(got[1].1.as_ref().unwrap_err().reason.contains("EOF"));
}

#[test]
fn junk_after_an_array_ends_the_stream_with_one_bad_record() {
    let got = outcomes(Cursor::new(r#"[] trailing garbage"#));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, Position::Record(1));
    assert_eq!(
        got[0].1.as_ref().unwrap_err().reason,
        "unexpected 't' after a JSON array"
    );
}

#[test]
fn json_lines_keep_true_line_numbers_after_leading_blank_lines() {
    let text = "\n\n{\"id\": \"2401.04925\", \"hf_daily_date\": \"2024-01-11\", \"title\": \"T\"}\n\n{\"id\": \"2401.04925\", \"hf_daily_date\": \"2024-13-11\", \"title\": \"T\"}\n";
    let got = outcomes(Cursor::new(text));
    let positions: Vec<_> = got.iter().map(|(p, r)| (*p, r.is_ok())).collect();
    assert_eq!(
        positions,
        [(Position::Line(3), true), (Position::Line(5), false)]
    );
}

#[test]
fn flat_paper_object_uses_submitted_on_daily_at() {
    let line = r#"{"id":"2407.13168","authors":[{"_id":"669dcf3b7f28c43e09d54991","name":"Minhui Zhu","hidden":false}],"publishedAt":"2024-07-18T05:15:24.000Z","submittedOnDailyAt":"2024-07-22T00:00:00.000Z","title":"SciCode: A Research Coding Benchmark Curated by Scientists","submittedOnDailyBy":{"_id":"6610c90c6c59fff43622eef7","fullname":"Yanxin Lu","user":"amber1120","type":"user","name":"amber1120"},"summary":"Since language models (LMs) now outperform","upvotes":17,"discussionId":"669dcf3c7f28c43e09d549ca"}"#;
    let got = outcomes(Cursor::new(line));
    let (paper, sub) = got[0].1.as_ref().unwrap();
    assert_eq!(
        paper.published,
        Some(Utc.with_ymd_and_hms(2024, 7, 18, 5, 15, 24).unwrap())
    );
    assert_eq!(sub.day, day(2024, 7, 22));
    assert_eq!(
        sub.submitted_by.as_ref().map(|u| u.as_str()),
        Some("amber1120")
    );
    assert_eq!(sub.external_upvotes, 17);
}

#[test]
fn empty_inputs_yield_nothing() {
    for text in ["", "   \n", "[]", " [ ] \n [] "] {
        assert!(outcomes(Cursor::new(text)).is_empty(), "{text:?}");
    }
}
