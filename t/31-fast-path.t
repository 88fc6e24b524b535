# The fast path of GET /api/fiches/{id} (issue 16): a worker answers from
# what it knows (the session, the fiche's version and client), kept true by
# the messages of Redis pub/sub (live/ngx_http_chantier_known.c).  What
# must hold whatever a worker knows:
#
# - every change that takes an access away cuts it at once on the other
#   nginx node, which read the fiche just before: a chantier given to
#   another client, a deactivation, a logout, a password change;
# - a new version made through one node is read at once through the other
#   (200 with the new ETag; the old ETag no longer gets 304), a client's new
#   name too (it is in the fiche's header);
# - Redis stopped: no read answered from memory (503), and once Redis is
#   back, what changed meanwhile behind the API's back is seen at once;
# - PostgreSQL stopped: a fiche read before keeps answering, 200 and 304,
#   marked "Warning: 110" once what the worker knew is older than 5 s; a
#   fiche never read gets 503, and so does a change.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;

my $nginx2;

END {
    local $?;
    eval { start_postgres() };
    eval { start_redis() };
    eval { stop_nginx2() } if $nginx2;
}

$SIG{INT} = $SIG{TERM} = sub { exit 130 };

my $log_start = error_log_size();
my $admin = admin_client();
my ($e_c) = client_for(role => 'employee');

my $port = free_port();
start_nginx2($port);
$nginx2 = $port;

# a read through the second node
sub read2 {
    my ($c, $id, %o) = @_;
    return $c->api(GET => "http://127.0.0.1:$nginx2/api/fiches/$id", undef,
                   %o);
}

# the second node surely knows the fiche: several reads, so that both of
# its workers most likely answered one (the clients keep one connection)
sub warm2 {
    my ($id, @clients) = @_;
    for my $c (@clients) {
        my $r;
        $r = read2($c, $id) for 1 .. 3;
        is $r->{status}, 200, 'read through the second node: 200'
            or diag $r->{raw};
    }
}

sub new_client_and_fiche {
    my ($c, $u) = client_for(role => 'client');
    my $f = create_chantier(client_id => $u->{id});
    return ($c, $u, $f->{id});
}


subtest 'a chantier given to another client' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    my ($b_c, $ub) = client_for(role => 'client');

    warm2($fid, $a_c);
    is read2($b_c, $fid)->{status}, 404, 'the other client: 404 before';

    my $r = $admin->api(PATCH => "admin/chantiers/$fid",
                        { client_id => $ub->{id} + 0 });
    is $r->{status}, 200, 'the administrator gives it to the other client'
        or diag $r->{raw};

    is_error read2($a_c, $fid), 404, 'not_found',
        'at once, through the second node: the former client 404';
    is read2($b_c, $fid)->{status}, 200, 'and the new client 200';
};


subtest 'deactivation' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    warm2($fid, $a_c);

    my $r = $admin->api(PATCH => "admin/users/$ua->{id}",
                        { active => JSON::PP::false() });
    is $r->{status}, 200, 'the administrator deactivates the client'
        or diag $r->{raw};

    is_error read2($a_c, $fid), 401, 'not_logged_in',
        'at once, through the second node: 401';
};


subtest 'logout' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    warm2($fid, $a_c);

    my $cookie = $a_c->cookie('chantier_session');
    is $a_c->logout->{status}, 204, 'the client logs out (first node)';

    my $old = client();
    $old->set_cookie(chantier_session => $cookie);
    is_error read2($old, $fid), 401, 'not_logged_in',
        'at once, the old cookie through the second node: 401';
};


subtest 'password change' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    my $other = client();
    is $other->login($ua->{login}, $ua->{password})->{status}, 200,
        'the client logs in a second time (another browser)';
    warm2($fid, $a_c, $other);

    my $r = $a_c->api(POST => 'me/password',
        { current_password => $ua->{password},
          new_password => 'Un nouveau mot de passe 2026 !' });
    is $r->{status}, 204, 'the client changes their password (first node)'
        or diag $r->{raw};

    is_error read2($other, $fid), 401, 'not_logged_in',
        'at once, the other browser through the second node: 401';
    is read2($a_c, $fid)->{status}, 200,
        'the session that changed it still reads';
};


subtest 'a new version, a new name' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    warm2($fid, $a_c);

    my $before = read2($a_c, $fid);
    my $etag = $before->{headers}{etag};
    ok $etag, "ETag $etag";
    is read2($a_c, $fid, headers => { 'If-None-Match' => $etag })->{status},
        304, 'If-None-Match: 304';

    publish($e_c, $fid, 'Coulage de la dalle.');

    my $after = read2($a_c, $fid);
    isnt $after->{headers}{etag}, $etag,
        'at once, through the second node: a new ETag';
    like $after->{raw}, qr/Coulage de la dalle/, 'and the new post';
    is read2($a_c, $fid, headers => { 'If-None-Match' => $etag })->{status},
        200, 'the old ETag gets the new version, not 304';

    my $r = $admin->api(PATCH => "admin/users/$ua->{id}",
                        { last_name => "Nouveaunom-$$" });
    is $r->{status}, 200, 'the administrator renames the client'
        or diag $r->{raw};
    like read2($a_c, $fid)->{raw}, qr/Nouveaunom-$$/,
        'at once, the fiche\'s header through the second node';
};


subtest 'a thumbnail' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    my $tool = repo_dir() . '/build/chantier-test-image';
    my $file = var_dir() . "/fast-path-$$.jpg";
    system($tool, 'orientation6-gps', $file) == 0 or die "$tool failed";
    my $jpeg = do { local $/; open my $fh, '<:raw', $file or die; <$fh> };
    unlink $file;

    my $photo = $e_c->api(POST => "fiches/$fid/photos", $jpeg,
                          content_type => 'image/jpeg');
    is $photo->{status}, 201, 'a photo uploaded' or diag $photo->{raw};
    my $pid = $photo->{json}{id};
    my $post = $e_c->api(POST => "fiches/$fid/posts", { body => { ops => [
        { insert => { image => "photo:$pid" } }, { insert => "\n" } ] } });
    is $post->{status}, 201, 'and shown in a post' or diag $post->{raw};

    my $url = "http://127.0.0.1:$nginx2/api/photos/$pid?size=thumb";
    warm2($fid, $a_c);
    my $first = $a_c->api(GET => $url);
    is $first->{status}, 200, 'the client reads the thumbnail (second node)';
    my $again = $a_c->api(GET => $url);
    is $again->{status}, 200, 'again';
    is $again->{raw}, $first->{raw}, 'the same bytes';
    is $again->{headers}{etag}, $first->{headers}{etag}, 'the same ETag';
    is $a_c->api(GET => $url, undef,
                 headers => { 'If-None-Match' => $first->{headers}{etag} })
        ->{status}, 304, 'If-None-Match: 304';

    my ($b_c) = client_for(role => 'client');
    is $b_c->api(GET => $url)->{status}, 404, 'another client: 404';

    is $e_c->api(DELETE => "posts/$post->{json}{id}")->{status}, 204,
        'the post is deleted (first node)';
    is_error $a_c->api(GET => $url), 404, 'not_found',
        'at once, the thumbnail through the second node: 404';
};


subtest 'Redis stopped: nothing answered from memory' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    my ($b_c, $ub) = client_for(role => 'client');
    warm2($fid, $a_c);

    stop_redis();
    my $r = read2($a_c, $fid);
    is $r->{status}, 503, 'Redis down: a fiche read, known before, 503';
    like $r->{headers}{'retry-after'} // '', qr/^\d+$/, 'Retry-After';

    # behind the API's back, while nobody could hear of it
    psql("update chantier.chantiers set client_id = $ub->{id}"
         . " where id = $fid");
    start_redis();

    ok wait_until(sub { read2($b_c, $fid)->{status} == 200 }, timeout => 10),
        'Redis back: the new client reads the fiche';
    is_error read2($a_c, $fid), 404, 'not_found',
        'and the former client gets 404: nothing from before was kept';
    # every worker of the first node back on Redis too, for what follows
    ok wait_until(sub { !grep { api(GET => 'health')->{status} != 200 } 1 .. 8 },
                  timeout => 15),
        'the first node answers health 200 again, on every worker';
};


subtest 'PostgreSQL stopped: the fiches read before stay readable' => sub {
    my ($a_c, $ua, $fid) = new_client_and_fiche();
    publish($e_c, $fid, 'Pose des menuiseries.');
    my ($n_c, $nu, $nid) = new_client_and_fiche();

    my $c = client();
    is $c->login($ua->{login}, $ua->{password})->{status}, 200,
        'a client with one connection to the first node';
    my $before = $c->api(GET => "fiches/$fid");
    is $before->{status}, 200, 'reads the fiche';
    my $etag = $before->{headers}{etag};

    stop_postgres();

    my $r = $c->api(GET => "fiches/$fid");
    is $r->{status}, 200, 'PostgreSQL down: the fiche read before, 200';
    is $r->{raw}, $before->{raw}, 'the same document';

    sleep 5.5;
    $r = $c->api(GET => "fiches/$fid");
    is $r->{status}, 200, '5 s later: still 200';
    like $r->{headers}{warning} // '', qr/^110 /,
        'marked "Warning: 110" (it may be stale)';
    is $r->{raw}, $before->{raw}, 'the same document';
    $r = $c->api(GET => "fiches/$fid", undef,
                 headers => { 'If-None-Match' => $etag });
    is $r->{status}, 304, 'and 304 to its ETag';

    is $c->api(GET => "fiches/$nid")->{status}, 503,
        'a fiche this worker never read: 503';
    $r = $e_c->api(POST => "fiches/$fid/posts",
                   { body => delta('Pendant la panne.') });
    is $r->{status}, 503, 'a change: 503';

    start_postgres();
    ok wait_until(sub {
            my $x = $c->api(GET => "fiches/$fid");
            $x->{status} == 200 && !defined $x->{headers}{warning};
        }, timeout => 15),
        'PostgreSQL back: no Warning any more';
};


subtest 'nothing left behind' => sub {
    no_error_logged($log_start, 'no crash or alert in the error log');
};

stop_nginx2();
undef $nginx2;

done_testing;
