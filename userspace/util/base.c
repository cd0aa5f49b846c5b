// SPDX-License-Identifier: MIT
/* Logging, allocation that never returns NULL, growable arrays, hashing; see base.h. */
#define _GNU_SOURCE
#include "util/base.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int zs_verbose;

void zs_log(const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zeroseg: %s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void zs_oom(void)
{
	fputs("zeroseg: out of memory\n", stderr);
	abort();
}

void *zs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		zs_oom();
	return p;
}

void *zs_xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		zs_oom();
	size_t bytes = n * size;
	p = realloc(p, bytes ? bytes : 1);
	if (!p)
		zs_oom();
	return p;
}

char *zs_xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		zs_oom();
	return d;
}

char *zs_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		zs_oom();
	va_end(ap);
	return s;
}

void *zs_vec_grow(void **v, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = zs_xrealloc(*v, *cap, elem);
	}
	char *slot = (char *)*v + (*n)++ * elem;
	memset(slot, 0, elem);
	return slot;
}


uint32_t zs_fnv1a(const void *data, size_t len, uint32_t h)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}
