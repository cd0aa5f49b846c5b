// SPDX-License-Identifier: MIT
/*
 * Attaching the loaded programs to interfaces: the tc pair (clsact ingress
 * and egress) on a workload's host-side interface, replaced in place so a
 * restarted daemon leaves no gap; and the XDP prefilter or flood shield,
 * native where the driver has it, generic otherwise. See datapath.h.
 */
#include "datapath/datapath.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>

#define ZS_TC_HANDLE 0x7a73 /* "zs" */
#define ZS_TC_PRIO 1

static int tc_attach_one(unsigned ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ZS_TC_HANDLE, .priority = ZS_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

int zs_dp_attach(struct zs_dp *dp, unsigned ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	err = bpf_tc_hook_create(&hook); /* the clsact qdisc */
	if (err && err != -EEXIST)
		return err;
	/* Replace in place: a restarted daemon swaps programs with no gap. */
	err = tc_attach_one(ifindex, BPF_TC_INGRESS, dp->from_ep_fd);
	if (!err)
		err = tc_attach_one(ifindex, BPF_TC_EGRESS, dp->to_ep_fd);
	return err;
}

int zs_dp_detach(unsigned ifindex)
{
	int err = 0;

	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
			    .attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ZS_TC_HANDLE, .priority = ZS_TC_PRIO);
		int e = bpf_tc_detach(&hook, &opts);
		if (e && e != -ENOENT && !err)
			err = e;
	}
	return err;
}

int zs_dp_attach_xdp(struct zs_dp *dp, unsigned ifindex, bool shield, const char **mode)
{
	int fd = shield ? dp->xdp_shield_fd : dp->xdp_uplink_fd;
	int err = bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);

	*mode = "native";
	if (err) {
		/* Replaces a generic-mode program of ours, too. */
		bpf_xdp_detach((int)ifindex, XDP_FLAGS_DRV_MODE, NULL);
		err = bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_SKB_MODE, NULL);
		*mode = "generic";
	}
	return err;
}

int zs_dp_detach_xdp(unsigned ifindex)
{
	int a = bpf_xdp_detach((int)ifindex, XDP_FLAGS_DRV_MODE, NULL);
	int b = bpf_xdp_detach((int)ifindex, XDP_FLAGS_SKB_MODE, NULL);
	return a && b ? a : 0;
}
