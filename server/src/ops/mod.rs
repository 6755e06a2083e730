//! Running under a service manager and behind a load balancer: listening sockets
//! handed over by systemd or by a binary upgrade ([`activation`]), telling the manager
//! we are ready or stopping ([`notify`]), closing a listener without resetting the
//! connections in its queue ([`drain`]), and handing the listeners to a new binary
//! without closing them ([`upgrade`]).

pub(crate) mod activation;
pub(crate) mod drain;
pub(crate) mod notify;
pub(crate) mod upgrade;
