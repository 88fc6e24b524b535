-- Every session of a user ends but one (password change) or all of them
-- (deactivation, role change, password reset by an admin).
--
-- KEYS[1]  the user's session set
-- ARGV     the session to keep, or "", then the user id
--
-- Every worker's event streams hear "u:<user id>:<session kept>" on
-- chantier:session-end and close theirs.  Returns how many ended.

local n = 0

for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if k ~= ARGV[1] then
    redis.call('DEL', k)
    redis.call('SREM', KEYS[1], k)
    n = n + 1
  end
end

redis.call('PUBLISH', 'chantier:session-end', 'u:' .. ARGV[2] .. ':' .. ARGV[1])

return n
