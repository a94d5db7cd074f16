/* libcorral-sample.so: the stats sampler's reads in one call (src/sys/preads.ts loads it with koffi).
 *
 * The sampler re-reads small cgroup files of every container every tick on kept descriptors; from Node
 * each is an fs.readSync, whose own cost (~0.7 us on the build machine) is close to the pread's.  Here
 * a whole chunk of containers' activity counters is read in one call. */
#include <errno.h>
#include <unistd.h>

/* A pread this long or longer may not be the whole file: read on until 0 (as OpenFileCgroupFs). */
#define SURELY_WHOLE 2048

int corral_preads (const int *fds, int n, unsigned char *buf, int cap, int *ends, int *errnos);

/* Reads each of the n descriptors whole from offset 0, one after the other into buf: file i's bytes
 * end at ends[i] and start where file i - 1's end (0 for the first).  errnos[i] is 0, or the errno of
 * its failed pread (its bytes then empty), ENOBUFS when buf had no room for the whole file, EBADF for
 * a negative descriptor (skipped).  Returns the bytes used. */
int
corral_preads (const int *fds, int n, unsigned char *buf, int cap, int *ends, int *errnos)
{
  int used = 0;
  for (int i = 0; i < n; i++)
    {
      int start = used, err = 0;
      if (fds[i] < 0)
        err = EBADF;
      else
        {
          ssize_t got = pread (fds[i], buf + used, cap - used, 0);
          if (got < 0)
            err = errno;
          else
            {
              used += got;
              while (!err && got > 0 && used - start >= SURELY_WHOLE)
                {
                  if (used == cap)
                    err = ENOBUFS;
                  else if ((got = pread (fds[i], buf + used, cap - used, used - start)) < 0)
                    err = errno;
                  else
                    used += got;
                }
              if (!err && used == cap)
                err = ENOBUFS; /* a full buffer may have cut the file */
            }
        }
      if (err)
        used = start;
      ends[i] = used;
      errnos[i] = err;
    }
  return used;
}
