# Faults under load (hardening issue): while forked clients drive logins,
# fiche reads and comment posts (t/lib/ChantierLoad.pm: 2 of each, ~10 s),
# PostgreSQL is restarted, then Redis, then one nginx worker is killed with
# SIGKILL (its master starts another): the one holding a comment that
# waits for the fiche's row, locked meanwhile by another session, so that
# a comment is always in flight in the killed worker.  Afterwards:
#
# - every answer was one the API may give: 200 (login, read), 304 (read),
#   201 (comment), or 503 service_unavailable with Retry-After while a
#   service was down; never a 500, a 502 or a 504, a 401 (no session ends:
#   Redis keeps them across its restart, appendonly), a 429, or a request
#   left hanging past its 10 s timeout (above chantier_postgres_timeout,
#   5 s);
# - a request may get no answer at all (connection closed or reset) only
#   if it was in flight when the worker was killed;
# - every comment answered 201 is in the database exactly once; every
#   comment answered otherwise (503) is not, and nothing else is.  The one
#   exception is a comment that got no answer because its worker was
#   killed: its statement goes on in PostgreSQL without its client and may
#   commit (here it does: it waited for the lock, which is released after
#   the kill), so it may be in the database, at most once, or not.  Those
#   are counted and shown separately ("lost answers"), never mixed with
#   the others; a client cannot tell them from a failure, which is why
#   the answer it never got is not a 503;
# - the API recovers by itself: health 200, and each client's own requests
#   succeed again;
# - the module holds exactly workers x chantier_postgres_pool_size
#   PostgreSQL connections again (pg_stat_activity), the killed worker's
#   included: its replacement opens its own and the server ends the dead
#   one's;
# - the workers hold no more file descriptors than before the load (all
#   workers together: the replacement worker starts with what the killed
#   one had at rest, its listening sockets, logs, channel, PostgreSQL and
#   Redis connections), with a slack of $FD_SLACK for the keep-alive
#   connection of the harness's administrator client, which either worker
#   may hold (or lose with the killed one);
# - Redis has as many clients as before (each worker's command and
#   subscriber connections, reopened after the restart and by the new
#   worker, the dead worker's closed);
# - nginx logged no [alert], [crit] or [emerg] but the death of the worker
#   this test killed;
# - a user who tries to log in 6 times during the PostgreSQL outage gets
#   503 each time, and logs in once PostgreSQL is back (an attempt that
#   could not be checked is given back to the limiter).
#
# The load comes from 127.0.0.2 (loopback too): the login attempts that a
# worker killed mid-login leaves counted go against that address, not
# against 127.0.0.1, which the other
# test files share (100 per 15 min).  Timings are printed, never asserted.
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
use ChantierLoad;

my $SOURCE   = '127.0.0.2';
my $TIMEOUT  = 10;      # s, each request of the load
my $RECOVERY = 20;      # s: the pool reconnects with a backoff up to 5 s
my $FD_SLACK = 2;
my $T0 = time;

my $log_start = error_log_size();

END {
    local $?;
    eval { start_postgres() };
    eval { start_redis() };
    wait_until(sub { api(GET => 'health')->{status} == 200 },
               timeout => $RECOVERY);
}
$SIG{INT} = $SIG{TERM} = sub { exit 130 };

my $workers = nginx_conf_value('worker_processes', 1);
my $pool = nginx_conf_value('chantier_postgres_pool_size', 4);
my $want_pg = $workers * $pool;

like $workers, qr/^[1-9]\d*$/, "nginx.conf: worker_processes $workers";
like $pool, qr/^[1-9]\d*$/, "nginx.conf: chantier_postgres_pool_size $pool"
    . ' (4 when absent)';


# ---- the fiche, its users, the login accounts ----

my ($client, $cu) = client_for(role => 'client');
my ($employee) = client_for(role => 'employee');
my $fiche = create_chantier(client_id => $cu->{id});
my $post = publish($employee, $fiche->{id}, 'Publication sous charge');

my @accounts = map { [$_->{login}, $_->{password}] }
    map { create_user(role => 'client') } 1 .. 6;

# a user who tries to log in during the PostgreSQL outage, from an address
# of her own
my $retrier = create_user(role => 'client');
my $retry = load_client(source => '127.0.0.3');
my @outage_logins;

my $tag = "faults-$$";
my @specs = (
    { kind => 'login', accounts => [@accounts[0 .. 2]], pause => 0.05 },
    { kind => 'login', accounts => [@accounts[3 .. 5]], pause => 0.05 },
    { kind => 'read', session => $client, fiche => $fiche->{id} },
    { kind => 'read', session => $employee, fiche => $fiche->{id} },
    { kind => 'comment', session => $client, post => $post->{id},
      tag => "$tag-c", pause => 0.03 },
    { kind => 'comment', session => $employee, post => $post->{id},
      tag => "$tag-e", pause => 0.03 },
);
$_->{source} = $SOURCE, $_->{timeout} = $TIMEOUT for @specs;

# warm: every worker has its connections up; then what they hold at rest
for (1 .. 6) {
    is load_client(source => $SOURCE, session => $client)
        ->api(GET => "fiches/$fiche->{id}")->{status}, 200,
        "warm-up read $_ from $SOURCE: 200";
}
sleep 0.5;

my $pids_before = worker_pids();
my $fds_before = worker_fds();
my %fds_each = map { $_ => fds_of($_) } keys %$pids_before;
my $redis_before = redis_clients();
my $pg_before = wait_until(sub { app_pg_connections() == $want_pg },
                           timeout => 5) ? $want_pg : app_pg_connections();

is scalar(keys %$pids_before), $workers, "$workers workers: "
    . join(' ', sort keys %$pids_before);
is $pg_before, $want_pg, "before the load: $want_pg PostgreSQL connections"
    . " ($workers workers x $pool)";
diag "before the load: the workers hold $fds_before descriptors ("
    . join(', ', map { "$_: $fds_each{$_}" } sort keys %fds_each)
    . "), Redis has $redis_before clients";


# ---- the load and the faults ----

my %fault;      # name => [start, end of the outage, back to health]
my $load = start_load(@specs);
my $load_start = time;
sleep 2;

fault('PostgreSQL restart', sub {
    stop_postgres();
    my $t = time;
    @outage_logins = map { $retry->login($retrier->{login},
                                         $retrier->{password})->{status} }
        1 .. 6;
    sleep 1 - (time - $t) if time - $t < 1;
    start_postgres();
});
sleep 1.5;

fault('Redis restart', sub {
    stop_redis();
    sleep 1;
    start_redis();
});
sleep 1.5;

# The worker killed is one with a comment in flight, so that the case of
# a comment committed after its worker died is exercised, not left to
# chance: another session holds the fiche's row (api.comment_create locks
# it first) for 1.5 s, the comments wait for it, and the worker whose
# PostgreSQL connection carries a waiting one is killed.  Once the lock
# is released, that comment commits with nobody to answer.
my ($victim, $kill_from, $kill_to);
fault('kill -9 of a worker', sub {
    my $locker = lock_fiche(1.5);
    $victim = wait_until(sub { worker_waiting_for_lock() },
                         timeout => 1, interval => 0.02);
    ok $victim, "a comment waits for the fiche's row in worker "
        . ($victim // '?');
    $victim //= (sort keys %$pids_before)[0];

    $kill_from = time;
    # scripts/test reports a worker's death after the run, but this one's
    if (open my $k, '>>', var_dir() . '/log/killed-by-tests') {
        print {$k} "$victim\n";
        close $k;
    }
    kill 'KILL', $victim or die "kill $victim: $!";
    $kill_to = time;

    waitpid $locker, 0;
    wait_until(sub {
        my $now = worker_pids();
        !$now->{$victim} && keys %$now == $workers;
    }, timeout => 10);
});
my $recovered = time;
sleep 2;

my @answers = stop_load($load);
my $load_end = time;

diag sprintf '%s: %.2f s, health 200 again %.2f s after it began',
    $_, $fault{$_}[1] - $fault{$_}[0], $fault{$_}[2] - $fault{$_}[0]
    for sort { $fault{$a}[0] <=> $fault{$b}[0] } keys %fault;

my $pids_after = worker_pids();
ok !$pids_after->{$victim}, "worker $victim is gone";
is scalar(keys %$pids_after), $workers, "$workers workers again: "
    . join(' ', sort keys %$pids_after);


# ---- what the clients saw ----

my (%count, @bad, @lost);

for my $x (@answers) {
    my $st = $x->{status};
    my $what = $st == 599 ? (timed_out($x) ? 'timeout' : 'no answer') : $st;
    $count{$x->{kind}}{$what}++;

    my %ok = (login => [200], read => [200, 304], comment => [201]);

    if (grep { $st == $_ } @{ $ok{$x->{kind}} }) {
        next;
    }
    if ($st == 503) {
        push @bad, $x unless ($x->{retry_after} // '') =~ /^[1-9]\d*$/
            && ($x->{code} // '') eq 'service_unavailable';
        next;
    }
    if ($st == 599 && !timed_out($x) && in_flight_at_kill($x)) {
        push @lost, $x;
        next;
    }
    push @bad, $x;
}

diag sprintf '%d requests in %.1f s from %d clients: %s', scalar(@answers),
    $load_end - $load_start, scalar(@specs),
    join '; ', map { my $k = $_; "$k " . join ', ', map {
        "$count{$k}{$_} x $_" } sort keys %{ $count{$k} } } sort keys %count;

is scalar(@bad), 0, 'every answer was 200/201/304, or 503 with Retry-After'
    . ' and service_unavailable; no 5xx other, no 401, no 429, no timeout'
    or diag_answers('unexpected', @bad);

for my $kind (qw(login read comment)) {
    ok $count{$kind}{503}, "$kind: some 503 while a service was down"
        . ' (the faults reached the load)';
    ok scalar(grep { $_->{kind} eq $kind && $_->{start} > $recovered
                     && $_->{status} =~ /^(200|201|304)$/ } @answers),
        "$kind: succeeds again after the last fault";
}

diag scalar(@lost) . ' requests in flight in the killed worker got no'
    . ' answer: ' . join(', ', map { "$_->{kind} $_->{status}" } @lost);
ok scalar(grep { $_->{kind} eq 'comment' } @lost), 'the kill left at least'
    . ' one comment without an answer (the case below is exercised)';


# ---- comments: the answers against the database ----

my %in_db;
$in_db{$_}++ for split /\n/, psql("select body from chantier.comments"
    . " where post_id = $post->{id} and body like '$tag-%'");

my @comments = grep { $_->{kind} eq 'comment' } @answers;
my @created = grep { $_->{status} == 201 } @comments;
my @refused = grep { $_->{status} != 201 && !is_lost($_) } @comments;
my @unknown = grep { is_lost($_) } @comments;

my @missing = grep { !$in_db{ $_->{text} } } @created;
my @twice = grep { $in_db{$_} > 1 } keys %in_db;
my @ghosts = grep { $in_db{ $_->{text} } } @refused;
my %sent = map { $_->{text} => 1 } @comments;
my @unsent = grep { !$sent{$_} } keys %in_db;
my @lost_in_db = grep { $in_db{ $_->{text} } } @unknown;

diag sprintf 'comments: %d answered 201, %d in the database, %d answered'
    . ' otherwise (%d of them in the database), %d lost answers (%d of'
    . ' them in the database)', scalar(@created), scalar(keys %in_db),
    scalar(@refused), scalar(@ghosts), scalar(@unknown),
    scalar(@lost_in_db);

ok @created > 0, scalar(@created) . ' comments answered 201';
is scalar(@missing), 0, 'every comment answered 201 is in the database'
    or diag_answers('missing', @missing);
is scalar(@twice), 0, 'no comment is in the database twice'
    or diag "twice: @twice[0 .. ($#twice < 9 ? $#twice : 9)]";
is scalar(@ghosts), 0, 'no comment answered 503 is in the database'
    or diag_answers('in the database after 503', @ghosts);
is scalar(@unsent), 0, 'nothing else in the database'
    or diag "unsent: @unsent[0 .. ($#unsent < 9 ? $#unsent : 9)]";
cmp_ok scalar(@lost), '<=', scalar(@specs), 'no answer: at most the'
    . ' requests in flight at the kill (one per client)';


# ---- what the server holds afterwards ----

ok wait_until(sub { api(GET => 'health')->{status} == 200 },
              timeout => $RECOVERY), 'GET health 200';

my $pg_after;
my $t = time;
ok wait_until(sub { ($pg_after = app_pg_connections()) == $want_pg },
              timeout => $RECOVERY, interval => 0.25),
    "PostgreSQL connections of the module back to $want_pg"
    . sprintf(' (%d, after %.1f s)', $pg_after, time - $t);

my $fds_after;
$t = time;
ok wait_until(sub { ($fds_after = worker_fds()) <= $fds_before + $FD_SLACK },
              timeout => 10, interval => 0.25),
    "the workers hold no more descriptors than before ($fds_before"
    . " + $FD_SLACK): $fds_after" . sprintf(' (after %.1f s)', time - $t);
diag 'after: ' . join(', ', map { "$_: " . fds_of($_)
    . ($pids_before->{$_} ? " (was $fds_each{$_})" : ' (new)') }
    sort keys %$pids_after) . "; the killed $victim had $fds_each{$victim}";

my $redis_after;
ok wait_until(sub { ($redis_after = redis_clients()) == $redis_before },
              timeout => 10, interval => 0.25),
    "Redis clients back to $redis_before: $redis_after";

my $r = $client->api(GET => 'me');
is $r->{status}, 200, 'the fiche\'s client: same session, GET me 200';

# An outage is not a failed login: an attempt that could not be checked
# (503) is given back, so that six tries during the outage do not lock the
# user out once PostgreSQL is back.
is_deeply \@outage_logins, [(503) x 6], '6 logins during the PostgreSQL'
    . ' outage: 503 each, not 429' or diag "@outage_logins";
$r = $retry->login($retrier->{login}, $retrier->{password});
is $r->{status}, 200, 'after the outage, the right password: 200'
    or diag "$r->{status} Retry-After "
            . ($r->{headers}{'retry-after'} // '-');

my @alarms = grep { /\[(alert|crit|emerg)\]|exited on signal/
                    && !/worker process $victim exited on signal 9/ }
    error_log_since($log_start);
is scalar(@alarms), 0, 'nginx error log: no [alert], [crit], [emerg] or'
    . " crash but worker $victim killed by this test"
    or diag join '', @alarms[0 .. ($#alarms < 9 ? $#alarms : 9)];

diag sprintf 'the whole file: %.1f s', time - $T0;

done_testing;


# runs a fault, then waits for health 200: {name => [start, end, healthy]}
sub fault {
    my ($name, $code) = @_;

    my $start = time;
    $code->();
    my $end = time;
    my $ok = wait_until(sub { api(GET => 'health')->{status} == 200 },
                        timeout => $RECOVERY, interval => 0.1);
    ok $ok, "$name: GET health 200 again";
    $fault{$name} = [$start, $end, time];
}

# no HTTP answer, for a request that was in flight when the worker died
sub in_flight_at_kill {
    my ($x) = @_;
    return defined $kill_from
        && $x->{start} <= $kill_to + 0.1 && $x->{end} >= $kill_from - 0.1;
}

sub is_lost {
    my ($x) = @_;
    return $x->{status} == 599 && !timed_out($x) && in_flight_at_kill($x);
}

# a psql holding the fiche's row for that many seconds (in the
# background); its pid once the row is held
sub lock_fiche {
    my ($seconds) = @_;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        exec 'psql', '-X', '-q', '-c', 'begin; select from chantier.fiches'
            . " where id = $fiche->{id} for update; select pg_sleep($seconds);"
            . ' commit;';
        warn "exec psql: $!";
        POSIX::_exit(1);
    }

    # the row is held once its session sleeps
    wait_until(sub {
        psql(q{select count(*) from pg_stat_activity
                where wait_event = 'PgSleep' and query like '%for update%'});
    }, timeout => 5, interval => 0.02);

    return $pid;
}

# the worker whose PostgreSQL connection carries a comment waiting for a
# lock: its local port is the backend's client_port
sub worker_waiting_for_lock {
    my @ports = split /\n/, psql(q{select client_port from pg_stat_activity
        where wait_event_type = 'Lock' and query like '%comment_create%'});
    return unless @ports;

    my %port_of;     # socket inode => local port
    open my $fh, '<', '/proc/net/tcp' or return;
    while (<$fh>) {
        my @f = split ' ';
        $port_of{ $f[9] } = hex $1 if ($f[1] // '') =~ /:([0-9A-F]{4})$/;
    }
    close $fh;

    my %waiting = map { $_ => 1 } @ports;
    for my $pid (sort keys %{ worker_pids() }) {
        opendir my $d, "/proc/$pid/fd" or next;
        for my $fd (readdir $d) {
            my $l = readlink("/proc/$pid/fd/$fd") // next;
            return $pid if $l =~ /^socket:\[(\d+)\]$/
                && $waiting{ $port_of{$1} // '' };
        }
    }
    return;
}

# clients connected to Redis, but the redis-cli asking
sub redis_clients {
    return scalar(grep { /\S/ } split /\n/, redis_cli('client', 'list')) - 1;
}

sub fds_of {
    my ($pid) = @_;
    opendir my $d, "/proc/$pid/fd" or return 0;
    my $n = grep { !/^\./ } readdir $d;
    closedir $d;
    return $n;
}

sub diag_answers {
    my ($what, @list) = @_;
    diag "$what: " . scalar(@list);
    for my $x (@list[0 .. ($#list < 14 ? $#list : 14)]) {
        diag sprintf '  %s #%d.%d at +%.2f s (%.2f s): %s %s%s', $x->{kind},
            $x->{client}, $x->{n}, $x->{start} - $T0,
            $x->{end} - $x->{start}, $x->{status},
            join(' ', grep { defined } @$x{qw(code retry_after error)}),
            defined $x->{text} ? " [$x->{text}]" : '';
    }
}
