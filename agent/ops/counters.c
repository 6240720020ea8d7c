/* SPDX-License-Identifier: BSD-2-Clause */
/* What the counter registry generates: the row descriptions, gathering values from each
 * module's stats, the /metrics text and the exit summary lines. */
#include <stdarg.h>
#include <stdio.h>

#include "ops/counters.h"
#include "export/uploader.h"
#include "span/span_context.h"
#include "object/obj_cache.h"
#include "proc/proc_cache.h"
#include "profile/profile_builder.h"
#include "proc/python_process.h"
#include "sample/collector.h"
#include "symbolize/symbolize.h"
#include "symbolize/python_frames.h"
#include "unwind/unwind_loader.h"
#include "unwind_abi.h"

/* Macro parameters end in _ so they do not replace the designators. */
#define DESC(id, name_, type_, unit_, help_, line_, fragment_)                                     \
	[COUNTER_##id] = { .name = name_,                                                          \
			   .help = help_,                                                          \
			   .fragment = fragment_,                                                  \
			   .type = COUNTER_TYPE_##type_,                                           \
			   .unit = COUNTER_UNIT_##unit_,                                           \
			   .line = COUNTER_LINE_##line_ },
#define AGENT_DESC(id, name_, type_, unit_, help_, line_, fragment_, value)                        \
	DESC(id, name_, type_, unit_, help_, line_, fragment_)

/* clang-format off */
const struct counter_desc counter_descs[COUNTER_MAX] = {
	STOKER_SAMPLER_COUNTERS(DESC)
	STOKER_AGENT_COUNTERS(AGENT_DESC)
};
/* clang-format on */

#undef AGENT_DESC
#undef DESC

static const char *const line_prefix[COUNTER_LINE_MAX] = {
	[COUNTER_LINE_SAMPLES] = "samples",  [COUNTER_LINE_SYMBOLS] = "symbols",
	[COUNTER_LINE_UNWIND] = "unwinding", [COUNTER_LINE_SPANS] = "spans",
	[COUNTER_LINE_UPLOADS] = "uploads",  [COUNTER_LINE_OBJECTS] = "objects",
	[COUNTER_LINE_PYTHON] = "python",    [COUNTER_LINE_LINES] = "lines",
};

/* clang-format off */
void counters__gather(struct counters *c, const struct counter_sources *s)
{
#define GATHER_BPF(id, ...) c->v[COUNTER_##id] = s->bpf[STOKER_STAT_##id];
#define GATHER(id, name, type, unit, help, line, fragment, value) c->v[COUNTER_##id] = (value);
	STOKER_SAMPLER_COUNTERS(GATHER_BPF)
	STOKER_AGENT_COUNTERS(GATHER)
#undef GATHER
#undef GATHER_BPF
}
/* clang-format on */

/* snprintf at *n, which grows by the length needed even past cap. */
__attribute__((format(printf, 4, 5))) static void appendf(char *buf, size_t cap, size_t *n,
							  const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(*n < cap ? buf + *n : NULL, *n < cap ? cap - *n : 0, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n += (size_t)w;
}

size_t counters__render(const struct counters *c, char *buf, size_t cap)
{
	static const char *const type_name[] = {
		[COUNTER_TYPE_COUNTER] = "counter", [COUNTER_TYPE_GAUGE] = "gauge"
	};
	size_t n = 0;

	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < COUNTER_MAX; i++) {
		const struct counter_desc *d = &counter_descs[i];

		appendf(buf, cap, &n, "# HELP stoker_%s %s\n# TYPE stoker_%s %s\nstoker_%s ",
			d->name, d->help, d->name, type_name[d->type], d->name);
		/* Prometheus wants base units: seconds, as a float */
		if (d->unit == COUNTER_UNIT_NS)
			appendf(buf, cap, &n, "%.6f\n", (double)c->v[i] / 1e9);
		else
			appendf(buf, cap, &n, "%llu\n", (unsigned long long)c->v[i]);
	}
	return n;
}

char *counters__summary(const struct counters *c, enum counter_line line, char *buf, size_t cap)
{
	size_t n = 0;

	if (cap)
		buf[0] = '\0';
	if (line <= COUNTER_LINE_NONE || line >= COUNTER_LINE_MAX)
		return buf;
	appendf(buf, cap, &n, "%s: ", line_prefix[line]);
	for (size_t i = 0; i < COUNTER_MAX; i++) {
		const struct counter_desc *d = &counter_descs[i];

		if (d->line != line)
			continue;
		/* fragments hold one conversion that fits their unit (tests/unit/test_counters.c)
		 */
		switch (d->unit) {
		case COUNTER_UNIT_COUNT:
			appendf(buf, cap, &n, d->fragment, (unsigned long long)c->v[i]);
			break;
		case COUNTER_UNIT_BYTES:
			appendf(buf, cap, &n, d->fragment, (double)c->v[i] / (1 << 20));
			break;
		case COUNTER_UNIT_NS:
			appendf(buf, cap, &n, d->fragment, (double)c->v[i] / 1e6);
			break;
		}
	}
	return buf;
}
