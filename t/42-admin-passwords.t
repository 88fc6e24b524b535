# A password an administrator types never reaches PostgreSQL in clear: the
# worker hashes it and sends the fields without it, so that a statement log
# (log_statement = 'all', here switched on for the test) or a monitoring
# of queries shows no password.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use ChantierTest;

my $pg_log = var_dir() . '/log/postgres.log';

sub pg_log_since {
    my ($offset) = @_;
    open my $fh, '<', $pg_log or return '';
    seek $fh, $offset, 0;
    local $/;
    return <$fh> // '';
}

psql_superuser("alter system set log_statement = 'all'; "
               . 'select pg_reload_conf();');
sleep 1;

my $admin = admin_client();
my $offset = -s $pg_log // 0;
my $created = 'Creation-' . time . '-' . int(rand(1e9));
my $reset = 'Remise-' . time . '-' . int(rand(1e9));
my $login = unique_login('pw');

my $r = $admin->api(POST => 'admin/users', {
    role => 'employee', login => $login, password => $created,
    civility => 'M.', first_name => 'Paul', last_name => 'Journal',
    email => "$login\@example.com",
});
is $r->{status}, 201, 'POST admin/users with a password: 201'
    or diag $r->{raw};
my $id = $r->{json}{id};

$r = $admin->api(PATCH => "admin/users/$id", { password => $reset });
is $r->{status}, 200, 'PATCH admin/users/{id} with a new password: 200'
    or diag $r->{raw};

$r = $admin->api(PATCH => "admin/users/$id",
                 { password => $reset . 'x', first_name => 'Pierre' });
is $r->{status}, 200, 'PATCH with a password and another field: 200';
is $r->{json}{first_name}, 'Pierre', 'the other field is saved';

my $c = client();
is $c->login($login, $reset . 'x')->{status}, 200,
    'the last password opens a session: it was hashed and stored';

# the log is written by PostgreSQL as it runs the statements
my $log = '';
wait_until(sub { $log = pg_log_since($offset); $log =~ /\Q$login\E/ },
           timeout => 5);

like $log, qr/admin_user_create/, 'the statements were logged';
like $log, qr/\Q$login\E/, 'with their parameters (the login is there)';
unlike $log, qr/\Q$created\E/, 'the password of the creation is not';
unlike $log, qr/\Q$reset\E/, 'the reset passwords are not';

psql_superuser('alter system reset log_statement; select pg_reload_conf();');

done_testing;
