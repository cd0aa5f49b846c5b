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

static __always_inline void zs_emit(const struct zs_ctx *c, const struct zs_pkt *p,
				    const struct zs_tuple *t, const struct zs_decision *d,
				    __u32 type, __u32 rev)
{
	struct zs_flow_event *ev = bpf_ringbuf_reserve(&zs_events, sizeof(*ev), 0);

	if (!ev) {
		zs_count_stat(ZS_STAT_EVENTS_LOST);
		return;
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
	ev->tcp_flags = p->tcp_flags;
	ev->pad = 0;
	ev->bytes = c->len;
	ev->pad2 = 0;
	bpf_ringbuf_submit(ev, 0);
}

#endif /* ZS_EVENTS_H */
