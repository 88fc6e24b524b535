-- The admin pages: accounts (POST, GET ?q= and PATCH /api/admin/users) and
-- chantiers with their fiches (POST and PATCH /api/admin/chantiers).
-- chantierctl creates the first administrator with api.admin_user_create.


-- ------------------------------------------------------------------------
-- The audit log (0015_audit.sql): written by each action below, in its
-- transaction
-- ------------------------------------------------------------------------

-- The members of p_after that differ from p_before: {"key": {"from",
-- "to"}}.
create or replace function api.json_changes(p_before jsonb, p_after jsonb)
    returns jsonb
    language sql immutable
as $$
    select coalesce(jsonb_object_agg(k.key, jsonb_build_object(
                        'from', p_before -> k.key, 'to', p_after -> k.key)),
                    '{}')
      from (select jsonb_object_keys(p_before) as key
            union
            select jsonb_object_keys(p_after)) as k
     where (p_before -> k.key) is distinct from (p_after -> k.key)
$$;

create or replace function api.audit(p_actor_id bigint, p_action text,
    p_object_type text, p_object_id bigint, p_changes jsonb)
    returns void
    language sql
as $$
    insert into chantier.audit_log
        (actor_id, action, object_type, object_id, changes)
    values
        (p_actor_id, p_action, p_object_type, p_object_id,
         coalesce(p_changes, '{}'))
$$;

-- The latest p_limit actions (1 to 500), the latest first.
create or replace function api.admin_audit(p_limit integer)
    returns api.response
    language sql stable
as $$
    select api.reply(200, coalesce(jsonb_agg(jsonb_build_object(
               'id', a.id,
               'at', api.iso_time(a.at),
               'actor', case when a.actor_id is null then null
                             else jsonb_build_object('id', a.actor_id,
                                                     'name', a.actor_name)
                        end,
               'action', a.action,
               'object_type', a.object_type,
               'object_id', a.object_id,
               'changes', a.changes)
               order by a.at desc, a.id desc), '[]'))
      from (select l.*, api.user_name(u) as actor_name
              from chantier.audit_log as l
              left join chantier.users as u on u.id = l.actor_id
             order by l.at desc, l.id desc
             limit greatest(1, least(coalesce(p_limit, 50), 500))) as a
$$;


-- ------------------------------------------------------------------------
-- Accounts
-- ------------------------------------------------------------------------

-- A change of name or address changes the header of the client's fiches:
-- their version moves so that caches and open pages notice.
create or replace function api.user_touch_fiches(p_before chantier.users,
    p_after chantier.users)
    returns void
    language sql
as $$
    update chantier.fiches as f
       set version = f.version + 1
      from chantier.chantiers as c
     where c.id = f.id
       and c.client_id = p_after.id
       and (api.user_name(p_before), api.address_json(p_before))
           is distinct from (api.user_name(p_after), api.address_json(p_after))
$$;

-- Administrator p_actor_id (null: chantierctl) creates an account; the C
-- side has hashed "password" into p_password_hash.
drop function if exists api.admin_user_create(jsonb, text);

create or replace function api.admin_user_create(p_actor_id bigint,
    p_body jsonb, p_password_hash text)
    returns api.response
    language plpgsql
as $$
declare
    v_user        chantier.users;
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    perform api.require_object(p_body);
    perform api.check_keys(p_body,
                           '{role,login,password,civility,first_name,'
                           'last_name,company,client_number,address,email,'
                           'phone,notify}',
                           '{id}');

    v_user := api.user_apply(v_user, p_body);

    -- without a choice, notify by e-mail when there is an address to use
    v_user.notify_posts := coalesce(v_user.notify_posts,
                                    case when v_user.email is null
                                         then 'none' else 'email' end);
    v_user.notify_comments := coalesce(v_user.notify_comments,
                                       case when v_user.email is null
                                            then 'none' else 'email' end);

    perform api.user_check(v_user);
    perform api.check_password_hash(p_password_hash);

    insert into chantier.users
        (role, login, civility, first_name, last_name, company,
         client_number, address_line1, address_line2, postal_code, city,
         email, phone, notify_posts, notify_comments, password_hash)
    values
        (v_user.role, v_user.login, v_user.civility, v_user.first_name,
         v_user.last_name, v_user.company, v_user.client_number,
         v_user.address_line1, v_user.address_line2, v_user.postal_code,
         v_user.city, v_user.email, v_user.phone, v_user.notify_posts,
         v_user.notify_comments, p_password_hash)
    returning * into v_user;

    perform api.audit(p_actor_id, 'user_created', 'user', v_user.id,
                      api.user_json(v_user));

    return api.reply(201, api.user_json(v_user));

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;

-- Every word of p_q must appear in the login, the names, the e-mail,
-- the client number or the company, ignoring case and accents.
create or replace function api.admin_users_search(p_q text)
    returns api.response
    language sql stable
as $$
    select api.reply(200, coalesce(jsonb_agg(api.user_json(m.u)
                                             order by m.rank), '[]'))
      from (select u,
                   row_number() over (order by api.fold(u.last_name),
                                               api.fold(u.first_name),
                                               u.id) as rank
              from chantier.users as u
             where not exists (
                       select
                         from regexp_split_to_table(
                                  api.fold(btrim(coalesce(p_q, ''))),
                                  '\s+') as word
                        where word <> ''
                          and strpos(api.fold(concat_ws(' ',
                                  u.login, u.first_name, u.last_name,
                                  u.email, u.client_number, u.company)),
                                  word) = 0)
             order by rank
             limit 50) as m
$$;

-- Administrator p_actor_id edits account p_id.  Absent fields stay as they
-- are; p_password_hash null keeps the password.
drop function if exists api.admin_user_patch(bigint, jsonb, text);

create or replace function api.admin_user_patch(p_actor_id bigint,
    p_id bigint, p_body jsonb, p_password_hash text)
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
     where u.id = p_id
       for update;

    if not found then
        return api.not_found();
    end if;

    perform api.require_object(p_body);
    perform api.check_keys(p_body,
                           '{role,login,password,civility,first_name,'
                           'last_name,company,client_number,address,email,'
                           'phone,notify,active}',
                           '{id}');

    v_after := api.user_apply(v_before, p_body);
    perform api.user_check(v_after);

    if p_password_hash is not null then
        perform api.check_password_hash(p_password_hash);
        v_after.password_hash := p_password_hash;
    end if;

    if v_before.role = 'client' and v_after.role <> 'client'
       and exists (select from chantier.chantiers as c
                    where c.client_id = p_id)
    then
        perform api.reject(409, 'client_has_chantiers',
                           'Ce client a des chantiers : son rôle ne'
                           || ' peut plus changer.', 'role');
    end if;

    if v_after is not distinct from v_before then
        return api.reply(200, api.user_json(v_before));
    end if;

    update chantier.users as u
       set role = v_after.role,
           login = v_after.login,
           civility = v_after.civility,
           first_name = v_after.first_name,
           last_name = v_after.last_name,
           company = v_after.company,
           client_number = v_after.client_number,
           address_line1 = v_after.address_line1,
           address_line2 = v_after.address_line2,
           postal_code = v_after.postal_code,
           city = v_after.city,
           email = v_after.email,
           phone = v_after.phone,
           notify_posts = v_after.notify_posts,
           notify_comments = v_after.notify_comments,
           password_hash = v_after.password_hash,
           active = v_after.active
     where u.id = p_id
    returning * into v_after;

    perform api.user_touch_fiches(v_before, v_after);

    perform api.audit(p_actor_id,
        case when v_before.active and not v_after.active
             then 'user_deactivated'
             when not v_before.active and v_after.active
             then 'user_reactivated'
             when v_before.password_hash <> v_after.password_hash
                  and (api.user_json(v_before) = api.user_json(v_after))
             then 'password_reset'
             else 'user_edited' end,
        'user', p_id,
        api.json_changes(api.user_json(v_before), api.user_json(v_after))
        || case when v_before.password_hash <> v_after.password_hash
                then '{"password": "changed"}'::jsonb
                else '{}' end);

    return api.reply(200, api.user_json(v_after));

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;


-- ------------------------------------------------------------------------
-- Chantiers
-- ------------------------------------------------------------------------

-- A chantier's fields as the API names them, for the audit log.
create or replace function api.chantier_json(p_chantier chantier.chantiers)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'chantier_id', p_chantier.code,
        'title', p_chantier.title,
        'client_id', p_chantier.client_id,
        'start_date', api.iso_date(p_chantier.start_date),
        'planned_end_date', api.iso_date(p_chantier.planned_end_date),
        'revised_end_date', api.iso_date(p_chantier.revised_end_date))
$$;

-- Copies into p_chantier the fields present in p_body, each checked.
create or replace function api.chantier_apply(p_chantier chantier.chantiers,
    p_body jsonb)
    returns chantier.chantiers
    language plpgsql stable
as $$
declare
    v_chantier  chantier.chantiers := p_chantier;
begin
    if p_body ? 'chantier_id' then
        v_chantier.code := upper(api.take_text(p_body, '{chantier_id}', 32,
                                               true));

        if v_chantier.code !~ '^[A-Z0-9-]{1,32}$' then
            perform api.invalid('chantier_id', 'doit compter de 1 à 32'
                                || ' lettres, chiffres ou tirets, par'
                                || ' exemple CH-2026-0042.');
        end if;
    end if;

    if p_body ? 'title' then
        v_chantier.title := api.take_text(p_body, '{title}', 200, true);
    end if;

    if p_body ? 'client_id' then
        v_chantier.client_id := api.take_id(p_body, '{client_id}');

        if v_chantier.client_id is distinct from p_chantier.client_id
           and not exists (select from chantier.users as u
                            where u.id = v_chantier.client_id
                              and u.role = 'client'
                              and u.active)
        then
            perform api.reject(400, 'invalid_client',
                               'Le client doit être un compte'
                               || ' client actif.', 'client_id');
        end if;
    end if;

    if p_body ? 'start_date' then
        v_chantier.start_date := api.take_date(p_body, '{start_date}');
    end if;

    if p_body ? 'planned_end_date' then
        v_chantier.planned_end_date := api.take_date(p_body,
                                                     '{planned_end_date}');
    end if;

    -- null takes it back: the planned end holds again
    if p_body ? 'revised_end_date' then
        v_chantier.revised_end_date :=
            case when jsonb_typeof(p_body -> 'revised_end_date') = 'null'
                 then null
                 else api.take_date(p_body, '{revised_end_date}') end;
    end if;

    return v_chantier;
end
$$;

create or replace function api.chantier_check(p_chantier chantier.chantiers)
    returns void
    language plpgsql immutable
as $$
begin
    if p_chantier.code is null then
        perform api.invalid('chantier_id', 'est obligatoire.');
    end if;

    if p_chantier.title is null then
        perform api.invalid('title', 'est obligatoire.');
    end if;

    if p_chantier.client_id is null then
        perform api.invalid('client_id', 'est obligatoire.');
    end if;

    if p_chantier.start_date is null then
        perform api.invalid('start_date', 'est obligatoire.');
    end if;

    if p_chantier.planned_end_date is null then
        perform api.invalid('planned_end_date', 'est obligatoire.');
    end if;

    if p_chantier.planned_end_date < p_chantier.start_date then
        perform api.reject(400, 'invalid_dates',
                           'La date de fin prévue précède'
                           || ' la date de début.', 'planned_end_date');
    end if;

    if p_chantier.revised_end_date < p_chantier.start_date then
        perform api.reject(400, 'invalid_dates',
                           'La nouvelle date de fin prévue précède'
                           || ' la date de début.', 'revised_end_date');
    end if;
end
$$;

-- A chantier and its fiche, born together.
drop function if exists api.admin_chantier_create(jsonb);

create or replace function api.admin_chantier_create(p_actor_id bigint,
    p_body jsonb)
    returns api.response
    language plpgsql
as $$
declare
    v_chantier    chantier.chantiers;
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    perform api.require_object(p_body);
    perform api.check_keys(p_body,
                           '{chantier_id,title,client_id,start_date,'
                           'planned_end_date}',
                           '{id}');

    v_chantier := api.chantier_apply(v_chantier, p_body);
    perform api.chantier_check(v_chantier);

    insert into chantier.chantiers
        (code, title, client_id, start_date, planned_end_date)
    values
        (v_chantier.code, v_chantier.title, v_chantier.client_id,
         v_chantier.start_date, v_chantier.planned_end_date)
    returning * into v_chantier;

    insert into chantier.fiches (id) values (v_chantier.id);

    perform api.audit(p_actor_id, 'chantier_created', 'chantier',
                      v_chantier.id, api.chantier_json(v_chantier));

    return api.reply(201, api.fiche_summary_json(v_chantier.id));

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;

-- p_id is the fiche's id, which is its chantier's.  A change moves the
-- fiche's version: its header changed.
drop function if exists api.admin_chantier_patch(bigint, jsonb);

create or replace function api.admin_chantier_patch(p_actor_id bigint,
    p_id bigint, p_body jsonb)
    returns api.response
    language plpgsql
as $$
declare
    v_before      chantier.chantiers;
    v_after       chantier.chantiers;
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    select * into v_before
      from chantier.chantiers as c
     where c.id = p_id
       for update;

    if not found then
        return api.not_found();
    end if;

    perform api.require_object(p_body);
    perform api.check_keys(p_body,
                           '{chantier_id,title,client_id,start_date,'
                           'planned_end_date,revised_end_date}',
                           '{id}');

    v_after := api.chantier_apply(v_before, p_body);
    perform api.chantier_check(v_after);

    if v_after is distinct from v_before then
        update chantier.chantiers as c
           set code = v_after.code,
               title = v_after.title,
               client_id = v_after.client_id,
               start_date = v_after.start_date,
               planned_end_date = v_after.planned_end_date,
               revised_end_date = v_after.revised_end_date
         where c.id = p_id;

        update chantier.fiches as f
           set version = f.version + 1
         where f.id = p_id;

        perform api.audit(p_actor_id, 'chantier_edited', 'chantier', p_id,
                          api.json_changes(api.chantier_json(v_before),
                                           api.chantier_json(v_after)));
    end if;

    return api.reply(200, api.fiche_summary_json(p_id));

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;


-- ------------------------------------------------------------------------
-- Notifications the notifier gave up on (dead letters), and sending them
-- again
-- ------------------------------------------------------------------------

create or replace function api.notification_json(p_notification
    chantier.notifications)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'id', p_notification.id,
        'state', p_notification.state,
        'event', p_notification.event,
        'channel', p_notification.channel,
        'recipient', jsonb_build_object('id', u.id,
                                        'name', api.user_name(u),
                                        'email', u.email,
                                        'phone', u.phone),
        'fiche_id', p_notification.fiche_id,
        'code', p_notification.content ->> 'code',
        'title', p_notification.content ->> 'title',
        'items', jsonb_array_length(p_notification.content -> 'items'),
        'attempts', p_notification.attempts,
        'last_error', p_notification.last_error,
        'created_at', api.iso_time(p_notification.created_at),
        'first_failed_at', api.iso_time(p_notification.first_failed_at),
        'updated_at', api.iso_time(p_notification.updated_at))
      from chantier.users as u
     where u.id = p_notification.recipient_id
$$;

-- The latest 200 notifications in state p_state (dead, pending, sent or
-- dropped), the latest changed first.
create or replace function api.admin_notifications(p_state text)
    returns api.response
    language plpgsql stable
as $$
begin
    if p_state is null
       or p_state not in ('dead', 'pending', 'sent', 'dropped')
    then
        return api.fail(400, 'invalid_field',
                        'L''état demandé doit être dead, pending, sent'
                        || ' ou dropped.');
    end if;

    return api.reply(200, coalesce(
               (select jsonb_agg(api.notification_json(n)
                                 order by n.updated_at desc, n.id desc)
                  from (select *
                          from chantier.notifications as n
                         where n.state = p_state
                         order by n.updated_at desc, n.id desc
                         limit 200) as n),
               '[]'));
end
$$;

-- A dead letter goes back to the queue as new: the notifier tries it
-- again from its first attempt.  Anything but a dead letter: 409.
create or replace function api.admin_notification_retry(p_id bigint)
    returns api.mutation
    language plpgsql
as $$
declare
    v_notification  chantier.notifications;
begin
    select * into v_notification
      from chantier.notifications as n
     where n.id = p_id
       for update;

    if not found then
        return api.unchanged(api.not_found());
    end if;

    if v_notification.state <> 'dead' then
        return api.unchanged(api.fail(409, 'not_dead',
            'Seule une notification abandonnée peut être renvoyée.'));
    end if;

    update chantier.notifications as n
       set state = 'pending',
           attempts = 0,
           first_failed_at = null,
           last_error = null,
           due_at = now()
     where n.id = p_id
    returning * into v_notification;

    return api.changed(200, api.notification_json(v_notification)::text,
                       null, null, array[p_id]);
end
$$;


-- ------------------------------------------------------------------------
-- Contracts of a client
-- ------------------------------------------------------------------------

-- Before the file is read: 204 when p_user_id is a client, else 404 (no
-- such user) or 400 (an employee or an administrator has no contracts).
create or replace function api.admin_contract_allowed(p_user_id bigint)
    returns api.response
    language sql stable
as $$
    select case
        when u.id is null then api.not_found()
        when u.role <> 'client' then
            api.fail(400, 'invalid_client',
                     'Les contrats sont ceux d''un client : ce compte n''en'
                     || ' est pas un.')
        else api.reply(204)
    end
      from (select) as nothing
      left join chantier.users as u on u.id = p_user_id
$$;

-- Administrator p_actor_id uploads the PDF p_bytes (its first bytes were
-- checked by the module) for client p_user_id.
create or replace function api.admin_contract_create(p_actor_id bigint,
    p_user_id bigint, p_title text, p_signed_on text, p_bytes bytea)
    returns api.response
    language plpgsql
as $$
declare
    v_allowed     api.response := api.admin_contract_allowed(p_user_id);
    v_title       text := btrim(coalesce(p_title, ''));
    v_signed_on   date;
    v_contract    chantier.contracts;
    v_state       text;
    v_detail      text;
    v_message     text;
    v_constraint  text;
begin
    if v_allowed.status <> 204 then
        return v_allowed;
    end if;

    if v_title = '' or length(v_title) > 200 then
        perform api.reject(400, 'invalid_field',
                           'L''intitulé du contrat doit compter de 1 à 200'
                           || ' caractères.', 'title');
    end if;

    v_signed_on := api.to_date(p_signed_on);

    if v_signed_on is null then
        perform api.reject(400, 'invalid_field',
                           'La date de signature doit être une date comme'
                           || ' 2026-03-15.', 'signed_on');
    end if;

    insert into chantier.contracts
        (client_id, title, signed_on, bytes, size, sha256, uploaded_by)
    values
        (p_user_id, v_title, v_signed_on, p_bytes, length(p_bytes),
         encode(sha256(p_bytes), 'hex'), p_actor_id)
    returning * into v_contract;

    perform api.audit(p_actor_id, 'contract_uploaded', 'contract',
                      v_contract.id,
                      jsonb_build_object('client_id', p_user_id,
                                         'title', v_title,
                                         'signed_on', api.iso_date(v_signed_on),
                                         'size', v_contract.size));

    return api.reply(201, api.admin_contract_json(v_contract));

exception
    when sqlstate 'CH000' or check_violation or foreign_key_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;

create or replace function api.admin_contract_json(p_contract
    chantier.contracts)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'id', p_contract.id,
        'client_id', p_contract.client_id,
        'title', p_contract.title,
        'signed_on', api.iso_date(p_contract.signed_on),
        'size', p_contract.size,
        'sha256', p_contract.sha256,
        'uploaded_at', api.iso_time(p_contract.uploaded_at),
        'uploaded_by', (select api.user_name(u) from chantier.users as u
                         where u.id = p_contract.uploaded_by))
$$;

-- The contracts of client p_user_id, the latest signed first; 404 when
-- there is no such user.
create or replace function api.admin_contracts(p_user_id bigint)
    returns api.response
    language sql stable
as $$
    select case
        when not exists (select from chantier.users as u
                          where u.id = p_user_id)
        then api.not_found()
        else api.reply(200, coalesce(
                 (select jsonb_agg(api.admin_contract_json(c)
                                   order by c.signed_on desc, c.id desc)
                    from chantier.contracts as c
                   where c.client_id = p_user_id),
                 '[]'))
    end
$$;

create or replace function api.admin_contract_delete(p_actor_id bigint,
    p_id bigint)
    returns api.response
    language plpgsql
as $$
declare
    v_contract  chantier.contracts;
begin
    delete from chantier.contracts as c
     where c.id = p_id
    returning * into v_contract;

    if not found then
        return api.not_found();
    end if;

    perform api.audit(p_actor_id, 'contract_deleted', 'contract', p_id,
                      jsonb_build_object('client_id', v_contract.client_id,
                                         'title', v_contract.title,
                                         'signed_on',
                                         api.iso_date(v_contract.signed_on)));

    return api.reply(204);
end
$$;
