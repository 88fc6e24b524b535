-- Publications d'avancement: POST /api/fiches/{id}/posts, PATCH and
-- DELETE /api/posts/{id}.  Only active employees and administrators write
-- them.  Every change locks the fiche's row first and calls
-- api.fiche_changed once (common.sql); the functions answer with an
-- api.mutation.


-- The active employee or administrator p_user_id: who may write posts.
-- A row of nulls for anyone else.
create or replace function api.staff(p_user_id bigint)
    returns chantier.users
    language sql stable
as $$
    select *
      from chantier.users as u
     where u.id = p_user_id
       and u.role in ('employee', 'admin')
       and u.active
$$;

-- The rich text (Quill Delta) at p_path of p_body.  The module checked it
-- against the allow-list of the SPEC; here only its shape is checked, and
-- it is stored as given.
create or replace function api.take_delta(p_body jsonb, p_path text[])
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

-- Makes post p_post's photos those its body embeds: each must be a photo
-- of the post's fiche that no other post shows; those taken out of the
-- body are let go (the next upload's sweep removes them once 24 h old).
-- Called by post_create and post_patch with the post row locked.
create or replace function api.post_photos_set(p_post chantier.posts)
    returns void
    language plpgsql
as $$
declare
    v_ids      bigint[] := api.delta_photo_ids(p_post.body);
    v_missing  bigint;
begin
    select wanted.id into v_missing
      from unnest(v_ids) as wanted(id)
      left join chantier.photos as ph
             on ph.id = wanted.id
            and ph.fiche_id = p_post.fiche_id
            and (ph.post_id is null or ph.post_id = p_post.id)
     where ph.id is null
     limit 1;

    if v_missing is not null then
        perform api.reject(400, 'invalid_field',
                           format('body : la photo %s n''appartient pas à'
                                  || ' cette fiche ou figure déjà dans une'
                                  || ' autre publication.', v_missing));
    end if;

    update chantier.photos as ph
       set post_id = null
     where ph.post_id = p_post.id
       and ph.id <> all (v_ids);

    update chantier.photos as ph
       set post_id = p_post.id
     where ph.id = any (v_ids)
       and ph.post_id is null;
end
$$;

-- An employee publishes on fiche p_fiche_id: {body, finishing?,
-- notify_client?}.  notify_client, ticked by default, tells the client
-- (api.notify_post): the notification commits with the post.  The photos the body embeds become the post's.  With
-- p_idempotency_key (the Idempotency-Key header), an attempt again of a
-- post already published answers that post, 201, and changes nothing.
create or replace function api.post_create(p_user_id bigint, p_fiche_id bigint,
    p_body jsonb, p_idempotency_key text default null)
    returns api.mutation
    language plpgsql
as $$
declare
    v_author      chantier.users := api.staff(p_user_id);
    v_post        chantier.posts;
    v_version     bigint;
    v_notified    bigint[];
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

    -- an attempt again of a post already published (0009): under the
    -- fiche's lock, so that two attempts at once find each other
    if p_idempotency_key is not null then
        select * into v_post
          from chantier.posts as p
         where p.author_id = p_user_id
           and p.idempotency_key = p_idempotency_key;

        if found and v_post.fiche_id <> p_fiche_id then
            return api.unchanged(api.fail(409, 'idempotency_key_reused',
                'Cette clé de publication (Idempotency-Key) a déjà servi'
                || ' sur une autre fiche.'));
        end if;

        if found then
            return api.unchanged((201, api.post_json(v_post.id))::api.response);
        end if;
    end if;

    perform api.require_object(p_body);
    perform api.check_keys(p_body, '{body,finishing,notify_client}',
                           '{id,version,author,created_at,edited_at,'
                           'cancelled,comments,photos}');

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
        (fiche_id, author_id, changed_by, body, finishing, notify_client,
         idempotency_key)
    values
        (p_fiche_id, p_user_id, p_user_id, v_post.body, v_post.finishing,
         v_post.notify_client, p_idempotency_key)
    returning * into v_post;

    perform api.post_photos_set(v_post);

    if v_post.notify_client then
        v_notified := api.notify_post(v_post, 'post_created', p_user_id);
    end if;

    v_version := api.fiche_changed(p_fiche_id);

    return api.changed(201, api.post_json(v_post, v_author, '[]'),
                       p_fiche_id, v_version, v_notified);

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
-- {body?, cancelled?, finishing?, notify_client?}.  A stale version is
-- refused with the post as it is now, naming who changed it.  "Modifié le"
-- (edited_at) moves only when the text changes.  An edit is quiet; with
-- notify_client:true the post is announced to the client again
-- ("publication modifiée"), once per version of the post.
create or replace function api.post_patch(p_user_id bigint, p_post_id bigint,
    p_if_match bigint, p_patch jsonb)
    returns api.mutation
    language plpgsql
as $$
declare
    v_before      chantier.posts;
    v_after       chantier.posts;
    v_changer     chantier.users;
    v_version     bigint;
    v_announce    boolean := false;
    v_notified    bigint[];
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
    perform api.check_keys(p_patch,
                           '{body,cancelled,finishing,notify_client}',
                           '{id,version,author,created_at,edited_at,'
                           'comments,photos}');

    if not p_patch ?| '{body,cancelled,finishing,notify_client}' then
        perform api.reject(400, 'invalid_field',
                           'Indiquez ce qui change : le texte,'
                           || ' le retrait de la publication, la clôture'
                           || ' du chantier ou l''avis au client.');
    end if;

    if p_patch ? 'notify_client' then
        v_announce := api.take_boolean(p_patch, '{notify_client}');
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
        if v_announce then
            v_notified := api.notify_post(v_before, 'post_reannounced',
                                          p_user_id);
        end if;

        return api.changed(200, api.post_json(p_post_id), null, null,
                           v_notified);
    end if;

    update chantier.posts as p
       set body = v_after.body,
           cancelled = v_after.cancelled,
           finishing = v_after.finishing,
           edited_at = case when v_after.body <> v_before.body
                            then now() else p.edited_at end,
           changed_by = p_user_id,
           version = p.version + 1
     where p.id = p_post_id
    returning * into v_after;

    if v_after.body <> v_before.body then
        perform api.post_photos_set(v_after);
    end if;

    if v_announce then
        v_notified := api.notify_post(v_after, 'post_reannounced', p_user_id);
    end if;

    v_version := api.fiche_changed(v_before.fiche_id);

    return api.changed(200, api.post_json(p_post_id), v_before.fiche_id,
                       v_version, v_notified);

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

-- An employee deletes post p_post_id; its comments and photos go with it
-- (on delete cascade).
create or replace function api.post_delete(p_user_id bigint, p_post_id bigint)
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
