// SPDX-License-Identifier: MIT
/*
 * The datapath under pressure.
 *
 * Conntrack, through the real tc program: a table of 1024
 * entries (the daemon's --ct-max) filled by 4096 allowed flows. The LRU
 * evicts the oldest flows; new flows are still judged by policy (a denied
 * one stays denied, never a free pass); an evicted flow's next packet is
 * judged as a new flow in its own direction (so a reply whose direction the
 * policy does not allow is dropped), while recent flows carry on.
 *
 * The XDP prefilters through PROG_TEST_RUN: the flood shield drops a denied
 * flow (and leaves it a deny entry), passes an allowed one untracked and drops
 * a spoofed source; the uplink prefilter judges by the local workload's
 * ingress policy and drops an outside packet with a local workload's address.
 *
 * The writer's quiesce: packets count themselves in and out of the full path
 * (zs_inflight, odd while inside; the fast path does not), and the quiesce
 * waits for a CPU that is inside to leave (up to a second), and gives up on
 * a count that never moves (then an RCU grace period).
 *
 * Also prints each program's verifier instruction count (the load fails the
 * test if a program no longer verifies).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <pthread.h>
#include <unistd.h>
#include <time.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/abi.h"
#include "policy/compile.h"
#include "datapath/datapath.h"
#include "policy/parse.h"
#include "datapath/writer.h"
#include "tests/lib/fixture.h"
#include "tests/lib/pkt.h"

#define CT_MAX 1024
#define FLOWS 4096

static const char policy[] =
	"apiVersion: zeroseg.io/v1\nkind: Workload\n"
	"metadata: {name: a, namespace: t, labels: {app: a}}\n"
	"spec: {interface: zp-a, addresses: [10.2.0.1]}\n"
	"---\napiVersion: zeroseg.io/v1\nkind: Workload\n"
	"metadata: {name: b, namespace: t, labels: {app: b}}\n"
	"spec: {interface: zp-b, addresses: [10.2.0.2]}\n"
	"---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
	"metadata: {name: a-to-b, namespace: t}\n"
	"spec:\n  selector: {matchLabels: {app: a}}\n"
	"  egress: [{to: [{selector: {matchLabels: {app: b}}}], ports: [{port: 80}]}]\n"
	"---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
	"metadata: {name: b-from-a, namespace: t}\n"
	"spec:\n  selector: {matchLabels: {app: b}}\n"
	"  ingress: [{from: [{selector: {matchLabels: {app: a}}}], ports: [{port: 80}]}]\n";

static struct zs_dp dp;

/* Packet p through a tc program (or an XDP one) on `dev`; returns its verdict. */
static int run_on(int prog, bool xdp, const char *dev, const struct pkt *p)
{
	__u8 buf[128];
	size_t len = pkt_build(p, buf, sizeof(buf));
	unsigned ifindex = if_nametoindex(dev);
	struct pkt_run run;

	assert_int_not_equal(len, 0);
	assert_int_equal(xdp ? pkt_run_xdp(prog, buf, len, ifindex, &run) :
			       pkt_run_tc(prog, buf, len, ifindex, 0, 0, &run),
			 0);
	return (int)run.retval;
}

/* TCP src:sport -> dst:dport with `flags` through one tc hook on `dev`; returns the TC verdict. */
static int send_tcp(int prog, const char *dev, const char *src, unsigned sport, const char *dst,
		    unsigned dport, __u8 flags)
{
	return run_on(prog, false, dev, &(struct pkt)TCP(src, sport, dst, dport, flags));
}

/* The same frame arriving at an XDP program on `dev`; returns the XDP verdict. */
static int send_tcp_xdp(int prog, const char *dev, const char *src, unsigned sport, const char *dst,
			unsigned dport, __u8 flags)
{
	return run_on(prog, true, dev, &(struct pkt)TCP(src, sport, dst, dport, flags));
}

/* Entries in the IPv4 conntrack table (every flow here is IPv4). */
static size_t ct_count(void)
{
	struct zs_ct4_key k, next;
	size_t n = 0;
	int err;

	for (err = bpf_map_get_next_key(dp.ct4_fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(dp.ct4_fd, &k, &next)) {
		k = next;
		n++;
	}
	return n;
}

static void test_full_table(void **state)
{
	(void)state;
	/* SYN and SYN-ACK of FLOWS allowed connections, each flow fully set up. */
	for (unsigned i = 0; i < FLOWS; i++) {
		assert_int_equal(send_tcp(dp.from_ep_fd, "zp-a", "10.2.0.1", 10000 + i, "10.2.0.2", 80, 0x02),
				 TC_ACT_OK);
		assert_int_equal(send_tcp(dp.from_ep_fd, "zp-b", "10.2.0.2", 80, "10.2.0.1", 10000 + i, 0x12),
				 TC_ACT_OK);
	}
	size_t n = ct_count();
	printf("conntrack: %u flows through a table of %u: %zu entries held\n", FLOWS, CT_MAX, n);
	assert_true(n <= CT_MAX + 64); /* LRU: bounded (per-CPU free lists give a little slack) */
	assert_true(n >= CT_MAX / 2); /* IPv4 flows are in zs_ct4, and it was filled */

	/* Still judged: a denied new flow is denied, an allowed one allowed. */
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-a", "10.2.0.1", 30000, "10.2.0.2", 22, 0x02),
			 TC_ACT_SHOT);
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-b", "10.2.0.2", 30001, "10.2.0.1", 80, 0x02),
			 TC_ACT_SHOT);
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-a", "10.2.0.1", 30002, "10.2.0.2", 80, 0x02),
			 TC_ACT_OK);

	/* The oldest flow was evicted: b's next packet on it is b's own new flow, denied. */
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-b", "10.2.0.2", 80, "10.2.0.1", 10000, 0x10),
			 TC_ACT_SHOT);
	/* a's side of it is a's direction, allowed by policy: it passes (and is tracked again). */
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-a", "10.2.0.1", 10000, "10.2.0.2", 80, 0x10),
			 TC_ACT_OK);
	/* The newest flow is still there: b's reply passes. */
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-b", "10.2.0.2", 80, "10.2.0.1", 10000 + FLOWS - 1, 0x10),
			 TC_ACT_OK);
}

/* ---- the XDP prefilters ---------------------------------------------------- */

/* The conntrack entry of a:sport -> b:dport, or -ENOENT. */
static int ct_entry(unsigned sport, unsigned dport, struct zs_ct_entry *e)
{
	struct zs_ct_key k = { .proto = IPPROTO_TCP, .family = ZS_AF_INET };

	/* 10.2.0.1 < 10.2.0.2: a is the lo side. */
	inet_pton(AF_INET, "10.2.0.1", k.addr_lo);
	inet_pton(AF_INET, "10.2.0.2", k.addr_hi);
	k.port_lo = htons(sport);
	k.port_hi = htons(dport);
	return zs_dp_ct_lookup(&dp, &k, e) ? -ENOENT : 0;
}

/*
 * The flood shield on a's interface judges what a sends as tc would and only
 * ever drops: a denied flow gets its deny entry here (its repeats cost one
 * lookup), an allowed one passes untracked (tc tracks it), a spoofed source
 * dies. The uplink prefilter judges traffic from other hosts by the local
 * workload's ingress policy and drops a packet from outside that claims a
 * local workload's address.
 */
static void test_xdp_prefilters(void **state)
{
	struct zs_ct_entry e;
	(void)state;

	assert_int_equal(send_tcp_xdp(dp.xdp_shield_fd, "zp-a", "10.2.0.1", 41000, "10.2.0.2", 22, 0x02),
			 XDP_DROP);
	assert_int_equal(ct_entry(41000, 22, &e), 0);
	assert_int_equal(e.verdict, ZS_VERDICT_DENY);
	assert_int_equal(e.ifindex[0], if_nametoindex("zp-a")); /* a's address, bound to a */
	/* Its repeat: dropped on the entry. */
	assert_int_equal(send_tcp_xdp(dp.xdp_shield_fd, "zp-a", "10.2.0.1", 41000, "10.2.0.2", 22, 0x02),
			 XDP_DROP);
	/* Allowed: passed on to tc, no entry made here. */
	assert_int_equal(send_tcp_xdp(dp.xdp_shield_fd, "zp-a", "10.2.0.1", 41001, "10.2.0.2", 80, 0x02),
			 XDP_PASS);
	assert_int_equal(ct_entry(41001, 80, &e), -ENOENT);
	/* b's address sent from a's interface: spoofed. */
	assert_int_equal(send_tcp_xdp(dp.xdp_shield_fd, "zp-a", "10.2.0.2", 80, "10.2.0.1", 41002, 0x12),
			 XDP_DROP);

	/* Uplink: from outside to b:80, b takes 80 from a only: dropped; to nobody here: passed. */
	assert_int_equal(send_tcp_xdp(dp.xdp_uplink_fd, "zp-b-p", "192.0.2.7", 42000, "10.2.0.2", 80, 0x02),
			 XDP_DROP);
	assert_int_equal(send_tcp_xdp(dp.xdp_uplink_fd, "zp-b-p", "192.0.2.7", 42000, "192.0.2.8", 80, 0x02),
			 XDP_PASS);
	/* From outside with a's address: spoofed, dropped. */
	assert_int_equal(send_tcp_xdp(dp.xdp_uplink_fd, "zp-b-p", "10.2.0.1", 42001, "10.2.0.2", 80, 0x02),
			 XDP_DROP);
}

/* ---- the writer's quiesce ------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Every CPU's in-flight count into v (ncpu values); returns their sum. */
static __u64 inflight_read(__u64 *v, int ncpu)
{
	__u32 zero = 0;
	__u64 sum = 0;

	assert_int_equal(bpf_map_lookup_elem(dp.inflight_fd, &zero, v), 0);
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

static void inflight_write(__u64 first, int ncpu)
{
	__u64 *v = calloc((size_t)ncpu, sizeof(*v));
	__u32 zero = 0;

	v[0] = first;
	assert_int_equal(bpf_map_update_elem(dp.inflight_fd, &zero, v, 0), 0);
	free(v);
}

static void test_inflight_counts(void **state)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v = calloc((size_t)ncpu, sizeof(*v));
	(void)state;

	__u64 before = inflight_read(v, ncpu);
	/* A new flow takes the full path: in and out, on one CPU. */
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-a", "10.2.0.1", 40000, "10.2.0.2", 80, 0x02),
			 TC_ACT_OK);
	__u64 after = inflight_read(v, ncpu);
	assert_int_equal(after, before + 2);
	for (int i = 0; i < ncpu; i++)
		assert_int_equal(v[i] & 1, 0);
	/* Its next packet takes the fast path, which reads no generation: not counted. */
	assert_int_equal(send_tcp(dp.from_ep_fd, "zp-a", "10.2.0.1", 40000, "10.2.0.2", 80, 0x10),
			 TC_ACT_OK);
	assert_int_equal(inflight_read(v, ncpu), after);
	/* The XDP prefilters read a generation too: counted. */
	assert_int_equal(send_tcp_xdp(dp.xdp_shield_fd, "zp-a", "10.2.0.1", 40001, "10.2.0.2", 80, 0x02),
			 XDP_PASS);
	assert_int_equal(inflight_read(v, ncpu), after + 2);
	free(v);
}

struct leaver {
	int ncpu;
	unsigned after_ms;
};

/* The packet "inside" on CPU 0 leaves after a while. */
static void *leave_later(void *arg)
{
	const struct leaver *l = arg;

	usleep(l->after_ms * 1000);
	inflight_write(2, l->ncpu);
	return NULL;
}

static void test_quiesce_waits_for_packets_inside(void **state)
{
	int ncpu = libbpf_num_possible_cpus();
	struct leaver l = { .ncpu = ncpu, .after_ms = 150 };
	pthread_t t;
	(void)state;

	/* Nobody inside: no wait worth the name (an RCU grace period takes ~10 ms or more). */
	inflight_write(0, ncpu);
	double t0 = now_ms();
	zs_dp_map_ops.quiesce(&dp);
	double idle = now_ms() - t0;
	printf("quiesce, nothing inside: %.2f ms\n", idle);
	assert_true(idle < 5);

	/* A packet inside on CPU 0 (count odd) that leaves 150 ms later: waited for. */
	inflight_write(1, ncpu);
	assert_int_equal(pthread_create(&t, NULL, leave_later, &l), 0);
	t0 = now_ms();
	zs_dp_map_ops.quiesce(&dp);
	double waited = now_ms() - t0;
	pthread_join(t, NULL);
	printf("quiesce, one packet inside for 150 ms: returned after %.1f ms\n", waited);
	assert_true(waited >= 140 && waited < 1000);

	/* A count that never moves: give up, take a grace period, return. */
	inflight_write(1, ncpu);
	t0 = now_ms();
	zs_dp_map_ops.quiesce(&dp);
	double stuck = now_ms() - t0;
	printf("quiesce, a count stuck odd: returned after %.1f ms\n", stuck);
	assert_true(stuck >= 900 && stuck < 3000);
	inflight_write(0, ncpu);
}

static void print_verified(const char *name, int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	printf("verifier: %-14s %u instructions processed\n", name, info.verified_insns);
	assert_true(info.verified_insns > 0);
}

static void test_verifier_counts(void **state)
{
	(void)state;
	print_verified("zs_tc_from_ep", dp.from_ep_fd);
	print_verified("zs_tc_to_ep", dp.to_ep_fd);
	print_verified("zs_xdp_uplink", dp.xdp_uplink_fd);
	print_verified("zs_xdp_shield", dp.xdp_shield_fd);
}

static int setup(void **state)
{
	struct fx_estate e;
	struct zs_dp_opts opts = { .ct_max = CT_MAX };
	int err;
	(void)state;

	if (unshare(CLONE_NEWNET) ||
	    system("ip link add zp-a type veth peer name zp-a-p && ip link add zp-b type veth peer name zp-b-p")) {
		fprintf(stderr, "netns/veth setup failed (needs root)\n");
		return -1;
	}
	if (zs_dp_open_opts(&dp, NULL, &opts)) {
		fprintf(stderr, "loading the datapath failed\n");
		return -1;
	}
	err = fx_estate_init(&e, policy);
	if (!err)
		err = fx_write(&e.c, &zs_dp_map_ops, &dp);
	fx_estate_free(&e);
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	zs_dp_close(&dp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verifier_counts),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_inflight_counts),
		cmocka_unit_test(test_xdp_prefilters),
		cmocka_unit_test(test_quiesce_waits_for_packets_inside),
	};
	return cmocka_run_group_tests_name("datapath under pressure", tests, setup, teardown);
}
