--- `vbr completion bash|zsh|fish` and `vbr manpage`: the shell completions
-- (argparse's generators) and the manual page, both from the parser that
-- `--help` prints, so the three never disagree. The rock installs copies
-- (`completions/`, `doc/vbr.1`); spec/cli_docs_spec.lua checks they are current.
-- @internal vbr.cli.docs

local EXIT = require("vbr.env").EXIT

local ipairs, pairs, sort, concat = ipairs, pairs, table.sort, table.concat

local commands = {}

-- Text for roff: backslashes, leading dots and quotes, and hyphens kept as such.
local function roff(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\\", "\\e"):gsub("%-", "\\-")
    if line:find("^[%.']") then line = "\\&" .. line end
    lines[#lines + 1] = line
  end
  return concat(lines, "\n")
end

--- The manual page (roff) of the `vbr` command.
-- @tparam table parser the argparse parser (`vbr.cli.parser()`)
-- @tparam table paths each command's words
-- @tparam string version
function commands.manpage(parser, paths, version)
  local out = {
    '.TH VBR 1 "" "vbr ' .. version .. '" "User Commands"',
    ".SH NAME",
    "vbr \\- manage the configuration backup of Veeam Backup & Replication servers",
    ".SH SYNOPSIS",
    ".nf", roff(parser:get_usage()), ".fi",
    ".SH DESCRIPTION",
    ".nf", roff(parser:get_help()), ".fi",
    ".SH COMMANDS",
  }
  local ordered = {}
  for command, words in pairs(paths) do
    if command ~= parser then ordered[#ordered + 1] = { words = words, command = command } end
  end
  sort(ordered, function(a, b) return a.words < b.words end)
  for _, entry in ipairs(ordered) do
    out[#out + 1] = ".SS " .. roff(entry.words)
    out[#out + 1] = ".nf"
    out[#out + 1] = roff(entry.command:get_help())
    out[#out + 1] = ".fi"
  end
  for _, line in ipairs {
    ".SH FILES",
    ".TP", "~/.config/vbr/inventory, /etc/vbr/inventory",
    "The inventory: named servers (profiles) and their secret sources, for \\-\\-profile.",
    ".TP", "~/.local/state/vbr/history",
    "The history of vbr repl (with lua\\-readline).",
    ".SH SEE ALSO",
    "The README of vbr; vbr completion bash|zsh|fish.",
  } do out[#out + 1] = line end
  return concat(out, "\n") .. "\n"
end

local function completion(ctx, args)
  ctx.stdout:write(ctx.parser["get_" .. args.shell .. "_complete"](ctx.parser))
  return EXIT.ok
end

local function manpage(ctx)
  local parser, state = require("vbr.cli").parser()
  local ok, vbr = pcall(require, "vbr")
  ctx.stdout:write(commands.manpage(parser, state.paths, ok and vbr._VERSION or "unknown"))
  return EXIT.ok
end

function commands.define(add, parser)
  add(parser, "completion", "Print the completion script of a shell: eval \"$(vbr completion "
    .. "bash)\", or see the README.", completion)
    :argument("shell", "bash, zsh or fish."):choices { "bash", "zsh", "fish" }
  add(parser, "manpage", "Print the manual page (roff), made from this help: vbr manpage | "
    .. "man -l -", manpage)
end

return commands
