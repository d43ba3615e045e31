#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_plan
short_description: Check every host's Ray settings at once and plan each node
version_added: 0.2.0
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - An action plugin that runs on the controller. It reads the settings of every host of the cluster's
    inventory group as the roles will see them (the inventory and extra vars over the defaults of the roles
    C(ray_cluster), C(docker), C(ufw), and C(ray_head) or C(ray_worker)), validates them against those roles'
    C(meta/argument_specs.yml), and checks what the argument specs cannot say - ranges, ports, sizes, versions,
    security, and the settings the head and the workers must share - for every host at once.
  - The checks and the plan are the cluster model, C(plugins/module_utils/_cluster_model.py); every case is a row
    of the table in C(docs/preflight.md).
  - With O(phase=nodes) it also checks what M(wizardsofts.ray.node_facts) read on each node of the play (CPUs,
    memory, a snap Docker, other processes on Ray's ports), and notes which hosts of the play could not be reached.
    For the roles of O(roles) that this run runs, it also checks what they would meet on the node - an installed
    engine that does not answer and that the Docker package would replace, another firewall beside UFW, packages
    that installing UFW would remove.
  - It fails with one line per problem, each naming the variable, the value, the host and the fix. When nothing is
    wrong it returns each node's plan - the container (C(ray start) command, environment, mounts, labels, limits)
    and its configuration hash, the UFW rules, the metrics targets - which the roles apply.
  - Run it once per play (C(run_once)); the tokens are never returned, only their fingerprints.
options:
  phase:
    description:
      - V(inventory) checks the settings alone, with no connection to any node.
      - V(nodes) checks them against the facts of each reachable node of the play, read before by
        M(wizardsofts.ray.node_facts) into O(facts_variable).
    type: str
    choices: [inventory, nodes]
    default: inventory
  cluster_group:
    description: The inventory group of every Ray node.
    type: str
    default: ray_cluster
  head_group:
    description: The inventory group of the head; it must hold exactly one host of O(cluster_group).
    type: str
    default: ray_head
  facts_variable:
    description: The variable each node's M(wizardsofts.ray.node_facts) result was registered in.
    type: str
    default: _ray_cluster_node_facts
  roles:
    description:
      - The collection's roles that this playbook runs on the nodes after the preflight, V(docker) and V(ufw), each
        mapped to the tag of the play that runs it, or to null when it runs untagged.
      - A role's checks of the node apply when the run's C(--tags) and C(--skip-tags) select it (as Ansible decides
        for a tagged play), and only on the nodes where the plan says that role will act.
      - Empty (the default) means the playbook changes neither Docker nor the firewall (verify, teardown, ...), and those
        checks do not apply.
    type: dict
    default: {}
    version_added: 0.2.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: It changes nothing; check mode runs the same checks.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
    details: Runs on the controller only.
notes:
  - The default of C(ray_cluster_auth_token) is a password lookup, so the first run of a new inventory creates its
    token file on the controller (mode 0600) while the settings are read.
seealso:
  - module: wizardsofts.ray.node_facts
  - module: wizardsofts.ray.ray_container
"""

EXAMPLES = r"""
- name: Check every host's settings (on the controller, before any connection)
  wizardsofts.ray.cluster_plan:
    phase: inventory
  run_once: true
  register: _plan

- name: Read this node's state
  wizardsofts.ray.node_facts:
    images: ["{{ (_plan.plan.node_plans[inventory_hostname] | from_json).container.image }}"]
    containers: ["{{ _plan.plan.nodes[inventory_hostname].container_name }}"]
  register: _ray_cluster_node_facts

- name: Check every node and plan its changes (a play tagged docker and one tagged firewall follow)
  wizardsofts.ray.cluster_plan:
    phase: nodes
    roles:
      docker: docker
      ufw: firewall
  run_once: true
  register: _ray_cluster_plan

- name: Show the head's ray start command
  ansible.builtin.debug:
    msg: "{{ (_ray_cluster_plan.plan.node_plans[_ray_cluster_plan.plan.head_host] | from_json).container.command | join(' ') }}"
"""

RETURN = r"""
plan:
  description: The cluster's plan; returned when every check passed.
  returned: success
  type: dict
  contains:
    head_host:
      description: The head's inventory name.
      type: str
      sample: server84
    head_ip:
      description: The address the head announces to Ray.
      type: str
      sample: 10.0.0.84
    dashboard_url:
      description: The head's dashboard, Jobs API and state API, as the admin networks reach it.
      type: str
      sample: http://10.0.0.84:8265
    api_url:
      description:
        - The dashboard as the collection's own checks (health, membership, Jobs API) ask it. They run on the
          head (C(delegate_to) the head) and use loopback, so the dashboard port needs to be open only to
          C(ray_cluster_admin_cidrs), never to the workers.
      type: str
      sample: http://127.0.0.1:8265
    dashboard_port:
      description: The head's dashboard port.
      type: int
      sample: 8265
    gcs_port:
      description: The head's GCS port.
      type: int
      sample: 6379
    gcs_address:
      description: What a worker's C(ray start --address) gets.
      type: str
      sample: 10.0.0.84:6379
    client_address:
      description: The Ray Client address.
      type: str
      sample: ray://10.0.0.84:10001
    expected_cpus:
      description: The logical CPUs of every planned node together.
      type: float
      sample: 12.0
    firewall_comment_prefix:
      description: The start of the comment of every firewall rule the collection adds.
      type: str
      sample: "wizardsofts.ray: "
    first_replacement:
      description:
        - When several workers' containers must be replaced, the one that goes first and alone; empty otherwise.
      type: str
      sample: server80
    unreachable:
      description: Hosts of the play that could not be reached (phase nodes); they are left out.
      type: list
      elements: str
      sample: []
    phase:
      description: The phase that made this plan.
      type: str
      sample: nodes
    nodes:
      description:
        - For each host of the cluster group, by inventory name, what playbooks read across nodes.
        - The node's whole plan is in RV(plan.node_plans).
      type: dict
      sample:
        server80:
          role: worker
          node_ip: 10.0.0.80
          num_cpus: 8.0
          gpus: {count: 0, device_ids: [], accelerator_type: "", note: ""}
          container_name: ray-worker
          container_state: none
          in_sync: false
          docker_in_sync: true
          firewall_in_sync: false
          metrics_targets: ["10.0.0.80:9091"]
    node_plans:
      description:
        - Each host's whole plan, by inventory name, as one JSON document (read it with P(ansible.builtin.from_json#filter)).
        - "Keys: C(role), C(node_ip), C(num_cpus), C(container) (name, image, command, environment, mounts, labels),
          C(config_hash), C(container_state), C(directories), C(absent_paths), C(secrets_dir), C(data_dir),
          C(firewall_rules), C(ports), C(metrics_targets), C(managed_paths), C(in_sync), C(docker_daemon_config),
          C(docker_in_sync), C(firewall_in_sync), C(gpus), C(resources), C(labels), C(nvidia_toolkit)."
        - One string per node because Ansible processes a task result object by object in the controller's main
          process, which for the structured plans of a thousand nodes took longer than planning them.
      type: dict
      sample:
        server80: >-
          {"role": "worker", "node_ip": "10.0.0.80", "num_cpus": 8.0, "container": {"name": "ray-worker",
          "image": "rayproject/ray:2.60.0", "command": ["ray", "start", "--block", "--address=10.0.0.84:6379"]},
          "firewall_rules": [{"port": "22", "sources": ["any"], "comment": "SSH"}], "data_dir": "/var/lib/ray"}
problems:
  description: What is wrong, one entry per problem; returned when a check failed.
  returned: failure
  type: list
  elements: dict
  sample:
    - host: server80
      variable: ray_worker_num_cpus
      message: >-
        ray_worker_num_cpus=-2 on server80 is not a count Ray accepts (Ray: "Resource quantities must be
        nonnegative"). Fix: a number of 0 or more, such as 4.
"""
