//! OAI-PMH responses from arXiv: `ListRecords` and `GetRecord` pages in the `arXiv`,
//! `arXivRaw` and `oai_dc` metadata formats, resumption tokens, deleted records and errors.
//!
//! [`parse_response`] turns one response body into an [`OaiResponse`]: a page of records, or
//! [`OaiResponse::NoRecords`] when the repository says `noRecordsMatch` (nothing new, which is
//! not a failure). Every other OAI error becomes [`IngestError::Oai`] with a typed
//! [`OaiErrorCode`]. One record that cannot be read (no identifier, an identifier that is not
//! arXiv's, an impossible date, no title) becomes a [`BadRecord`] with its 1-based position in
//! the page; the rest of the page is still returned.
//!
//! The three formats carry different parts of a paper:
//!
//! - `arXiv`: structured authors (`keyname`, `forenames`, `suffix`, `affiliation`), `created`
//!   (v1) and `updated` (latest version) dates, but no version numbers.
//! - `arXivRaw`: the version history with exact dates and sizes, the submitter, the author
//!   list as one string, space-separated DOIs.
//! - `oai_dc`: Dublin Core. Creators are `"Family, Given"`; subjects are category *names*
//!   (`"Computer Science - Computation and Language"`), mapped back to codes with arXiv's
//!   taxonomy; the comment is a `"Comment: ..."` description; the journal reference and DOI
//!   (`doi:...`) hide among the identifiers; dates are days only and carry no version number.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use paperfeed_core::{
    ArxivId, Author, Category, Paper, Version, parse_author_list, parse_version_label,
};
use roxmltree::Node;

use crate::{BadRecord, IngestError, Position, Record};

/// The OAI-PMH 2.0 namespace.
pub const OAI_NS: &str = "http://www.openarchives.org/OAI/2.0/";
/// The namespace of arXiv's `arXiv` metadata format.
pub const ARXIV_NS: &str = "http://arxiv.org/OAI/arXiv/";
/// The namespace of arXiv's `arXivRaw` metadata format.
pub const ARXIV_RAW_NS: &str = "http://arxiv.org/OAI/arXivRaw/";
/// The namespace of the `oai_dc` container element.
pub const OAI_DC_NS: &str = "http://www.openarchives.org/OAI/2.0/oai_dc/";
/// The Dublin Core elements namespace.
pub const DC_NS: &str = "http://purl.org/dc/elements/1.1/";

/// A metadata format arXiv's OAI-PMH interface serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetadataFormat {
    /// `arXiv`: structured authors, created/updated dates.
    Arxiv,
    /// `arXivRaw`: version history, submitter; the most complete format.
    #[default]
    ArxivRaw,
    /// `oai_dc`: Dublin Core.
    OaiDc,
}

impl MetadataFormat {
    /// The `metadataPrefix` value.
    pub fn prefix(self) -> &'static str {
        match self {
            MetadataFormat::Arxiv => "arXiv",
            MetadataFormat::ArxivRaw => "arXivRaw",
            MetadataFormat::OaiDc => "oai_dc",
        }
    }
}

impl fmt::Display for MetadataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

impl FromStr for MetadataFormat {
    type Err = IngestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "arXiv" => Ok(MetadataFormat::Arxiv),
            "arXivRaw" => Ok(MetadataFormat::ArxivRaw),
            "oai_dc" => Ok(MetadataFormat::OaiDc),
            other => Err(IngestError::Config(format!(
                "unknown metadata format {other:?} (use arXiv, arXivRaw or oai_dc)"
            ))),
        }
    }
}

/// An OAI-PMH error code (OAI-PMH 2.0, section 3.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OaiErrorCode {
    /// Illegal or missing arguments, or arguments repeated.
    BadArgument,
    /// The resumption token is invalid or expired.
    BadResumptionToken,
    /// The verb is illegal or missing.
    BadVerb,
    /// The metadata format is not supported by the item or the repository.
    CannotDisseminateFormat,
    /// The identifier is unknown or illegal in this repository.
    IdDoesNotExist,
    /// The request matched no records: nothing new, not a failure.
    NoRecordsMatch,
    /// The item has no metadata formats.
    NoMetadataFormats,
    /// The repository does not support sets.
    NoSetHierarchy,
    /// A code outside the specification, kept as written.
    Other(String),
}

impl OaiErrorCode {
    /// Reads a `code` attribute.
    pub fn parse(code: &str) -> Self {
        match code.trim() {
            "badArgument" => OaiErrorCode::BadArgument,
            "badResumptionToken" => OaiErrorCode::BadResumptionToken,
            "badVerb" => OaiErrorCode::BadVerb,
            "cannotDisseminateFormat" => OaiErrorCode::CannotDisseminateFormat,
            "idDoesNotExist" => OaiErrorCode::IdDoesNotExist,
            "noRecordsMatch" => OaiErrorCode::NoRecordsMatch,
            "noMetadataFormats" => OaiErrorCode::NoMetadataFormats,
            "noSetHierarchy" => OaiErrorCode::NoSetHierarchy,
            other => OaiErrorCode::Other(other.to_string()),
        }
    }

    /// The code as the specification spells it.
    pub fn as_str(&self) -> &str {
        match self {
            OaiErrorCode::BadArgument => "badArgument",
            OaiErrorCode::BadResumptionToken => "badResumptionToken",
            OaiErrorCode::BadVerb => "badVerb",
            OaiErrorCode::CannotDisseminateFormat => "cannotDisseminateFormat",
            OaiErrorCode::IdDoesNotExist => "idDoesNotExist",
            OaiErrorCode::NoRecordsMatch => "noRecordsMatch",
            OaiErrorCode::NoMetadataFormats => "noMetadataFormats",
            OaiErrorCode::NoSetHierarchy => "noSetHierarchy",
            OaiErrorCode::Other(s) => s,
        }
    }
}

impl fmt::Display for OaiErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an incomplete list continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumptionToken {
    /// The opaque token to send back (`726959|1001`).
    pub token: String,
    /// How many records of the list came before this page, if the repository says.
    pub cursor: Option<u64>,
    /// The size of the whole list, if the repository says.
    pub complete_list_size: Option<u64>,
    /// When the token stops working, if the repository says.
    pub expiration_date: Option<DateTime<Utc>>,
}

/// One page of a `ListRecords` (or the single record of a `GetRecord`) response.
#[derive(Debug, Clone, PartialEq)]
pub struct OaiPage {
    /// When the repository produced the response.
    pub response_date: Option<DateTime<Utc>>,
    /// The records in page order: papers, deletions, and records that could not be read.
    pub records: Vec<Result<Record, BadRecord>>,
    /// The header datestamp of each record (`datestamps[i]` belongs to `records[i]`), `None`
    /// where the header had none or an unreadable one.
    pub datestamps: Vec<Option<NaiveDate>>,
    /// Where the list continues; `None` when this page ends it (no element, or an empty one).
    pub resumption: Option<ResumptionToken>,
}

impl OaiPage {
    /// The latest header datestamp on the page.
    pub fn latest_datestamp(&self) -> Option<NaiveDate> {
        self.datestamps.iter().flatten().max().copied()
    }
}

/// What an OAI-PMH request produced.
#[derive(Debug, Clone, PartialEq)]
pub enum OaiResponse {
    /// A page of records.
    Page(OaiPage),
    /// `noRecordsMatch`: nothing (new) matches the request.
    NoRecords {
        /// When the repository produced the response.
        response_date: Option<DateTime<Utc>>,
    },
}

/// Parses an OAI-PMH `ListRecords` or `GetRecord` response body.
///
/// Fails only for the whole response: XML that is not well-formed, a document that is not an
/// OAI-PMH response, or an OAI error other than `noRecordsMatch`.
pub fn parse_response(body: &str) -> Result<OaiResponse, IngestError> {
    let doc = xml::parse(body, "OAI-PMH response")?;
    let root = doc.root_element();
    if !xml::is(root, OAI_NS, "OAI-PMH") {
        return Err(IngestError::UnexpectedDocument {
            expected: "an OAI-PMH response",
            found: root.tag_name().name().to_string(),
        });
    }
    let response_date =
        xml::child_text(root, OAI_NS, "responseDate").and_then(|s| xml::parse_timestamp(&s).ok());

    let mut no_records = false;
    for error in xml::children(root, OAI_NS, "error") {
        let code = OaiErrorCode::parse(error.attribute("code").unwrap_or_default());
        if code == OaiErrorCode::NoRecordsMatch {
            no_records = true;
            continue;
        }
        let message = xml::text(error);
        return Err(IngestError::Oai { code, message });
    }
    if no_records {
        return Ok(OaiResponse::NoRecords { response_date });
    }

    let Some(verb) = root
        .children()
        .find(|n| xml::is(*n, OAI_NS, "ListRecords") || xml::is(*n, OAI_NS, "GetRecord"))
    else {
        return Err(IngestError::UnexpectedDocument {
            expected: "a ListRecords or GetRecord response",
            found: root
                .children()
                .filter(Node::is_element)
                .map(|n| n.tag_name().name())
                .find(|name| !matches!(*name, "responseDate" | "request"))
                .unwrap_or("OAI-PMH")
                .to_string(),
        });
    };

    let mut page = OaiPage {
        response_date,
        records: Vec::new(),
        datestamps: Vec::new(),
        resumption: None,
    };
    for (i, record) in xml::children(verb, OAI_NS, "record").enumerate() {
        let position = Position::Record(i as u64 + 1);
        let (datestamp, parsed) = parse_record(record);
        page.datestamps.push(datestamp);
        page.records
            .push(parsed.map_err(|reason| BadRecord { position, reason }));
    }
    page.resumption = xml::child(verb, OAI_NS, "resumptionToken").and_then(parse_token);
    Ok(OaiResponse::Page(page))
}

fn parse_token(node: Node<'_, '_>) -> Option<ResumptionToken> {
    let token = xml::text(node);
    if token.is_empty() {
        return None;
    }
    let number = |name: &str| node.attribute(name).and_then(|v| v.trim().parse().ok());
    Some(ResumptionToken {
        token,
        cursor: number("cursor"),
        complete_list_size: number("completeListSize"),
        expiration_date: node
            .attribute("expirationDate")
            .and_then(|v| xml::parse_timestamp(v).ok()),
    })
}

/// Reads one `<record>`: its header datestamp (kept even when the record is bad, so a
/// harvest still advances past it) and the record or the reason it was skipped.
fn parse_record(record: Node<'_, '_>) -> (Option<NaiveDate>, Result<Record, String>) {
    let Some(header) = xml::child(record, OAI_NS, "header") else {
        return (None, Err("record without header".to_string()));
    };
    let datestamp = xml::child_text(header, OAI_NS, "datestamp").map(|s| xml::parse_day(&s));
    let readable = datestamp.clone().and_then(Result::ok);
    (readable, read_record(record, header, datestamp))
}

fn read_record(
    record: Node<'_, '_>,
    header: Node<'_, '_>,
    datestamp: Option<Result<NaiveDate, String>>,
) -> Result<Record, String> {
    let identifier =
        xml::child_text(header, OAI_NS, "identifier").ok_or("record without identifier")?;
    let id = ArxivId::parse(&identifier).map_err(|e| e.to_string())?;
    let datestamp = datestamp
        .transpose()
        .map_err(|e| format!("datestamp: {e}"))?;
    if header.attribute("status") == Some("deleted") {
        return Ok(Record::Deleted { id, datestamp });
    }
    let metadata = xml::child(record, OAI_NS, "metadata")
        .and_then(|m| m.children().find(Node::is_element))
        .ok_or("record without metadata (and not marked deleted)")?;
    let sets: Vec<String> = xml::children(header, OAI_NS, "setSpec")
        .map(xml::text)
        .collect();
    let paper = if xml::is(metadata, ARXIV_NS, "arXiv") {
        arxiv_format(metadata, &id)?
    } else if xml::is(metadata, ARXIV_RAW_NS, "arXivRaw") {
        arxiv_raw_format(metadata, &id)?
    } else if xml::is(metadata, OAI_DC_NS, "dc") {
        dublin_core(metadata, &id, &sets)?
    } else {
        return Err(format!(
            "unsupported metadata format <{}> ({})",
            metadata.tag_name().name(),
            metadata.tag_name().namespace().unwrap_or("no namespace")
        ));
    };
    let paper = paper.finish().map_err(|e| e.to_string())?;
    Ok(Record::Paper(Box::new(paper)))
}

/// The identifier inside the metadata must name the same paper as the header.
fn check_same_paper(header_id: &ArxivId, metadata_id: Option<&str>) -> Result<(), String> {
    let Some(raw) = metadata_id.filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let id = ArxivId::parse(raw).map_err(|e| format!("metadata id: {e}"))?;
    if &id == header_id {
        Ok(())
    } else {
        Err(format!(
            "header identifier {header_id} and metadata id {id} differ"
        ))
    }
}

/// Fields the `arXiv` and `arXivRaw` formats share.
fn common_fields(meta: Node<'_, '_>, ns: &str, id: &ArxivId) -> Result<Paper, String> {
    check_same_paper(id, xml::child_text(meta, ns, "id").as_deref())?;
    let title = xml::child_text(meta, ns, "title").unwrap_or_default();
    let mut paper = Paper::new(id.clone(), &title);
    paper.abstract_text = xml::child_text(meta, ns, "abstract").unwrap_or_default();
    paper.categories = categories(xml::child_text(meta, ns, "categories").as_deref());
    paper.comment = xml::child_text(meta, ns, "comments");
    paper.journal_ref = xml::child_text(meta, ns, "journal-ref");
    paper.report_no = xml::child_text(meta, ns, "report-no");
    paper.license = xml::child_text(meta, ns, "license");
    paper.dois = xml::child_text(meta, ns, "doi").into_iter().collect();
    Ok(paper)
}

/// Space-separated category codes, primary first. A code that is not a valid category is
/// dropped (and logged) rather than costing the whole record.
pub(crate) fn categories(codes: Option<&str>) -> Vec<Category> {
    let mut out: Vec<Category> = Vec::new();
    for code in codes.unwrap_or_default().split_whitespace() {
        match Category::parse(code) {
            Ok(c) if !out.contains(&c) => out.push(c),
            Ok(_) => {}
            Err(e) => tracing::debug!("skipping category: {e}"),
        }
    }
    out
}

fn arxiv_format(meta: Node<'_, '_>, id: &ArxivId) -> Result<Paper, String> {
    let mut paper = common_fields(meta, ARXIV_NS, id)?;
    if let Some(created) = xml::child_text(meta, ARXIV_NS, "created") {
        paper.published = Some(xml::day_start(xml::parse_day(&created)?));
    }
    if let Some(updated) = xml::child_text(meta, ARXIV_NS, "updated") {
        paper.updated = Some(xml::day_start(xml::parse_day(&updated)?));
    }
    if let Some(authors) = xml::child(meta, ARXIV_NS, "authors") {
        paper.authors = xml::children(authors, ARXIV_NS, "author")
            .map(|a| {
                let part = |name| xml::child_text(a, ARXIV_NS, name).unwrap_or_default();
                Author::from_parts(&part("keyname"), &part("forenames"), &part("suffix"))
                    .with_affiliations(xml::children(a, ARXIV_NS, "affiliation").map(xml::text))
            })
            .collect();
    }
    Ok(paper)
}

fn arxiv_raw_format(meta: Node<'_, '_>, id: &ArxivId) -> Result<Paper, String> {
    let mut paper = common_fields(meta, ARXIV_RAW_NS, id)?;
    paper.submitter = xml::child_text(meta, ARXIV_RAW_NS, "submitter");
    paper.authors =
        parse_author_list(&xml::child_text(meta, ARXIV_RAW_NS, "authors").unwrap_or_default());
    for v in xml::children(meta, ARXIV_RAW_NS, "version") {
        let label = v.attribute("version").unwrap_or_default();
        let version = parse_version_label(label).map_err(|e| e.to_string())?;
        let date = xml::child_text(v, ARXIV_RAW_NS, "date")
            .ok_or_else(|| format!("version {label} without date"))?;
        let date = xml::parse_http_date(&date)?;
        paper.versions.push(Version {
            version,
            date,
            size: xml::child_text(v, ARXIV_RAW_NS, "size"),
        });
    }
    Ok(paper)
}

fn dublin_core(meta: Node<'_, '_>, id: &ArxivId, sets: &[String]) -> Result<Paper, String> {
    let texts = |name: &str| -> Vec<String> {
        xml::children(meta, DC_NS, name)
            .map(xml::text)
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut journal_refs = Vec::new();
    let mut dois = Vec::new();
    for identifier in texts("identifier") {
        if let Some(doi) = identifier.strip_prefix("doi:") {
            dois.push(doi.trim().to_string());
        } else if identifier.starts_with("http://") || identifier.starts_with("https://") {
            check_same_paper(id, Some(&identifier))?;
        } else {
            // arXiv puts the journal reference among the identifiers.
            journal_refs.push(identifier);
        }
    }
    let title = texts("title").join(" ");
    let mut paper = Paper::new(id.clone(), &title);
    paper.dois = dois;
    paper.journal_ref = (!journal_refs.is_empty()).then(|| journal_refs.join("; "));
    for description in texts("description") {
        if let Some(comment) = description.strip_prefix("Comment:") {
            paper.comment = Some(comment.trim().to_string());
        } else if paper.abstract_text.is_empty() {
            paper.abstract_text = description;
        }
    }
    paper.authors = texts("creator").iter().map(|c| dc_creator(c)).collect();
    let mut days = Vec::new();
    for date in texts("date") {
        days.push(xml::parse_day(&date)?);
    }
    // Dates are days: the first is v1's, the last the latest version's. Without a time of day
    // they cannot become a version history.
    paper.published = days.iter().min().copied().map(xml::day_start);
    if days.len() > 1 {
        paper.updated = days.iter().max().copied().map(xml::day_start);
    }
    paper.license = texts("rights").into_iter().next();
    let mut cats: Vec<Category> = Vec::new();
    for subject in texts("subject") {
        match taxonomy::code_for_name(&subject).map(|c| Category::parse(&c)) {
            Some(Ok(c)) if !cats.contains(&c) => cats.push(c),
            Some(_) => {}
            None => tracing::debug!("no category code for subject {subject:?}"),
        }
    }
    if cats.is_empty() {
        // Only sets that name a category on their own (`physics:hep-th`) say anything about
        // the paper's categories; `cs` or `math` name a whole archive.
        cats = sets
            .iter()
            .filter_map(|s| s.rsplit(':').next())
            .filter(|s| taxonomy::is_standalone_archive(s))
            .filter_map(|s| Category::parse(s).ok())
            .collect();
        cats.dedup();
    }
    paper.categories = cats;
    Ok(paper)
}

/// `"Liepins, Vilnis"` → Vilnis Liepins; `"Smith, John, Jr."` keeps the suffix; a name
/// without a comma (a collaboration) is kept as written.
fn dc_creator(creator: &str) -> Author {
    let mut parts = creator.splitn(3, ',').map(str::trim);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(family), Some(given), suffix) => {
            Author::from_parts(family, given, suffix.unwrap_or_default())
        }
        _ => Author::new(creator),
    }
}

/// arXiv's category taxonomy, to map `oai_dc` subject names back to codes.
mod taxonomy {
    /// Archives whose name is also a complete category code.
    const STANDALONE: &[(&str, &str)] = &[
        ("astro-ph", "Astrophysics"),
        ("cond-mat", "Condensed Matter"),
        ("gr-qc", "General Relativity and Quantum Cosmology"),
        ("hep-ex", "High Energy Physics - Experiment"),
        ("hep-lat", "High Energy Physics - Lattice"),
        ("hep-ph", "High Energy Physics - Phenomenology"),
        ("hep-th", "High Energy Physics - Theory"),
        ("math-ph", "Mathematical Physics"),
        ("nucl-ex", "Nuclear Experiment"),
        ("nucl-th", "Nuclear Theory"),
        ("quant-ph", "Quantum Physics"),
    ];

    /// (archive code, the name arXiv prefixes its subjects with, [(subject code, name)]).
    /// Some subjects appear under an older name too (`cs.LG` was "Learning").
    pub(super) type Archive = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );
    pub(super) const ARCHIVES: &[Archive] = &[
        (
            "cs",
            "Computer Science",
            &[
                ("AI", "Artificial Intelligence"),
                ("AR", "Hardware Architecture"),
                ("CC", "Computational Complexity"),
                ("CE", "Computational Engineering, Finance, and Science"),
                ("CG", "Computational Geometry"),
                ("CL", "Computation and Language"),
                ("CR", "Cryptography and Security"),
                ("CV", "Computer Vision and Pattern Recognition"),
                ("CY", "Computers and Society"),
                ("DB", "Databases"),
                ("DC", "Distributed, Parallel, and Cluster Computing"),
                ("DL", "Digital Libraries"),
                ("DM", "Discrete Mathematics"),
                ("DS", "Data Structures and Algorithms"),
                ("ET", "Emerging Technologies"),
                ("FL", "Formal Languages and Automata Theory"),
                ("GL", "General Literature"),
                ("GR", "Graphics"),
                ("GT", "Computer Science and Game Theory"),
                ("HC", "Human-Computer Interaction"),
                ("IR", "Information Retrieval"),
                ("IT", "Information Theory"),
                ("LG", "Machine Learning"),
                ("LG", "Learning"),
                ("LO", "Logic in Computer Science"),
                ("MA", "Multiagent Systems"),
                ("MM", "Multimedia"),
                ("MS", "Mathematical Software"),
                ("NA", "Numerical Analysis"),
                ("NE", "Neural and Evolutionary Computing"),
                ("NI", "Networking and Internet Architecture"),
                ("OH", "Other Computer Science"),
                ("OS", "Operating Systems"),
                ("PF", "Performance"),
                ("PL", "Programming Languages"),
                ("RO", "Robotics"),
                ("SC", "Symbolic Computation"),
                ("SD", "Sound"),
                ("SE", "Software Engineering"),
                ("SI", "Social and Information Networks"),
                ("SY", "Systems and Control"),
            ],
        ),
        (
            "math",
            "Mathematics",
            &[
                ("AC", "Commutative Algebra"),
                ("AG", "Algebraic Geometry"),
                ("AP", "Analysis of PDEs"),
                ("AT", "Algebraic Topology"),
                ("CA", "Classical Analysis and ODEs"),
                ("CO", "Combinatorics"),
                ("CT", "Category Theory"),
                ("CV", "Complex Variables"),
                ("DG", "Differential Geometry"),
                ("DS", "Dynamical Systems"),
                ("FA", "Functional Analysis"),
                ("GM", "General Mathematics"),
                ("GN", "General Topology"),
                ("GR", "Group Theory"),
                ("GT", "Geometric Topology"),
                ("HO", "History and Overview"),
                ("IT", "Information Theory"),
                ("KT", "K-Theory and Homology"),
                ("LO", "Logic"),
                ("MG", "Metric Geometry"),
                ("MP", "Mathematical Physics"),
                ("NA", "Numerical Analysis"),
                ("NT", "Number Theory"),
                ("OA", "Operator Algebras"),
                ("OC", "Optimization and Control"),
                ("PR", "Probability"),
                ("QA", "Quantum Algebra"),
                ("RA", "Rings and Algebras"),
                ("RT", "Representation Theory"),
                ("SG", "Symplectic Geometry"),
                ("SP", "Spectral Theory"),
                ("ST", "Statistics Theory"),
            ],
        ),
        (
            "stat",
            "Statistics",
            &[
                ("AP", "Applications"),
                ("CO", "Computation"),
                ("ME", "Methodology"),
                ("ML", "Machine Learning"),
                ("OT", "Other Statistics"),
                ("TH", "Statistics Theory"),
                ("TH", "Theory"),
            ],
        ),
        (
            "eess",
            "Electrical Engineering and Systems Science",
            &[
                ("AS", "Audio and Speech Processing"),
                ("IV", "Image and Video Processing"),
                ("SP", "Signal Processing"),
                ("SY", "Systems and Control"),
            ],
        ),
        (
            "econ",
            "Economics",
            &[
                ("EM", "Econometrics"),
                ("GN", "General Economics"),
                ("TH", "Theoretical Economics"),
            ],
        ),
        (
            "q-bio",
            "Quantitative Biology",
            &[
                ("BM", "Biomolecules"),
                ("CB", "Cell Behavior"),
                ("GN", "Genomics"),
                ("MN", "Molecular Networks"),
                ("NC", "Neurons and Cognition"),
                ("OT", "Other Quantitative Biology"),
                ("PE", "Populations and Evolution"),
                ("QM", "Quantitative Methods"),
                ("SC", "Subcellular Processes"),
                ("TO", "Tissues and Organs"),
            ],
        ),
        (
            "q-fin",
            "Quantitative Finance",
            &[
                ("CP", "Computational Finance"),
                ("EC", "Economics"),
                ("GN", "General Finance"),
                ("MF", "Mathematical Finance"),
                ("PM", "Portfolio Management"),
                ("PR", "Pricing of Securities"),
                ("RM", "Risk Management"),
                ("ST", "Statistical Finance"),
                ("TR", "Trading and Market Microstructure"),
            ],
        ),
        (
            "astro-ph",
            "Astrophysics",
            &[
                ("CO", "Cosmology and Nongalactic Astrophysics"),
                ("EP", "Earth and Planetary Astrophysics"),
                ("GA", "Astrophysics of Galaxies"),
                ("HE", "High Energy Astrophysical Phenomena"),
                ("IM", "Instrumentation and Methods for Astrophysics"),
                ("SR", "Solar and Stellar Astrophysics"),
            ],
        ),
        (
            "cond-mat",
            "Condensed Matter",
            &[
                ("dis-nn", "Disordered Systems and Neural Networks"),
                ("mes-hall", "Mesoscale and Nanoscale Physics"),
                ("mtrl-sci", "Materials Science"),
                ("other", "Other Condensed Matter"),
                ("quant-gas", "Quantum Gases"),
                ("soft", "Soft Condensed Matter"),
                ("stat-mech", "Statistical Mechanics"),
                ("str-el", "Strongly Correlated Electrons"),
                ("supr-con", "Superconductivity"),
            ],
        ),
        (
            "nlin",
            "Nonlinear Sciences",
            &[
                ("AO", "Adaptation and Self-Organizing Systems"),
                ("CD", "Chaotic Dynamics"),
                ("CG", "Cellular Automata and Lattice Gases"),
                ("PS", "Pattern Formation and Solitons"),
                ("SI", "Exactly Solvable and Integrable Systems"),
            ],
        ),
        (
            "physics",
            "Physics",
            &[
                ("acc-ph", "Accelerator Physics"),
                ("ao-ph", "Atmospheric and Oceanic Physics"),
                ("app-ph", "Applied Physics"),
                ("atm-clus", "Atomic and Molecular Clusters"),
                ("atom-ph", "Atomic Physics"),
                ("bio-ph", "Biological Physics"),
                ("chem-ph", "Chemical Physics"),
                ("class-ph", "Classical Physics"),
                ("comp-ph", "Computational Physics"),
                ("data-an", "Data Analysis, Statistics and Probability"),
                ("ed-ph", "Physics Education"),
                ("flu-dyn", "Fluid Dynamics"),
                ("gen-ph", "General Physics"),
                ("geo-ph", "Geophysics"),
                ("hist-ph", "History and Philosophy of Physics"),
                ("ins-det", "Instrumentation and Detectors"),
                ("med-ph", "Medical Physics"),
                ("optics", "Optics"),
                ("plasm-ph", "Plasma Physics"),
                ("pop-ph", "Popular Physics"),
                ("soc-ph", "Physics and Society"),
                ("space-ph", "Space Physics"),
            ],
        ),
    ];

    fn same(a: &str, b: &str) -> bool {
        a.split_whitespace()
            .map(str::to_ascii_lowercase)
            .eq(b.split_whitespace().map(str::to_ascii_lowercase))
    }

    /// The category code for a subject name such as `"Computer Science - Computation and
    /// Language"` (`cs.CL`) or `"Quantum Physics"` (`quant-ph`).
    pub(super) fn code_for_name(name: &str) -> Option<String> {
        if let Some((code, _)) = STANDALONE.iter().find(|(_, n)| same(n, name)) {
            return Some((*code).to_string());
        }
        let (group, subject) = name.split_once(" - ")?;
        let (archive, _, subjects) = ARCHIVES.iter().find(|(_, n, _)| same(n, group))?;
        let (code, _) = subjects.iter().find(|(_, n)| same(n, subject))?;
        Some(format!("{archive}.{code}"))
    }

    /// True for archives such as `hep-th` that are a category by themselves.
    pub(super) fn is_standalone_archive(archive: &str) -> bool {
        STANDALONE.iter().any(|(code, _)| *code == archive)
    }
}

/// Small helpers over `roxmltree` shared by the XML parsers of this crate.
pub(crate) mod xml {
    use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
    use roxmltree::{Document, Node, ParsingOptions};

    use crate::IngestError;

    /// Parses a document. DTDs are refused (no entity expansion from untrusted input).
    pub(crate) fn parse<'a>(
        body: &'a str,
        what: &'static str,
    ) -> Result<Document<'a>, IngestError> {
        let options = ParsingOptions {
            allow_dtd: false,
            ..ParsingOptions::default()
        };
        Document::parse_with_options(body, options)
            .map_err(|source| IngestError::Xml { what, source })
    }

    /// True for an element with this local name in namespace `ns`, or in no namespace at all
    /// (some producers drop the `xmlns`; a different namespace is a different element).
    pub(crate) fn is(node: Node<'_, '_>, ns: &str, name: &str) -> bool {
        node.is_element()
            && node.tag_name().name() == name
            && node.tag_name().namespace().is_none_or(|n| n == ns)
    }

    /// The element children named `name`.
    pub(crate) fn children<'a, 'input: 'a>(
        node: Node<'a, 'input>,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
        node.children().filter(move |n| is(*n, ns, name))
    }

    /// The first element child named `name`.
    pub(crate) fn child<'a, 'input>(
        node: Node<'a, 'input>,
        ns: &str,
        name: &str,
    ) -> Option<Node<'a, 'input>> {
        node.children().find(|n| is(*n, ns, name))
    }

    /// All text inside a node, trimmed.
    pub(crate) fn text(node: Node<'_, '_>) -> String {
        let mut out = String::new();
        for t in node.descendants().filter(Node::is_text) {
            out.push_str(t.text().unwrap_or_default());
        }
        out.trim().to_string()
    }

    /// The text of the first child named `name`, `None` if absent or blank.
    pub(crate) fn child_text(node: Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
        child(node, ns, name).map(text).filter(|s| !s.is_empty())
    }

    /// `2017-12-14` (or a full timestamp, of which the day is kept).
    pub(crate) fn parse_day(s: &str) -> Result<NaiveDate, String> {
        let s = s.trim();
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .or_else(|_| parse_timestamp(s).map(|t| t.date_naive()))
            .map_err(|_| format!("invalid date {:?}", truncate(s)))
    }

    /// An RFC 3339 timestamp, `2017-12-14T13:00:41Z`.
    pub(crate) fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("invalid date {:?}", truncate(s.trim())))
    }

    /// An RFC 2822 / HTTP date, `Tue, 3 Apr 2007 22:04:11 GMT`.
    pub(crate) fn parse_http_date(s: &str) -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc2822(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("invalid date {:?}", truncate(s.trim())))
    }

    /// Midnight UTC of a day, for sources that give days only.
    pub(crate) fn day_start(day: NaiveDate) -> DateTime<Utc> {
        day.and_time(NaiveTime::MIN).and_utc()
    }

    fn truncate(s: &str) -> String {
        s.chars().take(60).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> OaiPage {
        match parse_response(body).expect("parses") {
            OaiResponse::Page(p) => p,
            other => panic!("expected a page, got {other:?}"),
        }
    }

    fn envelope(records: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2024-01-27T17:53:42Z</responseDate>
<request verb="ListRecords" metadataPrefix="arXivRaw">http://export.arxiv.org/oai2</request>
<ListRecords>{records}</ListRecords>
</OAI-PMH>"#
        )
    }

    #[test]
    fn error_codes_round_trip() {
        for code in [
            "badArgument",
            "badResumptionToken",
            "badVerb",
            "cannotDisseminateFormat",
            "idDoesNotExist",
            "noRecordsMatch",
            "noMetadataFormats",
            "noSetHierarchy",
            "somethingElse",
        ] {
            let parsed = OaiErrorCode::parse(code);
            assert_eq!(parsed.as_str(), code);
            assert_eq!(
                matches!(parsed, OaiErrorCode::Other(_)),
                code == "somethingElse"
            );
        }
    }

    #[test]
    fn every_spec_error_code_is_typed() {
        let cases = [
            ("badArgument", OaiErrorCode::BadArgument),
            ("badResumptionToken", OaiErrorCode::BadResumptionToken),
            ("badVerb", OaiErrorCode::BadVerb),
            (
                "cannotDisseminateFormat",
                OaiErrorCode::CannotDisseminateFormat,
            ),
            ("idDoesNotExist", OaiErrorCode::IdDoesNotExist),
            ("noMetadataFormats", OaiErrorCode::NoMetadataFormats),
            ("noSetHierarchy", OaiErrorCode::NoSetHierarchy),
        ];
        for (code, want) in cases {
            let body = format!(
                r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate><error code="{code}">why</error></OAI-PMH>"#
            );
            match parse_response(&body) {
                Err(IngestError::Oai { code, message }) => {
                    assert_eq!(code, want);
                    assert_eq!(message, "why");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn empty_resumption_token_ends_the_list() {
        let body = envelope(r#"<resumptionToken completeListSize="58011" cursor="58000"/>"#);
        assert_eq!(page(&body).resumption, None);
        let body = envelope(
            r#"<resumptionToken expirationDate="2024-01-28T17:53:42Z" cursor="1001"> 6960524|2002 </resumptionToken>"#,
        );
        let token = page(&body).resumption.expect("token");
        assert_eq!(token.token, "6960524|2002");
        assert_eq!(token.cursor, Some(1001));
        assert_eq!(token.complete_list_size, None);
        assert_eq!(
            token.expiration_date.map(|d| d.to_rfc3339()),
            Some("2024-01-28T17:53:42+00:00".to_string())
        );
    }

    #[test]
    fn subject_names_map_to_codes() {
        let cases = [
            ("Computer Science - Computation and Language", Some("cs.CL")),
            ("Computer Science - Learning", Some("cs.LG")),
            ("Mathematics - Numerical Analysis", Some("math.NA")),
            ("Quantum Physics", Some("quant-ph")),
            ("High Energy Physics - Theory", Some("hep-th")),
            (
                "Condensed Matter - Strongly Correlated Electrons",
                Some("cond-mat.str-el"),
            ),
            (
                "Physics - Data Analysis, Statistics and Probability",
                Some("physics.data-an"),
            ),
            ("Economics - Theoretical Economics", Some("econ.TH")),
            (
                "computer science -  data structures and algorithms",
                Some("cs.DS"),
            ),
            ("Computer Science - Underwater Basket Weaving", None),
            ("Astrology", None),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(taxonomy::code_for_name(name).as_deref(), want, "{name:?}");
        }
        // Every code in the table is a valid category.
        for (archive, _, subjects) in taxonomy::ARCHIVES {
            for (code, name) in *subjects {
                assert!(
                    Category::parse(&format!("{archive}.{code}")).is_ok(),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn creators_are_family_comma_given() {
        let cases = [
            ("Liepins, Vilnis", "Vilnis Liepins"),
            ("La Mura, Pierfrancesco", "Pierfrancesco La Mura"),
            ("Evans, Neal J., II", "Neal J. Evans II"),
            ("The ATLAS Collaboration", "The ATLAS Collaboration"),
            ("Bal\\'azs, C.", "C. Balázs"),
        ];
        for (input, want) in cases {
            assert_eq!(dc_creator(input).name, want);
        }
    }

    #[test]
    fn mismatched_metadata_id_is_a_bad_record() {
        let body = envelope(
            r#"<record><header><identifier>oai:arXiv.org:0704.0471</identifier><datestamp>2014-11-18</datestamp></header>
<metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>0704.0472</id><title>T</title></arXivRaw></metadata></record>"#,
        );
        let p = page(&body);
        let bad = p.records[0].as_ref().expect_err("bad");
        assert!(bad.reason.contains("differ"), "{}", bad.reason);
        assert_eq!(p.datestamps[0], NaiveDate::from_ymd_opt(2014, 11, 18));
    }

    #[test]
    fn unknown_metadata_format_is_a_bad_record() {
        let body = envelope(
            r#"<record><header><identifier>oai:arXiv.org:0704.0471</identifier><datestamp>2014-11-18</datestamp></header>
<metadata><marc xmlns="http://www.loc.gov/MARC21/slim"><leader/></marc></metadata></record>"#,
        );
        let bad = page(&body).records.remove(0).expect_err("bad");
        assert!(
            bad.reason.contains("unsupported metadata format <marc>"),
            "{}",
            bad.reason
        );
    }

    #[test]
    fn not_oai_is_rejected() {
        assert!(matches!(
            parse_response("<html><body>503</body></html>"),
            Err(IngestError::UnexpectedDocument { .. })
        ));
        assert!(matches!(
            parse_response("<OAI-PMH"),
            Err(IngestError::Xml { .. })
        ));
        assert!(matches!(
            parse_response(
                r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><Identify/></OAI-PMH>"#
            ),
            Err(IngestError::UnexpectedDocument { .. })
        ));
    }

    #[test]
    fn a_dtd_is_refused() {
        let body = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"/>"#;
        assert!(matches!(parse_response(body), Err(IngestError::Xml { .. })));
    }

    #[test]
    fn metadata_formats_parse() {
        for f in [
            MetadataFormat::Arxiv,
            MetadataFormat::ArxivRaw,
            MetadataFormat::OaiDc,
        ] {
            assert_eq!(f.prefix().parse::<MetadataFormat>().ok(), Some(f));
        }
        assert!("marc".parse::<MetadataFormat>().is_err());
        assert_eq!(MetadataFormat::default(), MetadataFormat::ArxivRaw);
    }

    #[test]
    fn days_and_dates() {
        assert_eq!(
            xml::parse_day("2017-12-14"),
            Ok(NaiveDate::from_ymd_opt(2017, 12, 14).unwrap())
        );
        assert_eq!(
            xml::parse_day("2017-12-14T13:00:41Z"),
            Ok(NaiveDate::from_ymd_opt(2017, 12, 14).unwrap())
        );
        for bad in ["2025-02-30", "2017-13-01", "yesterday", ""] {
            assert!(xml::parse_day(bad).is_err(), "{bad}");
        }
        assert_eq!(
            xml::parse_http_date("Tue, 3 Apr 2007 22:04:11 GMT").map(|d| d.to_rfc3339()),
            Ok("2007-04-03T22:04:11+00:00".to_string())
        );
        assert!(xml::parse_http_date("Tue, 31 Apr 2007 22:04:11 GMT").is_err());
    }
}
