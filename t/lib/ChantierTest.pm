package ChantierTest;

# Test harness: HTTP clients with their own cookies and CSRF token, SQL
# against the test database, test users, control of the stack.  Core Perl
# only (HTTP::Tiny, JSON::PP).
#
# The environment comes from scripts/test (make test): CHANTIER_URL,
# CHANTIER_VAR, CHANTIER_REPO, CHANTIERCTL, PGHOST, PGPORT, PGUSER,
# PGDATABASE, REDIS_PORT.
#
#   use lib 't/lib';
#   use ChantierTest;
#
#   my $r = api(GET => 'health');                 # anonymous request
#   is $r->{status}, 200;
#
#   my ($c, $user) = client_for(role => 'client');  # new user, logged in
#   $r = $c->api(PATCH => 'me', { phone => '0601020304' });  # CSRF sent
#   is $r->{json}{phone}, '0601020304';
#
#   my $admin = admin_client();
#   my $u = create_user(role => 'employee');      # { ...user json, password }
#
#   my $f = create_chantier(client_id => $user->{id});   # fiche summary
#   my $post = publish($e_c, $f->{id}, 'Texte');  # a post, by an employee
#   $c->api(PATCH => "posts/$post->{id}", { body => delta('Autre') }, ...);
#   my ($doc, $etag) = fiche($c, $f->{id});       # GET fiches/{id}
#   my $v = fiche_version($c, $f->{id});
#   bumps('a comment', $f->{id}, sub { ... });    # version +1, new ETag
#   no_change('refused', $f->{id}, sub { ... });  # same version and ETag
#
#   my @status = parallel(map { my $t = twin($c);  # same session, own
#       sub { $t->api(...) } } 1 .. 6);           # connections; at once
#
#   my $log = error_log_size();                   # nginx's error log
#   no_error_logged($log, 'no crash');            # nothing alarming since
#
# The checks bumps, no_change and no_error_logged report a failure at the
# line of their caller.
#
# A path without a leading "/" is under /api/ ("me" -> /api/me); a path
# with one is taken as is ("/index.html").

use strict;
use warnings;

use Carp qw(croak);
use Exporter qw(import);
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(sleep time);
use Test::More ();

our @EXPORT = qw(
    api raw_request client client_for admin_client create_user unique_login
    psql psql_superuser sql_quote redis_cli json_encode json_decode url
    stop_postgres start_postgres stop_redis start_redis reload_nginx
    start_nginx2 stop_nginx2 free_port
    stack wait_until repo_dir var_dir is_error
    unique_code create_chantier delta publish fiche fiche_version bumps
    no_change user_name twin parallel
    error_log_size error_log_since no_error_logged
    worker_pids worker_fds
    stop_mail start_mail stop_sms start_sms stop_notifier start_notifier
    kill_notifier notifier_log_size notifier_log_since insert_notification
    push_notifications notification_row maildir_messages mail_to
    sms_messages sms_to
);

our $URL = $ENV{CHANTIER_URL}
    or die "CHANTIER_URL is not set: run the tests with make test\n";
$URL =~ s{/+$}{};

our $DEFAULT_PASSWORD = 'motdepasse-de-test';

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
my $seq = 0;

sub repo_dir {
    return $ENV{CHANTIER_REPO} // do {
        require File::Basename;
        require Cwd;
        Cwd::abs_path(File::Basename::dirname(__FILE__) . '/../..');
    };
}

sub var_dir { return $ENV{CHANTIER_VAR} }

sub json_encode { return $JSON->encode($_[0]) }

sub json_decode {
    my $v = eval { $JSON->decode($_[0]) };
    return $v;
}

sub url {
    my ($path) = @_;
    return $path if $path =~ m{^https?://};
    return $URL . ($path =~ m{^/} ? $path : "/api/$path");
}

# A login nobody else uses, even across parallel test files:
# unique_login('dupont') -> "dupont-12345-3"
sub unique_login {
    my ($prefix) = @_;
    $prefix //= 'user';
    $seq++;
    return lc "$prefix-$$-$seq";
}


# ---- HTTP ----

# anonymous requests (no cookies kept)
sub api { return ChantierTest::Client->new->api(@_) }
sub raw_request { return ChantierTest::Client->new->raw_request(@_) }

sub client { return ChantierTest::Client->new(@_) }


# ---- users ----

my $admin;

# One administrator per test process, created with chantierctl (which reads
# the password on its standard input), then logged in.
sub admin_client {
    return $admin if $admin;

    my $login = unique_login('admin');
    my $ctl = $ENV{CHANTIERCTL} // repo_dir() . '/build/chantierctl';

    -x $ctl or croak "$ctl not built (make)";

    # chantierctl prints the new user on its standard output, which is the
    # TAP stream here: send it to /dev/null (errors still go to stderr)
    open my $saved, '>&', \*STDOUT or croak "dup STDOUT: $!";
    open STDOUT, '>', '/dev/null' or croak "/dev/null: $!";
    open my $fh, '|-', $ctl, 'user', 'add', '--role', 'admin',
        '--login', $login, '--first-name', 'Admin', '--last-name', 'Test'
        or croak "cannot run $ctl: $!";
    print $fh "$DEFAULT_PASSWORD\n";
    my $ok = close $fh;
    open STDOUT, '>&', $saved or croak "restore STDOUT: $!";
    $ok or croak "chantierctl user add failed (status $?)";

    my $c = ChantierTest::Client->new;
    my $r = $c->login($login, $DEFAULT_PASSWORD);
    $r->{status} == 200
        or croak "admin login failed: $r->{status} $r->{raw}";

    $admin = $c;
    return $admin;
}

# create_user(role => 'client', login => ..., password => ..., other fields
# of POST /api/admin/users).  Returns the user JSON of the 201 answer plus
# "password".  Dies unless the user was created.
sub create_user {
    my (%args) = @_;

    my $role = $args{role} // 'client';
    my $n = ++$seq;

    my %body = (
        role       => $role,
        login      => unique_login($role),
        password   => $DEFAULT_PASSWORD,
        civility   => 'M.',
        first_name => 'Test',
        last_name  => ucfirst($role) . " $$-$n",
    );

    if ($role eq 'client') {
        $body{client_number} = "T-$$-$n";
        $body{address} = {
            line1       => "$n rue des Tests",
            line2       => undef,
            postal_code => '75011',
            city        => 'Paris',
        };
        $body{email} = "client-$$-$n\@example.test";
    }

    %body = (%body, %args);

    my $r = admin_client()->api(POST => 'admin/users', \%body);

    $r->{status} == 201
        or croak "create_user: $r->{status} $r->{raw}";

    return { %{ $r->{json} }, password => $body{password} };
}

# a new user of that role and a client logged in as them
sub client_for {
    my (%args) = @_;

    my $user = create_user(%args);
    my $c = ChantierTest::Client->new;
    my $r = $c->login($user->{login}, $user->{password});

    $r->{status} == 200
        or croak "login of $user->{login} failed: $r->{status} $r->{raw}";

    return wantarray ? ($c, $user) : $c;
}

# user_name($user): the name the API gives a user (in posts, comments,
# messages): civility, first and last name, those that are set
sub user_name {
    my ($u) = @_;
    return join ' ', grep { defined && length }
        @$u{qw(civility first_name last_name)};
}

# twin($c): another browser with the session of $c (its cookie and CSRF
# token) on connections of its own, without keep-alive: each request is a
# new connection that either nginx worker may take, and it is safe to use
# in a forked process
sub twin {
    my ($c) = @_;
    my $t = ChantierTest::Client->new(keep_alive => 0);
    $t->set_cookie(chantier_session => $c->cookie('chantier_session'));
    $t->csrf($c->csrf);
    return $t;
}

# parallel(sub { $c->api(...) }, ...): runs each sub in a process of its
# own, all at the same moment; returns the statuses of the answers they
# return, in the order of the subs
sub parallel {
    my (@subs) = @_;

    require POSIX;

    my @kids;
    for my $sub (@subs) {
        pipe(my $rd, my $wr) or croak "pipe: $!";
        my $pid = fork // croak "fork: $!";
        if ($pid == 0) {
            close $rd;
            my $r = $sub->();
            print $wr $r->{status};
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $rd];
    }

    my @status;
    for (@kids) {
        my ($pid, $rd) = @$_;
        local $/;
        push @status, scalar readline $rd;
        waitpid $pid, 0;
    }
    return @status;
}


# ---- chantiers, fiches, posts ----

# A chantier code nobody else uses, even across parallel test files:
# unique_code() -> "CH-T12345-4"
sub unique_code {
    $seq++;
    return "CH-T$$-$seq";
}

# create_chantier(client_id => ..., and any other member of POST
# /api/admin/chantiers: chantier_id, title, start_date, planned_end_date),
# by the administrator.  By default a unique code, a title naming it, from
# 2026-03-01 to 2026-09-30.  Returns the fiche summary of the 201 answer
# (its "id" is the fiche's).  Dies unless the chantier was created.
sub create_chantier {
    my (%args) = @_;

    defined $args{client_id} or croak 'create_chantier: no client_id';

    my $code = $args{chantier_id} // unique_code();
    my %body = (
        chantier_id      => $code,
        title            => "Chantier $code",
        start_date       => '2026-03-01',
        planned_end_date => '2026-09-30',
        %args,
    );

    my $r = admin_client()->api(POST => 'admin/chantiers', \%body);

    $r->{status} == 201
        or croak "create_chantier: $r->{status} $r->{raw}";

    return $r->{json};
}

# delta('Texte'): the Quill Delta of that one line,
# {"ops":[{"insert":"Texte\n"}]}
sub delta { return { ops => [ { insert => "$_[0]\n" } ] } }

# publish($c, $fiche_id, 'Texte', finishing => \1, ...): POST
# fiches/{id}/posts as $c (an employee), the body delta('Texte') and the
# other members given.  Returns the post of the 201 answer; dies unless
# it was created.
sub publish {
    my ($c, $fiche_id, $text, %more) = @_;

    my $r = $c->api(POST => "fiches/$fiche_id/posts",
        { body => delta($text), %more });

    $r->{status} == 201
        or croak "publish on fiche $fiche_id: $r->{status} $r->{raw}";

    return $r->{json};
}

# fiche($c, $id): GET fiches/{id} as $c; returns (the fiche, {} unless
# there is one; its ETag; the answer), with a diagnostic unless 200
sub fiche {
    my ($c, $id) = @_;

    my $r = $c->api(GET => "fiches/$id");
    $r->{status} == 200
        or Test::More::diag("GET fiches/$id: $r->{status} $r->{raw}");

    return ($r->{json} // {}, $r->{headers}{etag}, $r);
}

# fiche_version($c, $id): the version of the fiche, as GET fiches/{id}
# answers it to $c
sub fiche_version {
    my ($c, $id) = @_;
    my ($doc) = fiche($c, $id);
    return $doc->{version};
}

# bumps($name, $fiche_id, sub { a change }): three checks, the fiche (as
# the administrator reads it) moved on by exactly one version, its ETag is
# the new version, and changed.  Returns what the sub returns.
sub bumps {
    my ($name, $fiche_id, $code) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my ($before, $etag_before) = fiche(admin_client(), $fiche_id);
    my @ret = $code->();
    my ($after, $etag_after) = fiche(admin_client(), $fiche_id);

    Test::More::is($after->{version}, ($before->{version} // 0) + 1,
        "$name: fiche version $before->{version} -> +1");
    Test::More::is($etag_after, qq("$after->{version}"),
        "$name: ETag is the new version");
    Test::More::isnt($etag_after, $etag_before, "$name: ETag changed");

    return wantarray ? @ret : $ret[0];
}

# no_change($name, $fiche_id, sub { ... }): two checks, the sub changed
# neither the version nor the ETag of the fiche.  Returns what it returns.
sub no_change {
    my ($name, $fiche_id, $code) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my ($before, $etag_before) = fiche(admin_client(), $fiche_id);
    my @ret = $code->();
    my ($after, $etag_after) = fiche(admin_client(), $fiche_id);

    Test::More::is($after->{version}, $before->{version},
        "$name: fiche version unchanged");
    Test::More::is($etag_after, $etag_before, "$name: ETag unchanged");

    return wantarray ? @ret : $ret[0];
}


# ---- database, Redis ----

sub sql_quote {
    my ($s) = @_;
    return 'null' unless defined $s;
    $s =~ s/'/''/g;
    return "'$s'";
}

# psql($sql): runs it as "chantier" on the test database (PG* environment)
# and returns the output, unaligned, tuples only, "|" between columns,
# without the final newline.  Dies when psql fails.
sub psql {
    my ($sql) = @_;

    my $out = _run_capture([qw(psql -X -q -A -t -v ON_ERROR_STOP=1 -f -)],
        $sql);
    chomp $out;
    return $out;
}

# psql_superuser($sql): the same as the stack's superuser (postgres), for
# what the application's role may not do (server settings)
sub psql_superuser {
    my ($sql) = @_;

    my $out = _run_capture([qw(psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres
                               -f -)], $sql);
    chomp $out;
    return $out;
}

# redis_cli(@args): a command to the test Redis, its output
sub redis_cli {
    my (@args) = @_;

    my $port = $ENV{REDIS_PORT} or croak 'REDIS_PORT is not set';
    my $out = _run_capture(['redis-cli', '-h', '127.0.0.1', '-p', $port,
        @args]);
    chomp $out;
    return $out;
}

sub _run_capture {
    my ($cmd, $stdin) = @_;

    require File::Temp;

    my $in = File::Temp->new;
    print $in $stdin // '';
    close $in;

    my $pid = open(my $fh, '-|') // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', $in->filename or die "stdin: $!";
        exec @$cmd or die "exec $cmd->[0]: $!";
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;

    $? == 0 or croak "@$cmd failed (status " . ($? >> 8) . ")"
        . (defined $stdin ? ":\n$stdin" : '');

    return $out;
}


# ---- stack control (outage tests, second nginx) ----

sub stack {
    my (@args) = @_;

    local $ENV{VAR} = var_dir() // croak 'CHANTIER_VAR is not set';
    my $script = repo_dir() . '/scripts/stack';

    # its output goes to stderr, not into the TAP stream
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>&', \*STDERR;
        exec $script, @args or die "exec $script: $!";
    }
    waitpid $pid, 0;
    $? == 0 or croak "scripts/stack @args failed";
    return 1;
}

sub stop_postgres  { stack('stop-postgres') }
sub start_postgres { stack('start-postgres') }
sub stop_redis     { stack('stop-redis') }
sub start_redis    { stack('start-redis') }
sub reload_nginx   { stack('reload-nginx') }

# a second nginx sharing the stack's PostgreSQL and Redis (a second node),
# on that port; stopped by stop_nginx2 or with the stack
sub start_nginx2   { stack('start-nginx2', $_[0]) }
sub stop_nginx2    { stack('stop-nginx2') }

# a free TCP port of 127.0.0.1, below the ephemeral range (as scripts/stack)
sub free_port {
    require IO::Socket::INET;

    for (1 .. 500) {
        my $port = 20000 + int(rand(12000));
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => $port, Proto => 'tcp', Listen => 1) or next;
        close $s;
        return $port;
    }

    croak 'no free port found';
}

# wait_until(sub { ... }, timeout => 10): polls until the sub returns true;
# returns its last value
sub wait_until {
    my ($check, %opts) = @_;

    my $deadline = time + ($opts{timeout} // 10);
    my $v;

    while (1) {
        $v = $check->();
        return $v if $v || time > $deadline;
        sleep($opts{interval} // 0.1);
    }
}


# The error log of the stack's nginx: error_log_size() is where it ends
# now, error_log_since($offset) its lines written since, and
# no_error_logged($offset, $name) the check that none of them is an
# [alert], [crit], [emerg] or "exited on signal" (a crash).
# worker_pids(): {pid => 1} for each worker of the stack's nginx (the
# children of its master); worker_fds(): their open file descriptors, all
# together (/proc/PID/fd), to see what requests leave behind.
# the workers of the stack's nginx, or of the one whose pid file is given
# (var_dir() . '/nginx2/run/nginx.pid': the second node)
sub worker_pids {
    my ($pidfile) = @_;

    open my $fh, '<', $pidfile // var_dir() . '/run/nginx.pid' or return {};
    my $master = <$fh>;
    close $fh;
    chomp $master;

    my %pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $sf, '<', $stat or next;
        my $line = <$sf> // next;
        close $sf;

        # pid (comm) state ppid ...
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        $pids{$pid} = 1 if $ppid == $master;
    }

    return \%pids;
}

sub worker_fds {
    my $n = 0;

    for my $pid (keys %{ worker_pids() }) {
        opendir my $d, "/proc/$pid/fd" or next;
        $n += grep { !/^\./ } readdir $d;
        closedir $d;
    }

    return $n;
}

sub error_log_file { return var_dir() . '/log/nginx-error.log' }

sub error_log_size { return -s error_log_file() // 0 }

sub error_log_since {
    my ($offset) = @_;

    open my $fh, '<', error_log_file() or return ();
    seek $fh, $offset, 0;
    return <$fh>;
}

sub no_error_logged {
    my ($offset, $name) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
        error_log_since($offset);

    my $ok = Test::More::is(scalar(@bad), 0, $name);
    Test::More::diag(join '', @bad[0 .. ($#bad < 9 ? $#bad : 9)]) unless $ok;
    return $ok;
}


# An error answer of SPEC section 5, as one subtest: the status, a JSON
# body {"error":{"code","message"}} and nothing else (but the members named
# in extra => [...]), the code (a string, or a regex), a message.  Returns
# the error object ({} when there is none).
sub is_error {
    my ($r, $status, $code, $name, %opts) = @_;

    my $e = {};

    Test::More::subtest("$name: $status $code" => sub {
        my $j = $r->{json};
        my @keys = ('error', @{ $opts{extra} // [] });

        Test::More::is($r->{status}, $status, 'status')
            or Test::More::diag(substr($r->{raw} // '', 0, 400));
        Test::More::like($r->{headers}{'content-type'} // '',
            qr{^application/json}, 'JSON content type');
        Test::More::ok(ref $j eq 'HASH' && ref $j->{error} eq 'HASH',
            '{"error":{...}}')
            or Test::More::diag(substr($r->{raw} // '', 0, 400));
        Test::More::is_deeply([sort keys %{ ref $j eq 'HASH' ? $j : {} }],
            [sort @keys], "members @keys");
        $e = ref $j eq 'HASH' && ref $j->{error} eq 'HASH' ? $j->{error} : {};
        Test::More::is_deeply([sort grep { $_ ne 'field' } keys %$e],
            ['code', 'message'], 'error has code and message');
        if (exists $opts{field}) {
            Test::More::is($e->{field}, $opts{field},
                'field ' . ($opts{field} // 'absent'));
        }
        Test::More::unlike($e->{message} // '', qr/\([a-z_.]+\)/,
            'the message names no field as the API spells it');
        if (ref $code) {
            Test::More::like($e->{code} // '', $code, 'error code');
        } else {
            Test::More::is($e->{code}, $code, 'error code');
        }
        Test::More::like($e->{message} // '', qr/\S/, 'a message');
    });

    return $e;
}


# ---- mail, SMS and the notifier (t/85-notifier.t) ----
#
#   my @mail = mail_to('x@example.test');   # messages of the Maildir to x
#   $mail[0]{subject}, {to}, {from}, {message_id}, {text}, {html}, {headers}
#   my @sms = sms_to('+33612345678');        # {to, text, received_at}
#   my $id = insert_notification(recipient_id => ..., fiche_id => ...,
#       event => 'post_created', channel => 'email', content => {...},
#       due_in => 0);                         # the row, as the module writes
#   push_notifications($id, ...);             # RPUSH chantier:notify:queue
#   my $row = notification_row($id);          # {state, attempts, ...}
#   stop_mail(); start_mail(); stop_notifier(); start_notifier();
#   kill_notifier();                          # kill -9
#   my $at = notifier_log_size(); notifier_log_since($at)  # its lines

sub stop_mail      { stack('stop-mail') }
sub start_mail     { stack('start-mail') }
sub stop_sms       { stack('stop-sms') }
sub start_sms      { stack('start-sms') }
sub stop_notifier  { stack('stop-notifier') }
sub start_notifier { stack('start-notifier') }
sub kill_notifier  { stack('kill-notifier') }

sub notifier_log_file { return var_dir() . '/log/notifier.log' }

sub notifier_log_size { return -s notifier_log_file() // 0 }

sub notifier_log_since {
    my ($offset) = @_;

    open my $fh, '<:encoding(UTF-8)', notifier_log_file() or return ();
    seek $fh, $offset // 0, 0;
    return <$fh>;
}

# insert_notification(recipient_id, fiche_id, event, channel, content,
# due_in (seconds from now, default 0), key): the id of the new row
sub insert_notification {
    my (%a) = @_;

    $seq++;
    my $key = $a{key} // "test:$$:$seq:" . int(rand(1e9));

    return psql(sprintf q{insert into chantier.notifications
            (recipient_id, fiche_id, event, channel, idempotency_key,
             content, due_at)
        values (%d, %d, %s, %s, %s, %s::jsonb,
                now() + make_interval(secs => %s))
        returning id},
        $a{recipient_id}, $a{fiche_id}, sql_quote($a{event} // 'post_created'),
        sql_quote($a{channel} // 'email'), sql_quote($key),
        sql_quote(json_encode($a{content})), $a{due_in} // 0);
}

sub push_notifications {
    my (@ids) = @_;
    return redis_cli('rpush', 'chantier:notify:queue', @ids);
}

# the row as a hash: state, attempts, last_error, sent (1 when sent_at is
# set), failing (seconds from first_failed_at to updated_at), due_in
sub notification_row {
    my ($id) = @_;

    my $json = psql(sprintf q{select json_build_object(
            'state', state, 'attempts', attempts, 'last_error', last_error,
            'sent', sent_at is not null,
            'failing', extract(epoch from updated_at - first_failed_at),
            'due_in', extract(epoch from due_at - now()))
        from chantier.notifications where id = %d}, $id);

    return json_decode($json) // {};
}

# every message of the stack's Maildir (VAR/mail/new and cur), parsed
sub maildir_messages {
    my @messages;

    for my $file (sort glob(var_dir() . '/mail/{new,cur}/*')) {
        open my $fh, '<:raw', $file or next;
        local $/;
        my $raw = <$fh>;
        close $fh;
        push @messages, _parse_mail($raw, $file);
    }

    return @messages;
}

# the messages whose envelope recipient (X-RcptTo) is that address
sub mail_to {
    my ($address) = @_;
    return grep { lc($_->{rcpt} // '') eq lc $address } maildir_messages();
}

# every SMS the stack's gateway kept (VAR/sms/*.json), then those to a number
sub sms_messages {
    my @sms;

    for my $file (sort glob(var_dir() . '/sms/*.json')) {
        open my $fh, '<:raw', $file or next;
        local $/;
        my $sms = json_decode(scalar <$fh>);
        close $fh;
        push @sms, { %$sms, file => $file } if ref $sms eq 'HASH';
    }

    return @sms;
}

sub sms_to {
    my ($number) = @_;
    return grep { ($_->{to} // '') eq $number } sms_messages();
}

# headers (unfolded, names lower-case; the subject and addresses decoded
# from RFC 2047) and the parts of a multipart/alternative message, decoded
# (quoted-printable or base64, then UTF-8) into text and html
sub _parse_mail {
    my ($raw, $file) = @_;

    require Encode;
    require MIME::QuotedPrint;
    require MIME::Base64;

    $raw =~ s/\r\n/\n/g;
    my ($head, $body) = split /\n\n/, $raw, 2;
    my %h = _mail_headers($head);

    my %m = (
        file       => $file,
        headers    => \%h,
        raw        => $raw,
        rcpt       => $h{'x-rcptto'},
        to         => Encode::decode('MIME-Header', $h{to} // ''),
        from       => Encode::decode('MIME-Header', $h{from} // ''),
        subject    => Encode::decode('MIME-Header', $h{subject} // ''),
        message_id => $h{'message-id'},
    );

    my ($boundary) = ($h{'content-type'} // '') =~ /boundary="?([^";]+)"?/;
    my @parts = $boundary
        ? grep { /\S/ && !/^--\s*$/ } split /^--\Q$boundary\E(?:--)?\n?/m,
              $body // ''
        : ($body // '');

    for my $part (@parts) {
        my ($ph, $pb) = $boundary ? split(/\n\n/, $part, 2) : ($head, $part);
        my %p = _mail_headers($ph // '');
        my $cte = lc($p{'content-transfer-encoding'} // '');
        $pb //= '';
        $pb = MIME::QuotedPrint::decode_qp($pb) if $cte eq 'quoted-printable';
        $pb = MIME::Base64::decode_base64($pb) if $cte eq 'base64';
        $pb = Encode::decode('UTF-8', $pb);
        $pb =~ s/\r\n/\n/g;
        my $type = ($p{'content-type'} // 'text/plain') =~ m{text/html}
            ? 'html' : 'text';
        $m{$type} = $pb;
        $m{"${type}_type"} = $p{'content-type'};
    }

    return \%m;
}

sub _mail_headers {
    my ($head) = @_;

    my %h;
    $head =~ s/\n[ \t]+/ /g;
    for my $line (split /\n/, $head) {
        my ($name, $value) = $line =~ /^([^:\s]+):\s*(.*)$/ or next;
        $h{lc $name} //= $value;
    }
    return %h;
}

package ChantierTest::Client;

# One browser: its own cookie jar and CSRF token.
#
#   my $c = ChantierTest::Client->new;
#   $c->login($login, $password);          # keeps cookie and csrf_token
#   $c->api(POST => 'fiches/1/posts', { body => ... });
#   $c->api(PATCH => 'posts/3', {...}, headers => { 'If-Match' => '"2"' });
#   $c->api(POST => 'x', {...}, csrf => undef);        # no X-CSRF-Token
#   $c->api(POST => 'x', {...}, csrf => 'forged');     # this one
#   $c->raw_request(POST => 'session', content => '{"login":',
#                   headers => { 'Content-Type' => 'application/json' });
#
# Answers: { status, reason, headers (lower-case names; a repeated header is
# an array ref), raw (body bytes), json (decoded, or undef), cookies }.

use strict;
use warnings;

use Carp qw(croak);
use HTTP::Tiny;

sub new {
    my ($class, %opts) = @_;

    my $self = bless {
        jar  => {},
        csrf => undef,
        http => HTTP::Tiny->new(
            agent         => 'chantier-tests',
            max_redirect  => 0,
            timeout       => $opts{timeout} // 30,
            keep_alive    => $opts{keep_alive} // 1,
            verify_SSL    => 0,
        ),
    }, $class;

    return $self;
}

sub csrf {
    my ($self, @v) = @_;
    $self->{csrf} = $v[0] if @v;
    return $self->{csrf};
}

# the value of a cookie in the jar, or undef
sub cookie {
    my ($self, $name) = @_;
    my $c = $self->{jar}{$name};
    return $c ? $c->{value} : undef;
}

sub set_cookie {
    my ($self, $name, $value) = @_;
    if (defined $value) {
        $self->{jar}{$name} = { value => $value, secure => 0 };
    } else {
        delete $self->{jar}{$name};
    }
}

sub clear_cookies { $_[0]{jar} = {} }

# POST /api/session; on 200 keeps csrf_token (the cookie is kept by the jar)
sub login {
    my ($self, $login, $password) = @_;

    my $r = $self->api(POST => 'session',
        { login => $login, password => $password });

    if ($r->{status} == 200 && ref $r->{json} eq 'HASH') {
        $self->{csrf} = $r->{json}{csrf_token};
    }

    return $r;
}

sub logout {
    my ($self) = @_;
    my $r = $self->api(DELETE => 'session');
    $self->{csrf} = undef;
    return $r;
}

# api($method, $path, $body, %opts): $body a hash/array ref (sent as JSON),
# a string (sent as is, Content-Type from content_type, JSON by default) or
# undef (no body).  Options: headers => {...}, content_type => '...',
# csrf => value or undef (default: the token of the login, on POST, PATCH,
# PUT and DELETE).
sub api {
    my ($self, $method, $path, $body, %opts) = @_;

    my %headers = (Accept => 'application/json');
    my $content;

    if (defined $body) {
        $content = ref $body ? ChantierTest::json_encode($body) : $body;
        $headers{'Content-Type'} = $opts{content_type}
            // 'application/json';
    }

    if ($method =~ /^(POST|PATCH|PUT|DELETE)$/) {
        my $csrf = exists $opts{csrf} ? $opts{csrf} : $self->{csrf};
        $headers{'X-CSRF-Token'} = $csrf if defined $csrf;
    }

    %headers = (%headers, %{ $opts{headers} // {} });

    return $self->raw_request($method, $path,
        headers => \%headers, content => $content);
}

# raw_request($method, $path, headers => {...}, content => $bytes): nothing
# added but the cookies of the jar (no CSRF header, no Content-Type)
sub raw_request {
    my ($self, $method, $path, %opts) = @_;

    my $url = ChantierTest::url($path);
    my %headers = %{ $opts{headers} // {} };

    my $cookie = $self->_cookie_header($url);
    if (defined $cookie && !grep { lc eq 'cookie' } keys %headers) {
        $headers{Cookie} = $cookie;
    }
    # undef values remove a header
    delete $headers{$_} for grep { !defined $headers{$_} } keys %headers;

    my %req = (headers => \%headers);
    $req{content} = $opts{content} if defined $opts{content};

    my $res = $self->{http}->request($method, $url, \%req);

    $self->_store_cookies($res->{headers}{'set-cookie'});

    my $r = {
        status  => $res->{status},
        reason  => $res->{reason},
        headers => $res->{headers},
        raw     => $res->{content} // '',
        json    => undef,
    };

    my $type = $res->{headers}{'content-type'} // '';
    if ($type =~ m{^application/json}i && length $r->{raw}) {
        $r->{json} = ChantierTest::json_decode($r->{raw});
    }

    return $r;
}

sub _cookie_header {
    my ($self, $url) = @_;

    my $https = $url =~ /^https:/;
    my @pairs;

    for my $name (sort keys %{ $self->{jar} }) {
        my $c = $self->{jar}{$name};
        next if $c->{secure} && !$https;      # as a browser would
        push @pairs, "$name=$c->{value}";
    }

    return @pairs ? join('; ', @pairs) : undef;
}

# Set-Cookie parsing sufficient for one host: name, value, Secure, Max-Age,
# Expires in the past (deletion).
sub _store_cookies {
    my ($self, $set) = @_;

    return unless defined $set;

    for my $line (ref $set ? @$set : ($set)) {
        my ($pair, @attrs) = split /;\s*/, $line;
        my ($name, $value) = $pair =~ /^\s*([^=]+?)\s*=\s*(.*?)\s*$/
            or next;

        my %a;
        for (@attrs) {
            my ($k, $v) = split /=/, $_, 2;
            $a{lc $k} = $v // 1;
        }

        my $gone = $value eq ''
            || (defined $a{'max-age'} && $a{'max-age'} <= 0)
            || (defined $a{expires} && _expired($a{expires}));

        if ($gone) {
            delete $self->{jar}{$name};
        } else {
            $self->{jar}{$name} = {
                value    => $value,
                secure   => exists $a{secure} ? 1 : 0,
                httponly => exists $a{httponly} ? 1 : 0,
                samesite => $a{samesite},
                path     => $a{path},
            };
        }
    }
}

# the raw attributes of a cookie as last set (secure, httponly, samesite,
# path), for tests of the Set-Cookie header itself
sub cookie_attrs {
    my ($self, $name) = @_;
    return $self->{jar}{$name};
}

sub _expired {
    my ($date) = @_;

    require Time::Local;

    my %mon;
    @mon{qw(jan feb mar apr may jun jul aug sep oct nov dec)} = (0 .. 11);

    my ($d, $m, $y, $H, $M, $S) =
        $date =~ /(\d{1,2})[ -](\w{3})[ -](\d{2,4}) (\d\d):(\d\d):(\d\d)/
        or return 0;
    $y += 1900 if $y < 100;
    my $t = eval {
        Time::Local::timegm($S, $M, $H, $d, $mon{lc $m}, $y)
    } // return 0;
    return $t <= time;
}

1;
