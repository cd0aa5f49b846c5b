// SPDX-License-Identifier: MIT
/*
 * The pipeline fixtures of tests/lib/fixture.h: YAML text, parsed and
 * compiled estates, a one-shot writer, and the fake maps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/fixture.h"

/* ---- YAML text ------------------------------------------------------------ */

void fx_text_open(struct fx_text *t)
{
	memset(t, 0, sizeof(*t));
	t->f = open_memstream(&t->s, &t->n);
	if (!t->f)
		abort();
}

void fx_printf(struct fx_text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(t->f, fmt, ap);
	va_end(ap);
}

void fx_text_close(struct fx_text *t)
{
	if (t->f && fclose(t->f))
		abort();
	t->f = NULL;
}

void fx_text_free(struct fx_text *t)
{
	fx_text_close(t);
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* ---- objects, identities, compiled state ------------------------------------ */

int fx_parse(struct zs_objects *o, const char *name, const char *yaml, size_t len)
{
	struct zs_diags d = { 0 };
	int err = zs_parse_buffer(name, yaml, len ? len : strlen(yaml), o, &d);

	zs_diags_print(&d, stderr);
	if (!err && d.msgs.n)
		err = -EINVAL;
	zs_diags_free(&d);
	return err;
}

int fx_compile(const struct zs_objects *o, struct zs_identities *ids, struct zs_compiled *c)
{
	struct zs_diags d = { 0 };
	int err = zs_compile(o, ids, c, &d);

	zs_diags_print(&d, stderr);
	if (!err && d.msgs.n) {
		zs_compiled_free(c);
		err = -EINVAL;
	}
	zs_diags_free(&d);
	return err;
}

int fx_parsed_setup(void **state)
{
	struct fx_parsed *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	zs_objects_init(&t->o);
	*state = t;
	return 0;
}

int fx_parsed_teardown(void **state)
{
	struct fx_parsed *t = *state;

	zs_diags_free(&t->d);
	zs_objects_free(&t->o);
	free(t);
	return 0;
}

int fx_tmpdir_setup(void **state)
{
	struct fx_tmpdir *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->path, "/tmp/zs-test.XXXXXX");
	if (!mkdtemp(t->path)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

int fx_tmpdir_teardown(void **state)
{
	struct fx_tmpdir *t = *state;
	char *cmd = zs_xasprintf("rm -rf '%s'", t->path);
	int rc = system(cmd);

	free(cmd);
	free(t);
	return rc ? -1 : 0;
}

int fx_estate_init(struct fx_estate *e, const char *yaml)
{
	int err;

	memset(e, 0, sizeof(*e));
	zs_objects_init(&e->o);
	err = fx_estate_load(e, yaml);
	return err ? err : fx_estate_compile(e);
}

int fx_estate_load(struct fx_estate *e, const char *yaml)
{
	return fx_parse(&e->o, "t.yaml", yaml, 0);
}

int fx_estate_compile(struct fx_estate *e)
{
	zs_compiled_free(&e->c);
	memset(&e->c, 0, sizeof(e->c));
	return fx_compile(&e->o, &e->ids, &e->c);
}

void fx_estate_free(struct fx_estate *e)
{
	zs_compiled_free(&e->c);
	zs_identities_free(&e->ids);
	zs_objects_free(&e->o);
}

int fx_estate_apply(struct fx_estate *e, struct zs_writer *w, const char *yaml)
{
	struct zs_objects next;
	struct zs_compiled c = { 0 };
	struct zs_diags d = { 0 };
	char err[256] = "";
	int rc;

	zs_objects_init(&next);
	rc = zs_parse_buffer("t.yaml", yaml, strlen(yaml), &next, &d);
	if (!rc)
		rc = zs_validate(&next, &d);
	if (!rc)
		rc = zs_compile(&next, &e->ids, &c, &d);
	if (!rc) {
		rc = zs_writer_apply(w, &c, err, sizeof(err));
		if (rc)
			zs_compiled_free(&c);
	}
	if (rc) {
		zs_diags_print(&d, stderr);
		fprintf(stderr, "apply: %s\n", err[0] ? err : strerror(-rc));
		zs_objects_free(&next);
	} else {
		zs_compiled_free(&e->c);
		e->c = c;
		zs_objects_free(&e->o);
		e->o = next;
	}
	zs_diags_free(&d);
	return rc;
}

uint32_t fx_identity(const struct zs_compiled *c, const char *workload)
{
	for (size_t i = 0; i < c->endpoints.n; i++)
		if (!strcmp(c->endpoints.v[i].workload, workload))
			return c->endpoints.v[i].identity;
	for (size_t i = 0; i < c->ipcache.n; i++)
		if (c->ipcache.v[i].workload && !strcmp(c->ipcache.v[i].workload, workload))
			return c->ipcache.v[i].identity;
	return 0;
}

int fx_write(const struct zs_compiled *c, const struct zs_map_ops *ops, void *ctx)
{
	struct zs_writer w;
	char err[256] = "";
	int rc = zs_writer_init(&w, ops, ctx);

	if (rc) {
		fprintf(stderr, "writer: adopting the maps: %s\n", strerror(-rc));
		return rc;
	}
	rc = zs_writer_apply(&w, c, err, sizeof(err));
	if (rc)
		fprintf(stderr, "writing the policy: %s\n", err[0] ? err : strerror(-rc));
	zs_writer_free(&w);
	return rc;
}

/* ---- the fake maps -------------------------------------------------------- */

static const struct {
	size_t key, val;
} sizes[ZS_MAP_COUNT] = {
	[ZS_MAP_ENDPOINTS] = { sizeof(uint32_t), sizeof(struct zs_endpoint) },
	[ZS_MAP_IPCACHE] = { sizeof(struct zs_ipcache_key), sizeof(struct zs_ipcache_val) },
	[ZS_MAP_HANDLES] = { sizeof(struct zs_handle_key), sizeof(uint32_t) },
	[ZS_MAP_POLICY] = { sizeof(struct zs_policy_key), sizeof(struct zs_policy_val) },
	[ZS_MAP_CONFIG] = { sizeof(uint32_t), sizeof(struct zs_config) },
};
_Static_assert(sizeof(struct zs_ipcache_val) <= FX_VAL_MAX, "fake map values too small");
_Static_assert(sizeof(struct zs_policy_key) <= FX_KEY_MAX, "fake map keys too small");

size_t fx_key_size(enum zs_map m)
{
	return sizes[m].key;
}

size_t fx_val_size(enum zs_map m)
{
	return sizes[m].val;
}

/* A map the datapath does not have is the writer's bug: the test ends here. */
static void map_check(enum zs_map m)
{
	if ((unsigned)m >= ZS_MAP_COUNT) {
		fprintf(stderr, "fake maps: the writer named map %d, which does not exist\n", m);
		abort();
	}
}

void fx_fake_link(struct fx_fake *f, const char *name, unsigned ifindex)
{
	if (f->nlinks >= FX_LINKS_MAX)
		abort();
	f->links[f->nlinks].name = name;
	f->links[f->nlinks].ifindex = ifindex;
	f->nlinks++;
}

struct fx_entry *fx_fake_find(struct fx_fake *f, enum zs_map m, const void *key)
{
	map_check(m);
	for (size_t i = 0; i < f->maps[m].n; i++)
		if (!memcmp(f->maps[m].v[i].key, key, fx_key_size(m)))
			return &f->maps[m].v[i];
	return NULL;
}

int fx_fake_update(struct fx_fake *f, enum zs_map m, const void *key, const void *val)
{
	struct fx_entry *e;

	map_check(m);
	if (m == f->fail_map && f->fail_count < f->fail_after && ++f->fail_count == f->fail_after)
		return -ENOSPC;
	f->updates[m]++;
	e = fx_fake_find(f, m, key);
	if (!e) {
		e = ZS_VEC_PUSH(&f->maps[m]);
		memcpy(e->key, key, fx_key_size(m));
	}
	memcpy(e->val, val, fx_val_size(m));
	return 0;
}

int fx_fake_lookup(struct fx_fake *f, enum zs_map m, const void *key, void *val)
{
	struct fx_entry *e = fx_fake_find(f, m, key);

	if (!e)
		return -ENOENT;
	memcpy(val, e->val, fx_val_size(m));
	return 0;
}

static int fake_update(void *ctx, enum zs_map m, const void *key, const void *val)
{
	return fx_fake_update(ctx, m, key, val);
}

static int fake_lookup(void *ctx, enum zs_map m, const void *key, void *val)
{
	return fx_fake_lookup(ctx, m, key, val);
}

static int fake_del(void *ctx, enum zs_map m, const void *key)
{
	struct fx_fake *f = ctx;
	struct fx_entry *e = fx_fake_find(f, m, key);

	if (!e)
		return -ENOENT;
	f->deletes[m]++;
	memmove(e, e + 1, (size_t)(&f->maps[m].v[f->maps[m].n] - (e + 1)) * sizeof(*e));
	f->maps[m].n--;
	return 0;
}

/* Like bpf_map_get_next_key: an unknown key restarts at the first. */
static int fake_next_key(void *ctx, enum zs_map m, const void *key, void *next)
{
	struct fx_fake *f = ctx;
	struct fx_entry *e = key ? fx_fake_find(f, m, key) : NULL;
	size_t i = e ? (size_t)(e - f->maps[m].v) + 1 : 0;

	map_check(m);
	if (i >= f->maps[m].n)
		return -ENOENT;
	memcpy(next, f->maps[m].v[i].key, fx_key_size(m));
	return 0;
}

static unsigned fake_ifindex(void *ctx, const char *ifname)
{
	struct fx_fake *f = ctx;

	for (size_t i = 0; i < f->nlinks; i++)
		if (!strcmp(f->links[i].name, ifname))
			return f->links[i].ifindex;
	return 0;
}

const struct zs_map_ops fx_fake_ops = {
	.update = fake_update,
	.lookup = fake_lookup,
	.del = fake_del,
	.next_key = fake_next_key,
	.ifindex = fake_ifindex,
};

void fx_fake_reset_counts(struct fx_fake *f)
{
	memset(f->updates, 0, sizeof(f->updates));
	memset(f->deletes, 0, sizeof(f->deletes));
}

void fx_fake_snapshot(const struct fx_fake *f, struct fx_fake *snap)
{
	memset(snap, 0, sizeof(*snap));
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		for (size_t i = 0; i < f->maps[m].n; i++)
			*ZS_VEC_PUSH(&snap->maps[m]) = f->maps[m].v[i];
}

void fx_fake_free(struct fx_fake *f)
{
	for (size_t m = 0; m < ZS_MAP_COUNT; m++)
		free(f->maps[m].v);
	memset(f, 0, sizeof(*f));
}
