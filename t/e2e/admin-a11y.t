#!/usr/bin/perl
#
# Browser test of the admin pages' accessibility: t/e2e/admin-a11y.mjs
# walks the admin forms with the keyboard only and runs axe-core on every
# admin page and on "Mes contrats".  This wrapper makes an administrator,
# a client with a chantier and a contract (something for each page to
# show) and one dead-lettered notification for the journal's page.

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();
my $admin = create_user(role => 'admin');

my $client = create_user(role => 'client', first_name => 'Hélène',
                         last_name => "Lecteur $$");
my $ch = create_chantier(client_id => $client->{id},
                         title => "Extension bois $$");
my ($e) = client_for(role => 'employee');
publish($e, $ch->{id}, 'Pour la notification');
psql("update chantier.notifications set state = 'dead', attempts = 3,"
     . " sent_at = null,"
     . " last_error = 'smtp: authentication failed (535)'"
     . " where fiche_id = $ch->{id}");

my $r = admin_client()->api(POST => "admin/users/$client->{id}/contracts"
                                    . "?title=Devis&signed_on=2026-02-10",
                            "%PDF-1.4\n%%EOF\n",
                            content_type => 'application/pdf');
$r->{status} == 201 or die "contract upload: $r->{status} $r->{raw}";

$ENV{E2E_SETUP} = json_encode({
    url    => $ChantierTest::URL,
    var    => var_dir(),
    pid    => $$,
    code   => $ch->{chantier_id},
    admin  => { login => $admin->{login}, password => $admin->{password} },
    client => { login => $client->{login}, password => $client->{password},
                name => "Lecteur $$" },
});

exec 'node', "$repo/t/e2e/admin-a11y.mjs"
    or die "cannot run node: $!\n";
