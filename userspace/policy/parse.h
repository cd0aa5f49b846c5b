/* SPDX-License-Identifier: MIT */
/*
 * Policy files in: YAML or JSON (libyaml reads both), several documents per
 * file, native zeroseg.io/v1 kinds. Every error names file:line:col; unknown
 * fields are errors, never ignored.
 */
#ifndef ZS_PARSE_H
#define ZS_PARSE_H

#include "policy/model.h"

/* Collected error messages, each "file:line:col: text". */
struct zs_diags {
	ZS_VEC(char *) msgs;
};

void zs_diag(struct zs_diags *d, const struct zs_mark *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void zs_diags_free(struct zs_diags *d);
void zs_diags_print(const struct zs_diags *d, FILE *f);
/* A message about no place in a file (a whole transaction, a stored state): as it is. */
void zs_diag_line(struct zs_diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parses one buffer named `name` into `out` (objects are appended).
 * Returns 0, or -EINVAL with the reasons in `d`.
 */
int zs_parse_buffer(const char *name, const char *buf, size_t len, struct zs_objects *out,
		    struct zs_diags *d);

/* Like zs_parse_buffer for refs only (delete -f): kind, namespace, name. */
typedef ZS_VEC(struct zs_ref) zs_refs_t;
int zs_parse_refs(const char *name, const char *buf, size_t len, zs_refs_t *out,
		  struct zs_diags *d);
void zs_refs_free(zs_refs_t *r);

/* Cross-object checks of a whole state: duplicate addresses, interfaces. */
int zs_validate(const struct zs_objects *o, struct zs_diags *d);

#endif /* ZS_PARSE_H */
