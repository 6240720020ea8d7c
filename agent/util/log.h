/* SPDX-License-Identifier: BSD-2-Clause */
/* The one leveled logger every module writes through (libbpf's output is routed here too). */
#ifndef STOKER_LOG_H
#define STOKER_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

/* Returns true at most `burst` times per `interval_s` seconds for one call site's state:
 * anything that could repeat per sample or per process goes through it. */
struct log_ratelimit {
	long window_start;
	unsigned int count;
	unsigned long suppressed;
};
bool log_ratelimit__ok(struct log_ratelimit *rl, unsigned int interval_s, unsigned int burst);

#define pr_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Rate-limited warning: at most 5 per minute from one call site. */
#define pr_warn_ratelimited(...)                                                                   \
	do {                                                                                       \
		static struct log_ratelimit _rl;                                                   \
		if (log_ratelimit__ok(&_rl, 60, 5))                                                \
			log_msg(LOG_WARN, __VA_ARGS__);                                            \
	} while (0)

#endif
