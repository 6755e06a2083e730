//! Site rules from the config file: headers, redirects, CORS, Basic auth and the SPA
//! fallback, matched by path glob on the sanitised request path.

pub mod field;
pub mod file;
pub mod hash_password;
