// SPDX-License-Identifier: MIT
/*
 * Unit tests for the policy compiler (userspace/compile.c), checked through
 * zs_compiled_lookup, the userspace emulation of the datapath's two policy
 * lookups: allowed ports and peers, default deny, port ranges,
 * deny-over-allow whatever the policy order, any-peer rules folded into each
 * specific peer's entries, namespace scoping of selectors, byte-for-byte
 * determinism, identity allocation and stability, audit mode and the
 * kubernetes posture.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bpf/abi.h"
#include "policy/compile.h"
#include "tests/lib/fixture.h"

#define TCP 6
#define UDP 17
#define IN ZS_DIR_INGRESS
#define OUT ZS_DIR_EGRESS

/* web -> api:8080 -> db:5432, as in policies/demo.yaml. */
#define WORKLOADS                                                                      \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}\n"   \
	"spec: {interface: zsd-web, addresses: [10.77.0.11]}\n"                        \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: api, namespace: shop, labels: {app: api, tier: back}}\n"    \
	"spec: {interface: zsd-api, addresses: [10.77.0.12]}\n"                        \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: db, namespace: shop, labels: {app: db, tier: data}}\n"      \
	"spec: {interface: zsd-db, addresses: [10.77.0.13]}\n"

#define POLICIES                                                                       \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: web-egress, namespace: shop}\n"                              \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: web}}\n"                                      \
	"  egress:\n"                                                                  \
	"    - to: [{selector: {matchLabels: {app: api}}}]\n"                          \
	"      ports: [{protocol: TCP, port: 8080}]\n"                                 \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: api, namespace: shop}\n"                                     \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: api}}\n"                                      \
	"  ingress:\n"                                                                 \
	"    - from: [{selector: {matchLabels: {app: web}}}]\n"                        \
	"      ports: [{protocol: TCP, port: 8080}]\n"                                 \
	"  egress:\n"                                                                  \
	"    - to: [{selector: {matchLabels: {app: db}}}]\n"                           \
	"      ports: [{port: 5432}, {protocol: UDP, port: 5432}]\n"                   \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: db-ingress, namespace: shop}\n"                              \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: db}}\n"                                       \
	"  ingress:\n"                                                                 \
	"    - from: [{selector: {matchLabels: {app: api}}}]\n"                        \
	"      ports: [{protocol: TCP, port: 5432}]\n"

/* The identity of the workload "ns/name". */
static uint32_t id_of(const struct zs_compiled *c, const char *workload)
{
	uint32_t id = fx_identity(c, workload);

	if (!id)
		fail_msg("no workload %s", workload);
	return id;
}

/* Expects `verdict` decided by a rule of `policy` (NULL: the posture default). */
static void expect(const struct zs_compiled *c, uint32_t subject, uint32_t peer, uint8_t dir,
		   uint8_t proto, uint16_t port, uint8_t verdict, const char *policy)
{
	const struct zs_pentry *e = zs_compiled_lookup(c, subject, peer, 0, dir, proto, port);

	if (!e)
		fail_msg("subject %u peer %u dir %u %u/%u: no entry, want verdict %u", subject,
			 peer, dir, proto, port, verdict);
	assert_int_equal(e->verdict, verdict);
	assert_int_equal(e->dir, dir);
	if (!policy) {
		assert_int_equal(e->rule_id, 0);
		return;
	}
	const struct zs_c_rule *r = zs_compiled_rule(c, e->rule_id);
	assert_non_null(r);
	assert_string_equal(r->policy, policy);
	assert_int_equal(r->dir, dir);
}

static void expect_deny(const struct zs_compiled *c, uint32_t subject, uint32_t peer, uint8_t dir,
			uint8_t proto, uint16_t port)
{
	const struct zs_pentry *e = zs_compiled_lookup(c, subject, peer, 0, dir, proto, port);

	if (e)
		fail_msg("subject %u peer %u dir %u %u/%u: verdict %u, want default deny", subject,
			 peer, dir, proto, port, e->verdict);
}

/* The first of the datapath's two lookups alone: `peer`'s own entries. */
static const struct zs_pentry *lookup_peer_only(const struct zs_compiled *c, uint32_t subject,
						uint32_t peer, uint8_t dir, uint8_t proto,
						uint16_t port)
{
	const struct zs_subject *s = zs_compiled_subject(c, subject);
	uint32_t value = (uint32_t)proto << 16 | port;
	const struct zs_pentry *best = NULL;

	assert_non_null(s);
	for (size_t i = 0; i < s->n; i++) {
		const struct zs_pentry *e = &s->e[i];
		uint32_t mask = e->bits ? (0xffffffu << (24 - e->bits)) & 0xffffffu : 0;
		if (e->dir == dir && e->peer == peer && (value & mask) == e->value &&
		    (!best || e->bits > best->bits))
			best = e;
	}
	return best;
}

/* ---- allow and default deny ------------------------------------------- */

static void test_allow_and_default_deny(void **state)
{
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, WORKLOADS POLICIES), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api"),
		 db = id_of(&e.c, "shop/db");
	assert_int_equal(e.c.subjects.n, 3);

	expect(&e.c, api, web, IN, TCP, 8080, ZS_VERDICT_ALLOW, "shop/api");
	const struct zs_pentry *pe = zs_compiled_lookup(&e.c, api, web, 0, IN, TCP, 8080);
	const struct zs_c_rule *r = zs_compiled_rule(&e.c, pe->rule_id);
	assert_int_equal(r->id, pe->rule_id);
	assert_int_equal(r->index, 0);
	assert_int_equal(r->action, ZS_ACTION_ALLOW);
	assert_false(r->audit);

	/* Other port, other protocol, other peer: nothing decides. */
	expect_deny(&e.c, api, web, IN, TCP, 8079);
	expect_deny(&e.c, api, web, IN, TCP, 8081);
	expect_deny(&e.c, api, web, IN, UDP, 8080);
	expect_deny(&e.c, api, db, IN, TCP, 8080);
	expect_deny(&e.c, api, ZS_ID_WORLD, IN, TCP, 8080);
	expect_deny(&e.c, api, web, OUT, TCP, 8080); /* wrong direction */

	expect(&e.c, web, api, OUT, TCP, 8080, ZS_VERDICT_ALLOW, "shop/web-egress");
	expect_deny(&e.c, web, db, OUT, TCP, 8080);
	expect_deny(&e.c, web, api, IN, TCP, 8080); /* nothing allows web's ingress */

	expect(&e.c, api, db, OUT, TCP, 5432, ZS_VERDICT_ALLOW, "shop/api");
	expect(&e.c, api, db, OUT, UDP, 5432, ZS_VERDICT_ALLOW, "shop/api");
	expect_deny(&e.c, api, db, OUT, 132, 5432);
	expect(&e.c, db, api, IN, TCP, 5432, ZS_VERDICT_ALLOW, "shop/db-ingress");
	expect_deny(&e.c, db, api, IN, UDP, 5432);
	expect_deny(&e.c, db, web, IN, TCP, 5432);

	/* Unknown subject: default deny. */
	assert_null(zs_compiled_lookup(&e.c, 9999, web, 0, IN, TCP, 8080));
	fx_estate_free(&e);
}

static void test_port_range(void **state)
{
	static const char yaml[] =
		WORKLOADS "---\n"
		"apiVersion: zeroseg.io/v1\n"
		"kind: Policy\n"
		"metadata: {name: range, namespace: shop}\n"
		"spec:\n"
		"  selector: {matchLabels: {app: api}}\n"
		"  ingress:\n"
		"    - from: [{selector: {matchLabels: {app: web}}}]\n"
		"      ports:\n"
		"        - {port: 1000, endPort: 1999}\n"
		"        - {protocol: UDP, port: 7, endPort: 7}\n";
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api");
	static const uint16_t inside[] = { 1000, 1001, 1023, 1024, 1500, 1536, 1983, 1998, 1999 };
	static const uint16_t outside[] = { 1, 998, 999, 2000, 2001, 2047, 65535 };

	for (size_t i = 0; i < ZS_ARRAY_SIZE(inside); i++)
		expect(&e.c, api, web, IN, TCP, inside[i], ZS_VERDICT_ALLOW, "shop/range");
	for (size_t i = 0; i < ZS_ARRAY_SIZE(outside); i++)
		expect_deny(&e.c, api, web, IN, TCP, outside[i]);
	expect_deny(&e.c, api, web, IN, UDP, 1500);
	expect(&e.c, api, web, IN, UDP, 7, ZS_VERDICT_ALLOW, "shop/range");
	expect_deny(&e.c, api, web, IN, UDP, 6);
	expect_deny(&e.c, api, web, IN, UDP, 8);

	/*
	 * The fewest aligned prefixes: 1000-1007, 1008-1023, 1024-1535,
	 * 1536-1791, 1792-1919, 1920-1983, 1984-1999, and UDP 7.
	 */
	const struct zs_subject *s = zs_compiled_subject(&e.c, api);
	assert_non_null(s);
	assert_int_equal(s->n, 8);
	assert_int_equal(e.c.total_entries, 8);
	assert_int_equal(s->e[0].value, 6u << 16 | 1000);
	assert_int_equal(s->e[0].bits, 24 - 3);
	assert_int_equal(s->e[2].value, 6u << 16 | 1024);
	assert_int_equal(s->e[2].bits, 24 - 9);
	assert_int_equal(s->e[7].value, 17u << 16 | 7);
	assert_int_equal(s->e[7].bits, 24);
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(s->e[i].dir, IN);
		assert_int_equal(s->e[i].peer, web);
		assert_int_equal(s->e[i].verdict, ZS_VERDICT_ALLOW);
		assert_int_equal(s->e[i].prec, ZS_PREC_ALLOW);
		/* Bits below the prefix are zero. */
		assert_int_equal(s->e[i].value & ((1u << (24 - s->e[i].bits)) - 1), 0);
	}
	fx_estate_free(&e);
}

static void test_whole_protocol_is_one_entry(void **state)
{
	static const char yaml[] =
		WORKLOADS "---\n"
		"apiVersion: zeroseg.io/v1\n"
		"kind: Policy\n"
		"metadata: {name: tcp, namespace: shop}\n"
		"spec:\n"
		"  selector: {matchLabels: {app: api}}\n"
		"  ingress:\n"
		"    - from: [{selector: {matchLabels: {app: web}}}]\n"
		"      ports: [{protocol: TCP}]\n"
		"    - ports: [{protocol: any}]\n"
		"      action: deny\n"
		"      from: [{selector: {matchLabels: {app: db}}}]\n";
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api"),
		 db = id_of(&e.c, "shop/db");
	const struct zs_subject *s = zs_compiled_subject(&e.c, api);

	assert_non_null(s);
	assert_int_equal(s->n, 2);
	/* Sorted by dir, peer: web's TCP /8, then db's everything /0. */
	assert_int_equal(s->e[0].peer, web);
	assert_int_equal(s->e[0].value, 6u << 16);
	assert_int_equal(s->e[0].bits, 8);
	assert_int_equal(s->e[1].peer, db);
	assert_int_equal(s->e[1].value, 0);
	assert_int_equal(s->e[1].bits, 0);
	assert_int_equal(s->e[1].verdict, ZS_VERDICT_DENY);
	expect(&e.c, api, db, IN, 58, 0x8000, ZS_VERDICT_DENY, "shop/tcp");
	expect(&e.c, api, web, IN, TCP, 0, ZS_VERDICT_ALLOW, "shop/tcp");
	fx_estate_free(&e);
}

/* ---- deny over allow ---------------------------------------------------- */

/* `first` and `second` are two policies on api, given in this order. */
static void check_deny_in_allow(const char *first, const char *second, const char *allow_name,
				const char *deny_name)
{
	char yaml[4096];
	struct fx_estate e;

	snprintf(yaml, sizeof(yaml), "%s---\n%s---\n%s", WORKLOADS, first, second);
	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api");

	expect(&e.c, api, web, IN, TCP, 80, ZS_VERDICT_DENY, deny_name);
	expect(&e.c, api, web, IN, TCP, 1, ZS_VERDICT_ALLOW, allow_name);
	expect(&e.c, api, web, IN, TCP, 79, ZS_VERDICT_ALLOW, allow_name);
	expect(&e.c, api, web, IN, TCP, 81, ZS_VERDICT_ALLOW, allow_name);
	expect(&e.c, api, web, IN, TCP, 1000, ZS_VERDICT_ALLOW, allow_name);
	expect_deny(&e.c, api, web, IN, TCP, 1001);
	const struct zs_c_rule *r =
		zs_compiled_rule(&e.c, zs_compiled_lookup(&e.c, api, web, 0, IN, TCP, 80)->rule_id);
	assert_int_equal(r->action, ZS_ACTION_DENY);
	fx_estate_free(&e);
}

#define POLICY_ON_API(name, rule)                                                      \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: " name ", namespace: shop}\n"                                \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: api}}\n"                                      \
	"  ingress:\n" rule

#define ALLOW_1_1000                                                                   \
	"    - from: [{selector: {matchLabels: {app: web}}}]\n"                        \
	"      ports: [{port: 1, endPort: 1000}]\n"
#define DENY_80                                                                        \
	"    - from: [{selector: {matchLabels: {app: web}}}]\n"                        \
	"      ports: [{port: 80}]\n"                                                  \
	"      action: deny\n"

static void test_deny_beats_allow_any_order(void **state)
{
	(void)state;
	/* Policy names decide the compile order; file order is the other variable. */
	check_deny_in_allow(POLICY_ON_API("a-allow", ALLOW_1_1000),
			    POLICY_ON_API("z-deny", DENY_80), "shop/a-allow", "shop/z-deny");
	check_deny_in_allow(POLICY_ON_API("z-deny", DENY_80),
			    POLICY_ON_API("a-allow", ALLOW_1_1000), "shop/a-allow", "shop/z-deny");
	check_deny_in_allow(POLICY_ON_API("a-deny", DENY_80),
			    POLICY_ON_API("z-allow", ALLOW_1_1000), "shop/z-allow", "shop/a-deny");
	check_deny_in_allow(POLICY_ON_API("z-allow", ALLOW_1_1000),
			    POLICY_ON_API("a-deny", DENY_80), "shop/z-allow", "shop/a-deny");
}

static void test_deny_in_same_policy(void **state)
{
	(void)state;
	/* Deny after the allow in one policy: still the deny wins. */
	check_deny_in_allow(POLICY_ON_API("one", ALLOW_1_1000 DENY_80),
			    POLICY_ON_API("other",
					  "    - from: [{selector: {matchLabels: {app: none}}}]\n"),
			    "shop/one", "shop/one");
}

static void test_broad_deny_narrow_allow(void **state)
{
	static const char yaml[] =
		WORKLOADS "---\n"
		POLICY_ON_API("allow-https",
			      "    - from: [{selector: {matchLabels: {app: web}}}]\n"
			      "      ports: [{port: 443}, {protocol: UDP, port: 53}]\n")
		"---\n"
		POLICY_ON_API("deny-tcp",
			      "    - from: [{selector: {matchLabels: {app: web}}}]\n"
			      "      ports: [{protocol: TCP}]\n"
			      "      action: deny\n");
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api");

	expect(&e.c, api, web, IN, TCP, 443, ZS_VERDICT_DENY, "shop/deny-tcp");
	expect(&e.c, api, web, IN, TCP, 0, ZS_VERDICT_DENY, "shop/deny-tcp");
	expect(&e.c, api, web, IN, TCP, 65535, ZS_VERDICT_DENY, "shop/deny-tcp");
	expect(&e.c, api, web, IN, UDP, 53, ZS_VERDICT_ALLOW, "shop/allow-https");
	expect_deny(&e.c, api, web, IN, UDP, 443);
	fx_estate_free(&e);
}

/* ---- any-peer rules ---------------------------------------------------- */

static void test_any_peer_rule(void **state)
{
	static const char yaml[] =
		WORKLOADS "---\n"
		POLICY_ON_API("open",
			      "    - ports: [{port: 9090}]\n"
			      "    - ports: [{port: 22}]\n"
			      "      action: deny\n"
			      "    - from: [{selector: {matchLabels: {app: web}}}]\n"
			      "      ports: [{protocol: TCP}]\n");
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api"),
		 db = id_of(&e.c, "shop/db");

	/* Every peer, known or not, gets the any-peer allow. */
	expect(&e.c, api, db, IN, TCP, 9090, ZS_VERDICT_ALLOW, "shop/open");
	expect(&e.c, api, ZS_ID_WORLD, IN, TCP, 9090, ZS_VERDICT_ALLOW, "shop/open");
	expect(&e.c, api, ZS_ID_HOST, IN, TCP, 9090, ZS_VERDICT_ALLOW, "shop/open");
	expect(&e.c, api, db, IN, TCP, 22, ZS_VERDICT_DENY, "shop/open");
	expect_deny(&e.c, api, db, IN, TCP, 80);

	/* web has its own rule (all of TCP); the any-peer deny on 22 still holds. */
	expect(&e.c, api, web, IN, TCP, 80, ZS_VERDICT_ALLOW, "shop/open");
	expect(&e.c, api, web, IN, TCP, 22, ZS_VERDICT_DENY, "shop/open");
	expect(&e.c, api, web, IN, TCP, 9090, ZS_VERDICT_ALLOW, "shop/open");
	expect_deny(&e.c, api, web, IN, UDP, 80);

	/*
	 * The datapath takes a hit on the specific peer as final, so the any-peer
	 * rules must be folded into web's own entries.
	 */
	const struct zs_pentry *pe = lookup_peer_only(&e.c, api, web, IN, TCP, 22);
	assert_non_null(pe);
	assert_int_equal(pe->verdict, ZS_VERDICT_DENY);
	pe = lookup_peer_only(&e.c, api, web, IN, TCP, 9090);
	assert_non_null(pe);
	assert_int_equal(pe->verdict, ZS_VERDICT_ALLOW);
	assert_null(lookup_peer_only(&e.c, api, web, IN, UDP, 9090));
	assert_null(lookup_peer_only(&e.c, api, db, IN, TCP, 9090)); /* db has no own entries */
	fx_estate_free(&e);
}

/* ---- namespaces -------------------------------------------------------- */

#define OTHER_WEB                                                                      \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: web, namespace: other, labels: {app: web, tier: front}}\n"  \
	"spec: {interface: zsd-oweb, addresses: [10.78.0.11]}\n"

static void test_selector_scoped_to_policy_namespace(void **state)
{
	static const char yaml[] =
		WORKLOADS OTHER_WEB POLICIES "---\n"
		POLICY_ON_API("from-other",
			      "    - from:\n"
			      "        - namespaceSelector:\n"
			      "            matchLabels: {kubernetes.io/metadata.name: other}\n"
			      "          selector: {matchLabels: {app: web}}\n"
			      "      ports: [{port: 9000}]\n");
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), oweb = id_of(&e.c, "other/web"),
		 api = id_of(&e.c, "shop/api");

	assert_int_not_equal(web, oweb); /* same labels, other namespace */
	expect(&e.c, api, web, IN, TCP, 8080, ZS_VERDICT_ALLOW, "shop/api");
	expect_deny(&e.c, api, oweb, IN, TCP, 8080);
	expect(&e.c, api, oweb, IN, TCP, 9000, ZS_VERDICT_ALLOW, "shop/from-other");
	expect_deny(&e.c, api, web, IN, TCP, 9000);
	/* shop/web-egress does not select other/web. */
	expect_deny(&e.c, oweb, api, OUT, TCP, 8080);
	fx_estate_free(&e);
}

/* ---- determinism and identities ---------------------------------------- */

static void assert_same_subjects(const struct zs_compiled *a, const struct zs_compiled *b)
{
	assert_int_equal(a->subjects.n, b->subjects.n);
	assert_int_equal(a->total_entries, b->total_entries);
	for (size_t i = 0; i < a->subjects.n; i++) {
		const struct zs_subject *x = &a->subjects.v[i], *y = &b->subjects.v[i];
		assert_int_equal(x->identity, y->identity);
		assert_int_equal(x->n, y->n);
		assert_true(x->n > 0);
		assert_memory_equal(x->e, y->e, x->n * sizeof(*x->e));
	}
	assert_int_equal(a->rules.n, b->rules.n);
	for (size_t i = 0; i < a->rules.n; i++) {
		assert_int_equal(a->rules.v[i].id, b->rules.v[i].id);
		assert_string_equal(a->rules.v[i].policy, b->rules.v[i].policy);
	}
}

static void test_deterministic(void **state)
{
	struct fx_estate a, b;
	struct zs_compiled again;
	struct zs_diags d = { 0 };
	(void)state;

	assert_int_equal(fx_estate_init(&a, WORKLOADS POLICIES "---\n"
					     POLICY_ON_API("z", ALLOW_1_1000 DENY_80)),
			 0);
	/* Same objects, same identities. */
	assert_int_equal(zs_compile(&a.o, &a.ids, &again, &d), 0);
	assert_same_subjects(&a.c, &again);
	zs_compiled_free(&again);

	/* Fresh identities, policies in another order. */
	memset(&b, 0, sizeof(b));
	zs_objects_init(&b.o);
	assert_int_equal(fx_estate_load(&b, WORKLOADS "---\n"
					     POLICY_ON_API("z", ALLOW_1_1000 DENY_80) POLICIES),
			 0);
	assert_int_equal(b.o.policies.n, 4);
	assert_string_equal(b.o.policies.v[0].name, "z");
	assert_int_equal(fx_estate_compile(&b), 0);
	assert_same_subjects(&a.c, &b.c);
	zs_diags_free(&d);
	fx_estate_free(&a);
	fx_estate_free(&b);
}

#define WEB2                                                                           \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: web2, namespace: shop, labels: {tier: front, app: web}}\n"  \
	"spec: {interface: zsd-web2, addresses: [10.77.0.21]}\n"

#define CACHE                                                                          \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: cache, namespace: shop, labels: {app: cache}}\n"            \
	"spec: {interface: zsd-cache, addresses: [10.77.0.31]}\n"                      \
	"---\n"

static void test_identities(void **state)
{
	struct fx_estate e;
	struct zs_objects more;
	struct zs_compiled c2;
	struct zs_diags d = { 0 };
	(void)state;

	assert_int_equal(fx_estate_init(&e, WORKLOADS WEB2 POLICIES), 0);
	uint32_t web = id_of(&e.c, "shop/web"), web2 = id_of(&e.c, "shop/web2"),
		 api = id_of(&e.c, "shop/api"), db = id_of(&e.c, "shop/db");

	/* Same labels (in any order): one identity, one subject. */
	assert_int_equal(web, web2);
	assert_int_equal(e.ids.v.n, 3);
	assert_int_equal(e.c.subjects.n, 3);
	assert_int_equal(e.c.endpoints.n, 4);
	/* Numbered from ZS_ID_FIRST_WORKLOAD, in the order first seen. */
	assert_int_equal(web, ZS_ID_FIRST_WORKLOAD);
	assert_int_equal(api, ZS_ID_FIRST_WORKLOAD + 1);
	assert_int_equal(db, ZS_ID_FIRST_WORKLOAD + 2);
	assert_int_equal(e.ids.v.v[0].id, 256);
	/* Policy for web2's peers applies to it too. */
	expect(&e.c, api, web2, IN, TCP, 8080, ZS_VERDICT_ALLOW, "shop/api");
	for (size_t i = 0; i < e.c.ipcache.n; i++)
		if (!strcmp(e.c.ipcache.v[i].workload, "shop/web2"))
			assert_int_equal(e.c.ipcache.v[i].identity, web);

	/* Recompile with a new workload listed first: old numbers stay. */
	zs_objects_init(&more);
	assert_int_equal(fx_parse(&more, "t.yaml", CACHE WORKLOADS WEB2 POLICIES, 0), 0);
	assert_string_equal(more.workloads.v[0].name, "cache");
	assert_int_equal(zs_compile(&more, &e.ids, &c2, &d), 0);
	assert_int_equal(id_of(&c2, "shop/web"), web);
	assert_int_equal(id_of(&c2, "shop/web2"), web);
	assert_int_equal(id_of(&c2, "shop/api"), api);
	assert_int_equal(id_of(&c2, "shop/db"), db);
	assert_int_equal(id_of(&c2, "shop/cache"), ZS_ID_FIRST_WORKLOAD + 3);
	assert_int_equal(e.ids.v.n, 4);
	/* And the entries of unchanged subjects are the same bytes. */
	const struct zs_subject *s1 = zs_compiled_subject(&e.c, api);
	const struct zs_subject *s2 = zs_compiled_subject(&c2, api);
	assert_non_null(s2);
	assert_int_equal(s1->n, s2->n);
	assert_memory_equal(s1->e, s2->e, s1->n * sizeof(*s1->e));

	zs_compiled_free(&c2);
	zs_objects_free(&more);
	zs_diags_free(&d);
	fx_estate_free(&e);
}

/* ---- audit mode and posture -------------------------------------------- */

static void test_audit_mode(void **state)
{
	static const char yaml[] =
		WORKLOADS "---\n"
		"apiVersion: zeroseg.io/v1\n"
		"kind: Policy\n"
		"metadata: {name: trial, namespace: shop}\n"
		"spec:\n"
		"  selector: {matchLabels: {app: api}}\n"
		"  mode: audit\n"
		"  ingress:\n"
		"    - from: [{selector: {matchLabels: {app: web}}}]\n"
		"      ports: [{port: 1, endPort: 1000}]\n"
		"    - from: [{selector: {matchLabels: {app: web}}}]\n"
		"      ports: [{port: 80}]\n"
		"      action: deny\n";
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api"),
		 db = id_of(&e.c, "shop/db");

	expect(&e.c, api, web, IN, TCP, 80, ZS_VERDICT_AUDIT, "shop/trial");
	const struct zs_c_rule *r =
		zs_compiled_rule(&e.c, zs_compiled_lookup(&e.c, api, web, 0, IN, TCP, 80)->rule_id);
	assert_true(r->audit);
	assert_int_equal(r->action, ZS_ACTION_DENY);
	assert_int_equal(r->index, 1);
	expect(&e.c, api, web, IN, TCP, 81, ZS_VERDICT_ALLOW, "shop/trial");
	/* What the policy would deny by default is audited, not dropped. */
	expect(&e.c, api, web, IN, TCP, 1001, ZS_VERDICT_AUDIT, NULL);
	expect(&e.c, api, db, IN, UDP, 53, ZS_VERDICT_AUDIT, NULL);
	/* Other subjects are not touched by the audit policy. */
	expect_deny(&e.c, db, web, IN, TCP, 80);
	fx_estate_free(&e);
}

/*
 * BUG (compile.c:432, 439): an audit-mode policy turns the default of every
 * subject it selects into "audit" (let through), even when an enforce-mode
 * policy isolates that subject too. Trying a policy out in audit mode then
 * opens the workload to traffic its enforced policy denies. Audit should log
 * what the audit policy would deny, never relax an enforced one.
 */
static void test_audit_policy_does_not_open_enforced_subject(void **state)
{
	static const char yaml[] =
		WORKLOADS POLICIES "---\n"
		"apiVersion: zeroseg.io/v1\n"
		"kind: Policy\n"
		"metadata: {name: trial, namespace: shop}\n"
		"spec:\n"
		"  selector: {matchLabels: {app: api}}\n"
		"  mode: audit\n"
		"  ingress:\n"
		"    - from: [{selector: {matchLabels: {app: web}}}]\n"
		"      ports: [{port: 9090}]\n";
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api"),
		 db = id_of(&e.c, "shop/db");

	expect(&e.c, api, web, IN, TCP, 8080, ZS_VERDICT_ALLOW, "shop/api");
	/* shop/api (enforce) isolates api's ingress: db -> api:22 stays denied. */
	expect_deny(&e.c, api, db, IN, TCP, 22);
	expect_deny(&e.c, api, ZS_ID_WORLD, IN, TCP, 8080);
	fx_estate_free(&e);
}

static void test_posture_kubernetes(void **state)
{
	static const char yaml[] =
		WORKLOADS "---\n"
		"apiVersion: zeroseg.io/v1\n"
		"kind: Config\n"
		"spec: {posture: kubernetes}\n"
		"---\n"
		"apiVersion: zeroseg.io/v1\n"
		"kind: Policy\n"
		"metadata: {name: db-ingress, namespace: shop}\n"
		"spec:\n"
		"  selector: {matchLabels: {app: db}}\n"
		"  ingress:\n"
		"    - from: [{selector: {matchLabels: {app: api}}}]\n"
		"      ports: [{port: 5432}]\n";
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, yaml), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api"),
		 db = id_of(&e.c, "shop/db");
	static const uint32_t peers[] = { 0, 0, 0, ZS_ID_HOST, ZS_ID_WORLD };
	uint32_t p[ZS_ARRAY_SIZE(peers)];

	assert_true(e.o.has_config);
	assert_int_equal(e.o.posture, ZS_POSTURE_KUBERNETES);
	memcpy(p, peers, sizeof(p));
	p[0] = web;
	p[1] = api;
	p[2] = db;
	/* web is selected by no policy: everything, both ways. */
	for (size_t i = 0; i < ZS_ARRAY_SIZE(p); i++)
		for (uint8_t dir = IN; dir <= OUT; dir++) {
			expect(&e.c, web, p[i], dir, TCP, 1, ZS_VERDICT_ALLOW, NULL);
			expect(&e.c, web, p[i], dir, TCP, 65535, ZS_VERDICT_ALLOW, NULL);
			expect(&e.c, web, p[i], dir, UDP, 53, ZS_VERDICT_ALLOW, NULL);
			expect(&e.c, web, p[i], dir, 1, 0x0800, ZS_VERDICT_ALLOW, NULL);
			expect(&e.c, web, p[i], dir, 255, 0, ZS_VERDICT_ALLOW, NULL);
		}
	/* db is isolated for ingress only. */
	expect(&e.c, db, api, IN, TCP, 5432, ZS_VERDICT_ALLOW, "shop/db-ingress");
	expect_deny(&e.c, db, web, IN, TCP, 5432);
	expect_deny(&e.c, db, api, IN, TCP, 80);
	expect(&e.c, db, web, OUT, TCP, 80, ZS_VERDICT_ALLOW, NULL);
	fx_estate_free(&e);
}

static void test_posture_deny_default(void **state)
{
	struct fx_estate e;
	(void)state;

	/* No Config: a workload no policy selects gets nothing. */
	assert_int_equal(fx_estate_init(&e, WORKLOADS), 0);
	uint32_t web = id_of(&e.c, "shop/web"), api = id_of(&e.c, "shop/api");

	assert_false(e.o.has_config);
	expect_deny(&e.c, web, api, IN, TCP, 80);
	expect_deny(&e.c, web, api, OUT, TCP, 80);
	assert_int_equal(e.c.total_entries, 0);
	fx_estate_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_and_default_deny),
		cmocka_unit_test(test_port_range),
		cmocka_unit_test(test_whole_protocol_is_one_entry),
		cmocka_unit_test(test_deny_beats_allow_any_order),
		cmocka_unit_test(test_deny_in_same_policy),
		cmocka_unit_test(test_broad_deny_narrow_allow),
		cmocka_unit_test(test_any_peer_rule),
		cmocka_unit_test(test_selector_scoped_to_policy_namespace),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_audit_mode),
		cmocka_unit_test(test_audit_policy_does_not_open_enforced_subject),
		cmocka_unit_test(test_posture_kubernetes),
		cmocka_unit_test(test_posture_deny_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
