//! The local store read back through `telem::store`: every field of every kind of span survives format
//! v2 (compared with what the in-memory exporter saw of the same batches), v1 JSON lines stay readable,
//! and a torn, damaged, empty or foreign file yields the spans before the damage and an error naming the
//! file and offset, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use telem::store::{Problem, StoredSpan};
use telem::{Context, SpanData, Status, Value};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telem-test-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The one session file in `dir`.
fn session_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one session file in {}: {files:?}", dir.display());
    files.into_iter().next().unwrap()
}

/// Asserts that the stored span says what the exporters were given.
fn assert_same(stored: &StoredSpan, seen: &SpanData, service: &str) {
    let who = &seen.name;
    assert_eq!(&*stored.service, service, "{who}: service");
    assert_eq!(stored.trace_id, seen.trace_id, "{who}: trace id");
    assert_eq!(stored.parent_id, seen.parent_id, "{who}: parent");
    assert_eq!(&*stored.name, seen.name, "{who}: name");
    assert_eq!(stored.kind, seen.kind, "{who}: kind");
    assert_eq!(stored.start_unix_ns, seen.start_unix_ns, "{who}: start");
    assert_eq!(stored.end_unix_ns, seen.end_unix_ns, "{who}: end");
    assert_eq!(stored.status, seen.status, "{who}: status");
    assert_eq!(stored.attributes, seen.attributes, "{who}: attributes");
    assert_eq!(stored.links, seen.links, "{who}: links");
    assert_eq!(&*stored.module, seen.module, "{who}: module");
    assert_eq!(&*stored.file, seen.file, "{who}: file");
    assert_eq!(stored.line, seen.line, "{who}: line");
    assert_eq!(&*stored.thread, seen.thread.name, "{who}: thread name");
    assert_eq!(stored.thread_id, seen.thread.id, "{who}: thread id");
}

/// Every stored span matches the in-memory exporter's span of the same id, and each appears once.
fn assert_all_same(stored: &[StoredSpan], seen: &[SpanData], service: &str) {
    assert_eq!(stored.len(), seen.len(), "as many spans stored as exported");
    let by_id: std::collections::HashMap<_, _> = seen.iter().map(|s| (s.span_id, s)).collect();
    assert_eq!(by_id.len(), seen.len(), "span ids are unique");
    let mut found = std::collections::HashSet::new();
    for s in stored {
        let seen = by_id.get(&s.span_id).unwrap_or_else(|| panic!("stored span {s:?} was not exported"));
        assert!(found.insert(s.span_id), "{} stored twice", s.name);
        assert_same(s, seen, service);
    }
}

#[telem::span(fields(flag = true, count = -3i64, size = 7u64, ratio = 0.25, label = "a \"quoted\"\nline", big = u128::MAX))]
fn every_value_type() {}

#[telem::span(kind = server)]
fn fails() -> Result<(), String> {
    Err("out of scones: «none left»".into())
}

#[telem::span(err)]
fn errs() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("disk on fire"))
}

#[telem::span]
fn panics() {
    panic!("the panic message");
}

#[telem::flow]
fn checkout() -> Result<u32, String> {
    #[step]
    let a = 1;
    #[step]
    let b = a + 1;
    Ok(b)
}

/// Records one of every kind of span the store has to keep.
fn record_every_kind() -> Vec<Context> {
    every_value_type();
    let _ = errs();
    let _ = fails();
    let _ = std::panic::catch_unwind(panics);
    let _ = checkout();
    let a = telem::in_span("request.a", |_| Context::current().unwrap());
    let b = telem::in_span("request.b", |_| Context::current().unwrap());
    telem::Span::builder(format!("run-time name {}", 42))
        .kind(telem::SpanKind::Client)
        .link(&a, [("reason", Value::from("queued"))])
        .link(&b, [("n", Value::from(2)), ("ok", Value::from(true))])
        .attribute("owned.key".to_string(), "owned value".to_string())
        .start()
        .end();
    let mut ok = telem::Span::start("explicit ok");
    ok.set_status(Status::Ok);
    ok.end();
    let mut failed = telem::Span::start("recorded error");
    failed.record_error("no message like this one");
    failed.end();
    let end = SystemTime::now() - Duration::from_secs(3600);
    let imported = telem::record(
        telem::FinishedSpan::new("imported.job", end - Duration::from_millis(40), end)
            .kind(telem::SpanKind::Consumer)
            .attribute("job.id", 42)
            .status(Status::Ok),
    )
    .expect("telem is running");
    let _ = telem::record(
        telem::FinishedSpan::new("imported.step", UNIX_EPOCH + Duration::from_nanos(1), UNIX_EPOCH).parent(&imported),
    );
    // Threads: named and unnamed, each ending spans of its own.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let builder = match i % 2 {
                0 => std::thread::Builder::new().name(format!("worker-{i}")),
                _ => std::thread::Builder::new(),
            };
            builder
                .spawn(move || {
                    for j in 0..50 {
                        telem::in_span("thread.work", |s| s.set_attribute("j", j));
                    }
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    vec![a, b]
}

#[test]
fn every_field_of_every_kind_of_span_survives_the_store() {
    let dir = fresh_dir("round-trip");
    let (telem, memory) = common::start_with(|b| b.exporter("store", true).store_dir(&dir).service_name("shop «v2»"));
    record_every_kind();
    telem::flush();
    // A second block: call sites and threads already in the file are referred to, not written again.
    record_every_kind();
    assert!(telem.shutdown());
    let seen = memory.spans();
    let file = session_file(&dir);
    assert_eq!(file.extension().and_then(|e| e.to_str()), Some("telem"));
    let stored = telem::store::read_file(&file).unwrap();
    assert_all_same(&stored, &seen, "shop «v2»");
    assert_eq!(telem::store::read_dir(&dir).unwrap(), stored, "read_dir reads the same file");
    assert_eq!(telem::store::Reader::open(&file).unwrap().version(), 2);

    // Spot checks, so that a bug on both sides does not hide.
    let one = |name: &str| stored.iter().find(|s| &*s.name == name).unwrap_or_else(|| panic!("no {name}"));
    let values = one("every_value_type");
    assert_eq!(values.attribute("flag"), Some(&Value::Bool(true)));
    assert_eq!(values.attribute("count"), Some(&Value::I64(-3)));
    assert_eq!(values.attribute("size"), Some(&Value::U64(7)));
    assert_eq!(values.attribute("ratio"), Some(&Value::F64(0.25)));
    assert_eq!(values.attribute("label"), Some(&Value::from("a \"quoted\"\nline")));
    assert_eq!(values.attribute("big"), Some(&Value::from(u128::MAX.to_string())));
    assert_eq!(one("errs").status, Status::Error("disk on fire".into()));
    assert_eq!(one("panics").status, Status::Error("the panic message".into()));
    assert_eq!(one("explicit ok").status, Status::Ok);
    assert_eq!(one("request.a").status, Status::Unset);
    let run_time = one("run-time name 42");
    assert_eq!(run_time.kind, telem::SpanKind::Client);
    assert_eq!(run_time.links.len(), 2);
    assert_eq!(run_time.attribute("owned.key"), Some(&Value::from("owned value")));
    let step = stored.iter().find(|s| s.attribute("step.index") == Some(&Value::U64(1)));
    let step = step.unwrap_or_else(|| panic!("no step 1 in {stored:#?}"));
    assert_eq!(step.attributes[0], ("step.index".to_string(), Value::U64(1)), "{step:?}");
    let imported = one("imported.job");
    assert_eq!(imported.duration_ns(), 40_000_000);
    assert_eq!(imported.kind, telem::SpanKind::Consumer);
    let step = one("imported.step");
    assert_eq!((step.start_unix_ns, step.end_unix_ns), (1, 1), "an end before the start is a zero duration");
    let threads: std::collections::HashSet<_> =
        stored.iter().filter(|s| &*s.name == "thread.work").map(|s| (s.thread_id, s.thread.clone())).collect();
    assert_eq!(threads.len(), 16, "two rounds of eight threads");
    assert_eq!(threads.iter().filter(|(_, name)| name.starts_with("worker-")).count(), 8);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_lines_of_format_v1_are_read_too() {
    let dir = fresh_dir("v1");
    std::fs::create_dir_all(&dir).unwrap();
    // The console's JSON mode writes exactly the v1 store line.
    let file = dir.join("20240101T000000Z-1.jsonl");
    let console =
        telem::exporters::Console::with_writer(telem::ConsoleMode::Json, std::fs::File::create(&file).unwrap());
    let (telem, memory) = common::start_with(|b| b.with_exporter("v1", console).service_name("v1 shop"));
    record_every_kind();
    assert!(telem.shutdown());
    let seen = memory.spans();
    let stored = telem::store::read_file(&file).unwrap();
    assert_eq!(telem::store::Reader::open(&file).unwrap().version(), 1);
    // JSON does not keep the integer types: compare values through their JSON meaning.
    let widen = |attributes: &[(String, Value)]| -> Vec<(String, String)> {
        attributes.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
    };
    assert_eq!(stored.len(), seen.len());
    for (s, m) in stored.iter().zip(&seen) {
        assert_eq!(widen(&s.attributes), widen(&m.attributes), "{}", m.name);
        for (l, ml) in s.links.iter().zip(&m.links) {
            assert_eq!((l.trace_id, l.span_id, l.sampled), (ml.trace_id, ml.span_id, ml.sampled));
        }
        let mut s = s.clone();
        s.attributes = m.attributes.clone();
        s.links = m.links.clone();
        assert_same(&s, m, "v1 shop");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small store file of several blocks (one per flush), with its block boundaries.
fn several_blocks(name: &str) -> (PathBuf, Vec<u8>, Vec<StoredSpan>) {
    let dir = fresh_dir(name);
    let (telem, _memory) = common::start_with(|b| b.exporter("store", true).store_dir(&dir));
    for round in 0..4 {
        for i in 0..5 {
            telem::in_span("block.span", |s| {
                s.set_attribute("round", round);
                s.set_attribute("i", i);
            });
        }
        telem::in_span("plain", |_| {});
        telem::flush();
    }
    assert!(telem.shutdown());
    let file = session_file(&dir);
    let bytes = std::fs::read(&file).unwrap();
    let spans = telem::store::read_file(&file).unwrap();
    assert_eq!(spans.len(), 24);
    (dir, bytes, spans)
}

/// Reads `bytes` as a store file; returns the spans and the error, if any.
fn read_bytes(dir: &Path, bytes: &[u8]) -> (Vec<StoredSpan>, Option<telem::store::ReadError>) {
    let path = dir.join("damaged.telem");
    std::fs::write(&path, bytes).unwrap();
    match telem::store::read_file(&path) {
        Ok(spans) => (spans, None),
        Err(partial) => {
            assert_eq!(partial.errors.len(), 1);
            let error = partial.errors.into_iter().next().unwrap();
            assert_eq!(error.path(), path, "the error names the file");
            (partial.spans, Some(error))
        }
    }
}

#[test]
fn a_file_cut_anywhere_yields_the_spans_before_the_cut_and_says_where() {
    let (dir, bytes, spans) = several_blocks("torn");
    // Where each whole block ends, and how many spans are in the file up to there.
    let mut ends = vec![(16usize, 0usize)];
    for cut in 16..=bytes.len() {
        let (got, error) = read_bytes(&dir, &bytes[..cut]);
        assert_eq!(got[..], spans[..got.len()], "cut at {cut}: the spans read are the file's first ones");
        match error {
            None => ends.push((cut, got.len())),
            Some(e) => {
                assert!(matches!(e.problem(), Problem::Torn), "cut at {cut}: {e}");
                let &(last_end, before) = ends.last().unwrap();
                assert_eq!(
                    e.offset(),
                    last_end as u64,
                    "cut at {cut}: the torn block starts where the last whole one ended"
                );
                assert_eq!(got.len(), before, "cut at {cut}");
                assert!(e.to_string().contains("damaged.telem") && e.to_string().contains(&format!("byte {last_end}")));
            }
        }
    }
    assert!(ends.len() >= 5, "a session block and four spans blocks: {ends:?}");
    assert_eq!(ends.last().unwrap(), &(bytes.len(), spans.len()));
    // Cut inside the file header: an error, at offset 0.
    for cut in 1..16 {
        let (got, error) = read_bytes(&dir, &bytes[..cut]);
        assert!(got.is_empty() && matches!(error.as_ref().map(|e| e.problem()), Some(Problem::Torn)), "{error:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flipped_bits_are_detected_and_never_panic() {
    let (dir, bytes, spans) = several_blocks("flipped");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..600 {
        let mut damaged = bytes.clone();
        let flips = 1 + round % 3;
        for _ in 0..flips {
            let at = (random() % damaged.len() as u64) as usize;
            damaged[at] ^= 1 << (random() % 8);
        }
        let (got, error) = read_bytes(&dir, &damaged);
        assert!(got.len() <= spans.len());
        assert_eq!(got[..], spans[..got.len()], "round {round}: what is read before the damage is right");
        // Damage to the header's reserved bytes (10..12) is not noticed; everything else is.
        if damaged[..10] != bytes[..10] || damaged[12..] != bytes[12..] {
            let e = error.unwrap_or_else(|| panic!("round {round}: damage after the header went unnoticed"));
            assert!(e.offset() < damaged.len() as u64, "{e}");
        }
    }
    // Garbage of every length, random and structured: an error or nothing, never a panic.
    for len in 0..300 {
        let garbage: Vec<u8> = (0..len).map(|_| random() as u8).collect();
        let _ = read_bytes(&dir, &garbage);
        let mut framed = bytes[..16].to_vec();
        framed.extend_from_slice(&garbage);
        let (got, _) = read_bytes(&dir, &framed);
        assert!(got.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_foreign_and_missing_files() {
    let dir = fresh_dir("odd");
    std::fs::create_dir_all(&dir).unwrap();
    let (got, error) = read_bytes(&dir, b"");
    assert!(got.is_empty() && error.is_none(), "an empty file is a store with no spans");
    let (_, error) = read_bytes(&dir, b"PK\x03\x04 not a store at all");
    let error = error.expect("an error");
    assert!(matches!(error.problem(), Problem::NotAStore) && error.offset() == 0, "{error}");
    let (_, error) = read_bytes(&dir, b"TELEMSTO\x07\x00\x00\x00\x10\x00\x00\x00");
    assert!(matches!(error.as_ref().unwrap().problem(), Problem::UnsupportedVersion(7)), "{error:?}");
    let (_, error) = read_bytes(&dir, b"{\"v\":1,\"name\":\"half a li");
    assert!(matches!(error.as_ref().unwrap().problem(), Problem::Torn), "{error:?}");
    let (_, error) = read_bytes(&dir, b"{\"v\":1}\n");
    assert!(matches!(error.as_ref().unwrap().problem(), Problem::Malformed(_)), "{error:?}");
    let missing = telem::store::read_file(dir.join("missing.telem")).unwrap_err();
    assert!(matches!(missing.errors[0].problem(), Problem::Io(_)), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn read_dir_reads_every_session_and_reports_each_damaged_one() {
    let (dir, bytes, spans) = several_blocks("dir");
    std::fs::write(dir.join("zz-torn.telem"), &bytes[..bytes.len() - 3]).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a session file").unwrap();
    let partial = telem::store::read_dir(&dir).unwrap_err();
    assert_eq!(partial.spans.len(), spans.len() + 18, "the whole file, then the torn one up to its last block");
    assert_eq!(partial.errors.len(), 1);
    assert!(partial.errors[0].path().ends_with("zz-torn.telem"), "{partial}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// CRC-32 (IEEE), bit by bit: an implementation independent of the writer's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn blocks_carry_a_standard_crc_and_unknown_kinds_are_skipped() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926, "the check value of CRC-32/ISO-HDLC");
    let (dir, bytes, spans) = several_blocks("kinds");
    // Walk the blocks as the module doc describes them, checking each CRC.
    let mut at = 16;
    let mut kinds = Vec::new();
    while at < bytes.len() {
        let header = &bytes[at..at + 16];
        let len = u32::from_le_bytes(header[4..8].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(header[12..16].try_into().unwrap());
        let mut covered = header[..12].to_vec();
        covered.extend_from_slice(&bytes[at + 16..at + 16 + len]);
        assert_eq!(crc32(&covered), crc, "block at {at}");
        kinds.push(u16::from_le_bytes([header[0], header[1]]));
        at += 16 + len;
    }
    assert_eq!(at, bytes.len());
    assert_eq!(kinds, [1, 2, 2, 2, 2], "a session block, then one spans block per flush");
    // A block of a kind added later, whole and checksummed, between two others: skipped.
    let mut header = [0u8; 16];
    header[0..2].copy_from_slice(&77u16.to_le_bytes());
    header[4..8].copy_from_slice(&5u32.to_le_bytes());
    let mut covered = header[..12].to_vec();
    covered.extend_from_slice(b"later");
    header[12..16].copy_from_slice(&crc32(&covered).to_le_bytes());
    let mut with_unknown = bytes.clone();
    with_unknown.extend_from_slice(&header);
    with_unknown.extend_from_slice(b"later");
    with_unknown.extend_from_slice(&bytes[16..]);
    let (got, error) = read_bytes(&dir, &with_unknown);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(got.len(), 2 * spans.len());
    let _ = std::fs::remove_dir_all(&dir);
}
