/*
 * The child's file system directives (native/PROTOCOL.md "Body directives"): mkdir, touch, mask,
 * readonly, remount and pivot-root.
 */
#ifndef CORRAL_LAUNCH_MOUNT_H
#define CORRAL_LAUNCH_MOUNT_H

#include <sys/types.h>

#include "error.h"

int do_mkdir (const char *path, mode_t mode, struct failure *f);
int do_touch (const char *path, struct failure *f);
int do_mask (const char *path, struct failure *f);
int do_readonly (const char *path, struct failure *f);
int do_remount (const char *path, unsigned long flags, struct failure *f);
int do_pivot_root (const char *root, int errfd, struct failure *f);

#endif
