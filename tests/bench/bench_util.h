/* SPDX-License-Identifier: MIT */
/* Small helpers the benchmark programs share. */
#ifndef ZS_BENCH_UTIL_H
#define ZS_BENCH_UTIL_H

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datapath/datapath.h"
#include "datapath/writer.h"
#include "policy/parse.h"

#define ZS_BENCH_UNUSED __attribute__((unused))

static ZS_BENCH_UNUSED int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static ZS_BENCH_UNUSED double percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * n + 0.999999);

	if (!n)
		return 0;
	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

/* libbpf's print callback: warnings only. */
static ZS_BENCH_UNUSED int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* "1k,10k,100000" -> numbers; returns how many. */
static ZS_BENCH_UNUSED size_t parse_list(const char *s, size_t *out, size_t max)
{
	size_t n = 0;
	char *end;

	while (*s && n < max) {
		unsigned long v = strtoul(s, &end, 10);
		if (end == s)
			break;
		if (*end == 'k' || *end == 'K') {
			v *= 1000;
			end++;
		}
		out[n++] = v;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

/*
 * Loads a bench build of the datapath object (tc_events.bpf.o,
 * tc_newflow.bpf.o) with nothing pinned, and fills the parts of *dp the
 * writer (zs_dp_map_ops) and the benches use. The object lives in *obj.
 */
static ZS_BENCH_UNUSED int bench_dp_open(const char *who, const char *path, struct bpf_object **obj,
					 struct zs_dp *dp)
{
	static const char *const names[ZS_MAP_COUNT] = {
		[ZS_MAP_ENDPOINTS] = "zs_endpoints", [ZS_MAP_IPCACHE] = "zs_ipcache",
		[ZS_MAP_HANDLES] = "zs_handles",     [ZS_MAP_POLICY] = "zs_policy",
		[ZS_MAP_CONFIG] = "zs_config",
	};
	struct bpf_program *prog;
	struct bpf_map *m;
	int err;

	memset(dp, 0, sizeof(*dp));
	*obj = bpf_object__open_file(path, NULL);
	if (!*obj) {
		err = -errno;
		fprintf(stderr, "%s: %s: %s (run 'make bench')\n", who, path, strerror(-err));
		return err;
	}
	bpf_object__for_each_map(m, *obj)
		bpf_map__set_pin_path(m, NULL); /* nothing pinned: the maps go with us */
	err = bpf_object__load(*obj);
	if (err) {
		fprintf(stderr, "%s: loading %s: %s\n", who, path, strerror(-err));
		return err;
	}
	for (int i = 0; i < ZS_MAP_COUNT; i++)
		if ((dp->fd[i] = bpf_object__find_map_fd_by_name(*obj, names[i])) < 0)
			return -ENOENT;
	dp->ct_fd = bpf_object__find_map_fd_by_name(*obj, "zs_ct");
	dp->ct4_fd = bpf_object__find_map_fd_by_name(*obj, "zs_ct4");
	dp->events_fd = bpf_object__find_map_fd_by_name(*obj, "zs_events");
	dp->stats_fd = bpf_object__find_map_fd_by_name(*obj, "zs_stats");
	dp->reasons_fd = bpf_object__find_map_fd_by_name(*obj, "zs_reasons");
	dp->inflight_fd = bpf_object__find_map_fd_by_name(*obj, "zs_inflight");
	prog = bpf_object__find_program_by_name(*obj, "zs_tc_from_ep");
	dp->from_ep_fd = prog ? bpf_program__fd(prog) : -1;
	if (dp->ct_fd < 0 || dp->ct4_fd < 0 || dp->events_fd < 0 || dp->stats_fd < 0 || dp->reasons_fd < 0 ||
	    dp->inflight_fd < 0 || dp->from_ep_fd < 0) {
		fprintf(stderr, "%s: %s lacks a map or zs_tc_from_ep\n", who, path);
		return -ENOENT;
	}
	return 0;
}

static ZS_BENCH_UNUSED double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * zs_parse_buffer of a generated text, timed into *ms; on failure its first
 * reason into note ("parse: ..."). Returns zs_parse_buffer's status.
 */
static ZS_BENCH_UNUSED int bench_parse(const char *name, const char *text, size_t len,
				       struct zs_objects *o, struct zs_diags *d, double *ms,
				       char *note, size_t note_len)
{
	double t = now_ms();
	int status = zs_parse_buffer(name, text, len, o, d);

	*ms = now_ms() - t;
	if (status)
		snprintf(note, note_len, "parse: %s", d->msgs.n ? d->msgs.v[0] : "failed");
	return status;
}

#endif /* ZS_BENCH_UTIL_H */
