/* SPDX-License-Identifier: BSD-2-Clause */
/* systemd's notify protocol (READY, STOPPING, WATCHDOG, STATUS) over $NOTIFY_SOCKET, without
 * linking libsystemd; a no-op outside systemd. */
#ifndef STOKER_SD_NOTIFY_H
#define STOKER_SD_NOTIFY_H

#include <stdint.h>

/* Sends one notification ("READY=1", "WATCHDOG=1", ...). Returns 1 if sent, 0 when not under
 * systemd, or -errno. */
int sd_notify_send(const char *msg);
/* Watchdog interval asked for by systemd (WATCHDOG_USEC for this pid), 0 if none. */
uint64_t sd_watchdog_usec(void);

#endif
