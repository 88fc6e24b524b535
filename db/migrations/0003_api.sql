-- 0003 — The api schema: the functions the nginx module calls.
--
-- The module sends one parameterized statement per step, for example
--     select status, body from api.me_get($1, $2)
-- and most functions answer with one api.response row: the HTTP status and
-- the JSON text to send (null for 204).  They never raise for bad input: each
-- checks what it receives and answers 400, 404 or 409 with a message in
-- French naming the field.
--
-- Inside, the checks are small helpers that raise a private SQLSTATE of class
-- "CH" (CH400, CH404, CH409, the detail carrying the error code); every
-- public function that checks input catches that class, with unique and
-- check violations, in one handler that turns them into a response.
--
-- Later migrations replace functions here with "create or replace" (for
-- instance api.fiche_posts_json and api.fiche_last_post_at once posts exist).

create schema api;


create type api.response as (
    status  integer,
    body    text
);


-- ------------------------------------------------------------------------
-- Responses and errors
-- ------------------------------------------------------------------------

create function api.error(p_code text, p_message text)
    returns text
    language sql immutable
as $$
    select jsonb_build_object('error', jsonb_build_object(
               'code', p_code,
               'message', p_message))::text
$$;

create function api.reply(p_status integer, p_body jsonb default null)
    returns api.response
    language sql immutable
as $$
    select p_status, p_body::text
$$;

create function api.fail(p_status integer, p_code text, p_message text)
    returns api.response
    language sql immutable
as $$
    select p_status, api.error(p_code, p_message)
$$;

create function api.not_found()
    returns api.response
    language sql immutable
as $$
    select api.fail(404, 'not_found', 'Cette ressource n''existe pas.')
$$;


-- Stops the calling function with an error it will answer with.
create function api.reject(p_status integer, p_code text, p_message text)
    returns void
    language plpgsql
as $$
begin
    raise exception using
        errcode = 'CH' || p_status,
        message = p_message,
        detail = p_code;
end
$$;


-- Turns what a public function caught into its response.  The unique and
-- check violations are the database's own last word when two requests race
-- or when a rule escaped the checks.
create function api.failure(p_state text, p_detail text, p_message text,
    p_constraint text)
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

        when p_state = '23505' then
            api.fail(409, 'conflict', 'Cette valeur est déjà utilisée.')

        else
            api.fail(400, 'invalid_field',
                     format('Valeur refusée (règle %s).', p_constraint))
    end
$$;


-- ------------------------------------------------------------------------
-- Checking a JSON body
-- ------------------------------------------------------------------------

-- How messages name a field: in French, then as the API spells it.
create function api.label(p_field text)
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
        else 'le champ'
    end || ' (' || p_field || ')'
$$;

-- The same, at the start of a sentence.
create function api.label_upper(p_field text)
    returns text
    language sql immutable
as $$
    select upper(left(api.label(p_field), 1)) || substr(api.label(p_field), 2)
$$;

create function api.invalid(p_field text, p_problem text)
    returns void
    language sql
as $$
    select api.reject(400, 'invalid_field',
                      api.label_upper(p_field) || ' ' || p_problem)
$$;


create function api.require_object(p_value jsonb, p_field text default null)
    returns void
    language plpgsql immutable
as $$
begin
    if jsonb_typeof(p_value) is distinct from 'object' then
        if p_field is null then
            perform api.reject(400, 'invalid_body', 'Le corps de la requête'
                                                    || ' doit être un objet JSON.');
        end if;
        perform api.invalid(p_field, 'doit être un objet JSON.');
    end if;
end
$$;


-- Refuses the first key of p_object that is fixed (field_not_editable, with
-- p_fixed_message naming the field), then the first one that is not allowed
-- (unknown_field).  p_prefix names nested objects: 'address.'.
create function api.check_keys(p_object jsonb, p_allowed text[],
    p_fixed text[] default '{}',
    p_fixed_message text default 'Impossible de modifier %s.',
    p_prefix text default '')
    returns void
    language plpgsql immutable
as $$
declare
    v_key  text;
begin
    select key into v_key
      from jsonb_object_keys(p_object) as key
     where key = any (p_fixed)
     order by key
     limit 1;

    if found then
        perform api.reject(400, 'field_not_editable',
                           format(p_fixed_message,
                                  api.label(p_prefix || v_key)));
    end if;

    select key into v_key
      from jsonb_object_keys(p_object) as key
     where not key = any (p_allowed)
     order by key
     limit 1;

    if found then
        perform api.reject(400, 'unknown_field',
                           format('Champ inconnu : « %s ».',
                                  p_prefix || v_key));
    end if;
end
$$;


-- A string at p_path of p_body, trimmed; an empty string counts as null.
-- Null (or absent) is refused when p_required.
create function api.take_text(p_body jsonb, p_path text[], p_max integer,
    p_required boolean default false)
    returns text
    language plpgsql immutable
as $$
declare
    v_field  text := array_to_string(p_path, '.');
    v_value  jsonb := p_body #> p_path;
    v_text   text;
begin
    if v_value is not null and jsonb_typeof(v_value) <> 'null' then
        if jsonb_typeof(v_value) <> 'string' then
            perform api.invalid(v_field, 'doit être une chaîne de caractères.');
        end if;

        v_text := regexp_replace(v_value #>> '{}', '^\s+|\s+$', '', 'g');

        if v_text ~ '[[:cntrl:]]' then
            perform api.invalid(v_field, 'ne doit pas contenir de caractère'
                                         || ' de contrôle.');
        end if;

        if length(v_text) > p_max then
            perform api.invalid(v_field,
                                format('doit compter au plus %s caractères.',
                                       p_max));
        end if;
    end if;

    v_text := nullif(v_text, '');

    if v_text is null and p_required then
        perform api.invalid(v_field, 'est obligatoire.');
    end if;

    return v_text;
end
$$;


create function api.choices_text(p_choices text[])
    returns text
    language sql immutable
as $$
    select case
        when cardinality(p_choices) = 1 then '« ' || p_choices[1] || ' »'
        else '« '
             || array_to_string(p_choices[1:cardinality(p_choices) - 1],
                                ' », « ')
             || ' » ou « ' || p_choices[cardinality(p_choices)] || ' »'
    end
$$;

create function api.take_choice(p_body jsonb, p_path text[],
    p_choices text[], p_required boolean default false)
    returns text
    language plpgsql immutable
as $$
declare
    v_value  text := api.take_text(p_body, p_path, 64, p_required);
begin
    if v_value is not null and not v_value = any (p_choices) then
        perform api.invalid(array_to_string(p_path, '.'),
                            'doit valoir ' || api.choices_text(p_choices)
                            || '.');
    end if;

    return v_value;
end
$$;


create function api.take_boolean(p_body jsonb, p_path text[])
    returns boolean
    language plpgsql immutable
as $$
begin
    if jsonb_typeof(p_body #> p_path) is distinct from 'boolean' then
        perform api.invalid(array_to_string(p_path, '.'),
                            'doit valoir true ou false.');
    end if;

    return (p_body #>> p_path)::boolean;
end
$$;


-- A positive integer given as a JSON number (an id).
create function api.take_id(p_body jsonb, p_path text[])
    returns bigint
    language plpgsql immutable
as $$
declare
    v_text  text := p_body #>> p_path;
begin
    if jsonb_typeof(p_body #> p_path) is distinct from 'number'
       or v_text !~ '^[1-9][0-9]{0,17}$'
    then
        perform api.invalid(array_to_string(p_path, '.'),
                            'doit être un nombre entier positif.');
    end if;

    return v_text::bigint;
end
$$;


-- A text as a date, or null when it is no date of the calendar.  The only
-- place that catches a conversion error: everything else checks first.
create function api.to_date(p_text text)
    returns date
    language plpgsql immutable
as $$
begin
    if p_text !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then
        return null;
    end if;

    return p_text::date;
exception
    when data_exception then
        return null;
end
$$;

create function api.take_date(p_body jsonb, p_path text[])
    returns date
    language plpgsql immutable
as $$
declare
    v_text  text := api.take_text(p_body, p_path, 64, true);
    v_date  date := api.to_date(v_text);
begin
    if v_date is null then
        perform api.invalid(array_to_string(p_path, '.'),
                            'doit être une date réelle au format AAAA-MM-JJ.');
    end if;

    return v_date;
end
$$;


-- Folds case and French accents, for searching: 'Hélène' -> 'helene'.
create function api.fold(p_text text)
    returns text
    language sql immutable
as $$
    select lower(replace(replace(replace(replace(translate(p_text,
               'ÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸàâäáãåçéèêëíìîïñóòôöõúùûüýÿ',
               'AAAAAACEEEEIIIINOOOOOUUUUYYaaaaaaceeeeiiiinooooouuuuyy'),
               'Œ', 'oe'), 'œ', 'oe'), 'Æ', 'ae'), 'æ', 'ae'))
$$;


-- ------------------------------------------------------------------------
-- JSON of users and fiches
-- ------------------------------------------------------------------------

create function api.iso_date(p_date date)
    returns text
    language sql immutable
as $$
    select to_char(p_date, 'YYYY-MM-DD')
$$;

create function api.iso_time(p_time timestamptz)
    returns text
    language sql immutable
as $$
    select to_char(p_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;


-- "M. Jean Dupont": how a person is named on a fiche.
create function api.user_name(p_user chantier.users)
    returns text
    language sql immutable
as $$
    select concat_ws(' ', p_user.civility, p_user.first_name, p_user.last_name)
$$;

create function api.address_json(p_user chantier.users)
    returns jsonb
    language sql immutable
as $$
    select case
        when num_nonnulls(p_user.address_line1, p_user.address_line2,
                          p_user.postal_code, p_user.city) = 0
        then null
        else jsonb_build_object(
                 'line1', p_user.address_line1,
                 'line2', p_user.address_line2,
                 'postal_code', p_user.postal_code,
                 'city', p_user.city)
    end
$$;

create function api.user_json(p_user chantier.users)
    returns jsonb
    language sql immutable
as $$
    select jsonb_build_object(
        'id', p_user.id,
        'login', p_user.login,
        'role', p_user.role,
        'civility', p_user.civility,
        'first_name', p_user.first_name,
        'last_name', p_user.last_name,
        'company', p_user.company,
        'client_number', p_user.client_number,
        'address', api.address_json(p_user),
        'email', p_user.email,
        'phone', p_user.phone,
        'notify', jsonb_build_object(
                      'posts', p_user.notify_posts,
                      'comments', p_user.notify_comments),
        'active', p_user.active)
$$;

create function api.user_json(p_user_id bigint)
    returns jsonb
    language sql stable
as $$
    select api.user_json(u) from chantier.users as u where u.id = p_user_id
$$;


-- What the posts say about a fiche.  Until posts exist (a later migration
-- replaces these) a fiche has none.
create function api.fiche_last_post_at(p_fiche_id bigint)
    returns timestamptz
    language sql stable
as $$
    select null::timestamptz
$$;

create function api.fiche_posts_json(p_fiche_id bigint)
    returns jsonb
    language sql stable
as $$
    select '[]'::jsonb
$$;

-- A fiche is finished while its latest non-cancelled post is a finishing
-- one; the posts keep fiches.finished_at to say so.
create function api.fiche_status(p_fiche chantier.fiches)
    returns text
    language sql immutable
as $$
    select case when p_fiche.finished_at is null
                then 'in_progress' else 'finished' end
$$;


create function api.fiche_summary_json(p_fiche_id bigint)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'id', f.id,
        'chantier_id', c.code,
        'title', c.title,
        'start_date', api.iso_date(c.start_date),
        'planned_end_date', api.iso_date(c.planned_end_date),
        'status', api.fiche_status(f),
        'last_post_at', api.iso_time(api.fiche_last_post_at(f.id)),
        'client', jsonb_build_object('id', u.id, 'name', api.user_name(u)))
      from chantier.fiches as f
      join chantier.chantiers as c on c.id = f.id
      join chantier.users as u on u.id = c.client_id
     where f.id = p_fiche_id
$$;


-- ------------------------------------------------------------------------
-- Users: shared rules of the account functions
-- ------------------------------------------------------------------------

-- Copies into p_user the fields present in p_body, each checked.  Absent
-- fields stay as they are; an address replaces the whole address; notify
-- changes only the kinds it names.
create function api.user_apply(p_user chantier.users, p_body jsonb)
    returns chantier.users
    language plpgsql stable
as $$
declare
    v_user   chantier.users := p_user;
    v_phone  text;
begin
    if p_body ? 'role' then
        v_user.role := api.take_choice(p_body, '{role}',
                                       '{client,employee,admin}', true);
    end if;

    if p_body ? 'login' then
        v_user.login := lower(api.take_text(p_body, '{login}', 64, true));

        if v_user.login !~ '^[a-z0-9._-]{3,64}$' then
            perform api.invalid('login', 'doit compter de 3 à 64 caractères'
                                || ' parmi les lettres a à z, les chiffres,'
                                || ' le point, le tiret et le souligné.');
        end if;
    end if;

    if p_body ? 'civility' then
        v_user.civility := api.take_choice(p_body, '{civility}', '{M.,Mme}');
    end if;

    if p_body ? 'first_name' then
        v_user.first_name := api.take_text(p_body, '{first_name}', 100, true);
    end if;

    if p_body ? 'last_name' then
        v_user.last_name := api.take_text(p_body, '{last_name}', 100, true);
    end if;

    if p_body ? 'company' then
        v_user.company := api.take_text(p_body, '{company}', 200);
    end if;

    if p_body ? 'client_number' then
        v_user.client_number := upper(api.take_text(p_body, '{client_number}',
                                                    32));

        if v_user.client_number !~ '^[A-Z0-9]([A-Z0-9 ./-]{0,30}[A-Z0-9])?$'
        then
            perform api.invalid('client_number', 'doit compter de 1 à 32'
                                || ' lettres, chiffres, espaces, points,'
                                || ' barres obliques ou tirets.');
        end if;
    end if;

    if p_body ? 'address' then
        if jsonb_typeof(p_body -> 'address') = 'null' then
            v_user.address_line1 := null;
            v_user.address_line2 := null;
            v_user.postal_code := null;
            v_user.city := null;

        else
            perform api.require_object(p_body -> 'address', 'address');
            perform api.check_keys(p_body -> 'address',
                                   '{line1,line2,postal_code,city}',
                                   p_prefix => 'address.');

            v_user.address_line1 := api.take_text(p_body, '{address,line1}',
                                                  200, true);
            v_user.address_line2 := api.take_text(p_body, '{address,line2}',
                                                  200);
            v_user.postal_code := api.take_text(p_body,
                                                '{address,postal_code}', 10,
                                                true);
            v_user.city := api.take_text(p_body, '{address,city}', 100, true);

            if v_user.postal_code !~ '^[0-9A-Za-z][0-9A-Za-z -]{1,9}$' then
                perform api.invalid('address.postal_code',
                                    'doit être un code postal, par exemple'
                                    || ' 75011.');
            end if;
        end if;
    end if;

    if p_body ? 'email' then
        v_user.email := api.take_text(p_body, '{email}', 254);

        if v_user.email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
        then
            perform api.invalid('email', 'doit être une adresse e-mail, par'
                                || ' exemple jean.dupont@exemple.fr.');
        end if;
    end if;

    if p_body ? 'phone' then
        v_user.phone := api.take_text(p_body, '{phone}', 32);
        v_phone := regexp_replace(v_user.phone, '[^0-9]', '', 'g');

        if v_user.phone !~ '^\+?[0-9]([0-9 .-]{4,30})[0-9]$'
           or length(v_phone) not between 6 and 15
        then
            perform api.invalid('phone', 'doit être un numéro de téléphone,'
                                || ' par exemple 06 12 34 56 78 ou'
                                || ' +33 6 12 34 56 78.');
        end if;
    end if;

    if p_body ? 'notify' then
        perform api.require_object(p_body -> 'notify', 'notify');
        perform api.check_keys(p_body -> 'notify', '{posts,comments}',
                               p_prefix => 'notify.');

        if p_body -> 'notify' ? 'posts' then
            v_user.notify_posts := api.take_choice(p_body, '{notify,posts}',
                                                   '{email,sms,none}', true);
        end if;

        if p_body -> 'notify' ? 'comments' then
            v_user.notify_comments := api.take_choice(p_body,
                                                      '{notify,comments}',
                                                      '{email,sms,none}',
                                                      true);
        end if;
    end if;

    if p_body ? 'active' then
        v_user.active := api.take_boolean(p_body, '{active}');
    end if;

    return v_user;
end
$$;


-- The rules between fields, checked on the account as it would be saved.
create function api.user_check(p_user chantier.users)
    returns void
    language plpgsql immutable
as $$
begin
    if p_user.role is null then
        perform api.invalid('role', 'est obligatoire.');
    end if;

    if p_user.login is null then
        perform api.invalid('login', 'est obligatoire.');
    end if;

    if p_user.first_name is null then
        perform api.invalid('first_name', 'est obligatoire.');
    end if;

    if p_user.last_name is null then
        perform api.invalid('last_name', 'est obligatoire.');
    end if;

    if p_user.role = 'client' then
        if p_user.client_number is null then
            perform api.invalid('client_number',
                                'est obligatoire pour un client.');
        end if;

        if p_user.address_line1 is null then
            perform api.invalid('address', 'est obligatoire pour un client.');
        end if;
    end if;

    if 'email' in (p_user.notify_posts, p_user.notify_comments)
       and p_user.email is null
    then
        perform api.reject(400, 'invalid_field',
                           'Les notifications par e-mail (notify) demandent'
                           || ' une adresse e-mail (email).');
    end if;

    if 'sms' in (p_user.notify_posts, p_user.notify_comments)
       and p_user.phone is null
    then
        perform api.reject(400, 'invalid_field',
                           'Les notifications par SMS (notify) demandent'
                           || ' un numéro de téléphone mobile (phone).');
    end if;
end
$$;


create function api.check_password_hash(p_hash text)
    returns void
    language plpgsql immutable
as $$
begin
    if p_hash is null then
        perform api.invalid('password', 'est obligatoire.');
    end if;

    if p_hash !~ '^\$[a-z0-9-]+\$' then
        perform api.invalid('password', 'n''a pas pu être enregistré'
                            || ' (empreinte invalide).');
    end if;
end
$$;


-- A change of name or address changes the header of the client's fiches:
-- their version moves so that caches and open pages notice.
create function api.user_touch_fiches(p_before chantier.users,
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


-- ------------------------------------------------------------------------
-- Session and the user's own account
-- ------------------------------------------------------------------------

-- 1.  Zero rows for an unknown login.
create function api.login_lookup(p_login text)
    returns table (user_id bigint, role text, active boolean,
                   password_hash text, user_json text)
    language sql stable
as $$
    select u.id, u.role, u.active, u.password_hash, api.user_json(u)::text
      from chantier.users as u
     where u.login = lower(btrim(p_login))
$$;


-- 2.
create function api.me_get(p_user_id bigint, p_csrf text)
    returns api.response
    language sql stable
as $$
    select coalesce(
        (select api.reply(200, api.user_json(u)
                               || jsonb_build_object('csrf_token', p_csrf))
           from chantier.users as u
          where u.id = p_user_id and u.active),
        api.fail(401, 'not_logged_in', 'Vous n''êtes plus connecté.'))
$$;


-- 3.  The user changes their e-mail, phone or notification choices.
create function api.me_patch(p_user_id bigint, p_csrf text, p_patch jsonb)
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
                           'Le mot de passe (password) se change à part,'
                           || ' avec le mot de passe actuel.');
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


-- 4.  Zero rows for an unknown user.
create function api.user_password_hash(p_user_id bigint)
    returns table (password_hash text)
    language sql stable
as $$
    select u.password_hash from chantier.users as u where u.id = p_user_id
$$;


-- 5.
create function api.user_password_set(p_user_id bigint, p_hash text)
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


-- ------------------------------------------------------------------------
-- Fiches
-- ------------------------------------------------------------------------

-- 6.  A client's fiches, the latest started first.
create function api.fiches_list(p_user_id bigint)
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


-- 7.  The fiche an employee opens by typing its chantier's code.
create function api.fiches_by_code(p_code text)
    returns api.response
    language sql stable
as $$
    select coalesce(
        (select api.reply(200, jsonb_build_array(api.fiche_summary_json(c.id)))
           from chantier.chantiers as c
          where c.code = upper(btrim(p_code))),
        api.not_found())
$$;


-- 8.  A whole fiche, for its client or any employee; 404 for anyone else, so
-- that fiche ids cannot be probed.
create function api.fiche_get(p_user_id bigint, p_role text,
    p_fiche_id bigint)
    returns api.response
    language sql stable
as $$
    select coalesce(
        (select api.reply(200, jsonb_build_object(
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
                    'finished_at', api.iso_time(f.finished_at),
                    'posts', api.fiche_posts_json(f.id)))
           from chantier.fiches as f
           join chantier.chantiers as c on c.id = f.id
           join chantier.users as u on u.id = c.client_id
          where f.id = p_fiche_id
            and (p_role in ('employee', 'admin') or c.client_id = p_user_id)),
        api.not_found())
$$;


-- ------------------------------------------------------------------------
-- Administration: accounts
-- ------------------------------------------------------------------------

-- 9.  The C side has hashed "password" into p_password_hash.
create function api.admin_user_create(p_body jsonb, p_password_hash text)
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

    return api.reply(201, api.user_json(v_user));

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;


-- 10.  Every word of p_q must appear in the login, the names, the e-mail,
-- the client number or the company, ignoring case and accents.
create function api.admin_users_search(p_q text)
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


-- 11.  Absent fields stay as they are; p_password_hash null keeps the
-- password.
create function api.admin_user_patch(p_id bigint, p_body jsonb,
    p_password_hash text)
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
                           'Ce client a des chantiers : son rôle (role) ne'
                           || ' peut plus changer.');
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
-- Administration: chantiers
-- ------------------------------------------------------------------------

-- Copies into p_chantier the fields present in p_body, each checked.
create function api.chantier_apply(p_chantier chantier.chantiers,
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
                               'Le client (client_id) doit être un compte'
                               || ' client actif.');
        end if;
    end if;

    if p_body ? 'start_date' then
        v_chantier.start_date := api.take_date(p_body, '{start_date}');
    end if;

    if p_body ? 'planned_end_date' then
        v_chantier.planned_end_date := api.take_date(p_body,
                                                     '{planned_end_date}');
    end if;

    return v_chantier;
end
$$;


create function api.chantier_check(p_chantier chantier.chantiers)
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
                           'La date de fin prévue (planned_end_date) précède'
                           || ' la date de début (start_date).');
    end if;
end
$$;


-- 12.  A chantier and its fiche, born together.
create function api.admin_chantier_create(p_body jsonb)
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

    return api.reply(201, api.fiche_summary_json(v_chantier.id));

exception
    when sqlstate 'CH000' or unique_violation or check_violation then
        get stacked diagnostics
            v_state = returned_sqlstate, v_detail = pg_exception_detail,
            v_message = message_text, v_constraint = constraint_name;
        return api.failure(v_state, v_detail, v_message, v_constraint);
end
$$;


-- 13.  p_id is the fiche's id, which is its chantier's.  A change moves the
-- fiche's version: its header changed.
create function api.admin_chantier_patch(p_id bigint, p_body jsonb)
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
                           'planned_end_date}',
                           '{id}');

    v_after := api.chantier_apply(v_before, p_body);
    perform api.chantier_check(v_after);

    if v_after is distinct from v_before then
        update chantier.chantiers as c
           set code = v_after.code,
               title = v_after.title,
               client_id = v_after.client_id,
               start_date = v_after.start_date,
               planned_end_date = v_after.planned_end_date
         where c.id = p_id;

        update chantier.fiches as f
           set version = f.version + 1
         where f.id = p_id;
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
-- Health
-- ------------------------------------------------------------------------

-- 14.
create function api.health()
    returns integer
    language sql stable
as $$
    select 1
$$;
