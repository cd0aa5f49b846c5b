// SPDX-License-Identifier: MIT
/*
 * Unit tests for the bounds on what one policy file may cost (parse.h,
 * policy/parse_bounds.c) and for undecodable text: an alias bomb, a
 * recursive alias, 100k-deep nesting and an oversized file are each refused
 * in milliseconds at the file:line:col that crosses the bound; a large value
 * is clipped in the message that quotes it; a byte that is not UTF-8 is
 * named at its line:col, by the parser and by util/text.c, which the CLI
 * checks every file with before sending it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "policy/parse.h"
#include "tests/lib/fixture.h"
#include "util/text.h"

#define FILE_NAME "t.yaml"
/*
 * Loose: a refusal costs about a millisecond, the largest inputs here ~200 ms
 * alone; without the bounds, minutes or all memory. Room for a loaded
 * machine (500 ms failed once beside other work) and for ASan's build.
 */
#ifdef __SANITIZE_ADDRESS__
#define FAST_MS 4000 /* ASan's build (make test-san) runs several times slower */
#else
#define FAST_MS 2000
#endif

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Parses `len` bytes of `yaml`; expects one diagnostic `want`, no objects, within FAST_MS. */
static void expect_refused(const char *yaml, size_t len, const char *want)
{
	struct zs_objects o;
	struct zs_diags d = { 0 };
	double t0 = now_ms();

	zs_objects_init(&o);
	assert_int_equal(zs_parse_buffer(FILE_NAME, yaml, len, &o, &d), -EINVAL);
	double ms = now_ms() - t0;
	if (d.msgs.n != 1)
		zs_diags_print(&d, stderr);
	assert_int_equal(d.msgs.n, 1);
	assert_string_equal(d.msgs.v[0], want);
	print_message("refused in %.1f ms\n", ms);
	assert_true(ms < FAST_MS);
	assert_int_equal(o.workloads.n + o.policies.n + o.namespaces.n, 0);
	zs_diags_free(&d);
	zs_objects_free(&o);
}

/* Ten levels of ten aliases each: 10^10 nodes once expanded, from 400 bytes. */
static void test_alias_bomb(void **state)
{
	struct fx_text t;
	(void)state;

	fx_text_open(&t);
	fx_printf(&t, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++) {
		fx_printf(&t, "a%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			fx_printf(&t, "%s*a%d", j ? ", " : "", i - 1);
		fx_printf(&t, "]\n");
	}
	fx_text_close(&t);
	expect_refused(t.s, strlen(t.s),
		       FILE_NAME ":5:45: aliases expand to more than 100000 nodes in one file (at *a3)");
	fx_text_free(&t);
}

/* An alias inside its own anchor: libyaml's loader makes a cycle of it. */
static void test_alias_recursive(void **state)
{
	const char *yaml = "a: &a [1, *a]\n";
	(void)state;

	expect_refused(yaml, strlen(yaml), FILE_NAME ":1:11: alias *a is inside the node it refers to");
}

/* Anchors and aliases within the bounds still work (an anchor lives in its document). */
static void test_alias_within_bounds(void **state)
{
	const char *yaml = "apiVersion: zeroseg.io/v1\n"
			   "kind: Workload\n"
			   "metadata: {name: web, labels: {app: web}}\n"
			   "spec: {interface: veth-web, addresses: [10.0.0.1]}\n"
			   "---\n"
			   "apiVersion: zeroseg.io/v1\n"
			   "kind: Policy\n"
			   "metadata: {name: p}\n"
			   "spec: {selector: {matchLabels: &web {app: web}}, ingress: [{from: [{selector: {matchLabels: *web}}]}]}\n";
	struct zs_objects o;
	struct zs_diags d = { 0 };
	(void)state;

	zs_objects_init(&o);
	int err = zs_parse_buffer(FILE_NAME, yaml, strlen(yaml), &o, &d);
	zs_diags_print(&d, stderr);
	assert_int_equal(err, 0);
	assert_int_equal(o.workloads.n, 1);
	assert_int_equal(o.policies.n, 1);
	zs_diags_free(&d);
	zs_objects_free(&o);
}

/* 100,000 levels of flow lists, and of block mappings: refused at level 65. */
static void test_depth(void **state)
{
	const size_t levels = 100000;
	char *s = malloc(2 * levels + 2);
	(void)state;

	memset(s, '[', levels);
	memset(s + levels, ']', levels);
	strcpy(s + 2 * levels, "\n");
	expect_refused(s, 2 * levels + 1, FILE_NAME ":1:65: nested deeper than 64 levels");
	free(s);

	struct fx_text t;
	fx_text_open(&t);
	for (int i = 0; i < 1000; i++)
		fx_printf(&t, "%*sk:\n", i, "");
	fx_text_close(&t);
	expect_refused(t.s, strlen(t.s), FILE_NAME ":65:65: nested deeper than 64 levels");
	fx_text_free(&t);
}

/* 100,000 keys in one mapping: checked in linear time (they were compared pairwise). */
static void test_many_keys(void **state)
{
	struct fx_text t;
	(void)state;

	fx_text_open(&t);
	fx_printf(&t, "apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n");
	for (int i = 0; i < 100000; i++)
		fx_printf(&t, "  selector: {}\n");
	fx_text_close(&t);

	struct zs_objects o;
	struct zs_diags d = { 0 };
	double t0 = now_ms();
	zs_objects_init(&o);
	assert_int_equal(zs_parse_buffer(FILE_NAME, t.s, strlen(t.s), &o, &d), -EINVAL);
	double ms = now_ms() - t0;
	print_message("100000 keys: %.1f ms\n", ms);
	assert_true(ms < FAST_MS);
	assert_string_equal(d.msgs.v[0], FILE_NAME ":6:3: Policy spec: field \"selector\" given twice");
	zs_diags_free(&d);
	zs_objects_free(&o);
	fx_text_free(&t);
}

/* A label set is inserted in order: more than ZS_MAX_LABELS is refused. */
static void test_many_labels(void **state)
{
	struct fx_text t;
	(void)state;

	fx_text_open(&t);
	fx_printf(&t, "apiVersion: zeroseg.io/v1\nkind: Workload\nmetadata:\n  name: w\n  labels:\n");
	for (int i = 0; i < 100000; i++)
		fx_printf(&t, "    k%d: v\n", i);
	fx_printf(&t, "spec: {interface: e, addresses: [10.0.0.1]}\n");
	fx_text_close(&t);
	expect_refused(t.s, strlen(t.s), FILE_NAME ":6:5: metadata.labels: more than 256 labels");
	fx_text_free(&t);
}

static void test_file_size(void **state)
{
	size_t len = ZS_MAX_POLICY_BYTES + 1;
	char *s = malloc(len), want[128];
	(void)state;

	memset(s, '#', len);
	snprintf(want, sizeof(want), FILE_NAME ":1:1: %zu bytes, more than the limit of %u", len,
		 (unsigned)ZS_MAX_POLICY_BYTES);
	expect_refused(s, len, want);
	free(s);
}

/* A 1 MB value in an error: the message quotes its first ZS_MAX_QUOTE bytes. */
static void test_long_value_clipped(void **state)
{
	size_t n = 1 << 20;
	char *s = malloc(n + 64), *p = s, want[256];
	(void)state;

	p += sprintf(p, "apiVersion: zeroseg.io/v1\nkind: \"");
	memset(p, 'X', n);
	strcpy(p + n, "\"\n");
	p = want + sprintf(want, FILE_NAME ":2:7: kind: \"");
	memset(p, 'X', ZS_MAX_QUOTE);
	strcpy(p + ZS_MAX_QUOTE, "...\" is not a kind of zeroseg.io/v1");
	expect_refused(s, strlen(s), want);
	free(s);
}

/* The parser names an undecodable byte at its line:col (columns in characters). */
static void test_invalid_utf8(void **state)
{
	const char *yaml = "apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata:\n  name: \"é\xff\"\n";
	(void)state;

	expect_refused(yaml, strlen(yaml),
		       FILE_NAME ":4:11: not valid UTF-8 text: invalid leading UTF-8 octet (byte 0xff at offset 60)");
}

static void test_utf8_check(void **state)
{
	static const struct {
		const char *s;
		size_t bad;
	} cases[] = {
		{ "plain ascii", 11 },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", 14 }, /* é € and U+1F512 */
		{ "a\xff", 1 },
		{ "a\xc0\xaf", 1 },          /* overlong '/' */
		{ "ab\xe0\x80\xaf", 2 },     /* overlong, 3 bytes */
		{ "\xed\xa0\x80", 0 },       /* a UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", 0 },   /* past U+10FFFF */
		{ "abc\xe2\x82", 3 },        /* cut short */
		{ "\x80", 0 },               /* a continuation byte alone */
	};
	int line, col;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(zs_utf8_bad(cases[i].s, strlen(cases[i].s)), cases[i].bad);
	assert_int_equal(zs_utf8_bad("a\0b", 3), 1); /* NUL: not text */
	zs_text_pos("ab\n\xc3\xa9x\xff", 6, &line, &col);
	assert_int_equal(line, 2);
	assert_int_equal(col, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_alias_recursive),
		cmocka_unit_test(test_alias_within_bounds),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_many_labels),
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_long_value_clipped),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_utf8_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
