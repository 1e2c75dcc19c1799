-- wrk script of bench/run.py. Environment:
--   BENCH_METHOD   GET or POST (default GET)
--   BENCH_PATH     request path (default /)
--   BENCH_BODIES   a file of request bodies, one JSON document per line (POST)
--   BENCH_ONCE     1: send each body once, the lines split between the threads (checkout carts);
--                  otherwise every thread cycles through all of them
--   BENCH_THREADS  the -t value (for BENCH_ONCE)
--   BENCH_GRAPHQL  1: a 2xx answer that holds "errors" or an OperationInfo is an error too
--   BENCH_AUTHORIZATION  the Authorization header of every request ("Bearer ..."), if set
-- done() prints one line, "BENCH_RESULT {json}", with the counts and latency percentiles (µs).

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local bodies_file = os.getenv("BENCH_BODIES")
local once = os.getenv("BENCH_ONCE") == "1"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local graphql = os.getenv("BENCH_GRAPHQL") == "1"

local authorization = os.getenv("BENCH_AUTHORIZATION") or ""

wrk.method = method
wrk.headers["Content-Type"] = "application/json"
if authorization ~= "" then
   wrk.headers["Authorization"] = authorization
end

local threads = {}
local created = 0

function setup(thread)
   thread:set("thread_index", created)
   created = created + 1
   table.insert(threads, thread)
end

local bodies = {}
local position = 1
local step = 1
http_errors = 0
graphql_errors = 0
exhausted = 0

function init(args)
   if bodies_file and bodies_file ~= "" then
      for line in io.lines(bodies_file) do
         if #line > 0 then
            bodies[#bodies + 1] = line
         end
      end
   end
   position = (thread_index or 0) + 1
   if once then
      step = nthreads
   end
end

function request()
   if #bodies == 0 then
      return wrk.format(method, path)
   end
   if position > #bodies then
      if once then
         -- Out of bodies: keep the connection busy with a cheap request, counted apart.
         exhausted = exhausted + 1
         return wrk.format("GET", "/healthz", nil, "")
      end
      position = ((position - 1) % #bodies) + 1
   end
   local body = bodies[position]
   position = position + step
   return wrk.format(method, path, nil, body)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      http_errors = http_errors + 1
   elseif graphql and body and (string.find(body, '"errors"', 1, true)
         or string.find(body, '"OperationInfo"', 1, true)) then
      graphql_errors = graphql_errors + 1
   end
end

function done(summary, latency, requests)
   local http_e, graphql_e, exhausted_n = 0, 0, 0
   for _, thread in ipairs(threads) do
      http_e = http_e + (thread:get("http_errors") or 0)
      graphql_e = graphql_e + (thread:get("graphql_errors") or 0)
      exhausted_n = exhausted_n + (thread:get("exhausted") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
      '"p99_us": %d, "max_us": %d, "socket_errors": %d, "http_errors": %d, ' ..
      '"graphql_errors": %d, "exhausted": %d}\n',
      summary.requests, summary.duration,
      math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
      math.floor(latency:percentile(99)), math.floor(latency.max),
      e.connect + e.read + e.write + e.timeout, http_e, graphql_e, exhausted_n))
end
