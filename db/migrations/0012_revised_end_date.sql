-- A chantier that runs late keeps its planned end, the date agreed at the
-- start, and gets a revised one that administrators set: the fiche shows
-- both, and "En retard" once the later of the two has passed.

alter table chantier.chantiers
    add column revised_end_date date,
    add constraint chantiers_revised_end_after_start
        check (revised_end_date >= start_date);
