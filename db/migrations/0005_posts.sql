-- 0005 — Posts and comments: what a fiche d'avancement is made of.
--
-- Employees write posts ("publications d'avancement") on a fiche; the
-- fiche's client and any employee comment on a post or reply to a comment,
-- to any depth.  A post can be edited, cancelled (it stays, greyed) and
-- un-cancelled, or deleted with its comments.  The fiche is finished while
-- its latest non-cancelled post is a finishing one.
--
-- Every change of a fiche goes through api.fiche_changed, once, in the
-- transaction of the change: the fiche's version moves on by exactly one
-- (ETag, caches, live updates) and its finished_at follows the posts.
--
-- The functions the module calls for changes answer with an api.mutation:
-- the HTTP response, and the fiche and its new version when something
-- changed, so that the module can announce the new version.


-- ------------------------------------------------------------------------
-- Tables
-- ------------------------------------------------------------------------

-- A post belongs to its fiche and goes with it.  Its author and the last
-- person who changed it are users that must stay: accounts are deactivated
-- ("active"), never deleted, and a post keeps naming who wrote it (the
-- default ON DELETE NO ACTION refuses to delete such a user).
create table chantier.posts (
    id              bigint generated always as identity primary key,
    fiche_id        bigint not null
                    references chantier.fiches (id) on delete cascade,
    author_id       bigint not null references chantier.users (id),
    changed_by      bigint not null references chantier.users (id),
    version         bigint not null default 1,
    body            jsonb not null,
    cancelled       boolean not null default false,
    finishing       boolean not null default false,
    notify_client   boolean not null default true,
    created_at      timestamptz not null default now(),
    edited_at       timestamptz,

    -- a Quill Delta, {"ops": [...]}; the module checked its content
    constraint posts_body_is_delta
        check (jsonb_typeof(body) = 'object'
               and jsonb_typeof(body -> 'ops') = 'array'),

    constraint posts_version_positive check (version >= 1),

    constraint posts_edited_after_created check (edited_at >= created_at)
);

-- The posts of a fiche in their order, and its latest post.
create index posts_fiche_order on chantier.posts (fiche_id, created_at, id);


-- A comment belongs to a post and goes with it; a reply belongs to the
-- comment it answers, in the same post, and goes with it too.  The pair
-- (post_id, parent_id) references (post_id, id): a reply to a comment of
-- another post cannot exist.
create table chantier.comments (
    id          bigint generated always as identity primary key,
    post_id     bigint not null
                references chantier.posts (id) on delete cascade,
    parent_id   bigint,
    author_id   bigint not null references chantier.users (id),
    body        text not null,
    created_at  timestamptz not null default now(),

    -- what a reply's foreign key points at; also the index of the
    -- comments of a post
    constraint comments_post_id_id_unique unique (post_id, id),

    constraint comments_parent_same_post
        foreign key (post_id, parent_id)
        references chantier.comments (post_id, id) on delete cascade,

    constraint comments_not_own_parent check (parent_id <> id),

    -- plain text, trimmed, line breaks kept
    constraint comments_body_length
        check (length(body) between 1 and 5000)
);

-- The replies to a comment: threads, and deleting a comment with them.
create index comments_parent_id on chantier.comments (parent_id);


-- ------------------------------------------------------------------------
-- Responses of changes
-- ------------------------------------------------------------------------

-- What a change answers: the response, and the fiche with its new version
-- when something changed (both null when nothing did).
create type api.mutation as (
    status          integer,
    body            text,
    fiche_id        bigint,
    fiche_version   bigint
);

create function api.changed(p_status integer, p_body text,
    p_fiche_id bigint, p_fiche_version bigint)
    returns api.mutation
    language sql immutable
as $$
    select p_status, p_body, p_fiche_id, p_fiche_version
$$;

create function api.unchanged(p_response api.response)
    returns api.mutation
    language sql immutable
as $$
    select p_response.status, p_response.body, null::bigint, null::bigint
$$;


-- As in 0003, with the rules of posts and comments.  A foreign key fails
-- only when what a change refers to vanished meanwhile.
create or replace function api.failure(p_state text, p_detail text,
    p_message text, p_constraint text)
    returns api.response
    language sql immutable
as $$
    select case
        when p_state like 'CH%' then
            api.fail(right(p_state, 3)::integer, p_detail, p_message)

        when p_constraint = 'users_login_unique' then
            api.fail(409, 'login_taken',
                     'Cet identifiant (login) est déjà utilisé.')

        when p_constraint = 'users_client_number_unique' then
            api.fail(409, 'client_number_taken',
                     'Ce numéro client (client_number) est déjà attribué.')

        when p_constraint = 'chantiers_code_unique' then
            api.fail(409, 'chantier_exists',
                     'Un chantier porte déjà cet identifiant (chantier_id).')

        when p_constraint = 'comments_parent_same_post' then
            api.fail(400, 'invalid_parent',
                     'Le commentaire auquel vous répondez (parent_id)'
                     || ' n''appartient pas à cette publication.')

        when p_state = '23503' then
            api.not_found()

        when p_state = '23505' then
            api.fail(409, 'conflict', 'Cette valeur est déjà utilisée.')

        else
            api.fail(400, 'invalid_field',
                     format('Valeur refusée (règle %s).', p_constraint))
    end
$$;


-- As in 0003, with the fields of posts and comments.
create or replace function api.label(p_field text)
    returns text
    language sql immutable
as $$
    select case p_field
        when 'role' then 'le rôle'
        when 'login' then 'l''identifiant'
        when 'password' then 'le mot de passe'
        when 'civility' then 'la civilité'
        when 'first_name' then 'le prénom'
        when 'last_name' then 'le nom'
        when 'company' then 'la société'
        when 'client_number' then 'le numéro client'
        when 'address' then 'l''adresse'
        when 'address.line1' then 'la première ligne de l''adresse'
        when 'address.line2' then 'la deuxième ligne de l''adresse'
        when 'address.postal_code' then 'le code postal'
        when 'address.city' then 'la ville'
        when 'email' then 'l''adresse e-mail'
        when 'phone' then 'le téléphone mobile'
        when 'notify' then 'le choix des notifications'
        when 'notify.posts' then 'la notification des publications'
        when 'notify.comments' then 'la notification des commentaires'
        when 'active' then 'l''état du compte'
        when 'id' then 'l''identifiant interne'
        when 'chantier_id' then 'l''identifiant du chantier'
        when 'title' then 'l''intitulé'
        when 'client_id' then 'le client'
        when 'start_date' then 'la date de début'
        when 'planned_end_date' then 'la date de fin prévue'
        when 'body' then 'le texte'
        when 'finishing' then 'la clôture du chantier'
        when 'notify_client' then 'l''avis au client'
        when 'cancelled' then 'l''annulation'
        when 'parent_id' then 'le commentaire auquel vous répondez'
        when 'version' then 'la version'
        when 'author' then 'l''auteur'
        when 'created_at' then 'la date de publication'
        when 'edited_at' then 'la date de modification'
        when 'comments' then 'les commentaires'
        else 'le champ'
    end || ' (' || p_field || ')'
$$;


-- ------------------------------------------------------------------------
-- Checking what posts and comments receive
-- ------------------------------------------------------------------------

-- The rich text (Quill Delta) at p_path of p_body.  The module checked it
-- against the allow-list of the SPEC; here only its shape is checked, and
-- it is stored as given.
create function api.take_delta(p_body jsonb, p_path text[])
    returns jsonb
    language plpgsql immutable
as $$
declare
    v_field  text := array_to_string(p_path, '.');
    v_delta  jsonb := p_body #> p_path;
begin
    if v_delta is null or jsonb_typeof(v_delta) = 'null' then
        perform api.invalid(v_field, 'est obligatoire.');
    end if;

    if jsonb_typeof(v_delta) <> 'object'
       or jsonb_typeof(v_delta -> 'ops') is distinct from 'array'
    then
        perform api.invalid(v_field, 'doit être un texte mis en forme'
                                     || ' (un Delta {"ops": [...]}).');
    end if;

    return v_delta;
end
$$;


-- The text of a comment: 1 to 5,000 characters once trimmed, line breaks
-- and tabs kept, no other control character.
create function api.take_comment_text(p_body jsonb)
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


-- ------------------------------------------------------------------------
-- Who may do what
-- ------------------------------------------------------------------------

-- The active employee or administrator p_user_id: who may write posts.
-- A row of nulls for anyone else.
create function api.staff(p_user_id bigint)
    returns chantier.users
    language sql stable
as $$
    select *
      from chantier.users as u
     where u.id = p_user_id
       and u.role in ('employee', 'admin')
       and u.active
$$;


-- The version of fiche p_fiche_id when p_user_id may see it (its client,
-- or any employee or administrator), else null.  One lookup by primary key
-- in each table: it runs on every GET of a fiche, before the cache.
create function api.fiche_version(p_user_id bigint, p_role text,
    p_fiche_id bigint)
    returns bigint
    language sql stable
as $$
    select f.version
      from chantier.fiches as f
      join chantier.chantiers as c on c.id = f.id
     where f.id = p_fiche_id
       and (p_role in ('employee', 'admin') or c.client_id = p_user_id)
$$;


-- ------------------------------------------------------------------------
-- The fiche follows its posts
-- ------------------------------------------------------------------------

-- Records a change of fiche p_fiche_id and returns its new version.  Its
-- finished_at becomes the time of its latest non-cancelled post when that
-- post finishes the chantier, else null.
--
-- The functions that change a fiche lock its row first (select ... for
-- update), before reading or changing its posts and comments: changes of
-- one fiche then run one after the other, each sees the posts the previous
-- one committed, and the versions follow one another.
create function api.fiche_changed(p_fiche_id bigint)
    returns bigint
    language sql
as $$
    update chantier.fiches as f
       set version = f.version + 1,
           finished_at = (select case when p.finishing then p.created_at end
                            from chantier.posts as p
                           where p.fiche_id = f.id
                             and not p.cancelled
                           order by p.created_at desc, p.id desc
                           limit 1)
     where f.id = p_fiche_id
    returning f.version
$$;


-- The latest post of a fiche, cancelled or not, for the list of fiches.
create or replace function api.fiche_last_post_at(p_fiche_id bigint)
    returns timestamptz
    language sql stable
as $$
    select max(p.created_at)
      from chantier.posts as p
     where p.fiche_id = p_fiche_id
$$;


-- ------------------------------------------------------------------------
-- JSON of posts and comments
-- ------------------------------------------------------------------------

-- As in 0003, but stable instead of immutable.  Their bodies call to_char
-- and concat_ws, which are stable, and PostgreSQL inlines a SQL function
-- into its caller only when the body is no more volatile than the function
-- claims to be.  Inlined, they cost nothing; called 4,000 times for a fiche
-- of 1,000 comments, they took most of its 100 ms.
create or replace function api.iso_date(p_date date)
    returns text
    language sql stable
as $$
    select to_char(p_date, 'YYYY-MM-DD')
$$;

create or replace function api.iso_time(p_time timestamptz)
    returns text
    language sql stable
as $$
    select to_char(p_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

create or replace function api.user_name(p_user chantier.users)
    returns text
    language sql stable
as $$
    select concat_ws(' ', p_user.civility, p_user.first_name, p_user.last_name)
$$;


-- The JSON text of object p_object with one more member, p_key, whose
-- value p_json is JSON text already.  Threads and posts are put together
-- this way, as text, rather than parsed into jsonb again at every level of
-- nesting.  p_object must have at least one member.
create function api.json_with(p_object jsonb, p_key text, p_json text)
    returns text
    language sql stable
as $$
    select left(p_object::text, -1)
           || ', ' || to_jsonb(p_key)::text || ': ' || p_json || '}'
$$;


-- A comment without its replies.
create function api.comment_json(p_comment chantier.comments,
    p_author chantier.users)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'id', p_comment.id,
        'author', jsonb_build_object(
                      'id', p_author.id,
                      'name', api.user_name(p_author),
                      'role', p_author.role),
        'created_at', api.iso_time(p_comment.created_at),
        'body', p_comment.body)
$$;


-- The comments of the posts p_post_ids: one row per post that has some,
-- with the JSON text of the array of its comments, each with its replies,
-- oldest first at every level.
--
-- The comments of these posts are read once, by index ("posted"); the
-- threads are followed within them, so that the cost does not grow with
-- the comments of other fiches.
--
-- One pass, no function call per comment: the comments are read in the
-- order of reading (depth first: a comment, then its replies, then the
-- next comment), each with its depth.  Each comment opens its "replies"
-- array; the next comment in that order tells how many arrays to close
-- before it: none when it is a reply to this one, this one's when it is a
-- sibling, more when it goes back up the thread; after the last comment of
-- a post, all of them.
create function api.comment_threads(p_post_ids bigint[])
    returns table (post_id bigint, comments text)
    language sql stable
as $$
    with recursive posted (comment) as (
        select c
          from chantier.comments as c
         where c.post_id = any (p_post_ids)
    ),
    thread (comment, depth, path) as (
        select p.comment, 0,
               array[extract(epoch from (p.comment).created_at),
                     (p.comment).id]
          from posted as p
         where (p.comment).parent_id is null
        union all
        select p.comment, thread.depth + 1,
               thread.path
               || array[extract(epoch from (p.comment).created_at),
                        (p.comment).id]
          from thread
          join posted as p
            on (p.comment).parent_id = (thread.comment).id
    ),
    reading as (
        select (t.comment).post_id, t.path, t.depth,
               lead(t.depth) over (partition by (t.comment).post_id
                                   order by t.path) as next_depth,
               api.comment_json(t.comment, u) as comment
          from thread as t
          join chantier.users as u on u.id = (t.comment).author_id
    )
    select r.post_id,
           '['
           || string_agg(left(r.comment::text, -1) || ', "replies": ['
                         || repeat(']}', r.depth + 1
                                         - coalesce(r.next_depth, 0))
                         || case when r.next_depth <= r.depth
                                 then ', ' else '' end,
                         '' order by r.path)
           || ']'
      from reading as r
     group by r.post_id
$$;


-- A post, with the JSON text of the array of its comments.
create function api.post_json(p_post chantier.posts, p_author chantier.users,
    p_comments text)
    returns text
    language sql stable
as $$
    select api.json_with(
        jsonb_build_object(
            'id', p_post.id,
            'version', p_post.version,
            'author', jsonb_build_object(
                          'id', p_author.id,
                          'name', api.user_name(p_author)),
            'created_at', api.iso_time(p_post.created_at),
            'edited_at', api.iso_time(p_post.edited_at),
            'body', p_post.body,
            'cancelled', p_post.cancelled,
            'finishing', p_post.finishing,
            'notify_client', p_post.notify_client),
        'comments', p_comments)
$$;

-- One post as it is now, with its comments.
create function api.post_json(p_post_id bigint)
    returns text
    language sql stable
as $$
    select api.post_json(p, a, coalesce(t.comments, '[]'))
      from chantier.posts as p
      join chantier.users as a on a.id = p.author_id
      left join api.comment_threads(array[p_post_id]) as t
             on t.post_id = p.id
     where p.id = p_post_id
$$;


-- The JSON text of the array of the posts of a fiche, oldest first, with
-- their comments.
create function api.fiche_posts_text(p_fiche_id bigint)
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

-- The same as jsonb, for SQL callers (0003's name).
create or replace function api.fiche_posts_json(p_fiche_id bigint)
    returns jsonb
    language sql stable
as $$
    select api.fiche_posts_text(p_fiche_id)::jsonb
$$;


-- ------------------------------------------------------------------------
-- Reading a fiche
-- ------------------------------------------------------------------------

-- The whole fiche as JSON text, and its version, which the JSON also
-- holds.  No check of rights: the caller asked api.fiche_version first.
-- Zero rows for a fiche that does not exist.  One statement: the version
-- and the content come from the same snapshot, so that a cache keyed by
-- the version never holds the content of another one.
create function api.fiche_document(p_fiche_id bigint)
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


-- A whole fiche, for its client or any employee; 404 for anyone else, so
-- that fiche ids cannot be probed.
create or replace function api.fiche_get(p_user_id bigint, p_role text,
    p_fiche_id bigint)
    returns api.response
    language sql stable
as $$
    select coalesce(
        (select (200, d.body)::api.response
           from api.fiche_document(p_fiche_id) as d
          where api.fiche_version(p_user_id, p_role, p_fiche_id)
                is not null),
        api.not_found())
$$;


-- ------------------------------------------------------------------------
-- Posts
-- ------------------------------------------------------------------------

-- An employee publishes on fiche p_fiche_id: {body, finishing?,
-- notify_client?}.  notify_client, ticked by default, is kept for the
-- notifier.
create function api.post_create(p_user_id bigint, p_fiche_id bigint,
    p_body jsonb)
    returns api.mutation
    language plpgsql
as $$
declare
    v_author      chantier.users := api.staff(p_user_id);
    v_post        chantier.posts;
    v_version     bigint;
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    if v_author.id is null then
        return api.unchanged(api.not_found());
    end if;

    perform from chantier.fiches as f where f.id = p_fiche_id for update;

    if not found then
        return api.unchanged(api.not_found());
    end if;

    perform api.require_object(p_body);
    perform api.check_keys(p_body, '{body,finishing,notify_client}',
                           '{id,version,author,created_at,edited_at,'
                           'cancelled,comments}');

    v_post.body := api.take_delta(p_body, '{body}');
    v_post.finishing := false;
    v_post.notify_client := true;

    if p_body ? 'finishing' then
        v_post.finishing := api.take_boolean(p_body, '{finishing}');
    end if;

    if p_body ? 'notify_client' then
        v_post.notify_client := api.take_boolean(p_body, '{notify_client}');
    end if;

    insert into chantier.posts
        (fiche_id, author_id, changed_by, body, finishing, notify_client)
    values
        (p_fiche_id, p_user_id, p_user_id, v_post.body, v_post.finishing,
         v_post.notify_client)
    returning * into v_post;

    v_version := api.fiche_changed(p_fiche_id);

    return api.changed(201, api.post_json(v_post, v_author, '[]'),
                       p_fiche_id, v_version);

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


-- An employee edits post p_post_id, whose version they saw was p_if_match:
-- {body?, cancelled?, finishing?}.  A stale version is refused with the
-- post as it is now, naming who changed it.  "Modifié le" (edited_at)
-- moves only when the text changes.
create function api.post_patch(p_user_id bigint, p_post_id bigint,
    p_if_match bigint, p_patch jsonb)
    returns api.mutation
    language plpgsql
as $$
declare
    v_before      chantier.posts;
    v_after       chantier.posts;
    v_changer     chantier.users;
    v_version     bigint;
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    if (api.staff(p_user_id)).id is null then
        return api.unchanged(api.not_found());
    end if;

    perform from chantier.fiches as f
     where f.id = (select p.fiche_id from chantier.posts as p
                    where p.id = p_post_id)
       for update;

    -- the post may also have been deleted while the fiche was busy
    select * into v_before
      from chantier.posts as p
     where p.id = p_post_id
       for update;

    if not found then
        return api.unchanged(api.not_found());
    end if;

    -- the precondition first, then the content (RFC 9110, 13.2.2)
    if p_if_match is distinct from v_before.version then
        select * into v_changer
          from chantier.users as u
         where u.id = v_before.changed_by;

        return api.unchanged((412, api.json_with(
            jsonb_build_object('error', jsonb_build_object(
                'code', 'stale_version',
                'message', format('Cette publication a été modifiée par %s'
                                  || ' entre-temps.',
                                  api.user_name(v_changer)))),
            'current', api.post_json(p_post_id)))::api.response);
    end if;

    perform api.require_object(p_patch);
    perform api.check_keys(p_patch, '{body,cancelled,finishing}',
                           '{id,version,author,created_at,edited_at,'
                           'notify_client,comments}');

    if not p_patch ?| '{body,cancelled,finishing}' then
        perform api.reject(400, 'invalid_field',
                           'Indiquez ce qui change : le texte (body),'
                           || ' l''annulation (cancelled) ou la clôture du'
                           || ' chantier (finishing).');
    end if;

    v_after := v_before;

    if p_patch ? 'body' then
        v_after.body := api.take_delta(p_patch, '{body}');
    end if;

    if p_patch ? 'cancelled' then
        v_after.cancelled := api.take_boolean(p_patch, '{cancelled}');
    end if;

    if p_patch ? 'finishing' then
        v_after.finishing := api.take_boolean(p_patch, '{finishing}');
    end if;

    if v_after is not distinct from v_before then
        return api.unchanged((200, api.post_json(p_post_id))::api.response);
    end if;

    update chantier.posts as p
       set body = v_after.body,
           cancelled = v_after.cancelled,
           finishing = v_after.finishing,
           edited_at = case when v_after.body <> v_before.body
                            then now() else p.edited_at end,
           changed_by = p_user_id,
           version = p.version + 1
     where p.id = p_post_id;

    v_version := api.fiche_changed(v_before.fiche_id);

    return api.changed(200, api.post_json(p_post_id), v_before.fiche_id,
                       v_version);

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


-- An employee deletes post p_post_id; its comments go with it (on delete
-- cascade).
create function api.post_delete(p_user_id bigint, p_post_id bigint)
    returns api.mutation
    language plpgsql
as $$
declare
    v_fiche_id  bigint;
    v_version   bigint;
begin
    if (api.staff(p_user_id)).id is null then
        return api.unchanged(api.not_found());
    end if;

    perform from chantier.fiches as f
     where f.id = (select p.fiche_id from chantier.posts as p
                    where p.id = p_post_id)
       for update;

    delete from chantier.posts as p
     where p.id = p_post_id
    returning p.fiche_id into v_fiche_id;

    if not found then
        return api.unchanged(api.not_found());
    end if;

    v_version := api.fiche_changed(v_fiche_id);

    return api.changed(204, null, v_fiche_id, v_version);
end
$$;


-- ------------------------------------------------------------------------
-- Comments
-- ------------------------------------------------------------------------

-- The fiche's client or any employee comments on post p_post_id, or
-- replies to one of its comments: {body, parent_id?}.  Cancelled posts
-- take comments too (shown greyed with them).
create function api.comment_create(p_user_id bigint, p_role text,
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
                               || ' (parent_id) n''appartient pas à cette'
                               || ' publication.');
        end if;
    end if;

    insert into chantier.comments (post_id, parent_id, author_id, body)
    values (p_post_id, v_parent_id, p_user_id,
            api.take_comment_text(p_body))
    returning * into v_comment;

    v_version := api.fiche_changed(v_fiche_id);

    return api.changed(201, api.json_with(api.comment_json(v_comment,
                                                           v_author),
                                          'replies', '[]'),
                       v_fiche_id, v_version);

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
create function api.comment_delete(p_user_id bigint, p_role text,
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
