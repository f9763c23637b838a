# tests.mk - test binaries, included by the top-level Makefile.
#
# Unit and BPF tests are cmocka programs; the unit tests and a second copy
# of mlb-bpf are built with AddressSanitizer and UBSan; the configuration
# parser also has a fuzzer (below).

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
# The test build's hooks (MLB_TEST_HIDE_FEATURES, see kernel_features.h): in the
# ASan copy and the unit tests only, never in the shipped binary.
TEST_HOOKS := -DMLB_TEST_HOOKS
ASAN_OBJS := $(patsubst src/%.c,$(BUILD)/asan/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPF_TEST_SRCS := $(wildcard tests/bpf/test_*.c)
BPF_TEST_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPF_TEST_SRCS))
TOOLS := $(BUILD)/crr
# `make fuzz` runs the fuzzer for FUZZ_SECONDS; `make test` runs it too.
FUZZ_SRCS := tests/fuzz/fuzz_config.c src/config.c src/config_keys.c src/options.c src/error.c
FUZZ_BIN := $(BUILD)/fuzz/fuzz_config
FUZZ_SECONDS ?= 30
export FUZZ_SECONDS

.PHONY: test-build
test-build: $(UNIT_BINS) $(BPF_TEST_BINS) $(BUILD)/asan/mlb-bpf $(TOOLS) $(FUZZ_BIN)

$(BUILD)/asan:
	$(Q)mkdir -p $@

$(BUILD)/asan/%.o: src/%.c $(SKEL) | $(BUILD)/asan
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(TEST_HOOKS) -MMD -MP -c $< -o $@

$(BUILD)/asan/mlb-bpf: $(BUILD)/asan/main.o $(ASAN_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(ASAN_OBJS) | $(BUILD)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(TEST_HOOKS) $< $(ASAN_OBJS) $(PKG_LIBS) \
		-lcmocka -o $@

$(BUILD)/tests/test_%: tests/bpf/test_%.c $(LIB_OBJS) | $(BUILD)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIB_OBJS) $(PKG_LIBS) -lcmocka -o $@

$(BUILD)/crr: bench/crr.c bench/crr_server.c bench/crr_tally.c bench/crr_dgram.c \
	      bench/crr.h \
	      | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -std=gnu11 -pthread $(filter %.c,$^) -o $@

-include $(wildcard $(BUILD)/asan/*.d)

# The configuration parser's fuzzer: libFuzzer with ASan and UBSan, built
# from the parser's own sources (no libbpf, libnl or libnftables).
$(BUILD)/fuzz:
	$(Q)mkdir -p $@

$(FUZZ_BIN): $(FUZZ_SRCS) $(wildcard include/*.h) | $(BUILD)/fuzz
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) -g -O1 $(WARN) -std=gnu11 -Iinclude \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(FUZZ_SRCS) $(shell pkg-config --libs inih) -o $@

.PHONY: fuzz
fuzz: check-deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BIN)
	$(Q)tests/fuzz/run.sh $(BUILD)
