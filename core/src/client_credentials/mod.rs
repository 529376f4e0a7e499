//! Machine-to-machine tokens (the client-credentials grant): the client, its config, the
//! request (and its prepared form), the process-wide cache and the counters.

pub(crate) mod cache;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod exchange;
pub(crate) mod prepared;
pub(crate) mod request;
pub(crate) mod shared_level;
pub(crate) mod stats;
pub(crate) mod table;
