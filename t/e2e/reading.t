#!/usr/bin/perl
#
# Browser test of the fiche as its readers use it (issue 10):
# t/e2e/reading.mjs reads the big fiche (db/fixtures/big_fiche.sql: 200
# posts, 1,000 comments) newest first, a screenful at a time, in the other
# order, with the banner of a post arriving live; logging in comes back to
# the page asked for and never leaves the site; a session ended elsewhere
# keeps a typed comment; a late chantier says "En retard"; axe-core finds
# no serious or critical violation.  This wrapper creates the users and
# the fiches and hands them over in E2E_SETUP; node prints the TAP.

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();

my $employee = create_user(role => 'employee', civility => 'Mme',
    first_name => 'Marie', last_name => "Rousseau $$");
my $admin = create_user(role => 'admin', civility => 'M.',
    first_name => 'Paul', last_name => "Admin $$");
my $client = create_user(role => 'client', civility => 'M.',
    first_name => 'Jean', last_name => "Dupont $$");

# the big fiche: 200 posts, one per working day from its start, the last
# one finishing the chantier; all in the past, so that a post published
# now is the newest
my $big = create_chantier(client_id => $client->{id},
    title => "Maison individuelle $$",
    start_date => '2025-01-06', planned_end_date => '2025-12-19');
psql("\\set fiche $big->{id}\n\\i $repo/db/fixtures/big_fiche.sql\n");

# a late chantier: its planned end three days ago (set before anybody
# read the fiche, so that no rendering of it is cached)
my $late = create_chantier(client_id => $client->{id},
    title => "Ravalement de façade $$",
    start_date => '2026-01-05', planned_end_date => '2036-06-30');
psql("update chantier.chantiers set planned_end_date = current_date - 3"
     . " where id = $late->{id}");

# a small one, for the comments and the focus
my $small = create_chantier(client_id => $client->{id},
    title => "Salle de bains $$",
    start_date => '2026-01-05', planned_end_date => '2036-06-30');

$ENV{E2E_SETUP} = json_encode({
    url      => $ChantierTest::URL,
    var      => var_dir(),
    repo     => $repo,
    employee => { login => $employee->{login},
                  password => $employee->{password},
                  name => "Mme Marie Rousseau $$" },
    admin    => { login => $admin->{login},
                  password => $admin->{password} },
    client   => { login => $client->{login},
                  password => $client->{password},
                  name => "M. Jean Dupont $$" },
    fiches   => { big => $big->{id}, late => $late->{id},
                  small => $small->{id} },
});

exec 'node', "$repo/t/e2e/reading.mjs"
    or die "cannot run node: $!\n";
