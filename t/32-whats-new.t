# What's new for me (issue 14, SPEC sections 3 and 5): PUT fiches/{id}/seen
# records a user's visit and answers the previous one; the lists of fiches
# count the posts and comments by others since that visit, never one's own
# and never deleted ones.  The fiche document itself stays the same for
# everybody.

use strict;
use warnings;
use utf8;

use Test::More;

use lib 't/lib';
use ChantierTest;

my ($c, $u) = client_for(role => 'client');
my ($other) = client_for(role => 'client');
my ($e) = client_for(role => 'employee');
my $f = create_chantier(client_id => $u->{id});
my $fid = $f->{id};

sub unread {
    my ($client, %q) = @_;
    my $r = $client->api(GET => 'fiches' . ($q{code} ? "?chantier=$q{code}" : ''));
    my ($s) = grep { $_->{id} == $fid } @{ $r->{json} // [] };
    return $s ? "$s->{unread_posts}|$s->{unread_comments}" : 'none';
}

is unread($c), '0|0', 'a new fiche: nothing';

my $p1 = publish($e, $fid, 'Première');
my $p2 = publish($e, $fid, 'Deuxième');
is $c->api(POST => "posts/$p1->{id}/comments", { body => 'Moi' })->{status},
    201, 'the client comments';
is $e->api(POST => "posts/$p1->{id}/comments", { body => 'Réponse' })
    ->{status}, 201, 'the employee answers';

is unread($c), '2|1', 'before any visit: two posts and the employee\'s comment';
is unread($e, code => $f->{chantier_id}), '0|1',
    'the employee: not their own posts, the client\'s comment';

my $r = $c->api(PUT => "fiches/$fid/seen");
is $r->{status}, 200, 'PUT seen: 200' or diag $r->{raw};
is_deeply $r->{json}, { previous_seen_at => undef }, 'a first visit';
is unread($c), '0|0', 'after the visit: nothing new';

sleep 1;
my $p3 = publish($e, $fid, 'Troisième');
$e->api(POST => "posts/$p2->{id}/comments", { body => 'Précision' });
$c->api(POST => "posts/$p2->{id}/comments", { body => 'Merci' });
is unread($c), '1|1', 'since the visit: one post, one comment by others';

my $gone = publish($e, $fid, 'Effacée');
is unread($c), '2|1', 'a fourth post counts';
is $e->api(DELETE => "posts/$gone->{id}")->{status}, 204, 'deleted';
is unread($c), '1|1', 'a deleted post no longer counts';

$r = $c->api(PUT => "fiches/$fid/seen");
like $r->{json}{previous_seen_at} // '', qr/^\d{4}-\d\d-\d\dT/,
    'the second visit answers the first one';
is unread($c), '0|0', 'reset by the visit';

is_error $other->api(PUT => "fiches/$fid/seen"), 404, 'not_found',
    'another client: 404';
is_error $c->api(PUT => 'fiches/999999999/seen'), 404, 'not_found',
    'no such fiche: 404';
is_error $c->api(PUT => "fiches/$fid/seen", undef, csrf => undef), 403,
    'csrf_invalid', 'without the CSRF token: 403';
is_error client()->api(PUT => "fiches/$fid/seen"), 401, 'not_logged_in',
    'no session: 401';

my ($doc_c) = fiche($c, $fid);
my ($doc_e) = fiche($e, $fid);
ok !exists $doc_c->{unread_posts}, 'the fiche document has no per-user part';
is_deeply $doc_c, $doc_e, 'the same document for the client and the employee';

done_testing;
