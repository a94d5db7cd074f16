/*
 * The child: it puts its stdio in place, joins its cgroups and cgroup namespace, carries out the
 * body directives in order, applies the privileges and execs the workload.  A failure goes to the
 * launcher through the close-on-exec error pipe `errfd` as one record, "E\tstep\terrno\tdetail"
 * (and "N\ttext" for a note); EOF without one means execve succeeded.
 */
#ifndef CORRAL_LAUNCH_CHILD_H
#define CORRAL_LAUNCH_CHILD_H

#include <signal.h>
#include <stdbool.h>

#include "join.h"
#include "spec.h"

/* What the child puts on its fd 0, 1 and 2 before anything else; -1 keeps the launcher's. */
struct child_stdio
{
  int fd[3];
  int tty_sock; /* `tty`: where the child sends the pty's master; -1 without */
};

/* A note on the error pipe ("N\t<text>"), passed on to the status pipe by the launcher. */
void child_note (int errfd, const char *text);

_Noreturn void child_main (const struct spec *s, const struct child_stdio *io, const struct handles *h, bool in_cgroup,
                           int errfd, const sigset_t *orig_mask);

#endif
