//! HTTP to the authorization server: the options every config embeds, the URLs we accept, one
//! transport with retries, TLS roots and proxies, and the mapping of answers to typed errors.

mod options;
mod proxy;
mod response;
mod tls;
mod transport;
mod url;

#[cfg(feature = "fuzzing")]
pub(crate) use options::DEFAULT_RETRY_AFTER_CAP;
pub(crate) use options::{is_http_knob, KnobValue};
pub use options::{HttpOptions, Knob, KNOBS, TEXT_KNOBS};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use response::error_for;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use response::retry_after;
#[doc(hidden)]
pub use transport::shared_clients;
pub(crate) use transport::{AuthParts, Transport};
pub(crate) use url::{checked_url, shown};
