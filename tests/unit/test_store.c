// SPDX-License-Identifier: MIT
/*
 * Unit tests for the store's file back end (userspace/store/file.c): a commit
 * loads back as the same objects and identity numbers; a missing file loads
 * as an empty state; a file that is not JSON, or whose objects do not parse,
 * is an error with a message naming the file; a commit in two steps: a
 * prepare that fails (a write error, as on a full disk), an abort, or a
 * publish that fails leaves the state before it, whole; a prepared state is
 * not the stored one until published; the file is 0600; version 1 files (objects as one text) still load.
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
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/fixture.h"
#include "policy/serial.h"
#include "store/store.h"
#include "policy/parse.h" /* ZS_MAX_POLICY_BYTES */

#define OBJECTS                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: web, namespace: shop, labels: {app: web}}\n"                 \
	"spec: {interface: zst-web, addresses: [10.77.0.11]}\n"                        \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: api, namespace: shop, labels: {app: api}}\n"                 \
	"spec: {interface: zst-api, addresses: [10.77.0.12]}\n"                        \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Namespace\n"                                                            \
	"metadata: {name: shop, labels: {team: retail}}\n"                             \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: api, namespace: shop}\n"                                     \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: api}}\n"                                      \
	"  ingress:\n"                                                                 \
	"    - from: [{selector: {matchLabels: {app: web}}}, {cidr: 192.0.2.0/24}]\n"   \
	"      ports: [{protocol: TCP, port: 8080}]\n"

static char *state_file(const struct fx_tmpdir *t)
{
	return zs_xasprintf("%s/state.json", t->path);
}

static char *log_file(const struct fx_tmpdir *t)
{
	return zs_xasprintf("%s/state.log", t->path);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(zs_write_atomic(path, text, strlen(text)), 0);
}

/* Objects parsed from `yaml`, identities as the compiler gives them. */
/* Objects parsed from `yaml`, identities as the compiler numbers them. */
static void estate(const char *yaml, struct zs_objects *o, struct zs_identities *ids)
{
	struct fx_estate e;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	zs_compiled_free(&e.c);
	*o = e.o;
	*ids = e.ids;
}

static void assert_same_objects(const struct zs_objects *a, const struct zs_objects *b)
{
	json_t *ja = zs_objects_to_json(a), *jb = zs_objects_to_json(b);

	if (!json_equal(ja, jb)) {
		char *sa = json_dumps(ja, 0), *sb = json_dumps(jb, 0);
		fail_msg("objects differ:\n%s\n%s", sa, sb);
	}
	assert_int_equal(a->has_config, b->has_config);
	assert_int_equal(a->posture, b->posture);
	json_decref(ja);
	json_decref(jb);
}

static void assert_same_identities(const struct zs_identities *a, const struct zs_identities *b)
{
	assert_int_equal(a->v.n, b->v.n);
	for (size_t i = 0; i < a->v.n; i++) {
		const struct zs_identity *x = &a->v.v[i], *y = &b->v.v[i];
		assert_int_equal(x->id, y->id);
		assert_string_equal(x->ns, y->ns);
		assert_int_equal(x->labels.n, y->labels.n);
		for (size_t l = 0; l < x->labels.n; l++) {
			assert_string_equal(x->labels.v[l].key, y->labels.v[l].key);
			assert_string_equal(x->labels.v[l].value, y->labels.v[l].value);
		}
	}
}

/* Loads the store in `dir`: its error, and the state into o and ids. */
static int load(const char *dir, struct zs_objects *o, struct zs_identities *ids,
		struct zs_diags *d)
{
	struct zs_store *s;
	int err;

	zs_objects_init(o);
	memset(ids, 0, sizeof(*ids));
	assert_int_equal(zs_store_file_open(&s, dir), 0);
	err = zs_store_load(s, o, ids, d);
	zs_store_close(s);
	return err;
}

static void test_commit_then_load(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o, back;
	struct zs_identities ids, ids_back;
	struct zs_diags d = { 0 };
	struct zs_store *s;

	estate(OBJECTS, &o, &ids);
	assert_true(ids.v.n >= 3); /* web, api, the CIDR */
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	zs_store_close(s);

	assert_int_equal(load(t->path, &back, &ids_back, &d), 0);
	assert_int_equal(d.msgs.n, 0);
	assert_int_equal(back.workloads.n, 2);
	assert_int_equal(back.policies.n, 1);
	assert_int_equal(back.namespaces.n, 1);
	assert_same_objects(&o, &back);
	assert_same_identities(&ids, &ids_back);

	/*
	 * The first commit is a snapshot, for our eyes only: version 3, change
	 * 1, 0600, no temporary file left beside it; the log beside it 0600 too.
	 */
	char *path = state_file(t), *text, *tmp = zs_xasprintf("%s.tmp.%d", path, (int)getpid());
	char *logp = log_file(t);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(logp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(zs_read_file(path, &text, NULL), 0);
	assert_non_null(strstr(text, "{\"version\":3,\"seq\":1,\"identities\":["));
	assert_int_equal(access(tmp, F_OK), -1);
	free(text);
	free(logp);
	free(tmp);
	free(path);
	zs_objects_free(&o);
	zs_objects_free(&back);
	zs_identities_free(&ids);
	zs_identities_free(&ids_back);
}

/*
 * Many applies add up: a stored state larger than one policy file may be
 * (ZS_MAX_POLICY_BYTES) still loads, or a daemon could not restart after
 * answering "applied". Policies of 2,000 rules each, each well under the
 * bound as applies are, over 16 MiB in all.
 */
static void test_state_over_one_files_bound_loads(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o, back;
	struct zs_identities ids = { 0 }, ids_back;
	struct zs_diags d = { 0 };
	struct fx_text y;
	struct zs_store *s;
	struct stat st;
	int npol = 0;

	zs_objects_init(&o);
	for (; npol < 100; npol++) { /* one file a policy, each under the bound, as applies are */
		fx_text_open(&y);
		fx_printf(&y, "apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p%d, namespace: big}\n"
			  "spec:\n  selector: {matchLabels: {app: a%d}}\n  ingress:\n", npol, npol);
		for (int j = 0; j < 2000; j++)
			fx_printf(&y, "    - from: [{selector: {matchLabels: {app: a%d}}}]\n"
				  "      ports: [{protocol: TCP, port: %d}]\n", j, 1000 + j);
		fx_text_close(&y);
		assert_int_equal(fx_parse(&o, "big.yaml", y.s, y.n), 0);
		fx_text_free(&y);
	}
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	zs_store_close(s);
	char *path = state_file(t);
	assert_int_equal(stat(path, &st), 0);
	free(path);
	assert_true(st.st_size > ZS_MAX_POLICY_BYTES);
	assert_int_equal(load(t->path, &back, &ids_back, &d), 0);
	zs_diags_print(&d, stderr);
	assert_int_equal(d.msgs.n, 0);
	assert_int_equal(back.policies.n, (size_t)npol);
	zs_diags_free(&d);
	zs_objects_free(&o);
	zs_objects_free(&back);
	zs_identities_free(&ids_back);
}

/* A second commit replaces the first: what is gone stays gone. */
static void test_commit_replaces(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o, smaller, back;
	struct zs_identities ids, ids2, ids_back;
	struct zs_diags d = { 0 };
	struct zs_store *s;

	estate(OBJECTS, &o, &ids);
	estate("apiVersion: zeroseg.io/v1\nkind: Config\nspec: {posture: kubernetes}\n", &smaller,
	       &ids2);
	assert_int_equal(zs_store_file_open(&s, t->path), 0);
	assert_int_equal(zs_store_commit(s, &o, &ids), 0);
	assert_int_equal(zs_store_commit(s, &smaller, &ids2), 0);
	zs_store_close(s);

	assert_int_equal(load(t->path, &back, &ids_back, &d), 0);
	assert_int_equal(back.workloads.n, 0);
	assert_int_equal(back.policies.n, 0);
	assert_true(back.has_config);
	assert_int_equal(back.posture, ZS_POSTURE_KUBERNETES);
	assert_int_equal(ids_back.v.n, 0);
	zs_objects_free(&o);
	zs_objects_free(&smaller);
	zs_objects_free(&back);
	zs_identities_free(&ids);
	zs_identities_free(&ids2);
	zs_identities_free(&ids_back);
}

/*
 * The temporary files beside the state: counted, and with `remove` removed
 * (a publish then finds its prepared file gone).
 */
static int temps(const struct fx_tmpdir *t, bool remove)
{
	DIR *dir = opendir(t->path);
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir))) {
		if (!strstr(e->d_name, ".tmp."))
			continue;
		n++;
		if (remove) {
			char *p = zs_xasprintf("%s/%s", t->path, e->d_name);
			assert_int_equal(unlink(p), 0);
			free(p);
		}
	}
	closedir(dir);
	return n;
}

/* The store in t holds exactly (o, ids). */
static void assert_stored(const struct fx_tmpdir *t, const struct zs_objects *o,
			  const struct zs_identities *ids)
{
	struct zs_objects back;
	struct zs_identities ids_back;
	struct zs_diags d = { 0 };

	int lerr = load(t->path, &back, &ids_back, &d);
	zs_diags_print(&d, stderr);
	assert_int_equal(lerr, 0);
	assert_same_objects(o, &back);
	assert_same_identities(ids, &ids_back);
	zs_objects_free(&back);
	zs_identities_free(&ids_back);
}

/*
 * A two-step commit under test: a store in t holding the empty state (`old`,
 * no identities), and the estate to prepare next (`next`, `ids`).
 */
struct step {
	struct zs_store *s;
	struct zs_objects old, next;
	struct zs_identities none, ids;
	struct zs_store_txn *txn;
};

static void step_open(const struct fx_tmpdir *t, struct step *x)
{
	memset(x, 0, sizeof(*x));
	estate(OBJECTS, &x->next, &x->ids);
	zs_objects_init(&x->old);
	assert_int_equal(zs_store_file_open(&x->s, t->path), 0);
	assert_int_equal(zs_store_commit(x->s, &x->old, &x->none), 0);
}

/* Closes the store; then the state in t must be the old one (`published`: the next). */
static void step_close(const struct fx_tmpdir *t, struct step *x, bool published)
{
	zs_store_close(x->s);
	if (published)
		assert_stored(t, &x->next, &x->ids);
	else
		assert_stored(t, &x->old, &x->none);
	zs_objects_free(&x->old);
	zs_objects_free(&x->next);
	zs_identities_free(&x->ids);
}

/*
 * A prepare that cannot write (the file size limit: the write fails as on a
 * full disk) fails, and leaves the state before it, whole, and no temporary.
 */
static void test_prepare_that_fails_keeps_state(void **state)
{
	struct fx_tmpdir *t = *state;
	struct rlimit was, small = { .rlim_cur = 100 };
	struct step x;

	step_open(t, &x);
	x.txn = (void *)&x;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	small.rlim_max = was.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	int err = zs_store_prepare(x.s, &x.next, &x.ids, &x.txn);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	assert_int_equal(err, -EFBIG);
	assert_null(x.txn);
	assert_int_equal(temps(t, false), 0);
	step_close(t, &x, false);
}

/* Copies the store's files in t to t/copy (what a crash right now would leave). */
static char *crash_copy(const struct fx_tmpdir *t)
{
	char *dir = zs_xasprintf("%s/copy", t->path);
	const char *names[] = { "state.json", "state.log" };

	zs_mkdir_p(dir, 0700);
	for (size_t i = 0; i < 2; i++) {
		char *from = zs_xasprintf("%s/%s", t->path, names[i]);
		char *to = zs_xasprintf("%s/%s", dir, names[i]), *buf;
		size_t n;
		unlink(to);
		if (zs_read_file(from, &buf, &n) == 0) {
			assert_int_equal(zs_write_atomic(to, buf, n), 0);
			free(buf);
		}
		free(from);
		free(to);
	}
	return dir;
}

/* The store in dir holds exactly (o, ids). */
static void assert_stored_in(const char *dir, const struct zs_objects *o,
			     const struct zs_identities *ids)
{
	struct zs_objects back;
	struct zs_identities ids_back;
	struct zs_diags d = { 0 };

	assert_int_equal(load(dir, &back, &ids_back, &d), 0);
	zs_diags_print(&d, stderr);
	assert_same_objects(o, &back);
	assert_same_identities(ids, &ids_back);
	zs_objects_free(&back);
	zs_identities_free(&ids_back);
	zs_diags_free(&d);
}

/*
 * Prepared is not stored: only publish makes it the state (0600, whatever
 * the umask). A change is a log record: the snapshot is not rewritten, and
 * a crash between prepare and publish (the files copied then) loads the
 * state before it.
 */
static void test_publish_makes_it_the_state(void **state)
{
	struct fx_tmpdir *t = *state;
	char *path = state_file(t), *logp = log_file(t);
	mode_t mask = umask(0);
	struct stat st;
	struct step x;

	step_open(t, &x);
	char *before, *after;
	assert_int_equal(zs_read_file(path, &before, NULL), 0);
	assert_int_equal(zs_store_prepare(x.s, &x.next, &x.ids, &x.txn), 0);
	char *copy = crash_copy(t);
	assert_stored_in(copy, &x.old, &x.none);
	assert_int_equal(zs_store_publish(x.s, x.txn), 0);
	assert_int_equal(temps(t, false), 0);
	assert_int_equal(zs_read_file(path, &after, NULL), 0);
	assert_string_equal(before, after); /* a record in the log, the snapshot untouched */
	assert_int_equal(stat(logp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_size > 0);
	free(before);
	free(after);
	free(copy);
	umask(mask);
	free(path);
	free(logp);
	step_close(t, &x, true);
}

/* Abort discards the prepared state: the state before stays, no temporary is left. */
static void test_abort_keeps_state(void **state)
{
	struct fx_tmpdir *t = *state;
	struct step x;

	step_open(t, &x);
	assert_int_equal(zs_store_prepare(x.s, &x.next, &x.ids, &x.txn), 0);
	zs_store_abort(x.s, x.txn);
	zs_store_abort(x.s, NULL);
	assert_int_equal(temps(t, false), 0);
	step_close(t, &x, false);
}

/*
 * A publish that fails (its COMMIT cannot be written: the file size limit,
 * as a full disk) leaves the state before it, in the files and in the store.
 */
static void test_publish_that_fails_keeps_state(void **state)
{
	struct fx_tmpdir *t = *state;
	char *logp = log_file(t);
	struct rlimit was, small;
	struct stat st;
	struct step x;

	step_open(t, &x);
	assert_int_equal(zs_store_prepare(x.s, &x.next, &x.ids, &x.txn), 0);
	assert_int_equal(stat(logp, &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	small = (struct rlimit){ .rlim_cur = (rlim_t)st.st_size, .rlim_max = was.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	int err = zs_store_publish(x.s, x.txn);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	assert_int_equal(err, -EFBIG);
	assert_int_equal(stat(logp, &st), 0);
	assert_int_equal(st.st_size, 0); /* its DATA record cut back too */
	/* The same store commits the same change again, whole. */
	assert_int_equal(zs_store_commit(x.s, &x.next, &x.ids), 0);
	free(logp);
	step_close(t, &x, true);
}

/* A snapshot whose publish fails (its prepared file is gone) leaves the state before it. */
static void test_snapshot_publish_that_fails_keeps_state(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o;
	struct zs_identities ids;
	struct zs_store *s;
	struct zs_store_txn *txn;

	estate(OBJECTS, &o, &ids);
	assert_int_equal(zs_store_file_open(&s, t->path), 0); /* nothing loaded: a snapshot */
	assert_int_equal(zs_store_prepare(s, &o, &ids, &txn), 0);
	assert_int_equal(temps(t, true), 1);
	assert_int_equal(zs_store_publish(s, txn), -ENOENT);
	zs_store_close(s);
	struct zs_objects empty;
	struct zs_identities none = { 0 };
	zs_objects_init(&empty);
	assert_stored_in(t->path, &empty, &none);
	zs_objects_free(&o);
	zs_identities_free(&ids);
}

/* Opening the store removes a temporary a killed daemon prepared and never published. */
static void test_open_removes_stale_temporary(void **state)
{
	struct fx_tmpdir *t = *state;
	struct step x;
	char *stale = zs_xasprintf("%s/state.json.tmp.AbC123", t->path);

	write_file(stale, "{\"version\":2}\n");
	assert_int_equal(temps(t, false), 1);
	step_open(t, &x);
	assert_int_equal(temps(t, false), 0);
	step_close(t, &x, false);
	free(stale);
}

/* No file yet (a first start): empty, no error; the directory is made. */
static void test_missing_file_is_empty(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects back;
	struct zs_identities ids_back;
	struct zs_diags d = { 0 };
	char *dir = zs_xasprintf("%s/a/b", t->path);
	struct stat st;
	int fd = 0;
	struct zs_store *s;

	assert_int_equal(load(dir, &back, &ids_back, &d), 0);
	assert_int_equal(d.msgs.n, 0);
	assert_int_equal(back.workloads.n + back.policies.n + back.namespaces.n, 0);
	assert_false(back.has_config);
	assert_int_equal(ids_back.v.n, 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);

	/* Nobody else writes a file: nothing to watch. */
	assert_int_equal(zs_store_file_open(&s, dir), 0);
	assert_int_equal(zs_store_watch(s, &fd), 0);
	assert_int_equal(fd, -1);
	zs_store_close(s);
	free(dir);
	zs_objects_free(&back);
}

static void test_corrupt_json_is_error(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects back;
	struct zs_identities ids_back;
	struct zs_diags d = { 0 };
	char *path = state_file(t), *want = zs_xasprintf("%s:1:", path);

	write_file(path, "{\"version\":2,\"identities\":[");
	assert_int_equal(load(t->path, &back, &ids_back, &d), -EINVAL);
	assert_int_equal(d.msgs.n, 1);
	assert_memory_equal(d.msgs.v[0], want, strlen(want)); /* file:line:col: why */
	free(want);
	free(path);
	zs_diags_free(&d);
	zs_objects_free(&back);
	zs_identities_free(&ids_back);
}

/* JSON, but objects the parser refuses: the headline, then the parser's reasons. */
static void test_objects_that_do_not_parse_are_error(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects back;
	struct zs_identities ids_back;
	struct zs_diags d = { 0 };
	char *path = state_file(t), *want = zs_xasprintf("%s: stored state does not parse:", path);

	write_file(path, "{\"version\":2,\"identities\":[],\"objects\":"
			 "[{\"apiVersion\":\"zeroseg.io/v1\",\"kind\":\"Gadget\"}]}\n");
	assert_int_equal(load(t->path, &back, &ids_back, &d), -EINVAL);
	assert_true(d.msgs.n >= 2);
	assert_string_equal(d.msgs.v[0], want);
	assert_non_null(strstr(d.msgs.v[1], "Gadget"));
	free(want);
	free(path);
	zs_diags_free(&d);
	zs_objects_free(&back);
	zs_identities_free(&ids_back);
}

static void test_version1_loads(void **state)
{
	struct fx_tmpdir *t = *state;
	struct zs_objects o, back;
	struct zs_identities ids, ids_back;
	struct zs_diags d = { 0 };
	char *path = state_file(t);

	estate(OBJECTS, &o, &ids);
	/* Version 1: the objects as one text string, identities as in version 2. */
	char *text = zs_objects_to_text(&o);
	json_t *root = json_pack("{s:i,s:[],s:s}", "version", 1, "identities", "objects", text);
	for (size_t i = 0; i < ids.v.n; i++)
		json_array_append_new(json_object_get(root, "identities"),
				      json_pack("{s:i,s:s,s:o}", "id", (json_int_t)ids.v.v[i].id,
						"namespace", ids.v.v[i].ns, "labels",
						zs_labels_to_json(&ids.v.v[i].labels)));
	char *s = json_dumps(root, JSON_COMPACT);
	write_file(path, s);

	assert_int_equal(load(t->path, &back, &ids_back, &d), 0);
	assert_same_objects(&o, &back);
	assert_same_identities(&ids, &ids_back);
	free(s);
	json_decref(root);
	free(text);
	free(path);
	zs_objects_free(&o);
	zs_objects_free(&back);
	zs_identities_free(&ids);
	zs_identities_free(&ids_back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_then_load, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_commit_replaces, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_state_over_one_files_bound_loads, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_prepare_that_fails_keeps_state, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_publish_makes_it_the_state, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_state, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_open_removes_stale_temporary, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_publish_that_fails_keeps_state, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_publish_that_fails_keeps_state,
						fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_empty, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_json_is_error, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_objects_that_do_not_parse_are_error,
						fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_version1_loads, fx_tmpdir_setup, fx_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
