//! The end-to-end suite as one binary (it links once): a module per behaviour, each
//! listing its tests with `tests::register!` at its end. The helpers live in the
//! `tests` library (`tests/src/`); `cargo test -p tests --test e2e -- FILTER` runs some.

mod browser;
mod cache;
mod client;
mod client_docs;
mod client_items;
mod client_peers;
mod client_repl;
mod client_responses;
mod client_server;
mod client_session;
mod client_terminal;
mod client_tls;
mod config_file;
mod connection;
mod dir_listing;
mod error_log;
mod file_reply;
mod handler;
mod http2;
mod http2_attacks;
mod interop_curl;
mod interop_python;
mod listener;
mod ops_activation;
mod ops_haproxy;
mod ops_restart;
mod redbot;
mod request;
mod resolve;
mod send;
mod shutdown;
mod site_rules;
mod site_rules_access;
mod syscalls;
mod tls;
mod tls_interop;
mod variants;

fn main() {
    tests::harness::run(&[
        browser::trials,
        cache::trials,
        client::trials,
        client_docs::trials,
        client_items::trials,
        client_peers::trials,
        client_repl::trials,
        client_responses::trials,
        client_server::trials,
        config_file::trials,
        client_session::trials,
        client_terminal::trials,
        client_tls::trials,
        connection::trials,
        dir_listing::trials,
        error_log::trials,
        file_reply::trials,
        handler::trials,
        http2::trials,
        http2_attacks::trials,
        interop_curl::trials,
        interop_python::trials,
        listener::trials,
        ops_activation::trials,
        ops_haproxy::trials,
        ops_restart::trials,
        redbot::trials,
        request::trials,
        resolve::trials,
        send::trials,
        shutdown::trials,
        site_rules::trials,
        site_rules_access::trials,
        syscalls::trials,
        tls::trials,
        tls_interop::trials,
        variants::trials,
    ]);
}
