/* The cost of a cache hit from C (issue 13): tk_client_get_token + tk_token_authorization_header
 * into a caller buffer + tk_token_free, and tk_request_authorization_header of a prepared request (issue 22), against the local issuer, beside a strcmp lookup in a
 * 4-entry table with a memcpy of the ready header, on 1 and 8 threads. Run by scripts/bench.sh
 * (scripts/bench-bindings.sh c), which starts the issuer and passes its fixture in TK_*
 * variables. Prints figures; exits non-zero only when a call fails. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenkeeper.h"

static const char *API = "https://api.example.com";
static tk_client *client;
static char ready[4096];
static const char *keys[4] = {"https://a.example.com", "https://b.example.com",
                              "https://c.example.com", "https://api.example.com"};

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (!v) {
    fprintf(stderr, "%s is not set\n", name);
    exit(2);
  }
  return v;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void hit(char *buf, size_t len) {
  tk_token *t = NULL;
  size_t n = 0;
  if (tk_client_get_token(client, API, "read:things", NULL, &t) != TK_STATUS_OK ||
      tk_token_authorization_header(t, buf, len, &n) != TK_STATUS_OK) {
    fprintf(stderr, "a hit failed\n");
    exit(1);
  }
  tk_token_free(t);
}

/* The same hit through a prepared request (issue 22): one call, no strings read, no handle. */
static tk_request *prepared;
static void prepared_hit(char *buf, size_t len) {
  size_t n = 0;
  if (tk_request_authorization_header(prepared, buf, len, &n) != TK_STATUS_OK) {
    fprintf(stderr, "a prepared hit failed\n");
    exit(1);
  }
}

static volatile size_t sink;

static void baseline(char *buf, size_t len) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(keys[i], API) == 0) {
      size_t n = strlen(ready) + 1;
      if (n <= len) memcpy(buf, ready, n);
      sink += n;
      return;
    }
  }
}

typedef void (*op)(char *, size_t);

static double ns_per_call(op f, long n) {
  char buf[4096];
  double best[7];
  for (long i = 0; i < n; i++) f(buf, sizeof buf); /* warm-up */
  for (int r = 0; r < 7; r++) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) f(buf, sizeof buf);
    best[r] = (now_ns() - t0) / n;
  }
  for (int i = 0; i < 7; i++) /* median */
    for (int j = i + 1; j < 7; j++)
      if (best[j] < best[i]) {
        double x = best[i];
        best[i] = best[j];
        best[j] = x;
      }
  return best[3];
}

static long per_thread;
static void *worker(void *arg) {
  char buf[4096];
  (void)arg;
  for (long i = 0; i < per_thread; i++) hit(buf, sizeof buf);
  return NULL;
}

static double threads_rate(int threads, long n) {
  pthread_t ts[8];
  per_thread = n;
  double t0 = now_ns();
  for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, worker, NULL);
  for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);
  return threads * (double)n / ((now_ns() - t0) / 1e9);
}

int main(void) {
  tk_config *cfg = NULL;
  if (tk_config_new(env("TK_URL"), env("TK_CLIENT_ID"), env("TK_CLIENT_SECRET"), &cfg) !=
          TK_STATUS_OK ||
      tk_client_new(cfg, &client) != TK_STATUS_OK) {
    fprintf(stderr, "cannot make a client\n");
    return 1;
  }
  tk_config_free(cfg);
  hit(ready, sizeof ready);
  long n = 1000000;
  double base = ns_per_call(baseline, n * 10);
  double ours = ns_per_call(hit, n);
  if (tk_client_prepare(client, API, "read:things", NULL, &prepared) != TK_STATUS_OK) {
    fprintf(stderr, "cannot prepare the request\n");
    return 1;
  }
  double ours_prepared = ns_per_call(prepared_hit, n);
  double one = threads_rate(1, n), eight = threads_rate(8, n / 4);
  tk_stats s;
  memset(&s, 0, sizeof s);
  if (tk_client_stats(client, &s, sizeof s) != TK_STATUS_OK || s.tokens_minted != 1) {
    fprintf(stderr, "expected one token for every call\n");
    return 1;
  }
  printf("c baseline strcmp table + memcpy: %.1f ns/call\n", base);
  printf("c hit tk_client_get_token + tk_token_authorization_header: %.1f ns/call (%.1fx the baseline)\n",
         ours, ours / base);
  printf("c hit tk_request_authorization_header (prepared): %.1f ns/call (%.1fx the baseline)\n",
         ours_prepared, ours_prepared / base);
  printf("c hit 1 thread: %.0f calls/s; 8 threads: %.0f calls/s in all (%.2fx of 1)\n", one, eight,
         eight / one);
  tk_request_free(prepared);
  tk_client_free(client);
  return 0;
}
