# Contracts (issue 13, SPEC sections 2 and 5): an administrator uploads a
# client's signed contract as a PDF (raw body, magic bytes checked, 20 MiB
# at most, refused as it arrives), lists and deletes them; the client lists
# theirs and downloads the file; everybody else gets 403 or 404.

use strict;
use warnings;
use utf8;

use Test::More;

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $admin = admin_client();
my ($client, $u) = client_for(role => 'client');
my ($other, $ou) = client_for(role => 'client');
my ($employee, $eu) = client_for(role => 'employee');

# a small PDF: what matters is the first bytes and that it comes back whole
my $pdf = "%PDF-1.4\n" . join('', map { chr($_ % 256) } 0 .. 70_000)
          . "\n%%EOF\n";

sub upload {
    my ($c, $user_id, $bytes, %q) = @_;
    my %query = (title => 'Contrat de travaux', signed_on => '2026-03-15',
                 %q);
    my $qs = join '&', map {
        my $v = $query{$_};
        utf8::encode($v);
        $v =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
        "$_=$v" } grep { defined $query{$_} } sort keys %query;
    return $c->api(POST => "admin/users/$user_id/contracts?$qs", $bytes,
                   content_type => 'application/pdf');
}

my $c1;

subtest 'upload, list, download' => sub {
    my $r = upload($admin, $u->{id}, $pdf,
                   title => 'Devis signé — cuisine « Rénovation »');
    is $r->{status}, 201, 'upload: 201' or diag $r->{raw};
    $c1 = $r->{json};
    is $c1->{title}, 'Devis signé — cuisine « Rénovation »', 'its title';
    is $c1->{signed_on}, '2026-03-15', 'its day';
    is $c1->{size}, length $pdf, 'its size';
    like $c1->{sha256} // '', qr/^[0-9a-f]{64}$/, 'its SHA-256';

    my $second = upload($admin, $u->{id}, $pdf, title => 'Avenant',
                        signed_on => '2026-05-02')->{json};

    $r = $admin->api(GET => "admin/users/$u->{id}/contracts");
    is $r->{status}, 200, 'admin list: 200';
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }],
        [$second->{id}, $c1->{id}], 'the latest signed first';

    $r = $client->api(GET => 'contracts');
    is $r->{status}, 200, 'GET contracts: 200';
    is_deeply [map { $_->{id} } @{ $r->{json} // [] }],
        [$second->{id}, $c1->{id}], 'the client\'s own';
    is_deeply [sort keys %{ $r->{json}[0] // {} }],
        [sort qw(id title signed_on size uploaded_at)], 'without the file';

    $r = $client->api(GET => "contracts/$c1->{id}/file");
    is $r->{status}, 200, 'download: 200';
    ok $r->{raw} eq $pdf, 'the same bytes';
    is $r->{headers}{'content-type'}, 'application/pdf', 'application/pdf';
    is $r->{headers}{'content-length'}, length $pdf, 'Content-Length';
    is $r->{headers}{'content-disposition'},
        qq(attachment; filename="contrat-$c1->{id}-2026-03-15.pdf"),
        'Content-Disposition: attachment';
    is $r->{headers}{'cache-control'}, 'private, no-store', 'no-store';
};

subtest 'nobody else' => sub {
    is_error $other->api(GET => "contracts/$c1->{id}/file"), 404,
        'not_found', 'another client: 404';
    is_deeply $other->api(GET => 'contracts')->{json}, [],
        'another client lists none';
    is_error $employee->api(GET => "contracts/$c1->{id}/file"), 404,
        'not_found', 'an employee: 404';
    is_error $admin->api(GET => "contracts/$c1->{id}/file"), 404,
        'not_found', 'an administrator downloads through no client\'s page';
    is_error $employee->api(GET => 'contracts'), 403, 'forbidden',
        'an employee: GET contracts 403';
    is_error upload($employee, $u->{id}, $pdf), 403, 'forbidden',
        'an employee uploads: 403';
    is_error $client->api(GET => "admin/users/$u->{id}/contracts"), 403,
        'forbidden', 'the client: admin list 403';
    is_error client()->api(GET => 'contracts'), 401, 'not_logged_in',
        'no session: 401';
    is_error $admin->api(POST => "admin/users/$u->{id}/contracts?title=x"
                                 . '&signed_on=2026-01-01', $pdf,
                         content_type => 'application/pdf', csrf => undef),
        403, 'csrf_invalid', 'no CSRF token: 403';
};

subtest 'bad uploads change nothing' => sub {
    my $count = sub {
        psql("select count(*) from chantier.contracts"
             . " where client_id = $u->{id}");
    };
    my $before = $count->();

    is_error upload($admin, $u->{id}, "\x89PNG\r\n\x1a\n" . ('x' x 100)),
        415, 'unsupported_media_type', 'a PNG sent as application/pdf';
    is_error upload($admin, $u->{id}, 'hello'), 415,
        'unsupported_media_type', 'five bytes of text';
    is_error upload($admin, $u->{id}, $pdf, title => ''), 400,
        'invalid_field', 'an empty title';
    is_error upload($admin, $u->{id}, $pdf, title => 'x' x 201), 400,
        'invalid_field', 'a title of 201 characters';
    is_error upload($admin, $u->{id}, $pdf, signed_on => '2026-02-30'), 400,
        'invalid_field', 'an impossible day';
    is_error upload($admin, $u->{id}, $pdf, signed_on => undef), 400,
        'invalid_field', 'no day';
    is_error upload($admin, $eu->{id}, $pdf), 400, 'invalid_client',
        'for an employee';
    is_error upload($admin, 999_999_999, $pdf), 404, 'not_found',
        'for nobody';
    is_error upload($admin, $u->{id}, ''), 400, 'empty_body', 'empty';

    my $big = '%PDF-' . ('0' x (20 * 1024 * 1024));
    is_error upload($admin, $u->{id}, $big), 413, 'too_large',
        'over 20 MiB: 413';

    is $count->(), $before, 'no contract was added';
};

subtest 'delete' => sub {
    is_error $client->api(DELETE => "admin/contracts/$c1->{id}"), 403,
        'forbidden', 'the client: 403';
    my $r = $admin->api(DELETE => "admin/contracts/$c1->{id}");
    is $r->{status}, 204, 'admin: 204' or diag $r->{raw};
    is_error $client->api(GET => "contracts/$c1->{id}/file"), 404,
        'not_found', 'gone for the client';
    is_error $admin->api(DELETE => "admin/contracts/$c1->{id}"), 404,
        'not_found', 'again: 404';
    ok !grep({ $_->{id} == $c1->{id} }
             @{ $client->api(GET => 'contracts')->{json} // [] }),
        'no longer listed';
};

done_testing;
