// SPDX-License-Identifier: MIT
/*
 * Verifying and repairing the hooks on a real interface (datapath/attach.c):
 * a veth interface in a network namespace of this process's own (made with
 * unshare, so it and everything on it vanish with the process, whatever
 * happens). Each case attaches, tampers as an operator would with tc and ip
 * (qdisc deleted, one filter deleted, another program in our place, an
 * `ingress` qdisc in clsact's place, XDP detached), checks that zs_dp_verify names exactly the hooks that lost our
 * program, repairs, and checks that nothing is missing any more. And pins
 * removed from the bpffs directory are made again from the maps held, their
 * contents (the revision) kept.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "datapath/datapath.h"

#define IFN "zsg0"

static struct zs_dp dp;
static unsigned ifindex;

static void sh(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static unsigned verify(unsigned want, unsigned *foreign)
{
	int r = zs_dp_verify(&dp, ifindex, want, foreign);
	assert_true(r >= 0);
	return (unsigned)r;
}

/* The tc pair attached, then tampered with in each way tc allows. */
static void test_tc_tampered_and_repaired(void **state)
{
	unsigned foreign;
	(void)state;

	assert_int_equal(zs_dp_attach(&dp, ifindex), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), 0);

	sh("tc qdisc del dev " IFN " clsact");
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), ZS_DP_HOOK_TC);
	assert_int_equal(foreign, 0);
	assert_int_equal(zs_dp_repair(&dp, ifindex, ZS_DP_HOOK_TC), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), 0);

	sh("tc filter del dev " IFN " egress");
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), ZS_DP_HOOK_TC_EGRESS);
	assert_int_equal(zs_dp_repair(&dp, ifindex, ZS_DP_HOOK_TC_EGRESS), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), 0);

	sh("tc filter del dev " IFN " ingress");
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), ZS_DP_HOOK_TC_INGRESS);
	assert_int_equal(zs_dp_repair(&dp, ifindex, ZS_DP_HOOK_TC_INGRESS), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), 0);

	/* Another program at our handle and priority: not ours, so not enforcing. */
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0x7a73, .priority = 1, .prog_fd = dp.to_ep_fd,
		    .flags = BPF_TC_F_REPLACE);
	assert_int_equal(bpf_tc_attach(&hook, &opts), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), ZS_DP_HOOK_TC_INGRESS);
	assert_int_equal(foreign, ZS_DP_HOOK_TC_INGRESS);
	assert_int_equal(zs_dp_repair(&dp, ifindex, ZS_DP_HOOK_TC_INGRESS), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), 0);

	/* An `ingress` qdisc in clsact's place: its one block (the ingress
	 * hook) would take both filters, the traffic to the workload none. */
	sh("tc qdisc del dev " IFN " clsact && tc qdisc add dev " IFN " ingress");
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), ZS_DP_HOOK_TC);
	assert_int_equal(foreign, ZS_DP_HOOK_TC | ZS_DP_FOREIGN_QDISC);
	assert_int_equal(zs_dp_repair(&dp, ifindex, ZS_DP_HOOK_TC), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), 0);
	sh("tc qdisc show dev " IFN " | grep -q '^qdisc clsact ffff:'");
	/* Found by an attach too (a daemon started after the swap: EEXIST). */
	sh("tc qdisc del dev " IFN " clsact && tc qdisc add dev " IFN " ingress");
	assert_int_equal(zs_dp_attach(&dp, ifindex), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), 0);
	sh("tc qdisc show dev " IFN " | grep -q '^qdisc clsact ffff:'");

	assert_int_equal(zs_dp_detach(ifindex), 0);
	assert_int_equal(verify(ZS_DP_HOOK_TC, &foreign), ZS_DP_HOOK_TC);
}

/* The flood shield detached, or the uplink's prefilter in its place. */
static void test_xdp_tampered_and_repaired(void **state)
{
	unsigned foreign;
	const char *mode;
	(void)state;

	assert_int_equal(verify(ZS_DP_HOOK_XDP_SHIELD, &foreign), ZS_DP_HOOK_XDP_SHIELD);
	assert_int_equal(zs_dp_attach_xdp(&dp, ifindex, true, &mode), 0);
	assert_int_equal(verify(ZS_DP_HOOK_XDP_SHIELD, &foreign), 0);
	/* The other XDP program is not this hook's. */
	assert_int_equal(verify(ZS_DP_HOOK_XDP_UPLINK, &foreign), ZS_DP_HOOK_XDP_UPLINK);
	assert_int_equal(foreign, ZS_DP_HOOK_XDP_UPLINK);

	sh("ip link set dev " IFN " xdpgeneric off; ip link set dev " IFN " xdpdrv off 2>/dev/null; true");
	assert_int_equal(verify(ZS_DP_HOOK_XDP_SHIELD, &foreign), ZS_DP_HOOK_XDP_SHIELD);
	assert_int_equal(foreign, 0);
	assert_int_equal(zs_dp_repair(&dp, ifindex, ZS_DP_HOOK_XDP_SHIELD), 0);
	assert_int_equal(verify(ZS_DP_HOOK_XDP_SHIELD, &foreign), 0);
	assert_int_equal(zs_dp_detach_xdp(ifindex), 0);
}

static void test_gone_interface(void **state)
{
	unsigned foreign;
	(void)state;

	sh("ip link add zsg1 type veth peer name zsg1p");
	unsigned gone = if_nametoindex("zsg1");
	sh("ip link del zsg1");
	assert_int_equal(zs_dp_verify(&dp, gone, ZS_DP_HOOK_TC, &foreign), -ENODEV);
}

/* ---- pins ------------------------------------------------------------------ */

static char pindir[] = "/tmp/zs-guard-pins.XXXXXX";
static int repinned_n, repinned_err;

static void on_repin(void *ctx, const char *path, int err)
{
	(void)ctx;
	(void)path;
	repinned_n++;
	if (err)
		repinned_err = err;
}

static void test_pins_removed_are_made_again(void **state)
{
	struct zs_dp p;
	char path[300];
	struct zs_config cfg = { .revision = 41 }, back = { 0 };
	__u32 key = 0;
	(void)state;

	assert_non_null(mkdtemp(pindir));
	assert_int_equal(zs_dp_open(&p, pindir), 0);
	assert_int_equal(bpf_map_update_elem(p.fd[ZS_MAP_CONFIG], &key, &cfg, BPF_ANY), 0);
	assert_int_equal(zs_dp_repin(&p, on_repin, NULL), 0); /* nothing gone yet */

	snprintf(path, sizeof(path), "%s/zs_config", pindir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/zs_policy", pindir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(zs_dp_repin(&p, on_repin, NULL), 2);
	assert_int_equal(repinned_n, 2);
	assert_int_equal(repinned_err, 0);
	assert_int_equal(zs_dp_repin(&p, on_repin, NULL), 0);

	/* The pin is the map in use: what a restarted daemon adopts holds the revision. */
	snprintf(path, sizeof(path), "%s/zs_config", pindir);
	int fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &key, &back), 0);
	assert_int_equal(back.revision, 41);
	close(fd);
	zs_dp_close(&p);
	zs_dp_unpin(pindir);
	umount2(pindir, MNT_DETACH);
	rmdir(pindir);
}

/* A network namespace of our own (gone with the process), a veth pair in it. */
static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	if (system("ip link add " IFN " type veth peer name " IFN "p && ip link set " IFN " up &&"
		   " ip link set " IFN "p up") != 0)
		return -1;
	ifindex = if_nametoindex(IFN);
	return ifindex && zs_dp_open(&dp, NULL) == 0 ? 0 : -1;
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
		cmocka_unit_test(test_tc_tampered_and_repaired),
		cmocka_unit_test(test_xdp_tampered_and_repaired),
		cmocka_unit_test(test_gone_interface),
		cmocka_unit_test(test_pins_removed_are_made_again),
	};
	return cmocka_run_group_tests_name("datapath guard", tests, setup, teardown);
}
