// SPDX-License-Identifier: MIT
/*
 * The tc programs against a packet table, through BPF_PROG_TEST_RUN (as
 * Katran tests its balancer). The maps are filled the way the daemon fills
 * them: YAML -> zs_parse_buffer -> zs_compile -> zs_writer_apply on the real
 * maps. Each row asserts the verdict, the one drop reason counter that moved,
 * and the flow event the packet produced (or that it produced none).
 *
 *   private netns (unshare), lo up
 *   zt-a <-> zt-a-p   workload t/a  10.1.0.1 fd00::a   tc: from_ep / to_ep
 *   zt-b <-> zt-b-p   workload t/b  10.1.0.2 fd00::b   tc: from_ep / to_ep
 *   zt-c <-> zt-c-p   no workload: programs but no endpoint entry
 *
 * BPF_PROG_TEST_RUN resolves __sk_buff.ifindex in the caller's netns, so the
 * program sees these interfaces as skb->ifindex. Rows run in order: replies
 * and the revocation rows depend on flows that earlier rows opened.
 *
 * A row with .bug states the intended result of a known datapath bug: it is
 * reported as skipped while the datapath still gets it wrong, and fails once
 * the datapath is right, so that the mark gets removed.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "userspace/datapath.h"
#include "userspace/flows.h"
#include "userspace/parse.h"

#define A_IP "10.1.0.1"
#define B_IP "10.1.0.2"
#define WORLD_IP "192.0.2.7"
#define A6 "fd00::a"
#define B6 "fd00::b"
#define WORLD6 "2001:db8::7"
#define WORLD "world" /* an event peer that the ipcache does not know */

/* ---- policies ---------------------------------------------------------- */

#define WORKLOADS                                                               \
	"apiVersion: zeroseg.io/v1\n"                                           \
	"kind: Workload\n"                                                      \
	"metadata: {name: a, namespace: t, labels: {app: a}}\n"                 \
	"spec: {interface: zt-a, addresses: [" A_IP ", '" A6 "']}\n"            \
	"---\n"                                                                 \
	"apiVersion: zeroseg.io/v1\n"                                           \
	"kind: Workload\n"                                                      \
	"metadata: {name: b, namespace: t, labels: {app: b}}\n"                 \
	"spec: {interface: zt-b, addresses: [" B_IP ", '" B6 "']}\n"            \
	"---\n"                                                                 \
	"apiVersion: zeroseg.io/v1\n"                                           \
	"kind: Policy\n"                                                        \
	"metadata: {name: a-out, namespace: t}\n"                               \
	"spec:\n"                                                               \
	"  selector: {matchLabels: {app: a}}\n"                                 \
	"  egress:\n"                                                           \
	"    - to: [{selector: {matchLabels: {app: b}}}]\n"                     \
	"      ports:\n"                                                        \
	"        - {protocol: TCP, port: 8080}\n"                               \
	"        - {protocol: TCP, port: 9000}\n"                               \
	"    - to: [{selector: {matchLabels: {app: b}}}]\n"                     \
	"      ports: [{protocol: UDP, port: 53}, {protocol: ICMP, type: 8}]\n"

/*
 * b takes 8080, DNS and ping from a, and 443 from anywhere; it refuses 9000
 * from a, which a's egress allows; b itself may send nothing.
 */
#define B_IN_HEAD                                                               \
	"---\n"                                                                 \
	"apiVersion: zeroseg.io/v1\n"                                           \
	"kind: Policy\n"                                                        \
	"metadata: {name: b-in, namespace: t}\n"                                \
	"spec:\n"                                                               \
	"  selector: {matchLabels: {app: b}}\n"                                 \
	"  ingress:\n"
#define B_IN_8080                                                               \
	"    - from: [{selector: {matchLabels: {app: a}}}]\n"                   \
	"      ports: [{protocol: TCP, port: 8080}]\n"
#define B_IN_REST                                                               \
	"    - from: [{selector: {matchLabels: {app: a}}}]\n"                   \
	"      ports: [{protocol: UDP, port: 53}, {protocol: ICMP, type: 8}]\n" \
	"    - from: [{entity: world}]\n"                                       \
	"      ports: [{protocol: TCP, port: 443}]\n"                           \
	"    - from: [{selector: {matchLabels: {app: a}}}]\n"                   \
	"      ports: [{protocol: TCP, port: 9000}]\n"                          \
	"      action: deny\n"

static const char policy_v1[] = WORKLOADS B_IN_HEAD B_IN_8080 B_IN_REST;
/* Revision 2: b no longer accepts 8080 (a's egress rule stays). */
static const char policy_v2[] = WORKLOADS B_IN_HEAD B_IN_REST;

/*
 * Revision 3: CIDR peers. b takes TCP 80 from 192.0.2.0/24 except 192.0.2.7
 * and from 2001:db8::/32 except 2001:db8::7, and denies 8080 from a's own
 * address by CIDR (a CIDR deny beats the selector allow).
 */
static const char policy_cidr[] = WORKLOADS B_IN_HEAD B_IN_8080
	"    - from: [{cidr: 192.0.2.0/24, except: [192.0.2.7/32]},\n"
	"             {cidr: '2001:db8::/32', except: ['2001:db8::7/128']}]\n"
	"      ports: [{protocol: TCP, port: 80}]\n"
	"    - from: [{cidr: " A_IP "/32}]\n"
	"      ports: [{protocol: TCP, port: 8080}]\n"
	"      action: deny\n";

/* ---- packets ----------------------------------------------------------- */

/* What a row sends; ports and ids in host order. */
struct pkt {
	__u16 ethertype; /* 0: IP, the version taken from the source address */
	__u8 nvlan;      /* 802.1Q tags in front of the ethertype */
	__u8 proto;      /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	const char *src;
	const char *dst;
	__u16 sport;     /* ICMP: the echo id of a request */
	__u16 dport;     /* ICMP: the echo id of a reply */
	__u8 flags;      /* TCP flags byte */
	__u8 doff;       /* TCP data offset; 0: 5 */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 quote;      /* ICMP error quoting UDP dst:dport -> src:sport */
	__u8 ihl;        /* 0: 5 */
	__u16 frag_off;  /* IPv4 flags + offset; IPv6 fragment header offset + M */
	__u8 n_ext;      /* IPv6 extension headers in ext[] */
	__u8 ext[8];
	__u16 cut;       /* keep only the first `cut` bytes; 0: all */
};

#define SYN 0x02
#define ACK 0x10

#define ICMP_ECHO 8
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define ICMP6_RA 134
#define ICMP6_NS 135

#define TCP(s, sp, d, dp, fl, ...) \
	{ .proto = IPPROTO_TCP, .src = s, .sport = sp, .dst = d, .dport = dp, .flags = fl, __VA_ARGS__ }
#define UDP(s, sp, d, dp, ...) \
	{ .proto = IPPROTO_UDP, .src = s, .sport = sp, .dst = d, .dport = dp, __VA_ARGS__ }
/* An echo request's id is its "sport" in events and conntrack; a reply's, its "dport". */
#define ICMP(s, d, type, id, ...)                                                        \
	{ .proto = IPPROTO_ICMP, .src = s, .dst = d, .icmp_type = type,                   \
	  .sport = (type) == ICMP_ECHO ? (id) : 0, .dport = (type) == ICMP_ECHO ? 0 : (id), \
	  __VA_ARGS__ }
/* An ICMP error from s about the UDP packet d:dp -> s:sp it quotes. */
#define ICMP_ERR(s, d, type, code, sp, dp)                                              \
	{ .proto = IPPROTO_ICMP, .src = s, .dst = d, .icmp_type = type, .icmp_code = code, \
	  .quote = 1, .sport = sp, .dport = dp }
#define ICMP6(s, d, type) { .proto = IPPROTO_ICMPV6, .src = s, .dst = d, .icmp_type = type }
#define L2(type, ...) { .ethertype = type, __VA_ARGS__ }

static const __u8 mac_a[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x0a };
static const __u8 mac_b[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x0b };

/* Parses an address into 16 bytes as the ABI stores it; returns 4 or 6. */
static int addr_parse(const char *s, __u8 out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':')) {
		assert_int_equal(inet_pton(AF_INET6, s, out), 1);
		return 6;
	}
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
	return 4;
}

static int pkt_family(const struct pkt *p)
{
	__u8 a[16];

	return addr_parse(p->src, a);
}

/* The L4 header (and an ICMP error's quote) at l4; returns its length. */
static size_t l4_build(const struct pkt *p, __u8 *l4)
{
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = (struct tcphdr *)l4;
		th->source = htons(p->sport);
		th->dest = htons(p->dport);
		th->seq = htonl(1000);
		th->doff = p->doff ? p->doff : 5;
		l4[13] = p->flags;
		th->window = htons(65535);
		return sizeof(*th);
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = (struct udphdr *)l4;
		uh->source = htons(p->sport);
		uh->dest = htons(p->dport);
		uh->len = htons(sizeof(*uh) + 4);
		return sizeof(*uh) + 4;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = p->icmp_type;
		l4[1] = p->icmp_code;
		if (!p->quote) {
			*(__be16 *)(l4 + 4) = htons(p->sport | p->dport); /* echo id */
			*(__be16 *)(l4 + 6) = htons(1);                   /* sequence */
			return 8;
		}
		/* The quoted packet went the other way: dst -> src. */
		struct iphdr *in = (struct iphdr *)(l4 + 8);
		struct udphdr *iu = (struct udphdr *)(l4 + 8 + sizeof(*in));
		__u8 a[16];
		in->version = 4;
		in->ihl = 5;
		in->ttl = 64;
		in->protocol = IPPROTO_UDP;
		in->tot_len = htons(sizeof(*in) + sizeof(*iu) + 4);
		addr_parse(p->dst, a);
		memcpy(&in->saddr, a, 4);
		addr_parse(p->src, a);
		memcpy(&in->daddr, a, 4);
		iu->source = htons(p->dport);
		iu->dest = htons(p->sport);
		iu->len = htons(sizeof(*iu) + 4);
		return 8 + sizeof(*in) + sizeof(*iu);
	}
	return 0;
}

/* Ethernet [+ VLAN tags] + IPv4 or IPv6 [+ extensions] + L4, or an L2-only frame. */
static size_t pkt_build(const struct pkt *p, __u8 *buf, size_t cap)
{
	int v6 = !p->ethertype && pkt_family(p) == 6;
	__u16 type = p->ethertype ? p->ethertype : v6 ? ETH_P_IPV6 : ETH_P_IP;
	struct ethhdr *eth = (struct ethhdr *)buf;
	size_t off = sizeof(*eth), len;
	__u8 src[16], dst[16];

	memset(buf, 0, cap);
	memcpy(eth->h_dest, mac_b, ETH_ALEN);
	memcpy(eth->h_source, mac_a, ETH_ALEN);
	eth->h_proto = htons(p->nvlan ? ETH_P_8021Q : type);
	for (int i = 0; i < p->nvlan; i++) {
		__be16 *tag = (__be16 *)(buf + off);
		tag[0] = htons(100 + i); /* TCI: VLAN id */
		tag[1] = htons(i + 1 < p->nvlan ? ETH_P_8021Q : type);
		off += 4;
	}
	if (type != ETH_P_IP && type != ETH_P_IPV6) {
		len = off + 46; /* an ARP body, or whatever the ethertype carries */
		return p->cut ? p->cut : len;
	}
	addr_parse(p->src, src);
	addr_parse(p->dst, dst);

	if (!v6) {
		struct iphdr *ip = (struct iphdr *)(buf + off);
		size_t hlen = p->ihl > 5 ? p->ihl * 4u : 20; /* options: zeros */
		size_t l4len = l4_build(p, buf + off + hlen);

		ip->version = 4;
		ip->ihl = p->ihl ? p->ihl : 5;
		ip->ttl = 64;
		ip->protocol = p->proto;
		ip->tot_len = htons(hlen + l4len);
		ip->frag_off = htons(p->frag_off);
		memcpy(&ip->saddr, src, 4);
		memcpy(&ip->daddr, dst, 4);
		len = off + hlen + l4len;
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(buf + off);
		__u8 *nh = &ip6->nexthdr, *eh = buf + off + sizeof(*ip6);

		ip6->version = 6;
		ip6->hop_limit = p->proto == IPPROTO_ICMPV6 ? 255 : 64;
		memcpy(&ip6->saddr, src, 16);
		memcpy(&ip6->daddr, dst, 16);
		/* Each extension header is 8 bytes: next header, length 0, zeros. */
		for (int i = 0; i < p->n_ext; i++, eh += 8) {
			*nh = p->ext[i];
			nh = eh;
			if (p->ext[i] == IPPROTO_FRAGMENT)
				*(__be16 *)(eh + 2) = htons(p->frag_off);
		}
		*nh = p->proto;
		size_t l4len = l4_build(p, eh);
		ip6->payload_len = htons(eh - (__u8 *)(ip6 + 1) + l4len);
		len = eh + l4len - buf;
	}
	assert_true(len <= cap);
	return p->cut ? p->cut : len;
}

/* ---- the table --------------------------------------------------------- */

enum hook {
	FROM_EP = ZS_HOOK_TC_FROM_EP, /* tc ingress: traffic from the workload */
	TO_EP = ZS_HOOK_TC_TO_EP,     /* tc egress: traffic to the workload */
};

#define RULE_EG (1 << 0) /* the event's egress_rule is non-zero (else zero) */
#define RULE_IN (1 << 1) /* the event's ingress_rule is non-zero (else zero) */

#define CHK_EG ZS_CHECKED_EGRESS
#define CHK_IN ZS_CHECKED_INGRESS
#define DEN_EG ZS_DENIED_EGRESS
#define DEN_IN ZS_DENIED_INGRESS

/* The one event a row must emit; type 0: it must emit none. */
struct ev_want {
	__u32 type; /* enum zs_event_type */
	__u8 verdict;
	const char *src; /* interface of the workload, or WORLD */
	const char *dst;
	__u8 checks; /* enum zs_check_flags, exactly */
	__u8 rules;  /* RULE_EG | RULE_IN */
	bool reply;  /* the packet runs against the flow the event names */
};

#define EV_NEW(v, s, d, c, r) { ZS_EV_FLOW_NEW, ZS_VERDICT_##v, s, d, c, r, false }
#define EV_REVOKED(s, d, c, r) { ZS_EV_FLOW_REVOKED, ZS_VERDICT_DENY, s, d, c, r, false }
/* A reply revokes too; the event names the flow from its initiator. */
#define EV_REVOKED_REPLY(s, d, c, r) { ZS_EV_FLOW_REVOKED, ZS_VERDICT_DENY, s, d, c, r, true }

struct row {
	const char *desc;
	const char *apply; /* a step that applies this policy instead of sending */
	enum hook hook;
	const char *dev;
	struct pkt pkt;
	int verdict; /* TC_ACT_OK or TC_ACT_SHOT */
	enum zs_reason reason;
	struct ev_want ev;
	const char *bug; /* a known datapath bug: the row states the intended result */
	const char *iif; /* where the packet entered the host (ctx ingress_ifindex) */
};

#define PASS TC_ACT_OK, ZS_REASON_FORWARDED
#define DROP(r) TC_ACT_SHOT, ZS_DROP_##r
#define BOTH_DENY (CHK_EG | CHK_IN | DEN_EG | DEN_IN)

static const struct row rows[] = {
	{ "apply: a -> b on TCP 8080, UDP 53, ping; b denies 9000 from a, takes 443 from world",
	  .apply = policy_v1 },

	/* An allowed TCP flow, both directions, both hooks. */
	{ "TCP SYN a:40000 -> b:8080 at a's ingress: allowed by both ends",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, SYN), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "same SYN at b's egress: the flow is known, no second event",
	  0, TO_EP, "zt-b", TCP(A_IP, 40000, B_IP, 8080, SYN), PASS },
	{ "same SYN on zt-c (programs, no endpoint): the program sees the ifindex",
	  0, FROM_EP, "zt-c", TCP(A_IP, 40000, B_IP, 8080, SYN), DROP(UNKNOWN_EP) },
	{ "same SYN at zt-c's egress: unknown endpoint",
	  0, TO_EP, "zt-c", TCP(A_IP, 40000, B_IP, 8080, SYN), DROP(UNKNOWN_EP) },
	{ "SYN-ACK b:8080 -> a:40000 at b's ingress: reply of the allowed flow",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40000, SYN | ACK), PASS },
	{ "SYN-ACK at a's egress: reply of the allowed flow",
	  0, TO_EP, "zt-a", TCP(B_IP, 8080, A_IP, 40000, SYN | ACK), PASS },
	{ "ACK a:40000 -> b:8080 at a's ingress: established",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK), PASS },

	/* Denied flows. */
	{ "TCP SYN a:40001 -> b:22 at a's ingress: no rule, default deny",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40001, B_IP, 22, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "retransmitted SYN a:40001 -> b:22: dropped quietly, no second event",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40001, B_IP, 22, SYN), DROP(DEFAULT_DENY) },
	{ "SYN-ACK b:22 -> a:40001 for the denied flow: judged as b's egress, denied",
	  0, FROM_EP, "zt-b", TCP(B_IP, 22, A_IP, 40001, SYN | ACK), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "\"reply\" b:9999 -> a:40002 with no flow behind it, at b's ingress",
	  0, FROM_EP, "zt-b", TCP(B_IP, 9999, A_IP, 40002, SYN | ACK), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "same \"reply\" at a's egress: the denied flow, dropped quietly",
	  0, TO_EP, "zt-a", TCP(B_IP, 9999, A_IP, 40002, SYN | ACK), DROP(DEFAULT_DENY) },
	{ "ACK b:8081 -> a:40005 first seen at a's egress: b's egress denies",
	  0, TO_EP, "zt-a", TCP(B_IP, 8081, A_IP, 40005, ACK), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0), .iif = "zt-b" },
	{ "TCP SYN a:40008 -> b:9000: a allows, b's deny rule wins",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40008, B_IP, 9000, SYN), DROP(POLICY_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG | RULE_IN) },

	/* Anti-spoofing. */
	{ "a's interface sends with b's address",
	  0, FROM_EP, "zt-a", TCP(B_IP, 40000, B_IP, 8080, SYN), DROP(SPOOFED_SRC) },
	{ "a's interface sends with b's address, as the allowed flow's reply",
	  0, FROM_EP, "zt-a", TCP(B_IP, 8080, A_IP, 40000, ACK), DROP(SPOOFED_SRC) },
	{ "a's interface sends with an address nobody owns",
	  0, FROM_EP, "zt-a", TCP("10.1.0.99", 40000, B_IP, 8080, SYN), DROP(SPOOFED_SRC) },
	{ "SYN from a's address a:40011 -> b:8080 entering on zt-c, first seen at b's egress",
	  0, TO_EP, "zt-b", TCP(A_IP, 40011, B_IP, 8080, SYN), DROP(SPOOFED_SRC), .iif = "zt-c" },

	/* Traffic from outside (world) to b. */
	{ "world -> b:8080 at b's egress: b takes 8080 from a only",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50000, B_IP, 8080, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, WORLD, "zt-b", CHK_IN | DEN_IN, 0) },
	{ "world -> b:443 at b's egress: allowed from world",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50001, B_IP, 443, SYN), PASS,
	  EV_NEW(ALLOW, WORLD, "zt-b", CHK_IN, RULE_IN) },
	{ "reply b:443 -> world at b's ingress",
	  0, FROM_EP, "zt-b", TCP(B_IP, 443, WORLD_IP, 50001, SYN | ACK), PASS },

	/*
	 * Malformed packets: dropped, never "port 0, pass". This kernel's
	 * BPF_PROG_TEST_RUN refuses (EINVAL) an ETH_P_IP frame shorter than
	 * Ethernet + 20 bytes and an ETH_P_IPV6 one shorter than Ethernet + 40,
	 * so frames cut before that sit behind a VLAN ethertype, which it does
	 * not look into.
	 */
	{ "Ethernet header only (802.1Q ethertype, no tag)",
	  0, FROM_EP, "zt-a", L2(ETH_P_8021Q, .cut = ETH_HLEN), DROP(TRUNCATED) },
	{ "VLAN tag cut in half",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .nvlan = 1, .cut = ETH_HLEN + 2),
	  DROP(TRUNCATED) },
	{ "VLAN-tagged IPv4 with no IPv4 header",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .nvlan = 1, .cut = ETH_HLEN + 4),
	  DROP(TRUNCATED) },
	{ "VLAN-tagged IPv4 header cut at 10 bytes",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .nvlan = 1, .cut = ETH_HLEN + 4 + 10),
	  DROP(TRUNCATED) },
	{ "TCP header cut at 10 bytes",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .cut = ETH_HLEN + 20 + 10),
	  DROP(TRUNCATED) },
	{ "UDP header cut at 4 bytes",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5353, B_IP, 53, .cut = ETH_HLEN + 20 + 4), DROP(TRUNCATED) },
	{ "ICMP header cut at 4 bytes",
	  0, FROM_EP, "zt-a", ICMP(A_IP, B_IP, ICMP_ECHO, 0x4242, .cut = ETH_HLEN + 20 + 4),
	  DROP(TRUNCATED) },
	{ "IPv4 IHL 4",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .ihl = 4), DROP(BAD_HEADER) },
	{ "IPv4 IHL 15, the frame ends inside the options",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .ihl = 15, .cut = ETH_HLEN + 40),
	  DROP(TRUNCATED) },
	{ "TCP data offset 4",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .doff = 4), DROP(BAD_HEADER) },
	{ "later IPv4 fragment (offset 1480) with the allowed flow's tuple",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .frag_off = 185), DROP(FRAGMENT) },
	{ "IPv4 options (IHL 6): ports read after them, SYN a:40007 -> b:8080 allowed",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40007, B_IP, 8080, SYN, .ihl = 6), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "first IPv4 fragment (MF, offset 0) of SYN a:40009 -> b:22: judged by its ports",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40009, B_IP, 22, SYN, .frag_off = 0x2000), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },

	/* UDP. */
	{ "UDP a:5353 -> b:53 allowed",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5353, B_IP, 53), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "UDP reply b:53 -> a:5353 at b's ingress",
	  0, FROM_EP, "zt-b", UDP(B_IP, 53, A_IP, 5353), PASS },
	{ "UDP reply at a's egress",
	  0, TO_EP, "zt-a", UDP(B_IP, 53, A_IP, 5353), PASS },
	{ "UDP a:5354 -> b:54 denied",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5354, B_IP, 54), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },

	/* ICMP. */
	{ "ICMP echo a -> b (id 0x4242) allowed",
	  0, FROM_EP, "zt-a", ICMP(A_IP, B_IP, ICMP_ECHO, 0x4242), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "ICMP echo reply b -> a at b's ingress",
	  0, FROM_EP, "zt-b", ICMP(B_IP, A_IP, ICMP_ECHOREPLY, 0x4242), PASS },
	{ "ICMP echo reply at a's egress",
	  0, TO_EP, "zt-a", ICMP(B_IP, A_IP, ICMP_ECHOREPLY, 0x4242), PASS },
	{ "ICMP echo b -> a (same id): a different flow, b may not send",
	  0, FROM_EP, "zt-b", ICMP(B_IP, A_IP, ICMP_ECHO, 0x4242), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "ICMP echo reply b -> a with an id nobody asked for",
	  0, FROM_EP, "zt-b", ICMP(B_IP, A_IP, ICMP_ECHOREPLY, 0x4343), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "ICMP port unreachable b -> a quoting a's allowed UDP a:5353 -> b:53 (related)",
	  0, FROM_EP, "zt-b", ICMP_ERR(B_IP, A_IP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 53, 5353),
	  PASS },

	/* Layer 2. */
	{ "ARP from a passes", 0, FROM_EP, "zt-a", L2(ETH_P_ARP), PASS },
	{ "ARP to b passes", 0, TO_EP, "zt-b", L2(ETH_P_ARP), PASS },
	{ "unknown ethertype 0x88b5", 0, FROM_EP, "zt-a", L2(0x88b5), DROP(UNSUPPORTED_L3) },
	{ "one VLAN tag around a denied SYN a:40003 -> b:22",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40003, B_IP, 22, SYN, .nvlan = 1), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "one VLAN tag around an allowed SYN a:40004 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40004, B_IP, 8080, SYN, .nvlan = 1), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "two VLAN tags around a denied SYN a:40006 -> b:22",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40006, B_IP, 22, SYN, .nvlan = 2), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "three VLAN tags: deeper than the parser walks",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40003, B_IP, 22, SYN, .nvlan = 3), DROP(UNSUPPORTED_L3) },

	/* IPv6: the same policy, by identity. */
	{ "IPv6 TCP SYN a:41000 -> b:8080 allowed",
	  0, FROM_EP, "zt-a", TCP(A6, 41000, B6, 8080, SYN), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 SYN-ACK b:8080 -> a:41000 at b's ingress",
	  0, FROM_EP, "zt-b", TCP(B6, 8080, A6, 41000, SYN | ACK), PASS },
	{ "IPv6 TCP SYN a:41001 -> b:22 denied",
	  0, FROM_EP, "zt-a", TCP(A6, 41001, B6, 22, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "IPv6 from a's interface with b's address",
	  0, FROM_EP, "zt-a", TCP(B6, 41000, B6, 8080, SYN), DROP(SPOOFED_SRC) },
	{ "IPv6 world -> b:443 allowed",
	  0, TO_EP, "zt-b", TCP(WORLD6, 50002, B6, 443, SYN), PASS,
	  EV_NEW(ALLOW, WORLD, "zt-b", CHK_IN, RULE_IN) },
	{ "IPv6 hop-by-hop + destination options, SYN a:41002 -> b:8080 allowed",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41002, B6, 8080, SYN, .n_ext = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS }),
	  PASS, EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 five extension headers, SYN a:41003 -> b:22 denied by its port",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41003, B6, 22, SYN, .n_ext = 5,
	      .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
		       IPPROTO_DSTOPTS }),
	  DROP(DEFAULT_DENY), EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "IPv6 seven extension headers: chain too long",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41004, B6, 8080, SYN, .n_ext = 7,
	      .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
		       IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS }),
	  DROP(IPV6_EXT) },
	{ "IPv6 routing header type 0",
	  0, FROM_EP, "zt-a", TCP(A6, 41005, B6, 8080, SYN, .n_ext = 1, .ext = { IPPROTO_ROUTING }),
	  DROP(IPV6_EXT) },
	{ "IPv6 later fragment (offset 1448)",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41000, B6, 8080, ACK, .n_ext = 1, .ext = { IPPROTO_FRAGMENT }, .frag_off = 1448),
	  DROP(FRAGMENT) },
	{ "IPv6 TCP header cut at 10 bytes",
	  0, FROM_EP, "zt-a", TCP(A6, 41000, B6, 8080, ACK, .cut = ETH_HLEN + 40 + 10),
	  DROP(TRUNCATED) },
	{ "ICMPv6 router advertisement from a", 0, FROM_EP, "zt-a",
	  ICMP6("fe80::a", "ff02::1", ICMP6_RA), DROP(ROUTER_ADV) },
	{ "ICMPv6 neighbour solicitation from a passes", 0, FROM_EP, "zt-a",
	  ICMP6("fe80::a", "ff02::1:ff00:b", ICMP6_NS), PASS },
	{ "ICMPv6 \"neighbour solicitation\" a -> world: not link plumbing",
	  0, FROM_EP, "zt-a", ICMP6(A6, WORLD6, ICMP6_NS), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", WORLD, CHK_EG | DEN_EG, 0) },
	{ "ICMPv6 \"neighbour solicitation\" from a with b's global address",
	  0, FROM_EP, "zt-a", ICMP6(B6, "ff02::1:ff00:b", ICMP6_NS), DROP(SPOOFED_SRC) },

	/* Revocation: the established flows are re-checked under the new revision. */
	{ "apply: b no longer takes 8080 from a", .apply = policy_v2 },
	{ "ACK a:40000 -> b:8080 on the established flow: revoked",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK), DROP(REVOKED),
	  EV_REVOKED("zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG) },
	{ "same ACK at b's egress: revoked, quietly",
	  0, TO_EP, "zt-b", TCP(A_IP, 40000, B_IP, 8080, ACK), DROP(REVOKED) },
	{ "next ACK a:40000 -> b:8080: still revoked",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK), DROP(REVOKED) },
	{ "ACK b:8080 -> a:40004 (the VLAN flow's reply) under the new policy: revoked",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40004, ACK, .nvlan = 1), DROP(REVOKED),
	  EV_REVOKED_REPLY("zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG) },
	{ "IPv6 ACK a:41000 -> b:8080: revoked",
	  0, FROM_EP, "zt-a", TCP(A6, 41000, B6, 8080, ACK), DROP(REVOKED),
	  EV_REVOKED("zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG) },
	{ "UDP a:5353 -> b:53, still allowed: re-checked, passes",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5353, B_IP, 53), PASS },
	{ "ICMP echo reply b -> a (id 0x4242), still allowed: passes",
	  0, FROM_EP, "zt-b", ICMP(B_IP, A_IP, ICMP_ECHOREPLY, 0x4242), PASS },
	{ "world -> b:443 flow, still allowed: passes",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50001, B_IP, 443, ACK), PASS },
	{ "new TCP SYN a:40010 -> b:8080: a's egress allows, b's ingress denies",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40010, B_IP, 8080, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG) },

	/* CIDR peers: the ipcache gives every address its CIDR identity too. */
	{ "apply: b takes TCP 80 from 192.0.2.0/24 and 2001:db8::/32 with excepts, denies 8080 from a's /32",
	  .apply = policy_cidr },
	{ "192.0.2.8 -> b:80: inside the cidr, allowed",
	  0, TO_EP, "zt-b", TCP("192.0.2.8", 50100, B_IP, 80, SYN), PASS,
	  EV_NEW(ALLOW, WORLD, "zt-b", CHK_IN, RULE_IN) },
	{ "192.0.2.7 -> b:80: the except, default deny",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50101, B_IP, 80, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, WORLD, "zt-b", CHK_IN | DEN_IN, 0) },
	{ "192.0.2.8 -> b:81: inside the cidr, port not allowed",
	  0, TO_EP, "zt-b", TCP("192.0.2.8", 50102, B_IP, 81, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, WORLD, "zt-b", CHK_IN | DEN_IN, 0) },
	{ "198.51.100.1 -> b:80: outside every cidr",
	  0, TO_EP, "zt-b", TCP("198.51.100.1", 50103, B_IP, 80, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, WORLD, "zt-b", CHK_IN | DEN_IN, 0) },
	{ "2001:db8::8 -> b:80: inside the IPv6 cidr, allowed",
	  0, TO_EP, "zt-b", TCP("2001:db8::8", 50104, B6, 80, SYN), PASS,
	  EV_NEW(ALLOW, WORLD, "zt-b", CHK_IN, RULE_IN) },
	{ "2001:db8::7 -> b:80: the IPv6 except",
	  0, TO_EP, "zt-b", TCP(WORLD6, 50105, B6, 80, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, WORLD, "zt-b", CHK_IN | DEN_IN, 0) },
	{ "a -> b:8080 from a's address: the CIDR deny beats the selector allow",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40020, B_IP, 8080, SYN), DROP(POLICY_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG | RULE_IN) },
	{ "a -> b:8080 over IPv6: a's IPv6 address is outside the denied /32, allowed",
	  0, FROM_EP, "zt-a", TCP(A6, 40021, B6, 8080, SYN), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
};

#define NROWS ZS_ARRAY_SIZE(rows)

/* ---- harness ----------------------------------------------------------- */

static struct zs_dp dp;
static struct zs_writer writer;
static struct zs_identities ids;
static struct zs_compiled comp;
static struct zs_objects objs;
static struct ring_buffer *rb;
static int ncpus;

#define MAX_EVENTS 8
static struct zs_flow_event events[MAX_EVENTS];
static size_t nevents;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size >= sizeof(struct zs_flow_event) && nevents < MAX_EVENTS)
		memcpy(&events[nevents], data, sizeof(struct zs_flow_event));
	nevents++;
	return 0;
}

static int policy_apply(const char *yaml)
{
	struct zs_objects next;
	struct zs_compiled c;
	struct zs_diags d = { 0 };
	char err[256] = "";
	int rc;

	zs_objects_init(&next);
	rc = zs_parse_buffer("test_tc.yaml", yaml, strlen(yaml), &next, &d);
	if (!rc)
		rc = zs_validate(&next, &d);
	if (!rc)
		rc = zs_compile(&next, &ids, &c, &d);
	if (!rc) {
		rc = zs_writer_apply(&writer, &c, err, sizeof(err));
		if (rc)
			zs_compiled_free(&c);
	}
	if (rc) {
		zs_diags_print(&d, stderr);
		fprintf(stderr, "apply: %s\n", err[0] ? err : strerror(-rc));
		zs_objects_free(&next);
	} else {
		zs_compiled_free(&comp);
		comp = c;
		zs_objects_free(&objs);
		objs = next;
	}
	zs_diags_free(&d);
	return rc;
}

/* The identity an event should name for `who` under the state in force. */
static __u32 identity_of(const char *who)
{
	if (!strcmp(who, WORLD))
		return ZS_ID_WORLD;
	for (size_t i = 0; i < comp.endpoints.n; i++)
		if (!strcmp(comp.endpoints.v[i].ifname, who))
			return comp.endpoints.v[i].identity;
	fail_msg("no workload behind %s", who);
	return 0;
}

static void reasons_read(__u64 out[ZS_REASON_MAX])
{
	struct zs_counter per_cpu[ncpus];

	for (__u32 k = 0; k < ZS_REASON_MAX; k++) {
		out[k] = 0;
		assert_int_equal(bpf_map_lookup_elem(dp.reasons_fd, &k, per_cpu), 0);
		for (int c = 0; c < ncpus; c++)
			out[k] += per_cpu[c].packets;
	}
}

static void event_check(const struct row *r, const struct zs_flow_event *ev, size_t len)
{
	const struct ev_want *w = &r->ev;
	int fwd = !w->reply;
	__u8 saddr[16], daddr[16];
	int family = addr_parse(fwd ? r->pkt.src : r->pkt.dst, saddr);

	addr_parse(fwd ? r->pkt.dst : r->pkt.src, daddr);
	assert_int_equal(ev->type, w->type);
	assert_int_equal(ev->verdict, w->verdict);
	assert_int_equal(ev->reason, r->reason);
	assert_int_equal(ev->hook, r->hook);
	assert_int_equal(ev->ifindex, if_nametoindex(r->dev));
	assert_int_equal(ev->family, family);
	assert_int_equal(ev->proto, r->pkt.proto);
	assert_memory_equal(ev->saddr, saddr, 16);
	assert_memory_equal(ev->daddr, daddr, 16);
	assert_int_equal(ntohs(ev->sport), fwd ? r->pkt.sport : r->pkt.dport);
	assert_int_equal(ntohs(ev->dport), fwd ? r->pkt.dport : r->pkt.sport);
	assert_int_equal(ev->src_identity, identity_of(w->src));
	assert_int_equal(ev->dst_identity, identity_of(w->dst));
	assert_int_equal(ev->checks, w->checks);
	assert_int_equal(!!ev->egress_rule, !!(w->rules & RULE_EG));
	assert_int_equal(!!ev->ingress_rule, !!(w->rules & RULE_IN));
	assert_int_equal(ev->revision, writer.revision);
	assert_int_equal(ev->bytes, len);
	if (r->pkt.proto == IPPROTO_TCP)
		assert_int_equal(ev->tcp_flags, r->pkt.flags);
}

static void run_row(void **state)
{
	const struct row *r = *state;
	__u64 before[ZS_REASON_MAX], after[ZS_REASON_MAX], moved = 0;
	unsigned got = ZS_REASON_MAX;
	__u8 buf[256];

	if (r->apply) {
		assert_int_equal(policy_apply(r->apply), 0);
		return;
	}

	size_t len = pkt_build(&r->pkt, buf, sizeof(buf));
	struct __sk_buff skb = { .ifindex = if_nametoindex(r->dev),
				 .ingress_ifindex = r->iif ? if_nametoindex(r->iif) : 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = len, .ctx_in = &skb,
		    .ctx_size_in = sizeof(skb));
	int prog = r->hook == FROM_EP ? dp.from_ep_fd : dp.to_ep_fd;

	assert_int_not_equal(skb.ifindex, 0);
	nevents = 0;
	reasons_read(before);
	assert_int_equal(bpf_prog_test_run_opts(prog, &opts), 0);
	reasons_read(after);
	ring_buffer__consume(rb);

	/* Every packet is counted exactly once: as forwarded or under its drop reason. */
	for (unsigned k = 0; k < ZS_REASON_MAX; k++) {
		moved += after[k] - before[k];
		if (after[k] != before[k])
			got = k;
	}
	bool verdict_ok = (int)opts.retval == r->verdict && moved == 1 && got == r->reason;
	bool ok = verdict_ok && nevents == (r->ev.type ? 1u : 0u);

	if (r->bug) {
		if (verdict_ok)
			fail_msg("%s: the datapath gets it right now; remove the row's .bug", r->desc);
		print_message("known bug: %s\n  got verdict %d, %s, %zu event(s); want verdict %d, %s\n",
			      r->bug, opts.retval, zs_reason_name(got), nevents, r->verdict,
			      zs_reason_name(r->reason));
		skip();
	}
	if (!ok)
		fail_msg("%s: got verdict %d, %s (%llu counted), %zu event(s); "
			 "want verdict %d, %s, %d event(s)",
			 r->desc, opts.retval, zs_reason_name(got), (unsigned long long)moved,
			 nevents, r->verdict, zs_reason_name(r->reason), r->ev.type ? 1 : 0);
	if (r->ev.type)
		event_check(r, &events[0], len);
}

/* ---- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return -1;
	}
	if (system("ip link set lo up && "
		   "ip link add zt-a type veth peer name zt-a-p && "
		   "ip link add zt-b type veth peer name zt-b-p && "
		   "ip link add zt-c type veth peer name zt-c-p && "
		   "for i in zt-a zt-a-p zt-b zt-b-p zt-c zt-c-p; do ip link set $i up || exit 1; done")) {
		fprintf(stderr, "creating the test interfaces failed\n");
		return -1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0 || zs_dp_open(&dp, NULL)) {
		fprintf(stderr, "loading the datapath failed\n");
		return -1;
	}
	zs_objects_init(&objs);
	if (zs_writer_init(&writer, &zs_dp_map_ops, &dp))
		return -1;
	rb = ring_buffer__new(dp.events_fd, on_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "ring_buffer__new: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ring_buffer__free(rb);
	zs_writer_free(&writer);
	zs_compiled_free(&comp);
	zs_objects_free(&objs);
	zs_identities_free(&ids);
	zs_dp_close(&dp);
	return 0; /* the interfaces go with the netns when the process exits */
}

int main(void)
{
	struct CMUnitTest tests[NROWS];

	for (size_t i = 0; i < NROWS; i++)
		tests[i] = (struct CMUnitTest){ .name = rows[i].desc,
						.test_func = run_row,
						.initial_state = (void *)&rows[i] };
	return cmocka_run_group_tests_name("tc packet table", tests, group_setup, group_teardown);
}
