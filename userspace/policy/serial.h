/* SPDX-License-Identifier: MIT */
/*
 * Objects back to their native JSON form: for the state file, `get -o json`
 * and cloning a state (serialize, then parse again with the one parser).
 */
#ifndef ZS_SERIAL_H
#define ZS_SERIAL_H

#include <jansson.h>

#include "policy/identity.h"
#include "policy/model.h"

json_t *zs_workload_to_json(const struct zs_workload *w);
json_t *zs_policy_to_json(const struct zs_policy *p);
json_t *zs_namespace_to_json(const struct zs_namespace *n);
json_t *zs_addrset_to_json(const struct zs_addrset *s);
json_t *zs_labels_to_json(const zs_labels_t *l);
/* Every object, one JSON object each, in a stable order. */
json_t *zs_objects_to_json(const struct zs_objects *o);
/* The objects as a multi-document text the parser reads back. */
char *zs_objects_to_text(const struct zs_objects *o);
/*
 * The objects as the JSON array text the state file holds (zs_objects_to_json's
 * order and form), each object's part made once and kept on the object.
 */
char *zs_objects_state_json(struct zs_objects *o);
/* The same text from an array zs_objects_to_json made (as the state file keeps it). */
char *zs_objects_json_to_text(const json_t *objects);
int zs_objects_clone(const struct zs_objects *src, struct zs_objects *dst);

#endif /* ZS_SERIAL_H */
