//! The local store read back through `telem::store`: every field of every kind of span and event
//! survives format v3 (compared with what the in-memory exporter saw of the same batches), spans get
//! their events, v2 files and v1 JSON lines stay readable, and a torn, damaged, empty or foreign file
//! yields the spans and events before the damage and an error naming the file and offset, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use telem::store::{Contents, Problem, Stored, StoredEvent, StoredSpan};
use telem::{Context, EventData, Level, SpanData, SpanId, Status, TraceId, Value};

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
    assert_eq!(telem::store::Reader::open(&file).unwrap().version(), 4);

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
    // Only the span lines: the console's event lines (the panics' `exception` events) are not v1.
    let text = std::fs::read_to_string(&file).unwrap();
    let spans: String = text.lines().filter(|l| l.starts_with("{\"v\":1,")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, spans).unwrap();
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

/// A small store file of several blocks (one per flush: an events block, then a spans block), with its
/// block boundaries.
fn several_blocks(name: &str) -> (PathBuf, Vec<u8>, Contents) {
    let dir = fresh_dir(name);
    let (telem, _memory) = common::start_with(|b| b.exporter("store", true).store_dir(&dir));
    for round in 0..4 {
        for i in 0..5 {
            telem::in_span("block.span", |s| {
                s.set_attribute("round", round);
                s.set_attribute("i", i);
                telem::info!("block.event", round = round, i = i);
            });
        }
        telem::in_span("plain", |_| {});
        telem::warn!("loose", label = "outside", n = round; "round {}", round);
        telem::flush();
    }
    assert!(telem.shutdown());
    let file = session_file(&dir);
    let bytes = std::fs::read(&file).unwrap();
    let contents = telem::store::read_file_all(&file).unwrap();
    assert_eq!((contents.spans.len(), contents.events.len()), (24, 26), "and session.start, session.end");
    assert!(contents.spans.iter().filter(|s| &*s.name == "block.span").all(|s| s.events.len() == 1));
    (dir, bytes, contents)
}

/// Reads `bytes` as a store file; returns what was read and the error, if any.
fn read_bytes_all(dir: &Path, bytes: &[u8]) -> (Contents, Option<telem::store::ReadError>) {
    let path = dir.join("damaged.telem");
    std::fs::write(&path, bytes).unwrap();
    match telem::store::read_file_all(&path) {
        Ok(contents) => {
            assert_eq!(telem::store::read_file(&path).unwrap(), contents.spans, "read_file reads the same spans");
            (contents, None)
        }
        Err(partial) => {
            assert_eq!(partial.errors.len(), 1);
            let error = partial.errors.into_iter().next().unwrap();
            assert_eq!(error.path(), path, "the error names the file");
            let mut contents = Contents::default();
            (contents.spans, contents.events) = (partial.spans, partial.events);
            (contents, Some(error))
        }
    }
}

/// Reads `bytes` as a store file; returns the spans and the error, if any.
fn read_bytes(dir: &Path, bytes: &[u8]) -> (Vec<StoredSpan>, Option<telem::store::ReadError>) {
    let (contents, error) = read_bytes_all(dir, bytes);
    (contents.spans, error)
}

/// What was read of a damaged file is the start of the whole file: its first spans, each with the
/// first of its events, and its first events.
fn assert_prefix(got: &Contents, whole: &Contents, what: &str) {
    assert!(got.spans.len() <= whole.spans.len() && got.events.len() <= whole.events.len(), "{what}");
    assert_eq!(got.events[..], whole.events[..got.events.len()], "{what}: the events read are the file's first ones");
    for (g, w) in got.spans.iter().zip(&whole.spans) {
        let (mut g, mut w) = (g.clone(), w.clone());
        assert!(g.events.len() <= w.events.len(), "{what}");
        assert_eq!(g.events[..], w.events[..g.events.len()], "{what}: {}'s events", g.name);
        (g.events, w.events) = (Vec::new(), Vec::new());
        assert_eq!(g, w, "{what}: the spans read are the file's first ones");
    }
}

#[test]
fn a_store_file_cut_anywhere_yields_the_spans_and_events_before_the_cut_and_says_where() {
    let (dir, bytes, whole) = several_blocks("torn");
    // Where each whole block ends, and how many spans and events are in the file up to there.
    let mut ends = vec![(16usize, 0usize, 0usize)];
    for cut in 16..=bytes.len() {
        let (got, error) = read_bytes_all(&dir, &bytes[..cut]);
        assert_prefix(&got, &whole, &format!("cut at {cut}"));
        let &(last_end, spans_before, events_before) = ends.last().unwrap();
        match error {
            None => ends.push((cut, got.spans.len(), got.events.len())),
            Some(e) => {
                assert!(matches!(e.problem(), Problem::Torn), "cut at {cut}: {e}");
                assert_eq!(
                    e.offset(),
                    last_end as u64,
                    "cut at {cut}: the torn block starts where the last whole one ended"
                );
                assert_eq!((got.spans.len(), got.events.len()), (spans_before, events_before), "cut at {cut}");
                assert!(e.to_string().contains("damaged.telem") && e.to_string().contains(&format!("byte {last_end}")));
            }
        }
    }
    assert!(ends.len() >= 9, "a session block and four events and four spans blocks: {ends:?}");
    assert_eq!(ends.last().unwrap(), &(bytes.len(), whole.spans.len(), whole.events.len()));
    // Every block after the session block (`ends[2]`: the cut at 16 is whole too) adds spans or events.
    for pair in ends[2..].windows(2) {
        assert!(pair[1].1 + pair[1].2 > pair[0].1 + pair[0].2, "{pair:?}");
    }
    // Cut inside the file header: an error, at offset 0.
    for cut in 1..16 {
        let (got, error) = read_bytes(&dir, &bytes[..cut]);
        assert!(got.is_empty() && matches!(error.as_ref().map(|e| e.problem()), Some(Problem::Torn)), "{error:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flipped_bits_in_a_store_file_with_events_are_detected_and_never_panic() {
    let (dir, bytes, whole) = several_blocks("flipped");
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
        let (got, error) = read_bytes_all(&dir, &damaged);
        assert_prefix(&got, &whole, &format!("round {round}: what is read before the damage is right"));
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
        let (got, _) = read_bytes_all(&dir, &framed);
        assert!(got.spans.is_empty() && got.events.is_empty());
    }
    // Whole, checksummed events blocks whose content is garbage: an error, never a panic.
    for len in 0..300 {
        let garbage: Vec<u8> = (0..len).map(|_| random() as u8).collect();
        let mut framed = bytes[..16].to_vec();
        framed.extend_from_slice(&block(3, &garbage));
        let (got, error) = read_bytes_all(&dir, &framed);
        assert!(got.events.is_empty());
        assert!(matches!(error.as_ref().map(|e| e.problem()), Some(Problem::Malformed(_))), "{error:?}");
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
fn read_dir_reads_every_store_session_and_reports_each_damaged_one() {
    let (dir, bytes, whole) = several_blocks("dir");
    std::fs::write(dir.join("zz-torn.telem"), &bytes[..bytes.len() - 3]).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a session file").unwrap();
    let partial = telem::store::read_dir(&dir).unwrap_err();
    assert_eq!(partial.spans.len(), 2 * whole.spans.len(), "the whole file, then the torn one up to its last block");
    assert_eq!(partial.events.len(), 2 * whole.events.len() - 1, "the torn block is the last, session.end's");
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

/// A whole block of `kind` around `payload`, with its CRC.
fn block(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 16];
    header[0..2].copy_from_slice(&kind.to_le_bytes());
    header[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut covered = header[..12].to_vec();
    covered.extend_from_slice(payload);
    header[12..16].copy_from_slice(&crc32(&covered).to_le_bytes());
    let mut block = header.to_vec();
    block.extend_from_slice(payload);
    block
}

#[test]
fn store_blocks_carry_a_standard_crc_and_unknown_kinds_are_skipped() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926, "the check value of CRC-32/ISO-HDLC");
    let (dir, bytes, whole) = several_blocks("kinds");
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
    assert_eq!(
        kinds,
        [1, 3, 2, 3, 2, 3, 2, 3, 2, 3],
        "a session block, per flush an events and a spans block, then session.end's"
    );
    // A block of a kind added later, whole and checksummed, between two others: skipped.
    let mut with_unknown = bytes.clone();
    with_unknown.extend_from_slice(&block(77, b"later"));
    with_unknown.extend_from_slice(&bytes[16..]);
    let (got, error) = read_bytes_all(&dir, &with_unknown);
    assert!(error.is_none(), "{error:?}");
    assert_eq!((got.spans.len(), got.events.len()), (2 * whole.spans.len(), 2 * whole.events.len()));
    // An unknown kind before the first events block, and one between an events block and its spans.
    let first_events = 16 + 16 + u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let events_len = 16 + u32::from_le_bytes(bytes[first_events + 4..first_events + 8].try_into().unwrap()) as usize;
    let mut between = bytes[..first_events].to_vec();
    between.extend_from_slice(&block(4, b""));
    between.extend_from_slice(&bytes[first_events..first_events + events_len]);
    between.extend_from_slice(&block(1000, &[0xff; 40]));
    between.extend_from_slice(&bytes[first_events + events_len..]);
    let (got, error) = read_bytes_all(&dir, &between);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(got, whole);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Asserts that the stored event says what the exporters were given.
fn assert_same_event(stored: &StoredEvent, seen: &EventData, service: &str) {
    let who = format!("{} #{}", seen.name, seen.session_index);
    assert_eq!(&*stored.service, service, "{who}: service");
    assert_eq!(&*stored.name, seen.name, "{who}: name");
    assert_eq!(stored.level, seen.level, "{who}: level");
    assert_eq!(stored.message, seen.message, "{who}: message");
    assert_eq!(stored.time_unix_ns, seen.time_unix_ns, "{who}: time");
    assert_eq!(stored.trace_id, seen.trace_id, "{who}: trace id");
    assert_eq!(stored.span_id, seen.span_id, "{who}: span id");
    assert_eq!(stored.sampled, seen.sampled, "{who}: sampled");
    assert_eq!(stored.session_index, seen.session_index, "{who}: session index");
    assert_eq!(stored.fields.len(), seen.fields.len(), "{who}: fields {:?} / {:?}", stored.fields, seen.fields);
    for ((sk, sv), (k, v)) in stored.fields.iter().zip(&seen.fields) {
        assert_eq!(sk, k, "{who}: field key");
        // Floats by their bits: NaN and -0.0 must survive too.
        match (sv, v) {
            (Value::F64(a), Value::F64(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{who}: field {k}"),
            _ => assert_eq!(sv, v, "{who}: field {k}"),
        }
    }
    assert_eq!(&*stored.module, seen.module, "{who}: module");
    assert_eq!(&*stored.file, seen.file, "{who}: file");
    assert_eq!(stored.line, seen.line, "{who}: line");
    assert_eq!(&*stored.thread, seen.thread.name, "{who}: thread name");
    assert_eq!(stored.thread_id, seen.thread.id, "{who}: thread id");
}

fn assert_all_same_events(stored: &[StoredEvent], seen: &[EventData], service: &str) {
    assert_eq!(stored.len(), seen.len(), "as many events stored as exported");
    for (s, m) in stored.iter().zip(seen) {
        assert_same_event(s, m, service);
    }
}

struct Shown(u32);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shown «{}»", self.0)
    }
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct Debugged {
    id: u64,
    tags: Vec<&'static str>,
}

/// One of every kind of event the store has to keep (`n` makes the values differ between rounds).
fn record_every_event(n: i64) {
    // Outside any span: every field type, more than two fields, with and without a message.
    telem::info!(
        "all.types",
        i = -5i64 * n,
        f = 2.5,
        b = true,
        s = "text \"quoted\"\nline",
        d = %Shown(7),
        g = ?Debugged { id: 3, tags: vec!["a", "b"] },
        big = u64::MAX,
        small = 7u64,
        wide = u128::MAX;
        "with a message {} «{}»", n, "unicode"
    );
    telem::warn!("no.fields");
    telem::error!("message.only"; "just a message");
    telem::critical!("static.message"; "a message without arguments");
    telem::info!("two.scalars", a = n, b = 2.0);
    telem::info!("scalars.then.string", a = false, b = i64::MIN, c = "third");
    telem::info!("string.first", s = "x", n = 1);
    telem::info!("u64.fits", n = 5u64, m = i64::MAX as u64 + 1);
    telem::warn!("floats", nan = f64::NAN, neg_zero = -0.0f64);
    telem::warn!("more.floats", inf = f64::INFINITY, tiny = f64::MIN_POSITIVE, big = f64::MAX);
    telem::error!("integers", zero = 0, minus_one = -1);
    telem::trace!("below.the.level", x = 1);
    // Inside spans: several events of one span, nested spans, a new trace on the same thread.
    telem::in_span("outer", |_| {
        telem::info!("in.outer", step = 1);
        telem::info!("in.outer", step = 2; "second");
        telem::in_span("inner", |_| {
            telem::debug!("in.inner.debug", x = 1);
            telem::info!("in.inner", ok = true, s = %Shown(1));
        });
        telem::info!("in.outer", step = 3);
        telem::warn!("loose.in.outer");
    });
    telem::in_span("second.root", |_| telem::info!("in.second.root", n = n));
    telem::info!("between");
    telem::in_span("second.root", |_| telem::info!("in.second.root", n = n + 1));
    // Under contexts from elsewhere: sampled and not (the unsampled span is not exported; its event is).
    let remote = Context::new(TraceId(0x1234_5678_9abc_def0_0fed_cba9_8765_4321), SpanId(0x42));
    remote.in_scope(|| telem::info!("under.remote", n = 1));
    let mut unsampled = Context::new(TraceId(0xfeed_0000_0000_0000_0000_0000_0000_0001), SpanId(0x43));
    unsampled.sampled = false;
    unsampled.in_scope(|| {
        telem::info!("under.unsampled", n = 2);
        telem::in_span("unsampled.child", |_| telem::info!("in.unsampled.child"));
    });
    // Other threads, named and not, inside and outside their spans; one carries this thread's span.
    let parent = telem::Span::start("carried");
    let carried = parent.context().expect("recording");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let builder = match i % 2 {
                0 => std::thread::Builder::new().name(format!("events-{i}")),
                _ => std::thread::Builder::new(),
            };
            let carried = carried.clone();
            builder
                .spawn(move || {
                    for j in 0..20 {
                        telem::info!("thread.loose", i = i, j = j);
                        telem::in_span("thread.span", |_| telem::info!("thread.event", j = j; "j is {}", j));
                    }
                    carried.in_scope(|| telem::info!("in.carried", i = i));
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    parent.end();
}

#[test]
fn every_field_of_every_kind_of_event_survives_the_store_and_spans_get_their_events() {
    let dir = fresh_dir("events");
    let (telem, memory) = common::start_with(|b| b.exporter("store", true).store_dir(&dir).service_name("events «v4»"));
    record_every_event(1);
    telem::flush();
    // A second batch: its call sites, keys and threads are in the file already.
    record_every_event(2);
    assert!(telem.shutdown());
    let (seen_spans, seen_events) = (memory.spans(), memory.events());
    let file = session_file(&dir);
    assert_eq!(telem::store::Reader::open(&file).unwrap().version(), 4);
    let contents = telem::store::read_file_all(&file).unwrap();
    assert_all_same(&contents.spans, &seen_spans, "events «v4»");
    assert_all_same_events(&contents.events, &seen_events, "events «v4»");
    assert_eq!(telem::store::read_file(&file).unwrap(), contents.spans, "read_file: the same spans, with events");
    // (By their `Debug` text: a NaN field is not equal to itself.)
    let text = |x: &dyn std::fmt::Debug| format!("{x:?}");
    assert!(text(&telem::store::read_dir_all(&dir).unwrap()) == text(&contents), "read_dir_all reads the same file");

    // Each span has the events made while it was current, as `SpanRef::events` would have given them.
    let mut with_events = 0;
    for span in &contents.spans {
        let expected: Vec<&EventData> = seen_events
            .iter()
            .filter(|e| e.span_id == Some(span.span_id) && e.trace_id == Some(span.trace_id))
            .collect();
        assert_eq!(span.events.len(), expected.len(), "{}: {:?}", span.name, span.events);
        for (s, m) in span.events.iter().zip(expected) {
            assert_same_event(s, m, "events «v4»");
            assert!(s.belongs_to(span.trace_id, span.span_id));
        }
        with_events += !span.events.is_empty() as usize;
    }
    // Per round: outer, inner, two second.root, 4 × 20 thread.span, carried.
    assert_eq!(with_events, 2 * (2 + 2 + 4 * 20 + 1), "spans with events");

    // The streaming reader: spans without events, and `items` in file order.
    let streamed: Vec<StoredSpan> = telem::store::Reader::open(&file).unwrap().map(Result::unwrap).collect();
    assert!(streamed.iter().all(|s| s.events.is_empty()));
    let stripped: Vec<StoredSpan> = contents
        .spans
        .iter()
        .cloned()
        .map(|mut s| {
            s.events.clear();
            s
        })
        .collect();
    assert_eq!(streamed, stripped);
    let items = telem::store::Reader::open(&file).unwrap().items();
    assert_eq!(items.reader().version(), 4);
    let (mut spans, mut events) = (Vec::new(), Vec::new());
    for item in items {
        match item.unwrap() {
            Stored::Span(s) => spans.push(s),
            Stored::Event(e) => events.push(e),
            _ => unreachable!(),
        }
    }
    assert_eq!(spans, stripped);
    assert!(text(&events) == text(&contents.events), "items: the same events");

    // Spot checks, so that a bug on both sides does not hide.
    let one = |name: &str| {
        let found: Vec<_> = contents.events.iter().filter(|e| &*e.name == name).collect();
        assert_eq!(found.len(), 2, "{name} once per round");
        found[0]
    };
    let all = one("all.types");
    assert_eq!(all.level, Level::Info);
    assert_eq!(all.message.as_deref(), Some("with a message 1 «unicode»"));
    assert_eq!((all.trace_id, all.span_id, all.sampled), (None, None, false));
    let keys: Vec<&str> = all.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["i", "f", "b", "s", "d", "g", "big", "small", "wide"]);
    assert_eq!(all.field("i"), Some(&Value::I64(-5)));
    assert_eq!(all.field("f"), Some(&Value::F64(2.5)));
    assert_eq!(all.field("b"), Some(&Value::Bool(true)));
    assert_eq!(all.field("s"), Some(&Value::from("text \"quoted\"\nline")));
    assert_eq!(all.field("d"), Some(&Value::from("shown «7»")));
    assert_eq!(all.field("g"), Some(&Value::from("Debugged { id: 3, tags: [\"a\", \"b\"] }")));
    assert_eq!(all.field("big"), Some(&Value::U64(u64::MAX)));
    assert_eq!(all.field("small"), Some(&Value::U64(7)), "after a string field: not inline, keeps its type");
    assert_eq!(all.field("wide"), Some(&Value::from(u128::MAX.to_string())));
    assert_eq!(all.line, line_of("\"all.types\","));
    assert_eq!(&*all.module, "store");
    assert!(all.file.ends_with("store.rs"));
    let fits = one("u64.fits");
    assert_eq!(fits.fields, [("n".into(), Value::I64(5)), ("m".into(), Value::U64(1 << 63))]);
    assert_eq!(one("no.fields").fields, []);
    assert_eq!(one("no.fields").message, None);
    assert_eq!(one("message.only").message.as_deref(), Some("just a message"));
    assert_eq!(one("static.message").level, Level::Critical);
    let floats = one("floats");
    assert!(matches!(floats.field("nan"), Some(Value::F64(x)) if x.is_nan()));
    assert!(matches!(floats.field("neg_zero"), Some(Value::F64(x)) if x.to_bits() == (-0.0f64).to_bits()));
    assert_eq!(one("integers").fields, [("zero".into(), Value::I64(0)), ("minus_one".into(), Value::I64(-1))]);
    assert!(contents.events.iter().all(|e| &*e.name != "below.the.level" && &*e.name != "in.inner.debug"));
    let remote = one("under.remote");
    assert_eq!(
        (remote.trace_id, remote.span_id),
        (Some(TraceId(0x1234_5678_9abc_def0_0fed_cba9_8765_4321)), Some(SpanId(0x42)))
    );
    assert!(remote.sampled);
    let unsampled = one("under.unsampled");
    assert_eq!(unsampled.span_id, Some(SpanId(0x43)));
    assert!(!unsampled.sampled);
    assert!(!one("in.unsampled.child").sampled);
    let outer: Vec<_> = contents.spans.iter().filter(|s| &*s.name == "outer").collect();
    let names: Vec<&str> = outer[0].events.iter().map(|e| &*e.name).collect();
    assert_eq!(names, ["in.outer", "in.outer", "in.outer", "loose.in.outer"]);
    assert_eq!(outer[0].events[1].message.as_deref(), Some("second"));
    let carried = contents.spans.iter().find(|s| &*s.name == "carried").unwrap();
    assert_eq!(carried.events.len(), 4, "one event from each thread that carried its context");
    let indices: Vec<u64> = contents.events.iter().map(|e| e.session_index).collect();
    let mut sorted = indices.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), indices.len(), "session indices are unique");
    let threads: std::collections::HashSet<_> =
        contents.events.iter().map(|e| (e.thread_id, e.thread.clone())).collect();
    assert_eq!(threads.len(), 2 + 2 * 4, "this thread, two rounds of four, and telem's own (the session events)");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The line of this file that contains `text` (once).
fn line_of(text: &str) -> u32 {
    let source = include_str!("store.rs");
    let lines: Vec<usize> = source.lines().enumerate().filter(|(_, l)| l.contains(text)).map(|(i, _)| i).collect();
    assert_eq!(lines.len(), 1, "{text} once in store.rs");
    lines[0] as u32
}

#[test]
fn a_plain_event_takes_a_few_bytes_in_the_store() {
    let dir = fresh_dir("event-size");
    let (telem, _memory) = common::start_with(|b| b.exporter("store", true).store_dir(&dir));
    telem::flush();
    let file = session_file(&dir);
    let before = std::fs::metadata(&file).unwrap().len();
    let n = 20_000;
    for i in 0..n {
        telem::info!("plain.event", i = i, ok = i % 2 == 0);
    }
    telem::flush();
    let outside = std::fs::metadata(&file).unwrap().len() - before;
    telem::in_span("holder", |_| {
        for i in 0..n {
            telem::info!("span.event", i = i, ok = i % 2 == 0);
        }
    });
    telem::flush();
    let inside = std::fs::metadata(&file).unwrap().len() - before - outside;
    assert!(telem.shutdown());
    let contents = telem::store::read_file_all(&file).unwrap();
    let counted = contents.events.iter().filter(|e| !e.name.starts_with("session.")).count();
    assert_eq!(counted, 2 * n as usize, "and the session's start and end");
    assert_eq!(contents.spans[0].events.len(), n as usize);
    let (outside, inside) = (outside as f64 / n as f64, inside as f64 / n as f64);
    println!("bytes per event with two scalar fields: {outside:.2} outside a span, {inside:.2} inside one");
    assert!(outside < 12.0 && inside < 12.5, "{outside} / {inside} bytes per event");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tests/fixtures/store-v2.telem` was written by the format v2 writer (the commit before format v3)
/// from a test program `tests/gen_v2_fixture.rs` that recorded these spans in two flushes: a session
/// block and two spans blocks.
/// Name, trace id, span id, parent id, start, end, thread id.
type V2Span = (&'static str, u128, u64, Option<u64>, u64, u64, u64);

const V2_SPANS: [V2Span; 12] = [
    (
        "every_value_type",
        0x3f83a5b0462d183fc8fc050ca1dcec46,
        0xc8fc050ca1dcec46,
        None,
        1796325067979914608,
        1796325067979917797,
        1,
    ),
    ("errs", 0x3f83a5b0462d183f4e72f29230785854, 0x4e72f29230785854, None, 1796325067979930987, 1796325067979933808, 1),
    (
        "panics",
        0x3f83a5b0462d183fe3b06940f71332d1,
        0xe3b06940f71332d1,
        None,
        1796325067979935106,
        1796325068238696764,
        1,
    ),
    (
        "checkout/step[0]",
        0x3f83a5b0462d183f5af6cfba81d8bcd4,
        0xd914c05f99680faf,
        Some(0x5af6cfba81d8bcd4),
        1796325068238715816,
        1796325068238715915,
        1,
    ),
    (
        "checkout",
        0x3f83a5b0462d183f5af6cfba81d8bcd4,
        0x5af6cfba81d8bcd4,
        None,
        1796325068238715726,
        1796325068238716353,
        1,
    ),
    (
        "request.a",
        0x3f83a5b0462d183fd9efa43f74b53b15,
        0xd9efa43f74b53b15,
        None,
        1796325068251478586,
        1796325068251481809,
        1,
    ),
    (
        "run-time name 42",
        0x3f83a5b0462d183f638d381b1c618210,
        0x638d381b1c618210,
        None,
        1796325068251487324,
        1796325068251489378,
        1,
    ),
    (
        "explicit ok",
        0x3f83a5b0462d183f840a0c48d4cf3814,
        0x840a0c48d4cf3814,
        None,
        1796325068251490126,
        1796325068251490301,
        1,
    ),
    (
        "imported.job",
        0x3f83a5b0462d183ffec7bf78856581a2,
        0xfec7bf78856581a2,
        None,
        1700000000000000000,
        1700000000040000000,
        1,
    ),
    (
        "thread.work",
        0x6690a9b26092a8fda700c26f1f55f7e7,
        0xa700c26f1f55f7e7,
        None,
        1796325068251671609,
        1796325068251672392,
        2,
    ),
    (
        "thread.work",
        0x6690a9b26092a8fdcb5284d9ff5dc103,
        0xcb5284d9ff5dc103,
        None,
        1796325068251686832,
        1796325068251687197,
        2,
    ),
    (
        "thread.work",
        0x6690a9b26092a8fdae5f4f3be953fb0a,
        0xae5f4f3be953fb0a,
        None,
        1796325068251687426,
        1796325068251687717,
        2,
    ),
];

/// `tests/fixtures/store-v3.telem` was written by the format v3 writer (the commit before format v4)
/// from a test program that recorded, service "fixture v3": `error!("outside", code = 7)`, then twice
/// (a flush between) `outer` with `warn!("outer.warn", ok = false; "careful {}", 3)` and an `inner(41)`
/// span with `info!("inner.step", n = n, half = n as f64 / 2.0)`.
#[test]
fn a_store_file_of_format_v3_is_still_read() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v3.telem");
    assert_eq!(telem::store::Reader::open(&fixture).unwrap().version(), 3);
    let contents = telem::store::read_file_all(&fixture).unwrap();
    let names: Vec<&str> = contents.spans.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["inner", "outer", "inner", "outer"]);
    for s in &contents.spans {
        assert_eq!(&*s.service, "fixture v3");
        assert_eq!(s.resource.service_name(), "fixture v3", "a v3 resource is its service name");
        assert_eq!((s.resource.attributes().len(), s.resource.session_id()), (1, 0));
    }
    let inner = &contents.spans[0];
    assert_eq!(inner.events.len(), 1);
    assert_eq!(inner.events[0].fields, [("n".to_string(), Value::I64(41)), ("half".to_string(), Value::F64(20.5))]);
    let warn = &contents.spans[1].events[0];
    assert_eq!(
        (&*warn.name, warn.level, warn.message.as_deref()),
        ("outer.warn", telem::Level::Warn, Some("careful 3"))
    );
    let names: Vec<&str> = contents.events.iter().map(|e| &*e.name).collect();
    assert_eq!(names.iter().filter(|n| **n == "session.start" || **n == "session.end").count(), 2, "{names:?}");
    let outside = contents.events.iter().find(|e| &*e.name == "outside").unwrap();
    assert_eq!((outside.span_id, outside.field("code")), (None, Some(&Value::I64(7))));
}

#[test]
fn a_store_file_of_format_v2_is_still_read() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v2.telem");
    assert_eq!(telem::store::Reader::open(&fixture).unwrap().version(), 2);
    let contents = telem::store::read_file_all(&fixture).unwrap();
    assert!(contents.events.is_empty());
    let spans = &contents.spans;
    assert_eq!(spans.len(), V2_SPANS.len());
    for (s, &(name, trace, span, parent, start, end, thread)) in spans.iter().zip(&V2_SPANS) {
        assert_eq!(&*s.name, name);
        assert_eq!((s.trace_id, s.span_id, s.parent_id), (TraceId(trace), SpanId(span), parent.map(SpanId)), "{name}");
        assert_eq!((s.start_unix_ns, s.end_unix_ns, s.thread_id), (start, end, thread), "{name}");
        assert_eq!(&*s.service, "fixture v2");
        assert_eq!(&*s.file, "tests/gen_v2_fixture.rs");
        assert!(s.events.is_empty());
    }
    let lines: Vec<u32> = spans.iter().map(|s| s.line).collect();
    assert_eq!(lines, [6, 9, 12, 16, 15, 31, 32, 38, 43, 49, 49, 49]);
    let statuses: Vec<Status> = spans.iter().map(|s| s.status.clone()).collect();
    let error = |m: &str| Status::Error(m.to_string().into());
    assert_eq!(statuses[..3], [Status::Unset, error("disk on fire"), error("the panic message")]);
    assert_eq!((&statuses[7], &statuses[8]), (&Status::Ok, &Status::Ok));
    assert_eq!(
        spans[0].attributes,
        [
            ("flag".to_string(), Value::Bool(true)),
            ("count".to_string(), Value::I64(-3)),
            ("size".to_string(), Value::U64(7)),
            ("ratio".to_string(), Value::F64(0.25)),
            ("label".to_string(), Value::from("a \"quoted\"\nline")),
        ]
    );
    assert_eq!(&*spans[0].module, "gen_v2_fixture");
    assert_eq!(
        spans[3].attributes,
        [("step.index".to_string(), Value::U64(0)), ("step.name".to_string(), Value::from("checkout/step[0]"))]
    );
    let run_time = &spans[6];
    assert_eq!(run_time.kind, telem::SpanKind::Client);
    assert_eq!(run_time.attribute("owned.key"), Some(&Value::from("owned value")));
    assert_eq!(run_time.links.len(), 1);
    assert_eq!((run_time.links[0].trace_id, run_time.links[0].span_id), (spans[5].trace_id, spans[5].span_id));
    assert_eq!(run_time.links[0].attributes, [("reason".into(), Value::from("queued"))]);
    assert_eq!(spans[8].kind, telem::SpanKind::Consumer);
    assert_eq!(spans[8].attribute("job.id"), Some(&Value::I64(42)));
    let js: Vec<_> = spans[9..].iter().map(|s| (s.thread.clone(), s.attribute("j").cloned())).collect();
    assert_eq!(js, [0, 1, 2].map(|j| (std::sync::Arc::from("worker-1"), Some(Value::I64(j)))));

    // Cut anywhere, it reads as far as its last whole block, like a v3 file.
    let bytes = std::fs::read(&fixture).unwrap();
    let dir = fresh_dir("v2-cut");
    std::fs::create_dir_all(&dir).unwrap();
    let mut whole_blocks = 0;
    for cut in 16..=bytes.len() {
        let (got, error) = read_bytes_all(&dir, &bytes[..cut]);
        assert_prefix(&got, &contents, &format!("v2 cut at {cut}"));
        match error {
            None => whole_blocks += 1,
            Some(e) => assert!(matches!(e.problem(), Problem::Torn), "v2 cut at {cut}: {e}"),
        }
    }
    assert_eq!(whole_blocks, 1 + 3, "the header alone, a session block and two spans blocks");
    // Block kind 3 (events) came with v3: in a v2 file it is a kind v2 did not know, and skipped.
    let mut with_kind_3 = bytes.clone();
    with_kind_3.extend_from_slice(&block(3, b"not v3 events"));
    let (got, error) = read_bytes_all(&dir, &with_kind_3);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(got, contents);
    let _ = std::fs::remove_dir_all(&dir);
}
