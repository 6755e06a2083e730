//! Running I/O futures against timeouts (the runtime's timer lives here and in the
//! connection and listener modules only).

use async_io::Timer;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// Runs `fut`, failing with `TimedOut` if it takes longer than `limit`.
pub async fn timeout<T>(
    limit: Duration,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    futures_lite::future::or(fut, async {
        Timer::after(limit).await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await
}

/// Runs `fut`, failing with `TimedOut` at `deadline`.
pub async fn until<T>(
    deadline: Instant,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    futures_lite::future::or(fut, async {
        Timer::at(deadline).await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await
}

/// Sleeps for `d`.
pub async fn sleep(d: Duration) {
    Timer::after(d).await;
}
