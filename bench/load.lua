-- wrk script for `bun run bench` (wrk is far lighter than a JavaScript load generator, so the
-- server, not the client, is what is measured). One scenario per run, read from the file named
-- by the first argument after `--`:
--   line 1: kind (bare | quota | usage | usage_parts | page | keyed: a GET of the path with an
--   API key), line 2: run id, line 3: dupEvery (0 = none), line 4: path (for page and keyed),
--   line 5: cookie (for page), then one API key per line.
-- BENCH_PACE_MS in the environment paces each connection (ms between its requests).
-- Prints one JSON object on stdout when done: requests/s, p50/p99/p97.5 ms, statuses, replayed.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

local kind, run_id, dup_every, path, cookie
local keys = {}
local seq = 0
local recent = {}
statuses = {}
replayed = 0

function init(args)
  local f = assert(io.open(args[1], "r"))
  kind = f:read("*l")
  run_id = f:read("*l")
  dup_every = tonumber(f:read("*l"))
  path = f:read("*l")
  cookie = f:read("*l")
  for line in f:lines() do
    if line ~= "" then table.insert(keys, line) end
  end
  f:close()
end

local function usage_request()
  seq = seq + 1
  -- Every dupEvery-th request repeats a recent request of this thread, same key and body.
  if dup_every > 0 and seq % dup_every == 0 and #recent > 0 then
    local e = recent[(seq * 7919) % #recent + 1]
    return wrk.format("POST", "/api/v1/usage", { ["Authorization"] = "Bearer " .. e[1], ["Content-Type"] = "application/json" }, e[2])
  end
  local key = keys[seq % #keys + 1]
  -- Thread id in the request id: every thread's ids are its own.
  local body = '{"request_id":"' .. run_id .. "-" .. tid .. "-" .. seq .. '","metric":"api_call","quantity":1}'
  -- usage_parts: two features in one request, admitted whole or denied whole
  if kind == "usage_parts" then
    body = '{"request_id":"' .. run_id .. "-" .. tid .. "-" .. seq .. '","quantities":{"api_call":1,"tokens":1532}}'
  end
  if dup_every > 0 then
    table.insert(recent, { key, body })
    if #recent > 1000 then table.remove(recent, 1) end
  end
  return wrk.format("POST", "/api/v1/usage", { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }, body)
end

function request()
  if kind == "usage" or kind == "usage_parts" then return usage_request() end
  if kind == "quota" then
    seq = seq + 1
    return wrk.format("GET", "/api/v1/quota?metric=api_call", { ["Authorization"] = "Bearer " .. keys[seq % #keys + 1] })
  end
  if kind == "page" then return wrk.format("GET", path, { ["Cookie"] = cookie }) end
  if kind == "keyed" then
    seq = seq + 1
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. keys[seq % #keys + 1] })
  end
  return wrk.format("GET", "/")
end

-- wrk decides whether to pace when it loads the script, before init(): so the pace comes from
-- the environment, and delay() exists only for a paced scenario (a 0 ms timer still costs).
if tonumber(os.getenv("BENCH_PACE_MS") or "0") > 0 then
  function delay()
    return tonumber(os.getenv("BENCH_PACE_MS"))
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if headers["idempotent-replayed"] == "true" or headers["Idempotent-Replayed"] == "true" then replayed = replayed + 1 end
end

function done(summary, latency, requests)
  local merged, total_replayed = {}, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do merged[status] = (merged[status] or 0) + n end
    total_replayed = total_replayed + t:get("replayed")
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, '"' .. status .. '":' .. n) end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"rps":%.1f,"p50":%.2f,"p97_5":%.2f,"p99":%.2f,"socketErrors":%d,"statuses":{%s},"replayed":%d,"total":%d,"duration":%.3f}\n',
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(97.5) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ","), total_replayed, summary.requests, seconds))
end
