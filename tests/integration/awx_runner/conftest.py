"""Runs the AWX job templates of awx/vars/controller.yml with ansible-runner, the way AWX runs a job.

AWX itself cannot run here. What it does for a job is reproduced from its parts, with the real
executor (ansible-runner) and the real playbooks:

- the project: a copy of this checkout's files (what AWX's project update clones), with the test bed's
  inventory written into it as inventories/awx-testbed (the inventory source's path);
- the inventory sync: `ansible-inventory --list --export` on that path (what an AWX inventory update
  runs); at launch, the synced inventory is written to the job's inventory/ as an executable script
  printing it as JSON, as AWX writes it;
- the execution environment: wizardsofts.ray installed from the tarball `ansible-galaxy collection build`
  makes, on ANSIBLE_COLLECTIONS_PATH as AWX sets it, plus the collections bundled with ansible;
- the launch: a private data directory with project/, inventory/, env/extravars (the survey's answers,
  validated as AWX validates them, the token credential's injected variable, AWX's job variables),
  env/cmdline (-u from the machine credential, --become and --become-method when the template says,
  -l, -v, --diff, --check), env/envvars; then ansible_runner.run() on the template's playbook.

The servers are two containers on wizardsofts-ray-awx (198.18.96.0/24), created once per session
with testbed/playbooks/create.yml and destroyed at its end.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import secrets
import shutil
import string
import subprocess
from pathlib import Path

import ansible_runner
import jinja2.nativetypes
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
BASE_INVENTORY = HERE / "inventory"
IMAGES_VARS = ROOT / ".cache" / "testbed_images.yml"
BIN = ROOT / ".venv" / "bin"
CONTROLLER_VARS = ROOT / "awx" / "vars" / "controller.yml"
PROJECT_INVENTORY = "inventories/awx-testbed"
# The site's answer to awx/configure.yml's awx_ray_cidr_choices, for this test bed.
CIDR_CHOICES = ["198.18.96.0/25", "198.18.96.0/24"]
MACHINE_USER = "wizardsofts"
NODES = {"server84": "wizardsofts-ray-awx-server84", "server80": "wizardsofts-ray-awx-server80"}


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Reads the vars file as Ansible does: `!unsafe` strings are kept as they are."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def controller_objects() -> dict:
    """awx/vars/controller.yml with the site's answers rendered, as awx/configure.yml would send them."""
    data = yaml.load(CONTROLLER_VARS.read_text(), Loader=_Loader)  # nosec B506 - a SafeLoader subclass
    environment = jinja2.nativetypes.NativeEnvironment()
    site = {"awx_ray_cidr_choices": CIDR_CHOICES}

    def render(value):
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        if isinstance(value, list):
            return [render(item) for item in value]
        if isinstance(value, str) and value in {"{{ awx_ray_cidr_choices }}"}:
            return environment.from_string(value).render(site)
        return value

    return {key: render(value) for key, value in data.items()}


def _tool_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    return env


def _ansible_playbook(inventory_dir: Path, playbook: Path):
    subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory_dir), str(playbook)],
                   cwd=ROOT, env=_tool_env(), check=True, capture_output=True, text=True, timeout=900)


def survey_answers(template: dict, answers: dict) -> dict:
    """The extra variables AWX makes of a survey: `answers`, refused where AWX refuses them (unknown
    variable, wrong type, out of range, not among the choices), and the default of every unanswered
    question that has one. An unanswered question without a default sends nothing."""
    if not template.get("survey_enabled"):
        assert not answers, f"{template['name']} has no survey"
        return {}
    questions = {question["variable"]: question for question in template["survey_spec"]["spec"]}
    extra = {}
    for variable, answer in answers.items():
        assert variable in questions, f"{template['name']} does not ask for {variable}"
        question = questions[variable]
        kind = question["type"]
        if kind == "integer":
            assert isinstance(answer, int) and question.get("min", answer) <= answer <= question.get("max", answer), (variable, answer)
        elif kind == "multiselect":
            assert isinstance(answer, list) and set(answer) <= set(question["choices"]), (variable, answer, question["choices"])
        elif kind == "multiplechoice":
            assert answer in question["choices"], (variable, answer, question["choices"])
        elif kind in {"text", "textarea", "password"}:
            assert isinstance(answer, str) and question.get("min", 0) <= len(answer) <= question.get("max", len(answer)), (variable, answer)
        else:
            raise AssertionError(f"answer type {kind} is not handled by this emulation")
        extra[variable] = answer
    for variable, question in questions.items():
        if variable not in extra:
            assert not question["required"] or "default" in question, f"{template['name']}: {variable} must be answered"
            if "default" in question:
                extra[variable] = question["default"]
    return extra


class Job:
    """The outcome of one job: ansible-runner's status, stats and events."""

    def __init__(self, name: str, runner, private_data_dir: Path):
        self.name = name
        self.status = runner.status
        self.rc = runner.rc
        self.stats = runner.stats or {}
        self.events = list(runner.events)
        self.stdout = runner.stdout.read()
        self.private_data_dir = private_data_dir

    def _results(self):
        for event in self.events:
            data = event.get("event_data", {})
            if event.get("event", "").startswith("runner_on_") and "res" in data:
                yield event["event"], data.get("task", ""), data.get("host", ""), data["res"]

    def failures(self):
        return [(task, host, " ".join(str(res.get("msg", "")).split()))
                for kind, task, host, res in self._results() if kind in {"runner_on_failed", "runner_on_unreachable"}]

    def artifacts(self) -> dict:
        """What the playbook gave set_stats (ansible-runner's artifact_data; AWX passes it on in a workflow)."""
        stats = [event for event in self.events if event.get("event") == "playbook_on_stats"]
        return (stats[-1].get("event_data", {}).get("artifact_data") or {}) if stats else {}

    def changed(self) -> dict:
        hosts = set(itertools.chain.from_iterable(self.stats.get(key, {}) for key in ("ok", "changed", "failures", "dark")))
        return {host: self.stats.get("changed", {}).get(host, 0) for host in hosts}

    def __repr__(self):
        tail = "\n".join(self.stdout.splitlines()[-40:])
        return f"Job({self.name!r}, status={self.status}, rc={self.rc}, failures={self.failures()})\n{tail}"


class Awx:
    """Just enough of AWX to launch the job templates: project, inventory sync, credentials, launch."""

    def __init__(self, work: Path, images: dict):
        self.work = work
        self.images = images
        self.objects = controller_objects()
        self.templates = {template["name"]: template for template in self.objects["awx_job_templates"]}
        self.workflows = {workflow["name"]: workflow for workflow in self.objects["awx_workflow_job_templates"]}
        self.token = "".join(secrets.choice(string.ascii_letters + string.digits) for _position in range(48))
        self.project = work / "project"
        self.collections = work / "ee" / "collections"
        self.inventory = None
        self.jobs = itertools.count(1)
        self._checkout()
        self._execution_environment()

    def _checkout(self):
        """The project: this checkout's files as git would give them (tracked, and new files not ignored)."""
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                                capture_output=True, timeout=60).stdout.decode().split("\0")
        for name in filter(None, listed):
            source, target = ROOT / name, self.project / name
            if not source.exists() and not source.is_symlink():
                continue  # deleted in the working tree
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
            else:
                shutil.copy2(source, target)

    def _execution_environment(self):
        dist = self.work / "ee" / "dist"
        env = _tool_env()
        subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(self.project)],
                       cwd=self.work, env=env, check=True, capture_output=True, text=True, timeout=300)
        # As the image build installs it: into the execution environment's own collections path only
        # (without --force, ansible-galaxy would see this checkout's link to itself and install nothing).
        env = {key: value for key, value in env.items() if key != "ANSIBLE_CONFIG"}
        env["ANSIBLE_COLLECTIONS_PATH"] = str(self.collections)
        subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", "--offline", "--no-deps", "-p", str(self.collections),
                        *map(str, dist.glob("*.tar.gz"))], cwd=self.work, env=env, check=True, capture_output=True, text=True, timeout=300)
        installed = self.collections / "ansible_collections" / "wizardsofts" / "ray"
        assert (installed / "MANIFEST.json").is_file() and not installed.is_symlink(), f"wizardsofts.ray is not installed in {installed}"

    def commit_inventory(self, hosts: list):
        """Writes the test bed's inventory, limited to `hosts`, into the project, as a commit to git would."""
        target = self.project / PROJECT_INVENTORY
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(BASE_INVENTORY, target)
        document = yaml.safe_load((BASE_INVENTORY / "hosts.yml").read_text())
        for group in document["ray_cluster"]["children"].values():
            group["hosts"] = {name: settings for name, settings in group["hosts"].items() if name in hosts}
        (target / "hosts.yml").write_text(yaml.safe_dump(document, sort_keys=False))
        (target / "group_vars" / "all" / "testbed_images.yml").write_text(yaml.safe_dump(self.images))

    def sync_inventory(self):
        """The inventory update of the inventory source: ansible-inventory on its path in the project."""
        source = self.objects["awx_inventory_source"]
        assert source["source"] == "scm" and source["source_project"] == self.objects["awx_project"]["name"]
        # The source path is the production inventory; the test bed replaces it with its own.
        assert (self.project / source["source_path"]).is_dir()
        env = {key: value for key, value in _tool_env().items() if key != "ANSIBLE_CONFIG"}
        listed = subprocess.run([str(BIN / "ansible-inventory"), "-i", PROJECT_INVENTORY, "--list", "--export"],
                                cwd=self.project, env=env, check=True, capture_output=True, text=True, timeout=300)
        self.inventory = json.loads(listed.stdout)

    def launch(self, template_name: str, answers: dict | None = None, limit: str | None = None,
               become_enabled: bool | None = None, job_type: str | None = None, diff_mode: bool = False,
               artifacts: dict | None = None) -> Job:
        """Launches a job template; prompts (limit, job type, diff) only where the template asks for them.
        artifacts: what earlier jobs of a workflow gave set_stats, which AWX adds to this job's extra variables."""
        template = copy.deepcopy(self.templates[template_name])
        if become_enabled is not None:
            template["become_enabled"] = become_enabled  # the template edited in AWX's form
        if limit is not None:
            assert template.get("ask_limit_on_launch"), f"{template_name} does not prompt for a limit"
            template["limit"] = limit
        if job_type is not None:
            assert template.get("ask_job_type_on_launch"), f"{template_name} does not prompt for the job type"
            template["job_type"] = job_type
        if diff_mode:
            assert template.get("ask_diff_mode_on_launch"), f"{template_name} does not prompt for diff mode"
        assert template["project"] == self.objects["awx_project"]["name"]
        assert self.inventory is not None, "sync the inventory first"

        number = next(self.jobs)
        private = self.work / "jobs" / f"{number}-{re.sub(r'[^a-z0-9]+', '-', template_name.lower()).strip('-')}"
        shutil.copytree(self.project, private / "project", symlinks=True)
        (private / "inventory").mkdir(parents=True)
        script = private / "inventory" / "hosts"
        script.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nimport json\n"
                          f"print(json.dumps(json.loads({json.dumps(json.dumps(self.inventory))})))\n")
        script.chmod(0o700)

        extravars = {
            "awx_job_id": number, "tower_job_id": number,
            "awx_job_template_name": template_name, "tower_job_template_name": template_name,
            "awx_job_launch_type": "manual", "awx_user_name": "admin",
            "awx_inventory_name": self.objects["awx_inventory"]["name"],
            "awx_project_scm_branch": self.objects["awx_project"]["scm_branch"],
        }
        extravars.update(artifacts or {})
        extravars.update(template.get("extra_vars") or {})
        extravars.update(survey_answers(template, answers or {}))
        # Credentials: the machine credential gives -u and the become method; the token credential
        # injects its extra variable.
        cmdline = []
        for credential in template["credentials"]:
            if credential == self.objects["awx_machine_credential"]["name"]:
                inputs = self.objects["awx_machine_credential"]["inputs"]
                cmdline += ["-u", MACHINE_USER, "--become-method", inputs["become_method"]]
            elif credential == self.objects["awx_token_credential"]["name"]:
                injectors = self.objects["awx_token_credential_type"]["injectors"]["extra_vars"]
                extravars.update({key: jinja2.Template(value).render(token=self.token) for key, value in injectors.items()})
            else:
                raise AssertionError(f"unknown credential {credential}")
        if template["become_enabled"]:
            cmdline.append("--become")
        if diff_mode:
            cmdline.append("--diff")
        if template["job_type"] == "check":
            cmdline.append("--check")
        if template.get("limit"):
            cmdline += ["-l", template["limit"]]
        if template.get("verbosity"):
            cmdline.append("-" + "v" * template["verbosity"])

        (private / "env").mkdir()
        (private / "env" / "extravars").write_text(yaml.safe_dump(extravars))
        (private / "env" / "cmdline").write_text(" ".join(cmdline))
        (private / "env" / "envvars").write_text(yaml.safe_dump({
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "ANSIBLE_COLLECTIONS_PATH": f"{self.collections}:~/.ansible/collections:/usr/share/ansible/collections",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_FORCE_COLOR": "False",
            "AWX_PRIVATE_DATA_DIR": str(private),
        }))
        (private / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 1500, "suppress_ansible_output": True}))

        # AWX's jobs do not see the ANSIBLE_CONFIG of whoever started them: ansible-playbook finds the
        # project's ansible.cfg in its working directory, the project.
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("ANSIBLE_CONFIG", raising=False)
            runner = ansible_runner.run(private_data_dir=str(private), playbook=template["playbook"], ident="job", quiet=True)
        return Job(template_name, runner, private)

    def launch_workflow(self, workflow_name: str) -> list:
        """Runs a workflow's nodes from its root along success_nodes; a failed job ends the workflow."""
        workflow = self.workflows[workflow_name]
        nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
        children = {child["identifier"] for node in nodes.values() for child in node.get("related", {}).get("success_nodes", [])}
        roots = [identifier for identifier in nodes if identifier not in children]
        assert len(roots) == 1, roots
        jobs, following, artifacts = [], roots, {}
        while following:
            node = nodes[following[0]]
            assert node["unified_job_template"]["type"] == "job_template"
            job = self.launch(node["unified_job_template"]["name"], artifacts=artifacts)
            jobs.append(job)
            artifacts = dict(artifacts, **job.artifacts())
            if job.status != "successful":
                break
            following = [child["identifier"] for child in node.get("related", {}).get("success_nodes", [])]
        return jobs


def node_exec(node: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", NODES[node], *argv], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def awx(tmp_path_factory):
    if not IMAGES_VARS.exists():
        raise AssertionError(f"{IMAGES_VARS} is missing: run `make images` first")
    images = yaml.safe_load(IMAGES_VARS.read_text())
    testbed = tmp_path_factory.mktemp("testbed")
    shutil.copytree(BASE_INVENTORY, testbed, dirs_exist_ok=True)
    (testbed / "group_vars" / "all" / "testbed_images.yml").write_text(yaml.safe_dump(images))
    _ansible_playbook(testbed, ROOT / "testbed" / "playbooks" / "destroy.yml")  # leftovers of an interrupted session
    _ansible_playbook(testbed, ROOT / "testbed" / "playbooks" / "create.yml")
    try:
        yield Awx(tmp_path_factory.mktemp("awx"), images)
    finally:
        _ansible_playbook(testbed, ROOT / "testbed" / "playbooks" / "destroy.yml")
