# Outages (SPEC section 5, issue 2): PostgreSQL or Redis stopped mid-run
# -> 503 service_unavailable with Retry-After, naming the service; started
# again -> the same requests succeed without restarting nginx, with the same
# session.  Also a Redis that hangs (CLIENT PAUSE), both down at once, a
# query that outlives chantier_postgres_timeout (a table locked by another
# session), a query cancelled by the server, and the module's backends
# terminated.  nginx must never crash, and static files keep being served
# throughout.
#
# Whatever happens, the END block starts PostgreSQL and Redis again and
# waits until the API is healthy, for the test files that follow.

use strict;
use warnings;

use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;

my $log_start = error_log_size();

my $RECOVERY = 15;      # s: the pool retries with a backoff up to 5 s

my $locker;             # pid of the psql holding a lock, if any

END {
    local $?;           # keep the test's exit status

    unlock_users();

    eval { start_postgres() };
    eval { start_redis() };

    wait_until(sub { api(GET => 'health')->{status} == 200 },
        timeout => $RECOVERY);
}

# interrupted (Ctrl-C, prove's timeout): still run END
$SIG{INT} = $SIG{TERM} = sub { exit 130 };

my ($c, $user) = client_for(role => 'client');
my $workers = worker_pids();

ok scalar(keys %$workers) > 0, 'nginx workers found: '
    . join(' ', sort keys %$workers);

my $r = $c->api(GET => 'me');
is $r->{status}, 200, 'logged in: GET me 200';
is $r->{json}{id}, $user->{id}, 'GET me: the user';


subtest 'PostgreSQL down' => sub {
    stop_postgres();

    # GET me may be answered from the user's document cached in Redis: GET
    # fiches always needs PostgreSQL
    my $r = $c->api(GET => 'fiches');
    unavailable($r, qr/PostgreSQL/, 'PostgreSQL down: GET fiches');
    unlike $r->{json}{error}{message} // '', qr/Redis/,
        'PostgreSQL down: the message does not blame Redis';

    $r = api(GET => 'health');
    unavailable($r, qr/PostgreSQL/, 'PostgreSQL down: GET health');

    $r = client()->login($user->{login}, $user->{password});
    unavailable($r, qr/PostgreSQL/, 'PostgreSQL down: login');

    $r = $c->api(PATCH => 'me', { phone => '0611223344' });
    unavailable($r, qr/PostgreSQL/, 'PostgreSQL down: PATCH me');

    static_ok('PostgreSQL down');

    start_postgres();

    recovers('PostgreSQL restarted');
};


subtest 'Redis down' => sub {
    stop_redis();

    my $r = $c->api(GET => 'me');
    unavailable($r, qr/Redis/, 'Redis down: GET me');
    unlike $r->{json}{error}{message} // '', qr/PostgreSQL/,
        'Redis down: the message does not blame PostgreSQL';

    $r = api(GET => 'health');
    unavailable($r, qr/Redis/, 'Redis down: GET health');

    $r = client()->login($user->{login}, $user->{password});
    unavailable($r, qr/Redis/, 'Redis down: login');

    $r = $c->api(PATCH => 'me', { phone => '0611223344' });
    unavailable($r, qr/Redis/, 'Redis down: PATCH me');

    static_ok('Redis down');

    start_redis();

    recovers('Redis restarted');
};


# CLIENT PAUSE holds every client of Redis for 6 s: the module gives up
# after chantier_redis_timeout (2 s by default).

subtest 'Redis hangs (up, but does not answer)' => sub {
    redis_cli('client', 'pause', '6000', 'ALL');
    my $paused = time;

    static_ok('Redis paused');

    my $t0 = time;
    my $r = $c->api(GET => 'me');
    my $took = time - $t0;

    unavailable($r, qr/Redis/, 'Redis paused: GET me');
    cmp_ok $took, '<', 4, sprintf('Redis paused: answered after the Redis'
        . ' timeout, not after the pause (%.1f s)', $took);

    $r = api(GET => 'health');
    is $r->{status}, 503, 'Redis paused: GET health 503';

    sleep 0.25 while time - $paused < 6;

    recovers('Redis answers again');
};


subtest 'both down' => sub {
    stop_postgres();
    stop_redis();

    my $r = api(GET => 'health');
    unavailable($r, qr/PostgreSQL/, 'both down: GET health names PostgreSQL');
    like $r->{json}{error}{message} // '', qr/Redis/,
        'both down: GET health names Redis';

    $r = $c->api(GET => 'me');
    unavailable($r, qr/PostgreSQL|Redis/, 'both down: GET me');

    static_ok('both down');

    start_redis();
    start_postgres();

    recovers('both restarted');
};


# Another session locks chantier.users for 8 s: GET fiches waits for the lock
# until the module gives up (chantier_postgres_timeout, 5 s by default) and
# answers 503.  Meanwhile the worker keeps serving other requests.

subtest 'a query slower than chantier_postgres_timeout' => sub {
    SKIP: {
        skip 'could not lock chantier.users', 11 unless lock_users(8);

        my $slow = background_get_fiches();

        sleep 1;

        my $t0 = time;
        my $r = api(GET => 'health');
        is $r->{status}, 200, 'lock held, GET fiches waiting: GET health 200';
        cmp_ok time - $t0, '<', 1, 'lock held: GET health answers at once';

        $t0 = time;
        $r = api(GET => '/');
        is $r->{status}, 200, 'lock held: static GET / 200';
        cmp_ok time - $t0, '<', 1, 'lock held: GET / answers at once';

        my $res = $slow->();

        cmp_ok $res->{seconds} // 0, '>=', 4, 'lock held: not before ~5 s'
            . sprintf(' (%.1f s)', $res->{seconds} // 0);
        cmp_ok $res->{seconds} // 99, '<', 7.5, 'lock held: soon after 5 s';
        cmp_ok $res->{status} // 0, '!=', 200,
            'lock held: GET fiches not a 200';

        unavailable_bg($res, 'lock held: GET fiches after the query timeout');
    }

    unlock_users();
    recovers('lock released');
};


# The same lock; this time the waiting query of the module is cancelled
# from another session (pg_cancel_backend, SQLSTATE 57014 as for
# statement_timeout): the answer is a 503, not a 500.

subtest 'a query cancelled by the server' => sub {
    SKIP: {
        skip 'could not lock chantier.users', 6 unless lock_users(8);

        my $waiting = background_get_fiches();

        my $cancelled = wait_until(sub {
            eval {
                psql(q{select count(pg_cancel_backend(pid))
                         from pg_stat_activity
                        where usename = current_user
                          and pid <> pg_backend_pid()
                          and wait_event_type = 'Lock'
                          and query like '%fiches_list%'});
            } // 0;
        }, timeout => 4);

        ok $cancelled, 'the waiting query of GET fiches cancelled';

        my $res = $waiting->();

        cmp_ok $res->{seconds} // 99, '<', 4.5,
            'cancelled: answered before the module\'s own timeout';

        unavailable_bg($res, 'cancelled: GET fiches');
    }

    unlock_users();
    recovers('after the cancelled query');
};


# as by a PostgreSQL restart
subtest 'the module\'s backends terminated' => sub {
    my $n = psql(q{select count(pg_terminate_backend(pid))
                     from pg_stat_activity
                    where usename = current_user
                      and pid <> pg_backend_pid()
                      and backend_type = 'client backend'});

    cmp_ok $n, '>', 0, "$n backends of the module terminated";

    my $r = $c->api(GET => 'me');
    ok $r->{status} == 200 || $r->{status} == 503,
        'right after: GET me 200 or 503, not an error'
        or diag "$r->{status} $r->{raw}";

    recovers('backends terminated');
};


subtest 'nginx never crashed' => sub {
    is_deeply worker_pids(), $workers,
        'the same nginx workers as at the start (none died and was respawned)';

    no_error_logged($log_start,
        'nginx error log: no [alert], [crit], [emerg] or "exited on signal"');
};

done_testing;



# Another session takes an exclusive lock on chantier.users for that many
# seconds (in the background); true once the lock is held.
sub lock_users {
    my ($seconds) = @_;

    $locker = fork // die "fork: $!";

    if ($locker == 0) {
        # its "terminating connection" when unlock_users() ends it
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec 'psql', '-X', '-q', '-c',
            'begin; lock table chantier.users in access exclusive mode; '
            . "select pg_sleep($seconds); commit;";
        warn "exec psql: $!";
        POSIX::_exit(1);
    }

    return wait_until(sub {
        eval {
            psql(q{select count(*) from pg_locks l
                     join pg_class c on c.oid = l.relation
                    where c.relname = 'users' and l.granted
                      and l.mode = 'AccessExclusiveLock'});
        } // 0;
    }, timeout => 5);
}

sub unlock_users {
    return unless $locker;

    # psql gone, its backend would still sleep with the lock: end it
    eval {
        psql(q{select count(pg_terminate_backend(pid))
                 from pg_stat_activity
                where pid <> pg_backend_pid()
                  and query like '%lock table chantier.users%'});
    };

    kill 'TERM', $locker;
    waitpid $locker, 0;
    undef $locker;
}

# GET fiches with the session of $c, from a child process, so that this one
# can go on meanwhile.  Returns a sub that waits for the answer:
# { status, seconds, retry_after, json }.
sub background_get_fiches {
    pipe my $rd, my $wr or die "pipe: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $rd;

        # a connection of its own, the same session
        my $same = twin($c);

        my $t0 = time;
        my $res = $same->api(GET => 'fiches');
        print $wr json_encode({
            status      => $res->{status},
            seconds     => time - $t0,
            retry_after => $res->{headers}{'retry-after'},
            json        => $res->{json},
        });
        close $wr;
        POSIX::_exit(0);
    }

    close $wr;

    return sub {
        my $out = do { local $/; <$rd> };
        waitpid $pid, 0;
        my $res = json_decode($out // '') // {};
        diag "background GET fiches: $out" unless ($res->{status} // 0) == 503;
        return $res;
    };
}

sub unavailable_bg {
    my ($res, $what) = @_;

    is $res->{status}, 503, "$what: 503";
    like $res->{retry_after} // '', qr/^[1-9]\d*$/, "$what: Retry-After";

    my $e = ref $res->{json} eq 'HASH' ? $res->{json}{error} : undef;
    is ref $e eq 'HASH' ? $e->{code} : undef, 'service_unavailable',
        "$what: service_unavailable";
    like ref $e eq 'HASH' ? $e->{message} // '' : '', qr/PostgreSQL/,
        "$what: the message names PostgreSQL";
}

# 503 service_unavailable, Retry-After, a message naming the service
sub unavailable {
    my ($r, $names, $what) = @_;

    is $r->{status}, 503, "$what: 503"
        or diag substr($r->{raw}, 0, 300);

    like $r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
        "$what: Retry-After";

    my $e = ref $r->{json} eq 'HASH' ? $r->{json}{error} : undef;

    is ref $e eq 'HASH' ? $e->{code} : undef, 'service_unavailable',
        "$what: service_unavailable";
    like ref $e eq 'HASH' ? $e->{message} // '' : '', $names,
        "$what: the message names the service";
}

sub static_ok {
    my ($what) = @_;

    my $r = api(GET => '/');
    is $r->{status}, 200, "$what: static GET / still 200";
}

# the session of $c works again, and so do health and a new login
sub recovers {
    my ($what) = @_;

    my $t0 = time;
    my $last;

    wait_until(sub {
        $last = $c->api(GET => 'me');
        $last->{status} == 200;
    }, timeout => $RECOVERY, interval => 0.25);

    is $last->{status}, 200, "$what: GET me 200 again, same session"
        . sprintf(' (after %.1f s)', time - $t0)
        or diag substr($last->{raw}, 0, 300);
    is $last->{json}{id}, $user->{id}, "$what: GET me: the same user";

    my $h = wait_until(sub { api(GET => 'health')->{status} == 200 },
        timeout => $RECOVERY, interval => 0.25);
    ok $h, "$what: GET health 200";

    my $other = client();
    my $r = $other->login($user->{login}, $user->{password});
    is $r->{status}, 200, "$what: login 200"
        or diag substr($r->{raw}, 0, 300);

    $r = $c->api(GET => 'me');
    is $r->{status}, 200, "$what: the first session still works after"
        . ' another login';
}

