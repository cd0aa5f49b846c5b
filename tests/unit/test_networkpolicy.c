// SPDX-License-Identifier: MIT
/*
 * networking.k8s.io/v1 NetworkPolicy: the parser gives the upstream
 * semantics (policyTypes defaults, `ingress: []` vs `[{}]`, a peer without
 * namespaceSelector means the policy's namespace, ipBlock with except,
 * endPort, named ports); the serializer writes it back as a NetworkPolicy;
 * every rejected input names file:line:col, one message each.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/compile.h"
#include "policy/parse.h"
#include "policy/serial.h"
#include "tests/lib/fixture.h"

#define HEAD                                    \
	"apiVersion: networking.k8s.io/v1\n"    \
	"kind: NetworkPolicy\n"                 \
	"metadata: {name: np, namespace: x}\n"  \
	"spec:\n"

static int parse(const char *yaml, struct zs_objects *o, struct zs_diags *d)
{
	zs_objects_init(o);
	return zs_parse_buffer("np.yaml", yaml, strlen(yaml), o, d);
}

/* One NetworkPolicy, parsed without a diagnostic. */
static const struct zs_policy *parse_one(const char *yaml, struct zs_objects *o)
{
	zs_objects_init(o);
	assert_int_equal(fx_parse(o, "np.yaml", yaml, 0), 0);
	assert_int_equal(o->policies.n, 1);
	assert_true(o->policies.v[0].from_k8s);
	return &o->policies.v[0];
}

static void test_policy_types_default(void **state)
{
	struct zs_objects o;
	(void)state;

	/* No policyTypes, no egress: Ingress only, and `ingress` absent = deny all. */
	const struct zs_policy *p = parse_one(HEAD "  podSelector: {}\n", &o);
	assert_true(p->has_ingress);
	assert_false(p->has_egress);
	assert_int_equal(p->ningress, 0);
	assert_int_equal(p->selector.n, 0);
	zs_objects_free(&o);

	/* Egress rules given: Egress joins. */
	p = parse_one(HEAD "  podSelector: {matchLabels: {pod: a}}\n  egress: [{}]\n", &o);
	assert_true(p->has_ingress);
	assert_true(p->has_egress);
	assert_int_equal(p->negress, 1);
	assert_true(p->egress[0].all_peers);
	assert_true(p->egress[0].all_ports);
	zs_objects_free(&o);

	/* Upstream defaulting: an empty policyTypes is an absent one; `egress: []` adds no Egress. */
	p = parse_one(HEAD "  podSelector: {}\n  policyTypes: []\n", &o);
	assert_true(p->has_ingress);
	assert_false(p->has_egress);
	zs_objects_free(&o);
	p = parse_one(HEAD "  podSelector: {}\n  egress: []\n", &o);
	assert_true(p->has_ingress);
	assert_false(p->has_egress);
	zs_objects_free(&o);

	/* Explicit Egress only: ingress is not isolated. */
	p = parse_one(HEAD "  podSelector: {}\n  policyTypes: [Egress]\n", &o);
	assert_false(p->has_ingress);
	assert_true(p->has_egress);
	assert_int_equal(p->negress, 0);
	zs_objects_free(&o);
}

static void test_empty_list_vs_empty_rule(void **state)
{
	struct zs_objects o;
	(void)state;

	const struct zs_policy *p = parse_one(HEAD "  podSelector: {}\n  ingress: []\n", &o);
	assert_true(p->has_ingress);
	assert_int_equal(p->ningress, 0); /* nothing allowed */
	zs_objects_free(&o);

	p = parse_one(HEAD "  podSelector: {}\n  ingress: [{}]\n", &o);
	assert_int_equal(p->ningress, 1); /* everything allowed */
	assert_true(p->ingress[0].all_peers);
	assert_true(p->ingress[0].all_ports);
	zs_objects_free(&o);

	/* `from: []` is every peer too. */
	p = parse_one(HEAD "  podSelector: {}\n  ingress: [{from: [], ports: [{port: 80}]}]\n", &o);
	assert_true(p->ingress[0].all_peers);
	assert_false(p->ingress[0].all_ports);
	zs_objects_free(&o);
}

static void test_peers(void **state)
{
	struct zs_objects o;
	(void)state;

	const struct zs_policy *p = parse_one(
		HEAD "  podSelector: {}\n"
		     "  ingress:\n"
		     "  - from:\n"
		     "    - podSelector: {matchLabels: {pod: b}}\n"
		     "    - namespaceSelector: {}\n"
		     "    - podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [c]}]}\n"
		     "      namespaceSelector: {matchLabels: {ns: y}}\n"
		     "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}\n"
		     "    ports:\n"
		     "    - {port: 80, endPort: 81}\n"
		     "    - {protocol: UDP, port: dns}\n"
		     "    - {protocol: SCTP}\n",
		&o);
	const struct zs_rule *r = &p->ingress[0];
	assert_int_equal(r->npeers, 4);
	/* podSelector alone: this namespace (no namespace selector). */
	assert_true(r->peers[0].has_selector);
	assert_false(r->peers[0].has_ns_selector);
	/* namespaceSelector {} alone: every pod of every namespace. */
	assert_false(r->peers[1].has_selector);
	assert_true(r->peers[1].has_ns_selector);
	assert_int_equal(r->peers[1].ns_selector.n, 0);
	/* both: AND. */
	assert_true(r->peers[2].has_selector && r->peers[2].has_ns_selector);
	assert_int_equal(r->peers[2].selector.req[0].op, ZS_SEL_NOT_IN);
	assert_true(r->peers[3].has_cidr);
	assert_int_equal(r->peers[3].cidr.len, 8);
	assert_int_equal(r->peers[3].nexcept, 2);
	assert_int_equal(r->nports, 3);
	assert_int_equal(r->ports[0].proto, 6); /* no protocol: TCP */
	assert_int_equal(r->ports[0].port, 80);
	assert_int_equal(r->ports[0].end, 81);
	assert_string_equal(r->ports[1].name, "dns");
	assert_int_equal(r->ports[1].proto, 17);
	assert_true(r->ports[2].any_port);
	assert_int_equal(r->ports[2].proto, 132);
	zs_objects_free(&o);
}

/* Serialized and parsed back, it is the same NetworkPolicy. */
static void test_round_trip(void **state)
{
	struct zs_objects o, back;
	(void)state;

	parse_one(HEAD "  podSelector: {matchLabels: {pod: a}}\n"
		       "  policyTypes: [Ingress, Egress]\n"
		       "  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}], ports: [{port: 80, endPort: 90}]}]\n",
		  &o);
	assert_int_equal(zs_objects_clone(&o, &back), 0);
	assert_int_equal(back.policies.n, 1);
	assert_true(back.policies.v[0].from_k8s);
	json_t *a = zs_policy_to_json(&o.policies.v[0]), *b = zs_policy_to_json(&back.policies.v[0]);
	assert_true(json_equal(a, b));
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "NetworkPolicy");
	assert_true(back.policies.v[0].has_egress);
	assert_int_equal(back.policies.v[0].negress, 0);
	json_decref(a);
	json_decref(b);
	zs_objects_free(&o);
	zs_objects_free(&back);
}

/* ---- errors: one message each, naming file:line:col -------------------- */

static const struct {
	const char *spec; /* the lines after `spec:` */
	const char *want;
} errors[] = {
	{ "  podSelector: {}\n  foo: 1\n",
	  "np.yaml:6:3: NetworkPolicy spec: unknown field \"foo\"" },
	{ "  ingress: []\n",
	  "np.yaml:5:3: NetworkPolicy: spec.podSelector missing ({} selects every pod of the namespace)" },
	{ "  podSelector: {}\n  policyTypes: [Ingress, Both]\n",
	  "np.yaml:6:26: policyTypes: unknown type \"Both\" (Ingress, Egress)" },
	{ "  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n",
	  "np.yaml:7:11: egress: rules given but policyTypes does not list Egress" },
	{ "  podSelector: {}\n  ingress: [{from: [{podSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}]}]\n",
	  "np.yaml:6:48: peer: ipBlock cannot be combined with podSelector or namespaceSelector" },
	{ "  podSelector: {}\n  ingress: [{from: [{}]}]\n",
	  "np.yaml:6:21: peer: needs podSelector, namespaceSelector or ipBlock" },
	{ "  podSelector: {}\n  ingress: [{from: [{pods: {}}]}]\n",
	  "np.yaml:6:22: peer: unknown field \"pods\"" },
	{ "  podSelector: {}\n  ingress: [{from: [{ipBlock: {except: [10.0.0.0/8]}}]}]\n",
	  "np.yaml:6:31: ipBlock: cidr missing" },
	{ "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.300/8}}]}]\n",
	  "np.yaml:6:38: ipBlock.cidr: \"10.0.0.300/8\" is not an address or prefix" },
	{ "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n",
	  "np.yaml:6:38: ipBlock.cidr: \"10.0.0.0/33\" is not an address or prefix" },
	{ "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]\n",
	  "np.yaml:6:59: except: 11.0.0.0/16 is not inside the peer's cidr" },
	{ "  podSelector: {}\n  ingress: [{ports: [{port: 0}]}]\n",
	  "np.yaml:6:29: port must be 1..65535, got 0" },
	{ "  podSelector: {}\n  ingress: [{ports: [{port: 65536}]}]\n",
	  "np.yaml:6:29: port must be 1..65535, got 65536" },
	{ "  podSelector: {}\n  ingress: [{ports: [{port: 90, endPort: 80}]}]\n",
	  "np.yaml:6:42: endPort 80 is below port 90" },
	{ "  podSelector: {}\n  ingress: [{ports: [{protocol: ICMP}]}]\n",
	  "np.yaml:6:33: unknown protocol \"ICMP\" (NetworkPolicy: TCP, UDP, SCTP)" },
	{ "  podSelector: {}\n  ingress: [{ports: [{port: 80, type: 8}]}]\n",
	  "np.yaml:6:33: ports item: unknown field \"type\"" },
	{ "  podSelector: {}\n  ingress: [{from: [], action: deny}]\n",
	  "np.yaml:6:24: ingress rule: unknown field \"action\"" },
	{ "  podSelector: {matchLabels: {pod: a}, matchFields: {}}\n",
	  "np.yaml:5:40: podSelector: unknown field \"matchFields\"" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		char yaml[1024];
		struct zs_objects o;
		struct zs_diags d = { 0 };

		snprintf(yaml, sizeof(yaml), HEAD "%s", errors[i].spec);
		assert_int_equal(parse(yaml, &o, &d), -EINVAL);
		if (d.msgs.n != 1 || strcmp(d.msgs.v[0], errors[i].want)) {
			fprintf(stderr, "case %zu: want \"%s\", got:\n", i, errors[i].want);
			zs_diags_print(&d, stderr);
			fail();
		}
		assert_int_equal(o.policies.n, 0);
		zs_diags_free(&d);
		zs_objects_free(&o);
	}
}

/* A selector on a key no workload has is fine: it selects nothing. */
static void test_unknown_label_key_is_fine(void **state)
{
	struct zs_objects o;
	(void)state;

	const struct zs_policy *p = parse_one(HEAD "  podSelector: {matchLabels: {no-such-key: x}}\n"
						   "  ingress: [{from: [{podSelector: {matchExpressions: [{key: nope, operator: Exists}]}}]}]\n",
					      &o);
	assert_int_equal(p->selector.n, 1);
	zs_objects_free(&o);
}

/* What the compiler cannot make exact it rejects, naming the peer. */
static void test_named_port_to_ipblock_is_an_error(void **state)
{
	struct zs_objects o;
	struct zs_diags d = { 0 };
	struct zs_identities ids = { 0 };
	struct zs_compiled c;
	(void)state;

	parse_one(HEAD "  podSelector: {}\n"
		       "  policyTypes: [Egress]\n"
		       "  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: http}]}]\n",
		  &o);
	assert_int_equal(zs_compile(&o, &ids, &c, &d), -EINVAL);
	assert_int_equal(d.msgs.n, 1);
	assert_string_equal(d.msgs.v[0],
			    "np.yaml:7:18: named port in an egress rule with a cidr peer: a named port resolves on the destination workload; give the number");
	zs_diags_free(&d);
	zs_identities_free(&ids);
	zs_objects_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_types_default),
		cmocka_unit_test(test_empty_list_vs_empty_rule),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unknown_label_key_is_fine),
		cmocka_unit_test(test_named_port_to_ipblock_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
