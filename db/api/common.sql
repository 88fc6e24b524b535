-- The helpers the functions of the other files share: responses and errors,
-- the checks of a JSON body, the rules of an account, and the JSON of users,
-- fiches, posts and comments.  db/migrate applies this file first; the other
-- files call functions of this file and of their own, never of another one.
--
-- The module sends one parameterized statement per step, for example
--     select status, body from api.me_patch($1, $2, $3::jsonb)
-- and most functions answer with one api.response row (0003_api.sql): the
-- HTTP status and the JSON text to send (null for 204).  They never raise
-- for bad input: each checks what it receives and answers 400, 404 or 409
-- with a message in French naming the field.
--
-- Inside, the checks are small helpers that raise a private SQLSTATE of class
-- "CH" (CH400, CH404, CH409, the detail carrying the error code); every
-- public function that checks input catches that class, with unique and
-- check violations, in one handler (api.failure) that turns them into a
-- response.
--
-- The functions of changes (posts.sql, comments.sql) answer with an
-- api.mutation (0005_posts.sql): the response, and the fiche and its new
-- version when something changed, so that the module can announce it.


-- ------------------------------------------------------------------------
-- Responses and errors
-- ------------------------------------------------------------------------

-- The error of an answer.  p_field, when the error is about one member of
-- the body, names it as the API spells it ("phone", "address.city"): the
-- pages put the message next to that field, and the message itself names
-- it in French only.
drop function if exists api.error(text, text);

create or replace function api.error(p_code text, p_message text,
    p_field text default null)
    returns text
    language sql immutable
as $$
    select jsonb_strip_nulls(jsonb_build_object('error', jsonb_build_object(
               'code', p_code,
               'message', p_message,
               'field', p_field)))::text
$$;

create or replace function api.reply(p_status integer,
    p_body jsonb default null)
    returns api.response
    language sql immutable
as $$
    select p_status, p_body::text
$$;

drop function if exists api.fail(integer, text, text);

create or replace function api.fail(p_status integer, p_code text,
    p_message text, p_field text default null)
    returns api.response
    language sql immutable
as $$
    select p_status, api.error(p_code, p_message, p_field)
$$;

create or replace function api.not_found()
    returns api.response
    language sql immutable
as $$
    select api.fail(404, 'not_found', 'Cette ressource n''existe pas.')
$$;

-- Stops the calling function with an error it will answer with.  The
-- detail carries the code, then the field when there is one, for
-- api.failure to take apart: "invalid_field phone".
drop function if exists api.reject(integer, text, text);

create or replace function api.reject(p_status integer, p_code text,
    p_message text, p_field text default null)
    returns void
    language plpgsql
as $$
begin
    raise exception using
        errcode = 'CH' || p_status,
        message = p_message,
        detail = concat_ws(' ', p_code, p_field);
end
$$;

-- Turns what a public function caught into its response.  The unique, check
-- and foreign key violations are the database's own last word when two
-- requests race or when a rule escaped the checks; a foreign key fails only
-- when what a change refers to vanished meanwhile.
create or replace function api.failure(p_state text, p_detail text,
    p_message text, p_constraint text)
    returns api.response
    language sql immutable
as $$
    select case
        when p_state like 'CH%' then
            api.fail(right(p_state, 3)::integer, split_part(p_detail, ' ', 1),
                     p_message, nullif(split_part(p_detail, ' ', 2), ''))

        when p_constraint = 'users_login_unique' then
            api.fail(409, 'login_taken',
                     'Cet identifiant est déjà utilisé.', 'login')

        when p_constraint = 'users_client_number_unique' then
            api.fail(409, 'client_number_taken',
                     'Ce numéro client est déjà attribué.', 'client_number')

        when p_constraint = 'chantiers_code_unique' then
            api.fail(409, 'chantier_exists',
                     'Un chantier porte déjà cette référence.', 'chantier_id')

        when p_constraint = 'comments_parent_same_post' then
            api.fail(400, 'invalid_parent',
                     'Le commentaire auquel vous répondez'
                     || ' n''appartient pas à cette publication.',
                     'parent_id')

        when p_state = '23503' then
            api.not_found()

        when p_state = '23505' then
            api.fail(409, 'conflict', 'Cette valeur est déjà utilisée.')

        else
            api.fail(400, 'invalid_field',
                     format('Valeur refusée (règle %s).', p_constraint))
    end
$$;

-- What a change answers: the response, the fiche with its new version
-- when something changed (both null when nothing did), and the
-- notifications it wrote, for the module to push to the notifier's queue
-- after the commit.
drop function if exists api.changed(integer, text, bigint, bigint);

create or replace function api.changed(p_status integer, p_body text,
    p_fiche_id bigint, p_fiche_version bigint,
    p_notification_ids bigint[] default null)
    returns api.mutation
    language sql immutable
as $$
    select p_status, p_body, p_fiche_id, p_fiche_version,
           nullif(p_notification_ids, '{}')
$$;

create or replace function api.unchanged(p_response api.response)
    returns api.mutation
    language sql immutable
as $$
    select p_response.status, p_response.body, null::bigint, null::bigint,
           null::bigint[]
$$;


-- ------------------------------------------------------------------------
-- Checking a JSON body
-- ------------------------------------------------------------------------

-- How messages name a field, in French (the error's "field" member gives
-- it as the API spells it).
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
        when 'chantier_id' then 'la référence du chantier'
        when 'title' then 'l''intitulé'
        when 'client_id' then 'le client'
        when 'start_date' then 'la date de début'
        when 'planned_end_date' then 'la date de fin prévue'
        when 'revised_end_date' then 'la nouvelle date de fin prévue'
        when 'body' then 'le texte'
        when 'finishing' then 'la clôture du chantier'
        when 'notify_client' then 'l''avis au client'
        when 'cancelled' then 'le retrait de la publication'
        when 'parent_id' then 'le commentaire auquel vous répondez'
        when 'version' then 'la version'
        when 'author' then 'l''auteur'
        when 'created_at' then 'la date de publication'
        when 'edited_at' then 'la date de modification'
        when 'comments' then 'les commentaires'
        else 'le champ « ' || p_field || ' »'
    end
$$;

-- The same, at the start of a sentence.
create or replace function api.label_upper(p_field text)
    returns text
    language sql immutable
as $$
    select upper(left(api.label(p_field), 1)) || substr(api.label(p_field), 2)
$$;

create or replace function api.invalid(p_field text, p_problem text)
    returns void
    language sql
as $$
    select api.reject(400, 'invalid_field',
                      api.label_upper(p_field) || ' ' || p_problem, p_field)
$$;

create or replace function api.require_object(p_value jsonb,
    p_field text default null)
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
create or replace function api.check_keys(p_object jsonb, p_allowed text[],
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
create or replace function api.take_text(p_body jsonb, p_path text[],
    p_max integer, p_required boolean default false)
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

create or replace function api.choices_text(p_choices text[])
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

create or replace function api.take_choice(p_body jsonb, p_path text[],
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

create or replace function api.take_boolean(p_body jsonb, p_path text[])
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
create or replace function api.take_id(p_body jsonb, p_path text[])
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
create or replace function api.to_date(p_text text)
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

create or replace function api.take_date(p_body jsonb, p_path text[])
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


-- ------------------------------------------------------------------------
-- Accounts: the rules of GET/PATCH me and of the admin pages
-- ------------------------------------------------------------------------

-- Copies into p_user the fields present in p_body, each checked.  Absent
-- fields stay as they are; an address replaces the whole address; notify
-- changes only the kinds it names.
create or replace function api.user_apply(p_user chantier.users, p_body jsonb)
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
create or replace function api.user_check(p_user chantier.users)
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
                           'Les notifications par e-mail demandent'
                           || ' une adresse e-mail.', 'email');
    end if;

    if 'sms' in (p_user.notify_posts, p_user.notify_comments)
       and p_user.phone is null
    then
        perform api.reject(400, 'invalid_field',
                           'Les notifications par SMS demandent'
                           || ' un numéro de téléphone mobile.', 'phone');
    end if;
end
$$;

create or replace function api.check_password_hash(p_hash text)
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


-- Folds case and French accents, for searching: 'Hélène' -> 'helene'.
create or replace function api.fold(p_text text)
    returns text
    language sql immutable
as $$
    select lower(replace(replace(replace(replace(translate(p_text,
               'ÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸàâäáãåçéèêëíìîïñóòôöõúùûüýÿ',
               'AAAAAACEEEEIIIINOOOOOUUUUYYaaaaaaceeeeiiiinooooouuuuyy'),
               'Œ', 'oe'), 'œ', 'oe'), 'Æ', 'ae'), 'æ', 'ae'))
$$;


-- ------------------------------------------------------------------------
-- JSON of users
-- ------------------------------------------------------------------------

-- Stable, not immutable: their bodies call to_char and concat_ws, which are
-- stable, and PostgreSQL inlines a SQL function into its caller only when
-- the body is no more volatile than the function claims to be.  Inlined,
-- they cost nothing; called 4,000 times for a fiche of 1,000 comments, they
-- took most of its 100 ms.
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

create or replace function api.address_json(p_user chantier.users)
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

create or replace function api.user_json(p_user chantier.users)
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

-- The JSON text of object p_object with one more member, p_key, whose
-- value p_json is JSON text already.  Threads and posts are put together
-- this way, as text, rather than parsed into jsonb again at every level of
-- nesting.  p_object must have at least one member.
create or replace function api.json_with(p_object jsonb, p_key text,
    p_json text)
    returns text
    language sql stable
as $$
    select left(p_object::text, -1)
           || ', ' || to_jsonb(p_key)::text || ': ' || p_json || '}'
$$;


-- ------------------------------------------------------------------------
-- Fiches: who sees them, how they change, their summary
-- ------------------------------------------------------------------------

-- The version of fiche p_fiche_id when p_user_id may see it (its client,
-- or any employee or administrator), else null.  One lookup by primary key
-- in each table: it runs on every GET of a fiche, before the cache.
--
-- What counts is the account as it is now, active and with its current
-- role; p_role, the role the session was opened with, is not trusted (a
-- session can outlive a change for the time its end takes to be heard).
-- It stays in the signature, which the module and older nodes call.
create or replace function api.fiche_version(p_user_id bigint, p_role text,
    p_fiche_id bigint)
    returns bigint
    language sql stable
as $$
    select f.version
      from chantier.fiches as f
      join chantier.chantiers as c on c.id = f.id
      join chantier.users as u on u.id = p_user_id
     where f.id = p_fiche_id
       and u.active
       and (u.role in ('employee', 'admin') or c.client_id = u.id)
$$;

-- For an event stream of fiche p_fiche_id: its version, as above, and how
-- p_user_id appears to the fiche's other viewers (presence), as the JSON
-- object {"id", "name", "role"}.  No row when the user may not see it.
create or replace function api.fiche_stream(p_user_id bigint, p_role text,
    p_fiche_id bigint)
    returns table (version bigint, viewer text)
    language sql stable
as $$
    select api.fiche_version(p_user_id, p_role, p_fiche_id),
           jsonb_build_object('id', u.id,
                              'name', api.user_name(u),
                              'role', u.role)::text
      from chantier.users as u
     where u.id = p_user_id
       and api.fiche_version(p_user_id, p_role, p_fiche_id) is not null
$$;

-- Records a change of fiche p_fiche_id and returns its new version.  Its
-- finished_at becomes the time of its latest non-cancelled post when that
-- post finishes the chantier, else null.
--
-- The functions that change a fiche lock its row first (select ... for
-- update), before reading or changing its posts and comments: changes of
-- one fiche then run one after the other, each sees the posts the previous
-- one committed, and the versions follow one another.
create or replace function api.fiche_changed(p_fiche_id bigint)
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

-- A fiche is finished while its latest non-cancelled post is a finishing
-- one; the posts keep fiches.finished_at to say so.
create or replace function api.fiche_status(p_fiche chantier.fiches)
    returns text
    language sql immutable
as $$
    select case when p_fiche.finished_at is null
                then 'in_progress' else 'finished' end
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

-- A fiche as the lists show it: GET /api/fiches, and the answer of the
-- admin's chantier pages.
create or replace function api.fiche_summary_json(p_fiche_id bigint)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'id', f.id,
        'chantier_id', c.code,
        'title', c.title,
        'start_date', api.iso_date(c.start_date),
        'planned_end_date', api.iso_date(c.planned_end_date),
        'revised_end_date', api.iso_date(c.revised_end_date),
        'status', api.fiche_status(f),
        'last_post_at', api.iso_time(api.fiche_last_post_at(f.id)),
        'client', jsonb_build_object('id', u.id, 'name', api.user_name(u)))
      from chantier.fiches as f
      join chantier.chantiers as c on c.id = f.id
      join chantier.users as u on u.id = c.client_id
     where f.id = p_fiche_id
$$;


-- ------------------------------------------------------------------------
-- JSON of posts and comments
-- ------------------------------------------------------------------------

-- A comment without its replies.
create or replace function api.comment_json(p_comment chantier.comments,
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
create or replace function api.comment_threads(p_post_ids bigint[])
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

-- The photo ids a Delta embeds, in their order ({"image": "photo:<id>"};
-- the module checked their form).
create or replace function api.delta_photo_ids(p_delta jsonb)
    returns bigint[]
    language sql immutable
as $$
    select coalesce(array_agg(substr(op -> 'insert' ->> 'image', 7)::bigint
                              order by n), '{}')
      from jsonb_array_elements(p_delta -> 'ops') with ordinality as o(op, n)
     where jsonb_typeof(op -> 'insert') = 'object'
$$;

-- The photos of post p_post for the fiche document: the array [{id,
-- width, height}] of their display renderings, in body order (the page
-- reserves their room before the thumbnails arrive).
create or replace function api.post_photos_json(p_post chantier.posts)
    returns jsonb
    language sql stable
as $$
    select coalesce(jsonb_agg(jsonb_build_object(
                                  'id', r.photo_id,
                                  'width', r.width,
                                  'height', r.height)
                              order by wanted.n), '[]')
      from unnest(api.delta_photo_ids(p_post.body))
           with ordinality as wanted(id, n)
      join chantier.photo_renderings as r
           on r.photo_id = wanted.id and r.size = 'display'
$$;

-- A post, with the JSON text of the array of its comments.
create or replace function api.post_json(p_post chantier.posts,
    p_author chantier.users, p_comments text)
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
            'notify_client', p_post.notify_client,
            'photos', api.post_photos_json(p_post)),
        'comments', p_comments)
$$;

-- One post as it is now, with its comments.
create or replace function api.post_json(p_post_id bigint)
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


-- ------------------------------------------------------------------------
-- Notifications: the outbox rows a change writes (0010_notifications.sql)
-- ------------------------------------------------------------------------
--
-- Who is told: a new post, or an edit sent again with notify_client,
-- tells the chantier's client; a client's comment tells the author of the
-- post; an employee's comment tells the client.  Nobody is told of their
-- own action, an inactive account is told nothing, and the channel is the
-- recipient's preference for that kind of event at that moment ("none":
-- no row).  chantier-notifier sends the rows; the module pushes their ids
-- to it after the commit.

-- The text of a Delta without its embeds, for excerpts.
create or replace function api.delta_text(p_delta jsonb)
    returns text
    language sql immutable
as $$
    select coalesce(string_agg(o.op ->> 'insert', '' order by o.n), '')
      from jsonb_array_elements(p_delta -> 'ops') with ordinality as o(op, n)
     where jsonb_typeof(o.op -> 'insert') = 'string'
$$;

-- At most 200 characters of a text, on one line.
create or replace function api.excerpt(p_text text)
    returns text
    language sql immutable
as $$
    select case when length(s.line) <= 200 then s.line
                else rtrim(left(s.line, 199)) || '…' end
      from (select btrim(regexp_replace(p_text, '\s+', ' ', 'g')) as line) as s
$$;

-- How long comments for one person on one fiche wait for the next ones, to
-- go as one message: two minutes, unless the database sets
-- chantier.notify_comment_window (the test stack shortens it).
create or replace function api.comment_window()
    returns interval
    language sql stable
as $$
    select coalesce(nullif(current_setting('chantier.notify_comment_window',
                                           true), '')::interval,
                    interval '2 minutes')
$$;

-- One thing a message tells: who wrote what, when.
create or replace function api.notification_item(p_author chantier.users,
    p_text text, p_at timestamptz, p_post_id bigint,
    p_comment_id bigint default null)
    returns jsonb
    language sql stable
as $$
    select jsonb_strip_nulls(jsonb_build_object(
        'author', api.user_name(p_author),
        'role', p_author.role,
        'excerpt', api.excerpt(p_text),
        'at', api.iso_time(p_at),
        'post_id', p_post_id,
        'comment_id', p_comment_id))
$$;

create or replace function api.notification_content(p_fiche_id bigint,
    p_item jsonb)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object('code', c.code, 'title', c.title,
                              'items', jsonb_build_array(p_item))
      from chantier.chantiers as c
     where c.id = p_fiche_id
$$;

-- Post p_post, new (post_created) or edited by p_actor_id and announced
-- again (post_reannounced): its client, once per version of the post.
create or replace function api.notify_post(p_post chantier.posts,
    p_event text, p_actor_id bigint)
    returns bigint[]
    language plpgsql
as $$
declare
    v_client  chantier.users;
    v_actor   chantier.users;
    v_id      bigint;
begin
    select u.* into v_client
      from chantier.chantiers as c
      join chantier.users as u on u.id = c.client_id
     where c.id = p_post.fiche_id
       and u.active
       and u.id <> p_actor_id
       and u.notify_posts <> 'none';

    if not found or p_post.cancelled then
        return null;
    end if;

    select * into v_actor from chantier.users as u where u.id = p_actor_id;

    insert into chantier.notifications
        (recipient_id, fiche_id, event, channel, idempotency_key, content)
    values
        (v_client.id, p_post.fiche_id, p_event, v_client.notify_posts,
         format('%s:%s:%s:%s', p_event, p_post.id, p_post.version,
                v_client.id),
         api.notification_content(p_post.fiche_id,
             api.notification_item(v_actor, api.delta_text(p_post.body),
                                   coalesce(p_post.edited_at,
                                            p_post.created_at),
                                   p_post.id)))
    on conflict (idempotency_key) do nothing
    returning id into v_id;

    return case when v_id is null then null else array[v_id] end;
end
$$;

-- Comment p_comment on fiche p_fiche_id.  It joins the recipient's open
-- batch of that fiche when there is one (then nothing new is to push: the
-- batch is queued already), or opens one that waits api.comment_window().
--
-- The batch is locked before it is extended: the notifier sends a row
-- under the same lock, after checking that it is due, so a comment either
-- joins a batch before it goes, or finds it gone (no longer pending, the
-- lock's recheck skips it) and opens the next one.
create or replace function api.notify_comment(p_comment chantier.comments,
    p_fiche_id bigint)
    returns bigint[]
    language plpgsql
as $$
declare
    v_author     chantier.users;
    v_recipient  chantier.users;
    v_item       jsonb;
    v_batch_id   bigint;
    v_id         bigint;
begin
    select * into v_author
      from chantier.users as u
     where u.id = p_comment.author_id;

    if v_author.role = 'client' then
        select u.* into v_recipient
          from chantier.posts as p
          join chantier.users as u on u.id = p.author_id
         where p.id = p_comment.post_id;
    else
        select u.* into v_recipient
          from chantier.chantiers as c
          join chantier.users as u on u.id = c.client_id
         where c.id = p_fiche_id;
    end if;

    if v_recipient.id is null
       or not v_recipient.active
       or v_recipient.id = v_author.id
       or v_recipient.notify_comments = 'none'
    then
        return null;
    end if;

    v_item := api.notification_item(v_author, p_comment.body,
                                    p_comment.created_at,
                                    p_comment.post_id, p_comment.id);

    select n.id into v_batch_id
      from chantier.notifications as n
     where n.recipient_id = v_recipient.id
       and n.fiche_id = p_fiche_id
       and n.event = 'comments'
       and n.state = 'pending'
       and n.channel = v_recipient.notify_comments
       and n.due_at > clock_timestamp()
     order by n.id desc
     limit 1
       for update;

    if found then
        update chantier.notifications as n
           set content = jsonb_set(n.content, '{items}',
                                   (n.content -> 'items')
                                   || jsonb_build_array(v_item))
         where n.id = v_batch_id;

        return null;
    end if;

    insert into chantier.notifications
        (recipient_id, fiche_id, event, channel, idempotency_key, content,
         due_at)
    values
        (v_recipient.id, p_fiche_id, 'comments',
         v_recipient.notify_comments,
         format('comments:%s:%s:%s', v_recipient.id, p_fiche_id,
                p_comment.id),
         api.notification_content(p_fiche_id, v_item),
         now() + api.comment_window())
    returning id into v_id;

    return array[v_id];
end
$$;
