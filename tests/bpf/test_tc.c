// SPDX-License-Identifier: MIT
/*
 * The tc programs against a packet table, through BPF_PROG_TEST_RUN (as
 * Katran tests its balancer). The maps are filled the way the daemon fills
 * them: YAML -> zs_parse_buffer -> zs_compile -> zs_writer_apply on the real
 * maps (fx_estate_apply, tests/lib/fixture.h); each row's packet is a struct
 * pkt of the shared builder (tests/lib/pkt.h). Each row asserts the
 * verdict, the one drop reason counter that moved, and the flow event the
 * packet produced (or that it produced none).
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
#include <linux/pkt_cls.h>

#include "datapath/datapath.h"
#include "telemetry/flows.h"
#include "policy/parse.h"
#include "tests/lib/fixture.h"
#include "tests/lib/pkt.h"

#define A_IP "10.1.0.1"
#define B_IP "10.1.0.2"
#define WORLD_IP "192.0.2.7"
#define A6 "fd00::a"
#define B6 "fd00::b"
#define WORLD6 "2001:db8::7"
#define WORLD "world" /* an event peer that the ipcache does not know */
#define ROUTER_IP "198.51.100.1" /* a router on the path: the source of ICMP errors */
#define ROUTER6 "2001:db8::1"

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
	"      ports: [{protocol: UDP, port: 53}, {protocol: ICMP, type: 8},\n" \
	"              {protocol: ICMPv6, type: 128}]\n"

/*
 * b takes 8080, DNS and ping (ICMP and ICMPv6) from a, and 443 from anywhere;
 * it refuses 9000 from a, which a's egress allows; b itself may send nothing.
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
	"      ports: [{protocol: UDP, port: 53}, {protocol: ICMP, type: 8},\n" \
	"              {protocol: ICMPv6, type: 128}]\n"                        \
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

/*
 * Revision 4: a may send b any protocol and b takes any protocol from a, so
 * a protocol without ports (GRE, an unknown IPv6 next header) is allowed.
 */
static const char policy_any[] = WORKLOADS B_IN_HEAD B_IN_8080 B_IN_REST
	"    - from: [{selector: {matchLabels: {app: a}}}]\n"
	"      ports: [{protocol: any}]\n"
	"---\n"
	"apiVersion: zeroseg.io/v1\n"
	"kind: Policy\n"
	"metadata: {name: a-any, namespace: t}\n"
	"spec:\n"
	"  selector: {matchLabels: {app: a}}\n"
	"  egress:\n"
	"    - to: [{selector: {matchLabels: {app: b}}}]\n"
	"      ports: [{protocol: any}]\n";

/* ---- packets ----------------------------------------------------------- */

/* What a row sends: a struct pkt of tests/lib/pkt.h, written with its row macros. */

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
	  0, TO_EP, "zt-b", TCP(A_IP, 40000, B_IP, 8080, SYN), PASS, .iif = "zt-a" },
	{ "same SYN on zt-c (programs, no endpoint): the program sees the ifindex",
	  0, FROM_EP, "zt-c", TCP(A_IP, 40000, B_IP, 8080, SYN), DROP(UNKNOWN_EP) },
	{ "same SYN at zt-c's egress: unknown endpoint",
	  0, TO_EP, "zt-c", TCP(A_IP, 40000, B_IP, 8080, SYN), DROP(UNKNOWN_EP) },
	{ "SYN-ACK b:8080 -> a:40000 at b's ingress: reply of the allowed flow",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40000, SYN | ACK), PASS },
	{ "SYN-ACK at a's egress: reply of the allowed flow",
	  0, TO_EP, "zt-a", TCP(B_IP, 8080, A_IP, 40000, SYN | ACK), PASS, .iif = "zt-b" },
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
	  0, TO_EP, "zt-a", TCP(B_IP, 9999, A_IP, 40002, SYN | ACK), DROP(DEFAULT_DENY), .iif = "zt-b" },
	{ "ACK b:8081 -> a:40005 first seen at a's egress: b's egress denies",
	  0, TO_EP, "zt-a", TCP(B_IP, 8081, A_IP, 40005, ACK), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0), .iif = "zt-b" },
	{ "TCP SYN a:40008 -> b:9000: a allows, b's deny rule wins",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40008, B_IP, 9000, SYN), DROP(POLICY_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG | RULE_IN) },

	/*
	 * TCP state: an ACK, SYN-ACK or RST with no flow behind it opens no
	 * established flow; it is judged as a new flow in its own direction, and
	 * the real SYN from the other side is then judged as that side's flow.
	 */
	{ "RST b:8080 -> a:40030 with no flow behind it, at b's ingress: b's own flow, denied",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40030, RST), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "then a's SYN a:40030 -> b:8080 on the reversed tuple: a's flow, allowed",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40030, B_IP, 8080, SYN), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "and b's SYN-ACK b:8080 -> a:40030 is that flow's reply",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40030, SYN | ACK), PASS },
	{ "ACK b:8080 -> a:40031 with no flow behind it, at b's ingress: b's own flow, denied",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40031, ACK), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "the same ACK again: b's denied flow, dropped quietly",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40031, ACK), DROP(DEFAULT_DENY) },
	{ "then a's SYN a:40031 -> b:8080: a's flow, allowed",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40031, B_IP, 8080, SYN), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "RST b:8080 -> a:40032 with no flow, first seen at a's egress: b's own flow, denied",
	  0, TO_EP, "zt-a", TCP(B_IP, 8080, A_IP, 40032, RST), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0), .iif = "zt-b" },
	{ "then a's SYN a:40032 -> b:8080 first seen at b's egress: a's flow, allowed",
	  0, TO_EP, "zt-b", TCP(A_IP, 40032, B_IP, 8080, SYN), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN), .iif = "zt-a" },
	{ "IPv6 RST b:8080 -> a:41030 with no flow behind it: b's own flow, denied",
	  0, FROM_EP, "zt-b", TCP(B6, 8080, A6, 41030, RST), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "IPv6 then a's SYN a:41030 -> b:8080: a's flow, allowed",
	  0, FROM_EP, "zt-a", TCP(A6, 41030, B6, 8080, SYN), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 ACK b:8080 -> a:41031 with no flow behind it: b's own flow, denied",
	  0, FROM_EP, "zt-b", TCP(B6, 8080, A6, 41031, ACK), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },

	/* Anti-spoofing. */
	{ "a's interface sends with b's address",
	  0, FROM_EP, "zt-a", TCP(B_IP, 40000, B_IP, 8080, SYN), DROP(SPOOFED_SRC) },
	{ "a's interface sends with b's address, as the allowed flow's reply",
	  0, FROM_EP, "zt-a", TCP(B_IP, 8080, A_IP, 40000, ACK), DROP(SPOOFED_SRC) },
	{ "a's interface sends with an address nobody owns",
	  0, FROM_EP, "zt-a", TCP("10.1.0.99", 40000, B_IP, 8080, SYN), DROP(SPOOFED_SRC) },
	{ "ACK of the established a:40000 -> b:8080 entering on zt-c, at b's egress: injected",
	  0, TO_EP, "zt-b", TCP(A_IP, 40000, B_IP, 8080, ACK), DROP(SPOOFED_SRC), .iif = "zt-c" },
	{ "the same ACK entering on zt-a, a's own interface: passes",
	  0, TO_EP, "zt-b", TCP(A_IP, 40000, B_IP, 8080, ACK), PASS, .iif = "zt-a" },
	{ "SYN from a's address a:40011 -> b:8080 entering on zt-c, first seen at b's egress",
	  0, TO_EP, "zt-b", TCP(A_IP, 40011, B_IP, 8080, SYN), DROP(SPOOFED_SRC), .iif = "zt-c" },
	{ "IPv6 a's interface sends with an address nobody owns",
	  0, FROM_EP, "zt-a", TCP("fd00::99", 41010, B6, 8080, SYN), DROP(SPOOFED_SRC) },
	{ "IPv6 SYN from a's address a:41011 -> b:8080 entering on zt-c, first seen at b's egress",
	  0, TO_EP, "zt-b", TCP(A6, 41011, B6, 8080, SYN), DROP(SPOOFED_SRC), .iif = "zt-c" },

	/* Traffic from outside (world) to b. */
	{ "world -> b:8080 at b's egress: b takes 8080 from a only",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50000, B_IP, 8080, SYN), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, WORLD, "zt-b", CHK_IN | DEN_IN, 0) },
	{ "world -> b:443 at b's egress: allowed from world",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50001, B_IP, 443, SYN), PASS,
	  EV_NEW(ALLOW, WORLD, "zt-b", CHK_IN, RULE_IN) },
	{ "reply b:443 -> world at b's ingress",
	  0, FROM_EP, "zt-b", TCP(B_IP, 443, WORLD_IP, 50001, SYN | ACK), PASS },
	{ "world -> 10.1.0.77:443, an address nobody owns, routed to b: judged as b's ingress",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50002, "10.1.0.77", 443, SYN), PASS,
	  EV_NEW(ALLOW, WORLD, "zt-b", CHK_IN, RULE_IN) },
	{ "b answers from that address: spoofed (its flow does not bind the address to b)",
	  0, FROM_EP, "zt-b", TCP("10.1.0.77", 443, WORLD_IP, 50002, SYN | ACK), DROP(SPOOFED_SRC) },
	{ "and again, once the flow is established from the other side: still spoofed",
	  0, FROM_EP, "zt-b", TCP("10.1.0.77", 443, WORLD_IP, 50002, ACK), DROP(SPOOFED_SRC) },

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
	/*
	 * IPv4 lengths and options: the total length must fit the frame and hold
	 * the header; source routes are refused, other options walked past.
	 */
	{ "IPv4 total length 100, the frame holds 40: SYN a:40050 -> b:8080 truncated",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40050, B_IP, 8080, SYN, .ip_len = 100), DROP(TRUNCATED) },
	{ "IPv4 total length 16, shorter than its own header",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40051, B_IP, 8080, SYN, .ip_len = 16), DROP(BAD_HEADER) },
	{ "IPv4 total length 24: the rest of the TCP header lies outside the datagram",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40052, B_IP, 8080, SYN, .ip_len = 24), DROP(TRUNCATED) },
	{ "Ethernet padding after an ACK of the established a:40000 -> b:8080: passes",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK, .pad = 6), PASS },
	{ "TCP data offset 15, past the end of the packet",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40053, B_IP, 8080, SYN, .doff = 15), DROP(TRUNCATED) },
	{ "IPv4 loose source route (LSRR), SYN a:40054 -> b:8080",
	  0, FROM_EP, "zt-a",
	  TCP(A_IP, 40054, B_IP, 8080, SYN, .ihl = 7, .opts = { 131, 7, 4, 10, 1, 0, 2, 0 }),
	  DROP(SOURCE_ROUTE) },
	{ "IPv4 strict source route (SSRR), SYN a:40055 -> b:8080",
	  0, FROM_EP, "zt-a",
	  TCP(A_IP, 40055, B_IP, 8080, SYN, .ihl = 7, .opts = { 137, 7, 4, 10, 1, 0, 2, 0 }),
	  DROP(SOURCE_ROUTE) },
	{ "IPv4 LSRR after two no-ops: the walk goes past them",
	  0, FROM_EP, "zt-a",
	  TCP(A_IP, 40056, B_IP, 8080, SYN, .ihl = 8, .opts = { 1, 1, 131, 7, 4, 10, 1, 0, 2, 0 }),
	  DROP(SOURCE_ROUTE) },
	{ "IPv4 LSRR world -> b:443 at b's egress",
	  0, TO_EP, "zt-b",
	  TCP(WORLD_IP, 50020, B_IP, 443, SYN, .ihl = 7, .opts = { 131, 7, 4, 10, 1, 0, 2, 0 }),
	  DROP(SOURCE_ROUTE) },
	{ "IPv4 record-route option, SYN a:40057 -> b:8080 allowed",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40057, B_IP, 8080, SYN, .ihl = 7, .opts = { 7, 7, 4 }),
	  PASS, EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv4 no-op, no-op, no-op, end of options, SYN a:40058 -> b:8080 allowed",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40058, B_IP, 8080, SYN, .ihl = 6, .opts = { 1, 1, 1, 0 }),
	  PASS, EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv4 option length 12 in a 4-byte options area",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40059, B_IP, 8080, SYN, .ihl = 6, .opts = { 7, 12, 4 }),
	  DROP(BAD_HEADER) },
	{ "IPv4 option length 1, shorter than its own type and length",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40059, B_IP, 8080, SYN, .ihl = 6, .opts = { 7, 1 }),
	  DROP(BAD_HEADER) },

	/* TCP flag combinations no connection uses: scans, refused before conntrack. */
	{ "SYN+FIN a:40060 -> b:8080 (an allowed port)",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40060, B_IP, 8080, SYN | FIN), DROP(TCP_FLAGS) },
	{ "SYN+RST a:40061 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40061, B_IP, 8080, SYN | RST), DROP(TCP_FLAGS) },
	{ "no flags (NULL scan) a:40062 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40062, B_IP, 8080, 0), DROP(TCP_FLAGS) },
	{ "FIN+PSH+URG (Xmas scan) a:40063 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40063, B_IP, 8080, FIN | PSH | URG), DROP(TCP_FLAGS) },
	{ "no flags on the established a:40000 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, 0), DROP(TCP_FLAGS) },
	{ "SYN+FIN world:50021 -> b:443 at b's egress",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50021, B_IP, 443, SYN | FIN), DROP(TCP_FLAGS) },
	{ "FIN+PSH+ACK on the established a:40000 -> b:8080: a normal close, passes",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, FIN | PSH | ACK), PASS },

	/* UDP. */
	{ "UDP a:5353 -> b:53 allowed",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5353, B_IP, 53), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "UDP reply b:53 -> a:5353 at b's ingress",
	  0, FROM_EP, "zt-b", UDP(B_IP, 53, A_IP, 5353), PASS },
	{ "UDP reply at a's egress",
	  0, TO_EP, "zt-a", UDP(B_IP, 53, A_IP, 5353), PASS, .iif = "zt-b" },
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
	  0, TO_EP, "zt-a", ICMP(B_IP, A_IP, ICMP_ECHOREPLY, 0x4242), PASS, .iif = "zt-b" },
	{ "ICMP echo b -> a (same id): a different flow, b may not send",
	  0, FROM_EP, "zt-b", ICMP(B_IP, A_IP, ICMP_ECHO, 0x4242), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "ICMP echo reply b -> a with an id nobody asked for",
	  0, FROM_EP, "zt-b", ICMP(B_IP, A_IP, ICMP_ECHOREPLY, 0x4343), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "ICMP port unreachable b -> a quoting a's allowed UDP a:5353 -> b:53 (related)",
	  0, FROM_EP, "zt-b", PORT_UNREACH(B_IP, A_IP, QUOTE_UDP(A_IP, 5353, B_IP, 53)), PASS },

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
	{ "QinQ (802.1ad outer, 802.1Q inner) around an allowed SYN a:40012 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40012, B_IP, 8080, SYN, .nvlan = 2, .qinq = 1), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "QinQ around a denied SYN a:40013 -> b:22",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40013, B_IP, 22, SYN, .nvlan = 2, .qinq = 1),
	  DROP(DEFAULT_DENY), EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "QinQ with three tags: deeper than the parser walks",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40014, B_IP, 8080, SYN, .nvlan = 3, .qinq = 1),
	  DROP(UNSUPPORTED_L3) },
	{ "one 802.1ad tag around an IPv6 SYN a:41013 -> b:22: parsed, denied",
	  0, FROM_EP, "zt-a", TCP(A6, 41013, B6, 22, SYN, .nvlan = 1, .qinq = 1),
	  DROP(DEFAULT_DENY), EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },

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
	{ "ICMPv6 unicast NS (NUD) from the host's link-local to a's global address, hop limit 255",
	  0, TO_EP, "zt-a", ICMP6("fe80::1", A6, ICMP6_NS), PASS },
	{ "the same NS with hop limit 64: it was forwarded, not link plumbing",
	  0, TO_EP, "zt-a", ICMP6("fe80::1", A6, ICMP6_NS, .hop = 64), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, WORLD, "zt-a", CHK_IN | DEN_IN, 0) },
	{ "MLDv2 report from :: (during DAD), hop limit 1, to ff02::16",
	  0, FROM_EP, "zt-a", ICMP6("::", "ff02::16", 143, .hop = 1), PASS },
	{ "MLDv2 report from a's global address: not link plumbing, judged (no rule)",
	  0, FROM_EP, "zt-a", ICMP6(A6, "ff02::16", 143, .hop = 1), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", WORLD, CHK_EG | DEN_EG, 0) },
	{ "ICMPv6 \"neighbour solicitation\" from a with b's global address",
	  0, FROM_EP, "zt-a", ICMP6(B6, "ff02::1:ff00:b", ICMP6_NS), DROP(SPOOFED_SRC) },
	/* IPv6 ping, flag scans, lengths and extension chains (walked to ZS_MAX_IPV6_EXT = 6). */
	{ "ICMPv6 echo a -> b (id 0x4444) allowed",
	  0, FROM_EP, "zt-a", PING6(A6, B6, ICMP6_ECHO, 0x4444), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "ICMPv6 echo reply b -> a at b's ingress",
	  0, FROM_EP, "zt-b", PING6(B6, A6, ICMP6_ECHOREPLY, 0x4444), PASS },
	{ "ICMPv6 echo b -> a (same id): a different flow, b may not send",
	  0, FROM_EP, "zt-b", PING6(B6, A6, ICMP6_ECHO, 0x4444), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-b", "zt-a", BOTH_DENY, 0) },
	{ "IPv6 UDP a:5355 -> b:53 allowed",
	  0, FROM_EP, "zt-a", UDP(A6, 5355, B6, 53), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 SYN+FIN a:41040 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A6, 41040, B6, 8080, SYN | FIN), DROP(TCP_FLAGS) },
	{ "IPv6 no flags (NULL scan) a:41041 -> b:8080",
	  0, FROM_EP, "zt-a", TCP(A6, 41041, B6, 8080, 0), DROP(TCP_FLAGS) },
	{ "IPv6 FIN+PSH+URG (Xmas scan) world:50023 -> b:443 at b's egress",
	  0, TO_EP, "zt-b", TCP(WORLD6, 50023, B6, 443, FIN | PSH | URG), DROP(TCP_FLAGS) },
	{ "IPv6 TCP data offset 15, past the end of the packet",
	  0, FROM_EP, "zt-a", TCP(A6, 41042, B6, 8080, SYN, .doff = 15), DROP(TRUNCATED) },
	{ "IPv6 payload length 100, the frame holds 20 bytes after the header",
	  0, FROM_EP, "zt-a", TCP(A6, 41043, B6, 8080, SYN, .ip_len = 100), DROP(TRUNCATED) },
	{ "IPv6 hop-by-hop, routing (type 2), dest opts, atomic fragment: a:41044 -> b:8080 passes",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41044, B6, 8080, SYN, .n_ext = 4, .rt_type = 2,
	      .ext = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT }),
	  PASS, EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 six extension headers (the bound), SYN a:41045 -> b:8080 allowed",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41045, B6, 8080, SYN, .n_ext = 6, .rt_type = 2,
	      .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT,
		       IPPROTO_DSTOPTS, IPPROTO_DSTOPTS }),
	  PASS, EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 routing header type 0 after a hop-by-hop header",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41046, B6, 8080, SYN, .n_ext = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_ROUTING }),
	  DROP(IPV6_EXT) },
	{ "IPv6 hop-by-hop header cut at 4 bytes, the payload length saying 4",
	  0, FROM_EP, "zt-a",
	  TCP(A6, 41047, B6, 8080, SYN, .n_ext = 1, .ext = { IPPROTO_HOPOPTS }, .ip_len = 4,
	      .cut = ETH_HLEN + 40 + 4),
	  DROP(TRUNCATED) },

	/*
	 * Related ICMP errors: an error about a flow we let through (port
	 * unreachable, fragmentation needed, packet too big, time exceeded) goes
	 * to the end that sent the quoted packet, with no event. Judged as new
	 * flows these would all be dropped: b may send nothing, a takes nothing,
	 * and b takes no ICMP from world.
	 */
	{ "ICMP port unreachable b -> a about a's UDP a:5353 -> b:53, at a's egress",
	  0, TO_EP, "zt-a", PORT_UNREACH(B_IP, A_IP, QUOTE_UDP(A_IP, 5353, B_IP, 53)), PASS,
	  .iif = "zt-b" },
	{ "frag needed from a router to a about its TCP a:40000 -> b:8080, at a's egress",
	  0, TO_EP, "zt-a", FRAG_NEEDED(ROUTER_IP, A_IP, QUOTE_TCP(A_IP, 40000, B_IP, 8080)),
	  PASS },
	{ "port unreachable from a to world about world:50001 -> b:443 (b's flow, not a's): a is no router",
	  0, FROM_EP, "zt-a", PORT_UNREACH(A_IP, WORLD_IP, QUOTE_TCP(WORLD_IP, 50001, B_IP, 443)),
	  DROP(ICMP_UNRELATED) },
	{ "frag needed b -> a about the same TCP flow, at b's ingress",
	  0, FROM_EP, "zt-b", FRAG_NEEDED(B_IP, A_IP, QUOTE_TCP(A_IP, 40000, B_IP, 8080)), PASS },
	{ "frag needed from a router to b about its reply b:443 -> world:50001, at b's egress",
	  0, TO_EP, "zt-b", FRAG_NEEDED(ROUTER_IP, B_IP, QUOTE_TCP(B_IP, 443, WORLD_IP, 50001)),
	  PASS },
	{ "time exceeded from a router to a about its ping to b: the id 0x4242 is the flow's port",
	  0, TO_EP, "zt-a", TIME_EXCEEDED(ROUTER_IP, A_IP, QUOTE_PING(A_IP, B_IP, 0x4242)), PASS },
	{ "host unreachable b -> a about a's ping (id 0x4242), at b's ingress",
	  0, FROM_EP, "zt-b",
	  ICMP_ERR(B_IP, A_IP, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH,
		   QUOTE_PING(A_IP, B_IP, 0x4242)),
	  PASS },
	{ "port unreachable b -> a about UDP a:5999 -> b:53, a flow nobody opened",
	  0, FROM_EP, "zt-b", PORT_UNREACH(B_IP, A_IP, QUOTE_UDP(A_IP, 5999, B_IP, 53)),
	  DROP(ICMP_UNRELATED) },
	{ "port unreachable b -> a about UDP a:5999 -> b:53, at a's egress",
	  0, TO_EP, "zt-a", PORT_UNREACH(B_IP, A_IP, QUOTE_UDP(A_IP, 5999, B_IP, 53)),
	  DROP(ICMP_UNRELATED), .iif = "zt-b" },
	{ "time exceeded from a router to a about a ping a -> b with an id nobody used (0x5151)",
	  0, TO_EP, "zt-a", TIME_EXCEEDED(ROUTER_IP, A_IP, QUOTE_PING(A_IP, B_IP, 0x5151)),
	  DROP(ICMP_UNRELATED) },
	{ "port unreachable b -> a about a's denied UDP a:5354 -> b:54",
	  0, FROM_EP, "zt-b", PORT_UNREACH(B_IP, A_IP, QUOTE_UDP(A_IP, 5354, B_IP, 54)),
	  DROP(ICMP_UNRELATED) },
	{ "frag needed from a router to a about its denied TCP a:40001 -> b:22, at a's egress",
	  0, TO_EP, "zt-a", FRAG_NEEDED(ROUTER_IP, A_IP, QUOTE_TCP(A_IP, 40001, B_IP, 22)),
	  DROP(ICMP_UNRELATED) },
	{ "port unreachable b -> a about world:50001 -> b:443: tracked, but a did not send it",
	  0, FROM_EP, "zt-b", PORT_UNREACH(B_IP, A_IP, QUOTE_TCP(WORLD_IP, 50001, B_IP, 443)),
	  DROP(ICMP_UNRELATED) },
	{ "frag needed from a router to b about a:5353 -> b:53: b did not send it",
	  0, TO_EP, "zt-b", FRAG_NEEDED(ROUTER_IP, B_IP, QUOTE_UDP(A_IP, 5353, B_IP, 53)),
	  DROP(ICMP_UNRELATED) },
	{ "port unreachable b -> a quoting the IP header and 4 bytes of UDP",
	  0, FROM_EP, "zt-b",
	  PORT_UNREACH(B_IP, A_IP, QUOTE_UDP(A_IP, 5353, B_IP, 53), .qlen = 20 + 4),
	  DROP(TRUNCATED) },
	{ "port unreachable b -> a quoting 12 bytes of the IP header",
	  0, FROM_EP, "zt-b", PORT_UNREACH(B_IP, A_IP, QUOTE_UDP(A_IP, 5353, B_IP, 53), .qlen = 12),
	  DROP(TRUNCATED) },
	{ "port unreachable about a's UDP flow from b's interface with an address nobody owns",
	  0, FROM_EP, "zt-b", PORT_UNREACH("10.1.0.99", A_IP, QUOTE_UDP(A_IP, 5353, B_IP, 53)),
	  DROP(SPOOFED_SRC) },
	{ "ICMPv6 port unreachable b -> a about a's UDP a:5355 -> b:53, at b's ingress",
	  0, FROM_EP, "zt-b", PORT_UNREACH6(B6, A6, QUOTE_UDP(A6, 5355, B6, 53)), PASS },
	{ "ICMPv6 port unreachable b -> a about a's UDP a:5355 -> b:53, at a's egress",
	  0, TO_EP, "zt-a", PORT_UNREACH6(B6, A6, QUOTE_UDP(A6, 5355, B6, 53)), PASS,
	  .iif = "zt-b" },
	{ "ICMPv6 packet too big from a router to a about a's TCP a:41000 -> b:8080, at a's egress",
	  0, TO_EP, "zt-a", TOO_BIG6(ROUTER6, A6, QUOTE_TCP(A6, 41000, B6, 8080)), PASS },
	{ "ICMPv6 packet too big b -> a about the same TCP flow, at b's ingress",
	  0, FROM_EP, "zt-b", TOO_BIG6(B6, A6, QUOTE_TCP(A6, 41000, B6, 8080)), PASS },
	{ "ICMPv6 packet too big from a router to b about b's reply b:443 -> world:50002",
	  0, TO_EP, "zt-b", TOO_BIG6(ROUTER6, B6, QUOTE_TCP(B6, 443, WORLD6, 50002)), PASS },
	{ "ICMPv6 time exceeded from a router to a about a's ping a -> b (id 0x4444)",
	  0, TO_EP, "zt-a", TIME_EXCEEDED6(ROUTER6, A6, QUOTE_PING(A6, B6, 0x4444)), PASS },
	{ "ICMPv6 port unreachable b -> a about UDP a:5999 -> b:53, a flow nobody opened",
	  0, FROM_EP, "zt-b", PORT_UNREACH6(B6, A6, QUOTE_UDP(A6, 5999, B6, 53)),
	  DROP(ICMP_UNRELATED) },
	{ "ICMPv6 packet too big from a router to a about a's denied TCP a:41001 -> b:22",
	  0, TO_EP, "zt-a", TOO_BIG6(ROUTER6, A6, QUOTE_TCP(A6, 41001, B6, 22)),
	  DROP(ICMP_UNRELATED) },
	{ "ICMPv6 port unreachable b -> a about world:50002 -> b:443: a did not send it",
	  0, FROM_EP, "zt-b", PORT_UNREACH6(B6, A6, QUOTE_TCP(WORLD6, 50002, B6, 443)),
	  DROP(ICMP_UNRELATED) },
	{ "ICMPv6 port unreachable b -> a quoting the IPv6 header and 4 bytes of UDP",
	  0, FROM_EP, "zt-b", PORT_UNREACH6(B6, A6, QUOTE_UDP(A6, 5355, B6, 53), .qlen = 40 + 4),
	  DROP(TRUNCATED) },

	/*
	 * Fragments: the first fragment is judged by its ports and records them,
	 * per interface, under (source, destination, protocol, id); later
	 * fragments take them and follow the flow's conntrack verdict. A later
	 * fragment without a first, a second first, an overlap and a first
	 * fragment too short for its L4 header are dropped; after a second first
	 * or an overlap, so is the rest of the datagram. Ranges are in bytes.
	 */
	{ "first fragment [0,64) id 0x1001 of UDP a:5360 -> b:53: judged by its ports, allowed",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1001, 0, 64, 1)), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "id 0x1001 [64,128), a later fragment: follows its first, passes",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1001, 64, 64, 1)), PASS },
	{ "id 0x1001 [128,152), the last fragment: passes",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1001, 128, 24, 0)), PASS },
	{ "id 0x1001 [0,64) again at b's egress: the known flow, no event",
	  0, TO_EP, "zt-b", UDP(A_IP, 5360, B_IP, 53, F4(0x1001, 0, 64, 1)), PASS, .iif = "zt-a" },
	{ "id 0x1001 [64,128) at b's egress: follows the first seen there",
	  0, TO_EP, "zt-b", UDP(A_IP, 5360, B_IP, 53, F4(0x1001, 64, 64, 1)), PASS, .iif = "zt-a" },
	{ "id 0x1002 [152,216), same flow, right after id 0x1001's: no first fragment seen",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1002, 152, 64, 1)), DROP(FRAGMENT) },
	{ "id 0x1003 [0,64), a first fragment seen at a's ingress only",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1003, 0, 64, 1)), PASS },
	{ "id 0x1003 [64,128) at b's egress, which never saw its first: tracked per interface",
	  0, TO_EP, "zt-b", UDP(A_IP, 5360, B_IP, 53, F4(0x1003, 64, 64, 1)), DROP(FRAGMENT),
	  .iif = "zt-a" },
	{ "first fragment [0,64) id 0x1004 of UDP a:5361 -> b:54: denied",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5361, B_IP, 54, F4(0x1004, 0, 64, 1)), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "id 0x1004 [64,128): the flow's verdict, dropped quietly",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5361, B_IP, 54, F4(0x1004, 64, 64, 1)),
	  DROP(DEFAULT_DENY) },
	{ "id 0x1005 [0,64), a first fragment of the allowed UDP flow",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1005, 0, 64, 1)), PASS },
	{ "id 0x1005 [32,96) overlapping it",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1005, 32, 64, 1)), DROP(FRAGMENT) },
	{ "id 0x1005 [64,128), no overlap of its own: the datagram is spoiled, dropped",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1005, 64, 64, 1)), DROP(FRAGMENT) },
	{ "id 0x1006 [0,64), a first fragment of the allowed UDP flow",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1006, 0, 64, 1)), PASS },
	{ "id 0x1006 [64,128), a later fragment",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1006, 64, 64, 1)), PASS },
	{ "id 0x1006 [96,160) overlapping the later fragment",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1006, 96, 64, 1)), DROP(FRAGMENT) },
	{ "TCP first fragment [0,24) id 0x1007 of a:40070 -> b:8080: allowed",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40070, B_IP, 8080, SYN, F4(0x1007, 0, 24, 1)), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "id 0x1007 [8,32) rewriting the first's TCP flags (RFC 1858)",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40070, B_IP, 8080, SYN, F4(0x1007, 8, 24, 0)),
	  DROP(FRAGMENT) },
	{ "id 0x1008 [0,64), a first fragment of the allowed UDP flow",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1008, 0, 64, 1)), PASS },
	{ "id 0x1008 [0,64) again: a second first, whose header may not be the one judged",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1008, 0, 64, 1)), DROP(FRAGMENT) },
	{ "id 0x1008 [64,128) after the second first: dropped",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x1008, 64, 64, 1)), DROP(FRAGMENT) },
	{ "TCP first fragment [0,16) id 0x1009 of a:40071 -> b:8080: too short for the TCP header",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40071, B_IP, 8080, SYN, F4(0x1009, 0, 16, 1)),
	  DROP(FRAGMENT) },
	{ "id 0x1009 [16,40) with the rest of the header: no first on record",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40071, B_IP, 8080, SYN, F4(0x1009, 16, 24, 0)),
	  DROP(FRAGMENT) },
	{ "TCP first fragment [0,8) id 0x100a, a:40072 -> b:8080, rest of its header in padding",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40072, B_IP, 8080, SYN, F4(0x100a, 0, 8, 1), .pad = 12),
	  DROP(FRAGMENT) },
	{ "id 0x100b [0,64), a first fragment of the allowed UDP flow",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x100b, 0, 64, 1)), PASS },
	{ "id 0x100b [65528,65544): ends past the largest datagram (ping of death)",
	  0, FROM_EP, "zt-a", UDP(A_IP, 5360, B_IP, 53, F4(0x100b, 65528, 16, 0)), DROP(FRAGMENT) },
	{ "first fragment [0,64) id 0x100c of PSH+ACK world:50001 -> b:443 at b's egress",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50001, B_IP, 443, PSH | ACK, F4(0x100c, 0, 64, 1)),
	  PASS },
	{ "id 0x100c [64,128) at b's egress",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50001, B_IP, 443, PSH | ACK, F4(0x100c, 64, 64, 0)),
	  PASS },
	{ "first fragment [0,64) id 0x100d of world:50022 -> b:8080 at b's egress: denied",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50022, B_IP, 8080, SYN, F4(0x100d, 0, 64, 1)),
	  DROP(DEFAULT_DENY), EV_NEW(DENY, WORLD, "zt-b", CHK_IN | DEN_IN, 0) },
	{ "id 0x100d [64,128): the flow's verdict, dropped quietly",
	  0, TO_EP, "zt-b", TCP(WORLD_IP, 50022, B_IP, 8080, SYN, F4(0x100d, 64, 64, 0)),
	  DROP(DEFAULT_DENY) },
	{ "IPv6 first fragment [0,64) id 0x20001 of UDP a:5370 -> b:53: allowed",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20001, 0, 64, 1)), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 id 0x20001 [64,128), a later fragment: follows its first",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20001, 64, 64, 1)), PASS },
	{ "IPv6 id 0x20001 [128,152), the last fragment",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20001, 128, 24, 0)), PASS },
	{ "IPv6 id 0x20001 [0,64) again at b's egress: the known flow, no event",
	  0, TO_EP, "zt-b", UDP(A6, 5370, B6, 53, F6(0x20001, 0, 64, 1)), PASS, .iif = "zt-a" },
	{ "IPv6 id 0x20001 [64,128) at b's egress",
	  0, TO_EP, "zt-b", UDP(A6, 5370, B6, 53, F6(0x20001, 64, 64, 1)), PASS, .iif = "zt-a" },
	{ "IPv6 id 0x20002 [152,216), same flow, right after id 0x20001's: no first fragment seen",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20002, 152, 64, 1)), DROP(FRAGMENT) },
	{ "IPv6 first fragment [0,64) id 0x20003 of UDP a:5371 -> b:54: denied",
	  0, FROM_EP, "zt-a", UDP(A6, 5371, B6, 54, F6(0x20003, 0, 64, 1)), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "IPv6 id 0x20003 [64,128): the flow's verdict, dropped quietly",
	  0, FROM_EP, "zt-a", UDP(A6, 5371, B6, 54, F6(0x20003, 64, 64, 1)), DROP(DEFAULT_DENY) },
	{ "IPv6 id 0x20004 [0,64), a first fragment of the allowed UDP flow",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20004, 0, 64, 1)), PASS },
	{ "IPv6 id 0x20004 [32,96) overlapping it",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20004, 32, 64, 1)), DROP(FRAGMENT) },
	{ "IPv6 id 0x20004 [64,128): the datagram is spoiled, dropped",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20004, 64, 64, 1)), DROP(FRAGMENT) },
	{ "IPv6 id 0x20005 [0,64), a first fragment of the allowed UDP flow",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20005, 0, 64, 1)), PASS },
	{ "IPv6 id 0x20005 [0,64) again: a second first",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20005, 0, 64, 1)), DROP(FRAGMENT) },
	{ "IPv6 id 0x20005 [64,128) after the second first: dropped",
	  0, FROM_EP, "zt-a", UDP(A6, 5370, B6, 53, F6(0x20005, 64, 64, 1)), DROP(FRAGMENT) },
	{ "IPv6 TCP first fragment [0,16) id 0x20006, a:41050 -> b:8080: too short for its header",
	  0, FROM_EP, "zt-a", TCP(A6, 41050, B6, 8080, SYN, F6(0x20006, 0, 16, 1)),
	  DROP(FRAGMENT) },
	{ "IPv6 first fragment [0,64) id 0x20007 of PSH+ACK world:50002 -> b:443 at b's egress",
	  0, TO_EP, "zt-b", TCP(WORLD6, 50002, B6, 443, PSH | ACK, F6(0x20007, 0, 64, 1)), PASS },
	{ "IPv6 id 0x20007 [64,128) at b's egress",
	  0, TO_EP, "zt-b", TCP(WORLD6, 50002, B6, 443, PSH | ACK, F6(0x20007, 64, 64, 0)), PASS },
	{ "IPv6 first fragment [0,64) id 0x20008 of UDP a:5372 -> b:53: frag, dest options, UDP",
	  0, FROM_EP, "zt-a",
	  UDP(A6, 5372, B6, 53, .n_ext = 2, .ext = { IPPROTO_FRAGMENT, IPPROTO_DSTOPTS },
	      .frag_off = 1, .ip_id = 0x20008, .frag_len = 64 - 8),
	  PASS, EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "IPv6 id 0x20008 [64,128), next header destination options as in its first: follows it",
	  0, FROM_EP, "zt-a",
	  PROTO(IPPROTO_DSTOPTS, A6, B6, F6(0x20008, 64, 64, 0)), PASS },

	/* Revocation: the established flows are re-checked under the new revision. */
	{ "apply: b no longer takes 8080 from a", .apply = policy_v2 },
	{ "ACK a:40000 -> b:8080 on the established flow: revoked",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK), DROP(REVOKED),
	  EV_REVOKED("zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG) },
	{ "same ACK at b's egress: revoked, quietly",
	  0, TO_EP, "zt-b", TCP(A_IP, 40000, B_IP, 8080, ACK), DROP(REVOKED), .iif = "zt-a" },
	{ "next ACK a:40000 -> b:8080: still revoked",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40000, B_IP, 8080, ACK), DROP(REVOKED) },
	{ "ACK b:8080 -> a:40004 (the VLAN flow's reply) under the new policy: revoked",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40004, ACK, .nvlan = 1), DROP(REVOKED),
	  EV_REVOKED_REPLY("zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG) },
	{ "b's next packet on the revoked flow: still revoked, never judged as b's own new flow",
	  0, FROM_EP, "zt-b", TCP(B_IP, 8080, A_IP, 40004, ACK, .nvlan = 1), DROP(REVOKED) },
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
	{ "port unreachable b -> a about a:40007 -> b:8080, revoked by v2 but not yet re-checked",
	  0, FROM_EP, "zt-b", PORT_UNREACH(B_IP, A_IP, QUOTE_TCP(A_IP, 40007, B_IP, 8080)),
	  DROP(ICMP_UNRELATED) },
	{ "ACK a:40007 -> b:8080: revoked",
	  0, FROM_EP, "zt-a", TCP(A_IP, 40007, B_IP, 8080, ACK), DROP(REVOKED),
	  EV_REVOKED("zt-a", "zt-b", CHK_EG | CHK_IN | DEN_IN, RULE_EG) },
	{ "the same error again: about a denied flow now",
	  0, FROM_EP, "zt-b", PORT_UNREACH(B_IP, A_IP, QUOTE_TCP(A_IP, 40007, B_IP, 8080)),
	  DROP(ICMP_UNRELATED) },

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

	/* Protocols without ports: judged by the protocol alone. */
	{ "GRE a -> b: no rule names the protocol, default deny",
	  0, FROM_EP, "zt-a", PROTO(IPPROTO_GRE, A_IP, B_IP), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "IPv6 unknown next header 253 a -> b: default deny",
	  0, FROM_EP, "zt-a", PROTO(253, A6, B6), DROP(DEFAULT_DENY),
	  EV_NEW(DENY, "zt-a", "zt-b", BOTH_DENY, 0) },
	{ "apply: a may send b any protocol, and b takes any protocol from a",
	  .apply = policy_any },
	{ "GRE a -> b: the denied flow re-judged under protocol any, allowed",
	  0, FROM_EP, "zt-a", PROTO(IPPROTO_GRE, A_IP, B_IP), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
	{ "GRE b -> a: the flow's reply",
	  0, FROM_EP, "zt-b", PROTO(IPPROTO_GRE, B_IP, A_IP), PASS },
	{ "IPv6 unknown next header 253 a -> b: allowed under protocol any",
	  0, FROM_EP, "zt-a", PROTO(253, A6, B6), PASS,
	  EV_NEW(ALLOW, "zt-a", "zt-b", CHK_EG | CHK_IN, RULE_EG | RULE_IN) },
};

#define NROWS ZS_ARRAY_SIZE(rows)

/* ---- harness ----------------------------------------------------------- */

static struct zs_dp dp;
static struct zs_writer writer;
static struct fx_estate estate; /* the policy in force */
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

/* An address as the ABI stores it (16 bytes); returns its family. */
static int addr_of(const char *s, __u8 out[16])
{
	int family = pkt_addr(s, out);

	assert_true(family == 4 || family == 6);
	return family;
}

/* The identity an event should name for `who` under the state in force. */
static __u32 identity_of(const char *who)
{
	if (!strcmp(who, WORLD))
		return ZS_ID_WORLD;
	for (size_t i = 0; i < estate.c.endpoints.n; i++)
		if (!strcmp(estate.c.endpoints.v[i].ifname, who))
			return estate.c.endpoints.v[i].identity;
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
	int family = addr_of(fwd ? r->pkt.src : r->pkt.dst, saddr);

	addr_of(fwd ? r->pkt.dst : r->pkt.src, daddr);
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
		assert_int_equal(fx_estate_apply(&estate, &writer, r->apply), 0);
		return;
	}

	size_t len = pkt_build(&r->pkt, buf, sizeof(buf));
	unsigned ifindex = if_nametoindex(r->dev), iif = r->iif ? if_nametoindex(r->iif) : 0;
	int prog = r->hook == FROM_EP ? dp.from_ep_fd : dp.to_ep_fd;
	struct pkt_run opts;

	assert_int_not_equal(len, 0);
	assert_int_not_equal(ifindex, 0);
	nevents = 0;
	reasons_read(before);
	assert_int_equal(pkt_run_tc(prog, buf, len, ifindex, iif, 0, &opts), 0);
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
	zs_objects_init(&estate.o);
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
	fx_estate_free(&estate);
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
