# vbr: build, test and demo. `make demo` and `make test` are the two commands
# of the README; both install what is missing first (scripts/install-deps).

VERSION   := $(shell sed -n 's/^local vbr_version = "\(.*\)"/\1/p' vbr-scm-1.rockspec)
SOURCES   := $(wildcard src/*.c)
HEADERS   := $(wildcard src/*.h)
CC        ?= cc
CFLAGS    ?= -O2 -g
WARNINGS  := -Wall -Wextra -Werror
ALL_CFLAGS = -std=gnu99 -fPIC $(WARNINGS) $(CFLAGS) -DVBR_VERSION='"$(VERSION)"'

# Interpreters the core is built for; specs run on lua5.4 and luajit.
LUAS      := lua5.4 luajit lua5.3 lua5.1
lua_cflags = $(shell pkg-config --cflags $(if $(filter luajit,$(1)),luajit,$(1)))

BUSTED    := /usr/bin/busted
LUA_ENV    = LUA_PATH='./?.lua;lua/?.lua;lua/?/init.lua;;'

.PHONY: all deps build build-all test lint spec spec-luajit demo valgrind docs clean

all: build

deps:
	@scripts/install-deps

# build/<lua>/vbr/core.so for each interpreter
define core_rule
build/$(1)/vbr/core.so: $(SOURCES) $(HEADERS) vbr-scm-1.rockspec
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) $(call lua_cflags,$(1)) $$(shell pkg-config --cflags libcurl) \
		-shared -o $$@ $(SOURCES) $$(shell pkg-config --libs libcurl)
endef
$(foreach lua,$(LUAS),$(eval $(call core_rule,$(lua))))

build: deps build/lua5.4/vbr/core.so build/luajit/vbr/core.so
build-all: deps $(foreach lua,$(LUAS),build/$(lua)/vbr/core.so)

lint: deps
	luacheck -q .

# LuaJIT first, so that the last line printed is busted's summary of the
# whole suite on Lua 5.4.
spec-luajit: build
	$(LUA_ENV) luajit $(BUSTED) --run=luajit

spec: build
	$(LUA_ENV) lua5.4 $(BUSTED)

test: build-all lint spec-luajit spec

demo: build
	@$(LUA_ENV) LUA_CPATH='build/lua5.4/?.so;;' lua5.4 examples/demo.lua

valgrind: build
	$(LUA_ENV) valgrind --quiet --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --suppressions=valgrind.supp \
		lua5.4 $(BUSTED) --run=valgrind

# The LDoc reference of lua/ and src/, in docs/.
docs: deps
	ldoc -q .

clean:
	rm -rf build docs
