#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/util.h"
#include "limits.h"

/* Docker's ulimit names (go-units), as `docker run --ulimit` takes them. */
static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
  { "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },     { "nproc", RLIMIT_NPROC },
  { "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },
};

/* A limit: decimal, or `unlimited` (RLIM_INFINITY). */
static int
parse_rlim (const char *s, unsigned long long *out)
{
  char *end;

  if (strcmp (s, "unlimited") == 0)
    {
      *out = RLIM_INFINITY;
      return 0;
    }
  if (s[0] < '0' || s[0] > '9')
    return -1;
  errno = 0;
  *out = strtoull (s, &end, 10);
  if (errno != 0 || *end != '\0' || *out >= RLIM_INFINITY)
    return -1;
  return 0;
}

int
parse_rlimit (struct directive *d, const char **why)
{
  size_t i;

  for (i = 0; i < ARRAY_SIZE (rlimit_names); i++)
    if (strcmp (rlimit_names[i].name, d->f[0]) == 0)
      break;
  if (i == ARRAY_SIZE (rlimit_names))
    {
      *why = "unknown rlimit name (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, "
             "rtprio, rttime, sigpending, stack)";
      return -1;
    }
  d->resource = rlimit_names[i].resource;
  if (parse_rlim (d->f[1], &d->soft) < 0 || parse_rlim (d->f[2], &d->hard) < 0)
    {
      *why = "rlimit values are decimal numbers or unlimited";
      return -1;
    }
  if (d->soft > d->hard)
    {
      *why = "the soft limit is above the hard limit";
      return -1;
    }
  return 0;
}

int
parse_oom_score_adj (const char *value)
{
  char *end;
  long v;

  if (value[0] == '\0' || value[0] == ' ' || value[0] == '+')
    return -1;
  errno = 0;
  v = strtol (value, &end, 10);
  return errno != 0 || *end != '\0' || v < -1000 || v > 1000 ? -1 : 0;
}

int
do_rlimit (const struct directive *d, struct failure *f)
{
  struct rlimit rl = { .rlim_cur = (rlim_t) d->soft, .rlim_max = (rlim_t) d->hard };

  if (setrlimit (d->resource, &rl) < 0)
    return fail (f, "rlimit", errno, "%s %s:%s", d->f[0], d->f[1], d->f[2]);
  return 0;
}

/* Through /proc/self, which is the container's own /proc once pivot-root is done (and the host's
   before): either way this process's file. */
int
do_oom_score_adj (const char *value, struct failure *f)
{
  int fd = open ("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

  if (fd < 0)
    return fail (f, "oom-score-adj", errno, "open /proc/self/oom_score_adj");
  if (write_all (fd, value, strlen (value)) < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, "oom-score-adj", e, "write %s to /proc/self/oom_score_adj", value);
    }
  close (fd);
  return 0;
}
