import { VERSION } from "./version";

export const HELP = `jailwatch ${VERSION}: a fail2ban-compatible log watcher

Usage:
  jailwatch -t [-c DIR]        check the configuration; errors name file, line and key (exit 1)
  jailwatch -d [-c DIR]        print each enabled jail's effective settings, one per line
  jailwatch regex [OPTIONS] LOG|LINE FILTER|REGEX [IGNOREREGEX]
                               test a filter on a log file or line (fail2ban-regex compatible output)
  jailwatch server [OPTIONS]   run the watcher daemon (see jailwatch server --help)
  jailwatch client COMMAND     talk to a running daemon: fail2ban-client's commands, output and exit
                               codes (see jailwatch client --help); also as a link named fail2ban-client
  jailwatch --version | --help

Options:
  -c, --config DIR             configuration directory in fail2ban's layout (default /etc/jailwatch
                               if it exists, else /etc/fail2ban): jail.conf, jail.d/*.conf,
                               jail.local, jail.d/*.local, filter.d/

regex options (before or after the arguments):
  -c, --config DIR             where FILTER names are looked up (DIR/filter.d/NAME.conf;
                               default /etc/fail2ban, as fail2ban-regex)
  -o, --out TOKEN              print only this for each matched line: id, ip, msg, row, a group name
                               (user, ip4, ...; None when absent) or a template (<ip> <F-USER>)
  -e, --encoding ENCODING      the log's encoding (Python names: UTF-8, latin-1, cp1252, ...)
  -m, --journalmatch MATCH     accepted (journal only; jailwatch regex reads files and lines)
  -l, --log-level LEVEL, -v, --verbosity N, -t, --full-traceback
                               accepted; the report is the default one
  -V, --version                jailwatch's version (short, or with the name)
  --print-all-matched          list every matched line
  --print-all-missed           list every missed line
  --print-all-ignored          list every ignored line
  --print-no-missed            list no missed lines
  --print-no-ignored           list no ignored lines
  -L, --maxlines N             lines listed before "too many to print" (default 20); sets the
                               filter's maxlines as fail2ban-regex does
  -r, --raw                    count host names matched by <HOST> as they are (without -r each counts
                               as its addresses, from the system resolver)
  -d, --datepattern PATTERN    date pattern overriding the filter's
  --usedns yes|warn|no|raw     whether <HOST> also matches host names, resolved (no: addresses only,
                               raw: names counted as they are)
  --timezone ZONE              zone for log times written without one (UTC, UTC+0200, ...)
  -j, --jobs N                 threads for big files (default: 2, or 1 on one core); single-line
                               filters only, the output is the same
  --no-progress                no progress display on a terminal

Jail keys beyond fail2ban's: ipv6prefix = 64 counts and bans IPv6 per /64 (default 128).`;
