/* SPDX-License-Identifier: MIT */
/* Small helpers the benchmark programs share. */
#ifndef ZS_BENCH_UTIL_H
#define ZS_BENCH_UTIL_H

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ZS_BENCH_UNUSED __attribute__((unused))

static ZS_BENCH_UNUSED int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
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

#endif /* ZS_BENCH_UTIL_H */
