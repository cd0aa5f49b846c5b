/* SPDX-License-Identifier: MIT */
/*
 * Policy files in: YAML or JSON (libyaml reads both), several documents per
 * file, native zeroseg.io/v1 kinds. Every error names file:line:col; unknown
 * fields are errors, never ignored.
 */
#ifndef ZS_PARSE_H
#define ZS_PARSE_H

#include "policy/model.h"

/*
 * Bounds on the work one policy file may cost, whatever it holds: each is
 * refused with the file:line:col of the node that crosses it, after work
 * proportional to the bound, not to what the input would expand to.
 */
#ifndef ZS_MAX_POLICY_BYTES
#define ZS_MAX_POLICY_BYTES (16u << 20) /* one file (or stdin), in bytes */
#endif
#ifndef ZS_MAX_DEPTH
#define ZS_MAX_DEPTH 64 /* nested lists and mappings (a policy needs about 8) */
#endif
#ifndef ZS_MAX_NODES
#define ZS_MAX_NODES (4u << 20) /* nodes of one file, each alias counted as what it expands to */
#endif
#ifndef ZS_MAX_ALIAS_NODES
#define ZS_MAX_ALIAS_NODES 100000 /* of those, nodes that aliases expand to, in one file */
#endif
#ifndef ZS_MAX_ANCHORS
#define ZS_MAX_ANCHORS 256 /* anchors in one document */
#endif
#ifndef ZS_MAX_LABELS
#define ZS_MAX_LABELS 256 /* labels of one set (a workload's, a matchLabels) */
#endif
#ifndef ZS_MAX_QUOTE
#define ZS_MAX_QUOTE 80 /* bytes of a quoted value shown in a message, then "..." */
#endif
#ifndef ZS_MAX_DIAG_LEN
#define ZS_MAX_DIAG_LEN 1024 /* bytes of one message */
#endif

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

/* An object name: lower-case letters, digits, '-' and '.', alphanumeric at both ends. */
bool zs_name_ok(const char *s);

/*
 * A prefix list (`zeroseg set add -f FILE`): one address or prefix a line;
 * blank lines and `#` comments (whole-line or after the prefix) ignored.
 * Appends to `out`; returns 0, or -EINVAL with every bad line as
 * "file:line:col: ..." in `d` (and `out` as it was).
 */
typedef ZS_VEC(struct zs_prefix) zs_prefixes_t;
int zs_parse_prefix_list(const char *name, const char *buf, size_t len, zs_prefixes_t *out,
			 struct zs_diags *d);
/* One prefix of a command line (`set add NAME PREFIX...`), named "argument N" in errors. */
int zs_parse_prefix_arg(const char *s, size_t index, struct zs_prefix *out, struct zs_diags *d);

/* Cross-object checks of a whole state: duplicate addresses, interfaces. */
int zs_validate(const struct zs_objects *o, struct zs_diags *d);

#endif /* ZS_PARSE_H */
