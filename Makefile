# vbr: build, test and demo. `make demo` and `make test` are the two commands
# of the README; both install what is missing first (scripts/install-deps).

# The version, from its one place; VERSION=X.Y.Z given to `make tag`,
# `make rockspec` or `make rock` is checked against it (a release's number).
ROCKSPEC_VERSION := $(shell sed -n 's/^local vbr_version = "\(.*\)"/\1/p' vbr-scm-1.rockspec)
VERSION   := $(ROCKSPEC_VERSION)
SOURCES   := $(wildcard src/*.c)
HEADERS   := $(wildcard src/*.h)
CC        ?= cc
CFLAGS    ?= -O2 -g
WARNINGS  := -Wall -Wextra -Werror
ALL_CFLAGS = -std=gnu99 -fPIC $(WARNINGS) $(CFLAGS) -DVBR_VERSION='"$(VERSION)"'

# Interpreters the core is built for; specs run on lua5.4 and luajit.
LUAS      := lua5.4 luajit lua5.3 lua5.1
# libssl: the core asks OpenSSL to cleanse what it decrypted (transport_curl.c).
# The order is the search order of the dynamic linker, which binds every
# symbol of libcurl's 32 libraries when Lua loads the core: libcrypto, which
# the core does not call (hence --no-as-needed) but which those libraries
# bind about 4,000 symbols to, first, then libssl, then libcurl and its
# dependencies. Listed after libcurl, libcrypto came eleventh: 1.6M more
# instructions in each process that loads the core (bench/README.md).
CORE_LIBS  = -Wl,--push-state,--no-as-needed $(shell pkg-config --libs libcrypto) \
	-Wl,--pop-state $(shell pkg-config --libs libssl libcurl)
lua_cflags = $(shell pkg-config --cflags $(if $(filter luajit,$(1)),luajit,$(1)))

BUSTED    := /usr/bin/busted
LUA_ENV    = LUA_PATH='./?.lua;lua/?.lua;lua/?/init.lua;;'

.PHONY: all deps deps-checks deps-bench build build-all test lint lint-c spec spec-luajit demo valgrind docs clean \
	asan fuzz fuzz-smoke soak tag rockspec rock

all: build

deps:
	@scripts/install-deps

# valgrind, clang and libFuzzer; wrk and the peers of the benchmark.
deps-checks:
	@scripts/install-deps checks
deps-bench:
	@scripts/install-deps bench

# build/<lua>/vbr/core.so for each interpreter: the loader (src/loader/core.c),
# which opens the core, vbr/core_impl.so beside it, with lazy binding (Lua's
# own dlopen would bind all of libcurl's libraries at once; see the loader).
# The core is linked -z now: its own symbols bind when it is opened. The
# pkg-config flags are expanded when the recipe runs ($$), after `deps`
# (order-only) installed the headers: a fresh machine has none when make
# reads this file.
LOADER    := src/loader/core.c
LOADER_LIBS := -ldl
define core_rule
build/$(1)/vbr/core_impl.so: $(SOURCES) $(HEADERS) vbr-scm-1.rockspec | deps
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) $$(call lua_cflags,$(1)) $$(shell pkg-config --cflags libcurl) \
		-shared -Wl,-z,now -o $$@ $(SOURCES) $$(CORE_LIBS)
build/$(1)/vbr/core.so: $(LOADER) build/$(1)/vbr/core_impl.so
	$$(CC) $$(ALL_CFLAGS) $$(call lua_cflags,$(1)) -shared -o $$@ $(LOADER) $(LOADER_LIBS)
endef
$(foreach lua,$(LUAS),$(eval $(call core_rule,$(lua))))

# build: what the demo runs on; build-all: every interpreter, which the
# suite needs (its specs start the examples and the command on each).
build: deps build/lua5.4/vbr/core.so build/luajit/vbr/core.so
build-all: deps $(foreach lua,$(LUAS),build/$(lua)/vbr/core.so)

lint: deps
	luacheck -q .

# The C static checks (CI runs them): cppcheck and clang-tidy's default
# checks, both failing on any finding. variableScope is off: declarations
# at the head of a block are this code's style.
TIDY_FLAGS = -std=gnu99 -Isrc -DVBR_VERSION='"$(VERSION)"' $(call lua_cflags,lua5.4) \
	$(shell pkg-config --cflags libcurl)
lint-c: deps-checks
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
		--suppress=variableScope --std=c99 -Isrc $(call lua_cflags,lua5.4) src/*.c $(LOADER) fuzz/*.c
	clang-tidy-14 --quiet --warnings-as-errors='*' $(SOURCES) $(LOADER) -- $(TIDY_FLAGS)

# LuaJIT first, so that the last line printed is busted's summary of the
# whole suite on Lua 5.4.
spec-luajit: build-all
	$(LUA_ENV) luajit $(BUSTED) --run=luajit

spec: build-all
	$(LUA_ENV) lua5.4 $(BUSTED)

test: build-all lint docs spec-luajit spec

demo: build
	@$(LUA_ENV) LUA_CPATH='build/lua5.4/?.so;;' lua5.4 examples/demo.lua

# The whole suite with lua5.4 under memcheck (children started with io.popen,
# the simulator and the CLI runs, are not traced).
valgrind: build-all deps-checks
	$(LUA_ENV) valgrind --quiet --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --suppressions=valgrind.supp \
		lua5.4 $(BUSTED) --run=valgrind

# The whole suite with the core built with AddressSanitizer and UBSan. lua5.4
# is not instrumented, so libasan is preloaded; spec/support/asan.lua keeps
# it from children other than Lua interpreters (curl hangs under it); leak
# checks are valgrind's job.
ASAN_CC    ?= gcc
ASAN_LIB    = $(shell $(ASAN_CC) -print-file-name=libasan.so)
ASAN_CFLAGS = -std=gnu99 -fPIC $(WARNINGS) -O1 -g -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-DVBR_VERSION='"$(VERSION)"' $(call lua_cflags,lua5.4)
build/asan/vbr/core_impl.so: $(SOURCES) $(HEADERS) vbr-scm-1.rockspec | deps-checks
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CFLAGS) $(shell pkg-config --cflags libcurl) -shared -Wl,-z,now \
		-o $@ $(SOURCES) $(CORE_LIBS)
build/asan/vbr/core.so: $(LOADER) build/asan/vbr/core_impl.so
	$(ASAN_CC) $(ASAN_CFLAGS) -shared -o $@ $(LOADER) $(LOADER_LIBS)

asan: build-all deps-checks build/asan/vbr/core.so
	$(LUA_ENV) LUA_INIT=@$(CURDIR)/spec/support/asan.lua LD_PRELOAD=$(ASAN_LIB) \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		lua5.4 $(BUSTED) --run=asan

# libFuzzer harnesses (fuzz/*.c, seed corpus in fuzz/corpus/<name>/): `make
# fuzz` runs each FUZZ_SECONDS (300; `make -j2 fuzz` runs two at once), `make
# fuzz-smoke` 30 s each. New inputs go to build/fuzz/work/, crashes to
# build/fuzz/artifacts/.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 300
FUZZERS      := engine response options transport multi json text
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $(WARNINGS) -DVBR_VERSION='"$(VERSION)"' \
		-Isrc $(call lua_cflags,lua5.4) $(shell pkg-config --cflags libcurl)
fuzz_sources_engine    := fuzz/engine.c src/buf.c src/json.c src/text.c
fuzz_sources_text      := fuzz/text.c src/text.c src/buf.c
fuzz_sources_transport := fuzz/transport.c src/buf.c
# the easy transport faked (fuzz/response.c: c:call answered from the input)
fuzz_sources_response  := fuzz/response.c $(filter-out src/transport_curl.c,$(SOURCES))
fuzz_sources_options   := fuzz/options.c $(SOURCES)
# libcurl's multi handle and the easy transport faked (fuzz/multi.c)
fuzz_sources_multi     := fuzz/multi.c $(filter-out src/transport_curl.c,$(SOURCES))
fuzz_sources_json      := fuzz/json.c $(SOURCES)
# A Lua state lives across inputs: LeakSanitizer after every input would
# take 90% of the time (leaks are valgrind's job, on the whole suite).
fuzz_flags_response    := -detect_leaks=0
fuzz_flags_options     := -detect_leaks=0
fuzz_flags_multi       := -detect_leaks=0
fuzz_flags_json        := -detect_leaks=0

build/fuzz/%: fuzz/%.c fuzz/lua_host.h $(SOURCES) $(HEADERS) | deps-checks
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(fuzz_sources_$*) -llua5.4 \
		$(CORE_LIBS)

fuzz-run-%: build/fuzz/%
	@mkdir -p build/fuzz/work/$* build/fuzz/artifacts
	@echo "fuzz: $* for $(FUZZ_SECONDS) s"
	@build/fuzz/$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 $(fuzz_flags_$*) \
		-print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/$*- \
		build/fuzz/work/$* fuzz/corpus/$* > build/fuzz/$*.log 2>&1 \
		|| { tail -n 60 build/fuzz/$*.log; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' \
		build/fuzz/$*.log | sed 's/^/fuzz: $*: /'

fuzz: deps-checks $(addprefix fuzz-run-,$(FUZZERS))

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=30

# 100,000 requests against a simulator with 2-second tokens (not in `make test`).
soak: build
	$(LUA_ENV) LUA_CPATH='build/lua5.4/?.so;;' lua5.4 bench/soak.lua

# vbr against wrk, a bare libcurl loop, lua-curl, LuaSec, Python requests and
# the curl command line, on 127.0.0.1 (bench/README.md; not in `make test`).
.PHONY: bench
bench: build-all deps-bench
	bench/run

# The LDoc reference of lua/ and src/, in doc/reference/ (config.ld); a warning fails.
docs: deps
	ldoc --fatalwarnings -q .

# A release, VERSION being the one of vbr-scm-1.rockspec (bump it there first):
#   make tag        tags vX.Y.Z: a commit of HEAD plus doc/reference/, which
#                   LuaRocks installs with doc/; the branch stays as it is
#   make rockspec   writes vbr-X.Y.Z-1.rockspec, its source the tag at REPO_URL
#   make rock       packs vbr-X.Y.Z-1.src.rock from it (luarocks fetches the tag)
# REPO_URL: the scm rockspec's source.url unless given (git+file:///... works).
REPO_URL ?= $(shell sed -n 's/^   url = "\(.*\)",$$/\1/p' vbr-scm-1.rockspec)
RELEASE    = vbr-$(VERSION)-1
check-version = @[ "$(VERSION)" = "$(ROCKSPEC_VERSION)" ] || { echo "make: VERSION=$(VERSION), \
	but vbr-scm-1.rockspec says $(ROCKSPEC_VERSION): change local vbr_version there first"; exit 1; }

tag: docs
	$(check-version)
	@git diff --quiet HEAD || { echo "make tag: commit your changes first"; exit 1; }
	@! git rev-parse -q --verify refs/tags/v$(VERSION) >/dev/null || \
		{ echo "make tag: v$(VERSION) exists"; exit 1; }
	@index=$$(mktemp) && export GIT_INDEX_FILE=$$index && git read-tree HEAD && \
	git add -f doc/reference && tree=$$(git write-tree) && rm -f $$index && unset GIT_INDEX_FILE && \
	commit=$$(git commit-tree $$tree -p HEAD -m "vbr $(VERSION): HEAD and its reference (doc/reference/)") && \
	git tag -a -m "vbr $(VERSION)" v$(VERSION) $$commit && echo "tagged v$(VERSION): $$commit"

rockspec:
	$(check-version)
	@sed -e '1i -- Made from vbr-scm-1.rockspec by `make rockspec`: the release v$(VERSION).' \
		-e 's/^version = "scm-1"$$/version = "$(VERSION)-1"/' \
		-e 's|^   url = ".*",$$|   url = "$(REPO_URL)",\n   tag = "v$(VERSION)",|' \
		vbr-scm-1.rockspec > $(RELEASE).rockspec
	@grep -q '^   tag = "v$(VERSION)",$$' $(RELEASE).rockspec && \
		grep -q '^version = "$(VERSION)-1"$$' $(RELEASE).rockspec || \
		{ rm -f $(RELEASE).rockspec; echo "make rockspec: vbr-scm-1.rockspec has changed shape"; exit 1; }
	@echo "wrote $(RELEASE).rockspec"

rock: rockspec
	luarocks pack $(RELEASE).rockspec

clean:
	rm -rf build doc/reference
