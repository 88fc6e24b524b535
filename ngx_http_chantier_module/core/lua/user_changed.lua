-- A user changed: their cached document is no longer valid anywhere.
--
-- KEYS[1]  chantier:user:<id>:gen, KEYS[2] chantier:user:<id>:json

redis.call('INCR', KEYS[1])
redis.call('DEL', KEYS[2])

return 1
