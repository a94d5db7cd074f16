#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "status.h"

/* ---------------------------------------------------------------- status lines and state files */

void
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
void
report_error (struct launcher *l, const char *step, int errnum, const char *escaped_detail)
{
  char name[16];

  status_line (l, "error\t%s\t%d\t%s\t%s", step, errnum, errno_name (errnum, name), escaped_detail);
  if (l->status_broken)
    {
      char buf[1536];
      int n = snprintf (buf, sizeof buf, "corral-launch: %s %s: %s\n", step, escaped_detail, errno_name (errnum, name));

      if (n > 0)
        (void) write_all (STDERR_FILENO, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
    }
}

/* Write `name` in the state directory atomically: temporary name, fsync, rename. */
int
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
int
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

int
read_start_time (pid_t pid, unsigned long long *start, struct failure *f)
{
  char path[64];

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  return read_start_time_at (AT_FDCWD, path, path, "state-dir", start, f);
}
/* ---------------------------------------------------------------- time stamps */

/* RFC 3339 in UTC with nine fractional digits (Docker's RFC3339NanoFixed).  The civil date is
   computed by hand (Howard Hinnant's civil_from_days): gmtime_r would pull in glibc's
   time zone machinery for nothing. */
void
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
  snprintf (out, TIME_BUF, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", y, m, d, rem / 3600, rem / 60 % 60, rem % 60,
            (long) ts->tv_nsec);
}

void
now_string (char out[TIME_BUF])
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  format_time (out, &ts);
}

/* ---------------------------------------------------------------- the exit file */

/* The exit file: "<what> <time>\n", the time when the workload ended (or now, for a failure). */
void
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
