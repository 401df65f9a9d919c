-- wrk script of benches/load.sh and benches/court_scale.sh: POST /v1/search with the
-- queries of the file LEIAN_QUERIES (one a line, rotated per request) in mode LEIAN_MODE
-- (default bm25) with the key LEIAN_KEY, and the ranking LEIAN_RANKING when set (else
-- the server's default); prints one line
-- `RESULT requests req/s p50_ms p90_ms p99_ms errors`.
local queries = {}
for line in io.lines(os.getenv("LEIAN_QUERIES")) do
  if #line > 0 then queries[#queries + 1] = line:gsub('"', '') end
end
local mode = os.getenv("LEIAN_MODE") or "bm25"
local ranking = os.getenv("LEIAN_RANKING")
local extra = ranking and (',"ranking":"' .. ranking .. '"') or ""
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LEIAN_KEY")
request = function()
  i = i + 1
  local q = queries[(i % #queries) + 1]
  return wrk.format(nil, "/v1/search", nil,
    '{"query":"' .. q .. '","top_k":10,"mode":"' .. mode .. '"' .. extra .. '}')
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %.1f %.1f %.1f %.1f %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, errors))
end
