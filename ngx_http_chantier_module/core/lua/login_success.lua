-- A successful login clears the login's attempts and gives back the
-- address's one, so that an office behind one address is not locked out by
-- its own successful logins.
--
-- KEYS[1]  chantier:fails:login:<login>, KEYS[2] chantier:fails:address:<ip>

redis.call('DEL', KEYS[1])

if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end

return 1
