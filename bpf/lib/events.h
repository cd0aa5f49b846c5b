/* SPDX-License-Identifier: MIT */
/*
 * Flow events to userspace through the ring buffer. A full ring costs the
 * event, never the packet, and is counted (ZS_STAT_EVENTS_LOST).
 */
#ifndef ZS_EVENTS_H
#define ZS_EVENTS_H

#include "maps.h"
#include "decide.h"

struct zs_tuple {
	const __u8 *src;
	const __u8 *dst;
	__be16 sport;
	__be16 dport;
};

static __always_inline void zs_ev_l4(struct zs_flow_event *ev, const struct zs_pkt *p)
{
	int icmp = p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6;

	ev->tcp_flags = icmp ? (__u8)(bpf_ntohs(p->pol_port) >> 8) : p->tcp_flags;
	ev->icmp_code = icmp ? (__u8)bpf_ntohs(p->pol_port) : 0;
}

/* One event; returns 0, or -1 when the ring is full (counted as lost). */
static __always_inline int zs_emit_n(const struct zs_ctx *c, const struct zs_pkt *p,
				     const struct zs_tuple *t, const struct zs_decision *d,
				     __u32 type, __u32 rev, __u32 suppressed)
{
	struct zs_flow_event *ev = bpf_ringbuf_reserve(&zs_events, sizeof(*ev), 0);

	if (!ev) {
		zs_count_stat(ZS_STAT_EVENTS_LOST);
		return -1;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->type = type;
	ev->ifindex = c->ifindex;
	__builtin_memcpy(ev->saddr, t->src, 16);
	__builtin_memcpy(ev->daddr, t->dst, 16);
	ev->sport = t->sport;
	ev->dport = t->dport;
	ev->proto = p->proto;
	ev->family = p->family;
	ev->verdict = d->verdict;
	ev->reason = d->reason;
	ev->src_identity = d->src_identity;
	ev->dst_identity = d->dst_identity;
	ev->egress_rule = d->egress_rule;
	ev->ingress_rule = d->ingress_rule;
	ev->revision = rev;
	ev->checks = d->checks;
	ev->hook = c->hook;
	zs_ev_l4(ev, p);
	ev->bytes = c->len;
	ev->suppressed = suppressed;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

static __always_inline void zs_emit(const struct zs_ctx *c, const struct zs_pkt *p,
				    const struct zs_tuple *t, const struct zs_decision *d,
				    __u32 type, __u32 rev)
{
	zs_emit_n(c, p, t, d, type, rev, 0);
}

/*
 * One more packet of a denied flow, dropped: counted in the entry, and
 * reported at most once per ZS_DENY_REPORT_NS with the number dropped since
 * the last report. A flood costs one record per interval, not one per packet.
 * The packet goes the flow's way (its initiator sent it), so its tuple is the flow's.
 */
static __always_inline void zs_deny_repeat(const struct zs_ctx *c, const struct zs_pkt *p,
					   struct zs_ct_entry *e, __u64 now)
{
	/* Signed: the daemon resets report_ns from the precise clock, which may lead ours. */
	if ((__s64)(now - e->report_ns) < (__s64)ZS_DENY_REPORT_NS) {
		__sync_fetch_and_add(&e->suppressed, 1);
		return;
	}
	struct zs_tuple t = { .src = p->saddr, .dst = p->daddr, .sport = p->sport, .dport = p->dport };
	struct zs_decision d = {
		.src_identity = e->src_identity,
		.dst_identity = e->dst_identity,
		.egress_rule = e->egress_rule,
		.ingress_rule = e->ingress_rule,
		.verdict = ZS_VERDICT_DENY,
		.reason = e->reason,
		.checks = e->checks,
	};
	if (zs_emit_n(c, p, &t, &d, ZS_EV_FLOW_DENIED, e->revision, e->suppressed)) {
		__sync_fetch_and_add(&e->suppressed, 1);
		return;
	}
	e->suppressed = 0;
	e->report_ns = now;
}

#endif /* ZS_EVENTS_H */
