/* SPDX-License-Identifier: MIT */
/*
 * XDP prefilters: drop denied flows before an skb exists. They decide with
 * the same maps and the same logic as the tc programs, but only ever drop:
 * whatever they pass still meets the tc program of the workload's interface,
 * which tracks it, counts it and reports it. A denied flow gets its
 * conntrack entry and its event here, so a flood costs one record and then
 * one map lookup per packet.
 *
 *   uplink: traffic from other hosts to a local workload, judged by that
 *           workload's ingress policy; a packet from the uplink claiming a
 *           local workload's address is spoofed;
 *   shield: traffic a workload sends, judged as zs_tc_from_ep would.
 *
 * Anything they cannot or need not judge here (not for a local workload,
 * link plumbing, ICMP errors, later fragments, headers they cannot read)
 * passes on to tc, which judges it in full.
 */
#ifndef ZS_PREFILTER_H
#define ZS_PREFILTER_H

#include "datapath.h"

static __always_inline enum zs_action zs_prefilter_in(struct zs_ctx *c)
{
	int shield = c->hook == ZS_HOOK_XDP_SHIELD;
	struct zs_pkt p = {};
	struct zs_decision d;
	struct zs_tuple t;
	struct zs_ct_key key;
	__u32 ep_id = 0;

	if (zs_parse(c, &p, 1) < 0 || p.kind != ZS_PKT_FLOW || p.frag == ZS_FRAG_LATER)
		return ZS_ACT_PASS;

	__u32 rev = zs_revision();
	__u32 gen = rev & 1;
	struct zs_ipcache_val *src = zs_ipcache_find(p.saddr, p.family);

	if (shield) {
		__u32 ifindex = c->ifindex;
		struct zs_endpoint *ep = bpf_map_lookup_elem(&zs_endpoints, &ifindex);
		if (!ep || !(ep->flags & ZS_EP_READY))
			return ZS_ACT_PASS; /* tc drops it, with the reason */
		if (!src || src->ifindex != ifindex)
			return zs_drop(ZS_DROP_SPOOFED_SRC, c->len);
		ep_id = gen ? ep->identity[1] : ep->identity[0];
	} else {
		struct zs_ipcache_val *dst = zs_ipcache_find(p.daddr, p.family);
		if (!dst || !dst->ifindex)
			return ZS_ACT_PASS; /* not for a workload of this host */
		if (src && src->ifindex)
			return zs_drop(ZS_DROP_SPOOFED_SRC, c->len); /* ours, from outside */
	}

	int src_lo = zs_ct_key_build(&key, &p);
	struct zs_ct_entry *e = zs_ct_lookup(&key);
	/* Established (under any revision: tc re-checks the initiator's direction). */
	if (e && e->verdict != ZS_VERDICT_DENY)
		return ZS_ACT_PASS;
	if (e && e->revision == rev) {
		int fwd = src_lo == !!(e->flags & ZS_CT_INIT_IS_LO);
		if (fwd) {
			__u64 now = zs_ct_now();
			zs_ct_account(e, 0, c->len, p.tcp_flags, now);
			zs_deny_repeat(c, &p, e, now);
			return zs_drop(e->reason, c->len);
		}
	}

	zs_decide(&d, rev, p.saddr, p.daddr, p.family, p.proto, p.pol_port,
		  shield ? ZS_SIDE_SRC : 0, ep_id, c->ifindex);
	if (d.verdict != ZS_VERDICT_DENY)
		return ZS_ACT_PASS; /* tc tracks it and reports it */

	__u64 now = zs_ct_now();
	zs_ct_create(&key, &p, &d, src_lo, rev, c->len, now); /* dropped either way */
	t.src = p.saddr;
	t.dst = p.daddr;
	t.sport = p.sport;
	t.dport = p.dport;
	zs_emit(c, &p, &t, &d, ZS_EV_FLOW_NEW, rev);
	return zs_drop(d.reason, c->len);
}

/* Counted in for the writer (lib/maps.h, zs_inflight): it reads a generation. */
static __always_inline enum zs_action zs_prefilter(struct zs_ctx *c)
{
	__u64 *inflight = zs_inflight_enter();
	enum zs_action a = zs_prefilter_in(c);

	zs_inflight_exit(inflight);
	return a;
}

#endif /* ZS_PREFILTER_H */
