/*
 * Token exchange through the cache (tk_exchange, tk_client_exchange, the act chain of
 * tk_claims): the scenario of core/tests/exchange.rs, python/tests/test_exchange.py,
 * ExchangeTest.kt and Exchange.swift (On-Behalf-Of, Custom Token Exchange, Token Vault; one
 * request per subject, never cached past the subject's `exp`) against the local issuer over
 * real HTTP. Part of the program of test_tokenkeeper.c, which runs EXCHANGE_TESTS.
 */
#include "harness.h"

#include <pthread.h>
#include <time.h>

#define API "https://api.example.com"
#define THREADS 16

static int g_apis;

/* A fresh API (so its cache keys are cold) into `aud`; 1 on success. */
static int new_api(char *aud, size_t len) {
  char body[400];
  snprintf(aud, len, "https://c-exchange-%d-%ld-%.0f.example.com", ++g_apis, (long)getpid(),
           now_s() * 1e6);
  snprintf(body, sizeof body,
           "{\"audience\":\"%s\",\"scopes\":[\"read:things\",\"write:things\"],\"lifetime\":86400}",
           aud);
  return admin_http("POST", "/__admin/apis", body, NULL, 0) == 200;
}

/* A user's access token for the fixture's API signed by the issuer: `sub`, a lifetime from now
 * (negative: expired), and `extra` JSON members (or ""). 1 on success. */
static int user_token(const char *sub, long lifetime, const char *extra, char *out, size_t len) {
  char claims[1024];
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims,
           "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"" API "\",\"iat\":%ld,\"exp\":%ld,"
           "\"scope\":\"read:things\"%s%s}",
           fixture("TK_ISSUER"), sub, now, now + lifetime, *extra ? "," : "", extra);
  return admin_sign(claims, NULL, out, len);
}

static tk_client *exchange_client(void) {
  tk_config *cfg = secret_config();
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  tk_config_free(cfg);
  return c;
}

/* An exchange request of `subject` (access token type) for `audience` (NULL: none). */
static tk_exchange *obo(const char *subject, const char *audience) {
  tk_exchange *x = NULL;
  CHECK_STATUS(tk_exchange_new(subject, TK_TOKEN_TYPE_ACCESS_TOKEN, &x), TK_STATUS_OK);
  if (x && audience) CHECK_STATUS(tk_exchange_set_audience(x, audience), TK_STATUS_OK);
  return x;
}

/* The access token of `t` into `out` ("" when it cannot be read). */
static void token_text(const tk_token *t, char *out, size_t len) {
  size_t n = 0;
  out[0] = '\0';
  if (t == NULL || tk_token_access_token(t, out, len, &n) != TK_STATUS_OK) out[0] = '\0';
}

/* Verifies `jwt` for `audience`: the claims, or NULL (with a failed check). */
static tk_claims *verified(const char *jwt, const char *audience) {
  tk_verifier_config *cfg = NULL;
  tk_verifier *v = NULL;
  tk_claims *claims = NULL;
  CHECK_STATUS(tk_verifier_config_new(fixture("TK_ISSUER_URL"), audience, &cfg), TK_STATUS_OK);
  if (cfg) CHECK_STATUS(tk_verifier_new(cfg, &v), TK_STATUS_OK);
  if (v) CHECK_STATUS(tk_verifier_verify(v, jwt, &claims), TK_STATUS_OK);
  tk_verifier_free(v);
  tk_verifier_config_free(cfg);
  return claims;
}

/* Claim `name` of `c` is `want`. */
static void check_claim(const tk_claims *c, const char *name, const char *want) {
  char buf[512];
  size_t n = 0;
  CHECK_STATUS(tk_claims_get_str(c, name, buf, sizeof buf, &n), TK_STATUS_OK);
  CHECK_STR(buf, want);
}

/* The last error is an OAuth error `want` with HTTP `status` (0: any). */
static void check_oauth(const char *want, long status) {
  last_error e = get_last_error();
  CHECK(e.status == TK_STATUS_OAUTH);
  CHECK_STR(e.oauth_error, want);
  if (status) CHECK(e.http_status == status);
}

static void test_x_on_behalf_of_is_cached_per_subject(void) {
  char downstream[160], alice[4096], bob[4096], t1[4096], t2[4096];
  REQUIRE(new_api(downstream, sizeof downstream));
  REQUIRE(user_token(fixture("TK_USER_SUB"), 3600, "", alice, sizeof alice));
  REQUIRE(user_token("auth0|bob", 3600, "", bob, sizeof bob));
  tk_client *c = exchange_client();
  REQUIRE(c != NULL);
  long before = issuer_count("grant:token_exchange:obo");
  tk_exchange *x = obo(alice, downstream);
  CHECK_STATUS(tk_exchange_set_scope(x, "write:things read:things"), TK_STATUS_OK);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_exchange(c, x, &t), TK_STATUS_OK);
  token_text(t, t1, sizeof t1);
  tk_claims *claims = verified(t1, downstream);
  if (claims) {
    check_claim(claims, "sub", fixture("TK_USER_SUB"));
    size_t actors = 99;
    CHECK_STATUS(tk_claims_actor_count(claims, &actors), TK_STATUS_OK);
    CHECK(actors == 1);
    char actor[256], want[256];
    size_t n = 0;
    CHECK_STATUS(tk_claims_actor(claims, 0, actor, sizeof actor, &n), TK_STATUS_OK);
    snprintf(want, sizeof want, "%s@clients", fixture("TK_CLIENT_ID"));
    CHECK_STR(actor, want);
    CHECK_STATUS(tk_claims_actor(claims, 1, actor, sizeof actor, &n), TK_STATUS_NOT_FOUND);
  }
  tk_claims_free(claims);

  /* The same subject, the same scopes in another order and repeated: a hit. */
  tk_exchange *again = obo(alice, downstream);
  CHECK_STATUS(tk_exchange_set_scope(again, "read:things write:things read:things"), TK_STATUS_OK);
  tk_token *t_again = NULL;
  CHECK_STATUS(tk_client_exchange(c, again, &t_again), TK_STATUS_OK);
  token_text(t_again, t2, sizeof t2);
  CHECK_STR(t2, t1);

  tk_exchange *for_bob = obo(bob, downstream);
  tk_token *t_bob = NULL;
  CHECK_STATUS(tk_client_exchange(c, for_bob, &t_bob), TK_STATUS_OK);
  token_text(t_bob, t2, sizeof t2);
  claims = verified(t2, downstream);
  if (claims) check_claim(claims, "sub", "auth0|bob");
  tk_claims_free(claims);
  CHECK(issuer_count("grant:token_exchange:obo") - before == 2);

  tk_token_free(t);
  tk_token_free(t_again);
  tk_token_free(t_bob);
  tk_exchange_free(x);
  tk_exchange_free(again);
  tk_exchange_free(for_bob);
  tk_client_free(c);
}

typedef struct {
  tk_client *client;
  const tk_exchange *exchange;
  pthread_barrier_t *barrier;
  tk_token *token;
  tk_status status;
} exchanger;

static void *exchange_main(void *arg) {
  exchanger *w = arg;
  pthread_barrier_wait(w->barrier);
  w->status = tk_client_exchange(w->client, w->exchange, &w->token);
  return NULL;
}

static void test_x_concurrent_exchanges_of_one_subject_send_one_request(void) {
  char downstream[160], subject[4096];
  REQUIRE(new_api(downstream, sizeof downstream));
  REQUIRE(user_token(fixture("TK_USER_SUB"), 3600, "", subject, sizeof subject));
  tk_client *c = exchange_client();
  tk_exchange *x = obo(subject, downstream);
  REQUIRE(c != NULL && x != NULL);
  long before = issuer_count("grant:token_exchange:obo");
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, THREADS);
  exchanger w[THREADS];
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (exchanger){c, x, &barrier, NULL, TK_STATUS_PANIC};
    CHECK(pthread_create(&th[i], NULL, exchange_main, &w[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  for (int i = 0; i < THREADS; i++) {
    CHECK(w[i].status == TK_STATUS_OK);
    bool same = false;
    if (w[i].token && w[0].token) {
      CHECK_STATUS(tk_token_same(w[0].token, w[i].token, &same), TK_STATUS_OK);
    }
    CHECK(same);
  }
  for (int i = 0; i < THREADS; i++) tk_token_free(w[i].token);
  CHECK(issuer_count("grant:token_exchange:obo") - before == 1);
  tk_exchange_free(x);
  tk_client_free(c);
}

static void test_x_never_cached_past_the_subject(void) {
  char downstream[160], subject[4096], expired[4096];
  REQUIRE(new_api(downstream, sizeof downstream));
  REQUIRE(user_token(fixture("TK_USER_SUB"), 30, "", subject, sizeof subject));
  REQUIRE(user_token(fixture("TK_USER_SUB"), -5, "", expired, sizeof expired));
  tk_client *c = exchange_client();
  REQUIRE(c != NULL);
  tk_exchange *x = obo(subject, downstream);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_exchange(c, x, &t), TK_STATUS_OK);
  uint64_t expires_in = 0;
  double expires_at = 0;
  CHECK_STATUS(tk_token_expires_in(t, &expires_in), TK_STATUS_OK);
  CHECK_STATUS(tk_token_expires_at(t, &expires_at), TK_STATUS_OK);
  CHECK(expires_in <= 30);
  CHECK(expires_at <= (double)time(NULL) + 30);

  /* An expired subject: refused before any request. */
  tk_exchange *old = obo(expired, downstream);
  long before = token_requests();
  tk_token *none = NULL;
  CHECK_STATUS(tk_client_exchange(c, old, &none), TK_STATUS_INVALID_TOKEN);
  CHECK(none == NULL);
  tk_token_check check = TK_TOKEN_CHECK_NONE;
  CHECK_STATUS(tk_last_error_token_check_code(&check), TK_STATUS_OK);
  CHECK(check == TK_TOKEN_CHECK_EXPIRED);
  CHECK(token_requests() == before);
  tk_token_free(t);
  tk_exchange_free(x);
  tk_exchange_free(old);
  tk_client_free(c);
}

static void test_x_actor_chain(void) {
  char downstream[160], subject[4096], agent[4096], jwt[4096];
  REQUIRE(new_api(downstream, sizeof downstream));
  REQUIRE(user_token(fixture("TK_USER_SUB"), 3600, "\"act\":{\"sub\":\"first-hop\"}", subject,
                     sizeof subject));
  REQUIRE(user_token("agent|7", 3600, "", agent, sizeof agent));
  tk_client *c = exchange_client();
  REQUIRE(c != NULL);
  tk_exchange *x = obo(subject, downstream);
  CHECK_STATUS(tk_exchange_set_actor(x, agent, TK_TOKEN_TYPE_ACCESS_TOKEN), TK_STATUS_OK);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_exchange(c, x, &t), TK_STATUS_OK);
  token_text(t, jwt, sizeof jwt);
  tk_claims *claims = verified(jwt, downstream);
  if (claims) {
    size_t actors = 0;
    CHECK_STATUS(tk_claims_actor_count(claims, &actors), TK_STATUS_OK);
    CHECK(actors == 2);
    const char *want[] = {"agent|7", "first-hop"};
    for (size_t i = 0; i < 2; i++) {
      char actor[256];
      size_t n = 0;
      CHECK_STATUS(tk_claims_actor(claims, i, actor, sizeof actor, &n), TK_STATUS_OK);
      CHECK_STR(actor, want[i]);
    }
  }
  tk_claims_free(claims);
  /* An actor token without its type: a config error, nothing sent. */
  tk_exchange *half = obo(subject, downstream);
  CHECK_STATUS(tk_exchange_set_actor(half, agent, ""), TK_STATUS_OK);
  tk_token *none = NULL;
  CHECK_STATUS(tk_client_exchange(c, half, &none), TK_STATUS_CONFIG);
  tk_token_free(t);
  tk_exchange_free(x);
  tk_exchange_free(half);
  tk_client_free(c);
}

static void test_x_custom_token_exchange_and_its_refusals(void) {
  char downstream[160], jwt[4096];
  REQUIRE(new_api(downstream, sizeof downstream));
  tk_client *c = exchange_client();
  REQUIRE(c != NULL);
  const char *kind = fixture("TK_EXCHANGE_SUBJECT_TOKEN_TYPE");
  tk_exchange *x = NULL;
  CHECK_STATUS(tk_exchange_new(fixture("TK_EXCHANGE_SUBJECT_TOKEN"), kind, &x), TK_STATUS_OK);
  CHECK_STATUS(tk_exchange_set_audience(x, downstream), TK_STATUS_OK);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_exchange(c, x, &t), TK_STATUS_OK);
  token_text(t, jwt, sizeof jwt);
  tk_claims *claims = verified(jwt, downstream);
  if (claims) check_claim(claims, "sub", fixture("TK_USER_SUB"));
  tk_claims_free(claims);
  tk_token_free(t);
  tk_exchange_free(x);

  struct {
    const char *token, *type;
    tk_status status;
    const char *error;
    long http;
  } cases[] = {
      {"forged", kind, TK_STATUS_OAUTH, "invalid_grant", 403},
      {"x", "urn:example:nobody", TK_STATUS_OAUTH, "invalid_request", 0},
      {"x", "not a uri", TK_STATUS_CONFIG, NULL, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    x = NULL;
    CHECK_STATUS(tk_exchange_new(cases[i].token, cases[i].type, &x), TK_STATUS_OK);
    CHECK_STATUS(tk_exchange_set_audience(x, downstream), TK_STATUS_OK);
    tk_token *none = NULL;
    CHECK_STATUS(tk_client_exchange(c, x, &none), cases[i].status);
    if (cases[i].error) check_oauth(cases[i].error, cases[i].http);
    tk_exchange_free(x);
  }
  tk_client_free(c);
}

/* A Token Vault exchange of `subject` for the user `hint`. */
static tk_status vault(tk_client *c, const char *subject, const char *hint, tk_token **out) {
  tk_exchange *x = obo(subject, NULL);
  CHECK_STATUS(tk_exchange_set_connection(x, fixture("TK_VAULT_CONNECTION")), TK_STATUS_OK);
  CHECK_STATUS(tk_exchange_set_login_hint(x, hint), TK_STATUS_OK);
  tk_status s = tk_client_exchange(c, x, out);
  tk_exchange_free(x);
  return s;
}

static void test_x_token_vault(void) {
  char subject[4096], jti[128], t1[4096], t2[4096], prefix[128];
  snprintf(jti, sizeof jti, "\"jti\":\"c-%ld-%.0f\"", (long)getpid(), now_s() * 1e6);
  REQUIRE(user_token(fixture("TK_USER_SUB"), 3600, jti, subject, sizeof subject));
  tk_client *c = exchange_client();
  REQUIRE(c != NULL);
  const char *email = fixture("TK_USER_EMAIL");
  long before = issuer_count("grant:token_vault");
  tk_token *t = NULL, *again = NULL, *none = NULL, *renewed = NULL;
  CHECK_STATUS(vault(c, subject, email, &t), TK_STATUS_OK);
  token_text(t, t1, sizeof t1);
  snprintf(prefix, sizeof prefix, "fca.%s.", fixture("TK_VAULT_CONNECTION"));
  CHECK(strncmp(t1, prefix, strlen(prefix)) == 0);
  CHECK_STATUS(vault(c, subject, email, &again), TK_STATUS_OK);
  token_text(again, t2, sizeof t2);
  CHECK_STR(t2, t1);
  CHECK(issuer_count("grant:token_vault") - before == 1);
  CHECK_STATUS(vault(c, subject, "mallory@example.com", &none), TK_STATUS_OAUTH);
  check_oauth("invalid_grant", 0);

  /* An API refused the token: forgotten once, then the next exchange asks again. */
  tk_exchange *x = obo(subject, NULL);
  CHECK_STATUS(tk_exchange_set_connection(x, fixture("TK_VAULT_CONNECTION")), TK_STATUS_OK);
  CHECK_STATUS(tk_exchange_set_login_hint(x, email), TK_STATUS_OK);
  bool dropped = false;
  CHECK_STATUS(tk_client_invalidate_exchange_if_current(c, x, t, &dropped), TK_STATUS_OK);
  CHECK(dropped);
  CHECK_STATUS(tk_client_invalidate_exchange_if_current(c, x, t, &dropped), TK_STATUS_OK);
  CHECK(!dropped);
  CHECK_STATUS(tk_client_exchange(c, x, &renewed), TK_STATUS_OK);
  /* Mallory's refused request counts too. */
  CHECK(issuer_count("grant:token_vault") - before == 3);
  tk_token_free(t);
  tk_token_free(again);
  tk_token_free(renewed);
  tk_exchange_free(x);
  tk_client_free(c);
}

static void test_x_bad_arguments(void) {
  tk_client *c = exchange_client();
  REQUIRE(c != NULL);
  tk_exchange *x = NULL;
  tk_token *t = NULL;
  CHECK_STATUS(tk_exchange_new(NULL, TK_TOKEN_TYPE_ACCESS_TOKEN, &x), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_exchange_new("t", NULL, &x), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_exchange_new("t", TK_TOKEN_TYPE_ACCESS_TOKEN, NULL), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_exchange_new("\xff\xfe", TK_TOKEN_TYPE_ACCESS_TOKEN, &x), TK_STATUS_INVALID_UTF8);
  CHECK(x == NULL);
  CHECK_STATUS(tk_exchange_set_audience(NULL, API), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_client_exchange(c, NULL, &t), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_exchange_new("secret-subject", TK_TOKEN_TYPE_ACCESS_TOKEN, &x), TK_STATUS_OK);
  REQUIRE(x != NULL);
  CHECK_STATUS(tk_exchange_set_scope(x, NULL), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_exchange_set_actor(x, "a", NULL), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_exchange_set_connection(x, "\xc3("), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_client_exchange(NULL, x, &t), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_client_exchange(c, x, NULL), TK_STATUS_NULL_PARAMETER);
  bool dropped = true;
  CHECK_STATUS(tk_client_invalidate_exchange_if_current(c, x, NULL, &dropped),
               TK_STATUS_NULL_PARAMETER);
  /* No audience and no default audience: a config error that does not show the subject. */
  CHECK_STATUS(tk_client_exchange(c, x, &t), TK_STATUS_CONFIG);
  last_error e = get_last_error();
  CHECK(strstr(e.message, "secret-subject") == NULL);
  CHECK(t == NULL);
  size_t count = 0;
  CHECK_STATUS(tk_claims_actor_count(NULL, &count), TK_STATUS_NULL_PARAMETER);
  tk_exchange_free(x);
  tk_exchange_free(NULL);
  tk_client_free(c);
}

const test_case EXCHANGE_TESTS[] = {
    {"x_on_behalf_of_is_cached_per_subject", test_x_on_behalf_of_is_cached_per_subject},
    {"x_concurrent_exchanges_of_one_subject_send_one_request",
     test_x_concurrent_exchanges_of_one_subject_send_one_request},
    {"x_never_cached_past_the_subject", test_x_never_cached_past_the_subject},
    {"x_actor_chain", test_x_actor_chain},
    {"x_custom_token_exchange_and_its_refusals", test_x_custom_token_exchange_and_its_refusals},
    {"x_token_vault", test_x_token_vault},
    {"x_bad_arguments", test_x_bad_arguments},
};
const size_t EXCHANGE_TEST_COUNT = sizeof EXCHANGE_TESTS / sizeof EXCHANGE_TESTS[0];
