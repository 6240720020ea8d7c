# stoker: build the BPF objects, skeletons, protobuf code and the agent; run the tests.
# `make` builds build/stoker; `make run` profiles this host; `make test` runs the whole suite.
# V=1 shows full commands.

.DELETE_ON_ERROR:
.SUFFIXES:

CC ?= gcc
CLANG ?= clang
CLANGXX ?= clang++
BPFTOOL ?= bpftool
PROTOC_C ?= protoc-c
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

OUT := build
OBJ := $(OUT)/obj
ASAN_OBJ := $(OUT)/asan
VMLINUX_H ?= vmlinux/vmlinux.h

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS := libbpf libelf libdw libdebuginfod libprotobuf-c zlib liblzma libcurl yaml-0.1 json-c
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -MMD -MP -D_GNU_SOURCE -DSTOKER_VERSION='"$(VERSION)"' \
	-Iinclude -Iagent -I$(OUT) $(PKG_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lstdc++ -lpthread -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -D__BPF__ -Wall -Werror \
	-I$(dir $(VMLINUX_H)) -Iinclude -I$(OUT)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
PROTO_SRCS := $(wildcard proto/*.proto)
PROTO_C := $(patsubst proto/%.proto,$(OUT)/%.pb-c.c,$(PROTO_SRCS))
PROTO_H := $(PROTO_C:.c=.h)

AGENT_SRCS := $(wildcard agent/*.c agent/*/*.c)
AGENT_OBJS := $(patsubst agent/%.c,$(OBJ)/%.o,$(AGENT_SRCS)) $(patsubst $(OUT)/%.c,$(OBJ)/%.o,$(PROTO_C))
LIB_OBJS := $(filter-out $(OBJ)/main.o,$(AGENT_OBJS))
ASAN_LIB_OBJS := $(patsubst $(OBJ)/%,$(ASAN_OBJ)/%,$(LIB_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
# C++ users of include/stoker/trace_context.h (the OpenTelemetry C++ SDK's language)
UNIT_CXX_SRCS := $(wildcard tests/unit/test_*.cc)
UNIT_BINS += $(patsubst tests/unit/%.cc,$(OUT)/tests/%,$(UNIT_CXX_SRCS))
# ... and the same compiled by clang++, as the README promises both compilers
UNIT_BINS += $(patsubst tests/unit/%.cc,$(OUT)/tests/%-clang,$(UNIT_CXX_SRCS))

FIXTURE_SRCS := $(wildcard tests/fixtures/*.c)

SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# libFuzzer targets: the agent's own parsers built with clang's fuzzer instrumentation.
FUZZ_OBJ := $(OUT)/fuzzobj
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst $(OBJ)/%,$(FUZZ_OBJ)/%,$(LIB_OBJS))
FUZZ_CFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -O1 -g
FUZZ_SECONDS ?= 60

.PHONY: all deps test-deps run test unit fixtures check-clang install uninstall clean format bench bench-quick bench-build soak deb test-kernels fuzz fuzz-build

all: $(OUT)/stoker

deps:
	$(Q)scripts/install-deps.sh build

test-deps:
	$(Q)scripts/install-deps.sh test

$(OUT) $(OBJ) $(ASAN_OBJ) $(OUT)/tests $(OUT)/fixtures:
	$(Q)mkdir -p $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard include/*.h) $(wildcard bpf/*.bpf.h) $(VMLINUX_H) | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUT)/%.pb-c.c $(OUT)/%.pb-c.h: proto/%.proto | $(OUT)
	$(call msg,PROTOC,$<)
	$(Q)$(PROTOC_C) --c_out=$(OUT) -Iproto $<

# Every agent object may include a skeleton or generated protobuf header.
$(AGENT_OBJS) $(ASAN_LIB_OBJS): $(SKELS) $(PROTO_H)

$(OBJ)/%.o: agent/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OBJ)/%.pb-c.o: $(OUT)/%.pb-c.c | $(OBJ)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -c $< -o $@

$(ASAN_OBJ)/%.o: agent/%.c
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SANITIZE) -O1 -c $< -o $@

$(ASAN_OBJ)/%.pb-c.o: $(OUT)/%.pb-c.c | $(ASAN_OBJ)
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SANITIZE) -O1 -c $< -o $@

$(FUZZ_OBJ) $(OUT)/fuzz:
	$(Q)mkdir -p $@

$(FUZZ_LIB_OBJS): $(SKELS) $(PROTO_H)

$(FUZZ_OBJ)/%.o: agent/%.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(filter-out -O2,$(ALL_CFLAGS)) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_OBJ)/%.pb-c.o: $(OUT)/%.pb-c.c | $(FUZZ_OBJ)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(filter-out -O2,$(ALL_CFLAGS)) $(FUZZ_CFLAGS) -c $< -o $@

$(OUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS) | $(OUT)/fuzz
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(filter-out -O2,$(ALL_CFLAGS)) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< \
		$(FUZZ_LIB_OBJS) -o $@ $(LDLIBS_ALL)

fuzz-build: $(FUZZ_BINS)

# Benchmark helpers link the optimized agent objects.
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUT)/bench/%,$(wildcard tests/bench/*.c))
$(OUT)/bench:
	$(Q)mkdir -p $@

$(OUT)/bench/%: tests/bench/%.c $(LIB_OBJS) | $(OUT)/bench
	$(call msg,BENCH-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS_ALL)

bench-build: all fixtures $(BENCH_BINS)

# Overhead, BPF cost, accuracy, symbolization, output and start-up, each against a peer
# measured in the same run (perf, bpftrace, eu-addr2line). Not part of make test.
bench: deps
	$(Q)scripts/install-deps.sh bench
	$(Q)$(MAKE) bench-build
	$(Q)/usr/bin/python3 tests/bench/bench.py

# 10 minutes system-wide under an exec storm with a flapping server: RSS and fds must stay
# flat, every window accounted for. SOAK_SECONDS overrides the length. Not in make test.
soak: test-deps
	$(Q)$(MAKE) all fixtures
	$(Q)/usr/bin/python3 tests/soak/soak.py

bench-quick: deps
	$(Q)scripts/install-deps.sh bench
	$(Q)$(MAKE) bench-build
	$(Q)/usr/bin/python3 tests/bench/bench.py --quick

# Every target for FUZZ_SECONDS each, then every saved reproducer.
fuzz: test-deps
	$(Q)$(MAKE) fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_TARGETS="$(FUZZ_TARGETS)" tests/fuzz/run.sh

$(OUT)/stoker: $(AGENT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS_ALL)

# Unit tests link the sanitized agent objects (everything but main.c).
$(OUT)/tests/%: tests/unit/%.c $(ASAN_LIB_OBJS) $(wildcard tests/unit/*.h) | $(OUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SANITIZE) -O1 $< $(ASAN_LIB_OBJS) -o $@ $(LDLIBS_ALL)

$(OUT)/tests/%: tests/unit/%.cc include/stoker/trace_context.h tests/unit/test.h | $(OUT)/tests
	$(call msg,TEST-CXX,$@)
	$(Q)$(CXX) -std=c++17 -Wall -Wextra -Werror $(SANITIZE) -O1 -Iinclude $< -o $@ -pthread

$(OUT)/tests/%-clang: tests/unit/%.cc include/stoker/trace_context.h tests/unit/test.h | $(OUT)/tests
	$(call msg,TEST-CLANGXX,$@)
	$(Q)$(CLANGXX) -std=c++17 -Wall -Wextra -Werror $(SANITIZE) -O1 -Iinclude $< -o $@ -pthread

unit: $(UNIT_BINS) fixtures
	$(Q)tests/run_unit.sh $(UNIT_BINS)

# packaging/stoker.8's OPTIONS section, written from the flag table (test_cli checks it)
.PHONY: man
man: $(OUT)/tests/test_cli
	$(Q)STOKER_WRITE_MAN=packaging/stoker.8 $(OUT)/tests/test_cli

# Fixture programs and their build recipes live in tests/fixtures/Makefile.
fixtures:
	$(Q)$(MAKE) -s -C tests/fixtures OUT=$(abspath $(OUT)/fixtures)

# The agent must build clean under clang as well as gcc.
check-clang: $(SKELS) $(PROTO_H)
	$(call msg,CLANG,agent/**/*.c -fsyntax-only)
	$(Q)for f in $(AGENT_SRCS); do \
		$(CLANG) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -fsyntax-only $$f || exit 1; done

run: deps
	$(Q)$(MAKE) all fixtures
	$(Q)scripts/run-demo.sh

test: test-deps
	$(Q)$(MAKE) all fixtures $(UNIT_BINS) fuzz-build
	$(Q)tests/run_all.sh

# Boots Debian 12's 6.1 kernel in qemu and runs the integration checks inside.
test-kernels: test-deps
	$(Q)$(MAKE) all fixtures
	$(Q)tests/kernels/run.sh

deb: $(OUT)/stoker
	$(Q)scripts/build-deb.sh

install: $(OUT)/stoker
	install -D -m 0755 $(OUT)/stoker $(DESTDIR)$(PREFIX)/bin/stoker

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/stoker

format:
	clang-format -i agent/*.c agent/*/*.c agent/*/*.h bpf/*.c include/*.h include/stoker/*.h tests/unit/*.c tests/unit/*.cc tests/unit/*.h

clean:
	rm -rf $(OUT)

-include $(wildcard $(OBJ)/*.d $(OBJ)/*/*.d $(ASAN_OBJ)/*.d $(ASAN_OBJ)/*/*.d $(OUT)/tests/*.d \
	$(FUZZ_OBJ)/*.d $(FUZZ_OBJ)/*/*.d)
