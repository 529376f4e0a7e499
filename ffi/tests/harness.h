/*
 * A tiny test harness for the C tests: checks, a test table, the local issuer's fixture (from
 * environment variables set by ffi/test.sh) and its admin API over a plain loopback socket.
 */
#ifndef TK_HARNESS_H
#define TK_HARNESS_H

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeeper.h"

/* ---- checks ---------------------------------------------------------------------------- */

static int g_failed_checks;

static void describe_last_error(char *out, size_t len) {
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

/* Runs the tests whose name contains one of the filters (all without filters). */
static int run_tests(const test_case *tests, size_t count, int argc, char **argv,
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

/* ---- fixture ----------------------------------------------------------------------------- */

static const char *fixture(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') {
    fprintf(stderr, "missing environment variable %s (run the tests through ffi/test.sh)\n",
            name);
    exit(2);
  }
  return v;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the issuer's admin API ------------------------------------------------------------- */

static int issuer_port(void) {
  const char *url = fixture("TK_ISSUER_URL"); /* http://127.0.0.1:PORT */
  const char *colon = strrchr(url, ':');
  return colon ? atoi(colon + 1) : 0;
}

/*
 * One HTTP/1.1 request to the issuer on 127.0.0.1; returns the status (or -1) and copies the
 * body into `body`. Bounded: 5 s socket timeouts, one request, connection closed.
 */
static int admin_http(const char *method, const char *path, const char *json, char *body,
                      size_t body_len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)issuer_port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  char req[4096];
  size_t jlen = json ? strlen(json) : 0;
  int n = snprintf(req, sizeof req,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   method, path, jlen, json ? json : "");
  if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
    close(fd);
    return -1;
  }
  char resp[16384];
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
  if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) return -1;
  const char *start = strstr(resp, "\r\n\r\n");
  if (body && body_len) {
    snprintf(body, body_len, "%s", start ? start + 4 : "");
  }
  return status;
}

/* Requests the issuer's token endpoint received (GET /__admin/stats, field "token"). */
static long token_requests(void) {
  char body[4096];
  if (admin_http("GET", "/__admin/stats", NULL, body, sizeof body) != 200) return -1;
  const char *p = strstr(body, "\"token\":");
  return p ? strtol(p + 8, NULL, 10) : 0;
}

/* Queues a fault (JSON, see tests/issuer/src/faults.rs) for the next token requests. */
static int inject_fault(const char *json) {
  return admin_http("POST", "/__admin/faults", json, NULL, 0) == 200;
}

/* Drops queued faults and zeroes the counters. */
static int reset_issuer(void) {
  return admin_http("POST", "/__admin/reset", "{}", NULL, 0) == 200;
}

#endif /* TK_HARNESS_H */
