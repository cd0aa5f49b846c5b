/* SPDX-License-Identifier: MIT */
/*
 * What an apply would change, without changing anything: the objects of a
 * batch against the state's (created, configured, unchanged), and the map
 * entries a new compile adds, removes or changes against the current one.
 * Pure: objects and compiled states in, JSON out (the `diff` answer's
 * "objects", "entries" and "changed").
 */
#ifndef ZS_DIFF_H
#define ZS_DIFF_H

#include <jansson.h>
#include <stdbool.h>

#include "policy/compile.h"
#include "policy/model.h"

/*
 * Each object of `batch` against `now`, in the batch's order (Config, then
 * namespaces, workloads, policies):
 *   [{"kind", "namespace" (none for cluster-wide kinds), "name",
 *     "change": "created" | "configured" | "unchanged"}]
 */
json_t *zs_diff_objects(const struct zs_objects *now, const struct zs_objects *batch);

/*
 * Map entries `next` would write against `now`:
 *   {"policy": {"added", "removed"},
 *    "ipcache": {"added", "removed", "changed"}, "endpoints": N}
 * counting an interface enrolled, dropped or given another identity.
 */
json_t *zs_diff_entries(const struct zs_compiled *now, const struct zs_compiled *next);

/* Would anything change: an object that is not "unchanged", a policy entry, an endpoint. */
bool zs_diff_changed(const json_t *objects, const json_t *entries);

#endif /* ZS_DIFF_H */
