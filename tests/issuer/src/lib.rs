//! A small, Auth0-compatible authorization server on 127.0.0.1, for tests.
//!
//! It serves `POST /oauth/token` (client credentials; form or JSON bodies;
//! `client_secret_post`, `client_secret_basic`, `private_key_jwt`) and
//! `GET /.well-known/jwks.json`, issues RS256 JWT access tokens shaped like Auth0's, answers
//! errors with Auth0's statuses and bodies, counts requests per endpoint, and injects faults.
//!
//! Tests in other languages run the `tokenkeeper-issuer` binary and drive it over HTTP:
//! `GET /__admin/stats`, `POST /__admin/faults` (a [`Fault`] or a list), `POST /__admin/apis`
//! (an [`Api`]), `POST /__admin/random_faults` (a [`RandomFaults`]), `POST /__admin/reset`.
//!
//! User sign-in: `GET /authorize` in test mode (no login page: 302 straight to the
//! `redirect_uri` with `code` and `state`), the `authorization_code` grant with PKCE (S256),
//! single-use codes and redirect URI match, the `refresh_token` grant with rotation and reuse
//! detection, ID tokens, `GET /userinfo`, organizations (`org_id`, `org_name`) and the
//! `openid` + API case (`aud` = `[API, "{issuer}userinfo"]`). Token exchange: On-Behalf-Of,
//! Custom Token Exchange profiles and Token Vault (the `exchange` module). Signing keys can be added and
//! retired (`/__admin/keys`), and tests can have any claims signed (`/__admin/sign`): see
//! the `admin` module.

// Handlers return early with a whole HTTP response as their error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

mod admin;
mod authorize;
mod exchange;
mod faults;
mod grants;
mod keyring;
mod keys;
mod proxy;
mod tls;
mod token;
mod userinfo;
mod users;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::State as AxState;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub use faults::{Fault, RandomFaults};
pub use jsonwebtoken::Algorithm;
use keyring::{Key, KeyRing};
use keys::{ClientKeyPair, SigningKey};
pub use proxy::ConnectProxy;
pub use tls::TlsOptions;
pub use users::User;

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
    /// Allowed callback URLs of `/authorize` (none: no user sign-in).
    pub callbacks: Vec<String>,
    /// A public (SPA/native) client: no client authentication, PKCE required.
    pub public: bool,
    /// Refresh-token rotation: each refresh returns a new refresh token, the old one is spent.
    pub rotate: bool,
    /// Multi-Resource Refresh Token policies: the other APIs (and their scopes) a refresh
    /// token of this client may be exchanged for.
    pub refresh_policies: Vec<RefreshPolicy>,
}

/// One MRRT policy of an application (Auth0's `refresh_token.policies[]`).
#[derive(Debug, Clone, Serialize)]
pub struct RefreshPolicy {
    pub audience: String,
    pub scope: Vec<String>,
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
    /// Random faults after the queued ones (the soak).
    pub dice: Mutex<Option<faults::Dice>>,
    pub counts: Mutex<HashMap<String, u64>>,
    pub used_jti: Mutex<HashSet<String>>,
    /// Signing keys: the active one signs, the published ones are in the JWKS.
    pub keyring: RwLock<KeyRing>,
    pub users: Vec<User>,
    pub sessions: Mutex<users::Sessions>,
    /// Custom Token Exchange profiles: subject token type → accepted token → user id.
    pub exchange_profiles: Mutex<HashMap<String, HashMap<String, String>>>,
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
        let Some(i) = q.iter().position(|f| f.endpoint == endpoint) else {
            drop(q);
            return self.dice.lock().unwrap().as_mut()?.roll(endpoint);
        };
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
    /// Public (SPA/native) app for user sign-in: no secret, PKCE, refresh-token rotation.
    pub public_client_id: String,
    /// Confidential (regular web) app for user sign-in: a secret, refresh tokens not rotated.
    pub web_client_id: String,
    pub web_client_secret: String,
    /// An allowed callback of both sign-in apps: `{url}/callback`, served by the issuer (a
    /// 200 page), so an HTTP client that follows redirects ends there with the code.
    pub redirect_uri: String,
    /// A native-app callback (custom scheme), also allowed.
    pub native_redirect_uri: String,
    /// The user `/authorize` signs in (unless `login_hint` names another); member of `acme`.
    pub user: User,
    /// A second user (`login_hint=bob@example.com`), member of no organization.
    pub other_user: User,
    /// Custom Token Exchange: the fixture profile's `subject_token_type`, and a subject token
    /// it accepts (standing for `user`).
    pub exchange_subject_token_type: String,
    pub exchange_subject_token: String,
    /// Token Vault connections the issuer serves (`google-oauth2`, `github`).
    pub vault_connections: Vec<String>,
    /// The MRRT policies of both sign-in apps: a refresh token gets tokens for these APIs
    /// too; for any other audience the issuer answers for the sign-in's own, as Auth0 does.
    pub refresh_token_policies: Vec<RefreshPolicy>,
    /// HTTPS mode only: the test CA that signed the issuer's certificate, as PEM and as a file
    /// (for `ca_file`), removed when the issuer stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// The main API of the fixture (86400 s tokens).
pub const API: &str = "https://api.example.com";
/// An API whose tokens live 5 seconds.
pub const SHORT_API: &str = "https://short.example.com";
/// An API no sign-in asks for, in the sign-in apps' refresh-token policies (MRRT).
pub const BILLING_API: &str = "https://billing.example.com";

/// A running issuer; stops when dropped.
pub struct Issuer {
    pub fixture: Fixture,
    addr: SocketAddr,
    state: Arc<State>,
    app: Router,
    /// Set when serving HTTPS (kept to serve again after `stop_listening`).
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _ca_file: Option<tls::CaFile>,
}

/// Serves `app` on `listener` (over TLS with `tls`) until the returned sender fires (or is
/// dropped).
fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<tokio::sync::oneshot::Sender<()>> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = async {
        let _ = rx.await;
    };
    match tls {
        Some(acceptor) => {
            let listener = tls::TlsListener::new(listener, acceptor)?;
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await;
            });
        }
        None => {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await;
            });
        }
    }
    Ok(tx)
}

impl Issuer {
    /// Starts on an ephemeral loopback port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        Self::serve(port, None).await
    }

    /// Serves HTTPS on an ephemeral loopback port, with a certificate from a CA made now
    /// (`fixture.ca_file`, `fixture.ca_pem`); `fixture.url` is `https://localhost:PORT`.
    pub async fn start_tls(options: TlsOptions) -> std::io::Result<Self> {
        Self::serve(0, Some(options)).await
    }

    /// [`Self::start_tls`] on a given port (0: any).
    pub async fn start_tls_on(port: u16, options: TlsOptions) -> std::io::Result<Self> {
        Self::serve(port, Some(options)).await
    }

    async fn serve(port: u16, tls: Option<TlsOptions>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let tls = tls
            .map(|o| tls::Tls::new(&o).map_err(std::io::Error::other))
            .transpose()?;
        let ca_file = match &tls {
            Some(t) => Some(tls::CaFile::write(&t.ca_pem, addr.port())?),
            None => None,
        };
        let url = match tls {
            Some(_) => format!("https://localhost:{}", addr.port()),
            None => format!("http://{addr}"),
        };
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
            Api {
                audience: BILLING_API.into(),
                scopes: scopes(&["read:billing", "write:billing"]),
                lifetime: 86_400,
            },
        ];
        let refresh_policies = vec![
            RefreshPolicy {
                audience: BILLING_API.into(),
                scope: scopes(&["read:billing"]),
            },
            RefreshPolicy {
                audience: SHORT_API.into(),
                scope: scopes(&["read:things"]),
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
            public_client_id: "spa-client".into(),
            web_client_id: "web-client".into(),
            web_client_secret: keys::random_hex(24),
            redirect_uri: format!("{url}/callback"),
            native_redirect_uri: "com.example.tokenkeeper://callback".into(),
            user: User::fixture(&organizations),
            other_user: User::outsider(),
            exchange_subject_token_type: exchange::LEGACY_TYPE.into(),
            exchange_subject_token: format!("legacy-session.{}", keys::random_hex(16)),
            vault_connections: exchange::CONNECTIONS.map(String::from).to_vec(),
            refresh_token_policies: refresh_policies.clone(),
            ca_pem: tls.as_ref().map(|t| t.ca_pem.clone()),
            ca_file: ca_file.as_ref().map(|f| f.0.display().to_string()),
        };
        let callbacks = vec![
            fixture.redirect_uri.clone(),
            fixture.native_redirect_uri.clone(),
        ];
        let all: HashSet<String> = ["*".to_string()].into();
        let clients = HashMap::from([
            (
                fixture.client_id.clone(),
                Client {
                    secret: Some(fixture.client_secret.clone()),
                    keys: vec![],
                    grants: all.clone(),
                    callbacks: vec![],
                    public: false,
                    rotate: false,
                    refresh_policies: vec![],
                },
            ),
            (
                fixture.jwt_client_id.clone(),
                Client {
                    secret: None,
                    keys: vec![rsa, ec],
                    grants: all.clone(),
                    callbacks: vec![],
                    public: false,
                    rotate: false,
                    refresh_policies: vec![],
                },
            ),
            (
                fixture.ungranted_client_id.clone(),
                Client {
                    secret: Some(fixture.ungranted_client_secret.clone()),
                    keys: vec![],
                    grants: HashSet::new(),
                    callbacks: vec![],
                    public: false,
                    rotate: false,
                    refresh_policies: vec![],
                },
            ),
            (
                fixture.public_client_id.clone(),
                Client {
                    secret: None,
                    keys: vec![],
                    grants: HashSet::new(),
                    callbacks: callbacks.clone(),
                    public: true,
                    rotate: true,
                    refresh_policies: refresh_policies.clone(),
                },
            ),
            (
                fixture.web_client_id.clone(),
                Client {
                    secret: Some(fixture.web_client_secret.clone()),
                    keys: vec![],
                    grants: HashSet::new(),
                    callbacks,
                    public: false,
                    rotate: false,
                    refresh_policies,
                },
            ),
        ]);
        let signing = SigningKey::generate();
        let keyring = RwLock::new(KeyRing::new(Key::from_signing(&signing)));
        let users = vec![fixture.user.clone(), fixture.other_user.clone()];
        let state = Arc::new(State {
            issuer,
            signing,
            clients,
            apis: Mutex::new(apis.into_iter().map(|a| (a.audience.clone(), a)).collect()),
            organizations,
            faults: Mutex::default(),
            dice: Mutex::default(),
            counts: Mutex::default(),
            used_jti: Mutex::default(),
            keyring,
            users,
            sessions: Mutex::default(),
            exchange_profiles: Mutex::new(HashMap::from([(
                fixture.exchange_subject_token_type.clone(),
                HashMap::from([(
                    fixture.exchange_subject_token.clone(),
                    fixture.user.sub.clone(),
                )]),
            )])),
        });
        let app = Router::new()
            .route("/oauth/token", post(token::token))
            .route("/oauth/revoke", post(grants::revoke))
            .route("/.well-known/jwks.json", get(jwks))
            .route("/authorize", get(authorize::authorize))
            .route("/callback", get(authorize::callback))
            .route(
                "/userinfo",
                get(userinfo::userinfo).post(userinfo::userinfo),
            )
            .route("/__admin/keys", get(admin::list_keys).post(admin::add_key))
            .route("/__admin/keys/retire", post(admin::retire_key))
            .route("/__admin/sign", post(admin::sign))
            .route(
                "/__admin/revoke_refresh_tokens",
                post(admin::revoke_refresh_tokens),
            )
            .route("/__admin/exchange_profiles", post(exchange::add_profile))
            .route("/__admin/stats", get(stats))
            .route("/__admin/faults", post(add_faults))
            .route("/__admin/apis", post(add_api))
            .route("/__admin/random_faults", post(random_faults))
            .route("/__admin/reset", post(reset))
            .with_state(state.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let shutdown = Some(serve(listener, app.clone(), acceptor.clone())?);
        Ok(Self {
            fixture,
            addr,
            state,
            app,
            acceptor,
            shutdown,
            _ca_file: ca_file,
        })
    }

    /// Closes the listening socket (connections are then refused) and the open connections,
    /// keeping every other state; [`Self::resume`] listens again on the same port.
    pub async fn stop_listening(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(self.addr).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the issuer still accepts connections");
    }

    /// Listens again on the same port after [`Self::stop_listening`].
    pub async fn resume(&mut self) -> std::io::Result<()> {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries >= 100 => return Err(e),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        };
        self.shutdown = Some(serve(listener, self.app.clone(), self.acceptor.clone())?);
        Ok(())
    }

    /// Faults a share of the requests at random from now on (seeded); `reset` stops it.
    pub fn random_faults(&self, spec: RandomFaults) {
        *self.state.dice.lock().unwrap() = Some(faults::Dice::new(spec));
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
        self.state
            .faults
            .lock()
            .unwrap()
            .push_back(fault.normalized());
    }

    /// A Custom Token Exchange profile (or more tokens for one): `tokens` maps each accepted
    /// subject token to the user it stands for.
    pub fn add_exchange_profile(&self, subject_token_type: &str, tokens: &[(&str, &str)]) {
        let mut profiles = self.state.exchange_profiles.lock().unwrap();
        let p = profiles.entry(subject_token_type.to_string()).or_default();
        p.extend(tokens.iter().map(|(t, s)| (t.to_string(), s.to_string())));
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
        *self.state.dice.lock().unwrap() = None;
    }

    /// The JWKS document (for verifying tokens in tests).
    pub fn jwks(&self) -> serde_json::Value {
        jwks_doc(&self.state)
    }

    /// The key that verifies the issuer's access tokens (the initial key: after a key
    /// rotation, tokens are signed by [`Self::active_kid`]).
    pub fn decoding_key(&self) -> &jsonwebtoken::DecodingKey {
        &self.state.signing.decoding
    }

    /// `{issuer}userinfo`: the second audience of an access token asked with `openid`.
    pub fn userinfo_audience(&self) -> String {
        format!("{}userinfo", self.fixture.issuer)
    }

    /// The `kid` of the key that signs tokens now.
    pub fn active_kid(&self) -> String {
        self.state.keyring.read().unwrap().active.kid.clone()
    }

    /// `kid`s of the keys in the JWKS.
    pub fn published_kids(&self) -> Vec<String> {
        let ring = self.state.keyring.read().unwrap();
        ring.published.iter().map(|k| k.kid.clone()).collect()
    }

    /// Generates a key (RS256, PS256 or ES256; panics on another algorithm), publishes it in
    /// the JWKS and, when `activate`, signs every token with it from now on. Returns its `kid`.
    pub fn add_signing_key(&self, alg: Algorithm, activate: bool) -> String {
        let key = Key::generate(alg);
        self.state
            .keyring
            .write()
            .unwrap()
            .add(key, activate)
            .kid
            .clone()
    }

    /// Removes a key from the JWKS; the active key cannot be retired.
    pub fn retire_signing_key(&self, kid: &str) -> Result<(), String> {
        self.state
            .keyring
            .write()
            .unwrap()
            .retire(kid)
            .map_err(str::to_string)
    }

    /// Key rotation as a tenant does it: a new RS256 key signs from now on and the previous
    /// active key leaves the JWKS. Returns the new `kid`.
    pub fn rotate_signing_key(&self) -> String {
        let old = self.active_kid();
        let kid = self.add_signing_key(Algorithm::RS256, true);
        self.retire_signing_key(&old)
            .expect("the old key is no longer active");
        kid
    }

    /// A JWT of `claims`, signed by the active key (header `{alg, typ: JWT, kid}`).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let key = self.state.keyring.read().unwrap().active.clone();
        key.sign(claims)
    }

    /// A JWT signed by the active key, with `header` members merged over `{alg, typ, kid}`.
    pub fn sign_with_header(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> String {
        let key = self.state.keyring.read().unwrap().active.clone();
        key.sign_raw(&key.header(Some(header)).to_string(), &claims.to_string())
    }

    /// A JWT over exactly this header and payload text, signed by the active key with its
    /// algorithm, whatever the header says (duplicate members, odd values…).
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        let key = self.state.keyring.read().unwrap().active.clone();
        key.sign_raw(header_json, payload_json)
    }

    /// SPKI PEM of the active key's public key.
    pub fn signing_public_pem(&self) -> String {
        self.state.keyring.read().unwrap().active.public_pem.clone()
    }

    /// Revokes every refresh token issued so far; returns how many families were live.
    pub fn revoke_refresh_tokens(&self) -> usize {
        self.state.sessions.lock().unwrap().revoke_all()
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
    state.keyring.read().unwrap().jwks()
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
    q.extend(list.into_iter().map(Fault::normalized));
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

async fn random_faults(
    AxState(state): AxState<Arc<State>>,
    Json(spec): Json<RandomFaults>,
) -> Json<serde_json::Value> {
    *state.dice.lock().unwrap() = Some(faults::Dice::new(spec));
    Json(serde_json::json!({}))
}

async fn reset(AxState(state): AxState<Arc<State>>) -> Json<serde_json::Value> {
    state.counts.lock().unwrap().clear();
    state.faults.lock().unwrap().clear();
    *state.dice.lock().unwrap() = None;
    Json(serde_json::json!({}))
}
