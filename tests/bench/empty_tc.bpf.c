// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The floor for tests/bench/bench_packet.c: a tc program that does nothing,
 * run through the same BPF_PROG_TEST_RUN path as zs_tc_from_ep, so that
 * "delta vs empty" is the enforcement program's own cost. Built a second
 * time with -DZS_BENCH_NEW_FLOWS, it pays the same per-run port counter as
 * the bench build of zs_tc_from_ep (tests/bench/bench_newflow.h).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "bench_newflow.h"

SEC("tc")
int bench_empty_tc(struct __sk_buff *skb)
{
#ifdef ZS_BENCH_NEW_FLOWS
	skb->mark = zs_bench_sport();
#endif
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
