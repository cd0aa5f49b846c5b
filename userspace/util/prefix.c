// SPDX-License-Identifier: MIT
/* Addresses and prefixes: parse, format, compare; see prefix.h. */
#define _GNU_SOURCE
#include "util/prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zs_prefix_parse(const char *s, struct zs_prefix *out, bool allow_prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	long len = -1;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 4;
		if (len < 0)
			len = 32;
		if (len > 32)
			return -EINVAL;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		if (len < 0)
			len = 128;
		if (len > 128)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (!allow_prefix && len != (out->family == 4 ? 32 : 128))
		return -EINVAL;
	out->len = (uint8_t)len;
	/* Host bits must be zero: 10.1.2.3/8 is a mistake, not a network. */
	for (int bit = out->len; bit < 128; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -EDOM;
	return 0;
}

const char *zs_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len)
{
	if (family == 4 && len >= 16) {
		/* The hot path of every flow record: dotted quad without inet_ntop. */
		char *p = buf;
		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : '\0';
		}
		return buf;
	}
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *zs_prefix_str(const struct zs_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	zs_addr_str(p->family, p->addr, a, sizeof(a));
	if (p->len == (p->family == 4 ? 32 : 128))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

bool zs_prefix_contains(const struct zs_prefix *outer, const struct zs_prefix *inner)
{
	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	unsigned bytes = outer->len / 8, rest = outer->len % 8;
	if (memcmp(outer->addr, inner->addr, bytes))
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (outer->addr[bytes] & m) == (inner->addr[bytes] & m);
}

void zs_prefix_truncate(struct zs_prefix *p, unsigned len)
{
	if (len > p->len)
		return;
	p->len = (uint8_t)len;
	/* Every bit from `len` on cleared: the partial byte, then whole bytes. */
	unsigned byte = len / 8;
	if (len % 8)
		p->addr[byte++] &= (uint8_t)(0xff << (8 - len % 8));
	if (byte < sizeof(p->addr))
		memset(p->addr + byte, 0, sizeof(p->addr) - byte);
}
