-- 0002 — Chantiers and their progress sheets (fiches d'avancement).
--
-- A chantier is what CLO's admins manage: its code, title, client and dates.
-- Its fiche is what employees and the client work on: the posts (a later
-- migration), a version bumped on every change (ETag, live updates) and the
-- time the work was declared finished.
--
-- There is exactly one fiche per chantier, created with it and never closed,
-- so the fiche takes its chantier's id as its own primary key: "fiche 12" is
-- the fiche of chantier 12, and the id the API shows for a fiche is also the
-- one used to edit its chantier.

create table chantier.chantiers (
    id                 bigint generated always as identity primary key,
    code               text not null,
    title              text not null,
    client_id          bigint not null references chantier.users (id),
    start_date         date not null,
    planned_end_date   date not null,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),

    -- CLO's own identifier, e.g. CH-2026-0042, stored upper-case
    constraint chantiers_code_unique unique (code),
    constraint chantiers_code_shape
        check (code ~ '^[A-Z0-9-]{1,32}$'),

    constraint chantiers_title_length
        check (length(title) between 1 and 200),

    constraint chantiers_dates_in_order
        check (planned_end_date >= start_date)
);

create index chantiers_client_id on chantier.chantiers (client_id);

create trigger chantiers_touch_updated_at
    before update on chantier.chantiers
    for each row execute function chantier.touch_updated_at();


create table chantier.fiches (
    id            bigint primary key
                  references chantier.chantiers (id) on delete cascade,
    version       bigint not null default 1,
    finished_at   timestamptz,
    created_at    timestamptz not null default now(),

    constraint fiches_version_positive check (version >= 1)
);
