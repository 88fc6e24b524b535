# Administration (SPEC sections 2 and 5, docs/API.md "Administration"):
# accounts (create, search, edit, deactivate, reset the password) and
# chantiers (create, edit), for administrators only.

use strict;
use warnings;
use utf8;

use Test::More;
use Encode qw(encode_utf8);

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);



sub q_escape {
    my ($s) = @_;
    $s = encode_utf8($s);
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

sub search_ids {
    my ($q) = @_;
    my $r = admin_client()->api(GET => 'admin/users?q=' . q_escape($q));
    return [sort { $a <=> $b } map { $_->{id} }
                 @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] }];
}

my $admin = admin_client();
my $password = $ChantierTest::DEFAULT_PASSWORD;
my $n = 0;

my @user_keys = sort qw(id login role civility first_name last_name company
    client_number address email phone notify active);
my @summary_keys = sort qw(id chantier_id title start_date planned_end_date revised_end_date
    status last_post_at client);


# ---- who may ----

my ($cl_c, $cl) = client_for(role => 'client');
my ($em_c, $em) = client_for(role => 'employee');

my $valid_user = {
    role => 'employee', login => unique_login('intrus'),
    password => 'un-mot-de-passe-long', first_name => 'Ne', last_name => 'Pas',
};
my $valid_chantier = {
    chantier_id => unique_code(), title => 'Interdit', client_id => $cl->{id},
    start_date => '2026-01-01', planned_end_date => '2026-12-31',
};

my $target = create_chantier(client_id => $cl->{id}, title => 'Chantier');

subtest 'who may' => sub {
    my @routes = (
        [POST  => 'admin/users', $valid_user],
        [GET   => 'admin/users?q=a'],
        [GET   => 'admin/users'],
        [PATCH => "admin/users/$cl->{id}", { role => 'admin' }],
        [PATCH => "admin/users/$em->{id}", { role => 'admin' }],
        [POST  => 'admin/chantiers', $valid_chantier],
        [PATCH => "admin/chantiers/$target->{id}", { title => 'Piraté' }],
    );

    for my $route (@routes) {
        my ($method, $path, $body) = @$route;

        is_error $cl_c->api($method, $path, $body), 403, 'forbidden',
            "client: $method $path";
        is_error $em_c->api($method, $path, $body), 403, 'forbidden',
            "employee: $method $path";
        is_error api($method, $path, $body), 401, 'not_logged_in',
            "no session: $method $path";
    }

    is $cl_c->api(GET => 'me')->{json}{role}, 'client',
        'the client is still a client';
    is $em_c->api(GET => 'me')->{json}{role}, 'employee',
        'the employee is still an employee';
    is_deeply search_ids($valid_user->{login}), [], 'no user was created';
    is $em_c->api(GET => "fiches/$target->{id}")->{json}{header}{title},
        'Chantier', 'the chantier was not renamed';
    is_error $em_c->api(GET =>
            "fiches?chantier=$valid_chantier->{chantier_id}"),
        404, 'not_found', 'no chantier was created';

    is_error $admin->api(POST => 'admin/users', $valid_user, csrf => undef),
        403, 'csrf_invalid', 'admin without X-CSRF-Token';
    is_error $admin->api(PATCH => "admin/users/$cl->{id}",
                         { phone => '0600000001' }, csrf => 'forged'),
        403, 'csrf_invalid', 'admin with a wrong X-CSRF-Token';
};


# ---- create accounts ----

my $cn = "CLI-$$-A";
my $client_body = {
    role          => 'client',
    login         => 'Dupont.' . unique_login('x'),
    password      => 'mot-de-passe-du-client',
    civility      => 'Mme',
    first_name    => 'Hélène',
    last_name     => "Ébrard-$$",
    company       => 'SCI Les Œillets',
    client_number => lc $cn,
    address       => { line1 => '3 impasse des Lilas', line2 => undef,
                       postal_code => '69003', city => 'Lyon' },
    email         => "helene-$$\@example.test",
    phone         => '06 10 20 30 40',
    notify        => { posts => 'sms', comments => 'email' },
};

my $emp_login = unique_login('employe');
my ($new, $new_emp);


subtest 'create accounts' => sub {
    my $r = $admin->api(POST => 'admin/users', $client_body);
    is $r->{status}, 201, 'create a client: 201' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'create: JSON';
    $new = $r->{json} // {};
    is_deeply [sort keys %$new], \@user_keys, 'create: the user fields';
    like $new->{id}, qr/^\d+$/, 'create: an id';
    is $new->{login}, lc $client_body->{login}, 'login stored lower-case';
    is $new->{client_number}, $cn, 'client number stored upper-case';
    is $new->{$_}, $client_body->{$_}, "create: $_"
        for qw(role civility first_name last_name company email phone);
    is_deeply $new->{address}, $client_body->{address}, 'create: address';
    is_deeply $new->{notify}, $client_body->{notify}, 'create: notify';
    ok $new->{active}, 'create: active';
    unlike $r->{raw}, qr/scrypt|mot-de-passe-du-client|password/i,
        'create: no password or hash answered';
    like psql("select password_hash from chantier.users where id = $new->{id}"),
        qr/^\$scrypt\$/, 'the password is stored as an scrypt hash';

    $r = client()->login($new->{login}, 'mot-de-passe-du-client');
    is $r->{status}, 200, 'the new client logs in' or diag $r->{raw};

    $r = $admin->api(POST => 'admin/users', {
        role => 'employee', login => $emp_login,
        password => 'mot-de-passe-employe',
        first_name => 'Marc', last_name => "Ouvrier-$$",
    });
    is $r->{status}, 201, 'create an employee: 201' or diag $r->{raw};
    $new_emp = $r->{json} // {};
    is $new_emp->{role}, 'employee', 'employee: role';
    is $new_emp->{client_number}, undef, 'employee: no client number';
    is $new_emp->{address}, undef, 'employee: no address';
    is_deeply $new_emp->{notify}, { posts => 'none', comments => 'none' },
        'without e-mail, no notification by default';

    $r = $admin->api(POST => 'admin/users', {
        %$client_body, login => uc $client_body->{login},
        client_number => "CLI-$$-B",
    });
    is_error $r, 409, 'login_taken', 'duplicate login (other case)';

    $r = $admin->api(POST => 'admin/users', {
        %$client_body, login => unique_login('autre'), client_number => $cn,
    });
    is_error $r, 409, 'client_number_taken', 'duplicate client number';

    $r = $admin->api(POST => 'admin/users', {
        %$client_body, login => unique_login('autre'), client_number => lc $cn,
    });
    is_error $r, 409, 'client_number_taken',
        'duplicate client number, other case';

    for my $case (
        ['no password'            => { password => undef }, 'invalid_field'],
        ['password of 9'          => { password => '123456789' },
                                     'password_too_short'],
        ['client without number'  => { client_number => undef },
                                     'invalid_field'],
        ['client without address' => { address => undef }, 'invalid_field'],
        ['unknown role'           => { role => 'superuser' }, 'invalid_field'],
        ['login with a space'     => { login => 'jean dupont' },
                                     'invalid_field'],
        ['login of 2 characters'  => { login => 'ab' }, 'invalid_field'],
        ['bad civility'           => { civility => 'Dr' }, 'invalid_field'],
        ['bad postal code'        => { address => { line1 => 'x',
                                       line2 => undef, postal_code => '!',
                                       city => 'Lyon' } },
                                     'invalid_field'],
        ['address unknown key'    => { address => { line1 => 'x',
                                       postal_code => '69003', city => 'Lyon',
                                       country => 'FR' } },
                                     'unknown_field'],
        ['unknown field'          => { favourite => 'x' }, 'unknown_field'],
        ['an id'                  => { id => 1 }, 'field_not_editable'],
    )
    {
        my ($name, $change, $code) = @$case;
        my %body = (%$client_body, login => unique_login('refus'),
                    client_number => sprintf('CLI-%d-R%d', $$, ++$n), %$change);
        delete $body{$_} for grep { !defined $body{$_} } keys %body;
        is_error $admin->api(POST => 'admin/users', \%body), 400, $code,
            "create: $name";
    }
};


subtest 'search' => sub {
    is_deeply search_ids("ebrard-$$"), [$new->{id}],
        'search by last name, without its accent';
    is_deeply search_ids("HÉLÈNE ÉBRARD-$$"), [$new->{id}],
        'search by first and last name, upper case with accents';
    is_deeply search_ids("helene ebrard-$$"), [$new->{id}],
        'search by names without accents';
    is_deeply search_ids(lc $client_body->{login}), [$new->{id}],
        'search by login';
    is_deeply search_ids(lc $cn), [$new->{id}], 'search by client number';
    is_deeply search_ids("oeillets ebrard-$$"), [$new->{id}],
        'search by company, œ as oe';
    is_deeply search_ids("ouvrier-$$"), [$new_emp->{id}], 'search an employee';
    is_deeply search_ids("ebrard-$$ ouvrier-$$"), [],
        'every word must match the same user';
    is_deeply search_ids("personne-de-ce-nom-$$"), [], 'no match: []';

    my $r = $admin->api(GET => 'admin/users?q=' . q_escape("ebrard-$$"));
    is $r->{status}, 200, 'search: 200';
    is_deeply [sort keys %{ $r->{json}[0] // {} }], \@user_keys,
        'search: user fields';
    unlike $r->{raw}, qr/scrypt|password/i, 'search: no password or hash';

    $r = $admin->api(GET => 'admin/users');
    is $r->{status}, 200, 'search without q: 200';
    ok ref $r->{json} eq 'ARRAY' && @{ $r->{json} } <= 50,
        'at most 50 users';
};


# ---- edit accounts ----

my $fiche = create_chantier(client_id => $new->{id});
my $max_user;


subtest 'edit accounts' => sub {
    my $v0 = fiche_version($admin, $fiche->{id});

    my $r = $admin->api(PATCH => "admin/users/$new->{id}", {
        last_name => "Ébrard-Martin-$$", phone => '07 11 22 33 44',
        address => { line1 => '5 rue Neuve', line2 => 'Escalier C',
                     postal_code => '69002', city => 'Lyon' },
    });
    is $r->{status}, 200, 'PATCH user: 200' or diag $r->{raw};
    is $r->{json}{last_name}, "Ébrard-Martin-$$", 'PATCH: last name';
    is $r->{json}{phone}, '07 11 22 33 44', 'PATCH: phone';
    is $r->{json}{address}{line2}, 'Escalier C', 'PATCH: address';
    is $r->{json}{first_name}, 'Hélène', 'PATCH: other fields kept';
    is $r->{json}{login}, lc $client_body->{login}, 'PATCH: login kept';

    is_deeply search_ids("ebrard-martin-$$"), [$new->{id}],
        'PATCH persisted (search)';
    is psql("select phone from chantier.users where id = $new->{id}"),
        '07 11 22 33 44', 'PATCH persisted (database)';
    is fiche_version($admin, $fiche->{id}), $v0 + 1,
        'a new name or address moves the fiche version';
    is admin_client()->api(GET => "fiches/$fiche->{id}")
           ->{json}{header}{client}{name},
        "Mme Hélène Ébrard-Martin-$$", 'the fiche header shows the new name';

    is_error $admin->api(PATCH => "admin/users/$new->{id}",
                         { login => $emp_login }),
        409, 'login_taken', 'PATCH to a login in use';
    is_error $admin->api(PATCH => "admin/users/$cl->{id}",
                         { client_number => $cn }),
        409, 'client_number_taken', 'PATCH to a client number in use';
    is_error $admin->api(PATCH => "admin/users/$new->{id}",
                         { role => 'employee' }),
        409, 'client_has_chantiers', 'a client with chantiers stays a client';
    is_error $admin->api(PATCH => "admin/users/$new->{id}", { email => 'x' }),
        400, 'invalid_field', 'PATCH a bad e-mail';
    is_error $admin->api(PATCH => "admin/users/$new->{id}", { active => 'no' }),
        400, 'invalid_field', 'PATCH active not a boolean';
    is_error $admin->api(PATCH => "admin/users/$new->{id}", { id => 3 }),
        400, 'field_not_editable', 'PATCH id';
    is_error $admin->api(PATCH => "admin/users/$new->{id}", { colour => 3 }),
        400, 'unknown_field', 'PATCH an unknown field';
    is_error $admin->api(PATCH => "admin/users/$new->{id}",
                         { password => 'court' }),
        400, 'password_too_short', 'PATCH a short password';

    $max_user = psql('select max(id) from chantier.users');
    is_error $admin->api(PATCH => 'admin/users/' . ($max_user + 1000),
                         { phone => '0600000000' }),
        404, 'not_found', 'PATCH an unknown user';
};


subtest 'deactivate' => sub {
    my ($dc, $d) = client_for(role => 'client');
    my $dc2 = client();
    $dc2->login($d->{login}, $password);

    my $r = $admin->api(PATCH => "admin/users/$d->{id}",
        { active => JSON::PP::false() });
    is $r->{status}, 200, 'PATCH active:false: 200' or diag $r->{raw};
    ok defined $r->{json}{active} && !$r->{json}{active},
        'the answer says inactive';

    is_error $dc->api(GET => 'me'), 401, 'not_logged_in',
        'the deactivated user\'s session ends';
    is_error $dc2->api(GET => 'me'), 401, 'not_logged_in',
        'and their other session';
    is redis_cli('scard', "chantier:user:$d->{id}:sessions"), '0',
        'no session of that user left in Redis';

    $r = api(POST => 'session',
        { login => $d->{login}, password => $password });
    is_error $r, 403, 'account_disabled', 'login of a deactivated user';

    is_error $admin->api(POST => 'admin/chantiers', {
            chantier_id => unique_code(), title => 'X', client_id => $d->{id},
            start_date => '2026-01-01', planned_end_date => '2026-01-02' }),
        400, 'invalid_client', 'a chantier for a deactivated client';

    $r = $admin->api(PATCH => "admin/users/$d->{id}",
        { active => JSON::PP::true() });
    is $r->{status}, 200, 'PATCH active:true: 200';
    is client()->login($d->{login}, $password)->{status}, 200,
        'reactivated: logs in again';
};


subtest 'a new role' => sub {
    my ($xc, $x) = client_for(role => 'admin');
    is $xc->api(GET => 'admin/users?q=x')->{status}, 200,
        'an admin uses the admin routes';

    my $r = $admin->api(PATCH => "admin/users/$x->{id}",
        { role => 'employee' });
    is $r->{status}, 200, 'admin demoted to employee: 200' or diag $r->{raw};
    is $r->{json}{role}, 'employee', 'the new role';

    my ($yc, $y) = client_for(role => 'employee');
    $r = $admin->api(PATCH => "admin/users/$y->{id}", {
        role => 'client', client_number => "CLI-$$-Y",
        address => { line1 => '1 rue Y', postal_code => '75001',
                     city => 'Paris' } });
    is $r->{status}, 200, 'employee turned client: 200' or diag $r->{raw};


    $r = $xc->api(GET => 'admin/users?q=x');
    ok $r->{status} == 401 || $r->{status} == 403,
        'the demoted admin\'s open session no longer reaches admin routes'
        or diag "$r->{status}";
    $r = $yc->api(GET => "fiches/$fiche->{id}");
    ok $r->{status} == 401 || $r->{status} == 404,
        'the former employee\'s open session no longer opens any fiche'
        or diag "$r->{status}";
};


subtest 'reset a password' => sub {
    my ($pc, $p) = client_for(role => 'employee');
    my $new_pw = "remis-a-zero-$$";

    my $r = $admin->api(PATCH => "admin/users/$p->{id}",
        { password => $new_pw });
    is $r->{status}, 200, 'PATCH password: 200' or diag $r->{raw};
    unlike $r->{raw}, qr/scrypt|\Q$new_pw\E|password/i,
        'PATCH password: no password or hash answered';

    is_error $pc->api(GET => 'me'), 401, 'not_logged_in',
        'the user\'s session ends';
    is client()->login($p->{login}, $new_pw)->{status}, 200,
        'the new password logs in';
    is_error api(POST => 'session',
                 { login => $p->{login}, password => $password }),
        401, 'bad_credentials', 'the old password no longer does';

    is $admin->api(GET => 'me')->{status}, 200,
        'the admin\'s own session is untouched';
};


subtest 'chantiers' => sub {
    my ($kc, $k) = client_for(role => 'client');
    my ($k2c, $k2) = client_for(role => 'client');
    my $code = unique_code();

    my $r = $admin->api(POST => 'admin/chantiers', {
        chantier_id => lc $code, title => '  Extension de la maison  ',
        client_id => $k->{id}, start_date => '2026-04-01',
        planned_end_date => '2026-04-01',
    });
    is $r->{status}, 201, 'create a chantier: 201 (end on the start day)'
        or diag $r->{raw};
    my $ch = $r->{json} // {};
    is_deeply [sort keys %$ch], \@summary_keys, 'create: a fiche summary';
    like $ch->{id}, qr/^\d+$/, 'create: the fiche id';
    is $ch->{chantier_id}, $code, 'code stored upper-case';
    is $ch->{title}, 'Extension de la maison', 'title trimmed';
    is $ch->{status}, 'in_progress', 'a new fiche is in progress';
    is $ch->{client}{id}, $k->{id}, 'the client';

    $r = $kc->api(GET => 'fiches');
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }], [$ch->{id}],
        'the client sees it in GET fiches';
    is $kc->api(GET => "fiches/$ch->{id}")->{status}, 200,
        'and opens it';

    my %ok = (title => 'T', client_id => $k->{id},
              start_date => '2026-01-01', planned_end_date => '2026-12-31');

    is_error $admin->api(POST => 'admin/chantiers',
                         { %ok, chantier_id => $code }),
        409, 'chantier_exists', 'duplicate code';
    is_error $admin->api(POST => 'admin/chantiers',
                         { %ok, chantier_id => lc $code }),
        409, 'chantier_exists', 'duplicate code, other case';
    is_error $admin->api(POST => 'admin/chantiers', { %ok,
            chantier_id => unique_code(), start_date => '2026-06-02',
            planned_end_date => '2026-06-01' }),
        400, 'invalid_dates', 'end before start';
    is_error $admin->api(POST => 'admin/chantiers',
                         { %ok, chantier_id => unique_code(),
                           client_id => $em->{id} }),
        400, 'invalid_client', 'client_id of an employee';
    is_error $admin->api(POST => 'admin/chantiers',
                         { %ok, chantier_id => unique_code(),
                           client_id => $max_user + 1000 }),
        400, 'invalid_client', 'client_id of nobody';

    for my $case (
        ['start 2026-02-30'      => { start_date => '2026-02-30' }],
        ['end 2026-13-01'        => { planned_end_date => '2026-13-01' }],
        ['start 2026-2-3'        => { start_date => '2026-2-3' }],
        ['start 01/02/2026'      => { start_date => '01/02/2026' }],
        ['start a number'        => { start_date => 20260101 }],
        ['client_id a string'    => { client_id => "$k->{id}" }],
        ['client_id 1.5'         => { client_id => 1.5 }],
        ['no title'              => { title => undef }],
        ['empty title'           => { title => '   ' }],
        ['code with a space'     => { chantier_id => 'CH 2026' }],
        ['code of 33 characters' => { chantier_id => 'C' x 33 }],
    )
    {
        my ($name, $change) = @$case;
        my %body = (%ok, chantier_id => unique_code(), %$change);
        delete $body{$_} for grep { !defined $body{$_} } keys %body;
        is_error $admin->api(POST => 'admin/chantiers', \%body), 400,
            'invalid_field', "create chantier: $name";
    }
    is_error $admin->api(POST => 'admin/chantiers',
                         { %ok, chantier_id => unique_code(), budget => 1 }),
        400, 'unknown_field', 'create chantier: unknown field';

    subtest 'edit' => sub {
        my $v = fiche_version($admin, $ch->{id});

        $r = $admin->api(PATCH => "admin/chantiers/$ch->{id}",
            { title => 'Extension et garage',
              planned_end_date => '2026-10-31' });
        is $r->{status}, 200, 'PATCH chantier: 200' or diag $r->{raw};
        is_deeply [sort keys %{ $r->{json} // {} }], \@summary_keys,
            'PATCH chantier: a summary';
        is $r->{json}{title}, 'Extension et garage', 'PATCH: title';
        is $r->{json}{planned_end_date}, '2026-10-31', 'PATCH: end date';
        is $r->{json}{start_date}, '2026-04-01', 'PATCH: start date kept';
        is $r->{json}{chantier_id}, $code, 'PATCH: code kept';

        my ($f) = fiche($admin, $ch->{id});
        is $f->{header}{title}, 'Extension et garage', 'PATCH persisted';
        is $f->{version}, $v + 1, 'PATCH moves the fiche version';

        $r = $admin->api(PATCH => "admin/chantiers/$ch->{id}", {});
        is $r->{status}, 200, 'an empty PATCH: 200';
        is fiche_version($admin, $ch->{id}), $v + 1,
            'an empty PATCH keeps the version';

        is_error $admin->api(PATCH => "admin/chantiers/$ch->{id}",
                             { planned_end_date => '2026-03-01' }),
            400, 'invalid_dates', 'PATCH the end before the start';
        is_error $admin->api(PATCH => "admin/chantiers/$ch->{id}",
                             { chantier_id => $fiche->{chantier_id} }),
            409, 'chantier_exists', 'PATCH to a code in use';
        is_error $admin->api(PATCH => "admin/chantiers/$ch->{id}",
                             { client_id => $em->{id} }),
            400, 'invalid_client', 'PATCH client_id to an employee';
        is_error $admin->api(PATCH => "admin/chantiers/$ch->{id}",
                             { start_date => '2026-02-30' }),
            400, 'invalid_field', 'PATCH an impossible date';
        is_error $admin->api(PATCH => "admin/chantiers/$ch->{id}", { id => 1 }),
            400, 'field_not_editable', 'PATCH id';
        is_error $admin->api(PATCH => "admin/chantiers/$ch->{id}",
                             { revised_end_date => '2026-03-01' }),
            400, 'invalid_dates', 'PATCH a revised end before the start',
            field => 'revised_end_date';
        is_error $admin->api(POST => 'admin/chantiers',
                             { %ok, chantier_id => unique_code(),
                               revised_end_date => '2027-01-01' }),
            400, 'unknown_field', 'a revised end at creation';
        ($f) = fiche($admin, $ch->{id});
        is $f->{header}{planned_end_date}, '2026-10-31',
            'refused PATCHes changed nothing';
        is $f->{header}{revised_end_date}, undef, 'no revised end yet';

        my $v2 = fiche_version($admin, $ch->{id});
        $r = $admin->api(PATCH => "admin/chantiers/$ch->{id}",
            { revised_end_date => '2026-12-15' });
        is $r->{status}, 200, 'PATCH revised_end_date: 200' or diag $r->{raw};
        is $r->{json}{revised_end_date}, '2026-12-15', 'in the summary';
        is $r->{json}{planned_end_date}, '2026-10-31', 'the planned end kept';
        ($f) = fiche($admin, $ch->{id});
        is $f->{header}{revised_end_date}, '2026-12-15', 'in the fiche';
        is $f->{version}, $v2 + 1, 'the fiche version moves';
        $r = $admin->api(PATCH => "admin/chantiers/$ch->{id}",
            { revised_end_date => undef });
        is $r->{status}, 200, 'PATCH revised_end_date null: 200';
        is $r->{json}{revised_end_date}, undef, 'taken back';

        my $max_fiche = psql('select max(id) from chantier.chantiers');
        is_error $admin->api(PATCH => 'admin/chantiers/' . ($max_fiche + 1000),
                             { title => 'X' }),
            404, 'not_found', 'PATCH an unknown chantier';
    };

    subtest 'the chantier moves to another client' => sub {
        $r = $admin->api(PATCH => "admin/chantiers/$ch->{id}",
                         { client_id => $k2->{id} });
        is $r->{status}, 200, 'PATCH client_id: 200' or diag $r->{raw};
        is $r->{json}{client}{id}, $k2->{id}, 'the new client';
        is_error $kc->api(GET => "fiches/$ch->{id}"), 404, 'not_found',
            'the former client no longer reaches it';
        is_deeply $kc->api(GET => 'fiches')->{json}, [],
            'nor lists it';
        is $k2c->api(GET => "fiches/$ch->{id}")->{status}, 200,
            'the new client opens it';
    };
};

done_testing;
