-- Fiches d'avancement: GET /api/fiches (a client's list, or an employee's
-- search by chantier code) and GET /api/fiches/{id}.  Who may see a fiche
-- (api.fiche_version), the summary in the lists and the JSON of posts and
-- comments are in common.sql: posts, comments and the admin pages use them
-- too.


-- A client's fiches, the latest started first.
create or replace function api.fiches_list(p_user_id bigint)
    returns api.response
    language sql stable
as $$
    select api.reply(200, coalesce(
               jsonb_agg(api.fiche_summary_json(c.id)
                         order by c.start_date desc, c.id desc),
               '[]'))
      from chantier.chantiers as c
     where c.client_id = p_user_id
$$;

-- The fiche an employee opens by typing its chantier's code.
create or replace function api.fiches_by_code(p_code text)
    returns api.response
    language sql stable
as $$
    select coalesce(
        (select api.reply(200, jsonb_build_array(api.fiche_summary_json(c.id)))
           from chantier.chantiers as c
          where c.code = upper(btrim(p_code))),
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
