#include <errno.h>
#include <unistd.h>

#include "util.h"

int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}
