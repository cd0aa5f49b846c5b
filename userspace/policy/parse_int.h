/* SPDX-License-Identifier: MIT */
/*
 * Private to the parser (parse.c, parse_rules.c, parse_native.c,
 * parse_k8s.c): the walker's context, inline accessors of libyaml's node
 * tree, and the helpers the native and the Kubernetes kinds share. Every
 * helper that finds a problem reports it at the node's file:line:col and
 * counts it in the context; the object being parsed is then dropped.
 * zs_yaml_* check nodes, zs_parse_* read a value or an object: private
 * despite the zs_ prefix, which every symbol of the library carries.
 */
#ifndef ZS_PARSE_INT_H
#define ZS_PARSE_INT_H

#include <string.h>
#include <yaml.h>

#include "policy/parse.h"

/* One walk over a buffer: the document being read and where errors go. */
struct pctx {
	yaml_document_t *doc;
	const char *file;
	struct zs_diags *d;
	int errors;
};

static inline struct zs_mark mark_of(struct pctx *c, yaml_node_t *n)
{
	struct zs_mark m = { .file = c->file, .line = 1, .col = 1 };

	if (n) {
		m.line = (int)n->start_mark.line + 1;
		m.col = (int)n->start_mark.column + 1;
	}
	return m;
}

static inline yaml_node_t *node(struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static inline const char *scalar_or_null(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A YAML null: `~`, `null`, or an empty plain scalar. */
static inline bool is_null(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = scalar_or_null(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null");
}

/* The value of `key` in mapping `m`, or NULL (absent, or `m` is no mapping). */
static inline yaml_node_t *get(struct pctx *c, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *ks = scalar_or_null(node(c, p->key));
		if (ks && !strcmp(ks, key))
			return node(c, p->value);
	}
	return NULL;
}

#define SEQ_FOREACH(c, seq, it, n)                                                   \
	for (yaml_node_item_t *it = (seq)->data.sequence.items.start;                \
	     it < (seq)->data.sequence.items.top && ((n) = node((c), *it), 1); it++)

static inline size_t seq_len(yaml_node_t *s)
{
	return (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
}

/* ---- parse.c: errors, node checks, metadata ------------------------------ */

/*
 * Reports libyaml's error as "syntax: ..." at its position (an undecodable
 * byte: the byte's line:col in `buf`); returns -EINVAL.
 */
int zs_yaml_syntax_err(const yaml_parser_t *p, const char *file, const char *buf, size_t len,
		       struct zs_diags *d);

void zs_yaml_err(struct pctx *c, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A non-null scalar's text, or NULL after an error naming `what`. */
const char *zs_yaml_want_scalar(struct pctx *c, yaml_node_t *n, const char *what);
bool zs_yaml_want_type(struct pctx *c, yaml_node_t *n, yaml_node_type_t t, const char *what);
/*
 * Checks that every key of mapping `m` is in `allowed` (NULL-terminated) and
 * appears once. Unknown fields are errors: a policy never half-applies.
 */
bool zs_yaml_check_keys(struct pctx *c, yaml_node_t *m, const char *what,
			const char *const *allowed);

/* An object's metadata; the strings point into the document. */
struct meta {
	const char *name;
	const char *ns; /* "default" when not given */
	yaml_node_t *labels;
};
bool zs_parse_meta(struct pctx *c, yaml_node_t *obj, struct meta *m, bool namespaced,
		   bool name_required);
/*
 * A namespaced object's metadata (name required) and its spec, a mapping of
 * `keys` only, errors naming `kind` ("Workload: spec missing"). NULL after
 * an error.
 */
yaml_node_t *zs_parse_spec(struct pctx *c, yaml_node_t *obj, struct meta *md, const char *kind,
			  const char *const *keys);

/* ---- parse_bounds.c: the bounds of parse.h, before a tree is built ------- */

/* 0 if `buf` is within every bound; else -E2BIG (or -EINVAL: a syntax error) after a diagnostic. */
int zs_yaml_bounds(const char *file, const char *buf, size_t len, struct zs_diags *d);

/* ---- parse_rules.c: the parts of a policy both syntaxes share ------------ */

/* A decimal integer in [min, max], the whole string. */
bool zs_parse_long(const char *s, long min, long max, long *out);
void zs_parse_labels(struct pctx *c, yaml_node_t *m, zs_labels_t *out, const char *what);
void zs_parse_selector(struct pctx *c, yaml_node_t *m, struct zs_selector *out, const char *what);
/* TCP, UDP, SCTP, ICMP, ICMPv6 or any, in any case. */
bool zs_parse_proto(const char *s, uint8_t *out);
void zs_parse_cidr(struct pctx *c, yaml_node_t *n, struct zs_prefix *out, const char *what);
void zs_parse_except(struct pctx *c, yaml_node_t *ex, struct zs_peer *p);
/* The start of a peer of either syntax: its mark, and a mapping of `keys` only. */
bool zs_parse_peer_open(struct pctx *c, yaml_node_t *m, struct zs_peer *p,
			const char *const *keys);
/* A peer's workload selector (named `sel_what`) and namespaceSelector, each optional. */
void zs_parse_peer_selectors(struct pctx *c, struct zs_peer *p, yaml_node_t *sel,
			     const char *sel_what, yaml_node_t *nss);

/* What a rule list of one syntax allows: its keys, its peers, its ports. */
struct zs_rule_syntax {
	const char *const *in_keys;  /* an ingress rule's fields */
	const char *const *out_keys; /* an egress rule's fields */
	void (*peer)(struct pctx *c, yaml_node_t *m, struct zs_peer *p);
	bool k8s; /* ports: TCP, UDP or SCTP only, no ICMP type and code */
};
void zs_parse_rules(struct pctx *c, yaml_node_t *seq, bool ingress,
		    const struct zs_rule_syntax *syn, struct zs_rule **out, size_t *n);

/* ---- the kinds: parse_native.c (zeroseg.io/v1), parse_k8s.c -------------- */

void zs_parse_workload(struct pctx *c, yaml_node_t *obj, struct zs_objects *out);
void zs_parse_policy(struct pctx *c, yaml_node_t *obj, struct zs_objects *out);
void zs_parse_namespace(struct pctx *c, yaml_node_t *obj, struct zs_objects *out);
void zs_parse_config(struct pctx *c, yaml_node_t *obj, struct zs_objects *out);
void zs_parse_networkpolicy(struct pctx *c, yaml_node_t *obj, struct zs_objects *out);
/* parse_sets.c */
void zs_parse_addrset(struct pctx *c, yaml_node_t *obj, struct zs_objects *out);

#endif /* ZS_PARSE_INT_H */
