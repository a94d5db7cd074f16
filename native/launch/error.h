/*
 * How the launcher reports a failure.  Error handling follows one shape everywhere: a step that
 * fails fills a `struct failure` with the step (the spec directive that failed), the errno and a
 * detail naming the path or value, and returns -1.  The child sends its failure to the launcher
 * through a close-on-exec pipe (child.c, supervise.c); the launcher reports it on the status pipe
 * and in the exit file (status.c).
 */
#ifndef CORRAL_LAUNCH_ERROR_H
#define CORRAL_LAUNCH_ERROR_H

#include <stddef.h>

struct failure
{
  const char *step;
  int errnum;
  char detail[1024];
};

/* Fill *f and return -1. */
int fail (struct failure *f, const char *step, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* The errno's name (ENOENT), or "E<number>" in buf for one that glibc does not name. */
const char *errno_name (int errnum, char buf[16]);

/* Escape backslash, TAB and newline as the spec file does, so that a detail stays one field. */
void escape (char *dst, size_t cap, const char *src);

#endif
