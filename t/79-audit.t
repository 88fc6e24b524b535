# The audit log (issue 13, SPEC section 5): every administrator's action
# written in the same transaction as the change: who, when, what, which
# object, the changed fields, never a password; GET admin/audit?limit=N.

use strict;
use warnings;
use utf8;

use Test::More;

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $admin = admin_client();
my $me = $admin->api(GET => 'me')->{json};

sub rows_since {
    my ($id) = @_;
    return [ grep { length } split /\n/, psql(
        "select action || '|' || object_type || '|' || object_id || '|'"
        . " || coalesce(actor_id::text, '-')"
        . "  from chantier.audit_log where id > $id order by id") ];
}

sub last_id { return psql('select coalesce(max(id), 0) from chantier.audit_log') }

sub changes_of {
    my ($id) = @_;
    return json_decode(psql("select changes from chantier.audit_log"
                            . " where id = $id"));
}

my $start = last_id();

subtest 'accounts' => sub {
    my $from = last_id();
    my $u = create_user(role => 'client', first_name => 'Odile');
    is_deeply rows_since($from), ["user_created|user|$u->{id}|$me->{id}"],
        'user_created, by the administrator';
    my $created = changes_of(last_id());
    is $created->{first_name}, 'Odile', 'with what was created';
    ok !exists $created->{password}, 'never the password';

    $from = last_id();
    my $r = $admin->api(PATCH => "admin/users/$u->{id}",
        { first_name => 'Odette', email => undef, notify => { posts => 'none',
          comments => 'none' } });
    is $r->{status}, 200, 'edit: 200' or diag $r->{raw};
    is_deeply rows_since($from), ["user_edited|user|$u->{id}|$me->{id}"],
        'user_edited';
    my $c = changes_of(last_id());
    is_deeply $c->{first_name}, { from => 'Odile', to => 'Odette' },
        'the first name, from and to';
    ok exists $c->{email} && !defined $c->{email}{to}, 'the e-mail removed';
    ok !exists $c->{last_name}, 'nothing that did not change';

    $from = last_id();
    $r = $admin->api(PATCH => "admin/users/$u->{id}",
        { password => 'un-nouveau-mot-de-passe' });
    is $r->{status}, 200, 'password reset: 200' or diag $r->{raw};
    is_deeply rows_since($from), ["password_reset|user|$u->{id}|$me->{id}"],
        'password_reset';
    is_deeply changes_of(last_id()), { password => 'changed' },
        'it says only that the password changed';

    $from = last_id();
    is $admin->api(PATCH => "admin/users/$u->{id}", { active => \0 })
        ->{status}, 200, 'deactivate: 200';
    is $admin->api(PATCH => "admin/users/$u->{id}", { active => \1 })
        ->{status}, 200, 'reactivate: 200';
    is_deeply rows_since($from),
        ["user_deactivated|user|$u->{id}|$me->{id}",
         "user_reactivated|user|$u->{id}|$me->{id}"],
        'user_deactivated, user_reactivated';

    $from = last_id();
    is $admin->api(PATCH => "admin/users/$u->{id}", { civility => 'Dr' })
        ->{status}, 400, 'a refused edit: 400';
    is $admin->api(PATCH => "admin/users/$u->{id}", {})->{status}, 200,
        'an edit that changes nothing: 200';
    is_deeply rows_since($from), [], 'neither is written';

    is psql("select count(*) from chantier.audit_log"
            . " where changes::text like '%scrypt%'"
            . " or changes::text like '%un-nouveau%'"), 0,
        'no password or hash anywhere in the log';
};

subtest 'chantiers and contracts' => sub {
    my $u = create_user(role => 'client');
    my $from = last_id();
    my $ch = create_chantier(client_id => $u->{id}, title => 'Véranda');
    my $r = $admin->api(PATCH => "admin/chantiers/$ch->{id}",
        { title => 'Véranda et terrasse' });
    is $r->{status}, 200, 'chantier edit: 200';
    is_deeply rows_since($from),
        ["chantier_created|chantier|$ch->{id}|$me->{id}",
         "chantier_edited|chantier|$ch->{id}|$me->{id}"],
        'chantier_created, chantier_edited';
    is_deeply changes_of(last_id()),
        { title => { from => 'Véranda', to => 'Véranda et terrasse' } },
        'the title, from and to';

    $from = last_id();
    $r = $admin->api(POST => "admin/users/$u->{id}/contracts"
                            . '?title=Devis&signed_on=2026-04-01',
                     "%PDF-1.4\n%%EOF\n", content_type => 'application/pdf');
    is $r->{status}, 201, 'contract: 201' or diag $r->{raw};
    my $cid = $r->{json}{id};
    is $admin->api(DELETE => "admin/contracts/$cid")->{status}, 204,
        'contract deleted';
    is_deeply rows_since($from),
        ["contract_uploaded|contract|$cid|$me->{id}",
         "contract_deleted|contract|$cid|$me->{id}"],
        'contract_uploaded, contract_deleted';
    is changes_of(last_id())->{title}, 'Devis', 'which contract';
};

subtest 'GET admin/audit' => sub {
    my $r = $admin->api(GET => 'admin/audit?limit=3');
    is $r->{status}, 200, 'limit=3: 200';
    is scalar @{ $r->{json} // [] }, 3, 'three entries';
    is $r->{json}[0]{action}, 'contract_deleted', 'the latest first';
    is $r->{json}[0]{actor}{id}, $me->{id}, 'its actor';
    like $r->{json}[0]{at} // '', qr/^\d{4}-\d\d-\d\dT/, 'its time';
    is_deeply [sort keys %{ $r->{json}[0] }],
        [sort qw(id at actor action object_type object_id changes)],
        'its members';
    my $all = $admin->api(GET => 'admin/audit')->{json} // [];
    cmp_ok scalar @$all, '>=', 10, 'without limit: the latest 50 at most';
    cmp_ok scalar @$all, '<=', 50, 'and no more';

    # chantierctl (admin_client of another test process) acts as nobody
    my $ctl = psql("select count(*) from chantier.audit_log"
                   . " where action = 'user_created' and actor_id is null"
                   . " and object_id = $me->{id}");
    is $ctl, 1, 'the administrator made by chantierctl: no actor';

    is_error $admin->api(GET => 'admin/audit?limit=0'), 400,
        'invalid_field', 'limit=0';
    is_error $admin->api(GET => 'admin/audit?limit=501'), 400,
        'invalid_field', 'limit=501';
    is_error $admin->api(GET => 'admin/audit?limit=abc'), 400,
        'invalid_field', 'limit=abc';
    my ($e) = client_for(role => 'employee');
    is_error $e->api(GET => 'admin/audit'), 403, 'forbidden', 'an employee';
};

done_testing;
