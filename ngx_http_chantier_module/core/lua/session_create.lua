-- A new session, in place of the one this browser came with (a login
-- renews the session id).
--
-- KEYS[1]  the new session, KEYS[2] the user's session set,
-- KEYS[3]  the browser's old session (a name that exists nowhere if none)
-- ARGV     user_id, role, csrf, now, idle timeout, lifetime
--
-- Also drops set members whose session has expired, so the set stays small.

redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[2], KEYS[3])

for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', k) == 0 then redis.call('SREM', KEYS[2], k) end
end

redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'role', ARGV[2],
           'csrf', ARGV[3], 'created', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('EXPIRE', KEYS[2], ARGV[6])

return 1
