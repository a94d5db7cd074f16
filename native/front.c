/*
 * corral-front: the fast front of `corral run` when a daemon is running.
 *
 * Node's own start-up costs more than a whole `runc run` on these machines, so a Node CLI can never
 * start a container as fast as runc does. This small static program does only what must happen on
 * the caller's side:
 *
 *   1. ask the daemon to prepare the container from the very argv the user typed
 *      (POST /corral/run/prepare: the daemon parses the flags with the same TypeScript code as the
 *      stand-alone CLI, creates the cgroup, the writable layer, the state and the launcher's spec),
 *   2. run the launcher itself, as its own child, so that the workload inherits this terminal's
 *      stdin, stdout and stderr unchanged (no copying through the daemon), forwarding signals to it,
 *   3. tell the daemon the launcher ended (POST /corral/run/{id}/finish); the daemon records the
 *      exit, reads the OOM counter, removes the cgroup (and with --rm the container) and answers the
 *      exit code and any message to print, exactly as the stand-alone `corral run` would.
 *
 * Everything else is not its business: any other command, `run -d`, `run --help`, no daemon on the
 * socket, or a daemon that asks for it (409 with X-Corral-Fallback) exec the Node CLI with the same
 * arguments, which then behaves as before (and says once that it runs stand-alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"

#define DEFAULT_SOCKET "/run/corral/corral.sock"
#define MAX_RESPONSE (1 << 20)
#define MAX_STATUS 8192

static char **orig_argv;
static pid_t launcher_pid = -1;

static void
fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("corral: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  exit (125);
}

/* The directory holding this binary (native/), from /proc/self/exe. */
static void
self_dir (char *out, size_t size)
{
  ssize_t n = readlink ("/proc/self/exe", out, size - 1);
  if (n < 0)
    fail ("cannot read /proc/self/exe: %s", strerror (errno));
  out[n] = 0;
  char *slash = strrchr (out, '/');
  if (slash)
    *slash = 0;
}

/* Hand the whole command to the Node CLI, unchanged: its CommonJS entry (src/cli/start.cts), which
 * node starts sooner than bin/corral (an ES module that loads the same), when the build made it. */
static void
exec_node (void)
{
  char dir[PATH_MAX], script[PATH_MAX + 32];
  self_dir (dir, sizeof dir);
  snprintf (script, sizeof script, "%s/../dist/src/cli/start.cjs", dir);
  if (access (script, R_OK) != 0)
    snprintf (script, sizeof script, "%s/../bin/corral", dir);
  int argc = 0;
  while (orig_argv[argc])
    argc++;
  char **args = calloc ((size_t) argc + 3, sizeof *args);
  if (!args)
    fail ("out of memory");
  /* "--": node takes nothing after it as its own option (Node 20 reads --env-file even after the
     script: corral run --env-file FILE would load FILE into the CLI's own environment) */
  args[0] = "node";
  args[1] = "--";
  args[2] = script;
  for (int i = 1; i < argc; i++)
    args[i + 2] = orig_argv[i];
  execvp ("node", args);
  fail ("cannot run node for 'corral %s': %s", argc > 1 ? orig_argv[1] : "", strerror (errno));
}

/* ---- a growing byte buffer ---- */
struct buf
{
  char *data;
  size_t len, cap;
};

static void
buf_add (struct buf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 1024;
      while (b->len + n + 1 > cap)
        cap *= 2;
      char *d = realloc (b->data, cap);
      if (!d)
        fail ("out of memory");
      b->data = d;
      b->cap = cap;
    }
  memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

static void
buf_str (struct buf *b, const char *s)
{
  buf_add (b, s, strlen (s));
}

/* A JSON string literal: quotes, backslashes and control characters escaped; other bytes as they are. */
static void
buf_json_string (struct buf *b, const char *s)
{
  buf_str (b, "\"");
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      char esc[8];
      if (*p == '"' || *p == '\\')
        {
          esc[0] = '\\';
          esc[1] = (char) *p;
          buf_add (b, esc, 2);
        }
      else if (*p < 0x20)
        {
          snprintf (esc, sizeof esc, "\\u%04x", *p);
          buf_str (b, esc);
        }
      else
        {
          buf_add (b, (const char *) p, 1);
        }
    }
  buf_str (b, "\"");
}

/* ---- one HTTP/1.1 exchange on the daemon's socket ---- */
struct response
{
  int status;
  int fallback;     /* X-Corral-Fallback present */
  char *body;       /* NUL-terminated */
  struct json json; /* the body as JSON; no tokens when it is not JSON */
};

static int
connect_socket (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return -1;
  strcpy (addr.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Send a POST with a JSON body on a connected socket and read the whole answer (Connection: close). */
static struct response
post (int fd, const char *path, struct buf *body)
{
  struct buf req = { 0 };
  char head[512];
  snprintf (head, sizeof head,
            "POST /v1.41%s HTTP/1.1\r\nHost: corral\r\nUser-Agent: corral-front\r\nContent-Type: application/json\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            path, body->len);
  buf_str (&req, head);
  buf_add (&req, body->data, body->len);
  if (write_all (fd, req.data, req.len) < 0)
    fail ("cannot talk to the daemon: %s", strerror (errno));
  free (req.data);

  char *in;
  size_t in_len;
  if (read_all (fd, MAX_RESPONSE, &in, &in_len) < 0)
    {
      if (errno == EFBIG)
        fail ("the daemon's answer is too long");
      if (errno == ENOMEM)
        fail ("out of memory");
      fail ("cannot read the daemon's answer: %s", strerror (errno));
    }
  close (fd);
  struct response res = { 0 };
  if (sscanf (in, "HTTP/1.%*d %d", &res.status) != 1)
    fail ("the daemon sent no HTTP answer");
  char *end = strstr (in, "\r\n\r\n");
  if (!end)
    fail ("the daemon's answer has no end of headers");
  *end = 0;
  for (char *line = strstr (in, "\r\n"); line; line = strstr (line + 2, "\r\n"))
    {
      if (strncasecmp (line + 2, "x-corral-fallback:", 18) == 0)
        res.fallback = 1;
      /* the body is sent with Content-Length; a chunked one would be a daemon bug worth a clear error */
      if (strncasecmp (line + 2, "transfer-encoding:", 18) == 0)
        fail ("the daemon sent a chunked answer to %s", path);
    }
  res.body = end + 4;
  if (json_parse (&res.json, res.body, (size_t) (in + in_len - res.body)) < 0)
    {
      if (errno == ENOMEM)
        fail ("out of memory");
      json_free (&res.json);
    }
  return res;
}

/*
 * The string member `key` of the daemon's answer (a JSON object: src/api/client-run.ts, and
 * {"message"} for an error), decoded; NULL when the answer is not a JSON object or has no such
 * string member.
 */
static char *
json_field (const struct response *res, const char *key)
{
  long t = json_get (&res->json, 0, key);
  if (t < 0 || res->json.tokens[t].type != JSON_STRING)
    return NULL;
  char *value = json_string (&res->json, (size_t) t, NULL);
  if (!value)
    fail ("out of memory");
  return value;
}

/* An integer member of the daemon's answer that fits an int; `fallback` when there is none. */
static int
json_int (const struct response *res, const char *key, int fallback)
{
  long t = json_get (&res->json, 0, key);
  long long value;
  if (t < 0 || !json_integer (&res->json, (size_t) t, &value) || value < INT_MIN || value > INT_MAX)
    return fallback;
  return (int) value;
}

static void
forward_signal (int sig)
{
  if (launcher_pid > 0)
    kill (launcher_pid, sig);
}

static int
is_flag (const char *arg, const char *name)
{
  return strcmp (arg, name) == 0;
}

/* CORRAL_FRONT_TIMING=1: the time of each phase on stderr, for bench/start-latency. */
static int timing;
static struct timespec phase_start;

static void
phase (const char *name)
{
  if (!timing)
    return;
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  double ms = (double) (now.tv_sec - phase_start.tv_sec) * 1e3 + (double) (now.tv_nsec - phase_start.tv_nsec) / 1e6;
  fprintf (stderr, "corral-front: phase %s %.3f ms\n", name, ms);
  phase_start = now;
}

int
main (int argc, char **argv)
{
  orig_argv = argv;
  timing = getenv ("CORRAL_FRONT_TIMING") != NULL;
  clock_gettime (CLOCK_MONOTONIC, &phase_start);
  const char *host = NULL, *root = NULL;
  int i = 1;
  for (; i < argc; i++)
    {
      if ((is_flag (argv[i], "--root")) && i + 1 < argc)
        root = argv[++i];
      else if (strncmp (argv[i], "--root=", 7) == 0)
        root = argv[i] + 7;
      else if ((is_flag (argv[i], "--host") || is_flag (argv[i], "-H")) && i + 1 < argc)
        host = argv[++i];
      else if (strncmp (argv[i], "--host=", 7) == 0)
        host = argv[i] + 7;
      else
        break;
    }
  if (i >= argc || strcmp (argv[i], "run") != 0)
    exec_node ();
  int first = i + 1;
  /* The Node CLI handles help and detached runs; a workload argument spelled like these flags only
   * costs the slower (and equally correct) path. */
  for (int j = first; j < argc; j++)
    if (is_flag (argv[j], "-d") || is_flag (argv[j], "--detach") || is_flag (argv[j], "--help")
        || is_flag (argv[j], "-h"))
      exec_node ();

  if (!host)
    host = getenv ("CORRAL_HOST");
  const char *socket_path = DEFAULT_SOCKET;
  if (host)
    {
      if (strncmp (host, "unix://", 7) != 0)
        exec_node (); /* the Node CLI explains what is wrong */
      socket_path = host + 7;
    }
  if (!root)
    root = getenv ("CORRAL_ROOT");
  int fd = connect_socket (socket_path);
  if (fd < 0)
    exec_node (); /* no daemon: stand-alone, as before */

  struct buf body = { 0 };
  buf_str (&body, "{\"Args\":[");
  for (int j = first; j < argc; j++)
    {
      if (j > first)
        buf_str (&body, ",");
      buf_json_string (&body, argv[j]);
    }
  buf_str (&body, "]");
  if (root)
    {
      buf_str (&body, ",\"Root\":");
      buf_json_string (&body, root);
    }
  buf_str (&body, "}");
  struct response prep = post (fd, "/corral/run/prepare", &body);
  phase ("prepare");
  if (prep.fallback)
    exec_node ();
  if (prep.status != 201)
    {
      char *message = json_field (&prep, "message");
      fprintf (stderr, "corral: %s\n", message ? message : prep.body);
      return 125;
    }
  char *id = json_field (&prep, "Id"), *spec = json_field (&prep, "Spec"), *launcher = json_field (&prep, "Launcher");
  if (!id || !spec || !launcher)
    fail ("the daemon's prepare answer lacks Id, Spec or Launcher: %s", prep.body);

  int status_pipe[2];
  if (pipe2 (status_pipe, O_CLOEXEC) < 0)
    fail ("pipe: %s", strerror (errno));
  struct sigaction sa = { .sa_handler = forward_signal };
  sigemptyset (&sa.sa_mask);
  int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  sigset_t block, old;
  sigemptyset (&block);
  for (size_t s = 0; s < sizeof forwarded / sizeof *forwarded; s++)
    sigaddset (&block, forwarded[s]);
  /* no signal may be lost between fork and launcher_pid being set */
  sigprocmask (SIG_BLOCK, &block, &old);
  pid_t pid = fork ();
  if (pid < 0)
    fail ("fork: %s", strerror (errno));
  if (pid == 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      if (status_pipe[1] == 3)
        fcntl (3, F_SETFD, 0);
      else if (dup2 (status_pipe[1], 3) < 0)
        _exit (125);
      execl (launcher, launcher, spec, (char *) NULL);
      _exit (125);
    }
  launcher_pid = pid;
  for (size_t s = 0; s < sizeof forwarded / sizeof *forwarded; s++)
    sigaction (forwarded[s], &sa, NULL);
  sigprocmask (SIG_SETMASK, &old, NULL);
  close (status_pipe[1]);

  /* The launcher's status lines (pid, started, error, exit), passed on to the daemon as they are. */
  struct buf status = { 0 };
  buf_add (&status, "", 0);
  char chunk[1024];
  for (;;)
    {
      ssize_t r = read (status_pipe[0], chunk, sizeof chunk);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      if (status.len + (size_t) r < MAX_STATUS)
        buf_add (&status, chunk, (size_t) r);
    }
  int wstatus = 0;
  while (waitpid (pid, &wstatus, 0) < 0 && errno == EINTR)
    {
    }
  phase ("launcher");
  int launcher_code = WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);

  struct buf fin = { 0 };
  char num[32];
  snprintf (num, sizeof num, "%d", launcher_code);
  buf_str (&fin, "{\"LauncherCode\":");
  buf_str (&fin, num);
  buf_str (&fin, ",\"Status\":");
  buf_json_string (&fin, status.data);
  buf_str (&fin, "}");
  char path[160];
  snprintf (path, sizeof path, "/corral/run/%s/finish", id);
  fd = connect_socket (socket_path);
  if (fd < 0)
    {
      fprintf (
          stderr,
          "corral: the daemon went away; the container %.12s ended with %d and is left for the daemon to clean up\n",
          id, launcher_code);
      return launcher_code;
    }
  struct response done = post (fd, path, &fin);
  phase ("finish");
  if (done.status != 200)
    {
      char *message = json_field (&done, "message");
      fprintf (stderr, "corral: %s\n", message ? message : done.body);
      return launcher_code;
    }
  char *message = json_field (&done, "Message");
  if (message && *message)
    fprintf (stderr, "corral: %s\n", message);
  return json_int (&done, "ExitCode", launcher_code);
}
