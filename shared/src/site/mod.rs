//! The server's pure site logic, built on [`crate::wire`]: request [`path`] sanitising,
//! [`conditional`] requests and entity-tag [`validators`], byte [`range`]s, content-coding
//! negotiation ([`encoding`]), directory [`listing`]s, [`mime`] types and error [`page`]s.
//! The client does not use this half.

pub mod conditional;
pub mod encoding;
pub mod listing;
pub mod mime;
pub mod page;
pub mod path;
pub mod range;
pub mod validators;
