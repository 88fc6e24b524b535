#!/usr/bin/perl
#
# Browser test of "Mes contrats" (contrats.html): t/e2e/contrats.mjs drives
# Debian's Chromium.  This wrapper creates a client and uploads two
# contracts for them through the admin API, and for the round trip through
# the pages an administrator and a client without any contract.

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();
my $admin = admin_client();

my $client = create_user(role => 'client', first_name => 'Lucie',
                         last_name => "Contrat $$");
my $pdf = "%PDF-1.4\n" . ('x' x 3000) . "\n%%EOF\n";

for my $c (['Devis signé', '2026-02-10'], ['Avenant n°1', '2026-04-22']) {
    my ($title, $day) = @$c;
    utf8::encode(my $t = $title);
    $t =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    my $r = $admin->api(POST => "admin/users/$client->{id}/contracts"
                                . "?title=$t&signed_on=$day", $pdf,
                        content_type => 'application/pdf');
    $r->{status} == 201 or die "contract upload: $r->{status} $r->{raw}";
}

my $admin_user = create_user(role => 'admin');
my $fresh = create_user(role => 'client', first_name => 'Bruno',
                        last_name => "Allerretour $$");

$ENV{E2E_SETUP} = json_encode({
    url    => $ChantierTest::URL,
    var    => var_dir(),
    pid    => $$,
    size   => length $pdf,
    client => { login => $client->{login},
                password => $client->{password} },
    admin  => { login => $admin_user->{login},
                password => $admin_user->{password} },
    fresh  => { login => $fresh->{login}, password => $fresh->{password},
                name => "Allerretour $$" },
});

exec 'node', "$repo/t/e2e/contrats.mjs"
    or die "cannot run node: $!\n";
