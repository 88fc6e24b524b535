-- 0005 — Posts and comments: what a fiche d'avancement is made of.
--
-- Employees write posts ("publications d'avancement") on a fiche; the
-- fiche's client and any employee comment on a post or reply to a comment,
-- to any depth.  A post can be edited, cancelled (it stays, greyed) and
-- un-cancelled, or deleted with its comments.  The fiche is finished while
-- its latest non-cancelled post is a finishing one.
--
-- Every change of a fiche goes through api.fiche_changed, once, in the
-- transaction of the change: the fiche's version moves on by exactly one
-- (ETag, caches, live updates) and its finished_at follows the posts.
--
-- The functions the module calls for changes (db/api/posts.sql and
-- db/api/comments.sql) answer with an api.mutation: the HTTP response, and
-- the fiche and its new version when something changed, so that the module
-- can announce the new version.


-- ------------------------------------------------------------------------
-- Tables
-- ------------------------------------------------------------------------

-- A post belongs to its fiche and goes with it.  Its author and the last
-- person who changed it are users that must stay: accounts are deactivated
-- ("active"), never deleted, and a post keeps naming who wrote it (the
-- default ON DELETE NO ACTION refuses to delete such a user).
create table chantier.posts (
    id              bigint generated always as identity primary key,
    fiche_id        bigint not null
                    references chantier.fiches (id) on delete cascade,
    author_id       bigint not null references chantier.users (id),
    changed_by      bigint not null references chantier.users (id),
    version         bigint not null default 1,
    body            jsonb not null,
    cancelled       boolean not null default false,
    finishing       boolean not null default false,
    notify_client   boolean not null default true,
    created_at      timestamptz not null default now(),
    edited_at       timestamptz,

    -- a Quill Delta, {"ops": [...]}; the module checked its content
    constraint posts_body_is_delta
        check (jsonb_typeof(body) = 'object'
               and jsonb_typeof(body -> 'ops') = 'array'),

    constraint posts_version_positive check (version >= 1),

    constraint posts_edited_after_created check (edited_at >= created_at)
);

-- The posts of a fiche in their order, and its latest post.
create index posts_fiche_order on chantier.posts (fiche_id, created_at, id);


-- A comment belongs to a post and goes with it; a reply belongs to the
-- comment it answers, in the same post, and goes with it too.  The pair
-- (post_id, parent_id) references (post_id, id): a reply to a comment of
-- another post cannot exist.
create table chantier.comments (
    id          bigint generated always as identity primary key,
    post_id     bigint not null
                references chantier.posts (id) on delete cascade,
    parent_id   bigint,
    author_id   bigint not null references chantier.users (id),
    body        text not null,
    created_at  timestamptz not null default now(),

    -- what a reply's foreign key points at; also the index of the
    -- comments of a post
    constraint comments_post_id_id_unique unique (post_id, id),

    constraint comments_parent_same_post
        foreign key (post_id, parent_id)
        references chantier.comments (post_id, id) on delete cascade,

    constraint comments_not_own_parent check (parent_id <> id),

    -- plain text, trimmed, line breaks kept
    constraint comments_body_length
        check (length(body) between 1 and 5000)
);

-- The replies to a comment: threads, and deleting a comment with them.
create index comments_parent_id on chantier.comments (parent_id);


-- ------------------------------------------------------------------------
-- Responses of changes
-- ------------------------------------------------------------------------

-- What a change answers: the response, and the fiche with its new version
-- when something changed (both null when nothing did).
create type api.mutation as (
    status          integer,
    body            text,
    fiche_id        bigint,
    fiche_version   bigint
);
