#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "child.h"
#include "mount.h"

int
do_mkdir (const char *path, mode_t mode, struct failure *f)
{
  char buf[PATH_MAX];
  size_t len = strlen (path);
  struct stat st;

  while (len > 1 && path[len - 1] == '/')
    len--;
  if (len >= sizeof buf)
    return fail (f, "mkdir", ENAMETOOLONG, "%s", path);
  memcpy (buf, path, len);
  buf[len] = '\0';
  /* parents get 0755, like mkdir -p -m: only the last component gets the mode */
  for (char *p = buf + 1; *p != '\0'; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (buf, 0755) < 0 && errno != EEXIST)
        return fail (f, "mkdir", errno, "%s", buf);
      *p = '/';
    }
  if (mkdir (buf, mode) == 0)
    return 0;
  if (errno != EEXIST)
    return fail (f, "mkdir", errno, "%s", buf);
  if (stat (buf, &st) < 0)
    return fail (f, "mkdir", errno, "%s", buf);
  if (!S_ISDIR (st.st_mode))
    return fail (f, "mkdir", ENOTDIR, "%s", buf);
  return 0;
}

int
do_touch (const char *path, struct failure *f)
{
  struct stat st;
  int fd;

  if (stat (path, &st) == 0)
    return 0;
  if (errno != ENOENT)
    return fail (f, "touch", errno, "%s", path);
  fd = open (path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail (f, "touch", errno, "%s", path);
  close (fd);
  return 0;
}

int
do_mask (const char *path, struct failure *f)
{
  struct stat st;

  if (stat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return fail (f, "mask", errno, "%s", path);
    }
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
        return fail (f, "mask", errno, "%s", path);
    }
  else if (mount ("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return fail (f, "mask", errno, "%s", path);
  return 0;
}

/* Bind-remount the mount at `path` with the per-mount flags it already has plus `add`.  A bind
   remount replaces all of a mount's flags (nosuid, nodev, noexec, ro, atime), so the ones it has
   are read back with statvfs and repeated; an atime flag left out keeps the mount's own. */
static int
remount_keeping (const char *path, unsigned long add, const char *step, struct failure *f)
{
  static const struct
  {
    unsigned long st, ms;
  } keep[] = {
    { ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },           { ST_NODEV, MS_NODEV },
    { ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },         { ST_NODIRATIME, MS_NODIRATIME },
    { ST_RELATIME, MS_RELATIME }, { ST_SYNCHRONOUS, MS_SYNCHRONOUS },
  };
  unsigned long flags = MS_BIND | MS_REMOUNT | add;
  struct statvfs sv;

  if (statvfs (path, &sv) < 0)
    return fail (f, step, errno, "statvfs %s", path);
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    if (sv.f_flag & keep[i].st)
      flags |= keep[i].ms;
  if (mount (NULL, path, NULL, flags, NULL) < 0)
    return fail (f, step, errno, "remount %s", path);
  return 0;
}

int
do_readonly (const char *path, struct failure *f)
{
  struct stat st;

  if (stat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return fail (f, "readonly", errno, "%s", path);
    }
  if (mount (path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return fail (f, "readonly", errno, "bind %s", path);
  return remount_keeping (path, MS_RDONLY, "readonly", f);
}

/* Read all of a /proc file (its size is not known in advance) into a NUL-terminated buffer. */
static int
read_proc_file (const char *path, char **text, const char *step, struct failure *f)
{
  size_t len;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail (f, step, errno, "open %s", path);
  if (read_all (fd, SIZE_MAX, text, &len) < 0)
    {
      int e = errno;

      close (fd);
      return fail (f, step, e, "read %s", path);
    }
  close (fd);
  return 0;
}

/* Undo mountinfo's octal escapes (\040 space, \011 TAB, \012 newline, \134 backslash) in place. */
static void
unescape_mountinfo (char *s)
{
  char *w = s;

  for (char *r = s; *r != '\0'; r++)
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
      {
        *w++ = (char) ((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
        r += 3;
      }
    else
      *w++ = *r;
  *w = '\0';
}

/* `remount`: the mount at path (which must be a mount point: the kernel refuses a bind remount
   elsewhere with EINVAL) and, with MS_REC, every mount below it, each keeping its own flags and
   gaining the given ones.  The mounts below are found in /proc/self/mountinfo, whose mount points
   are relative to our root as the directive's paths are.  A mount below that a later mount shadows
   is unreachable and is skipped (ENOENT/EINVAL when remounting it by path). */
int
do_remount (const char *path, unsigned long flags, struct failure *f)
{
  char real[PATH_MAX], *info = NULL, *line, *next;
  size_t len;

  if (realpath (path, real) == NULL)
    return fail (f, "remount", errno, "%s", path);
  if (remount_keeping (real, flags & ~MS_REC, "remount", f) < 0)
    return -1;
  if (!(flags & MS_REC))
    return 0;
  if (read_proc_file ("/proc/self/mountinfo", &info, "remount", f) < 0)
    return -1;
  len = strlen (real);
  for (line = info; *line != '\0'; line = next)
    {
      char *mnt = line, *end;
      int field;

      next = strchr (line, '\n');
      next = next != NULL ? next + 1 : line + strlen (line);
      /* ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...: the fifth field */
      for (field = 1; field < 5 && mnt != NULL; field++)
        {
          mnt = strchr (mnt, ' ');
          if (mnt != NULL)
            mnt++;
        }
      if (mnt == NULL || (end = strpbrk (mnt, " \n")) == NULL)
        continue;
      *end = '\0';
      unescape_mountinfo (mnt);
      /* strictly below real: "/" has every other mount below it, "/a" has "/a/..." */
      if (len == 1 ? mnt[1] == '\0' : strncmp (mnt, real, len) != 0 || mnt[len] != '/')
        continue;
      if (remount_keeping (mnt, flags & ~MS_REC, "remount", f) < 0)
        {
          if (f->errnum == ENOENT || f->errnum == EINVAL)
            continue;
          free (info);
          return -1;
        }
    }
  free (info);
  return 0;
}

int
do_pivot_root (const char *root, int errfd, struct failure *f)
{
  if (chdir (root) < 0)
    return fail (f, "pivot-root", errno, "chdir %s", root);
  /* pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then drops it
     (runc's trick: no put_old directory is needed inside the new root) */
  if (syscall (SYS_pivot_root, ".", ".") == 0)
    {
      /* runc: make the old root a slave first so that detaching it cannot propagate anywhere */
      if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return fail (f, "pivot-root", errno, "make old root rslave");
      if (umount2 (".", MNT_DETACH) < 0)
        return fail (f, "pivot-root", errno, "detach old root");
    }
  else if (errno == EINVAL)
    {
      /* the root is on rootfs/initramfs (or in a chroot): move the new root over / and chroot */
      if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
        return fail (f, "pivot-root", errno, "move %s to /", root);
      if (chroot (".") < 0)
        return fail (f, "pivot-root", errno, "chroot %s", root);
      child_note (errfd, "fallback chroot");
    }
  else
    return fail (f, "pivot-root", errno, "%s", root);
  if (chdir ("/") < 0)
    return fail (f, "pivot-root", errno, "chdir /");
  return 0;
}
