/* SPDX-License-Identifier: MIT */
/*
 * The fixtures of the parse -> compile -> writer pipeline, shared by the unit
 * tests, the packet tests and the benchmarks (one test harness, as
 * xdp-tools has one):
 *
 *   fx_text     YAML text built with printf (generated estates);
 *   fx_estate   objects from YAML text, compiled with identities that last
 *               from one compile to the next (what a daemon holds);
 *   fx_write    a compiled state written to maps by a writer of its own;
 *   fx_fake     an in-memory fake of the writer's five maps behind struct
 *               zs_map_ops, with a table of interfaces, counted writes and
 *               an injected failure, for unit tests of the writer.
 *
 * Nothing here asserts: every function returns 0 or -errno and prints what
 * went wrong (the parser's and compiler's diagnostics) to stderr, so that a
 * cmocka test asserts on the result and a benchmark reports it.
 */
#ifndef ZS_TEST_FIXTURE_H
#define ZS_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "datapath/writer.h"
#include "policy/compile.h"
#include "policy/parse.h"

/* ---- YAML text ------------------------------------------------------------ */

/* Text written with fx_printf (or fprintf to f); s and n are valid after fx_text_close. */
struct fx_text {
	char *s;
	size_t n;
	FILE *f;
};

void fx_text_open(struct fx_text *t);
void fx_printf(struct fx_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fx_text_close(struct fx_text *t);
void fx_text_free(struct fx_text *t);

/* ---- objects, identities, compiled state ------------------------------------ */

/* A compiled estate and what it was compiled from. */
struct fx_estate {
	struct zs_objects o;
	struct zs_identities ids;
	struct zs_compiled c;
};

/*
 * Parses `len` bytes of YAML (len 0: strlen) into o, as file `name`; 0 only
 * when it parses without a single diagnostic (those printed), else -EINVAL
 * or the parser's error.
 */
int fx_parse(struct zs_objects *o, const char *name, const char *yaml, size_t len);

/*
 * Compiles o with ids into c; 0 only when it compiles without a single
 * diagnostic (those printed), else -EINVAL or the compiler's error.
 */
int fx_compile(const struct zs_objects *o, struct zs_identities *ids, struct zs_compiled *c);

/*
 * What a parser test works on: the objects a parse fills and the
 * diagnostics it gives. fx_parsed_setup and fx_parsed_teardown are cmocka
 * setup and teardown functions: *state is a fresh struct fx_parsed.
 */
struct fx_parsed {
	struct zs_objects o;
	struct zs_diags d;
};

int fx_parsed_setup(void **state);
int fx_parsed_teardown(void **state);

/*
 * A fresh directory under /tmp for a test's files (cmocka setup and
 * teardown: *state is a struct fx_tmpdir; teardown removes it and what is in it).
 */
struct fx_tmpdir {
	char path[64];
};

int fx_tmpdir_setup(void **state);
int fx_tmpdir_teardown(void **state);

/* A fresh estate: yaml parsed (as "t.yaml") and compiled. Free it even on failure. */
int fx_estate_init(struct fx_estate *e, const char *yaml);
/* More objects into e->o (a later object replaces an earlier one of its name); not compiled. */
int fx_estate_load(struct fx_estate *e, const char *yaml);
/* Compiles e->o again into e->c, keeping the identities. */
int fx_estate_compile(struct fx_estate *e);
void fx_estate_free(struct fx_estate *e);

/*
 * What a daemon's apply does: yaml alone (not merged) parsed, validated,
 * compiled with e->ids and written through w; on success it becomes e->o and
 * e->c, on failure e is left as it was (the error printed). 0 or -errno.
 */
int fx_estate_apply(struct fx_estate *e, struct zs_writer *w, const char *yaml);

/* The identity of workload "ns/name" (from its endpoint or its addresses), or 0. */
uint32_t fx_identity(const struct zs_compiled *c, const char *workload);

/*
 * Writes c to the maps behind ops/ctx through a writer of its own (init,
 * apply, free: the first apply of a daemon, sweep included). 0 or -errno.
 */
int fx_write(const struct zs_compiled *c, const struct zs_map_ops *ops, void *ctx);

/* ---- the fake maps -------------------------------------------------------- */

#define FX_KEY_MAX 24
#define FX_VAL_MAX 24
#define FX_LINKS_MAX 16

struct fx_entry {
	uint8_t key[FX_KEY_MAX];
	uint8_t val[FX_VAL_MAX];
};

struct fx_fake {
	ZS_VEC(struct fx_entry) maps[ZS_MAP_COUNT]; /* insertion order, like a hash map's walk */
	size_t updates[ZS_MAP_COUNT];
	size_t deletes[ZS_MAP_COUNT];
	/* Fail the fail_after'th update (1-based) of fail_map with -ENOSPC; 0 = never. */
	enum zs_map fail_map;
	size_t fail_after;
	size_t fail_count;
	/* The interfaces that exist: ifindex by name (fx_fake_link). */
	struct {
		const char *name;
		unsigned ifindex;
	} links[FX_LINKS_MAX];
	size_t nlinks;
};

/* The ops of the fake; ctx: struct fx_fake *. No quiesce (set one in a copy). */
extern const struct zs_map_ops fx_fake_ops;

/* Key and value sizes of each map, as the datapath defines them. */
size_t fx_key_size(enum zs_map m);
size_t fx_val_size(enum zs_map m);

/* Interface `name` exists from now on, with this ifindex. */
void fx_fake_link(struct fx_fake *f, const char *name, unsigned ifindex);
/* The entry of `key` in map m, or NULL. */
struct fx_entry *fx_fake_find(struct fx_fake *f, enum zs_map m, const void *key);
/* The ops, callable directly: 0 or -errno. */
int fx_fake_update(struct fx_fake *f, enum zs_map m, const void *key, const void *val);
int fx_fake_lookup(struct fx_fake *f, enum zs_map m, const void *key, void *val);
/* Zeroes the update and delete counts. */
void fx_fake_reset_counts(struct fx_fake *f);
/* A copy of the maps' entries (not the counts, links or failure) into snap. */
void fx_fake_snapshot(const struct fx_fake *f, struct fx_fake *snap);
void fx_fake_free(struct fx_fake *f);

#endif /* ZS_TEST_FIXTURE_H */
