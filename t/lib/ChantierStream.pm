# One event stream read as EventSource would: an HTTP/1.1 GET on a socket
# of its own, the chunked body decoded, the SSE frames parsed.
#
#   my $s = ChantierStream->open($client, $fiche_id, headers => {...},
#                        query => '?since=3', port => 8081, rcvbuf => 1024);
#   $s->{status}, $s->{headers}{...}, $s->{body} (an answer that is no
#   stream), $s->{data} (the stream so far), $s->{retry}
#   $s->next_event($timeout)       { id, event, data } or undef
#   $s->wait_end($timeout)         'last chunk', 'eof', 'reset' or undef
#   $s->{ended}                    the same, once seen
#   $s->next_presence($timeout)    { viewers => [...], ... } or undef
#
# Presence events ("event: presence", t/81-presence.t) are kept apart from
# the others: next_event() and quiet() see only the fiche's versions, so
# that a test of versions is not disturbed by who else looks.

package ChantierStream;

use strict;
use warnings;

use Errno qw(EAGAIN EINTR);
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF inet_aton pack_sockaddr_in);
use JSON::PP ();
use Time::HiRes qw(time);

sub open {
    my ($class, $client, $fiche, %o) = @_;

    my ($default_port) = $ENV{CHANTIER_URL} =~ m{:(\d+)}
        or die 'CHANTIER_URL without a port';
    my $port = $o{port} // $default_port;

    my $sock = IO::Socket::INET->new(Proto => 'tcp')
        or die "socket: $!";
    if ($o{rcvbuf}) {
        setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf})
            or die "SO_RCVBUF: $!";
    }
    $sock->connect(pack_sockaddr_in($port, inet_aton('127.0.0.1')))
        or die "connect 127.0.0.1:$port: $!";

    my %h = (Host => "127.0.0.1:$port", Accept => 'text/event-stream',
             'Cache-Control' => 'no-cache', %{ $o{headers} // {} });
    my $cookie = $client && $client->cookie('chantier_session');
    $h{Cookie} = "chantier_session=$cookie" if defined $cookie;

    my $req = ($o{method} // 'GET') . " /api/fiches/$fiche/events"
        . ($o{query} // '')
        . " HTTP/1.1\r\n" . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
        . "\r\n";
    syswrite $sock, $req;

    my $self = bless { sock => $sock, raw => '', data => '', frames => '',
                       events => [], presences => [], status => 0,
                       headers => {} }, $class;

    return $o{later} ? $self : $self->read_head;
}

# the answer's head (and a whole body if it is no stream); open() calls it
# unless told "later => 1"
sub read_head {
    my ($self) = @_;

    my $deadline = time + 5;
    while ($self->{raw} !~ /\r\n\r\n/ && !$self->{ended}
           && time < $deadline)
    {
        $self->_read(0.2);
    }

    $self->{raw} =~ s/^(.*?)\r\n\r\n//s or return $self;
    $self->{head} = $1;
    my ($status, @lines) = split /\r\n/, $self->{head};
    ($self->{status}) = $status =~ m{^HTTP/1\.\d (\d{3})};
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $self->{headers}{lc $k} = $v;
    }

    $self->{chunked} =
        lc($self->{headers}{'transfer-encoding'} // '') eq 'chunked';

    # an answer of known length (an error): read it whole
    if (defined(my $len = $self->{headers}{'content-length'})) {
        $self->_read(0.2) while length $self->{raw} < $len && !$self->{ended}
                                && time < $deadline;
        $self->{body} = substr $self->{raw}, 0, $len;
        $self->{raw} = '';
        return $self;
    }

    # an error answer sent chunked: read it whole
    if ($self->{status} != 200 && $self->{chunked}) {
        $self->pump(0.1) until $self->{ended} || time > $deadline;
        $self->{body} = $self->{data};
        return $self;
    }

    $self->_decode;
    return $self;
}

# reads what comes within $timeout s (at least one read attempt)
sub pump {
    my ($self, $timeout) = @_;
    my $deadline = time + $timeout;
    do {
        $self->_read($deadline - time);
        $self->_decode;
    } while (!$self->{ended} && time < $deadline);
}

sub _read {
    my ($self, $timeout) = @_;

    return if $self->{ended};
    $timeout = 0 if $timeout < 0;

    my $rin = '';
    vec($rin, fileno $self->{sock}, 1) = 1;
    my $n = select(my $rout = $rin, undef, undef, $timeout);
    return if $n <= 0;

    my $got = sysread $self->{sock}, my $buf, 65536;
    if (!defined $got) {
        return if $! == EAGAIN || $! == EINTR;
        $self->{ended} = 'reset';
    } elsif ($got == 0) {
        $self->{ended} = 'eof';
    } else {
        $self->{raw} .= $buf;
    }
}

sub _decode {
    my ($self) = @_;

    return unless $self->{status};

    if (!$self->{chunked}) {
        $self->{frames} .= $self->{raw};
        $self->{data} .= $self->{raw};
        $self->{raw} = '';
    }

    while ($self->{chunked} && !$self->{last}) {
        $self->{raw} =~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/ or last;
        my $size = hex $1;
        my $hlen = length $&;
        if ($size == 0) {
            $self->{last} = 1;
            $self->{ended} = 'last chunk';
            last;
        }
        last if length $self->{raw} < $hlen + $size + 2;
        my $chunk = substr $self->{raw}, $hlen, $size;
        substr($self->{raw}, 0, $hlen + $size + 2) = '';
        $self->{data} .= $chunk;
        $self->{frames} .= $chunk;
    }

    while ($self->{frames} =~ s/^(.*?)\n\n//s) {
        my %ev;
        for my $line (split /\n/, $1) {
            next if $line =~ /^:/;
            my ($k, $v) = $line =~ /^([^:]+):? ?(.*)$/ or next;
            if ($k eq 'retry') {
                $self->{retry} = $v;
            } elsif ($k eq 'data') {
                $ev{data} = defined $ev{data} ? "$ev{data}\n$v" : $v;
            } else {
                $ev{$k} = $v;
            }
        }
        next unless exists $ev{data};
        if (($ev{event} // '') eq 'presence') {
            push @{ $self->{presences} }, \%ev;
        } else {
            push @{ $self->{events} }, \%ev;
        }
    }
}

sub next_event {
    my ($self, $timeout) = @_;
    my $deadline = time + $timeout;
    $self->pump(0);
    while (!@{ $self->{events} } && !$self->{ended} && time < $deadline) {
        $self->pump(0.05);
    }
    return shift @{ $self->{events} };
}

# the next presence event's data, decoded
sub next_presence {
    my ($self, $timeout) = @_;
    my $deadline = time + $timeout;
    $self->pump(0);
    while (!@{ $self->{presences} } && !$self->{ended} && time < $deadline) {
        $self->pump(0.05);
    }
    my $ev = shift @{ $self->{presences} } or return undef;
    return JSON::PP->new->decode($ev->{data});
}

sub wait_end {
    my ($self, $timeout) = @_;
    my $deadline = time + $timeout;
    do { $self->pump(0.05) } while !$self->{ended} && time < $deadline;
    return $self->{ended};
}

# watches streams for $seconds; returns (and takes) the events they got
sub quiet {
    my ($seconds, @streams) = @_;
    my $deadline = time + $seconds;
    while (time < $deadline) {
        $_->pump(0.02) for @streams;
    }
    return map { my @e = @{ $_->{events} }; $_->{events} = []; @e } @streams;
}

sub close {
    my ($self) = @_;
    CORE::close($self->{sock}) if $self->{sock};
    delete $self->{sock};
    $self->{ended} //= 'closed';
}

1;
