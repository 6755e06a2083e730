//! What a cached small file costs the handler in allocations, counted by a global
//! allocator for this test binary: each one is a `malloc` and a `free` per request, and
//! this round took the count from 11 to 2 (the sanitised path and the response's field
//! list; the rule path is built only when a rule looks at paths).

use super::{cache, handle, Handled};
use crate::context::Ctx;
use crate::files::root::Root;
use crate::state::State;
use shared::wire::message::Header;
use shared::StatusCode;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::time::SystemTime;

/// The system allocator, counting on threads that asked it to.
#[derive(Debug)]
struct Counting;

thread_local! {
    /// Allocations made on this thread since counting began; `None`: not counting.
    static COUNT: Cell<Option<usize>> = const { Cell::new(None) };
}

fn count_one() {
    // `try_with`: the allocator may run while this thread's locals are torn down.
    let _ = COUNT.try_with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + 1));
        }
    });
}

// SAFETY: every call is passed unchanged to the system allocator; counting touches only
// a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's obligations are `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(Some(0)));
    f();
    COUNT.with(|c| c.replace(None)).unwrap_or(0)
}

#[test]
fn a_cached_small_file_costs_the_handler_two_allocations() {
    let dir = std::env::temp_dir().join(format!("files-allocations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("HelloWorld.html");
    let body = "<h1>Hello, World!</h1>\n";
    std::fs::write(&file, body).unwrap();
    let config = <crate::Config as clap::Parser>::try_parse_from(["server"]).unwrap();
    let state = Arc::new(State::new(config, Root::open(&dir).unwrap()).unwrap());
    // Cached at once: a file just written is not settled (its change time is now), and
    // the test should not wait the two seconds.
    let meta = std::fs::metadata(&file).unwrap();
    let etag = shared::site::validators::strong_etag(&cache::version(&meta), None);
    let held = cache::Held::Bytes(body.as_bytes().to_vec().into());
    state.caches.files.insert(
        "HelloWorld.html",
        &meta,
        held,
        (etag.into(), "text/html".into()),
    );
    let fields = [Header {
        name: "Host",
        value: b"localhost",
    }];
    let request = || {
        let ctx = Ctx::new("GET", "/HelloWorld.html", &fields, SystemTime::now());
        let Handled::Ready(response) = handle(&ctx, &state) else {
            panic!("a cached file is answered at once");
        };
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.len(), 23);
    };
    // The first requests fill the cache, prove the entry and place its watches.
    for _ in 0..3 {
        request();
    }
    let counted = allocations(request);
    assert!(counted <= 2, "a cached hit made {counted} allocations");
    std::fs::remove_dir_all(&dir).unwrap();
}
