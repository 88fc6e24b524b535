# The notification outbox (issue 12, SPEC section 3): which change tells
# whom, by which channel, written in the same transaction as the change;
# the ids pushed onto the notifier's Redis queue after the commit; comments
# for one person on one fiche within the window batched into one row; the
# administrators' dead letters and "Renvoyer".
#
# What the notifier then sends, and how it survives outages, is
# t/85-notifier.t.  Here the notifier is stopped, so that the queue shows
# exactly what the module pushed.

use strict;
use warnings;
use utf8;

use Test::More;

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $QUEUE = 'chantier:notify:queue';
my $WINDOW = 3;                 # seconds, chantier.notify_comment_window

sub sql {
    my ($s) = @_;
    utf8::encode($s);
    my $out = psql($s);
    utf8::decode($out);
    return $out;
}

sub has_notifier { return -e var_dir() . '/run/notifier.pid' }

my $notifier_was_running = has_notifier();
stack('stop-notifier') if $notifier_was_running;

# a short window for this database; the workers' new connections have it
psql_superuser("alter database chantier"
    . " set chantier.notify_comment_window = '$WINDOW s'");
reload_nginx();

my $admin = admin_client();

my ($a_c, $ua) = client_for(role => 'client', first_name => 'Aurélie',
    email => "aurelie-$$\@example.test", phone => '06 12 34 56 78',
    notify => { posts => 'email', comments => 'sms' });
my ($e_c, $ue) = client_for(role => 'employee', first_name => 'Marie',
    last_name => "Rousseau $$", email => "marie-$$\@example.test");
my ($e2_c, $ue2) = client_for(role => 'employee',
    email => "second-$$\@example.test");

my $f = create_chantier(client_id => $ua->{id},
    title => 'Rénovation de la cuisine');
my $fid = $f->{id};

# the rows of the fiche, oldest first: "id|recipient|event|channel|state"
sub rows {
    return [ grep { length } split /\n/, sql(
        "select id, recipient_id, event, channel, state"
        . "  from chantier.notifications where fiche_id = $fid order by id") ];
}

sub count_rows { return scalar @{ rows() } }

sub content {
    my ($id) = @_;
    return json_decode(psql("select content from chantier.notifications"
                            . " where id = $id"));
}

sub queued {
    my ($id) = @_;
    return scalar grep { $_ eq $id }
        split /\n/, redis_cli('LRANGE', $QUEUE, 0, -1);
}

sub last_row { my $r = rows(); return $r->[-1] // '' }


my ($post, $quiet);

subtest 'a new post tells the client, pushed after the commit' => sub {
    $post = publish($e_c, $fid, "Les meubles de la cuisine sont posés.\n"
        . 'Le plan de travail arrive jeudi.');

    my $rows = rows();
    is scalar @$rows, 1, 'one row' or diag explain $rows;
    my ($id, $to, $event, $channel, $state) = split /\|/, $rows->[0] // '';
    is $to, $ua->{id}, 'to the client';
    is "$event|$channel|$state", 'post_created|email|pending',
        'post_created, by the client\'s choice for posts, pending';
    ok queued($id), "id $id pushed onto $QUEUE";

    my $c = content($id);
    is $c->{code}, $f->{chantier_id}, 'content: the chantier code';
    is $c->{title}, 'Rénovation de la cuisine', 'content: the title';
    is scalar @{ $c->{items} }, 1, 'content: one item';
    is $c->{items}[0]{author}, user_name($ue), 'item: who wrote it';
    is $c->{items}[0]{excerpt},
        'Les meubles de la cuisine sont posés. Le plan de travail arrive'
        . ' jeudi.', 'item: the text on one line';
    is $c->{items}[0]{post_id}, $post->{id}, 'item: the post';
};

subtest 'notify_client false, a rejected post: nothing' => sub {
    my $before = count_rows();

    $quiet = publish($e_c, $fid, 'Sans avis', notify_client => \0);
    my $r = $e_c->api(POST => "fiches/$fid/posts",
        { body => { ops => [ { insert => 'x', attributes => { font => 1 } } ]
                  } });
    is $r->{status}, 400, 'an invalid post is refused';

    is count_rows(), $before, 'no row for either';
};

subtest 'an edit is quiet; notify_client:true announces it again, once' => sub {
    my $before = count_rows();

    my $r = $e_c->api(PATCH => "posts/$post->{id}",
        { body => delta('Les meubles sont posés.') },
        headers => { 'If-Match' => qq("$post->{version}") });
    is $r->{status}, 200, 'quiet edit: 200' or diag $r->{raw};
    is count_rows(), $before, 'quiet edit: no row';

    $r = $e_c->api(PATCH => "posts/$post->{id}",
        { body => delta('Les meubles et l\'évier sont posés.'),
          notify_client => \1 },
        headers => { 'If-Match' => qq("$r->{json}{version}") });
    is $r->{status}, 200, 'announced edit: 200' or diag $r->{raw};
    is count_rows(), $before + 1, 'announced edit: one row';
    my ($id, $to, $event) = split /\|/, last_row();
    is "$to|$event", "$ua->{id}|post_reannounced", 'post_reannounced, to the client';
    ok queued($id), 'pushed';
    is content($id)->{items}[0]{excerpt}, 'Les meubles et l\'évier sont posés.',
        'the new text';

    my $version = $r->{json}{version};
    $r = $e_c->api(PATCH => "posts/$post->{id}", { notify_client => \1 },
        headers => { 'If-Match' => qq("$version") });
    is $r->{status}, 200, 'the same version announced again: 200'
        or diag $r->{raw};
    is count_rows(), $before + 1, 'the same version: no second row';
    is $r->{json}{version}, $version, 'and the post did not change';

    $r = $e_c->api(PATCH => "posts/$post->{id}", { notify_client => 'oui' },
        headers => { 'If-Match' => qq("$version") });
    is $r->{status}, 400, 'notify_client must be a boolean';
};

my ($c1, $batch);

subtest "a client's comment tells the post's author" => sub {
    my $before = count_rows();
    my $r = $a_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Merci, c\'est très beau !' });
    is $r->{status}, 201, 'comment: 201' or diag $r->{raw};
    $c1 = $r->{json};

    is count_rows(), $before + 1, 'one row';
    my ($id, $to, $event, $channel) = split /\|/, last_row();
    is "$to|$event|$channel", "$ue->{id}|comments|email",
        'to the employee who wrote the post, by e-mail';
    ok queued($id), 'pushed';
    my $c = content($id);
    is $c->{items}[0]{author}, user_name($ua), 'item: the client';
    is $c->{items}[0]{comment_id}, $c1->{id}, 'item: the comment';
    is $c->{items}[0]{role}, 'client', 'item: the role';
};

subtest "employees' comments tell the client, batched within the window" => sub {
    my $before = count_rows();
    redis_cli('DEL', $QUEUE);

    my $r = $e2_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Le carreleur passe lundi.', parent_id => $c1->{id} });
    is $r->{status}, 201, 'first comment: 201' or diag $r->{raw};
    is count_rows(), $before + 1, 'one row';
    my ($id, $to, $event, $channel) = split /\|/, last_row();
    $batch = $id;
    is "$to|$event|$channel", "$ua->{id}|comments|sms",
        'to the client, by SMS as they chose for comments';
    ok queued($id), 'pushed';
    my $due = sql("select due_at > now() + interval '1 s'"
        . " from chantier.notifications where id = $id");
    is $due, 't', 'due after the window';

    for my $text ('Il pose la faïence.', 'Puis les joints.') {
        $r = $e_c->api(POST => "posts/$post->{id}/comments",
            { body => $text });
        is $r->{status}, 201, "comment « $text »: 201";
    }
    is count_rows(), $before + 1, 'the next two comments join the same row';
    is redis_cli('LLEN', $QUEUE), 1, 'and push nothing more';
    is_deeply [ map { $_->{excerpt} } @{ content($batch)->{items} } ],
        ['Le carreleur passe lundi.', 'Il pose la faïence.',
         'Puis les joints.'], 'the row holds the three, in order';

    sleep $WINDOW + 1;

    $r = $e_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Terminé.' });
    is $r->{status}, 201, 'a comment after the window: 201';
    is count_rows(), $before + 2, 'opens a new row';
    ($id) = split /\|/, last_row();
    isnt $id, $batch, 'another one';
    ok queued($id), 'pushed';
};

subtest 'nobody is told of their own action; none and inactive: nothing' => sub {
    my $own = publish($e2_c, $fid, 'Publication de la seconde employée');
    my $before = count_rows();

    # the employee comments on their own post: the client is told, not them
    my $r = $e2_c->api(POST => "posts/$own->{id}/comments",
        { body => 'Précision : le mur est sec.' });
    is $r->{status}, 201, 'own post, employee comment: 201';
    my ($id, $to) = split /\|/, last_row();
    is $to, $ua->{id}, 'the client is told, not the author';
    ok !scalar(grep { (split /\|/)[1] == $ue2->{id} } @{ rows() }),
        'the author of the post never is';

    # the client replies to their own comment on Marie's post: Marie only
    my $n = count_rows();
    $r = $a_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Et pour la peinture ?', parent_id => $c1->{id} });
    is $r->{status}, 201, 'client reply: 201';
    is count_rows(), $n + 1, 'one row';
    ($id, $to) = split /\|/, last_row();
    is $to, $ue->{id}, 'to the author of the post';

    # preferences: the client chooses none for comments
    $r = $a_c->api(PATCH => 'me', { notify => { comments => 'none' } });
    is $r->{status}, 200, 'client: notify.comments none' or diag $r->{raw};
    sleep $WINDOW + 1;
    $n = count_rows();
    $r = $e_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Un commentaire que personne ne reçoit.' });
    is $r->{status}, 201, 'comment: 201';
    is count_rows(), $n, 'none: no row';

    $r = $a_c->api(PATCH => 'me', { notify => { posts => 'none' } });
    is $r->{status}, 200, 'client: notify.posts none';
    publish($e_c, $fid, 'Publication que le client ne reçoit pas');
    is count_rows(), $n, 'none for posts: no row';

    # an inactive author of a post is told nothing
    $r = $admin->api(PATCH => "admin/users/$ue2->{id}", { active => \0 });
    is $r->{status}, 200, 'second employee deactivated' or diag $r->{raw};
    $r = $a_c->api(POST => "posts/$own->{id}/comments",
        { body => 'Question pour la seconde employée.' });
    is $r->{status}, 201, 'client comment on their post: 201';
    is count_rows(), $n, 'inactive recipient: no row';
};

subtest 'dead letters: listed for admins, sent again by Renvoyer' => sub {
    my ($id) = split /\|/, rows()->[0];
    sql("update chantier.notifications set state = 'dead', attempts = 7,"
        . " first_failed_at = now() - interval '1 day',"
        . " last_error = 'smtp: authentication failed (535)' where id = $id");

    my $r = $admin->api(GET => 'admin/notifications?state=dead');
    is $r->{status}, 200, 'GET admin/notifications?state=dead: 200';
    my ($n) = grep { $_->{id} == $id } @{ $r->{json} // [] };
    ok $n, 'lists it' or diag $r->{raw};
    is $n->{last_error}, 'smtp: authentication failed (535)', 'with its error';
    is $n->{attempts}, 7, 'its attempts';
    is $n->{recipient}{id}, $ua->{id}, 'its recipient';
    is $n->{code}, $f->{chantier_id}, 'its chantier';

    $r = $admin->api(GET => 'admin/notifications');
    ok scalar(grep { $_->{id} == $id } @{ $r->{json} // [] }),
        'dead is the default state';
    $r = $admin->api(GET => 'admin/notifications?state=bogus');
    is $r->{status}, 400, 'an unknown state: 400';
    $r = $e_c->api(GET => 'admin/notifications?state=dead');
    is $r->{status}, 403, 'an employee: 403';

    redis_cli('DEL', $QUEUE);
    $r = $e_c->api(POST => "admin/notifications/$id/retry");
    is $r->{status}, 403, 'retry by an employee: 403';
    $r = $admin->api(POST => "admin/notifications/$id/retry");
    is $r->{status}, 200, 'retry: 200' or diag $r->{raw};
    is $r->{json}{state}, 'pending', 'answers it pending';
    is sql("select state || '|' || attempts || '|'"
           . " || coalesce(last_error, '-') from chantier.notifications"
           . " where id = $id"), 'pending|0|-', 'pending again, from scratch';
    ok queued($id), 'pushed again';

    $r = $admin->api(POST => "admin/notifications/$id/retry");
    is $r->{status}, 409, 'retry of what is not dead: 409';
    is $r->{json}{error}{code}, 'not_dead', 'not_dead';
    $r = $admin->api(POST => 'admin/notifications/999999999/retry');
    is $r->{status}, 404, 'unknown: 404';
};

psql_superuser('alter database chantier reset chantier.notify_comment_window');
reload_nginx();
stack('start-notifier') if $notifier_was_running;

done_testing;
