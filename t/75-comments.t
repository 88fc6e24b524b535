# Comments (issue 3, SPEC sections 3 and 5): the fiche's client and any
# employee comment on a post or reply to a comment, to any depth; plain text
# of 1 to 5,000 characters with its line breaks, returned as text; only the
# author deletes a comment, its replies with it; everybody else gets 404.
# Every change moves the fiche's version on by one, and each nginx worker
# serves the new version at once (the stack runs two workers, each with its
# own cache of fiche documents).

use strict;
use warnings;
use utf8;

use Test::More;

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);


my $admin = admin_client();

sub sql {
    my ($s) = @_;
    utf8::encode($s);
    my $out = psql($s);
    utf8::decode($out);
    return $out;
}

my ($a_c, $ua) = client_for(role => 'client', first_name => 'Aurélie',
    last_name => "Dupré $$");
my ($b_c, $ub) = client_for(role => 'client');
my ($e_c, $e) = client_for(role => 'employee');
my ($e2_c, $e2) = client_for(role => 'employee');

# the comments of post $pid in fiche $doc as [id, [replies...]] trees
sub tree {
    my ($doc, $pid) = @_;
    my ($post) = grep { $_->{id} == $pid } @{ $doc->{posts} // [] };
    my $walk;
    $walk = sub {
        [ map { [ $_->{id}, $walk->($_->{replies} // []) ] } @{ $_[0] } ]
    };
    return $post ? $walk->($post->{comments} // []) : undef;
}

# every comment of a fiche document, by id
sub all_comments {
    my ($doc) = @_;
    my %by_id;
    my $walk;
    $walk = sub {
        for my $c (@{ $_[0] // [] }) {
            $by_id{ $c->{id} } = $c;
            $walk->($c->{replies});
        }
    };
    $walk->($_->{comments}) for @{ $doc->{posts} // [] };
    return \%by_id;
}

my $f = create_chantier(client_id => $ua->{id});
my $g = create_chantier(client_id => $ub->{id});
my $fid = $f->{id};

my $p1 = publish($e_c, $fid, 'Première publication');
my $p2 = publish($e_c, $fid, 'Deuxième publication');
my $q = publish($e_c, $g->{id}, 'Publication de l\'autre client');

my $nopost = sql('select coalesce(max(id), 0) + 1000000 from chantier.posts');
my $nocomment = 0 + sql('select coalesce(max(id), 0) + 1000000'
    . ' from chantier.comments');

my @comment_keys = sort qw(id author created_at body replies);
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z$/;


my ($c1, $c2, $c3);

subtest 'the fiche\'s client, employees, administrators comment' => sub {
    my $r = bumps('client comments', $fid, sub {
        $a_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'Bonjour, quand passez-vous ?' });
    });
    is $r->{status}, 201, 'the fiche\'s client comments: 201'
        or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'comment: JSON content type';
    $c1 = $r->{json} // {};
    is_deeply [sort keys %$c1], \@comment_keys,
        'comment: the fields of SPEC 5';
    like $c1->{id}, qr/^[1-9]\d*$/, 'comment: id';
    is_deeply $c1->{author}, { id => $ua->{id}, name => user_name($ua),
        role => 'client' }, 'comment: author {id, name, role client}';
    like $c1->{created_at}, $TIME, 'comment: created_at';
    is $c1->{body}, 'Bonjour, quand passez-vous ?', 'comment: body';
    is_deeply $c1->{replies}, [], 'comment: replies []';

    $r = bumps('employee comments', $fid, sub {
        $e_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'Mardi matin.', parent_id => undef });
    });
    is $r->{status}, 201, 'an employee comments (parent_id null): 201'
        or diag $r->{raw};
    $c2 = $r->{json} // {};
    is_deeply $c2->{author}, { id => $e->{id}, name => user_name($e),
        role => 'employee' }, 'comment: author role employee';

    $r = $admin->api(POST => "posts/$p2->{id}/comments",
        { body => 'Vu par l\'administration.' });
    is $r->{status}, 201, 'an administrator comments: 201' or diag $r->{raw};
    is $r->{json}{author}{role}, 'admin', 'comment: author role admin';
    $c3 = $r->{json} // {};

    my ($doc) = fiche($a_c, $fid);
    is_deeply tree($doc, $p1->{id}), [[$c1->{id}, []], [$c2->{id}, []]],
        'the fiche shows both comments of p1, oldest first';
    my $in_doc = all_comments($doc);
    is_deeply $in_doc->{ $c1->{id} }, $c1, 'the fiche shows the comment as'
        . ' answered';
    my ($post) = grep { $_->{id} == $p1->{id} } @{ $doc->{posts} };
    is $post->{version}, $p1->{version},
        'a comment does not change the post\'s own version';
};


subtest 'who may not' => sub {
    no_change('refused comments', $fid, sub {
        my $body = { body => 'Intrusion' };
        my $other = $b_c->api(POST => "posts/$p1->{id}/comments", $body);
        my $none = $b_c->api(POST => "posts/$nopost/comments", $body);
        is_error $other, 404, 'not_found', 'another client comments';
        is $other->{raw}, $none->{raw},
            'another client: the same body as for a post that does not exist';
        is_error $e_c->api(POST => "posts/$nopost/comments", $body), 404,
            'not_found', 'employee: a post that does not exist';
        is_error api(POST => "posts/$p1->{id}/comments", $body), 401,
            'not_logged_in', 'no session';
        is_error $a_c->api(POST => "posts/$p1->{id}/comments", $body,
            csrf => undef), 403, 'csrf_invalid', 'no CSRF token';
        is_error $a_c->api(POST => "posts/$p1->{id}/comments", $body,
            csrf => 'forged'), 403, 'csrf_invalid', 'a wrong CSRF token';
        is_error $a_c->api(POST => "posts/$p1->{id}/comments",
            json_encode($body), content_type => 'text/plain'), 415,
            'unsupported_media_type', 'text/plain';
        is_error $b_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'x', parent_id => $c1->{id} }), 404, 'not_found',
            'another client replies';
    });
};


my ($r1, $r2, $r3);

subtest 'replies' => sub {
    my $r = bumps('reply', $fid, sub {
        $e_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'Réponse à la question', parent_id => $c1->{id} });
    });
    is $r->{status}, 201, 'reply with parent_id of the same post: 201'
        or diag $r->{raw};
    $r1 = $r->{json} // {};
    is_deeply [sort keys %$r1], \@comment_keys, 'reply: a comment';
    is_deeply $r1->{replies}, [], 'reply: replies []';

    $r = $a_c->api(POST => "posts/$p1->{id}/comments",
        { body => 'Merci !', parent_id => $r1->{id} });
    is $r->{status}, 201, 'reply to a reply: 201' or diag $r->{raw};
    $r2 = $r->{json} // {};

    $r = $e2_c->api(POST => "posts/$p1->{id}/comments",
        { body => 'Autre réponse', parent_id => $c1->{id} });
    is $r->{status}, 201, 'a second reply to the first comment: 201'
        or diag $r->{raw};
    $r3 = $r->{json} // {};

    my $deep = $r2;
    for my $level (4 .. 8) {
        $r = $a_c->api(POST => "posts/$p1->{id}/comments",
            { body => "Niveau $level", parent_id => $deep->{id} });
        $r->{status} == 201 or last;
        $deep = $r->{json};
    }
    is $r->{status}, 201, 'replies eight levels deep: 201';

    my ($doc) = fiche($a_c, $fid);
    my $t = tree($doc, $p1->{id});
    is_deeply [map { $_->[0] } @$t], [$c1->{id}, $c2->{id}],
        'the fiche: two comments at the top of p1';
    is_deeply [map { $_->[0] } @{ $t->[0][1] }], [$r1->{id}, $r3->{id}],
        'the fiche: two replies to the first, oldest first';
    is_deeply [map { $_->[0] } @{ $t->[0][1][0][1] }], [$r2->{id}],
        'the fiche: the reply to the reply, nested';
    my $depth = 0;
    for (my $node = $t->[0]; $node; $node = $node->[1][0]) {
        $depth++;
        last if $depth > 20;
    }
    is $depth, 8, 'the fiche: eight levels of nesting';
    is_deeply $t->[1][1], [], 'the fiche: the second comment has no reply';
    my $all = all_comments($doc);
    is $all->{ $r2->{id} }{body}, 'Merci !', 'the fiche: the reply\'s body';
    is $all->{ $r2->{id} }{author}{role}, 'client',
        'the fiche: the reply\'s author';
    is_deeply tree($doc, $p2->{id}), [[$c3->{id}, []]],
        'the fiche: p2 keeps its own comment';

    # parent_id that is no comment of this post
    my $cq = $b_c->api(POST => "posts/$q->{id}/comments",
        { body => 'À moi' });
    is $cq->{status}, 201, 'the other client comments on their own post'
        or diag $cq->{raw};

    no_change('refused replies', $fid, sub {
        is_error $a_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'x', parent_id => $c3->{id} }), 400, 'invalid_parent',
            'parent_id of a comment of another post';
        is_error $a_c->api(POST => "posts/$p2->{id}/comments",
            { body => 'x', parent_id => $r2->{id} }), 400, 'invalid_parent',
            'parent_id of a reply of another post';
        my $none = $a_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'x', parent_id => $nocomment });
        is_error $none, 400, 'invalid_parent',
            'parent_id of no comment at all';
        my $foreign = $a_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'x', parent_id => $cq->{json}{id} // 0 });
        is_error $foreign, 400, 'invalid_parent',
            'parent_id of a comment on another client\'s fiche';
        is $foreign->{raw}, $none->{raw},
            'another client\'s comment: the same answer as no comment';

        for my $bad (['"12"', 'a string of digits'], ['"abc"', 'a string'],
                     ['1.5', 'a fraction'], ['0', 'zero'], ['-3', 'negative'],
                     ['true', 'a boolean'], ['{}', 'an object'],
                     ['[1]', 'an array'], ['1e3', 'an exponent'],
                     ['99999999999999999999', 'over a bigint'])
        {
            my ($json, $what) = @$bad;
            is_error $a_c->api(POST => "posts/$p1->{id}/comments",
                qq({"body":"x","parent_id":$json})), 400,
                qr/^(invalid_field|invalid_parent)$/, "parent_id $what";
        }
    });
};


subtest 'the text: refused' => sub {
    no_change('refused texts', $fid, sub {
        my $path = "posts/$p1->{id}/comments";

        is_error $a_c->api(POST => $path, {}), 400, 'invalid_field', 'no body';
        is_error $a_c->api(POST => $path, { body => undef }), 400,
            'invalid_field', 'body null';
        is_error $a_c->api(POST => $path, '{"body":42}'), 400, 'invalid_field',
            'body a number';
        is_error $a_c->api(POST => $path, { body => ['a'] }), 400,
            'invalid_field', 'body an array';
        is_error $a_c->api(POST => $path, { body => '' }), 400, 'invalid_field',
            'body empty';
        is_error $a_c->api(POST => $path, { body => " \n\t \r\n " }), 400,
            'invalid_field', 'body of whitespace only';
        for my $sp (["\x{a0}", 'U+00A0'], ["\x{202f}", 'U+202F'],
                    ["\x{3000}", 'U+3000'], ["\x{2003}\x{a0}\n", 'mixed'])
        {
            is_error $a_c->api(POST => $path, { body => $sp->[0] x 3 }), 400,
                'invalid_field', "body of Unicode spaces only ($sp->[1])";
        }
        is_error $a_c->api(POST => $path, { body => 'x', color => 'red' }), 400,
            'unknown_field', 'unknown member';
        is_error $a_c->api(POST => $path, '[]'), 400,
            qr/^(invalid_json|invalid_body)$/, 'an array for a body';
        is_error $a_c->api(POST => $path, { body => 'x' x 5001 }), 413,
            'too_large', '5,001 characters';
        is_error $a_c->api(POST => $path, { body => 'é' x 5001 }), 413,
            'too_large', '5,001 characters of "é"';
        for my $ctl ("\x01", "\x1b", "\x7f", "\x{85}", "\x{9f}", "\x08") {
            my $name = sprintf 'control character U+%04X', ord $ctl;
            is_error $a_c->api(POST => $path, { body => "avant${ctl}après" }),
                400, 'invalid_field', $name;
        }
        is_error $a_c->api(POST => $path, qq({"body":"a\\u0000b"})), 400,
            qr/^(invalid_json|invalid_field)$/, 'NUL (\u0000)';
        is_error $a_c->api(POST => $path, qq({"body":"a\xff\xfeb"})), 400,
            qr/^(invalid_json|invalid_field)$/, 'invalid UTF-8';
    });
};

subtest 'the text: accepted' => sub {
    my $path = "posts/$p2->{id}/comments";

    my $r = $a_c->api(POST => $path, { body => 'x' x 5000 });
    is $r->{status}, 201, '5,000 characters: 201' or diag $r->{raw};
    is length($r->{json}{body} // ''), 5000, '5,000 characters: all kept';

    $r = $a_c->api(POST => $path, { body => 'é' x 5000 });
    is $r->{status}, 201, '5,000 characters of "é" (10,000 bytes): 201'
        or diag $r->{raw};
    is $r->{json}{body}, 'é' x 5000, '5,000 "é": kept';

    $r = $a_c->api(POST => $path, { body => 'x' });
    is $r->{status}, 201, 'one character: 201' or diag $r->{raw};

    my $text = "Ligne 1\nLigne 2\n\n\tLigne 4 indentée\r\n"
        . "Ligne 5 — 12 € 😀";
    $r = $a_c->api(POST => $path, { body => "  \n$text \n\t " });
    is $r->{status}, 201, 'line breaks: 201' or diag $r->{raw};
    is $r->{json}{body}, $text,
        'line breaks and tabs kept inside, spaces around trimmed';
    my $id = $r->{json}{id} // 0;
    is sql("select body from chantier.comments where id = $id"), $text,
        'stored as sent (trimmed)';
    my ($doc) = fiche($e_c, $fid);
    is all_comments($doc)->{$id}{body}, $text, 'the fiche gives it back';

    $r = $a_c->api(POST => $path, { body => "\x{a0}\x{3000} a b \x{a0}" });
    is $r->{json}{body}, 'a b', 'Unicode spaces around trimmed too';

    my $html = '<img src=x onerror=alert(1)><script>alert(2)</script>'
        . ' & "quotes" \'apostrophes\' </textarea>';
    $r = $a_c->api(POST => $path, { body => $html });
    is $r->{status}, 201, 'markup: 201' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'markup: answered as JSON';
    is $r->{json}{body}, $html, 'markup: the same text, not escaped';
    $id = $r->{json}{id} // 0;
    is sql("select body from chantier.comments where id = $id"), $html,
        'markup: stored verbatim';
    ($doc, undef, my $raw) = fiche($a_c, $fid);
    like $raw->{headers}{'content-type'} // '', qr{^application/json},
        'the fiche is JSON, not HTML';
    is all_comments($doc)->{$id}{body}, $html,
        'markup: the fiche gives it back as a string';
    unlike $raw->{raw}, qr/\\u0026lt;|&lt;|&amp;/,
        'markup: no HTML entities in the JSON';
};


subtest 'a cancelled post takes comments' => sub {
    my $r = $e_c->api(PATCH => "posts/$p2->{id}", { cancelled => \1 },
        headers => { 'If-Match' => qq("$p2->{version}") });
    is $r->{status}, 200, 'p2 cancelled' or diag $r->{raw};

    $r = bumps('comment on a cancelled post', $fid, sub {
        $a_c->api(POST => "posts/$p2->{id}/comments",
            { body => 'Pourquoi annulée ?' });
    });
    is $r->{status}, 201, 'comment on a cancelled post: 201'
        or diag $r->{raw};
    my $cid = $r->{json}{id} // 0;
    $r = $e_c->api(POST => "posts/$p2->{id}/comments",
        { body => 'Le client a changé d\'avis.', parent_id => $cid });
    is $r->{status}, 201, 'reply on a cancelled post: 201' or diag $r->{raw};
    my ($doc) = fiche($a_c, $fid);
    ok all_comments($doc)->{ $r->{json}{id} // 0 },
        'the fiche shows the reply on the cancelled post';
};


subtest 'DELETE' => sub {
    my $top = $c1->{id};
    my @thread = sort { $a <=> $b } split /\n/, sql(
        "with recursive t (id) as (select ${top}::bigint union all"
        . ' select c.id from chantier.comments as c join t'
        . ' on c.parent_id = t.id) select id from t');
    cmp_ok scalar(@thread), '>=', 9, 'c1\'s thread: c1 and its replies';

    no_change('refused deletes', $fid, sub {
        is_error $e_c->api(DELETE => "comments/$top"), 403, 'not_author',
            'an employee deletes the client\'s comment';
        is_error $admin->api(DELETE => "comments/$top"), 403, 'not_author',
            'an administrator deletes the client\'s comment';
        is_error $a_c->api(DELETE => "comments/$c2->{id}"), 403,
            'not_author', 'the client deletes the employee\'s comment';
        is_error $e2_c->api(DELETE => "comments/$r1->{id}"), 403,
            'not_author', 'an employee deletes another employee\'s reply';

        my $other = $b_c->api(DELETE => "comments/$top");
        my $none = $b_c->api(DELETE => "comments/$nocomment");
        is_error $other, 404, 'not_found',
            'a client without access deletes it';
        is $other->{raw}, $none->{raw},
            'without access: the same body as for no comment';
        is_error $a_c->api(DELETE => "comments/$nocomment"), 404,
            'not_found', 'a comment that does not exist';
        is_error api(DELETE => "comments/$top"), 401, 'not_logged_in',
            'no session';
        is_error $a_c->api(DELETE => "comments/$top", undef, csrf => undef),
            403, 'csrf_invalid', 'no CSRF token';
    });

    my $r = bumps('DELETE the comment', $fid, sub {
        $a_c->api(DELETE => "comments/$top");
    });
    is $r->{status}, 204, 'its author deletes the comment: 204'
        or diag $r->{raw};
    is $r->{raw}, '', '204: no body';

    my ($doc) = fiche($a_c, $fid);
    my $all = all_comments($doc);
    is_deeply [grep { $all->{$_} } @thread], [],
        'the fiche: the comment and all its replies are gone';
    ok $all->{ $c2->{id} }, 'the fiche: the other comment stays';
    is_deeply tree($doc, $p1->{id}), [[$c2->{id}, []]],
        'the fiche: p1 has its second comment only';
    is sql('select count(*) from chantier.comments where id in ('
        . join(',', @thread) . ')'), 0,
        'the database: no row left of the thread';

    no_change('DELETE again', $fid, sub {
        is_error $a_c->api(DELETE => "comments/$top"), 404, 'not_found',
            'DELETE it again';
        is_error $e_c->api(DELETE => "comments/$r1->{id}"), 404,
            'not_found', 'DELETE a reply that went with it';
        is_error $a_c->api(POST => "posts/$p1->{id}/comments",
            { body => 'x', parent_id => $top }), 400, 'invalid_parent',
            'reply to the deleted comment';
    });

    $r = bumps('employee deletes own comment', $fid, sub {
        $e_c->api(DELETE => "comments/$c2->{id}");
    });
    is $r->{status}, 204, 'an employee deletes their own comment: 204';

    $r = $admin->api(DELETE => "comments/$c3->{id}");
    is $r->{status}, 204, 'an administrator deletes their own comment: 204';
};


subtest 'comments at the same time: every one counts once' => sub {
    my ($before) = fiche($e_c, $fid);
    my @status = parallel(map {
        my $i = $_;
        my $c = twin($i % 2 ? $a_c : $e_c);
        sub {
            $c->api(POST => "posts/$p1->{id}/comments",
                { body => "Ensemble $i" });
        }
    } 1 .. 8);
    is join(' ', @status), join(' ', ('201') x 8),
        'eight comments at once: all 201';
    my ($after) = fiche($e_c, $fid);
    is $after->{version}, $before->{version} + 8,
        'eight comments at once: the fiche moved on by exactly eight';
    is scalar(grep { $_->{body} =~ /^Ensemble \d$/ }
              values %{ all_comments($after) }), 8,
        'eight comments at once: all eight in the fiche';
};


subtest 'each worker serves the new version at once' => sub {
    # no keep-alive: every request is a new connection, taken by either
    # worker
    my @readers;
    for my $u ($ua, $e) {
        my $c = client(keep_alive => 0);
        my $r = $c->login($u->{login}, $u->{password});
        $r->{status} == 200 or BAIL_OUT("login: $r->{status} $r->{raw}");
        push @readers, $c;
    }

    my $check = sub {
        my ($name, $want_version, $want_text) = @_;
        my (%bodies, %etags, %versions, $missing);
        my $needle = $want_text;
        utf8::encode($needle) if defined $needle;
        for my $i (1 .. 20) {
            for my $c (@readers) {
                my $r = $c->api(GET => "fiches/$fid");
                $bodies{ $r->{raw} }++;
                $etags{ $r->{headers}{etag} // '' }++;
                $versions{ $r->{json} ? $r->{json}{version} // '' : '' }++;
                $missing++ if defined $needle
                    && index($r->{raw}, $needle) < 0;
            }
        }
        is scalar(keys %bodies), 1,
            "$name: 40 GETs by the client and an employee, the same bytes";
        is_deeply [keys %etags], [qq("$want_version")],
            "$name: the same ETag, the expected one";
        is_deeply [keys %versions], [$want_version],
            "$name: every answer has version $want_version";
        ok !$missing, "$name: every answer has the change" if $want_text;
    };

    my ($doc) = fiche($e_c, $fid);
    $check->('before', $doc->{version});

    for my $round (1 .. 3) {
        my $text = "Changement $round";
        my $r = $a_c->api(POST => "posts/$p1->{id}/comments",
            { body => $text });
        is $r->{status}, 201, "change $round" or diag $r->{raw};
        $check->("after change $round", $doc->{version} + $round, $text);
    }

    # a deletion too: the cached documents of both workers must go stale
    my $r = $e_c->api(POST => "fiches/$fid/posts",
        { body => delta('Publication éphémère') });
    my ($doc2) = fiche($e_c, $fid);
    $check->('after a new post', $doc2->{version}, 'Publication éphémère');
    $r = $e_c->api(DELETE => "posts/$r->{json}{id}");
    is $r->{status}, 204, 'the post deleted';
    $check->('after its deletion', $doc2->{version} + 1, undef);
    my ($doc3) = fiche($a_c, $fid);
    is_deeply [map { $_->{id} } @{ $doc3->{posts} // [] }],
        [$p1->{id}, $p2->{id}], 'after its deletion: gone from the fiche';
};

# Issue 10: the employees' home page lists clients' comments that no
# employee has answered yet on that post.
subtest 'GET comments/unanswered' => sub {
    my $post = publish($e_c, $fid, 'Une question ?');
    my $r = $a_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Quand passe le plombier ?' });
    is $r->{status}, 201, 'a client asks';
    my $asked = $r->{json}{id};

    my $listed = sub {
        my $l = $e2_c->api(GET => 'comments/unanswered');
        is $l->{status}, 200, 'GET comments/unanswered: 200';
        my ($c) = grep { $_->{id} == $asked } @{ $l->{json} // [] };
        return $c;
    };
    my $c = $listed->();
    ok $c, 'the question is listed for any employee';
    is $c && $c->{fiche_id}, $fid, 'with its fiche';
    is $c && $c->{excerpt}, 'Quand passe le plombier ?', 'and its text';
    is $c && $c->{author}{id}, $ua->{id}, 'and its author';

    is_error $a_c->api(GET => 'comments/unanswered'), 403, 'forbidden',
        'a client: 403';

    $r = $a_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Un autre client ne répond pas pour CLO.',
          parent_id => $asked });
    ok $listed->(), 'a client\'s reply answers nothing';

    $r = $e_c->api(POST => "posts/$post->{id}/comments",
        { body => 'Mardi matin.', parent_id => $asked });
    is $r->{status}, 201, 'an employee answers';
    ok !$listed->(), 'no longer listed';
};

done_testing;
