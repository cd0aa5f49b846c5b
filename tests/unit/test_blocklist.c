// SPDX-License-Identifier: MIT
/*
 * A blocklist written inline (issue 13): one rule denying N /32 addresses,
 * beside an allow of their /8 with an except. Checks decisions at 20k
 * prefixes (inside, outside, in the except, blocked inside the except), and
 * that 100k prefixes compile well under a second: a loose bound (5 s) that
 * a compile quadratic in the prefixes misses by minutes (it took ~2 s at
 * 10k). The time is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "bpf/abi.h"
#include "policy/compile.h"
#include "tests/lib/fixture.h"

#define TCP 6
#define COMPILE_BOUND_MS 5000.0

/*
 * web (10.0.0.1) takes TCP 80 from 11.0.0.0/8 except 11.1.0.0/16, and
 * denies n addresses: 11.128.0.0 + 3 i in a scrambled order (i * 7919 mod n,
 * n prime to 7919), and 11.1.0.9.
 */
static void gen(struct fx_text *t, size_t n)
{
	fx_text_open(t);
	fx_printf(t, "apiVersion: zeroseg.io/v1\nkind: Workload\n"
		     "metadata: {name: web, namespace: bl, labels: {app: web}}\n"
		     "spec: {interface: zsb-web, addresses: [10.0.0.1]}\n"
		     "---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
		     "metadata: {name: blocklist, namespace: bl}\n"
		     "spec:\n  selector: {matchLabels: {app: web}}\n  ingress:\n"
		     "    - from: [{cidr: 11.0.0.0/8, except: [11.1.0.0/16]}]\n"
		     "      ports: [{protocol: TCP, port: 80}]\n"
		     "    - action: deny\n      from:\n        - {cidr: 11.1.0.9/32}\n");
	for (size_t i = 0; i < n; i++) {
		uint32_t a = 11u << 24 | 128u << 16;
		a += 3 * (uint32_t)((i * 7919) % n);
		fx_printf(t, "        - {cidr: %u.%u.%u.%u/32}\n", a >> 24, (a >> 16) & 255,
			  (a >> 8) & 255, a & 255);
	}
	fx_text_close(t);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint8_t decide(const struct zs_compiled *c, const char *src)
{
	struct zs_prefix s, d;
	struct zs_c_decision out;

	assert_int_equal(zs_prefix_parse(src, &s, false), 0);
	assert_int_equal(zs_prefix_parse("10.0.0.1", &d, false), 0);
	zs_compiled_decide(c, &s, &d, TCP, 80, &out);
	return out.verdict;
}

static void test_decisions_20k(void **state)
{
	struct fx_estate e = { 0 };
	struct fx_text t;

	(void)state;
	gen(&t, 20000);
	assert_int_equal(fx_estate_init(&e, t.s), 0);
	fx_text_free(&t);
	/* 20000 /32 + 11.1.0.9 + the /8 and its except, and web's address. */
	assert_int_equal(e.c.ipcache.n, 20000 + 1 + 2 + 1);
	assert_int_equal(decide(&e.c, "11.2.3.4"), ZS_VERDICT_ALLOW);   /* in the /8 */
	assert_int_equal(decide(&e.c, "11.128.0.1"), ZS_VERDICT_ALLOW); /* between two */
	assert_int_equal(decide(&e.c, "11.128.0.0"), ZS_VERDICT_DENY);  /* the first */
	assert_int_equal(decide(&e.c, "11.128.0.3"), ZS_VERDICT_DENY);
	assert_int_equal(decide(&e.c, "11.128.234.93"), ZS_VERDICT_DENY); /* the last: 3 * 19999 */
	assert_int_equal(decide(&e.c, "11.128.234.96"), ZS_VERDICT_ALLOW); /* past it */
	assert_int_equal(decide(&e.c, "11.1.0.8"), ZS_VERDICT_DENY);  /* the except: no allow */
	assert_int_equal(decide(&e.c, "11.1.0.9"), ZS_VERDICT_DENY);  /* blocked in the except */
	assert_int_equal(decide(&e.c, "12.0.0.1"), ZS_VERDICT_DENY);  /* outside: default */
	fx_estate_free(&e);
}

static void test_100k_compiles_fast(void **state)
{
	struct zs_objects o;
	struct zs_identities ids = { 0 };
	struct zs_compiled c = { 0 };
	struct fx_text t;
	double ms;

	(void)state;
	gen(&t, 100000);
	zs_objects_init(&o);
	assert_int_equal(fx_parse(&o, "blocklist.yaml", t.s, t.n), 0);
	fx_text_free(&t);
	ms = now_ms();
	assert_int_equal(fx_compile(&o, &ids, &c), 0);
	ms = now_ms() - ms;
	printf("compile of one rule denying 100k /32: %.0f ms (bound %.0f ms)\n", ms,
	       COMPILE_BOUND_MS);
	assert_int_equal(c.ipcache.n, 100000 + 1 + 2 + 1);
	assert_true(ms < COMPILE_BOUND_MS);
	assert_int_equal(decide(&c, "11.128.0.3"), ZS_VERDICT_DENY);
	assert_int_equal(decide(&c, "11.128.0.4"), ZS_VERDICT_ALLOW);
	zs_compiled_free(&c);
	zs_identities_free(&ids);
	zs_objects_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions_20k),
		cmocka_unit_test(test_100k_compiles_fast),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
