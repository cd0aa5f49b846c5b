// SPDX-License-Identifier: MIT
/*
 * Who may steer the firewall: a peer of the control socket holding
 * CAP_NET_ADMIN in the daemon's user namespace (the capability the daemon
 * itself relies on to attach programs), or the daemon's own user when that
 * is not root (a daemon given capabilities under a user of its own). Uid 0
 * alone is not enough (a root process stripped of its capabilities is
 * refused), and a process in a child user namespace, whose capabilities
 * count only there, is refused too.
 *
 * The peer is named by a pidfd (SO_PEERPIDFD, Linux 6.5), not by the pid
 * SO_PEERCRED reports: the pid is read from the pidfd's fdinfo before and
 * after its /proc entry is read, and while the pidfd's process has not been
 * reaped its pid cannot name another process, so what we read was the
 * peer's. On an older kernel the check falls back to SO_PEERCRED's pid
 * (a peer that exits and whose pid is reused within the check could be
 * misread; it is refused or judged by the new holder of the pid).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon_int.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* asm-generic/socket.h, Linux 6.5 */
#endif
#define ZS_CAP_NET_ADMIN 12 /* linux/capability.h */

/* The "Name:\t<number>" field of a /proc file as a number (hex: base 16); -1: none. */
static long long proc_field(const char *path, const char *name, int base)
{
	char line[256];
	size_t len = strlen(name);
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			v = strtoll(line + len + 1, NULL, base);
			break;
		}
	fclose(f);
	return v;
}

static long long pidfd_pid(int pidfd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	return proc_field(path, "Pid", 10);
}

/*
 * Is process `pid` in our user namespace? A daemon that dropped its
 * capabilities (privilege.c) may not look at the namespaces of a peer that
 * holds more than it does (/proc/PID/ns needs ptrace access: EACCES); then
 * the peer's uid as SO_PEERCRED translated it into our namespace decides:
 * only a process whose user namespace maps to our uid 0 shows as 0, and
 * making such a mapping took root's privilege here.
 */
static bool pid_in_our_userns(long long pid, uid_t uid)
{
	char path[64];
	struct stat ours, theirs;

	snprintf(path, sizeof(path), "/proc/%lld/ns/user", pid);
	if (stat("/proc/self/ns/user", &ours))
		return false;
	if (stat(path, &theirs))
		return errno == EACCES && uid == 0;
	return ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

/* Does process `pid` (uid as our namespace sees it) hold CAP_NET_ADMIN in our user namespace? */
static bool pid_net_admin(long long pid, uid_t uid)
{
	char path[64];
	long long caps;

	if (!pid_in_our_userns(pid, uid))
		return false;
	snprintf(path, sizeof(path), "/proc/%lld/status", pid);
	caps = proc_field(path, "CapEff", 16);
	return caps >= 0 && (caps >> ZS_CAP_NET_ADMIN & 1);
}

bool zs_peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int pidfd = -1;
	bool ok;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	if (cred.uid == geteuid() && cred.uid != 0)
		return true; /* a daemon run as its own user with capabilities, and that user */
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) || pidfd < 0) {
		/* Only a kernel without SO_PEERPIDFD falls back (see above); a peer gone is refused. */
		if (errno == ENOPROTOOPT)
			return pid_net_admin(cred.pid, cred.uid);
		return false;
	}
	long long pid = pidfd_pid(pidfd);
	ok = pid > 0 && pid_net_admin(pid, cred.uid) && pidfd_pid(pidfd) == pid;
	close(pidfd);
	return ok;
}
