/* SPDX-License-Identifier: MIT */
/*
 * The daemon's own state and the calls its files make on each other; for
 * userspace/daemon/ only. daemon.c: setup, the event loop, teardown;
 * control.c: the control socket; handlers.c: one handler per verb;
 * commit.c: transactions (compile, attach, write the maps, persist);
 * links.c: interfaces and netlink; guard.c: tampering undone; ctscan.c: records from the datapath
 * (events, the conntrack scan) and its counters; telemetry/sink.h: where records go.
 */
#ifndef ZS_DAEMON_INT_H
#define ZS_DAEMON_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bpf/abi.h"
#include "daemon/daemon.h"
#include "telemetry/recent.h"
#include "telemetry/sink.h"
#include "datapath/datapath.h"
#include "datapath/writer.h"
#include "policy/compile.h"
#include "store/store.h"
#include "telemetry/lifecycle.h"
#include "telemetry/metrics.h"

struct ring_buffer;
struct mnl_socket;

struct daemon {
	const struct zs_daemon_opts *opts;
	struct zs_store *store;
	/* The state: objects, their identities, what they compile to. */
	struct zs_objects objs;
	struct zs_identities ids;
	struct zs_compiled comp;
	struct zs_writer writer;
	struct zs_dp dp;
	time_t last_apply;
	/* Interfaces carrying our programs (links.c). */
	ZS_VEC(unsigned) attached; /* tc, sorted */
	ZS_VEC(unsigned) shielded; /* workload ifindexes with the XDP flood shield */
	ZS_VEC(unsigned) uplinks;  /* uplink ifindexes with the XDP prefilter */
	/* Tampering undone (guard.c); its counters are in `snap`. */
	struct {
		ZS_VEC(unsigned) failing; /* ifindexes (0: a pin) whose repair fails */
		size_t sweep_next;        /* the periodic verification's place */
	} guard;
	/* Flow records (ctscan.c) go to every sink through the fan-out, which owns them. */
	struct zs_fanout out;
	struct zs_recent *recent;      /* `flows` history and followers (a sink of `out`) */
	struct zs_sink *jsonl_sink;    /* --flow-log, or NULL (a sink of `out`) */
	struct zs_sink *ipfix_sink;    /* --ipfix, or NULL (a sink of `out`) */
	struct zs_lifecycle lc;
	uint64_t next_scan_ns;  /* CLOCK_MONOTONIC */
	uint64_t mono_to_real;  /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	unsigned event_burst;   /* events in this wakeup */
	uint64_t ct_entries;    /* as of the last scan */
	struct zs_metrics *metrics;      /* --metrics, or NULL */
	struct zs_metrics_snapshot snap; /* counters the daemon keeps itself live here */
	/* The loop. */
	struct ring_buffer *rb;
	struct mnl_socket *nl;
	struct mnl_socket *nl_tc; /* qdisc and filter events (links.c) */
	int epfd, listen_fd, sig_fd;
	bool stop;
};

/* What the loop's descriptors are (epoll data: tag << 32 | fd). */
enum { EV_LISTEN = 1, EV_SIGNAL = 2, EV_FOLLOWER = 3, EV_RING = 4, EV_NETLINK = 5 };

/* daemon.c: polls `fd` for `events` under `tag`. */
int daemon_poll_add(struct daemon *d, int fd, uint32_t events, uint32_t tag);

/* control.c */
int control_open(struct daemon *d);
void control_accept(struct daemon *d);
void control_reply(int fd, json_t *resp);

/* handlers.c: an answer that says the request failed: {ok: false, errors: [msg]}. */
json_t *answer_error(const char *msg);
/*
 * handlers.c: answers one request on `fd` and closes it, or keeps it (a
 * follower). `req` may be NULL (not JSON).
 */
void handle_request(struct daemon *d, int fd, json_t *req);

/* commit.c */
/*
 * Validates `next` and compiles it (this host's addresses read fresh) from
 * a copy of the identities, into *ids and *comp. On failure nothing is
 * left to free and the reasons are in `diags`.
 */
int commit_prepare(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		   struct zs_compiled *comp, struct zs_diags *diags);
/*
 * Makes `next` the state: validate, compile, attach, write the maps,
 * persist; `next` is left empty. On any error nothing changes and the
 * reasons are in `diags`.
 */
int commit(struct daemon *d, struct zs_objects *next, struct zs_diags *diags);
/* Re-applies the current state: interfaces came or went. */
void commit_resync(struct daemon *d);

/* links.c */
/* The hooks (ZS_DP_HOOK_* bits) we put on `ifindex`: tc, the shield, an uplink's XDP. */
unsigned link_hooks_of(struct daemon *d, unsigned ifindex);
void link_host_addrs(struct zs_objects *o);
int link_attach_all(struct daemon *d, const struct zs_compiled *c, char *err, size_t errlen);
void link_detach_stale(struct daemon *d, const struct zs_compiled *c);
void link_shields_sync(struct daemon *d, const struct zs_compiled *c);
void link_attach_uplinks(struct daemon *d);
int nl_open(struct daemon *d);
void nl_read(struct daemon *d);

/* guard.c: `by` names what found it: "netlink", "sweep", "apply". */
/* Verifies the hooks we put on `ifindex`; re-attaches, counts and reports what is gone. */
void guard_check(struct daemon *d, unsigned ifindex, const char *by);
void guard_check_all(struct daemon *d, const char *by);
/* About once a second: the pins, and a slice of the interfaces. */
void guard_tick(struct daemon *d);
/* The counters for `status`. */
json_t *guard_status(struct daemon *d);

/* ctscan.c */
int ct_on_event(void *ctx, void *data, size_t len); /* libbpf ring_buffer callback */
void ct_scan(struct daemon *d);
uint64_t dp_events_lost(struct daemon *d);
void dp_reason_totals(struct daemon *d, uint64_t packets[ZS_REASON_MAX],
		      uint64_t bytes[ZS_REASON_MAX]);

#endif /* ZS_DAEMON_INT_H */
