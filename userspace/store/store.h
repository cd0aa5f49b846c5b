/* SPDX-License-Identifier: MIT */
/*
 * The daemon's persistent state behind one small interface: the objects
 * (workloads, policies, namespaces, config) and the identity numbers given
 * to their label sets, loaded once at start and committed after every
 * transaction. A commit has two steps around the moment the kernel starts
 * enforcing the new state, so that nothing is enforced that is not durable:
 * prepare (everything that can fail for want of room or access, done so
 * that publishing cannot fail for it), then publish or abort. A back end is an ops table; the first is a file under the
 * state directory (store/file.c). A fleet back end (etcd) keeps the same
 * behind the same ops, so nothing here assumes a local file: a store names
 * itself for messages, and changes made elsewhere come through watch().
 *
 * Functions return 0 or -errno. A store is used by one thread at a time
 * (the daemon: the job worker prepares, the loop publishes, handed over by
 * the worker's join).
 */
#ifndef ZS_STORE_H
#define ZS_STORE_H

#include "policy/identity.h"
#include "policy/model.h"
#include "policy/parse.h" /* struct zs_diags */

struct zs_store;
struct zs_store_txn; /* a prepared state, the back end's own */

struct zs_store_ops {
	/*
	 * Adds the stored objects to `objs` and restores the stored identity
	 * numbers into `ids`. Nothing stored yet is no error: both stay as
	 * they were. On failure `diags` holds the lines a person reads, the
	 * first saying what failed, any after it the reasons.
	 */
	int (*load)(struct zs_store *s, struct zs_objects *objs, struct zs_identities *ids,
		    struct zs_diags *diags);
	/*
	 * Gets (objs, ids) ready to become the stored state, durably (the file:
	 * written and fsynced beside the state; a full disk or a write error
	 * fails here), without it being the stored state yet. On failure
	 * nothing changed and *txn is NULL. `objs` is not const: an object's
	 * stored text may be made once and kept on it (objects are replaced,
	 * never changed in place).
	 */
	int (*prepare)(struct zs_store *s, struct zs_objects *objs, const struct zs_identities *ids,
		       struct zs_store_txn **txn);
	/*
	 * Makes the prepared state the stored state in one step (the file:
	 * rename, fsync the directory). On failure the store still holds the
	 * state before. Frees txn either way.
	 */
	int (*publish)(struct zs_store *s, struct zs_store_txn *txn);
	/* Discards a prepared state; the stored one is untouched. Frees txn. */
	void (*abort)(struct zs_store *s, struct zs_store_txn *txn);
	/*
	 * Changes others make (the other nodes of a fleet): *fd is a descriptor
	 * the caller's loop polls, readable when load() would give a newer
	 * state, or -1 when no one else writes to this store (the file).
	 */
	int (*watch)(struct zs_store *s, int *fd);
	/* Releases the store (NULL-safe through zs_store_close). */
	void (*close)(struct zs_store *s);
};

/* Embedded first in each back end's own struct. */
struct zs_store {
	const struct zs_store_ops *ops;
	const char *name; /* where the state lives, for messages: a path, a URL */
};

static inline int zs_store_load(struct zs_store *s, struct zs_objects *objs,
				struct zs_identities *ids, struct zs_diags *diags)
{
	return s->ops->load(s, objs, ids, diags);
}

static inline int zs_store_prepare(struct zs_store *s, struct zs_objects *objs,
				   const struct zs_identities *ids, struct zs_store_txn **txn)
{
	return s->ops->prepare(s, objs, ids, txn);
}

static inline int zs_store_publish(struct zs_store *s, struct zs_store_txn *txn)
{
	return s->ops->publish(s, txn);
}

/* NULL-safe. */
static inline void zs_store_abort(struct zs_store *s, struct zs_store_txn *txn)
{
	if (txn)
		s->ops->abort(s, txn);
}

/* prepare then publish: (objs, ids) become the stored state, all or nothing. */
static inline int zs_store_commit(struct zs_store *s, struct zs_objects *objs,
				  const struct zs_identities *ids)
{
	struct zs_store_txn *txn;
	int err = zs_store_prepare(s, objs, ids, &txn);

	return err ? err : zs_store_publish(s, txn);
}

static inline int zs_store_watch(struct zs_store *s, int *fd)
{
	return s->ops->watch(s, fd);
}

static inline void zs_store_close(struct zs_store *s)
{
	if (s)
		s->ops->close(s);
}

/*
 * The file back end: a snapshot, DIR/state.json (DIR made 0700 if missing),
 * and an append log of the changes since, DIR/state.log, both 0600. A
 * commit writes only what changed, as one log record (prepare: the record,
 * fdatasynced; publish: its COMMIT mark, fdatasynced); when the log would
 * pass twice the state's size, or a change is most of the state, the
 * commit writes a new snapshot instead (prepare: a temporary file written
 * and fsynced; publish: rename, fsync DIR, empty the log). Snapshot format
 * version 3:
 *   {"version": 3, "seq": N, "identities": [{id, namespace, labels}], "objects": [...]}
 * the objects in their native JSON form; versions 2 (no log yet: taken
 * over as the snapshot) and 1 (objects as one text string) still load.
 * Load replays the log's committed changes after N; a torn or damaged
 * record ends it (log.h). Opening removes temporaries a killed daemon left
 * (the caller is the directory's only user: the daemon holds its lock).
 * The store knows objects only as the texts zs_objects_state_json makes,
 * so a new kind of object needs no change here.
 */
int zs_store_file_open(struct zs_store **out, const char *dir);

#endif /* ZS_STORE_H */
