/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics: the daemon's counters in the text exposition format
 * 0.0.4, served on a loopback HTTP port by libmicrohttpd (GET /metrics).
 *
 * The daemon is one thread with an epoll loop, and must never wait on a
 * scraper. So the HTTP server runs in its own thread (libmicrohttpd's internal
 * polling thread) and only ever reads a snapshot: plain numbers the daemon
 * copies in with zs_metrics_publish() (about once a second, and after every
 * apply), under a mutex held for one memcpy. Rendering happens in the HTTP
 * thread, from its own copy.
 *
 * Only loopback addresses are accepted: the metrics name drop reasons, map
 * occupancy and policy revisions, which say a lot about the estate. Expose
 * them further through something that authenticates (a reverse proxy, an
 * agent on the host).
 *
 * Labels are low cardinality by construction: drop reasons, verdicts,
 * directions, record types, sinks and map names are fixed sets; no label
 * ever carries an address, a workload or a policy name.
 */
#ifndef ZS_METRICS_H
#define ZS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/abi.h"

struct zs_flow_rec; /* telemetry/flows.h */
struct zs_sink;     /* telemetry/sink.h */

/* The maps whose occupancy is reported (label map="..."). */
enum zs_metrics_map {
	ZS_METRICS_MAP_ENDPOINTS, /* "endpoints", capacity ZS_MAX_ENDPOINTS */
	ZS_METRICS_MAP_IPCACHE,   /* "ipcache", ZS_MAX_IPCACHE */
	ZS_METRICS_MAP_POLICY,    /* "policy", ZS_MAX_POLICY */
	ZS_METRICS_MAP_CONNTRACK, /* "conntrack": IPv4 flows (zs_ct4), --ct-max (ZS_MAX_CT) */
	ZS_METRICS_MAP_CONNTRACK6, /* "conntrack6": IPv6 flows (zs_ct), --ct-max */
	ZS_METRICS_MAP_COUNT,
};

/* Flow record sinks that can lose records (label sink="..."). */
enum zs_metrics_sink {
	ZS_METRICS_SINK_JSON,      /* "json": the --flow-log file */
	ZS_METRICS_SINK_IPFIX,     /* "ipfix" */
	ZS_METRICS_SINK_FOLLOWERS, /* "followers": `zeroseg flows --follow` clients */
	ZS_METRICS_SINK_COUNT,
};

/* Hooks the daemon found without our program and put it back on (label hook="..."). */
enum zs_metrics_hook {
	ZS_METRICS_HOOK_TC_INGRESS, /* "tc-ingress" */
	ZS_METRICS_HOOK_TC_EGRESS,  /* "tc-egress" */
	ZS_METRICS_HOOK_XDP,        /* "xdp": a flood shield or an uplink's prefilter */
	ZS_METRICS_HOOK_COUNT,
};

#define ZS_METRICS_VERDICTS 4  /* indexed by enum zs_verdict */
#define ZS_METRICS_DIRS 2      /* indexed by enum zs_dir */
#define ZS_METRICS_REC_TYPES 5 /* indexed by enum zs_rec_type (flows.h) */

/*
 * What the daemon knows, as plain numbers. Counters (every field said to be
 * one) only ever grow while the daemon runs; they start again from zero when
 * it restarts, which Prometheus handles (see zeroseg_start_time_seconds).
 */
struct zs_metrics_snapshot {
	/* Datapath, summed over CPUs: zs_reasons and zs_stats. */
	uint64_t packets[ZS_REASON_MAX]; /* counter, by enum zs_reason; FORWARDED: passed */
	uint64_t bytes[ZS_REASON_MAX];   /* counter */
	uint64_t events_lost;            /* counter: ring buffer full (ZS_STAT_EVENTS_LOST) */

	/*
	 * Flow records, by enum zs_verdict and by the deciding side (enum
	 * zs_dir: egress when the source's egress decided). ZS_VERDICT_NONE
	 * is default deny and is reported with ZS_VERDICT_DENY as "denied".
	 */
	uint64_t flows[ZS_METRICS_VERDICTS][ZS_METRICS_DIRS];      /* counter: flows started (ZS_REC_NEW) */
	uint64_t flow_bytes[ZS_METRICS_VERDICTS][ZS_METRICS_DIRS]; /* counter: bytes the records account */
	uint64_t records[ZS_METRICS_REC_TYPES];                    /* counter: records made, by type */
	uint64_t records_lost[ZS_METRICS_SINK_COUNT];              /* counter: records a sink could not take */

	/* Tampering undone: hooks re-attached, pins made again (daemon/guard.c). */
	uint64_t hook_repairs[ZS_METRICS_HOOK_COUNT]; /* counter */
	uint64_t pin_repairs;                         /* counter */

	/* Control plane. */
	uint32_t revision;
	uint64_t last_apply;   /* unix seconds of the last successful apply; 0: none yet */
	uint64_t workloads;
	uint64_t policies;
	uint64_t identities;
	uint64_t map_entries[ZS_METRICS_MAP_COUNT];
	uint64_t map_capacity[ZS_METRICS_MAP_COUNT]; /* 0: the map is left out */

	/* Build and process. */
	char version[32];    /* zeroseg_build_info{version}; "" renders "unknown" */
	uint64_t start_time; /* unix seconds the daemon started */
};

/*
 * Zeroes `s` and fills what does not change while the daemon runs: map
 * capacities from bpf/abi.h (the caller overrides the conntrack one when
 * --ct-max is given), the start time (now), the version.
 */
void zs_metrics_snapshot_init(struct zs_metrics_snapshot *s, const char *version);

/*
 * One flow record in the snapshot's flow counters: `records` by type,
 * `flows` for NEW, and `flow_bytes` (UPDATE and END carry totals, so the
 * previous record's are taken off; NEW and DENIED count what they saw).
 */
void zs_metrics_count_record(struct zs_metrics_snapshot *s, const struct zs_flow_rec *r);

/*
 * Those counters as a flow record sink (sink.h): every record the fan-out
 * emits is counted into `*snap`, which stays the caller's (it publishes it
 * with zs_metrics_publish). The sink never loses; close frees only the
 * sink. Always 0.
 */
int zs_metrics_sink_open(struct zs_sink **out, struct zs_metrics_snapshot *snap);

/*
 * Renders `s` in the Prometheus text format 0.0.4 into a malloc'd buffer
 * (*out, NUL-terminated, *len bytes without the NUL). 0 or -ENOMEM.
 */
int zs_metrics_render(const struct zs_metrics_snapshot *s, char **out, size_t *len);

/*
 * Parses "127.0.0.1:9464" or "[::1]:9464" (numeric addresses only; port 0
 * picks a free one) into `ss`. -EINVAL when it does not parse, -EPERM when
 * the address is not loopback (127.0.0.0/8 or ::1).
 */
struct sockaddr_storage;
int zs_metrics_parse_addr(const char *addr_port, struct sockaddr_storage *ss);

struct zs_metrics;

/*
 * Starts the HTTP server on `addr_port` (see zs_metrics_parse_addr) in a
 * thread of its own, with every signal blocked (the daemon takes its signals
 * through a signalfd). It answers GET and HEAD /metrics, 404 for any other
 * path, 405 for other methods, and 503 until the first zs_metrics_publish().
 * 0 or -errno; a reason a person can act on is logged.
 */
int zs_metrics_start(struct zs_metrics **out, const char *addr_port);
/* The port the server listens on (useful after asking for port 0). */
unsigned zs_metrics_port(const struct zs_metrics *m);
/* Copies `s` for the next scrapes. Never waits on HTTP. */
void zs_metrics_publish(struct zs_metrics *m, const struct zs_metrics_snapshot *s);
/* Stops the server and frees `m` (NULL is fine). */
void zs_metrics_stop(struct zs_metrics *m);

#endif /* ZS_METRICS_H */
