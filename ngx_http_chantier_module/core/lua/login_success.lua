-- A successful login clears the account's attempts and gives back the
-- address's one, so that an office behind one address is not locked out by
-- its own successful logins.
--
-- KEYS[1]  chantier:fails:<login|password>:<account>,
-- KEYS[2]  chantier:fails:address:<ip>,
-- KEYS[3]  chantier:pending:<login|password>:<account>

redis.call('DEL', KEYS[1])

if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end

if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then
  redis.call('DECR', KEYS[3])
end

return 1
