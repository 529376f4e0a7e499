/*
 * get_token: prints an access token for an audience, from AUTH0_DOMAIN, AUTH0_CLIENT_ID,
 * AUTH0_CLIENT_SECRET (and AUTH0_AUDIENCE when no audience is given).
 *
 *   cc get_token.c $(pkg-config --cflags --libs tokenkeeper) -o get_token
 *   ./get_token https://api.example.com "read:things"
 *   curl -H "Authorization: Bearer $(./get_token https://api.example.com)" ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeeper.h"

/* Prints what went wrong on this thread, from tk_last_error_*. */
static int fail(const char *what, tk_status status) {
  char message[1024] = "", oauth_error[128] = "";
  size_t n = 0;
  uint16_t http_status = 0;
  int64_t retry_after_ms = -1;
  tk_last_error_message(message, sizeof message, &n);
  tk_last_error_oauth_error(oauth_error, sizeof oauth_error, &n);
  tk_last_error_http_status(&http_status);
  tk_last_error_retry_after_ms(&retry_after_ms);
  fprintf(stderr, "get_token: %s: %s: %s\n", what, tk_status_str(status), message);
  if (oauth_error[0]) fprintf(stderr, "  OAuth error %s (HTTP %u)\n", oauth_error, http_status);
  if (retry_after_ms >= 0) fprintf(stderr, "  retry after %lld ms\n", (long long)retry_after_ms);
  return 1;
}

int main(int argc, char **argv) {
  const char *audience = argc > 1 ? argv[1] : NULL; /* NULL: AUTH0_AUDIENCE */
  const char *scope = argc > 2 ? argv[2] : NULL;
  if (strcmp(tk_version(), TK_VERSION) != 0) {
    fprintf(stderr, "get_token: header %s, library %s\n", TK_VERSION, tk_version());
    return 1;
  }

  tk_config *config = NULL;
  tk_status s = tk_config_from_env(&config);
  if (s != TK_STATUS_OK) return fail("configuration", s);
  tk_config_set_request_timeout_ms(config, 10000);

  tk_client *client = NULL;
  s = tk_client_new(config, &client);
  tk_config_free(config); /* the client keeps its own copy */
  if (s != TK_STATUS_OK) return fail("client", s);

  tk_token *token = NULL;
  s = tk_client_get_token(client, audience, scope, NULL, &token);
  if (s != TK_STATUS_OK) {
    tk_client_free(client);
    return fail("token", s);
  }

  /* Ask for the length, then copy: C owns the buffer, the library never hands out memory. */
  size_t len = 0;
  tk_token_access_token(token, NULL, 0, &len);
  char *text = malloc(len);
  if (text == NULL || tk_token_access_token(token, text, len, &len) != TK_STATUS_OK) {
    free(text);
    tk_token_free(token);
    tk_client_free(client);
    return 1;
  }
  printf("%s\n", text);

  memset(text, 0, len); /* the token is a secret */
  free(text);
  tk_token_free(token);
  tk_client_free(client);
  return 0;
}
