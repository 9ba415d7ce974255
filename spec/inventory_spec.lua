-- vbr.inventory: the file of named servers shared by `vbr --profile` and
-- `vbr fleet`: parsing, every error with FILE:LINE, entry and field, the
-- secret sources and selection by name and tag.
local inventory = require "vbr.inventory"
local shell = require "spec.support.shell"

local EXAMPLE = [[
# vbr inventory
[defaults]                         # optional, first
username = backupadmin
password_file = /etc/vbr/password
ca_file = /etc/vbr/ca.pem
api_version = auto

[vbr-paris]                        ; a server
url = https://vbr-paris.example.com:9419
tags = prod, eu

[vbr-lab]
url = https://127.0.0.1:9419
username = .\labadmin
password_env = VBR_LAB_PASSWORD
pinned_public_key = sha256//AAAAbbbbCCCC0123+/==
insecure = false
timeout = 30
connect_timeout = 2.5
tags = lab
description = "  the lab, in the basement  "

[vbr-berlin]
url = https://vbr-berlin.example.com
tags = prod,eu , de
]]

-- The one problem of a text that must be refused.
local function refused(text)
  local inv, err = inventory.parse(text, "inv.ini")
  assert.is_nil(inv)
  assert.equal("invalid", err.kind)
  assert.equal(tostring(err), err.message)
  return err
end

local function names(servers)
  local out = {}
  for i, server in ipairs(servers) do out[i] = server.name end
  return table.concat(out, ",")
end

describe("vbr.inventory.parse", function()
  it("reads servers in file order, with the defaults applied", function()
    local inv = assert(inventory.parse(EXAMPLE, "inv.ini"))
    assert.equal("vbr-paris,vbr-lab,vbr-berlin", names(inv.servers))
    local paris, lab, berlin = inv.servers[1], inv.servers[2], inv.servers[3]
    assert.same({
      name = "vbr-paris", line = 8, source = "inv.ini",
      url = "https://vbr-paris.example.com:9419", username = "backupadmin",
      ca_file = "/etc/vbr/ca.pem", api_version = "auto", tags = { "prod", "eu" },
      secret = { kind = "file", value = "/etc/vbr/password" },
    }, paris)
    assert.equal(".\\labadmin", lab.username)
    assert.same({ kind = "env", value = "VBR_LAB_PASSWORD" }, lab.secret)
    assert.equal("sha256//AAAAbbbbCCCC0123+/==", lab.pinned_public_key)
    assert.is_false(lab.insecure)
    assert.equal(30, lab.timeout)
    assert.equal(2.5, lab.connect_timeout)
    assert.same({ "lab" }, lab.tags)
    assert.equal("  the lab, in the basement  ", lab.description)
    assert.same({ "prod", "eu", "de" }, berlin.tags)
    assert.equal("backupadmin", berlin.username)
  end)

  it("takes CRLF line ends, a last line without one, and an empty file", function()
    local inv = assert(inventory.parse("[a]\r\nurl = https://a\r\npassword_prompt = true"))
    assert.equal("https://a", inv.servers[1].url)
    assert.same({ kind = "prompt" }, inv.servers[1].secret)
    assert.same({}, assert(inventory.parse("")).servers)
  end)

  it("lets a server's secret source replace the defaults' one", function()
    local inv = assert(inventory.parse("[defaults]\npassword_file = /p\n[a]\nurl = https://a\n"
      .. "password_command = pass show vbr/a\n[b]\nurl = https://b\n"))
    assert.same({ kind = "command", value = "pass show vbr/a" }, inv.servers[1].secret)
    assert.same({ kind = "file", value = "/p" }, inv.servers[2].secret)
  end)

  it("leaves the secret out when no section gives one", function()
    local inv = assert(inventory.parse("[a]\nurl = https://a\n"))
    assert.is_nil(inv.servers[1].secret)
  end)

  describe("refuses, naming FILE:LINE, the entry and the field", function()
    local cases = {
      { "[a]\nurl = https://a\npassword = hunter2\n",
        "inv.ini:3: entry 'a': field 'password': never the secret itself in the file" },
      { "[a]\nurl = https://a\npasword_file = /p\n", "inv.ini:3: entry 'a': field "
        .. "'pasword_file': unknown field (did you mean 'password_file'?)" },
      { "[a]\nurl = https://a\n[a]\nurl = https://b\n",
        "inv.ini:3: entry 'a': defined twice (first on line 1)" },
      { "[a]\nurl = https://a\nurl = https://b\n",
        "inv.ini:3: entry 'a': field 'url': given twice (first on line 2)" },
      { "[a]\nurl = http://a\n", "inv.ini:2: entry 'a': field 'url': must start with https://" },
      { "[a]\nurl = https://me:pw@a\n",
        "inv.ini:2: entry 'a': field 'url': must not hold a user name or password" },
      { "[a]\nusername = x\n", "inv.ini:1: entry 'a': field 'url': missing" },
      { "[a]\nurl = https://a\npassword_file = /p\npassword_env = P\n",
        "inv.ini:4: entry 'a': field 'password_env': a second secret source "
          .. "('password_file' is on line 3)" },
      { "[a]\nurl = https://a\ninsecure = yes\n",
        "inv.ini:3: entry 'a': field 'insecure': must be true or false, not 'yes'" },
      { "[a]\nurl = https://a\napi_version = 1.3-rev9\n",
        "inv.ini:3: entry 'a': field 'api_version': must be auto or one of 1.1-rev0" },
      { "[a]\nurl = https://a\ntimeout = -1\n",
        "inv.ini:3: entry 'a': field 'timeout': must be a number of seconds above 0" },
      { "[a]\nurl = https://a\nconnect_timeout = soon\n",
        "inv.ini:3: entry 'a': field 'connect_timeout': must be a number of seconds above 0" },
      { "[a]\nurl = https://a\ntags = prod,,eu\n",
        "inv.ini:3: entry 'a': field 'tags': must be names" },
      { "[a]\nurl = https://a\npassword_env = 1X\n",
        "inv.ini:3: entry 'a': field 'password_env': must be the name of an environment variable" },
      { "[a]\nurl = https://a\npassword_prompt = yes\n",
        "inv.ini:3: entry 'a': field 'password_prompt': must be true" },
      { "[a]\nurl = https://a\npinned_public_key = AAAA\n",
        "inv.ini:3: entry 'a': field 'pinned_public_key': must be sha256//" },
      { "[a]\nurl = https://a\nusername =\n",
        "inv.ini:3: entry 'a': field 'username': must not be empty" },
      { "url = https://a\n", "inv.ini:1: field 'url': a key outside any [section]" },
      { "[a b]\nurl = https://a\n", "inv.ini:1: entry 'a b': a name is made of" },
      { "[a]\nurl = https://a\n[defaults]\nusername = x\n",
        "inv.ini:3: entry 'defaults': [defaults] must come before every server" },
      { "[defaults]\nurl = https://a\n",
        "inv.ini:2: entry 'defaults': field 'url': a url belongs to one server" },
      { "[a] x\nurl = https://a\n", "inv.ini:1: entry 'a': unexpected text after [a]" },
      { "[a]\nurl = https://a\njust words\n",
        "inv.ini:3: entry 'a': expected [name], key = value, a comment or a blank line" },
    }
    for _, case in ipairs(cases) do
      it(case[2], function()
        local err = refused(case[1])
        assert.equal(1, #err.problems)
        assert.matches(case[2], err.message, 1, true)
        local problem = err.problems[1]
        assert.equal(err.message, problem.path .. ": " .. problem.message)
        assert.is_number(problem.line)
      end)
    end
  end)

  it("reports every problem of the file at once, in line order", function()
    local err = refused("[a]\nurl = http://a\n[b]\nurl = https://b\ntags = ,\nbogus = 1\n")
    assert.equal(3, #err.problems)
    assert.same({ 2, 5, 6 }, { err.problems[1].line, err.problems[2].line,
                               err.problems[3].line })
    assert.equal("b", err.problems[3].entry)
    assert.equal("bogus", err.problems[3].field)
    assert.equal(3, select(2, err.message:gsub("\n", "")) + 1)
  end)

  it("never repeats a refused password in the error", function()
    local err = refused("[a]\nurl = https://a\npassword = s3cr3t-value\n")
    assert.is_nil(err.message:find("s3cr3t", 1, true))
  end)

  it("raises on misuse", function()
    assert.has_error(function() inventory.parse(nil) end)
    assert.has_error(function() inventory.load(42) end)
  end)
end)

describe("vbr.inventory.load and default_path", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(shell.run("mkdir -p " .. shell.quote(dir .. "/config/vbr")))
  end)
  after_each(function() shell.run("rm -rf " .. shell.quote(dir)) end)

  it("reads a file, naming it in errors", function()
    local path = dir .. "/inventory"
    shell.write(path, "[a]\nurl = https://a\n")
    assert.equal("a", assert(inventory.load(path)).servers[1].name)
    shell.write(path, "[a]\nurl = ftp://a\n")
    local inv, err = inventory.load(path)
    assert.is_nil(inv)
    assert.matches(path .. ":2: entry 'a': field 'url'", err.message, 1, true)
  end)

  it("says a missing file cannot be read", function()
    local inv, err = inventory.load(dir .. "/missing")
    assert.is_nil(inv)
    assert.equal("invalid", err.kind)
    assert.matches("cannot read the inventory: " .. dir .. "/missing", err.message, 1, true)
  end)

  it("is $VBR_INVENTORY, else the user's file, else /etc/vbr/inventory's", function()
    local env = {}
    local function getenv(name) return env[name] end
    env.VBR_INVENTORY = "/somewhere/inv"
    assert.equal("/somewhere/inv", inventory.default_path(getenv))
    env.VBR_INVENTORY = nil
    env.XDG_CONFIG_HOME = dir .. "/config"
    local user = dir .. "/config/vbr/inventory"
    local expected = user
    if shell.read("/etc/vbr/inventory") then expected = "/etc/vbr/inventory" end
    assert.equal(expected, inventory.default_path(getenv))   -- the user's does not exist
    shell.write(user, "")
    assert.equal(user, inventory.default_path(getenv))
    env.XDG_CONFIG_HOME = nil
    env.HOME = dir .. "/home"
    assert.equal(shell.read("/etc/vbr/inventory") and "/etc/vbr/inventory"
      or (dir .. "/home/.config/vbr/inventory"), inventory.default_path(getenv))
  end)
end)

describe("inventory selection", function()
  local inv = assert(inventory.parse(EXAMPLE, "inv.ini"))

  it("finds a server by name, or lists the names", function()
    assert.equal("https://127.0.0.1:9419", assert(inv:server("vbr-lab")).url)
    local server, err = inv:server("vbr-pari")
    assert.is_nil(server)
    assert.matches("no server named 'vbr-pari' in inv.ini (did you mean 'vbr-paris'?) "
      .. "(servers: vbr-paris, vbr-lab, vbr-berlin)", err.message, 1, true)
  end)

  it("selects all, by name, by tag, and their union in file order", function()
    assert.equal("vbr-paris,vbr-lab,vbr-berlin", names(assert(inv:select())))
    assert.equal("vbr-lab", names(assert(inv:select("vbr-lab"))))
    assert.equal("vbr-paris,vbr-berlin", names(assert(inv:select("prod"))))
    assert.equal("vbr-berlin", names(assert(inv:select("de"))))
    assert.equal("vbr-paris,vbr-lab,vbr-berlin", names(assert(inv:select("lab, prod"))))
    assert.equal("vbr-paris,vbr-berlin", names(assert(inv:select("eu,vbr-paris"))))
  end)

  it("refuses an unknown name or tag, listing what exists", function()
    local chosen, err = inv:select("prod,staging")
    assert.is_nil(chosen)
    assert.equal("invalid", err.kind)
    assert.matches("no server or tag named 'staging' in inv.ini", err.message, 1, true)
    assert.matches("(servers: vbr-paris, vbr-lab, vbr-berlin; tags: de, eu, lab, prod)",
      err.message, 1, true)
    chosen, err = inv:select("prod,,eu")
    assert.is_nil(chosen)
    assert.matches("an empty name", err.message, 1, true)
  end)
end)

describe("vbr.inventory.connect_options", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(shell.run("mkdir -p " .. shell.quote(dir)))
  end)
  after_each(function() shell.run("rm -rf " .. shell.quote(dir)) end)

  local function server_with(secret_line)
    local inv = assert(inventory.parse("[defaults]\nusername = admin\n[s]\n"
      .. "url = https://127.0.0.1:9419\nca_file = /ca.pem\ninsecure = true\n"
      .. (secret_line or ""), "inv.ini"))
    return inv.servers[1]
  end

  -- Calls the password function as the core would: the text, or the error.
  local function password_of(options)
    local ok, value = pcall(options.password)
    return ok and value or nil, not ok and value or nil
  end

  it("gives vbr.connect's options, the secret as a function, read only when called", function()
    local file = dir .. "/password"
    local options = assert(inventory.connect_options(server_with("password_file = " .. file)))
    assert.same({ "ca_file", "insecure", "password", "url", "username" }, (function()
      local keys = {}
      for key in pairs(options) do keys[#keys + 1] = key end
      table.sort(keys)
      return keys
    end)())
    assert.equal("https://127.0.0.1:9419", options.url)
    assert.is_function(options.password)
    shell.write(file, "from the file\r\n")              -- written after: read when called
    assert.equal("from the file", password_of(options))
  end)

  it("reads a password file, and names it when it cannot", function()
    local reasons = {}
    local options = assert(inventory.connect_options(server_with("password_file = " .. dir
      .. "/none"), { on_error = function(why) reasons[#reasons + 1] = why end }))
    local value, err = password_of(options)
    assert.is_nil(value)
    assert.matches("inv.ini:3: entry 's': cannot read the password file: " .. dir .. "/none",
      err, 1, true)
    assert.same({ err }, reasons)
  end)

  it("reads an environment variable, and says when it is not set", function()
    local env = { VBR_S_PASSWORD = "from the environment" }
    local options = assert(inventory.connect_options(server_with("password_env = VBR_S_PASSWORD"),
      { getenv = function(name) return env[name] end }))
    assert.equal("from the environment", password_of(options))
    env.VBR_S_PASSWORD = nil
    local _, err = password_of(options)
    assert.matches("the environment variable VBR_S_PASSWORD (password_env) is not set", err, 1,
      true)
  end)

  it("takes the first line a command prints, and refuses a failing or silent one", function()
    local options = assert(inventory.connect_options(server_with(
      "password_command = printf 'first line\\nsecond\\n'")))
    assert.equal("first line", password_of(options))
    options = assert(inventory.connect_options(server_with(
      "password_command = echo leaked; exit 3")))
    local value, err = password_of(options)
    assert.is_nil(value)
    assert.matches("the password command failed (exit status 3)", err, 1, true)
    assert.is_nil(err:find("leaked", 1, true))
    options = assert(inventory.connect_options(server_with("password_command = true")))
    value, err = password_of(options)
    assert.is_nil(value)
    assert.matches("the password command printed nothing", err, 1, true)
  end)

  it("asks a prompt once, for password_prompt and for a server without a source", function()
    local asked = {}
    local function prompt(text)
      asked[#asked + 1] = text
      return "typed"
    end
    local options = assert(inventory.connect_options(server_with("password_prompt = true"),
      { prompt = prompt }))
    assert.equal("typed", password_of(options))
    assert.equal("typed", password_of(options))
    assert.same({ "Password for admin at https://127.0.0.1:9419: " }, asked)
    options = assert(inventory.connect_options(server_with(nil), { prompt = prompt }))
    assert.equal("typed", password_of(options))
    assert.equal(2, #asked)
  end)

  it("refuses a server without a secret source when there is no prompt", function()
    local options, err = inventory.connect_options(server_with(nil))
    assert.is_nil(options)
    assert.equal("invalid", err.kind)
    assert.matches("inv.ini:3: entry 's': no secret source: give password_file", err.message,
      1, true)
    options = assert(inventory.connect_options(server_with("password_prompt = true")))
    local value, why = password_of(options)
    assert.is_nil(value)
    assert.matches("password_prompt needs a terminal", why, 1, true)
  end)

  it("passes on the prompt's refusal, and an interruption", function()
    local options = assert(inventory.connect_options(server_with("password_prompt = true"),
      { prompt = function() return nil, "not a terminal" end }))
    local _, why = password_of(options)
    assert.matches("entry 's': not a terminal", why, 1, true)
    options = assert(inventory.connect_options(server_with("password_prompt = true"),
      { prompt = function() error("interrupted!", 0) end }))
    _, why = password_of(options)
    assert.equal("interrupted!", why)
  end)
end)
