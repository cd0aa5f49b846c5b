// SPDX-License-Identifier: MIT
/*
 * Unit tests for the map writer (userspace/datapath/writer.c) against the
 * in-memory fake of the five maps behind struct zs_map_ops (fx_fake, from
 * tests/lib/fixture.h): what one apply writes
 * (revision, handles for both generations, policy entries, endpoints,
 * ipcache), that an unchanged compile rewrites no policy, that a changed
 * policy moves only its subject to a fresh handle, that missing interfaces
 * are skipped, and that a failed write rolls every map back to where it was.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "datapath/writer.h"
#include "tests/lib/fixture.h"

/* ---- the fake maps (tests/lib/fixture.h) ---------------------------------- */

/* The interfaces of the estate; zsd-ghost appears when a test links it. */
static void fake_init(struct fx_fake *f)
{
	memset(f, 0, sizeof(*f));
	fx_fake_link(f, "zsd-web", 10);
	fx_fake_link(f, "zsd-api", 11);
	fx_fake_link(f, "zsd-db", 12);
}

static void ghost_appears(struct fx_fake *f)
{
	fx_fake_link(f, "zsd-ghost", 13);
}

/* Same keys with the same values, in whatever order. */
static void assert_maps_equal(struct fx_fake *f, struct fx_fake *snap)
{
	for (size_t m = 0; m < ZS_MAP_COUNT; m++) {
		if (f->maps[m].n != snap->maps[m].n)
			fail_msg("map %zu: %zu entries, want %zu", m, f->maps[m].n, snap->maps[m].n);
		for (size_t i = 0; i < snap->maps[m].n; i++) {
			const struct fx_entry *want = &snap->maps[m].v[i];
			const struct fx_entry *got = fx_fake_find(f, (enum zs_map)m, want->key);
			if (!got)
				fail_msg("map %zu: entry %zu missing", m, i);
			assert_memory_equal(got->val, want->val, fx_val_size((enum zs_map)m));
		}
	}
}

static size_t count_handle_entries(struct fx_fake *f, uint32_t handle)
{
	size_t n = 0;

	for (size_t i = 0; i < f->maps[ZS_MAP_POLICY].n; i++) {
		struct zs_policy_key k;
		memcpy(&k, f->maps[ZS_MAP_POLICY].v[i].key, sizeof(k));
		n += k.handle == handle;
	}
	return n;
}

/* ---- compiled states ---------------------------------------------------- */

#define WORKLOADS                                                                      \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: web, namespace: shop, labels: {app: web}}\n"                \
	"spec: {interface: zsd-web, addresses: [10.77.0.11]}\n"                        \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: api, namespace: shop, labels: {app: api}}\n"                \
	"spec: {interface: zsd-api, addresses: [10.77.0.12, \"fd00::12\"]}\n"          \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: db, namespace: shop, labels: {app: db}}\n"                  \
	"spec: {interface: zsd-db, addresses: [10.77.0.13]}\n"                         \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: remote, namespace: shop, labels: {app: remote}}\n"          \
	"spec: {addresses: [10.99.0.1]}\n"

#define POLICY_API(port)                                                               \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: api, namespace: shop}\n"                                     \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: api}}\n"                                      \
	"  ingress:\n"                                                                 \
	"    - from: [{selector: {matchLabels: {app: web}}}]\n"                        \
	"      ports: [{port: " port "}]\n"                                            \
	"    - from: [{selector: {matchLabels: {app: web}}}]\n"                        \
	"      ports: [{port: 8000, endPort: 9000}]\n"                                 \
	"      action: deny\n"

#define POLICY_DB(port)                                                                \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: db, namespace: shop}\n"                                      \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: db}}\n"                                       \
	"  ingress:\n"                                                                 \
	"    - from: [{selector: {matchLabels: {app: api}}}]\n"                        \
	"      ports: [{port: " port "}, {protocol: UDP, port: 1000, endPort: 1999}]\n"

#define POLICY_WEB                                                                     \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Policy\n"                                                               \
	"metadata: {name: web, namespace: shop}\n"                                     \
	"spec:\n"                                                                      \
	"  selector: {matchLabels: {app: web}}\n"                                      \
	"  egress:\n"                                                                  \
	"    - ports: [{port: 8080}]\n"

#define GHOST                                                                          \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: ghost, namespace: shop, labels: {app: ghost}}\n"            \
	"spec: {interface: zsd-ghost, addresses: [10.77.0.66]}\n"

#define ESTATE WORKLOADS POLICY_API("8080") POLICY_DB("5432") POLICY_WEB

/* The identity of workload "ns/name". */
static uint32_t id_of(const struct zs_compiled *c, const char *workload)
{
	uint32_t id = fx_identity(c, workload);

	if (!id)
		fail_msg("no workload %s", workload);
	return id;
}

static void apply_ok(struct zs_writer *w, const struct zs_compiled *c)
{
	char err[256] = "";
	int ret = zs_writer_apply(w, c, err, sizeof(err));

	if (ret)
		fail_msg("apply: %d: %s", ret, err);
	assert_int_equal(zs_writer_settle(w), 0);
}

static uint32_t config_revision(struct fx_fake *f)
{
	uint32_t zero = 0;
	struct zs_config cfg;

	assert_int_equal(fx_fake_lookup(f, ZS_MAP_CONFIG, &zero, &cfg), 0);
	return cfg.revision;
}

/* The handle of `identity`; both generations must agree. */
static uint32_t handle_of(struct fx_fake *f, uint32_t identity)
{
	struct zs_handle_key k0 = { .gen = 0, .identity = identity };
	struct zs_handle_key k1 = { .gen = 1, .identity = identity };
	uint32_t h0, h1;

	assert_int_equal(fx_fake_lookup(f, ZS_MAP_HANDLES, &k0, &h0), 0);
	assert_int_equal(fx_fake_lookup(f, ZS_MAP_HANDLES, &k1, &h1), 0);
	assert_int_equal(h0, h1);
	assert_int_not_equal(h0, 0);
	return h0;
}

/* Every compiled entry of every subject is in the policy map, and nothing else. */
static void assert_policy_written(struct fx_fake *f, const struct zs_compiled *c)
{
	size_t total = 0;

	for (size_t i = 0; i < c->subjects.n; i++) {
		const struct zs_subject *s = &c->subjects.v[i];
		uint32_t h = handle_of(f, s->identity);

		assert_int_equal(count_handle_entries(f, h), s->n);
		for (size_t j = 0; j < s->n; j++) {
			const struct zs_pentry *e = &s->e[j];
			struct zs_policy_key k = { 0 };
			struct zs_policy_val v;

			k.prefixlen = ZS_POLICY_FIXED_BITS + e->bits;
			k.handle = h;
			k.peer = e->peer;
			k.dir = e->dir;
			k.proto = (uint8_t)(e->value >> 16);
			k.port = htons((uint16_t)e->value);
			if (fx_fake_lookup(f, ZS_MAP_POLICY, &k, &v))
				fail_msg("identity %u entry %zu not in the policy map", s->identity,
					 j);
			assert_int_equal(v.verdict, e->verdict);
			assert_int_equal(v.rule_id, e->rule_id);
			assert_int_equal(v.prec, e->prec);
			assert_int_equal(v.pad[0] | v.pad[1], 0);
		}
		total += s->n;
	}
	assert_int_equal(total, c->total_entries);
	assert_int_equal(f->maps[ZS_MAP_POLICY].n, total);
}

static void assert_endpoint(struct fx_fake *f, uint32_t ifindex, uint32_t identity)
{
	struct zs_endpoint ep;

	if (fx_fake_lookup(f, ZS_MAP_ENDPOINTS, &ifindex, &ep))
		fail_msg("no endpoint for ifindex %u", ifindex);
	assert_int_equal(ep.identity[0], identity);
	assert_int_equal(ep.identity[1], identity);
	assert_int_equal(ep.flags, ZS_EP_READY);
}

/* The ipcache entry of one address (a full-length prefix): 0 or -ENOENT. */
static int ipcache_get(struct fx_fake *f, const char *addr, struct zs_ipcache_val *v)
{
	struct zs_prefix p;
	struct zs_ipcache_key k = { 0 };

	assert_int_equal(zs_prefix_parse(addr, &p, false), 0);
	k.prefixlen = 32 + (p.family == 4 ? 32 : 128);
	k.family = p.family;
	memcpy(k.addr, p.addr, 16);
	return fx_fake_lookup(f, ZS_MAP_IPCACHE, &k, v);
}

static void assert_ipcache(struct fx_fake *f, const char *addr, uint32_t identity, uint32_t ifindex)
{
	struct zs_ipcache_val v;

	if (ipcache_get(f, addr, &v))
		fail_msg("no ipcache entry for %s", addr);
	assert_int_equal(v.identity[0], identity);
	assert_int_equal(v.identity[1], identity);
	assert_int_equal(v.cidr[0] | v.cidr[1], 0);
	assert_int_equal(v.ifindex, ifindex);
}

/* What a test works on: the fake maps, the estate compiled, a writer on the maps. */
struct rig {
	struct fx_fake f;
	struct fx_estate s;
	struct zs_writer w;
};

static void rig_init(struct rig *r, const char *yaml, const struct zs_map_ops *ops)
{
	fake_init(&r->f);
	assert_int_equal(fx_estate_init(&r->s, yaml), 0);
	assert_int_equal(zs_writer_init(&r->w, ops, &r->f), 0);
}

static void rig_free(struct rig *r)
{
	zs_writer_free(&r->w);
	fx_estate_free(&r->s);
	fx_fake_free(&r->f);
}

/* ---- tests -------------------------------------------------------------- */

static void test_first_apply(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, ESTATE, &fx_fake_ops);
	assert_int_equal(r.s.c.subjects.n, 3);
	assert_true(r.s.c.total_entries > 0);
	assert_int_equal(r.w.revision, 0);

	apply_ok(&r.w, &r.s.c);
	assert_int_equal(r.w.revision, 1);
	assert_int_equal(config_revision(&r.f), 1);
	assert_policy_written(&r.f, &r.s.c);
	assert_int_equal(r.w.policy_entries, r.s.c.total_entries);
	/* One handle per subject, distinct, both generations. */
	assert_int_equal(r.f.maps[ZS_MAP_HANDLES].n, 2 * r.s.c.subjects.n);
	uint32_t web = id_of(&r.s.c, "shop/web"), api = id_of(&r.s.c, "shop/api"),
		 db = id_of(&r.s.c, "shop/db"), remote = id_of(&r.s.c, "shop/remote");
	assert_int_not_equal(handle_of(&r.f, web), handle_of(&r.f, api));
	assert_int_not_equal(handle_of(&r.f, api), handle_of(&r.f, db));
	assert_int_not_equal(handle_of(&r.f, web), handle_of(&r.f, db));

	assert_int_equal(r.f.maps[ZS_MAP_ENDPOINTS].n, 3);
	assert_endpoint(&r.f, 10, web);
	assert_endpoint(&r.f, 11, api);
	assert_endpoint(&r.f, 12, db);

	assert_int_equal(r.f.maps[ZS_MAP_IPCACHE].n, 5);
	assert_ipcache(&r.f, "10.77.0.11", web, 10);
	assert_ipcache(&r.f, "10.77.0.12", api, 11);
	assert_ipcache(&r.f, "fd00::12", api, 11);
	assert_ipcache(&r.f, "10.77.0.13", db, 12);
	assert_ipcache(&r.f, "10.99.0.1", remote, 0);

	/* A second apply moves the revision on again. */
	apply_ok(&r.w, &r.s.c);
	assert_int_equal(r.w.revision, 2);
	assert_int_equal(config_revision(&r.f), 2);

	rig_free(&r);
}

static void test_policy_key_make(void **state)
{
	struct zs_pentry e = { .peer = 300, .value = 6u << 16 | 0x1f90, .bits = 20, .dir = 1 };
	struct zs_policy_key k;
	(void)state;

	memset(&k, 0xa5, sizeof(k));
	zs_policy_key_make(&k, 7, &e);
	assert_int_equal(k.prefixlen, ZS_POLICY_FIXED_BITS + 20);
	assert_int_equal(k.handle, 7);
	assert_int_equal(k.peer, 300);
	assert_int_equal(k.dir, ZS_DIR_EGRESS);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.port, htons(8080));
}

static void test_unchanged_apply_writes_no_policy(void **state)
{
	struct rig r;
	struct fx_fake snap;
	(void)state;

	rig_init(&r, ESTATE, &fx_fake_ops);
	apply_ok(&r.w, &r.s.c);
	uint32_t api = id_of(&r.s.c, "shop/api"), h = handle_of(&r.f, api);

	/* Recompile the same objects: equal, but not the same memory. */
	assert_int_equal(fx_estate_compile(&r.s), 0);
	fx_fake_reset_counts(&r.f);
	fx_fake_snapshot(&r.f, &snap);
	apply_ok(&r.w, &r.s.c);
	assert_int_equal(r.f.updates[ZS_MAP_POLICY], 0);
	assert_int_equal(r.f.deletes[ZS_MAP_POLICY], 0);
	assert_int_equal(r.f.updates[ZS_MAP_HANDLES], 0);
	assert_int_equal(handle_of(&r.f, api), h);
	assert_int_equal(r.w.revision, 2);
	assert_int_equal(config_revision(&r.f), 2);
	assert_int_equal(r.w.policy_entries, r.s.c.total_entries);
	assert_policy_written(&r.f, &r.s.c);

	/* Apart from the revision, the maps hold what they held. */
	uint32_t zero = 0;
	struct zs_config cfg = { .revision = 2 };

	fx_fake_update(&snap, ZS_MAP_CONFIG, &zero, &cfg);
	assert_maps_equal(&r.f, &snap);

	fx_fake_free(&snap);
	rig_free(&r);
}

static void test_changed_policy_new_handle(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, ESTATE, &fx_fake_ops);
	apply_ok(&r.w, &r.s.c);
	uint32_t web = id_of(&r.s.c, "shop/web"), api = id_of(&r.s.c, "shop/api"),
		 db = id_of(&r.s.c, "shop/db");
	uint32_t h_web = handle_of(&r.f, web), h_api = handle_of(&r.f, api), h_db = handle_of(&r.f, db);
	size_t n_db_old = zs_compiled_subject(&r.s.c, db)->n;
	assert_int_equal(count_handle_entries(&r.f, h_db), n_db_old);

	/* Only db's policy changes (5432 -> 5433). */
	assert_int_equal(fx_estate_load(&r.s, POLICY_DB("5433")), 0);
	assert_int_equal(r.s.o.policies.n, 3);
	assert_int_equal(fx_estate_compile(&r.s), 0);
	fx_fake_reset_counts(&r.f);
	apply_ok(&r.w, &r.s.c);

	uint32_t h_db_new = handle_of(&r.f, db);
	assert_int_not_equal(h_db_new, h_db);
	assert_int_not_equal(h_db_new, h_web);
	assert_int_not_equal(h_db_new, h_api);
	assert_int_equal(handle_of(&r.f, web), h_web);
	assert_int_equal(handle_of(&r.f, api), h_api);
	/* Only db's entries written; the old handle's all gone. */
	assert_int_equal(r.f.updates[ZS_MAP_POLICY], zs_compiled_subject(&r.s.c, db)->n);
	assert_int_equal(r.f.deletes[ZS_MAP_POLICY], n_db_old);
	assert_int_equal(count_handle_entries(&r.f, h_db), 0);
	assert_policy_written(&r.f, &r.s.c);
	assert_int_equal(r.w.policy_entries, r.s.c.total_entries);
	assert_int_equal(r.w.revision, 2);

	rig_free(&r);
}

static void test_missing_interface_skipped(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, ESTATE GHOST, &fx_fake_ops);
	uint32_t ghost = id_of(&r.s.c, "shop/ghost");
	assert_int_equal(r.s.c.endpoints.n, 4);
	apply_ok(&r.w, &r.s.c);

	assert_int_equal(r.f.maps[ZS_MAP_ENDPOINTS].n, 3);
	uint32_t zero = 0;
	struct zs_endpoint ep;
	assert_int_equal(fx_fake_lookup(&r.f, ZS_MAP_ENDPOINTS, &zero, &ep), -ENOENT);
	assert_endpoint(&r.f, 10, id_of(&r.s.c, "shop/web"));
	/* Its address is still known, without an interface. */
	assert_ipcache(&r.f, "10.77.0.66", ghost, 0);
	assert_policy_written(&r.f, &r.s.c);

	/* The link appears: the next apply enrolls it. */
	ghost_appears(&r.f);
	apply_ok(&r.w, &r.s.c);
	assert_int_equal(r.f.maps[ZS_MAP_ENDPOINTS].n, 4);
	assert_endpoint(&r.f, 13, ghost);
	assert_ipcache(&r.f, "10.77.0.66", ghost, 13);

	rig_free(&r);
}

/* A new daemon adopts the maps: revision and handles go on, leftovers are swept. */
static void test_restart_adopts_and_sweeps(void **state)
{
	struct rig r;
	uint32_t stale_if = 99;
	struct zs_endpoint stale_ep = { .identity = { 500, 500 }, .flags = ZS_EP_READY };
	(void)state;

	rig_init(&r, ESTATE, &fx_fake_ops);
	apply_ok(&r.w, &r.s.c);
	apply_ok(&r.w, &r.s.c);
	uint32_t api = id_of(&r.s.c, "shop/api"), h_old = handle_of(&r.f, api);
	uint32_t max_old = r.w.next_handle - 1;
	zs_writer_free(&r.w);
	fx_fake_update(&r.f, ZS_MAP_ENDPOINTS, &stale_if, &stale_ep);

	assert_int_equal(zs_writer_init(&r.w, &fx_fake_ops, &r.f), 0);
	assert_int_equal(r.w.revision, 2);
	assert_int_equal(r.w.policy_entries, r.s.c.total_entries);
	assert_true(r.w.next_handle > max_old);
	apply_ok(&r.w, &r.s.c);
	assert_int_equal(r.w.revision, 3);
	assert_int_equal(config_revision(&r.f), 3);
	/* Everything rewritten under new handles; nothing of the old left. */
	assert_true(handle_of(&r.f, api) > max_old);
	assert_int_equal(count_handle_entries(&r.f, h_old), 0);
	assert_policy_written(&r.f, &r.s.c);
	assert_int_equal(r.f.maps[ZS_MAP_HANDLES].n, 2 * r.s.c.subjects.n);
	assert_int_equal(r.f.maps[ZS_MAP_ENDPOINTS].n, 3);
	assert_int_equal(r.w.policy_entries, r.s.c.total_entries);

	rig_free(&r);
}

/* Applies `c` with update number `nth` of map `m` failing; expects a clean rollback. */
static void expect_rollback(struct zs_writer *w, struct fx_fake *f, const struct zs_compiled *c,
			    enum zs_map m, size_t nth, const char *errprefix)
{
	struct fx_fake snap;
	uint32_t rev = w->revision;
	char err[256] = "";
	bool had_config = f->maps[ZS_MAP_CONFIG].n;
	int ret;

	fx_fake_snapshot(f, &snap);
	f->fail_map = m;
	f->fail_after = nth;
	f->fail_count = 0;
	ret = zs_writer_apply(w, c, err, sizeof(err));
	if (ret != -ENOSPC)
		fail_msg("map %d, update %zu failing: apply returned %d, after %zu updates", m, nth,
			 ret, f->fail_count);
	assert_int_equal(f->fail_count, nth); /* the failure did happen where asked */
	f->fail_after = 0;
	assert_true(strncmp(err, errprefix, strlen(errprefix)) == 0);
	assert_int_equal(w->revision, rev);
	if (had_config)
		assert_int_equal(config_revision(f), rev);
	assert_maps_equal(f, &snap);
	fx_fake_free(&snap);
}

static void test_failed_first_apply_rolls_back(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, ESTATE, &fx_fake_ops);
	assert_true(r.s.c.total_entries > 5);
	expect_rollback(&r.w, &r.f, &r.s.c, ZS_MAP_POLICY, 5, "policy map: write failed");
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		assert_int_equal(r.f.maps[m].n, 0);

	/* And the writer still works afterwards. */
	apply_ok(&r.w, &r.s.c);
	assert_int_equal(r.w.revision, 1);
	assert_policy_written(&r.f, &r.s.c);

	rig_free(&r);
}

static unsigned quiesced;
static void fake_quiesce(void *ctx)
{
	(void)ctx;
	quiesced++;
}

/*
 * After the flip the old generation stays whole (a packet that read the old
 * revision may still use it); settle waits for quiescence, then retires it.
 */
static void test_old_generation_kept_until_settle(void **state)
{
	struct rig r;
	struct fx_estate s2;
	struct zs_map_ops ops = fx_fake_ops;
	char err[256];
	(void)state;

	ops.quiesce = fake_quiesce;
	rig_init(&r, ESTATE, &ops);
	assert_int_equal(fx_estate_init(&s2, WORKLOADS POLICY_API("9090") POLICY_DB("5432") POLICY_WEB), 0);
	apply_ok(&r.w, &r.s.c);
	uint32_t api = id_of(&r.s.c, "shop/api"), old = handle_of(&r.f, api);
	size_t before = r.f.maps[ZS_MAP_POLICY].n;
	quiesced = 0;

	assert_int_equal(zs_writer_apply(&r.w, &s2.c, err, sizeof(err)), 0);
	assert_true(r.w.pending);
	/* The old generation's slot still names the old handle, whose entries are all there. */
	struct zs_handle_key hk = { .gen = (r.w.revision & 1) ^ 1, .identity = api };
	uint32_t h;
	assert_int_equal(fx_fake_lookup(&r.f, ZS_MAP_HANDLES, &hk, &h), 0);
	assert_int_equal(h, old);
	assert_true(r.f.maps[ZS_MAP_POLICY].n > before);
	assert_int_equal(quiesced, 0);

	assert_int_equal(zs_writer_settle(&r.w), 0);
	assert_int_equal(quiesced, 1);
	assert_false(r.w.pending);
	assert_int_equal(fx_fake_lookup(&r.f, ZS_MAP_HANDLES, &hk, &h), 0);
	assert_int_not_equal(h, old);
	assert_int_equal(count_handle_entries(&r.f, old), 0);
	assert_policy_written(&r.f, &s2.c);
	rig_free(&r);
	fx_estate_free(&s2);
}

/*
 * A workload removed: until settle its address stays (the old generation may
 * still read it), but from the flip on it is bound to no interface and the
 * new generation sees what it will see once the entry is gone (world here).
 */
static void test_removed_address_unbound_at_flip(void **state)
{
	struct rig r;
	struct fx_estate s2;
	struct zs_map_ops ops = fx_fake_ops;
	char err[256];
	(void)state;

	ops.quiesce = fake_quiesce;
	rig_init(&r, ESTATE GHOST, &ops);
	ghost_appears(&r.f);
	assert_int_equal(fx_estate_init(&s2, ESTATE), 0);
	uint32_t ghost = id_of(&r.s.c, "shop/ghost");
	apply_ok(&r.w, &r.s.c);
	assert_ipcache(&r.f, "10.77.0.66", ghost, 13);

	assert_int_equal(zs_writer_apply(&r.w, &s2.c, err, sizeof(err)), 0);
	assert_true(r.w.pending);
	struct zs_ipcache_val v;
	assert_int_equal(ipcache_get(&r.f, "10.77.0.66", &v), 0);
	assert_int_equal(v.ifindex, 0);
	assert_int_equal(v.identity[(r.w.revision & 1) ^ 1], ghost); /* the old generation's view */
	assert_int_equal(v.identity[r.w.revision & 1], ZS_ID_WORLD);  /* the new one's */

	assert_int_equal(zs_writer_settle(&r.w), 0);
	assert_int_equal(ipcache_get(&r.f, "10.77.0.66", &v), -ENOENT);
	rig_free(&r);
	fx_estate_free(&s2);
}

#define REMOTE2                                                                        \
	"---\n"                                                                        \
	"apiVersion: zeroseg.io/v1\n"                                                  \
	"kind: Workload\n"                                                             \
	"metadata: {name: remote2, namespace: shop, labels: {app: remote}}\n"         \
	"spec: {addresses: [10.99.0.2]}\n"

static void expect_writes(struct fx_fake *f, size_t ipcache_updates, size_t ipcache_deletes)
{
	for (int m = 0; m < ZS_MAP_COUNT; m++) {
		size_t up = m == ZS_MAP_IPCACHE ? ipcache_updates : m == ZS_MAP_CONFIG ? 1 : 0;
		size_t del = m == ZS_MAP_IPCACHE ? ipcache_deletes : 0;
		if (f->updates[m] != up || f->deletes[m] != del)
			fail_msg("map %d: %zu updates, %zu deletes; expected %zu, %zu", m, f->updates[m],
				 f->deletes[m], up, del);
	}
}

/*
 * A workload joining an existing label set: its one ipcache entry is written
 * (once for the flip, once at settle) and nothing else; leaving, it is
 * unbound at the flip and deleted at settle, nothing else.
 */
static void test_one_address_writes_one_entry(void **state)
{
	struct rig r;
	struct fx_estate s2;
	struct zs_map_ops ops = fx_fake_ops;
	char err[256];
	struct zs_ipcache_val v;
	(void)state;

	ops.quiesce = fake_quiesce;
	rig_init(&r, ESTATE, &ops);
	assert_int_equal(fx_estate_init(&s2, ESTATE REMOTE2), 0);
	uint32_t remote = id_of(&r.s.c, "shop/remote");
	assert_int_equal(id_of(&s2.c, "shop/remote2"), remote);
	apply_ok(&r.w, &r.s.c);
	assert_int_equal(zs_writer_settle(&r.w), 0);

	fx_fake_reset_counts(&r.f);
	assert_int_equal(zs_writer_apply(&r.w, &s2.c, err, sizeof(err)), 0);
	expect_writes(&r.f, 1, 0);
	assert_int_equal(ipcache_get(&r.f, "10.99.0.2", &v), 0);
	assert_int_equal(v.identity[r.w.revision & 1], remote);
	assert_int_equal(v.identity[(r.w.revision & 1) ^ 1], ZS_ID_WORLD); /* what the old LPM said */
	assert_int_equal(zs_writer_settle(&r.w), 0);
	expect_writes(&r.f, 2, 0);
	assert_int_equal(ipcache_get(&r.f, "10.99.0.2", &v), 0);
	assert_int_equal(v.identity[0], remote);
	assert_int_equal(v.identity[1], remote);
	assert_policy_written(&r.f, &s2.c);

	/* And back: the one entry unbound at the flip, deleted at settle. */
	fx_fake_reset_counts(&r.f);
	assert_int_equal(zs_writer_apply(&r.w, &r.s.c, err, sizeof(err)), 0);
	expect_writes(&r.f, 1, 0);
	assert_int_equal(zs_writer_settle(&r.w), 0);
	expect_writes(&r.f, 1, 1);
	assert_int_equal(ipcache_get(&r.f, "10.99.0.2", &v), -ENOENT);
	assert_ipcache(&r.f, "10.99.0.1", remote, 0);

	rig_free(&r);
	fx_estate_free(&s2);
}

/* Over capacity: refused before anything is written, saying which map and by how much. */
static void test_capacity_refused_up_front(void **state)
{
	struct rig r;
	char err[256] = "", want[256];
	(void)state;

	rig_init(&r, ESTATE, &fx_fake_ops);
	r.w.policy_entries = ZS_MAX_POLICY - 1; /* as if the map were almost full */
	assert_int_equal(zs_writer_apply(&r.w, &r.s.c, err, sizeof(err)), -E2BIG);
	snprintf(want, sizeof(want),
		 "policy map: %zu entries needed (%u in use while the new ones are written), capacity %u: over by %zu",
		 ZS_MAX_POLICY - 1 + r.s.c.total_entries, ZS_MAX_POLICY - 1, ZS_MAX_POLICY,
		 r.s.c.total_entries - 1);
	assert_string_equal(err, want);
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		assert_int_equal(r.f.updates[m], 0);
	assert_int_equal(r.w.revision, 0);
	rig_free(&r);
}

static void test_failed_apply_rolls_back(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, ESTATE, &fx_fake_ops);
	apply_ok(&r.w, &r.s.c);

	/* Two subjects change: fail in the second one's entries. */
	assert_int_equal(fx_estate_load(&r.s, POLICY_API("9500") POLICY_DB("5433")), 0);
	assert_int_equal(fx_estate_compile(&r.s), 0);
	size_t n_api = zs_compiled_subject(&r.s.c, id_of(&r.s.c, "shop/api"))->n;
	expect_rollback(&r.w, &r.f, &r.s.c, ZS_MAP_POLICY, n_api + 2, "policy map: write failed");

	/*
	 * A new local workload: a failure at each later step (handles, endpoint,
	 * ipcache, the flip itself) undoes what the steps before it wrote.
	 */
	assert_int_equal(fx_estate_load(&r.s, GHOST), 0);
	ghost_appears(&r.f);
	assert_int_equal(fx_estate_compile(&r.s), 0);
	expect_rollback(&r.w, &r.f, &r.s.c, ZS_MAP_HANDLES, 3, "handles map: write failed");
	expect_rollback(&r.w, &r.f, &r.s.c, ZS_MAP_ENDPOINTS, 1, "endpoints map: write failed");
	expect_rollback(&r.w, &r.f, &r.s.c, ZS_MAP_IPCACHE, 1, "ipcache map: write failed");
	expect_rollback(&r.w, &r.f, &r.s.c, ZS_MAP_CONFIG, 1, "config map: write failed");

	/* Then it goes through, and the result is complete. */
	apply_ok(&r.w, &r.s.c);
	assert_int_equal(r.w.revision, 2);
	assert_int_equal(config_revision(&r.f), 2);
	assert_policy_written(&r.f, &r.s.c);
	assert_int_equal(r.w.policy_entries, r.s.c.total_entries);
	assert_endpoint(&r.f, 13, id_of(&r.s.c, "shop/ghost"));
	assert_ipcache(&r.f, "10.77.0.66", id_of(&r.s.c, "shop/ghost"), 13);

	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_apply),
		cmocka_unit_test(test_policy_key_make),
		cmocka_unit_test(test_unchanged_apply_writes_no_policy),
		cmocka_unit_test(test_changed_policy_new_handle),
		cmocka_unit_test(test_missing_interface_skipped),
		cmocka_unit_test(test_restart_adopts_and_sweeps),
		cmocka_unit_test(test_failed_first_apply_rolls_back),
		cmocka_unit_test(test_failed_apply_rolls_back),
		cmocka_unit_test(test_capacity_refused_up_front),
		cmocka_unit_test(test_old_generation_kept_until_settle),
		cmocka_unit_test(test_removed_address_unbound_at_flip),
		cmocka_unit_test(test_one_address_writes_one_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
