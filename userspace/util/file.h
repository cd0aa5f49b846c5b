/* SPDX-License-Identifier: MIT */
/* Directories and whole files. Functions return 0 or -errno. */
#ifndef ZS_UTIL_FILE_H
#define ZS_UTIL_FILE_H

#include <stddef.h>

int zs_mkdir_p(const char *path, unsigned mode);
/*
 * Write, fsync, rename, fsync the directory: the file is either the old or
 * the new content, and the new one is on disk when this returns 0. In two
 * steps when something must happen between "durable" and "visible":
 * zs_write_prepare writes and fsyncs a temporary file beside `path` (where a
 * full disk shows) and gives its name in *tmp; zs_write_publish renames it
 * over `path` and fsyncs the directory (a failure of that fsync alone is
 * logged: the file is published, and a crash would leave old or new whole);
 * zs_write_discard removes it. Both
 * free *tmp. Files are created 0600 and never through a symlink.
 */
int zs_write_atomic(const char *path, const void *data, size_t len);
int zs_write_prepare(const char *path, const void *data, size_t len, char **tmp);
int zs_write_publish(char *tmp, const char *path);
void zs_write_discard(char *tmp);
/*
 * Opens (creating it 0600, never through a symlink) and locks `path` for as
 * long as *fd stays open, writing our pid into it (if it can: a full disk
 * does not stop the lock). -EWOULDBLOCK when another
 * process holds it: *holder is then its pid as the file says (0: unknown).
 */
int zs_lock_file(const char *path, int *fd, int *holder);
/* Reads a whole file (or "-" = stdin) into a NUL-terminated buffer. */
int zs_read_file(const char *path, char **out, size_t *len);

#endif /* ZS_UTIL_FILE_H */
