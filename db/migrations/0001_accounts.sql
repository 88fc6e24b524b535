-- 0001 — Accounts: CLO's clients, its employees and its administrators.
--
-- Tables live in schema "chantier".  The nginx module never touches them
-- directly: it calls the functions of schema "api" (db/api/), which
-- validate their input and answer with an HTTP status and a JSON body.
-- The constraints below are the last line of defence, not the first: the
-- api functions check the same rules and explain them in French.

create schema chantier;


-- Keeps updated_at true whatever statement changes a row.
create function chantier.touch_updated_at()
    returns trigger
    language plpgsql
as $$
begin
    new.updated_at := now();
    return new;
end
$$;


create table chantier.users (
    id                bigint generated always as identity primary key,
    role              text not null,
    login             text not null,
    civility          text,
    first_name        text not null,
    last_name         text not null,
    company           text,
    client_number     text,
    address_line1     text,
    address_line2     text,
    postal_code       text,
    city              text,
    email             text,
    phone             text,
    notify_posts      text not null default 'email',
    notify_comments   text not null default 'email',
    password_hash     text not null,
    active            boolean not null default true,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),

    constraint users_role_known
        check (role in ('client', 'employee', 'admin')),

    -- logins are stored lower-case, so that a case-insensitive match is an
    -- equality on an indexed column
    constraint users_login_unique unique (login),
    constraint users_login_shape
        check (login ~ '^[a-z0-9._-]{3,64}$'),

    constraint users_civility_known
        check (civility in ('M.', 'Mme')),
    constraint users_names_length
        check (length(first_name) between 1 and 100
               and length(last_name) between 1 and 100),
    constraint users_company_length
        check (length(company) between 1 and 200),

    -- CLO's own client numbers, stored upper-case
    constraint users_client_number_unique unique (client_number),
    constraint users_client_number_shape
        check (client_number ~ '^[A-Z0-9]([A-Z0-9 ./-]{0,30}[A-Z0-9])?$'),

    constraint users_address_length
        check (length(address_line1) between 1 and 200
               and length(address_line2) between 1 and 200
               and length(city) between 1 and 100),
    constraint users_postal_code_shape
        check (postal_code ~ '^[0-9A-Za-z][0-9A-Za-z -]{1,9}$'),

    constraint users_email_shape
        check (length(email) <= 254
               and email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    constraint users_phone_shape
        check (phone ~ '^\+?[0-9]([0-9 .-]{4,30})[0-9]$'),

    constraint users_notify_known
        check (notify_posts in ('email', 'sms', 'none')
               and notify_comments in ('email', 'sms', 'none')),

    -- a client receives mail and is known by CLO's client number
    constraint users_client_identity
        check (role <> 'client'
               or (client_number is not null
                   and address_line1 is not null
                   and postal_code is not null
                   and city is not null)),

    -- a notification channel needs somewhere to send to
    constraint users_notify_email_needs_email
        check ('email' not in (notify_posts, notify_comments)
               or email is not null),
    constraint users_notify_sms_needs_phone
        check ('sms' not in (notify_posts, notify_comments)
               or phone is not null),

    -- "$algorithm$...": the parameters travel with the hash
    constraint users_password_hash_shape
        check (password_hash ~ '^\$[a-z0-9-]+\$')
);

create trigger users_touch_updated_at
    before update on chantier.users
    for each row execute function chantier.touch_updated_at();
