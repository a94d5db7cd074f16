/*
 * Helpers shared by corral-launch (launch/) and corral-front (front.c).
 */
#ifndef CORRAL_COMMON_UTIL_H
#define CORRAL_COMMON_UTIL_H

#include <stddef.h>

/* Write all of buf, retrying after EINTR and short writes.  0, or -1 with errno set. */
int write_all (int fd, const char *buf, size_t len);

#endif
