-- The man page and the shell completions: made from the parser that --help
-- prints, committed for the rock to install, and current.
local cli = require "vbr.cli"
local docs = require "vbr.cli.docs"
local shell = require "spec.support.shell"

-- What `vbr ARGS` prints on stdout (in-process).
local function output_of(argv)
  local parts = {}
  local sink = { write = function(self, ...)
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    return self
  end, flush = function() end }
  local code = cli.main(argv, { stdout = sink, stderr = sink, getenv = function() end,
    isatty = function() return false end })
  assert.equal(0, code)
  return table.concat(parts)
end

local FILES = {
  { "doc/vbr.1", { "manpage" } },
  { "completions/vbr.bash", { "completion", "bash" } },
  { "completions/_vbr", { "completion", "zsh" } },
  { "completions/vbr.fish", { "completion", "fish" } },
}

describe("the man page and the completions", function()
  local rockspec = assert(shell.read("vbr-scm-1.rockspec"))

  for _, file in ipairs(FILES) do
    it(file[1] .. " is what 'vbr " .. table.concat(file[2], " ") .. "' prints now, "
      .. "and the rock installs it", function()
      assert.equal(output_of(file[2]), assert(shell.read(file[1])),
        "regenerate: bin/vbr " .. table.concat(file[2], " ") .. " > " .. file[1])
      assert.truthy(rockspec:find('= "' .. file[1] .. '"', 1, true))
    end)
  end

  it("the man page has a section for every command, with its --help", function()
    local parser, state = cli.parser()
    local page = docs.manpage(parser, state.paths, "test")
    for command, words in pairs(state.paths) do
      if command ~= parser then
        assert.matches(".SS " .. words:gsub("%-", "\\-"), page, 1, true)
      end
    end
    assert.matches("configbackup diff", page, 1, true)
    assert.matches("130", page, 1, true)                 -- the exit codes, as in --help
  end)

  it("bash completes commands and their options", function()
    local script = "source completions/vbr.bash; COMP_WORDS=(vbr configbackup ru); "
      .. "COMP_CWORD=2; _vbr; echo \"${COMPREPLY[*]}\"; COMP_WORDS=(vbr sessions wait --st); "
      .. "COMP_CWORD=3; _vbr; echo \"${COMPREPLY[*]}\""
    local ok, out = shell.run("bash -c " .. shell.quote(script))
    assert.is_true(ok, out)
    assert.equal("run\n--strict\n", out)
  end)
end)
