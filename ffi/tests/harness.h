/*
 * A tiny test harness for the C tests: checks, a test table, the local issuer's fixture (from
 * environment variables set by ffi/test.sh), and a tiny HTTP/1.1 client over a plain loopback
 * socket for the issuer's admin API and for "the browser" of the sign-in tests (no redirect
 * followed). Shared by the test files: the helpers are static inline, the failure counter is
 * defined once in test_tokenkeeper.c.
 */
#ifndef TK_HARNESS_H
#define TK_HARNESS_H

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeeper.h"

/* ---- checks ---------------------------------------------------------------------------- */

extern int g_failed_checks;

static inline void describe_last_error(char *out, size_t len) {
  size_t n = 0;
  char msg[512] = "";
  if (tk_last_error_message(msg, sizeof msg, &n) != TK_STATUS_OK) {
    snprintf(msg, sizeof msg, "(message of %zu bytes)", n);
  }
  snprintf(out, len, "%s: %s", tk_status_str(tk_last_error_status()), msg);
}

#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);       \
      g_failed_checks++;                                                                \
    }                                                                                   \
  } while (0)

/* Evaluates `expr` once; on a mismatch prints both statuses and the thread's last error. */
#define CHECK_STATUS(expr, want)                                                        \
  do {                                                                                  \
    tk_status got_ = (expr);                                                            \
    if (got_ != (want)) {                                                               \
      char why_[700];                                                                   \
      describe_last_error(why_, sizeof why_);                                           \
      fprintf(stderr, "    %s:%d: %s returned %s, expected %s (last error %s)\n",       \
              __FILE__, __LINE__, #expr, tk_status_str(got_), tk_status_str(want),      \
              why_);                                                                    \
      g_failed_checks++;                                                                \
    }                                                                                   \
  } while (0)

#define CHECK_STR(got, want)                                                            \
  do {                                                                                  \
    const char *g_ = (got), *w_ = (want);                                               \
    if (strcmp(g_, w_) != 0) {                                                          \
      fprintf(stderr, "    %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__,  \
              #got, g_, w_);                                                            \
      g_failed_checks++;                                                                \
    }                                                                                   \
  } while (0)

/* Stops the current test when a check it depends on failed. */
#define REQUIRE(cond)                                                                   \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      fprintf(stderr, "    %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);     \
      g_failed_checks++;                                                                \
      return;                                                                           \
    }                                                                                   \
  } while (0)

typedef struct {
  const char *name;
  void (*fn)(void);
} test_case;

/* The tests of test_signin.c, run after those of test_tokenkeeper.c; then those of
 * test_shared.c. */
extern const test_case SIGNIN_TESTS[];
extern const size_t SIGNIN_TEST_COUNT;
extern const test_case SHARED_TESTS[];
extern const size_t SHARED_TEST_COUNT;
/* The token exchange tests of test_exchange.c, after those of test_shared.c. */
extern const test_case EXCHANGE_TESTS[];
extern const size_t EXCHANGE_TEST_COUNT;
/* The ca_file tests of test_tls.c, last. */
extern const test_case TLS_TESTS[];
extern const size_t TLS_TEST_COUNT;

/* Runs the tests whose name contains one of the filters (all without filters). */
static inline int run_tests(const test_case *tests, size_t count, int argc, char **argv,
                     const char *label) {
  int passed = 0, failed = 0;
  for (size_t i = 0; i < count; i++) {
    int selected = argc <= 1;
    for (int a = 1; a < argc && !selected; a++) {
      selected = strstr(tests[i].name, argv[a]) != NULL;
    }
    if (!selected) continue;
    int before = g_failed_checks;
    tests[i].fn();
    if (g_failed_checks == before) {
      printf("ok   %s\n", tests[i].name);
      passed++;
    } else {
      printf("FAIL %s\n", tests[i].name);
      failed++;
    }
    fflush(stdout);
  }
  printf("%s: %d passed, %d failed\n", label, passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

/* ---- the calling thread's last error -------------------------------------------------------- */

typedef tk_status (*error_str_fn)(char *, size_t, size_t *);

static inline void error_str(error_str_fn fn, char *buf, size_t len) {
  size_t n = 0;
  if (fn(buf, len, &n) != TK_STATUS_OK) snprintf(buf, len, "<%zu bytes>", n);
}

/* The details of the calling thread's last error. */
typedef struct {
  tk_status status;
  char kind[32]; /* the core's kind, "" for the binding's own failures */
  char message[1024];
  char oauth_error[128];
  char description[512];
  char check[64];
  tk_token_check check_code;
  uint16_t http_status;
  int64_t retry_after_ms;
  bool transient;
} last_error;

static inline last_error get_last_error(void) {
  last_error e;
  memset(&e, 0, sizeof e);
  e.status = tk_last_error_status();
  error_str(tk_last_error_kind, e.kind, sizeof e.kind);
  error_str(tk_last_error_message, e.message, sizeof e.message);
  error_str(tk_last_error_oauth_error, e.oauth_error, sizeof e.oauth_error);
  error_str(tk_last_error_description, e.description, sizeof e.description);
  error_str(tk_last_error_token_check, e.check, sizeof e.check);
  CHECK_STATUS(tk_last_error_token_check_code(&e.check_code), TK_STATUS_OK);
  CHECK_STATUS(tk_last_error_http_status(&e.http_status), TK_STATUS_OK);
  CHECK_STATUS(tk_last_error_retry_after_ms(&e.retry_after_ms), TK_STATUS_OK);
  CHECK_STATUS(tk_last_error_is_transient(&e.transient), TK_STATUS_OK);
  return e;
}

/* ---- fixture ----------------------------------------------------------------------------- */

static inline const char *fixture(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') {
    fprintf(stderr, "missing environment variable %s (run the tests through ffi/test.sh)\n",
            name);
    exit(2);
  }
  return v;
}

/* A client-secret config of the fixture's client (exits when that fails). */
static inline tk_config *secret_config(void) {
  tk_config *cfg = NULL;
  tk_status s = tk_config_new(fixture("TK_ISSUER_URL"), fixture("TK_CLIENT_ID"),
                              fixture("TK_CLIENT_SECRET"), &cfg);
  if (s != TK_STATUS_OK) {
    fprintf(stderr, "tk_config_new failed: %s\n", tk_status_str(s));
    exit(2);
  }
  return cfg;
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- HTTP over a loopback socket ------------------------------------------------------- */

/* Copies `src` into `dst` (`len` bytes), truncated and NUL-terminated. */
static inline void copy_str(char *dst, size_t len, const char *src) {
  if (len == 0) return;
  size_t n = strlen(src);
  if (n >= len) n = len - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static inline int issuer_port(void) {
  const char *url = fixture("TK_ISSUER_URL"); /* http://127.0.0.1:PORT */
  const char *colon = strrchr(url, ':');
  return colon ? atoi(colon + 1) : 0;
}

typedef struct {
  int status;          /* -1 when there was no HTTP answer */
  char location[4096]; /* the Location header, "" when none */
  char body[16384];
} http_reply;

/*
 * One HTTP/1.1 request to 127.0.0.1:`port`, `target` being the path and query. Bounded: 5 s
 * socket timeouts, one request, the connection closed; redirects are not followed.
 */
static inline void http_request(int port, const char *method, const char *target,
                                const char *json, http_reply *out) {
  memset(out, 0, sizeof *out);
  out->status = -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return;
  }
  char req[8192];
  size_t jlen = json ? strlen(json) : 0;
  int n = snprintf(req, sizeof req,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   method, target, port, jlen, json ? json : "");
  if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
    close(fd);
    return;
  }
  char resp[32768];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
    if (r <= 0) break;
    got += (size_t)r;
    if (got == sizeof resp - 1) break;
  }
  close(fd);
  resp[got] = '\0';
  int status = -1;
  if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) return;
  out->status = status;
  char *end = strstr(resp, "\r\n\r\n");
  if (end == NULL) return;
  *end = '\0'; /* headers only, for the search below */
  for (char *line = strstr(resp, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "location:", 9) == 0) {
      const char *v = line + 11;
      while (*v == ' ') v++;
      size_t vlen = strcspn(v, "\r\n");
      if (vlen < sizeof out->location) {
        memcpy(out->location, v, vlen);
        out->location[vlen] = '\0';
      }
      break;
    }
  }
  copy_str(out->body, sizeof out->body, end + 4);
}

/*
 * "The browser": GETs an http://127.0.0.1:PORT/... URL without following redirects; returns
 * the HTTP status and copies the Location header into `location`.
 */
static inline int browse(const char *url, char *location, size_t len) {
  const char *prefix = "http://127.0.0.1:";
  if (strncmp(url, prefix, strlen(prefix)) != 0) return -1;
  const char *p = url + strlen(prefix);
  int port = atoi(p);
  const char *target = strchr(p, '/');
  if (target == NULL) return -1;
  http_reply reply;
  http_request(port, "GET", target, NULL, &reply);
  copy_str(location, len, reply.location);
  return reply.status;
}

/* A request to the issuer; returns the status (or -1) and copies the body into `body`. */
static inline int admin_http(const char *method, const char *path, const char *json, char *body,
                             size_t body_len) {
  http_reply reply;
  http_request(issuer_port(), method, path, json, &reply);
  if (body && body_len) copy_str(body, body_len, reply.body);
  return reply.status;
}

/* Requests an issuer's endpoint or event received (GET /__admin/stats: "token" = requests to
 * /oauth/token, "grant:refresh_token", "refresh_reuse", "jwks"...), -1 on failure. */
static inline long issuer_count(const char *name) {
  char body[4096], key[128];
  if (admin_http("GET", "/__admin/stats", NULL, body, sizeof body) != 200) return -1;
  snprintf(key, sizeof key, "\"%s\":", name);
  const char *p = strstr(body, key);
  return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

static inline long token_requests(void) { return issuer_count("token"); }

/* Queues a fault (JSON, see tests/issuer/src/faults.rs) for the next token requests. */
static inline int inject_fault(const char *json) {
  return admin_http("POST", "/__admin/faults", json, NULL, 0) == 200;
}

/* Drops queued faults and zeroes the counters. */
static inline int reset_issuer(void) {
  return admin_http("POST", "/__admin/reset", "{}", NULL, 0) == 200;
}

/* A token of `claims` (JSON object) signed by the issuer's active key, with `header` (JSON
 * object or NULL) merged over {alg, typ, kid}: POST /__admin/sign. 1 on success. */
static inline int admin_sign(const char *claims, const char *header, char *token, size_t len) {
  char req[4096], body[8192];
  snprintf(req, sizeof req, "{\"claims\":%s,\"header\":%s}", claims, header ? header : "null");
  if (admin_http("POST", "/__admin/sign", req, body, sizeof body) != 200) return 0;
  const char *p = strstr(body, "\"token\":\"");
  if (p == NULL) return 0;
  p += 9;
  size_t n = strcspn(p, "\"");
  if (n + 1 > len) return 0;
  memcpy(token, p, n);
  token[n] = '\0';
  return 1;
}

/* The private_key_jwt client of the fixture's RSA key (RS256), the cache off (so each call
 * signs an assertion and sends it), `attempts` tries with a short backoff; NULL (with a failed
 * check) when that fails. */
static inline tk_client *rsa_jwt_client(int attempts) {
  tk_config *cfg = NULL;
  tk_client *c = NULL;
  CHECK_STATUS(tk_config_new_private_key_jwt(fixture("TK_ISSUER_URL"), fixture("TK_JWT_CLIENT_ID"),
                                             fixture("TK_JWT_RSA_KEY"), "RS256", NULL, &cfg),
               TK_STATUS_OK);
  if (cfg == NULL) return NULL;
  CHECK_STATUS(tk_config_set_cache(cfg, "enabled", 0), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_http(cfg, "max_attempts", attempts), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_http(cfg, "initial_backoff", 0.01), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_http(cfg, "max_backoff", 0.05), TK_STATUS_OK);
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  tk_config_free(cfg);
  return c;
}

/* Under valgrind (ffi/test.sh's third run) everything is some 20 times slower. */
static inline int under_valgrind(void) {
  const char *label = getenv("TK_TEST_LABEL");
  return label != NULL && strcmp(label, "valgrind") == 0;
}

/* ---- child processes ---------------------------------------------------------------------- */

/* Reads from `fd` until EOF, at most `len - 1` bytes, for at most `secs` seconds; 1 on EOF. */
static inline int read_until_eof(int fd, char *buf, size_t len, double secs) {
  size_t got = 0;
  double deadline = now_s() + secs;
  buf[0] = '\0';
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0) return 0;
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, (int)(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    ssize_t n = read(fd, buf + got, len - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0;
    got += (size_t)n;
    buf[got] = '\0';
    if (got == len - 1) return 0;
  }
}

/* Waits for `pid` at most `secs` seconds (then kills it); its wait status, -1 when killed. */
static inline int wait_bounded(pid_t pid, double secs) {
  double deadline = now_s() + secs;
  int status = 0;
  while (now_s() < deadline) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

/* base64url without padding of `n` bytes of `in`, into `out` (room for 4n/3 + 1). */
static inline void base64url(const unsigned char *in, size_t n, char *out) {
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = A[(v >> 18) & 63];
    out[o++] = A[(v >> 12) & 63];
    if (i + 1 < n) out[o++] = A[(v >> 6) & 63];
    if (i + 2 < n) out[o++] = A[v & 63];
  }
  out[o] = '\0';
}

#endif /* TK_HARNESS_H */
