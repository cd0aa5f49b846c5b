// SPDX-License-Identifier: MIT
/*
 * daemon (and the binary when it is named zerosegd): parses the daemon's
 * options and runs it in the foreground (daemon/daemon.h). This is the one
 * place the CLI touches the daemon's code; every other command talks to a
 * running daemon over its socket.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "bpf/abi.h"
#include "cli/cli.h"
#include "daemon/daemon.h"
#include "telemetry/ipfix.h"
#include "util/util.h"

/* Flow log rotation: past 100 MiB, keeping 5 rotated files. */
#define CLI_FLOW_LOG_MAX_KB 102400
#define CLI_FLOW_LOG_KEEP 5
/* What --ct-max accepts. */
#define CLI_CT_MIN 1024ul
#define CLI_CT_MAX (1ul << 24)
/* --uplink may be given this many times. */
#define CLI_MAX_UPLINKS 16
/* The longest timeout (a day), and the most rotated files kept. */
#define CLI_MAX_TIMEOUT_S 86400ul
#define CLI_MAX_KEEP 86400ul

struct daemon_cli {
	struct zs_daemon_opts o;
	unsigned long flow_log_max_kb, flow_log_keep, active_timeout, idle_timeout;
	const char *uplinks[CLI_MAX_UPLINKS];
	bool verbose;
};

static int set_ct_max(void *opts, const char *arg)
{
	unsigned long v;

	if (cli_number(arg, CLI_CT_MIN, CLI_CT_MAX, &v)) {
		fprintf(stderr, "zeroseg: --ct-max %s: want %lu..%lu entries\n", arg, CLI_CT_MIN, CLI_CT_MAX);
		return 2;
	}
	((struct daemon_cli *)opts)->o.ct_max = (unsigned)v;
	return 0;
}

static int set_ipfix_pen(void *opts, const char *arg)
{
	unsigned long v;

	if (cli_number(arg, 1, 0xffffffffu, &v)) {
		fprintf(stderr, "zeroseg: --ipfix-enterprise %s: want a private enterprise number\n", arg);
		return 2;
	}
	((struct daemon_cli *)opts)->o.ipfix_pen = (unsigned)v;
	return 0;
}

static int add_uplink(void *opts, const char *arg)
{
	struct daemon_cli *d = opts;

	if (d->o.nuplinks == CLI_MAX_UPLINKS) {
		fprintf(stderr, "zeroseg: at most %zu uplinks\n", (size_t)CLI_MAX_UPLINKS);
		return 2;
	}
	d->uplinks[d->o.nuplinks++] = arg;
	d->o.uplinks = d->uplinks;
	return 0;
}

const struct cli_opt daemon_opts[] = {
	{ .name = "socket", .arg = "PATH", CLI_SET_STRING(struct daemon_cli, o.socket),
	  .def = ZS_DEFAULT_SOCKET, .help = "the control socket" },
	{ .name = "state-dir", .arg = "DIR", CLI_SET_STRING(struct daemon_cli, o.state_dir),
	  .def = ZS_DEFAULT_STATE, .help = "where the state is kept" },
	{ .name = "bpffs", .arg = "DIR", CLI_SET_STRING(struct daemon_cli, o.bpffs), .def = ZS_DEFAULT_BPFFS,
	  .help = "where maps and programs are pinned" },
	{ .name = "flow-log", .arg = "FILE|-", CLI_SET_STRING(struct daemon_cli, o.flow_log),
	  .help = "flow records as JSON lines (- = stdout)" },
	{ .name = "flow-log-max-kb", .arg = "N", .def_num = CLI_FLOW_LOG_MAX_KB,
	  CLI_SET_UINT(struct daemon_cli, flow_log_max_kb, 1, 1ul << 30),
	  .help = "rotates the flow log past this size" },
	{ .name = "flow-log-keep", .arg = "N", .def_num = CLI_FLOW_LOG_KEEP,
	  CLI_SET_UINT(struct daemon_cli, flow_log_keep, 0, CLI_MAX_KEEP), .help = "rotated files kept" },
	{ .name = "ct-max", .arg = "N", .parse = set_ct_max, .def_num = ZS_MAX_CT,
	  .help = "conntrack capacity; a pinned table keeps its size" },
	{ .name = "uplink", .arg = "IF", .flags = CLI_REPEAT, .parse = add_uplink,
	  .help = "an interface to other hosts; an XDP program there drops traffic local workloads' "
		  "ingress policy denies before the kernel builds an skb for it" },
	{ .name = "metrics", .arg = "ADDR:PORT", CLI_SET_STRING(struct daemon_cli, o.metrics),
	  .help = "Prometheus text format on GET /metrics (loopback only), e.g. 127.0.0.1:9464" },
	{ .name = "ipfix", .arg = "HOST:PORT", CLI_SET_STRING(struct daemon_cli, o.ipfix),
	  .help = "IPFIX (RFC 7011) over UDP" },
	{ .name = "ipfix-enterprise", .arg = "PEN", .parse = set_ipfix_pen, .def_num = ZS_IPFIX_PEN_EXAMPLE,
	  .help = "the private enterprise number of our own elements; the default is the "
		  "documentation PEN, see docs/IPFIX.md" },
	{ .name = "active-timeout", .arg = "S", .def_num = ZS_DEFAULT_ACTIVE_TIMEOUT_S,
	  CLI_SET_UINT(struct daemon_cli, active_timeout, 1, CLI_MAX_TIMEOUT_S),
	  .help = "seconds between updates of long flows" },
	{ .name = "idle-timeout", .arg = "S", .def_num = ZS_DEFAULT_IDLE_TIMEOUT_S,
	  CLI_SET_UINT(struct daemon_cli, idle_timeout, 1, CLI_MAX_TIMEOUT_S),
	  .help = "a flow with no packet for this long has ended" },
	{ .name = "keep-caps", CLI_SET_FLAG(struct daemon_cli, o.keep_caps),
	  .help = "keep every capability after set-up, for debugging (by default the daemon keeps "
		  "only those enforcing needs)" },
	{ .name = "verbose", .short_name = 'v', CLI_SET_FLAG(struct daemon_cli, verbose),
	  .help = "debug messages too" },
	{ 0 },
};

int cmd_daemon(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct daemon_cli d = {
		.o = { .socket = cli_socket, .state_dir = ZS_DEFAULT_STATE, .bpffs = ZS_DEFAULT_BPFFS,
		       .version = ZS_VERSION },
		.flow_log_max_kb = CLI_FLOW_LOG_MAX_KB,
		.flow_log_keep = CLI_FLOW_LOG_KEEP,
		.active_timeout = ZS_DEFAULT_ACTIVE_TIMEOUT_S,
		.idle_timeout = ZS_DEFAULT_IDLE_TIMEOUT_S,
	};
	int err = cli_parse(cmd, argc, argv, &d);

	if (err)
		return err;
	if (optind != argc)
		return cli_usage_err(cmd);
	if (d.verbose)
		zs_verbose = 1;
	d.o.flow_log_max_bytes = (unsigned long long)d.flow_log_max_kb << 10;
	d.o.flow_log_keep = (unsigned)d.flow_log_keep;
	d.o.active_timeout = (unsigned)d.active_timeout;
	d.o.idle_timeout = (unsigned)d.idle_timeout;
	err = zs_daemon_run(&d.o);
	if (err)
		fprintf(stderr, "zeroseg: daemon: %s\n", strerror(-err));
	return err ? 1 : 0;
}
