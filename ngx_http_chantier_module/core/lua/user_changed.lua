-- A user changed: their cached document is no longer valid anywhere.
--
-- KEYS[1]  chantier:user:<id>:gen, KEYS[2] chantier:user:<id>:json
--
-- Announced on chantier:user-changed with the user's id.

redis.call('INCR', KEYS[1])
redis.call('DEL', KEYS[2])

-- the headers of a client's fiches show their name and address: the
-- workers that know those fiches forget them (live/ngx_http_chantier_known.c)
local id = string.match(KEYS[1], '^chantier:user:(%d+):gen$')
if id then redis.call('PUBLISH', 'chantier:user-changed', id) end

return 1
