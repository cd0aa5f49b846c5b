/* SPDX-License-Identifier: MIT */
/*
 * The `set` verb (zeroseg set add|remove|replace NAME PREFIX... / -f FILE): a change
 * to one AddressSet's members, run as a job like an apply (jobs.c: queued,
 * serialized, compiled off the loop, atomic), and what `get sets` shows.
 * For userspace/daemon/ only.
 */
#ifndef ZS_DAEMON_SETS_H
#define ZS_DAEMON_SETS_H

#include <jansson.h>
#include <stdbool.h>

#include "policy/model.h"
#include "policy/parse.h"

/*
 * In the worker: the members `req` names (ZS_K_PREFIXES, and ZS_K_FILES as
 * prefix lists) added to, removed from, or put in place of the members of
 * the set ZS_K_NAME of `next` (add and replace create it). Only what changes changes; *unchanged when nothing does.
 * Returns 0, or -EINVAL with every bad input (file:line:col) in `diags` and
 * `next` as it was. *summary: {added, removed, members}, for sets_answer.
 */
int sets_work(json_t *req, struct zs_objects *next, struct zs_diags *diags, bool *unchanged,
	      json_t **summary);
/* Adds the summary's counts to a successful answer. */
void sets_answer(json_t *resp, const json_t *summary);
/*
 * `get sets`: each set's name and member count; with ZS_K_MEMBERS in `req`
 * (or a ZS_K_NAME: that set only) its members too.
 */
json_t *sets_json(const struct zs_objects *o, json_t *req);

#endif /* ZS_DAEMON_SETS_H */
