# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ufw_rules against recorded UFW 0.36.2 output.

The boundary faked is the `ufw` executable: a stand-in script on PATH prints what a real UFW printed
(tests/unit/fixtures/ufw-0.36.2) and logs every command it is given. The module's own parsing,
planning and command building run for real.
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
import sys
import textwrap

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils import _ufw
from ansible_collections.wizardsofts.ray.plugins.modules import ufw_rules

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / 'fixtures' / 'ufw-0.36.2'
CIDR = '198.18.98.0/24'
PREFIX = 'wizardsofts.ray: '
READS = [['show', 'added'], ['status']]

WORKER_RULES = [
    {'port': '22', 'sources': ['any'], 'comment': 'SSH'},
    {'port': '8076', 'sources': [CIDR], 'comment': 'Ray node manager'},
    {'port': '8077', 'sources': [CIDR], 'comment': 'Ray object manager'},
    {'port': '8078', 'sources': [CIDR], 'comment': 'Ray runtime env agent'},
    {'port': '8079', 'sources': [CIDR], 'comment': 'Ray dashboard agent gRPC'},
    {'port': '52365', 'sources': [CIDR], 'comment': 'Ray dashboard agent HTTP'},
    {'port': '10002:19999', 'sources': [CIDR], 'comment': 'Ray worker ports'},
    {'port': '9091', 'sources': [CIDR], 'comment': 'Ray metrics'},
]
HEAD_RULES = WORKER_RULES + [
    {'port': '6379', 'sources': [CIDR], 'comment': 'Ray GCS'},
    {'port': '8265', 'sources': [CIDR], 'comment': 'Ray dashboard and Jobs API'},
    {'port': '10001', 'sources': [CIDR], 'comment': 'Ray client server'},
]

# Prints the recorded answer to a read (after a change, the *.after file when there is one),
# "Rules updated" to anything else, and logs every call as one JSON line.
FAKE_UFW = textwrap.dedent('''\
    #!{python}
    import json, os, sys
    here = {here!r}
    args = sys.argv[1:]
    with open(os.path.join(here, 'calls.log'), 'a') as log:
        log.write(json.dumps(args) + '\\n')
    fail = os.path.join(here, 'fail')
    if os.path.exists(fail) and args[0] == open(fail).read().strip():
        sys.stderr.write('ERROR: Could not load logging rules\\n')
        sys.exit(1)
    name = {{'show added': 'show-added', 'status': 'status'}}.get(' '.join(args))
    if name is None:
        open(os.path.join(here, 'changed'), 'w').close()
        print('Rules updated')
        sys.exit(0)
    after = os.path.join(here, name + '.after')
    if os.path.exists(os.path.join(here, 'changed')) and os.path.exists(after):
        name += '.after'
    sys.stdout.write(open(os.path.join(here, name)).read())
''')


class FakeUfw(object):
    """A `ufw` on PATH that answers with recorded output and logs what it was asked."""

    def __init__(self, directory):
        self.dir = directory

    def answer(self, status, show_added, show_added_after=None):
        (self.dir / 'status').write_text((FIXTURES / status).read_text())
        (self.dir / 'show-added').write_text((FIXTURES / show_added).read_text())
        if show_added_after:
            (self.dir / 'show-added.after').write_text((FIXTURES / show_added_after).read_text())
        return self

    def fail_on(self, command):
        (self.dir / 'fail').write_text(command)

    @property
    def calls(self):
        log = self.dir / 'calls.log'
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    @property
    def changes(self):
        return [call for call in self.calls if call not in READS]


@pytest.fixture
def fake_ufw(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    script = bin_dir / 'ufw'
    script.write_text(FAKE_UFW.format(python=sys.executable, here=str(tmp_path)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ['PATH']))
    defaults = tmp_path / 'default-ufw'
    defaults.write_text((FIXTURES / 'default-ufw-debian.txt').read_text())
    monkeypatch.setattr(ufw_rules, 'DEFAULTS_FILE', str(defaults))
    return FakeUfw(tmp_path)


def args(rules, **extra):
    base = dict(rules=rules, comment_prefix=PREFIX, default_incoming_policy='deny', default_outgoing_policy='allow')
    base.update(extra)
    return base


def add(port, source, comment):
    return ['allow', 'proto', 'tcp', 'from', source, 'to', 'any', 'port', port, 'comment', PREFIX + comment]


# ----------------------------------------------------------------------------- parsing real output

def test_show_added_of_a_head_with_operator_rules_is_parsed_in_order():
    rules, lines = _ufw.parse_show_added((FIXTURES / 'show-added-head-with-operator-rules.txt').read_text())

    assert len(lines) == 14
    assert lines[0] == "ufw allow 22/tcp comment 'wizardsofts.ray: SSH'"
    assert lines[-1] == 'ufw deny from 192.0.2.7'
    keys = [(rule.proto, rule.port, rule.source, rule.comment) for rule in rules]
    assert keys[0] == ('tcp', '22', 'any', 'wizardsofts.ray: SSH')
    assert ('tcp', '10002:19999', CIDR, 'wizardsofts.ray: Ray worker ports') in keys
    assert keys[-2:] == [('tcp', '2222', 'any', 'operator: unrelated service'), ('tcp', '5432', '10.1.0.0/16', '')]
    # The deny rule is not an allow rule to any destination: listed, never matched.
    assert len(rules) == 13


def test_show_added_without_rules_is_empty():
    assert _ufw.parse_show_added((FIXTURES / 'show-added-none.txt').read_text()) == ([], [])


def test_status_and_default_policies_are_read_from_real_output():
    assert _ufw.parse_status((FIXTURES / 'status-active.txt').read_text()) is True
    assert _ufw.parse_status((FIXTURES / 'status-inactive.txt').read_text()) is False
    with pytest.raises(_ufw.RuleError):
        _ufw.parse_status('ERROR: You need to be root to run this script\n')
    policies = _ufw.parse_default_policies((FIXTURES / 'default-ufw-debian.txt').read_text())
    assert policies == {'incoming': 'deny', 'outgoing': 'allow'}


def test_our_rules_print_exactly_as_ufw_prints_them():
    """The text the module predicts for --diff is what `ufw show added` printed for the same rules."""
    recorded = _ufw.parse_show_added((FIXTURES / 'show-added-worker-converged.txt').read_text())[1]
    predicted = [rule.text for rule in _ufw.desired_rules([dict(rule, proto='tcp') for rule in WORKER_RULES], PREFIX)]
    assert predicted == recorded


@pytest.mark.parametrize(('given', 'shown'), [
    ('any', 'any'), ('0.0.0.0/0', 'any'), ('::/0', 'any'), ('10.0.0.5/32', '10.0.0.5'), ('10.0.0.5', '10.0.0.5'),
    ('2001:db8::/32', '2001:db8::/32'), ('10.0.0.0/24', '10.0.0.0/24'),
])
def test_sources_are_compared_the_way_ufw_prints_them(given, shown):
    assert _ufw.normalize_source(given) == shown


# ----------------------------------------------------------------------------- whole runs

def test_a_fresh_node_gets_ssh_first_then_the_ray_rules_then_ufw_enabled(run_module, fake_ufw):
    fake_ufw.answer('status-inactive.txt', 'show-added-none.txt', 'show-added-worker-converged.txt')

    result = run_module(ufw_rules, args(WORKER_RULES), check_mode=False)

    assert result['changed'] is True
    assert fake_ufw.changes[0] == add('22', 'any', 'SSH')
    assert fake_ufw.changes[1:8] == [add(rule['port'], CIDR, rule['comment']) for rule in WORKER_RULES[1:]]
    # The recorded Debian defaults already deny incoming and allow outgoing: no policy command.
    assert fake_ufw.changes[8:] == [['--force', 'enable']]
    assert result['added'][0] == "ufw allow 22/tcp comment 'wizardsofts.ray: SSH'"
    assert result['removed'] == []
    assert result['commands'][-1] == 'ufw --force enable'
    # Read again after the change: the result shows the firewall as it now is.
    assert result['rules'] == (FIXTURES / 'show-added-worker-converged.txt').read_text().splitlines()[1:]


def test_check_mode_on_a_fresh_node_predicts_the_same_commands_and_runs_none(run_module, fake_ufw):
    fake_ufw.answer('status-inactive.txt', 'show-added-none.txt')

    checked = run_module(ufw_rules, dict(args(WORKER_RULES), _ansible_diff=True), check_mode=True)

    assert fake_ufw.changes == []
    assert fake_ufw.calls == READS
    assert checked['changed'] is True
    assert len(checked['commands']) == 9 and checked['commands'][-1] == 'ufw --force enable'
    diff = checked['diff']
    assert diff['before'] == 'status: inactive\ndefault incoming: deny\ndefault outgoing: allow\n'
    assert diff['after'].splitlines()[0] == 'status: active'
    assert diff['after'].splitlines()[3:] == (FIXTURES / 'show-added-worker-converged.txt').read_text().splitlines()[1:]


def test_a_converged_node_is_only_read(run_module, fake_ufw):
    fake_ufw.answer('status-active.txt', 'show-added-worker-converged.txt')

    result = run_module(ufw_rules, dict(args(WORKER_RULES), _ansible_diff=True))

    assert result['changed'] is False
    assert fake_ufw.calls == READS
    assert result['commands'] == [] and result['added'] == [] and result['removed'] == []
    assert result['diff']['before'] == result['diff']['after']


def test_check_mode_on_a_converged_node_predicts_no_change(run_module, fake_ufw):
    fake_ufw.answer('status-active.txt', 'show-added-head-with-operator-rules.txt')

    result = run_module(ufw_rules, args(HEAD_RULES), check_mode=True)

    assert result['changed'] is False
    assert fake_ufw.changes == []


def test_the_operators_rules_are_kept_and_only_our_stale_rule_goes(run_module, fake_ufw):
    """The metrics port moved from 9091 to 9092: the new rule goes in, then the old one of ours goes."""
    fake_ufw.answer('status-active.txt', 'show-added-head-with-operator-rules.txt')
    rules = [dict(rule, port='9092') if rule['port'] == '9091' else rule for rule in HEAD_RULES]

    result = run_module(ufw_rules, args(rules))

    assert result['changed'] is True
    assert fake_ufw.changes == [
        add('9092', CIDR, 'Ray metrics'),
        ['delete', 'allow', 'proto', 'tcp', 'from', CIDR, 'to', 'any', 'port', '9091'],
    ]
    assert result['removed'] == ["ufw allow from 198.18.98.0/24 to any port 9091 proto tcp comment 'wizardsofts.ray: Ray metrics'"]


def test_with_remove_stale_false_nothing_is_removed(run_module, fake_ufw):
    fake_ufw.answer('status-active.txt', 'show-added-head-with-operator-rules.txt')

    result = run_module(ufw_rules, args(WORKER_RULES, remove_stale=False), check_mode=True)

    assert result['changed'] is False and result['removed'] == []


def test_an_equal_rule_of_the_operators_counts_whatever_its_comment(run_module, fake_ufw):
    fake_ufw.answer('status-active.txt', 'show-added-head-with-operator-rules.txt')
    rules = HEAD_RULES + [{'port': '5432', 'sources': ['10.1.0.0/16'], 'comment': 'database'},
                          {'port': '2222', 'sources': ['0.0.0.0/0'], 'comment': 'other SSH'}]

    result = run_module(ufw_rules, args(rules))

    assert result['changed'] is False
    assert fake_ufw.changes == []


def test_a_changed_default_policy_is_set_before_nothing_else(run_module, fake_ufw):
    fake_ufw.answer('status-active.txt', 'show-added-worker-converged.txt')

    result = run_module(ufw_rules, args(WORKER_RULES, default_incoming_policy='reject'))

    assert result['changed'] is True
    assert fake_ufw.changes == [['default', 'reject', 'incoming']]


def test_a_failing_ufw_command_fails_with_the_command_and_its_error(run_module, fake_ufw):
    fake_ufw.answer('status-inactive.txt', 'show-added-none.txt')
    fake_ufw.fail_on('--force')

    result = run_module(ufw_rules, args(WORKER_RULES))

    assert result['failed'] is True
    assert result['msg'] == '`ufw --force enable` failed (exit 1): ERROR: Could not load logging rules'


@pytest.mark.parametrize(('rule', 'message'), [
    ({'port': '70000', 'comment': 'x'}, 'port=70000 is outside 1-65535 or its range is reversed'),
    ({'port': '20:10', 'comment': 'x'}, 'port=20:10 is outside 1-65535 or its range is reversed'),
    ({'port': 'ssh', 'comment': 'x'}, 'port=ssh is neither a port (22) nor a range (10002:19999)'),
    ({'port': '22', 'sources': ['10.0.0.300/24'], 'comment': 'x'}, "source 10.0.0.300/24 is neither 'any' nor an IP address or network"),
    ({'port': '22', 'comment': "operator's"}, "comment=\"wizardsofts.ray: operator's\": UFW refuses comments with a single quote"),
])
def test_rules_ufw_cannot_take_are_refused_before_any_command(run_module, fake_ufw, rule, message):
    fake_ufw.answer('status-inactive.txt', 'show-added-none.txt')

    result = run_module(ufw_rules, args([rule]))

    assert result['failed'] is True
    assert result['msg'] == message
    assert fake_ufw.changes == []


def test_without_ufw_installed_check_mode_predicts_from_an_empty_firewall(run_module, tmp_path, monkeypatch):
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    # get_bin_path also looks in the sbin directories: hide them, so a ufw installed on this machine is not found.
    sbin = ('/sbin', '/usr/sbin', '/usr/local/sbin')
    monkeypatch.setattr(ufw_rules.os.path, 'exists', lambda path: path not in sbin and os.path.lexists(path))

    checked = run_module(ufw_rules, args(WORKER_RULES), check_mode=True)
    applied = run_module(ufw_rules, args(WORKER_RULES))

    assert checked['changed'] is True and len(checked['added']) == 8
    assert applied['failed'] is True
    assert applied['msg'] == 'ufw is not installed on this node (no `ufw` in PATH or /usr/sbin). Install the ufw package first.'


def test_ufw_s_own_rule_files_give_the_rules_show_added_lists():
    """node_facts reads /etc/ufw/user.rules and user6.rules; the cluster model compares them like ufw_rules does."""
    fixtures = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "ufw-0.36.2"
    shown, _lines = _ufw.parse_show_added((fixtures / "show-added-sandbox-worker.txt").read_text())
    from_files = _ufw.parse_user_rules([(fixtures / "user.rules-sandbox-worker").read_text(),
                                        (fixtures / "user6.rules-sandbox-worker").read_text()])
    assert len(shown) == 8
    assert [(rule.key, rule.comment) for rule in from_files] == [(rule.key, rule.comment) for rule in shown]
    assert from_files[0].comment == "wizardsofts.ray: SSH" and from_files[0].source == "any"


def test_rule_file_lines_that_are_not_ours_to_compare_are_left_out():
    text = textwrap.dedent("""\
        ### tuple ### deny tcp 25 0.0.0.0/0 any 0.0.0.0/0 in
        ### tuple ### allow tcp 80 10.0.0.5 any 0.0.0.0/0 in
        ### tuple ### allow udp 53 0.0.0.0/0 any 10.0.0.0/24 out
        ### tuple ### allow tcp 6379 0.0.0.0/0 any 10.0.0.0/24 in comment=7a7a
        ### tuple ### allow tcp 70000 0.0.0.0/0 any 10.0.0.0/24 in
        -A ufw-user-input -p tcp --dport 6379 -s 10.0.0.0/24 -j ACCEPT
        """)
    assert [(rule.key, rule.comment) for rule in _ufw.parse_user_rules([text])] == [(("tcp", "6379", "10.0.0.0/24"), "zz")]
