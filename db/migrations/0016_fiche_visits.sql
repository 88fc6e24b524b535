-- Each user's last visit of each fiche: what is new for them is what
-- others wrote since (SPEC 3, "What's new").

create table chantier.fiche_visits (
    user_id    bigint not null references chantier.users (id) on delete cascade,
    fiche_id   bigint not null references chantier.fiches (id) on delete cascade,
    seen_at    timestamptz not null,

    primary key (user_id, fiche_id)
);
