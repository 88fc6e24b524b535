-- wrk script of scripts/bench: at the end, one line that scripts/bench
-- parses (latencies and duration in microseconds, bytes read in all).
-- Headers such as the session cookie are given to wrk with -H.
--
-- With BENCH_RATE set (requests per second per wrk thread), the requests
-- are paced instead of sent back to back: before each one, delay()
-- reserves the next slot of a fixed schedule and waits for it (wrk's timers
-- have a 1 ms resolution).  A late slot is not made up for.

local rate = tonumber(os.getenv("BENCH_RATE") or "")

if rate then
    local ffi = require("ffi")

    ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
    int clock_gettime(int clock, bench_timespec_t *ts);
    ]]

    local CLOCK_MONOTONIC = 1
    local ts = ffi.new("bench_timespec_t")
    local interval = 1000 / rate
    local slot = 0

    delay = function()
        local now

        ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
        now = tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
        slot = math.max(slot + interval, now)

        return math.floor(slot - now)
    end
end

done = function(summary, latency, requests)
    local e = summary.errors

    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d"
        .. " connect=%d read=%d write=%d status=%d timeout=%d bytes=%d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(99), latency.max,
        e.connect, e.read, e.write, e.status, e.timeout, summary.bytes))
end
