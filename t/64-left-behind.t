# What a request leaves behind when its client goes away first: nothing.
# A client that resets its connection (SO_LINGER {1, 0}: an RST, no FIN)
# while its request waits for Redis must not leave the request, its pool
# and its socket allocated in the worker.  Counted from outside: the open
# file descriptors of the nginx workers (/proc/PID/fd).

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep);

use lib 't/lib';
use ChantierTest;



my ($port) = url('/') =~ m{:(\d+)/};

# sends a request and resets the connection at once, without reading
sub send_and_reset {
    my ($request) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp')
        or die "connect: $!";
    print {$s} $request;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) or die $!;
    close $s;
}

my ($c, $user) = client_for(role => 'client');
my $cookie = 'chantier_session=' . $c->cookie('chantier_session');
my $csrf = $c->csrf;

# warm: every worker has its PostgreSQL and Redis connections
$c->api(GET => 'me') for 1 .. 8;
sleep 0.5;

my $answers = {
    'GET me (from the cached document)' =>
        "GET /api/me HTTP/1.1\r\nHost: x\r\nCookie: $cookie\r\n\r\n",
    '401 (no session)' =>
        "GET /api/me HTTP/1.1\r\nHost: x\r\n"
        . "Cookie: chantier_session=nothing\r\n\r\n",
    'CSRF 403' =>
        "DELETE /api/session HTTP/1.1\r\nHost: x\r\nCookie: $cookie\r\n\r\n",
    'PATCH me' =>
        "PATCH /api/me HTTP/1.1\r\nHost: x\r\nCookie: $cookie\r\n"
        . "X-CSRF-Token: $csrf\r\nContent-Type: application/json\r\n"
        . "Content-Length: 2\r\n\r\n{}",
};

for my $what (sort keys %$answers) {
    subtest "$what, the client gone while Redis is paused" => sub {
        my $before = worker_fds();
        ok $before > 0, "the workers hold $before descriptors";

        is redis_cli('client', 'pause', 1500), 'OK', 'CLIENT PAUSE 1500';
        send_and_reset($answers->{$what}) for 1 .. 40;

        # the pause ends, the replies come, the requests answer into the void
        sleep 2.5;

        my $after = wait_until(sub { worker_fds() <= $before + 2 },
                               timeout => 5);
        ok $after, '40 reset clients: no descriptor left behind'
            or diag 'before ' . $before . ', after ' . worker_fds();

        is $c->api(GET => 'me')->{status}, 200, 'the worker still serves';
    };
}

done_testing;
