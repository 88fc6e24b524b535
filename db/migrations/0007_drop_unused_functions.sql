-- 0007 — Functions nothing calls any more.
--
-- A database migrated before the functions moved to db/api/ still has these;
-- a new one never had them (hence "if exists").  Nothing calls them: neither
-- the module, nor chantierctl, nor another function, nor the demo data, the
-- fixtures or the tests.

-- GET /api/me is answered from the user's document (api.me_document),
-- cached in Redis, with the session's csrf_token added by the module.
drop function if exists api.me_get(bigint, text);

-- GET /api/fiches/{id} asks api.fiche_version, then api.fiche_document.
drop function if exists api.fiche_get(bigint, text, bigint);

-- The posts of a fiche as jsonb: only the old api.fiche_get read them;
-- api.fiche_document writes them as text (api.fiche_posts_text).
drop function if exists api.fiche_posts_json(bigint);

-- A user's JSON by id: every caller has the row and calls
-- api.user_json(chantier.users).
drop function if exists api.user_json(bigint);
