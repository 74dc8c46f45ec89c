//! Downloads against a tiny HTTP/1.1 server on 127.0.0.1 (nothing leaves the machine):
//! mirror fallback, resume with Range, restart when Range is ignored, checksum failures,
//! offline errors and timeouts.
//!
//! Run with `cargo test -p dlscope-data --features download --test download`.
#![cfg(feature = "download")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dlscope_data::catalog::{Entry, FileSpec};
use dlscope_data::dataset::Format;
use dlscope_data::download::{fetch, FetchOptions, Progress};
use dlscope_data::DataError;
use sha2::{Digest, Sha256};

/// How the test server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Serves files, honours `Range: bytes=N-` with 206.
    Normal,
    /// Serves every file with its last byte flipped (same size, wrong checksum).
    Corrupt,
    /// The first request for each file gets the full Content-Length but only half the body,
    /// then the connection closes; later requests are served normally.
    DropFirstHalf,
    /// Answers 404 to everything.
    NotFound,
    /// Ignores Range and always sends the whole file with 200.
    IgnoreRange,
    /// Accepts the connection, reads the request and never answers.
    Silent,
}

#[derive(Debug, Clone, PartialEq)]
struct Logged {
    path: String,
    range: Option<u64>,
    status: u16,
    body_bytes: usize,
}

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Logged>>>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server on 127.0.0.1:0. It answers at most `max_conns` connections and stops by
    /// itself after 20 s, so a failing test cannot leave it running.
    fn start(files: HashMap<String, Vec<u8>>, mode: Mode, max_conns: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}/files/", listener.local_addr().expect("addr"));
        listener.set_nonblocking(true).expect("nonblocking");
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = Arc::clone(&log);
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut served: HashMap<String, usize> = HashMap::new();
            let mut conns = 0;
            while conns < max_conns && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        conns += 1;
                        stream.set_nonblocking(false).ok();
                        handle_conn(stream, &files, mode, &mut served, &log2);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => break,
                }
            }
        });
        Server {
            base,
            log,
            handle: Some(handle),
        }
    }

    fn log(&self) -> Vec<Logged> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Wake the accept loop so it notices nothing more is coming: it ends at its deadline
        // or connection budget; do not wait for it here.
        drop(self.handle.take());
    }
}

fn handle_conn(
    mut stream: TcpStream,
    files: &HashMap<String, Vec<u8>>,
    mode: Mode,
    served: &mut HashMap<String, usize>,
    log: &Mutex<Vec<Logged>>,
) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut range = None;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = v
                    .trim()
                    .strip_prefix("bytes=")
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|n| n.parse::<u64>().ok());
            }
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let name = path.strip_prefix("/files/").unwrap_or("").to_string();
    if mode == Mode::Silent {
        std::thread::sleep(Duration::from_millis(1500));
        return;
    }
    let record = |status: u16, body_bytes: usize| {
        if let Ok(mut l) = log.lock() {
            l.push(Logged {
                path: path.clone(),
                range,
                status,
                body_bytes,
            });
        }
    };
    let Some(data) = files.get(&name).filter(|_| mode != Mode::NotFound) else {
        let _ = stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        );
        record(404, 0);
        return;
    };
    let mut data = data.clone();
    if mode == Mode::Corrupt {
        if let Some(last) = data.last_mut() {
            *last ^= 0xff;
        }
    }
    let count = served.entry(name.clone()).or_insert(0);
    *count += 1;
    let total = data.len() as u64;
    let (status, start) = match range {
        Some(n) if mode != Mode::IgnoreRange && n < total => (206, n),
        _ => (200, 0),
    };
    let body = &data[start as usize..];
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n",
        if status == 206 { "Partial Content" } else { "OK" },
        body.len()
    );
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {start}-{}/{total}\r\n",
            total - 1
        ));
    }
    head.push_str("\r\n");
    let cut = if mode == Mode::DropFirstHalf && *count == 1 {
        body.len() / 2
    } else {
        body.len()
    };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body[..cut]);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
    record(status, cut);
}

/// Deterministic pseudo-random bytes (xorshift), so files do not compress or repeat.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn sha(data: &[u8]) -> &'static str {
    Box::leak(hex::encode(Sha256::digest(data)).into_boxed_str())
}

/// A catalog entry for generated files (leaked: entries are `'static` like the real catalog).
fn entry(name: &'static str, files: &[(&'static str, &[u8])]) -> &'static Entry {
    let specs: Vec<FileSpec> = files
        .iter()
        .map(|(n, d)| FileSpec {
            name: n,
            size: d.len() as u64,
            sha256: sha(d),
            unpacked: None,
            known_copies: &[],
        })
        .collect();
    Box::leak(Box::new(Entry {
        name,
        description: "generated for a test",
        format: Format::Idx,
        classes: &["a", "b"],
        splits: &[("train", 1)],
        files: Box::leak(specs.into_boxed_slice()),
        mirrors: &["http://127.0.0.1:9/unused/"],
        homepage: "http://127.0.0.1/",
        system_package: None,
    }))
}

fn opts(mirrors: Vec<String>) -> FetchOptions {
    FetchOptions {
        mirrors: Some(mirrors),
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        attempts_per_mirror: 3,
        use_env_proxy: false,
    }
}

fn files_map(files: &[(&str, &[u8])]) -> HashMap<String, Vec<u8>> {
    files
        .iter()
        .map(|(n, d)| (n.to_string(), d.to_vec()))
        .collect()
}

/// A port nothing listens on: bind, note the port, close.
fn closed_port_base() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}/files/")
}

fn run(
    entry: &Entry,
    dest: &Path,
    o: &FetchOptions,
) -> (Result<std::path::PathBuf, DataError>, Vec<Progress>) {
    let mut events = Vec::new();
    let r = fetch(entry, dest, o, &mut |p| events.push(p));
    (r, events)
}

#[test]
fn downloads_and_verifies_every_file_from_a_normal_mirror() {
    let a = bytes(200_000, 1);
    let b = bytes(1_000, 2);
    let files = [("a.bin", a.as_slice()), ("b.bin", b.as_slice())];
    let e = entry("normal", &files);
    let server = Server::start(files_map(&files), Mode::Normal, 4);
    let dest = tempfile::tempdir().expect("tempdir");
    let (r, events) = run(e, dest.path(), &opts(vec![server.base.clone()]));
    let dir = r.expect("fetch succeeds");
    assert_eq!(dir, dest.path().join("normal"));
    assert_eq!(std::fs::read(dir.join("a.bin")).expect("a"), a);
    assert_eq!(std::fs::read(dir.join("b.bin")).expect("b"), b);
    assert!(
        !dir.join("a.bin.part").exists(),
        ".part must be renamed away"
    );
    let dones = events
        .iter()
        .filter(|p| matches!(p, Progress::Done { reused: false, .. }))
        .count();
    assert_eq!(dones, 2);
    let last_advance = events.iter().rev().find_map(|p| match p {
        Progress::Advance {
            file: "a.bin",
            done,
            total,
        } => Some((*done, *total)),
        _ => None,
    });
    assert_eq!(last_advance, Some((200_000, 200_000)));

    // A second run finds both files verified and makes no request.
    let before = server.log().len();
    let (r, events) = run(e, dest.path(), &opts(vec![server.base.clone()]));
    r.expect("second fetch succeeds");
    assert_eq!(server.log().len(), before);
    assert!(events
        .iter()
        .all(|p| matches!(p, Progress::Done { reused: true, .. })));
}

#[test]
fn checksum_mismatch_on_first_mirror_falls_back_to_second() {
    let a = bytes(50_000, 3);
    let files = [("a.bin", a.as_slice())];
    let e = entry("corrupt", &files);
    let bad = Server::start(files_map(&files), Mode::Corrupt, 2);
    let good = Server::start(files_map(&files), Mode::Normal, 2);
    let dest = tempfile::tempdir().expect("tempdir");
    let (r, events) = run(
        e,
        dest.path(),
        &opts(vec![bad.base.clone(), good.base.clone()]),
    );
    let dir = r.expect("fetch succeeds from mirror 2");
    assert_eq!(std::fs::read(dir.join("a.bin")).expect("a"), a);
    assert_eq!(bad.log().len(), 1);
    assert_eq!(good.log().len(), 1);
    // The corrupt copy was thrown away before mirror 2 was asked: mirror 2 sent it all, from 0.
    assert_eq!(good.log()[0].range, None);
    assert_eq!(good.log()[0].body_bytes, 50_000);
    assert!(events.iter().any(|p| matches!(
        p,
        Progress::Retry { reason, .. } if reason.contains("checksum mismatch")
    )));
}

#[test]
fn dropped_connection_is_resumed_with_a_range_request() {
    let a = bytes(300_001, 4);
    let files = [("a.bin", a.as_slice())];
    let e = entry("dropped", &files);
    let server = Server::start(files_map(&files), Mode::DropFirstHalf, 4);
    let dest = tempfile::tempdir().expect("tempdir");
    let (r, events) = run(e, dest.path(), &opts(vec![server.base.clone()]));
    let dir = r.expect("fetch resumes and succeeds");
    assert_eq!(
        std::fs::read(dir.join("a.bin")).expect("a"),
        a,
        "byte-identical"
    );
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    let half = 300_001 / 2;
    assert_eq!(
        (log[0].status, log[0].range, log[0].body_bytes),
        (200, None, half)
    );
    assert_eq!(
        (log[1].status, log[1].range, log[1].body_bytes),
        (206, Some(half as u64), 300_001 - half)
    );
    assert!(events.iter().any(|p| matches!(
        p,
        Progress::Start { done, .. } if *done == half as u64
    )));
}

#[test]
fn partial_file_from_an_earlier_run_is_resumed() {
    let a = bytes(120_000, 5);
    let files = [("a.bin", a.as_slice())];
    let e = entry("resume", &files);
    let dest = tempfile::tempdir().expect("tempdir");
    let dir = dest.path().join("resume");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("a.bin.part"), &a[..70_000]).expect("write part");
    let server = Server::start(files_map(&files), Mode::Normal, 2);
    let (r, _) = run(e, dest.path(), &opts(vec![server.base.clone()]));
    r.expect("fetch succeeds");
    assert_eq!(std::fs::read(dir.join("a.bin")).expect("a"), a);
    let log = server.log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].status, log[0].range, log[0].body_bytes),
        (206, Some(70_000), 50_000)
    );
}

#[test]
fn server_ignoring_range_makes_the_download_start_over() {
    let a = bytes(80_000, 6);
    let files = [("a.bin", a.as_slice())];
    let e = entry("norange", &files);
    let dest = tempfile::tempdir().expect("tempdir");
    let dir = dest.path().join("norange");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // A stale .part with wrong bytes: appending the rest to it would corrupt the file.
    std::fs::write(dir.join("a.bin.part"), vec![0u8; 30_000]).expect("write part");
    let server = Server::start(files_map(&files), Mode::IgnoreRange, 2);
    let (r, events) = run(e, dest.path(), &opts(vec![server.base.clone()]));
    r.expect("fetch succeeds");
    assert_eq!(std::fs::read(dir.join("a.bin")).expect("a"), a);
    let log = server.log();
    assert_eq!((log[0].status, log[0].range), (200, Some(30_000)));
    assert_eq!(log.len(), 1);
    assert!(events.iter().any(|p| matches!(
        p,
        Progress::Retry { reason, .. } if reason.contains("ignored the range")
    )));
}

#[test]
fn not_found_mirror_falls_back_to_a_good_one() {
    let a = bytes(10_000, 7);
    let files = [("a.bin", a.as_slice())];
    let e = entry("notfound", &files);
    let missing = Server::start(HashMap::new(), Mode::NotFound, 2);
    let good = Server::start(files_map(&files), Mode::Normal, 2);
    let dest = tempfile::tempdir().expect("tempdir");
    let (r, events) = run(
        e,
        dest.path(),
        &opts(vec![missing.base.clone(), good.base.clone()]),
    );
    let dir = r.expect("fetch succeeds");
    assert_eq!(std::fs::read(dir.join("a.bin")).expect("a"), a);
    assert_eq!(missing.log().len(), 1, "a 404 is not retried");
    assert!(events.iter().any(|p| matches!(
        p,
        Progress::Retry { reason, .. } if reason.contains("HTTP 404")
    )));
}

#[test]
fn every_mirror_refusing_gives_a_clear_offline_error() {
    let a = bytes(1_000, 8);
    let files = [("a.bin", a.as_slice())];
    let e = entry("offline", &files);
    let m1 = closed_port_base();
    let m2 = closed_port_base();
    let dest = tempfile::tempdir().expect("tempdir");
    let (r, _) = run(e, dest.path(), &opts(vec![m1.clone(), m2.clone()]));
    let err = r.expect_err("nothing can be reached");
    let msg = err.to_string();
    assert!(matches!(err, DataError::Download { ref name, .. } if name == "offline"));
    assert!(msg.contains("could not reach any mirror"), "{msg}");
    assert!(
        msg.contains(&format!("{m1}a.bin")) && msg.contains(&format!("{m2}a.bin")),
        "{msg}"
    );
    assert!(msg.contains("$DLSCOPE_DATA/offline/"), "{msg}");
    assert!(!dest.path().join("offline/a.bin").exists());
}

#[test]
fn mixed_failures_are_listed_per_mirror() {
    let a = bytes(2_000, 9);
    let files = [("a.bin", a.as_slice())];
    let e = entry("mixed", &files);
    let missing = Server::start(HashMap::new(), Mode::NotFound, 2);
    let bad = Server::start(files_map(&files), Mode::Corrupt, 2);
    let dest = tempfile::tempdir().expect("tempdir");
    let (r, _) = run(
        e,
        dest.path(),
        &opts(vec![missing.base.clone(), bad.base.clone()]),
    );
    let msg = r.expect_err("no good mirror").to_string();
    assert!(msg.contains("every mirror failed"), "{msg}");
    assert!(
        msg.contains("HTTP 404") && msg.contains("checksum mismatch"),
        "{msg}"
    );
    let dir = dest.path().join("mixed");
    assert!(
        !dir.join("a.bin").exists(),
        "an unverified file never gets the final name"
    );
    assert!(
        !dir.join("a.bin.part").exists(),
        "a corrupt .part is deleted"
    );
}

#[test]
fn a_silent_server_times_out_per_the_options() {
    let a = bytes(1_000, 10);
    let files = [("a.bin", a.as_slice())];
    let e = entry("silent", &files);
    let server = Server::start(files_map(&files), Mode::Silent, 3);
    let dest = tempfile::tempdir().expect("tempdir");
    let mut o = opts(vec![server.base.clone()]);
    o.read_timeout = Duration::from_millis(300);
    let t = Instant::now();
    let (r, _) = run(e, dest.path(), &o);
    let msg = r.expect_err("times out").to_string();
    assert!(msg.contains("timed out"), "{msg}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_wrong_final_file_is_replaced_by_a_verified_download() {
    let a = bytes(5_000, 11);
    let files = [("a.bin", a.as_slice())];
    let e = entry("replace", &files);
    let dest = tempfile::tempdir().expect("tempdir");
    let dir = dest.path().join("replace");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("a.bin"), b"not the data").expect("write");
    let server = Server::start(files_map(&files), Mode::Normal, 2);
    let (r, _) = run(e, dest.path(), &opts(vec![server.base.clone()]));
    r.expect("fetch succeeds");
    assert_eq!(std::fs::read(dir.join("a.bin")).expect("a"), a);
    assert_eq!(server.log().len(), 1);
}

#[test]
fn a_mirror_with_a_different_file_size_leaves_the_partial_file_alone() {
    let a = bytes(120_000, 12);
    let files = [("a.bin", a.as_slice())];
    let e = entry("othersize", &files);
    let dest = tempfile::tempdir().expect("tempdir");
    let dir = dest.path().join("othersize");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("a.bin.part"), &a[..70_000]).expect("write part");
    let short = bytes(50_000, 13);
    let other = Server::start(files_map(&[("a.bin", short.as_slice())]), Mode::Normal, 2);
    let good = Server::start(files_map(&files), Mode::Normal, 2);
    let (r, events) = run(
        e,
        dest.path(),
        &opts(vec![other.base.clone(), good.base.clone()]),
    );
    r.expect("fetch succeeds from mirror 2");
    assert_eq!(std::fs::read(dir.join("a.bin")).expect("a"), a);
    assert!(events.iter().any(|p| matches!(
        p,
        Progress::Retry { reason, .. } if reason.contains("wrong size")
    )));
    // Mirror 2 was asked only for the bytes the partial file lacked.
    let log = good.log();
    assert_eq!(
        (log.len(), log[0].status, log[0].range),
        (1, 206, Some(70_000))
    );
}
