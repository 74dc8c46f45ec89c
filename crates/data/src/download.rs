//! Downloading catalog datasets (feature `download`): mirrors tried in order, interrupted
//! downloads resumed with HTTP range requests, every file checked against its published size and
//! SHA-256 before it is renamed into place.
//!
//! ```no_run
//! use dlscope_data::{catalog, download};
//! let entry = catalog::find("mnist").unwrap();
//! let root = catalog::Roots::from_env().download_root().unwrap().to_path_buf();
//! let dir = download::fetch(entry, &root, &download::FetchOptions::default(), &mut |p| {
//!     if let download::Progress::Done { file, .. } = p { println!("{file} ok") }
//! })
//! .unwrap();
//! println!("saved in {}", dir.display());
//! ```
//!
//! A file is written to `<file>.part` and renamed to its final name only after its checksum
//! matched, so a final name always holds verified bytes. A `.part` left by an interrupted run is
//! resumed; a mirror that ignores the range request makes the download start over.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalog::{self, Entry, FileCheck, FileSpec};
use crate::error::{DataError, Result};

/// How to download.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Base URLs to use instead of the catalog's mirrors (each followed by the file name).
    pub mirrors: Option<Vec<String>>,
    /// Limit for resolving the host name and for opening the connection, each.
    pub connect_timeout: Duration,
    /// Limit for waiting on the response headers and on each read of the body (a stall).
    pub read_timeout: Duration,
    /// Requests to one mirror in a row that bring no new byte before moving to the next mirror.
    pub attempts_per_mirror: u32,
    /// Honour `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` from the environment.
    pub use_env_proxy: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            mirrors: None,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            attempts_per_mirror: 3,
            use_env_proxy: true,
        }
    }
}

/// What the download is doing, reported to the caller's callback (for a progress bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A request for `file` is about to be sent to `url`; `done` bytes are already on disk.
    Start {
        file: &'static str,
        url: String,
        done: u64,
        total: u64,
    },
    /// More bytes of `file` arrived.
    Advance {
        file: &'static str,
        done: u64,
        total: u64,
    },
    /// All bytes are here; the checksum is being computed.
    Verifying { file: &'static str },
    /// Something failed and the download goes on (resume, start over or next mirror).
    Retry {
        file: &'static str,
        url: String,
        reason: String,
    },
    /// `file` is verified at `path`; `reused` when it was already there and nothing was fetched.
    Done {
        file: &'static str,
        path: PathBuf,
        reused: bool,
    },
}

/// Downloads every file of `entry` into `dest_root/<entry.name>/` and returns that folder.
/// Files already there with the right checksum are kept.
pub fn fetch(
    entry: &Entry,
    dest_root: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<PathBuf> {
    let dir = dest_root.join(entry.name);
    std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, "create folder", e))?;
    let mirrors: Vec<String> = match &opts.mirrors {
        Some(m) => m.clone(),
        None => entry.mirrors.iter().map(|m| m.to_string()).collect(),
    };
    let mirrors: Vec<String> = mirrors
        .into_iter()
        .map(|m| if m.ends_with('/') { m } else { m + "/" })
        .collect();
    if mirrors.is_empty() {
        return Err(DataError::Download {
            name: entry.name.into(),
            why: "no mirror to download from".into(),
        });
    }
    let agent = agent(opts);
    for file in entry.files {
        fetch_file(&agent, entry, file, &dir, &mirrors, opts, progress)?;
    }
    Ok(dir)
}

fn agent(opts: &FetchOptions) -> ureq::Agent {
    let mut cfg = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_resolve(Some(opts.connect_timeout))
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_recv_response(Some(opts.read_timeout))
        .timeout_per_read(Some(opts.read_timeout))
        .user_agent(concat!("dlscope/", env!("CARGO_PKG_VERSION")));
    if !opts.use_env_proxy {
        cfg = cfg.proxy(None);
    }
    cfg.build().new_agent()
}

/// Why one mirror could not deliver a file.
#[derive(Debug)]
enum Failure {
    /// No connection could be made (refused, DNS, connect timeout).
    Unreachable(String),
    /// The server answered with an error status.
    Status(u16),
    /// The bytes arrived but are not the published file.
    Checksum(String),
    /// The server sent more bytes, or announced a different size, than the published file.
    WrongSize(String),
    /// Transfers kept breaking off.
    Broken(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(why) => write!(f, "unreachable ({why})"),
            Failure::Status(s) => write!(f, "HTTP {s}"),
            Failure::Checksum(got) => write!(f, "checksum mismatch (got sha256 {got})"),
            Failure::WrongSize(why) => write!(f, "wrong size ({why})"),
            Failure::Broken(why) => write!(f, "transfer failed ({why})"),
        }
    }
}

fn fetch_file(
    agent: &ureq::Agent,
    entry: &Entry,
    file: &FileSpec,
    dir: &Path,
    mirrors: &[String],
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let target = dir.join(file.name);
    if target.is_file() {
        match catalog::check_file(file, &target)? {
            FileCheck::Official | FileCheck::KnownCopy { .. } => {
                progress(Progress::Done {
                    file: file.name,
                    path: target,
                    reused: true,
                });
                return Ok(());
            }
            _ => progress(Progress::Retry {
                file: file.name,
                url: target.display().to_string(),
                reason: "the file already there does not match the published checksum; downloading it again".into(),
            }),
        }
    }
    let part = dir.join(format!("{}.part", file.name));
    let mut failures: Vec<(String, Failure)> = Vec::new();
    for (i, base) in mirrors.iter().enumerate() {
        let url = format!("{base}{}", file.name);
        let next = if i + 1 < mirrors.len() {
            "; trying the next mirror"
        } else {
            ""
        };
        if let Err(failure) = fetch_from(agent, &url, file, &part, opts, progress)? {
            progress(Progress::Retry {
                file: file.name,
                url: url.clone(),
                reason: format!("{failure}{next}"),
            });
            failures.push((url, failure));
            continue;
        }
        progress(Progress::Verifying { file: file.name });
        let sha = catalog::sha256_file(&part)?;
        if sha != file.sha256 {
            remove(&part)?;
            let failure = Failure::Checksum(sha);
            progress(Progress::Retry {
                file: file.name,
                url: url.clone(),
                reason: format!("{failure}{next}"),
            });
            failures.push((url, failure));
            continue;
        }
        File::open(&part)
            .and_then(|f| f.sync_all())
            .map_err(|e| DataError::io(&part, "sync", e))?;
        std::fs::rename(&part, &target)
            .map_err(|e| DataError::io(&target, "rename into place", e))?;
        progress(Progress::Done {
            file: file.name,
            path: target,
            reused: false,
        });
        return Ok(());
    }
    Err(all_failed(entry, file, dir, &failures))
}

fn all_failed(
    entry: &Entry,
    file: &FileSpec,
    dir: &Path,
    failures: &[(String, Failure)],
) -> DataError {
    let tried = failures
        .iter()
        .map(|(url, f)| format!("{url}: {f}"))
        .collect::<Vec<_>>()
        .join("; ");
    let by_hand = format!(
        "download the files by hand ({}) and place them in {} (or in $DLSCOPE_DATA/{}/)",
        entry
            .files
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", "),
        dir.display(),
        entry.name
    );
    let offline = failures
        .iter()
        .all(|(_, f)| matches!(f, Failure::Unreachable(_)));
    let why = if offline {
        format!(
            "could not reach any mirror for {} (tried {tried}); check the network connection or proxy settings, or {by_hand}",
            file.name
        )
    } else {
        format!("every mirror failed for {} ({tried}); {by_hand}", file.name)
    };
    DataError::Download {
        name: entry.name.into(),
        why,
    }
}

/// Brings `part` to the full size from one mirror, resuming and retrying. The outer `Result`
/// is a local failure (disk), which stops everything; the inner one is this mirror's failure.
fn fetch_from(
    agent: &ureq::Agent,
    url: &str,
    file: &FileSpec,
    part: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<std::result::Result<(), Failure>> {
    let max_stalls = opts.attempts_per_mirror.max(1);
    // A hard bound even for a server that sends a few bytes and drops, forever.
    let max_requests = max_stalls.saturating_mul(16);
    let mut stalls = 0;
    let mut last = Failure::Broken("no request was made".into());
    for _ in 0..max_requests {
        if stalls >= max_stalls {
            break;
        }
        let mut have = part_len(part)?;
        if have > file.size {
            truncate(part)?;
            have = 0;
        }
        if have == file.size {
            return Ok(Ok(()));
        }
        progress(Progress::Start {
            file: file.name,
            url: url.to_string(),
            done: have,
            total: file.size,
        });
        let mut req = agent.get(url);
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(e) => {
                let (failure, retryable) = classify(e);
                if !retryable {
                    return Ok(Err(failure));
                }
                stalls += 1;
                retry(progress, file, url, &failure.to_string());
                last = failure;
                continue;
            }
        };
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let start = match status {
            206 => match header("content-range")
                .as_deref()
                .and_then(parse_content_range)
            {
                Some((start, total)) if start == have && total.is_none_or(|t| t == file.size) => {
                    have
                }
                Some((_, Some(total))) if total != file.size => {
                    return Ok(Err(Failure::WrongSize(format!(
                        "server says the file has {total} bytes, the published file has {}",
                        file.size
                    ))));
                }
                _ => {
                    truncate(part)?;
                    stalls += 1;
                    last = Failure::Broken("server answered with a different range".into());
                    retry(
                        progress,
                        file,
                        url,
                        "server answered with a different range; starting over",
                    );
                    continue;
                }
            },
            200 => {
                if have > 0 {
                    retry(
                        progress,
                        file,
                        url,
                        "server ignored the range request; starting over",
                    );
                }
                0
            }
            416 => {
                truncate(part)?;
                stalls += 1;
                last = Failure::Status(416);
                retry(
                    progress,
                    file,
                    url,
                    "HTTP 416 for the resume range; starting over",
                );
                continue;
            }
            s if (500..600).contains(&s) || s == 408 || s == 429 => {
                stalls += 1;
                last = Failure::Status(s);
                retry(progress, file, url, &last.to_string());
                continue;
            }
            s => return Ok(Err(Failure::Status(s))),
        };
        if let Some(len) = header("content-length").and_then(|v| v.trim().parse::<u64>().ok()) {
            if start + len != file.size {
                return Ok(Err(Failure::WrongSize(format!(
                    "server sends {} bytes, the published file has {}",
                    start + len,
                    file.size
                ))));
            }
        }
        if start == 0 {
            truncate(part)?;
        }
        let reader = resp.into_body().into_reader();
        match copy_body(reader, part, start, file, progress)? {
            Ok(done) if done == file.size => return Ok(Ok(())),
            Ok(done) => {
                stalls = if done > have { 0 } else { stalls + 1 };
                last = Failure::Broken(format!(
                    "connection closed at {done} of {} bytes",
                    file.size
                ));
                retry(progress, file, url, &format!("{last}; resuming"));
            }
            Err(Failure::Broken(why)) => {
                let done = part_len(part)?;
                stalls = if done > have { 0 } else { stalls + 1 };
                last = Failure::Broken(format!("{why} at {done} of {} bytes", file.size));
                retry(progress, file, url, &format!("{last}; resuming"));
            }
            Err(other) => {
                remove(part)?;
                return Ok(Err(other));
            }
        }
    }
    Ok(Err(last))
}

fn retry(progress: &mut dyn FnMut(Progress), file: &FileSpec, url: &str, reason: &str) {
    progress(Progress::Retry {
        file: file.name,
        url: url.to_string(),
        reason: reason.to_string(),
    });
}

/// Appends the body to `part` (which holds `start` bytes). Returns the bytes now on disk, or
/// the mirror's failure (`Broken` for a dropped connection, `WrongSize` for too many bytes).
fn copy_body(
    mut body: impl Read,
    part: &Path,
    start: u64,
    file: &FileSpec,
    progress: &mut dyn FnMut(Progress),
) -> Result<std::result::Result<u64, Failure>> {
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(part)
        .map_err(|e| DataError::io(part, "open for append", e))?;
    let mut done = start;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                out.flush().map_err(|e| DataError::io(part, "write", e))?;
                return Ok(Err(Failure::Broken(e.to_string())));
            }
        };
        if done + n as u64 > file.size {
            return Ok(Err(Failure::WrongSize(format!(
                "server sent more than the published {} bytes",
                file.size
            ))));
        }
        out.write_all(&buf[..n])
            .map_err(|e| DataError::io(part, "write", e))?;
        done += n as u64;
        progress(Progress::Advance {
            file: file.name,
            done,
            total: file.size,
        });
    }
    out.flush().map_err(|e| DataError::io(part, "write", e))?;
    Ok(Ok(done))
}

/// `bytes START-END/TOTAL` -> (START, TOTAL); TOTAL is `None` for `*`.
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start, total))
}

/// A request that got no response: why, and whether asking the same mirror again may help.
/// Every such failure counts as "unreachable" for the offline message.
fn classify(e: ureq::Error) -> (Failure, bool) {
    use std::io::ErrorKind as K;
    let gone = Failure::Unreachable;
    match e {
        ureq::Error::HostNotFound => (gone("host not found".into()), false),
        ureq::Error::ConnectionFailed => (gone("connection failed".into()), false),
        ureq::Error::Timeout(t) => (gone(format!("timed out: {t}")), true),
        ureq::Error::Io(io) => {
            let transient = matches!(
                io.kind(),
                K::ConnectionReset
                    | K::ConnectionAborted
                    | K::BrokenPipe
                    | K::UnexpectedEof
                    | K::TimedOut
                    | K::Interrupted
            );
            // Refused connections and failed name lookups (which std reports without a
            // specific kind) will not change on a retry.
            (gone(io.to_string()), transient)
        }
        // TLS, protocol and redirect errors: the server answered, but not usefully.
        other => (Failure::Broken(other.to_string()), true),
    }
}

fn part_len(part: &Path) -> Result<u64> {
    match std::fs::metadata(part) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(DataError::io(part, "stat", e)),
    }
}

fn truncate(part: &Path) -> Result<()> {
    File::create(part)
        .map(drop)
        .map_err(|e| DataError::io(part, "truncate", e))
}

fn remove(part: &Path) -> Result<()> {
    match std::fs::remove_file(part) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DataError::io(part, "remove", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn offline_error_lists_mirrors_and_the_manual_route() {
        let entry = catalog::find("mnist")
            .copied()
            .unwrap_or_else(|| catalog::entries()[0]);
        let failures = vec![
            (
                "http://a/x".to_string(),
                Failure::Unreachable("connection refused".into()),
            ),
            (
                "http://b/x".to_string(),
                Failure::Unreachable("host not found".into()),
            ),
        ];
        let msg =
            all_failed(&entry, &entry.files[0], Path::new("/data/mnist"), &failures).to_string();
        assert!(msg.contains("could not reach any mirror"), "{msg}");
        assert!(
            msg.contains("http://a/x") && msg.contains("http://b/x"),
            "{msg}"
        );
        assert!(
            msg.contains("/data/mnist") && msg.contains("$DLSCOPE_DATA/mnist/"),
            "{msg}"
        );
        let mixed = vec![
            ("http://a/x".to_string(), Failure::Status(404)),
            (
                "http://b/x".to_string(),
                Failure::Unreachable("refused".into()),
            ),
        ];
        let msg = all_failed(&entry, &entry.files[0], Path::new("/d"), &mixed).to_string();
        assert!(
            !msg.contains("could not reach any mirror") && msg.contains("HTTP 404"),
            "{msg}"
        );
    }
}
