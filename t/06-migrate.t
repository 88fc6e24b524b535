# db/migrate and the layout of db/: numbered migrations for the schema,
# db/api/*.sql for the current text of the api functions, re-applied when
# their checksum changes.
#
# The static checks read the files of this checkout.  The runs use a copy
# of db/ under CHANTIER_VAR (so that a test can change a file) and a scratch
# database, created by the superuser of the test stack and dropped at the
# end; the test database itself is not touched.

use strict;
use warnings;

use Test::More;
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use POSIX ();

use lib 't/lib';
use ChantierTest;

my $repo = repo_dir();
my @api_files = sort glob "$repo/db/api/*.sql";
my @migrations = sort glob "$repo/db/migrations/[0-9][0-9][0-9][0-9]_*.sql";

sub slurp {
    my ($path) = @_;
    open my $fh, '<:encoding(UTF-8)', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($path, $text) = @_;
    open my $fh, '>:encoding(UTF-8)', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

sub without_comments {
    my ($sql) = @_;
    $sql =~ s/--[^\n]*//g;
    return $sql;
}

sub base { my ($path) = @_; $path =~ s{.*/}{}; return $path }


# ---- the layout ----

ok @api_files >= 2, 'db/api holds the functions';
ok -e "$repo/db/api/common.sql", 'db/api/common.sql exists';

# Every function is created in one place, in a re-runnable way.
my %defined;        # "api.name(arguments)" -> [files]
my %file_of;        # "api.name" -> {file => 1}

for my $path (@api_files) {
    my $file = base($path);
    my $sql = without_comments(slurp($path));

    like $file, qr/^[a-z0-9_]+\.sql$/, "$file: a name migrate accepts";
    unlike $sql, qr/^\s*create\s+function\b/mi,
        "$file: \"create or replace function\" only (it runs again)";
    unlike $sql, qr/^\s*(begin|commit|rollback)\s*;/mi,
        "$file: no transaction control (migrate wraps the file)";

    while ($sql =~ /create\s+or\s+replace\s+function\s+(api\.\w+)\s*
                    \(([^)]*)\)/gix) {
        my ($name, $args) = ($1, $2);
        (my $types = $args) =~ s/\s+default\s+[^,]*//gi;
        $types = join ',', map { s/^\s*\w+\s+//r =~ s/\s+/ /gr =~ s/ $//r }
                           split /,/, $types;
        push @{ $defined{"$name($types)"} }, $file;
        $file_of{$name}{$file} = 1;
    }
}

ok scalar(keys %defined) > 0, 'functions found in db/api';
is_deeply [grep { @{ $defined{$_} } > 1 } sort keys %defined], [],
    'no api function is created twice in db/api';

# The migrations hold the schema: no api function is created there.
for my $path (@migrations) {
    unlike without_comments(slurp($path)),
        qr/create\s+(or\s+replace\s+)?function\s+api\./i,
        base($path) . ': no api function (they live in db/api)';
}

# Apart from common.sql, a file calls only common.sql's functions and its
# own: common.sql is applied first, the others in any order.
for my $path (@api_files) {
    my $file = base($path);
    next if $file eq 'common.sql';

    my %called = map { $_ => 1 }
                 without_comments(slurp($path)) =~ /\b(api\.\w+)\s*\(/g;
    my @foreign = grep {
        my $in = $file_of{$_};
        $in && !$in->{$file} && !$in->{'common.sql'}
    } sort keys %called;

    is_deeply \@foreign, [], "$file calls only common.sql and itself";
}


# ---- the runs ----

my $db = "chantier_migrate_test_$$";
my %pg = (host => $ENV{PGHOST} // '127.0.0.1', port => $ENV{PGPORT});
my $conninfo = "host=$pg{host} port=$pg{port} user=chantier dbname=$db";
my $dir = var_dir() . "/migrate-test-$$";

# run({ENV => value}, command...): its exit status and its output (stdout
# and stderr together)
sub run {
    my ($env, @cmd) = @_;

    my $pid = open(my $fh, '-|') // die "fork: $!";

    if ($pid == 0) {
        # no die here: it would run the END block (dropdb) in the child
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        @ENV{keys %$env} = values %$env;
        exec { $cmd[0] } @cmd or print "exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

sub superuser {
    my ($tool, @args) = @_;
    return run({}, $tool, '-h', $pg{host}, '-p', $pg{port}, '-U', 'postgres',
               @args);
}

sub scratch_sql {
    my ($sql) = @_;
    my ($rc, $out) = run({}, qw(psql -X -q -A -t -v ON_ERROR_STOP=1 -d),
                         $conninfo, '-c', $sql);
    $rc == 0 or die "psql failed: $out";
    chomp $out;
    return $out;
}

sub migrate {
    my (%env) = @_;
    return run(\%env, "$dir/db/migrate", %env ? () : ($conninfo));
}

sub sha256_of {
    my ($path) = @_;
    my ($status, $sum) = run({}, 'sha256sum', $path);
    return (split ' ', $sum)[0];
}

my ($rc, $out) = superuser('createdb', '-O', 'chantier', $db);
is $rc, 0, 'a scratch database' or do {
    diag $out;
    done_testing;
    exit;
};

END {
    local $?;       # the test's own exit status
    superuser('dropdb', '--if-exists', $db) if $db;
    remove_tree($dir) if $dir && -d $dir;
}

make_path("$dir/db/migrations", "$dir/db/api");
copy("$repo/db/migrate", "$dir/db/migrate") or die "copy migrate: $!";
chmod 0755, "$dir/db/migrate";
copy($_, "$dir/db/migrations/") or die "copy $_: $!" for @migrations;
copy($_, "$dir/db/api/") or die "copy $_: $!" for @api_files;

# A new database: every migration, then every api file, common.sql first.
my @order = ('common.sql', grep { $_ ne 'common.sql' } map { base($_) }
                                                        @api_files);
($rc, $out) = migrate();
is $rc, 0, 'migrate creates a new database' or diag $out;
is $out, join('', map { 'applied ' . base($_) . "\n" } @migrations)
         . join('', map { "applied api/$_\n" } @order),
    'each migration, then each api file (common.sql first), once';

is scratch_sql(q{select count(*) from pg_proc
                  where pronamespace = 'api'::regnamespace}),
    scalar(keys %defined), 'the api schema has the functions of db/api';
is scratch_sql(q{select string_agg(file || ' ' || checksum, ',' order by file)
                   from public.schema_repeatables}),
    join(',', map { base($_) . ' ' . sha256_of($_) } @api_files),
    'schema_repeatables records each file with its sha256';
is scratch_sql(q{select count(*) from pg_proc
                  where pronamespace = 'api'::regnamespace
                    and proname in ('me_get', 'fiche_get',
                                    'fiche_posts_json')}),
    0, 'functions nothing calls are not created';

# Again: nothing to do.
($rc, $out) = migrate();
is $rc, 0, 'a second run succeeds';
is $out, "migrate: up to date\n", 'a second run applies nothing';

# With the PG* environment instead of a conninfo.
($rc, $out) = migrate(PGDATABASE => $db, PGUSER => 'chantier',
                      PGHOST => $pg{host}, PGPORT => $pg{port});
is $out, "migrate: up to date\n", 'the PG* environment reaches the database';

# One file changes: only it runs again.
my $health = "$dir/db/api/health.sql";
my $original = slurp($health);
like $original, qr/\n    select 1\n/, 'api.health() answers 1';

spew($health, $original . "\n-- a comment changes the checksum\n");
($rc, $out) = migrate();
is $rc, 0, 'a changed file applies';
is $out, "applied api/health.sql\n", 'only the changed file runs again';
is scratch_sql(q{select checksum from public.schema_repeatables
                  where file = 'health.sql'}),
    sha256_of($health), 'its new checksum is recorded';
my $recorded = sha256_of($health);

# A file that fails leaves nothing: the function keeps its previous text.
(my $two = $original) =~ s/\n    select 1\n/\n    select 2\n/ or die;
spew($health, $two . "\nselect no_such_column;\n");
($rc, $out) = migrate();
isnt $rc, 0, 'a failing file makes migrate fail';
like $out, qr{migrate: api/health\.sql failed; nothing of it was applied},
    'migrate names the file that failed';
is scratch_sql('select api.health()'), 1,
    'the function keeps the text of the last file that applied';
is scratch_sql(q{select checksum from public.schema_repeatables
                  where file = 'health.sql'}),
    $recorded, 'and its checksum stays';

spew($health, $two);
($rc, $out) = migrate();
is $out, "applied api/health.sql\n", 'the fixed file applies';
is scratch_sql('select api.health()'), 2, 'with its new text';

# A changed return type: the file drops the old function first.
spew($health, "drop function if exists api.health();\n"
              . "create or replace function api.health()\n"
              . "    returns text\n    language sql stable\n"
              . "as \$\$\n    select 'ok'\n\$\$;\n");
($rc, $out) = migrate();
is $out, "applied api/health.sql\n", 'a file may drop and create again';
is scratch_sql('select api.health()'), 'ok', 'with the new return type';

($rc, $out) = migrate();
is $out, "migrate: up to date\n", 'then nothing to do';

done_testing;
