-- wrk script: GET the URL given on the command line; at the end, print one JSON line with
-- the latency percentiles (ms) and the count of answers that were not 2xx/3xx.
--   wrk -t2 -c16 -d10s -s bench/read_latency.lua -H 'Accept: application/json' URL
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
