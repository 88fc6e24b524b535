# Configuration errors (issue 2, item 4): "nginx -t" refuses a bad use of
# the module's directives with a clear message naming the file and line,
# and accepts a good configuration.  Small configurations are generated in
# a temporary directory under CHANTIER_VAR; nothing is started (nginx -t
# neither binds nor connects).

use strict;
use warnings;

use Test::More;
use File::Path qw(make_path remove_tree);

use lib 't/lib';
use ChantierTest;

my $nginx = $ENV{NGINX} // '/usr/sbin/nginx';
my $module = repo_dir() . '/build/ngx_http_chantier_module.so';

plan skip_all => "$nginx not found" unless -x $nginx;
plan skip_all => "$module not built" unless -f $module;

my $dir = var_dir() . "/conf-test-$$";
make_path("$dir/tmp", "$dir/html");

END { remove_tree($dir) if $dir && -d $dir && !$ENV{KEEP_CONF} }

my $N = 0;

my %good = (
    main     => "thread_pool chantier threads=2;",
    postgres => 'chantier_postgres'
                . ' "host=127.0.0.1 port=5432 dbname=chantier user=chantier";',
    redis    => 'chantier_redis 127.0.0.1:6379;',
    pool     => 'chantier_thread_pool chantier;',
    http     => '',
    server   => '',
    location => "location /api/ {\n"
                . "            chantier_api;\n"
                . "            chantier_cookie_secure off;\n"
                . "        }",
);

# A configuration from %good with some parts replaced; a part set to ''
# is left out.  The offending line may end with "#<-": its line number is
# returned with the file name.
sub conf {
    my (%parts) = @_;

    my %p = (%good, %parts);
    my $file = sprintf '%s/nginx-%02d.conf', $dir, ++$N;

    my $text = <<"EOF";
load_module $module;
pid $dir/nginx.pid;
error_log $dir/error.log;
$p{main}

events {
    worker_connections 64;
}

http {
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    access_log off;

    $p{postgres}
    $p{redis}
    $p{pool}
    $p{http}

    server {
        listen 127.0.0.1:8999;
        root $dir/html;
        $p{server}

        $p{location}
    }
}
EOF

    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;

    my $line;
    my @lines = split /\n/, $text;
    for my $i (0 .. $#lines) {
        if ($lines[$i] =~ /#<-\s*$/) {
            $line = $i + 1;
            last;
        }
    }

    return ($file, $line);
}

# nginx -t: (exit status, output)
sub nginx_t {
    my ($file) = @_;

    my $pid = open(my $fh, '-|') // die "fork: $!";

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec $nginx, '-t', '-p', "$dir/", '-e', "$dir/error.log",
            '-c', $file
            or die "exec $nginx: $!";
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;

    return ($? >> 8, $out);
}

# refused(name, [parts], qr/message/): nginx -t fails with an [emerg]
# matching the pattern, naming the file (and the marked line, if any)
sub refused {
    my ($name, $parts, $pattern, %opts) = @_;

    my ($file, $line) = conf(@$parts);
    my ($rc, $out) = nginx_t($file);

    isnt $rc, 0, "$name: nginx -t fails";
    like $out, qr/\[emerg\].*$pattern/, "$name: clear message"
        or diag "config $file:\n$out";

    my $where = defined $line ? qr/\Q$file\E:$line\b/ : qr/\Q$file\E:\d+/;
    like $out, $where, "$name: names the file"
        . (defined $line ? " and line $line" : '');
    unlike $out, qr/test is successful/, "$name: not reported successful";

    local $TODO = $opts{todo};
    like $out, qr/\[emerg\][^\n]*$pattern[^\n]* in \Q$file\E:\d+\n/,
        "$name: message and place on one line"
        or diag $out;
}

sub accepted {
    my ($name, $parts) = @_;

    my ($file) = conf(@$parts);
    my ($rc, $out) = nginx_t($file);

    is $rc, 0, "$name: nginx -t passes" or diag "config $file:\n$out";
    like $out, qr/test is successful/, "$name: test is successful";
    unlike $out, qr/\[(emerg|alert|crit)\]/, "$name: no error";
}


subtest 'accepted: nginx -t passes' => sub {
    accepted('good configuration', []);

    accepted('PostgreSQL over a unix socket directory',
        [postgres => 'chantier_postgres'
                     . ' "host=/var/run/postgresql dbname=chantier";']);

    accepted('PostgreSQL on ::1',
        [postgres => 'chantier_postgres "host=::1 dbname=chantier";']);

    accepted('PostgreSQL URI with an IP address',
        [postgres => 'chantier_postgres'
                     . ' "postgresql://chantier@127.0.0.1:5432/chantier";']);

    accepted('two PostgreSQL hosts, both IP addresses',
        [postgres => 'chantier_postgres'
                     . ' "host=127.0.0.1,127.0.0.2 dbname=chantier";']);

    accepted('Redis over a unix socket',
        [redis => 'chantier_redis unix:/var/run/redis/redis.sock;']);

    accepted('Redis without a port', [redis => 'chantier_redis 127.0.0.1;']);

    accepted('all the directives',
        [http => "chantier_postgres_pool_size 8;\n"
                 . "    chantier_postgres_timeout 3s;\n"
                 . "    chantier_redis_timeout 1500ms;\n"
                 . "    chantier_session_timeout 30m;\n"
                 . "    chantier_session_lifetime 8h;\n"
                 . "    chantier_retry_after 10;",
         location => "location /espace-client/api/ {\n"
                     . "            chantier_api;\n"
                     . "            chantier_cookie_path /espace-client/;\n"
                     . "            chantier_cookie_secure on;\n"
                     . "        }"]);

    accepted('the pool threads on CPU 0, or where the worker runs',
        [http => "chantier_thread_cpu_affinity 1;"]);
    accepted('chantier_thread_cpu_affinity off',
        [http => "chantier_thread_cpu_affinity off;"]);

    accepted('the thread pool "default" needs no thread_pool directive',
        [main => '', pool => '']);

    accepted('module loaded, chantier_api nowhere, nothing else configured',
        [postgres => '', redis => '', pool => '', location => '']);
};


subtest 'refused: nginx -t fails, saying where and why' => sub {
    # libpq's parse errors end with a newline, which the message repeats
    refused('PostgreSQL host name',
        [postgres => 'chantier_postgres'
                     . ' "host=db.example.com dbname=chantier"; #<-'],
        qr/db\.example\.com.*IP address.*(blocking )?DNS/);

    refused('PostgreSQL host name as the second host',
        [postgres => 'chantier_postgres'
                     . ' "host=127.0.0.1,db.example.com dbname=chantier"; #<-'],
        qr/db\.example\.com.*IP address.*DNS/);

    refused('PostgreSQL host name in a URI',
        [postgres => 'chantier_postgres'
                     . ' "postgresql://chantier@db.example.com/chantier"; #<-'],
        qr/db\.example\.com.*IP address.*DNS/);

    refused('conninfo that does not parse',
        [postgres => 'chantier_postgres "host=127.0.0.1 port"; #<-'],
        qr/conninfo/i);

    refused('conninfo with an unknown keyword',
        [postgres => 'chantier_postgres "host=127.0.0.1 colour=blue"; #<-'],
        qr/conninfo.*colour/i);

    refused('a CPU mask of other digits',
        [http => 'chantier_thread_cpu_affinity 12; #<-'],
        qr/"12" is not a mask of 0 and 1/);

    refused('a CPU mask of no CPU',
        [http => 'chantier_thread_cpu_affinity 000; #<-'],
        qr/"000" names none of the \d+ CPUs of this machine/);

    refused('a CPU mask naming CPUs this machine does not have',
        [http => 'chantier_thread_cpu_affinity 1' . ('0' x 200) . '; #<-'],
        qr/names none of the \d+ CPUs of this machine/);

    refused('a CPU mask longer than any machine',
        [http => 'chantier_thread_cpu_affinity 1' . ('0' x 1100) . '; #<-'],
        qr/a mask of 1101 digits, longer than the 1024 CPUs/);

    refused('chantier_api without chantier_postgres', [postgres => ''],
        qr/chantier_postgres/);

    refused('chantier_api without chantier_redis', [redis => ''],
        qr/chantier_redis/);

    refused('Redis host name',
        [redis => 'chantier_redis redis.example:6379; #<-'],
        qr/redis\.example.*IP address.*DNS/);

    refused('Redis address that does not parse',
        [redis => 'chantier_redis 127.0.0.1:99999; #<-'],
        qr/Redis address|invalid port/i);

    refused('chantier_api in a regex location',
        [location => "location ~ ^/api/ {\n"
                     . "            chantier_api; #<-\n"
                     . "        }"],
        qr/chantier_api.*prefix location/);

    refused('chantier_api in an exact location',
        [location => "location = /api/ {\n"
                     . "            chantier_api; #<-\n"
                     . "        }"],
        qr/chantier_api.*prefix location/);

    refused('chantier_api in a location without a final slash',
        [location => "location /api {\n"
                     . "            chantier_api; #<-\n"
                     . "        }"],
        qr/chantier_api.*prefix location/);

    refused('chantier_api twice',
        [location => "location /api/ {\n"
                     . "            chantier_api;\n"
                     . "            chantier_api; #<-\n"
                     . "        }"],
        qr/chantier_api.*duplicate/);

    refused('chantier_api with an argument',
        [location => "location /api/ {\n"
                     . "            chantier_api on; #<-\n"
                     . "        }"],
        qr/number of arguments.*chantier_api/);

    refused('unknown thread pool name',
        [pool => 'chantier_thread_pool nosuchpool;'],
        qr/nosuchpool/);

    refused('chantier_postgres_pool_size 0',
        [http => 'chantier_postgres_pool_size 0;'],
        qr/chantier_postgres_pool_size.*between 1 and 256/);

    refused('chantier_sessions_per_user 0',
        [http => 'chantier_sessions_per_user 0;'],
        qr/chantier_sessions_per_user.*between 1 and 1000/);

    refused('chantier_postgres_pool_size 1000',
        [http => 'chantier_postgres_pool_size 1000;'],
        qr/chantier_postgres_pool_size.*between 1 and 256/);

    refused('chantier_postgres_pool_size not a number',
        [http => 'chantier_postgres_pool_size many; #<-'],
        qr/invalid number|invalid value/);

    refused('chantier_postgres_timeout not a time',
        [http => 'chantier_postgres_timeout 5parsecs; #<-'],
        qr/invalid value|chantier_postgres_timeout/);

    refused('chantier_session_timeout 0',
        [http => 'chantier_session_timeout 0;'],
        qr/session/);

    refused('chantier_cookie_path without a leading slash',
        [location => "location /api/ {\n"
                     . "            chantier_api;\n"
                     . "            chantier_cookie_path api/; #<-\n"
                     . "        }"],
        qr/chantier_cookie_path.*must start with/);

    refused('chantier_cookie_path with a ";"',
        [location => "location /api/ {\n"
                     . "            chantier_api;\n"
                     . "            chantier_cookie_path"
                     . " \"/api/; Domain=evil\"; #<-\n"
                     . "        }"],
        qr/chantier_cookie_path/);

    refused('chantier_cookie_secure maybe',
        [location => "location /api/ {\n"
                     . "            chantier_api;\n"
                     . "            chantier_cookie_secure maybe; #<-\n"
                     . "        }"],
        qr/chantier_cookie_secure|invalid value/);

    refused('chantier_postgres twice',
        [http => 'chantier_postgres "host=127.0.0.2"; #<-'],
        qr/chantier_postgres.*duplicate/);

    refused('chantier_redis twice',
        [http => 'chantier_redis 127.0.0.2:6379; #<-'],
        qr/chantier_redis.*duplicate/);

    refused('chantier_postgres in a server block',
        [server => 'chantier_postgres "host=127.0.0.1"; #<-'],
        qr/"chantier_postgres" directive is not allowed here/);

    refused('chantier_api at the http level',
        [http => 'chantier_api; #<-'],
        qr/"chantier_api" directive is not allowed here/);
};

done_testing;
