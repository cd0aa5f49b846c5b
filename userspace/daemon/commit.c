// SPDX-License-Identifier: MIT
/*
 * Transactions: a new set of objects becomes the state in one step or not at
 * all. Validate and compile (from a copy of the identities), take one
 * snapshot of the interfaces, attach to new ones (fail closed), write the
 * maps (the writer's atomic flip), and only then replace the state and
 * persist it. A failure leaves the old policy in force and says why.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
		zs_diag(diags, NULL, "%s", err[0] ? err : strerror(-e));
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

int commit(struct daemon *d, struct zs_objects *next, struct zs_diags *diags)
{
	struct zs_identities ids;
	struct zs_compiled comp;
	struct zs_iftab ift = { 0 };
	int err = commit_prepare(d, next, &ids, &comp, diags);

	if (err)
		return err;
	/*
	 * One snapshot of the interfaces for the transaction's name lookups,
	 * taken after the compile: as close to the attach as can be (an
	 * interface that changes after it comes with its netlink event).
	 */
	if (zs_iftab_load(&ift) == 0)
		d->dp.iftab = &ift;
	err = enforce(d, &comp, diags);
	d->dp.iftab = NULL;
	zs_iftab_free(&ift);
	if (err) {
		zs_identities_free(&ids);
		zs_compiled_free(&comp);
		return err;
	}
	adopt(d, next, &ids, &comp);
	err = zs_store_commit(d->store, &d->objs, &d->ids);
	if (err)
		pr_warn("applied revision %u but could not persist it: %s", d->writer.revision,
			strerror(-err));
	return 0;
}

void commit_resync(struct daemon *d)
{
	struct zs_objects next;
	struct zs_diags diags = { 0 };

	zs_objects_copy(&d->objs, &next);
	if (commit(d, &next, &diags)) {
		pr_warn("re-sync failed:");
		zs_diags_print(&diags, stderr);
	}
	zs_objects_free(&next);
	zs_diags_free(&diags);
}
