// SPDX-License-Identifier: MIT
/*
 * The fan-out of flow records to their sinks; see sink.h. Each record is
 * encoded once, on the stack, and the same line goes to every sink in the
 * order they were added. Losses are summed here, and reported as a `lost`
 * line through the sinks themselves.
 */
#include "telemetry/sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

uint64_t zs_sink_lost(const struct zs_sink *s)
{
	return s && s->ops->lost ? s->ops->lost(s) : 0;
}

void zs_fanout_init(struct zs_fanout *fo, uint64_t events_lost)
{
	memset(fo, 0, sizeof(*fo));
	fo->events_lost_reported = events_lost;
}

int zs_fanout_add(struct zs_fanout *fo, struct zs_sink *s)
{
	if (fo->n == ZS_FANOUT_MAX)
		return -ENOSPC;
	fo->sinks[fo->n++] = s;
	return 0;
}

/* Every sink gets the line, whatever the others answer. */
static int deliver(struct zs_fanout *fo, const struct zs_flow_rec *rec, const char *line,
		   size_t len)
{
	int err = 0;

	for (size_t i = 0; i < fo->n; i++) {
		int e = fo->sinks[i]->ops->emit(fo->sinks[i], rec, line, len);
		if (e && !err)
			err = e;
	}
	return err;
}

int zs_fanout_emit(struct zs_fanout *fo, const struct zs_flow_rec *rec)
{
	char line[ZS_FANOUT_LINE_MAX];
	size_t len = zs_flow_rec_json(rec, line, sizeof(line));

	if (!len) {
		fo->unencoded++;
		return -EMSGSIZE;
	}
	fo->records++;
	return deliver(fo, rec, line, len);
}

int zs_fanout_emit_line(struct zs_fanout *fo, const char *line, size_t len)
{
	return deliver(fo, NULL, line, len);
}

void zs_fanout_flush(struct zs_fanout *fo)
{
	for (size_t i = 0; i < fo->n; i++)
		if (fo->sinks[i]->ops->flush)
			fo->sinks[i]->ops->flush(fo->sinks[i]);
}

void zs_fanout_tick(struct zs_fanout *fo, uint64_t now_ns)
{
	for (size_t i = 0; i < fo->n; i++)
		if (fo->sinks[i]->ops->tick)
			fo->sinks[i]->ops->tick(fo->sinks[i], now_ns);
}

uint64_t zs_fanout_lost(const struct zs_fanout *fo)
{
	uint64_t lost = fo->unencoded;

	for (size_t i = 0; i < fo->n; i++)
		lost += zs_sink_lost(fo->sinks[i]);
	return lost;
}

bool zs_fanout_report_loss(struct zs_fanout *fo, uint64_t events_lost, uint64_t now_ns)
{
	uint64_t rec = zs_fanout_lost(fo);
	char ts[64], line[256];

	if (events_lost == fo->events_lost_reported && rec == fo->records_lost_reported)
		return false;
	zs_rfc3339(now_ns, ts, sizeof(ts));
	int n = snprintf(line, sizeof(line),
			 "{\"time\":\"%s\",\"type\":\"lost\",\"events\":%llu,\"records\":%llu,"
			 "\"events_total\":%llu,\"records_total\":%llu}\n",
			 ts, (unsigned long long)(events_lost - fo->events_lost_reported),
			 (unsigned long long)(rec - fo->records_lost_reported),
			 (unsigned long long)events_lost, (unsigned long long)rec);
	fo->events_lost_reported = events_lost;
	fo->records_lost_reported = rec;
	zs_fanout_emit_line(fo, line, (size_t)n);
	return true;
}

void zs_fanout_close(struct zs_fanout *fo)
{
	for (size_t i = 0; i < fo->n; i++)
		fo->sinks[i]->ops->close(fo->sinks[i]);
	fo->n = 0;
}
