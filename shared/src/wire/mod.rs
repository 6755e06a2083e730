//! The HTTP/1 wire library both sides share: [`message`] (version, fields, keep-alive,
//! body framing), [`body`] (the one body decoder), [`request`] and [`response`] heads on
//! top of them, head [`format`]ting, [`status`] codes, HTTP [`date`]s and the [`limits`] a
//! peer is held to. Nothing here knows about files, sites or the server's policy.

pub mod body;
pub mod date;
pub mod format;
pub mod limits;
pub mod message;
pub mod request;
pub mod response;
pub mod status;
