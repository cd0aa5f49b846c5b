/* SPDX-License-Identifier: MIT */
/*
 * Conntrack keys in canonical order: the (address, port) pair that compares
 * lower goes first, so a flow's two directions share one entry and one lookup.
 * The order only needs to be total and consistent, not lexicographic.
 */
#ifndef ZS_CONNTRACK_H
#define ZS_CONNTRACK_H

#include "maps.h"
#include "parse.h"

/* Returns 1 when the packet's source is the lo side of the key. */
static __always_inline int zs_ct_key_build(struct zs_ct_key *k, const struct zs_pkt *p)
{
	__u64 s0, s1, d0, d1;
	int src_lo;

	__builtin_memcpy(&s0, p->saddr, 8);
	__builtin_memcpy(&s1, p->saddr + 8, 8);
	__builtin_memcpy(&d0, p->daddr, 8);
	__builtin_memcpy(&d1, p->daddr + 8, 8);
	if (s0 != d0)
		src_lo = s0 < d0;
	else if (s1 != d1)
		src_lo = s1 < d1;
	else
		src_lo = p->sport <= p->dport;

	if (src_lo) {
		__builtin_memcpy(k->addr_lo, p->saddr, 16);
		__builtin_memcpy(k->addr_hi, p->daddr, 16);
		k->port_lo = p->sport;
		k->port_hi = p->dport;
	} else {
		__builtin_memcpy(k->addr_lo, p->daddr, 16);
		__builtin_memcpy(k->addr_hi, p->saddr, 16);
		k->port_lo = p->dport;
		k->port_hi = p->sport;
	}
	k->proto = p->proto;
	k->family = p->family;
	k->pad[0] = k->pad[1] = 0;
	return src_lo;
}

/* Account one packet to the entry; dir 0 = initiator -> responder. */
static __always_inline void zs_ct_account(struct zs_ct_entry *e, int dir, __u32 bytes,
					  __u8 tcp_flags, __u64 now)
{
	__sync_fetch_and_add(&e->packets[dir & 1], 1);
	__sync_fetch_and_add(&e->bytes[dir & 1], bytes);
	e->last_ns = now;
	if (tcp_flags & ~e->tcp_flags)
		e->tcp_flags |= tcp_flags;
	if (dir)
		e->flags |= ZS_CT_SEEN_REPLY;
}

#endif /* ZS_CONNTRACK_H */
