//! Faults a test queues for the next requests to an endpoint.

use serde::{Deserialize, Serialize};

/// What to do instead of (or before) answering normally. Each queued fault applies to `times`
/// consecutive requests of its endpoint, then the next fault (or normal service) follows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Fault {
    /// `token` (default), `jwks`, `userinfo`…
    pub endpoint: String,
    /// Wait this long before answering.
    pub delay_ms: u64,
    /// Answer with this status (and `body`) instead of the real answer.
    pub status: Option<u16>,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Answer 200 with a body of this many bytes (an oversized response).
    pub body_bytes: Option<usize>,
    /// Break the connection instead of answering.
    pub drop_connection: bool,
    /// Handle the request first (a client assertion's `jti` is spent, a refresh token
    /// rotates), then answer with the fault: the answer is lost, its effects are not.
    pub after_handling: bool,
    pub times: u32,
}

impl Fault {
    fn new() -> Self {
        Self {
            endpoint: "token".into(),
            times: 1,
            ..Self::default()
        }
    }

    /// `status` with an Auth0-style error body.
    pub fn status(status: u16, error: &str, description: &str) -> Self {
        Self {
            status: Some(status),
            body: Some(
                serde_json::json!({"error": error, "error_description": description}).to_string(),
            ),
            ..Self::new()
        }
    }

    /// Auth0's 429 with `Retry-After` (seconds).
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut f = Self::status(429, "too_many_requests", "Global limit has been reached");
        f.headers = vec![("retry-after".into(), retry_after_secs.to_string())];
        f
    }

    /// Any status and raw body (malformed JSON, missing fields, wrong types…).
    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status: Some(status),
            body: Some(body.into()),
            ..Self::new()
        }
    }

    pub fn delay(ms: u64) -> Self {
        Self {
            delay_ms: ms,
            ..Self::new()
        }
    }

    pub fn oversized(bytes: usize) -> Self {
        Self {
            body_bytes: Some(bytes),
            ..Self::new()
        }
    }

    pub fn drop_connection() -> Self {
        Self {
            drop_connection: true,
            ..Self::new()
        }
    }

    /// Fills what a hand-built or deserialized fault left out: the `token` endpoint, and at
    /// least one request.
    pub fn normalized(mut self) -> Self {
        if self.endpoint.is_empty() {
            self.endpoint = "token".into();
        }
        self.times = self.times.max(1);
        self
    }

    pub fn times(mut self, n: u32) -> Self {
        self.times = n.max(1);
        self
    }

    pub fn on(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// See [`Fault::after_handling`].
    pub fn after_handling(mut self) -> Self {
        self.after_handling = true;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl Fault {
    /// Accepts the request and never answers (an hour): a black-holed issuer. Queue it with
    /// `times(n)` for an outage of `n` requests; `Issuer::reset` ends it.
    pub fn black_hole() -> Self {
        Self::delay(3_600_000)
    }
}

/// A seeded random fault on a share of the requests of one endpoint (the soak): 5xx, 429,
/// dropped connections and delays, in equal parts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RandomFaults {
    /// Share of requests faulted, in [0, 1].
    pub rate: f64,
    pub seed: u64,
    /// `token` when empty.
    #[serde(default)]
    pub endpoint: String,
}

pub(crate) struct Dice {
    pub spec: RandomFaults,
    rng: rand::rngs::StdRng,
}

impl Dice {
    pub fn new(mut spec: RandomFaults) -> Self {
        use rand::SeedableRng;
        if spec.endpoint.is_empty() {
            spec.endpoint = "token".into();
        }
        let rng = rand::rngs::StdRng::seed_from_u64(spec.seed);
        Self { spec, rng }
    }

    /// The fault for the next request of `endpoint`, if the dice say so.
    pub fn roll(&mut self, endpoint: &str) -> Option<Fault> {
        use rand::Rng;
        if endpoint != self.spec.endpoint || !self.rng.random_bool(self.spec.rate.clamp(0.0, 1.0)) {
            return None;
        }
        Some(match self.rng.random_range(0..5) {
            0 => Fault::status(500, "server_error", "random fault"),
            1 => Fault::status(503, "temporarily_unavailable", "random fault"),
            2 => Fault::rate_limited(1),
            3 => Fault::drop_connection(),
            _ => Fault::delay(self.rng.random_range(50..400)),
        })
    }
}
