// SPDX-License-Identifier: MIT
/*
 * The compile cache on chosen changes (tests/unit/test_differential.c runs
 * random ones): what it compiles again, what the writer then writes (a
 * workload joining an existing label set: its endpoint and ipcache entry,
 * nothing else), when it compiles in full, and that a compile never adopted
 * (a failed apply, a diff) or refused is never the base of the next.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/abi.h"
#include "policy/compile.h"
#include "tests/lib/fixture.h"

#define ESTATE                                                                                   \
	"apiVersion: zeroseg.io/v1\nkind: Workload\n"                                            \
	"metadata: {name: web1, namespace: shop, labels: {app: web}}\n"                          \
	"spec: {interface: veth-w1, addresses: [10.1.0.1]}\n"                                    \
	"---\napiVersion: zeroseg.io/v1\nkind: Workload\n"                                       \
	"metadata: {name: web2, namespace: shop, labels: {app: web}}\n"                          \
	"spec: {interface: veth-w2, addresses: [10.1.0.2]}\n"                                    \
	"---\napiVersion: zeroseg.io/v1\nkind: Workload\n"                                       \
	"metadata: {name: db1, namespace: shop, labels: {app: db}}\n"                            \
	"spec: {interface: veth-d1, addresses: [10.1.0.3]}\n"                                    \
	"---\napiVersion: zeroseg.io/v1\nkind: Policy\n"                                         \
	"metadata: {name: db, namespace: shop}\n"                                                \
	"spec:\n  selector: {matchLabels: {app: db}}\n  ingress:\n"                              \
	"  - from: [{selector: {matchExpressions: [{key: app, operator: In, values: [web, cache]}]}}]\n" \
	"    ports: [{protocol: TCP, port: 5432}]\n"                                             \
	"---\napiVersion: zeroseg.io/v1\nkind: Policy\n"                                         \
	"metadata: {name: web, namespace: shop}\n"                                               \
	"spec:\n  selector: {matchLabels: {app: web}}\n  ingress:\n"                             \
	"  - ports: [{protocol: TCP, port: 443}]\n"

#define WORKLOAD(name, labels, ifname, addr)                                                     \
	"apiVersion: zeroseg.io/v1\nkind: Workload\n"                                            \
	"metadata: {name: " name ", namespace: shop, labels: " labels "}\n"                      \
	"spec: {interface: " ifname ", addresses: [" addr "]}\n"

#define POLICY_DB(port)                                                                          \
	"apiVersion: zeroseg.io/v1\nkind: Policy\n"                                              \
	"metadata: {name: db, namespace: shop}\n"                                                \
	"spec:\n  selector: {matchLabels: {app: db}}\n  ingress:\n"                              \
	"  - from: [{selector: {matchLabels: {app: web}}}]\n"                                    \
	"    ports: [{protocol: TCP, port: " port "}]\n"

/* A daemon in miniature: its state, its cache, fake maps and their writer. */
struct rig {
	struct zs_objects o;
	struct zs_identities ids;
	struct zs_compiled c;
	struct zs_compile_cache *cc;
	struct fx_fake f;
	struct zs_writer w;
	/* The last change, compiled, not yet adopted. */
	struct zs_objects next;
	struct zs_identities next_ids;
	struct zs_compiled next_c;
	struct zs_compile_cache_stats st;
};

static void rig_init(struct rig *r)
{
	char err[256];
	struct zs_diags d = { 0 };

	memset(r, 0, sizeof(*r));
	zs_objects_init(&r->o);
	assert_int_equal(fx_parse(&r->o, "<estate>", ESTATE, 0), 0);
	r->cc = zs_compile_cache_new();
	assert_int_equal(zs_compile_cached(r->cc, &r->o, &r->ids, &r->c, &d), 0);
	zs_compile_cache_adopted(r->cc);
	fx_fake_link(&r->f, "veth-w1", 11);
	fx_fake_link(&r->f, "veth-w2", 12);
	fx_fake_link(&r->f, "veth-d1", 13);
	fx_fake_link(&r->f, "veth-w3", 14);
	fx_fake_link(&r->f, "veth-c1", 15);
	assert_int_equal(zs_writer_init(&r->w, &fx_fake_ops, &r->f), 0);
	assert_int_equal(zs_writer_apply(&r->w, &r->c, err, sizeof(err)), 0);
	zs_writer_settle(&r->w);
	zs_diags_free(&d);
}

/* Compiles the state with `yaml` applied (or `del` deleted) through the cache; the compile's error. */
static int rig_change(struct rig *r, const char *yaml, const struct zs_ref *del)
{
	struct zs_objects batch;
	struct zs_diags d = { 0 };
	int err;

	zs_objects_copy(&r->o, &r->next);
	if (yaml) {
		zs_objects_init(&batch);
		assert_int_equal(fx_parse(&batch, "<change>", yaml, 0), 0);
		zs_objects_merge(&r->next, &batch);
		zs_objects_free(&batch);
	}
	if (del)
		assert_int_equal(zs_objects_remove(&r->next, del), 0);
	zs_identities_clone(&r->ids, &r->next_ids);
	err = zs_compile_cached(r->cc, &r->next, &r->next_ids, &r->next_c, &d);
	zs_compile_cache_stats(r->cc, &r->st);
	zs_diags_free(&d);
	if (!err) { /* exactly what a full compile gives */
		struct zs_identities ids;
		struct zs_compiled full;
		zs_identities_clone(&r->ids, &ids);
		assert_int_equal(fx_compile(&r->next, &ids, &full), 0);
		assert_int_equal(full.subjects.n, r->next_c.subjects.n);
		for (size_t i = 0; i < full.subjects.n; i++) {
			assert_int_equal(full.subjects.v[i].identity, r->next_c.subjects.v[i].identity);
			assert_int_equal(full.subjects.v[i].n, r->next_c.subjects.v[i].n);
			assert_memory_equal(full.subjects.v[i].e, r->next_c.subjects.v[i].e,
					    full.subjects.v[i].n * sizeof(struct zs_pentry));
		}
		assert_int_equal(full.ipcache.n, r->next_c.ipcache.n);
		for (size_t i = 0; i < full.ipcache.n; i++) {
			assert_int_equal(full.ipcache.v[i].identity, r->next_c.ipcache.v[i].identity);
			assert_int_equal(full.ipcache.v[i].cidr, r->next_c.ipcache.v[i].cidr);
		}
		assert_int_equal(full.endpoints.n, r->next_c.endpoints.n);
		assert_int_equal(full.rules.n, r->next_c.rules.n);
		assert_int_equal(ids.v.n, r->next_ids.v.n);
		zs_compiled_free(&full);
		zs_identities_free(&ids);
	} else {
		zs_identities_free(&r->next_ids);
		zs_objects_free(&r->next);
	}
	return err;
}

/* The change is enforced (the writer, counts reset first) and made the state. */
static void rig_adopt(struct rig *r)
{
	char err[256];

	fx_fake_reset_counts(&r->f);
	assert_int_equal(zs_writer_apply(&r->w, &r->next_c, err, sizeof(err)), 0);
	zs_compile_cache_adopted(r->cc);
	zs_objects_free(&r->o);
	r->o = r->next;
	zs_identities_free(&r->ids);
	r->ids = r->next_ids;
	zs_compiled_free(&r->c);
	r->c = r->next_c;
	memset(&r->next, 0, sizeof(r->next));
	memset(&r->next_ids, 0, sizeof(r->next_ids));
	memset(&r->next_c, 0, sizeof(r->next_c));
}

/* The change is dropped (a failed apply, a diff). */
static void rig_drop(struct rig *r)
{
	zs_objects_free(&r->next);
	zs_identities_free(&r->next_ids);
	zs_compiled_free(&r->next_c);
}

static void rig_free(struct rig *r)
{
	zs_writer_free(&r->w);
	fx_fake_free(&r->f);
	zs_compiled_free(&r->c);
	zs_identities_free(&r->ids);
	zs_objects_free(&r->o);
	zs_compile_cache_free(r->cc);
}

static void test_join_writes_its_entries_only(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r);
	assert_int_equal(rig_change(&r, WORKLOAD("web3", "{app: web}", "veth-w3", "10.1.0.4"), NULL), 0);
	assert_false(r.st.full);
	assert_int_equal(r.st.subjects, 0);
	assert_int_equal(r.st.workloads, 1);
	rig_adopt(&r);
	assert_int_equal(r.f.updates[ZS_MAP_IPCACHE], 1); /* its address */
	assert_int_equal(r.f.updates[ZS_MAP_ENDPOINTS], 1); /* its interface */
	assert_int_equal(r.f.updates[ZS_MAP_POLICY], 0);
	assert_int_equal(r.f.updates[ZS_MAP_HANDLES], 0);
	assert_int_equal(r.f.deletes[ZS_MAP_POLICY], 0);
	rig_free(&r);
}

static void test_policy_change_compiles_its_subjects(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r);
	assert_int_equal(rig_change(&r, POLICY_DB("5433"), NULL), 0);
	assert_false(r.st.full);
	assert_int_equal(r.st.subjects, 1); /* db's; web's stay */
	assert_int_equal(r.st.policies, 1);
	rig_adopt(&r);
	assert_int_equal(r.f.updates[ZS_MAP_HANDLES], 1);
	assert_int_equal(r.f.updates[ZS_MAP_IPCACHE], 0);
	rig_free(&r);
}

/* A new label set that a peer selects: the subject whose policy names it, and its own. */
static void test_new_identity_compiles_its_peers(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r);
	size_t db_before = r.c.subjects.v[r.c.subjects.n - 1].n;
	assert_int_equal(rig_change(&r, WORKLOAD("cache1", "{app: cache}", "veth-c1", "10.1.0.5"), NULL), 0);
	assert_false(r.st.full);
	assert_int_equal(r.st.subjects, 2); /* cache (new), db (its peer list grew) */
	assert_int_equal(r.next_c.subjects.n, r.c.subjects.n + 1);
	(void)db_before;
	rig_adopt(&r);
	/* And it goes: db compiled again, cache's subject gone, its identity released. */
	struct zs_ref ref = { .kind = ZS_KIND_WORKLOAD, .ns = "shop", .name = "cache1" };
	size_t nids = r.ids.v.n;
	assert_int_equal(rig_change(&r, NULL, &ref), 0);
	assert_false(r.st.full);
	assert_int_equal(r.st.subjects, 1);
	assert_int_equal(r.next_ids.v.n, nids - 1);
	rig_adopt(&r);
	rig_free(&r);
}

/* A change compiled but never adopted is not the base of the next one. */
static void test_unadopted_is_not_a_base(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r);
	assert_int_equal(rig_change(&r, POLICY_DB("5433"), NULL), 0);
	rig_drop(&r);
	/* Compared with a full compile inside rig_change: 5433 must not show. */
	assert_int_equal(rig_change(&r, WORKLOAD("web3", "{app: web}", "veth-w3", "10.1.0.4"), NULL), 0);
	assert_false(r.st.full);
	for (size_t i = 0; i < r.next_c.subjects.n; i++)
		for (size_t j = 0; j < r.next_c.subjects.v[i].n; j++)
			assert_int_not_equal(r.next_c.subjects.v[i].e[j].value, 6u << 16 | 5433);
	rig_adopt(&r);
	rig_free(&r);
}

/* A change the compiler refuses leaves the cache as it was. */
static void test_refused_change_leaves_cache(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r);
	assert_int_equal(rig_change(&r,
				    "apiVersion: zeroseg.io/v1\nkind: Policy\n"
				    "metadata: {name: bad, namespace: shop}\n"
				    "spec:\n  selector: {matchLabels: {app: web}}\n  egress:\n"
				    "  - to: [{entity: host}]\n    ports: [{port: http}]\n",
				    NULL),
			 -EINVAL);
	assert_false(r.st.full); /* refused by the incremental path itself */
	assert_int_equal(rig_change(&r, POLICY_DB("5433"), NULL), 0);
	assert_false(r.st.full);
	assert_int_equal(r.st.subjects, 1);
	rig_adopt(&r);
	rig_free(&r);
}

/* What it cannot decide locally is compiled in full (and still the same). */
static void test_full_when_unsure(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r);
	assert_int_equal(rig_change(&r, "apiVersion: zeroseg.io/v1\nkind: Config\nspec: {posture: kubernetes}\n", NULL), 0);
	assert_true(r.st.full);
	assert_non_null(strstr(r.st.why, "posture"));
	rig_adopt(&r);
	assert_int_equal(rig_change(&r,
				    "apiVersion: zeroseg.io/v1\nkind: Policy\n"
				    "metadata: {name: web, namespace: shop}\n"
				    "spec:\n  selector: {matchLabels: {app: web}}\n  ingress:\n"
				    "  - from: [{cidr: 10.9.0.0/16}]\n",
				    NULL),
			 0);
	assert_true(r.st.full);
	assert_non_null(strstr(r.st.why, "CIDR"));
	rig_adopt(&r);
	/* A wrong identity table (not the one the cache left): in full. */
	zs_identities_free(&r.ids);
	memset(&r.ids, 0, sizeof(r.ids));
	assert_int_equal(rig_change(&r, POLICY_DB("5434"), NULL), 0);
	assert_true(r.st.full);
	rig_adopt(&r);
	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_writes_its_entries_only),
		cmocka_unit_test(test_policy_change_compiles_its_subjects),
		cmocka_unit_test(test_new_identity_compiles_its_peers),
		cmocka_unit_test(test_unadopted_is_not_a_base),
		cmocka_unit_test(test_refused_change_leaves_cache),
		cmocka_unit_test(test_full_when_unsure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
