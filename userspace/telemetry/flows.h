/* SPDX-License-Identifier: MIT */
/*
 * Flow events from the datapath -> flow records (JSON objects), named with
 * what the controller knows: workloads, identities, the rule that decided.
 */
#ifndef ZS_FLOWS_H
#define ZS_FLOWS_H

#include <jansson.h>

#include "bpf/abi.h"
#include "policy/compile.h"
#include "policy/identity.h"

/*
 * A flow record, what every sink (JSON lines, IPFIX, the live view) is fed:
 * built from a datapath event (a flow starts, is revoked, a denied flow's
 * rate-limited repeat) or from the daemon's conntrack scan (periodic updates
 * of long flows, the end of a flow). Strings point into the daemon's compiled
 * state; a sink copies what it keeps.
 */
enum zs_rec_type {
	ZS_REC_NEW = 0,     /* a flow starts, allowed or denied */
	ZS_REC_UPDATE = 1,  /* a long flow, every active timeout */
	ZS_REC_END = 2,     /* FIN/RST seen, or idle timeout */
	ZS_REC_REVOKED = 3, /* an established flow the new policy denies */
	ZS_REC_DENIED = 4,  /* more of a denied flow: one per interval, with a count */
};

/* IPFIX flowEndReason (RFC 7011, IE 136) values. */
enum zs_end_reason {
	ZS_END_NONE = 0,
	ZS_END_IDLE = 1,      /* idle timeout */
	ZS_END_ACTIVE = 2,    /* active timeout (an update, the flow goes on) */
	ZS_END_OF_FLOW = 3,   /* TCP FIN or RST */
	ZS_END_FORCED = 4,    /* revoked, or the daemon stopped */
	ZS_END_RESOURCES = 5, /* evicted from a full table */
};

struct zs_flow_end {
	uint8_t addr[16];
	uint16_t port;            /* host order; 0 for protocols without ports */
	uint32_t identity;
	const char *workload;     /* "ns/name", or NULL */
	const struct zs_identity *id; /* namespace and labels, or NULL (host, world) */
};

struct zs_flow_rec {
	uint8_t type;       /* enum zs_rec_type */
	uint8_t verdict;    /* enum zs_verdict */
	uint8_t reason;     /* enum zs_reason (denied) */
	uint8_t family;     /* 4 or 6 */
	uint8_t proto;
	uint8_t icmp_type;  /* ICMP/ICMPv6: type and code of the first packet */
	uint8_t icmp_code;
	uint8_t egress;     /* the deciding side: 1 the source's egress, 0 the destination's ingress */
	uint8_t end_reason; /* enum zs_end_reason */
	uint8_t tcp_flags;  /* both directions ORed */
	uint64_t time_ns;   /* when the record was made, CLOCK_REALTIME */
	uint64_t start_ns;  /* first packet, CLOCK_REALTIME */
	uint64_t last_ns;   /* last packet, CLOCK_REALTIME */
	struct zs_flow_end src, dst; /* the initiator and the responder */
	uint64_t packets[2]; /* [0] initiator -> responder, [1] back */
	uint64_t bytes[2];
	uint64_t prev_packets[2]; /* UPDATE/END: totals in the flow's previous record */
	uint64_t prev_bytes[2];   /* (deltas = totals - prev) */
	uint64_t suppressed; /* ZS_REC_DENIED: packets dropped since the last record */
	uint32_t ifindex;
	char ifname[16];     /* "" when unknown */
	const char *policy;  /* the deciding policy "ns/name", "default-deny" */
	char rule[24];       /* "ingress[2]", or "" */
	const char *egress_policy;  /* NULL: that side is not enrolled here */
	const char *ingress_policy;
	uint32_t revision;
};

const char *zs_rec_type_name(unsigned type);
const char *zs_reason_name(unsigned reason);
const char *zs_verdict_name(unsigned verdict);
const char *zs_proto_name(unsigned proto);

/* mono_to_real: CLOCK_REALTIME - CLOCK_MONOTONIC (the datapath's clock), in ns. */
void zs_flow_rec_from_event(struct zs_flow_rec *r, const struct zs_flow_event *ev,
			    uint64_t mono_to_real, const struct zs_compiled *c,
			    const struct zs_identities *ids);
/* A record of a tracked flow (type UPDATE, END or REVOKED), from its conntrack entry. */
void zs_flow_rec_from_ct(struct zs_flow_rec *r, const struct zs_ct_key *k,
			 const struct zs_ct_entry *e, uint8_t type, uint8_t end_reason,
			 uint64_t mono_to_real, uint64_t now_real, const struct zs_compiled *c,
			 const struct zs_identities *ids);
/*
 * The record as one JSON line (schema in README), newline and NUL included,
 * into buf. Returns its length (without the NUL), or 0 when it does not fit.
 */
size_t zs_flow_rec_json(const struct zs_flow_rec *r, char *buf, size_t cap);
/* Interface names are cached; the daemon forgets them when links change. */
void zs_flow_ifnames_forget(void);

/* One line for people: time verdict src -> dst proto/port policy. */
void zs_flow_print_compact(FILE *f, json_t *rec);

#endif /* ZS_FLOWS_H */
