# Bad input (SPEC section 5, issue 2): malformed JSON, wrong types, unknown
# fields, invalid UTF-8, deep nesting, duplicate keys, huge bodies, wrong
# media types, absurd ids, wrong methods, odd query strings, HEAD.  Each case
# must get its 4xx JSON error ({"error":{"code","message"}}), never a 500 or
# a dropped connection, and the server must still answer afterwards.
#
# No case here reaches a password check: this file counts no failed login.

use strict;
use warnings;

use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

use lib 't/lib';
use ChantierTest;

my $log_start = error_log_size();

my $admin = admin_client();
my ($client) = client_for(role => 'client');
my ($employee) = client_for(role => 'employee');
my $owner = create_user(role => 'client');

# a chantier to look up by code (query string cases)
my $code = uc unique_login('rb');
$code =~ s/[^A-Z0-9]//g;
my $r = $admin->api(POST => 'admin/chantiers', {
    chantier_id      => $code,
    title            => 'Chantier des tests de robustesse',
    client_id        => $owner->{id},
    start_date       => '2026-01-05',
    planned_end_date => '2026-07-31',
});
is $r->{status}, 201, "setup: chantier $code created" or diag $r->{raw};

my %who = (
    anon     => undef,
    client   => $client,
    employee => $employee,
    admin    => $admin,
);

# 1 MiB exactly: {"login":"aaa...","password":"b"} is 27 bytes + the a's
my $MiB = 1024 * 1024;
my $at_limit = '{"login":"' . ('a' x ($MiB - 27)) . '","password":"b"}';
length($at_limit) == $MiB or die 'bad arithmetic';

my $pass300 = 'p' x 300;

# Each case: name; as (anon, client, employee, admin); method; path; body
# (bytes, sent as is) or undef; type (Content-Type, default
# application/json when there is a body; undef in the hash: none);
# status (a number or [alternatives]); code (a string or a regex).
# "core => 1": nginx itself refuses the request before the module sees it
# (its own HTML page), so no JSON is expected.  A string starts a section:
# the cases that follow it run as one subtest of that name.
my @cases = (

    'malformed JSON',
    { name => 'truncated object', body => '{"login":',
      status => 400, code => 'invalid_json' },
    { name => 'truncated before the closing brace',
      body => '{"login":"a","password":"b"',
      status => 400, code => 'invalid_json' },
    { name => 'trailing garbage', body => '{"login":"a","password":"b"} x',
      status => 400, code => 'invalid_json' },
    { name => 'two values', body => '{"login":"a","password":"b"}{}',
      status => 400, code => 'invalid_json' },
    { name => 'trailing NUL byte', body => qq({"login":"a","password":"b"}\0),
      status => 400, code => 'invalid_json' },
    { name => 'block comment', body => '{"login":"a",/*c*/"password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'line comment', body => qq(// c\n{"login":"a","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'single quotes', body => q({'login':'a','password':'b'}),
      status => 400, code => 'invalid_json' },
    { name => 'unquoted key', body => '{login:"a",password:"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'trailing comma', body => '{"login":"a","password":"b",}',
      status => 400, code => 'invalid_json' },
    { name => 'missing comma', body => '{"login":"a" "password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'NaN', body => '{"login":NaN,"password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'leading zero', body => '{"login":01,"password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'bad escape \x', body => '{"login":"\x41","password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'short \u escape', body => '{"login":"\u12","password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'raw tab in a string', body => qq({"login":"a\tb","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'raw newline in a string',
      body => qq({"login":"a\nb","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'UTF-8 byte order mark',
      body => qq(\xef\xbb\xbf{"login":"a","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'bare string', body => '"x"',
      status => 400, code => 'invalid_json' },
    { name => 'bare number', body => '42',
      status => 400, code => 'invalid_json' },
    { name => 'bare null', body => 'null',
      status => 400, code => 'invalid_json' },
    { name => 'bare true', body => 'true',
      status => 400, code => 'invalid_json' },
    { name => 'empty array', body => '[]',
      status => 400, code => 'invalid_json' },
    { name => 'array instead of object',
      body => '[{"login":"a","password":"b"}]',
      status => 400, code => 'invalid_json' },
    { name => 'empty body', body => '',
      status => 400, code => 'invalid_json' },
    { name => 'whitespace only', body => " \n\t ",
      status => 400, code => 'invalid_json' },
    { name => 'NUL byte only', body => "\0",
      status => 400, code => 'invalid_json' },
    { name => 'PATCH me: truncated', as => 'client', method => 'PATCH',
      path => 'me', body => '{"phone":"06',
      status => 400, code => 'invalid_json' },
    { name => 'PATCH me: array', as => 'client', method => 'PATCH',
      path => 'me', body => '[]',
      status => 400, code => 'invalid_json' },
    { name => 'PATCH me: empty body', as => 'client', method => 'PATCH',
      path => 'me', body => '',
      status => 400, code => 'invalid_json' },

    'wrong types, missing and unknown fields',
    { name => 'login as number', body => '{"login":1,"password":"b"}',
      status => 400, code => 'invalid_field' },
    { name => 'login null', body => '{"login":null,"password":"b"}',
      status => 400, code => 'invalid_field' },
    { name => 'password as object', body => '{"login":"a","password":{}}',
      status => 400, code => 'invalid_field' },
    { name => 'password as array', body => '{"login":"a","password":["b"]}',
      status => 400, code => 'invalid_field' },
    { name => 'password as boolean', body => '{"login":"a","password":true}',
      status => 400, code => 'invalid_field' },
    { name => 'password missing', body => '{"login":"a"}',
      status => 400, code => 'invalid_field' },
    { name => 'empty object', body => '{}',
      status => 400, code => 'invalid_field' },
    { name => 'unknown field in login',
      body => '{"login":"a","password":"b","remember":true}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: notify as string', as => 'client',
      method => 'PATCH', path => 'me', body => '{"notify":"email"}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: notify null', as => 'client',
      method => 'PATCH', path => 'me', body => '{"notify":null}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: notify.posts bogus', as => 'client',
      method => 'PATCH', path => 'me',
      body => '{"notify":{"posts":"pigeon","comments":"none"}}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: notify.posts as number', as => 'client',
      method => 'PATCH', path => 'me',
      body => '{"notify":{"posts":1,"comments":"none"}}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: email as number', as => 'client',
      method => 'PATCH', path => 'me', body => '{"email":123}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: phone as array', as => 'client',
      method => 'PATCH', path => 'me', body => '{"phone":["06"]}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: phone of 5000 characters', as => 'client',
      method => 'PATCH', path => 'me',
      body => '{"phone":"' . ('1' x 5000) . '"}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: huge number', as => 'client',
      method => 'PATCH', path => 'me', body => '{"email":1e999999}',
      status => 400, code => qr/^(invalid_field|invalid_input)$/ },
    { name => 'PATCH me: unknown field', as => 'client',
      method => 'PATCH', path => 'me', body => '{"favourite_colour":"red"}',
      status => 400, code => 'unknown_field' },
    { name => 'PATCH me: unknown nested field', as => 'client',
      method => 'PATCH', path => 'me',
      body => '{"notify":{"posts":"none","comments":"none","x":"none"}}',
      status => 400, code => 'unknown_field' },
    { name => 'PATCH me: a valid \u surrogate pair is accepted by the parser',
      as => 'client', method => 'PATCH', path => 'me',
      body => '{"\ud83d\ude00":1}',
      status => 400, code => 'unknown_field' },
    { name => 'PATCH me: role', as => 'client',
      method => 'PATCH', path => 'me', body => '{"role":"admin"}',
      status => 400, code => 'field_not_editable' },
    { name => 'POST me/password: current_password as number',
      as => 'client', method => 'POST', path => 'me/password',
      body => '{"current_password":1,"new_password":"abcdefghijkl"}',
      status => 400, code => 'invalid_field' },
    { name => 'POST me/password: unknown field',
      as => 'client', method => 'POST', path => 'me/password',
      body => '{"current_password":"x","new_password":"abcdefghijkl",'
              . '"confirm":"abcdefghijkl"}',
      status => 400, code => 'unknown_field' },
    { name => 'POST me/password: current_password of 300 bytes',
      as => 'client', method => 'POST', path => 'me/password',
      body => qq({"current_password":"$pass300","new_password":"abcdefghijkl"}),
      status => 400, code => 'invalid_field' },
    { name => 'admin users: login of 65 characters', as => 'admin',
      method => 'POST', path => 'admin/users',
      body => '{"role":"client","login":"' . ('a' x 65)
              . '","password":"abcdefghijkl"}',
      status => 400, code => 'invalid_field' },
    { name => 'admin chantiers: client_id as string', as => 'admin',
      method => 'POST', path => 'admin/chantiers',
      body => '{"chantier_id":"X1","title":"t","client_id":"abc",'
              . '"start_date":"2026-01-01","planned_end_date":"2026-02-01"}',
      status => 400, code => 'invalid_field' },
    { name => 'admin chantiers: client_id of 30 digits', as => 'admin',
      method => 'POST', path => 'admin/chantiers',
      body => '{"chantier_id":"X1","title":"t","client_id":'
              . ('9' x 30) . ',"start_date":"2026-01-01",'
              . '"planned_end_date":"2026-02-01"}',
      status => 400, code => 'invalid_field' },
    { name => 'admin chantiers: 30 February', as => 'admin',
      method => 'POST', path => 'admin/chantiers',
      body => qq({"chantier_id":"X1","title":"t","client_id":$owner->{id},)
              . '"start_date":"2026-02-30","planned_end_date":"2026-03-01"}',
      status => 400, code => 'invalid_field' },

    'invalid UTF-8, U+0000',
    { name => 'raw byte \xff in a string',
      body => qq({"login":"a\xff","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'overlong \xc0\xaf in a string',
      body => qq({"login":"a\xc0\xaf","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'encoded surrogate \xed\xa0\x80 in a string',
      body => qq({"login":"\xed\xa0\x80","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'code point above U+10FFFF in a string',
      body => qq({"login":"\xf4\x90\x80\x80","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'truncated sequence \xc3 at the end of a string',
      body => qq({"login":"a\xc3","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'raw byte \xff in a key',
      body => qq({"log\xffin":"a","password":"b"}),
      status => 400, code => 'invalid_json' },
    { name => 'lone high surrogate escape \ud800',
      body => '{"login":"a\ud800","password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'lone low surrogate escape \udc00',
      body => '{"login":"a\udc00x","password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'high surrogate then a non-surrogate \ud800\u0041',
      body => '{"login":"\ud800\u0041","password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => '\u0000 in a value',
      body => '{"login":"a\u0000b","password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => '\u0000 in a key',
      body => '{"login\u0000":"a","password":"b"}',
      status => 400, code => 'invalid_json' },
    { name => 'PATCH me: invalid UTF-8 in phone', as => 'client',
      method => 'PATCH', path => 'me', body => qq({"phone":"06\xff"}),
      status => 400, code => 'invalid_json' },
    { name => 'PATCH me: \u0000 in email', as => 'client',
      method => 'PATCH', path => 'me',
      body => '{"email":"a\u0000@example.test"}',
      status => 400, code => 'invalid_json' },

    'nesting',
    { name => 'depth 32 is parsed',
      body => '{"x":' . ('[' x 31) . (']' x 31) . '}',
      status => 400, code => 'invalid_field' },
    { name => 'depth 33',
      body => '{"x":' . ('[' x 32) . (']' x 32) . '}',
      status => 400, code => 'invalid_json' },
    { name => 'depth 100000 (200 KB of brackets)',
      body => ('[' x 100_000) . (']' x 100_000),
      status => 400, code => 'invalid_json' },
    { name => 'depth 200000, never closed', body => '[' x 200_000,
      status => 400, code => 'invalid_json' },
    { name => 'objects nested 100000 deep',
      body => ('{"a":' x 100_000) . '1' . ('}' x 100_000),
      status => 400, code => 'invalid_json' },

    'duplicate keys',
    { name => 'duplicate key',
      body => '{"login":"a","login":"b","password":"c"}',
      status => 400, code => 'invalid_json' },
    { name => 'duplicate key spelt with an escape',
      body => '{"login":"a","l\u006fgin":"b","password":"c"}',
      status => 400, code => 'invalid_json' },
    { name => 'duplicate key in a large object',
      body => '{' . join(',', map { qq("k$_":$_) } 1 .. 40) . ',"k17":0}',
      status => 400, code => 'invalid_json' },
    { name => 'PATCH me: duplicate key in a nested object', as => 'client',
      method => 'PATCH', path => 'me',
      body => '{"notify":{"posts":"none","posts":"email","comments":"none"}}',
      status => 400, code => 'invalid_json' },

    'sizes (chunked bodies: see below)',
    { name => 'JSON body of exactly 1 MiB is read', body => $at_limit,
      status => 400, code => 'invalid_field' },
    { name => 'JSON body of 1 MiB + 1 (Content-Length)',
      body => $at_limit . ' ', status => 413, code => 'too_large' },
    { name => 'PATCH me: 2 MiB (Content-Length)', as => 'client',
      method => 'PATCH', path => 'me',
      body => '{"phone":"' . ('1' x (2 * $MiB)) . '"}',
      status => 413, code => 'too_large' },
    { name => 'login of 65 characters',
      body => '{"login":"' . ('a' x 65) . '","password":"b"}',
      status => 400, code => 'invalid_field' },
    { name => 'password of 300 bytes',
      body => qq({"login":"a","password":"$pass300"}),
      status => 400, code => 'invalid_field' },
    { name => 'password of 257 bytes',
      body => '{"login":"a","password":"' . ('p' x 257) . '"}',
      status => 400, code => 'invalid_field' },
    { name => 'empty login', body => '{"login":"","password":"b"}',
      status => 400, code => 'invalid_field' },
    { name => 'empty password', body => '{"login":"a","password":""}',
      status => 400, code => 'invalid_field' },

    'media type',
    { name => 'text/plain', type => 'text/plain',
      body => '{"login":"a","password":"b"}',
      status => 415, code => 'unsupported_media_type' },
    { name => 'no Content-Type', type => undef,
      body => '{"login":"a","password":"b"}',
      status => 415, code => 'unsupported_media_type' },
    { name => 'no Content-Type, no body', type => undef, body => undef,
      status => 415, code => 'unsupported_media_type' },
    { name => 'form-urlencoded', type => 'application/x-www-form-urlencoded',
      body => 'login=a&password=b',
      status => 415, code => 'unsupported_media_type' },
    { name => 'multipart/form-data',
      type => 'multipart/form-data; boundary=xx',
      body => "--xx\r\nContent-Disposition: form-data; name=\"login\""
              . "\r\n\r\na\r\n--xx--\r\n",
      status => 415, code => 'unsupported_media_type' },
    { name => 'application/jsonx', type => 'application/jsonx',
      body => '{"login":"a","password":"b"}',
      status => 415, code => 'unsupported_media_type' },
    { name => 'application/json-patch+json',
      type => 'application/json-patch+json',
      body => '{"login":"a","password":"b"}',
      status => 415, code => 'unsupported_media_type' },
    { name => 'application/json; charset=utf-8 is accepted',
      type => 'application/json; charset=utf-8',
      body => '{"login":1,"password":"b"}',
      status => 400, code => 'invalid_field' },
    { name => 'APPLICATION/JSON is accepted', type => 'APPLICATION/JSON',
      body => '{"login":1,"password":"b"}',
      status => 400, code => 'invalid_field' },
    { name => 'PATCH me: text/plain', as => 'client', method => 'PATCH',
      path => 'me', type => 'text/plain', body => '{"phone":null}',
      status => 415, code => 'unsupported_media_type' },

    'ids',
    (map {
        { name => "GET fiches/$_->[0]", as => 'client', method => 'GET',
          path => "fiches/$_->[1]", status => 404, code => 'not_found' }
     } (['abc', 'abc'], ['-1', '-1'], ['1e3', '1e3'], ['1.0', '1.0'],
        ['+1', '+1'], ['0x10', '0x10'], ['(30 digits)', '9' x 30],
        ['(19 digits)', '9223372036854775808'],
        ['(18 digits)', '999999999999999999'],
        ['0', '0'], ['(empty)', ''], ['1/', '1/'], ['%ff', '%ff'],
        ['%20', '%20'], ['1%20', '1%20'])),
    { name => 'GET fiches/%00', as => 'client', method => 'GET',
      path => 'fiches/%00', status => 400, core => 1 },
    { name => 'PATCH admin/users/abc', as => 'admin', method => 'PATCH',
      path => 'admin/users/abc', body => '{"active":true}',
      status => 404, code => 'not_found' },
    { name => 'PATCH admin/users/(30 digits)', as => 'admin',
      method => 'PATCH', path => 'admin/users/' . ('9' x 30),
      body => '{"active":true}', status => 404, code => 'not_found' },
    { name => 'PATCH admin/users/(18 digits)', as => 'admin',
      method => 'PATCH', path => 'admin/users/999999999999999999',
      body => '{"active":true}', status => 404, code => 'not_found' },
    { name => 'PATCH admin/chantiers/-1', as => 'admin', method => 'PATCH',
      path => 'admin/chantiers/-1', body => '{"title":"x"}',
      status => 404, code => 'not_found' },

    'methods, routes',
    { name => 'PUT me', as => 'client', method => 'PUT', path => 'me',
      body => '{"phone":null}', status => 405, code => 'method_not_allowed' },
    { name => 'PUT me (anonymous)', method => 'PUT', path => 'me',
      body => '{}', status => 405, code => 'method_not_allowed' },
    { name => 'DELETE health', method => 'DELETE', path => 'health',
      status => 405, code => 'method_not_allowed' },
    { name => 'GET session', method => 'GET', path => 'session',
      status => 405, code => 'method_not_allowed' },
    { name => 'PATCH session', method => 'PATCH', path => 'session',
      body => '{}', status => 405, code => 'method_not_allowed' },
    { name => 'POST fiches', as => 'employee', method => 'POST',
      path => 'fiches', body => '{}',
      status => 405, code => 'method_not_allowed' },
    { name => 'OPTIONS me', method => 'OPTIONS', path => 'me',
      status => 405, code => 'method_not_allowed' },
    { name => 'TRACE me', method => 'TRACE', path => 'me',
      status => 405, core => 1 },
    { name => 'unknown route', method => 'GET', path => 'no-such-route',
      status => 404, code => 'not_found' },
    { name => 'unknown route, logged in', as => 'client', method => 'GET',
      path => 'fiches/1/nothing', status => 404, code => 'not_found' },
    { name => 'route with a trailing slash', method => 'GET',
      path => 'health/', status => 404, code => 'not_found' },
    { name => 'route in upper case', method => 'GET', path => 'HEALTH',
      status => 404, code => 'not_found' },
    { name => 'the prefix alone', method => 'GET', path => '/api/',
      status => 404, code => 'not_found' },
    { name => 'path of 4000 characters', method => 'GET',
      path => 'x' x 4000, status => 404, code => 'not_found' },

    'query strings',
    { name => 'fiches?chantier=%zz', as => 'employee', method => 'GET',
      path => 'fiches?chantier=%zz', status => 404, code => 'not_found' },
    { name => 'fiches?chantier=%ff%fe', as => 'employee', method => 'GET',
      path => 'fiches?chantier=%ff%fe', status => [400, 404],
      code => qr/^(invalid_input|invalid_field|not_found)$/ },
    { name => 'fiches?chantier=%e9', as => 'employee', method => 'GET',
      path => 'fiches?chantier=%e9', status => [400, 404],
      code => qr/^(invalid_input|invalid_field|not_found)$/ },
    { name => 'fiches?chantier=%', as => 'employee', method => 'GET',
      path => 'fiches?chantier=%', status => 400,
      code => 'chantier_required' },
    { name => 'fiches?chantier=%00', as => 'employee', method => 'GET',
      path => 'fiches?chantier=%00', status => [400, 404],
      code => qr/^(invalid_field|not_found)$/ },
    { name => 'fiches?chantier=CODE%00junk (NUL must not cut the code)',
      as => 'employee', method => 'GET',
      path => "fiches?chantier=$code%00junk", status => [400, 404],
      code => qr/^(invalid_field|not_found)$/ },
    { name => 'fiches?chantier= of 33 characters', as => 'employee',
      method => 'GET', path => 'fiches?chantier=' . ('A' x 33),
      status => 404, code => 'not_found' },
    { name => 'fiches?chantier without a value', as => 'employee',
      method => 'GET', path => 'fiches?chantier',
      status => 400, code => 'chantier_required' },
    { name => 'admin/users?q=%ff', as => 'admin', method => 'GET',
      path => 'admin/users?q=%ff', status => 400,
      code => qr/^(invalid_field|invalid_input)$/ },
    { name => 'admin/users?q=%00', as => 'admin', method => 'GET',
      path => 'admin/users?q=%00', status => 400, code => 'invalid_field' },
    # refused by the module itself, never handed to PostgreSQL
    { name => 'admin/users?q= a surrogate (%ED%A0%80)', as => 'admin',
      method => 'GET', path => 'admin/users?q=a%ED%A0%80', status => 400,
      code => 'invalid_field' },
    { name => 'admin/users?q= an overlong slash (%C0%AF)', as => 'admin',
      method => 'GET', path => 'admin/users?q=%C0%AF', status => 400,
      code => 'invalid_field' },
    { name => 'admin/users?q= a bad continuation byte (%C3%28)',
      as => 'admin', method => 'GET', path => 'admin/users?q=%C3%28',
      status => 400, code => 'invalid_field' },
    { name => 'fiches?chantier= past U+10FFFF (%F4%90%80%80)',
      as => 'employee', method => 'GET',
      path => 'fiches?chantier=%F4%90%80%80', status => 400,
      code => 'invalid_field' },
    { name => 'admin/users?q= of 101 bytes', as => 'admin', method => 'GET',
      path => 'admin/users?q=' . ('a' x 101), status => 400,
      code => 'invalid_field' },

    'HEAD',
    { name => 'HEAD me (anonymous)', method => 'HEAD', path => 'me',
      status => 401 },
    { name => 'HEAD unknown route', method => 'HEAD', path => 'nothing',
      status => 404 },
    { name => 'HEAD fiches/abc', as => 'client', method => 'HEAD',
      path => 'fiches/abc', status => 404 },
);

# [name, [its cases]] for each section of @cases
my @sections;
for my $case (@cases) {
    if (ref $case) {
        push @{ $sections[-1][1] }, $case;
    } else {
        push @sections, [$case, []];
    }
}

for my $section (@sections) {
    my ($name, $cases) = @$section;
    subtest $name => sub { run_case($_) for @$cases };
}


sub run_case {
    my ($case) = @_;

    my $name = $case->{name};
    my $method = $case->{method} // 'POST';
    my $path = $case->{path} // 'session';
    my $c = $who{ $case->{as} // 'anon' } // client();

    my %headers = (Accept => 'application/json');
    my $type = exists $case->{type} ? $case->{type} : 'application/json';

    if (defined $case->{body} && defined $type) {
        $headers{'Content-Type'} = $type;
    }
    if ($method =~ /^(POST|PATCH|PUT|DELETE)$/ && defined $c->csrf) {
        $headers{'X-CSRF-Token'} = $c->csrf;
    }

    my $r = $c->raw_request($method, $path, headers => \%headers,
        content => $case->{body});

    my @want = ref $case->{status} ? @{ $case->{status} } : ($case->{status});

    {
        local $TODO = $case->{todo};

        ok((grep { $r->{status} == $_ } @want),
            "$name: $method $path -> @want")
            or diag "got $r->{status} " . substr($r->{raw}, 0, 300);
    }

    if ($method eq 'HEAD') {
        is $r->{raw}, '', "$name: no body";

    } elsif ($case->{core}) {
        # nginx's own answer: no JSON to expect, but no 5xx either
        cmp_ok $r->{status}, '<', 500, "$name: not a server error";

    } else {
        local $TODO = $case->{todo};

        my $e = ref $r->{json} eq 'HASH' ? $r->{json}{error} : undef;
        my $got = ref $e eq 'HASH' ? $e->{code} // '' : '';

        ok(ref $e eq 'HASH' && defined $e->{message}
            && length $e->{message}
            && (ref $case->{code} ? $got =~ $case->{code}
                                  : $got eq $case->{code}),
            "$name: JSON error $case->{code}")
            or diag "got $r->{status} "
                    . ($r->{headers}{'content-type'} // '-') . ' '
                    . substr($r->{raw}, 0, 300);
    }

    still_answers($name);
}

sub still_answers {
    my ($name) = @_;

    my $h = api(GET => 'health');
    is $h->{status}, 200, "after $name: GET health 200"
        or diag "$h->{status} $h->{raw}";
}


subtest 'HEAD health: like GET, without the body' => sub {
    my $get = api(GET => 'health');
    my $head = api(HEAD => 'health');

    is $head->{status}, 200, 'HEAD health: 200';
    is $head->{raw}, '', 'HEAD health: no body';

    like $head->{headers}{'content-type'} // '', qr{^application/json},
        'HEAD health: the Content-Type of GET';
    ok !defined $head->{headers}{'content-length'}
        || $head->{headers}{'content-length'}
           == $get->{headers}{'content-length'},
        'HEAD health: no Content-Length, or the one of GET'
        . " ($get->{headers}{'content-length'})"
        or diag 'HEAD Content-Length: '
                . ($head->{headers}{'content-length'} // '-');
};

subtest 'HEAD me, logged in' => sub {
    my $head = $client->api(HEAD => 'me');
    is $head->{status}, 200, 'HEAD me (logged in): 200';
    is $head->{raw}, '', 'HEAD me (logged in): no body';
};


# ---- raw connections: chunked bodies, pipelining, odd framing ----

my ($host, $port) = ChantierTest::url('/') =~ m{^http://([^/:]+):(\d+)/}
    or die 'cannot parse ' . ChantierTest::url('/');

# Sends the bytes on a new connection and reads until the server closes it
# (the last request should say Connection: close), "want" answers have
# come, or 15 s (wait) pass.  Returns the answers:
# [{ status, headers => {lc name => value}, body }].
sub raw_http {
    my ($bytes, %opts) = @_;

    my @methods = $bytes =~ m{([A-Z]+) /\S* HTTP/1\.[01]\r\n}g;

    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
        Proto => 'tcp', Timeout => 5)
        or die "connect $host:$port: $!";

    # write and read together: the server may answer before reading all
    my $sel = IO::Select->new($s);
    my ($in, $off) = ('', 0);
    my $deadline = time + ($opts{wait} // 15);

    $s->blocking(0);

    while (time < $deadline) {
        my ($r, $w) = IO::Select->select($sel,
            $off < length $bytes ? $sel : undef, undef, 0.5);

        if ($w && @$w) {
            my $n = syswrite $s, $bytes, 65536, $off;
            if (defined $n) {
                $off += $n;
            } elsif (!$!{EAGAIN}) {
                $off = length $bytes;       # reset by the server: read on
            }
        }

        if ($r && @$r) {
            my $n = sysread $s, $in, 65536, length $in;
            last if defined $n && $n == 0;
            last if !defined $n && !$!{EAGAIN};
            last if $opts{want}
                && parse_answers($in, @methods) >= $opts{want};
        }
    }

    close $s;

    return parse_answers($in, @methods);
}

# The answers in $in, to requests of @methods: an answer to HEAD has the
# Content-Length of GET but no body.
sub parse_answers {
    my ($in, @methods) = @_;

    my @answers;

    while ($in =~ s{\AHTTP/1\.[01] (\d{3})[^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n}{}) {
        my ($status, $head) = ($1, $2);
        my %h;
        for (split /\r\n/, $head) {
            my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
            $h{lc $k} = $v;
        }
        my $method = $methods[@answers] // '';
        my $len = $method eq 'HEAD' || $status == 204 || $status == 304
            ? 0 : $h{'content-length'} // 0;
        last if length $in < $len;
        my $body = substr $in, 0, $len, '';
        push @answers, { status => $status, headers => \%h, body => $body };
    }

    return @answers;
}

sub chunked {
    my ($body, $size) = @_;

    my $out = '';
    for (my $i = 0; $i < length $body; $i += $size) {
        my $c = substr $body, $i, $size;
        $out .= sprintf "%x\r\n%s\r\n", length $c, $c;
    }
    return $out . "0\r\n\r\n";
}

sub json_code {
    my ($answer) = @_;
    my $j = json_decode($answer->{body} // '');
    return ref $j eq 'HASH' && ref $j->{error} eq 'HASH'
        ? $j->{error}{code} // '' : '';
}

my $health = "GET /api/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
my $post = "POST /api/session HTTP/1.1\r\nHost: t\r\n"
    . "Content-Type: application/json\r\n";

# A chunked body is refused the moment it passes its route's limit: nginx
# then answers 413 and closes the connection rather than read on a body of
# unknown size only to keep the connection (a pipelined request after it
# is not answered; the client opens a new connection).
subtest 'chunked 1 MiB + 1, then a request on the same connection' => sub {
    my @a = raw_http($post . "Transfer-Encoding: chunked\r\n\r\n"
        . chunked($at_limit . ' ', 65536) . $health);

    is $a[0]{status}, 413, 'chunked 1 MiB + 1: 413';
    is json_code($a[0]), 'too_large', 'chunked 1 MiB + 1: too_large';
    is scalar(@a), 1, 'chunked 1 MiB + 1: the connection closes after it';
    is api(GET => 'health')->{status}, 200,
        'chunked 1 MiB + 1: a new connection is answered';
};

subtest 'chunked past the route limit and never finished: 413 as it arrives' => sub {
    # 2 MiB of chunks and no last chunk: the client would go on sending;
    # the limit must be seen on the way, not at the end that never comes
    (my $open_ended = chunked('x' x (2 * $MiB), 65536)) =~ s/0\r\n\r\n$//;

    my @a = raw_http($post . "Transfer-Encoding: chunked\r\n\r\n"
        . $open_ended, want => 1);

    is scalar(@a), 1, 'an answer before the body ends';
    is $a[0] && $a[0]{status}, 413, '413';
    is $a[0] && json_code($a[0]), 'too_large', 'too_large, in JSON';
};

# The session is checked before the body is read: a request that gets 401
# or 403 costs no temporary file, however large the body it announces, and
# is answered without waiting for it.
subtest 'a body of a request without a valid session is never waited for' => sub {
    my ($c) = client_for(role => 'employee');
    my $fiche = create_chantier(client_id => create_user(role => 'client')->{id});
    my $start = "POST /api/fiches/$fiche->{id}/posts HTTP/1.1\r\nHost: t\r\n"
        . "Content-Type: application/json\r\nContent-Length: 900000\r\n";
    my $first_bytes = '{"body":{"ops":[{"insert":"' . ('a' x 100);

    my @a = raw_http($start . "\r\n" . $first_bytes, want => 1);
    is scalar(@a), 1, 'no session: answered with the body still to come';
    is $a[0] && $a[0]{status}, 401, 'no session: 401';

    my $cookie = 'chantier_session=' . $c->cookie('chantier_session');
    @a = raw_http($start . "Cookie: $cookie\r\nX-CSRF-Token: forged\r\n\r\n"
        . $first_bytes, want => 1);
    is scalar(@a), 1, 'forged CSRF token: answered with the body still to come';
    is $a[0] && $a[0]{status}, 403, 'forged CSRF token: 403';

    @a = raw_http($start . "Cookie: $cookie\r\nX-CSRF-Token: " . $c->csrf
        . "\r\n\r\n" . $first_bytes, want => 1, wait => 3);
    is scalar(@a), 0, 'a valid session: the body is awaited (no answer yet)';
};

subtest 'a body that nginx kept in a temporary file is read off the loop' => sub {
    # /espace-client/api/ keeps 16k of a body in memory (scripts/stack): a
    # post of 20,000 three-byte characters (60 KB) goes to a file
    my ($c) = client_for(role => 'employee');
    my $fiche = create_chantier(client_id => create_user(role => 'client')->{id});
    my $text = "\x{20ac}" x 19_999;

    my $r = $c->api(POST => "/espace-client/api/fiches/$fiche->{id}/posts",
                    { body => delta($text) });
    is $r->{status}, 201, 'POST of 60 KB through the small buffer: 201'
        or diag substr($r->{raw}, 0, 300);
    is $r->{json} && $r->{json}{body}{ops}[0]{insert}, "$text\n",
        'the text arrived whole and in order';
};

subtest 'chunked 3 MiB' => sub {
    my @a = raw_http($post . "Transfer-Encoding: chunked\r\n\r\n"
        . chunked('x' x (3 * $MiB), 100_000) . $health);

    is $a[0]{status}, 413, 'chunked 3 MiB: 413';
    is json_code($a[0]), 'too_large', 'chunked 3 MiB: too_large';
    is scalar(@a), 1, 'chunked 3 MiB: the connection closes after it';
    is api(GET => 'health')->{status}, 200,
        'chunked 3 MiB: a new connection is answered';
};

subtest 'chunked small body in 5-byte chunks' => sub {
    my @a = raw_http($post . "Transfer-Encoding: chunked\r\n\r\n"
        . chunked('{"login":1,"password":"b"}', 5) . $health);

    is $a[0]{status}, 400, 'chunked small body in 5-byte chunks: read';
    is json_code($a[0]), 'invalid_field',
        'chunked small body: reaches the handler (invalid_field)';
    is $a[1] && $a[1]{status}, 200, 'chunked small body: next request';
};

subtest 'chunked invalid UTF-8 split across chunks' => sub {
    my @a = raw_http($post . "Transfer-Encoding: chunked\r\n\r\n"
        . chunked(qq({"login":"\xff"}), 3) . $health);

    is $a[0]{status}, 400, 'chunked invalid UTF-8 split across chunks: 400';
    is json_code($a[0]), 'invalid_json',
        'chunked invalid UTF-8: invalid_json';
};

subtest '2 MiB with Content-Length' => sub {
    my $body = 'y' x (2 * $MiB);
    my @a = raw_http($post . "Content-Length: " . length($body) . "\r\n\r\n"
        . $body . $health);

    is $a[0]{status}, 413, '2 MiB with Content-Length: 413';
    is json_code($a[0]), 'too_large', '2 MiB with Content-Length: too_large';
    is $a[1] && $a[1]{status}, 200,
        '2 MiB with Content-Length: the body is skipped, next request answered';
};

subtest 'Content-Length 2000000 and no body' => sub {
    my $t0 = time;
    my @a = raw_http($post . "Content-Length: 2000000\r\n"
        . "Connection: close\r\n\r\n", want => 1);

    is $a[0]{status}, 413,
        'Content-Length 2000000 and no body: 413 without waiting for it';
    cmp_ok time - $t0, '<', 5, 'Content-Length 2000000: answered at once';
};

subtest 'Content-Length 50 MB' => sub {
    my @a = raw_http($post . "Content-Length: 50000000\r\n"
        . "Connection: close\r\n\r\n");

    is $a[0]{status}, 413, 'Content-Length 50 MB (over client_max_body_size):'
        . ' 413';

    is json_code($a[0]), 'too_large', 'Content-Length 50 MB: JSON too_large';
};

subtest 'six pipelined requests' => sub {
    my @a = raw_http(
        "POST /api/session HTTP/1.1\r\nHost: t\r\n"
        . "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
        . "POST /api/session HTTP/1.1\r\nHost: t\r\n"
        . "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n"
        . '{"login":'
        . "PUT /api/me HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
        . "GET /api/nothing HTTP/1.1\r\nHost: t\r\n\r\n"
        . "HEAD /api/health HTTP/1.1\r\nHost: t\r\n\r\n"
        . $health);

    is join(' ', map { $_->{status} } @a), '415 400 405 404 200 200',
        'six pipelined requests, four of them errors: all answered in order';
};

subtest 'bad framing, odd bytes' => sub {
    my @a = raw_http($post . "Transfer-Encoding: chunked\r\n"
        . "Connection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
    is $a[0] && $a[0]{status}, 400, 'bad chunk size: 400 (nginx)';

    @a = raw_http($post . "Content-Length: -1\r\nConnection: close\r\n\r\n");
    is $a[0] && $a[0]{status}, 400, 'Content-Length -1: 400 (nginx)';

    @a = raw_http($post . "Content-Length: 99999999999999999999\r\n"
        . "Connection: close\r\n\r\n");
    is $a[0] && $a[0]{status}, 400, 'Content-Length of 20 digits: 400 (nginx)';

    @a = raw_http("GET /api/fiches/\x01\xff HTTP/1.1\r\nHost: t\r\n"
        . "Connection: close\r\n\r\n");
    ok $a[0] && $a[0]{status} >= 400 && $a[0]{status} < 500,
        'control and high bytes in the path: 4xx';

    @a = raw_http("GET /api/me HTTP/1.1\r\nHost: t\r\n"
        . "Cookie: chantier_session=\xff\xfe\x01%00; chantier_session=\r\n"
        . "Connection: close\r\n\r\n");
    is $a[0] && $a[0]{status}, 401, 'garbage session cookies: 401';
    is json_code($a[0] // {}), 'not_logged_in',
        'garbage session cookies: not_logged_in';

    @a = raw_http("GET /api/me HTTP/1.1\r\nHost: t\r\n"
        . 'Cookie: chantier_session=' . ('A' x 4000) . "\r\n"
        . "Connection: close\r\n\r\n");
    is $a[0] && $a[0]{status}, 401, 'session cookie of 4000 bytes: 401';
};

{
    # a body announced, half sent, then the client goes away
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
        Proto => 'tcp', Timeout => 5) or die "connect: $!";
    print $s $post . "Content-Length: 1000\r\n\r\n" . '{"login":"';
    close $s;

    still_answers('a client that left in the middle of its body');
}

still_answers('everything');


# ---- no crash, no internal error logged while this file ran ----

no_error_logged($log_start,
    'nginx error log: no [alert], [crit], [emerg] or "exited on signal"');

done_testing;
