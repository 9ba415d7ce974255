/*
 * loader/core.c - vbr/core.so: opens the core, vbr/core_impl.so beside it,
 * with lazy binding, and returns what its luaopen_vbr_core returns.
 *
 * Lua's require loads a C module with dlopen(RTLD_NOW), which binds every
 * symbol of every library the module pulls in at once: for the core that is
 * libcurl and its 32 libraries (Kerberos, LDAP, GnuTLS, GMP, ...), some
 * 1,800 of whose bindings no vbr process ever uses. Loaded by this shim
 * with RTLD_LAZY, each library binds as it was built to, as in the curl
 * command line: the core itself and the libraries linked -z now (libcurl,
 * OpenSSL, most of the rest) at once, the others on first call. A cold
 * start (load, log in, GET, exit) makes 3M instructions fewer of 41M
 * (bench/README.md). The core is linked -z now (Makefile), so a symbol its
 * libcurl lacks still fails the require, not a later call.
 *
 * RTLD_LOCAL, as Lua loads modules: nothing of libcurl becomes visible to
 * other modules. The handle stays open for the life of the process (Lua
 * keeps its C modules loaded while a state uses them; any state may).
 */
/* NOLINTNEXTLINE(bugprone-reserved-identifier): glibc declares dladdr under it */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#define IMPL_NAME "core_impl.so"

int luaopen_vbr_core(lua_State *L);

int luaopen_vbr_core(lua_State *L)
{
    Dl_info self;
    const char *slash;
    char *path;
    size_t dir_len;
    void *impl;
    lua_CFunction open;

    /* this file's own path, as dlopen was given it: always .../vbr/core.so
     * (the module's name), so the core's is the same with another name */
    if (dladdr((void *)luaopen_vbr_core, &self) == 0 || self.dli_fname == NULL
        || (slash = strrchr(self.dli_fname, '/')) == NULL)
        return luaL_error(L, "vbr.core: cannot tell where vbr/core.so is");
    dir_len = (size_t)(slash - self.dli_fname) + 1;
    path = malloc(dir_len + sizeof IMPL_NAME);
    if (path == NULL)
        return luaL_error(L, "vbr.core: out of memory");
    memcpy(path, self.dli_fname, dir_len);
    memcpy(path + dir_len, IMPL_NAME, sizeof IMPL_NAME);
    impl = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    free(path);
    if (impl == NULL)
        return luaL_error(L, "vbr.core: %s", dlerror());
    *(void **)&open = dlsym(impl, "luaopen_vbr_core");
    if (open == NULL)
        return luaL_error(L, "vbr.core: %s", dlerror());
    return open(L);
}
