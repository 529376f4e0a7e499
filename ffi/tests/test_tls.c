/* HTTPS with an extra CA (issue 12, item 10), the scenario every surface runs: a token from the
 * TLS issuer (ffi/test.sh starts it with --tls: TK_TLS_*) with `ca_file` set, and a typed
 * network error naming the unknown issuer without it; and the text setters' argument checks
 * on every config kind. */

#include "harness.h"

#define API "https://api.example.com"

/* A client of the TLS issuer, trusting `ca_file` when not NULL: one attempt per call, no
 * process cache (a token cached by the trusting client must not answer the other). */
static tk_client *tls_client(const char *ca_file) {
  tk_config *cfg = NULL;
  tk_client *c = NULL;
  if (tk_config_new(fixture("TK_TLS_URL"), fixture("TK_TLS_CLIENT_ID"),
                    fixture("TK_TLS_CLIENT_SECRET"), &cfg) != TK_STATUS_OK) {
    return NULL;
  }
  CHECK_STATUS(tk_config_set_http(cfg, "max_attempts", 1), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_cache(cfg, "enabled", 0), TK_STATUS_OK);
  if (ca_file != NULL) CHECK_STATUS(tk_config_set_http_text(cfg, "ca_file", ca_file), TK_STATUS_OK);
  tk_status s = tk_client_new(cfg, &c);
  tk_config_free(cfg);
  return s == TK_STATUS_OK ? c : NULL;
}

static void test_tls_a_token_with_ca_file_and_a_typed_error_without(void) {
  tk_client *trusted = tls_client(fixture("TK_TLS_CA_FILE"));
  REQUIRE(trusted != NULL);
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(trusted, API, NULL, NULL, &t), TK_STATUS_OK);
  CHECK(t != NULL);
  tk_token_free(t);
  tk_client_free(trusted);

  tk_client *untrusted = tls_client(NULL);
  REQUIRE(untrusted != NULL);
  t = NULL;
  CHECK_STATUS(tk_client_get_token(untrusted, API, NULL, NULL, &t), TK_STATUS_NETWORK);
  CHECK(t == NULL);
  last_error e = get_last_error();
  CHECK_STR(e.kind, "network");
  CHECK(strstr(e.message, "unknown issuer") != NULL);
  CHECK(strstr(e.message, fixture("TK_TLS_CLIENT_SECRET")) == NULL);
  tk_client_free(untrusted);
}

static void test_tls_text_setters_reject_bad_arguments_on_every_config(void) {
  tk_config *cfg = secret_config();
  tk_verifier_config *vc = NULL;
  tk_signin_config *sc = NULL;
  CHECK_STATUS(tk_verifier_config_new(fixture("TK_ISSUER_URL"), API, &vc), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_new(fixture("TK_ISSUER_URL"), fixture("TK_PUBLIC_CLIENT_ID"),
                                    fixture("TK_REDIRECT_URI"), &sc),
               TK_STATUS_OK);
  REQUIRE(cfg != NULL && vc != NULL && sc != NULL);
  CHECK_STATUS(tk_config_set_http_text(NULL, "ca_file", "x"), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_config_set_http_text(cfg, NULL, "x"), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_config_set_http_text(cfg, "ca_file", NULL), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_config_set_http_text(cfg, "ca_file", "\xff"), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_set_http_text(cfg, "nope", "x"), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_config_set_http_text(cfg, "ca_file", ""), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_config_set_http_text(cfg, "connect_timeout", "5"), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_config_set_http(cfg, "ca_file", 1), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_verifier_config_set_http_text(vc, "nope", "x"), TK_STATUS_CONFIG);
  CHECK_STATUS(tk_signin_config_set_http_text(sc, "ca_file", NULL), TK_STATUS_NULL_PARAMETER);

  /* The file is read when the client is built: a missing one is a config error then. */
  const char *missing = "/nonexistent/tokenkeeper-ca.pem";
  CHECK_STATUS(tk_config_set_http_text(cfg, "ca_file", missing), TK_STATUS_OK);
  CHECK_STATUS(tk_verifier_config_set_http_text(vc, "ca_file", missing), TK_STATUS_OK);
  CHECK_STATUS(tk_signin_config_set_http_text(sc, "ca_file", missing), TK_STATUS_OK);
  tk_client *c = NULL;
  tk_verifier *v = NULL;
  tk_signin_client *s = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "ca_file") != NULL);
  CHECK_STATUS(tk_verifier_new(vc, &v), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "ca_file") != NULL);
  CHECK_STATUS(tk_signin_client_new(sc, &s), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "ca_file") != NULL);
  CHECK(c == NULL && v == NULL && s == NULL);
  tk_config_free(cfg);
  tk_verifier_config_free(vc);
  tk_signin_config_free(sc);
}

const test_case TLS_TESTS[] = {
    {"tls_a_token_with_ca_file_and_a_typed_error_without",
     test_tls_a_token_with_ca_file_and_a_typed_error_without},
    {"tls_text_setters_reject_bad_arguments_on_every_config",
     test_tls_text_setters_reject_bad_arguments_on_every_config},
};
const size_t TLS_TEST_COUNT = sizeof TLS_TESTS / sizeof TLS_TESTS[0];
