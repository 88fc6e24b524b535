#!/usr/bin/perl
#
# Browser test of the live fiche (issue 4): t/e2e/live.mjs opens the same
# fiche as an employee and as the client in two browser contexts and
# checks that each sees the other's changes without reloading, while what
# they are typing stays untouched.  This wrapper creates the users and one
# fiche per mount point through the admin API and hands them over in
# E2E_SETUP; node prints the TAP.

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();

my $employee = create_user(role => 'employee', civility => 'M.',
    first_name => 'Luc', last_name => "Garnier $$");
my $client = create_user(role => 'client', civility => 'Mme',
    first_name => 'Claire', last_name => "Lefèvre $$");

my %fiches;

for my $mount ('root', 'prefix') {
    my $code = uc "CH-LIVE-$$-$mount";
    my $fiche = create_chantier(
        chantier_id      => $code,
        title            => "Extension de la maison ($mount)",
        client_id        => $client->{id},
        start_date       => '2026-11-02',
        planned_end_date => '2027-03-31',
    );
    $fiches{$mount} = { id => $fiche->{id}, code => $code };
}

$ENV{E2E_SETUP} = json_encode({
    url      => $ChantierTest::URL,
    var      => var_dir(),
    repo     => $repo,
    employee => { login => $employee->{login},
                  password => $employee->{password},
                  name => "M. Luc Garnier $$" },
    client   => { login => $client->{login},
                  password => $client->{password},
                  name => "Mme Claire Lefèvre $$", id => $client->{id} },
    fiches   => \%fiches,
});

exec 'node', "$repo/t/e2e/live.mjs"
    or die "cannot run node: $!\n";
