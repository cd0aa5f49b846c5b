// SPDX-License-Identifier: MIT
/*
 * The control protocol's verbs (proto/proto.h), one handler each, found in a
 * table indexed by enum zs_verb. A handler reads its request's keys and
 * gives the one answer, or (`flows`) the stream of records. Changes (apply,
 * delete, diff) are jobs (jobs.c): compiled off the loop, answered when done.
 * explain is policy/'s pure function over the state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "daemon/sets.h"
#include "policy/diff.h"
#include "policy/explain.h"
#include "policy/serial.h"

json_t *answer_error(const char *msg)
{
	return json_pack("{s:b,s:[s]}", ZS_K_OK, 0, ZS_K_ERRORS, msg);
}

json_t *answer_diags(const struct zs_diags *diags)
{
	json_t *a = json_array();

	for (size_t i = 0; i < diags->msgs.n; i++)
		json_array_append_new(a, json_string(diags->msgs.v[i]));
	return json_pack("{s:b,s:o}", ZS_K_OK, 0, ZS_K_ERRORS, a);
}

/* The changed state's answer: its revision and how many objects the request named. */
json_t *answer_revision(struct daemon *d, size_t objects, bool unchanged)
{
	return json_pack("{s:b,s:i,s:i,s:b}", ZS_K_OK, 1, ZS_K_REVISION,
			 (json_int_t)d->writer.revision, "objects", (json_int_t)objects,
			 ZS_K_UNCHANGED, unchanged);
}

/* Why a flow would be allowed or denied, as of this revision. */
static json_t *do_explain(struct daemon *d, json_t *req)
{
	struct zs_explain_query q = {
		.from = json_string_value(json_object_get(req, ZS_K_FROM)) ?: "",
		.to = json_string_value(json_object_get(req, ZS_K_TO)) ?: "",
		.proto = (int)json_integer_value(json_object_get(req, ZS_K_PROTO)),
		.port = (int)json_integer_value(json_object_get(req, ZS_K_PORT)),
	};
	const char *which;
	json_t *why, *resp;
	int err = zs_explain(&d->objs, &d->ids, &d->comp, &q, &why, &which);

	if (err) {
		char *msg = zs_xasprintf("explain: %s: %s",
					 err == -ENOENT ? "no such workload or address" :
							  "the two ends have no address family in common",
					 which);
		resp = answer_error(msg);
		free(msg);
		return resp;
	}
	resp = json_pack("{s:b}", ZS_K_OK, 1);
	json_object_update(resp, why);
	json_decref(why);
	json_object_set_new(resp, ZS_K_REVISION, json_integer(d->writer.revision));
	return resp;
}

/* A workload's identity, from its first address's ipcache entry; 0: none. */
static uint32_t identity_of(struct daemon *d, const struct zs_workload *w)
{
	for (size_t i = 0; i < d->comp.ipcache.n; i++)
		if (w->naddrs && !zs_prefix_cmp(&d->comp.ipcache.v[i].prefix, &w->addrs[0]))
			return d->comp.ipcache.v[i].identity;
	return 0;
}

static json_t *identities_json(const struct zs_identities *ids)
{
	json_t *items = json_array();

	for (size_t i = 0; i < ids->v.n; i++)
		json_array_append_new(items, json_pack("{s:i,s:s,s:o}", "id", (json_int_t)ids->v.v[i].id,
						       "namespace", ids->v.v[i].ns, "labels",
						       zs_labels_to_json(&ids->v.v[i].labels)));
	return items;
}

/* The objects of one kind; NULL for a kind `get` does not list. */
static json_t *objects_json(struct daemon *d, enum zs_kind kind)
{
	json_t *items = json_array();

	switch (kind) {
	case ZS_KIND_WORKLOAD:
		for (size_t i = 0; i < d->objs.workloads.n; i++) {
			const struct zs_workload *w = &d->objs.workloads.v[i];
			json_t *o = zs_workload_to_json(w);
			json_object_set_new(o, "status", json_pack("{s:i}", "identity",
								   (json_int_t)identity_of(d, w)));
			json_array_append_new(items, o);
		}
		return items;
	case ZS_KIND_POLICY:
	case ZS_KIND_NETWORKPOLICY:
		for (size_t i = 0; i < d->objs.policies.n; i++)
			json_array_append_new(items, zs_policy_to_json(&d->objs.policies.v[i]));
		return items;
	case ZS_KIND_NAMESPACE:
		for (size_t i = 0; i < d->objs.namespaces.n; i++)
			json_array_append_new(items, zs_namespace_to_json(&d->objs.namespaces.v[i]));
		return items;
	default:
		json_decref(items);
		return NULL;
	}
}

static json_t *do_get(struct daemon *d, json_t *req)
{
	const char *what = json_string_value(json_object_get(req, ZS_K_WHAT)) ?: "";
	json_t *items = NULL;
	enum zs_kind kind;

	if (!strcmp(what, "identities"))
		items = identities_json(&d->ids);
	else if (zs_kind_parse(what, &kind) == 0)
		items = kind == ZS_KIND_ADDRESSSET ? sets_json(&d->objs, req) : objects_json(d, kind);
	if (!items)
		return answer_error("get: unknown kind (workloads, policies, identities, namespaces, sets)");
	return json_pack("{s:b,s:o}", ZS_K_OK, 1, "items", items);
}

static json_t *do_status(struct daemon *d, json_t *req)
{
	uint64_t packets[ZS_REASON_MAX], bytes[ZS_REASON_MAX];
	json_t *reasons = json_object();
	(void)req;

	json_t *resp;

	dp_reason_totals(d, packets, bytes);
	for (uint32_t r = 0; r < ZS_REASON_MAX; r++)
		if (packets[r])
			json_object_set_new(reasons, zs_reason_name(r),
					    json_pack("{s:I,s:I}", "packets", (json_int_t)packets[r],
						      "bytes", (json_int_t)bytes[r]));
	resp = json_pack("{s:b,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:o,s:s,s:s,s:I}", ZS_K_OK, 1,
			 ZS_K_REVISION, (json_int_t)d->writer.revision, "workloads",
			 (json_int_t)d->objs.workloads.n, "policies", (json_int_t)d->objs.policies.n,
			 "identities", (json_int_t)d->ids.v.n, "enforcing", (json_int_t)d->attached.n,
			 "policy_entries", (json_int_t)d->comp.total_entries, "flows",
			 (json_int_t)d->out.records, "events_lost", (json_int_t)dp_events_lost(d),
			 "sink_lost", (json_int_t)zs_fanout_lost(&d->out), "packets", reasons, "bpffs",
			 d->opts->bpffs, "state_dir", d->opts->state_dir, "changes_pending",
			 (json_int_t)jobs_pending(d));
	json_object_set_new(resp, "repairs", guard_status(d)); /* tampering undone */
	return resp;
}

/*
 * The recent records, then the end line; with follow, no end line: every
 * record from now on, until the client hangs up (control.c hands the fd to
 * the ring once the history is out; records made before that are missed).
 */
static void do_flows(struct daemon *d, unsigned slot, json_t *req)
{
	json_int_t last = json_integer_value(json_object_get(req, ZS_K_LAST));
	struct conn *c = &d->conns[slot];
	size_t n = zs_recent_count(d->recent), len;
	size_t from = last > 0 && (size_t)last < n ? n - (size_t)last : 0;

	for (size_t i = from; i < n; i++) {
		const char *line = zs_recent_line(d->recent, i, &len);
		control_append(c, line, len);
	}
	if (json_is_true(json_object_get(req, ZS_K_FOLLOW))) {
		c->follow = true;
		control_answer(d, slot, NULL);
		return;
	}
	control_answer(d, slot, json_pack("{s:b,s:b}", ZS_K_OK, 1, ZS_K_END, 1));
}

/* A verb gives one answer, is a change (jobs.c, answered when done), or streams. */
static const struct handler {
	json_t *(*answer)(struct daemon *d, json_t *req);
	void (*stream)(struct daemon *d, unsigned slot, json_t *req);
	bool change;
} handlers[ZS_VERB_MAX] = {
	[ZS_VERB_APPLY] = { .change = true },
	[ZS_VERB_DELETE] = { .change = true },
	[ZS_VERB_DIFF] = { .change = true },
	[ZS_VERB_GET] = { .answer = do_get },
	[ZS_VERB_EXPLAIN] = { .answer = do_explain },
	[ZS_VERB_STATUS] = { .answer = do_status },
	[ZS_VERB_FLOWS] = { .stream = do_flows },
	[ZS_VERB_SET] = { .change = true }, /* sets.c, through jobs.c */
};

void handle_request(struct daemon *d, unsigned slot, json_t *req)
{
	enum zs_verb verb = zs_verb_parse(json_string_value(json_object_get(req, ZS_K_VERB)));
	const struct handler *h = &handlers[verb];

	/* Changes queue; a client that hangs up leaves its change queued, so the queue is bounded. */
	if (h->change && jobs_pending(d) >= ZS_MAX_CLIENTS)
		control_answer(d, slot, answer_error("too many changes pending; try again"));
	else if (h->change)
		job_submit(d, verb, (int)slot, req);
	else if (h->stream)
		h->stream(d, slot, req);
	else
		control_answer(d, slot, h->answer ? h->answer(d, req) : answer_error("unknown request"));
}
