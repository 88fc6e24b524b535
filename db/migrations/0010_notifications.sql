-- The notification outbox.
--
-- A post, an edit that re-announces a post, or a comment writes its
-- notification rows in the same transaction as itself: PostgreSQL is the
-- truth of what must be sent.  After the commit the module pushes the new
-- ids onto the Redis list chantier:notify:queue; chantier-notifier takes
-- them from there, and its sweep finds again whatever Redis lost.
--
-- One row is one message to one person by one channel.  Comments for the
-- same person on the same fiche join one pending row while its window is
-- open (due_at in the future): several comments within the window become
-- one message.

create table chantier.notifications (
    id                bigint generated always as identity primary key,
    recipient_id      bigint not null
                      references chantier.users (id) on delete cascade,
    fiche_id          bigint not null
                      references chantier.fiches (id) on delete cascade,

    -- post_created, post_reannounced (an edit sent again with
    -- notify_client) or comments (one or several, batched)
    event             text not null,

    -- the recipient's preference for that kind of event when it happened
    channel           text not null,

    -- checked by the notifier before sending, recorded after: one
    -- notification is never sent twice
    idempotency_key   text not null,

    -- what the message says, fixed when the event happened:
    --   {"code", "title", "items": [{"author", "role", "excerpt", "at",
    --    "post_id", "comment_id"?}, ...]}
    content           jsonb not null,

    -- pending: to send at due_at or later; sent; dead: given up after
    -- failures (an administrator may send it again); dropped: moot, its
    -- post deleted before it was sent
    state             text not null default 'pending',
    due_at            timestamptz not null default now(),
    attempts          integer not null default 0,
    first_failed_at   timestamptz,
    last_error        text,
    sent_at           timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),

    constraint notifications_key_unique unique (idempotency_key),
    constraint notifications_event_known
        check (event in ('post_created', 'post_reannounced', 'comments')),
    constraint notifications_channel_known
        check (channel in ('email', 'sms')),
    constraint notifications_state_known
        check (state in ('pending', 'sent', 'dead', 'dropped')),
    constraint notifications_content_has_items
        check (jsonb_typeof(content -> 'items') = 'array'),
    constraint notifications_sent_when_sent
        check ((state = 'sent') = (sent_at is not null))
);

-- the sweep: what is still to send
create index notifications_pending_due
    on chantier.notifications (due_at) where state = 'pending';

-- the administrators' list of dead letters
create index notifications_dead
    on chantier.notifications (updated_at) where state = 'dead';

-- the open comment batch of a person on a fiche
create index notifications_open_batch
    on chantier.notifications (recipient_id, fiche_id)
    where state = 'pending' and event = 'comments';

create trigger notifications_touch_updated_at
    before update on chantier.notifications
    for each row execute function chantier.touch_updated_at();


-- A change also answers the notifications it created, for the module to
-- push after the commit (null when none).
alter type api.mutation add attribute notification_ids bigint[];
