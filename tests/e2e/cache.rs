//! The small-file cache never serves a stale or escaped file: edits of the same size
//! within the same second, replacements, deletions and symlink swaps all show at once.

use std::os::unix::fs::symlink;
use std::time::Duration;
use tests::raw::get;
use tests::server::{write, TestServer};

/// Waits until files written now count as settled for the cache.
fn settle() {
    std::thread::sleep(Duration::from_millis(2200));
}

fn edits_replacements_and_deletions_are_never_served_stale() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    write(&root, "page.txt", b"version-1");
    write(&root, "gone.txt", b"here");
    write(&root, "swap.txt", b"inside!!");
    write(outer.path(), "secret.txt", b"SECRET!!");
    write(&root, "dir/index.html", b"index-1");
    settle();
    let server = TestServer::start_in(&root, &["--quiet"]);
    // Fill the cache, then hit it.
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/page.txt").text(), "version-1");
        assert_eq!(get(server.addr, "/gone.txt").text(), "here");
        assert_eq!(get(server.addr, "/swap.txt").text(), "inside!!");
        assert_eq!(get(server.addr, "/dir/").text(), "index-1");
    }
    // Same size, rewritten in place: must change at once.
    std::fs::write(root.join("page.txt"), b"version-2").unwrap();
    assert_eq!(get(server.addr, "/page.txt").text(), "version-2");
    std::fs::write(root.join("dir/index.html"), b"index-2").unwrap();
    assert_eq!(get(server.addr, "/dir/").text(), "index-2");
    // Deleted: 404.
    std::fs::remove_file(root.join("gone.txt")).unwrap();
    assert_eq!(get(server.addr, "/gone.txt").status, 404);
    // Swapped for a symlink leading out of the root (same size): refused, never served.
    std::fs::remove_file(root.join("swap.txt")).unwrap();
    symlink(outer.path().join("secret.txt"), root.join("swap.txt")).unwrap();
    let r = get(server.addr, "/swap.txt");
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("SECRET"));
    // A directory where a cached file was: the folder rules apply.
    std::fs::remove_file(root.join("page.txt")).unwrap();
    std::fs::create_dir(root.join("page.txt")).unwrap();
    assert_eq!(get(server.addr, "/page.txt").status, 301);
}

fn cached_files_still_honour_conditionals_and_ranges() {
    let site = tests::server::site();
    // 300 bytes: long enough for two ranges that stay apart (see below).
    write(site.path(), "data.txt", "0123456789".repeat(30).as_bytes());
    settle();
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let first = get(server.addr, "/data.txt");
    let etag = first.header("etag").unwrap().to_string();
    for _ in 0..2 {
        let r = tests::raw::exchange(
            server.addr,
            format!("GET /data.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.status, 304);
        let r = tests::raw::exchange(
            server.addr,
            b"GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-4\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.text().as_str()), (206, "234"));
        // Ranges closer than shared::site::range::COALESCE_GAP (80 bytes) merge into one part.
        let r = tests::raw::exchange(
            server.addr,
            b"GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,8-9\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.status, 206);
        assert_eq!(r.header("content-range"), Some("bytes 0-9/300"));
        assert_eq!(r.text(), "0123456789");
        // Ranges further apart are two parts of a multipart/byteranges body.
        let r = tests::raw::exchange(
            server.addr,
            b"GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,200-209\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.status, 206);
        let ct = r.header("content-type").unwrap_or("");
        assert!(ct.starts_with("multipart/byteranges; boundary="), "{ct}");
        let body = r.text();
        assert!(
            body.contains("Content-Range: bytes 0-0/300\r\n\r\n0\r\n"),
            "{body}"
        );
        assert!(
            body.contains("Content-Range: bytes 200-209/300\r\n\r\n0123456789\r\n"),
            "{body}"
        );
        assert_eq!(
            get(server.addr, "/data.txt").header("etag"),
            Some(etag.as_str())
        );
    }
}

/// A proven entry is served without a stat while inotify reports nothing
/// (server/src/files/watch.rs), so each route an edit can take must reach a watch and
/// show on the very next request.
fn edits_by_any_route_show_on_the_next_request() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    write(&root, "linked.txt", b"link-1");
    std::fs::hard_link(root.join("linked.txt"), outer.path().join("outside.txt")).unwrap();
    write(&root, "a/b/deep.txt", b"deep-1");
    // The same file under a second folder, to be swapped in for the first one.
    std::fs::create_dir_all(root.join("a2/b")).unwrap();
    std::fs::hard_link(root.join("a/b/deep.txt"), root.join("a2/b/deep.txt")).unwrap();
    write(&root, "real/via.txt", b"via-1");
    symlink("real", root.join("alias")).unwrap();
    write(&root, "big.bin", &[b'1'; 100_000]);
    settle();
    let server = TestServer::start_in(&root, &["--quiet"]);
    let text = |path: &str| get(server.addr, path).text();
    for _ in 0..3 {
        assert_eq!(text("/linked.txt"), "link-1");
        assert_eq!(text("/a/b/deep.txt"), "deep-1");
        assert_eq!(text("/alias/via.txt"), "via-1");
        assert_eq!(&text("/big.bin")[..3], "111");
    }
    // Through a hard link outside the root, where no folder watch can see it.
    std::fs::write(outer.path().join("outside.txt"), b"link-2").unwrap();
    assert_eq!(text("/linked.txt"), "link-2");
    // The folder swapped for another holding the same file: still served, and the new
    // folders are what is watched now, so replacing the file there shows at once.
    std::fs::rename(root.join("a"), root.join("a-old")).unwrap();
    std::fs::rename(root.join("a2"), root.join("a")).unwrap();
    assert_eq!(text("/a/b/deep.txt"), "deep-1");
    assert_eq!(text("/a/b/deep.txt"), "deep-1");
    // (Its inner folder swapped, so the file's own watch sees nothing.)
    write(&root, "a/b-next/deep.txt", b"deep-2");
    std::fs::rename(root.join("a/b"), root.join("a/b-old")).unwrap();
    std::fs::rename(root.join("a/b-next"), root.join("a/b")).unwrap();
    assert_eq!(text("/a/b/deep.txt"), "deep-2");
    // Through the real path of a symlinked folder.
    std::fs::write(root.join("real/via.txt"), b"via-2").unwrap();
    assert_eq!(text("/alias/via.txt"), "via-2");
    // A large (open-file) entry rewritten in place, same size.
    std::fs::write(root.join("big.bin"), [b'2'; 100_000]).unwrap();
    assert_eq!(&text("/big.bin")[..3], "222");
}

tests::register! {
    edits_replacements_and_deletions_are_never_served_stale,
    edits_by_any_route_show_on_the_next_request,
    cached_files_still_honour_conditionals_and_ranges,
}
