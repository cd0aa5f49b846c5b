/* SPDX-License-Identifier: MIT */
/*
 * Filters for `zeroseg flows`, applied to flow records (JSON objects as the
 * daemon streams them): --from/--to a workload (NS/NAME or NAME), a label
 * selector (k=v[,k=v...]) or a CIDR; --verdict, --port, --protocol, --type,
 * --since (a duration like 90s, 5m, 2h, or an RFC 3339 time).
 */
#ifndef ZS_FLOWFILTER_H
#define ZS_FLOWFILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "policy/model.h"
#include "util/util.h"

enum zs_end_kind {
	ZS_END_ANY = 0,
	ZS_END_WORKLOAD,
	ZS_END_SELECTOR,
	ZS_END_CIDR,
};

struct zs_end_match {
	enum zs_end_kind kind;
	char workload[256];   /* "ns/name", or "name" (any namespace) */
	zs_labels_t labels;   /* all must match */
	struct zs_prefix cidr;
};

struct zs_flow_filter {
	struct zs_end_match from, to;
	const char *verdict;  /* "allowed", "denied", "audit", or NULL */
	const char *protocol; /* "TCP", "udp" ... (case-insensitive), or NULL */
	const char *type;     /* "new", "update", "end", "revoked", "denied", "lost", or NULL */
	long port;            /* destination port, or -1 */
	char since[64];       /* RFC 3339 UTC; records at or after it; "" = any */
};

void zs_flow_filter_init(struct zs_flow_filter *f);
void zs_flow_filter_free(struct zs_flow_filter *f);
/* Returns 0 or -EINVAL. */
int zs_end_match_parse(struct zs_end_match *m, const char *s);
/* "90s", "5m", "2h", "1d", or an RFC 3339 time; `now_ns` CLOCK_REALTIME. */
int zs_flow_filter_since(struct zs_flow_filter *f, const char *s, uint64_t now_ns);
bool zs_flow_filter_match(const struct zs_flow_filter *f, json_t *rec);

#endif /* ZS_FLOWFILTER_H */
