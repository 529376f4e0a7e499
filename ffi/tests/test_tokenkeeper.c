/*
 * The C ABI against the local issuer over real HTTP: client-credentials tokens here, the
 * verifier, sign-in and the credentials manager in test_signin.c, the shared cache level in
 * test_shared.c (one program). Built by
 * ffi/test.sh twice (shared and static library) with -Wall -Wextra -Werror, and run once more
 * under valgrind.
 *
 *   test_tokenkeeper [NAME-FILTER...]    runs the tests whose name contains a filter (all
 *                                        without filters); ends with "LABEL: N passed, N failed"
 */
#include "harness.h"

#include <pthread.h>
#include <stdint.h>

int g_failed_checks;

#define API "https://api.example.com"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Builds a client and frees the config; NULL (with a failed check) when that fails. */
static tk_client *client_from(tk_config *cfg) {
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  tk_config_free(cfg);
  return c;
}

/* A client that fails fast and never answers from the cache: one attempt, short timeouts. */
static tk_client *uncached_client(void) {
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache_enabled(cfg, false), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_retry_max_attempts(cfg, 1), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_request_timeout_ms(cfg, 2000), TK_STATUS_OK);
  return client_from(cfg);
}

/* A string read the documented way: ask for the length, allocate, copy. Free it. */
typedef tk_status (*token_str_fn)(const tk_token *, char *, size_t, size_t *);

static char *token_str(token_str_fn fn, const tk_token *t) {
  size_t n = 0;
  if (fn(t, NULL, 0, &n) != TK_STATUS_BUFFER_TOO_SMALL || n == 0) return NULL;
  char *buf = malloc(n);
  size_t n2 = 0;
  if (buf == NULL || fn(t, buf, n, &n2) != TK_STATUS_OK || n2 != n) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* The last error's message contains `needle`. */
#define CHECK_CONTAINS_MSG(needle)                                                      \
  do {                                                                                  \
    last_error e_ = get_last_error();                                                   \
    if (strstr(e_.message, (needle)) == NULL) {                                         \
      fprintf(stderr, "    %s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, \
              e_.message, (needle));                                                    \
      g_failed_checks++;                                                                \
    }                                                                                   \
  } while (0)

/* The message of a failure never carries the client secret. */
static void check_no_secret(const last_error *e) {
  CHECK(strstr(e->message, fixture("TK_CLIENT_SECRET")) == NULL);
  CHECK(strstr(e->description, fixture("TK_CLIENT_SECRET")) == NULL);
}

/* ---- a token for an audience ------------------------------------------------------------ */

static void test_version_macros_match_the_library(void) {
  CHECK_STR(tk_version(), TK_VERSION);
  CHECK(TK_VERSION_NUMBER ==
        TK_VERSION_MAJOR * 10000 + TK_VERSION_MINOR * 100 + TK_VERSION_PATCH);
  /* ffi/test.sh compares the macros with Cargo.toml through TK_EXPECTED_VERSION. */
  const char *expected = getenv("TK_EXPECTED_VERSION");
  if (expected) CHECK_STR(TK_VERSION, expected);
}

static void test_status_names(void) {
  CHECK_STR(tk_status_str(TK_STATUS_OK), "TK_STATUS_OK");
  CHECK_STR(tk_status_str(TK_STATUS_OAUTH), "TK_STATUS_OAUTH");
  CHECK_STR(tk_status_str(TK_STATUS_RATE_LIMITED), "TK_STATUS_RATE_LIMITED");
  CHECK_STR(tk_status_str(TK_STATUS_NETWORK), "TK_STATUS_NETWORK");
  CHECK_STR(tk_status_str(TK_STATUS_TIMEOUT), "TK_STATUS_TIMEOUT");
  CHECK_STR(tk_status_str(TK_STATUS_INVALID_RESPONSE), "TK_STATUS_INVALID_RESPONSE");
  CHECK_STR(tk_status_str(TK_STATUS_CONFIG), "TK_STATUS_CONFIG");
  CHECK_STR(tk_status_str(TK_STATUS_INVALID_TOKEN), "TK_STATUS_INVALID_TOKEN");
  CHECK_STR(tk_status_str(TK_STATUS_REAUTHENTICATION_REQUIRED),
            "TK_STATUS_REAUTHENTICATION_REQUIRED");
  CHECK_STR(tk_status_str(TK_STATUS_NULL_PARAMETER), "TK_STATUS_NULL_PARAMETER");
  CHECK_STR(tk_status_str(TK_STATUS_INVALID_UTF8), "TK_STATUS_INVALID_UTF8");
  CHECK_STR(tk_status_str(TK_STATUS_BUFFER_TOO_SMALL), "TK_STATUS_BUFFER_TOO_SMALL");
  CHECK_STR(tk_status_str(TK_STATUS_PANIC), "TK_STATUS_PANIC");
  CHECK_STR(tk_status_str(12345), "TK_STATUS_UNKNOWN");
}

static void test_token_for_an_audience(void) {
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, "read:things", NULL, &t), TK_STATUS_OK);
  if (t != NULL) {
    char *jwt = token_str(tk_token_access_token, t);
    char *type = token_str(tk_token_type, t);
    char *scope = token_str(tk_token_scope, t);
    char *header = token_str(tk_token_authorization_header, t);
    REQUIRE(jwt && type && scope && header);
    /* An Auth0-shaped JWT: three base64url segments. */
    char *dot1 = strchr(jwt, '.');
    CHECK(dot1 != NULL && strchr(dot1 + 1, '.') != NULL);
    CHECK_STR(type, "Bearer");
    CHECK_STR(scope, "read:things");
    CHECK(strncmp(header, "Bearer ", 7) == 0);
    CHECK_STR(header + 7, jwt);
    uint64_t expires_in = 0, remaining = 0;
    double expires_at = 0;
    CHECK_STATUS(tk_token_expires_in(t, &expires_in), TK_STATUS_OK);
    CHECK(expires_in == 86400);
    CHECK_STATUS(tk_token_expires_at(t, &expires_at), TK_STATUS_OK);
    double wall = (double)time(NULL);
    CHECK(expires_at > wall + 86300 && expires_at < wall + 86500);
    CHECK_STATUS(tk_token_remaining_ms(t, &remaining), TK_STATUS_OK);
    CHECK(remaining > 86300u * 1000 && remaining <= 86400u * 1000);
    free(jwt);
    free(type);
    free(scope);
    free(header);
  }
  char issuer[256];
  size_t n = 0;
  CHECK_STATUS(tk_client_issuer(c, issuer, sizeof issuer, &n), TK_STATUS_OK);
  char want[256];
  snprintf(want, sizeof want, "%s/", fixture("TK_ISSUER_URL"));
  CHECK_STR(issuer, want);
  CHECK(n == strlen(want) + 1);
  CHECK(tk_last_error_status() == TK_STATUS_OK);
  tk_token_free(t);
  tk_client_free(c);
}

static void test_organization_and_basic_auth(void) {
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_auth_method(cfg, "client_secret_basic"), TK_STATUS_OK);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, "acme", &t), TK_STATUS_OK);
  CHECK(t != NULL);
  tk_token_free(t);
  tk_client_free(c);
}

static void test_private_key_jwt(void) {
  tk_config *cfg = NULL;
  CHECK_STATUS(tk_config_new_private_key_jwt(fixture("TK_ISSUER_URL"), fixture("TK_JWT_CLIENT_ID"),
                                             fixture("TK_JWT_EC_KEY"), "ES256", NULL, &cfg),
               TK_STATUS_OK);
  REQUIRE(cfg != NULL);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, "read:things", NULL, &t), TK_STATUS_OK);
  CHECK(t != NULL);
  tk_token_free(t);
  tk_client_free(c);
}

/* P1: a prepared request is the core's hit path: normalised once, one slot with the client's own
 * calls, hits counted by the core at once, a one-call header, invalidate_if_current then a new
 * token; no audience and no default is a config error. */
static uint64_t cache_hits(const tk_client *c) {
  tk_stats s = {0};
  CHECK_STATUS(tk_client_stats(c, &s, sizeof s), TK_STATUS_OK);
  return s.cache_hits;
}

static void test_p1_prepared_request(void) {
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  /* The cache is the process's: start from nothing for this request. */
  CHECK_STATUS(tk_client_invalidate(c, API, "read:things write:things", NULL), TK_STATUS_OK);
  long before = token_requests();
  tk_request *r = NULL;
  CHECK_STATUS(tk_client_prepare(c, API, "write:things read:things read:things", NULL, &r),
               TK_STATUS_OK);
  REQUIRE(r != NULL);
  tk_token *t = NULL, *again = NULL, *plain = NULL;
  CHECK_STATUS(tk_request_get_token(r, &t), TK_STATUS_OK);
  uint64_t hits = cache_hits(c);
  CHECK_STATUS(tk_request_get_token(r, &again), TK_STATUS_OK);
  CHECK(cache_hits(c) == hits + 1);
  CHECK_STATUS(tk_client_get_token(c, API, "read:things write:things", NULL, &plain), TK_STATUS_OK);
  bool same = false;
  if (t && again) CHECK_STATUS(tk_token_same(t, again, &same), TK_STATUS_OK);
  CHECK(same);
  same = false;
  if (t && plain) CHECK_STATUS(tk_token_same(t, plain, &same), TK_STATUS_OK);
  CHECK(same); /* one slot for both */

  /* The header in one call: too small a buffer says the size, then the same header. */
  char small[4];
  size_t need = 0, got = 0;
  CHECK_STATUS(tk_request_authorization_header(r, small, sizeof small, &need),
               TK_STATUS_BUFFER_TOO_SMALL);
  char *header = malloc(need), *expected = token_str(tk_token_authorization_header, t);
  REQUIRE(header != NULL && expected != NULL);
  CHECK_STATUS(tk_request_authorization_header(r, header, need, &got), TK_STATUS_OK);
  CHECK(got == need && strcmp(header, expected) == 0 && strncmp(header, "Bearer ", 7) == 0);
  free(header);
  free(expected);
  CHECK(token_requests() == before + 1);

  bool dropped = false;
  CHECK_STATUS(tk_request_invalidate_if_current(r, t, &dropped), TK_STATUS_OK);
  CHECK(dropped);
  CHECK_STATUS(tk_request_invalidate_if_current(r, t, &dropped), TK_STATUS_OK);
  CHECK(!dropped);
  tk_token *fresh = NULL;
  CHECK_STATUS(tk_request_get_token(r, &fresh), TK_STATUS_OK);
  same = true;
  if (t && fresh) CHECK_STATUS(tk_token_same(t, fresh, &same), TK_STATUS_OK);
  CHECK(!same);
  CHECK(token_requests() == before + 2);
  tk_token_free(t);
  tk_token_free(again);
  tk_token_free(plain);
  tk_token_free(fresh);

  /* The request outlives its client; NULLs are typed errors. */
  tk_client_free(c);
  tk_token *late = NULL;
  CHECK_STATUS(tk_request_get_token(r, &late), TK_STATUS_OK);
  tk_token_free(late);
  tk_request_free(r);
  tk_request_free(NULL);
  CHECK_STATUS(tk_request_get_token(NULL, &late), TK_STATUS_NULL_PARAMETER);

  c = client_from(secret_config());
  REQUIRE(c != NULL);
  r = NULL;
  CHECK_STATUS(tk_client_prepare(c, NULL, NULL, NULL, &r), TK_STATUS_CONFIG);
  CHECK(r == NULL && strstr(get_last_error().message, "audience") != NULL);
  CHECK_STATUS(tk_client_prepare(c, "\xff", NULL, NULL, &r), TK_STATUS_INVALID_UTF8);
  /* Leave the process cache as found (cache_serves_one_token_per_key starts from nothing). */
  CHECK_STATUS(tk_client_invalidate(c, API, "read:things write:things", NULL), TK_STATUS_OK);
  tk_client_free(c);
}

/* R1: the 401 rule: the rejected token is dropped once, the retry gets a new one; the same
 * rejected token again gets that new one with no request. */
static void test_r1_after_rejection(void) {
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  tk_request *r = NULL;
  CHECK_STATUS(tk_client_prepare(c, API, "read:things write:things", NULL, &r), TK_STATUS_OK);
  REQUIRE(r != NULL);
  tk_token *t1 = NULL, *t2 = NULL, *again = NULL;
  CHECK_STATUS(tk_request_get_token(r, &t1), TK_STATUS_OK);
  long before = token_requests();
  CHECK_STATUS(tk_request_after_rejection(r, t1, &t2), TK_STATUS_OK);
  CHECK(t2 != NULL);
  CHECK_STATUS(tk_request_after_rejection(r, t1, &again), TK_STATUS_OK);
  bool same = true;
  if (t1 && t2) CHECK_STATUS(tk_token_same(t1, t2, &same), TK_STATUS_OK);
  CHECK(!same);
  same = false;
  if (t2 && again) CHECK_STATUS(tk_token_same(t2, again, &same), TK_STATUS_OK);
  CHECK(same);
  CHECK(token_requests() == before + 1);
  CHECK_STATUS(tk_request_after_rejection(r, NULL, &again), TK_STATUS_NULL_PARAMETER);
  tk_token_free(t1);
  tk_token_free(t2);
  tk_token_free(again);
  CHECK_STATUS(tk_client_invalidate(c, API, "read:things write:things", NULL), TK_STATUS_OK);
  tk_request_free(r);
  tk_client_free(c);
}

/* S7: no audience asked (NULL or "") is the configured default audience; none configured is a
 * config error. Then the same from AUTH0_AUDIENCE. */
static void test_s7_default_audience_and_env(void) {
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_default_audience(cfg, API), TK_STATUS_OK);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL, *for_api = NULL, *empty = NULL;
  CHECK_STATUS(tk_client_get_token(c, NULL, "read:things", NULL, &t), TK_STATUS_OK);
  CHECK_STATUS(tk_client_get_token(c, "", "read:things", NULL, &empty), TK_STATUS_OK);
  CHECK_STATUS(tk_client_get_token(c, API, "read:things", NULL, &for_api), TK_STATUS_OK);
  bool same = false;
  if (t && for_api) CHECK_STATUS(tk_token_same(t, for_api, &same), TK_STATUS_OK);
  CHECK(same); /* one cached token: the one for the API */
  same = false;
  if (empty && for_api) CHECK_STATUS(tk_token_same(empty, for_api, &same), TK_STATUS_OK);
  CHECK(same);
  tk_token_free(t);
  tk_token_free(empty);
  tk_token_free(for_api);
  tk_client_free(c);

  /* No default audience: the core says so, before any request. */
  c = client_from(secret_config());
  REQUIRE(c != NULL);
  t = NULL;
  long before = token_requests();
  CHECK_STATUS(tk_client_get_token(c, NULL, NULL, NULL, &t), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "audience") != NULL);
  CHECK(!get_last_error().transient);
  CHECK(t == NULL);
  CHECK(token_requests() == before);
  tk_client_free(c);

  /* AUTH0_* variables. */
  setenv("AUTH0_DOMAIN", fixture("TK_ISSUER_URL"), 1);
  setenv("AUTH0_CLIENT_ID", fixture("TK_CLIENT_ID"), 1);
  setenv("AUTH0_CLIENT_SECRET", fixture("TK_CLIENT_SECRET"), 1);
  setenv("AUTH0_AUDIENCE", API, 1);
  cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_OK);
  REQUIRE(cfg != NULL);
  c = client_from(cfg);
  REQUIRE(c != NULL);
  t = NULL;
  CHECK_STATUS(tk_client_get_token(c, NULL, NULL, NULL, &t), TK_STATUS_OK);
  CHECK(t != NULL);
  tk_token_free(t);
  tk_client_free(c);
  /* TOKENKEEPER_CA_FILE is the "ca_file" knob, read when the client is built. */
  setenv("TOKENKEEPER_CA_FILE", "/nonexistent/tokenkeeper-ca.pem", 1);
  cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_OK);
  REQUIRE(cfg != NULL);
  c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK(c == NULL);
  CHECK(strstr(get_last_error().message, "ca_file \"/nonexistent/tokenkeeper-ca.pem\"") != NULL);
  tk_config_free(cfg);
  setenv("TOKENKEEPER_CA_FILE", "", 1); /* empty is unset */
  cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_OK);
  c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_client_free(c);
  unsetenv("TOKENKEEPER_CA_FILE");
  unsetenv("AUTH0_CLIENT_SECRET");
  cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_CONFIG);
  CHECK(cfg == NULL);
  last_error e = get_last_error();
  CHECK(strstr(e.message, "AUTH0_CLIENT_SECRET") != NULL);
  unsetenv("AUTH0_DOMAIN");
  unsetenv("AUTH0_CLIENT_ID");
  unsetenv("AUTH0_AUDIENCE");
}

/* Scenario V1 (every surface): the credential from a file the environment names (a secret or a
 * private key), exactly one; an unreadable file is named, never shown. */
static void test_v1_credentials_from_files_named_by_the_environment(void) {
  char dir[] = "/tmp/tk-v1-XXXXXX", secret[64], key[64];
  REQUIRE(mkdtemp(dir) != NULL);
  snprintf(secret, sizeof secret, "%s/secret", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  FILE *f = fopen(secret, "w");
  REQUIRE(f != NULL);
  fprintf(f, "%s\n", fixture("TK_CLIENT_SECRET"));
  fclose(f);
  f = fopen(key, "w");
  REQUIRE(f != NULL);
  fputs(fixture("TK_JWT_RSA_KEY"), f);
  fclose(f);
  setenv("AUTH0_DOMAIN", fixture("TK_ISSUER_URL"), 1);
  setenv("AUTH0_CLIENT_ID", fixture("TK_CLIENT_ID"), 1);
  unsetenv("AUTH0_CLIENT_SECRET");
  setenv("AUTH0_CLIENT_SECRET_FILE", secret, 1);
  setenv("AUTH0_AUDIENCE", API, 1);
  tk_config *cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_OK);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, NULL, NULL, NULL, &t), TK_STATUS_OK);
  tk_token_free(t);
  tk_client_free(c);
  setenv("AUTH0_CLIENT_ID", fixture("TK_JWT_CLIENT_ID"), 1);
  unsetenv("AUTH0_CLIENT_SECRET_FILE");
  setenv("AUTH0_PRIVATE_KEY_FILE", key, 1);
  cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_OK);
  c = client_from(cfg);
  REQUIRE(c != NULL);
  t = NULL;
  CHECK_STATUS(tk_client_get_token(c, NULL, NULL, NULL, &t), TK_STATUS_OK);
  tk_token_free(t);
  tk_client_free(c);
  setenv("AUTH0_CLIENT_SECRET", "also-a-secret", 1);
  cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "AUTH0_PRIVATE_KEY_FILE") != NULL);
  CHECK(strstr(get_last_error().message, "also-a-secret") == NULL);
  unsetenv("AUTH0_CLIENT_SECRET");
  setenv("AUTH0_PRIVATE_KEY_FILE", "/nonexistent/tk-key.pem", 1);
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "AUTH0_PRIVATE_KEY_FILE \"/nonexistent/tk-key.pem\"") != NULL);
  unsetenv("AUTH0_PRIVATE_KEY_FILE");
  unsetenv("AUTH0_DOMAIN");
  unsetenv("AUTH0_CLIENT_ID");
  unsetenv("AUTH0_AUDIENCE");
  unlink(secret);
  unlink(key);
  rmdir(dir);
}

/* ---- the cache ----------------------------------------------------------------------------- */

static void test_cache_serves_one_token_per_key(void) {
  tk_client *c = client_from(secret_config());
  tk_client *other = client_from(secret_config());
  REQUIRE(c != NULL && other != NULL);
  const char *scope = "write:things read:things"; /* a key no other test uses */
  long before = token_requests();
  REQUIRE(before >= 0);
  tk_token *cached = (tk_token *)&cached; /* a sentinel: must become NULL */
  CHECK_STATUS(tk_client_cached_token(c, API, scope, NULL, &cached), TK_STATUS_OK);
  CHECK(cached == NULL);

  tk_token *a = NULL, *b = NULL, *d = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, scope, NULL, &a), TK_STATUS_OK);
  /* Same scopes in another order and repeated: the same key, the same token. */
  CHECK_STATUS(tk_client_get_token(c, API, "read:things write:things read:things", NULL, &b),
               TK_STATUS_OK);
  /* Another client with the same key material shares the process cache. */
  CHECK_STATUS(tk_client_get_token(other, API, scope, NULL, &d), TK_STATUS_OK);
  CHECK(token_requests() == before + 1);
  bool same = false;
  CHECK_STATUS(tk_token_same(a, b, &same), TK_STATUS_OK);
  CHECK(same);
  same = false;
  CHECK_STATUS(tk_token_same(a, d, &same), TK_STATUS_OK);
  CHECK(same);
  tk_stats st;
  memset(&st, 0, sizeof st);
  CHECK_STATUS(tk_client_stats(c, &st, sizeof st), TK_STATUS_OK);
  CHECK(st.tokens_minted == 1);
  CHECK(st.cache_hits == 1);
  CHECK(st.errors == 0);

  cached = NULL;
  CHECK_STATUS(tk_client_cached_token(c, API, scope, NULL, &cached), TK_STATUS_OK);
  CHECK(cached != NULL);
  tk_token_free(cached);

  /* Invalidated: the next call fetches a new token. */
  CHECK_STATUS(tk_client_invalidate(c, API, scope, NULL), TK_STATUS_OK);
  cached = (tk_token *)&cached;
  CHECK_STATUS(tk_client_cached_token(c, API, scope, NULL, &cached), TK_STATUS_OK);
  CHECK(cached == NULL);
  tk_token *e = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, scope, NULL, &e), TK_STATUS_OK);
  CHECK(token_requests() == before + 2);
  same = true;
  CHECK_STATUS(tk_token_same(a, e, &same), TK_STATUS_OK);
  CHECK(!same);

  /* A token handle outlives its client. */
  tk_client_free(c);
  tk_client_free(other);
  char *jwt = token_str(tk_token_access_token, a);
  CHECK(jwt != NULL && strlen(jwt) > 20);
  free(jwt);
  tk_token_free(a);
  tk_token_free(b);
  tk_token_free(d);
  tk_token_free(e);
}

/* 16 threads ask for a cold key at once: one request, one token for all. */
#define THREADS 16

typedef struct {
  tk_client *client;
  pthread_barrier_t *barrier;
  tk_token *token;
  tk_status status;
  tk_status last_after;
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->barrier);
  w->status = tk_client_get_token(w->client, API, "delete:things", NULL, &w->token);
  w->last_after = tk_last_error_status();
  return NULL;
}

static void test_sixteen_threads_one_request(void) {
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  reset_issuer();
  /* The issuer answers after 300 ms, so every thread arrives while the fetch is in flight. */
  CHECK(inject_fault("{\"endpoint\":\"token\",\"delay_ms\":300}"));
  long before = token_requests();
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, THREADS);
  worker w[THREADS];
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){c, &barrier, NULL, TK_STATUS_PANIC, TK_STATUS_PANIC};
    CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  CHECK(token_requests() == before + 1);
  for (int i = 0; i < THREADS; i++) {
    CHECK(w[i].status == TK_STATUS_OK);
    CHECK(w[i].last_after == TK_STATUS_OK);
    bool same = false;
    if (w[i].token && w[0].token) {
      CHECK_STATUS(tk_token_same(w[0].token, w[i].token, &same), TK_STATUS_OK);
    }
    CHECK(same);
  }
  for (int i = 0; i < THREADS; i++) tk_token_free(w[i].token);
  tk_client_free(c);
}

/* The last error belongs to the thread that failed. */
static void *fail_on_null(void *arg) {
  (void)arg;
  tk_status *s = malloc(sizeof *s);
  if (s) *s = tk_client_get_token(NULL, API, NULL, NULL, NULL);
  return s;
}

static void test_last_error_is_per_thread(void) {
  tk_last_error_clear();
  pthread_t th;
  void *res = NULL;
  REQUIRE(pthread_create(&th, NULL, fail_on_null, NULL) == 0);
  pthread_join(th, &res);
  CHECK(res != NULL && *(tk_status *)res == TK_STATUS_NULL_PARAMETER);
  free(res);
  CHECK(tk_last_error_status() == TK_STATUS_OK);
}

/* ---- each error cause: status and details --------------------------------------------------- */

static void test_oauth_wrong_secret(void) {
  tk_client *c = NULL;
  tk_config *cfg = NULL;
  CHECK_STATUS(tk_config_new(fixture("TK_ISSUER_URL"), fixture("TK_CLIENT_ID"), "wrong-secret",
                             &cfg),
               TK_STATUS_OK);
  c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_OAUTH);
  CHECK(t == NULL);
  last_error e = get_last_error();
  CHECK(e.status == TK_STATUS_OAUTH);
  CHECK_STR(e.kind, "oauth");
  CHECK_STR(e.oauth_error, "access_denied");
  CHECK(e.http_status == 401);
  CHECK(strlen(e.description) > 0);
  CHECK(strstr(e.message, "access_denied") != NULL);
  CHECK(e.retry_after_ms == -1);
  CHECK(!e.transient);
  CHECK(strstr(e.message, "wrong-secret") == NULL);
  tk_stats st;
  CHECK_STATUS(tk_client_stats(c, &st, sizeof st), TK_STATUS_OK);
  CHECK(st.errors == 1);
  tk_client_free(c);
}

static void test_oauth_unknown_audience_and_ungranted_client(void) {
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, "https://unknown.example.com", NULL, NULL, &t),
               TK_STATUS_OAUTH);
  last_error e = get_last_error();
  CHECK_STR(e.oauth_error, "access_denied");
  CHECK(e.http_status == 403);
  check_no_secret(&e);
  tk_client_free(c);

  tk_config *cfg = NULL;
  CHECK_STATUS(tk_config_new(fixture("TK_ISSUER_URL"), fixture("TK_UNGRANTED_ID"),
                             fixture("TK_UNGRANTED_SECRET"), &cfg),
               TK_STATUS_OK);
  c = client_from(cfg);
  REQUIRE(c != NULL);
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_OAUTH);
  CHECK(t == NULL);
  e = get_last_error();
  CHECK(e.http_status == 403);
  CHECK(strlen(e.oauth_error) > 0);
  CHECK(strlen(e.description) > 0);
  tk_client_free(c);
}

static void test_rate_limited(void) {
  /* Default retries: a Retry-After of 120 s is over their limit, so it is returned at once. */
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache_enabled(cfg, false), TK_STATUS_OK);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  reset_issuer();
  CHECK(inject_fault("{\"endpoint\":\"token\",\"status\":429,"
                     "\"body\":\"{\\\"error\\\":\\\"too_many_requests\\\","
                     "\\\"error_description\\\":\\\"Global limit has been reached\\\"}\","
                     "\"headers\":[[\"retry-after\",\"120\"]]}"));
  long before = token_requests();
  double t0 = now_s();
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, "read:things", "acme", &t), TK_STATUS_RATE_LIMITED);
  CHECK(t == NULL);
  CHECK(now_s() - t0 < 5.0); /* returned at once, not waited for */
  CHECK(token_requests() == before + 1);
  last_error e = get_last_error();
  CHECK(e.status == TK_STATUS_RATE_LIMITED);
  CHECK(e.retry_after_ms == 120000);
  CHECK(e.http_status == 429);
  CHECK_STR(e.description, "Global limit has been reached");
  CHECK(e.transient);
  /* Scenario E1 (every surface): the core's kind and message, word for word. */
  CHECK_STR(e.kind, "rate_limited");
  CHECK_STR(e.message, "rate limited by the server (HTTP 429), retry after 120.0 s (Global limit has been reached)");
  tk_client_free(c);
}

static void test_network_error(void) {
  tk_config *cfg = NULL;
  CHECK_STATUS(tk_config_new("http://127.0.0.1:1", "id", "secret", &cfg), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_retry_max_attempts(cfg, 1), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_connect_timeout_ms(cfg, 1000), TK_STATUS_OK);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_NETWORK);
  CHECK(t == NULL);
  last_error e = get_last_error();
  CHECK(e.http_status == 0);
  CHECK(e.transient);
  CHECK(strlen(e.message) > 0);
  tk_client_free(c);

  /* The issuer breaks the connection (retries off). */
  c = uncached_client();
  REQUIRE(c != NULL);
  reset_issuer();
  CHECK(inject_fault("{\"endpoint\":\"token\",\"drop_connection\":true}"));
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_NETWORK);
  CHECK(t == NULL);
  tk_client_free(c);
}

static void test_timeout(void) {
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache_enabled(cfg, false), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_retry_max_attempts(cfg, 1), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_request_timeout_ms(cfg, 300), TK_STATUS_OK);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  reset_issuer();
  CHECK(inject_fault("{\"endpoint\":\"token\",\"delay_ms\":3000}"));
  double t0 = now_s();
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_TIMEOUT);
  CHECK(t == NULL);
  CHECK(now_s() - t0 < 2.5);
  last_error e = get_last_error();
  CHECK(e.status == TK_STATUS_TIMEOUT);
  CHECK(e.transient);
  CHECK(strlen(e.message) > 0);
  tk_client_free(c);
}

static void expect_invalid_response(tk_client *c, const char *fault, const char *detail) {
  reset_issuer();
  CHECK(inject_fault(fault));
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_INVALID_RESPONSE);
  CHECK(t == NULL);
  last_error e = get_last_error();
  CHECK(e.http_status == 200);
  if (strstr(e.message, detail) == NULL) {
    fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", e.message, detail);
    g_failed_checks++;
  }
}

static void test_invalid_response(void) {
  tk_client *c = uncached_client();
  REQUIRE(c != NULL);
  expect_invalid_response(c, "{\"endpoint\":\"token\",\"status\":200,\"body\":\"{not json\"}",
                          "not a JSON token response");
  expect_invalid_response(
      c, "{\"endpoint\":\"token\",\"status\":200,\"body\":\"{\\\"token_type\\\":\\\"Bearer\\\"}\"}",
      "access_token is missing");
  expect_invalid_response(c,
                          "{\"endpoint\":\"token\",\"status\":200,\"body\":"
                          "\"{\\\"access_token\\\":\\\"abc\\\",\\\"token_type\\\":\\\"mac\\\"}\"}",
                          "not Bearer");
  expect_invalid_response(c, "{\"endpoint\":\"token\",\"body_bytes\":100000}",
                          "larger than 65536 bytes");
  tk_client_free(c);

  /* The size limit is the caller's to set: a normal answer is over 256 bytes. */
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache_enabled(cfg, false), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_max_response_bytes(cfg, 256), TK_STATUS_OK);
  c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_INVALID_RESPONSE);
  last_error e = get_last_error();
  CHECK(strstr(e.message, "larger than 256 bytes") != NULL);
  tk_client_free(c);
}

/* The retry policy is the caller's to set: two broken connections, then a token. */
static void test_retries_follow_the_config(void) {
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache_enabled(cfg, false), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_retry_max_attempts(cfg, 3), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_retry_backoff_ms(cfg, 10, 20), TK_STATUS_OK);
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK); /* cfg is used again below */
  if (c == NULL) tk_config_free(cfg);
  REQUIRE(c != NULL);
  reset_issuer();
  CHECK(inject_fault("{\"endpoint\":\"token\",\"drop_connection\":true,\"times\":2}"));
  long before = token_requests();
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_OK);
  CHECK(t != NULL);
  CHECK(token_requests() == before + 3);
  tk_token_free(t);

  /* A Retry-After over max_retry_after is not waited for. */
  CHECK_STATUS(tk_config_set_max_retry_after_ms(cfg, 500), TK_STATUS_OK);
  tk_client_free(c);
  c = client_from(cfg); /* frees cfg */
  REQUIRE(c != NULL);
  CHECK(inject_fault("{\"endpoint\":\"token\",\"status\":429,\"headers\":[[\"retry-after\",\"2\"]]}"));
  before = token_requests();
  t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_RATE_LIMITED);
  CHECK(t == NULL);
  CHECK(token_requests() == before + 1);
  last_error e = get_last_error();
  CHECK(e.retry_after_ms == 2000);
  tk_client_free(c);
}

static void expect_config_error(tk_config *cfg, const char *detail) {
  tk_client *c = (tk_client *)&c; /* a sentinel: must stay untouched */
  tk_client *sentinel = c;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK(c == sentinel);
  last_error e = get_last_error();
  if (strstr(e.message, detail) == NULL) {
    fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", e.message, detail);
    g_failed_checks++;
  }
  CHECK(!e.transient);
  tk_config_free(cfg);
}

static void test_config_errors(void) {
  tk_config *cfg = NULL;
  CHECK_STATUS(tk_config_new("http://example.com", "id", "secret", &cfg), TK_STATUS_OK);
  expect_config_error(cfg, "loopback");
  CHECK_STATUS(tk_config_new(fixture("TK_ISSUER_URL"), "", "secret", &cfg), TK_STATUS_OK);
  expect_config_error(cfg, "client_id is empty");
  CHECK_STATUS(tk_config_new_private_key_jwt(fixture("TK_ISSUER_URL"), "id", "not a pem",
                                             "RS256", "kid-1", &cfg),
               TK_STATUS_OK);
  expect_config_error(cfg, "");
  cfg = secret_config();
  CHECK_STATUS(tk_config_set_retry_max_attempts(cfg, 0), TK_STATUS_OK);
  expect_config_error(cfg, "max_attempts");
  cfg = secret_config();
  CHECK_STATUS(tk_config_set_request_timeout_ms(cfg, 0), TK_STATUS_OK);
  expect_config_error(cfg, "timeouts");
  cfg = secret_config();
  CHECK_STATUS(tk_config_set_refresh_ahead(cfg, 1.5, 1000), TK_STATUS_OK);
  expect_config_error(cfg, "refresh_ahead");
  /* The cache knobs by name: the core's names and checks. */
  cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache(cfg, "expiry_margin", 10), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_cache(cfg, "max_refresh_ahead", 60), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_cache(cfg, "refresh_ahead", 0.2), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_cache(cfg, "enabled", 2), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_config_set_cache(cfg, "expiry", 1), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "expiry_margin") != NULL); /* names the known ones */
  CHECK_STATUS(tk_config_set_cache(cfg, "expiry_margin", -1), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_config_set_cache(cfg, "jitter", 0.9), TK_STATUS_OK);
  expect_config_error(cfg, "jitter");

  /* Refused at once, by the core's parsers. */
  cfg = secret_config();
  CHECK_STATUS(tk_config_set_auth_method(cfg, "client_secret_jwt"), TK_STATUS_CONFIG);
  tk_config_free(cfg);
  tk_config *none = NULL;
  CHECK_STATUS(tk_config_new_private_key_jwt(fixture("TK_ISSUER_URL"), "id", "pem", "HS256", NULL,
                                             &none),
               TK_STATUS_CONFIG);
  CHECK(none == NULL);
  last_error e = get_last_error();
  CHECK(strstr(e.message, "HS256") != NULL);

  /* A request the core refuses before any network. */
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  long before = token_requests();
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, "  ", NULL, NULL, &t), TK_STATUS_CONFIG);
  CHECK(t == NULL);
  CHECK(token_requests() == before);
  tk_client_free(c);
}

/* ---- NULL arguments, invalid UTF-8, buffers ------------------------------------------------ */

#define CHECK_NULL(expr) CHECK_STATUS(expr, TK_STATUS_NULL_PARAMETER)

static void test_null_arguments(void) {
  const char *url = fixture("TK_ISSUER_URL");
  tk_config *cfg = secret_config();
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_OK);
  REQUIRE(t != NULL);
  tk_config *out_cfg = NULL;
  tk_client *out_client = NULL;
  tk_token *out_token = NULL;
  char buf[64];
  size_t n = 0;
  uint64_t u = 7;
  double d = 7;
  bool b = false;
  tk_stats st;

  CHECK_NULL(tk_config_new(NULL, "id", "secret", &out_cfg));
  CHECK_NULL(tk_config_new(url, NULL, "secret", &out_cfg));
  CHECK_NULL(tk_config_new(url, "id", NULL, &out_cfg));
  CHECK_NULL(tk_config_new(url, "id", "secret", NULL));
  CHECK_NULL(tk_config_new_private_key_jwt(NULL, "id", "pem", "RS256", NULL, &out_cfg));
  CHECK_NULL(tk_config_new_private_key_jwt(url, NULL, "pem", "RS256", NULL, &out_cfg));
  CHECK_NULL(tk_config_new_private_key_jwt(url, "id", NULL, "RS256", NULL, &out_cfg));
  CHECK_NULL(tk_config_new_private_key_jwt(url, "id", "pem", NULL, NULL, &out_cfg));
  CHECK_NULL(tk_config_new_private_key_jwt(url, "id", "pem", "RS256", NULL, NULL));
  CHECK_NULL(tk_config_from_env(NULL));
  CHECK(out_cfg == NULL);
  CHECK_NULL(tk_config_set_auth_method(NULL, "client_secret_basic"));
  CHECK_NULL(tk_config_set_auth_method(cfg, NULL));
  CHECK_NULL(tk_config_set_token_url(NULL, url));
  CHECK_NULL(tk_config_set_token_url(cfg, NULL));
  CHECK_NULL(tk_config_set_default_audience(NULL, API));
  CHECK_NULL(tk_config_set_default_audience(cfg, NULL));
  CHECK_NULL(tk_config_set_connect_timeout_ms(NULL, 1000));
  CHECK_NULL(tk_config_set_request_timeout_ms(NULL, 1000));
  CHECK_NULL(tk_config_set_max_response_bytes(NULL, 1000));
  CHECK_NULL(tk_config_set_retry_max_attempts(NULL, 1));
  CHECK_NULL(tk_config_set_retry_backoff_ms(NULL, 1, 2));
  CHECK_NULL(tk_config_set_max_retry_after_ms(NULL, 1));
  CHECK_NULL(tk_config_set_cache_enabled(NULL, true));
  CHECK_NULL(tk_config_set_expiry_margin_ms(NULL, 1));
  CHECK_NULL(tk_config_set_refresh_ahead(NULL, 0.1, 1));
  CHECK_NULL(tk_config_set_jitter(NULL, 0.1));
  CHECK_NULL(tk_config_set_http(NULL, "max_attempts", 1));
  CHECK_NULL(tk_config_set_http(cfg, NULL, 1));
  CHECK_NULL(tk_config_set_cache(NULL, "jitter", 0.1));
  CHECK_NULL(tk_config_set_cache(cfg, NULL, 0.1));

  CHECK_NULL(tk_client_new(NULL, &out_client));
  CHECK_NULL(tk_client_new(cfg, NULL));
  CHECK(out_client == NULL);
  CHECK_NULL(tk_client_get_token(NULL, API, NULL, NULL, &out_token));
  CHECK_NULL(tk_client_get_token(c, API, NULL, NULL, NULL));
  CHECK_NULL(tk_client_cached_token(NULL, API, NULL, NULL, &out_token));
  CHECK_NULL(tk_client_cached_token(c, API, NULL, NULL, NULL));
  CHECK(out_token == NULL);
  CHECK_NULL(tk_client_invalidate(NULL, API, NULL, NULL));
  CHECK_NULL(tk_client_stats(NULL, &st, sizeof st));
  CHECK_NULL(tk_client_stats(c, NULL, sizeof st));
  /* Less than the four fields of 0.1.0 (test_shared.c: the appended ones). */
  CHECK_STATUS(tk_client_stats(c, &st, 4 * sizeof(uint64_t) - 1), TK_STATUS_BUFFER_TOO_SMALL);
  CHECK_NULL(tk_client_issuer(NULL, buf, sizeof buf, &n));
  CHECK_NULL(tk_client_issuer(c, buf, sizeof buf, NULL));
  CHECK_NULL(tk_client_issuer(c, NULL, sizeof buf, &n));

  token_str_fn strs[] = {tk_token_access_token, tk_token_authorization_header, tk_token_type,
                         tk_token_scope};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
    CHECK_NULL(strs[i](NULL, buf, sizeof buf, &n));
    CHECK_NULL(strs[i](t, buf, sizeof buf, NULL));
    CHECK_NULL(strs[i](t, NULL, sizeof buf, &n));
  }
  CHECK_NULL(tk_token_expires_in(NULL, &u));
  CHECK_NULL(tk_token_expires_in(t, NULL));
  CHECK_NULL(tk_token_expires_at(NULL, &d));
  CHECK_NULL(tk_token_expires_at(t, NULL));
  CHECK_NULL(tk_token_remaining_ms(NULL, &u));
  CHECK_NULL(tk_token_remaining_ms(t, NULL));
  CHECK_NULL(tk_token_same(NULL, t, &b));
  CHECK_NULL(tk_token_same(t, NULL, &b));
  CHECK_NULL(tk_token_same(t, t, NULL));
  CHECK(u == 7 && d == 7 && !b);

  /* The failure is described, naming the argument; the accessors' own NULLs keep it. */
  CHECK_NULL(tk_client_get_token(c, API, NULL, NULL, NULL));
  CHECK_NULL(tk_last_error_kind(buf, sizeof buf, NULL));
  CHECK_NULL(tk_last_error_message(buf, sizeof buf, NULL));
  CHECK_NULL(tk_last_error_message(NULL, sizeof buf, &n));
  CHECK_NULL(tk_last_error_oauth_error(buf, sizeof buf, NULL));
  CHECK_NULL(tk_last_error_description(buf, sizeof buf, NULL));
  CHECK_NULL(tk_last_error_token_check(buf, sizeof buf, NULL));
  CHECK_NULL(tk_last_error_http_status(NULL));
  CHECK_NULL(tk_last_error_retry_after_ms(NULL));
  CHECK_NULL(tk_last_error_is_transient(NULL));
  last_error e = get_last_error();
  CHECK(e.status == TK_STATUS_NULL_PARAMETER);
  CHECK_STR(e.kind, ""); /* the binding's own failure: no core kind */
  CHECK(strstr(e.message, "tk_client_get_token") != NULL);
  CHECK(strstr(e.message, "`out`") != NULL);

  /* Freeing NULL does nothing. */
  tk_config_free(NULL);
  tk_client_free(NULL);
  tk_token_free(NULL);

  tk_token_free(t);
  tk_client_free(c);
  tk_config_free(cfg);
}

static void test_invalid_utf8(void) {
  const char *bad = "caf\xc3\x28";
  const char *url = fixture("TK_ISSUER_URL");
  tk_config *out_cfg = NULL;
  CHECK_STATUS(tk_config_new(bad, "id", "secret", &out_cfg), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_new(url, bad, "secret", &out_cfg), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_new(url, "id", "\xff\xfe", &out_cfg), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_new_private_key_jwt(url, "id", bad, "RS256", NULL, &out_cfg),
               TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_new_private_key_jwt(url, "id", "pem", "RS256", bad, &out_cfg),
               TK_STATUS_INVALID_UTF8);
  CHECK(out_cfg == NULL);
  last_error e = get_last_error();
  CHECK(strstr(e.message, "key_id") != NULL);

  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_auth_method(cfg, bad), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_set_token_url(cfg, bad), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_set_default_audience(cfg, bad), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_set_http(cfg, bad, 1), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_set_cache(cfg, bad, 1), TK_STATUS_INVALID_UTF8);
  tk_client *c = client_from(cfg);
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  long before = token_requests();
  CHECK_STATUS(tk_client_get_token(c, bad, NULL, NULL, &t), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_client_get_token(c, API, bad, NULL, &t), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_client_get_token(c, API, NULL, bad, &t), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_client_cached_token(c, bad, NULL, NULL, &t), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_client_invalidate(c, API, bad, NULL), TK_STATUS_INVALID_UTF8);
  CHECK(t == NULL);
  CHECK(token_requests() == before);
  e = get_last_error();
  CHECK(strstr(e.message, "scope") != NULL);
  tk_client_free(c);
}

static void test_buffer_one_byte_too_small(void) {
  tk_client *c = client_from(secret_config());
  REQUIRE(c != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_OK);
  REQUIRE(t != NULL);
  size_t need = 0;
  CHECK_STATUS(tk_token_access_token(t, NULL, 0, &need), TK_STATUS_BUFFER_TOO_SMALL);
  REQUIRE(need > 1);

  char *buf = malloc(need);
  REQUIRE(buf != NULL);
  memset(buf, '#', need);
  size_t n = 0;
  CHECK_STATUS(tk_token_access_token(t, buf, need - 1, &n), TK_STATUS_BUFFER_TOO_SMALL);
  CHECK(n == need);
  int untouched = 1;
  for (size_t i = 0; i < need; i++) untouched &= buf[i] == '#';
  CHECK(untouched);
  last_error e = get_last_error();
  CHECK(e.status == TK_STATUS_BUFFER_TOO_SMALL);
  CHECK(strstr(e.message, "too small") != NULL);

  n = 0;
  CHECK_STATUS(tk_token_access_token(t, buf, need, &n), TK_STATUS_OK);
  CHECK(n == need);
  CHECK(strlen(buf) == need - 1);
  CHECK(tk_last_error_status() == TK_STATUS_OK);
  free(buf);

  /* The same for an error message, which survives its own BUFFER_TOO_SMALL. */
  CHECK_STATUS(tk_client_get_token(c, "https://unknown.example.com", NULL, NULL, &t),
               TK_STATUS_OAUTH);
  CHECK_STATUS(tk_last_error_message(NULL, 0, &need), TK_STATUS_BUFFER_TOO_SMALL);
  REQUIRE(need > 1);
  buf = malloc(need);
  REQUIRE(buf != NULL);
  memset(buf, '#', need);
  CHECK_STATUS(tk_last_error_message(buf, need - 1, &n), TK_STATUS_BUFFER_TOO_SMALL);
  CHECK(n == need && buf[0] == '#' && buf[need - 1] == '#');
  CHECK(tk_last_error_status() == TK_STATUS_OAUTH);
  CHECK_STATUS(tk_last_error_message(buf, need, &n), TK_STATUS_OK);
  CHECK(strlen(buf) == need - 1);
  CHECK(strstr(buf, "access_denied") != NULL);
  free(buf);

  /* Strings that do not apply are empty, not missing. */
  char small[1];
  CHECK_STATUS(tk_last_error_token_check(small, sizeof small, &n), TK_STATUS_OK);
  CHECK(n == 1 && small[0] == '\0');
  tk_token_free(t);
  tk_client_free(c);
}

/* ---- round 2: the shared scenarios H-A, H-B, H-D, and strings with a NUL -------------------- */

/* A client_secret_basic client: its cache keys are its own (the auth method is part of the
 * key), so a 429 remembered for one of them cannot touch the other tests. */
static tk_client *basic_client(void) {
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_auth_method(cfg, "client_secret_basic"), TK_STATUS_OK);
  return client_from(cfg);
}

/* H-A: after a 429 whose Retry-After (3600 s) is over max_retry_after (30 s), every further
 * call for that key fails at once with the rate-limited error and the time left, sending no
 * request; another key's valid token is still served from the cache. */
static void test_ha_a_429_is_remembered_for_its_key(void) {
  tk_client *c = basic_client();
  REQUIRE(c != NULL);
  tk_token *held = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, "read:things", NULL, &held), TK_STATUS_OK);
  REQUIRE(held != NULL);
  reset_issuer();
  REQUIRE(inject_fault("{\"endpoint\":\"token\",\"status\":429,"
                       "\"body\":\"{\\\"error\\\":\\\"too_many_requests\\\","
                       "\\\"error_description\\\":\\\"Global limit has been reached\\\"}\","
                       "\"headers\":[[\"retry-after\",\"3600\"]]}"));
  long before = token_requests();
  double t0 = now_s();
  int limited = 0;
  int64_t least = INT64_MAX;
  for (int i = 0; i < 100; i++) {
    tk_token *t = NULL;
    tk_status s = tk_client_get_token(c, API, NULL, NULL, &t);
    last_error e = get_last_error();
    if (s == TK_STATUS_RATE_LIMITED && t == NULL && e.retry_after_ms > 3500 * 1000 &&
        e.transient) {
      limited++;
    } else if (limited == i) { /* the first odd call only */
      fprintf(stderr, "    call %d: %s, retry_after_ms %lld (%s)\n", i, tk_status_str(s),
              (long long)e.retry_after_ms, e.message);
    }
    if (e.retry_after_ms < least) least = e.retry_after_ms;
    tk_token_free(t);
  }
  CHECK(limited == 100);
  CHECK(least > 3500 * 1000 && least <= 3600 * 1000);
  CHECK(token_requests() == before + 1); /* the 429 itself, nothing after it */
  CHECK(now_s() - t0 < 30.0);           /* no call waited */
  /* The limited key has nothing cached; the other key's token is served, no request. */
  tk_token *none = (tk_token *)&none;
  CHECK_STATUS(tk_client_cached_token(c, API, NULL, NULL, &none), TK_STATUS_OK);
  CHECK(none == NULL);
  tk_token *again = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, "read:things", NULL, &again), TK_STATUS_OK);
  bool same = false;
  if (again) CHECK_STATUS(tk_token_same(held, again, &same), TK_STATUS_OK);
  CHECK(same);
  CHECK(token_requests() == before + 1);
  tk_token_free(again);
  tk_token_free(held);
  tk_client_free(c);
}

#define AFTER_HANDLING_503                                                               \
  "{\"endpoint\":\"token\",\"status\":503,\"after_handling\":true,"                       \
  "\"body\":\"{\\\"error\\\":\\\"temporarily_unavailable\\\","                            \
  "\\\"error_description\\\":\\\"try later\\\"}\"}"

/* H-B: the issuer handles the first attempt (its assertion's jti is spent) and answers 503;
 * the retry signs a new assertion, so it is accepted: a token, 2 requests. */
static void test_hb_each_attempt_signs_a_new_assertion(void) {
  tk_client *c = rsa_jwt_client(2);
  REQUIRE(c != NULL);
  reset_issuer();
  REQUIRE(inject_fault(AFTER_HANDLING_503));
  long before = token_requests();
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, "read:things", NULL, &t), TK_STATUS_OK);
  CHECK(t != NULL);
  CHECK(token_requests() == before + 2);
  tk_token_free(t);
  tk_client_free(c);

  /* The control: one attempt only, the same fault is the 503 (one request). */
  c = rsa_jwt_client(1);
  REQUIRE(c != NULL);
  REQUIRE(inject_fault(AFTER_HANDLING_503));
  before = token_requests();
  t = NULL;
  CHECK(tk_client_get_token(c, API, "read:things", NULL, &t) != TK_STATUS_OK);
  CHECK(get_last_error().http_status == 503);
  CHECK(t == NULL);
  CHECK(token_requests() == before + 1);
  tk_client_free(c);
}

/* H-D: invalidate_if_current drops the cached token only while it is the one given. */
static void test_hd_invalidate_if_current(void) {
  tk_client *c = basic_client();
  REQUIRE(c != NULL);
  const char *scope = "write:things"; /* a key of this test only */
  long before = token_requests();
  tk_token *t1 = NULL, *t2 = NULL, *cached = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, scope, NULL, &t1), TK_STATUS_OK);
  REQUIRE(t1 != NULL);
  bool dropped = false;
  CHECK_STATUS(tk_client_invalidate_if_current(c, API, scope, NULL, t1, &dropped), TK_STATUS_OK);
  CHECK(dropped);
  cached = (tk_token *)&cached;
  CHECK_STATUS(tk_client_cached_token(c, API, scope, NULL, &cached), TK_STATUS_OK);
  CHECK(cached == NULL);
  /* Nothing cached any more: nothing to drop. */
  dropped = true;
  CHECK_STATUS(tk_client_invalidate_if_current(c, API, scope, NULL, t1, &dropped), TK_STATUS_OK);
  CHECK(!dropped);

  CHECK_STATUS(tk_client_get_token(c, API, scope, NULL, &t2), TK_STATUS_OK);
  REQUIRE(t2 != NULL);
  bool same = true;
  CHECK_STATUS(tk_token_same(t1, t2, &same), TK_STATUS_OK);
  CHECK(!same);
  /* T1 is stale: T2 (renewed meanwhile, say by another thread) stays cached. */
  dropped = true;
  CHECK_STATUS(tk_client_invalidate_if_current(c, API, scope, NULL, t1, &dropped), TK_STATUS_OK);
  CHECK(!dropped);
  cached = NULL;
  CHECK_STATUS(tk_client_cached_token(c, API, scope, NULL, &cached), TK_STATUS_OK);
  same = false;
  if (cached) CHECK_STATUS(tk_token_same(cached, t2, &same), TK_STATUS_OK);
  CHECK(same);
  tk_token_free(cached);
  /* The same scopes in another spelling are the same key. */
  tk_token *t3 = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, " write:things write:things", NULL, &t3),
               TK_STATUS_OK);
  same = false;
  if (t3) CHECK_STATUS(tk_token_same(t3, t2, &same), TK_STATUS_OK);
  CHECK(same);
  CHECK(token_requests() == before + 2);

  /* Arguments: NULLs, bad UTF-8, no audience and no default one; the out-parameter is
   * written only on success. */
  dropped = true;
  CHECK_STATUS(tk_client_invalidate_if_current(NULL, API, scope, NULL, t2, &dropped),
               TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_client_invalidate_if_current(c, API, scope, NULL, NULL, &dropped),
               TK_STATUS_NULL_PARAMETER);
  CHECK_CONTAINS_MSG("`token`");
  CHECK_STATUS(tk_client_invalidate_if_current(c, API, scope, NULL, t2, NULL),
               TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_client_invalidate_if_current(c, API, "caf\xc3\x28", NULL, t2, &dropped),
               TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_client_invalidate_if_current(c, NULL, scope, NULL, t2, &dropped),
               TK_STATUS_CONFIG);
  CHECK(dropped);
  cached = NULL;
  CHECK_STATUS(tk_client_cached_token(c, API, scope, NULL, &cached), TK_STATUS_OK);
  CHECK(cached != NULL); /* none of those dropped it */
  tk_token_free(cached);
  tk_token_free(t1);
  tk_token_free(t2);
  tk_token_free(t3);
  tk_client_free(c);
}

/* M8: a string with a NUL is never handed to C cut short (C would read "read:things"):
 * the token's scope from a server that put a NUL in it is TK_STATUS_WRONG_TYPE. */
static void test_m8_token_strings_with_a_nul(void) {
  tk_client *c = uncached_client();
  REQUIRE(c != NULL);
  reset_issuer();
  REQUIRE(inject_fault("{\"endpoint\":\"token\",\"status\":200,\"body\":"
                       "\"{\\\"access_token\\\":\\\"abc.def.ghi\\\",\\\"token_type\\\":"
                       "\\\"Bearer\\\",\\\"expires_in\\\":3600,"
                       "\\\"scope\\\":\\\"read:things\\\\u0000write:things\\\"}\"}"));
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, NULL, NULL, &t), TK_STATUS_OK);
  REQUIRE(t != NULL);
  char buf[256];
  memset(buf, '#', sizeof buf);
  size_t n = 12345;
  CHECK_STATUS(tk_token_scope(t, buf, sizeof buf, &n), TK_STATUS_WRONG_TYPE);
  CHECK(n == 12345 && buf[0] == '#');
  CHECK_CONTAINS_MSG("NUL");
  CHECK_CONTAINS_MSG("tk_token_scope");
  /* Asking for the length is refused the same way (no length for a string C cannot hold). */
  CHECK_STATUS(tk_token_scope(t, NULL, 0, &n), TK_STATUS_WRONG_TYPE);
  CHECK(n == 12345);
  /* The other fields are fine. */
  CHECK_STATUS(tk_token_access_token(t, buf, sizeof buf, &n), TK_STATUS_OK);
  CHECK_STR(buf, "abc.def.ghi");
  tk_token_free(t);
  tk_client_free(c);
}

static const test_case TESTS[] = {
    {"version_macros_match_the_library", test_version_macros_match_the_library},
    {"status_names", test_status_names},
    {"token_for_an_audience", test_token_for_an_audience},
    {"organization_and_basic_auth", test_organization_and_basic_auth},
    {"private_key_jwt", test_private_key_jwt},
    {"s7_default_audience_and_env", test_s7_default_audience_and_env},
    {"p1_prepared_request", test_p1_prepared_request},
    {"r1_after_rejection", test_r1_after_rejection},
    {"v1_credentials_from_files_named_by_the_environment", test_v1_credentials_from_files_named_by_the_environment},
    {"cache_serves_one_token_per_key", test_cache_serves_one_token_per_key},
    {"sixteen_threads_one_request", test_sixteen_threads_one_request},
    {"last_error_is_per_thread", test_last_error_is_per_thread},
    {"error_oauth_wrong_secret", test_oauth_wrong_secret},
    {"error_oauth_unknown_audience_and_ungranted_client",
     test_oauth_unknown_audience_and_ungranted_client},
    {"error_rate_limited", test_rate_limited},
    {"error_network", test_network_error},
    {"error_timeout", test_timeout},
    {"error_invalid_response", test_invalid_response},
    {"error_config", test_config_errors},
    {"retries_follow_the_config", test_retries_follow_the_config},
    {"null_arguments", test_null_arguments},
    {"invalid_utf8", test_invalid_utf8},
    {"buffer_one_byte_too_small", test_buffer_one_byte_too_small},
    {"ha_a_429_is_remembered_for_its_key", test_ha_a_429_is_remembered_for_its_key},
    {"hb_each_attempt_signs_a_new_assertion", test_hb_each_attempt_signs_a_new_assertion},
    {"hd_invalidate_if_current", test_hd_invalidate_if_current},
    {"m8_token_strings_with_a_nul", test_m8_token_strings_with_a_nul},
};

int main(int argc, char **argv) {
  const char *label = getenv("TK_TEST_LABEL");
  /* The client-credentials tests above, then those of test_signin.c, test_shared.c,
   * test_exchange.c and test_tls.c. */
  struct {
    const test_case *tests;
    size_t count;
  } parts[] = {{TESTS, sizeof TESTS / sizeof TESTS[0]},
               {SIGNIN_TESTS, SIGNIN_TEST_COUNT},
               {SHARED_TESTS, SHARED_TEST_COUNT},
               {EXCHANGE_TESTS, EXCHANGE_TEST_COUNT},
               {TLS_TESTS, TLS_TEST_COUNT}};
  size_t total = 0;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) total += parts[i].count;
  test_case *all = malloc(total * sizeof *all);
  if (all == NULL) return 2;
  for (size_t i = 0, at = 0; i < sizeof parts / sizeof parts[0]; at += parts[i++].count) {
    memcpy(all + at, parts[i].tests, parts[i].count * sizeof *all);
  }
  int rc = run_tests(all, total, argc, argv, label ? label : "c-tests");
  free(all);
  return rc;
}
