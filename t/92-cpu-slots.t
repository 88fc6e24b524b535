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

done_testing;
