# darkdaq build.  `make` builds every program; `make check` runs every test;
# `make SANITIZE=address,undefined check` does so in its own build directory;
# `make fuzz` runs each libFuzzer harness for FUZZ_SECONDS; `make bench`;
# `make install` honours PREFIX and DESTDIR.
#
# Sources are found by convention, so adding a module needs no edit here:
#   daemon/*.c daemon/physics/*.c drivers/*.c  -> libdarkdaq.a (not main.c)
#   daemon/main.c                              -> darkdaqd
#   daemon/tools/NAME.c, daemon/tools/NAME/*.c -> darkdaq-NAME
#   tests/test_NAME.c                          -> a unit-test program
#   tests/test_*.py                            -> pytest, after the C tests
#   tests/fuzz/fuzz_NAME.c                     -> a libFuzzer harness
#   tests/bench/bench_NAME.c                   -> a benchmark

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
# every machine (physics.md), whatever -march a packager adds.
CFLAGS_ALL  := -std=gnu11 $(WARN) $(OPT) -ffp-contract=off $(SAN_FLAGS) -D_GNU_SOURCE \
               -DDARKDAQ_VERSION='"$(VERSION)"' \
               -Idaemon -Idaemon/physics -Idrivers -I$(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL  := $(PKG_LIBS) -lm -lpthread $(LDLIBS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)

GEN_C       := $(BUILD)/gen/darkdaq.pb-c.c
GEN_H       := $(BUILD)/gen/darkdaq.pb-c.h
GEN_PY      := $(BUILD)/gen/darkdaq_pb2.py

LIB_SRC     := $(filter-out daemon/main.c,$(wildcard daemon/*.c daemon/physics/*.c drivers/*.c))
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/darkdaq.pb-c.o
LIB         := $(BUILD)/libdarkdaq.a

TOOL_FILES  := $(wildcard daemon/tools/*.c)
TOOL_DIRS   := $(patsubst %/,%,$(dir $(wildcard daemon/tools/*/*.c)))
TOOLS       := $(sort $(patsubst daemon/tools/%.c,darkdaq-%,$(TOOL_FILES)) \
                      $(patsubst daemon/tools/%,darkdaq-%,$(TOOL_DIRS)))
PROGRAMS    := $(BUILD)/bin/darkdaqd $(TOOLS:%=$(BUILD)/bin/%)

TEST_SRC    := $(wildcard tests/test_*.c)
TESTS       := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS     := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_SRC   := $(wildcard tests/bench/bench_*.c)
BENCHES     := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all check check-tsan check-usb fuzz fuzz-build bench install clean programs tests demo run
.SECONDARY:

all: programs $(GEN_PY)
programs: $(PROGRAMS)
tests: $(TESTS)

$(BUILD)/gen/darkdaq.pb-c.c $(BUILD)/gen/darkdaq.pb-c.h: proto/darkdaq.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(GEN_PY): proto/darkdaq.proto
	@mkdir -p $(BUILD)/gen
	protoc --proto_path=proto --python_out=$(BUILD)/gen $<

$(BUILD)/obj/gen/darkdaq.pb-c.o: $(GEN_C) $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) $(SAN_FLAGS) $(PKG_CFLAGS) -I$(BUILD)/gen -c $< -o $@

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

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/run-fuzz.sh $(FUZZ_SRC:tests/fuzz/%.c=%)

check: all $(TESTS)
	BUILD=$(BUILD) PYTHON=$(PYTHON) tests/run.sh $(TESTS)

# The USB test plays the board through umockdev's LD_PRELOAD, so it links
# umockdev and runs under umockdev-wrapper (../shared/recipes/usb-umockdev.md).
UMOCK_PKGS  := umockdev-1.0 gobject-2.0 glib-2.0 libusb-1.0
$(BUILD)/tests/usb/test_usb: tests/usb/test_usb.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags $(UMOCK_PKGS)) $< $(LIB) $(LDFLAGS_ALL) \
	    $(shell pkg-config --libs $(UMOCK_PKGS)) $(LDLIBS_ALL) -o $@

check-usb: $(BUILD)/tests/usb/test_usb
	t=$$(mktemp -d); TMPDIR=$$t ASAN_OPTIONS=verify_asan_link_order=0 umockdev-wrapper \
	    $< > $$t/out 2>&1; r=$$?; cat $$t/out; \
	    echo "$$(grep -c '^ok  ' $$t/out) passed, $$(grep -c '^FAIL' $$t/out) failed"; \
	    rm -rf $$t; exit $$r

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

# The README's main job for now: simulate four boards with faults, build and
# tag the events offline, show the run file and the events per tag.
demo: all
	rm -rf $(BUILD)/demo
	$(BUILD)/bin/darkdaq-sim -n 2000 --seed 7 --process mix --crc-errors 0.01 \
	    --missing 0.01 --duplicates 0.01 --late 0.01 --junk 0.01 -o $(BUILD)/demo
	$(BUILD)/bin/darkdaqd --replay $(BUILD)/demo/board-*.raw -o $(BUILD)/demo/run.dkr
	$(BUILD)/bin/darkdaq-dump $(BUILD)/demo/run.dkr | tail -n 6
	PYTHONPATH=$(BUILD)/gen:proto $(PYTHON) proto/darkdaq_reader.py $(BUILD)/demo/run.dkr

# The main job: darkdaqd on four simulated boards (2 kHz of the physics mix),
# darkdaq-store writing the run, darkdaq-mon to watch it; q in the monitor
# stops the run, and the run file's events per tag are printed.
RUN_DIR := $(BUILD)/run
run: all
	rm -rf $(RUN_DIR) && mkdir -p $(RUN_DIR)/store
	printf '[daemon]\nmetrics = 127.0.0.1:9464\n' > $(RUN_DIR)/darkdaqd.ini
	for b in 0 1 2 3; do printf '[source.board%s]\ndriver = sim\nboard = %s\nseed = 7\nrate_hz = 2000\n' \
	    $$b $$b >> $(RUN_DIR)/darkdaqd.ini; done
	printf '[store]\ndir = %s\nmin_free_bytes = 104857600\n' $(RUN_DIR)/store > $(RUN_DIR)/store.ini
	@echo "logs: $(RUN_DIR)/darkdaqd.log $(RUN_DIR)/store.log; metrics: http://127.0.0.1:9464/metrics"
	$(BUILD)/bin/darkdaq-store -c $(RUN_DIR)/store.ini 2> $(RUN_DIR)/store.log & s=$$!; \
	$(BUILD)/bin/darkdaqd -c $(RUN_DIR)/darkdaqd.ini 2> $(RUN_DIR)/darkdaqd.log & d=$$!; \
	$(BUILD)/bin/darkdaq-ctl --timeout-ms 10000 configure > /dev/null && \
	$(BUILD)/bin/darkdaq-ctl start --run 1 > /dev/null && \
	$(BUILD)/bin/darkdaq-mon; \
	$(BUILD)/bin/darkdaq-ctl stop; kill $$d $$s; wait $$d $$s; \
	PYTHONPATH=$(BUILD)/gen:proto $(PYTHON) proto/darkdaq_reader.py $(RUN_DIR)/store/run-000001-*.dkr

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/darkdaq/python
	install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(GEN_PY) proto/darkdaq.proto $(wildcard proto/*.py) \
	    $(DESTDIR)$(PREFIX)/share/darkdaq/python/
	install -d $(DESTDIR)$(PREFIX)/share/darkdaq/systemd
	install -m 644 $(wildcard systemd/*) $(DESTDIR)$(PREFIX)/share/darkdaq/systemd/

clean:
	rm -rf build build-* 

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
