/*
 * What the launcher tells its caller (native/PROTOCOL.md): the status lines on fd 3, the state
 * files (`pid`, `launcher.pid`, `exit`) with their time stamps, and its own exit codes.
 */
#ifndef CORRAL_LAUNCH_STATUS_H
#define CORRAL_LAUNCH_STATUS_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

#define STATUS_FD 3
#define EXIT_SETUP 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

/* The launcher's own state: the status pipe and the state directory. */
struct launcher
{
  int status_fd;      /* -1 when fd 3 was not open */
  bool status_broken; /* fd 3 was open but a write failed: fall back to fd 2 for errors */
  int state_dirfd;    /* -1 without state-dir */
  bool own_status_fd; /* fd 3 was open at start (it is closed when a detached launcher is done with it) */
};

#define TIME_BUF 64 /* "2026-11-23T14:00:00.123456789Z" is 30 bytes until the year 9999 */

void status_line (struct launcher *l, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void report_error (struct launcher *l, const char *step, int errnum, const char *escaped_detail);
int write_state (struct launcher *l, const char *name, const char *content, struct failure *f);
int read_start_time_at (int dirfd, const char *path, const char *shown, const char *step, unsigned long long *start,
                        struct failure *f);
int read_start_time (pid_t pid, unsigned long long *start, struct failure *f);
void format_time (char out[TIME_BUF], const struct timespec *ts);
void now_string (char out[TIME_BUF]);
void record_exit (struct launcher *l, const char *what, const struct timespec *when);

#endif
