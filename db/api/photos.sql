-- Photos: POST /api/fiches/{id}/photos, GET /api/photos/{id}, and the
-- sweep of the photos no post embeds (0008).  Which photos a post shows is
-- posts.sql's (api.post_photos_set).


-- Whether p_user_id may upload a photo to fiche p_fiche_id, asked before
-- the body is read: 204, 403 for a client, 404 for a fiche that does not
-- exist or an account that is no longer active.
create or replace function api.photo_upload_allowed(p_user_id bigint,
    p_fiche_id bigint)
    returns api.response
    language sql stable
as $$
    select case
               when u.id is null or not u.active
                    or (u.role = 'client' and c.client_id is distinct from u.id)
                    or f.id is null
                   then api.not_found()
               when u.role = 'client'
                   then api.fail(403, 'forbidden',
                                 'Seuls les employés de CLO ajoutent des'
                                 || ' photos.')
               else api.reply(204)
           end
      from (select p_user_id as id) as asked
      left join chantier.users as u on u.id = asked.id
      left join chantier.fiches as f on f.id = p_fiche_id
      left join chantier.chantiers as c on c.id = f.id
$$;

-- Records the two renderings the module made of an upload.  Answers 201
-- {id, width, height} of the display rendering.  The photo shows nowhere
-- until a post embeds it: the fiche's version does not move.
--
-- Each upload first sweeps the photos left unused for 24 hours: a photo
-- only becomes unused through an upload that was never published, or an
-- edit that took it out (api.post_photos_set, posts.sql), so sweeping at
-- every upload removes them all, with no timer in the workers.
create or replace function api.photo_create(p_user_id bigint,
    p_fiche_id bigint,
    p_display_type text, p_display_width integer, p_display_height integer,
    p_display_hash text, p_display bytea,
    p_thumb_type text, p_thumb_width integer, p_thumb_height integer,
    p_thumb_hash text, p_thumb bytea)
    returns api.response
    language plpgsql
as $$
declare
    v_allowed  api.response := api.photo_upload_allowed(p_user_id, p_fiche_id);
    v_photo    chantier.photos;
begin
    if v_allowed.status <> 204 then
        return v_allowed;
    end if;

    perform api.photos_sweep();

    insert into chantier.photos (fiche_id, uploaded_by)
    values (p_fiche_id, p_user_id)
    returning * into v_photo;

    insert into chantier.photo_renderings
        (photo_id, size, content_type, width, height, hash, bytes)
    values
        (v_photo.id, 'display', p_display_type, p_display_width,
         p_display_height, p_display_hash, p_display),
        (v_photo.id, 'thumb', p_thumb_type, p_thumb_width, p_thumb_height,
         p_thumb_hash, p_thumb);

    return api.reply(201, jsonb_build_object(
                              'id', v_photo.id,
                              'width', p_display_width,
                              'height', p_display_height));
end
$$;

-- A rendering of photo p_photo_id for p_user_id, or no row: the fiche's
-- access rules (its client, employees, administrators, active accounts),
-- and a client sees only the photos of published posts.  Text columns and
-- the bytes, then what a worker keeps to answer the next reads of a
-- thumbnail itself (live/ngx_http_chantier_known.c): the fiche, its
-- version and client, whether the photo is in a post.  The module asks
-- for all of them in binary format.
create or replace function api.photo_read(p_user_id bigint,
    p_photo_id bigint, p_size text)
    returns table (content_type text, hash text, bytes bytea,
                   fiche_id text, fiche_version text, client_id text,
                   published text)
    language sql stable
as $$
    select r.content_type, r.hash, r.bytes,
           ph.fiche_id::text, f.version::text, c.client_id::text,
           (ph.post_id is not null)::text
      from chantier.photos as ph
      join chantier.photo_renderings as r
           on r.photo_id = ph.id and r.size = p_size
      join chantier.fiches as f on f.id = ph.fiche_id
      join chantier.chantiers as c on c.id = ph.fiche_id
      join chantier.users as u on u.id = p_user_id
     where ph.id = p_photo_id
       and u.active
       and (u.role in ('employee', 'admin')
            or (c.client_id = u.id and ph.post_id is not null))
$$;

-- Removes the photos that no post embeds p_age after their upload, and
-- answers how many.  Every upload calls it (above); so may a cron job or
-- a test.
create or replace function api.photos_sweep(p_age interval default '24 hours')
    returns bigint
    language sql
as $$
    with removed as (
        delete from chantier.photos as ph
         where ph.post_id is null
           and ph.uploaded_at < now() - p_age
        returning 1
    )
    select count(*) from removed
$$;

-- The renderings of the photos that the posts of fiche p_fiche_id show,
-- for its PDF export (the caller checked access): text columns and the
-- bytes, which the module asks for in binary format.
--
-- The display rendering (long edge 2,048 px) prints a photo sharply at any
-- size on A4; the thumbnail (480 px) is enough in a grid cell of a few
-- centimetres.  The worker holds all the bytes while libharu renders, so
-- the display renderings are taken, in the order of the photos, only while
-- they add up to 24 MB: past that, thumbnails.  An export then holds at
-- most 24 MB plus some 40 KB a photo, whatever the size of the fiche.
-- (p_display_budget: for a test.)
drop function if exists api.fiche_photos(bigint);

create or replace function api.fiche_photos(p_fiche_id bigint,
    p_display_budget bigint default 24 * 1024 * 1024)
    returns table (id text, content_type text, width text, height text,
                   bytes bytea)
    language sql stable
as $$
    with shown as (
        select ph.id,
               sum(length(d.bytes)) over (order by ph.id) as display_so_far
          from chantier.photos as ph
          join chantier.photo_renderings as d
               on d.photo_id = ph.id and d.size = 'display'
         where ph.fiche_id = p_fiche_id
           and ph.post_id is not null
    )
    select s.id::text, r.content_type, r.width::text, r.height::text,
           r.bytes
      from shown as s
      join chantier.photo_renderings as r
           on r.photo_id = s.id
          and r.size = case when s.display_so_far <= p_display_budget
                            then 'display' else 'thumb' end
     order by s.id
$$;
