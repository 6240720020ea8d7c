/* SPDX-License-Identifier: BSD-2-Clause */
/* `stoker unwind-table FILE... [--rows]`: the unwind table stoker would load for a file, for
 * checking it against `readelf -wF` and for seeing why a binary's stacks are short. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "object/elf_open.h"
#include "object/unwind_table.h"
#include "unwind/unwind_table_cmd.h"

static const char *reg_name(uint8_t reg)
{
	return reg == STOKER_REG_FP ? "rbp" : "rsp";
}

static void print_rule(FILE *out, const struct stoker_unwind_rule *r)
{
	switch (r->cfa_type) {
	case STOKER_CFA_REG:
		fprintf(out, "%s%+d", reg_name(r->cfa_reg), r->cfa_off);
		break;
	case STOKER_CFA_DEREF:
		fprintf(out, "*(%s%+d)%+d", reg_name(r->cfa_reg), r->cfa_off, r->cfa_add);
		break;
	case STOKER_CFA_PLT:
		fprintf(out, "plt(rsp%+d,%d)", r->cfa_off, r->cfa_add);
		break;
	case STOKER_CFA_SIGNAL:
		fputs("signal", out);
		return;
	case STOKER_CFA_END:
		fputs("end", out);
		return;
	default:
		fputs("invalid", out);
		return;
	}
	if (r->fp_rule == STOKER_FP_AT_CFA)
		fprintf(out, " rbp=c%+d", r->fp_off);
	else if (r->fp_rule == STOKER_FP_UNDEFINED)
		fputs(" rbp=u", out);
}

static int dump_one(const char *path, bool rows, struct unwind_rules *rules)
{
	struct unwind_table_opts o = { .debug_frame = true };
	struct unwind_table t = { 0 };
	uint64_t t0, build_ns;
	Elf *elf = NULL;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "stoker: %s: %s\n", path, strerror(errno));
		return err;
	}
	elf = elf_open_fd(fd, NULL, &err);
	if (!elf) {
		fprintf(stderr, "stoker: %s: not an ELF file we read: %s\n", path, strerror(-err));
		goto out;
	}
	t0 = monotonic_ns();
	err = unwind_table__build(elf, rules, &o, &t);
	build_ns = monotonic_ns() - t0;
	if (err) {
		fprintf(stderr, "stoker: %s: no unwind table: %s\n", path, strerror(-err));
		goto out;
	}
	printf("%s: %zu rows from %s, %zu FDEs (%zu frame-pointer, %zu unreadable, %zu cut "
	       "short), %u distinct rules so far, %.1f ms, %.1f MiB of CFI interpreted\n",
	       path, t.nrows, t.source, t.fdes, t.fp_fdes, t.bad_fdes, t.capped_fdes, rules->n,
	       (double)build_ns / 1e6, (double)t.cfi_replayed / (1 << 20));
	for (size_t i = 0; rows && i < t.nrows; i++) {
		printf("%#010x ", t.rows[i].pc);
		print_rule(stdout, &rules->rules[t.rows[i].rule]);
		putchar('\n');
	}
out:
	unwind_table__free(&t);
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

int unwind_table_cmd(int argc, char **argv)
{
	struct unwind_rules *rules;
	bool rows = false;
	int files = 0, failed = 0;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--rows"))
			rows = true;
	rules = malloc(sizeof(*rules));
	if (!rules) {
		fprintf(stderr, "stoker: out of memory\n");
		return 1;
	}
	unwind_rules__init(rules);
	elf_version(EV_CURRENT);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rows"))
			continue;
		files++;
		if (dump_one(argv[i], rows, rules))
			failed++;
	}
	free(rules);
	if (!files) {
		fprintf(stderr, "usage: stoker unwind-table FILE... [--rows]\n");
		return 2;
	}
	return failed ? 1 : 0;
}
