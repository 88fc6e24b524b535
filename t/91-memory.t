# Memory bounds (hardening issue): after 1,000 logins and 1,000 reads of a
# big fiche (db/fixtures/big_fiche.sql: 200 posts, 1,000 comments, ~320 KB),
# the RSS of each nginx worker (VmRSS, /proc/PID/status) is within
# $MARGIN_KIB of what it was after the first 100 of each (the warm-up):
# whatever a login or a read allocates is given back, or reused by the
# next.  The requests come from 4 login clients (one account each) and 4
# readers (the fiche's client), all at once, without keep-alive, so that
# both workers and all their hashing threads take a share.
#
# The margin, 8 MiB, is half of one scrypt computation (N = 2^14, r = 8:
# 16 MiB): a worker keeping one more hash's memory than after the warm-up
# fails it.
#
# The file starts with fresh workers (reload), so that their RSS before
# any login is known too.  Against it, two more checks: the growth is at
# most one scrypt computation per hashing thread (threads of the
# chantier thread pool x 16 MiB, + the margin); and it is within the
# margin: the hashes' memory goes back to the system (it did not before
# the module fixed glibc's mmap threshold: 64 MiB per worker stayed).
#
# Every answer must be a 200.  Timings are printed, never asserted.

use strict;
use warnings;

use Test::More;

# ASan's allocator keeps freed memory in quarantine: RSS then measures ASan
plan skip_all => 'RSS under the sanitizers (SANITIZE=1) is ASan\'s, not ours'
    if ($ENV{SANITIZE} // '') eq '1';
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;
use ChantierLoad;

my $CLIENTS    = 4;             # login clients, and as many readers
my $WARM       = 100;           # logins and reads of the warm-up
my $TOTAL      = 1000;          # logins and reads in all
my $MARGIN_KIB = 8 * 1024;
my $SCRYPT_KIB = 16 * 1024;
my $SOURCE     = '127.0.0.2';   # keeps the login limiter of 127.0.0.1 clean
my $T0 = time;


# ---- the big fiche, its client, the login accounts ----

my ($client, $cu) = client_for(role => 'client');
my $fiche = create_chantier(client_id => $cu->{id});

psql("\\set fiche $fiche->{id}\n\\i " . repo_dir()
     . "/db/fixtures/big_fiche.sql\n");

my @accounts = map { [$_->{login}, $_->{password}] }
    map { create_user(role => 'client') } 1 .. $CLIENTS;

my $doc = $client->api(GET => "fiches/$fiche->{id}");
is $doc->{status}, 200, 'the big fiche: 200';
is scalar(@{ $doc->{json}{posts} // [] }), 200, 'the big fiche: 200 posts';
my $size = length $doc->{raw};
diag sprintf 'the big fiche: %d KB', $size / 1000;

# fresh workers: none has hashed a password yet
my $old = worker_pids();
reload_nginx();
ok wait_until(sub {
    my $now = worker_pids();
    keys %$now == keys %$old && !grep { $old->{$_} } keys %$now;
}, timeout => 15), 'nginx reloaded: new workers';

# each has its connections up and the fiche in its cache
for (1 .. 10) {
    load_client(source => $SOURCE, session => $client)
        ->api(GET => "fiches/$fiche->{id}");
}
sleep 0.5;

my $workers = worker_pids();
my $rss_start = worker_rss();
my $tp = nginx_conf_value('chantier_thread_pool', 'default');
my ($threads) = slurp(var_dir() . '/nginx.conf')
    =~ /^\s*thread_pool\s+\Q$tp\E\s+threads=(\d+)/m;
$threads //= 32;    # nginx's default
diag 'RSS before any login: ' . show($rss_start)
    . " ($threads hashing threads per worker)";


# ---- the warm-up, then the rest ----

my $t = time;
my %warm = statuses(round($WARM / $CLIENTS));
my $t_warm = time - $t;
sleep 0.5;
my $rss_warm = worker_rss();

is_deeply \%warm, { login => { 200 => $WARM }, read => { 200 => $WARM } },
    "warm-up: $WARM logins 200, $WARM reads 200";
diag sprintf 'RSS after %d logins and %d reads (%.1f s): %s', $WARM, $WARM,
    $t_warm, show($rss_warm);

$t = time;
my %rest = statuses(round(($TOTAL - $WARM) / $CLIENTS));
my $t_rest = time - $t;
sleep 0.5;
my $rss_end = worker_rss();

is_deeply \%rest, { login => { 200 => $TOTAL - $WARM },
                    read => { 200 => $TOTAL - $WARM } },
    sprintf '%d more logins 200, %d more reads 200', $TOTAL - $WARM,
    $TOTAL - $WARM;
diag sprintf 'RSS after %d logins and %d reads (%.1f s more, %.1f logins/s):'
    . ' %s', $TOTAL, $TOTAL, $t_rest, ($TOTAL - $WARM) / $t_rest,
    show($rss_end);

is_deeply worker_pids(), $workers, 'the same workers throughout (none died)';

for my $pid (sort keys %$rss_warm) {
    my $growth = ($rss_end->{$pid} // 0) - $rss_warm->{$pid};
    cmp_ok $growth, '<=', $MARGIN_KIB, sprintf 'worker %d: RSS %d KiB after'
        . ' the warm-up, %d KiB at the end: %+d KiB, within %d KiB', $pid,
        $rss_warm->{$pid}, $rss_end->{$pid} // 0, $growth, $MARGIN_KIB;
}

for my $pid (sort keys %$rss_start) {
    my $growth = ($rss_end->{$pid} // 0) - $rss_start->{$pid};
    my $bound = $threads * $SCRYPT_KIB + $MARGIN_KIB;
    cmp_ok $growth, '<=', $bound, sprintf 'worker %d: RSS %d KiB before the'
        . ' logins, %+d KiB at the end: at most one scrypt per hashing thread'
        . ' (%d x %d KiB + %d)', $pid, $rss_start->{$pid}, $growth, $threads,
        $SCRYPT_KIB, $MARGIN_KIB;
}

# glibc would keep each hashing thread's 16 MiB in its arena for good (64
# MiB a worker, measured before the module fixed the mmap threshold:
# core/ngx_http_chantier_thread.c); now the memory goes back to the system
for my $pid (sort keys %$rss_start) {
    my $growth = ($rss_end->{$pid} // 0) - $rss_start->{$pid};
    cmp_ok $growth, '<=', $MARGIN_KIB, sprintf 'worker %d: RSS %d KiB'
        . ' before the logins, %d KiB at the end: %+d KiB, within %d KiB',
        $pid, $rss_start->{$pid}, $rss_end->{$pid} // 0, $growth,
        $MARGIN_KIB;
}

diag sprintf 'the whole file: %.1f s', time - $T0;

done_testing;


# $n logins and $n reads per client, all clients at once: the statuses,
# by kind
sub statuses {
    my ($n) = @_;

    my @specs;
    for my $i (0 .. $CLIENTS - 1) {
        push @specs,
            { kind => 'login', accounts => [$accounts[$i]], count => $n,
              pause => 0, source => $SOURCE, timeout => 30 },
            { kind => 'read', session => $client, fiche => $fiche->{id},
              count => $n, pause => 0, source => $SOURCE, timeout => 30,
              revalidate => 0 };
    }

    my %count;
    $count{ $_->{kind} }{ $_->{status} }++ for run_load(@specs);
    return %count;
}

sub round { return int($_[0] + 0.5) }

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub show {
    my ($rss) = @_;
    return join ', ', map { sprintf '%d: %.1f MiB', $_, $rss->{$_} / 1024 }
        sort keys %$rss;
}
