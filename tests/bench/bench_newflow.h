/* SPDX-License-Identifier: MIT */
/*
 * Bench builds only (-DZS_BENCH_NEW_FLOWS -Itests/bench, tests/bench/bench_packet.c): the
 * new-flow path measured with BPF_PROG_TEST_RUN repeats, which run one
 * packet again and again. Each run takes the next source port, so each is a
 * flow of its own; the empty program the figures are compared with pays the
 * same counter. Never in the datapath users run.
 */
#ifndef ZS_BENCH_NEWFLOW_H
#define ZS_BENCH_NEWFLOW_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifdef ZS_BENCH_NEW_FLOWS
static __u32 zs_bench_seq;

/* 1024..65023, then round again: the bench clears conntrack between rounds. */
static __always_inline __be16 zs_bench_sport(void)
{
	__u32 n = zs_bench_seq++; /* the bench runs on one CPU */

	return bpf_htons((__u16)(1024 + n % 64000));
}
#endif

#endif /* ZS_BENCH_NEWFLOW_H */
