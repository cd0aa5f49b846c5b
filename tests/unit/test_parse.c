// SPDX-License-Identifier: MIT
/*
 * Unit tests for the policy file parser (userspace/parse.c): a valid
 * multi-document file becomes the right objects; every rejected input names
 * file:line:col and leaves the output untouched; zs_validate catches
 * workloads that share an interface or an address; zs_parse_refs reads the
 * kind/namespace/name of each document.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/parse.h"
#include "policy/serial.h"
#include "tests/lib/fixture.h"

#define FILE_NAME "t.yaml"

static int parse(const char *yaml, struct zs_objects *o, struct zs_diags *d)
{
	return zs_parse_buffer(FILE_NAME, yaml, strlen(yaml), o, d);
}

/* Parses `yaml`, expects exactly one diagnostic equal to `want` and no objects. */
static void expect_error(const char *yaml, const char *want)
{
	struct zs_objects o;
	struct zs_diags d = { 0 };

	zs_objects_init(&o);
	assert_int_equal(parse(yaml, &o, &d), -EINVAL);
	if (d.msgs.n != 1)
		zs_diags_print(&d, stderr);
	assert_int_equal(d.msgs.n, 1);
	assert_string_equal(d.msgs.v[0], want);
	assert_int_equal(o.workloads.n, 0);
	assert_int_equal(o.policies.n, 0);
	assert_int_equal(o.namespaces.n, 0);
	assert_false(o.has_config);
	zs_diags_free(&d);
	zs_objects_free(&o);
}

static void assert_ipv4(const struct zs_prefix *p, uint8_t a, uint8_t b, uint8_t c, uint8_t x,
			uint8_t len)
{
	static const uint8_t zero[12];

	assert_int_equal(p->family, 4);
	assert_int_equal(p->len, len);
	assert_int_equal(p->addr[0], a);
	assert_int_equal(p->addr[1], b);
	assert_int_equal(p->addr[2], c);
	assert_int_equal(p->addr[3], x);
	assert_memory_equal(&p->addr[4], zero, sizeof(zero));
}

/* ---- a valid file -------------------------------------------------------- */

static const char valid_yaml[] =
	"# a comment line\n"
	"apiVersion: zeroseg.io/v1\n"
	"kind: Workload\n"
	"metadata: {name: web, labels: {tier: front, zone: a, app: web}}\n"
	"spec: {interface: zsd-web, addresses: [10.77.0.11, \"fd00::11\"]}\n"
	"---\n"
	"apiVersion: zeroseg.io/v1\n"
	"kind: Workload\n"
	"metadata: {name: api, namespace: shop, labels: {app: api}}\n"
	"spec: {interface: zsd-api, addresses: [10.77.0.0/24]}\n"
	"---\n"
	"apiVersion: zeroseg.io/v1\n"
	"kind: Policy\n"
	"metadata: {name: api-in, namespace: shop}\n"
	"spec:\n"
	"  selector: {matchLabels: {app: api}}\n"
	"  ingress:\n"
	"    - from: [{selector: {matchLabels: {app: web}}}]\n"
	"      ports: [{port: 8080}, {protocol: UDP, port: 5000, endPort: 5010}]\n"
	"  egress:\n"
	"    - action: deny\n";

static void test_valid_multi_document(void **state)
{
	struct fx_parsed *t = *state;

	assert_int_equal(parse(valid_yaml, &t->o, &t->d), 0);
	assert_int_equal(t->d.msgs.n, 0);
	assert_int_equal(t->o.workloads.n, 2);
	assert_int_equal(t->o.policies.n, 1);
	assert_int_equal(t->o.namespaces.n, 0);
	assert_false(t->o.has_config);

	const struct zs_workload *web = &t->o.workloads.v[0];
	assert_string_equal(web->name, "web");
	assert_string_equal(web->ns, "default"); /* no namespace given */
	assert_int_equal(web->labels.n, 3);      /* sorted by key */
	assert_string_equal(web->labels.v[0].key, "app");
	assert_string_equal(web->labels.v[0].value, "web");
	assert_string_equal(web->labels.v[1].key, "tier");
	assert_string_equal(web->labels.v[1].value, "front");
	assert_string_equal(web->labels.v[2].key, "zone");
	assert_string_equal(web->labels.v[2].value, "a");
	assert_non_null(web->ifname);
	assert_string_equal(web->ifname, "zsd-web");
	assert_int_equal(web->naddrs, 2);
	assert_ipv4(&web->addrs[0], 10, 77, 0, 11, 32);
	assert_int_equal(web->addrs[1].family, 6);
	assert_int_equal(web->addrs[1].len, 128);
	assert_int_equal(web->addrs[1].addr[0], 0xfd);
	assert_int_equal(web->addrs[1].addr[15], 0x11);
	assert_string_equal(web->mark.file, FILE_NAME);
	assert_int_equal(web->mark.line, 2);
	assert_int_equal(web->mark.col, 1);

	const struct zs_workload *api = &t->o.workloads.v[1];
	assert_string_equal(api->name, "api");
	assert_string_equal(api->ns, "shop");
	assert_int_equal(api->labels.n, 1);
	assert_string_equal(api->ifname, "zsd-api");
	assert_int_equal(api->naddrs, 1);
	assert_ipv4(&api->addrs[0], 10, 77, 0, 0, 24);
	assert_int_equal(api->mark.line, 7);

	const struct zs_policy *p = &t->o.policies.v[0];
	assert_string_equal(p->name, "api-in");
	assert_string_equal(p->ns, "shop");
	assert_int_equal(p->mode, ZS_MODE_ENFORCE);
	assert_false(p->from_k8s);
	assert_int_equal(p->mark.line, 12);
	assert_int_equal(p->selector.n, 1);
	assert_string_equal(p->selector.req[0].key, "app");
	assert_int_equal(p->selector.req[0].op, ZS_SEL_IN);
	assert_int_equal(p->selector.req[0].nvalues, 1);
	assert_string_equal(p->selector.req[0].values[0], "api");

	assert_true(p->has_ingress);
	assert_int_equal(p->ningress, 1);
	const struct zs_rule *r = &p->ingress[0];
	assert_int_equal(r->action, ZS_ACTION_ALLOW);
	assert_int_equal(r->mark.line, 18);
	assert_int_equal(r->mark.col, 7);
	assert_false(r->all_peers);
	assert_int_equal(r->npeers, 1);
	assert_true(r->peers[0].has_selector);
	assert_false(r->peers[0].has_ns_selector);
	assert_false(r->peers[0].has_cidr);
	assert_int_equal(r->peers[0].entity, ZS_ENTITY_NONE);
	assert_int_equal(r->peers[0].selector.n, 1);
	assert_string_equal(r->peers[0].selector.req[0].key, "app");
	assert_string_equal(r->peers[0].selector.req[0].values[0], "web");

	assert_false(r->all_ports);
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0].proto, 6); /* protocol missing: TCP */
	assert_false(r->ports[0].any_port);
	assert_int_equal(r->ports[0].port, 8080);
	assert_int_equal(r->ports[0].end, 8080);
	assert_null(r->ports[0].name);
	assert_int_equal(r->ports[0].mark.line, 19);
	assert_int_equal(r->ports[0].mark.col, 15);
	assert_int_equal(r->ports[1].proto, 17);
	assert_int_equal(r->ports[1].port, 5000);
	assert_int_equal(r->ports[1].end, 5010);

	assert_true(p->has_egress);
	assert_int_equal(p->negress, 1);
	assert_true(p->egress[0].all_peers);
	assert_true(p->egress[0].all_ports);
	assert_int_equal(p->egress[0].action, ZS_ACTION_DENY);
}

static void test_selector_unknown_label_key_is_fine(void **state)
{
	static const char yaml[] =
		"apiVersion: zeroseg.io/v1\n"
		"kind: Policy\n"
		"metadata: {name: p}\n"
		"spec:\n"
		"  selector:\n"
		"    matchLabels: {no-such-key: x}\n"
		"    matchExpressions:\n"
		"      - {key: other-unknown, operator: DoesNotExist}\n"
		"  ingress:\n"
		"    - from: [{selector: {matchLabels: {never/seen: y}}}]\n";
	struct fx_parsed *t = *state;

	assert_int_equal(parse(yaml, &t->o, &t->d), 0);
	assert_int_equal(t->d.msgs.n, 0);
	assert_int_equal(t->o.policies.n, 1);
	const struct zs_selector *s = &t->o.policies.v[0].selector;
	assert_int_equal(s->n, 2);
	assert_string_equal(s->req[0].key, "no-such-key");
	assert_int_equal(s->req[0].op, ZS_SEL_IN);
	assert_string_equal(s->req[1].key, "other-unknown");
	assert_int_equal(s->req[1].op, ZS_SEL_DOES_NOT_EXIST);
	assert_int_equal(s->req[1].nvalues, 0);
	assert_string_equal(t->o.policies.v[0].ingress[0].peers[0].selector.req[0].key, "never/seen");
}

/* ---- errors, each with its exact position -------------------------------- */

static void test_error_unknown_field(void **state)
{
	(void)state;
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Workload\n"
		     "metadata: {name: web}\n"
		     "spec:\n"
		     "  interface: zsd-web\n"
		     "  addresses: [10.0.0.1]\n"
		     "  colour: red\n",
		     "t.yaml:7:3: Workload spec: unknown field \"colour\"");
}

/* A Policy whose one ingress rule has the ports item `item` on line 7, col 15. */
static void expect_port_error(const char *item, const char *want)
{
	char yaml[512];

	snprintf(yaml, sizeof(yaml),
		 "apiVersion: zeroseg.io/v1\n"
		 "kind: Policy\n"
		 "metadata: {name: p}\n"
		 "spec:\n"
		 "  selector: {}\n"
		 "  ingress:\n"
		 "    - ports: [%s]\n",
		 item);
	expect_error(yaml, want);
}

static void test_error_port_zero(void **state)
{
	(void)state;
	expect_port_error("{protocol: TCP, port: 0}", "t.yaml:7:37: port must be 1..65535, got 0");
}

static void test_error_port_too_big(void **state)
{
	(void)state;
	expect_port_error("{port: 65536}", "t.yaml:7:22: port must be 1..65535, got 65536");
}

static void test_error_end_port_below_port(void **state)
{
	(void)state;
	expect_port_error("{port: 80, endPort: 79}", "t.yaml:7:35: endPort 79 is below port 80");
}

static void test_error_unknown_protocol(void **state)
{
	(void)state;
	expect_port_error("{protocol: XTP, port: 80}",
			  "t.yaml:7:26: unknown protocol \"XTP\" (TCP, UDP, SCTP, ICMP, ICMPv6, any)");
}

static void test_error_bad_address(void **state)
{
	(void)state;
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Workload\n"
		     "metadata: {name: web}\n"
		     "spec:\n"
		     "  interface: zsd-web\n"
		     "  addresses:\n"
		     "    - 10.0.0.1\n"
		     "    - 10.0.0.300\n",
		     "t.yaml:8:7: address: \"10.0.0.300\" is not an address or prefix");
}

static void test_error_bad_cidr(void **state)
{
	(void)state;
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Policy\n"
		     "metadata: {name: p}\n"
		     "spec:\n"
		     "  selector: {}\n"
		     "  egress:\n"
		     "    - to: [{cidr: 10.0.0.0/33}]\n",
		     "t.yaml:7:19: cidr: \"10.0.0.0/33\" is not an address or prefix");
}

static void test_error_host_bits_set(void **state)
{
	(void)state;
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Policy\n"
		     "metadata: {name: p}\n"
		     "spec:\n"
		     "  selector: {}\n"
		     "  egress:\n"
		     "    - to: [{cidr: 10.1.2.3/8}]\n",
		     "t.yaml:7:19: cidr: \"10.1.2.3/8\" has host bits set");
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Workload\n"
		     "metadata: {name: web}\n"
		     "spec: {addresses: [10.0.0.1/24]}\n",
		     "t.yaml:4:20: address: \"10.0.0.1/24\" has host bits set");
}

static void test_error_yaml_syntax(void **state)
{
	(void)state;
	/* The flow mapping on line 3 is never closed; libyaml notices on line 4. */
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Workload\n"
		     "metadata: {name: web\n"
		     "spec: {addresses: [10.0.0.1]}\n",
		     "t.yaml:4:5: syntax: did not find expected ',' or '}' while parsing a flow mapping");
}

static void test_error_missing_api_version(void **state)
{
	(void)state;
	/* The first document is valid but must not be kept either. */
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Workload\n"
		     "metadata: {name: web}\n"
		     "spec: {addresses: [10.0.0.1]}\n"
		     "---\n"
		     "kind: Workload\n"
		     "metadata: {name: api}\n"
		     "spec: {addresses: [10.0.0.2]}\n",
		     "t.yaml:6:1: apiVersion: missing (zeroseg.io/v1 or networking.k8s.io/v1)");
}

static void test_error_unknown_kind(void **state)
{
	(void)state;
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Gadget\n"
		     "metadata: {name: web}\n",
		     "t.yaml:2:7: kind: \"Gadget\" is not a kind of zeroseg.io/v1");
}

static void test_error_match_expressions_operator(void **state)
{
	(void)state;
	expect_error("apiVersion: zeroseg.io/v1\n"
		     "kind: Policy\n"
		     "metadata: {name: p}\n"
		     "spec:\n"
		     "  selector:\n"
		     "    matchExpressions:\n"
		     "      - {key: app, operator: Near, values: [web]}\n"
		     "  ingress: []\n",
		     "t.yaml:7:30: matchExpressions: unknown operator \"Near\" (In, NotIn, Exists, DoesNotExist)");
}

/* A failed parse leaves objects that were already there exactly as they were. */
static void test_error_appends_nothing(void **state)
{
	static const char good[] = "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {name: a}\n"
				   "spec: {interface: eth-a, addresses: [10.0.0.1]}\n";
	static const char bad[] = "apiVersion: zeroseg.io/v1\n"
				  "kind: Workload\n"
				  "metadata: {name: a}\n"
				  "spec: {interface: eth-new, addresses: [10.0.0.9]}\n"
				  "---\n"
				  "apiVersion: zeroseg.io/v1\n"
				  "kind: Workload\n"
				  "metadata: {name: b}\n"
				  "spec: {interface: eth-b, addresses: [10.0.0.2]}\n"
				  "---\n"
				  "apiVersion: zeroseg.io/v1\n"
				  "kind: Policy\n"
				  "metadata: {name: p}\n"
				  "spec: {selector: {}, ingress: [{ports: [{port: 0}]}]}\n"
				  "---\n"
				  "apiVersion: zeroseg.io/v1\n"
				  "kind: Config\n"
				  "spec: {posture: kubernetes}\n";
	struct fx_parsed *t = *state;

	assert_int_equal(parse(good, &t->o, &t->d), 0);
	assert_int_equal(t->o.workloads.n, 1);

	assert_int_equal(zs_parse_buffer("bad.yaml", bad, strlen(bad), &t->o, &t->d), -EINVAL);
	assert_int_equal(t->d.msgs.n, 1);
	assert_string_equal(t->d.msgs.v[0], "bad.yaml:14:48: port must be 1..65535, got 0");
	assert_int_equal(t->o.workloads.n, 1);
	assert_int_equal(t->o.policies.n, 0);
	assert_false(t->o.has_config);
	assert_int_equal(t->o.posture, ZS_POSTURE_DENY);
	/* Not replaced by the bad batch's "a". */
	assert_string_equal(t->o.workloads.v[0].ifname, "eth-a");
	assert_ipv4(&t->o.workloads.v[0].addrs[0], 10, 0, 0, 1, 32);
}

/* A later object of the same identity replaces the earlier, within a batch and across them. */
static void test_merge_replaces(void **state)
{
	static const char first[] = "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				    "metadata: {name: a, namespace: n}\n"
				    "spec: {interface: if-a, addresses: [10.0.0.1]}\n---\n"
				    "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				    "metadata: {name: b, namespace: n}\n"
				    "spec: {interface: if-b, addresses: [10.0.0.2]}\n---\n"
				    "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				    "metadata: {name: a, namespace: n}\n"
				    "spec: {interface: if-a2, addresses: [10.0.0.3]}\n---\n"
				    "apiVersion: zeroseg.io/v1\nkind: Policy\n"
				    "metadata: {name: p, namespace: n}\n"
				    "spec: {selector: {}, ingress: []}\n---\n"
				    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				    "metadata: {name: p, namespace: n}\n"
				    "spec: {podSelector: {}}\n";
	static const char second[] = "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				     "metadata: {name: b, namespace: n}\n"
				     "spec: {interface: if-b2, addresses: [10.0.0.4]}\n---\n"
				     "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				     "metadata: {name: a, namespace: other}\n"
				     "spec: {interface: if-c, addresses: [10.0.0.5]}\n---\n"
				     "apiVersion: zeroseg.io/v1\nkind: Namespace\n"
				     "metadata: {name: n, labels: {team: x}}\n---\n"
				     "apiVersion: zeroseg.io/v1\nkind: Namespace\n"
				     "metadata: {name: n, labels: {team: y}}\n";
	struct fx_parsed *t = *state;

	assert_int_equal(parse(first, &t->o, &t->d), 0);
	assert_int_equal(t->o.workloads.n, 2);
	assert_string_equal(t->o.workloads.v[0].ifname, "if-a2"); /* the later "a" */
	assert_string_equal(t->o.workloads.v[1].ifname, "if-b");
	assert_int_equal(t->o.policies.n, 2); /* a Policy and a NetworkPolicy may share a name */
	assert_int_equal(zs_parse_buffer("second.yaml", second, strlen(second), &t->o, &t->d), 0);
	assert_int_equal(t->o.workloads.n, 3);
	assert_string_equal(t->o.workloads.v[0].ifname, "if-a2");
	assert_string_equal(t->o.workloads.v[1].ifname, "if-b2"); /* replaced in place */
	assert_string_equal(t->o.workloads.v[2].ns, "other");
	assert_int_equal(t->o.namespaces.n, 1);
	assert_string_equal(t->o.namespaces.v[0].labels.v[0].value, "y");
}

/* The state file's text (kept per object) is the objects' JSON, also after a change. */
static void assert_state_text_fresh(struct zs_objects *o)
{
	json_t *a = zs_objects_to_json(o);
	char *want = json_dumps(a, JSON_COMPACT), *got = zs_objects_state_json(o);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(a);
}

static void test_state_text_follows_changes(void **state)
{
	static const char first[] = "apiVersion: zeroseg.io/v1\nkind: Config\nspec: {posture: kubernetes}\n---\n"
				    "apiVersion: zeroseg.io/v1\nkind: Namespace\nmetadata: {name: n, labels: {team: x}}\n---\n"
				    "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				    "metadata: {name: b, namespace: n, labels: {app: b}}\n"
				    "spec: {interface: if-b, addresses: [10.0.0.2]}\n---\n"
				    "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				    "metadata: {name: a, namespace: n, labels: {app: a}}\n"
				    "spec: {interface: if-a, addresses: [10.0.0.1]}\n---\n"
				    "apiVersion: zeroseg.io/v1\nkind: Policy\n"
				    "metadata: {name: p, namespace: n}\nspec: {selector: {}, ingress: []}\n";
	static const char second[] = "apiVersion: zeroseg.io/v1\nkind: Workload\n"
				     "metadata: {name: a, namespace: n, labels: {app: a2}}\n"
				     "spec: {interface: if-a, addresses: [10.0.0.9]}\n";
	struct zs_objects o, copy;
	struct zs_diags d = { 0 };
	(void)state;

	zs_objects_init(&o);
	assert_int_equal(parse(first, &o, &d), 0);
	assert_state_text_fresh(&o); /* made and kept */
	assert_state_text_fresh(&o); /* from what was kept */
	zs_objects_copy(&o, &copy); /* a transaction's copy keeps the texts */
	assert_int_equal(zs_parse_buffer("second.yaml", second, strlen(second), &copy, &d), 0);
	assert_state_text_fresh(&copy); /* the replaced workload is made anew */
	char *text = zs_objects_state_json(&copy);
	assert_non_null(strstr(text, "10.0.0.9"));
	assert_null(strstr(text, "10.0.0.1\""));
	free(text);
	zs_objects_free(&copy);
	zs_objects_free(&o);
	zs_diags_free(&d);
}

/* ---- zs_validate ---------------------------------------------------------- */

static void test_validate_duplicate_interface(void **state)
{
	static const char a[] = "apiVersion: zeroseg.io/v1\n"
				"kind: Workload\n"
				"metadata: {name: a}\n"
				"spec: {interface: eth-a, addresses: [10.0.0.1]}\n";
	static const char b[] = "# b takes a's interface\n"
				"apiVersion: zeroseg.io/v1\n"
				"kind: Workload\n"
				"metadata: {name: b, namespace: other}\n"
				"spec: {interface: eth-a, addresses: [10.0.0.2]}\n";
	struct fx_parsed *t = *state;

	assert_int_equal(zs_parse_buffer("a.yaml", a, strlen(a), &t->o, &t->d), 0);
	assert_int_equal(zs_validate(&t->o, &t->d), 0);
	/* Each file is valid on its own; the whole state is not. */
	assert_int_equal(zs_parse_buffer("b.yaml", b, strlen(b), &t->o, &t->d), 0);
	assert_int_equal(t->d.msgs.n, 0);
	assert_int_equal(t->o.workloads.n, 2);
	assert_int_equal(zs_validate(&t->o, &t->d), -EINVAL);
	assert_int_equal(t->d.msgs.n, 1);
	assert_string_equal(t->d.msgs.v[0],
			    "b.yaml:2:1: Workload other/b: interface eth-a is already default/a's");
}

static void test_validate_duplicate_address(void **state)
{
	static const char yaml[] = "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {name: a}\n"
				   "spec: {interface: eth-a, addresses: [10.0.0.1, \"fd00::1\"]}\n"
				   "---\n"
				   "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {name: b}\n"
				   "spec: {interface: eth-b, addresses: [10.0.0.2, \"fd00::1\"]}\n";
	struct fx_parsed *t = *state;

	/* Within one buffer, zs_parse_buffer validates the batch. */
	assert_int_equal(parse(yaml, &t->o, &t->d), -EINVAL);
	assert_int_equal(t->o.workloads.n, 0);
	assert_int_equal(t->d.msgs.n, 1);
	assert_string_equal(t->d.msgs.v[0],
			    "t.yaml:6:1: Workload default/b: address fd00::1 is already default/a's");
}

static void test_validate_distinct_ok(void **state)
{
	static const char yaml[] = "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {name: a}\n"
				   "spec: {interface: eth-a, addresses: [10.0.0.1]}\n"
				   "---\n"
				   "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {name: remote}\n"
				   "spec: {addresses: [10.0.0.2]}\n"
				   "---\n"
				   "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {name: remote2}\n"
				   "spec: {addresses: [10.0.0.3]}\n";
	struct fx_parsed *t = *state;

	assert_int_equal(parse(yaml, &t->o, &t->d), 0);
	assert_int_equal(t->o.workloads.n, 3);
	/* Two workloads without an interface do not share one. */
	assert_null(t->o.workloads.v[1].ifname);
	assert_null(t->o.workloads.v[2].ifname);
	assert_int_equal(zs_validate(&t->o, &t->d), 0);
	assert_int_equal(t->d.msgs.n, 0);
}

/* ---- zs_parse_refs -------------------------------------------------------- */

static void test_parse_refs(void **state)
{
	static const char yaml[] = "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {name: web, namespace: shop}\n"
				   "---\n"
				   "apiVersion: zeroseg.io/v1\n"
				   "kind: Policy\n"
				   "metadata: {name: web-egress}\n"
				   "spec: {whatever: is not parsed}\n"
				   "---\n"
				   "apiVersion: zeroseg.io/v1\n"
				   "kind: Namespace\n"
				   "metadata: {name: shop}\n"
				   "---\n"
				   "apiVersion: zeroseg.io/v1\n"
				   "kind: Config\n";
	zs_refs_t refs = { 0 };
	struct zs_diags d = { 0 };
	(void)state;

	assert_int_equal(zs_parse_refs(FILE_NAME, yaml, strlen(yaml), &refs, &d), 0);
	assert_int_equal(d.msgs.n, 0);
	assert_int_equal(refs.n, 4);
	assert_int_equal(refs.v[0].kind, ZS_KIND_WORKLOAD);
	assert_string_equal(refs.v[0].ns, "shop");
	assert_string_equal(refs.v[0].name, "web");
	assert_int_equal(refs.v[1].kind, ZS_KIND_POLICY);
	assert_string_equal(refs.v[1].ns, "default");
	assert_string_equal(refs.v[1].name, "web-egress");
	assert_int_equal(refs.v[2].kind, ZS_KIND_NAMESPACE);
	assert_string_equal(refs.v[2].name, "shop");
	assert_int_equal(refs.v[3].kind, ZS_KIND_CONFIG);
	assert_string_equal(refs.v[3].name, "");
	zs_refs_free(&refs);
	zs_diags_free(&d);
}

static void test_parse_refs_errors(void **state)
{
	static const char yaml[] = "apiVersion: zeroseg.io/v1\n"
				   "kind: Workload\n"
				   "metadata: {namespace: shop}\n";
	zs_refs_t refs = { 0 };
	struct zs_diags d = { 0 };
	(void)state;

	assert_int_equal(zs_parse_refs(FILE_NAME, yaml, strlen(yaml), &refs, &d), -EINVAL);
	assert_int_equal(refs.n, 0);
	assert_int_equal(d.msgs.n, 1);
	assert_string_equal(d.msgs.v[0], "t.yaml:3:11: metadata.name: missing");
	zs_refs_free(&refs);
	zs_diags_free(&d);
}

/* A deep copy: the same objects (as serialized), marks kept and owned by the copy. */
static void test_objects_copy(void **state)
{
	static const char yaml[] =
		"apiVersion: zeroseg.io/v1\nkind: Workload\n"
		"metadata: {name: w, namespace: n, labels: {app: a}}\n"
		"spec: {interface: if1, addresses: [10.0.0.1, 'fd00::1'], ports: [{name: http, port: 80}]}\n"
		"---\napiVersion: zeroseg.io/v1\nkind: Namespace\nmetadata: {name: n, labels: {env: prod}}\n"
		"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: n}\n"
		"spec:\n  podSelector: {matchExpressions: [{key: app, operator: In, values: [a, b]}]}\n"
		"  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}], ports: [{port: http}]}]\n";
	struct zs_objects o, c;
	struct zs_diags d = { 0 };
	(void)state;

	zs_objects_init(&o);
	assert_int_equal(parse(yaml, &o, &d), 0);
	zs_objects_copy(&o, &c);
	char *a = zs_objects_to_text(&o), *b = zs_objects_to_text(&c);
	assert_string_equal(a, b);
	const struct zs_rule *r = &c.policies.v[0].ingress[0];
	assert_string_equal(r->mark.file, FILE_NAME);
	assert_int_equal(r->mark.line, o.policies.v[0].ingress[0].mark.line);
	assert_ptr_not_equal(r->mark.file, o.policies.v[0].ingress[0].mark.file);
	zs_objects_free(&o); /* the copy owns everything it points to */
	char *b2 = zs_objects_to_text(&c);
	assert_string_equal(a, b2);
	assert_string_equal(c.policies.v[0].ingress[0].peers[0].mark.file, FILE_NAME);
	free(a);
	free(b);
	free(b2);
	zs_objects_free(&c);
	zs_diags_free(&d);
}

/* A test on a fresh struct fx_parsed in *state. */
#define PARSED(test) cmocka_unit_test_setup_teardown(test, fx_parsed_setup, fx_parsed_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PARSED(test_valid_multi_document),
		PARSED(test_selector_unknown_label_key_is_fine),
		cmocka_unit_test(test_error_unknown_field),
		cmocka_unit_test(test_error_port_zero),
		cmocka_unit_test(test_error_port_too_big),
		cmocka_unit_test(test_error_end_port_below_port),
		cmocka_unit_test(test_error_unknown_protocol),
		cmocka_unit_test(test_error_bad_address),
		cmocka_unit_test(test_error_bad_cidr),
		cmocka_unit_test(test_error_host_bits_set),
		cmocka_unit_test(test_error_yaml_syntax),
		cmocka_unit_test(test_error_missing_api_version),
		cmocka_unit_test(test_error_unknown_kind),
		cmocka_unit_test(test_error_match_expressions_operator),
		PARSED(test_error_appends_nothing),
		PARSED(test_validate_duplicate_interface),
		PARSED(test_validate_duplicate_address),
		PARSED(test_validate_distinct_ok),
		cmocka_unit_test(test_parse_refs),
		cmocka_unit_test(test_parse_refs_errors),
		cmocka_unit_test(test_objects_copy),
		PARSED(test_merge_replaces),
		cmocka_unit_test(test_state_text_follows_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
