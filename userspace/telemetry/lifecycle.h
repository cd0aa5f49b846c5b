/* SPDX-License-Identifier: MIT */
/*
 * Flow lifecycle from the conntrack table: the datapath reports a flow when it
 * starts; the daemon scans the table about once a second and this module says
 * what each tracked flow is due: a periodic update (active timeout), its end
 * (TCP FIN/RST seen and quiet, or idle timeout; then the entry is deleted),
 * or nothing. It remembers what each flow's last record said, so records
 * carry deltas as well as totals, and it notices flows that vanished from the
 * table between scans (evicted by the LRU when full).
 */
#ifndef ZS_LIFECYCLE_H
#define ZS_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/abi.h"

struct zs_lc_flow {
	struct zs_ct_key key;
	struct zs_ct_entry last; /* the entry as last seen */
	uint64_t reported_ns;    /* CLOCK_MONOTONIC of the last record (or start) */
	uint64_t packets[2];     /* totals in the last record */
	uint64_t bytes[2];
	uint32_t scan;           /* the scan that last saw it */
	bool used;
};

struct zs_lifecycle {
	uint64_t active_ns; /* periodic update interval */
	uint64_t idle_ns;   /* no packet for this long: the flow has ended */
	uint64_t fin_ns;    /* FIN or RST seen, then quiet for this long: ended */
	uint32_t scan;
	size_t n, cap;      /* open addressing, power of two */
	struct zs_lc_flow *t;
};

enum zs_lc_due {
	ZS_LC_NOTHING = 0,
	ZS_LC_UPDATE,  /* emit an update; the flow goes on */
	ZS_LC_END,     /* emit its end and delete the entry */
	ZS_LC_FORGET,  /* delete the entry quietly (a denied or revoked flow gone idle) */
	ZS_LC_DENIED_TAIL, /* a denied flow went quiet with drops not yet reported: report them */
};

void zs_lifecycle_init(struct zs_lifecycle *lc, uint64_t active_ns, uint64_t idle_ns);
void zs_lifecycle_free(struct zs_lifecycle *lc);
/* Starts a scan; then zs_lifecycle_see for every entry, then zs_lifecycle_sweep. */
void zs_lifecycle_begin(struct zs_lifecycle *lc);
/*
 * What one entry is due at `now` (CLOCK_MONOTONIC). For UPDATE and END,
 * *end_reason is set (enum zs_end_reason values of flows.h) and *prev points
 * at the totals of the flow's previous record (deltas = totals - prev); the
 * caller emits, then calls zs_lifecycle_reported (UPDATE) or lets END drop
 * the flow from the table.
 */
enum zs_lc_due zs_lifecycle_see(struct zs_lifecycle *lc, const struct zs_ct_key *k,
				const struct zs_ct_entry *e, uint64_t now, uint8_t *end_reason,
				const struct zs_lc_flow **prev);
void zs_lifecycle_reported(struct zs_lifecycle *lc, const struct zs_ct_key *k,
			   const struct zs_ct_entry *e, uint64_t now);
/* Drops a flow (its end was emitted, its entry deleted). */
void zs_lifecycle_forget(struct zs_lifecycle *lc, const struct zs_ct_key *k);
/* Flows tracked but not seen in this scan: evicted. Calls `gone` for each, then forgets them. */
void zs_lifecycle_sweep(struct zs_lifecycle *lc,
			void (*gone)(void *arg, const struct zs_lc_flow *f), void *arg);

#endif /* ZS_LIFECYCLE_H */
