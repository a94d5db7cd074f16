#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"
#include "tty.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

int
child_console (const struct spec *s, int sock, bool keep_stdin, struct failure *f)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = "M", .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c;
  int unlock = 0, master, slave;

  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return fail (f, "tty", errno, "open /dev/ptmx");
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return fail (f, "tty", errno, "unlock the pty");
  /* the peer by the master itself, not by a path that could be raced */
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0)
    return fail (f, "tty", errno, "open the pty's peer");
  /* the workload's user owns its terminal, as with runc (group tty's 5 is devpts' gid= option) */
  if (s->has_user && fchown (slave, s->uid, (gid_t) -1) < 0)
    return fail (f, "tty", errno, "chown the pty to %u", (unsigned) s->uid);
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return fail (f, "tty", errno, "make the pty the controlling terminal");
  for (int fd = keep_stdin ? 1 : 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      return fail (f, "tty", errno, "dup2 the pty onto fd %d", fd);
  if (slave > 2)
    close (slave);
  memset (u.buf, 0, sizeof u.buf);
  c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &master, sizeof master);
  if (sendmsg (sock, &msg, MSG_NOSIGNAL) < 0)
    return fail (f, "tty", errno, "send the pty to the launcher");
  close (master);
  close (sock);
  return 0;
}

int
receive_master (int sock, struct failure *f)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c;
  int master;
  ssize_t n;

  do
    n = recvmsg (sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return fail (f, "tty", errno, "receive the pty from the child");
  c = CMSG_FIRSTHDR (&msg);
  if (n != 1 || c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN (sizeof (int)))
    return fail (f, "tty", EPROTO, "no pty from the child");
  memcpy (&master, CMSG_DATA (c), sizeof master);
  if (fcntl (master, F_SETFL, fcntl (master, F_GETFL) | O_NONBLOCK) < 0)
    return fail (f, "tty", errno, "make the pty non-blocking");
  return master;
}

int
open_fifo (const char *path, const char *step, struct failure *f)
{
  struct stat st;
  int fd;

  if (mkfifo (path, 0600) < 0 && errno != EEXIST)
    return fail (f, step, errno, "mkfifo %s", path);
  fd = open (path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return fail (f, step, errno, "%s", path);
  if (fstat (fd, &st) < 0 || !S_ISFIFO (st.st_mode))
    {
      close (fd);
      return fail (f, step, ENOTSUP, "%s is not a FIFO", path);
    }
  return fd;
}

void
relay_close_stdin (struct relay *r)
{
  /* a pipe is closed (the workload reads EOF); a terminal stays, as under Docker: input just ends */
  if (r->sink_is_pipe && r->sink >= 0)
    close (r->sink);
  if (r->sink_is_pipe)
    r->sink = -1;
  r->len = r->off = 0;
}

/* close-stdin after the input already sent: the FIFO is read dry (its bytes came before the
   command, which a client sends after its last input) and passed on, then the pipe is closed. */
static void
relay_settle (struct relay *r)
{
  while (r->closing && r->len == 0)
    {
      ssize_t n = r->in >= 0 ? read (r->in, r->buf, sizeof r->buf) : -1;

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || r->sink < 0)
        {
          r->closing = false;
          relay_close_stdin (r);
          return;
        }
      r->off = 0;
      r->len = (size_t) n;
      relay_flush (r);
    }
}

/* Input to the buffer (only called while it is empty). EOF comes only from the launcher's own fd 0. */
void
relay_input (struct relay *r)
{
  ssize_t n;

  do
    n = read (r->in, r->buf, sizeof r->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0)
    {
      if (r->in > 2)
        close (r->in);
      r->in = -1;
      relay_close_stdin (r);
      return;
    }
  if (r->sink < 0)
    return; /* the workload's stdin is closed: input is dropped */
  r->off = 0;
  r->len = (size_t) n;
  relay_flush (r);
}

/* The buffer to the workload's stdin, as much as it takes now. */
void
relay_flush (struct relay *r)
{
  while (r->off < r->len && r->sink >= 0)
    {
      ssize_t n = write (r->sink, r->buf + r->off, r->len - r->off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n < 0)
        {
          /* EPIPE: the workload closed its stdin; EIO: its terminal is gone */
          relay_close_stdin (r);
          return;
        }
      r->off += (size_t) n;
    }
  r->off = r->len = 0;
  relay_settle (r);
}

/* Without a log: the terminal's output to the launcher's fd 1 (a join's caller reads it there). */
void
relay_output (struct relay *r)
{
  char buf[16384];
  ssize_t n;

  do
    n = read (r->master, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0)
    {
      /* EIO: every process holding the terminal has closed it */
      close (r->master);
      r->master = -1;
      if (r->sink_is_pipe == false)
        r->sink = -1;
      return;
    }
  if (r->out >= 0 && write_all (r->out, buf, (size_t) n) < 0)
    r->out = -1; /* the caller went away: output is dropped, the workload goes on */
}

/* Commands, one a line: `resize ROWS COLS` (the terminal's size: the kernel sends its foreground
   process group SIGWINCH) and `close-stdin`.  A line that is neither is ignored. */
void
relay_control (struct relay *r)
{
  ssize_t n;
  char *nl;

  do
    n = read (r->control, r->control_buf + r->control_len, sizeof r->control_buf - 1 - r->control_len);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return;
  r->control_len += (size_t) n;
  r->control_buf[r->control_len] = '\0';
  while ((nl = strchr (r->control_buf, '\n')) != NULL)
    {
      unsigned rows, cols;
      char extra;

      *nl = '\0';
      if (sscanf (r->control_buf, "resize %u %u%c", &rows, &cols, &extra) == 2 && r->master >= 0 && rows <= 65535
          && cols <= 65535)
        {
          struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };

          (void) ioctl (r->master, TIOCSWINSZ, &ws);
        }
      else if (strcmp (r->control_buf, "close-stdin") == 0 && r->sink_is_pipe)
        {
          r->closing = true;
          relay_settle (r);
        }
      r->control_len -= (size_t) (nl + 1 - r->control_buf);
      memmove (r->control_buf, nl + 1, r->control_len + 1);
    }
  if (r->control_len == sizeof r->control_buf - 1)
    r->control_len = 0; /* an overlong line: dropped */
}

void
relay_copy_size (struct relay *r)
{
  struct winsize ws;

  if (r->size_from >= 0 && r->master >= 0 && ioctl (r->size_from, TIOCGWINSZ, &ws) == 0)
    (void) ioctl (r->master, TIOCSWINSZ, &ws);
}

static struct termios saved;
static int saved_fd = -1;
static int saved_flags = -1, flags_fd = -1;

static void
console_restore (void)
{
  if (saved_fd >= 0)
    (void) tcsetattr (saved_fd, TCSADRAIN, &saved);
  if (flags_fd >= 0)
    (void) fcntl (flags_fd, F_SETFL, saved_flags);
}

void
nonblocking_until_exit (int fd)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return;
  /* the file description is the caller's too (its shell reads the terminal after us) */
  saved_flags = flags;
  flags_fd = fd;
  if (saved_fd < 0)
    atexit (console_restore);
}

void
console_raw (int fd)
{
  struct termios raw;

  if (tcgetattr (fd, &saved) < 0)
    return;
  raw = saved;
  cfmakeraw (&raw);
  /* output post-processing stays as it was: the workload's terminal did its own */
  raw.c_oflag = saved.c_oflag;
  if (tcsetattr (fd, TCSADRAIN, &raw) < 0)
    return;
  if (saved_fd < 0 && flags_fd < 0)
    atexit (console_restore);
  saved_fd = fd;
}
