/*
 * verify_token: verifies an access token for an API of the tenant at AUTH0_DOMAIN (signature
 * with the tenant's JWKS, issuer, audience, expiry) and prints its claims as JSON; a rejected
 * token prints which check failed and exits with 1.
 *
 *   cc verify_token.c $(pkg-config --cflags --libs tokenkeeper) -o verify_token
 *   ./verify_token https://api.example.com "$(./get_token https://api.example.com)"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeeper.h"

static int fail(const char *what, tk_status status) {
  char message[1024] = "";
  size_t n = 0;
  tk_last_error_message(message, sizeof message, &n);
  if (status == TK_STATUS_INVALID_TOKEN) {
    tk_token_check check = TK_TOKEN_CHECK_NONE;
    tk_last_error_token_check_code(&check);
    fprintf(stderr, "verify_token: rejected (%s): %s\n", tk_token_check_str(check), message);
  } else {
    fprintf(stderr, "verify_token: %s: %s: %s\n", what, tk_status_str(status), message);
  }
  return 1;
}

int main(int argc, char **argv) {
  const char *domain = getenv("AUTH0_DOMAIN");
  if (argc != 3 || domain == NULL) {
    fprintf(stderr, "usage: AUTH0_DOMAIN=tenant.auth0.com verify_token AUDIENCE TOKEN\n");
    return 2;
  }
  tk_verifier_config *config = NULL;
  tk_status s = tk_verifier_config_new(domain, argv[1], &config);
  if (s != TK_STATUS_OK) return fail("configuration", s);
  tk_verifier_config_set_leeway_secs(config, 30);

  tk_verifier *verifier = NULL;
  s = tk_verifier_new(config, &verifier);
  tk_verifier_config_free(config); /* the verifier keeps its own copy */
  if (s != TK_STATUS_OK) return fail("verifier", s);

  tk_claims *claims = NULL;
  s = tk_verifier_verify(verifier, argv[2], &claims);
  if (s != TK_STATUS_OK) {
    tk_verifier_free(verifier);
    return fail("verify", s);
  }

  /* Ask for the length, then copy into a buffer C owns. */
  size_t len = 0;
  tk_claims_json(claims, NULL, 0, &len);
  char *json = malloc(len);
  if (json != NULL && tk_claims_json(claims, json, len, &len) == TK_STATUS_OK) {
    printf("%s\n", json);
  }
  free(json);
  tk_claims_free(claims);
  tk_verifier_free(verifier);
  return 0;
}
