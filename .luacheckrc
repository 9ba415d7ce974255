std = "max"
max_line_length = 100
self = false  -- methods need not use self
include_files = {
  "lua", "spec", "simulator/lua", "examples", "bench/*.lua",
  "*.rockspec", ".busted", ".luacheckrc",
}

files["spec"] = { std = "+busted" }
files["simulator/lua"] = { std = "ngx_lua" }
files["examples/openresty"] = { std = "ngx_lua" }
exclude_files = { "examples/openresty/*.conf" }
files["*.rockspec"] = { globals = {
  "rockspec_format", "package", "version", "source", "description",
  "dependencies", "external_dependencies", "build", "test",
} }
