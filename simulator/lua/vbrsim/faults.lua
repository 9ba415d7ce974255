-- Fault injection: rules that bend the next N answers, optionally only for one
-- method and path. "before" faults answer instead of the server (the request is
-- not processed); "after" faults damage the answer of a processed request.
local json = require "vbrsim.json"
local state = require "vbrsim.state"

local faults = {}

local pairs, ipairs, type, tostring = pairs, ipairs, type, tostring
local format, remove, concat, sort = string.format, table.remove, table.concat, table.sort

-- kind -> {stage, allowed extra keys and their Lua types}
local KINDS = {
  status = { stage = "before",
             keys = { status = "number", retry_after = "number", message = "string" } },
  html_error = { stage = "before", keys = { status = "number" } },
  empty_401 = { stage = "before", keys = {} },
  reset_before = { stage = "before", keys = {} },
  delay = { stage = "delay", keys = { ms = "number" } },
  reset_after = { stage = "after", keys = {} },
  malformed_json = { stage = "after", keys = {} },
  truncated_json = { stage = "after", keys = {} },
  short_body = { stage = "after", keys = {} },
  refuse_refresh = { stage = "token", keys = { empty_body = "boolean" } },
  raw = { stage = "before", keys = { status = "number", content_type = "string",
                                     headers = "table", body = "string", parts = "table" } },
  trickle = { stage = "after", keys = { ms = "number", bytes = "number" } },
  raw_after = { stage = "after", keys = { status = "number", content_type = "string",
                                          headers = "table", body = "string", parts = "table" } },
  patch = { stage = "after", keys = { set = "table", item = "number" } },
}
local MAX_RAW_BYTES = 64 * 1024 * 1024
local COMMON_KEYS = { kind = "string", count = "number", method = "string", path = "string" }

-- Kinds that replace or damage an answer; the first pending one that matches
-- a request wins, in the order the rules were added.
faults.answer_kinds = {}
for kind, info in pairs(KINDS) do
  if info.stage == "before" or info.stage == "after" then faults.answer_kinds[kind] = true end
end

function faults.stage(rule)
  return KINDS[rule.kind].stage
end

-- Checks an admin rule; returns a normalized copy or nil, message.
function faults.check(rule)
  if not json.is_object(rule) then return nil, "a fault must be a JSON object" end
  local info = KINDS[rule.kind]
  if not info then
    local names = {}
    for k in pairs(KINDS) do names[#names + 1] = k end
    sort(names)
    return nil, format("unknown fault kind '%s' (one of: %s)",
                       tostring(rule.kind), concat(names, ", "))
  end
  for key, value in pairs(rule) do
    local want = COMMON_KEYS[key] or info.keys[key]
    if not want then return nil, format("fault %s has no option '%s'", rule.kind, tostring(key)) end
    if type(value) ~= want then return nil, format("fault option '%s' must be a %s", key, want) end
  end
  local count = rule.count or 1
  if count < 1 or count % 1 ~= 0 then return nil, "count must be a positive integer" end
  if rule.kind == "delay" and not rule.ms then return nil, "fault delay needs ms" end
  if rule.kind == "status" and not rule.status then return nil, "fault status needs status" end
  if rule.kind == "patch" and not json.is_object(rule.set) then
    return nil, "fault patch needs set, an object of the members to replace"
  end
  if rule.kind == "raw" or rule.kind == "raw_after" then
    local total = #(rule.body or "")
    for _, part in ipairs(rule.parts or {}) do
      if type(part) ~= "table" or (type(part.text) ~= "string" and type(part.base64) ~= "string")
          or (part.count ~= nil and (type(part.count) ~= "number" or part.count < 0)) then
        return nil, "raw parts are {text = s | base64 = s, count = n}"
      end
      total = total + #(part.text or part.base64) * (part.count or 1)
    end
    if total > MAX_RAW_BYTES then return nil, "raw body above 64 MiB" end
    for name, value in pairs(rule.headers or {}) do
      if type(value) ~= "string" then
        return nil, "raw header " .. tostring(name) .. " must be a string"
      end
    end
  end
  local normalized = state.copy(rule)
  normalized.count = count
  normalized.method = rule.method and rule.method:upper()
  return normalized
end

local function matches(rule, method, path)
  if rule.method and rule.method ~= method then return false end
  local wanted = rule.path
  if not wanted then return true end
  if wanted:sub(-1) == "*" then return path:sub(1, #wanted - 1) == wanted:sub(1, -2) end
  return wanted == path
end

-- Takes one use of the first pending rule of the given kinds (a set or a single
-- kind name) that matches the request; returns the rule or nil.
function faults.take(kinds, method, path)
  if type(kinds) == "string" then kinds = { [kinds] = true } end
  for i, rule in ipairs(state.faults) do
    if kinds[rule.kind] and matches(rule, method, path) then
      rule.count = rule.count - 1
      if rule.count <= 0 then remove(state.faults, i) end
      return rule
    end
  end
  return nil
end

function faults.add(rule)
  state.faults[#state.faults + 1] = rule
end

function faults.pending()
  local list = json.array()
  for i, rule in ipairs(state.faults) do list[i] = rule end
  return list
end

function faults.clear()
  state.faults = {}
end

return faults
