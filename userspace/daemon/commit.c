// SPDX-License-Identifier: MIT
/*
 * Transactions: a new set of objects becomes the state in one step or not at
 * all. Validate and compile (from a copy of the identities), take one
 * snapshot of the interfaces, attach to new ones (fail closed), write the
 * maps (the writer's atomic flip), and only then replace the state and
 * persist it. A failure leaves the old policy in force and says why.
 *
 * The compile (commit_compile) is a pure function of its arguments, so a
 * change runs it in the worker thread (jobs.c) over copies; the rest
 * (commit_finish) touches the kernel and the state and runs on the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_int.h"

int commit_compile(struct zs_objects *next, struct zs_identities *ids, struct zs_compiled *comp,
		   struct zs_diags *diags)
{
	int err = zs_validate(next, diags);

	return err ? err : zs_compile(next, ids, comp, diags);
}

int commit_prepare(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		   struct zs_compiled *comp, struct zs_diags *diags)
{
	int err;

	zs_identities_clone(&d->ids, ids);
	link_host_addrs(next);
	err = commit_compile(next, ids, comp, diags);
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

int commit_finish(struct daemon *d, struct zs_objects *next, struct zs_identities *ids,
		  struct zs_compiled *comp, struct zs_diags *diags)
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
	d->dp.iftab = NULL;
	zs_iftab_free(&ift);
	if (err) {
		zs_identities_free(ids);
		zs_compiled_free(comp);
		return err;
	}
	adopt(d, next, ids, comp);
	err = zs_store_commit(d->store, &d->objs, &d->ids);
	if (err)
		pr_warn("applied revision %u but could not persist it: %s", d->writer.revision,
			strerror(-err));
	return 0;
}

int commit(struct daemon *d, struct zs_objects *next, struct zs_diags *diags)
{
	struct zs_identities ids;
	struct zs_compiled comp;
	int err = commit_prepare(d, next, &ids, &comp, diags);

	return err ? err : commit_finish(d, next, &ids, &comp, diags);
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
