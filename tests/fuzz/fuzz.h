/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer targets of tests/fuzz/ share: the entry point's
 * declaration, and the input as a NUL-terminated copy (the parsers take C
 * strings as the daemon hands them on).
 */
#ifndef ZS_FUZZ_H
#define ZS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `data` as a string of its own (free it), `prefix` before it. */
static inline char *fuzz_text(const char *prefix, const uint8_t *data, size_t size)
{
	size_t n = strlen(prefix);
	char *s = malloc(n + size + 1);

	memcpy(s, prefix, n);
	if (size)
		memcpy(s + n, data, size);
	s[n + size] = '\0';
	return s;
}

#endif /* ZS_FUZZ_H */
