//! Unit tests of `watchdog.rs`.

use super::*;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

/// Whether the watched end of `pair` had its reading side cut (a read sees end of
/// input at once instead of waiting).
fn cut(watched: &mut UnixStream) -> bool {
    watched.set_nonblocking(true).unwrap();
    matches!(watched.read(&mut [0u8; 1]), Ok(0))
}

#[test]
fn a_passed_deadline_cuts_the_socket_and_records_the_phase() {
    let dog = Watchdog::new();
    let (mut watched, _peer) = UnixStream::pair().unwrap();
    let reg = dog.register(watched.as_fd(), Duration::ZERO);
    reg.set_phase(Phase::Head);
    dog.sweep(false);
    assert_eq!(reg.fired_in(), Some(Phase::Head));
    assert!(cut(&mut watched));
}

#[test]
fn a_future_deadline_is_left_alone_and_a_rearm_forgets_an_old_firing() {
    let dog = Watchdog::new();
    let (watched, _peer) = UnixStream::pair().unwrap();
    let reg = dog.register(watched.as_fd(), Duration::ZERO);
    dog.sweep(false);
    assert_eq!(reg.fired_in(), Some(Phase::Idle));
    // A response went out meanwhile: the next deadline starts clean.
    reg.arm(Duration::from_secs(60));
    assert_eq!(reg.fired_in(), None);
    dog.sweep(false);
    assert_eq!(reg.fired_in(), None);
    let (mut fresh, _peer2) = UnixStream::pair().unwrap();
    let _other = dog.register(fresh.as_fd(), Duration::from_secs(60));
    dog.sweep(false);
    assert!(!cut(&mut fresh));
}

#[test]
fn cut_idle_closes_the_longest_idle_connections_and_nothing_busy() {
    let dog = Watchdog::new();
    let mut pairs: Vec<(UnixStream, UnixStream)> =
        (0..5).map(|_| UnixStream::pair().unwrap()).collect();
    let phases = [
        Phase::Idle,
        Phase::Head,
        Phase::Idle,
        Phase::Fresh,
        Phase::Send,
    ];
    let mut regs = Vec::new();
    for ((watched, _), phase) in pairs.iter().zip(phases) {
        let reg = dog.register(watched.as_fd(), Duration::from_secs(60));
        reg.set_phase(phase);
        reg.mark_reusable();
        regs.push(reg);
        // Distinct idle-since times: the first registered has waited longest.
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(dog.cut_idle(1), 1);
    let cuts: Vec<bool> = pairs.iter_mut().map(|(w, _)| cut(w)).collect();
    assert_eq!(cuts, [true, false, false, false, false]);
    // Asked for more than there are: only the other idle one goes.
    assert_eq!(dog.cut_idle(8), 1);
    let cuts: Vec<bool> = pairs.iter_mut().map(|(w, _)| cut(w)).collect();
    assert_eq!(cuts, [true, false, true, false, false]);
    assert_eq!(dog.cut_idle(8), 0);
    // Idle before its first request (not reusable), or with a request already in
    // its socket: left alone.
    let (mut fresh, _p1) = UnixStream::pair().unwrap();
    let fresh_reg = dog.register(fresh.as_fd(), Duration::from_secs(60));
    fresh_reg.set_phase(Phase::Idle);
    let (mut asked, mut asker) = UnixStream::pair().unwrap();
    let asked_reg = dog.register(asked.as_fd(), Duration::from_secs(60));
    asked_reg.set_phase(Phase::Idle);
    asked_reg.mark_reusable();
    std::io::Write::write_all(&mut asker, b"G").unwrap();
    assert_eq!(dog.cut_idle(8), 0);
    assert!(!cut(&mut fresh));
    asked.set_nonblocking(true).unwrap();
    assert_eq!(asked.read(&mut [0u8; 1]).ok(), Some(1));
    // Cut to make room, not for a passed deadline: they close without a 408.
    assert!(regs.iter().all(|r| r.fired_in().is_none()));
}

#[test]
fn the_closing_sweep_cuts_idle_and_draining_connections_but_not_a_send() {
    let dog = Watchdog::new();
    let mut pairs: Vec<(UnixStream, UnixStream)> =
        (0..3).map(|_| UnixStream::pair().unwrap()).collect();
    let regs: Vec<Registration> = pairs
        .iter()
        .zip([Phase::Idle, Phase::Drain, Phase::Send])
        .map(|((watched, _), phase)| {
            let reg = dog.register(watched.as_fd(), Duration::from_secs(60));
            reg.set_phase(phase);
            reg
        })
        .collect();
    // An idle connection used a moment ago is left for the request likely on its way
    // (SHUTDOWN_QUIET); once that has passed, the closing sweep cuts it.
    std::thread::sleep(SHUTDOWN_QUIET + Duration::from_millis(20));
    dog.sweep(true);
    let cuts: Vec<bool> = pairs.iter_mut().map(|(w, _)| cut(w)).collect();
    assert_eq!(cuts, [true, true, false]);
    // Cut for shutting down, not for a passed deadline.
    assert!(regs.iter().all(|r| r.fired_in().is_none()));
}
