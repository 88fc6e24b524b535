-- Counts a login attempt, or refuses it.
--
-- KEYS[1]  chantier:fails:login:<login>, KEYS[2] chantier:fails:address:<ip>
-- ARGV     their limits, then the window (seconds)
--
-- Every attempt is counted before the password is checked, in one atomic
-- step with the check, so that simultaneous attempts cannot all pass; a
-- success then takes its attempt back (login_success.lua).  Returns 0, or
-- the seconds until attempts may resume.

for i = 1, 2 do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[i]) then
    local ttl = redis.call('TTL', KEYS[i])
    if ttl < 1 then ttl = 1 end
    return ttl
  end
end

for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[3])
  end
end

return 0
