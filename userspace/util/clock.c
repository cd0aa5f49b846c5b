// SPDX-License-Identifier: MIT
/* Clocks and RFC 3339 timestamps; see clock.h. */
#define _GNU_SOURCE
#include "util/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t zs_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void zs_rfc3339(uint64_t ns, char *buf, size_t len)
{
	/* Records come in bursts within one second: format the date once per second. */
	static __thread time_t last_sec = -1;
	static __thread char head[32];
	time_t sec = (time_t)(ns / 1000000000ull);
	uint64_t frac = ns % 1000000000ull;
	char out[48];

	if (sec != last_sec) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = sec;
	}
	size_t h = strlen(head);
	memcpy(out, head, h);
	out[h] = '.';
	for (int i = 9; i > 0; i--) {
		out[h + (size_t)i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	out[h + 10] = 'Z';
	out[h + 11] = '\0';
	if (len >= h + 12)
		memcpy(buf, out, h + 12);
	else
		snprintf(buf, len, "%.*s", (int)(len ? len - 1 : 0), out);
}
