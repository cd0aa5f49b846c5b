// SPDX-License-Identifier: MIT
/*
 * YAML/JSON documents -> validated objects (model.h). Walks libyaml's document
 * tree directly so every node keeps its line and column.
 */
#define _GNU_SOURCE
#include "policy/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define ZS_MAX_DIAGS 50

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

/* ---- the document walker ---------------------------------------------- */

struct pctx {
	yaml_document_t *doc;
	const char *file;
	struct zs_diags *d;
	int errors;
};

static struct zs_mark mark_of(struct pctx *c, yaml_node_t *n)
{
	struct zs_mark m = { .file = c->file, .line = 1, .col = 1 };

	if (n) {
		m.line = (int)n->start_mark.line + 1;
		m.col = (int)n->start_mark.column + 1;
	}
	return m;
}

static void perr(struct pctx *c, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void perr(struct pctx *c, yaml_node_t *n, const char *fmt, ...)
{
	struct zs_mark m = mark_of(c, n);
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	zs_diag(c->d, &m, "%s", msg ? msg : "error");
	free(msg);
	c->errors++;
}

static yaml_node_t *node(struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *scalar_or_null(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A YAML null: `~`, `null`, or an empty plain scalar. */
static bool is_null(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = scalar_or_null(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null");
}

static const char *want_scalar(struct pctx *c, yaml_node_t *n, const char *what)
{
	const char *s = scalar_or_null(n);

	if (!s || is_null(n)) {
		perr(c, n, "%s: expected a string", what);
		return NULL;
	}
	return s;
}

static bool want_type(struct pctx *c, yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	if (n && n->type == t)
		return true;
	perr(c, n, "%s: expected %s", what,
	     t == YAML_MAPPING_NODE ? "a mapping" : t == YAML_SEQUENCE_NODE ? "a list" : "a value");
	return false;
}

/*
 * Checks that every key of mapping `m` is in `allowed` (NULL-terminated) and
 * appears once. Unknown fields are errors: a policy never half-applies.
 */
static bool check_keys(struct pctx *c, yaml_node_t *m, const char *what, const char *const *allowed)
{
	bool ok = true;

	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);
		const char *ks = scalar_or_null(k);
		bool known = false;

		if (!ks) {
			perr(c, k, "%s: keys must be strings", what);
			ok = false;
			continue;
		}
		for (const char *const *a = allowed; *a && !known; a++)
			known = !strcmp(*a, ks);
		if (!known) {
			perr(c, k, "%s: unknown field \"%s\"", what, ks);
			ok = false;
		}
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar_or_null(node(c, q->key)) ?: "", ks)) {
				perr(c, k, "%s: field \"%s\" given twice", what, ks);
				ok = false;
			}
	}
	return ok;
}

static yaml_node_t *get(struct pctx *c, yaml_node_t *m, const char *key)
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

static size_t seq_len(yaml_node_t *s)
{
	return (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	if (!s || !*s || !(isdigit((unsigned char)s[0]) || s[0] == '-'))
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Kubernetes label key/value syntax, loosely: what a selector may name. */
static bool label_ok(const char *s, size_t max, bool allow_empty)
{
	size_t n = strlen(s);

	if (n > max || (!n && !allow_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_./", s[i]))
			return false;
	return true;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("-.", s[i]))
			return false;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static void parse_labels(struct pctx *c, yaml_node_t *m, zs_labels_t *out, const char *what)
{
	if (!m || is_null(m))
		return;
	if (!want_type(c, m, YAML_MAPPING_NODE, what))
		return;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *ks = want_scalar(c, k, what);
		const char *vs = scalar_or_null(v);

		if (!ks)
			continue;
		if (!label_ok(ks, 317, false)) {
			perr(c, k, "%s: invalid label key \"%s\"", what, ks);
			continue;
		}
		if (!vs) {
			perr(c, v, "%s: label \"%s\" must have a string value", what, ks);
			continue;
		}
		if (!label_ok(vs, 63, true)) {
			perr(c, v, "%s: invalid label value \"%s\"", what, vs);
			continue;
		}
		zs_labels_set(out, ks, vs);
	}
}

static void parse_selector(struct pctx *c, yaml_node_t *m, struct zs_selector *out, const char *what)
{
	static const char *const keys[] = { "matchLabels", "matchExpressions", NULL };
	static const char *const expr_keys[] = { "key", "operator", "values", NULL };

	memset(out, 0, sizeof(*out));
	if (is_null(m))
		return;
	if (!want_type(c, m, YAML_MAPPING_NODE, what) || !check_keys(c, m, what, keys))
		return;

	zs_labels_t ml = { 0 };
	parse_labels(c, get(c, m, "matchLabels"), &ml, what);
	yaml_node_t *exprs = get(c, m, "matchExpressions"), *e;
	size_t nexpr = exprs && !is_null(exprs) &&
				       want_type(c, exprs, YAML_SEQUENCE_NODE, "matchExpressions") ?
			       seq_len(exprs) :
			       0;

	out->req = zs_xcalloc(ml.n + nexpr, sizeof(*out->req));
	for (size_t i = 0; i < ml.n; i++) {
		struct zs_requirement *r = &out->req[out->n++];
		r->key = ml.v[i].key;
		r->op = ZS_SEL_IN;
		r->nvalues = 1;
		r->values = zs_xcalloc(1, sizeof(char *));
		r->values[0] = ml.v[i].value;
	}
	free(ml.v);
	if (!nexpr)
		return;
	SEQ_FOREACH(c, exprs, it, e)
	{
		if (!want_type(c, e, YAML_MAPPING_NODE, "matchExpressions item") ||
		    !check_keys(c, e, "matchExpressions item", expr_keys))
			continue;
		const char *key = want_scalar(c, get(c, e, "key"), "matchExpressions key");
		yaml_node_t *opn = get(c, e, "operator");
		const char *op = want_scalar(c, opn, "matchExpressions operator");
		yaml_node_t *vals = get(c, e, "values"), *v;
		if (!key || !op)
			continue;
		struct zs_requirement r = { 0 };
		if (!strcmp(op, "In"))
			r.op = ZS_SEL_IN;
		else if (!strcmp(op, "NotIn"))
			r.op = ZS_SEL_NOT_IN;
		else if (!strcmp(op, "Exists"))
			r.op = ZS_SEL_EXISTS;
		else if (!strcmp(op, "DoesNotExist"))
			r.op = ZS_SEL_DOES_NOT_EXIST;
		else {
			perr(c, opn, "matchExpressions: unknown operator \"%s\" (In, NotIn, Exists, DoesNotExist)", op);
			continue;
		}
		bool need_values = r.op == ZS_SEL_IN || r.op == ZS_SEL_NOT_IN;
		bool has_values = vals && !is_null(vals);
		if (need_values && (!has_values || !want_type(c, vals, YAML_SEQUENCE_NODE, "values") ||
				    !seq_len(vals))) {
			perr(c, vals ? vals : e, "matchExpressions: operator %s needs a non-empty values list", op);
			continue;
		}
		if (!need_values && has_values) {
			perr(c, vals, "matchExpressions: operator %s takes no values", op);
			continue;
		}
		r.key = zs_xstrdup(key);
		if (need_values) {
			r.values = zs_xcalloc(seq_len(vals), sizeof(char *));
			SEQ_FOREACH(c, vals, vit, v)
			{
				const char *s = want_scalar(c, v, "values item");
				if (s)
					r.values[r.nvalues++] = zs_xstrdup(s);
			}
		}
		out->req[out->n++] = r;
	}
}

struct proto_name {
	const char *name;
	uint8_t proto;
};
static const struct proto_name protos[] = {
	{ "TCP", 6 }, { "UDP", 17 }, { "SCTP", 132 }, { "ICMP", 1 }, { "ICMPv6", 58 }, { "any", 0 },
};

static bool parse_proto(const char *s, uint8_t *out)
{
	for (size_t i = 0; i < ZS_ARRAY_SIZE(protos); i++)
		if (!strcasecmp(s, protos[i].name)) {
			*out = protos[i].proto;
			return true;
		}
	return false;
}

static void parse_port(struct pctx *c, yaml_node_t *m, struct zs_port *out, bool k8s)
{
	static const char *const keys[] = { "protocol", "port", "endPort", "type", "code", NULL };
	static const char *const k8s_keys[] = { "protocol", "port", "endPort", NULL };
	long v;

	out->mark = mark_of(c, m);
	out->proto = 6; /* a port entry without protocol means TCP */
	out->any_port = true;
	out->icmp_code = -1;
	if (!want_type(c, m, YAML_MAPPING_NODE, "ports item"))
		return;
	if (!check_keys(c, m, "ports item", k8s ? k8s_keys : keys))
		return;

	yaml_node_t *pn = get(c, m, "protocol"), *portn = get(c, m, "port");
	yaml_node_t *endn = get(c, m, "endPort"), *typen = get(c, m, "type"), *coden = get(c, m, "code");
	if (pn) {
		const char *s = want_scalar(c, pn, "protocol");
		if (s && k8s && strcmp(s, "TCP") && strcmp(s, "UDP") && strcmp(s, "SCTP"))
			perr(c, pn, "unknown protocol \"%s\" (NetworkPolicy: TCP, UDP, SCTP)", s);
		else if (s && !parse_proto(s, &out->proto))
			perr(c, pn, "unknown protocol \"%s\" (TCP, UDP, SCTP, ICMP, ICMPv6, any)", s);
	}
	bool icmp = out->proto == 1 || out->proto == 58;
	if (icmp) {
		if (portn || endn)
			perr(c, portn ? portn : endn, "%s takes type and code, not ports",
			     out->proto == 1 ? "ICMP" : "ICMPv6");
		if (typen) {
			if (!parse_long(scalar_or_null(typen), 0, 255, &v))
				perr(c, typen, "ICMP type must be 0..255");
			else {
				out->any_port = false;
				out->port = out->end = (uint16_t)v;
			}
		}
		if (coden) {
			if (!typen)
				perr(c, coden, "ICMP code needs a type");
			else if (!parse_long(scalar_or_null(coden), 0, 255, &v))
				perr(c, coden, "ICMP code must be 0..255");
			else
				out->icmp_code = (int)v;
		}
		return;
	}
	if (typen || coden)
		perr(c, typen ? typen : coden, "type and code are for ICMP and ICMPv6 only");
	if (portn) {
		const char *s = want_scalar(c, portn, "port");
		if (!s)
			return;
		if (isdigit((unsigned char)s[0]) || s[0] == '-') {
			if (!parse_long(s, 1, 65535, &v)) {
				perr(c, portn, "port must be 1..65535, got %s", s);
				return;
			}
			out->any_port = false;
			out->port = out->end = (uint16_t)v;
		} else {
			if (!label_ok(s, 15, false)) {
				perr(c, portn, "invalid port name \"%s\"", s);
				return;
			}
			out->any_port = false;
			out->name = zs_xstrdup(s);
		}
	}
	if (endn) {
		if (!portn || out->name) {
			perr(c, endn, "endPort needs a numeric port");
			return;
		}
		if (!parse_long(scalar_or_null(endn), 1, 65535, &v)) {
			perr(c, endn, "endPort must be 1..65535");
			return;
		}
		if (v < out->port) {
			perr(c, endn, "endPort %ld is below port %u", v, out->port);
			return;
		}
		out->end = (uint16_t)v;
	}
	if (out->proto == 0 && !out->any_port)
		perr(c, portn, "a port needs a protocol (TCP, UDP or SCTP), not any");
}

static void parse_cidr(struct pctx *c, yaml_node_t *n, struct zs_prefix *out, const char *what)
{
	const char *s = want_scalar(c, n, what);
	int err;

	if (!s)
		return;
	err = zs_prefix_parse(s, out, true);
	if (err == -EDOM)
		perr(c, n, "%s: \"%s\" has host bits set", what, s);
	else if (err)
		perr(c, n, "%s: \"%s\" is not an address or prefix", what, s);
}

static void parse_except(struct pctx *c, yaml_node_t *ex, struct zs_peer *p)
{
	yaml_node_t *e;

	if (!ex || is_null(ex) || !want_type(c, ex, YAML_SEQUENCE_NODE, "except"))
		return;
	p->except = zs_xcalloc(seq_len(ex), sizeof(*p->except));
	SEQ_FOREACH(c, ex, it, e)
	{
		struct zs_prefix *x = &p->except[p->nexcept];
		parse_cidr(c, e, x, "except");
		if (x->family && !zs_prefix_contains(&p->cidr, x))
			perr(c, e, "except: %s is not inside the peer's cidr", scalar_or_null(e));
		else if (x->family)
			p->nexcept++;
	}
}

static void parse_peer(struct pctx *c, yaml_node_t *m, struct zs_peer *p)
{
	static const char *const keys[] = { "selector", "namespaceSelector", "cidr", "except", "entity", NULL };

	p->mark = mark_of(c, m);
	if (!want_type(c, m, YAML_MAPPING_NODE, "peer") || !check_keys(c, m, "peer", keys))
		return;
	yaml_node_t *sel = get(c, m, "selector"), *nss = get(c, m, "namespaceSelector");
	yaml_node_t *cidr = get(c, m, "cidr"), *ex = get(c, m, "except"), *ent = get(c, m, "entity");

	if (!sel && !nss && !cidr && !ent) {
		perr(c, m, "peer: needs selector, namespaceSelector, cidr or entity");
		return;
	}
	if ((cidr || ent) && (sel || nss)) {
		perr(c, m, "peer: cidr and entity cannot be combined with selectors");
		return;
	}
	if (cidr && ent) {
		perr(c, m, "peer: give cidr or entity, not both");
		return;
	}
	if (ex && !cidr) {
		perr(c, ex, "peer: except needs a cidr");
		return;
	}
	if (sel) {
		p->has_selector = true;
		parse_selector(c, sel, &p->selector, "selector");
	}
	if (nss) {
		p->has_ns_selector = true;
		parse_selector(c, nss, &p->ns_selector, "namespaceSelector");
	}
	if (cidr) {
		p->has_cidr = true;
		parse_cidr(c, cidr, &p->cidr, "cidr");
		parse_except(c, ex, p);
	}
	if (ent) {
		const char *s = want_scalar(c, ent, "entity");
		if (s && !strcmp(s, "host"))
			p->entity = ZS_ENTITY_HOST;
		else if (s && !strcmp(s, "world"))
			p->entity = ZS_ENTITY_WORLD;
		else if (s && !strcmp(s, "all"))
			p->entity = ZS_ENTITY_ALL;
		else if (s)
			perr(c, ent, "unknown entity \"%s\" (host, world, all)", s);
	}
}

/* A NetworkPolicyPeer: podSelector, namespaceSelector (AND), or ipBlock. */
static void parse_k8s_peer(struct pctx *c, yaml_node_t *m, struct zs_peer *p)
{
	static const char *const keys[] = { "podSelector", "namespaceSelector", "ipBlock", NULL };
	static const char *const block_keys[] = { "cidr", "except", NULL };

	p->mark = mark_of(c, m);
	if (!want_type(c, m, YAML_MAPPING_NODE, "peer") || !check_keys(c, m, "peer", keys))
		return;
	yaml_node_t *sel = get(c, m, "podSelector"), *nss = get(c, m, "namespaceSelector");
	yaml_node_t *blk = get(c, m, "ipBlock");

	if (!sel && !nss && !blk) {
		perr(c, m, "peer: needs podSelector, namespaceSelector or ipBlock");
		return;
	}
	if (blk && (sel || nss)) {
		perr(c, blk, "peer: ipBlock cannot be combined with podSelector or namespaceSelector");
		return;
	}
	if (sel) {
		p->has_selector = true;
		parse_selector(c, sel, &p->selector, "podSelector");
	}
	if (nss) {
		p->has_ns_selector = true;
		parse_selector(c, nss, &p->ns_selector, "namespaceSelector");
	}
	if (blk) {
		if (!want_type(c, blk, YAML_MAPPING_NODE, "ipBlock") ||
		    !check_keys(c, blk, "ipBlock", block_keys))
			return;
		yaml_node_t *cidr = get(c, blk, "cidr");
		if (!cidr) {
			perr(c, blk, "ipBlock: cidr missing");
			return;
		}
		p->has_cidr = true;
		parse_cidr(c, cidr, &p->cidr, "ipBlock.cidr");
		if (p->cidr.family)
			parse_except(c, get(c, blk, "except"), p);
	}
}

static void parse_rules(struct pctx *c, yaml_node_t *seq, bool ingress, bool k8s,
			struct zs_rule **out, size_t *n)
{
	static const char *const in_keys[] = { "from", "ports", "action", NULL };
	static const char *const out_keys[] = { "to", "ports", "action", NULL };
	static const char *const k8s_in_keys[] = { "from", "ports", NULL };
	static const char *const k8s_out_keys[] = { "to", "ports", NULL };
	const char *what = ingress ? "ingress rule" : "egress rule";
	yaml_node_t *r;

	if (is_null(seq) || !want_type(c, seq, YAML_SEQUENCE_NODE, ingress ? "ingress" : "egress"))
		return;
	*out = zs_xcalloc(seq_len(seq), sizeof(**out));
	SEQ_FOREACH(c, seq, it, r)
	{
		struct zs_rule *rule = &(*out)[(*n)++];
		rule->mark = mark_of(c, r);
		rule->all_peers = true;
		rule->all_ports = true;
		if (!want_type(c, r, YAML_MAPPING_NODE, what))
			continue;
		check_keys(c, r, what,
			   k8s ? (ingress ? k8s_in_keys : k8s_out_keys) : (ingress ? in_keys : out_keys));
		yaml_node_t *peers = get(c, r, ingress ? "from" : "to"), *ports = get(c, r, "ports");
		yaml_node_t *act = get(c, r, "action"), *e;

		if (peers && !is_null(peers) &&
		    want_type(c, peers, YAML_SEQUENCE_NODE, ingress ? "from" : "to") && seq_len(peers)) {
			rule->all_peers = false;
			rule->peers = zs_xcalloc(seq_len(peers), sizeof(*rule->peers));
			SEQ_FOREACH(c, peers, pit, e)
			{
				if (k8s)
					parse_k8s_peer(c, e, &rule->peers[rule->npeers++]);
				else
					parse_peer(c, e, &rule->peers[rule->npeers++]);
			}
		}
		if (ports && !is_null(ports) && want_type(c, ports, YAML_SEQUENCE_NODE, "ports") &&
		    seq_len(ports)) {
			rule->all_ports = false;
			rule->ports = zs_xcalloc(seq_len(ports), sizeof(*rule->ports));
			SEQ_FOREACH(c, ports, pit, e)
			parse_port(c, e, &rule->ports[rule->nports++], k8s);
		}
		if (act) {
			const char *s = want_scalar(c, act, "action");
			if (s && !strcasecmp(s, "allow"))
				rule->action = ZS_ACTION_ALLOW;
			else if (s && !strcasecmp(s, "deny"))
				rule->action = ZS_ACTION_DENY;
			else if (s)
				perr(c, act, "unknown action \"%s\" (allow, deny)", s);
		}
	}
}

struct meta {
	const char *name;
	const char *ns;
	yaml_node_t *labels;
};

static bool parse_meta(struct pctx *c, yaml_node_t *obj, struct meta *m, bool namespaced,
		       bool name_required)
{
	static const char *const keys[] = { "name", "namespace", "labels", "annotations", NULL };
	yaml_node_t *md = get(c, obj, "metadata");

	memset(m, 0, sizeof(*m));
	m->ns = "default";
	if (!md) {
		if (name_required)
			perr(c, obj, "metadata: missing");
		return !name_required;
	}
	if (!want_type(c, md, YAML_MAPPING_NODE, "metadata") || !check_keys(c, md, "metadata", keys))
		return false;
	yaml_node_t *nn = get(c, md, "name"), *nsn = get(c, md, "namespace");
	if (nn) {
		m->name = want_scalar(c, nn, "metadata.name");
		if (m->name && !name_ok(m->name)) {
			perr(c, nn, "metadata.name: \"%s\" must be lower-case letters, digits, '-' or '.'", m->name);
			m->name = NULL;
		}
	}
	if (!m->name && name_required) {
		if (!nn)
			perr(c, md, "metadata.name: missing");
		return false;
	}
	if (nsn) {
		if (!namespaced) {
			perr(c, nsn, "metadata.namespace: this kind is not namespaced");
			return false;
		}
		m->ns = want_scalar(c, nsn, "metadata.namespace");
		if (!m->ns)
			return false;
		if (!name_ok(m->ns)) {
			perr(c, nsn, "metadata.namespace: \"%s\" must be lower-case letters, digits, '-' or '.'", m->ns);
			return false;
		}
	}
	m->labels = get(c, md, "labels");
	return true;
}

static void parse_workload(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "interface", "addresses", "ports", "floodShield", NULL };
	static const char *const port_keys[] = { "name", "port", "protocol", NULL };
	struct meta md;
	yaml_node_t *spec = get(c, obj, "spec"), *e;
	int before = c->errors;

	if (!parse_meta(c, obj, &md, true, true))
		return;
	if (!spec) {
		perr(c, obj, "Workload: spec missing");
		return;
	}
	if (!want_type(c, spec, YAML_MAPPING_NODE, "spec") || !check_keys(c, spec, "Workload spec", keys))
		return;

	struct zs_workload w = { .name = zs_xstrdup(md.name), .ns = zs_xstrdup(md.ns) };
	w.mark = mark_of(c, obj);
	parse_labels(c, md.labels, &w.labels, "metadata.labels");

	yaml_node_t *ifn = get(c, spec, "interface");
	if (ifn && !is_null(ifn)) {
		const char *s = want_scalar(c, ifn, "interface");
		if (s && (strlen(s) >= 16 || !*s || strchr(s, '/') || strchr(s, ' ')))
			perr(c, ifn, "interface: \"%s\" is not a valid interface name", s);
		else if (s)
			w.ifname = zs_xstrdup(s);
	}
	yaml_node_t *sh = get(c, spec, "floodShield");
	if (sh) {
		const char *v = want_scalar(c, sh, "floodShield");
		if (v && !strcmp(v, "true"))
			w.shield = true;
		else if (v && strcmp(v, "false"))
			perr(c, sh, "floodShield: want true or false");
		if (w.shield && !w.ifname)
			perr(c, sh, "floodShield: needs an interface (a remote workload has none here)");
	}
	yaml_node_t *addrs = get(c, spec, "addresses");
	if (!addrs || is_null(addrs)) {
		perr(c, spec, "Workload: spec.addresses missing: a workload needs at least one address");
	} else if (want_type(c, addrs, YAML_SEQUENCE_NODE, "addresses")) {
		if (!seq_len(addrs))
			perr(c, addrs, "Workload: spec.addresses is empty");
		w.addrs = zs_xcalloc(seq_len(addrs), sizeof(*w.addrs));
		SEQ_FOREACH(c, addrs, it, e)
		{
			struct zs_prefix *p = &w.addrs[w.naddrs];
			parse_cidr(c, e, p, "address");
			if (p->family)
				w.naddrs++;
		}
	}
	yaml_node_t *ports = get(c, spec, "ports");
	if (ports && !is_null(ports) && want_type(c, ports, YAML_SEQUENCE_NODE, "ports")) {
		w.ports = zs_xcalloc(seq_len(ports), sizeof(*w.ports));
		SEQ_FOREACH(c, ports, it, e)
		{
			long v;
			uint8_t proto = 6;
			if (!want_type(c, e, YAML_MAPPING_NODE, "ports item") ||
			    !check_keys(c, e, "Workload port", port_keys))
				continue;
			const char *name = want_scalar(c, get(c, e, "name"), "port name");
			yaml_node_t *pn = get(c, e, "port"), *prn = get(c, e, "protocol");
			if (!name)
				continue;
			if (!parse_long(scalar_or_null(pn), 1, 65535, &v)) {
				perr(c, pn ? pn : e, "port must be 1..65535");
				continue;
			}
			if (prn && !parse_proto(want_scalar(c, prn, "protocol") ?: "", &proto)) {
				perr(c, prn, "unknown protocol");
				continue;
			}
			struct zs_named_port *np = &w.ports[w.nports++];
			np->name = zs_xstrdup(name);
			np->port = (uint16_t)v;
			np->proto = proto;
		}
	}
	if (c->errors != before) {
		zs_workload_free(&w);
		return;
	}
	*ZS_VEC_PUSH(&out->workloads) = w;
}

static void parse_policy(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "selector", "ingress", "egress", "mode", NULL };
	struct meta md;
	yaml_node_t *spec = get(c, obj, "spec");
	int before = c->errors;

	if (!parse_meta(c, obj, &md, true, true))
		return;
	if (!spec) {
		perr(c, obj, "Policy: spec missing");
		return;
	}
	if (!want_type(c, spec, YAML_MAPPING_NODE, "spec") || !check_keys(c, spec, "Policy spec", keys))
		return;

	struct zs_policy p = { .name = zs_xstrdup(md.name), .ns = zs_xstrdup(md.ns) };
	p.mark = mark_of(c, obj);
	yaml_node_t *sel = get(c, spec, "selector");
	if (!sel)
		perr(c, spec, "Policy: spec.selector missing ({} selects every workload of the namespace)");
	else
		parse_selector(c, sel, &p.selector, "selector");
	yaml_node_t *in = get(c, spec, "ingress"), *eg = get(c, spec, "egress");
	p.has_ingress = in != NULL;
	p.has_egress = eg != NULL;
	if (in)
		parse_rules(c, in, true, false, &p.ingress, &p.ningress);
	if (eg)
		parse_rules(c, eg, false, false, &p.egress, &p.negress);
	yaml_node_t *mode = get(c, spec, "mode");
	if (mode) {
		const char *s = want_scalar(c, mode, "mode");
		if (s && !strcmp(s, "audit"))
			p.mode = ZS_MODE_AUDIT;
		else if (s && strcmp(s, "enforce"))
			perr(c, mode, "unknown mode \"%s\" (enforce, audit)", s);
	}
	if (!in && !eg)
		perr(c, spec, "Policy: needs ingress or egress");
	if (c->errors != before) {
		zs_policy_free(&p);
		return;
	}
	*ZS_VEC_PUSH(&out->policies) = p;
}

/*
 * networking.k8s.io/v1 NetworkPolicy with upstream semantics: policyTypes
 * defaults to Ingress, plus Egress when egress rules are given; a listed type
 * isolates its direction even with no rules (`ingress: []` allows nothing).
 */
static void parse_networkpolicy(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "podSelector", "policyTypes", "ingress", "egress", NULL };
	struct meta md;
	yaml_node_t *spec = get(c, obj, "spec"), *e;
	int before = c->errors;

	if (!parse_meta(c, obj, &md, true, true))
		return;
	if (!spec) {
		perr(c, obj, "NetworkPolicy: spec missing");
		return;
	}
	if (!want_type(c, spec, YAML_MAPPING_NODE, "spec") ||
	    !check_keys(c, spec, "NetworkPolicy spec", keys))
		return;

	struct zs_policy p = { .name = zs_xstrdup(md.name), .ns = zs_xstrdup(md.ns), .from_k8s = true };
	p.mark = mark_of(c, obj);
	yaml_node_t *sel = get(c, spec, "podSelector");
	if (!sel)
		perr(c, spec, "NetworkPolicy: spec.podSelector missing ({} selects every pod of the namespace)");
	else
		parse_selector(c, sel, &p.selector, "podSelector");
	yaml_node_t *in = get(c, spec, "ingress"), *eg = get(c, spec, "egress");
	yaml_node_t *types = get(c, spec, "policyTypes");
	bool has_in_rules = in && !is_null(in) && in->type == YAML_SEQUENCE_NODE && seq_len(in);
	bool has_eg_rules = eg && !is_null(eg) && eg->type == YAML_SEQUENCE_NODE && seq_len(eg);
	/* As upstream's defaulting: an absent or empty policyTypes means Ingress, plus
	 * Egress when there are egress rules (`egress: []` adds nothing). */
	if (types && !is_null(types) &&
	    !(types->type == YAML_SEQUENCE_NODE && !seq_len(types))) {
		if (want_type(c, types, YAML_SEQUENCE_NODE, "policyTypes")) {
			SEQ_FOREACH(c, types, it, e)
			{
				const char *t = want_scalar(c, e, "policyTypes item");
				if (t && !strcmp(t, "Ingress"))
					p.has_ingress = true;
				else if (t && !strcmp(t, "Egress"))
					p.has_egress = true;
				else if (t)
					perr(c, e, "policyTypes: unknown type \"%s\" (Ingress, Egress)", t);
			}
		}
		/* Rules for a type the policy does not have would be ignored: say so. */
		if (has_in_rules && !p.has_ingress)
			perr(c, in, "ingress: rules given but policyTypes does not list Ingress");
		if (has_eg_rules && !p.has_egress)
			perr(c, eg, "egress: rules given but policyTypes does not list Egress");
	} else {
		p.has_ingress = true;
		p.has_egress = has_eg_rules;
	}
	if (in && !is_null(in))
		parse_rules(c, in, true, true, &p.ingress, &p.ningress);
	if (eg && !is_null(eg))
		parse_rules(c, eg, false, true, &p.egress, &p.negress);
	if (c->errors != before) {
		zs_policy_free(&p);
		return;
	}
	*ZS_VEC_PUSH(&out->policies) = p;
}

static void parse_namespace(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	struct meta md;
	int before = c->errors;

	if (!parse_meta(c, obj, &md, false, true))
		return;
	if (get(c, obj, "spec"))
		perr(c, get(c, obj, "spec"), "Namespace: takes no spec");
	struct zs_namespace n = { .name = zs_xstrdup(md.name) };
	n.mark = mark_of(c, obj);
	parse_labels(c, md.labels, &n.labels, "metadata.labels");
	if (c->errors != before) {
		zs_namespace_free(&n);
		return;
	}
	*ZS_VEC_PUSH(&out->namespaces) = n;
}

static void parse_config(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "posture", NULL };
	struct meta md;
	yaml_node_t *spec = get(c, obj, "spec");

	if (!parse_meta(c, obj, &md, false, false))
		return;
	if (!spec || !want_type(c, spec, YAML_MAPPING_NODE, "spec") ||
	    !check_keys(c, spec, "Config spec", keys)) {
		if (!spec)
			perr(c, obj, "Config: spec missing");
		return;
	}
	yaml_node_t *pn = get(c, spec, "posture");
	const char *s = pn ? want_scalar(c, pn, "posture") : "deny";
	if (!s)
		return;
	if (!strcmp(s, "deny"))
		out->posture = ZS_POSTURE_DENY;
	else if (!strcmp(s, "kubernetes"))
		out->posture = ZS_POSTURE_KUBERNETES;
	else {
		perr(c, pn, "unknown posture \"%s\" (deny, kubernetes)", s);
		return;
	}
	out->has_config = true;
}

/* The header every object has; returns the kind or -1 after an error. */
static int parse_header(struct pctx *c, yaml_node_t *obj)
{
	static const char *const keys[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	enum zs_kind kind;

	if (!want_type(c, obj, YAML_MAPPING_NODE, "document"))
		return -1;
	if (!check_keys(c, obj, "object", keys))
		return -1;
	yaml_node_t *av = get(c, obj, "apiVersion"), *kn = get(c, obj, "kind");
	if (!av) {
		perr(c, obj, "apiVersion: missing (zeroseg.io/v1 or networking.k8s.io/v1)");
		return -1;
	}
	if (!kn) {
		perr(c, obj, "kind: missing");
		return -1;
	}
	const char *a = want_scalar(c, av, "apiVersion"), *k = want_scalar(c, kn, "kind");
	if (!a || !k)
		return -1;
	bool native = !strcmp(a, "zeroseg.io/v1"), k8s = !strcmp(a, "networking.k8s.io/v1");
	if (!native && !k8s) {
		perr(c, av, "apiVersion: unknown \"%s\" (zeroseg.io/v1 or networking.k8s.io/v1)", a);
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
	else if (k8s && !strcmp(k, "NetworkPolicy"))
		kind = ZS_KIND_NETWORKPOLICY;
	else {
		perr(c, kn, "kind: \"%s\" is not a kind of %s", k, a);
		return -1;
	}
	return (int)kind;
}

typedef void (*doc_fn)(struct pctx *c, yaml_node_t *root, void *arg);

static int walk_documents(const char *name, const char *buf, size_t len, struct zs_diags *d,
			  doc_fn fn, void *arg)
{
	yaml_parser_t parser;
	struct pctx c = { .file = name, .d = d };

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			struct zs_mark m = { .file = name,
					     .line = (int)parser.problem_mark.line + 1,
					     .col = (int)parser.problem_mark.column + 1 };
			zs_diag(d, &m, "syntax: %s%s%s", parser.problem ? parser.problem : "invalid YAML",
				parser.context ? " " : "", parser.context ? parser.context : "");
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
		parse_workload(c, root, out);
		break;
	case ZS_KIND_POLICY:
		parse_policy(c, root, out);
		break;
	case ZS_KIND_NAMESPACE:
		parse_namespace(c, root, out);
		break;
	case ZS_KIND_CONFIG:
		parse_config(c, root, out);
		break;
	case ZS_KIND_NETWORKPOLICY:
		parse_networkpolicy(c, root, out);
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
	if (!parse_meta(c, root, &md, kind != ZS_KIND_NAMESPACE && kind != ZS_KIND_CONFIG,
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

struct owner_ref {
	const char *ifname;            /* or NULL */
	const struct zs_prefix *addr;  /* or NULL */
	size_t w;                      /* workload index */
};

static int cmp_ifname_ref(const void *a, const void *b)
{
	const struct owner_ref *x = a, *y = b;
	int r = strcmp(x->ifname, y->ifname);
	return r ? r : (x->w > y->w) - (x->w < y->w);
}

static int cmp_addr_ref(const void *a, const void *b)
{
	const struct owner_ref *x = a, *y = b;
	int r = zs_prefix_cmp(x->addr, y->addr);
	return r ? r : (x->w > y->w) - (x->w < y->w);
}

/*
 * No two workloads share an interface or an address. Sorted, so a 10k
 * workload estate validates in milliseconds; the later workload (in file
 * order) is the one reported.
 */
int zs_validate(const struct zs_objects *o, struct zs_diags *d)
{
	ZS_VEC(struct owner_ref) ifs = { 0 }, addrs = { 0 };
	int errors = 0;

	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		if (w->ifname)
			*ZS_VEC_PUSH(&ifs) = (struct owner_ref){ .ifname = w->ifname, .w = i };
		for (size_t a = 0; a < w->naddrs; a++)
			*ZS_VEC_PUSH(&addrs) = (struct owner_ref){ .addr = &w->addrs[a], .w = i };
	}
	qsort(ifs.v, ifs.n, sizeof(*ifs.v), cmp_ifname_ref);
	qsort(addrs.v, addrs.n, sizeof(*addrs.v), cmp_addr_ref);
	for (size_t i = 1; i < ifs.n; i++) {
		size_t first = i - 1;
		while (i < ifs.n && !strcmp(ifs.v[i].ifname, ifs.v[first].ifname)) {
			const struct zs_workload *a = &o->workloads.v[ifs.v[i].w];
			const struct zs_workload *b = &o->workloads.v[ifs.v[first].w];
			zs_diag(d, &a->mark, "Workload %s/%s: interface %s is already %s/%s's", a->ns,
				a->name, a->ifname, b->ns, b->name);
			errors++;
			i++;
		}
	}
	for (size_t i = 1; i < addrs.n; i++) {
		size_t first = i - 1;
		while (i < addrs.n && !zs_prefix_cmp(addrs.v[i].addr, addrs.v[first].addr)) {
			const struct zs_workload *a = &o->workloads.v[addrs.v[i].w];
			const struct zs_workload *b = &o->workloads.v[addrs.v[first].w];
			char buf[64];
			zs_diag(d, &a->mark, "Workload %s/%s: address %s is already %s/%s's", a->ns,
				a->name, zs_prefix_str(addrs.v[i].addr, buf, sizeof(buf)), b->ns, b->name);
			errors++;
			i++;
		}
	}
	free(ifs.v);
	free(addrs.v);
	return errors ? -EINVAL : 0;
}
