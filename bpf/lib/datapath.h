/* SPDX-License-Identifier: MIT */
/*
 * The per-packet pipeline, hook-agnostic:
 *   parse -> fast path: a flow decided under this revision, the packet coming
 *            the way its entry says (zs_ct_bound): account, pass (or drop)
 *   full path: endpoint -> anti-spoofing -> ICMP error? (its flow must be ours)
 *     -> fragment? (later ones take their first's ports) -> conntrack
 *     established, same revision: account, pass
 *     established, revision moved: re-check, pass or revoke
 *     new: decide (both ends' policies) -> conntrack create -> event
 * Bounded work, independent of the number of rules.
 */
#ifndef ZS_DATAPATH_H
#define ZS_DATAPATH_H

#include "ctx.h"
#include "parse.h"
#include "maps.h"
#include "conntrack.h"
#include "decide.h"
#include "events.h"
#include "frag.h"
#ifdef ZS_BENCH_NEW_FLOWS
#include "bench_newflow.h" /* bench builds only, from tests/bench (-Itests/bench) */
#endif

static __always_inline enum zs_action zs_drop(__u32 reason, __u32 bytes)
{
	zs_count_reason(reason, bytes);
	return ZS_ACT_DROP;
}

static __always_inline int zs_addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/* The conntrack entry of a flow just decided by `d`, its first packet counted. */
static __always_inline void zs_ct_entry_of(struct zs_ct_entry *ne, const struct zs_pkt *p,
					   const struct zs_decision *d, int src_lo, __u32 rev,
					   __u32 len, __u64 now)
{
	__builtin_memset(ne, 0, sizeof(*ne));
	ne->created_ns = now;
	ne->last_ns = now;
	ne->report_ns = now;
	ne->packets[0] = 1;
	ne->bytes[0] = len;
	ne->revision = rev;
	ne->src_identity = d->src_identity;
	ne->dst_identity = d->dst_identity;
	ne->egress_rule = d->egress_rule;
	ne->ingress_rule = d->ingress_rule;
	ne->verdict = d->verdict;
	ne->reason = d->reason;
	ne->flags = (src_lo ? ZS_CT_INIT_IS_LO : 0) | (d->src_local ? ZS_CT_INIT_LOCAL : 0) |
		    (d->dst_local ? ZS_CT_RESP_LOCAL : 0);
	ne->tcp_flags = p->tcp_flags;
	ne->policy_port = p->pol_port;
	ne->checks = d->checks;
	ne->ifindex[0] = d->src_ifindex;
	ne->ifindex[1] = d->dst_ifindex;
}

/*
 * Tracks a flow just decided by `d` (built in the per-CPU scratch value: the
 * stack is full). 0, or -1 when the table took no entry (counted otherwise).
 */
static __always_inline int zs_ct_create(const struct zs_ct_key *key, const struct zs_pkt *p,
					const struct zs_decision *d, int src_lo, __u32 rev,
					__u32 len, __u64 now)
{
	__u32 zero = 0;
	struct zs_ct_entry *ne = bpf_map_lookup_elem(&zs_ct_scratch, &zero);

	if (!ne)
		return -1;
	zs_ct_entry_of(ne, p, d, src_lo, rev, len, now);
	if (zs_ct_update(key, ne))
		return -1;
	zs_count_stat(ZS_STAT_CT_CREATED);
	return 0;
}

/*
 * Does this packet come the way its flow's entry was verified? The entry holds
 * the interfaces of both ends as the full path found them under the entry's
 * revision (endpoint enrolled and ready, source address bound to its
 * interface): from a workload, its source end's interface must be this one;
 * to a workload, the destination end's must be this one and a local source
 * must have entered through its own. Endpoints and the ipcache change only
 * with the revision, so under the same revision this is what the full path
 * would find; any other packet takes the full path.
 */
static __always_inline int zs_ct_bound(const struct zs_ctx *c, const struct zs_ct_entry *e,
				       int fwd, int from_ep)
{
	__u32 src_if = *(volatile const __u32 *)&e->ifindex[fwd ? 0 : 1];
	__u32 dst_if = *(volatile const __u32 *)&e->ifindex[fwd ? 1 : 0];

	if (from_ep)
		return src_if == c->ifindex;
	return dst_if == c->ifindex && (!src_if || src_if == c->ingress_ifindex);
}

/* One more packet of an established flow; the entry's verdict stands. */
static __always_inline enum zs_action zs_ct_hit(struct zs_ctx *c, const struct zs_pkt *p,
						struct zs_ct_entry *e, int fwd, int from_ep,
						__u64 now)
{
	int src_local = fwd ? (e->flags & ZS_CT_INIT_LOCAL) : (e->flags & ZS_CT_RESP_LOCAL);
	/* Count each packet once: at its source's hook if that is enrolled here. */
	int count_here = from_ep || !src_local;

	if (*(volatile const __u8 *)&e->verdict != ZS_VERDICT_DENY) {
		if (count_here)
			zs_ct_account(e, !fwd, c->len, p->tcp_flags, now);
		zs_count_reason(ZS_REASON_FORWARDED, c->len);
		return ZS_ACT_PASS;
	}
	/* More of a flow already denied and reported: one record per interval. */
	if (count_here) {
		zs_ct_account(e, 0, c->len, p->tcp_flags, now);
		zs_deny_repeat(c, p, e, now);
	}
	return zs_drop(e->reason, c->len);
}

/*
 * The full path: everything the fast path did not settle. `key`, `src_lo`
 * and `e` are the fast path's conntrack lookup when `looked`. It reads the
 * revision itself: the caller has counted it in (zs_inflight_enter) first.
 */
static __always_inline enum zs_action zs_handle_full(struct zs_ctx *c, struct zs_pkt *p,
						     struct zs_ct_key *key, int src_lo,
						     struct zs_ct_entry *e, int looked)
{
	int from_ep = c->hook == ZS_HOOK_TC_FROM_EP;
	struct zs_decision d;
	struct zs_tuple t;
	int err;
	__u32 rev = zs_revision();

	if (p->kind == ZS_PKT_INFRA) {
		/* A workload is never a router: its router advertisements die here. */
		if (from_ep && p->family == ZS_AF_INET6 && p->icmp_type == 134)
			return zs_drop(ZS_DROP_ROUTER_ADV, c->len);
		/* Link plumbing from a workload: link-local, unspecified or its own source. */
		if (from_ep && p->family == ZS_AF_INET6 &&
		    !(p->saddr[0] == 0xfe && (p->saddr[1] & 0xc0) == 0x80) && !zs_addr_is_unspec(p->saddr)) {
			struct zs_ipcache_val *own = zs_ipcache_find(p->saddr, p->family);
			if (!own || own->ifindex != c->ifindex)
				return zs_drop(ZS_DROP_SPOOFED_SRC, c->len);
		}
		zs_count_reason(ZS_REASON_FORWARDED, c->len);
		return ZS_ACT_PASS;
	}

	__u32 ifindex = c->ifindex;
	struct zs_endpoint *ep = bpf_map_lookup_elem(&zs_endpoints, &ifindex);
	if (!ep)
		return zs_drop(ZS_DROP_UNKNOWN_EP, c->len);
	if (!(ep->flags & ZS_EP_READY))
		return zs_drop(ZS_DROP_NOT_READY, c->len);

	__u32 gen = rev & 1;
	__u32 ep_id = gen ? ep->identity[1] : ep->identity[0];

	/* The source's ipcache entry: for these checks, and for a new flow's verdict. */
	struct zs_ipcache_val *src = zs_ipcache_find(p->saddr, p->family);

	/* Verify explicitly: from a workload, the source must be one of its own. */
	if (from_ep && (!src || src->ifindex != ifindex))
		return zs_drop(ZS_DROP_SPOOFED_SRC, c->len);
	/*
	 * To a workload, a packet with a local workload's source address must have
	 * come in through that workload's own interface (identity is the
	 * interface's, not the address's): new flows, established ones and ICMP errors.
	 */
	if (!from_ep && src && src->ifindex && src->ifindex != c->ingress_ifindex)
		return zs_drop(ZS_DROP_SPOOFED_SRC, c->len);

	if (p->kind == ZS_PKT_ICMP_ERR) {
		/*
		 * An error about a flow (port unreachable, fragmentation needed, packet
		 * too big) goes to the end that sent the quoted packet, and only for a
		 * flow we let through; anything else is a probe or a spoof.
		 */
		if (!zs_addr_eq(p->daddr, p->in_saddr))
			return zs_drop(ZS_DROP_ICMP_UNRELATED, c->len);
		/* A workload is no router: it reports errors only about packets sent to it. */
		if (from_ep && !zs_addr_eq(p->saddr, p->in_daddr))
			return zs_drop(ZS_DROP_ICMP_UNRELATED, c->len);
		zs_ct_key_of(key, p->in_saddr, p->in_daddr, p->in_sport, p->in_dport, p->in_proto,
			     p->family);
		struct zs_ct_entry *flow = zs_ct_lookup(key);
		/* A flow not yet re-checked under a new policy is not vouched for. */
		if (!flow || flow->verdict == ZS_VERDICT_DENY || flow->revision != rev)
			return zs_drop(ZS_DROP_ICMP_UNRELATED, c->len);
		zs_count_reason(ZS_REASON_FORWARDED, c->len);
		return ZS_ACT_PASS;
	}

	if (p->frag) {
		err = zs_frag_track(p, c->ifindex);
		if (err)
			return zs_drop(err, c->len);
	}

	if (!looked) {
		src_lo = zs_ct_key_build(key, p);
		e = zs_ct_lookup(key);
	}
	__u64 now = zs_ct_now();

	if (e) {
		int fwd = src_lo == !!(e->flags & ZS_CT_INIT_IS_LO);

		if (e->verdict != ZS_VERDICT_DENY) {
			if (e->revision != rev) {
				/* Policy changed since approval: re-check the initiator's direction. */
				int side = (from_ep == fwd) ? ZS_SIDE_SRC : ZS_SIDE_DST;
				t.src = fwd ? p->saddr : p->daddr;
				t.dst = fwd ? p->daddr : p->saddr;
				t.sport = fwd ? p->sport : p->dport;
				t.dport = fwd ? p->dport : p->sport;
				zs_decide(&d, rev, t.src, t.dst, p->family, p->proto, e->policy_port, side,
					  ep_id, ifindex);
				/*
				 * The revision last: another CPU's fast path that sees it
				 * sees the verdict and bindings it goes with (x86 keeps
				 * stores in order; volatile keeps the compiler's order).
				 */
				ZS_WRITE_ONCE(e->egress_rule, d.egress_rule);
				ZS_WRITE_ONCE(e->ingress_rule, d.ingress_rule);
				ZS_WRITE_ONCE(e->checks, d.checks);
				ZS_WRITE_ONCE(e->ifindex[0], d.src_ifindex);
				ZS_WRITE_ONCE(e->ifindex[1], d.dst_ifindex);
				if (d.verdict == ZS_VERDICT_DENY)
					ZS_WRITE_ONCE(e->reason, ZS_DROP_REVOKED);
				ZS_WRITE_ONCE(e->verdict, d.verdict);
				ZS_WRITE_ONCE(e->revision, rev);
				if (d.verdict == ZS_VERDICT_DENY) {
					d.reason = ZS_DROP_REVOKED;
					zs_emit(c, p, &t, &d, ZS_EV_FLOW_REVOKED, rev);
					return zs_drop(ZS_DROP_REVOKED, c->len);
				}
			}
			return zs_ct_hit(c, p, e, fwd, from_ep, now);
		}
		if (fwd && e->revision == rev)
			return zs_ct_hit(c, p, e, fwd, from_ep, now);
		/*
		 * A revoked flow stays revoked from both ends: the other side's next
		 * packet must not take the tuple over as a new flow of its own (and
		 * carry the old connection on). Only a fresh TCP SYN may, or the entry
		 * ageing out.
		 */
		if (!fwd && e->revision == rev && e->reason == ZS_DROP_REVOKED &&
		    !(p->proto == IPPROTO_TCP && (p->tcp_flags & (ZS_TCP_SYN | 0x10)) == ZS_TCP_SYN))
			return zs_drop(ZS_DROP_REVOKED, c->len);
		/* A denied flow's "reply", or a denied flow under a new policy: judge anew. */
	}

	t.src = p->saddr;
	t.dst = p->daddr;
	t.sport = p->sport;
	t.dport = p->dport;
	zs_decide_peers(&d, rev, zs_peer_of(src, gen), zs_ipcache_peer(p->daddr, p->family, gen),
			p->proto, p->pol_port, from_ep ? ZS_SIDE_SRC : ZS_SIDE_DST, ep_id, ifindex);

	if (zs_ct_create(key, p, &d, src_lo, rev, c->len, now) && d.verdict != ZS_VERDICT_DENY) {
		/* Untracked, its replies would be judged as new flows: fail closed. */
		d.verdict = ZS_VERDICT_DENY;
		d.reason = ZS_DROP_CT_INSERT;
	}
	zs_emit(c, p, &t, &d, ZS_EV_FLOW_NEW, rev);

	if (d.verdict == ZS_VERDICT_DENY)
		return zs_drop(d.reason, c->len);
	zs_count_reason(ZS_REASON_FORWARDED, c->len);
	return ZS_ACT_PASS;
}

static __always_inline enum zs_action zs_handle(struct zs_ctx *c)
{
	int from_ep = c->hook == ZS_HOOK_TC_FROM_EP;
	struct zs_pkt p = {};
	struct zs_ct_key key = {};
	struct zs_ct_entry *e = NULL;
	int err, src_lo = 0, looked = 0;

	err = zs_parse(c, &p, 0);
	if (err < 0)
		return zs_drop(-err, c->len);
#ifdef ZS_BENCH_NEW_FLOWS
	p.sport = zs_bench_sport(); /* bench build: every run a new flow (tests/bench/bench_newflow.h) */
#endif

	if (p.kind == ZS_PKT_FLOW && !p.frag) {
		src_lo = zs_ct_key_build(&key, &p);
		e = zs_ct_lookup(&key);
		looked = 1;
		/* The revision first, then what it vouches for: volatile reads keep the order. */
		if (e && *(volatile __u32 *)&e->revision == zs_revision()) {
			int fwd = src_lo == !!(e->flags & ZS_CT_INIT_IS_LO);
			/* A denied flow's other direction is judged in full (below). */
			__u8 verdict = *(volatile const __u8 *)&e->verdict;
			if ((fwd || verdict != ZS_VERDICT_DENY) && zs_ct_bound(c, e, fwd, from_ep))
				return zs_ct_hit(c, &p, e, fwd, from_ep, zs_ct_now());
		}
	}

	__u64 *inflight = zs_inflight_enter();
	enum zs_action a = zs_handle_full(c, &p, &key, src_lo, e, looked);
	zs_inflight_exit(inflight);
	return a;
}

#endif /* ZS_DATAPATH_H */
