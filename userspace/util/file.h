/* SPDX-License-Identifier: MIT */
/* Directories and whole files. Functions return 0 or -errno. */
#ifndef ZS_UTIL_FILE_H
#define ZS_UTIL_FILE_H

#include <stddef.h>

int zs_mkdir_p(const char *path, unsigned mode);
/* Write, fsync, rename: the file is either the old or the new content. */
int zs_write_atomic(const char *path, const void *data, size_t len);
/* Reads a whole file (or "-" = stdin) into a NUL-terminated buffer. */
int zs_read_file(const char *path, char **out, size_t *len);

#endif /* ZS_UTIL_FILE_H */
