# Fiches (SPEC sections 3 and 5, docs/API.md "Fiches"): a client lists and
# opens their own fiches and never reaches another client's (404, as for an
# id that does not exist); employees find a fiche by its chantier code and
# open any fiche.

use strict;
use warnings;
use utf8;

use Test::More;

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);


my $admin = admin_client();

my @summary_keys = sort qw(id chantier_id title start_date planned_end_date
    revised_end_date status last_post_at client);


# ---- two clients, their chantiers ----

my ($a_c, $ua) = client_for(role => 'client', civility => 'Mme',
    first_name => 'Hélène', last_name => "Durand $$",
    address => { line1 => '12 rue de la Paix', line2 => 'Bâtiment B',
                 postal_code => '75002', city => 'Paris' });
my ($b_c, $ub) = client_for(role => 'client');
my ($e_c, $e) = client_for(role => 'employee');
my ($none_c) = client_for(role => 'client');

my $a1 = create_chantier(client_id => $ua->{id}, title => 'Cuisine',
    start_date => '2026-01-10', planned_end_date => '2026-02-20');
my $a2 = create_chantier(client_id => $ua->{id}, title => 'Salle de bains',
    start_date => '2026-05-01', planned_end_date => '2026-06-15');
my $b1 = create_chantier(client_id => $ub->{id}, title => 'Toiture');


subtest 'a client\'s list' => sub {
    my $r = $a_c->api(GET => 'fiches');
    is $r->{status}, 200, 'client list: 200' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'client list: JSON';
    is ref $r->{json}, 'ARRAY', 'client list: an array';

    my @list = @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] };
    is_deeply [sort { $a <=> $b } map { $_->{id} } @list],
        [sort { $a <=> $b } $a1->{id}, $a2->{id}],
        'client list: exactly the client\'s fiches';
    is_deeply [map { $_->{id} } @list], [$a2->{id}, $a1->{id}],
        'the latest started first';

    my ($s) = grep { $_->{id} == $a1->{id} } @list;
    is_deeply [sort keys %{ $s // {} }],
        [sort @summary_keys, qw(unread_posts unread_comments)],
        'summary fields, with what is new for the user';
    is $s->{chantier_id}, $a1->{chantier_id}, 'summary: chantier_id';
    is $s->{title}, 'Cuisine', 'summary: title';
    is $s->{start_date}, '2026-01-10', 'summary: start_date';
    is $s->{planned_end_date}, '2026-02-20', 'summary: planned_end_date';
    is $s->{status}, 'in_progress', 'summary: status';
    is $s->{last_post_at}, undef, 'summary: last_post_at null (no posts yet)';
    is $s->{client}{id}, $ua->{id}, 'summary: client.id';
    is $s->{client}{name}, "Mme Hélène Durand $$", 'summary: client.name';
    is_deeply { %$s, unread_posts => 0, unread_comments => 0 },
        { %$a1, unread_posts => 0, unread_comments => 0 },
        'summary: as answered at creation';
    is "$s->{unread_posts}|$s->{unread_comments}", '0|0',
        'nothing new on a fiche without posts';

    $r = $b_c->api(GET => 'fiches');
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }], [$b1->{id}],
        'the other client sees only theirs';

    $r = $none_c->api(GET => 'fiches');
    is $r->{status}, 200, 'a client without chantier: 200';
    is $r->{raw} =~ /^\s*\[\s*\]\s*$/ ? 1 : 0, 1,
        'a client without chantier: []'
        or diag $r->{raw};

    is_error api(GET => 'fiches'), 401, 'not_logged_in',
        'list without a session';
};


subtest 'one fiche' => sub {
    my $r = $a_c->api(GET => "fiches/$a1->{id}");
    is $r->{status}, 200, 'own fiche: 200' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'own fiche: JSON';

    my $f = $r->{json} // {};
    is_deeply [sort keys %$f],
        [sort qw(id version header status finished_at posts)], 'fiche fields';
    is $f->{id}, $a1->{id}, 'fiche: id';
    like $f->{version}, qr/^[1-9]\d*$/, 'fiche: version';
    is_deeply $f->{header}, {
            chantier_id      => $a1->{chantier_id},
            title            => 'Cuisine',
            start_date       => '2026-01-10',
            planned_end_date => '2026-02-20',
            revised_end_date => undef,
            client           => {
                name    => "Mme Hélène Durand $$",
                address => { line1 => '12 rue de la Paix',
                             line2 => 'Bâtiment B',
                             postal_code => '75002', city => 'Paris' },
            },
        }, 'fiche: header';
    is $f->{status}, 'in_progress', 'fiche: status in_progress';
    is $f->{finished_at}, undef, 'fiche: finished_at null';
    is_deeply $f->{posts}, [], 'fiche: posts []';

    # SPEC section 5: GET fiches/{id} has an ETag, If-None-Match gives 304
    {
        my $etag = $r->{headers}{etag};
        ok defined $etag, 'fiche: ETag';
        my $again = $a_c->api(GET => "fiches/$a1->{id}",
            undef, headers => { 'If-None-Match' => $etag // '"none"' });
        is $again->{status}, 304, 'If-None-Match with the ETag: 304';
    }

    my $max = psql('select coalesce(max(id), 0) from chantier.fiches');
    my $nonexistent = $a_c->api(GET => 'fiches/' . ($max + 1000000));
    is_error $nonexistent, 404, 'not_found', 'a fiche id that does not exist';

    $r = $a_c->api(GET => "fiches/$b1->{id}");
    is_error $r, 404, 'not_found', 'another client\'s fiche';
    is $r->{raw}, $nonexistent->{raw},
        'another client\'s fiche: the same body as a nonexistent id';
    is_deeply
        [sort grep { !/^(date|content-length)$/ } keys %{ $r->{headers} }],
        [sort grep { !/^(date|content-length)$/ }
              keys %{ $nonexistent->{headers} }],
        'and the same headers';

    is_error $b_c->api(GET => "fiches/$a1->{id}"), 404, 'not_found',
        'the other way round';
    is_error $none_c->api(GET => "fiches/$a2->{id}"), 404, 'not_found',
        'a client without chantier';
    is_error api(GET => "fiches/$a1->{id}"), 401, 'not_logged_in',
        'a fiche without a session';
};


subtest 'employees' => sub {
    my $r = $e_c->api(GET => 'fiches?chantier=' . lc $a1->{chantier_id});
    is $r->{status}, 200, 'employee: fiches?chantier=code (lower case): 200'
        or diag $r->{raw};
    is_deeply [map { +{ %$_, map { $_ => undef } qw(unread_posts
                                                    unread_comments) } }
               @{ $r->{json} // [] }],
        [{ %$a1, unread_posts => undef, unread_comments => undef }],
        'employee: [the summary] of that chantier';

    $r = $e_c->api(GET => "fiches?chantier=$b1->{chantier_id}");
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }], [$b1->{id}],
        'employee: code as stored';

    $r = $e_c->api(GET => 'fiches?chantier=%20' . $a2->{chantier_id} . '%20');
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }], [$a2->{id}],
        'employee: code with spaces around';

    is_error $e_c->api(GET => 'fiches?chantier=CH-NO-SUCH-' . $$), 404,
        'not_found', 'employee: unknown code';
    is_error $e_c->api(GET => 'fiches?chantier=' . ('X' x 40)), 404,
        'not_found', 'employee: a code of 40 characters';
    is_error $e_c->api(GET => 'fiches?chantier=' . ('X' x 101)), 400,
        'invalid_field', 'employee: a search of 101 characters';
    is_error $e_c->api(GET => 'fiches?chantier=%25'), 404, 'not_found',
        'employee: "%" is no wildcard';
    is_error $e_c->api(GET => 'fiches'), 400, 'chantier_required',
        'employee: no chantier parameter';
    is_error $e_c->api(GET => 'fiches?chantier='), 400, 'chantier_required',
        'employee: empty chantier parameter';

    # issue 10: part of a code, spaced, or the client's name
    (my $tail = $a2->{chantier_id}) =~ s/^CH-T//;
    $r = $e_c->api(GET => "fiches?chantier=$tail");
    ok scalar(grep { $_->{id} == $a2->{id} } @{ $r->{json} // [] }),
        "employee: part of the code ($tail)" or diag $r->{raw};
    (my $spaced = lc $a2->{chantier_id}) =~ s/-/%20/g;
    $r = $e_c->api(GET => "fiches?chantier=$spaced");
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }], [$a2->{id}],
        "employee: the code with spaces for dashes ($spaced): that one";
    $r = $e_c->api(GET => 'fiches?chantier=' . "helene%20DURAND%20$$");
    is_deeply [sort { $a <=> $b } map { $_->{id} } @{ $r->{json} // [] }],
        [sort { $a <=> $b } $a1->{id}, $a2->{id}],
        'employee: the client\'s name, without accents or case: both';
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }],
        [$a2->{id}, $a1->{id}], 'the latest started first';
    $r = $e_c->api(GET => 'fiches?chantier=' . "durand%20$$%20salle");
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }], [$a2->{id}],
        'employee: name and a word of the title: every word must match';

    $r = $admin->api(GET => 'fiches?chantier=' . $a1->{chantier_id});
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }], [$a1->{id}],
        'admin: look-up by code too';

    for my $fid ($a1->{id}, $b1->{id}) {
        $r = $e_c->api(GET => "fiches/$fid");
        is $r->{status}, 200, "employee opens fiche $fid" or diag $r->{raw};
        is $r->{json}{id}, $fid, "employee: fiche $fid";
    }
    is $admin->api(GET => "fiches/$a2->{id}")->{status}, 200,
        'admin opens any fiche';

    is_error $a_c->api(GET => "fiches?chantier=$a1->{chantier_id}"), 403,
        'forbidden', 'client with ?chantier= (even their own)';
    is_error $a_c->api(GET => "fiches?chantier=$b1->{chantier_id}"), 403,
        'forbidden', 'client with ?chantier= of another client';
};


subtest 'ids that are no ids' => sub {
    for my $path ('fiches/0', 'fiches/99999999999999999999',
                  'fiches/9223372036854775807', 'fiches/abc', 'fiches/-1',
                  "fiches/$a1->{id}/", "fiches/$a1->{id}x", 'fiches/1.0',
                  "fiches/$a1->{id}/posts/x")
    {
        my $r = $a_c->api(GET => $path);
        is_error $r, 404, 'not_found', "GET $path";
    }

    my $r = $e_c->api(GET => 'fiches/0');
    is_error $r, 404, 'not_found', 'employee: GET fiches/0';
};

# An account deactivated while one of its sessions is still open (its end
# not yet heard, or written straight into the database) reads no fiche:
# the access check looks at the account as it is now, not at the session.
subtest 'a session outliving its account\'s deactivation' => sub {
    my ($c, $u) = client_for(role => 'client');
    my ($e, $eu) = client_for(role => 'employee');
    my $f = create_chantier(client_id => $u->{id});

    is $c->api(GET => "fiches/$f->{id}")->{status}, 200,
        'the client reads the fiche';
    is $e->api(GET => "fiches/$f->{id}")->{status}, 200,
        'the employee reads the fiche';

    # in SQL, behind the API's back: no session ends, nothing is announced;
    # what a worker knew (live/ngx_http_chantier_known.c) is asked again
    # within its maximum age, 5 s
    psql("update chantier.users set active = false"
         . " where id in ($u->{id}, $eu->{id})");

    ok wait_until(sub { $c->api(GET => "fiches/$f->{id}")->{status} == 404 },
                  timeout => 7),
        'the client\'s session soon reads 404';
    is_error $c->api(GET => "fiches/$f->{id}"), 404, 'not_found',
        'the client\'s session, its account inactive: 404';
    ok wait_until(sub { $e->api(GET => "fiches/$f->{id}")->{status} == 404 },
                  timeout => 7),
        'the employee\'s session soon reads 404';
    is_error $e->api(GET => "fiches/$f->{id}"), 404, 'not_found',
        'the employee\'s session, its account inactive: 404';
    is_error $c->api(GET => "fiches/$f->{id}/events"), 404, 'not_found',
        'no event stream either';
};

# Issue 10: a client that takes gzip gets the fiche's gzip rendering, made
# once per version in a pool thread and cached beside the plain one; every
# answer says it depends on Accept-Encoding.
subtest 'gzip' => sub {
    require IO::Uncompress::Gunzip;

    my ($c, $u) = client_for(role => 'client');
    my ($e) = client_for(role => 'employee');
    my $f = create_chantier(client_id => $u->{id});
    publish($e, $f->{id}, "Publication $_ : " . ('béton coulé, ' x 40))
        for 1 .. 5;

    my $plain = $c->api(GET => "fiches/$f->{id}");
    is $plain->{status}, 200, 'without Accept-Encoding: 200';
    is $plain->{headers}{'content-encoding'}, undef, 'plain';
    like $plain->{headers}{vary} // '', qr/Accept-Encoding/i,
        'Vary: Accept-Encoding';

    my %gz = (headers => { 'Accept-Encoding' => 'gzip, deflate' });
    my $r = $c->api(GET => "fiches/$f->{id}", undef, %gz);
    is $r->{status}, 200, 'Accept-Encoding: gzip: 200';
    is $r->{headers}{'content-encoding'}, 'gzip', 'Content-Encoding: gzip';
    like $r->{headers}{vary} // '', qr/Accept-Encoding/i, 'Vary';
    is $r->{headers}{'content-length'}, length $r->{raw},
        'Content-Length of the compressed bytes';
    is $r->{headers}{etag}, $plain->{headers}{etag}, 'the same ETag';
    my $out;
    IO::Uncompress::Gunzip::gunzip(\$r->{raw}, \$out)
        or diag 'gunzip failed';
    ok defined $out && $out eq $plain->{raw},
        'decompresses to the same bytes';
    cmp_ok length $r->{raw}, '<', length($plain->{raw}) / 4,
        sprintf('%d bytes instead of %d', length $r->{raw},
                length $plain->{raw});

    # each worker has its own cache: enough requests to meet both
    my %bodies;
    for (1 .. 6) {
        my $again = twin($c)->api(GET => "fiches/$f->{id}", undef, %gz);
        $bodies{ $again->{raw} }++ if $again->{status} == 200;
    }
    is scalar(keys %bodies), 1, 'the same bytes every time';

    $r = $c->api(GET => "fiches/$f->{id}", undef, headers => {
        'Accept-Encoding' => 'gzip',
        'If-None-Match'   => $plain->{headers}{etag} });
    is $r->{status}, 304, 'If-None-Match with gzip: 304';
    is $r->{raw}, '', '304: no body';
    is $r->{headers}{'content-encoding'}, undef, '304: no Content-Encoding';
    like $r->{headers}{vary} // '', qr/Accept-Encoding/i, '304: Vary';

    $r = $c->api(GET => "fiches/$f->{id}", undef,
        headers => { 'Accept-Encoding' => 'gzip;q=0, deflate' });
    is $r->{headers}{'content-encoding'}, undef, 'gzip;q=0: plain';

    # brotli, when the client names it: smaller still
    for my $accept ('gzip, deflate, br', 'BR', 'br;q=0.5, gzip') {
        $r = $c->api(GET => "fiches/$f->{id}", undef,
                     headers => { 'Accept-Encoding' => $accept });
        is $r->{headers}{'content-encoding'}, 'br',
            "Accept-Encoding: $accept: Content-Encoding: br";
    }
    is $r->{headers}{'content-length'}, length $r->{raw},
        'Content-Length of the brotli bytes';
    is $r->{headers}{etag}, $plain->{headers}{etag}, 'the same ETag';
    like $r->{headers}{vary} // '', qr/Accept-Encoding/i, 'Vary';
    is unbrotli($r->{raw}), $plain->{raw},
        'decompresses (node:zlib) to the same bytes';
    my $gz = $c->api(GET => "fiches/$f->{id}", undef, %gz);
    cmp_ok length $r->{raw}, '<', length $gz->{raw},
        sprintf('%d bytes, gzip %d', length $r->{raw}, length $gz->{raw});
    for my $accept ('br;q=0, gzip', 'br ; q=0.0, gzip', 'brotli, gzip') {
        $r = $c->api(GET => "fiches/$f->{id}", undef,
                     headers => { 'Accept-Encoding' => $accept });
        is $r->{headers}{'content-encoding'}, 'gzip',
            "Accept-Encoding: $accept: gzip";
    }

    publish($e, $f->{id}, 'Une de plus');
    $r = $c->api(GET => "fiches/$f->{id}", undef, %gz);
    IO::Uncompress::Gunzip::gunzip(\$r->{raw}, \$out);
    my $doc = json_decode($out);
    is scalar @{ $doc->{posts} // [] }, 6,
        'a new version: its own gzip rendering';
};

done_testing;


# brotli's decoder is not in core Perl: node's zlib has one
sub unbrotli {
    my ($bytes) = @_;
    my $file = var_dir() . "/unbrotli-$$";
    open my $fh, '>:raw', $file or die "$file: $!";
    print {$fh} $bytes;
    close $fh;
    open my $out, '-|', 'node', '-e',
        'process.stdout.write(require("zlib").brotliDecompressSync('
        . 'require("fs").readFileSync(process.argv[1])))', $file
        or die "node: $!";
    binmode $out;
    local $/;
    my $plain = <$out>;
    close $out;
    unlink $file;
    return $plain;
}
