//! Well-behaved exchanges through `h2`'s client.

use super::{big_content, patient, quick, serve, BIG};
use crate::rt::Async;
use bytes::Bytes;
use h2::client::SendRequest;
use http::{Method, Request, Response};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use tokio_util::compat::FuturesAsyncReadCompatExt;

/// A client connection with the given stream window (and a large connection window).
async fn client_with(io: UnixStream, window: u32) -> SendRequest<Bytes> {
    let io = Async::new(io).unwrap().compat();
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(window)
        .initial_connection_window_size(8 * 1024 * 1024)
        .handshake::<_, Bytes>(io)
        .await
        .unwrap();
    crate::rt::spawn(async move {
        let _ = conn.await;
    });
    send
}

async fn client(io: UnixStream) -> SendRequest<Bytes> {
    client_with(io, 65_535).await
}

/// Sends one request; returns the response head, whether the head ended the stream,
/// and the body.
async fn exchange(
    send: &mut SendRequest<Bytes>,
    req: Request<()>,
) -> Result<(Response<()>, bool, Vec<u8>), h2::Error> {
    let mut ready = send.clone().ready().await?;
    let (response, _) = ready.send_request(req, true)?;
    let response = response.await?;
    let (parts, mut body) = response.into_parts();
    let ended = body.is_end_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    Ok((Response::from_parts(parts, ()), ended, bytes))
}

fn get(path: &str) -> Request<()> {
    with_method(Method::GET, path)
}

#[test]
fn a_small_body_arrives_without_http1_fields() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let (head, _, body) = exchange(&mut c, get("/hello")).await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(body, b"hello");
        assert_eq!(head.headers()["content-length"], "5");
        for f in ["connection", "keep-alive", "transfer-encoding"] {
            assert!(head.headers().get(f).is_none(), "{f} reached HTTP/2");
        }
    });
}

#[test]
fn a_large_file_streams_through_many_windows() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let (head, _, body) = exchange(&mut c, get("/big")).await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(body.len(), BIG);
        assert!(body == big_content(), "body bytes differ");
    });
}

#[test]
fn memory_and_file_pieces_arrive_in_order() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let (head, _, body) = exchange(&mut c, get("/parts")).await.unwrap();
        assert_eq!(head.status(), 206);
        let big = big_content();
        let mut expected = b"<a>".to_vec();
        expected.extend_from_slice(&big[5..15]);
        expected.extend_from_slice(b"<b>");
        expected.extend_from_slice(&big[1_000_000..1_100_000]);
        expected.extend_from_slice(b"<c>");
        assert!(body == expected, "body differs");
    });
}

#[test]
fn head_and_304_end_the_stream_with_the_head() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let head_req = Request::builder()
            .method(Method::HEAD)
            .uri("https://localhost/big")
            .body(())
            .unwrap();
        let (head, ended, body) = exchange(&mut c, head_req).await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], BIG.to_string().as_str());
        assert!(ended && body.is_empty());
        let (head, ended, body) = exchange(&mut c, get("/not-modified")).await.unwrap();
        assert_eq!(head.status(), 304);
        assert!(ended && body.is_empty());
    });
}

#[test]
fn twenty_streams_share_one_connection() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let c = client(io).await;
        let transfers = (0..20).map(|i| {
            let mut c = c.clone();
            async move {
                let path = if i % 2 == 0 { "/big" } else { "/hello" };
                let (head, _, body) = exchange(&mut c, get(path)).await.unwrap();
                assert_eq!(head.status(), 200);
                body.len()
            }
        });
        let lens = futures::future::join_all(transfers).await;
        for (i, len) in lens.into_iter().enumerate() {
            assert_eq!(len, if i % 2 == 0 { BIG } else { 5 });
        }
    });
}

#[test]
fn repeated_fields_and_authority_reach_the_handler() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let req = Request::get("https://example.test:8443/fields")
            .header("accept-encoding", "gzip")
            .header("accept-encoding", "br")
            .body(())
            .unwrap();
        let (_, _, body) = exchange(&mut c, req).await.unwrap();
        assert_eq!(body, b"gzip+br|example.test:8443");
    });
}

#[test]
fn more_fields_than_http1_allows_get_431_as_over_http1() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let mut req = Request::get("https://localhost/hello");
        for i in 0..=shared::wire::limits::MAX_HEADERS {
            req = req.header(format!("x-{i}"), "1");
        }
        let (head, _, _) = exchange(&mut c, req.body(()).unwrap()).await.unwrap();
        assert_eq!(head.status(), 431);
        // The connection carries on.
        let (head, _, _) = exchange(&mut c, get("/hello")).await.unwrap();
        assert_eq!(head.status(), 200);
    });
}

#[test]
fn a_panicking_handler_resets_its_stream_only() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let e = exchange(&mut c, get("/panic")).await.unwrap_err();
        assert!(e.is_reset(), "{e}");
        let (head, _, _) = exchange(&mut c, get("/hello")).await.unwrap();
        assert_eq!(head.status(), 200);
    });
}

#[test]
fn a_stream_that_never_opens_its_window_is_reset_after_the_send_timeout() {
    let (io, served) = serve(quick());
    crate::rt::block_on(async {
        // A stream window of 0: the server may send the head but not one DATA byte.
        let mut c = client_with(io, 0).await;
        let e = exchange(&mut c, get("/big")).await.unwrap_err();
        assert_eq!(e.reason(), Some(h2::Reason::CANCEL), "{e}");
        // Other streams are not affected (a head-only answer needs no window).
        let head = Request::head("https://localhost/hello").body(()).unwrap();
        let (head, _, _) = exchange(&mut c, head).await.unwrap();
        assert_eq!(head.status(), 200);
        drop(c);
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
}

#[test]
fn an_idle_connection_gets_goaway_after_the_idle_timeout() {
    let (io, served) = serve(quick());
    crate::rt::block_on(async {
        let mut c = client(io).await;
        let (head, _, _) = exchange(&mut c, get("/hello")).await.unwrap();
        assert_eq!(head.status(), 200);
        // Nothing more: the server says GOAWAY and the connection ends.
        assert!(served.ended_within(Duration::from_secs(20)).await);
        let e = exchange(&mut c, get("/hello")).await.unwrap_err();
        assert!(e.is_go_away() || e.is_io(), "{e}");
    });
}

#[test]
fn the_request_cap_ends_the_connection_after_its_last_answer() {
    let mut settings = patient();
    settings.max_requests = 3;
    let (io, served) = serve(settings);
    crate::rt::block_on(async {
        let mut c = client(io).await;
        for _ in 0..3 {
            let (head, _, body) = exchange(&mut c, get("/hello")).await.unwrap();
            assert_eq!(
                (head.status().as_u16(), body.as_slice()),
                (200, &b"hello"[..])
            );
        }
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
}

#[test]
fn graceful_shutdown_lets_an_open_stream_finish() {
    let (io, served) = serve(patient());
    crate::rt::block_on(async {
        let c = client(io).await;
        let mut ready = c.clone().ready().await.unwrap();
        let (response, _) = ready.send_request(get("/big"), true).unwrap();
        let response = response.await.unwrap();
        let mut body = response.into_body();
        // Part of the body has arrived; now the server shuts down.
        let first = body.data().await.unwrap().unwrap();
        served.shutdown.fire();
        let mut total = first.len();
        let _ = body.flow_control().release_capacity(first.len());
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            total += chunk.len();
        }
        assert_eq!(total, BIG);
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
}

#[test]
fn a_connection_opened_during_shutdown_is_closed_with_goaway() {
    let (io, served) = serve(patient());
    served.shutdown.fire();
    crate::rt::block_on(async {
        let _c = client(io).await;
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
}

/// Sends `req` with `body` (no `content-length` unless `req` has one); returns the
/// status.
async fn upload(
    send: &mut SendRequest<Bytes>,
    req: Request<()>,
    body: Vec<u8>,
) -> Result<u16, h2::Error> {
    let mut ready = send.clone().ready().await?;
    let (response, mut stream) = ready.send_request(req, false)?;
    // The body goes in its own task: the answer may come before it has all gone.
    crate::rt::spawn(async move {
        let mut body = Bytes::from(body);
        while !body.is_empty() {
            stream.reserve_capacity(body.len());
            let granted = match futures::future::poll_fn(|cx| stream.poll_capacity(cx)).await {
                Some(Ok(n)) => n,
                _ => return,
            };
            let piece = body.split_to(granted.min(body.len()));
            if stream.send_data(piece, body.is_empty()).is_err() {
                return;
            }
        }
    });
    Ok(response.await?.status().as_u16())
}

fn with_method(method: Method, path: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri(format!("https://localhost{path}"))
        .body(())
        .unwrap()
}

#[test]
fn a_body_is_read_to_its_end_then_the_request_answered() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut send = client(io).await;
        // 300 KiB: several windows, given back as the body is read.
        let status = upload(&mut send, get("/hello"), vec![7; 300 * 1024]).await;
        assert_eq!(status.unwrap(), 200);
        let status = upload(&mut send, with_method(Method::POST, "/hello"), vec![7; 10]).await;
        assert_eq!(status.unwrap(), 200, "the stub answers any method");
    });
}

#[test]
fn a_body_past_the_discard_limit_gets_413() {
    let (io, _served) = serve(patient());
    crate::rt::block_on(async {
        let mut send = client(io).await;
        let limit = shared::wire::limits::MAX_DISCARDED_BODY as usize;
        let status = upload(&mut send, get("/hello"), vec![7; limit + 1]).await;
        assert_eq!(status.unwrap(), 413);
        // Announced too large: refused at once, unread.
        let mut req = get("/hello");
        req.headers_mut()
            .insert("content-length", (limit + 1).to_string().parse().unwrap());
        let mut ready = send.clone().ready().await.unwrap();
        let (response, _stream) = ready.send_request(req, false).unwrap();
        assert_eq!(response.await.unwrap().status().as_u16(), 413);
        // The connection still serves.
        let (head, _, body) = exchange(&mut send, get("/hello")).await.unwrap();
        assert_eq!(
            (head.status().as_u16(), body.as_slice()),
            (200, &b"hello"[..])
        );
    });
}

#[test]
fn a_body_that_never_ends_gets_408_and_the_connection_goaway() {
    let mut settings = patient();
    settings.head_timeout = Duration::from_millis(200);
    let (io, served) = serve(settings);
    crate::rt::block_on(async {
        let send = client(io).await;
        let mut ready = send.ready().await.unwrap();
        let started = std::time::Instant::now();
        let (response, _stream) = ready.send_request(get("/hello"), false).unwrap();
        assert_eq!(response.await.unwrap().status().as_u16(), 408);
        // A head's timeout and a second.
        assert!(started.elapsed() >= Duration::from_millis(1200));
        // Then GOAWAY, as HTTP/1.1 closes after its 408: the connection ends.
        drop(_stream);
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
}

/// Review finding: time spent waiting for a request body counted as time the client
/// took to read our responses, and the read-rate floor cut the connection ("send
/// timeout") while the client was still uploading, with a send timeout under the head
/// timeout plus a second.
#[test]
fn a_slow_upload_is_not_taken_for_a_slow_reader() {
    let mut settings = patient();
    settings.head_timeout = Duration::from_secs(5);
    settings.send_timeout = Duration::from_millis(500);
    let (io, _served) = serve(settings);
    crate::rt::block_on(async {
        let send = client(io).await;
        let mut ready = send.ready().await.unwrap();
        let (response, mut stream) = ready.send_request(get("/hello"), false).unwrap();
        crate::rt::spawn(async move {
            // Ten bytes every 200 ms for 2 s: four send timeouts' worth.
            for i in 0..10 {
                crate::rt::sleep(Duration::from_millis(200)).await;
                let _ = stream.send_data(Bytes::from_static(b"0123456789"), i == 9);
            }
        });
        assert_eq!(response.await.unwrap().status().as_u16(), 200);
    });
}
