--- `vbr repl`: a Lua prompt connected to the server (see `vbr.repl`).
-- @internal vbr.cli.repl

local commands = {}

local function repl(ctx)
  local client, code = ctx:connect()
  if not client then return code end
  return require("vbr.repl").run {
    client = client, stdin = ctx.env.stdin, stdout = ctx.stdout, stderr = ctx.stderr,
    interactive = ctx:isatty("stdin"), getenv = ctx.env.getenv,
    readline = ctx.env.stdin == io.stdin,           -- line editing on the real terminal only
    stderr_is_tty = ctx:isatty("stderr"),
  }
end

function commands.define(add, parser)
  add(parser, "repl", "A Lua prompt connected to the server (client, cb, vbr; help()). "
    .. "Reads a script from standard input when it is not a terminal.", repl)
end

return commands
