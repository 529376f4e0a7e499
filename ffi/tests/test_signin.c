/*
 * The verifier, user sign-in (authorization code + PKCE through the issuer's test-mode
 * /authorize, fetched here over a plain socket without following the redirect), /userinfo, and
 * the credentials manager over a storage written in C — against the local issuer over real
 * HTTP; and the scenarios S1-S6 every surface runs (S7 is in test_tokenkeeper.c). Linked into
 * the program of test_tokenkeeper.c, which runs SIGNIN_TESTS after its own.
 */
#include "harness.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#define API "https://api.example.com"
#define USER_SCOPE "openid profile email read:things"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Reads a string the documented way (ask for the length, allocate, copy); NULL on failure.
 * `CALL(buf, len, out_len)` is the call with its object already bound. */
#define READ_STR(result, CALL)                                                          \
  do {                                                                                  \
    size_t need_ = 0, got_ = 0;                                                         \
    char *b_ = NULL;                                                                    \
    (result) = NULL;                                                                    \
    if (CALL(NULL, 0, &need_) == TK_STATUS_BUFFER_TOO_SMALL && need_ > 0 &&             \
        (b_ = malloc(need_)) != NULL) {                                                 \
      if (CALL(b_, need_, &got_) == TK_STATUS_OK && got_ == need_) {                    \
        (result) = b_;                                                                  \
      } else {                                                                          \
        free(b_);                                                                       \
      }                                                                                 \
    }                                                                                   \
  } while (0)

typedef tk_status (*creds_str_fn)(const tk_user_credentials *, char *, size_t, size_t *);
typedef tk_status (*tx_str_fn)(const tk_login_tx *, char *, size_t, size_t *);

static char *creds_str(creds_str_fn fn, const tk_user_credentials *c) {
  char *r;
#define CALL_(b, l, n) fn(c, b, l, n)
  READ_STR(r, CALL_);
#undef CALL_
  return r;
}

static char *tx_str(tx_str_fn fn, const tk_login_tx *tx) {
  char *r;
#define CALL_(b, l, n) fn(tx, b, l, n)
  READ_STR(r, CALL_);
#undef CALL_
  return r;
}

static char *claim_str(const tk_claims *c, const char *name) {
  char *r;
#define CALL_(b, l, n) tk_claims_get_str(c, name, b, l, n)
  READ_STR(r, CALL_);
#undef CALL_
  return r;
}

static char *claims_json(const tk_claims *c) {
  char *r;
#define CALL_(b, l, n) tk_claims_json(c, b, l, n)
  READ_STR(r, CALL_);
#undef CALL_
  return r;
}

/* Frees a string that held a token after wiping it. */
static void wipe_free(char *s) {
  if (s == NULL) return;
  volatile char *p = s;
  while (*p) *p++ = 0;
  free(s);
}

static int contains(const char *haystack, const char *needle) {
  return haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL;
}

#define CHECK_CONTAINS(hay, needle)                                                     \
  do {                                                                                  \
    const char *h_ = (hay), *n_ = (needle);                                             \
    if (!contains(h_, n_)) {                                                            \
      fprintf(stderr, "    %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,  \
              h_ ? h_ : "(null)", n_);                                                  \
      g_failed_checks++;                                                                \
    }                                                                                   \
  } while (0)

static const char *iss(void) { return fixture("TK_ISSUER"); } /* http://127.0.0.1:PORT/ */

/* A verifier config of the local issuer for `audience`; NULL (a failed check) on failure. */
static tk_verifier_config *verifier_config(const char *audience) {
  tk_verifier_config *cfg = NULL;
  CHECK_STATUS(tk_verifier_config_new(fixture("TK_ISSUER_URL"), audience, &cfg), TK_STATUS_OK);
  return cfg;
}

/* A sign-in config of the local issuer's app `client_id` with the fixture's redirect URI. */
static tk_signin_config *signin_config(const char *client_id) {
  tk_signin_config *cfg = NULL;
  CHECK_STATUS(tk_signin_config_new(fixture("TK_ISSUER_URL"), client_id,
                                    fixture("TK_REDIRECT_URI"), &cfg),
               TK_STATUS_OK);
  return cfg;
}

static tk_verifier *verifier_for(const char *audience) {
  tk_verifier_config *cfg = verifier_config(audience);
  tk_verifier *v = NULL;
  if (cfg == NULL) return NULL;
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_OK);
  tk_verifier_config_free(cfg);
  return v;
}

/*
 * Objects the tests share, built on first use and freed at exit (before valgrind's leak
 * check). Building a client, verifier or sign-in client is cheap natively but each builds its
 * HTTP clients (about 2 s each under valgrind), so the tests reuse them.
 */
static struct {
  tk_client *m2m;
  tk_verifier *api;       /* access tokens for the API */
  tk_verifier *ids;       /* ID tokens of the public app */
  tk_signin_client *spa;  /* the public app, audience API, USER_SCOPE */
  tk_signin_client *spa_opaque; /* the public app, no audience: opaque access tokens */
  tk_signin_client *spa_org_online; /* organization acme, no offline_access, URL overrides */
} g;

static void free_shared(void) {
  tk_client_free(g.m2m);
  tk_verifier_free(g.api);
  tk_verifier_free(g.ids);
  tk_signin_client_free(g.spa);
  tk_signin_client_free(g.spa_opaque);
  tk_signin_client_free(g.spa_org_online);
  memset(&g, 0, sizeof g);
}

static void shared_cleanup_at_exit(void) {
  static int registered;
  if (!registered) {
    atexit(free_shared);
    registered = 1;
  }
}

/* A client-credentials access token for the API (organization NULL or a name), from the
 * process-wide cache after the first time; free it. */
static char *m2m_token(const char *organization) {
  shared_cleanup_at_exit();
  if (g.m2m == NULL) {
    tk_config *cfg = NULL;
    if (tk_config_new(fixture("TK_ISSUER_URL"), fixture("TK_CLIENT_ID"),
                      fixture("TK_CLIENT_SECRET"), &cfg) != TK_STATUS_OK)
      return NULL;
    CHECK_STATUS(tk_client_new(cfg, &g.m2m), TK_STATUS_OK);
    tk_config_free(cfg);
    if (g.m2m == NULL) return NULL;
  }
  tk_token *t = NULL;
  char *jwt = NULL;
  if (tk_client_get_token(g.m2m, API, "read:things", organization, &t) == TK_STATUS_OK) {
#define CALL_(b, l, n) tk_token_access_token(t, b, l, n)
    READ_STR(jwt, CALL_);
#undef CALL_
  }
  tk_token_free(t);
  return jwt;
}

/* Expects `status` from a verification with the named check. */
static void expect_rejected(tk_status got, tk_token_check check, const char *what) {
  last_error e = get_last_error();
  if (got != TK_STATUS_INVALID_TOKEN || e.check_code != check) {
    fprintf(stderr, "    %s: got %s, check %s (\"%s\"), expected TK_STATUS_INVALID_TOKEN, %s\n",
            what, tk_status_str(got), tk_token_check_str(e.check_code), e.message,
            tk_token_check_str(check));
    g_failed_checks++;
    return;
  }
  CHECK(e.status == TK_STATUS_INVALID_TOKEN);
  CHECK_STR(e.check, tk_token_check_str(check));
  CHECK(strlen(e.message) > 0);
  CHECK(!e.transient);
}

static tk_verifier *api_verifier(void) {
  shared_cleanup_at_exit();
  if (g.api == NULL) g.api = verifier_for(API);
  return g.api;
}

static tk_verifier *id_verifier(void) {
  shared_cleanup_at_exit();
  if (g.ids == NULL) g.ids = verifier_for(fixture("TK_PUBLIC_CLIENT_ID"));
  return g.ids;
}

static char g_claims[1024];

/* Standard claims for /__admin/sign, with `exp` and `iat` relative to now, into g_claims. */
static const char *claims_for(const char *issuer, const char *aud, long iat_delta,
                              long exp_delta) {
  long now = (long)time(NULL);
  snprintf(g_claims, sizeof g_claims,
           "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"auth0|c-test\",\"iat\":%ld,\"exp\":%ld,"
           "\"scope\":\"read:things\"}",
           issuer, aud, now + iat_delta, now + exp_delta);
  return g_claims;
}

/* ---- the verifier -------------------------------------------------------------------------- */

static void test_verify_a_good_access_token(void) {
  tk_verifier *v = api_verifier();
  REQUIRE(v != NULL);
  char *jwt = m2m_token(NULL);
  REQUIRE(jwt != NULL);
  tk_claims *c = NULL;
  CHECK_STATUS(tk_verifier_verify(v, jwt, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  CHECK(tk_last_error_status() == TK_STATUS_OK);
  tk_token_check none = TK_TOKEN_CHECK_EXPIRED;
  CHECK_STATUS(tk_last_error_token_check_code(&none), TK_STATUS_OK);
  CHECK(none == TK_TOKEN_CHECK_NONE);

  char *s = claim_str(c, "iss");
  CHECK(s != NULL && strcmp(s, iss()) == 0);
  free(s);
  char want_sub[256];
  snprintf(want_sub, sizeof want_sub, "%s@clients", fixture("TK_CLIENT_ID"));
  s = claim_str(c, "sub");
  CHECK(s != NULL && strcmp(s, want_sub) == 0);
  free(s);
  s = claim_str(c, "azp");
  CHECK(s != NULL && strcmp(s, fixture("TK_CLIENT_ID")) == 0);
  free(s);
  bool yes = false;
  CHECK_STATUS(tk_claims_has_audience(c, API, &yes), TK_STATUS_OK);
  CHECK(yes);
  CHECK_STATUS(tk_claims_has_audience(c, "https://other.example.com", &yes), TK_STATUS_OK);
  CHECK(!yes);
  CHECK_STATUS(tk_claims_has_scope(c, "read:things", &yes), TK_STATUS_OK);
  CHECK(yes);
  CHECK_STATUS(tk_claims_has_scope(c, "write:things", &yes), TK_STATUS_OK);
  CHECK(!yes);

  /* Numbers, typed. */
  int64_t exp = 0, iat = 0;
  double expf = 0;
  CHECK_STATUS(tk_claims_get_i64(c, "exp", &exp), TK_STATUS_OK);
  CHECK_STATUS(tk_claims_get_i64(c, "iat", &iat), TK_STATUS_OK);
  CHECK_STATUS(tk_claims_get_f64(c, "exp", &expf), TK_STATUS_OK);
  int64_t wall = (int64_t)time(NULL);
  CHECK(exp - iat == 86400);
  CHECK(iat <= wall + 1 && iat > wall - 3600);
  CHECK(expf == (double)exp);

  /* A missing claim and a claim of another type: their own statuses, out untouched. */
  char buf[64] = "untouched";
  size_t n = 12345;
  int64_t i = 7;
  bool b = true;
  CHECK_STATUS(tk_claims_get_str(c, "nope", buf, sizeof buf, &n), TK_STATUS_NOT_FOUND);
  CHECK(n == 12345 && strcmp(buf, "untouched") == 0);
  last_error e = get_last_error();
  CHECK_CONTAINS(e.message, "nope");
  CHECK_STATUS(tk_claims_get_str(c, "exp", buf, sizeof buf, &n), TK_STATUS_WRONG_TYPE);
  e = get_last_error();
  CHECK_CONTAINS(e.message, "exp");
  CHECK_CONTAINS(e.message, "not a string");
  CHECK_STATUS(tk_claims_get_i64(c, "sub", &i), TK_STATUS_WRONG_TYPE);
  CHECK_STATUS(tk_claims_get_i64(c, "nope", &i), TK_STATUS_NOT_FOUND);
  CHECK_STATUS(tk_claims_get_f64(c, "iss", &expf), TK_STATUS_WRONG_TYPE);
  CHECK_STATUS(tk_claims_get_bool(c, "exp", &b), TK_STATUS_WRONG_TYPE);
  CHECK_STATUS(tk_claims_get_json(c, "nope", buf, sizeof buf, &n), TK_STATUS_NOT_FOUND);
  CHECK(i == 7 && b);

  /* Any claim as JSON, and all of them. */
  CHECK_STATUS(tk_claims_get_json(c, "aud", buf, sizeof buf, &n), TK_STATUS_OK);
  CHECK_STR(buf, "\"" API "\"");
  char *all = claims_json(c);
  CHECK_CONTAINS(all, "\"iss\":");
  CHECK_CONTAINS(all, "\"scope\":\"read:things\"");
  CHECK(all != NULL && all[0] == '{');
  free(all);

  /* The JWKS is fetched once, then cached. */
  tk_claims *again = NULL;
  CHECK_STATUS(tk_verifier_verify(v, jwt, &again), TK_STATUS_OK);
  tk_verify_stats st;
  memset(&st, 0, sizeof st);
  CHECK_STATUS(tk_verifier_stats(v, &st, sizeof st), TK_STATUS_OK);
  CHECK(st.verified >= 2);
  CHECK(st.jwks_fetches == 1);
  CHECK_STATUS(tk_verifier_stats(v, &st, sizeof st - 1), TK_STATUS_BUFFER_TOO_SMALL);
  tk_claims_free(again);
  tk_claims_free(c);
  wipe_free(jwt);
}

/* Scenario C1 (every surface): a far date (exp 1e308) verifies and reads as the core's latest
 * time, 9999-12-31T23:59:59Z. */
static void test_c1_a_far_date_reads_as_the_latest_time(void) {
  tk_verifier *v = api_verifier();
  REQUIRE(v != NULL);
  char claims[512], token[4096];
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"c1\",\"iat\":%ld,\"exp\":1e308}",
           iss(), API, now - 10);
  REQUIRE(admin_sign(claims, NULL, token, sizeof token));
  tk_claims *c = NULL;
  CHECK_STATUS(tk_verifier_verify(v, token, &c), TK_STATUS_OK);
  int64_t exp = 0, iat = 0;
  CHECK_STATUS(tk_claims_get_time(c, "exp", &exp), TK_STATUS_OK);
  CHECK(exp == TK_LATEST_TIME && exp == 253402300799LL);
  CHECK_STATUS(tk_claims_get_time(c, "iat", &iat), TK_STATUS_OK);
  CHECK(iat == now - 10);
  CHECK_STATUS(tk_claims_get_time(c, "sub", &iat), TK_STATUS_WRONG_TYPE);
  CHECK_STATUS(tk_claims_get_time(c, "nbf", &iat), TK_STATUS_NOT_FOUND);
  CHECK_STATUS(tk_claims_get_time(NULL, "exp", &exp), TK_STATUS_NULL_PARAMETER);
  tk_claims_free(c); /* the verifier is the suite's, freed at exit */
}

static void test_verify_bad_tokens_names_the_check(void) {
  tk_verifier *v = api_verifier();
  REQUIRE(v != NULL);
  char *jwt = m2m_token(NULL);
  REQUIRE(jwt != NULL);
  tk_claims *c = (tk_claims *)&c; /* a sentinel: must stay untouched */
  tk_claims *sentinel = c;
  char token[4096];

  /* Expired, an hour ago (the leeway is 60 s): signed by the issuer's own key. */
  REQUIRE(admin_sign(claims_for(iss(), API, -7200, -3600), NULL, token, sizeof token));
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_EXPIRED, "expired");
  CHECK(c == sentinel);
  /* Inside the leeway: accepted. */
  REQUIRE(admin_sign(claims_for(iss(), API, -7200, -30), NULL, token, sizeof token));
  tk_claims *ok = NULL;
  CHECK_STATUS(tk_verifier_verify(v, token, &ok), TK_STATUS_OK);
  tk_claims_free(ok);

  /* Wrong audience: a token of the issuer for another API. */
  REQUIRE(admin_sign(claims_for(iss(), "https://other.example.com", -10, 3600), NULL, token,
                     sizeof token));
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_AUDIENCE, "audience");

  /* Tampered signature: one base64url character in its middle changed. */
  snprintf(token, sizeof token, "%s", jwt);
  char *sig = strrchr(token, '.') + 1;
  char *mid = sig + strlen(sig) / 2;
  *mid = *mid == 'A' ? 'B' : 'A';
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_SIGNATURE, "tampered");
  last_error e = get_last_error();
  CHECK(strstr(e.message, sig) == NULL); /* no token in a message */

  /* Tampered payload: another subject under the original signature. */
  char payload[512];
  const char *body = "{\"iss\":\"x\",\"sub\":\"admin\"}";
  base64url((const unsigned char *)body, strlen(body), payload);
  char *dot1 = strchr(jwt, '.');
  char *dot2 = strrchr(jwt, '.');
  snprintf(token, sizeof token, "%.*s.%s%s", (int)(dot1 - jwt), jwt, payload, dot2);
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_SIGNATURE, "payload");

  /* Malformed. */
  expect_rejected(tk_verifier_verify(v, "abc", &c), TK_TOKEN_CHECK_MALFORMED, "abc");
  expect_rejected(tk_verifier_verify(v, "", &c), TK_TOKEN_CHECK_MALFORMED, "empty");
  expect_rejected(tk_verifier_verify(v, "a.b.c.d", &c), TK_TOKEN_CHECK_MALFORMED, "4 segments");

  /* alg none, built by hand: header {"alg":"none"}, the claims of a good token, no signature. */
  char header[64];
  const char *none = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
  base64url((const unsigned char *)none, strlen(none), header);
  const char *claims = claims_for(iss(), API, -10, 3600);
  base64url((const unsigned char *)claims, strlen(claims), payload);
  snprintf(token, sizeof token, "%s.%s.", header, payload);
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_ALGORITHM, "alg none");

  /* Unknown kid, signed by the issuer's key (so only the kid is wrong). */
  REQUIRE(admin_sign(claims_for(iss(), API, -10, 3600), "{\"kid\":\"nope\"}", token,
                     sizeof token));
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_UNKNOWN_KEY, "unknown kid");

  /* Another issuer; and an issuer without its trailing slash. */
  REQUIRE(admin_sign(claims_for("https://evil.example.com/", API, -10, 3600), NULL, token,
                     sizeof token));
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_ISSUER, "issuer");
  REQUIRE(admin_sign(claims_for(fixture("TK_ISSUER_URL"), API, -10, 3600), NULL, token,
                     sizeof token));
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_ISSUER, "no slash");

  /* Not yet valid: iat an hour ahead. */
  REQUIRE(admin_sign(claims_for(iss(), API, 3600, 7200), NULL, token, sizeof token));
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_NOT_YET_VALID, "iat");
  CHECK(c == sentinel);

  tk_verify_stats st;
  CHECK_STATUS(tk_verifier_stats(v, &st, sizeof st), TK_STATUS_OK);
  CHECK(st.rejected >= 10);
  wipe_free(jwt);
}

static void test_verify_organization_and_authorized_party(void) {
  char *org_token = m2m_token("acme");
  char *plain = m2m_token(NULL);
  REQUIRE(org_token != NULL && plain != NULL);
  tk_verifier_config *cfg = verifier_config(API);
  tk_verifier *by_id = NULL, *by_name = NULL;
  REQUIRE(cfg != NULL);
  CHECK_STATUS(tk_verifier_config_set_organization(cfg, fixture("TK_ORG_ID")), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &by_id), TK_STATUS_OK);
  /* By name (compared with org_name, case-insensitively), and only for this client (azp). */
  CHECK_STATUS(tk_verifier_config_set_organization(cfg, "ACME"), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_authorized_party(cfg, fixture("TK_CLIENT_ID")),
               TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &by_name), TK_STATUS_OK);
  tk_verifier_config_free(cfg);
  REQUIRE(by_id && by_name);

  tk_claims *c = NULL;
  CHECK_STATUS(tk_verifier_verify(by_id, org_token, &c), TK_STATUS_OK);
  char *org = c ? claim_str(c, "org_id") : NULL;
  CHECK(org != NULL && strcmp(org, fixture("TK_ORG_ID")) == 0);
  free(org);
  tk_claims_free(c);
  c = NULL;
  CHECK_STATUS(tk_verifier_verify(by_name, org_token, &c), TK_STATUS_OK);
  tk_claims_free(c);
  c = NULL;
  /* Another organization, signed by the issuer. */
  char token[4096], claims[1024];
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims,
           "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"x@clients\",\"iat\":%ld,\"exp\":%ld,"
           "\"azp\":\"another-client\",\"org_id\":\"org_someoneelse\",\"org_name\":\"acme\"}",
           iss(), API, now - 10, now + 3600);
  REQUIRE(admin_sign(claims, NULL, token, sizeof token));
  expect_rejected(tk_verifier_verify(by_id, token, &c), TK_TOKEN_CHECK_ORGANIZATION, "org_id");
  expect_rejected(tk_verifier_verify(by_name, token, &c), TK_TOKEN_CHECK_AUTHORIZED_PARTY, "azp");
  /* No organization in the token at all: the claim the check needs is missing. */
  expect_rejected(tk_verifier_verify(by_id, plain, &c), TK_TOKEN_CHECK_MISSING_CLAIM, "no org");
  /* Without an organization required, the organization's token is just a token. */
  CHECK_STATUS(tk_verifier_verify(api_verifier(), org_token, &c), TK_STATUS_OK);
  tk_claims_free(c);
  tk_verifier_free(by_id);
  tk_verifier_free(by_name);
  wipe_free(org_token);
  wipe_free(plain);
}

/* N1: an id is compared with org_id only, a name with org_name only. */
static tk_verifier *org_verifier(const char *org, const char *name) {
  tk_verifier_config *cfg = verifier_config(API);
  tk_verifier *v = NULL;
  if (!cfg) return NULL;
  if (org) CHECK_STATUS(tk_verifier_config_set_organization(cfg, org), TK_STATUS_OK);
  if (name) CHECK_STATUS(tk_verifier_config_set_organization_name(cfg, name), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_OK);
  tk_verifier_config_free(cfg);
  return v;
}

static int sign_org(const char *members, char *token, size_t len) {
  char claims[1024];
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims,
           "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"x@clients\",\"iat\":%ld,\"exp\":%ld,%s}", iss(),
           API, now - 10, now + 3600, members);
  return admin_sign(claims, NULL, token, len);
}

static void test_verify_organization_id_is_never_a_name(void) {
  tk_verifier *by_id = org_verifier("org_9ybsU1dN2dKfDkBi", NULL);
  tk_verifier *odd = org_verifier(NULL, "org_Odd-Name");
  REQUIRE(by_id && odd);
  tk_claims *c = NULL;
  char token[4096];
  REQUIRE(sign_org("\"org_id\":\"org_ATTACKERattackr\",\"org_name\":\"org_9ybsu1dn2dkfdkbi\"",
                    token, sizeof token));
  expect_rejected(tk_verifier_verify(by_id, token, &c), TK_TOKEN_CHECK_ORGANIZATION,
                  "an org named after the id");
  REQUIRE(sign_org("\"org_name\":\"org_9ybsU1dN2dKfDkBi\"", token, sizeof token));
  expect_rejected(tk_verifier_verify(by_id, token, &c), TK_TOKEN_CHECK_MISSING_CLAIM, "name only");
  REQUIRE(sign_org("\"org_id\":\"org_9ybsU1dN2dKfDkBi\"", token, sizeof token));
  CHECK_STATUS(tk_verifier_verify(by_id, token, &c), TK_STATUS_OK);
  tk_claims_free(c);
  c = NULL;
  REQUIRE(sign_org("\"org_name\":\"org_odd-name\"", token, sizeof token));
  CHECK_STATUS(tk_verifier_verify(odd, token, &c), TK_STATUS_OK);
  tk_claims_free(c);
  c = NULL;
  REQUIRE(sign_org("\"org_id\":\"org_Odd-Name\"", token, sizeof token));
  expect_rejected(tk_verifier_verify(odd, token, &c), TK_TOKEN_CHECK_MISSING_CLAIM, "name as id");
  tk_verifier_free(by_id);
  tk_verifier_free(odd);
}

static void test_verifier_config(void) {
  const char *url = fixture("TK_ISSUER_URL");
  char *jwt = m2m_token(NULL);
  REQUIRE(jwt != NULL);
  tk_verifier_config *cfg = NULL;
  tk_verifier *v = (tk_verifier *)&v;
  tk_verifier *sentinel = v;
  tk_claims *c = NULL;

  /* Refused by the core: an empty audience, a leeway over 10 minutes, no usable algorithm… */
  REQUIRE(tk_verifier_config_new(url, " ", &cfg) == TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "audience");
  tk_verifier_config_free(cfg);
  REQUIRE(tk_verifier_config_new(url, API, &cfg) == TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_leeway_secs(cfg, 601), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "leeway");
  CHECK_STATUS(tk_verifier_config_set_leeway_secs(cfg, 0), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_algorithms(cfg, "RS256 HS256"), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "HS256");
  CHECK_STATUS(tk_verifier_config_set_algorithms(cfg, " , "), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "algorithm");
  CHECK_STATUS(tk_verifier_config_set_algorithms(cfg, "PS256,ES256"), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_max_token_bytes(cfg, 10), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_verifier_config_set_max_token_bytes(cfg, 256), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_jwks_lifetime_secs(cfg, 0), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_verifier_config_set_jwks_lifetime_secs(cfg, 60), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_request_timeout_ms(cfg, 0), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_verifier_config_set_request_timeout_ms(cfg, 5000), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_jwks_url(cfg, "http://example.com/jwks.json"),
               TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_CONFIG);
  CHECK(v == sentinel);

  /* The knobs, in a verifier that works: only PS256/ES256 and 256 bytes accepted, so the
   * issuer's RS256 token of ~700 bytes is too large, then of the wrong algorithm. */
  char jwks[256];
  snprintf(jwks, sizeof jwks, "%s/.well-known/jwks.json", url);
  CHECK_STATUS(tk_verifier_config_set_jwks_url(cfg, jwks), TK_STATUS_OK);
  /* The refetch interval has a floor of 1 s. */
  CHECK_STATUS(tk_verifier_config_set_jwks_min_refetch_interval_secs(cfg, 0), TK_STATUS_OK);
  v = sentinel;
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "jwks_min_refetch_interval must be at least 1 s");
  CHECK(v == sentinel);
  CHECK_STATUS(tk_verifier_config_set_jwks_min_refetch_interval_secs(cfg, 1), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_connect_timeout_ms(cfg, 2000), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_retry_max_attempts(cfg, 1), TK_STATUS_OK);
  v = NULL;
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_OK);
  REQUIRE(v != NULL);
  expect_rejected(tk_verifier_verify(v, jwt, &c), TK_TOKEN_CHECK_MALFORMED, "too large");
  tk_verifier_free(v);
  CHECK_STATUS(tk_verifier_config_set_max_token_bytes(cfg, 16384), TK_STATUS_OK);
  v = NULL;
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_OK);
  REQUIRE(v != NULL);
  expect_rejected(tk_verifier_verify(v, jwt, &c), TK_TOKEN_CHECK_ALGORITHM, "RS256 refused");
  size_t keys = 0;
  CHECK_STATUS(tk_verifier_refresh_jwks(v, &keys), TK_STATUS_OK);
  CHECK(keys >= 1);
  tk_verifier_free(v);

  /* A custom domain: both issuers accepted (once one is added, only the added ones). */
  CHECK_STATUS(tk_verifier_config_set_algorithms(cfg, "RS256"), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_add_issuer(cfg, "https://login.example.com/"), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_add_issuer(cfg, iss()), TK_STATUS_OK);
  v = NULL;
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_OK);
  REQUIRE(v != NULL);
  CHECK_STATUS(tk_verifier_verify(v, jwt, &c), TK_STATUS_OK);
  tk_claims_free(c);
  c = NULL;
  char custom[4096];
  REQUIRE(admin_sign(claims_for("https://login.example.com/", API, -10, 3600), NULL, custom,
                     sizeof custom));
  CHECK_STATUS(tk_verifier_verify(v, custom, &c), TK_STATUS_OK);
  tk_claims_free(c);
  c = NULL;
  expect_rejected(tk_verifier_verify(api_verifier(), custom, &c), TK_TOKEN_CHECK_ISSUER,
                  "custom domain not configured");
  tk_verifier_free(v);
  tk_verifier_config_free(cfg);

  /* An unreachable JWKS: the JWKS check, quickly. */
  REQUIRE(tk_verifier_config_new("http://127.0.0.1:1", API, &cfg) == TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_retry_max_attempts(cfg, 1), TK_STATUS_OK);
  v = NULL;
  CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_OK);
  tk_verifier_config_free(cfg);
  REQUIRE(v != NULL);
  expect_rejected(tk_verifier_verify(v, jwt, &c), TK_TOKEN_CHECK_JWKS, "no JWKS");
  CHECK_STATUS(tk_verifier_refresh_jwks(v, &keys), TK_STATUS_INVALID_TOKEN);
  CHECK(c == NULL);
  tk_verifier_free(v);
  wipe_free(jwt);
}

/* ---- sign-in ------------------------------------------------------------------------------ */

static tk_signin_client *new_public_client(const char *audience) {
  tk_signin_config *cfg = signin_config(fixture("TK_PUBLIC_CLIENT_ID"));
  tk_signin_client *c = NULL;
  if (cfg == NULL) return NULL;
  if (audience) CHECK_STATUS(tk_signin_config_set_audience(cfg, audience), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_scope(cfg, USER_SCOPE), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &c), TK_STATUS_OK);
  tk_signin_config_free(cfg);
  return c;
}

/* The shared public app, for the API (`audience` API) or with opaque access tokens (NULL). */
static tk_signin_client *public_client(const char *audience) {
  shared_cleanup_at_exit();
  tk_signin_client **c = audience ? &g.spa : &g.spa_opaque;
  if (*c == NULL) *c = new_public_client(audience);
  return *c;
}

/* The shared public app with every other knob of the config: organization acme, no
 * offline_access (so no refresh token), the endpoints and the issuer set explicitly. */
static tk_signin_client *org_online_client(void) {
  shared_cleanup_at_exit();
  if (g.spa_org_online != NULL) return g.spa_org_online;
  const char *url = fixture("TK_ISSUER_URL");
  tk_signin_config *cfg = signin_config(fixture("TK_PUBLIC_CLIENT_ID"));
  if (cfg == NULL) return NULL;
  char endpoint[256];
  snprintf(endpoint, sizeof endpoint, "%s/authorize", url);
  CHECK_STATUS(tk_signin_config_set_authorize_url(cfg, endpoint), TK_STATUS_OK);
  snprintf(endpoint, sizeof endpoint, "%s/oauth/token", url);
  CHECK_STATUS(tk_signin_config_set_token_url(cfg, endpoint), TK_STATUS_OK);
  snprintf(endpoint, sizeof endpoint, "%s/userinfo", url);
  CHECK_STATUS(tk_signin_config_set_userinfo_url(cfg, endpoint), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_add_issuer(cfg, iss()), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_organization(cfg, "acme"), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_offline_access(cfg, false), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &g.spa_org_online), TK_STATUS_OK);
  tk_signin_config_free(cfg);
  return g.spa_org_online;
}

/* The code flow: authorize, "the browser" (a GET of the URL, the 302's Location), callback. */
static tk_user_credentials *sign_in(const tk_signin_client *client,
                                    const tk_authorize_params *params) {
  tk_login_tx *tx = NULL;
  tk_user_credentials *creds = NULL;
  CHECK_STATUS(tk_signin_authorize(client, params, &tx), TK_STATUS_OK);
  if (tx == NULL) return NULL;
  char *url = tx_str(tk_login_tx_url, tx);
  char location[4096] = "";
  int status = url ? browse(url, location, sizeof location) : -1;
  CHECK(status == 302);
  if (status == 302) {
    CHECK_STATUS(tk_signin_handle_callback(client, tx, location, &creds), TK_STATUS_OK);
  }
  free(url);
  tk_login_tx_free(tx);
  return creds;
}

/* The value of query parameter `name` in `url`, into `out` ("" when absent; not decoded). */
static void query_param(const char *url, const char *name, char *out, size_t len) {
  out[0] = '\0';
  const char *q = strchr(url, '?');
  size_t n = strlen(name);
  while (q != NULL) {
    q++;
    if (strncmp(q, name, n) == 0 && q[n] == '=') {
      size_t v = strcspn(q + n + 1, "&#");
      snprintf(out, len, "%.*s", (int)v, q + n + 1);
      return;
    }
    q = strchr(q, '&');
  }
}

/* Scenario V2 (every surface): the verifier and the sign-in app come from the environment; no
 * credential variable is a public app, AUTH0_CLIENT_SECRET_FILE the confidential one; a missing
 * variable is TK_STATUS_CONFIG naming it. */
static void test_v2_verifier_and_signin_from_the_environment(void) {
  char dir[] = "/tmp/tk-v2-XXXXXX", secret[64];
  REQUIRE(mkdtemp(dir) != NULL);
  snprintf(secret, sizeof secret, "%s/secret", dir);
  FILE *f = fopen(secret, "w");
  REQUIRE(f != NULL);
  fprintf(f, "%s\n", fixture("TK_WEB_CLIENT_SECRET"));
  fclose(f);
  const char *vars[] = {"AUTH0_CLIENT_SECRET", "AUTH0_CLIENT_SECRET_FILE", "AUTH0_PRIVATE_KEY_FILE",
                        "AUTH0_REDIRECT_URI", "AUTH0_SCOPE"};
  for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) unsetenv(vars[k]);
  setenv("AUTH0_DOMAIN", fixture("TK_ISSUER_URL"), 1);
  setenv("AUTH0_AUDIENCE", API, 1);
  char *jwt = m2m_token(NULL);
  REQUIRE(jwt != NULL);
  tk_verifier_config *vc = NULL;
  tk_verifier *v = NULL;
  tk_claims *c = NULL;
  CHECK_STATUS(tk_verifier_config_from_env(&vc), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(vc, &v), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_verify(v, jwt, &c), TK_STATUS_OK);
  tk_claims_free(c);
  tk_verifier_free(v);
  tk_verifier_config_free(vc);
  free(jwt);

  setenv("AUTH0_CLIENT_ID", fixture("TK_PUBLIC_CLIENT_ID"), 1);
  tk_signin_config *sc = NULL;
  CHECK_STATUS(tk_signin_config_from_env(&sc), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "AUTH0_REDIRECT_URI") != NULL);
  setenv("AUTH0_REDIRECT_URI", fixture("TK_REDIRECT_URI"), 1);
  setenv("AUTH0_SCOPE", "openid email read:things", 1);
  tk_signin_client *app = NULL;
  CHECK_STATUS(tk_signin_config_from_env(&sc), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(sc, &app), TK_STATUS_OK);
  tk_signin_config_free(sc);
  tk_user_credentials *creds = app ? sign_in(app, NULL) : NULL;
  char *scope = creds ? creds_str(tk_user_credentials_scope, creds) : NULL;
  CHECK(scope != NULL && strstr(scope, "read:things") != NULL);
  free(scope);
  tk_user_credentials_free(creds);
  tk_signin_client_free(app);

  setenv("AUTH0_CLIENT_ID", fixture("TK_WEB_CLIENT_ID"), 1);
  setenv("AUTH0_CLIENT_SECRET_FILE", secret, 1);
  long before = issuer_count("auth:client_secret_post");
  sc = NULL, app = NULL;
  CHECK_STATUS(tk_signin_config_from_env(&sc), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(sc, &app), TK_STATUS_OK);
  tk_signin_config_free(sc);
  creds = app ? sign_in(app, NULL) : NULL;
  CHECK(creds != NULL);
  CHECK(issuer_count("auth:client_secret_post") == before + 1);
  tk_user_credentials_free(creds);
  tk_signin_client_free(app);

  unsetenv("AUTH0_DOMAIN");
  vc = NULL;
  CHECK_STATUS(tk_verifier_config_from_env(&vc), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "AUTH0_DOMAIN") != NULL);
  for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) unsetenv(vars[k]);
  unsetenv("AUTH0_AUDIENCE");
  unsetenv("AUTH0_CLIENT_ID");
  remove(secret);
  rmdir(dir);
}

static void test_signin_code_flow(void) {
  tk_signin_client *client = public_client(API);
  REQUIRE(client != NULL);
  tk_login_tx *tx = NULL;
  CHECK_STATUS(tk_signin_authorize(client, NULL, &tx), TK_STATUS_OK);
  REQUIRE(tx != NULL);
  char *url = tx_str(tk_login_tx_url, tx);
  char *state = tx_str(tk_login_tx_state, tx);
  char *nonce = tx_str(tk_login_tx_nonce, tx);
  REQUIRE(url && state && nonce);
  char want[512], got[512];
  snprintf(want, sizeof want, "%s/authorize?", fixture("TK_ISSUER_URL"));
  CHECK(strncmp(url, want, strlen(want)) == 0);
  query_param(url, "code_challenge_method", got, sizeof got);
  CHECK_STR(got, "S256");
  query_param(url, "state", got, sizeof got);
  CHECK_STR(got, state);
  query_param(url, "client_id", got, sizeof got);
  CHECK_STR(got, fixture("TK_PUBLIC_CLIENT_ID"));
  query_param(url, "audience", got, sizeof got);
  CHECK_STR(got, "https%3A%2F%2Fapi.example.com");
  query_param(url, "scope", got, sizeof got);
  CHECK_CONTAINS(got, "offline_access");
  CHECK(strlen(state) >= 32 && strlen(nonce) >= 32);

  /* The browser: a GET without following the redirect; Location is the redirect URI. */
  char location[4096];
  long authorize0 = issuer_count("authorize");
  CHECK(browse(url, location, sizeof location) == 302);
  CHECK(issuer_count("authorize") == authorize0 + 1);
  CHECK(strncmp(location, fixture("TK_REDIRECT_URI"), strlen(fixture("TK_REDIRECT_URI"))) == 0);
  query_param(location, "state", got, sizeof got);
  CHECK_STR(got, state);
  query_param(location, "code", got, sizeof got);
  CHECK(strlen(got) > 0);

  tk_user_credentials *creds = NULL;
  CHECK_STATUS(tk_signin_handle_callback(client, tx, location, &creds), TK_STATUS_OK);
  REQUIRE(creds != NULL);
  char *at = creds_str(tk_user_credentials_access_token, creds);
  char *type = creds_str(tk_user_credentials_token_type, creds);
  char *scope = creds_str(tk_user_credentials_scope, creds);
  char *rt = creds_str(tk_user_credentials_refresh_token, creds);
  char *id = creds_str(tk_user_credentials_id_token, creds);
  char *header = creds_str(tk_user_credentials_authorization_header, creds);
  REQUIRE(at && type && scope && rt && id && header);
  CHECK_STR(type, "Bearer");
  CHECK_CONTAINS(scope, "openid");
  CHECK_CONTAINS(scope, "read:things");
  CHECK(strlen(rt) > 0 && strlen(id) > 0);
  CHECK(strncmp(header, "Bearer ", 7) == 0 && strcmp(header + 7, at) == 0);
  bool has = false;
  CHECK_STATUS(tk_user_credentials_has_refresh_token(creds, &has), TK_STATUS_OK);
  CHECK(has);
  has = false;
  CHECK_STATUS(tk_user_credentials_has_id_token(creds, &has), TK_STATUS_OK);
  CHECK(has);
  uint64_t expires_at = 0;
  CHECK_STATUS(tk_user_credentials_expires_at(creds, &expires_at), TK_STATUS_OK);
  uint64_t wall = (uint64_t)time(NULL);
  CHECK(expires_at > wall + 86000 && expires_at <= wall + 86400);
  bool valid = false;
  CHECK_STATUS(tk_user_credentials_is_valid_for(creds, 3600, &valid), TK_STATUS_OK);
  CHECK(valid);
  CHECK_STATUS(tk_user_credentials_is_valid_for(creds, 2 * 86400, &valid), TK_STATUS_OK);
  CHECK(!valid);

  /* The access token verifies for the API; openid + API: aud is an array with /userinfo. */
  tk_claims *c = NULL;
  CHECK_STATUS(tk_verifier_verify(api_verifier(), at, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  char userinfo_aud[256];
  snprintf(userinfo_aud, sizeof userinfo_aud, "%suserinfo", iss());
  bool yes = false;
  CHECK_STATUS(tk_claims_has_audience(c, API, &yes), TK_STATUS_OK);
  CHECK(yes);
  yes = false;
  CHECK_STATUS(tk_claims_has_audience(c, userinfo_aud, &yes), TK_STATUS_OK);
  CHECK(yes);
  char aud[512];
  size_t n = 0;
  CHECK_STATUS(tk_claims_get_json(c, "aud", aud, sizeof aud, &n), TK_STATUS_OK);
  CHECK(aud[0] == '[');
  char *sub = claim_str(c, "sub");
  CHECK(sub != NULL && strcmp(sub, fixture("TK_USER_SUB")) == 0);
  free(sub);
  tk_claims_free(c);

  /* The ID token: verified again here with the nonce; a wrong nonce is the nonce check. */
  tk_verifier *ids = id_verifier();
  REQUIRE(ids != NULL);
  c = NULL;
  CHECK_STATUS(tk_verifier_verify_id_token(ids, id, nonce, -1, &c), TK_STATUS_OK);
  char *email = c ? claim_str(c, "email") : NULL;
  CHECK(email != NULL && strcmp(email, fixture("TK_USER_EMAIL")) == 0);
  free(email);
  int64_t auth_time = 0;
  if (c) CHECK_STATUS(tk_claims_get_i64(c, "auth_time", &auth_time), TK_STATUS_OK);
  CHECK(auth_time > 0);
  tk_claims_free(c);
  c = NULL;
  CHECK_STATUS(tk_verifier_verify_id_token(ids, id, NULL, 3600, &c), TK_STATUS_OK);
  tk_claims_free(c);
  c = NULL;
  expect_rejected(tk_verifier_verify_id_token(ids, id, "another-nonce", -1, &c),
                  TK_TOKEN_CHECK_NONCE, "nonce");
  /* An access token is not an ID token for this client. */
  expect_rejected(tk_verifier_verify_id_token(ids, at, NULL, -1, &c), TK_TOKEN_CHECK_AUDIENCE,
                  "access token as ID token");
  CHECK(c == NULL);

  /* The ID token's claims without verifying again. */
  c = NULL;
  CHECK_STATUS(tk_user_credentials_id_token_claims(creds, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  char *cn = claim_str(c, "nonce");
  CHECK(cn != NULL && strcmp(cn, nonce) == 0);
  free(cn);
  bool verified = false;
  CHECK_STATUS(tk_claims_get_bool(c, "email_verified", &verified), TK_STATUS_OK);
  CHECK(verified);
  tk_claims_free(c);

  /* The code is single use: the same callback again is refused by the server. */
  tk_user_credentials *twice = NULL;
  CHECK_STATUS(tk_signin_handle_callback(client, tx, location, &twice), TK_STATUS_OAUTH);
  last_error e = get_last_error();
  CHECK_STR(e.oauth_error, "invalid_grant");
  CHECK(twice == NULL);

  wipe_free(at);
  free(type);
  free(scope);
  wipe_free(rt);
  wipe_free(id);
  wipe_free(header);
  free(url);
  free(state);
  free(nonce);
  tk_user_credentials_free(creds);
  tk_login_tx_free(tx);
}

static void test_signin_forged_state_and_error_callbacks(void) {
  tk_signin_client *client = public_client(API);
  REQUIRE(client != NULL);
  tk_login_tx *tx = NULL;
  CHECK_STATUS(tk_signin_authorize(client, NULL, &tx), TK_STATUS_OK);
  REQUIRE(tx != NULL);
  char *url = tx_str(tk_login_tx_url, tx);
  char *state = tx_str(tk_login_tx_state, tx);
  REQUIRE(url && state);
  char location[4096], forged[4096], code[256];
  CHECK(browse(url, location, sizeof location) == 302);
  query_param(location, "code", code, sizeof code);
  long tokens = token_requests();

  /* A forged state: refused before any request. */
  snprintf(forged, sizeof forged, "%s?code=%s&state=forged", fixture("TK_REDIRECT_URI"), code);
  tk_user_credentials *creds = NULL;
  CHECK_STATUS(tk_signin_handle_callback(client, tx, forged, &creds), TK_STATUS_INVALID_RESPONSE);
  last_error e = get_last_error();
  CHECK_CONTAINS(e.message, "state");
  CHECK(creds == NULL);
  /* No state at all, and not a URL. */
  snprintf(forged, sizeof forged, "%s?code=%s", fixture("TK_REDIRECT_URI"), code);
  CHECK_STATUS(tk_signin_handle_callback(client, tx, forged, &creds), TK_STATUS_INVALID_RESPONSE);
  CHECK_STATUS(tk_signin_handle_callback(client, tx, "not a url", &creds),
               TK_STATUS_INVALID_RESPONSE);
  /* An error sent back by /authorize, with the right state: the OAuth error. */
  snprintf(forged, sizeof forged,
           "%s?error=access_denied&error_description=User%%20cancelled&state=%s",
           fixture("TK_REDIRECT_URI"), state);
  CHECK_STATUS(tk_signin_handle_callback(client, tx, forged, &creds), TK_STATUS_OAUTH);
  e = get_last_error();
  CHECK_STR(e.oauth_error, "access_denied");
  CHECK_STR(e.description, "User cancelled");
  CHECK(token_requests() == tokens);
  CHECK(creds == NULL);

  /* The real callback still works. */
  CHECK_STATUS(tk_signin_handle_callback(client, tx, location, &creds), TK_STATUS_OK);
  CHECK(creds != NULL);
  tk_user_credentials_free(creds);
  free(url);
  free(state);
  tk_login_tx_free(tx);
}

static void test_signin_transaction_json_and_exchange_code(void) {
  tk_signin_client *client = public_client(NULL);
  REQUIRE(client != NULL);
  tk_authorize_params *p = NULL;
  CHECK_STATUS(tk_authorize_params_new(&p), TK_STATUS_OK);
  REQUIRE(p != NULL);
  CHECK_STATUS(tk_authorize_params_set_audience(p, API), TK_STATUS_OK);
  CHECK_STATUS(tk_authorize_params_set_scope(p, "openid email read:things"), TK_STATUS_OK);
  CHECK_STATUS(tk_authorize_params_set_max_age(p, 3600), TK_STATUS_OK);
  CHECK_STATUS(tk_authorize_params_add(p, "login_hint", fixture("TK_OTHER_USER_EMAIL")),
               TK_STATUS_OK);
  tk_login_tx *tx = NULL;
  CHECK_STATUS(tk_signin_authorize(client, p, &tx), TK_STATUS_OK);
  REQUIRE(tx != NULL);

  /* Persisted and restored (an app restarted while the browser was open). */
  size_t need = 0, n = 0;
  CHECK_STATUS(tk_login_tx_to_json(tx, NULL, 0, &need), TK_STATUS_BUFFER_TOO_SMALL);
  REQUIRE(need > 10);
  char *json = malloc(need);
  REQUIRE(json != NULL);
  memset(json, '#', need);
  CHECK_STATUS(tk_login_tx_to_json(tx, json, need - 1, &n), TK_STATUS_BUFFER_TOO_SMALL);
  CHECK(n == need && json[0] == '#');
  CHECK_STATUS(tk_login_tx_to_json(tx, json, need, &n), TK_STATUS_OK);
  CHECK_CONTAINS(json, "code_verifier");
  char *url = tx_str(tk_login_tx_url, tx);
  tk_login_tx_free(tx);
  tk_login_tx *restored = NULL;
  CHECK_STATUS(tk_login_tx_from_json(json, &restored), TK_STATUS_OK);
  wipe_free(json);
  REQUIRE(restored != NULL && url != NULL);
  char *url2 = tx_str(tk_login_tx_url, restored);
  CHECK(url2 != NULL && strcmp(url, url2) == 0);
  char got[512];
  query_param(url, "max_age", got, sizeof got);
  CHECK_STR(got, "3600");
  query_param(url, "login_hint", got, sizeof got);
  CHECK(strlen(got) > 0);

  /* The code taken from the Location by hand, exchanged directly. */
  char location[4096], code[256];
  CHECK(browse(url, location, sizeof location) == 302);
  query_param(location, "code", code, sizeof code);
  tk_user_credentials *creds = NULL;
  CHECK_STATUS(tk_signin_exchange_code(client, restored, code, &creds), TK_STATUS_OK);
  REQUIRE(creds != NULL);
  tk_claims *c = NULL;
  CHECK_STATUS(tk_user_credentials_id_token_claims(creds, &c), TK_STATUS_OK);
  char *sub = c ? claim_str(c, "sub") : NULL;
  CHECK(sub != NULL && strcmp(sub, fixture("TK_OTHER_USER_SUB")) == 0);
  free(sub);
  tk_claims_free(c);
  /* A code that is not one. */
  tk_user_credentials *none = NULL;
  CHECK_STATUS(tk_signin_exchange_code(client, restored, "not-a-code", &none), TK_STATUS_OAUTH);
  CHECK_STR(get_last_error().oauth_error, "invalid_grant");
  CHECK(none == NULL);

  /* Not a saved transaction; a parameter the library sets itself. */
  tk_login_tx *bad = NULL;
  CHECK_STATUS(tk_login_tx_from_json("{\"url\":1}", &bad), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_login_tx_from_json("nope", &bad), TK_STATUS_CONFIG);
  CHECK(bad == NULL);
  CHECK_STATUS(tk_authorize_params_add(p, "state", "mine"), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_authorize(client, p, &bad), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "state");
  CHECK(bad == NULL);

  free(url);
  free(url2);
  tk_user_credentials_free(creds);
  tk_login_tx_free(restored);
  tk_authorize_params_free(p);
}

static void test_signin_confidential_client_and_refresh(void) {
  /* A regular web app with a secret (client_secret_basic); its refresh tokens do not rotate. */
  tk_signin_config *cfg = signin_config(fixture("TK_WEB_CLIENT_ID"));
  REQUIRE(cfg != NULL);
  CHECK_STATUS(tk_signin_config_set_client_secret(cfg, fixture("TK_WEB_CLIENT_SECRET")),
               TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_auth_method(cfg, "client_secret_basic"), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_audience(cfg, API), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_scope(cfg, USER_SCOPE), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_leeway_secs(cfg, 30), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_request_timeout_ms(cfg, 5000), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_connect_timeout_ms(cfg, 2000), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_retry_max_attempts(cfg, 2), TK_STATUS_OK);
  tk_signin_client *web = NULL;
  CHECK_STATUS(tk_signin_client_new(cfg, &web), TK_STATUS_OK);
  tk_signin_config_free(cfg);
  REQUIRE(web != NULL);

  tk_user_credentials *creds = sign_in(web, NULL);
  REQUIRE(creds != NULL);
  char *rt = creds_str(tk_user_credentials_refresh_token, creds);
  char *at = creds_str(tk_user_credentials_access_token, creds);
  REQUIRE(rt && at && strlen(rt) > 0);
  long grants = issuer_count("grant:refresh_token");
  tk_user_credentials *renewed = NULL;
  CHECK_STATUS(tk_signin_refresh(web, rt, NULL, &renewed), TK_STATUS_OK);
  REQUIRE(renewed != NULL);
  CHECK(issuer_count("grant:refresh_token") == grants + 1);
  char *at2 = creds_str(tk_user_credentials_access_token, renewed);
  CHECK(at2 != NULL && strcmp(at, at2) != 0);
  bool has = true;
  CHECK_STATUS(tk_user_credentials_has_refresh_token(renewed, &has), TK_STATUS_OK);
  CHECK(!has); /* not rotated: keep using the one sent */
  char empty[4];
  size_t n = 0;
  CHECK_STATUS(tk_user_credentials_refresh_token(renewed, empty, sizeof empty, &n), TK_STATUS_OK);
  CHECK(n == 1 && empty[0] == '\0');
  /* A narrower scope. */
  tk_user_credentials *narrow = NULL;
  CHECK_STATUS(tk_signin_refresh(web, rt, "openid read:things", &narrow), TK_STATUS_OK);
  char *scope = narrow ? creds_str(tk_user_credentials_scope, narrow) : NULL;
  CHECK(scope != NULL && strcmp(scope, "openid read:things") == 0);
  free(scope);
  tk_user_credentials_free(narrow);

  /* An unknown refresh token: the user must sign in again; no token in the message. */
  tk_user_credentials *none = NULL;
  CHECK_STATUS(tk_signin_refresh(web, "not-a-refresh-token", NULL, &none),
               TK_STATUS_REAUTHENTICATION_REQUIRED);
  last_error e = get_last_error();
  CHECK_STR(e.oauth_error, "invalid_grant");
  CHECK(strstr(e.message, "not-a-refresh-token") == NULL);
  CHECK_STATUS(tk_signin_refresh(web, "", NULL, &none), TK_STATUS_CONFIG);
  CHECK(none == NULL);

  /* The public app rotates: the old refresh token is then refused. */
  tk_signin_client *spa = public_client(API);
  REQUIRE(spa != NULL);
  tk_user_credentials *user = sign_in(spa, NULL);
  REQUIRE(user != NULL);
  char *old = creds_str(tk_user_credentials_refresh_token, user);
  REQUIRE(old != NULL);
  tk_user_credentials *rotated = NULL;
  CHECK_STATUS(tk_signin_refresh(spa, old, NULL, &rotated), TK_STATUS_OK);
  char *fresh = rotated ? creds_str(tk_user_credentials_refresh_token, rotated) : NULL;
  CHECK(fresh != NULL && strlen(fresh) > 0 && strcmp(fresh, old) != 0);
  CHECK_STATUS(tk_signin_refresh(spa, old, NULL, &none), TK_STATUS_REAUTHENTICATION_REQUIRED);

  wipe_free(old);
  wipe_free(fresh);
  wipe_free(rt);
  wipe_free(at);
  wipe_free(at2);
  tk_user_credentials_free(rotated);
  tk_user_credentials_free(user);
  tk_user_credentials_free(renewed);
  tk_user_credentials_free(creds);
  tk_signin_client_free(web);
}

static void test_userinfo(void) {
  /* With the JWT access token of openid + API. */
  tk_signin_client *client = public_client(API);
  REQUIRE(client != NULL);
  tk_user_credentials *creds = sign_in(client, NULL);
  REQUIRE(creds != NULL);
  char *at = creds_str(tk_user_credentials_access_token, creds);
  REQUIRE(at != NULL);
  tk_claims *c = NULL;
  CHECK_STATUS(tk_signin_userinfo(client, at, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  char *sub = claim_str(c, "sub");
  char *email = claim_str(c, "email");
  CHECK(sub != NULL && strcmp(sub, fixture("TK_USER_SUB")) == 0);
  CHECK(email != NULL && strcmp(email, fixture("TK_USER_EMAIL")) == 0);
  bool verified = false;
  CHECK_STATUS(tk_claims_get_bool(c, "email_verified", &verified), TK_STATUS_OK);
  CHECK(verified);
  free(sub);
  free(email);
  tk_claims_free(c);

  /* With an opaque access token (no audience). */
  tk_signin_client *opaque = public_client(NULL);
  REQUIRE(opaque != NULL);
  tk_user_credentials *oc = sign_in(opaque, NULL);
  REQUIRE(oc != NULL);
  char *ot = creds_str(tk_user_credentials_access_token, oc);
  REQUIRE(ot != NULL);
  CHECK(strchr(ot, '.') == NULL); /* not a JWT */
  c = NULL;
  CHECK_STATUS(tk_signin_userinfo(opaque, ot, &c), TK_STATUS_OK);
  sub = c ? claim_str(c, "sub") : NULL;
  CHECK(sub != NULL && strcmp(sub, fixture("TK_USER_SUB")) == 0);
  free(sub);
  tk_claims_free(c);

  /* A bad token: OAuth invalid_token, HTTP 401, never the token in the message. */
  c = NULL;
  CHECK_STATUS(tk_signin_userinfo(client, "bogus-token-value", &c), TK_STATUS_OAUTH);
  last_error e = get_last_error();
  CHECK_STR(e.oauth_error, "invalid_token");
  CHECK(e.http_status == 401);
  CHECK(strstr(e.message, "bogus-token-value") == NULL);
  /* A machine-to-machine token is not a user's. */
  char *m2m = m2m_token(NULL);
  REQUIRE(m2m != NULL);
  CHECK_STATUS(tk_signin_userinfo(client, m2m, &c), TK_STATUS_OAUTH);
  /* Characters not allowed in a header: refused before any request. */
  CHECK_STATUS(tk_signin_userinfo(client, "a b", &c), TK_STATUS_CONFIG);
  CHECK(c == NULL);

  wipe_free(m2m);
  wipe_free(at);
  wipe_free(ot);
  tk_user_credentials_free(creds);
  tk_user_credentials_free(oc);
}

static void test_signin_config_errors(void) {
  const char *url = fixture("TK_ISSUER_URL");
  tk_signin_config *cfg = NULL;
  tk_signin_client *c = (tk_signin_client *)&c;
  tk_signin_client *sentinel = c;
  REQUIRE(tk_signin_config_new(url, "", fixture("TK_REDIRECT_URI"), &cfg) == TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "client_id");
  tk_signin_config_free(cfg);
  REQUIRE(tk_signin_config_new(url, "spa", "not a url", &cfg) == TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "redirect_uri");
  tk_signin_config_free(cfg);
  REQUIRE(tk_signin_config_new("http://example.com", "spa", "https://app.example.com/cb",
                               &cfg) == TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &c), TK_STATUS_CONFIG);
  tk_signin_config_free(cfg);
  REQUIRE(tk_signin_config_new(url, "spa", fixture("TK_REDIRECT_URI"), &cfg) == TK_STATUS_OK);
  /* An auth method with no credentials; a private key for a secret method; a bad key. */
  CHECK_STATUS(tk_signin_config_set_auth_method(cfg, "client_secret_basic"), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_signin_config_set_auth_method(cfg, "nope"), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_signin_config_set_private_key_jwt(cfg, "not a pem", "RS256", "kid-1"),
               TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_signin_config_set_private_key_jwt(cfg, "pem", "HS256", NULL),
               TK_STATUS_CONFIG);
  /* "" is no secret: a public client again, which an auth method cannot go with. */
  CHECK_STATUS(tk_signin_config_set_client_secret(cfg, ""), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_auth_method(cfg, "client_secret_post"), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "public client");
  CHECK(c == sentinel);
  tk_signin_config_free(cfg);
  /* Every other knob, in a public client that works. */
  c = org_online_client();
  REQUIRE(c != NULL);
  tk_user_credentials *creds = sign_in(c, NULL);
  REQUIRE(creds != NULL);
  bool has = true;
  CHECK_STATUS(tk_user_credentials_has_refresh_token(creds, &has), TK_STATUS_OK);
  CHECK(!has); /* no offline_access */
  tk_claims *claims = NULL;
  CHECK_STATUS(tk_user_credentials_id_token_claims(creds, &claims), TK_STATUS_OK);
  char *org = claims ? claim_str(claims, "org_name") : NULL;
  CHECK(org != NULL && strcmp(org, "acme") == 0);
  free(org);
  tk_claims_free(claims);
  tk_user_credentials_free(creds);
}

static void test_user_credentials_json(void) {
  const char *json =
      "{\"access_token\":\"at-123\",\"token_type\":\"Bearer\",\"expires_at\":4102444800,"
      "\"scope\":\"openid read:things\",\"refresh_token\":\"rt-456\",\"id_token\":null}";
  tk_user_credentials *c = NULL;
  CHECK_STATUS(tk_user_credentials_from_json(json, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  char *at = creds_str(tk_user_credentials_access_token, c);
  char *rt = creds_str(tk_user_credentials_refresh_token, c);
  char *id = creds_str(tk_user_credentials_id_token, c);
  char *back = creds_str(tk_user_credentials_to_json, c);
  CHECK(at && strcmp(at, "at-123") == 0);
  CHECK(rt && strcmp(rt, "rt-456") == 0);
  CHECK(id && strcmp(id, "") == 0);
  CHECK_CONTAINS(back, "\"refresh_token\":\"rt-456\"");
  uint64_t exp = 0;
  CHECK_STATUS(tk_user_credentials_expires_at(c, &exp), TK_STATUS_OK);
  CHECK(exp == 4102444800u);
  bool has = true;
  CHECK_STATUS(tk_user_credentials_has_id_token(c, &has), TK_STATUS_OK);
  CHECK(!has);
  tk_claims *claims = (tk_claims *)&claims;
  CHECK_STATUS(tk_user_credentials_id_token_claims(c, &claims), TK_STATUS_OK);
  CHECK(claims == NULL);
  tk_user_credentials *again = NULL;
  CHECK_STATUS(tk_user_credentials_from_json(back, &again), TK_STATUS_OK);
  char *back2 = again ? creds_str(tk_user_credentials_to_json, again) : NULL;
  CHECK(back2 != NULL && strcmp(back, back2) == 0);
  tk_user_credentials *bad = NULL;
  CHECK_STATUS(tk_user_credentials_from_json("{\"token_type\":\"Bearer\"}", &bad),
               TK_STATUS_CONFIG);
  last_error e = get_last_error();
  /* The core's message: where the JSON is wrong, never a quote of it (it may hold a token). */
  CHECK_CONTAINS(e.message, "stored credentials are not valid");
  CHECK(bad == NULL);
  CHECK_STATUS(tk_user_credentials_from_json("{\"access_token\":\"secret-at\",\"token_type\":1}",
                                             &bad),
               TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "secret-at") == NULL);
  CHECK(bad == NULL);
  wipe_free(at);
  wipe_free(rt);
  free(id);
  wipe_free(back);
  wipe_free(back2);
  tk_user_credentials_free(again);
  tk_user_credentials_free(c);
}

/* ---- the credentials manager over a storage written in C ------------------------------------ */

typedef struct {
  char json[16384];
  size_t len;
  int has;
  int loads, saves, clears;
  int saved_with_nul;      /* every saved buffer had its NUL at json[len] */
  int fail_load, fail_save, fail_clear; /* returned when non-zero */
  const char *garbage;     /* handed to the sink instead of the stored JSON */
  size_t garbage_len;
  tk_status sink_status;   /* what tk_store_sink_set returned last */
  int probe_sink_null;     /* load also tries tk_store_sink_set(sink, NULL, 3) */
  tk_status probe_status;
  unsigned slow_us;        /* each load sleeps this long (to make overlaps visible) */
  int active, overlaps;    /* callbacks running at once: never more than one */
  int max_active;          /* the most callbacks seen running at once */
  /* When set, load calls these functions of this manager (its own, in S2) and records what
   * they returned and the message of the first. */
  tk_credentials_manager *reenter;
  tk_status reenter_has, reenter_credentials;
  char reenter_kind[32], reenter_message[512];
} c_store;

static void enter(c_store *s) {
  int now = __atomic_add_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
  if (now > 1) __atomic_add_fetch(&s->overlaps, 1, __ATOMIC_SEQ_CST);
  int max = __atomic_load_n(&s->max_active, __ATOMIC_SEQ_CST);
  while (now > max && !__atomic_compare_exchange_n(&s->max_active, &max, now, false,
                                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
}

static void leave(c_store *s) { __atomic_sub_fetch(&s->active, 1, __ATOMIC_SEQ_CST); }

static int store_load(void *user_data, tk_store_sink *sink) {
  c_store *s = user_data;
  enter(s);
  s->loads++;
  if (s->slow_us) {
    struct timespec ts = {0, (long)s->slow_us * 1000L};
    nanosleep(&ts, NULL);
  }
  int rc = 0;
  if (s->reenter) {
    bool has = false;
    tk_user_credentials *c = NULL;
    s->reenter_has = tk_credentials_manager_has_credentials(s->reenter, &has);
    error_str(tk_last_error_kind, s->reenter_kind, sizeof s->reenter_kind);
    error_str(tk_last_error_message, s->reenter_message, sizeof s->reenter_message);
    s->reenter_credentials = tk_credentials_manager_credentials(s->reenter, 60, NULL, &c);
    tk_user_credentials_free(c);
  }
  if (s->probe_sink_null) s->probe_status = tk_store_sink_set(sink, NULL, 3);
  if (s->fail_load) {
    rc = s->fail_load;
  } else if (s->garbage) {
    s->sink_status = tk_store_sink_set(sink, s->garbage, s->garbage_len);
  } else if (s->has) {
    s->sink_status = tk_store_sink_set(sink, s->json, s->len);
    rc = s->sink_status == TK_STATUS_OK ? 0 : 1;
  }
  leave(s);
  return rc;
}

static int store_save(void *user_data, const char *json, size_t len) {
  c_store *s = user_data;
  enter(s);
  s->saves++;
  int rc = s->fail_save;
  if (rc == 0 && len >= sizeof s->json) rc = 99;
  if (rc == 0) {
    if (json[len] != '\0') s->saved_with_nul = 0;
    memcpy(s->json, json, len);
    s->json[len] = '\0';
    s->len = len;
    s->has = 1;
  }
  leave(s);
  return rc;
}

static int store_clear(void *user_data) {
  c_store *s = user_data;
  enter(s);
  s->clears++;
  int rc = s->fail_clear;
  if (rc == 0) {
    memset(s->json, 0, sizeof s->json);
    s->len = 0;
    s->has = 0;
  }
  leave(s);
  return rc;
}

static c_store *new_store(void) {
  c_store *s = calloc(1, sizeof *s);
  if (s) s->saved_with_nul = 1;
  return s;
}

static tk_credentials_store callbacks(c_store *s) {
  tk_credentials_store cb;
  memset(&cb, 0, sizeof cb);
  cb.struct_size = sizeof cb;
  cb.user_data = s;
  cb.load = store_load;
  cb.save = store_save;
  cb.clear = store_clear;
  return cb;
}

/* A manager of `client` over the C store `st`; NULL (a failed check) on failure. */
static tk_credentials_manager *manager_over(const tk_signin_client *client, c_store *st) {
  tk_credentials_store cb = callbacks(st);
  tk_credentials_manager *m = NULL;
  CHECK_STATUS(tk_credentials_manager_new(client, &cb, &m), TK_STATUS_OK);
  return m;
}

/* Makes the stored access token look expired (as a host would find it after a while). */
static int store_expire(c_store *s) {
  char *p = strstr(s->json, "\"expires_at\":");
  if (p == NULL) return 0;
  p += strlen("\"expires_at\":");
  if (strspn(p, "0123456789") != 10) return 0;
  memcpy(p, "1000000000", 10);
  return 1;
}

/* A string of the stored credentials (through the public JSON API). */
static char *stored_str(const c_store *s, creds_str_fn fn) {
  tk_user_credentials *c = NULL;
  if (!s->has || tk_user_credentials_from_json(s->json, &c) != TK_STATUS_OK) return NULL;
  char *r = creds_str(fn, c);
  tk_user_credentials_free(c);
  return r;
}

typedef struct {
  tk_signin_client *client;
  tk_user_credentials *first;
  c_store *store;
  tk_credentials_manager *manager;
} signed_in;

static void signed_out(signed_in *s) {
  tk_credentials_manager_free(s->manager);
  tk_user_credentials_free(s->first);
  free(s->store);
  memset(s, 0, sizeof *s);
}

/* Signed in with the public app for the API, the credentials saved through the manager; on
 * failure everything is freed and 0 returned. */
static int sign_in_with_manager(signed_in *s) {
  memset(s, 0, sizeof *s);
  s->client = public_client(API);
  s->store = new_store();
  if (s->client && s->store) s->first = sign_in(s->client, NULL);
  if (s->first) s->manager = manager_over(s->client, s->store);
  if (s->manager) CHECK_STATUS(tk_credentials_manager_save(s->manager, s->first), TK_STATUS_OK);
  if (s->manager && s->store->saves == 1) return 1;
  signed_out(s);
  return 0;
}

static void test_manager_serves_stored_credentials_and_renews_with_rotation(void) {
  tk_signin_client *client = public_client(API);
  c_store *st = new_store();
  REQUIRE(client != NULL && st != NULL);
  tk_credentials_manager *m = manager_over(client, st);
  if (m == NULL) free(st);
  REQUIRE(m != NULL);
  CHECK(st->loads == 0 && st->saves == 0);

  /* Nothing stored yet. */
  bool has = true;
  CHECK_STATUS(tk_credentials_manager_has_credentials(m, &has), TK_STATUS_OK);
  CHECK(!has);
  CHECK(st->loads == 1);
  tk_user_credentials *c = (tk_user_credentials *)&c;
  CHECK_STATUS(tk_credentials_manager_stored(m, &c), TK_STATUS_OK);
  CHECK(c == NULL);
  CHECK_STATUS(tk_credentials_manager_credentials(m, 60, NULL, &c),
               TK_STATUS_REAUTHENTICATION_REQUIRED);
  CHECK_STR(get_last_error().oauth_error, "no_credentials");

  /* Signed in; the credentials saved through the C storage, as JSON. */
  tk_user_credentials *first = sign_in(client, NULL);
  REQUIRE(first != NULL);
  char *at0 = creds_str(tk_user_credentials_access_token, first);
  char *rt0 = creds_str(tk_user_credentials_refresh_token, first);
  REQUIRE(at0 && rt0);
  CHECK_STATUS(tk_credentials_manager_save(m, first), TK_STATUS_OK);
  CHECK(st->saves == 1 && st->has && st->saved_with_nul);
  CHECK_CONTAINS(st->json, "\"refresh_token\":");
  CHECK_STATUS(tk_credentials_manager_has_credentials(m, &has), TK_STATUS_OK);
  CHECK(has);

  /* Valid: served from the storage, no request. */
  long tokens = token_requests();
  for (int i = 0; i < 3; i++) {
    c = NULL;
    CHECK_STATUS(tk_credentials_manager_credentials(m, 60, NULL, &c), TK_STATUS_OK);
    char *at = c ? creds_str(tk_user_credentials_access_token, c) : NULL;
    CHECK(at != NULL && strcmp(at, at0) == 0);
    wipe_free(at);
    tk_user_credentials_free(c);
  }
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(m, 60, "read:things", &c), TK_STATUS_OK);
  tk_user_credentials_free(c);
  CHECK(token_requests() == tokens);
  tk_credentials_stats stats;
  memset(&stats, 0, sizeof stats);
  CHECK_STATUS(tk_credentials_manager_stats(m, &stats, sizeof stats), TK_STATUS_OK);
  CHECK(stats.hits == 4 && stats.renewals == 0);

  /* Expired in the storage: renewed through the refresh token; the rotated refresh token
   * was saved through the callback before the call returned. */
  REQUIRE(store_expire(st));
  long grants = issuer_count("grant:refresh_token");
  long reuse = issuer_count("refresh_reuse");
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(m, 60, NULL, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  char *at1 = creds_str(tk_user_credentials_access_token, c);
  char *rt1 = creds_str(tk_user_credentials_refresh_token, c);
  char *stored_rt = stored_str(st, tk_user_credentials_refresh_token);
  REQUIRE(at1 && rt1 && stored_rt);
  CHECK(strcmp(at1, at0) != 0);
  CHECK(strcmp(rt1, rt0) != 0);
  CHECK_STR(stored_rt, rt1);
  CHECK(st->saves == 2);
  CHECK(issuer_count("grant:refresh_token") == grants + 1);
  tk_user_credentials_free(c);
  wipe_free(stored_rt);

  /* renew() forces a renewal; rotated again. */
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_renew(m, &c), TK_STATUS_OK);
  char *rt2 = c ? creds_str(tk_user_credentials_refresh_token, c) : NULL;
  CHECK(rt2 != NULL && strcmp(rt2, rt1) != 0);
  tk_user_credentials_free(c);

  /* A min_ttl at least as long as a renewed token lives (the manager knows it from its last
   * renewal): CONFIG at once, no grant; what is stored stays, and is served afterwards. */
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(m, 2 * 86400, NULL, &c), TK_STATUS_CONFIG);
  CHECK_CONTAINS(get_last_error().message, "min_ttl");
  CHECK(c == NULL);
  CHECK(issuer_count("grant:refresh_token") == grants + 2);
  stored_rt = stored_str(st, tk_user_credentials_refresh_token);
  CHECK(stored_rt != NULL && rt2 != NULL && strcmp(stored_rt, rt2) == 0);
  char *stored_at = stored_str(st, tk_user_credentials_access_token);
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(m, 60, NULL, &c), TK_STATUS_OK);
  char *at3 = c ? creds_str(tk_user_credentials_access_token, c) : NULL;
  CHECK(at3 != NULL && stored_at != NULL && strcmp(at3, stored_at) == 0);
  tk_user_credentials_free(c);
  CHECK(issuer_count("grant:refresh_token") == grants + 2);
  CHECK(issuer_count("refresh_reuse") == reuse); /* no rotated-out token sent again */

  /* A scope the user never granted: the renewal asks for it, the server refuses. */
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(m, 60, "delete:things", &c), TK_STATUS_OAUTH);
  CHECK(c == NULL);

  memset(&stats, 0, sizeof stats);
  CHECK_STATUS(tk_credentials_manager_stats(m, &stats, sizeof stats), TK_STATUS_OK);
  CHECK(stats.renewals == 3 && stats.rotations == 2);
  CHECK_STATUS(tk_credentials_manager_stats(m, &stats, 8), TK_STATUS_BUFFER_TOO_SMALL);

  /* Stored, as is. Then signed out. */
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_stored(m, &c), TK_STATUS_OK);
  char *at4 = c ? creds_str(tk_user_credentials_access_token, c) : NULL;
  CHECK(at4 != NULL && strcmp(at4, stored_at) == 0);
  tk_user_credentials_free(c);
  CHECK_STATUS(tk_credentials_manager_clear(m), TK_STATUS_OK);
  CHECK(st->clears == 1 && !st->has);
  CHECK_STATUS(tk_credentials_manager_has_credentials(m, &has), TK_STATUS_OK);
  CHECK(!has);
  CHECK(st->overlaps == 0);

  wipe_free(at0);
  wipe_free(rt0);
  wipe_free(at1);
  wipe_free(rt1);
  wipe_free(rt2);
  wipe_free(at3);
  wipe_free(at4);
  wipe_free(stored_rt);
  wipe_free(stored_at);
  tk_user_credentials_free(first);
  tk_credentials_manager_free(m);
  free(st);
}

#define RENEWERS 8

typedef struct {
  tk_credentials_manager *m;
  pthread_barrier_t *barrier;
  tk_status status;
  char *access_token;
} renewer;

static void *renewer_main(void *arg) {
  renewer *r = arg;
  pthread_barrier_wait(r->barrier);
  tk_user_credentials *c = NULL;
  r->status = tk_credentials_manager_credentials(r->m, 60, NULL, &c);
  if (c) r->access_token = creds_str(tk_user_credentials_access_token, c);
  tk_user_credentials_free(c);
  return NULL;
}

static void test_manager_eight_threads_share_one_renewal(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  REQUIRE(store_expire(s.store));
  s.store->slow_us = 2000;
  /* A slow token endpoint, so every thread arrives while the renewal is in flight. */
  CHECK(inject_fault("{\"endpoint\":\"token\",\"delay_ms\":300}"));
  long tokens = token_requests();
  long grants = issuer_count("grant:refresh_token");
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, RENEWERS);
  renewer r[RENEWERS];
  pthread_t th[RENEWERS];
  for (int i = 0; i < RENEWERS; i++) {
    r[i] = (renewer){s.manager, &barrier, TK_STATUS_PANIC, NULL};
    CHECK(pthread_create(&th[i], NULL, renewer_main, &r[i]) == 0);
  }
  for (int i = 0; i < RENEWERS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  CHECK(token_requests() == tokens + 1);
  CHECK(issuer_count("grant:refresh_token") == grants + 1);
  for (int i = 0; i < RENEWERS; i++) {
    CHECK(r[i].status == TK_STATUS_OK);
    CHECK(r[i].access_token != NULL && r[0].access_token != NULL &&
          strcmp(r[i].access_token, r[0].access_token) == 0);
  }
  char *stored = stored_str(s.store, tk_user_credentials_access_token);
  CHECK(stored != NULL && r[0].access_token != NULL && strcmp(stored, r[0].access_token) == 0);
  CHECK(s.store->saves == 2); /* sign-in, then one renewal */
  CHECK(s.store->overlaps == 0);
  wipe_free(stored);
  for (int i = 0; i < RENEWERS; i++) wipe_free(r[i].access_token);
  signed_out(&s);
}

/* Two managers over one store take turns on it through this lock (each manager alone already
 * calls its store one call at a time). */
static pthread_mutex_t shared_store_lock = PTHREAD_MUTEX_INITIALIZER;

static int locked_load(void *u, tk_store_sink *sink) {
  pthread_mutex_lock(&shared_store_lock);
  int rc = store_load(u, sink);
  pthread_mutex_unlock(&shared_store_lock);
  return rc;
}

static int locked_save(void *u, const char *json, size_t len) {
  pthread_mutex_lock(&shared_store_lock);
  int rc = store_save(u, json, len);
  pthread_mutex_unlock(&shared_store_lock);
  return rc;
}

static int locked_clear(void *u) {
  pthread_mutex_lock(&shared_store_lock);
  int rc = store_clear(u);
  pthread_mutex_unlock(&shared_store_lock);
  return rc;
}

/* Issue 12: two managers of one process over the same store, with rotation, renewing at once
 * make one refresh grant, and both end with the rotated refresh token. */
static void test_i12_managers_on_one_store_share_one_grant(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  tk_credentials_store cb = callbacks(s.store);
  cb.load = locked_load;
  cb.save = locked_save;
  cb.clear = locked_clear;
  tk_signin_client *other = new_public_client(API); /* a second client, the test's own */
  tk_credentials_manager *a = NULL, *b = NULL;
  CHECK_STATUS(tk_credentials_manager_new(s.client, &cb, &a), TK_STATUS_OK);
  if (other) CHECK_STATUS(tk_credentials_manager_new(other, &cb, &b), TK_STATUS_OK);
  char *first_rt = creds_str(tk_user_credentials_refresh_token, s.first);
  if (a == NULL || b == NULL || first_rt == NULL || !store_expire(s.store)) {
    CHECK(!"setup");
    goto done;
  }
  CHECK(inject_fault("{\"endpoint\":\"token\",\"delay_ms\":300}"));
  long grants = issuer_count("grant:refresh_token");
  long reuse = issuer_count("refresh_reuse");
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, RENEWERS);
  renewer r[RENEWERS];
  pthread_t th[RENEWERS];
  for (int i = 0; i < RENEWERS; i++) {
    r[i] = (renewer){i % 2 ? a : b, &barrier, TK_STATUS_PANIC, NULL};
    CHECK(pthread_create(&th[i], NULL, renewer_main, &r[i]) == 0);
  }
  for (int i = 0; i < RENEWERS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  CHECK(issuer_count("grant:refresh_token") == grants + 1);
  CHECK(issuer_count("refresh_reuse") == reuse);
  for (int i = 0; i < RENEWERS; i++) {
    CHECK(r[i].status == TK_STATUS_OK);
    CHECK(r[i].access_token != NULL && r[0].access_token != NULL &&
          strcmp(r[i].access_token, r[0].access_token) == 0);
  }
  char *rotated = stored_str(s.store, tk_user_credentials_refresh_token);
  CHECK(rotated != NULL && strcmp(rotated, first_rt) != 0);
  tk_credentials_manager *both[] = {a, b};
  for (int i = 0; i < 2; i++) {
    tk_user_credentials *c = NULL;
    CHECK_STATUS(tk_credentials_manager_stored(both[i], &c), TK_STATUS_OK);
    char *rt = c ? creds_str(tk_user_credentials_refresh_token, c) : NULL;
    CHECK(rt != NULL && rotated != NULL && strcmp(rt, rotated) == 0);
    wipe_free(rt);
    tk_user_credentials_free(c);
  }
  /* The family is alive: the next renewal works. */
  if (store_expire(s.store)) {
    tk_user_credentials *c = NULL;
    CHECK_STATUS(tk_credentials_manager_credentials(a, 60, NULL, &c), TK_STATUS_OK);
    tk_user_credentials_free(c);
  }
  CHECK(issuer_count("refresh_reuse") == reuse);
  wipe_free(rotated);
  for (int i = 0; i < RENEWERS; i++) wipe_free(r[i].access_token);
done:
  wipe_free(first_rt);
  tk_credentials_manager_free(a);
  tk_credentials_manager_free(b);
  tk_signin_client_free(other);
  signed_out(&s);
}

/* Issue 12: sign-out with revocation: the store is empty and the issuer refuses the old refresh
 * token; a failed revocation is its status, the user signed out locally all the same. */
static void test_i12_clear_revoke_revokes_the_refresh_token(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  char *rt = creds_str(tk_user_credentials_refresh_token, s.first);
  REQUIRE(rt != NULL);
  long revoked = issuer_count("revoked");
  CHECK_STATUS(tk_credentials_manager_clear_revoke(s.manager), TK_STATUS_OK);
  CHECK(!s.store->has);
  CHECK(issuer_count("revoked") == revoked + 1);
  tk_user_credentials *c = NULL;
  CHECK_STATUS(tk_signin_refresh(s.client, rt, NULL, &c),
               TK_STATUS_REAUTHENTICATION_REQUIRED);
  CHECK_STR(get_last_error().oauth_error, "invalid_grant");
  CHECK(c == NULL);
  /* A failed revocation. */
  tk_user_credentials *again = sign_in(s.client, NULL);
  if (again) {
    CHECK_STATUS(tk_credentials_manager_save(s.manager, again), TK_STATUS_OK);
    CHECK(inject_fault("{\"endpoint\":\"revoke\",\"status\":401,\"body\":"
                       "\"{\\\"error\\\":\\\"invalid_client\\\"}\"}"));
    CHECK_STATUS(tk_credentials_manager_clear_revoke(s.manager), TK_STATUS_OAUTH);
    CHECK_STR(get_last_error().oauth_error, "invalid_client");
    CHECK(!s.store->has);
  }
  CHECK_STATUS(tk_credentials_manager_clear_revoke(NULL), TK_STATUS_NULL_PARAMETER);
  tk_user_credentials_free(again);
  wipe_free(rt);
  signed_out(&s);
}

static void test_manager_revoked_refresh_tokens_need_reauthentication(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  CHECK(admin_http("POST", "/__admin/revoke_refresh_tokens", "{}", NULL, 0) == 200);
  REQUIRE(store_expire(s.store));
  long grants = issuer_count("grant:refresh_token");
  tk_user_credentials *c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c),
               TK_STATUS_REAUTHENTICATION_REQUIRED);
  last_error e = get_last_error();
  CHECK_STR(e.oauth_error, "invalid_grant");
  CHECK(!e.transient);
  /* The refused refresh token is never sent again. */
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c),
               TK_STATUS_REAUTHENTICATION_REQUIRED);
  CHECK_STATUS(tk_credentials_manager_renew(s.manager, &c), TK_STATUS_REAUTHENTICATION_REQUIRED);
  CHECK(c == NULL);
  CHECK(issuer_count("grant:refresh_token") == grants + 1);
  /* Signing in again recovers. */
  tk_user_credentials *fresh = sign_in(s.client, NULL);
  REQUIRE(fresh != NULL);
  CHECK_STATUS(tk_credentials_manager_save(s.manager, fresh), TK_STATUS_OK);
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_OK);
  tk_user_credentials_free(c);
  tk_user_credentials_free(fresh);

  /* No refresh token at all (no offline_access): re-authentication too. */
  tk_signin_client *online = org_online_client();
  REQUIRE(online != NULL);
  tk_user_credentials *short_lived = sign_in(online, NULL);
  REQUIRE(short_lived != NULL);
  CHECK_STATUS(tk_credentials_manager_save(s.manager, short_lived), TK_STATUS_OK);
  REQUIRE(store_expire(s.store));
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c),
               TK_STATUS_REAUTHENTICATION_REQUIRED);
  CHECK_STR(get_last_error().oauth_error, "no_refresh_token");
  CHECK(c == NULL);
  tk_user_credentials_free(short_lived);
  signed_out(&s);
}

/* S1: a failing host store is the core's storage error (kind "storage", not transient, the
 * method in the message), TK_STATUS_STORAGE here; for load, and for save during a renewal. */
static void test_s1_storage_errors_are_tk_status_storage(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  tk_user_credentials *c = (tk_user_credentials *)&c;
  tk_user_credentials *sentinel = c;
  bool has = false;

  /* load fails. */
  s.store->fail_load = 7;
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_STORAGE);
  last_error e = get_last_error();
  CHECK(e.status == TK_STATUS_STORAGE);
  CHECK_STR(e.kind, "storage");
  CHECK_CONTAINS(e.message, "load() failed");
  CHECK_CONTAINS(e.message, "callback returned 7");
  CHECK(!e.transient);
  CHECK_STR(tk_status_str(TK_STATUS_STORAGE), "TK_STATUS_STORAGE");
  CHECK_STATUS(tk_credentials_manager_has_credentials(s.manager, &has), TK_STATUS_STORAGE);
  CHECK_STATUS(tk_credentials_manager_stored(s.manager, &c), TK_STATUS_STORAGE);
  CHECK_STATUS(tk_credentials_manager_renew(s.manager, &c), TK_STATUS_STORAGE);
  CHECK(c == sentinel && !has);
  s.store->fail_load = 0;

  /* load hands back something that is not saved credentials, or not UTF-8. */
  s.store->garbage = "{not json";
  s.store->garbage_len = strlen(s.store->garbage);
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_STORAGE);
  CHECK_CONTAINS(get_last_error().message, "load() failed: callback handed back unusable JSON");
  CHECK(s.store->sink_status == TK_STATUS_OK);
  s.store->garbage = "{\"access_token\":\"\xff\xfe\"}";
  s.store->garbage_len = strlen(s.store->garbage);
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_STORAGE);
  CHECK_CONTAINS(get_last_error().message, "UTF-8");
  CHECK(s.store->sink_status == TK_STATUS_INVALID_UTF8);
  s.store->garbage = NULL;
  /* The sink's own argument checks, from inside a load. */
  s.store->probe_sink_null = 1;
  CHECK_STATUS(tk_credentials_manager_has_credentials(s.manager, &has), TK_STATUS_OK);
  CHECK(has);
  CHECK(s.store->probe_status == TK_STATUS_NULL_PARAMETER);
  s.store->probe_sink_null = 0;
  CHECK_STATUS(tk_store_sink_set(NULL, "{}", 2), TK_STATUS_NULL_PARAMETER);

  /* save fails during a renewal: the status, and the renewal is not lost (served next,
   * without another grant, and no rotated-out refresh token is sent again). */
  REQUIRE(store_expire(s.store));
  s.store->fail_save = 3;
  long grants = issuer_count("grant:refresh_token");
  long reuse = issuer_count("refresh_reuse");
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_STORAGE);
  e = get_last_error();
  CHECK_CONTAINS(e.message, "save() failed: callback returned 3");
  CHECK(e.status == TK_STATUS_STORAGE && !e.transient);
  CHECK_STR(e.kind, "storage");
  CHECK(c == sentinel);
  s.store->fail_save = 0;
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_OK);
  bool valid = false;
  if (c) CHECK_STATUS(tk_user_credentials_is_valid_for(c, 3600, &valid), TK_STATUS_OK);
  CHECK(valid);
  tk_user_credentials_free(c);
  CHECK(issuer_count("grant:refresh_token") == grants + 1);
  CHECK(issuer_count("refresh_reuse") == reuse);
  CHECK_STATUS(tk_credentials_manager_save(s.manager, s.first), TK_STATUS_OK);
  s.store->fail_save = 5;
  CHECK_STATUS(tk_credentials_manager_save(s.manager, s.first), TK_STATUS_STORAGE);
  s.store->fail_save = 0;

  /* clear fails. */
  s.store->fail_clear = 4;
  CHECK_STATUS(tk_credentials_manager_clear(s.manager), TK_STATUS_STORAGE);
  CHECK_CONTAINS(get_last_error().message, "clear() failed: callback returned 4");
  CHECK(s.store->has);
  s.store->fail_clear = 0;
  CHECK(s.store->overlaps == 0);
  signed_out(&s);
}

/* ---- Issue 23 (scenario G2): eight processes renew one refresh token on a shared level ---- */

#define RENEWING_PROCESSES 8

/* One forked process: its own client on the level `spec`, its own manager over its own copy of
 * the stored `json`; waits for the start (EOF on `go_fd`), renews, writes "STATUS RT SAVED\n"
 * (the refresh token it ended with and the one its store saved) to `out_fd`, _exit. */
_Noreturn static void g2_child(const c_store *stored, const char *spec, int go_fd, int out_fd,
                               double bound) {
  tk_signin_config *cfg = signin_config(fixture("TK_PUBLIC_CLIENT_ID"));
  tk_status st = cfg ? tk_signin_config_set_shared_cache(cfg, spec) : TK_STATUS_PANIC;
  tk_signin_client *client = NULL;
  if (st == TK_STATUS_OK) st = tk_signin_client_new(cfg, &client);
  tk_signin_config_free(cfg);
  c_store *store = new_store();
  tk_credentials_manager *m = NULL;
  if (store == NULL) st = TK_STATUS_PANIC;
  if (st == TK_STATUS_OK) {
    memcpy(store->json, stored->json, sizeof store->json);
    store->len = stored->len;
    store->has = 1;
    tk_credentials_store cb = callbacks(store);
    st = tk_credentials_manager_new(client, &cb, &m);
  }
  char byte;
  struct pollfd p = {go_fd, POLLIN, 0};
  if (poll(&p, 1, (int)(bound * 1000)) != 1 || read(go_fd, &byte, 1) != 0) st = TK_STATUS_PANIC;
  tk_user_credentials *c = NULL;
  if (st == TK_STATUS_OK) st = tk_credentials_manager_renew(m, &c);
  char *rt = c ? creds_str(tk_user_credentials_refresh_token, c) : NULL;
  char *saved = store ? stored_str(store, tk_user_credentials_refresh_token) : NULL;
  char line[2048];
  int len = snprintf(line, sizeof line, "%d %s %s\n", (int)st, rt ? rt : "-", saved ? saved : "-");
  if (len > 0 && (size_t)len < sizeof line) {
    ssize_t w = write(out_fd, line, (size_t)len);
    (void)w;
  }
  _exit(0);
}

/* Eight forked processes, each with its own manager over its own copy of one stored credential,
 * renew at once on the level `spec`: one refresh grant, the same rotated refresh token saved
 * everywhere, no reuse (the local issuer would revoke the family), and the family alive. */
static void eight_processes_renew_on(const char *spec) {
  double bound = under_valgrind() ? 240 : 30;
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  char *first_rt = creds_str(tk_user_credentials_refresh_token, s.first);
  CHECK(inject_fault("{\"endpoint\":\"token\",\"delay_ms\":400}"));
  long grants = issuer_count("grant:refresh_token");
  long reuse = issuer_count("refresh_reuse");
  int go[2];
  REQUIRE(pipe(go) == 0);
  pid_t pids[RENEWING_PROCESSES];
  int outs[RENEWING_PROCESSES];
  int started = 0;
  fflush(stdout);
  fflush(stderr);
  for (; started < RENEWING_PROCESSES; started++) {
    int p[2];
    if (pipe(p) != 0) break;
    pid_t pid = fork();
    if (pid == 0) {
      alarm((unsigned)bound + 30); /* a stuck child never outlives the run */
      close(go[1]);
      close(p[0]);
      g2_child(s.store, spec, go[0], p[1], bound);
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      break;
    }
    pids[started] = pid;
    outs[started] = p[0];
  }
  CHECK(started == RENEWING_PROCESSES);
  close(go[0]);
  close(go[1]); /* all of them at once */
  static char lines[RENEWING_PROCESSES][2048];
  for (int i = 0; i < started; i++) {
    CHECK(read_until_eof(outs[i], lines[i], sizeof lines[i], bound));
    close(outs[i]);
    int status = wait_bounded(pids[i], bound);
    CHECK(status != -1 && WIFEXITED(status));
  }
  CHECK(issuer_count("grant:refresh_token") == grants + 1); /* one grant for the fleet */
  CHECK(issuer_count("refresh_reuse") == reuse);
  static char first[1024], rt[1024], saved[1024];
  first[0] = '\0';
  for (int i = 0; i < started; i++) {
    int st = -1;
    if (sscanf(lines[i], "%d %1023s %1023s", &st, rt, saved) != 3 || st != TK_STATUS_OK) {
      fprintf(stderr, "    process %d said \"%s\"\n", i, lines[i]);
      g_failed_checks++;
      continue;
    }
    CHECK(strcmp(rt, saved) == 0);
    if (first[0] == '\0') snprintf(first, sizeof first, "%s", rt);
    CHECK(strcmp(rt, first) == 0); /* the same rotated token everywhere */
  }
  CHECK(first_rt != NULL && first[0] != '\0' && strcmp(first, first_rt) != 0);
  tk_user_credentials *c = NULL;
  CHECK_STATUS(tk_signin_refresh(s.client, first, NULL, &c), TK_STATUS_OK); /* family alive */
  tk_user_credentials_free(c);
  wipe_free(first_rt);
  signed_out(&s);
}

static void test_g2_eight_processes_on_a_file_level_send_one_refresh_grant(void) {
  char dir[] = "/tmp/tk-g2-XXXXXX", spec[64];
  REQUIRE(mkdtemp(dir) != NULL);
  snprintf(spec, sizeof spec, "file:%s/level", dir);
  eight_processes_renew_on(spec);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

static void test_g2_eight_processes_sharing_redis_send_one_refresh_grant(void) {
  const char *url = getenv("TOKENKEEPER_TEST_REDIS_URL");
  if (url == NULL || *url == '\0') {
    fprintf(stderr, "    TOKENKEEPER_TEST_REDIS_URL is not set (ffi/test.sh starts Redis)\n");
    g_failed_checks++;
    return;
  }
  eight_processes_renew_on(url);
}

static void test_manager_store_struct(void) {
  tk_signin_client *client = public_client(API);
  c_store *st = new_store();
  REQUIRE(client != NULL && st != NULL);
  tk_credentials_manager *m = (tk_credentials_manager *)&m;
  tk_credentials_manager *sentinel = m;
  tk_credentials_store cb = callbacks(st);
  cb.load = NULL;
  CHECK_STATUS(tk_credentials_manager_new(client, &cb, &m), TK_STATUS_NULL_PARAMETER);
  CHECK_CONTAINS(get_last_error().message, "store->load");
  cb = callbacks(st);
  cb.save = NULL;
  CHECK_STATUS(tk_credentials_manager_new(client, &cb, &m), TK_STATUS_NULL_PARAMETER);
  CHECK_CONTAINS(get_last_error().message, "store->save");
  cb = callbacks(st);
  cb.clear = NULL;
  CHECK_STATUS(tk_credentials_manager_new(client, &cb, &m), TK_STATUS_NULL_PARAMETER);
  cb = callbacks(st);
  cb.struct_size = sizeof cb - 1;
  CHECK_STATUS(tk_credentials_manager_new(client, &cb, &m), TK_STATUS_BUFFER_TOO_SMALL);
  cb.struct_size = 0;
  CHECK_STATUS(tk_credentials_manager_new(client, &cb, &m), TK_STATUS_BUFFER_TOO_SMALL);
  CHECK(m == sentinel);

  /* A caller built against a later header, whose struct has more fields: accepted. */
  struct {
    tk_credentials_store base;
    void *later_field;
  } bigger;
  bigger.base = callbacks(st);
  bigger.base.struct_size = sizeof bigger;
  bigger.later_field = &bigger;
  m = NULL;
  CHECK_STATUS(tk_credentials_manager_new(client, &bigger.base, &m), TK_STATUS_OK);
  bool has = true;
  if (m) CHECK_STATUS(tk_credentials_manager_has_credentials(m, &has), TK_STATUS_OK);
  CHECK(!has && st->loads == 1);
  tk_credentials_manager_free(m);
  CHECK(st->loads == 1 && st->saves == 0 && st->clears == 0);
  free(st);
}

/* ---- NULL arguments and invalid UTF-8 on every new entry point ----------------------------- */

#define CHECK_NULL(expr) CHECK_STATUS(expr, TK_STATUS_NULL_PARAMETER)
#define CHECK_UTF8(expr) CHECK_STATUS(expr, TK_STATUS_INVALID_UTF8)

typedef tk_status (*vcfg_str_fn)(tk_verifier_config *, const char *);
typedef tk_status (*vcfg_u64_fn)(tk_verifier_config *, uint64_t);
typedef tk_status (*scfg_str_fn)(tk_signin_config *, const char *);
typedef tk_status (*scfg_u64_fn)(tk_signin_config *, uint64_t);
typedef tk_status (*params_str_fn)(tk_authorize_params *, const char *);

static const vcfg_str_fn VCFG_STR[] = {
    tk_verifier_config_add_issuer,          tk_verifier_config_set_organization,
    tk_verifier_config_set_authorized_party, tk_verifier_config_set_algorithms,
    tk_verifier_config_set_jwks_url,        tk_verifier_config_set_organization_name,
};
static const vcfg_u64_fn VCFG_U64[] = {
    tk_verifier_config_set_leeway_secs,
    tk_verifier_config_set_jwks_lifetime_secs,
    tk_verifier_config_set_jwks_min_refetch_interval_secs,
    tk_verifier_config_set_connect_timeout_ms,
    tk_verifier_config_set_request_timeout_ms,
};
static const scfg_str_fn SCFG_STR[] = {
    tk_signin_config_set_client_secret, tk_signin_config_set_auth_method,
    tk_signin_config_set_audience,      tk_signin_config_set_scope,
    tk_signin_config_set_organization,  tk_signin_config_add_issuer,
    tk_signin_config_set_authorize_url, tk_signin_config_set_token_url,
    tk_signin_config_set_userinfo_url,
};
static const scfg_u64_fn SCFG_U64[] = {
    tk_signin_config_set_leeway_secs,
    tk_signin_config_set_connect_timeout_ms,
    tk_signin_config_set_request_timeout_ms,
};
static const params_str_fn PARAMS_STR[] = {
    tk_authorize_params_set_audience,
    tk_authorize_params_set_scope,
    tk_authorize_params_set_organization,
    tk_authorize_params_set_redirect_uri,
};
static const creds_str_fn CREDS_STR[] = {
    tk_user_credentials_access_token, tk_user_credentials_token_type,
    tk_user_credentials_scope,        tk_user_credentials_refresh_token,
    tk_user_credentials_id_token,     tk_user_credentials_authorization_header,
    tk_user_credentials_to_json,
};
static const tx_str_fn TX_STR[] = {tk_login_tx_url, tk_login_tx_state, tk_login_tx_nonce,
                                   tk_login_tx_to_json};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* What the NULL and UTF-8 tests call functions on: one of each handle, and a verified token. */
typedef struct {
  tk_verifier_config *vcfg;
  tk_signin_config *scfg;
  tk_authorize_params *params;
  tk_verifier *v;           /* shared */
  tk_signin_client *client; /* shared */
  tk_login_tx *tx;
  c_store *st;
  tk_credentials_manager *m;
  char *jwt;
  tk_claims *claims; /* of jwt */
} handles;

static void handles_close(handles *h) {
  tk_verifier_config_free(h->vcfg);
  tk_signin_config_free(h->scfg);
  tk_authorize_params_free(h->params);
  tk_login_tx_free(h->tx);
  tk_credentials_manager_free(h->m);
  free(h->st);
  wipe_free(h->jwt);
  tk_claims_free(h->claims);
  memset(h, 0, sizeof *h);
}

/* 1 when every handle was made; otherwise 0, with everything freed. */
static int handles_open(handles *h) {
  memset(h, 0, sizeof *h);
  h->vcfg = verifier_config(API);
  h->scfg = signin_config(fixture("TK_PUBLIC_CLIENT_ID"));
  CHECK_STATUS(tk_authorize_params_new(&h->params), TK_STATUS_OK);
  h->v = api_verifier();
  h->client = public_client(API);
  h->st = new_store();
  h->jwt = m2m_token(NULL);
  if (h->client) CHECK_STATUS(tk_signin_authorize(h->client, NULL, &h->tx), TK_STATUS_OK);
  if (h->client && h->st) h->m = manager_over(h->client, h->st);
  if (h->v && h->jwt) CHECK_STATUS(tk_verifier_verify(h->v, h->jwt, &h->claims), TK_STATUS_OK);
  if (h->vcfg && h->scfg && h->params && h->tx && h->m && h->claims) return 1;
  handles_close(h);
  return 0;
}

static void test_signin_null_arguments(void) {
  const char *url = fixture("TK_ISSUER_URL");
  const char *cb_url = fixture("TK_REDIRECT_URI");
  handles h;
  REQUIRE(handles_open(&h));
  tk_credentials_store cb = callbacks(h.st);
  tk_user_credentials *creds = NULL;
  CHECK_STATUS(tk_user_credentials_from_json(
                   "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_at\":1}", &creds),
               TK_STATUS_OK);
  if (creds == NULL) handles_close(&h);
  REQUIRE(creds != NULL);

  /* Out-parameters that must stay untouched. */
  tk_verifier_config *o_vcfg = NULL;
  tk_verifier *o_v = NULL;
  tk_claims *o_claims = NULL;
  tk_signin_config *o_scfg = NULL;
  tk_signin_client *o_client = NULL;
  tk_authorize_params *o_params = NULL;
  tk_login_tx *o_tx = NULL;
  tk_user_credentials *o_creds = NULL;
  tk_credentials_manager *o_m = NULL;
  char buf[64];
  size_t n = 0;
  int64_t i64 = 7;
  double f64 = 7;
  bool b = false;
  uint64_t u64 = 7;
  tk_verify_stats vst;
  tk_credentials_stats cst;

  /* Verifier. */
  CHECK_NULL(tk_verifier_config_new(NULL, API, &o_vcfg));
  CHECK_NULL(tk_verifier_config_new(url, NULL, &o_vcfg));
  CHECK_NULL(tk_verifier_config_new(url, API, NULL));
  for (size_t i = 0; i < COUNT(VCFG_STR); i++) {
    CHECK_NULL(VCFG_STR[i](NULL, "x"));
    CHECK_NULL(VCFG_STR[i](h.vcfg, NULL));
  }
  for (size_t i = 0; i < COUNT(VCFG_U64); i++) CHECK_NULL(VCFG_U64[i](NULL, 1));
  CHECK_NULL(tk_verifier_config_set_max_token_bytes(NULL, 1000));
  CHECK_NULL(tk_verifier_config_set_retry_max_attempts(NULL, 1));
  CHECK_NULL(tk_verifier_new(NULL, &o_v));
  CHECK_NULL(tk_verifier_new(h.vcfg, NULL));
  CHECK_NULL(tk_verifier_verify(NULL, h.jwt, &o_claims));
  CHECK_NULL(tk_verifier_verify(h.v, NULL, &o_claims));
  CHECK_NULL(tk_verifier_verify(h.v, h.jwt, NULL));
  CHECK_NULL(tk_verifier_verify_id_token(NULL, h.jwt, NULL, -1, &o_claims));
  CHECK_NULL(tk_verifier_verify_id_token(h.v, NULL, NULL, -1, &o_claims));
  CHECK_NULL(tk_verifier_verify_id_token(h.v, h.jwt, NULL, -1, NULL));
  CHECK_NULL(tk_verifier_refresh_jwks(NULL, &n));
  CHECK_NULL(tk_verifier_refresh_jwks(h.v, NULL));
  CHECK_NULL(tk_verifier_stats(NULL, &vst, sizeof vst));
  CHECK_NULL(tk_verifier_stats(h.v, NULL, sizeof vst));
  CHECK_NULL(tk_last_error_token_check_code(NULL));

  /* Claims. */
  CHECK_NULL(tk_claims_json(NULL, buf, sizeof buf, &n));
  CHECK_NULL(tk_claims_json(h.claims, buf, sizeof buf, NULL));
  CHECK_NULL(tk_claims_json(h.claims, NULL, sizeof buf, &n));
  CHECK_NULL(tk_claims_get_str(NULL, "iss", buf, sizeof buf, &n));
  CHECK_NULL(tk_claims_get_str(h.claims, NULL, buf, sizeof buf, &n));
  CHECK_NULL(tk_claims_get_str(h.claims, "iss", buf, sizeof buf, NULL));
  CHECK_NULL(tk_claims_get_str(h.claims, "iss", NULL, sizeof buf, &n));
  CHECK_NULL(tk_claims_get_json(NULL, "aud", buf, sizeof buf, &n));
  CHECK_NULL(tk_claims_get_json(h.claims, NULL, buf, sizeof buf, &n));
  CHECK_NULL(tk_claims_get_json(h.claims, "aud", buf, sizeof buf, NULL));
  CHECK_NULL(tk_claims_get_i64(NULL, "exp", &i64));
  CHECK_NULL(tk_claims_get_i64(h.claims, NULL, &i64));
  CHECK_NULL(tk_claims_get_i64(h.claims, "exp", NULL));
  CHECK_NULL(tk_claims_get_f64(NULL, "exp", &f64));
  CHECK_NULL(tk_claims_get_f64(h.claims, NULL, &f64));
  CHECK_NULL(tk_claims_get_f64(h.claims, "exp", NULL));
  CHECK_NULL(tk_claims_get_bool(NULL, "x", &b));
  CHECK_NULL(tk_claims_get_bool(h.claims, NULL, &b));
  CHECK_NULL(tk_claims_has_audience(NULL, API, &b));
  CHECK_NULL(tk_claims_has_audience(h.claims, NULL, &b));
  CHECK_NULL(tk_claims_has_audience(h.claims, API, NULL));
  CHECK_NULL(tk_claims_has_scope(NULL, "read:things", &b));
  CHECK_NULL(tk_claims_has_scope(h.claims, NULL, &b));
  CHECK_NULL(tk_claims_has_scope(h.claims, "read:things", NULL));

  /* Sign-in config, h.client, parameters. */
  CHECK_NULL(tk_signin_config_new(NULL, "id", cb_url, &o_scfg));
  CHECK_NULL(tk_signin_config_new(url, NULL, cb_url, &o_scfg));
  CHECK_NULL(tk_signin_config_new(url, "id", NULL, &o_scfg));
  CHECK_NULL(tk_signin_config_new(url, "id", cb_url, NULL));
  for (size_t i = 0; i < COUNT(SCFG_STR); i++) {
    CHECK_NULL(SCFG_STR[i](NULL, "x"));
    CHECK_NULL(SCFG_STR[i](h.scfg, NULL));
  }
  for (size_t i = 0; i < COUNT(SCFG_U64); i++) CHECK_NULL(SCFG_U64[i](NULL, 1));
  CHECK_NULL(tk_signin_config_set_offline_access(NULL, true));
  CHECK_NULL(tk_signin_config_set_retry_max_attempts(NULL, 1));
  CHECK_NULL(tk_signin_config_set_private_key_jwt(NULL, "pem", "RS256", NULL));
  CHECK_NULL(tk_signin_config_set_private_key_jwt(h.scfg, NULL, "RS256", NULL));
  CHECK_NULL(tk_signin_config_set_private_key_jwt(h.scfg, "pem", NULL, NULL));
  CHECK_NULL(tk_signin_client_new(NULL, &o_client));
  CHECK_NULL(tk_signin_client_new(h.scfg, NULL));
  CHECK_NULL(tk_authorize_params_new(NULL));
  for (size_t i = 0; i < COUNT(PARAMS_STR); i++) {
    CHECK_NULL(PARAMS_STR[i](NULL, "x"));
    CHECK_NULL(PARAMS_STR[i](h.params, NULL));
  }
  CHECK_NULL(tk_authorize_params_set_max_age(NULL, 1));
  CHECK_NULL(tk_authorize_params_add(NULL, "k", "v"));
  CHECK_NULL(tk_authorize_params_add(h.params, NULL, "v"));
  CHECK_NULL(tk_authorize_params_add(h.params, "k", NULL));

  /* The login. */
  CHECK_NULL(tk_signin_authorize(NULL, NULL, &o_tx));
  CHECK_NULL(tk_signin_authorize(h.client, NULL, NULL));
  for (size_t i = 0; i < COUNT(TX_STR); i++) {
    CHECK_NULL(TX_STR[i](NULL, buf, sizeof buf, &n));
    CHECK_NULL(TX_STR[i](h.tx, buf, sizeof buf, NULL));
    CHECK_NULL(TX_STR[i](h.tx, NULL, sizeof buf, &n));
  }
  CHECK_NULL(tk_login_tx_from_json(NULL, &o_tx));
  CHECK_NULL(tk_login_tx_from_json("{}", NULL));
  CHECK_NULL(tk_signin_handle_callback(NULL, h.tx, cb_url, &o_creds));
  CHECK_NULL(tk_signin_handle_callback(h.client, NULL, cb_url, &o_creds));
  CHECK_NULL(tk_signin_handle_callback(h.client, h.tx, NULL, &o_creds));
  CHECK_NULL(tk_signin_handle_callback(h.client, h.tx, cb_url, NULL));
  CHECK_NULL(tk_signin_exchange_code(NULL, h.tx, "code", &o_creds));
  CHECK_NULL(tk_signin_exchange_code(h.client, NULL, "code", &o_creds));
  CHECK_NULL(tk_signin_exchange_code(h.client, h.tx, NULL, &o_creds));
  CHECK_NULL(tk_signin_exchange_code(h.client, h.tx, "code", NULL));
  CHECK_NULL(tk_signin_refresh(NULL, "rt", NULL, &o_creds));
  CHECK_NULL(tk_signin_refresh(h.client, NULL, NULL, &o_creds));
  CHECK_NULL(tk_signin_refresh(h.client, "rt", NULL, NULL));
  CHECK_NULL(tk_signin_userinfo(NULL, "at", &o_claims));
  CHECK_NULL(tk_signin_userinfo(h.client, NULL, &o_claims));
  CHECK_NULL(tk_signin_userinfo(h.client, "at", NULL));

  /* User credentials. */
  for (size_t i = 0; i < COUNT(CREDS_STR); i++) {
    CHECK_NULL(CREDS_STR[i](NULL, buf, sizeof buf, &n));
    CHECK_NULL(CREDS_STR[i](creds, buf, sizeof buf, NULL));
    CHECK_NULL(CREDS_STR[i](creds, NULL, sizeof buf, &n));
  }
  CHECK_NULL(tk_user_credentials_expires_at(NULL, &u64));
  CHECK_NULL(tk_user_credentials_expires_at(creds, NULL));
  CHECK_NULL(tk_user_credentials_is_valid_for(NULL, 1, &b));
  CHECK_NULL(tk_user_credentials_is_valid_for(creds, 1, NULL));
  CHECK_NULL(tk_user_credentials_has_refresh_token(NULL, &b));
  CHECK_NULL(tk_user_credentials_has_refresh_token(creds, NULL));
  CHECK_NULL(tk_user_credentials_has_id_token(NULL, &b));
  CHECK_NULL(tk_user_credentials_has_id_token(creds, NULL));
  CHECK_NULL(tk_user_credentials_id_token_claims(NULL, &o_claims));
  CHECK_NULL(tk_user_credentials_id_token_claims(creds, NULL));
  CHECK_NULL(tk_user_credentials_from_json(NULL, &o_creds));
  CHECK_NULL(tk_user_credentials_from_json("{}", NULL));

  /* The manager. */
  CHECK_NULL(tk_credentials_manager_new(NULL, &cb, &o_m));
  CHECK_NULL(tk_credentials_manager_new(h.client, NULL, &o_m));
  CHECK_NULL(tk_credentials_manager_new(h.client, &cb, NULL));
  CHECK_NULL(tk_credentials_manager_credentials(NULL, 60, NULL, &o_creds));
  CHECK_NULL(tk_credentials_manager_credentials(h.m, 60, NULL, NULL));
  CHECK_NULL(tk_credentials_manager_renew(NULL, &o_creds));
  CHECK_NULL(tk_credentials_manager_renew(h.m, NULL));
  CHECK_NULL(tk_credentials_manager_save(NULL, creds));
  CHECK_NULL(tk_credentials_manager_save(h.m, NULL));
  CHECK_NULL(tk_credentials_manager_clear(NULL));
  CHECK_NULL(tk_credentials_manager_has_credentials(NULL, &b));
  CHECK_NULL(tk_credentials_manager_has_credentials(h.m, NULL));
  CHECK_NULL(tk_credentials_manager_stored(NULL, &o_creds));
  CHECK_NULL(tk_credentials_manager_stored(h.m, NULL));
  CHECK_NULL(tk_credentials_manager_stats(NULL, &cst, sizeof cst));
  CHECK_NULL(tk_credentials_manager_stats(h.m, NULL, sizeof cst));
  CHECK(h.st->loads == 0 && h.st->saves == 0 && h.st->clears == 0); /* no callback for any of it */

  CHECK(o_vcfg == NULL && o_v == NULL && o_claims == NULL && o_scfg == NULL &&
        o_client == NULL && o_params == NULL && o_tx == NULL && o_creds == NULL && o_m == NULL);
  CHECK(i64 == 7 && f64 == 7 && !b && u64 == 7);

  /* The failure names the function and the argument. */
  CHECK_NULL(tk_signin_handle_callback(h.client, h.tx, NULL, &o_creds));
  last_error e = get_last_error();
  CHECK_CONTAINS(e.message, "tk_signin_handle_callback");
  CHECK_CONTAINS(e.message, "`callback_url`");

  /* Freeing NULL does nothing. */
  tk_verifier_config_free(NULL);
  tk_verifier_free(NULL);
  tk_claims_free(NULL);
  tk_signin_config_free(NULL);
  tk_signin_client_free(NULL);
  tk_authorize_params_free(NULL);
  tk_login_tx_free(NULL);
  tk_user_credentials_free(NULL);
  tk_credentials_manager_free(NULL);

  tk_user_credentials_free(creds);
  handles_close(&h);
}

static void test_signin_invalid_utf8(void) {
  const char *bad = "caf\xc3\x28";
  const char *url = fixture("TK_ISSUER_URL");
  const char *cb_url = fixture("TK_REDIRECT_URI");
  handles h;
  REQUIRE(handles_open(&h));
  tk_verifier_config *o_vcfg = NULL;
  tk_signin_config *o_scfg = NULL;
  tk_claims *o_claims = NULL;
  tk_login_tx *o_tx = NULL;
  tk_user_credentials *o_creds = NULL;
  char buf[64];
  size_t n = 0;
  int64_t i64 = 0;
  bool b = false;

  CHECK_UTF8(tk_verifier_config_new(bad, API, &o_vcfg));
  CHECK_UTF8(tk_verifier_config_new(url, bad, &o_vcfg));
  for (size_t i = 0; i < COUNT(VCFG_STR); i++) CHECK_UTF8(VCFG_STR[i](h.vcfg, bad));
  long jwks = issuer_count("jwks");
  CHECK_UTF8(tk_verifier_verify(h.v, bad, &o_claims));
  CHECK_UTF8(tk_verifier_verify_id_token(h.v, bad, NULL, -1, &o_claims));
  CHECK_UTF8(tk_verifier_verify_id_token(h.v, "a.b.c", bad, -1, &o_claims));
  CHECK(issuer_count("jwks") == jwks);

  CHECK_UTF8(tk_signin_config_new(bad, "id", cb_url, &o_scfg));
  CHECK_UTF8(tk_signin_config_new(url, bad, cb_url, &o_scfg));
  CHECK_UTF8(tk_signin_config_new(url, "id", bad, &o_scfg));
  for (size_t i = 0; i < COUNT(SCFG_STR); i++) CHECK_UTF8(SCFG_STR[i](h.scfg, bad));
  CHECK_UTF8(tk_signin_config_set_private_key_jwt(h.scfg, bad, "RS256", NULL));
  CHECK_UTF8(tk_signin_config_set_private_key_jwt(h.scfg, "pem", bad, NULL));
  CHECK_UTF8(tk_signin_config_set_private_key_jwt(h.scfg, "pem", "RS256", bad));
  for (size_t i = 0; i < COUNT(PARAMS_STR); i++) CHECK_UTF8(PARAMS_STR[i](h.params, bad));
  CHECK_UTF8(tk_verifier_config_set_http(h.vcfg, bad, 1));
  CHECK_UTF8(tk_signin_config_set_http(h.scfg, bad, 1));
  CHECK_UTF8(tk_authorize_params_add(h.params, bad, "v"));
  CHECK_UTF8(tk_authorize_params_add(h.params, "k", bad));

  long tokens = token_requests();
  CHECK_UTF8(tk_login_tx_from_json(bad, &o_tx));
  CHECK_UTF8(tk_signin_handle_callback(h.client, h.tx, bad, &o_creds));
  CHECK_UTF8(tk_signin_exchange_code(h.client, h.tx, bad, &o_creds));
  CHECK_UTF8(tk_signin_refresh(h.client, bad, NULL, &o_creds));
  CHECK_UTF8(tk_signin_refresh(h.client, "rt", bad, &o_creds));
  CHECK_UTF8(tk_signin_userinfo(h.client, bad, &o_claims));
  CHECK_UTF8(tk_user_credentials_from_json(bad, &o_creds));
  CHECK_UTF8(tk_credentials_manager_credentials(h.m, 60, bad, &o_creds));
  CHECK(token_requests() == tokens);
  CHECK(h.st->loads == 0);
  last_error e = get_last_error();
  CHECK_CONTAINS(e.message, "scope");

  CHECK_UTF8(tk_claims_get_str(h.claims, bad, buf, sizeof buf, &n));
  CHECK_UTF8(tk_claims_get_json(h.claims, bad, buf, sizeof buf, &n));
  CHECK_UTF8(tk_claims_get_i64(h.claims, bad, &i64));
  CHECK_UTF8(tk_claims_has_audience(h.claims, bad, &b));
  CHECK_UTF8(tk_claims_has_scope(h.claims, bad, &b));
  CHECK(o_vcfg == NULL && o_scfg == NULL && o_claims == NULL && o_tx == NULL &&
        o_creds == NULL);

  handles_close(&h);
}

static void test_token_check_names(void) {
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_NONE), "");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_MALFORMED), "malformed");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_ALGORITHM), "algorithm");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_UNKNOWN_KEY), "unknown_key");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_SIGNATURE), "signature");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_ISSUER), "issuer");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_AUDIENCE), "audience");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_EXPIRED), "expired");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_NOT_YET_VALID), "not_yet_valid");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_MISSING_CLAIM), "missing_claim");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_AUTHORIZED_PARTY), "authorized_party");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_ORGANIZATION), "organization");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_NONCE), "nonce");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_AUTH_TIME), "auth_time");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_JWKS), "jwks");
  CHECK_STR(tk_token_check_str(TK_TOKEN_CHECK_TOKEN_TYPE), "token_type");
  /* Appended: the values of the first version never change. */
  CHECK(TK_TOKEN_CHECK_JWKS == 14 && TK_TOKEN_CHECK_TOKEN_TYPE == 15);
  CHECK_STR(tk_token_check_str(16), "unknown");
  CHECK_STR(tk_token_check_str(99), "unknown");
  CHECK_STR(tk_status_str(TK_STATUS_STORAGE), "TK_STATUS_STORAGE");
  CHECK_STR(tk_status_str(TK_STATUS_NOT_FOUND), "TK_STATUS_NOT_FOUND");
  CHECK_STR(tk_status_str(TK_STATUS_WRONG_TYPE), "TK_STATUS_WRONG_TYPE");
}

/* ---- the shared scenarios S1-S7 of every surface (S1 above, S7 in test_tokenkeeper.c) ------ */

/* S2: a store method that calls back into its own manager gets the config error at once
 * ("called back into the manager"); nothing deadlocks, and the outer call goes on. */
static void test_s2_a_store_calling_its_manager_gets_a_config_error(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  s.store->reenter = s.manager;
  for (int blocking = 0; blocking <= 1; blocking++) {
    s.store->reenter_has = s.store->reenter_credentials = TK_STATUS_PANIC;
    tk_user_credentials *c = NULL;
    bool has = false;
    if (blocking) {
      CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_OK);
      CHECK(c != NULL);
      tk_user_credentials_free(c);
    } else {
      CHECK_STATUS(tk_credentials_manager_has_credentials(s.manager, &has), TK_STATUS_OK);
      CHECK(has);
    }
    CHECK(s.store->reenter_has == TK_STATUS_CONFIG);
    CHECK(s.store->reenter_credentials == TK_STATUS_CONFIG);
    CHECK_STR(s.store->reenter_kind, "config");
    CHECK_CONTAINS(s.store->reenter_message, "called back into the manager");
  }
  CHECK(s.store->overlaps == 0);
  signed_out(&s);
}

/* S3: 8 threads at once on a fresh manager (its first load included) whose load takes 20 ms:
 * never two store calls at once. */
static void test_s3_store_calls_are_serialised(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  tk_credentials_manager *fresh = manager_over(s.client, s.store);
  s.store->slow_us = 20000;
  int loads = s.store->loads;
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, RENEWERS);
  renewer r[RENEWERS];
  pthread_t th[RENEWERS];
  for (int i = 0; fresh && i < RENEWERS; i++) {
    r[i] = (renewer){fresh, &barrier, TK_STATUS_PANIC, NULL};
    CHECK(pthread_create(&th[i], NULL, renewer_main, &r[i]) == 0);
  }
  for (int i = 0; fresh && i < RENEWERS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  for (int i = 0; fresh && i < RENEWERS; i++) {
    CHECK(r[i].status == TK_STATUS_OK);
    wipe_free(r[i].access_token);
  }
  CHECK(s.store->loads >= loads + RENEWERS);
  CHECK(s.store->max_active == 1);
  tk_credentials_manager_free(fresh);
  signed_out(&s);
}

/* S4: extra parameters given as prompt, login_hint, connection end the query sorted by name,
 * after the library's own. */
static void test_s4_extra_authorize_parameters_are_sorted(void) {
  const char *want =
      "&connection=Username-Password-Authentication&login_hint=a%40example.com&prompt=login";
  tk_signin_client *client = public_client(API);
  tk_authorize_params *p = NULL;
  REQUIRE(client != NULL && tk_authorize_params_new(&p) == TK_STATUS_OK);
  CHECK_STATUS(tk_authorize_params_add(p, "prompt", "login"), TK_STATUS_OK);
  CHECK_STATUS(tk_authorize_params_add(p, "login_hint", "a@example.com"), TK_STATUS_OK);
  CHECK_STATUS(tk_authorize_params_add(p, "connection", "Username-Password-Authentication"),
               TK_STATUS_OK);
  tk_login_tx *tx = NULL;
  CHECK_STATUS(tk_signin_authorize(client, p, &tx), TK_STATUS_OK);
  char *url = tx ? tx_str(tk_login_tx_url, tx) : NULL;
  CHECK(url != NULL && strlen(url) > strlen(want));
  if (url != NULL && strlen(url) > strlen(want)) CHECK_STR(url + strlen(url) - strlen(want), want);
  free(url);
  tk_login_tx_free(tx);
  tk_authorize_params_free(p);
}

/* S5: "n": 1.5 reads as 1 (truncated) and 1.5; has_scope means all of the scopes given. */
static void test_s5_claims_accessors(void) {
  tk_verifier *v = api_verifier();
  REQUIRE(v != NULL);
  char claims[1024], token[4096];
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims,
           "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"auth0|c-test\",\"iat\":%ld,\"exp\":%ld,"
           "\"n\":1.5,\"scope\":\"read:a write:b\"}",
           iss(), API, now - 10, now + 3600);
  REQUIRE(admin_sign(claims, NULL, token, sizeof token));
  tk_claims *c = NULL;
  CHECK_STATUS(tk_verifier_verify(v, token, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  int64_t i = 0;
  double d = 0;
  bool yes = false;
  CHECK_STATUS(tk_claims_get_i64(c, "n", &i), TK_STATUS_OK);
  CHECK(i == 1);
  CHECK_STATUS(tk_claims_get_f64(c, "n", &d), TK_STATUS_OK);
  CHECK(d == 1.5);
  CHECK_STATUS(tk_claims_has_scope(c, "read:a write:b", &yes), TK_STATUS_OK);
  CHECK(yes);
  CHECK_STATUS(tk_claims_has_scope(c, "read:a delete:c", &yes), TK_STATUS_OK);
  CHECK(!yes);
  CHECK_STATUS(tk_claims_has_scope(c, "write:b", &yes), TK_STATUS_OK);
  CHECK(yes);
  /* Absent: NOT_FOUND; present with another type: WRONG_TYPE; the out-parameter untouched. */
  i = 7;
  CHECK_STATUS(tk_claims_get_i64(c, "nope", &i), TK_STATUS_NOT_FOUND);
  CHECK_STATUS(tk_claims_get_i64(c, "scope", &i), TK_STATUS_WRONG_TYPE);
  CHECK_STATUS(tk_claims_get_bool(c, "n", &yes), TK_STATUS_WRONG_TYPE);
  CHECK(i == 7 && yes);
  tk_claims_free(c);
}

/* S6: every knob of the core's HTTP_KNOBS, by name, in the core's units. */
static const char *const HTTP_KNOBS[] = {"connect_timeout", "request_timeout",
                                         "max_response_bytes", "max_attempts",
                                         "initial_backoff", "max_backoff", "max_retry_after",
                                         "retry_after_cap"};
static const double HTTP_VALUES[] = {2, 10, 65536, 2, 0.01, 0.05, 30, 600};

/* Every knob accepted on `cfg` through `set` (a tk_*_set_http); what the core refuses at once. */
#define CHECK_HTTP_KNOBS(set, cfg)                                                      \
  do {                                                                                  \
    for (size_t k_ = 0; k_ < COUNT(HTTP_KNOBS); k_++)                                   \
      CHECK_STATUS(set(cfg, HTTP_KNOBS[k_], HTTP_VALUES[k_]), TK_STATUS_OK);            \
    CHECK_STATUS(set(cfg, "max_attempt", 2), TK_STATUS_CONFIG);                         \
    CHECK_STATUS(set(cfg, "connect_timeout", -1), TK_STATUS_CONFIG);                    \
    CHECK_STATUS(set(cfg, "request_timeout", NAN), TK_STATUS_CONFIG);                   \
    CHECK_STATUS(set(cfg, "max_attempts", 1.5), TK_STATUS_CONFIG);                      \
    CHECK_STATUS(set(cfg, NULL, 1), TK_STATUS_NULL_PARAMETER);                          \
    CHECK_STATUS(set(NULL, "max_attempts", 1), TK_STATUS_NULL_PARAMETER);               \
  } while (0)

/* After a 503 that the server sends once: with one attempt, a failure after one request to
 * `endpoint`; with two, success after two. */
static void expect_after_503(tk_status got, int attempts, const char *endpoint, long before) {
  if (attempts == 1) {
    CHECK(got != TK_STATUS_OK);
  } else {
    CHECK_STATUS(got, TK_STATUS_OK);
  }
  long requests = issuer_count(endpoint) - before;
  if (requests != attempts) {
    fprintf(stderr, "    %s: %ld requests with max_attempts %d\n", endpoint, requests, attempts);
    g_failed_checks++;
  }
}

static int inject_503(const char *endpoint) {
  char fault[256];
  snprintf(fault, sizeof fault,
           "{\"endpoint\":\"%s\",\"status\":503,\"body\":\"{\\\"error\\\":\\\"unavailable\\\"}\"}",
           endpoint);
  return inject_fault(fault);
}

/* K1: one setter by name for every knob of the verifier and sign-in configs, durations in
 * seconds (the HTTP knobs too); an unknown name or a bad number is refused at once, a range
 * when the verifier or sign-in client is built. */
static void test_k1_config_knobs_by_name_in_seconds(void) {
  tk_verifier_config *vcfg = verifier_config(API);
  tk_signin_config *scfg = signin_config(fixture("TK_PUBLIC_CLIENT_ID"));
  REQUIRE(vcfg && scfg);
  CHECK_HTTP_KNOBS(tk_verifier_config_set, vcfg);
  CHECK_HTTP_KNOBS(tk_signin_config_set, scfg);
  CHECK_STATUS(tk_verifier_config_set_http(vcfg, "max_attempts", 1), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set(vcfg, "leeway", 30), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set(vcfg, "max_token_bytes", 8192), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set(vcfg, "jwks_lifetime", 300.5), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set(vcfg, "jwks_min_refetch_interval", 2), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set(vcfg, "lifetime", 1), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "jwks_lifetime") != NULL); /* the names it knows */
  CHECK_STATUS(tk_verifier_config_set(vcfg, "max_token_bytes", 1.5), TK_STATUS_CONFIG);
  tk_verifier *v = NULL;
  CHECK_STATUS(tk_verifier_new(vcfg, &v), TK_STATUS_OK);
  tk_verifier_free(v);
  v = NULL;
  CHECK_STATUS(tk_verifier_config_set(vcfg, "leeway", 601), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(vcfg, &v), TK_STATUS_CONFIG);
  CHECK(v == NULL && strstr(get_last_error().message, "leeway") != NULL);
  CHECK_STATUS(tk_verifier_config_set(vcfg, "leeway", 60), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set(vcfg, "jwks_min_refetch_interval", 0.5), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_new(vcfg, &v), TK_STATUS_CONFIG);

  CHECK_STATUS(tk_signin_config_set(scfg, "offline_access", 0), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set(scfg, "offline_access", 2), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_signin_config_set(scfg, "leeway", 601), TK_STATUS_OK);
  tk_signin_client *sc = NULL;
  CHECK_STATUS(tk_signin_client_new(scfg, &sc), TK_STATUS_CONFIG);
  CHECK(sc == NULL);
  CHECK_STATUS(tk_signin_config_set(scfg, "leeway", 10), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_http(scfg, "max_attempts", 1), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_client_new(scfg, &sc), TK_STATUS_OK);
  tk_signin_client_free(sc);
  tk_verifier_config_free(vcfg);
  tk_signin_config_free(scfg);
}

/* U1: expires_at of stored credentials is from the epoch to 9999-12-31T23:59:59Z, else a
 * config error (the core's one range rule). */
static void test_u1_user_credentials_expires_at_range(void) {
  tk_user_credentials *c = NULL;
  CHECK_STATUS(tk_user_credentials_from_json(
                   "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_at\":253402300799}", &c),
               TK_STATUS_OK);
  uint64_t at = 0;
  if (c) CHECK_STATUS(tk_user_credentials_expires_at(c, &at), TK_STATUS_OK);
  CHECK(at == TK_LATEST_TIME);
  tk_user_credentials_free(c);
  c = NULL;
  CHECK_STATUS(tk_user_credentials_from_json(
                   "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_at\":253402300800}", &c),
               TK_STATUS_CONFIG);
  CHECK(c == NULL && strstr(get_last_error().message, "expires_at is out of range") != NULL);
}

static void test_s6_http_knobs_by_name_on_every_config(void) {
  tk_config *cfg = NULL;
  REQUIRE(tk_config_new(fixture("TK_ISSUER_URL"), fixture("TK_CLIENT_ID"),
                        fixture("TK_CLIENT_SECRET"), &cfg) == TK_STATUS_OK);
  tk_verifier_config *vcfg = verifier_config(API);
  tk_signin_config *scfg = signin_config(fixture("TK_PUBLIC_CLIENT_ID"));
  tk_user_credentials *user = sign_in(public_client(API), NULL);
  char *at = user ? creds_str(tk_user_credentials_access_token, user) : NULL;
  REQUIRE(vcfg && scfg && at);
  CHECK_HTTP_KNOBS(tk_config_set_http, cfg);
  CHECK_HTTP_KNOBS(tk_verifier_config_set_http, vcfg);
  CHECK_HTTP_KNOBS(tk_signin_config_set_http, scfg);
  CHECK_STATUS(tk_config_set_cache(cfg, "enabled", 0), TK_STATUS_OK);

  /* max_attempts 0 or 11: refused when the client, verifier or sign-in client is built. */
  for (double bad = 0; bad <= 11; bad += 11) {
    tk_client *c = NULL;
    tk_verifier *v = NULL;
    tk_signin_client *sc = NULL;
    CHECK_STATUS(tk_config_set_http(cfg, "max_attempts", bad), TK_STATUS_OK);
    CHECK_STATUS(tk_verifier_config_set_http(vcfg, "max_attempts", bad), TK_STATUS_OK);
    CHECK_STATUS(tk_signin_config_set_http(scfg, "max_attempts", bad), TK_STATUS_OK);
    CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_CONFIG);
    CHECK_CONTAINS(get_last_error().message, "max_attempts");
    CHECK_STATUS(tk_verifier_new(vcfg, &v), TK_STATUS_CONFIG);
    CHECK_CONTAINS(get_last_error().message, "max_attempts");
    CHECK_STATUS(tk_signin_client_new(scfg, &sc), TK_STATUS_CONFIG);
    CHECK_CONTAINS(get_last_error().message, "max_attempts");
    CHECK(c == NULL && v == NULL && sc == NULL);
  }

  /* A server that fails once with 503: one attempt fails, two succeed. */
  for (int attempts = 1; attempts <= 2; attempts++) {
    tk_client *c = NULL;
    tk_verifier *v = NULL;
    tk_signin_client *sc = NULL;
    CHECK_STATUS(tk_config_set_http(cfg, "max_attempts", attempts), TK_STATUS_OK);
    CHECK_STATUS(tk_verifier_config_set_http(vcfg, "max_attempts", attempts), TK_STATUS_OK);
    CHECK_STATUS(tk_signin_config_set_http(scfg, "max_attempts", attempts), TK_STATUS_OK);
    CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
    CHECK_STATUS(tk_verifier_new(vcfg, &v), TK_STATUS_OK);
    CHECK_STATUS(tk_signin_client_new(scfg, &sc), TK_STATUS_OK);
    if (c && v && sc) {
      tk_token *t = NULL;
      tk_claims *profile = NULL;
      size_t keys = 0;
      long before = issuer_count("token");
      CHECK(inject_503("token"));
      expect_after_503(tk_client_get_token(c, API, NULL, NULL, &t), attempts, "token", before);
      before = issuer_count("jwks");
      CHECK(inject_503("jwks"));
      expect_after_503(tk_verifier_refresh_jwks(v, &keys), attempts, "jwks", before);
      before = issuer_count("userinfo");
      CHECK(inject_503("userinfo"));
      expect_after_503(tk_signin_userinfo(sc, at, &profile), attempts, "userinfo", before);
      tk_token_free(t);
      tk_claims_free(profile);
    }
    tk_client_free(c);
    tk_verifier_free(v);
    tk_signin_client_free(sc);
  }
  wipe_free(at);
  tk_user_credentials_free(user);
  tk_config_free(cfg);
  tk_verifier_config_free(vcfg);
  tk_signin_config_free(scfg);
}

/* ---- round 2: H-C, H-E, strings with a NUL (M8), the sink's bound (L6) --------------------- */

/* Standard claims of an access token for the API, with `extra` (`,"k":v...` or "") added. */
static const char *api_claims(char *out, size_t len, const char *aud, const char *extra) {
  long now = (long)time(NULL);
  snprintf(out, len,
           "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"auth0|c-test\",\"iat\":%ld,\"exp\":%ld,"
           "\"scope\":\"read:things\"%s}",
           iss(), aud, now - 10, now + 3600, extra);
  return out;
}

/* H-C: the header's typ fits the kind of token; an ID token is no access token. */
static void test_hc_typ_fits_the_kind_of_token(void) {
  tk_verifier *v = api_verifier();
  tk_verifier *ids = id_verifier();
  REQUIRE(v != NULL && ids != NULL);
  char claims[1024], header[128], token[4096];
  api_claims(claims, sizeof claims, API, "");
  const char *ok[] = {"JWT", "at+jwt", "application/at+JWT"};
  for (size_t i = 0; i < COUNT(ok); i++) {
    snprintf(header, sizeof header, "{\"typ\":\"%s\"}", ok[i]);
    REQUIRE(admin_sign(claims, header, token, sizeof token));
    tk_claims *c = NULL;
    CHECK_STATUS(tk_verifier_verify(v, token, &c), TK_STATUS_OK);
    if (c == NULL) fprintf(stderr, "    typ %s refused\n", ok[i]);
    tk_claims_free(c);
  }
  tk_claims *c = (tk_claims *)&c;
  tk_claims *sentinel = c;
  const char *bad[] = {"logout+jwt", "id_token+jwt"};
  for (size_t i = 0; i < COUNT(bad); i++) {
    snprintf(header, sizeof header, "{\"typ\":\"%s\"}", bad[i]);
    REQUIRE(admin_sign(claims, header, token, sizeof token));
    expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_TOKEN_TYPE, bad[i]);
    CHECK_STR(get_last_error().check, "token_type");
  }
  CHECK(c == sentinel);

  /* An ID token (it has a nonce) sent to the API whose audience it names. */
  char id_like[1024];
  char extra[128];
  snprintf(extra, sizeof extra, ",\"nonce\":\"n-1\",\"auth_time\":%ld", (long)time(NULL));
  api_claims(id_like, sizeof id_like, API, extra);
  REQUIRE(admin_sign(id_like, NULL, token, sizeof token));
  expect_rejected(tk_verifier_verify(v, token, &c), TK_TOKEN_CHECK_TOKEN_TYPE, "nonce");

  /* An access token (typ at+jwt) offered as an ID token; the same claims as JWT are fine. */
  char id[1024];
  api_claims(id, sizeof id, fixture("TK_PUBLIC_CLIENT_ID"), "");
  REQUIRE(admin_sign(id, "{\"typ\":\"at+jwt\"}", token, sizeof token));
  expect_rejected(tk_verifier_verify_id_token(ids, token, NULL, -1, &c),
                  TK_TOKEN_CHECK_TOKEN_TYPE, "at+jwt as ID token");
  CHECK(c == sentinel);
  REQUIRE(admin_sign(id, NULL, token, sizeof token));
  tk_claims *idc = NULL;
  CHECK_STATUS(tk_verifier_verify_id_token(ids, token, NULL, -1, &idc), TK_STATUS_OK);
  tk_claims_free(idc);
}

/* M8: a string claim holding a NUL is TK_STATUS_WRONG_TYPE from tk_claims_get_str (C would
 * read "a@x.com" and stop there), never a truncated string; the JSON getters escape it. */
static void test_m8_claim_strings_with_a_nul(void) {
  tk_verifier *v = api_verifier();
  REQUIRE(v != NULL);
  char claims[1024], token[4096];
  api_claims(claims, sizeof claims, API,
             ",\"email\":\"a@x.com\\u0000@evil\",\"lead\":\"\\u0000\",\"tail\":\"x\\u0000\"");
  REQUIRE(admin_sign(claims, NULL, token, sizeof token));
  tk_claims *c = NULL;
  CHECK_STATUS(tk_verifier_verify(v, token, &c), TK_STATUS_OK);
  REQUIRE(c != NULL);
  const char *names[] = {"email", "lead", "tail"};
  for (size_t i = 0; i < COUNT(names); i++) {
    char buf[64];
    memset(buf, '#', sizeof buf);
    size_t n = 12345;
    CHECK_STATUS(tk_claims_get_str(c, names[i], buf, sizeof buf, &n), TK_STATUS_WRONG_TYPE);
    CHECK(n == 12345 && buf[0] == '#' && buf[sizeof buf - 1] == '#');
    last_error e = get_last_error();
    CHECK_CONTAINS(e.message, "NUL");
    CHECK_STR(e.kind, "");
    /* Not even a length to ask for. */
    CHECK_STATUS(tk_claims_get_str(c, names[i], NULL, 0, &n), TK_STATUS_WRONG_TYPE);
    CHECK(n == 12345);
  }
  char json[128];
  size_t n = 0;
  CHECK_STATUS(tk_claims_get_json(c, "email", json, sizeof json, &n), TK_STATUS_OK);
  CHECK_STR(json, "\"a@x.com\\u0000@evil\"");
  char *all = claims_json(c);
  CHECK_CONTAINS(all, "\"email\":\"a@x.com\\u0000@evil\"");
  free(all);
  char *sub = claim_str(c, "sub");
  CHECK(sub != NULL && strcmp(sub, "auth0|c-test") == 0);
  free(sub);
  tk_claims_free(c);

  /* /userinfo claims: the same getter, the same rule. */
  tk_signin_client *client = public_client(API);
  REQUIRE(client != NULL);
  reset_issuer();
  REQUIRE(inject_fault("{\"endpoint\":\"userinfo\",\"status\":200,\"body\":"
                       "\"{\\\"sub\\\":\\\"auth0|u\\\",\\\"email\\\":\\\"a@x.com\\\\u0000@evil\\\"}\"}"));
  tk_claims *profile = NULL;
  CHECK_STATUS(tk_signin_userinfo(client, "any-access-token", &profile), TK_STATUS_OK);
  REQUIRE(profile != NULL);
  char buf[64] = "untouched";
  n = 12345;
  CHECK_STATUS(tk_claims_get_str(profile, "email", buf, sizeof buf, &n), TK_STATUS_WRONG_TYPE);
  CHECK(n == 12345 && strcmp(buf, "untouched") == 0);
  sub = claim_str(profile, "sub");
  CHECK(sub != NULL && strcmp(sub, "auth0|u") == 0);
  free(sub);
  tk_claims_free(profile);
}

/* M8 for the other string getters: user credentials and a login transaction restored from
 * JSON whose strings hold a NUL (token fields from the server: test_tokenkeeper.c). */
static void test_m8_credentials_and_transaction_strings_with_a_nul(void) {
  const char *json =
      "{\"access_token\":\"at\\u0000x\",\"token_type\":\"Bearer\",\"expires_at\":4102444800,"
      "\"scope\":\"openid\\u0000x\",\"refresh_token\":\"rt\\u0000x\",\"id_token\":\"id\\u0000x\"}";
  tk_user_credentials *creds = NULL;
  CHECK_STATUS(tk_user_credentials_from_json(json, &creds), TK_STATUS_OK);
  REQUIRE(creds != NULL);
  const creds_str_fn with_nul[] = {tk_user_credentials_access_token, tk_user_credentials_scope,
                                   tk_user_credentials_refresh_token, tk_user_credentials_id_token,
                                   tk_user_credentials_authorization_header};
  for (size_t i = 0; i < COUNT(with_nul); i++) {
    char buf[64];
    memset(buf, '#', sizeof buf);
    size_t n = 12345;
    CHECK_STATUS(with_nul[i](creds, buf, sizeof buf, &n), TK_STATUS_WRONG_TYPE);
    CHECK(n == 12345 && buf[0] == '#');
  }
  char *type = creds_str(tk_user_credentials_token_type, creds);
  CHECK(type != NULL && strcmp(type, "Bearer") == 0);
  free(type);
  /* The JSON escapes it, and round-trips. */
  char *back = creds_str(tk_user_credentials_to_json, creds);
  CHECK_CONTAINS(back, "\"access_token\":\"at\\u0000x\"");
  wipe_free(back);
  tk_user_credentials_free(creds);

  /* A login transaction whose state holds a NUL. */
  tk_signin_client *client = public_client(API);
  REQUIRE(client != NULL);
  tk_login_tx *tx = NULL;
  CHECK_STATUS(tk_signin_authorize(client, NULL, &tx), TK_STATUS_OK);
  REQUIRE(tx != NULL);
  char *saved = tx_str(tk_login_tx_to_json, tx);
  tk_login_tx_free(tx);
  REQUIRE(saved != NULL);
  const char *key = "\"state\":\"";
  char *at = strstr(saved, key);
  REQUIRE(at != NULL);
  size_t cut = (size_t)(at - saved) + strlen(key);
  char *forged = malloc(strlen(saved) + 8);
  REQUIRE(forged != NULL);
  snprintf(forged, strlen(saved) + 8, "%.*s\\u0000%s", (int)cut, saved, saved + cut);
  tk_login_tx *restored = NULL;
  CHECK_STATUS(tk_login_tx_from_json(forged, &restored), TK_STATUS_OK);
  if (restored != NULL) {
    char buf[256] = "untouched";
    size_t n = 12345;
    CHECK_STATUS(tk_login_tx_state(restored, buf, sizeof buf, &n), TK_STATUS_WRONG_TYPE);
    CHECK(n == 12345 && strcmp(buf, "untouched") == 0);
    char *url = tx_str(tk_login_tx_url, restored);
    CHECK(url != NULL);
    free(url);
  }
  tk_login_tx_free(restored);
  wipe_free(forged);
  wipe_free(saved);
}

/* L6: tk_store_sink_set takes at most TK_STORE_SINK_MAX_LEN bytes: a larger len (SIZE_MAX)
 * reads and allocates nothing, is TK_STATUS_STORAGE, and so is the load. */
static void test_l6_store_sink_caps_its_length(void) {
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  tk_user_credentials *c = (tk_user_credentials *)&c;
  tk_user_credentials *sentinel = c;
  static const char tiny[] = "{}"; /* read past its 3 bytes, and valgrind would say so */
  const size_t lens[] = {SIZE_MAX, (size_t)TK_STORE_SINK_MAX_LEN + 1};
  for (size_t i = 0; i < COUNT(lens); i++) {
    s.store->garbage = tiny;
    s.store->garbage_len = lens[i];
    s.store->sink_status = TK_STATUS_PANIC;
    CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_STORAGE);
    CHECK(s.store->sink_status == TK_STATUS_STORAGE);
    last_error e = get_last_error();
    char want[64];
    snprintf(want, sizeof want, "handed back %zu bytes", lens[i]);
    CHECK_STR(e.kind, "storage");
    CHECK_CONTAINS(e.message, "load() failed");
    CHECK_CONTAINS(e.message, want);
    CHECK_CONTAINS(e.message, "TK_STORE_SINK_MAX_LEN");
    CHECK(!e.transient);
  }
  CHECK(c == sentinel);
  /* Exactly at the bound: taken (and then refused as JSON, like any other garbage). */
  char *big = malloc(TK_STORE_SINK_MAX_LEN);
  REQUIRE(big != NULL);
  memset(big, ' ', TK_STORE_SINK_MAX_LEN);
  s.store->garbage = big;
  s.store->garbage_len = TK_STORE_SINK_MAX_LEN;
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_STORAGE);
  CHECK(s.store->sink_status == TK_STATUS_OK);
  CHECK_CONTAINS(get_last_error().message, "unusable JSON");
  free(big);
  /* Outside a load: the sink is checked first. */
  CHECK_STATUS(tk_store_sink_set(NULL, tiny, SIZE_MAX), TK_STATUS_NULL_PARAMETER);
  /* The real credentials again. */
  s.store->garbage = NULL;
  c = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials(s.manager, 60, NULL, &c), TK_STATUS_OK);
  CHECK(c != NULL);
  tk_user_credentials_free(c);
  signed_out(&s);
}

/* "state nonce code_verifier" of a new login transaction of `client`, into `out`; 1 on
 * success. Only the library, snprintf and free: safe in a forked child too. */
static int tx_secrets(const tk_signin_client *client, char *out, size_t len) {
  tk_login_tx *tx = NULL;
  if (tk_signin_authorize(client, NULL, &tx) != TK_STATUS_OK) return 0;
  char *state = tx_str(tk_login_tx_state, tx);
  char *nonce = tx_str(tk_login_tx_nonce, tx);
  char *json = tx_str(tk_login_tx_to_json, tx);
  const char *key = "\"code_verifier\":\"";
  const char *v = json ? strstr(json, key) : NULL;
  int ok = state && nonce && v;
  if (ok) {
    v += strlen(key);
    snprintf(out, len, "%s %s %.*s", state, nonce, (int)strcspn(v, "\""), v);
  }
  free(state);
  free(nonce);
  wipe_free(json);
  tk_login_tx_free(tx);
  return ok;
}

/* H-E: after a fork, the child draws its own state, nonce and PKCE verifier (not a copy of
 * the parent's generator), and its private_key_jwt assertion a jti of its own (the issuer
 * refuses a replayed one): both token fetches succeed. The child reports through a pipe and
 * _exits; every wait is bounded. */
static void test_he_a_forked_child_draws_its_own_secrets(void) {
  tk_signin_client *client = public_client(API);
  tk_client *pk = rsa_jwt_client(1);
  if (client == NULL || pk == NULL) tk_client_free(pk);
  REQUIRE(client != NULL && pk != NULL);
  double bound = under_valgrind() ? 180 : 30;
  char before_fork[1024], parent[1024], child[2048];
  /* Seeds any per-thread generator in the parent; the runtime and its threads are running. */
  CHECK(tx_secrets(client, before_fork, sizeof before_fork));
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(pk, API, NULL, NULL, &t), TK_STATUS_OK);
  tk_token_free(t);
  long requests = token_requests();
  int fds[2];
  int piped = pipe(fds);
  if (piped != 0) tk_client_free(pk);
  REQUIRE(piped == 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    /* The child: the library only, a line to the pipe, _exit. */
    close(fds[0]);
    char mine[1024] = "- - -", line[2048], why[512] = "";
    if (!tx_secrets(client, mine, sizeof mine)) snprintf(mine, sizeof mine, "- - -");
    tk_token *ct = NULL;
    tk_status s = tk_client_get_token(pk, API, NULL, NULL, &ct);
    size_t n = 0;
    if (s != TK_STATUS_OK && tk_last_error_message(why, sizeof why, &n) != TK_STATUS_OK) why[0] = 0;
    tk_token_free(ct);
    int len = snprintf(line, sizeof line, "%s %d %s\n", mine, (int)s, why);
    if (len > 0) {
      ssize_t w = write(fds[1], line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
      (void)w;
    }
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    tk_client_free(pk);
  }
  REQUIRE(pid > 0);
  /* The parent, meanwhile: the same. */
  CHECK(tx_secrets(client, parent, sizeof parent));
  t = NULL;
  CHECK_STATUS(tk_client_get_token(pk, API, NULL, NULL, &t), TK_STATUS_OK);
  tk_token_free(t);
  int eof = read_until_eof(fds[0], child, sizeof child, bound);
  close(fds[0]);
  int status = wait_bounded(pid, eof ? bound : 1);
  CHECK(eof);
  CHECK(status != -1 && WIFEXITED(status));
  /* Under valgrind the child's own leak check may set its exit code (99): not ours. */
  if (status != -1 && WIFEXITED(status) && !under_valgrind()) CHECK(WEXITSTATUS(status) == 0);

  char cs[256] = "", cn[256] = "", cv[256] = "", why[1024] = "";
  int cstatus = -1;
  int fields = sscanf(child, "%255s %255s %255s %d %1023[^\n]", cs, cn, cv, &cstatus, why);
  if (fields < 4) fprintf(stderr, "    the child said \"%s\"\n", child);
  REQUIRE(fields >= 4);
  char ps[256] = "", pn[256] = "", pv[256] = "", bs[256] = "", bn[256] = "", bv[256] = "";
  CHECK(sscanf(parent, "%255s %255s %255s", ps, pn, pv) == 3);
  CHECK(sscanf(before_fork, "%255s %255s %255s", bs, bn, bv) == 3);
  CHECK(strcmp(cs, "-") != 0 && strlen(cs) >= 32 && strlen(cv) >= 43);
  CHECK(strcmp(cs, ps) != 0 && strcmp(cs, bs) != 0);  /* state */
  CHECK(strcmp(cn, pn) != 0 && strcmp(cn, bn) != 0);  /* nonce */
  CHECK(strcmp(cv, pv) != 0 && strcmp(cv, bv) != 0);  /* code verifier */
  if (cstatus != TK_STATUS_OK) {
    fprintf(stderr, "    the child's token: %s (%s)\n", tk_status_str(cstatus), why);
  }
  CHECK(cstatus == TK_STATUS_OK); /* its own jti: not refused as a replay */
  CHECK(token_requests() == requests + 2);
  tk_client_free(pk);
}

/* Multi-Resource Refresh Token, the scenario of every surface: a token for an API of the
 * refresh-token policies from the one refresh token, cached, its rotation saved; an audience
 * outside the policies refused with TK_STATUS_CONFIG naming it. */
static void test_m_mrrt_another_api_from_the_one_refresh_token(void) {
  const char *audience = fixture("TK_MRRT_AUDIENCE"), *scope = fixture("TK_MRRT_SCOPE");
  signed_in s;
  REQUIRE(sign_in_with_manager(&s));
  long grants = issuer_count("grant:refresh_token");
  tk_user_credentials *t = NULL, *again = NULL, *none = NULL;
  CHECK_STATUS(tk_credentials_manager_credentials_for(s.manager, 60, scope, audience, &t),
               TK_STATUS_OK);
  char *at = t ? creds_str(tk_user_credentials_access_token, t) : NULL;
  REQUIRE(at != NULL);
  tk_verifier_config *vc = NULL;
  tk_verifier *v = NULL;
  tk_claims *claims = NULL;
  CHECK_STATUS(tk_verifier_config_new(fixture("TK_ISSUER_URL"), audience, &vc), TK_STATUS_OK);
  if (vc) CHECK_STATUS(tk_verifier_new(vc, &v), TK_STATUS_OK);
  if (v) CHECK_STATUS(tk_verifier_verify(v, at, &claims), TK_STATUS_OK);
  bool has = false;
  if (claims) CHECK_STATUS(tk_claims_has_audience(claims, audience, &has), TK_STATUS_OK);
  CHECK(has);
  bool has_rt = true;
  CHECK_STATUS(tk_user_credentials_has_refresh_token(t, &has_rt), TK_STATUS_OK);
  CHECK(!has_rt); /* an API's credentials hold no refresh token */
  char *stored_rt = stored_str(s.store, tk_user_credentials_refresh_token);
  char *first_rt = creds_str(tk_user_credentials_refresh_token, s.first);
  CHECK(stored_rt && first_rt && strcmp(stored_rt, first_rt) != 0); /* rotated, saved */
  CHECK_STATUS(tk_credentials_manager_credentials_for(s.manager, 60, scope, audience, &again),
               TK_STATUS_OK);
  char *at2 = again ? creds_str(tk_user_credentials_access_token, again) : NULL;
  CHECK(at2 != NULL && strcmp(at2, at) == 0); /* cached */
  CHECK(issuer_count("grant:refresh_token") == grants + 1);
  CHECK_STATUS(tk_credentials_manager_credentials_for(s.manager, 60, NULL,
                                                      "https://elsewhere.example.com", &none),
               TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "https://elsewhere.example.com") != NULL);
  CHECK(none == NULL);
  long reuse = issuer_count("refresh_reuse");
  tk_user_credentials *renewed = NULL;
  CHECK_STATUS(tk_credentials_manager_renew(s.manager, &renewed), TK_STATUS_OK);
  CHECK(issuer_count("refresh_reuse") == reuse);
  tk_user_credentials_free(renewed);
  tk_claims_free(claims);
  tk_verifier_free(v);
  tk_verifier_config_free(vc);
  wipe_free(at);
  wipe_free(at2);
  wipe_free(stored_rt);
  wipe_free(first_rt);
  tk_user_credentials_free(t);
  tk_user_credentials_free(again);
  signed_out(&s);
}

const test_case SIGNIN_TESTS[] = {
    {"m_mrrt_another_api_from_the_one_refresh_token",
     test_m_mrrt_another_api_from_the_one_refresh_token},
    {"k1_config_knobs_by_name_in_seconds", test_k1_config_knobs_by_name_in_seconds},
    {"u1_user_credentials_expires_at_range", test_u1_user_credentials_expires_at_range},
    {"token_check_names", test_token_check_names},
    {"verify_a_good_access_token", test_verify_a_good_access_token},
    {"verify_bad_tokens_names_the_check", test_verify_bad_tokens_names_the_check},
    {"c1_a_far_date_reads_as_the_latest_time", test_c1_a_far_date_reads_as_the_latest_time},
    {"verify_organization_and_authorized_party", test_verify_organization_and_authorized_party},
    {"verify_organization_id_is_never_a_name", test_verify_organization_id_is_never_a_name},
    {"verifier_config", test_verifier_config},
    {"signin_code_flow", test_signin_code_flow},
    {"v2_verifier_and_signin_from_the_environment", test_v2_verifier_and_signin_from_the_environment},
    {"signin_forged_state_and_error_callbacks", test_signin_forged_state_and_error_callbacks},
    {"signin_transaction_json_and_exchange_code", test_signin_transaction_json_and_exchange_code},
    {"signin_confidential_client_and_refresh", test_signin_confidential_client_and_refresh},
    {"signin_userinfo", test_userinfo},
    {"signin_config_errors", test_signin_config_errors},
    {"user_credentials_json", test_user_credentials_json},
    {"manager_serves_stored_credentials_and_renews_with_rotation",
     test_manager_serves_stored_credentials_and_renews_with_rotation},
    {"manager_eight_threads_share_one_renewal", test_manager_eight_threads_share_one_renewal},
    {"manager_revoked_refresh_tokens_need_reauthentication",
     test_manager_revoked_refresh_tokens_need_reauthentication},
    {"s1_storage_errors_are_tk_status_storage", test_s1_storage_errors_are_tk_status_storage},
    {"s2_a_store_calling_its_manager_gets_a_config_error",
     test_s2_a_store_calling_its_manager_gets_a_config_error},
    {"s3_store_calls_are_serialised", test_s3_store_calls_are_serialised},
    {"s4_extra_authorize_parameters_are_sorted", test_s4_extra_authorize_parameters_are_sorted},
    {"s5_claims_accessors", test_s5_claims_accessors},
    {"s6_http_knobs_by_name_on_every_config", test_s6_http_knobs_by_name_on_every_config},
    {"manager_store_struct", test_manager_store_struct},
    {"signin_null_arguments", test_signin_null_arguments},
    {"signin_invalid_utf8", test_signin_invalid_utf8},
    {"hc_typ_fits_the_kind_of_token", test_hc_typ_fits_the_kind_of_token},
    {"he_a_forked_child_draws_its_own_secrets", test_he_a_forked_child_draws_its_own_secrets},
    {"m8_claim_strings_with_a_nul", test_m8_claim_strings_with_a_nul},
    {"m8_credentials_and_transaction_strings_with_a_nul",
     test_m8_credentials_and_transaction_strings_with_a_nul},
    {"l6_store_sink_caps_its_length", test_l6_store_sink_caps_its_length},
    {"i12_managers_on_one_store_share_one_grant", test_i12_managers_on_one_store_share_one_grant},
    {"g2_eight_processes_on_a_file_level_send_one_refresh_grant",
     test_g2_eight_processes_on_a_file_level_send_one_refresh_grant},
    {"g2_eight_processes_sharing_redis_send_one_refresh_grant",
     test_g2_eight_processes_sharing_redis_send_one_refresh_grant},
    {"i12_clear_revoke_revokes_the_refresh_token",
     test_i12_clear_revoke_revokes_the_refresh_token},
};
const size_t SIGNIN_TEST_COUNT = sizeof SIGNIN_TESTS / sizeof SIGNIN_TESTS[0];
