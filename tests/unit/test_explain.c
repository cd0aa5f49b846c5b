// SPDX-License-Identifier: MIT
/*
 * Unit tests for `explain` (userspace/policy/explain.c): both ends as the
 * datapath sees them (workload, entity, policy CIDR, local or not), each
 * side's check with the deciding rule and where it was written, default
 * deny and the kubernetes posture's default, ends given by name or address,
 * and the errors (no such end, no common address family).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bpf/abi.h"
#include "tests/lib/fixture.h"
#include "policy/explain.h"

#define TCP 6
#define UDP 17
#define HEAD "apiVersion: zeroseg.io/v1\n"

/* Line numbers matter: "source" names where each rule was written. */
#define ESTATE                                                                         \
	HEAD                                                 /*  1 */                  \
	"kind: Workload\n"                                   /*  2 */                  \
	"metadata: {name: web, namespace: shop, labels: {app: web}}\n"                 \
	"spec: {interface: zse-web, addresses: [10.77.0.11]}\n"                        \
	"---\n"                                              /*  5 */                  \
	HEAD "kind: Workload\n"                                                        \
	"metadata: {name: api, namespace: shop, labels: {app: api}}\n"                 \
	"spec: {interface: zse-api, addresses: [10.77.0.12, 'fd00::12']}\n"            \
	"---\n"                                              /* 10 */                  \
	HEAD "kind: Workload\n"                                                        \
	"metadata: {name: remote, namespace: shop, labels: {app: remote}}\n"           \
	"spec: {addresses: [10.78.0.5]}\n"                   /* 14: no interface */    \
	"---\n"                                                                        \
	HEAD "kind: Policy\n"                                /* 16, 17 */              \
	"metadata: {name: web, namespace: shop}\n"                                     \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: web}}\n"            /* 20 */                  \
	"  egress:\n"                                                                  \
	"    - to: [{selector: {matchLabels: {app: api}}}]\n" /* 22: rule 0 */         \
	"      ports: [{protocol: TCP, port: 8080}]\n"                                 \
	"    - to: [{cidr: 192.0.2.0/24}]\n"                 /* 24: rule 1 */          \
	"      action: deny\n"                                                         \
	"---\n"                                                                        \
	HEAD "kind: Policy\n"                                /* 27, 28 */              \
	"metadata: {name: api, namespace: shop}\n"                                     \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: api}}\n"                                      \
	"  ingress:\n"                                                                 \
	"    - from: [{selector: {matchLabels: {app: web}}}]\n" /* 33: rule 0 */       \
	"      ports: [{protocol: TCP, port: 8080}]\n"

static json_t *explain(const struct fx_estate *e, const char *from, const char *to, int proto,
		       int port)
{
	struct zs_explain_query q = { .from = from, .to = to, .proto = proto, .port = port };
	const char *which = NULL;
	json_t *out = NULL;

	assert_int_equal(zs_explain(&e->o, &e->ids, &e->c, &q, &out, &which), 0);
	assert_non_null(out);
	return out;
}

static const char *str(json_t *o, const char *path1, const char *path2)
{
	json_t *v = path2 ? json_object_get(json_object_get(o, path1), path2) : json_object_get(o, path1);
	if (!json_is_string(v))
		fail_msg("%s%s%s: not a string", path1, path2 ? "." : "", path2 ? path2 : "");
	return json_string_value(v);
}

static json_int_t num(json_t *o, const char *path1, const char *path2)
{
	json_t *v = path2 ? json_object_get(json_object_get(o, path1), path2) : json_object_get(o, path1);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_allowed_by_both_sides(void **state)
{
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, ESTATE), 0);
	json_t *r = explain(&e, "shop/web", "shop/api", TCP, 8080);

	assert_string_equal(str(r, "verdict", NULL), "allowed");
	assert_int_equal(num(r, "protocol", NULL), TCP);
	assert_int_equal(num(r, "port", NULL), 8080);
	/* The ends. */
	assert_string_equal(str(r, "from", "address"), "10.77.0.11");
	assert_string_equal(str(r, "from", "workload"), "shop/web");
	assert_int_equal(num(r, "from", "identity"), fx_identity(&e.c, "shop/web"));
	assert_true(json_is_true(json_object_get(json_object_get(r, "from"), "local")));
	assert_null(json_object_get(json_object_get(r, "from"), "cidr"));
	assert_string_equal(str(r, "to", "address"), "10.77.0.12");
	assert_string_equal(str(r, "to", "workload"), "shop/api");
	/* The sides: the rule, and where it was written. */
	assert_true(json_is_true(json_object_get(json_object_get(r, "egress"), "checked")));
	assert_string_equal(str(r, "egress", "subject"), "shop/web");
	assert_string_equal(str(r, "egress", "verdict"), "allow");
	assert_string_equal(str(r, "egress", "policy"), "shop/web");
	assert_int_equal(num(r, "egress", "rule"), 0);
	assert_string_equal(str(r, "egress", "action"), "allow");
	assert_string_equal(str(r, "egress", "source"), "t.yaml:22:7");
	assert_string_equal(str(r, "ingress", "subject"), "shop/api");
	assert_string_equal(str(r, "ingress", "policy"), "shop/api");
	assert_string_equal(str(r, "ingress", "source"), "t.yaml:33:7");
	json_decref(r);
	fx_estate_free(&e);
}

/* No rule for the port: default deny, said as such; the other side still allows. */
static void test_default_deny(void **state)
{
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, ESTATE), 0);
	json_t *r = explain(&e, "shop/web", "shop/api", TCP, 9090);
	assert_string_equal(str(r, "verdict", NULL), "denied");
	assert_string_equal(str(r, "egress", "verdict"), "default-deny");
	assert_string_equal(str(r, "egress", "why"), "no rule allows it (default deny)");
	assert_null(json_object_get(json_object_get(r, "egress"), "policy"));
	assert_string_equal(str(r, "ingress", "verdict"), "default-deny");
	json_decref(r);

	/* The other protocol on the allowed port. */
	r = explain(&e, "shop/web", "shop/api", UDP, 8080);
	assert_string_equal(str(r, "verdict", NULL), "denied");
	json_decref(r);
	fx_estate_free(&e);
}

/* An address in a policy CIDR that a deny rule names: world, the CIDR, the deny rule. */
static void test_deny_rule_and_cidr(void **state)
{
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, ESTATE), 0);
	json_t *r = explain(&e, "shop/web", "192.0.2.7", TCP, 443);
	assert_string_equal(str(r, "verdict", NULL), "denied");
	assert_string_equal(str(r, "to", "address"), "192.0.2.7");
	assert_string_equal(str(r, "to", "entity"), "world");
	assert_null(json_object_get(json_object_get(r, "to"), "workload"));
	assert_int_equal(num(r, "to", "identity"), ZS_ID_WORLD);
	assert_string_equal(str(r, "to", "cidr"), "192.0.2.0/24");
	assert_true(json_is_false(json_object_get(json_object_get(r, "to"), "local")));
	assert_string_equal(str(r, "egress", "verdict"), "deny");
	assert_string_equal(str(r, "egress", "action"), "deny");
	assert_int_equal(num(r, "egress", "rule"), 1);
	assert_string_equal(str(r, "egress", "source"), "t.yaml:24:7");
	/* World is nobody's workload here: its side is its own host's. */
	assert_true(json_is_false(json_object_get(json_object_get(r, "ingress"), "checked")));
	assert_string_equal(str(r, "ingress", "why"),
			    "not a local workload: its own host checks this side");
	json_decref(r);
	fx_estate_free(&e);
}

/* Ends given as addresses: the workload is found from the ipcache; subjects are generic. */
static void test_ends_by_address(void **state)
{
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, ESTATE), 0);
	json_t *r = explain(&e, "10.77.0.11", "10.77.0.12/32", TCP, 8080);
	assert_string_equal(str(r, "verdict", NULL), "allowed");
	assert_string_equal(str(r, "from", "workload"), "shop/web");
	assert_string_equal(str(r, "to", "workload"), "shop/api");
	assert_string_equal(str(r, "egress", "subject"), "source");
	assert_string_equal(str(r, "ingress", "subject"), "destination");
	json_decref(r);

	/* A workload of another host: known, but not local; its egress is not ours to check. */
	r = explain(&e, "shop/remote", "shop/api", TCP, 8080);
	assert_true(json_is_false(json_object_get(json_object_get(r, "from"), "local")));
	assert_true(json_is_false(json_object_get(json_object_get(r, "egress"), "checked")));
	assert_string_equal(str(r, "ingress", "verdict"), "default-deny");
	assert_string_equal(str(r, "verdict", NULL), "denied");
	json_decref(r);
	fx_estate_free(&e);
}

/* The kubernetes posture: what no policy isolates is allowed, and says why. */
static void test_posture_default(void **state)
{
	struct fx_estate e;
	(void)state;

	assert_int_equal(fx_estate_init(&e, ESTATE "---\n" HEAD "kind: Config\nspec: {posture: kubernetes}\n"), 0);
	json_t *r = explain(&e, "shop/api", "shop/web", TCP, 80);
	/* api's egress and web's ingress: no policy isolates either. */
	assert_string_equal(str(r, "egress", "verdict"), "allow");
	assert_string_equal(str(r, "egress", "why"),
			    "posture default: no policy isolates this direction");
	assert_string_equal(str(r, "verdict", NULL), "allowed");
	json_decref(r);
	fx_estate_free(&e);
}

static void test_errors(void **state)
{
	struct fx_estate e;
	struct zs_explain_query q = { .proto = TCP, .port = 80 };
	const char *which;
	json_t *out = NULL;
	(void)state;

	assert_int_equal(fx_estate_init(&e, ESTATE), 0);
	q.from = "shop/nobody", q.to = "shop/api";
	assert_int_equal(zs_explain(&e.o, &e.ids, &e.c, &q, &out, &which), -ENOENT);
	assert_string_equal(which, "shop/nobody");
	q.from = "shop/web", q.to = "web"; /* namespace default: no such workload */
	assert_int_equal(zs_explain(&e.o, &e.ids, &e.c, &q, &out, &which), -ENOENT);
	assert_string_equal(which, "web");
	q.from = "shop/web", q.to = "fd00::1"; /* web has IPv4 only */
	assert_int_equal(zs_explain(&e.o, &e.ids, &e.c, &q, &out, &which), -EAFNOSUPPORT);
	assert_string_equal(which, "fd00::1");
	assert_null(out);

	/* api has both families: the source's decides which is compared. */
	q.from = "fd00::99", q.to = "shop/api";
	assert_int_equal(zs_explain(&e.o, &e.ids, &e.c, &q, &out, &which), 0);
	assert_string_equal(str(out, "to", "address"), "fd00::12");
	json_decref(out);
	fx_estate_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_by_both_sides),
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_deny_rule_and_cidr),
		cmocka_unit_test(test_ends_by_address),
		cmocka_unit_test(test_posture_default),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
