// SPDX-License-Identifier: MIT
/*
 * Changes off the loop. An apply, delete or diff (or a re-sync after this
 * host's addresses moved) is a job; jobs run one at a time, in the order
 * they came, so changes stay serialized and each stays atomic.
 *
 * A job's expensive part runs in a worker thread: decode a large request
 * (control.c hands over its bytes), copy the state's objects and
 * identities, parse the request's files, merge, validate, compile, and
 * prepare the new state in the store (durable, not yet published). The
 * worker reads the daemon's state (objects, identities), which the loop
 * does not change while a job runs (only job_done's adopt does, after the
 * join), and uses the store, which the loop does not touch meanwhile; it
 * touches nothing else of the daemon and no map. The loop meanwhile
 * answers status, get and flows, drains the ring buffer and handles
 * netlink (a re-created interface is enrolled under the state in force).
 * The worker signals an eventfd when done; the loop joins it and does the
 * short rest on its own thread (commit_finish: the interface snapshot,
 * attach, the writer's flip, publish in the store, adopt), answers, and
 * starts the next job. pthread_create and pthread_join order the hand-overs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "daemon/sets.h"
#include "policy/diff.h"
#include "policy/serial.h"

/* The worker's nice value (the loop's stays). */
#ifndef ZS_WORKER_NICE
#define ZS_WORKER_NICE 10
#endif

struct job {
	struct daemon *d;  /* the worker reads d->objs, d->ids and uses d->store only */
	enum zs_verb verb; /* ZS_VERB_UNKNOWN: a re-sync (or, with raw, not decoded yet) */
	int slot;          /* the client waiting, or -1 */
	uint64_t conn_id;
	json_t *req;
	char *raw;         /* a large request's bytes, decoded by the worker into req */
	size_t raw_len;
	json_t *handoff;   /* raw turned out not to be a change: the loop's to handle */
	bool resync;       /* this host's addresses moved: re-compile the state */
	/* The worker's own: copies taken when the job starts, and what it makes. */
	struct zs_objects next;
	struct zs_identities ids;
	struct zs_compiled comp;
	struct zs_compile_cache *cc; /* the daemon's, used by the worker alone while it runs */
	struct zs_store_txn *txn; /* the new state, prepared in the store */
	struct zs_diags diags;
	json_t *objects;   /* diff: the object changes */
	size_t nobjects;   /* apply, delete: how many the request named */
	bool unchanged;    /* apply, delete: the objects would stay as they are */
	int err;
	uint64_t t[5]; /* CLOCK_MONOTONIC ns: start, decoded, copied, compiled, persisted */
	int done_fd;
	pthread_t thread;
	struct job *link;
};

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

/* apply, diff: the request's files merged into the copy of the state. */
static int work_merge(struct job *j)
{
	struct zs_objects batch;
	int err;

	zs_objects_init(&batch);
	err = parse_files(j->req, &batch, NULL, &j->diags);
	if (!err) {
		j->nobjects = batch.workloads.n + batch.policies.n + batch.namespaces.n +
			      batch.sets.n + batch.has_config;
		if (j->verb == ZS_VERB_DIFF)
			j->objects = zs_diff_objects(&j->next, &batch);
		zs_objects_merge(&j->next, &batch);
	}
	zs_objects_free(&batch);
	return err;
}

/* delete: the objects named by files, or by kind, namespace and name, removed from the copy. */
static int work_remove(struct job *j)
{
	zs_refs_t refs = { 0 };
	json_t *req = j->req;

	if (json_object_get(req, ZS_K_FILES)) {
		parse_files(req, NULL, &refs, &j->diags);
	} else {
		struct zs_ref *r = ZS_VEC_PUSH(&refs);
		const char *kind = json_string_value(json_object_get(req, ZS_K_KIND)) ?: "";
		if (zs_kind_parse(kind, &r->kind))
			zs_diag(&j->diags, NULL, "unknown kind \"%s\"", kind);
		r->ns = zs_xstrdup(json_string_value(json_object_get(req, ZS_K_NAMESPACE)) ?: "default");
		r->name = zs_xstrdup(json_string_value(json_object_get(req, ZS_K_NAME)) ?: "");
	}
	for (size_t i = 0; i < refs.n && !j->diags.msgs.n; i++)
		if (zs_objects_remove(&j->next, &refs.v[i]))
			zs_diag(&j->diags, NULL, "%s %s/%s: not found", zs_kind_name(refs.v[i].kind),
				refs.v[i].ns, refs.v[i].name);
	j->nobjects = refs.n;
	zs_refs_free(&refs);
	return j->diags.msgs.n ? -EINVAL : 0;
}

/*
 * apply, delete: would the change leave the objects exactly as they are (an
 * empty file, re-applied files)? Then nothing is compiled or written and the
 * revision stays: GitOps loops re-apply constantly, and every revision
 * re-checks every established flow. `before`: the state as it serialized.
 */
static bool work_unchanged(struct job *j, const char *before)
{
	char *after = zs_objects_state_json(&j->next);
	bool same = before && after && !strcmp(before, after);

	free(after);
	return same;
}

/*
 * A large request's bytes decoded (here, off the loop). 0: a change to go
 * on with; 1: not a change (j->handoff, for the loop); -EINVAL: not a
 * request (the reason in diags).
 */
static int work_decode(struct job *j)
{
	char err[256];
	json_t *req = zs_request_decode(j->raw, j->raw_len, err, sizeof(err));

	free(j->raw);
	j->raw = NULL;
	if (!req) {
		zs_diag_line(&j->diags, "%s", err);
		return -EINVAL;
	}
	j->verb = zs_verb_parse(json_string_value(json_object_get(req, ZS_K_VERB)));
	if (j->verb != ZS_VERB_APPLY && j->verb != ZS_VERB_DELETE && j->verb != ZS_VERB_DIFF &&
	    j->verb != ZS_VERB_SET) {
		j->handoff = req;
		return 1;
	}
	j->req = req;
	return 0;
}

/* The worker thread: touches only the job, and reads the daemon's state (see above). */
static void *work(void *arg)
{
	struct job *j = arg;
	uint64_t one = 1;

	/*
	 * The loop before the worker when they contend for a CPU: status,
	 * flows and the ring buffer stay prompt under a long compile (Linux:
	 * the nice value of a thread id is that thread's alone).
	 */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), ZS_WORKER_NICE))
		pr_debug("jobs: worker priority: %s", strerror(errno));
	j->t[0] = zs_now_ns(CLOCK_MONOTONIC);
	if (j->raw && (j->err = work_decode(j)))
		goto out;
	j->t[1] = zs_now_ns(CLOCK_MONOTONIC);
	bool change = j->verb == ZS_VERB_APPLY || j->verb == ZS_VERB_DELETE;
	zs_objects_copy(&j->d->objs, &j->next);
	link_host_addrs(&j->next);
	zs_identities_clone(&j->d->ids, &j->ids);
	j->t[2] = zs_now_ns(CLOCK_MONOTONIC);
	char *before = change ? zs_objects_state_json(&j->next) : NULL;
	if (j->verb == ZS_VERB_APPLY || j->verb == ZS_VERB_DIFF)
		j->err = work_merge(j);
	else if (j->verb == ZS_VERB_DELETE)
		j->err = work_remove(j);
	else if (j->verb == ZS_VERB_SET) /* sets.c; j->objects: its summary */
		j->err = sets_work(j->req, &j->next, &j->diags, &j->unchanged, &j->objects);
	if (!j->err && change)
		j->unchanged = work_unchanged(j, before);
	free(before);
	if (!j->err && !j->unchanged)
		j->err = commit_compile(j->cc, &j->next, &j->ids, &j->comp, &j->diags);
	j->t[3] = zs_now_ns(CLOCK_MONOTONIC);
	if (!j->err && !j->unchanged && j->verb != ZS_VERB_DIFF &&
	    (j->err = commit_persist(j->d, &j->next, &j->ids, &j->txn, &j->diags)))
		zs_compiled_free(&j->comp);
	j->t[4] = zs_now_ns(CLOCK_MONOTONIC);
out:
	if (j->done_fd >= 0 && write(j->done_fd, &one, sizeof(one)) < 0)
		pr_warn("jobs: cannot wake the loop: %s", strerror(errno));
	return NULL;
}

static void job_free(struct job *j)
{
	if (j->txn)
		zs_store_abort(j->d->store, j->txn);
	free(j->raw);
	json_decref(j->handoff);
	json_decref(j->req);
	json_decref(j->objects);
	zs_objects_free(&j->next);
	zs_identities_free(&j->ids);
	zs_diags_free(&j->diags);
	free(j);
}

/* The worker's result made the state (or answered), on the loop. */
static json_t *job_finish(struct daemon *d, struct job *j)
{
	if (j->err)
		return answer_diags(&j->diags);
	if (j->verb == ZS_VERB_DIFF) {
		json_t *entries = zs_diff_entries(&d->comp, &j->comp), *objects = j->objects;
		j->objects = NULL;
		zs_compiled_free(&j->comp);
		return json_pack("{s:b,s:b,s:o,s:o}", ZS_K_OK, 1, "changed",
				 zs_diff_changed(objects, entries), "objects", objects, "entries",
				 entries);
	}
	if (j->unchanged) {
		/* Nothing to write, but a re-apply still verifies (and repairs) every hook. */
		guard_check_all(d, "apply");
		return answer_revision(d, j->nobjects, true);
	}
	struct zs_identities ids = j->ids;
	struct zs_store_txn *txn = j->txn;
	memset(&j->ids, 0, sizeof(j->ids));
	j->txn = NULL;
	if (commit_finish(d, &j->next, &ids, &j->comp, txn, &j->diags))
		return answer_diags(&j->diags);
	return answer_revision(d, j->nobjects, false);
}

/* The next job in line: its copies taken here, on the loop, then the worker. */
static void job_start(struct daemon *d)
{
	struct job *j = d->job_head;

	if (d->job_run || !j)
		return;
	d->job_head = j->link;
	if (!d->job_head)
		d->job_tail = NULL;
	d->job_run = j;
	j->cc = d->ccache;
	j->done_fd = d->job_fd;
	if (pthread_create(&j->thread, NULL, work, j)) {
		pr_warn("jobs: no worker thread; compiling on the loop");
		j->done_fd = -1;
		work(j);
		j->thread = pthread_self();
		job_done(d);
	}
}

/* Where a change's time went (said when it took a second or more, or with -v). */
static void job_report(const struct job *j, uint64_t t_loop)
{
	uint64_t now = zs_now_ns(CLOCK_MONOTONIC), ms[5];

	if (!j->t[4] || (now - j->t[0] < 1000000000ull && !zs_verbose))
		return;
	for (int i = 0; i < 4; i++)
		ms[i] = (j->t[i + 1] - j->t[i]) / 1000000;
	ms[4] = (now - t_loop) / 1000000;
	pr_info("change: %llu ms: off the loop: decode %llu, copy %llu, parse and compile %llu, persist %llu; on the loop: enforce and publish %llu",
		(unsigned long long)((now - j->t[0]) / 1000000), (unsigned long long)ms[0],
		(unsigned long long)ms[1], (unsigned long long)ms[2], (unsigned long long)ms[3],
		(unsigned long long)ms[4]);
}

void job_done(struct daemon *d)
{
	struct job *j = d->job_run;
	uint64_t n;

	if (read(d->job_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_warn("jobs: eventfd: %s", strerror(errno));
	if (!j)
		return;
	if (!pthread_equal(j->thread, pthread_self()))
		pthread_join(j->thread, NULL);
	d->job_run = NULL;
	if (j->handoff) { /* a large request that is not a change: answered as any other */
		if (j->slot >= 0 && d->conns[j->slot].id == j->conn_id && d->conns[j->slot].fd >= 0)
			handle_request(d, (unsigned)j->slot, j->handoff);
		job_free(j);
		job_start(d);
		return;
	}
	uint64_t t_loop = zs_now_ns(CLOCK_MONOTONIC);
	json_t *resp = job_finish(d, j);
	if (j->verb == ZS_VERB_SET)
		sets_answer(resp, j->objects);
	job_report(j, t_loop);
	if (j->slot >= 0 && d->conns[j->slot].id == j->conn_id && d->conns[j->slot].fd >= 0)
		control_answer(d, (unsigned)j->slot, resp);
	else
		json_decref(resp);
	if (j->resync && j->err) {
		pr_warn("re-sync failed:");
		zs_diags_print(&j->diags, stderr);
	}
	job_free(j);
	job_start(d);
}

/* Queues j (its verb, req or raw set) for the client in `slot`. */
static void job_queue(struct daemon *d, struct job *j, int slot)
{
	j->d = d;
	j->slot = slot;
	j->conn_id = slot >= 0 ? d->conns[slot].id : 0;
	zs_objects_init(&j->next);
	if (d->job_tail)
		d->job_tail->link = j;
	else
		d->job_head = j;
	d->job_tail = j;
	job_start(d);
}

void job_submit_raw(struct daemon *d, int slot, char *buf, size_t len)
{
	struct job *j = zs_xcalloc(1, sizeof(*j));

	j->verb = ZS_VERB_UNKNOWN;
	j->raw = buf;
	j->raw_len = len;
	job_queue(d, j, slot);
}

void job_submit(struct daemon *d, enum zs_verb verb, int slot, json_t *req)
{
	struct job *j;

	if (verb == ZS_VERB_UNKNOWN)
		for (j = d->job_head; j; j = j->link)
			if (j->resync)
				return; /* one queued re-sync reads the addresses when it starts */
	j = zs_xcalloc(1, sizeof(*j));
	j->verb = verb;
	j->resync = verb == ZS_VERB_UNKNOWN;
	j->req = json_incref(req);
	job_queue(d, j, slot);
}

size_t jobs_pending(const struct daemon *d)
{
	size_t n = d->job_run != NULL;

	for (const struct job *j = d->job_head; j; j = j->link)
		n++;
	return n;
}

int jobs_open(struct daemon *d)
{
	d->job_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->job_fd < 0)
		return -errno;
	return daemon_poll_add(d, d->job_fd, EPOLLIN, EV_JOB);
}

void jobs_close(struct daemon *d)
{
	struct job *j;

	if (d->job_run) { /* a compile has no cancellation point: let it end, drop it */
		pthread_join(d->job_run->thread, NULL);
		if (!d->job_run->err)
			zs_compiled_free(&d->job_run->comp);
		job_free(d->job_run);
		d->job_run = NULL;
	}
	while ((j = d->job_head)) {
		d->job_head = j->link;
		job_free(j);
	}
	d->job_tail = NULL;
	if (d->job_fd >= 0)
		close(d->job_fd);
	d->job_fd = -1;
}
