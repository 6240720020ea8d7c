/* SPDX-License-Identifier: BSD-2-Clause */
/* The counter registry: one row per counter the agent reports, from which /metrics and the exit
 * summary lines are generated. The BPF sampler's rows come first, from
 * include/sampler_counters.h; the agent's own rows follow here. */
#ifndef STOKER_OPS_COUNTERS_H
#define STOKER_OPS_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "sampler_counters.h"

/*
 * X(ID, name, TYPE, UNIT, help, LINE, fragment, value): the columns of sampler_counters.h, then
 * the value, an expression of `s` (const struct counter_sources *) read when counters are
 * gathered (no top-level comma in it). Adding a counter is one row here plus the increment in
 * its module's stats.
 */
#define STOKER_AGENT_COUNTERS(X)                                                                   \
	/* sample records, the collector */                                                        \
	X(SAMPLES_RECEIVED, "samples_received_total", COUNTER, COUNT, "Samples the agent read.",   \
	  SAMPLES, "; %llu received", s->col->samples)                                             \
	X(SAMPLE_BYTES, "sample_record_bytes_total", COUNTER, BYTES,                               \
	  "Bytes of sample records read from the ring buffer.", NONE, NULL, s->col->sample_bytes)  \
	X(SAMPLES_DROPPED_WINDOW, "samples_dropped_window_full_total", COUNTER, COUNT,             \
	  "Samples lost: window table full.", SAMPLES, ", %llu dropped (window full)",             \
	  s->col->samples_dropped_full)                                                            \
	X(SAMPLES_RELABEL_DROPPED, "samples_relabel_dropped_total", COUNTER, COUNT,                \
	  "Samples of processes the relabel rules drop, read before BPF skipped them.", NONE,      \
	  NULL, s->col->samples_relabel_dropped)                                                   \
	X(RECORDS_MALFORMED, "records_malformed_total", COUNTER, COUNT,                            \
	  "Ring buffer records of a bad size or an unknown type.", NONE, NULL,                     \
	  s->col->bad_records)                                                                     \
	X(STRINGS_REPAIRED, "profile_strings_repaired_total", COUNTER, COUNT,                      \
	  "Names and labels that were not UTF-8, sent with U+FFFD for their bad bytes.", NONE,     \
	  NULL, s->pb->strings_repaired)                                                           \
	X(PROCESS_EXECS, "process_execs_total", COUNTER, COUNT, "exec events received.", NONE,     \
	  NULL, s->col->exec_events)                                                               \
	X(PROCESS_EXITS, "process_exits_total", COUNTER, COUNT, "Process exit events received.",   \
	  NONE, NULL, s->col->exit_events)                                                         \
	X(STACKS_TRUNCATED_USER, "stacks_truncated_user_total", COUNTER, COUNT,                    \
	  "Samples whose user stack ends before its root.", NONE, NULL, s->col->truncated_user)    \
	X(STACKS_TRUNCATED_KERNEL, "stacks_truncated_kernel_total", COUNTER, COUNT,                \
	  "Samples whose kernel stack filled the depth limit.", NONE, NULL,                        \
	  s->col->truncated_kernel)                                                                \
	X(STACK_CACHE_HITS, "stack_cache_hits_total", COUNTER, COUNT,                              \
	  "Samples whose stack was already symbolized in the window.", NONE, NULL,                 \
	  s->col->stack_cache_hits)                                                                \
	X(STACK_CACHE_MISSES, "stack_cache_misses_total", COUNTER, COUNT,                          \
	  "Samples whose stack was symbolized.", NONE, NULL, s->col->stack_cache_misses)           \
	/* symbols, mapped files, processes */                                                     \
	X(FRAMES, "frames_total", COUNTER, COUNT, "Frames symbolized.", SYMBOLS, "%llu frames",    \
	  s->sz->frames)                                                                           \
	X(FRAMES_NAMED, "frames_named_total", COUNTER, COUNT, "Frames given a function name.",     \
	  SYMBOLS, ", %llu named", s->sz->named)                                                   \
	X(FRAMES_UNNAMED, "frames_unnamed_total", COUNTER, COUNT, "Frames left as module+offset.", \
	  SYMBOLS, ", %llu unnamed", s->sz->unnamed + s->sz->kernel_unnamed + s->sz->no_mapping)   \
	X(FRAMES_UNMAPPED, "frames_outside_mappings_total", COUNTER, COUNT,                        \
	  "Unnamed frames outside every known mapping.", SYMBOLS, " (%llu outside any mapping)",   \
	  s->sz->no_mapping)                                                                       \
	X(FRAMES_WITH_LINES, "frames_with_lines_total", COUNTER, COUNT,                            \
	  "Native addresses named from DWARF, with file and line.", LINES,                         \
	  "%llu frames with lines", s->sz->frames_with_lines)                                      \
	X(FRAMES_INLINED, "frames_inlined_total", COUNTER, COUNT,                                  \
	  "Frames of those addresses that were inlined into their caller.", LINES,                 \
	  " (%llu inlined frames)", s->sz->inlined_frames)                                         \
	X(FRAMES_LINES_PENDING, "frames_lines_pending_total", COUNTER, COUNT,                      \
	  "Addresses named without lines while their debug file was being fetched.", NONE, NULL,   \
	  s->sz->lines_pending)                                                                    \
	X(FRAMES_LINES_DEFERRED, "frames_lines_deferred_total", COUNTER, COUNT,                    \
	  "Addresses named without lines: the symbolizer's DWARF time budget was spent.", NONE,    \
	  NULL, s->sz->lines_deferred)                                                             \
	X(LINE_FILES, "line_files_loaded_total", COUNTER, COUNT,                                   \
	  "Files whose DWARF lines were read (from the file, a debug file or a fetch).", LINES,    \
	  "; %llu files with lines", s->sz->lines.files_with_lines)                                \
	X(LINE_FILES_NO_DEBUG, "line_files_without_debug_info_total", COUNTER, COUNT,              \
	  "Files with no DWARF lines in the file, a local debug file or a fetch.", LINES,          \
	  ", %llu without debug info", s->sz->lines.files_no_debug)                                \
	X(LINE_FILES_FETCHED, "line_files_fetched_total", COUNTER, COUNT,                          \
	  "Files whose lines came from a debug file fetched by build-id.", NONE, NULL,             \
	  s->sz->lines.files_fetched)                                                              \
	X(LINE_FILES_TOO_LARGE, "line_files_too_large_total", COUNTER, COUNT,                      \
	  "Files whose DWARF was over the size cap, left without lines.", NONE, NULL,              \
	  s->sz->lines.files_too_large)                                                            \
	X(LINE_FILES_WRONG_FETCH, "line_files_wrong_fetch_total", COUNTER, COUNT,                  \
	  "Fetched debug files refused: their build-id was another.", NONE, NULL,                  \
	  s->sz->lines.files_wrong_fetch)                                                          \
	X(LINE_DWARF_RELEASED, "line_dwarf_released_total", COUNTER, COUNT,                        \
	  "Files whose DWARF was released while idle, their answered addresses kept.", LINES,      \
	  "; DWARF released %llu times", s->sz->lines.dwarf_released)                              \
	X(LINE_DWARF_RELOADED, "line_dwarf_reloaded_total", COUNTER, COUNT,                        \
	  "Released DWARF read again for an address not answered before.", LINES,                  \
	  ", read again %llu", s->sz->lines.dwarf_reloaded)                                        \
	X(LINE_DWARF_COPIES, "line_dwarf_copies_total", COUNTER, COUNT,                            \
	  "DWARF read from a decompressed copy in --scratch-dir (the page cache holds it).",       \
	  LINES, "; from scratch copies %llu", s->sz->lines.dwarf_copies)                          \
	X(LINE_DWARF_IN_HEAP, "line_dwarf_in_heap_total", COUNTER, COUNT,                          \
	  "DWARF copied into the agent's memory (a memfd): no scratch directory on a disk.",       \
	  LINES, ", in memory %llu", s->sz->lines.dwarf_in_heap)                                   \
	X(LINE_DWARF_RESETS, "line_dwarf_resets_total", COUNTER, COUNT,                            \
	  "Parsed DWARF units dropped over --lines-memory, parsed again as addresses need them.",  \
	  LINES, ", parsed units dropped %llu times", s->sz->lines.dwarf_resets)                   \
	X(DEBUGINFOD_REQUESTS, "debuginfod_requests_total", COUNTER, COUNT,                        \
	  "Build-ids queued for a debuginfod fetch.", LINES, "; debuginfod: %llu asked",           \
	  s->sz->fetch.requests)                                                                   \
	X(DEBUGINFOD_FETCHED, "debuginfod_fetched_total", COUNTER, COUNT,                          \
	  "Debug files fetched from debuginfod.", LINES, ", %llu fetched", s->sz->fetch.fetched)   \
	X(DEBUGINFOD_NOT_FOUND, "debuginfod_not_found_total", COUNTER, COUNT,                      \
	  "Build-ids no debuginfod server had, not asked again for a while.", LINES,               \
	  ", %llu not found", s->sz->fetch.not_found)                                              \
	X(DEBUGINFOD_FAILED, "debuginfod_failed_total", COUNTER, COUNT,                            \
	  "debuginfod fetches that failed: refused, timed out, too large.", LINES,                 \
	  ", %llu failed", s->sz->fetch.failed)                                                    \
	X(DEBUGINFOD_QUEUE_FULL, "debuginfod_queue_full_total", COUNTER, COUNT,                    \
	  "Fetches not queued: too many build-ids were waiting.", NONE, NULL,                      \
	  s->sz->fetch.queue_full)                                                                 \
	X(DEBUGINFOD_EVICTED, "debuginfod_cache_evictions_total", COUNTER, COUNT,                  \
	  "Fetched debug files removed to keep the cache under its size.", NONE, NULL,             \
	  s->sz->fetch.evicted)                                                                    \
	X(DEBUGINFOD_CACHE_BYTES, "debuginfod_cache_bytes", GAUGE, BYTES,                          \
	  "Bytes of fetched debug files on disk.", NONE, NULL, s->sz->fetch.cache_bytes)           \
	X(SYMBOL_FILES_LOADED, "symbol_files_loaded_total", COUNTER, COUNT,                        \
	  "Files opened for their symbols.", SYMBOLS, "; %llu files loaded", s->obj->loads)        \
	X(SYMBOL_FILES_FAILED, "symbol_files_failed_total", COUNTER, COUNT,                        \
	  "Files whose symbols could not be read.", SYMBOLS, " (%llu failed)",                     \
	  s->obj->load_failures)                                                                   \
	X(PERF_MAPS_REFUSED, "perf_maps_refused_total", COUNTER, COUNT,                            \
	  "JIT perf maps not read: a symbolic link, not a regular file, or not owned by the "      \
	  "process's user.",                                                                       \
	  NONE, NULL, s->sz->perf_maps_refused)                                                    \
	X(PERF_MAP_READS, "perf_map_reads_total", COUNTER, COUNT,                                  \
	  "JIT perf maps read from their start (first read, or rewritten).", NONE, NULL,           \
	  s->sz->perf_maps.reads)                                                                  \
	X(PERF_MAP_REREADS, "perf_map_rereads_total", COUNTER, COUNT,                              \
	  "JIT perf maps read again for lines appended since the last read.", NONE, NULL,          \
	  s->sz->perf_maps.rereads)                                                                \
	X(PERF_MAP_ENTRIES, "perf_map_entries", GAUGE, COUNT, "Ranges held from JIT perf maps.",   \
	  NONE, NULL, s->sz->perf_maps.entries)                                                    \
	X(PERF_MAP_BYTES, "perf_map_bytes", GAUGE, BYTES,                                          \
	  "Bytes charged for JIT perf maps (--perf-map-memory).", NONE, NULL,                      \
	  s->sz->perf_maps.bytes)                                                                  \
	X(PERF_MAP_CAPPED, "perf_maps_capped_total", COUNTER, COUNT,                               \
	  "Times a JIT perf map stopped at a memory cap with lines left unread.", NONE, NULL,      \
	  s->sz->perf_maps.refused)                                                                \
	X(JAVA_PERFMAP_REQUESTS, "java_perfmap_requests_total", COUNTER, COUNT,                    \
	  "JVMs asked for their perf map (--java-perfmap).", NONE, NULL,                           \
	  s->java ? s->java->requests : 0)                                                         \
	X(JAVA_PERFMAP_WRITTEN, "java_perfmap_written_total", COUNTER, COUNT,                      \
	  "JVMs that answered a perf map request with success.", NONE, NULL,                       \
	  s->java ? s->java->written : 0)                                                          \
	X(JAVA_PERFMAP_FAILED, "java_perfmap_failed_total", COUNTER, COUNT,                        \
	  "Perf map requests to JVMs that failed or timed out.", NONE, NULL,                       \
	  s->java ? s->java->failed + s->java->dropped : 0)                                        \
	X(PROCS_SEEN, "processes_seen_total", COUNTER, COUNT, "Processes sampled.", SYMBOLS,       \
	  ", %llu processes seen", s->proc->created)                                               \
	X(SYMBOL_CACHE_FILES, "symbol_cache_files", GAUGE, COUNT, "Files in the symbol cache.",    \
	  NONE, NULL, s->obj->files)                                                               \
	X(SYMBOL_CACHE_OPEN_FILES, "symbol_cache_open_files", GAUGE, COUNT,                        \
	  "Mapped files the symbol cache holds open, at most 128.", NONE, NULL,                    \
	  s->obj->open_fds)                                                                        \
	X(SYMBOL_CACHE_BYTES, "symbol_cache_bytes", GAUGE, BYTES,                                  \
	  "Bytes held by the symbol cache.", NONE, NULL, s->obj->bytes)                            \
	X(SYMBOL_CACHE_BUDGET, "symbol_cache_budget_bytes", GAUGE, BYTES,                          \
	  "Bound on the symbol cache (--symbol-cache-memory).", NONE, NULL, s->obj->budget_bytes)  \
	X(SYMBOL_CACHE_SYMBOL_BYTES, "symbol_cache_symbol_table_bytes", GAUGE, BYTES,              \
	  "Bytes of the symbol cache in symbol tables.", NONE, NULL, s->obj->symbol_bytes)         \
	X(SYMBOL_CACHE_UNWIND_BYTES, "symbol_cache_unwind_row_bytes", GAUGE, BYTES,                \
	  "Bytes of the symbol cache in the user-side copies of unwind rows.", NONE, NULL,         \
	  s->obj->unwind_bytes)                                                                    \
	X(SYMBOL_TABLES_REFUSED, "symbol_tables_refused_total", COUNTER, COUNT,                    \
	  "Symbol, Go and unwind tables refused before their memory was taken: over "              \
	  "--symbol-file-memory or the cache.",                                                    \
	  NONE, NULL, s->obj->symbol_tables_refused)                                               \
	X(SYMBOL_CACHE_HITS, "symbol_cache_hits_total", COUNTER, COUNT,                            \
	  "Mapped-file lookups answered from the symbol cache.", NONE, NULL, s->obj->hits)         \
	X(SYMBOL_CACHE_MISSES, "symbol_cache_misses_total", COUNTER, COUNT,                        \
	  "Mapped-file lookups that had to open the file.", NONE, NULL, s->obj->misses)            \
	X(SYMBOL_CACHE_EVICTIONS, "symbol_cache_evictions_total", COUNTER, COUNT,                  \
	  "Files evicted to keep the symbol cache under its bound.", NONE, NULL,                   \
	  s->obj->evictions)                                                                       \
	X(PROCS_CACHED, "processes_cached", GAUGE, COUNT, "Processes in the process cache.", NONE, \
	  NULL, s->proc->procs)                                                                    \
	X(PROC_CACHE_BYTES, "process_cache_bytes", GAUGE, BYTES,                                   \
	  "Bytes held by the process cache: entries, mappings, labels.", NONE, NULL,               \
	  s->proc->bytes)                                                                          \
	X(PROC_CACHE_BUDGET, "process_cache_budget_bytes", GAUGE, BYTES,                           \
	  "Bound on the process cache (--process-cache-memory).", NONE, NULL,                      \
	  s->proc->budget_bytes)                                                                   \
	X(PROC_EVICTIONS, "process_cache_evictions_total", COUNTER, COUNT,                         \
	  "Processes evicted to keep the process cache under its bound.", NONE, NULL,              \
	  s->proc->evictions)                                                                      \
	/* mapped files: each opened once per identity */                                          \
	X(OBJECT_OPENS, "object_files_opened_total", COUNTER, COUNT,                               \
	  "Mapped files opened (once per file identity unless evicted).", OBJECTS,                 \
	  "%llu files opened", s->obj->opens)                                                      \
	X(OBJECT_REOPENS, "object_files_reopened_total", COUNTER, COUNT,                           \
	  "Mapped files opened again after their descriptor was closed.", OBJECTS,                 \
	  " (%llu reopened)", s->obj->reopens)                                                     \
	X(OBJECT_OPEN_FAILURES, "object_open_failures_total", COUNTER, COUNT,                      \
	  "Mapped files that could not be opened safely.", NONE, NULL, s->obj->open_failures)      \
	X(PROC_MAPS_READS, "proc_maps_reads_total", COUNTER, COUNT, "/proc/PID/maps reads.",       \
	  OBJECTS, ", %llu maps reads", s->proc->maps_reads)                                       \
	X(PROC_MAPS_FAILURES, "proc_maps_read_failures_total", COUNTER, COUNT,                     \
	  "/proc/PID/maps reads that failed.", NONE, NULL, s->proc->maps_failures)                 \
	/* unwind tables (zero with --unwind fp) */                                                \
	X(UNWIND_TABLES, "unwind_tables", GAUGE, COUNT, "Files with unwind tables loaded.",        \
	  UNWIND, "; %llu tables", s->unwind->tables)                                              \
	X(UNWIND_TABLES_NO_CFI, "unwind_tables_without_cfi_total", COUNTER, COUNT,                 \
	  "Files found without call frame information.", UNWIND, " (%llu without CFI)",            \
	  s->unwind->tables_without_cfi)                                                           \
	X(UNWIND_TABLE_BYTES, "unwind_table_bytes", GAUGE, BYTES,                                  \
	  "BPF memory used by unwind table rows.", UNWIND, ", %.1f",                               \
	  (s->unwind->chunks_used * STOKER_UNWIND_CHUNK_BYTES))                                    \
	X(UNWIND_TABLE_CAPACITY, "unwind_table_capacity_bytes", GAUGE, BYTES,                      \
	  "BPF memory for unwind table rows (--unwind-table-memory).", UNWIND,                     \
	  " of %.1f MiB of rows", (s->unwind->chunks_capacity * STOKER_UNWIND_CHUNK_BYTES))        \
	X(UNWIND_RULES, "unwind_rules", GAUGE, COUNT, "Distinct unwind rules loaded.", UNWIND,     \
	  ", %llu rules", s->unwind->rules)                                                        \
	X(UNWIND_BUILD_TIME, "unwind_build_seconds_total", COUNTER, NS,                            \
	  "Time spent building unwind tables.", UNWIND, ", %.0f ms building", s->unwind->build_ns) \
	X(UNWIND_TABLES_BUILT, "unwind_tables_built_total", COUNTER, COUNT,                        \
	  "Unwind tables built and loaded.", NONE, NULL, s->unwind->tables_built)                  \
	X(UNWIND_TABLES_FAILED, "unwind_tables_failed_total", COUNTER, COUNT,                      \
	  "Files whose unwind table could not be built.", NONE, NULL, s->unwind->tables_failed)    \
	X(UNWIND_TABLES_EVICTED, "unwind_tables_evicted_total", COUNTER, COUNT,                    \
	  "Unwind tables evicted to make room.", NONE, NULL, s->unwind->tables_evicted)            \
	X(UNWIND_TABLES_NO_ROOM, "unwind_tables_no_room_total", COUNTER, COUNT,                    \
	  "Unwind tables not loaded: no room left for their rows.", NONE, NULL,                    \
	  s->unwind->tables_no_room)                                                               \
	X(UNWIND_TABLES_OVER_QUOTA, "unwind_tables_over_quota_total", COUNTER, COUNT,              \
	  "Files refused: their table needs more rows or pages than a file may take.", NONE, NULL, \
	  s->unwind->tables_over_quota)                                                            \
	X(UNWIND_PROC_QUOTA_REFUSED, "unwind_process_quota_refused_total", COUNTER, COUNT,         \
	  "Tables or mappings refused past a process's share of the unwind maps.", NONE, NULL,     \
	  s->unwind->proc_quota_refused)                                                           \
	X(UNWIND_FDES_CAPPED, "unwind_fdes_capped_total", COUNTER, COUNT,                          \
	  "FDEs cut short by the CFI instructions a table build may interpret.", NONE, NULL,       \
	  s->unwind->fdes_capped)                                                                  \
	X(UNWIND_PROCS, "unwind_processes", GAUGE, COUNT,                                          \
	  "Processes whose mappings the unwinder knows.", NONE, NULL, s->unwind->procs)            \
	X(UNWIND_SCANS, "unwind_scans_total", COUNTER, COUNT,                                      \
	  "Processes' mappings scanned for unwind tables.", NONE, NULL, s->unwind->scans)          \
	X(UNWIND_SCAN_FAILURES, "unwind_scan_failures_total", COUNTER, COUNT,                      \
	  "Scans of a process's mappings that failed.", NONE, NULL, s->unwind->scan_failures)      \
	X(UNWIND_SCANS_DEFERRED, "unwind_scans_deferred_total", COUNTER, COUNT,                    \
	  "Scans whose table building was left for a later turn of the main loop.", NONE, NULL,    \
	  s->unwind->scans_deferred)                                                               \
	X(UNWIND_EXEC_SCANS, "unwind_exec_scans_total", COUNTER, COUNT,                            \
	  "Scans made at exec, before the process's first sample.", NONE, NULL,                    \
	  s->unwind->exec_scans)                                                                   \
	/* trace spans (zero with --span-labels=false) */                                          \
	X(SPAN_SAMPLES, "span_samples_total", COUNTER, COUNT,                                      \
	  "Samples taken inside a trace span.", SPANS, "%llu samples inside a trace span",         \
	  s->col->samples_in_span)                                                                 \
	X(SPAN_PROCS_FOUND, "span_processes_found_total", COUNTER, COUNT,                          \
	  "Processes found exporting the trace-context ABI.", SPANS,                               \
	  "; %llu processes export the trace-context ABI", s->span->procs_found)                   \
	X(SPAN_FILES_CHECKED, "span_files_checked_total", COUNTER, COUNT,                          \
	  "Mapped objects searched for the trace-context ABI.", SPANS, " (%llu objects searched)", \
	  s->span->files_checked)                                                                  \
	X(SPAN_SCANS, "span_scans_total", COUNTER, COUNT,                                          \
	  "Processes' mappings searched for the trace-context ABI.", NONE, NULL, s->span->scans)   \
	X(SPAN_PUBLISH_ERRORS, "span_publish_errors_total", COUNTER, COUNT,                        \
	  "Processes found whose span address could not be given to BPF.", NONE, NULL,             \
	  s->span->publish_errors)                                                                 \
	/* Python frames */                                                                        \
	X(PY_PROCS_FOUND, "python_processes_walked_total", COUNTER, COUNT,                         \
	  "Python processes whose interpreter frames BPF walks.", PYTHON,                          \
	  "; %llu processes walked", s->py->found)                                                 \
	X(PY_PROCS_UNSUPPORTED, "python_processes_unsupported_total", COUNTER, COUNT,              \
	  "Python processes of a version without offsets here: native frames only.", PYTHON,       \
	  " (%llu unsupported)", s->py->unsupported)                                               \
	X(PY_FRAMES_NAMED, "python_frames_named_total", COUNTER, COUNT,                            \
	  "Python frames named from their code objects.", PYTHON, "; %llu frames named",           \
	  s->pyf->frames)                                                                          \
	X(PY_FRAMES_UNPLACED, "python_frames_unplaced_total", COUNTER, COUNT,                      \
	  "Python frames without an eval-loop frame to replace: put at the root of a native "      \
	  "stack that ended early.",                                                               \
	  PYTHON, ", %llu at the root of a cut native stack", s->pyf->frames_unplaced)             \
	X(PY_CODE_FAILURES, "python_code_read_failures_total", COUNTER, COUNT,                     \
	  "Code objects that could not be read or were freed since the sample.", PYTHON,           \
	  ", %llu unreadable code objects", s->pyf->code_failures)                                 \
	X(PY_NOT_READY, "python_not_ready_total", COUNTER, COUNT,                                  \
	  "Looks at an interpreter that had not yet created its thread-state key (retried).",      \
	  NONE, NULL, s->py->not_ready)                                                            \
	X(PY_PUBLISH_ERRORS, "python_publish_errors_total", COUNTER, COUNT,                        \
	  "Python processes found that could not be given to BPF (retried).", NONE, NULL,          \
	  s->py->publish_errors)                                                                   \
	X(PY_CODE_READS, "python_code_reads_total", COUNTER, COUNT,                                \
	  "Code objects read from Python processes.", NONE, NULL, s->pyf->code_reads)              \
	X(PY_CODE_CACHE_EVICTIONS, "python_code_cache_evictions_total", COUNTER, COUNT,            \
	  "Code objects evicted to keep the Python code cache under its bound.", NONE, NULL,       \
	  s->pyf->cache_evictions)                                                                 \
	X(PY_CODE_CACHE_BYTES, "python_code_cache_bytes", GAUGE, BYTES,                            \
	  "Bytes held by the Python code object cache.", NONE, NULL, s->pyf->cache_bytes)          \
	/* windows and their delivery (zero in local mode) */                                      \
	X(WINDOWS_CLOSED, "windows_closed_total", COUNTER, COUNT, "Profile windows closed.",       \
	  UPLOADS, "%llu windows closed", s->win->closed)                                          \
	X(WINDOWS_DELIVERED, "windows_delivered_total", COUNTER, COUNT,                            \
	  "Windows the server accepted.", UPLOADS, ", %llu delivered", s->up->windows_delivered)   \
	X(WINDOWS_REJECTED, "windows_rejected_total", COUNTER, COUNT,                              \
	  "Windows dropped: refused by the server.", UPLOADS, ", %llu rejected", s->up->rejected)  \
	X(WINDOWS_EXPIRED, "windows_expired_total", COUNTER, COUNT,                                \
	  "Windows dropped: too old for the server.", UPLOADS, ", %llu expired", s->up->expired)   \
	X(SPOOL_FILES, "spool_files", GAUGE, COUNT, "Windows in the spool.", UPLOADS,              \
	  ", %llu in the spool", s->up->spool_files)                                               \
	X(WINDOWS_DROPPED, "windows_dropped_total", COUNTER, COUNT,                                \
	  "Windows dropped: spool full or unavailable, or not encodable.", UPLOADS,                \
	  ", %llu dropped (spool full or unavailable, or not encodable)",                          \
	  s->up->spool_dropped + s->up->dropped_no_spool + s->win->unencodable)                    \
	X(UPLOAD_RETRIES, "upload_retries_total", COUNTER, COUNT,                                  \
	  "Failed requests to be retried.", UPLOADS, ", %llu retries", s->up->retries)             \
	X(WINDOWS_EMPTY, "windows_empty_total", COUNTER, COUNT,                                    \
	  "Windows without samples, not sent.", UPLOADS, "; %llu empty windows not sent",          \
	  s->win->empty)                                                                           \
	X(WINDOWS_SPOOLED, "windows_spooled_total", COUNTER, COUNT,                                \
	  "Windows written to the spool.", NONE, NULL, s->up->spooled)                             \
	X(WINDOWS_SPOOL_DROPPED, "windows_spool_dropped_total", COUNTER, COUNT,                    \
	  "Windows dropped: spool full.", NONE, NULL, s->up->spool_dropped)                        \
	X(WINDOWS_DROPPED_NO_SPOOL, "windows_dropped_no_spool_total", COUNTER, COUNT,              \
	  "Windows dropped: queue full, no spool.", NONE, NULL, s->up->dropped_no_spool)           \
	X(WINDOWS_UNENCODABLE, "windows_unencodable_total", COUNTER, COUNT,                        \
	  "Windows dropped: encoding failed (memory).", NONE, NULL, s->win->unencodable)           \
	X(SPOOL_CORRUPT, "spool_corrupt_total", COUNTER, COUNT, "Spool files skipped as corrupt.", \
	  NONE, NULL, s->up->spool_corrupt)                                                        \
	X(SPOOL_BYTES, "spool_bytes", GAUGE, BYTES, "Bytes in the spool.", NONE, NULL,             \
	  s->up->spool_bytes)                                                                      \
	X(PROFILES_PUSHED, "profiles_pushed_total", COUNTER, COUNT,                                \
	  "Series profiles the server accepted.", NONE, NULL, s->up->profiles_pushed)              \
	X(UPLOAD_REQUESTS, "upload_requests_total", COUNTER, COUNT,                                \
	  "HTTP requests to the server.", NONE, NULL, s->up->requests)                             \
	X(UPLOAD_BYTES, "upload_bytes_total", COUNTER, BYTES, "Request bytes sent.", NONE, NULL,   \
	  s->up->bytes_sent)                                                                       \
	X(UPLOAD_QUEUE, "upload_queue_windows", GAUGE, COUNT,                                      \
	  "Windows waiting (memory and spool).", NONE, NULL, s->up->queue_len)                     \
	X(UPLOAD_LAST_LATENCY, "upload_last_latency_seconds", GAUGE, NS,                           \
	  "Latency of the last push.", NONE, NULL, s->up->last_latency_ns)                         \
	X(UPLOAD_LAST_STATUS, "upload_last_http_status", GAUGE, COUNT,                             \
	  "HTTP status of the last request (0: none, or no answer).", NONE, NULL,                  \
	  s->up->last_http_code > 0 ? (uint64_t)s->up->last_http_code : 0)

/* The lists expand to enumerators, which clang-format cannot tell. */
/* clang-format off */
enum counter_id {
#define COUNTER_ENUM(id, ...) COUNTER_##id,
	STOKER_SAMPLER_COUNTERS(COUNTER_ENUM)
	STOKER_AGENT_COUNTERS(COUNTER_ENUM)
#undef COUNTER_ENUM
	COUNTER_MAX,
};
/* clang-format on */

enum counter_type {
	COUNTER_TYPE_COUNTER,
	COUNTER_TYPE_GAUGE,
};

/* How a value is kept and shown: NS is kept in nanoseconds, shown in seconds on /metrics and
 * in milliseconds in a summary; BYTES is shown in MiB in a summary. */
enum counter_unit {
	COUNTER_UNIT_COUNT,
	COUNTER_UNIT_BYTES,
	COUNTER_UNIT_NS,
};

/* The exit summary lines, each "<prefix>: " followed by its rows' fragments. */
enum counter_line {
	COUNTER_LINE_NONE,
	COUNTER_LINE_SAMPLES,
	COUNTER_LINE_SYMBOLS,
	COUNTER_LINE_UNWIND,
	COUNTER_LINE_SPANS,
	COUNTER_LINE_OBJECTS,
	COUNTER_LINE_LINES,
	COUNTER_LINE_UPLOADS,
	COUNTER_LINE_PYTHON,
	COUNTER_LINE_MAX,
};

struct counter_desc {
	const char *name; /* without the "stoker_" prefix */
	const char *help;
	const char *fragment; /* NULL when line is COUNTER_LINE_NONE */
	enum counter_type type;
	enum counter_unit unit;
	enum counter_line line;
};

extern const struct counter_desc counter_descs[COUNTER_MAX];

/* The windows main.c closes in continuous mode. */
struct window_stats {
	uint64_t closed;      /* windows with samples: each is delivered or counted */
	uint64_t empty;	      /* windows without samples, not sent */
	uint64_t unencodable; /* windows lost to an encoding failure (memory) */
};

/* Where the values come from: every pointer set, to zeros for a part that is off. */
struct counter_sources {
	uint64_t bpf[STOKER_STAT_MAX]; /* sampler__read_stats() */
	const struct collector_stats *col;
	const struct symbolizer_stats *sz;
	const struct obj_cache_stats *obj;
	const struct proc_cache_stats *proc;
	const struct unwind_loader_stats *unwind;
	const struct span_context_stats *span;
	const struct python_procs_stats *py;
	const struct python_frames_stats *pyf;
	const struct upload_stats *up;
	const struct window_stats *win;
	const struct java_attach_stats *java; /* NULL: --java-perfmap off */
	const struct profile_builder *pb;
};

struct counters {
	uint64_t v[COUNTER_MAX];
};

/* Reads every row's value from s. */
void counters__gather(struct counters *c, const struct counter_sources *s);
/* Prometheus text exposition of every row into buf; the length it needs (as snprintf). */
size_t counters__render(const struct counters *c, char *buf, size_t cap);
/* One exit summary line ("samples: 12 recorded, ..."), NUL-terminated in buf; returns buf. */
char *counters__summary(const struct counters *c, enum counter_line line, char *buf, size_t cap);

/* Enough for the Prometheus text and for a summary line with every value at its maximum. */
#define COUNTERS_TEXT_MAX 65536
#define COUNTERS_LINE_MAX 1024

#endif
