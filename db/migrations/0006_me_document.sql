-- The user's own document without the session's csrf_token, for the
-- module's cache of GET me in Redis (chantier:user:<id>:json): NULL when the
-- user is gone or deactivated, which the module answers 401 like api.me_get.

create function api.me_document(p_user_id bigint)
    returns text
    language sql stable
as $$
    select api.user_json(u)::text
      from chantier.users as u
     where u.id = p_user_id and u.active
$$;
