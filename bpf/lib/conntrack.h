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

/* A store the compiler keeps in program order with the other volatile accesses. */
#define ZS_WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* Returns 1 when the source is the lo side of the key. */
static __always_inline int zs_ct_key_of(struct zs_ct_key *k, const __u8 *saddr, const __u8 *daddr,
					__be16 sport, __be16 dport, __u8 proto, __u8 family)
{
	__u64 s0, s1, d0, d1;
	int src_lo;

	__builtin_memcpy(&s0, saddr, 8);
	__builtin_memcpy(&s1, saddr + 8, 8);
	__builtin_memcpy(&d0, daddr, 8);
	__builtin_memcpy(&d1, daddr + 8, 8);
	if (s0 != d0)
		src_lo = s0 < d0;
	else if (s1 != d1)
		src_lo = s1 < d1;
	else
		src_lo = sport <= dport;

	if (src_lo) {
		__builtin_memcpy(k->addr_lo, saddr, 16);
		__builtin_memcpy(k->addr_hi, daddr, 16);
		k->port_lo = sport;
		k->port_hi = dport;
	} else {
		__builtin_memcpy(k->addr_lo, daddr, 16);
		__builtin_memcpy(k->addr_hi, saddr, 16);
		k->port_lo = dport;
		k->port_hi = sport;
	}
	k->proto = proto;
	k->family = family;
	k->pad[0] = k->pad[1] = 0;
	return src_lo;
}

static __always_inline int zs_ct_key_build(struct zs_ct_key *k, const struct zs_pkt *p)
{
	return zs_ct_key_of(k, p->saddr, p->daddr, p->sport, p->dport, p->proto, p->family);
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
