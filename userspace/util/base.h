/* SPDX-License-Identifier: MIT */
/*
 * Logging, allocation that never returns NULL, growable arrays, hashing.
 * Functions return 0 or -errno unless they say otherwise.
 */
#ifndef ZS_UTIL_BASE_H
#define ZS_UTIL_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern int zs_verbose;
void zs_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_warn(...) zs_log("warn", __VA_ARGS__)
#define pr_info(...) zs_log("info", __VA_ARGS__)
#define pr_debug(...)                          \
	do {                                   \
		if (zs_verbose)                \
			zs_log("debug", __VA_ARGS__); \
	} while (0)

void *zs_xcalloc(size_t n, size_t size);
void *zs_xrealloc(void *p, size_t n, size_t size);
char *zs_xstrdup(const char *s);
char *zs_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Growable array: `struct { T *v; size_t n, cap; }`. ZS_VEC_PUSH returns a
 * pointer to the new, zeroed element.
 */
#define ZS_VEC(T)           \
	struct {            \
		T *v;       \
		size_t n;   \
		size_t cap; \
	}
void *zs_vec_grow(void **v, size_t *n, size_t *cap, size_t elem);
#define ZS_VEC_PUSH(vec) \
	((__typeof__((vec)->v))zs_vec_grow((void **)&(vec)->v, &(vec)->n, &(vec)->cap, sizeof(*(vec)->v)))

/*
 * qsort, bsearch and memcpy that take an empty array as it comes: a vector
 * never grown has v == NULL, n == 0, which the C library's declarations
 * (nonnull) make undefined behaviour.
 */
typedef int (*zs_cmp_fn)(const void *, const void *);
static inline void zs_qsort(void *v, size_t n, size_t size, zs_cmp_fn cmp)
{
	if (n)
		qsort(v, n, size, cmp);
}
static inline void *zs_bsearch(const void *key, const void *v, size_t n, size_t size, zs_cmp_fn cmp)
{
	return n ? bsearch(key, v, n, size, cmp) : NULL;
}
static inline void *zs_memcpy(void *dst, const void *src, size_t n)
{
	return n ? memcpy(dst, src, n) : dst;
}

uint32_t zs_fnv1a(const void *data, size_t len, uint32_t h);
#define ZS_FNV_INIT 2166136261u

#endif /* ZS_UTIL_BASE_H */
