-- Keeps the user's document for GET me, unless the user changed since the
-- session brought the generation (session_find.lua).
--
-- KEYS[1]  chantier:user:<id>:gen, KEYS[2] chantier:user:<id>:json
-- ARGV     the generation read, the document, its time to live

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
end

return 1
