/* SPDX-License-Identifier: MIT */
/*
 * IPFIX export (RFC 7011) of flow records over UDP: one biflow data record
 * (RFC 5103 reverse counters) per struct zs_flow_rec, two templates (IPv4,
 * IPv6), our own elements under a configurable Private Enterprise Number.
 * docs/IPFIX.md is the layout a collector needs.
 *
 * The exporter buffers encoded records and sends a message when the next one
 * would not fit, or on zs_ipfix_flush(). It never blocks: the socket is
 * non-blocking, a failed send drops that message, counts its records in
 * `lost_records` and still advances the sequence number, so the collector
 * sees the gap. Templates go in the first message and again every
 * ZS_IPFIX_TEMPLATE_REFRESH_S seconds (RFC 7011 section 8.4: UDP has no
 * session, a collector that restarts learns them from the refresh).
 *
 * Counters go out as octetDeltaCount/packetDeltaCount (and their RFC 5103
 * reverses), so a collector may add up all records of a flow. Records come
 * in two kinds (flows.c): NEW and DENIED carry what a datapath event saw
 * (the first packet; a denied flow's repeats), UPDATE, END and REVOKED the
 * flow's totals from its conntrack entry. The exporter keeps, per flow, what
 * it has exported (a table of ZS_IPFIX_FLOWS, oldest out first) and sends a
 * total less that; a total below it is a new flow on the same 5-tuple (or,
 * for REVOKED, the event's own packet) and goes out as it is. END forgets
 * the flow. The encoder (zs_ipfix_put_record) writes counters as given.
 *
 * The encoder below the exporter is pure (no socket, no clock) for tests.
 * An exporter is used by one thread (the daemon loop).
 * Functions return 0 or -errno unless they say otherwise.
 */
#ifndef ZS_IPFIX_H
#define ZS_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry/flows.h"

struct zs_sink; /* telemetry/sink.h */

#ifndef ZS_IPFIX_TEMPLATE_REFRESH_S
#define ZS_IPFIX_TEMPLATE_REFRESH_S 60
#endif
/*
 * Largest message, IP and UDP headers not included. RFC 7011 section 10.3.3
 * wants it within the path MTU; 1400 fits Ethernet with room for tunnels.
 * zs_ipfix_set_max_message() takes 512..65507.
 */
#ifndef ZS_IPFIX_MAX_MESSAGE
#define ZS_IPFIX_MAX_MESSAGE 1400
#endif
/* Flows whose exported counts the exporter remembers (4-way buckets). */
#ifndef ZS_IPFIX_FLOWS
#define ZS_IPFIX_FLOWS 65536
#endif
/* A policy name longer than this (bytes) is cut at a UTF-8 boundary. */
#ifndef ZS_IPFIX_NAME_MAX
#define ZS_IPFIX_NAME_MAX 512
#endif

#define ZS_IPFIX_VERSION 10
#define ZS_IPFIX_SET_TEMPLATE 2
#define ZS_IPFIX_TID_IPV4 256
#define ZS_IPFIX_TID_IPV6 257
#define ZS_IPFIX_PEN_REVERSE 29305 /* RFC 5103 reverse information elements */
#define ZS_IPFIX_PEN_EXAMPLE 32473 /* RFC 5612, for documentation and tests */

/* Our elements, under the PEN given to zs_ipfix_open(). */
enum zs_ipfix_ie {
	ZS_IE_SRC_IDENTITY = 1,   /* unsigned32 */
	ZS_IE_DST_IDENTITY = 2,   /* unsigned32 */
	ZS_IE_POLICY_NAME = 3,    /* string, variable length */
	ZS_IE_VERDICT = 4,        /* unsigned8, enum zs_ipfix_verdict */
	ZS_IE_RECORD_TYPE = 5,    /* unsigned8, enum zs_rec_type */
	ZS_IE_POLICY_REVISION = 6, /* unsigned32 */
	ZS_IE_DROP_REASON = 7,    /* unsigned8, enum zs_reason (0 forwarded) */
};

enum zs_ipfix_verdict {
	ZS_IPFIX_ALLOWED = 1,
	ZS_IPFIX_DENIED = 2,
	ZS_IPFIX_AUDIT = 3,
};

/* forwardingStatus (IE 89, RFC 7270 section 4.12), one octet. */
enum zs_ipfix_fwd_status {
	ZS_FWD_FORWARDED = 0x40,       /* 64: Forwarded, reason unknown */
	ZS_FWD_DROPPED = 0x80,         /* 128: Dropped, reason unknown */
	ZS_FWD_DROPPED_ACL_DENY = 0x81, /* 129: Dropped, ACL deny */
};

/* ---- pure encoder ------------------------------------------------------- */

/* The message header fields the caller chooses. */
struct zs_ipfix_hdr {
	uint32_t export_time; /* seconds since the epoch */
	uint32_t sequence;    /* data records sent before this message, mod 2^32 */
	uint32_t domain;      /* observation domain id */
};

/* The template id a record is encoded with (by its family). */
uint16_t zs_ipfix_template_id(const struct zs_flow_rec *r);

/* Writes the 16-byte message header; `length` is the whole message. */
void zs_ipfix_put_header(uint8_t *buf, uint16_t length, const struct zs_ipfix_hdr *h);

/* A Template Set (set id 2) with both templates. Returns its length, or -ENOSPC. */
int zs_ipfix_put_templates(uint8_t *buf, size_t cap, uint32_t pen);

/*
 * One data record, no set header. Returns its length, or -ENOSPC. The policy
 * name is cut to `name_max` bytes (and ZS_IPFIX_NAME_MAX).
 */
int zs_ipfix_put_record(uint8_t *buf, size_t cap, const struct zs_flow_rec *r, size_t name_max);

/*
 * A whole message: header, the Template Set when `templates`, then the
 * records in Data Sets (a new set when the family changes). Encodes as many
 * records as fit in `cap` and says how many in *done; returns the message
 * length, or -ENOSPC when not even the header and templates fit.
 */
int zs_ipfix_encode(uint8_t *buf, size_t cap, const struct zs_ipfix_hdr *h, uint32_t pen,
		    bool templates, const struct zs_flow_rec *recs, size_t n, size_t *done);

/* ---- exporter ----------------------------------------------------------- */

struct zs_ipfix;

struct zs_ipfix_stats {
	uint64_t sent_records;
	uint64_t sent_messages;
	uint64_t errors;       /* failed sends */
	uint64_t lost_records; /* records in messages whose send failed */
};

/*
 * `host_port`: "HOST:PORT", "[V6]:PORT" (a bare V6 literal takes the last
 * colon as the port's); HOST a literal or a name (resolved once, here).
 * `enterprise`: the PEN our own elements are numbered under; `domain`: the
 * observation domain id in every message header.
 */
int zs_ipfix_open(struct zs_ipfix **out, const char *host_port, uint32_t enterprise,
		  uint32_t domain);

/* 512..65507 bytes; flushes what is buffered first. */
int zs_ipfix_set_max_message(struct zs_ipfix *x, size_t bytes);

/*
 * Turns `r`'s counters into deltas (above), encodes it (nothing is kept
 * pointing into it). Sends
 * the buffered message first when `r` would not fit. `now_ns` is
 * CLOCK_REALTIME: the header's export time and the template refresh clock.
 * Returns 0, or the send error (counted; the record itself is still buffered).
 */
int zs_ipfix_export(struct zs_ipfix *x, const struct zs_flow_rec *r, uint64_t now_ns);

/* Sends what is buffered (nothing to send is not an error). */
int zs_ipfix_flush(struct zs_ipfix *x, uint64_t now_ns);

void zs_ipfix_stats(const struct zs_ipfix *x, struct zs_ipfix_stats *st);

/* Flushes (stamped with the wall clock), closes the socket, frees. NULL is fine. */
void zs_ipfix_close(struct zs_ipfix *x);

/*
 * The exporter as a flow record sink (sink.h): emit exports the record
 * (lines that are no record are ignored), tick flushes, lost() is
 * `lost_records`, and close is zs_ipfix_close(): the sink owns `x` once it
 * is added to a fan-out. Between ticks only full messages are sent.
 */
struct zs_sink *zs_ipfix_sink(struct zs_ipfix *x);

#endif /* ZS_IPFIX_H */
