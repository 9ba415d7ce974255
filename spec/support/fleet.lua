-- Spec helper: a simulated fleet (vbrsim start --servers N) with what the
-- fleet specs need around it: the simulator's view of its servers and a
-- scratch directory, both gone with stop().
local sim = require "spec.support.sim"
local shell = require "spec.support.shell"

local support = {}

function support.start(options)
  local instance = sim.start(options)
  local _, made = shell.run("mktemp -d")
  return {
    sim = instance,
    view = instance:fleet(),
    dir = made:gsub("%s+$", ""),
    stop = function(self)
      instance:stop()
      shell.run("rm -rf " .. shell.quote(self.dir))
    end,
  }
end

return support
