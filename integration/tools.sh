#!/bin/sh
# Checks that the programs the tests run are installed (integration/tools.txt).
#   tools.sh             say what is missing and how to install it; exit 1 if any
#   tools.sh --packages  print the packages to install (nothing when all are there)
set -eu
list="$(dirname "$0")/tools.txt"
missing="" packages=""
while read -r prog pkg; do
	case "$prog" in ''|'#'*) continue ;; esac
	command -v "$prog" >/dev/null 2>&1 && continue
	missing="$missing $prog"
	case " $packages " in *" $pkg "*) ;; *) packages="$packages $pkg" ;; esac
done <"$list"
if [ "${1:-}" = --packages ]; then
	echo $packages
	exit 0
fi
if [ -n "$missing" ]; then
	echo "make test needs programs that are not installed:$missing" >&2
	echo "install them with: apt-get install -y$packages" >&2
	exit 1
fi
