//! Vectors on disk: one folder per model, `vectors/<hash of the model key>/`, holding
//!
//! - `vectors.bin`: a snapshot of the [`VectorSet`] (a JSON header with the model key and
//!   identity, then every slot's id and liveness, then the vectors in the set's layout),
//!   written to a temporary file and renamed, so it is always whole;
//! - `journal.bin`: the upserts and deletions since that snapshot, appended (and flushed)
//!   before the caller records them anywhere else, so the folder never lags behind SQLite's
//!   embeddings table; a torn last record (a crash mid-write) is dropped on load;
//! - `graph/`: the HNSW graph and `graph.json` (which slot numbering and slot count it was
//!   built over), replaced as a whole.
//!
//! Every file names the model key; opening the folder with another model is a
//! [`SearchError::ModelMismatch`], never a silent mix of vector spaces.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use paperfeed_core::ArxivId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ann;
use super::flat::Flat;
use super::{AnnParams, HnswIndex, SlotTag, VectorLayout, VectorSet};
use crate::SearchError;
use crate::embed::ModelIdentity;

/// The snapshot file.
pub const VECTORS_FILE: &str = "vectors.bin";
/// The journal of changes since the snapshot.
pub const JOURNAL_FILE: &str = "journal.bin";
/// The graph folder.
pub const GRAPH_DIR: &str = "graph";
/// What the graph was built over, inside [`GRAPH_DIR`].
const GRAPH_META: &str = "graph.json";

const SNAPSHOT_MAGIC: &[u8; 8] = b"PFVECS01";
const SNAPSHOT_END: &[u8; 8] = b"PFVEND01";
const JOURNAL_MAGIC: &[u8; 8] = b"PFJRNL01";
const FORMAT: u32 = 1;
const UPSERT: u8 = b'U';
const DELETE: u8 = b'D';

/// The folder of `model_key`'s vectors under `root` (the data dir's `vectors/`).
pub fn model_dir(root: &Path, model_key: &str) -> PathBuf {
    let digest = Sha256::digest(model_key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    root.join(hex)
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    model_key: String,
    identity: ModelIdentity,
    layout: VectorLayout,
    dims: usize,
    slots: usize,
    numbering: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct JournalHeader {
    format: u32,
    model_key: String,
    dims: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct GraphMeta {
    /// [`ann::FORMAT`] of the graph; graphs written before it was recorded are 1.
    #[serde(default = "first_graph_format")]
    format: u32,
    numbering: u64,
    built_slots: u32,
    points: usize,
}

fn first_graph_format() -> u32 {
    1
}

/// What [`VectorDir::load`] found.
#[derive(Debug)]
pub struct Loaded {
    /// The vectors (tags unknown: the caller sets them).
    pub set: VectorSet,
    /// The saved graph, when it still fits the vectors.
    pub ann: Option<HnswIndex>,
    /// Journal records replayed on top of the snapshot.
    pub replayed: usize,
}

/// One model's vector folder.
#[derive(Debug)]
pub struct VectorDir {
    dir: PathBuf,
    model_key: String,
    dims: usize,
    journal: Mutex<Option<BufWriter<File>>>,
    saved_graph: Mutex<Option<(u64, u32)>>,
}

impl VectorDir {
    /// The folder for `identity`'s vectors under `root` (nothing is read or created yet).
    pub fn new(root: &Path, identity: &ModelIdentity) -> Self {
        let model_key = identity.key();
        VectorDir {
            dir: model_dir(root, &model_key),
            model_key,
            dims: identity.dimensions,
            journal: Mutex::new(None),
            saved_graph: Mutex::new(None),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Loads the snapshot, the journal and the graph. `Ok(None)` when nothing was saved.
    pub fn load(
        &self,
        identity: &ModelIdentity,
        layout: VectorLayout,
        params: AnnParams,
    ) -> Result<Option<Loaded>, SearchError> {
        let snapshot = self.dir.join(VECTORS_FILE);
        let journal = self.dir.join(JOURNAL_FILE);
        if !snapshot.exists() && !journal.exists() {
            return Ok(None);
        }
        let mut set = if snapshot.exists() {
            read_snapshot(&snapshot, identity)?
        } else {
            VectorSet::new(identity, layout)
        };
        if set.layout() != layout {
            set = relayout(&set, layout)?;
        }
        let ann = self.load_graph(&set, params);
        let replayed = if journal.exists() {
            self.replay(&journal, &mut set)?
        } else {
            0
        };
        if let Some(ann) = &ann {
            *lock(&self.saved_graph) = Some((ann.numbering(), ann.built_slots()));
        }
        Ok(Some(Loaded { set, ann, replayed }))
    }

    fn load_graph(&self, set: &VectorSet, params: AnnParams) -> Option<HnswIndex> {
        let gdir = self.dir.join(GRAPH_DIR);
        let meta: GraphMeta =
            serde_json::from_slice(&fs::read(gdir.join(GRAPH_META)).ok()?).ok()?;
        if meta.numbering != set.numbering() || meta.built_slots as usize > set.slots() {
            return None;
        }
        if meta.format != ann::FORMAT {
            tracing::info!(dir = %gdir.display(), format = meta.format, "HNSW graph of an older layout; it will be rebuilt");
            return None;
        }
        match HnswIndex::load(&gdir, meta.built_slots, meta.numbering, set.dims(), params) {
            Ok(ann) if ann.points() == meta.points => Some(ann),
            Ok(_) => {
                tracing::warn!(dir = %gdir.display(), "HNSW graph does not match its record; it will be rebuilt");
                None
            }
            Err(e) => {
                tracing::warn!(dir = %gdir.display(), error = %e, "cannot load the HNSW graph; it will be rebuilt");
                None
            }
        }
    }

    /// Writes a snapshot of `set` (and `ann` if it is not saved yet), then empties the
    /// journal.
    pub fn save(&self, set: &VectorSet, ann: Option<&HnswIndex>) -> Result<(), SearchError> {
        set.check_model_key(&self.model_key)?;
        fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        write_snapshot(&self.dir.join(VECTORS_FILE), set)?;
        let gdir = self.dir.join(GRAPH_DIR);
        match ann.filter(|a| a.fits(set)) {
            Some(ann) => {
                let stamp = (ann.numbering(), ann.built_slots());
                let mut saved = lock(&self.saved_graph);
                if *saved != Some(stamp) || !gdir.exists() {
                    let tmp = self.dir.join("graph.tmp");
                    remove_dir(&tmp)?;
                    ann.save(&tmp)?;
                    let meta = GraphMeta {
                        format: ann::FORMAT,
                        numbering: ann.numbering(),
                        built_slots: ann.built_slots(),
                        points: ann.points(),
                    };
                    let json =
                        serde_json::to_vec(&meta).map_err(|e| SearchError::Index(e.to_string()))?;
                    fs::write(tmp.join(GRAPH_META), json).map_err(|e| io(&tmp, e))?;
                    remove_dir(&gdir)?;
                    fs::rename(&tmp, &gdir).map_err(|e| io(&gdir, e))?;
                    *saved = Some(stamp);
                }
            }
            None => {
                // A graph of an older numbering would be refused on load anyway.
                let stale = fs::read(gdir.join(GRAPH_META))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<GraphMeta>(&b).ok())
                    .is_none_or(|m| m.numbering != set.numbering());
                if stale {
                    remove_dir(&gdir)?;
                    *lock(&self.saved_graph) = None;
                }
            }
        }
        self.reset_journal()
    }

    /// Appends upserts to the journal and flushes it.
    pub fn append_upserts(&self, vectors: &[(ArxivId, Vec<f32>)]) -> Result<(), SearchError> {
        self.append(|w| {
            for (id, v) in vectors {
                write_record_head(w, UPSERT, id)?;
                for x in v {
                    w.write_all(&x.to_le_bytes())?;
                }
            }
            Ok(())
        })
    }

    /// Appends deletions to the journal and flushes it.
    pub fn append_deletes(&self, ids: &[ArxivId]) -> Result<(), SearchError> {
        self.append(|w| {
            for id in ids {
                write_record_head(w, DELETE, id)?;
            }
            Ok(())
        })
    }

    fn append(
        &self,
        write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), SearchError> {
        let path = self.dir.join(JOURNAL_FILE);
        let mut guard = lock(&self.journal);
        if guard.is_none() {
            *guard = Some(self.open_journal()?);
        }
        let Some(w) = guard.as_mut() else {
            return Err(SearchError::Index("journal is not open".into()));
        };
        let result = write(w).and_then(|()| w.flush());
        if let Err(e) = result {
            // Reopen next time: the file may end in a torn record, which load drops.
            *guard = None;
            return Err(io(&path, e));
        }
        Ok(())
    }

    /// Opens the journal for appending, creating it with a header or cutting a torn tail.
    fn open_journal(&self) -> Result<BufWriter<File>, SearchError> {
        fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let path = self.dir.join(JOURNAL_FILE);
        let valid_len = if path.exists() {
            let bytes = fs::read(&path).map_err(|e| io(&path, e))?;
            let (_, end) = parse_journal(&bytes, &self.model_key, self.dims, &path)?;
            Some(end as u64)
        } else {
            None
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        match valid_len {
            Some(len) => {
                file.set_len(len).map_err(|e| io(&path, e))?;
                file.seek(SeekFrom::End(0)).map_err(|e| io(&path, e))?;
            }
            None => {
                let header = journal_header(&self.model_key, self.dims)?;
                file.write_all(&header).map_err(|e| io(&path, e))?;
            }
        }
        Ok(BufWriter::with_capacity(1 << 16, file))
    }

    fn reset_journal(&self) -> Result<(), SearchError> {
        let path = self.dir.join(JOURNAL_FILE);
        let mut guard = lock(&self.journal);
        *guard = None;
        let tmp = self.dir.join("journal.tmp");
        fs::write(&tmp, journal_header(&self.model_key, self.dims)?).map_err(|e| io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        Ok(())
    }

    fn replay(&self, path: &Path, set: &mut VectorSet) -> Result<usize, SearchError> {
        let bytes = fs::read(path).map_err(|e| io(path, e))?;
        let (records, _) = parse_journal(&bytes, &self.model_key, self.dims, path)?;
        let n = records.len();
        for record in records {
            match record {
                Record::Upsert(id, v) => {
                    set.upsert(id, &v, SlotTag::default())?;
                }
                Record::Delete(id) => {
                    set.remove(&id);
                }
            }
        }
        Ok(n)
    }

    /// Removes the folder (the model's vectors are no longer wanted).
    pub fn remove(&self) -> Result<(), SearchError> {
        *lock(&self.journal) = None;
        remove_dir(&self.dir)
    }
}

impl VectorSet {
    fn check_model_key(&self, key: &str) -> Result<(), SearchError> {
        if self.model_key() == key {
            Ok(())
        } else {
            Err(SearchError::ModelMismatch {
                expected: key.to_string(),
                actual: self.model_key().to_string(),
            })
        }
    }
}

/// Removes every model folder under `root` except `keep`'s; returns how many went.
pub fn remove_other_models(root: &Path, keep: &ModelIdentity) -> Result<usize, SearchError> {
    let keep_dir = model_dir(root, &keep.key());
    let Ok(entries) = fs::read_dir(root) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry.map_err(|e| io(root, e))?.path();
        if path.is_dir() && path != keep_dir && path.join(VECTORS_FILE).exists()
            || path.is_dir() && path != keep_dir && path.join(JOURNAL_FILE).exists()
        {
            remove_dir(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

enum Record {
    Upsert(ArxivId, Vec<f32>),
    Delete(ArxivId),
}

fn journal_header(model_key: &str, dims: usize) -> Result<Vec<u8>, SearchError> {
    let json = serde_json::to_vec(&JournalHeader {
        format: FORMAT,
        model_key: model_key.to_string(),
        dims,
    })
    .map_err(|e| SearchError::Index(e.to_string()))?;
    let mut out = Vec::with_capacity(json.len() + 12);
    out.extend_from_slice(JOURNAL_MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

fn write_record_head(w: &mut impl Write, kind: u8, id: &ArxivId) -> std::io::Result<()> {
    let id = id.as_str().as_bytes();
    let len = u8::try_from(id.len()).map_err(|_| std::io::Error::other("id too long"))?;
    w.write_all(&[kind, len])?;
    w.write_all(id)
}

/// The journal's complete records and the byte length they end at.
fn parse_journal(
    bytes: &[u8],
    model_key: &str,
    dims: usize,
    path: &Path,
) -> Result<(Vec<Record>, usize), SearchError> {
    let mut r = Reader::new(bytes, path);
    if r.take(8)? != JOURNAL_MAGIC {
        return Err(r.bad("not a paperfeed vector journal"));
    }
    let len = r.u32()? as usize;
    let header: JournalHeader =
        serde_json::from_slice(r.take(len)?).map_err(|e| r.bad(&format!("header: {e}")))?;
    if header.model_key != model_key {
        return Err(SearchError::ModelMismatch {
            expected: header.model_key,
            actual: model_key.to_string(),
        });
    }
    if header.dims != dims || header.format != FORMAT {
        return Err(r.bad("journal of another format or dimension count"));
    }
    let mut records = Vec::new();
    let mut end = r.pos;
    // A record that does not fit is a torn write: stop there.
    while let Some(record) = r.record(dims) {
        records.push(record?);
        end = r.pos;
    }
    Ok((records, end))
}

fn write_snapshot(path: &Path, set: &VectorSet) -> Result<(), SearchError> {
    let tmp = path.with_extension("bin.tmp");
    let header = serde_json::to_vec(&Header {
        format: FORMAT,
        model_key: set.model_key().to_string(),
        identity: set.identity().clone(),
        layout: set.layout(),
        dims: set.dims(),
        slots: set.slots(),
        numbering: set.numbering(),
    })
    .map_err(|e| SearchError::Index(e.to_string()))?;
    let write = || -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        w.write_all(SNAPSHOT_MAGIC)?;
        w.write_all(&(header.len() as u32).to_le_bytes())?;
        w.write_all(&header)?;
        let alive = set.alive_flags();
        for (slot, &is_alive) in alive.iter().enumerate().take(set.slots()) {
            let id = set.id(slot as u32).map_or("", |i| i.as_str()).as_bytes();
            let len = u8::try_from(id.len()).map_err(|_| std::io::Error::other("id too long"))?;
            w.write_all(&[u8::from(is_alive), len])?;
            w.write_all(id)?;
        }
        match set.flat() {
            Flat::F32(data) => {
                for x in data {
                    w.write_all(&x.to_le_bytes())?;
                }
            }
            Flat::I8 { codes, scales } => {
                let bytes: Vec<u8> = codes.iter().map(|&c| c as u8).collect();
                w.write_all(&bytes)?;
                for s in scales {
                    w.write_all(&s.to_le_bytes())?;
                }
            }
        }
        w.write_all(SNAPSHOT_END)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    };
    write().map_err(|e| io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn read_snapshot(path: &Path, identity: &ModelIdentity) -> Result<VectorSet, SearchError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io(path, e))?;
    let mut r = Reader::new(&bytes, path);
    if r.take(8)? != SNAPSHOT_MAGIC {
        return Err(r.bad("not a paperfeed vector file"));
    }
    let len = r.u32()? as usize;
    let header: Header =
        serde_json::from_slice(r.take(len)?).map_err(|e| r.bad(&format!("header: {e}")))?;
    let key = identity.key();
    if header.model_key != key {
        return Err(SearchError::ModelMismatch {
            expected: header.model_key,
            actual: key,
        });
    }
    if header.format != FORMAT || header.dims != identity.dimensions {
        return Err(r.bad("vector file of another format or dimension count"));
    }
    let slots = header.slots;
    let dims = header.dims;
    let mut ids = Vec::with_capacity(slots);
    let mut alive = Vec::with_capacity(slots);
    for _ in 0..slots {
        let flag = r.u8()?;
        let n = r.u8()? as usize;
        let text = std::str::from_utf8(r.take(n)?).map_err(|_| r.bad("id is not UTF-8"))?;
        let id = ArxivId::parse(text).map_err(|e| r.bad(&format!("id {text:?}: {e}")))?;
        ids.push(id);
        alive.push(flag == 1);
    }
    let values = slots
        .checked_mul(dims)
        .ok_or_else(|| r.bad("size overflow"))?;
    let flat = match header.layout {
        VectorLayout::F32 => {
            let raw = r.take(
                values
                    .checked_mul(4)
                    .ok_or_else(|| r.bad("size overflow"))?,
            )?;
            Flat::F32(
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            )
        }
        VectorLayout::Int8 => {
            let codes = r.take(values)?.iter().map(|&b| b as i8).collect();
            let raw = r.take(slots * 4)?;
            let scales = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Flat::I8 { codes, scales }
        }
    };
    if r.take(8)? != SNAPSHOT_END || r.pos != bytes.len() {
        return Err(r.bad("truncated or trailing data"));
    }
    VectorSet::from_parts(identity, ids, alive, flat, header.numbering)
}

/// The same vectors in another layout (slots kept, so a graph still fits).
fn relayout(set: &VectorSet, layout: VectorLayout) -> Result<VectorSet, SearchError> {
    let dims = set.dims();
    let mut flat = Flat::new(layout);
    flat.reserve(set.slots(), dims);
    for slot in 0..set.slots() {
        flat.push_from(set.flat(), slot, dims);
    }
    let ids = (0..set.slots())
        .map(|s| {
            set.id(s as u32)
                .cloned()
                .ok_or_else(|| SearchError::Index("slot without id".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    VectorSet::from_parts(
        set.identity(),
        ids,
        set.alive_flags().to_vec(),
        flat,
        set.numbering(),
    )
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], path: &'a Path) -> Self {
        Reader {
            bytes,
            pos: 0,
            path,
        }
    }

    fn bad(&self, message: &str) -> SearchError {
        SearchError::Index(format!(
            "{}: {message} (at byte {})",
            self.path.display(),
            self.pos
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SearchError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.bad("unexpected end of file")),
        }
    }

    fn u8(&mut self) -> Result<u8, SearchError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, SearchError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The next journal record; `None` at the end or at a torn record (position unchanged).
    fn record(&mut self, dims: usize) -> Option<Result<Record, SearchError>> {
        let start = self.pos;
        let parsed = (|| -> Result<Record, SearchError> {
            let kind = self.u8()?;
            let n = self.u8()? as usize;
            let text =
                std::str::from_utf8(self.take(n)?).map_err(|_| self.bad("id is not UTF-8"))?;
            let id = ArxivId::parse(text).map_err(|e| self.bad(&format!("id {text:?}: {e}")))?;
            match kind {
                UPSERT => {
                    let raw = self.take(dims * 4)?;
                    let v = raw
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    Ok(Record::Upsert(id, v))
                }
                DELETE => Ok(Record::Delete(id)),
                _ => Err(self.bad("unknown record kind")),
            }
        })();
        match parsed {
            Ok(r) => Some(Ok(r)),
            Err(_) if start == self.bytes.len() => {
                self.pos = start;
                None
            }
            Err(_) => {
                // Torn or garbled tail: everything before it stands.
                tracing::warn!(path = %self.path.display(), at = start, "vector journal ends in a torn record; dropping it");
                self.pos = start;
                None
            }
        }
    }
}

fn remove_dir(dir: &Path) -> Result<(), SearchError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(dir, e)),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn io(path: &Path, source: std::io::Error) -> SearchError {
    SearchError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str) -> ModelIdentity {
        ModelIdentity {
            name: name.into(),
            weights_sha256: "0123456789abcdef".into(),
            dimensions: 4,
            max_tokens: 8,
            pooling: "mean+l2".into(),
        }
    }

    fn id(n: u32) -> ArxivId {
        ArxivId::parse(&format!("2401.{n:05}")).unwrap()
    }

    fn v(n: u32) -> Vec<f32> {
        vec![n as f32, 1.0, -0.5, 0.25]
    }

    #[test]
    fn snapshot_and_journal_round_trip_in_both_layouts() {
        for layout in [VectorLayout::F32, VectorLayout::Int8] {
            let root = tempfile::tempdir().unwrap();
            let model = identity("a");
            let dir = VectorDir::new(root.path(), &model);
            let mut set = VectorSet::new(&model, layout);
            for n in 0..5 {
                set.upsert(id(n), &v(n), SlotTag::default()).unwrap();
            }
            set.remove(&id(2));
            dir.save(&set, None).unwrap();
            // After the snapshot: journaled changes.
            dir.append_upserts(&[(id(7), v(7)), (id(1), v(11))])
                .unwrap();
            dir.append_deletes(&[id(3)]).unwrap();
            let loaded = dir
                .load(&model, layout, AnnParams::default())
                .unwrap()
                .unwrap();
            assert_eq!(loaded.replayed, 3);
            let got = loaded.set;
            assert_eq!(got.len(), 4, "{layout}");
            assert_eq!(got.vector(&id(2)), None);
            assert_eq!(got.vector(&id(3)), None);
            let close =
                |a: Vec<f32>, b: Vec<f32>| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 0.1);
            assert!(close(got.vector(&id(1)).unwrap(), v(11)));
            assert!(close(got.vector(&id(7)).unwrap(), v(7)));
            assert!(close(got.vector(&id(4)).unwrap(), v(4)));
        }
    }

    #[test]
    fn a_torn_journal_tail_is_dropped_and_appending_continues() {
        let root = tempfile::tempdir().unwrap();
        let model = identity("a");
        let dir = VectorDir::new(root.path(), &model);
        dir.append_upserts(&[(id(1), v(1))]).unwrap();
        drop(dir);
        let path = model_dir(root.path(), &model.key()).join(JOURNAL_FILE);
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(&[UPSERT, 10, b'2', b'4']); // a record cut short
        fs::write(&path, &bytes).unwrap();
        let dir = VectorDir::new(root.path(), &model);
        dir.append_upserts(&[(id(2), v(2))]).unwrap();
        let loaded = dir
            .load(&model, VectorLayout::F32, AnnParams::default())
            .unwrap()
            .unwrap();
        assert_eq!(loaded.replayed, 2);
        assert_eq!(loaded.set.vector(&id(2)), Some(v(2)));
    }

    #[test]
    fn another_model_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let a = identity("a");
        let b = identity("b");
        let dir = VectorDir::new(root.path(), &a);
        let mut set = VectorSet::new(&a, VectorLayout::F32);
        set.upsert(id(1), &v(1), SlotTag::default()).unwrap();
        dir.save(&set, None).unwrap();
        // Someone copied a's folder to where b's belongs.
        let b_dir = model_dir(root.path(), &b.key());
        fs::create_dir_all(&b_dir).unwrap();
        fs::copy(dir.path().join(VECTORS_FILE), b_dir.join(VECTORS_FILE)).unwrap();
        let err = VectorDir::new(root.path(), &b)
            .load(&b, VectorLayout::F32, AnnParams::default())
            .unwrap_err();
        assert!(matches!(err, SearchError::ModelMismatch { .. }), "{err}");
        // Saving b's set into a's folder is refused too.
        let other = VectorSet::new(&b, VectorLayout::F32);
        assert!(matches!(
            dir.save(&other, None),
            Err(SearchError::ModelMismatch { .. })
        ));
        assert_eq!(remove_other_models(root.path(), &a).unwrap(), 1);
        assert!(dir.path().exists() && !b_dir.exists());
    }

    #[test]
    fn garbage_files_are_errors() {
        let root = tempfile::tempdir().unwrap();
        let model = identity("a");
        let dir = VectorDir::new(root.path(), &model);
        fs::create_dir_all(dir.path()).unwrap();
        fs::write(dir.path().join(VECTORS_FILE), b"PFVECS01\xff\xff\xff\xff").unwrap();
        assert!(
            dir.load(&model, VectorLayout::F32, AnnParams::default())
                .is_err()
        );
        fs::write(dir.path().join(VECTORS_FILE), b"nonsense").unwrap();
        assert!(
            dir.load(&model, VectorLayout::F32, AnnParams::default())
                .is_err()
        );
    }
}
