-- Demo data, loaded by "make run" only: never in production.
--
-- Four accounts, all with the password "chantier-demo" (each its own scrypt
-- hash, made with chantier_password_hash):
--     admin   administrator
--     marie   employee
--     dupont  client with two chantiers
--     martin  client with one chantier
--
-- Loading it twice changes nothing: every insert skips what exists.
-- Posts, photos and comments come with the migration that creates them.

begin;

insert into chantier.users
    (role, login, civility, first_name, last_name, company, client_number,
     address_line1, address_line2, postal_code, city, email, phone,
     notify_posts, notify_comments, password_hash)
values
    ('admin', 'admin', 'Mme', 'Claire', 'Lefèvre', null, null,
     null, null, null, null, 'claire.lefevre@clo-renovation.fr',
     '06 11 22 33 44', 'none', 'none',
     '$scrypt$ln=14,r=8,p=1$eXpXgS/5B2Uy8QC4dl0J8A==$3NO6z2tIpiSeX/7bKx5m9MzZ+5souuJW3JKSSSWQ4YY='),

    ('employee', 'marie', 'Mme', 'Marie', 'Rousseau', null, null,
     null, null, null, null, 'marie.rousseau@clo-renovation.fr',
     '06 45 67 89 01', 'email', 'email',
     '$scrypt$ln=14,r=8,p=1$ktd3hLA+c0H9d7loElJxDg==$YksTwKKJ2BKguXb7T0Q6h9dodGk+A+bpdBmM0iY5jJk='),

    ('client', 'dupont', 'M.', 'Jean', 'Dupont', null, 'C-0001',
     '12 rue de la Roquette', 'Bâtiment B, 3e étage', '75011', 'Paris',
     'jean.dupont@exemple.fr', '06 12 34 56 78', 'email', 'sms',
     '$scrypt$ln=14,r=8,p=1$m8hn+qine2qqKi7BQ9VO5w==$1va0IREsn1CZvuxclpJG7HDtlm34rcPT+dVwNiGURHU='),

    ('client', 'martin', 'Mme', 'Hélène', 'Martin', 'Boulangerie Martin',
     'C-0002', '4 place du Marché', null, '69002', 'Lyon',
     'helene.martin@exemple.fr', '07 98 76 54 32', 'email', 'email',
     '$scrypt$ln=14,r=8,p=1$ZgZi4zrxNzCQhPSbSrr2hg==$Ea2WBCz7aMtWsk6Cz4i2bVkR4PD81oKatLI0AbRnNww=')
on conflict (login) do nothing;


insert into chantier.chantiers
    (code, title, client_id, start_date, planned_end_date)
select c.code, c.title, u.id, c.start_date, c.planned_end_date
  from (values
           ('CH-2026-0042', 'Rénovation cuisine', 'dupont',
            date '2026-03-02', date '2026-05-29'),
           ('CH-2026-0057', 'Salle de bains : douche à l''italienne',
            'dupont', date '2026-09-14', date '2026-10-30'),
           ('CH-2026-0031', 'Réfection de la devanture et du fournil',
            'martin', date '2026-01-12', date '2026-04-24'))
       as c (code, title, login, start_date, planned_end_date)
  join chantier.users as u on u.login = c.login
 order by c.code
on conflict (code) do nothing;


insert into chantier.fiches (id)
select c.id
  from chantier.chantiers as c
 where c.code in ('CH-2026-0042', 'CH-2026-0057', 'CH-2026-0031')
on conflict (id) do nothing;

commit;
