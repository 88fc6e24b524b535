# GET site (issue 10): what every page shows around its content, without a
# session: how to reach CLO, from chantier_contact_phone and
# chantier_contact_email (the test stack sets both); and the pages' files
# sent gzipped by gzip_static when the browser takes gzip.

use strict;
use warnings;
use utf8;

use Test::More;
use IO::Uncompress::Gunzip qw(gunzip);

use lib 't/lib';
use ChantierTest;

my $r = api(GET => 'site');
is $r->{status}, 200, 'GET site without a session: 200';
is_deeply $r->{json}, { contact => { phone => '01 84 60 12 34',
                                     email => 'contact@clo-renovation.fr' } },
    'the contact of the configuration';

# the sanitized nginx, built from Debian's source with its module flags
# only, has no gzip_static: the stack then leaves it out
my ($bin) = do {
    open my $fh, '<', var_dir() . '/stack.env' or die "stack.env: $!";
    map { /^NGINX_BIN=(.*)$/ ? $1 : () } <$fh>;
};
my $has_gzip_static = `$bin -V 2>&1` =~ /--with-http_gzip_static_module/;

SKIP: {
skip "$bin has no gzip_static", 6 unless $has_gzip_static;

for my $file (qw(/js/api.js /css/app.css /espace-client/index.html)) {
    my $plain = raw_request(GET => $file);
    my $gz = raw_request(GET => $file,
                         headers => { 'Accept-Encoding' => 'gzip' });
    is $gz->{headers}{'content-encoding'}, 'gzip', "$file: gzip";
    my $out;
    gunzip(\$gz->{raw}, \$out);
    ok defined $out && $out eq $plain->{raw}, "$file: the same bytes";
}
}

done_testing;
