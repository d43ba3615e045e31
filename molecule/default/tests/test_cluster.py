"""The seed's cluster, checked from inside each node after site.yml converged.

Expected values are written out here on purpose, not derived from the roles' variables: a test
that computed its expectation with the code under test could not catch that code being wrong.
"""

import json
import re

testinfra_hosts = ["ray_cluster"]

CLUSTER_CIDR = "198.18.86.0/25"

# Every port a Ray node serves (pinned by the roles), and the ones only the head serves.
NODE_PORTS = {"8076", "8077", "8078", "8079", "52365", "10002:19999", "9091"}
# 44217 and 44227: the autoscaler's and the dashboard's metrics, pinned (random and unfiltered before).
HEAD_ONLY_PORTS = {"6379", "8265", "10001", "44217", "44227"}
LISTENING_NODE_PORTS = {8076, 8077, 8078, 8079, 52365, 9091}
LISTENING_HEAD_PORTS = {6379, 8265, 10001, 44217, 44227}

UFW_RULE = re.compile(
    r"^ufw allow (?:from (?P<source>\S+) to any port (?P<port>\S+) proto tcp|(?P<any_port>\S+)/tcp)"
    r" comment '(?P<comment>[^']*)'$"
)


def is_head(host):
    return "ray_head" in host.ansible.get_variables()["group_names"]


def container_name(host):
    return "ray-head" if is_head(host) else "ray-worker"


def inspect_container(host):
    result = host.run(f"docker inspect {container_name(host)}")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)[0]


def test_docker_engine_is_active_and_enabled(host):
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled


def test_ray_container_runs_with_host_networking_and_publishes_no_port(host):
    container = inspect_container(host)
    assert container["State"]["Running"] is True
    assert container["State"]["Restarting"] is False
    assert container["HostConfig"]["NetworkMode"] == "host"
    assert not container["HostConfig"]["PortBindings"]
    assert container["HostConfig"]["Privileged"] is False
    assert container["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_ray_ports_are_listening(host):
    listening = {int(address.rsplit(":", 1)[-1]) for address in host.socket.get_listening_sockets()
                 if address.startswith("tcp://")}
    expected = LISTENING_NODE_PORTS | (LISTENING_HEAD_PORTS if is_head(host) else set())
    assert expected <= listening, f"not listening: {sorted(expected - listening)}"


def test_ufw_is_active_and_denies_incoming_by_default(host):
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "Default: deny (incoming)" in status


def test_ufw_opens_exactly_the_ray_ports_to_the_cluster_network(host):
    added = host.check_output("ufw show added").splitlines()[1:]
    parsed = [UFW_RULE.match(line) for line in added]
    assert all(parsed), f"unexpected rule format: {[l for l, m in zip(added, parsed) if not m]}"
    ray_rules = {(m["port"], m["source"]) for m in parsed if m["comment"].startswith("wizardsofts.ray: Ray")}
    expected_ports = NODE_PORTS | (HEAD_ONLY_PORTS if is_head(host) else set())
    assert ray_rules == {(port, CLUSTER_CIDR) for port in expected_ports}
    ssh_rules = [m for m in parsed if m["comment"] == "wizardsofts.ray: SSH"]
    assert [m["any_port"] for m in ssh_rules] == ["22"]
