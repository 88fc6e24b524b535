# Presence (issue 14, SPEC sections 3 and 5): every open event stream of a
# fiche counts as "looking at it", and each stream gets
# "event: presence" with data {"viewers":[{"id","name","role"}]}: the other
# users looking, on any worker of any nginx node, each user once however
# many tabs, at once and whenever that set changes.
#
# Streams read with raw sockets (t/lib/ChantierStream.pm).  Checked here:
# the set at once, an arrival and a departure, two tabs of one user, a
# second nginx node, the end of a session, a node that dies without a word
# (its entries expire), and that nothing is left in Redis afterwards.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;
use ChantierStream;

my $WAIT = 2;           # s: a change of the set reaches the streams
my $QUIET = 1;          # s: how long "no presence event" is watched
my $EXPIRY = 25;        # s: a dead node's viewers are gone (15 s + refresh)

my $nginx2;

END {
    local $?;
    eval { stop_nginx2() } if $nginx2;
}

$SIG{INT} = $SIG{TERM} = sub { exit 130 };

my ($e_c, $e) = client_for(role => 'employee');
my ($a_c, $ua) = client_for(role => 'client');
my ($b_c, $ub) = client_for(role => 'client');

my $fid = create_chantier(client_id => $ua->{id})->{id};
my $log_start = error_log_size();

sub name_of {
    my ($user) = @_;
    return psql("select api.user_name(u) from chantier.users as u"
        . " where u.id = $user->{id}");
}

my %viewer = (
    employee => { id => $e->{id} + 0, name => name_of($e),
                  role => 'employee' },
    client   => { id => $ua->{id} + 0, name => name_of($ua),
                  role => 'client' },
);

# the next presence event of $s says exactly @who
sub sees {
    my ($s, $name, @who) = @_;
    my $p = $s->next_presence($WAIT);

    subtest $name => sub {
        ok $p, "a presence event within $WAIT s"
            or return diag 'stream ' . ($s->{ended} // 'still open');
        is_deeply $p, { viewers => [ map { $viewer{$_} } @who ] },
            'viewers: [' . join(', ', @who) . ']'
            or diag explain $p;
    };
}

sub no_presence {
    my ($name, @streams) = @_;
    ChantierStream::quiet($QUIET, @streams);
    my @got = map { my @p = @{ $_->{presences} }; $_->{presences} = []; @p }
        @streams;
    is scalar(@got), 0, "$name: no presence event within $QUIET s"
        or diag explain \@got;
}

sub entries {
    return redis_cli('ZCARD', "chantier:presence:$fid") // '';
}


my $sa;

subtest 'alone: the set at once, empty' => sub {
    $sa = ChantierStream->open($a_c, $fid);
    is $sa->{status}, 200, 'the client opens the stream of their fiche';
    sees($sa, 'the client is told at once that nobody else looks');
    is entries(), 1, 'Redis holds one entry for the fiche';
};

my $se;

subtest 'an employee arrives, then leaves' => sub {
    $se = ChantierStream->open($e_c, $fid);
    is $se->{status}, 200, 'the employee opens the same fiche';

    sees($se, 'the employee sees the client at once', 'client');
    sees($sa, 'the client sees the employee arrive', 'employee');

    $se->close;
    sees($sa, 'the employee\'s stream closed: the client sees them leave');
};

subtest 'two tabs of one user count once' => sub {
    my $t1 = ChantierStream->open($e_c, $fid);
    sees($t1, 'first tab: the client is there', 'client');
    sees($sa, 'the client sees the employee', 'employee');

    my $t2 = ChantierStream->open($e_c, $fid);
    sees($t2, 'second tab: told at once as well', 'client');
    no_presence('the client, at the second tab', $sa);

    $t1->close;
    no_presence('the client, when one of the two tabs closes', $sa);

    $t2->close;
    sees($sa, 'the last tab closed: the employee left');
};

subtest 'a user who may not see the fiche is never a viewer' => sub {
    my $sb = ChantierStream->open($b_c, $fid);
    is $sb->{status}, 404, 'another client: 404';
    $sb->close;
    my $h = ChantierStream->open($e_c, $fid, method => 'HEAD');
    is $h->{status}, 200, 'HEAD of a stream: 200';
    $h->close;
    no_presence('neither is announced to the client', $sa);
};

subtest 'the end of a session ends the presence' => sub {
    my ($x_c, $x) = client_for(role => 'employee');
    $viewer{other} = { id => $x->{id} + 0, name => name_of($x),
                       role => 'employee' };

    my $sx = ChantierStream->open($x_c, $fid);
    sees($sa, 'a second employee arrives', 'other');
    is $x_c->logout->{status}, 204, 'that employee logs out';
    ok $sx->wait_end($WAIT), 'their stream ends';
    sees($sa, 'and the client sees them leave');
};

subtest 'a second nginx node' => sub {
    my $port = free_port();
    ok eval { start_nginx2($port); $nginx2 = $port; 1 },
        "a second nginx on port $port" or return diag $@;

    my $s2 = ChantierStream->open($e_c, $fid, port => $nginx2);
    is $s2->{status}, 200, 'the employee opens the fiche on the other node';
    sees($s2, 'there, the employee sees the client', 'client');
    sees($sa, 'the client, on the first node, sees the employee',
         'employee');

    my $s1 = ChantierStream->open($e_c, $fid);
    sees($s1, 'a tab of the employee on the first node', 'client');
    no_presence('the client: still one employee, two nodes', $sa);

    $s1->close;
    no_presence('one of the two nodes\' tabs closed', $sa);

    $s2->close;
    sees($sa, 'the tab on the other node closed: the employee left');

    # a node that dies says nothing: its entries expire
    $s2 = ChantierStream->open($e_c, $fid, port => $nginx2);
    sees($sa, 'the employee on the other node again', 'employee');
    my $killed = kill_nginx2();
    ok $killed, "the other node killed (SIGKILL, $killed processes)";

    my $t0 = time;
    my $p = $sa->next_presence($EXPIRY);
    is_deeply $p, { viewers => [] },
        sprintf('the dead node\'s viewer gone after %.1f s (at most %d)',
                time - $t0, $EXPIRY) or diag explain $p;

    stop_nginx2();
    undef $nginx2;
};

subtest 'a crowd: 51 viewers listed at most, the others counted' => sub {
    my @crowd = map { scalar client_for(role => 'employee') } 1 .. 55;
    my @streams = map { ChantierStream->open($_, $fid) } @crowd;
    is scalar(grep { $_->{status} == 200 } @streams), 55,
        '55 employees open the fiche';

    # the client's last presence event, once all have arrived
    my ($p, $last);
    ok wait_until(sub {
            while (my $q = $sa->next_presence(0.1)) { $last = $q }
            $p = $last;
            $p && @{ $p->{viewers} } + ($p->{more} // 0) == 55;
        }, timeout => 10),
        'the client is told of 55 viewers in the end'
        or diag explain $p;
    cmp_ok scalar(@{ $p->{viewers} // [] }), '<=', 51, 'at most 51 listed';
    ok !grep({ $_->{id} == $ua->{id} } @{ $p->{viewers} // [] }),
        'the client is not among them';
    cmp_ok $p->{more} // 0, '>', 0, '"more" counts the others';

    $_->close for @streams;
    ok wait_until(sub {
            while (my $q = $sa->next_presence(0.1)) { $last = $q }
            $last && !@{ $last->{viewers} } && !$last->{more};
        }, timeout => 10),
        'all gone: the client is told that nobody else looks'
        or diag explain $last;
};

subtest 'nothing left behind' => sub {
    $sa->close;
    ok wait_until(sub { entries() eq '0' }, timeout => 5),
        'the last stream closed: no entry left in Redis'
        or diag 'ZCARD ' . entries();
    no_error_logged($log_start, 'no crash or alert in the error log');
};

done_testing;


# SIGKILL to the second node's master and workers: a machine lost
sub kill_nginx2 {
    open my $fh, '<', var_dir() . '/nginx2/run/nginx.pid' or return 0;
    my $master = <$fh>;
    close $fh;
    chomp $master;

    my @pids = ($master);

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $sf, '<', $stat or next;
        my $line = <$sf> // next;
        close $sf;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @pids, $pid if $ppid == $master;
    }

    return kill 'KILL', @pids;
}
