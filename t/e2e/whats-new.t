#!/usr/bin/perl
#
# Browser test of "what's new for me" on the fiche page (issue 14) and of
# the leftovers of issue 10: t/e2e/whats-new.mjs opens one fiche as its
# client and as an employee in two browser contexts: "Nouveau" on exactly
# the posts and comments others wrote since the client's last visit,
# "Aller à la première nouveauté" (past the first screenful), who else is
# looking ("… (CLO) consulte cette fiche"); an employee's edit kept
# through the end of the session; the newest post in an employee's first
# screen at 360 px.  This wrapper creates the users and the fiches (the
# first one with more posts than a screenful, all written before anybody
# opens it) and hands them over in E2E_SETUP; node prints the TAP.

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

my $staff = client();
my $r = $staff->login($employee->{login}, $employee->{password});
$r->{status} == 200 or die "employee login: $r->{status} $r->{raw}\n";

# what's new: 14 posts (more than the 10 of the first screenful), the
# oldest with a comment by the employee
my $news = create_chantier(client_id => $client->{id},
    title => "Extension de la maison $$",
    start_date => '2026-01-05', planned_end_date => '2036-06-30');
my @posts = map { publish($staff, $news->{id}, "Étape $_ du chantier.",
                          notify_client => \0) } 1 .. 14;
$r = $staff->api(POST => "posts/$posts[0]{id}/comments",
    { body => 'Les fondations sont sèches.' });
$r->{status} == 201 or die "comment: $r->{status} $r->{raw}\n";

# an edit kept through the end of the session
my $edit = create_chantier(client_id => $client->{id},
    title => "Salle de bains $$",
    start_date => '2026-01-05', planned_end_date => '2036-06-30');
my $edited = publish($staff, $edit->{id}, 'Dépose de la baignoire.',
                     notify_client => \0);

# the first screen of an employee's phone
my $phone = create_chantier(client_id => $client->{id},
    title => "Ravalement de façade $$",
    start_date => '2026-01-05', planned_end_date => '2036-06-30');
publish($staff, $phone->{id}, "Échafaudage monté, côté rue.\nBâches posées.",
        notify_client => \0) for 1 .. 3;

$ENV{E2E_SETUP} = json_encode({
    url      => $ChantierTest::URL,
    var      => var_dir(),
    repo     => $repo,
    pid      => $$,
    employee => { login => $employee->{login},
                  password => $employee->{password},
                  id => $employee->{id},
                  name => user_name($employee) },
    client   => { login => $client->{login},
                  password => $client->{password},
                  id => $client->{id},
                  name => user_name($client) },
    fiches   => { news => $news->{id}, edit => $edit->{id},
                  phone => $phone->{id} },
    posts    => { oldest => $posts[0]{id}, newest => $posts[-1]{id},
                  edited => $edited->{id} },
});

exec 'node', "$repo/t/e2e/whats-new.mjs"
    or die "cannot run node: $!\n";
