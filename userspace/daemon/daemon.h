/* SPDX-License-Identifier: MIT */
/*
 * zerosegd: owns workloads, identities, policies and the revision; persists
 * them under the state directory (durable before they are enforced; one
 * daemon per state directory, by a lock on STATE_DIR/lock); keeps the datapath
 * in step; watches links with netlink to enroll interfaces that appear later;
 * streams flow records; serves the Unix control socket (mode 0600, peer
 * credentials checked). Enforcement lives in pinned maps and attached
 * programs, so it stays when the daemon stops; a restart adopts them.
 */
#ifndef ZS_DAEMON_H
#define ZS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/proto.h" /* ZS_DEFAULT_SOCKET */

#define ZS_DEFAULT_STATE "/var/lib/zeroseg"
#define ZS_DEFAULT_BPFFS "/sys/fs/bpf/zeroseg"
/* Flow lifecycle: what active_timeout and idle_timeout of 0 stand for (daemon.c). */
#define ZS_DEFAULT_ACTIVE_TIMEOUT_S 60
#define ZS_DEFAULT_IDLE_TIMEOUT_S 30

struct zs_daemon_opts {
	const char *socket;
	const char *state_dir;
	const char *bpffs;
	const char *flow_log;         /* JSON lines file, or "-" for stdout */
	unsigned long long flow_log_max_bytes; /* rotate past this size; 0: never */
	unsigned flow_log_keep;       /* rotated files kept */
	unsigned active_timeout;      /* seconds between updates of a long flow; 0: 60 */
	unsigned idle_timeout;        /* seconds without a packet that end a flow; 0: 30 */
	unsigned ct_max; /* conntrack capacity; 0: the built-in default */
	const char *metrics;  /* "127.0.0.1:9464": Prometheus endpoint, or NULL */
	const char *ipfix;    /* "HOST:PORT": IPFIX collector, or NULL */
	unsigned ipfix_pen;   /* enterprise number of our IPFIX elements; 0: 32473 */
	const char *version;  /* for build info */
	const char *const *uplinks; /* interfaces to other hosts: XDP prefilter */
	size_t nuplinks;
	bool keep_caps; /* keep every capability after set-up (debugging) */
};

int zs_daemon_run(const struct zs_daemon_opts *opts);

#endif /* ZS_DAEMON_H */
