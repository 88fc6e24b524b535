#!/usr/bin/perl
#
# Photos (SPEC §3, §5): POST fiches/{id}/photos, GET photos/{id}, photos
# in posts.  The images are made by build/chantier-test-image (libvips),
# which also reads back pixels and metadata of what the server answers:
# the checks look at pixels and at every metadata block, not only sizes.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);

use lib 't/lib';
use ChantierTest;

my $TOOL = repo_dir() . '/build/chantier-test-image';
-x $TOOL or BAIL_OUT("$TOOL not built (make all)");

my $dir = tempdir(CLEANUP => 1);

sub make_image {
    my ($kind, $ext) = @_;
    my $file = "$dir/$kind.$ext";
    system($TOOL, $kind, $file) == 0 or die "chantier-test-image $kind failed";
    return slurp($file);
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub spit {
    my ($bytes, $name) = @_;
    my $file = "$dir/$name";
    open my $fh, '>:raw', $file or die "$file: $!";
    print {$fh} $bytes;
    close $fh;
    return $file;
}

# "format width height bands has_alpha exif=0|1 xmp=0|1 icc=0|1 gps=0|1"
sub info {
    my ($bytes) = @_;
    my $file = spit($bytes, 'info.bin');
    my $out = `$TOOL info $file`;
    my @f = split ' ', $out;
    my %i = (format => $f[0], width => $f[1], height => $f[2],
             bands => $f[3], has_alpha => $f[4]);
    $i{$1} = $2 while $out =~ /(\w+)=(\d)/g;
    return \%i;
}

sub pixel {
    my ($bytes, $x, $y) = @_;
    my $file = spit($bytes, 'pixel.bin');
    my @rgb = split ' ', `$TOOL probe $file $x $y`;
    return \@rgb;
}

sub reddish  { my ($p) = @_; $p->[0] > 150 && $p->[1] < 100 && $p->[2] < 100 }
sub blueish  { my ($p) = @_; $p->[2] > 150 && $p->[0] < 100 && $p->[1] < 100 }

sub upload {
    my ($c, $fiche_id, $bytes, $type) = @_;
    return $c->api(POST => "fiches/$fiche_id/photos", $bytes,
                   content_type => $type // 'image/jpeg');
}

my ($employee) = client_for(role => 'employee');
my ($client, $client_user) = client_for(role => 'client');
my ($other) = client_for(role => 'client');
my $fiche = create_chantier(client_id => $client_user->{id});
my $other_fiche = create_chantier(client_id => create_user(role => 'client')->{id});

my $oriented = make_image('orientation6-gps', 'jpg');
my $alpha = make_image('alpha', 'png');
my $bomb = make_image('bomb', 'png');
my $truncated = make_image('truncated', 'jpg');

subtest 'the test images are what they claim' => sub {
    my $i = info($oriented);
    is $i->{exif}, 1, 'the oriented JPEG has EXIF';
    is $i->{gps}, 1, 'and GPS tags';
    ok length($bomb) < 200_000, 'the 60 MP PNG is small: ' . length($bomb) . ' bytes';
};

my ($photo, $photo_thumb_etag);

subtest 'a JPEG with orientation 6 and GPS: upright, and no metadata at all' => sub {
    my $r = upload($employee, $fiche->{id}, $oriented);
    is $r->{status}, 201, 'uploaded: 201' or diag $r->{raw};
    $photo = $r->{json};
    ok $photo->{id}, 'an id';

    # stored 600 x 400 with orientation 6: shown 400 x 600
    is_deeply [ $photo->{width}, $photo->{height} ], [ 400, 600 ],
        'the answer gives the upright size';

    my $d = $employee->api(GET => "photos/$photo->{id}?size=display");
    is $d->{status}, 200, 'GET display: 200';
    is $d->{headers}{'content-type'}, 'image/jpeg', 'image/jpeg';
    is $d->{headers}{'content-length'}, length($d->{raw}),
        'Content-Length is the length of the bytes';
    like $d->{headers}{'cache-control'}, qr/private.*max-age=31536000.*immutable/,
        'Cache-Control: private, a year, immutable';

    my $i = info($d->{raw});
    is_deeply [ @$i{qw(width height)} ], [ 400, 600 ], 'the bytes are 400 x 600';
    is $i->{exif}, 0, 'no EXIF';
    is $i->{gps}, 0, 'no GPS';
    is $i->{xmp}, 0, 'no XMP';
    is $i->{icc}, 0, 'no ICC profile';
    unlike $d->{raw}, qr/Exif/, 'no "Exif" anywhere in the bytes';

    # the tool's image: stored top half red, bottom half blue; rotated 90°
    # clockwise for display, the red half is on the right
    ok reddish(pixel($d->{raw}, 350, 300)), 'the right side is red (rotated)'
        or diag "@{ pixel($d->{raw}, 350, 300) }";
    ok blueish(pixel($d->{raw}, 50, 300)), 'the left side is blue (rotated)'
        or diag "@{ pixel($d->{raw}, 50, 300) }";

    my $t = $employee->api(GET => "photos/$photo->{id}?size=thumb");
    is $t->{status}, 200, 'GET thumb: 200';
    my $ti = info($t->{raw});
    ok $ti->{width} <= 480 && $ti->{height} <= 480, "thumb within 480 px: $ti->{width} x $ti->{height}";
    is $ti->{exif}, 0, 'thumb: no EXIF';
    $photo_thumb_etag = $t->{headers}{etag};
    like $photo_thumb_etag, qr/^"[0-9a-f]{64}"$/, 'ETag: the SHA-256 of the bytes';

    my $again = $employee->api(GET => "photos/$photo->{id}?size=thumb",
                               undef, headers => { 'If-None-Match' => $photo_thumb_etag });
    is $again->{status}, 304, 'If-None-Match: 304';
    is $again->{raw}, '', '304: no body';

    is $employee->api(GET => "photos/$photo->{id}?size=huge")->{status}, 400,
        'size=huge: 400';
};

subtest 'a PNG with transparency stays a PNG with alpha' => sub {
    my $r = upload($employee, $fiche->{id}, $alpha, 'image/png');
    is $r->{status}, 201, 'uploaded: 201' or diag $r->{raw};
    my $d = $employee->api(GET => "photos/$r->{json}{id}");
    is $d->{headers}{'content-type'}, 'image/png', 'image/png';
    is info($d->{raw})->{has_alpha}, 1, 'with alpha';
};

subtest 'refusals: 60 MP bomb, text, truncated, wrong users, too large' => sub {
    my $hwm_before = workers_peak_kib();

    my $r = upload($employee, $fiche->{id}, $bomb, 'image/png');
    is $r->{status}, 413, '60 MP PNG: 413' or diag $r->{raw};
    is $r->{json} && $r->{json}{error}{code}, 'image_too_large', 'image_too_large';

    my $hwm_after = workers_peak_kib();
    ok $hwm_after - $hwm_before < 50 * 1024,
        'the workers did not allocate its pixels (peak memory up '
        . int(($hwm_after - $hwm_before) / 1024) . ' MiB; 180 MiB if decoded)';

    $r = upload($employee, $fiche->{id}, "Ceci n'est pas une photo.\n" x 20);
    is $r->{status}, 415, 'text sent as image/jpeg: 415';
    is $r->{json} && $r->{json}{error}{code}, 'unsupported_media_type', 'unsupported_media_type';

    $r = upload($employee, $fiche->{id}, $truncated);
    is $r->{status}, 400, 'truncated JPEG: 400';
    is $r->{json} && $r->{json}{error}{code}, 'invalid_image', 'invalid_image';

    is upload($client, $fiche->{id}, $oriented)->{status}, 403,
        'a client uploads: 403';
    is upload(ChantierTest::Client->new, $fiche->{id}, $oriented)->{status}, 401,
        'no session: 401';
    is upload($employee, 999_999_999, $oriented)->{status}, 404,
        'a fiche that does not exist: 404';

    $r = upload($employee, $fiche->{id}, 'x' x (25 * 1024 * 1024 + 1));
    is $r->{status}, 413, 'over 25 MiB: 413';

    $r = upload($employee, $fiche->{id}, '');
    is $r->{status}, 400, 'empty body: 400';
};

subtest 'photos in posts: access, other fiches, deletion, the sweep' => sub {
    is $client->api(GET => "photos/$photo->{id}")->{status}, 404,
        'the fiche\'s client, before a post shows the photo: 404';

    my $p = $employee->api(POST => "fiches/$fiche->{id}/posts", { body => { ops => [
        { insert => "La dalle est coulée.\n" },
        { insert => { image => "photo:$photo->{id}" },
          attributes => { alt => 'La dalle, côté jardin' } },
        { insert => "\n" } ] } });
    is $p->{status}, 201, 'a post with the photo: 201' or diag $p->{raw};
    is_deeply $p->{json}{photos}, [ { id => $photo->{id}, width => 400, height => 600 } ],
        'the post lists its photo with its size';

    my $c = $client->api(GET => "photos/$photo->{id}?size=thumb");
    is $c->{status}, 200, 'the fiche\'s client now sees it';
    is $other->api(GET => "photos/$photo->{id}")->{status}, 404,
        'another client: 404';

    my ($doc) = fiche($client, $fiche->{id});
    my ($shown) = grep { $_->{id} == $p->{json}{id} } @{ $doc->{posts} };
    is_deeply $shown->{photos}, $p->{json}{photos}, 'the fiche document lists it too';

    my $elsewhere = upload($employee, $other_fiche->{id}, $oriented)->{json};
    my $bad = $employee->api(POST => "fiches/$fiche->{id}/posts", { body => { ops => [
        { insert => { image => "photo:$elsewhere->{id}" } }, { insert => "\n" } ] } });
    is $bad->{status}, 400, 'a photo of another fiche: 400';
    like $bad->{raw}, qr/photo $elsewhere->{id}/, 'the message names it';

    $bad = $employee->api(POST => "fiches/$fiche->{id}/posts", { body => { ops => [
        { insert => { image => "photo:$photo->{id}" } }, { insert => "\n" } ] } });
    is $bad->{status}, 400, 'a photo already in another post: 400';

    $bad = $employee->api(POST => "fiches/$fiche->{id}/posts", { body => { ops => [
        { insert => { image => "photo:999999999" } }, { insert => "\n" } ] } });
    is $bad->{status}, 400, 'a photo that does not exist: 400';

    $bad = $employee->api(POST => "fiches/$other_fiche->{id}/posts", { body => { ops => [
        { insert => { image => "photo:$elsewhere->{id}" }, attributes => { alt => 'é' x 201 } },
        { insert => "\n" } ] } });
    is $bad->{status}, 400, 'an alt of 201 characters: 400';

    my $only = $employee->api(POST => "fiches/$other_fiche->{id}/posts", { body => { ops => [
        { insert => { image => "photo:$elsewhere->{id}" } }, { insert => "\n" } ] } });
    is $only->{status}, 201, 'a post of a photo only: 201' or diag $only->{raw};

    is $employee->api(DELETE => "posts/$p->{json}{id}")->{status}, 204, 'the post deleted';
    is $employee->api(GET => "photos/$photo->{id}")->{status}, 404,
        'its photo is gone with it';
    is psql("select count(*) from chantier.photo_renderings where photo_id = $photo->{id}"), 0,
        'and its renderings';

    my $orphan = upload($employee, $fiche->{id}, $oriented)->{json};
    is psql("select api.photos_sweep()") + 0, 0, 'the sweep keeps a photo uploaded just now';
    is $employee->api(GET => "photos/$orphan->{id}")->{status}, 200, 'it is still there';
    psql("update chantier.photos set uploaded_at = now() - interval '25 hours'"
         . " where id = $orphan->{id}");
    ok psql("select api.photos_sweep()") >= 1, 'the sweep removes it 25 h after its upload';
    is $employee->api(GET => "photos/$orphan->{id}")->{status}, 404, 'gone';
    is $employee->api(GET => "photos/$elsewhere->{id}")->{status}, 200,
        'the photo of a published post stays, however old';
};

# Clients that go away: half-way through the body, or right after sending
# it all (the photo is then being processed in a pool thread).  Nothing may
# stay: descriptors of the workers, or a photo without both renderings.
subtest 'uploads whose client resets the connection leave nothing' => sub {
    my $camera = make_image('camera', 'jpg');
    my ($port) = url('/') =~ m{:(\d+)/};
    my $cookie = 'chantier_session=' . $employee->cookie('chantier_session');
    my $head = "POST /api/fiches/$fiche->{id}/photos HTTP/1.1\r\nHost: x\r\n"
        . "Cookie: $cookie\r\nX-CSRF-Token: " . $employee->csrf . "\r\n"
        . "Content-Type: image/jpeg\r\nContent-Length: " . length($camera)
        . "\r\n\r\n";

    $employee->api(GET => 'me') for 1 .. 4;
    my $before = worker_fds();

    for my $part (0.5, 1) {
        for (1 .. 6) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port, Proto => 'tcp')
                or die "connect: $!";
            print {$s} $head, substr($camera, 0, int(length($camera) * $part));
            setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) or die $!;
            close $s;
        }
    }

    # the uploads that were whole finish their processing meanwhile
    my $after = wait_until(sub { worker_fds() <= $before + 2 }, timeout => 20);
    ok $after, 'no descriptor left behind'
        or diag "before $before, after " . worker_fds();
    is psql('select count(*) from chantier.photos as ph'
            . ' where (select count(*) from chantier.photo_renderings as r'
            . '         where r.photo_id = ph.id) <> 2'), 0,
        'every stored photo has its two renderings';
    is upload($employee, $fiche->{id}, $oriented)->{status}, 201,
        'the next upload is served';
};

# the peak resident memory (VmHWM) of the workers, summed, in KiB
sub workers_peak_kib {
    my $sum = 0;
    for my $pid (keys %{ worker_pids() }) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) { $sum += $1 if /^VmHWM:\s+(\d+)/ }
    }
    return $sum;
}

done_testing;
