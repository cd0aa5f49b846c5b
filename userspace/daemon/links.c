// SPDX-License-Identifier: MIT
/*
 * Interfaces: the tc programs on every enrolled workload's interface that
 * exists (fail closed: attached before its policy is written), off again
 * when it is no longer enrolled; the XDP flood shield where a workload asks
 * for one; the XDP prefilter on --uplink interfaces. Netlink tells when
 * links or this host's addresses (the host identity) come and go; the state
 * is then re-applied. It also tells when a qdisc or filter goes, or a link
 * changes (XDP detached), on an interface we enforce on: guard.c verifies it
 * and puts back what is gone, as every transaction does for every interface.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "telemetry/flows.h"

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

/* Is x in the first n of sorted v? */
static bool in_sorted(const unsigned *v, size_t n, unsigned x)
{
	return n && bsearch(&x, v, n, sizeof(x), cmp_uint);
}

static bool in_vec(const unsigned *v, size_t n, unsigned x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

unsigned link_hooks_of(struct daemon *d, unsigned ifindex)
{
	return (in_sorted(d->attached.v, d->attached.n, ifindex) ? ZS_DP_HOOK_TC : 0) |
	       (in_vec(d->shielded.v, d->shielded.n, ifindex) ? ZS_DP_HOOK_XDP_SHIELD : 0) |
	       (in_vec(d->uplinks.v, d->uplinks.n, ifindex) ? ZS_DP_HOOK_XDP_UPLINK : 0);
}

/*
 * Name -> ifindex through the transaction's interface snapshot, if any. An
 * interface newer than the snapshot is not missed: its netlink event
 * re-syncs once the transaction is done.
 */
static unsigned ifindex_of(struct daemon *d, const char *name)
{
	return d->dp.iftab ? zs_iftab_index(d->dp.iftab, name) : if_nametoindex(name);
}

/* Does the interface exist (the snapshot, then the kernel)? */
static bool if_exists(struct daemon *d, unsigned ifindex)
{
	char name[IF_NAMESIZE];
	return (d->dp.iftab && zs_iftab_name(d->dp.iftab, ifindex)) || if_indextoname(ifindex, name);
}

/* This host's own addresses (identity host), read fresh at every commit. */
void link_host_addrs(struct zs_objects *o)
{
	struct ifaddrs *ifa, *i;

	o->host_addrs.n = 0;
	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		struct zs_prefix *p = ZS_VEC_PUSH(&o->host_addrs);
		if (i->ifa_addr->sa_family == AF_INET) {
			p->family = 4;
			p->len = 32;
			memcpy(p->addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else {
			p->family = 6;
			p->len = 128;
			memcpy(p->addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
	}
	freeifaddrs(ifa);
}

/* The XDP prefilter on every --uplink interface that exists (and is not done yet). */
void link_attach_uplinks(struct daemon *d)
{
	for (size_t i = 0; i < d->opts->nuplinks; i++) {
		unsigned ifindex = if_nametoindex(d->opts->uplinks[i]);
		const char *mode;
		if (!ifindex || in_vec(d->uplinks.v, d->uplinks.n, ifindex))
			continue;
		int e = zs_dp_attach_xdp(&d->dp, ifindex, false, &mode);
		if (e) {
			pr_warn("uplink %s: XDP attach failed: %s", d->opts->uplinks[i], strerror(-e));
			continue;
		}
		*ZS_VEC_PUSH(&d->uplinks) = ifindex;
		pr_info("uplink %s: XDP prefilter attached (%s mode)", d->opts->uplinks[i], mode);
	}
}

/* Flood shields: on where a workload asks for one, off where it no longer does. */
void link_shields_sync(struct daemon *d, const struct zs_compiled *c)
{
	size_t out = 0;

	for (size_t i = 0; i < d->shielded.n; i++) {
		char name[IF_NAMESIZE];
		bool keep = false;
		if (if_indextoname(d->shielded.v[i], name))
			for (size_t j = 0; j < c->endpoints.n && !keep; j++)
				keep = c->endpoints.v[j].shield && !strcmp(c->endpoints.v[j].ifname, name);
		if (keep)
			d->shielded.v[out++] = d->shielded.v[i];
		else
			zs_dp_detach_xdp(d->shielded.v[i]);
	}
	d->shielded.n = out;
	for (size_t i = 0; i < c->endpoints.n; i++) {
		const char *mode;
		unsigned ifindex;
		if (!c->endpoints.v[i].shield || !(ifindex = ifindex_of(d, c->endpoints.v[i].ifname)) ||
		    in_vec(d->shielded.v, d->shielded.n, ifindex))
			continue;
		if (zs_dp_attach_xdp(&d->dp, ifindex, true, &mode)) {
			pr_warn("flood shield on %s: XDP attach failed", c->endpoints.v[i].ifname);
			continue;
		}
		*ZS_VEC_PUSH(&d->shielded) = ifindex;
		pr_info("flood shield on %s (%s mode)", c->endpoints.v[i].ifname, mode);
	}
}

/*
 * Attaches to every enrolled interface that exists; fail closed first. The
 * interfaces we hold already are verified, not trusted: what was taken off
 * them is put back (guard.c).
 */
int link_attach_all(struct daemon *d, const struct zs_compiled *c, char *err, size_t errlen)
{
	size_t before = d->attached.n; /* sorted; what this call adds is sorted after */
	int e = 0;

	for (size_t i = 0; i < d->uplinks.n; i++)
		guard_check(d, d->uplinks.v[i], "apply");
	for (size_t i = 0; i < c->endpoints.n && !e; i++) {
		unsigned ifindex = ifindex_of(d, c->endpoints.v[i].ifname);
		if (ifindex && in_sorted(d->attached.v, before, ifindex))
			guard_check(d, ifindex, "apply");
		if (!ifindex || in_sorted(d->attached.v, before, ifindex))
			continue;
		e = zs_dp_attach(&d->dp, ifindex);
		if (e == -ENODEV) {
			e = 0; /* gone since the snapshot: its netlink event re-syncs */
			continue;
		}
		if (e) {
			snprintf(err, errlen, "attaching to %s: %s", c->endpoints.v[i].ifname, strerror(-e));
			break;
		}
		*ZS_VEC_PUSH(&d->attached) = ifindex;
		pr_info("enforcing on %s (%s)", c->endpoints.v[i].ifname, c->endpoints.v[i].workload);
	}
	zs_qsort(d->attached.v, d->attached.n, sizeof(*d->attached.v), cmp_uint);
	return e;
}

/* Detaches from interfaces that are no longer enrolled (or gone). */
void link_detach_stale(struct daemon *d, const struct zs_compiled *c)
{
	size_t out = 0;

	/* The interfaces enrolled now, by index (a name's current interface). */
	unsigned *now = zs_xcalloc(c->endpoints.n + 1, sizeof(*now));
	size_t n = 0;
	for (size_t j = 0; j < c->endpoints.n; j++)
		if ((now[n] = ifindex_of(d, c->endpoints.v[j].ifname)))
			n++;
	qsort(now, n, sizeof(*now), cmp_uint);
	for (size_t i = 0; i < d->attached.n; i++) {
		unsigned ifindex = d->attached.v[i];
		if (in_sorted(now, n, ifindex))
			d->attached.v[out++] = ifindex; /* stays sorted */
		else
			zs_dp_detach(ifindex);
	}
	d->attached.n = out;
	free(now);
}

/* ---- netlink: links and addresses that come and go ---------------------- */

/* A non-blocking rtnetlink socket bound to `groups`. */
static struct mnl_socket *nl_socket(unsigned groups, int *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (nl && mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) == 0)
		return nl;
	*err = -errno;
	if (nl)
		mnl_socket_close(nl);
	return NULL;
}

/*
 * Two sockets: links and addresses on d->nl, qdiscs and filters (so that one
 * taken off is put back at once) on d->nl_tc, polled here too. Apart, because
 * our own attaches make tc events by the thousand in a large apply: should
 * they overflow their socket, that costs a verification of every interface,
 * not the full re-sync that lost link events need.
 */
int nl_open(struct daemon *d)
{
	int err = 0;

	d->nl = nl_socket(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, &err);
	if (d->nl)
		d->nl_tc = nl_socket(RTMGRP_TC, &err);
	if (!d->nl_tc)
		return err;
	return daemon_poll_add(d, mnl_socket_get_fd(d->nl_tc), EPOLLIN, EV_NETLINK);
}

enum { NL_LINKS = 1, NL_ADDRS = 2, NL_SUSPECTS_ALL = 4 };

/* Interfaces to verify after a read; more than fit: all of them. */
#define NL_SUSPECTS 64

/* What one read of the netlink socket says moved. */
struct nl_changes {
	int what; /* NL_* */
	unsigned suspects[NL_SUSPECTS];
	size_t nsuspects;
};

static void suspect(struct nl_changes *c, unsigned ifindex)
{
	if (in_vec(c->suspects, c->nsuspects, ifindex))
		return;
	if (c->nsuspects == NL_SUSPECTS)
		c->what |= NL_SUSPECTS_ALL;
	else
		c->suspects[c->nsuspects++] = ifindex;
}

/*
 * A qdisc added or deleted, a filter added, replaced (another program
 * in our place), on any interface: ours are told apart after. Our own
 * attaches come back this way too and cost a verification each (~20 us).
 * A link that changed may have lost its XDP.
 */
static int nl_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_changes *c = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
		if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)))
			suspect(c, (unsigned)((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index);
		/* fall through */
	case RTM_DELLINK:
		c->what |= NL_LINKS;
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		c->what |= NL_ADDRS;
		break;
	case RTM_NEWQDISC: /* another qdisc may take clsact's place (an `ingress` one) */
	case RTM_DELQDISC:
	case RTM_DELTFILTER:
	case RTM_NEWTFILTER:
		if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct tcmsg)))
			suspect(c, (unsigned)((const struct tcmsg *)mnl_nlmsg_get_payload(nlh))->tcm_ifindex);
		break;
	}
	return MNL_CB_OK;
}

/* Have this host's addresses moved since the last commit? */
static bool host_addrs_moved(struct daemon *d)
{
	struct zs_objects now = { 0 };
	bool moved;

	link_host_addrs(&now);
	moved = now.host_addrs.n != d->objs.host_addrs.n ||
		memcmp(now.host_addrs.v, d->objs.host_addrs.v,
		       now.host_addrs.n * sizeof(*now.host_addrs.v));
	free(now.host_addrs.v);
	return moved;
}

/* An enrolled interface that appeared, or one we hold that went? */
static bool links_moved(struct daemon *d)
{
	struct zs_iftab ift;
	bool moved = false;

	if (zs_iftab_load(&ift) == 0)
		d->dp.iftab = &ift;
	for (size_t i = 0; i < d->comp.endpoints.n && !moved; i++) {
		unsigned ifindex = ifindex_of(d, d->comp.endpoints.v[i].ifname);
		moved = ifindex && !in_sorted(d->attached.v, d->attached.n, ifindex);
	}
	for (size_t i = 0; i < d->attached.n && !moved; i++)
		moved = !if_exists(d, d->attached.v[i]);
	for (size_t i = 0; i < d->writer.endpoints.n && !moved; i++)
		moved = !if_exists(d, d->writer.endpoints.v[i].ifindex);
	d->dp.iftab = NULL;
	zs_iftab_free(&ift);
	return moved;
}

/* Hooks taken off the interfaces netlink named (ours among them) are put back. */
static void nl_guard(struct daemon *d, const struct nl_changes *c)
{
	if (c->what & NL_SUSPECTS_ALL) {
		guard_check_all(d, "netlink");
		return;
	}
	for (size_t i = 0; i < c->nsuspects; i++)
		guard_check(d, c->suspects[i], "netlink");
}

void nl_read(struct daemon *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl_changes c = { 0 };
	int changed;
	ssize_t n;

	while ((n = mnl_socket_recvfrom(d->nl_tc, buf, sizeof(buf))) > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, nl_msg_cb, &c);
	if (n < 0 && errno == ENOBUFS) /* tc events were lost: verify every interface */
		c.what |= NL_SUSPECTS_ALL;
	while ((n = mnl_socket_recvfrom(d->nl, buf, sizeof(buf))) > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, nl_msg_cb, &c);
	if (n < 0 && errno == ENOBUFS) /* notifications were lost: assume everything moved */
		c.what = NL_LINKS | NL_ADDRS | NL_SUSPECTS_ALL;
	nl_guard(d, &c); /* first: an unfiltered interface is the most urgent */
	changed = c.what & (NL_LINKS | NL_ADDRS);
	if (!changed)
		return;
	if (changed & NL_LINKS) {
		zs_flow_ifnames_forget();
		link_attach_uplinks(d);
	}
	/* Host addresses came or went: the host identity follows them. Then
	 * enroll interfaces that appeared, forget those that went. */
	if (((changed & NL_ADDRS) && host_addrs_moved(d)) || links_moved(d))
		commit_resync(d);
}
