#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "log.h"

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
int
logger_open (const char *path, unsigned long long max_size, unsigned max_files, struct logger **out, int pipe_w[2],
             struct failure *f)
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
void
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
          bool ok = (c == 0xe0   ? c1 >= 0xa0
                     : c == 0xed ? c1 <= 0x9f
                     : c == 0xf0 ? c1 >= 0x90
                     : c == 0xf4 ? c1 <= 0x8f
                                 : true)
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
void
logger_read (struct launcher *l, struct logger *lg, struct log_stream *st)
{
  ssize_t n;

  do
    n = read (st->fd, st->buf + st->len, sizeof st->buf - st->len);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  /* EIO: a terminal whose every other end is closed, its EOF */
  if (n < 0 && errno != EIO)
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
void
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
