/* SPDX-License-Identifier: MIT */
/* Addresses and prefixes (IPv4 and IPv6): parse, format, contain, compare. */
#ifndef ZS_UTIL_PREFIX_H
#define ZS_UTIL_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
/*
 * Family, then address, then length. Inline: the writer's merge walks and
 * sorts call it once per entry pair (100k-address sets).
 */
static inline int zs_prefix_cmp(const struct zs_prefix *a, const struct zs_prefix *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return (int)a->len - (int)b->len;
}

#endif /* ZS_UTIL_PREFIX_H */
