-- 0008 — Photos of the posts.
--
-- An employee uploads each photo on its own, before publishing the post
-- that shows it (SPEC §3): a photo belongs to a fiche from its upload, and
-- to a post once the post's body embeds it ({"image": "photo:<id>"}).  The
-- module keeps two renderings made from the upload, never the upload
-- itself: "display" (long edge at most 2,048 px) and "thumb" (at most
-- 480 px), both stripped of every metadata block.
--
-- A photo goes with its post (deleting a post deletes its photos) and with
-- its fiche.  A photo that no post embeds 24 hours after its upload (the
-- post was never published, or an edit took the photo out) is removed by
-- api.photos_sweep (db/api/photos.sql), which every upload runs first.


-- Lets a photo name its post together with the post's fiche, so that a
-- photo can only ever belong to a post of its own fiche.
alter table chantier.posts
    add constraint posts_id_fiche_unique unique (id, fiche_id);


create table chantier.photos (
    id           bigint generated always as identity primary key,
    fiche_id     bigint not null
                 references chantier.fiches (id) on delete cascade,
    post_id      bigint,
    uploaded_by  bigint not null references chantier.users (id),
    uploaded_at  timestamptz not null default now(),

    constraint photos_post_of_fiche
        foreign key (post_id, fiche_id)
        references chantier.posts (id, fiche_id) on delete cascade
);

-- The photos of a post (its grid, its deletion) and those of no post (the
-- sweep).
create index photos_post on chantier.photos (post_id);
create index photos_unused on chantier.photos (uploaded_at)
    where post_id is null;


-- The bytes served.  JPEG and PNG are compressed already: storage
-- "external" keeps PostgreSQL from trying again (the bytes are still out
-- of line, TOASTed, and read without decompression).
create table chantier.photo_renderings (
    photo_id      bigint not null
                  references chantier.photos (id) on delete cascade,
    size          text not null,
    content_type  text not null,
    width         integer not null,
    height        integer not null,
    hash          text not null,
    bytes         bytea not null,

    primary key (photo_id, size),

    constraint photo_renderings_size
        check (size in ('display', 'thumb')),

    constraint photo_renderings_type
        check (content_type in ('image/jpeg', 'image/png')),

    constraint photo_renderings_dimensions
        check (width between 1 and 2048 and height between 1 and 2048),

    -- SHA-256 in hex: the ETag
    constraint photo_renderings_hash
        check (hash ~ '^[0-9a-f]{64}$'),

    constraint photo_renderings_not_empty
        check (length(bytes) > 0)
);

alter table chantier.photo_renderings alter column bytes set storage external;

