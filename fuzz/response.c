/*
 * response.c - libFuzzer harness: what a server sends back, through the Lua
 * binding's step API (read_response, the engine, push_response with the
 * core's own JSON decoder, error objects and their __tostring).
 *
 * Input: frames separated by "\n===\n".  Frame 1 is "<method> <api_version>"
 * (e.g. "GET 1.3-rev1" or "POST auto").  Every further frame answers one send
 * step: "<status>\n<Header: value lines>\n\n<body>", or "ERR <kind> <0|1>
 * <message>" for a transport failure.  Missing frames answer "reset".
 *
 * Invariants (abort): no send step carries CR, LF or NUL in its URL or in a
 * header value, whatever the server answered (an access token taken from a
 * token answer goes into the Authorization header); an error never shows
 * the password, as given, form-encoded either way, JSON-escaped or in base64
 * (a server may echo the login form); tostring of errors and of the client,
 * err.message and err.code hold no control character (C0, DEL, C1), nor
 * does core.printable of the whole input, and printable twice is once;
 * c:scrub leaves no form of the password, and twice is once.
 */
#include "lua_host.h"

static const char DRIVER[] =
"local core = require 'vbr.core'\n"
"local find, sub, gmatch, match = string.find, string.sub, string.gmatch, string.match\n"
"local function split(s, sep)\n"
"  local out, pos = {}, 1\n"
"  while true do\n"
"    local a, b = find(s, sep, pos, true)\n"
"    if not a then out[#out + 1] = sub(s, pos); return out end\n"
"    out[#out + 1] = sub(s, pos, a - 1); pos = b + 1\n"
"  end\n"
"end\n"
"local function clean(what, v)\n"
"  if find(v, '[\\r\\n%z]') then error('INVARIANT: ' .. what .. ' holds CR, LF or NUL: ' .. ('%q'):format(v), 0) end\n"
"end\n"
"-- the password as given, as libcurl and .NET form-encode it, JSON-escaped\n"
"local FORMS = { 'P@ss w0rd&=%', 'P%40ss%20w0rd%26%3D%25', 'P%40ss+w0rd%26%3d%25',\n"
"  'P\\\\u0040ss w0rd\\\\u0026=%', 'UEBzcyB3MHJkJj0l' }\n"
"local function printable(what, v)\n"
"  if find(v, '[%z\\1-\\31\\127]') or find(v, '\\194[\\128-\\159]') then\n"
"    error('INVARIANT: ' .. what .. ' is not printable: ' .. ('%q'):format(v), 0)\n"
"  end\n"
"end\n"
"local function check(step)\n"
"  if step.action ~= 'send' then return end\n"
"  clean('url', step.url)\n"
"  for k, v in pairs(step.headers) do clean('header ' .. k, v) end\n"
"end\n"
"local function answer(frame)\n"
"  local kind, sent, msg = match(frame, '^ERR (%S+) (%d)%s?(.*)$')\n"
"  -- a transport's message is its own text (libcurl's), never the server's:\n"
"  -- it cannot hold the password, so the invariant below is not about it\n"
"  if kind then return { error = kind, sent = sent == '1', message = (msg:gsub('[%%@]', '_')) } end\n"
"  local head, body = match(frame, '^(.-)\\n\\n(.*)$')\n"
"  head = head or frame\n"
"  local status = tonumber(match(head, '^(%d+)')) or 200\n"
"  local headers = {}\n"
"  for name, value in gmatch(head, '\\n([^:\\n]+):%s*([^\\n]*)') do headers[name] = value end\n"
"  return { status = status, headers = headers, body = body }\n"
"end\n"
"return function(input)\n"
"  local frames = split(input, '\\n===\\n')\n"
"  local method, version = match(frames[1], '^(%u+) (%S+)')\n"
"  local c = core.new { url = 'https://vbr.example', username = 'svc',\n"
"    password = 'P@ss w0rd&=%', api_version = version or '1.1-rev0',\n"
"    retry = { attempts = 3, base_delay = 0, max_delay = 0, max_time = 3600 } }\n"
"  local job = c:begin(method or 'GET', '/api/v1/configBackup',\n"
"    method == 'PUT' and { body = '{\"a\":1}' } or nil)\n"
"  local step, i = job:next(), 2\n"
"  for _ = 1, 64 do\n"
"    check(step)\n"
"    if step.action == 'send' then\n"
"      local frame = frames[i]; i = i + 1\n"
"      step = job:next(frame and answer(frame) or { error = 'reset', sent = true })\n"
"    elseif step.action == 'sleep' then\n"
"      step = job:next()\n"
"    else break end\n"
"  end\n"
"  if step.action == 'fail' then\n"
"    local text = tostring(step.err)\n"
"    for _, form in ipairs(FORMS) do\n"
"      if find(text, form, 1, true) then error('INVARIANT: password in ' .. text, 0) end\n"
"    end\n"
"    printable('tostring(err)', text)\n"
"    printable('err.message', step.err.message or '')\n"
"    printable('err.code', step.err.code or '')\n"
"  end\n"
"  -- any server bytes through vbr.printable, while the client is open\n"
"  local shown = core.printable(input)\n"
"  printable('core.printable', shown)\n"
"  if core.printable(shown) ~= shown then error('INVARIANT: printable twice differs', 0) end\n"
"  -- and through the client's own scrub (its server's answers): no form\n"
"  -- of the password left, scrubbing twice is once\n"
"  local own = c:scrub(input)\n"
"  for _, form in ipairs(FORMS) do\n"
"    if find(own, form, 1, true) then error('INVARIANT: password in c:scrub', 0) end\n"
"  end\n"
"  if c:scrub(own) ~= own then error('INVARIANT: c:scrub twice differs', 0) end\n"
"  printable('tostring(client)', tostring(c)); c:stats(); job:close(); c:close()\n"
"end\n";

FUZZ_LUA_ENTRY_POINTS(DRIVER)
