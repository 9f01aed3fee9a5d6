-- paperfeed store schema, version 1.
--
-- Papers are kept as the canonical JSON of `paperfeed_core::Paper` (`doc`), plus the
-- columns that queries filter or sort on. `doc` is the last column so that scans which
-- only need the small columns never touch its overflow pages.

-- The store-wide change sequence: one row, bumped by every insert, update, deletion and
-- upvote change. A counter (rather than MAX(seq)) so numbers are never reused.
CREATE TABLE change_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO change_seq (id, value) VALUES (1, 0);

CREATE TABLE papers (
    id               TEXT PRIMARY KEY NOT NULL,
    -- Change sequence number of the paper's latest change.
    seq              INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    deleted          INTEGER NOT NULL DEFAULT 0,
    -- 'YYYY-MM-DD'
    listing_date     TEXT,
    -- Fixed-width UTC timestamp, so text order is time order.
    published        TEXT,
    primary_category TEXT,
    -- Every category between single spaces (' cs.CL cs.LG '), for instr() matching.
    categories       TEXT NOT NULL,
    -- Hash of title and abstract: an embedding made for another hash is stale.
    text_hash        INTEGER NOT NULL,
    -- Hash of `doc`: a re-imported record with the same hash changes nothing, which is
    -- decided without reading `doc` back.
    doc_hash         INTEGER NOT NULL,
    doc              TEXT NOT NULL
);
CREATE UNIQUE INDEX papers_seq ON papers (seq);
CREATE INDEX papers_listing_date ON papers (listing_date);
CREATE INDEX papers_published ON papers (published);

CREATE TABLE submissions (
    paper_id         TEXT PRIMARY KEY NOT NULL REFERENCES papers (id),
    day              TEXT NOT NULL,
    submitted_by     TEXT,
    submitted_at     TEXT NOT NULL,
    external_upvotes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX submissions_day ON submissions (day, submitted_at);
CREATE INDEX submissions_by ON submissions (submitted_by, day);

CREATE TABLE votes (
    user_name TEXT NOT NULL,
    paper_id  TEXT NOT NULL REFERENCES papers (id),
    at        TEXT NOT NULL,
    PRIMARY KEY (user_name, paper_id)
) WITHOUT ROWID;
CREATE INDEX votes_paper ON votes (paper_id);

CREATE TABLE harvest_checkpoints (
    key              TEXT PRIMARY KEY NOT NULL,
    resumption_token TEXT,
    list_from        TEXT,
    last_datestamp   TEXT,
    updated_at       TEXT NOT NULL
);

CREATE TABLE embedding_models (
    key           TEXT PRIMARY KEY NOT NULL,
    identity      TEXT NOT NULL,
    registered_at TEXT NOT NULL
);

CREATE TABLE embeddings (
    model_key TEXT NOT NULL REFERENCES embedding_models (key),
    paper_id  TEXT NOT NULL REFERENCES papers (id),
    -- The paper's text_hash when the vector was stored.
    text_hash INTEGER NOT NULL,
    -- Little-endian f32s.
    vector    BLOB NOT NULL,
    PRIMARY KEY (model_key, paper_id)
);
