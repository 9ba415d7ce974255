/*
 * interrupt.c - Ctrl-C for the command line and the REPL (core.interrupt).
 *
 * The standalone interpreters turn the first SIGINT into the error
 * "interrupted!" and let the second one end the process, and Lua 5.1's
 * handler restarts a blocked read(). A REPL must survive every Ctrl-C, and
 * a prompt must see one while it waits for a key; Debian 12 has no signal
 * module for Lua 5.4 (lua-posix stops at 5.3), hence these few lines.
 *
 *   core.interrupt.mode("raise")    Ctrl-C raises core.interrupt.ERROR in
 *                                   the running Lua code (at its next call,
 *                                   return or instruction)
 *   core.interrupt.mode("note")     Ctrl-C is only noted (and ends a wait)
 *   core.interrupt.mode("default")  the handler there was before (the
 *                                   interpreter's); returns the mode before
 *   core.interrupt.pending()        true once after a Ctrl-C, then false
 *   core.interrupt.wait_input(fd)   true when fd has input to read, false
 *                                   when a Ctrl-C came first
 *
 * The handler is installed without SA_RESTART, so a read() blocked on the
 * terminal returns (EINTR) and io.read gives nil at once.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "compat.h"
#include "interrupt.h"

#define INTERRUPTED "vbr: interrupted"

enum { MODE_DEFAULT, MODE_NOTE, MODE_RAISE };
static const char *const mode_names[] = { "default", "note", "raise", NULL };

static int mode = MODE_DEFAULT;
static lua_State *raise_in;                 /* the state whose code gets the error */
static volatile sig_atomic_t pending;
static volatile sig_atomic_t raising;
static struct sigaction before;             /* the handler there was before ours */

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lua_pushliteral(L, INTERRUPTED);
    lua_error(L);
}

/* lua_sethook may be called from a signal handler (Lua's manual says so). */
static void on_sigint(int sig)
{
    (void)sig;
    pending = 1;
    if (raising)
        lua_sethook(raise_in, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* core.interrupt.mode(name) -> the mode before */
static int interrupt_mode(lua_State *L)
{
    int wanted = luaL_checkoption(L, 1, NULL, mode_names);
    int old = mode;
    raising = 0;
    if (lua_gethook(L) == stop_hook)        /* a raise not yet delivered */
        lua_sethook(L, NULL, 0, 0);
    if (wanted == MODE_DEFAULT && old != MODE_DEFAULT) {
        sigaction(SIGINT, &before, NULL);
    } else if (wanted != MODE_DEFAULT && old == MODE_DEFAULT) {
        struct sigaction ours;
        memset(&ours, 0, sizeof ours);
        ours.sa_handler = on_sigint;
        sigemptyset(&ours.sa_mask);
        ours.sa_flags = 0;                  /* no SA_RESTART: a blocked read returns */
        sigaction(SIGINT, &ours, &before);
    }
    mode = wanted;
    if (wanted == MODE_RAISE) {
        raise_in = L;
        raising = 1;
    }
    lua_pushstring(L, mode_names[old]);
    return 1;
}

/* core.interrupt.pending() -> true once after a Ctrl-C */
static int interrupt_pending(lua_State *L)
{
    lua_pushboolean(L, pending != 0);
    pending = 0;
    return 1;
}

/* core.interrupt.wait_input(fd) -> true | false (a Ctrl-C came first) */
static int interrupt_wait_input(lua_State *L)
{
    struct pollfd p;
    p.fd = (int)luaL_checkinteger(L, 1);
    p.events = POLLIN;
    for (;;) {
        p.revents = 0;
        if (pending) {
            lua_pushboolean(L, 0);
            return 1;
        }
        if (poll(&p, 1, -1) > 0 || (errno != EINTR && errno != EAGAIN)) {
            lua_pushboolean(L, 1);          /* input, end of input or an error: read says */
            return 1;
        }
    }
}

void vbr_interrupt_open(lua_State *L)
{
    static const luaL_Reg functions[] = {
        { "mode", interrupt_mode },
        { "pending", interrupt_pending },
        { "wait_input", interrupt_wait_input },
        { NULL, NULL },
    };
    lua_newtable(L);
    compat_setfuncs(L, functions);
    lua_pushliteral(L, INTERRUPTED);
    lua_setfield(L, -2, "ERROR");
    lua_setfield(L, -2, "interrupt");
}
