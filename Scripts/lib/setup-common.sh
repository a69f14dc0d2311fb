# Shared by the set-up scripts (sourced, not run).
#   apt_install_missing PKG...   installs, with one apt-get update, the Debian packages not yet installed
#   venv_install REQUIREMENTS    makes .venv if needed and installs a requirements file once per content

apt_install_missing() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

venv_install() {
  local req=$1 stamp
  [ -x .venv/bin/python ] || python3 -m venv .venv
  stamp=.venv/.installed-$(sha256sum "$req" | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
    touch "$stamp"
  fi
}
