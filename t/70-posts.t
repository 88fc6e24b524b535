# Posts of a fiche (issue 3, SPEC sections 3 to 5): employees publish, edit
# with If-Match, cancel, un-cancel and delete posts; clients and everybody
# else are refused without learning what exists; every change moves the
# fiche's version (ETag) on by exactly one; the fiche is finished while its
# latest non-cancelled post is a finishing one; Deltas outside the allow-list
# of SPEC section 4 are refused by the module with a message naming the op.

use strict;
use warnings;
use utf8;

use Test::More;
use Time::Local qw(timegm);

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);


my $admin = admin_client();

my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z$/;

sub epoch {
    my ($t) = @_;
    my ($y, $m, $d, $H, $M, $S) = ($t // '') =~
        /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/ or return 0;
    return timegm($S, $M, $H, $d, $m - 1, $y);
}

my ($e_c, $e) = client_for(role => 'employee', first_name => 'Élodie',
    last_name => "Marchand $$");
my ($e2_c, $e2) = client_for(role => 'employee', first_name => 'Bruno',
    last_name => "Lefèvre $$");
my ($a_c, $ua) = client_for(role => 'client');
my ($b_c, $ub) = client_for(role => 'client');

my @post_keys = sort qw(id version author created_at edited_at body cancelled
    finishing notify_client photos comments);

my $f = create_chantier(client_id => $ua->{id});
my $g = create_chantier(client_id => $ub->{id});
my $fid = $f->{id};
my $nofiche = psql('select coalesce(max(id), 0) + 1000000'
    . ' from chantier.fiches');
my $nopost = psql('select coalesce(max(id), 0) + 1000000'
    . ' from chantier.posts');

sub post_row {
    my ($id, $cols) = @_;
    my $sql = "select $cols from chantier.posts where id = $id";
    utf8::encode($sql);
    return psql($sql);
}


subtest 'an employee publishes' => sub {
    my $body = { ops => [ { insert => 'Pose du carrelage ' },
                          { insert => 'terminée',
                            attributes => { bold => \1 } },
                          { insert => ".\n" } ] };
    my $t0 = time;
    my $r = bumps('create', $fid,
        sub { $e_c->api(POST => "fiches/$fid/posts", { body => $body }) });

    is $r->{status}, 201, 'employee publishes: 201' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'post: JSON content type';
    my $p1 = $r->{json} // {};
    is_deeply [sort keys %$p1], \@post_keys, 'post: the fields of SPEC 5';
    like $p1->{id}, qr/^[1-9]\d*$/, 'post: id';
    is $p1->{version}, 1, 'post: version 1';
    is_deeply $p1->{author}, { id => $e->{id}, name => user_name($e) },
        'post: author {id, name}';
    like $p1->{created_at}, $TIME, 'post: created_at format';
    cmp_ok abs(epoch($p1->{created_at}) - $t0), '<', 120,
        'post: created_at is now';
    is $p1->{edited_at}, undef, 'post: edited_at null';
    is_deeply $p1->{body}, $body, 'post: body as sent';
    ok defined $p1->{cancelled} && !$p1->{cancelled}, 'post: cancelled false';
    ok defined $p1->{finishing} && !$p1->{finishing}, 'post: finishing false';
    ok $p1->{notify_client}, 'post: notify_client true by default';
    is_deeply $p1->{comments}, [], 'post: comments []';
    is post_row($p1->{id}, 'notify_client, finishing, cancelled'), 't|f|f',
        'post: stored notify_client true, finishing and cancelled false';
    is post_row($p1->{id}, 'author_id'), $e->{id}, 'post: stored author';

    my ($doc) = fiche($a_c, $fid);
    is_deeply $doc->{posts}, [$p1], 'the client sees the post in the fiche';
};

subtest 'notify_client false; an administrator publishes' => sub {
    my $r = $e_c->api(POST => "fiches/$fid/posts",
        { body => delta('Sans avis'), notify_client => \0 });
    is $r->{status}, 201, 'notify_client false: 201' or diag $r->{raw};
    ok defined $r->{json}{notify_client} && !$r->{json}{notify_client},
        'notify_client false: answered';
    is post_row($r->{json}{id} // 0, 'notify_client'), 'f',
        'notify_client false: stored';

    $r = $admin->api(POST => "fiches/$fid/posts", { body => delta('Admin') });
    is $r->{status}, 201, 'an administrator publishes too' or diag $r->{raw};
};


subtest 'who may not publish' => sub {
    my $body = { body => delta('Intrus') };
    my $count = psql('select count(*) from chantier.posts');

    no_change('refused publications', $fid, sub {
        is_error $a_c->api(POST => "fiches/$fid/posts", $body), 403,
            'forbidden', 'the fiche\'s client publishes';

        my $other = $b_c->api(POST => "fiches/$fid/posts", $body);
        my $none = $b_c->api(POST => "fiches/$nofiche/posts", $body);
        my $code = $other->{status} == 404 ? 'not_found' : 'forbidden';
        ok $other->{status} == 403 || $other->{status} == 404,
            'another client publishes: 403 or 404';
        is_error $other, $other->{status}, $code, 'another client publishes';
        is_deeply [$other->{status}, $other->{raw}],
            [$none->{status}, $none->{raw}],
            'another client: the same answer for a fiche that does not exist';

        is_error $e_c->api(POST => "fiches/$nofiche/posts", $body), 404,
            'not_found', 'employee, a fiche that does not exist';
        is_error api(POST => "fiches/$fid/posts", $body), 401,
            'not_logged_in', 'no session';
        is_error $e_c->api(POST => "fiches/$fid/posts", $body, csrf => undef),
            403, 'csrf_invalid', 'no CSRF token';
        is_error $e_c->api(POST => "fiches/$fid/posts", $body,
            csrf => 'forged'), 403, 'csrf_invalid', 'a wrong CSRF token';
        is_error $e_c->api(POST => "fiches/$fid/posts", json_encode($body),
            content_type => 'text/plain'), 415, 'unsupported_media_type',
            'text/plain';

        # the body of the request itself
        is_error $e_c->api(POST => "fiches/$fid/posts", {}), 400,
            'invalid_field', 'no body member';
        is_error $e_c->api(POST => "fiches/$fid/posts",
            { body => delta('x'), color => 'red' }), 400, 'unknown_field',
            'unknown member';
        is_error $e_c->api(POST => "fiches/$fid/posts",
            { body => delta('x'), version => 3 }), 400,
            qr/^(field_not_editable|unknown_field)$/, 'version member';
        is_error $e_c->api(POST => "fiches/$fid/posts",
            { body => delta('x'), finishing => 'yes' }), 400,
            'invalid_field', 'finishing as a string';
        is_error $e_c->api(POST => "fiches/$fid/posts",
            { body => delta('x'), notify_client => 1 }), 400,
            'invalid_field', 'notify_client as a number';
        is_error $e_c->api(POST => "fiches/$fid/posts",
            { body => delta('x'), finishing => undef }), 400,
            'invalid_field', 'finishing null';
    });

    is psql('select count(*) from chantier.posts'), $count,
        'no post was stored by the refused requests';
};


my $p;

subtest 'PATCH with If-Match' => sub {
    $p = publish($e_c, $fid, 'Première version');
    my $pid = $p->{id};

    no_change('refused edits', $fid, sub {
        is_error $e_c->api(PATCH => "posts/$pid", { body => delta('x') }),
            428, 'if_match_required', 'PATCH without If-Match';
        for my $bad ('abc', '"1', '""', '"-1"', '*, "1"', '"1", "2"') {
            is_error $e_c->api(PATCH => "posts/$pid", { cancelled => \1 },
                headers => { 'If-Match' => $bad }),
                428, 'if_match_required', "PATCH with If-Match: $bad";
        }
        is_error $e_c->api(PATCH => "posts/$pid", { cancelled => \1 },
            headers => { 'If-Match' => '"99"' }), 412, 'stale_version',
            'If-Match of a future version', extra => ['current'];
        is_error $a_c->api(PATCH => "posts/$pid", { cancelled => \1 },
            headers => { 'If-Match' => '"1"' }), 403, 'forbidden',
            'the client edits a post';
        my $other = $b_c->api(PATCH => "posts/$pid", { cancelled => \1 },
            headers => { 'If-Match' => '"1"' });
        my $none = $b_c->api(PATCH => "posts/$nopost", { cancelled => \1 },
            headers => { 'If-Match' => '"1"' });
        ok $other->{status} == 403 || $other->{status} == 404,
            'another client edits: 403 or 404';
        is_deeply [$other->{status}, $other->{raw}],
            [$none->{status}, $none->{raw}],
            'another client edits: the same answer as for no post';
        is_error $e_c->api(PATCH => "posts/$nopost", { cancelled => \1 },
            headers => { 'If-Match' => '"1"' }), 404, 'not_found',
            'PATCH a post that does not exist';
        is_error api(PATCH => "posts/$pid", { cancelled => \1 },
            headers => { 'If-Match' => '"1"' }), 401, 'not_logged_in',
            'PATCH without a session';
        is_error $e_c->api(PATCH => "posts/$pid", { cancelled => \1 },
            headers => { 'If-Match' => '"1"' }, csrf => undef), 403,
            'csrf_invalid', 'PATCH without CSRF token';
        is_error $e_c->api(PATCH => "posts/$pid", {},
            headers => { 'If-Match' => '"1"' }), 400, 'invalid_field',
            'PATCH {}';
        is_error $e_c->api(PATCH => "posts/$pid", { title => 'x' },
            headers => { 'If-Match' => '"1"' }), 400, 'unknown_field',
            'PATCH an unknown member';
        is_error $e_c->api(PATCH => "posts/$pid", { notify_client => 'oui' },
            headers => { 'If-Match' => '"1"' }), 400, 'invalid_field',
            'PATCH notify_client as a string';
        is_error $e_c->api(PATCH => "posts/$pid", { cancelled => 'true' },
            headers => { 'If-Match' => '"1"' }), 400, 'invalid_field',
            'PATCH cancelled as a string';
        is_error $e_c->api(PATCH => "posts/$pid",
            { body => { ops => [ { insert => 'x',
                attributes => { link => 'javascript:alert(1)' } } ] } },
            headers => { 'If-Match' => '"1"' }), 400, 'invalid_delta',
            'PATCH with a javascript: link';
    });
    is post_row($pid, 'version, cancelled, edited_at is null'), '1|f|t',
        'the refused edits left the post as it was';

    # a change that is no change
    my $r = no_change('PATCH with the values it has', $fid, sub {
        $e_c->api(PATCH => "posts/$pid", { cancelled => \0,
            body => delta('Première version') },
            headers => { 'If-Match' => '"1"' });
    });
    is $r->{status}, 200, 'PATCH with the same values: 200'
        or diag $r->{raw};
    is $r->{json}{version}, 1, 'PATCH with the same values: version stays 1';
    is $r->{json}{edited_at}, undef,
        'PATCH with the same values: edited_at stays null';

    # the finishing flag alone: no "modifiée"
    $r = bumps('PATCH finishing', $fid, sub {
        $e_c->api(PATCH => "posts/$pid", { finishing => \1 },
            headers => { 'If-Match' => '"1"' });
    });
    is $r->{status}, 200, 'PATCH finishing: 200' or diag $r->{raw};
    is_deeply [sort keys %{ $r->{json} // {} }], \@post_keys,
        'PATCH: answers the post';
    is $r->{json}{version}, 2, 'PATCH finishing: version 2';
    ok $r->{json}{finishing}, 'PATCH finishing: finishing true';
    is $r->{json}{edited_at}, undef, 'PATCH finishing: edited_at stays null';

    # the text: "modifiée le"
    my $new = { ops => [ { insert => 'Deuxième version',
                           attributes => { italic => \1 } },
                         { insert => "\n" } ] };
    $r = bumps('PATCH body', $fid, sub {
        $e2_c->api(PATCH => "posts/$pid", { body => $new, finishing => \0 },
            headers => { 'If-Match' => '"2"' });
    });
    is $r->{status}, 200, 'PATCH body by another employee: 200'
        or diag $r->{raw};
    is $r->{json}{version}, 3, 'PATCH body: version 3';
    is_deeply $r->{json}{body}, $new, 'PATCH body: the new body';
    like $r->{json}{edited_at} // '', $TIME, 'PATCH body: edited_at set';
    ok(($r->{json}{edited_at} // '') ge $p->{created_at},
        'PATCH body: edited_at not before created_at');
    is_deeply $r->{json}{author}, $p->{author},
        'PATCH body: the author stays who wrote it';
    is $r->{json}{created_at}, $p->{created_at},
        'PATCH body: created_at unchanged';
    my $edited = post_row($pid, 'edited_at');
    ok length $edited, 'PATCH body: edited_at stored';

    # a stale edit
    my $stale;
    $r = no_change('stale PATCH', $fid, sub {
        $stale = $e_c->api(PATCH => "posts/$pid", { cancelled => \1 },
            headers => { 'If-Match' => '"2"' });
    });
    my $err = is_error $stale, 412, 'stale_version', 'PATCH with If-Match 2',
        extra => ['current'];
    like $err->{message} // '', qr/modifiée par \Q${\ user_name($e2)}\E/,
        'stale: the message names who changed it';
    my $current = ref $stale->{json} eq 'HASH' ? $stale->{json}{current} : {};
    is_deeply [sort keys %{ $current // {} }], \@post_keys,
        'stale: "current" is a post';
    is $current->{version}, 3, 'stale: current version 3';
    is_deeply $current->{body}, $new, 'stale: current body';
    ok !$current->{cancelled}, 'stale: the post was not cancelled';

    # weak validator, cancel and un-cancel
    $r = bumps('PATCH cancel with W/"3"', $fid, sub {
        $e_c->api(PATCH => "posts/$pid", { cancelled => \1 },
            headers => { 'If-Match' => 'W/"3"' });
    });
    is $r->{status}, 200, 'weak If-Match W/"3": 200' or diag $r->{raw};
    ok $r->{json}{cancelled}, 'cancel: cancelled true';
    is $r->{json}{version}, 4, 'cancel: version 4';
    is post_row($pid, 'edited_at'), $edited, 'cancel: edited_at unchanged';
    my ($doc) = fiche($a_c, $fid);
    my ($in_doc) = grep { $_->{id} == $pid } @{ $doc->{posts} // [] };
    ok $in_doc && $in_doc->{cancelled}, 'cancel: the fiche shows it cancelled';

    $r = bumps('PATCH un-cancel', $fid, sub {
        $e_c->api(PATCH => "posts/$pid", { cancelled => \0 },
            headers => { 'If-Match' => '"4"' });
    });
    is $r->{status}, 200, 'un-cancel: 200' or diag $r->{raw};
    ok defined $r->{json}{cancelled} && !$r->{json}{cancelled},
        'un-cancel: cancelled false';
    is $r->{json}{version}, 5, 'un-cancel: version 5';
    is post_row($pid, 'edited_at'), $edited, 'un-cancel: edited_at unchanged';

    # a second text change moves edited_at again
    $r = $e_c->api(PATCH => "posts/$pid", { body => delta('Troisième') },
        headers => { 'If-Match' => '5' });
    is $r->{status}, 200, 'If-Match without quotes: 200' or diag $r->{raw};
    isnt post_row($pid, 'edited_at'), $edited, 'a new text: edited_at moves';
    is $r->{json}{version}, 6, 'version 6';
    $p = $r->{json};
};


subtest 'concurrent edits: one wins, the others are told' => sub {
    my $pid = publish($e_c, $fid, 'Course')->{id};
    my ($before) = fiche($e_c, $fid);

    my @status = parallel(map {
        my $i = $_;
        my $c = twin($i % 2 ? $e_c : $e2_c);
        sub {
            $c->api(PATCH => "posts/$pid", { body => delta("Version $i") },
                headers => { 'If-Match' => '"1"' });
        }
    } 1 .. 6);

    is join(' ', sort @status), '200 412 412 412 412 412',
        'six edits of version 1 at once: one 200, five 412';
    is post_row($pid, 'version'), 2, 'the post is at version 2';
    my ($after) = fiche($e_c, $fid);
    is $after->{version}, $before->{version} + 1,
        'the fiche moved on by one';
};


subtest '304' => sub {
    my ($doc, $etag) = fiche($a_c, $fid);
    is $etag, qq("$doc->{version}"), 'ETag is "<version>"';
    is $doc->{version},
        psql("select version from chantier.fiches where id = $fid"),
        'the version is the stored one';

    for my $who ([client => $a_c], [employee => $e_c]) {
        my ($name, $c) = @$who;
        my $r = $c->api(GET => "fiches/$fid", undef,
            headers => { 'If-None-Match' => $etag });
        is $r->{status}, 304, "$name: If-None-Match current ETag: 304";
        is $r->{headers}{etag}, $etag, "$name: 304 has the ETag";
        is $r->{raw}, '', "$name: 304 has no body";

        $r = $c->api(GET => "fiches/$fid", undef,
            headers => { 'If-None-Match' => "W/$etag" });
        is $r->{status}, 304, "$name: weak If-None-Match: 304";

        my $old = '"' . ($doc->{version} - 1) . '"';
        $r = $c->api(GET => "fiches/$fid", undef,
            headers => { 'If-None-Match' => $old });
        is $r->{status}, 200, "$name: If-None-Match an old ETag: 200";
        is $r->{headers}{etag}, $etag, "$name: 200 with the current ETag";
        is_deeply $r->{json}, $doc, "$name: the current fiche";
    }

    # no 304 for someone who may not see it: that would tell its version
    is_error $b_c->api(GET => "fiches/$fid", undef,
        headers => { 'If-None-Match' => $etag }), 404, 'not_found',
        'another client with the right ETag';
    is_error api(GET => "fiches/$fid", undef,
        headers => { 'If-None-Match' => $etag }), 401, 'not_logged_in',
        'no session with the right ETag';
};


subtest 'DELETE' => sub {
    my $pid = publish($e_c, $fid, 'À supprimer')->{id};

    my $c1 = $a_c->api(POST => "posts/$pid/comments", { body => 'Question' });
    is $c1->{status}, 201, 'delete: a comment to go with it'
        or diag $c1->{raw};
    my $c2 = $e_c->api(POST => "posts/$pid/comments",
        { body => 'Réponse', parent_id => $c1->{json}{id} });
    is $c2->{status}, 201, 'delete: and a reply' or diag $c2->{raw};
    is psql("select count(*) from chantier.comments where post_id = $pid"),
        2, 'delete: two comments stored';

    no_change('refused deletes', $fid, sub {
        is_error $a_c->api(DELETE => "posts/$pid"), 403, 'forbidden',
            'the client deletes a post';
        my $other = $b_c->api(DELETE => "posts/$pid");
        my $none = $b_c->api(DELETE => "posts/$nopost");
        ok $other->{status} == 403 || $other->{status} == 404,
            'another client deletes: 403 or 404';
        is_deeply [$other->{status}, $other->{raw}],
            [$none->{status}, $none->{raw}],
            'another client deletes: the same answer as for no post';
        is_error api(DELETE => "posts/$pid"), 401, 'not_logged_in',
            'DELETE without a session';
        is_error $e_c->api(DELETE => "posts/$pid", undef, csrf => undef),
            403, 'csrf_invalid', 'DELETE without CSRF token';
    });

    my $r = bumps('DELETE', $fid,
        sub { $e2_c->api(DELETE => "posts/$pid") });
    is $r->{status}, 204, 'another employee deletes the post: 204'
        or diag $r->{raw};
    is $r->{raw}, '', '204: no body';
    is psql("select count(*) from chantier.posts where id = $pid"), 0,
        'the post is gone';
    is psql('select count(*) from chantier.comments where id in ('
        . join(',', map { $_->{json}{id} // 0 } $c1, $c2) . ')'
        . " or post_id = $pid"), 0, 'its comments are gone';
    my ($doc) = fiche($a_c, $fid);
    ok !grep({ $_->{id} == $pid } @{ $doc->{posts} // [] }),
        'the fiche no longer shows it';

    no_change('second DELETE', $fid, sub {
        is_error $e_c->api(DELETE => "posts/$pid"), 404, 'not_found',
            'DELETE it again';
    });
    is_error $e_c->api(PATCH => "posts/$pid", { cancelled => \1 },
        headers => { 'If-Match' => '"1"' }), 404, 'not_found',
        'PATCH a deleted post';
    is_error $a_c->api(POST => "posts/$pid/comments", { body => 'x' }), 404,
        'not_found', 'comment on a deleted post';
};


subtest 'status: finished while the latest non-cancelled post finishes' => sub {
    my $s = create_chantier(client_id => $ua->{id});
    my $sid = $s->{id};
    my %post;
    my $version = 0;

    my $check = sub {
        my ($name, $status, $finisher) = @_;
        my ($doc) = fiche($a_c, $sid);
        is $doc->{status}, $status, "$name: status $status";
        is $doc->{finished_at},
            $finisher ? $post{$finisher}{created_at} : undef,
            "$name: finished_at "
            . ($finisher ? "= created_at of $finisher" : 'null');

        my $list = $a_c->api(GET => 'fiches');
        my ($sum) = grep { $_->{id} == $sid } @{ $list->{json} // [] };
        is $sum->{status}, $status, "$name: the client's list says $status";
        my $last = (sort { $a->{id} <=> $b->{id} }
                    map { $_->{json} } values %post)[-1];
        is $sum->{last_post_at}, $last ? $last->{created_at} : undef,
            "$name: the list's last_post_at is the latest post";
        is_deeply [map { $_->{id} } @{ $doc->{posts} // [] }],
            [sort { $a <=> $b } map { $_->{json}{id} } values %post],
            "$name: the posts oldest first";
    };

    my $publish = sub {
        my ($name, $finishing) = @_;
        my $r = bumps("publish $name", $sid, sub {
            $e_c->api(POST => "fiches/$sid/posts",
                { body => delta($name), finishing => $finishing ? \1 : \0 });
        });
        is $r->{status}, 201, "publish $name: 201" or diag $r->{raw};
        is !!$r->{json}{finishing}, !!$finishing,
            "publish $name: finishing " . ($finishing ? 'true' : 'false');
        $post{$name} = { json => $r->{json}, created_at =>
                         $r->{json}{created_at}, version => 1 };
    };

    my $patch = sub {
        my ($name, $what) = @_;
        my $r = bumps("PATCH $name " . json_encode($what), $sid, sub {
            $e_c->api(PATCH => "posts/$post{$name}{json}{id}", $what,
                headers => { 'If-Match' => qq("$post{$name}{version}") });
        });
        is $r->{status}, 200, "PATCH $name: 200" or diag $r->{raw};
        $post{$name}{version}++;
    };

    $check->('no post', 'in_progress', undef);
    $publish->('p1', 0);
    $check->('p1 (not finishing)', 'in_progress', undef);
    $publish->('p2', 1);
    $check->('p2 finishing', 'finished', 'p2');
    $publish->('p3', 0);
    $check->('p3 after the finishing p2: work resumed', 'in_progress', undef);
    $publish->('p4', 1);
    $check->('p4 finishing', 'finished', 'p4');
    $patch->('p4', { cancelled => \1 });
    $check->('p4 cancelled: p3 is the latest', 'in_progress', undef);
    $patch->('p3', { cancelled => \1 });
    $check->('p3 cancelled too: p2 (finishing) is the latest', 'finished',
        'p2');
    $patch->('p4', { cancelled => \0 });
    $check->('p4 un-cancelled', 'finished', 'p4');
    $patch->('p4', { finishing => \0 });
    $check->('p4 no longer finishing', 'in_progress', undef);
    $patch->('p4', { finishing => \1 });
    $check->('p4 finishing again', 'finished', 'p4');

    my $r = bumps('DELETE p4', $sid, sub {
        $e_c->api(DELETE => "posts/$post{p4}{json}{id}");
    });
    is $r->{status}, 204, 'DELETE p4: 204';
    delete $post{p4};
    $check->('p4 deleted: p2 (finishing) is the latest non-cancelled',
        'finished', 'p2');
    $patch->('p3', { cancelled => \0 });
    $check->('p3 un-cancelled', 'in_progress', undef);

    $r = $e_c->api(GET => "fiches?chantier=$s->{chantier_id}");
    is $r->{json}[0]{status}, 'in_progress', 'employee look-up: status';
    is $r->{json}[0]{last_post_at}, $post{p3}{created_at},
        'employee look-up: last_post_at';

    # the latest post counts for last_post_at even when cancelled
    $patch->('p3', { cancelled => \1 });
    $check->('p3 cancelled again', 'finished', 'p2');
};


# ---- Deltas outside the allow-list (SPEC section 4) ----

my $ok_op = '{"insert":"Texte correct "}';
my $x20001 = 'a' x 20001;

# [name, Delta as JSON text, message (regex), op named (0: the document)]
my @bad = (
    ['javascript: link',
     '{"insert":"clic","attributes":{"link":"javascript:alert(1)"}}',
     qr/javascript/, 2],
    ['JaVaScRiPt: link',
     '{"insert":"clic","attributes":{"link":"JaVaScRiPt:alert(1)"}}',
     qr/JaVaScRiPt|javascript/i, 2],
    ['data: link',
     '{"insert":"clic","attributes":{"link":'
     . '"data:text/html,<script>alert(1)</script>"}}',
     qr/data/, 2],
    ['vbscript: link',
     '{"insert":"clic","attributes":{"link":"vbscript:msgbox(1)"}}',
     qr/vbscript/, 2],
    ['link with a leading space',
     '{"insert":"clic","attributes":{"link":" javascript:alert(1)"}}',
     qr/lien/, 2],
    ['link with a tab inside the scheme',
     '{"insert":"clic","attributes":{"link":"java\tscript:alert(1)"}}',
     qr/lien/, 2],
    ['link with a newline',
     '{"insert":"clic","attributes":{"link":"https://a.example/\nx"}}',
     qr/lien/, 2],
    ['link with a space',
     '{"insert":"clic","attributes":{"link":"https://a.example/a b"}}',
     qr/lien/, 2],
    ['link with a control character',
     '{"insert":"clic","attributes":{"link":"https://a.example/\u0001"}}',
     qr/lien/, 2],
    ['link with a backslash',
     '{"insert":"clic","attributes":{"link":"https:\\\\\\\\evil.example"}}',
     qr/lien/, 2],
    ['relative link', '{"insert":"clic","attributes":{"link":"/admin"}}',
     qr/lien/, 2],
    ['link with a user name',
     '{"insert":"clic","attributes":'
     . '{"link":"https://bank.example@evil.example/"}}',
     qr/lien|@/, 2],
    ['link without a host',
     '{"insert":"clic","attributes":{"link":"https:///x"}}',
     qr/lien/, 2],
    ['empty link', '{"insert":"clic","attributes":{"link":""}}', qr/lien/, 2],
    ['link as a number', '{"insert":"clic","attributes":{"link":1}}',
     qr/link/, 2],
    ['attribute font', '{"insert":"a","attributes":{"font":"serif"}}',
     qr/font/, 2],
    ['attribute color', '{"insert":"a","attributes":{"color":"#f00"}}',
     qr/color/, 2],
    ['attribute background',
     '{"insert":"a","attributes":{"background":"#ff0"}}',
     qr/background/, 2],
    ['attribute align', '{"insert":"\n","attributes":{"align":"center"}}',
     qr/align/, 2],
    ['attribute script', '{"insert":"a","attributes":{"script":"super"}}',
     qr/script/, 2],
    ['attribute code-block',
     '{"insert":"\n","attributes":{"code-block":true}}', qr/code-block/, 2],
    ['size 12px', '{"insert":"a","attributes":{"size":"12px"}}', qr/size/, 2],
    ['size as a number', '{"insert":"a","attributes":{"size":3}}',
     qr/size/, 2],
    ['header 4', '{"insert":"\n","attributes":{"header":4}}', qr/header/, 2],
    ['header 0', '{"insert":"\n","attributes":{"header":0}}', qr/header/, 2],
    ['header "1" as a string', '{"insert":"\n","attributes":{"header":"1"}}',
     qr/header/, 2],
    ['header 1.0', '{"insert":"\n","attributes":{"header":1.0}}',
     qr/header/, 2],
    ['header on text', '{"insert":"Titre","attributes":{"header":1}}',
     qr/header/, 2],
    ['list checked', '{"insert":"\n","attributes":{"list":"checked"}}',
     qr/list/, 2],
    ['list unchecked', '{"insert":"\n","attributes":{"list":"unchecked"}}',
     qr/list/, 2],
    ['header and list together',
     '{"insert":"\n","attributes":{"header":1,"list":"bullet"}}',
     qr/header|list/, 2],
    ['bold false', '{"insert":"a","attributes":{"bold":false}}', qr/bold/, 2],
    ['bold "true"', '{"insert":"a","attributes":{"bold":"true"}}',
     qr/bold/, 2],
    ['italic null', '{"insert":"a","attributes":{"italic":null}}',
     qr/italic/, 2],
    ['remote image embed',
     '{"insert":{"image":"https://evil.example/x.png"}}', qr/image/, 2],
    ['data: image embed',
     '{"insert":{"image":"data:image/png;base64,iVBORw0KGgo="}}',
     qr/image/, 2],
    ['video embed',
     '{"insert":{"video":"https://www.youtube.com/embed/x"}}', qr/video/, 2],
    ['formula embed', '{"insert":{"formula":"e=mc^2"}}', qr/formula/, 2],
    ['embed with two members',
     '{"insert":{"image":"photo:1","alt":"x"}}', qr/image/, 2],
    ['insert as a number', '{"insert":42}', qr/insert/, 2],
    ['insert null', '{"insert":null}', qr/insert/, 2],
    ['insert as an array', '{"insert":["a"]}', qr/insert/, 2],
    ['insert missing', '{"attributes":{"bold":true}}', qr/insert/, 2],
    ['empty insert', '{"insert":""}', qr/vide/, 2],
    ['attributes as an array', '{"insert":"a","attributes":["bold"]}',
     qr/attributes/, 2],
    ['attributes as a string', '{"insert":"a","attributes":"bold"}',
     qr/attributes/, 2],
    ['op as a string', '"a"', qr/objet/, 2],
    ['op as an array', '["a"]', qr/objet/, 2],
    ['delete op', '{"delete":3}', qr/delete/, 2],
    ['retain op', '{"retain":1}', qr/retain/, 2],
    ['retain with attributes', '{"retain":1,"attributes":{"bold":true}}',
     qr/retain/, 2],
    ['unknown op member', '{"insert":"a","onclick":"alert(1)"}',
     qr/onclick/, 2],
    ['control character U+0001 in text', '{"insert":"a\u0001b"}',
     qr/U\+0001/, 2],
    ['control character U+001B in text', '{"insert":"a\u001bb"}',
     qr/U\+001B/, 2],
    ['DEL in text', '{"insert":"a\u007fb"}', qr/U\+007F/, 2],
    ['C1 control U+0085 in text', '{"insert":"a\u0085b"}', qr/U\+0085/, 2],
    ['carriage return in text', '{"insert":"a\r\nb"}', qr/U\+000D/, 2],
);

# documents that are not a Delta at all
my @bad_docs = (
    ['ops not an array', '{"ops":{"insert":"a"}}', qr/ops/],
    ['ops a string', '{"ops":"a"}', qr/ops/],
    ['ops null', '{"ops":null}', qr/ops/],
    ['empty ops', '{"ops":[]}', qr/vide|ops/],
    ['no ops', '{}', qr/ops/],
    ['extra top-level key',
     '{"ops":[{"insert":"a\n"}],"html":"<b>a</b>"}', qr/html/],
    ['body a string', '"texte"', qr/ops|Quill/],
    ['body an array', '[{"insert":"a\n"}]', qr/ops|Quill/],
    ['body a number', '1', qr/ops|Quill/],
    ['body null', 'null', qr/ops|Quill/],
);

subtest 'Deltas outside the allow-list' => sub {
    my $count_before = psql("select count(*) from chantier.posts"
        . " where fiche_id = $fid");

    no_change('invalid Deltas', $fid, sub {
        for my $case (@bad) {
            my ($name, $op, $msg, $at) = @$case;
            my $raw = qq({"body":{"ops":[$ok_op,$op]}});
            my $r = $e_c->api(POST => "fiches/$fid/posts", $raw);
            my $err = is_error $r, 400, 'invalid_delta', "Delta: $name";
            like $err->{message} // '', qr/^Opération $at\b/,
                "Delta: $name: the message names op $at";
            like $err->{message} // '', $msg, "Delta: $name: says what is wrong"
                or diag $err->{message};
        }

        for my $case (@bad_docs) {
            my ($name, $doc, $msg) = @$case;
            my $r = $e_c->api(POST => "fiches/$fid/posts", qq({"body":$doc}));
            my $err = is_error $r, 400, 'invalid_delta', "Delta: $name";
            like $err->{message} // '', $msg, "Delta: $name: says what is wrong"
                or diag $err->{message};
        }

        # the same checks on PATCH
        for my $case (@bad[0, 15, 34]) {
            my ($name, $op, $msg, $at) = @$case;
            my $r = $e_c->api(PATCH => "posts/$p->{id}",
                qq({"body":{"ops":[$ok_op,$op]}}),
                headers => { 'If-Match' => qq("$p->{version}") });
            my $err = is_error $r, 400, 'invalid_delta', "PATCH Delta: $name";
            like $err->{message} // '', $msg, "PATCH Delta: $name: message";
        }

        # invalid JSON text in a Delta: refused before the validator
        my $r = $e_c->api(POST => "fiches/$fid/posts",
            qq({"body":{"ops":[{"insert":"a\\u0000b"}]}}));
        is_error $r, 400, qr/^(invalid_json|invalid_delta)$/,
            'Delta: NUL (\u0000) in text';
        $r = $e_c->api(POST => "fiches/$fid/posts",
            qq({"body":{"ops":[{"insert":"a\xff\xfeb"}]}}));
        is_error $r, 400, qr/^(invalid_json|invalid_delta)$/,
            'Delta: invalid UTF-8 in text';

        # over 20,000 characters: SPEC 5 says 413 over a limit; the message
        # still names the op
        for my $case (
            ['20,001 characters in one op',
             qq({"body":{"ops":[{"insert":"$x20001"}]}}),
             qr/^Opération 1 : .*20 000/],
            ['20,001 characters over two ops',
             '{"body":{"ops":[{"insert":"' . ('a' x 10000) . '"},{"insert":"'
             . ('b' x 10000) . "\\n\"}]}}", qr/^Opération 2 : .*20 000/],
            ['20,000 "é" and a newline',
             '{"body":{"ops":[{"insert":"' . ('é' x 20000) . "\\n\"}]}}",
             qr/^Opération 1 : .*20 000/],
            ['10,001 ops',
             '{"body":{"ops":[' . join(',', ('{"insert":"a"}') x 10001) . ']}}',
             qr/10 000/],
        ) {
            my ($name, $raw, $msg) = @$case;
            utf8::encode($raw);
            $r = $e_c->api(POST => "fiches/$fid/posts", $raw);
            my $err = is_error $r, 413, 'too_large', "Delta: $name";
            like $err->{message} // '', $msg, "Delta: $name: message";
        }
    });

    is psql("select count(*) from chantier.posts where fiche_id = $fid"),
        $count_before, 'no refused Delta was stored';
};


# ---- Deltas within the allow-list ----

my @good = (
    ['bold, italic, underline, strike',
     '{"ops":[{"insert":"a","attributes":{"bold":true}},'
     . '{"insert":"b","attributes":{"italic":true}},'
     . '{"insert":"c","attributes":{"underline":true}},'
     . '{"insert":"d","attributes":{"strike":true}},'
     . '{"insert":"e","attributes":{"bold":true,"italic":true,'
     . '"underline":true,"strike":true}},{"insert":"\n"}]}'],
    ['sizes',
     '{"ops":[{"insert":"s","attributes":{"size":"small"}},'
     . '{"insert":"l","attributes":{"size":"large"}},'
     . '{"insert":"h","attributes":{"size":"huge"}},{"insert":"\n"}]}'],
    ['headers 1 to 3',
     '{"ops":[{"insert":"Titre"},{"insert":"\n","attributes":{"header":1}},'
     . '{"insert":"Sous-titre"},{"insert":"\n","attributes":{"header":2}},'
     . '{"insert":"Partie"},{"insert":"\n","attributes":{"header":3}}]}'],
    ['lists',
     '{"ops":[{"insert":"un"},{"insert":"\n","attributes":{"list":"bullet"}},'
     . '{"insert":"deux"},'
     . '{"insert":"\n\n","attributes":{"list":"ordered"}}]}'],
    ['links https, http, mailto',
     '{"ops":[{"insert":"site","attributes":{"link":"https://www.clo.example/'
     . 'chantiers?id=1#haut"}},{"insert":" "},{"insert":"vieux","attributes":'
     . '{"link":"HTTP://Exemple.FR"}},{"insert":" "},{"insert":"écrire",'
     . '"attributes":{"link":"mailto:contact@clo.example","bold":true}},'
     . '{"insert":"\n"}]}'],
    ['tabs, newlines and accents',
     '{"ops":[{"insert":"Étape\t1 : « fini » — 12 € ✓\n\n'
     . 'Suite 😀\n"}]}'],
    ['no final newline', '{"ops":[{"insert":"sans fin de ligne"}]}'],
    ['markup as text',
     '{"ops":[{"insert":'
     . '"<img src=x onerror=alert(1)><script>x</script>\n"}]}'],
    ['exactly 20,000 characters',
     '{"ops":[{"insert":"' . ('a' x 19999) . '\n"}]}'],
    ['exactly 20,000 characters over two ops',
     '{"ops":[{"insert":"' . ('a' x 10000) . '",'
     . '"attributes":{"bold":true}},{"insert":"' . ('b' x 9999) . '\n"}]}'],
    ['20,000 characters of "é" (40,000 bytes)',
     '{"ops":[{"insert":"' . ('é' x 20000) . '"}]}'],
);

subtest 'Deltas within the allow-list' => sub {
    my $v = create_chantier(client_id => $ua->{id});

    for my $case (@good) {
        my ($name, $doc) = @$case;
        my $bytes = qq({"body":$doc});
        utf8::encode($bytes);
        my $want = json_decode(do { my $d = $doc; utf8::encode($d); $d });

        my $r = bumps("valid Delta: $name", $v->{id}, sub {
            $e_c->api(POST => "fiches/$v->{id}/posts", $bytes);
        });
        is $r->{status}, 201, "valid Delta: $name: 201"
            or diag substr($r->{raw}, 0, 300);
        is_deeply $r->{json}{body}, $want,
            "valid Delta: $name: answered as sent";
        my $id = $r->{json}{id} // 0;
        is post_row($id, 'body = ' . sql_quote($doc) . '::jsonb'), 't',
            "valid Delta: $name: stored as sent";
        my ($doc_json) = fiche($a_c, $v->{id});
        my ($in_doc) = grep { $_->{id} == $id } @{ $doc_json->{posts} // [] };
        is_deeply $in_doc && $in_doc->{body}, $want,
            "valid Delta: $name: in the fiche as sent";
    }
};

# A post sent again with the same Idempotency-Key (the page's outbox, when
# the answer to the first attempt was lost) is published once.
subtest 'Idempotency-Key: a post sent twice is published once' => sub {
    my $f = create_chantier(client_id => create_user(role => 'client')->{id});
    my $other = create_chantier(client_id => create_user(role => 'client')->{id});
    my $key = 'outbox-' . time . '-' . $$;
    my $body = { body => delta('Livraison des menuiseries') };

    my $first = bumps('first attempt', $f->{id}, sub {
        $e_c->api(POST => "fiches/$f->{id}/posts", $body,
                  headers => { 'Idempotency-Key' => $key });
    });
    is $first->{status}, 201, 'first attempt: 201';

    my $again = no_change('the same attempt again', $f->{id}, sub {
        $e_c->api(POST => "fiches/$f->{id}/posts", $body,
                  headers => { 'Idempotency-Key' => $key });
    });
    is $again->{status}, 201, 'again: 201';
    is $again->{json}{id}, $first->{json}{id}, 'again: the same post';
    is psql("select count(*) from chantier.posts where fiche_id = $f->{id}"), 1,
        'one post in the database';

    my $elsewhere = $e_c->api(POST => "fiches/$other->{id}/posts", $body,
                              headers => { 'Idempotency-Key' => $key });
    is $elsewhere->{status}, 409, 'the same key on another fiche: 409';
    is $elsewhere->{json} && $elsewhere->{json}{error}{code},
        'idempotency_key_reused', 'idempotency_key_reused';

    my ($e2_c) = client_for(role => 'employee');
    my $mine = $e2_c->api(POST => "fiches/$f->{id}/posts", $body,
                          headers => { 'Idempotency-Key' => $key });
    is $mine->{status}, 201, 'the same key from another author: a post of theirs';
    isnt $mine->{json}{id}, $first->{json}{id}, 'a new post';

    for my $bad ('a b', 'x' x 101, "a\tb") {
        my $r = $e_c->api(POST => "fiches/$f->{id}/posts", $body,
                          headers => { 'Idempotency-Key' => $bad });
        is $r->{status}, 400, 'a key with a space or a tab, or of 101'
            . ' characters: 400';
    }
};

done_testing;
