# ggfs — build, test and install.
#
#   make                 build build/bin/{gg,ggfs} (gcc by default; CC=clang works)
#   make check           the tree's rules (tests/rules.sh), what gg and ggfs
#                        link of OpenSSL (check-link), then the whole test
#                        suite, plain and under ASan+UBSan
#   make check-slow      the slower tier (tests/slow.list, tests/slow/*.sh)
#   make check-projects  real Debian source packages built lazily (tests/projects/*.sh)
#   make demo            build a real C program lazily through a ggfs mount
#   make bench           run the benchmarks under bench/
#   make install PREFIX=/usr/local     (also DESTDIR=...; writes only under it)
#   make install-mount-helper          root: /sbin/mount.ggfs, for `mount -t ggfs`
#   make lambda-package  build/gg-lambda.zip for AWS Lambda (see README.md)
#
# Sources are found by wildcard: a new module is a new .c file in its folder.

CC ?= cc
PREFIX ?= /usr/local
SBINDIR ?= /sbin
BUILD ?= build
SAN ?=
# Tests run at once by make check (tests/run.sh -j; servers' tests one at a time).
TEST_JOBS ?= 2

# libcurl: headers only. backend/curl_dl.c loads it with dlopen() on first use,
# because linking it makes every gg start-up (one per model run during
# `gg infer`) load its ~30 libraries: ~5 ms of a ~6 ms start.
# OpenSSL: SHA-256 from libcrypto.a, because linking libcrypto.so costs ~2 ms
# of relocations at every start (core/hash.c); TLS, which only gg worker
# needs, from libssl.so loaded on first use (backend/ssl_dl.h).
PKGS := fuse3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) openssl libcurl 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -l:libcrypto.a -Wl,--exclude-libs,libcrypto.a

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS := -Wl,--as-needed $(PKG_LIBS) -lpthread
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# The library rules below come first in the file: `make` alone builds all.
.DEFAULT_GOAL := all

# One library per folder, listed from the top layer down (the order a static
# link needs: a library may use only those after it, so a lower layer that
# calls a higher one does not link). Programs: fs/ is ggfs, tools/cli/ is gg.
LIB_DIRS := tools/infer tools/trace tools backend/engine backend/remote backend/storage backend core
lib_name = $(BUILD)/lib/libgg-$(subst /,-,$(1)).a
LIBS := $(foreach d,$(LIB_DIRS),$(call lib_name,$(d)))
define lib_rule
$(call lib_name,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard $(1)/*.c)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach d,$(LIB_DIRS),$(eval $(call lib_rule,$(d))))
CLI_SRC := $(sort $(wildcard tools/cli/*.c))
FS_SRC := $(sort $(wildcard fs/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%)

BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

BIN := $(BUILD)/bin/gg $(if $(FS_SRC),$(BUILD)/bin/ggfs)

.PHONY: all check check-rules check-link check-plain check-asan check-slow check-projects deps deps-test demo bench install \
	install-mount-helper clean format format-check tests lambda-package mutate
all: $(BIN) $(BUILD)/bin/gg-run

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/bin/gg: $(CLI_SRC:%.c=$(BUILD)/obj/%.o) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/gg-run: $(BUILD)/bin/gg
	ln -sf gg $@

$(BUILD)/bin/ggfs: $(FS_SRC:%.c=$(BUILD)/obj/%.o) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests of a module of fs/ (a program, not a library): test_fs_NAME
# links fs/NAME.o, and fs/state.o (struct ggfs's defaults and locks).
$(BUILD)/tests/test_fs_%: $(BUILD)/obj/tests/unit/test_fs_%.o $(BUILD)/obj/fs/%.o $(BUILD)/obj/fs/state.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests of gg's commands (tools/cli/ is a program, not a library):
# test_cli_NAME links every command but gg.c (its main).
CLI_CMD_OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out tools/cli/gg.c,$(CLI_SRC)))
$(BUILD)/tests/test_cli_%: $(BUILD)/obj/tests/unit/test_cli_%.o $(CLI_CMD_OBJ) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets link a small driver (tests/fuzz/driver.c) that replays a corpus
# and then mutates it for a bounded time, and the failure reporter they share
# (tests/fuzz/fail.c, also linked under libFuzzer); see tests/fuzz/README.
$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/driver.o \
		$(BUILD)/obj/tests/fuzz/fail.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests: all $(UNIT_BIN) $(FUZZ_BIN) $(BENCH_BIN)

# `make check` installs the missing Debian packages the tests need
# (tools/deps.sh test), then runs the suite twice: a plain build and an
# ASan+UBSan build, each TEST_JOBS tests at a time (tests/serial.list: the
# tests that start servers run one at a time).
check: deps-test
	$(MAKE) check-rules
	$(MAKE) check-link
	$(MAKE) format-check
	$(MAKE) check-plain
	$(MAKE) check-asan

# The only OpenSSL code linked into gg and ggfs is SHA-256's (PKG_LIBS), by
# the link map's list of libcrypto.a members: any other part would be a
# second copy beside the libssl.so that TLS loads, with its own state
# (backend/ssl_dl.h). And none of it is exported (--exclude-libs), so that
# libcrypto.so, once loaded, cannot bind to it. A link of its own, with a
# map: the programs' own links stay plain ones, which gg infer can model.
CRYPTO_MEMBERS := sha256|sha256-x86_64|cpuid|x86_64cpuid|ctype
define link_check
	$(CC) $(LDFLAGS) -Wl,-Map=$(BUILD)/check-link/$(1).map -o $(BUILD)/check-link/$(1) $(2) \
		$(LIBS) $(LDLIBS)
	@test -s $(BUILD)/check-link/$(1).map
	@extra=$$(grep -o 'libcrypto\.a([^)]*)' $(BUILD)/check-link/$(1).map | sort -u | \
		grep -v -E '\(libcrypto-lib-($(CRYPTO_MEMBERS))\.o\)'); \
	if [ -n "$$extra" ]; then echo "$(1) links OpenSSL code beyond SHA-256:" $$extra \
		"(call it through backend/ssl_dl.h)"; exit 1; fi
	@dyn=$$(nm -D --defined-only $(BUILD)/bin/$(1)) || exit 1; \
	if echo "$$dyn" | grep -E ' (SHA|CRYPTO|OPENSSL|ossl)'; then \
		echo "$(1) exports OpenSSL symbols"; exit 1; fi
endef
check-link: all
	@mkdir -p $(BUILD)/check-link
	$(call link_check,gg,$(CLI_SRC:%.c=$(BUILD)/obj/%.o))
	$(call link_check,ggfs,$(FS_SRC:%.c=$(BUILD)/obj/%.o))

# Layers point one way (and the other greppable rules): see tests/rules.sh.
# And every mutant of tests/mutants.txt still applies (its find text once).
check-rules:
	tests/rules.sh
	tests/mutate.sh --check

check-plain:
	$(MAKE) BUILD=build tests
	tests/run.sh -j $(TEST_JOBS) build

check-asan:
	$(MAKE) BUILD=build-asan SAN=1 tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh -j $(TEST_JOBS) build-asan

# The slower tier: the e2e tests of tests/slow.list (real projects, big
# trees), plain and under ASan+UBSan, and longer versions of some e2e tests
# (tests/slow/*.sh, e.g. 50 kill -9s).
check-slow: tests
	$(MAKE) BUILD=build-asan SAN=1 tests
	@rc=0; GG_TIER=slow tests/run.sh -j $(TEST_JOBS) $(BUILD) || rc=1; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		GG_TIER=slow tests/run.sh -j $(TEST_JOBS) build-asan || rc=1; \
	for t in tests/slow/*.sh; do echo "== $$t"; bash $$t $(BUILD) || rc=1; done; exit $$rc

# The slower tier, part two: real projects (zlib with ./configure and with
# CMake, json-c with Make and Ninja, libyaml, xz-utils, Lua, git: build only) from Debian's source packages, each configured and inferred through its
# own build system, forced through a mount, its test suite run there, every
# output equal to a plain build's; and Lua shared by several clients through
# one radosgw bucket and one Redis (lua_team.sh). The first run fetches the sources.
# Then the smallest of them, Lua, once more with the ASan+UBSan gg and ggfs
# (build-asan; its edit script is left to the plain pass) when build-asan is
# built (make check-slow builds it; PROJECTS_ASAN=yes: its absence fails).
PROJECTS_ASAN ?= if-built
check-projects: tests
	@rc=0; all=$$(date +%s); for t in tests/projects/*.sh; do echo "== $$t"; s=$$(date +%s); \
		bash $$t $(BUILD) || rc=1; echo "   ($$(($$(date +%s) - s)) s)"; done; \
		if [ "$(BUILD)" = build-asan ]; then :; \
		elif [ -x build-asan/bin/gg ] && [ -x build-asan/bin/ggfs ]; then \
			echo "== tests/projects/lua.sh under ASan+UBSan (build-asan)"; s=$$(date +%s); \
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 GG_PROJ_NO_EDITS=1 \
				bash tests/projects/lua.sh build-asan || rc=1; echo "   ($$(($$(date +%s) - s)) s)"; \
		elif [ "$(PROJECTS_ASAN)" = yes ]; then echo "not ok - check-projects: build-asan is not built" \
			"(PROJECTS_ASAN=yes; make BUILD=build-asan SAN=1 tests)"; rc=1; \
		else echo "== no ASan+UBSan pass: build-asan is not built (make BUILD=build-asan SAN=1 tests)"; fi; \
		echo "== check-projects: $$(($$(date +%s) - all)) s in all"; exit $$rc

# The mutation catalogue (tests/mutants.txt): does some test kill each
# one-line bug in a check that guards a result? On demand, not in check.
# MUTATE_JOBS mutants at once, each in a scratch tree of its own.
MUTATE_JOBS ?= 2
mutate: deps-test
	GG_MUTATE_JOBS=$(MUTATE_JOBS) tests/mutate.sh $(MUTANT)

# Missing Debian packages: `deps` what building and the demo need, `deps-test`
# what the whole test suite needs (servers, ffmpeg, chromium, ...).
deps:
	@tools/deps.sh build

deps-test:
	@tools/deps.sh test

# An AWS Lambda custom-runtime zip whose bootstrap is `gg worker`.
lambda-package: all
	tools/lambda-package.sh $(BUILD)

demo: deps all
	tools/demo.sh build

bench: deps-test all $(BENCH_BIN)
	bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	ln -sf gg $(DESTDIR)$(PREFIX)/bin/gg-run
	install -m 0755 tools/mount.ggfs $(DESTDIR)$(PREFIX)/bin/mount.ggfs
	install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(wildcard man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(wildcard man/*.7) $(DESTDIR)$(PREFIX)/share/man/man7/

# mount(8) looks for a helper named mount.TYPE only in /sbin: these links make
# `mount -t ggfs` and fstab lines of type ggfs work (as root). Without them,
# `mount -t fuse.ggfs` works when ggfs is on the standard path (see ggfs(1)).
install-mount-helper: install
	install -d $(DESTDIR)$(SBINDIR)
	ln -sf $(PREFIX)/bin/mount.ggfs $(DESTDIR)$(SBINDIR)/mount.ggfs
	ln -sf $(PREFIX)/bin/mount.ggfs $(DESTDIR)$(SBINDIR)/mount.fuse.ggfs

FORMATTED = $(wildcard $(foreach d,$(LIB_DIRS) fs tools/cli,$(d)/*.[ch]) tests/unit/*.[ch] tests/fuzz/*.[ch] \
	bench/*.[ch])

format:
	clang-format -i $(FORMATTED)

# Fails, naming the file and line, where a source is not in .clang-format's style.
format-check:
	clang-format --dry-run -Werror $(FORMATTED)

clean:
	rm -rf build build-asan build-clang

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
