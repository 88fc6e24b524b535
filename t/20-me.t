# The user's own account (SPEC sections 2 and 5, docs/API.md "The user's
# account"): GET me, PATCH me (e-mail, phone, notification choices only).

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use ChantierTest;



my @me_keys = sort qw(id login role civility first_name last_name company
    client_number address email phone notify active csrf_token);


# ---- GET me ----

my ($c, $user) = client_for(role => 'client', company => 'SCI Les Tilleuls',
    phone => '06 11 22 33 44');

subtest 'GET me' => sub {
    my $r = $c->api(GET => 'me');
    is $r->{status}, 200, 'GET me: 200' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'GET me: JSON';
    like $r->{headers}{'cache-control'} // '', qr/no-store/,
        'GET me: Cache-Control: no-store';

    my $me = $r->{json} // {};
    is_deeply [sort keys %$me], \@me_keys,
        'GET me: the fields of SPEC section 5';
    is $me->{$_}, $user->{$_}, "GET me: $_"
        for qw(id login role civility first_name last_name company
               client_number email phone);
    is_deeply $me->{address}, $user->{address}, 'GET me: address';
    is_deeply [sort keys %{ $me->{address} // {} }],
        [qw(city line1 line2 postal_code)],
        'address{line1,line2,postal_code,city}';
    is $me->{address}{line2}, undef, 'address.line2: null';
    is_deeply $me->{notify}, { posts => 'email', comments => 'email' },
        'notify{posts,comments}, by e-mail by default';
    ok $me->{active}, 'active';
    is $me->{csrf_token}, $c->csrf, 'csrf_token: the session\'s';
    like $me->{id}, qr/^\d+$/, 'id is a number';

    {
        my ($ec, $emp) = client_for(role => 'employee');
        $r = $ec->api(GET => 'me');
        is $r->{status}, 200, 'an employee\'s GET me';
        is_deeply [sort keys %{ $r->{json} // {} }], \@me_keys,
            'employee: the same fields';
        is $r->{json}{role}, 'employee', 'employee: role';
        is $r->{json}{client_number}, undef, 'employee: no client number';
        is $r->{json}{address}, undef, 'employee: no address';
    }

    is_error api(GET => 'me'), 401, 'not_logged_in', 'GET me without a session';
    {
        my $forged = client();
        $forged->set_cookie(chantier_session => 'x' x 43);
        is_error $forged->api(GET => 'me'), 401, 'not_logged_in',
            'GET me with an unknown cookie';
    }
};


subtest 'PATCH me: success and persistence' => sub {
    my $email = "nouvel-email-$$\@example.test";

    my $r = $c->api(PATCH => 'me', { email => $email });
    is $r->{status}, 200, 'PATCH email: 200' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'PATCH me: JSON';
    is_deeply [sort keys %{ $r->{json} // {} }], \@me_keys,
        'PATCH me answers the user';
    is $r->{json}{email}, $email, 'PATCH email: answered';
    is $c->api(GET => 'me')->{json}{email}, $email, 'PATCH email: GET me';
    is psql("select email from chantier.users where id = $user->{id}"), $email,
        'PATCH email: in the database';

    $r = $c->api(PATCH => 'me', { phone => '+33 6 98 76 54 32' });
    is $r->{status}, 200, 'PATCH phone: 200' or diag $r->{raw};
    is $r->{json}{phone}, '+33 6 98 76 54 32', 'PATCH phone: answered';
    is $r->{json}{email}, $email, 'PATCH phone: email unchanged';

    $r = $c->api(PATCH => 'me', { notify => { posts => 'sms' } });
    is $r->{status}, 200, 'PATCH notify.posts sms: 200' or diag $r->{raw};
    is_deeply $r->{json}{notify}, { posts => 'sms', comments => 'email' },
        'notify.posts changed, notify.comments kept';

    $r = $c->api(PATCH => 'me',
        { notify => { posts => 'none', comments => 'sms' },
          phone => '0612345678', email => $email });
    is $r->{status}, 200, 'PATCH of the three fields at once: 200'
        or diag $r->{raw};

    $r = $c->api(GET => 'me');
    is_deeply $r->{json}{notify}, { posts => 'none', comments => 'sms' },
        'notify persisted';
    is $r->{json}{phone}, '0612345678', 'phone persisted';
    is psql("select notify_posts || ',' || notify_comments || ',' || phone"
            . " from chantier.users where id = $user->{id}"),
        'none,sms,0612345678', 'in the database';

    $r = $c->api(PATCH => 'me', { email => "  espace-$$\@example.test  " });
    is $r->{json}{email}, "espace-$$\@example.test", 'e-mail trimmed';

    $r = $c->api(PATCH => 'me', {});
    is $r->{status}, 200, 'an empty PATCH: 200, nothing changed';
    is $r->{json}{phone}, '0612345678', 'empty PATCH: phone kept';
};


# ---- PATCH me: refused ----

# the user as GET me answered before the refused requests (without the
# CSRF token), and the check that they changed nothing
my %before;

sub unchanged {
    my ($name) = @_;
    my %now = %{ $c->api(GET => 'me')->{json} // {} };
    delete $now{csrf_token};
    is_deeply \%now, \%before, "$name: nothing changed";
}

subtest 'PATCH me: refused' => sub {
    %before = %{ $c->api(GET => 'me')->{json} };
    delete $before{csrf_token};

    for my $f (
        [login         => 'autre-login'],
        [role          => 'admin'],
        [first_name    => 'Autre'],
        [last_name     => 'Autre'],
        [civility      => 'Mme'],
        [company       => 'Autre SARL'],
        [client_number => 'X-1'],
        [address       => { line1 => '1 rue X', line2 => undef,
                            postal_code => '75001', city => 'Paris' }],
        [active        => JSON::PP::true()],
        [id            => 1],
        [password      => 'un-nouveau-mot-de-passe'],
    )
    {
        my ($field, $value) = @$f;
        is_error $c->api(PATCH => 'me', { $field => $value }), 400,
            'field_not_editable', "PATCH $field";
    }

    my $r = $c->api(PATCH => 'me',
        { email => "x-$$\@example.test", role => 'admin' });
    is_error $r, 400, 'field_not_editable', 'PATCH email with role';
    unchanged('a refused PATCH with a valid field');

    is_error $c->api(PATCH => 'me', { favourite_colour => 'bleu' }), 400,
        'unknown_field', 'PATCH an unknown field';
    is_error $c->api(PATCH => 'me',
                     { notify => { posts => 'email', sound => 1 } }),
        400, 'unknown_field', 'PATCH an unknown notify kind';

    for my $case (
        ['notify.posts "pigeon"'   => { notify => { posts => 'pigeon' } }],
        ['notify.comments 1'       => { notify => { comments => 1 } }],
        ['notify.posts null'       => { notify => { posts => undef } }],
        ['notify a string'         => { notify => 'email' }],
        ['notify an array'         => { notify => ['email'] }],
        ['email not an e-mail'     => { email => 'pas-une-adresse' }],
        ['email a number'          => { email => 42 }],
        ['email an object'         => { email => { a => 1 } }],
        ['email with a newline'    => { email => "a\@b.fr\nBcc: c\@d.fr" }],
        ['email of 300 characters' => { email => ('a' x 290) . '@exemple.fr' }],
        ['phone as a number'       => { phone => 612345678 }],
        ['phone letters'           => { phone => 'appelez-moi' }],
        ['phone too short'         => { phone => '12' }],
        ['phone a boolean'         => { phone => JSON::PP::true() }],
    )
    {
        my ($name, $body) = @$case;
        is_error $c->api(PATCH => 'me', $body), 400, 'invalid_field',
            "PATCH $name";
    }

    # e-mail notifications need an e-mail address
    $r = $c->api(PATCH => 'me',
        { email => undef, notify => { posts => 'email' } });
    is_error $r, 400, 'invalid_field', 'notify by e-mail without an e-mail',
        field => 'email';

    # SMS notifications need a phone
    {
        my ($nc) = client_for(role => 'client');    # no phone
        $r = $nc->api(PATCH => 'me', { notify => { comments => 'sms' } });
        is_error $r, 400, 'invalid_field', 'notify by SMS without a phone',
            field => 'phone';
        $r = $nc->api(PATCH => 'me',
            { phone => '07 00 00 00 00', notify => { comments => 'sms' } });
        is $r->{status}, 200, 'SMS with a phone given in the same PATCH: 200'
            or diag $r->{raw};
    }

    unchanged('the refused PATCHes');
};


subtest 'session and CSRF' => sub {
    is_error api(PATCH => 'me', { phone => '0600000000' }), 401,
        'not_logged_in', 'PATCH me without a session';

    is_error $c->api(PATCH => 'me', { phone => '0600000000' }, csrf => undef),
        403, 'csrf_invalid', 'PATCH me without X-CSRF-Token';
    is_error $c->api(PATCH => 'me', { phone => '0600000000' },
                     csrf => 'forged'),
        403, 'csrf_invalid', 'PATCH me with a wrong X-CSRF-Token';
    is_error $c->api(PATCH => 'me', { phone => '0600000000' },
                     csrf => substr($c->csrf, 0, -1)),
        403, 'csrf_invalid', 'PATCH me with a truncated X-CSRF-Token';
    is_error $c->api(PATCH => 'me', { phone => '0600000000' }, csrf => ''),
        403, 'csrf_invalid', 'PATCH me with an empty X-CSRF-Token';
    {
        my $other = client_for(role => 'client');
        is_error $c->api(PATCH => 'me', { phone => '0600000000' },
                         csrf => $other->csrf),
            403, 'csrf_invalid', 'PATCH me with another session\'s token';
    }
    unchanged('PATCH me without a valid CSRF token');

    my $r = $c->api(PATCH => 'me', { phone => '0600000000' },
                 headers => { 'x-csrf-token' => $c->csrf }, csrf => undef);
    is $r->{status}, 200, 'the header name is case-insensitive';
};

subtest 'a PATCH never touches another account' => sub {
    my ($oc, $o) = client_for(role => 'client');
    $c->api(PATCH => 'me', { email => "seul-$$\@example.test" });
    is $oc->api(GET => 'me')->{json}{email}, $o->{email},
        'another user\'s e-mail is unchanged';
};

# GET me may come from the user's document cached in Redis: every change,
# by the user or by an admin, is seen at once by the next GET me, whichever
# nginx worker answers it (the stack runs two: each GET of a twin() opens a
# new connection, so both workers answer some of them)
subtest 'the cache: every change seen at once' => sub {
    my ($uc, $u) = client_for(role => 'client');
    is $uc->api(GET => 'me')->{json}{first_name}, $u->{first_name},
        'cache: first GET me';
    is $uc->api(GET => 'me')->{json}{first_name}, $u->{first_name},
        'cache: second GET me, the same';

    my $r = admin_client()->api(PATCH => "admin/users/$u->{id}",
                             { first_name => "Renommé$$" });
    is $r->{status}, 200, 'cache: an admin renames the user';
    my @seen =
        map { twin($uc)->api(GET => 'me')->{json}{first_name} // '' } 1 .. 10;
    is_deeply \@seen, [("Renommé$$") x 10],
        'cache: ten GET me on fresh connections all see the new name';

    $r = $uc->api(PATCH => 'me', { email => "cache-$$\@example.test" });
    is $r->{status}, 200, 'cache: PATCH me';
    @seen =
        map { twin($uc)->api(GET => 'me')->{json}{email} // '' } 1 .. 10;
    is_deeply \@seen, [("cache-$$\@example.test") x 10],
        'cache: ten GET me on fresh connections all see the new e-mail';

    $r = admin_client()->api(PATCH => "admin/users/$u->{id}",
                             { active => JSON::PP::false });
    is $r->{status}, 200, 'cache: an admin deactivates the user';
    is $uc->api(GET => 'me')->{status}, 401,
        'cache: the deactivated user\'s GET me is 401';
};

done_testing;
