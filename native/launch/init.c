#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

/* tini's set: every signal is waited for and passed on, except those the kernel raises for the
   process's own faults (and SIGTTIN/SIGTTOU, which would stop it). */
static const int not_forwarded[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU };

/* The exit status of the init: the workload's, as a shell would report it. */
static int
status_code (int wstatus)
{
  if (WIFEXITED (wstatus))
    return WEXITSTATUS (wstatus);
  return 128 + WTERMSIG (wstatus);
}

static _Noreturn void
init_loop (pid_t workload, const sigset_t *set)
{
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (set, &si);

      if (sig < 0)
        continue; /* EINTR: nothing else can fail with a valid set */
      if (sig != SIGCHLD)
        {
          /* the workload may be gone already (its SIGCHLD not yet read): ESRCH is fine */
          (void) kill (workload, sig);
          continue;
        }
      /* reap every child that ended: the workload, and orphans reparented to PID 1 */
      for (;;)
        {
          int wstatus;
          pid_t p = waitpid (-1, &wstatus, WNOHANG);

          if (p <= 0)
            break;
          if (p == workload)
            _exit (status_code (wstatus));
        }
    }
}

int
become_init (struct failure *f)
{
  sigset_t set;
  pid_t workload;

  /* blocked before the fork, so that nothing sent to PID 1 in between is lost: a blocked signal
     is queued even for a namespace's init, which drops the ones it neither handles nor blocks */
  sigfillset (&set);
  for (size_t i = 0; i < sizeof not_forwarded / sizeof not_forwarded[0]; i++)
    sigdelset (&set, not_forwarded[i]);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    return fail (f, "init", errno, "sigprocmask");
  workload = fork ();
  if (workload < 0)
    return fail (f, "init", errno, "fork the workload");
  if (workload == 0)
    return 0; /* the workload: child_main restores its signal mask before exec */
  /* PID 1 execs nothing, so the close-on-exec descriptors it inherited from the launcher (the error
     pipe, whose EOF at the workload's exec means `started`; the status pipe a detached launcher's
     caller reads to its end; the log pipes) would stay open for the container's life: close all
     but stdio */
  if (syscall (SYS_close_range, 3U, ~0U, 0U) < 0)
    for (int fd = 3; fd < 65536; fd++)
      (void) close (fd);
  (void) prctl (PR_SET_NAME, "init", 0, 0, 0);
  init_loop (workload, &set);
}
