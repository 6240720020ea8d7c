/* SPDX-License-Identifier: BSD-2-Clause */
/* Collector: validates each ring-buffer record, keeps process state in step with exec/exit
 * events, symbolizes each distinct raw stack once per window and aggregates samples. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sample/collector.h"
#include "util/log.h"
#include "util/lru_cache.h"
#include "sampler_abi.h"
#include "unwind_abi.h"
#include "python_frames.h"

/* CPUs a pending Python stack is kept for; records of higher CPUs are malformed */
#define PY_PENDING_MAX_CPUS 8192

struct stack_key {
	uint64_t proc_serial;
	uint64_t h1, h2;
};

struct stack_val {
	uint32_t n;
	uint32_t locs[];
};

static void free_val(void *v, void *ctx)
{
	free(v);
}

static void intern_keys(struct collector *c)
{
	c->k_pid = profile_builder__string(c->pb, "pid");
	c->k_comm = profile_builder__string(c->pb, "comm");
	c->k_span_id = profile_builder__string(c->pb, "span_id");
	c->k_trace_id = profile_builder__string(c->pb, "trace_id");
}

int collector__init(struct collector *c, const struct collector_opts *opts, struct symbolizer *sz,
		    struct profile_builder *pb)
{
	struct lru_cache_opts lo = { 0 };

	memset(c, 0, sizeof(*c));
	if (opts)
		c->opts = *opts;
	if (!c->opts.max_stack_cache)
		c->opts.max_stack_cache = 65536;
	c->sz = sz;
	c->pb = pb;
	lo.key_size = sizeof(struct stack_key);
	lo.max_entries = c->opts.max_stack_cache;
	lo.free_value = free_val;
	c->stack_cache = lru_cache__new(&lo);
	if (!c->stack_cache)
		return -ENOMEM;
	intern_keys(c);
	return 0;
}

void collector__destroy(struct collector *c)
{
	lru_cache__free(c->stack_cache);
	c->stack_cache = NULL;
	for (size_t i = 0; i < c->npy_pending; i++)
		free(c->py_pending[i]);
	free(c->py_pending);
	c->py_pending = NULL;
	c->npy_pending = 0;
}

void collector__window_reset(struct collector *c)
{
	struct lru_cache_opts lo = { 0 };

	lru_cache__free(c->stack_cache);
	lo.key_size = sizeof(struct stack_key);
	lo.max_entries = c->opts.max_stack_cache;
	lo.free_value = free_val;
	c->stack_cache = lru_cache__new(&lo);
	intern_keys(c);
}

static void comm_copy(char *dst, const char *src)
{
	/* comm is NUL-padded from the kernel, but never trust a record to be terminated. */
	memcpy(dst, src, STOKER_COMM_LEN);
	dst[STOKER_COMM_LEN - 1] = '\0';
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Keeps a Python stack until the sample it goes with (same CPU, thread and time) arrives. */
static void on_py_stack(struct collector *c, const struct stoker_py_stack *r, size_t len)
{
	struct stoker_py_stack *slot;

	if (len < STOKER_PY_STACK_HDR_BYTES || r->nframes > STOKER_PY_MAX_FRAMES ||
	    len < STOKER_PY_STACK_HDR_BYTES + r->nframes * sizeof(r->frames[0]) ||
	    r->cpu >= PY_PENDING_MAX_CPUS) {
		c->st.bad_records++;
		return;
	}
	if (r->cpu >= c->npy_pending) {
		size_t n = r->cpu + 1;
		struct stoker_py_stack **a = realloc(c->py_pending, n * sizeof(*a));

		if (!a)
			return;
		memset(a + c->npy_pending, 0, (n - c->npy_pending) * sizeof(*a));
		c->py_pending = a;
		c->npy_pending = n;
	}
	slot = c->py_pending[r->cpu];
	if (!slot) {
		slot = malloc(sizeof(*slot));
		if (!slot)
			return;
		c->py_pending[r->cpu] = slot;
	}
	memcpy(slot, r, STOKER_PY_STACK_HDR_BYTES + r->nframes * sizeof(r->frames[0]));
}

/* The Python stack of sample s, taken from its CPU's slot, or NULL. */
static const struct stoker_py_stack *take_py_stack(struct collector *c,
						   const struct stoker_sample *s)
{
	struct stoker_py_stack *r = s->cpu < c->npy_pending ? c->py_pending[s->cpu] : NULL;

	if (!r || r->type != STOKER_REC_PY_STACK || r->tid != s->tid || r->time_ns != s->time_ns)
		return NULL;
	r->type = 0; /* used once */
	return r;
}

static void on_sample(struct collector *c, const struct stoker_sample *s, size_t len)
{
	uint32_t locs[2 * STOKER_MAX_STACK_DEPTH + STOKER_PY_MAX_FRAMES + 2];
	const struct stoker_py_stack *py;
	struct pb_label labels[PB_MAX_LABELS];
	struct stack_val *v;
	struct stack_key key;
	char comm[STOKER_COMM_LEN], pidbuf[16], span_hex[2 * 8 + 1], trace_hex[2 * 16 + 1];
	size_t nips = (size_t)s->kstack_len + s->ustack_len, nl = 0, sn;
	const uint32_t *slocs;
	uint64_t jit_unnamed;
	struct proc *p;

	if (s->kstack_len > STOKER_MAX_STACK_DEPTH || s->ustack_len > STOKER_MAX_STACK_DEPTH ||
	    len < STOKER_SAMPLE_HDR_BYTES + nips * sizeof(uint64_t)) {
		c->st.bad_records++;
		return;
	}
	c->st.sample_bytes += len;
	if (!c->st.samples++)
		pr_debug("first sample received (pid %u)", s->pid); /* start-up benchmark mark */
	if (s->flags & STOKER_SF_USER_TRUNCATED)
		c->st.truncated_user++;
	if (s->flags & STOKER_SF_KERNEL_TRUNCATED)
		c->st.truncated_kernel++;
	comm_copy(comm, s->comm);
	p = proc_cache__lookup(c->sz->procs, (int)s->pid, comm);
	if (!p) {
		c->st.samples_dropped_full++;
		return;
	}
	proc_cache__refresh_labels(c->sz->procs, p);
	/* after the lookup: the unwind loader scans the mappings the process cache just read */
	if (c->opts.unwind_hint && (s->flags & (STOKER_SF_UNWIND_PENDING | STOKER_SF_UNWIND_VMA |
						STOKER_SF_UNWIND_NO_MAPPING)))
		c->opts.unwind_hint(c->opts.skip_ctx, (int)s->pid, s->flags);
	if (p->dropped) {
		/* the rules said no: from now on BPF skips it, so this costs nothing more */
		c->st.samples_relabel_dropped++;
		if (c->opts.skip_pid)
			c->opts.skip_pid(c->opts.skip_ctx, (int)s->pid, true);
		return;
	}
	if (c->opts.spans)
		span_context__on_sample(c->opts.spans, c->sz->procs, p);
	py = take_py_stack(c, s);
	if (c->sz->pyprocs)
		python_procs__on_sample(c->sz->pyprocs, c->sz->procs, p);

	/* stacks named before a debug file arrived are symbolized again, now with lines */
	if (symbolizer__lines_arrived(c->sz))
		collector__window_reset(c);
	key.proc_serial = p->serial;
	key.h1 = hash_bytes(s->ips, nips * sizeof(uint64_t), 11) ^ s->kstack_len;
	key.h2 = hash_bytes(s->ips, nips * sizeof(uint64_t), 12) ^ ((uint64_t)s->ustack_len << 32);
	/* the same frames with a different ending are a different stack (root marker) */
	key.h2 ^= (uint64_t)(s->flags & (STOKER_SF_USER_TRUNCATED | STOKER_SF_KERNEL_TRUNCATED |
					 STOKER_SF_UNWIND_PENDING))
		  << 48;
	if (py) {
		size_t pyb = py->nframes * sizeof(py->frames[0]);

		key.h1 ^= hash_bytes(py->frames, pyb, 13) + py->nframes + 1;
		key.h2 ^= hash_bytes(py->frames, pyb, 14) + ((uint64_t)py->flags << 40);
	}
	v = lru_cache__get(c->stack_cache, &key);
	if (v) {
		c->st.stack_cache_hits++;
	} else {
		struct pb_stack stack = { c->pb, locs, 0, sizeof(locs) / sizeof(locs[0]) - 1 };
		size_t n;

		c->st.stack_cache_misses++;
		jit_unnamed = c->sz->st.jit_unnamed;
		symbolize_stack(c->sz, p, s->ips, s->kstack_len, s->ips + s->kstack_len,
				s->ustack_len, py, pb_stack__add_frames, &stack);
		n = stack.n;
		/* A stack cut at the depth limit lost its root side: say so where the root
		 * would be, rather than let the partial stack pass for a whole one. */
		if (s->flags & (STOKER_SF_USER_TRUNCATED | STOKER_SF_KERNEL_TRUNCATED)) {
			/* a process sampled before its unwind tables were loaded was walked by
			 * frame pointers only: say that rather than a bare "truncated" */
			const char *why = s->flags & STOKER_SF_UNWIND_PENDING
					      ? "[truncated: unwind tables loading]"
					      : "[truncated]";
			uint32_t mark = profile_builder__location(
			    c->pb, 0, profile_builder__function(c->pb, why), 0);

			if (mark)
				locs[n++] = mark;
		}
		/* JIT code its map does not name yet may be named once the map is read again:
		 * such a stack is symbolized afresh each time rather than kept unnamed */
		if (c->sz->st.jit_unnamed != jit_unnamed) {
			slocs = locs;
			sn = n;
			goto add;
		}
		v = malloc(sizeof(*v) + n * sizeof(uint32_t));
		if (!v) {
			c->st.samples_dropped_full++;
			return;
		}
		v->n = (uint32_t)n;
		memcpy(v->locs, locs, n * sizeof(uint32_t));
		if (lru_cache__put(c->stack_cache, &key, v, 1)) {
			free(v);
			c->st.samples_dropped_full++;
			return;
		}
	}

	slocs = v->locs;
	sn = v->n;
add:
	if (c->opts.pid_labels) {
		snprintf(pidbuf, sizeof(pidbuf), "%u", s->pid);
		labels[nl++] =
		    (struct pb_label){ c->k_pid, profile_builder__string(c->pb, pidbuf) };
		labels[nl++] = (struct pb_label){ c->k_comm, profile_builder__string(c->pb, comm) };
	}
	/* the process's labels after relabeling: service_name, container_id, ... */
	for (size_t i = 0; i < p->nlabels && nl < PB_MAX_LABELS; i++)
		labels[nl++] =
		    (struct pb_label){ profile_builder__string(c->pb, p->labels[2 * i]),
				       profile_builder__string(c->pb, p->labels[2 * i + 1]) };
	/* Span ids are sample labels only (upload_batch never makes them series labels): the
	 * stack cache keys stacks alone, and equal stacks in different spans stay apart here
	 * because samples are deduplicated by (locations, labels). */
	if (s->flags & STOKER_SF_SPAN) {
		c->st.samples_in_span++;
		if (c->opts.span_labels && nl + 2 <= PB_MAX_LABELS) {
			span_id_hex(s->span_id, sizeof(s->span_id), span_hex);
			span_id_hex(s->trace_id, sizeof(s->trace_id), trace_hex);
			labels[nl++] =
			    (struct pb_label){ c->k_span_id,
					       profile_builder__string(c->pb, span_hex) };
			labels[nl++] =
			    (struct pb_label){ c->k_trace_id,
					       profile_builder__string(c->pb, trace_hex) };
		}
	}
	if (profile_builder__add_sample(c->pb, slocs, sn, labels, nl, 1))
		c->st.samples_dropped_full++;
}

void collector__on_record(const void *data, size_t len, void *ctx)
{
	struct collector *c = ctx;
	const struct stoker_proc_event *e = data;
	__u32 type;

	if (len < sizeof(type)) {
		c->st.bad_records++;
		return;
	}
	memcpy(&type, data, sizeof(type));
	switch (type) {
	case STOKER_REC_SAMPLE:
		on_sample(c, data, len);
		break;
	case STOKER_REC_PY_STACK:
		on_py_stack(c, data, len);
		break;
	case STOKER_REC_EXEC:
	case STOKER_REC_EXIT:
		if (len < sizeof(*e)) {
			c->st.bad_records++;
			break;
		}
		if (type == STOKER_REC_EXEC)
			c->st.exec_events++;
		else
			c->st.exit_events++;
		/* The entry lives on in the window's references; new samples start afresh. */
		proc_cache__retire(c->sz->procs, (int)e->pid);
		if (c->opts.unwind_hint)
			c->opts.unwind_hint(c->opts.skip_ctx, (int)e->pid,
					    type == STOKER_REC_EXEC ? COLLECTOR_HINT_EXEC : 0);
		if (c->opts.spans)
			span_context__forget(c->opts.spans, (int)e->pid);
		if (c->sz->pyprocs)
			python_procs__forget(c->sz->pyprocs, (int)e->pid);
		if (c->opts.skip_pid)
			c->opts.skip_pid(c->opts.skip_ctx, (int)e->pid, false);
		break;
	default:
		c->st.bad_records++;
		pr_warn_ratelimited("unknown ring buffer record type %u", type);
	}
}
