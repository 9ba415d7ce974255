/*
 * interrupt.h - Ctrl-C for the command line and the REPL: core.interrupt.
 */
#ifndef VBR_INTERRUPT_H
#define VBR_INTERRUPT_H

#include <lua.h>

/* Sets core.interrupt on the module table at the top of the stack. */
void vbr_interrupt_open(lua_State *L);

/* 1 when a Ctrl-C came in "raise" mode and was not raised yet: a blocking
 * call stops waiting (no Lua state is touched: callable from anywhere). */
int vbr_interrupt_owed(void);
/* Nonzero while vbr_interrupt_owed may become nonzero ("raise" mode), or
 * is: the mode changes only from Lua, never while libcurl runs. */
int vbr_interrupt_armed(void);

/* Raises core.interrupt.ERROR when one is owed; for a C function called from
 * Lua, once nothing but its own frames (and no resource it still holds) is
 * left to unwind. */
void vbr_interrupt_check(lua_State *L);

/* Sleeps, up to a Ctrl-C in "raise" mode. */
void vbr_interrupt_sleep(double seconds);

#endif
