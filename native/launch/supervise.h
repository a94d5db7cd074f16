/*
 * The launcher as the workload's parent: it creates the child, waits for its exec, forwards
 * signals to it, copies its output into the log, reaps it; and detaching from the caller.
 */
#ifndef CORRAL_LAUNCH_SUPERVISE_H
#define CORRAL_LAUNCH_SUPERVISE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "child.h"
#include "log.h"
#include "status.h"
#include "tty.h"

/* signals forwarded to the workload (PROTOCOL.md "Invocation") */
extern const int forwarded_signals[];
extern const size_t n_forwarded_signals;

/* A failure record from the child: "E\tstep\terrno\tescaped detail". */
struct child_failure
{
  bool present;
  char step[32];
  int errnum;
  char detail[1100];
};

pid_t spawn (const struct spec *s, const struct child_stdio *io, const struct handles *h, struct launcher *l, int errfd,
             const sigset_t *orig_mask, struct failure *f);
int await_exec (struct launcher *l, int errfd, int sfd, unsigned *pending, struct child_failure *cf, struct failure *f);
int supervise (struct launcher *l, pid_t pid, int sfd, unsigned pending, struct logger *lg, struct relay *r,
               int *wstatus, struct timespec *ended, struct failure *f);
int reap (pid_t pid, int *wstatus);
int detach (struct launcher *l, int devnull, struct failure *f);
void end_status (struct launcher *l, int devnull);

#endif
