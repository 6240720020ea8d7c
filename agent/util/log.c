/* SPDX-License-Identifier: BSD-2-Clause */
/* The leveled logger: stderr, one line per message, with a level tag. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

/* The logger's threshold is the one process-wide setting outside main.c's context: every module
 * logs, and threading a context pointer into each call would buy nothing. */
static enum log_level current_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const tags[] = { "error", "warn", "info", "debug" };
	char buf[1024];
	size_t n;

	if (level > current_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	fprintf(stderr, "stoker: %s: %s\n", tags[level], buf);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

bool log_ratelimit__ok(struct log_ratelimit *rl, unsigned int interval_s, unsigned int burst)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec - rl->window_start >= (long)interval_s) {
		if (rl->suppressed)
			log_msg(LOG_WARN, "(%lu similar messages suppressed)", rl->suppressed);
		rl->window_start = ts.tv_sec;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < burst) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}
