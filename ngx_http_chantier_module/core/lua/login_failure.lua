-- A failed attempt is checked: it stays counted (login_check.lua counted
-- it), it is only no longer pending.
--
-- KEYS[1]  chantier:pending:<login|password>:<account>

if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end

return 1
