-- POST /api/session: the account behind a login.  The module checks the
-- password (scrypt, in its thread pool), counts failed attempts in Redis and
-- keeps the session there; the database only finds the account.


-- Zero rows for an unknown login.  The login is matched exactly as the
-- module counts its failed attempts (chantier:fails:login:<login>): ASCII
-- letters lower-cased, nothing else changed.  Any further folding would give
-- one account several counters and let attempts escape the limit of 5:
-- btrim (" dupont") or lower() under a Unicode collation (the Kelvin sign
-- U+212A becomes "k").  The login page trims what the user typed.
create or replace function api.login_lookup(p_login text)
    returns table (user_id bigint, role text, active boolean,
                   password_hash text, user_json text)
    language sql stable
as $$
    select u.id, u.role, u.active, u.password_hash, api.user_json(u)::text
      from chantier.users as u
     where u.login = (lower(p_login collate "C") collate "default")
$$;
