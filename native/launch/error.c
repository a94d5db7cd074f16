#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int
fail (struct failure *f, const char *step, int errnum, const char *fmt, ...)
{
  va_list ap;

  f->step = step;
  f->errnum = errnum;
  va_start (ap, fmt);
  vsnprintf (f->detail, sizeof f->detail, fmt, ap);
  va_end (ap);
  return -1;
}

const char *
errno_name (int errnum, char buf[16])
{
  const char *name = strerrorname_np (errnum);

  if (name != NULL)
    return name;
  snprintf (buf, 16, "E%d", errnum);
  return buf;
}

/* Escape backslash, TAB and newline as the spec file does, so that a detail stays one field. */
void
escape (char *dst, size_t cap, const char *src)
{
  size_t o = 0;

  for (; *src != '\0'; src++)
    {
      char c = *src, e = 0;

      if (c == '\\')
        e = '\\';
      else if (c == '\t')
        e = 't';
      else if (c == '\n')
        e = 'n';
      if (o + (e ? 2 : 1) >= cap)
        break;
      if (e)
        {
          dst[o++] = '\\';
          dst[o++] = e;
        }
      else
        dst[o++] = c;
    }
  dst[o] = '\0';
}
