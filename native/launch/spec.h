/*
 * The launcher's spec file (native/PROTOCOL.md "Spec file"): read and checked all at once, before
 * anything is created, so that the child only acts.
 */
#ifndef CORRAL_LAUNCH_SPEC_H
#define CORRAL_LAUNCH_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "error.h"

enum kind
{
  /* header */
  K_VERSION,
  K_NAMESPACES,
  K_CGROUP_DIR,
  K_CGROUP_PROCS,
  K_STATE_DIR,
  K_DETACH,
  K_LOG,
  K_JOIN,
  K_TTY,
  K_STDIN,
  K_CONTROL,
  /* body */
  K_MOUNT,
  K_MKDIR,
  K_TOUCH,
  K_MKNOD,
  K_SYMLINK,
  K_MASK,
  K_READONLY,
  K_REMOUNT,
  K_PIVOT_ROOT,
  K_HOSTNAME,
  K_LOOPBACK_UP,
  K_ENV,
  K_CWD,
  K_USER,
  K_CAPS,
  K_NO_NEW_PRIVS,
  K_SECCOMP,
  K_EXEC,
  /* body, added later (their place in the file is the spec's, not this order) */
  K_RLIMIT,
  K_OOM_SCORE_ADJ,
  K_INIT,
};

struct directive
{
  enum kind kind;
  const char *name;
  char **f;                      /* fields after the directive name, NULL-terminated */
  size_t n;                      /* number of fields */
  unsigned long flags;           /* mount, remount: MS_* */
  mode_t mode;                   /* mkdir, mknod */
  dev_t dev;                     /* mknod */
  int resource;                  /* rlimit: RLIMIT_* */
  unsigned long long soft, hard; /* rlimit: RLIM_INFINITY for unlimited */
};

struct spec
{
  char *text;
  struct directive *body; /* body directives in file order; the last one is exec */
  size_t n_body;
  unsigned long clone_flags;
  bool cgroup_ns;
  const char *cgroup_dir;
  const char **cgroup_procs;
  size_t n_cgroup_procs;
  const char *state_dir;
  size_t detach_line; /* 0: no detach directive */
  size_t join_line;   /* 0: no join directive */
  pid_t join_pid;
  unsigned long long join_start;   /* clock ticks after boot, /proc/PID/stat field 22 */
  unsigned join_mask;              /* 1 << enum join_ns, for each namespace named */
  const char *log_path;            /* NULL: the workload inherits stdout and stderr */
  unsigned long long log_max_size; /* bytes; 0: no rotation */
  unsigned log_max_files;          /* files kept in total, the current one included */
  bool tty;                        /* the workload gets a pty of its own (tty.h) */
  const char *stdin_fifo;          /* NULL: no input relayed from a FIFO */
  const char *control_fifo;        /* NULL: no control FIFO */
  char **envp;                     /* NULL-terminated */
  size_t n_env;
  const char *path_env; /* value of the last PATH= env directive */
  bool has_user;
  uid_t uid;
  gid_t gid;
  gid_t *gids;
  size_t n_gids;
  bool has_caps;
  uint64_t caps;
  bool no_new_privs;
  struct sock_filter *seccomp; /* NULL: no filter */
  size_t n_seccomp;
  const struct directive *exec;
  bool init; /* `init`: PID 1 stays as the workload's init (init.c) */
};

/* Read and check the spec file at `path` into *s (which starts zeroed). */
int parse_spec (const char *path, struct spec *s, struct failure *f);

#endif
