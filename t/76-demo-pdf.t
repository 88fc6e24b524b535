#!/usr/bin/perl
#
# The PDF of the demo fiches (issue 11): make run's demo data (db/demo.sql,
# and its photos published through the API by scripts/demo-photos) loaded
# into the test database, then the fiches exported as their clients would.
# Their pages, rendered by pdftoppm, are kept in var/test/ for a person to
# look at: pdf-demo-CH-2026-0042-*.png (formatting, a cancelled post,
# threads four levels deep) and pdf-demo-CH-2026-0064-*.png (photos).

use strict;
use warnings;
use utf8;

use Test::More;
use File::Temp qw(tempdir);

use lib 't/lib';
use ChantierTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

for my $tool (qw(pdftotext pdfinfo pdfimages pdftoppm)) {
    system("command -v $tool > /dev/null") == 0
        or plan skip_all => "$tool missing (poppler-utils: scripts/install-deps)";
}

my $repo = repo_dir();
my $dir = tempdir(CLEANUP => 1);

sub run_quiet {
    my (@cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        exec @cmd or die "exec $cmd[0]: $!";
    }
    waitpid $pid, 0;
    return $? == 0;
}

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

sub text_of {
    my ($pdf) = @_;
    open my $fh, '-|', 'pdftotext', '-enc', 'UTF-8', $pdf, '-'
        or die "pdftotext: $!";
    local $/;
    my $text = <$fh>;
    utf8::decode($text);
    return $text;
}

ok run_quiet(qw(psql -X -q -v ON_ERROR_STOP=1 -f), "$repo/db/demo.sql"),
    'db/demo.sql loads';
ok run_quiet("$repo/build/chantier-test-image", 'demo', "$dir/photos"),
    'the demo pictures are drawn';
ok run_quiet("$repo/scripts/demo-photos", url('/'), "$dir/photos"),
    'and published through the API';

# export($login, $code): the PDF of that client's fiche, its text, its
# page count, and its pages kept as var/test/pdf-demo-<code>-N.png
sub export {
    my ($login, $code) = @_;

    my $c = client();
    is $c->login($login, 'chantier-demo')->{status}, 200, "$login logs in";
    my ($fiche) = grep { $_->{chantier_id} eq $code }
        @{ $c->api(GET => 'fiches')->{json} // [] };
    ok $fiche, "$login sees $code" or return;

    my $r = $c->api(GET => "fiches/$fiche->{id}/pdf");
    is $r->{status}, 200, "$code: PDF 200" or return;
    my $pdf = "$dir/$code.pdf";
    spit($pdf, $r->{raw});

    my $keep = var_dir() . "/pdf-demo-$code";
    unlink glob "$keep-*.png";
    ok run_quiet('pdftoppm', '-png', '-r', '60', $pdf, $keep),
        "$code: pages rendered to $keep-*.png";

    my ($pages) = `pdfinfo $pdf` =~ /^Pages:\s+(\d+)/m;
    is scalar(my @png = glob "$keep-*.png"), $pages,
        "$code: one picture per page ($pages)";

    return { pdf => $pdf, text => text_of($pdf), pages => $pages };
}

my $kitchen = export('dupont', 'CH-2026-0042');
if ($kitchen) {
    my $t = $kitchen->{text};
    like $t, qr/Rénovation cuisine/, 'the kitchen: its title';
    like $t, qr/Jean Dupont/, 'its client';
    like $t, qr/Démarrage du chantier/, 'its first post';
    like $t, qr/Annulée/, 'its cancelled post, marked';
    like $t, qr/CH-2026-0042 — page 1 \/ \d+/, 'the running footer';
    cmp_ok $kitchen->{pages}, '>=', 2, 'more than a page';
}

my $extension = export('martin', 'CH-2026-0064');
if ($extension) {
    my @images = grep { /^\s*\d+\s+\d+\s+image/ }
        split /\n/, `pdfimages -list $extension->{pdf}`;
    is scalar(@images), 6, 'the extension: its 6 photos';
    like $extension->{text}, qr/Extension en ossature bois/, 'its title';
}

done_testing;
