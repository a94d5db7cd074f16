/*
 * The child's process limits (native/PROTOCOL.md "Body directives"): `rlimit` (setrlimit, Docker's
 * --ulimit) and `oom-score-adj` (Docker's --oom-score-adj), read from the spec and applied by the
 * child before it drops its privileges (raising a hard limit, or lowering the OOM score, needs
 * CAP_SYS_RESOURCE).
 */
#ifndef CORRAL_LAUNCH_LIMITS_H
#define CORRAL_LAUNCH_LIMITS_H

#include <stddef.h>

#include "error.h"
#include "spec.h"

/* Check an `rlimit` directive's name and values into d->resource, d->soft and d->hard; -1 with a
   reason in why (a static string) when they are not. */
int parse_rlimit (struct directive *d, const char **why);

/* Check an `oom-score-adj` directive's value: -1000 to 1000; -1 when it is not. */
int parse_oom_score_adj (const char *value);

int do_rlimit (const struct directive *d, struct failure *f);
int do_oom_score_adj (const char *value, struct failure *f);

#endif
