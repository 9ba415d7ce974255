/*
 * interrupt.h - Ctrl-C for the command line and the REPL: core.interrupt.
 */
#ifndef VBR_INTERRUPT_H
#define VBR_INTERRUPT_H

#include <lua.h>

/* Sets core.interrupt on the module table at the top of the stack. */
void vbr_interrupt_open(lua_State *L);

#endif
