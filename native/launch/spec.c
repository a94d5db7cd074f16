#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "join.h"
#include "limits.h"
#include "log.h"
#include "spec.h"

#define SPEC_MAX_BYTES (1 << 20)
/* the flags a `remount` directive may add (and `rec`: also every mount below the path) */
#define REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC)

static const struct
{
  const char *name;
  enum kind kind;
  int min_fields; /* not counting the directive name */
  int max_fields; /* -1: unbounded */
} kinds[] = {
  { "version", K_VERSION, 1, 1 },
  { "namespaces", K_NAMESPACES, 1, 1 },
  { "cgroup-dir", K_CGROUP_DIR, 1, 1 },
  { "cgroup-procs", K_CGROUP_PROCS, 1, 1 },
  { "state-dir", K_STATE_DIR, 1, 1 },
  { "detach", K_DETACH, 0, 0 },
  { "log", K_LOG, 3, 3 },
  { "join", K_JOIN, 3, 3 },
  { "tty", K_TTY, 0, 0 },
  { "stdin", K_STDIN, 1, 1 },
  { "control", K_CONTROL, 1, 1 },
  { "mount", K_MOUNT, 5, 5 },
  { "mkdir", K_MKDIR, 2, 2 },
  { "touch", K_TOUCH, 1, 1 },
  { "mknod", K_MKNOD, 5, 5 },
  { "symlink", K_SYMLINK, 2, 2 },
  { "mask", K_MASK, 1, 1 },
  { "readonly", K_READONLY, 1, 1 },
  { "remount", K_REMOUNT, 2, 2 },
  { "pivot-root", K_PIVOT_ROOT, 1, 1 },
  { "hostname", K_HOSTNAME, 1, 1 },
  { "loopback-up", K_LOOPBACK_UP, 0, 0 },
  { "env", K_ENV, 1, 1 },
  { "cwd", K_CWD, 1, 1 },
  { "user", K_USER, 3, 3 },
  { "caps", K_CAPS, 1, 1 },
  { "no-new-privs", K_NO_NEW_PRIVS, 0, 0 },
  { "seccomp", K_SECCOMP, 1, 1 },
  { "exec", K_EXEC, 2, -1 },
  { "rlimit", K_RLIMIT, 3, 3 },
  { "oom-score-adj", K_OOM_SCORE_ADJ, 1, 1 },
  { "init", K_INIT, 0, 0 },
};

static const struct
{
  const char *name;
  unsigned long flags;
} mount_flag_names[] = {
  { "ro", MS_RDONLY },
  { "nosuid", MS_NOSUID },
  { "nodev", MS_NODEV },
  { "noexec", MS_NOEXEC },
  { "sync", MS_SYNCHRONOUS },
  { "remount", MS_REMOUNT },
  { "bind", MS_BIND },
  { "rec", MS_REC },
  { "private", MS_PRIVATE },
  { "rprivate", MS_PRIVATE | MS_REC },
  { "slave", MS_SLAVE },
  { "rslave", MS_SLAVE | MS_REC },
  { "shared", MS_SHARED },
  { "strictatime", MS_STRICTATIME },
  { "relatime", MS_RELATIME },
  { "noatime", MS_NOATIME },
  { "nodiratime", MS_NODIRATIME },
};

static const struct
{
  const char *name;
  unsigned long flag;
} namespace_names[] = {
  { "pid", CLONE_NEWPID },
  { "mount", CLONE_NEWNS },
  { "uts", CLONE_NEWUTS },
  { "ipc", CLONE_NEWIPC },
  { "net", CLONE_NEWNET },
  /* unshared by the child, after joining its cgroups */
  { "cgroup", CLONE_NEWCGROUP },
};

/* ---------------------------------------------------------------- spec parsing */

static int
spec_error (struct failure *f, size_t line, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  return fail (f, "spec", EINVAL, "line %zu: %s", line, msg);
}

/* Undo the spec's escaping in place. */
static int
unescape (char *s, size_t line, struct failure *f)
{
  char *w = s;

  for (char *r = s; *r != '\0'; r++)
    {
      if (*r != '\\')
        {
          *w++ = *r;
          continue;
        }
      r++;
      if (*r == '\\')
        *w++ = '\\';
      else if (*r == 't')
        *w++ = '\t';
      else if (*r == 'n')
        *w++ = '\n';
      else
        return spec_error (f, line, "bad escape \\%c", *r != '\0' ? *r : '0');
    }
  *w = '\0';
  return 0;
}

static int
parse_number (const char *s, int base, unsigned long long max, unsigned long long *out)
{
  char *end;

  if (s[0] == '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ')
    return -1;
  errno = 0;
  *out = strtoull (s, &end, base);
  if (errno != 0 || *end != '\0' || *out > max)
    return -1;
  return 0;
}

static int
require_absolute (const char *path, const char *what, size_t line, struct failure *f)
{
  if (path[0] != '/')
    return spec_error (f, line, "%s must be an absolute path: %s", what, path);
  return 0;
}

static int
parse_mount_flags (const char *list, unsigned long *flags, size_t line, struct failure *f)
{
  const char *bad;
  size_t bad_len;
  uint64_t found;

  *flags = 0;
  if (*list == '\0')
    return 0;
  if (name_list_lookup (mount_flag_names, list, &found, &bad, &bad_len) < 0)
    return spec_error (f, line, "unknown mount flag \"%.*s\"", (int) bad_len, bad);
  for (size_t i = 0; i < ARRAY_SIZE (mount_flag_names); i++)
    if (found & (UINT64_C (1) << i))
      *flags |= mount_flag_names[i].flags;
  return 0;
}

static int
parse_namespaces (struct spec *s, const char *list, size_t line, struct failure *f)
{
  const char *bad;
  size_t bad_len;
  uint64_t found;

  if (*list == '\0')
    return 0;
  if (name_list_lookup (namespace_names, list, &found, &bad, &bad_len) < 0)
    return spec_error (f, line, "unknown namespace \"%.*s\"", (int) bad_len, bad);
  for (size_t i = 0; i < ARRAY_SIZE (namespace_names); i++)
    if (found & (UINT64_C (1) << i))
      {
        if (namespace_names[i].flag == CLONE_NEWCGROUP)
          s->cgroup_ns = true;
        else
          s->clone_flags |= namespace_names[i].flag;
      }
  return 0;
}

static int
parse_join_namespaces (struct spec *s, const char *list, size_t line, struct failure *f)
{
  const char *bad;
  size_t bad_len;
  uint64_t found;

  /* join_names is indexed by enum join_ns, so the names found are the mask */
  if (name_list_lookup (join_names, list, &found, &bad, &bad_len) < 0)
    return spec_error (f, line, "unknown namespace to join \"%.*s\"", (int) bad_len, bad);
  s->join_mask = (unsigned) found;
  /* the child enters the target's root directory, which only means something in its mount namespace */
  if (!(s->join_mask & (1U << J_MOUNT)))
    return spec_error (f, line, "join must name the mount namespace");
  return 0;
}

static int
parse_gids (struct spec *s, const char *list, size_t line, struct failure *f)
{
  size_t n = 0;
  const char *p;

  if (*list == '\0')
    return 0;
  for (p = list; *p != '\0'; p++)
    n += *p == ',';
  n++;
  s->gids = calloc (n, sizeof *s->gids);
  if (s->gids == NULL)
    return fail (f, "spec", ENOMEM, "supplementary groups");
  for (p = list;;)
    {
      char num[16];
      size_t len = strcspn (p, ",");
      unsigned long long v;

      if (len == 0 || len >= sizeof num)
        return spec_error (f, line, "bad group list \"%s\"", list);
      memcpy (num, p, len);
      num[len] = '\0';
      if (parse_number (num, 10, UINT32_MAX - 1, &v) < 0)
        return spec_error (f, line, "bad group id \"%s\"", num);
      s->gids[s->n_gids++] = (gid_t) v;
      if (p[len] == '\0')
        return 0;
      p += len + 1;
    }
}

/* `seccomp`: 16 hex digits an instruction, code (4), jt (2), jf (2) and k (8), most significant first. */
static int
parse_seccomp (struct spec *s, const char *hex, size_t line, struct failure *f)
{
  size_t len = strlen (hex), n = len / 16;

  if (s->seccomp != NULL)
    return spec_error (f, line, "seccomp given twice");
  if (len == 0 || len % 16 != 0 || n > BPF_MAXINSNS)
    return spec_error (f, line, "seccomp takes 1 to %d instructions of 16 hex digits, got %zu digits", BPF_MAXINSNS,
                       len);
  if (strspn (hex, "0123456789abcdef") != len)
    return spec_error (f, line, "seccomp: not lower-case hex digits");
  s->seccomp = calloc (n, sizeof *s->seccomp);
  if (s->seccomp == NULL)
    return fail (f, "spec", ENOMEM, "seccomp filter of %zu instructions", n);
  for (size_t i = 0; i < n; i++)
    {
      char code[5], jt[3], jf[3], k[9];
      const char *p = hex + 16 * i;

      memcpy (code, p, 4);
      code[4] = '\0';
      memcpy (jt, p + 4, 2);
      jt[2] = '\0';
      memcpy (jf, p + 6, 2);
      jf[2] = '\0';
      memcpy (k, p + 8, 8);
      k[8] = '\0';
      s->seccomp[i].code = (uint16_t) strtoul (code, NULL, 16);
      s->seccomp[i].jt = (uint8_t) strtoul (jt, NULL, 16);
      s->seccomp[i].jf = (uint8_t) strtoul (jf, NULL, 16);
      s->seccomp[i].k = (uint32_t) strtoul (k, NULL, 16);
    }
  s->n_seccomp = n;
  return 0;
}

/* Check one directive's fields and precompute what the child needs, so that the child only acts. */
static int
parse_directive (struct spec *s, struct directive *d, size_t line, struct failure *f)
{
  unsigned long long v, major, minor;
  char **a = d->f;

  switch (d->kind)
    {
    case K_VERSION:
      if (line != 1)
        return spec_error (f, line, "version must be the first line");
      if (strcmp (a[0], "1") != 0)
        return spec_error (f, line, "unsupported version \"%s\"", a[0]);
      return 0;

    case K_NAMESPACES:
      return parse_namespaces (s, a[0], line, f);

    case K_CGROUP_DIR:
      if (s->cgroup_dir != NULL)
        return spec_error (f, line, "cgroup-dir given twice");
      s->cgroup_dir = a[0];
      return require_absolute (a[0], "cgroup-dir", line, f);

    case K_CGROUP_PROCS:
      s->cgroup_procs[s->n_cgroup_procs++] = a[0];
      return require_absolute (a[0], "cgroup-procs", line, f);

    case K_STATE_DIR:
      if (s->state_dir != NULL)
        return spec_error (f, line, "state-dir given twice");
      s->state_dir = a[0];
      return require_absolute (a[0], "state-dir", line, f);

    case K_DETACH:
      if (s->detach_line != 0)
        return spec_error (f, line, "detach given twice");
      s->detach_line = line;
      return 0;

    case K_LOG:
      if (s->log_path != NULL)
        return spec_error (f, line, "log given twice");
      if (require_absolute (a[0], "log path", line, f) < 0)
        return -1;
      if (a[0][strlen (a[0]) - 1] == '/' || strlen (strrchr (a[0], '/') + 1) > LOG_NAME_MAX)
        return spec_error (f, line, "log path must name a file of at most %d bytes: %s", LOG_NAME_MAX, a[0]);
      if (parse_number (a[1], 10, INT64_MAX, &s->log_max_size) < 0)
        return spec_error (f, line, "bad log max-size \"%s\"", a[1]);
      if (parse_number (a[2], 10, LOG_MAX_FILES, &v) < 0 || v < 1)
        return spec_error (f, line, "log max-file must be between 1 and %d, got \"%s\"", LOG_MAX_FILES, a[2]);
      s->log_max_files = (unsigned) v;
      s->log_path = a[0];
      return 0;

    case K_JOIN:
      if (s->join_line != 0)
        return spec_error (f, line, "join given twice");
      if (parse_number (a[0], 10, INT_MAX, &v) < 0 || v < 1)
        return spec_error (f, line, "bad pid \"%s\"", a[0]);
      s->join_pid = (pid_t) v;
      if (parse_number (a[1], 10, UINT64_MAX, &s->join_start) < 0)
        return spec_error (f, line, "bad start time \"%s\"", a[1]);
      s->join_line = line;
      return parse_join_namespaces (s, a[2], line, f);

    case K_TTY:
      if (s->tty)
        return spec_error (f, line, "tty given twice");
      s->tty = true;
      return 0;

    case K_STDIN:
      if (s->stdin_fifo != NULL)
        return spec_error (f, line, "stdin given twice");
      s->stdin_fifo = a[0];
      return require_absolute (a[0], "stdin", line, f);

    case K_CONTROL:
      if (s->control_fifo != NULL)
        return spec_error (f, line, "control given twice");
      s->control_fifo = a[0];
      return require_absolute (a[0], "control", line, f);

    case K_MOUNT:
      if (require_absolute (a[1], "mount target", line, f) < 0)
        return -1;
      return parse_mount_flags (a[3], &d->flags, line, f);

    case K_MKDIR:
      if (parse_number (a[1], 8, 07777, &v) < 0)
        return spec_error (f, line, "bad mode \"%s\"", a[1]);
      d->mode = (mode_t) v;
      return require_absolute (a[0], "mkdir path", line, f);

    case K_MKNOD:
      if (strcmp (a[1], "c") != 0 && strcmp (a[1], "b") != 0)
        return spec_error (f, line, "device type must be c or b, got \"%s\"", a[1]);
      if (parse_number (a[2], 10, 0xfffff, &major) < 0 || parse_number (a[3], 10, 0xfffff, &minor) < 0)
        return spec_error (f, line, "bad device number %s:%s", a[2], a[3]);
      if (parse_number (a[4], 8, 07777, &v) < 0)
        return spec_error (f, line, "bad mode \"%s\"", a[4]);
      d->dev = makedev ((unsigned int) major, (unsigned int) minor);
      d->mode = (mode_t) v | (a[1][0] == 'c' ? S_IFCHR : S_IFBLK);
      return require_absolute (a[0], "mknod path", line, f);

    case K_SYMLINK:
      if (a[0][0] == '\0')
        return spec_error (f, line, "empty symlink target");
      return require_absolute (a[1], "symlink path", line, f);

    case K_REMOUNT:
      if (parse_mount_flags (a[1], &d->flags, line, f) < 0)
        return -1;
      if (d->flags & ~REMOUNT_FLAGS)
        return spec_error (f, line, "remount takes only ro,nosuid,nodev,noexec,rec, got \"%s\"", a[1]);
      return require_absolute (a[0], d->name, line, f);

    case K_TOUCH:
    case K_MASK:
    case K_READONLY:
    case K_PIVOT_ROOT:
    case K_CWD:
      return require_absolute (a[0], d->name, line, f);

    case K_HOSTNAME:
    case K_LOOPBACK_UP:
      return 0;

    case K_ENV:
      if (strchr (a[0], '=') == NULL || a[0][0] == '=')
        return spec_error (f, line, "env must be KEY=VALUE, got \"%s\"", a[0]);
      s->envp[s->n_env++] = a[0];
      if (strncmp (a[0], "PATH=", 5) == 0)
        s->path_env = a[0] + 5;
      return 0;

    case K_USER:
      if (s->has_user)
        return spec_error (f, line, "user given twice");
      if (parse_number (a[0], 10, UINT32_MAX - 1, &v) < 0)
        return spec_error (f, line, "bad uid \"%s\"", a[0]);
      s->uid = (uid_t) v;
      if (parse_number (a[1], 10, UINT32_MAX - 1, &v) < 0)
        return spec_error (f, line, "bad gid \"%s\"", a[1]);
      s->gid = (gid_t) v;
      s->has_user = true;
      return parse_gids (s, a[2], line, f);

    case K_CAPS:
      if (s->has_caps)
        return spec_error (f, line, "caps given twice");
      if (!((a[0][0] >= '0' && a[0][0] <= '9') || (a[0][0] >= 'a' && a[0][0] <= 'f')
            || (a[0][0] >= 'A' && a[0][0] <= 'F'))
          || parse_number (a[0], 16, UINT64_MAX, &v) < 0)
        return spec_error (f, line, "bad capability mask \"%s\"", a[0]);
      s->caps = v;
      s->has_caps = true;
      return 0;

    case K_NO_NEW_PRIVS:
      s->no_new_privs = true;
      return 0;

    case K_SECCOMP:
      return parse_seccomp (s, a[0], line, f);

    case K_EXEC:
      s->exec = d;
      return 0;

    case K_RLIMIT:
      {
        const char *why;

        if (parse_rlimit (d, &why) < 0)
          return spec_error (f, line, "rlimit %s %s:%s: %s", a[0], a[1], a[2], why);
        return 0;
      }

    case K_OOM_SCORE_ADJ:
      if (parse_oom_score_adj (a[0]) < 0)
        return spec_error (f, line, "oom-score-adj must be from -1000 to 1000, got \"%s\"", a[0]);
      return 0;

    case K_INIT:
      s->init = true;
      return 0;
    }
  return spec_error (f, line, "unhandled directive %s", d->name);
}

static int
read_spec_file (const char *path, char **text, struct failure *f)
{
  struct stat st;
  size_t off = 0;
  char *buf;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail (f, "spec", errno, "open %s", path);
  if (fstat (fd, &st) < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, "spec", e, "stat %s", path);
    }
  if (st.st_size > SPEC_MAX_BYTES)
    {
      close (fd);
      return fail (f, "spec", EFBIG, "%s is larger than %d bytes", path, SPEC_MAX_BYTES);
    }
  buf = malloc ((size_t) st.st_size + 1);
  if (buf == NULL)
    {
      close (fd);
      return fail (f, "spec", ENOMEM, "read %s", path);
    }
  while (off < (size_t) st.st_size)
    {
      ssize_t n = read (fd, buf + off, (size_t) st.st_size - off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int e = n < 0 ? errno : EIO;

          close (fd);
          free (buf);
          return fail (f, "spec", e, "read %s", path);
        }
      off += (size_t) n;
    }
  close (fd);
  buf[off] = '\0';
  if (strlen (buf) != off)
    {
      free (buf);
      return fail (f, "spec", EINVAL, "%s contains a NUL byte", path);
    }
  *text = buf;
  return 0;
}

/* A launcher that joins a running container creates nothing: no namespaces, no mounts, no log, and
   no state files (their paths would be resolved inside the container). */
static int
check_join (const struct spec *s, struct failure *f)
{
  if (s->clone_flags != 0 || s->cgroup_ns)
    return spec_error (f, s->join_line, "join cannot be combined with namespaces to create");
  if (s->detach_line != 0 || s->log_path != NULL || s->state_dir != NULL)
    return spec_error (f, s->join_line, "join cannot be combined with detach, log or state-dir");
  for (size_t i = 0; i < s->n_body; i++)
    switch (s->body[i].kind)
      {
      case K_ENV:
      case K_CWD:
      case K_USER:
      case K_CAPS:
      case K_NO_NEW_PRIVS:
      case K_SECCOMP:
      case K_EXEC:
      case K_RLIMIT:
      case K_OOM_SCORE_ADJ:
        break;
      default:
        return spec_error (f, s->join_line,
                           "with join the body may hold only env, cwd, user, caps, no-new-privs, seccomp, exec, "
                           "rlimit and oom-score-adj, not %s",
                           s->body[i].name);
      }
  return 0;
}

int
parse_spec (const char *path, struct spec *s, struct failure *f)
{
  size_t lines = 0, line = 0;
  char *p;

  if (read_spec_file (path, &s->text, f) < 0)
    return -1;
  for (p = s->text; *p != '\0'; p++)
    lines += *p == '\n';
  lines++;
  s->body = calloc (lines, sizeof *s->body);
  s->envp = calloc (lines + 1, sizeof *s->envp);
  s->cgroup_procs = calloc (lines, sizeof *s->cgroup_procs);
  if (s->body == NULL || s->envp == NULL || s->cgroup_procs == NULL)
    return fail (f, "spec", ENOMEM, "parse %s", path);

  for (p = s->text; *p != '\0';)
    {
      struct directive d = { 0 };
      char *end = strchr (p, '\n');
      size_t n = 1, i;
      char *q, *name;

      line++;
      if (end != NULL)
        *end = '\0';
      if (*p == '\0')
        return spec_error (f, line, "empty line");
      if (s->exec != NULL)
        return spec_error (f, line, "directive after exec");
      for (q = p; *q != '\0'; q++)
        n += *q == '\t';
      /* fields[0] is the directive name; d.f points past it */
      char **fields = calloc (n + 1, sizeof *fields);
      if (fields == NULL)
        return fail (f, "spec", ENOMEM, "parse %s", path);
      for (i = 0, q = p; i < n; i++)
        {
          char *tab = strchr (q, '\t');

          fields[i] = q;
          if (tab != NULL)
            {
              *tab = '\0';
              q = tab + 1;
            }
          if (unescape (fields[i], line, f) < 0)
            return -1;
        }
      name = fields[0];
      for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp (kinds[i].name, name) == 0)
          break;
      if (i == sizeof kinds / sizeof kinds[0])
        return spec_error (f, line, "unknown directive \"%s\"", name);
      if (line == 1 && kinds[i].kind != K_VERSION)
        return spec_error (f, line, "the first line must be version");
      if ((int) (n - 1) < kinds[i].min_fields || (kinds[i].max_fields >= 0 && (int) (n - 1) > kinds[i].max_fields))
        return spec_error (f, line, "%s takes %d field(s), got %zu", name, kinds[i].min_fields, n - 1);
      d.kind = kinds[i].kind;
      d.name = kinds[i].name;
      d.f = fields + 1;
      d.n = n - 1;
      if (d.kind >= K_MOUNT)
        {
          s->body[s->n_body] = d;
          if (parse_directive (s, &s->body[s->n_body], line, f) < 0)
            return -1;
          s->n_body++;
        }
      else if (parse_directive (s, &d, line, f) < 0)
        return -1;
      if (end == NULL)
        break;
      p = end + 1;
    }
  if (line == 0)
    return spec_error (f, 1, "empty spec");
  if (s->exec == NULL)
    return spec_error (f, line, "no exec directive");
  if (s->detach_line != 0 && s->state_dir == NULL)
    return spec_error (f, s->detach_line, "detach needs state-dir (the exit status goes only there)");
  if (s->join_line != 0)
    return check_join (s, f);
  return 0;
}
