-- 0003 — The api schema: what the functions the nginx module calls answer.
--
-- The functions themselves are not here: each one's current text is in
-- db/api/<resource>.sql, which db/migrate applies after the migrations
-- whenever the file changes.  Here is what they need to exist: the schema
-- and the type of their answers.
--
-- The module sends one parameterized statement per step, for example
--     select status, body from api.me_patch($1, $2, $3::jsonb)
-- and most functions answer with one api.response row: the HTTP status and
-- the JSON text to send (null for 204).

create schema api;


create type api.response as (
    status  integer,
    body    text
);
