/* SPDX-License-Identifier: MIT */
/*
 * Identities: one u32 per distinct label set, namespace included. Workloads
 * with the same labels share one, so policy size grows with identities, not
 * workloads. Numbers are persisted with the state, stable across restarts,
 * and reused only after release (no workload has the label set any more).
 */
#ifndef ZS_IDENTITY_H
#define ZS_IDENTITY_H

#include "policy/model.h"

struct zs_identity {
	uint32_t id;
	char *ns;
	zs_labels_t labels;
	bool used; /* scratch: referenced by the current objects */
};

/* Sorted by id. */
struct zs_identities {
	ZS_VEC(struct zs_identity) v;
};

void zs_identities_free(struct zs_identities *ids);
/* Finds the identity of (ns, labels); allocates the lowest free number if new. */
uint32_t zs_identity_get(struct zs_identities *ids, const char *ns, const zs_labels_t *labels);
/*
 * The identity of a policy CIDR (from ZS_ID_FIRST_CIDR up): stored as the
 * namespace "" with the one label ZS_CIDR_LABEL = the prefix.
 */
#define ZS_CIDR_LABEL "zeroseg.io/cidr"
uint32_t zs_identity_get_cidr(struct zs_identities *ids, const struct zs_prefix *p);
/*
 * zs_identity_get_cidr for n distinct prefixes at once (the k'th at
 * (char *)p + k * stride), the identities into out[k]: the same numbers as
 * one call after another, in O(n log n).
 */
void zs_identity_get_cidrs(struct zs_identities *ids, const struct zs_prefix *p, size_t stride,
			   size_t n, uint32_t *out);
/*
 * The identities of n CIDR membership classes by their keys (the label
 * ZS_CIDR_LABEL's value: a prefix's text for a class of inline prefixes only,
 * "PREFIX + set:NAME..." or "set:NAME + ..." once sets are in it; see
 * compile_ipcache.c), with zs_identity_get_cidrs' numbering, in O(n log n).
 */
void zs_identity_get_classes(struct zs_identities *ids, const char *const *keys, size_t n,
			     uint32_t *out);
const struct zs_identity *zs_identity_find(const struct zs_identities *ids, uint32_t id);
/* Restores a persisted identity; -EEXIST if the number or label set is taken. */
int zs_identity_restore(struct zs_identities *ids, uint32_t id, const char *ns,
			const zs_labels_t *labels);
/*
 * zs_identity_restore of each identity of `from` in turn (those refused are
 * dropped), in O(n): a persisted table of 100k CIDR identities took minutes
 * one call each. Takes `from`'s contents and leaves it empty.
 */
void zs_identities_restore_all(struct zs_identities *ids, struct zs_identities *from);
/* Drops identities not marked used since the last zs_identities_mark_unused(). */
void zs_identities_mark_unused(struct zs_identities *ids);
void zs_identities_release_unused(struct zs_identities *ids);

/* Label selector matching (Kubernetes semantics). */
bool zs_selector_matches(const struct zs_selector *s, const zs_labels_t *labels);
/* The labels a namespaceSelector sees: the Namespace object's plus
 * kubernetes.io/metadata.name, as Kubernetes sets it. */
void zs_namespace_labels(const struct zs_objects *o, const char *ns, zs_labels_t *out);
void zs_identities_clone(const struct zs_identities *src, struct zs_identities *dst);
#endif /* ZS_IDENTITY_H */
