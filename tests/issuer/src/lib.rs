//! A small, Auth0-compatible authorization server on 127.0.0.1, for tests.
//!
//! It serves `POST /oauth/token` (client credentials; form or JSON bodies;
//! `client_secret_post`, `client_secret_basic`, `private_key_jwt`) and
//! `GET /.well-known/jwks.json`, issues RS256 JWT access tokens shaped like Auth0's, answers
//! errors with Auth0's statuses and bodies, counts requests per endpoint, and injects faults.
//!
//! Tests in other languages run the `tokenkeeper-issuer` binary and drive it over HTTP:
//! `GET /__admin/stats`, `POST /__admin/faults` (a [`Fault`] or a list), `POST /__admin/apis`
//! (an [`Api`]), `POST /__admin/reset`.

// Handlers return early with a whole HTTP response as their error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

mod faults;
mod keys;
mod token;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State as AxState;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub use faults::Fault;
use keys::{ClientKeyPair, SigningKey};

/// An API (resource server): its identifier, scopes and access-token lifetime.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Api {
    pub audience: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seconds; Auth0's default is 86400.
    #[serde(default = "default_lifetime")]
    pub lifetime: u64,
}

fn default_lifetime() -> u64 {
    86_400
}

/// A registered application.
#[derive(Clone)]
pub(crate) struct Client {
    pub secret: Option<String>,
    pub keys: Vec<Arc<ClientKeyPair>>,
    /// Audiences it has a client grant for (`*`: every API).
    pub grants: HashSet<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
}

pub(crate) struct State {
    pub issuer: String,
    pub signing: SigningKey,
    pub clients: HashMap<String, Client>,
    pub apis: Mutex<HashMap<String, Api>>,
    pub organizations: Vec<Organization>,
    pub faults: Mutex<VecDeque<Fault>>,
    pub counts: Mutex<HashMap<String, u64>>,
    pub used_jti: Mutex<HashSet<String>>,
}

impl State {
    pub fn count(&self, endpoint: &str) {
        *self
            .counts
            .lock()
            .unwrap()
            .entry(endpoint.to_string())
            .or_default() += 1;
    }

    /// The next fault queued for `endpoint`, consuming one of its `times`.
    pub fn take_fault(&self, endpoint: &str) -> Option<Fault> {
        let mut q = self.faults.lock().unwrap();
        let i = q.iter().position(|f| f.endpoint == endpoint)?;
        let f = q[i].clone();
        if q[i].times <= 1 {
            q.remove(i);
        } else {
            q[i].times -= 1;
        }
        Some(f)
    }
}

/// Credentials of the fixture's clients, for tests.
#[derive(Debug, Clone, Serialize)]
pub struct Fixture {
    /// `http://127.0.0.1:PORT`: pass as the domain.
    pub url: String,
    /// `http://127.0.0.1:PORT/`: the `iss` of every token.
    pub issuer: String,
    /// Client credentials app with a secret (post or basic), granted every API.
    pub client_id: String,
    pub client_secret: String,
    /// `private_key_jwt` app, granted every API; RSA key for RS256/PS256, EC key for ES256.
    pub jwt_client_id: String,
    pub jwt_rsa_private_key: String,
    pub jwt_ec_private_key: String,
    /// An app with no client grant.
    pub ungranted_client_id: String,
    pub ungranted_client_secret: String,
    pub apis: Vec<Api>,
    pub organizations: Vec<Organization>,
}

/// The main API of the fixture (86400 s tokens).
pub const API: &str = "https://api.example.com";
/// An API whose tokens live 5 seconds.
pub const SHORT_API: &str = "https://short.example.com";

/// A running issuer; stops when dropped.
pub struct Issuer {
    pub fixture: Fixture,
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Issuer {
    /// Starts on an ephemeral loopback port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let issuer = format!("{url}/");
        let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let apis = vec![
            Api {
                audience: API.into(),
                scopes: scopes(&["read:things", "write:things", "delete:things"]),
                lifetime: 86_400,
            },
            Api {
                audience: SHORT_API.into(),
                scopes: scopes(&["read:things"]),
                lifetime: 5,
            },
        ];
        let organizations = vec![Organization {
            id: "org_4dK8wZqX2mN7pL1s".into(),
            name: "acme".into(),
        }];
        let (rsa, ec) = (
            Arc::new(ClientKeyPair::rsa()),
            Arc::new(ClientKeyPair::ec()),
        );
        let fixture = Fixture {
            url: url.clone(),
            issuer: issuer.clone(),
            client_id: "m2m-client".into(),
            client_secret: keys::random_hex(24),
            jwt_client_id: "jwt-client".into(),
            jwt_rsa_private_key: rsa.private_pem.clone(),
            jwt_ec_private_key: ec.private_pem.clone(),
            ungranted_client_id: "ungranted-client".into(),
            ungranted_client_secret: keys::random_hex(24),
            apis: apis.clone(),
            organizations: organizations.clone(),
        };
        let all: HashSet<String> = ["*".to_string()].into();
        let clients = HashMap::from([
            (
                fixture.client_id.clone(),
                Client {
                    secret: Some(fixture.client_secret.clone()),
                    keys: vec![],
                    grants: all.clone(),
                },
            ),
            (
                fixture.jwt_client_id.clone(),
                Client {
                    secret: None,
                    keys: vec![rsa, ec],
                    grants: all,
                },
            ),
            (
                fixture.ungranted_client_id.clone(),
                Client {
                    secret: Some(fixture.ungranted_client_secret.clone()),
                    keys: vec![],
                    grants: HashSet::new(),
                },
            ),
        ]);
        let state = Arc::new(State {
            issuer,
            signing: SigningKey::generate(),
            clients,
            apis: Mutex::new(apis.into_iter().map(|a| (a.audience.clone(), a)).collect()),
            organizations,
            faults: Mutex::default(),
            counts: Mutex::default(),
            used_jti: Mutex::default(),
        });
        let app = Router::new()
            .route("/oauth/token", post(token::token))
            .route("/.well-known/jwks.json", get(jwks))
            .route("/__admin/stats", get(stats))
            .route("/__admin/faults", post(add_faults))
            .route("/__admin/apis", post(add_api))
            .route("/__admin/reset", post(reset))
            .with_state(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            fixture,
            addr,
            state,
            shutdown: Some(tx),
        })
    }

    pub fn url(&self) -> &str {
        &self.fixture.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received by an endpoint (`token`, `jwks`…), faulted ones included.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.state
            .counts
            .lock()
            .unwrap()
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    pub fn counts(&self) -> HashMap<String, u64> {
        self.state.counts.lock().unwrap().clone()
    }

    pub fn inject(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push_back(fault);
    }

    pub fn add_api(&self, api: Api) {
        self.state
            .apis
            .lock()
            .unwrap()
            .insert(api.audience.clone(), api);
    }

    /// Zeroes the counters and drops queued faults.
    pub fn reset(&self) {
        self.state.counts.lock().unwrap().clear();
        self.state.faults.lock().unwrap().clear();
    }

    /// The JWKS document (for verifying tokens in tests).
    pub fn jwks(&self) -> serde_json::Value {
        jwks_doc(&self.state)
    }

    /// The key that verifies the issuer's access tokens.
    pub fn decoding_key(&self) -> &jsonwebtoken::DecodingKey {
        &self.state.signing.decoding
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn jwks_doc(state: &State) -> serde_json::Value {
    serde_json::json!({ "keys": [state.signing.jwk] })
}

async fn jwks(AxState(state): AxState<Arc<State>>) -> axum::response::Response {
    state.count("jwks");
    if let Some(f) = state.take_fault("jwks") {
        return token::faulted(f).await;
    }
    Json(jwks_doc(&state)).into_response()
}

async fn stats(AxState(state): AxState<Arc<State>>) -> Json<HashMap<String, u64>> {
    Json(state.counts.lock().unwrap().clone())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Fault),
    Many(Vec<Fault>),
}

async fn add_faults(
    AxState(state): AxState<Arc<State>>,
    Json(f): Json<OneOrMany>,
) -> Json<serde_json::Value> {
    let list = match f {
        OneOrMany::One(f) => vec![f],
        OneOrMany::Many(v) => v,
    };
    let mut q = state.faults.lock().unwrap();
    for mut f in list {
        if f.endpoint.is_empty() {
            f.endpoint = "token".into();
        }
        f.times = f.times.max(1);
        q.push_back(f);
    }
    Json(serde_json::json!({ "queued": q.len() }))
}

async fn add_api(AxState(state): AxState<Arc<State>>, Json(api): Json<Api>) -> Json<Api> {
    state
        .apis
        .lock()
        .unwrap()
        .insert(api.audience.clone(), api.clone());
    Json(api)
}

async fn reset(AxState(state): AxState<Arc<State>>) -> Json<serde_json::Value> {
    state.counts.lock().unwrap().clear();
    state.faults.lock().unwrap().clear();
    Json(serde_json::json!({}))
}
