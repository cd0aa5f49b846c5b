// SPDX-License-Identifier: MIT
/*
 * Unit tests for the flow record fan-out (userspace/telemetry/sink.h), with
 * fake sinks that log what they are handed: each record reaches every sink
 * once, with the one line the fan-out encoded; losses are summed; a failing
 * sink does not stop the others; the `lost` line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "telemetry/sink.h"
#include "util/util.h"

#define T0 1700000000000000000ull /* 2023-11-14T22:13:20Z, in ns */

/* ---- a fake sink ------------------------------------------------------------ */

struct fake {
	struct zs_sink sink;
	int fail;      /* emit answers this (and counts a loss) when non-zero */
	size_t emits, flushes, ticks, closes;
	const struct zs_flow_rec *rec; /* the last emit's */
	const char *line_ptr;          /* where the last line was */
	char line[ZS_FANOUT_LINE_MAX + 1];
	size_t len;
	uint64_t tick_ns;
	uint64_t lost;
};

static int fake_emit(struct zs_sink *s, const struct zs_flow_rec *rec, const char *line, size_t len)
{
	struct fake *f = ZS_SINK_OF(s, struct fake, sink);

	f->emits++;
	f->rec = rec;
	f->line_ptr = line;
	memcpy(f->line, line, len);
	f->line[len] = '\0';
	f->len = len;
	if (f->fail)
		f->lost++;
	return f->fail;
}

static void fake_flush(struct zs_sink *s)
{
	ZS_SINK_OF(s, struct fake, sink)->flushes++;
}

static void fake_tick(struct zs_sink *s, uint64_t now_ns)
{
	struct fake *f = ZS_SINK_OF(s, struct fake, sink);
	f->ticks++;
	f->tick_ns = now_ns;
}

static uint64_t fake_lost(const struct zs_sink *s)
{
	return ZS_SINK_OF(s, const struct fake, sink)->lost;
}

static void fake_close(struct zs_sink *s)
{
	ZS_SINK_OF(s, struct fake, sink)->closes++;
}

static const struct zs_sink_ops fake_ops = {
	.name = "fake", .emit = fake_emit, .flush = fake_flush, .tick = fake_tick,
	.lost = fake_lost, .close = fake_close,
};

/* Emit and close only: flush, tick and lost are optional. */
static const struct zs_sink_ops bare_ops = { .name = "bare", .emit = fake_emit, .close = fake_close };

static struct zs_flow_rec sample(uint8_t type, uint16_t dport)
{
	struct zs_flow_rec r = {
		.type = type, .verdict = ZS_VERDICT_ALLOW, .family = 4, .proto = 6, .egress = 1,
		.time_ns = T0, .start_ns = T0, .last_ns = T0,
		.src = { .addr = { 10, 0, 0, 1 }, .port = 40000, .identity = 256, .workload = "demo/web" },
		.dst = { .addr = { 10, 0, 0, 2 }, .port = dport, .identity = 257, .workload = "demo/db" },
		.packets = { 1, 0 }, .bytes = { 60, 0 }, .ifindex = 3, .ifname = "veth0",
		.policy = "demo/db-allow", .rule = "ingress[0]", .revision = 7,
	};
	return r;
}

/* A fan-out of the n fakes (fake_ops unless they say), `events_lost` already lost. */
static void fanout_of(struct zs_fanout *fo, struct fake *f, size_t n, uint64_t events_lost)
{
	zs_fanout_init(fo, events_lost);
	for (size_t i = 0; i < n; i++) {
		if (!f[i].sink.ops)
			f[i].sink.ops = &fake_ops;
		assert_int_equal(zs_fanout_add(fo, &f[i].sink), 0);
	}
}

/* ---- the fan-out ------------------------------------------------------------ */

static void test_fanout_same_line_to_every_sink_once(void **state)
{
	(void)state;
	struct fake f[3] = { 0 };
	struct zs_fanout fo;
	struct zs_flow_rec r = sample(ZS_REC_NEW, 5432);
	char want[ZS_FANOUT_LINE_MAX];
	size_t wlen = zs_flow_rec_json(&r, want, sizeof(want));

	assert_true(wlen > 0);
	fanout_of(&fo, f, 3, 0);
	assert_int_equal(zs_fanout_emit(&fo, &r), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f[i].emits, 1);
		assert_ptr_equal(f[i].rec, &r);
		assert_int_equal(f[i].len, wlen);
		assert_memory_equal(f[i].line, want, wlen);
		/* Encoded once: every sink was handed the same buffer. */
		assert_ptr_equal(f[i].line_ptr, f[0].line_ptr);
	}
	assert_int_equal(fo.records, 1);

	struct zs_flow_rec r2 = sample(ZS_REC_END, 443);
	assert_int_equal(zs_fanout_emit(&fo, &r2), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f[i].emits, 2);
		assert_non_null(strstr(f[i].line, "\"type\":\"end\""));
		assert_non_null(strstr(f[i].line, "\"port\":443"));
	}
	assert_int_equal(fo.records, 2);
	assert_int_equal(zs_fanout_lost(&fo), 0);
	zs_fanout_close(&fo);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f[i].closes, 1);
	assert_int_equal(fo.n, 0);
}

static void test_fanout_failing_sink_does_not_stop_others(void **state)
{
	(void)state;
	struct fake f[3] = { [0] = { .fail = -EIO }, [2] = { .fail = -EAGAIN } };
	struct zs_fanout fo;
	struct zs_flow_rec r = sample(ZS_REC_NEW, 80);

	fanout_of(&fo, f, 3, 0);
	/* The first failure is the answer; every sink still had the record. */
	assert_int_equal(zs_fanout_emit(&fo, &r), -EIO);
	assert_int_equal(zs_fanout_emit(&fo, &r), -EIO);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f[i].emits, 2);
	assert_int_equal(fo.records, 2);
	assert_int_equal(zs_fanout_lost(&fo), 4);
	zs_fanout_close(&fo);
}

static void test_fanout_losses_summed(void **state)
{
	(void)state;
	struct fake f[3] = { [0] = { .lost = 3 }, [1] = { .lost = 5 }, [2] = { .sink.ops = &bare_ops } };
	struct zs_fanout fo;
	struct zs_flow_rec r = sample(ZS_REC_NEW, 80);
	char *huge = zs_xcalloc(ZS_FANOUT_LINE_MAX + 1, 1);

	fanout_of(&fo, f, 3, 0);
	assert_int_equal(zs_sink_lost(&f[2].sink), 0); /* no lost(): never loses */
	assert_int_equal(zs_sink_lost(NULL), 0);
	assert_int_equal(zs_fanout_lost(&fo), 8);

	/* A record whose line does not fit is lost to every sink, counted once. */
	memset(huge, 'p', ZS_FANOUT_LINE_MAX);
	r.policy = huge;
	assert_int_equal(zs_fanout_emit(&fo, &r), -EMSGSIZE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f[i].emits, 0);
	assert_int_equal(fo.unencoded, 1);
	assert_int_equal(fo.records, 0);
	assert_int_equal(zs_fanout_lost(&fo), 9);
	free(huge);
	zs_fanout_close(&fo);
}

static void test_fanout_flush_tick_and_full(void **state)
{
	(void)state;
	struct fake f[ZS_FANOUT_MAX + 1] = { [1] = { .sink.ops = &bare_ops } };
	struct zs_fanout fo;

	fanout_of(&fo, f, ZS_FANOUT_MAX, 0);
	assert_int_equal(zs_fanout_add(&fo, &f[ZS_FANOUT_MAX].sink), -ENOSPC);
	zs_fanout_flush(&fo);
	zs_fanout_tick(&fo, T0 + 5);
	for (int i = 0; i < ZS_FANOUT_MAX; i++) {
		assert_int_equal(f[i].flushes, i == 1 ? 0 : 1);
		assert_int_equal(f[i].ticks, i == 1 ? 0 : 1);
		assert_int_equal(f[i].tick_ns, i == 1 ? 0 : T0 + 5);
	}
	zs_fanout_close(&fo);
	assert_int_equal(f[ZS_FANOUT_MAX].closes, 0);
}

static void test_fanout_report_loss(void **state)
{
	(void)state;
	struct fake f[2] = { 0 };
	struct zs_fanout fo;

	fanout_of(&fo, f, 2, 10); /* ten events lost before this daemon */
	assert_false(zs_fanout_report_loss(&fo, 10, T0));
	assert_int_equal(f[0].emits, 0);

	f[1].lost = 2;
	assert_true(zs_fanout_report_loss(&fo, 15, T0));
	const char *want = "{\"time\":\"2023-11-14T22:13:20.000000000Z\",\"type\":\"lost\",\"events\":5,"
			   "\"records\":2,\"events_total\":15,\"records_total\":2}\n";
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f[i].emits, 1);
		assert_null(f[i].rec); /* no flow record behind it */
		assert_string_equal(f[i].line, want);
	}
	assert_int_equal(fo.records, 0);
	/* Reported: nothing new, nothing said. Then only the new records. */
	assert_false(zs_fanout_report_loss(&fo, 15, T0));
	f[0].lost = 1;
	assert_true(zs_fanout_report_loss(&fo, 15, T0));
	assert_non_null(strstr(f[0].line, "\"events\":0,\"records\":1,\"events_total\":15,"
					  "\"records_total\":3}"));
	zs_fanout_close(&fo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_same_line_to_every_sink_once),
		cmocka_unit_test(test_fanout_failing_sink_does_not_stop_others),
		cmocka_unit_test(test_fanout_losses_summed),
		cmocka_unit_test(test_fanout_flush_tick_and_full),
		cmocka_unit_test(test_fanout_report_loss),
	};
	return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}
