/* SPDX-License-Identifier: BSD-2-Clause */
/* Capabilities: which ones the agent holds, naming what is missing, and reducing them to the
 * steady-state set once BPF is loaded. */
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
/* Keeps only CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE (those held), and
 * with write_anywhere CAP_DAC_OVERRIDE (a one-off run writing --output where its user asked,
 * e.g. under sudo into a home directory), with jvm_attach CAP_KILL, CAP_SETUID and CAP_SETGID
 * (--java-perfmap signals a JVM and creates its trigger file as the JVM's user), in the
 * effective and permitted sets, clears the
 * inheritable and ambient sets, drops every other capability from the bounding set when CAP_SETPCAP
 * allows it, and sets no_new_privs. Must run while the process has one thread (capset changes only
 * the caller; later threads inherit): -EBUSY otherwise. Returns 0 or -errno. */
int caps_reduce_to_steady(bool write_anywhere, bool jvm_attach);

#endif
