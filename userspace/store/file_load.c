// SPDX-License-Identifier: MIT
/*
 * The file back end's load (see file.c): the snapshot (state.json, version
 * 3, 2 or 1), then every committed change of the log after the snapshot's
 * number, in order; the objects that result are read back through the one
 * policy parser, one at a time. A snapshot from before the log (version 2,
 * no number) is number 0: the log starts after it, so an old state file is
 * taken over as it is; a version 1 file (objects as one text) is rewritten
 * whole at the next commit.
 */
#define _GNU_SOURCE
#include "store/file_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "policy/serial.h"

/* The state as replay rebuilds it. */
struct loaded {
	ZS_VEC(char *) texts; /* the objects' texts; NULL: removed */
	size_t *slot;         /* text index + 1, by hash (open addressing) */
	size_t cap, used;
	json_t *ids; /* "id" -> identity */
	uint64_t seq;
	const char *path;
	struct zs_diags *diags;
};

static size_t *find(struct loaded *l, const char *text, bool *found)
{
	size_t s = store_hash(text, strlen(text), 0) & (l->cap - 1);

	for (; l->slot[s]; s = (s + 1) & (l->cap - 1)) {
		const char *t = l->texts.v[l->slot[s] - 1];
		if (t && !strcmp(t, text)) {
			*found = true;
			return &l->slot[s];
		}
	}
	*found = false;
	return &l->slot[s];
}

static void rehash(struct loaded *l)
{
	size_t cap = 64;

	while (cap < 4 * (l->texts.n + 1))
		cap *= 2;
	free(l->slot);
	l->slot = zs_xcalloc(cap, sizeof(*l->slot));
	l->cap = cap;
	l->used = 0;
	for (size_t i = 0; i < l->texts.n; i++) {
		bool found;
		if (!l->texts.v[i])
			continue;
		*find(l, l->texts.v[i], &found) = i + 1;
		l->used++;
	}
}

/* One object's text (taken) into the state. */
static void add(struct loaded *l, char *text)
{
	bool found;

	if (2 * (l->used + 1) > l->cap)
		rehash(l);
	size_t *s = find(l, text, &found);
	if (found) { /* the same object twice: once is the state */
		free(text);
		return;
	}
	*ZS_VEC_PUSH(&l->texts) = text;
	*s = l->texts.n;
	l->used++;
}

static int drop(struct loaded *l, const char *text)
{
	bool found;
	size_t *s = l->cap ? find(l, text, &found) : NULL;

	if (!s || !found)
		return -ENOENT;
	free(l->texts.v[*s - 1]);
	l->texts.v[*s - 1] = NULL; /* the slot stays, as a tombstone */
	return 0;
}

static int elements(struct loaded *l, json_t *a, bool remove)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
	{
		char *s = json_dumps(v, JSON_COMPACT);
		if (!s)
			return -ENOMEM;
		if (!remove) {
			add(l, s);
			continue;
		}
		int err = drop(l, s);
		free(s);
		if (err)
			return err;
	}
	return 0;
}

static void ids_put(struct loaded *l, json_t *a)
{
	json_t *v;
	size_t i;
	char key[16];

	json_array_foreach(a, i, v)
	{
		snprintf(key, sizeof(key), "%lld", json_integer_value(json_object_get(v, "id")));
		json_object_set(l->ids, key, v);
	}
}

/* One committed change of the log. */
static int replay_one(void *ctx, uint64_t seq, const char *payload, size_t len)
{
	struct loaded *l = ctx;
	json_error_t jerr;
	json_t *rec, *v;
	size_t i;
	int err;

	if (seq <= l->seq)
		return 0; /* the snapshot holds it (a crash before the log was emptied) */
	if (seq != l->seq + 1) {
		zs_diag_line(l->diags, "%s.log: change %llu follows change %llu: the state is incomplete",
			     l->path, (unsigned long long)seq, (unsigned long long)l->seq);
		return -EINVAL;
	}
	rec = json_loadb(payload, len, 0, &jerr);
	if (!rec) {
		zs_diag_line(l->diags, "%s.log: change %llu: %s", l->path, (unsigned long long)seq,
			     jerr.text);
		return -EINVAL;
	}
	err = elements(l, json_object_get(rec, "del"), true);
	if (err == -ENOENT)
		zs_diag_line(l->diags, "%s.log: change %llu removes an object the state does not hold",
			     l->path, (unsigned long long)seq);
	if (!err)
		err = elements(l, json_object_get(rec, "put"), false);
	json_array_foreach(json_object_get(rec, "ids_del"), i, v)
	{
		char key[24];
		snprintf(key, sizeof(key), "%lld", json_integer_value(v));
		json_object_del(l->ids, key);
	}
	ids_put(l, json_object_get(rec, "ids_put"));
	json_decref(rec);
	l->seq = seq;
	return err;
}

static int cmp_id(const void *a, const void *b)
{
	const struct zs_identity *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The identities rebuilt (sorted by id) into `ids`; their sums kept by the store. */
static void restore_identities(struct store_file *f, json_t *ids_json, struct zs_identities *ids)
{
	struct zs_identities from = { 0 };
	const char *key;
	json_t *v;

	json_object_foreach(ids_json, key, v)
	{
		struct zs_identity *x = ZS_VEC_PUSH(&from.v);
		const char *k;
		json_t *lv;
		json_object_foreach(json_object_get(v, "labels"), k, lv)
			zs_labels_set(&x->labels, k, json_string_value(lv) ?: "");
		x->id = (uint32_t)json_integer_value(json_object_get(v, "id"));
		x->ns = zs_xstrdup(json_string_value(json_object_get(v, "namespace")) ?: "default");
	}
	zs_qsort(from.v.v, from.v.n, sizeof(*from.v.v), cmp_id);
	free(f->ids.v);
	id_sums_of(&from, &f->ids, &f->ids_bytes);
	zs_identities_restore_all(ids, &from);
}

/*
 * The objects through the policy parser, one at a time: the state is ours,
 * written from objects that each passed the parser's bounds, so an estate
 * larger than one file's bounds (many applies add up) still loads.
 */
static int parse_objects(struct loaded *l, struct zs_objects *objs)
{
	struct zs_diags why = { 0 };
	int err = 0;

	for (size_t i = 0; i < l->texts.n && !err; i++) {
		if (!l->texts.v[i])
			continue;
		char *doc = zs_xasprintf("---\n%s\n", l->texts.v[i]);
		err = zs_parse_buffer(l->path, doc, strlen(doc), objs, &why);
		free(doc);
	}
	if (err) {
		zs_diag_line(l->diags, "%s: stored state does not parse:", l->path);
		for (size_t i = 0; i < why.msgs.n; i++)
			*ZS_VEC_PUSH(&l->diags->msgs) = zs_xstrdup(why.msgs.v[i]);
	}
	zs_diags_free(&why);
	return err;
}

/* Version 1: the objects as one text string (no log was ever written beside it). */
static int parse_v1(struct loaded *l, const char *text, struct zs_objects *objs)
{
	struct zs_diags why = { 0 };
	int err = zs_parse_buffer(l->path, text, strlen(text), objs, &why);

	if (err) {
		zs_diag_line(l->diags, "%s: stored state does not parse:", l->path);
		for (size_t i = 0; i < why.msgs.n; i++)
			*ZS_VEC_PUSH(&l->diags->msgs) = zs_xstrdup(why.msgs.v[i]);
	}
	zs_diags_free(&why);
	return err;
}

/* The snapshot into l (and a version 1 file's objects into objs; *none: no snapshot yet); 0 or -errno. */
static int read_snapshot(struct store_file *f, struct loaded *l, struct zs_objects *objs,
			 bool *v1, bool *none)
{
	json_error_t jerr;
	json_t *root, *o;
	char *buf;
	int err = zs_read_file(f->path, &buf, NULL);

	if (err == -ENOENT) {
		*none = true;
		return 0;
	}
	if (err) {
		zs_diag_line(l->diags, "%s: %s", f->path, strerror(-err));
		return err;
	}
	root = json_loads(buf, 0, &jerr);
	free(buf);
	if (!root) {
		zs_diag_line(l->diags, "%s:%d:%d: %s", f->path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	l->seq = (uint64_t)json_integer_value(json_object_get(root, "seq"));
	ids_put(l, json_object_get(root, "identities"));
	o = json_object_get(root, "objects");
	*v1 = !json_is_array(o);
	err = *v1 ? parse_v1(l, json_string_value(o) ?: "", objs) : elements(l, o, false);
	json_decref(root);
	return err;
}

int file_load(struct zs_store *st, struct zs_objects *objs, struct zs_identities *ids,
	      struct zs_diags *diags)
{
	struct store_file *f = FILE_OF(st);
	struct loaded l = { .ids = json_object(), .path = f->path, .diags = diags };
	bool v1 = false, none = false;
	int err = read_snapshot(f, &l, objs, &v1, &none);

	if (!err && f->log.fd >= 0) {
		err = store_log_replay(&f->log, l.seq, replay_one, &l);
		if (err == -EBADMSG && !diags->msgs.n)
			zs_diag_line(diags, "%s: a record is damaged and a committed change follows it: not loaded, nothing cut (what is pinned keeps being enforced); repair the file or move it aside to start from the snapshot",
				     f->log_path);
	}
	if (!err)
		err = parse_objects(&l, objs);
	if (!err) {
		restore_identities(f, l.ids, ids);
		size_t n = 0;
		for (size_t i = 0; i < l.texts.n; i++)
			if (l.texts.v[i])
				l.texts.v[n++] = l.texts.v[i];
		elems_free(&f->live);
		elems_join(&f->live, l.texts.v, n);
		l.texts.n = n;
		f->seq = l.seq;
		f->need_snapshot = v1 || none;
	} else if (!diags->msgs.n) {
		zs_diag_line(diags, "%s: %s", f->path, strerror(-err));
	}
	for (size_t i = 0; i < l.texts.n; i++)
		free(l.texts.v[i]);
	free(l.texts.v);
	free(l.slot);
	json_decref(l.ids);
	return err;
}
