-- api.photo_get gave way to api.photo_read (db/api/photos.sql), which
-- also answers what a worker keeps to serve the next reads of a thumbnail.
drop function if exists api.photo_get(bigint, bigint, text);
