-- The user's own account: GET and PATCH /api/me, POST /api/me/password.
-- The rules of an account's fields (api.user_apply, api.user_check) are in
-- common.sql: the admin pages apply them too.


-- The user's own document without the session's csrf_token, for the
-- module's cache of GET me in Redis (chantier:user:<id>:json): null when the
-- user is gone or deactivated, which the module answers 401.
create or replace function api.me_document(p_user_id bigint)
    returns text
    language sql stable
as $$
    select api.user_json(u)::text
      from chantier.users as u
     where u.id = p_user_id and u.active
$$;

-- The user changes their e-mail, phone or notification choices.
create or replace function api.me_patch(p_user_id bigint, p_csrf text,
    p_patch jsonb)
    returns api.response
    language plpgsql
as $$
declare
    v_before      chantier.users;
    v_after       chantier.users;
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    select * into v_before
      from chantier.users as u
     where u.id = p_user_id and u.active
       for update;

    if not found then
        return api.fail(401, 'not_logged_in', 'Vous n''êtes plus connecté.');
    end if;

    perform api.require_object(p_patch);

    if p_patch ? 'password' then
        perform api.reject(400, 'field_not_editable',
                           'Le mot de passe se change à part,'
                           || ' avec le mot de passe actuel.', 'password');
    end if;

    perform api.check_keys(p_patch, '{email,phone,notify}',
                           '{login,role,civility,first_name,last_name,'
                           'company,client_number,address,active,id}',
                           'Vous ne pouvez pas modifier %s : contactez CLO.');

    v_after := api.user_apply(v_before, p_patch);
    perform api.user_check(v_after);

    if v_after is distinct from v_before then
        update chantier.users as u
           set email = v_after.email,
               phone = v_after.phone,
               notify_posts = v_after.notify_posts,
               notify_comments = v_after.notify_comments
         where u.id = p_user_id
        returning * into v_after;
    end if;

    return api.reply(200, api.user_json(v_after)
                          || jsonb_build_object('csrf_token', p_csrf));

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;

-- POST me/password, first step: the hash the current password is checked
-- against.  Zero rows for an unknown user.
create or replace function api.user_password_hash(p_user_id bigint)
    returns table (password_hash text)
    language sql stable
as $$
    select u.password_hash from chantier.users as u where u.id = p_user_id
$$;

-- POST me/password, second step: the new hash, computed by the module.
create or replace function api.user_password_set(p_user_id bigint, p_hash text)
    returns api.response
    language plpgsql
as $$
declare
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    perform api.check_password_hash(p_hash);

    update chantier.users as u
       set password_hash = p_hash
     where u.id = p_user_id;

    if not found then
        return api.not_found();
    end if;

    return api.reply(204);

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;
