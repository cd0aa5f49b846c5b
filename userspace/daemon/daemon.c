// SPDX-License-Identifier: MIT
/* The daemon; see daemon.h. One thread, one epoll loop. */
#define _GNU_SOURCE
#include "daemon/daemon.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "policy/compile.h"
#include "datapath/datapath.h"
#include "telemetry/flows.h"
#include "telemetry/jsonl.h"
#include "telemetry/lifecycle.h"
#include "telemetry/ipfix.h"
#include "telemetry/metrics.h"
#include "policy/parse.h"
#include "policy/serial.h"
#include "datapath/writer.h"
#include "policy/diff.h"
#include "policy/explain.h"
#include "store/store.h"

#define ZS_RECENT_FLOWS 2048

struct daemon {
	const struct zs_daemon_opts *opts;
	struct zs_store *store;
	struct zs_objects objs;
	struct zs_identities ids;
	struct zs_compiled comp;
	struct zs_writer writer;
	struct zs_dp dp;
	struct ring_buffer *rb;
	struct mnl_socket *nl;
	int epfd, listen_fd, sig_fd;
	struct zs_jsonl log; /* the --flow-log sink (log.f NULL: none) */
	struct zs_lifecycle lc;
	uint64_t next_scan_ns;  /* CLOCK_MONOTONIC */
	uint64_t mono_to_real;  /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t events_lost_reported, records_lost_reported;
	struct zs_metrics *metrics;     /* --metrics, or NULL */
	struct zs_ipfix *ipfix;         /* --ipfix, or NULL */
	unsigned event_burst;           /* events in this wakeup */
	struct zs_metrics_snapshot snap; /* counters the daemon keeps itself live here */
	uint64_t ct_entries;            /* as of the last scan */
	ZS_VEC(unsigned) attached; /* ifindexes carrying our programs */
	ZS_VEC(unsigned) shielded; /* workload ifindexes with the XDP flood shield */
	ZS_VEC(unsigned) uplinks;  /* uplink ifindexes with the XDP prefilter */
	ZS_VEC(int) followers;
	char *recent[ZS_RECENT_FLOWS]; /* JSON lines, newline included */
	size_t recent_next;
	uint64_t flows_total;
	uint64_t sink_lost;
	time_t last_apply;
	bool stop;
};

/* ---- interfaces -------------------------------------------------------- */

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

/* d->attached is kept sorted. */
static bool is_attached(struct daemon *d, unsigned ifindex)
{
	return in_sorted(d->attached.v, d->attached.n, ifindex);
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

static bool in_vec(const unsigned *v, size_t n, unsigned x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* The XDP prefilter on every --uplink interface that exists (and is not done yet). */
static void attach_uplinks(struct daemon *d)
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
static void shields_sync(struct daemon *d, const struct zs_compiled *c)
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

/* Attaches to every enrolled interface that exists; fail closed first. */
static int attach_all(struct daemon *d, const struct zs_compiled *c, char *err, size_t errlen)
{
	size_t before = d->attached.n; /* sorted; what this call adds is sorted after */
	int e = 0;

	for (size_t i = 0; i < c->endpoints.n && !e; i++) {
		unsigned ifindex = ifindex_of(d, c->endpoints.v[i].ifname);
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
	qsort(d->attached.v, d->attached.n, sizeof(*d->attached.v), cmp_uint);
	return e;
}

/* Detaches from interfaces that are no longer enrolled (or gone). */
static void detach_stale(struct daemon *d, const struct zs_compiled *c)
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

/* ---- transactions ------------------------------------------------------ */

/* This host's own addresses (identity host), read fresh at every commit. */
static void host_addrs(struct zs_objects *o)
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

/*
 * Makes `next` the state: validate, compile, attach, write the maps, persist.
 * On any error nothing changes and the reasons are in `diags`.
 */
static int commit_in(struct daemon *d, struct zs_objects *next, struct zs_diags *diags,
		     struct zs_iftab *ift);

static int commit(struct daemon *d, struct zs_objects *next, struct zs_diags *diags)
{
	struct zs_iftab ift = { 0 };
	int e = commit_in(d, next, diags, &ift);

	d->dp.iftab = NULL;
	zs_iftab_free(&ift);
	return e;
}

static int commit_in(struct daemon *d, struct zs_objects *next, struct zs_diags *diags,
		     struct zs_iftab *ift)
{
	struct zs_identities ids;
	struct zs_compiled comp;
	char err[512] = "";
	int e;

	e = zs_validate(next, diags);
	if (e)
		return e;
	zs_identities_clone(&d->ids, &ids);
	host_addrs(next);
	e = zs_compile(next, &ids, &comp, diags);
	if (e) {
		zs_identities_free(&ids);
		return e;
	}
	/*
	 * One snapshot of the interfaces for the transaction's name lookups,
	 * taken after the compile: as close to the attach as can be (an
	 * interface that changes after it comes with its netlink event).
	 */
	if (zs_iftab_load(ift) == 0)
		d->dp.iftab = ift;
	e = attach_all(d, &comp, err, sizeof(err));
	if (!e)
		e = zs_writer_apply(&d->writer, &comp, err, sizeof(err));
	if (e) {
		zs_diag(diags, NULL, "%s", err[0] ? err : strerror(-e));
		detach_stale(d, &d->comp);
		zs_identities_free(&ids);
		zs_compiled_free(&comp);
		return e;
	}
	detach_stale(d, &comp);
	shields_sync(d, &comp);
	zs_objects_free(&d->objs);
	d->objs = *next;
	zs_objects_init(next);
	zs_identities_free(&d->ids);
	d->ids = ids;
	zs_compiled_free(&d->comp);
	d->comp = comp;
	d->last_apply = time(NULL);
	e = zs_store_commit(d->store, &d->objs, &d->ids);
	if (e)
		pr_warn("applied revision %u but could not persist it: %s", d->writer.revision, strerror(-e));
	return 0;
}

/* Re-applies the current state: interfaces came or went. */
static void resync(struct daemon *d)
{
	struct zs_objects next;
	struct zs_diags diags = { 0 };

	zs_objects_copy(&d->objs, &next);
	if (commit(d, &next, &diags)) {
		pr_warn("re-sync failed:");
		zs_diags_print(&diags, stderr);
	}
	zs_objects_free(&next);
	zs_diags_free(&diags);
}

/* ---- flow events ------------------------------------------------------- */

/* One record line to every sink: the file, live followers, the recent ring. */
static void emit_line(struct daemon *d, const char *line, size_t len)
{
	if (d->log.f)
		zs_jsonl_write(&d->log, line, len);
	for (size_t i = 0; i < d->followers.n; i++) {
		ssize_t w = send(d->followers.v[i], line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w != (ssize_t)len)
			d->sink_lost++; /* a slow follower costs records, never the loop */
	}
	free(d->recent[d->recent_next]);
	d->recent[d->recent_next] = zs_xcalloc(len + 1, 1); /* line need not end in a NUL */
	memcpy(d->recent[d->recent_next], line, len);
	d->recent_next = (d->recent_next + 1) % ZS_RECENT_FLOWS;
}

static void emit_rec(struct daemon *d, const struct zs_flow_rec *r)
{
	char line[4096];
	size_t len = zs_flow_rec_json(r, line, sizeof(line));

	if (!len) {
		d->sink_lost++;
		return;
	}
	emit_line(d, line, len);
	if (d->ipfix)
		zs_ipfix_export(d->ipfix, r, zs_now_ns(CLOCK_REALTIME));
	d->flows_total++;
	d->snap.records[r->type < ZS_METRICS_REC_TYPES ? r->type : 0]++;
	if (r->type == ZS_REC_NEW)
		d->snap.flows[r->verdict & 3][r->egress ? ZS_DIR_EGRESS : ZS_DIR_INGRESS]++;
	d->snap.flow_bytes[r->verdict & 3][r->egress ? ZS_DIR_EGRESS : ZS_DIR_INGRESS] +=
		r->type == ZS_REC_UPDATE || r->type == ZS_REC_END ?
			(r->bytes[0] + r->bytes[1]) - (r->prev_bytes[0] + r->prev_bytes[1]) :
			r->bytes[0];
}

/* Events handled per wakeup before the loop gets a turn (clients, ticks). */
#define EVENT_BUDGET 8192

static int on_event(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	struct zs_flow_rec r;

	if (len < sizeof(struct zs_flow_event))
		return 0;
	zs_flow_rec_from_event(&r, data, d->mono_to_real, &d->comp, &d->ids);
	emit_rec(d, &r);
	/* A negative return stops libbpf's consume loop (this event is done). */
	return ++d->event_burst >= EVENT_BUDGET ? -EAGAIN : 0;
}

static uint64_t events_lost(struct daemon *d)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *ps = zs_xcalloc((size_t)ncpu, sizeof(*ps)), lost = 0;
	uint32_t k = ZS_STAT_EVENTS_LOST;

	if (!bpf_map_lookup_elem(d->dp.stats_fd, &k, ps))
		for (int c = 0; c < ncpu; c++)
			lost += ps[c];
	free(ps);
	return lost;
}

/* Loss is never silent: a `lost` record says how many since the last one. */
/* Records the sinks could not take: the file, followers, IPFIX. */
static uint64_t records_lost(struct daemon *d)
{
	uint64_t rec = d->sink_lost + d->log.lost;

	if (d->ipfix) {
		struct zs_ipfix_stats st;
		zs_ipfix_stats(d->ipfix, &st);
		rec += st.lost_records;
	}
	return rec;
}

/* Packets and bytes by reason, summed over CPUs. */
static void reason_totals(struct daemon *d, uint64_t packets[ZS_REASON_MAX],
			  uint64_t bytes[ZS_REASON_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct zs_counter *pc = zs_xcalloc((size_t)ncpu, sizeof(*pc));

	for (uint32_t r = 0; r < ZS_REASON_MAX; r++) {
		packets[r] = bytes[r] = 0;
		if (bpf_map_lookup_elem(d->dp.reasons_fd, &r, pc))
			continue;
		for (int c = 0; c < ncpu; c++) {
			packets[r] += pc[c].packets;
			bytes[r] += pc[c].bytes;
		}
	}
	free(pc);
}

static void report_loss(struct daemon *d)
{
	uint64_t ev = events_lost(d), rec = records_lost(d);

	if (ev == d->events_lost_reported && rec == d->records_lost_reported)
		return;
	char ts[64], line[256];
	zs_rfc3339(zs_now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	int n = snprintf(line, sizeof(line),
			 "{\"time\":\"%s\",\"type\":\"lost\",\"events\":%llu,\"records\":%llu,"
			 "\"events_total\":%llu,\"records_total\":%llu}\n",
			 ts, (unsigned long long)(ev - d->events_lost_reported),
			 (unsigned long long)(rec - d->records_lost_reported), (unsigned long long)ev,
			 (unsigned long long)rec);
	d->events_lost_reported = ev;
	d->records_lost_reported = rec;
	emit_line(d, line, (size_t)n);
}

/* ---- the conntrack scan: updates of long flows, ends of flows ----------- */

struct scan_ctx {
	struct daemon *d;
	uint64_t now_real;
};

static void emit_ct(struct daemon *d, const struct zs_ct_key *k, const struct zs_ct_entry *e,
		    uint8_t type, uint8_t end_reason, uint64_t now_real, const struct zs_lc_flow *prev)
{
	struct zs_flow_rec r;

	zs_flow_rec_from_ct(&r, k, e, type, end_reason, d->mono_to_real, now_real, &d->comp,
			    &d->ids);
	if (prev) {
		memcpy(r.prev_packets, prev->packets, sizeof(r.prev_packets));
		memcpy(r.prev_bytes, prev->bytes, sizeof(r.prev_bytes));
	}
	emit_rec(d, &r);
}

static void on_gone(void *arg, const struct zs_lc_flow *f)
{
	struct scan_ctx *sc = arg;
	/* Evicted from a full table between two scans: its end, as last seen. */
	emit_ct(sc->d, &f->key, &f->last, ZS_REC_END, ZS_END_RESOURCES, sc->now_real, f);
}

#define SCAN_BATCH 4096

static void ct_scan(struct daemon *d)
{
	static struct zs_ct_key keys[SCAN_BATCH];
	static struct zs_ct_entry vals[SCAN_BATCH];
	uint64_t now = zs_now_ns(CLOCK_MONOTONIC);
	struct scan_ctx sc = { .d = d, .now_real = zs_now_ns(CLOCK_REALTIME) };
	struct zs_ct_key in, out;
	bool first = true, complete = true;

	d->mono_to_real = sc.now_real - now;
	d->ct_entries = 0;
	zs_lifecycle_begin(&d->lc);
	for (;;) {
		__u32 count = SCAN_BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		int err = bpf_map_lookup_batch(d->dp.ct_fd, first ? NULL : &in, &out, keys, vals,
					       &count, &bo);
		if (err && errno != ENOENT) {
			complete = false; /* flows not seen are not evicted: no sweep */
			break;
		}
		d->ct_entries += count;
		for (__u32 i = 0; i < count; i++) {
			const struct zs_lc_flow *prev = NULL;
			uint8_t why = 0;
			switch (zs_lifecycle_see(&d->lc, &keys[i], &vals[i], now, &why, &prev)) {
			case ZS_LC_UPDATE:
				emit_ct(d, &keys[i], &vals[i], ZS_REC_UPDATE, why, sc.now_real, prev);
				zs_lifecycle_reported(&d->lc, &keys[i], &vals[i], now);
				break;
			case ZS_LC_END:
				emit_ct(d, &keys[i], &vals[i], ZS_REC_END, why, sc.now_real, prev);
				zs_lifecycle_forget(&d->lc, &keys[i]);
				bpf_map_delete_elem(d->dp.ct_fd, &keys[i]);
				break;
			case ZS_LC_FORGET:
				bpf_map_delete_elem(d->dp.ct_fd, &keys[i]);
				break;
			case ZS_LC_DENIED_TAIL: {
				struct zs_flow_rec r;
				zs_flow_rec_from_ct(&r, &keys[i], &vals[i], ZS_REC_DENIED, 0,
						    d->mono_to_real, sc.now_real, &d->comp, &d->ids);
				r.suppressed = vals[i].suppressed;
				emit_rec(d, &r);
				/* Reset the count on the entry as it is now, if it is still this flow. */
				struct zs_ct_entry cur;
				if (!bpf_map_lookup_elem(d->dp.ct_fd, &keys[i], &cur) &&
				    cur.created_ns == vals[i].created_ns &&
				    cur.verdict == vals[i].verdict) {
					cur.suppressed -= cur.suppressed >= vals[i].suppressed ?
								  vals[i].suppressed : cur.suppressed;
					cur.report_ns = now;
					bpf_map_update_elem(d->dp.ct_fd, &keys[i], &cur, BPF_EXIST);
				}
				break;
			}
			default:
				break;
			}
		}
		if (err)
			break; /* ENOENT: that was the last batch */
		in = out;
		first = false;
	}
	/* Flows ended in this scan were forgotten; those missing were evicted. */
	if (complete)
		zs_lifecycle_sweep(&d->lc, on_gone, &sc);
}

/* The metrics snapshot: the datapath's counters and the control plane's state. */
static void metrics_publish(struct daemon *d)
{
	struct zs_metrics_snapshot *s = &d->snap;

	if (!d->metrics)
		return;
	reason_totals(d, s->packets, s->bytes);
	s->events_lost = events_lost(d);
	s->records_lost[ZS_METRICS_SINK_JSON] = d->log.lost;
	s->records_lost[ZS_METRICS_SINK_FOLLOWERS] = d->sink_lost;
	if (d->ipfix) {
		struct zs_ipfix_stats st;
		zs_ipfix_stats(d->ipfix, &st);
		s->records_lost[ZS_METRICS_SINK_IPFIX] = st.lost_records;
	}
	s->revision = d->writer.revision;
	s->last_apply = (uint64_t)d->last_apply;
	s->workloads = d->objs.workloads.n;
	s->policies = d->objs.policies.n;
	s->identities = d->ids.v.n;
	s->map_entries[ZS_METRICS_MAP_ENDPOINTS] = d->writer.endpoints.n;
	s->map_entries[ZS_METRICS_MAP_IPCACHE] = d->writer.ipcache.n;
	s->map_entries[ZS_METRICS_MAP_POLICY] = d->writer.policy_entries;
	s->map_entries[ZS_METRICS_MAP_CONNTRACK] = d->ct_entries;
	s->map_capacity[ZS_METRICS_MAP_CONNTRACK] = d->dp.ct_max;
	zs_metrics_publish(d->metrics, s);
}

/* About once a second: the conntrack scan, loss records, flushing the file. */
static void tick(struct daemon *d)
{
	uint64_t now = zs_now_ns(CLOCK_MONOTONIC);

	if (now < d->next_scan_ns)
		return;
	d->next_scan_ns = now + 1000000000ull;
	zs_writer_settle(&d->writer); /* retire the last apply's old generation */
	ct_scan(d);
	report_loss(d);
	zs_jsonl_flush(&d->log);
	if (d->ipfix)
		zs_ipfix_flush(d->ipfix, zs_now_ns(CLOCK_REALTIME));
	metrics_publish(d);
}

/* ---- netlink: links that come and go ---------------------------------- */

static int nl_open(struct daemon *d)
{
	d->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!d->nl)
		return -errno;
	if (mnl_socket_bind(d->nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	int fd = mnl_socket_get_fd(d->nl);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

static int nl_link_cb(const struct nlmsghdr *nlh, void *data)
{
	int *changed = data;

	if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK)
		*changed |= 1;
	if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR)
		*changed |= 2;
	return MNL_CB_OK;
}

static void nl_read(struct daemon *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int changed = 0;
	ssize_t n;

	while ((n = mnl_socket_recvfrom(d->nl, buf, sizeof(buf))) > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, nl_link_cb, &changed);
	if (n < 0 && errno == ENOBUFS)
		changed = 3; /* notifications were lost: assume every link and address moved */
	if (!changed)
		return;
	if (changed & 1) {
		zs_flow_ifnames_forget();
		attach_uplinks(d);
	}
	/* Host addresses came or went: the host identity follows them. */
	bool need = false;
	if (changed & 2) {
		struct zs_objects now = { 0 };
		host_addrs(&now);
		need = now.host_addrs.n != d->objs.host_addrs.n ||
		       memcmp(now.host_addrs.v, d->objs.host_addrs.v,
			      now.host_addrs.n * sizeof(*now.host_addrs.v));
		free(now.host_addrs.v);
	}
	/* Enroll interfaces that appeared, forget those that went. */
	struct zs_iftab ift;
	if (zs_iftab_load(&ift) == 0)
		d->dp.iftab = &ift;
	for (size_t i = 0; i < d->comp.endpoints.n && !need; i++) {
		unsigned ifindex = ifindex_of(d, d->comp.endpoints.v[i].ifname);
		need = ifindex && !is_attached(d, ifindex);
	}
	for (size_t i = 0; i < d->attached.n && !need; i++)
		need = !if_exists(d, d->attached.v[i]);
	for (size_t i = 0; i < d->writer.endpoints.n && !need; i++)
		need = !if_exists(d, d->writer.endpoints.v[i].ifindex);
	d->dp.iftab = NULL;
	zs_iftab_free(&ift);
	if (need)
		resync(d);
}

/* ---- control socket ---------------------------------------------------- */

static int listen_open(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *dir = zs_xstrdup(d->opts->socket), *slash = strrchr(dir, '/');
	int fd, err;

	if (strlen(d->opts->socket) >= sizeof(sa.sun_path)) {
		free(dir);
		return -ENAMETOOLONG;
	}
	if (slash && slash != dir) {
		*slash = '\0';
		zs_mkdir_p(dir, 0700);
	}
	free(dir);
	strcpy(sa.sun_path, d->opts->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	mode_t old = umask(0177); /* the socket is born 0600 */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err || chmod(sa.sun_path, 0600) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	d->listen_fd = fd;
	return 0;
}

static void reply(int fd, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t w = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	send(fd, "\n", 1, MSG_NOSIGNAL);
	free(s);
	json_decref(resp);
}

static json_t *diags_json(const struct zs_diags *diags)
{
	json_t *a = json_array();

	for (size_t i = 0; i < diags->msgs.n; i++)
		json_array_append_new(a, json_string(diags->msgs.v[i]));
	return json_pack("{s:b,s:o}", "ok", 0, "errors", a);
}

/* Parses the "files" of a request into objects; returns 0 or -EINVAL. */
static int parse_files(json_t *req, struct zs_objects *into, zs_refs_t *refs, struct zs_diags *diags)
{
	json_t *files = json_object_get(req, "files"), *f;
	size_t i;
	int err = 0;

	json_array_foreach(files, i, f)
	{
		const char *name = json_string_value(json_object_get(f, "name")) ?: "<input>";
		const char *content = json_string_value(json_object_get(f, "content")) ?: "";
		int e = refs ? zs_parse_refs(name, content, strlen(content), refs, diags) :
			       zs_parse_buffer(name, content, strlen(content), into, diags);
		if (e)
			err = e;
	}
	return err;
}

static json_t *do_apply(struct daemon *d, json_t *req)
{
	struct zs_objects next, batch;
	struct zs_diags diags = { 0 };
	json_t *resp;

	zs_objects_init(&batch);
	if (parse_files(req, &batch, NULL, &diags)) {
		resp = diags_json(&diags);
		zs_objects_free(&batch);
		zs_diags_free(&diags);
		return resp;
	}
	size_t n = batch.workloads.n + batch.policies.n + batch.namespaces.n + batch.has_config;
	zs_objects_copy(&d->objs, &next);
	zs_objects_merge(&next, &batch);
	zs_objects_free(&batch);
	if (commit(d, &next, &diags))
		resp = diags_json(&diags);
	else
		resp = json_pack("{s:b,s:i,s:i}", "ok", 1, "revision", (json_int_t)d->writer.revision,
				 "objects", (json_int_t)n);
	zs_objects_free(&next);
	zs_diags_free(&diags);
	return resp;
}

/* What an apply of these files would change, without changing anything. */
static json_t *do_diff(struct daemon *d, json_t *req)
{
	struct zs_objects next, batch;
	struct zs_diags diags = { 0 };
	struct zs_identities ids;
	struct zs_compiled comp;
	json_t *resp, *objects, *entries;

	zs_objects_init(&batch);
	if (parse_files(req, &batch, NULL, &diags)) {
		resp = diags_json(&diags);
		zs_objects_free(&batch);
		zs_diags_free(&diags);
		return resp;
	}
	objects = zs_diff_objects(&d->objs, &batch);
	zs_objects_copy(&d->objs, &next);
	zs_objects_merge(&next, &batch);
	zs_objects_free(&batch);
	zs_identities_clone(&d->ids, &ids);
	host_addrs(&next);
	if (zs_validate(&next, &diags) || zs_compile(&next, &ids, &comp, &diags)) {
		resp = diags_json(&diags);
		json_decref(objects);
	} else {
		entries = zs_diff_entries(&d->comp, &comp);
		resp = json_pack("{s:b,s:b,s:o,s:o}", "ok", 1, "changed",
				 zs_diff_changed(objects, entries), "objects", objects, "entries",
				 entries);
		zs_compiled_free(&comp);
	}
	zs_identities_free(&ids);
	zs_objects_free(&next);
	zs_diags_free(&diags);
	return resp;
}

/* Why a flow would be allowed or denied, as of this revision. */
static json_t *do_explain(struct daemon *d, json_t *req)
{
	struct zs_explain_query q = {
		.from = json_string_value(json_object_get(req, "from")) ?: "",
		.to = json_string_value(json_object_get(req, "to")) ?: "",
		.proto = (int)json_integer_value(json_object_get(req, "proto")),
		.port = (int)json_integer_value(json_object_get(req, "port")),
	};
	const char *which;
	json_t *why, *resp;
	int err = zs_explain(&d->objs, &d->ids, &d->comp, &q, &why, &which);

	if (err) {
		char *msg = zs_xasprintf("explain: %s: %s",
					 err == -ENOENT ? "no such workload or address" :
							  "the two ends have no address family in common",
					 which);
		resp = json_pack("{s:b,s:[s]}", "ok", 0, "errors", msg);
		free(msg);
		return resp;
	}
	resp = json_pack("{s:b}", "ok", 1);
	json_object_update(resp, why);
	json_decref(why);
	json_object_set_new(resp, "revision", json_integer(d->writer.revision));
	return resp;
}

static json_t *do_delete(struct daemon *d, json_t *req)
{
	struct zs_objects next;
	struct zs_diags diags = { 0 };
	zs_refs_t refs = { 0 };
	json_t *resp;

	if (json_object_get(req, "files")) {
		parse_files(req, NULL, &refs, &diags);
	} else {
		struct zs_ref *r = ZS_VEC_PUSH(&refs);
		const char *kind = json_string_value(json_object_get(req, "kind")) ?: "";
		if (zs_kind_parse(kind, &r->kind))
			zs_diag(&diags, NULL, "unknown kind \"%s\"", kind);
		r->ns = zs_xstrdup(json_string_value(json_object_get(req, "namespace")) ?: "default");
		r->name = zs_xstrdup(json_string_value(json_object_get(req, "name")) ?: "");
	}
	if (diags.msgs.n) {
		resp = diags_json(&diags);
		goto out;
	}
	zs_objects_copy(&d->objs, &next);
	for (size_t i = 0; i < refs.n; i++)
		if (zs_objects_remove(&next, &refs.v[i]))
			zs_diag(&diags, NULL, "%s %s/%s: not found", zs_kind_name(refs.v[i].kind),
				refs.v[i].ns, refs.v[i].name);
	if (diags.msgs.n || commit(d, &next, &diags))
		resp = diags_json(&diags);
	else
		resp = json_pack("{s:b,s:i,s:i}", "ok", 1, "revision", (json_int_t)d->writer.revision,
				 "objects", (json_int_t)refs.n);
	zs_objects_free(&next);
out:
	zs_refs_free(&refs);
	zs_diags_free(&diags);
	return resp;
}

static uint32_t identity_of(struct daemon *d, const struct zs_workload *w)
{
	for (size_t i = 0; i < d->comp.ipcache.n; i++)
		if (w->naddrs && !zs_prefix_cmp(&d->comp.ipcache.v[i].prefix, &w->addrs[0]))
			return d->comp.ipcache.v[i].identity;
	return 0;
}

static json_t *do_get(struct daemon *d, json_t *req)
{
	const char *what = json_string_value(json_object_get(req, "what")) ?: "";
	json_t *items = json_array();
	enum zs_kind kind;

	if (!strcmp(what, "identities")) {
		for (size_t i = 0; i < d->ids.v.n; i++)
			json_array_append_new(items, json_pack("{s:i,s:s,s:o}", "id",
							       (json_int_t)d->ids.v.v[i].id, "namespace",
							       d->ids.v.v[i].ns, "labels",
							       zs_labels_to_json(&d->ids.v.v[i].labels)));
	} else if (zs_kind_parse(what, &kind) == 0 && kind == ZS_KIND_WORKLOAD) {
		for (size_t i = 0; i < d->objs.workloads.n; i++) {
			json_t *o = zs_workload_to_json(&d->objs.workloads.v[i]);
			json_object_set_new(o, "status",
					    json_pack("{s:i}", "identity",
						      (json_int_t)identity_of(d, &d->objs.workloads.v[i])));
			json_array_append_new(items, o);
		}
	} else if (zs_kind_parse(what, &kind) == 0 &&
		   (kind == ZS_KIND_POLICY || kind == ZS_KIND_NETWORKPOLICY)) {
		for (size_t i = 0; i < d->objs.policies.n; i++)
			json_array_append_new(items, zs_policy_to_json(&d->objs.policies.v[i]));
	} else if (zs_kind_parse(what, &kind) == 0 && kind == ZS_KIND_NAMESPACE) {
		for (size_t i = 0; i < d->objs.namespaces.n; i++)
			json_array_append_new(items, zs_namespace_to_json(&d->objs.namespaces.v[i]));
	} else {
		json_decref(items);
		return json_pack("{s:b,s:[s]}", "ok", 0, "errors",
				 "get: unknown kind (workloads, policies, identities, namespaces)");
	}
	return json_pack("{s:b,s:o}", "ok", 1, "items", items);
}

static json_t *do_status(struct daemon *d)
{
	uint64_t packets[ZS_REASON_MAX], bytes[ZS_REASON_MAX];
	json_t *reasons = json_object();

	reason_totals(d, packets, bytes);
	for (uint32_t r = 0; r < ZS_REASON_MAX; r++)
		if (packets[r])
			json_object_set_new(reasons, zs_reason_name(r),
					    json_pack("{s:I,s:I}", "packets", (json_int_t)packets[r],
						      "bytes", (json_int_t)bytes[r]));
	return json_pack("{s:b,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:o,s:s,s:s}", "ok", 1, "revision",
			 (json_int_t)d->writer.revision, "workloads", (json_int_t)d->objs.workloads.n,
			 "policies", (json_int_t)d->objs.policies.n, "identities",
			 (json_int_t)d->ids.v.n, "enforcing", (json_int_t)d->attached.n, "policy_entries",
			 (json_int_t)d->comp.total_entries, "flows", (json_int_t)d->flows_total,
			 "events_lost", (json_int_t)events_lost(d), "sink_lost", (json_int_t)records_lost(d), "packets",
			 reasons, "bpffs", d->opts->bpffs, "state_dir", d->opts->state_dir);
}

static bool do_flows(struct daemon *d, int fd, json_t *req)
{
	json_int_t last = json_integer_value(json_object_get(req, "last"));
	size_t n = 0;

	for (size_t i = 0; i < ZS_RECENT_FLOWS; i++)
		n += d->recent[i] != NULL;
	size_t skip = last > 0 && (size_t)last < n ? n - (size_t)last : 0;
	for (size_t i = 0, seen = 0; i < ZS_RECENT_FLOWS; i++) {
		const char *r = d->recent[(d->recent_next + i) % ZS_RECENT_FLOWS];
		if (r && seen++ >= skip)
			send(fd, r, strlen(r), MSG_NOSIGNAL);
	}
	if (!json_is_true(json_object_get(req, "follow")))
		return false;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*ZS_VEC_PUSH(&d->followers) = fd;
	/* The client has shut its write half already: only a full hang-up ends it. */
	struct epoll_event ev = { .events = EPOLLHUP, .data.u64 = 3ull << 32 | (unsigned)fd };
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
	return true;
}

static int read_request(int fd, char **out)
{
	size_t cap = 65536, n = 0;
	char *buf = zs_xcalloc(cap, 1);

	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= ZS_MAX_REQUEST) {
				free(buf);
				return -E2BIG;
			}
			cap *= 2;
			buf = zs_xrealloc(buf, cap, 1);
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			free(buf);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static void on_client(struct daemon *d)
{
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct timeval tv = { .tv_sec = 10 };
	json_error_t jerr;
	char *buf = NULL;

	if (fd < 0)
		return;
	/* Only root or our own user may steer the firewall. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		reply(fd, json_pack("{s:b,s:[s]}", "ok", 0, "errors", "permission denied"));
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_request(fd, &buf)) {
		close(fd);
		return;
	}
	json_t *req = json_loads(buf, 0, &jerr), *resp = NULL;
	free(buf);
	const char *cmd = json_string_value(json_object_get(req, "cmd")) ?: "";
	if (!strcmp(cmd, "apply"))
		resp = do_apply(d, req);
	else if (!strcmp(cmd, "delete"))
		resp = do_delete(d, req);
	else if (!strcmp(cmd, "get"))
		resp = do_get(d, req);
	else if (!strcmp(cmd, "diff"))
		resp = do_diff(d, req);
	else if (!strcmp(cmd, "explain"))
		resp = do_explain(d, req);
	else if (!strcmp(cmd, "status"))
		resp = do_status(d);
	else if (!strcmp(cmd, "flows")) {
		bool keep = do_flows(d, fd, req);
		json_decref(req);
		if (!keep)
			close(fd);
		return;
	} else
		resp = json_pack("{s:b,s:[s]}", "ok", 0, "errors", "unknown request");
	json_decref(req);
	reply(fd, resp);
	close(fd);
}

static void drop_follower(struct daemon *d, int fd)
{
	for (size_t i = 0; i < d->followers.n; i++)
		if (d->followers.v[i] == fd) {
			d->followers.v[i] = d->followers.v[--d->followers.n];
			break;
		}
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

/* ---- main loop --------------------------------------------------------- */

enum { EV_LISTEN = 1, EV_SIGNAL = 2, EV_FOLLOWER = 3, EV_RING = 4, EV_NETLINK = 5 };

static int add_fd(struct daemon *d, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)tag << 32 | (unsigned)fd };
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/*
 * libbpf's messages in the daemon's log, less one: re-enrolling an interface
 * finds our clsact qdisc still there (detach leaves it), which the kernel
 * reports and zs_dp_attach expects (EEXIST).
 */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level == LIBBPF_DEBUG && !zs_verbose)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strstr(line, "Exclusivity flag on"))
		return 0;
	return fputs(line, stderr);
}

/* A failure's lines: the first as a warning, the reasons after it as they are. */
static void warn_diags(const struct zs_diags *diags, const char *where, int err)
{
	if (!diags->msgs.n) {
		pr_warn("%s: %s", where, strerror(-err));
		return;
	}
	pr_warn("%s", diags->msgs.v[0]);
	for (size_t i = 1; i < diags->msgs.n; i++)
		fprintf(stderr, "%s\n", diags->msgs.v[i]);
}

int zs_daemon_run(const struct zs_daemon_opts *opts)
{
	struct daemon d = { .opts = opts, .listen_fd = -1, .sig_fd = -1, .epfd = -1 };
	struct zs_diags diags = { 0 };
	sigset_t mask;
	int err;

	zs_objects_init(&d.objs);
	libbpf_set_print(libbpf_log);
	err = zs_store_file_open(&d.store, opts->state_dir);
	if (err) {
		pr_warn("state dir %s: %s", opts->state_dir, strerror(-err));
		return err;
	}
	struct zs_dp_opts dpo = { .ct_max = opts->ct_max };
	err = zs_dp_open_opts(&d.dp, opts->bpffs, &dpo);
	if (err)
		goto err_dp;
	err = zs_writer_init(&d.writer, &zs_dp_map_ops, &d.dp);
	if (err)
		goto err_writer;
	if (opts->flow_log) {
		err = zs_jsonl_open(&d.log, opts->flow_log, opts->flow_log_max_bytes,
				    opts->flow_log_keep);
		if (err) {
			pr_warn("flow log %s: %s", opts->flow_log, strerror(-err));
			goto err_writer;
		}
	}
	zs_lifecycle_init(&d.lc, (opts->active_timeout ? opts->active_timeout : 60) * 1000000000ull,
			  (opts->idle_timeout ? opts->idle_timeout : 30) * 1000000000ull);
	d.mono_to_real = zs_now_ns(CLOCK_REALTIME) - zs_now_ns(CLOCK_MONOTONIC);
	d.events_lost_reported = events_lost(&d);
	err = zs_store_load(d.store, &d.objs, &d.ids, &diags);
	if (err) {
		warn_diags(&diags, d.store->name, err);
		goto err_state;
	}
	{
		/* Adopt: rewrite the pinned maps from the stored state, no window. */
		struct zs_objects next;
		zs_objects_copy(&d.objs, &next);
		err = 0;
		if (!err)
			err = commit(&d, &next, &diags);
		zs_objects_free(&next);
		if (err) {
			pr_warn("restoring the stored state failed:");
			zs_diags_print(&diags, stderr);
			goto err_state;
		}
	}
	d.rb = ring_buffer__new(d.dp.events_fd, on_event, &d, NULL);
	if (!d.rb) {
		err = -errno;
		goto err_state;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	err = nl_open(&d);
	if (!err)
		err = listen_open(&d);
	if (err) {
		pr_warn("control socket %s: %s", opts->socket, strerror(-err));
		goto err_loop;
	}
	attach_uplinks(&d);
	zs_metrics_snapshot_init(&d.snap, opts->version ? opts->version : "");
	if (opts->ipfix) {
		err = zs_ipfix_open(&d.ipfix, opts->ipfix, opts->ipfix_pen ? opts->ipfix_pen : ZS_IPFIX_PEN_EXAMPLE, 1);
		if (err) {
			pr_warn("ipfix %s: %s", opts->ipfix, strerror(-err));
			goto err_loop;
		}
		pr_info("exporting IPFIX to %s", opts->ipfix);
	}
	if (opts->metrics) {
		err = zs_metrics_start(&d.metrics, opts->metrics);
		if (err) {
			pr_warn("metrics %s: %s", opts->metrics, strerror(-err));
			goto err_loop;
		}
		metrics_publish(&d);
		pr_info("metrics on http://%s/metrics", opts->metrics);
	}
	add_fd(&d, d.listen_fd, EV_LISTEN);
	add_fd(&d, d.sig_fd, EV_SIGNAL);
	add_fd(&d, ring_buffer__epoll_fd(d.rb), EV_RING);
	add_fd(&d, mnl_socket_get_fd(d.nl), EV_NETLINK);
	pr_info("ready: revision %u, %zu workloads, socket %s", d.writer.revision, d.objs.workloads.n,
		opts->socket);

	while (!d.stop) {
		struct epoll_event evs[16];
		int n = epoll_wait(d.epfd, evs, 16, 1000);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = (int)(evs[i].data.u64 & 0xffffffffu);
			switch (evs[i].data.u64 >> 32) {
			case EV_LISTEN:
				on_client(&d);
				break;
			case EV_SIGNAL:
				d.stop = true;
				break;
			case EV_RING:
				d.event_burst = 0;
				ring_buffer__consume(d.rb);
				zs_jsonl_flush(&d.log);
				break;
			case EV_NETLINK:
				nl_read(&d);
				break;
			case EV_FOLLOWER:
				drop_follower(&d, fd);
				break;
			}
		}
		tick(&d);
	}
	d.event_burst = 0;
	ring_buffer__consume(d.rb);
	pr_info("stopping; enforcement stays in place (pinned under %s)", opts->bpffs);
	err = 0;

err_loop:
	if (d.metrics)
		zs_metrics_stop(d.metrics);
	zs_ipfix_close(d.ipfix);
	for (size_t i = 0; i < d.followers.n; i++)
		close(d.followers.v[i]);
	free(d.followers.v);
	if (d.listen_fd >= 0) {
		close(d.listen_fd);
		unlink(opts->socket);
	}
	if (d.nl)
		mnl_socket_close(d.nl);
	if (d.sig_fd >= 0)
		close(d.sig_fd);
	if (d.epfd >= 0)
		close(d.epfd);
	ring_buffer__free(d.rb);
err_state:
	zs_jsonl_close(&d.log);
	zs_lifecycle_free(&d.lc);
err_writer:
	zs_writer_free(&d.writer);
	zs_dp_close(&d.dp);
err_dp:
	zs_store_close(d.store);
	zs_diags_free(&diags);
	for (size_t i = 0; i < ZS_RECENT_FLOWS; i++)
		free(d.recent[i]);
	free(d.attached.v);
	free(d.shielded.v);
	free(d.uplinks.v);
	zs_compiled_free(&d.comp);
	zs_identities_free(&d.ids);
	zs_objects_free(&d.objs);
	return err;
}
