# chantier-notifier (issue 12, SPEC sections 3 and 6) against the stack's
# real servers: its SMTP server (aiosmtpd: STARTTLS, AUTH, the Maildir
# VAR/mail/), its SMS gateway (HTTPS, VAR/sms/), PostgreSQL and Redis.
#
# This file stands in for the module: it writes the outbox rows itself
# (chantier.notifications, as 0010 has them) and pushes their ids onto
# chantier:notify:queue with redis-cli, or does not push them (Redis lost
# them).  The stack runs the notifier with short timings: retry_initial 1 s,
# retry_max 4 s, dead_after 6 s, sweep_interval 2 s (scripts/stack).
#
# Each message goes to an address or number no other test uses, and is
# counted there: exactly one, or none.

use strict;
use warnings;
use utf8;

use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $VAR = var_dir();
my $DELAY_FILE = "$VAR/mail-server/delay";
my $PASSWORD_FILE = "$VAR/mail-server/password";
my $SMS_STATUS_FILE = "$VAR/sms-gateway/status";
my $PUBLIC = url('/') =~ s{/*$}{/}r;
my $DEAD_AFTER = 6;

my $good_password = do {
    open my $fh, '<', $PASSWORD_FILE or die "$PASSWORD_FILE: $!";
    local $/;
    <$fh>;
};

# whatever happens: the servers as the other tests expect them
END {
    local $?;
    unlink $DELAY_FILE, $SMS_STATUS_FILE;
    write_file($PASSWORD_FILE, $good_password) if defined $good_password;
    eval { start_mail() };
    eval { start_notifier() };
    health_watch_stop();
}
$SIG{INT} = $SIG{TERM} = sub { exit 130 };

# nginx keeps answering /api/health all along, whatever the notifier does
my ($watch_pid, $watch_file) = health_watch_start();

my $n = 0;
my ($staff) = client_for(role => 'employee');


subtest 'an e-mail: delivered once, to the right person, saying it right'
    => sub {
    my $to = unique_address('helene');
    my $client = create_user(role => 'client', first_name => 'Hélène',
        last_name => 'Dupré', email => $to);
    my $f = create_chantier(client_id => $client->{id},
        title => 'Rénovation cuisine');
    my $post = quiet_post($f, 'Les meubles sont posés.');

    my $id = insert_notification(
        recipient_id => $client->{id}, fiche_id => $f->{id},
        event => 'post_created', channel => 'email',
        key => "post_created:$post->{id}:1:$client->{id}:$$",
        content => content($f, item('Les meubles hauts sont posés <b>&</b>'
            . " « à l'heure ».\nDeuxième ligne.", post_id => $post->{id})));
    push_notifications($id);

    my @mail = wait_for_mail($to, 1);
    is scalar(@mail), 1, 'one message in the Maildir for the client';
    my $m = $mail[0] // {};

    like $m->{to}, qr/^"?Hélène Dupré"? <\Q$to\E>$/,
        'To: the name (decoded) and the address';
    is $m->{subject}, "[$f->{chantier_id}] Nouvelle publication — "
        . 'Rénovation cuisine', 'Subject: decoded, code, event, title';
    like $m->{headers}{subject} // '', qr/^=\?UTF-8\?B\?/,
        'Subject: RFC 2047 encoded on the wire';
    like $m->{from}, qr/CLO Espace client.*<notifications\@clo\.test>/,
        'From: the configured sender';
    like $m->{message_id} // '', qr/^<post_created\.$post->{id}\.1\./,
        'Message-ID: from the idempotency key';
    like $m->{headers}{date} // '', qr/^\w{3}, \d\d \w{3} \d{4} /, 'Date';
    like $m->{headers}{'content-type'} // '', qr{multipart/alternative},
        'multipart/alternative';
    like $m->{text_type} // '', qr{text/plain; charset=UTF-8}i,
        'a plain-text part in UTF-8';
    like $m->{html_type} // '', qr{text/html; charset=UTF-8}i,
        'an HTML part in UTF-8';

    my $link = "${PUBLIC}fiche.html?id=$f->{id}";
    like $m->{text} // '', qr/Bonjour Hélène Dupré,/, 'text: greets her';
    like $m->{text} // '', qr/Marie Rousseau \(CLO\) a publié sur la fiche/,
        'text: who wrote';
    like $m->{text} // '', qr/le \d+(er)? \w+ à \d+ h \d\d/,
        'text: when, in French';
    like $m->{text} // '', qr/sont posés <b>&<\/b> « à l'heure »/,
        'text: the excerpt as written';
    like $m->{text} // '', qr/\Q$link\E/, "text: the link $link";
    like $m->{text} // '', qr/Mon compte/, 'text: how to change it';
    like $m->{html} // '', qr/posés &lt;b&gt;&amp;&lt;\/b&gt; « à l&#39;heure »/,
        'html: the excerpt escaped';
    unlike $m->{html} // '', qr/<b>&/, 'html: no markup of the excerpt';
    like $m->{html} // '', qr/<a href="\Q$link\E">/, 'html: the link';

    my $row = notification_row($id);
    is $row->{state}, 'sent', 'the row: sent';
    ok $row->{sent}, 'the row: sent_at set';

    # the same id again (a duplicate push): harmless
    push_notifications($id, $id);
    sleep 2.5;
    is scalar(mail_to($to)), 1, 'pushed twice more, and a sweep later:'
        . ' still one message';
};


subtest 'an SMS: a batch of comments, once, to the E.164 number' => sub {
    my ($phone, $e164) = unique_phone();
    my $client = create_user(role => 'client', phone => $phone,
        email => unique_address('sms'));
    my $f = create_chantier(client_id => $client->{id},
        title => 'Salle de bains');
    my $post = quiet_post($f, 'Carrelage');

    my $long = 'Très bien, ' . ('les joints sont à refaire ' x 10);
    my $id = insert_notification(
        recipient_id => $client->{id}, fiche_id => $f->{id},
        event => 'comments', channel => 'sms',
        content => content($f,
            item('Premier', post_id => $post->{id}, comment_id => 1),
            item('Deuxième', post_id => $post->{id}, comment_id => 2),
            item($long, post_id => $post->{id}, comment_id => 3)));
    push_notifications($id);

    my @sms = wait_for_sms($e164, 1);
    is scalar(@sms), 1, "one SMS to $e164 ($phone)";
    my $text = $sms[0]{text} // '';
    cmp_ok length($text), '<=', 160, 'at most 160 characters ('
        . length($text) . ')';
    my $head = "CLO $f->{chantier_id} : 3 nouveaux commentaires, le dernier"
        . ' de Marie Rousseau « Très bien, les joints';
    like $text, qr/^\Q$head\E/, 'code, count, last author, excerpt';
    like $text, qr/… » \Q${PUBLIC}fiche.html?id=$f->{id}\E$/,
        'excerpt cut with …, the link whole';
    is notification_row($id)->{state}, 'sent', 'the row: sent';
};


subtest 'not yet due: not before due_at, then once' => sub {
    my $to = unique_address('later');
    my ($client, $f) = client_and_fiche($to);

    my $t0 = time;
    my $id = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'comments', due_in => 3,
        content => content($f, item('Bientôt', post_id => 1)));
    push_notifications($id);

    sleep 1.5;
    is scalar(mail_to($to)), 0, 'nothing after 1.5 s (due in 3 s)';
    is notification_row($id)->{state}, 'pending', 'still pending';

    my @mail = wait_for_mail($to, 1, 8);
    my $took = time - $t0;
    is scalar(@mail), 1, sprintf('one message, after %.1f s', $took);
    cmp_ok $took, '>=', 2.9, 'not before due_at';
    cmp_ok $took, '<', 6, 'soon after due_at';
};


subtest 'SMTP server stopped for a while: delivered once it is back' => sub {
    my $to = unique_address('outage');
    my ($client, $f) = client_and_fiche($to);
    my $log = notifier_log_size();

    stop_mail();
    my $id = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'comments',
        content => content($f, item('Pendant la panne', post_id => 1)));
    push_notifications($id);

    ok wait_until(sub { notification_row($id)->{attempts} >= 2 },
        timeout => 5), 'tried and failed twice';
    my $row = notification_row($id);
    is $row->{state}, 'pending', 'still pending';
    like $row->{last_error} // '', qr/smtp 127\.0\.0\.1:\d+: unreachable/,
        "last_error says so: $row->{last_error}";
    ok scalar(grep { /^warning: notification $id \(email, attempt 1\): /
        && /: smtp 127\.0\.0\.1:\d+: unreachable \(.*\); next try in \d+ s$/ }
        notifier_log_since($log)),
        'the log: id, attempt, server, next try';

    start_mail();
    my @mail = wait_for_mail($to, 1, 8);
    is scalar(@mail), 1, 'delivered after the server returned';
    is notification_row($id)->{state}, 'sent', 'the row: sent';
    sleep 1;
    is scalar(mail_to($to)), 1, 'and only once';
};


subtest 'committed, never pushed (Redis lost it): the sweep delivers once'
    => sub {
    my $to = unique_address('sweep');
    my ($client, $f) = client_and_fiche($to);
    my $log = notifier_log_size();

    my $id = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'comments',
        content => content($f, item('Oublié par Redis', post_id => 1)));

    my @mail = wait_for_mail($to, 1, 6);
    is scalar(@mail), 1, 'delivered without a push';
    ok scalar(grep { /sweep: \d+ pending notification/ }
        notifier_log_since($log)), 'by the sweep (its log line)';
    sleep 2.5;
    is scalar(mail_to($to)), 1, 'once, a sweep later too';
};


subtest 'kill -9 mid-send, restarted: every message exactly once' => sub {
    my @to = map { unique_address("crash$_") } 1 .. 3;
    my @ids;
    for my $to (@to) {
        my ($client, $f) = client_and_fiche($to);
        push @ids, insert_notification(recipient_id => $client->{id},
            fiche_id => $f->{id}, event => 'comments',
            content => content($f, item('Coupé net', post_id => 1)));
    }

    my $mail_log = -s "$VAR/log/mail-server.log";
    write_file($DELAY_FILE, "5\n");
    push_notifications(@ids);

    ok wait_until(sub { mail_log_since($mail_log) =~ /holding the answer/ },
        timeout => 5), 'the server holds its answer to DATA';
    kill_notifier();
    unlink $DELAY_FILE;

    sleep 0.5;
    is scalar(map { mail_to($_) } @to), 0, 'killed: nothing delivered yet';
    is notification_row($ids[0])->{state}, 'pending',
        'the row being sent: still pending (its transaction rolled back)';
    is redis_cli('lrange', 'chantier:notify:processing', 0, -1), $ids[0],
        'its id left in chantier:notify:processing';

    start_notifier();

    for my $i (0 .. $#to) {
        my @mail = wait_for_mail($to[$i], 1, 8);
        is scalar(@mail), 1, "message " . ($i + 1) . ": delivered";
    }
    sleep 2.5;
    is_deeply [map { scalar(mail_to($_)) } @to], [1, 1, 1],
        'each exactly once, a sweep later';
    is_deeply [map { notification_row($_)->{state} } @ids],
        ['sent', 'sent', 'sent'], 'all sent';
    is redis_cli('llen', 'chantier:notify:processing'), 0,
        'processing empty';
};


subtest 'SIGTERM mid-send: the send finishes, recorded, exit 0' => sub {
    my $to = unique_address('sigterm');
    my ($client, $f) = client_and_fiche($to);
    my $mail_log = -s "$VAR/log/mail-server.log";
    my $log = notifier_log_size();

    write_file($DELAY_FILE, "2\n");
    my $id = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'comments',
        content => content($f, item('Arrêt propre', post_id => 1)));
    push_notifications($id);

    ok wait_until(sub { mail_log_since($mail_log) =~ /holding the answer/ },
        timeout => 5), 'the server holds its answer to DATA';
    stop_notifier();
    unlink $DELAY_FILE;

    is scalar(mail_to($to)), 1, 'stopped after the message was delivered';
    is notification_row($id)->{state}, 'sent', 'and recorded as sent';
    ok scalar(grep { /^notice: stopped/ } notifier_log_since($log)),
        'the notifier said it stopped';

    start_notifier();
};


subtest 'wrong SMTP password: clear log, dead after dead_after, then'
    . ' Renvoyer delivers' => sub {
    my $to = unique_address('auth');
    my ($client, $f) = client_and_fiche($to);
    my $log = notifier_log_size();

    write_file($PASSWORD_FILE, "not-the-password\n");
    my $id = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'comments',
        content => content($f, item('Mauvais mot de passe', post_id => 1)));
    push_notifications($id);

    ok wait_until(sub { grep { /notification $id .*authentication failed/ }
        notifier_log_since($log) }, timeout => 4), 'a failed attempt logged';
    my ($line) = grep { /notification $id / } notifier_log_since($log);
    my $said = 'authentication failed (535) — check smtp_user and'
        . ' smtp_password; next try in';
    my $start = "warning: notification $id (email, attempt 1): smtp";
    like $line // '', qr/^\Q$start\E 127\.0\.0\.1:\d+: \Q$said\E \d+ s$/,
        'the log line: id, attempt, server, 535, what to check, next try';

    ok wait_until(sub { notification_row($id)->{state} eq 'dead' },
        timeout => $DEAD_AFTER + 5), 'dead in the end';
    my $row = notification_row($id);
    cmp_ok $row->{failing}, '>=', $DEAD_AFTER - 0.5,
        sprintf('after dead_after (%.1f s of failures)', $row->{failing});
    cmp_ok $row->{attempts}, '>=', 3, "after $row->{attempts} attempts";
    like $row->{last_error} // '', qr/authentication failed \(535\)/,
        'last_error for the administrators';
    ok scalar(grep { /^error: notification $id .*dead/ }
        notifier_log_since($log)), 'the log says it is dead';
    is scalar(mail_to($to)), 0, 'nothing delivered';

    write_file($PASSWORD_FILE, $good_password);

    # "Renvoyer", as the administrators' page does it
    psql("update chantier.notifications set state = 'pending', attempts = 0,"
        . " first_failed_at = null, last_error = null, due_at = now()"
        . " where id = $id");
    push_notifications($id);

    my @mail = wait_for_mail($to, 1, 6);
    is scalar(@mail), 1, 'sent again: delivered';
    is notification_row($id)->{state}, 'sent', 'the row: sent';
};


subtest 'a post deleted before sending: dropped, nothing sent' => sub {
    my $to = unique_address('deleted');
    my ($client, $f) = client_and_fiche($to);
    my $post = quiet_post($f, 'Bientôt supprimée');

    my $id = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'post_created',
        content => content($f, item('Bientôt supprimée',
            post_id => $post->{id})));

    my $r = $staff->api(DELETE => "posts/$post->{id}");
    is $r->{status}, 204, 'the post deleted';

    push_notifications($id);

    ok wait_until(sub { notification_row($id)->{state} eq 'dropped' },
        timeout => 5), 'the row: dropped';
    sleep 1;
    is scalar(mail_to($to)), 0, 'no message';
};


subtest 'recipients that cannot be reached: dead at once, clearly' => sub {
    my ($client, $f) = client_and_fiche(unique_address('perm'));

    # an employee has no e-mail unless given one
    my $nomail = create_user(role => 'employee');
    my $badphone = create_user(role => 'employee');
    psql("update chantier.users set phone = '12 34 56' where id"
        . " = $badphone->{id}");
    my $inactive = create_user(role => 'client',
        email => unique_address('inactive'));
    psql("update chantier.users set active = false where id"
        . " = $inactive->{id}");

    my %cases = (
        'no e-mail address' => [$nomail, 'email', qr/adresse e-mail/],
        'an unusable phone number' => [$badphone, 'sms',
            qr/numéro de téléphone .* « 12 34 56 »/],
        'an inactive recipient' => [$inactive, 'email', qr/désactivé/],
    );

    for my $what (sort keys %cases) {
        my ($user, $channel, $error) = @{ $cases{$what} };
        my $id = insert_notification(recipient_id => $user->{id},
            fiche_id => $f->{id}, event => 'comments', channel => $channel,
            content => content($f, item('Pour personne', post_id => 1)));
        push_notifications($id);

        ok wait_until(sub { notification_row($id)->{state} ne 'pending' },
            timeout => 4), "$what: handled";
        my $row = notification_row($id);
        is $row->{state}, 'dead', "$what: dead at once";
        is $row->{attempts}, 1, "$what: after one attempt";
        like $row->{last_error} // '', $error, "$what: $row->{last_error}";
    }
};


subtest 'the SMS gateway: 5xx retried, 4xx dead' => sub {
    my ($phone, $e164) = unique_phone();
    my $client = create_user(role => 'client', phone => $phone,
        email => unique_address('gw'));
    my $f = create_chantier(client_id => $client->{id});

    write_file($SMS_STATUS_FILE, "503\n");
    my $retried = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'comments', channel => 'sms',
        content => content($f, item('Passerelle en panne', post_id => 1)));
    push_notifications($retried);

    ok wait_until(sub { notification_row($retried)->{attempts} >= 1 },
        timeout => 4), '503: tried';
    is notification_row($retried)->{state}, 'pending', '503: pending';
    like notification_row($retried)->{last_error} // '', qr/HTTP 503/,
        '503: last_error';

    write_file($SMS_STATUS_FILE, "400\n");
    my $refused = insert_notification(recipient_id => $client->{id},
        fiche_id => $f->{id}, event => 'comments', channel => 'sms',
        content => content($f, item('Refusé', post_id => 1)));
    push_notifications($refused);

    ok wait_until(sub { notification_row($refused)->{state} eq 'dead' },
        timeout => 4), '400: dead at once';

    unlink $SMS_STATUS_FILE;

    my @sms = wait_for_sms($e164, 1, 8);
    is scalar(@sms), 1, 'the gateway back: the 503 one delivered once';
    is notification_row($retried)->{state}, 'sent', 'and sent';
};


# Through the module, when it writes the outbox (issue 12's module side): a
# post published with "Avertir le client" reaches the client once.
subtest 'a post published through the API: one e-mail to its client' => sub {
    my $to = unique_address('api');
    my ($client, $f) = client_and_fiche($to);
    my $post = publish($staff, $f->{id}, 'Publiée par l\'API',
        notify_client => JSON::PP::true());

    my $rows = psql("select count(*) from chantier.notifications"
        . " where recipient_id = $client->{id}");
    plan skip_all => 'the module writes no outbox row yet' unless $rows;

    my @mail = wait_for_mail($to, 1, 6);
    is scalar(@mail), 1, 'one message';
    is $mail[0]{subject} // '', "[$f->{chantier_id}] Nouvelle publication"
        . " — $f->{title}", 'a new post';
    like $mail[0]{text} // '', qr/Publiée par l'API/, 'its text';
    sleep 2.5;
    is scalar(mail_to($to)), 1, 'once, a sweep later too';
};


subtest 'nginx never affected' => sub {
    my @bad = health_watch_stop();
    ok -s $watch_file, 'GET /api/health was polled all along';
    is scalar(@bad), 0, 'GET /api/health answered 200 every time'
        or diag join ' ', @bad[0 .. ($#bad < 9 ? $#bad : 9)];
};

done_testing;


# ---- helpers ----

sub unique_address {
    my ($who) = @_;
    $n++;
    return "$who-$$-$n\@example.test";
}

# a French mobile number no other test uses, and its E.164 form
sub unique_phone {
    $n++;
    my $digits = sprintf '%08d', ($$ * 100 + $n) % 100_000_000;
    my $phone = '06 ' . join ' ', $digits =~ /(\d\d)/g;
    return ($phone, "+336$digits");
}

# a post that tells nobody (the rows of these tests are written by hand)
sub quiet_post {
    my ($f, $text) = @_;
    return publish($staff, $f->{id}, $text, notify_client => JSON::PP::false());
}

sub client_and_fiche {
    my ($to) = @_;
    my $client = create_user(role => 'client', email => $to);
    my $f = create_chantier(client_id => $client->{id});
    return ($client, $f);
}

# the content of a row, as the module writes it
sub content {
    my ($f, @items) = @_;
    return { code => $f->{chantier_id}, title => $f->{title},
             items => \@items };
}

sub item {
    my ($excerpt, %more) = @_;
    return { author => 'Marie Rousseau', role => 'employee',
             excerpt => $excerpt, at => '2026-12-01T13:05:00Z', %more };
}

sub wait_for_mail {
    my ($to, $count, $timeout) = @_;
    my @mail;
    wait_until(sub { (@mail = mail_to($to)) >= $count },
        timeout => $timeout // 5, interval => 0.1);
    return @mail;
}

sub wait_for_sms {
    my ($to, $count, $timeout) = @_;
    my @sms;
    wait_until(sub { (@sms = sms_to($to)) >= $count },
        timeout => $timeout // 5, interval => 0.1);
    return @sms;
}

sub mail_log_since {
    my ($offset) = @_;
    open my $fh, '<', "$VAR/log/mail-server.log" or return '';
    seek $fh, $offset // 0, 0;
    local $/;
    return <$fh> // '';
}

sub write_file {
    my ($file, $text) = @_;
    open my $fh, '>', "$file.tmp" or die "$file.tmp: $!";
    print $fh $text;
    close $fh or die "$file.tmp: $!";
    rename "$file.tmp", $file or die "rename $file: $!";
}

# a child polling GET /api/health every 0.2 s, one status a line in a file
sub health_watch_start {
    my $file = "$VAR/log/85-notifier-health.$$";
    unlink $file;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        my $c = client(timeout => 5);
        while (1) {
            my $r = $c->api(GET => 'health');
            open my $fh, '>>', $file;
            print $fh "$r->{status}\n";
            close $fh;
            sleep 0.2;
        }
    }
    return ($pid, $file);
}

# stops the child; the statuses that were not 200
sub health_watch_stop {
    return () unless $watch_pid;
    kill 'TERM', $watch_pid;
    waitpid $watch_pid, 0;
    undef $watch_pid;
    open my $fh, '<', $watch_file or return ('no file');
    return grep { !/^200$/ } map { chomp; $_ } <$fh>;
}
