# mlb-bpf - build, test, demo, bench, install.
#
#   make            build build/mlb-bpf (BPF object, skeleton, loader)
#   make test       install missing dependencies, build, run every test
#   make demo       two-uplink namespace bed: attach, traffic, status, detach
#   make bench      compare with no balancing, iptables, nftables and ECMP,
#                   for the host's own sockets (run.sh) and for a router's
#                   forwarded LAN traffic (forward.sh)
#                   (BENCH_ARGS="--rounds 9 --duration 3" for a longer run)
#   make bench-capacity
#                   three uplinks of unequal rates: each balancing method's
#                   download makespan and request times against the links'
#                   summed rate (CAPACITY_ARGS="--quick" for ~4 minutes)
#   make scale      a minute at full socket rate from every CPU: counters,
#                   map memory, sticky map; shared vs per-CPU cursor cost
#                   (SCALE_ARGS="--duration 60 --rounds 7 --count 200000")
#   make vmtest KERNEL=6.1
#                   the suite on another kernel (a Debian linux-image
#                   package) booted in qemu; TESTS="lan demo" for a subset
#   make deps       install the Debian packages mlb-bpf needs
#   make install    install binary, man page, systemd units and bash
#                   completion under $(PREFIX) (DESTDIR for staging)
#   make uninstall  remove what make install installed
#   make V=1        show full commands

BUILD    ?= build
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
# bash-completion's own directory, moved under $(PREFIX) (its .pc file
# names /usr/share whatever the prefix).
BASHCOMPDIR ?= $(or $(shell pkg-config --define-variable=datadir=$(PREFIX)/share \
		--variable=completionsdir bash-completion 2>/dev/null), \
		$(PREFIX)/share/bash-completion/completions)
ARCH     ?= x86
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
VERSION  := 0.2.0

PKGS     := libbpf libnl-3.0 libnl-route-3.0 libnftables inih libmicrohttpd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -Iinclude -I$(BUILD) $(PKG_CFLAGS) \
	     -DMLB_VERSION='"$(VERSION)"'
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARN) \
	      -Ivmlinux/$(ARCH) -Iinclude
# BPF_DEFS: compile-time switches for comparison builds (make scale).
BPF_CFLAGS += $(BPF_DEFS)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Userspace modules; main.c is only in the binary, the rest also in tests.
LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
SKEL     := $(BUILD)/mlb.skel.h
BIN      := $(BUILD)/mlb-bpf
UNITS    := $(BUILD)/systemd/mlb-bpf.service $(BUILD)/systemd/mlb-bpf-watch.service

.PHONY: all units test vmtest demo bench bench-capacity scale deps install uninstall clean check-deps FORCE
all: $(BIN) $(BUILD)/mlb-bpf.8 units
units: $(UNITS)

$(BUILD) $(BUILD)/obj $(BUILD)/tests $(BUILD)/systemd:
	$(Q)mkdir -p $@

$(BUILD)/mlb.bpf.o: bpf/mlb.bpf.c $(wildcard bpf/*.bpf.h) include/mlb.h vmlinux/$(ARCH)/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BUILD)/mlb.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mlb_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: src/%.c $(SKEL) | $(BUILD)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BIN): $(BUILD)/obj/main.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/mlb-bpf.8: man/mlb-bpf.8.in | $(BUILD)
	$(call msg,MAN,$@)
	$(Q)sed 's/@VERSION@/$(VERSION)/g' $< > $@

# The units name the binary by its installed path; the file below changes
# when SBINDIR does, so `make install PREFIX=...` remakes them.
$(BUILD)/systemd/sbindir: FORCE | $(BUILD)/systemd
	$(Q)echo '$(SBINDIR)' | cmp -s - $@ || echo '$(SBINDIR)' > $@

$(BUILD)/systemd/%.service: systemd/%.service.in $(BUILD)/systemd/sbindir
	$(call msg,GEN,$@)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@

-include $(wildcard $(BUILD)/obj/*.d)

include tests/tests.mk

deps:
	$(Q)scripts/install-deps.sh

# Install what is missing, quietly, before test/demo/bench.
check-deps:
	$(Q)scripts/install-deps.sh --if-missing

test: check-deps
	$(Q)$(MAKE) --no-print-directory all test-build
	$(Q)tests/run.sh $(BUILD)

# KERNEL: 6.1, 6.12, a version, a linux-image .deb or an unpacked kernel.
vmtest: check-deps
	$(Q)test -n "$(KERNEL)" || { echo "make vmtest: give KERNEL=6.1 (or 6.12, a version, a .deb, a directory)" >&2; exit 2; }
	$(Q)$(MAKE) --no-print-directory all test-build
	$(Q)scripts/vmtest.sh "$(KERNEL)" $(BUILD)

demo: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory $(BUILD)/crr
	$(Q)scripts/demo.sh $(BUILD)/mlb-bpf $(BUILD)/crr

install: all
	install -D -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/mlb-bpf
	install -D -m 0644 $(BUILD)/mlb-bpf.8 $(DESTDIR)$(MANDIR)/man8/mlb-bpf.8
	install -D -m 0644 $(BUILD)/systemd/mlb-bpf-watch.service \
		$(DESTDIR)$(UNITDIR)/mlb-bpf-watch.service
	install -D -m 0644 $(BUILD)/systemd/mlb-bpf.service \
		$(DESTDIR)$(UNITDIR)/mlb-bpf.service
	install -D -m 0644 completion/mlb-bpf $(DESTDIR)$(BASHCOMPDIR)/mlb-bpf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mlb-bpf $(DESTDIR)$(MANDIR)/man8/mlb-bpf.8 \
		$(DESTDIR)$(UNITDIR)/mlb-bpf-watch.service \
		$(DESTDIR)$(UNITDIR)/mlb-bpf.service \
		$(DESTDIR)$(BASHCOMPDIR)/mlb-bpf

clean:
	rm -rf $(BUILD)

bench: check-deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/crr
	$(Q)bench/run.sh $(BENCH_ARGS)
	$(Q)bench/forward.sh $(BENCH_ARGS)

bench-capacity: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/capacity.sh $(CAPACITY_ARGS)

# The per-CPU cursor comparison build lives in $(BUILD)/percpu, never in
# the product's binary.
scale: check-deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/crr
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/percpu \
		BPF_DEFS=-DMLB_CURSOR_PERCPU $(BUILD)/percpu/mlb-bpf
	$(Q)bench/scale.sh $(SCALE_ARGS)
