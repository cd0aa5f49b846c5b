// SPDX-License-Identifier: MIT
/*
 * Flow records from the datapath, and its counters. The ring buffer's events
 * (a flow starts, is revoked, or keeps being denied) become records as they
 * come; the conntrack scan, about once a second, makes the rest: updates of
 * long flows every active timeout, the end of a flow on FIN/RST or idle (its
 * entry is then deleted), evictions noticed between scans, and the drops of
 * a denied flow that went quiet (both tables: IPv4 flows, IPv6 flows). The
 * lost-event and per-reason counters are read here for the loss records,
 * `status` and the metrics.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "telemetry/flows.h"

/* Events handled per wakeup before the loop gets a turn (clients, ticks). */
#define EVENT_BUDGET 8192
#define SCAN_BATCH 4096

int ct_on_event(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	struct zs_flow_rec r;

	if (len < sizeof(struct zs_flow_event))
		return 0;
	zs_flow_rec_from_event(&r, data, d->mono_to_real, &d->comp, &d->ids);
	zs_fanout_emit(&d->out, &r);
	/* A negative return stops libbpf's consume loop (this event is done). */
	return ++d->event_burst >= EVENT_BUDGET ? -EAGAIN : 0;
}

uint64_t dp_events_lost(struct daemon *d)
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

/* Packets and bytes by reason, summed over CPUs. */
void dp_reason_totals(struct daemon *d, uint64_t packets[ZS_REASON_MAX],
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

/* ---- the conntrack scan: updates of long flows, ends of flows ----------- */

struct scan_ctx {
	struct daemon *d;
	uint64_t now;      /* CLOCK_MONOTONIC */
	uint64_t now_real; /* CLOCK_REALTIME */
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
	zs_fanout_emit(&d->out, &r);
}

static void on_gone(void *arg, const struct zs_lc_flow *f)
{
	struct scan_ctx *sc = arg;
	/* Evicted from a full table between two scans: its end, as last seen. */
	emit_ct(sc->d, &f->key, &f->last, ZS_REC_END, ZS_END_RESOURCES, sc->now_real, f);
}

/* A denied flow went quiet with drops not yet reported: report them, reset the count. */
static void denied_tail(struct scan_ctx *sc, const struct zs_ct_key *k, const struct zs_ct_entry *v)
{
	struct daemon *d = sc->d;
	struct zs_ct_entry cur;
	struct zs_flow_rec r;

	zs_flow_rec_from_ct(&r, k, v, ZS_REC_DENIED, 0, d->mono_to_real, sc->now_real, &d->comp,
			    &d->ids);
	r.suppressed = v->suppressed;
	zs_fanout_emit(&d->out, &r);
	/* Reset the count on the entry as it is now, if it is still this flow. */
	if (!zs_dp_ct_lookup(&d->dp, k, &cur) && cur.created_ns == v->created_ns &&
	    cur.verdict == v->verdict) {
		cur.suppressed -= cur.suppressed >= v->suppressed ? v->suppressed : cur.suppressed;
		cur.report_ns = sc->now;
		zs_dp_ct_update(&d->dp, k, &cur, BPF_EXIST);
	}
}

/* What the lifecycle says is due for one entry. */
static void scan_one(struct scan_ctx *sc, const struct zs_ct_key *k, const struct zs_ct_entry *v)
{
	struct daemon *d = sc->d;
	const struct zs_lc_flow *prev = NULL;
	uint8_t why = 0;

	switch (zs_lifecycle_see(&d->lc, k, v, sc->now, &why, &prev)) {
	case ZS_LC_UPDATE:
		emit_ct(d, k, v, ZS_REC_UPDATE, why, sc->now_real, prev);
		zs_lifecycle_reported(&d->lc, k, v, sc->now);
		break;
	case ZS_LC_END:
		emit_ct(d, k, v, ZS_REC_END, why, sc->now_real, prev);
		zs_lifecycle_forget(&d->lc, k);
		zs_dp_ct_delete(&d->dp, k);
		break;
	case ZS_LC_FORGET:
		zs_dp_ct_delete(&d->dp, k);
		break;
	case ZS_LC_DENIED_TAIL:
		denied_tail(sc, k, v);
		break;
	default:
		break;
	}
}

/*
 * An IPv4 flow in the IPv6 table was tracked by the programs of a version
 * before zs_ct4 (they ran until this daemon attached its own): moved to
 * zs_ct4, where the programs look for it now, unless a newer entry is there.
 */
static void move_to_ct4(struct daemon *d, const struct zs_ct_key *k, const struct zs_ct_entry *v)
{
	zs_dp_ct_update(&d->dp, k, v, BPF_NOEXIST);
	bpf_map_delete_elem(d->dp.ct_fd, k);
}

/*
 * One table, in batches: each entry under its struct zs_ct_key. false when
 * the table could not be read whole.
 */
static bool scan_table(struct scan_ctx *sc, int fd, bool v4)
{
	static union {
		struct zs_ct_key k[SCAN_BATCH];
		struct zs_ct4_key k4[SCAN_BATCH];
	} keys;
	static struct zs_ct_entry vals[SCAN_BATCH];
	struct zs_ct_key in, out, wide;
	bool first = true;

	for (;;) {
		__u32 count = SCAN_BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, &keys, vals, &count, &bo);
		if (err && errno != ENOENT)
			return false; /* flows not seen are not evicted: no sweep */
		sc->d->ct_entries[!v4] += count;
		for (__u32 i = 0; i < count; i++) {
			if (v4)
				zs_ct_key_from4(&wide, &keys.k4[i]);
			else if (keys.k[i].family == ZS_AF_INET)
				move_to_ct4(sc->d, &keys.k[i], &vals[i]);
			if (v4 || keys.k[i].family != ZS_AF_INET)
				scan_one(sc, v4 ? &wide : &keys.k[i], &vals[i]);
		}
		if (err)
			return true; /* ENOENT: that was the last batch */
		in = out;
		first = false;
	}
}

void ct_scan(struct daemon *d)
{
	struct scan_ctx sc = { .d = d };
	bool complete;

	sc.now = zs_now_ns(CLOCK_MONOTONIC);
	sc.now_real = zs_now_ns(CLOCK_REALTIME);
	d->mono_to_real = sc.now_real - sc.now;
	d->ct_entries[0] = d->ct_entries[1] = 0;
	zs_lifecycle_begin(&d->lc);
	complete = scan_table(&sc, d->dp.ct4_fd, true);
	complete &= scan_table(&sc, d->dp.ct_fd, false);
	/* Flows ended in this scan were forgotten; those missing were evicted. */
	if (complete)
		zs_lifecycle_sweep(&d->lc, on_gone, &sc);
}
