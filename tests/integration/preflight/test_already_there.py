"""Issue 15, against real nodes: a server that already has an engine or a firewall of its own loses neither.

Debian's docker.io declares `Conflicts: docker-ce, docker-ce-cli`, and Debian's ufw `Breaks: iptables-persistent,
netfilter-persistent`: before, `site.yml` on such a node let apt remove them (and Docker CE's containers, and the
saved firewall rules). Each case installs a stand-in package of that name on a fresh node (built on the controller
with Debian's `equivs`, as dpkg and apt see the real one), runs the real `site.yml`, and checks that the run was
refused in the preflight play with the model's message, changed nothing on either node (snapshots), and that the
package is still installed.

This file runs before test_preflight.py (file order), on the fresh nodes, and removes its stand-ins again. It
holds no message that quotes an address, so it also runs on a moved test bed (WIZARDSOFTS_RAY_PREFLIGHT_TESTBED).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess

import pytest

from conftest import HEAD, WORKER, assert_refused

# Package -> the version the stand-in claims (the real ones' on Debian 12).
STAND_INS = {"docker-ce": "5:27.3.1-1~debian.12~bookworm", "netfilter-persistent": "1.0.20"}
CONTROL = """\
Section: admin
Priority: optional
Standards-Version: 3.9.2
Package: {name}
Version: {version}
Architecture: all
Description: stand-in for {name} (wizardsofts.ray preflight test)
 An empty package of that name: dpkg and apt see {name} installed.
"""


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    """name -> the .deb of its stand-in, built once with equivs-build on the controller."""
    equivs = shutil.which("equivs-build")
    if equivs is None:
        raise AssertionError("equivs-build is missing on the controller: apt-get install equivs (make host-tools)")
    built = {}
    for name, version in STAND_INS.items():
        directory = tmp_path_factory.mktemp(name)
        (directory / "control").write_text(CONTROL.format(name=name, version=version))
        subprocess.run([equivs, "control"], cwd=directory, check=True, capture_output=True, text=True, timeout=600)
        built[name] = next(directory.glob(f"{name}_*_all.deb"))
    return built


def package_status(testbed, node, name):
    """dpkg's status of a package on the node ("install ok installed"), or "" when it is not known."""
    return testbed.exec(node, "dpkg-query", "-W", "-f", "${Status}", name, check=False).stdout.strip()


@contextlib.contextmanager
def installed(testbed, node, deb):
    """The stand-in installed on the node with dpkg, for the block; purged again after it."""
    name = deb.name.split("_", 1)[0]
    target = f"/var/tmp/{deb.name}"
    subprocess.run(["docker", "cp", str(deb), f"{testbed.nodes[node]}:{target}"], check=True, capture_output=True,
                   text=True, timeout=120)
    testbed.exec(node, "dpkg", "-i", target)
    testbed.exec(node, "rm", "-f", target)
    assert package_status(testbed, node, name) == "install ok installed"
    try:
        yield name
    finally:
        testbed.exec(node, "dpkg", "--purge", name)


def test_docker_ce_whose_engine_does_not_answer_is_refused_and_kept(testbed, stand_ins):
    with installed(testbed, WORKER, stand_ins["docker-ce"]) as name:
        # A fresh node: no engine answers on the worker's socket.
        assert testbed.exec(WORKER, "test", "-S", "/var/run/docker.sock", check=False).returncode != 0
        before = testbed.snapshot()
        run = testbed.run(testbed.inventory())
        assert_refused(run, WORKER,
                       "Docker on server80: Docker CE is installed but its engine does not answer on "
                       "/var/run/docker.sock (docker-ce); installing Debian's docker.io (docker_install_source=debian) "
                       "conflicts with it: apt would remove docker-ce and stop every container it runs. Fix: start it "
                       "(systemctl start docker) - the collection never replaces an installed engine.", only=True)
        assert testbed.snapshot() == before
        assert package_status(testbed, WORKER, name) == "install ok installed"


def test_netfilter_persistent_is_refused_and_kept(testbed, stand_ins):
    with installed(testbed, HEAD, stand_ins["netfilter-persistent"]) as name:
        before = testbed.snapshot()
        run = testbed.run(testbed.inventory())
        assert_refused(run, HEAD,
                       "Another firewall on server84: netfilter-persistent is installed; Debian's ufw declares Breaks: "
                       "iptables-persistent, netfilter-persistent, so installing ufw would remove it and, with it, the "
                       "saved rules it restores at boot. Fix: leave this host's firewall alone", only=True)
        # The opt-in for other firewalls does not help here: apt would remove the package all the same.
        opted_in = testbed.inventory()
        opted_in.host(HEAD)["ufw_coexist_with_other_firewalls"] = True
        assert_refused(testbed.run(opted_in), HEAD, "ufw_coexist_with_other_firewalls cannot help here", only=True)
        # A run that leaves the firewall alone (and runs nothing but the preflight) is not refused for it.
        skipped = testbed.run(testbed.inventory(), "site.yml", "--skip-tags", "firewall,docker,ray_head,ray_workers,verify")
        assert skipped.rc == 0, skipped
        assert testbed.snapshot() == before
        assert package_status(testbed, HEAD, name) == "install ok installed"
