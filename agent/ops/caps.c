/* SPDX-License-Identifier: BSD-2-Clause */
/* Capability handling with raw capget/capset (no libcap): checked before loading so a
 * missing one is named, and reduced after loading to what reading processes needs. */
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ops/caps.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* What the running agent reads: other users' /proc/PID/{maps,root,map_files} (ptrace read
 * access), their binaries whatever the file mode, and map_files links (5.9+; older kernels
 * would want CAP_SYS_ADMIN, which is not kept: deleted binaries then go unsymbolized). */
static const int steady[] = { CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE };

static int get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

bool caps_have(int cap)
{
	struct __user_cap_data_struct d[2];

	return get(d) == 0 && (d[cap / 32].effective & (1u << (cap % 32)));
}

void caps_missing_for_load(char *buf, unsigned long len)
{
	bool admin = caps_have(CAP_SYS_ADMIN);

	buf[0] = '\0';
	if (admin)
		return;
	snprintf(buf, len, "%s%s%s", caps_have(CAP_BPF) ? "" : "CAP_BPF",
		 !caps_have(CAP_BPF) && !caps_have(CAP_PERFMON) ? " and " : "",
		 caps_have(CAP_PERFMON) ? "" : "CAP_PERFMON");
}

static bool kept(int cap, bool write_anywhere, bool jvm_attach)
{
	if (cap == CAP_DAC_OVERRIDE && write_anywhere)
		return true;
	if ((cap == CAP_KILL || cap == CAP_SETUID || cap == CAP_SETGID) && jvm_attach)
		return true;
	for (size_t i = 0; i < sizeof(steady) / sizeof(steady[0]); i++)
		if (steady[i] == cap)
			return true;
	return false;
}

/* capset changes the calling thread only; threads started later inherit its sets. */
static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

int caps_reduce_to_steady(bool write_anywhere, bool jvm_attach)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int err, last = last_cap();

	err = count_threads();
	if (err < 0)
		return err;
	if (err != 1)
		return -EBUSY;
	err = get(d);
	if (err)
		return err;
	/* The bounding set caps what an exec (or a setuid binary) could ever regain; dropping
	 * from it needs CAP_SETPCAP, which systemd's CapabilityBoundingSet= has already done
	 * without. */
	if (d[CAP_SETPCAP / 32].effective & (1u << (CAP_SETPCAP % 32))) {
		for (int c = 0; c <= last; c++) {
			if (kept(c, write_anywhere, jvm_attach) ||
			    prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1)
				continue;
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0))
				return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	for (int c = 0; c < 64; c++) {
		unsigned int bit = 1u << (c % 32);

		d[c / 32].inheritable &= ~bit;
		if (!kept(c, write_anywhere, jvm_attach)) {
			d[c / 32].effective &= ~bit;
			d[c / 32].permitted &= ~bit;
		}
	}
	if (syscall(SYS_capset, &h, d))
		return -errno;
	/* nothing this process runs may gain privileges through setuid or file capabilities */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}
