-- Fiches d'avancement: GET /api/fiches (a client's list, or an employee's
-- search by chantier code or client) and GET /api/fiches/{id}.  Who may see a fiche
-- (api.fiche_version), the summary in the lists and the JSON of posts and
-- comments are in common.sql: posts, comments and the admin pages use them
-- too.


-- The posts and comments by others that p_user_id has not seen on fiche
-- p_fiche_id: since their last visit, or all of them before the first.
-- Deleted ones are gone from the tables, so they do not count; cancelled
-- posts still count: they are news too.
create or replace function api.fiche_unread(p_user_id bigint,
    p_fiche_id bigint)
    returns jsonb
    language sql stable
as $$
    with visit as (
        select coalesce((select v.seen_at
                           from chantier.fiche_visits as v
                          where v.user_id = p_user_id
                            and v.fiche_id = p_fiche_id),
                        '-infinity'::timestamptz) as seen_at
    )
    select jsonb_build_object(
        'unread_posts',
        (select count(*)
           from chantier.posts as p, visit
          where p.fiche_id = p_fiche_id
            and p.author_id <> p_user_id
            and p.created_at > visit.seen_at),
        'unread_comments',
        (select count(*)
           from chantier.comments as c
           join chantier.posts as p on p.id = c.post_id, visit
          where p.fiche_id = p_fiche_id
            and c.author_id <> p_user_id
            and c.created_at > visit.seen_at))
$$;

-- A client's fiches, the latest started first, each with what is new for
-- them.
create or replace function api.fiches_list(p_user_id bigint)
    returns api.response
    language sql stable
as $$
    select api.reply(200, coalesce(
               jsonb_agg(api.fiche_summary_json(c.id)
                         || api.fiche_unread(p_user_id, c.id)
                         order by c.start_date desc, c.id desc),
               '[]'))
      from chantier.chantiers as c
     where c.client_id = p_user_id
$$;

-- p_user_id has shown fiche p_fiche_id (PUT /api/fiches/{id}/seen): the
-- visit is recorded, and the previous one answered, {"previous_seen_at"}
-- (null for a first visit).  404 for a fiche they may not see.
create or replace function api.fiche_seen(p_user_id bigint, p_role text,
    p_fiche_id bigint)
    returns api.response
    language plpgsql
as $$
declare
    v_previous  timestamptz;
begin
    if api.fiche_version(p_user_id, p_role, p_fiche_id) is null then
        return api.not_found();
    end if;

    select v.seen_at into v_previous
      from chantier.fiche_visits as v
     where v.user_id = p_user_id and v.fiche_id = p_fiche_id
       for update;

    insert into chantier.fiche_visits as v (user_id, fiche_id, seen_at)
    values (p_user_id, p_fiche_id, now())
    on conflict (user_id, fiche_id) do update
       set seen_at = greatest(v.seen_at, excluded.seen_at);

    return api.reply(200, jsonb_build_object(
               'previous_seen_at', api.iso_time(v_previous)));
end
$$;

-- The fiches an employee finds by typing part of a chantier's code ("0057",
-- "ch 2026 0057": letters and digits compared, case, spaces and dashes
-- aside) or words of its client's name, company or number or of its title
-- ("dupont", "Hélène": case and accents aside, every word must appear).
-- A whole code finds that chantier alone; otherwise the codes that contain
-- the text come first, then the latest started; at most 20.  None: 404.
drop function if exists api.fiches_search(text);

create or replace function api.fiches_search(p_user_id bigint, p_q text)
    returns api.response
    language sql stable
as $$
    with query as (
        select regexp_replace(api.fold(p_q), '[^a-z0-9]', '', 'g') as compact,
               regexp_split_to_array(btrim(api.fold(p_q)), '\s+') as words
    ),
    found as (
        select c.id, c.start_date,
               case when regexp_replace(lower(c.code), '[^a-z0-9]', '', 'g')
                         = q.compact then 0
                    when strpos(regexp_replace(lower(c.code), '[^a-z0-9]',
                                               '', 'g'), q.compact) > 0
                    then 1
                    else 2 end as rank
          from chantier.chantiers as c
          join chantier.users as u on u.id = c.client_id
         cross join query as q
         where (q.compact <> ''
                and strpos(regexp_replace(lower(c.code), '[^a-z0-9]', '', 'g'),
                           q.compact) > 0)
            or (q.compact <> ''
                and not exists (
                    select
                      from unnest(q.words) as word
                     where word <> ''
                       and strpos(api.fold(concat_ws(' ', u.first_name,
                                      u.last_name, u.company,
                                      u.client_number, c.title)),
                                  word) = 0))
         order by rank, c.start_date desc, c.id desc
         limit 20
    ),
    kept as (
        select f.*
          from found as f
         where f.rank = (select min(m.rank) from found as m)
            or (select min(m.rank) from found as m) > 0
    )
    select coalesce(
        (select api.reply(200, jsonb_agg(api.fiche_summary_json(f.id)
                                         || api.fiche_unread(p_user_id, f.id)
                                         order by f.rank, f.start_date desc,
                                                  f.id desc))
           from kept as f
         having count(*) > 0),
        api.not_found())
$$;

-- The JSON text of the array of the posts of a fiche, oldest first, with
-- their comments.
create or replace function api.fiche_posts_text(p_fiche_id bigint)
    returns text
    language sql stable
as $$
    select '['
           || coalesce(string_agg(api.post_json(p, a,
                                                coalesce(t.comments, '[]')),
                                  ', ' order by p.created_at, p.id),
                       '')
           || ']'
      from chantier.posts as p
      join chantier.users as a on a.id = p.author_id
      left join api.comment_threads(array(select fp.id
                                            from chantier.posts as fp
                                           where fp.fiche_id = p_fiche_id))
                as t on t.post_id = p.id
     where p.fiche_id = p_fiche_id
$$;

-- The whole fiche as JSON text, and its version, which the JSON also
-- holds.  No check of rights: the caller asked api.fiche_version first.
-- Zero rows for a fiche that does not exist.  One statement: the version
-- and the content come from the same snapshot, so that a cache keyed by
-- the version never holds the content of another one.
create or replace function api.fiche_document(p_fiche_id bigint)
    returns table (version bigint, body text)
    language sql stable
as $$
    select f.version,
           api.json_with(
               jsonb_build_object(
                   'id', f.id,
                   'version', f.version,
                   'header', jsonb_build_object(
                       'chantier_id', c.code,
                       'title', c.title,
                       'start_date', api.iso_date(c.start_date),
                       'planned_end_date', api.iso_date(c.planned_end_date),
                       'revised_end_date', api.iso_date(c.revised_end_date),
                       'client', jsonb_build_object(
                           'name', api.user_name(u),
                           'address', api.address_json(u))),
                   'status', api.fiche_status(f),
                   'finished_at', api.iso_time(f.finished_at)),
               'posts', api.fiche_posts_text(f.id))
      from chantier.fiches as f
      join chantier.chantiers as c on c.id = f.id
      join chantier.users as u on u.id = c.client_id
     where f.id = p_fiche_id
$$;

-- What the PDF export of fiche p_fiche_id needs first, for p_user_id: its
-- version (the access rules of api.fiche_version) and its chantier code
-- (the file's name).  No row when the user may not see it.
create or replace function api.fiche_export(p_user_id bigint, p_role text,
    p_fiche_id bigint)
    returns table (version bigint, code text)
    language sql stable
as $$
    select v.version, c.code
      from (select api.fiche_version(p_user_id, p_role, p_fiche_id)
                   as version) as v
      join chantier.chantiers as c on c.id = p_fiche_id
     where v.version is not null
$$;
