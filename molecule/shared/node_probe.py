"""TCP probes run inside a test node: what every scenario uses to prove a port open, refused or filtered.

Imported by the scenarios' tests/helpers.py, which put this directory on sys.path.
"""

import json
import subprocess
import textwrap

# Connects to every (address, port) at once, prints {"address:port": "open" | "refused" | "timeout"}.
PROBE = textwrap.dedent("""
    import concurrent.futures, json, socket, sys
    def probe(target):
        address, port = target.rsplit(":", 1)
        try:
            socket.create_connection((address, int(port)), timeout=3).close()
            return "open"
        except ConnectionRefusedError:
            return "refused"
        except OSError:
            return "timeout"
    targets = sys.argv[1:]
    with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
        print(json.dumps(dict(zip(targets, pool.map(probe, targets)))))
""")


def probe_from(container, targets):
    result = subprocess.run(
        ["docker", "exec", container, "python3", "-c", PROBE, *targets],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return json.loads(result.stdout)
