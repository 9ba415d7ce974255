-- The one place the vbr version is defined: the C core gets it as
-- VBR_VERSION, `vbr._VERSION` reads it from the core, the Makefile greps it.
local vbr_version = "0.1.0"

rockspec_format = "3.0"
package = "vbr"
version = "scm-1"
source = {
   url = "git+https://example.invalid/vbr.git",
}
description = {
   summary = "Manage the configuration backup of Veeam Backup & Replication servers",
   detailed = [[
vbr talks to the REST API of Veeam Backup & Replication: OAuth2 login and
token refresh, TLS and kept-alive connections in a small libcurl core, and
the configuration backup (settings, schedules, runs and their sessions) as
native Lua tables.]],
   license = "MIT",
   labels = { "veeam", "backup", "rest", "libcurl" },
}
dependencies = {
   "lua >= 5.1",
   "lua-cjson",
   "argparse >= 0.7",   -- the vbr command
}
external_dependencies = {
   -- No `header`: Debian keeps curl.h in a multiarch directory that
   -- LuaRocks does not search, but the compiler does.
   LIBCURL = {
      library = "curl",
   },
   OPENSSL = {
      library = "ssl",
   },
}
build = {
   type = "builtin",
   modules = {
      -- vbr.core opens vbr.core_impl, the core, with lazy binding
      -- (src/loader/core.c: Lua's require would bind all of libcurl's
      -- libraries at once). The Makefile links the core -z now, which
      -- LuaRocks cannot: from the rock its own symbols bind on first call.
      ["vbr.core"] = {
         sources = { "src/loader/core.c" },
         libraries = { "dl" },
      },
      ["vbr.core_impl"] = {
         sources = { "src/buf.c", "src/core_client.c", "src/core_error.c",
                     "src/core_host.c", "src/core_options.c", "src/core_step.c",
                     "src/engine.c", "src/interrupt.c", "src/json.c", "src/text.c",
                     "src/transport_curl.c", "src/transport_multi.c", "src/vbr_core.c" },
         defines = { 'VBR_VERSION="' .. vbr_version .. '"' },
         incdirs = { "$(LIBCURL_INCDIR)" },
         libdirs = { "$(LIBCURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
         -- in the dynamic linker's search order (see CORE_LIBS in the
         -- Makefile; a linker with --as-needed drops crypto, harmless)
         libraries = { "crypto", "ssl", "curl" },
      },
      ["vbr.answer"] = "lua/vbr/answer.lua",
      ["vbr.cli"] = "lua/vbr/cli.lua",
      ["vbr.cli.configbackup"] = "lua/vbr/cli/configbackup.lua",
      ["vbr.cli.diff"] = "lua/vbr/cli/diff.lua",
      ["vbr.cli.docs"] = "lua/vbr/cli/docs.lua",
      ["vbr.cli.fleet"] = "lua/vbr/cli/fleet.lua",
      ["vbr.cli.progress"] = "lua/vbr/cli/progress.lua",
      ["vbr.cli.repl"] = "lua/vbr/cli/repl.lua",
      ["vbr.cli.schedule"] = "lua/vbr/cli/schedule.lua",
      ["vbr.cli.sessions"] = "lua/vbr/cli/sessions.lua",
      ["vbr.configbackup"] = "lua/vbr/configbackup.lua",
      ["vbr.configbackup.run"] = "lua/vbr/configbackup/run.lua",
      ["vbr.configbackup.write"] = "lua/vbr/configbackup/write.lua",
      ["vbr.env"] = "lua/vbr/env.lua",
      ["vbr.fleet"] = "lua/vbr/fleet.lua",
      ["vbr.fleet.audit"] = "lua/vbr/fleet/audit.lua",
      ["vbr.fleet.nginx"] = "lua/vbr/fleet/nginx.lua",
      ["vbr.fleet.policy"] = "lua/vbr/fleet/policy.lua",
      ["vbr.fleet.report"] = "lua/vbr/fleet/report.lua",
      ["vbr.fleet.runner"] = "lua/vbr/fleet/runner.lua",
      ["vbr.fleet.staleness"] = "lua/vbr/fleet/staleness.lua",
      ["vbr.inventory"] = "lua/vbr/inventory.lua",
      ["vbr.suggest"] = "lua/vbr/suggest.lua",
      ["vbr"] = "lua/vbr/init.lua",
      ["vbr.json"] = "lua/vbr/json.lua",
      ["vbr.json.encode"] = "lua/vbr/json/encode.lua",
      ["vbr.model"] = "lua/vbr/model.lua",
      ["vbr.model.schemas"] = "lua/vbr/model/schemas.lua",
      ["vbr.multi"] = "lua/vbr/multi.lua",
      ["vbr.nginx"] = "lua/vbr/nginx.lua",
      ["vbr.pretty"] = "lua/vbr/pretty.lua",
      ["vbr.repl"] = "lua/vbr/repl.lua",
      ["vbr.revision"] = "lua/vbr/revision.lua",
      ["vbr.schedule"] = "lua/vbr/schedule.lua",
      ["vbr.schedule.api"] = "lua/vbr/schedule/api.lua",
      ["vbr.schedule.calendar"] = "lua/vbr/schedule/calendar.lua",
      ["vbr.schedule.check"] = "lua/vbr/schedule/check.lua",
      ["vbr.schedule.clock"] = "lua/vbr/schedule/clock.lua",
      ["vbr.schedule.text"] = "lua/vbr/schedule/text.lua",
      ["vbr.schedule.words"] = "lua/vbr/schedule/words.lua",
      ["vbr.session"] = "lua/vbr/session.lua",
      ["vbr.sessions_query"] = "lua/vbr/sessions_query.lua",
   },
   install = {
      bin = { vbr = "bin/vbr" },
      -- The man page and the shell completions (`vbr manpage`, `vbr completion
      -- SHELL` made them; spec/cli_docs_spec.lua checks they are current), in
      -- the rock's conf directory: `luarocks show --rock-dir vbr`/conf.
      conf = {
         ["man/man1/vbr.1"] = "doc/vbr.1",
         ["completions/vbr.bash"] = "completions/vbr.bash",
         ["completions/_vbr"] = "completions/_vbr",
         ["completions/vbr.fish"] = "completions/vbr.fish",
      },
      -- beside the modules, a path that does not change with the version:
      -- nginx includes <tree>/share/lua/5.1/vbr/vbr_proxy.conf (README, OpenResty)
      lua = { ["vbr.vbr_proxy"] = "examples/openresty/vbr_proxy.conf" },
   },
   -- LuaRocks copies doc/ (the man page, and the LDoc reference in
   -- doc/reference/ once `make docs` ran; release tags carry it) into the
   -- rock's directory: `luarocks doc vbr` opens it.
}
