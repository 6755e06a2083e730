//! The `client` binary: a stub until the client issue lands.
fn main() {
    eprintln!("client: error: not implemented yet");
    std::process::exit(1);
}
