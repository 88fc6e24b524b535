#!/usr/bin/perl
#
# Browser test of the account page (compte.html): t/e2e/compte.mjs drives
# Debian's Chromium through playwright-core.  This wrapper creates the
# client it logs in as through the admin API, hands it over in E2E_SETUP
# and lets node print the TAP.

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();

my $client = create_user(role => 'client', civility => 'Mme',
    first_name => 'Hélène', last_name => "Lefèvre $$",
    company => "Boulangerie $$",
    address => { line1 => '12 rue des Lilas', line2 => 'Bâtiment B',
                 postal_code => '69003', city => 'Lyon' },
    email => "helene-$$\@example.test", phone => '06 11 22 33 44',
    notify => { posts => 'email', comments => 'sms' });

$ENV{E2E_SETUP} = json_encode({
    url    => $ChantierTest::URL,
    var    => var_dir(),
    client => { login => $client->{login},
                password => $client->{password},
                last_name => "Lefèvre $$",
                company => "Boulangerie $$",
                client_number => $client->{client_number},
                email => "helene-$$\@example.test" },
});

exec 'node', "$repo/t/e2e/compte.mjs"
    or die "cannot run node: $!\n";
