-- 0009 — A post sent twice is published once.
--
-- The page publishes through an outbox that survives weak networks: when
-- the answer to a POST never came, it cannot know whether the post was
-- published, and sends it again.  It sends a key of its own with the post
-- (the Idempotency-Key header), the same on every attempt; an attempt whose
-- key the author already used gets the post that the first one published,
-- and nothing is published twice.

alter table chantier.posts
    add column idempotency_key text;

alter table chantier.posts
    add constraint posts_idempotency_key_length
        check (length(idempotency_key) between 1 and 100);

create unique index posts_author_idempotency_key
    on chantier.posts (author_id, idempotency_key)
    where idempotency_key is not null;

-- api.post_create takes the key now (db/api/posts.sql): the function of
-- three arguments would make a call of three ambiguous
drop function if exists api.post_create(bigint, bigint, jsonb);
