// SPDX-License-Identifier: MIT
/*
 * The daemon (see daemon.h): setup, the event loop, teardown. One epoll loop
 * over the control socket and its clients, signals, the datapath's ring
 * buffer, netlink and the compile worker (jobs.c: the one other thread); about once a second the conntrack scan, loss records,
 * flushing the sinks and the metrics. Setup opens the store, the datapath
 * and the flow log, restores the stored state into the pinned maps (adopted:
 * no window without enforcement), then opens the loop's sources; teardown
 * closes them in reverse and leaves enforcement in place.
 */
#define _GNU_SOURCE
#include <bpf/libbpf.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "telemetry/ipfix.h"
#include "telemetry/jsonl.h"
#include "telemetry/metrics.h"

int daemon_poll_add(struct daemon *d, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)tag << 32 | (unsigned)fd };
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/*
 * libbpf's messages in the daemon's log, less one: re-enrolling an interface
 * finds our clsact qdisc still there (detach leaves it), which the kernel
 * reports and zs_dp_attach expects (EEXIST).
 */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level == LIBBPF_DEBUG && !zs_verbose)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strstr(line, "Exclusivity flag on"))
		return 0;
	return fputs(line, stderr);
}

/* A failure's lines: the first as a warning, the reasons after it as they are. */
static void warn_diags(const struct zs_diags *diags, const char *where, int err)
{
	if (!diags->msgs.n) {
		pr_warn("%s: %s", where, strerror(-err));
		return;
	}
	pr_warn("%s", diags->msgs.v[0]);
	for (size_t i = 1; i < diags->msgs.n; i++)
		fprintf(stderr, "%s\n", diags->msgs.v[i]);
}

/* The metrics snapshot: the datapath's counters and the control plane's state. */
static void metrics_publish(struct daemon *d)
{
	struct zs_metrics_snapshot *s = &d->snap;

	if (!d->metrics)
		return;
	dp_reason_totals(d, s->packets, s->bytes);
	s->events_lost = dp_events_lost(d);
	s->records_lost[ZS_METRICS_SINK_JSON] = zs_sink_lost(d->jsonl_sink);
	s->records_lost[ZS_METRICS_SINK_IPFIX] = zs_sink_lost(d->ipfix_sink);
	/* A record too long to encode reaches no sink; counted with the followers, as before. */
	s->records_lost[ZS_METRICS_SINK_FOLLOWERS] =
		zs_sink_lost(zs_recent_sink(d->recent)) + d->out.unencoded;
	s->revision = d->writer.revision;
	s->last_apply = (uint64_t)d->last_apply;
	s->workloads = d->objs.workloads.n;
	s->policies = d->objs.policies.n;
	s->identities = d->ids.v.n;
	s->map_entries[ZS_METRICS_MAP_ENDPOINTS] = d->writer.endpoints.n;
	s->map_entries[ZS_METRICS_MAP_IPCACHE] = d->writer.ipcache.n;
	s->map_entries[ZS_METRICS_MAP_POLICY] = d->writer.policy_entries;
	/* Two tables, each of --ct-max entries: IPv4 flows, IPv6 flows. */
	s->map_entries[ZS_METRICS_MAP_CONNTRACK] = d->ct_entries[0];
	s->map_capacity[ZS_METRICS_MAP_CONNTRACK] = d->dp.ct_max;
	s->map_entries[ZS_METRICS_MAP_CONNTRACK6] = d->ct_entries[1];
	s->map_capacity[ZS_METRICS_MAP_CONNTRACK6] = d->dp.ct_max;
	zs_metrics_publish(d->metrics, s);
}

/*
 * About once a second: hooks and pins verified (guard.c), the conntrack
 * scan, loss records, flushing the sinks, metrics.
 */
static void tick(struct daemon *d)
{
	uint64_t now = zs_now_ns(CLOCK_MONOTONIC);

	if (now < d->next_scan_ns)
		return;
	d->next_scan_ns = now + 1000000000ull;
	guard_tick(d);
	zs_writer_settle(&d->writer); /* retire the last apply's old generation */
	ct_scan(d);
	uint64_t real = zs_now_ns(CLOCK_REALTIME);
	zs_fanout_report_loss(&d->out, dp_events_lost(d), real); /* before the flush: same tick */
	zs_fanout_tick(&d->out, real);
	metrics_publish(d);
}

/* ---- setup and teardown ------------------------------------------------- */

/*
 * The sinks of flow records that are not network exports: the recent-flows
 * ring with its followers, the metrics' record counters, the --flow-log file.
 * `events_lost` starts at the datapath's count now (earlier losses are not ours).
 */
static int sinks_open(struct daemon *d)
{
	const struct zs_daemon_opts *opts = d->opts;
	struct zs_sink *count;
	int err;

	zs_fanout_init(&d->out, dp_events_lost(d));
	err = zs_recent_open(&d->recent, ZS_RECENT_FLOWS);
	if (!err)
		err = zs_fanout_add(&d->out, zs_recent_sink(d->recent));
	if (!err)
		err = zs_metrics_sink_open(&count, &d->snap);
	if (!err)
		err = zs_fanout_add(&d->out, count);
	if (err || !opts->flow_log)
		return err;
	err = zs_jsonl_sink_open(&d->jsonl_sink, opts->flow_log, opts->flow_log_max_bytes,
				 opts->flow_log_keep);
	if (!err)
		err = zs_fanout_add(&d->out, d->jsonl_sink);
	if (err)
		pr_warn("flow log %s: %s", opts->flow_log, strerror(-err));
	return err;
}

/*
 * One daemon per state directory: DIR/lock, locked for the daemon's life and
 * taken before anything else (the pins, the state, the socket), so a second
 * daemon is refused before it can touch what the first one serves.
 */
static int daemon_lock(struct daemon *d)
{
	const char *dir = d->opts->state_dir;
	int holder, err = zs_mkdir_p(dir, 0700);
	char *path;

	if (err) {
		pr_warn("state dir %s: %s", dir, strerror(-err));
		return err;
	}
	path = zs_xasprintf("%s/lock", dir);
	err = zs_lock_file(path, &d->lock_fd, &holder);
	if (err == -EWOULDBLOCK && holder > 0)
		pr_warn("another zeroseg daemon (pid %d) serves the state directory %s: not starting",
			holder, dir);
	else if (err == -EWOULDBLOCK)
		pr_warn("another zeroseg daemon serves the state directory %s (it holds %s): not starting",
			dir, path);
	else if (err)
		pr_warn("%s: %s", path, strerror(-err));
	free(path);
	return err == -EWOULDBLOCK ? -EBUSY : err;
}

/* The store, the datapath and its writer, the flow records' sinks, the flows' lifecycle. */
static int daemon_open(struct daemon *d)
{
	const struct zs_daemon_opts *opts = d->opts;
	struct zs_dp_opts dpo = { .ct_max = opts->ct_max };
	int err;

	err = zs_store_file_open(&d->store, opts->state_dir);
	if (err) {
		pr_warn("state dir %s: %s", opts->state_dir, strerror(-err));
		return err;
	}
	err = zs_dp_open_opts(&d->dp, opts->bpffs, &dpo);
	if (err)
		goto err_dp;
	err = zs_writer_init(&d->writer, &zs_dp_map_ops, &d->dp);
	if (err)
		goto err_writer;
	err = sinks_open(d);
	if (err)
		goto err_log;
	unsigned active = opts->active_timeout ? opts->active_timeout : ZS_DEFAULT_ACTIVE_TIMEOUT_S;
	unsigned idle = opts->idle_timeout ? opts->idle_timeout : ZS_DEFAULT_IDLE_TIMEOUT_S;
	zs_lifecycle_init(&d->lc, active * 1000000000ull, idle * 1000000000ull);
	d->mono_to_real = zs_now_ns(CLOCK_REALTIME) - zs_now_ns(CLOCK_MONOTONIC);
	return 0;

err_log:
	zs_fanout_close(&d->out);
err_writer:
	zs_writer_free(&d->writer);
	zs_dp_close(&d->dp);
err_dp:
	zs_store_close(d->store);
	d->store = NULL;
	return err;
}

static void daemon_close(struct daemon *d)
{
	zs_fanout_close(&d->out);
	zs_lifecycle_free(&d->lc);
	zs_writer_free(&d->writer);
	zs_dp_close(&d->dp);
	zs_store_close(d->store);
}

/* Adopt: the stored state written into the pinned maps again, no window. */
static int daemon_restore(struct daemon *d)
{
	struct zs_diags diags = { 0 };
	struct zs_objects next;
	int err = zs_store_load(d->store, &d->objs, &d->ids, &diags);

	if (err) {
		warn_diags(&diags, d->store->name, err);
		goto out;
	}
	zs_objects_copy(&d->objs, &next);
	err = commit_stored(d, &next, &diags);
	zs_objects_free(&next);
	if (err) {
		pr_warn("restoring the stored state failed:");
		zs_diags_print(&diags, stderr);
	}
out:
	zs_diags_free(&diags);
	return err;
}

/* The exports that are not files: IPFIX, the metrics endpoint. */
static int exports_open(struct daemon *d)
{
	const struct zs_daemon_opts *opts = d->opts;
	int err;

	if (opts->ipfix) {
		struct zs_ipfix *x;
		err = zs_ipfix_open(&x, opts->ipfix,
				    opts->ipfix_pen ? opts->ipfix_pen : ZS_IPFIX_PEN_EXAMPLE, 1);
		if (!err) {
			d->ipfix_sink = zs_ipfix_sink(x);
			err = zs_fanout_add(&d->out, d->ipfix_sink);
			if (err) {
				zs_ipfix_close(x);
				d->ipfix_sink = NULL;
			}
		}
		if (err) {
			pr_warn("ipfix %s: %s", opts->ipfix, strerror(-err));
			return err;
		}
		pr_info("exporting IPFIX to %s", opts->ipfix);
	}
	if (opts->metrics) {
		err = zs_metrics_start(&d->metrics, opts->metrics);
		if (err) {
			pr_warn("metrics %s: %s", opts->metrics, strerror(-err));
			return err;
		}
		metrics_publish(d);
		pr_info("metrics on http://%s/metrics", opts->metrics);
	}
	return 0;
}

/* The loop's sources (datapath events, signals, netlink, the control socket), then uplinks and exports. */
static int loop_open(struct daemon *d)
{
	const struct zs_daemon_opts *opts = d->opts;
	sigset_t mask;
	int err;

	d->rb = ring_buffer__new(d->dp.events_fd, ct_on_event, d, NULL);
	if (!d->rb)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN); /* a file size limit fails the write (EFBIG), like a full disk */
	d->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	err = nl_open(d);
	if (!err)
		err = jobs_open(d);
	if (!err)
		err = control_open(d);
	if (err) {
		pr_warn("control socket %s: %s", opts->socket, strerror(-err));
		return err;
	}
	link_attach_uplinks(d);
	zs_metrics_snapshot_init(&d->snap, opts->version ? opts->version : "");
	err = priv_drop(d); /* before any thread starts: capabilities are per thread */
	if (!err)
		err = exports_open(d);
	if (err)
		return err;
	daemon_poll_add(d, d->listen_fd, EPOLLIN, EV_LISTEN);
	daemon_poll_add(d, d->sig_fd, EPOLLIN, EV_SIGNAL);
	daemon_poll_add(d, ring_buffer__epoll_fd(d->rb), EPOLLIN, EV_RING);
	daemon_poll_add(d, mnl_socket_get_fd(d->nl), EPOLLIN, EV_NETLINK);
	pr_info("ready: revision %u, %zu workloads, socket %s", d->writer.revision,
		d->objs.workloads.n, opts->socket);
	return 0;
}

/* Closes what loop_open opened, as far as it got. */
static void loop_close(struct daemon *d)
{
	zs_metrics_stop(d->metrics);
	jobs_close(d);
	control_close(d);
	if (d->nl)
		mnl_socket_close(d->nl);
	if (d->nl_tc)
		mnl_socket_close(d->nl_tc);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	if (d->epfd >= 0)
		close(d->epfd);
	ring_buffer__free(d->rb);
}

/* ---- the loop ------------------------------------------------------------ */

static void drop_follower(struct daemon *d, int fd)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
	zs_recent_unfollow(d->recent, fd); /* closes it */
}

static void on_ready(struct daemon *d, const struct epoll_event *ev)
{
	uint64_t data = ev->data.u64;
	int fd = (int)(data & 0xffffffffu);

	switch (data >> 32) {
	case EV_LISTEN:
		control_accept(d);
		break;
	case EV_SIGNAL:
		d->stop = true;
		break;
	case EV_RING:
		d->event_burst = 0;
		ring_buffer__consume(d->rb);
		zs_fanout_flush(&d->out);
		break;
	case EV_NETLINK:
		nl_read(d);
		break;
	case EV_FOLLOWER:
		drop_follower(d, fd);
		break;
	case EV_CLIENT:
		control_ready(d, (unsigned)fd, ev->events);
		break;
	case EV_JOB:
		job_done(d);
		break;
	}
}

/* Until SIGTERM or SIGINT (or epoll fails); then the events still in the ring go out. */
static void loop_run(struct daemon *d)
{
	while (!d->stop) {
		struct epoll_event evs[16];
		/* Until the next tick is due (once a second, however busy the loop) or a client's deadline. */
		uint64_t now = zs_now_ns(CLOCK_MONOTONIC);
		int wait_ms = now >= d->next_scan_ns ? 0 : (int)((d->next_scan_ns - now) / 1000000 + 1);
		int n = epoll_wait(d->epfd, evs, 16, control_expire(d, wait_ms > 1000 ? 1000 : wait_ms));
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			on_ready(d, &evs[i]);
		tick(d);
	}
	d->event_burst = 0;
	ring_buffer__consume(d->rb);
	pr_info("stopping; enforcement stays in place (pinned under %s)", d->opts->bpffs);
}

int zs_daemon_run(const struct zs_daemon_opts *opts)
{
	struct daemon d = { .opts = opts, .lock_fd = -1, .listen_fd = -1, .sig_fd = -1, .epfd = -1, .job_fd = -1,
			    .ccache = zs_compile_cache_new() };
	int err;

	for (unsigned i = 0; i < ZS_MAX_CLIENTS; i++)
		d.conns[i].fd = -1;
	zs_objects_init(&d.objs);
	libbpf_set_print(libbpf_log);
	err = daemon_lock(&d);
	if (err)
		goto out;
	err = daemon_open(&d);
	if (err)
		goto out;
	err = daemon_restore(&d);
	if (!err)
		err = loop_open(&d);
	if (!err)
		loop_run(&d);
	loop_close(&d);
	daemon_close(&d);
out:
	free(d.attached.v);
	free(d.shielded.v);
	free(d.uplinks.v);
	free(d.guard.failing.v);
	zs_compiled_free(&d.comp);
	zs_identities_free(&d.ids);
	zs_compile_cache_free(d.ccache);
	zs_objects_free(&d.objs);
	if (d.lock_fd >= 0)
		close(d.lock_fd); /* the last thing: the next daemon may start */
	return err;
}
