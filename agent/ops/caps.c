/* SPDX-License-Identifier: BSD-2-Clause */
/* Capability handling with raw capget/capset (no libcap): checked before loading so a
 * missing one is named, and trimmed after loading so the running agent holds less. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ops/caps.h"


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

int caps_drop_after_load(void)
{
	/* CAP_SYS_ADMIN stays if held: /proc/PID/map_files (deleted and replaced binaries)
	 * needs it, or CAP_CHECKPOINT_RESTORE on 5.9+. */
	static const int drop[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE };
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int err = get(d);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		unsigned int bit = 1u << (drop[i] % 32);

		d[drop[i] / 32].effective &= ~bit;
		d[drop[i] / 32].permitted &= ~bit;
		d[drop[i] / 32].inheritable &= ~bit;
		/* ambient entries must go too, or they would survive in children */
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, drop[i], 0, 0);
	}
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}
