-- Demo data, loaded by "make run" only: never in production.
--
-- Four accounts, all with the password "chantier-demo" (each its own scrypt
-- hash, made with chantier_password_hash):
--     admin   administrator
--     marie   employee
--     dupont  client with two chantiers
--     martin  client with one chantier
--
-- Their fiches tell the story of the work:
--     CH-2026-0042  dupont's kitchen: finished; one post cancelled, one
--                   edited, threads of comments up to four levels
--     CH-2026-0057  dupont's bathroom: in progress, a delivery delayed
--     CH-2026-0031  martin's shop front and bakehouse: finished
-- Posts are written by marie (one by admin) with formatting: headings,
-- bold, italic, underline, lists, links.  Photos come with their migration.
--
-- Loading it twice changes nothing: every insert skips what exists, and a
-- fiche that already has posts gets no new ones.

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


-- Posts and comments.  Written straight into the tables, with the dates of
-- the story; each fiche then records the change once (api.fiche_changed),
-- which sets its version and its status.

-- Post p_body on the fiche of chantier p_code, by p_login, at p_at.
create function pg_temp.post(p_code text, p_login text, p_at timestamptz,
    p_body jsonb, p_finishing boolean default false,
    p_cancelled boolean default false, p_edited_at timestamptz default null)
    returns bigint
    language sql
as $$
    insert into chantier.posts
        (fiche_id, author_id, changed_by, body, finishing, cancelled,
         notify_client, created_at, edited_at)
    select c.id, u.id, u.id, p_body, p_finishing, p_cancelled, true, p_at,
           p_edited_at
      from chantier.chantiers as c, chantier.users as u
     where c.code = p_code and u.login = p_login
    returning id
$$;

-- Comment p_body on post p_post by p_login, p_minutes after the post;
-- a reply when p_parent is given.
create function pg_temp.comment(p_post bigint, p_login text,
    p_minutes integer, p_body text, p_parent bigint default null)
    returns bigint
    language sql
as $$
    insert into chantier.comments
        (post_id, parent_id, author_id, body, created_at)
    select p.id, p_parent, u.id, p_body,
           p.created_at + p_minutes * interval '1 minute'
      from chantier.posts as p, chantier.users as u
     where p.id = p_post and u.login = p_login
    returning id
$$;


-- CH-2026-0042, dupont's kitchen: finished on 27 May.
do $demo$
declare
    v_fiche  bigint;
    v_post   bigint;
    v_c1     bigint;
    v_c2     bigint;
    v_c3     bigint;
begin
    select c.id into v_fiche
      from chantier.chantiers as c where c.code = 'CH-2026-0042';

    if exists (select from chantier.posts as p where p.fiche_id = v_fiche)
    then
        return;
    end if;

    v_post := pg_temp.post('CH-2026-0042', 'marie',
        '2026-03-02 17:30+01', $j${"ops": [
        {"insert": "Démarrage du chantier"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "Bonjour Monsieur Dupont,\nL’équipe est intervenue ce matin pour la "},
        {"insert": "dépose de l’ancienne cuisine", "attributes": {"bold": true}},
        {"insert": ". Tout s’est bien passé :\n"},
        {"insert": "meubles hauts et bas démontés et évacués en déchetterie"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "évier, mitigeur et plan de travail déposés"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "parquet du séjour protégé par un carton épais"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "Demain : "},
        {"insert": "piquage de l’ancienne faïence", "attributes": {"italic": true}},
        {"insert": ". Prévoyez un peu de bruit entre 9 h et 12 h.\n"}]}$j$);

    v_c1 := pg_temp.comment(v_post, 'dupont', 95,
        'Merci pour ce compte rendu ! Pensez à couper l’eau au robinet du'
        || ' palier : celui sous l’évier fuyait un peu.');
    v_c2 := pg_temp.comment(v_post, 'marie', 130,
        'C’est fait. Le plombier a aussi posé une vanne d’arrêt neuve sous'
        || ' le futur évier.', v_c1);
    perform pg_temp.comment(v_post, 'dupont', 150,
        'Parfait, merci beaucoup.', v_c2);

    v_post := pg_temp.post('CH-2026-0042', 'marie',
        '2026-03-06 18:05+01', $j${"ops": [
        {"insert": "Plomberie et électricité"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "Les réseaux sont en place, conformément au plan validé ensemble :\n"},
        {"insert": "arrivée d’eau et évacuation déplacées de 80 cm vers la fenêtre"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
        {"insert": "ligne dédiée de 32 A pour la plaque à induction"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
        {"insert": "six prises sur la crédence, à 1,10 m du sol"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
        {"insert": "Le tableau est désormais conforme à la norme "},
        {"insert": "NF C 15-100", "attributes": {"link": "https://www.clo-renovation.fr/guides/norme-nf-c-15-100"}},
        {"insert": ". "},
        {"insert": "Aucune surprise derrière les cloisons", "attributes": {"bold": true}},
        {"insert": " : le planning est tenu.\n"}]}$j$);

    v_c1 := pg_temp.comment(v_post, 'dupont', 40,
        'Serait-il possible d’ajouter une prise avec USB près de la'
        || ' fenêtre ? Pour recharger les téléphones.');
    v_c2 := pg_temp.comment(v_post, 'marie', 75,
        'Oui : une prise double avec USB-C, 45 € HT posée. Je vous envoie'
        || E' l’avenant par e-mail.\nL’électricien peut la poser jeudi.', v_c1);
    v_c3 := pg_temp.comment(v_post, 'dupont', 200,
        'D’accord pour l’avenant, je vous le renvoie signé ce soir.', v_c2);
    perform pg_temp.comment(v_post, 'marie', 260,
        'Bien reçu, merci. C’est noté pour jeudi.', v_c3);

    -- announced, then undone: the tiles had to come off again
    v_post := pg_temp.post('CH-2026-0042', 'marie',
        '2026-03-12 17:45+01', $j${"ops": [
        {"insert": "Crédence posée"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "Les carreaux de la crédence (zellige blanc 10 × 10) sont posés. Les joints seront faits "},
        {"insert": "lundi", "attributes": {"bold": true}},
        {"insert": ", après séchage de la colle.\n"}]}$j$,
        p_cancelled => true);

    v_c1 := pg_temp.comment(v_post, 'marie', 1080,
        'J’annule cette publication : en contrôlant la pose ce matin, nous'
        || ' avons vu qu’un lot de carreaux avait un défaut d’émail. Tout'
        || ' est déposé, la crédence sera reposée la semaine prochaine avec'
        || ' un lot neuf, sans frais pour vous.');
    perform pg_temp.comment(v_post, 'dupont', 1140,
        'Merci de nous avoir prévenus, et bravo pour le contrôle.', v_c1);

    -- edited the same evening: the size of the grout joint was wrong
    v_post := pg_temp.post('CH-2026-0042', 'marie',
        '2026-03-19 18:20+01', $j${"ops": [
        {"insert": "Crédence reposée"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "La crédence a été reposée avec le nouveau lot de zellige. Joints de "},
        {"insert": "2 mm", "attributes": {"bold": true}},
        {"insert": ", couleur "},
        {"insert": "gris perle", "attributes": {"italic": true}},
        {"insert": " comme convenu.\n"},
        {"insert": "Merci de ne rien fixer au mur pendant 48 heures.", "attributes": {"underline": true}},
        {"insert": "\n"}]}$j$,
        p_edited_at => '2026-03-19 19:05+01');

    perform pg_temp.comment(v_post, 'dupont', 180,
        'Beaucoup mieux que le premier lot, c’est superbe.');

    v_post := pg_temp.post('CH-2026-0042', 'marie',
        '2026-04-10 17:10+02', $j${"ops": [
        {"insert": "Meubles et plan de travail"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "Les meubles sont posés et réglés. Le plan de travail en "},
        {"insert": "quartz", "attributes": {"bold": true}},
        {"insert": " a été livré et ajusté sur place.\n"},
        {"insert": "Reste à faire"},
        {"insert": "\n", "attributes": {"header": 3}},
        {"insert": "raccordement de l’évier et du lave-vaisselle"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "pose de la hotte et des plinthes"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "retouches de peinture"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "L’entretien du quartz est expliqué sur la "},
        {"insert": "fiche du fabricant", "attributes": {"link": "https://www.clo-renovation.fr/guides/entretien-quartz"}},
        {"insert": ".\n"}]}$j$);

    v_c1 := pg_temp.comment(v_post, 'dupont', 300,
        'Les portes du meuble d’angle frottent un peu en bas, est-ce'
        || ' normal ?');
    perform pg_temp.comment(v_post, 'marie', 960,
        E'Ce n’est qu’un réglage de charnières.\nLe menuisier s’en occupe'
        || ' mardi en posant les plinthes.', v_c1);

    v_post := pg_temp.post('CH-2026-0042', 'marie',
        '2026-05-27 16:00+02', $j${"ops": [
        {"insert": "Fin du chantier"},
        {"insert": "\n", "attributes": {"header": 1}},
        {"insert": "La réception des travaux a eu lieu ce matin, "},
        {"insert": "sans réserve", "attributes": {"bold": true}},
        {"insert": ". Merci pour votre accueil pendant ces trois mois.\n"},
        {"insert": "Vos garanties (parfait achèvement, biennale, décennale) sont rappelées dans votre espace client. Pour toute question : "},
        {"insert": "sav@clo-renovation.fr", "attributes": {"link": "mailto:sav@clo-renovation.fr"}},
        {"insert": ".\n"}]}$j$,
        p_finishing => true);

    v_c1 := pg_temp.comment(v_post, 'dupont', 120,
        'Merci à toute l’équipe, la cuisine est magnifique !');
    perform pg_temp.comment(v_post, 'marie', 150,
        'Merci à vous, bonne cuisine !', v_c1);

    perform api.fiche_changed(v_fiche);
end
$demo$;


-- CH-2026-0057, dupont's bathroom: in progress, delayed by a delivery.
do $demo$
declare
    v_fiche  bigint;
    v_post   bigint;
    v_c1     bigint;
    v_c2     bigint;
begin
    select c.id into v_fiche
      from chantier.chantiers as c where c.code = 'CH-2026-0057';

    if exists (select from chantier.posts as p where p.fiche_id = v_fiche)
    then
        return;
    end if;

    v_post := pg_temp.post('CH-2026-0057', 'marie',
        '2026-09-14 17:00+02', $j${"ops": [
        {"insert": "Dépose de la baignoire"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "La baignoire, le lavabo et la faïence sont déposés. Le sol est sain : "},
        {"insert": "pas de reprise de chape à prévoir", "attributes": {"bold": true}},
        {"insert": ".\nLa salle de bains n’a plus d’eau jusqu’à vendredi ; le WC reste en service.\n"}]}$j$);

    perform pg_temp.comment(v_post, 'dupont', 60,
        'Bien noté, merci.');

    v_post := pg_temp.post('CH-2026-0057', 'marie',
        '2026-09-25 18:15+02', $j${"ops": [
        {"insert": "Receveur extra-plat et étanchéité"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "Pour la douche à l’italienne :\n"},
        {"insert": "receveur à carreler posé, pente de 2 % vers le caniveau"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
        {"insert": "système d’étanchéité liquide sous carrelage (SPEC), deux couches"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
        {"insert": "essai en eau pendant 24 heures : aucune fuite"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
        {"insert": "Le carrelage commence lundi. "},
        {"insert": "Pensez à valider la couleur des joints", "attributes": {"underline": true}},
        {"insert": " d’ici là.\n"}]}$j$);

    v_c1 := pg_temp.comment(v_post, 'dupont', 90,
        'La pente suffira-t-elle pour que l’eau ne stagne pas près de la'
        || ' porte ?');
    v_c2 := pg_temp.comment(v_post, 'marie', 150,
        'Oui : 2 % sur 1,20 m, et le caniveau est côté mur. La zone près'
        || ' de la porte reste sèche.', v_c1);
    perform pg_temp.comment(v_post, 'dupont', 170,
        E'Très bien.\nPour les joints : gris clair, comme sur l’échantillon.',
        v_c2);

    v_post := pg_temp.post('CH-2026-0057', 'marie',
        '2026-10-28 11:30+01', $j${"ops": [
        {"insert": "Retard de livraison"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "Le fournisseur nous annonce le "},
        {"insert": "meuble vasque", "attributes": {"bold": true}},
        {"insert": " pour le "},
        {"insert": "2 décembre", "attributes": {"bold": true, "underline": true}},
        {"insert": " au lieu du 26 octobre. Nous en sommes désolés.\nEn attendant, nous terminons le carrelage, la paroi vitrée et le sèche-serviettes. "},
        {"insert": "Un lavabo provisoire sera raccordé vendredi.", "attributes": {"italic": true}},
        {"insert": "\n"}]}$j$);

    v_c1 := pg_temp.comment(v_post, 'dupont', 45,
        'Dommage, mais merci pour le lavabo provisoire. Pouvez-vous nous'
        || ' confirmer la date dès que possible ?');
    perform pg_temp.comment(v_post, 'marie', 1500,
        'Date confirmée ce matin par le fournisseur : livraison le 2'
        || ' décembre, pose le 3.', v_c1);

    perform api.fiche_changed(v_fiche);
end
$demo$;


-- CH-2026-0031, martin's shop front and bakehouse: finished on 22 April.
do $demo$
declare
    v_fiche  bigint;
    v_post   bigint;
    v_c1     bigint;
begin
    select c.id into v_fiche
      from chantier.chantiers as c where c.code = 'CH-2026-0031';

    if exists (select from chantier.posts as p where p.fiche_id = v_fiche)
    then
        return;
    end if;

    v_post := pg_temp.post('CH-2026-0031', 'marie',
        '2026-01-12 16:40+01', $j${"ops": [
        {"insert": "Installation du chantier"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "L’échafaudage est monté devant la boutique, avec un passage protégé pour vos clients. "},
        {"insert": "La boulangerie reste ouverte pendant toute la durée des travaux de devanture.", "attributes": {"bold": true}},
        {"insert": "\n"}]}$j$);

    v_c1 := pg_temp.comment(v_post, 'martin', 30,
        'Merci. Les livraisons de farine arrivent le mardi à 6 h par la'
        || ' cour : le passage restera-t-il libre ?');
    perform pg_temp.comment(v_post, 'marie', 55,
        'Oui, rien n’est stocké dans la cour. Le portail reste libre.', v_c1);

    v_post := pg_temp.post('CH-2026-0031', 'admin',
        '2026-02-20 17:20+01', $j${"ops": [
        {"insert": "Fournil"},
        {"insert": "\n", "attributes": {"header": 2}},
        {"insert": "Le sol du fournil est refait en "},
        {"insert": "carrelage antidérapant R11", "attributes": {"bold": true}},
        {"insert": ", avec plinthes à gorge pour faciliter le nettoyage. La hotte du four a été déplacée et raccordée.\n"}]}$j$);

    v_post := pg_temp.post('CH-2026-0031', 'marie',
        '2026-04-22 18:00+02', $j${"ops": [
        {"insert": "Chantier terminé"},
        {"insert": "\n", "attributes": {"header": 1}},
        {"insert": "La nouvelle devanture est posée et l’enseigne raccordée. La réception a eu lieu ce soir "},
        {"insert": "sans réserve", "attributes": {"bold": true}},
        {"insert": ".\nMerci Madame Martin, et longue vie à la boulangerie !\n"}]}$j$,
        p_finishing => true);

    v_c1 := pg_temp.comment(v_post, 'martin', 90,
        'Merci à vous ! Les clients adorent la nouvelle vitrine.');
    perform pg_temp.comment(v_post, 'marie', 120,
        'Avec plaisir. Passez nous voir pour les croissants !', v_c1);

    perform api.fiche_changed(v_fiche);
end
$demo$;

commit;
