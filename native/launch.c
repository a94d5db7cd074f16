/*
 * corral-launch: everything that must happen between fork and exec for one corral workload.
 *
 * The contract is native/PROTOCOL.md.  The launcher is a dumb executor: it reads a spec file,
 * creates the child in its namespaces (and cgroup), lets the child carry out the directives in
 * order, and stays the child's parent: it forwards signals, reaps it and records how it ended.
 *
 * Error handling follows one shape everywhere: a step that fails fills a `struct failure` with the
 * step (the spec directive that failed), the errno and a detail naming the path or value, and
 * returns -1.  The child sends its failure to the launcher through a close-on-exec pipe; an EOF
 * without a failure record means execve succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sched.h> /* struct clone_args, CLONE_INTO_CGROUP */

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define STATUS_FD 3
#define EXIT_SETUP 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
#define SPEC_MAX_BYTES (1 << 20)
/* the flags a `remount` directive may add (and `rec`: also every mount below the path) */
#define REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LOG_NAME_MAX 240   /* the log file's name, so that "NAME.NNNNN" fits NAME_MAX */
#define LOG_MAX_FILES 99999

/* signals forwarded to the workload (PROTOCOL.md "Invocation") */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };

struct failure
{
  const char *step;
  int errnum;
  char detail[1024];
};

enum kind
{
  /* header */
  K_VERSION,
  K_NAMESPACES,
  K_CGROUP_DIR,
  K_CGROUP_PROCS,
  K_STATE_DIR,
  K_DETACH,
  K_LOG,
  K_JOIN,
  /* body */
  K_MOUNT,
  K_MKDIR,
  K_TOUCH,
  K_MKNOD,
  K_SYMLINK,
  K_MASK,
  K_READONLY,
  K_REMOUNT,
  K_PIVOT_ROOT,
  K_HOSTNAME,
  K_LOOPBACK_UP,
  K_ENV,
  K_CWD,
  K_USER,
  K_CAPS,
  K_NO_NEW_PRIVS,
  K_EXEC,
};

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
  { "exec", K_EXEC, 2, -1 },
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
  { "cgroup", CLONE_NEWCGROUP }, /* unshared by the child, after joining its cgroups */
};

/* The namespaces `join` may name, in the order they are entered (PROTOCOL.md "Joining a running
   container"): the user namespace first, so that the others are entered with its privileges; the
   mount namespace last among the launcher's; the cgroup namespace by the child, once it is inside
   the container's cgroup (entering it before would hide the cgroup it has to leave). */
enum join_ns
{
  J_USER,
  J_IPC,
  J_UTS,
  J_NET,
  J_PID,
  J_MOUNT,
  J_CGROUP,
  J_COUNT
};

static const struct
{
  const char *name; /* in the spec */
  const char *proc; /* under /proc/PID/ns */
  int type;         /* setns(2) nstype */
} join_names[J_COUNT] = {
  [J_USER] = { "user", "user", CLONE_NEWUSER },  [J_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
  [J_UTS] = { "uts", "uts", CLONE_NEWUTS },      [J_NET] = { "net", "net", CLONE_NEWNET },
  [J_PID] = { "pid", "pid", CLONE_NEWPID },      [J_MOUNT] = { "mount", "mnt", CLONE_NEWNS },
  [J_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
};

struct directive
{
  enum kind kind;
  const char *name;
  char **f;        /* fields after the directive name, NULL-terminated */
  size_t n;        /* number of fields */
  unsigned long flags; /* mount, remount: MS_* */
  mode_t mode;     /* mkdir, mknod */
  dev_t dev;       /* mknod */
};

struct spec
{
  char *text;
  struct directive *body; /* body directives in file order; the last one is exec */
  size_t n_body;
  unsigned long clone_flags;
  bool cgroup_ns;
  const char *cgroup_dir;
  const char **cgroup_procs;
  size_t n_cgroup_procs;
  const char *state_dir;
  size_t detach_line; /* 0: no detach directive */
  size_t join_line;   /* 0: no join directive */
  pid_t join_pid;
  unsigned long long join_start; /* clock ticks after boot, /proc/PID/stat field 22 */
  unsigned join_mask;            /* 1 << enum join_ns, for each namespace named */
  const char *log_path; /* NULL: the workload inherits stdout and stderr */
  unsigned long long log_max_size; /* bytes; 0: no rotation */
  unsigned log_max_files;          /* files kept in total, the current one included */
  char **envp; /* NULL-terminated */
  size_t n_env;
  const char *path_env; /* value of the last PATH= env directive */
  bool has_user;
  uid_t uid;
  gid_t gid;
  gid_t *gids;
  size_t n_gids;
  bool has_caps;
  uint64_t caps;
  bool no_new_privs;
  const struct directive *exec;
};

/* The launcher's own state: the status pipe and the state directory. */
struct launcher
{
  int status_fd;      /* -1 when fd 3 was not open */
  bool status_broken; /* fd 3 was open but a write failed: fall back to fd 2 for errors */
  int state_dirfd;    /* -1 without state-dir */
  bool own_status_fd; /* fd 3 was open at start (it is closed when a detached launcher is done with it) */
};

/* What the child puts on its fd 0, 1 and 2 before anything else; -1 keeps the launcher's. */
struct child_stdio
{
  int fd[3];
};

/* Everything the launcher opens before it enters anything (a path opened after setns would name
   something else, or nothing): the cgroup the child goes into, and with `join` the target's
   namespaces and root directory.  -1 where not opened; a namespace the launcher is in already is
   not opened either. */
struct handles
{
  int cgroup_dir;     /* O_PATH of cgroup-dir, for clone3(CLONE_INTO_CGROUP) */
  int *cgroup_procs;  /* O_WRONLY, one per cgroup-procs directive */
  int ns[J_COUNT];    /* /proc/PID/ns/... */
  int root;           /* O_PATH of /proc/PID/root */
};

__attribute__ ((format (printf, 4, 5))) static int
fail (struct failure *f, const char *step, int errnum, const char *fmt, ...)
{
  va_list ap;

  f->step = step;
  f->errnum = errnum;
  va_start (ap, fmt);
  vsnprintf (f->detail, sizeof f->detail, fmt, ap);
  va_end (ap);
  return -1;
}

static const char *
errno_name (int errnum, char buf[16])
{
  const char *name = strerrorname_np (errnum);

  if (name != NULL)
    return name;
  snprintf (buf, 16, "E%d", errnum);
  return buf;
}

/* Escape backslash, TAB and newline as the spec file does, so that a detail stays one field. */
static void
escape (char *dst, size_t cap, const char *src)
{
  size_t o = 0;

  for (; *src != '\0'; src++)
    {
      char c = *src, e = 0;

      if (c == '\\')
        e = '\\';
      else if (c == '\t')
        e = 't';
      else if (c == '\n')
        e = 'n';
      if (o + (e ? 2 : 1) >= cap)
        break;
      if (e)
        {
          dst[o++] = '\\';
          dst[o++] = e;
        }
      else
        dst[o++] = c;
    }
  dst[o] = '\0';
}

static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

/* ---------------------------------------------------------------- status lines and state files */

__attribute__ ((format (printf, 2, 3))) static void
status_line (struct launcher *l, const char *fmt, ...)
{
  char buf[1536];
  va_list ap;
  int n;

  if (l->status_fd < 0)
    return;
  va_start (ap, fmt);
  n = vsnprintf (buf, sizeof buf - 1, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((size_t) n > sizeof buf - 2)
    n = sizeof buf - 2;
  buf[n++] = '\n';
  if (write_all (l->status_fd, buf, (size_t) n) < 0)
    {
      l->status_broken = true;
      l->status_fd = -1;
    }
}

/* `error` status line; the last-resort message on fd 2 when fd 3 was open but is unusable. */
static void
report_error (struct launcher *l, const char *step, int errnum, const char *escaped_detail)
{
  char name[16];

  status_line (l, "error\t%s\t%d\t%s\t%s", step, errnum, errno_name (errnum, name), escaped_detail);
  if (l->status_broken)
    {
      char buf[1536];
      int n = snprintf (buf, sizeof buf, "corral-launch: %s %s: %s\n", step, escaped_detail,
                        errno_name (errnum, name));

      if (n > 0)
        (void) write_all (STDERR_FILENO, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
    }
}

/* Write `name` in the state directory atomically: temporary name, fsync, rename. */
static int
write_state (struct launcher *l, const char *name, const char *content, struct failure *f)
{
  char tmp[32];
  int fd;

  snprintf (tmp, sizeof tmp, ".%s.tmp", name);
  fd = openat (l->state_dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return fail (f, "state-dir", errno, "open %s", tmp);
  if (write_all (fd, content, strlen (content)) < 0 || fsync (fd) < 0)
    {
      int e = errno;

      close (fd);
      unlinkat (l->state_dirfd, tmp, 0);
      return fail (f, "state-dir", e, "write %s", tmp);
    }
  if (close (fd) < 0)
    return fail (f, "state-dir", errno, "close %s", tmp);
  if (renameat (l->state_dirfd, tmp, l->state_dirfd, name) < 0)
    return fail (f, "state-dir", errno, "rename %s to %s", tmp, name);
  return 0;
}

/* Field 22 of a /proc/PID/stat file (`path` relative to `dirfd`): the start time in clock ticks
   after boot.  `shown` names the file in messages. */
static int
read_start_time_at (int dirfd, const char *path, const char *shown, const char *step, unsigned long long *start,
                    struct failure *f)
{
  char buf[1024];
  const char *p;
  ssize_t n;
  int fd, field;

  fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail (f, step, errno, "open %s", shown);
  n = read (fd, buf, sizeof buf - 1);
  if (n < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, step, e, "read %s", shown);
    }
  close (fd);
  buf[n] = '\0';
  /* comm (field 2) may hold spaces and parentheses: count from the last ')' */
  p = strrchr (buf, ')');
  if (p == NULL)
    return fail (f, step, EINVAL, "parse %s", shown);
  for (field = 2; field < 22 && p != NULL; field++)
    p = strchr (p + 1, ' ');
  if (p == NULL || p[1] < '0' || p[1] > '9')
    return fail (f, step, EINVAL, "parse %s", shown);
  /* digits by hand: sscanf would link glibc's scanf and strtod machinery (~80 KiB of text) */
  for (*start = 0, p++; *p >= '0' && *p <= '9'; p++)
    *start = *start * 10 + (unsigned long long) (*p - '0');
  return 0;
}

static int
read_start_time (pid_t pid, unsigned long long *start, struct failure *f)
{
  char path[64];

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  return read_start_time_at (AT_FDCWD, path, path, "state-dir", start, f);
}

/* ---------------------------------------------------------------- time stamps */

#define TIME_BUF 64 /* "2026-11-23T14:00:00.123456789Z" is 30 bytes until the year 9999 */

/* RFC 3339 in UTC with nine fractional digits (Docker's RFC3339NanoFixed).  The civil date is
   computed by hand (Howard Hinnant's civil_from_days): gmtime_r would pull in glibc's
   time zone machinery for nothing. */
static void
format_time (char out[TIME_BUF], const struct timespec *ts)
{
  long long secs = ts->tv_sec, days = secs / 86400, rem = secs % 86400;
  long long era, doe, yoe, doy, mp, y;
  unsigned m, d;

  if (rem < 0)
    {
      rem += 86400;
      days--;
    }
  days += 719468;
  era = (days >= 0 ? days : days - 146096) / 146097;
  doe = days - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
  m = (unsigned) (mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
  snprintf (out, TIME_BUF, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", y, m, d, rem / 3600,
            rem / 60 % 60, rem % 60, (long) ts->tv_nsec);
}

static void
now_string (char out[TIME_BUF])
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  format_time (out, &ts);
}

/* ---------------------------------------------------------------- the log (json-file format) */

#define LOG_LINE_MAX 16384              /* a longer line is split into records, as Docker does */
#define LOG_RECORD_BYTES(len) ((len) * 6 + 128) /* at most: every byte escaped as \u00XX or \ufffd,
                                                  plus the keys, the stream and the time */
#define LOG_OUT_MAX (128 * 1024)        /* records are batched here, then written with one write(2) */
_Static_assert (LOG_RECORD_BYTES (LOG_LINE_MAX) <= LOG_OUT_MAX, "the longest record fits the batch");
#define LOG_DRAIN_MS 2000               /* after the workload exits, read its pipes at most this long */

struct log_stream
{
  int fd;           /* read end of the workload's pipe; -1 at EOF */
  const char *name; /* "stdout" or "stderr" */
  size_t len;       /* bytes of an unfinished line in buf */
  char buf[LOG_LINE_MAX];
};

struct logger
{
  int fd;    /* the current log file, O_APPEND */
  int dirfd; /* its directory, for the renames of a rotation */
  char name[LOG_NAME_MAX + 1];
  unsigned long long size;     /* bytes in the current file */
  unsigned long long max_size; /* 0: no rotation */
  unsigned max_files;
  int noted_errno;             /* the last errno reported with a note, so that a full disk is
                                  reported once, not once per record */
  struct timespec last;        /* time stamps never go backwards within one launcher */
  char time[TIME_BUF];     /* the current read's time stamp, formatted */
  struct log_stream streams[2];
  size_t out_len;
  char out[LOG_OUT_MAX];
};

static void
log_note (struct launcher *l, struct logger *lg, const char *what, int errnum)
{
  char name[16];

  if (lg->noted_errno == errnum)
    return;
  lg->noted_errno = errnum;
  status_line (l, "note\tlog: %s %s: %s", what, lg->name, errno_name (errnum, name));
}

/* Open (append to) the log file and create the two pipes.  The write ends are returned for the
   child; everything is close-on-exec. */
static int
logger_open (const char *path, unsigned long long max_size, unsigned max_files, struct logger **out,
             int pipe_w[2], struct failure *f)
{
  const char *slash = strrchr (path, '/');
  char dir[PATH_MAX];
  struct logger *lg;
  struct stat st;

  /* large enough for glibc to mmap it: pages the launcher never touches are never resident */
  lg = malloc (sizeof *lg);
  if (lg == NULL)
    return fail (f, "log", ENOMEM, "%s", path);
  memset (lg, 0, offsetof (struct logger, streams));
  lg->out_len = 0;
  lg->max_size = max_size;
  lg->max_files = max_files;
  snprintf (lg->name, sizeof lg->name, "%s", slash + 1);
  if ((size_t) (slash - path) >= sizeof dir)
    return fail (f, "log", ENAMETOOLONG, "%s", path);
  memcpy (dir, path, (size_t) (slash - path));
  dir[slash - path] = '\0';
  lg->dirfd = open (slash == path ? "/" : dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (lg->dirfd < 0)
    return fail (f, "log", errno, "%s", slash == path ? "/" : dir);
  lg->fd = openat (lg->dirfd, lg->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
  if (lg->fd < 0 || fstat (lg->fd, &st) < 0)
    return fail (f, "log", errno, "%s", path);
  lg->size = (unsigned long long) st.st_size;
  for (int i = 0; i < 2; i++)
    {
      int p[2];

      if (pipe2 (p, O_CLOEXEC) < 0)
        return fail (f, "log", errno, "pipe2");
      if (fcntl (p[0], F_SETFL, O_NONBLOCK) < 0)
        return fail (f, "log", errno, "fcntl O_NONBLOCK");
      lg->streams[i].fd = p[0];
      lg->streams[i].name = i == 0 ? "stdout" : "stderr";
      lg->streams[i].len = 0;
      pipe_w[i] = p[1];
    }
  *out = lg;
  return 0;
}

/* Write the batched records; on failure cut the file back so that it never ends in half a record. */
static void
logger_flush (struct launcher *l, struct logger *lg)
{
  if (lg->out_len == 0)
    return;
  if (write_all (lg->fd, lg->out, lg->out_len) < 0)
    {
      log_note (l, lg, "write", errno);
      (void) ftruncate (lg->fd, (off_t) lg->size);
    }
  else
    {
      lg->size += lg->out_len;
      lg->noted_errno = 0;
    }
  lg->out_len = 0;
}

/* Docker's rotation: NAME.(N-2) -> NAME.(N-1), ..., NAME -> NAME.1, then a new NAME; with one file
   in total the file is truncated.  A failed step is noted and writing goes on in the current file. */
static void
logger_rotate (struct launcher *l, struct logger *lg)
{
  char from[LOG_NAME_MAX + 12], to[LOG_NAME_MAX + 12]; /* NAME.4294967295 */
  int fd;

  if (lg->max_files < 2)
    {
      if (ftruncate (lg->fd, 0) < 0)
        log_note (l, lg, "truncate", errno);
      else
        lg->size = 0;
      return;
    }
  for (unsigned i = lg->max_files - 1; i >= 2; i--)
    {
      snprintf (from, sizeof from, "%s.%u", lg->name, i - 1);
      snprintf (to, sizeof to, "%s.%u", lg->name, i);
      if (renameat (lg->dirfd, from, lg->dirfd, to) < 0 && errno != ENOENT)
        {
          log_note (l, lg, "rotate", errno);
          return;
        }
    }
  snprintf (to, sizeof to, "%s.1", lg->name);
  if (renameat (lg->dirfd, lg->name, lg->dirfd, to) < 0)
    {
      log_note (l, lg, "rotate", errno);
      return;
    }
  fd = openat (lg->dirfd, lg->name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
  if (fd < 0)
    {
      log_note (l, lg, "rotate", errno); /* keep appending to what is now NAME.1 */
      return;
    }
  close (lg->fd);
  lg->fd = fd;
  lg->size = 0;
}

static char *
json_escape (char *o, const unsigned char *p, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *end = p + len;

  while (p < end)
    {
      unsigned c = *p;
      size_t n = 0;

      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
        {
          *o++ = (char) c;
          p++;
          continue;
        }
      if (c < 0x80)
        {
          *o++ = '\\';
          if (c == '"' || c == '\\')
            *o++ = (char) c;
          else if (c == '\n')
            *o++ = 'n';
          else if (c == '\t')
            *o++ = 't';
          else if (c == '\r')
            *o++ = 'r';
          else
            {
              memcpy (o, "u00", 3);
              o[3] = hex[c >> 4];
              o[4] = hex[c & 15];
              o += 5;
            }
          p++;
          continue;
        }
      /* a well-formed UTF-8 sequence is copied; anything else becomes U+FFFD, one per byte
         (as Go's encoding/json, hence Docker, does) */
      if (c >= 0xc2 && c <= 0xdf)
        n = 2;
      else if (c >= 0xe0 && c <= 0xef)
        n = 3;
      else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
      if (n != 0 && (size_t) (end - p) >= n)
        {
          unsigned c1 = p[1];
          bool ok = (c == 0xe0 ? c1 >= 0xa0 : c == 0xed ? c1 <= 0x9f : c == 0xf0 ? c1 >= 0x90 : c == 0xf4 ? c1 <= 0x8f : true)
                    && (c1 & 0xc0) == 0x80;

          for (size_t i = 2; ok && i < n; i++)
            ok = (p[i] & 0xc0) == 0x80;
          if (ok)
            {
              memcpy (o, p, n);
              o += n;
              p += n;
              continue;
            }
        }
      memcpy (o, "\\ufffd", 6);
      o += 6;
      p++;
    }
  return o;
}

/* Append one record to the batch, rotating first when it would not fit in the current file. */
static void
logger_record (struct launcher *l, struct logger *lg, const struct log_stream *st, const char *text, size_t len)
{
  char *rec, *o;
  size_t n;

  if (lg->out_len + LOG_RECORD_BYTES (len) > sizeof lg->out)
    logger_flush (l, lg);
  rec = o = lg->out + lg->out_len;
  o = stpcpy (o, "{\"log\":\"");
  o = json_escape (o, (const unsigned char *) text, len);
  o = stpcpy (o, "\",\"stream\":\"");
  o = stpcpy (o, st->name);
  o = stpcpy (o, "\",\"time\":\"");
  o = stpcpy (o, lg->time);
  o = stpcpy (o, "\"}\n");
  n = (size_t) (o - rec);
  if (lg->max_size > 0 && lg->size + lg->out_len + n > lg->max_size && lg->size + lg->out_len > 0)
    {
      size_t pending = lg->out_len;

      logger_flush (l, lg);
      logger_rotate (l, lg);
      memmove (lg->out, lg->out + pending, n);
    }
  lg->out_len += n;
}

/* Where to cut a full buffer: before a UTF-8 sequence that the next read will complete. */
static size_t
utf8_cut (const char *buf, size_t len)
{
  for (size_t back = 1; back <= 3 && back <= len; back++)
    {
      unsigned char c = (unsigned char) buf[len - back];
      size_t need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;

      if ((c & 0xc0) != 0x80)
        return need > back ? len - back : len;
    }
  return len;
}

/* Turn the complete lines in the stream's buffer into records; a full buffer without a newline
   becomes a record of its own, and so does what is left at EOF (`final`). */
static void
logger_lines (struct launcher *l, struct logger *lg, struct log_stream *st, bool final)
{
  size_t start = 0;
  char *nl;

  while ((nl = memchr (st->buf + start, '\n', st->len - start)) != NULL)
    {
      size_t end = (size_t) (nl - st->buf) + 1;

      logger_record (l, lg, st, st->buf + start, end - start);
      start = end;
    }
  if (start == 0 && st->len == sizeof st->buf)
    {
      start = utf8_cut (st->buf, st->len);
      logger_record (l, lg, st, st->buf, start);
    }
  memmove (st->buf, st->buf + start, st->len - start);
  st->len -= start;
  if (final && st->len > 0)
    {
      logger_record (l, lg, st, st->buf, st->len);
      st->len = 0;
    }
}

static void
logger_stamp (struct logger *lg)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  if (ts.tv_sec < lg->last.tv_sec || (ts.tv_sec == lg->last.tv_sec && ts.tv_nsec < lg->last.tv_nsec))
    ts = lg->last; /* the clock was set back: keep the file's order and its time stamps agreeing */
  lg->last = ts;
  format_time (lg->time, &ts);
}

/* One read from a stream's pipe (so that a busy stream cannot starve the other); at EOF the
   unfinished line becomes a record and the pipe is closed. */
static void
logger_read (struct launcher *l, struct logger *lg, struct log_stream *st)
{
  ssize_t n;

  do
    n = read (st->fd, st->buf + st->len, sizeof st->buf - st->len);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n < 0)
    log_note (l, lg, "read pipe for", errno);
  logger_stamp (lg);
  if (n > 0)
    {
      st->len += (size_t) n;
      logger_lines (l, lg, st, false);
      return;
    }
  logger_lines (l, lg, st, true);
  close (st->fd);
  st->fd = -1;
}

/* After the drain: what is still unread is given up, unfinished lines become records, and the data
   reaches the disk before the exit status is recorded. */
static void
logger_finish (struct launcher *l, struct logger *lg)
{
  logger_stamp (lg);
  for (int i = 0; i < 2; i++)
    if (lg->streams[i].fd >= 0)
      {
        logger_lines (l, lg, &lg->streams[i], true);
        close (lg->streams[i].fd);
        lg->streams[i].fd = -1;
      }
  logger_flush (l, lg);
  if (fdatasync (lg->fd) < 0)
    log_note (l, lg, "fdatasync", errno);
}

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
  const char *p = list;

  *flags = 0;
  if (*p == '\0')
    return 0;
  for (;;)
    {
      size_t len = strcspn (p, ",");
      size_t i;

      for (i = 0; i < sizeof mount_flag_names / sizeof mount_flag_names[0]; i++)
        if (strlen (mount_flag_names[i].name) == len && strncmp (mount_flag_names[i].name, p, len) == 0)
          break;
      if (i == sizeof mount_flag_names / sizeof mount_flag_names[0])
        return spec_error (f, line, "unknown mount flag \"%.*s\"", (int) len, p);
      *flags |= mount_flag_names[i].flags;
      if (p[len] == '\0')
        return 0;
      p += len + 1;
    }
}

static int
parse_namespaces (struct spec *s, const char *list, size_t line, struct failure *f)
{
  const char *p = list;

  if (*p == '\0')
    return 0;
  for (;;)
    {
      size_t len = strcspn (p, ",");
      size_t i;

      for (i = 0; i < sizeof namespace_names / sizeof namespace_names[0]; i++)
        if (strlen (namespace_names[i].name) == len && strncmp (namespace_names[i].name, p, len) == 0)
          break;
      if (i == sizeof namespace_names / sizeof namespace_names[0])
        return spec_error (f, line, "unknown namespace \"%.*s\"", (int) len, p);
      if (namespace_names[i].flag == CLONE_NEWCGROUP)
        s->cgroup_ns = true;
      else
        s->clone_flags |= namespace_names[i].flag;
      if (p[len] == '\0')
        return 0;
      p += len + 1;
    }
}

static int
parse_join_namespaces (struct spec *s, const char *list, size_t line, struct failure *f)
{
  const char *p = list;

  for (;;)
    {
      size_t len = strcspn (p, ",");
      int i;

      for (i = 0; i < J_COUNT; i++)
        if (strlen (join_names[i].name) == len && strncmp (join_names[i].name, p, len) == 0)
          break;
      if (i == J_COUNT)
        return spec_error (f, line, "unknown namespace to join \"%.*s\"", (int) len, p);
      s->join_mask |= 1U << i;
      if (p[len] == '\0')
        break;
      p += len + 1;
    }
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

    case K_EXEC:
      s->exec = d;
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
      case K_EXEC:
        break;
      default:
        return spec_error (f, s->join_line, "with join the body may hold only env, cwd, user, caps, no-new-privs and exec, not %s",
                           s->body[i].name);
      }
  return 0;
}

static int
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

/* ---------------------------------------------------------------- the child: body directives */

static void
child_note (int errfd, const char *text)
{
  char buf[256];
  int n = snprintf (buf, sizeof buf, "N\t%s\n", text);

  if (n > 0 && (size_t) n < sizeof buf)
    (void) write_all (errfd, buf, (size_t) n);
}

static int
do_mkdir (const char *path, mode_t mode, struct failure *f)
{
  char buf[PATH_MAX];
  size_t len = strlen (path);
  struct stat st;

  while (len > 1 && path[len - 1] == '/')
    len--;
  if (len >= sizeof buf)
    return fail (f, "mkdir", ENAMETOOLONG, "%s", path);
  memcpy (buf, path, len);
  buf[len] = '\0';
  /* parents get 0755, like mkdir -p -m: only the last component gets the mode */
  for (char *p = buf + 1; *p != '\0'; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (buf, 0755) < 0 && errno != EEXIST)
        return fail (f, "mkdir", errno, "%s", buf);
      *p = '/';
    }
  if (mkdir (buf, mode) == 0)
    return 0;
  if (errno != EEXIST)
    return fail (f, "mkdir", errno, "%s", buf);
  if (stat (buf, &st) < 0)
    return fail (f, "mkdir", errno, "%s", buf);
  if (!S_ISDIR (st.st_mode))
    return fail (f, "mkdir", ENOTDIR, "%s", buf);
  return 0;
}

static int
do_touch (const char *path, struct failure *f)
{
  struct stat st;
  int fd;

  if (stat (path, &st) == 0)
    return 0;
  if (errno != ENOENT)
    return fail (f, "touch", errno, "%s", path);
  fd = open (path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail (f, "touch", errno, "%s", path);
  close (fd);
  return 0;
}

static int
do_mask (const char *path, struct failure *f)
{
  struct stat st;

  if (stat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return fail (f, "mask", errno, "%s", path);
    }
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
        return fail (f, "mask", errno, "%s", path);
    }
  else if (mount ("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return fail (f, "mask", errno, "%s", path);
  return 0;
}

/* Bind-remount the mount at `path` with the per-mount flags it already has plus `add`.  A bind
   remount replaces all of a mount's flags (nosuid, nodev, noexec, ro, atime), so the ones it has
   are read back with statvfs and repeated; an atime flag left out keeps the mount's own. */
static int
remount_keeping (const char *path, unsigned long add, const char *step, struct failure *f)
{
  static const struct
  {
    unsigned long st, ms;
  } keep[] = {
    { ST_RDONLY, MS_RDONLY },       { ST_NOSUID, MS_NOSUID },     { ST_NODEV, MS_NODEV },
    { ST_NOEXEC, MS_NOEXEC },       { ST_NOATIME, MS_NOATIME },   { ST_NODIRATIME, MS_NODIRATIME },
    { ST_RELATIME, MS_RELATIME },   { ST_SYNCHRONOUS, MS_SYNCHRONOUS },
  };
  unsigned long flags = MS_BIND | MS_REMOUNT | add;
  struct statvfs sv;

  if (statvfs (path, &sv) < 0)
    return fail (f, step, errno, "statvfs %s", path);
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    if (sv.f_flag & keep[i].st)
      flags |= keep[i].ms;
  if (mount (NULL, path, NULL, flags, NULL) < 0)
    return fail (f, step, errno, "remount %s", path);
  return 0;
}

static int
do_readonly (const char *path, struct failure *f)
{
  struct stat st;

  if (stat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return fail (f, "readonly", errno, "%s", path);
    }
  if (mount (path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return fail (f, "readonly", errno, "bind %s", path);
  return remount_keeping (path, MS_RDONLY, "readonly", f);
}

/* Read all of a /proc file (its size is not known in advance) into a NUL-terminated buffer. */
static int
read_proc_file (const char *path, char **text, const char *step, struct failure *f)
{
  size_t cap = 16384, off = 0;
  char *buf = malloc (cap);
  int fd;

  if (buf == NULL)
    return fail (f, step, ENOMEM, "read %s", path);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;

      free (buf);
      return fail (f, step, e, "open %s", path);
    }
  for (;;)
    {
      ssize_t n;

      if (off + 1 >= cap)
        {
          char *bigger = realloc (buf, cap *= 2);

          if (bigger == NULL)
            {
              close (fd);
              free (buf);
              return fail (f, step, ENOMEM, "read %s", path);
            }
          buf = bigger;
        }
      n = read (fd, buf + off, cap - off - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;

          close (fd);
          free (buf);
          return fail (f, step, e, "read %s", path);
        }
      if (n == 0)
        break;
      off += (size_t) n;
    }
  close (fd);
  buf[off] = '\0';
  *text = buf;
  return 0;
}

/* Undo mountinfo's octal escapes (\040 space, \011 TAB, \012 newline, \134 backslash) in place. */
static void
unescape_mountinfo (char *s)
{
  char *w = s;

  for (char *r = s; *r != '\0'; r++)
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
      {
        *w++ = (char) ((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
        r += 3;
      }
    else
      *w++ = *r;
  *w = '\0';
}

/* `remount`: the mount at path (which must be a mount point: the kernel refuses a bind remount
   elsewhere with EINVAL) and, with MS_REC, every mount below it, each keeping its own flags and
   gaining the given ones.  The mounts below are found in /proc/self/mountinfo, whose mount points
   are relative to our root as the directive's paths are.  A mount below that a later mount shadows
   is unreachable and is skipped (ENOENT/EINVAL when remounting it by path). */
static int
do_remount (const char *path, unsigned long flags, struct failure *f)
{
  char real[PATH_MAX], *info = NULL, *line, *next;
  size_t len;

  if (realpath (path, real) == NULL)
    return fail (f, "remount", errno, "%s", path);
  if (remount_keeping (real, flags & ~MS_REC, "remount", f) < 0)
    return -1;
  if (!(flags & MS_REC))
    return 0;
  if (read_proc_file ("/proc/self/mountinfo", &info, "remount", f) < 0)
    return -1;
  len = strlen (real);
  for (line = info; *line != '\0'; line = next)
    {
      char *mnt = line, *end;
      int field;

      next = strchr (line, '\n');
      next = next != NULL ? next + 1 : line + strlen (line);
      /* ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...: the fifth field */
      for (field = 1; field < 5 && mnt != NULL; field++)
        {
          mnt = strchr (mnt, ' ');
          if (mnt != NULL)
            mnt++;
        }
      if (mnt == NULL || (end = strpbrk (mnt, " \n")) == NULL)
        continue;
      *end = '\0';
      unescape_mountinfo (mnt);
      /* strictly below real: "/" has every other mount below it, "/a" has "/a/..." */
      if (len == 1 ? mnt[1] == '\0' : strncmp (mnt, real, len) != 0 || mnt[len] != '/')
        continue;
      if (remount_keeping (mnt, flags & ~MS_REC, "remount", f) < 0)
        {
          if (f->errnum == ENOENT || f->errnum == EINVAL)
            continue;
          free (info);
          return -1;
        }
    }
  free (info);
  return 0;
}

static int
do_pivot_root (const char *root, int errfd, struct failure *f)
{
  if (chdir (root) < 0)
    return fail (f, "pivot-root", errno, "chdir %s", root);
  /* pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then drops it
     (runc's trick: no put_old directory is needed inside the new root) */
  if (syscall (SYS_pivot_root, ".", ".") == 0)
    {
      /* runc: make the old root a slave first so that detaching it cannot propagate anywhere */
      if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return fail (f, "pivot-root", errno, "make old root rslave");
      if (umount2 (".", MNT_DETACH) < 0)
        return fail (f, "pivot-root", errno, "detach old root");
    }
  else if (errno == EINVAL)
    {
      /* the root is on rootfs/initramfs (or in a chroot): move the new root over / and chroot */
      if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
        return fail (f, "pivot-root", errno, "move %s to /", root);
      if (chroot (".") < 0)
        return fail (f, "pivot-root", errno, "chroot %s", root);
      child_note (errfd, "fallback chroot");
    }
  else
    return fail (f, "pivot-root", errno, "%s", root);
  if (chdir ("/") < 0)
    return fail (f, "pivot-root", errno, "chdir /");
  return 0;
}

static int
do_loopback_up (struct failure *f)
{
  struct ifreq ifr;
  int fd;

  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail (f, "loopback-up", errno, "socket");
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, "loopback-up", e, "SIOCGIFFLAGS lo");
    }
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, "loopback-up", e, "SIOCSIFFLAGS lo");
    }
  close (fd);
  return 0;
}

static int
run_directive (const struct directive *d, int errfd, struct failure *f)
{
  char *const *a = d->f;

  switch (d->kind)
    {
    case K_MOUNT:
      if (mount (a[0][0] ? a[0] : NULL, a[1], a[2][0] ? a[2] : NULL, d->flags, a[4][0] ? a[4] : NULL) < 0)
        return fail (f, "mount", errno, "%s", a[1]);
      return 0;

    case K_MKDIR:
      return do_mkdir (a[0], d->mode, f);

    case K_TOUCH:
      return do_touch (a[0], f);

    case K_MKNOD:
      if (mknod (a[0], d->mode, d->dev) < 0)
        return fail (f, "mknod", errno, "%s", a[0]);
      if (chmod (a[0], d->mode & 07777) < 0)
        return fail (f, "mknod", errno, "chmod %s", a[0]);
      return 0;

    case K_SYMLINK:
      if (symlink (a[0], a[1]) < 0 && errno != EEXIST)
        return fail (f, "symlink", errno, "%s", a[1]);
      return 0;

    case K_MASK:
      return do_mask (a[0], f);

    case K_READONLY:
      return do_readonly (a[0], f);

    case K_REMOUNT:
      return do_remount (a[0], d->flags, f);

    case K_PIVOT_ROOT:
      return do_pivot_root (a[0], errfd, f);

    case K_HOSTNAME:
      if (sethostname (a[0], strlen (a[0])) < 0)
        return fail (f, "hostname", errno, "%s", a[0]);
      return 0;

    case K_LOOPBACK_UP:
      return do_loopback_up (f);

    case K_CWD:
      if (chdir (a[0]) < 0)
        return fail (f, "cwd", errno, "%s", a[0]);
      return 0;

    case K_ENV:
    case K_USER:
    case K_CAPS:
    case K_NO_NEW_PRIVS:
    case K_EXEC:
      return 0; /* collected while parsing; applied in apply_privileges and do_exec */

    default:
      return fail (f, "spec", EINVAL, "directive %s in the body", d->name);
    }
}

/* Bounding set drop, then setgroups/setresgid/setresuid, then capset, then no_new_privs. */
static int
apply_privileges (const struct spec *s, struct failure *f)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  uint64_t permitted;
  uid_t final_uid;

  if (s->has_caps)
    for (int cap = 0; cap < 64; cap++)
      {
        int r = prctl (PR_CAPBSET_READ, cap, 0, 0, 0);

        if (r < 0 && errno == EINVAL)
          break; /* past the kernel's last capability */
        if (r < 0)
          return fail (f, "caps", errno, "read bounding set, capability %d", cap);
        if (r == 1 && !(s->caps & (UINT64_C (1) << cap)) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
          return fail (f, "caps", errno, "drop capability %d from the bounding set", cap);
      }

  if (s->has_user)
    {
      if (setgroups (s->n_gids, s->gids) < 0)
        return fail (f, "user", errno, "setgroups %s", s->n_gids ? "(list)" : "(empty)");
      if (setresgid (s->gid, s->gid, s->gid) < 0)
        return fail (f, "user", errno, "setresgid %u", (unsigned) s->gid);
      if (setresuid (s->uid, s->uid, s->uid) < 0)
        return fail (f, "user", errno, "setresuid %u", (unsigned) s->uid);
    }

  if (s->has_caps)
    {
      if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail (f, "caps", errno, "clear ambient set");
      memset (data, 0, sizeof data);
      if (syscall (SYS_capget, &hdr, data) < 0)
        return fail (f, "caps", errno, "capget");
      /* a capability the launcher never had cannot be granted: keep mask & current permitted */
      permitted = ((uint64_t) data[1].permitted << 32 | data[0].permitted) & s->caps;
      final_uid = s->has_user ? s->uid : geteuid ();
      memset (data, 0, sizeof data);
      if (final_uid == 0)
        {
          data[0].permitted = data[0].effective = (uint32_t) permitted;
          data[1].permitted = data[1].effective = (uint32_t) (permitted >> 32);
        }
      if (syscall (SYS_capset, &hdr, data) < 0)
        return fail (f, "caps", errno, "capset %016llx", (unsigned long long) permitted);
    }

  if (s->no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fail (f, "no-new-privs", errno, "prctl PR_SET_NO_NEW_PRIVS");
  return 0;
}

/* execve directly when the command has a slash, else search PATH like execvpe (without its
   /bin/sh retry on ENOEXEC).  Returns only on failure. */
static int
do_exec (const struct spec *s, struct failure *f)
{
  const char *cmd = s->exec->f[0];
  char *const *argv = s->exec->f + 1;
  const char *path = s->path_env != NULL ? s->path_env : DEFAULT_PATH;
  size_t cmd_len = strlen (cmd);
  bool eacces = false;
  char buf[PATH_MAX];

  if (strchr (cmd, '/') != NULL)
    {
      execve (cmd, argv, s->envp);
      return fail (f, "exec", errno, "%s", cmd);
    }
  if (cmd_len == 0)
    return fail (f, "exec", ENOENT, "(empty command)");
  for (const char *p = path;;)
    {
      size_t len = strcspn (p, ":");
      const char *dir = len ? p : ".";
      size_t dir_len = len ? len : 1;

      if (dir_len + 1 + cmd_len < sizeof buf)
        {
          memcpy (buf, dir, dir_len);
          buf[dir_len] = '/';
          memcpy (buf + dir_len + 1, cmd, cmd_len + 1);
          execve (buf, argv, s->envp);
          switch (errno)
            {
            case EACCES:
              eacces = true;
              break;
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT:
              break;
            default:
              return fail (f, "exec", errno, "%s", buf);
            }
        }
      if (p[len] == '\0')
        break;
      p += len + 1;
    }
  return fail (f, "exec", eacces ? EACCES : ENOENT, "%s", cmd);
}

static int
mark_fds_cloexec (struct failure *f)
{
  struct rlimit rl;

  if (syscall (SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  if (errno != ENOSYS && errno != EINVAL)
    return fail (f, "clone", errno, "close_range");
  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    return fail (f, "clone", errno, "getrlimit RLIMIT_NOFILE");
  for (rlim_t fd = 3; fd < rl.rlim_cur && fd < 65536; fd++)
    {
      int flags = fcntl ((int) fd, F_GETFD);

      if (flags >= 0 && !(flags & FD_CLOEXEC))
        fcntl ((int) fd, F_SETFD, flags | FD_CLOEXEC);
    }
  return 0;
}

/* `join`: the target's root becomes ours.  setns(CLONE_NEWNS) left us at the mount namespace's own
   root, which is the container's root only if it could pivot_root (not after the chroot fallback),
   so the root is taken from the target itself and the cwd resolved anew inside it, as runc's
   nsenter does. */
static int
enter_root (int root, struct failure *f)
{
  if (fchdir (root) < 0)
    return fail (f, "join", errno, "fchdir to the container's root");
  if (chroot (".") < 0)
    return fail (f, "join", errno, "chroot to the container's root");
  if (chdir ("/") < 0)
    return fail (f, "join", errno, "chdir / in the container's root");
  return 0;
}

static int
child_setup (const struct spec *s, const struct child_stdio *io, const struct handles *h, bool in_cgroup, int errfd,
             struct failure *f)
{
  /* the fds in io are all above 2 (dup_above_stdio), so dup2 always makes a new, inheritable fd */
  for (int i = 0; i < 3; i++)
    if (io->fd[i] >= 0 && dup2 (io->fd[i], i) < 0)
      return fail (f, "stdio", errno, "dup2 onto fd %d", i);
  if (mark_fds_cloexec (f) < 0)
    return -1;
  if (!in_cgroup)
    for (size_t i = 0; i < s->n_cgroup_procs; i++)
      if (write_all (h->cgroup_procs[i], "0", 1) < 0)
        return fail (f, "cgroup", errno, "%s", s->cgroup_procs[i]);
  if (h->ns[J_CGROUP] >= 0 && setns (h->ns[J_CGROUP], CLONE_NEWCGROUP) < 0)
    return fail (f, "join", errno, "setns cgroup");
  if (s->cgroup_ns && unshare (CLONE_NEWCGROUP) < 0)
    return fail (f, "namespaces", errno, "unshare cgroup namespace");
  if (h->root >= 0 && enter_root (h->root, f) < 0)
    return -1;
  if (setsid () < 0)
    return fail (f, "setsid", errno, "setsid");
  for (size_t i = 0; i < s->n_body; i++)
    if (run_directive (&s->body[i], errfd, f) < 0)
      return -1;
  return apply_privileges (s, f);
}

static _Noreturn void
child_main (const struct spec *s, const struct child_stdio *io, const struct handles *h, bool in_cgroup, int errfd,
            const sigset_t *orig_mask)
{
  struct failure f = { 0 };
  mode_t orig_umask = umask (0); /* directives get exactly the modes the spec asks for */
  char buf[1200], detail[1100];
  int n;

  if (child_setup (s, io, h, in_cgroup, errfd, &f) == 0)
    {
      umask (orig_umask);
      if (sigprocmask (SIG_SETMASK, orig_mask, NULL) < 0)
        fail (&f, "exec", errno, "sigprocmask");
      else
        do_exec (s, &f);
    }
  escape (detail, sizeof detail, f.detail);
  n = snprintf (buf, sizeof buf, "E\t%s\t%d\t%s\n", f.step, f.errnum, detail);
  if (n > 0)
    (void) write_all (errfd, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
  if (strcmp (f.step, "exec") != 0)
    _exit (EXIT_SETUP);
  _exit (f.errnum == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* ---------------------------------------------------------------- opening and joining */

/* `join`'s target: /proc/PID, opened once, pins that very process (a later process with the same
   pid is another /proc entry), so its start time is checked through it, and its namespaces and root
   are opened through it: all of them belong to the process whose start time was checked, or the
   opens fail because it is gone. */
static int
open_join_target (const struct spec *s, struct handles *h, int proc, const char *shown, struct failure *f)
{
  unsigned long long start;
  char stat_name[80];

  snprintf (stat_name, sizeof stat_name, "%s/stat", shown);
  if (read_start_time_at (proc, "stat", stat_name, "join", &start, f) < 0)
    return -1;
  if (start != s->join_start)
    return fail (f, "join", ESRCH, "%s started at %llu, not at %llu: the process to join is gone and its pid reused", shown,
                 start, s->join_start);
  for (int i = 0; i < J_COUNT; i++)
    {
      char name[32], own[48];
      struct stat theirs, ours;

      if (!(s->join_mask & (1U << i)))
        continue;
      snprintf (name, sizeof name, "ns/%s", join_names[i].proc);
      h->ns[i] = openat (proc, name, O_RDONLY | O_CLOEXEC);
      if (h->ns[i] < 0)
        return fail (f, "join", errno, "open %s/%s", shown, name);
      snprintf (own, sizeof own, "/proc/self/ns/%s", join_names[i].proc);
      if (fstat (h->ns[i], &theirs) < 0)
        return fail (f, "join", errno, "stat %s/%s", shown, name);
      if (stat (own, &ours) < 0)
        return fail (f, "join", errno, "stat %s", own);
      /* one the launcher is in already (the host's network with --network host) is left alone:
         setns into one's own user namespace is even an error */
      if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino)
        {
          close (h->ns[i]);
          h->ns[i] = -1;
        }
    }
  h->root = openat (proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->root < 0)
    return fail (f, "join", errno, "open %s/root", shown);
  return 0;
}

/* Open the cgroup (both modes) and the target (`join`), all before any setns. */
static int
open_handles (const struct spec *s, struct handles *h, struct failure *f)
{
  char shown[32];
  int proc, r;

  h->cgroup_dir = h->root = -1;
  for (int i = 0; i < J_COUNT; i++)
    h->ns[i] = -1;
  h->cgroup_procs = malloc ((s->n_cgroup_procs + 1) * sizeof *h->cgroup_procs);
  if (h->cgroup_procs == NULL)
    return fail (f, "cgroup", ENOMEM, "cgroup.procs descriptors");
  for (size_t i = 0; i < s->n_cgroup_procs; i++)
    h->cgroup_procs[i] = -1;
  if (s->cgroup_dir != NULL && (h->cgroup_dir = open (s->cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return fail (f, "cgroup", errno, "%s", s->cgroup_dir);
  for (size_t i = 0; i < s->n_cgroup_procs; i++)
    if ((h->cgroup_procs[i] = open (s->cgroup_procs[i], O_WRONLY | O_CLOEXEC)) < 0)
      return fail (f, "cgroup", errno, "%s", s->cgroup_procs[i]);
  if (s->join_line == 0)
    return 0;
  snprintf (shown, sizeof shown, "/proc/%d", (int) s->join_pid);
  proc = open (shown, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0)
    return fail (f, "join", errno, "open %s", shown);
  r = open_join_target (s, h, proc, shown, f);
  close (proc);
  return r;
}

/* setns into the target's namespaces but the cgroup one (the child's, see enum join_ns), in order.
   Joining the pid namespace affects only the children: the child is created in it (and is not a
   child of the container's PID 1); the launcher itself stays where it is. */
static int
enter_namespaces (struct handles *h, struct failure *f)
{
  for (int i = 0; i < J_COUNT; i++)
    {
      if (i == J_CGROUP || h->ns[i] < 0)
        continue;
      if (setns (h->ns[i], join_names[i].type) < 0)
        return fail (f, "join", errno, "setns %s", join_names[i].name);
      close (h->ns[i]);
      h->ns[i] = -1;
    }
  return 0;
}

/* After the child exists the launcher needs none of them (the child has its own copies). */
static void
close_handles (const struct spec *s, struct handles *h)
{
  if (h->cgroup_dir >= 0)
    close (h->cgroup_dir);
  for (size_t i = 0; h->cgroup_procs != NULL && i < s->n_cgroup_procs; i++)
    if (h->cgroup_procs[i] >= 0)
      close (h->cgroup_procs[i]);
  for (int i = 0; i < J_COUNT; i++)
    if (h->ns[i] >= 0)
      close (h->ns[i]);
  if (h->root >= 0)
    close (h->root);
  h->cgroup_dir = h->root = -1;
  for (int i = 0; i < J_COUNT; i++)
    h->ns[i] = -1;
  free (h->cgroup_procs);
  h->cgroup_procs = NULL;
}

/* ---------------------------------------------------------------- the launcher */

static pid_t
spawn (const struct spec *s, const struct child_stdio *io, const struct handles *h, struct launcher *l, int errfd,
       const sigset_t *orig_mask, struct failure *f)
{
  char name[16];
  long pid;

  if (h->cgroup_dir >= 0)
    {
      struct clone_args ca;
      int e;

      memset (&ca, 0, sizeof ca);
      ca.flags = s->clone_flags | CLONE_INTO_CGROUP;
      ca.exit_signal = SIGCHLD;
      ca.cgroup = (uint64_t) h->cgroup_dir;
      pid = syscall (SYS_clone3, &ca, sizeof ca);
      if (pid == 0)
        child_main (s, io, h, true, errfd, orig_mask);
      e = errno;
      if (pid > 0)
        return (pid_t) pid;
      if (e != ENOSYS && e != E2BIG && e != EINVAL)
        return fail (f, "clone", e, "clone3 into %s", s->cgroup_dir);
      status_line (l, "note\tclone3 unavailable: %s", errno_name (e, name));
    }
  /* no stack: the child runs on a copy of ours, like fork */
  pid = syscall (SYS_clone, s->clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0)
    child_main (s, io, h, false, errfd, orig_mask);
  if (pid < 0)
    return fail (f, "clone", errno, "clone");
  return (pid_t) pid;
}

/* A failure record from the child: "E\tstep\terrno\tescaped detail". */
struct child_failure
{
  bool present;
  char step[32];
  int errnum;
  char detail[1100];
};

static void
copy_str (char *dst, size_t cap, const char *src)
{
  size_t len = strnlen (src, cap - 1);

  memcpy (dst, src, len);
  dst[len] = '\0';
}

static void
handle_child_record (struct launcher *l, char *rec, struct child_failure *cf)
{
  char *step, *num, *detail;

  if (rec[0] == 'N' && rec[1] == '\t')
    {
      status_line (l, "note\t%s", rec + 2);
      return;
    }
  if (rec[0] != 'E' || rec[1] != '\t' || cf->present)
    return;
  step = rec + 2;
  num = strchr (step, '\t');
  if (num == NULL)
    return;
  *num++ = '\0';
  detail = strchr (num, '\t');
  if (detail == NULL)
    return;
  *detail++ = '\0';
  cf->present = true;
  copy_str (cf->step, sizeof cf->step, step);
  cf->errnum = atoi (num);
  copy_str (cf->detail, sizeof cf->detail, detail);
}

static int
sig_bit (int sig)
{
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
    if (forwarded_signals[i] == sig)
      return (int) i;
  return -1;
}

/* Read the child's error pipe to EOF.  Forwarded signals that arrive meanwhile are held in
   *pending: the child ignores them until exec (as PID 1 of its namespace it has no handlers). */
static int
await_exec (struct launcher *l, int errfd, int sfd, unsigned *pending, struct child_failure *cf,
            struct failure *f)
{
  char buf[2048];
  size_t len = 0;

  for (;;)
    {
      struct pollfd pfd[2] = { { .fd = errfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
      ssize_t n;

      if (poll (pfd, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return fail (f, "clone", errno, "poll");
        }
      if (pfd[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;

          if (read (sfd, &si, sizeof si) == sizeof si && sig_bit ((int) si.ssi_signo) >= 0)
            *pending |= 1U << sig_bit ((int) si.ssi_signo);
        }
      if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      n = read (errfd, buf + len, sizeof buf - 1 - len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return fail (f, "clone", errno, "read error pipe");
        }
      if (n == 0)
        return 0;
      len += (size_t) n;
      buf[len] = '\0';
      for (char *nl; (nl = strchr (buf, '\n')) != NULL;)
        {
          *nl = '\0';
          handle_child_record (l, buf, cf);
          len -= (size_t) (nl + 1 - buf);
          memmove (buf, nl + 1, len + 1);
        }
      if (len == sizeof buf - 1)
        len = 0; /* an overlong record: drop it */
    }
}

static long long
monotonic_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Forward signals and copy the workload's output into the log until the workload ends, then read
   its pipes to EOF for at most LOG_DRAIN_MS (a process it left behind may hold them open).  Returns
   its wait status and the time it ended.  Once the workload is reaped its pid may be reused, so
   nothing is sent to it any more and nothing after that is a failure. */
static int
supervise (struct launcher *l, pid_t pid, int sfd, unsigned pending, struct logger *lg, int *wstatus,
           struct timespec *ended, struct failure *f)
{
  long long deadline = 0;
  bool reaped = false;

  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
    if (pending & (1U << i))
      kill (pid, forwarded_signals[i]);
  for (;;)
    {
      struct log_stream *which[3] = { NULL, NULL, NULL };
      struct pollfd pfd[3];
      nfds_t n = 0;
      int timeout = -1;

      if (!reaped)
        {
          pid_t r = waitpid (pid, wstatus, WNOHANG);

          if (r < 0 && errno != EINTR)
            return fail (f, "wait", errno, "waitpid %d", (int) pid);
          if (r == pid)
            {
              reaped = true;
              clock_gettime (CLOCK_REALTIME, ended);
              deadline = monotonic_ms () + LOG_DRAIN_MS;
            }
        }
      if (reaped)
        {
          long long left = deadline - monotonic_ms ();

          if (lg == NULL || (lg->streams[0].fd < 0 && lg->streams[1].fd < 0) || left <= 0)
            return 0;
          timeout = (int) left;
        }
      else
        pfd[n++] = (struct pollfd) { .fd = sfd, .events = POLLIN };
      for (int i = 0; lg != NULL && i < 2; i++)
        if (lg->streams[i].fd >= 0)
          {
            which[n] = &lg->streams[i];
            pfd[n++] = (struct pollfd) { .fd = lg->streams[i].fd, .events = POLLIN };
          }
      if (poll (pfd, n, timeout) < 0)
        {
          if (errno == EINTR)
            continue;
          if (reaped)
            return 0;
          return fail (f, "wait", errno, "poll");
        }
      for (nfds_t i = 0; i < n; i++)
        {
          struct signalfd_siginfo si;

          if (pfd[i].revents == 0)
            continue;
          if (which[i] != NULL)
            logger_read (l, lg, which[i]);
          else if (read (sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD)
            kill (pid, (int) si.ssi_signo);
        }
      if (lg != NULL)
        logger_flush (l, lg);
    }
}

static int
reap (pid_t pid, int *wstatus)
{
  while (waitpid (pid, wstatus, 0) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

/* Double fork.  The process the caller started exits as soon as the grandchild (the detached
   launcher) exists, with the intermediate child's code: 0, or 125 if setsid or the second fork
   failed.  setsid in the intermediate child leaves the launcher in a session of its own of which it
   is not the leader, so it can never gain a controlling terminal.  Returns in the launcher. */
static int
detach (struct launcher *l, int devnull, struct failure *f)
{
  unsigned long long start;
  char buf[64];
  pid_t p;
  int st;

  p = fork ();
  if (p < 0)
    return fail (f, "detach", errno, "fork");
  if (p > 0)
    _exit (reap (p, &st) == 0 && WIFEXITED (st) ? WEXITSTATUS (st) : EXIT_SETUP);
  if (setsid () < 0)
    return fail (f, "detach", errno, "setsid");
  p = fork ();
  if (p < 0)
    return fail (f, "detach", errno, "fork");
  if (p > 0)
    _exit (0);
  if (chdir ("/") < 0)
    return fail (f, "detach", errno, "chdir /");
  if (dup2 (devnull, STDIN_FILENO) < 0)
    return fail (f, "detach", errno, "dup2 /dev/null onto fd 0");
  if (read_start_time (getpid (), &start, f) < 0)
    return -1;
  snprintf (buf, sizeof buf, "%d %llu\n", (int) getpid (), start);
  return write_state (l, "launcher.pid", buf, f);
}

/* A detached launcher is done with its caller after `started`: fd 3 is closed, and fd 1 and 2
   (the caller's, kept until now for the last-resort message) become /dev/null. */
static void
end_status (struct launcher *l, int devnull)
{
  if (l->own_status_fd)
    close (STATUS_FD);
  l->own_status_fd = false;
  l->status_fd = -1;
  l->status_broken = false;
  (void) dup2 (devnull, STDOUT_FILENO);
  (void) dup2 (devnull, STDERR_FILENO);
}

/* The exit file: "<what> <time>\n", the time when the workload ended (or now, for a failure). */
static void
record_exit (struct launcher *l, const char *what, const struct timespec *when)
{
  char buf[192], time[TIME_BUF], name[16];
  struct failure f;

  if (l->state_dirfd < 0)
    return;
  if (when != NULL)
    format_time (time, when);
  else
    now_string (time);
  snprintf (buf, sizeof buf, "%s %s\n", what, time);
  if (write_state (l, "exit", buf, &f) < 0)
    status_line (l, "note\tstate-dir: %s: %s", f.detail, errno_name (f.errnum, name));
}

int
main (int argc, char **argv)
{
  struct launcher l = { .status_fd = -1, .state_dirfd = -1 };
  struct failure f = { 0 };
  struct child_failure cf = { 0 };
  struct child_stdio io = { { -1, -1, -1 } };
  struct handles h = { .cgroup_dir = -1, .root = -1, .ns = { -1, -1, -1, -1, -1, -1, -1 } };
  struct logger *lg = NULL;
  struct spec s = { 0 };
  struct timespec ended;
  sigset_t block, orig_mask;
  int errpipe[2] = { -1, -1 };
  int log_w[2] = { -1, -1 };
  int sfd, wstatus, code, devnull = -1;
  unsigned pending = 0;
  char buf[128], name[16], detail[1100];
  pid_t pid = -1;

  /* a closed fd 0, 1 or 2 is opened on /dev/null first, so that none of the launcher's own fds
     lands there (the child dup2s onto them) */
  for (int fd = 0; fd < 3; fd++)
    if (fcntl (fd, F_GETFD) < 0 && errno == EBADF)
      (void) open ("/dev/null", O_RDWR);
  if (fcntl (STATUS_FD, F_SETFD, FD_CLOEXEC) == 0)
    {
      l.status_fd = STATUS_FD;
      l.own_status_fd = true;
    }

  /* forwarded signals and SIGCHLD are read from a signalfd; SIGPIPE is blocked so that a closed
     status pipe gives EPIPE instead of killing the launcher.  The child restores orig_mask. */
  sigemptyset (&block);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
    sigaddset (&block, forwarded_signals[i]);
  sigaddset (&block, SIGCHLD);
  if (sigprocmask (SIG_BLOCK, &block, &orig_mask) < 0)
    {
      fail (&f, "clone", errno, "sigprocmask");
      goto fail;
    }
  sfd = signalfd (-1, &block, SFD_CLOEXEC);
  if (sfd < 0)
    {
      fail (&f, "clone", errno, "signalfd");
      goto fail;
    }
  sigaddset (&block, SIGPIPE);
  sigprocmask (SIG_BLOCK, &block, NULL);

  if (argc != 2)
    {
      fail (&f, "spec", EINVAL, "usage: corral-launch SPEC_FILE");
      goto fail;
    }
  if (parse_spec (argv[1], &s, &f) < 0)
    goto fail;
  if (s.state_dir != NULL)
    {
      l.state_dirfd = open (s.state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (l.state_dirfd < 0)
        {
          fail (&f, "state-dir", errno, "%s", s.state_dir);
          goto fail;
        }
    }
  if (s.log_path != NULL)
    {
      if (logger_open (s.log_path, s.log_max_size, s.log_max_files, &lg, log_w, &f) < 0)
        goto fail;
      io.fd[STDOUT_FILENO] = log_w[0];
      io.fd[STDERR_FILENO] = log_w[1];
    }
  if (s.detach_line != 0)
    {
      devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (devnull < 0)
        {
          fail (&f, "detach", errno, "/dev/null");
          goto fail;
        }
      if (lg == NULL)
        io.fd[STDOUT_FILENO] = io.fd[STDERR_FILENO] = devnull;
      if (detach (&l, devnull, &f) < 0)
        goto fail;
    }
  if (open_handles (&s, &h, &f) < 0)
    goto fail;
  if (s.join_line != 0 && enter_namespaces (&h, &f) < 0)
    goto fail;
  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    {
      fail (&f, "clone", errno, "pipe2");
      goto fail;
    }

  pid = spawn (&s, &io, &h, &l, errpipe[1], &orig_mask, &f);
  close (errpipe[1]);
  close_handles (&s, &h);
  if (lg != NULL)
    {
      close (log_w[0]);
      close (log_w[1]);
    }
  if (pid < 0)
    goto fail;

  if (l.state_dirfd >= 0)
    {
      unsigned long long start = 0;

      if (read_start_time (pid, &start, &f) < 0)
        goto fail_kill;
      snprintf (buf, sizeof buf, "%d %llu\n", (int) pid, start);
      if (write_state (&l, "pid", buf, &f) < 0)
        goto fail_kill;
    }
  status_line (&l, "pid\t%d", (int) pid);

  if (await_exec (&l, errpipe[0], sfd, &pending, &cf, &f) < 0)
    goto fail_kill;
  close (errpipe[0]);
  if (cf.present)
    {
      (void) reap (pid, &wstatus);
      snprintf (buf, sizeof buf, "failed %s %s", cf.step, errno_name (cf.errnum, name));
      record_exit (&l, buf, NULL);
      report_error (&l, cf.step, cf.errnum, cf.detail);
      if (strcmp (cf.step, "exec") != 0)
        return EXIT_SETUP;
      return cf.errnum == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
    }
  status_line (&l, "started");
  if (s.detach_line != 0)
    end_status (&l, devnull);

  if (supervise (&l, pid, sfd, pending, lg, &wstatus, &ended, &f) < 0)
    goto fail_kill;
  if (lg != NULL)
    logger_finish (&l, lg);
  if (WIFSIGNALED (wstatus))
    {
      code = 128 + WTERMSIG (wstatus);
      snprintf (buf, sizeof buf, "signaled %d", WTERMSIG (wstatus));
    }
  else
    {
      code = WEXITSTATUS (wstatus);
      snprintf (buf, sizeof buf, "exited %d", code);
    }
  record_exit (&l, buf, &ended);
  buf[strcspn (buf, " ")] = '\t';
  status_line (&l, "exit\t%s", buf);
  return code;

fail_kill:
  /* the launcher cannot keep track of the child: do not leave it running unsupervised */
  kill (pid, SIGKILL);
  (void) reap (pid, &wstatus);
fail:
  if (l.state_dirfd < 0 && s.state_dir != NULL)
    l.state_dirfd = open (s.state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf (buf, sizeof buf, "failed %s %s", f.step, errno_name (f.errnum, name));
  record_exit (&l, buf, NULL);
  escape (detail, sizeof detail, f.detail);
  report_error (&l, f.step, f.errnum, detail);
  return EXIT_SETUP;
}
