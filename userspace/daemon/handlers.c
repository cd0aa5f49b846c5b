// SPDX-License-Identifier: MIT
/*
 * The control protocol's verbs (proto/proto.h), one handler each, found in a
 * table indexed by enum zs_verb. A handler reads its request's keys and
 * gives the one answer, or (`flows`) takes the connection to stream records
 * on it. Changes go through commit(); diff and explain are policy/'s pure
 * functions over the state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "policy/diff.h"
#include "policy/explain.h"
#include "policy/serial.h"

json_t *answer_error(const char *msg)
{
	return json_pack("{s:b,s:[s]}", ZS_K_OK, 0, ZS_K_ERRORS, msg);
}

static json_t *answer_diags(const struct zs_diags *diags)
{
	json_t *a = json_array();

	for (size_t i = 0; i < diags->msgs.n; i++)
		json_array_append_new(a, json_string(diags->msgs.v[i]));
	return json_pack("{s:b,s:o}", ZS_K_OK, 0, ZS_K_ERRORS, a);
}

/* The changed state's answer: its revision and how many objects the request named. */
static json_t *answer_revision(struct daemon *d, size_t objects)
{
	return json_pack("{s:b,s:i,s:i}", ZS_K_OK, 1, ZS_K_REVISION, (json_int_t)d->writer.revision,
			 "objects", (json_int_t)objects);
}

/* Parses the request's files into objects, or (refs) references; 0 or -EINVAL. */
static int parse_files(json_t *req, struct zs_objects *into, zs_refs_t *refs, struct zs_diags *diags)
{
	json_t *files = json_object_get(req, ZS_K_FILES), *f;
	size_t i;
	int err = 0;

	json_array_foreach(files, i, f)
	{
		const char *name = json_string_value(json_object_get(f, ZS_K_FILE_NAME)) ?: "<input>";
		const char *content = json_string_value(json_object_get(f, ZS_K_FILE_CONTENT)) ?: "";
		int e = refs ? zs_parse_refs(name, content, strlen(content), refs, diags) :
			       zs_parse_buffer(name, content, strlen(content), into, diags);
		if (e)
			err = e;
	}
	return err;
}

/* The request's files as a batch of objects; on failure nothing is left to free. */
static int parse_batch(json_t *req, struct zs_objects *batch, struct zs_diags *diags)
{
	int err;

	zs_objects_init(batch);
	err = parse_files(req, batch, NULL, diags);
	if (err)
		zs_objects_free(batch);
	return err;
}

/* `next`: a copy of the state with `batch` merged in (and taken). */
static void state_with(struct daemon *d, struct zs_objects *batch, struct zs_objects *next)
{
	zs_objects_copy(&d->objs, next);
	zs_objects_merge(next, batch);
	zs_objects_free(batch);
}

static json_t *do_apply(struct daemon *d, json_t *req)
{
	struct zs_objects next, batch;
	struct zs_diags diags = { 0 };
	json_t *resp;

	if (parse_batch(req, &batch, &diags)) {
		resp = answer_diags(&diags);
		goto out;
	}
	size_t n = batch.workloads.n + batch.policies.n + batch.namespaces.n + batch.has_config;
	state_with(d, &batch, &next);
	resp = commit(d, &next, &diags) ? answer_diags(&diags) : answer_revision(d, n);
	zs_objects_free(&next);
out:
	zs_diags_free(&diags);
	return resp;
}

/* What an apply of these files would change, without changing anything. */
static json_t *do_diff(struct daemon *d, json_t *req)
{
	struct zs_objects next, batch;
	struct zs_diags diags = { 0 };
	struct zs_identities ids;
	struct zs_compiled comp;
	json_t *resp, *objects, *entries;

	if (parse_batch(req, &batch, &diags)) {
		resp = answer_diags(&diags);
		goto out;
	}
	objects = zs_diff_objects(&d->objs, &batch);
	state_with(d, &batch, &next);
	if (commit_prepare(d, &next, &ids, &comp, &diags)) {
		resp = answer_diags(&diags);
		json_decref(objects);
	} else {
		entries = zs_diff_entries(&d->comp, &comp);
		resp = json_pack("{s:b,s:b,s:o,s:o}", ZS_K_OK, 1, "changed",
				 zs_diff_changed(objects, entries), "objects", objects, "entries",
				 entries);
		zs_compiled_free(&comp);
		zs_identities_free(&ids);
	}
	zs_objects_free(&next);
out:
	zs_diags_free(&diags);
	return resp;
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

/* The objects to delete: named by files, or by kind, namespace and name. */
static void delete_refs(json_t *req, zs_refs_t *refs, struct zs_diags *diags)
{
	if (json_object_get(req, ZS_K_FILES)) {
		parse_files(req, NULL, refs, diags);
		return;
	}
	struct zs_ref *r = ZS_VEC_PUSH(refs);
	const char *kind = json_string_value(json_object_get(req, ZS_K_KIND)) ?: "";
	if (zs_kind_parse(kind, &r->kind))
		zs_diag(diags, NULL, "unknown kind \"%s\"", kind);
	r->ns = zs_xstrdup(json_string_value(json_object_get(req, ZS_K_NAMESPACE)) ?: "default");
	r->name = zs_xstrdup(json_string_value(json_object_get(req, ZS_K_NAME)) ?: "");
}

static json_t *do_delete(struct daemon *d, json_t *req)
{
	struct zs_objects next;
	struct zs_diags diags = { 0 };
	zs_refs_t refs = { 0 };
	json_t *resp;

	delete_refs(req, &refs, &diags);
	if (diags.msgs.n) {
		resp = answer_diags(&diags);
		goto out;
	}
	zs_objects_copy(&d->objs, &next);
	for (size_t i = 0; i < refs.n; i++)
		if (zs_objects_remove(&next, &refs.v[i]))
			zs_diag(&diags, NULL, "%s %s/%s: not found", zs_kind_name(refs.v[i].kind),
				refs.v[i].ns, refs.v[i].name);
	if (diags.msgs.n || commit(d, &next, &diags))
		resp = answer_diags(&diags);
	else
		resp = answer_revision(d, refs.n);
	zs_objects_free(&next);
out:
	zs_refs_free(&refs);
	zs_diags_free(&diags);
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
		items = objects_json(d, kind);
	if (!items)
		return answer_error("get: unknown kind (workloads, policies, identities, namespaces)");
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
	resp = json_pack("{s:b,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:o,s:s,s:s}", ZS_K_OK, 1,
			 ZS_K_REVISION, (json_int_t)d->writer.revision, "workloads",
			 (json_int_t)d->objs.workloads.n, "policies", (json_int_t)d->objs.policies.n,
			 "identities", (json_int_t)d->ids.v.n, "enforcing", (json_int_t)d->attached.n,
			 "policy_entries", (json_int_t)d->comp.total_entries, "flows",
			 (json_int_t)d->out.records, "events_lost", (json_int_t)dp_events_lost(d),
			 "sink_lost", (json_int_t)zs_fanout_lost(&d->out), "packets", reasons, "bpffs",
			 d->opts->bpffs, "state_dir", d->opts->state_dir);
	json_object_set_new(resp, "repairs", guard_status(d)); /* tampering undone */
	return resp;
}

/* The recent records; with follow, every record from now on, until the client hangs up. */
static void do_flows(struct daemon *d, int fd, json_t *req)
{
	json_int_t last = json_integer_value(json_object_get(req, ZS_K_LAST));

	zs_recent_replay(d->recent, fd, last > 0 ? (size_t)last : 0);
	if (!json_is_true(json_object_get(req, ZS_K_FOLLOW)) || zs_recent_follow(d->recent, fd)) {
		close(fd);
		return;
	}
	/* The ring owns fd now: drop_follower unfollows (and closes) it. */
	/* The client has shut its write half already: only a full hang-up ends it. */
	daemon_poll_add(d, fd, EPOLLHUP, EV_FOLLOWER);
}

/* A verb gives one answer, or takes the connection to stream on it. */
static const struct handler {
	json_t *(*answer)(struct daemon *d, json_t *req);
	void (*stream)(struct daemon *d, int fd, json_t *req);
} handlers[ZS_VERB_MAX] = {
	[ZS_VERB_APPLY] = { .answer = do_apply },
	[ZS_VERB_DELETE] = { .answer = do_delete },
	[ZS_VERB_DIFF] = { .answer = do_diff },
	[ZS_VERB_GET] = { .answer = do_get },
	[ZS_VERB_EXPLAIN] = { .answer = do_explain },
	[ZS_VERB_STATUS] = { .answer = do_status },
	[ZS_VERB_FLOWS] = { .stream = do_flows },
};

void handle_request(struct daemon *d, int fd, json_t *req)
{
	const struct handler *h =
		&handlers[zs_verb_parse(json_string_value(json_object_get(req, ZS_K_VERB)))];

	if (h->stream) {
		h->stream(d, fd, req);
		return;
	}
	control_reply(fd, h->answer ? h->answer(d, req) : answer_error("unknown request"));
	close(fd);
}
