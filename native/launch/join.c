#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "join.h"
#include "status.h"

const struct join_ns_name join_names[J_COUNT] = {
  [J_USER] = { "user", "user", CLONE_NEWUSER },
  [J_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
  [J_UTS] = { "uts", "uts", CLONE_NEWUTS },
  [J_NET] = { "net", "net", CLONE_NEWNET },
  [J_PID] = { "pid", "pid", CLONE_NEWPID },
  [J_MOUNT] = { "mount", "mnt", CLONE_NEWNS },
  [J_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
};

/* `join`'s target: /proc/PID, opened once, pins that very process (a later process with the same
   pid is another /proc entry), so its start time is checked through it, and its namespaces and root
   are opened through it: all of them belong to the process whose start time was checked, or the
   opens fail because it is gone. */
static int
open_join_target (const struct spec *s, struct handles *h, int proc, const char *shown, struct failure *f)
{
  unsigned long long start;
  char stat_name[80];

  snprintf (stat_name, sizeof stat_name, "%s/stat", shown);
  if (read_start_time_at (proc, "stat", stat_name, "join", &start, f) < 0)
    return -1;
  if (start != s->join_start)
    return fail (f, "join", ESRCH, "%s started at %llu, not at %llu: the process to join is gone and its pid reused",
                 shown, start, s->join_start);
  for (int i = 0; i < J_COUNT; i++)
    {
      char name[32], own[48];
      struct stat theirs, ours;

      if (!(s->join_mask & (1U << i)))
        continue;
      snprintf (name, sizeof name, "ns/%s", join_names[i].proc);
      h->ns[i] = openat (proc, name, O_RDONLY | O_CLOEXEC);
      if (h->ns[i] < 0)
        return fail (f, "join", errno, "open %s/%s", shown, name);
      snprintf (own, sizeof own, "/proc/self/ns/%s", join_names[i].proc);
      if (fstat (h->ns[i], &theirs) < 0)
        return fail (f, "join", errno, "stat %s/%s", shown, name);
      if (stat (own, &ours) < 0)
        return fail (f, "join", errno, "stat %s", own);
      /* one the launcher is in already (the host's network with --network host) is left alone:
         setns into one's own user namespace is even an error */
      if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino)
        {
          close (h->ns[i]);
          h->ns[i] = -1;
        }
    }
  h->root = openat (proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->root < 0)
    return fail (f, "join", errno, "open %s/root", shown);
  return 0;
}

/* Open the cgroup (both modes) and the target (`join`), all before any setns. */
int
open_handles (const struct spec *s, struct handles *h, struct failure *f)
{
  char shown[32];
  int proc, r;

  h->cgroup_dir = h->root = -1;
  for (int i = 0; i < J_COUNT; i++)
    h->ns[i] = -1;
  h->cgroup_procs = malloc ((s->n_cgroup_procs + 1) * sizeof *h->cgroup_procs);
  if (h->cgroup_procs == NULL)
    return fail (f, "cgroup", ENOMEM, "cgroup.procs descriptors");
  for (size_t i = 0; i < s->n_cgroup_procs; i++)
    h->cgroup_procs[i] = -1;
  if (s->cgroup_dir != NULL && (h->cgroup_dir = open (s->cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return fail (f, "cgroup", errno, "%s", s->cgroup_dir);
  for (size_t i = 0; i < s->n_cgroup_procs; i++)
    if ((h->cgroup_procs[i] = open (s->cgroup_procs[i], O_WRONLY | O_CLOEXEC)) < 0)
      return fail (f, "cgroup", errno, "%s", s->cgroup_procs[i]);
  if (s->join_line == 0)
    return 0;
  snprintf (shown, sizeof shown, "/proc/%d", (int) s->join_pid);
  proc = open (shown, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0)
    return fail (f, "join", errno, "open %s", shown);
  r = open_join_target (s, h, proc, shown, f);
  close (proc);
  return r;
}

/* setns into the target's namespaces but the cgroup one (the child's, see enum join_ns), in order.
   Joining the pid namespace affects only the children: the child is created in it (and is not a
   child of the container's PID 1); the launcher itself stays where it is. */
int
enter_namespaces (struct handles *h, struct failure *f)
{
  for (int i = 0; i < J_COUNT; i++)
    {
      if (i == J_CGROUP || h->ns[i] < 0)
        continue;
      if (setns (h->ns[i], join_names[i].type) < 0)
        return fail (f, "join", errno, "setns %s", join_names[i].name);
      close (h->ns[i]);
      h->ns[i] = -1;
    }
  return 0;
}

/* After the child exists the launcher needs none of them (the child has its own copies). */
void
close_handles (const struct spec *s, struct handles *h)
{
  if (h->cgroup_dir >= 0)
    close (h->cgroup_dir);
  for (size_t i = 0; h->cgroup_procs != NULL && i < s->n_cgroup_procs; i++)
    if (h->cgroup_procs[i] >= 0)
      close (h->cgroup_procs[i]);
  for (int i = 0; i < J_COUNT; i++)
    if (h->ns[i] >= 0)
      close (h->ns[i]);
  if (h->root >= 0)
    close (h->root);
  h->cgroup_dir = h->root = -1;
  for (int i = 0; i < J_COUNT; i++)
    h->ns[i] = -1;
  free (h->cgroup_procs);
  h->cgroup_procs = NULL;
}
