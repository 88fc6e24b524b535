# Every npm package of the lock runs on Debian 12's Node.js (18.19), the
# one a fresh machine gets (SPEC section 6).  Our own machines carry a
# newer Node, which would hide a dependency that needs 20: the lock says
# what each package's "engines" accepts, so check it here rather than wait
# for a fresh install to fail.  Needs no stack.

use strict;
use warnings;

use Test::More;
use JSON::PP;

my $DEBIAN_NODE = '18.19.0';

open my $fh, '<', 'package-lock.json' or die "package-lock.json: $!";
my $lock = decode_json(do { local $/; <$fh> });
close $fh;

my $package = do {
    open my $p, '<', 'package.json' or die "package.json: $!";
    decode_json(do { local $/; <$p> });
};

# "18.19.0" -> [18, 19, 0]
sub version { my @v = split /\./, shift; push @v, 0 while @v < 3; [@v[0 .. 2]] }

sub compare {
    my ($a, $b) = @_;
    for my $i (0 .. 2) {
        return $a->[$i] <=> $b->[$i] if $a->[$i] != $b->[$i];
    }
    return 0;
}

# The forms npm packages write: ">=18", ">=14.17.0", "^18.0.0 || >=20",
# "*", ">=12 <22".  Anything else is reported rather than guessed.
sub accepts {
    my ($range, $have) = @_;

    for my $alternative (split /\s*\|\|\s*/, $range) {
        # ">= 12.0.0": an operator may stand apart from its version
        $alternative =~ s{([<>=^~])\s+}{$1}g;

        my $ok = 1;

        for my $term (split ' ', $alternative) {
            if ($term eq '*' || $term eq 'x') {
                next;
            } elsif ($term =~ /^>=\s*v?([\d.]+)$/) {
                $ok &&= compare($have, version($1)) >= 0;
            } elsif ($term =~ /^>\s*v?([\d.]+)$/) {
                $ok &&= compare($have, version($1)) > 0;
            } elsif ($term =~ /^<\s*v?([\d.]+)$/) {
                $ok &&= compare($have, version($1)) < 0;
            } elsif ($term =~ /^<=\s*v?([\d.]+)$/) {
                $ok &&= compare($have, version($1)) <= 0;
            } elsif ($term =~ /^\^v?(\d+)[\d.x]*$/) {
                $ok &&= $have->[0] == $1;
            } else {
                return undef;
            }
        }

        return 1 if $ok;
    }

    return 0;
}

my $have = version($DEBIAN_NODE);

ok defined $package->{engines}{node}
    && accepts($package->{engines}{node}, $have),
    "package.json says it runs on Node $DEBIAN_NODE";

my $checked = 0;

for my $path (sort keys %{ $lock->{packages} }) {
    next if $path eq '';

    my $range = $lock->{packages}{$path}{engines}{node} // next;
    my $verdict = accepts($range, $have);
    $checked++;

    ok $verdict, "$path (engines.node \"$range\") runs on Node $DEBIAN_NODE"
        . (defined $verdict ? '' : ': range not understood, check it by hand');
}

ok $checked > 0, "the lock names engines ($checked packages)";

# the range reader itself, on what it must refuse
is accepts('>=20', $have), 0, 'reader: >=20 refuses 18.19';
is accepts('^20.0.0 || >=22', $have), 0, 'reader: ^20 || >=22 refuses 18.19';
is accepts('>=16 <18', $have), 0, 'reader: >=16 <18 refuses 18.19';
is accepts('^18.0.0 || >=20', $have), 1, 'reader: ^18 || >=20 takes 18.19';

done_testing;
