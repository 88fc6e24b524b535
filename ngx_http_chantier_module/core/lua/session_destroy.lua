-- Logout: one session ends.
--
-- KEYS[1]  the session, KEYS[2] the user's session set
--
-- Its event streams, on every worker of every node, hear "s:<session>" on
-- chantier:session-end and close.

redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
redis.call('PUBLISH', 'chantier:session-end', 's:' .. KEYS[1])

return 1
