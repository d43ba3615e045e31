"""TLS for Ray's gRPC (ray_cluster_tls_enabled): the cluster is redeployed with certificates from the
collection's own CA and every node rejoins; the GCS port then speaks TLS 1.3 and wants a client
certificate. The cluster is left running with TLS, a valid state for any test after this one."""

import re

from helpers import NODES, node_exec, run_playbook

TLS_DIR = "/var/lib/ray/secrets/tls"
# Opens a TLS connection from the worker to the head's GCS and prints what was agreed, or the error.
HANDSHAKE = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(cafile="{tls}/ca.crt")
if sys.argv[1] == "with-client-cert":
    ctx.load_cert_chain("{tls}/node.crt", "{tls}/node.key")
ctx.set_alpn_protocols(["h2"])
with socket.create_connection(("{head}", 6379), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname="{head}") as tls:
    tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    try:
        answer = tls.recv(64)
    except (ssl.SSLError, ConnectionError) as error:
        answer = type(error).__name__
    if isinstance(answer, bytes) and answer:
        print(tls.version(), tls.getpeercert()["subject"][0][0][1], len(answer))
    else:
        print("closed:", answer or "EOF")
""".format(tls=TLS_DIR, head=NODES["head"]["ip"])


def handshake(mode):
    return node_exec(NODES["worker"]["container"], f"python3 -c '{HANDSHAKE}' {mode}").strip()


def test_the_cluster_redeploys_with_tls_and_every_node_rejoins():
    run = run_playbook("site.yml", "-e", '{"ray_cluster_tls_enabled": true}')
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"Ray [\d.]+ cluster: 2 ALIVE node\(s\)", run.stdout)
    for node in NODES.values():
        env = node_exec(node["container"], "docker inspect -f '{{json .Config.Env}}' ray-" + ("head" if node is NODES["head"] else "worker"))
        assert '"RAY_USE_TLS=1"' in env
        modes = node_exec(node["container"], f"stat -c '%n %a' {TLS_DIR}/node.key {TLS_DIR}")
        assert modes.split() == [f"{TLS_DIR}/node.key", "600", TLS_DIR, "700"]


def test_the_gcs_speaks_tls_to_a_node_of_the_cluster_and_closes_on_a_client_without_a_certificate():
    version, subject, answered = handshake("with-client-cert").split()
    assert (version, subject) == ("TLSv1.3", "server84")
    assert int(answered) > 0  # the HTTP/2 server's SETTINGS frame
    assert handshake("without-client-cert").startswith("closed:")
