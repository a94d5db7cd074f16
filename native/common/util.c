#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

int
read_all (int fd, size_t max, char **out, size_t *len)
{
  size_t cap = 16384, off = 0;
  char *buf = malloc (cap);

  if (buf == NULL)
    return -1;
  for (;;)
    {
      ssize_t n;

      if (off + 1 >= cap)
        {
          char *bigger = realloc (buf, cap *= 2);

          if (bigger == NULL)
            {
              free (buf);
              errno = ENOMEM;
              return -1;
            }
          buf = bigger;
        }
      n = read (fd, buf + off, cap - off - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;

          free (buf);
          errno = e;
          return -1;
        }
      if (n == 0)
        break;
      off += (size_t) n;
      if (off > max)
        {
          free (buf);
          errno = EFBIG;
          return -1;
        }
    }
  buf[off] = '\0';
  *out = buf;
  *len = off;
  return 0;
}

int
name_list_lookup_at (const char *const *first_name, size_t n, size_t stride, const char *list, uint64_t *found,
                     const char **bad, size_t *bad_len)
{
  const char *p = list;

  *found = 0;
  for (;;)
    {
      size_t len = strcspn (p, ",");
      size_t i;

      for (i = 0; i < n; i++)
        {
          const char *name = *(const char *const *) ((const char *) first_name + i * stride);

          if (strlen (name) == len && strncmp (name, p, len) == 0)
            break;
        }
      if (i == n)
        {
          *bad = p;
          *bad_len = len;
          return -1;
        }
      *found |= UINT64_C (1) << i;
      if (p[len] == '\0')
        return 0;
      p += len + 1;
    }
}
