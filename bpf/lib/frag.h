/* SPDX-License-Identifier: MIT */
/*
 * Fragments. The first fragment of a datagram carries the L4 header and is
 * judged like any packet; it records its ports here (per interface), and the
 * later fragments take them, so they find the flow's conntrack entry and its
 * verdict. Refused: a later fragment whose first was not seen, a second
 * "first" fragment, and any fragment overlapping one already seen (overlaps
 * are how a filter and a receiver are made to see different headers); the
 * rest of such a datagram is dropped too.
 */
#ifndef ZS_FRAG_H
#define ZS_FRAG_H

#include "maps.h"
#include "parse.h"

static __always_inline void zs_frag_key_of(struct zs_frag_key *k, const struct zs_pkt *p,
					   __u32 ifindex)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->id = p->frag_id;
	k->ifindex = ifindex;
	k->proto = p->frag_nh;
	k->family = p->family;
	k->pad[0] = k->pad[1] = 0;
}

/* Returns 0 (p's ports filled for a later fragment) or a drop reason. */
static __always_inline int zs_frag_track(struct zs_pkt *p, __u32 ifindex)
{
	struct zs_frag_key k;
	struct zs_frag_val *v;
	__u32 start = p->frag_off, end = (__u32)p->frag_off + p->frag_len;

	zs_frag_key_of(&k, p, ifindex);
	if (p->frag == ZS_FRAG_FIRST) {
		struct zs_frag_val nv = {
			.sport = p->sport,
			.dport = p->dport,
			.pol_port = p->pol_port,
			.nranges = 1,
			.end = { (__u16)end },
			.proto = p->proto,
		};
		nv.first_ns = bpf_ktime_get_ns();
		v = bpf_map_lookup_elem(&zs_frags, &k);
		if (v && nv.first_ns - v->first_ns < ZS_FRAG_TIMEOUT_NS) {
			/* A second first fragment: its header may not be the one we judged. */
			v->bad = 1;
			return ZS_DROP_FRAGMENT;
		}
		/* New, or an id reused after the old datagram timed out. */
		bpf_map_update_elem(&zs_frags, &k, &nv, BPF_ANY);
		return 0;
	}

	v = bpf_map_lookup_elem(&zs_frags, &k);
	if (!v || v->bad || end > 0xffff || end <= start ||
	    bpf_ktime_get_ns() - v->first_ns >= ZS_FRAG_TIMEOUT_NS)
		return ZS_DROP_FRAGMENT;
	int slot = -1;
#pragma unroll
	for (int i = 0; i < ZS_FRAG_RANGES; i++) {
		if (i >= v->nranges)
			break;
		if (start < v->end[i] && end > v->start[i]) {
			v->bad = 1;
			return ZS_DROP_FRAGMENT;
		}
		if (v->end[i] == start || v->start[i] == end)
			slot = i;
	}
	if (slot >= 0 && slot < ZS_FRAG_RANGES) {
		/* Adjacent: grow that range (the common in-order case). */
		if (v->end[slot] == start)
			v->end[slot] = (__u16)end;
		else
			v->start[slot] = (__u16)start;
	} else if (v->nranges < ZS_FRAG_RANGES) {
		__u8 n = v->nranges;
		if (n < ZS_FRAG_RANGES) {
			v->start[n] = (__u16)start;
			v->end[n] = (__u16)end;
			v->nranges = n + 1;
		}
	} else {
		return ZS_DROP_FRAGMENT; /* too scattered to check: refuse */
	}
	p->sport = v->sport;
	p->dport = v->dport;
	p->pol_port = v->pol_port;
	p->proto = v->proto;
	return 0;
}

#endif /* ZS_FRAG_H */
