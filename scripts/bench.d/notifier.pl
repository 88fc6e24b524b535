# The measures of scripts/bench.d/notifier, against its stack (environment
# of "scripts/stack env").

use strict;
use warnings;

use POSIX ();
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;

my $N = $ENV{N} // 1000;
my $COMMENTS = $ENV{COMMENTS} // 100;
my $maildir = var_dir() . '/mail/new';

my ($staff) = client_for(role => 'employee');
my ($c, $client) = client_for(role => 'client',
    email => "bench-$$\@example.test");
my $f = create_chantier(client_id => $client->{id});
my $post = publish($staff, $f->{id}, 'Banc d\'essai');

sub mails {
    opendir my $d, $maildir or return 0;
    my $n = grep { !/^\./ } readdir $d;
    closedir $d;
    return $n;
}

# p50 and p99 (ms) of COMMENTS comments posted one after the other
sub comment_latency {
    my @ms;
    for my $i (1 .. $COMMENTS) {
        my $t0 = time;
        my $r = $c->api(POST => "posts/$post->{id}/comments",
            { body => "Commentaire $i" });
        push @ms, (time - $t0) * 1000;
        $r->{status} == 201 or die "POST comments: $r->{status} $r->{raw}\n";
    }
    @ms = sort { $a <=> $b } @ms;
    return ($ms[int(@ms * 0.5)], $ms[int(@ms * 0.99)]);
}

my ($idle50, $idle99) = comment_latency();

my $before = mails();
my $content = json_encode({ code => $f->{chantier_id}, title => $f->{title},
    items => [{ author => 'Marie Rousseau', role => 'employee',
                excerpt => 'Les travaux avancent.', post_id => $post->{id},
                at => '2026-12-01T13:05:00Z' }] });
my @ids = split /\n/, psql(sprintf q{insert into chantier.notifications
        (recipient_id, fiche_id, event, channel, idempotency_key, content)
    select %d, %d, 'comments', 'email', 'bench:' || %d || ':' || i, %s
      from generate_series(1, %d) as i
    returning id}, $client->{id}, $f->{id}, $$, sql_quote($content), $N);

my $t0 = time;
push_notifications(@ids[$_ * 100 .. ($_ * 100 + 99 > $#ids ? $#ids
                                      : $_ * 100 + 99)])
    for 0 .. int($#ids / 100);

# the comments while the notifier works
my ($busy50, $busy99) = comment_latency();

my $deadline = $t0 + 600;
sleep 0.05 while mails() - $before < $N && time < $deadline;
my $took = time - $t0;
my $got = mails() - $before;

printf "notifier: %d of %d e-mails in the Maildir in %.1f s (%.0f per s)\n",
    $got, $N, $took, $got / $took;
printf "notifier: POST comments p50/p99 idle %.1f/%.1f ms, while sending"
    . " %.1f/%.1f ms (p99 ratio %.2f)\n", $idle50, $idle99, $busy50, $busy99,
    $busy99 / $idle99;

my $sent = psql("select count(*) from chantier.notifications where"
    . " idempotency_key like 'bench:$$:%' and state = 'sent'");
print "notifier: rows sent: $sent\n";
exit($got == $N && $sent == $N ? 0 : 1);
