/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the unit tests for what reads a compiled estate (diff,
 * explain, the store): objects parsed from YAML text (as file "t.yaml"),
 * compiled with identities that last from one compile to the next, as a
 * daemon holds them. Every step asserts that it worked, printing the
 * parser's and compiler's reasons when it did not.
 */
#ifndef ZS_TEST_ESTATE_H
#define ZS_TEST_ESTATE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/compile.h"

struct estate {
	struct zs_objects o;
	struct zs_identities ids;
	struct zs_compiled c;
};

/* `o` made empty, then the objects of `yaml`. */
static inline void estate_parse(struct zs_objects *o, const char *yaml)
{
	struct zs_diags d = { 0 };

	zs_objects_init(o);
	int err = zs_parse_buffer("t.yaml", yaml, strlen(yaml), o, &d);
	zs_diags_print(&d, stderr);
	assert_int_equal(err, 0);
	zs_diags_free(&d);
}

/* Compiles e->o into e->c, numbering label sets in e->ids. */
static inline void estate_compile(struct estate *e)
{
	struct zs_diags d = { 0 };
	int err = zs_compile(&e->o, &e->ids, &e->c, &d);

	zs_diags_print(&d, stderr);
	assert_int_equal(err, 0);
	zs_diags_free(&d);
}

static inline void estate_init(struct estate *e, const char *yaml)
{
	memset(e, 0, sizeof(*e));
	estate_parse(&e->o, yaml);
	estate_compile(e);
}

static inline void estate_free(struct estate *e)
{
	zs_compiled_free(&e->c);
	zs_identities_free(&e->ids);
	zs_objects_free(&e->o);
}

/* The identity of the local workload "ns/name", from its endpoint. */
static inline uint32_t estate_id_of(const struct estate *e, const char *workload)
{
	for (size_t i = 0; i < e->c.endpoints.n; i++)
		if (!strcmp(e->c.endpoints.v[i].workload, workload))
			return e->c.endpoints.v[i].identity;
	fail_msg("no endpoint %s", workload);
	return 0;
}

#endif /* ZS_TEST_ESTATE_H */
