//! Static-file HTTP/1.1 server library.
