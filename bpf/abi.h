/* SPDX-License-Identifier: MIT */
/*
 * The one header shared by the datapath (bpf/) and the controller (userspace/):
 * map keys and values, flow events, drop reasons, reserved identities and limits.
 * Both sides include it; nothing here is copied by hand anywhere else.
 *
 * Rules for this file:
 *  - fixed-width types only, explicit padding, sizes asserted at the bottom;
 *  - enum values never change meaning; a retired value stays reserved;
 *  - addresses are stored as 16 bytes in network byte order (IPv4 in the first 4,
 *    the rest zero), ports in network byte order, everything else in host order.
 */
#ifndef ZS_ABI_H
#define ZS_ABI_H

#include <linux/types.h>

/* ---- limits (tests may shrink them) ------------------------------------ */
#ifndef ZS_MAX_ENDPOINTS
#define ZS_MAX_ENDPOINTS 16384
#endif
#ifndef ZS_MAX_IPCACHE
#define ZS_MAX_IPCACHE 131072
#endif
#ifndef ZS_MAX_POLICY
#define ZS_MAX_POLICY 1048576
#endif
#ifndef ZS_MAX_HANDLES
#define ZS_MAX_HANDLES 65536
#endif
#ifndef ZS_MAX_CT
#define ZS_MAX_CT 262144
#endif
#ifndef ZS_MAX_FRAGS
#define ZS_MAX_FRAGS 8192
#endif
#ifndef ZS_EVENTS_BYTES
#define ZS_EVENTS_BYTES (16u << 20)
#endif

/* ---- identities -------------------------------------------------------- */
/*
 * An identity is a u32 number for one distinct label set (namespace included).
 * 0 is never a valid identity: as a policy peer it means "any peer".
 */
enum zs_identity_reserved {
	ZS_ID_ANY = 0,     /* wildcard peer in policy keys; never on a packet */
	ZS_ID_HOST = 1,    /* this host's own addresses */
	ZS_ID_WORLD = 2,   /* anything the ipcache does not know */
	ZS_ID_UNKNOWN = 3, /* placeholder while an address is being (re)assigned */
	ZS_ID_FIRST_WORKLOAD = 256,
	ZS_ID_FIRST_CIDR = 1u << 24, /* CIDR peers get identities from here up */
};

/* ---- directions, verdicts --------------------------------------------- */
/* Direction is always relative to the subject workload of a policy lookup. */
enum zs_dir {
	ZS_DIR_INGRESS = 0, /* traffic to the subject */
	ZS_DIR_EGRESS = 1,  /* traffic from the subject */
};

enum zs_verdict {
	ZS_VERDICT_NONE = 0, /* no entry decided: default deny */
	ZS_VERDICT_ALLOW = 1,
	ZS_VERDICT_DENY = 2,
	ZS_VERDICT_AUDIT = 3, /* would be denied, let through and logged */
};

/*
 * Drop reasons: stable numbers, printed by name (zs_reason_name() in userspace).
 * ZS_REASON_FORWARDED counts packets that passed.
 */
enum zs_reason {
	ZS_REASON_FORWARDED = 0,
	ZS_DROP_DEFAULT_DENY = 1,   /* no rule allowed the flow */
	ZS_DROP_POLICY_DENY = 2,    /* a deny rule matched */
	ZS_DROP_SPOOFED_SRC = 3,    /* source address not one of the workload's own */
	ZS_DROP_TRUNCATED = 4,      /* frame shorter than its headers say */
	ZS_DROP_BAD_HEADER = 5,     /* IHL < 5, bad lengths, bad TCP offset ... */
	ZS_DROP_UNKNOWN_EP = 6,     /* program on an interface that is not enrolled */
	ZS_DROP_FRAGMENT = 7,       /* fragment we cannot attribute to a flow */
	ZS_DROP_UNSUPPORTED_L3 = 8, /* ethertype we do not let through */
	ZS_DROP_IPV6_EXT = 9,       /* IPv6 extension chain too long or malformed */
	ZS_DROP_NOT_READY = 10,     /* endpoint enrolled, policy not yet in */
	ZS_DROP_REVOKED = 11,       /* established flow no longer allowed */
	ZS_DROP_ROUTER_ADV = 12,    /* IPv6 router advertisement from a workload */
	ZS_DROP_CT_INSERT = 13,     /* allowed flow could not be tracked */
	ZS_DROP_ICMP_UNRELATED = 14, /* ICMP error about no flow we track, or to its wrong end */
	ZS_DROP_TCP_FLAGS = 15,     /* SYN+FIN, SYN+RST, no flags, FIN+PSH+URG */
	ZS_DROP_SOURCE_ROUTE = 16,  /* IPv4 loose/strict source route option */
	ZS_REASON_MAX = 32,
};

/* ---- endpoints: ifindex -> who is behind this interface ---------------- */
enum zs_ep_flags {
	ZS_EP_READY = 1 << 0, /* policy for this endpoint has been written */
};

/*
 * identity[] is indexed by the policy generation (revision & 1): the controller
 * writes the next generation's slot, flips the revision, then syncs the other
 * slot, so a packet sees either the old or the new identity with the old or new
 * policy that goes with it, never a mix.
 */
struct zs_endpoint {
	__u32 identity[2];
	__u32 flags;
	__u32 pad;
};

/* ---- ipcache: LPM trie, address/prefix -> identity --------------------- */
enum zs_family {
	ZS_AF_INET = 4,
	ZS_AF_INET6 = 6,
};

/* prefixlen counts the 32 bits of family plus the address prefix. */
struct zs_ipcache_key {
	__u32 prefixlen;
	__u32 family; /* enum zs_family; always matched in full */
	__u8 addr[16];
};
#define ZS_IPCACHE_PREFIX(family_bits) (32 + (family_bits))

/*
 * identity is who owns the address (a workload, the host, or world); cidr is
 * the identity of the longest policy CIDR that contains it (0: none). Policy
 * CIDRs are entries of their own (identity world unless a workload's prefix
 * holds them), so one LPM lookup yields both for any address.
 */
struct zs_ipcache_val {
	__u32 identity[2]; /* by generation, as in struct zs_endpoint */
	__u32 cidr[2];     /* by generation */
	__u32 ifindex;     /* host-side interface of a local workload, else 0 */
	__u32 pad;
};

/* ---- policy ------------------------------------------------------------ */
/*
 * Two maps. handles: (generation, subject identity) -> handle, one per subject
 * whose compiled rule set differs; policy: LPM trie keyed by
 * (handle, peer, direction | proto, port). The compiler resolves port ranges,
 * protocol wildcards and deny-over-allow into disjoint prefixes, so the longest
 * match is the answer for one peer. A packet's peer has two identities (its
 * owner and its CIDR, see zs_ipcache_val): the datapath looks both up and the
 * higher precedence wins (a tie goes to the lower rule id); only when neither
 * has entries it looks up ZS_ID_ANY. The compiler folds any-peer rules into
 * every specific peer's entries, so a hit on a specific peer is final for it.
 */
struct zs_handle_key {
	__u32 gen; /* revision & 1 */
	__u32 identity;
};

struct zs_policy_key {
	__u32 prefixlen; /* ZS_POLICY_FIXED_BITS + 0..24 */
	__u32 handle;
	__u32 peer;   /* identity, or ZS_ID_ANY */
	__u8 dir;     /* enum zs_dir */
	__u8 proto;   /* IPPROTO_*, the first of the 24 matched bits */
	__be16 port;  /* L4 port, or ICMP (type << 8 | code) */
};
#define ZS_POLICY_FIXED_BITS 72u /* handle, peer, dir */
#define ZS_POLICY_FULL_BITS 96u

/* Precedence of an entry: deny > audit > allow > posture default. */
enum zs_prec {
	ZS_PREC_NONE = 0,
	ZS_PREC_DEFAULT = 1, /* posture default: allow (kubernetes) or audit */
	ZS_PREC_ALLOW = 2,
	ZS_PREC_AUDIT = 3, /* a deny rule of an audit-mode policy */
	ZS_PREC_DENY = 4,
};

struct zs_policy_val {
	__u8 verdict; /* enum zs_verdict */
	__u8 prec;    /* enum zs_prec */
	__u8 pad[2];
	__u32 rule_id; /* names the policy rule; 0 = default deny */
};

/* ---- global config (array, one entry) ---------------------------------- */
/*
 * revision is written last by the controller in one aligned 4-byte store:
 * everything a packet uses is read through revision & 1.
 */
struct zs_config {
	__u32 revision;
	__u32 flags;
};

/* ---- conntrack (LRU hashes) --------------------------------------------- */
/*
 * One entry per flow, keyed by the tuple in canonical order (the lower
 * address/port pair first), so both directions find it with one lookup.
 * For ICMP echo, the "port" of the requester is the echo id and of the
 * responder 0: a request from the other side is then a different flow.
 *
 * Two tables, one entry type: IPv4 flows in zs_ct4 (struct zs_ct4_key, 16
 * bytes), IPv6 flows in zs_ct (struct zs_ct_key, 40 bytes). The kernel hashes
 * and compares the whole key on every packet; an IPv4 key in the wide form
 * costs 2.5 times the hashing for 24 bytes of zeros. struct zs_ct_key is the
 * name of a flow everywhere else (telemetry, userspace): an IPv4 flow's is its
 * zs_ct4_key widened (addresses in their first 4 bytes, family 4).
 * 8-byte aligned: the datapath builds keys in whole 64-bit words.
 */
struct __attribute__((aligned(8))) zs_ct_key {
	__u8 addr_lo[16];
	__u8 addr_hi[16];
	__be16 port_lo;
	__be16 port_hi;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

/* Its last 8 bytes are laid out as zs_ct_key's (ports, proto, family, pad). */
struct __attribute__((aligned(8))) zs_ct4_key {
	__u8 addr_lo[4];
	__u8 addr_hi[4];
	__be16 port_lo;
	__be16 port_hi;
	__u8 proto;
	__u8 family; /* always ZS_AF_INET */
	__u8 pad[2];
};

enum zs_ct_flags {
	ZS_CT_INIT_IS_LO = 1 << 0,  /* the initiator is the lo side of the key */
	ZS_CT_INIT_LOCAL = 1 << 1,  /* initiator is an enrolled local workload */
	ZS_CT_RESP_LOCAL = 1 << 2,  /* responder is an enrolled local workload */
	ZS_CT_SEEN_REPLY = 1 << 3,
};

struct zs_ct_entry {
	__u64 created_ns; /* CLOCK_MONOTONIC at tick resolution (bpf_ktime_get_coarse_ns) */
	__u64 last_ns;
	__u64 packets[2]; /* [0] initiator -> responder, [1] back */
	__u64 bytes[2];
	__u64 report_ns;  /* a denied flow's last event */
	__u32 revision; /* policy revision the verdict was taken under */
	__u32 src_identity;
	__u32 dst_identity;
	__u32 egress_rule;  /* rule that decided the initiator's egress */
	__u32 ingress_rule; /* rule that decided the responder's ingress */
	__u32 suppressed;   /* a denied flow's packets dropped since its last event */
	__u8 verdict;       /* enum zs_verdict of the flow as a whole */
	__u8 reason;        /* enum zs_reason when denied */
	__u8 flags;         /* enum zs_ct_flags */
	__u8 tcp_flags;     /* TCP flags seen, both directions ORed */
	__be16 policy_port; /* the initiator's port (or ICMP type/code) for re-checks */
	__u8 checks;        /* enum zs_check_flags of the decision */
	__u8 pad;
	/*
	 * Host-side interface of each end ([0] initiator, [1] responder) when it
	 * is an enrolled local workload, else 0, as verified under `revision`:
	 * a later packet that comes the same way needs no endpoint or
	 * anti-spoofing lookup of its own (bpf/lib/datapath.h, the fast path).
	 */
	__u32 ifindex[2];
};

/* A denied flow is reported when it starts, then at most once per interval,
 * with the count of packets dropped in between. */
#ifndef ZS_DENY_REPORT_NS
#define ZS_DENY_REPORT_NS 1000000000ull
#endif

/* ---- fragments (LRU hash) ---------------------------------------------- */
/*
 * The first fragment of a datagram carries the ports; later ones do not. The
 * first one seen at a hook records them here, so later fragments take the
 * flow (and its conntrack verdict) of their first. Keyed per interface: a
 * packet crosses two hooks on one host, and each keeps its own view.
 */
struct zs_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id; /* IPv4: 16-bit id; IPv6: fragment header id */
	__u32 ifindex;
	__u8 proto; /* IPv4 protocol; IPv6: the fragment header's next header */
	__u8 family;
	__u8 pad[2];
};

#define ZS_FRAG_RANGES 4
struct zs_frag_val {
	__be16 sport;
	__be16 dport;
	__be16 pol_port;
	__u8 nranges; /* byte ranges seen so far, to refuse overlaps */
	__u8 bad;     /* an overlap was seen: drop the rest of the datagram */
	__u16 start[ZS_FRAG_RANGES];
	__u16 end[ZS_FRAG_RANGES]; /* exclusive */
	__u8 proto;   /* the datagram's upper-layer protocol (IPv6: past extensions) */
	__u8 pad[3];
	__u64 first_ns; /* when its first fragment was seen */
};

/* A datagram not reassembled by then is gone (as the kernel's ipfrag_time). */
#ifndef ZS_FRAG_TIMEOUT_NS
#define ZS_FRAG_TIMEOUT_NS (30ull * 1000000000ull)
#endif

/* ---- events (ring buffer) ---------------------------------------------- */
enum zs_event_type {
	ZS_EV_FLOW_NEW = 1,     /* first packet of a flow, allowed or denied */
	ZS_EV_FLOW_REVOKED = 2, /* established flow re-checked and denied */
	ZS_EV_FLOW_DENIED = 3,  /* more of a denied flow; `suppressed` packets since the last */
};

/* Which side(s) of the flow this host checked. */
enum zs_check_flags {
	ZS_CHECKED_EGRESS = 1 << 0,
	ZS_CHECKED_INGRESS = 1 << 1,
	ZS_DENIED_EGRESS = 1 << 2,
	ZS_DENIED_INGRESS = 1 << 3,
};

struct zs_flow_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u32 type;  /* enum zs_event_type */
	__u32 ifindex;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 verdict; /* enum zs_verdict */
	__u8 reason;  /* enum zs_reason */
	__u32 src_identity;
	__u32 dst_identity;
	__u32 egress_rule;
	__u32 ingress_rule;
	__u32 revision;
	__u8 checks; /* enum zs_check_flags */
	__u8 hook;   /* enum zs_hook */
	__u8 tcp_flags; /* TCP: flags of the packet; ICMP/ICMPv6: its type */
	__u8 icmp_code; /* ICMP/ICMPv6: its code */
	__u32 bytes; /* length of the packet that triggered the event */
	__u32 suppressed; /* ZS_EV_FLOW_DENIED: packets dropped since the flow's last event */
};

enum zs_hook {
	ZS_HOOK_TC_FROM_EP = 1, /* tc ingress of a workload interface */
	ZS_HOOK_TC_TO_EP = 2,   /* tc egress of a workload interface */
	ZS_HOOK_XDP = 3,        /* XDP on an uplink: traffic from other hosts */
	ZS_HOOK_XDP_SHIELD = 4, /* XDP flood shield on a workload interface */
};

/* ---- counters (per-CPU array indexed by enum zs_reason) ---------------- */
struct zs_counter {
	__u64 packets;
	__u64 bytes;
};

/* Extra per-CPU counters beyond the reasons. */
enum zs_stat {
	ZS_STAT_EVENTS_LOST = 0, /* ring buffer full */
	ZS_STAT_CT_CREATED = 1,
	ZS_STAT_MAX = 8,
};

#ifndef __bpf__
_Static_assert(sizeof(struct zs_endpoint) == 16, "zs_endpoint");
_Static_assert(sizeof(struct zs_ipcache_key) == 24, "zs_ipcache_key");
_Static_assert(sizeof(struct zs_ipcache_val) == 24, "zs_ipcache_val");
_Static_assert(sizeof(struct zs_handle_key) == 8, "zs_handle_key");
_Static_assert(sizeof(struct zs_policy_key) == 16, "zs_policy_key");
_Static_assert(sizeof(struct zs_policy_val) == 8, "zs_policy_val");
_Static_assert(sizeof(struct zs_config) == 8, "zs_config");
_Static_assert(sizeof(struct zs_ct_key) == 40, "zs_ct_key");
_Static_assert(sizeof(struct zs_ct4_key) == 16, "zs_ct4_key");
_Static_assert(sizeof(struct zs_ct_entry) == 96, "zs_ct_entry");
_Static_assert(sizeof(struct zs_flow_event) == 88, "zs_flow_event");
_Static_assert(sizeof(struct zs_frag_key) == 44, "zs_frag_key");
_Static_assert(sizeof(struct zs_frag_val) == 40, "zs_frag_val");
#endif

#endif /* ZS_ABI_H */
