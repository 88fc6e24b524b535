-- Counts a login attempt, or refuses it, or asks it to wait.
--
-- KEYS[1]  chantier:fails:<login|password>:<account>, the attempts on the
--          account; KEYS[2] chantier:fails:address:<ip>; KEYS[3]
--          chantier:pending:<login|password>:<account>, the attempts on
--          the account still being checked
-- ARGV     the limits of KEYS[1] and KEYS[2], then the window (seconds)
--
-- Every attempt is counted before the password is checked, in one atomic
-- step with the check, so that simultaneous attempts cannot all pass; a
-- success then takes its attempt back (login_success.lua), a failure only
-- leaves the pending ones (login_failure.lua).  Returns 0 (go on), the
-- seconds until attempts may resume, or -1 when the account's limit is
-- reached only by attempts still pending: those may yet succeed and give
-- their attempts back, so the caller asks again a moment later rather
-- than refuse a correct password sent beside others.

for i = 1, 2 do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[i]) then
    if i == 1 and tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then
      return -1
    end
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

redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], 60)

return 0
