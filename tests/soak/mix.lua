-- wrk script for tests/soak/soak.sh: a fixed mix of small files, one multi-MB file,
-- 404s, Range requests and conditional requests, with every status tallied per thread
-- and summed in done(). The ETag for If-None-Match comes from the ETAG env variable.

local etag = os.getenv("ETAG") or '"none"'

-- One cycle of 20 requests: what to ask for and the headers to send.
local mix = {
  { "/index.html" }, { "/style.css" }, { "/a.txt" }, { "/index.html" }, { "/sub/b.txt" },
  { "/index.html" }, { "/style.css" }, { "/a.txt" }, { "/index.html" }, { "/sub/" },
  { "/big.bin" },                                                -- 8 MiB, sendfile
  { "/missing.html" }, { "/no/such/dir/x" }, { "/%2e%2e/etc/passwd" }, -- 404, 404, 400
  { "/big.bin", { Range = "bytes=0-1023" } },                    -- 206 single
  { "/big.bin", { Range = "bytes=100-199,5000-5999,-100" } },    -- 206 multipart
  { "/index.html", { Range = "bytes=-10" } },                    -- 206 suffix
  { "/index.html", { ["If-None-Match"] = etag } },               -- 304
  { "/index.html", { ["If-None-Match"] = etag .. ', "other"' } },-- 304
  { "/index.html", { ["If-None-Match"] = '"stale"' } },          -- 200
}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counter = math.random(0, #mix - 1)
  statuses = {}
  requests = {}
  for i, m in ipairs(mix) do
    requests[i] = wrk.format("GET", m[1], m[2])
  end
end

function request()
  counter = counter + 1
  return requests[(counter % #mix) + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, reqs)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do
      total[code] = (total[code] or 0) + n
    end
  end
  local codes = {}
  for code in pairs(total) do table.insert(codes, code) end
  table.sort(codes)
  for _, code in ipairs(codes) do
    io.write(string.format("STATUS %d %d\n", code, total[code]))
  end
  local e = summary.errors
  io.write(string.format("SOCKET connect=%d read=%d write=%d timeout=%d status=%d\n",
    e.connect, e.read, e.write, e.timeout, e.status))
  io.write(string.format("LATENCY p50=%.1fms p99=%.1fms max=%.1fms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("TOTAL requests=%d bytes=%d seconds=%.1f\n",
    summary.requests, summary.bytes, summary.duration / 1e6))
end
