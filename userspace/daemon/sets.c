// SPDX-License-Identifier: MIT
/*
 * The `set` verb's logic (sets.h): parse the members a request names (the
 * command line's and prefix-list files, every error with its file:line:col),
 * merge them into, take them out of, or put them in place of the members
 * of one AddressSet of the job's copy of
 * the state, sorted lists merged in one pass; the job then compiles and
 * commits it like an apply (jobs.c, commit.c). A request that changes
 * nothing compiles and writes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sets.h"
#include "proto/proto.h"

static int cmp_prefix(const void *a, const void *b)
{
	return zs_prefix_cmp(a, b);
}

/* Every prefix the request names, sorted and unique; 0 or -EINVAL. */
static int request_prefixes(json_t *req, zs_prefixes_t *out, struct zs_diags *diags)
{
	json_t *v;
	size_t i, n = 0;
	int err = 0;

	json_array_foreach(json_object_get(req, ZS_K_PREFIXES), i, v)
	{
		struct zs_prefix p;
		if (zs_parse_prefix_arg(json_string_value(v) ?: "", i, &p, diags))
			err = -EINVAL;
		else
			*ZS_VEC_PUSH(out) = p;
	}
	json_array_foreach(json_object_get(req, ZS_K_FILES), i, v)
	{
		const char *name = json_string_value(json_object_get(v, ZS_K_FILE_NAME)) ?: "<input>";
		const char *text = json_string_value(json_object_get(v, ZS_K_FILE_CONTENT)) ?: "";
		if (zs_parse_prefix_list(name, text, strlen(text), out, diags))
			err = -EINVAL;
	}
	zs_qsort(out->v, out->n, sizeof(*out->v), cmp_prefix);
	for (i = 0; i < out->n; i++)
		if (!n || zs_prefix_cmp(&out->v[n - 1], &out->v[i]))
			out->v[n++] = out->v[i];
	out->n = n;
	return err;
}

enum set_op { SET_ADD, SET_REMOVE, SET_REPLACE };

/*
 * The members of `s` with `chg` (sorted, unique) added, removed, or in
 * their place, in one merge of the two sorted lists; counts the members
 * added and removed.
 */
static void merge_members(struct zs_addrset *s, const zs_prefixes_t *chg, enum set_op op,
			  size_t *added, size_t *removed)
{
	struct zs_prefix *v = zs_xcalloc(s->n + chg->n + 1, sizeof(*v));
	size_t i = 0, j = 0, n = 0;

	while (i < s->n || j < chg->n) {
		int r = i == s->n ? 1 : j == chg->n ? -1 : zs_prefix_cmp(&s->members[i], &chg->v[j]);
		if (r < 0) { /* only in the set */
			if (op == SET_REPLACE)
				++*removed;
			else
				v[n++] = s->members[i];
			i++;
		} else if (r > 0) { /* only in the request */
			if (op != SET_REMOVE) {
				v[n++] = chg->v[j];
				++*added;
			}
			j++;
		} else { /* in both */
			if (op == SET_REMOVE)
				++*removed;
			else
				v[n++] = s->members[i];
			i++;
			j++;
		}
	}
	free(s->members);
	s->members = v;
	s->n = n;
}

int sets_work(json_t *req, struct zs_objects *next, struct zs_diags *diags, bool *unchanged,
	      json_t **summary)
{
	const char *name = json_string_value(json_object_get(req, ZS_K_NAME)) ?: "";
	const char *op = json_string_value(json_object_get(req, ZS_K_OP)) ?: "";
	enum set_op o = !strcmp(op, ZS_SET_ADD) ? SET_ADD : !strcmp(op, ZS_SET_REPLACE) ? SET_REPLACE :
										      SET_REMOVE;
	zs_prefixes_t chg = { 0 };
	size_t added = 0, removed = 0;
	bool created = false;
	struct zs_addrset *s;

	if (!zs_name_ok(name)) {
		zs_diag_line(diags, "set: \"%s\" is no AddressSet name (lower-case letters, digits, '-' or '.')", name);
		return -EINVAL;
	}
	if (o == SET_REMOVE && strcmp(op, ZS_SET_REMOVE)) {
		zs_diag_line(diags, "set: unknown operation \"%s\" (add, remove, replace)", op);
		return -EINVAL;
	}
	if (request_prefixes(req, &chg, diags)) {
		free(chg.v);
		return -EINVAL;
	}
	s = (struct zs_addrset *)zs_objects_set(next, name);
	/* A deny rule naming an emptied set matches nothing: only when asked. */
	if (o == SET_REPLACE && !chg.n && s && s->n &&
	    !json_is_true(json_object_get(req, ZS_K_ALLOW_EMPTY))) {
		zs_diag_line(diags, "set replace %s: no members given, and it holds %zu: refused (an empty feed is more often a failed download); --allow-empty to empty it",
			     name, s->n);
		free(chg.v);
		return -EINVAL;
	}
	if (!s && o == SET_REMOVE) {
		zs_diag_line(diags, "set remove: no AddressSet \"%s\"", name);
		free(chg.v);
		return -EINVAL;
	}
	if (!s) {
		s = ZS_VEC_PUSH(&next->sets);
		memset(s, 0, sizeof(*s));
		s->name = zs_xstrdup(name);
		s->mark = (struct zs_mark){ zs_objects_file(next, "<set>"), 1, 1 };
		created = true; /* a new set is a change even when empty */
	}
	merge_members(s, &chg, o, &added, &removed);
	if (created || added || removed) {
		free(s->json); /* the object changed: its state text is made anew */
		s->json = NULL;
	}
	*unchanged = !(created || added || removed);
	*summary = json_pack("{s:I,s:I,s:I}", ZS_K_ADDED, (json_int_t)added, ZS_K_REMOVED,
			     (json_int_t)removed, ZS_K_MEMBERS, (json_int_t)s->n);
	free(chg.v);
	return 0;
}

void sets_answer(json_t *resp, const json_t *summary)
{
	if (resp && summary && json_is_true(json_object_get(resp, ZS_K_OK)))
		json_object_update(resp, (json_t *)summary);
}

json_t *sets_json(const struct zs_objects *o, json_t *req)
{
	const char *only = json_string_value(json_object_get(req, ZS_K_NAME));
	bool members = only || json_is_true(json_object_get(req, ZS_K_MEMBERS));
	json_t *items = json_array();
	char buf[64];

	for (size_t i = 0; i < o->sets.n; i++) {
		const struct zs_addrset *s = &o->sets.v[i];
		if (only && strcmp(only, s->name))
			continue;
		json_t *it = json_pack("{s:s,s:s,s:{s:s},s:{s:I}}", "apiVersion", "zeroseg.io/v1",
				       "kind", "AddressSet", "metadata", "name", s->name, "status",
				       ZS_K_MEMBERS, (json_int_t)s->n);
		if (members) {
			json_t *list = json_array();
			for (size_t m = 0; m < s->n; m++)
				json_array_append_new(list, json_string(zs_prefix_str(&s->members[m], buf,
										      sizeof(buf))));
			json_object_set_new(it, "spec", json_pack("{s:o}", "prefixes", list));
		}
		json_array_append_new(items, it);
	}
	return items;
}
