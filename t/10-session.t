# Sessions (SPEC section 5, docs/API.md "Sessions" and "POST me/password"):
# login, cookie flags, identical answer for an unknown login and a wrong
# password, failed-login limiting, disabled accounts, logout, session
# renewal, password change, CSRF, and that no password or hash is ever
# answered.
#
# Failed logins count against 127.0.0.1 (100 per 15 min, shared by every
# test file of a run): this file makes about 17 on purpose.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep time);

use lib 't/lib';
use ChantierTest;


# Every answer of this file, to look for passwords and hashes at the end.
my @answers;
{
    no warnings 'redefine';
    my $orig = \&ChantierTest::Client::raw_request;
    *ChantierTest::Client::raw_request = sub {
        my $r = $orig->(@_);
        push @answers, $r;
        return $r;
    };
}

my @passwords;    # every password this file used


sub set_cookie_lines {
    my ($r) = @_;
    my $h = $r->{headers}{'set-cookie'};
    return () unless defined $h;
    return ref $h ? @$h : ($h);
}

# a client whose cookie is this raw token (a stolen or old cookie)
sub with_token {
    my ($token) = @_;
    my $c = client();
    $c->set_cookie(chantier_session => $token);
    return $c;
}

sub session_key { return 'chantier:session:' . sha256_hex($_[0]) }

sub fails_of {
    my ($login) = @_;
    my $n = redis_cli('get', "chantier:fails:login:$login");
    return length $n ? $n : 0;
}

my $password = $ChantierTest::DEFAULT_PASSWORD;
push @passwords, $password;


my $user = create_user(role => 'client');
my $c = client();
my ($token, $wrong);

subtest 'login' => sub {
    my $r = $c->login($user->{login}, $password);

    is $r->{status}, 200, 'login: 200' or diag $r->{raw};
    like $r->{headers}{'content-type'} // '', qr{^application/json},
        'login: JSON';
    is_deeply [sort keys %{ $r->{json} // {} }], ['csrf_token', 'user'],
        'login: {user, csrf_token}';
    is $r->{json}{user}{id}, $user->{id}, 'login: user.id';
    is $r->{json}{user}{login}, $user->{login}, 'login: user.login';
    is $r->{json}{user}{role}, 'client', 'login: user.role';
    like $r->{json}{csrf_token} // '', qr/^[A-Za-z0-9_-]{32,}$/,
        'login: csrf_token, at least 32 url-safe characters';

    my @cookies = set_cookie_lines($r);
    is scalar @cookies, 1, 'login: one Set-Cookie';
    my $set = $cookies[0] // '';
    ($token) = $set =~ /^chantier_session=([^;]*)/;
    like $token // '', qr/^[A-Za-z0-9_-]{43,}$/,
        'cookie: chantier_session, 256 bits (43+ base64url characters)';
    like $set, qr/;\s*HttpOnly(;|$)/i, 'cookie: HttpOnly';
    like $set, qr/;\s*SameSite=Lax(;|$)/i, 'cookie: SameSite=Lax';
    like $set, qr/;\s*Path=\/(;|$)/, 'cookie: Path=/';
    unlike $set, qr/;\s*Secure(;|$)/i,
        'cookie: no Secure (chantier_cookie_secure off in the test conf)';
    unlike $set, qr/;\s*(Max-Age|Expires)=/i,
        'cookie: a session cookie (no Max-Age/Expires)';

    $r = $c->api(GET => 'me');
    is $r->{status}, 200, 'the cookie opens GET me';
    is $r->{json}{csrf_token}, $c->csrf, 'GET me: the csrf_token of the login';

    $r = client()->login(uc $user->{login}, $password);
    is $r->{status}, 200, 'login is case-insensitive' or diag $r->{raw};

    my $other = client()->login($user->{login}, $password);
    isnt $other->{json}{csrf_token}, $c->csrf,
        'two sessions have different CSRF tokens';
};


subtest 'Redis keeps only hashes' => sub {
    my $key = session_key($token);
    is redis_cli('exists', $key), '1',
        'Redis: chantier:session:<sha256 of the cookie> exists';

    my %h = split /\n/, redis_cli('hgetall', $key);
    is $h{user_id}, $user->{id}, 'Redis session: user_id';
    is $h{role}, 'client', 'Redis session: role';
    is $h{csrf}, $c->csrf, 'Redis session: csrf';

    my $ttl = redis_cli('ttl', $key);
    ok $ttl > 0 && $ttl <= 2 * 3600,
        "Redis session expires after the idle timeout, 2 h ($ttl s)";

    my @keys = split /\n/, redis_cli('--scan');
    my @sessions = grep { /^chantier:session:/ } @keys;
    ok @sessions >= 2, 'Redis: session keys found';
    is_deeply [grep { !/^chantier:session:[0-9a-f]{64}$/ } @sessions], [],
        'Redis: every session key is a SHA-256 in hex';

    my $dump = join "\n", @keys;
    for my $k (@keys) {
        my $type = redis_cli('type', $k);
        $dump .= "\n" . ($type eq 'hash'   ? redis_cli('hgetall', $k)
                       : $type eq 'set'    ? redis_cli('smembers', $k)
                       : $type eq 'string' ? redis_cli('get', $k)
                       : '');
    }
    unlike $dump, qr/\Q$token\E/,
        'the raw cookie token appears in no Redis key or value';
    unlike $dump, qr/\Q$password\E/, 'no password in Redis';
};


subtest 'expiry: idle timeout and absolute lifetime' => sub {
    my ($ec, $u) = client_for(role => 'client');
    my $key = session_key($ec->cookie('chantier_session'));

    redis_cli('expire', $key, 1);
    sleep 1.5;
    is_error $ec->api(GET => 'me'), 401, 'not_logged_in',
        'a session idle past its expiry';

    ($ec) = client_for(role => 'client');
    $key = session_key($ec->cookie('chantier_session'));

    my $ttl = redis_cli('ttl', $key);
    is $ec->api(GET => 'me')->{status}, 200, 'a fresh session';

    # created 13 h ago: past the 12 h lifetime, however active
    redis_cli('hset', $key, 'created', int(time) - 13 * 3600);
    is_error $ec->api(GET => 'me'), 401, 'not_logged_in',
        'a session past its absolute lifetime';
    is redis_cli('exists', $key), '0', 'and it is deleted';

    # created 12 h minus 60 s ago: the idle expiry may not outlive it
    ($ec) = client_for(role => 'client');
    $key = session_key($ec->cookie('chantier_session'));
    redis_cli('hset', $key, 'created', int(time) - 12 * 3600 + 60);
    is $ec->api(GET => 'me')->{status}, 200, 'a session near its lifetime';
    $ttl = redis_cli('ttl', $key);
    ok $ttl > 0 && $ttl <= 60,
        "its expiry is cut to the end of its lifetime ($ttl s)";
};


subtest 'unknown login and wrong password: the same answer' => sub {
    my $t0 = time;
    $wrong = api(POST => 'session',
        { login => $user->{login}, password => 'not-the-password' });
    my $t_wrong = time - $t0;

    $t0 = time;
    my $unknown = api(POST => 'session',
        { login => unique_login('nobody'), password => 'not-the-password' });
    my $t_unknown = time - $t0;

    push @passwords, 'not-the-password';

    is_error $wrong, 401, 'bad_credentials', 'wrong password';
    is_error $unknown, 401, 'bad_credentials', 'unknown login';
    is $unknown->{raw}, $wrong->{raw},
        'unknown login and wrong password: byte-identical bodies';
    is_deeply [set_cookie_lines($wrong)], [], 'no cookie on a failed login';

    # both do the scrypt work: an unknown login is not answered much faster
    # (a loose bound, the machine may be busy)
    ok $t_unknown > $t_wrong / 4,
        sprintf('similar timing: unknown %.0f ms, wrong password %.0f ms',
                $t_unknown * 1000, $t_wrong * 1000);

    # the successful logins above cleared this login's count; the wrong
    # password made it 1
    is fails_of($user->{login}), 1, 'a wrong password counts one failure';
};


subtest '429 after 5 failures for one login' => sub {
    # a "k" in the login: the Kelvin sign U+212A lower-cases to "k" in
    # Unicode
    my $u = create_user(role => 'client', login => unique_login('kclient'));

    my @st;
    for (1 .. 5) {
        push @st, api(POST => 'session',
            { login => $u->{login}, password => 'wrong-password-x' })->{status};
    }
    push @passwords, 'wrong-password-x';
    is_deeply \@st, [(401) x 5], '5 wrong passwords: 401 each';

    my $r = api(POST => 'session',
        { login => $u->{login}, password => $password });
    is_error $r, 429, 'too_many_attempts',
        '6th attempt, with the RIGHT password';
    my $ra = $r->{headers}{'retry-after'} // '';
    like $ra, qr/^\d+$/, "429 has Retry-After ($ra)";
    ok $ra =~ /^\d+$/ && $ra >= 1 && $ra <= 900,
        'Retry-After within the 15 min window';
    is_deeply [set_cookie_lines($r)], [], 'no cookie on 429';

    # another spelling of the same login is the same account
    $r = api(POST => 'session',
        { login => uc $u->{login}, password => $password });
    is_error $r, 429, 'too_many_attempts', 'upper-case spelling, same count';

    # other spellings that name the same account share its counter, or
    # name no account: none may log in while it is locked
    for my $spelling (" $u->{login}", "$u->{login} ",
                      "\x{212A}" . substr($u->{login}, 1))
    {
        (my $shown = $spelling) =~ s/([^ -~])/sprintf '\\x{%X}', ord $1/ge;
        $r = api(POST => 'session',
            { login => $spelling, password => $password });
        ok $r->{status} == 429 || $r->{status} == 401,
            "locked account, login sent as \"$shown\": 429 or 401"
            or diag "$r->{status} $r->{raw}";
    }

    # the limit is per login: another account still logs in
    $r = client()->login($user->{login}, $password);
    is $r->{status}, 200, 'another login is not limited';
};


subtest 'the limit holds for attempts sent at the same time' => sub {
    my $u = create_user(role => 'client');

    push @passwords, map { "wrong-parallel-$_" } 1 .. 6;
    my @st = sort(parallel(map {
        my $i = $_;
        sub {
            api(POST => 'session',
                { login => $u->{login}, password => "wrong-parallel-$i" });
        }
    } 1 .. 6));

    is scalar(grep { /^\d{3}$/ } @st), 6,
        '6 wrong passwords sent at once: 6 answers';

    is scalar(grep { $_ == 401 } @st), 5,
        "at most 5 of them checked (got: @st)";
};


# attempts still being checked count against the limit, but a correct
# password waits for them rather than get 429: they may succeed too
subtest '20 correct logins of one account sent at once: 200 each' => sub {
    my $u = create_user(role => 'client');

    my @st = parallel(map {
        sub { client()->login($u->{login}, $u->{password}) }
    } 1 .. 20);

    is "@st", join(' ', (200) x 20), '20 simultaneous correct logins: 200';
    is fails_of($u->{login}), 0, 'no attempt left counted';
    is redis_cli('get', "chantier:pending:login:$u->{login}") || 0, 0,
        'none left pending';
};

subtest 'a correct password beside 5 wrong ones sent at once' => sub {
    my $u = create_user(role => 'client');
    push @passwords, map { "wrong-beside-$_" } 1 .. 5;

    my @st = parallel(
        (map { my $i = $_; sub {
            api(POST => 'session',
                { login => $u->{login}, password => "wrong-beside-$i" }) }
        } 1 .. 5),
        sub { sleep 0.3; client()->login($u->{login}, $u->{password}) });

    my $right = pop @st;
    is scalar(grep { $_ == 401 } @st), 5, 'the 5 wrong ones: 401';
    is $right, 429, 'the right one, sent after them: 429 (5 failures)';
};


subtest 'a success clears that login\'s count' => sub {
    my $u = create_user(role => 'client');
    my $bad = { login => $u->{login}, password => 'wrong-password-y' };
    push @passwords, 'wrong-password-y';

    my @st = map { api(POST => 'session', $bad)->{status} } 1 .. 3;
    is_deeply \@st, [401, 401, 401], '3 failures';
    is fails_of($u->{login}), 3, 'Redis counts 3 failures';

    my $r = client()->login($u->{login}, $password);
    is $r->{status}, 200, 'then the right password: 200';
    is fails_of($u->{login}), 0, 'the login\'s count is gone';

    # without the reset, the 6th failure in a row would be 429
    @st = map { api(POST => 'session', $bad)->{status} } 1 .. 3;
    is_deeply \@st, [401, 401, 401], '3 more failures: still 401, not 429';

    $r = client()->login($u->{login}, $password);
    is $r->{status}, 200, 'and the right password still logs in';
};


subtest 'disabled account' => sub {
    my ($uc, $u) = client_for(role => 'client');

    my $r = admin_client()->api(PATCH => "admin/users/$u->{id}",
        { active => JSON::PP::false() });
    is $r->{status}, 200, 'admin deactivates the account' or diag $r->{raw};

    $r = api(POST => 'session',
        { login => $u->{login}, password => $password });
    is_error $r, 403, 'account_disabled', 'disabled account, right password';
    is_deeply [set_cookie_lines($r)], [], 'no cookie for a disabled account';

    $r = api(POST => 'session',
        { login => $u->{login}, password => 'wrong-password-z' });
    push @passwords, 'wrong-password-z';
    is_error $r, 401, 'bad_credentials', 'disabled account, wrong password';
    is $r->{raw}, $wrong->{raw},
        'disabled + wrong password: the same body as any wrong password';

    is_error $uc->api(GET => 'me'), 401, 'not_logged_in',
        'the disabled user\'s open session';
};


subtest 'logout' => sub {
    my ($lc, $u) = client_for(role => 'employee');
    my $tok = $lc->cookie('chantier_session');
    my $key = session_key($tok);
    my $set_key = "chantier:user:$u->{id}:sessions";

    is redis_cli('sismember', $set_key, $key), '1',
        'the session is listed in the user\'s set';

    is_error api(DELETE => 'session'), 401, 'not_logged_in',
        'DELETE session without a cookie';

    my $r = $lc->api(DELETE => 'session', undef, csrf => undef);
    is_error $r, 403, 'csrf_invalid', 'DELETE session without X-CSRF-Token';
    $r = $lc->api(DELETE => 'session', undef, csrf => 'forged');
    is_error $r, 403, 'csrf_invalid', 'DELETE session with a wrong token';
    $r = $lc->api(DELETE => 'session', undef, csrf => $c->csrf);
    is_error $r, 403, 'csrf_invalid',
        'DELETE session with another session\'s token';
    is $lc->api(GET => 'me')->{status}, 200,
        'the session survived the refused logouts';

    $r = $lc->logout;
    is $r->{status}, 204, 'logout: 204' or diag $r->{raw};
    is $r->{raw}, '', 'logout: no body';
    my ($clear) = set_cookie_lines($r);
    like $clear // '', qr/^chantier_session=;/, 'logout clears the cookie';
    like $clear // '', qr/Max-Age=0/i, 'logout: Max-Age=0';
    like $clear // '', qr/;\s*Path=\/(;|$)/, 'logout: same Path';

    is_error with_token($tok)->api(GET => 'me'), 401, 'not_logged_in',
        'the old cookie after logout';
    is redis_cli('exists', $key), '0', 'logout: the Redis key is gone';
    is redis_cli('sismember', $set_key, $key), '0',
        'logout: removed from the user\'s set';

    is_error with_token($tok)->api(DELETE => 'session'), 401, 'not_logged_in',
        'logout again with the old cookie';
};


subtest 'a login renews the session id' => sub {
    my ($rc, $u) = client_for(role => 'client');
    my $old = $rc->cookie('chantier_session');
    my $old_csrf = $rc->csrf;

    # the jar sends the old cookie
    my $r = $rc->login($u->{login}, $password);
    is $r->{status}, 200, 'second login in the same browser: 200';
    my $new = $rc->cookie('chantier_session');
    isnt $new, $old, 'a new session token';
    isnt $rc->csrf, $old_csrf, 'a new CSRF token';

    is_error with_token($old)->api(GET => 'me'), 401, 'not_logged_in',
        'the session of the old cookie ended';
    is redis_cli('exists', session_key($old)), '0',
        'the old session is gone from Redis';
    is $rc->api(GET => 'me')->{status}, 200, 'the new cookie works';

    # a cookie of somebody else's session sent with a login ends it too:
    # a fixed session id never becomes a logged-in one
    my ($vc, $v) = client_for(role => 'client');
    my $planted = $vc->cookie('chantier_session');
    my $fixer = with_token($planted);
    $r = $fixer->login($u->{login}, $password);
    is $r->{status}, 200, 'login with a planted cookie';
    isnt $fixer->cookie('chantier_session'), $planted,
        'the planted token is not the new session';
    is_error $vc->api(GET => 'me'), 401, 'not_logged_in',
        'the session named by the cookie sent with a login ends';
};


subtest 'password change' => sub {
    my ($pc, $u) = client_for(role => 'client');
    my $pc2 = client();
    is $pc2->login($u->{login}, $password)->{status}, 200,
        'a second session of the same user';
    my $other_user = client_for(role => 'client');

    my $new_pw = "nouveau-mot-de-passe-$$";
    push @passwords, $new_pw;

    my $r = $pc->api(POST => 'me/password',
        { current_password => $password, new_password => $new_pw },
        csrf => undef);
    is_error $r, 403, 'csrf_invalid', 'POST me/password without X-CSRF-Token';
    $r = $pc->api(POST => 'me/password',
        { current_password => $password, new_password => $new_pw },
        csrf => $pc2->csrf);
    is_error $r, 403, 'csrf_invalid',
        'POST me/password with another session\'s token';

    $r = $pc->api(POST => 'me/password',
        { current_password => 'pas-le-bon-mot', new_password => $new_pw });
    push @passwords, 'pas-le-bon-mot';
    is_error $r, 403, 'wrong_password', 'wrong current password';

    $r = $pc->api(POST => 'me/password',
        { current_password => $password, new_password => 'court' });
    is_error $r, 400, 'password_too_short', 'new password of 5 characters';

    $r = $pc->api(POST => 'me/password',
        { current_password => $password, new_password => '123456789' });
    is_error $r, 400, 'password_too_short', 'new password of 9 characters';

    # 5 characters of 2 bytes: 10 bytes, but 5 characters
    {
        my ($xc, $x) = client_for(role => 'client');
        $r = $xc->api(POST => 'me/password',
            { current_password => $password,
              new_password => "\x{e9}\x{e9}\x{e9}\x{e9}\x{e9}" });
        is_error $r, 400, 'password_too_short',
            'new password of 5 accented characters (10 bytes)';
    }

    $r = $pc->api(POST => 'me/password',
        { current_password => $password, new_password => 'x' x 257 });
    is_error $r, 400, 'password_too_long', 'new password over 256 bytes';

    is $pc2->api(GET => 'me')->{status}, 200,
        'refused changes end no session';

    $r = $pc->api(POST => 'me/password',
        { current_password => $password, new_password => $new_pw });
    is $r->{status}, 204, 'password change: 204' or diag $r->{raw};
    is $r->{raw}, '', 'password change: no body';

    is $pc->api(GET => 'me')->{status}, 200, 'this session goes on';
    is $pc->api(PATCH => 'me', { phone => '0601020304' })->{status}, 200,
        'this session still writes (its CSRF token unchanged)';
    is_error $pc2->api(GET => 'me'), 401, 'not_logged_in',
        'the user\'s other session ended';
    is $other_user->api(GET => 'me')->{status}, 200,
        'another user\'s session is untouched';

    $r = client()->login($u->{login}, $new_pw);
    is $r->{status}, 200, 'the new password logs in';
    $r = api(POST => 'session',
        { login => $u->{login}, password => $password });
    is_error $r, 401, 'bad_credentials', 'the old password no longer does';

    like psql("select password_hash from chantier.users where id = $u->{id}"),
        qr/^\$scrypt\$/, 'the stored password is an scrypt hash';
    unlike psql("select password_hash from chantier.users where id = $u->{id}"),
        qr/\Q$new_pw\E/, 'not the password itself';

    is_error api(POST => 'me/password',
        { current_password => $password, new_password => $new_pw }),
        401, 'not_logged_in', 'POST me/password without a session';
};


subtest 'at most 20 sessions per user (chantier_sessions_per_user): the oldest end' => sub {
    my $u = create_user(role => 'client');
    my $set = "chantier:user:$u->{id}:sessions";

    my (@clients, @statuses);
    for my $i (1 .. 22) {
        my $c = client();
        push @statuses, $c->login($u->{login}, $u->{password})->{status};
        push @clients, $c;
    }
    is "@statuses", join(' ', (200) x 22), '22 logins: 200 each';

    is redis_cli('scard', $set), 20, 'the user holds 20 sessions in Redis';
    is_error $clients[0]->api(GET => 'me'), 401, 'not_logged_in',
        'the oldest session has ended';
    is_error $clients[1]->api(GET => 'me'), 401, 'not_logged_in',
        'and the second oldest';
    is $clients[2]->api(GET => 'me')->{status}, 200,
        'the third is still open';
    is $clients[21]->api(GET => 'me')->{status}, 200,
        'the newest is open';

    # the set never grows: a password change ends the 19 others at once
    my $r = $clients[21]->api(POST => 'me/password',
        { current_password => $u->{password},
          new_password => 'un-autre-mot-de-passe' });
    is $r->{status}, 204, 'password change: 204';
    is redis_cli('scard', $set), 1, 'one session left in the set';
    is_error $clients[2]->api(GET => 'me'), 401, 'not_logged_in',
        'the others have ended';
};


subtest 'guessing the current password of POST me/password: 429 after 5' => sub {
    my ($c, $u) = client_for(role => 'client');
    my $attempt = sub {
        $c->api(POST => 'me/password',
                { current_password => $_[0], new_password => 'un-nouveau-mot-de-passe' });
    };

    is_error $attempt->("faux-$_"), 403, 'wrong_password', "wrong guess $_"
        for 1 .. 5;

    my $r = $attempt->('faux-6');
    is_error $r, 429, 'too_many_attempts', 'the sixth guess: 429';
    like $r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/, 'Retry-After';

    $r = $attempt->($u->{password});
    is_error $r, 429, 'too_many_attempts',
        'even the right password now waits';
    is $c->api(GET => 'me')->{status}, 200, 'the session is still open';

    # the counter is the account's: a right password before the fifth
    # wrong one clears it
    my ($d, $v) = client_for(role => 'client');
    $d->api(POST => 'me/password',
            { current_password => "faux-$_", new_password => 'xxxxxxxxxxxx' })
        for 1 .. 4;
    $r = $d->api(POST => 'me/password',
                 { current_password => $v->{password},
                   new_password => 'un-nouveau-mot-de-passe' });
    is $r->{status}, 204, 'four wrong guesses, then the right one: 204';
    is redis_cli('exists', "chantier:fails:password:$v->{id}"), 0,
        'the success cleared the account\'s counter';
};


# the pid of the stack's nginx master
sub nginx_master {
    open my $fh, '<', var_dir() . '/run/nginx.pid' or die "nginx.pid: $!";
    chomp(my $pid = <$fh>);
    return $pid;
}

subtest 'logins being hashed when nginx reloads all succeed' => sub {
    my @users = map { create_user(role => 'client') } 1 .. 12;
    my $offset = error_log_size();

    my @statuses = parallel(
        (map { my $u = $_; sub { client()->login($u->{login}, $u->{password}) } }
             @users),
        sub { sleep 0.1; kill 'HUP', nginx_master() or die "HUP: $!";
              { status => 'reloaded' } });

    is pop(@statuses), 'reloaded', 'nginx reloaded during the logins';
    is "@statuses", join(' ', (200) x 12), '12 logins: 200 each';

    my @left = grep { /left in connection|aborting/ }
                    error_log_since($offset);
    is scalar(@left), 0, 'no worker exited with a connection open'
        or diag @left[0 .. ($#left < 4 ? $#left : 4)];
};


subtest 'a login storm past chantier_thread_queue: 503 at once, not a wait' => sub {
    my $port = free_port();
    {
        local $ENV{NGINX2_THREAD_QUEUE} = 1;
        start_nginx2($port);
    }

    my @users = map { create_user(role => 'client') } 1 .. 16;
    my $url = "http://127.0.0.1:$port/api/session";

    my @answers = parallel(map { my $u = $_; sub {
        my $r = api(POST => $url,
                    { login => $u->{login}, password => $u->{password} });
        $r->{status} = "$r->{status}:" . ($r->{headers}{'retry-after'} // '')
            . ':' . (($r->{json} // {})->{error}{code} // '');
        $r;
    } } @users);

    my @ok = grep { /^200:/ } @answers;
    my @busy = grep { /^503:\d+:service_unavailable$/ } @answers;
    ok @ok >= 2, scalar(@ok) . ' of 16 logins: 200 (one hash at a time per'
        . ' worker)';
    ok @busy >= 1, scalar(@busy) . ' of 16: 503 with Retry-After, at once';
    is @ok + @busy, 16, 'nothing else' or diag "@answers";

    my @kept = grep { $answers[$_] =~ /^503:/ && fails_of($users[$_]{login}) }
                    0 .. $#users;
    is scalar(@kept), 0, 'the attempts answered 503 were given back';

    # and each user logs in now
    my @later = map { client()->login($_->{login}, $_->{password})->{status} }
                    @users;
    is "@later", join(' ', (200) x 16), 'each of them logs in afterwards';

    stop_nginx2();
};


subtest 'nothing ever answers a password or a hash' => sub {
    my @leaks;

    for my $a (@answers) {
        my $text = $a->{raw};
        for my $h (values %{ $a->{headers} }) {
            $text .= "\n" . (ref $h ? join("\n", @$h) : $h);
        }

        push @leaks, "scrypt in: $a->{raw}" if $text =~ /scrypt/i;
        push @leaks, "password field in: $a->{raw}"
            if $text =~ /"(password|password_hash|hash)"\s*:/;

        for my $pw (@passwords) {
            push @leaks, "password in: $a->{raw}" if index($text, $pw) >= 0;
        }
    }

    ok @answers > 50, scalar(@answers) . ' answers checked';
    is_deeply \@leaks, [], 'no password, hash or "scrypt" in any answer';
};

done_testing;
