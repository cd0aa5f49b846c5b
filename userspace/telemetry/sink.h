/* SPDX-License-Identifier: MIT */
/*
 * Where flow records go. A sink is one consumer of flow records (the JSON
 * lines file, IPFIX, the recent-flows ring and its `flows --follow`
 * followers, the metrics counters) behind a small ops table; the fan-out
 * holds the sinks and hands each record to all of them. A new consumer of
 * flow records is a new sink, not an edit to the daemon.
 *
 * The hot path: the fan-out encodes a record as its JSON line once, into a
 * buffer on its stack, and gives every sink the record and that line (one
 * indirect call per sink, no allocation). A sink copies what it keeps; the
 * record and the line are gone when emit returns.
 *
 * Loss is never silent: a sink counts the records it could not take (its
 * lost()), the fan-out counts records that could not be encoded (lost to
 * every sink), and zs_fanout_report_loss() turns new losses into a `lost`
 * line through the sinks themselves.
 *
 * Sinks and the fan-out are used by one thread (the daemon loop).
 */
#ifndef ZS_SINK_H
#define ZS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry/flows.h"

struct zs_sink;

struct zs_sink_ops {
	const char *name; /* for logs: "jsonl", "ipfix", "recent", ... */
	/*
	 * One record. `rec` is NULL for a line that is no flow record (the
	 * `lost` line): a sink that only takes records ignores it. `line` is
	 * the record's JSON line, newline included, `len` bytes, not
	 * NUL-terminated. 0, or -errno when the sink could not take it (and
	 * counted it in its lost()).
	 */
	int (*emit)(struct zs_sink *s, const struct zs_flow_rec *rec, const char *line, size_t len);
	/* After a batch of records (a ring-buffer wakeup). NULL: nothing to do. */
	void (*flush)(struct zs_sink *s);
	/* About once a second; `now_ns` CLOCK_REALTIME. NULL: nothing to do. */
	void (*tick)(struct zs_sink *s, uint64_t now_ns);
	/* Records this sink could not take, since it opened. NULL: it never loses. */
	uint64_t (*lost)(const struct zs_sink *s);
	/* Flushes what it holds and frees the sink. */
	void (*close)(struct zs_sink *s);
};

/* Embedded in each sink's own struct; ZS_SINK_OF gets that struct back. */
struct zs_sink {
	const struct zs_sink_ops *ops;
};

#define ZS_SINK_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

uint64_t zs_sink_lost(const struct zs_sink *s); /* 0 for NULL */

/* ---- fan-out -------------------------------------------------------------- */

#ifndef ZS_FANOUT_MAX
#define ZS_FANOUT_MAX 8
#endif
/* Longest JSON line of a record; a longer one is lost to every sink (counted). */
#ifndef ZS_FANOUT_LINE_MAX
#define ZS_FANOUT_LINE_MAX 4096
#endif

struct zs_fanout {
	struct zs_sink *sinks[ZS_FANOUT_MAX]; /* in the order added */
	size_t n;
	uint64_t records;   /* records encoded and handed to the sinks */
	uint64_t unencoded; /* records whose line did not fit: lost to every sink */
	uint64_t events_lost_reported, records_lost_reported; /* as of the last `lost` line */
};

/*
 * An empty fan-out (a zeroed struct zs_fanout is one too: closing it does
 * nothing). `events_lost` is the datapath's lost-event count now: losses
 * from before this daemon started are not reported as its own.
 */
void zs_fanout_init(struct zs_fanout *fo, uint64_t events_lost);
/* Takes ownership of `s` (closed by zs_fanout_close). 0, or -ENOSPC when full. */
int zs_fanout_add(struct zs_fanout *fo, struct zs_sink *s);
/*
 * Encodes `rec` as its JSON line once and emits it to every sink, in the
 * order added; a sink that fails does not stop the others. 0, -EMSGSIZE when
 * the line does not fit (counted in `unencoded`, no sink sees it), or the
 * first sink's error.
 */
int zs_fanout_emit(struct zs_fanout *fo, const struct zs_flow_rec *rec);
/* A line that is no flow record (rec NULL to every sink). 0 or the first error. */
int zs_fanout_emit_line(struct zs_fanout *fo, const char *line, size_t len);
void zs_fanout_flush(struct zs_fanout *fo);
void zs_fanout_tick(struct zs_fanout *fo, uint64_t now_ns);
/* Records lost: the unencoded ones plus every sink's lost(). */
uint64_t zs_fanout_lost(const struct zs_fanout *fo);
/*
 * When events (the datapath's count, `events_lost`) or records
 * (zs_fanout_lost) were lost since the last call, emits one line
 *   {"time":..., "type":"lost", "events":N, "records":N, "events_total":N, "records_total":N}
 * to every sink; `now_ns` CLOCK_REALTIME stamps it. Returns whether it did.
 */
bool zs_fanout_report_loss(struct zs_fanout *fo, uint64_t events_lost, uint64_t now_ns);
/* Closes every sink (each flushes what it holds) and empties the fan-out. */
void zs_fanout_close(struct zs_fanout *fo);

#endif /* ZS_SINK_H */
