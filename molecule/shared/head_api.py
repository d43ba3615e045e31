"""The head's dashboard API as the scenarios' tests ask it: from inside the head's server, over loopback, with the
cluster's token (so the dashboard port needs no opening to this machine)."""

import json
import subprocess


def head_api(server_container, token_file, path, timeout=5):
    """GET path on the head: the parsed JSON, or None when there is no answer (the head is restarting)."""
    token = token_file.read_text(encoding="utf-8").strip()
    result = subprocess.run(["docker", "exec", server_container, "curl", "-sf", "-m", str(timeout), "-H",
                             f"Authorization: Bearer {token}", f"http://127.0.0.1:8265{path}"],
                            capture_output=True, text=True, timeout=timeout + 60)
    try:
        return json.loads(result.stdout)
    except ValueError:
        return None
