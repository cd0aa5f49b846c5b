// SPDX-License-Identifier: MIT
/*
 * The parts of a policy that the native Policy and the Kubernetes
 * NetworkPolicy share: label maps, label selectors (matchLabels and
 * matchExpressions), ports (numbers, ranges, names, ICMP type and code),
 * CIDRs with their except lists, the common start of a peer, and the walk
 * over a rule list, told by a struct zs_rule_syntax what each syntax allows.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/parse_int.h"

/* ---- scalars and labels ------------------------------------------------- */

bool zs_parse_long(const char *s, long min, long max, long *out)
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

/* A map of label key -> value (a workload's, a namespace's, a matchLabels). */
void zs_parse_labels(struct pctx *c, yaml_node_t *m, zs_labels_t *out, const char *what)
{
	if (!m || is_null(m))
		return;
	if (!zs_yaml_want_type(c, m, YAML_MAPPING_NODE, what))
		return;
	/* Each label is inserted in order: a bound keeps a set's cost from growing as its square. */
	if (m->data.mapping.pairs.top - m->data.mapping.pairs.start > ZS_MAX_LABELS) {
		zs_yaml_err(c, m, "%s: more than %d labels", what, ZS_MAX_LABELS);
		return;
	}
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *ks = zs_yaml_want_scalar(c, k, what);
		const char *vs = scalar_or_null(v);

		if (!ks)
			continue;
		if (!label_ok(ks, 317, false)) {
			zs_yaml_err(c, k, "%s: invalid label key \"%s\"", what, ks);
			continue;
		}
		if (!vs) {
			zs_yaml_err(c, v, "%s: label \"%s\" must have a string value", what, ks);
			continue;
		}
		if (!label_ok(vs, 63, true)) {
			zs_yaml_err(c, v, "%s: invalid label value \"%s\"", what, vs);
			continue;
		}
		zs_labels_set(out, ks, vs);
	}
}

/* One matchExpressions item into `out`; false when it adds none (after an error). */
static bool parse_expression(struct pctx *c, yaml_node_t *e, struct zs_requirement *out)
{
	static const char *const expr_keys[] = { "key", "operator", "values", NULL };

	if (!zs_yaml_want_type(c, e, YAML_MAPPING_NODE, "matchExpressions item") ||
	    !zs_yaml_check_keys(c, e, "matchExpressions item", expr_keys))
		return false;
	const char *key = zs_yaml_want_scalar(c, get(c, e, "key"), "matchExpressions key");
	yaml_node_t *opn = get(c, e, "operator");
	const char *op = zs_yaml_want_scalar(c, opn, "matchExpressions operator");
	yaml_node_t *vals = get(c, e, "values"), *v;
	if (!key || !op)
		return false;
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
		zs_yaml_err(c, opn, "matchExpressions: unknown operator \"%s\" (In, NotIn, Exists, DoesNotExist)", op);
		return false;
	}
	bool need_values = r.op == ZS_SEL_IN || r.op == ZS_SEL_NOT_IN;
	bool has_values = vals && !is_null(vals);
	if (need_values &&
	    (!has_values || !zs_yaml_want_type(c, vals, YAML_SEQUENCE_NODE, "values") ||
	     !seq_len(vals))) {
		zs_yaml_err(c, vals ? vals : e, "matchExpressions: operator %s needs a non-empty values list", op);
		return false;
	}
	if (!need_values && has_values) {
		zs_yaml_err(c, vals, "matchExpressions: operator %s takes no values", op);
		return false;
	}
	r.key = zs_xstrdup(key);
	if (need_values) {
		r.values = zs_xcalloc(seq_len(vals), sizeof(char *));
		SEQ_FOREACH(c, vals, vit, v)
		{
			const char *s = zs_yaml_want_scalar(c, v, "values item");
			if (s)
				r.values[r.nvalues++] = zs_xstrdup(s);
		}
	}
	*out = r;
	return true;
}

/* A label selector: matchLabels become In requirements of one value each. */
void zs_parse_selector(struct pctx *c, yaml_node_t *m, struct zs_selector *out, const char *what)
{
	static const char *const keys[] = { "matchLabels", "matchExpressions", NULL };

	memset(out, 0, sizeof(*out));
	if (is_null(m))
		return;
	if (!zs_yaml_want_type(c, m, YAML_MAPPING_NODE, what) ||
	    !zs_yaml_check_keys(c, m, what, keys))
		return;

	zs_labels_t ml = { 0 };
	zs_parse_labels(c, get(c, m, "matchLabels"), &ml, what);
	yaml_node_t *exprs = get(c, m, "matchExpressions"), *e;
	size_t nexpr = 0;
	if (exprs && !is_null(exprs) &&
	    zs_yaml_want_type(c, exprs, YAML_SEQUENCE_NODE, "matchExpressions"))
		nexpr = seq_len(exprs);

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
		struct zs_requirement r;
		if (parse_expression(c, e, &r))
			out->req[out->n++] = r;
	}
}

/* ---- ports --------------------------------------------------------------- */

struct proto_name {
	const char *name;
	uint8_t proto;
};
static const struct proto_name protos[] = {
	{ "TCP", 6 }, { "UDP", 17 }, { "SCTP", 132 }, { "ICMP", 1 }, { "ICMPv6", 58 }, { "any", 0 },
};

bool zs_parse_proto(const char *s, uint8_t *out)
{
	for (size_t i = 0; i < ZS_ARRAY_SIZE(protos); i++)
		if (!strcasecmp(s, protos[i].name)) {
			*out = protos[i].proto;
			return true;
		}
	return false;
}

/* ICMP and ICMPv6 match a type and, given one, a code; never ports. */
static void parse_icmp(struct pctx *c, struct zs_port *out, yaml_node_t *portn, yaml_node_t *endn,
		       yaml_node_t *typen, yaml_node_t *coden)
{
	long v;

	if (portn || endn)
		zs_yaml_err(c, portn ? portn : endn, "%s takes type and code, not ports",
			    out->proto == 1 ? "ICMP" : "ICMPv6");
	if (typen) {
		if (!zs_parse_long(scalar_or_null(typen), 0, 255, &v))
			zs_yaml_err(c, typen, "ICMP type must be 0..255");
		else {
			out->any_port = false;
			out->port = out->end = (uint16_t)v;
		}
	}
	if (coden) {
		if (!typen)
			zs_yaml_err(c, coden, "ICMP code needs a type");
		else if (!zs_parse_long(scalar_or_null(coden), 0, 255, &v))
			zs_yaml_err(c, coden, "ICMP code must be 0..255");
		else
			out->icmp_code = (int)v;
	}
}

/* `port` (a number or a name) and `endPort` (a number); false after an error. */
static bool parse_port_range(struct pctx *c, struct zs_port *out, yaml_node_t *portn,
			     yaml_node_t *endn)
{
	long v;

	if (portn) {
		const char *s = zs_yaml_want_scalar(c, portn, "port");
		if (!s)
			return false;
		if (isdigit((unsigned char)s[0]) || s[0] == '-') {
			if (!zs_parse_long(s, 1, 65535, &v)) {
				zs_yaml_err(c, portn, "port must be 1..65535, got %s", s);
				return false;
			}
			out->any_port = false;
			out->port = out->end = (uint16_t)v;
		} else {
			if (!label_ok(s, 15, false)) {
				zs_yaml_err(c, portn, "invalid port name \"%s\"", s);
				return false;
			}
			out->any_port = false;
			out->name = zs_xstrdup(s);
		}
	}
	if (endn) {
		if (!portn || out->name) {
			zs_yaml_err(c, endn, "endPort needs a numeric port");
			return false;
		}
		if (!zs_parse_long(scalar_or_null(endn), 1, 65535, &v)) {
			zs_yaml_err(c, endn, "endPort must be 1..65535");
			return false;
		}
		if (v < out->port) {
			zs_yaml_err(c, endn, "endPort %ld is below port %u", v, out->port);
			return false;
		}
		out->end = (uint16_t)v;
	}
	return true;
}

/* A ports item; the Kubernetes syntax knows no ICMP and no protocol `any`. */
static void parse_port(struct pctx *c, yaml_node_t *m, struct zs_port *out, bool k8s)
{
	static const char *const keys[] = { "protocol", "port", "endPort", "type", "code", NULL };
	static const char *const k8s_keys[] = { "protocol", "port", "endPort", NULL };

	out->mark = mark_of(c, m);
	out->proto = 6; /* a port entry without protocol means TCP */
	out->any_port = true;
	out->icmp_code = -1;
	if (!zs_yaml_want_type(c, m, YAML_MAPPING_NODE, "ports item"))
		return;
	if (!zs_yaml_check_keys(c, m, "ports item", k8s ? k8s_keys : keys))
		return;

	yaml_node_t *pn = get(c, m, "protocol"), *portn = get(c, m, "port");
	yaml_node_t *endn = get(c, m, "endPort"), *typen = get(c, m, "type"), *coden = get(c, m, "code");
	if (pn) {
		const char *s = zs_yaml_want_scalar(c, pn, "protocol");
		if (s && k8s && strcmp(s, "TCP") && strcmp(s, "UDP") && strcmp(s, "SCTP"))
			zs_yaml_err(c, pn, "unknown protocol \"%s\" (NetworkPolicy: TCP, UDP, SCTP)", s);
		else if (s && !zs_parse_proto(s, &out->proto))
			zs_yaml_err(c, pn, "unknown protocol \"%s\" (TCP, UDP, SCTP, ICMP, ICMPv6, any)", s);
	}
	if (out->proto == 1 || out->proto == 58) {
		parse_icmp(c, out, portn, endn, typen, coden);
		return;
	}
	if (typen || coden)
		zs_yaml_err(c, typen ? typen : coden, "type and code are for ICMP and ICMPv6 only");
	if (!parse_port_range(c, out, portn, endn))
		return;
	if (out->proto == 0 && !out->any_port)
		zs_yaml_err(c, portn, "a port needs a protocol (TCP, UDP or SCTP), not any");
}

/* ---- peers and rules ----------------------------------------------------- */

/* An address or prefix, host bits clear. */
void zs_parse_cidr(struct pctx *c, yaml_node_t *n, struct zs_prefix *out, const char *what)
{
	const char *s = zs_yaml_want_scalar(c, n, what);
	int err;

	if (!s)
		return;
	err = zs_prefix_parse(s, out, true);
	if (err == -EDOM)
		zs_yaml_err(c, n, "%s: \"%s\" has host bits set", what, s);
	else if (err)
		zs_yaml_err(c, n, "%s: \"%s\" is not an address or prefix", what, s);
}

/* A peer's except list: prefixes inside its cidr, which must be parsed first. */
void zs_parse_except(struct pctx *c, yaml_node_t *ex, struct zs_peer *p)
{
	yaml_node_t *e;

	if (!ex || is_null(ex) || !zs_yaml_want_type(c, ex, YAML_SEQUENCE_NODE, "except"))
		return;
	p->except = zs_xcalloc(seq_len(ex), sizeof(*p->except));
	SEQ_FOREACH(c, ex, it, e)
	{
		struct zs_prefix *x = &p->except[p->nexcept];
		zs_parse_cidr(c, e, x, "except");
		if (x->family && !zs_prefix_contains(&p->cidr, x))
			zs_yaml_err(c, e, "except: %s is not inside the peer's cidr", scalar_or_null(e));
		else if (x->family)
			p->nexcept++;
	}
}

/* The start of a peer of either syntax: its mark, and a mapping of `keys` only. */
bool zs_parse_peer_open(struct pctx *c, yaml_node_t *m, struct zs_peer *p,
			const char *const *keys)
{
	p->mark = mark_of(c, m);
	return zs_yaml_want_type(c, m, YAML_MAPPING_NODE, "peer") &&
	       zs_yaml_check_keys(c, m, "peer", keys);
}

/* Both syntaxes AND a workload selector with a namespaceSelector. */
void zs_parse_peer_selectors(struct pctx *c, struct zs_peer *p, yaml_node_t *sel,
			     const char *sel_what, yaml_node_t *nss)
{
	if (sel) {
		p->has_selector = true;
		zs_parse_selector(c, sel, &p->selector, sel_what);
	}
	if (nss) {
		p->has_ns_selector = true;
		zs_parse_selector(c, nss, &p->ns_selector, "namespaceSelector");
	}
}

/*
 * An ingress or egress rule list. `syn` says which fields a rule may have and
 * parses its peers; the rest (ports, action, an empty or absent list meaning
 * all) is the same in both syntaxes.
 */
void zs_parse_rules(struct pctx *c, yaml_node_t *seq, bool ingress,
		    const struct zs_rule_syntax *syn, struct zs_rule **out, size_t *n)
{
	const char *what = ingress ? "ingress rule" : "egress rule";
	yaml_node_t *r;

	if (is_null(seq) ||
	    !zs_yaml_want_type(c, seq, YAML_SEQUENCE_NODE, ingress ? "ingress" : "egress"))
		return;
	*out = zs_xcalloc(seq_len(seq), sizeof(**out));
	SEQ_FOREACH(c, seq, it, r)
	{
		struct zs_rule *rule = &(*out)[(*n)++];
		rule->mark = mark_of(c, r);
		rule->all_peers = true;
		rule->all_ports = true;
		if (!zs_yaml_want_type(c, r, YAML_MAPPING_NODE, what))
			continue;
		zs_yaml_check_keys(c, r, what, ingress ? syn->in_keys : syn->out_keys);
		yaml_node_t *peers = get(c, r, ingress ? "from" : "to"), *ports = get(c, r, "ports");
		yaml_node_t *act = get(c, r, "action"), *e;

		if (peers && !is_null(peers) &&
		    zs_yaml_want_type(c, peers, YAML_SEQUENCE_NODE, ingress ? "from" : "to") &&
		    seq_len(peers)) {
			rule->all_peers = false;
			rule->peers = zs_xcalloc(seq_len(peers), sizeof(*rule->peers));
			SEQ_FOREACH(c, peers, pit, e)
			syn->peer(c, e, &rule->peers[rule->npeers++]);
		}
		if (ports && !is_null(ports) &&
		    zs_yaml_want_type(c, ports, YAML_SEQUENCE_NODE, "ports") && seq_len(ports)) {
			rule->all_ports = false;
			rule->ports = zs_xcalloc(seq_len(ports), sizeof(*rule->ports));
			SEQ_FOREACH(c, ports, pit, e)
			parse_port(c, e, &rule->ports[rule->nports++], syn->k8s);
		}
		if (act) {
			const char *s = zs_yaml_want_scalar(c, act, "action");
			if (s && !strcasecmp(s, "allow"))
				rule->action = ZS_ACTION_ALLOW;
			else if (s && !strcasecmp(s, "deny"))
				rule->action = ZS_ACTION_DENY;
			else if (s)
				zs_yaml_err(c, act, "unknown action \"%s\" (allow, deny)", s);
		}
	}
}
