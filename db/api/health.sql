-- GET /api/health: PostgreSQL answers when this does.


create or replace function api.health()
    returns integer
    language sql stable
as $$
    select 1
$$;
