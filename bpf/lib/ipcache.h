/* SPDX-License-Identifier: MIT */
/* Address -> identity through the ipcache LPM trie. A miss is `world`. */
#ifndef ZS_IPCACHE_H
#define ZS_IPCACHE_H

#include "maps.h"
#include "parse.h"

struct zs_peer {
	__u32 identity;
	__u32 cidr;    /* longest policy CIDR holding the address, or 0 */
	__u32 ifindex; /* local enrolled workload's interface, else 0 */
};

static __always_inline struct zs_ipcache_val *zs_ipcache_find(const __u8 *addr, __u8 family)
{
	struct zs_ipcache_key k = {
		.prefixlen = ZS_IPCACHE_PREFIX(128),
		.family = family,
	};

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&zs_ipcache, &k);
}

/* The peer an ipcache answer (NULL: no entry) describes under generation gen. */
static __always_inline struct zs_peer zs_peer_of(const struct zs_ipcache_val *v, __u32 gen)
{
	struct zs_peer p = { .identity = ZS_ID_WORLD, .cidr = 0, .ifindex = 0 };

	if (v) {
		p.identity = gen ? v->identity[1] : v->identity[0];
		p.cidr = gen ? v->cidr[1] : v->cidr[0];
		p.ifindex = v->ifindex;
	}
	return p;
}

static __always_inline struct zs_peer zs_ipcache_peer(const __u8 *addr, __u8 family, __u32 gen)
{
	return zs_peer_of(zs_ipcache_find(addr, family), gen);
}

#endif /* ZS_IPCACHE_H */
