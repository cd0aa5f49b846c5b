// SPDX-License-Identifier: MIT
/*
 * Unit tests for the store's log (userspace/store/file.c, log.c, elems.c):
 * after any sequence of changes (objects replaced, added, removed;
 * identities added and released), a fresh load equals the state committed,
 * and the log stays under twice the state (compaction) while most commits
 * leave the snapshot untouched; a change writes about its own size, not the
 * state's; a log cut at any byte of its last change (a torn write) or with
 * a byte of it flipped loads as the state before that change, and the next
 * commit goes on from there; a crash in compaction (before the rename, or
 * after it with the old log still there) loads old or new, whole; a state
 * file of the format before the log (version 2) is taken over as it is.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/fixture.h"
#include "policy/serial.h"
#include "store/store.h"

/* Policy i, in variant v (its port), with `rules` rules. */
static void add_policy(struct zs_objects *o, int i, int v, int rules)
{
	struct fx_text y;
	struct zs_objects one;

	fx_text_open(&y);
	fx_printf(&y, "apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p%d, namespace: ns%d}\n"
		  "spec:\n  selector: {matchLabels: {app: a%d}}\n  ingress:\n", i, i % 3, i);
	for (int j = 0; j < rules; j++)
		fx_printf(&y, "    - from: [{selector: {matchLabels: {app: a%d}}}]\n"
			  "      ports: [{protocol: TCP, port: %d}]\n", j, 1000 + v + j);
	fx_text_close(&y);
	zs_objects_init(&one);
	assert_int_equal(fx_parse(&one, "gen.yaml", y.s, y.n), 0);
	zs_objects_merge(o, &one);
	zs_objects_free(&one);
	fx_text_free(&y);
}

static void remove_policy(struct zs_objects *o, int i)
{
	char name[16], ns[16];
	struct zs_ref r = { .kind = ZS_KIND_POLICY, .ns = ns, .name = name };

	snprintf(name, sizeof(name), "p%d", i);
	snprintf(ns, sizeof(ns), "ns%d", i % 3);
	zs_objects_remove(o, &r); /* -ENOENT: it was not there */
}

static void add_identity(struct zs_identities *ids, int i)
{
	zs_labels_t l = { 0 };
	char v[16];

	snprintf(v, sizeof(v), "a%d", i);
	zs_labels_set(&l, "app", v);
	zs_identity_get(ids, "ns", &l);
	zs_labels_free(&l);
}

static void drop_identity(struct zs_identities *ids, size_t k)
{
	if (k >= ids->v.n)
		return;
	zs_labels_free(&ids->v.v[k].labels);
	free(ids->v.v[k].ns);
	memmove(&ids->v.v[k], &ids->v.v[k + 1], (ids->v.n - k - 1) * sizeof(*ids->v.v));
	ids->v.n--;
}

static void assert_loads_as(const char *dir, struct zs_objects *o, const struct zs_identities *ids)
{
	struct zs_objects back;
	struct zs_identities ids_back = { 0 };
	struct zs_diags d = { 0 };
	struct zs_store *s;

	zs_objects_init(&back);
	assert_int_equal(zs_store_file_open(&s, dir), 0);
	int err = zs_store_load(s, &back, &ids_back, &d);
	zs_diags_print(&d, stderr);
	assert_int_equal(err, 0);
	zs_store_close(s);
	char *a = zs_objects_state_json(o), *b = zs_objects_state_json(&back);
	/* The same objects (the order a load gives them may differ: compare sorted texts). */
	json_t *ja = zs_objects_to_json(o), *jb = zs_objects_to_json(&back);
	assert_int_equal(json_array_size(ja), json_array_size(jb));
	assert_true(json_equal(ja, jb) || strlen(a) == strlen(b));
	for (size_t i = 0; i < json_array_size(ja); i++) {
		bool found = false;
		for (size_t j = 0; j < json_array_size(jb) && !found; j++)
			found = json_equal(json_array_get(ja, i), json_array_get(jb, j));
		assert_true(found);
	}
	assert_int_equal(ids->v.n, ids_back.v.n);
	for (size_t i = 0; i < ids->v.n; i++) {
		assert_int_equal(ids->v.v[i].id, ids_back.v.v[i].id);
		assert_string_equal(ids->v.v[i].ns, ids_back.v.v[i].ns);
		assert_string_equal(ids->v.v[i].labels.v[0].value, ids_back.v.v[i].labels.v[0].value);
	}
	json_decref(ja);
	json_decref(jb);
	free(a);
	free(b);
	zs_objects_free(&back);
	zs_identities_free(&ids_back);
	zs_diags_free(&d);
}

static off_t size_of(const char *dir, const char *name)
{
	char *p = zs_xasprintf("%s/%s", dir, name);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_size;
}

static ino_t inode_of(const char *dir, const char *name)
{
	char *p = zs_xasprintf("%s/%s", dir, name);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_ino;
}

/*
 * 400 random changes through one store: after every tenth a fresh load
 * equals the state; the log stays bounded; the snapshot is rewritten rarely.
 */
static void test_replay_equals_state(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o;
	struct zs_identities ids = { 0 };
	struct zs_store *s;
	int snapshots = 0;

	srand(13);
	zs_objects_init(&o);
	for (int i = 0; i < 40; i++)
		add_policy(&o, i, 0, 3);
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	ino_t ino = inode_of(t->path, "state.json");
	for (int step = 1; step <= 400; step++) {
		int r = rand() % 6, i = rand() % 60;
		if (r <= 2)
			add_policy(&o, i, step, 1 + rand() % 4);
		else if (r == 3)
			remove_policy(&o, i);
		else if (r == 4)
			add_identity(&ids, i);
		else
			drop_identity(&ids, (size_t)i % (ids.v.n + 1));
		assert_int_equal(zs_store_commit(s, &o, &ids), 0);
		if (inode_of(t->path, "state.json") != ino) {
			snapshots++;
			ino = inode_of(t->path, "state.json");
		}
		off_t live = size_of(t->path, "state.json");
		assert_true(size_of(t->path, "state.log") <= 2 * (live > (64 << 10) ? live : (64 << 10)) + 4096);
		if (step % 10 == 0)
			assert_loads_as(t->path, &o, &ids);
	}
	assert_true(snapshots >= 1);   /* the log was compacted */
	assert_true(snapshots <= 40);  /* and most commits were records */
	zs_store_close(s);
	/* A store that loads and goes on from the log. */
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	struct zs_objects tmp;
	struct zs_identities tmp_ids = { 0 };
	struct zs_diags d = { 0 };
	zs_objects_init(&tmp);
	assert_int_equal(zs_store_load(s, &tmp, &tmp_ids, &d), 0);
	add_policy(&o, 99, 1, 2);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	zs_store_close(s);
	assert_loads_as(t->path, &o, &ids);
	zs_objects_free(&tmp);
	zs_identities_free(&tmp_ids);
	zs_objects_free(&o);
	zs_identities_free(&ids);
}

/* One policy changed in 1,000: the log grows by about that policy, the snapshot stays. */
static void test_one_change_writes_little(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o;
	struct zs_identities ids = { 0 };
	struct zs_store *s;

	zs_objects_init(&o);
	for (int i = 0; i < 1000; i++)
		add_policy(&o, i, 0, 5);
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	off_t snap = size_of(t->path, "state.json");
	ino_t ino = inode_of(t->path, "state.json");
	assert_true(snap > 500000);
	for (int k = 0; k < 5; k++) {
		off_t before = size_of(t->path, "state.log");
		add_policy(&o, 500 + k, 7, 6);
		assert_int_equal(zs_store_commit(s, &o, &ids), 0);
		off_t grew = size_of(t->path, "state.log") - before;
		assert_true(grew > 0 && grew < 4096); /* the old and new text of one policy, two headers */
	}
	assert_int_equal(inode_of(t->path, "state.json"), ino);
	zs_store_close(s);
	assert_loads_as(t->path, &o, &ids);
	zs_objects_free(&o);
}

static void copy_file(const char *from, const char *to, off_t len)
{
	char *buf;
	size_t n;

	assert_int_equal(zs_read_file(from, &buf, &n), 0);
	assert_true((size_t)len <= n);
	assert_int_equal(zs_write_atomic(to, buf, (size_t)len), 0);
	free(buf);
}

/* dir/copy with the snapshot and the first `len` bytes of the log (a crash's leftovers). */
static char *torn_copy(const char *dir, off_t len, off_t flip)
{
	char *c = zs_xasprintf("%s/copy", dir), *a, *b;

	zs_mkdir_p(c, 0700);
	a = zs_xasprintf("%s/state.json", dir);
	b = zs_xasprintf("%s/state.json", c);
	copy_file(a, b, size_of(dir, "state.json"));
	free(a);
	free(b);
	a = zs_xasprintf("%s/state.log", dir);
	b = zs_xasprintf("%s/state.log", c);
	copy_file(a, b, len);
	if (flip >= 0) {
		FILE *f = fopen(b, "r+");
		assert_non_null(f);
		fseek(f, flip, SEEK_SET);
		int ch = fgetc(f);
		fseek(f, flip, SEEK_SET);
		fputc(ch ^ 0x20, f);
		fclose(f);
	}
	free(a);
	free(b);
	return c;
}

/*
 * A crash at any byte of the last change's write: the state before it,
 * whole. Damage before a sound COMMIT is refused, not cut. Then the next
 * commit goes on.
 */
static void test_torn_tail(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o, a;
	struct zs_identities ids = { 0 }, ids_a = { 0 };
	struct zs_store *s;

	zs_objects_init(&o);
	for (int i = 0; i < 5; i++)
		add_policy(&o, i, 0, 2);
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	add_policy(&o, 1, 1, 2); /* change A */
	add_identity(&ids, 1);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	zs_objects_copy(&o, &a);
	zs_identities_clone(&ids, &ids_a);
	off_t l1 = size_of(t->path, "state.log");
	add_policy(&o, 2, 2, 3); /* change B */
	remove_policy(&o, 3);
	add_identity(&ids, 2);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	off_t l2 = size_of(t->path, "state.log");
	zs_store_close(s);
	assert_true(l2 > l1 + 64);
	for (off_t cut = l1; cut < l2; cut += (cut < l1 + 40 || cut > l2 - 40) ? 1 : 7) {
		char *c = torn_copy(t->path, cut, -1);
		assert_loads_as(c, &a, &ids_a);
		free(c);
	}
	/*
	 * A byte of B's COMMIT gone bad: the tail does not hold, B is not the
	 * state. A byte of its DATA gone bad with its COMMIT sound after it:
	 * a committed change would be lost, so nothing loads and nothing is cut.
	 */
	for (off_t at = l1; at < l2; at += (at < l2 - 40) ? 13 : 1) {
		char *c = torn_copy(t->path, l2, at);
		if (at >= l2 - 32) {
			assert_loads_as(c, &a, &ids_a);
		} else {
			struct zs_objects tmp;
			struct zs_identities tmp_ids = { 0 };
			struct zs_diags d = { 0 };
			zs_objects_init(&tmp);
			assert_int_equal(zs_store_file_open(&s, c), 0);
			assert_int_not_equal(zs_store_load(s, &tmp, &tmp_ids, &d), 0);
			zs_store_close(s);
			assert_int_equal(size_of(c, "state.log"), l2);
			zs_objects_free(&tmp);
			zs_identities_free(&tmp_ids);
			zs_diags_free(&d);
		}
		free(c);
	}
	char *c = torn_copy(t->path, l2, -1);
	assert_loads_as(c, &o, &ids);
	free(c);
	/* Torn in the middle of B: a load cuts it off, and change C goes after A. */
	c = torn_copy(t->path, l1 + (l2 - l1) / 2, -1);
	struct zs_objects tmp;
	struct zs_identities tmp_ids = { 0 };
	struct zs_diags d = { 0 };
	zs_objects_init(&tmp);
	assert_int_equal(zs_store_file_open(&s, c), 0);
	assert_int_equal(zs_store_load(s, &tmp, &tmp_ids, &d), 0);
	assert_int_equal(size_of(c, "state.log"), l1);
	add_policy(&a, 4, 9, 1);
	assert_int_equal(zs_store_commit(s, &a, &ids_a), 0);
	zs_store_close(s);
	assert_loads_as(c, &a, &ids_a);
	free(c);
	zs_objects_free(&tmp);
	zs_identities_free(&tmp_ids);
	zs_objects_free(&a);
	zs_objects_free(&o);
	zs_identities_free(&ids);
	zs_identities_free(&ids_a);
}

/*
 * Compaction (a change as large as the state is written as a new
 * snapshot): killed before the rename, the state before; killed after it
 * with the old log still beside it, the new state (the log's changes are
 * older than the snapshot's number and are skipped).
 */
static void test_compaction_crash(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o, before;
	struct zs_identities ids = { 0 };
	struct zs_store *s;
	struct zs_store_txn *txn;

	zs_objects_init(&o);
	for (int i = 0; i < 5; i++)
		add_policy(&o, i, 0, 2);
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	for (int k = 0; k < 3; k++) {
		add_policy(&o, k, k + 1, 2);
		assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	}
	off_t log_before = size_of(t->path, "state.log");
	assert_true(log_before > 0);
	zs_objects_copy(&o, &before);
	ino_t ino = inode_of(t->path, "state.json");
	add_policy(&o, 50, 0, 2000); /* ~100 KB: more than half the state */
	assert_int_equal(zs_store_prepare(s, &o, &ids, &txn), 0);
	char *c = torn_copy(t->path, log_before, -1); /* killed before the rename */
	assert_loads_as(c, &before, &ids);
	free(c);
	char *log = zs_xasprintf("%s/state.log", t->path), *keep = zs_xasprintf("%s/keep.log", t->path);
	copy_file(log, keep, log_before);
	assert_int_equal(zs_store_publish(s, txn), 0);
	zs_store_close(s);
	assert_true(inode_of(t->path, "state.json") != ino); /* a new snapshot */
	assert_int_equal(size_of(t->path, "state.log"), 0);  /* and the log emptied */
	copy_file(keep, log, log_before); /* killed before the log was emptied */
	assert_loads_as(t->path, &o, &ids);
	free(log);
	free(keep);
	zs_objects_free(&before);
	zs_objects_free(&o);
}

/* A version 2 state file (before the log) is loaded as it is, and changes go to the log. */
static void test_migrates_version2(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o, back;
	struct zs_identities ids = { 0 }, ids_back = { 0 };
	struct zs_diags d = { 0 };
	struct zs_store *s;

	zs_objects_init(&o);
	for (int i = 0; i < 5; i++)
		add_policy(&o, i, 0, 2);
	add_identity(&ids, 1);
	char *objs = zs_objects_state_json(&o);
	char *text = zs_xasprintf("{\"version\":2,\"identities\":[{\"id\":%u,\"namespace\":\"ns\","
				  "\"labels\":{\"app\":\"a1\"}}],\"objects\":%s}\n",
				  ids.v.v[0].id, objs);
	char *path = zs_xasprintf("%s/state.json", t->path);
	assert_int_equal(zs_write_atomic(path, text, strlen(text)), 0);
	assert_loads_as(t->path, &o, &ids);
	zs_objects_init(&back);
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_load(s, &back, &ids_back, &d), 0);
	add_policy(&o, 2, 5, 1);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	zs_store_close(s);
	char *now;
	assert_int_equal(zs_read_file(path, &now, NULL), 0);
	assert_string_equal(now, text); /* the old file is the snapshot, untouched */
	assert_true(size_of(t->path, "state.log") > 0);
	assert_loads_as(t->path, &o, &ids);
	free(now);
	free(path);
	free(text);
	free(objs);
	zs_objects_free(&back);
	zs_identities_free(&ids_back);
	zs_objects_free(&o);
	zs_identities_free(&ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay_equals_state, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_one_change_writes_little, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_compaction_crash, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_migrates_version2, fx_tmpdir_setup,
						fx_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
