/*
 * options.c - libFuzzer harness: what a caller (or a configuration file, an
 * environment variable) hands to core.new and c:begin: URL normalisation,
 * every string option, the password and username form encoding, the path
 * and the query encoding.
 *
 * Input: fields separated by byte 0x1f: url, username, password,
 * api_version, user_agent, path, query key, query value, ca_file; a password
 * of odd length is given as a function returning it.
 *
 * Invariants (abort): core.new refuses CR, LF and NUL in url, user_agent,
 * ca_file, and NUL in username and password (form-encoded, so CR and LF
 * are fine there): it must raise, not truncate or inject; a
 * send step never has CR, LF, NUL or a space in its URL nor CR, LF, NUL in
 * a header value; the step's scheme, host, port, path and query make its
 * URL; the login form decodes back to exactly the username and password
 * given (a password function's NUL refused, not cut); the query decodes
 * back to the key and value given; an api_version taken has numbers of at
 * most 65535.
 */
#include "lua_host.h"

static const char DRIVER[] =
"local core = require 'vbr.core'\n"
"local find, sub, gsub, char, match = string.find, string.sub, string.gsub, string.char, string.match\n"
"local function fail(m) error('INVARIANT: ' .. m, 0) end\n"
"local function split(s, sep)\n"
"  local out, pos = {}, 1\n"
"  while true do\n"
"    local a = find(s, sep, pos, true)\n"
"    if not a then out[#out + 1] = sub(s, pos); return out end\n"
"    out[#out + 1] = sub(s, pos, a - 1); pos = a + 1\n"
"  end\n"
"end\n"
"local function unescape(s)\n"
"  return (gsub(s, '%%(%x%x)', function(h) return char(tonumber(h, 16)) end))\n"
"end\n"
"local function form(body, lenient)\n"
"  local out = {}\n"
"  for pair in (body .. '&'):gmatch('([^&]*)&') do\n"
"    local k, v = match(pair, '^([^=]*)=(.*)$')\n"
"    if k then out[unescape(k)] = unescape(v)\n"
"    elseif not lenient then fail('form part without =: ' .. pair) end\n"
"  end\n"
"  return out\n"
"end\n"
"local function check(step)\n"
"  if step.action ~= 'send' then return end\n"
"  if find(step.url, '[\\r\\n%z ]') then fail(('url %q'):format(step.url)) end\n"
"  local parts = step.scheme .. '://' .. step.host .. ':' .. step.port .. step.path\n"
"    .. (step.query and '?' .. step.query or '')\n"
"  if parts ~= step.url then fail(('parts %q make no url %q'):format(parts, step.url)) end\n"
"  for k, v in pairs(step.headers) do\n"
"    if find(v, '[\\r\\n%z]') then fail(('header %s %q'):format(k, v)) end\n"
"  end\n"
"end\n"
"local TOKEN = '{\"access_token\":\"tok\",\"refresh_token\":\"ref\",\"expires_in\":900}'\n"
"return function(input)\n"
"  local f = split(input, '\\31')\n"
"  local url, user, pw, ver, ua, path, qk, qv, ca =\n"
"    f[1], f[2] or 'u', f[3] or 'p', f[4], f[5], f[6] or '/x', f[7], f[8], f[9]\n"
"  local as_function = #pw % 2 == 1\n"
"  local opts = { url = url, username = user,\n"
"    password = as_function and function() return pw end or pw,\n"
"    api_version = ver ~= '' and ver or nil, user_agent = ua ~= '' and ua or nil,\n"
"    ca_file = ca ~= '' and ca or nil }\n"
"  local ok, c = pcall(core.new, opts)\n"
"  if not ok or not c then return end\n"
"  for _, name in ipairs { 'url', 'username', 'password', 'user_agent', 'ca_file' } do\n"
"    local bad = (name == 'username' or name == 'password') and '%z' or '[\\r\\n%z]'\n"
"    if type(opts[name]) == 'string' and find(opts[name], bad) then\n"
"      fail('core.new took a refused byte in ' .. name)\n"
"    end\n"
"  end\n"
"  tostring(c)\n"
"  for n in (opts.api_version or ''):gmatch('%d+') do\n"
"    if opts.api_version ~= 'auto' and tonumber(n) > 65535 then fail('api_version overflow') end\n"
"  end\n"
"  local query = (qk and qk ~= '') and { [qk] = qv or '' } or nil\n"
"  local made, job = pcall(c.begin, c, 'GET', path, { query = query })\n"
"  if not made then c:close(); return end\n"
"  local step = job:next()\n"
"  check(step)\n"
"  if as_function and find(pw, '%z') then\n"
"    if step.action ~= 'fail' then fail('a password with NUL was sent') end\n"
"    job:close(); c:close(); return\n"
"  end\n"
"  if step.action == 'send' and step.purpose == 'login' then\n"
"    local t = form(step.body)\n"
"    if t.username ~= user then fail('username did not round-trip') end\n"
"    if t.password ~= pw then fail('password did not round-trip') end\n"
"    step = job:next { status = 200, headers = { ['Content-Type'] = 'application/json' },\n"
"                      body = TOKEN }\n"
"    check(step)\n"
"    if step.action ~= 'send' then fail('no call after login') end\n"
"    if query then\n"
"      -- the path may hold a query of its own: ours comes last\n"
"      local q = match(step.url, '%?(.*)$')\n"
"      if not q then fail('query lost') end\n"
"      local t2 = form(q, true)\n"
"      if t2[qk] ~= (qv or '') then fail('query did not round-trip') end\n"
"    end\n"
"  end\n"
"  job:close(); c:close()\n"
"end\n";

FUZZ_LUA_ENTRY_POINTS(DRIVER)
