-- Comments and replies: POST /api/posts/{id}/comments and DELETE
-- /api/comments/{id}, for the fiche's client and any employee.  Like posts,
-- every change locks the fiche's row first, calls api.fiche_changed once
-- (common.sql) and answers with an api.mutation.


-- The text of a comment: 1 to 5,000 characters once trimmed, line breaks
-- and tabs kept, no other control character.
create or replace function api.take_comment_text(p_body jsonb)
    returns text
    language plpgsql immutable
as $$
declare
    v_value  jsonb := p_body -> 'body';
    v_text   text;
begin
    if v_value is null or jsonb_typeof(v_value) = 'null' then
        perform api.invalid('body', 'est obligatoire.');
    end if;

    if jsonb_typeof(v_value) <> 'string' then
        perform api.invalid('body', 'doit être une chaîne de caractères.');
    end if;

    -- \s follows the locale, whose no-break spaces (U+00A0, U+2007,
    -- U+202F) are no spaces: a comment of them alone would look empty
    v_text := regexp_replace(v_value #>> '{}',
                             '^[\s\u00a0\u2007\u202f]+'
                             || '|[\s\u00a0\u2007\u202f]+$', '', 'g');

    if v_text = '' then
        perform api.invalid('body', 'est vide.');
    end if;

    if translate(v_text, E'\n\r\t', '') ~ '[[:cntrl:]]' then
        perform api.invalid('body', 'ne doit pas contenir de caractère de'
                                    || ' contrôle.');
    end if;

    if length(v_text) > 5000 then
        perform api.reject(413, 'too_large', 'Un commentaire compte 5 000'
                                             || ' caractères au plus.');
    end if;

    return v_text;
end
$$;

-- The fiche's client or any employee comments on post p_post_id, or
-- replies to one of its comments: {body, parent_id?}.  Cancelled posts
-- take comments too (shown greyed with them).
create or replace function api.comment_create(p_user_id bigint, p_role text,
    p_post_id bigint, p_body jsonb)
    returns api.mutation
    language plpgsql
as $$
declare
    v_author      chantier.users;
    v_fiche_id    bigint;
    v_parent_id   bigint;
    v_comment     chantier.comments;
    v_version     bigint;
    v_notified    bigint[];
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    select * into v_author
      from chantier.users as u
     where u.id = p_user_id and u.active;

    select p.fiche_id into v_fiche_id
      from chantier.posts as p
     where p.id = p_post_id
       and api.fiche_version(p_user_id, p_role, p.fiche_id) is not null;

    if v_author.id is null or v_fiche_id is null then
        return api.unchanged(api.not_found());
    end if;

    perform from chantier.fiches as f where f.id = v_fiche_id for update;

    -- the post may have been deleted while the fiche was busy
    perform from chantier.posts as p where p.id = p_post_id;

    if not found then
        return api.unchanged(api.not_found());
    end if;

    perform api.require_object(p_body);
    perform api.check_keys(p_body, '{body,parent_id}',
                           '{id,author,created_at,replies}');

    if jsonb_typeof(p_body -> 'parent_id') <> 'null' then
        v_parent_id := api.take_id(p_body, '{parent_id}');

        if not exists (select from chantier.comments as c
                        where c.id = v_parent_id
                          and c.post_id = p_post_id)
        then
            perform api.reject(400, 'invalid_parent',
                               'Le commentaire auquel vous répondez'
                               || ' n''appartient pas à cette publication.',
                               'parent_id');
        end if;
    end if;

    insert into chantier.comments (post_id, parent_id, author_id, body)
    values (p_post_id, v_parent_id, p_user_id,
            api.take_comment_text(p_body))
    returning * into v_comment;

    v_notified := api.notify_comment(v_comment, v_fiche_id);

    v_version := api.fiche_changed(v_fiche_id);

    return api.changed(201, api.json_with(api.comment_json(v_comment,
                                                           v_author),
                                          'replies', '[]'),
                       v_fiche_id, v_version, v_notified);

exception
    when sqlstate 'CH000' or unique_violation or check_violation
         or foreign_key_violation
    then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.unchanged(api.failure(v_state, v_detail, v_message,
                                         v_constraint));
end
$$;

-- Its author deletes comment p_comment_id; its replies go with it (on
-- delete cascade).  Anyone else who sees the fiche gets 403 not_author,
-- administrators included; those who do not see it, 404.
create or replace function api.comment_delete(p_user_id bigint, p_role text,
    p_comment_id bigint)
    returns api.mutation
    language plpgsql
as $$
declare
    v_author_id  bigint;
    v_fiche_id   bigint;
    v_version    bigint;
begin
    select c.author_id, p.fiche_id into v_author_id, v_fiche_id
      from chantier.comments as c
      join chantier.posts as p on p.id = c.post_id
     where c.id = p_comment_id
       and api.fiche_version(p_user_id, p_role, p.fiche_id) is not null;

    if v_fiche_id is null then
        return api.unchanged(api.not_found());
    end if;

    if v_author_id <> p_user_id then
        return api.unchanged(api.fail(403, 'not_author',
                                      'Seul son auteur peut supprimer ce'
                                      || ' commentaire.'));
    end if;

    perform from chantier.fiches as f where f.id = v_fiche_id for update;

    -- gone already if its post, or the comment it answered, was deleted
    -- while the fiche was busy
    delete from chantier.comments as c where c.id = p_comment_id;

    if not found then
        return api.unchanged(api.not_found());
    end if;

    v_version := api.fiche_changed(v_fiche_id);

    return api.changed(204, null, v_fiche_id, v_version);
end
$$;

-- The employees' home page: clients' comments that no employee or
-- administrator has answered yet, that is followed by no comment of theirs
-- on the same post.  The latest first, at most 30.
create or replace function api.comments_unanswered()
    returns api.response
    language sql stable
as $$
    select api.reply(200, coalesce(jsonb_agg(jsonb_build_object(
               'id', w.id,
               'fiche_id', w.fiche_id,
               'chantier_id', w.code,
               'title', w.title,
               'post_id', w.post_id,
               'author', jsonb_build_object('id', w.author_id,
                                            'name', w.author_name),
               'created_at', api.iso_time(w.created_at),
               'excerpt', api.excerpt(w.body))
               order by w.created_at desc, w.id desc), '[]'))
      from (select c.id, p.fiche_id, ch.code, ch.title, c.post_id,
                   c.author_id, api.user_name(u) as author_name,
                   c.created_at, c.body
              from chantier.comments as c
              join chantier.users as u on u.id = c.author_id
              join chantier.posts as p on p.id = c.post_id
              join chantier.chantiers as ch on ch.id = p.fiche_id
             where u.role = 'client'
               and not exists (
                       select
                         from chantier.comments as answer
                         join chantier.users as staff
                           on staff.id = answer.author_id
                        where answer.post_id = c.post_id
                          and staff.role <> 'client'
                          and (answer.created_at, answer.id)
                              > (c.created_at, c.id))
             order by c.created_at desc, c.id desc
             limit 30) as w
$$;
