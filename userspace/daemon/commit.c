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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/serial.h"

#include "daemon/daemon_int.h"

int commit_prepare(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		   struct zs_compiled *comp, struct zs_diags *diags)
{
	int err = zs_validate(next, diags);

	if (err)
		return err;
	zs_identities_clone(&d->ids, ids);
	link_host_addrs(next);
	err = zs_compile(next, ids, comp, diags);
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

/* Would `next` change nothing: its objects serialize exactly as the state's. */
static bool unchanged(struct daemon *d, struct zs_objects *next)
{
	char *now = zs_objects_state_json(&d->objs), *then = zs_objects_state_json(next);
	bool same = now && then && !strcmp(now, then);

	free(now);
	free(then);
	return same;
}

/*
 * Compile `next`, enforce it, make it the state. `durable`: it goes to the
 * store (prepared before the flip, published after); else it is what the
 * store holds already (restore, re-sync), and only identity numbers the
 * compile added are written, after, at best.
 */
static int transact(struct daemon *d, struct zs_objects *next, bool durable, struct zs_diags *diags)
{
	struct zs_identities ids;
	struct zs_compiled comp;
	struct zs_iftab ift = { 0 };
	struct zs_store_txn *txn = NULL;
	int err = commit_prepare(d, next, &ids, &comp, diags);

	if (err)
		return err;
	if (durable && (err = zs_store_prepare(d->store, next, &ids, &txn))) {
		zs_diag_line(diags, "cannot write the state (%s: %s): not applied; the old policy stays in force",
			     d->store->name, strerror(-err));
		goto err_comp;
	}
	/*
	 * One snapshot of the interfaces for the transaction's name lookups,
	 * taken after the compile: as close to the attach as can be (an
	 * interface that changes after it comes with its netlink event).
	 */
	if (zs_iftab_load(&ift) == 0)
		d->dp.iftab = &ift;
	err = enforce(d, &comp, diags);
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
	if (err)
		goto err_comp;
	bool new_ids = ids.v.n != d->ids.v.n;
	adopt(d, next, &ids, &comp);
	if (!durable && new_ids && (err = zs_store_commit(d->store, &d->objs, &d->ids)))
		pr_warn("could not store the identity numbers of revision %u: %s", d->writer.revision,
			strerror(-err));
	return 0;

err_comp:
	zs_store_abort(d->store, txn);
	zs_identities_free(&ids);
	zs_compiled_free(&comp);
	return err;
}

int commit(struct daemon *d, struct zs_objects *next, struct zs_diags *diags)
{
	if (unchanged(d, next))
		return COMMIT_UNCHANGED;
	return transact(d, next, true, diags);
}

int commit_stored(struct daemon *d, struct zs_objects *next, struct zs_diags *diags)
{
	return transact(d, next, false, diags);
}

void commit_resync(struct daemon *d)
{
	struct zs_objects next;
	struct zs_diags diags = { 0 };

	zs_objects_copy(&d->objs, &next);
	if (commit_stored(d, &next, &diags)) {
		pr_warn("re-sync failed:");
		zs_diags_print(&diags, stderr);
	}
	zs_objects_free(&next);
	zs_diags_free(&diags);
}
