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
