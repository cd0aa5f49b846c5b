// SPDX-License-Identifier: MIT
/*
 * Unit tests for the Prometheus metrics (userspace/metrics.c): the exact text
 * a snapshot renders to (HELP and TYPE before every family, counters named
 * _total, label values escaped, default deny folded into "denied", unnamed
 * drop reasons summed as "unknown"); the address parser and its loopback
 * rule; and the HTTP server for real, on 127.0.0.1 port 0, through a plain
 * socket client: 503 before the first snapshot, then 200 with the text format
 * content type and the rendered body, HEAD, 404, 405, and refusals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "telemetry/flows.h"
#include "telemetry/metrics.h"
#include "util/util.h"

static void fill(struct zs_metrics_snapshot *s)
{
	zs_metrics_snapshot_init(s, "1.2.3");
	s->start_time = 1700000000;
	s->revision = 7;
	s->last_apply = 1700000100;
	s->workloads = 4;
	s->policies = 3;
	s->identities = 5;
	s->flows[ZS_VERDICT_ALLOW][ZS_DIR_EGRESS] = 3;
	s->flows[ZS_VERDICT_ALLOW][ZS_DIR_INGRESS] = 2;
	s->flows[ZS_VERDICT_NONE][ZS_DIR_EGRESS] = 4; /* default deny */
	s->flows[ZS_VERDICT_DENY][ZS_DIR_EGRESS] = 1; /* a deny rule */
	s->flows[ZS_VERDICT_AUDIT][ZS_DIR_INGRESS] = 6;
	s->flow_bytes[ZS_VERDICT_ALLOW][ZS_DIR_EGRESS] = 1234;
	s->records[ZS_REC_NEW] = 16;
	s->records[ZS_REC_REVOKED] = 2;
	s->packets[ZS_REASON_FORWARDED] = 100;
	s->bytes[ZS_REASON_FORWARDED] = 6400;
	s->packets[ZS_DROP_DEFAULT_DENY] = 9;
	s->packets[ZS_DROP_POLICY_DENY] = 2;
	s->packets[30] = 5; /* a reason with no name (yet) */
	s->packets[31] = 1;
	s->events_lost = 11;
	s->records_lost[ZS_METRICS_SINK_FOLLOWERS] = 8;
	s->hook_repairs[ZS_METRICS_HOOK_TC_EGRESS] = 2;
	s->hook_repairs[ZS_METRICS_HOOK_XDP] = 1;
	s->pin_repairs = 3;
	s->map_entries[ZS_METRICS_MAP_ENDPOINTS] = 4;
	s->map_entries[ZS_METRICS_MAP_CONNTRACK] = 12;
	s->map_capacity[ZS_METRICS_MAP_CONNTRACK] = 1024; /* --ct-max */
}

static char *render(const struct zs_metrics_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(zs_metrics_render(s, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* `line` is in `text` as a whole line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define assert_line(text, line)                                          \
	do {                                                             \
		if (!has_line(text, line))                               \
			fail_msg("missing line: %s\n--- got:\n%s", line, text); \
	} while (0)

static void test_render_lines(void **state)
{
	struct zs_metrics_snapshot s;
	char *t;

	(void)state;
	fill(&s);
	t = render(&s);
	static const char *const want[] = {
		"# HELP zeroseg_build_info Always 1; the version of the running daemon.",
		"# TYPE zeroseg_build_info gauge",
		"zeroseg_build_info{version=\"1.2.3\"} 1",
		"# TYPE zeroseg_start_time_seconds gauge",
		"zeroseg_start_time_seconds 1700000000",
		"# TYPE zeroseg_policy_revision gauge",
		"zeroseg_policy_revision 7",
		"# TYPE zeroseg_last_apply_timestamp_seconds gauge",
		"zeroseg_last_apply_timestamp_seconds 1700000100",
		"zeroseg_workloads 4",
		"zeroseg_policies 3",
		"zeroseg_identities 5",
		"# HELP zeroseg_flows_total Flows started, by verdict and the direction of the policy side that decided.",
		"# TYPE zeroseg_flows_total counter",
		"zeroseg_flows_total{verdict=\"allowed\",direction=\"ingress\"} 2",
		"zeroseg_flows_total{verdict=\"allowed\",direction=\"egress\"} 3",
		"zeroseg_flows_total{verdict=\"denied\",direction=\"ingress\"} 0",
		"zeroseg_flows_total{verdict=\"denied\",direction=\"egress\"} 5",
		"zeroseg_flows_total{verdict=\"audit\",direction=\"ingress\"} 6",
		"zeroseg_flows_total{verdict=\"audit\",direction=\"egress\"} 0",
		"# TYPE zeroseg_flow_bytes_total counter",
		"zeroseg_flow_bytes_total{verdict=\"allowed\",direction=\"egress\"} 1234",
		"# TYPE zeroseg_flow_records_total counter",
		"zeroseg_flow_records_total{type=\"new\"} 16",
		"zeroseg_flow_records_total{type=\"update\"} 0",
		"zeroseg_flow_records_total{type=\"revoked\"} 2",
		"# TYPE zeroseg_packets_total counter",
		"zeroseg_packets_total{reason=\"forwarded\"} 100",
		"zeroseg_packets_total{reason=\"default-deny\"} 9",
		"zeroseg_packets_total{reason=\"policy-deny\"} 2",
		"zeroseg_packets_total{reason=\"spoofed-source\"} 0",
		"zeroseg_packets_total{reason=\"unknown\"} 6",
		"# TYPE zeroseg_bytes_total counter",
		"zeroseg_bytes_total{reason=\"forwarded\"} 6400",
		"# TYPE zeroseg_events_lost_total counter",
		"zeroseg_events_lost_total 11",
		"# TYPE zeroseg_records_lost_total counter",
		"zeroseg_records_lost_total{sink=\"json\"} 0",
		"zeroseg_records_lost_total{sink=\"ipfix\"} 0",
		"zeroseg_records_lost_total{sink=\"followers\"} 8",
		"# TYPE zeroseg_hook_repairs_total counter",
		"zeroseg_hook_repairs_total{hook=\"tc-ingress\"} 0",
		"zeroseg_hook_repairs_total{hook=\"tc-egress\"} 2",
		"zeroseg_hook_repairs_total{hook=\"xdp\"} 1",
		"# TYPE zeroseg_pin_repairs_total counter",
		"zeroseg_pin_repairs_total 3",
		"# TYPE zeroseg_map_entries gauge",
		"zeroseg_map_entries{map=\"endpoints\"} 4",
		"zeroseg_map_entries{map=\"conntrack\"} 12",
		"# TYPE zeroseg_map_capacity gauge",
		"zeroseg_map_capacity{map=\"endpoints\"} 16384",
		"zeroseg_map_capacity{map=\"ipcache\"} 131072",
		"zeroseg_map_capacity{map=\"policy\"} 1048576",
		"zeroseg_map_capacity{map=\"conntrack\"} 1024",
	};
	for (size_t i = 0; i < ZS_ARRAY_SIZE(want); i++)
		assert_line(t, want[i]);
	/* Bytes have no unnamed reason here: no "unknown" series. */
	assert_null(strstr(t, "zeroseg_bytes_total{reason=\"unknown\"}"));
	free(t);
}

/*
 * The shape of the whole exposition: every sample belongs to the family its
 * HELP and TYPE lines just announced, each family is announced once, counters
 * and only counters end in _total, lines end in '\n', values are integers.
 */
static void test_render_structure(void **state)
{
	struct zs_metrics_snapshot s;
	char fam[128] = "", help[128] = "", seen[64][128];
	size_t nseen = 0, samples = 0;
	bool counter = false;
	char *t, *line, *save = NULL;

	(void)state;
	fill(&s);
	t = render(&s);
	assert_true(strlen(t) > 0 && t[strlen(t) - 1] == '\n');
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[16];
		if (sscanf(line, "# HELP %127s", help) == 1)
			continue;
		if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
			assert_string_equal(name, help); /* HELP comes right before TYPE */
			for (size_t i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], name);
			assert_true(nseen < ZS_ARRAY_SIZE(seen));
			strcpy(seen[nseen++], name);
			strcpy(fam, name);
			counter = !strcmp(type, "counter");
			assert_true(counter || !strcmp(type, "gauge"));
			size_t n = strlen(name);
			assert_int_equal(counter, n > 6 && !strcmp(name + n - 6, "_total"));
			assert_memory_equal(name, "zeroseg_", 8);
			continue;
		}
		assert_true(line[0] != '#');
		size_t n = strcspn(line, "{ ");
		if (strlen(fam) != n || strncmp(line, fam, n))
			fail_msg("sample outside its family %s: %s", fam, line);
		const char *v = strrchr(line, ' ');
		assert_non_null(v);
		assert_true(v[1] && strspn(v + 1, "0123456789") == strlen(v + 1));
		samples++;
	}
	assert_int_equal(nseen, 18);
	assert_true(samples > 60);
	free(t);
}

static void test_render_escapes_labels(void **state)
{
	struct zs_metrics_snapshot s;
	char *t;

	(void)state;
	zs_metrics_snapshot_init(&s, "a\"b\\c\nd");
	t = render(&s);
	assert_line(t, "zeroseg_build_info{version=\"a\\\"b\\\\c\\nd\"} 1");
	free(t);

	zs_metrics_snapshot_init(&s, NULL);
	t = render(&s);
	assert_line(t, "zeroseg_build_info{version=\"unknown\"} 1");
	free(t);
}

static void test_render_leaves_out_unsized_maps(void **state)
{
	struct zs_metrics_snapshot s;
	char *t;

	(void)state;
	zs_metrics_snapshot_init(&s, "x");
	s.map_capacity[ZS_METRICS_MAP_POLICY] = 0;
	t = render(&s);
	assert_null(strstr(t, "map=\"policy\""));
	assert_line(t, "zeroseg_map_capacity{map=\"ipcache\"} 131072");
	assert_line(t, "zeroseg_map_entries{map=\"ipcache\"} 0");
	free(t);
}

static void test_parse_addr(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	(void)state;
	assert_int_equal(zs_metrics_parse_addr("127.0.0.1:9464", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9464);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(zs_metrics_parse_addr("127.1.2.3:0", &ss), 0);
	assert_int_equal(zs_metrics_parse_addr("[::1]:65535", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	static const char *const bad[] = {
		"", "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:94x", "127.0.0.1: 9", "localhost:9464", "::1:9464", "[::1]9464",
		"[::1:9464", "[127.0.0.1]:9464", "127.0.0.1:99999999999999999999",
	};
	for (size_t i = 0; i < ZS_ARRAY_SIZE(bad); i++)
		if (zs_metrics_parse_addr(bad[i], &ss) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);

	static const char *const open[] = {
		"0.0.0.0:9464", "10.0.0.1:9464", "128.0.0.1:9464", "[::]:9464", "[fe80::1]:9464",
		"[::ffff:10.0.0.1]:9464",
	};
	for (size_t i = 0; i < ZS_ARRAY_SIZE(open); i++)
		if (zs_metrics_parse_addr(open[i], &ss) != -EPERM)
			fail_msg("not refused as non-loopback: \"%s\"", open[i]);
}

/* ---- the server, through a plain socket client ---------------------------- */

struct http_reply {
	int status;
	char head[2048]; /* status line and headers */
	char *body;
	size_t body_len;
};

/* One HTTP/1.0 request to 127.0.0.1:port (or ::1 when v6); 0 or -errno. */
static int http(bool v6, unsigned port, const char *method, const char *path, struct http_reply *r)
{
	struct sockaddr_storage ss = { 0 };
	struct timeval tv = { .tv_sec = 5 };
	char req[256], *buf = NULL, *sep;
	size_t n = 0, cap = 0;
	socklen_t sl;
	int fd;

	memset(r, 0, sizeof(*r));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl)) {
		int err = -errno;
		close(fd);
		return err;
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: localhost\r\n%s", method, path,
		 strcmp(method, "POST") ? "\r\n" : "Content-Length: 3\r\n\r\nabc");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -EIO;
	}
	for (;;) {
		if (n + 4096 + 1 > cap)
			buf = zs_xrealloc(buf, cap = (cap + 4096) * 2, 1);
		ssize_t got = read(fd, buf + n, cap - n - 1);
		if (got < 0) {
			int err = -errno;
			close(fd);
			free(buf);
			return err;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
		free(buf);
		return -EPROTO;
	}
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	r->body_len = n - (size_t)(sep + 4 - buf);
	r->body = zs_xcalloc(1, r->body_len + 1);
	memcpy(r->body, sep + 4, r->body_len);
	free(buf);
	return 0;
}

/* The value of header `name` (case-insensitive), or "" */
static const char *header(const struct http_reply *r, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	buf[0] = '\0';
	for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':') {
			const char *v = p + 3 + n, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(buf, len, "%.*s", (int)(e ? (size_t)(e - v) : strlen(v)), v);
			break;
		}
	return buf;
}

static void test_server(void **state)
{
	struct zs_metrics_snapshot s;
	struct zs_metrics *m = NULL;
	struct http_reply r;
	char hv[128], *want;
	size_t want_len;
	unsigned port;

	(void)state;
	assert_int_equal(zs_metrics_start(&m, "127.0.0.1:0"), 0);
	port = zs_metrics_port(m);
	assert_true(port > 0 && port < 65536);

	/* No snapshot yet: unavailable, not zeros that look like real counters. */
	assert_int_equal(http(false, port, "GET", "/metrics", &r), 0);
	assert_int_equal(r.status, 503);
	free(r.body);

	fill(&s);
	zs_metrics_publish(m, &s);
	assert_int_equal(zs_metrics_render(&s, &want, &want_len), 0);
	assert_int_equal(http(false, port, "GET", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type", hv, sizeof(hv)),
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_int_equal(r.body_len, want_len);
	assert_string_equal(r.body, want);
	assert_int_equal(strtoul(header(&r, "Content-Length", hv, sizeof(hv)), NULL, 10), want_len);
	free(r.body);
	free(want);

	/* A new snapshot shows on the next scrape. */
	s.revision = 8;
	s.packets[ZS_DROP_DEFAULT_DENY] = 10;
	zs_metrics_publish(m, &s);
	assert_int_equal(http(false, port, "GET", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_line(r.body, "zeroseg_policy_revision 8");
	assert_line(r.body, "zeroseg_packets_total{reason=\"default-deny\"} 10");
	free(r.body);

	assert_int_equal(http(false, port, "HEAD", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	free(r.body);

	assert_int_equal(http(false, port, "GET", "/", &r), 0);
	assert_int_equal(r.status, 404);
	free(r.body);
	assert_int_equal(http(false, port, "GET", "/metrics/x", &r), 0);
	assert_int_equal(r.status, 404);
	free(r.body);

	assert_int_equal(http(false, port, "POST", "/metrics", &r), 0);
	assert_int_equal(r.status, 405);
	assert_string_equal(header(&r, "Allow", hv, sizeof(hv)), "GET, HEAD");
	free(r.body);
	assert_int_equal(http(false, port, "DELETE", "/metrics", &r), 0);
	assert_int_equal(r.status, 405);
	free(r.body);

	/* The port is taken: a second server says so instead of sharing it. */
	struct zs_metrics *m2 = NULL;
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	assert_int_equal(zs_metrics_start(&m2, addr), -EADDRINUSE);
	assert_null(m2);

	zs_metrics_stop(m);
	assert_int_not_equal(http(false, port, "GET", "/metrics", &r), 0); /* nobody listens */
	zs_metrics_stop(NULL);
}

static void test_server_ipv6(void **state)
{
	struct zs_metrics_snapshot s;
	struct zs_metrics *m = NULL;
	struct http_reply r;
	int err;

	(void)state;
	err = zs_metrics_start(&m, "[::1]:0");
	if (err) {
		int fd = socket(AF_INET6, SOCK_STREAM, 0);
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
		bool have_v6 = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a));
		if (fd >= 0)
			close(fd);
		if (!have_v6)
			skip(); /* no IPv6 loopback here */
		fail_msg("[::1]:0: %s", strerror(-err));
	}
	zs_metrics_snapshot_init(&s, "v6");
	zs_metrics_publish(m, &s);
	assert_int_equal(http(true, zs_metrics_port(m), "GET", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_line(r.body, "zeroseg_build_info{version=\"v6\"} 1");
	free(r.body);
	zs_metrics_stop(m);
}

static void test_server_refuses(void **state)
{
	struct zs_metrics *m = NULL;

	(void)state;
	assert_int_equal(zs_metrics_start(&m, "0.0.0.0:0"), -EPERM);
	assert_null(m);
	assert_int_equal(zs_metrics_start(&m, "[::]:0"), -EPERM);
	assert_int_equal(zs_metrics_start(&m, "192.0.2.1:9464"), -EPERM);
	assert_int_equal(zs_metrics_start(&m, "localhost:9464"), -EINVAL);
	assert_int_equal(zs_metrics_start(&m, "9464"), -EINVAL);
	assert_null(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_lines),
		cmocka_unit_test(test_render_structure),
		cmocka_unit_test(test_render_escapes_labels),
		cmocka_unit_test(test_render_leaves_out_unsized_maps),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_server_ipv6),
		cmocka_unit_test(test_server_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
