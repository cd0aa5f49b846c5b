// SPDX-License-Identifier: MIT
/*
 * The store's file back end (see store.h): a snapshot of the whole state,
 * DIR/state.json, and an append log of the changes since, DIR/state.log
 * (log.h). A commit writes only what changed: the objects whose text
 * differs (elems.c finds them without knowing their kinds) and the
 * identities whose number or label set moved, as one log record; prepare
 * appends and fdatasyncs it, publish appends its COMMIT mark and
 * fdatasyncs that. When the log would outgrow twice the state (or a change
 * is most of the state), the commit is a new snapshot instead: prepare
 * writes and fsyncs a temporary file, publish renames it over the snapshot,
 * fsyncs the directory and empties the log (a crash before that leaves
 * records the snapshot already holds: their numbers say so, replay skips them).
 */
#define _GNU_SOURCE
#include "store/file_int.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/serial.h"

/* The log is kept under max(2 x the state, this). */
#ifndef ZS_STORE_LOG_MIN
#define ZS_STORE_LOG_MIN (64u << 10)
#endif

static uint64_t labels_sum(const char *ns, const zs_labels_t *l, uint64_t seed)
{
	uint64_t h = store_hash(ns, strlen(ns) + 1, seed);

	for (size_t i = 0; i < l->n; i++) {
		h = store_hash(l->v[i].key, strlen(l->v[i].key) + 1, h);
		h = store_hash(l->v[i].value, strlen(l->v[i].value) + 1, h);
	}
	return h;
}

void id_sums_of(const struct zs_identities *ids, id_sums_t *out, size_t *bytes)
{
	size_t b = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ids->v.n; i++) {
		const struct zs_identity *x = &ids->v.v[i];
		*ZS_VEC_PUSH(out) = (struct id_sum){ .id = x->id, .h = labels_sum(x->ns, &x->labels, x->id) };
		b += 48 + strlen(x->ns);
		for (size_t l = 0; l < x->labels.n; l++)
			b += 6 + strlen(x->labels.v[l].key) + strlen(x->labels.v[l].value);
	}
	*bytes = b;
}

static char *identity_text(const struct zs_identity *id)
{
	json_t *v = json_pack("{s:i,s:s,s:o}", "id", (json_int_t)id->id, "namespace", id->ns, "labels",
			      zs_labels_to_json(&id->labels));
	char *s = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	return s;
}

/* A growing text. */
struct text {
	char *s;
	size_t n, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	while (t->n + n + 1 > t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->s = zs_xrealloc(t->s, t->cap, 1);
	}
	memcpy(t->s + t->n, s, n);
	t->n += n;
	t->s[t->n] = '\0';
}

static void puts_str(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* A prepared commit: a log record, a new snapshot, or nothing to write. */
struct zs_store_txn {
	uint64_t seq;
	enum { TXN_NONE, TXN_RECORD, TXN_SNAPSHOT } kind;
	uint64_t log_end; /* TXN_RECORD: the log's end before it */
	char *tmp;        /* TXN_SNAPSHOT: the new snapshot, to rename over the old */
	struct elems objs; /* what becomes the store's `live` */
	id_sums_t ids;
	size_t ids_bytes;
};

/* The identities' change: "ids_del":[id...],"ids_put":[identity...]; false: none. */
static bool ids_delta(const id_sums_t *prev, const id_sums_t *next, const struct zs_identities *ids,
		      struct text *t)
{
	struct text del = { 0 }, add = { 0 };
	size_t i = 0, j = 0;
	char num[16];

	while (i < prev->n || j < next->n) {
		if (j == next->n || (i < prev->n && prev->v[i].id < next->v[j].id)) {
			snprintf(num, sizeof(num), "%s%u", del.n ? "," : "", prev->v[i++].id);
			puts_str(&del, num);
			continue;
		}
		if (i < prev->n && prev->v[i].id == next->v[j].id && prev->v[i++].h == next->v[j].h) {
			j++;
			continue;
		}
		char *s = identity_text(&ids->v.v[j++]);
		if (add.n)
			put(&add, ",", 1);
		puts_str(&add, s ? s : "null");
		free(s);
	}
	bool any = del.n || add.n;
	puts_str(t, ",\"ids_del\":[");
	put(t, del.s ? del.s : "", del.n);
	puts_str(t, "],\"ids_put\":[");
	put(t, add.s ? add.s : "", add.n);
	put(t, "]}", 2);
	free(del.s);
	free(add.s);
	return any;
}

/* One array of element texts, "name":[...]. */
static void elems_put(struct text *t, const char *name, const struct elems *e, const size_t *idx,
		      size_t n)
{
	puts_str(t, name);
	put(t, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(t, ",", 1);
		put(t, e->buf + e->v[idx[i]].off, e->v[idx[i]].len);
	}
	put(t, "]", 1);
}

/* The whole state as a snapshot: {"version":3,"seq":N,"identities":[...],"objects":[...]}. */
static char *snapshot_text(const struct zs_identities *ids, const struct elems *objs, uint64_t seq,
			   size_t *len)
{
	struct text t = { 0 };
	char head[64];

	snprintf(head, sizeof(head), "{\"version\":3,\"seq\":%llu,\"identities\":[",
		 (unsigned long long)seq);
	puts_str(&t, head);
	for (size_t i = 0; i < ids->v.n; i++) {
		char *s = identity_text(&ids->v.v[i]);
		if (!s) {
			free(t.s);
			return NULL;
		}
		if (i)
			put(&t, ",", 1);
		puts_str(&t, s);
		free(s);
	}
	puts_str(&t, "],\"objects\":");
	put(&t, objs->buf, objs->len);
	put(&t, "}\n", 2);
	*len = t.n;
	return t.s;
}

static void txn_free(struct zs_store_txn *t)
{
	elems_free(&t->objs);
	free(t->ids.v);
	free(t->tmp);
	free(t);
}

/*
 * The objects' change (from the live texts to `text`, taken) into t->objs,
 * and the record's first part into *rec (*changed: it has something): 0;
 * 1: the texts could not be compared (then t->objs holds the new elements
 * and a snapshot is written); -EINVAL: the text is not an array of objects.
 */
static int objs_delta(struct store_file *f, char *text, struct zs_store_txn *t, struct text *rec,
		      bool *changed)
{
	struct elems_delta d;
	size_t len = strlen(text);

	if (elems_diff(&f->live, text, len, &t->objs, &d)) {
		elems_delta_free(&d);
		free(t->objs.v);
		if (elems_split(&t->objs, text, len)) {
			pr_warn("%s: the state's text is not an array of objects", f->path);
			return -EINVAL;
		}
		return 1;
	}
	puts_str(rec, "{");
	elems_put(rec, "\"del\":", &f->live, d.dels, d.ndels);
	elems_put(rec, ",\"put\":", &t->objs, d.puts, d.nputs);
	*changed = d.ndels || d.nputs;
	elems_delta_free(&d);
	return 0;
}

static int prepare_snapshot(struct store_file *f, const struct zs_identities *ids,
			    struct zs_store_txn *t)
{
	size_t len;
	char *s = snapshot_text(ids, &t->objs, t->seq, &len);
	int err;

	if (!s)
		return -ENOMEM;
	t->kind = TXN_SNAPSHOT;
	err = zs_write_prepare(f->path, s, len, &t->tmp);
	free(s);
	return err;
}

static int file_prepare(struct zs_store *st, struct zs_objects *objs,
			const struct zs_identities *ids, struct zs_store_txn **txn)
{
	struct store_file *f = FILE_OF(st);
	struct zs_store_txn *t = zs_xcalloc(1, sizeof(*t));
	struct text rec = { 0 };
	char *text = zs_objects_state_json(objs);
	int err = 0;

	*txn = NULL;
	if (!text) { /* the store stays as it was */
		free(t);
		return -ENOMEM;
	}
	t->seq = f->seq + 1;
	id_sums_of(ids, &t->ids, &t->ids_bytes);
	bool changed = false;
	int r = objs_delta(f, text, t, &rec, &changed);
	if (r < 0) {
		txn_free(t);
		free(rec.s);
		return r;
	}
	if (r == 0 && ids_delta(&f->ids, &t->ids, ids, &rec))
		changed = true;
	size_t live = t->objs.len + t->ids_bytes;
	size_t limit = 2 * (live > ZS_STORE_LOG_MIN ? live : ZS_STORE_LOG_MIN);

	if (r == 1 || f->need_snapshot || f->log.fd < 0 || f->log.end + rec.n > limit ||
	    (rec.n > ZS_STORE_LOG_MIN && rec.n >= live / 2)) {
		err = prepare_snapshot(f, ids, t);
	} else if (!changed) {
		t->kind = TXN_NONE;
	} else {
		t->kind = TXN_RECORD;
		t->log_end = f->log.end;
		err = store_log_append(&f->log, LOG_DATA, t->seq, rec.s, rec.n, true);
	}
	free(rec.s);
	if (err) {
		txn_free(t);
		return err;
	}
	*txn = t;
	return 0;
}

/* The prepared state is the store's now: keep what the next commit compares with. */
static void adopt(struct store_file *f, struct zs_store_txn *t)
{
	elems_free(&f->live);
	f->live = t->objs;
	memset(&t->objs, 0, sizeof(t->objs));
	free(f->ids.v);
	f->ids = t->ids;
	memset(&t->ids, 0, sizeof(t->ids));
	f->ids_bytes = t->ids_bytes;
	if (t->kind != TXN_NONE)
		f->seq = t->seq;
}

static int file_publish(struct zs_store *st, struct zs_store_txn *t)
{
	struct store_file *f = FILE_OF(st);
	int err = 0;

	if (t->kind == TXN_RECORD) {
		err = store_log_append(&f->log, LOG_COMMIT, t->seq, "", 0, true);
		/*
		 * Its DATA too: not the state. If even the cut fails, the COMMIT may
		 * have reached the disk after all: the next commit writes a snapshot,
		 * whose number skips it (until then a restart could replay it).
		 */
		if (err && store_log_cut(&f->log, t->log_end)) {
			pr_warn("%s: a change refused at its COMMIT cannot be cut; the next change writes a snapshot",
				f->log_path);
			f->need_snapshot = true;
		}
	} else if (t->kind == TXN_SNAPSHOT) {
		err = zs_write_publish(t->tmp, f->path);
		t->tmp = NULL;
		if (!err) {
			f->need_snapshot = false;
			/* What the log holds is in the snapshot now (and skipped if a crash keeps it). */
			if (f->log.fd >= 0 && f->log.end && (store_log_cut(&f->log, 0) || fdatasync(f->log.fd)))
				pr_warn("%s: cannot empty it after a new snapshot; its records are skipped",
					f->log_path);
		}
	}
	if (!err)
		adopt(f, t);
	txn_free(t);
	return err;
}

static void file_abort(struct zs_store *st, struct zs_store_txn *t)
{
	struct store_file *f = FILE_OF(st);

	if (t->kind == TXN_RECORD && store_log_cut(&f->log, t->log_end))
		pr_warn("%s: cannot cut an aborted change; it has no COMMIT and is ignored", f->log_path);
	if (t->kind == TXN_SNAPSHOT)
		zs_write_discard(t->tmp);
	t->tmp = NULL;
	txn_free(t);
}

/* No one else writes the file: nothing to watch. */
static int file_watch(struct zs_store *st, int *fd)
{
	(void)st;
	*fd = -1;
	return 0;
}

static void file_close(struct zs_store *st)
{
	struct store_file *f = FILE_OF(st);

	store_log_close(&f->log);
	elems_free(&f->live);
	free(f->ids.v);
	free(f->log_path);
	free(f->path);
	free(f);
}

static const struct zs_store_ops file_ops = {
	.load = file_load,
	.prepare = file_prepare,
	.publish = file_publish,
	.abort = file_abort,
	.watch = file_watch,
	.close = file_close,
};

/*
 * Temporaries a killed daemon prepared and never published (up to the
 * state's size each): nobody else uses the directory, so they go.
 */
static void remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "state.json.tmp.", 15))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int zs_store_file_open(struct zs_store **out, const char *dir)
{
	struct store_file *f;
	int err = zs_mkdir_p(dir, 0700);

	if (err)
		return err;
	remove_stale(dir);
	f = zs_xcalloc(1, sizeof(*f));
	f->path = zs_xasprintf("%s/state.json", dir);
	f->log_path = zs_xasprintf("%s/state.log", dir);
	f->need_snapshot = true; /* until load says what is stored */
	err = store_log_open(&f->log, f->log_path);
	if (err) {
		pr_warn("%s: %s; every commit writes the whole state", f->log_path, strerror(-err));
		f->log.fd = -1;
	}
	f->live.buf = zs_xstrdup("[]");
	f->live.len = 2;
	f->s.ops = &file_ops;
	f->s.name = f->path;
	*out = &f->s;
	return 0;
}
