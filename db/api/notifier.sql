-- chantier-notifier (notifier/): what it reads and records of the outbox
-- chantier.notifications (0010_notifications.sql).
--
-- The daemon handles one row in one transaction: api.notifier_take locks
-- the row when it is pending and due (skip locked: another notifier or a
-- comment joining the batch holds it), the message goes out while the lock
-- is held, then api.notifier_sent, api.notifier_retry or api.notifier_dead
-- records the outcome and the daemon commits at once.  A crash before the
-- commit rolls everything back: the row is still pending and is sent again;
-- only a crash between the server's acceptance and the commit sends twice.


-- A time as the messages say it, in the chantier's time zone:
-- "le 1er décembre à 14 h 05".
create or replace function api.notifier_when(p_at timestamptz)
    returns text
    language sql stable
as $$
    select 'le '
           || case when extract(day from t) = 1 then '1er'
                   else extract(day from t)::int::text end
           || ' '
           || (array['janvier', 'février', 'mars', 'avril', 'mai', 'juin',
                     'juillet', 'août', 'septembre', 'octobre', 'novembre',
                     'décembre'])[extract(month from t)::int]
           || case when extract(year from t)
                        <> extract(year from now() at time zone 'Europe/Paris')
                   then ' ' || extract(year from t)::int::text
                   else '' end
           || ' à ' || to_char(t, 'FMHH24') || ' h ' || to_char(t, 'MI')
      from (select p_at at time zone 'Europe/Paris' as t) as local
$$;

-- Row p_id for sending.  status says what to do with it:
--   send     pending and due: locked until the transaction ends; the other
--            columns are filled
--   later    pending, not yet due: due_in seconds from now
--   busy     pending and due, but locked by another transaction (a comment
--            joining the batch, another notifier): try again shortly
--   done     sent, dead or dropped already (a duplicate id in the queue)
--   gone     no such row (its fiche or recipient deleted)
--   dropped  a post event whose post was deleted: now dropped, nothing to
--            send (commit)
create or replace function api.notifier_take(p_id bigint)
    returns table (status text, due_in double precision, channel text,
                   event text, code text, title text, fiche_id bigint,
                   idempotency_key text, attempts integer,
                   email text, phone text, first_name text, last_name text,
                   active boolean, items integer)
    language plpgsql
as $$
declare
    v_row   chantier.notifications;
    v_user  chantier.users;
begin
    select n.* into v_row
      from chantier.notifications as n
     where n.id = p_id
       and n.state = 'pending'
       and n.due_at <= clock_timestamp()
       for update skip locked;

    if not found then
        select n.* into v_row
          from chantier.notifications as n
         where n.id = p_id;

        if not found then
            status := 'gone';
        elsif v_row.state <> 'pending' then
            status := 'done';
        elsif v_row.due_at > clock_timestamp() then
            status := 'later';
            due_in := extract(epoch from v_row.due_at - clock_timestamp());
        else
            status := 'busy';
        end if;

        return next;
        return;
    end if;

    if v_row.event in ('post_created', 'post_reannounced')
       and not exists (select
                         from chantier.posts as p
                        where p.id = (v_row.content #>> '{items,0,post_id}')
                                     ::bigint)
    then
        update chantier.notifications as n
           set state = 'dropped',
               last_error = 'publication supprimée avant l''envoi'
         where n.id = p_id;

        status := 'dropped';
        return next;
        return;
    end if;

    select u.* into v_user
      from chantier.users as u
     where u.id = v_row.recipient_id;

    status := 'send';
    channel := v_row.channel;
    event := v_row.event;
    code := v_row.content ->> 'code';
    title := v_row.content ->> 'title';
    fiche_id := v_row.fiche_id;
    idempotency_key := v_row.idempotency_key;
    attempts := v_row.attempts;
    email := v_user.email;
    phone := v_user.phone;
    first_name := v_user.first_name;
    last_name := v_user.last_name;
    active := v_user.active;
    items := jsonb_array_length(v_row.content -> 'items');

    return next;
end
$$;

-- What the message of row p_id tells, item by item, in order: who (and
-- whether they are of CLO), what, when.
create or replace function api.notifier_items(p_id bigint)
    returns table (author text, staff boolean, excerpt text, said_at text)
    language sql stable
as $$
    select i.item ->> 'author',
           coalesce(i.item ->> 'role', 'client') <> 'client',
           coalesce(i.item ->> 'excerpt', ''),
           api.notifier_when(coalesce((i.item ->> 'at')::timestamptz,
                                      n.created_at))
      from chantier.notifications as n,
           jsonb_array_elements(n.content -> 'items')
               with ordinality as i (item, position)
     where n.id = p_id
     order by i.position
$$;

-- The server accepted the message.
create or replace function api.notifier_sent(p_id bigint)
    returns void
    language sql
as $$
    update chantier.notifications as n
       set state = 'sent',
           sent_at = clock_timestamp(),
           last_error = null
     where n.id = p_id
$$;

-- A failure that no retry can mend (no address, an unusable phone number,
-- an inactive recipient, a message refused for good): dead at once.
create or replace function api.notifier_dead(p_id bigint, p_error text)
    returns void
    language sql
as $$
    update chantier.notifications as n
       set state = 'dead',
           attempts = n.attempts + 1,
           first_failed_at = coalesce(n.first_failed_at, clock_timestamp()),
           last_error = p_error
     where n.id = p_id
$$;

-- A failure worth another try: in p_delay seconds, but never later than
-- p_dead_after seconds after the first failure, when the last try is made;
-- a failure at or past that time is the end: dead.  Returns the new state
-- and, while pending, the seconds until the next try.
create or replace function api.notifier_retry(p_id bigint, p_error text,
    p_delay double precision, p_dead_after double precision)
    returns table (state text, due_in double precision)
    language sql
as $$
    with failed as (
        select n.id,
               coalesce(n.first_failed_at, clock_timestamp()) as first,
               clock_timestamp() as now
          from chantier.notifications as n
         where n.id = p_id
    )
    update chantier.notifications as n
       set attempts = n.attempts + 1,
           first_failed_at = f.first,
           last_error = p_error,
           state = case when f.now - f.first
                             >= make_interval(secs => p_dead_after)
                        then 'dead' else 'pending' end,
           due_at = least(f.now + make_interval(secs => p_delay),
                          f.first + make_interval(secs => p_dead_after))
      from failed as f
     where n.id = f.id
    returning n.state,
              greatest(extract(epoch from n.due_at - clock_timestamp()), 0)
$$;

-- The sweep: pending rows that are due, oldest first, whether or not Redis
-- still knows them (the daemon pushes those it does not).
create or replace function api.notifier_due(p_limit integer)
    returns setof bigint
    language sql stable
as $$
    select n.id
      from chantier.notifications as n
     where n.state = 'pending'
       and n.due_at <= clock_timestamp()
     order by n.due_at
     limit p_limit
$$;
