// SPDX-License-Identifier: MIT
/*
 * Unit tests for `diff` (userspace/policy/diff.c): each object of a batch is
 * created, configured or unchanged against the state; the map entries a new
 * compile would add, remove or change (policy entries, ipcache, endpoints);
 * whether anything would change at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bpf/abi.h"
#include "tests/lib/fixture.h"
#include "policy/diff.h"

#define HEAD "apiVersion: zeroseg.io/v1\n"

#define WEB                                                                            \
	HEAD "kind: Workload\n"                                                        \
	"metadata: {name: web, namespace: shop, labels: {app: web}}\n"                 \
	"spec: {interface: zsd-web, addresses: [10.77.0.11]}\n"
#define API                                                                            \
	HEAD "kind: Workload\n"                                                        \
	"metadata: {name: api, namespace: shop, labels: {app: api}}\n"                 \
	"spec: {interface: zsd-api, addresses: [10.77.0.12]}\n"
#define DB                                                                             \
	HEAD "kind: Workload\n"                                                        \
	"metadata: {name: db, namespace: shop, labels: {app: db}}\n"                   \
	"spec: {interface: zsd-db, addresses: [10.77.0.13]}\n"
#define DB_INGRESS(peer) POLICY("db-ingress", "db", peer)
#define POLICY(name, subject, peer)                                                    \
	HEAD "kind: Policy\n"                                                          \
	"metadata: {name: " name ", namespace: shop}\n"                                \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: " subject "}}\n"                              \
	"  ingress:\n"                                                                 \
	"    - from: [{selector: {matchLabels: {app: " peer "}}}]\n"                   \
	"      ports: [{protocol: TCP, port: 5432}]\n"
#define SEP "---\n"

/* The state: web, api, db; db takes 5432 from api, api from web. */
#define STATE WEB SEP API SEP DB SEP DB_INGRESS("api") SEP POLICY("api-ingress", "api", "web")

/* `o` made empty, then the objects of `yaml` (as "t.yaml"). */
static void estate_parse(struct zs_objects *o, const char *yaml)
{
	zs_objects_init(o);
	assert_int_equal(fx_parse(o, "t.yaml", yaml, 0), 0);
}

/*
 * What the daemon does for a diff: the state's objects with `batch_yaml`
 * merged in, compiled from the state's identities.
 */
static void estate_next(const struct fx_estate *now, const char *batch_yaml, struct fx_estate *next)
{
	struct zs_objects batch;

	memset(next, 0, sizeof(*next));
	estate_parse(&batch, batch_yaml);
	zs_objects_copy(&now->o, &next->o);
	zs_objects_merge(&next->o, &batch);
	zs_objects_free(&batch);
	zs_identities_clone(&now->ids, &next->ids);
	assert_int_equal(fx_estate_compile(next), 0);
}

static void assert_change(json_t *changes, size_t i, const char *kind, const char *ns,
			  const char *name, const char *change)
{
	json_t *c = json_array_get(changes, i);

	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "kind")), kind);
	if (ns)
		assert_string_equal(json_string_value(json_object_get(c, "namespace")), ns);
	else if (!strcmp(kind, "Config")) /* no namespace key at all */
		assert_null(json_object_get(c, "namespace"));
	else /* a Namespace: null */
		assert_true(json_is_null(json_object_get(c, "namespace")));
	assert_string_equal(json_string_value(json_object_get(c, "name")), name);
	assert_string_equal(json_string_value(json_object_get(c, "change")), change);
}

static json_int_t num(json_t *entries, const char *group, const char *key)
{
	json_t *v = group ? json_object_get(json_object_get(entries, group), key) :
			    json_object_get(entries, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* ---- objects ------------------------------------------------------------ */

static void test_objects_created_configured_unchanged(void **state)
{
	struct fx_estate e;
	struct zs_objects batch;
	(void)state;

	assert_int_equal(fx_estate_init(&e, STATE), 0);
	estate_parse(&batch, HEAD "kind: Config\nspec: {posture: kubernetes}\n" SEP
			   HEAD "kind: Namespace\nmetadata: {name: shop}\n" SEP
			   WEB SEP
			   HEAD "kind: Workload\n"
			   "metadata: {name: api, namespace: shop, labels: {app: api, v: \"2\"}}\n"
			   "spec: {interface: zsd-api, addresses: [10.77.0.12]}\n" SEP
			   HEAD "kind: Workload\n"
			   "metadata: {name: cache, namespace: shop, labels: {app: cache}}\n"
			   "spec: {interface: zsd-cache, addresses: [10.77.0.14]}\n" SEP
			   DB_INGRESS("api") SEP POLICY("api-ingress", "api", "db"));
	json_t *changes = zs_diff_objects(&e.o, &batch);

	/* Config, namespaces, workloads, policies: the batch's order within each. */
	assert_int_equal(json_array_size(changes), 7);
	assert_change(changes, 0, "Config", NULL, "default", "configured");
	assert_change(changes, 1, "Namespace", NULL, "shop", "created");
	assert_change(changes, 2, "Workload", "shop", "web", "unchanged");
	assert_change(changes, 3, "Workload", "shop", "api", "configured");
	assert_change(changes, 4, "Workload", "shop", "cache", "created");
	assert_change(changes, 5, "Policy", "shop", "db-ingress", "unchanged");
	assert_change(changes, 6, "Policy", "shop", "api-ingress", "configured");
	json_decref(changes);
	zs_objects_free(&batch);
	fx_estate_free(&e);
}

static void test_config_and_namespace_unchanged(void **state)
{
	struct fx_estate e;
	struct zs_objects batch;
	(void)state;

	assert_int_equal(fx_estate_init(&e, STATE SEP HEAD "kind: Config\nspec: {posture: kubernetes}\n" SEP
		    HEAD "kind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n"), 0);
	estate_parse(&batch, HEAD "kind: Config\nspec: {posture: kubernetes}\n" SEP
			   HEAD "kind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n");
	json_t *changes = zs_diff_objects(&e.o, &batch);
	assert_int_equal(json_array_size(changes), 2);
	assert_change(changes, 0, "Config", NULL, "default", "unchanged");
	assert_change(changes, 1, "Namespace", NULL, "shop", "unchanged");
	json_decref(changes);
	zs_objects_free(&batch);

	/* Another posture, other labels. */
	estate_parse(&batch, HEAD "kind: Config\nspec: {posture: deny}\n" SEP
			   HEAD "kind: Namespace\nmetadata: {name: shop, labels: {team: b}}\n");
	changes = zs_diff_objects(&e.o, &batch);
	assert_change(changes, 0, "Config", NULL, "default", "configured");
	assert_change(changes, 1, "Namespace", NULL, "shop", "configured");
	json_decref(changes);
	zs_objects_free(&batch);
	fx_estate_free(&e);
}

/* A NetworkPolicy is not the Policy of the same name. */
static void test_networkpolicy_is_its_own_object(void **state)
{
	struct fx_estate e;
	struct zs_objects batch;
	(void)state;

	assert_int_equal(fx_estate_init(&e, STATE), 0);
	estate_parse(&batch, "apiVersion: networking.k8s.io/v1\n"
		      "kind: NetworkPolicy\n"
		      "metadata: {name: db-ingress, namespace: shop}\n"
		      "spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}\n");
	json_t *changes = zs_diff_objects(&e.o, &batch);
	assert_int_equal(json_array_size(changes), 1);
	assert_change(changes, 0, "NetworkPolicy", "shop", "db-ingress", "created");
	json_decref(changes);
	zs_objects_free(&batch);
	fx_estate_free(&e);
}

/* ---- map entries -------------------------------------------------------- */

static void test_entries_same_state_nothing_changes(void **state)
{
	struct fx_estate e, next;
	(void)state;

	assert_int_equal(fx_estate_init(&e, STATE), 0);
	estate_next(&e, DB_INGRESS("api"), &next);
	json_t *entries = zs_diff_entries(&e.c, &next.c), *objects = zs_diff_objects(&e.o, &e.o);
	assert_int_equal(num(entries, "policy", "added"), 0);
	assert_int_equal(num(entries, "policy", "removed"), 0);
	assert_int_equal(num(entries, "ipcache", "added"), 0);
	assert_int_equal(num(entries, "ipcache", "removed"), 0);
	assert_int_equal(num(entries, "ipcache", "changed"), 0);
	assert_int_equal(num(entries, NULL, "endpoints"), 0);
	assert_false(zs_diff_changed(objects, entries));
	json_decref(objects);
	json_decref(entries);
	fx_estate_free(&next);
	fx_estate_free(&e);
}

/* Entries of `subject` (in `c`) whose peer is `peer`. */
static size_t entries_for_peer(const struct zs_compiled *c, uint32_t subject, uint32_t peer)
{
	const struct zs_subject *s = zs_compiled_subject(c, subject);
	size_t n = 0;

	for (size_t i = 0; s && i < s->n; i++)
		n += s->e[i].peer == peer;
	return n;
}

/* db's ingress now from web instead of api: api's entries go, web's come. */
static void test_entries_policy_added_and_removed(void **state)
{
	struct fx_estate e, next;
	(void)state;

	assert_int_equal(fx_estate_init(&e, STATE), 0);
	estate_next(&e, DB_INGRESS("web"), &next);
	uint32_t db = fx_identity(&e.c, "shop/db"), api = fx_identity(&e.c, "shop/api"),
		 web = fx_identity(&e.c, "shop/web");
	size_t gone = entries_for_peer(&e.c, db, api), come = entries_for_peer(&next.c, db, web);
	assert_true(gone > 0);
	assert_true(come > 0);
	assert_int_equal(entries_for_peer(&next.c, db, api), 0);

	json_t *entries = zs_diff_entries(&e.c, &next.c);
	assert_int_equal(num(entries, "policy", "added"), come);
	assert_int_equal(num(entries, "policy", "removed"), gone);
	assert_int_equal(num(entries, NULL, "endpoints"), 0);
	json_t *objects = json_array(); /* no object changed: the entries alone say so */
	assert_true(zs_diff_changed(objects, entries));
	json_decref(objects);
	json_decref(entries);
	fx_estate_free(&next);
	fx_estate_free(&e);
}

/* A new workload, one gone, one relabelled: addresses and interfaces follow. */
static void test_entries_ipcache_and_endpoints(void **state)
{
	struct fx_estate e, next;
	(void)state;

	assert_int_equal(fx_estate_init(&e, STATE), 0);
	estate_next(&e,
		    HEAD "kind: Workload\n"
			 "metadata: {name: cache, namespace: shop, labels: {app: cache}}\n"
			 "spec: {interface: zsd-cache, addresses: [10.77.0.14, 10.77.0.15]}\n" SEP
		    HEAD "kind: Workload\n"
			 "metadata: {name: web, namespace: shop, labels: {app: web, v: \"2\"}}\n"
			 "spec: {interface: zsd-web, addresses: [10.77.0.11]}\n",
		    &next);
	struct zs_ref api = { .kind = ZS_KIND_WORKLOAD, .ns = "shop", .name = "api" };
	assert_int_equal(zs_objects_remove(&next.o, &api), 0);
	zs_compiled_free(&next.c);
	assert_int_equal(fx_estate_compile(&next), 0);

	json_t *entries = zs_diff_entries(&e.c, &next.c);
	assert_int_equal(num(entries, "ipcache", "added"), 2);   /* cache's two */
	assert_int_equal(num(entries, "ipcache", "removed"), 1); /* api's */
	assert_int_equal(num(entries, "ipcache", "changed"), 1); /* web's new identity */
	/* cache enrolled, web under another identity, api dropped */
	assert_int_equal(num(entries, NULL, "endpoints"), 3);
	/* db's entries for api go, and api's own (from web); nothing new is selected */
	uint32_t api_id = fx_identity(&e.c, "shop/api");
	size_t api_own = zs_compiled_subject(&e.c, api_id)->n;
	assert_true(api_own > 0);
	assert_int_equal(num(entries, "policy", "added"), 0);
	assert_int_equal(num(entries, "policy", "removed"),
			 entries_for_peer(&e.c, fx_identity(&e.c, "shop/db"), api_id) + api_own);
	json_decref(entries);
	fx_estate_free(&next);
	fx_estate_free(&e);
}

/* ---- changed ------------------------------------------------------------- */

static void test_changed(void **state)
{
	(void)state;
	json_t *none = json_pack("{s:{s:i,s:i},s:{s:i,s:i,s:i},s:i}", "policy", "added", 0,
				 "removed", 0, "ipcache", "added", 0, "removed", 0, "changed", 0,
				 "endpoints", 0);
	json_t *unchanged = json_pack("[{s:s}]", "change", "unchanged");
	json_t *configured = json_pack("[{s:s},{s:s}]", "change", "unchanged", "change",
				       "configured");

	assert_false(zs_diff_changed(unchanged, none));
	assert_true(zs_diff_changed(configured, none));
	json_object_set_new(json_object_get(none, "policy"), "removed", json_integer(1));
	assert_true(zs_diff_changed(unchanged, none));
	json_object_set_new(json_object_get(none, "policy"), "removed", json_integer(0));
	json_object_set_new(none, "endpoints", json_integer(2));
	assert_true(zs_diff_changed(unchanged, none));
	/* An address's entry alone is not counted a change (as the daemon has always said). */
	json_object_set_new(none, "endpoints", json_integer(0));
	json_object_set_new(json_object_get(none, "ipcache"), "added", json_integer(1));
	assert_false(zs_diff_changed(unchanged, none));
	json_decref(none);
	json_decref(unchanged);
	json_decref(configured);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects_created_configured_unchanged),
		cmocka_unit_test(test_config_and_namespace_unchanged),
		cmocka_unit_test(test_networkpolicy_is_its_own_object),
		cmocka_unit_test(test_entries_same_state_nothing_changes),
		cmocka_unit_test(test_entries_policy_added_and_removed),
		cmocka_unit_test(test_entries_ipcache_and_endpoints),
		cmocka_unit_test(test_changed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
