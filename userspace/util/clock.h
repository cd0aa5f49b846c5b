/* SPDX-License-Identifier: MIT */
/* Clocks in nanoseconds and RFC 3339 timestamps. */
#ifndef ZS_UTIL_CLOCK_H
#define ZS_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* RFC 3339 UTC with nanoseconds, from CLOCK_REALTIME nanoseconds. */
void zs_rfc3339(uint64_t realtime_ns, char *buf, size_t len);
uint64_t zs_now_ns(int clock);

#endif /* ZS_UTIL_CLOCK_H */
