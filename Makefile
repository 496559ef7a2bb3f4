# SPDX-License-Identifier: Apache-2.0
# darkdaq build.  `make` builds every program; `make check` runs every test;
# `make SANITIZE=address,undefined check` does so in its own build directory;
# `make fuzz` runs each libFuzzer harness for FUZZ_SECONDS; `make bench`;
# `make install` / `make uninstall` honour PREFIX and DESTDIR.
#
# Sources are found by convention, so adding a module needs no edit here:
#   daemon/*.c daemon/DIR/*.c drivers/*.c      -> libdarkdaq.a (not main.c);
#                                                 DIR: every folder but tools/,
#                                                 each also on the include path
#   daemon/main.c                              -> darkdaqd
#   daemon/tools/NAME.c, daemon/tools/NAME/*.c -> darkdaq-NAME
#   tests/test_NAME.c                          -> a unit-test program
#   tests/preload/NAME.c                       -> libNAME.so, an LD_PRELOAD library for tests
#   tests/test_*.py                            -> pytest, after the C tests
#   tests/fuzz/fuzz_NAME.c                     -> a libFuzzer harness
#   tests/bench/bench_NAME.c                   -> a benchmark
#   proto/darkdaq/                             -> the Python package in
#                                                 $(BUILD)/python (tests, bench)

VERSION     := 0.1.0
PREFIX      ?= /usr/local
DESTDIR     ?=
SANITIZE    ?=
FUZZ_SECONDS ?= 60
PYTHON      ?= /usr/bin/python3

ifeq ($(SANITIZE),)
BUILD       ?= build
SAN_FLAGS   :=
else
BUILD       ?= build-$(subst $(comma),-,$(SANITIZE))
SAN_FLAGS   := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
comma := ,

CC          ?= cc
PKGS        := libzmq libprotobuf-c libusb-1.0 inih libmicrohttpd libisal
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN        := -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror
OPT         ?= -O2 -g
# No FMA contraction: the tagger's numbers are the same bit for bit on
# every machine (daemon/physics/README.md), whatever -march a packager adds.
# The core's folders (physics/, ...): every one under daemon/ but the programs'
# and the manual pages'.
DAEMON_DIRS := $(filter-out daemon/tools daemon/man,$(patsubst %/,%,$(sort $(wildcard daemon/*/))))
CFLAGS_ALL  := -std=gnu11 $(WARN) $(OPT) -ffp-contract=off $(SAN_FLAGS) -D_GNU_SOURCE \
               -DDARKDAQ_VERSION='"$(VERSION)"' \
               -Idaemon $(DAEMON_DIRS:%=-I%) -Idrivers -I$(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL  := $(PKG_LIBS) -lm -lpthread $(LDLIBS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)

GEN_C       := $(BUILD)/gen/darkdaq.pb-c.c
GEN_H       := $(BUILD)/gen/darkdaq.pb-c.h
GEN_PY      := $(BUILD)/gen/darkdaq_pb2.py

LIB_SRC     := $(filter-out daemon/main.c,$(wildcard daemon/*.c $(DAEMON_DIRS:%=%/*.c) drivers/*.c))
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/darkdaq.pb-c.o \
               $(BUILD)/obj/gen/driver_table.o
GEN_DRIVERS := $(BUILD)/gen/driver_table.c
LIB         := $(BUILD)/libdarkdaq.a

TOOL_FILES  := $(wildcard daemon/tools/*.c)
TOOL_DIRS   := $(patsubst %/,%,$(dir $(wildcard daemon/tools/*/*.c)))
TOOLS       := $(sort $(patsubst daemon/tools/%.c,darkdaq-%,$(TOOL_FILES)) \
                      $(patsubst daemon/tools/%,darkdaq-%,$(TOOL_DIRS)))
PROGRAMS    := $(BUILD)/bin/darkdaqd $(TOOLS:%=$(BUILD)/bin/%)

TEST_SRC    := $(wildcard tests/test_*.c)
TESTS       := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
PRELOAD_SRC := $(wildcard tests/preload/*.c)
PRELOADS    := $(PRELOAD_SRC:tests/preload/%.c=$(BUILD)/tests/preload/lib%.so)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS     := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_SRC   := $(wildcard tests/bench/bench_*.c)
BENCHES     := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

# The Python package as pip would install it, for the tests and make bench:
# its .py files and the C extension (never sanitized: it loads into
# /usr/bin/python3).  `pip install ./proto` builds the same sources.
PY_PKG      := $(BUILD)/python/darkdaq
PY_EXT_SUFFIX := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
PY_INCLUDE  := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
PY_SRC      := $(wildcard proto/darkdaq/*.py)
PY_FILES    := $(PY_SRC:proto/darkdaq/%=$(PY_PKG)/%) $(PY_PKG)/_fast$(PY_EXT_SUFFIX)

.PHONY: all check check-tsan check-usb fuzz fuzz-build bench install uninstall clean programs tests demo run FORCE
.SECONDARY:

all: programs $(GEN_PY) $(PY_FILES)
programs: $(PROGRAMS)
tests: $(TESTS) $(PRELOADS)

# Preloaded into programs under test: plain, without the sanitizers (a
# preloaded library must not bring an ASan runtime of its own).
$(BUILD)/tests/preload/lib%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -g -fPIC -shared $< -ldl -lpthread -o $@

$(BUILD)/gen/darkdaq.pb-c.c $(BUILD)/gen/darkdaq.pb-c.h: proto/darkdaq.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(GEN_PY): proto/darkdaq.proto
	@mkdir -p $(BUILD)/gen
	protoc --proto_path=proto --python_out=$(BUILD)/gen $<

$(PY_PKG)/%.py: proto/darkdaq/%.py
	@mkdir -p $(dir $@)
	cp $< $@

$(PY_PKG)/_fast$(PY_EXT_SUFFIX): proto/darkdaq/_fast.c proto/darkdaq/columns.c proto/darkdaq/columns.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) $(OPT) -ffp-contract=off -fPIC -shared -I$(PY_INCLUDE) \
	    proto/darkdaq/_fast.c proto/darkdaq/columns.c -o $@

$(BUILD)/obj/gen/darkdaq.pb-c.o: $(GEN_C) $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) $(SAN_FLAGS) $(PKG_CFLAGS) -I$(BUILD)/gen -c $< -o $@

# The driver table: each drivers/NAME.c that defines `const struct driver
# driver_NAME = {` at the start of a line is in it, so no driver can go
# missing from a program (nothing else names a driver, and a static archive's
# unnamed objects are not linked).  Rewritten only when the list changes.
$(GEN_DRIVERS): FORCE
	@mkdir -p $(dir $@)
	@names=$$(sed -n 's/^const struct driver \(driver_[A-Za-z0-9_]*\) = {.*$$/\1/p' \
	    $(sort $(wildcard drivers/*.c))); \
	{ echo '/* driver_table: generated by the Makefile from drivers/; do not edit. */'; \
	  echo '#include "driver.h"'; echo; \
	  for n in $$names; do echo "extern const struct driver $$n;"; done; echo; \
	  echo 'const struct driver *const driver_table[] = {'; \
	  for n in $$names; do echo "        &$$n,"; done; \
	  echo '        NULL'; echo '};'; } > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/obj/gen/driver_table.o: $(GEN_DRIVERS) $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# Every object waits for the generated header; -MMD tracks the rest.
$(BUILD)/obj/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/darkdaqd: $(BUILD)/obj/daemon/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

.SECONDEXPANSION:
# (no % inside: in a pattern rule's second expansion it would become the stem)
$(BUILD)/bin/darkdaq-%: $$(addprefix $(BUILD)/obj/,$$(subst .c,.o,$$(wildcard daemon/tools/$$*.c daemon/tools/$$*/*.c))) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

# Fuzzers: clang with libFuzzer, ASan and UBSan, in their own directory.
FUZZ_BUILD  := build-fuzz
fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT="-O1 -g" \
	    SAN_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	    $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer $< $(LIB) $(LDLIBS_ALL) -o $@

# The store's data handling is fuzzed with the store's own sources.
STORE_LOGIC := daemon/tools/store/store.c daemon/tools/store/store_file.c \
               daemon/tools/store/store_config.c
$(BUILD)/fuzz/fuzz_store_data: tests/fuzz/fuzz_store_data.c $(STORE_LOGIC) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Idaemon/tools/store -fsanitize=fuzzer $< $(STORE_LOGIC) $(LIB) \
	    $(LDLIBS_ALL) -o $@

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/run-fuzz.sh $(FUZZ_SRC:tests/fuzz/%.c=%)

check: all $(TESTS) $(PRELOADS)
	BUILD=$(BUILD) PYTHON=$(PYTHON) tests/run.sh $(TESTS)

# The USB test plays the board through umockdev's LD_PRELOAD, so it links
# umockdev and runs under umockdev-wrapper (tests/usb/test_usb.c says how).
UMOCK_PKGS  := umockdev-1.0 gobject-2.0 glib-2.0 libusb-1.0
$(BUILD)/tests/usb/test_usb: tests/usb/test_usb.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags $(UMOCK_PKGS)) $< $(LIB) $(LDFLAGS_ALL) \
	    $(shell pkg-config --libs $(UMOCK_PKGS)) $(LDLIBS_ALL) -o $@

# The boards darkdaqd reads in the end-to-end USB test, played from another
# process (umockdev's ioctl handlers answer across processes).
$(BUILD)/tests/usb/usb_board_mock: tests/usb/usb_board_mock.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags $(UMOCK_PKGS)) $< $(LDFLAGS_ALL) \
	    $(shell pkg-config --libs $(UMOCK_PKGS)) -lpthread -o $@

check-usb: all $(BUILD)/tests/usb/test_usb $(BUILD)/tests/usb/usb_board_mock
	BUILD=$(BUILD) PYTHON=$(PYTHON) tests/usb/run.sh

# The tests whose subject is threads, under ThreadSanitizer (clang).
TSAN_TESTS  := $(patsubst tests/%.c,%,$(wildcard tests/test_pcie_ring.c tests/test_ring.c tests/test_source.c \
                                                 tests/test_tagpipe.c))
check-tsan:
	$(MAKE) BUILD=build-tsan SANITIZE=thread CC=clang $(TSAN_TESTS:%=build-tsan/tests/%)
	NO_PYTEST=1 BUILD=build-tsan tests/run.sh $(TSAN_TESTS:%=build-tsan/tests/%)

# Once, first: the CPU, the flags of it that the CRC-32C paths can use
# (ISA-L picks its kernel from them) and the compiler flags.
CPU_FLAGS   := sse4_2|pclmulqdq|avx2|avx512f|avx512bw|avx512vl|vpclmulqdq
bench: all $(BENCHES)
	@echo "cpu: $$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	@echo "cpu flags for CRC and SIMD: $$(grep -m1 -ow -E '$(CPU_FLAGS)' /proc/cpuinfo | tr '\n' ' ')"
	@echo "compiled with: $(CC) $(OPT) $(SAN_FLAGS) $(CFLAGS)"
	@for b in $(BENCHES); do echo "== $$b"; BUILD=$(BUILD) $$b || exit 1; done
	@echo "== tests/bench/bench_python.py"
	@BUILD=$(BUILD) PYTHONPATH=$(BUILD)/python $(PYTHON) tests/bench/bench_python.py
	@echo "== tests/bench/bench_farm.py"
	@BUILD=$(BUILD) DARKDAQ_BUILD=$(BUILD) PYTHONPATH=$(BUILD)/python:$(BUILD)/gen:proto:tests \
	    $(PYTHON) tests/bench/bench_farm.py

# The README's main job for now: simulate four boards with faults, build and
# tag the events offline, show the run file and the events per tag.
demo: all
	rm -rf $(BUILD)/demo
	$(BUILD)/bin/darkdaq-sim -n 2000 --seed 7 --process mix --crc-errors 0.01 \
	    --missing 0.01 --duplicates 0.01 --late 0.01 --junk 0.01 -o $(BUILD)/demo
	$(BUILD)/bin/darkdaqd --replay $(BUILD)/demo/board-*.raw -o $(BUILD)/demo/run.dkr
	$(BUILD)/bin/darkdaq-dump $(BUILD)/demo/run.dkr | tail -n 6
	PYTHONPATH=$(BUILD)/python $(PYTHON) -m darkdaq count $(BUILD)/demo/run.dkr

# The main job: darkdaqd on four simulated boards (2 kHz of the physics mix),
# darkdaq-store writing the run, darkdaq-mon to watch it; q in the monitor
# stops the run, and the run file's events per tag are printed.
# The sockets are ipc:// ones in $(RUN_DIR)/sock, as the default endpoints
# are in /run/darkdaq (a short path: ipc paths are limited to 107 bytes).
RUN_DIR := $(BUILD)/run
RUN_SOCK = ipc://$(abspath $(RUN_DIR))/sock
run: all
	rm -rf $(RUN_DIR) && mkdir -p $(RUN_DIR)/store $(RUN_DIR)/sock
	printf '[daemon]\ncontrol = %s/control\nmonitor = %s/monitor\nstorage = %s/storage\n' \
	    $(RUN_SOCK) $(RUN_SOCK) $(RUN_SOCK) > $(RUN_DIR)/darkdaqd.ini
	printf 'metrics = 127.0.0.1:9464\nstate_dir = %s\n' $(RUN_DIR)/state >> $(RUN_DIR)/darkdaqd.ini
	for b in 0 1 2 3; do printf '[source.board%s]\ndriver = sim\nboard = %s\nseed = 7\nrate_hz = 2000\n' \
	    $$b $$b >> $(RUN_DIR)/darkdaqd.ini; done
	printf '[store]\ndir = %s\ndata = %s/storage\nmin_free_bytes = 104857600\n' $(RUN_DIR)/store \
	    $(RUN_SOCK) > $(RUN_DIR)/store.ini
	@echo "logs: $(RUN_DIR)/darkdaqd.log $(RUN_DIR)/store.log; metrics: http://127.0.0.1:9464/metrics"
	$(BUILD)/bin/darkdaq-store -c $(RUN_DIR)/store.ini 2> $(RUN_DIR)/store.log & s=$$!; \
	$(BUILD)/bin/darkdaqd -c $(RUN_DIR)/darkdaqd.ini 2> $(RUN_DIR)/darkdaqd.log & d=$$!; \
	for i in $$(seq 100); do [ -S $(RUN_DIR)/sock/control ] && break; sleep 0.1; done; \
	$(BUILD)/bin/darkdaq-ctl -e $(RUN_SOCK)/control --timeout-ms 10000 configure > /dev/null && \
	$(BUILD)/bin/darkdaq-ctl -e $(RUN_SOCK)/control start --run 1 > /dev/null && \
	$(BUILD)/bin/darkdaq-mon -c $(RUN_SOCK)/control -m $(RUN_SOCK)/monitor; \
	$(BUILD)/bin/darkdaq-ctl -e $(RUN_SOCK)/control stop; kill $$d $$s; wait $$d $$s; \
	PYTHONPATH=$(BUILD)/python $(PYTHON) -m darkdaq count $(RUN_DIR)/store

# The Python package goes in with pip into PREFIX's dist-packages (--target:
# outside the system's own packages, which PEP 668 leaves to apt; Debian's
# python3 has /usr/local/lib/python3.X/dist-packages on its path), built in
# a copy of proto/ so that the source tree stays clean.
PY_SITE     := $(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)/dist-packages
# Installed like a package: PREFIX=/usr puts the configuration in /etc and
# the units, sysusers, tmpfiles and udev files where systemd and udev look
# (their pkg-config variables); any other prefix keeps all under PREFIX.
# Every systemd/*.service.in becomes a unit with @bindir@ and @sysconfdir@
# filled in; every page in daemon/man/ is installed; samples never replace
# a configuration already there.
s_usr        = $(filter /usr,$(PREFIX))
s_pc         = $(shell pkg-config --variable=$(2) $(1) 2>/dev/null)
BINDIR      ?= $(PREFIX)/bin
SYSCONFDIR  ?= $(if $(s_usr),/etc,$(PREFIX)/etc)
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(or $(if $(s_usr),$(call s_pc,systemd,systemdsystemunitdir)),$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(or $(if $(s_usr),$(call s_pc,systemd,sysusersdir)),$(PREFIX)/lib/sysusers.d)
TMPFILESDIR ?= $(or $(if $(s_usr),$(call s_pc,systemd,tmpfilesdir)),$(PREFIX)/lib/tmpfiles.d)
UDEVRULESDIR ?= $(or $(if $(s_usr),$(addsuffix /rules.d,$(call s_pc,udev,udevdir))),$(PREFIX)/lib/udev/rules.d)
UNITS       := $(patsubst systemd/%.in,%,$(wildcard systemd/*.service.in))
MANPAGES    := $(wildcard daemon/man/*.[1-8])
SAMPLES     := $(wildcard systemd/*.ini)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/share/darkdaq
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 644 proto/darkdaq.proto $(DESTDIR)$(PREFIX)/share/darkdaq/
	rm -rf $(BUILD)/pip-src && cp -r proto $(BUILD)/pip-src
	$(PYTHON) -m pip install --no-build-isolation --no-deps --no-index --upgrade \
	    --target=$(DESTDIR)$(PY_SITE) $(BUILD)/pip-src
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(SYSCONFDIR)/darkdaq
	for u in $(UNITS); do \
	    sed -e 's|@bindir@|$(BINDIR)|g' -e 's|@sysconfdir@|$(SYSCONFDIR)|g' systemd/$$u.in \
	        > $(DESTDIR)$(UNITDIR)/$$u.tmp && chmod 644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 644 systemd/darkdaq.sysusers $(DESTDIR)$(SYSUSERSDIR)/darkdaq.conf
	install -m 644 systemd/darkdaq.tmpfiles $(DESTDIR)$(TMPFILESDIR)/darkdaq.conf
	install -m 644 systemd/99-darkdaq-usb.rules $(DESTDIR)$(UDEVRULESDIR)/
	for f in $(notdir $(SAMPLES)); do [ -e $(DESTDIR)$(SYSCONFDIR)/darkdaq/$$f ] || \
	    install -m 640 systemd/$$f $(DESTDIR)$(SYSCONFDIR)/darkdaq/$$f || exit 1; done
	for m in $(MANPAGES); do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	install -d $(DESTDIR)$(PREFIX)/share/darkdaq/prometheus $(DESTDIR)$(PREFIX)/share/darkdaq/grafana
	install -m 644 systemd/prometheus/*.yml $(DESTDIR)$(PREFIX)/share/darkdaq/prometheus/
	install -m 644 systemd/grafana/*.json $(DESTDIR)$(PREFIX)/share/darkdaq/grafana/
	install -d $(DESTDIR)$(PREFIX)/share/doc/darkdaq
	install -m 644 LICENSE README.md $(DESTDIR)$(PREFIX)/share/doc/darkdaq/

# Removes what install put there, except a configuration (it may be edited).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGRAMS))) \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
	    $(DESTDIR)$(SYSUSERSDIR)/darkdaq.conf $(DESTDIR)$(TMPFILESDIR)/darkdaq.conf \
	    $(DESTDIR)$(UDEVRULESDIR)/99-darkdaq-usb.rules \
	    $(foreach m,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	rm -rf $(DESTDIR)$(PREFIX)/share/darkdaq $(DESTDIR)$(PREFIX)/share/doc/darkdaq \
	    $(DESTDIR)$(PY_SITE)/darkdaq $(wildcard $(DESTDIR)$(PY_SITE)/darkdaq-*.dist-info)

clean:
	rm -rf build build-* 

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
