/*
 * Helpers of native/'s programs: write_all and read_all are used by both corral-launch (launch/)
 * and corral-front (front.c), name_list_lookup by the launcher's spec parser.
 */
#ifndef CORRAL_COMMON_UTIL_H
#define CORRAL_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof (a) / sizeof (a)[0])

/* Write all of buf, retrying after EINTR and short writes.  0, or -1 with errno set. */
int write_all (int fd, const char *buf, size_t len);

/* Read fd to EOF into a new buffer (*out, to be freed, NUL-terminated after its *len bytes),
   retrying after EINTR.  0, or -1 with errno set: ENOMEM, EFBIG when there are more than `max`
   bytes, or read(2)'s. */
int read_all (int fd, size_t max, char **out, size_t *len);

/* A comma list of names ("ro,nosuid"), each looked up in `table`, an array of at most 64 structs
   with a `const char *name` member.  Sets bit i of *found for each name that is table[i].name and
   returns 0; or returns -1 and points *bad (*bad_len bytes, not NUL-terminated) at the first name
   that is in no entry.  The empty list is one empty name: a caller for which it means "none"
   checks for it first. */
#define name_list_lookup(table, list, found, bad, bad_len)                                                             \
  name_list_lookup_at (&(table)[0].name, ARRAY_SIZE (table) + NAME_TABLE_FITS_ (table), sizeof (table)[0], (list),     \
                       (found), (bad), (bad_len))
/* 0, or a compile-time error for a table of more than 64 entries (a negative array size) */
#define NAME_TABLE_FITS_(table) (0 * sizeof (char[ARRAY_SIZE (table) <= 64 ? 1 : -1]))

/* name_list_lookup with the table given as its first name, its length and its entries' size. */
int name_list_lookup_at (const char *const *first_name, size_t n, size_t stride, const char *list, uint64_t *found,
                         const char **bad, size_t *bad_len);

#endif
