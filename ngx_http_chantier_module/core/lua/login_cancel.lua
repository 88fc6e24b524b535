-- An attempt that was counted but never checked (PostgreSQL or the thread
-- pool failed, the answer was a 503): it is given back, so that an outage
-- is not taken for failed logins.
--
-- KEYS[1]  chantier:fails:<login|password>:<account>,
-- KEYS[2]  chantier:fails:address:<ip>,
-- KEYS[3]  chantier:pending:<login|password>:<account>

for i = 1, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end

return 1
