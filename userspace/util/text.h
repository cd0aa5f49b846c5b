/* SPDX-License-Identifier: MIT */
/*
 * Text checks for what comes from files: is it UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF) without NUL bytes, and where
 * is a byte offset as a line and column (both from 1, columns in characters,
 * as libyaml counts them).
 */
#ifndef ZS_UTIL_TEXT_H
#define ZS_UTIL_TEXT_H

#include <stddef.h>

/*
 * The offset of the first byte of `buf` that is not part of a valid UTF-8
 * character, or of its first NUL byte; `len` when there is none.
 */
size_t zs_utf8_bad(const char *buf, size_t len);

/* Line and column of byte offset `off` (at most `len`) of `buf`. */
void zs_text_pos(const char *buf, size_t off, int *line, int *col);

#endif /* ZS_UTIL_TEXT_H */
