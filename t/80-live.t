# Live fiches (issue 4, SPEC sections 3 and 5): GET /api/fiches/{id}/events
# is a text/event-stream that says "id: N / event: fiche /
# data: {"version":N}" after every change of the fiche, N its new version.
#
# Read here with raw sockets (chunked encoding decoded, SSE frames parsed,
# see the Stream package at the end), as a browser's EventSource would:
# headers and first bytes; one event per kind of change; the fiche's access
# rules; catch-up with Last-Event-ID and ?since=N; a second nginx instance
# on the same PostgreSQL and Redis; a Redis restart; the end of a session
# (logout, password change, deactivation) ending its streams; the per-user
# cap (429); an nginx reload ending streams cleanly; a slow reader dropped.

use strict;
use warnings;

use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;
use ChantierStream;

my $EVENT_WAIT = 2;     # s: "within a second" (SPEC 3), with some slack
my $QUIET = 1;          # s: how long "no event" is watched
my $END_WAIT = 2;       # s: a stream ends after its session

my $log_start = error_log_size();

my $nginx2;             # port of the second nginx while it runs

END {
    local $?;
    eval { stop_nginx2() } if $nginx2;
    eval { start_redis() };
}

$SIG{INT} = $SIG{TERM} = sub { exit 130 };

my $admin = admin_client();

my ($e_c, $e) = client_for(role => 'employee');
my ($a_c, $ua) = client_for(role => 'client');
my ($b_c, $ub) = client_for(role => 'client');

my $fid = create_chantier(client_id => $ua->{id})->{id};
my $gid = create_chantier(client_id => $ub->{id})->{id};
my $nofiche = psql('select coalesce(max(id), 0) + 1000000'
    . ' from chantier.fiches');

# a change of the fiche, by the employee; returns the new version
sub change {
    my ($what) = @_;
    my $r = $e_c->api(POST => "fiches/$fid/posts", { body => delta($what) });
    $r->{status} == 201 or diag "change ($what): $r->{status} $r->{raw}";
    return fiche_version($e_c, $fid);
}

# the next event of $s is exactly the announcement of $version
sub gets_event {
    my ($s, $version, $name) = @_;

    my $ev = $s->next_event($EVENT_WAIT);

    subtest $name => sub {
        ok $ev, "an event within $EVENT_WAIT s"
            or return diag 'stream ' . ($s->{ended} // 'still open')
                . ', received: ' . substr($s->{data}, -300);
        is $ev->{id}, $version, "id: $version";
        is $ev->{event}, 'fiche', 'event: fiche';
        is_deeply json_decode($ev->{data} // ''), { version => $version },
            qq(data: {"version":$version});
        is $ev->{data}, qq({"version":$version}), 'data exactly';
    };
    return $ev;
}

sub no_event {
    my ($streams, $name) = @_;
    my @got = ChantierStream::quiet($QUIET, @$streams);
    is scalar(@got), 0, "$name: no event within $QUIET s"
        or diag explain \@got;
}

sub ends {
    my ($s, $name, $timeout) = @_;
    my $how = $s->wait_end($timeout // $END_WAIT);
    ok $how, "$name: the stream ends within " . ($timeout // $END_WAIT)
        . ' s' . ($how ? " ($how)" : '');
    return $how;
}

sub stays_open {
    my ($s, $name) = @_;
    $s->pump(0.2);
    ok !$s->{ended}, "$name: the stream is still open"
        or diag "ended: $s->{ended}";
}


my ($sa, $se);

subtest 'an open stream: headers, first bytes' => sub {
    $sa = ChantierStream->open($a_c, $fid);

    is $sa->{status}, 200, 'client opens the stream of their fiche: 200'
        or diag $sa->{head};
    like $sa->{headers}{'content-type'} // '', qr{^text/event-stream\b},
        'Content-Type text/event-stream';
    like $sa->{headers}{'cache-control'} // '', qr/\bno-store\b/,
        'Cache-Control no-store';
    is lc($sa->{headers}{'transfer-encoding'} // ''), 'chunked',
        'chunked (an HTTP/1.1 stream of unknown length)';
    ok !defined $sa->{headers}{'content-length'}, 'no Content-Length';
    $sa->pump(0.5) until length $sa->{data} >= 6 || $sa->{ended};
    like $sa->{data}, qr/^retry: \d+\n/, 'the first bytes: a "retry:" line'
        or diag $sa->{data};
    is $sa->{retry} // '', 2000, 'retry: 2000 ms';

    $se = ChantierStream->open($e_c, $fid);
    is $se->{status}, 200, 'an employee opens the client\'s fiche: 200';

    no_event([$sa, $se], 'no Last-Event-ID, no change');
};


subtest 'HEAD: the headers of a stream, and nothing after them' => sub {
    my $h = ChantierStream->open($a_c, $fid, method => 'HEAD');

    is $h->{status}, 200, 'HEAD events: 200' or diag $h->{head};
    like $h->{headers}{'content-type'} // '', qr{^text/event-stream\b},
        'Content-Type text/event-stream';

    # a keep-alive proxy would read any byte now as the next response
    $h->_read(0.2) for 1 .. 5;
    is $h->{raw} . $h->{data}, '', 'no byte after the headers';

    $h->close;
};


subtest 'an event after every kind of change' => sub {
    my ($post, $comment);
    my $r = $e_c->api(POST => "fiches/$fid/posts",
        { body => delta('Coulage de la dalle') });
    is $r->{status}, 201, 'post created' or diag $r->{raw};
    $post = $r->{json};
    my $v = fiche_version($e_c, $fid);
    gets_event($sa, $v, "post created: the client's stream gets version $v");
    gets_event($se, $v, "post created: the employee's stream too");

    $r = $e_c->api(PATCH => "posts/$post->{id}",
        { body => delta('Coulage de la dalle, fini') },
        headers => { 'If-Match' => qq("$post->{version}") });
    is $r->{status}, 200, 'post edited' or diag $r->{raw};
    $post = $r->{json};
    $v = fiche_version($e_c, $fid);
    gets_event($sa, $v, "post edited: version $v");
    gets_event($se, $v, "post edited: the employee's stream");

    $r = $e_c->api(PATCH => "posts/$post->{id}", { cancelled => \1 },
        headers => { 'If-Match' => qq("$post->{version}") });
    is $r->{status}, 200, 'post cancelled' or diag $r->{raw};
    $v = fiche_version($e_c, $fid);
    gets_event($sa, $v, "post cancelled: version $v");
    gets_event($se, $v, "post cancelled: the employee's stream");

    $r = $a_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Pourquoi annulé ?' });
    is $r->{status}, 201, 'the client comments' or diag $r->{raw};
    $comment = $r->{json};
    $v = fiche_version($e_c, $fid);
    gets_event($sa, $v, "comment: version $v (to its own author too)");
    gets_event($se, $v, "comment: the employee's stream");

    $r = $a_c->api(DELETE => "comments/$comment->{id}");
    is $r->{status}, 204, 'the client deletes the comment' or diag $r->{raw};
    $v = fiche_version($e_c, $fid);
    gets_event($sa, $v, "comment deleted: version $v");
    gets_event($se, $v, "comment deleted: the employee's stream");

    $r = $e_c->api(DELETE => "posts/$post->{id}");
    is $r->{status}, 204, 'post deleted' or diag $r->{raw};
    $v = fiche_version($e_c, $fid);
    gets_event($sa, $v, "post deleted: version $v");
    gets_event($se, $v, "post deleted: the employee's stream");

    # a change of another fiche says nothing here
    $r = $e_c->api(POST => "fiches/$gid/posts", { body => delta('Ailleurs') });
    is $r->{status}, 201, 'a post on another fiche' or diag $r->{raw};
    no_event([$sa, $se], 'a change of another fiche');
    $se->close;
};


subtest 'access' => sub {
    my $other = ChantierStream->open($b_c, $fid);
    my $none = ChantierStream->open($b_c, $nofiche);

    is $other->{status}, 404, 'another client\'s fiche: 404';
    like $other->{headers}{'content-type'} // '', qr{^application/json},
        'another client\'s fiche: JSON, not a stream';
    is json_decode($other->{body} // '')->{error}{code}, 'not_found',
        'another client\'s fiche: not_found';
    is_deeply [$other->{status}, $other->{body}],
        [$none->{status}, $none->{body}],
        'another client\'s fiche: the same answer as a fiche that does not'
        . ' exist';

    my $anon = ChantierStream->open(undef, $fid);
    is $anon->{status}, 401, 'no session: 401';
    is json_decode($anon->{body} // '')->{error}{code}, 'not_logged_in',
        'no session: not_logged_in';

    my $unknown = ChantierStream->open($e_c, $nofiche);
    is $unknown->{status}, 404, 'employee, a fiche that does not exist: 404';
    like $unknown->{headers}{'content-type'} // '', qr{^application/json},
        'unknown fiche: JSON';

    my $eg = ChantierStream->open($e_c, $gid);
    is $eg->{status}, 200, 'an employee opens any fiche: 200';
    my $own = ChantierStream->open($b_c, $gid);
    is $own->{status}, 200, 'the other client opens their own fiche: 200';
    $_->close for $other, $none, $anon, $unknown, $eg, $own;
};


subtest 'catch-up: Last-Event-ID, ?since=' => sub {
    my $v = fiche_version($e_c, $fid);

    my $old = ChantierStream->open($a_c, $fid,
        headers => { 'Last-Event-ID' => $v - 1 });
    my $zero = ChantierStream->open($a_c, $fid,
        headers => { 'Last-Event-ID' => 0 });
    my $since = ChantierStream->open($a_c, $fid, query => '?since=' . ($v - 1));

    is $old->{status}, 200, 'Last-Event-ID older: 200';
    gets_event($old, $v, "Last-Event-ID: " . ($v - 1)
        . " -> at once the current version $v");
    gets_event($zero, $v, "Last-Event-ID: 0 -> the current version $v");
    gets_event($since, $v, "?since=" . ($v - 1) . " -> the current version");

    my $same = ChantierStream->open($a_c, $fid,
        headers => { 'Last-Event-ID' => $v });
    my $same_q = ChantierStream->open($a_c, $fid, query => "?since=$v");
    is $same->{status}, 200, 'Last-Event-ID current: 200';
    is $same_q->{status}, 200, '?since= current: 200';
    no_event([$same, $same_q, $old, $zero, $since],
        "Last-Event-ID or ?since= equal to the version ($v)");

    # they are live streams all the same
    my $w = change('Après le rattrapage');
    gets_event($_->[0], $w, "$_->[1]: then the next change ($w)")
        for [$old, 'Last-Event-ID older'], [$same, 'Last-Event-ID current'],
            [$same_q, '?since= current'];
    gets_event($sa, $w, "the first stream: version $w");

    $_->close for $old, $zero, $since, $same, $same_q;
};


subtest 'a second nginx instance, the same PostgreSQL and Redis' => sub {
    SKIP: {
        my $port = free_port();
        eval { start_nginx2($port); $nginx2 = $port; 1 }
            or skip "second nginx did not start: $@", 4;

        my $s2 = ChantierStream->open($a_c, $fid, port => $nginx2);
        is $s2->{status}, 200, "a stream on the second nginx (port $nginx2)";

        my $v = change('Vu par l\'autre instance');
        gets_event($s2, $v, 'a change through instance 1 reaches the stream on'
            . " instance 2 ($v)");
        gets_event($sa, $v, "and the stream on instance 1");

        # and the other way round
        my $r = $e_c->api(
            POST => "http://127.0.0.1:$nginx2/api/fiches/$fid/posts",
            { body => delta('Par l\'instance 2') });
        is $r->{status}, 201, 'a post through instance 2' or diag $r->{raw};
        $v = fiche_version($e_c, $fid);
        gets_event($sa, $v, 'a change through instance 2 reaches the stream on'
            . " instance 1 ($v)");
        gets_event($s2, $v, 'and the stream on instance 2');

        # a graceful stop ends the streams properly, and soon: nginx does not
        # wait for them
        my $t0 = time;
        stop_nginx2();
        undef $nginx2;
        cmp_ok time - $t0, '<', 5, sprintf('the second nginx stops gracefully'
            . ' in %.1f s with a stream open', time - $t0);
        is $s2->wait_end(1), 'last chunk',
            'its stream ended properly (last chunk)';
    }
};


# Events published while Redis is away are lost: once subscribed again,
# every worker re-sends each open stream its version (the page refetches).
# Several streams, so that both workers most likely hold some.

subtest 'Redis restarted' => sub {
    my @s = ($sa, map { ChantierStream->open($a_c, $fid) } 1 .. 5);
    is scalar(grep { $_->{status} == 200 } @s), 6, 'six streams open';
    my $v = fiche_version($e_c, $fid);

    stop_redis();
    ChantierStream::quiet(0.5, @s);
    is scalar(grep { $_->{ended} } @s), 0,
        'Redis stopped: the streams stay open';

    start_redis();

    # Messages may have been missed while the subscriber was away (session
    # ends among them): every stream ends, its page reconnects and is
    # checked again.  The backoff of the reconnection is at most 5 s.
    for my $i (0 .. $#s) {
        $s[$i]->wait_end(8);
        ok $s[$i]{ended}, "Redis back: stream $i ends, its page reconnects"
            . " ($s[$i]{ended})";
    }

    ok wait_until(sub { $e_c->api(GET => 'me')->{status} == 200 },
        timeout => 10), 'Redis back: the API answers';

    # the pages reconnect with the version they have: nothing is missed
    $s[$_] = ChantierStream->open($a_c, $fid, headers => { 'Last-Event-ID' => $v })
        for 0 .. $#s;
    is scalar(grep { $_->{status} == 200 } @s), 6, 'six streams again';

    my $m = change('Pendant que les pages se reconnectent');
    my $stale = ChantierStream->open($a_c, $fid, headers => { 'Last-Event-ID' => $v });
    my $ev = $stale->next_event(3);
    is $ev && $ev->{id}, $m, 'a page that reconnects late catches up'
        . " (Last-Event-ID $v, now $m)";
    $stale->close;
    gets_event($s[$_], $m, "Redis back: stream $_ gets the change ($m)")
        for 0 .. $#s;

    my $w = change('Après le retour de Redis');
    gets_event($s[$_], $w, "Redis back: a new change reaches stream $_ ($w)")
        for 0 .. $#s;

    $sa = shift @s;
    $_->close for @s;
};


subtest 'the end of a session: logout' => sub {
    my $c2 = client();
    is $c2->login($ua->{login}, $ua->{password})->{status}, 200,
        'the client logs in a second time';
    my $s2 = ChantierStream->open($c2, $fid);
    is $s2->{status}, 200, 'a stream of the second session';

    my $cookie = $c2->cookie('chantier_session');
    my $r = $c2->logout;
    is $r->{status}, 204, 'logout of the second session';
    my $how = ends($s2, 'logout');
    is $how, 'last chunk', 'logout: the stream ends properly (last chunk)'
        if $how;
    $c2->set_cookie(chantier_session => $cookie);
    is(ChantierStream->open($c2, $fid)->{status}, 401,
        'logout: the page reconnecting with that session gets 401');
    stays_open($sa, 'logout of another session of the same user');

    my $v = change('Après la déconnexion');
    gets_event($sa, $v, 'logout of another session: the first session\'s'
        . ' stream still gets events');
};

# password change: the user's other sessions end, not the one changing it
subtest 'the end of a session: a new login from the same browser' => sub {
    my $c3 = client();
    is $c3->login($ua->{login}, $ua->{password})->{status}, 200,
        'the client logs in a second time';
    my $s3 = ChantierStream->open($c3, $fid);
    is $s3->{status}, 200, 'a stream of that session';

    # the browser logs in again, sending its cookie: that session ends
    my $old = $c3->cookie('chantier_session');
    is $c3->login($ua->{login}, $ua->{password})->{status}, 200,
        'a login again from that browser';
    isnt $c3->cookie('chantier_session'), $old, 'a new session id';
    my $how = ends($s3, 'the old session\'s stream');
    is $how, 'last chunk', 'the old session\'s stream ends (last chunk)'
        if $how;
    stays_open($sa, 'a new login of another session of the same user');
};


subtest 'a session that ended while the subscriber was away' => sub {
    require Digest::SHA;

    my $c4 = client();
    is $c4->login($ua->{login}, $ua->{password})->{status}, 200,
        'the client logs in a second time';
    my $s4 = ChantierStream->open($c4, $fid);
    is $s4->{status}, 200, 'a stream of that session';

    # the subscribers drop; the session goes without its message, as a
    # session-end published in that moment would be lost
    my $key = 'chantier:session:'
        . Digest::SHA::sha256_hex($c4->cookie('chantier_session'));
    redis_cli('client', 'kill', 'type', 'pubsub');
    is redis_cli('del', $key), 1, 'the session is gone from Redis, unheard';

    my $how = ends($s4, 'once resubscribed, the stream', 8);
    is(ChantierStream->open($c4, $fid)->{status}, 401,
        'its page reconnecting gets 401') if $how;
    $sa->wait_end(8);
    $sa = ChantierStream->open($a_c, $fid) if $sa->{ended};
    is $sa->{status}, 200, 'the first session\'s page reconnects: 200';
};


subtest 'a chantier given to another client' => sub {
    my ($ca, $ua2) = client_for(role => 'client');
    my ($cb, $ub2) = client_for(role => 'client');
    my $h = create_chantier(client_id => $ua2->{id});

    my $sa2 = ChantierStream->open($ca, $h->{id});
    my $se2 = ChantierStream->open($e_c, $h->{id});
    is $sa2->{status}, 200, 'the client opens the stream of their fiche';
    my $v = fiche_version($e_c, $h->{id});

    my $r = $admin->api(PATCH => "admin/chantiers/$h->{id}",
                        { client_id => $ub2->{id} });
    is $r->{status}, 200, 'the chantier is given to another client'
        or diag $r->{raw};

    my $how = ends($sa2, 'the former client\'s stream', 3);
    is(ChantierStream->open($ca, $h->{id}, headers => { 'Last-Event-ID' => $v })
           ->{status}, 404, 'its page reconnecting gets 404') if $how;
    ends($se2, 'the employee\'s stream ends too, to be checked again', 3);

    my $sb2 = ChantierStream->open($cb, $h->{id}, headers => { 'Last-Event-ID' => $v });
    is $sb2->{status}, 200, 'the new client opens it';
    my $ev = $sb2->next_event(3);
    ok $ev && $ev->{id} > $v, 'and catches up with the changed header';
    $_->close for $sa2, $se2, $sb2;
};


subtest 'the end of a session: password change' => sub {
    my ($x, $u) = client_for(role => 'employee');
    my $y = client();
    is $y->login($u->{login}, $u->{password})->{status}, 200,
        'employee: a second session';

    my $sx = ChantierStream->open($x, $fid);
    my $sy = ChantierStream->open($y, $fid);
    is $sx->{status} . $sy->{status}, '200200', 'a stream in each session';

    my $r = $y->api(POST => 'me/password', {
        current_password => $u->{password},
        new_password     => 'un-autre-mot-de-passe-80',
    });
    is $r->{status}, 204, 'password changed from the second session'
        or diag $r->{raw};

    ends($sx, 'password changed elsewhere: the other session\'s stream');
    stays_open($sy, 'password changed: the stream of the session that'
        . ' changed it');
    is(ChantierStream->open($x, $fid)->{status}, 401,
        'password changed: the other session reconnecting gets 401');

    my $v = change('Après le changement de mot de passe');
    gets_event($sy, $v, 'password changed: the changing session\'s stream'
        . ' still gets events');
    $sy->close;
};

subtest 'the end of a session: deactivation' => sub {
    my ($x, $u) = client_for(role => 'employee');
    my $y = client();
    is $y->login($u->{login}, $u->{password})->{status}, 200,
        'employee to deactivate: a second session';

    my @s = (ChantierStream->open($x, $fid), ChantierStream->open($x, $fid),
             ChantierStream->open($y, $fid));
    is scalar(grep { $_->{status} == 200 } @s), 3, 'three streams open';

    my $r = $admin->api(PATCH => "admin/users/$u->{id}",
        { active => JSON::PP::false() });
    is $r->{status}, 200, 'the administrator deactivates the user'
        or diag $r->{raw};

    ends($s[$_], "deactivated: stream $_") for 0 .. 2;
    stays_open($sa, 'deactivation of another user');
};

subtest 'the end of a session: a new password from an administrator' => sub {
    my ($x, $u) = client_for(role => 'client');
    my $hid = create_chantier(client_id => $u->{id})->{id};
    my $sx = ChantierStream->open($x, $hid);
    is $sx->{status}, 200, 'a client\'s stream';

    my $r = $admin->api(PATCH => "admin/users/$u->{id}",
        { password => 'mot-de-passe-donne-80' });
    is $r->{status}, 200, 'the administrator sets a new password'
        or diag $r->{raw};
    ends($sx, 'new password set by an administrator');
};


# Two workers: 25 streams of one user put at least 11 on one of them.

subtest 'per-user cap: chantier_events_per_user (10) per worker' => sub {
    my ($c) = client_for(role => 'employee');

    my @s = map { ChantierStream->open($c, $fid) } 1 .. 25;
    my @ok = grep { $_->{status} == 200 } @s;
    my @many = grep { $_->{status} == 429 } @s;

    cmp_ok scalar(@many), '>=', 1, '25 streams of one user: some 429 ('
        . scalar(@many) . ')';
    cmp_ok scalar(@ok), '<=', 20, 'at most 10 per worker are open ('
        . scalar(@ok) . ')';
    cmp_ok scalar(@ok), '>=', 10, 'and at least 10';
    is scalar(@ok) + scalar(@many), 25, 'all the others 429';

    if (@many) {
        like $many[0]{headers}{'content-type'} // '', qr{^application/json},
            '429: JSON';
        like $many[0]{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
            '429: Retry-After';
    }

    $_->close for @s;

    # closed streams give their places back: 10 at once cannot exceed the
    # cap of any worker
    my @again;
    my $all = wait_until(sub {
        $_->close for @again;
        @again = map { ChantierStream->open($c, $fid) } 1 .. 10;
        10 == grep { $_->{status} == 200 } @again;
    }, timeout => 3, interval => 0.2);
    ok $all, 'after closing them, 10 new streams of that user: all 200';
    $_->close for @again;

    # the same 25 sent at once, as many tabs reconnecting together: the
    # cap holds for requests still waiting for their access check too
    @s = map { ChantierStream->open($c, $fid, later => 1) } 1 .. 25;
    $_->read_head for @s;
    @ok = grep { $_->{status} == 200 } @s;
    @many = grep { $_->{status} == 429 } @s;
    is scalar(@ok) + scalar(@many), 25, '25 at once: each 200 or 429';
    cmp_ok scalar(@ok), '<=', 20, '25 at once: at most 10 per worker'
        . ' are open (' . scalar(@ok) . ')';
    $_->close for @s;
};


# A stream whose reader never reads, with a small receive buffer: once the
# socket buffers are full, events pile up in nginx; past a small backlog
# the stream is closed (without the last chunk: it did not end properly).
# The events are published on the fiche's channel directly (as the module
# does after a commit) to get thousands quickly; a fiche of its own, so no
# other test sees those versions.  A normal reader of the same fiche, read
# meanwhile, keeps its stream.

subtest 'a slow reader is dropped' => sub {
    my $hid = create_chantier(client_id => $ua->{id})->{id};
    my $base = fiche_version($e_c, $hid);

    my $slow = ChantierStream->open($a_c, $hid, rcvbuf => 1024);
    my $fine = ChantierStream->open($a_c, $hid);
    is $slow->{status} . $fine->{status}, '200200',
        'a slow and a normal reader';

    # batches until nginx drops it: the socket buffers hold about 1.5 MB
    # here (the sender's grows up to tcp_wmem's maximum, 4 MB)
    my $last = $base;
    my $t0 = time;
    my ($got, $dropped);

    while ($last < $base + 200000 && !$dropped) {
        publish_versions($hid, $last + 1, $last + 10000);
        $last += 10000;

        my $deadline = time + 5;
        while (($got // 0) < $last && !$fine->{ended} && time < $deadline) {
            $fine->pump(0.05);
            $got = $_->{id} for splice @{ $fine->{events} };
        }
        last if ($got // 0) < $last;

        $dropped = grep { /event stream reader too slow, dropped/ }
            error_log_since($log_start);
    }

    ok $dropped, sprintf('nginx dropped the slow reader after at most %d'
        . ' events (%.1f s)', $last - $base, time - $t0);
    is $got, $last, 'the normal reader got every event meanwhile'
        or diag 'ended: ' . ($fine->{ended} // 'no');

    # the slow one now reads what its buffers held: then the end
    my $how = $slow->wait_end(5);
    ok $how, 'the slow reader\'s stream was closed'
        . ($how ? " ($how)" : '');
    isnt $how, 'last chunk', 'closed as an error, not ended properly'
        if $how;
    my $last_slow = (grep { defined $_->{id} } @{ $slow->{events} })[-1];
    cmp_ok $last_slow ? $last_slow->{id} : 0, '<', $last,
        'the slow reader did not get the last events';
    note sprintf 'slow reader: %d bytes, last event %s of %d..%d',
        length $slow->{data}, $last_slow ? $last_slow->{id} : '-',
        $base + 1, $last;

    # its page reconnects (the published versions were not real ones: the
    # fiche is still at $base)
    my $back = ChantierStream->open($a_c, $hid, headers => {
        'Last-Event-ID' => $base });
    is $back->{status}, 200, 'the dropped reader reconnects';
    my $r = $e_c->api(POST => "fiches/$hid/posts", { body => delta('Après') });
    is $r->{status}, 201, 'a post on that fiche' or diag $r->{raw};
    gets_event($back, $base + 1, 'the reconnected stream gets its event');
    $_->close for $slow, $fine, $back;
};


subtest 'nginx reload: streams end properly, new ones work' => sub {
    my $s2 = ChantierStream->open($a_c, $fid);
    is $s2->{status}, 200, 'a second stream before the reload';

    reload_nginx();
    my $t0 = time;

    for ([$sa, 'first stream'], [$s2, 'second stream']) {
        my $how = $_->[0]->wait_end(3 - (time - $t0) + 0.5);
        is $how, 'last chunk', "reload: the $_->[1] ends properly (last"
            . ' chunk) within 3 s';
    }

    my $new = ChantierStream->open($a_c, $fid);
    is $new->{status}, 200, 'after the reload: a new stream 200';
    my $v = change('Après le rechargement');
    gets_event($new, $v, "after the reload: the new stream gets $v");
    $new->close;
};


# ---- nginx did not crash ----

no_error_logged($log_start, 'error log: no alert, crit, emerg, crash');

done_testing;


# PUBLISH chantier:fiche:<id> <v> for v from $from to $to (redis-cli
# --pipe: all sent at once, then the replies read)
sub publish_versions {
    my ($id, $from, $to) = @_;

    my $pid = CORE::open(my $cli, '|-') // die "fork: $!";

    if ($pid == 0) {
        CORE::open(STDOUT, '>', '/dev/null');
        { exec 'redis-cli', '-h', '127.0.0.1', '-p', $ENV{REDIS_PORT},
              '--pipe' }
        POSIX::_exit(1);
    }

    print $cli "PUBLISH chantier:fiche:$id $_\r\n" for $from .. $to;
    CORE::close($cli) or diag "redis-cli --pipe: status $?";
}
