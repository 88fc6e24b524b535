-- Signed contracts, uploaded by administrators as PDF files for one client,
-- read by that client only ("Mes contrats").  The file is kept whole in
-- PostgreSQL, as the photos are: one system of record, one backup.

create table chantier.contracts (
    id            bigint generated always as identity primary key,
    client_id     bigint not null
                  references chantier.users (id) on delete cascade,
    title         text not null,
    signed_on     date not null,
    bytes         bytea not null,
    size          integer not null,
    sha256        text not null,
    uploaded_by   bigint references chantier.users (id) on delete set null,
    uploaded_at   timestamptz not null default now(),

    constraint contracts_title_length
        check (length(title) between 1 and 200),
    constraint contracts_is_pdf
        check (substring(bytes from 1 for 5) = '\x255044462d'::bytea),
    constraint contracts_size_is_length
        check (size = length(bytes)),
    constraint contracts_sha256_shape
        check (sha256 ~ '^[0-9a-f]{64}$')
);

-- "Mes contrats", and an administrator's list of a client's contracts
create index contracts_client on chantier.contracts (client_id, signed_on);

-- the list never reads the files: they stay out of line
alter table chantier.contracts alter column bytes set storage external;
