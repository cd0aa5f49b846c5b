// SPDX-License-Identifier: MIT
/*
 * Unit tests for the map writer (userspace/writer.c) against an in-memory
 * fake of the five maps behind struct zs_map_ops: what one apply writes
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

/* ---- the fake maps ------------------------------------------------------ */

#define KEY_MAX 24
#define VAL_MAX 24
_Static_assert(sizeof(struct zs_ipcache_val) <= VAL_MAX, "fake map values too small");

struct fake_entry {
	uint8_t key[KEY_MAX];
	uint8_t val[VAL_MAX];
};

struct fake_map {
	ZS_VEC(struct fake_entry) e; /* insertion order, like a hash map's walk */
};

struct fake {
	struct fake_map maps[ZS_MAP_COUNT];
	size_t updates[ZS_MAP_COUNT];
	size_t deletes[ZS_MAP_COUNT];
	/* Fail the fail_after'th update (1-based) of fail_map; 0 = never. */
	enum zs_map fail_map;
	size_t fail_after;
	size_t fail_count;
	bool ghost_exists; /* whether "zsd-ghost" has an ifindex */
};

static const struct {
	enum zs_map m;
	size_t key, val;
} sizes[] = {
	{ ZS_MAP_ENDPOINTS, sizeof(uint32_t), sizeof(struct zs_endpoint) },
	{ ZS_MAP_IPCACHE, sizeof(struct zs_ipcache_key), sizeof(struct zs_ipcache_val) },
	{ ZS_MAP_HANDLES, sizeof(struct zs_handle_key), sizeof(uint32_t) },
	{ ZS_MAP_POLICY, sizeof(struct zs_policy_key), sizeof(struct zs_policy_val) },
	{ ZS_MAP_CONFIG, sizeof(uint32_t), sizeof(struct zs_config) },
};

static size_t key_size(enum zs_map m)
{
	return sizes[m].key;
}

static size_t val_size(enum zs_map m)
{
	return sizes[m].val;
}

static struct fake_entry *fake_find(struct fake *f, enum zs_map m, const void *key)
{
	struct fake_map *fm = &f->maps[m];

	for (size_t i = 0; i < fm->e.n; i++)
		if (!memcmp(fm->e.v[i].key, key, key_size(m)))
			return &fm->e.v[i];
	return NULL;
}

static int fake_update(void *ctx, enum zs_map m, const void *key, const void *val)
{
	struct fake *f = ctx;
	struct fake_entry *e;

	assert_true(m < ZS_MAP_COUNT);
	if (m == f->fail_map && f->fail_count < f->fail_after && ++f->fail_count == f->fail_after)
		return -ENOSPC;
	f->updates[m]++;
	e = fake_find(f, m, key);
	if (!e) {
		e = ZS_VEC_PUSH(&f->maps[m].e);
		memcpy(e->key, key, key_size(m));
	}
	memcpy(e->val, val, val_size(m));
	return 0;
}

static int fake_lookup(void *ctx, enum zs_map m, const void *key, void *val)
{
	struct fake_entry *e = fake_find(ctx, m, key);

	if (!e)
		return -ENOENT;
	memcpy(val, e->val, val_size(m));
	return 0;
}

static int fake_del(void *ctx, enum zs_map m, const void *key)
{
	struct fake *f = ctx;
	struct fake_entry *e = fake_find(f, m, key);
	struct fake_map *fm = &f->maps[m];

	if (!e)
		return -ENOENT;
	f->deletes[m]++;
	memmove(e, e + 1, (size_t)(&fm->e.v[fm->e.n] - (e + 1)) * sizeof(*e));
	fm->e.n--;
	return 0;
}

/* Like bpf_map_get_next_key: an unknown key restarts at the first. */
static int fake_next_key(void *ctx, enum zs_map m, const void *key, void *next)
{
	struct fake *f = ctx;
	struct fake_map *fm = &f->maps[m];
	struct fake_entry *e = key ? fake_find(f, m, key) : NULL;
	size_t i = e ? (size_t)(e - fm->e.v) + 1 : 0;

	if (i >= fm->e.n)
		return -ENOENT;
	memcpy(next, fm->e.v[i].key, key_size(m));
	return 0;
}

static unsigned fake_ifindex(void *ctx, const char *ifname)
{
	struct fake *f = ctx;

	if (!strcmp(ifname, "zsd-web"))
		return 10;
	if (!strcmp(ifname, "zsd-api"))
		return 11;
	if (!strcmp(ifname, "zsd-db"))
		return 12;
	if (!strcmp(ifname, "zsd-ghost") && f->ghost_exists)
		return 13;
	return 0;
}

static const struct zs_map_ops fake_ops = {
	.update = fake_update,
	.lookup = fake_lookup,
	.del = fake_del,
	.next_key = fake_next_key,
	.ifindex = fake_ifindex,
};

static void fake_free(struct fake *f)
{
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		free(f->maps[m].e.v);
	memset(f, 0, sizeof(*f));
}

static void fake_reset_counts(struct fake *f)
{
	memset(f->updates, 0, sizeof(f->updates));
	memset(f->deletes, 0, sizeof(f->deletes));
}

static void fake_snapshot(const struct fake *f, struct fake *snap)
{
	memset(snap, 0, sizeof(*snap));
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		for (size_t i = 0; i < f->maps[m].e.n; i++)
			*ZS_VEC_PUSH(&snap->maps[m].e) = f->maps[m].e.v[i];
}

/* Same keys with the same values, in whatever order. */
static void assert_maps_equal(struct fake *f, struct fake *snap)
{
	for (size_t m = 0; m < ZS_MAP_COUNT; m++) {
		if (f->maps[m].e.n != snap->maps[m].e.n)
			fail_msg("map %zu: %zu entries, want %zu", m, f->maps[m].e.n,
				 snap->maps[m].e.n);
		for (size_t i = 0; i < snap->maps[m].e.n; i++) {
			const struct fake_entry *want = &snap->maps[m].e.v[i];
			const struct fake_entry *got = fake_find(f, (enum zs_map)m, want->key);
			if (!got)
				fail_msg("map %zu: entry %zu missing", m, i);
			assert_memory_equal(got->val, want->val, val_size((enum zs_map)m));
		}
	}
}

static size_t count_handle_entries(struct fake *f, uint32_t handle)
{
	size_t n = 0;

	for (size_t i = 0; i < f->maps[ZS_MAP_POLICY].e.n; i++) {
		struct zs_policy_key k;
		memcpy(&k, f->maps[ZS_MAP_POLICY].e.v[i].key, sizeof(k));
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

struct state {
	struct zs_objects o;
	struct zs_identities ids;
	struct zs_compiled c;
};

static void state_load(struct state *s, const char *yaml)
{
	struct zs_diags d = { 0 };
	int err = zs_parse_buffer("t.yaml", yaml, strlen(yaml), &s->o, &d);

	zs_diags_print(&d, stderr);
	assert_int_equal(err, 0);
	zs_diags_free(&d);
}

/* (Re)compiles s->o into s->c, keeping the identities. */
static void state_compile(struct state *s)
{
	struct zs_diags d = { 0 };
	int err;

	zs_compiled_free(&s->c);
	err = zs_compile(&s->o, &s->ids, &s->c, &d);
	zs_diags_print(&d, stderr);
	assert_int_equal(err, 0);
	zs_diags_free(&d);
}

static void state_init(struct state *s, const char *yaml)
{
	memset(s, 0, sizeof(*s));
	zs_objects_init(&s->o);
	state_load(s, yaml);
	state_compile(s);
}

static void state_free(struct state *s)
{
	zs_compiled_free(&s->c);
	zs_identities_free(&s->ids);
	zs_objects_free(&s->o);
}

static uint32_t id_of(const struct zs_compiled *c, const char *workload)
{
	for (size_t i = 0; i < c->ipcache.n; i++)
		if (!strcmp(c->ipcache.v[i].workload, workload))
			return c->ipcache.v[i].identity;
	fail_msg("no workload %s", workload);
	return 0;
}

static void apply_ok(struct zs_writer *w, const struct zs_compiled *c)
{
	char err[256] = "";
	int ret = zs_writer_apply(w, c, err, sizeof(err));

	if (ret)
		fail_msg("apply: %d: %s", ret, err);
	assert_int_equal(zs_writer_settle(w), 0);
}

static uint32_t config_revision(struct fake *f)
{
	uint32_t zero = 0;
	struct zs_config cfg;

	assert_int_equal(fake_lookup(f, ZS_MAP_CONFIG, &zero, &cfg), 0);
	return cfg.revision;
}

/* The handle of `identity`; both generations must agree. */
static uint32_t handle_of(struct fake *f, uint32_t identity)
{
	struct zs_handle_key k0 = { .gen = 0, .identity = identity };
	struct zs_handle_key k1 = { .gen = 1, .identity = identity };
	uint32_t h0, h1;

	assert_int_equal(fake_lookup(f, ZS_MAP_HANDLES, &k0, &h0), 0);
	assert_int_equal(fake_lookup(f, ZS_MAP_HANDLES, &k1, &h1), 0);
	assert_int_equal(h0, h1);
	assert_int_not_equal(h0, 0);
	return h0;
}

/* Every compiled entry of every subject is in the policy map, and nothing else. */
static void assert_policy_written(struct fake *f, const struct zs_compiled *c)
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
			if (fake_lookup(f, ZS_MAP_POLICY, &k, &v))
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
	assert_int_equal(f->maps[ZS_MAP_POLICY].e.n, total);
}

static void assert_endpoint(struct fake *f, uint32_t ifindex, uint32_t identity)
{
	struct zs_endpoint ep;

	if (fake_lookup(f, ZS_MAP_ENDPOINTS, &ifindex, &ep))
		fail_msg("no endpoint for ifindex %u", ifindex);
	assert_int_equal(ep.identity[0], identity);
	assert_int_equal(ep.identity[1], identity);
	assert_int_equal(ep.flags, ZS_EP_READY);
}

/* The ipcache entry of one address (a full-length prefix): 0 or -ENOENT. */
static int ipcache_get(struct fake *f, const char *addr, struct zs_ipcache_val *v)
{
	struct zs_prefix p;
	struct zs_ipcache_key k = { 0 };

	assert_int_equal(zs_prefix_parse(addr, &p, false), 0);
	k.prefixlen = 32 + (p.family == 4 ? 32 : 128);
	k.family = p.family;
	memcpy(k.addr, p.addr, 16);
	return fake_lookup(f, ZS_MAP_IPCACHE, &k, v);
}

static void assert_ipcache(struct fake *f, const char *addr, uint32_t identity, uint32_t ifindex)
{
	struct zs_ipcache_val v;

	if (ipcache_get(f, addr, &v))
		fail_msg("no ipcache entry for %s", addr);
	assert_int_equal(v.identity[0], identity);
	assert_int_equal(v.identity[1], identity);
	assert_int_equal(v.cidr[0] | v.cidr[1], 0);
	assert_int_equal(v.ifindex, ifindex);
}

/* ---- tests -------------------------------------------------------------- */

static void test_first_apply(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s;
	(void)state;

	state_init(&s, ESTATE);
	assert_int_equal(s.c.subjects.n, 3);
	assert_true(s.c.total_entries > 0);
	assert_int_equal(zs_writer_init(&w, &fake_ops, &f), 0);
	assert_int_equal(w.revision, 0);

	apply_ok(&w, &s.c);
	assert_int_equal(w.revision, 1);
	assert_int_equal(config_revision(&f), 1);
	assert_policy_written(&f, &s.c);
	assert_int_equal(w.policy_entries, s.c.total_entries);
	/* One handle per subject, distinct, both generations. */
	assert_int_equal(f.maps[ZS_MAP_HANDLES].e.n, 2 * s.c.subjects.n);
	uint32_t web = id_of(&s.c, "shop/web"), api = id_of(&s.c, "shop/api"),
		 db = id_of(&s.c, "shop/db"), remote = id_of(&s.c, "shop/remote");
	assert_int_not_equal(handle_of(&f, web), handle_of(&f, api));
	assert_int_not_equal(handle_of(&f, api), handle_of(&f, db));
	assert_int_not_equal(handle_of(&f, web), handle_of(&f, db));

	assert_int_equal(f.maps[ZS_MAP_ENDPOINTS].e.n, 3);
	assert_endpoint(&f, 10, web);
	assert_endpoint(&f, 11, api);
	assert_endpoint(&f, 12, db);

	assert_int_equal(f.maps[ZS_MAP_IPCACHE].e.n, 5);
	assert_ipcache(&f, "10.77.0.11", web, 10);
	assert_ipcache(&f, "10.77.0.12", api, 11);
	assert_ipcache(&f, "fd00::12", api, 11);
	assert_ipcache(&f, "10.77.0.13", db, 12);
	assert_ipcache(&f, "10.99.0.1", remote, 0);

	/* A second apply moves the revision on again. */
	apply_ok(&w, &s.c);
	assert_int_equal(w.revision, 2);
	assert_int_equal(config_revision(&f), 2);

	zs_writer_free(&w);
	state_free(&s);
	fake_free(&f);
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
	struct fake f = { 0 }, snap;
	struct zs_writer w;
	struct state s;
	(void)state;

	state_init(&s, ESTATE);
	assert_int_equal(zs_writer_init(&w, &fake_ops, &f), 0);
	apply_ok(&w, &s.c);
	uint32_t api = id_of(&s.c, "shop/api"), h = handle_of(&f, api);

	/* Recompile the same objects: equal, but not the same memory. */
	state_compile(&s);
	fake_reset_counts(&f);
	fake_snapshot(&f, &snap);
	apply_ok(&w, &s.c);
	assert_int_equal(f.updates[ZS_MAP_POLICY], 0);
	assert_int_equal(f.deletes[ZS_MAP_POLICY], 0);
	assert_int_equal(f.updates[ZS_MAP_HANDLES], 0);
	assert_int_equal(handle_of(&f, api), h);
	assert_int_equal(w.revision, 2);
	assert_int_equal(config_revision(&f), 2);
	assert_int_equal(w.policy_entries, s.c.total_entries);
	assert_policy_written(&f, &s.c);

	/* Apart from the revision, the maps hold what they held. */
	uint32_t zero = 0;
	struct zs_config cfg = { .revision = 2 };

	fake_update(&snap, ZS_MAP_CONFIG, &zero, &cfg);
	assert_maps_equal(&f, &snap);

	fake_free(&snap);
	zs_writer_free(&w);
	state_free(&s);
	fake_free(&f);
}

static void test_changed_policy_new_handle(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s;
	(void)state;

	state_init(&s, ESTATE);
	assert_int_equal(zs_writer_init(&w, &fake_ops, &f), 0);
	apply_ok(&w, &s.c);
	uint32_t web = id_of(&s.c, "shop/web"), api = id_of(&s.c, "shop/api"),
		 db = id_of(&s.c, "shop/db");
	uint32_t h_web = handle_of(&f, web), h_api = handle_of(&f, api), h_db = handle_of(&f, db);
	size_t n_db_old = zs_compiled_subject(&s.c, db)->n;
	assert_int_equal(count_handle_entries(&f, h_db), n_db_old);

	/* Only db's policy changes (5432 -> 5433). */
	state_load(&s, POLICY_DB("5433"));
	assert_int_equal(s.o.policies.n, 3);
	state_compile(&s);
	fake_reset_counts(&f);
	apply_ok(&w, &s.c);

	uint32_t h_db_new = handle_of(&f, db);
	assert_int_not_equal(h_db_new, h_db);
	assert_int_not_equal(h_db_new, h_web);
	assert_int_not_equal(h_db_new, h_api);
	assert_int_equal(handle_of(&f, web), h_web);
	assert_int_equal(handle_of(&f, api), h_api);
	/* Only db's entries written; the old handle's all gone. */
	assert_int_equal(f.updates[ZS_MAP_POLICY], zs_compiled_subject(&s.c, db)->n);
	assert_int_equal(f.deletes[ZS_MAP_POLICY], n_db_old);
	assert_int_equal(count_handle_entries(&f, h_db), 0);
	assert_policy_written(&f, &s.c);
	assert_int_equal(w.policy_entries, s.c.total_entries);
	assert_int_equal(w.revision, 2);

	zs_writer_free(&w);
	state_free(&s);
	fake_free(&f);
}

static void test_missing_interface_skipped(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s;
	(void)state;

	state_init(&s, ESTATE GHOST);
	uint32_t ghost = id_of(&s.c, "shop/ghost");
	assert_int_equal(s.c.endpoints.n, 4);
	assert_int_equal(zs_writer_init(&w, &fake_ops, &f), 0);
	apply_ok(&w, &s.c);

	assert_int_equal(f.maps[ZS_MAP_ENDPOINTS].e.n, 3);
	uint32_t zero = 0;
	struct zs_endpoint ep;
	assert_int_equal(fake_lookup(&f, ZS_MAP_ENDPOINTS, &zero, &ep), -ENOENT);
	assert_endpoint(&f, 10, id_of(&s.c, "shop/web"));
	/* Its address is still known, without an interface. */
	assert_ipcache(&f, "10.77.0.66", ghost, 0);
	assert_policy_written(&f, &s.c);

	/* The link appears: the next apply enrolls it. */
	f.ghost_exists = true;
	apply_ok(&w, &s.c);
	assert_int_equal(f.maps[ZS_MAP_ENDPOINTS].e.n, 4);
	assert_endpoint(&f, 13, ghost);
	assert_ipcache(&f, "10.77.0.66", ghost, 13);

	zs_writer_free(&w);
	state_free(&s);
	fake_free(&f);
}

/* A new daemon adopts the maps: revision and handles go on, leftovers are swept. */
static void test_restart_adopts_and_sweeps(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w1, w2;
	struct state s;
	uint32_t stale_if = 99;
	struct zs_endpoint stale_ep = { .identity = { 500, 500 }, .flags = ZS_EP_READY };
	(void)state;

	state_init(&s, ESTATE);
	assert_int_equal(zs_writer_init(&w1, &fake_ops, &f), 0);
	apply_ok(&w1, &s.c);
	apply_ok(&w1, &s.c);
	uint32_t api = id_of(&s.c, "shop/api"), h_old = handle_of(&f, api);
	uint32_t max_old = w1.next_handle - 1;
	zs_writer_free(&w1);
	fake_update(&f, ZS_MAP_ENDPOINTS, &stale_if, &stale_ep);

	assert_int_equal(zs_writer_init(&w2, &fake_ops, &f), 0);
	assert_int_equal(w2.revision, 2);
	assert_int_equal(w2.policy_entries, s.c.total_entries);
	assert_true(w2.next_handle > max_old);
	apply_ok(&w2, &s.c);
	assert_int_equal(w2.revision, 3);
	assert_int_equal(config_revision(&f), 3);
	/* Everything rewritten under new handles; nothing of the old left. */
	assert_true(handle_of(&f, api) > max_old);
	assert_int_equal(count_handle_entries(&f, h_old), 0);
	assert_policy_written(&f, &s.c);
	assert_int_equal(f.maps[ZS_MAP_HANDLES].e.n, 2 * s.c.subjects.n);
	assert_int_equal(f.maps[ZS_MAP_ENDPOINTS].e.n, 3);
	assert_int_equal(w2.policy_entries, s.c.total_entries);

	zs_writer_free(&w2);
	state_free(&s);
	fake_free(&f);
}

/* Applies `c` with update number `nth` of map `m` failing; expects a clean rollback. */
static void expect_rollback(struct zs_writer *w, struct fake *f, const struct zs_compiled *c,
			    enum zs_map m, size_t nth, const char *errprefix)
{
	struct fake snap;
	uint32_t rev = w->revision;
	char err[256] = "";
	bool had_config = f->maps[ZS_MAP_CONFIG].e.n;
	int ret;

	fake_snapshot(f, &snap);
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
	fake_free(&snap);
}

static void test_failed_first_apply_rolls_back(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s;
	(void)state;

	state_init(&s, ESTATE);
	assert_true(s.c.total_entries > 5);
	assert_int_equal(zs_writer_init(&w, &fake_ops, &f), 0);
	expect_rollback(&w, &f, &s.c, ZS_MAP_POLICY, 5, "policy map: write failed");
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		assert_int_equal(f.maps[m].e.n, 0);

	/* And the writer still works afterwards. */
	apply_ok(&w, &s.c);
	assert_int_equal(w.revision, 1);
	assert_policy_written(&f, &s.c);

	zs_writer_free(&w);
	state_free(&s);
	fake_free(&f);
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
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s, s2;
	struct zs_map_ops ops = fake_ops;
	char err[256];
	(void)state;

	ops.quiesce = fake_quiesce;
	state_init(&s, ESTATE);
	state_init(&s2, WORKLOADS POLICY_API("9090") POLICY_DB("5432") POLICY_WEB);
	assert_int_equal(zs_writer_init(&w, &ops, &f), 0);
	apply_ok(&w, &s.c);
	uint32_t api = id_of(&s.c, "shop/api"), old = handle_of(&f, api);
	size_t before = f.maps[ZS_MAP_POLICY].e.n;
	quiesced = 0;

	assert_int_equal(zs_writer_apply(&w, &s2.c, err, sizeof(err)), 0);
	assert_true(w.pending);
	/* The old generation's slot still names the old handle, whose entries are all there. */
	struct zs_handle_key hk = { .gen = (w.revision & 1) ^ 1, .identity = api };
	uint32_t h;
	assert_int_equal(fake_lookup(&f, ZS_MAP_HANDLES, &hk, &h), 0);
	assert_int_equal(h, old);
	assert_true(f.maps[ZS_MAP_POLICY].e.n > before);
	assert_int_equal(quiesced, 0);

	assert_int_equal(zs_writer_settle(&w), 0);
	assert_int_equal(quiesced, 1);
	assert_false(w.pending);
	assert_int_equal(fake_lookup(&f, ZS_MAP_HANDLES, &hk, &h), 0);
	assert_int_not_equal(h, old);
	assert_int_equal(count_handle_entries(&f, old), 0);
	assert_policy_written(&f, &s2.c);
	zs_writer_free(&w);
	state_free(&s);
	state_free(&s2);
	fake_free(&f);
}

/*
 * A workload removed: until settle its address stays (the old generation may
 * still read it), but from the flip on it is bound to no interface and the
 * new generation sees what it will see once the entry is gone (world here).
 */
static void test_removed_address_unbound_at_flip(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s, s2;
	struct zs_map_ops ops = fake_ops;
	char err[256];
	(void)state;

	ops.quiesce = fake_quiesce;
	f.ghost_exists = true;
	state_init(&s, ESTATE GHOST);
	state_init(&s2, ESTATE);
	uint32_t ghost = id_of(&s.c, "shop/ghost");
	assert_int_equal(zs_writer_init(&w, &ops, &f), 0);
	apply_ok(&w, &s.c);
	assert_ipcache(&f, "10.77.0.66", ghost, 13);

	assert_int_equal(zs_writer_apply(&w, &s2.c, err, sizeof(err)), 0);
	assert_true(w.pending);
	struct zs_ipcache_val v;
	assert_int_equal(ipcache_get(&f, "10.77.0.66", &v), 0);
	assert_int_equal(v.ifindex, 0);
	assert_int_equal(v.identity[(w.revision & 1) ^ 1], ghost); /* the old generation's view */
	assert_int_equal(v.identity[w.revision & 1], ZS_ID_WORLD);  /* the new one's */

	assert_int_equal(zs_writer_settle(&w), 0);
	assert_int_equal(ipcache_get(&f, "10.77.0.66", &v), -ENOENT);
	zs_writer_free(&w);
	state_free(&s);
	state_free(&s2);
	fake_free(&f);
}

/* Over capacity: refused before anything is written, saying which map and by how much. */
static void test_capacity_refused_up_front(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s;
	char err[256] = "", want[256];
	(void)state;

	state_init(&s, ESTATE);
	assert_int_equal(zs_writer_init(&w, &fake_ops, &f), 0);
	w.policy_entries = ZS_MAX_POLICY - 1; /* as if the map were almost full */
	assert_int_equal(zs_writer_apply(&w, &s.c, err, sizeof(err)), -E2BIG);
	snprintf(want, sizeof(want),
		 "policy map: %zu entries needed (%u in use while the new ones are written), capacity %u: over by %zu",
		 ZS_MAX_POLICY - 1 + s.c.total_entries, ZS_MAX_POLICY - 1, ZS_MAX_POLICY,
		 s.c.total_entries - 1);
	assert_string_equal(err, want);
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		assert_int_equal(f.updates[m], 0);
	assert_int_equal(w.revision, 0);
	zs_writer_free(&w);
	state_free(&s);
	fake_free(&f);
}

static void test_failed_apply_rolls_back(void **state)
{
	struct fake f = { 0 };
	struct zs_writer w;
	struct state s;
	(void)state;

	state_init(&s, ESTATE);
	assert_int_equal(zs_writer_init(&w, &fake_ops, &f), 0);
	apply_ok(&w, &s.c);

	/* Two subjects change: fail in the second one's entries. */
	state_load(&s, POLICY_API("9500") POLICY_DB("5433"));
	state_compile(&s);
	size_t n_api = zs_compiled_subject(&s.c, id_of(&s.c, "shop/api"))->n;
	expect_rollback(&w, &f, &s.c, ZS_MAP_POLICY, n_api + 2, "policy map: write failed");

	/*
	 * A new local workload: a failure at each later step (handles, endpoint,
	 * ipcache, the flip itself) undoes what the steps before it wrote.
	 */
	state_load(&s, GHOST);
	f.ghost_exists = true;
	state_compile(&s);
	expect_rollback(&w, &f, &s.c, ZS_MAP_HANDLES, 3, "handles map: write failed");
	expect_rollback(&w, &f, &s.c, ZS_MAP_ENDPOINTS, 1, "endpoints map: write failed");
	expect_rollback(&w, &f, &s.c, ZS_MAP_IPCACHE, 1, "ipcache map: write failed");
	expect_rollback(&w, &f, &s.c, ZS_MAP_CONFIG, 1, "config map: write failed");

	/* Then it goes through, and the result is complete. */
	apply_ok(&w, &s.c);
	assert_int_equal(w.revision, 2);
	assert_int_equal(config_revision(&f), 2);
	assert_policy_written(&f, &s.c);
	assert_int_equal(w.policy_entries, s.c.total_entries);
	assert_endpoint(&f, 13, id_of(&s.c, "shop/ghost"));
	assert_ipcache(&f, "10.77.0.66", id_of(&s.c, "shop/ghost"), 13);

	zs_writer_free(&w);
	state_free(&s);
	fake_free(&f);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
