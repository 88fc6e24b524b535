-- Who is looking at a fiche: the users with an open event stream on it, on
-- any worker of any node (live/ngx_http_chantier_presence.c).
--
-- KEYS[1]  chantier:presence:<fiche id>, a sorted set of
--          "<worker>\t<user id>\t<viewer JSON>" scored by the time (ms)
--          at which the entry expires unless its worker refreshes it
-- ARGV[1]  'join', 'leave' or 'refresh'
-- ARGV[2]  the fiche's channel, chantier:fiche:<id>
-- ARGV[3]  the entries' lifetime, ms
-- ARGV[4…] the entries joined, left or refreshed
--
-- A worker joins once per user, whatever its number of streams of that
-- user, and leaves when its last one ends; a worker that died stops
-- refreshing, and its entries expire.  The set of viewers is the set of
-- users of the live entries, each once.
--
-- The workers hear the set on the channel, "presence\n<count>\n" then one
-- "<user id>\t<viewer JSON>" line per viewer, by user id: after every
-- change, and after every join, so that a new stream learns the set at
-- once even when its user was already counted.  The message lists 51
-- viewers at most and stays under 8 KB: a page shows a few names, and a
-- fiche watched by 2,000 people must not send 2,000 names to each of them
-- at every arrival.  <count> is the whole number.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function viewers()
    local seen, lines = {}, {}

    for _, entry in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
        local id, json = string.match(entry, '^[^\t]*\t(%d+)\t(.*)$')

        if id and not seen[id] then
            seen[id] = true
            lines[#lines + 1] = { tonumber(id), id .. '\t' .. json }
        end
    end

    table.sort(lines, function (a, b) return a[1] < b[1] end)

    local listed, size = {}, 0

    for _, line in ipairs(lines) do
        if #listed == 51 or size + #line[2] > 8000 then
            break
        end

        listed[#listed + 1] = line[2]
        size = size + #line[2] + 1
    end

    return #lines .. '\n' .. table.concat(listed, '\n')
end

local before = viewers()

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)

for i = 4, #ARGV do
    if ARGV[1] == 'leave' then
        redis.call('ZREM', KEYS[1], ARGV[i])
    else
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[i])
    end
end

-- a fiche nobody looks at any more leaves nothing behind
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))

local after = viewers()

if ARGV[1] == 'join' or after ~= before then
    redis.call('PUBLISH', ARGV[2], 'presence\n' .. after)
end

return 1
