/* The kernel's floor for bench:sampling: the preads of the sampler's passes and nothing else (no
 * parsing, no samples, no garbage), so that the sampler's CPU time can be given as a ratio to what
 * reading the same files costs on the same machine in the same run.
 *
 *   sample-floor LIST INTERVAL_MS IDLE_MS SECONDS
 *
 * LIST (bench/sampler-files.ts writes it): `h PATH` a host-wide file, read every tick; `c PHASE_MS`
 * starts a container, whose `a PATH` files (its activity counters) and `f PATH` files (the rest of a
 * full reading) follow.  Every file is opened once and re-read with pread at offset 0, as the
 * sampler's OpenFileCgroupFs does (one pread, and more only from 2048 bytes on).
 *
 * Each tick, as Sampler.sampleInto: with IDLE_MS > INTERVAL_MS (quiet mode) a container's activity
 * files are read, and the rest only when their texts differ from those of its last full reading or
 * when its own idle window (of IDLE_MS, shifted by PHASE_MS, on the wall clock) has moved on; otherwise
 * every file every tick.  Ticks come every INTERVAL_MS; after 2 s of them, the CPU time (getrusage:
 * user + system) over the next SECONDS (whole intervals) is printed as one JSON line, in % of one core. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SURELY_WHOLE 2048
#define ACTIVITY_MAX 1024
#define WARM_UP_MS 2000

struct file
{
  int fd;
  char kind; /* 'h', 'a' or 'f' */
  /* activity files: the text at the container's last full reading, and this tick's */
  char *last, *now;
  size_t last_len, now_len;
};

struct container
{
  long phase_ms;
  size_t first, count; /* its files in the file array */
  int has_activity;    /* its last full reading's activity texts are kept */
  long long full_at_ms;
};

static struct file *files;
static size_t n_files, cap_files;
static struct container *containers;
static size_t n_containers, cap_containers;
static size_t n_host;
static char buf[1 << 16];
static unsigned long long preads, errors, full_reads, quiet_reads;

static void
die (const char *what, const char *detail)
{
  fprintf (stderr, "sample-floor: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "", strerror (errno));
  exit (1);
}

static void *
grow (void *array, size_t *cap, size_t size)
{
  *cap = *cap ? *cap * 2 : 64;
  void *p = realloc (array, *cap * size);
  if (!p)
    die ("realloc", NULL);
  return p;
}

/* The whole file, as OpenFileCgroupFs.readSync reads it; its length, or -1 (counted in errors). */
static ssize_t
read_whole (int fd)
{
  ssize_t length = pread (fd, buf, sizeof buf, 0);
  preads++;
  if (length < 0)
    {
      errors++;
      return -1;
    }
  if (length >= SURELY_WHOLE)
    for (;;)
      {
        ssize_t n = pread (fd, buf + length, sizeof buf - length, length);
        preads++;
        if (n < 0)
          {
            errors++;
            return -1;
          }
        if (n == 0 || (size_t) length + n == sizeof buf)
          break;
        length += n;
      }
  return length;
}

static void
load (const char *list)
{
  FILE *in = fopen (list, "r");
  if (!in)
    die ("cannot open", list);
  char *line = NULL;
  size_t line_cap = 0;
  ssize_t len;
  while ((len = getline (&line, &line_cap, in)) > 0)
    {
      if (line[len - 1] == '\n')
        line[--len] = '\0';
      if (len < 3 || line[1] != ' ')
        {
          errno = EINVAL;
          die ("a line of LIST is not `h|c|a|f VALUE`:", line);
        }
      if (line[0] == 'c')
        {
          if (n_containers == cap_containers)
            containers = grow (containers, &cap_containers, sizeof *containers);
          containers[n_containers++] = (struct container) { .phase_ms = atol (line + 2), .first = n_files };
          continue;
        }
      if (line[0] != 'h' && line[0] != 'a' && line[0] != 'f')
        {
          errno = EINVAL;
          die ("a line of LIST is not `h|c|a|f VALUE`:", line);
        }
      if (line[0] != 'h' && n_containers == 0)
        {
          errno = EINVAL;
          die ("a container's file comes before its `c` line:", line);
        }
      if (n_files == cap_files)
        files = grow (files, &cap_files, sizeof *files);
      int fd = open (line + 2, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        die ("cannot open", line + 2);
      files[n_files++] = (struct file) { .fd = fd, .kind = line[0] };
      if (line[0] == 'h')
        n_host++;
      else
        containers[n_containers - 1].count++;
      if (line[0] == 'a'
          && (!(files[n_files - 1].last = malloc (ACTIVITY_MAX)) || !(files[n_files - 1].now = malloc (ACTIVITY_MAX))))
        die ("malloc", NULL);
    }
  free (line);
  fclose (in);
}

static long long
wall_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_REALTIME, &t);
  return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A container's activity files read now, compared with (and, on a full reading, kept as) the last
 * full reading's; then the rest when due. */
static void
sample (struct container *c, int quiet_mode, long idle_ms)
{
  struct file *f = files + c->first, *end = f + c->count;
  if (!quiet_mode)
    {
      for (; f < end; f++)
        read_whole (f->fd);
      full_reads++;
      return;
    }
  long long now = wall_ms ();
  int same = c->has_activity, failed = 0;
  for (struct file *a = f; a < end && a->kind == 'a'; a++)
    {
      ssize_t n = read_whole (a->fd);
      if (n < 0 || n > ACTIVITY_MAX)
        {
          failed = 1;
          continue;
        }
      memcpy (a->now, buf, n); /* the sampler keeps this reading's texts too */
      a->now_len = n;
      if (same && ((size_t) n != a->last_len || memcmp (a->last, a->now, n) != 0))
        same = 0;
    }
  if (same && !failed && (now + c->phase_ms) / idle_ms == (c->full_at_ms + c->phase_ms) / idle_ms)
    {
      quiet_reads++;
      return;
    }
  /* a full reading: this reading's activity texts become the ones to compare with */
  for (struct file *a = f; a < end && a->kind == 'a'; a++)
    {
      char *kept = a->last;
      a->last = a->now;
      a->now = kept;
      a->last_len = a->now_len;
    }
  for (; f < end; f++)
    if (f->kind == 'f')
      read_whole (f->fd);
  c->has_activity = !failed;
  c->full_at_ms = now;
  full_reads++;
}

static void
pass (int quiet_mode, long idle_ms)
{
  for (size_t i = 0; i < n_host; i++)
    read_whole (files[i].fd);
  for (size_t i = 0; i < n_containers; i++)
    sample (&containers[i], quiet_mode, idle_ms);
}

static double
cpu_seconds (void)
{
  struct rusage u;
  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double
mono_seconds (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void
sleep_until (struct timespec *due, long interval_ms)
{
  due->tv_nsec += (interval_ms % 1000) * 1000000;
  due->tv_sec += interval_ms / 1000 + due->tv_nsec / 1000000000;
  due->tv_nsec %= 1000000000;
  while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, due, NULL) == EINTR)
    ;
}

int
main (int argc, char **argv)
{
  if (argc != 5)
    {
      fprintf (stderr, "usage: sample-floor LIST INTERVAL_MS IDLE_MS SECONDS\n");
      return 2;
    }
  long interval_ms = atol (argv[2]), idle_ms = atol (argv[3]);
  double seconds = atof (argv[4]);
  if (interval_ms <= 0 || idle_ms <= 0 || seconds <= 0)
    {
      fprintf (stderr, "sample-floor: INTERVAL_MS, IDLE_MS and SECONDS must be positive numbers\n");
      return 2;
    }
  load (argv[1]);
  int quiet_mode = idle_ms > interval_ms;

  struct timespec due;
  clock_gettime (CLOCK_MONOTONIC, &due);
  double start = mono_seconds ();
  while (mono_seconds () - start < WARM_UP_MS / 1000.0)
    {
      pass (quiet_mode, idle_ms);
      sleep_until (&due, interval_ms);
    }
  unsigned long long preads0 = preads, full0 = full_reads, quiet0 = quiet_reads;
  double cpu0 = cpu_seconds (), t0 = mono_seconds ();
  /* whole intervals, from one tick's due time to one after the last tick */
  unsigned long ticks = (unsigned long) (seconds * 1000 / interval_ms + 0.5);
  for (unsigned long i = 0; i < ticks; i++)
    {
      pass (quiet_mode, idle_ms);
      sleep_until (&due, interval_ms);
    }
  double wall = mono_seconds () - t0, cpu = cpu_seconds () - cpu0;
  printf (
      "{\"percent\":%.4f,\"ticks\":%lu,\"containers\":%zu,\"files\":%zu,\"preads\":%llu,\"full\":%llu,\"quiet\":%llu,"
      "\"errors\":%llu}\n",
      cpu / wall * 100, ticks, n_containers, n_files, preads - preads0, full_reads - full0, quiet_reads - quiet0,
      errors);
  return 0;
}
