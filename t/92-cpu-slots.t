#!/usr/bin/perl
#
# chantier_cpu_slots: the thread-pool tasks of all the workers share the
# slots of one shared zone (scripts/stack sets 1 slot, whatever the
# machine).  A slot is a robust process-shared mutex:
#
# - eight logins at once, spread over both workers, all succeed: they wait
#   for the one slot in turn, none is refused or lost;
# - the workers killed with kill -9 while logins are hashing, so that the
#   holder of the slot dies holding it: the workers the master starts
#   again take the slot over (EOWNERDEAD) and logins succeed; without
#   robust mutexes every later login would wait for ever.
#
# - chantier_thread_cpu_affinity (a second nginx with PIN_CPUS=1): the
#   pool threads that ran a task compute on the pool's CPU only, at nice
#   10, while each worker's event loop keeps the CPUs of
#   worker_cpu_affinity.
#
# What this costs in latency, and what it buys the event loops, is
# measured by make bench, not here.

use strict;
use warnings;

use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;

my $PASSWORD = 'mot-de-passe-slots';

my $conf = do {
    open my $fh, '<', var_dir() . '/nginx.conf' or die "nginx.conf: $!";
    local $/;
    <$fh>;
};
like $conf, qr/^\s*chantier_cpu_slots 1;/m, 'the stack runs with one CPU slot';

my @users = map { create_user(role => 'client', password => $PASSWORD) } 1 .. 12;

# for after the kill: fresh accounts, with no attempt of the killed logins
# left pending (creating one hashes its password too)
my @after = map { create_user(role => 'client', password => $PASSWORD) } 1 .. 4;

sub login_of {
    my ($user) = @_;
    return sub {
        my $c = client(keep_alive => 0);
        return $c->api(POST => 'session',
                       { login => $user->{login}, password => $PASSWORD });
    };
}

my @status = parallel(map { login_of($_) } @users[0 .. 7]);
is_deeply \@status, [ (200) x 8 ],
    'eight logins at once on one slot: all 200'
    or diag "statuses: @status";

# kill -9 of every worker with logins hashing: the one holding the slot
# dies with it
my $workers = keys %{ worker_pids() };
my $log = error_log_size();

my @kids;
for my $user (@users[8 .. 11]) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        login_of($user)->();
        POSIX::_exit(0);
    }
    push @kids, $pid;
}

# the first login reaches its hash after a Redis and a PostgreSQL round trip
sleep 0.08;

my @victims = sort keys %{ worker_pids() };
if (open my $k, '>>', var_dir() . '/log/killed-by-tests') {
    print {$k} "$_\n" for @victims;
    close $k;
}
kill 'KILL', @victims;
waitpid $_, 0 for @kids;

ok wait_until(sub {
        my $now = worker_pids();
        keys %$now == $workers && !grep { $now->{$_} } @victims;
    }, timeout => 10),
    "the master started $workers new workers";

my $t0 = time;
@status = parallel(map { login_of($_) } @after);
is_deeply \@status, [ (200) x 4 ],
    'after the kill, four logins at once: all 200 (the slot was taken over)'
    or diag "statuses: @status after " . sprintf('%.1f s', time - $t0);


# a thread's allowed CPUs ("0", "1", "0-3") and nice value, from /proc
sub thread_place {
    my ($pid, $tid) = @_;
    my ($cpus, $nice);

    if (open my $fh, '<', "/proc/$pid/task/$tid/status") {
        while (<$fh>) {
            $cpus = $1 if /^Cpus_allowed_list:\s*(\S+)/;
        }
        close $fh;
    }
    if (open my $fh, '<', "/proc/$pid/task/$tid/stat") {
        my $line = <$fh> // '';
        close $fh;
        # after "(comm)": state is field 3, nice field 19
        my @f = split ' ', ($line =~ /\)\s+(.*)$/)[0] // '';
        $nice = $f[16];
    }

    return ($cpus // '?', $nice // '?');
}

subtest 'chantier_thread_cpu_affinity: the tasks on their CPU, the loops on the others' => sub {
    my $n = `nproc`;
    chomp $n;
    plan skip_all => "one CPU: nothing to pin ($n)" if $n < 2;

    my $port = free_port();
    {
        local $ENV{NGINX2_PIN_CPUS} = 1;
        start_nginx2($port);
    }

    my $conf = do {
        open my $fh, '<', var_dir() . '/nginx2/nginx.conf' or die $!;
        local $/;
        <$fh>;
    };
    my $pool_cpu = $n - 1;
    my $loop_cpus = $n == 2 ? '0' : '0-' . ($n - 2);
    like $conf, qr/^\s*chantier_thread_cpu_affinity 10+;/m,
        'the pool on the last CPU';
    like $conf, qr/^worker_cpu_affinity 01+;/m, 'the event loops on the others';

    # enough logins at once that every pool thread of both workers runs one
    my @users = map { create_user(role => 'client', password => $PASSWORD) }
                    1 .. 8;
    my @status = parallel(map { my $u = $_; sub {
        my $c = client(keep_alive => 0);
        $c->api(POST => "http://127.0.0.1:$port/api/session",
                { login => $u->{login}, password => $PASSWORD });
    } } @users);
    is_deeply \@status, [ (200) x 8 ], 'eight logins on the second nginx: 200';

    my $workers = worker_pids(var_dir() . '/nginx2/run/nginx.pid');
    ok scalar(keys %$workers), 'its workers found';

    my (@loops, @tasks, @others);
    for my $pid (sort keys %$workers) {
        opendir my $d, "/proc/$pid/task" or next;
        for my $tid (grep { /^\d+$/ } readdir $d) {
            my ($cpus, $nice) = thread_place($pid, $tid);
            if ($tid == $pid) {
                push @loops, "$tid:$cpus:$nice";
            } elsif ($nice eq '10') {
                push @tasks, "$tid:$cpus";
            } else {
                push @others, "$tid:$cpus:$nice";
            }
        }
        closedir $d;
    }

    is_deeply [ grep { !/^\d+:\Q$loop_cpus\E:0$/ } @loops ], [],
        "every event loop on CPUs $loop_cpus at nice 0 (@loops)";
    ok @tasks >= 1, scalar(@tasks) . ' pool threads ran a task (nice 10)';
    is_deeply [ grep { !/^\d+:$pool_cpu$/ } @tasks ], [],
        "each of them on CPU $pool_cpu only (@tasks)";

    stop_nginx2();
};

done_testing;
