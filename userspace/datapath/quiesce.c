// SPDX-License-Identifier: MIT
/*
 * Waiting out the packets that may still read the generation a flip retired.
 * On x86 the per-CPU in-flight counts (bpf/lib/maps.h, zs_inflight) answer
 * in microseconds; elsewhere, on PREEMPT_RT, or when the counts do not move,
 * an RCU grace period (membarrier), since every BPF program run holds the
 * RCU read lock.
 */
#define _GNU_SOURCE
#include "datapath/quiesce.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/membarrier.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "datapath/datapath.h"
#include "util/base.h"
#include "util/clock.h"

/* PREEMPT_RT runs programs preemptibly: two could nest on one CPU's count. */
static bool kernel_is_rt(void)
{
	static int rt = -1;

	if (rt < 0) {
		char c = 0;
		struct utsname u;
		FILE *f = fopen("/sys/kernel/realtime", "r");
		rt = f && fread(&c, 1, 1, f) == 1 && c == '1';
		if (f)
			fclose(f);
		if (!rt && uname(&u) == 0)
			rt = strstr(u.version, "PREEMPT_RT") != NULL;
	}
	return rt;
}

/*
 * Waits until every CPU that was inside a program's full path when we looked
 * has left it (bpf/lib/maps.h, zs_inflight: odd while inside). The flip was
 * written before this is called; the fence orders it before our read, as
 * the program's atomic add orders its count before its revision read: a
 * packet either saw the new revision or is waited for. 0, or -1 when the
 * counts cannot be used (then the caller takes a grace period).
 */
static int inflight_wait(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t zero = 0;
	int ret = -1;

	if (fd < 0 || ncpu <= 0 || kernel_is_rt())
		return -1;
	uint64_t *seen = zs_xcalloc((size_t)ncpu, sizeof(*seen));
	uint64_t *now = zs_xcalloc((size_t)ncpu, sizeof(*now));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (bpf_map_lookup_elem(fd, &zero, seen))
		goto out;
	/* A packet's full path takes microseconds: a second is an anomaly, not a wait. */
	uint64_t give_up = zs_now_ns(CLOCK_MONOTONIC) + 1000000000ull;
	while (zs_now_ns(CLOCK_MONOTONIC) < give_up) {
		bool inside = false;
		for (int i = 0; i < ncpu; i++)
			inside |= seen[i] & 1;
		if (!inside) {
			ret = 0;
			break;
		}
		usleep(50);
		if (bpf_map_lookup_elem(fd, &zero, now))
			break;
		for (int i = 0; i < ncpu; i++)
			if (now[i] != seen[i])
				seen[i] = 0; /* that CPU left (and may be in again: a newer packet) */
	}
out:
	free(seen);
	free(now);
	return ret;
}

/*
 * Before the writer touches the generation a flip retired: every packet that
 * may still read it has finished. The in-flight counts answer in
 * microseconds on x86; otherwise (or if they cannot be read) an RCU grace
 * period: every BPF program run holds the RCU read lock.
 */
void zs_dp_quiesce(void *ctx)
{
	const struct zs_dp *dp = ctx;

#if defined(__x86_64__) || defined(__i386__)
	if (dp && inflight_wait(dp->inflight_fd) == 0)
		return;
#endif
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(20000); /* no membarrier (nohz_full): a generous wait instead */
}
