/* SPDX-License-Identifier: MIT */
/*
 * The verdict on a flow from initiator to responder, under one generation.
 * Both ends' policies are checked where both are enrolled here: the
 * initiator's egress and the responder's ingress must allow. Deny wins, then
 * "no rule" (default deny), then audit, then allow.
 */
#ifndef ZS_DECIDE_H
#define ZS_DECIDE_H

#include "ipcache.h"
#include "policy.h"

/* Which end of the flow sits behind the interface the hook runs on. */
enum zs_ep_side {
	ZS_SIDE_SRC = 1,
	ZS_SIDE_DST = 2,
};

struct zs_decision {
	__u32 src_identity;
	__u32 dst_identity;
	__u32 egress_rule;
	__u32 ingress_rule;
	__u8 verdict; /* enum zs_verdict */
	__u8 reason;  /* enum zs_reason */
	__u8 checks;  /* enum zs_check_flags */
	__u8 src_local;
	__u8 dst_local;
	__u8 pad[3];
	/*
	 * Each end's interface as the ipcache binds its address (0: none). Not
	 * the hook's own interface: an address the hook's workload does not own
	 * must never look bound to it (the fast path trusts these).
	 */
	__u32 src_ifindex;
	__u32 dst_ifindex;
};

static __always_inline void zs_decide_fold(struct zs_decision *d, struct zs_policy_val v,
					   __u8 denied_flag)
{
	switch (v.verdict) {
	case ZS_VERDICT_ALLOW:
		return;
	case ZS_VERDICT_AUDIT:
		if (d->verdict == ZS_VERDICT_ALLOW)
			d->verdict = ZS_VERDICT_AUDIT;
		return;
	case ZS_VERDICT_DENY:
		d->verdict = ZS_VERDICT_DENY;
		d->reason = ZS_DROP_POLICY_DENY;
		d->checks |= denied_flag;
		return;
	default:
		if (d->reason != ZS_DROP_POLICY_DENY) {
			d->verdict = ZS_VERDICT_DENY;
			d->reason = ZS_DROP_DEFAULT_DENY;
		}
		d->checks |= denied_flag;
		return;
	}
}

/*
 * The verdict for peers already looked up (s: initiator, t: responder) under
 * revision `rev` (their identities are of its generation, rev & 1).
 */
static __always_inline void zs_decide_peers(struct zs_decision *d, __u32 rev, struct zs_peer s,
					    struct zs_peer t, __u8 proto, __be16 port, int side,
					    __u32 ep_identity, __u32 ep_ifindex)
{
	/* Bindings as the ipcache has them, before the hook's own end is set. */
	d->src_ifindex = s.ifindex;
	d->dst_ifindex = t.ifindex;

	/* The hook's own endpoint: enrolled by definition, its identity bound to
	 * the interface (the address only tells its CIDR). */
	if (side == ZS_SIDE_SRC) {
		s.identity = ep_identity;
		s.ifindex = ep_ifindex;
	}
	if (side == ZS_SIDE_DST) {
		t.identity = ep_identity;
		t.ifindex = ep_ifindex;
	}

	d->src_identity = s.identity;
	d->dst_identity = t.identity;
	d->egress_rule = 0;
	d->ingress_rule = 0;
	d->verdict = ZS_VERDICT_ALLOW;
	d->reason = ZS_REASON_FORWARDED;
	d->checks = 0;
	d->src_local = s.ifindex != 0;
	d->dst_local = t.ifindex != 0;

	if (s.ifindex) {
		struct zs_policy_val v =
			zs_policy_check(rev, s.identity, t.identity, t.cidr, ZS_DIR_EGRESS, proto,
					 port);
		d->checks |= ZS_CHECKED_EGRESS;
		d->egress_rule = v.rule_id;
		zs_decide_fold(d, v, ZS_DENIED_EGRESS);
	}
	if (t.ifindex) {
		struct zs_policy_val v =
			zs_policy_check(rev, t.identity, s.identity, s.cidr, ZS_DIR_INGRESS, proto,
					 port);
		d->checks |= ZS_CHECKED_INGRESS;
		d->ingress_rule = v.rule_id;
		zs_decide_fold(d, v, ZS_DENIED_INGRESS);
	}
}

static __always_inline void zs_decide(struct zs_decision *d, __u32 rev, const __u8 *src,
				      const __u8 *dst, __u8 family, __u8 proto, __be16 port,
				      int side, __u32 ep_identity, __u32 ep_ifindex)
{
	__u32 gen = rev & 1;

	zs_decide_peers(d, rev, zs_ipcache_peer(src, family, gen), zs_ipcache_peer(dst, family, gen),
			proto, port, side, ep_identity, ep_ifindex);
}

#endif /* ZS_DECIDE_H */
