/*
 * Terminals and input (native/PROTOCOL.md "Terminal and input"): the `tty` directive's pty, made by
 * the child inside the container (its /dev/ptmx, so the workload's terminal is the container's own
 * devpts instance, as runc's console does) and handed to the launcher over a socket pair; and the
 * relay of bytes the launcher does between the workload's terminal or stdin and its callers: the
 * `stdin` FIFO (or the launcher's own fd 0 and 1 for a join), and the `control` FIFO's commands.
 */
#ifndef CORRAL_LAUNCH_TTY_H
#define CORRAL_LAUNCH_TTY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "spec.h"

/* bytes held for the workload's stdin; while they are, no more input is read (back-pressure) */
#define RELAY_BUF 65536

struct relay
{
  int master; /* the pty's master (tty), or -1 */
  int in;     /* where input comes from: the stdin FIFO or the launcher's fd 0; -1 when none or ended */
  int sink;   /* the workload's stdin: the master, or the write end of its stdin pipe; -1 once closed */
  bool sink_is_pipe;
  bool closing;  /* close-stdin asked: the stdin pipe is closed once the input read so far is passed on */
  int out;       /* without a log, the master's output goes here (the launcher's fd 1); -1: to the log */
  int control;   /* the control FIFO, or -1 */
  int size_from; /* a terminal whose size the pty follows (the caller's, in the foreground), or -1 */
  size_t len, off;
  char buf[RELAY_BUF];
  size_t control_len;
  char control_buf[256];
};

/* In the child, after the body's directives and before the privileges: a new pty from the
   container's /dev/ptmx becomes its controlling terminal and its fd 0-2 (fd 0 only if keep_stdin is
   false); the master goes to the launcher through `sock`. */
int child_console (const struct spec *s, int sock, bool keep_stdin, struct failure *f);

/* In the launcher, after the child's exec: the master the child sent (non-blocking). */
int receive_master (int sock, struct failure *f);

/* A FIFO at `path`, made (0600) if missing and opened for reading without blocking and without
   ever seeing EOF (O_RDWR: the launcher holds a writer itself). */
int open_fifo (const char *path, const char *step, struct failure *f);

/* Relay steps, driven by supervise's poll loop. */
void relay_input (struct relay *r);
void relay_flush (struct relay *r);
void relay_output (struct relay *r);
void relay_control (struct relay *r);
void relay_close_stdin (struct relay *r);

/* The pty takes the size of r->size_from (at the start, and on SIGWINCH). */
void relay_copy_size (struct relay *r);

/* In the foreground on a terminal: the caller's terminal in raw mode (its keys go to the workload's
   terminal as typed, Ctrl-C included), restored when the launcher exits. */
void console_raw (int fd);

/* fd non-blocking, its flags restored when the launcher exits (the description is shared). */
void nonblocking_until_exit (int fd);

#endif
