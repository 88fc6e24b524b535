#!/usr/bin/perl
#
# GET fiches/{id}/pdf (SPEC §3 PDF, §5): the PDF of a fiche, read back
# with poppler-utils (pdftotext, pdfinfo, pdfimages); its pages rendered by
# pdftoppm are kept in var/test/ (pdf-export-*.png) for a person to look
# at.  The layout itself is tested by t/unit/pdf_test.c.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);


use lib 't/lib';
use ChantierTest;

for my $tool (qw(pdftotext pdfinfo pdfimages pdftoppm)) {
    system("command -v $tool > /dev/null") == 0
        or plan skip_all => "$tool missing (poppler-utils: scripts/install-deps)";
}

my $TOOL = repo_dir() . '/build/chantier-test-image';
my $dir = tempdir(CLEANUP => 1);

sub slurp {
    my ($file) = @_;
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub spit {
    my ($file, $bytes) = @_;
    open my $fh, '>:raw', $file or die "$file: $!";
    print {$fh} $bytes;
    close $fh;
}

my ($employee, $e) = client_for(role => 'employee');
my ($client, $cu) = client_for(role => 'client');
my ($other) = client_for(role => 'client');
my $fiche = create_chantier(client_id => $cu->{id},
                            title => "Cuisine : l\x{2019}\x{e9}tag\x{e8}re \x{ab} ch\x{ea}ne \x{bb}");

system($TOOL, 'orientation6-gps', "$dir/photo.jpg") == 0 or die 'test image';
my $photo = $employee->api(POST => "fiches/$fiche->{id}/photos",
                           slurp("$dir/photo.jpg"), content_type => 'image/jpeg')->{json};

my $first = $employee->api(POST => "fiches/$fiche->{id}/posts", { body => { ops => [
    { insert => "D\x{e9}molition termin\x{e9}e" }, { insert => "\n", attributes => { header => 2 } },
    { insert => "Co\x{fb}t des gravats : 1 250 \x{20ac}, \x{153}uvre faite.\n" },
    { insert => { image => "photo:$photo->{id}" }, attributes => { alt => 'La dalle' } },
    { insert => "\n" } ] } })->{json};
my $second = publish($employee, $fiche->{id}, "Pose du plan de travail report\x{e9}e");
my $third = publish($employee, $fiche->{id}, "Livraison de l\x{2019}\x{e9}lectrom\x{e9}nager");
$employee->api(PATCH => "posts/$second->{id}", { cancelled => \1 },
               headers => { 'If-Match' => qq("$second->{version}") });
$client->api(POST => "posts/$first->{id}/comments",
             { body => "Merci, tr\x{e8}s clair \x{ab} vraiment \x{bb}." });

my $r = $client->api(GET => "fiches/$fiche->{id}/pdf");
is $r->{status}, 200, 'the client exports: 200' or diag substr($r->{raw}, 0, 300);
is $r->{headers}{'content-type'}, 'application/pdf', 'application/pdf';
like $r->{headers}{'content-disposition'} // '',
    qr/^attachment; filename="fiche-\Q$fiche->{chantier_id}\E-\d{4}-\d\d-\d\d\.pdf"$/,
    'Content-Disposition: attachment; filename="fiche-<code>-<date>.pdf"';
is $r->{headers}{'content-length'}, length $r->{raw}, 'Content-Length';
like $r->{raw}, qr/^%PDF-/, 'a PDF';

my $pdf = "$dir/export.pdf";
spit($pdf, $r->{raw});

my $text = `pdftotext -enc UTF-8 $pdf - 2>/dev/null`;
utf8::decode($text);
$text =~ s/\s+/ /g;

like $text, qr/\Q$fiche->{chantier_id}\E/, 'the chantier code';
like $text, qr/\x{e9}tag\x{e8}re \x{ab}.?ch\x{ea}ne.?\x{bb}/, 'the title, accents and \x{ab} \x{bb}';
like $text, qr/1.250.\x{20ac}/, 'the euro sign';
like $text, qr/\x{153}uvre/, 'the \x{153} ligature';
like $text, qr/D\x{e9}molition termin\x{e9}e.*report.*Livraison/,
    'the posts in their order';
like $text, qr/Annul\x{e9}e/, 'the cancelled post is marked';
like $text, qr/tr\x{e8}s clair/, 'the comment';
like $text, qr/page 1 \/ \d+/, 'the page footer';

my $info = `pdfinfo $pdf 2>/dev/null`;
like $info, qr/Page size:\s+595(\.\d+)? x 841(\.\d+)? pts \(A4\)/, 'A4';

my $images = `pdfimages -list $pdf 2>/dev/null`;
my @rows = grep { /^\s*\d+\s+\d+\s+image/ } split /\n/, $images;
is scalar(@rows), 1, 'the photo is in it' or diag $images;

like $r->{raw}, qr{/URI\s*\([^)]*fiche\.html\?id=$fiche->{id}\)},
    'a link (URI annotation) to the live fiche';

# the pages, for a person to look at
my $keep = var_dir() . '/pdf-export';
system('pdftoppm', '-png', '-r', '60', $pdf, $keep) == 0
    or diag 'pdftoppm failed';
ok glob("$keep-*.png"), "its pages are kept in $keep-*.png";

# rendered once per version (and day): the worker's cache serves the rest
sub renders_logged {
    my $log = slurp(var_dir() . '/log/nginx-error.log');
    my @n = $log =~ /PDF of fiche $fiche->{id}, version \d+, rendered/g;
    return scalar @n;
}

my $renders = renders_logged();
ok $renders >= 1, "the export was rendered ($renders so far)";
my @again = map { $client->api(GET => "fiches/$fiche->{id}/pdf") } 1 .. 4;
is_deeply [ map { $_->{status} } @again ], [ (200) x 4 ], 'four exports more: 200';
ok renders_logged() <= $renders + 1,
    'the same version is not rendered again (at most once more: the other'
    . ' worker) ' . (renders_logged() - $renders);
is $again[0]{raw} eq $r->{raw} || $again[1]{raw} eq $r->{raw}, 1,
    'the same bytes';

publish($employee, $fiche->{id}, 'Une publication de plus');
my $after = renders_logged();
my $new = $client->api(GET => "fiches/$fiche->{id}/pdf");
is $new->{status}, 200, 'after a new post: 200';
is renders_logged(), $after + 1, 'a new version is rendered';
isnt $new->{raw}, $r->{raw}, 'and differs';

# exports asked at once: one rendering per worker, the others wait for it;
# a client that goes away while it waits leaves nothing behind
{
    publish($employee, $fiche->{id}, 'Encore une publication');
    my $before = renders_logged();
    my $fds = worker_fds();
    my $twin = twin($client);

    # one of them gives up at once: its socket reset (SO_LINGER 0)
    my @status = parallel(
        (map { sub { $twin->api(GET => "fiches/$fiche->{id}/pdf") } } 1 .. 8),
        sub {
            my ($port) = url('/') =~ m{:(\d+)/};
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port)
                or return { status => 'no socket' };
            my $cookie = $client->cookie('chantier_session');
            print {$s} "GET /api/fiches/$fiche->{id}/pdf HTTP/1.1\r\n"
                . "Host: 127.0.0.1\r\nCookie: chantier_session=$cookie\r\n\r\n";
            select(undef, undef, undef, 0.01);
            setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
            close $s;
            return { status => 'reset' };
        });
    is_deeply \@status, [ ((200) x 8), 'reset' ],
        'eight exports of a new version at once: 200';
    my $renders_now = renders_logged() - $before;
    ok $renders_now >= 1 && $renders_now <= 2,
        "rendered once per worker at most ($renders_now), not once per"
        . ' request';
    ok wait_until(sub { worker_fds() <= $fds }, timeout => 5),
        'the workers hold no more descriptors than before'
        or diag 'fds ' . worker_fds() . " (before $fds)";
}

is $employee->api(GET => "fiches/$fiche->{id}/pdf")->{status}, 200,
    'an employee exports too';
is $other->api(GET => "fiches/$fiche->{id}/pdf")->{status}, 404,
    'another client: 404';
my $anonymous = ChantierTest::Client->new;
is $anonymous->api(GET => "fiches/$fiche->{id}/pdf")->{status}, 401,
    'no session: 401';
is $employee->api(GET => 'fiches/999999999/pdf')->{status}, 404,
    'a fiche that does not exist: 404';

# The photos' bytes an export holds are bounded: display renderings while
# they fit the budget (24 MB; a test budget here), thumbnails past it.
{
    my $more = $employee->api(POST => "fiches/$fiche->{id}/photos",
        slurp("$dir/photo.jpg"), content_type => 'image/jpeg')->{json};
    publish_photos($more->{id});
    my $budget = psql("select length(bytes) from chantier.photo_renderings"
                      . " where photo_id = $photo->{id} and size = 'display'");
    # which rendering each row is: by its bytes
    my $which = sub {
        my ($budget_sql) = @_;
        return [ split /\n/, psql("select r.size"
            . "  from api.fiche_photos($fiche->{id}$budget_sql) as p"
            . "  join chantier.photo_renderings as r"
            . "    on r.photo_id = p.id::bigint and r.bytes = p.bytes"
            . " order by p.id::bigint") ];
    };
    is psql("select count(distinct bytes) from chantier.photo_renderings"
            . " where photo_id = $more->{id}"), 2,
        'the two renderings differ';
    is_deeply $which->(", $budget"), ['display', 'thumb'],
        'past the budget: the thumbnail';
    is_deeply $which->(''), ['display', 'display'],
        'within 24 MB: both display';
}

sub publish_photos {
    my (@ids) = @_;
    my $r = $employee->api(POST => "fiches/$fiche->{id}/posts", { body => {
        ops => [ { insert => "Suite\n" },
                 map({ { insert => { image => "photo:$_" } } } @ids),
                 { insert => "\n" } ] } });
    $r->{status} == 201 or diag "publish photos: $r->{raw}";
}

done_testing;
