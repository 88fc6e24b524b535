#!/usr/bin/perl
#
# Browser test of the fiche page (issue 3): t/e2e/fiche.mjs drives Debian's
# Chromium through playwright-core (npm, installed by make).  This wrapper
# creates what the scenario needs through the admin API (an employee, a
# client, one chantier per mount point: "/" and "/espace-client/"), hands
# it over in E2E_SETUP and lets node print the TAP.

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();

my $employee = create_user(role => 'employee', civility => 'Mme',
    first_name => 'Marie', last_name => "Rousseau $$");
my $client = create_user(role => 'client', civility => 'M.',
    first_name => 'Jean', last_name => "Dupont $$");
my $other = create_user(role => 'client', civility => 'Mme',
    first_name => 'Hélène', last_name => "Martin $$");

my %fiches;

for my $mount ('root', 'prefix') {
    my $code = uc "CH-E2E-$$-$mount";
    my $fiche = create_chantier(
        chantier_id      => $code,
        title            => "Rénovation de la cuisine ($mount)",
        client_id        => $client->{id},
        start_date       => '2026-11-02',
        planned_end_date => '2036-01-29',
    );
    $fiches{$mount} = { id => $fiche->{id}, code => $code };
}

$ENV{E2E_SETUP} = json_encode({
    url      => $ChantierTest::URL,
    var      => var_dir(),
    employee => { login => $employee->{login},
                  password => $employee->{password},
                  name => "Mme Marie Rousseau $$" },
    client   => { login => $client->{login},
                  password => $client->{password},
                  name => "M. Jean Dupont $$", id => $client->{id} },
    other    => { login => $other->{login},
                  password => $other->{password} },
    fiches   => \%fiches,
});

exec 'node', "$repo/t/e2e/fiche.mjs"
    or die "cannot run node: $!\n";
