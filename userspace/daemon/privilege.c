// SPDX-License-Identifier: MIT
/*
 * Privilege: once set up, the daemon keeps only the capabilities it needs to
 * go on enforcing, and can never gain others. Set-up (mounting bpffs,
 * loading the programs, creating and pinning the maps, restoring the state,
 * binding the control socket) runs with what it was started with; what
 * follows (parsing untrusted policy, writing maps through the fds it holds,
 * attaching the programs it holds to interfaces that appear, pinning again,
 * netlink, the sinks) needs far less. Measured on Linux 6.18 by dropping
 * each capability in turn under the end-to-end tier:
 *
 *   CAP_NET_ADMIN  attaching and detaching tc (clsact qdisc, filters) and
 *                  XDP over rtnetlink, on interfaces that appear later
 *   CAP_BPF        only where the kernel refuses bpf() on a held fd without
 *                  it (before 6.5, with kernel.unprivileged_bpf_disabled):
 *                  asked of the kernel here, not assumed
 *
 * Everything else leaves the effective, permitted and bounding sets; the
 * inheritable and ambient sets are emptied; no_new_privs is set, so nothing
 * the daemon ever executes gains privilege through setuid or file
 * capabilities. Capabilities belong to a thread, not a process: this runs
 * before the daemon starts any thread (the metrics listener's), and checks.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/daemon_int.h"

#define CAP_BIT(c) (1ull << (c))

/* What the daemon may keep after set-up, and the operation that needs each. */
static const struct priv_cap {
	int cap;
	const char *name;
	const char *why;
} priv_caps[] = {
	{ CAP_NET_ADMIN, "cap_net_admin", "tc and XDP attach" },
	{ CAP_BPF, "cap_bpf", "bpf() on held fds (this kernel asks for it)" },
};

static int caps_get(uint64_t *eff, uint64_t *prm)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2] = { 0 };

	if (syscall(SYS_capget, &h, c))
		return -errno;
	*eff = c[0].effective | (uint64_t)c[1].effective << 32;
	*prm = c[0].permitted | (uint64_t)c[1].permitted << 32;
	return 0;
}

/* Effective and permitted as given; inheritable empty. */
static int caps_set(uint64_t eff, uint64_t prm)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)prm },
		{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(prm >> 32) },
	};

	return syscall(SYS_capset, &h, c) ? -errno : 0;
}

/* The threads of this process, from /proc; 0 when it cannot tell. */
static unsigned thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %u", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Does this kernel refuse bpf() on a held fd to a task without CAP_BPF (and
 * CAP_SYS_ADMIN)? Asked with both out of the effective set for a moment.
 */
static bool bpf_wants_cap(struct daemon *d, uint64_t eff, uint64_t prm)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	bool wants;

	if (caps_set(eff & ~(CAP_BIT(CAP_BPF) | CAP_BIT(CAP_SYS_ADMIN)), prm))
		return true;
	memset(&info, 0, sizeof(info));
	wants = bpf_obj_get_info_by_fd(d->dp.fd[ZS_MAP_CONFIG], &info, &len) == -EPERM;
	caps_set(eff, prm);
	return wants;
}

/*
 * Out of the bounding set, so that no exec could get them back. That takes
 * CAP_SETPCAP; a daemon started without it keeps its bounding set, and
 * no_new_privs still stops an exec from gaining anything.
 */
static int bounding_drop(uint64_t keep)
{
	unsigned left = 0;
	int in;

	for (int cap = 0; (in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++) {
		if (!in || (keep & CAP_BIT(cap)))
			continue;
		if (!prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			continue;
		if (errno != EPERM)
			return -errno;
		left++;
	}
	if (left)
		pr_warn("privilege: %u capabilities stay in the bounding set (no CAP_SETPCAP to drop them)",
			left);
	return 0;
}

/*
 * A directory the daemon writes into after set-up (the state, the flow
 * log's rotation) must let it in without CAP_DAC_OVERRIDE: warned now
 * rather than found out at the first apply.
 */
static void check_writable(const char *what, const char *path, bool parent)
{
	char *copy = zs_xstrdup(path);
	const char *dir = parent ? dirname(copy) : copy;

	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS))
		pr_warn("privilege: %s %s is not writable without CAP_DAC_OVERRIDE (%s): writes to it will fail",
			what, dir, strerror(errno));
	free(copy);
}

static void log_kept(uint64_t keep)
{
	char line[256] = "";
	size_t off = 0;

	for (size_t i = 0; i < ZS_ARRAY_SIZE(priv_caps); i++)
		if (keep & CAP_BIT(priv_caps[i].cap))
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s (%s)",
						off ? ", " : "", priv_caps[i].name, priv_caps[i].why);
	pr_info("privilege: keeping %s; no_new_privs set", off ? line : "no capability");
}

int priv_drop(struct daemon *d)
{
	uint64_t eff, prm, want = 0, keep;
	unsigned threads = thread_count();
	int err;

	if (threads > 1) {
		pr_warn("privilege: %u threads already: capabilities would be dropped in one only", threads);
		return -EBUSY;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	err = caps_get(&eff, &prm);
	if (err)
		return err;
	if (d->opts->keep_caps) {
		pr_warn("privilege: keeping every capability (--keep-caps); no_new_privs set");
		return 0;
	}
	for (size_t i = 0; i < ZS_ARRAY_SIZE(priv_caps); i++)
		want |= CAP_BIT(priv_caps[i].cap);
	if ((prm & CAP_BIT(CAP_BPF)) && !bpf_wants_cap(d, eff, prm))
		want &= ~CAP_BIT(CAP_BPF);
	keep = want & prm;
	if (!(keep & CAP_BIT(CAP_NET_ADMIN)))
		pr_warn("privilege: started without cap_net_admin: attaching to interfaces will fail");
	err = bounding_drop(keep);
	if (!err && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		err = -errno;
	if (!err)
		err = caps_set(keep, keep);
	if (!err)
		err = caps_get(&eff, &prm);
	if (!err && (eff != keep || prm != keep))
		err = -EPERM;
	if (err) {
		pr_warn("privilege: dropping capabilities failed: %s", strerror(-err));
		return err;
	}
	log_kept(keep);
	check_writable("state directory", d->opts->state_dir, false);
	if (d->opts->flow_log && strcmp(d->opts->flow_log, "-"))
		check_writable("flow log directory", d->opts->flow_log, true);
	return 0;
}
