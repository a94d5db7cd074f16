/*
 * corral-launch: everything that must happen between fork and exec for one corral workload.
 *
 * The contract is native/PROTOCOL.md.  The launcher is a dumb executor: it reads a spec file,
 * creates the child in its namespaces (and cgroup), lets the child carry out the directives in
 * order, and stays the child's parent: it forwards signals, reaps it and records how it ended.
 *
 *   main.c       the order of it all, and the launcher's own failures
 *   spec.c       reading and checking the spec file, before anything is created
 *   join.c       what is opened before the child exists: its cgroup, and `join`'s namespaces and root
 *   supervise.c  the parent: clone, the wait for exec, signal forwarding, reaping; detaching
 *   child.c      the child: stdio, cgroup, namespaces, body directives, privileges, exec
 *   mount.c      the child's file system directives, mkdir to pivot-root
 *   log.c        the json-file log of the workload's output
 *   tty.c        the `tty` pty, the `stdin` and `control` FIFOs and the relay of input
 *   status.c     status lines (fd 3), state files and their time stamps
 *   error.c      the one shape of every failure (error.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "join.h"
#include "log.h"
#include "spec.h"
#include "status.h"
#include "supervise.h"
#include "tty.h"

int
main (int argc, char **argv)
{
  struct launcher l = { .status_fd = -1, .state_dirfd = -1 };
  struct failure f = { 0 };
  struct child_failure cf = { 0 };
  struct child_stdio io = { { -1, -1, -1 }, -1 };
  static struct relay relay = { .master = -1, .in = -1, .sink = -1, .out = -1, .control = -1, .size_from = -1 };
  struct relay *rl = NULL;
  int tty_sock[2] = { -1, -1 };
  int stdin_pipe[2] = { -1, -1 };
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
  for (size_t i = 0; i < n_forwarded_signals; i++)
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
  if (s.stdin_fifo != NULL || s.control_fifo != NULL || s.tty)
    {
      rl = &relay;
      if (s.stdin_fifo != NULL && (relay.in = open_fifo (s.stdin_fifo, "stdin", &f)) < 0)
        goto fail;
      if (s.control_fifo != NULL && (relay.control = open_fifo (s.control_fifo, "control", &f)) < 0)
        goto fail;
      if (s.tty && socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tty_sock) < 0)
        {
          fail (&f, "tty", errno, "socketpair");
          goto fail;
        }
      io.tty_sock = tty_sock[1];
      /* input without a terminal: the workload's stdin is a pipe the launcher writes */
      if (!s.tty && s.stdin_fifo != NULL)
        {
          if (pipe2 (stdin_pipe, O_CLOEXEC) < 0)
            {
              fail (&f, "stdin", errno, "pipe2");
              goto fail;
            }
          io.fd[STDIN_FILENO] = stdin_pipe[0];
          relay.sink = stdin_pipe[1];
          relay.sink_is_pipe = true;
          (void) fcntl (stdin_pipe[1], F_SETFL, O_NONBLOCK);
        }
      /* a joining launcher's caller talks to the terminal through the launcher's fd 0 and 1 */
      if (s.tty && s.log_path == NULL && s.detach_line == 0)
        {
          relay.out = STDOUT_FILENO;
          /* in the foreground on a terminal (corral run -t): it follows that terminal's size */
          if (isatty (STDIN_FILENO))
            relay.size_from = STDIN_FILENO;
          if (s.stdin_fifo == NULL)
            {
              relay.in = STDIN_FILENO;
              nonblocking_until_exit (STDIN_FILENO);
            }
        }
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
  if (tty_sock[1] >= 0)
    close (tty_sock[1]);
  if (stdin_pipe[0] >= 0)
    close (stdin_pipe[0]);
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
  if (s.tty)
    {
      if ((relay.master = receive_master (tty_sock[0], &f)) < 0)
        goto fail_kill;
      close (tty_sock[0]);
      relay.sink = relay.master;
      relay_copy_size (&relay);
      if (relay.size_from >= 0)
        console_raw (relay.size_from);
      /* with a log the terminal's output is the log's stdout stream (as Docker logs a tty) */
      if (lg != NULL)
        {
          close (lg->streams[0].fd);
          close (lg->streams[1].fd);
          lg->streams[1].fd = -1;
          lg->streams[0].fd = fcntl (relay.master, F_DUPFD_CLOEXEC, 3);
          if (lg->streams[0].fd < 0)
            {
              fail (&f, "tty", errno, "dup the pty for the log");
              goto fail_kill;
            }
        }
    }
  status_line (&l, "started");
  if (s.detach_line != 0)
    end_status (&l, devnull);

  if (supervise (&l, pid, sfd, pending, lg, rl, &wstatus, &ended, &f) < 0)
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
