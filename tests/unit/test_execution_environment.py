# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml: `ansible-builder create` succeeds and the build context holds what AWX needs.

The image itself is not built here (its base image comes from a registry this machine cannot reach;
docs/awx.md gives the command). The context is what `ansible-builder build` would feed to the engine,
so checking it checks the image's recipe: the collection tarball `make build` packs, every collection
the roles and playbooks call, the pinned ansible-core and ansible-runner, the Python and system packages.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from packaging.specifiers import SpecifierSet

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFINITION = ROOT / 'execution-environment.yml'
BIN = pathlib.Path(sys.executable).parent


def _pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r'^([A-Za-z0-9_.-]+)==(\S+)', line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


@pytest.fixture(scope='module')
def context(tmp_path_factory):
    """The build context, created from a copy of the definition next to a freshly built collection."""
    work = tmp_path_factory.mktemp('ee')
    shutil.copy(DEFINITION, work / DEFINITION.name)
    env = dict(os.environ, PATH=f'{BIN}:{os.environ.get("PATH", "")}', ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'))
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(work / '.cache' / 'dist'), str(ROOT)],
                   cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=300)
    created = subprocess.run([str(BIN / 'ansible-builder'), 'create', '-f', DEFINITION.name, '-c', 'context',
                              '--output-filename', 'Containerfile'],
                             cwd=work, env=env, check=False, capture_output=True, text=True, timeout=300)
    assert created.returncode == 0, created.stdout + created.stderr
    # ansible-builder only warns when an additional build file is missing; for us that is an error.
    assert 'No matches' not in created.stdout + created.stderr, created.stdout + created.stderr
    return work / 'context'


@pytest.fixture(scope='module')
def definition():
    return yaml.safe_load(DEFINITION.read_text())


def galaxy():
    return yaml.safe_load((ROOT / 'galaxy.yml').read_text())


def test_schema_version_is_3(definition):
    assert definition['version'] == 3


def test_containerfile_installs_the_pinned_ansible_core_and_runner(context):
    containerfile = (context / 'Containerfile').read_text()
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M).group(1).split()
    core = _pins(ROOT / 'requirements.txt')['ansible-core']
    assert f'ansible-core=={core}' in refs
    assert any(ref.startswith('ansible-runner==') for ref in refs), refs
    assert 'ansible-galaxy collection install' in containerfile
    assert 'COPY _build /build' in containerfile


def test_context_carries_the_collection_tarball_of_this_version(context, definition):
    info = galaxy()
    tarball = context / '_build' / 'collections' / f'{info["namespace"]}-{info["name"]}-{info["version"]}.tar.gz'
    assert tarball.is_file(), f'{tarball.name} missing: execution-environment.yml must follow galaxy.yml version {info["version"]}'
    with tarfile.open(tarball) as archive:
        manifest = json.load(archive.extractfile('MANIFEST.json'))['collection_info']
        names = archive.getnames()
    assert (manifest['namespace'], manifest['name'], manifest['version']) == (info['namespace'], info['name'], info['version'])
    assert 'roles/ray_head/tasks/main.yml' in names and 'playbooks/site.yml' in names
    requirements = yaml.safe_load((context / '_build' / 'requirements.yml').read_text())['collections']
    assert {'name': f'/build/collections/{tarball.name}', 'type': 'file'} in requirements


def _collections_used():
    """Every collection (other than ansible.builtin and this one) that a role or playbook calls by FQCN."""
    used = set()
    files = list(ROOT.glob('roles/**/*.yml')) + list(ROOT.glob('playbooks/*.yml'))
    for path in files:
        for namespace, name in re.findall(r'\b([a-z_]+)\.([a-z_]+)\.[a-z_]+\b', path.read_text()):
            if namespace in {'community', 'ansible', 'awx', 'kubernetes', 'containers'} and (namespace, name) != ('ansible', 'builtin'):
                used.add(f'{namespace}.{name}')
    return used


def test_every_collection_the_roles_call_is_installed(context):
    requirements = yaml.safe_load((context / '_build' / 'requirements.yml').read_text())['collections']
    named = {entry['name'] for entry in requirements}
    used = _collections_used()
    assert {'community.docker', 'community.crypto'} <= used  # the scan itself finds what we know is there
    assert used <= named, f'collections the roles use but the EE lacks: {used - named}'


def test_galaxy_dependencies_are_in_the_image(context):
    named = {entry['name'] for entry in yaml.safe_load((context / '_build' / 'requirements.yml').read_text())['collections']}
    assert set(galaxy()['dependencies']) <= named


def test_collection_ranges_admit_the_versions_the_tests_ran(definition):
    """The EE gets collections at least as new as the ones bundled in the pinned ansible package."""
    bundled = pathlib.Path(yaml.__file__).resolve().parents[1] / 'ansible_collections'
    for entry in definition['dependencies']['galaxy']['collections']:
        if entry.get('type') == 'file':
            continue
        namespace, name = entry['name'].split('.')
        installed = json.loads((bundled / namespace / name / 'MANIFEST.json').read_text())['collection_info']['version']
        assert installed in SpecifierSet(entry['version']), f'{entry["name"]} {installed} not in {entry["version"]}'


def test_python_requirements_are_the_versions_the_tests_ran(context):
    """Every Python pin of the image is the version installed here (and requirements.txt's, where it pins one)."""
    generated = _pins(context / '_build' / 'requirements.txt')
    tested = _pins(ROOT / 'requirements.txt')
    assert generated, 'no pinned Python requirement in the context'
    for package, version in generated.items():
        assert importlib.metadata.version(package) == version, f'{package}=={version}, but the tests run {importlib.metadata.version(package)}'
        assert tested.get(package, version) == version, f'{package}=={version} differs from requirements.txt ({tested[package]})'


def test_system_packages_include_ssh(context):
    bindep = (context / '_build' / 'bindep.txt').read_text()
    assert re.search(r'^openssh-clients \[platform:rpm\]$', bindep, re.M), bindep
