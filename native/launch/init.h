/*
 * `init` (Docker's --init, tini's role): the container's PID 1 stays behind as a small init when
 * the workload is started, so that orphans are reaped and signals reach the workload.
 */
#ifndef CORRAL_LAUNCH_INIT_H
#define CORRAL_LAUNCH_INIT_H

#include <sys/types.h>

#include "error.h"

/* Fork the workload.  Returns 0 in the workload (which goes on to exec); in PID 1 (which closes every
   descriptor above stdio, the error pipe included) it never returns:
   it forwards every signal it can catch to the workload, reaps every child, and exits as the workload
   did (its code, or 128+N after signal N, as tini does).  -1 with *f filled if the fork failed. */
int become_init (struct failure *f);

#endif
