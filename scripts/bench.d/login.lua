-- wrk script of scripts/bench: logins with the right password at a steady
-- rate, BENCH_LOGIN_RATE per second per wrk thread, in turn for each of the
-- accounts BENCH_LOGINS (separated by spaces), all with the password
-- BENCH_PASSWORD.  Several accounts, because the module counts each attempt
-- of an account before checking it (and takes it back on success): 5
-- logins of one account in flight at once would get 429.
--
-- Pacing: before each request, delay() reserves the next free slot of a
-- fixed schedule (one slot every 1000 / rate ms) and waits for it, so the
-- rate does not depend on how long a login takes, as long as there are
-- enough connections (rate x login time < connections).  A late slot is
-- not made up for: the rate never exceeds the target.
--
-- The statuses are counted, 200 or not (401, 429, others): a failed login
-- would feed the failure limiter.

local ffi = require("ffi")

ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clock, bench_timespec_t *ts);
]]

local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec_t")

local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local bodies = {}
local turn = 0

for login in string.gmatch(os.getenv("BENCH_LOGINS") or "", "%S+") do
    table.insert(bodies, string.format('{"login":"%s","password":"%s"}',
                                       login, os.getenv("BENCH_PASSWORD")))
end

local interval = 1000 / tonumber(os.getenv("BENCH_LOGIN_RATE") or "20")
local slot = 0
local threads = {}

setup = function(thread)
    table.insert(threads, thread)
end

init = function(args)
    ok = 0
    bad = 0
    n401 = 0
    n429 = 0
end

request = function()
    turn = turn % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[turn])
end

delay = function()
    local now = now_ms()

    slot = math.max(slot + interval, now)

    return math.floor(slot - now)
end

response = function(status, headers, body)
    if status == 200 then
        ok = ok + 1
    else
        bad = bad + 1
        if status == 401 then
            n401 = n401 + 1
        elseif status == 429 then
            n429 = n429 + 1
        end
    end
end

done = function(summary, latency, requests)
    local e = summary.errors
    local n_ok, n_bad, n_401, n_429 = 0, 0, 0, 0

    for _, t in ipairs(threads) do
        n_ok = n_ok + t:get("ok")
        n_bad = n_bad + t:get("bad")
        n_401 = n_401 + t:get("n401")
        n_429 = n_429 + t:get("n429")
    end

    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d"
        .. " connect=%d read=%d write=%d status=%d timeout=%d"
        .. " ok=%d bad=%d bad401=%d bad429=%d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(99), latency.max,
        e.connect, e.read, e.write, e.status, e.timeout,
        n_ok, n_bad, n_401, n_429))
end
