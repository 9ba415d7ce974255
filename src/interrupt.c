/*
 * interrupt.c - Ctrl-C for the command line and the REPL (core.interrupt).
 *
 * The standalone interpreters turn the first SIGINT into the error
 * "interrupted!" and let the second one end the process, and Lua 5.1's
 * handler restarts a blocked read(). A REPL must survive every Ctrl-C, and
 * a prompt must see one while it waits for a key; Debian 12 has no signal
 * module for Lua 5.4 (lua-posix stops at 5.3), hence this file.
 *
 *   core.interrupt.mode("raise")    Ctrl-C raises core.interrupt.ERROR in
 *                                   the running code (see below)
 *   core.interrupt.mode("note")     Ctrl-C is only noted (and ends a wait)
 *   core.interrupt.mode("default")  the handler there was before (the
 *                                   interpreter's); returns the mode before
 *   core.interrupt.run(f [, msgh])  xpcall(f, msgh) in "raise" mode, the
 *                                   mode before restored before it returns
 *   core.interrupt.pending()        true once after a Ctrl-C, then false
 *   core.interrupt.wait_input(fd)   true when fd has input to read, false
 *                                   when a Ctrl-C came first
 *   core.interrupt.hold(f, ...)     f(...) with Ctrl-C held: one that comes
 *                                   meanwhile is handled when f returns
 *   core.interrupt.readline_cancel([echo]) ends the line of readline's
 *                                   callback interface (see there)
 *
 * The signal handler only sets flags: it never touches a Lua state, so a
 * Ctrl-C can land anywhere (in libcurl, readline, the allocator, the
 * garbage collector) without harm. In "raise" mode the error is raised at
 * safe points only:
 *   - in Lua code, by a count hook set when the mode is entered (not from
 *     the handler); hooks run in Lua functions only, and the core calls Lua
 *     with libcurl on the stack never, and from its own C frames only under
 *     lua_pcall (the password function), which turns the error into a
 *     failed login (the command line then asks interrupt.pending());
 *   - by the blocking calls of the core (core.sleep, a client's request,
 *     login, logout and perform), which stop waiting and raise once their
 *     C frames are gone: the transfer is aborted from libcurl's progress
 *     callback, which only reads a flag.
 * With another hook set (a debugger, luacov), only the second kind works.
 * On LuaJIT the JIT compiler is off while the hook is set (see jit_call).
 *
 * The handler is installed without SA_RESTART, so a read() blocked on the
 * terminal returns (EINTR) and io.read gives nil at once.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "compat.h"
#include "engine.h"
#include "interrupt.h"

#define INTERRUPTED "vbr: interrupted"
#define HOOK_COUNT 1000                     /* instructions between looks */

enum { MODE_DEFAULT, MODE_NOTE, MODE_RAISE };
static const char *const mode_names[] = { "default", "note", "raise", NULL };

static int mode = MODE_DEFAULT;
static volatile sig_atomic_t pending;       /* for interrupt.pending() */
static volatile sig_atomic_t raising;       /* mode == MODE_RAISE */
static volatile sig_atomic_t owed;          /* a Ctrl-C to raise ("raise" mode) */
static struct sigaction before;             /* the handler there was before ours */
static lua_State *hooked;                   /* the thread our hook is set on */
static int hooked_ref = LUA_NOREF;          /* anchors it in the registry */

static void on_sigint(int sig)
{
    (void)sig;
    pending = 1;
    if (raising)
        owed = 1;
}

int vbr_interrupt_owed(void)
{
    return owed != 0;
}

int vbr_interrupt_armed(void)
{
    return raising != 0 || owed != 0;
}

static int raise_interrupt(lua_State *L)
{
    owed = 0;
    lua_pushliteral(L, INTERRUPTED);
    return lua_error(L);
}

void vbr_interrupt_check(lua_State *L)
{
    if (owed)
        raise_interrupt(L);
}

static void raise_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (owed)
        raise_interrupt(L);
}

/* LuaJIT runs a hot loop as machine code, where no hook is ever called:
 * its JIT compiler is off while the hook is set (package.loaded.jit.off,
 * and .on again if it was on). Returns jit[name]()'s first result; false
 * without LuaJIT. */
static int jit_call(lua_State *L, const char *name)
{
    int result = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "jit");
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, name);
            if (lua_isfunction(L, -1) && lua_pcall(L, 0, 1, 0) == 0)
                result = lua_toboolean(L, -1);
            lua_pop(L, 1);                  /* the result, the message or a non-function */
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return result;
}

static int jit_was_on;

static void arm(lua_State *L)
{
    if (hooked != NULL || lua_gethook(L) != NULL)
        return;                             /* ours already, or someone else's */
    lua_pushthread(L);
    hooked_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    hooked = L;
    jit_was_on = jit_call(L, "status");
    if (jit_was_on)
        jit_call(L, "off");
    lua_sethook(L, raise_hook, LUA_MASKCOUNT, HOOK_COUNT);
}

static void disarm(lua_State *L)
{
    if (hooked == NULL)
        return;
    if (lua_gethook(hooked) == raise_hook)
        lua_sethook(hooked, NULL, 0, 0);
    if (jit_was_on)
        jit_call(L, "on");
    jit_was_on = 0;
    hooked = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, hooked_ref);
    hooked_ref = LUA_NOREF;
}

/* Switches modes; a raise not yet delivered is dropped (pending stays),
 * but for "raise" to "raise" (interrupt.run within interrupt.run). */
static void set_mode(lua_State *L, int wanted)
{
    if (wanted == MODE_RAISE && mode == MODE_RAISE) {
        arm(L);
        raising = 1;
        return;
    }
    raising = 0;
    owed = 0;
    if (wanted != MODE_RAISE)
        disarm(L);
    if (wanted == MODE_DEFAULT && mode != MODE_DEFAULT) {
        sigaction(SIGINT, &before, NULL);
    } else if (wanted != MODE_DEFAULT && mode == MODE_DEFAULT) {
        struct sigaction ours;
        memset(&ours, 0, sizeof ours);
        ours.sa_handler = on_sigint;
        sigemptyset(&ours.sa_mask);
        ours.sa_flags = 0;                  /* no SA_RESTART: a blocked read returns */
        sigaction(SIGINT, &ours, &before);
    }
    mode = wanted;
    if (wanted == MODE_RAISE) {
        arm(L);
        raising = 1;
    }
}

/* core.interrupt.mode(name) -> the mode before */
static int interrupt_mode(lua_State *L)
{
    int wanted = luaL_checkoption(L, 1, NULL, mode_names);
    int old = mode;
    set_mode(L, wanted);
    lua_pushstring(L, mode_names[old]);
    return 1;
}

/* The message handler of interrupt.run: the call is over, so nothing is
 * raised in the handler (an error there would replace the message). */
static int run_handler(lua_State *L)
{
    raising = 0;
    owed = 0;
    if (lua_isnil(L, lua_upvalueindex(1)))
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* core.interrupt.run(f [, msgh]) -> true, ... | false, message
 * Between the end of f and the mode being restored no Lua code runs, so a
 * Ctrl-C cannot raise outside the protected call. */
static int interrupt_run(lua_State *L)
{
    int old = mode;
    int status;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushcclosure(L, run_handler, 1);    /* 1: f, 2: the handler */
    lua_pushvalue(L, 1);
    set_mode(L, MODE_RAISE);
    status = lua_pcall(L, 0, LUA_MULTRET, 2);
    set_mode(L, old);
    lua_pushboolean(L, status == 0);
    lua_replace(L, 2);
    return lua_gettop(L) - 1;
}

/* core.interrupt.pending() -> true once after a Ctrl-C */
static int interrupt_pending(lua_State *L)
{
    lua_pushboolean(L, pending != 0);
    pending = 0;
    return 1;
}

/* SIGINT blocked, and the mask to wait with (the same, SIGINT let through):
 * a Ctrl-C between the look at a flag and the wait cannot be missed. */
static void block_sigint(sigset_t *old, sigset_t *waiting)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, old);
    *waiting = *old;
    sigdelset(waiting, SIGINT);
}

/* core.interrupt.wait_input(fd) -> true | false (a Ctrl-C came first) */
static int interrupt_wait_input(lua_State *L)
{
    sigset_t old, waiting;
    int fd = (int)luaL_checkinteger(L, 1);
    int ready = 1;
    luaL_argcheck(L, fd >= 0 && fd < FD_SETSIZE, 1, "not a descriptor select takes");
    block_sigint(&old, &waiting);
    for (;;) {
        fd_set readable;
        if (pending) {
            ready = 0;
            break;
        }
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        if (pselect(fd + 1, &readable, NULL, NULL, NULL, &waiting) > 0 ||
            (errno != EINTR && errno != EAGAIN))
            break;                          /* input, end of input or an error: read says */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    lua_pushboolean(L, ready);
    return 1;
}

void vbr_interrupt_sleep(double seconds)
{
    sigset_t old, waiting;
    double deadline;
    if (!(seconds > 0))
        return;
    if (seconds > 1e9)                      /* ~31 years; beyond, time_t may not hold it */
        seconds = 1e9;
    deadline = vbr_now() + seconds;
    block_sigint(&old, &waiting);
    while (!owed) {
        struct timespec ts;
        double left = deadline - vbr_now();
        if (!(left > 0))
            break;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        if (pselect(0, NULL, NULL, NULL, &ts, &waiting) == 0)
            break;                          /* the time is up */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* core.interrupt.hold(f, ...) -> f(...): SIGINT blocked meanwhile. */
static int interrupt_hold(lua_State *L)
{
    sigset_t block, old;
    int status;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);   /* a held Ctrl-C is handled here */
    if (status != 0)
        return lua_error(L);
    return lua_gettop(L);
}

/* core.interrupt.readline_cancel([echo]) -> true | false
 *
 * Ends the line of readline's callback interface as readline does for a
 * SIGINT of its own: the state of the line freed, the cursor at its end,
 * then echo() (to write "^C"), then the terminal restored and the handler
 * removed. lua-readline
 * 3.2 (Debian 12) has no such call: its handler_remove closes its stream on
 * the terminal, then calls rl_callback_handler_remove, which, outside the
 * line handler, restores the terminal through rl_outstream, that freed
 * stream (heap corruption). After this call its handler_remove only closes
 * the stream. Reaches the readline lua-readline loaded (never loads one):
 * false, and echo not called, when there is none. */
typedef void (*rl_void_fn)(void);
typedef int (*rl_command_fn)(int count, int key);

/* POSIX: dlsym's answer holds a function's address */
static rl_void_fn readline_function(void *lib, const char *name)
{
    rl_void_fn f;
    void *address = dlsym(lib, name);
    memcpy(&f, &address, sizeof f);
    return f;
}

static rl_command_fn readline_command(void *lib, const char *name)
{
    rl_command_fn f;
    void *address = dlsym(lib, name);
    memcpy(&f, &address, sizeof f);
    return f;
}

static int interrupt_readline_cancel(lua_State *L)
{
    static const char *const libraries[] = {
        "libreadline.so.8", "libreadline.so.7", "libreadline.so", NULL
    };
    void *lib = NULL;
    rl_void_fn sigcleanup = NULL, free_line_state = NULL, handler_remove = NULL;
    rl_void_fn redisplay = NULL;
    rl_command_fn end_of_line = NULL;
    int i, status;
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    for (i = 0; lib == NULL && libraries[i] != NULL; i++)
        lib = dlopen(libraries[i], RTLD_LAZY | RTLD_NOLOAD);
    if (lib != NULL) {
        sigcleanup = readline_function(lib, "rl_callback_sigcleanup");
        free_line_state = readline_function(lib, "rl_free_line_state");
        handler_remove = readline_function(lib, "rl_callback_handler_remove");
        redisplay = readline_function(lib, "rl_redisplay");
        end_of_line = readline_command(lib, "rl_end_of_line");
        dlclose(lib);                       /* lua-readline keeps it loaded */
    }
    if (sigcleanup == NULL || free_line_state == NULL || handler_remove == NULL ||
        redisplay == NULL || end_of_line == NULL) {
        lua_pushboolean(L, 0);
        return 1;
    }
    sigcleanup();                           /* a search or a key sequence under way */
    free_line_state();                      /* the undo list, a message shown */
    end_of_line(1, 0);                      /* "^C" after the line, not over it */
    redisplay();
    status = lua_isfunction(L, 1) ? lua_pcall(L, 0, 0, 0) : 0;
    handler_remove();                       /* the terminal restored, whatever echo did */
    if (status != 0)
        return lua_error(L);
    lua_pushboolean(L, 1);
    return 1;
}

void vbr_interrupt_open(lua_State *L)
{
    static const luaL_Reg functions[] = {
        { "mode", interrupt_mode },
        { "run", interrupt_run },
        { "pending", interrupt_pending },
        { "wait_input", interrupt_wait_input },
        { "hold", interrupt_hold },
        { "readline_cancel", interrupt_readline_cancel },
        { NULL, NULL },
    };
    lua_newtable(L);
    compat_setfuncs(L, functions);
    lua_pushliteral(L, INTERRUPTED);
    lua_setfield(L, -2, "ERROR");
    lua_setfield(L, -2, "interrupt");
}
