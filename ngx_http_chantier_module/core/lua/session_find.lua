-- The session of a cookie, kept alive.
--
-- KEYS[1]  chantier:session:<sha256 of the cookie>
-- ARGV     now, idle timeout, lifetime (seconds), "1" to bring the user's
--          cached document, a fresh generation (now in milliseconds)
--
-- Returns {user_id, role, csrf, seconds left} or nil; with ARGV[4] also
-- the user's cached document (or false) and its generation.  The expiry is
-- pushed back by "idle" but never past created + lifetime, so an active
-- session still ends at its absolute lifetime.
--
-- The document of a user is chantier:user:<id>:json, valid while
-- chantier:user:<id>:gen is unchanged: every change of the user increments
-- it (user_changed.lua).  A generation found missing (Redis lost it) is
-- created fresh and the document dropped, so a document can never outlive
-- a change it did not see.

local s = redis.call('HMGET', KEYS[1], 'user_id', 'role', 'csrf', 'created')
if not s[1] or not s[4] then return nil end

local left = tonumber(s[4]) + tonumber(ARGV[3]) - tonumber(ARGV[1])
if left <= 0 then redis.call('DEL', KEYS[1]) return nil end

local ttl = math.min(tonumber(ARGV[2]), left)
redis.call('EXPIRE', KEYS[1], ttl)

if ARGV[4] ~= '1' then return {s[1], s[2], s[3], ttl} end

local u = 'chantier:user:' .. s[1]
local gen = redis.call('GET', u .. ':gen')
if not gen then
  redis.call('SET', u .. ':gen', ARGV[5])
  redis.call('DEL', u .. ':json')
  return {s[1], s[2], s[3], ttl, false, ARGV[5]}
end

return {s[1], s[2], s[3], ttl, redis.call('GET', u .. ':json'), gen}
