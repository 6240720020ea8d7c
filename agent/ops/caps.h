/* SPDX-License-Identifier: BSD-2-Clause */
/* Capabilities: which ones the agent holds, naming what is missing, and dropping the ones it
 * only needs to load BPF once loading is done. */
#ifndef STOKER_CAPS_H
#define STOKER_CAPS_H

#include <linux/capability.h>
#include <stdbool.h>

/* Older headers lack the 5.8 capabilities; the numbers are ABI. */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* Whether cap (a CAP_* number) is in the effective set. */
bool caps_have(int cap);
/* Names the load-time capabilities that are missing (CAP_BPF, CAP_PERFMON; CAP_SYS_ADMIN
 * covers both on any kernel) into buf; "" when none is. */
void caps_missing_for_load(char *buf, unsigned long len);
/* Drops CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE from the effective, permitted,
 * inheritable and ambient sets. Returns 0 or -errno. */
int caps_drop_after_load(void);

#endif
