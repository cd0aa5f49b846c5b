// SPDX-License-Identifier: MIT
/*
 * userspace/lifecycle.c: what each conntrack entry is due at a scan. A
 * tracked flow gets an update every active timeout with the totals of its
 * last record (for deltas), its end after FIN/RST and a quiet second or
 * after the idle timeout, and is noticed as evicted when a scan no longer
 * sees it; a denied flow is never tracked, its quiet drops are reported
 * once (the tail), and it is forgotten when idle. Thousands of flows with
 * half of them evicted at once leave exactly the other half.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "telemetry/flows.h"
#include "telemetry/lifecycle.h"

#define SEC 1000000000ull
#define T0 (1000 * SEC) /* CLOCK_MONOTONIC of the first scan */

static struct zs_ct_key key_of(unsigned sport)
{
	struct zs_ct_key k = { .proto = 6, .family = 4 };

	k.addr_lo[0] = 10, k.addr_lo[3] = 1;
	k.addr_hi[0] = 10, k.addr_hi[3] = 2;
	k.port_lo = (uint16_t)sport;
	k.port_hi = 80;
	return k;
}

static struct zs_ct_entry flow(uint64_t created, uint64_t last, uint64_t packets, uint8_t verdict)
{
	struct zs_ct_entry e = { .created_ns = created, .last_ns = last, .verdict = verdict };

	e.packets[0] = packets;
	e.bytes[0] = packets * 100;
	return e;
}

/* One scan of a single entry: what it is due. */
static enum zs_lc_due see(struct zs_lifecycle *lc, const struct zs_ct_key *k,
			  const struct zs_ct_entry *e, uint64_t now, uint8_t *why,
			  const struct zs_lc_flow **prev)
{
	zs_lifecycle_begin(lc);
	return zs_lifecycle_see(lc, k, e, now, why, prev);
}

static void test_update_every_active_timeout(void **state)
{
	struct zs_lifecycle lc;
	struct zs_ct_key k = key_of(40000);
	const struct zs_lc_flow *prev = NULL;
	uint8_t why = 0;
	(void)state;

	zs_lifecycle_init(&lc, 60 * SEC, 30 * SEC);
	struct zs_ct_entry e = flow(T0, T0, 10, ZS_VERDICT_ALLOW);
	assert_int_equal(see(&lc, &k, &e, T0 + SEC, &why, &prev), ZS_LC_NOTHING);

	/* Busy for a minute: an update, with the previous record's totals (none yet). */
	e = flow(T0, T0 + 60 * SEC, 500, ZS_VERDICT_ALLOW);
	assert_int_equal(see(&lc, &k, &e, T0 + 60 * SEC, &why, &prev), ZS_LC_UPDATE);
	assert_int_equal(why, ZS_END_ACTIVE);
	assert_non_null(prev);
	assert_int_equal(prev->packets[0], 0);
	zs_lifecycle_reported(&lc, &k, &e, T0 + 60 * SEC);

	/* The next one a minute later carries the first update's totals. */
	e = flow(T0, T0 + 119 * SEC, 900, ZS_VERDICT_ALLOW);
	assert_int_equal(see(&lc, &k, &e, T0 + 90 * SEC, &why, &prev), ZS_LC_NOTHING);
	assert_int_equal(see(&lc, &k, &e, T0 + 120 * SEC, &why, &prev), ZS_LC_UPDATE);
	assert_int_equal(prev->packets[0], 500);
	assert_int_equal(prev->bytes[0], 50000);
	zs_lifecycle_free(&lc);
}

static void test_end_after_fin_or_idle(void **state)
{
	struct zs_lifecycle lc;
	struct zs_ct_key a = key_of(40001), b = key_of(40002);
	const struct zs_lc_flow *prev = NULL;
	uint8_t why = 0;
	(void)state;

	zs_lifecycle_init(&lc, 60 * SEC, 30 * SEC);
	/* FIN seen: still in its linger second, then ended. */
	struct zs_ct_entry e = flow(T0, T0 + 5 * SEC, 20, ZS_VERDICT_ALLOW);
	e.tcp_flags = 0x11;
	assert_int_equal(see(&lc, &a, &e, T0 + 5 * SEC + SEC / 2, &why, &prev), ZS_LC_NOTHING);
	assert_int_equal(see(&lc, &a, &e, T0 + 6 * SEC, &why, &prev), ZS_LC_END);
	assert_int_equal(why, ZS_END_OF_FLOW);

	/* No FIN: ended by the idle timeout, not before. */
	e = flow(T0, T0 + 5 * SEC, 20, ZS_VERDICT_ALLOW);
	assert_int_equal(see(&lc, &b, &e, T0 + 34 * SEC, &why, &prev), ZS_LC_NOTHING);
	assert_int_equal(see(&lc, &b, &e, T0 + 35 * SEC, &why, &prev), ZS_LC_END);
	assert_int_equal(why, ZS_END_IDLE);
	zs_lifecycle_free(&lc);
}

static void test_denied_flows_not_tracked(void **state)
{
	struct zs_lifecycle lc;
	struct zs_ct_key k = key_of(40003);
	const struct zs_lc_flow *prev = NULL;
	uint8_t why = 0;
	(void)state;

	zs_lifecycle_init(&lc, 60 * SEC, 30 * SEC);
	/* An allowed flow, tracked; then revoked: no longer tracked, no record of its own here. */
	struct zs_ct_entry e = flow(T0, T0, 5, ZS_VERDICT_ALLOW);
	assert_int_equal(see(&lc, &k, &e, T0, &why, &prev), ZS_LC_NOTHING);
	assert_int_equal(lc.n, 1);
	e = flow(T0, T0 + SEC, 6, ZS_VERDICT_DENY);
	assert_int_equal(see(&lc, &k, &e, T0 + SEC, &why, &prev), ZS_LC_NOTHING);
	assert_int_equal(lc.n, 0);

	/* Drops not yet reported, quiet for a second: the tail, once the last report is old. */
	e = flow(T0, T0 + 2 * SEC, 50, ZS_VERDICT_DENY);
	e.suppressed = 7;
	e.report_ns = T0 + 2 * SEC;
	assert_int_equal(see(&lc, &k, &e, T0 + 2 * SEC + SEC / 2, &why, &prev), ZS_LC_NOTHING);
	assert_int_equal(see(&lc, &k, &e, T0 + 3 * SEC, &why, &prev), ZS_LC_DENIED_TAIL);
	/* Nothing left to report and idle: forgotten. */
	e.suppressed = 0;
	assert_int_equal(see(&lc, &k, &e, T0 + 20 * SEC, &why, &prev), ZS_LC_NOTHING);
	assert_int_equal(see(&lc, &k, &e, T0 + 32 * SEC, &why, &prev), ZS_LC_FORGET);
	zs_lifecycle_free(&lc);
}

struct gone_count {
	size_t n;
	unsigned min_port;
};

static void count_gone(void *arg, const struct zs_lc_flow *f)
{
	struct gone_count *g = arg;

	g->n++;
	if (f->key.port_lo < g->min_port)
		g->min_port = f->key.port_lo;
}

#define MANY 5000

static void test_evicted_flows_swept(void **state)
{
	struct zs_lifecycle lc;
	struct gone_count g = { 0, UINT16_MAX };
	const struct zs_lc_flow *prev = NULL;
	uint8_t why = 0;
	(void)state;

	zs_lifecycle_init(&lc, 60 * SEC, 30 * SEC);
	zs_lifecycle_begin(&lc);
	for (unsigned i = 0; i < MANY; i++) {
		struct zs_ct_key k = key_of(10000 + i);
		struct zs_ct_entry e = flow(T0, T0, 1, ZS_VERDICT_ALLOW);
		assert_int_equal(zs_lifecycle_see(&lc, &k, &e, T0, &why, &prev), ZS_LC_NOTHING);
		zs_lifecycle_reported(&lc, &k, &e, T0 + i); /* a history of its own */
	}
	zs_lifecycle_sweep(&lc, count_gone, &g);
	assert_int_equal(g.n, 0);
	assert_int_equal(lc.n, MANY);

	/* The next scan sees only the upper half: the lower half was evicted. */
	zs_lifecycle_begin(&lc);
	for (unsigned i = MANY / 2; i < MANY; i++) {
		struct zs_ct_key k = key_of(10000 + i);
		struct zs_ct_entry e = flow(T0, T0 + SEC, 2, ZS_VERDICT_ALLOW);
		assert_int_equal(zs_lifecycle_see(&lc, &k, &e, T0 + SEC, &why, &prev), ZS_LC_NOTHING);
	}
	zs_lifecycle_sweep(&lc, count_gone, &g);
	assert_int_equal(g.n, MANY / 2);
	assert_int_equal(g.min_port, 10000);
	assert_int_equal(lc.n, MANY / 2);

	/* Every survivor is still found with its own history (looked up first, before
	 * anything refills the freed slots); the evicted are new again. */
	for (unsigned j = 0; j < MANY; j++) {
		unsigned i = (j + MANY / 2) % MANY;
		struct zs_ct_key k = key_of(10000 + i);
		struct zs_ct_entry e = flow(T0 - SEC, T0 + 2 * SEC, 3, ZS_VERDICT_ALLOW);
		zs_lifecycle_begin(&lc);
		zs_lifecycle_see(&lc, &k, &e, T0 + 2 * SEC, &why, &prev);
		assert_non_null(prev);
		assert_int_equal(prev->reported_ns, i < MANY / 2 ? T0 - SEC : T0 + i);
	}
	assert_int_equal(lc.n, MANY);
	zs_lifecycle_free(&lc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_every_active_timeout),
		cmocka_unit_test(test_end_after_fin_or_idle),
		cmocka_unit_test(test_denied_flows_not_tracked),
		cmocka_unit_test(test_evicted_flows_swept),
	};
	return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
