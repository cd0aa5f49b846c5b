// SPDX-License-Identifier: MIT
/*
 * Attaching the loaded programs to interfaces: the tc pair (clsact ingress
 * and egress) on a workload's host-side interface, replaced in place so a
 * restarted daemon leaves no gap; and the XDP prefilter or flood shield,
 * native where the driver has it, generic otherwise. Verifying that an
 * interface still carries them (the kernel asked, program ids compared),
 * and putting back what is gone. See datapath.h.
 */
#include "datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#define ZS_TC_HANDLE 0x7a73 /* "zs" */
#define ZS_TC_PRIO 1

static int tc_attach_one(unsigned ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ZS_TC_HANDLE, .priority = ZS_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

/*
 * One tc request on the netlink socket kept open (libbpf opens one per
 * call: ~40 us, most of a verification): `nlh` sent, the answer's messages
 * given to `cb`, then the ack. 0, or the kernel's -errno.
 */
static int tc_request(struct zs_dp *dp, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned seq;
	ssize_t n;
	int err = 0;

	if (!dp->tc_nl) {
		dp->tc_nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
		if (!dp->tc_nl || mnl_socket_bind(dp->tc_nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			err = -errno;
			if (dp->tc_nl)
				mnl_socket_close(dp->tc_nl);
			dp->tc_nl = NULL;
			return err;
		}
	}
	/* A dump ends with NLMSG_DONE, anything else with the ack. */
	nlh->nlmsg_flags |= NLM_F_REQUEST | (nlh->nlmsg_flags & NLM_F_DUMP ? 0 : NLM_F_ACK);
	nlh->nlmsg_seq = seq = ++dp->tc_seq;
	if (mnl_socket_sendto(dp->tc_nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((n = mnl_socket_recvfrom(dp->tc_nl, buf, sizeof(buf))) > 0) {
		err = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(dp->tc_nl), cb, data);
		if (err <= MNL_CB_STOP)
			break;
	}
	if (n < 0)
		return -errno;
	return err < 0 ? -errno : 0;
}

static struct tcmsg *tc_msg(char *buf, uint16_t type, unsigned ifindex, uint32_t parent)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *t;

	nlh->nlmsg_type = type;
	t = mnl_nlmsg_put_extra_header(nlh, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = (int)ifindex;
	t->tcm_parent = parent;
	return t;
}

struct qdisc_kind {
	unsigned ifindex;
	char kind[IFNAMSIZ];
};

/* One qdisc of the dump: the kind of the one at ffff: of our interface. */
static int qdisc_kind_cb(const struct nlmsghdr *nlh, void *data)
{
	struct qdisc_kind *q = data;
	const struct tcmsg *t = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWQDISC || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*t)) ||
	    (unsigned)t->tcm_ifindex != q->ifindex || t->tcm_parent != TC_H_INGRESS)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*t))
		if (mnl_attr_get_type(a) == TCA_KIND && !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			snprintf(q->kind, sizeof(q->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/*
 * The kind of the qdisc at ffff: (the one clsact takes, shared with the
 * `ingress` qdisc), in kind[IFNAMSIZ]; "" when there is none. An `ingress`
 * qdisc there takes our filters of both directions on its single block
 * (the ingress hook only): the traffic to the workload would run none.
 * A dump of every interface's qdiscs (the kernel filters a dump by nothing,
 * and answers a single RTM_GETQDISC to the tc multicast group, waking every
 * listener): asked only when a tc hook was found wrong.
 */
static int tc_qdisc_kind(struct zs_dp *dp, unsigned ifindex, char *kind)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct qdisc_kind q = { .ifindex = ifindex };
	int err;

	tc_msg(buf, RTM_GETQDISC, ifindex, 0);
	((struct nlmsghdr *)buf)->nlmsg_flags = NLM_F_DUMP;
	err = tc_request(dp, (struct nlmsghdr *)buf, qdisc_kind_cb, &q);
	memcpy(kind, q.kind, sizeof(q.kind));
	return err;
}

/*
 * The clsact qdisc on `ifindex`: made when there is none, and put in the
 * place of another qdisc at ffff: (an `ingress` one: see tc_qdisc_kind).
 * *replaced says it was.
 */
static int tc_clsact_ensure(struct zs_dp *dp, unsigned ifindex, bool *replaced)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	char kind[IFNAMSIZ], buf[MNL_SOCKET_BUFFER_SIZE];
	int err;

	*replaced = false;
	/* Made here, or there already: judged by its kind. A few times, for
	 * another qdisc added between our deletion and our creation. */
	for (int i = 0; i < 3; i++) {
		err = bpf_tc_hook_create(&hook);
		if (err != -EEXIST)
			return err;
		if ((err = tc_qdisc_kind(dp, ifindex, kind)))
			return err;
		if (!strcmp(kind, "clsact"))
			return 0;
		if (kind[0]) {
			/* No TCA_KIND: the kernel refuses one other than the qdisc's. */
			tc_msg(buf, RTM_DELQDISC, ifindex, TC_H_INGRESS);
			err = tc_request(dp, (struct nlmsghdr *)buf, NULL, NULL);
			if (err && err != -ENOENT && err != -EINVAL)
				return err;
			*replaced = true;
		}
	}
	return -EEXIST;
}

int zs_dp_attach(struct zs_dp *dp, unsigned ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	unsigned foreign;
	int err;

	err = bpf_tc_hook_create(&hook); /* the clsact qdisc */
	if (err && err != -EEXIST)
		return err;
	/* Replace in place: a restarted daemon swaps programs with no gap. */
	err = tc_attach_one(ifindex, BPF_TC_INGRESS, dp->from_ep_fd);
	if (!err)
		err = tc_attach_one(ifindex, BPF_TC_EGRESS, dp->to_ep_fd);
	if (err)
		return err;
	/*
	 * EEXIST says a qdisc holds ffff:, not that it is clsact: on an
	 * `ingress` one both filters went to its single block, the second in
	 * the first's place. Both found where they belong prove clsact (two
	 * queries, not the dump tc_qdisc_kind is); else repaired.
	 */
	err = zs_dp_verify(dp, ifindex, ZS_DP_HOOK_TC, &foreign);
	return err > 0 ? zs_dp_repair(dp, ifindex, (unsigned)err) : err;
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

/* A filter in the answer: TCA_OPTIONS holds the program's id. */
static int tc_filter_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a, *o;

	if (nlh->nlmsg_type != RTM_NEWTFILTER)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct tcmsg)) {
		if (mnl_attr_get_type(a) != TCA_OPTIONS)
			continue;
		mnl_attr_for_each_nested(o, a)
			if (mnl_attr_get_type(o) == TCA_BPF_ID &&
			    mnl_attr_get_payload_len(o) >= sizeof(uint32_t))
				*(unsigned *)data = mnl_attr_get_u32(o);
	}
	return MNL_CB_OK;
}

const char *zs_dp_hook_name(unsigned hook)
{
	switch (hook) {
	case ZS_DP_HOOK_TC_INGRESS: return "tc-ingress";
	case ZS_DP_HOOK_TC_EGRESS: return "tc-egress";
	case ZS_DP_HOOK_XDP_SHIELD:
	case ZS_DP_HOOK_XDP_UPLINK: return "xdp";
	default: return "?";
	}
}

/*
 * The id of the program at our handle and priority on one tc hook; 0 when
 * there is none. One RTM_GETTFILTER (tc_request). The kernel says EINVAL
 * when the clsact qdisc is gone, ENOENT when the filter is. On an `ingress`
 * qdisc both directions name its one block (zs_dp_verify then asks the kind).
 */
static int tc_prog_id(struct zs_dp *dp, unsigned ifindex, bool egress, unsigned *id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct tcmsg *t;
	int err;

	*id = 0;
	t = tc_msg(buf, RTM_GETTFILTER, ifindex,
		   TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS));
	t->tcm_handle = ZS_TC_HANDLE;
	t->tcm_info = TC_H_MAKE(ZS_TC_PRIO << 16, htons(ETH_P_ALL));
	mnl_attr_put_strz((struct nlmsghdr *)buf, TCA_KIND, "bpf");
	/* The filter (if any), then the ack or the error. */
	err = tc_request(dp, (struct nlmsghdr *)buf, tc_filter_cb, id);
	return err == -ENOENT || err == -EINVAL ? 0 : err;
}

/* One hook: not ours (bit set in the result), another program there (*foreign too). */
static unsigned judge(unsigned bit, unsigned have, unsigned ours, unsigned *foreign)
{
	if (have == ours)
		return 0;
	if (have)
		*foreign |= bit;
	return bit;
}

int zs_dp_verify(struct zs_dp *dp, unsigned ifindex, unsigned want, unsigned *foreign)
{
	unsigned missing = 0, id;
	int err;

	*foreign = 0;
	if (want & ZS_DP_HOOK_TC_INGRESS) {
		if ((err = tc_prog_id(dp, ifindex, false, &id)))
			return err;
		missing |= judge(ZS_DP_HOOK_TC_INGRESS, id, dp->from_ep_id, foreign);
	}
	if (want & ZS_DP_HOOK_TC_EGRESS) {
		if ((err = tc_prog_id(dp, ifindex, true, &id)))
			return err;
		missing |= judge(ZS_DP_HOOK_TC_EGRESS, id, dp->to_ep_id, foreign);
	}
	if (missing & ZS_DP_HOOK_TC) {
		/* Which qdisc holds ffff:? Another than clsact (an `ingress` one:
		 * one block, one filter, found by both queries) is why. */
		char kind[IFNAMSIZ];
		if ((err = tc_qdisc_kind(dp, ifindex, kind)))
			return err;
		if (kind[0] && strcmp(kind, "clsact")) {
			missing |= want & ZS_DP_HOOK_TC;
			*foreign |= (want & ZS_DP_HOOK_TC) | ZS_DP_FOREIGN_QDISC;
		}
	}
	if (want & (ZS_DP_HOOK_XDP_SHIELD | ZS_DP_HOOK_XDP_UPLINK)) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		bool shield = want & ZS_DP_HOOK_XDP_SHIELD;
		unsigned ours = shield ? dp->xdp_shield_id : dp->xdp_uplink_id;
		if ((err = bpf_xdp_query((int)ifindex, 0, &q)))
			return err;
		/* Ours in either mode (attach falls back to generic). */
		id = q.drv_prog_id == ours || q.skb_prog_id == ours ? ours :
							     q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
		missing |= judge(shield ? ZS_DP_HOOK_XDP_SHIELD : ZS_DP_HOOK_XDP_UPLINK, id, ours, foreign);
	}
	return (int)missing;
}

int zs_dp_repair(struct zs_dp *dp, unsigned ifindex, unsigned missing)
{
	const char *mode;
	unsigned still, foreign;
	bool replaced;
	int err = 0;

	if (missing & ZS_DP_HOOK_TC) {
		/* The clsact qdisc, if it went or another took its place. */
		if ((err = tc_clsact_ensure(dp, ifindex, &replaced)))
			return err;
		if (replaced) /* our filters (if any) went with the other qdisc */
			missing |= ZS_DP_HOOK_TC;
	}
	if (missing & ZS_DP_HOOK_TC_INGRESS)
		err = tc_attach_one(ifindex, BPF_TC_INGRESS, dp->from_ep_fd);
	if (!err && (missing & ZS_DP_HOOK_TC_EGRESS))
		err = tc_attach_one(ifindex, BPF_TC_EGRESS, dp->to_ep_fd);
	if (!err && (missing & (ZS_DP_HOOK_XDP_SHIELD | ZS_DP_HOOK_XDP_UPLINK)))
		err = zs_dp_attach_xdp(dp, ifindex, missing & ZS_DP_HOOK_XDP_SHIELD, &mode);
	if (err)
		return err;
	/* Repaired only if the kernel says so: never "repaired" while still open. */
	still = (unsigned)zs_dp_verify(dp, ifindex, missing, &foreign);
	if ((int)still < 0)
		return (int)still;
	return still ? -EPROTO : 0;
}
