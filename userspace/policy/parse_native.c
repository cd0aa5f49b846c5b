// SPDX-License-Identifier: MIT
/*
 * The native kinds of apiVersion zeroseg.io/v1: Workload (labels, interface,
 * addresses, named ports, flood shield), Policy (selector, ingress and egress
 * rules whose peers are selectors, CIDRs, address sets or entities, allow or deny, audit
 * mode), Namespace (its labels) and Config (the posture).
 */
#include <string.h>

#include "policy/parse_int.h"

/* A peer's addressSet: the name of an AddressSet (which the compile checks exists). */
static void parse_set_ref(struct pctx *c, yaml_node_t *n, struct zs_peer *p)
{
	const char *s = zs_yaml_want_scalar(c, n, "addressSet");

	if (s && !zs_name_ok(s))
		zs_yaml_err(c, n, "addressSet: \"%s\" must be lower-case letters, digits, '-' or '.'", s);
	else if (s)
		p->set = zs_xstrdup(s);
}

/*
 * A native peer: selector and/or namespaceSelector, or a cidr (with except),
 * or an addressSet, or an entity.
 */
static void parse_peer(struct pctx *c, yaml_node_t *m, struct zs_peer *p)
{
	static const char *const keys[] = { "selector", "namespaceSelector", "cidr", "except",
					    "addressSet", "entity", NULL };

	if (!zs_parse_peer_open(c, m, p, keys))
		return;
	yaml_node_t *sel = get(c, m, "selector"), *nss = get(c, m, "namespaceSelector");
	yaml_node_t *cidr = get(c, m, "cidr"), *ex = get(c, m, "except"), *ent = get(c, m, "entity");
	yaml_node_t *set = get(c, m, "addressSet");

	if (!sel && !nss && !cidr && !ent && !set) {
		zs_yaml_err(c, m, "peer: needs selector, namespaceSelector, cidr, addressSet or entity");
		return;
	}
	if (set && (sel || nss || cidr || ent)) {
		zs_yaml_err(c, set, "peer: addressSet stands alone (one peer per set, cidr or selector)");
		return;
	}
	if (set) {
		parse_set_ref(c, set, p);
		return;
	}
	if ((cidr || ent) && (sel || nss)) {
		zs_yaml_err(c, m, "peer: cidr and entity cannot be combined with selectors");
		return;
	}
	if (cidr && ent) {
		zs_yaml_err(c, m, "peer: give cidr or entity, not both");
		return;
	}
	if (ex && !cidr) {
		zs_yaml_err(c, ex, "peer: except needs a cidr");
		return;
	}
	zs_parse_peer_selectors(c, p, sel, "selector", nss);
	if (cidr) {
		p->has_cidr = true;
		zs_parse_cidr(c, cidr, &p->cidr, "cidr");
		zs_parse_except(c, ex, p);
	}
	if (ent) {
		const char *s = zs_yaml_want_scalar(c, ent, "entity");
		if (s && !strcmp(s, "host"))
			p->entity = ZS_ENTITY_HOST;
		else if (s && !strcmp(s, "world"))
			p->entity = ZS_ENTITY_WORLD;
		else if (s && !strcmp(s, "all"))
			p->entity = ZS_ENTITY_ALL;
		else if (s)
			zs_yaml_err(c, ent, "unknown entity \"%s\" (host, world, all)", s);
	}
}

static const char *const rule_in_keys[] = { "from", "ports", "action", NULL };
static const char *const rule_out_keys[] = { "to", "ports", "action", NULL };
static const struct zs_rule_syntax native_rules = {
	.in_keys = rule_in_keys,
	.out_keys = rule_out_keys,
	.peer = parse_peer,
	.k8s = false,
};

/* A workload's addresses: at least one, each an address or prefix. */
static void parse_addresses(struct pctx *c, yaml_node_t *spec, struct zs_workload *w)
{
	yaml_node_t *addrs = get(c, spec, "addresses"), *e;

	if (!addrs || is_null(addrs)) {
		zs_yaml_err(c, spec, "Workload: spec.addresses missing: a workload needs at least one address");
		return;
	}
	if (!zs_yaml_want_type(c, addrs, YAML_SEQUENCE_NODE, "addresses"))
		return;
	if (!seq_len(addrs))
		zs_yaml_err(c, addrs, "Workload: spec.addresses is empty");
	w->addrs = zs_xcalloc(seq_len(addrs), sizeof(*w->addrs));
	SEQ_FOREACH(c, addrs, it, e)
	{
		struct zs_prefix *p = &w->addrs[w->naddrs];
		zs_parse_cidr(c, e, p, "address");
		if (p->family)
			w->naddrs++;
	}
}

/* The named ports a workload declares: name, number, protocol (TCP by default). */
static void parse_named_ports(struct pctx *c, yaml_node_t *ports, struct zs_workload *w)
{
	static const char *const port_keys[] = { "name", "port", "protocol", NULL };
	yaml_node_t *e;

	if (!ports || is_null(ports) || !zs_yaml_want_type(c, ports, YAML_SEQUENCE_NODE, "ports"))
		return;
	w->ports = zs_xcalloc(seq_len(ports), sizeof(*w->ports));
	SEQ_FOREACH(c, ports, it, e)
	{
		long v;
		uint8_t proto = 6;
		if (!zs_yaml_want_type(c, e, YAML_MAPPING_NODE, "ports item") ||
		    !zs_yaml_check_keys(c, e, "Workload port", port_keys))
			continue;
		const char *name = zs_yaml_want_scalar(c, get(c, e, "name"), "port name");
		yaml_node_t *pn = get(c, e, "port"), *prn = get(c, e, "protocol");
		if (!name)
			continue;
		if (!zs_parse_long(scalar_or_null(pn), 1, 65535, &v)) {
			zs_yaml_err(c, pn ? pn : e, "port must be 1..65535");
			continue;
		}
		if (prn && !zs_parse_proto(zs_yaml_want_scalar(c, prn, "protocol") ?: "", &proto)) {
			zs_yaml_err(c, prn, "unknown protocol");
			continue;
		}
		struct zs_named_port *np = &w->ports[w->nports++];
		np->name = zs_xstrdup(name);
		np->port = (uint16_t)v;
		np->proto = proto;
	}
}

void zs_parse_workload(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "interface", "addresses", "ports", "floodShield", NULL };
	int before = c->errors;
	struct meta md;
	yaml_node_t *spec = zs_parse_spec(c, obj, &md, "Workload", keys);

	if (!spec)
		return;

	struct zs_workload w = { .name = zs_xstrdup(md.name), .ns = zs_xstrdup(md.ns) };
	w.mark = mark_of(c, obj);
	zs_parse_labels(c, md.labels, &w.labels, "metadata.labels");

	yaml_node_t *ifn = get(c, spec, "interface");
	if (ifn && !is_null(ifn)) {
		const char *s = zs_yaml_want_scalar(c, ifn, "interface");
		if (s && (strlen(s) >= 16 || !*s || strchr(s, '/') || strchr(s, ' ')))
			zs_yaml_err(c, ifn, "interface: \"%s\" is not a valid interface name", s);
		else if (s)
			w.ifname = zs_xstrdup(s);
	}
	yaml_node_t *sh = get(c, spec, "floodShield");
	if (sh) {
		const char *v = zs_yaml_want_scalar(c, sh, "floodShield");
		if (v && !strcmp(v, "true"))
			w.shield = true;
		else if (v && strcmp(v, "false"))
			zs_yaml_err(c, sh, "floodShield: want true or false");
		if (w.shield && !w.ifname)
			zs_yaml_err(c, sh, "floodShield: needs an interface (a remote workload has none here)");
	}
	parse_addresses(c, spec, &w);
	parse_named_ports(c, get(c, spec, "ports"), &w);
	if (c->errors != before) {
		zs_workload_free(&w);
		return;
	}
	*ZS_VEC_PUSH(&out->workloads) = w;
}

void zs_parse_policy(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "selector", "ingress", "egress", "mode", NULL };
	int before = c->errors;
	struct meta md;
	yaml_node_t *spec = zs_parse_spec(c, obj, &md, "Policy", keys);

	if (!spec)
		return;

	struct zs_policy p = { .name = zs_xstrdup(md.name), .ns = zs_xstrdup(md.ns) };
	p.mark = mark_of(c, obj);
	yaml_node_t *sel = get(c, spec, "selector");
	if (!sel)
		zs_yaml_err(c, spec, "Policy: spec.selector missing ({} selects every workload of the namespace)");
	else
		zs_parse_selector(c, sel, &p.selector, "selector");
	yaml_node_t *in = get(c, spec, "ingress"), *eg = get(c, spec, "egress");
	p.has_ingress = in != NULL;
	p.has_egress = eg != NULL;
	if (in)
		zs_parse_rules(c, in, true, &native_rules, &p.ingress, &p.ningress);
	if (eg)
		zs_parse_rules(c, eg, false, &native_rules, &p.egress, &p.negress);
	yaml_node_t *mode = get(c, spec, "mode");
	if (mode) {
		const char *s = zs_yaml_want_scalar(c, mode, "mode");
		if (s && !strcmp(s, "audit"))
			p.mode = ZS_MODE_AUDIT;
		else if (s && strcmp(s, "enforce"))
			zs_yaml_err(c, mode, "unknown mode \"%s\" (enforce, audit)", s);
	}
	if (!in && !eg)
		zs_yaml_err(c, spec, "Policy: needs ingress or egress");
	if (c->errors != before) {
		zs_policy_free(&p);
		return;
	}
	*ZS_VEC_PUSH(&out->policies) = p;
}

void zs_parse_namespace(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	struct meta md;
	int before = c->errors;

	if (!zs_parse_meta(c, obj, &md, false, true))
		return;
	if (get(c, obj, "spec"))
		zs_yaml_err(c, get(c, obj, "spec"), "Namespace: takes no spec");
	struct zs_namespace n = { .name = zs_xstrdup(md.name) };
	n.mark = mark_of(c, obj);
	zs_parse_labels(c, md.labels, &n.labels, "metadata.labels");
	if (c->errors != before) {
		zs_namespace_free(&n);
		return;
	}
	*ZS_VEC_PUSH(&out->namespaces) = n;
}

void zs_parse_config(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "posture", NULL };
	struct meta md;
	yaml_node_t *spec = get(c, obj, "spec");

	if (!zs_parse_meta(c, obj, &md, false, false))
		return;
	if (!spec || !zs_yaml_want_type(c, spec, YAML_MAPPING_NODE, "spec") ||
	    !zs_yaml_check_keys(c, spec, "Config spec", keys)) {
		if (!spec)
			zs_yaml_err(c, obj, "Config: spec missing");
		return;
	}
	yaml_node_t *pn = get(c, spec, "posture");
	const char *s = pn ? zs_yaml_want_scalar(c, pn, "posture") : "deny";
	if (!s)
		return;
	if (!strcmp(s, "deny"))
		out->posture = ZS_POSTURE_DENY;
	else if (!strcmp(s, "kubernetes"))
		out->posture = ZS_POSTURE_KUBERNETES;
	else {
		zs_yaml_err(c, pn, "unknown posture \"%s\" (deny, kubernetes)", s);
		return;
	}
	out->has_config = true;
}
