# The Redis scripts (ngx_http_chantier_module/core/lua/*.lua) go by their
# SHA-1 (EVALSHA); a Redis that forgot them (SCRIPT FLUSH, or a restart)
# gets the source once (EVAL) and the request still succeeds.  Redis's own
# command statistics tell which form was sent.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use ChantierTest;


# calls of EVAL and EVALSHA since the last CONFIG RESETSTAT
sub script_calls {
    my %calls = (eval => 0, evalsha => 0);

    for my $line (split /\r?\n/, redis_cli('info', 'commandstats')) {
        $calls{$1} = $2 if $line =~ /^cmdstat_(eval|evalsha):calls=(\d+)/;
    }

    return \%calls;
}

sub login_count_key {
    return redis_cli('exists', "chantier:fails:login:$_[0]");
}


# the notifier runs scripts of its own on this Redis (its sweep may send
# one as EVAL after an earlier test restarted Redis): not counted here
my $notifier = -e var_dir() . '/run/notifier.pid';
stack('stop-notifier') if $notifier;

my ($c, $user) = client_for(role => 'client');

# GET me (the document read and stored), PATCH me (the document dropped),
# GET me (stored again): every script of an account's requests
sub account_requests {
    my $r = $c->api(GET => 'me');
    is $r->{status}, 200, 'GET me: 200';

    $r = $c->api(PATCH => 'me', { notify => { posts => 'none' } });
    is $r->{status}, 200, 'PATCH me: 200' or diag $r->{raw};

    $r = $c->api(GET => 'me');
    is $r->{status}, 200, 'GET me: 200';
}

subtest 'scripts go by their SHA-1' => sub {
    # a fresh Redis learns each script on its first use
    account_requests();
    redis_cli('config', 'resetstat');

    account_requests();

    my $calls = script_calls();
    cmp_ok $calls->{evalsha}, '>=', 5,
        "session lookups, the document's generation and its storage by "
        . "EVALSHA ($calls->{evalsha})";
    is $calls->{eval}, 0, 'no script source sent';
};

subtest 'a Redis that forgot them gets the source once' => sub {
    my $offset = error_log_size();

    # the document is cached: GET me runs the session lookup only
    is $c->api(GET => 'me')->{status}, 200, 'GET me: 200';
    is redis_cli('script', 'flush'), 'OK', 'SCRIPT FLUSH';
    redis_cli('config', 'resetstat');

    my $r = $c->api(GET => 'me');
    is $r->{status}, 200, 'GET me after SCRIPT FLUSH: 200' or diag $r->{raw};
    is $r->{json}{id}, $user->{id}, 'the same user';

    my $calls = script_calls();
    is $calls->{eval}, 1, 'the lookup script sent once as EVAL';
    is $calls->{evalsha}, 1, 'after its EVALSHA was refused';

    like join('', error_log_since($offset)),
        qr/redis did not know script "session_find", sending it/,
        'the error log says which script was sent again';

    $r = $c->api(GET => 'me');
    is $r->{status}, 200, 'GET me again: 200';
    $calls = script_calls();
    is $calls->{eval}, 1, 'Redis knows it again: no more EVAL';
    is $calls->{evalsha}, 2, 'EVALSHA only';
};

subtest 'a login after SCRIPT FLUSH: every script of the chain' => sub {
    is redis_cli('script', 'flush'), 'OK', 'SCRIPT FLUSH';
    redis_cli('config', 'resetstat');

    my $other = client();
    my $r = $other->login($user->{login}, $user->{password});
    is $r->{status}, 200, 'login: 200' or diag $r->{raw};

    $r = $other->api(GET => 'me');
    is $r->{status}, 200, 'the new session works';

    # login_check, session_create, session_find, and login_success, which
    # nobody awaits: its EVAL may still be on its way
    ok wait_until(sub { script_calls()->{eval} == 4 }, timeout => 5),
        'each of the four scripts sent once as EVAL, the one nobody awaits '
        . 'included';
    is login_count_key($user->{login}), 0,
        'login_success ran: the failure counter of the login is gone';

    $r = $other->api(DELETE => 'session');
    is $r->{status}, 204, 'logout: 204';
    is $other->api(GET => 'me')->{status}, 401, 'the session is gone';
};

stack('start-notifier') if $notifier;

done_testing;
