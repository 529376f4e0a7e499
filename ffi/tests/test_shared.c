/*
 * The shared cache level (tk_config_set_shared_cache, the file backend) against the local
 * issuer: the scenarios F-A..F-D every surface runs, with real files in directories made by
 * mkdtemp (removed afterwards) and, for F-B, eight fork()ed processes. Linked into the program
 * of test_tokenkeeper.c, which runs SHARED_TESTS last.
 */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define API "https://api.example.com"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A new private directory under $TMPDIR (or /tmp), made by mkdtemp, into `out`; 1 on success. */
static int make_temp_dir(char *out, size_t len) {
  const char *base = getenv("TMPDIR");
  if (base == NULL || *base == '\0') base = "/tmp";
  int n = snprintf(out, len, "%s/tokenkeeper-c-test-XXXXXX", base);
  if (n < 0 || (size_t)n >= len) return 0;
  return mkdtemp(out) != NULL;
}

/* Removes `dir` and the files in it (the shared level writes no subdirectories); 1 when it is
 * gone. */
static int remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return errno == ENOENT;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  return rmdir(dir) == 0;
}

/* The number of files in `dir` (-1 when it cannot be read). */
static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  }
  closedir(d);
  return n;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* `needle` occurs in the `n` bytes of `hay`. */
static int bytes_contain(const unsigned char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  if (k == 0 || k > n) return 0;
  for (size_t i = 0; i + k <= n; i++) {
    if (memcmp(hay + i, needle, k) == 0) return 1;
  }
  return 0;
}

/* The whole content of `path` (malloc'ed, `*n` bytes), NULL on failure. */
static unsigned char *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 4096, got = 0;
  unsigned char *buf = malloc(cap);
  while (buf != NULL) {
    size_t r = fread(buf + got, 1, cap - got, f);
    got += r;
    if (r == 0) break;
    if (got == cap) {
      unsigned char *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  *n = got;
  return buf;
}

/* A config whose process cache is off, so every call goes to the shared level `spec`. */
static tk_config *shared_config(const char *spec) {
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache(cfg, "enabled", 0), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_shared_cache(cfg, spec), TK_STATUS_OK);
  return cfg;
}

/* "file:`dir`" into `out`. */
static const char *file_spec(char *out, size_t len, const char *dir) {
  snprintf(out, len, "file:%s", dir);
  return out;
}

/* A client of shared_config("file:`dir`"); NULL (with a failed check) when that fails. */
static tk_client *shared_client(const char *dir) {
  char spec[1100];
  tk_config *cfg = shared_config(file_spec(spec, sizeof spec, dir));
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  tk_config_free(cfg);
  return c;
}

/* The token's access token, malloc'ed; NULL on failure. */
static char *access_token(const tk_token *t) {
  size_t n = 0;
  if (t == NULL || tk_token_access_token(t, NULL, 0, &n) != TK_STATUS_BUFFER_TOO_SMALL) {
    return NULL;
  }
  char *buf = malloc(n);
  if (buf != NULL && tk_token_access_token(t, buf, n, &n) != TK_STATUS_OK) {
    free(buf);
    buf = NULL;
  }
  return buf;
}

/* A token of `c` for API (`scope` may be NULL) and its access token (malloc'ed, or NULL). */
static char *get_access_token(tk_client *c, const char *scope) {
  tk_token *t = NULL;
  CHECK_STATUS(tk_client_get_token(c, API, scope, NULL, &t), TK_STATUS_OK);
  char *jwt = access_token(t);
  tk_token_free(t);
  return jwt;
}

static tk_stats stats_of(const tk_client *c) {
  tk_stats st;
  memset(&st, 0xff, sizeof st);
  CHECK_STATUS(tk_client_stats(c, &st, sizeof st), TK_STATUS_OK);
  return st;
}

static int same_str(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* ---- F-A: shared within one process, sealed and private ---------------------------------- */

static void test_fa_two_clients_share_one_token_sealed_and_private(void) {
  char dir[512];
  REQUIRE(make_temp_dir(dir, sizeof dir));
  /* Wider than it should be: the core makes it private. */
  CHECK(chmod(dir, 0755) == 0);
  long before = token_requests();
  tk_client *a = shared_client(dir);
  tk_client *b = shared_client(dir);
  char *t1 = a ? get_access_token(a, "read:things") : NULL;
  char *t2 = b ? get_access_token(b, "read:things") : NULL;
  CHECK(t1 != NULL && t2 != NULL);
  CHECK(same_str(t1, t2));
  CHECK(token_requests() == before + 1); /* the second client read the shared entry */
  if (a && b) {
    tk_stats sa = stats_of(a), sb = stats_of(b);
    CHECK(sa.tokens_minted == 1 && sa.shared_hits == 0 && sa.shared_errors == 0);
    CHECK(sb.tokens_minted == 0);
    CHECK(sb.shared_hits == 1);
    CHECK(sb.shared_errors == 0);
  }

  struct stat st;
  CHECK(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == 0700);
  const char *secrets[] = {t1 ? t1 : "", fixture("TK_CLIENT_SECRET"), fixture("TK_CLIENT_ID"),
                           API};
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  int files = 0, entries = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    files++;
    size_t nlen = strlen(e->d_name);
    if (nlen < 5 || strcmp(e->d_name + nlen - 5, ".lock") != 0) entries++;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    if ((st.st_mode & 0777) != 0600) {
      fprintf(stderr, "    %s is mode %03o\n", e->d_name, (unsigned)(st.st_mode & 0777));
      g_failed_checks++;
    }
    size_t n = 0;
    unsigned char *body = read_file(path, &n);
    CHECK(body != NULL);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
      if (strstr(e->d_name, secrets[i]) != NULL || (body && bytes_contain(body, n, secrets[i]))) {
        fprintf(stderr, "    %s shows secret %zu in plain text\n", e->d_name, i);
        g_failed_checks++;
      }
    }
    free(body);
  }
  if (d != NULL) closedir(d);
  CHECK(files >= 2);  /* the entry and its lock */
  CHECK(entries == 1);
  free(t1);
  free(t2);
  tk_client_free(a);
  tk_client_free(b);
  CHECK(remove_tree(dir));
}

/* ---- F-B: 8 processes on a cold key make 1 request --------------------------------------- */

#define CHILDREN 8

/* One forked child: its own client from `cfg`, waits for the start (EOF on `go_fd`), one
 * token, "STATUS ACCESS_TOKEN\n" to `out_fd`, _exit. Only the library and the C library. */
_Noreturn static void fb_child(const tk_config *cfg, int go_fd, int out_fd, double bound) {
  tk_client *c = NULL;
  tk_token *t = NULL;
  char *jwt = NULL;
  tk_status s = tk_client_new(cfg, &c);
  char byte;
  struct pollfd p = {go_fd, POLLIN, 0};
  if (poll(&p, 1, (int)(bound * 1000)) != 1 || read(go_fd, &byte, 1) != 0) s = TK_STATUS_PANIC;
  if (s == TK_STATUS_OK) s = tk_client_get_token(c, API, NULL, NULL, &t);
  if (s == TK_STATUS_OK) jwt = access_token(t);
  char why[512] = "";
  size_t n = 0;
  if (s != TK_STATUS_OK && tk_last_error_message(why, sizeof why, &n) != TK_STATUS_OK) why[0] = 0;
  char line[8192];
  int len = snprintf(line, sizeof line, "%d %s %s\n", (int)s, jwt ? jwt : "-", why);
  if (len > 0 && (size_t)len < sizeof line) {
    ssize_t w = write(out_fd, line, (size_t)len);
    (void)w;
  }
  free(jwt);
  tk_token_free(t);
  tk_client_free(c);
  _exit(0);
}

static void test_fb_eight_forked_processes_on_a_cold_key_make_one_request(void) {
  double bound = under_valgrind() ? 240 : 30;
  char dir[512], spec[600];
  REQUIRE(make_temp_dir(dir, sizeof dir));
  tk_config *cfg = shared_config(file_spec(spec, sizeof spec, dir));
  /* The lock wait is the request timeout: long enough for the slowest holder (valgrind). */
  CHECK_STATUS(tk_config_set_http(cfg, "request_timeout", 60), TK_STATUS_OK);
  reset_issuer();
  /* The issuer answers after 300 ms, so every child arrives while the fetch is in flight. */
  CHECK(inject_fault("{\"endpoint\":\"token\",\"delay_ms\":300}"));
  long before = token_requests();

  int go[2];
  int piped = pipe(go);
  if (piped != 0) tk_config_free(cfg);
  REQUIRE(piped == 0);
  pid_t pids[CHILDREN];
  int outs[CHILDREN];
  int started = 0;
  fflush(stdout);
  fflush(stderr);
  for (; started < CHILDREN; started++) {
    int p[2];
    if (pipe(p) != 0) break;
    pid_t pid = fork();
    if (pid == 0) {
      close(go[1]);
      close(p[0]);
      fb_child(cfg, go[0], p[1], bound);
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      break;
    }
    pids[started] = pid;
    outs[started] = p[0];
  }
  CHECK(started == CHILDREN);
  /* All of them at once: EOF on the start pipe. */
  close(go[0]);
  close(go[1]);

  double deadline = now_s() + bound;
  char lines[CHILDREN][8192];
  int eof[CHILDREN];
  for (int i = 0; i < started; i++) {
    double left = deadline - now_s();
    eof[i] = read_until_eof(outs[i], lines[i], sizeof lines[i], left > 0.1 ? left : 0.1);
    close(outs[i]);
  }
  for (int i = 0; i < started; i++) {
    double left = deadline - now_s();
    int status = wait_bounded(pids[i], eof[i] && left > 1 ? left : 1);
    CHECK(eof[i]);
    CHECK(status != -1 && WIFEXITED(status));
    /* Under valgrind the child's own leak check may set its exit code (99): not ours. */
    if (status != -1 && WIFEXITED(status) && !under_valgrind()) CHECK(WEXITSTATUS(status) == 0);
  }
  long requests = token_requests() - before;
  CHECK(requests == 1); /* one process fetched, seven read */
  if (requests != 1) fprintf(stderr, "    %ld token requests\n", requests);

  static char first[8192];
  first[0] = '\0';
  for (int i = 0; i < started; i++) {
    int s = -1;
    static char jwt[8192];
    jwt[0] = '\0';
    if (sscanf(lines[i], "%d %8191s", &s, jwt) != 2 || s != TK_STATUS_OK) {
      fprintf(stderr, "    child %d said \"%s\"\n", i, lines[i]);
      g_failed_checks++;
      continue;
    }
    if (first[0] == '\0') copy_str(first, sizeof first, jwt);
    CHECK(strcmp(jwt, first) == 0); /* the same token for all */
  }

  /* The parent reads what they published: the same token, no request. */
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  tk_config_free(cfg);
  if (c != NULL) {
    char *mine = get_access_token(c, NULL);
    CHECK(same_str(mine, first));
    CHECK(stats_of(c).shared_hits == 1);
    free(mine);
  }
  CHECK(token_requests() == before + 1);
  tk_client_free(c);
  CHECK(remove_tree(dir));
}

/* ---- F-C: an unusable directory never fails get_token ------------------------------------ */

static void test_fc_an_unusable_directory_never_fails_get_token(void) {
  char dir[512], file[600], spec[700];
  REQUIRE(make_temp_dir(dir, sizeof dir));
  snprintf(file, sizeof file, "%s/not-a-directory", dir);
  FILE *f = fopen(file, "w");
  CHECK(f != NULL && fputs("not a directory", f) >= 0);
  if (f) fclose(f);

  /* A regular file where the directory should be: the client is built, and fetches. */
  tk_config *cfg = shared_config(file_spec(spec, sizeof spec, file));
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  tk_config_free(cfg);
  REQUIRE(c != NULL);
  long before = token_requests();
  char *t1 = get_access_token(c, NULL);
  char *t2 = get_access_token(c, NULL);
  CHECK(t1 != NULL && t2 != NULL);
  CHECK(token_requests() == before + 2);
  tk_stats st = stats_of(c);
  CHECK(st.shared_errors >= 1);
  CHECK(st.shared_hits == 0);
  CHECK(st.tokens_minted == 2);
  CHECK(st.errors == 0);
  free(t1);
  free(t2);
  tk_client_free(c);
  size_t n = 0;
  unsigned char *body = read_file(file, &n);
  CHECK(body != NULL && n == 15 && memcmp(body, "not a directory", 15) == 0); /* untouched */
  free(body);

  CHECK(remove_tree(dir));
}

/* ---- F-D: bad strings are config errors; NULL and "" turn it off -------------------------- */

static void test_fd_bad_strings_are_config_errors(void) {
  char dir[512], spec[600], off[600], offspec[700];
  REQUIRE(make_temp_dir(dir, sizeof dir));
  tk_config *cfg = secret_config();
  CHECK_STATUS(tk_config_set_cache(cfg, "enabled", 0), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_shared_cache(cfg, file_spec(spec, sizeof spec, dir)), TK_STATUS_OK);
  const char *bad[] = {"redis://127.0.0.1:notaport/0", "nope", "file:", "file:relative/dir"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_STATUS(tk_config_set_shared_cache(cfg, bad[i]), TK_STATUS_CONFIG);
    last_error e = get_last_error();
    CHECK_STR(e.kind, "config");
    CHECK(!e.transient);
    CHECK(strstr(e.message, "shared cache") != NULL || strstr(e.message, "Redis") != NULL);
    if (i == 0) CHECK(strstr(e.message, "Redis") != NULL); /* a bad Redis URL: it says so */
  }
  /* Review N11: neither a mistyped Redis URL nor a domain that fails to parse shows its password. */
  CHECK_STATUS(tk_config_set_shared_cache(cfg, "redis://:hunter2@127.0.0.1:notaport/0"), TK_STATUS_CONFIG);
  CHECK(strstr(get_last_error().message, "hunter2") == NULL);
  {
    tk_config *bad_domain = NULL;
    tk_client *none = NULL;
    tk_status s = tk_config_new("https://user:hunter2@tenant.example.com:99999/", "id", "secret", &bad_domain);
    if (s == TK_STATUS_OK) s = tk_client_new(bad_domain, &none);
    CHECK(s == TK_STATUS_CONFIG && none == NULL);
    last_error e = get_last_error();
    CHECK(strstr(e.message, "hunter2") == NULL && strstr(e.message, "[redacted]") != NULL);
    tk_config_free(bad_domain);
  }
  CHECK_STATUS(tk_config_set_shared_cache(cfg, "caf\xc3\x28"), TK_STATUS_INVALID_UTF8);
  CHECK_STATUS(tk_config_set_shared_cache(NULL, "file"), TK_STATUS_NULL_PARAMETER);
  CHECK_STATUS(tk_config_set_shared_cache(NULL, NULL), TK_STATUS_NULL_PARAMETER);

  /* None of those changed the config: its clients still share through `dir`. */
  long before = token_requests();
  tk_client *a = NULL, *b = NULL;
  CHECK_STATUS(tk_client_new(cfg, &a), TK_STATUS_OK);
  CHECK_STATUS(tk_client_new(cfg, &b), TK_STATUS_OK);
  char *ta = a ? get_access_token(a, "write:things") : NULL;
  char *tb = b ? get_access_token(b, "write:things") : NULL;
  CHECK(same_str(ta, tb));
  CHECK(token_requests() == before + 1);
  if (b) CHECK(stats_of(b).shared_hits == 1);
  free(ta);
  free(tb);
  tk_client_free(a);
  tk_client_free(b);

  /* NULL, "" and blanks turn it off: a directory set before is never created, every call
   * fetches. */
  snprintf(off, sizeof off, "%s/off", dir);
  const char *offs[] = {NULL, "", " "};
  for (int i = 0; i < 3; i++) {
    CHECK_STATUS(tk_config_set_shared_cache(cfg, file_spec(offspec, sizeof offspec, off)),
                 TK_STATUS_OK);
    CHECK_STATUS(tk_config_set_shared_cache(cfg, offs[i]), TK_STATUS_OK);
    tk_client *c = NULL;
    CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
    if (c == NULL) continue;
    before = token_requests();
    char *t1 = get_access_token(c, NULL), *t2 = get_access_token(c, NULL);
    CHECK(t1 != NULL && t2 != NULL);
    CHECK(token_requests() == before + 2);
    tk_stats st = stats_of(c);
    CHECK(st.shared_hits == 0 && st.shared_errors == 0);
    CHECK(!exists(off));
    free(t1);
    free(t2);
    tk_client_free(c);
  }

  /* "file": the default directory, $XDG_CACHE_HOME/tokenkeeper. */
  char xdg[600];
  const char *saved = getenv("XDG_CACHE_HOME");
  char *saved_copy = saved ? strdup(saved) : NULL;
  snprintf(xdg, sizeof xdg, "%s/xdg", dir);
  CHECK(mkdir(xdg, 0700) == 0);
  setenv("XDG_CACHE_HOME", xdg, 1);
  CHECK_STATUS(tk_config_set_shared_cache(cfg, "file"), TK_STATUS_OK);
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  if (saved_copy) {
    setenv("XDG_CACHE_HOME", saved_copy, 1);
  } else {
    unsetenv("XDG_CACHE_HOME");
  }
  free(saved_copy);
  char *t = c ? get_access_token(c, NULL) : NULL;
  CHECK(t != NULL);
  if (c) CHECK(stats_of(c).shared_errors == 0);
  free(t);
  tk_client_free(c);
  char inside[700];
  snprintf(inside, sizeof inside, "%s/tokenkeeper", xdg);
  CHECK(count_files(inside) >= 2); /* an entry and its lock */
  CHECK(remove_tree(inside) && remove_tree(xdg));
  tk_config_free(cfg);
  CHECK(remove_tree(dir));
}

/* TOKENKEEPER_SHARED_CACHE through tk_config_from_env (the core reads it). */
static void test_shared_cache_from_env(void) {
  char dir[512], spec[600], other[700];
  REQUIRE(make_temp_dir(dir, sizeof dir));
  setenv("AUTH0_DOMAIN", fixture("TK_ISSUER_URL"), 1);
  setenv("AUTH0_CLIENT_ID", fixture("TK_CLIENT_ID"), 1);
  setenv("AUTH0_CLIENT_SECRET", fixture("TK_CLIENT_SECRET"), 1);
  setenv("TOKENKEEPER_SHARED_CACHE", "nope", 1);
  tk_config *cfg = NULL;
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_CONFIG);
  CHECK(cfg == NULL);
  CHECK(strstr(get_last_error().message, "nope") != NULL);

  setenv("TOKENKEEPER_SHARED_CACHE", file_spec(spec, sizeof spec, dir), 1);
  CHECK_STATUS(tk_config_from_env(&cfg), TK_STATUS_OK);
  unsetenv("TOKENKEEPER_SHARED_CACHE");
  unsetenv("AUTH0_DOMAIN");
  unsetenv("AUTH0_CLIENT_ID");
  unsetenv("AUTH0_CLIENT_SECRET");
  REQUIRE(cfg != NULL);
  CHECK_STATUS(tk_config_set_cache(cfg, "enabled", 0), TK_STATUS_OK);
  long before = token_requests();
  tk_client *a = NULL, *b = NULL;
  CHECK_STATUS(tk_client_new(cfg, &a), TK_STATUS_OK);
  CHECK_STATUS(tk_client_new(cfg, &b), TK_STATUS_OK);
  char *ta = a ? get_access_token(a, NULL) : NULL;
  char *tb = b ? get_access_token(b, NULL) : NULL;
  CHECK(same_str(ta, tb));
  CHECK(token_requests() == before + 1);
  if (b) CHECK(stats_of(b).shared_hits == 1);
  free(ta);
  free(tb);
  tk_client_free(a);
  tk_client_free(b);
  /* Another level replaces it, and NULL turns it off: a client then makes its own request. */
  snprintf(other, sizeof other, "file:%s/other", dir);
  CHECK_STATUS(tk_config_set_shared_cache(cfg, other), TK_STATUS_OK);
  CHECK_STATUS(tk_config_set_shared_cache(cfg, NULL), TK_STATUS_OK);
  tk_client *c = NULL;
  CHECK_STATUS(tk_client_new(cfg, &c), TK_STATUS_OK);
  char *tc = c ? get_access_token(c, NULL) : NULL;
  CHECK(tc != NULL);
  CHECK(token_requests() == before + 2);
  if (c) CHECK(stats_of(c).shared_hits == 0);
  free(tc);
  tk_client_free(c);
  tk_config_free(cfg);
  CHECK(remove_tree(dir));
}

/* invalidate forgets the shared entry; invalidate_if_current only when it holds that token. */
static void test_invalidate_reaches_the_shared_level(void) {
  char dir[512];
  REQUIRE(make_temp_dir(dir, sizeof dir));
  tk_client *a = shared_client(dir), *b = shared_client(dir);
  tk_config *plain = secret_config();
  CHECK_STATUS(tk_config_set_cache(plain, "enabled", 0), TK_STATUS_OK);
  tk_client *other = NULL;
  CHECK_STATUS(tk_client_new(plain, &other), TK_STATUS_OK);
  tk_config_free(plain);
  if (a == NULL || b == NULL || other == NULL) {
    tk_client_free(a);
    tk_client_free(b);
    tk_client_free(other);
    CHECK(remove_tree(dir));
  }
  REQUIRE(a != NULL && b != NULL && other != NULL);
  const char *scope = "delete:things";
  tk_token *t1 = NULL, *stale = NULL;
  long before = token_requests();
  CHECK_STATUS(tk_client_get_token(a, API, scope, NULL, &t1), TK_STATUS_OK);
  CHECK_STATUS(tk_client_get_token(other, API, scope, NULL, &stale), TK_STATUS_OK);
  CHECK(token_requests() == before + 2);
  char *j1 = access_token(t1);

  /* Not the shared token: the entry stays. */
  bool dropped = true;
  CHECK_STATUS(tk_client_invalidate_if_current(b, API, scope, NULL, stale, &dropped),
               TK_STATUS_OK);
  char *j = get_access_token(b, scope);
  CHECK(same_str(j, j1));
  CHECK(token_requests() == before + 2);
  free(j);

  /* The shared token: forgotten, the next call fetches, the other client reads the new one. */
  CHECK_STATUS(tk_client_invalidate_if_current(b, API, scope, NULL, t1, &dropped), TK_STATUS_OK);
  char *j3 = get_access_token(b, scope);
  CHECK(j3 != NULL && !same_str(j3, j1));
  CHECK(token_requests() == before + 3);
  j = get_access_token(a, scope);
  CHECK(same_str(j, j3));
  CHECK(token_requests() == before + 3);
  free(j);

  /* Unconditionally. */
  CHECK_STATUS(tk_client_invalidate(a, API, scope, NULL), TK_STATUS_OK);
  j = get_access_token(b, scope);
  CHECK(j != NULL && !same_str(j, j3));
  CHECK(token_requests() == before + 4);
  free(j);
  free(j1);
  free(j3);
  tk_token_free(t1);
  tk_token_free(stale);
  tk_client_free(a);
  tk_client_free(b);
  tk_client_free(other);
  CHECK(remove_tree(dir));
}

/* tk_stats grew (shared_hits, shared_errors appended): a caller built with the 0.1.0 header
 * passes its 32 bytes and gets those only; fewer is BUFFER_TOO_SMALL. */
static void test_stats_are_size_versioned(void) {
  CHECK(offsetof(tk_stats, errors) == 3 * sizeof(uint64_t));
  CHECK(offsetof(tk_stats, shared_hits) == 4 * sizeof(uint64_t));
  CHECK(offsetof(tk_stats, shared_errors) == 5 * sizeof(uint64_t));
  CHECK(sizeof(tk_stats) == 6 * sizeof(uint64_t));
  char dir[512];
  REQUIRE(make_temp_dir(dir, sizeof dir));
  tk_client *a = shared_client(dir), *b = shared_client(dir);
  char *ja = a ? get_access_token(a, NULL) : NULL;
  char *jb = b ? get_access_token(b, NULL) : NULL;
  CHECK(same_str(ja, jb));
  free(ja);
  free(jb);
  if (b != NULL) {
    uint64_t raw[8];
    memset(raw, 0xab, sizeof raw);
    CHECK_STATUS(tk_client_stats(b, (tk_stats *)raw, 4 * sizeof(uint64_t)), TK_STATUS_OK);
    CHECK(raw[0] == 0 && raw[3] == 0); /* minted, errors */
    CHECK(raw[4] == UINT64_C(0xabababababababab) && raw[5] == UINT64_C(0xabababababababab));
    memset(raw, 0xab, sizeof raw);
    CHECK_STATUS(tk_client_stats(b, (tk_stats *)raw, 5 * sizeof(uint64_t)), TK_STATUS_OK);
    CHECK(raw[4] == 1 && raw[5] == UINT64_C(0xabababababababab));
    memset(raw, 0xab, sizeof raw);
    CHECK_STATUS(tk_client_stats(b, (tk_stats *)raw, sizeof raw), TK_STATUS_OK);
    CHECK(raw[4] == 1 && raw[5] == 0 && raw[6] == UINT64_C(0xabababababababab));
    memset(raw, 0xab, sizeof raw);
    CHECK_STATUS(tk_client_stats(b, (tk_stats *)raw, 4 * sizeof(uint64_t) - 1),
                 TK_STATUS_BUFFER_TOO_SMALL);
    CHECK(raw[0] == UINT64_C(0xabababababababab));
  }
  tk_client_free(a);
  tk_client_free(b);
  CHECK(remove_tree(dir));
}

/* ---- Redis: two clients share one token through "redis://…" -------------------------------- */

static void test_redis_two_clients_share_one_token(void) {
  /* The run's Redis (ffi/test.sh starts it): a missing Redis fails, never skips. */
  const char *url = getenv("TOKENKEEPER_TEST_REDIS_URL");
  REQUIRE(url != NULL && *url != '\0');
  /* An API of this run alone: the program runs three times against one issuer and one Redis. */
  char audience[160], api[400];
  snprintf(audience, sizeof audience, "https://redis-%ld-%.0f.example.com", (long)getpid(),
           now_s() * 1e6);
  snprintf(api, sizeof api, "{\"audience\":\"%s\",\"scopes\":[\"read:things\"],\"lifetime\":86400}",
           audience);
  REQUIRE(admin_http("POST", "/__admin/apis", api, NULL, 0) == 200);
  long before = token_requests();
  tk_config *cfg = shared_config(url);
  tk_client *a = NULL, *b = NULL;
  CHECK_STATUS(tk_client_new(cfg, &a), TK_STATUS_OK);
  CHECK_STATUS(tk_client_new(cfg, &b), TK_STATUS_OK);
  tk_config_free(cfg);
  char *ta = NULL, *tb = NULL;
  tk_token *t = NULL;
  if (a && tk_client_get_token(a, audience, NULL, NULL, &t) == TK_STATUS_OK) ta = access_token(t);
  tk_token_free(t);
  t = NULL;
  if (b && tk_client_get_token(b, audience, NULL, NULL, &t) == TK_STATUS_OK) tb = access_token(t);
  tk_token_free(t);
  CHECK(ta != NULL && tb != NULL);
  /* Under valgrind a Redis answer can miss its 200 ms bound: then a client fetches on its own
   * (never an error), so only the plain runs count the requests. */
  if (!under_valgrind()) {
    CHECK(same_str(ta, tb));
    CHECK(token_requests() == before + 1);
    if (b) {
      tk_stats s = stats_of(b);
      CHECK(s.shared_hits == 1);
      CHECK(s.shared_errors == 0);
    }
  }
  free(ta);
  free(tb);
  tk_client_free(a);
  tk_client_free(b);
}

const test_case SHARED_TESTS[] = {
    {"fa_two_clients_share_one_token_sealed_and_private",
     test_fa_two_clients_share_one_token_sealed_and_private},
    {"fb_eight_forked_processes_on_a_cold_key_make_one_request",
     test_fb_eight_forked_processes_on_a_cold_key_make_one_request},
    {"fc_an_unusable_directory_never_fails_get_token",
     test_fc_an_unusable_directory_never_fails_get_token},
    {"fd_bad_strings_are_config_errors", test_fd_bad_strings_are_config_errors},
    {"shared_cache_from_env", test_shared_cache_from_env},
    {"invalidate_reaches_the_shared_level", test_invalidate_reaches_the_shared_level},
    {"stats_are_size_versioned", test_stats_are_size_versioned},
    {"redis_two_clients_share_one_token", test_redis_two_clients_share_one_token},
};
const size_t SHARED_TEST_COUNT = sizeof SHARED_TESTS / sizeof SHARED_TESTS[0];
