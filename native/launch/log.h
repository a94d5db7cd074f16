/*
 * The `log` header directive: the workload's stdout and stderr copied into a json-file log
 * (native/PROTOCOL.md "Log file").
 */
#ifndef CORRAL_LAUNCH_LOG_H
#define CORRAL_LAUNCH_LOG_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "status.h"

#define LOG_NAME_MAX 240 /* the log file's name, so that "NAME.NNNNN" fits NAME_MAX */
#define LOG_MAX_FILES 99999

/* a longer line is split into records, as Docker does */
#define LOG_LINE_MAX 16384
/* a record's size at most: every byte escaped as \u00XX or \ufffd, plus the keys, the stream and
   the time */
#define LOG_RECORD_BYTES(len) (6 * (len) + 128)
/* records are batched here, then written with one write(2) */
#define LOG_OUT_MAX (128 * 1024)
static_assert (LOG_RECORD_BYTES (LOG_LINE_MAX) <= LOG_OUT_MAX, "the longest record fits the batch");
/* after the workload exits, read its pipes at most this long */
#define LOG_DRAIN_MS 2000

struct log_stream
{
  int fd;           /* read end of the workload's pipe; -1 at EOF */
  const char *name; /* "stdout" or "stderr" */
  size_t len;       /* bytes of an unfinished line in buf */
  char buf[LOG_LINE_MAX];
};

struct logger
{
  int fd;    /* the current log file, O_APPEND */
  int dirfd; /* its directory, for the renames of a rotation */
  char name[LOG_NAME_MAX + 1];
  unsigned long long size;     /* bytes in the current file */
  unsigned long long max_size; /* 0: no rotation */
  unsigned max_files;
  int noted_errno;      /* the last errno reported with a note, so that a full disk is
                           reported once, not once per record */
  struct timespec last; /* time stamps never go backwards within one launcher */
  char time[TIME_BUF];  /* the current read's time stamp, formatted */
  struct log_stream streams[2];
  size_t out_len;
  char out[LOG_OUT_MAX];
};

int logger_open (const char *path, unsigned long long max_size, unsigned max_files, struct logger **out, int pipe_w[2],
                 struct failure *f);
void logger_flush (struct launcher *l, struct logger *lg);
void logger_read (struct launcher *l, struct logger *lg, struct log_stream *st);
void logger_finish (struct launcher *l, struct logger *lg);

#endif
