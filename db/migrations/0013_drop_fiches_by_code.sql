-- api.fiches_by_code (an exact code) gave way to api.fiches_search (part
-- of a code, or the client's name), db/api/fiches.sql.
drop function if exists api.fiches_by_code(text);
