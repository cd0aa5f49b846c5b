// SPDX-License-Identifier: MIT
/*
 * Enforcement kept in place against tampering. Anyone with CAP_NET_ADMIN
 * can delete the clsact qdisc or one of our filters, or detach XDP, and the
 * interface's traffic then flows unfiltered; anyone who can write the bpffs
 * directory can remove its pins, and a restarted daemon would then start
 * from empty maps (the revision going back). So the kernel is asked, not
 * the lists links.c keeps: on netlink's word that a qdisc or filter went or
 * changed or a link changed (links.c), once a second over every interface we enforce
 * on (a bounded slice per tick), and at every transaction, each hook we put
 * there must run our program; whatever does not gets it back at once. Pins
 * are checked every tick and made again from the maps we hold.
 *
 * Every repair is reported: a warning in the log, counters in `status` and
 * the metrics (zeroseg_hook_repairs_total{hook}, zeroseg_pin_repairs_total),
 * and a `tamper` record in the flow stream. A repair that fails is reported
 * once, counted as unprotected in `status`, and tried again every tick.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"

/* Interfaces verified per tick by the sweep: a bounded cost with many workloads. */
#ifndef ZS_GUARD_SWEEP
#define ZS_GUARD_SWEEP 256
#endif

static bool failing_has(struct daemon *d, unsigned key, size_t *at)
{
	for (size_t i = 0; i < d->guard.failing.n; i++)
		if (d->guard.failing.v[i] == key) {
			*at = i;
			return true;
		}
	return false;
}

/*
 * Marks `key` (an ifindex, or a pin's place) as failing or not; true when
 * that is news (a failure not reported yet, or a recovery).
 */
static bool failing_set(struct daemon *d, unsigned key, bool failing)
{
	size_t at;
	bool had = failing_has(d, key, &at);

	if (failing && !had)
		*ZS_VEC_PUSH(&d->guard.failing) = key;
	if (!failing && had)
		d->guard.failing.v[at] = d->guard.failing.v[--d->guard.failing.n];
	return failing != had;
}

/* The workload whose interface this is, or NULL (an uplink). */
static const char *workload_of(struct daemon *d, const char *ifname)
{
	for (size_t i = 0; i < d->comp.endpoints.n; i++)
		if (!strcmp(d->comp.endpoints.v[i].ifname, ifname))
			return d->comp.endpoints.v[i].workload;
	return NULL;
}

/* One `tamper` line to every sink (see the README's "Flow records"). */
static void emit_record(struct daemon *d, json_t *rec)
{
	json_t *out = json_object();
	char ts[64];
	char *line;

	zs_rfc3339(zs_now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	json_object_set_new(out, "time", json_string(ts)); /* first, as in every record */
	json_object_update(out, rec);
	json_decref(rec);
	line = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(out);
	if (!line)
		return;
	size_t len = strlen(line);
	line[len] = '\n'; /* json_dumps's NUL becomes the line's end */
	zs_fanout_emit_line(&d->out, line, len + 1);
	zs_fanout_flush(&d->out);
	free(line);
}

static unsigned metrics_hook(unsigned bit)
{
	return bit == ZS_DP_HOOK_TC_INGRESS ? ZS_METRICS_HOOK_TC_INGRESS :
	       bit == ZS_DP_HOOK_TC_EGRESS ? ZS_METRICS_HOOK_TC_EGRESS :
					      ZS_METRICS_HOOK_XDP;
}

/* What was found on one hook, and what was done about it. */
static void report_hook(struct daemon *d, unsigned ifindex, unsigned bit, unsigned foreign,
			const char *by, int err, uint64_t repair_us)
{
	char name[IF_NAMESIZE] = "?";
	const char *hook = zs_dp_hook_name(bit), *wl;
	bool qdisc = foreign & ZS_DP_FOREIGN_QDISC;
	const char *what = qdisc ? "another qdisc in place of clsact" :
			   foreign & bit ? "another program in our place" : "lost our program";
	uint64_t *count = &d->snap.hook_repairs[metrics_hook(bit)];

	if_indextoname(ifindex, name);
	wl = workload_of(d, name);
	if (!err)
		(*count)++;
	if (err)
		pr_warn("tamper: %s on %s%s%s has %s; re-attaching failed: %s (found by %s)", hook,
			name, wl ? " of " : "", wl ? wl : "", what,
			err == -EPROTO ? "still not in force after it" : strerror(-err), by);
	else
		pr_warn("tamper: %s on %s%s%s had %s; re-attached in %llu us (found by %s)", hook, name,
			wl ? " of " : "", wl ? wl : "", what, (unsigned long long)repair_us, by);
	json_t *rec = json_pack("{s:s,s:s,s:i,s:s*,s:s,s:s,s:b,s:I,s:s,s:I}", "type", "tamper",
				"interface", name, "ifindex", (json_int_t)ifindex, "workload", wl,
				"hook", hook, "found",
				qdisc ? "foreign-qdisc" : foreign & bit ? "foreign" : "missing", "repaired",
				!err, "repair_us", (json_int_t)repair_us, "detected_by", by,
				"repairs_total", (json_int_t)*count);
	if (rec && err)
		json_object_set_new(rec, "error", json_string(strerror(-err)));
	if (rec)
		emit_record(d, rec);
}

void guard_check(struct daemon *d, unsigned ifindex, const char *by)
{
	unsigned want = link_hooks_of(d, ifindex), foreign;
	int bad;

	if (!want)
		return;
	bad = zs_dp_verify(&d->dp, ifindex, want, &foreign);
	if (bad == -ENODEV)
		return; /* gone: its netlink event re-syncs */
	if (bad < 0) {
		if (failing_set(d, ifindex, true))
			pr_warn("cannot verify the hooks on ifindex %u: %s", ifindex, strerror(-bad));
		return;
	}
	if (!bad) {
		failing_set(d, ifindex, false);
		return;
	}
	uint64_t t0 = zs_now_ns(CLOCK_MONOTONIC);
	int err = zs_dp_repair(&d->dp, ifindex, (unsigned)bad);
	uint64_t us = (zs_now_ns(CLOCK_MONOTONIC) - t0) / 1000;
	if (!failing_set(d, ifindex, err != 0) && err)
		return; /* still failing: reported when it began */
	for (unsigned bit = 1; bit <= ZS_DP_HOOK_XDP_UPLINK; bit <<= 1)
		if ((unsigned)bad & bit)
			report_hook(d, ifindex, bit, foreign & (bit | ZS_DP_FOREIGN_QDISC), by, err, us);
}

/* The interfaces we enforce on, as one list: attached (tc), shielded, uplinks. */
static size_t watched(struct daemon *d)
{
	return d->attached.n + d->shielded.n + d->uplinks.n;
}

static unsigned watched_at(struct daemon *d, size_t i)
{
	if (i < d->attached.n)
		return d->attached.v[i];
	i -= d->attached.n;
	return i < d->shielded.n ? d->shielded.v[i] : d->uplinks.v[i - d->shielded.n];
}

void guard_check_all(struct daemon *d, const char *by)
{
	for (size_t i = 0; i < watched(d); i++)
		guard_check(d, watched_at(d, i), by);
}

static void repinned(void *ctx, const char *path, int err)
{
	struct daemon *d = ctx;

	/* Pins are told apart from interfaces by a key no ifindex has. */
	if (!failing_set(d, 0, err != 0) && err)
		return;
	if (err) {
		pr_warn("tamper: pin %s was removed; pinning it again failed: %s", path, strerror(-err));
	} else {
		d->snap.pin_repairs++;
		pr_warn("tamper: pin %s was removed; pinned again from the map in use (its contents kept)",
			path);
	}
	json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:I}", "type", "tamper", "hook", "pin",
				"pin", path, "found", "missing", "repaired", !err, "detected_by",
				"sweep", "repairs_total", (json_int_t)d->snap.pin_repairs);
	if (rec && err)
		json_object_set_new(rec, "error", json_string(strerror(-err)));
	if (rec)
		emit_record(d, rec);
}

void guard_tick(struct daemon *d)
{
	size_t n = watched(d);

	if (zs_dp_repin(&d->dp, repinned, d) == 0)
		failing_set(d, 0, false);
	for (size_t k = 0; k < n && k < ZS_GUARD_SWEEP; k++) {
		if (d->guard.sweep_next >= n)
			d->guard.sweep_next = 0;
		unsigned ifindex = watched_at(d, d->guard.sweep_next++);
		/* One that is also attached was verified whole in the tc part. */
		if (d->guard.sweep_next > d->attached.n && link_hooks_of(d, ifindex) & ZS_DP_HOOK_TC)
			continue;
		guard_check(d, ifindex, "sweep");
	}
}

json_t *guard_status(struct daemon *d)
{
	const struct zs_metrics_snapshot *s = &d->snap;

	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "tc-ingress",
			 (json_int_t)s->hook_repairs[ZS_METRICS_HOOK_TC_INGRESS], "tc-egress",
			 (json_int_t)s->hook_repairs[ZS_METRICS_HOOK_TC_EGRESS], "xdp",
			 (json_int_t)s->hook_repairs[ZS_METRICS_HOOK_XDP], "pins",
			 (json_int_t)s->pin_repairs, "failing", (json_int_t)d->guard.failing.n);
}
