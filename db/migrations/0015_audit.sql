-- What administrators did: one row per action, written in the same
-- transaction as the change itself, so that no change goes unrecorded and
-- no record tells of a change that did not happen.  Never a password: a
-- password reset says only that it happened.

create table chantier.audit_log (
    id            bigint generated always as identity primary key,
    at            timestamptz not null default now(),

    -- null: chantierctl, on the server itself
    actor_id      bigint references chantier.users (id) on delete set null,

    action        text not null,
    object_type   text not null,
    object_id     bigint not null,

    -- {"field": {"from": …, "to": …}, …}, or what was created or deleted
    changes       jsonb not null default '{}',

    constraint audit_log_action_known
        check (action in ('user_created', 'user_edited', 'user_deactivated',
                          'user_reactivated', 'password_reset',
                          'chantier_created', 'chantier_edited',
                          'contract_uploaded', 'contract_deleted')),
    constraint audit_log_object_type_known
        check (object_type in ('user', 'chantier', 'contract'))
);

create index audit_log_latest on chantier.audit_log (at desc, id desc);
