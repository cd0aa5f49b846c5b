// SPDX-License-Identifier: MIT
/*
 * What an apply would change; see diff.h. Objects are compared in their
 * native JSON form (what `get -o json` shows), map entries as the compiler
 * made them.
 */
#include "policy/diff.h"

#include <string.h>

#include "policy/serial.h"

/* One object's change: "created", "configured" or "unchanged". */
static const char *object_change(json_t *now, json_t *next)
{
	if (!now)
		return "created";
	return json_equal(now, next) ? "unchanged" : "configured";
}

static json_t *find_namespace_json(const struct zs_objects *o, const char *name)
{
	for (size_t i = 0; i < o->namespaces.n; i++)
		if (!strcmp(o->namespaces.v[i].name, name))
			return zs_namespace_to_json(&o->namespaces.v[i]);
	return NULL;
}

static json_t *find_workload_json(const struct zs_objects *o, const char *ns, const char *name)
{
	for (size_t i = 0; i < o->workloads.n; i++)
		if (!strcmp(o->workloads.v[i].ns, ns) && !strcmp(o->workloads.v[i].name, name))
			return zs_workload_to_json(&o->workloads.v[i]);
	return NULL;
}

static json_t *find_policy_json(const struct zs_objects *o, const struct zs_policy *p)
{
	for (size_t i = 0; i < o->policies.n; i++) {
		const struct zs_policy *q = &o->policies.v[i];
		if (!strcmp(q->ns, p->ns) && !strcmp(q->name, p->name) && q->from_k8s == p->from_k8s)
			return zs_policy_to_json(q);
	}
	return NULL;
}

/* Appends one object's change; takes both JSON forms. */
static void push_change(json_t *a, const char *kind, const char *ns, const char *name, json_t *now,
			json_t *next)
{
	json_array_append_new(a, json_pack("{s:s,s:s?,s:s,s:s}", "kind", kind, "namespace", ns,
					   "name", name, "change", object_change(now, next)));
	json_decref(now);
	json_decref(next);
}

/*
 * An AddressSet's change, with the members it adds and removes (sorted
 * lists merged: a 100k-member set is not compared as JSON).
 */
static void push_set_change(json_t *a, const struct zs_objects *now, const struct zs_addrset *s)
{
	const struct zs_addrset *old = zs_objects_set(now, s->name);
	size_t i = 0, j = 0, added = 0, removed = 0;

	while (old && (i < old->n || j < s->n)) {
		int r = i == old->n ? 1 : j == s->n ? -1 : zs_prefix_cmp(&old->members[i], &s->members[j]);
		removed += r < 0;
		added += r > 0;
		i += r <= 0;
		j += r >= 0;
	}
	if (!old)
		added = s->n;
	json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:I}", "kind", "AddressSet", "name",
					   s->name, "change",
					   !old ? "created" : added || removed ? "configured" : "unchanged",
					   "added", (json_int_t)added, "removed", (json_int_t)removed));
}

json_t *zs_diff_objects(const struct zs_objects *now, const struct zs_objects *batch)
{
	json_t *changes = json_array();

	if (batch->has_config)
		json_array_append_new(changes, json_pack("{s:s,s:s,s:s}", "kind", "Config", "name",
						       "default", "change",
						       now->has_config && now->posture == batch->posture ?
							       "unchanged" :
							       "configured"));
	for (size_t i = 0; i < batch->namespaces.n; i++) {
		const struct zs_namespace *n = &batch->namespaces.v[i];
		push_change(changes, "Namespace", NULL, n->name, find_namespace_json(now, n->name),
			    zs_namespace_to_json(n));
	}
	for (size_t i = 0; i < batch->sets.n; i++)
		push_set_change(changes, now, &batch->sets.v[i]);
	for (size_t i = 0; i < batch->workloads.n; i++) {
		const struct zs_workload *w = &batch->workloads.v[i];
		push_change(changes, "Workload", w->ns, w->name, find_workload_json(now, w->ns, w->name),
			    zs_workload_to_json(w));
	}
	for (size_t i = 0; i < batch->policies.n; i++) {
		const struct zs_policy *p = &batch->policies.v[i];
		push_change(changes, p->from_k8s ? "NetworkPolicy" : "Policy", p->ns, p->name,
			    find_policy_json(now, p), zs_policy_to_json(p));
	}
	return changes;
}

/* Entries in `a` that are not in `b` (both sorted the compiler's way). */
static size_t entries_missing(const struct zs_subject *a, const struct zs_subject *b)
{
	size_t n = 0;

	for (size_t i = 0; a && i < a->n; i++) {
		bool found = false;
		for (size_t j = 0; b && j < b->n && !found; j++)
			found = !memcmp(&a->e[i], &b->e[j], sizeof(a->e[i]));
		n += !found;
	}
	return n;
}

/* Endpoints of `next` that are new or carry another identity, plus those of `now` dropped. */
static size_t endpoints_changed(const struct zs_compiled *now, const struct zs_compiled *next)
{
	size_t n = 0;

	for (size_t i = 0; i < next->endpoints.n; i++) {
		bool same = false;
		for (size_t j = 0; j < now->endpoints.n && !same; j++)
			same = !strcmp(now->endpoints.v[j].ifname, next->endpoints.v[i].ifname) &&
			       now->endpoints.v[j].identity == next->endpoints.v[i].identity;
		n += !same;
	}
	for (size_t j = 0; j < now->endpoints.n; j++) {
		bool kept = false;
		for (size_t i = 0; i < next->endpoints.n && !kept; i++)
			kept = !strcmp(now->endpoints.v[j].ifname, next->endpoints.v[i].ifname);
		n += !kept;
	}
	return n;
}

json_t *zs_diff_entries(const struct zs_compiled *now, const struct zs_compiled *next)
{
	size_t added = 0, removed = 0, ip_added = 0, ip_removed = 0, ip_changed = 0;

	for (size_t i = 0; i < next->subjects.n; i++)
		added += entries_missing(&next->subjects.v[i],
					 zs_compiled_subject(now, next->subjects.v[i].identity));
	for (size_t i = 0; i < now->subjects.n; i++)
		removed += entries_missing(&now->subjects.v[i],
					   zs_compiled_subject(next, now->subjects.v[i].identity));
	/* Both ipcaches are sorted by prefix: one merge walk. */
	for (size_t i = 0, j = 0; i < now->ipcache.n || j < next->ipcache.n;) {
		int c = i == now->ipcache.n ? 1 : j == next->ipcache.n ? -1 :
			zs_prefix_cmp(&now->ipcache.v[i].prefix, &next->ipcache.v[j].prefix);
		if (c < 0) {
			ip_removed++, i++;
		} else if (c > 0) {
			ip_added++, j++;
		} else {
			ip_changed += now->ipcache.v[i].identity != next->ipcache.v[j].identity ||
				      now->ipcache.v[i].cidr != next->ipcache.v[j].cidr;
			i++, j++;
		}
	}
	return json_pack("{s:{s:I,s:I},s:{s:I,s:I,s:I},s:I}", "policy", "added", (json_int_t)added,
			 "removed", (json_int_t)removed, "ipcache", "added", (json_int_t)ip_added,
			 "removed", (json_int_t)ip_removed, "changed", (json_int_t)ip_changed,
			 "endpoints", (json_int_t)endpoints_changed(now, next));
}

bool zs_diff_changed(const json_t *objects, const json_t *entries)
{
	const json_t *policy = json_object_get(entries, "policy");
	bool changed = false;
	json_t *c;
	size_t i;

	json_array_foreach(objects, i, c)
		changed |= strcmp(json_string_value(json_object_get(c, "change")), "unchanged") != 0;
	return changed || json_integer_value(json_object_get(policy, "added")) ||
	       json_integer_value(json_object_get(policy, "removed")) ||
	       json_integer_value(json_object_get(entries, "endpoints"));
}
