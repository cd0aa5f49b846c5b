// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The datapath's entry points; all logic lives in lib/.
 * tc (clsact) programs for a workload's host-side interface:
 *   zs_tc_from_ep on ingress: traffic from the workload (its egress policy);
 *   zs_tc_to_ep   on egress:  traffic to the workload (its ingress policy).
 * XDP prefilters (lib/prefilter.h), dropping denied flows before an skb:
 *   zs_xdp_uplink on an uplink: traffic from other hosts;
 *   zs_xdp_shield on a workload interface (opt-in flood shield).
 * One object, so every program shares the same pinned maps.
 */
#include "lib/datapath.h"
#include "lib/prefilter.h"

SEC("tc")
int zs_tc_from_ep(struct __sk_buff *skb)
{
	struct zs_ctx c;

	zs_ctx_from_skb(&c, skb, ZS_HOOK_TC_FROM_EP);
	return zs_ctx_tc_ret(zs_handle(&c));
}

SEC("tc")
int zs_tc_to_ep(struct __sk_buff *skb)
{
	struct zs_ctx c;

	zs_ctx_from_skb(&c, skb, ZS_HOOK_TC_TO_EP);
	return zs_ctx_tc_ret(zs_handle(&c));
}

SEC("xdp")
int zs_xdp_uplink(struct xdp_md *xdp)
{
	struct zs_ctx c;

	zs_ctx_from_xdp(&c, xdp, ZS_HOOK_XDP);
	return zs_ctx_xdp_ret(zs_prefilter(&c));
}

SEC("xdp")
int zs_xdp_shield(struct xdp_md *xdp)
{
	struct zs_ctx c;

	zs_ctx_from_xdp(&c, xdp, ZS_HOOK_XDP_SHIELD);
	return zs_ctx_xdp_ret(zs_prefilter(&c));
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
