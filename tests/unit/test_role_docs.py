# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/roles/*.md stay what docs/generate_role_docs.py makes of meta/argument_specs.yml, and the specs
themselves are complete: every option described, every variable of defaults/main.yml declared."""

from __future__ import annotations

import importlib.util
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location('generate_role_docs', ROOT / 'docs' / 'generate_role_docs.py')
generator = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(generator)

ROLES = generator.roles_with_specs()


def _options(options, prefix=''):
    """(dotted name, option) for every option and suboption."""
    for name, option in (options or {}).items():
        yield prefix + name, option or {}
        yield from _options((option or {}).get('options'), f'{prefix}{name}.')


def test_every_role_has_argument_specs():
    with_tasks = sorted(path.parents[1] for path in (ROOT / 'roles').glob('*/tasks/main.yml'))
    assert with_tasks == ROLES, 'roles without meta/argument_specs.yml: ' + ', '.join(
        role.name for role in with_tasks if role not in ROLES)


def test_the_pages_are_up_to_date():
    stale = [str(path.relative_to(ROOT)) for path in generator.stale_pages()]
    assert stale == [], f'out of date (run `make docs`): {stale}'


def undescribed(role):
    specs = generator.load_yaml(role / 'meta' / 'argument_specs.yml')['argument_specs']
    return [f'{entry}: {name}' for entry, spec in specs.items()
            for name, option in _options((spec or {}).get('options'))
            if not ' '.join(generator.paragraphs(option.get('description'))).strip()]


def undeclared_defaults(role):
    defaults = role / 'defaults' / 'main.yml'
    if not defaults.exists():
        return []
    declared = {name for spec in generator.load_yaml(role / 'meta' / 'argument_specs.yml')['argument_specs'].values()
                for name in ((spec or {}).get('options') or {})}
    return sorted(set(generator.load_yaml(defaults) or {}) - declared)


@pytest.mark.parametrize('role', ROLES, ids=lambda role: role.name)
def test_every_option_has_a_description(role):
    assert undescribed(role) == []


@pytest.mark.parametrize('role', ROLES, ids=lambda role: role.name)
def test_every_default_is_declared_in_the_argument_specs(role):
    assert undeclared_defaults(role) == [], 'in defaults/main.yml but not in meta/argument_specs.yml'


@pytest.mark.parametrize('role', ROLES, ids=lambda role: role.name)
def test_every_option_appears_on_the_page(role):
    page = (ROOT / 'docs' / 'roles' / f'{role.name}.md').read_text(encoding='utf-8')
    specs = generator.load_yaml(role / 'meta' / 'argument_specs.yml')['argument_specs']
    for spec in specs.values():
        for name, _option in _options((spec or {}).get('options')):
            assert f'| `{name}` |' in page, name


def test_the_index_links_every_role():
    index = (ROOT / 'docs' / 'roles' / 'README.md').read_text(encoding='utf-8')
    for role in ROLES:
        assert f'({role.name}.md)' in index


# The proof that the checks can fail.
def test_a_changed_description_makes_the_page_stale(tmp_path):
    role = tmp_path / 'ray_worker'
    shutil.copytree(ROOT / 'roles' / 'ray_worker' / 'meta', role / 'meta')
    specs = (role / 'meta' / 'argument_specs.yml').read_text(encoding='utf-8')
    edited = specs.replace('description: Name of the Ray worker container.', 'description: The worker container.')
    assert edited != specs
    (role / 'meta' / 'argument_specs.yml').write_text(edited, encoding='utf-8')
    page = (ROOT / 'docs' / 'roles' / 'ray_worker.md').read_text(encoding='utf-8')
    assert generator.role_page(ROOT / 'roles' / 'ray_worker') == page
    assert generator.role_page(role) != page
    assert 'The worker container.' in generator.role_page(role)


def test_an_undescribed_option_and_an_undeclared_default_are_caught(tmp_path):
    role = tmp_path / 'ufw'
    shutil.copytree(ROOT / 'roles' / 'ufw' / 'meta', role / 'meta')
    shutil.copytree(ROOT / 'roles' / 'ufw' / 'defaults', role / 'defaults')
    assert undescribed(role) == [] and undeclared_defaults(role) == []
    path = role / 'meta' / 'argument_specs.yml'
    specs = generator.load_yaml(path)
    specs['argument_specs']['main']['options']['ufw_brand_new_option'] = {'type': 'bool', 'default': False}
    path.write_text(generator.yaml.safe_dump(specs), encoding='utf-8')
    with (role / 'defaults' / 'main.yml').open('a', encoding='utf-8') as defaults:
        defaults.write('ufw_forgotten_variable: 1\n')
    assert undescribed(role) == ['main: ufw_brand_new_option']
    assert undeclared_defaults(role) == ['ufw_forgotten_variable']
    assert '| `ufw_brand_new_option` | bool | `false` |  |' in generator.role_page(role)
