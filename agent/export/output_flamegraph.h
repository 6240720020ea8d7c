/* SPDX-License-Identifier: BSD-2-Clause */
/* Local outputs of folded stacks: the .folded text and a self-contained HTML flame graph. */
#ifndef STOKER_OUTPUT_FLAMEGRAPH_H
#define STOKER_OUTPUT_FLAMEGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One stack: frame names root first. Names may contain any bytes except NUL. */
struct folded_stack {
	const char *const *frames;
	size_t nframes;
	uint64_t count; /* samples */
	/* Optional, per frame (NULL: none): source file ("" unknown), line (0 unknown), and
	 * whether the frame was inlined into its caller. The HTML shows them on hover. */
	const char *const *files;
	const uint32_t *lines;
	const uint8_t *inlined;
};

struct flamegraph_opts {
	const char *title;    /* shown at the top of the page */
	const char *subtitle; /* e.g. "19 Hz, 10 s, 1234 samples" */
};

/* Writes "frame;frame;frame count\n" lines (';' and newlines inside names are replaced so the
 * line stays parseable by flamegraph.pl and speedscope). Returns 0 or -errno. */
int folded_write(FILE *out, const struct folded_stack *stacks, size_t n);
/* Writes a self-contained HTML flame graph (no network access needed to view it): hover shows
 * name, file:line, samples and share; inlined frames are drawn lighter and say so; click
 * zooms; a search box highlights matches. Returns 0 or -errno. */
int flamegraph_write_html(FILE *out, const struct folded_stack *stacks, size_t n,
			  const struct flamegraph_opts *opts);

#endif
