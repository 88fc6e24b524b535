#!/usr/bin/perl
#
# Browser test of the photos of a post (SPEC §3): t/e2e/photos.mjs drives
# Debian's Chromium through playwright-core, once at a desktop's width and
# once on a 360 px touch screen.  This wrapper creates what the scenario
# needs through the admin API (an employee, a client, one chantier per
# width), hands it over in E2E_SETUP and lets node print the TAP.  The
# photos themselves are drawn by the test, in the browser.

use strict;
use warnings;
use utf8;

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();

my $employee = create_user(role => 'employee', civility => 'M.',
    first_name => 'Paul', last_name => "Mercier $$");
my $client = create_user(role => 'client', civility => 'Mme',
    first_name => 'Sophie', last_name => "Bernard $$");

# photos the browser must not take at face value, made by the tool of
# t/72-photos.t (libvips): EXIF orientation 6 with a GPS position, and a
# JPEG cut in the middle
my $tool = "$repo/build/chantier-test-image";
my $dir = var_dir() . '/e2e-photos';
my %images;

mkdir $dir;
for ([rotated => 'orientation6-gps', 'rotated.jpg'],
     [truncated => 'truncated', 'truncated.jpg'])
{
    my ($name, $kind, $file) = @$_;

    if (-x $tool && system($tool, $kind, "$dir/$file") == 0) {
        $images{$name} = "$dir/$file";
    }
}

my %fiches;

for my $width ('desktop', 'phone') {
    my $code = uc "CH-PHOTO-$$-$width";
    my $fiche = create_chantier(
        chantier_id      => $code,
        title            => "Salle de bains ($width)",
        client_id        => $client->{id},
        start_date       => '2026-11-02',
        planned_end_date => '2027-02-26',
    );
    $fiches{$width} = { id => $fiche->{id}, code => $code };
}

$ENV{E2E_SETUP} = json_encode({
    url      => $ChantierTest::URL,
    var      => var_dir(),
    employee => { login => $employee->{login},
                  password => $employee->{password},
                  id => $employee->{id} },
    client   => { login => $client->{login},
                  password => $client->{password},
                  id => $client->{id} },
    fiches   => \%fiches,
    images   => \%images,
});

exec 'node', "$repo/t/e2e/photos.mjs"
    or die "cannot run node: $!\n";
