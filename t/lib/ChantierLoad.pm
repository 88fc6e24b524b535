package ChantierLoad;

# Load for the fault and memory tests (t/90-faults.t, t/91-memory.t):
# forked clients that drive logins, fiche reads and comment posts, each
# writing down every answer it got; and what the nginx workers hold (RSS,
# PostgreSQL connections).  Core Perl only, on top of ChantierTest.
#
#   use ChantierTest;
#   use ChantierLoad;
#
#   my $c = load_client(source => '127.0.0.2');   # no keep-alive, bounded
#   my $load = start_load(
#       { kind => 'login',   accounts => [[$login, $password], ...] },
#       { kind => 'read',    session => $c1, fiche => $fiche_id },
#       { kind => 'comment', session => $c2, post => $post_id,
#         tag => "faults-$$-a" },
#   );
#   ... faults ...
#   my @answers = stop_load($load);     # every request of every client
#
#   my @answers = run_load({ kind => 'read', ..., count => 250 }, ...);
#
# A client spec: kind (login, read or comment); session, a
# ChantierTest::Client whose cookie and CSRF token the client uses (read,
# comment); accounts, [login, password] pairs used in turn (login); fiche
# (read), and revalidate (default 1: every other read sends the last ETag
# in If-None-Match, 0: never); post and tag (comment: the bodies are
# "<tag>-<n>", unique as long as the tag is); count, the number of
# requests after which the client stops by itself (default: until
# stop_load); pause, seconds between two requests (default 0.01); source,
# the local address of its connections (default 127.0.0.1); timeout, of
# each request (default 10 s).  After a 503 a login client waits 0.5 s
# (a browser would wait for Retry-After, 5 s), so that an outage does not
# turn into a storm of login attempts, each counted by the limiter.
#
# An answer: { kind, client (its index), n, start, end (time), status, and
# for the others than 2xx/304: retry_after, code (the error code of a JSON
# error), error (HTTP::Tiny's message of a 599) }; comments add text.
# HTTP::Tiny answers 599 when no HTTP answer came: timed_out() tells a
# timeout from a connection closed or reset.
#
# load_client(source => ADDRESS, timeout => S, session => $c):
#   a ChantierTest::Client whose connections come from that loopback
#   address, one per request (no keep-alive: each request may reach any
#   worker, and a killed worker takes no idle connection with it), with
#   the cookie and CSRF token of $c if given.  It sends the session cookie
#   only, keeps no Set-Cookie, and decodes JSON bodies of 64 KiB at most
#   (a big fiche stays in "raw", "json" undef).
# worker_rss(): {pid => VmRSS in KiB} of the stack's nginx workers.
# app_pg_connections(): the PostgreSQL backends of the module (role
#   chantier, client backends, not psql's).
# nginx_conf_value($directive, $default): the value of a directive in the
#   stack's generated nginx.conf (VAR/nginx.conf), or the default.

use strict;
use warnings;

use Carp qw(croak);
use Exporter qw(import);
use File::Temp ();
use POSIX ();
use Time::HiRes qw(sleep time);

use ChantierTest;

our @EXPORT = qw(
    load_client start_load stop_load run_load timed_out
    worker_rss app_pg_connections nginx_conf_value
);


sub load_client {
    my (%opts) = @_;

    my $c = ChantierLoad::Client->new(%opts);

    if (my $s = $opts{session}) {
        $c->set_cookie(chantier_session => $s->cookie('chantier_session'));
        $c->csrf($s->csrf);
    }

    return $c;
}

sub timed_out {
    my ($ans) = @_;
    return ($ans->{status} // 0) == 599
        && ($ans->{error} // '') =~ /timed out/i;
}


# ---- the load ----

sub start_load {
    my (@specs) = @_;

    my $dir = File::Temp->newdir('chantier-load-XXXXXX', TMPDIR => 1);
    my $load = { dir => $dir, kids => {}, stop => "$dir/stop" };

    my $i = 0;
    for my $spec (@specs) {
        $i++;
        my $file = "$dir/client-$i.log";
        my $pid = fork // croak "fork: $!";

        if ($pid == 0) {
            # no END block, no harness destructor in the children
            my $ok = eval { _client($spec, $i, $file, $load->{stop}); 1 };
            warn "load client $i: $@" unless $ok;
            POSIX::_exit($ok ? 0 : 1);
        }

        $load->{kids}{$pid} = $file;
    }

    push @ChantierLoad::running, $load;
    return $load;
}

# asks the clients to stop after their current request, waits for them
# (each request is bounded by its timeout), returns all their answers in
# the order they were sent
sub stop_load {
    my ($load) = @_;

    open my $fh, '>', $load->{stop} or croak "$load->{stop}: $!";
    close $fh;

    return _collect($load);
}

# the clients run until each has sent its count
sub run_load {
    my (@specs) = @_;

    for (@specs) {
        $_->{count} or croak 'run_load: every client needs a count';
    }

    return _collect(start_load(@specs));
}

sub _collect {
    my ($load) = @_;

    my @answers;
    my $deadline = time + 60;

    for my $pid (keys %{ $load->{kids} }) {
        while (waitpid($pid, POSIX::WNOHANG()) == 0) {
            if (time > $deadline) {
                kill 'KILL', $pid;
                waitpid $pid, 0;
                Test::More::diag("load client $pid killed: still running");
                last;
            }
            sleep 0.05;
        }
        Test::More::diag("load client $pid exited with status " . ($? >> 8))
            if $? != 0;

        open my $fh, '<', $load->{kids}{$pid} or next;
        while (my $line = <$fh>) {
            my $ans = ChantierTest::json_decode($line);
            push @answers, $ans if ref $ans eq 'HASH';
        }
        close $fh;
    }

    @ChantierLoad::running = grep { $_ != $load } @ChantierLoad::running;

    return sort { $a->{start} <=> $b->{start} } @answers;
}

# a test interrupted with clients still running: end them
END {
    for my $load (@ChantierLoad::running) {
        kill 'KILL', keys %{ $load->{kids} };
        waitpid $_, 0 for keys %{ $load->{kids} };
    }
}

sub _client {
    my ($spec, $i, $file, $stop) = @_;

    my $kind = $spec->{kind};
    my $c = load_client(source => $spec->{source}, timeout => $spec->{timeout},
                        session => $spec->{session});
    my $pause = $spec->{pause} // 0.01;
    my $parent = getppid;

    open my $log, '>', $file or die "$file: $!";
    $log->autoflush(1);

    my ($n, $etag) = (0, undef);

    while (!-e $stop && getppid == $parent) {
        last if $spec->{count} && $n >= $spec->{count};
        $n++;

        my (%ans, $r);
        my $start = time;

        if ($kind eq 'login') {
            my $acc = $spec->{accounts}[($n - 1) % @{ $spec->{accounts} }];
            $c->clear_cookies;
            $r = $c->api(POST => 'session',
                         { login => $acc->[0], password => $acc->[1] });
        } elsif ($kind eq 'read') {
            # every other read revalidates the last ETag: 304 path
            my %h = ($n % 2 == 0 && $etag && ($spec->{revalidate} // 1))
                ? ('If-None-Match' => $etag) : ();
            $r = $c->api(GET => "fiches/$spec->{fiche}", undef,
                         headers => \%h);
            $etag = $r->{headers}{etag} if $r->{status} == 200;
        } elsif ($kind eq 'comment') {
            $ans{text} = "$spec->{tag}-$n";
            $r = $c->api(POST => "posts/$spec->{post}/comments",
                         { body => $ans{text} });
        } else {
            die "unknown kind $kind";
        }

        %ans = (%ans, kind => $kind, client => $i, n => $n,
                start => $start, end => time, status => $r->{status});

        if ($r->{status} >= 300 && $r->{status} != 304) {
            $ans{retry_after} = $r->{headers}{'retry-after'};
            $ans{code} = $r->{json}{error}{code}
                if ref $r->{json} eq 'HASH' && ref $r->{json}{error} eq 'HASH';
            $ans{error} = substr($r->{raw}, 0, 200)
                if $r->{status} >= 500 && !defined $ans{code};
        }

        print {$log} ChantierTest::json_encode(\%ans), "\n";

        my $wait = ($kind eq 'login' && $r->{status} == 503) ? 0.5 : $pause;
        sleep $wait if $wait > 0;
    }

    close $log;
}


# ---- what the workers hold ----

sub worker_rss {
    my %rss;

    for my $pid (keys %{ worker_pids() }) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) {
            if (/^VmRSS:\s+(\d+)\s+kB/) {
                $rss{$pid} = $1;
                last;
            }
        }
        close $fh;
    }

    return \%rss;
}

sub app_pg_connections {
    return 0 + psql(q{select count(*) from pg_stat_activity
                       where usename = 'chantier'
                         and backend_type = 'client backend'
                         and pid <> pg_backend_pid()
                         and application_name not like 'psql%'});
}

sub nginx_conf_value {
    my ($directive, $default) = @_;

    my $file = var_dir() . '/nginx.conf';
    open my $fh, '<', $file or croak "$file: $!";

    my $value = $default;
    while (<$fh>) {
        s/#.*//;
        $value = $1 if /^\s*\Q$directive\E\s+([^;\s]+)\s*;/;
    }
    close $fh;

    return $value;
}


package ChantierLoad::Client;

# a ChantierTest::Client with its own HTTP::Tiny: no keep-alive, a local
# address, a timeout; and a lighter raw_request

use strict;
use warnings;

use HTTP::Tiny;

use constant JSON_MAX => 64 * 1024;

our @ISA = ('ChantierTest::Client');

sub new {
    my ($class, %opts) = @_;

    my $self = ChantierTest::Client::new($class, %opts);

    $self->{http} = HTTP::Tiny->new(
        agent         => 'chantier-load',
        max_redirect  => 0,
        timeout       => $opts{timeout} // 10,
        keep_alive    => 0,
        local_address => $opts{source} // '127.0.0.1',
    );

    return $self;
}

# As ChantierTest::Client's, with two differences: only the session cookie
# is sent, and no Set-Cookie is kept (a load client keeps the session it
# was given; a login client clears it before each login anyway); a JSON
# body over 64 KiB is not decoded (JSON::PP takes a tenth of a second of
# CPU for the big fiche, which the server under test needs more; errors
# are small)
sub raw_request {
    my ($self, $method, $path, %opts) = @_;

    my %headers = %{ $opts{headers} // {} };
    my $session = $self->cookie('chantier_session');

    $headers{Cookie} = "chantier_session=$session" if defined $session;
    delete $headers{$_} for grep { !defined $headers{$_} } keys %headers;

    my %req = (headers => \%headers);
    $req{content} = $opts{content} if defined $opts{content};

    my $res = $self->{http}->request($method, ChantierTest::url($path),
                                     \%req);

    my $r = {
        status  => $res->{status},
        reason  => $res->{reason},
        headers => $res->{headers},
        raw     => $res->{content} // '',
        json    => undef,
    };

    if (($res->{headers}{'content-type'} // '') =~ m{^application/json}i
        && length $r->{raw} && length $r->{raw} <= JSON_MAX)
    {
        $r->{json} = ChantierTest::json_decode($r->{raw});
    }

    return $r;
}

1;
