-- A new session, in place of the one this browser came with (a login
-- renews the session id).
--
-- KEYS[1]  the new session, KEYS[2] the user's session set,
-- KEYS[3]  the browser's old session (a name that exists nowhere if none)
-- ARGV     user_id, role, csrf, now, idle timeout, lifetime, the most
--          sessions a user may hold (chantier_sessions_per_user), now in
--          milliseconds (to tell the oldest of logins of one second)
--
-- The set holds at most that many sessions: expired members leave it, and
-- beyond the cap the oldest sessions end, their event streams with them
-- ("s:<session>" on chantier:session-end).  Every loop over the set is
-- therefore bounded, here and in session_end_others.lua.

-- the old session's event streams end with it, on every node
if redis.call('DEL', KEYS[3]) == 1 then
  redis.call('PUBLISH', 'chantier:session-end', 's:' .. KEYS[3])
end
redis.call('SREM', KEYS[2], KEYS[3])

local others = {}

for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local s = redis.call('HMGET', k, 'created', 'opened')
  if s[1] then
    others[#others + 1] = {k, tonumber(s[2] or (s[1] .. '000'))}
  else
    redis.call('SREM', KEYS[2], k)
  end
end

table.sort(others, function(a, b) return a[2] < b[2] end)

for i = 1, #others - (tonumber(ARGV[7]) - 1) do
  local k = others[i][1]
  redis.call('DEL', k)
  redis.call('SREM', KEYS[2], k)
  redis.call('PUBLISH', 'chantier:session-end', 's:' .. k)
end

redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'role', ARGV[2],
           'csrf', ARGV[3], 'created', ARGV[4], 'opened', ARGV[8])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('EXPIRE', KEYS[2], ARGV[6])

return 1
