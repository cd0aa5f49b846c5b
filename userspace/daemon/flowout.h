/* SPDX-License-Identifier: MIT */
/*
 * Where the daemon's flow records go: the --flow-log file (JSON lines),
 * IPFIX, live `flows --follow` clients, the ring of recent records that
 * `flows` replays, and the metrics' record counters. Records reach every
 * sink through flowout_emit (or flowout_emit_line for a line that is no
 * record), and nothing else in the daemon names a sink: this file is the
 * one to replace with telemetry/sink.h's fan-out.
 *
 * Loss is never silent: each sink counts what it could not take, and
 * flowout_tick emits a `lost` line when the datapath's lost events or the
 * sinks' lost records moved. Used by one thread (the daemon loop).
 */
#ifndef ZS_DAEMON_FLOWOUT_H
#define ZS_DAEMON_FLOWOUT_H

#include <stdint.h>

#include "telemetry/flows.h"
#include "telemetry/ipfix.h"
#include "telemetry/jsonl.h"
#include "telemetry/metrics.h"
#include "util/base.h"

#ifndef ZS_RECENT_FLOWS
#define ZS_RECENT_FLOWS 2048 /* records `flows` replays */
#endif

struct zs_flowout {
	struct zs_jsonl log;    /* --flow-log (log.f NULL: none) */
	struct zs_ipfix *ipfix; /* --ipfix, or NULL */
	struct zs_metrics_snapshot *snap; /* counts records by type, verdict, direction */
	ZS_VEC(int) followers;  /* `flows --follow` connections, non-blocking */
	char *recent[ZS_RECENT_FLOWS]; /* JSON lines, newline included */
	size_t recent_next;
	uint64_t records;   /* records emitted */
	uint64_t sink_lost; /* records a follower could not take, or that did not encode */
	uint64_t events_lost_reported, records_lost_reported; /* as of the last `lost` line */
};

/*
 * No sinks yet but the ring. Records are counted into `snap`; `events_lost`
 * is the datapath's lost-event count now (earlier losses are not ours).
 */
void flowout_init(struct zs_flowout *fo, struct zs_metrics_snapshot *snap, uint64_t events_lost);
/* The JSON lines sink: a file rotated past max_bytes (0: never), or "-" for stdout. */
int flowout_open_log(struct zs_flowout *fo, const char *path, uint64_t max_bytes, unsigned keep);
/* The IPFIX sink: "HOST:PORT", our elements under enterprise number `pen`. */
int flowout_open_ipfix(struct zs_flowout *fo, const char *host_port, uint32_t pen);

/* One record to every sink. */
void flowout_emit(struct zs_flowout *fo, const struct zs_flow_rec *r);
/* One line that is no record (len bytes, newline included) to the line sinks. */
void flowout_emit_line(struct zs_flowout *fo, const char *line, size_t len);
/* After a batch of records: the file's buffer out. */
void flowout_flush(struct zs_flowout *fo);
/*
 * About once a second: a `lost` line if anything was lost since the last
 * one (`events_lost`: the datapath's count now), then every sink flushed.
 */
void flowout_tick(struct zs_flowout *fo, uint64_t events_lost);
/* Records the sinks could not take, in all and by sink (enum zs_metrics_sink). */
uint64_t flowout_lost(const struct zs_flowout *fo);
void flowout_lost_by_sink(const struct zs_flowout *fo, uint64_t lost[ZS_METRICS_SINK_COUNT]);

/* Sends the last `last` recent records (<= 0: all) to `fd`. */
void flowout_replay(const struct zs_flowout *fo, int fd, long long last);
/* `fd` gets every record from now on (made non-blocking; a slow one loses records). */
void flowout_follow(struct zs_flowout *fo, int fd);
/* `fd` gets no more records (the caller closes it). */
void flowout_unfollow(struct zs_flowout *fo, int fd);

/* Flushes and closes every sink, followers' connections included. */
void flowout_close(struct zs_flowout *fo);

#endif /* ZS_DAEMON_FLOWOUT_H */
