//! Pinned weights: the table pins the exact fixture file, a missing file is explained, and the
//! `download` feature fetches it from a mirror (a tiny HTTP server on 127.0.0.1: nothing leaves
//! the machine), refusing bytes whose SHA-256 differs.

use dlscope_vision::download::pinned;
use dlscope_vision::weights::find_weights_in;
use dlscope_vision::VisionError;

use super::util::imagenet;

#[test]
fn the_pinned_lite0_entry_is_the_fixture_file() {
    let p = pinned("efficientnet-lite0").unwrap();
    let path = imagenet("efficientnet_lite0.safetensors");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), p.file.size);
    assert_eq!(
        dlscope_data::catalog::sha256_file(&path).unwrap(),
        p.file.sha256
    );
    assert_eq!(p.file.name, "efficientnet_lite0.safetensors");
    assert!(pinned("vgg16").is_some_and(
        |p| p.file.name.starts_with("vgg16-") && p.file.sha256.starts_with("397923af")
    ));
    assert!(pinned("vgg13").is_none());
}

#[test]
fn without_weights_the_message_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let e = find_weights_in("efficientnet-lite0", None, Some(dir.path()), None).unwrap_err();
    assert!(matches!(e, VisionError::WeightsNotFound { .. }), "{e}");
    let msg = e.to_string();
    for part in [
        "--weights FILE",
        "DLSCOPE_MODELS",
        "--download",
        "efficientnet_lite0.safetensors",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    let e = find_weights_in("vgg13", None, Some(dir.path()), None).unwrap_err();
    assert!(e.to_string().contains("no pinned download"), "{e}");
    // A file in the models folder is found without any download.
    let local = dir.path().join("vgg13.safetensors");
    std::fs::write(&local, b"x").unwrap();
    assert_eq!(
        find_weights_in("vgg13", None, Some(dir.path()), None).unwrap(),
        local
    );
}

#[cfg(feature = "download")]
mod fetching {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use dlscope_vision::weights::find_weights_in;
    use dlscope_vision::VisionError;

    use super::imagenet;

    /// Serves `body` at any path to at most `max_conns` connections (and for at most 20 s).
    fn serve(body: Vec<u8>, max_conns: usize) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/weights/", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut requests = 0;
            let mut conns = 0;
            while conns < max_conns && Instant::now() < deadline {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                conns += 1;
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                // Requests on this connection, one after another (keep-alive).
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    requests += 1;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                        body.len()
                    );
                    if out.write_all(head.as_bytes()).is_err() || out.write_all(&body).is_err() {
                        break;
                    }
                    out.flush().ok();
                }
            }
            requests
        });
        (base, handle)
    }

    fn downloader(base: &str) -> dlscope_vision::download::Downloader {
        use dlscope_data::download::FetchOptions;
        let opts = FetchOptions {
            mirrors: Some(vec![base.to_string()]),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            attempts_per_mirror: 1,
            use_env_proxy: false,
        };
        dlscope_vision::download::Downloader::with_options(opts, Box::new(|_| {}))
    }

    #[test]
    fn without_a_mirror_lite0_says_how_to_get_it() {
        use dlscope_data::download::FetchOptions;
        let dir = tempfile::tempdir().unwrap();
        let opts = FetchOptions {
            mirrors: None,
            ..FetchOptions::default()
        };
        let dl = dlscope_vision::download::Downloader::with_options(opts, Box::new(|_| {}));
        let e = find_weights_in("efficientnet-lite0", None, Some(dir.path()), Some(&dl))
            .unwrap_err()
            .to_string();
        for part in ["DLSCOPE_MODELS_MIRROR", "--weights FILE", "ca0243ad"] {
            assert!(e.contains(part), "{part}: {e}");
        }
    }

    #[test]
    fn download_fetches_the_pinned_file_and_checks_its_sha256() {
        use dlscope_vision::models::{self, Engine};
        let fixture = std::fs::read(imagenet("efficientnet_lite0.safetensors")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (base, server) = serve(fixture.clone(), 1);
        let dl = downloader(&base);
        let got = find_weights_in("efficientnet-lite0", None, Some(dir.path()), Some(&dl)).unwrap();
        assert_eq!(
            got,
            dir.path()
                .join("efficientnet-lite0")
                .join("efficientnet_lite0.safetensors")
        );
        assert_eq!(std::fs::read(&got).unwrap(), fixture);
        let info = models::find("efficientnet-lite0").unwrap();
        let m = models::load(info, &got, &Engine::Cpu).unwrap();
        assert_eq!(m.naming(), "lukemelas");
        // The second time the downloaded file is found in place: no request.
        drop(dl);
        let again = find_weights_in("efficientnet-lite0", None, Some(dir.path()), None).unwrap();
        assert_eq!(again, got);
        assert_eq!(server.join().unwrap(), 1);
    }

    #[test]
    fn a_sha256_mismatch_names_the_file_and_keeps_nothing() {
        let mut bytes = std::fs::read(imagenet("efficientnet_lite0.safetensors")).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let dir = tempfile::tempdir().unwrap();
        let (base, server) = serve(bytes, 1);
        let dl = downloader(&base);
        let e =
            find_weights_in("efficientnet-lite0", None, Some(dir.path()), Some(&dl)).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, VisionError::WeightsNotFound { .. }), "{msg}");
        assert!(
            msg.contains("efficientnet_lite0.safetensors") && msg.contains("checksum mismatch"),
            "{msg}"
        );
        let folder = dir.path().join("efficientnet-lite0");
        let left: Vec<_> = std::fs::read_dir(&folder)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{left:?}");
        assert!(server.join().unwrap() >= 1);
        assert!(!(folder.join("efficientnet_lite0.safetensors")).exists());
    }
}
