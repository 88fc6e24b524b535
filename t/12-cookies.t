# Session cookies the module cannot use are ignored, never an error: a
# cookie too long to be a token (ours are 43 characters) must not turn a
# correct login into a 500, and a request carrying it gets a 401 that
# clears it, so that the browser stops sending it.  A cookie of a plausible
# length that names no session gets a plain 401 (clearing it could, late,
# clear the cookie of a new login in another tab).

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use ChantierTest;

my $user = create_user(role => 'client');
my $long = 'chantier_session=' . ('A' x 200);
my $plausible = 'chantier_session=' . ('B' x 43);

sub cleared {
    my ($r) = @_;
    my $set = $r->{headers}{'set-cookie'} // '';
    $set = join "\n", @$set if ref $set;
    return $set =~ /^chantier_session=;.*Max-Age=0/m;
}

subtest 'login with an over-long cookie' => sub {
    my $c = client();
    my $r = $c->api(POST => 'session',
                    { login => $user->{login}, password => $user->{password} },
                    headers => { Cookie => $long });
    is $r->{status}, 200, 'login: 200, the cookie ignored' or diag $r->{raw};
    like $c->cookie('chantier_session') // '', qr/^[A-Za-z0-9_-]{43}$/,
        'a new session cookie';
    $c->{csrf} = $r->{json}{csrf_token};
    is $c->api(GET => 'me')->{status}, 200, 'the new session works';
};

subtest 'GET me and DELETE session with an over-long cookie' => sub {
    my $r = api(GET => 'me', undef, headers => { Cookie => $long });
    is_error $r, 401, 'not_logged_in', 'GET me: 401';
    ok cleared($r), 'the 401 clears the cookie';

    $r = api(DELETE => 'session', undef,
             headers => { Cookie => $long, 'X-CSRF-Token' => 'x' });
    is_error $r, 401, 'not_logged_in', 'DELETE session: 401';
    ok cleared($r), 'the 401 clears the cookie';
};

subtest 'a cookie that names no session' => sub {
    my $r = api(GET => 'me', undef, headers => { Cookie => $plausible });
    is_error $r, 401, 'not_logged_in', 'GET me: 401';
    ok !defined $r->{headers}{'set-cookie'}, 'the cookie is left alone';

    my $c = client();
    $r = $c->api(POST => 'session',
                 { login => $user->{login}, password => $user->{password} },
                 headers => { Cookie => $plausible });
    is $r->{status}, 200, 'login: 200';
};

done_testing;
