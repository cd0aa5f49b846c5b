/* SPDX-License-Identifier: MIT */
/*
 * The daemon's own state and the calls its files make on each other; for
 * userspace/daemon/ only. daemon.c: setup, the event loop, teardown;
 * control.c: the control socket; handlers.c: one handler per verb;
 * commit.c: transactions (compile, attach, write the maps, persist);
 * links.c: interfaces and netlink; guard.c: tampering undone; privilege.c:
 * the capabilities kept after set-up; ctscan.c: records from the datapath
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
#include "proto/request.h"
#include "store/store.h"
#include "telemetry/lifecycle.h"
#include "telemetry/metrics.h"

struct ring_buffer;
struct mnl_socket;
struct job;

/*
 * A client of the control socket (control.c), served without blocking the
 * loop: its request gathered up to ZS_MAX_REQUEST, its answer sent as the
 * client takes it, each within ZS_REQUEST_TIMEOUT_MS; a change waits in the
 * job queue (jobs.c) meanwhile. fd < 0: a free slot.
 */
struct conn {
	int fd;
	uint64_t id;            /* which client: a slot is reused */
	enum { CONN_READ, CONN_WAIT, CONN_WRITE } state;
	struct zs_reqbuf in;
	char *out;              /* the answer's lines */
	size_t out_len, out_off;
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC; none while CONN_WAIT */
	bool follow;            /* once the answer is out, the fd joins the followers */
};

struct daemon {
	bool adopted; /* a state was made the state (commit.c adopt): the restore is done */
	const struct zs_daemon_opts *opts;
	int lock_fd; /* STATE_DIR/lock, held for the daemon's life: one daemon per state */
	struct zs_store *store;
	/* The state: objects, their identities, what they compile to. */
	struct zs_objects objs;
	struct zs_identities ids;
	struct zs_compiled comp;
	struct zs_compile_cache *ccache; /* what `comp` was compiled from: changes recompile what they touch */
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
	uint64_t ct_entries[2]; /* as of the last scan: [0] IPv4 table, [1] IPv6 */
	struct zs_metrics *metrics;      /* --metrics, or NULL */
	struct zs_metrics_snapshot snap; /* counters the daemon keeps itself live here */
	/* The loop. */
	struct ring_buffer *rb;
	struct mnl_socket *nl;
	struct mnl_socket *nl_tc; /* qdisc and filter events (links.c) */
	int epfd, listen_fd, sig_fd;
	bool stop;
	/* The control socket's clients, and the socket file we made (to unlink only ours). */
	struct conn conns[ZS_MAX_CLIENTS];
	uint64_t conn_ids;
	unsigned long long sock_dev, sock_ino;
	/* Changes: one compiles in the worker thread, the rest wait in order (jobs.c). */
	struct job *job_run, *job_head, *job_tail;
	int job_fd; /* eventfd: the worker is done */
};

/* What the loop's descriptors are (epoll data: tag << 32 | fd). */
enum {
	EV_LISTEN = 1,
	EV_SIGNAL = 2,
	EV_FOLLOWER = 3,
	EV_RING = 4,
	EV_NETLINK = 5,
	EV_CLIENT = 6, /* data: the slot in conns */
	EV_JOB = 7,
};

/* daemon.c: polls `fd` for `events` under `tag`. */
int daemon_poll_add(struct daemon *d, int fd, uint32_t events, uint32_t tag);

/* peer.c: may the peer of this control connection steer the firewall? */
bool zs_peer_allowed(int fd);

/* control.c */
int control_open(struct daemon *d);
void control_close(struct daemon *d);
void control_accept(struct daemon *d);
/* The client in slot `slot` is ready (`events`: epoll's). */
void control_ready(struct daemon *d, unsigned slot, uint32_t events);
/* Drops clients past their deadline; returns ms until the next one (or `max`). */
int control_expire(struct daemon *d, int max);
/*
 * Queues `resp` (taken; NULL: the lines are queued already) as the answer in
 * slot `slot` and sends what the client takes now; the rest as it takes it.
 */
void control_answer(struct daemon *d, unsigned slot, json_t *resp);
/* Queues one line of a stream's answer (with its newline). */
void control_append(struct conn *c, const char *line, size_t len);

/* handlers.c: an answer that says the request failed: {ok: false, errors: [msg]}. */
json_t *answer_error(const char *msg);
/*
 * handlers.c: answers one request from the client in `slot` (control_answer),
 * or queues a change (job_submit) that answers it later.
 */
void handle_request(struct daemon *d, unsigned slot, json_t *req);
json_t *answer_diags(const struct zs_diags *diags);
/* A change's answer: the revision, how many objects the request named, whether it changed nothing. */
json_t *answer_revision(struct daemon *d, size_t objects, bool unchanged);

/* commit.c */
/*
 * Validates `next` and compiles it with `ids` (identities allocated there),
 * into *comp, through the compile cache `cc` (NULL: in full; its result is
 * adopted only by commit_finish): touches nothing else (the worker thread runs it). On
 * failure the reasons are in `diags`; `ids` is still the caller's to free.
 */
int commit_compile(struct zs_compile_cache *cc, struct zs_objects *next, struct zs_identities *ids,
		   struct zs_compiled *comp, struct zs_diags *diags);
/*
 * commit_compile from a copy of the state's identities and this host's
 * addresses read now, into *ids and *comp. On failure nothing is left to
 * free and the reasons are in `diags`.
 */
int commit_prepare(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		   struct zs_compiled *comp, struct zs_diags *diags);
/*
 * Prepares (next, ids) in the store, durably, not yet the stored state (a
 * full disk fails here, before anything is enforced): the worker thread
 * runs it, the store being the worker's while a job runs. On failure *txn
 * is NULL and the reason is in `diags`.
 */
int commit_persist(struct daemon *d, struct zs_objects *next, const struct zs_identities *ids,
		   struct zs_store_txn **txn, struct zs_diags *diags);
/*
 * Makes compiled `next` the state (on the loop). `txn` (commit_persist's):
 * one snapshot of the interfaces, attach, write the maps, publish txn in
 * the store (a failed publish puts the old policy back), adopt; NULL (the
 * restore at start): `next` is what the store holds already. Takes *ids,
 * *comp and txn (and `next`'s objects on success) on every path. On any
 * error nothing changes, in the kernel or in the store, and the reasons
 * are in `diags`.
 */
int commit_finish(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		  struct zs_compiled *comp, struct zs_store_txn *txn, struct zs_diags *diags);
/* Enforces `next`, what the store holds already (the restore at start): prepare, then finish. */
int commit_stored(struct daemon *d, struct zs_objects *next, struct zs_diags *diags);
/* Interfaces or this host's addresses moved: enforce the state again (see commit.c). */
void commit_resync(struct daemon *d);

/* jobs.c: changes (apply, delete, diff, a re-sync), one compiling at a time. */
/*
 * Queues a change of `verb` (ZS_VERB_UNKNOWN: re-compile the state, this
 * host's addresses moved; not queued twice) answering the client in `slot`
 * (-1: none) when it is done. `req` is referenced, not copied.
 */
void job_submit(struct daemon *d, enum zs_verb verb, int slot, json_t *req);
/*
 * Queues a large request's bytes (buf, taken) for the client in `slot`:
 * decoded in the worker; a change goes on there, anything else comes back
 * to handle_request on the loop.
 */
void job_submit_raw(struct daemon *d, int slot, char *buf, size_t len);
/* The worker is done: finish its change on the loop, start the next. */
void job_done(struct daemon *d);
int jobs_open(struct daemon *d);
/* Waits for the change compiling, drops the queued ones. */
void jobs_close(struct daemon *d);
/* Changes queued or compiling. */
size_t jobs_pending(const struct daemon *d);

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

/*
 * privilege.c: after set-up and before any thread starts, keeps only the
 * capabilities enforcing needs from here on and sets no_new_privs.
 */
int priv_drop(struct daemon *d);
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
