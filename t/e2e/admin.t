#!/usr/bin/perl
#
# Browser test of the admin pages (admin*.html): t/e2e/admin.mjs drives
# Debian's Chromium as an administrator.  This wrapper makes the accounts
# it needs and one dead-lettered notification for "Renvoyer".

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();
my $admin = create_user(role => 'admin');

my $client = create_user(role => 'client');
my $employee = create_user(role => 'employee');
my $ch = create_chantier(client_id => $client->{id});
my ($e) = client_for(role => 'employee');
publish($e, $ch->{id}, 'Pour la notification');
psql("update chantier.notifications set state = 'dead', attempts = 3,"
     . " sent_at = null,"
     . " last_error = 'smtp: authentication failed (535)'"
     . " where fiche_id = $ch->{id}");

$ENV{E2E_SETUP} = json_encode({
    url      => $ChantierTest::URL,
    var      => var_dir(),
    pid      => $$,
    code     => $ch->{chantier_id},
    admin    => { login => $admin->{login}, password => $admin->{password} },
    employee => { login => $employee->{login},
                  password => $employee->{password} },
});

exec 'node', "$repo/t/e2e/admin.mjs"
    or die "cannot run node: $!\n";
