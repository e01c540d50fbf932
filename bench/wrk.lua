-- wrk script for the benchmark: POSTs the file named by BENCH_BODY (GET when unset) and prints one JSON line
-- "BENCH {...}" with the counts and the latency percentiles (microseconds) that bench/runner.py reads.
local body_path = os.getenv("BENCH_BODY")
if body_path and body_path ~= "" then
  local file = assert(io.open(body_path, "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

-- BENCH_TOKENS: a file of JWTs, one a line; each request carries the next one (a CDS Hooks token is used once).
local tokens = {}
local token_path = os.getenv("BENCH_TOKENS")
if token_path and token_path ~= "" then
  for line in io.lines(token_path) do
    tokens[#tokens + 1] = line
  end
end
local sent = 0

if #tokens > 0 then
  request = function()
    sent = sent + 1
    local headers = {["Content-Type"] = "application/json"}
    headers["Authorization"] = "Bearer " .. tokens[(sent - 1) % #tokens + 1]
    return wrk.format(nil, nil, headers)
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50": %d, "p95": %d, "p99": %d, "max": %d, ' ..
    '"mean": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write, errors.status,
    errors.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
