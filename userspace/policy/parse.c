// SPDX-License-Identifier: MIT
/*
 * YAML/JSON documents -> objects (model.h): the entry points of parse.h and
 * what every kind needs. Walks libyaml's document tree directly so every
 * node keeps its line and column; collects diagnostics as file:line:col;
 * checks node types and field names, reads each object's header (apiVersion,
 * kind) and metadata, and hands the object to its kind's parser:
 * parse_native.c (Workload, Policy, Namespace, Config), parse_sets.c
 * (AddressSet, and plain prefix lists) or parse_k8s.c (NetworkPolicy). What their rules share is in parse_rules.c; the checks
 * across objects in validate.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse_int.h"
#include "util/text.h"

#define ZS_MAX_DIAGS 50

/* Where a cut of `s` at `n` bytes or fewer does not split a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t n)
{
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Appends up to `n` bytes of `s` to `out` (holding `*o`), short of ZS_MAX_DIAG_LEN; false if cut. */
static bool append(char *out, size_t *o, const char *s, size_t n)
{
	bool whole = *o + n <= ZS_MAX_DIAG_LEN;

	n = whole ? n : utf8_cut(s, ZS_MAX_DIAG_LEN - *o);
	memcpy(out + *o, s, n);
	*o += n;
	return whole;
}

/*
 * `msg` with every quoted value longer than ZS_MAX_QUOTE bytes cut to that
 * many and "...", and the whole cut to ZS_MAX_DIAG_LEN: a message never
 * repeats a large value in full. Frees `msg`.
 */
static char *clip_message(char *msg)
{
	char *out = zs_xcalloc(ZS_MAX_DIAG_LEN + 4, 1);
	const char *p = msg;
	size_t o = 0;
	bool whole = true;

	while (*p && whole) {
		const char *q = *p == '"' ? strchr(p + 1, '"') : NULL;
		size_t n = q ? (size_t)(q - p) + 1 : 1; /* a quoted value with its quotes, or one byte */
		if (q && n - 2 > ZS_MAX_QUOTE) {
			whole = append(out, &o, p, 1 + utf8_cut(p + 1, ZS_MAX_QUOTE)) &&
				append(out, &o, "...\"", 4);
		} else {
			whole = append(out, &o, p, n);
		}
		p += n;
	}
	if (!whole)
		strcpy(out + o, "...");
	free(msg);
	return out;
}

void zs_diag(struct zs_diags *d, const struct zs_mark *m, const char *fmt, ...)
{
	char *msg, **slot;
	va_list ap;

	if (d->msgs.n >= ZS_MAX_DIAGS)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg)
		msg = clip_message(msg);
	slot = ZS_VEC_PUSH(&d->msgs);
	*slot = zs_xasprintf("%s:%d:%d: %s", m && m->file ? m->file : "<input>", m ? m->line : 0,
			     m ? m->col : 0, msg ? msg : "error");
	free(msg);
}

void zs_diags_free(struct zs_diags *d)
{
	for (size_t i = 0; i < d->msgs.n; i++)
		free(d->msgs.v[i]);
	free(d->msgs.v);
	memset(d, 0, sizeof(*d));
}

void zs_diags_print(const struct zs_diags *d, FILE *f)
{
	for (size_t i = 0; i < d->msgs.n; i++)
		fprintf(f, "%s\n", d->msgs.v[i]);
}

void zs_diag_line(struct zs_diags *d, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	*ZS_VEC_PUSH(&d->msgs) = msg ? msg : zs_xstrdup("error");
}

/* ---- node checks -------------------------------------------------------- */

void zs_yaml_err(struct pctx *c, yaml_node_t *n, const char *fmt, ...)
{
	struct zs_mark m = mark_of(c, n);
	char *msg;
	va_list ap;

	c->errors++;
	if (c->d->msgs.n >= ZS_MAX_DIAGS)
		return; /* counted, but not formatted: a file of a million errors costs no more than one */
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	zs_diag(c->d, &m, "%s", msg ? msg : "error");
	free(msg);
}

const char *zs_yaml_want_scalar(struct pctx *c, yaml_node_t *n, const char *what)
{
	const char *s = scalar_or_null(n);

	if (!s || is_null(n)) {
		zs_yaml_err(c, n, "%s: expected a string", what);
		return NULL;
	}
	return s;
}

bool zs_yaml_want_type(struct pctx *c, yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	if (n && n->type == t)
		return true;
	zs_yaml_err(c, n, "%s: expected %s", what,
		    t == YAML_MAPPING_NODE ? "a mapping" : t == YAML_SEQUENCE_NODE ? "a list" : "a value");
	return false;
}

bool zs_yaml_check_keys(struct pctx *c, yaml_node_t *m, const char *what,
			const char *const *allowed)
{
	uint64_t seen = 0; /* the allowed keys met so far: linear in the keys, whatever their number */
	bool ok = true;

	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);
		const char *ks = scalar_or_null(k);
		int a = 0;

		if (!ks) {
			zs_yaml_err(c, k, "%s: keys must be strings", what);
			ok = false;
			continue;
		}
		while (allowed[a] && strcmp(allowed[a], ks))
			a++;
		if (!allowed[a]) {
			zs_yaml_err(c, k, "%s: unknown field \"%s\"", what, ks);
			ok = false;
		} else if (seen & (1ull << a)) {
			zs_yaml_err(c, k, "%s: field \"%s\" given twice", what, ks);
			ok = false;
		}
		seen |= a < 64 ? 1ull << a : 0;
	}
	return ok;
}

/* ---- objects: header and metadata --------------------------------------- */

/* An object name: lower-case letters, digits, '-' and '.', alphanumeric at both ends. */
bool zs_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("-.", s[i]))
			return false;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

bool zs_parse_meta(struct pctx *c, yaml_node_t *obj, struct meta *m, bool namespaced,
		   bool name_required)
{
	static const char *const keys[] = { "name", "namespace", "labels", "annotations", NULL };
	yaml_node_t *md = get(c, obj, "metadata");

	memset(m, 0, sizeof(*m));
	m->ns = "default";
	if (!md) {
		if (name_required)
			zs_yaml_err(c, obj, "metadata: missing");
		return !name_required;
	}
	if (!zs_yaml_want_type(c, md, YAML_MAPPING_NODE, "metadata") ||
	    !zs_yaml_check_keys(c, md, "metadata", keys))
		return false;
	yaml_node_t *nn = get(c, md, "name"), *nsn = get(c, md, "namespace");
	if (nn) {
		m->name = zs_yaml_want_scalar(c, nn, "metadata.name");
		if (m->name && !zs_name_ok(m->name)) {
			zs_yaml_err(c, nn, "metadata.name: \"%s\" must be lower-case letters, digits, '-' or '.'", m->name);
			m->name = NULL;
		}
	}
	if (!m->name && name_required) {
		if (!nn)
			zs_yaml_err(c, md, "metadata.name: missing");
		return false;
	}
	if (nsn) {
		if (!namespaced) {
			zs_yaml_err(c, nsn, "metadata.namespace: this kind is not namespaced");
			return false;
		}
		m->ns = zs_yaml_want_scalar(c, nsn, "metadata.namespace");
		if (!m->ns)
			return false;
		if (!zs_name_ok(m->ns)) {
			zs_yaml_err(c, nsn, "metadata.namespace: \"%s\" must be lower-case letters, digits, '-' or '.'", m->ns);
			return false;
		}
	}
	m->labels = get(c, md, "labels");
	return true;
}

/* The header every object has; returns the kind or -1 after an error. */
static int parse_header(struct pctx *c, yaml_node_t *obj)
{
	static const char *const keys[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	enum zs_kind kind;

	if (!zs_yaml_want_type(c, obj, YAML_MAPPING_NODE, "document"))
		return -1;
	if (!zs_yaml_check_keys(c, obj, "object", keys))
		return -1;
	yaml_node_t *av = get(c, obj, "apiVersion"), *kn = get(c, obj, "kind");
	if (!av) {
		zs_yaml_err(c, obj, "apiVersion: missing (zeroseg.io/v1 or networking.k8s.io/v1)");
		return -1;
	}
	if (!kn) {
		zs_yaml_err(c, obj, "kind: missing");
		return -1;
	}
	const char *a = zs_yaml_want_scalar(c, av, "apiVersion");
	const char *k = zs_yaml_want_scalar(c, kn, "kind");
	if (!a || !k)
		return -1;
	bool native = !strcmp(a, "zeroseg.io/v1"), k8s = !strcmp(a, "networking.k8s.io/v1");
	if (!native && !k8s) {
		zs_yaml_err(c, av, "apiVersion: unknown \"%s\" (zeroseg.io/v1 or networking.k8s.io/v1)", a);
		return -1;
	}
	if (native && !strcmp(k, "Workload"))
		kind = ZS_KIND_WORKLOAD;
	else if (native && !strcmp(k, "Policy"))
		kind = ZS_KIND_POLICY;
	else if (native && !strcmp(k, "Namespace"))
		kind = ZS_KIND_NAMESPACE;
	else if (native && !strcmp(k, "Config"))
		kind = ZS_KIND_CONFIG;
	else if (native && !strcmp(k, "AddressSet"))
		kind = ZS_KIND_ADDRESSSET;
	else if (k8s && !strcmp(k, "NetworkPolicy"))
		kind = ZS_KIND_NETWORKPOLICY;
	else {
		zs_yaml_err(c, kn, "kind: \"%s\" is not a kind of %s", k, a);
		return -1;
	}
	return (int)kind;
}

yaml_node_t *zs_parse_spec(struct pctx *c, yaml_node_t *obj, struct meta *md, const char *kind,
			  const char *const *keys)
{
	yaml_node_t *spec = get(c, obj, "spec");
	char what[32];

	if (!zs_parse_meta(c, obj, md, true, true))
		return NULL;
	if (!spec) {
		zs_yaml_err(c, obj, "%s: spec missing", kind);
		return NULL;
	}
	snprintf(what, sizeof(what), "%s spec", kind);
	if (!zs_yaml_want_type(c, spec, YAML_MAPPING_NODE, "spec") ||
	    !zs_yaml_check_keys(c, spec, what, keys))
		return NULL;
	return spec;
}

/* ---- the document walker and the entry points --------------------------- */

typedef void (*doc_fn)(struct pctx *c, yaml_node_t *root, void *arg);

int zs_yaml_syntax_err(const yaml_parser_t *p, const char *file, const char *buf, size_t len,
		       struct zs_diags *d)
{
	struct zs_mark m = { .file = file, .line = (int)p->problem_mark.line + 1,
			     .col = (int)p->problem_mark.column + 1 };

	if (p->error == YAML_READER_ERROR) {
		size_t off = p->problem_offset < len ? p->problem_offset : len;
		zs_text_pos(buf, off, &m.line, &m.col);
		if (p->problem_value != -1)
			zs_diag(d, &m, "not valid UTF-8 text: %s (byte 0x%02x at offset %zu)",
				p->problem ? p->problem : "undecodable", (unsigned)p->problem_value & 0xff, off);
		else
			zs_diag(d, &m, "not valid UTF-8 text: %s (at offset %zu)",
				p->problem ? p->problem : "undecodable", off);
		return -EINVAL;
	}
	zs_diag(d, &m, "syntax: %s%s%s", p->problem ? p->problem : "invalid YAML",
		p->context ? " " : "", p->context ? p->context : "");
	return -EINVAL;
}

static int walk_documents(const char *name, const char *buf, size_t len, struct zs_diags *d,
			  doc_fn fn, void *arg)
{
	yaml_parser_t parser;
	struct pctx c = { .file = name, .d = d };

	if (zs_yaml_bounds(name, buf, len, d))
		return -EINVAL;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			zs_yaml_syntax_err(&parser, name, buf, len, d);
			c.errors++;
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		c.doc = &doc;
		if (!is_null(root))
			fn(&c, root, arg);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return c.errors ? -EINVAL : 0;
}

static void objects_doc(struct pctx *c, yaml_node_t *root, void *arg)
{
	struct zs_objects *out = arg;

	switch (parse_header(c, root)) {
	case ZS_KIND_WORKLOAD:
		zs_parse_workload(c, root, out);
		break;
	case ZS_KIND_POLICY:
		zs_parse_policy(c, root, out);
		break;
	case ZS_KIND_NAMESPACE:
		zs_parse_namespace(c, root, out);
		break;
	case ZS_KIND_CONFIG:
		zs_parse_config(c, root, out);
		break;
	case ZS_KIND_NETWORKPOLICY:
		zs_parse_networkpolicy(c, root, out);
		break;
	case ZS_KIND_ADDRESSSET:
		zs_parse_addrset(c, root, out);
		break;
	default:
		break;
	}
}

int zs_parse_buffer(const char *name, const char *buf, size_t len, struct zs_objects *out,
		    struct zs_diags *d)
{
	const char *fname = zs_objects_file(out, name);
	struct zs_objects batch;
	int err;

	zs_objects_init(&batch);
	err = walk_documents(fname, buf, len, d, objects_doc, &batch);
	if (!err)
		err = zs_validate(&batch, d);
	/* Within one batch a later object of the same name replaces an earlier one. */
	if (!err)
		zs_objects_merge(out, &batch);
	zs_objects_free(&batch);
	return err;
}

static void refs_doc(struct pctx *c, yaml_node_t *root, void *arg)
{
	zs_refs_t *out = arg;
	int kind = parse_header(c, root);
	struct meta md;

	if (kind < 0)
		return;
	if (!zs_parse_meta(c, root, &md,
			   kind != ZS_KIND_NAMESPACE && kind != ZS_KIND_CONFIG &&
				   kind != ZS_KIND_ADDRESSSET,
			   kind != ZS_KIND_CONFIG))
		return;
	struct zs_ref *r = ZS_VEC_PUSH(out);
	r->kind = (enum zs_kind)kind;
	r->ns = zs_xstrdup(md.ns);
	r->name = zs_xstrdup(md.name ? md.name : "");
}

int zs_parse_refs(const char *name, const char *buf, size_t len, zs_refs_t *out, struct zs_diags *d)
{
	return walk_documents(name, buf, len, d, refs_doc, out);
}

void zs_refs_free(zs_refs_t *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].ns);
		free(r->v[i].name);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

