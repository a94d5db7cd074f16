/*
 * Opening the child's cgroup before the child exists, and `join`: entering a running container's
 * namespaces (native/PROTOCOL.md "Joining a running container").
 */
#ifndef CORRAL_LAUNCH_JOIN_H
#define CORRAL_LAUNCH_JOIN_H

#include "error.h"
#include "spec.h"

/* The namespaces `join` may name, in the order they are entered (PROTOCOL.md "Joining a running
   container"): the user namespace first, so that the others are entered with its privileges; the
   mount namespace last among the launcher's; the cgroup namespace by the child, once it is inside
   the container's cgroup (entering it before would hide the cgroup it has to leave). */
enum join_ns
{
  J_USER,
  J_IPC,
  J_UTS,
  J_NET,
  J_PID,
  J_MOUNT,
  J_CGROUP,
  J_COUNT
};

struct join_ns_name
{
  const char *name; /* in the spec */
  const char *proc; /* under /proc/PID/ns */
  int type;         /* setns(2) nstype */
};

extern const struct join_ns_name join_names[J_COUNT];

/* Everything the launcher opens before it enters anything (a path opened after setns would name
   something else, or nothing): the cgroup the child goes into, and with `join` the target's
   namespaces and root directory.  -1 where not opened; a namespace the launcher is in already is
   not opened either. */
struct handles
{
  int cgroup_dir;    /* O_PATH of cgroup-dir, for clone3(CLONE_INTO_CGROUP) */
  int *cgroup_procs; /* O_WRONLY, one per cgroup-procs directive */
  int ns[J_COUNT];   /* /proc/PID/ns/... */
  int root;          /* O_PATH of /proc/PID/root */
};

int open_handles (const struct spec *s, struct handles *h, struct failure *f);
int enter_namespaces (struct handles *h, struct failure *f);
void close_handles (const struct spec *s, struct handles *h);

#endif
