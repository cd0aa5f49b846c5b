// SPDX-License-Identifier: MIT
/*
 * userspace/flowfilter.c: the filters of `zeroseg flows`, on records as the
 * daemon streams them. Ends by workload (with or without namespace), label
 * selector or CIDR; verdict, destination port, protocol (any case), record
 * type; --since as a duration or an RFC 3339 time; bad filter text refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "telemetry/flowfilter.h"

/* A new allowed TCP flow shop/web (10.77.0.11) -> shop/api:8080 (10.77.0.12). */
static const char web_to_api[] =
	"{\"time\":\"2026-11-22T10:00:05.000000000Z\",\"type\":\"new\",\"verdict\":\"allowed\","
	"\"src\":{\"ip\":\"10.77.0.11\",\"port\":43562,\"identity\":256,\"workload\":\"shop/web\","
	"\"namespace\":\"shop\",\"labels\":{\"app\":\"web\",\"tier\":\"front\"}},"
	"\"dst\":{\"ip\":\"10.77.0.12\",\"port\":8080,\"identity\":257,\"workload\":\"shop/api\","
	"\"namespace\":\"shop\",\"labels\":{\"app\":\"api\"}},\"protocol\":\"TCP\"}";

/* A denied UDP flow from the world (192.0.2.7) to shop/db:53. */
static const char world_to_db[] =
	"{\"time\":\"2026-11-22T10:00:10.000000000Z\",\"type\":\"denied\",\"verdict\":\"denied\","
	"\"src\":{\"ip\":\"192.0.2.7\",\"port\":5353,\"identity\":2,\"entity\":\"world\"},"
	"\"dst\":{\"ip\":\"10.77.0.13\",\"port\":53,\"identity\":258,\"workload\":\"shop/db\","
	"\"namespace\":\"shop\",\"labels\":{\"app\":\"db\"}},\"protocol\":\"UDP\"}";

static json_t *rec(const char *text)
{
	json_error_t err;
	json_t *r = json_loads(text, 0, &err);

	assert_non_null(r);
	return r;
}

/* Does a filter built by `set` keep each of the two records? */
static void expect(void (*set)(struct zs_flow_filter *), bool web, bool world)
{
	struct zs_flow_filter f;
	json_t *a = rec(web_to_api), *b = rec(world_to_db);

	zs_flow_filter_init(&f);
	set(&f);
	assert_int_equal(zs_flow_filter_match(&f, a), web);
	assert_int_equal(zs_flow_filter_match(&f, b), world);
	zs_flow_filter_free(&f);
	json_decref(a);
	json_decref(b);
}

static void none(struct zs_flow_filter *f) { (void)f; }
static void from_web(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->from, "shop/web"), 0); }
static void from_web_any_ns(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->from, "web"), 0); }
static void from_other_ns(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->from, "other/web"), 0); }
static void to_app_db(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->to, "app=db"), 0); }
static void from_front_web(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->from, "app=web,tier=front"), 0); }
static void from_back_web(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->from, "app=web,tier=back"), 0); }
static void from_world_cidr(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->from, "192.0.2.0/24"), 0); }
static void to_77_net(struct zs_flow_filter *f) { assert_int_equal(zs_end_match_parse(&f->to, "10.77.0.0/16"), 0); }
static void denied(struct zs_flow_filter *f) { f->verdict = "denied"; }
static void port_8080(struct zs_flow_filter *f) { f->port = 8080; }
static void udp_lower(struct zs_flow_filter *f) { f->protocol = "udp"; }
static void type_new(struct zs_flow_filter *f) { f->type = "new"; }
static void web_and_denied(struct zs_flow_filter *f) { from_web(f); denied(f); }

static void test_ends(void **state)
{
	(void)state;
	expect(none, true, true);
	expect(from_web, true, false);
	expect(from_web_any_ns, true, false);
	expect(from_other_ns, false, false);
	expect(to_app_db, false, true);
	expect(from_front_web, true, false);
	expect(from_back_web, false, false);
	expect(from_world_cidr, false, true);
	expect(to_77_net, true, true);
}

static void test_fields(void **state)
{
	(void)state;
	expect(denied, false, true);
	expect(port_8080, true, false);
	expect(udp_lower, false, true);
	expect(type_new, true, false);
	expect(web_and_denied, false, false); /* every filter must hold */
}

static void test_since(void **state)
{
	struct zs_flow_filter f;
	json_t *a = rec(web_to_api), *b = rec(world_to_db);
	/* 2026-11-22T10:00:12Z as CLOCK_REALTIME ns. */
	const uint64_t now = 1795341612ull * 1000000000ull;
	(void)state;

	zs_flow_filter_init(&f);
	/* The last 5 s: only the record of 10:00:10. */
	assert_int_equal(zs_flow_filter_since(&f, "5s", now), 0);
	assert_false(zs_flow_filter_match(&f, a));
	assert_true(zs_flow_filter_match(&f, b));
	/* A minute: both. */
	assert_int_equal(zs_flow_filter_since(&f, "1m", now), 0);
	assert_true(zs_flow_filter_match(&f, a));
	/* An RFC 3339 time between them. */
	assert_int_equal(zs_flow_filter_since(&f, "2026-11-22T10:00:07Z", now), 0);
	assert_false(zs_flow_filter_match(&f, a));
	assert_true(zs_flow_filter_match(&f, b));
	zs_flow_filter_free(&f);
	json_decref(a);
	json_decref(b);
}

static void test_bad_input(void **state)
{
	struct zs_flow_filter f;
	(void)state;

	zs_flow_filter_init(&f);
	assert_int_equal(zs_end_match_parse(&f.from, "10.0.0.0/33"), -EINVAL);
	assert_int_equal(zs_end_match_parse(&f.from, "fd00::/129"), -EINVAL);
	assert_int_equal(zs_end_match_parse(&f.from, "=web"), -EINVAL);
	assert_int_equal(zs_end_match_parse(&f.from, ""), -EINVAL);
	assert_int_equal(zs_flow_filter_since(&f, "5 parsecs", 0), -EINVAL);
	assert_int_equal(zs_flow_filter_since(&f, "-5m", 0), -EINVAL);
	zs_flow_filter_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ends),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests_name("flowfilter", tests, NULL, NULL);
}
