#!/bin/sh
# check-deb.sh [PACKAGE.deb]: install sockscope's .deb on this machine (as
# root), check that what it installs works, then remove it again.
#
#   - sockscope --version names the package's version;
#   - man sockscope and man sockscope-ls show the generated pages;
#   - sockscope serve runs the package's sockscope-serve, which serves;
#   - bash completion completes commands and values (lab experiments, -o
#     formats); fish's too when fish is installed; zsh's file is where zsh
#     looks.
#
# PACKAGE.deb defaults to the amd64 .deb of the last snapshot in dist/
# (docs/release.md builds it). A sockscope package installed before the
# check is left alone: the script refuses to run.
set -eu

die() { echo "check-deb: $*" >&2; exit 1; }

deb=${1:-}
if [ -z "$deb" ]; then
	for f in dist/sockscope_*_amd64.deb; do deb=$f; done
fi
[ -f "$deb" ] || die "no .deb given and none in dist/: build one first (docs/release.md)"
[ "$(id -u)" = 0 ] || die "installing a package needs root"
if dpkg-query -W -f='${Status}' sockscope 2>/dev/null | grep -q 'install ok'; then
	die "a sockscope package is already installed: remove it first (dpkg -r sockscope)"
fi
command -v man >/dev/null || die "man is not installed (apt-get install man-db)"
[ -f /usr/share/bash-completion/bash_completion ] || die "bash-completion is not installed (apt-get install bash-completion)"

want=$(dpkg-deb -f "$deb" Version)
dpkg -i "$deb" >/dev/null
trap 'dpkg -r sockscope >/dev/null && echo "check-deb: removed the package"' EXIT

fail=0
check() { # NAME COMMAND...: run, report
	name=$1; shift
	if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}

# The binary on PATH is the package's, and says which version it is.
version_ok() {
	[ "$(command -v sockscope)" = /usr/bin/sockscope ] || return 1
	out=$(sockscope --version) || return 1
	echo "     $out"
	case $out in "sockscope $want "*) ;; *) return 1 ;; esac
	sockscope version -o json | grep -q "\"release\":\"$want\""
}
check "sockscope --version is $want" version_ok

man_ok() { # PAGE TEXT
	[ "$(man -w "$1")" = "/usr/share/man/man1/$1.1.gz" ] || return 1
	MANPAGER=cat MANWIDTH=80 man "$1" 2>/dev/null | tr -s ' ' | grep -q "$2"
}
check "man sockscope" man_ok sockscope "Show this machine's ports"
check "man sockscope-ls" man_ok sockscope-ls "SYNOPSIS"
check "man sockscope-serve" man_ok sockscope-serve "web.config.file"

# sockscope serve runs the package's sockscope-serve in its place (same
# pid), which serves.
serve_ok() {
	log=$(mktemp)
	sockscope serve --listen 127.0.0.1:0 2>"$log" &
	pid=$!
	i=0
	while [ $i -lt 100 ] && ! grep -q "serving on" "$log"; do sleep 0.1; i=$((i + 1)); done
	exe=$(readlink "/proc/$pid/exe")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ok=1
	grep -q "serving on http://127.0.0.1:" "$log" && [ "$exe" = /usr/bin/sockscope-serve ] && ok=0
	[ $ok = 0 ] || echo "     exe $exe; stderr: $(cat "$log")"
	rm -f "$log"
	return $ok
}
check "sockscope serve runs /usr/bin/sockscope-serve" serve_ok

# bash: what the shell offers for a command line, the installed script
# loaded on demand by bash-completion (which the package recommends), as
# in an interactive shell.
bash_complete() { # LINE (ending where Tab is pressed)
	bash --norc --noprofile -c '
		. /usr/share/bash-completion/bash_completion || exit 1
		_completion_loader sockscope
		complete -p sockscope >/dev/null || exit 1
		compopt() { :; } # a builtin that works only during a real Tab
		line=$1
		read -ra COMP_WORDS <<<"$line"
		case $line in *" ") COMP_WORDS+=("") ;; esac
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
		__start_sockscope sockscope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$1"
}
bash_has() { # LINE WORD...: every WORD is offered
	offered=$(bash_complete "$1") || return 1
	shift
	for w in "$@"; do
		printf '%s\n' "$offered" | grep -qx -- "$w" || { echo "     offered: $(echo $offered)"; return 1; }
	done
}
check "bash: sockscope l<Tab>" bash_has "sockscope l" ls lab
check "bash: sockscope lab time<Tab>" bash_has "sockscope lab time" time-wait
check "bash: sockscope -o <Tab>" bash_has "sockscope -o " table json ndjson
check "bash: sockscope ls --source <Tab>" bash_has "sockscope ls --source " auto netlink proc

check "zsh completion installed" test -s /usr/share/zsh/vendor-completions/_sockscope
if command -v fish >/dev/null; then
	check "fish: sockscope lab time<Tab>" sh -c 'fish -c "complete -C\"sockscope lab time\"" | grep -q "^time-wait"'
else
	check "fish completion installed" test -s /usr/share/fish/vendor_completions.d/sockscope.fish
fi

[ "$fail" = 0 ] || die "some checks failed"
echo "check-deb: $deb works"
