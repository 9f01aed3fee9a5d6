//! Opening an input file (or standard input) for streaming, with transparent decompression
//! and a progress counter.
//!
//! The real Kaggle snapshot is about 4 GB in 2.7M lines, so nothing here loads an input
//! whole: [`Input`] is a [`BufRead`] over the decompressed bytes. Compression is recognised by
//! its magic bytes (`1f 8b` gzip, `28 b5 2f fd` zstd), so a `.zst` saved as `.json`, or
//! compressed data piped into standard input, is still read correctly.
//!
//! [`Progress`] counts the *compressed* bytes taken from the file, which is what can be
//! compared with the file size to draw a progress bar with a rate and an ETA.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::IngestError;

/// Buffer size for the decompressed stream: large enough that line parsing, not `read`
/// calls, dominates.
const BUF_SIZE: usize = 256 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How an input is compressed, as recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (one or more members, as `cat a.gz b.gz` produces).
    Gzip,
    /// Zstandard (one or more frames).
    Zstd,
}

impl Compression {
    /// Recognises the compression from the first bytes of a stream (up to four are looked at).
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }
}

/// How far reading an input has got, shared between the reader and whoever draws progress.
///
/// Clones share the same counter, so one can be handed to a progress-bar thread while the
/// [`Input`] is consumed elsewhere.
#[derive(Debug, Clone)]
pub struct Progress {
    read: Arc<AtomicU64>,
    total: Option<u64>,
}

impl Progress {
    /// Compressed bytes consumed from the underlying file or stream so far. Decompressors
    /// read ahead, so this runs a buffer's length (a few hundred KiB at most) ahead of the
    /// records actually parsed.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Size of the underlying file, when known (not for standard input or pipes).
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// The shared counter itself, for progress-bar code that wants to poll it directly.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }
}

/// Counts the bytes that pass through to the decompressor.
struct CountingReader<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The raw stream with its already-sniffed first bytes put back in front.
type Raw = Chain<Cursor<Vec<u8>>, CountingReader<Box<dyn Read + Send>>>;

/// An opened input: a buffered reader over the decompressed bytes.
pub struct Input {
    name: String,
    compression: Compression,
    progress: Progress,
    reader: Box<dyn BufRead + Send>,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("compression", &self.compression)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

/// Opens `path` for reading, or standard input when `path` is `-`, decompressing gzip and
/// zstd transparently (recognised by magic bytes, whatever the file is called).
///
/// The first bytes are read here, so a missing file, a directory or an unreadable file is
/// reported now as [`IngestError::Io`] rather than on the first read.
pub fn open_input(path: &Path) -> Result<Input, IngestError> {
    if path.as_os_str() == "-" {
        return Input::from_reader("-", io::stdin(), None);
    }
    let name = path.display().to_string();
    let io_err = |source| IngestError::Io {
        path: name.clone(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    let total = meta.is_file().then_some(meta.len());
    Input::from_reader(&name, file, total)
}

impl Input {
    /// Wraps any byte stream (an HTTP body, a test buffer) the way [`open_input`] wraps a
    /// file: sniffs and removes compression and counts progress. `name` is used in errors;
    /// `total` is the stream's compressed length, if known.
    pub fn from_reader<R>(name: &str, reader: R, total: Option<u64>) -> Result<Input, IngestError>
    where
        R: Read + Send + 'static,
    {
        let read = Arc::new(AtomicU64::new(0));
        let mut counting = CountingReader {
            inner: Box::new(reader) as Box<dyn Read + Send>,
            read: Arc::clone(&read),
        };
        let head =
            read_head(&mut counting, ZSTD_MAGIC.len()).map_err(|source| IngestError::Io {
                path: name.to_string(),
                source,
            })?;
        let compression = Compression::sniff(&head);
        let raw: Raw = Cursor::new(head).chain(counting);
        let reader: Box<dyn BufRead + Send> = match compression {
            Compression::None => Box::new(BufReader::with_capacity(BUF_SIZE, raw)),
            Compression::Gzip => Box::new(BufReader::with_capacity(
                BUF_SIZE,
                flate2::read::MultiGzDecoder::new(raw),
            )),
            Compression::Zstd => {
                let decoder =
                    zstd::stream::read::Decoder::new(raw).map_err(|source| IngestError::Io {
                        path: name.to_string(),
                        source,
                    })?;
                Box::new(BufReader::with_capacity(BUF_SIZE, decoder))
            }
        };
        Ok(Input {
            name: name.to_string(),
            compression,
            progress: Progress { read, total },
            reader,
        })
    }

    /// The path as given (`-` for standard input), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compression that was detected.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// A handle on the read progress; clones share the counter.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.reader.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.reader.consume(amt);
    }
}

/// Reads up to `n` bytes, fewer only at end of input. A pipe may deliver one byte per
/// `read`, so a single `read` call is not enough to see a magic number.
fn read_head<R: Read>(reader: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"{\"id\":\"0704.0001\"}\n{\"id\":\"0704.0002\"}\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(mut input: Input) -> Vec<u8> {
        let mut out = Vec::new();
        input.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn sniffs_magic_bytes() {
        let cases: &[(&[u8], Compression)] = &[
            (&[0x1f, 0x8b, 8, 0], Compression::Gzip),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (&[0x28, 0xb5, 0x2f], Compression::None),
            (b"{\"id", Compression::None),
            (b"", Compression::None),
        ];
        for (head, want) in cases {
            assert_eq!(Compression::sniff(head), *want, "{head:?}");
        }
    }

    #[test]
    fn decompresses_by_content_not_name() {
        let zst = zstd::encode_all(TEXT, 3).unwrap();
        let cases = [
            (TEXT.to_vec(), Compression::None),
            (gzip(TEXT), Compression::Gzip),
            (zst, Compression::Zstd),
        ];
        for (bytes, want) in cases {
            let len = bytes.len() as u64;
            let input = Input::from_reader("x.json", Cursor::new(bytes), Some(len)).unwrap();
            assert_eq!(input.compression(), want);
            let progress = input.progress();
            assert_eq!(read_all(input), TEXT, "{want:?}");
            assert_eq!(
                progress.bytes_read(),
                len,
                "{want:?} consumed all compressed bytes"
            );
            assert_eq!(progress.total_bytes(), Some(len));
        }
    }

    #[test]
    fn concatenated_gzip_members_are_all_read() {
        let mut bytes = gzip(b"first\n");
        bytes.extend(gzip(b"second\n"));
        let input = Input::from_reader("cat.gz", Cursor::new(bytes), None).unwrap();
        assert_eq!(read_all(input), b"first\nsecond\n");
    }

    /// A reader that hands out one byte per call, like a slow pipe.
    struct Trickle(Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn magic_split_across_reads_is_still_recognised() {
        let zst = zstd::encode_all(TEXT, 3).unwrap();
        let input = Input::from_reader("-", Trickle(Cursor::new(zst)), None).unwrap();
        assert_eq!(input.compression(), Compression::Zstd);
        assert_eq!(read_all(input), TEXT);
    }

    #[test]
    fn short_and_empty_inputs() {
        for bytes in [&b""[..], b"{", b"\x1f"] {
            let input = Input::from_reader("short", Cursor::new(bytes.to_vec()), None).unwrap();
            assert_eq!(input.compression(), Compression::None);
            assert_eq!(read_all(input), bytes);
        }
    }

    #[test]
    fn corrupt_compressed_data_is_an_io_error_on_read() {
        let mut bytes = gzip(TEXT);
        bytes.truncate(bytes.len() / 2);
        let mut input = Input::from_reader("cut.gz", Cursor::new(bytes), None).unwrap();
        let mut out = Vec::new();
        assert!(input.read_to_end(&mut out).is_err());
    }

    #[test]
    fn missing_file_is_a_clean_io_error() {
        let err = open_input(Path::new("/nonexistent/paperfeed/x.jsonl")).unwrap_err();
        #[allow(unreachable_patterns)]
        match err {
            IngestError::Io { path, source } => {
                assert_eq!(path, "/nonexistent/paperfeed/x.jsonl");
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected an I/O error, got {other}"),
        }
    }

    #[test]
    fn directory_is_an_io_error_at_open() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            open_input(dir.path()),
            Err(IngestError::Io { .. })
        ));
    }

    #[test]
    fn file_size_is_the_progress_total() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.jsonl.gz");
        let bytes = gzip(TEXT);
        std::fs::write(&path, &bytes).unwrap();
        let input = open_input(&path).unwrap();
        assert_eq!(input.name(), path.display().to_string());
        let progress = input.progress();
        assert_eq!(progress.total_bytes(), Some(bytes.len() as u64));
        assert_eq!(read_all(input), TEXT);
        assert_eq!(
            progress.counter().load(Ordering::Relaxed),
            bytes.len() as u64
        );
    }
}
