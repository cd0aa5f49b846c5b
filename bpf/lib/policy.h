/* SPDX-License-Identifier: MIT */
/*
 * One policy check: may `subject` talk to `peer` in direction `dir` on
 * proto/port? Bounded work whatever the policy size: one handle lookup and at
 * most two LPM lookups (specific peer, then any peer). Ranges, wildcards and
 * deny-over-allow were resolved by the compiler (userspace/compile.c).
 */
#ifndef ZS_POLICY_H
#define ZS_POLICY_H

#include "maps.h"

static __always_inline struct zs_policy_val zs_policy_check(__u32 gen, __u32 subject, __u32 peer,
							    __u8 dir, __u8 proto, __be16 port)
{
	struct zs_policy_val res = { .verdict = ZS_VERDICT_NONE, .rule_id = 0 };
	struct zs_handle_key hk = { .gen = gen, .identity = subject };
	struct zs_policy_val *v;
	__u32 *handle;

	handle = bpf_map_lookup_elem(&zs_handles, &hk);
	if (!handle)
		return res; /* nothing compiled for this identity: default deny */

	struct zs_policy_key k = {
		.prefixlen = ZS_POLICY_FULL_BITS,
		.handle = *handle,
		.peer = peer,
		.dir = dir,
		.proto = proto,
		.port = port,
	};
	v = bpf_map_lookup_elem(&zs_policy, &k);
	if (!v) {
		k.peer = ZS_ID_ANY;
		v = bpf_map_lookup_elem(&zs_policy, &k);
	}
	if (v)
		res = *v;
	return res;
}

#endif /* ZS_POLICY_H */
