// SPDX-License-Identifier: MIT
/*
 * Kubernetes networking.k8s.io/v1 NetworkPolicy, with upstream semantics:
 * podSelector, policyTypes (and its defaulting), ingress and egress rules
 * whose peers are a podSelector and/or namespaceSelector (ANDed) or an
 * ipBlock. Ports are TCP, UDP or SCTP; a named port resolves on the
 * destination workload when the policy is compiled.
 */
#include <string.h>

#include "policy/parse_int.h"

/* A NetworkPolicyPeer: podSelector, namespaceSelector (AND), or ipBlock. */
static void parse_k8s_peer(struct pctx *c, yaml_node_t *m, struct zs_peer *p)
{
	static const char *const keys[] = { "podSelector", "namespaceSelector", "ipBlock", NULL };
	static const char *const block_keys[] = { "cidr", "except", NULL };

	if (!zs_parse_peer_open(c, m, p, keys))
		return;
	yaml_node_t *sel = get(c, m, "podSelector"), *nss = get(c, m, "namespaceSelector");
	yaml_node_t *blk = get(c, m, "ipBlock");

	if (!sel && !nss && !blk) {
		zs_yaml_err(c, m, "peer: needs podSelector, namespaceSelector or ipBlock");
		return;
	}
	if (blk && (sel || nss)) {
		zs_yaml_err(c, blk, "peer: ipBlock cannot be combined with podSelector or namespaceSelector");
		return;
	}
	zs_parse_peer_selectors(c, p, sel, "podSelector", nss);
	if (blk) {
		if (!zs_yaml_want_type(c, blk, YAML_MAPPING_NODE, "ipBlock") ||
		    !zs_yaml_check_keys(c, blk, "ipBlock", block_keys))
			return;
		yaml_node_t *cidr = get(c, blk, "cidr");
		if (!cidr) {
			zs_yaml_err(c, blk, "ipBlock: cidr missing");
			return;
		}
		p->has_cidr = true;
		zs_parse_cidr(c, cidr, &p->cidr, "ipBlock.cidr");
		if (p->cidr.family)
			zs_parse_except(c, get(c, blk, "except"), p);
	}
}

static const char *const rule_in_keys[] = { "from", "ports", NULL };
static const char *const rule_out_keys[] = { "to", "ports", NULL };
static const struct zs_rule_syntax k8s_rules = {
	.in_keys = rule_in_keys,
	.out_keys = rule_out_keys,
	.peer = parse_k8s_peer,
	.k8s = true,
};

/*
 * The directions a policy isolates, as upstream's defaulting: an absent or
 * empty policyTypes means Ingress, plus Egress when there are egress rules
 * (`egress: []` adds nothing).
 */
static void parse_policy_types(struct pctx *c, yaml_node_t *spec, struct zs_policy *p)
{
	yaml_node_t *in = get(c, spec, "ingress"), *eg = get(c, spec, "egress");
	yaml_node_t *types = get(c, spec, "policyTypes"), *e;
	bool has_in_rules = in && !is_null(in) && in->type == YAML_SEQUENCE_NODE && seq_len(in);
	bool has_eg_rules = eg && !is_null(eg) && eg->type == YAML_SEQUENCE_NODE && seq_len(eg);

	if (!types || is_null(types) || (types->type == YAML_SEQUENCE_NODE && !seq_len(types))) {
		p->has_ingress = true;
		p->has_egress = has_eg_rules;
		return;
	}
	if (zs_yaml_want_type(c, types, YAML_SEQUENCE_NODE, "policyTypes")) {
		SEQ_FOREACH(c, types, it, e)
		{
			const char *t = zs_yaml_want_scalar(c, e, "policyTypes item");
			if (t && !strcmp(t, "Ingress"))
				p->has_ingress = true;
			else if (t && !strcmp(t, "Egress"))
				p->has_egress = true;
			else if (t)
				zs_yaml_err(c, e, "policyTypes: unknown type \"%s\" (Ingress, Egress)", t);
		}
	}
	/* Rules for a type the policy does not have would be ignored: say so. */
	if (has_in_rules && !p->has_ingress)
		zs_yaml_err(c, in, "ingress: rules given but policyTypes does not list Ingress");
	if (has_eg_rules && !p->has_egress)
		zs_yaml_err(c, eg, "egress: rules given but policyTypes does not list Egress");
}

/* A listed type isolates its direction even with no rules (`ingress: []` allows nothing). */
void zs_parse_networkpolicy(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "podSelector", "policyTypes", "ingress", "egress", NULL };
	int before = c->errors;
	struct meta md;
	yaml_node_t *spec = zs_parse_spec(c, obj, &md, "NetworkPolicy", keys);

	if (!spec)
		return;

	struct zs_policy p = { .name = zs_xstrdup(md.name), .ns = zs_xstrdup(md.ns), .from_k8s = true };
	p.mark = mark_of(c, obj);
	yaml_node_t *sel = get(c, spec, "podSelector");
	if (!sel)
		zs_yaml_err(c, spec, "NetworkPolicy: spec.podSelector missing ({} selects every pod of the namespace)");
	else
		zs_parse_selector(c, sel, &p.selector, "podSelector");
	parse_policy_types(c, spec, &p);
	yaml_node_t *in = get(c, spec, "ingress"), *eg = get(c, spec, "egress");
	if (in && !is_null(in))
		zs_parse_rules(c, in, true, &k8s_rules, &p.ingress, &p.ningress);
	if (eg && !is_null(eg))
		zs_parse_rules(c, eg, false, &k8s_rules, &p.egress, &p.negress);
	if (c->errors != before) {
		zs_policy_free(&p);
		return;
	}
	*ZS_VEC_PUSH(&out->policies) = p;
}
