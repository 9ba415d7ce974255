/*
 * lua_host.h - a Lua 5.4 state for the libFuzzer harnesses that go through
 * the Lua binding (vbr.core linked in, lua-cjson loaded with require, as in
 * production).  A harness gives a Lua driver chunk returning a function;
 * each input is passed to it as a string.  Errors the driver raises are
 * misuse the binding is allowed to raise, except those starting with
 * "INVARIANT", which abort (libFuzzer reports a crash).
 */
#ifndef VBR_FUZZ_LUA_HOST_H
#define VBR_FUZZ_LUA_HOST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#ifndef FUZZ_NO_CORE
int luaopen_vbr_core(lua_State *L);
#endif

static lua_State *fuzz_L;
static int fuzz_driver = LUA_NOREF;

static inline void fuzz_lua_init(const char *driver)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        abort();
    luaL_openlibs(L);
    if (luaL_dostring(L,
            "package.cpath = '/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;' .."
            " package.cpath") != 0)
        abort();
#ifndef FUZZ_NO_CORE
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_vbr_core);
    lua_setfield(L, -2, "vbr.core");
    lua_pop(L, 1);
#endif
    if (luaL_loadstring(L, driver) != 0 || lua_pcall(L, 0, 1, 0) != 0) {
        fprintf(stderr, "fuzz driver: %s\n", lua_tostring(L, -1));
        abort();
    }
    fuzz_driver = luaL_ref(L, LUA_REGISTRYINDEX);
    fuzz_L = L;
}

static inline void fuzz_lua_run(const unsigned char *data, size_t size)
{
    lua_State *L = fuzz_L;
    static unsigned long runs;
    lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_driver);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 1, 0, 0) != 0) {
        const char *msg = lua_tostring(L, -1);
        if (msg != NULL && strncmp(msg, "INVARIANT", 9) == 0) {
            fprintf(stderr, "%s\n", msg);
            abort();
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 0);
    /* clients and jobs hold C memory until collected */
    if (++runs % 64 == 0)
        lua_gc(L, LUA_GCCOLLECT, 0);
}

/* libFuzzer's entry points for a harness that is one Lua driver; setup
 * (a function of the harness, or NULL) gives the state what the driver
 * needs of C before the first input. */
#define FUZZ_LUA_ENTRY_POINTS_WITH(driver, setup)                           \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                      \
    int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);     \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                       \
    {                                                                       \
        void (*fuzz_setup)(lua_State *) = (setup);                          \
        (void)argc;                                                         \
        (void)argv;                                                         \
        fuzz_lua_init(driver);                                              \
        if (fuzz_setup != NULL)                                             \
            fuzz_setup(fuzz_L);                                             \
        return 0;                                                           \
    }                                                                       \
    int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)      \
    {                                                                       \
        fuzz_lua_run(data, size);                                           \
        return 0;                                                           \
    }
#define FUZZ_LUA_ENTRY_POINTS(driver) FUZZ_LUA_ENTRY_POINTS_WITH(driver, NULL)

#endif
