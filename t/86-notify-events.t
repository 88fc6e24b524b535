# Notifications from end to end (issue 12, "Tests must show"): changes
# made through the API, the module's outbox and push, the stack's real
# notifier, its real SMTP server (a Maildir) and SMS gateway.  Each of the
# three events delivers exactly one message to the right person by the
# right channel; none sends nothing; a quiet edit sends nothing and a
# re-announced one sends one; five comments within the window make one.

use strict;
use warnings;
use utf8;

use Test::More;

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

plan skip_all => 'no notifier in this stack'
    unless -e var_dir() . '/run/notifier.pid';

my $WINDOW = 3;

# a short comment window for this database; the workers' new connections
# have it
psql_superuser("alter database chantier"
    . " set chantier.notify_comment_window = '$WINDOW s'");
reload_nginx();

my $client_mail = "alice-$$\@example.test";
my $employee_mail = "bruno-$$\@example.test";
my ($a_c, $ua) = client_for(role => 'client', first_name => 'Alice',
    email => $client_mail, phone => '06 98 76 54 32',
    notify => { posts => 'email', comments => 'email' });
my ($e_c, $ue) = client_for(role => 'employee', first_name => 'Bruno',
    email => $employee_mail,
    notify => { posts => 'none', comments => 'email' });
my $f = create_chantier(client_id => $ua->{id}, title => 'Toiture');
my $code = $f->{chantier_id};

sub count_mail { return scalar(my @m = mail_to($_[0])) }

sub settles {
    my ($what, $want) = @_;
    ok wait_until(sub { $what->() >= $want }, timeout => 20),
        "reaches $want" or diag 'got ' . $what->();
    sleep 2;    # and stays: a duplicate would come within the sweep
    return $what->();
}

my $post;

subtest 'a new post: one e-mail to the client' => sub {
    $post = publish($e_c, $f->{id}, 'La charpente est posée.');
    is settles(sub { count_mail($client_mail) }, 1), 1, 'exactly one';
    my ($m) = mail_to($client_mail);
    like $m->{subject}, qr/\Q$code\E/, 'the subject names the chantier';
    like $m->{text}, qr/La charpente est posée/, 'the excerpt';
    like $m->{text}, qr/fiche\.html\?id=$f->{id}/, 'the link to the fiche';
    is count_mail($employee_mail), 0, 'the author is told nothing';
};

subtest 'an edit is quiet; announced again, one more' => sub {
    my $r = $e_c->api(PATCH => "posts/$post->{id}",
        { body => delta('La charpente et les liteaux sont posés.') },
        headers => { 'If-Match' => qq("$post->{version}") });
    is $r->{status}, 200, 'quiet edit';
    sleep 4;
    is count_mail($client_mail), 1, 'nothing more';

    $r = $e_c->api(PATCH => "posts/$post->{id}", { notify_client => \1 },
        headers => { 'If-Match' => qq("$r->{json}{version}") });
    is $r->{status}, 200, 'announced';
    is settles(sub { count_mail($client_mail) }, 2), 2, 'one more e-mail';
    my ($m) = grep { $_->{text} =~ /liteaux/ } mail_to($client_mail);
    ok $m, 'with the new text';
};

subtest "the client's comment: one e-mail to the post's author" => sub {
    my $r = $a_c->api(POST => "posts/$post->{id}/comments",
                      { body => 'Bravo, et la pluie ?' });
    is $r->{status}, 201, 'comment';
    is settles(sub { count_mail($employee_mail) }, 1), 1,
        'exactly one, after the window';
    my ($m) = mail_to($employee_mail);
    like $m->{text}, qr/Bravo, et la pluie/, 'the comment';
};

subtest "five employee's comments within the window: one e-mail" => sub {
    my $before = count_mail($client_mail);
    for my $n (1 .. 5) {
        is $e_c->api(POST => "posts/$post->{id}/comments",
                     { body => "Point $n du jour." })->{status}, 201,
            "comment $n";
    }
    is settles(sub { count_mail($client_mail) }, $before + 1), $before + 1,
        'one message for the five';
    my ($m) = grep { $_->{text} =~ /Point 1 du jour/ } mail_to($client_mail);
    ok $m && $m->{text} =~ /Point 5 du jour/, 'holding all five';
};

subtest 'none sends nothing; SMS by SMS' => sub {
    my $r = $a_c->api(PATCH => 'me',
        { notify => { posts => 'sms', comments => 'none' } });
    is $r->{status}, 200, 'the client: posts by SMS, comments none';
    my $mails = count_mail($client_mail);

    $e_c->api(POST => "posts/$post->{id}/comments", { body => 'Personne.' });
    publish($e_c, $f->{id}, 'Les tuiles arrivent lundi.');

    is settles(sub { scalar(my @s = sms_to('+33698765432')) }, 1), 1,
        'one SMS for the post, to +33698765432';
    my ($sms) = sms_to('+33698765432');
    like $sms->{text}, qr/\Q$code\E/, 'naming the chantier';
    cmp_ok length $sms->{text}, '<=', 160, 'at most 160 characters';
    sleep $WINDOW + 2;
    is count_mail($client_mail), $mails, 'and no e-mail: comments are none';
};

psql_superuser('alter database chantier reset chantier.notify_comment_window');
reload_nginx();

done_testing;
