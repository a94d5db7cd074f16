#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "supervise.h"

const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
const size_t n_forwarded_signals = sizeof forwarded_signals / sizeof forwarded_signals[0];

pid_t
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

/* Read the child's error pipe to EOF.  Forwarded signals that arrive meanwhile are held in the
   mask `pending`: the child ignores them until exec (as PID 1 of its namespace it has no handlers). */
int
await_exec (struct launcher *l, int errfd, int sfd, unsigned *pending, struct child_failure *cf, struct failure *f)
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

/* Forward signals, copy the workload's output into the log (or, for a terminal without a log, to
   fd 1) and relay input and control commands (tty.h) until the workload ends, then read its output
   to EOF for at most LOG_DRAIN_MS (a process it left behind may hold it open).  Returns its wait
   status and the time it ended.  Once the workload is reaped its pid may be reused, so nothing is
   sent to it any more and nothing after that is a failure. */
int
supervise (struct launcher *l, pid_t pid, int sfd, unsigned pending, struct logger *lg, struct relay *r, int *wstatus,
           struct timespec *ended, struct failure *f)
{
  enum what
  {
    W_SIGNAL,
    W_LOG,
    W_INPUT,
    W_SINK,
    W_MASTER,
    W_CONTROL,
  };
  long long deadline = 0;
  bool reaped = false;

  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
    if (pending & (1U << i))
      kill (pid, forwarded_signals[i]);
  for (;;)
    {
      struct log_stream *which[7] = { NULL };
      enum what kind[7];
      struct pollfd pfd[7];
      nfds_t n = 0;
      int timeout = -1;
      bool master_out = r != NULL && lg == NULL && r->master >= 0 && r->out >= 0;

      if (!reaped)
        {
          pid_t w = waitpid (pid, wstatus, WNOHANG);

          if (w < 0 && errno != EINTR)
            return fail (f, "wait", errno, "waitpid %d", (int) pid);
          if (w == pid)
            {
              reaped = true;
              clock_gettime (CLOCK_REALTIME, ended);
              deadline = monotonic_ms () + LOG_DRAIN_MS;
            }
        }
      if (reaped)
        {
          long long left = deadline - monotonic_ms ();

          if (((lg == NULL || (lg->streams[0].fd < 0 && lg->streams[1].fd < 0)) && !master_out) || left <= 0)
            return 0;
          timeout = (int) left;
        }
      else
        {
          kind[n] = W_SIGNAL;
          pfd[n++] = (struct pollfd) { .fd = sfd, .events = POLLIN };
          if (r != NULL && r->in >= 0 && r->len == 0)
            {
              kind[n] = W_INPUT;
              pfd[n++] = (struct pollfd) { .fd = r->in, .events = POLLIN };
            }
          if (r != NULL && r->sink >= 0 && r->len > 0)
            {
              kind[n] = W_SINK;
              pfd[n++] = (struct pollfd) { .fd = r->sink, .events = POLLOUT };
            }
          if (r != NULL && r->control >= 0)
            {
              kind[n] = W_CONTROL;
              pfd[n++] = (struct pollfd) { .fd = r->control, .events = POLLIN };
            }
        }
      if (master_out)
        {
          kind[n] = W_MASTER;
          pfd[n++] = (struct pollfd) { .fd = r->master, .events = POLLIN };
        }
      for (int i = 0; lg != NULL && i < 2; i++)
        if (lg->streams[i].fd >= 0)
          {
            which[n] = &lg->streams[i];
            kind[n] = W_LOG;
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
          switch (kind[i])
            {
            case W_LOG:
              logger_read (l, lg, which[i]);
              break;
            case W_SIGNAL:
              if (read (sfd, &si, sizeof si) != sizeof si || si.ssi_signo == SIGCHLD)
                break;
              /* the caller's terminal changed size: the pty follows (its kernel sends the SIGWINCH) */
              if (si.ssi_signo == SIGWINCH && r != NULL && r->size_from >= 0)
                relay_copy_size (r);
              else
                kill (pid, (int) si.ssi_signo);
              break;
            case W_INPUT:
              if (r->len == 0)
                relay_input (r);
              break;
            case W_SINK:
              relay_flush (r);
              break;
            case W_MASTER:
              relay_output (r);
              break;
            case W_CONTROL:
              relay_control (r);
              break;
            }
        }
      if (lg != NULL)
        logger_flush (l, lg);
    }
}

int
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
int
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
void
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
