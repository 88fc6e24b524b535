# The stack started by make test answers: nginx, PostgreSQL (migrated),
# Redis, and the module's health route (SPEC section 5: GET /api/health).

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use ChantierTest;

my $r = api(GET => '/');
isnt $r->{status}, 599, 'nginx answers on ' . url('/')
    or diag $r->{raw};

is psql('select 1'), '1', 'PostgreSQL answers as chantier';
like psql('select count(*) from public.schema_migrations'), qr/^[1-9]\d*$/,
    'migrations applied';
is redis_cli('ping'), 'PONG', 'Redis answers';

$r = api(GET => 'health');
is $r->{status}, 200, 'GET /api/health: 200';
like $r->{headers}{'content-type'} // '', qr{^application/json},
    'health: JSON';
ok ref $r->{json} eq 'HASH', 'health: a JSON object'
    or diag $r->{raw};

$r = api(GET => 'no-such-route');
is $r->{status}, 404, 'unknown API route: 404';
ok ref $r->{json} eq 'HASH' && ref $r->{json}{error} eq 'HASH'
    && defined $r->{json}{error}{code} && defined $r->{json}{error}{message},
    'unknown API route: {"error":{"code","message"}}'
    or diag $r->{raw};

done_testing;
