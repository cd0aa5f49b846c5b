// SPDX-License-Identifier: MIT
/*
 * Unit tests for the flow record sinks (userspace/telemetry/sink.h): the
 * fan-out with fake sinks that log what they are handed (each record reaches
 * every sink once, with the one line the fan-out encoded; losses summed; a
 * failing sink does not stop the others; the `lost` line), the recent-flows
 * ring (the last N in order across wraparound, replay of the last N) and its
 * followers over socketpairs, and the real sinks behind the interface: the
 * JSON lines file, IPFIX to a UDP socket this test owns, the metrics counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "telemetry/ipfix.h"
#include "telemetry/jsonl.h"
#include "telemetry/metrics.h"
#include "telemetry/recent.h"
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

/* ---- the recent-flows ring and its followers ------------------------------ */

static void emit_text(struct zs_sink *s, const char *text)
{
	s->ops->emit(s, NULL, text, strlen(text));
}

static void assert_lines(const struct zs_recent *r, const char *const *want, size_t n)
{
	size_t len;

	assert_int_equal(zs_recent_count(r), n);
	for (size_t i = 0; i < n; i++) {
		const char *line = zs_recent_line(r, i, &len);
		assert_non_null(line);
		assert_int_equal(len, strlen(want[i]));
		assert_memory_equal(line, want[i], len);
	}
	assert_null(zs_recent_line(r, n, &len));
}

static void test_recent_last_n_in_order(void **state)
{
	(void)state;
	struct zs_recent *r;
	char *big = zs_xcalloc(3001, 1);

	assert_int_equal(zs_recent_open(&r, 4), 0);
	struct zs_sink *s = zs_recent_sink(r);
	assert_int_equal(zs_recent_count(r), 0);
	emit_text(s, "a\n");
	emit_text(s, "bb\n");
	emit_text(s, "ccc\n");
	assert_lines(r, (const char *const[]){ "a\n", "bb\n", "ccc\n" }, 3);

	/* Past the capacity the oldest go, the rest stay in order. */
	emit_text(s, "d\n");
	emit_text(s, "e\n");
	emit_text(s, "f\n");
	assert_lines(r, (const char *const[]){ "ccc\n", "d\n", "e\n", "f\n" }, 4);

	/* Slots are reused: a long line in a short one's slot, then a short one again. */
	memset(big, 'x', 2999);
	big[2999] = '\n';
	emit_text(s, big);
	emit_text(s, "h\n");
	emit_text(s, "i\n");
	emit_text(s, "j\n");
	emit_text(s, "k\n"); /* into the long line's slot */
	assert_lines(r, (const char *const[]){ "h\n", "i\n", "j\n", "k\n" }, 4);
	emit_text(s, big);
	assert_lines(r, (const char *const[]){ "i\n", "j\n", "k\n", big }, 4);
	assert_int_equal(zs_sink_lost(s), 0);
	free(big);
	s->ops->close(s);
}

/* Everything readable on fd now, as a string. */
static char *drain(int fd)
{
	static char buf[65536];
	size_t n = 0;
	ssize_t got;

	while (n < sizeof(buf) - 1 &&
	       (got = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	return buf;
}

static void test_recent_replay(void **state)
{
	(void)state;
	struct zs_recent *r;
	int sv[2];

	assert_int_equal(zs_recent_open(&r, 3), 0);
	struct zs_sink *s = zs_recent_sink(r);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(zs_recent_replay(r, sv[0], 0), 0);
	assert_string_equal(drain(sv[1]), "");
	for (const char *const *t = (const char *const[]){ "1\n", "2\n", "3\n", "4\n", NULL }; *t; t++)
		emit_text(s, *t);
	assert_int_equal(zs_recent_replay(r, sv[0], 0), 0);
	assert_string_equal(drain(sv[1]), "2\n3\n4\n");
	assert_int_equal(zs_recent_replay(r, sv[0], 2), 0);
	assert_string_equal(drain(sv[1]), "3\n4\n");
	assert_int_equal(zs_recent_replay(r, sv[0], 3), 0);
	assert_string_equal(drain(sv[1]), "2\n3\n4\n");
	assert_int_equal(zs_recent_replay(r, sv[0], 99), 0);
	assert_string_equal(drain(sv[1]), "2\n3\n4\n");
	close(sv[1]);
	assert_int_equal(zs_recent_replay(r, sv[0], 0), -EPIPE); /* and no SIGPIPE */
	close(sv[0]);
	s->ops->close(s);
}

static void test_recent_followers(void **state)
{
	(void)state;
	struct zs_recent *r;
	int a[2], b[2];

	assert_int_equal(zs_recent_open(&r, 0), 0);
	struct zs_sink *s = zs_recent_sink(r);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	emit_text(s, "before\n");
	assert_int_equal(zs_recent_follow(r, a[0]), 0);
	assert_int_equal(zs_recent_follow(r, b[0]), 0);
	assert_int_equal(zs_recent_followers(r), 2);
	assert_true(fcntl(a[0], F_GETFL) & O_NONBLOCK);

	/* New lines only, to each follower, and kept in the ring too. */
	emit_text(s, "one\n");
	emit_text(s, "two\n");
	assert_string_equal(drain(a[1]), "one\ntwo\n");
	assert_string_equal(drain(b[1]), "one\ntwo\n");
	assert_int_equal(zs_recent_count(r), 3);

	/* A follower that does not read loses lines (counted); the other gets them all. */
	int small = 4096;
	setsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	char line[512];
	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	size_t got = 0, sent;
	for (sent = 0; sent < 400; sent++) {
		s->ops->emit(s, NULL, line, sizeof(line));
		got += strlen(drain(b[1]));
	}
	assert_int_equal(got, sent * sizeof(line));
	uint64_t lost = zs_sink_lost(s);
	assert_true(lost > 0 && lost < sent);
	assert_int_equal(zs_recent_count(r), ZS_RECENT_FLOWS < 403 ? ZS_RECENT_FLOWS : 403);

	/* A follower that hung up: its lines are lost, never a SIGPIPE; unfollow closes it. */
	close(b[1]);
	assert_int_equal(s->ops->emit(s, NULL, "x\n", 2), -EAGAIN);
	assert_int_equal(zs_sink_lost(s), lost + 2);
	zs_recent_unfollow(r, b[0]);
	assert_int_equal(zs_recent_followers(r), 1);
	assert_int_equal(fcntl(b[0], F_GETFD), -1);
	zs_recent_unfollow(r, a[1]); /* not a follower: left open */
	assert_true(fcntl(a[1], F_GETFD) >= 0);

	/* Close closes the followers still there. */
	s->ops->close(s);
	assert_int_equal(fcntl(a[0], F_GETFD), -1);
	close(a[1]);
}

/* ---- the real sinks behind the interface ---------------------------------- */

static void test_jsonl_sink(void **state)
{
	(void)state;
	char path[] = "/tmp/zs-test-sink-XXXXXX";
	int fd = mkstemp(path);
	struct zs_sink *s;
	struct zs_fanout fo;
	struct zs_flow_rec r = sample(ZS_REC_NEW, 5432);
	char want[2 * ZS_FANOUT_LINE_MAX], *got;
	size_t wlen, glen;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(zs_jsonl_sink_open(&s, "/nonexistent/dir/flows.jsonl", 0, 0), -ENOENT);
	assert_int_equal(zs_jsonl_sink_open(&s, path, 0, 0), 0);
	zs_fanout_init(&fo, 0);
	assert_int_equal(zs_fanout_add(&fo, s), 0);
	assert_int_equal(zs_fanout_emit(&fo, &r), 0);
	assert_true(zs_fanout_report_loss(&fo, 1, T0));
	wlen = zs_flow_rec_json(&r, want, sizeof(want));
	wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen,
				 "{\"time\":\"2023-11-14T22:13:20.000000000Z\",\"type\":\"lost\",\"events\":1,"
				 "\"records\":0,\"events_total\":1,\"records_total\":0}\n");
	/* Buffered until a flush. */
	assert_int_equal(zs_read_file(path, &got, &glen), 0);
	assert_int_equal(glen, 0);
	free(got);
	zs_fanout_flush(&fo);
	assert_int_equal(zs_read_file(path, &got, &glen), 0);
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	free(got);
	assert_int_equal(zs_fanout_lost(&fo), 0);
	zs_fanout_close(&fo);
	unlink(path);
}

static void test_ipfix_sink(void **state)
{
	(void)state;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct timeval tv = { .tv_sec = 2 };
	int rx = socket(AF_INET, SOCK_DGRAM, 0);
	char where[64];
	uint8_t buf[2048];
	struct zs_ipfix *x;
	struct zs_ipfix_stats st;
	struct zs_fanout fo;
	struct zs_flow_rec r = sample(ZS_REC_NEW, 5432);

	assert_true(rx >= 0);
	assert_int_equal(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	snprintf(where, sizeof(where), "127.0.0.1:%u", ntohs(a.sin_port));
	assert_int_equal(zs_ipfix_open(&x, where, ZS_IPFIX_PEN_EXAMPLE, 9), 0);
	zs_fanout_init(&fo, 0);
	assert_int_equal(zs_fanout_add(&fo, zs_ipfix_sink(x)), 0);

	assert_int_equal(zs_fanout_emit(&fo, &r), 0);
	zs_fanout_emit_line(&fo, "{\"type\":\"lost\"}\n", 16); /* no record: not exported */
	zs_fanout_flush(&fo); /* not a tick: IPFIX keeps filling the message */
	assert_true(recv(rx, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	zs_fanout_tick(&fo, T0);
	ssize_t n = recv(rx, buf, sizeof(buf), 0);
	assert_true(n > 16);
	assert_int_equal(buf[0] << 8 | buf[1], ZS_IPFIX_VERSION);
	assert_int_equal(buf[2] << 8 | buf[3], n);
	assert_int_equal((uint32_t)buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7], T0 / 1000000000ull);
	assert_int_equal(buf[15], 9); /* the observation domain */
	zs_ipfix_stats(x, &st);
	assert_int_equal(st.sent_records, 1);
	assert_int_equal(st.sent_messages, 1);
	assert_int_equal(zs_fanout_lost(&fo), 0);
	zs_fanout_close(&fo);
	close(rx);
}

static void test_metrics_sink(void **state)
{
	(void)state;
	struct zs_metrics_snapshot snap;
	struct zs_sink *s;
	struct zs_fanout fo;
	struct zs_flow_rec r = sample(ZS_REC_NEW, 5432);

	zs_metrics_snapshot_init(&snap, "test");
	assert_int_equal(zs_metrics_sink_open(&s, &snap), 0);
	zs_fanout_init(&fo, 0);
	assert_int_equal(zs_fanout_add(&fo, s), 0);
	zs_fanout_emit(&fo, &r);
	r.type = ZS_REC_END; /* totals: less what the previous record had */
	r.bytes[0] = 1000, r.bytes[1] = 500, r.prev_bytes[0] = 60;
	zs_fanout_emit(&fo, &r);
	r.type = ZS_REC_NEW, r.verdict = ZS_VERDICT_DENY, r.egress = 0, r.bytes[0] = 80;
	zs_fanout_emit(&fo, &r);
	zs_fanout_emit_line(&fo, "{\"type\":\"lost\"}\n", 16); /* no record: not counted */

	assert_int_equal(snap.records[ZS_REC_NEW], 2);
	assert_int_equal(snap.records[ZS_REC_END], 1);
	assert_int_equal(snap.flows[ZS_VERDICT_ALLOW][ZS_DIR_EGRESS], 1);
	assert_int_equal(snap.flows[ZS_VERDICT_DENY][ZS_DIR_INGRESS], 1);
	assert_int_equal(snap.flow_bytes[ZS_VERDICT_ALLOW][ZS_DIR_EGRESS], 60 + 1440);
	assert_int_equal(snap.flow_bytes[ZS_VERDICT_DENY][ZS_DIR_INGRESS], 80);
	assert_int_equal(fo.records, 3);
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
		cmocka_unit_test(test_recent_last_n_in_order),
		cmocka_unit_test(test_recent_replay),
		cmocka_unit_test(test_recent_followers),
		cmocka_unit_test(test_jsonl_sink),
		cmocka_unit_test(test_ipfix_sink),
		cmocka_unit_test(test_metrics_sink),
	};
	return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}
