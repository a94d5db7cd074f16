#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/seccomp.h>

#include "common/util.h"
#include "child.h"
#include "init.h"
#include "limits.h"
#include "mount.h"
#include "status.h"
#include "tty.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---------------------------------------------------------------- the child: body directives */

void
child_note (int errfd, const char *text)
{
  char buf[256];
  int n = snprintf (buf, sizeof buf, "N\t%s\n", text);

  if (n > 0 && (size_t) n < sizeof buf)
    (void) write_all (errfd, buf, (size_t) n);
}

static int
do_loopback_up (struct failure *f)
{
  struct ifreq ifr;
  int fd;

  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail (f, "loopback-up", errno, "socket");
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, "loopback-up", e, "SIOCGIFFLAGS lo");
    }
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, "loopback-up", e, "SIOCSIFFLAGS lo");
    }
  close (fd);
  return 0;
}

static int
run_directive (const struct directive *d, int errfd, struct failure *f)
{
  char *const *a = d->f;

  switch (d->kind)
    {
    case K_MOUNT:
      if (mount (a[0][0] ? a[0] : NULL, a[1], a[2][0] ? a[2] : NULL, d->flags, a[4][0] ? a[4] : NULL) < 0)
        return fail (f, "mount", errno, "%s", a[1]);
      return 0;

    case K_MKDIR:
      return do_mkdir (a[0], d->mode, f);

    case K_TOUCH:
      return do_touch (a[0], f);

    case K_MKNOD:
      if (mknod (a[0], d->mode, d->dev) < 0)
        return fail (f, "mknod", errno, "%s", a[0]);
      if (chmod (a[0], d->mode & 07777) < 0)
        return fail (f, "mknod", errno, "chmod %s", a[0]);
      return 0;

    case K_SYMLINK:
      if (symlink (a[0], a[1]) < 0 && errno != EEXIST)
        return fail (f, "symlink", errno, "%s", a[1]);
      return 0;

    case K_MASK:
      return do_mask (a[0], f);

    case K_READONLY:
      return do_readonly (a[0], f);

    case K_REMOUNT:
      return do_remount (a[0], d->flags, f);

    case K_PIVOT_ROOT:
      return do_pivot_root (a[0], errfd, f);

    case K_HOSTNAME:
      if (sethostname (a[0], strlen (a[0])) < 0)
        return fail (f, "hostname", errno, "%s", a[0]);
      return 0;

    case K_LOOPBACK_UP:
      return do_loopback_up (f);

    case K_CWD:
      if (chdir (a[0]) < 0)
        return fail (f, "cwd", errno, "%s", a[0]);
      return 0;

    case K_ENV:
    case K_USER:
    case K_CAPS:
    case K_NO_NEW_PRIVS:
    case K_SECCOMP:
    case K_EXEC:
      return 0; /* collected while parsing; applied in apply_privileges, load_seccomp and do_exec */

    case K_RLIMIT:
      return do_rlimit (d, f);

    case K_OOM_SCORE_ADJ:
      return do_oom_score_adj (a[0], f);

    case K_INIT:
      return 0; /* carried out last, in child_main: become_init */

    default:
      return fail (f, "spec", EINVAL, "directive %s in the body", d->name);
    }
}

/* Bounding set drop, then setgroups/setresgid/setresuid, then capset, then no_new_privs. */
static int
apply_privileges (const struct spec *s, struct failure *f)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  uint64_t permitted;
  uid_t final_uid;

  if (s->has_caps)
    for (int cap = 0; cap < 64; cap++)
      {
        int r = prctl (PR_CAPBSET_READ, cap, 0, 0, 0);

        if (r < 0 && errno == EINVAL)
          break; /* past the kernel's last capability */
        if (r < 0)
          return fail (f, "caps", errno, "read bounding set, capability %d", cap);
        if (r == 1 && !(s->caps & (UINT64_C (1) << cap)) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
          return fail (f, "caps", errno, "drop capability %d from the bounding set", cap);
      }

  if (s->has_user)
    {
      if (setgroups (s->n_gids, s->gids) < 0)
        return fail (f, "user", errno, "setgroups %s", s->n_gids ? "(list)" : "(empty)");
      if (setresgid (s->gid, s->gid, s->gid) < 0)
        return fail (f, "user", errno, "setresgid %u", (unsigned) s->gid);
      if (setresuid (s->uid, s->uid, s->uid) < 0)
        return fail (f, "user", errno, "setresuid %u", (unsigned) s->uid);
    }

  if (s->has_caps)
    {
      if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail (f, "caps", errno, "clear ambient set");
      memset (data, 0, sizeof data);
      if (syscall (SYS_capget, &hdr, data) < 0)
        return fail (f, "caps", errno, "capget");
      /* a capability the launcher never had cannot be granted: keep mask & current permitted */
      permitted = ((uint64_t) data[1].permitted << 32 | data[0].permitted) & s->caps;
      final_uid = s->has_user ? s->uid : geteuid ();
      memset (data, 0, sizeof data);
      if (final_uid == 0)
        {
          data[0].permitted = data[0].effective = (uint32_t) permitted;
          data[1].permitted = data[1].effective = (uint32_t) (permitted >> 32);
        }
      if (syscall (SYS_capset, &hdr, data) < 0)
        return fail (f, "caps", errno, "capset %016llx", (unsigned long long) permitted);
    }

  if (s->no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fail (f, "no-new-privs", errno, "prctl PR_SET_NO_NEW_PRIVS");
  return 0;
}

/* The seccomp filter, last before execve: from here on the child's own syscalls are filtered too,
   so it does nothing after this but exec (and report a failure on the error pipe).  Without
   no_new_privs the kernel wants CAP_SYS_ADMIN for it (EACCES). */
static int
load_seccomp (const struct spec *s, struct failure *f)
{
  struct sock_fprog prog = { .len = (unsigned short) s->n_seccomp, .filter = s->seccomp };

  if (s->seccomp == NULL)
    return 0;
  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return fail (f, "seccomp", errno, "load a filter of %zu instructions", s->n_seccomp);
  return 0;
}

/* execve directly when the command has a slash, else search PATH like execvpe (without its
   /bin/sh retry on ENOEXEC).  Returns only on failure. */
static int
do_exec (const struct spec *s, struct failure *f)
{
  const char *cmd = s->exec->f[0];
  char *const *argv = s->exec->f + 1;
  const char *path = s->path_env != NULL ? s->path_env : DEFAULT_PATH;
  size_t cmd_len = strlen (cmd);
  bool eacces = false;
  char buf[PATH_MAX];

  if (strchr (cmd, '/') != NULL)
    {
      execve (cmd, argv, s->envp);
      return fail (f, "exec", errno, "%s", cmd);
    }
  if (cmd_len == 0)
    return fail (f, "exec", ENOENT, "(empty command)");
  for (const char *p = path;;)
    {
      size_t len = strcspn (p, ":");
      const char *dir = len ? p : ".";
      size_t dir_len = len ? len : 1;

      if (dir_len + 1 + cmd_len < sizeof buf)
        {
          memcpy (buf, dir, dir_len);
          buf[dir_len] = '/';
          memcpy (buf + dir_len + 1, cmd, cmd_len + 1);
          execve (buf, argv, s->envp);
          switch (errno)
            {
            case EACCES:
              eacces = true;
              break;
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT:
              break;
            default:
              return fail (f, "exec", errno, "%s", buf);
            }
        }
      if (p[len] == '\0')
        break;
      p += len + 1;
    }
  return fail (f, "exec", eacces ? EACCES : ENOENT, "%s", cmd);
}

static int
mark_fds_cloexec (struct failure *f)
{
  struct rlimit rl;

  if (syscall (SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  if (errno != ENOSYS && errno != EINVAL)
    return fail (f, "clone", errno, "close_range");
  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    return fail (f, "clone", errno, "getrlimit RLIMIT_NOFILE");
  for (rlim_t fd = 3; fd < rl.rlim_cur && fd < 65536; fd++)
    {
      int flags = fcntl ((int) fd, F_GETFD);

      if (flags >= 0 && !(flags & FD_CLOEXEC))
        fcntl ((int) fd, F_SETFD, flags | FD_CLOEXEC);
    }
  return 0;
}

/* `join`: the target's root becomes ours.  setns(CLONE_NEWNS) left us at the mount namespace's own
   root, which is the container's root only if it could pivot_root (not after the chroot fallback),
   so the root is taken from the target itself and the cwd resolved anew inside it, as runc's
   nsenter does. */
static int
enter_root (int root, struct failure *f)
{
  if (fchdir (root) < 0)
    return fail (f, "join", errno, "fchdir to the container's root");
  if (chroot (".") < 0)
    return fail (f, "join", errno, "chroot to the container's root");
  if (chdir ("/") < 0)
    return fail (f, "join", errno, "chdir / in the container's root");
  return 0;
}

static int
child_setup (const struct spec *s, const struct child_stdio *io, const struct handles *h, bool in_cgroup, int errfd,
             struct failure *f)
{
  /* the fds in io are all above 2 (dup_above_stdio), so dup2 always makes a new, inheritable fd */
  for (int i = 0; i < 3; i++)
    if (io->fd[i] >= 0 && dup2 (io->fd[i], i) < 0)
      return fail (f, "stdio", errno, "dup2 onto fd %d", i);
  if (mark_fds_cloexec (f) < 0)
    return -1;
  if (!in_cgroup)
    for (size_t i = 0; i < s->n_cgroup_procs; i++)
      if (write_all (h->cgroup_procs[i], "0", 1) < 0)
        return fail (f, "cgroup", errno, "%s", s->cgroup_procs[i]);
  if (h->ns[J_CGROUP] >= 0 && setns (h->ns[J_CGROUP], CLONE_NEWCGROUP) < 0)
    return fail (f, "join", errno, "setns cgroup");
  if (s->cgroup_ns && unshare (CLONE_NEWCGROUP) < 0)
    return fail (f, "namespaces", errno, "unshare cgroup namespace");
  if (h->root >= 0 && enter_root (h->root, f) < 0)
    return -1;
  if (setsid () < 0)
    return fail (f, "setsid", errno, "setsid");
  for (size_t i = 0; i < s->n_body; i++)
    if (run_directive (&s->body[i], errfd, f) < 0)
      return -1;
  /* after the mounts (the container's /dev/ptmx) and before the user (the pty is chowned to it) */
  if (s->tty && child_console (s, io->tty_sock, false, f) < 0)
    return -1;
  return apply_privileges (s, f);
}

_Noreturn void
child_main (const struct spec *s, const struct child_stdio *io, const struct handles *h, bool in_cgroup, int errfd,
            const sigset_t *orig_mask)
{
  struct failure f = { 0 };
  mode_t orig_umask = umask (0); /* directives get exactly the modes the spec asks for */
  char buf[1200], detail[1100];
  int n;

  if (child_setup (s, io, h, in_cgroup, errfd, &f) == 0)
    {
      umask (orig_umask);
      /* with `init` this process stays as PID 1: become_init returns only in the workload */
      if (!s->init || become_init (&f) == 0)
        {
          if (sigprocmask (SIG_SETMASK, orig_mask, NULL) < 0)
            fail (&f, "exec", errno, "sigprocmask");
          else if (load_seccomp (s, &f) == 0)
            do_exec (s, &f);
        }
    }
  escape (detail, sizeof detail, f.detail);
  n = snprintf (buf, sizeof buf, "E\t%s\t%d\t%s\n", f.step, f.errnum, detail);
  if (n > 0)
    (void) write_all (errfd, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
  if (strcmp (f.step, "exec") != 0)
    _exit (EXIT_SETUP);
  _exit (f.errnum == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}
