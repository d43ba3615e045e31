# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

ansible-test creates an empty virtual environment for each sanity test and bootstraps pip into it by
running ``~/.ansible/test/cache/get_pip_<version>.py`` (downloading it first if that file is missing)
as ``python get_pip_<version>.py --disable-pip-version-check pip==<version> --no-setuptools --no-wheel``.
``make sanity`` copies this file to that path, so nothing but the package index is needed.

It does what get-pip.py does: run a pip that comes with the script (here the pip wheel bundled with
this Python's ``ensurepip``, no download) to install the requested pip from the package index. The
machine's pip configuration (index, certificates) applies as it does to any other pip command.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import ensurepip

# Options of get-pip.py itself, which pip install does not know: setuptools and wheel are installed
# only when they are named as packages, so leaving these out changes nothing.
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def main() -> int:
    """Install the pip (and any other package) named on the command line into this Python."""
    bundled = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl')))

    if not bundled:
        print('pip_bootstrap: this Python has no bundled pip wheel (ensurepip/_bundled/pip-*.whl)', file=sys.stderr)
        return 1

    env = dict(os.environ, PYTHONPATH=bundled[-1])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]

    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=env)


if __name__ == '__main__':
    sys.exit(main())
