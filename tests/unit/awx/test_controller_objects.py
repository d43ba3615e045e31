# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/vars/controller.yml and awx/configure.yml against the awx.awx modules' own argument specs.

Each awx.awx module is loaded from the installed collection and its main() is run up to the point where
it hands its argument spec to AnsibleModule; that spec (with the controller's auth options and every
mutually_exclusive/required_if rule the module declares) is then checked with Ansible's own
ArgumentSpecValidator, the validator AnsibleModule itself uses. Nothing is sent to any controller.
"""

from __future__ import annotations

import copy
import importlib
import pathlib
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.awx.awx.plugins.module_utils import controller_api

ROOT = pathlib.Path(__file__).resolve().parents[3]
VARS = ROOT / 'awx' / 'vars' / 'controller.yml'
PLAYBOOK = ROOT / 'awx' / 'configure.yml'
AWX_MODULES = pathlib.Path(controller_api.__file__).resolve().parents[1] / 'modules'

# Which data in awx/vars/controller.yml each module receives (a mapping, or a list of mappings).
DATA_MODULES = {
    'awx_organization': 'organization',
    'awx_execution_environment': 'execution_environment',
    'awx_project': 'project',
    'awx_inventory': 'inventory',
    'awx_inventory_source': 'inventory_source',
    'awx_machine_credential': 'credential',
    'awx_token_credential_type': 'credential_type',
    'awx_token_credential': 'credential',
    'awx_job_templates': 'job_template',
    'awx_workflow_job_templates': 'workflow_job_template',
}

# Survey question fields AWX accepts (awx/main/models/mixins.py, SurveyJobTemplateMixin) and the types.
SURVEY_QUESTION_FIELDS = {'question_name', 'question_description', 'variable', 'type', 'required', 'default',
                          'min', 'max', 'choices', 'new_question'}
SURVEY_TYPES = {'text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect'}


class _SpecCaptured(Exception):
    """Raised in place of AnsibleModule.__init__, carrying what the module passed to it."""

    def __init__(self, kwargs):
        super().__init__('argument spec captured')
        self.kwargs = kwargs


def _capture(self, *args, **kwargs):
    raise _SpecCaptured(kwargs)


_SPECS = {}


def module_spec(name):
    """The keyword arguments awx.awx.<name> gives AnsibleModule: argument_spec, mutually_exclusive, ..."""
    if name not in _SPECS:
        module = importlib.import_module(f'ansible_collections.awx.awx.plugins.modules.{name}')
        # The boundary: AnsibleModule would read the task's arguments from stdin; what its caller hands it
        # is what we need. ControllerModule.__init__ (real code) merges the auth options in before this.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(controller_api.AnsibleModule, '__init__', _capture)
            with pytest.raises(_SpecCaptured) as captured:
                module.main()
        _SPECS[name] = captured.value.kwargs
    return _SPECS[name]


def validate(name, params):
    """Ansible's own validation of `params` for awx.awx.<name>: the list of error messages."""
    kwargs = module_spec(name)
    validator = ArgumentSpecValidator(
        kwargs['argument_spec'],
        mutually_exclusive=kwargs.get('mutually_exclusive'),
        required_together=kwargs.get('required_together'),
        required_one_of=kwargs.get('required_one_of'),
        required_if=kwargs.get('required_if'),
        required_by=kwargs.get('required_by'),
    )
    result = validator.validate(copy.deepcopy(params))
    return [str(error) for error in result.errors]


def unsupported(name, params):
    """The options of `params` that awx.awx.<name> does not have. Values are Jinja templates here, so
    only the names can be checked; the data behind them is checked in full by validate()."""
    result = ArgumentSpecValidator(module_spec(name)['argument_spec']).validate(copy.deepcopy(params))
    return [str(error) for error in result.errors if isinstance(error, UnsupportedError)]


def documented_suboptions(name, option):
    """The suboptions of `option` as awx.awx.<name>'s DOCUMENTATION declares them (the argument spec
    itself leaves nested options such as workflow_nodes unchecked)."""
    source = (AWX_MODULES / f'{name}.py').read_text()
    documentation = re.search(r"^DOCUMENTATION = r?'''(.*?)'''", source, re.S | re.M).group(1)
    return yaml.safe_load(documentation)['options'][option]['suboptions']


def to_argument_spec(options):
    spec = {}
    for key, option in options.items():
        entry = {'type': option.get('type', 'str')}
        for field in ('elements', 'choices', 'aliases'):
            if field in option:
                entry[field] = option[field]
        if 'suboptions' in option:
            entry['options'] = to_argument_spec(option['suboptions'])
        spec[key] = entry
    return spec


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """YAML as Ansible reads the vars file: `!unsafe` marks a string Ansible must not template."""


_Loader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))


def load_data():
    return yaml.load(VARS.read_text(), Loader=_Loader)  # nosec B506 - a SafeLoader subclass


def objects():
    """(variable, index, module, params) for every object awx/vars/controller.yml defines."""
    data = load_data()
    found = []
    for variable, module in DATA_MODULES.items():
        value = data[variable]
        for index, params in enumerate(value if isinstance(value, list) else [value]):
            found.append(pytest.param(variable, module, params, id=f'{variable}[{index}]:{params["name"]}'))
    return found


def playbook_tasks():
    plays = yaml.safe_load(PLAYBOOK.read_text())
    return [task for play in plays for task in play['tasks']]


def awx_tasks():
    found = []
    for task in playbook_tasks():
        module = next((key for key in task if key.startswith('awx.awx.')), None)
        if module:
            found.append(pytest.param(task, module.split('.')[-1], id=task['name']))
    return found


@pytest.mark.parametrize('variable, module, params', objects())
def test_every_object_is_valid_for_its_module(variable, module, params):
    assert validate(module, params) == [], f'{variable} {params["name"]!r} is not valid for awx.awx.{module}'


@pytest.mark.parametrize('task, module', awx_tasks())
def test_every_playbook_task_uses_only_options_of_its_module(task, module):
    args = task[f'awx.awx.{module}']
    assert unsupported(module, args) == [], f'task {task["name"]!r} passes options awx.awx.{module} does not have'


def task_variable(task):
    """The variable of awx/vars/controller.yml a task passes on: its loop's, or the one its options read."""
    if 'loop' in task:
        return re.fullmatch(r'\{\{ (awx_\w+) \}\}', task['loop']).group(1), 'item'
    variable = re.search(r'\{\{ (awx_\w+)\.', str(task)).group(1)
    return variable, variable


@pytest.mark.parametrize('task, module', awx_tasks())
def test_every_key_of_the_data_reaches_the_module(task, module):
    """Every option comes straight from the data, and no key of the data is silently dropped."""
    variable, name = task_variable(task)
    assert DATA_MODULES[variable] == module
    data = load_data()[variable]
    keys = set().union(*(item.keys() for item in (data if isinstance(data, list) else [data])))
    args = task[f'awx.awx.{module}']
    referenced = {option for option, value in args.items()
                  if re.fullmatch(r'\{\{ %s\.%s( \| default\(omit\))? \}\}' % (name, re.escape(option)), str(value))}
    assert set(args) == referenced, f'options not passed straight from {variable}: {set(args) - referenced}'
    assert keys == referenced, f'{variable} keys not passed to the module: {keys - referenced}; passed but absent: {referenced - keys}'


def test_every_object_of_the_data_is_created_by_the_playbook():
    assert {task_variable(param.values[0])[0] for param in awx_tasks()} == set(DATA_MODULES)


def test_workflow_nodes_match_the_documented_node_options():
    spec = to_argument_spec(documented_suboptions('workflow_job_template', 'workflow_nodes'))
    for workflow in load_data()['awx_workflow_job_templates']:
        for node in workflow['workflow_nodes']:
            errors = [str(error) for error in ArgumentSpecValidator(spec).validate(copy.deepcopy(node)).errors]
            assert errors == [], f'{workflow["name"]}: node {node["identifier"]}'


def test_workflow_is_firewall_then_deploy_then_verify():
    data = load_data()
    templates = {template['name']: template['playbook'] for template in data['awx_job_templates']}
    workflow = data['awx_workflow_job_templates'][0]
    nodes = {node['identifier']: node for node in workflow['workflow_nodes']}
    chain = []
    node = nodes['firewall']
    while node:
        chain.append(templates[node['unified_job_template']['name']])
        following = node.get('related', {}).get('success_nodes', [])
        node = nodes[following[0]['identifier']] if following else None
    assert chain == ['firewall.yml', 'site.yml', 'playbooks/verify.yml']


def test_templates_reference_objects_that_are_defined():
    data = load_data()
    credentials = {data['awx_machine_credential']['name'], data['awx_token_credential']['name']}
    for template in data['awx_job_templates']:
        assert template['project'] == data['awx_project']['name']
        assert template['inventory'] == data['awx_inventory']['name']
        assert template['execution_environment'] == data['awx_execution_environment']['name']
        assert set(template['credentials']) <= credentials
        assert template['organization'] == data['awx_organization']['name']


def test_the_job_templates_cover_every_operation_and_escalate():
    templates = {template['name']: template for template in load_data()['awx_job_templates']}
    assert {name: template['playbook'] for name, template in templates.items()} == {
        'Ray - Deploy': 'site.yml',
        'Ray - Firewall': 'firewall.yml',
        'Ray - Verify': 'playbooks/verify.yml',
        'Ray - Scale out': 'site.yml',
        'Ray - Teardown': 'playbooks/teardown.yml',
    }
    assert templates['Ray - Firewall']['become_enabled'] is True
    assert templates['Ray - Scale out']['ask_limit_on_launch'] is True


@pytest.mark.parametrize('template', [t for t in load_data()['awx_job_templates'] if t.get('survey_enabled')], ids=lambda t: t['name'])
def test_survey_questions_are_well_formed(template):
    spec = template['survey_spec']
    assert set(spec) == {'name', 'description', 'spec'}
    variables = [question['variable'] for question in spec['spec']]
    assert len(variables) == len(set(variables)), 'a variable is asked twice'
    for question in spec['spec']:
        assert set(question) <= SURVEY_QUESTION_FIELDS, set(question) - SURVEY_QUESTION_FIELDS
        assert question['type'] in SURVEY_TYPES
        assert {'question_name', 'variable', 'type', 'required'} <= set(question)
        if question['type'] == 'multiplechoice' and 'default' in question:
            assert question['default'] in question['choices'], question['variable']


def test_surveys_ask_for_the_variables_people_change():
    asked = {question['variable'] for template in load_data()['awx_job_templates'] if template.get('survey_enabled')
             for question in template['survey_spec']['spec']}
    assert {'ray_cluster_version', 'ray_worker_num_cpus', 'ray_worker_memory', 'ray_worker_object_store_memory',
            'ray_cluster_cidrs', 'ray_cluster_admin_cidrs'} <= asked


def test_survey_variables_are_role_options():
    """Every survey variable is an option some role declares in meta/argument_specs.yml."""
    options = set()
    for specs in ROOT.glob('roles/*/meta/argument_specs.yml'):
        for entry in (yaml.safe_load(specs.read_text())['argument_specs'] or {}).values():
            options.update((entry.get('options') or {}).keys())
    for template in load_data()['awx_job_templates']:
        for question in template.get('survey_spec', {}).get('spec', []):
            assert question['variable'] in options, f'{template["name"]}: {question["variable"]} is no role option'


def test_secrets_have_no_value_in_git():
    data = load_data()
    inputs = data['awx_machine_credential']['inputs']
    assert inputs['ssh_key_data'] == '{{ awx_machine_credential_ssh_key_data }}'
    assert 'password' not in inputs
    assert data['awx_token_credential']['inputs'] == {'token': '{{ awx_ray_cluster_auth_token }}'}
    for task in playbook_tasks():
        if task.get('awx.awx.credential'):
            assert task.get('no_log') is True, task['name']


def test_every_template_gets_the_ray_token():
    """The token credential injects ray_cluster_auth_token, and every job template carries it."""
    data = load_data()
    assert data['awx_token_credential_type']['injectors'] == {'extra_vars': {'ray_cluster_auth_token': '{{ token }}'}}
    for template in data['awx_job_templates']:
        assert data['awx_token_credential']['name'] in template['credentials'], template['name']


# The proof that the checks above can fail: misspelt or misplaced keys are caught.
def test_a_misspelt_job_template_option_is_caught():
    template = copy.deepcopy(load_data()['awx_job_templates'][1])
    template['become_enabeld'] = template.pop('become_enabled')
    errors = validate('job_template', template)
    assert any('become_enabeld' in error for error in errors), errors


def test_a_wrong_choice_and_a_wrong_type_are_caught():
    template = copy.deepcopy(load_data()['awx_job_templates'][0])
    template['job_type'] = 'execute'
    template['become_enabled'] = 'sometimes'
    errors = validate('job_template', template)
    assert any('job_type' in error and 'execute' in error for error in errors), errors
    assert any('become_enabled' in error for error in errors), errors


def test_an_unknown_option_in_a_playbook_task_is_caught():
    task = copy.deepcopy(playbook_tasks()[-1])
    task['awx.awx.workflow_job_template']['workflow_node'] = task['awx.awx.workflow_job_template'].pop('workflow_nodes')
    errors = unsupported('workflow_job_template', task['awx.awx.workflow_job_template'])
    assert any('workflow_node' in error for error in errors), errors


def test_a_misspelt_workflow_node_key_is_caught():
    spec = to_argument_spec(documented_suboptions('workflow_job_template', 'workflow_nodes'))
    node = copy.deepcopy(load_data()['awx_workflow_job_templates'][0]['workflow_nodes'][0])
    node['related']['sucess_nodes'] = node['related'].pop('success_nodes')
    errors = [str(error) for error in ArgumentSpecValidator(spec).validate(node).errors]
    assert any('sucess_nodes' in error for error in errors), errors


def test_the_captured_spec_includes_the_controller_auth_options():
    """ControllerModule adds its auth options; a spec without them would reject valid tasks."""
    assert {'controller_host', 'controller_oauthtoken', 'validate_certs'} <= set(module_spec('project')['argument_spec'])
