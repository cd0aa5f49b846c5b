// SPDX-License-Identifier: MIT
/*
 * Transactions: a new set of objects becomes the state in one step or not at
 * all. Validate and compile (from a copy of the identities), prepare the new
 * state in the store (durable, not yet the stored state: a full disk fails
 * here, before anything is enforced), take one snapshot of the interfaces,
 * attach to new ones (fail closed), write the maps (the writer's atomic
 * flip), publish the state in the store, and only then replace the state in
 * memory. A failure before the flip discards the prepared state; a publish
 * that fails after it puts the old compiled state back into the maps. So
 * nothing is enforced that a restart would not enforce again, and a failure
 * leaves the old policy in force, in the kernel and in the store, and says why.
 *
 * The compile (commit_compile) is a pure function of its arguments, so a
 * change runs it in the worker thread (jobs.c) over copies, and then the
 * store's prepare (commit_persist: the store is the worker's while a job
 * runs); the rest (commit_finish) touches the kernel, the store's publish
 * and the state, on the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"

int commit_compile(struct zs_compile_cache *cc, struct zs_objects *next, struct zs_identities *ids,
		   struct zs_compiled *comp, struct zs_diags *diags)
{
	int err = zs_validate(next, diags);

	if (err)
		return err;
	return cc ? zs_compile_cached(cc, next, ids, comp, diags) : zs_compile(next, ids, comp, diags);
}

int commit_prepare(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		   struct zs_compiled *comp, struct zs_diags *diags)
{
	int err;

	zs_identities_clone(&d->ids, ids);
	link_host_addrs(next);
	err = commit_compile(d->ccache, next, ids, comp, diags);
	if (err)
		zs_identities_free(ids);
	return err;
}

/* Attaches and writes the maps (under the transaction's interface snapshot). */
static int enforce(struct daemon *d, struct zs_compiled *comp, struct zs_diags *diags)
{
	char err[512] = "";
	int e = link_attach_all(d, comp, err, sizeof(err));

	if (!e)
		e = zs_writer_apply(&d->writer, comp, err, sizeof(err));
	if (e) {
		zs_diag_line(diags, "%s", err[0] ? err : strerror(-e));
		/*
		 * Off again what only the new state enrolled. Before a state is
		 * adopted (the restore at start) there is no "old" to fall back
		 * to: the programs just attached read the pinned maps, which still
		 * hold the last enforced policy, so they stay (detaching would open
		 * every interface).
		 */
		if (d->adopted)
			link_detach_stale(d, &d->comp);
		return e;
	}
	link_detach_stale(d, comp);
	link_shields_sync(d, comp);
	return 0;
}

/* The new state replaces the old (moved in; `next` is left empty). */
static void adopt(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		  struct zs_compiled *comp)
{
	zs_objects_free(&d->objs);
	d->objs = *next;
	zs_objects_init(next);
	zs_identities_free(&d->ids);
	d->ids = *ids;
	zs_compiled_free(&d->comp);
	d->comp = *comp;
	zs_compile_cache_adopted(d->ccache); /* the cache's last compile is the state now */
	d->adopted = true;
	d->last_apply = time(NULL);
}

/*
 * The flip happened but the new state could not be published: the old
 * compiled state goes back into the maps (a new revision, the old policy).
 */
static void unflip(struct daemon *d, struct zs_diags *diags)
{
	struct zs_diags why = { 0 };

	if (enforce(d, &d->comp, &why) == 0) {
		zs_diag_line(diags, "not applied; the old policy stays in force (revision %u)",
			     d->writer.revision);
	} else {
		pr_warn("could not put the old policy back into the kernel: %s",
			why.msgs.n ? why.msgs.v[0] : "?");
		zs_diag_line(diags, "and putting the old policy back failed (%s): the kernel enforces the new one until the next apply or restart",
			     why.msgs.n ? why.msgs.v[0] : "?");
	}
	zs_diags_free(&why);
}

int commit_persist(struct daemon *d, struct zs_objects *next, const struct zs_identities *ids,
		   struct zs_store_txn **txn, struct zs_diags *diags)
{
	int err = zs_store_prepare(d->store, next, ids, txn);

	if (err)
		zs_diag_line(diags, "cannot write the state (%s: %s): not applied; the old policy stays in force",
			     d->store->name, strerror(-err));
	return err;
}

/*
 * Enforces the state prepared in the store (txn; NULL: what the store holds
 * already) under one snapshot of the interfaces, then publishes it (or puts
 * the old policy back). Takes txn. 0 or -errno.
 */
static int enforce_durably(struct daemon *d, struct zs_compiled *comp, struct zs_store_txn *txn,
			   struct zs_diags *diags)
{
	struct zs_iftab ift = { 0 };
	int err;

	/*
	 * One snapshot of the interfaces for the transaction's name lookups,
	 * taken after the compile: as close to the attach as can be (an
	 * interface that changes after it comes with its netlink event).
	 */
	if (zs_iftab_load(&ift) == 0)
		d->dp.iftab = &ift;
	err = enforce(d, comp, diags);
	if (!err && txn) {
		err = zs_store_publish(d->store, txn);
		txn = NULL;
		if (err) {
			zs_diag_line(diags, "cannot write the state (%s: %s)", d->store->name, strerror(-err));
			unflip(d, diags);
		}
	}
	d->dp.iftab = NULL;
	zs_iftab_free(&ift);
	zs_store_abort(d->store, txn);
	return err;
}

int commit_finish(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		  struct zs_compiled *comp, struct zs_store_txn *txn, struct zs_diags *diags)
{
	bool durable = txn != NULL;
	int err = enforce_durably(d, comp, txn, diags);

	if (err) {
		zs_identities_free(ids);
		zs_compiled_free(comp);
		return err;
	}
	bool new_ids = ids->v.n != d->ids.v.n;
	adopt(d, next, ids, comp);
	/* The stored objects as they were, with identity numbers the compile added. */
	if (!durable && new_ids && (err = zs_store_commit(d->store, &d->objs, &d->ids)))
		pr_warn("could not store the identity numbers of revision %u: %s", d->writer.revision,
			strerror(-err));
	return 0;
}

int commit_stored(struct daemon *d, struct zs_objects *next, struct zs_diags *diags)
{
	struct zs_identities ids;
	struct zs_compiled comp;
	int err = commit_prepare(d, next, &ids, &comp, diags);

	return err ? err : commit_finish(d, next, &ids, &comp, NULL, diags);
}

/*
 * Interfaces came or went: the state in force enforced again at once, on
 * the loop (attach to the new, off the gone: no compile, so a re-created
 * interface is enrolled even while a change compiles). This host's
 * addresses moved: the host identity needs a compile, queued as a change.
 */
void commit_resync(struct daemon *d)
{
	struct zs_objects now = { 0 };
	struct zs_diags diags = { 0 };
	struct zs_iftab ift = { 0 };

	if (zs_iftab_load(&ift) == 0)
		d->dp.iftab = &ift;
	if (enforce(d, &d->comp, &diags)) {
		pr_warn("re-sync failed:");
		zs_diags_print(&diags, stderr);
	}
	d->dp.iftab = NULL;
	zs_iftab_free(&ift);
	zs_diags_free(&diags);
	link_host_addrs(&now);
	if (now.host_addrs.n != d->objs.host_addrs.n ||
	    memcmp(now.host_addrs.v, d->objs.host_addrs.v,
		   now.host_addrs.n * sizeof(*now.host_addrs.v)))
		job_submit(d, ZS_VERB_UNKNOWN, -1, NULL);
	free(now.host_addrs.v);
}
