/* SPDX-License-Identifier: MIT */
/*
 * Small shared helpers: logging, growable arrays, addresses, time.
 * Functions return 0 or -errno unless they say otherwise.
 */
#ifndef ZS_UTIL_H
#define ZS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* An address or prefix: family 4 or 6, bytes in network order. */
struct zs_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};
/* Parses "10.0.0.1", "10.0.0.0/8", "fd00::1", "fd00::/64". */
int zs_prefix_parse(const char *s, struct zs_prefix *out, bool allow_prefix);
/* Formats without the /len when it is a full-length host address. */
const char *zs_prefix_str(const struct zs_prefix *p, char *buf, size_t len);
const char *zs_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len);
bool zs_prefix_contains(const struct zs_prefix *outer, const struct zs_prefix *inner);
/* Shortens `p` to `len` bits (no-op when it is already shorter). */
void zs_prefix_truncate(struct zs_prefix *p, unsigned len);
int zs_prefix_cmp(const struct zs_prefix *a, const struct zs_prefix *b);

/* RFC 3339 UTC with nanoseconds, from CLOCK_REALTIME nanoseconds. */
void zs_rfc3339(uint64_t realtime_ns, char *buf, size_t len);
uint64_t zs_now_ns(int clock);

int zs_mkdir_p(const char *path, unsigned mode);
/* Write, fsync, rename: the file is either the old or the new content. */
int zs_write_atomic(const char *path, const void *data, size_t len);
/* Reads a whole file (or "-" = stdin) into a NUL-terminated buffer. */
int zs_read_file(const char *path, char **out, size_t *len);

uint32_t zs_fnv1a(const void *data, size_t len, uint32_t h);
#define ZS_FNV_INIT 2166136261u

#endif /* ZS_UTIL_H */
