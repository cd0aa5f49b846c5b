# SPDX-License-Identifier: MIT
# zeroseg: `make` builds everything into build/; `make test` proves it.
# Quiet unless V=1.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD := build
# `make test SANITIZE=1`: the unit and packet-table tiers built with ASan and
# UBSan (any report fails the test) into their own directory; the e2e tier
# is skipped there (it runs the normal build's daemon under real traffic).
SANITIZE ?=
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ifeq ($(SANITIZE),1)
BUILD := build/san
endif
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)

# CFLAGS is the user's (optimisation, debug, sanitizers); the project's own
# flags are kept apart so that `make CFLAGS=...` cannot drop them.
CFLAGS ?= -O2 -g
ZS_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers -D_FORTIFY_SOURCE=2 \
	-Werror=implicit-function-declaration \
	-I$(BUILD) -Iuserspace -I. -MMD -MP
ifeq ($(SANITIZE),1)
ZS_CFLAGS += $(SAN_FLAGS)
endif
ALL_CFLAGS = $(ZS_CFLAGS) $(CFLAGS)
LDLIBS := -lbpf -lelf -lz -lmnl -ljansson -lyaml -lmicrohttpd -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$(ARCH_INC) -Wall -Werror

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean test test-layout test-unit test-bpf test-e2e test-san test-fuzz fuzz demo install bench \
	bench-quick deps

BPF_HDRS := bpf/abi.h $(wildcard bpf/lib/*.h)
# The controller: every part of userspace/ is the library, except the CLI,
# which is the binary's entry point (userspace/cli/main.c holds main()).
LIB_SRCS := $(filter-out userspace/cli/%,$(wildcard userspace/*/*.c))
LIB_OBJS := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
CLI_OBJS := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(wildcard userspace/cli/*.c))
# Every object waits for the skeleton (datapath/ includes it); header
# changes are tracked by the compiler's own dependency files (-MMD -MP).
SKEL := $(BUILD)/datapath.skel.h

all: $(BUILD)/zeroseg

$(BUILD)/datapath.bpf.o: bpf/datapath.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/datapath.skel.h: $(BUILD)/datapath.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name zs_datapath > $@

$(BUILD)/obj/%.o: userspace/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libzeroseg.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/zeroseg: $(CLI_OBJS) $(BUILD)/libzeroseg.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS)

# The traffic tool of the tests, the demo and the benchmarks (not installed).
$(BUILD)/zs-probe: tests/tools/zs-probe.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@

# ---- tests ------------------------------------------------------------------
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))
# What every test and benchmark program links: tests/lib/ (the pipeline
# fixtures, the packet builder).
TEST_LIB_OBJS := $(patsubst tests/lib/%.c,$(BUILD)/testlib/%.o,$(wildcard tests/lib/*.c))

$(TEST_LIB_OBJS): $(BUILD)/testlib/%.o: tests/lib/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIB_OBJS) $(BUILD)/libzeroseg.a
	@mkdir -p $(@D)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(TEST_LIB_OBJS) -o $@ $(BUILD)/libzeroseg.a $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/bpf/%.c $(TEST_LIB_OBJS) $(BUILD)/libzeroseg.a
	@mkdir -p $(@D)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(TEST_LIB_OBJS) -o $@ $(BUILD)/libzeroseg.a $(LDLIBS) -lcmocka

ifeq ($(SANITIZE),1)
TEST_TIERS := test-layout test-unit test-bpf
else
TEST_TIERS := test-layout test-unit test-bpf test-e2e test-fuzz
endif
# The tiers one after another, even under -j (their builds stay parallel):
# timing checks of one tier must not share the CPUs with another's run.
test:
	$(Q)set -e; for t in $(TEST_TIERS); do $(MAKE) --no-print-directory $$t; done
	@echo "make test: all tiers passed$(if $(SANITIZE), (ASan + UBSan; e2e skipped))"

# The sanitizer run of the unit and packet-table tiers (.ci/run runs it after `make test`).
test-san:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 test

# The layout's rules (docs/ARCHITECTURE.md): dependencies one way, no room too big.
test-layout:
	$(Q)bash scripts/check_layout.sh

test-unit: $(UNIT_TESTS)
	$(Q)set -e; for t in $^; do echo "== $$t"; $$t; done

test-bpf: $(BPF_TESTS)
	$(Q)set -e; for t in $^; do echo "== $$t"; $$t; done

# build/bench/empty_tc.bpf.o: the pass-all program test_fault_tamper.sh puts in our place.
test-e2e: all $(BUILD)/zs-probe $(BUILD)/bench/empty_tc.bpf.o
	$(Q)set -e; for t in tests/e2e/test_*.sh; do echo "== $$t"; bash $$t; done

# ---- fuzzing (clang's libFuzzer; the library rebuilt with clang in build/fuzz/) ----
# tests/fuzz/fuzz_<target>.c, seeds in tests/fuzz/corpus/<target>/. `make fuzz`
# runs each target FUZZ_SECONDS; `make test` runs each FUZZ_TEST_SECONDS on the
# seeds (crashes land in build/fuzz/crashes/).
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 4
FUZZ_DIR := build/fuzz
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -g -O1
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))
# The parts a fuzz target reaches (pure code: no kernel, no daemon).
FUZZ_LIB_SRCS := $(wildcard userspace/util/*.c userspace/policy/*.c userspace/proto/*.c) \
	userspace/telemetry/flowfilter.c userspace/telemetry/flows.c
FUZZ_LIB_OBJS := $(patsubst userspace/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRCS))

$(FUZZ_DIR)/obj/%.o: userspace/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(filter-out -D_FORTIFY_SOURCE=2,$(ZS_CFLAGS)) $(FUZZ_FLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) $(filter-out -D_FORTIFY_SOURCE=2 -MMD -MP,$(ZS_CFLAGS)) $(FUZZ_FLAGS) \
		-fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) -o $@ $(LDLIBS)

# run_fuzz(seconds): each target on a scratch copy of its seeds, so the repo's corpus stays small.
define run_fuzz
	$(Q)set -e; mkdir -p $(FUZZ_DIR)/crashes; for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t ($(1) s)"; rm -rf $(FUZZ_DIR)/work/$$t; mkdir -p $(FUZZ_DIR)/work/$$t; \
		$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(1) -max_len=65536 -timeout=10 -print_final_stats=0 \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$t- $(FUZZ_DIR)/work/$$t tests/fuzz/corpus/$$t \
			>$(FUZZ_DIR)/work/$$t.log 2>&1 || { grep -v "^#" $(FUZZ_DIR)/work/$$t.log | tail -30; exit 1; }; \
		grep -h '^Done' $(FUZZ_DIR)/work/$$t.log || true; done
endef

test-fuzz: $(FUZZ_BINS)
	$(call run_fuzz,$(FUZZ_TEST_SECONDS))

fuzz: $(FUZZ_BINS)
	$(call run_fuzz,$(FUZZ_SECONDS))

demo: all $(BUILD)/zs-probe
	$(Q)bash scripts/demo.sh

# ---- benchmarks (as root; scripts/bench.sh runs the sections) --------------
BENCH_PROGS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench_*.c))

$(BUILD)/bench/%: tests/bench/%.c $(TEST_LIB_OBJS) $(BUILD)/libzeroseg.a
	@mkdir -p $(@D)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(TEST_LIB_OBJS) -o $@ $(BUILD)/libzeroseg.a $(LDLIBS)

# The same tc program reporting every packet of a denied flow (no 1 s rate
# limit), so PROG_TEST_RUN repeats make events: tests/bench/bench_events.c.
$(BUILD)/bench/tc_events.bpf.o: bpf/datapath.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DZS_DENY_REPORT_NS=0 -c $< -o $@

$(BUILD)/bench/bench_events: $(BUILD)/bench/tc_events.bpf.o

# The floor bench_packet compares zs_tc_from_ep with (found beside it).
$(BUILD)/bench/%.bpf.o: tests/bench/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Bench builds where every run is a new flow (tests/bench/bench_newflow.h), for bench_packet's
# new-flow rows, and the empty program paying the same per-run counter.
$(BUILD)/bench/tc_newflow.bpf.o: bpf/datapath.bpf.c $(BPF_HDRS) tests/bench/bench_newflow.h
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/bench -DZS_BENCH_NEW_FLOWS -c $< -o $@

$(BUILD)/bench/empty_newflow.bpf.o: tests/bench/empty_tc.bpf.c tests/bench/bench_newflow.h
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/bench -DZS_BENCH_NEW_FLOWS -c $< -o $@

$(BUILD)/bench/bench_packet: $(BUILD)/bench/empty_tc.bpf.o $(BUILD)/bench/tc_newflow.bpf.o \
	$(BUILD)/bench/empty_newflow.bpf.o

bench: all $(BUILD)/zs-probe $(BENCH_PROGS)
	$(Q)bash scripts/bench.sh

bench-quick: all $(BUILD)/zs-probe $(BENCH_PROGS)
	$(Q)bash scripts/bench.sh --quick

deps:
	$(Q)bash scripts/deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/zeroseg/policies
	install -m 0755 $(BUILD)/zeroseg $(DESTDIR)$(PREFIX)/bin/zeroseg
	ln -sf zeroseg $(DESTDIR)$(PREFIX)/bin/zerosegd
	install -m 0644 policies/*.yaml $(DESTDIR)$(PREFIX)/share/zeroseg/policies/

clean:
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
