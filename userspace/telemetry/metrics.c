// SPDX-License-Identifier: MIT
/* Prometheus metrics over HTTP; see metrics.h. */
#define _GNU_SOURCE
#include "telemetry/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "telemetry/flows.h"
#include "telemetry/sink.h"
#include "util/util.h"

#define ZS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ZS_METRICS_MAX_CONNECTIONS 16u
#define ZS_METRICS_TIMEOUT_S 10u

_Static_assert(ZS_METRICS_REC_TYPES == ZS_REC_DENIED + 1, "record types in metrics.h");
_Static_assert(ZS_METRICS_VERDICTS == ZS_VERDICT_AUDIT + 1, "verdicts in metrics.h");
_Static_assert(ZS_METRICS_DIRS == ZS_DIR_EGRESS + 1, "directions in metrics.h");

/* Label values: fixed sets, so a series never appears or vanishes by name. */
static const char *const map_names[ZS_METRICS_MAP_COUNT] = {
	[ZS_METRICS_MAP_ENDPOINTS] = "endpoints",
	[ZS_METRICS_MAP_IPCACHE] = "ipcache",
	[ZS_METRICS_MAP_POLICY] = "policy",
	[ZS_METRICS_MAP_CONNTRACK] = "conntrack",
	[ZS_METRICS_MAP_CONNTRACK6] = "conntrack6",
};

static const char *const sink_names[ZS_METRICS_SINK_COUNT] = {
	[ZS_METRICS_SINK_JSON] = "json",
	[ZS_METRICS_SINK_IPFIX] = "ipfix",
	[ZS_METRICS_SINK_FOLLOWERS] = "followers",
};

static const char *const hook_names[ZS_METRICS_HOOK_COUNT] = {
	[ZS_METRICS_HOOK_TC_INGRESS] = "tc-ingress",
	[ZS_METRICS_HOOK_TC_EGRESS] = "tc-egress",
	[ZS_METRICS_HOOK_XDP] = "xdp",
};

static const char *const dir_names[ZS_METRICS_DIRS] = {
	[ZS_DIR_INGRESS] = "ingress",
	[ZS_DIR_EGRESS] = "egress",
};

void zs_metrics_snapshot_init(struct zs_metrics_snapshot *s, const char *version)
{
	memset(s, 0, sizeof(*s));
	s->map_capacity[ZS_METRICS_MAP_ENDPOINTS] = ZS_MAX_ENDPOINTS;
	s->map_capacity[ZS_METRICS_MAP_IPCACHE] = ZS_MAX_IPCACHE;
	s->map_capacity[ZS_METRICS_MAP_POLICY] = ZS_MAX_POLICY;
	s->map_capacity[ZS_METRICS_MAP_CONNTRACK] = ZS_MAX_CT;
	snprintf(s->version, sizeof(s->version), "%s", version ? version : "");
	s->start_time = (uint64_t)time(NULL);
}

void zs_metrics_count_record(struct zs_metrics_snapshot *s, const struct zs_flow_rec *r)
{
	unsigned v = r->verdict & 3, dir = r->egress ? ZS_DIR_EGRESS : ZS_DIR_INGRESS;

	s->records[r->type < ZS_METRICS_REC_TYPES ? r->type : 0]++;
	if (r->type == ZS_REC_NEW)
		s->flows[v][dir]++;
	/* Totals less what the flow's previous record accounted; NEW and DENIED carry deltas. */
	s->flow_bytes[v][dir] += r->type == ZS_REC_UPDATE || r->type == ZS_REC_END ?
					 (r->bytes[0] + r->bytes[1]) - (r->prev_bytes[0] + r->prev_bytes[1]) :
					 r->bytes[0];
}

/* The flow counters as a sink: each record counted into the daemon's snapshot. */
struct count_sink {
	struct zs_sink sink;
	struct zs_metrics_snapshot *snap;
};

static int count_emit(struct zs_sink *s, const struct zs_flow_rec *rec, const char *line, size_t len)
{
	(void)line;
	(void)len;
	if (rec) /* the `lost` line is no record */
		zs_metrics_count_record(ZS_SINK_OF(s, struct count_sink, sink)->snap, rec);
	return 0;
}

static void count_close(struct zs_sink *s)
{
	free(ZS_SINK_OF(s, struct count_sink, sink));
}

static const struct zs_sink_ops count_sink_ops = {
	.name = "metrics",
	.emit = count_emit,
	.close = count_close,
};

int zs_metrics_sink_open(struct zs_sink **out, struct zs_metrics_snapshot *snap)
{
	struct count_sink *c = zs_xcalloc(1, sizeof(*c));

	c->sink.ops = &count_sink_ops;
	c->snap = snap;
	*out = &c->sink;
	return 0;
}

/* ---- text format 0.0.4 -------------------------------------------------- */

/* A label value, quoted: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		switch (*p) {
		case '\\': fputs("\\\\", f); break;
		case '"': fputs("\\\"", f); break;
		case '\n': fputs("\\n", f); break;
		default: fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void sample1(FILE *f, const char *name, const char *label, const char *value, uint64_t v)
{
	fprintf(f, "%s{", name);
	put_label(f, label, value);
	fprintf(f, "} %" PRIu64 "\n", v);
}

/* By verdict and direction; ZS_VERDICT_NONE is default deny: "denied". */
static void by_verdict_dir(FILE *f, const char *name, const uint64_t v[ZS_METRICS_VERDICTS][ZS_METRICS_DIRS])
{
	static const uint8_t verdicts[] = { ZS_VERDICT_ALLOW, ZS_VERDICT_DENY, ZS_VERDICT_AUDIT };

	for (size_t i = 0; i < ZS_ARRAY_SIZE(verdicts); i++)
		for (unsigned d = 0; d < ZS_METRICS_DIRS; d++) {
			uint64_t n = v[verdicts[i]][d];
			if (verdicts[i] == ZS_VERDICT_DENY)
				n += v[ZS_VERDICT_NONE][d];
			fprintf(f, "%s{", name);
			put_label(f, "verdict", zs_verdict_name(verdicts[i]));
			fputc(',', f);
			put_label(f, "direction", dir_names[d]);
			fprintf(f, "} %" PRIu64 "\n", n);
		}
}

/* Every named reason, zero or not; numbers with no name yet sum as "unknown". */
static void by_reason(FILE *f, const char *name, const uint64_t v[ZS_REASON_MAX])
{
	uint64_t unknown = 0;

	for (unsigned r = 0; r < ZS_REASON_MAX; r++) {
		const char *rn = zs_reason_name(r);
		if (!strcmp(rn, "unknown"))
			unknown += v[r];
		else
			sample1(f, name, "reason", rn, v[r]);
	}
	if (unknown)
		sample1(f, name, "reason", "unknown", unknown);
}

int zs_metrics_render(const struct zs_metrics_snapshot *s, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	bool failed;

	if (!f)
		return -ENOMEM;

	family(f, "zeroseg_build_info", "gauge", "Always 1; the version of the running daemon.");
	sample1(f, "zeroseg_build_info", "version", s->version[0] ? s->version : "unknown", 1);
	family(f, "zeroseg_start_time_seconds", "gauge", "When the daemon started, in unix seconds.");
	sample(f, "zeroseg_start_time_seconds", s->start_time);

	family(f, "zeroseg_policy_revision", "gauge", "Policy revision in force in the datapath.");
	sample(f, "zeroseg_policy_revision", s->revision);
	family(f, "zeroseg_last_apply_timestamp_seconds", "gauge",
	       "When a policy was last applied, in unix seconds; 0 when none was since the start.");
	sample(f, "zeroseg_last_apply_timestamp_seconds", s->last_apply);
	family(f, "zeroseg_workloads", "gauge", "Workloads known to the daemon.");
	sample(f, "zeroseg_workloads", s->workloads);
	family(f, "zeroseg_policies", "gauge", "Policies known to the daemon.");
	sample(f, "zeroseg_policies", s->policies);
	family(f, "zeroseg_identities", "gauge", "Identities allocated.");
	sample(f, "zeroseg_identities", s->identities);

	family(f, "zeroseg_flows_total", "counter",
	       "Flows started, by verdict and the direction of the policy side that decided.");
	by_verdict_dir(f, "zeroseg_flows_total", s->flows);
	family(f, "zeroseg_flow_bytes_total", "counter",
	       "Bytes accounted by flow records, by verdict and deciding direction.");
	by_verdict_dir(f, "zeroseg_flow_bytes_total", s->flow_bytes);
	family(f, "zeroseg_flow_records_total", "counter", "Flow records made, by record type.");
	for (unsigned t = 0; t < ZS_METRICS_REC_TYPES; t++)
		sample1(f, "zeroseg_flow_records_total", "type", zs_rec_type_name(t), s->records[t]);

	family(f, "zeroseg_packets_total", "counter",
	       "Packets seen by the datapath, by drop reason (forwarded: passed).");
	by_reason(f, "zeroseg_packets_total", s->packets);
	family(f, "zeroseg_bytes_total", "counter",
	       "Bytes seen by the datapath, by drop reason (forwarded: passed).");
	by_reason(f, "zeroseg_bytes_total", s->bytes);

	family(f, "zeroseg_events_lost_total", "counter",
	       "Flow events the datapath could not queue (ring buffer full).");
	sample(f, "zeroseg_events_lost_total", s->events_lost);
	family(f, "zeroseg_records_lost_total", "counter", "Flow records a sink could not take, by sink.");
	for (unsigned k = 0; k < ZS_METRICS_SINK_COUNT; k++)
		sample1(f, "zeroseg_records_lost_total", "sink", sink_names[k], s->records_lost[k]);

	family(f, "zeroseg_hook_repairs_total", "counter",
	       "Hooks found without our program (deleted or replaced) and re-attached, by hook.");
	for (unsigned h = 0; h < ZS_METRICS_HOOK_COUNT; h++)
		sample1(f, "zeroseg_hook_repairs_total", "hook", hook_names[h], s->hook_repairs[h]);
	family(f, "zeroseg_pin_repairs_total", "counter",
	       "Map pins found gone from the bpffs directory and pinned again.");
	sample(f, "zeroseg_pin_repairs_total", s->pin_repairs);

	family(f, "zeroseg_map_entries", "gauge", "Entries in a datapath map.");
	for (unsigned m = 0; m < ZS_METRICS_MAP_COUNT; m++)
		if (s->map_capacity[m])
			sample1(f, "zeroseg_map_entries", "map", map_names[m], s->map_entries[m]);
	family(f, "zeroseg_map_capacity", "gauge", "Capacity of a datapath map, in entries.");
	for (unsigned m = 0; m < ZS_METRICS_MAP_COUNT; m++)
		if (s->map_capacity[m])
			sample1(f, "zeroseg_map_capacity", "map", map_names[m], s->map_capacity[m]);

	failed = ferror(f);
	if (fclose(f) || failed) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* ---- the HTTP server ------------------------------------------------------ */

struct zs_metrics {
	struct MHD_Daemon *mhd;
	unsigned port;
	pthread_mutex_t lock; /* guards snap and published */
	struct zs_metrics_snapshot snap;
	bool published;
};

int zs_metrics_parse_addr(const char *addr_port, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = addr_port, *port;
	size_t hlen;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (addr_port[0] == '[') {
		const char *close = strchr(addr_port, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = addr_port + 1;
		hlen = (size_t)(close - h);
		port = close + 2;
	} else {
		colon = strrchr(addr_port, ':');
		if (!colon || memchr(addr_port, ':', (size_t)(colon - addr_port)))
			return -EINVAL; /* IPv6 needs brackets */
		hlen = (size_t)(colon - addr_port);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || !*port || *port < '0' || *port > '9')
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	unsigned long p = strtoul(port, &end, 10);
	if (errno || *end || p > 65535)
		return -EINVAL;

	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (addr_port[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127 ? 0 : -EPERM;
	}
	if (addr_port[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ? 0 : -EPERM;
	}
	return -EINVAL;
}

static uint16_t ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text,
				  const char *allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Runs in libmicrohttpd's thread. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct zs_metrics *m = cls;
	struct zs_metrics_snapshot snap;
	struct MHD_Response *r;
	enum MHD_Result ret;
	bool published;
	char *body;
	size_t len;

	(void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: metrics are at /metrics\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");

	pthread_mutex_lock(&m->lock);
	published = m->published;
	if (published)
		snap = m->snap;
	pthread_mutex_unlock(&m->lock);
	if (!published)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "daemon starting\n", NULL);
	if (zs_metrics_render(&snap, &body, &len))
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ZS_METRICS_CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	pr_warn("metrics: %s", buf);
}

int zs_metrics_start(struct zs_metrics **out, const char *addr_port)
{
	struct sockaddr_storage ss;
	sigset_t all, old;
	struct zs_metrics *m;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	int err;

	err = zs_metrics_parse_addr(addr_port, &ss);
	if (err == -EINVAL) {
		pr_warn("metrics address %s: expected 127.0.0.1:PORT or [::1]:PORT", addr_port);
		return err;
	}
	if (err == -EPERM) {
		pr_warn("metrics address %s: not a loopback address (metrics describe the estate; "
			"put an authenticating proxy in front to expose them)", addr_port);
		return err;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	m = zs_xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	/* The server thread inherits this mask: signals stay with the daemon's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	errno = 0;
	/* The port argument only names the port in MHD's messages; SOCK_ADDR binds. */
	m->mhd = MHD_start_daemon(flags, ss_port(&ss), NULL, NULL,
				  on_request, m,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, or MHD warns */
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, ZS_METRICS_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, ZS_METRICS_TIMEOUT_S,
				  MHD_OPTION_END);
	err = errno ? -errno : -EIO;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->mhd) {
		pr_warn("metrics: cannot serve on %s: %s", addr_port, strerror(-err));
		goto err_mhd;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	*out = m;
	return 0;

err_mhd:
	pthread_mutex_destroy(&m->lock);
	free(m);
	return err;
}

unsigned zs_metrics_port(const struct zs_metrics *m)
{
	return m->port;
}

void zs_metrics_publish(struct zs_metrics *m, const struct zs_metrics_snapshot *s)
{
	pthread_mutex_lock(&m->lock);
	m->snap = *s;
	m->published = true;
	pthread_mutex_unlock(&m->lock);
}

void zs_metrics_stop(struct zs_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
