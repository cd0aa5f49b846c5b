// SPDX-License-Identifier: MIT
/*
 * The flow-record fan-out; see flowout.h. A record is written as its JSON
 * line once (no allocation), then goes to the file, the followers and the
 * recent ring as that line, to IPFIX as the record, and into the metrics'
 * counters.
 */
#define _GNU_SOURCE
#include "daemon/flowout.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

void flowout_init(struct zs_flowout *fo, struct zs_metrics_snapshot *snap, uint64_t events_lost)
{
	memset(fo, 0, sizeof(*fo));
	fo->snap = snap;
	fo->events_lost_reported = events_lost;
}

int flowout_open_log(struct zs_flowout *fo, const char *path, uint64_t max_bytes, unsigned keep)
{
	return zs_jsonl_open(&fo->log, path, max_bytes, keep);
}

int flowout_open_ipfix(struct zs_flowout *fo, const char *host_port, uint32_t pen)
{
	return zs_ipfix_open(&fo->ipfix, host_port, pen, 1);
}

void flowout_emit_line(struct zs_flowout *fo, const char *line, size_t len)
{
	if (fo->log.f)
		zs_jsonl_write(&fo->log, line, len);
	for (size_t i = 0; i < fo->followers.n; i++) {
		ssize_t w = send(fo->followers.v[i], line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w != (ssize_t)len)
			fo->sink_lost++; /* a slow follower costs records, never the loop */
	}
	free(fo->recent[fo->recent_next]);
	fo->recent[fo->recent_next] = zs_xcalloc(len + 1, 1); /* line need not end in a NUL */
	memcpy(fo->recent[fo->recent_next], line, len);
	fo->recent_next = (fo->recent_next + 1) % ZS_RECENT_FLOWS;
}

/* The metrics: records by type; flows started and bytes accounted, by verdict and side. */
static void count(struct zs_metrics_snapshot *s, const struct zs_flow_rec *r)
{
	unsigned dir = r->egress ? ZS_DIR_EGRESS : ZS_DIR_INGRESS;

	s->records[r->type < ZS_METRICS_REC_TYPES ? r->type : 0]++;
	if (r->type == ZS_REC_NEW)
		s->flows[r->verdict & 3][dir]++;
	s->flow_bytes[r->verdict & 3][dir] +=
		r->type == ZS_REC_UPDATE || r->type == ZS_REC_END ?
			(r->bytes[0] + r->bytes[1]) - (r->prev_bytes[0] + r->prev_bytes[1]) :
			r->bytes[0];
}

void flowout_emit(struct zs_flowout *fo, const struct zs_flow_rec *r)
{
	char line[4096];
	size_t len = zs_flow_rec_json(r, line, sizeof(line));

	if (!len) {
		fo->sink_lost++;
		return;
	}
	flowout_emit_line(fo, line, len);
	if (fo->ipfix)
		zs_ipfix_export(fo->ipfix, r, zs_now_ns(CLOCK_REALTIME));
	fo->records++;
	count(fo->snap, r);
}

void flowout_flush(struct zs_flowout *fo)
{
	zs_jsonl_flush(&fo->log);
}

void flowout_lost_by_sink(const struct zs_flowout *fo, uint64_t lost[ZS_METRICS_SINK_COUNT])
{
	lost[ZS_METRICS_SINK_JSON] = fo->log.lost;
	lost[ZS_METRICS_SINK_FOLLOWERS] = fo->sink_lost;
	if (fo->ipfix) {
		struct zs_ipfix_stats st;
		zs_ipfix_stats(fo->ipfix, &st);
		lost[ZS_METRICS_SINK_IPFIX] = st.lost_records;
	}
}

uint64_t flowout_lost(const struct zs_flowout *fo)
{
	uint64_t lost[ZS_METRICS_SINK_COUNT] = { 0 }, n = 0;

	flowout_lost_by_sink(fo, lost);
	for (size_t i = 0; i < ZS_METRICS_SINK_COUNT; i++)
		n += lost[i];
	return n;
}

/* A `lost` record says how many events and records since the last one. */
static void report_loss(struct zs_flowout *fo, uint64_t ev)
{
	uint64_t rec = flowout_lost(fo);
	char ts[64], line[256];

	if (ev == fo->events_lost_reported && rec == fo->records_lost_reported)
		return;
	zs_rfc3339(zs_now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	int n = snprintf(line, sizeof(line),
			 "{\"time\":\"%s\",\"type\":\"lost\",\"events\":%llu,\"records\":%llu,"
			 "\"events_total\":%llu,\"records_total\":%llu}\n",
			 ts, (unsigned long long)(ev - fo->events_lost_reported),
			 (unsigned long long)(rec - fo->records_lost_reported), (unsigned long long)ev,
			 (unsigned long long)rec);
	fo->events_lost_reported = ev;
	fo->records_lost_reported = rec;
	flowout_emit_line(fo, line, (size_t)n);
}

void flowout_tick(struct zs_flowout *fo, uint64_t events_lost)
{
	report_loss(fo, events_lost);
	zs_jsonl_flush(&fo->log);
	if (fo->ipfix)
		zs_ipfix_flush(fo->ipfix, zs_now_ns(CLOCK_REALTIME));
}

void flowout_replay(const struct zs_flowout *fo, int fd, long long last)
{
	size_t n = 0;

	for (size_t i = 0; i < ZS_RECENT_FLOWS; i++)
		n += fo->recent[i] != NULL;
	size_t skip = last > 0 && (size_t)last < n ? n - (size_t)last : 0;
	for (size_t i = 0, seen = 0; i < ZS_RECENT_FLOWS; i++) {
		const char *r = fo->recent[(fo->recent_next + i) % ZS_RECENT_FLOWS];
		if (r && seen++ >= skip)
			send(fd, r, strlen(r), MSG_NOSIGNAL);
	}
}

void flowout_follow(struct zs_flowout *fo, int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*ZS_VEC_PUSH(&fo->followers) = fd;
}

void flowout_unfollow(struct zs_flowout *fo, int fd)
{
	for (size_t i = 0; i < fo->followers.n; i++)
		if (fo->followers.v[i] == fd) {
			fo->followers.v[i] = fo->followers.v[--fo->followers.n];
			break;
		}
}

void flowout_close(struct zs_flowout *fo)
{
	zs_ipfix_close(fo->ipfix);
	for (size_t i = 0; i < fo->followers.n; i++)
		close(fo->followers.v[i]);
	free(fo->followers.v);
	zs_jsonl_close(&fo->log);
	for (size_t i = 0; i < ZS_RECENT_FLOWS; i++)
		free(fo->recent[i]);
	memset(fo, 0, sizeof(*fo));
}
