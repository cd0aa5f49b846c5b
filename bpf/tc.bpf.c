// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tc (clsact) programs for a workload's host-side interface:
 *   zs_tc_from_ep on ingress: traffic from the workload (its egress policy);
 *   zs_tc_to_ep   on egress:  traffic to the workload (its ingress policy).
 * All logic lives in lib/; these are the entry points only.
 */
#include "lib/datapath.h"

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

char LICENSE[] SEC("license") = "Dual MIT/GPL";
