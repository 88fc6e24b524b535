-- Contracts as their client reads them: GET /api/contracts and GET
-- /api/contracts/{id}/file.  The administrators' side (upload, list,
-- delete) is in admin.sql.

-- A contract without its file.
create or replace function api.contract_json(p_contract chantier.contracts)
    returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'id', p_contract.id,
        'title', p_contract.title,
        'signed_on', api.iso_date(p_contract.signed_on),
        'size', p_contract.size,
        'uploaded_at', api.iso_time(p_contract.uploaded_at))
$$;

-- The contracts of client p_user_id, the latest signed first.
create or replace function api.contracts_list(p_user_id bigint)
    returns api.response
    language sql stable
as $$
    select api.reply(200, coalesce(
               jsonb_agg(api.contract_json(c)
                         order by c.signed_on desc, c.id desc),
               '[]'))
      from chantier.contracts as c
      join chantier.users as u on u.id = c.client_id
     where c.client_id = p_user_id
       and u.active
$$;

-- The file of contract p_id, for its client only: no row for anybody
-- else (404, whether it exists or not).
create or replace function api.contract_file(p_user_id bigint, p_id bigint)
    returns table (file_name text, sha256 text, bytes bytea)
    language sql stable
as $$
    select format('contrat-%s-%s.pdf', c.id, api.iso_date(c.signed_on)),
           c.sha256, c.bytes
      from chantier.contracts as c
      join chantier.users as u on u.id = c.client_id
     where c.id = p_id
       and c.client_id = p_user_id
       and u.active
$$;
